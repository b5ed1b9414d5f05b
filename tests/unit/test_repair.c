/* test_repair.c - self-repair of a training (healer/repair.h).
 *
 * The health check on models that are fine and on models that are broken
 * in each way it knows (a constant predictor trained on data without
 * signal, NaN outputs and worse-than-guessing outputs from a stand-in
 * learner put into a real model, a NaN loss curve); the learners'
 * fallbacks and the plan, which must hold whatever learners the build has; the
 * fault-injection spec; and the driver with injected and real failures:
 * retries, stops on user errors and cancels, the attempts it returns,
 * determinism.
 */
#include <math.h>
#include <stdatomic.h>

#include "container.h"
#include "testutil.h"

static void set(hl_train_params *p, const char *name, double x)
{
    hl_error err;
    if (hl_train_params_set_number(p, name, x, &err) != HL_OK)
        fail_msg("setting %s: %s", name, err.message);
}

static hl_dataset *simulate(size_t samples, uint64_t seed)
{
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = samples;
    o.features = 6;
    o.classes = 3;
    o.seed = seed;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &ds, &err), HL_OK);
    return ds;
}

static hl_dataset *parse(const char *csv)
{
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    hl_dataset *ds = NULL;
    hl_error err;
    if (hl_dataset_parse_csv(csv, strlen(csv), "<test>", &opt, &ds, &err) !=
        HL_OK)
        fail_msg("parsing: %s", err.message);
    return ds;
}

/* 300 rows whose KPI `a` is the class index (0, 1, 2) and `b` noise. */
static hl_dataset *class_in_a(void)
{
    char *csv = malloc(300 * 32 + 32);
    size_t used = (size_t)sprintf(csv, "a,b,label\n");
    for (int i = 0; i < 300; i++)
        used += (size_t)sprintf(csv + used, "%d,%d,c%d\n", i % 3,
                                (i * 7919) % 101, i % 3);
    hl_dataset *ds = parse(csv);
    free(csv);
    return ds;
}

/* Two classes and one KPI with the same value on every row: no split can
 * tell them apart, so any tree model predicts one class. */
static hl_dataset *no_signal(void)
{
    char *csv = malloc(200 * 16 + 16);
    size_t used = (size_t)sprintf(csv, "a,label\n");
    for (int i = 0; i < 200; i++)
        used += (size_t)sprintf(csv + used, "5,%s\n", i % 2 ? "x" : "y");
    hl_dataset *ds = parse(csv);
    free(csv);
    return ds;
}

static hl_train_params small_params(void)
{
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 20);
    set(&p, "threads", 1);
    return p;
}

static hl_model *train(const hl_dataset *ds, const hl_train_params *p)
{
    hl_model *m = NULL;
    hl_error err;
    if (hl_train(ds, p, NULL, &m, &err) != HL_OK)
        fail_msg("training failed: %s", err.message);
    return m;
}

static hl_model_health check(const hl_model *m, const hl_dataset *ds)
{
    hl_model_health h;
    hl_error err;
    if (hl_model_check_health(m, ds, 1, &h, &err) != HL_OK)
        fail_msg("health check failed: %s", err.message);
    return h;
}

/* ---- a stand-in learner put into a trained model ------------------------ */

typedef enum stand_in_mode { OUTPUT_NAN, OUTPUT_NEXT_CLASS } stand_in_mode;

static hl_status nan_raw(const void *state, const hl__model_shape *shape,
                         const float *x, size_t n_rows, double *raw)
{
    (void)state;
    (void)x;
    for (size_t i = 0; i < n_rows * shape->n_classes; i++)
        raw[i] = NAN;
    return HL_OK;
}

/* Certain of the class after the true one (KPI a is the class index). */
static hl_status next_class_raw(const void *state, const hl__model_shape *shape,
                                const float *x, size_t n_rows, double *raw)
{
    (void)state;
    const size_t K = shape->n_classes;
    for (size_t i = 0; i < n_rows; i++) {
        size_t c = (size_t)x[i * shape->n_features];
        for (size_t k = 0; k < K; k++)
            raw[i * K + k] = k == (c + 1) % K ? 1.0 : 0.0;
    }
    return HL_OK;
}

static void no_free(void *state)
{
    (void)state;
}

static const hl__learner NAN_LEARNER = {
    .info = {.name = "nan-test", .summary = "outputs NaN"},
    .version = HL__LEARNER_VERSION,
    .predict_raw = nan_raw,
    .free = no_free,
};

