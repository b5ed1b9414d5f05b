/* test_forest.c - the random forest and extra-trees learners.
 *
 * Through the public API: they learn simulated faults well above chance,
 * a seed gives one model whatever the thread count, the out-of-bag
 * estimate is there and sane, cancel and progress work, a model file
 * predicts bit-identically after a round trip, corrupt files are refused
 * and parameters are validated with the field named. Below the interface
 * (forest.h): a tree chain deeper than any bound is walked to its leaf,
 * and a forged tree is refused.
 */
#include <math.h>
#include <stdatomic.h>

#include "engineutil.h"

#include "learners/forest/forest.h"

static void params_for(hl_train_params *p, const char *algo, int trees)
{
    hl_error err;
    hl_train_params_init(p);
    assert_int_equal(hl_train_params_set_algo(p, algo, &err), HL_OK);
    tu_set(p, "trees", trees);
}

static const char *const ALGOS[] = {"forest", "extratrees"};

/* Six classes: chance is about 0.17 macro-F1. */
static void learns_simulated_faults(void **state)
{
    (void)state;
    hl_dataset *all = tu_simulate(3000, 24, 6, 7), *tr, *te;
    tu_split(all, 2000, &tr, &te);
    for (size_t a = 0; a < 2; a++) {
        hl_train_params p;
        params_for(&p, ALGOS[a], tu_quick() ? 30 : 100);
        hl_model *m = tu_train(tr, &p);
        double f1 = tu_macro_f1(m, te);
        print_message("%s: held-out macro-F1 on simulated faults %.4f\n",
                      ALGOS[a], f1);
        assert_true(f1 > 0.85);
        const hl_model_summary *s = hl_model_summary_get(m);
        assert_int_equal(s->n_trees, tu_quick() ? 30 : 100);
        assert_int_equal(s->iterations_done, 1); /* not trained in rounds */
        assert_int_equal(s->best_iteration, 0);
        assert_false(s->has_validation); /* no hold-out, no refit */
        assert_int_equal(s->rows_validation, 0);
        assert_int_equal(s->rows_train, 2000 - s->duplicate_rows);
        /* The signature KPIs carry the Gini gain. */
        double total = 0, top = 0;
        for (size_t f = 0; f < s->n_features; f++) {
            total += s->importance_gain[f];
            if (s->importance_gain[f] > top)
                top = s->importance_gain[f];
        }
        assert_true(top > 2.0 * total / (double)s->n_features);
        tu_assert_rows_sum_to_one(m, te);
        hl_model_free(m);
    }
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

/* The forest's own sections (trees, out-of-bag) of m's file: malloc'ed. */
static uint8_t *forest_bytes(const hl_model *m, size_t *n)
{
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    size_t at = tu_find_section(buf, len, 64);
    assert_true(at > 0);
    /* Both sections are the learner's last bytes before any later one:
     * take everything from the trees to the checksum. */
    *n = len - 4 - at;
    uint8_t *out = malloc(*n);
    memcpy(out, buf + at, *n);
    free(buf);
    return out;
}

/* Trees draw from (seed, tree index) only: 1, 2 and 3 threads give the
 * same model file byte for byte, and another seed another model. */
static void same_seed_same_model_whatever_the_threads(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(800, 12, 4, 3);
    for (size_t a = 0; a < 2; a++) {
        uint8_t *first = NULL;
        size_t first_len = 0;
        for (int threads = 1; threads <= 3; threads++) {
            hl_train_params p;
            params_for(&p, ALGOS[a], 20);
            p.threads = threads;
            if (a == 1)
                tu_set(&p, "bootstrap", 1); /* the out-of-bag pass too */
            hl_model *m = tu_train(ds, &p);
            size_t n;
            uint8_t *bytes = forest_bytes(m, &n);
            if (!first) {
                first = bytes;
                first_len = n;
            } else {
                assert_int_equal(n, first_len);
                assert_memory_equal(bytes, first, n);
                free(bytes);
            }
            hl_model_free(m);
        }
        hl_train_params p;
        params_for(&p, ALGOS[a], 20);
        p.seed = 43;
        hl_model *m = tu_train(ds, &p);
        size_t n;
        uint8_t *bytes = forest_bytes(m, &n);
        assert_true(n != first_len || memcmp(bytes, first, n) != 0);
        free(bytes);
        hl_model_free(m);
        free(first);
    }
    hl_dataset_free(ds);
}

/* With bootstrap the out-of-bag estimate is there, close to a held-out
 * score, and survives a save/load; without it there is none. */
static void out_of_bag_estimate(void **state)
{
    (void)state;
    hl_dataset *all = tu_simulate(2400, 16, 5, 11), *tr, *te;
    tu_split(all, 1600, &tr, &te);
    hl_train_params p;
    params_for(&p, "forest", tu_quick() ? 40 : 100);
    hl_model *m = tu_train(tr, &p);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_true(s->has_oob);
    /* With 40+ trees every row is left out by some tree. */
    assert_int_equal(s->oob_rows, s->rows_train);
    double held_out = tu_macro_f1(m, te);
    print_message("out-of-bag macro-F1 %.4f (accuracy %.4f), held-out %.4f\n",
                  s->oob_macro_f1, s->oob_accuracy, held_out);
    assert_true(s->oob_macro_f1 > 0.6 && s->oob_macro_f1 <= 1.0);
    assert_true(s->oob_accuracy > 0.6 && s->oob_accuracy <= 1.0);
    assert_true(fabs(s->oob_macro_f1 - held_out) < 0.08);

    uint8_t *buf;
    size_t len;
    hl_error err;
    hl_model *back = NULL;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    assert_int_equal(hl_model_deserialize(buf, len, "oob.model", &back, &err),
                     HL_OK);
    const hl_model_summary *b = hl_model_summary_get(back);
    assert_true(b->has_oob);
    assert_int_equal(b->oob_rows, s->oob_rows);
    assert_true(b->oob_macro_f1 == s->oob_macro_f1);
    assert_true(b->oob_accuracy == s->oob_accuracy);
    free(buf);
    hl_model_free(back);
    hl_model_free(m);

    params_for(&p, "extratrees", 10);
    m = tu_train(tr, &p);
    assert_false(hl_model_summary_get(m)->has_oob);
    hl_model_free(m);
    params_for(&p, "forest", 10);
    tu_set(&p, "bootstrap", 0);
    m = tu_train(tr, &p);
    assert_false(hl_model_summary_get(m)->has_oob);
    hl_model_free(m);
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

typedef struct progress_log {
    int calls, last, planned;
    int stop_at;
    atomic_int *cancel;
} progress_log;

static int on_progress(const hl_train_progress *pr, void *user)
{
    progress_log *log = user;
    log->calls++;
    assert_true(pr->round > log->last); /* trees done only grow */
    log->last = pr->round;
    log->planned = pr->rounds;
    if (log->cancel && pr->round >= log->stop_at)
        atomic_store(log->cancel, 1);
    return !log->cancel && log->stop_at && pr->round >= log->stop_at;
}

/* Progress counts trees; a callback's non-zero or the cancel flag stops
 * the training with HL_ERR_CANCELLED and no model. */
static void progress_and_cancel(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(600, 10, 3, 5);
    hl_train_params p;
    params_for(&p, "forest", 60);
    p.threads = 2;
    hl_error err;
    hl_model *m = NULL;

    progress_log log = {0};
    hl_train_control ctl = {on_progress, &log, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_OK);
    assert_int_equal(log.last, 60);
    assert_int_equal(log.planned, 60);
    assert_true(log.calls >= 2); /* reported in batches, not once at the end */
    hl_model_free(m);
    m = NULL;

    progress_log stop = {0};
    stop.stop_at = 1;
    ctl = (hl_train_control){on_progress, &stop, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_ERR_CANCELLED);
    assert_null(m);
    assert_true(stop.last < 60);

    atomic_int cancel = 0;
    progress_log flag = {0};
    flag.stop_at = 1;
    flag.cancel = &cancel;
    ctl = (hl_train_control){on_progress, &flag, &cancel};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_ERR_CANCELLED);
    assert_null(m);
    assert_true(flag.last < 60);

    atomic_store(&cancel, 1); /* raised before the first tree */
    ctl = (hl_train_control){NULL, NULL, &cancel};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_ERR_CANCELLED);
    assert_null(m);
    hl_dataset_free(ds);
}

