/* healer/train.h - training parameters, progress reporting and training.
 *
 * hl_train() turns a labelled dataset into an hl_model. Only the histogram
 * gradient-boosted tree learner ("gbdt") exists today; the parameter struct
 * carries the algorithm name so that later learners slot in beside it.
 *
 * Threads: training uses `threads` worker threads (0 = all cores) and is
 * deterministic for a given seed and thread count. The progress callback is
 * called from the calling thread once per boosting round.
 */
#ifndef HEALER_TRAIN_H
#define HEALER_TRAIN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/metrics.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hl_class_weight {
    HL_CLASS_WEIGHT_NONE = 0,
    HL_CLASS_WEIGHT_BALANCED = 1 /* w_c = n / (n_classes * n_c): faults are rare */
} hl_class_weight;

typedef struct hl_train_params {
    char algo[16];              /* "gbdt" */
    int rounds;                 /* boosting rounds (max when early stopping), default 1000 */
    double learning_rate;       /* default 0.05 */
    int max_depth;              /* default 6; 0 = unlimited (then max_leaves must be set) */
    int max_leaves;             /* default 0 = unlimited (bounded by max_depth) */
    double min_child_weight;    /* minimum hessian sum in a leaf, default 1 */
    double lambda_l2;           /* L2 regularisation of leaf values, default 1 */
    double min_split_gain;      /* default 0 */
    double subsample;           /* row fraction per round, (0, 1], default 0.8 */
    double colsample;           /* feature fraction per tree, (0, 1], default 0.5 */
    int max_bins;               /* quantile bins per feature, 2..255, default 255 */
    double validation_fraction; /* stratified hold-out for early stopping, default 0.1 */
    int early_stopping_rounds;  /* default 50; 0 = off (all rounds, no hold-out) */
    hl_class_weight class_weight; /* default balanced */
    int collapse_duplicates;    /* train on one copy of exact duplicate rows, default 1 */
    int refit;                  /* after early stopping, refit on all rows
                                   (hold-out included) for the chosen number
                                   of rounds, default 1 */
    unsigned cv_folds;          /* > 1: also run stratified k-fold CV, default 0 */
    uint64_t seed;              /* default 42 */
    int threads;                /* 0 = all cores */
} hl_train_params;

void hl_train_params_init(hl_train_params *p);

/* Checks every field; HL_ERR_INVALID names the first bad one. */
hl_status hl_train_params_validate(const hl_train_params *p, hl_error *err);

typedef enum hl_train_stage {
    HL_STAGE_CV = 1,    /* training fold `fold` of `folds` */
    HL_STAGE_FINAL = 2, /* training with early stopping on the hold-out */
    HL_STAGE_REFIT = 3  /* refitting on all rows for the chosen rounds */
} hl_train_stage;

typedef struct hl_train_progress {
    hl_train_stage stage;
    unsigned fold, folds;   /* 1-based fold in HL_STAGE_CV */
    int round;              /* 1-based round just finished */
    int rounds;             /* planned rounds */
    double train_loss;      /* weighted multi-class log loss on the training rows */
    double valid_loss;      /* on the hold-out, NAN without early stopping */
    double elapsed_seconds; /* since hl_train() started */
} hl_train_progress;

/* Return non-zero to cancel training (hl_train then returns HL_ERR_CANCELLED). */
typedef int (*hl_progress_fn)(const hl_train_progress *p, void *user);

typedef struct hl_train_control {
    hl_progress_fn progress;    /* may be NULL */
    void *user;
    const atomic_int *cancel;   /* may be NULL; checked every round */
} hl_train_control;

struct hl_model;

/* Trains a model on ds (which must have labels and >= 2 classes present).
 * ctl may be NULL. On success *out is a new model (hl_model_free). */
hl_status hl_train(const hl_dataset *ds, const hl_train_params *params,
                   const hl_train_control *ctl, struct hl_model **out,
                   hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