static const hl__learner NEXT_CLASS_LEARNER = {
    .info = {.name = "next-class-test", .summary = "always wrong"},
    .version = HL__LEARNER_VERSION,
    .predict_raw = next_class_raw,
    .free = no_free,
};

static void put_learner(hl_model *m, stand_in_mode mode)
{
    m->learner->free(m->fitted.state);
    m->learner = mode == OUTPUT_NAN ? &NAN_LEARNER : &NEXT_CLASS_LEARNER;
    m->fitted = (hl__fitted){.state = NULL,
                             .n_outputs = m->summary.n_classes,
                             .link = HL__LINK_PROBA};
}

/* ---- the health check --------------------------------------------------- */

static void healthy_model(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(600, 3);
    hl_train_params p = small_params();
    hl_model *m = train(ds, &p);
    hl_model_health h = check(m, ds);
    assert_int_equal(h.degenerate, 0);
    assert_string_equal(h.reason, "");
    assert_string_equal(h.score_source, "hold-out");
    assert_true(h.score_rows >= HL_HEALTH_MIN_ROWS);
    assert_true(fabs(h.baseline - 1.0 / 3.0) < 1e-12);
    assert_true(h.macro_f1 > 0.5);
    assert_int_equal(h.rows_checked, 600);
    assert_int_equal(h.nonfinite_rows, 0);
    assert_int_equal(h.predicted_classes, 3);
    hl_model_free(m);

    /* Without a hold-out: cross-validation, else the training rows. */
    set(&p, "early_stopping_rounds", 0);
    m = train(ds, &p);
    h = check(m, ds);
    assert_int_equal(h.degenerate, 0);
    assert_string_equal(h.score_source, "training rows");
    hl_model_free(m);
    set(&p, "cv_folds", 3);
    m = train(ds, &p);
    h = check(m, ds);
    assert_int_equal(h.degenerate, 0);
    assert_string_equal(h.score_source, "cross-validation");
    assert_int_equal(h.score_rows, 600);
    hl_model_free(m);

    /* A forest has no hold-out: its out-of-bag estimate, on rows its trees
     * did not see, is judged rather than the training rows it memorised. */
    hl_train_params f;
    hl_train_params_init(&f);
    assert_int_equal(hl_train_params_set_algo(&f, "forest", NULL), HL_OK);
    set(&f, "trees", 30);
    set(&f, "threads", 1);
    m = train(ds, &f);
    h = check(m, ds);
    assert_int_equal(h.degenerate, 0);
    assert_string_equal(h.score_source, "out-of-bag rows");
    assert_int_equal(h.score_rows, hl_model_summary_get(m)->oob_rows);
    assert_true(h.macro_f1 == hl_model_summary_get(m)->oob_macro_f1);
    assert_true(fabs(h.baseline - 1.0 / 3.0) < 1e-12);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void constant_model_is_degenerate(void **state)
{
    (void)state;
    hl_dataset *ds = no_signal();
    hl_train_params p = small_params();
    hl_model *m = train(ds, &p);
    hl_model_health h = check(m, ds);
    assert_int_equal(h.degenerate, 1);
    assert_int_equal(h.predicted_classes, 1);
    assert_non_null(strstr(h.reason, "constant predictor: class"));
    assert_non_null(strstr(h.reason, "all 200 sampled training rows"));
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void nan_outputs_are_degenerate(void **state)
{
    (void)state;
    hl_dataset *ds = class_in_a();
    hl_train_params p = small_params();
    hl_model *m = train(ds, &p);
    assert_int_equal(check(m, ds).degenerate, 0);
    put_learner(m, OUTPUT_NAN);
    hl_model_health h = check(m, ds);
    assert_int_equal(h.degenerate, 1);
    assert_int_equal(h.nonfinite_rows, 300);
    assert_non_null(strstr(h.reason, "NaN or infinite"));
    hl_model_free(m);

    /* A NaN training loss says it first. */
    m = train(ds, &p);
    m->summary.curve_train_loss[m->summary.curve_len - 1] = NAN;
    h = check(m, ds);
    assert_int_equal(h.degenerate, 1);
    assert_non_null(strstr(h.reason, "training loss is not a finite number"));
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void worse_than_guessing_is_degenerate(void **state)
{
    (void)state;
    hl_dataset *ds = class_in_a();
    hl_train_params p = small_params();
    set(&p, "early_stopping_rounds", 0); /* scored on the training rows */
    hl_model *m = train(ds, &p);
    put_learner(m, OUTPUT_NEXT_CLASS);
    hl_model_health h = check(m, ds);
    assert_int_equal(h.degenerate, 1);
    assert_int_equal(h.predicted_classes, 3); /* not constant: wrong */
    assert_string_equal(h.score_source, "training rows");
    assert_true(h.macro_f1 < 1e-12);
    assert_non_null(strstr(h.reason, "far below the class-prior baseline"));
    assert_non_null(strstr(h.reason, "0.333"));
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* 1 when s is well-formed UTF-8 (no sequence cut short). */
static int utf8_whole(const char *s)
{
    for (const unsigned char *u = (const unsigned char *)s; *u;) {
        size_t len = *u < 0x80 ? 1 : *u >= 0xF0 ? 4 : *u >= 0xE0 ? 3 : 2;
        for (size_t i = 1; i < len; i++)
            if ((u[i] & 0xC0) != 0x80)
                return 0;
        u += len;
    }
    return 1;
}

/* A long label is cut in the reason between characters, never inside
 * one: the service puts reasons into JSON, whose strings must be UTF-8. */
static void reasons_stay_utf8(void **state)
{
    (void)state;
    char label[2 + 2 * 80 + 1] = "a"; /* "a" then 80 x U+00E9 (2 bytes) */
    for (int i = 0; i < 80; i++)
        strcat(label, "\xc3\xa9");
    char *csv = malloc(200 * 200 + 16);
    size_t used = (size_t)sprintf(csv, "k,label\n");
    for (int i = 0; i < 200; i++)
        used += (size_t)sprintf(csv + used, "5,%s%s\n", label,
                                i % 2 ? "x" : "y");
    hl_dataset *ds = parse(csv);
    free(csv);
    hl_train_params p = small_params();
    hl_train_attempts at;
    hl_model *m = NULL;
    hl_error err;
    assert_int_equal(hl_train_repair(ds, &p, NULL, NULL, &m, &at, &err),
                     HL_ERR_DATA);
    assert_true(at.count >= 2);
    for (size_t i = 0; i < at.count; i++) {
        assert_non_null(strstr(at.item[i].reason, "constant predictor"));
        /* an odd cut: the "a" makes byte 100 fall inside a character */
        assert_non_null(strstr(at.item[i].reason, "'a\xc3\xa9"));
        assert_true(utf8_whole(at.item[i].reason));
    }
    assert_true(utf8_whole(err.message));
    hl_dataset_free(ds);
}

static void health_check_errors(void **state)
{
    (void)state;
    hl_dataset *ds = class_in_a();
    hl_train_params p = small_params();
    hl_model *m = train(ds, &p);
    hl_dataset *other = parse("x,label\n1,c0\n2,c1\n");
    hl_model_health h;
    hl_error err;
    assert_int_equal(hl_model_check_health(m, other, 1, &h, &err), HL_ERR_DATA);
    assert_non_null(strstr(err.message, "'a'"));
    hl_dataset_free(other);
    other = parse("a,b,label\n1,2,zz\n");
    assert_int_equal(hl_model_check_health(m, other, 1, &h, &err), HL_ERR_DATA);
    assert_non_null(strstr(err.message, "no row has a label"));
    assert_int_equal(hl_model_check_health(NULL, ds, 1, &h, &err),
                     HL_ERR_INVALID);
    hl_dataset_free(other);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* ---- the fallbacks and the plan ----------------------------------------- */

static void fallbacks(void **state)
{
    (void)state;
    assert_string_equal(hl_repair_fallback("gbdt"), "forest");
    assert_string_equal(hl_repair_fallback("forest"), "gbdt");
    assert_string_equal(hl_repair_fallback("extratrees"), "gbdt");
    assert_string_equal(hl_repair_fallback("mlp"), "forest");
    assert_string_equal(hl_repair_fallback("stack"), "gbdt");
    assert_null(hl_repair_fallback("no-such-learner"));
    assert_null(hl_repair_fallback(NULL));
    /* Every learner of the build falls back to another learner of the
     * build, or to none. */
    for (size_t l = 0; l < hl_learner_count(); l++) {
        const char *name = hl_learner_at(l)->name;
        const char *to = hl_repair_fallback(name);
        assert_true(!to || strcmp(to, name) != 0);
        assert_true(!to || hl_learner_find(to) != NULL);
    }
}

static void plan_for_every_learner(void **state)
{
    (void)state;
    for (size_t l = 0; l < hl_learner_count(); l++) {
        hl_train_params p;
        hl_train_params_init(&p);
        assert_int_equal(
            hl_train_params_set_algo(&p, hl_learner_at(l)->name, NULL), HL_OK);
        set(&p, "seed", 7);
        hl_repair_plan plan;
        hl_repair_plan_make(&p, &plan);
        const char *to = hl_repair_fallback(p.algo);
        int other = to && hl_learner_find(to);
        assert_int_equal(plan.count, other ? 3 : 2);
        assert_int_equal(plan.step[0], HL_REPAIR_REQUESTED);
        assert_memory_equal(&plan.params[0], &p, sizeof p);
        if (other) {
            assert_int_equal(plan.step[1], HL_REPAIR_OTHER_LEARNER);
            assert_string_equal(plan.params[1].algo, to);
            assert_int_equal(plan.params[1].seed, 7); /* shared kept */
        }
        size_t last = plan.count - 1;
        hl_train_params safer = p;
        hl_train_params_safer(&safer);
        assert_int_equal(plan.step[last], HL_REPAIR_SAFER);
        assert_string_equal(plan.params[last].algo, p.algo);
        assert_memory_equal(&plan.params[last], &safer, sizeof safer);
        assert_int_equal(plan.params[last].threads, 1);
        for (size_t i = 0; i < plan.count; i++) {
            hl_error err;
            if (hl_train_params_validate(&plan.params[i], &err) != HL_OK)
                fail_msg("attempt %zu of %s: %s", i + 1, p.algo, err.message);
        }
    }
    assert_string_equal(hl_repair_step_name(HL_REPAIR_REQUESTED), "requested");
    assert_string_equal(hl_repair_step_name(HL_REPAIR_OTHER_LEARNER),
                        "other_learner");
    assert_string_equal(hl_repair_step_name(HL_REPAIR_SAFER),
                        "safer_parameters");
}

static void plan_leaves_out_repeats(void **state)
{
    (void)state;
    /* Parameters that are already as safe as safer makes them. */
    hl_train_params p;
    hl_train_params_init(&p);
    hl_train_params_safer(&p);
    hl_repair_plan plan;
    hl_repair_plan_make(&p, &plan);
    const char *to = hl_repair_fallback(p.algo);
    assert_int_equal(plan.count, to && hl_learner_find(to) ? 2 : 1);
    for (size_t i = 0; i < plan.count; i++)
        assert_int_not_equal(plan.step[i], HL_REPAIR_SAFER);
}

/* ---- fault injection ---------------------------------------------------- */

static void fault_specs(void **state)
{
    (void)state;
    hl_repair_faults f;
    hl_error err;
    assert_int_equal(hl_repair_faults_parse(NULL, &f, &err), HL_OK);
    assert_int_equal(f.at[0] | f.at[1] | f.at[2], HL_FAULT_NONE);
    assert_int_equal(hl_repair_faults_parse("", &f, &err), HL_OK);
    assert_int_equal(hl_repair_faults_parse("train_first_attempt", &f, &err),
                     HL_OK);
    assert_int_equal(f.at[0], HL_FAULT_FAIL);
    assert_int_equal(f.at[1], HL_FAULT_NONE);
    assert_int_equal(
        hl_repair_faults_parse("attempt1=degenerate,attempt3=fail", &f, &err),
        HL_OK);
    assert_int_equal(f.at[0], HL_FAULT_DEGENERATE);
    assert_int_equal(f.at[1], HL_FAULT_NONE);
    assert_int_equal(f.at[2], HL_FAULT_FAIL);
    assert_int_equal(
        hl_repair_faults_parse("attempts=fail,attempt2=degenerate", &f, &err),
        HL_OK);
    assert_int_equal(f.at[0], HL_FAULT_FAIL);
    assert_int_equal(f.at[1], HL_FAULT_DEGENERATE);
    assert_int_equal(f.at[2], HL_FAULT_FAIL);
    assert_int_equal(hl_repair_faults_parse("attempt2=diverge", &f, &err),
                     HL_OK);
    assert_int_equal(f.at[0], HL_FAULT_NONE);
    assert_int_equal(f.at[1], HL_FAULT_DIVERGE);
    static const char *const bad[] = {
        "attempt4=fail",
        "attempt0=fail",
        "attempt1=crash",
        "attempt1",
        "attempt1=diverged",
        "attempts=FAIL",
        "attempt1 =fail",
        "attempts=",
        "fail",
        "attempt1=fail,",
        "attempt12=fail",
        "train_first_attempt=fail",
        ",attempt1=fail",
        "attempt1=fail,,attempt2=fail",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hl_repair_faults keep = {{9, 9, 9}};
        if (hl_repair_faults_parse(bad[i], &keep, &err) != HL_ERR_INVALID)
            fail_msg("'%s' should be refused", bad[i]);
        assert_non_null(strstr(err.message, "fault injection"));
        assert_int_equal(keep.at[0], 9); /* unchanged */
    }
}

static void retryable_errors(void **state)
{
    (void)state;
    assert_true(hl_train_error_retryable(HL_ERR_NOMEM));
    assert_true(hl_train_error_retryable(HL_ERR_IO));
    assert_true(hl_train_error_retryable(HL_ERR_INTERNAL));
    /* the MLP's loss went NaN: another learner or a smaller step */
    assert_true(hl_train_error_retryable(HL_ERR_DIVERGED));
    /* a code this build does not know yet */
    assert_true(hl_train_error_retryable((hl_status)(HL_ERR_DIVERGED + 1)));
    assert_false(hl_train_error_retryable(HL_OK));
    assert_false(hl_train_error_retryable(HL_ERR_INVALID));
    assert_false(hl_train_error_retryable(HL_ERR_DATA));
    assert_false(hl_train_error_retryable(HL_ERR_LIMIT));
    assert_false(hl_train_error_retryable(HL_ERR_PARSE));
    assert_false(hl_train_error_retryable(HL_ERR_FORMAT));
    assert_false(hl_train_error_retryable(HL_ERR_VERSION));
    assert_false(hl_train_error_retryable(HL_ERR_CANCELLED));
}

/* ---- the driver --------------------------------------------------------- */

typedef struct attempt_log {
    unsigned calls;
    unsigned numbers[HL_REPAIR_MAX_ATTEMPTS];
    hl_repair_step steps[HL_REPAIR_MAX_ATTEMPTS];
    int had_previous[HL_REPAIR_MAX_ATTEMPTS];
    hl_attempt_outcome previous_outcome[HL_REPAIR_MAX_ATTEMPTS];
    unsigned done_calls; /* on_attempt_done */
    hl_attempt_outcome done_outcome[HL_REPAIR_MAX_ATTEMPTS];
} attempt_log;

static void on_attempt(unsigned number, hl_repair_step step,
                       const hl_train_params *params,
                       const hl_train_attempt *previous, void *user)
{
    attempt_log *log = user;
    assert_non_null(params);
    assert_true(log->calls < HL_REPAIR_MAX_ATTEMPTS);
    log->numbers[log->calls] = number;
    log->steps[log->calls] = step;
    log->had_previous[log->calls] = previous != NULL;
    log->previous_outcome[log->calls] =
        previous ? previous->outcome : HL_ATTEMPT_SUCCEEDED;
    log->calls++;
}

/* An attempt ends after it started, in order, with its outcome known. */
static void on_attempt_done(const hl_train_attempt *a, void *user)
{
    attempt_log *log = user;
    assert_int_equal(a->number, log->done_calls + 1);
    assert_int_equal(log->calls, a->number);
    assert_true(a->seconds >= 0);
    log->done_outcome[log->done_calls++] = a->outcome;
}

/* The plan of a gbdt training: the caller's, the forest standing in, the
 * caller's gbdt made safer. */
static hl_repair_plan three_attempts(const hl_train_params *first)
{
    hl_repair_plan plan;
    hl_repair_plan_make(first, &plan);
    assert_int_equal(plan.count, 3);
    assert_string_equal(plan.params[0].algo, "gbdt");
    assert_string_equal(plan.params[1].algo, "forest");
    assert_string_equal(plan.params[2].algo, "gbdt");
    return plan;
}

static void driver_first_attempt_succeeds(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 5);
    hl_train_params p = small_params();
    attempt_log log = {0};
    hl_repair_options opt = {.on_attempt = on_attempt, .user = &log};
    hl_train_attempts at;
    hl_model *m = NULL;
    hl_error err;
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &m, &at, &err), HL_OK);
    assert_non_null(m);
    assert_int_equal(at.count, 1);
    assert_int_equal(at.item[0].number, 1);
    assert_int_equal(at.item[0].outcome, HL_ATTEMPT_SUCCEEDED);
    assert_int_equal(at.item[0].status, HL_OK);
    assert_string_equal(at.item[0].reason, "");
    assert_true(at.item[0].seconds >= 0);
    assert_int_equal(log.calls, 1);
    assert_int_equal(log.had_previous[0], 0);
    hl_model_free(m);
    /* NULL options and attempts are fine. */
    assert_int_equal(hl_train_repair(ds, &p, NULL, NULL, &m, NULL, &err),
                     HL_OK);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void driver_retries_an_injected_failure(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 5);
    hl_train_params p = small_params();
    hl_repair_faults faults;
    hl_error err;
    assert_int_equal(hl_repair_faults_parse("attempt1=fail", &faults, &err),
                     HL_OK);
    hl_repair_plan plan;
    hl_repair_plan_make(&p, &plan);
    attempt_log log = {0};
    hl_repair_options opt = {.faults = &faults,
                             .on_attempt = on_attempt,
                             .on_attempt_done = on_attempt_done,
                             .user = &log};
    hl_train_attempts at;
    hl_model *m = NULL;
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &m, &at, &err), HL_OK);
    assert_int_equal(at.count, 2);
    assert_int_equal(at.item[0].outcome, HL_ATTEMPT_FAILED);
    assert_int_equal(at.item[0].status, HL_ERR_INTERNAL);
    assert_non_null(strstr(at.item[0].reason, "injected failure (attempt 1"));
    assert_int_equal(at.item[1].outcome, HL_ATTEMPT_SUCCEEDED);
    assert_int_equal(at.item[1].step, plan.step[1]);
    assert_memory_equal(&at.item[1].params, &plan.params[1], sizeof p);
    /* The model is the second attempt's: the stand-in learner's. */
    assert_string_equal(plan.params[1].algo, "forest");
    assert_string_equal(hl_model_summary_get(m)->algo, "forest");
    assert_int_equal(log.calls, 2);
    assert_int_equal(log.numbers[1], 2);
    assert_int_equal(log.had_previous[1], 1);
    assert_int_equal(log.previous_outcome[1], HL_ATTEMPT_FAILED);
    assert_int_equal(log.done_calls, 2);
    assert_int_equal(log.done_outcome[0], HL_ATTEMPT_FAILED);
    assert_int_equal(log.done_outcome[1], HL_ATTEMPT_SUCCEEDED);
    hl_model_free(m);

    /* An injected degenerate model is retried the same way. */
    memset(&log, 0, sizeof log);
    assert_int_equal(
        hl_repair_faults_parse("attempt1=degenerate", &faults, &err), HL_OK);
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &m, &at, &err), HL_OK);
    assert_int_equal(at.count, 2);
    assert_int_equal(at.item[0].outcome, HL_ATTEMPT_DEGENERATE);
    assert_int_equal(at.item[0].status, HL_OK);
    assert_non_null(strstr(at.item[0].reason, "injected degenerate model"));
    assert_int_equal(at.item[1].outcome, HL_ATTEMPT_SUCCEEDED);
    hl_model_free(m);

    /* max_attempts 1: no retry, the error as it was. */
    assert_int_equal(hl_repair_faults_parse("attempt1=fail", &faults, &err),
                     HL_OK);
    opt.max_attempts = 1;
    memset(&log, 0, sizeof log);
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &m, &at, &err),
                     HL_ERR_INTERNAL);
    assert_null(m);
    assert_int_equal(at.count, 1);
    assert_non_null(strstr(err.message, "injected failure"));
    assert_null(strstr(err.message, "attempts"));
    hl_dataset_free(ds);
}

