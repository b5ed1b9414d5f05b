/* drift_ref.h - the drift reference a model carries: what the training
 * rows looked like, kept so that later batches can be compared with it
 * (drift.c; the public side is healer/drift.h).
 *
 * Per KPI a quantile sketch - its values at probabilities k / Q for k =
 * 0..Q, so q[0] is the minimum and q[Q] the maximum - and the number of
 * rows in which it was present; for the labels, the rows of each class.
 * The sketch is a distribution function at resolution 1/Q: linear
 * between neighbouring quantiles, with a step where quantiles repeat (a
 * value many rows share, such as a KPI that is mostly 0). A few kilobytes
 * per KPI whatever the training set's size, and exact enough for tests
 * whose critical values are several times 1/Q at any batch size worth
 * checking.
 *
 * Built by training (train.c) over the rows the model was fitted on,
 * written and read by the model file code (model_io.c) as a container
 * section, so every learner's models have one.
 */
#ifndef HEALER_DRIFT_REF_H
#define HEALER_DRIFT_REF_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "healer/error.h"

/* Bounds a file's sketch must keep (a corrupted count is refused). */
#define HL__DRIFT_MIN_QUANTILES 2u
#define HL__DRIFT_MAX_QUANTILES 1024u

typedef struct hl__drift_ref {
    uint32_t quantiles; /* Q */
    uint64_t rows;      /* reference rows */
    size_t n_features;
    uint64_t *present; /* n_features: rows where the KPI is present */
    float *q;          /* n_features * (Q + 1), a row per KPI; all 0
                          for a KPI never present */
    size_t n_classes;
    uint64_t *class_count; /* n_classes: reference rows per class */
} hl__drift_ref;

/* The reference of rows rows[0..n_rows) of x (row-major, n_features
 * columns, NAN = missing; infinities count as missing), with labels y
 * (class indices < n_classes; negative ones are not counted) and
 * HL_DRIFT_QUANTILES quantiles. *out is NULL on failure (HL_ERR_NOMEM). */
hl_status hl__drift_ref_build(const float *x, size_t n_features,
                              const size_t *rows, size_t n_rows,
                              const int32_t *y, size_t n_classes,
                              hl__drift_ref **out);

void hl__drift_ref_free(hl__drift_ref *ref);

/* The KPI's sketch: Q + 1 floats. */
static inline const float *hl__drift_ref_sketch(const hl__drift_ref *ref,
                                                size_t feature)
{
    return ref->q + feature * ((size_t)ref->quantiles + 1);
}

/* The sketch's distribution function at x: the share of reference values
 * <= x (below = 0), or < x (below = 1), in [0, 1]. q holds Q + 1
 * non-decreasing values. */
double hl__drift_cdf(const float *q, uint32_t Q, double x, int below);

/* The section's payload: u32 Q, u64 rows, u32 n_features, per KPI u64
 * present and f32 q[Q + 1], u32 n_classes, u64 class_count[n_classes]. */
void hl__drift_ref_write(const hl__drift_ref *ref, hl__wbuf *w);

/* Reads that payload for a model of n_features KPIs and n_classes
 * classes; refuses (HL_ERR_FORMAT through io) counts that disagree with
 * the model or the bytes left, a quantile count out of bounds, a sketch
 * that is not finite and non-decreasing, more present rows than rows. */
hl_status hl__drift_ref_read(hl__rbuf *r, size_t n_features, size_t n_classes,
                             const hl__io_ctx *io, hl__drift_ref **out);

#endif
