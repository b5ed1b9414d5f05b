/* healer/projection.h - 2-D views of KPI samples (principal components).
 *
 * The web platform plots diagnosed samples as a scatter coloured by the
 * predicted fault; this is the projection behind it. KPIs span many orders
 * of magnitude, so each is standardised first (mean 0, standard deviation 1
 * over its present values); a missing value becomes the mean (0), and a
 * constant KPI contributes nothing. The components are the top eigenvectors
 * of the correlation matrix, found by power iteration with deflation from a
 * fixed start, and signed so that their largest coordinate is positive: the
 * same data always gives the same picture.
 */
#ifndef HEALER_PROJECTION_H
#define HEALER_PROJECTION_H

#include <stddef.h>

#include "healer/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Projects the n rows of x (row-major n * d floats, NAN = missing) onto
 * their first k (1..3) principal components: out receives n * k doubles
 * (row-major), explained (may be NULL) the fraction of the total variance
 * each component carries. The covariance is estimated on at most 20,000
 * evenly spaced rows, so large inputs cost O(n d) beyond that. n or d of 0
 * is HL_ERR_INVALID; fewer than two present values everywhere gives
 * all-zero coordinates. */
hl_status hl_pca_project(const float *x, size_t n, size_t d, size_t k,
                         double *out, double *explained, hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
