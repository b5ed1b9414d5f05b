/* predict.c - class probabilities from a trained model.
 *
 * Rows are scored in blocks: every tree is applied to a block of rows before
 * moving to the next tree, so a tree's nodes are loaded once per block
 * instead of once per row, and the rows of a block walk it in lockstep on a
 * branch-free copy of the trees (hl__flat). Each row still sums its trees in model order, so
 * block size and thread count never change a result: predictions are
 * bit-identical however they are computed and after a save/load.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbdt.h"
#include "internal.h"

#define HL__PREDICT_BLOCK 32
/* Below this many rows threads cost more than they save. */
#define HL__PREDICT_PARALLEL_ROWS 512

void hl__flat_free(hl__flat *f)
{
    free(f->nodes);
    free(f->leaf_value);
    free(f->tree_offset);
    free(f->tree_depth);
    memset(f, 0, sizeof *f);
}

/* Children always come after their parent (model_io.c checks it), so one
 * forward pass propagates depths. */
static uint8_t tree_depth(const hl__tree *t, uint8_t *scratch)
{
    uint8_t max = 0;
    scratch[0] = 0;
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        if (t->nodes[i].feature == HL__LEAF) {
            if (scratch[i] > max)
                max = scratch[i];
            continue;
        }
        uint8_t c = scratch[i] < 254 ? (uint8_t)(scratch[i] + 1) : 254;
        scratch[t->nodes[i].left] = scratch[t->nodes[i].left + 1] = c;
    }
    return max;
}

hl_status hl__model_prepare(hl_model *m)
{
    hl__flat *f = &m->flat;
    hl__flat_free(f);
    size_t total = 0, widest = 1;
    for (size_t t = 0; t < m->n_trees; t++) {
        total += m->trees[t].n_nodes;
        if (m->trees[t].n_nodes > widest)
            widest = m->trees[t].n_nodes;
    }
    uint8_t *scratch = malloc(widest);
    f->nodes = malloc((total + 1) * sizeof *f->nodes);
    f->leaf_value = malloc((total + 1) * sizeof *f->leaf_value);
    f->tree_offset = malloc((m->n_trees + 1) * sizeof *f->tree_offset);
    f->tree_depth = malloc(m->n_trees + 1);
    if (!scratch || !f->nodes || !f->leaf_value || !f->tree_offset ||
        !f->tree_depth) {
        free(scratch);
        hl__flat_free(f);
        return HL_ERR_NOMEM;
    }
    size_t at = 0;
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__tree *tr = &m->trees[t];
        f->tree_offset[t] = (uint32_t)at;
        f->tree_depth[t] = tree_depth(tr, scratch);
        for (uint32_t i = 0; i < tr->n_nodes; i++, at++) {
            const hl__node *nd = &tr->nodes[i];
            hl__flat_node *o = &f->nodes[at];
            const uint32_t nf = (uint32_t)m->summary.n_features;
            if (nd->feature == HL__LEAF) {
                *o = (hl__flat_node){0, INFINITY, i};
                f->leaf_value[at] = nd->value;
            } else {
                uint32_t feat = nd->feature & HL__FEATURE_MASK;
                uint32_t slot = nd->feature & HL__DEFAULT_LEFT ? feat : feat + nf;
                *o = (hl__flat_node){slot, nd->value, nd->left};
                f->leaf_value[at] = 0.0f;
            }
        }
    }
    free(scratch);
    return HL_OK;
}

typedef struct predict_ctx {
    const hl_model *m;
    const float *x;
    size_t n_rows;
    double *proba;
    float **scratch; /* per worker: HL__PREDICT_BLOCK expanded rows */
} predict_ctx;

/* Walks one tree for the n rows of a block, all rows a step at a time:
 * the steps of different rows are independent, so the CPU overlaps their
 * loads instead of waiting on one row's chain of nodes. */
static void walk_tree(const hl__flat *f, size_t t, const float *rows,
                      size_t stride, size_t n, double *scores, size_t n_out,
                      size_t k)
{
    const hl__flat_node *nodes = f->nodes + f->tree_offset[t];
    const float *leaf = f->leaf_value + f->tree_offset[t];
    uint32_t at[HL__PREDICT_BLOCK] = {0};
    for (uint8_t d = 0; d < f->tree_depth[t]; d++) {
        for (size_t r = 0; r < n; r++) {
            const hl__flat_node *nd = &nodes[at[r]];
            const float v = rows[r * stride + nd->slot];
            at[r] = nd->left + (uint32_t)!(v <= nd->threshold);
        }
    }
    for (size_t r = 0; r < n; r++)
        scores[r * n_out + k] += leaf[at[r]];
}

/* Expands n rows into [value | NaN as -inf] [value | NaN as +inf]. */
static void expand_rows(const float *x, size_t nf, size_t n, float *out)
{
    for (size_t r = 0; r < n; r++) {
        const float *src = x + r * nf;
        float *lo = out + r * 2 * nf, *hi = lo + nf;
        for (size_t j = 0; j < nf; j++) {
            const float v = src[j];
            lo[j] = isnan(v) ? -INFINITY : v;
            hi[j] = isnan(v) ? INFINITY : v;
        }
    }
}

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
    const size_t n = end - begin;
    float *rows = c->scratch[worker];
    expand_rows(c->x + begin * nf, nf, n, rows);
    double scores[HL__PREDICT_BLOCK * 64];
    for (size_t i = 0; i < n; i++)
        memcpy(scores + i * n_out, m->base_score, n_out * sizeof *scores);
    for (size_t t = 0; t < m->n_trees; t++)
        walk_tree(&m->flat, t, rows, 2 * nf, n, scores, n_out, t % n_out);
    for (size_t i = 0; i < n; i++)
        hl__scores_to_proba(scores + i * n_out, n_out, K,
                            c->proba + (begin + i) * K);
}

static float **alloc_scratch(int workers, size_t nf)
{
    float **s = calloc((size_t)workers, sizeof *s);
    for (int w = 0; s && w < workers; w++)
        if (!(s[w] = malloc(HL__PREDICT_BLOCK * 2 * nf * sizeof(float)))) {
            for (int i = 0; i < w; i++)
                free(s[i]);
            free(s);
            return NULL;
        }
    return s;
}

hl_status hl_model_predict_matrix(const hl_model *m, const float *x,
                                  size_t n_rows, int threads, double *proba,
                                  hl_error *err)
{
    if (!m || (!x && n_rows) || (!proba && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "predict: NULL argument");
    size_t blocks = (n_rows + HL__PREDICT_BLOCK - 1) / HL__PREDICT_BLOCK;
    int t = hl__resolve_threads(threads);
    if (n_rows < HL__PREDICT_PARALLEL_ROWS)
        t = 1;
    if ((size_t)t > blocks)
        t = blocks ? (int)blocks : 1;
    predict_ctx c = {m, x, n_rows, proba,
                     alloc_scratch(t, m->summary.n_features)};
    hl__pool *pool = t > 1 ? hl__pool_create(t) : NULL;
    if (!c.scratch || (t > 1 && !pool)) {
        hl__pool_destroy(pool);
        for (int w = 0; c.scratch && w < t; w++)
            free(c.scratch[w]);
        free(c.scratch);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory for prediction");
    }
    hl__pool_run(pool, blocks, predict_block, &c);
    hl__pool_destroy(pool);
    for (int w = 0; w < t; w++)
        free(c.scratch[w]);
    free(c.scratch);
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
