/* test_metrics.c - hl_metrics_compute/free/copy against hand-computed and
 * scikit-learn reference values.
 *
 * The hand examples spell out their arithmetic so that a failure can be
 * checked with pencil and paper; the random example was scored once with
 * scikit-learn 1.2.1 (precision_recall_fscore_support with
 * labels=range(5), zero_division=0; f1_score average="weighted"; log_loss)
 * and the numbers are pasted in, so the test needs no Python.
 */
#include <math.h>

#include "testutil.h"

#define CLOSE(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-12)

/* 4 classes; class 2 is never predicted, class 3 has no support at all.
 *
 *   y_true 0 0 0 1 1 2 2
 *   y_pred 0 1 0 1 1 0 0
 *
 * confusion [true*4+pred]: row0 = 2 1 0 0, row1 = 0 2 0 0, row2 = 2 0 0 0
 * class 0: tp 2, predicted 4, support 3 -> p 1/2, r 2/3,
 *          f1 = 2 * 1/2 * 2/3 / (1/2 + 2/3) = (2/3) / (7/6) = 4/7
 * class 1: tp 2, predicted 3, support 2 -> p 2/3, r 1, f1 = (4/3)/(5/3) = 4/5
 * class 2: tp 0, predicted 0 -> p 0 (nothing predicted), r 0, f1 0
 * class 3: no support, never predicted -> all 0
 * accuracy 4/7; macro p = (1/2 + 2/3) / 4 = 7/24; macro r = (2/3 + 1) / 4
 * = 5/12; macro f1 = (4/7 + 4/5) / 4 = 12/35;
 * weighted f1 = (3 * 4/7 + 2 * 4/5 + 2 * 0) / 7 = 116/245. */
static void test_never_predicted_and_no_support(void **state)
{
    (void)state;
    const int32_t yt[] = {0, 0, 0, 1, 1, 2, 2};
    const int32_t yp[] = {0, 1, 0, 1, 1, 0, 0};
    hl_metrics m;
    hl_error err;
    assert_int_equal(hl_metrics_compute(yt, yp, NULL, 7, 4, &m, &err), HL_OK);

    assert_int_equal(m.n_classes, 4);
    assert_int_equal(m.n_samples, 7);
    CLOSE(m.accuracy, 4.0 / 7);
    CLOSE(m.per_class[0].precision, 0.5);
    CLOSE(m.per_class[0].recall, 2.0 / 3);
    CLOSE(m.per_class[0].f1, 4.0 / 7);
    CLOSE(m.per_class[1].precision, 2.0 / 3);
    CLOSE(m.per_class[1].recall, 1.0);
    CLOSE(m.per_class[1].f1, 0.8);
    assert_int_equal(m.per_class[2].predicted, 0);
    assert_int_equal(m.per_class[2].support, 2);
    CLOSE(m.per_class[2].precision, 0);
    CLOSE(m.per_class[2].f1, 0);
    assert_int_equal(m.per_class[3].support, 0);
    CLOSE(m.per_class[3].recall, 0);
    CLOSE(m.macro_precision, 7.0 / 24);
    CLOSE(m.macro_recall, 5.0 / 12);
    CLOSE(m.macro_f1, 12.0 / 35);
    CLOSE(m.weighted_f1, 116.0 / 245);
    assert_true(isnan(m.log_loss));

    /* Layout [true * n + predicted]: the two class-2 rows predicted as 0
     * sit in row 2, column 0. */
    const uint64_t expect[16] = {2, 1, 0, 0, 0, 2, 0, 0,
                                 2, 0, 0, 0, 0, 0, 0, 0};
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(m.confusion[i], expect[i]);
    hl_metrics_free(&m);
}

/* A class predicted but never true: precision 0 (tp 0 of 1 predicted),
 * recall 0 (no support, sklearn's zero_division=0), f1 0.
 *
 *   y_true 0 0 1 1     y_pred 0 2 1 1     (3 classes)
 * class 0: p 1/1, r 1/2, f1 = 1/(3/2) = 2/3
 * class 1: p 1, r 1, f1 1
 * class 2: predicted 1, support 0 -> 0, 0, 0
 * macro f1 = (2/3 + 1 + 0) / 3 = 5/9; weighted f1 = (2 * 2/3 + 2 * 1) / 4
 * = 5/6; accuracy 3/4. */
static void test_predicted_without_support(void **state)
{
    (void)state;
    const int32_t yt[] = {0, 0, 1, 1};
    const int32_t yp[] = {0, 2, 1, 1};
    hl_metrics m;
    assert_int_equal(hl_metrics_compute(yt, yp, NULL, 4, 3, &m, NULL), HL_OK);
    CLOSE(m.accuracy, 0.75);
    CLOSE(m.per_class[0].f1, 2.0 / 3);
    assert_int_equal(m.per_class[2].predicted, 1);
    assert_int_equal(m.per_class[2].support, 0);
    CLOSE(m.per_class[2].precision, 0);
    CLOSE(m.per_class[2].recall, 0);
    CLOSE(m.macro_f1, 5.0 / 9);
    CLOSE(m.weighted_f1, 5.0 / 6);
    CLOSE(m.macro_precision, 2.0 / 3);
    hl_metrics_free(&m);
}

