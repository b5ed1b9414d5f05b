/* drift_ref.c - the drift reference: built from the training rows, read
 * back as a distribution function, written to and read from model files
 * (see drift_ref.h for what it holds and why a sketch).
 *
 * Quantiles interpolate linearly between order statistics (numpy's
 * default, as the dataset profile does), in double, then round to float:
 * every quantile lies between two data values, which are floats, so the
 * rounding keeps the sketch non-decreasing and a value many rows share
 * stays exactly that value. Reading refuses anything else, so the
 * distribution function can trust the sketch without checks of its own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drift_ref.h"
#include "healer/drift.h"
#include "internal.h"


/* q[0..Q] of sorted[0..n), n > 0. */
static void sketch_of(const float *sorted, size_t n, uint32_t Q, float *q)
{
    for (uint32_t k = 0; k <= Q; k++) {
        double pos = (double)k / (double)Q * (double)(n - 1);
        size_t lo = (size_t)pos;
        if (lo + 1 >= n) {
            q[k] = sorted[n - 1];
            continue;
        }
        double frac = pos - (double)lo;
        q[k] = (float)((double)sorted[lo] +
                       frac * ((double)sorted[lo + 1] - (double)sorted[lo]));
    }
}

void hl__drift_ref_free(hl__drift_ref *ref)
{
    if (!ref)
        return;
    free(ref->present);
    free(ref->q);
    free(ref->class_count);
    free(ref);
}

/* A reference with its arrays allocated (zeroed); NULL without memory. */
static hl__drift_ref *ref_alloc(uint32_t Q, size_t n_features, size_t n_classes)
{
    hl__drift_ref *ref = calloc(1, sizeof *ref);
    if (!ref)
        return NULL;
    ref->quantiles = Q;
    ref->n_features = n_features;
    ref->n_classes = n_classes;
    ref->present = calloc(n_features + 1, sizeof *ref->present);
    ref->q = calloc(n_features * ((size_t)Q + 1) + 1, sizeof *ref->q);
    ref->class_count = calloc(n_classes + 1, sizeof *ref->class_count);
    if (!ref->present || !ref->q || !ref->class_count) {
        hl__drift_ref_free(ref);
        return NULL;
    }
    return ref;
}

hl_status hl__drift_ref_build(const float *x, size_t n_features,
                              const size_t *rows, size_t n_rows,
                              const int32_t *y, size_t n_classes,
                              hl__drift_ref **out)
{
    *out = NULL;
    hl__drift_ref *ref = ref_alloc(HL_DRIFT_QUANTILES, n_features, n_classes);
    float *values = malloc((n_rows + 1) * sizeof *values);
    if (!ref || !values) {
        hl__drift_ref_free(ref);
        free(values);
        return HL_ERR_NOMEM;
    }
    ref->rows = n_rows;
    for (size_t f = 0; f < n_features; f++) {
        size_t n = 0;
        for (size_t i = 0; i < n_rows; i++) {
            float v = x[rows[i] * n_features + f];
            if (isfinite(v))
                values[n++] = v;
        }
        ref->present[f] = n;
        if (n == 0)
            continue;
        hl__sort_floats(values, n);
        sketch_of(values, n, ref->quantiles,
                  ref->q + f * ((size_t)ref->quantiles + 1));
    }
    free(values);
    for (size_t i = 0; y && i < n_rows; i++) {
        int32_t c = y[rows[i]];
        if (c >= 0 && (size_t)c < n_classes)
            ref->class_count[c]++;
    }
    *out = ref;
    return HL_OK;
}

