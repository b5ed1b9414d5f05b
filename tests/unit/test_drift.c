/* test_drift.c - drift references and drift checks (healer/drift.h).
 *
 * What: the reference's sketch and distribution function on values whose
 * quantiles are known exactly; PSI and KS against hand-computed values; a
 * KPI that became missing; constant KPIs and NaN/infinite cells (no NaN
 * out, no false alarm); tiny batches that do not cry wolf; a random half
 * of the training data that says none; the simulator's shifted KPIs found
 * and its others left alone; matching columns by name; thread counts;
 * the model file section (round trip, old files without it, corrupt ones
 * refused).
 *
 * Why: the check decides whether a user is told to distrust the model.
 * The maths must be right to the digit where it can be worked out by
 * hand, and calibrated where it cannot (the simulated tests).
 */
#include <math.h>

#include "container.h"
#include "internal.h"
#include "testutil.h"

/* ---- a model over hand-made data ---- */

/* 101 rows: a = 1..101 (so quantile k is exactly k + 1), b = 0 always,
 * c missing in the first 21 rows and 1..80 after; labels alternate. */
static hl_dataset *hand_dataset(void)
{
    size_t cap = 8192, len = 0;
    char *csv = malloc(cap);
    assert_non_null(csv);
    len += (size_t)snprintf(csv + len, cap - len, "sample_id,a,b,c,label\n");
    for (int i = 1; i <= 101; i++) {
        char c[16] = "";
        if (i > 21)
            snprintf(c, sizeof c, "%d", i - 21);
        len += (size_t)snprintf(csv + len, cap - len, "%d,%d,0,%s,%d\n", i, i,
                                c, i % 2);
    }
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(
        hl_dataset_parse_csv(csv, len, "hand.csv", NULL, &ds, &err), HL_OK);
    free(csv);
    return ds;
}

static hl_model *train_on(const hl_dataset *ds, int rounds)
{
    hl_train_params p;
    hl_error err;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_number(&p, "rounds", rounds, &err),
                     HL_OK);
    p.threads = 1;
    hl_model *m = NULL;
    if (hl_train(ds, &p, NULL, &m, &err) != HL_OK)
        fail_msg("hl_train: %s", err.message);
    return m;
}

static hl_model *hand_model(void)
{
    hl_dataset *ds = hand_dataset();
    hl_model *m = train_on(ds, 3);
    hl_dataset_free(ds);
    return m;
}

static void check_ok(const hl_model *m, const float *x, size_t n,
                     hl_drift_report *r)
{
    hl_error err;
    if (hl_drift_check_matrix(m, x, n, 1, r, &err) != HL_OK)
        fail_msg("hl_drift_check_matrix: %s", err.message);
}

static void assert_close(double got, double want, double tol)
{
    if (!(fabs(got - want) <= tol))
        fail_msg("got %.12g, want %.12g", got, want);
}

/* ---- the sketch ---- */

static void sketch_and_distribution_function(void **state)
{
    (void)state;
    hl_model *m = hand_model();
    assert_true(hl_model_has_drift_reference(m));
    const hl__drift_ref *ref = m->drift;
    assert_int_equal(ref->quantiles, HL_DRIFT_QUANTILES);
    assert_int_equal(ref->rows, 101);
    assert_int_equal(ref->present[0], 101);
    assert_int_equal(ref->present[2], 80);
    assert_int_equal(ref->class_count[0] + ref->class_count[1], 101);
    const float *a = hl__drift_ref_sketch(ref, 0);
    for (uint32_t k = 0; k <= ref->quantiles; k++)
        assert_true(a[k] == (float)(k + 1));
    const uint32_t Q = ref->quantiles;
    assert_close(hl__drift_cdf(a, Q, 0.5, 0), 0.0, 0);
    assert_close(hl__drift_cdf(a, Q, 1.0, 1), 0.0, 0);
    assert_close(hl__drift_cdf(a, Q, 11.0, 0), 0.10, 1e-15);
    assert_close(hl__drift_cdf(a, Q, 11.5, 0), 0.105, 1e-15);
    assert_close(hl__drift_cdf(a, Q, 11.5, 1), 0.105, 1e-15);
    assert_close(hl__drift_cdf(a, Q, 101.0, 0), 1.0, 0);
    assert_close(hl__drift_cdf(a, Q, 101.0, 1), 1.0, 1e-15);
    assert_close(hl__drift_cdf(a, Q, 1e9, 1), 1.0, 0);
    /* A constant KPI: one step from 0 to 1 at its value. */
    const float *b = hl__drift_ref_sketch(ref, 1);
    assert_close(hl__drift_cdf(b, Q, 0.0, 1), 0.0, 0);
    assert_close(hl__drift_cdf(b, Q, 0.0, 0), 1.0, 0);
    /* Repeated quantiles: the value's whole share is at it. */
    const float tied[] = {0, 0, 0, 5, 9};
    assert_close(hl__drift_cdf(tied, 4, 0.0, 0), 0.5, 0);
    assert_close(hl__drift_cdf(tied, 4, 0.0, 1), 0.0, 0);
    assert_close(hl__drift_cdf(tied, 4, 5.0, 1), 0.75, 0);
    assert_close(hl__drift_cdf(tied, 4, 7.0, 0), 0.875, 1e-15);
    hl_model_free(m);
}