/* The MLP's loss going NaN is HL_ERR_DIVERGED: retried, with the forest
 * standing in; divergence on every attempt ends with that status. */
static void driver_retries_a_divergence(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 5);
    hl_train_params p;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, "mlp", NULL), HL_OK);
    set(&p, "epochs", 5);
    set(&p, "threads", 1);
    hl_repair_faults faults;
    hl_error err;
    assert_int_equal(hl_repair_faults_parse("attempt1=diverge", &faults, &err),
                     HL_OK);
    hl_repair_options opt = {.faults = &faults};
    hl_train_attempts at;
    hl_model *m = NULL;
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &m, &at, &err), HL_OK);
    assert_int_equal(at.count, 2);
    assert_int_equal(at.item[0].outcome, HL_ATTEMPT_FAILED);
    assert_int_equal(at.item[0].status, HL_ERR_DIVERGED);
    assert_non_null(strstr(at.item[0].reason, "injected divergence"));
    assert_int_equal(at.item[1].step, HL_REPAIR_OTHER_LEARNER);
    assert_string_equal(at.item[1].params.algo, "forest");
    assert_string_equal(hl_model_summary_get(m)->algo, "forest");
    hl_model_free(m);

    assert_int_equal(hl_repair_faults_parse("attempts=diverge", &faults, &err),
                     HL_OK);
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &m, &at, &err),
                     HL_ERR_DIVERGED);
    assert_null(m);
    assert_int_equal(at.count, 3);
    assert_int_equal(at.item[2].step, HL_REPAIR_SAFER);
    assert_string_equal(at.item[2].params.algo, "mlp");
    assert_string_equal(err.field, "learning_rate");
    assert_non_null(strstr(err.message, "training failed after 3 attempts; "
                                        "the last (mlp, safer parameters): "
                                        "injected divergence"));
    hl_dataset_free(ds);
}

