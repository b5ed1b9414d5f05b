/* test_train.c - the gradient-boosted tree learner end to end.
 *
 * Trains on simulated data (the project's own, deterministic) and checks
 * what a user relies on: it learns the fault signatures, it is
 * deterministic for a seed whatever the thread count, parameters are
 * validated, progress and cancel work, columns are matched by name.
 */
#include <math.h>
#include <stdatomic.h>

#include "container.h"
#include "learners/gbdt/gbdt.h"
#include "testutil.h"

/* Sets a parameter by name; it must be accepted. */
static void set(hl_train_params *p, const char *name, double x)
{
    hl_error err;
    if (hl_train_params_set_number(p, name, x, &err) != HL_OK)
        fail_msg("setting %s: %s", name, err.message);
}

static hl_dataset *simulate(size_t samples, size_t features, size_t classes,
                            uint64_t seed, int string_labels)
{
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = samples;
    o.features = features;
    o.classes = classes;
    o.seed = seed;
    o.string_labels = string_labels;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &ds, &err), HL_OK);
    return ds;
}

/* Splits ds into the first n_train rows and the rest. */
static void split(const hl_dataset *ds, size_t n_train, hl_dataset **train,
                  hl_dataset **test)
{
    size_t *rows = malloc(ds->n_rows * sizeof *rows);
    for (size_t i = 0; i < ds->n_rows; i++)
        rows[i] = i;
    hl_error err;
    assert_int_equal(hl_dataset_subset(ds, rows, n_train, train, &err), HL_OK);
    assert_int_equal(hl_dataset_subset(ds, rows + n_train, ds->n_rows - n_train,
                                       test, &err),
                     HL_OK);
    free(rows);
}

static hl_model *train(const hl_dataset *ds, const hl_train_params *p)
{
    hl_model *m = NULL;
    hl_error err;
    hl_status rc = hl_train(ds, p, NULL, &m, &err);
    if (rc != HL_OK)
        fail_msg("training failed: %s", err.message);
    return m;
}

static double macro_f1_on(const hl_model *m, const hl_dataset *ds)
{
    size_t n = ds->n_rows, K = hl_model_n_classes(m);
    double *proba = malloc(n * K * sizeof *proba);
    int32_t *y = malloc(n * sizeof *y), *pred = malloc(n * sizeof *pred);
    hl_error err;
    assert_int_equal(hl_model_predict_dataset(m, ds, 0, proba, NULL, &err), HL_OK);
    assert_int_equal(hl_model_map_labels(m, ds, y, NULL, &err), HL_OK);
    for (size_t i = 0; i < n; i++)
        pred[i] = hl_predict_argmax(proba + i * K, K);
    hl_metrics met;
    assert_int_equal(hl_metrics_compute(y, pred, proba, n, K, &met, &err), HL_OK);
    double f1 = met.macro_f1;
    hl_metrics_free(&met);
    free(proba);
    free(y);
    free(pred);
    return f1;
}