/* ---- PSI and KS by hand ---- */

static double term(double o, double e)
{
    return (o - e) * log(fmax(o, 1e-4) / fmax(e, 1e-4));
}

static void psi_and_ks_against_hand_computed_values(void **state)
{
    (void)state;
    hl_model *m = hand_model();
    /* 50 rows: a = 51..100, b = 0, c always missing. */
    float x[50 * 3];
    for (int i = 0; i < 50; i++) {
        x[i * 3 + 0] = (float)(51 + i);
        x[i * 3 + 1] = 0.0f;
        x[i * 3 + 2] = NAN;
    }
    hl_drift_report r;
    check_ok(m, x, 50, &r);
    assert_int_equal(r.rows, 50);
    assert_int_equal(r.reference_rows, 101);
    assert_int_equal(r.n_kpis, 3);
    const hl_drift_kpi *a = &r.kpis[0], *b = &r.kpis[1], *c = &r.kpis[2];
    assert_string_equal(a->name, "a");
    /* KS: the reference's function is (x - 1) / 100; just below 51 it is
     * 0.5 while the batch's is 0. */
    assert_close(a->ks, 0.5, 1e-12);
    /* PSI over the deciles 11, 21, ..., 91 (reference 0.1 each): the batch
     * has none in the four lowest, 51 alone in (41, 51], ten in each of
     * the next four and nine above 91. */
    double want = 4 * term(0, 0.1) + term(0.02, 0.1) + 4 * term(0.2, 0.1) +
                  term(0.18, 0.1);
    assert_close(a->psi, want, 1e-12);
    assert_close(a->psi, 3.2161388, 1e-6);
    assert_true(a->significant);
    assert_int_equal(a->level, HL_DRIFT_SEVERE);
    /* The critical value for two tests on each of 3 KPIs at 1 %
     * family-wise. */
    double a_each = 0.01 / 6;
    double c_alpha = sqrt(-0.5 * log(a_each / 2));
    assert_close(a->ks_critical,
                 c_alpha * sqrt((50.0 + 101.0) / (50.0 * 101.0)), 1e-12);
    /* Pearson's statistic over the same bins, against the pooled shares. */
    const double o[] = {0, 0, 0, 0, 0.02, 0.2, 0.2, 0.2, 0.2, 0.18};
    double x2 = 0;
    for (int j = 0; j < 10; j++) {
        double pooled = (50 * o[j] + 101 * 0.1) / 151;
        x2 += (o[j] - 0.1) * (o[j] - 0.1) / pooled;
    }
    assert_close(a->chi2, x2 / (1.0 / 50 + 1.0 / 101), 1e-9);
    /* Ten bins filled: nine degrees of freedom, at the far tail a_each
     * (scipy.stats.chi2.isf(0.01 / 6, 9)). */
    assert_close(a->chi2_critical, 26.53877923022558, 1e-6);
    /* A constant KPI that stayed constant: nothing, and no NaN. */
    assert_true(b->psi == 0.0 && b->ks == 0.0);
    assert_false(b->significant);
    assert_true(b->chi2 == 0.0);
    assert_true(isfinite(b->chi2_critical) && isfinite(b->ks_critical));
    /* c became missing: 21 of 101 reference rows missed it, now all. */
    double miss = 21.0 / 101.0;
    double want_c = term(1.0, miss);
    for (int j = 0; j < 10; j++)
        want_c += term(0.0, (1.0 - miss) * 0.1);
    assert_close(c->missing_reference, miss, 1e-15);
    assert_close(c->missing_batch, 1.0, 0);
    assert_close(c->ks, 0.0, 0);
    assert_close(c->ks_critical, 1.0, 0);
    assert_close(c->psi, want_c, 1e-9);
    assert_true(c->significant);
    assert_int_equal(c->level, HL_DRIFT_SEVERE);
    assert_int_equal(r.verdict, HL_DRIFT_SEVERE);
    assert_int_equal(r.n_significant, 2);
    /* Worst first: c (PSI about 6.5), then a, then b. */
    assert_int_equal(r.order[0], 2);
    assert_int_equal(r.order[1], 0);
    assert_int_equal(r.order[2], 1);
    assert_close(r.reference_class_mix[0] + r.reference_class_mix[1], 1.0,
                 1e-15);
    assert_close(r.reference_class_mix[1], 51.0 / 101.0, 1e-15);
    hl_drift_report_free(&r);
    hl_model_free(m);
}

