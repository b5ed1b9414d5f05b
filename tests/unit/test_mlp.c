/* test_mlp.c - the multilayer perceptron learner ("mlp").
 *
 * End to end through hl_train on simulated data, and below the learner
 * interface where the public API cannot reach: it learns fault signatures
 * well above chance, one seed and thread count give one model, a row's
 * prediction depends on that row alone, model files round-trip exactly and
 * forged ones are refused, cancel and progress work, a loss that stops
 * being finite is a clear HL_ERR_DIVERGED, and every parameter is
 * range-checked with its name in err->field. The transform's promises
 * (bounded inputs, missing cells, ties) are checked on hand-made values.
 */
#include <math.h>
#include <stdatomic.h>

#include "internal.h"
#include "learners/mlp/mlp.h"
#include "testutil.h"

extern const hl__learner hl__mlp_learner;

static void set(hl_train_params *p, const char *name, double x)
{
    hl_error err;
    if (hl_train_params_set_number(p, name, x, &err) != HL_OK)
        fail_msg("setting %s: %s", name, err.message);
}

static hl_dataset *simulate(size_t samples, size_t features, size_t classes,
                            uint64_t seed)
{
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = samples;
    o.features = features;
    o.classes = classes;
    o.seed = seed;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &ds, &err), HL_OK);
    return ds;
}

static hl_dataset *rows_of(const hl_dataset *ds, size_t from, size_t n)
{
    size_t *rows = malloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = from + i;
    hl_dataset *out = NULL;
    hl_error err;
    assert_int_equal(hl_dataset_subset(ds, rows, n, &out, &err), HL_OK);
    free(rows);
    return out;
}

/* MLP parameters small enough for the sanitizer build. */
static void mlp_params(hl_train_params *p, int units, int epochs)
{
    hl_train_params_init(p);
    hl_error err;
    assert_int_equal(hl_train_params_set_algo(p, "mlp", &err), HL_OK);
    set(p, "hidden_units", units);
    set(p, "epochs", epochs);
}

static hl_model *train(const hl_dataset *ds, const hl_train_params *p)
{
    hl_model *m = NULL;
    hl_error err;
    if (hl_train(ds, p, NULL, &m, &err) != HL_OK)
        fail_msg("training failed: %s", err.message);
    return m;
}

static double *predict(const hl_model *m, const hl_dataset *ds, int threads)
{
    size_t K = hl_model_n_classes(m);
    double *proba = malloc(ds->n_rows * K * sizeof *proba);
    hl_error err;
    assert_int_equal(hl_model_predict_dataset(m, ds, threads, proba, NULL, &err),
                     HL_OK);
    return proba;
}