static void learns_simulated_faults(void **state)
{
    (void)state;
    hl_dataset *all = simulate(3000, 24, 6, 7, 0), *tr, *te;
    split(all, 2000, &tr, &te);
    hl_train_params p;
    hl_train_params_init(&p);
    const int rounds = tu_quick() ? 60 : 200;
    set(&p, "rounds", rounds);
    hl_model *m = train(tr, &p);
    double f1 = macro_f1_on(m, te);
    print_message("held-out macro-F1 on simulated faults: %.4f\n", f1);
    assert_true(f1 > 0.90);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_int_equal(s->n_classes, 6);
    assert_true(s->has_validation);
    assert_true(s->iterations_done >= 1 && s->iterations_done <= (size_t)rounds);
    /* Early stopping chose a round; the refit on all rows scales it up. */
    assert_true(s->best_iteration >= 1 && s->best_iteration <= s->curve_len);
    assert_true(s->iterations_done >= s->best_iteration);
    assert_int_equal(s->rows_train, 2000 - s->duplicate_rows);
    assert_int_equal(s->n_trees, s->iterations_done * 6);
    /* The signature KPIs carry the gain: importance is not uniform. */
    double total = 0, top = 0;
    for (size_t f = 0; f < s->n_features; f++) {
        total += s->importance_gain[f];
        if (s->importance_gain[f] > top)
            top = s->importance_gain[f];
    }
    assert_true(top > 2.0 * total / (double)s->n_features);
    hl_model_free(m);
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

static void binary_and_string_labels(void **state)
{
    (void)state;
    hl_dataset *all = simulate(1500, 12, 2, 3, 1), *tr, *te;
    split(all, 1000, &tr, &te);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 80);
    hl_model *m = train(tr, &p);
    assert_int_equal(hl_model_n_classes(m), 2);
    assert_string_equal(hl_model_class_name(m, 0), all->class_names[0]);
    assert_string_equal(hl_model_class_name(m, 1), all->class_names[1]);
    assert_true(m->fitted.n_outputs == 1); /* logistic, one tree per round */
    assert_true(macro_f1_on(m, te) > 0.85);
    hl_model_free(m);
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

static double *predict_all(const hl_model *m, const hl_dataset *ds, int threads)
{
    double *proba = malloc(ds->n_rows * hl_model_n_classes(m) * sizeof *proba);
    hl_error err;
    assert_int_equal(hl_model_predict_dataset(m, ds, threads, proba, NULL, &err),
                     HL_OK);
    return proba;
}

static void deterministic_across_threads(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(1200, 16, 4, 11, 0);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 30);
    set(&p, "subsample", 0.8);
    set(&p, "colsample", 0.7);
    hl_model *models[3];
    int threads[3] = {1, 2, 3};
    for (int i = 0; i < 3; i++) {
        p.threads = threads[i];
        models[i] = train(ds, &p);
    }
    size_t bytes = ds->n_rows * 4 * sizeof(double);
    double *ref = predict_all(models[0], ds, 1);
    for (int i = 1; i < 3; i++) {
        double *other = predict_all(models[i], ds, 2);
        assert_memory_equal(ref, other, bytes);
        free(other);
    }
    /* A different seed changes the sampled rows, hence the model. */
    p.seed = 43;
    hl_model *other_seed = train(ds, &p);
    double *diff = predict_all(other_seed, ds, 1);
    assert_true(memcmp(ref, diff, bytes) != 0);
    free(diff);
    hl_model_free(other_seed);
    free(ref);
    for (int i = 0; i < 3; i++)
        hl_model_free(models[i]);
    hl_dataset_free(ds);
}

/* The container cuts rows into chunks for threads; a row's probabilities
 * must not depend on the rows predicted with it. */