/* The same values as the reference: nothing moved. Cells that are NaN or
 * infinite count as missing. */
static void reference_rows_themselves_say_none(void **state)
{
    (void)state;
    hl_dataset *ds = hand_dataset();
    hl_model *m = train_on(ds, 3);
    hl_drift_report r;
    check_ok(m, ds->x, ds->n_rows, &r);
    /* Not exactly 0: the sketch interpolates between order statistics
     * (the i-th of n values is at (i - 1) / (n - 1)), the batch's
     * function steps (i / n). */
    for (size_t f = 0; f < 3; f++) {
        assert_true(r.kpis[f].ks <=
                    1.0 / (double)r.kpis[f].present_batch + 1e-12);
        assert_true(r.kpis[f].psi < 0.01);
        assert_false(r.kpis[f].significant);
    }
    assert_int_equal(r.verdict, HL_DRIFT_NONE);
    hl_drift_report_free(&r);
    /* A constant KPI that takes another value is drift (no NaN either). */
    float *x = malloc(ds->n_rows * 3 * sizeof *x);
    memcpy(x, ds->x, ds->n_rows * 3 * sizeof *x);
    for (size_t i = 0; i < ds->n_rows; i++)
        x[i * 3 + 1] = 7.0f;
    x[0] = INFINITY;
    x[3] = -INFINITY;
    check_ok(m, x, ds->n_rows, &r);
    assert_close(r.kpis[1].ks, 1.0, 0);
    assert_true(isfinite(r.kpis[1].psi) && r.kpis[1].psi > 5);
    assert_int_equal(r.kpis[1].level, HL_DRIFT_SEVERE);
    assert_int_equal(r.kpis[0].present_batch, ds->n_rows - 2);
    assert_false(r.kpis[0].significant);
    hl_drift_report_free(&r);
    free(x);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* Five rows up the range: the KS distance, PSI and the chi-square
 * statistic are large, but five rows cannot show it is more than chance
 * (the chi-square test is not trusted below HL_DRIFT_MIN_ROWS rows:
 * five rows leave half its bins empty whatever the distribution). */
static void tiny_batches_do_not_cry_wolf(void **state)
{
    (void)state;
    hl_model *m = hand_model();
    float x[5 * 3];
    for (int i = 0; i < 5; i++) {
        x[i * 3 + 0] = (float)(60 + i);
        x[i * 3 + 1] = 0.0f;
        x[i * 3 + 2] = (float)(50 + i);
    }
    hl_drift_report r;
    check_ok(m, x, 5, &r);
    assert_close(r.kpis[0].ks, 0.59, 1e-12);
    assert_true(r.kpis[0].ks < r.kpis[0].ks_critical);
    assert_true(r.kpis[0].psi > HL_DRIFT_PSI_SEVERE);
    assert_true(r.rows < HL_DRIFT_MIN_ROWS);
    assert_int_equal(r.n_significant, 0);
    assert_int_equal(r.verdict, HL_DRIFT_NONE);
    hl_drift_report_free(&r);
    /* One row is checked too, without NaN. */
    check_ok(m, x, 1, &r);
    for (size_t f = 0; f < 3; f++)
        assert_true(isfinite(r.kpis[f].psi) && isfinite(r.kpis[f].ks));
    assert_int_equal(r.verdict, HL_DRIFT_NONE);
    hl_drift_report_free(&r);
    hl_model_free(m);
}

static void bad_calls_are_errors(void **state)
{
    (void)state;
    hl_model *m = hand_model();
    hl_drift_report r;
    hl_error err;
    float x[3] = {1, 0, 1};
    assert_int_equal(hl_drift_check_matrix(m, x, 0, 1, &r, &err), HL_ERR_DATA);
    assert_non_null(strstr(err.message, "no rows"));
    assert_int_equal(hl_drift_check_matrix(m, NULL, 3, 1, &r, &err),
                     HL_ERR_INVALID);
    /* A dataset lacking a KPI names it; extra columns are warned about. */
    const char *csv = "a,c,label\n1,2,0\n";
    hl_dataset *ds = NULL;
    assert_int_equal(
        hl_dataset_parse_csv(csv, strlen(csv), "nob.csv", NULL, &ds, &err),
        HL_OK);
    assert_int_equal(hl_drift_check_dataset(m, ds, 1, &r, NULL, &err),
                     HL_ERR_DATA);
    assert_string_equal(err.column, "b");
    assert_non_null(strstr(err.message, "'b'"));
    hl_dataset_free(ds);
    /* The CSV reader refuses a file without rows; a dataset can still
     * have none. */
    hl_dataset *full = hand_dataset();
    size_t none = 0;
    assert_int_equal(hl_dataset_subset(full, &none, 0, &ds, &err), HL_OK);
    assert_int_equal(hl_drift_check_dataset(m, ds, 1, &r, NULL, &err),
                     HL_ERR_DATA);
    assert_non_null(strstr(err.message, "hand.csv: no rows"));
    hl_dataset_free(ds);
    hl_dataset_free(full);
    hl_model_free(m);
}

/* Columns by name, in any order, extra ones ignored: the same report. */
static void dataset_columns_by_name(void **state)
{
    (void)state;
    hl_model *m = hand_model();
    const char *csv = "extra,c,b,a\n9,1,0,60\n9,,0,61\n9,3,0,62\n";
    hl_dataset *ds = NULL;
    hl_error err;
    hl_warnings warn = {0};
    assert_int_equal(
        hl_dataset_parse_csv(csv, strlen(csv), "re.csv", NULL, &ds, &err),
        HL_OK);
    hl_drift_report by_name, by_matrix;
    assert_int_equal(hl_drift_check_dataset(m, ds, 1, &by_name, &warn, &err),
                     HL_OK);
    assert_int_equal(warn.count, 1);
    assert_non_null(strstr(warn.items[0], "extra"));
    float x[] = {60, 0, 1, 61, 0, NAN, 62, 0, 3};
    check_ok(m, x, 3, &by_matrix);
    for (size_t f = 0; f < 3; f++) {
        assert_true(by_name.kpis[f].psi == by_matrix.kpis[f].psi);
        assert_true(by_name.kpis[f].ks == by_matrix.kpis[f].ks);
        assert_int_equal(by_name.kpis[f].present_batch,
                         by_matrix.kpis[f].present_batch);
    }
    hl_drift_report_free(&by_name);
    hl_drift_report_free(&by_matrix);
    hl_warnings_free(&warn);
    hl_dataset_free(ds);
    hl_model_free(m);
}

/* ---- simulated data: calibration ---- */

static hl_dataset *simulate(size_t samples, size_t features, uint64_t seed,
                            int variant)
{
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = samples;
    o.features = features;
    o.seed = seed;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, variant, &ds, &err), HL_OK);
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

