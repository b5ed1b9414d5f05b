/* healer/repair.h - self-repair of a training: is a model usable, and what
 * to try when a training fails or makes one that is not.
 *
 * A training can fail for reasons that are nobody's input (memory, I/O, a
 * learner whose numbers diverged) or succeed with a model nobody should
 * use (NaN predictions, one class for everything, a score worse than
 * guessing). Three parts turn that into retries:
 *
 *   - the health check, hl_model_check_health: degenerate or not, and a
 *     reason a person can read;
 *   - the plan, hl_repair_plan_make: the parameters of every attempt - the
 *     caller's; then another learner (the one the caller's names as its
 *     fallback, hl_learner_info in healer/params.h), with
 *     its defaults and the caller's shared options; then the caller's own
 *     learner with hl_train_params_safer. An attempt whose learner is not
 *     in this build, or whose parameters equal an earlier attempt's, is
 *     left out (it could only fail the same way);
 *   - the driver, hl_train_repair: runs the plan, stops at the first
 *     healthy model, at a user error (bad data, bad parameters) or a
 *     cancel, and returns every attempt with its outcome and reason, for
 *     the caller to show and record.
 *
 * The CLI (`healer train`) and the service (the train job) both call the
 * driver, so both retry by the same rules. Everything is deterministic:
 * the same dataset and parameters give the same attempts.
 *
 * Threads: no shared state; the functions may run concurrently on
 * different (or the same, read-only) datasets and models.
 */
#ifndef HEALER_REPAIR_H
#define HEALER_REPAIR_H

#include <stddef.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/model.h"
#include "healer/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the health check --------------------------------------------------- */

/* Training rows a health check predicts at most: evenly spaced over the
 * labelled rows, enough to see a constant predictor or NaN outputs at a
 * cost far below a training's. */
#define HL_HEALTH_SAMPLE_ROWS 2000
/* A hold-out or cross-validation score on fewer rows is noise, not
 * evidence (ten rows of three classes can score anything): below it the
 * check falls back to the next source of a score. */
#define HL_HEALTH_MIN_ROWS 20
/* "Far below the baseline": a macro-F1 under this share of the class-prior
 * baseline. The baseline is the expected macro-F1 of guessing each row's
 * class at random by the class mix of the rows scored: guessing class k
 * with probability p_k gives class k precision = recall = F1 = p_k, so the
 * macro average over the K classes present is exactly 1 / K, whatever the
 * mix. A model that learnt anything scores above it; one scoring under
 * half of it is systematically wrong, not unlucky. */
#define HL_HEALTH_BASELINE_FACTOR 0.5

/* What a health check found. A plain value. */
typedef struct hl_model_health {
    int degenerate;           /* 1: do not use the model (see reason) */
    char reason[384];         /* why it is degenerate; "" when healthy */
    size_t rows_checked;      /* training rows predicted (the sample) */
    size_t nonfinite_rows;    /* of those, rows with a NaN or infinite
                                 probability */
    size_t predicted_classes; /* distinct classes predicted for them */
    /* The score judged against the baseline and where it comes from:
     * "hold-out", "cross-validation", "out-of-bag rows" or "training
     * rows" (static). A score is a macro-F1 over the classes present in
     * its rows (the out-of-bag one: over the model's classes). */
    const char *score_source;
    size_t score_rows;
    double macro_f1;
    double baseline; /* 1 / classes present in the scored rows */
} hl_model_health;

/* Checks model m, trained on ds (labelled; its columns are matched to m's
 * features by name). Degenerate, with the first reason found, when:
 *   1. the training loss of its last round is NaN or infinite;
 *   2. its probabilities for the sampled training rows (up to
 *      HL_HEALTH_SAMPLE_ROWS labelled rows of ds) contain NaN or inf;
 *   3. it is a constant predictor: one class for every sampled training
 *      row although they have two classes or more, or for every row of
 *      its hold-out (from HL_HEALTH_MIN_ROWS rows with two classes);
 *   4. its macro-F1 is below HL_HEALTH_BASELINE_FACTOR x the class-prior
 *      baseline, the score being the first the model has of: the
 *      hold-out's, the cross-validation's, the learner's out-of-bag
 *      estimate (a forest's; each from HL_HEALTH_MIN_ROWS rows), else
 *      the sampled training rows'.
 * Fills *out and returns HL_OK whatever the verdict; an error (a column
 * of m missing from ds, HL_ERR_DATA; no labelled row, HL_ERR_DATA; out of
 * memory) means the check could not run. threads: 0 = all cores. */