static void predictions_do_not_depend_on_chunks(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(1500, 8, 3, 17, 0);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 15);
    hl_model *m = train(ds, &p);
    const size_t K = 3, nf = ds->n_features, n = ds->n_rows;
    double *all = predict_all(m, ds, 2);
    double *part = malloc(n * K * sizeof *part);
    hl_error err;
    const size_t steps[] = {1, 7, 300, 1000};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        for (size_t at = 0; at < n; at += steps[s]) {
            size_t len = n - at < steps[s] ? n - at : steps[s];
            assert_int_equal(hl_model_predict_matrix(m, ds->x + at * nf, len, 2,
                                                     part + at * K, &err),
                             HL_OK);
        }
        assert_memory_equal(all, part, n * K * sizeof *all);
    }
    free(part);
    free(all);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void probabilities_are_distributions(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(800, 10, 5, 5, 0);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 20);
    hl_model *m = train(ds, &p);
    /* All-missing row and extreme values must still give a distribution. */
    float x[2][10];
    for (int j = 0; j < 10; j++) {
        x[0][j] = NAN;
        x[1][j] = j % 2 ? 3e38f : -3e38f;
    }
    double proba[2 * 5];
    hl_error err;
    assert_int_equal(hl_model_predict_matrix(m, &x[0][0], 2, 1, proba, &err), HL_OK);
    for (int r = 0; r < 2; r++) {
        double sum = 0;
        for (int k = 0; k < 5; k++) {
            assert_true(proba[r * 5 + k] >= 0.0 && proba[r * 5 + k] <= 1.0);
            sum += proba[r * 5 + k];
        }
        assert_true(fabs(sum - 1.0) < 1e-9);
    }
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* Setting a value out of range is refused, naming the parameter. */
static void expect_refused(const char *name, double x)
{
    hl_train_params p;
    hl_train_params_init(&p);
    hl_error err;
    hl_error_clear(&err);
    assert_int_equal(hl_train_params_set_number(&p, name, x, &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, name);
    if (!strstr(err.message, name))
        fail_msg("message '%s' does not name '%s'", err.message, name);
    assert_int_equal(hl_train_params_validate(&p, &err), HL_OK); /* unchanged */
}

/* A value in the struct that validation must refuse, naming `field`. */
static void expect_invalid(const hl_train_params *p, const char *field)
{
    hl_error err;
    hl_error_clear(&err);
    assert_int_equal(hl_train_params_validate(p, &err), HL_ERR_INVALID);
    assert_string_equal(err.field, field);
}

static void parameters_are_validated(void **state)
{
    (void)state;
    hl_train_params p;
    hl_train_params_init(&p);
    hl_error err;
    assert_int_equal(hl_train_params_validate(&p, &err), HL_OK);
    expect_refused("rounds", 0);
    expect_refused("learning_rate", 0);
    expect_refused("learning_rate", NAN);
    expect_refused("max_depth", -1);
    expect_refused("max_leaves", 1);
    expect_refused("min_child_weight", -1);
    expect_refused("lambda", INFINITY);
    expect_refused("subsample", 0);
    expect_refused("colsample", 1.5);
    expect_refused("max_bins", 256);
    expect_refused("rounds", 2.5);
    expect_refused("validation_fraction", 0.9);
    expect_refused("cv_folds", 1);
    expect_refused("threads", -2);
    expect_refused("roundz", 3); /* unknown */
    /* Shared options are plain fields: validation checks them. */
    p.cv_folds = 21;
    expect_invalid(&p, "cv_folds");
    hl_train_params_init(&p);
    p.threads = -2;
    expect_invalid(&p, "threads");
    /* Between parameters: unlimited depth needs a leaf limit. */
    hl_train_params_init(&p);
    set(&p, "max_depth", 0);
    expect_invalid(&p, "max_depth");
    set(&p, "max_leaves", 8);
    assert_int_equal(hl_train_params_validate(&p, &err), HL_OK);
    /* Unknown learners. */
    assert_int_equal(hl_train_params_set_algo(&p, "svm", &err), HL_ERR_INVALID);
    assert_string_equal(err.field, "algo");
    assert_non_null(strstr(err.message, "svm"));
    strcpy(p.algo, "svm");
    expect_invalid(&p, "algo");
}

/* Every learner's table and the shared one: defaults in range, unique
 * names and flags, and get/set by name round-trip. */
static void parameter_tables_are_consistent(void **state)
{
    (void)state;
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    assert_true(hl_learner_count() >= 1);
    assert_string_equal(hl_learner_at(0)->name, "gbdt"); /* the default */
    assert_null(hl_learner_at(hl_learner_count()));
    for (size_t l = 0; l < hl_learner_count(); l++) {
        const hl_learner_info *li = hl_learner_at(l);
        assert_ptr_equal(hl_learner_find(li->name), li);
        hl_train_params p;
        hl_train_params_init(&p);
        hl_error err;
        assert_int_equal(hl_train_params_set_algo(&p, li->name, &err), HL_OK);
        assert_int_equal(hl_train_params_validate(&p, &err), HL_OK);
        for (size_t k = 0; k < li->n_params + n_shared; k++) {
            const hl_param_spec *s =
                k < li->n_params ? &li->params[k] : &shared[k - li->n_params];
            assert_ptr_equal(hl_train_params_spec(&p, s->name), s);
            assert_int_equal(hl_param_check(s, s->def, &err), HL_OK);
            hl_param_value v;
            assert_int_equal(hl_train_params_get(&p, s->name, &v, &err), HL_OK);
            assert_memory_equal(&v, &s->def, sizeof v);
            for (size_t j = 0; j < k; j++) {
                const hl_param_spec *o =
                    j < li->n_params ? &li->params[j] : &shared[j - li->n_params];
                assert_true(strcmp(o->name, s->name) != 0);
                assert_true(strcmp(o->flag, s->flag) != 0);
            }
        }
    }
    /* Safer parameters for a retry. */
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "learning_rate", 0.5);
    set(&p, "max_depth", 0);
    set(&p, "max_leaves", 100);
    p.cv_folds = 5;
    hl_train_params_safer(&p);
    hl_param_value v;
    assert_int_equal(hl_train_params_get(&p, "learning_rate", &v, NULL), HL_OK);
    assert_true(v.d == 0.1);
    assert_int_equal(hl_train_params_get(&p, "max_depth", &v, NULL), HL_OK);
    assert_int_equal(v.i, 6);
    assert_int_equal(hl_train_params_get(&p, "max_bins", &v, NULL), HL_OK);
    assert_int_equal(v.i, 63);
    assert_int_equal(p.cv_folds, 0);
    assert_int_equal(p.threads, 1);
    assert_int_equal(hl_train_params_validate(&p, NULL), HL_OK);
}