static void driver_all_attempts_fail(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 5);
    hl_train_params p = small_params();
    hl_repair_plan plan = three_attempts(&p);
    hl_repair_faults faults;
    hl_error err;
    assert_int_equal(hl_repair_faults_parse("attempts=fail,attempt2=degenerate",
                                            &faults, &err),
                     HL_OK);
    attempt_log log = {0};
    hl_repair_options opt = {.plan = &plan,
                             .faults = &faults,
                             .on_attempt = on_attempt,
                             .on_attempt_done = on_attempt_done,
                             .user = &log};
    hl_train_attempts at;
    hl_model *m = NULL;
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &m, &at, &err),
                     HL_ERR_INTERNAL);
    assert_null(m);
    assert_int_equal(at.count, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(at.item[i].number, i + 1);
        assert_int_equal(at.item[i].step, plan.step[i]);
        assert_memory_equal(&at.item[i].params, &plan.params[i], sizeof p);
        assert_int_equal(log.numbers[i], i + 1);
        assert_int_equal(log.steps[i], plan.step[i]);
    }
    assert_int_equal(at.item[0].outcome, HL_ATTEMPT_FAILED);
    assert_int_equal(at.item[1].outcome, HL_ATTEMPT_DEGENERATE);
    assert_int_equal(at.item[2].outcome, HL_ATTEMPT_FAILED);
    assert_int_equal(log.previous_outcome[2], HL_ATTEMPT_DEGENERATE);
    assert_int_equal(log.done_calls, 3);
    assert_int_equal(log.done_outcome[2], HL_ATTEMPT_FAILED);
    assert_int_equal(err.code, HL_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "training failed after 3 attempts; "
                                        "the last (gbdt, safer parameters): "
                                        "injected failure (attempt 3"));
    hl_dataset_free(ds);
}

