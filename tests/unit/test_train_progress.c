/* test_train_progress.c - a training job's progress (domain/train_progress):
 * the estimate has no basis while the first early-stopping fold runs, then
 * prices the rest from finished folds; a refit's rounds give a basis of
 * their own; the fraction done never goes back; a fold's refit is a curve
 * apart and finished folds keep their own (thinned) curves.
 *
 * Why: the job page extrapolated "round 20 of 1,000" when early stopping
 * ended folds at 40 rounds (25 times too long), and drew a fold and its
 * refit as one sawtooth. Reports are fed with a made-up clock, so the
 * figures are exact.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/train_progress.h"
#include "healer/train.h"

static hl_train_params gbdt_params(int folds, int early_stopping)
{
    hl_train_params p;
    hl_train_params_init(&p);
    hl_train_params_set_algo(&p, "gbdt", NULL);
    p.cv_folds = folds;
    p.early_stopping_rounds = early_stopping;
    p.refit = 1;
    return p;
}

/* A zeroed tp started at time 0 for a gbdt with `folds` and early
 * stopping `es`. */
static void start(hs_train_progress *tp, int folds, int es)
{
    hl_train_params p = gbdt_params(folds, es);
    memset(tp, 0, sizeof *tp);
    assert_int_equal(hs_train_progress_start(tp, &p, 0), 0);
}

/* Feeds rounds first..last of a stage, one per second from *now. */
static hl_train_progress rounds(hs_train_progress *tp, hl_train_stage stage,
                                unsigned fold, int first, int last, int planned,
                                double *now)
{
    hl_train_progress p = {stage, fold, 3, 0, planned, 1.0, 1.1, 0};
    for (int r = first; r <= last; r++) {
        p.round = r;
        p.train_loss = 1.0 / r;
        p.valid_loss = stage == HL_STAGE_REFIT ? NAN : 1.1 / r;
        *now += 1.0;
        hs_train_progress_step(tp, &p, *now);
    }
    return p;
}

static void no_estimate_until_a_fold_ends(void **state)
{
    (void)state;
    hs_train_progress tp;
    double now = 0;
    start(&tp, 3, 10);
    /* Fold 1: 40 of 1,000 planned rounds, then its refit of 30. */
    rounds(&tp, HL_STAGE_CV, 1, 1, 40, 1000, &now);
    assert_true(isnan(tp.eta)); /* the cap says nothing */
    double before_refit = tp.done;
    hl_train_progress last = rounds(&tp, HL_STAGE_REFIT, 1, 1, 30, 30, &now);
    assert_true(tp.refitting);
    assert_int_equal(tp.unit, 0); /* the refit belongs to fold 1 */
    assert_true(tp.done >= before_refit);
    (void)last;
    /* Fold 2 starts: fold 1 took 70 s for a weight of 2/3, so the rest
     * (fold 2, fold 3 at 2/3 and the final fit at 1) is priced at 105 s
     * per weight: 70 + 70 + 105 = 245 s less what fold 2 has run (1 s). */
    rounds(&tp, HL_STAGE_CV, 2, 1, 1, 1000, &now);
    assert_false(isnan(tp.eta));
    assert_true(fabs(tp.eta - 244.0) < 1e-6);
    /* Elapsed 71 s of 71 + 244: the bar agrees with the estimate. */
    assert_true(fabs(tp.done - 71.0 / 315.0) < 1e-9);
    char *text = hs_train_progress_render(&tp);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"phase\":\"early_stopping\""));
    assert_non_null(
        strstr(text, "\"fold_curves\":[{\"fold\":1,\"loss\":\"valid\""));
    assert_non_null(strstr(text, "\"refit\":[]")); /* fold 2 has no refit yet */
    free(text);
    hs_train_progress_free(&tp);
}

static void a_refit_is_priced_by_its_rounds(void **state)
{
    (void)state;
    hs_train_progress tp;
    double now = 0;
    start(&tp, 0, 10);
    rounds(&tp, HL_STAGE_FINAL, 0, 1, 50, 1000, &now);
    assert_true(isnan(tp.eta));
    rounds(&tp, HL_STAGE_REFIT, 0, 1, 20, 80, &now); /* 20 s for 20 of 80 */
    assert_true(fabs(tp.eta - 60.0) < 1e-6);
    char *text = hs_train_progress_render(&tp);
    assert_non_null(strstr(text, "\"stage\":\"refit\""));
    assert_non_null(strstr(text, "\"phase\":\"refit\""));
    free(text);
    /* The final fit's curve stays; the refit has its own 20 points. */
    assert_int_equal(json_array_size(tp.train), 50);
    assert_int_equal(json_array_size(tp.refit), 20);
    hs_train_progress_free(&tp);
}

static void without_early_stopping_the_rounds_are_the_basis(void **state)
{
    (void)state;
    hs_train_progress tp;
    double now = 0;
    start(&tp, 0, 0);
    rounds(&tp, HL_STAGE_FINAL, 0, 1, 1, 200, &now); /* 0.5 %: too little */
    assert_true(isnan(tp.eta));
    rounds(&tp, HL_STAGE_FINAL, 0, 2, 50, 200, &now);
    assert_true(fabs(tp.eta - 150.0) < 1e-6);
    assert_true(fabs(tp.done - 0.25) < 1e-9);
    hs_train_progress_free(&tp);
}

static void fold_curves_are_thinned(void **state)
{
    (void)state;
    hs_train_progress tp;
    double now = 0;
    start(&tp, 3, 10);
    rounds(&tp, HL_STAGE_CV, 1, 1, 1000, 1000, &now);
    rounds(&tp, HL_STAGE_CV, 2, 1, 1, 1000, &now);
    json_t *points =
        json_object_get(json_array_get(tp.fold_curves, 0), "points");
    assert_true(json_array_size(points) <= HS_TRAIN_CURVE_POINTS + 1);
    assert_true(json_array_size(points) >= HS_TRAIN_CURVE_POINTS / 2);
    json_t *lastp = json_array_get(points, json_array_size(points) - 1);
    assert_int_equal(json_integer_value(json_array_get(lastp, 0)), 1000);
    /* A new attempt starts over. */
    hl_train_params p = gbdt_params(3, 10);
    assert_int_equal(hs_train_progress_start(&tp, &p, now), 0);
    assert_int_equal(json_array_size(tp.fold_curves), 0);
    assert_true(tp.done == 0 && isnan(tp.eta));
    hs_train_progress_free(&tp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_estimate_until_a_fold_ends),
        cmocka_unit_test(a_refit_is_priced_by_its_rounds),
        cmocka_unit_test(without_early_stopping_the_rounds_are_the_basis),
        cmocka_unit_test(fold_curves_are_thinned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