/* Text values (the CLI's) and the range descriptions. */
static void parameter_text(void **state)
{
    (void)state;
    hl_train_params p;
    hl_train_params_init(&p);
    const hl_param_spec *lr = hl_train_params_spec(&p, "learning_rate");
    const hl_param_spec *cv = hl_train_params_spec(&p, "cv_folds");
    const hl_param_spec *cw = hl_train_params_spec(&p, "class_weight");
    const hl_param_spec *seed = hl_train_params_spec(&p, "seed");
    char buf[128];
    hl_param_range(lr, buf, sizeof buf);
    assert_string_equal(buf, "[0.0001, 1]");
    hl_param_range(cv, buf, sizeof buf);
    assert_string_equal(buf, "0 (off) or 2..20");
    hl_param_range(cw, buf, sizeof buf);
    assert_string_equal(buf, "balanced or none");
    hl_param_range(hl_train_params_spec(&p, "rounds"), buf, sizeof buf);
    assert_string_equal(buf, "1..100000");
    hl_param_value v;
    hl_error err;
    assert_int_equal(hl_param_parse(lr, "0.25", &v, &err), HL_OK);
    assert_true(v.d == 0.25);
    assert_int_equal(hl_param_parse(lr, "5", &v, &err), HL_ERR_INVALID);
    assert_string_equal(err.field, "learning_rate");
    assert_non_null(strstr(err.message, "[0.0001, 1]"));
    assert_int_equal(hl_param_parse(lr, "0.1x", &v, &err), HL_ERR_INVALID);
    assert_int_equal(hl_param_parse(cv, "0", &v, &err), HL_OK);
    assert_int_equal(hl_param_parse(cv, "1", &v, &err), HL_ERR_INVALID);
    assert_int_equal(hl_param_parse(cw, "none", &v, &err), HL_OK);
    assert_int_equal(v.i, HL_CLASS_WEIGHT_NONE);
    assert_int_equal(hl_param_parse(cw, "maybe", &v, &err), HL_ERR_INVALID);
    assert_int_equal(hl_param_parse(seed, " -1", &v, &err), HL_ERR_INVALID);
    assert_int_equal(hl_param_parse(seed, "9223372036854775807", &v, &err), HL_OK);
    assert_int_equal(hl_param_parse(seed, "9223372036854775808", &v, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_param_parse(hl_train_params_spec(&p, "refit"), "false",
                                    &v, &err),
                     HL_OK);
    assert_int_equal(v.i, 0);
    hl_param_format(lr, (hl_param_value){0, 0.05}, buf, sizeof buf);
    assert_string_equal(buf, "0.05");
    hl_param_format(cw, (hl_param_value){1, 0}, buf, sizeof buf);
    assert_string_equal(buf, "none");
    assert_string_equal(hl_param_type_name(HL_PARAM_SEED), "int");
    assert_string_equal(hl_param_type_name(HL_PARAM_REAL), "float");
}

typedef struct progress_log {
    int calls, last_round, stop_at;
    atomic_int *cancel;
} progress_log;

static int on_progress(const hl_train_progress *pr, void *user)
{
    progress_log *log = user;
    log->calls++;
    assert_int_equal(pr->round, log->last_round + 1);
    assert_true(isfinite(pr->train_loss));
    log->last_round = pr->round;
    if (log->cancel && pr->round == log->stop_at)
        atomic_store(log->cancel, 1);
    return !log->cancel && pr->round == log->stop_at;
}

static void progress_and_cancel(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(600, 8, 3, 9, 0);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 50);
    p.early_stopping_rounds = 0;
    hl_model *m = NULL;
    hl_error err;
    /* Callback returning non-zero cancels. */
    progress_log log = {0, 0, 5, NULL};
    hl_train_control ctl = {on_progress, &log, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_ERR_CANCELLED);
    assert_null(m);
    assert_int_equal(log.calls, 5);
    /* The cancel flag is honoured before the next round. */
    atomic_int flag = 0;
    progress_log log2 = {0, 0, 7, &flag};
    hl_train_control ctl2 = {on_progress, &log2, &flag};
    assert_int_equal(hl_train(ds, &p, &ctl2, &m, &err), HL_ERR_CANCELLED);
    assert_int_equal(log2.last_round, 7);
    /* Without cancel every round is reported. */
    progress_log log3 = {0, 0, -1, NULL};
    hl_train_control ctl3 = {on_progress, &log3, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl3, &m, &err), HL_OK);
    assert_int_equal(log3.calls, 50);
    assert_int_equal(hl_model_summary_get(m)->iterations_done, 50);
    assert_false(hl_model_summary_get(m)->has_validation);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void leaf_limit_is_respected(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(1000, 12, 3, 2, 0);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 10);
    set(&p, "max_depth", 0);
    set(&p, "max_leaves", 5);
    hl_model *m = train(ds, &p);
    const hl__gbdt_model *g = m->fitted.state;
    int reached = 0;
    for (size_t t = 0; t < g->n_trees; t++) {
        int leaves = 0;
        for (uint32_t i = 0; i < g->trees[t].n_nodes; i++)
            leaves += g->trees[t].nodes[i].feature == HL__LEAF;
        assert_true(leaves <= 5);
        reached |= leaves == 5;
    }
    assert_true(reached);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void unusable_data_is_refused(void **state)
{
    (void)state;
    hl_csv_options o;
    hl_csv_options_init(&o);
    o.keep_unlabelled = 1;
    hl_dataset *ds = NULL;
    hl_error err;
    const char *one_class = "a,b,label\n1,2,x\n3,4,x\n5,6,\n";
    assert_int_equal(hl_dataset_parse_csv(one_class, strlen(one_class), "one.csv",
                                          &o, &ds, &err),
                     HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    hl_model *m = NULL;
    assert_int_equal(hl_train(ds, &p, NULL, &m, &err), HL_ERR_DATA);
    assert_non_null(strstr(err.message, "two classes"));
    hl_dataset_free(ds);
    const char *no_label = "a,b\n1,2\n3,4\n";
    assert_int_equal(hl_dataset_parse_csv(no_label, strlen(no_label), "nl.csv",
                                          NULL, &ds, &err),
                     HL_OK);
    assert_int_equal(hl_train(ds, &p, NULL, &m, &err), HL_ERR_DATA);
    assert_non_null(strstr(err.message, "label"));
    hl_dataset_free(ds);
}

static void columns_matched_by_name(void **state)
{
    (void)state;
    const char *train_csv = "sample_id,a,b,c,label\n"
                            "1,1,10,5,x\n2,2,20,5,x\n3,3,30,5,x\n4,4,40,5,x\n"
                            "5,5,50,6,y\n6,6,60,6,y\n7,7,70,6,y\n8,8,80,6,y\n"
                            "9,1.5,15,5,x\n10,5.5,55,6,y\n11,2.5,25,5,x\n"
                            "12,6.5,65,6,y\n";
    const char *shuffled = "c,extra,b,a\n5,0,10,1\n6,0,80,8\n,0,,\n";
    const char *missing = "a,c\n1,5\n";
    hl_error err;
    hl_dataset *tr = NULL, *sh = NULL, *mi = NULL;
    assert_int_equal(hl_dataset_parse_csv(train_csv, strlen(train_csv), "t.csv",
                                          NULL, &tr, &err), HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 20);
    set(&p, "min_child_weight", 0.1);
    p.early_stopping_rounds = 0;
    hl_model *m = train(tr, &p);
    assert_int_equal(hl_dataset_parse_csv(shuffled, strlen(shuffled), "s.csv",
                                          NULL, &sh, &err), HL_OK);
    double proba[3 * 2];
    hl_warnings w = {0};
    assert_int_equal(hl_model_predict_dataset(m, sh, 1, proba, &w, &err), HL_OK);
    assert_int_equal(w.count, 1);
    assert_non_null(strstr(w.items[0], "extra"));
    assert_int_equal(hl_predict_argmax(proba, 2), 0);     /* a=1 b=10 c=5 -> x */
    assert_int_equal(hl_predict_argmax(proba + 2, 2), 1); /* a=8 b=80 c=6 -> y */
    hl_warnings_free(&w);
    assert_int_equal(hl_dataset_parse_csv(missing, strlen(missing), "m.csv",
                                          NULL, &mi, &err), HL_OK);
    assert_int_equal(hl_model_predict_dataset(m, mi, 1, proba, NULL, &err),
                     HL_ERR_DATA);
    assert_non_null(strstr(err.message, "'b'"));
    hl_model_free(m);
    hl_dataset_free(tr);
    hl_dataset_free(sh);
    hl_dataset_free(mi);
}

static void duplicates_are_collapsed_and_cv_runs(void **state)
{
    (void)state;
    hl_dataset *base = simulate(600, 8, 3, 21, 0), *ds;
    /* Every row twice: the duplicates must be found and collapsed. */
    size_t *rows = malloc(1200 * sizeof *rows);
    for (size_t i = 0; i < 1200; i++)
        rows[i] = i % 600;
    hl_error err;
    assert_int_equal(hl_dataset_subset(base, rows, 1200, &ds, &err), HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 20);
    p.cv_folds = 3;
    hl_model *m = train(ds, &p);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_true(s->duplicate_rows >= 600);
    assert_int_equal(s->rows_train, 1200 - s->duplicate_rows); /* refit: all */
    assert_true(s->rows_validation > 0);
    assert_int_equal(s->cv_folds, 3);
    assert_int_equal(s->cv.n_samples, 1200 - s->duplicate_rows);
    assert_true(s->cv.macro_f1 > 0.5);
    hl_model_free(m);
    free(rows);
    hl_dataset_free(ds);
    hl_dataset_free(base);
}

static void refit_uses_all_rows(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(900, 10, 3, 13, 0);
    hl_train_params p;
    hl_train_params_init(&p);
    set(&p, "rounds", 300);
    p.early_stopping_rounds = 10;
    p.refit = 0;
    hl_model *kept = train(ds, &p);
    const hl_model_summary *a = hl_model_summary_get(kept);
    assert_int_equal(a->rows_train + a->rows_validation, 900);
    assert_int_equal(a->iterations_done, a->best_iteration);
    p.refit = 1;
    hl_model *refit = train(ds, &p);
    const hl_model_summary *b = hl_model_summary_get(refit);
    assert_int_equal(b->rows_train, 900);
    assert_int_equal(b->best_iteration, a->best_iteration); /* same hold-out run */
    assert_true(b->iterations_done >= b->best_iteration);
    assert_true(b->iterations_done <= 300);
    /* Validation metrics come from the hold-out run in both cases. */
    assert_true(a->validation.macro_f1 == b->validation.macro_f1);
    hl_model_free(kept);
    hl_model_free(refit);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_simulated_faults),
        cmocka_unit_test(binary_and_string_labels),
        cmocka_unit_test(deterministic_across_threads),
        cmocka_unit_test(predictions_do_not_depend_on_chunks),
        cmocka_unit_test(probabilities_are_distributions),
        cmocka_unit_test(parameters_are_validated),
        cmocka_unit_test(parameter_tables_are_consistent),
        cmocka_unit_test(parameter_text),
        cmocka_unit_test(progress_and_cancel),
        cmocka_unit_test(leaf_limit_is_respected),
        cmocka_unit_test(unusable_data_is_refused),
        cmocka_unit_test(columns_matched_by_name),
        cmocka_unit_test(duplicates_are_collapsed_and_cv_runs),
        cmocka_unit_test(refit_uses_all_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
