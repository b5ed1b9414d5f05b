/* forest.c - the random forest and extra-trees learners behind the
 * learner interface: their parameter tables, rules and operations.
 *
 * One implementation, two registry entries (learners/registry.c): they
 * share the parameter struct and every operation but `fit`, which tells
 * the grower how to cut, and they differ in their defaults (a forest
 * bootstraps, extra-trees by default do not). The learning is in
 * forest_fit.c and forest_grow.c, prediction in forest_predict.c,
 * explanations in forest_explain.c, the model file sections in forest_io.c, the model's lifetime in
 * forest_model.c.
 */
#include <stdlib.h>
#include <string.h>

#include "forest.h"

_Static_assert(sizeof(hl__forest_params) <= HL_LEARNER_PARAMS_BYTES,
               "hl__forest_params must fit the block of hl_train_params");

static const char *const MAX_FEATURES[] = {"sqrt", "log2", "all", NULL};

#define F hl__forest_params
/* The forest's defaults are Breiman's and scikit-learn's, with 300 trees
 * rather than 100 (the default: more trees only average out more
 * noise, at a few milliseconds a tree). Ranges, and why:
 * - trees 1..10000: each unlimited tree of the reference data is about
 *   100 KB, so 10000 is a gigabyte of model; more is a typo.
 * - feature_fraction [0.01, 1]: under 1 % of 107 KPIs is one KPI anyway.
 * - max_depth 0 (unlimited) .. 1000: a tree deeper than 1000 levels is a
 *   chain; a cap beyond that changes nothing.
 * - min_samples_leaf 1..100000: a leaf larger than 100000 rows makes a
 *   tree a handful of leaves on the largest data (50 million rows).
 * - max_bins 2..255: a bin is one byte and bin 0 is for missing values. */
#define COMMON_HEAD(max_features_default)                                      \
    HL__P_INT("trees", "trees", F, trees, 300, 1, 10000, 0,                    \
              "trees in the forest (their probabilities are averaged)"),       \
        HL__P_CHOICE("max_features", "max-features", F, max_features,          \
                     max_features_default, MAX_FEATURES, 0,                    \
                     "KPIs drawn as split candidates at each node: sqrt or "   \
                     "log2 of the KPI count, or all"),                         \
        HL__P_REAL("feature_fraction", "feature-fraction", F,                  \
                   feature_fraction, 0.0, 0.01, 1.0, HL_PARAM_ZERO_OFF,        \
                   "fraction of the KPIs drawn per split, instead of "         \
                   "max_features (0 = off: max_features decides)"),            \
        HL__P_INT("max_depth", "max-depth", F, max_depth, 0, 0, 1000, 0,       \
                  "maximum tree depth (0 = unlimited: grow until leaves are "  \
                  "pure)"),                                                    \
        HL__P_INT("min_samples_leaf", "min-samples-leaf", F, min_samples_leaf, \
                  1, 1, 100000, 0, "minimum training rows in a leaf")
#define COMMON_TAIL                                                            \
    HL__P_INT("max_bins", "max-bins", F, max_bins, 255, 2, 255, 0,             \
              "quantile bins per KPI (candidate cuts)")

static const hl_param_spec FOREST_PARAMS[] = {
    COMMON_HEAD(HL__MAXF_SQRT),
    HL__P_BOOL("bootstrap", "no-bootstrap", F, bootstrap, 1, 0,
               "train each tree on a bootstrap sample of the rows (gives the "
               "out-of-bag estimate)"),
    COMMON_TAIL,
};

/* Extra-trees draw every KPI by default: one random cut per candidate
 * only finds the few KPIs with class signal (about 26 of the reference
 * data's 107) when it looks at all of them. De-duplicated 3-fold CV on the
 * reference data, 100 trees: macro-F1 0.50 with sqrt, 0.83 with half the
 * KPIs, 0.84 with all (the forest: 0.81 with sqrt). */
static const hl_param_spec EXTRATREES_PARAMS[] = {
    COMMON_HEAD(HL__MAXF_ALL),
    HL__P_BOOL("bootstrap", "bootstrap", F, bootstrap, 0, 0,
               "train each tree on a bootstrap sample of the rows (gives the "
               "out-of-bag estimate)"),
    COMMON_TAIL,
};
#undef COMMON_HEAD
#undef COMMON_TAIL
#undef F

/* Fewer trees and bins: less memory and time for a retry. */
static void forest_safer(void *params)
{
    hl__forest_params *p = params;
    if (p->trees > 100)
        p->trees = 100;
    if (p->max_bins > 63)
        p->max_bins = 63;
}

static hl_status forest_fit(const hl__fit_job *job, hl__fit_result *res,
                            hl_error *err)
{
    return hl__forest_fit(job, 0, res, err);
}

static hl_status extratrees_fit(const hl__fit_job *job, hl__fit_result *res,
                                hl_error *err)
{
    return hl__forest_fit(job, 1, res, err);
}

/* Weighted Gini decrease and split count per KPI, over every tree. */
static void forest_importance(const void *state, size_t n_features,
                              double *gain, uint32_t *splits)
{
    const hl__forest_model *m = state;
    (void)n_features; /* trees only name features of the model */
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__ftree *tr = &m->trees[t];
        for (uint32_t i = 0; i < tr->n_nodes; i++) {
            if (tr->nodes[i].feature == HL__LEAF)
                continue;
            uint32_t f = tr->nodes[i].feature & HL__FEATURE_MASK;
            gain[f] += tr->gain[i];
            splits[f]++;
        }
    }
}

#define FOREST_OPS                                                             \
    .version = HL__LEARNER_VERSION, .check = NULL, .safer = forest_safer,      \
    .iteration_cap = NULL, .predict_raw = hl__forest_predict_raw,              \
    .importance = forest_importance, .write = hl__forest_write,                \
    .read_section = hl__forest_read_section,                                   \
    .read_finish = hl__forest_read_finish, .free = hl__forest_model_free,     \
    .contrib = hl__forest_contrib

const hl__learner hl__forest_learner = {
    .info = {"forest",
             "random forest: each tree on a bootstrap sample, the best Gini "
             "cut among sqrt(KPIs) random KPIs per split, unpruned trees "
             "averaged, with an out-of-bag estimate",
             FOREST_PARAMS, sizeof FOREST_PARAMS / sizeof FOREST_PARAMS[0], 0,
             /* boosting: other errors than bagging's, no bootstrap */
             "gbdt"},
    .fit = forest_fit,
    FOREST_OPS,
};

const hl__learner hl__extratrees_learner = {
    .info = {"extratrees",
             "extremely randomised trees: one random cut (in quantile-bin "
             "space) per candidate KPI, every KPI by default, the best by "
             "Gini; unpruned trees on all rows averaged",
             EXTRATREES_PARAMS,
             sizeof EXTRATREES_PARAMS / sizeof EXTRATREES_PARAMS[0], 0, "gbdt"},
    .fit = extratrees_fit,
    FOREST_OPS,
};
