/* gbdt_explain.c - per-row contributions of the boosted trees: TreeSHAP
 * (trees/shap.h) over the trees, each feeding its output, with the
 * hessian sums the trees were grown with as their cover (as XGBoost's
 * pred_contribs does).
 *
 * The explainer's tables are made once per model, on the first request,
 * and shared by every later one: concurrent first requests may each make
 * one, the first stored wins and the others are freed.
 */
#include <stdlib.h>
#include <string.h>

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

static hl_status explainer_of(const hl__gbdt_model *m, const hl__shap **out,
                              hl_error *err)
{
    hl__gbdt_model *shared = (hl__gbdt_model *)m; /* the cache only */
    hl__shap *s = atomic_load(&shared->explainer);
    if (!s) {
        hl__shap_source src = {m->n_trees, m->n_features, m->n_outputs,
                               1,          1.0,           m,
                               tree_nodes, leaf_value,    tree_output};
        hl_status rc = hl__shap_build(&src, &s, err);
        if (rc != HL_OK)
            return rc;
        hl__shap *none = NULL;
        if (!atomic_compare_exchange_strong(&shared->explainer, &none, s)) {
            hl__shap_free(s);
            s = none;
        }
    }
    *out = s;
    return HL_OK;
}

/* contrib (outputs NULL) or contrib_output. */
static hl_status contributions(const void *state, const hl__model_shape *shape,
                               const float *x, size_t n_rows,
                               const size_t *outputs, double *out,
                               hl_error *err)
{
    const hl__gbdt_model *m = state;
    const size_t nf = shape->n_features, n_out = m->n_outputs;
    const hl__shap *s;
    hl_status rc = explainer_of(m, &s, err);
    if (rc != HL_OK)
        return rc;
    void *scratch = malloc(hl__shap_scratch_bytes(s));
    if (!scratch)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    for (size_t r = 0; r < n_rows; r++) {
        double *phi = out + r * n_out * (nf + 1);
        memset(phi, 0, n_out * (nf + 1) * sizeof *phi);
        for (size_t k = 0; k < n_out; k++)
            if (!outputs || outputs[r] == k)
                phi[k * (nf + 1) + nf] = m->base_score[k];
    }
    if (outputs)
        hl__shap_rows_output(s, x, n_rows, outputs, out, scratch);
    else
        hl__shap_rows(s, x, n_rows, out, scratch);
    free(scratch);
    return HL_OK;
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
