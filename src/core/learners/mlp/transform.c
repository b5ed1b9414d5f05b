/* transform.c - the MLP's input transform: raw KPIs to bounded inputs.
 *
 * Learned on the training rows only, stored in the model, and applied
 * identically to every row the model ever sees. Two kinds (the `transform`
 * choice; docs/benchmarks.md has the cross-validation that picked the
 * default):
 *
 *   robust    t = sign(x) log(1 + |x|) folds 1e-4..1e17 and negative values
 *             onto one readable scale; then (t - median) / IQR per KPI
 *             (an IQR of 0, a KPI that is nearly constant, scales by 1).
 *   quantile  the value's rank among up to 1,000 training quantiles of the
 *             KPI, interpolated, mapped through the inverse normal CDF.
 *
 * Both are clipped to [-input_clip, input_clip]: a KPI whose scale shifts in
 * deployment saturates instead of dominating every unit it feeds, which is
 * what makes the network robust to the noisy KPIs that drift most. A
 * missing cell becomes 0 (the centre of the training values) and, with
 * missing_indicators, sets a 0/1 input of its own for KPIs that had missing
 * cells in training. Statistics ignore missing and infinite cells; an
 * infinite cell is transformed like any value beyond the training range.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mlp.h"
#include "robust.h"

/* sklearn's QuantileTransformer uses 1,000 too: beyond that the map is
 * smoother than any realistic training sample can tell apart. */
#define HL__MLP_MAX_QUANTILES 1000u
/* The quantile map's ranks stay within [1e-7, 1 - 1e-7] (about +-5.2
 * standard deviations), as sklearn's do. */
#define HL__MLP_RANK_EPS 1e-7


/* The finite values of feature f over the training rows, sorted, into
 * vals; returns their count. Robust statistics read signed logs. */
static size_t gather_feature(const hl__fit_job *job, size_t f, int take_log,
                             float *vals)
{
    size_t m = 0;
    for (size_t i = 0; i < job->n_train; i++) {
        float x = job->x[job->train_rows[i] * job->n_features + f];
        if (isfinite(x))
            vals[m++] = take_log ? hl__signed_log(x) : x;
    }
    hl__sort_floats(vals, m);
    return m;
}

static void fit_robust(hl__mlp_transform *tf, size_t f, const float *vals,
                       size_t m)
{
    double center = 0.0, scale = 1.0;
    if (m > 0) {
        center = hl__sorted_quantile(vals, m, 0.5);
        scale = hl__sorted_quantile(vals, m, 0.75) - hl__sorted_quantile(vals, m, 0.25);
    }
    tf->center[f] = (float)center;
    tf->scale[f] = scale > 0.0 && isfinite(scale) ? (float)scale : 1.0f;
}

static void fit_quantiles(hl__mlp_transform *tf, size_t f, const float *vals,
                          size_t m)
{
    const uint32_t nq = tf->n_quantiles;
    float *q = tf->quantiles + f * nq;
    for (uint32_t j = 0; j < nq; j++)
        q[j] = m ? (float)hl__sorted_quantile(vals, m, (double)j / (nq - 1)) : 0.0f;
}

/* One indicator per feature with a missing training cell, in feature
 * order after the transformed features. */
static void assign_indicators(hl__mlp_transform *tf, const hl__fit_job *job,
                              int wanted)
{
    uint32_t next = tf->n_features;
    for (size_t f = 0; f < tf->n_features; f++) {
        int missing = 0;
        for (size_t i = 0; wanted && i < job->n_train && !missing; i++)
            missing = isnan(job->x[job->train_rows[i] * job->n_features + f]);
        tf->indicator[f] = missing ? (int32_t)next++ : -1;
    }
    tf->n_inputs = next;
}

