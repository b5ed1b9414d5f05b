/* gbdt_explain.c - per-row contributions of the boosted trees: TreeSHAP
 * (trees/shap.h) over the trees, each feeding its output, with the
 * hessian sums the trees were grown with as their cover (as XGBoost's
 * pred_contribs does).
 *
 * The explainer's tables are made once per model, on the first request,
 * and shared by every later one (hl__shap_shared).
 */
#include "gbdt.h"
#include "internal.h"

static const hl__node *tree_nodes(const void *ctx, size_t t, uint32_t *n,
                                  const float **cover)
{
    const hl__tree *tr = &((const hl__gbdt_model *)ctx)->trees[t];
    *n = tr->n_nodes;
    *cover = tr->cover;
    return tr->nodes;
}

static const float *leaf_value(const void *ctx, size_t t, uint32_t node)
{
    return &((const hl__gbdt_model *)ctx)->trees[t].nodes[node].value;
}

static size_t tree_output(const void *ctx, size_t t)
{
    return t % ((const hl__gbdt_model *)ctx)->n_outputs;
}

/* contrib (outputs NULL) or contrib_output. */
static hl_status contributions(const void *state, const hl__model_shape *shape,
                               const float *x, size_t n_rows,
                               const size_t *outputs, double *out,
                               hl_error *err)
{
    const hl__gbdt_model *m = state;
    (void)shape; /* the explainer knows the model's features */
    const hl__shap_source src = {.n_trees = m->n_trees,
                                 .n_features = m->n_features,
                                 .n_outputs = m->n_outputs,
                                 .n_values = 1,
                                 .scale = 1.0,
                                 .ctx = m,
                                 .nodes = tree_nodes,
                                 .leaf = leaf_value,
                                 .output = tree_output};
    const hl__shap *s;
    /* the cache only: the model is otherwise read-only */
    hl_status rc = hl__shap_shared(&((hl__gbdt_model *)m)->explainer, &src,
                                   &s, err);
    if (rc != HL_OK)
        return rc;
    return hl__shap_explain_outputs(s, x, n_rows, outputs, m->base_score, out,
                                    err);
}

hl_status hl__gbdt_contrib(const void *state, const hl__model_shape *shape,
                           const float *x, size_t n_rows, double *out,
                           hl_error *err)
{
    return contributions(state, shape, x, n_rows, NULL, out, err);
}

hl_status hl__gbdt_contrib_output(const void *state,
                                  const hl__model_shape *shape, const float *x,
                                  size_t n_rows, const size_t *outputs,
                                  double *out, hl_error *err)
{
    return contributions(state, shape, x, n_rows, outputs, out, err);
}
