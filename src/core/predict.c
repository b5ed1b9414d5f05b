/* predict.c - class probabilities from a model, whatever its learner.
 *
 * The container's half of prediction: columns matched to the model's
 * features by name, rows cut into chunks for the thread pool, the
 * learner's raw outputs turned into probabilities by the link it
 * declared. The learner's half (gbdt: walking its trees) is behind
 * learner->predict_raw.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "internal.h"
#include "pool.h"

/* Rows per task: enough that a learner's per-call scratch is amortised,
 * few enough that two threads share 2,000 rows evenly. */
#define HL__PREDICT_CHUNK 256
/* Below this many rows threads cost more than they save. */
#define HL__PREDICT_PARALLEL_ROWS 512

typedef struct predict_ctx {
    const hl_model *m;
    hl__model_shape shape;
    const float *x;
    size_t n_rows;
    double *proba;
    double **raw;     /* per worker: HL__PREDICT_CHUNK rows of raw outputs */
    float **inputs_x; /* per worker, for a model whose learner does not read
                         the KPIs as they are: the chunk's rows as it reads
                         them (inputs.h) */
    atomic_int failed; /* a learner ran out of memory */
} predict_ctx;

static void predict_chunk(void *p, size_t chunk, int worker)
{
    predict_ctx *c = p;
    const hl_model *m = c->m;
    const size_t nf = m->summary.n_features, K = c->shape.n_classes;
    const size_t n_out = m->fitted.n_outputs;
    const size_t begin = chunk * HL__PREDICT_CHUNK;
    const size_t n = c->n_rows - begin < HL__PREDICT_CHUNK ? c->n_rows - begin
                                                          : HL__PREDICT_CHUNK;
    double *raw = c->raw[worker];
    const float *x = c->x + begin * nf;
    hl__inputs in = hl__model_inputs(m);
    if (!hl__inputs_identity(&in)) {
        hl__inputs_gather(&in, x, n, nf, c->inputs_x[worker]);
        x = c->inputs_x[worker];
    }
    if (m->learner->predict_raw(m->fitted.state, &c->shape, x, n, raw) !=
        HL_OK) {
        atomic_store(&c->failed, 1);
        return;
    }
    for (size_t i = 0; i < n; i++)
        hl__link_apply(m->fitted.link, raw + i * n_out, K,
                       c->proba + (begin + i) * K);
}

static void free_raw(double **raw, int workers)
{
    for (int w = 0; raw && w < workers; w++)
        free(raw[w]);
    free(raw);
}

static void free_inputs_x(float **kx, int workers)
{
    for (int w = 0; kx && w < workers; w++)
        free(kx[w]);
    free(kx);
}

/* NULL for a model whose learner reads the KPIs as they are, or out of
 * memory (*failed). */
static float **alloc_inputs_x(const hl_model *m, int workers, int *failed)
{
    hl__inputs in = hl__model_inputs(m);
    *failed = 0;
    if (hl__inputs_identity(&in))
        return NULL;
    const size_t width = hl__inputs_width(&in, m->summary.n_features);
    float **kx = calloc((size_t)workers, sizeof *kx);
    for (int w = 0; kx && w < workers; w++)
        if (!(kx[w] = malloc((HL__PREDICT_CHUNK * width + 1) * sizeof **kx))) {
            free_inputs_x(kx, w);
            kx = NULL;
        }
    *failed = !kx;
    return kx;
}

static double **alloc_raw(int workers, size_t n_outputs)
{
    double **raw = calloc((size_t)workers, sizeof *raw);
    for (int w = 0; raw && w < workers; w++)
        if (!(raw[w] = malloc(HL__PREDICT_CHUNK * n_outputs * sizeof **raw))) {
            free_raw(raw, w);
            return NULL;
        }
    return raw;
}

/* Rows are cut into chunks for the pool; each chunk is one call of the
 * learner's raw prediction, then the link. A row's result depends on
 * nothing but the row (learner.h), hence not on chunks or threads. */