static void driver_degenerate_data_fails_every_attempt(void **state)
{
    (void)state;
    hl_dataset *ds = no_signal();
    hl_train_params p = small_params();
    hl_repair_plan plan;
    hl_repair_plan_make(&p, &plan);
    hl_train_attempts at;
    hl_model *m = NULL;
    hl_error err;
    assert_int_equal(hl_train_repair(ds, &p, NULL, NULL, &m, &at, &err),
                     HL_ERR_DATA);
    assert_null(m);
    assert_int_equal(at.count, plan.count);
    for (size_t i = 0; i < at.count; i++) {
        assert_int_equal(at.item[i].outcome, HL_ATTEMPT_DEGENERATE);
        assert_non_null(strstr(at.item[i].reason, "constant predictor"));
    }
    assert_non_null(strstr(err.message, "the model is degenerate: constant"));
    hl_dataset_free(ds);
}

static void driver_stops_on_user_errors(void **state)
{
    (void)state;
    hl_dataset *one = parse("a,label\n1,x\n2,x\n3,x\n");
    hl_train_params p = small_params();
    hl_train_attempts at;
    hl_model *m = NULL;
    hl_error err;
    assert_int_equal(hl_train_repair(one, &p, NULL, NULL, &m, &at, &err),
                     HL_ERR_DATA);
    assert_int_equal(at.count, 1);
    assert_int_equal(at.item[0].outcome, HL_ATTEMPT_FAILED);
    assert_int_equal(at.item[0].status, HL_ERR_DATA);
    assert_non_null(strstr(err.message, "at least two classes"));
    assert_null(strstr(err.message, "attempts"));
    hl_dataset_free(one);

    hl_dataset *ds = simulate(200, 5);
    set(&p, "max_depth", 0); /* needs max_leaves */
    assert_int_equal(hl_train_repair(ds, &p, NULL, NULL, &m, &at, &err),
                     HL_ERR_INVALID);
    assert_int_equal(at.count, 1);
    assert_string_equal(err.field, "max_depth");
    assert_null(m);
    hl_dataset_free(ds);
}

