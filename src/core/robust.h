/* robust.h - the small statistics of KPI values several parts of the
 * engine share: the signed log that tames their range (1e-4..1e17, often
 * negative) and quantiles of a sorted sample (sorted by hl__sort_floats,
 * internal.h).
 *
 * One definition, so that the MLP's input transform, KPI families, the
 * profile and the row suggestions agree on what a median or a scaled KPI
 * is.
 */
#ifndef HEALER_ROBUST_H
#define HEALER_ROBUST_H

#include <math.h>
#include <stddef.h>

/* copysign(log1p(|x|), x): monotone, odd, and close to x near 0. */
static inline float hl__signed_log(float x)
{
    return copysignf(log1pf(fabsf(x)), x);
}

/* Quantile q in [0, 1] of sorted v[0..n), n > 0, interpolated linearly
 * between order statistics (numpy's default). */
double hl__sorted_quantile(const float *v, size_t n, double q);

#endif
