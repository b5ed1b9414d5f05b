/* explain.c - the container's half of explanations: a model's KPI rows
 * turned into its learner's inputs, the learner's contributions to its
 * raw outputs, and those mapped back to the model's KPIs and classes
 * (see healer/explain.h).
 *
 * Rows are cut into chunks for the thread pool as in prediction; a row's
 * contributions depend on nothing but the row.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "healer/explain.h"
#include "healer/normal.h"
#include "internal.h"
#include "pool.h"

/* Rows per task: a learner's per-call scratch amortised. */
#define HL__EXPLAIN_CHUNK 64

int hl_model_explains_rows_cheaply(const hl_model *m)
{
    return m && m->learner && m->learner->contrib_output &&
           hl_model_score_scale(m) != HL_SCORE_NONE;
}

hl_status hl_model_explain_row_cost(const hl_model *m, double *seconds,
                                    hl_error *err)
{
    *seconds = 0.0;
    if (!m || !m->learner || !m->learner->importance ||
        m->fitted.n_trees == 0 || hl_model_score_scale(m) == HL_SCORE_NONE)
        return HL_OK;
    /* a tree of L leaves has L - 1 splits: the learner's split counts
     * over its own inputs give the leaves */
    const hl__model_shape shape = hl__model_shape_of(m);
    double *gain = calloc(shape.n_features + 1, sizeof *gain);
    uint32_t *splits = calloc(shape.n_features + 1, sizeof *splits);
    if (!gain || !splits) {
        free(gain);
        free(splits);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    m->learner->importance(m->fitted.state, shape.n_features, gain, splits);
    double leaves = (double)m->fitted.n_trees;
    for (size_t j = 0; j < shape.n_features; j++)
        leaves += splits[j];
    free(gain);
    free(splits);
    const double depth = fmax(1.0, log2(leaves / (double)m->fitted.n_trees));
    *seconds = leaves * depth * depth * HL_EXPLAIN_SECONDS_PER_LEAF_STEP;
    return HL_OK;
}

hl_score_scale hl_model_score_scale(const hl_model *m)
{
    if (!m || !m->learner || !m->learner->contrib)
        return HL_SCORE_NONE;
    /* the call without rows that makes the explainer says whether this
     * model can be explained (a stack's members, a forest's covers) */
    const hl__model_shape shape = hl__model_shape_of(m);
    const float no_row = 0.0f;
    double no_out = 0.0;
    hl_error err;
    hl_error_clear(&err);
    if (m->learner->contrib(m->fitted.state, &shape, &no_row, 0, &no_out,
                            &err) != HL_OK)
        return HL_SCORE_NONE;
    return m->fitted.link == HL__LINK_PROBA ? HL_SCORE_PROBABILITY
                                            : HL_SCORE_LOGIT;
}

typedef struct explain_ctx {
    const hl_model *m;
    hl__inputs in;
    hl__model_shape shape; /* the learner's inputs */
    const float *x;
    size_t n_rows;
    const int32_t *classes; /* the one class per row asked for, or NULL */
    double *out;
    atomic_int failed;
    hl_error first_err; /* of the first failure */
    atomic_flag err_taken;
} explain_ctx;

/* Adds input j's contribution c to the KPIs it stands for, in one class's
 * block of n_features + 1. */
static void to_kpis(const explain_ctx *c, size_t j, double v, double *block)
{
    const size_t n_kpis = c->in.kept ? c->in.n_kept : c->m->summary.n_features;
    if (j < n_kpis) {
        block[c->in.kept ? c->in.kept[j] : j] += v;
        return;
    }
    const hl__families *fam = c->in.families;
    const size_t f = j - n_kpis;
    const double share = v / (double)(fam->first[f + 1] - fam->first[f]);
    for (uint32_t i = fam->first[f]; i < fam->first[f + 1]; i++)
        block[fam->kpi[i]] += share;
}

/* One row's learner contributions (n_outputs x (width + 1)) as the
 * model's (n_classes x (n_features + 1)). */
static void map_row(const explain_ctx *c, const double *phi, double *row)
{
    const size_t nf = c->m->summary.n_features, K = c->m->summary.n_classes;
    const size_t width = c->shape.n_features;
    const size_t n_out = c->m->fitted.n_outputs;
    memset(row, 0, K * (nf + 1) * sizeof *row);
    for (size_t o = 0; o < n_out; o++) {
        const double *p = phi + o * (width + 1);
        /* one log-odds for two classes: split evenly, softmax-equivalent */
        const int split = n_out == 1 && K == 2;
        for (size_t side = 0; side < (split ? 2u : 1u); side++) {
            const size_t k = split ? side : o;
            const double sign = split ? (side ? 0.5 : -0.5) : 1.0;
            double *block = row + k * (nf + 1);
            for (size_t j = 0; j < width; j++)
                to_kpis(c, j, sign * p[j], block);
            block[nf] += sign * p[width];
        }
    }
}

static void explain_chunk(void *p, size_t chunk, int worker)
{
    (void)worker;
    explain_ctx *c = p;
    const hl_model *m = c->m;
    const size_t nf = m->summary.n_features, K = m->summary.n_classes;
    const size_t width = c->shape.n_features, n_out = m->fitted.n_outputs;
    const size_t begin = chunk * HL__EXPLAIN_CHUNK;
    const size_t n = c->n_rows - begin < HL__EXPLAIN_CHUNK ? c->n_rows - begin
                                                           : HL__EXPLAIN_CHUNK;
    const float *x = c->x + begin * nf;
    float *inputs = NULL;
    double *phi = malloc((n * n_out * (width + 1) + 1) * sizeof *phi);
    hl_error err;
    hl_error_clear(&err);
    hl_status rc = phi ? HL_OK : HL_ERR_NOMEM;
    if (rc == HL_OK && !hl__inputs_identity(&c->in)) {
        if ((inputs = malloc((n * width + 1) * sizeof *inputs)))
            hl__inputs_gather(&c->in, x, n, nf, inputs);
        else
            rc = HL_ERR_NOMEM;
        x = inputs;
    }
    size_t *outputs = NULL;
    if (rc == HL_OK && c->classes && m->learner->contrib_output &&
        n_out == K) { /* an output per class: only the asked one's */
        if ((outputs = malloc((n + 1) * sizeof *outputs)))
            for (size_t i = 0; i < n; i++)
                outputs[i] = (size_t)c->classes[begin + i];
        rc = outputs ? m->learner->contrib_output(m->fitted.state, &c->shape,
                                                  x, n, outputs, phi, &err)
                     : HL_ERR_NOMEM;
    } else if (rc == HL_OK) {
        rc = m->learner->contrib(m->fitted.state, &c->shape, x, n, phi, &err);
    }
    free(outputs);
    for (size_t i = 0; rc == HL_OK && i < n; i++)
        map_row(c, phi + i * n_out * (width + 1),
                c->out + (begin + i) * K * (nf + 1));
    if (rc != HL_OK) {
        atomic_store(&c->failed, 1);
        if (!atomic_flag_test_and_set(&c->err_taken)) {
            c->first_err = err;
            c->first_err.code = rc;
        }
    }
    free(inputs);
    free(phi);
}

static hl_status contributions(const hl_model *m, const float *x,
                               size_t n_rows, const int32_t *classes,
                               int threads, double *out, hl_error *err)
{
    if (!m || (!x && n_rows) || (!out && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "explain: NULL argument");
    for (size_t i = 0; classes && i < n_rows; i++)
        if (classes[i] < 0 || (size_t)classes[i] >= m->summary.n_classes)
            return hl__fail(err, HL_ERR_INVALID,
                            "explain: row %zu asks for class %d of %zu",
                            i + 1, (int)classes[i], m->summary.n_classes);
    if (!m->learner->contrib)
        return hl__fail(err, HL_ERR_INVALID,
                        "the %s learner cannot explain its predictions",
                        m->summary.algo);
    explain_ctx c = {.m = m,
                     .in = hl__model_inputs(m),
                     .shape = hl__model_shape_of(m),
                     .x = x,
                     .n_rows = n_rows,
                     .classes = classes,
                     .out = out,
                     .err_taken = ATOMIC_FLAG_INIT};
    /* A call without rows first, so that what the learner makes once per
     * model (the tree explainer's tables) is made here, not by every
     * worker at once. */
    hl_error prep;
    hl_error_clear(&prep);
    hl_status rc =
        m->learner->contrib(m->fitted.state, &c.shape, x, 0, out, &prep);
    if (rc != HL_OK) {
        if (err)
            *err = prep;
        return rc;
    }
    const size_t chunks = (n_rows + HL__EXPLAIN_CHUNK - 1) / HL__EXPLAIN_CHUNK;
    int t = hl__resolve_threads(threads);
    if ((size_t)t > chunks)
        t = chunks ? (int)chunks : 1;
    hl__pool *pool = t > 1 ? hl__pool_create(t) : NULL;
    if (t > 1 && !pool)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    hl__pool_run(pool, chunks, explain_chunk, &c);
    hl__pool_destroy(pool);
    if (!atomic_load(&c.failed))
        return HL_OK;
    if (c.first_err.code == HL_ERR_NOMEM)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory for explanations");
    if (err)
        *err = c.first_err;
    return c.first_err.code;
}

hl_status hl_model_contributions(const hl_model *m, const float *x,
                                 size_t n_rows, int threads, double *out,
                                 hl_error *err)
{
    return contributions(m, x, n_rows, NULL, threads, out, err);
}

hl_status hl_model_contributions_class(const hl_model *m, const float *x,
                                       size_t n_rows, const int32_t *classes,
                                       int threads, double *out, hl_error *err)
{
    if (!classes && n_rows)
        return hl__fail(err, HL_ERR_INVALID, "explain: NULL argument");
    return contributions(m, x, n_rows, classes, threads, out, err);
}

/* ---- one sample ---- */

void hl_sample_explanation_free(hl_sample_explanation *e)
{
    if (!e)
        return;
    free(e->values);
    free(e->proba);
    free(e->contrib);
    free(e->z);
    memset(e, 0, sizeof *e);
}

hl_status hl_model_explain_row(const hl_model *m, const hl_dataset *ds,
                               size_t row, hl_sample_explanation *out,
                               hl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m || !ds)
        return hl__fail(err, HL_ERR_INVALID, "explain: NULL argument");
    if (row >= ds->n_rows)
        return hl__fail(err, HL_ERR_INVALID,
                        "explain: row %zu is past the %zu rows of the data",
                        row + 1, ds->n_rows);
    const size_t nf = m->summary.n_features, K = m->summary.n_classes;
    out->n_classes = K;
    out->n_features = nf;
    out->scale = hl_model_score_scale(m);
    size_t *src = malloc((nf + 1) * sizeof *src);
    out->values = malloc((nf + 1) * sizeof *out->values);
    out->proba = malloc((K + 1) * sizeof *out->proba);
    out->contrib = malloc((K * (nf + 1) + 1) * sizeof *out->contrib);
    out->z = malloc((nf + 1) * sizeof *out->z);
    hl_status rc = src && out->values && out->proba && out->contrib && out->z
                       ? hl__model_map_features(m, ds, src, NULL, err)
                       : hl__fail(err, HL_ERR_NOMEM, "out of memory");
    for (size_t j = 0; rc == HL_OK && j < nf; j++) {
        out->values[j] = ds->x[row * ds->n_features + src[j]];
        out->z[j] = hl_model_normal_z(m, j, out->values[j]);
    }
    if (rc == HL_OK)
        rc = hl_model_predict_matrix(m, out->values, 1, 1, out->proba, err);
    if (rc == HL_OK)
        rc = hl_model_contributions(m, out->values, 1, 1, out->contrib, err);
    free(src);
    if (rc != HL_OK) {
        hl_sample_explanation_free(out);
        return rc;
    }
    out->predicted = hl_predict_argmax(out->proba, K);
    return HL_OK;
}