hl_status hl_model_check_health(const hl_model *m, const hl_dataset *ds,
                                int threads, hl_model_health *out,
                                hl_error *err);

/* ---- the plan ----------------------------------------------------------- */

/* A training is tried at most this many times: the caller's parameters,
 * another learner, the caller's learner made safer. */
#define HL_REPAIR_MAX_ATTEMPTS 3

/* Why an attempt runs with its parameters. */
typedef enum hl_repair_step {
    HL_REPAIR_REQUESTED = 0,     /* the caller's parameters */
    HL_REPAIR_OTHER_LEARNER = 1, /* the fallback learner, its defaults */
    HL_REPAIR_SAFER = 2          /* hl_train_params_safer of the caller's */
} hl_repair_step;

/* "requested", "other_learner", "safer_parameters" (static strings, the
 * API's and the CLI's names). */
const char *hl_repair_step_name(hl_repair_step step);

/* The parameters of each attempt, in order. A plain value. */
typedef struct hl_repair_plan {
    size_t count; /* 1..HL_REPAIR_MAX_ATTEMPTS */
    hl_repair_step step[HL_REPAIR_MAX_ATTEMPTS];
    hl_train_params params[HL_REPAIR_MAX_ATTEMPTS];
} hl_repair_plan;

/* The learner that stands in for a failed training of learner `algo`
 * (its hl_learner_info.fallback: "gbdt" -> "forest"), or NULL when algo is
 * no learner of this build or names no fallback. The plan still checks
 * that the stand-in is a learner of this build. */
const char *hl_repair_fallback(const char *algo);

/* The plan for a training asked with *first: first itself; then, when
 * hl_repair_fallback(first->algo) is a learner of this build, that
 * learner with its default parameters and first's shared options; then
 * hl_train_params_safer(first). An attempt equal to an earlier one (every
 * parameter by the tables) is left out. Deterministic; never fails. */
void hl_repair_plan_make(const hl_train_params *first, hl_repair_plan *out);

/* ---- fault injection (a testing aid) ------------------------------------ */

typedef enum hl_fault {
    HL_FAULT_NONE = 0,
    HL_FAULT_FAIL = 1,       /* the attempt fails at once, HL_ERR_INTERNAL */
    HL_FAULT_DEGENERATE = 2, /* the attempt trains, then is judged degenerate */
    /* The attempt fails at once with HL_ERR_DIVERGED, as a learner whose
     * loss stopped being finite (the MLP's), which cannot be provoked on
     * demand through real data. */
    HL_FAULT_DIVERGE = 3
} hl_fault;

/* What to inject into each attempt of hl_train_repair (at[0] = attempt 1).
 * Zeroed = nothing. A plain value. */
typedef struct hl_repair_faults {
    unsigned char at[HL_REPAIR_MAX_ATTEMPTS]; /* hl_fault */
} hl_repair_faults;

/* Parses a fault-injection spec: items separated by commas, each
 *   attemptN=FAULT   (N in 1..HL_REPAIR_MAX_ATTEMPTS)
 *   attempts=FAULT   (every attempt)
 * with FAULT fail, degenerate or diverge (hl_fault), or
 *   train_first_attempt  (the historic spelling of attempt1=fail)
 * later items overriding earlier ones; NULL or "" is no fault. The
 * commands read it from the environment variable HEALER_FAULT_INJECT
 * (`healer train` and `healer serve`, documented there); nothing else
 * injects faults. HL_ERR_INVALID naming the bad item; *out unchanged. */