/* A saved forest predicts bit-identically after loading, however the rows
 * are chunked and threaded, with missing values. */
static void file_round_trip_is_bit_identical(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(700, 10, 4, 9);
    for (size_t a = 0; a < 2; a++) {
        hl_train_params p;
        params_for(&p, ALGOS[a], 25);
        hl_model *m = tu_train(ds, &p);
        char path[] = "/tmp/healer-forest-XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        hl_error err;
        assert_int_equal(hl_model_save(m, path, &err), HL_OK);
        hl_model *back = NULL;
        assert_int_equal(hl_model_load(path, &back, &err), HL_OK);
        unlink(path);
        assert_string_equal(hl_model_summary_get(back)->algo, ALGOS[a]);
        assert_int_equal(hl_model_summary_get(back)->n_trees, 25);
        double *x = tu_predict_all(m, ds, 1), *y = tu_predict_all(back, ds, 3);
        assert_memory_equal(x, y, ds->n_rows * 4 * sizeof *x);
        /* One row at a time: the same bits. */
        double one[4];
        for (size_t i = 0; i < ds->n_rows; i += 37) {
            assert_int_equal(
                hl_model_predict_matrix(back, ds->x + i * 10, 1, 1, one, &err),
                HL_OK);
            assert_memory_equal(one, x + i * 4, sizeof one);
        }
        free(x);
        free(y);
        hl_model_free(back);
        hl_model_free(m);
    }
    hl_dataset_free(ds);
}