hl_status hl_model_predict_matrix(const hl_model *m, const float *x,
                                  size_t n_rows, int threads, double *proba,
                                  hl_error *err)
{
    if (!m || (!x && n_rows) || (!proba && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "predict: NULL argument");
    size_t chunks = (n_rows + HL__PREDICT_CHUNK - 1) / HL__PREDICT_CHUNK;
    int t = hl__resolve_threads(threads);
    if (n_rows < HL__PREDICT_PARALLEL_ROWS)
        t = 1;
    if ((size_t)t > chunks)
        t = chunks ? (int)chunks : 1;
    int no_inputs_x;
    predict_ctx c = {m,          hl__model_shape_of(m),
                     x,          n_rows,
                     proba,      alloc_raw(t, m->fitted.n_outputs),
                     alloc_inputs_x(m, t, &no_inputs_x), 0};
    hl__pool *pool = t > 1 ? hl__pool_create(t) : NULL;
    if (c.raw && !no_inputs_x && (t == 1 || pool))
        hl__pool_run(pool, chunks, predict_chunk, &c);
    hl__pool_destroy(pool);
    int ok = c.raw && !no_inputs_x && (t == 1 || pool) &&
             !atomic_load(&c.failed);
    free_raw(c.raw, t);
    free_inputs_x(c.inputs_x, t);
    return ok ? HL_OK
              : hl__fail(err, HL_ERR_NOMEM, "out of memory for prediction");
}

int32_t hl_predict_argmax(const double *proba_row, size_t n_classes)
{
    size_t best = 0;
    for (size_t k = 1; k < n_classes; k++)
        if (proba_row[k] > proba_row[best])
            best = k;
    return (int32_t)best;
}

/* A missing feature is an error, so src[] is complete on success. Drift
 * checks (drift.c) match columns the same way. */
hl_status hl__model_map_features(const hl_model *m, const hl_dataset *ds,
                                 size_t *src, hl_warnings *warn,
                                 hl_error *err)
{
    const hl_model_summary *s = &m->summary;
    for (size_t j = 0; j < s->n_features; j++) {
        long c = hl_dataset_feature_index(ds, s->feature_names[j]);
        if (c < 0)
            return hl__fail_at(err, HL_ERR_DATA, ds->source, 0,
                               s->feature_names[j], 0,
                               "feature '%s' used by the model is missing "
                               "from the data",
                               s->feature_names[j]);
        src[j] = (size_t)c;
    }
    for (size_t c = 0; c < ds->n_features; c++) {
        int used = 0;
        for (size_t j = 0; j < s->n_features && !used; j++)
            used = src[j] == c;
        if (!used && hl__warn(warn,
                              "column '%s' is not a feature of the model and "
                              "is ignored",
                              ds->feature_names[c]) != HL_OK)
            return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    return HL_OK;
}

static int identity_map(const size_t *src, size_t n, size_t n_cols)
{
    if (n != n_cols)
        return 0;
    for (size_t j = 0; j < n; j++)
        if (src[j] != j)
            return 0;
    return 1;
}

hl_status hl_model_predict_dataset(const hl_model *m, const hl_dataset *ds,
                                   int threads, double *proba,
                                   hl_warnings *warn, hl_error *err)
{
    const size_t nf = m->summary.n_features;
    size_t *src = malloc((nf ? nf : 1) * sizeof *src);
    if (!src)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    hl_status rc = hl__model_map_features(m, ds, src, warn, err);
    if (rc != HL_OK) {
        free(src);
        return rc;
    }
    if (identity_map(src, nf, ds->n_features)) {
        free(src);
        return hl_model_predict_matrix(m, ds->x, ds->n_rows, threads, proba, err);
    }
    float *x = malloc((ds->n_rows * nf + 1) * sizeof *x);
    if (!x) {
        free(src);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory for %zu rows",
                        ds->n_rows);
    }
    for (size_t i = 0; i < ds->n_rows; i++)
        for (size_t j = 0; j < nf; j++)
            x[i * nf + j] = ds->x[i * ds->n_features + src[j]];
    rc = hl_model_predict_matrix(m, x, ds->n_rows, threads, proba, err);
    free(x);
    free(src);
    return rc;
}
