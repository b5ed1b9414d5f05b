/* learner.h - the interface between the engine and its learners.
 *
 * A learner (gradient-boosted trees today; forests, MLPs and stacks later)
 * is one constant hl__learner: its public description (name, summary,
 * parameter table), its default parameters and a set of operations. The
 * rest of the engine - training orchestration (train.c), the model
 * container and its prediction (model.c, predict.c), model files
 * (model_io.c) - talks only to this interface and never knows which
 * learner it holds. The learners are listed in one table,
 * learners/registry.c; adding one is its own folder plus a line there.
 *
 * Like SQLite's VFS the ops struct has a version and only ever grows at
 * the end (version 3 appended `contrib`, the explanations), so a
 * learner written against an older version keeps compiling and working:
 * an operation it does not have is NULL.
 */
#ifndef HEALER_LEARNER_H
#define HEALER_LEARNER_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "healer/model.h"
#include "healer/params.h"
#include "healer/train.h"

/* Longest learner name, NUL included (hl_train_params.algo's size). */
#define HL__LEARNER_NAME_CAP 16

/* ---- link: raw outputs to class probabilities ---- */

typedef enum hl__link {
    HL__LINK_SOFTMAX = 1,  /* n_outputs == n_classes scores */
    HL__LINK_LOGISTIC = 2, /* 1 output for 2 classes: the second's log-odds */
    HL__LINK_PROBA = 3     /* n_outputs == n_classes, already probabilities */
} hl__link;

/* Turns one row of raw outputs into n_classes probabilities. */
void hl__link_apply(hl__link link, const double *raw, size_t n_classes,
                    double *proba);

/* ---- a fitted learner, as the model container holds it ---- */

typedef struct hl__fitted {
    void *state;      /* the learner's own; freed by its `free` op */
    size_t n_outputs; /* raw values per row */
    hl__link link;
    size_t n_trees; /* for the summary; 0 for a learner without trees */
    /* An estimate the learner made of itself while fitting, on rows it did
     * not learn from (a forest's out-of-bag rows); has_oob 0 when none.
     * The learner keeps it in its own sections and restores it on read. */
    int has_oob;
    uint64_t oob_rows;
    double oob_macro_f1, oob_accuracy;
    /* 1 when its probabilities are calibrated (fitted to the log loss: a
     * GBDT, an MLP, a stack's logistic meta-learner), so that a batch's
     * class mix may be re-estimated from them (healer/adapt.h); 0 for
     * votes of trees. */
    int calibrated;
    /* A learner made of others: what each member is and weighs, borrowed
     * from the state (the summary shows it). 0 / NULL otherwise. */
    size_t n_members;
    const hl_model_member *members;
} hl__fitted;

/* What a learner knows of the model it belongs to while reading a file
 * or predicting. */
typedef struct hl__model_shape {
    size_t n_features;
    size_t n_classes;
} hl__model_shape;

/* ---- progress and cancel, the same for every learner ---- */

typedef struct hl__progress {
    const hl_train_control *ctl; /* may be NULL */
    hl_train_stage stage;
    unsigned fold, folds;
    double started; /* hl_clock_monotonic() when hl_train began */
} hl__progress;

/* 1 when the cancel flag is raised: check before each iteration. */
int hl__progress_cancelled(const hl__progress *p);

/* After iteration `iteration` (1-based) of `planned`: checks the cancel
 * flag, then calls the progress callback. 1 = stop (cancelled). */
int hl__progress_report(const hl__progress *p, int iteration, int planned,
                        double train_loss, double valid_loss);

/* ---- fitting ---- */

typedef struct hl__fit_job {
    const float *x; /* dataset matrix, row stride n_features */
    size_t n_features;
    const int32_t *y; /* class of every dataset row */
    size_t n_classes;
    const double *class_weight; /* n_classes */
    const size_t *train_rows;   /* dataset rows to fit on */
    size_t n_train;
    const size_t *valid_rows; /* early-stopping hold-out, may be empty */
    size_t n_valid;
    const void *params; /* the learner's own parameter struct */
    uint64_t seed;
    int threads;               /* resolved by the learner: 0 = all cores */
    int early_stopping_rounds; /* iterative learners: 0 = off */
    size_t max_iterations;     /* iterative learners: 0 = the parameters'
                                  own cap, else exactly this cap (refit) */
    hl__progress progress;
    /* For a learner made of other learners (the stack), which fits them
     * the way hl_train fits one: */
    const uint32_t *group;      /* duplicate group of every dataset row
                                   (rows of a group never straddle folds),
                                   may be NULL */
    double validation_fraction; /* of the rows, for an iterative member's
                                   early-stopping hold-out */
    int refit;                  /* refit such a member on all its rows */
    /* How much each dataset row counts beyond its class weight (rows
     * labelled in deployment count more), or NULL: read it through
     * hl__row_weight. */
    const double *row_weight;
    /* The registry, handed in by the caller so that a learner made of
     * others finds them without depending on the table that lists it. */
    const struct hl__learner *(*find)(const char *name);
} hl__fit_job;