hl_status hl__mlp_transform_fit(hl__mlp_transform *tf, const hl__fit_job *job,
                                const hl__mlp_params *p, hl_error *err)
{
    const size_t nf = job->n_features;
    memset(tf, 0, sizeof *tf);
    tf->kind = (uint32_t)p->transform;
    tf->n_features = (uint32_t)nf;
    tf->clip = (float)p->input_clip;
    tf->indicator = malloc(nf * sizeof *tf->indicator);
    float *vals = malloc((job->n_train + 1) * sizeof *vals);
    if (tf->kind == HL__MLP_QUANTILE) {
        size_t nq = job->n_train < HL__MLP_MAX_QUANTILES ? job->n_train
                                                        : HL__MLP_MAX_QUANTILES;
        tf->n_quantiles = (uint32_t)(nq < 2 ? 2 : nq);
        tf->quantiles = malloc(nf * tf->n_quantiles * sizeof *tf->quantiles);
    } else {
        tf->center = malloc(nf * sizeof *tf->center);
        tf->scale = malloc(nf * sizeof *tf->scale);
    }
    if (!tf->indicator || !vals ||
        (tf->kind == HL__MLP_QUANTILE ? !tf->quantiles
                                      : !tf->center || !tf->scale)) {
        free(vals);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    for (size_t f = 0; f < nf; f++) {
        size_t m = gather_feature(job, f, tf->kind == HL__MLP_ROBUST, vals);
        if (tf->kind == HL__MLP_QUANTILE)
            fit_quantiles(tf, f, vals, m);
        else
            fit_robust(tf, f, vals, m);
    }
    free(vals);
    assign_indicators(tf, job, p->missing_indicators);
    if (hl__mlp_transform_prepare(tf) != HL_OK)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    return HL_OK;
}

/* The standard normal quantile of p in (0, 1), by bisection on erfc: exact
 * to the last bits and run only n_quantiles times per model. */
static double normal_quantile(double p)
{
    double lo = -40.0, hi = 40.0;
    for (int i = 0; i < 200 && lo < hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (0.5 * erfc(-mid / sqrt(2.0)) < p)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* Normal values at every half step of the points' ranks: a point j has
 * rank j / (n - 1), a run of tied points the rank of its middle, which
 * may fall half-way between two points. */
hl_status hl__mlp_transform_prepare(hl__mlp_transform *tf)
{
    if (tf->kind != HL__MLP_QUANTILE)
        return HL_OK;
    const size_t steps = 2 * ((size_t)tf->n_quantiles - 1);
    free(tf->normal);
    tf->normal = malloc((steps + 1) * sizeof *tf->normal);
    if (!tf->normal)
        return HL_ERR_NOMEM;
    for (size_t j = 0; j <= steps; j++) {
        double rank = (double)j / (double)steps;
        if (rank < HL__MLP_RANK_EPS)
            rank = HL__MLP_RANK_EPS;
        if (rank > 1.0 - HL__MLP_RANK_EPS)
            rank = 1.0 - HL__MLP_RANK_EPS;
        tf->normal[j] = normal_quantile(rank);
    }
    return HL_OK;
}

/* The first of the sorted points q[0..n) that is >= x (or > x when
 * past_ties): a binary search, n when there is none. */
static uint32_t first_point(const float *q, uint32_t n, float x, int past_ties)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (q[mid] < x || (past_ties && q[mid] == x))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Where x falls among the sorted points q[0..n), as a normal value:
 * equal to a run of points (a tie, common for KPIs that are often 0), the
 * normal value of the run's middle rank - so a KPI that is 0 in 60 % of
 * the rows maps 0 to the rank 0.3, as sklearn's QuantileTransformer does;
 * between two points, linear between their normal values (adjacent ranks
 * are at most 1/n apart); outside the points, the extreme ranks.
 * `normal` holds the half-step ranks: point j is normal[2 j]. */
static double quantile_value(const float *q, const double *normal, uint32_t n,
                             float x)
{
    uint32_t below = first_point(q, n, x, 0), upto = first_point(q, n, x, 1);
    if (upto > below)
        return normal[below + upto - 1];
    if (below == 0)
        return normal[0];
    if (below == n)
        return normal[2 * ((size_t)n - 1)];
    double x0 = q[below - 1], x1 = q[below];
    double z0 = normal[2 * ((size_t)below - 1)], z1 = normal[2 * (size_t)below];
    double frac = ((double)x - x0) / (x1 - x0);
    return z0 + frac * (z1 - z0);
}

static inline float clipped(double v, float clip)
{
    return v > clip ? clip : v < -clip ? -clip : (float)v;
}

static void transform_row(const hl__mlp_transform *tf, const float *x,
                          float *out)
{
    const size_t nf = tf->n_features;
    for (size_t f = nf; f < tf->n_inputs; f++)
        out[f] = 0.0f;
    for (size_t f = 0; f < nf; f++) {
        float v = x[f];
        if (isnan(v)) {
            out[f] = 0.0f;
            if (tf->indicator[f] >= 0)
                out[tf->indicator[f]] = 1.0f;
            continue;
        }
        double t;
        if (tf->kind == HL__MLP_QUANTILE)
            t = quantile_value(tf->quantiles + f * tf->n_quantiles, tf->normal,
                               tf->n_quantiles, v);
        else
            t = ((double)hl__signed_log(v) - tf->center[f]) / tf->scale[f];
        out[f] = clipped(t, tf->clip);
    }
}

void hl__mlp_transform_rows(const hl__mlp_transform *tf, const float *x,
                            const size_t *rows, size_t n, float *out)
{
    for (size_t i = 0; i < n; i++)
        transform_row(tf, x + (rows ? rows[i] : i) * tf->n_features,
                      out + i * tf->n_inputs);
}

hl_status hl__mlp_transform_spread(hl__mlp_transform *tf, const float *in,
                                   size_t n)
{
    const size_t ni = tf->n_inputs;
    double *sum = calloc(ni, sizeof *sum), *sq = calloc(ni, sizeof *sq);
    free(tf->spread);
    tf->spread = malloc(ni * sizeof *tf->spread);
    if (!sum || !sq || !tf->spread) {
        free(sum);
        free(sq);
        return HL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < ni; j++) {
            double v = in[i * ni + j];
            sum[j] += v;
            sq[j] += v * v;
        }
    for (size_t j = 0; j < ni; j++) {
        double mean = n ? sum[j] / (double)n : 0.0;
        double var = n ? sq[j] / (double)n - mean * mean : 0.0;
        tf->spread[j] = var > 0.0 ? (float)sqrt(var) : 0.0f;
    }
    free(sum);
    free(sq);
    return HL_OK;
}

void hl__mlp_transform_free(hl__mlp_transform *tf)
{
    free(tf->center);
    free(tf->scale);
    free(tf->quantiles);
    free(tf->normal);
    free(tf->indicator);
    free(tf->spread);
    memset(tf, 0, sizeof *tf);
}
