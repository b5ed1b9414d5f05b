/* test_simulate.c - hl_simulate: shape, determinism, class mix, missing
 * cells, label table, distribution shift and option validation.
 *
 * Whether a model can learn the data is tested elsewhere (with the learner);
 * here we check the properties callers rely on and the "realistic looking"
 * traits promised in simulate.c, on sizes small enough for the sanitizer
 * build.
 */
#include <math.h>

#include "testutil.h"

static hl_dataset *simulate_ok(const hl_sim_options *opt, int variant)
{
    hl_dataset *ds = NULL;
    hl_error err;
    const hl_status rc = hl_simulate(opt, variant, &ds, &err);
    if (rc != HL_OK)
        fail_msg("hl_simulate: %s", err.message);
    assert_non_null(ds);
    return ds;
}

static size_t big_n(void)
{
    return tu_quick() ? 4000 : 40000;
}

static void test_defaults_and_shape(void **state)
{
    (void)state;
    hl_sim_options opt;
    hl_sim_options_init(&opt);
    assert_int_equal(opt.samples, 2000);
    assert_int_equal(opt.features, 32);
    assert_int_equal(opt.classes, 6);
    assert_true(opt.imbalance == 8.0);
    assert_int_equal(opt.seed, 42);

    hl_dataset *ds = simulate_ok(&opt, 0);
    assert_int_equal(ds->n_rows, 2000);
    assert_int_equal(ds->n_features, 32);
    assert_string_equal(ds->feature_names[0], "feature0");
    assert_string_equal(ds->feature_names[31], "feature31");
    assert_string_equal(ds->sample_ids[0], "0");
    assert_string_equal(ds->sample_ids[1234], "1234");
    assert_int_equal(ds->has_labels, 1);
    assert_int_equal(ds->n_classes, 6);
    for (size_t c = 0; c < 6; c++) {
        char want[4];
        snprintf(want, sizeof want, "%zu", c);
        assert_string_equal(ds->class_names[c], want);
    }
    assert_string_equal(ds->source, "simulate(seed=42)");
    assert_int_equal(ds->rows_read, 2000);
    assert_int_equal(ds->rows_skipped_no_label, 0);

    size_t nan = 0;
    for (size_t i = 0; i < ds->n_rows * ds->n_features; i++) {
        if (isnan(ds->x[i]))
            nan++;
        else
            assert_true(isfinite(ds->x[i]));
    }
    assert_int_equal(nan, ds->missing_cells);
    for (size_t i = 0; i < ds->n_rows; i++)
        assert_true(ds->y[i] >= 0 && ds->y[i] < 6);
    hl_dataset_free(ds);

    /* NULL options mean defaults. */
    ds = simulate_ok(NULL, 0);
    assert_int_equal(ds->n_rows, 2000);
    hl_dataset_free(ds);
}

static int same_data(const hl_dataset *a, const hl_dataset *b)
{
    /* memcmp, not ==: NaN cells must match bit for bit too */
    return a->n_rows == b->n_rows && a->n_features == b->n_features &&
           !memcmp(a->x, b->x, a->n_rows * a->n_features * sizeof *a->x) &&
           !memcmp(a->y, b->y, a->n_rows * sizeof *a->y);
}

static void test_deterministic(void **state)
{
    (void)state;
    hl_sim_options opt;
    hl_sim_options_init(&opt);
    hl_dataset *a = simulate_ok(&opt, 0), *b = simulate_ok(&opt, 0);
    assert_true(same_data(a, b));
    hl_dataset_free(b);

    opt.seed = 43;
    b = simulate_ok(&opt, 0);
    assert_false(same_data(a, b));
    hl_dataset_free(b);

    opt.seed = 42;
    b = simulate_ok(&opt, 1);
    assert_false(same_data(a, b));
    assert_string_equal(b->source, "simulate(seed=42,variant=1)");
    hl_dataset_free(b);
    hl_dataset_free(a);
}

