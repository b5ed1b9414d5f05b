/* test_projection.c - hl_pca_project: the components it finds, its
 * standardisation (scale-free, missing values as the mean), determinism
 * and argument checks. */
#include <math.h>

#include "testutil.h"

/* Two perfectly correlated KPIs (one 1e6 times larger) and a noise KPI:
 * the first component is their shared direction and explains about 2/3
 * of the (standardised) variance. */
static void finds_the_shared_direction(void **state)
{
    (void)state;
    enum { N = 500, D = 3 };
    float *x = malloc(N * D * sizeof *x);
    double *out = malloc(N * 2 * sizeof *out), explained[2];
    hl_error err;
    assert_non_null(x);
    assert_non_null(out);
    uint64_t s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double noise = (double)(s >> 11) / 9007199254740992.0 - 0.5;
        double t = (double)i / N - 0.5;
        x[i * D + 0] = (float)t;
        x[i * D + 1] = (float)(t * 1e6);
        x[i * D + 2] = (float)noise;
    }
    assert_int_equal(hl_pca_project(x, N, D, 2, out, explained, &err), HL_OK);
    assert_true(explained[0] > 0.6 && explained[0] < 0.7);
    assert_true(explained[1] > 0.3 && explained[1] < 0.4);
    /* PC1 follows t (and is signed so that it grows with it). */
    double st = 0, sp = 0, stt = 0, spp = 0, stp = 0;
    for (int i = 0; i < N; i++) {
        double t = x[i * D], p = out[i * 2];
        st += t, sp += p, stt += t * t, spp += p * p, stp += t * p;
    }
    double r = (N * stp - st * sp) /
               sqrt((N * stt - st * st) * (N * spp - sp * sp));
    assert_true(r > 0.99);
    /* Same input, same output. */
    double *again = malloc(N * 2 * sizeof *again);
    assert_non_null(again);
    assert_int_equal(hl_pca_project(x, N, D, 2, again, NULL, &err), HL_OK);
    assert_memory_equal(out, again, N * 2 * sizeof *out);
    free(again);
    free(out);
    free(x);
}

static void missing_and_constant_values(void **state)
{
    (void)state;
    float x[] = {1, 5, NAN, 2, 5, 1, 3, 5, 2, NAN, 5, 3};
    double out[4 * 2];
    hl_error err;
    assert_int_equal(hl_pca_project(x, 4, 3, 2, out, NULL, &err), HL_OK);
    for (int i = 0; i < 8; i++)
        assert_true(isfinite(out[i]));
    float all_missing[] = {NAN, NAN, NAN, NAN};
    assert_int_equal(hl_pca_project(all_missing, 2, 2, 1, out, NULL, &err), HL_OK);
    assert_true(out[0] == 0.0 && out[1] == 0.0);
}

static void refuses_bad_arguments(void **state)
{
    (void)state;
    float x[4] = {1, 2, 3, 4};
    double out[8];
    hl_error err;
    assert_int_equal(hl_pca_project(x, 0, 2, 2, out, NULL, &err), HL_ERR_INVALID);
    assert_int_equal(hl_pca_project(x, 2, 0, 2, out, NULL, &err), HL_ERR_INVALID);
    assert_int_equal(hl_pca_project(x, 2, 2, 4, out, NULL, &err), HL_ERR_INVALID);
    assert_int_equal(hl_pca_project(NULL, 2, 2, 2, out, NULL, &err), HL_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_the_shared_direction),
        cmocka_unit_test(missing_and_constant_values),
        cmocka_unit_test(refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
