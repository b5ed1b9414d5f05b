/* profile.c - a dataset's profile: shape, duplicates, missing values,
 * label distribution and per-KPI summary statistics.
 *
 * What the web platform shows after an upload and `healer profile` prints,
 * so that a user sees a broken export (a KPI always missing, a constant
 * column, a class with three rows) before spending time on training.
 * Moments are accumulated with Welford's method in double (KPIs span 1e-4 to
 * 1e17, where the naive sum of squares loses everything); quantiles sort
 * the present values, or a deterministic sample of 100,000 of them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "healer/dataset.h"
#include "internal.h"
#include "robust.h"

#define HL__PROFILE_SAMPLE 100000


/* Fills st for feature f; `values` is scratch for up to the sample size. */
static void feature_stats(const hl_dataset *ds, size_t f, float *values,
                          hl_feature_stats *st)
{
    const size_t n = ds->n_rows, nf = ds->n_features;
    size_t present = 0, kept = 0;
    double mean = 0.0, m2 = 0.0;
    float lo = INFINITY, hi = -INFINITY;
    hl__rng rng;
    hl__rng_seed(&rng, 0x9F0F11E + f);
    for (size_t i = 0; i < n; i++) {
        float v = ds->x[i * nf + f];
        if (isnan(v))
            continue;
        present++;
        double d = (double)v - mean;
        mean += d / (double)present;
        m2 += d * ((double)v - mean);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        /* Reservoir sampling keeps a uniform sample of the present values. */
        if (kept < HL__PROFILE_SAMPLE)
            values[kept++] = v;
        else {
            uint64_t j = hl__rng_below(&rng, present);
            if (j < HL__PROFILE_SAMPLE)
                values[j] = v;
        }
    }
    st->missing = n - present;
    st->missing_rate = n ? (double)st->missing / (double)n : 0.0;
    if (present == 0) {
        st->min = st->max = st->mean = st->std = NAN;
        st->p05 = st->p50 = st->p95 = NAN;
        return;
    }
    st->min = lo;
    st->max = hi;
    st->mean = mean;
    st->std = sqrt(m2 / (double)present);
    hl__sort_floats(values, kept);
    st->p05 = hl__sorted_quantile(values, kept, 0.05);
    st->p50 = hl__sorted_quantile(values, kept, 0.50);
    st->p95 = hl__sorted_quantile(values, kept, 0.95);
}

hl_status hl_dataset_profile_compute(const hl_dataset *ds,
                                     hl_dataset_profile *out, hl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!ds)
        return hl__fail(err, HL_ERR_INVALID, "profile: NULL dataset");
    hl_dup_info dup;
    hl_status rc = hl_dataset_find_duplicates(ds, &dup, err);
    if (rc != HL_OK)
        return rc;
    size_t cap = ds->n_rows < HL__PROFILE_SAMPLE ? ds->n_rows : HL__PROFILE_SAMPLE;
    float *values = malloc((cap + 1) * sizeof *values);
    out->features = calloc(ds->n_features + 1, sizeof *out->features);
    if (ds->has_labels)
        out->class_counts = calloc(ds->n_classes + 1, sizeof *out->class_counts);
    if (!values || !out->features || (ds->has_labels && !out->class_counts)) {
        free(values);
        hl_dup_info_free(&dup);
        hl_dataset_profile_free(out);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory while profiling");
    }
    out->n_rows = ds->n_rows;
    out->n_features = ds->n_features;
    out->rows_read = ds->rows_read;
    out->rows_skipped_no_label = ds->rows_skipped_no_label;
    out->duplicate_rows = dup.duplicate_rows;
    out->conflicting_rows = dup.conflicting_rows;
    hl_dup_info_free(&dup);
    for (size_t f = 0; f < ds->n_features; f++) {
        hl_feature_stats *st = &out->features[f];
        feature_stats(ds, f, values, st);
        out->missing_cells += st->missing;
        out->constant_features += !(st->max > st->min);
    }
    free(values);
    size_t cells = ds->n_rows * ds->n_features;
    out->missing_rate = cells ? (double)out->missing_cells / (double)cells : 0.0;
    if (ds->has_labels) {
        out->n_classes = ds->n_classes;
        for (size_t i = 0; i < ds->n_rows; i++) {
            if (ds->y[i] >= 0)
                out->class_counts[ds->y[i]]++;
            else
                out->unlabelled_rows++;
        }
    }
    return HL_OK;
}

void hl_dataset_profile_free(hl_dataset_profile *p)
{
    if (!p)
        return;
    free(p->features);
    free(p->class_counts);
    memset(p, 0, sizeof *p);
}
