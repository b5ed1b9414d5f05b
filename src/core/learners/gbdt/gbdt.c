/* gbdt.c - the gradient-boosted tree learner behind the learner interface:
 * its parameter table, its rules and its operations.
 *
 * The learning itself is in boost.c (rounds), tree_grow.c (one tree) and
 * binning.c (the byte matrix); prediction in gbdt_predict.c; its model
 * file sections in gbdt_io.c. This file is what the rest of the engine
 * sees of them: the hl__gbdt_learner entry of learners/registry.c.
 */
#include <stdlib.h>
#include <string.h>

#include "gbdt.h"
#include "internal.h"

_Static_assert(sizeof(hl__gbdt_params) <= HL_LEARNER_PARAMS_BYTES,
               "hl__gbdt_params must fit the block of hl_train_params");

#define G hl__gbdt_params
/* Defaults chosen by de-duplicated 5-fold CV on the reference data (see
 * docs/benchmarks.md): column and row subsampling with a smaller step were
 * worth about +0.015 macro-F1 over plain boosting, and relying on fewer
 * KPIs per tree also makes the model less brittle when one KPI drifts.
 * Ranges, and why:
 * - rounds 1..100000: at a few milliseconds a round the cap is hours of
 *   training; more is a typo, not a plan.
 * - learning_rate [0.0001, 1]: below, 100000 rounds cannot learn much;
 *   above 1 a step overshoots the Newton step it scales.
 * - max_depth 0 (unlimited) .. 64: 2^64 leaves is far beyond any dataset
 *   (50 million rows at most), so a larger cap means nothing.
 * - max_leaves 0 (off) or 2..65536: one leaf is not a tree.
 * - min_child_weight, lambda, min_split_gain [0, 10000]: hessian sums and
 *   gains of class-weighted rows; past 10000 no split of realistic data
 *   survives, so a larger value is a mistake.
 * - subsample, colsample [0.01, 1]: under 1 % a tree sees too little.
 * - max_bins 2..255: a bin is one byte and bin 0 is for missing values. */
static const hl_param_spec GBDT_PARAMS[] = {
    HL__P_INT("rounds", "rounds", G, rounds, 1000, 1, 100000, 0,
              "boosting rounds (the maximum with early stopping)"),
    HL__P_REAL("learning_rate", "lr", G, learning_rate, 0.05, 0.0001, 1.0, 0,
               "shrinkage of each tree's contribution"),
    HL__P_INT("max_depth", "max-depth", G, max_depth, 6, 0, 64, 0,
              "maximum tree depth (0 = unlimited, then max_leaves bounds "
              "the trees)"),
    HL__P_INT("max_leaves", "max-leaves", G, max_leaves, 0, 2, 65536,
              HL_PARAM_ZERO_OFF, "maximum leaves per tree (0 = unlimited)"),
    HL__P_REAL("min_child_weight", "min-child-weight", G, min_child_weight, 1.0,
               0.0, 10000.0, 0, "minimum hessian sum in a leaf"),
    HL__P_REAL("lambda", "lambda", G, lambda_l2, 1.0, 0.0, 10000.0, 0,
               "L2 regularisation of leaf values"),
    HL__P_REAL("min_split_gain", "min-split-gain", G, min_split_gain, 0.0, 0.0,
               10000.0, 0, "minimum loss reduction of a split"),
    HL__P_REAL("subsample", "subsample", G, subsample, 0.8, 0.01, 1.0, 0,
               "fraction of the rows each round sees"),
    HL__P_REAL("colsample", "colsample", G, colsample, 0.5, 0.01, 1.0, 0,
               "fraction of the features each tree sees"),
    HL__P_INT("max_bins", "max-bins", G, max_bins, 255, 2, 255, 0,
              "histogram bins per feature"),
};
#undef G

static hl_status gbdt_check(const void *params, hl_error *err)
{
    const hl__gbdt_params *p = params;
    if (p->max_depth == 0 && p->max_leaves == 0)
        return hl__fail_field(err, HL_ERR_INVALID, "max_depth",
                              "invalid parameter max_depth: 0 (unlimited) "
                              "needs max_leaves to bound the trees");
    return HL_OK;
}

/* Fewer bins and shallower trees: less memory per histogram and per
 * tree; a smaller step is less likely to diverge. */
static void gbdt_safer(void *params)
{
    hl__gbdt_params *p = params;
    if (p->max_bins > 63)
        p->max_bins = 63;
    if (p->max_depth == 0 || p->max_depth > 6)
        p->max_depth = 6;
    p->max_leaves = 0;
    if (p->learning_rate > 0.1)
        p->learning_rate = 0.1;
}

static size_t gbdt_iteration_cap(const void *params)
{
    return (size_t)((const hl__gbdt_params *)params)->rounds;
}

void hl__gbdt_model_free(void *state)
{
    hl__gbdt_model *m = state;
    if (!m)
        return;
    for (size_t t = 0; t < m->n_trees; t++)
        hl__tree_free(&m->trees[t]);
    free(m->trees);
    free(m->base_score);
    hl__bins_free(&m->bins);
    hl__flat_free(&m->flat);
    hl__shap_free(atomic_load(&m->explainer));
    free(m);
}

static hl_status gbdt_fit(const hl__fit_job *job, hl__fit_result *res,
                          hl_error *err)
{
    hl__gbdt_model *m = calloc(1, sizeof *m);
    if (!m)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    hl_status rc = hl__boost(job, job->params, m, res, err);
    if (rc == HL_OK && hl__gbdt_prepare(m) != HL_OK) {
        free(res->train_loss);
        free(res->valid_loss);
        memset(res, 0, sizeof *res);
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    if (rc != HL_OK) {
        hl__gbdt_model_free(m);
        return rc;
    }
    res->fitted = (hl__fitted){.state = m,
                               .n_outputs = m->n_outputs,
                               .link = hl__gbdt_link(m->n_outputs),
                               .calibrated = 1,
                               .n_trees = m->n_trees};
    return HL_OK;
}

static void gbdt_importance(const void *state, size_t n_features, double *gain,
                            uint32_t *splits)
{
    const hl__gbdt_model *m = state;
    (void)n_features; /* trees only name features of the model */
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__tree *tr = &m->trees[t];
        for (uint32_t i = 0; i < tr->n_nodes; i++) {
            if (tr->nodes[i].feature == HL__LEAF)
                continue;
            uint32_t f = tr->nodes[i].feature & HL__FEATURE_MASK;
            gain[f] += tr->gain[i];
            splits[f]++;
        }
    }
}

const hl__learner hl__gbdt_learner = {
    .info = {"gbdt",
             "gradient-boosted decision trees on quantile-binned KPIs "
             "(softmax, or logistic for two classes)",
             GBDT_PARAMS, sizeof GBDT_PARAMS / sizeof GBDT_PARAMS[0], 1,
             /* bagging: no learning rate to blow up, no rounds to stop */
             "forest"},
    .version = HL__LEARNER_VERSION,
    .check = gbdt_check,
    .safer = gbdt_safer,
    .iteration_cap = gbdt_iteration_cap,
    .fit = gbdt_fit,
    .predict_raw = hl__gbdt_predict_raw,
    .importance = gbdt_importance,
    .write = hl__gbdt_write,
    .read_section = hl__gbdt_read_section,
    .read_finish = hl__gbdt_read_finish,
    .free = hl__gbdt_model_free,
    .contrib = hl__gbdt_contrib,
    .contrib_output = hl__gbdt_contrib_output,
};
