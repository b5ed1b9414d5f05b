/* domain/train_progress.c - a training's progress, curves and estimate
 * (see train_progress.h for the rules and why). */
#include <math.h>
#include <stdlib.h>

#include "domain/train_progress.h"
#include "healer/params.h"

/* A phase's fraction below which its rounds say too little to price it. */
#define MIN_BASIS 0.02

static double unit_weight(const hs_train_progress *tp, int unit)
{
    return unit < (int)tp->folds ? (double)(tp->folds - 1) / tp->folds : 1.0;
}

static double total_weight(const hs_train_progress *tp)
{
    return tp->folds ? (double)(tp->folds - 1) + 1.0 : 1.0;
}

int hs_train_progress_start(hs_train_progress *tp, const hl_train_params *p,
                            double now)
{
    const hl_learner_info *info = hl_learner_find(p->algo);
    hs_train_progress_free(tp);
    tp->folds = p->cv_folds > 1 ? (unsigned)p->cv_folds : 0;
    tp->early_stopping =
        info && info->iterative && p->early_stopping_rounds > 0;
    tp->unit = -1;
    tp->refitting = 0;
    tp->attempt_started = tp->unit_started = tp->refit_started = now;
    tp->last_at = now;
    tp->done_weight = tp->done_seconds = tp->done = 0;
    tp->eta = NAN;
    tp->now = NULL;
    tp->train = json_array();
    tp->valid = json_array();
    tp->refit = json_array();
    tp->fold_curves = json_array();
    return tp->train && tp->valid && tp->refit && tp->fold_curves ? 0 : -1;
}

void hs_train_progress_free(hs_train_progress *tp)
{
    json_decref(tp->train);
    json_decref(tp->valid);
    json_decref(tp->refit);
    json_decref(tp->fold_curves);
    tp->train = tp->valid = tp->refit = tp->fold_curves = NULL;
}

/* A finished fold's curve, [round, loss] pairs thinned to at most
 * HS_TRAIN_CURVE_POINTS (the last round always kept): its hold-out loss,
 * or its training loss when it had no hold-out. */
static void keep_fold_curve(hs_train_progress *tp, unsigned fold)
{
    int valid = json_array_size(tp->valid) > 0 &&
                !json_is_null(json_array_get(tp->valid, 0));
    const json_t *src = valid ? tp->valid : tp->train;
    size_t n = json_array_size(src);
    if (n == 0)
        return;
    size_t step = (n + HS_TRAIN_CURVE_POINTS - 1) / HS_TRAIN_CURVE_POINTS;
    json_t *points = json_array();
    for (size_t i = 0; points && i < n; i++) {
        const json_t *v = json_array_get(src, i);
        if ((i % step == 0 || i == n - 1) && json_is_number(v))
            json_array_append_new(points,
                                  json_pack("[I, O]", (json_int_t)(i + 1), v));
    }
    json_array_append_new(tp->fold_curves,
                          json_pack("{s:I, s:s, s:o}", "fold", (json_int_t)fold,
                                    "loss", valid ? "valid" : "train", "points",
                                    points ? points : json_array()));
}

/* Moves to unit `unit`: the one before is finished (its time and weight
 * price the rest; a fold's curve is kept). A unit runs from the report
 * before its first one: a round is reported when it ends. */
static void enter_unit(hs_train_progress *tp, int unit)
{
    if (tp->unit >= 0) {
        tp->done_weight += unit_weight(tp, tp->unit);
        tp->done_seconds += tp->last_at - tp->unit_started;
        if (tp->unit < (int)tp->folds)
            keep_fold_curve(tp, (unsigned)tp->unit + 1);
    }
    json_array_clear(tp->train);
    json_array_clear(tp->valid);
    json_array_clear(tp->refit);
    tp->unit = unit;
    tp->refitting = 0;
    tp->unit_started = tp->refit_started = tp->last_at;
}

static void extend_curves(hs_train_progress *tp, const hl_train_progress *p)
{
    /* a round without a finite loss keeps its place (null), so that the
     * train and valid arrays stay aligned round for round */
    json_t *loss = isfinite(p->train_loss) ? json_real(p->train_loss)
                                           : json_null();
    if (tp->refitting) {
        json_array_append_new(tp->refit, loss);
        return;
    }
    json_array_append_new(tp->train, loss);
    json_array_append_new(tp->valid, isfinite(p->valid_loss)
                                         ? json_real(p->valid_loss)
                                         : json_null());
}