/* Log loss with one row clipped and one unlabelled row skipped.
 *   row 0 true 0, p(true) 0.8 -> -ln 0.8   = 0.2231435513142098
 *   row 1 true 1, p(true) 0.6 -> -ln 0.6   = 0.5108256237659907
 *   row 2 true 1, p(true) 0   -> -ln 1e-15 = 34.538776394910684
 *   row 3 unlabelled (its prediction 99 would be out of range: ignored)
 * mean over 3 rows = 35.272745569990885 / 3 = 11.757581856663627 */
static void test_log_loss_and_skipped_rows(void **state)
{
    (void)state;
    const int32_t yt[] = {0, 1, 1, -1};
    const int32_t yp[] = {0, 1, 0, 99};
    const double pr[] = {0.8, 0.2, 0.4, 0.6, 1.0, 0.0, 0.5, 0.5};
    hl_metrics m;
    assert_int_equal(hl_metrics_compute(yt, yp, pr, 4, 2, &m, NULL), HL_OK);
    assert_int_equal(m.n_samples, 3);
    assert_true(fabs(m.log_loss - 11.757581856663627) < 1e-9);
    CLOSE(m.accuracy, 2.0 / 3);
    hl_metrics_free(&m);
}

/* 30 random rows, 5 classes: class 3 never predicted, class 4 no support
 * (but predicted once). Expected values from scikit-learn. */
static void test_matches_sklearn(void **state)
{
    (void)state;
    const int32_t yt[30] = {3, 2, 2, 3, 2, 3, 3, 0, 0, 1, 1, 3, 3, 0, 1,
                            3, 0, 3, 0, 1, 3, 1, 1, 1, 2, 1, 3, 1, 1, 2};
    const int32_t yp[30] = {2, 2, 2, 0, 1, 2, 2, 2, 0, 1, 1, 2, 2, 2, 1,
                            2, 0, 2, 0, 1, 2, 1, 1, 4, 2, 1, 2, 1, 1, 2};
    const double pr[150] = {
        0.251848, 0.295262, 0.351933, 0.003898, 0.097059, 0.013799, 0.065445,
        0.000908, 0.909873, 0.009975, 0.234862, 0.021006, 0.517379, 0.224986,
        0.001767, 0.254234, 0.355446, 0.311125, 0.077899, 0.001296, 0.004265,
        0.478008, 0.100812, 0.003522, 0.413393, 0.451115, 0.315847, 0.091015,
        0.118559, 0.023464, 0.000057, 0.691548, 0.105189, 0.168834, 0.034372,
        0.888067, 0.000033, 0.107954, 0.000059, 0.003887, 0.435698, 0.137060,
        0.037819, 0.069192, 0.320231, 0.054318, 0.273948, 0.425635, 0.059796,
        0.186303, 0.222246, 0.372715, 0.001710, 0.403329, 0.000000, 0.270661,
        0.337584, 0.001622, 0.046604, 0.343529, 0.000002, 0.196319, 0.394442,
        0.106779, 0.302458, 0.101353, 0.068311, 0.418067, 0.050418, 0.361851,
        0.434181, 0.096005, 0.020034, 0.010198, 0.439582, 0.043271, 0.464355,
        0.067513, 0.069755, 0.355106, 0.286515, 0.136880, 0.054300, 0.473534,
        0.048771, 0.421142, 0.000174, 0.042615, 0.075155, 0.460914, 0.010776,
        0.356881, 0.210961, 0.251286, 0.170096, 0.894223, 0.035902, 0.061601,
        0.008146, 0.000128, 0.006064, 0.482088, 0.372651, 0.000892, 0.138305,
        0.072193, 0.137980, 0.187999, 0.018920, 0.582908, 0.165272, 0.405115,
        0.419059, 0.010166, 0.000388, 0.048130, 0.308025, 0.374182, 0.268661,
        0.001002, 0.265952, 0.180080, 0.235999, 0.050020, 0.267949, 0.003208,
        0.000878, 0.000261, 0.510332, 0.485321, 0.016507, 0.456588, 0.000148,
        0.515299, 0.011458, 0.235316, 0.000007, 0.022630, 0.624148, 0.117899,
        0.429782, 0.229072, 0.183161, 0.005624, 0.152361, 0.000031, 0.254649,
        0.437396, 0.307859, 0.000065};
    const double p[5] = {0.75, 0.9, 0.26666666666666666, 0, 0};
    const double r[5] = {0.6, 0.9, 0.8, 0, 0};
    const double f[5] = {0.66666666666666652, 0.9, 0.4, 0, 0};
    const size_t support[5] = {5, 10, 5, 10, 0};
    const uint64_t cm[25] = {3, 0, 2, 0, 0, 0, 9, 0, 0, 1, 0, 1, 4,
                             0, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0};

    hl_metrics m;
    assert_int_equal(hl_metrics_compute(yt, yp, pr, 30, 5, &m, NULL), HL_OK);
    CLOSE(m.accuracy, 0.53333333333333333);
    for (size_t c = 0; c < 5; c++) {
        CLOSE(m.per_class[c].precision, p[c]);
        CLOSE(m.per_class[c].recall, r[c]);
        CLOSE(m.per_class[c].f1, f[c]);
        assert_int_equal(m.per_class[c].support, support[c]);
    }
    for (size_t i = 0; i < 25; i++)
        assert_int_equal(m.confusion[i], cm[i]);
    CLOSE(m.macro_precision, 0.3833333333333333);
    CLOSE(m.macro_recall, 0.45999999999999996);
    CLOSE(m.macro_f1, 0.39333333333333326);
    CLOSE(m.weighted_f1, 0.47777777777777775);
    CLOSE(m.log_loss, 2.7964203822228053);
    hl_metrics_free(&m);
}