static void count_classes(const hl_dataset *ds, size_t *count)
{
    memset(count, 0, ds->n_classes * sizeof *count);
    for (size_t i = 0; i < ds->n_rows; i++)
        count[ds->y[i]]++;
}

/* Frequencies fall geometrically from class 0 to 1/imbalance. */
static void test_class_mix(void **state)
{
    (void)state;
    hl_sim_options opt;
    hl_sim_options_init(&opt);
    opt.samples = big_n();
    opt.features = 8;
    hl_dataset *ds = simulate_ok(&opt, 0);
    size_t count[6], total = 0;
    count_classes(ds, count);
    for (size_t c = 0; c < 6; c++) {
        total += count[c];
        if (c > 0)
            assert_true(count[c] < count[c - 1]);
    }
    assert_int_equal(total, opt.samples);
    const double ratio = (double)count[0] / (double)count[5];
    assert_true(ratio > 7.5 && ratio < 8.5);
    hl_dataset_free(ds);

    opt.imbalance = 1.0;
    opt.samples = 600;
    ds = simulate_ok(&opt, 0);
    count_classes(ds, count);
    for (size_t c = 0; c < 6; c++)
        assert_int_equal(count[c], 100);
    hl_dataset_free(ds);

    /* Extreme imbalance still leaves every class at least one row. */
    opt.imbalance = 1e9;
    opt.samples = 50;
    ds = simulate_ok(&opt, 0);
    count_classes(ds, count);
    for (size_t c = 0; c < 6; c++)
        assert_true(count[c] >= 1);
    hl_dataset_free(ds);

    /* Fewer rows than classes is allowed (some classes empty). */
    opt.samples = 1;
    ds = simulate_ok(&opt, 0);
    assert_int_equal(ds->n_rows, 1);
    assert_int_equal(ds->n_classes, 6);
    hl_dataset_free(ds);
}

static void test_missing_rate(void **state)
{
    (void)state;
    hl_sim_options opt;
    hl_sim_options_init(&opt);
    opt.samples = big_n() / 4;
    opt.missing_rate = 0.1;
    hl_dataset *ds = simulate_ok(&opt, 0);
    const double cells = (double)(ds->n_rows * ds->n_features);
    const double rate = (double)ds->missing_cells / cells;
    assert_true(fabs(rate - 0.1) < 0.01);
    /* Spread over all columns, not bunched into a few. */
    for (size_t j = 0; j < ds->n_features; j++) {
        size_t miss = 0;
        for (size_t i = 0; i < ds->n_rows; i++)
            miss += isnan(ds->x[i * ds->n_features + j]);
        assert_true(miss > 0);
    }
    hl_dataset_free(ds);

    opt.missing_rate = 0.0;
    ds = simulate_ok(&opt, 0);
    assert_int_equal(ds->missing_cells, 0);
    for (size_t i = 0; i < ds->n_rows * ds->n_features; i++)
        assert_false(isnan(ds->x[i]));
    hl_dataset_free(ds);
}