/* Index of the last quantile <= x, given q[0] <= x < q[Q]. */
static uint32_t last_at_most(const float *q, uint32_t Q, double x)
{
    uint32_t lo = 0, hi = Q; /* q[lo] <= x < q[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((double)q[mid] <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Index of the first quantile >= x, given q[0] < x <= q[Q]. */
static uint32_t first_at_least(const float *q, uint32_t Q, double x)
{
    uint32_t lo = 0, hi = Q; /* q[lo] < x <= q[hi] */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if ((double)q[mid] < x)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

/* Linear between neighbouring quantiles: the sketch's distribution
 * function is the inverse of its quantile function. Where quantiles
 * repeat, the function steps: the value's whole share is <= it and none
 * is < it. */
double hl__drift_cdf(const float *q, uint32_t Q, double x, int below)
{
    const double lo = q[0], hi = q[Q];
    if (x < lo || (below && x == lo))
        return 0.0;
    if (x > hi || (!below && x == hi))
        return 1.0;
    uint32_t k;
    if (below) {
        k = first_at_least(q, Q, x);
        if ((double)q[k] == x)
            return (double)k / (double)Q;
        k--; /* q[k] < x < q[k + 1] */
    } else {
        k = last_at_most(q, Q, x); /* q[k] <= x < q[k + 1] */
    }
    double a = q[k], b = q[k + 1];
    return ((double)k + (x - a) / (b - a)) / (double)Q;
}

/* ---- model files ---- */

void hl__drift_ref_write(const hl__drift_ref *ref, hl__wbuf *w)
{
    const size_t per = (size_t)ref->quantiles + 1;
    hl__w_u32(w, ref->quantiles);
    hl__w_u64(w, ref->rows);
    hl__w_u32(w, (uint32_t)ref->n_features);
    for (size_t f = 0; f < ref->n_features; f++) {
        hl__w_u64(w, ref->present[f]);
        for (size_t k = 0; k < per; k++)
            hl__w_f32(w, ref->q[f * per + k]);
    }
    hl__w_u32(w, (uint32_t)ref->n_classes);
    for (size_t c = 0; c < ref->n_classes; c++)
        hl__w_u64(w, ref->class_count[c]);
}

static int sketch_ok(const float *q, uint32_t Q)
{
    for (uint32_t k = 0; k <= Q; k++)
        if (!isfinite(q[k]) || (k > 0 && q[k] < q[k - 1]))
            return 0;
    return 1;
}

static hl_status read_kpis(hl__rbuf *r, hl__drift_ref *ref)
{
    const size_t per = (size_t)ref->quantiles + 1;
    for (size_t f = 0; f < ref->n_features; f++) {
        ref->present[f] = hl__r_u64(r);
        float *q = ref->q + f * per;
        for (size_t k = 0; k < per; k++)
            q[k] = hl__r_f32(r);
        if (r->failed || ref->present[f] > ref->rows ||
            !sketch_ok(q, ref->quantiles))
            return HL_ERR_FORMAT;
    }
    return HL_OK;
}

hl_status hl__drift_ref_read(hl__rbuf *r, size_t n_features, size_t n_classes,
                             const hl__io_ctx *io, hl__drift_ref **out)
{
    *out = NULL;
    uint32_t Q = hl__r_u32(r);
    uint64_t rows = hl__r_u64(r);
    uint32_t nf = hl__r_u32(r);
    /* Every KPI takes its count and Q + 1 floats: check before allocating. */
    if (r->failed || Q < HL__DRIFT_MIN_QUANTILES ||
        Q > HL__DRIFT_MAX_QUANTILES || rows == 0 || nf != n_features ||
        !hl__r_need(r, n_features * (8 + 4 * ((size_t)Q + 1))))
        return hl__io_corrupt(io, "drift reference");
    hl__drift_ref *ref = ref_alloc(Q, n_features, n_classes);
    if (!ref)
        return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
    ref->rows = rows;
    uint64_t labelled = 0;
    hl_status rc = read_kpis(r, ref);
    if (rc == HL_OK && hl__r_u32(r) != n_classes)
        rc = HL_ERR_FORMAT;
    for (size_t c = 0; rc == HL_OK && c < n_classes; c++) {
        ref->class_count[c] = hl__r_u64(r);
        if (ref->class_count[c] > rows - labelled)
            rc = HL_ERR_FORMAT;
        else
            labelled += ref->class_count[c];
    }
    /* Bytes after what this version knows are a later version's
     * additions: ignored, as the other sections do. */
    if (rc == HL_OK && r->failed)
        rc = HL_ERR_FORMAT;
    if (rc != HL_OK) {
        hl__drift_ref_free(ref);
        return hl__io_corrupt(io, "drift reference");
    }
    *out = ref;
    return HL_OK;
}