/* A model trained on all rows, checked against a random half of them,
 * says none (the calibration bench/drift_check.py runs on real data). */
static void random_half_of_the_training_data_says_none(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(4000, 40, 7, 0);
    hl_model *m = train_on(ds, 5);
    size_t n = ds->n_rows / 2;
    size_t *rows = malloc(ds->n_rows * sizeof *rows);
    for (size_t i = 0; i < ds->n_rows; i++)
        rows[i] = i;
    hl__rng rng;
    hl__rng_seed(&rng, 99);
    for (size_t i = ds->n_rows - 1; i > 0; i--) {
        size_t j = (size_t)hl__rng_below(&rng, i + 1), t = rows[i];
        rows[i] = rows[j];
        rows[j] = t;
    }
    hl_dataset *half = NULL;
    hl_error err;
    assert_int_equal(hl_dataset_subset(ds, rows, n, &half, &err), HL_OK);
    hl_drift_report r;
    assert_int_equal(hl_drift_check_dataset(m, half, 0, &r, NULL, &err), HL_OK);
    assert_int_equal(r.verdict, HL_DRIFT_NONE);
    assert_true(r.n_significant <= 1);
    for (size_t f = 0; f < r.n_kpis; f++) {
        assert_true(isfinite(r.kpis[f].psi) && isfinite(r.kpis[f].ks));
        assert_true(r.kpis[f].ks < r.kpis[f].ks_critical);
    }
    hl_drift_report_free(&r);
    hl_dataset_free(half);
    free(rows);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* The simulator's shifted file, over several systems: the KPIs it moves
 * on purpose are found, those only touched by the new class mix are not,
 * and held-out rows of the training distribution say none. */
static void simulated_shift_found_and_others_left_alone(void **state)
{
    (void)state;
    const unsigned systems = tu_quick() ? 3 : 10;
    size_t shifted_found = 0, shifted_total = 0, others_flagged = 0,
           others_total = 0;
    for (unsigned s = 0; s < systems; s++) {
        hl_sim_options o;
        hl_sim_options_init(&o);
        o.seed = 101 + s;
        hl_dataset *all = simulate(o.samples, o.features, o.seed, 0);
        hl_dataset *train = rows_of(all, 0, 1000),
                   *held = rows_of(all, 1000, 1000);
        hl_dataset *moved = simulate(o.samples, o.features, o.seed, 1);
        uint8_t truth[32];
        hl_error err;
        assert_int_equal(hl_sim_shifted_features(&o, truth, &err), HL_OK);
        hl_model *m = train_on(train, 5);
        hl_drift_report r;
        assert_int_equal(hl_drift_check_dataset(m, held, 0, &r, NULL, &err),
                         HL_OK);
        assert_int_equal(r.verdict, HL_DRIFT_NONE);
        hl_drift_report_free(&r);
        assert_int_equal(hl_drift_check_dataset(m, moved, 0, &r, NULL, &err),
                         HL_OK);
        assert_int_not_equal(r.verdict, HL_DRIFT_NONE);
        for (size_t f = 0; f < r.n_kpis; f++) {
            if (truth[f]) {
                shifted_total++;
                shifted_found += r.kpis[f].significant != 0;
            } else {
                others_total++;
                others_flagged += r.kpis[f].significant != 0;
            }
        }
        hl_drift_report_free(&r);
        hl_model_free(m);
        hl_dataset_free(moved);
        hl_dataset_free(held);
        hl_dataset_free(train);
        hl_dataset_free(all);
    }
    print_message(
        "shifted KPIs found: %zu of %zu; others flagged: %zu of %zu\n",
        shifted_found, shifted_total, others_flagged, others_total);
    assert_true(shifted_found * 100 >= shifted_total * 95);
    assert_true(others_flagged * 100 <= others_total * 2);
}

/* The set other parts of the engine use to leave drifted KPIs out. */
static void drifted_features_are_the_significant_ones(void **state)
{
    (void)state;
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.seed = 11;
    hl_dataset *train = simulate(1000, 32, 11, 0);
    hl_dataset *moved = simulate(1000, 32, 11, 1);
    hl_model *m = train_on(train, 3);
    hl_error err;
    size_t *features = NULL, n = 0;
    assert_int_equal(hl_drift_drifted_features(m, moved->x, moved->n_rows, 2,
                                               &features, &n, &err),
                     HL_OK);
    hl_drift_report r;
    check_ok(m, moved->x, moved->n_rows, &r);
    assert_int_equal(n, r.n_significant);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++) {
        assert_true(r.kpis[features[i]].significant);
        assert_true(i == 0 || features[i] > features[i - 1]);
    }
    /* Threads change nothing. */
    hl_drift_report r4;
    assert_int_equal(
        hl_drift_check_matrix(m, moved->x, moved->n_rows, 4, &r4, &err), HL_OK);
    assert_memory_equal(r.kpis, r4.kpis, r.n_kpis * sizeof *r.kpis);
    assert_memory_equal(r.order, r4.order, r.n_kpis * sizeof *r.order);
    hl_drift_report_free(&r4);
    hl_drift_report_free(&r);
    free(features);
    hl_model_free(m);
    hl_dataset_free(moved);
    hl_dataset_free(train);
}

