/* gbdt_predict.c - raw scores of the boosted trees.
 *
 * Rows are scored in blocks: every tree is applied to a block of rows before
 * moving to the next tree, so a tree's nodes are loaded once per block
 * instead of once per row, and the rows of a block walk it in lockstep on a
 * branch-free copy of the trees (hl__flat). Each row still sums its trees
 * in model order, so block size, the container's chunks and thread count
 * never change a result: predictions are bit-identical however they are
 * computed and after a save/load. The link (softmax / logistic) is the
 * container's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbdt.h"
#include "internal.h"

#define HL__PREDICT_BLOCK 32

void hl__flat_free(hl__flat *f)
{
    free(f->nodes);
    free(f->leaf_value);
    free(f->tree_offset);
    free(f->tree_depth);
    memset(f, 0, sizeof *f);
}

/* Children always come after their parent (gbdt_io.c checks it), so one
 * forward pass propagates depths. Depths are 32-bit: a tree bounded by
 * max_leaves alone (max_depth 0) may be a chain thousands of nodes deep,
 * and a shorter walk would stop inside it. scratch is zeroed: a node no
 * path reaches (a forged file) gets a depth, not garbage. */
static uint32_t tree_depth(const hl__tree *t, uint32_t *scratch)
{
    uint32_t max = 0;
    memset(scratch, 0, t->n_nodes * sizeof *scratch);
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        if (t->nodes[i].feature == HL__LEAF) {
            if (scratch[i] > max)
                max = scratch[i];
            continue;
        }
        scratch[t->nodes[i].left] = scratch[t->nodes[i].left + 1] =
            scratch[i] + 1;
    }
    return max;
}

hl_status hl__gbdt_prepare(hl__gbdt_model *m)
{
    hl__flat *f = &m->flat;
    hl__flat_free(f);
    size_t total = 0, widest = 1;
    for (size_t t = 0; t < m->n_trees; t++) {
        total += m->trees[t].n_nodes;
        if (m->trees[t].n_nodes > widest)
            widest = m->trees[t].n_nodes;
    }
    uint32_t *scratch = malloc(widest * sizeof *scratch);
    f->nodes = malloc((total + 1) * sizeof *f->nodes);
    f->leaf_value = malloc((total + 1) * sizeof *f->leaf_value);
    f->tree_offset = malloc((m->n_trees + 1) * sizeof *f->tree_offset);
    f->tree_depth = malloc((m->n_trees + 1) * sizeof *f->tree_depth);
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
            const uint32_t nf = (uint32_t)m->n_features;
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
    for (uint32_t d = 0; d < f->tree_depth[t]; d++) {
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

/* Every row starts from the base scores and adds its trees in model
 * order, whatever block it is in: results never depend on n_rows. */
hl_status hl__gbdt_predict_raw(const void *state, const hl__model_shape *shape,
                               const float *x, size_t n_rows, double *raw)
{
    const hl__gbdt_model *m = state;
    const size_t nf = shape->n_features, n_out = m->n_outputs;
    float *rows = malloc(HL__PREDICT_BLOCK * 2 * (nf ? nf : 1) * sizeof *rows);
    if (!rows)
        return HL_ERR_NOMEM;
    for (size_t begin = 0; begin < n_rows; begin += HL__PREDICT_BLOCK) {
        const size_t n = n_rows - begin < HL__PREDICT_BLOCK ? n_rows - begin
                                                            : HL__PREDICT_BLOCK;
        double *scores = raw + begin * n_out;
        expand_rows(x + begin * nf, nf, n, rows);
        for (size_t i = 0; i < n; i++)
            memcpy(scores + i * n_out, m->base_score, n_out * sizeof *scores);
        for (size_t t = 0; t < m->n_trees; t++)
            walk_tree(&m->flat, t, rows, 2 * nf, n, scores, n_out, t % n_out);
    }
    free(rows);
    return HL_OK;
}