hl_status hl_repair_faults_parse(const char *spec, hl_repair_faults *out,
                                 hl_error *err);

/* ---- the driver --------------------------------------------------------- */

typedef enum hl_attempt_outcome {
    HL_ATTEMPT_SUCCEEDED = 0,  /* a healthy model */
    HL_ATTEMPT_FAILED = 1,     /* training returned an error */
    HL_ATTEMPT_DEGENERATE = 2, /* trained, but the health check refused it */
    HL_ATTEMPT_CANCELLED = 3   /* the caller's cancel stopped it */
} hl_attempt_outcome;

/* "succeeded", "failed", "degenerate", "cancelled" (static strings). */
const char *hl_attempt_outcome_name(hl_attempt_outcome outcome);

/* One attempt as it ran. A plain value. */
typedef struct hl_train_attempt {
    unsigned number;        /* 1-based */
    hl_repair_step step;    /* why these parameters */
    hl_train_params params; /* what it ran with */
    hl_attempt_outcome outcome;
    hl_status status; /* hl_train's status: HL_OK when it trained
                         (succeeded or degenerate) */
    char reason[512]; /* the error message, or the health check's
                         reason; "" when it succeeded */
    double seconds;   /* training and health check */
} hl_train_attempt;

typedef struct hl_train_attempts {
    size_t count;
    hl_train_attempt item[HL_REPAIR_MAX_ATTEMPTS];
} hl_train_attempts;

/* 1 when a training that ended with status st is worth another attempt
 * with other parameters: out of memory, I/O, an internal error, a
 * diverged learner, and any status this header does not know. 0 for
 * HL_OK and for what other parameters cannot fix: the user's data or
 * parameters (PARSE, INVALID, LIMIT, DATA, FORMAT, VERSION) and a cancel. */
int hl_train_error_retryable(hl_status st);

/* Called before each attempt: its number (1-based), why it runs, its
 * parameters, and the attempt before it (NULL for the first), whose
 * outcome and reason explain the retry. */
typedef void (*hl_attempt_fn)(unsigned number, hl_repair_step step,
                              const hl_train_params *params,
                              const hl_train_attempt *previous, void *user);

/* Called after each attempt, with its outcome, reason and time: to record
 * attempts as they end (the service does) rather than after the last. */
typedef void (*hl_attempt_done_fn)(const hl_train_attempt *attempt,
                                   void *user);

typedef struct hl_repair_options {
    /* At most this many attempts of the plan; 0 = all of them, 1 = no
     * retry (the one attempt is still health-checked). */
    unsigned max_attempts;
    /* The attempts to run; NULL = hl_repair_plan_make(params). For callers
     * with their own idea of the retries, and for tests. */
    const hl_repair_plan *plan;
    const hl_repair_faults *faults; /* testing aid; NULL = none */
    hl_attempt_fn on_attempt;            /* may be NULL */
    hl_attempt_done_fn on_attempt_done; /* may be NULL */
    void *user;                          /* passed to both */
} hl_repair_options;

/* Trains on ds with self-repair: runs the attempts of the plan for params
 * (hl_train with ctl, which may be NULL, for each: progress restarts with
 * every attempt), health-checks each model, and stops at the first
 * healthy one (HL_OK, *out a new model: hl_model_free), at an error
 * hl_train_error_retryable refuses (that error, unchanged), or when the
 * plan is done. opt may be NULL (the whole plan, no faults).
 *
 * When no attempt made a healthy model the status is the last attempt's
 * (HL_ERR_DATA for a degenerate model) and, after more than one attempt,
 * err's message reads "training failed after N attempts; the last (ALGO,
 * STEP): REASON" (its file, line and field are the last error's). *out is
 * NULL then. A degenerate model is freed, never returned.
 *
 * *attempts (may be NULL) receives every attempt made, also on failure. */
hl_status hl_train_repair(const hl_dataset *ds, const hl_train_params *params,
                          const hl_train_control *ctl,
                          const hl_repair_options *opt, hl_model **out,
                          hl_train_attempts *attempts, hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