/* ---- model files ---- */

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void fix_crc(uint8_t *buf, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len - 4; i++) {
        crc ^= buf[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    put_le(buf + len - 4, crc ^ 0xFFFFFFFFu, 4);
}

/* Offset of the payload of section `tag` in a model file (0 = none). */
static size_t section_payload(const uint8_t *buf, size_t len, uint32_t tag,
                              size_t *payload_len)
{
    for (size_t at = 24; at + 16 <= len - 4;) {
        size_t n = (size_t)get_le(buf + at + 8, 8);
        if (get_le(buf + at, 4) == tag) {
            *payload_len = n;
            return at + 16;
        }
        at += 16 + n;
    }
    return 0;
}

#define SEC_DRIFT 10

static void section_round_trip(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(600, 12, 3, 0);
    hl_dataset *moved = simulate(300, 12, 3, 1);
    hl_model *m = train_on(ds, 5);
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "rt.model", &back, &err),
                     HL_OK);
    assert_true(hl_model_has_drift_reference(back));
    assert_int_equal(back->drift->rows, m->drift->rows);
    assert_memory_equal(back->drift->q, m->drift->q,
                        12 * (HL_DRIFT_QUANTILES + 1) * sizeof(float));
    hl_drift_report a, b;
    check_ok(m, moved->x, moved->n_rows, &a);
    check_ok(back, moved->x, moved->n_rows, &b);
    for (size_t f = 0; f < a.n_kpis; f++) {
        assert_true(a.kpis[f].psi == b.kpis[f].psi &&
                    a.kpis[f].ks == b.kpis[f].ks);
        assert_true(a.kpis[f].chi2 == b.kpis[f].chi2);
        assert_int_equal(a.kpis[f].level, b.kpis[f].level);
        assert_string_equal(a.kpis[f].name, b.kpis[f].name);
    }
    assert_memory_equal(a.reference_class_mix, b.reference_class_mix,
                        a.n_classes * sizeof(double));
    hl_drift_report_free(&a);
    hl_drift_report_free(&b);
    hl_model_free(back);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(moved);
    hl_dataset_free(ds);
}

