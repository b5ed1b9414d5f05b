/* forest_predict.c - class probabilities of a forest: the mean of its
 * trees' leaf probabilities.
 *
 * Rows are scored in blocks that walk each tree side by side on the shared
 * branch-free layout (trees/flat.c), as the GBDT does. Each row sums its
 * trees' leaf vectors in model order in double and divides once by the
 * tree count, so block size, chunking and thread count never change a
 * result: predictions are bit-identical however they are computed and
 * after a save/load.
 */
#include <stdlib.h>
#include <string.h>

#include "forest.h"

static const hl__node *tree_nodes(const void *ctx, size_t t, uint32_t *n)
{
    const hl__ftree *tr = &((const hl__forest_model *)ctx)->trees[t];
    *n = tr->n_nodes;
    return tr->nodes;
}

hl_status hl__forest_prepare(hl__forest_model *m)
{
    hl__flat_free(&m->flat);
    return hl__flat_build(&m->flat, m->n_trees, m->n_features, tree_nodes, m);
}

/* Adds tree t's leaf probabilities to the sums of the n rows of a block. */
static void add_tree(const hl__forest_model *m, size_t t, const float *rows,
                     size_t stride, size_t n, double *sums)
{
    const size_t K = m->n_classes;
    const hl__ftree *tr = &m->trees[t];
    uint32_t at[HL__FLAT_BLOCK];
    hl__flat_walk(&m->flat, t, rows, stride, n, at);
    for (size_t r = 0; r < n; r++) {
        const float *p = tr->proba + (size_t)tr->nodes[at[r]].left * K;
        double *s = sums + r * K;
        for (size_t k = 0; k < K; k++)
            s[k] += p[k];
    }
}

hl_status hl__forest_predict_raw(const void *state,
                                 const hl__model_shape *shape, const float *x,
                                 size_t n_rows, double *raw)
{
    const hl__forest_model *m = state;
    const size_t nf = shape->n_features, K = m->n_classes;
    float *rows = malloc(HL__FLAT_BLOCK * 2 * (nf ? nf : 1) * sizeof *rows);
    if (!rows)
        return HL_ERR_NOMEM;
    const double n_trees = (double)m->n_trees;
    for (size_t begin = 0; begin < n_rows; begin += HL__FLAT_BLOCK) {
        const size_t n =
            n_rows - begin < HL__FLAT_BLOCK ? n_rows - begin : HL__FLAT_BLOCK;
        double *sums = raw + begin * K;
        hl__flat_expand_rows(x + begin * nf, nf, n, rows);
        memset(sums, 0, n * K * sizeof *sums);
        for (size_t t = 0; t < m->n_trees; t++)
            add_tree(m, t, rows, 2 * nf, n, sums);
        for (size_t i = 0; i < n * K; i++)
            sums[i] /= n_trees;
    }
    free(rows);
    return HL_OK;
}
