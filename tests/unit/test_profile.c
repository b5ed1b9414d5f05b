/* test_profile.c - dataset profiles against hand-computed figures. */
#include <math.h>

#include "testutil.h"

static hl_dataset *parse(const char *csv)
{
    hl_csv_options o;
    hl_csv_options_init(&o);
    o.keep_unlabelled = 1;
    hl_dataset *ds = NULL;
    hl_error err;
    if (hl_dataset_parse_csv(csv, strlen(csv), "p.csv", &o, &ds, &err) != HL_OK)
        fail_msg("%s", err.message);
    return ds;
}

static void hand_computed_profile(void **state)
{
    (void)state;
    hl_dataset *ds = parse("sample_id,a,b,c,label\n"
                           "1,1,10,5,x\n"
                           "2,2,,5,y\n"
                           "3,3,30,5,x\n"
                           "4,4,40,5,\n"
                           "5,1,10,5,x\n");
    hl_dataset_profile p;
    hl_error err;
    assert_int_equal(hl_dataset_profile_compute(ds, &p, &err), HL_OK);
    assert_int_equal(p.n_rows, 5);
    assert_int_equal(p.n_features, 3);
    /* Row 5 repeats row 1 with the same label. */
    assert_int_equal(p.duplicate_rows, 1);
    assert_int_equal(p.conflicting_rows, 0);
    assert_int_equal(p.missing_cells, 1);
    assert_true(fabs(p.missing_rate - 1.0 / 15.0) < 1e-12);
    assert_int_equal(p.constant_features, 1); /* c is always 5 */
    /* a = 1,2,3,4,1: mean 2.2, population variance 31/5 - 2.2^2 = 1.36. */
    const hl_feature_stats *a = &p.features[0];
    assert_true(a->min == 1.0 && a->max == 4.0);
    assert_true(fabs(a->mean - 2.2) < 1e-12);
    assert_true(fabs(a->std - sqrt(1.36)) < 1e-12);
    /* Sorted 1,1,2,3,4: median 2, p05 at 0.2 -> 1, p95 at 3.8 -> 3.8. */
    assert_true(fabs(a->p50 - 2.0) < 1e-12);
    assert_true(fabs(a->p05 - 1.0) < 1e-12);
    assert_true(fabs(a->p95 - 3.8) < 1e-12);
    /* b misses one of five cells; the rest are 10, 30, 40, 10. */
    const hl_feature_stats *b = &p.features[1];
    assert_int_equal(b->missing, 1);
    assert_true(fabs(b->missing_rate - 0.2) < 1e-12);
    assert_true(fabs(b->mean - 22.5) < 1e-12);
    /* Labels: x three times, y once, one row unlabelled. */
    assert_int_equal(p.n_classes, 2);
    assert_int_equal(p.class_counts[0], 3);
    assert_int_equal(p.class_counts[1], 1);
    assert_int_equal(p.unlabelled_rows, 1);
    hl_dataset_profile_free(&p);
    hl_dataset_free(ds);
}

static void missing_column_and_no_labels(void **state)
{
    (void)state;
    hl_dataset *ds = parse("a,b\n1,\n2,NA\n1e17,null\n");
    hl_dataset_profile p;
    hl_error err;
    assert_int_equal(hl_dataset_profile_compute(ds, &p, &err), HL_OK);
    assert_true(isnan(p.features[1].mean) && isnan(p.features[1].p50));
    assert_int_equal(p.features[1].missing, 3);
    assert_int_equal(p.constant_features, 1);
    assert_null(p.class_counts);
    /* Large magnitudes keep their precision (Welford, in double). */
    assert_true(fabs(p.features[0].mean - (1.0 + 2.0 + (double)1e17f) / 3.0) /
                    1e17 < 1e-12);
    hl_dataset_profile_free(&p);
    hl_dataset_free(ds);
}

static void sampled_quantiles_on_simulated_data(void **state)
{
    (void)state;
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = tu_quick() ? 20000 : 150000; /* beyond the exact-sample size */
    o.features = 6;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &ds, &err), HL_OK);
    hl_dataset_profile p;
    assert_int_equal(hl_dataset_profile_compute(ds, &p, &err), HL_OK);
    for (size_t f = 0; f < p.n_features; f++) {
        const hl_feature_stats *s = &p.features[f];
        if (isnan(s->mean))
            continue;
        assert_true(s->min <= s->p05 && s->p05 <= s->p50);
        assert_true(s->p50 <= s->p95 && s->p95 <= s->max);
        assert_true(s->std >= 0.0);
    }
    uint64_t total = 0;
    for (size_t k = 0; k < p.n_classes; k++)
        total += p.class_counts[k];
    assert_int_equal(total, ds->n_rows);
    hl_dataset_profile_free(&p);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hand_computed_profile),
        cmocka_unit_test(missing_column_and_no_labels),
        cmocka_unit_test(sampled_quantiles_on_simulated_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
