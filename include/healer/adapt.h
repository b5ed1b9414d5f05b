/* healer/adapt.h - adapting a batch's predictions to its class mix.
 *
 * A model learns p(class | KPIs) under the class mix it was trained with
 * (with balanced class weights: every class equally likely). A batch from
 * production has its own mix - an incident floods it with one fault - and
 * the posterior probabilities are then off by the ratio of the two mixes.
 * Saerens, Latinne and Decaestecker (2002) re-estimate the batch's mix by
 * expectation-maximisation from the model's own probabilities and correct
 * them: the E step reweighs every row's probabilities by new mix / old
 * mix, the M step averages them into the new mix.
 *
 * That is only sound when the probabilities are calibrated (fitted to the
 * log loss: a GBDT, an MLP, a stack with its logistic meta-learner); the
 * vote of a forest is not, and EM on it runs away to a single class
 * (measured: docs/benchmarks.md, "Robustness to drift"), so such a model
 * is refused with the reason. Small batches say little about their mix:
 * below HL_ADAPT_MIN_ROWS nothing is changed. The estimated mix is pulled
 * towards the training mix by HL_ADAPT_PRIOR_ROWS pseudo-rows (a MAP
 * estimate under a Dirichlet prior), so that no class is ever declared
 * absent - EM cannot bring a class back once its share is 0. EM assumes
 * that only the mix moved; when KPI scales moved too it can make things
 * worse (docs/benchmarks.md), and no check without labels tells the two
 * apart - a new class mix moves the distribution of every KPI with class
 * signal just as a drift does - so adapting stays the user's choice.
 *
 * Threads: no shared state.
 */
#ifndef HEALER_ADAPT_H
#define HEALER_ADAPT_H

#include <stddef.h>

#include "healer/error.h"
#include "healer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A batch must have this many rows to be adapted. */
#define HL_ADAPT_MIN_ROWS 50
/* Pseudo-rows per class of the training mix added to the batch's. */
#define HL_ADAPT_PRIOR_ROWS 5
#define HL_ADAPT_MAX_ITERATIONS 200
#define HL_ADAPT_MAX_CLASSES 64

/* Why a batch was not adapted. */
typedef enum hl_adapt_skip {
    HL_ADAPT_NOT_SKIPPED = 0,
    HL_ADAPT_TOO_FEW_ROWS = 1,  /* under HL_ADAPT_MIN_ROWS */
    HL_ADAPT_NOT_CALIBRATED = 2 /* the model's probabilities are votes */
} hl_adapt_skip;

/* "too_few_rows", "not_calibrated" ("" for NOT_SKIPPED):
 * static, the API's codes. */
const char *hl_adapt_skip_name(hl_adapt_skip why);

typedef struct hl_adapt_report {
    int applied;           /* 1: the probabilities were corrected */
    hl_adapt_skip skipped; /* why not, when applied is 0 */
    char reason[200];      /* the same for a person */
    unsigned iterations;
    int converged; /* the mix moved less than 1e-6 in the last step */
    size_t n_classes;
    double train_mix[HL_ADAPT_MAX_CLASSES]; /* the model's implicit mix */
    double batch_mix[HL_ADAPT_MAX_CLASSES]; /* the estimate for the batch */
    size_t changed; /* rows whose predicted class changed */
} hl_adapt_report;

/* The class mix m's probabilities assume: uniform over the classes it was
 * trained on with balanced class weights, else the training counts'.
 * mix has n_classes entries. */
void hl_model_training_mix(const hl_model *m, double *mix);

/* 1 when m's probabilities are calibrated enough for hl_adapt_batch. */
int hl_model_is_calibrated(const hl_model *m);

/* Corrects proba (n_rows x n_classes of m, as hl_model_predict_* wrote
 * them) in place for the batch's class mix and fills *out. When the batch
 * is too small or m is not calibrated, proba is unchanged and
 * out->applied is 0 with the reason: that is HL_OK, not an error.
 * HL_ERR_INVALID for NULL arguments. */
hl_status hl_adapt_batch(const hl_model *m, double *proba, size_t n_rows,
                         hl_adapt_report *out, hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