/* No scored rows is not an error: everything is 0, log loss has no mean. */
static void test_no_scored_rows(void **state)
{
    (void)state;
    const int32_t yt[] = {-1, -1};
    const int32_t yp[] = {0, 7};
    const double pr[] = {0.5, 0.5, 0.5, 0.5};
    hl_metrics m;
    assert_int_equal(hl_metrics_compute(yt, yp, pr, 2, 2, &m, NULL), HL_OK);
    assert_int_equal(m.n_samples, 0);
    CLOSE(m.accuracy, 0);
    CLOSE(m.macro_f1, 0);
    CLOSE(m.weighted_f1, 0);
    assert_true(isnan(m.log_loss));
    hl_metrics_free(&m);

    assert_int_equal(hl_metrics_compute(NULL, NULL, NULL, 0, 3, &m, NULL),
                     HL_OK);
    assert_int_equal(m.n_classes, 3);
    assert_int_equal(m.n_samples, 0);
    hl_metrics_free(&m);
}

static void test_invalid(void **state)
{
    (void)state;
    const int32_t yt[] = {0, 1, 1};
    const int32_t yp_bad[] = {0, 1, 2};
    const int32_t yp_neg[] = {0, -1, 1};
    const int32_t yt_bad[] = {0, 5, 1};
    hl_metrics m;
    hl_error err;

    assert_int_equal(hl_metrics_compute(yt, yp_bad, NULL, 3, 2, &m, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 2"));
    assert_null(m.per_class); /* *out is left empty and safe to free */
    hl_metrics_free(&m);

    assert_int_equal(hl_metrics_compute(yt, yp_neg, NULL, 3, 2, &m, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 1"));
    assert_int_equal(hl_metrics_compute(yt_bad, yt, NULL, 3, 2, &m, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 1"));
    assert_int_equal(hl_metrics_compute(yt, yt, NULL, 3, 0, &m, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_metrics_compute(yt, yt, NULL, 3, 2, NULL, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_metrics_compute(NULL, yt, NULL, 3, 2, &m, &err),
                     HL_ERR_INVALID);

    const double pr_nan[] = {1, 0, 0, 1, NAN, NAN};
    assert_int_equal(hl_metrics_compute(yt, yt, pr_nan, 3, 2, &m, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 2"));
}

static void test_copy_is_deep(void **state)
{
    (void)state;
    const int32_t yt[] = {0, 1, 2, 2};
    const int32_t yp[] = {0, 2, 2, 1};
    hl_metrics m, c;
    assert_int_equal(hl_metrics_compute(yt, yp, NULL, 4, 3, &m, NULL), HL_OK);
    assert_int_equal(hl_metrics_copy(&c, &m, NULL), HL_OK);
    assert_ptr_not_equal(c.per_class, m.per_class);
    assert_ptr_not_equal(c.confusion, m.confusion);
    assert_memory_equal(c.confusion, m.confusion, 9 * sizeof *m.confusion);
    assert_memory_equal(c.per_class, m.per_class, 3 * sizeof *m.per_class);
    CLOSE(c.macro_f1, m.macro_f1);
    hl_metrics_free(&m); /* the copy must survive its source */
    assert_int_equal(c.confusion[2 * 3 + 1], 1);
    hl_metrics_free(&c);
    hl_metrics_free(&c); /* freeing twice is harmless: free() resets */
    hl_metrics_free(NULL);

    hl_metrics empty = {0};
    assert_int_equal(hl_metrics_copy(&c, &empty, NULL), HL_OK);
    assert_null(c.per_class);
    hl_metrics_free(&c);
    assert_int_equal(hl_metrics_copy(&c, &c, NULL), HL_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_predicted_and_no_support),
        cmocka_unit_test(test_predicted_without_support),
        cmocka_unit_test(test_log_loss_and_skipped_rows),
        cmocka_unit_test(test_matches_sklearn),
        cmocka_unit_test(test_no_scored_rows),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_copy_is_deep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