static double macro_f1_on(const hl_model *m, const hl_dataset *ds)
{
    size_t n = ds->n_rows, K = hl_model_n_classes(m);
    double *proba = predict(m, ds, 2);
    int32_t *y = malloc(n * sizeof *y), *pred = malloc(n * sizeof *pred);
    hl_error err;
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

/* ---- learning ---- */

static void learns_simulated_faults(void **state)
{
    (void)state;
    hl_dataset *all = simulate(3000, 24, 6, 7);
    hl_dataset *tr = rows_of(all, 0, 2000), *te = rows_of(all, 2000, 1000);
    hl_train_params p;
    mlp_params(&p, tu_quick() ? 64 : 256, tu_quick() ? 40 : 300);
    p.threads = 2;
    hl_model *m = train(tr, &p);
    double f1 = macro_f1_on(m, te);
    print_message("held-out macro-F1 on simulated faults: %.4f\n", f1);
    assert_true(f1 > 0.90); /* chance is about 1/6 */
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_string_equal(s->algo, "mlp");
    assert_int_equal(s->n_trees, 0);
    assert_true(s->has_validation);
    /* Early stopping chose an epoch; the refit on all rows scales it up. */
    assert_true(s->best_iteration >= 1 && s->best_iteration <= s->curve_len);
    assert_true(s->iterations_done >= s->best_iteration);
    for (size_t i = 0; i < s->curve_len; i++)
        assert_true(isfinite(s->curve_train_loss[i]) &&
                    isfinite(s->curve_valid_loss[i]));
    /* The signature KPIs carry the importance: it is not uniform. */
    double total = 0, top = 0;
    for (size_t f = 0; f < s->n_features; f++) {
        assert_true(s->importance_gain[f] >= 0.0);
        total += s->importance_gain[f];
        if (s->importance_gain[f] > top)
            top = s->importance_gain[f];
    }
    assert_true(top > 1.5 * total / (double)s->n_features);
    hl_model_free(m);
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

/* Both transforms, with and without missing indicators, learn. */
static void every_transform_learns(void **state)
{
    (void)state;
    hl_dataset *all = simulate(1500, 12, 3, 21);
    hl_dataset *tr = rows_of(all, 0, 1000), *te = rows_of(all, 1000, 500);
    for (int kind = 0; kind < 2; kind++)
        for (int ind = 0; ind < 2; ind++) {
            hl_train_params p;
            mlp_params(&p, 32, 60);
            set(&p, "transform", kind);
            set(&p, "missing_indicators", ind);
            hl_model *m = train(tr, &p);
            double f1 = macro_f1_on(m, te);
            print_message("transform %d, indicators %d: macro-F1 %.4f\n", kind,
                          ind, f1);
            assert_true(f1 > 0.80);
            hl_model_free(m);
        }
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

/* ---- determinism ---- */

static void deterministic_per_seed_and_threads(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(900, 10, 4, 11);
    hl_train_params p;
    mlp_params(&p, 48, 15);
    set(&p, "dropout", 0.3);
    const size_t bytes = ds->n_rows * 4 * sizeof(double);
    for (int threads = 1; threads <= 2; threads++) {
        p.threads = threads;
        hl_model *a = train(ds, &p), *b = train(ds, &p);
        double *pa = predict(a, ds, 1), *pb = predict(b, ds, 2);
        assert_memory_equal(pa, pb, bytes);
        free(pa);
        free(pb);
        hl_model_free(a);
        hl_model_free(b);
    }
    /* Another seed: other initial weights, shuffles and dropout masks. */
    p.threads = 1;
    hl_model *a = train(ds, &p);
    p.seed = 43;
    hl_model *c = train(ds, &p);
    double *pa = predict(a, ds, 1), *pc = predict(c, ds, 1);
    assert_true(memcmp(pa, pc, bytes) != 0);
    free(pa);
    free(pc);
    hl_model_free(a);
    hl_model_free(c);
    hl_dataset_free(ds);
}

/* The container cuts rows into chunks for threads, the learner into
 * register blocks: a row's probabilities depend on that row alone. */
static void predictions_do_not_depend_on_chunks(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(700, 9, 3, 17);
    hl_train_params p;
    mlp_params(&p, 40, 10);
    set(&p, "hidden_layers", 3);
    hl_model *m = train(ds, &p);
    const size_t K = 3, nf = ds->n_features, n = ds->n_rows;
    double *all = predict(m, ds, 2);
    double *part = malloc(n * K * sizeof *part);
    hl_error err;
    const size_t steps[] = {1, 5, 7, 300};
    for (size_t s = 0; s < sizeof steps / sizeof steps[0]; s++) {
        for (size_t at = 0; at < n; at += steps[s]) {
            size_t len = n - at < steps[s] ? n - at : steps[s];
            assert_int_equal(hl_model_predict_matrix(m, ds->x + at * nf, len,
                                                     1, part + at * K, &err),
                             HL_OK);
        }
        assert_memory_equal(all, part, n * K * sizeof *all);
    }
    free(part);
    free(all);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* The vector kernel and the portable one do the same arithmetic, so a
 * model predicts the same numbers on a CPU without AVX2. */
static void vector_and_portable_products_agree(void **state)
{
    (void)state;
    const uint32_t shapes[][2] = {{1, 1}, {7, 3}, {33, 16}, {50, 37}, {16, 64}};
    hl__rng rng;
    hl__rng_seed(&rng, 99);
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        const uint32_t n_in = shapes[s][0], n_out = shapes[s][1];
        const size_t n = 13;
        float *w = malloc((size_t)n_in * n_out * sizeof *w);
        float *b = malloc(n_out * sizeof *b);
        float *x = malloc(n * n_in * sizeof *x);
        float *fast = malloc(n * n_out * sizeof *fast);
        float *ref = malloc(n * n_out * sizeof *ref);
        for (size_t i = 0; i < (size_t)n_in * n_out; i++)
            w[i] = (float)(hl__rng_uniform(&rng) - 0.5);
        for (size_t i = 0; i < n_out; i++)
            b[i] = (float)(hl__rng_uniform(&rng) - 0.5);
        for (size_t i = 0; i < n * n_in; i++)
            x[i] = (float)(4.0 * hl__rng_uniform(&rng) - 2.0);
        hl__mlp_layer ly = {n_in, n_out, w, b};
        hl__mlp_dense(x, n, &ly, 1, fast);
        hl__mlp_dense_portable(x, n, &ly, 1, ref);
        assert_memory_equal(fast, ref, n * n_out * sizeof *ref);
        free(w);
        free(b);
        free(x);
        free(fast);
        free(ref);
    }
}

/* ---- the transform ---- */

static void transform_is_bounded_and_handles_missing(void **state)
{
    (void)state;
    /* One KPI over 1e-4 .. 1e17 with negatives, one with missing cells. */
    enum { N = 9 };
    const float raw[N][2] = {{1e-4f, 1}, {-3, NAN}, {10, 2}, {1e3f, 3},
                             {1e17f, NAN}, {-1e12f, 4}, {0, 5}, {7, 6},
                             {2, 7}};
    float x[N * 2];
    size_t rows[N];
    int32_t y[N];
    for (size_t i = 0; i < N; i++) {
        x[2 * i] = raw[i][0];
        x[2 * i + 1] = raw[i][1];
        rows[i] = i;
        y[i] = 0;
    }
    hl__fit_job job = {0};
    job.x = x;
    job.n_features = 2;
    job.y = y;
    job.train_rows = rows;
    job.n_train = N;
    hl__mlp_params p = {0};
    p.input_clip = 3.0;
    p.missing_indicators = 1;
    for (int kind = 0; kind < 2; kind++) {
        p.transform = kind;
        hl__mlp_transform tf;
        hl_error err;
        assert_int_equal(hl__mlp_transform_fit(&tf, &job, &p, &err), HL_OK);
        assert_int_equal(tf.n_inputs, 3); /* only the KPI with gaps */
        assert_int_equal(tf.indicator[0], -1);
        assert_int_equal(tf.indicator[1], 2);
        const float probe[6][2] = {{NAN, NAN},       {INFINITY, 4},
                                   {-INFINITY, 4},   {3e38f, -3e38f},
                                   {raw[2][0], 4},   {raw[3][0], 4}};
        float out[6 * 3];
        hl__mlp_transform_rows(&tf, &probe[0][0], NULL, 6, out);
        for (size_t i = 0; i < 6 * 3; i++)
            assert_true(isfinite(out[i]) && fabsf(out[i]) <= 3.0f);
        /* Missing: 0 plus its indicator (the KPI without one has none). */
        assert_true(out[0] == 0.0f && out[1] == 0.0f && out[2] == 1.0f);
        assert_true(out[5] == 0.0f); /* present: indicator 0 */
        /* Beyond the training range: saturated at the clip. */
        assert_true(out[3] == 3.0f && out[6] == -3.0f);
        /* Monotone in the KPI. */
        assert_true(out[12] < out[15]);
        hl__mlp_transform_free(&tf);
    }
}

/* The quantile map of a KPI that is 0 in most rows: 0 maps to the middle
 * of the tied ranks, values in between interpolate monotonically. */
static void quantile_ties_map_to_their_middle(void **state)
{
    (void)state;
    enum { N = 101 };
    float x[N];
    size_t rows[N];
    int32_t y[N] = {0};
    for (size_t i = 0; i < N; i++) {
        x[i] = i < 61 ? 0.0f : (float)(i - 60); /* 0 in 61 % of rows */
        rows[i] = i;
    }
    hl__fit_job job = {0};
    job.x = x;
    job.n_features = 1;
    job.y = y;
    job.train_rows = rows;
    job.n_train = N;
    hl__mlp_params p = {0};
    p.transform = HL__MLP_QUANTILE;
    p.input_clip = 100.0;
    hl__mlp_transform tf;
    hl_error err;
    assert_int_equal(hl__mlp_transform_fit(&tf, &job, &p, &err), HL_OK);
    const float probe[5] = {-1.0f, 0.0f, 0.5f, 20.0f, 1e9f};
    float out[5];
    hl__mlp_transform_rows(&tf, probe, NULL, 5, out);
    /* Ranks 0 .. 0.6 tie at 0: their middle, rank 0.3, is about -0.52. */
    assert_true(fabsf(out[1] - (-0.5244f)) < 0.01f);
    assert_true(out[0] < out[1] && out[1] < out[2] && out[2] < out[3] &&
                out[3] < out[4]);
    assert_true(fabsf(out[0] + 5.199f) < 0.01f && fabsf(out[4] - 5.199f) < 0.01f);
    hl__mlp_transform_free(&tf);
}

/* ---- files ---- */

static hl_model *small_model(const hl_dataset *ds, int transform,
                             int indicators)
{
    hl_train_params p;
    mlp_params(&p, 24, 8);
    set(&p, "transform", transform);
    set(&p, "missing_indicators", indicators);
    return train(ds, &p);
}

static void file_round_trip_predicts_identically(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(500, 8, 3, 5);
    for (int kind = 0; kind < 2; kind++)
        for (int ind = 0; ind < 2; ind++) {
            hl_model *m = small_model(ds, kind, ind);
            char path[] = "/tmp/healer-mlp-XXXXXX";
            int fd = mkstemp(path);
            close(fd);
            hl_error err;
            assert_int_equal(hl_model_save(m, path, &err), HL_OK);
            hl_model *back = NULL;
            assert_int_equal(hl_model_load(path, &back, &err), HL_OK);
            unlink(path);
            assert_string_equal(hl_model_summary_get(back)->algo, "mlp");
            double *a = predict(m, ds, 1), *b = predict(back, ds, 2);
            assert_memory_equal(a, b, ds->n_rows * 3 * sizeof *a);
            /* Saved again, the file is the same bytes. */
            uint8_t *b1, *b2;
            size_t l1, l2;
            assert_int_equal(hl_model_serialize(m, &b1, &l1, &err), HL_OK);
            assert_int_equal(hl_model_serialize(back, &b2, &l2, &err), HL_OK);
            assert_int_equal(l1, l2);
            assert_memory_equal(b1, b2, l1);
            free(b1);
            free(b2);
            free(a);
            free(b);
            hl_model_free(m);
            hl_model_free(back);
        }
    hl_dataset_free(ds);
}

static void fix_crc(uint8_t *buf, size_t len)
{
    uint32_t c = hl__crc32(buf, len - 4);
    for (int i = 0; i < 4; i++)
        buf[len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Offset of the payload of section `tag` (its length in *n). */
static size_t find_section(const uint8_t *buf, size_t len, uint32_t tag,
                           size_t *n)
{
    *n = 0;
    for (size_t at = 24; at < len - 4;) {
        size_t payload = (size_t)get_le(buf + at + 8, 8);
        if (get_le(buf + at, 4) == tag) {
            *n = payload;
            return at + 16;
        }
        at += 16 + payload;
    }
    fail_msg("no section %u", tag);
    return 0;
}

/* buf with the 4 bytes at `at` replaced by v, checksum fixed: loading must
 * fail with HL_ERR_FORMAT. */
static void expect_refused(const uint8_t *buf, size_t len, size_t at,
                           uint32_t v, const char *what)
{
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    put_le(copy + at, v, 4);
    fix_crc(copy, len);
    hl_model *out = NULL;
    hl_error err;
    hl_status rc = hl_model_deserialize(copy, len, "forged.model", &out, &err);
    if (rc != HL_ERR_FORMAT)
        fail_msg("%s: expected a format error, got %s", what,
                 hl_status_name(rc));
    assert_null(out);
    assert_non_null(strstr(err.message, "forged.model"));
    free(copy);
}

static uint32_t float_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Random damage to the learner's bytes of m's file, checksum forged:
 * refused as a format error, or a model that still predicts
 * distributions. */
static void random_damage_is_refused_or_harmless(const hl_model *m,
                                                 const hl_dataset *ds)
{
    uint8_t *buf, *copy;
    size_t len, n_tf, n_ly;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    const size_t tf = find_section(buf, len, 64, &n_tf);
    const size_t ly = find_section(buf, len, 65, &n_ly);
    size_t refused = 0, tried = 0;
    copy = malloc(len);
    for (size_t i = tf - 16; i < ly + n_ly; i += tu_quick() ? 53 : 7) {
        memcpy(copy, buf, len);
        copy[i] ^= (uint8_t)(0x5A + i);
        fix_crc(copy, len);
        hl_model *out = NULL;
        hl_status rc = hl_model_deserialize(copy, len, "forged.model", &out, &err);
        tried++;
        if (rc != HL_OK) {
            assert_int_equal(rc, HL_ERR_FORMAT);
            refused++;
            continue;
        }
        double proba[3 * 4];
        assert_int_equal(hl_model_predict_matrix(out, ds->x, 4, 1, proba, &err),
                         HL_OK);
        for (int k = 0; k < 12; k++)
            assert_true(proba[k] >= 0.0 && proba[k] <= 1.0);
        hl_model_free(out);
    }
    print_message("forged corruptions of the MLP sections: %zu of %zu refused\n",
                  refused, tried);
    assert_true(refused > 0);
    free(copy);
    free(buf);
}

/* Forged files whose checksum is right: every field the learner reads is
 * checked, and random damage never crashes or yields NaN. */
static void corrupt_files_are_refused(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 6, 3, 8);
    hl_model *m = small_model(ds, HL__MLP_ROBUST, 1);
    uint8_t *buf;
    size_t len, n_tf, n_ly;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    const size_t tf = find_section(buf, len, 64, &n_tf);
    const size_t ly = find_section(buf, len, 65, &n_ly);
    const uint32_t nf = (uint32_t)get_le(buf + tf + 4, 4);
    const uint32_t n_inputs = (uint32_t)get_le(buf + tf + 8, 4);
    assert_int_equal(nf, 6);
    const size_t center = tf + 16, scale = center + 4 * nf;
    const size_t indicator = scale + 4 * nf, spread = indicator + 4 * nf;
    expect_refused(buf, len, tf, 7, "transform kind");
    expect_refused(buf, len, tf + 4, nf + 1, "feature count");
    expect_refused(buf, len, tf + 8, nf - 1, "fewer inputs than KPIs");
    expect_refused(buf, len, tf + 8, n_inputs + 1, "an input too many");
    expect_refused(buf, len, tf + 12, float_bits(NAN), "clip NaN");
    expect_refused(buf, len, tf + 12, float_bits(0.0f), "clip 0");
    expect_refused(buf, len, center, float_bits(INFINITY), "centre");
    expect_refused(buf, len, scale, float_bits(0.0f), "scale 0");
    expect_refused(buf, len, scale + 4, float_bits(-1.0f), "negative scale");
    expect_refused(buf, len, indicator, nf + 40, "indicator out of range");
    expect_refused(buf, len, spread, float_bits(-1.0f), "negative spread");
    const uint32_t n_layers = (uint32_t)get_le(buf + ly, 4);
    const size_t weights = ly + 4 + 8 * (size_t)n_layers;
    expect_refused(buf, len, ly, 0, "no layers");
    expect_refused(buf, len, ly, 100000, "absurd layer count");
    expect_refused(buf, len, ly + 4, n_inputs + 1, "first layer inputs");
    expect_refused(buf, len, ly + 8, 25, "chained shapes");
    expect_refused(buf, len, ly + 4 + 8 * ((size_t)n_layers - 1) + 4, 4,
                   "outputs other than the classes");
    expect_refused(buf, len, weights, float_bits(NAN), "NaN weight");
    expect_refused(buf, len, weights + 8, float_bits(1e9f), "huge weight");
    expect_refused(buf, len, tf - 8, (uint32_t)n_tf - 4, "short transform");
    /* A missing section. */
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    put_le(copy + tf - 16, 200, 4); /* renamed: an unknown later section */
    fix_crc(copy, len);
    hl_model *out = NULL;
    assert_int_equal(hl_model_deserialize(copy, len, "cut.model", &out, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "missing"));
    free(copy);
    free(buf);
    hl_model_free(m);
    for (int kind = 0; kind < 2; kind++) {
        m = small_model(ds, kind, kind);
        random_damage_is_refused_or_harmless(m, ds);
        hl_model_free(m);
    }
    hl_dataset_free(ds);
}

/* Absurd but finite weights must still give probabilities. */
static void extreme_rows_give_distributions(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 10, 5, 5);
    hl_model *m = small_model(ds, HL__MLP_ROBUST, 1);
    float x[3][10];
    for (int j = 0; j < 10; j++) {
        x[0][j] = NAN;
        x[1][j] = j % 2 ? 3e38f : -3e38f;
        x[2][j] = j % 2 ? INFINITY : -INFINITY;
    }
    double proba[3 * 5];
    hl_error err;
    assert_int_equal(hl_model_predict_matrix(m, &x[0][0], 3, 1, proba, &err), HL_OK);
    for (int r = 0; r < 3; r++) {
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

/* ---- progress, cancel, divergence ---- */

typedef struct progress_log {
    int calls, last_epoch, stop_at;
    atomic_int *cancel; /* raise it instead of returning non-zero */
} progress_log;

static int on_progress(const hl_train_progress *pr, void *user)
{
    progress_log *log = user;
    log->calls++;
    assert_int_equal(pr->round, log->last_epoch + 1);
    assert_true(isfinite(pr->train_loss));
    log->last_epoch = pr->round;
    if (log->cancel && pr->round == log->stop_at) {
        atomic_store(log->cancel, 1);
        return 0;
    }
    return pr->round == log->stop_at;
}

static void progress_and_cancel(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(500, 8, 3, 9);
    hl_train_params p;
    mlp_params(&p, 16, 12);
    p.early_stopping_rounds = 0;
    hl_model *m = NULL;
    hl_error err;
    progress_log log = {0, 0, 4, NULL};
    hl_train_control ctl = {on_progress, &log, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_ERR_CANCELLED);
    assert_null(m);
    assert_int_equal(log.calls, 4);
    /* The cancel flag stops the epoch it is raised in. */
    atomic_int flag = 0;
    progress_log log2 = {0, 0, 6, &flag};
    hl_train_control ctl2 = {on_progress, &log2, &flag};
    assert_int_equal(hl_train(ds, &p, &ctl2, &m, &err), HL_ERR_CANCELLED);
    assert_int_equal(log2.last_epoch, 6);
    /* Without cancel every epoch is reported, with both losses. */
    progress_log log3 = {0, 0, -1, NULL};
    hl_train_control ctl3 = {on_progress, &log3, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl3, &m, &err), HL_OK);
    assert_int_equal(log3.calls, 12);
    assert_int_equal(hl_model_summary_get(m)->iterations_done, 12);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* A loss that stops being a number ends training with HL_ERR_DIVERGED,
 * naming the epoch and the learning rate, and leaves nothing behind. The
 * NaN is injected through a class weight: the transform keeps every input
 * finite, so a real divergence cannot be provoked on demand. */
static void nan_loss_is_a_clear_error(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(300, 6, 3, 4);
    size_t *rows = malloc(ds->n_rows * sizeof *rows);
    for (size_t i = 0; i < ds->n_rows; i++)
        rows[i] = i;
    const double weights[3] = {1.0, NAN, 1.0};
    hl__mlp_params p = {16, 1, 0.0, 0.0, 0.001, 32, 5, HL__MLP_ROBUST, 5.0, 1};
    hl__fit_job job = {.x = ds->x,
                       .n_features = ds->n_features,
                       .y = ds->y,
                       .n_classes = 3,
                       .class_weight = weights,
                       .train_rows = rows,
                       .n_train = ds->n_rows,
                       .params = &p,
                       .seed = 1,
                       .threads = 1};
    hl__fit_result res;
    hl_error err;
    hl_error_clear(&err);
    assert_int_equal(hl__mlp_learner.fit(&job, &res, &err), HL_ERR_DIVERGED);
    assert_string_equal(err.field, "learning_rate");
    assert_non_null(strstr(err.message, "diverged"));
    assert_non_null(strstr(err.message, "epoch 1"));
    assert_null(res.train_loss);
    assert_null(res.fitted.state);
    assert_string_equal(hl_status_name(HL_ERR_DIVERGED), "diverged");
    free(rows);
    hl_dataset_free(ds);
}

/* ---- parameters ---- */

static void expect_bad(const char *name, double x)
{
    hl_train_params p;
    mlp_params(&p, 16, 5);
    hl_error err;
    hl_error_clear(&err);
    assert_int_equal(hl_train_params_set_number(&p, name, x, &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, name);
    assert_non_null(strstr(err.message, name));
}

static void parameters_are_validated(void **state)
{
    (void)state;
    expect_bad("hidden_units", 0);
    expect_bad("hidden_units", 7); /* narrower than a network */
    expect_bad("hidden_units", 2049);
    expect_bad("hidden_layers", 0);
    expect_bad("hidden_layers", 9);
    expect_bad("dropout", -0.01);
    expect_bad("dropout", 0.95);
    expect_bad("weight_decay", -1e-9);
    expect_bad("weight_decay", 10.5);
    expect_bad("weight_decay", 1e308);
    expect_bad("learning_rate", 0);
    expect_bad("learning_rate", 5e-324);
    expect_bad("learning_rate", 9e-6);
    expect_bad("learning_rate", 0.11);
    expect_bad("batch_size", 0);
    expect_bad("batch_size", 65537);
    expect_bad("epochs", 0);
    expect_bad("epochs", 100001);
    expect_bad("input_clip", 0.99);
    expect_bad("input_clip", 101);
    expect_bad("transform", 2);
    /* A decay that would remove more than a tenth of every weight per
     * step: each value is in range, their product is refused. */
    {
        hl_train_params p;
        mlp_params(&p, 16, 5);
        set(&p, "learning_rate", 0.02);
        set(&p, "weight_decay", 10);
        hl_error e;
        assert_int_equal(hl_train_params_validate(&p, &e), HL_ERR_INVALID);
        assert_string_equal(e.field, "weight_decay");
        assert_non_null(strstr(e.message, "learning_rate"));
        set(&p, "weight_decay", 5);
        assert_int_equal(hl_train_params_validate(&p, &e), HL_OK);
    }
    /* A GBDT parameter is not one of the MLP's. */
    expect_bad("max_depth", 3);
    const hl_learner_info *li = hl_learner_find("mlp");
    assert_non_null(li);
    assert_true(li->iterative);
    hl_param_value v;
    hl_error err;
    for (size_t k = 0; k < li->n_params; k++)
        if (!strcmp(li->params[k].name, "transform")) {
            assert_int_equal(hl_param_parse(&li->params[k], "quantile", &v, &err),
                             HL_OK);
            assert_int_equal(v.i, HL__MLP_QUANTILE);
            assert_int_equal(hl_param_parse(&li->params[k], "zscore", &v, &err),
                             HL_ERR_INVALID);
            assert_string_equal(err.field, "transform");
        }
    /* Safer parameters for a retry: a smaller step, smaller layers. */
    hl_train_params p;
    mlp_params(&p, 1024, 5);
    set(&p, "learning_rate", 0.01);
    set(&p, "hidden_layers", 6);
    hl_train_params_safer(&p);
    assert_int_equal(hl_train_params_get(&p, "learning_rate", &v, &err), HL_OK);
    assert_true(v.d <= 0.0003);
    assert_int_equal(hl_train_params_get(&p, "hidden_units", &v, &err), HL_OK);
    assert_int_equal(v.i, 256);
    assert_int_equal(hl_train_params_get(&p, "hidden_layers", &v, &err), HL_OK);
    assert_int_equal(v.i, 2);
    assert_int_equal(hl_train_params_validate(&p, &err), HL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_simulated_faults),
        cmocka_unit_test(every_transform_learns),
        cmocka_unit_test(deterministic_per_seed_and_threads),
        cmocka_unit_test(predictions_do_not_depend_on_chunks),
        cmocka_unit_test(vector_and_portable_products_agree),
        cmocka_unit_test(transform_is_bounded_and_handles_missing),
        cmocka_unit_test(quantile_ties_map_to_their_middle),
        cmocka_unit_test(file_round_trip_predicts_identically),
        cmocka_unit_test(corrupt_files_are_refused),
        cmocka_unit_test(extreme_rows_give_distributions),
        cmocka_unit_test(progress_and_cancel),
        cmocka_unit_test(nan_loss_is_a_clear_error),
        cmocka_unit_test(parameters_are_validated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
