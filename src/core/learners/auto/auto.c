/* auto.c - `--algo auto`: not a learner of its own but the choice of one.
 *
 * Its table holds what the choice needs - the candidates and the time the
 * search may take - so that the CLI, the API and the UI offer it like any
 * learner (GET /api/v1/algorithms). hl_train sees the `choose` operation
 * and runs the search itself (train.c: de-duplicated cross-validation of
 * each candidate, the best macro-F1 kept, the leaderboard in the summary);
 * the model it makes is the winner's, so nothing here fits, predicts or
 * reads a file.
 */
#include "learner.h"

typedef struct hl__auto_params {
    int candidates;     /* index into CANDIDATE_SETS */
    double time_budget; /* seconds for the search */
    int folds;          /* cross-validation folds per candidate */
} hl__auto_params;

_Static_assert(sizeof(hl__auto_params) <= HL_LEARNER_PARAMS_BYTES,
               "hl__auto_params must fit the block of hl_train_params");

/* Cheapest first: when the budget runs out, the candidates already tried
 * are the ones that cost least. */
static const char *const CANDIDATE_SETS[] = {"gbdt+extratrees+forest+stack+mlp",
                                             "gbdt+extratrees+forest+stack",
                                             "gbdt+extratrees+forest", NULL};

#define A hl__auto_params
/* time_budget: 1 s .. a day; folds as cv_folds'. */
static const hl_param_spec AUTO_PARAMS[] = {
    HL__P_CHOICE("candidates", "candidates", A, candidates, 0, CANDIDATE_SETS,
                 0, "the learners tried, each at its defaults, cheapest first"),
    HL__P_REAL("time_budget", "time-budget", A, time_budget, 60.0, 1.0, 86400.0,
               0,
               "seconds the search may take: a candidate that would pass it "
               "is stopped and left out, those not started are skipped"),
    HL__P_INT("auto_folds", "auto-folds", A, folds, 5, 2, 20, 0,
              "de-duplicated cross-validation folds per candidate"),
};
#undef A

static size_t auto_choose(const void *params,
                          char names[][HL__LEARNER_NAME_CAP], size_t cap,
                          double *budget_seconds, int *folds)
{
    const hl__auto_params *p = params;
    *budget_seconds = p->time_budget;
    *folds = p->folds;
    return hl__learner_set_names(CANDIDATE_SETS[p->candidates], names, cap);
}

/* A retry: the cheapest candidates (the last set) in half the time. */
static void auto_safer(void *params)
{
    hl__auto_params *p = params;
    p->candidates = (int)(sizeof CANDIDATE_SETS / sizeof CANDIDATE_SETS[0]) - 2;
    p->time_budget = p->time_budget / 2 > 1.0 ? p->time_budget / 2 : 1.0;
}

const hl__learner hl__auto_learner = {
    .info = {"auto",
             "automatic choice: every candidate learner in de-duplicated "
             "cross-validation within a time budget, the best macro-F1 "
             "kept and trained on all rows; the leaderboard in the summary",
             AUTO_PARAMS, sizeof AUTO_PARAMS / sizeof AUTO_PARAMS[0], 0,
             /* a failed search: the first candidate alone */
             "gbdt"},
    .version = HL__LEARNER_VERSION,
    .safer = auto_safer,
    .choose = auto_choose,
};