static void driver_does_not_retry_a_cancel(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 5);
    hl_train_params p = small_params();
    atomic_int cancel = 1;
    hl_train_control ctl = {NULL, NULL, &cancel};
    hl_train_attempts at;
    hl_model *m = NULL;
    hl_error err;
    assert_int_equal(hl_train_repair(ds, &p, &ctl, NULL, &m, &at, &err),
                     HL_ERR_CANCELLED);
    assert_null(m);
    assert_int_equal(at.count, 1);
    assert_int_equal(at.item[0].outcome, HL_ATTEMPT_CANCELLED);
    assert_int_equal(at.item[0].status, HL_ERR_CANCELLED);
    /* Also after a failure: the retry is cancelled, not retried again. */
    hl_repair_faults faults = {{HL_FAULT_FAIL, 0, 0}};
    hl_repair_options opt = {.faults = &faults};
    assert_int_equal(hl_train_repair(ds, &p, &ctl, &opt, &m, &at, &err),
                     HL_ERR_CANCELLED);
    assert_int_equal(at.count, 2);
    assert_int_equal(at.item[1].outcome, HL_ATTEMPT_CANCELLED);
    hl_dataset_free(ds);
}

static void driver_is_deterministic(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 11);
    hl_train_params p = small_params();
    hl_repair_plan plan = three_attempts(&p);
    hl_repair_faults faults = {{HL_FAULT_DEGENERATE, HL_FAULT_FAIL, 0}};
    hl_repair_options opt = {.plan = &plan, .faults = &faults};
    hl_train_attempts a, b;
    hl_model *ma = NULL, *mb = NULL;
    hl_error err;
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &ma, &a, &err), HL_OK);
    assert_int_equal(hl_train_repair(ds, &p, NULL, &opt, &mb, &b, &err), HL_OK);
    assert_int_equal(a.count, 3);
    assert_int_equal(b.count, 3);
    for (size_t i = 0; i < a.count; i++) {
        assert_int_equal(a.item[i].outcome, b.item[i].outcome);
        assert_int_equal(a.item[i].status, b.item[i].status);
        assert_string_equal(a.item[i].reason, b.item[i].reason);
        assert_memory_equal(&a.item[i].params, &b.item[i].params, sizeof p);
    }
    /* The same model: the same probabilities, bit for bit. */
    size_t K = hl_model_n_classes(ma);
    double *pa = malloc(ds->n_rows * K * sizeof *pa);
    double *pb = malloc(ds->n_rows * K * sizeof *pb);
    assert_int_equal(hl_model_predict_dataset(ma, ds, 1, pa, NULL, &err),
                     HL_OK);
    assert_int_equal(hl_model_predict_dataset(mb, ds, 1, pb, NULL, &err),
                     HL_OK);
    assert_memory_equal(pa, pb, ds->n_rows * K * sizeof *pa);
    free(pa);
    free(pb);
    hl_model_free(ma);
    hl_model_free(mb);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(healthy_model),
        cmocka_unit_test(constant_model_is_degenerate),
        cmocka_unit_test(nan_outputs_are_degenerate),
        cmocka_unit_test(worse_than_guessing_is_degenerate),
        cmocka_unit_test(health_check_errors),
        cmocka_unit_test(reasons_stay_utf8),
        cmocka_unit_test(fallbacks),
        cmocka_unit_test(plan_for_every_learner),
        cmocka_unit_test(plan_leaves_out_repeats),
        cmocka_unit_test(fault_specs),
        cmocka_unit_test(retryable_errors),
        cmocka_unit_test(driver_first_attempt_succeeds),
        cmocka_unit_test(driver_retries_an_injected_failure),
        cmocka_unit_test(driver_retries_a_divergence),
        cmocka_unit_test(driver_all_attempts_fail),
        cmocka_unit_test(driver_degenerate_data_fails_every_attempt),
        cmocka_unit_test(driver_stops_on_user_errors),
        cmocka_unit_test(driver_does_not_retry_a_cancel),
        cmocka_unit_test(driver_is_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
