/* domain/train_progress.h - a training's progress as a job shows it: which
 * stage and phase it is in, its loss curves, how much is done and an
 * estimate of the time left that does not lie.
 *
 * The engine reports every round with its stage (a cross-validation fold,
 * the fit, a refit) and its planned rounds. With early stopping the planned
 * rounds are only a cap: a fold planned for 1,000 rounds may stop at 40,
 * then refit for 40. Extrapolating from "round 20 of 1,000" made the job
 * page's estimate 25 times too long, and a fold's refit appended to its
 * curve drew one sawtooth. So here:
 *  - a unit is a cross-validation fold or the final fit, each with its
 *    refit; a unit's weight is its share of the rows ((k-1)/k for a fold,
 *    1 for the final fit);
 *  - the estimate has a basis only where the rounds are known (a learner
 *    without early stopping, a refit, which runs the rounds chosen) or
 *    once a unit has finished (its seconds per weight then price the rest);
 *    before that it is unknown (NAN), and the job says so;
 *  - the fraction done is time-based when the estimate is known
 *    (elapsed / (elapsed + left)), so the bar and the estimate agree, and
 *    never goes back within an attempt;
 *  - the curves are the current unit's fit (train and hold-out loss), its
 *    refit apart, and the finished folds' curves (one line per fold,
 *    thinned to HS_TRAIN_CURVE_POINTS points).
 * It does not know about jobs or the store: job_train.c feeds it the
 * engine's reports and writes what it renders.
 */
#ifndef HEALER_HS_TRAIN_PROGRESS_H
#define HEALER_HS_TRAIN_PROGRESS_H

#include <jansson.h>

#include "healer/train.h"

/* Points kept of a finished fold's curve (it is written with every
 * progress report, so it stays small). */
#define HS_TRAIN_CURVE_POINTS 200

typedef struct hs_train_progress {
    unsigned folds;         /* cross-validation folds, 0 without */
    int early_stopping;     /* the fits stop early: planned rounds are a cap */
    int unit;               /* current unit (fold - 1, or folds), -1 none */
    int refitting;          /* the current unit is in its refit */
    double attempt_started; /* monotonic seconds */
    double unit_started, refit_started; /* at the report before their first */
    double last_at; /* the last report (or the attempt's start) */
    double done_weight, done_seconds; /* finished units */
    double done;                      /* fraction of the attempt done, 0..1 */
    double eta;                       /* seconds left, NAN = no basis yet */
    const hl_train_progress *now;     /* the last report */
    json_t *train, *valid, *refit;    /* the current unit's curves */
    json_t *fold_curves; /* finished folds: [{fold, loss, points}] */
} hs_train_progress;

/* Starts an attempt with parameters p at monotonic time `now`: no curve,
 * nothing done. tp must be zeroed before its first start. 0 on success,
 * -1 when out of memory. */
int hs_train_progress_start(hs_train_progress *tp, const hl_train_params *p,
                            double now);

/* One report of the engine at monotonic time `now` (p must stay valid
 * until the next step: it is rendered from). Updates the curves, tp->done
 * and tp->eta. */
void hs_train_progress_step(hs_train_progress *tp, const hl_train_progress *p,
                            double now);

/* The job's progress detail as JSON text (malloc'ed; NULL when out of
 * memory): {"stage", "fold", "folds", "phase", "train", "valid", "refit",
 * "fold_curves", "eta_seconds"} (docs/api.md, JOB). */
char *hs_train_progress_render(const hs_train_progress *tp);

/* Frees the curves (tp itself is the caller's). */
void hs_train_progress_free(hs_train_progress *tp);

#endif