static void test_string_labels_sorted(void **state)
{
    (void)state;
    hl_sim_options opt;
    hl_sim_options_init(&opt);
    opt.string_labels = 1;
    opt.classes = 20;
    opt.samples = 4000;
    hl_dataset *ds = simulate_ok(&opt, 0);
    assert_int_equal(ds->n_classes, 20);
    for (size_t c = 1; c < ds->n_classes; c++)
        assert_true(strcmp(ds->class_names[c - 1], ds->class_names[c]) < 0);

    long normal = -1, cpu = -1, extra = -1;
    for (size_t c = 0; c < ds->n_classes; c++) {
        if (!strcmp(ds->class_names[c], "normal"))
            normal = (long)c;
        if (!strcmp(ds->class_names[c], "cpu_saturation"))
            cpu = (long)c;
        if (!strcmp(ds->class_names[c], "fault_19"))
            extra = (long)c;
    }
    assert_true(normal >= 0 && cpu >= 0 && extra >= 0);

    /* y refers to the sorted table: "normal" (class 0) is the most
     * frequent, "cpu_saturation" (class 1) next, fault_19 the rarest. */
    size_t count[20];
    count_classes(ds, count);
    for (size_t c = 0; c < 20; c++) {
        assert_true(count[normal] >= count[c]);
        assert_true(count[extra] <= count[c]);
        if ((long)c != normal)
            assert_true(count[cpu] >= count[c]);
    }
    hl_dataset_free(ds);
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Median of column j over rows of class cls (NaN skipped). */
static double column_median(const hl_dataset *ds, size_t j, int32_t cls)
{
    float *v = malloc(ds->n_rows * sizeof *v);
    assert_non_null(v);
    size_t n = 0;
    for (size_t i = 0; i < ds->n_rows; i++) {
        const float x = ds->x[i * ds->n_features + j];
        if (ds->y[i] == cls && !isnan(x))
            v[n++] = x;
    }
    qsort(v, n, sizeof *v, cmp_float);
    const double m = n ? v[n / 2] : NAN;
    free(v);
    return m;
}

/* Variant 1 rescales some KPIs and flattens the class mix; with shift 0 it
 * is a fresh draw from the very same distribution. */
static void test_shift(void **state)
{
    (void)state;
    hl_sim_options opt;
    hl_sim_options_init(&opt);
    opt.samples = big_n() / 2;
    opt.features = 16;
    hl_dataset *base = simulate_ok(&opt, 0), *moved = simulate_ok(&opt, 1);
    opt.shift = 0.0;
    hl_dataset *same = simulate_ok(&opt, 1);

    size_t c_base[6], c_moved[6], c_same[6];
    count_classes(base, c_base);
    count_classes(moved, c_moved);
    count_classes(same, c_same);
    assert_true(c_moved[0] < c_base[0]);
    assert_true(c_moved[5] > c_base[5]);
    assert_memory_equal(c_same, c_base, sizeof c_base);

    size_t shifted = 0, stable = 0;
    for (size_t j = 0; j < base->n_features; j++) {
        const double m0 = column_median(base, j, 0);
        const double m1 = column_median(moved, j, 0);
        const double ms = column_median(same, j, 0);
        if (m0 == 0.0 || !isfinite(m0))
            continue; /* dead column or a counter sitting at 0 */
        if (fabs(m1 / m0 - 1.0) > 0.2)
            shifted++;
        if (fabs(ms / m0 - 1.0) < 0.2)
            stable++;
    }
    assert_true(shifted >= 2);
    assert_true(stable >= base->n_features - 4);
    /* The KPIs it names as moved on purpose; none without a shift, and a
     * dead column never (it stays 0). */
    uint8_t named[16], none[16];
    hl_error err;
    opt.shift = 0.5;
    assert_int_equal(hl_sim_shifted_features(&opt, named, &err), HL_OK);
    size_t n_named = 0;
    for (size_t j = 0; j < 16; j++) {
        n_named += named[j];
        if (named[j])
            assert_false(column_median(base, j, 0) == 0.0 &&
                         column_median(moved, j, 0) == 0.0 &&
                         column_median(same, j, 0) == 0.0);
    }
    assert_true(n_named >= shifted && n_named < 16);
    opt.shift = 0.0;
    assert_int_equal(hl_sim_shifted_features(&opt, none, &err), HL_OK);
    for (size_t j = 0; j < 16; j++)
        assert_int_equal(none[j], 0);
    opt.features = 2;
    assert_int_equal(hl_sim_shifted_features(&opt, none, &err), HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "features"));
    hl_dataset_free(base);
    hl_dataset_free(moved);
    hl_dataset_free(same);
}

