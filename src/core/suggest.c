/* suggest.c - rows worth a person's label (see healer/suggest.h).
 *
 * Distances are taken in a space made inside the batch, because the
 * batch is what the person sees and its KPIs may have drifted from the
 * training data: every KPI the model reads is put through sign(v)
 * log(1 + |v|) (KPIs span 1e-4..1e17) and scaled by its median and
 * interquartile range over the batch; a missing value sits at the median.
 * Farthest-first picking is O(pool x picks) distance evaluations per
 * class, small for the tens of rows a person labels.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "healer/suggest.h"
#include "internal.h"
#include "robust.h"

typedef struct candidate {
    size_t row;
    double margin;
} candidate;

static int cmp_candidate(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->margin != y->margin)
        return x->margin < y->margin ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}


/* The batch's scaling of each KPI the distances use: column c is feature
 * cols[c] of the model, read from ds column src[cols[c]]; its median and
 * interquartile range after the signed log, over the batch's rows. */
typedef struct batch_scale {
    const hl_dataset *ds;
    const size_t *src, *cols;
    size_t d;
    float *median, *scale; /* d each */
} batch_scale;

static hl_status batch_scale_fit(batch_scale *bs)
{
    const hl_dataset *ds = bs->ds;
    float *v = malloc((ds->n_rows + 1) * sizeof *v);
    if (!v)
        return HL_ERR_NOMEM;
    for (size_t c = 0; c < bs->d; c++) {
        size_t m = 0, col = bs->src[bs->cols[c]];
        for (size_t i = 0; i < ds->n_rows; i++) {
            float x = ds->x[i * ds->n_features + col];
            if (!isnan(x))
                v[m++] = hl__signed_log(x);
        }
        bs->median[c] = 0;
        bs->scale[c] = 1;
        if (m > 0) {
            hl__sort_floats(v, m);
            bs->median[c] = v[m / 2];
            float iqr = v[(3 * m) / 4] - v[m / 4];
            bs->scale[c] = iqr > 0 ? iqr : 1;
        }
    }
    free(v);
    return HL_OK;
}

/* Row `row` of the batch in the scaled space, into z[0..d). */
static void batch_scale_row(const batch_scale *bs, size_t row, float *z)
{
    const float *x = bs->ds->x + row * bs->ds->n_features;
    for (size_t c = 0; c < bs->d; c++) {
        float v = x[bs->src[bs->cols[c]]];
        z[c] = isnan(v) ? 0.0f : (hl__signed_log(v) - bs->median[c]) / bs->scale[c];
    }
}

static double distance2(const float *a, const float *b, size_t n)
{
    double s = 0;
    for (size_t j = 0; j < n; j++) {
        double d = (double)a[j] - (double)b[j];
        s += d * d;
    }
    return s;
}

/* Farthest-first among the n_pool most uncertain candidates (z: their
 * rows in the scaled space, n_pool x d, most uncertain first): the first
 * pick is the most uncertain row, each next one the row farthest from all
 * picks so far; a row at distance 0 of a pick (the same KPIs, as far as
 * the model reads them) never is. Writes pool indices to picked[]. */
static size_t pick_diverse(size_t n_pool, size_t want, const float *z, size_t d,
                           double *nearest, size_t *picked)
{
    size_t n = 0;
    for (size_t i = 0; i < n_pool; i++)
        nearest[i] = INFINITY;
    while (n < want && n < n_pool) {
        size_t best = n_pool;
        for (size_t i = 0; i < n_pool; i++)
            if (nearest[i] > 0 &&
                (best == n_pool || nearest[i] > nearest[best]))
                best = i;
        if (best == n_pool)
            break; /* only duplicates of picks are left */
        picked[n++] = best;
        const float *zb = z + best * d;
        for (size_t i = 0; i < n_pool; i++) {
            double dist = distance2(z + i * d, zb, d);
            if (dist < nearest[i])
                nearest[i] = dist;
        }
    }
    return n;
}