typedef struct hl__fit_result {
    hl__fitted fitted;
    size_t iterations_done; /* kept in the model */
    size_t best_iteration;  /* 1-based best hold-out iteration, 0 = n/a */
    size_t curve_len;
    double *train_loss; /* curve_len each, malloc'ed: the caller owns */
    double *valid_loss; /* them (NAN without a hold-out) */
} hl__fit_result;

/* The weight of dataset row `row` in a fit: its class's weight times its
 * own. The one definition every learner uses. */
static inline double hl__row_weight(const hl__fit_job *job, size_t row)
{
    return job->class_weight[job->y[row]] *
           (job->row_weight ? job->row_weight[row] : 1.0);
}

/* 2: the `choose` operation (a chooser instead of a learner).
 * 3: the `contrib` operation (explanations).
 * 4: the `contrib_output` operation (one output's explanations). */
#define HL__LEARNER_VERSION 4u

typedef struct hl__learner {
    hl_learner_info info; /* first: hl_learner_at() returns &info. Its
                             params describe the whole parameter struct
                             (<= HL_LEARNER_PARAMS_BYTES), defaults included */
    unsigned version;     /* HL__LEARNER_VERSION it was written for */

    /* Rules between parameters, after each was range-checked. May be NULL. */
    hl_status (*check)(const void *params, hl_error *err);
    /* Safer parameters for a retry after a failed training. May be NULL. */
    void (*safer)(void *params);
    /* Iterative learners: the iteration cap the parameters ask for. */
    size_t (*iteration_cap)(const void *params);

    /* Fits on job's rows. On success res->fitted holds the state and the
     * curve arrays are the caller's; on failure nothing is left over. */
    hl_status (*fit)(const hl__fit_job *job, hl__fit_result *res,
                     hl_error *err);
    /* Raw outputs (n_rows * n_outputs) of n_rows rows in model feature
     * order. Called concurrently on disjoint rows: allocates its own
     * scratch, writes only `raw`. The result of a row never depends on
     * the other rows of the call. HL_ERR_NOMEM is the only failure. */
    hl_status (*predict_raw)(const void *state, const hl__model_shape *shape,
                             const float *x, size_t n_rows, double *raw);
    /* Total split gain and split count per feature (n_features each,
     * zeroed by the caller). */
    void (*importance)(const void *state, size_t n_features, double *gain,
                       uint32_t *splits);

    /* Model files: its own sections, whole (hl__w_section_begin/end). */
    void (*write)(const void *state, hl__wbuf *w);
    /* One section with a tag the container does not own (f->state is NULL
     * before the first). Unknown tags: HL_OK, skipped. */
    hl_status (*read_section)(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                              const hl__model_shape *shape,
                              const hl__io_ctx *io);
    /* After the last section: refuses a missing required section, checks
     * the state as a whole and fills the rest of f. */
    hl_status (*read_finish)(hl__fitted *f, const hl__model_shape *shape,
                             const hl__io_ctx *io);

    void (*free)(void *state); /* NULL-safe */

    /* A chooser (`auto`) instead of a learner: every op above is NULL and
     * hl_train searches among the learners this names (at most cap, into
     * names[]), within budget_seconds, by folds-fold cross-validation.
     * NULL for a learner. */
    size_t (*choose)(const void *params, char names[][HL__LEARNER_NAME_CAP],
                     size_t cap, double *budget_seconds, int *folds);

    /* Each input's contribution to each raw output of n_rows rows, and
     * the output's expected value: out holds n_rows blocks of n_outputs x
     * (n_features + 1) doubles, input j's contribution to output k at
     * [k * (n_features + 1) + j], the expected value last. Exact: an
     * output's contributions and expected value sum to predict_raw's
     * value (to rounding). Called like predict_raw (concurrently on
     * disjoint rows), after one call with n_rows 0 that makes whatever
     * the op keeps per model, so that concurrent calls share it.
     * HL_ERR_NOMEM, or HL_ERR_INVALID with a message for a model that
     * cannot be explained. NULL: the learner has no explanations. */
    hl_status (*contrib)(const void *state, const hl__model_shape *shape,
                         const float *x, size_t n_rows, double *out,
                         hl_error *err);

    /* As contrib, but row r's block of output outputs[r] is the only one
     * computed (the others are zero): for a learner whose parts each feed
     * one output (boosted trees: one tree per class and round) that costs
     * a fraction of contrib. Called after contrib's call with n_rows 0.
     * NULL: contrib is used. */
    hl_status (*contrib_output)(const void *state,
                                const hl__model_shape *shape, const float *x,
                                size_t n_rows, const size_t *outputs,
                                double *out, hl_error *err);
} hl__learner;

