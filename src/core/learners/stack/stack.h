/* stack.h - internal data structures of the stacked ensemble.
 *
 * A stack is several learners (its members, each at its defaults with the
 * training's shared options) whose class probabilities a combiner turns
 * into one: a multinomial logistic regression fitted on the members'
 * out-of-fold probabilities (stacking), or their plain average (a soft
 * vote). The members are other learners of the registry, reached through
 * the `find` the caller hands in (hl__fit_job, hl__io_ctx), so this
 * folder knows no learner by name and the registry that lists the stack
 * does not become its dependency.
 */
#ifndef HEALER_STACK_H
#define HEALER_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "learner.h"

#define HL__STACK_MAX_MEMBERS 4

enum { HL__COMBINE_LOGISTIC = 0, HL__COMBINE_VOTE = 1 };

/* The parameter block of hl_train_params for algo "stack". */
typedef struct hl__stack_params {
    int members;      /* index into hl__stack_member_sets */
    int combiner;     /* HL__COMBINE_* */
    int folds;        /* out-of-fold predictions for the meta-learner */
    double meta_l2;   /* the meta-learner's L2 penalty, in rows' worth */
    int member_trees; /* `trees` of every member that has that parameter */
} hl__stack_params;

/* The member sets the `members` choice offers, "gbdt+forest+extratrees"
 * style, NULL-terminated (stack.c). */
extern const char *const hl__stack_member_sets[];

/* The learner names of set `set` into names[] (at most
 * HL__STACK_MAX_MEMBERS, each < 16 bytes); their count. */
size_t hl__stack_member_names(int set, char names[][HL__LEARNER_NAME_CAP]);

typedef struct hl__stack_member {
    const hl__learner *learner;
    hl__fitted fitted; /* owned; freed by learner->free */
} hl__stack_member;

/* A fitted stack: the state behind hl__fitted.state. */
typedef struct hl__stack_model {
    size_t n_features, n_classes;
    int combiner;
    size_t n_members;
    hl__stack_member member[HL__STACK_MAX_MEMBERS];
    hl_model_member report[HL__STACK_MAX_MEMBERS]; /* for the summary */
    /* Logistic: n_classes rows of (n_members * n_classes inputs + bias);
     * the inputs are the members' log-probabilities, member by member. */
    double *weights;
    /* The out-of-fold estimate of the whole stack (the meta-learner
     * scored on the out-of-fold rows it was fitted on). */
    uint64_t oof_rows;
    double oof_macro_f1, oof_accuracy;
    unsigned sections_read;  /* while loading: bit per section */
    size_t members_expected; /* while loading: the STACK header's count */
} hl__stack_model;

/* Weights per class row: inputs plus the bias. */
static inline size_t hl__stack_row_width(const hl__stack_model *m)
{
    return m->n_members * m->n_classes + 1;
}

/* A probability below this is read as this (log of 0 is -inf). */
#define HL__STACK_PROBA_FLOOR 1e-4

void hl__stack_model_free(void *state);
/* What the container holds of m (the state pointer stays m's). */
void hl__stack_fitted(hl__stack_model *m, hl__fitted *f);
/* Shares of the members in the combination into m->report[].weight. */
void hl__stack_member_shares(hl__stack_model *m);

/* ---- stack.c ---- */

/* Combined raw outputs (link: softmax logits for logistic, probabilities
 * for a vote) of n rows from the members' probabilities p (n_members
 * blocks of n * n_classes). */
void hl__stack_combine(const hl__stack_model *m, const double *p, size_t n,
                       double *raw);

/* ---- stack_explain.c ---- */

/* The stack's contrib op (learner.h). Its score is the combiner's: the
 * members' averaged probabilities for a vote, the meta-learner's softmax
 * logits for the logistic combiner. Each member's contributions (to its
 * own outputs o: a GBDT's logits or log-odds, a forest's probabilities)
 * are carried to the combiner's inputs u - member i's probability of
 * class j for a vote, its log (floored at HL__STACK_PROBA_FLOOR) for the
 * logistic combiner - and through the combiner, which is linear in u:
 * the stack's contribution of KPI f to class k is sum_ij W[k][ij] a_ij(f)
 * (W = 1 / members for the vote's own class, the meta-learner's weights
 * for the logistic combiner), a_ij(f) being KPI f's share of the move of
 * u_ij from its value at the member's expected outputs e to the row's:
 *  - where u_ij reads one member output (a forest's probability, a
 *    two-class GBDT's log-odds), the member's own contributions times the
 *    row's secant slope (u(o) - u(e)) / (o - e): every KPI keeps its
 *    share of the member's move (the rescale rule); a vote of members in
 *    probability space (forests) is then exactly the average of their
 *    Shapley values, which are the vote's own Shapley values;
 *  - where it reads several (a multi-class GBDT: softmax couples them),
 *    the Jacobian of u at the midpoint (e + o) / 2 times the member's
 *    contributions - a linearisation whose miss, du minus the Jacobian
 *    step (third order in the member's move), is spread over the KPIs in
 *    proportion to their |share|.
 * So a class's contributions plus its expected value - the combiner at
 * the members' expected outputs (plus the meta-learner's bias), which is
 * not the average of the stack's scores over the training rows - add up
 * to the stack's score exactly (to rounding); what is approximate is how
 * a nonlinear member-to-combiner step divides that sum among the KPIs.
 * HL_ERR_INVALID naming the first member that cannot explain (an MLP).
 * HL_ERR_NOMEM. Thread-safe as the members' contrib ops. */
hl_status hl__stack_contrib(const void *state, const hl__model_shape *shape,
                            const float *x, size_t n_rows, double *out,
                            hl_error *err);

/* ---- stack_fit.c ---- */

hl_status hl__stack_fit(const hl__fit_job *job, hl__fit_result *res,
                        hl_error *err);

/* ---- stack_meta.c: the logistic meta-learner ---- */

/* Fits weights (n_classes x (d + 1), bias last) of a multinomial logistic
 * regression on n rows of d inputs z, labels y, row weights w, with an
 * L2 penalty l2 (in rows' worth of weight) on the distance of all but the
 * biases from the starting weights; starts from and overwrites `weights`.
 * Deterministic. HL_ERR_NOMEM is the only failure. */
hl_status hl__stack_meta_fit(const double *z, size_t n, size_t d,
                             const int32_t *y, const double *w,
                             size_t n_classes, double l2, double *weights);

/* ---- stack_io.c ---- */

void hl__stack_write(const void *state, hl__wbuf *w);
hl_status hl__stack_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                                 const hl__model_shape *shape,
                                 const hl__io_ctx *io);
hl_status hl__stack_read_finish(hl__fitted *f, const hl__model_shape *shape,
                                const hl__io_ctx *io);

#endif