/* Every byte of the forest's sections flipped, checksum fixed: refused
 * with HL_ERR_FORMAT, or accepted and still predicting probabilities. A
 * truncated file and a missing tree section are refused. */
static void corrupt_sections_are_refused(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(300, 6, 3, 4);
    hl_train_params p;
    params_for(&p, "forest", 3);
    hl_model *m = tu_train(ds, &p);
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    size_t trees = tu_find_section(buf, len, 64),
           oob = tu_find_section(buf, len, 65);
    assert_true(trees > 0 && oob > trees);
    uint8_t *copy = malloc(len);
    size_t refused = 0, tried = 0;
    const size_t step = tu_quick() ? 7 : 1;
    for (size_t i = trees; i < len - 4; i += step) {
        memcpy(copy, buf, len);
        copy[i] ^= (uint8_t)(i % 3 == 0 ? 0xFF : 0x81);
        tu_fix_crc(copy, len);
        hl_model *out = NULL;
        hl_status rc =
            hl_model_deserialize(copy, len, "forged.model", &out, &err);
        tried++;
        if (rc != HL_OK) {
            assert_int_equal(rc, HL_ERR_FORMAT);
            assert_null(out);
            refused++;
            continue;
        }
        double proba[3 * 5];
        assert_int_equal(hl_model_predict_matrix(out, ds->x, 5, 1, proba, &err),
                         HL_OK);
        for (int k = 0; k < 15; k++)
            assert_true(proba[k] >= 0.0 && proba[k] <= 1.0); /* not NaN */
        hl_model_free(out);
    }
    print_message("forged bytes in the forest's sections: %zu of %zu refused\n",
                  refused, tried);
    assert_true(refused > tried / 4);
    /* Cut anywhere in the trees: refused, never a crash. */
    for (size_t cut = trees + 1; cut < len; cut += tu_quick() ? 23 : 5) {
        hl_model *out = NULL;
        assert_true(hl_model_deserialize(buf, cut, "cut.model", &out, &err) !=
                    HL_OK);
        assert_null(out);
    }
    /* The tree section renamed to an unknown tag: it is skipped, so the
     * required section is missing. */
    memcpy(copy, buf, len);
    copy[trees] = 99;
    tu_fix_crc(copy, len);
    hl_model *out = NULL;
    assert_int_equal(
        hl_model_deserialize(copy, len, "no-trees.model", &out, &err),
        HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "missing"));
    free(copy);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* Ranges and rules come back as HL_ERR_INVALID naming the parameter. */