/* A file without the section (written before it existed) loads and
 * predicts; a drift check on it says why it cannot. */
static void models_without_a_reference(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 8, 4, 0);
    hl_model *m = train_on(ds, 5);
    uint8_t *buf;
    size_t len, n;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    size_t at = section_payload(buf, len, SEC_DRIFT, &n);
    assert_true(at > 0);
    /* Cut the section out: the bytes after it move up. */
    size_t start = at - 16, cut = 16 + n;
    memmove(buf + start, buf + start + cut, len - start - cut);
    len -= cut;
    put_le(buf + 12, get_le(buf + 12, 4) - 1, 4);
    put_le(buf + 16, len - 24 - 4, 8);
    fix_crc(buf, len);
    hl_model *old = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "old.model", &old, &err),
                     HL_OK);
    assert_false(hl_model_has_drift_reference(old));
    double p1[3 * 6], p2[3 * 6];
    assert_int_equal(hl_model_predict_matrix(m, ds->x, 3, 1, p1, &err), HL_OK);
    assert_int_equal(hl_model_predict_matrix(old, ds->x, 3, 1, p2, &err),
                     HL_OK);
    assert_memory_equal(p1, p2, sizeof p1);
    hl_drift_report r;
    assert_int_equal(hl_drift_check_matrix(old, ds->x, ds->n_rows, 1, &r, &err),
                     HL_ERR_DATA);
    assert_string_equal(err.message,
                        "the model has no drift reference; retrain it");
    size_t *features = NULL;
    assert_int_equal(
        hl_drift_drifted_features(old, ds->x, 5, 1, &features, &n, &err),
        HL_ERR_DATA);
    assert_null(features);
    hl_model_free(old);
    /* The files of format version 1 have none either. */
    assert_int_equal(
        hl_model_load("tests/fixtures/model_v1/v1_multiclass.model", &old,
                      &err),
        HL_OK);
    assert_false(hl_model_has_drift_reference(old));
    hl_model_free(old);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* A section whose checksum was forged but whose content breaks the rules
 * is refused with a message naming it. */
