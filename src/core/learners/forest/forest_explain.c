/* forest_explain.c - per-row contributions of a forest's (or the
 * extra-trees') class probabilities: TreeSHAP (trees/shap.h) over the
 * trees, a leaf's value its class distribution divided by the tree count,
 * with the training weight that reached each node (class weight times
 * bootstrap copies, kept by the grower) as its cover. The forest's score
 * is its averaged probability, so a class's contributions and expected
 * value add up to the probability the forest gives it.
 *
 * The explainer's tables are made once per model, on the first request,
 * and shared by every later one (hl__shap_shared). A model read from a
 * file written before forests kept their covers cannot be explained: the
 * covers are the training data's, which the file no longer has.
 */
#include "forest.h"

static const hl__node *tree_nodes(const void *ctx, size_t t, uint32_t *n,
                                  const float **cover)
{
    const hl__ftree *tr = &((const hl__forest_model *)ctx)->trees[t];
    *n = tr->n_nodes;
    *cover = tr->cover;
    return tr->nodes;
}

static const float *leaf_proba(const void *ctx, size_t t, uint32_t node)
{
    const hl__forest_model *m = ctx;
    const hl__ftree *tr = &m->trees[t];
    return tr->proba + (size_t)tr->nodes[node].left * m->n_classes;
}

static size_t first_output(const void *ctx, size_t t)
{
    (void)ctx;
    (void)t;
    return 0; /* every tree feeds every class */
}

hl_status hl__forest_contrib(const void *state, const hl__model_shape *shape,
                             const float *x, size_t n_rows, double *out,
                             hl_error *err)
{
    const hl__forest_model *m = state;
    (void)shape; /* the explainer knows the model's features */
    for (size_t t = 0; t < m->n_trees; t++)
        if (!m->trees[t].cover)
            return hl__fail(err, HL_ERR_INVALID,
                            "this forest model was saved before forests "
                            "kept the training weight of their tree nodes, "
                            "which explanations need: retrain the model to "
                            "explain it (it still predicts)");
    const hl__shap_source src = {.n_trees = m->n_trees,
                                 .n_features = m->n_features,
                                 .n_outputs = m->n_classes,
                                 .n_values = m->n_classes,
                                 .scale = 1.0 / (double)m->n_trees,
                                 .ctx = m,
                                 .nodes = tree_nodes,
                                 .leaf = leaf_proba,
                                 .output = first_output};
    const hl__shap *s;
    /* the cache only: the model is otherwise read-only */
    hl_status rc =
        hl__shap_shared(&((hl__forest_model *)m)->explainer, &src, &s, err);
    if (rc != HL_OK)
        return rc;
    return hl__shap_explain(s, x, n_rows, NULL, out, err);
}