static void parameters_are_validated(void **state)
{
    (void)state;
    static const struct {
        const char *algo, *name;
        double value;
    } BAD[] = {
        {"forest", "trees", 0},
        {"forest", "trees", 10001},
        {"forest", "max_depth", -1},
        {"forest", "min_samples_leaf", 0},
        {"forest", "max_bins", 1},
        {"forest", "feature_fraction", -0.1},
        {"forest", "feature_fraction", 1.5},
        {"extratrees", "trees", 0},
        {"extratrees", "max_bins", 256},
        {"forest", "rounds", 10}, /* the GBDT's, not the forest's */
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        hl_train_params p;
        hl_error err;
        hl_train_params_init(&p);
        assert_int_equal(hl_train_params_set_algo(&p, BAD[i].algo, &err),
                         HL_OK);
        assert_int_equal(
            hl_train_params_set_number(&p, BAD[i].name, BAD[i].value, &err),
            HL_ERR_INVALID);
        assert_string_equal(err.field, BAD[i].name);
    }
    /* feature_fraction: 0 (off) or [0.01, 1]; a choice must be known. */
    hl_train_params p;
    hl_error err;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, "forest", &err), HL_OK);
    tu_set(&p, "feature_fraction", 0.3);
    tu_set(&p, "feature_fraction", 0);
    assert_int_equal(hl_train_params_validate(&p, &err), HL_OK);
    assert_int_equal(
        hl_train_params_set_number(&p, "feature_fraction", 0.005, &err),
        HL_ERR_INVALID);
    assert_string_equal(err.field, "feature_fraction");
    hl_param_value unknown = {3, 0};
    assert_int_equal(hl_train_params_set(&p, "max_features", unknown, &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "max_features");
    /* Defaults: the forest bootstraps, extra-trees do not; both 300 trees,
     * unlimited depth, balanced class weights. */
    hl_param_value v;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, "forest", &err), HL_OK);
    assert_int_equal(hl_train_params_get(&p, "trees", &v, &err), HL_OK);
    assert_int_equal(v.i, 300);
    assert_int_equal(hl_train_params_get(&p, "max_features", &v, &err), HL_OK);
    assert_int_equal(v.i, HL__MAXF_SQRT);
    assert_int_equal(hl_train_params_get(&p, "feature_fraction", &v, &err),
                     HL_OK);
    assert_true(v.d == 0.0);
    assert_int_equal(hl_train_params_get(&p, "bootstrap", &v, &err), HL_OK);
    assert_int_equal(v.i, 1);
    assert_int_equal(hl_train_params_get(&p, "max_depth", &v, &err), HL_OK);
    assert_int_equal(v.i, 0);
    assert_int_equal(p.class_weight, HL_CLASS_WEIGHT_BALANCED);
    assert_int_equal(hl_train_params_set_algo(&p, "extratrees", &err), HL_OK);
    assert_int_equal(hl_train_params_get(&p, "bootstrap", &v, &err), HL_OK);
    assert_int_equal(v.i, 0);
    assert_int_equal(hl_train_params_get(&p, "max_features", &v, &err), HL_OK);
    assert_int_equal(v.i, HL__MAXF_ALL);
    /* Not trained in rounds: no hold-out, no refit. */
    assert_false(hl_learner_find("forest")->iterative);
    assert_false(hl_learner_find("extratrees")->iterative);
    assert_string_equal(hl_learner_at(0)->name, "gbdt"); /* still the default */
}

/* How many KPIs a split draws. */
static void candidate_counts(void **state)
{
    (void)state;
    hl__forest_params p = {300, HL__MAXF_SQRT, 0.0, 0, 1, 1, 255};
    assert_int_equal(hl__forest_mtry(&p, 107), 11);
    assert_int_equal(hl__forest_mtry(&p, 1), 1);
    p.max_features = HL__MAXF_LOG2;
    assert_int_equal(hl__forest_mtry(&p, 107), 7);
    assert_int_equal(hl__forest_mtry(&p, 1), 1);
    p.max_features = HL__MAXF_ALL;
    assert_int_equal(hl__forest_mtry(&p, 107), 107);
    p.feature_fraction = 0.01; /* wins over max_features */
    assert_int_equal(hl__forest_mtry(&p, 107), 2);
    p.feature_fraction = 1.0;
    assert_int_equal(hl__forest_mtry(&p, 107), 107);
}

/* A chain of `depth` splits on KPI 0 at 0.5, leaves alternating between
 * the two classes; going right all the way ends in class 1. */
static hl__forest_model *build_chain(uint32_t depth)
{
    hl__forest_model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    m->n_features = 1;
    m->n_classes = 2;
    m->n_trees = 1;
    m->trees = calloc(1, sizeof *m->trees);
    hl__ftree *t = &m->trees[0];
    t->n_nodes = 2 * depth + 1;
    t->n_leaves = 2;
    t->nodes = calloc(t->n_nodes, sizeof *t->nodes);
    t->gain = calloc(t->n_nodes, sizeof *t->gain);
    t->proba = calloc(4, sizeof *t->proba);
    t->proba[0] = 1.0f; /* leaf 0: class 0 */
    t->proba[3] = 1.0f; /* leaf 1: class 1 */
    for (uint32_t k = 0; k < depth; k++) {
        t->nodes[2 * k] = (hl__node){0, 0.5f, 2 * k + 1};
        t->nodes[2 * k + 1] = (hl__node){HL__LEAF, 0.0f, 0};
    }
    t->nodes[2 * depth] = (hl__node){HL__LEAF, 0.0f, 1};
    return m;
}

static void deep_trees_are_walked_to_their_leaves(void **state)
{
    (void)state;
    static const uint32_t DEPTHS[] = {1, 64, 1000, 5000};
    for (size_t i = 0; i < sizeof DEPTHS / sizeof DEPTHS[0]; i++) {
        hl__forest_model *m = build_chain(DEPTHS[i]);
        assert_int_equal(hl__forest_prepare(m), HL_OK);
        hl__model_shape shape = {1, 2};
        float x[3] = {1.0f, 0.0f, NAN};
        double raw[6];
        assert_int_equal(hl__forest_predict_raw(m, &shape, x, 3, raw), HL_OK);
        assert_true(raw[0] == 0.0 && raw[1] == 1.0); /* right all the way */
        assert_true(raw[2] == 1.0 && raw[3] == 0.0); /* left at once */
        assert_true(raw[4] == 0.0 && raw[5] == 1.0); /* missing goes right */
        hl__forest_model_free(m);
    }
}