static void corrupt_sections_are_refused(void **state)
{
    (void)state;
    hl_dataset *ds = simulate(400, 8, 4, 0);
    hl_model *m = train_on(ds, 5);
    uint8_t *buf;
    size_t len, n = 0;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    size_t at = section_payload(buf, len, SEC_DRIFT, &n);
    assert_true(at > 0);
    uint8_t *copy = malloc(len);
    /* What each corruption changes: offset from the payload, bytes, value. */
    const size_t first_q = at + 4 + 8 + 4 + 8;
    const struct {
        size_t at;
        int bytes;
        uint64_t value;
        const char *what;
    } CASES[] = {
        {at, 4, 0, "no quantiles"},
        {at, 4, 1u << 20, "a huge quantile count"},
        {at + 4, 8, 0, "no reference rows"},
        {at + 12, 4, 9, "another KPI count"},
        {at + 16, 8, 1u << 30, "more present rows than rows"},
        {first_q + 4 * 5, 4, 0xFF800000u, "a -inf quantile"},
        {first_q + 4 * 5, 4, 0x7FC00000u, "a NaN quantile"},
        {first_q + 4 * 5, 4, 0x7F7FFFFFu, "quantiles going down"},
        {at + n - 8, 8, UINT64_MAX, "more labelled rows than rows"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        memcpy(copy, buf, len);
        put_le(copy + CASES[i].at, CASES[i].value, CASES[i].bytes);
        fix_crc(copy, len);
        hl_model *out = (hl_model *)0x1;
        hl_status rc = hl_model_deserialize(copy, len, "bad.model", &out, &err);
        if (rc != HL_ERR_FORMAT)
            fail_msg("%s: loaded (status %d)", CASES[i].what, (int)rc);
        assert_null(out);
        assert_non_null(strstr(err.message, "drift reference"));
    }
    /* A section cut short. */
    memcpy(copy, buf, len);
    put_le(copy + at - 8, 10, 8);
    hl_model *out = NULL;
    fix_crc(copy, len);
    assert_int_equal(hl_model_deserialize(copy, len, "short.model", &out, &err),
                     HL_ERR_FORMAT);
    free(copy);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sketch_and_distribution_function),
        cmocka_unit_test(psi_and_ks_against_hand_computed_values),
        cmocka_unit_test(reference_rows_themselves_say_none),
        cmocka_unit_test(tiny_batches_do_not_cry_wolf),
        cmocka_unit_test(bad_calls_are_errors),
        cmocka_unit_test(dataset_columns_by_name),
        cmocka_unit_test(random_half_of_the_training_data_says_none),
        cmocka_unit_test(simulated_shift_found_and_others_left_alone),
        cmocka_unit_test(drifted_features_are_the_significant_ones),
        cmocka_unit_test(section_round_trip),
        cmocka_unit_test(models_without_a_reference),
        cmocka_unit_test(corrupt_sections_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