/* The model's features the distances use: those it reads. */
static size_t used_features(const hl_model *m, size_t *cols)
{
    size_t n = 0;
    for (size_t j = 0; j < m->summary.n_features; j++)
        if (!m->summary.kpi_kept || m->summary.kpi_kept[j])
            cols[n++] = j;
    return n;
}

hl_status hl_suggest_rows(const hl_model *m, const hl_dataset *ds,
                          const double *proba, size_t per_class,
                          hl_suggestion **out, size_t *n_out, hl_error *err)
{
    *out = NULL;
    *n_out = 0;
    if (per_class < 1 || per_class > HL_SUGGEST_MAX_PER_CLASS)
        return hl__fail_field(err, HL_ERR_INVALID, "per_class",
                              "rows per class must be in 1..%d, got %zu",
                              HL_SUGGEST_MAX_PER_CLASS, per_class);
    const size_t n = ds->n_rows, K = m->summary.n_classes,
                 nf = m->summary.n_features;
    size_t *src = malloc((nf + 1) * sizeof *src);
    size_t *cols = malloc((nf + 1) * sizeof *cols);
    candidate *cand = malloc((n + 1) * sizeof *cand);
    double *nearest = malloc((n + 1) * sizeof *nearest);
    size_t *picked = malloc((n + 1) * sizeof *picked);
    int32_t *pred = malloc((n + 1) * sizeof *pred);
    hl_suggestion *res = malloc((n + 1) * sizeof *res);
    const size_t pool_cap = per_class * HL_SUGGEST_POOL_FACTOR;
    float *z = NULL, *median = malloc((nf + 1) * sizeof *median),
          *scale = malloc((nf + 1) * sizeof *scale);
    hl_status rc = src && cols && cand && nearest && picked && pred && res &&
                           median && scale
                       ? hl__model_map_features(m, ds, src, NULL, err)
                       : hl__fail(err, HL_ERR_NOMEM, "out of memory");
    batch_scale bs = {ds, src, cols, 0, median, scale};
    if (rc == HL_OK)
        bs.d = used_features(m, cols);
    /* Only the pool rows are placed in the space: memory follows the rows
     * asked for, not the batch's size. */
    if (rc == HL_OK && !(z = malloc((pool_cap * bs.d + 1) * sizeof *z)))
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
    if (rc == HL_OK && batch_scale_fit(&bs) != HL_OK)
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == HL_OK && i < n; i++)
        pred[i] = hl_predict_argmax(proba + i * K, K);
    size_t count = 0;
    for (size_t k = 0; rc == HL_OK && k < K; k++) {
        size_t n_cand = 0;
        for (size_t i = 0; i < n; i++) {
            if (pred[i] != (int32_t)k)
                continue;
            double top = 0, second = 0;
            for (size_t c = 0; c < K; c++) {
                double p = proba[i * K + c];
                if (p > top) {
                    second = top;
                    top = p;
                } else if (p > second) {
                    second = p;
                }
            }
            cand[n_cand++] = (candidate){i, top - second};
        }
        qsort(cand, n_cand, sizeof *cand, cmp_candidate);
        const size_t pool = pool_cap < n_cand ? pool_cap : n_cand;
        for (size_t i = 0; i < pool; i++)
            batch_scale_row(&bs, cand[i].row, z + i * bs.d);
        size_t got = pick_diverse(pool, per_class, z, bs.d, nearest, picked);
        /* Most uncertain first within the class. */
        for (size_t a = 1; a < got; a++)
            for (size_t b = a; b > 0 && picked[b] < picked[b - 1]; b--) {
                size_t t = picked[b];
                picked[b] = picked[b - 1];
                picked[b - 1] = t;
            }
        for (size_t a = 0; a < got; a++) {
            const candidate *c = &cand[picked[a]];
            res[count++] = (hl_suggestion){c->row, (int32_t)k,
                                           proba[c->row * K + k], c->margin};
        }
    }
    free(src);
    free(cols);
    free(cand);
    free(nearest);
    free(picked);
    free(pred);
    free(z);
    free(median);
    free(scale);
    if (rc != HL_OK) {
        free(res);
        return rc;
    }
    *out = res;
    *n_out = count;
    return HL_OK;
}
