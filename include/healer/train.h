/* healer/train.h - training parameters, progress reporting and training.
 *
 * hl_train() turns a labelled dataset into an hl_model with the learner
 * named in the parameters (see healer/params.h for the learners and their
 * parameter tables). The parameters are the training options every learner
 * shares, as plain fields, plus the chosen learner's own parameters in an
 * opaque block read and written by name.
 *
 * Threads: training uses `threads` worker threads (0 = all cores) and is
 * deterministic for a given seed whatever the thread count. The progress
 * callback is called from the calling thread once per round (iteration).
 */
#ifndef HEALER_TRAIN_H
#define HEALER_TRAIN_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/metrics.h"
#include "healer/params.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Values of the shared class_weight choice (its index in the choices). */
typedef enum hl_class_weight {
    HL_CLASS_WEIGHT_BALANCED = 0, /* w_c = n / (n_classes * n_c): faults are rare */
    HL_CLASS_WEIGHT_NONE = 1
} hl_class_weight;

/* Room for any learner's own parameter struct. */
#define HL_LEARNER_PARAMS_BYTES 256

/* A plain value: copy it by assignment. The shared options' ranges and
 * defaults are in hl_shared_params(); the learner block is the learner's
 * own struct, reached by name through hl_train_params_get / _set. */
typedef struct hl_train_params {
    char algo[16];              /* learner name, see hl_learner_find() */
    /* The training options every learner shares. */
    int cv_folds;               /* 0 = off, else k-fold cross-validation */
    int early_stopping_rounds;  /* iterative learners; 0 = off */
    double validation_fraction; /* the early-stopping hold-out */
    int refit;                  /* refit on all rows after early stopping */
    int class_weight;           /* hl_class_weight */
    int collapse_duplicates;    /* one copy of exact duplicate rows */
    double screen_kpis;         /* KPI screening threshold; 0 = off */
    double families;            /* KPI families' correlation; 0 = off */
    /* The label of the normal class, whose rows the normal ranges come
     * from (healer/normal.h); no class with it: every row. */
    char normal_class[64];
    uint64_t seed;
    int threads;                /* 0 = all cores */
    /* The learner's own parameters (owned by its parameter table). */
    alignas(max_align_t) unsigned char learner[HL_LEARNER_PARAMS_BYTES];
} hl_train_params;

/* The default learner (the first of hl_learner_at) with every default. */
void hl_train_params_init(hl_train_params *p);

/* Switches to learner `algo`, resetting its block to that learner's
 * defaults (the shared options are kept). HL_ERR_INVALID with
 * err->field "algo" for an unknown name; p is unchanged then. */
hl_status hl_train_params_set_algo(hl_train_params *p, const char *algo,
                                   hl_error *err);

/* Sets the label of the normal class (healer/normal.h).
 * HL_ERR_INVALID with err->field "normal_class" for an empty label or
 * one of 64 bytes or more; p is unchanged then. */
hl_status hl_train_params_set_normal_class(hl_train_params *p,
                                           const char *label, hl_error *err);

/* The spec of parameter `name` among the shared options and p's
 * learner's parameters, or NULL. */
const hl_param_spec *hl_train_params_spec(const hl_train_params *p,
                                          const char *name);

/* Reads / writes one parameter by name (shared or of p's learner). Set
 * checks the range first (hl_param_check) and changes nothing on error.
 * HL_ERR_INVALID with err->field = name for an unknown name or a bad
 * value. */
hl_status hl_train_params_get(const hl_train_params *p, const char *name,
                              hl_param_value *out, hl_error *err);
hl_status hl_train_params_set(hl_train_params *p, const char *name,
                              hl_param_value v, hl_error *err);

/* hl_train_params_set from a double (for tests and quick scripts): a
 * whole number for INT/SEED, non-zero = true for BOOL, the index for
 * CHOICE. */
hl_status hl_train_params_set_number(hl_train_params *p, const char *name,
                                     double x, hl_error *err);

/* The value of parameter s in p: s must be a shared option or one of p's
 * learner's parameters (hl_train_params_spec finds them by name). */
hl_param_value hl_train_params_value(const hl_train_params *p,
                                     const hl_param_spec *s);

/* Checks every shared option and every parameter of the learner against
 * their ranges, then the learner's rules between parameters (max_depth 0
 * needs max_leaves). HL_ERR_INVALID names the first bad one in
 * err->field and in the message. */
hl_status hl_train_params_validate(const hl_train_params *p, hl_error *err);

/* Turns p into safer parameters for a retry after a failed training
 * (less memory, less that can go wrong): one thread, no cross-validation,
 * and the learner's own safer choices (gbdt: at most 63 bins, depth at
 * most 6, no leaf limit, learning rate at most 0.1). */
void hl_train_params_safer(hl_train_params *p);

typedef enum hl_train_stage {
    HL_STAGE_CV = 1,    /* training fold `fold` of `folds` */
    HL_STAGE_FINAL = 2, /* training with early stopping on the hold-out */
    HL_STAGE_REFIT = 3  /* refitting on all rows for the chosen rounds: of
                           the fold's training rows in cross-validation
                           (fold > 0, after that fold's HL_STAGE_CV), of
                           the dataset after HL_STAGE_FINAL (fold 0) */
} hl_train_stage;

typedef struct hl_train_progress {
    hl_train_stage stage;
    unsigned fold, folds;   /* 1-based fold in HL_STAGE_CV */
    int round;              /* 1-based round (iteration) just finished */
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