/* Extra-trees without bootstrap count rows where every row of a class
 * weighs the same (forest_random.c) and sum the rows' weights otherwise;
 * both must grow the same tree to the last bit (n equal floats add up in
 * double to exactly n times one). Grown straight from binned data, with
 * missing cells, unequal class weights, min_samples_leaf 1 and 2 (copies
 * counted) and a few or every KPI a candidate. */
static void counting_and_summing_grow_the_same_trees(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(1200, 20, 5, 17);
    const size_t n = ds->n_rows, nf = ds->n_features, K = ds->n_classes;
    const size_t stride = HL__FOREST_STRIDE(nf);
    for (size_t i = 0; i < n * nf; i += 13)
        ds->x[i] = NAN;
    hl_error err;
    hl__bins bins;
    assert_int_equal(
        hl__bins_build(ds->x, nf, NULL, n, 255, 1, NULL, &bins, &err), HL_OK);
    uint8_t *by_row = malloc(n * nf), *cols = malloc(n * nf);
    uint8_t *rows = calloc(n * stride, 1);
    uint32_t *idx = malloc(n * sizeof *idx),
             *copies = malloc(n * sizeof *copies);
    float *w = malloc(n * sizeof *w);
    assert_true(by_row && cols && rows && idx && copies && w);
    hl__bins_apply(&bins, ds->x, NULL, n, NULL, by_row);
    hl__binned_transpose(by_row, n, nf, cols);
    for (size_t i = 0; i < n; i++) {
        assert_true(ds->y[i] >= 0);
        memcpy(rows + i * stride, by_row + i * nf, nf);
        idx[i] = (uint32_t)i;
        copies[i] = 1;
        w[i] = 0.61f + 0.37f * (float)ds->y[i];
    }
    const hl__fgrow_data d = {&bins, cols, rows, n, ds->y};
    static const uint32_t LEAF[] = {1, 2};
    const size_t MTRY[] = {4, nf};
    for (size_t a = 0; a < 2; a++) {
        for (size_t b = 0; b < 2; b++) {
            hl__ftree tree[2];
            for (int sum = 0; sum < 2; sum++) {
                const hl__fgrow_params p = {.n_classes = K,
                                            .mtry = MTRY[b],
                                            .min_samples_leaf = LEAF[a],
                                            .random_cuts = 1,
                                            .sum_weights = sum};
                hl__fgrower *g = hl__fgrower_create(&d, &p);
                assert_non_null(g);
                hl__rng rng;
                hl__rng_seed(&rng, 99);
                assert_int_equal(
                    hl__fgrow_tree(g, idx, n, w, copies, &rng, &tree[sum]),
                    HL_OK);
                hl__fgrower_free(g);
            }
            assert_true(tree[0].n_nodes > 50);
            assert_int_equal(tree[0].n_nodes, tree[1].n_nodes);
            assert_int_equal(tree[0].n_leaves, tree[1].n_leaves);
            assert_memory_equal(tree[0].nodes, tree[1].nodes,
                                tree[0].n_nodes * sizeof *tree[0].nodes);
            assert_memory_equal(tree[0].gain, tree[1].gain,
                                tree[0].n_nodes * sizeof *tree[0].gain);
            assert_memory_equal(tree[0].proba, tree[1].proba,
                                tree[0].n_leaves * K * sizeof *tree[0].proba);
            hl__ftree_free(&tree[0]);
            hl__ftree_free(&tree[1]);
        }
    }
    free(by_row);
    free(cols);
    free(rows);
    free(idx);
    free(copies);
    free(w);
    hl__bins_free(&bins);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_simulated_faults),
        cmocka_unit_test(same_seed_same_model_whatever_the_threads),
        cmocka_unit_test(out_of_bag_estimate),
        cmocka_unit_test(progress_and_cancel),
        cmocka_unit_test(file_round_trip_is_bit_identical),
        cmocka_unit_test(corrupt_sections_are_refused),
        cmocka_unit_test(parameters_are_validated),
        cmocka_unit_test(candidate_counts),
        cmocka_unit_test(deep_trees_are_walked_to_their_leaves),
        cmocka_unit_test(counting_and_summing_grow_the_same_trees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
