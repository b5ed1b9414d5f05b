/* predict.c - class probabilities from a trained model.
 *
 * Rows are scored in blocks: every tree is applied to a block of rows before
 * moving to the next tree, so a tree's nodes are loaded once per block
 * instead of once per row. Each row still sums its trees in model order, so
 * block size and thread count never change a result: predictions are
 * bit-identical however they are computed and after a save/load.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbdt.h"
#include "internal.h"

#define HL__PREDICT_BLOCK 64
/* Below this many rows threads cost more than they save. */
#define HL__PREDICT_PARALLEL_ROWS 512

static inline uint32_t leaf_of(const hl__node *nodes, const float *x)
{
    uint32_t i = 0;
    while (nodes[i].feature != HL__LEAF) {
        const uint32_t feat = nodes[i].feature;
        const float v = x[feat & HL__FEATURE_MASK];
        int left = isnan(v) ? (feat & HL__DEFAULT_LEFT) != 0 : v <= nodes[i].value;
        i = nodes[i].left + (uint32_t)!left;
    }
    return i;
}

void hl__model_raw_scores(const hl_model *m, size_t n_trees, const float *x,
                          double *scores)
{
    memcpy(scores, m->base_score, m->n_outputs * sizeof *scores);
    for (size_t t = 0; t < n_trees; t++) {
        const hl__node *nodes = m->trees[t].nodes;
        scores[t % m->n_outputs] += nodes[leaf_of(nodes, x)].value;
    }
}

typedef struct predict_ctx {
    const hl_model *m;
    const float *x;
    size_t n_rows;
    double *proba;
} predict_ctx;

static void predict_block(void *p, size_t block, int worker)
{
    (void)worker;
    const predict_ctx *c = p;
    const hl_model *m = c->m;
    const size_t nf = m->summary.n_features, n_out = m->n_outputs;
    const size_t K = m->summary.n_classes;
    size_t begin = block * HL__PREDICT_BLOCK;
    size_t end = begin + HL__PREDICT_BLOCK;
    if (end > c->n_rows)
        end = c->n_rows;
    double scores[HL__PREDICT_BLOCK * 64];
    for (size_t i = begin; i < end; i++)
        memcpy(scores + (i - begin) * n_out, m->base_score,
               n_out * sizeof *scores);
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__node *nodes = m->trees[t].nodes;
        const size_t k = t % n_out;
        for (size_t i = begin; i < end; i++)
            scores[(i - begin) * n_out + k] +=
                nodes[leaf_of(nodes, c->x + i * nf)].value;
    }
    for (size_t i = begin; i < end; i++)
        hl__scores_to_proba(scores + (i - begin) * n_out, n_out, K,
                            c->proba + i * K);
}

hl_status hl_model_predict_matrix(const hl_model *m, const float *x,
                                  size_t n_rows, int threads, double *proba,
                                  hl_error *err)
{
    if (!m || (!x && n_rows) || (!proba && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "predict: NULL argument");
    predict_ctx c = {m, x, n_rows, proba};
    size_t blocks = (n_rows + HL__PREDICT_BLOCK - 1) / HL__PREDICT_BLOCK;
    int t = hl__resolve_threads(threads);
    if (n_rows < HL__PREDICT_PARALLEL_ROWS || t == 1) {
        hl__pool_run(NULL, blocks, predict_block, &c);
        return HL_OK;
    }
    if ((size_t)t > blocks)
        t = (int)blocks;
    hl__pool *pool = hl__pool_create(t);
    if (!pool)
        return hl__fail(err, HL_ERR_NOMEM, "cannot start %d threads", t);
    hl__pool_run(pool, blocks, predict_block, &c);
    hl__pool_destroy(pool);
    return HL_OK;
}

int32_t hl_predict_argmax(const double *proba_row, size_t n_classes)
{
    size_t best = 0;
    for (size_t k = 1; k < n_classes; k++)
        if (proba_row[k] > proba_row[best])
            best = k;
    return (int32_t)best;
}

/* Column of the dataset feeding each model feature; -1 never happens on
 * success because a missing feature is an error. */
static hl_status map_features(const hl_model *m, const hl_dataset *ds,
                              size_t *src, hl_warnings *warn, hl_error *err)
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
    hl_status rc = map_features(m, ds, src, warn, err);
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