/* ---- parameter tables ---- */

/* Entries of a parameter table (see hl_param_spec): T is the struct the
 * value lives in, F its field. */
#define HL__P_INT(name, flag, T, F, def, lo, hi, fl, help)                     \
    {                                                                          \
        name, flag, HL_PARAM_INT, {.i = (def)}, {.i = (lo)}, {.i = (hi)}, fl,  \
            NULL, help, offsetof(T, F)                                         \
    }
#define HL__P_REAL(name, flag, T, F, def, lo, hi, fl, help)                    \
    {                                                                          \
        name, flag, HL_PARAM_REAL, {.d = (def)}, {.d = (lo)}, {.d = (hi)}, fl, \
            NULL, help, offsetof(T, F)                                         \
    }
#define HL__P_BOOL(name, flag, T, F, def, fl, help)                            \
    {                                                                          \
        name, flag, HL_PARAM_BOOL, {.i = (def)}, {.i = 0}, {.i = 1}, fl, NULL, \
            help, offsetof(T, F)                                               \
    }
#define HL__P_CHOICE(name, flag, T, F, def, choices, fl, help)                 \
    {                                                                          \
        name, flag, HL_PARAM_CHOICE, {.i = (def)}, {.i = 0}, {.i = 0}, fl,     \
            choices, help, offsetof(T, F)                                      \
    }
#define HL__P_SEED(name, flag, T, F, def, fl, help)                            \
    {                                                                          \
        name, flag, HL_PARAM_SEED, {.i = (def)}, {.i = 0}, {.i = INT64_MAX},   \
            fl, NULL, help, offsetof(T, F)                                     \
    }

/* The value of spec s stored at `at` (its struct + s->offset), and back.
 * Storing does not check the range (hl_param_check does). */
hl_param_value hl__param_load(const hl_param_spec *s, const void *at);
void hl__param_store(const hl_param_spec *s, void *at, hl_param_value v);

/* 1 when v, read from a model file, can be stored for spec s (the
 * struct's width, a known choice, finite); the range is not checked, so
 * that a model trained under the wider ranges of an older version stays
 * readable. */
int hl__param_value_fits(const hl_param_spec *s, hl_param_value v);

/* (params.c) Fills a learner's parameter block (HL_LEARNER_PARAMS_BYTES)
 * with the defaults of its table. */
void hl__learner_defaults(const struct hl__learner *l, void *block);

/* Stores v for parameter s (shared or of p's learner) without checking
 * its range: for defaults and values read from model files. */
void hl__train_params_store(hl_train_params *p, const hl_param_spec *s,
                            hl_param_value v);

/* (learner_sets.c) The learner names of a "gbdt+forest+extratrees" set into
 * names[] (at most cap); how many. For the choices of the learners made
 * of others (stack members, auto candidates). */
size_t hl__learner_set_names(const char *set, char names[][HL__LEARNER_NAME_CAP],
                             size_t cap);

/* (refit.c) Iterations for a refit on all n_all rows of an iterative
 * learner whose hold-out run on n_fit rows was best at iteration `best`:
 * scaled up with the data (more rows support a little more boosting),
 * within the learner's cap. One rule for hl_train and the stack. */
size_t hl__refit_iterations(size_t best, size_t n_fit, size_t n_all,
                            size_t cap);

/* ---- the registry (learners/registry.c) ---- */

/* The i-th learner, NULL past the last; 0 is the default. */
const hl__learner *hl__learner_at(size_t i);
/* NULL when no learner has that name. */
const hl__learner *hl__learner_find(const char *name);
/* "gbdt, ..." for messages. */
void hl__learner_names(char *buf, size_t cap);

#endif