/* The traits that make the data look like real KPI exports. */
static void test_realistic_columns(void **state)
{
    (void)state;
    hl_sim_options opt;
    hl_sim_options_init(&opt);
    opt.samples = big_n() / 4;
    opt.missing_rate = 0.0;
    hl_dataset *ds = simulate_ok(&opt, 0);
    const size_t f = ds->n_features;
    size_t zero_cols = 0, integer_cols = 0, negative_cols = 0, heavy_cols = 0;
    double smallest = INFINITY, largest = 0;
    for (size_t j = 0; j < f; j++) {
        int all_zero = 1, all_int = 1, any_neg = 0;
        for (size_t i = 0; i < ds->n_rows; i++) {
            const float x = ds->x[i * f + j];
            all_zero &= x == 0.0f;
            all_int &= x >= 0.0f && x == floorf(x);
            any_neg |= x < 0.0f;
        }
        zero_cols += all_zero;
        integer_cols += all_int && !all_zero;
        negative_cols += any_neg;
        const double med = fabs(column_median(ds, j, 0));
        if (med > 0) {
            smallest = med < smallest ? med : smallest;
            largest = med > largest ? med : largest;
        }
        double top = 0;
        for (size_t i = 0; i < ds->n_rows; i++)
            top = fmax(top, fabs((double)ds->x[i * f + j]));
        if (med > 0 && top / med > 1000)
            heavy_cols++;
    }
    assert_true(zero_cols >= 1 && zero_cols <= 2);
    assert_true(integer_cols >= 1);
    assert_true(negative_cols >= 1);
    assert_true(heavy_cols >= 1);
    assert_true(largest / smallest > 1e4); /* scales span orders of magnitude */
    hl_dataset_free(ds);
}

static void expect_invalid(const hl_sim_options *opt, int variant,
                           const char *name)
{
    hl_dataset *ds = (hl_dataset *)(uintptr_t)1;
    hl_error err;
    assert_int_equal(hl_simulate(opt, variant, &ds, &err), HL_ERR_INVALID);
    assert_null(ds);
    if (!strstr(err.message, name))
        fail_msg("message '%s' does not name '%s'", err.message, name);
}

static void test_invalid_options(void **state)
{
    (void)state;
    hl_sim_options base, o;
    hl_sim_options_init(&base);

    o = base, o.samples = 0;
    expect_invalid(&o, 0, "samples");
    o = base, o.samples = 100000001;
    expect_invalid(&o, 0, "samples");
    o = base, o.features = 3;
    expect_invalid(&o, 0, "features");
    o = base, o.features = 100001;
    expect_invalid(&o, 0, "features");
    o = base, o.classes = 1;
    expect_invalid(&o, 0, "classes");
    o = base, o.classes = 65;
    expect_invalid(&o, 0, "classes");
    o = base, o.imbalance = 0.5;
    expect_invalid(&o, 0, "imbalance");
    o = base, o.imbalance = NAN;
    expect_invalid(&o, 0, "imbalance");
    o = base, o.missing_rate = 0.95;
    expect_invalid(&o, 0, "missing_rate");
    o = base, o.missing_rate = -0.01;
    expect_invalid(&o, 0, "missing_rate");
    o = base, o.heavy_tail_fraction = 1.5;
    expect_invalid(&o, 0, "heavy_tail_fraction");
    o = base, o.noise = -1;
    expect_invalid(&o, 0, "noise");
    o = base, o.noise = INFINITY;
    expect_invalid(&o, 0, "noise");
    o = base, o.shift = -0.1;
    expect_invalid(&o, 0, "shift");
    expect_invalid(&base, 2, "variant");
    expect_invalid(&base, -1, "variant");
    assert_int_equal(hl_simulate(&base, 0, NULL, NULL), HL_ERR_INVALID);

    /* The edges of the ranges are accepted. */
    o = base, o.samples = 10, o.features = 4, o.classes = 64;
    o.missing_rate = 0.9, o.heavy_tail_fraction = 1.0, o.noise = 0.0;
    hl_dataset *ds = simulate_ok(&o, 1);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_shape),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_class_mix),
        cmocka_unit_test(test_missing_rate),
        cmocka_unit_test(test_string_labels_sorted),
        cmocka_unit_test(test_shift),
        cmocka_unit_test(test_realistic_columns),
        cmocka_unit_test(test_invalid_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