/* Seconds left of the current phase from its own rounds, when they are
 * known (no early stopping, or a refit) and far enough along; else NAN. */
static double phase_left(const hs_train_progress *tp,
                         const hl_train_progress *p, double now)
{
    double f = p->rounds > 0 ? (double)p->round / p->rounds : 0;
    if ((tp->early_stopping && !tp->refitting) || f < MIN_BASIS)
        return NAN;
    double since = now - (tp->refitting ? tp->refit_started : tp->unit_started);
    return since * (1 - f) / f;
}

static void estimate(hs_train_progress *tp, const hl_train_progress *p,
                     double now)
{
    double w = unit_weight(tp, tp->unit);
    double in_unit = now - tp->unit_started;
    double pace = tp->done_weight > 0 ? tp->done_seconds / tp->done_weight
                                      : NAN; /* seconds per weight */
    double left = phase_left(tp, p, now);
    if (!isnan(left) && !tp->refitting && isnan(pace)) /* no early stop */
        pace = (in_unit + left) / w;
    if (isnan(left) && !isnan(pace)) {
        /* Early stopping: the unit takes what finished units took; one
         * running late has at least a tenth of that to go. */
        left = pace * w - in_unit;
        if (left < 0.1 * pace * w)
            left = 0.1 * pace * w;
    }
    double rest = total_weight(tp) - tp->done_weight - w;
    if (rest < 1e-9)
        rest = 0;
    tp->eta = isnan(left) || (rest > 0 && isnan(pace)) ? NAN
              : rest > 0                               ? left + pace * rest
                                                       : left;
    double elapsed = now - tp->attempt_started, done;
    if (!isnan(tp->eta)) {
        done = elapsed + tp->eta > 0 ? elapsed / (elapsed + tp->eta) : 0;
    } else { /* a rough guess for the bar only */
        double f = p->rounds > 0 ? (double)p->round / p->rounds : 0;
        f = !tp->early_stopping ? f : tp->refitting ? 0.5 + 0.5 * f : 0.5 * f;
        done = (tp->done_weight + w * f) / total_weight(tp);
    }
    if (done > 0.999)
        done = 0.999;
    if (done > tp->done)
        tp->done = done;
}

void hs_train_progress_step(hs_train_progress *tp, const hl_train_progress *p,
                            double now)
{
    int unit =
        p->stage == HL_STAGE_CV || (p->stage == HL_STAGE_REFIT && p->fold > 0)
            ? (int)p->fold - 1
            : (int)tp->folds;
    if (unit < 0 || unit > (int)tp->folds) /* folds the parameters lacked */
        unit = (int)tp->folds;
    if (unit != tp->unit)
        enter_unit(tp, unit);
    if (p->stage == HL_STAGE_REFIT && !tp->refitting) {
        tp->refitting = 1;
        tp->refit_started = tp->last_at;
    }
    tp->now = p;
    extend_curves(tp, p);
    estimate(tp, p, now);
    tp->last_at = now;
}

static const char *stage_name(const hl_train_progress *p)
{
    return p->stage == HL_STAGE_CV || (p->stage == HL_STAGE_REFIT && p->fold)
               ? "cv"
           : p->stage == HL_STAGE_REFIT ? "refit"
                                        : "train";
}

char *hs_train_progress_render(const hs_train_progress *tp)
{
    const hl_train_progress *p = tp->now;
    if (!p)
        return NULL;
    const char *phase = tp->refitting        ? "refit"
                        : tp->early_stopping ? "early_stopping"
                                             : "fixed";
    json_t *o = json_pack("{s:s, s:i, s:i, s:s, s:O, s:O, s:O, s:O, s:o}",
                          "stage", stage_name(p), "fold", (int)p->fold, "folds",
                          (int)tp->folds, "phase", phase, "train", tp->train,
                          "valid", tp->valid, "refit", tp->refit, "fold_curves",
                          tp->fold_curves, "eta_seconds",
                          isnan(tp->eta) ? json_null() : json_real(tp->eta));
    char *text =
        o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(o);
    return text;
}
