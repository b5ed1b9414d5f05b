/* stack.c - the stacked ensemble behind the learner interface: its
 * parameter table, prediction (the members, then the combiner) and
 * importance.
 *
 * Why a stack: one learner is a single point of failure, and on data
 * whose KPI distributions move between training and deployment, learners
 * that err differently err less together (docs/benchmarks.md, "Robustness
 * to drift"). The fitting is in stack_fit.c and stack_meta.c,
 * explanations in stack_explain.c, the model file sections in
 * stack_io.c, the model's lifetime and combiner in stack_model.c.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

_Static_assert(sizeof(hl__stack_params) <= HL_LEARNER_PARAMS_BYTES,
               "hl__stack_params must fit the block of hl_train_params");

static const char *const COMBINERS[] = {"logistic", "vote", NULL};

#define S hl__stack_params
/* Ranges: folds as cv_folds' (2..20); meta_l2 up to 1e6 rows' worth,
 * beyond which the meta-learner is the starting vote anyway. */
static const hl_param_spec STACK_PARAMS[] = {
    HL__P_CHOICE("members", "members", S, members, 0, hl__stack_member_sets, 0,
                 "the learners stacked, each at its defaults"),
    HL__P_CHOICE("combiner", "combiner", S, combiner, HL__COMBINE_LOGISTIC,
                 COMBINERS, 0,
                 "logistic: a multinomial logistic regression on the "
                 "members' out-of-fold log-probabilities; vote: their "
                 "average"),
    HL__P_INT("stack_folds", "stack-folds", S, folds, 5, 2, 20, 0,
              "folds of the out-of-fold predictions the meta-learner learns "
              "from"),
    HL__P_REAL("meta_l2", "meta-l2", S, meta_l2, 1.0, 0.0, 1e6, 0,
               "pull of the meta-learner's weights towards the members' equal "
               "vote (an L2 penalty), in training rows' worth"),
    /* 50: on the reference data the stack's out-of-fold macro-F1 is 0.8495
     * with 50, 0.8501 with 60 and 0.8515 with 100 member trees (within
     * the folds' spread), and 2,000 rows are predicted in about 20 ms
     * instead of about 50 (issue 9's target: under 50). */
    HL__P_INT("member_trees", "member-trees", S, member_trees, 50, 1, 10000, 0,
              "trees of each member that grows a forest (its own default is "
              "for a forest alone: in a stack, fewer trees predict faster "
              "and lose next to nothing)"),
};
#undef S

/* Each member's raw outputs through its link, then the combiner. A row's
 * result depends only on the row, as every member promises. */
static hl_status stack_predict_raw(const void *state,
                                   const hl__model_shape *shape, const float *x,
                                   size_t n_rows, double *raw)
{
    const hl__stack_model *m = state;
    const size_t K = m->n_classes, M = m->n_members;
    size_t most = K;
    for (size_t i = 0; i < M; i++)
        if (m->member[i].fitted.n_outputs > most)
            most = m->member[i].fitted.n_outputs;
    double *p = malloc((M * n_rows * K + 1) * sizeof *p);
    double *mraw = malloc((n_rows * most + 1) * sizeof *mraw);
    hl_status rc = p && mraw ? HL_OK : HL_ERR_NOMEM;
    for (size_t i = 0; rc == HL_OK && i < M; i++) {
        const hl__stack_member *mb = &m->member[i];
        rc = mb->learner->predict_raw(mb->fitted.state, shape, x, n_rows, mraw);
        for (size_t r = 0; rc == HL_OK && r < n_rows; r++)
            hl__link_apply(mb->fitted.link, mraw + r * mb->fitted.n_outputs, K,
                           p + (i * n_rows + r) * K);
    }
    if (rc == HL_OK)
        hl__stack_combine(m, p, n_rows, raw);
    free(p);
    free(mraw);
    return rc;
}

/* The members' importances, each normalised to a total of 1 and weighed
 * by the member's share: gains of different learners are in different
 * units (a GBDT's loss reduction, a forest's Gini decrease), so only
 * shares can be added. Split counts add up. */
static void stack_importance(const void *state, size_t n_features, double *gain,
                             uint32_t *splits)
{
    const hl__stack_model *m = state;
    double *g = calloc(n_features + 1, sizeof *g);
    if (!g)
        return;
    for (size_t i = 0; i < m->n_members; i++) {
        const hl__stack_member *mb = &m->member[i];
        memset(g, 0, n_features * sizeof *g);
        mb->learner->importance(mb->fitted.state, n_features, g, splits);
        double total = 0.0;
        for (size_t f = 0; f < n_features; f++)
            total += g[f];
        for (size_t f = 0; total > 0 && f < n_features; f++)
            gain[f] += m->report[i].weight * g[f] / total;
    }
    free(g);
}

/* A retry: fewer folds, fewer fits (the members get their own safer
 * parameters from their own retries, not from here). */
static void stack_safer(void *params)
{
    hl__stack_params *p = params;
    if (p->folds > 3)
        p->folds = 3;
}

const hl__learner hl__stack_learner = {
    .info = {"stack",
             "stacked ensemble: the members' out-of-fold class "
             "probabilities feed a multinomial logistic regression (or a "
             "soft vote); one model file holds every member",
             STACK_PARAMS, sizeof STACK_PARAMS / sizeof STACK_PARAMS[0], 0,
             /* one plain GBDT: a fraction of the members' time and memory,
              * no meta-learner, no nested folds */
             "gbdt"},
    .version = HL__LEARNER_VERSION,
    .check = NULL,
    .safer = stack_safer,
    .iteration_cap = NULL,
    .fit = hl__stack_fit,
    .predict_raw = stack_predict_raw,
    .importance = stack_importance,
    .write = hl__stack_write,
    .read_section = hl__stack_read_section,
    .read_finish = hl__stack_read_finish,
    .free = hl__stack_model_free,
    .choose = NULL,
    .contrib = hl__stack_contrib,
};
