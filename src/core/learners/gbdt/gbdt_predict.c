/* gbdt_predict.c - raw scores of the boosted trees.
 *
 * Rows are scored in blocks: every tree is applied to a block of rows before
 * moving to the next tree, so a tree's nodes are loaded once per block
 * instead of once per row, and the rows of a block walk it in lockstep on a
 * branch-free copy of the trees (hl__flat, trees/flat.c). Each row still
 * sums its trees in model order, so block size, the container's chunks and
 * thread count never change a result: predictions are bit-identical however
 * they are computed and after a save/load. The link (softmax / logistic) is the
 * container's.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbdt.h"
#include "internal.h"

static const hl__node *tree_nodes(const void *ctx, size_t t, uint32_t *n)
{
    const hl__tree *tr = &((const hl__gbdt_model *)ctx)->trees[t];
    *n = tr->n_nodes;
    return tr->nodes;
}

hl_status hl__gbdt_prepare(hl__gbdt_model *m)
{
    hl__flat_free(&m->flat);
    return hl__flat_build(&m->flat, m->n_trees, m->n_features, tree_nodes, m);
}

/* Adds tree t's leaf values to the scores of the n rows of a block. */
static void add_tree(const hl__gbdt_model *m, size_t t, const float *rows,
                     size_t stride, size_t n, double *scores, size_t n_out,
                     size_t k)
{
    uint32_t at[HL__FLAT_BLOCK];
    const hl__node *nodes = m->trees[t].nodes;
    hl__flat_walk(&m->flat, t, rows, stride, n, at);
    for (size_t r = 0; r < n; r++)
        scores[r * n_out + k] += nodes[at[r]].value;
}

/* Every row starts from the base scores and adds its trees in model
 * order, whatever block it is in: results never depend on n_rows. */
hl_status hl__gbdt_predict_raw(const void *state, const hl__model_shape *shape,
                               const float *x, size_t n_rows, double *raw)
{
    const hl__gbdt_model *m = state;
    const size_t nf = shape->n_features, n_out = m->n_outputs;
    float *rows = malloc(HL__FLAT_BLOCK * 2 * (nf ? nf : 1) * sizeof *rows);
    if (!rows)
        return HL_ERR_NOMEM;
    for (size_t begin = 0; begin < n_rows; begin += HL__FLAT_BLOCK) {
        const size_t n =
            n_rows - begin < HL__FLAT_BLOCK ? n_rows - begin : HL__FLAT_BLOCK;
        double *scores = raw + begin * n_out;
        hl__flat_expand_rows(x + begin * nf, nf, n, rows);
        for (size_t i = 0; i < n; i++)
            memcpy(scores + i * n_out, m->base_score, n_out * sizeof *scores);
        for (size_t t = 0; t < m->n_trees; t++)
            add_tree(m, t, rows, 2 * nf, n, scores, n_out, t % n_out);
    }
    free(rows);
    return HL_OK;
}
