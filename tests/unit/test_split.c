/* test_split.c - hl_stratified_folds and hl_stratified_holdout.
 *
 * The properties that matter to a user of the splits are checked on random
 * data with duplicate groups: a group never straddles folds, classes are
 * spread evenly, the same seed gives the same split, unlabelled rows are
 * left out, and bad arguments are refused rather than half-applied.
 */
#include <math.h>

#include "testutil.h"

/* Small local generator so the fixtures do not depend on library code. */
static uint64_t tu_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

typedef struct fixture {
    size_t n;
    size_t n_classes;
    int32_t *y;
    uint32_t *group;
    size_t max_group; /* largest group, in labelled rows */
} fixture;

/* Imbalanced classes (class c drawn with weight 1/(c+1)), about 5%
 * unlabelled rows, and about a quarter of the rows joining the group of an
 * earlier row of the same class (like exact duplicates). */
static void fixture_make(fixture *f, size_t n, size_t n_classes, uint64_t s)
{
    f->n = n;
    f->n_classes = n_classes;
    f->y = malloc(n * sizeof *f->y);
    f->group = malloc(n * sizeof *f->group);
    size_t *last = malloc(n_classes * sizeof *last);
    size_t *size = calloc(n, sizeof *size);
    assert_non_null(f->y);
    assert_non_null(f->group);
    assert_non_null(last);
    assert_non_null(size);
    double total = 0;
    for (size_t c = 0; c < n_classes; c++) {
        total += 1.0 / (double)(c + 1);
        last[c] = SIZE_MAX;
    }
    f->max_group = 1;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(tu_rand(&s) % 1000000) / 1e6 * total;
        size_t c = 0;
        while (c + 1 < n_classes && u >= 1.0 / (double)(c + 1)) {
            u -= 1.0 / (double)(c + 1);
            c++;
        }
        f->y[i] = (int32_t)c;
        f->group[i] = (uint32_t)i;
        if (tu_rand(&s) % 20 == 0) {
            f->y[i] = -1;
            continue;
        }
        if (last[c] != SIZE_MAX && tu_rand(&s) % 4 == 0)
            f->group[i] = f->group[last[c]];
        last[c] = i;
        if (++size[f->group[i]] > f->max_group)
            f->max_group = size[f->group[i]];
    }
    free(last);
    free(size);
}

static void fixture_free(fixture *f)
{
    free(f->y);
    free(f->group);
}

static size_t test_size(void)
{
    return tu_quick() ? 3000 : 20000;
}

/* Every row of a group has the fold of the group's first row. */
static void assert_groups_whole(const fixture *f, const uint32_t *fold)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->y[i] >= 0 && f->y[f->group[i]] >= 0)
            assert_int_equal(fold[i], fold[f->group[i]]);
}

static void test_folds_properties(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, test_size(), 5, 12345);
    const unsigned k = 5;
    uint32_t *fold = malloc(f.n * sizeof *fold);
    assert_non_null(fold);
    hl_error err;
    assert_int_equal(
        hl_stratified_folds(f.y, f.group, f.n, f.n_classes, k, 7, fold, &err),
        HL_OK);
    assert_groups_whole(&f, fold);

    size_t count[5][5] = {{0}};
    for (size_t i = 0; i < f.n; i++) {
        if (f.y[i] < 0) {
            assert_int_equal(fold[i], UINT32_MAX);
            continue;
        }
        assert_true(fold[i] < k);
        count[f.y[i]][fold[i]]++;
    }
    assert_true(f.max_group > 1); /* the fixture really has groups */
    for (size_t c = 0; c < 5; c++) {
        size_t lo = SIZE_MAX, hi = 0;
        for (size_t j = 0; j < k; j++) {
            lo = count[c][j] < lo ? count[c][j] : lo;
            hi = count[c][j] > hi ? count[c][j] : hi;
        }
        assert_true(lo > 0);
        assert_true(hi - lo <= f.max_group);
    }
    free(fold);
    fixture_free(&f);
}

/* Without groups every row is its own group: per-class counts differ by at
 * most one row between folds. */
static void test_folds_without_groups(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, test_size(), 3, 99);
    uint32_t *fold = malloc(f.n * sizeof *fold);
    assert_non_null(fold);
    assert_int_equal(hl_stratified_folds(f.y, NULL, f.n, 3, 4, 1, fold, NULL),
                     HL_OK);
    size_t count[3][4] = {{0}};
    for (size_t i = 0; i < f.n; i++)
        if (f.y[i] >= 0)
            count[f.y[i]][fold[i]]++;
    for (size_t c = 0; c < 3; c++)
        for (size_t j = 1; j < 4; j++) {
            const long d = (long)count[c][j] - (long)count[c][0];
            assert_true(d >= -1 && d <= 1);
        }
    free(fold);
    fixture_free(&f);
}

static void test_folds_deterministic(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, test_size(), 4, 5);
    uint32_t *a = malloc(f.n * sizeof *a), *b = malloc(f.n * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(hl_stratified_folds(f.y, f.group, f.n, 4, 5, 42, a, NULL),
                     HL_OK);
    assert_int_equal(hl_stratified_folds(f.y, f.group, f.n, 4, 5, 42, b, NULL),
                     HL_OK);
    assert_memory_equal(a, b, f.n * sizeof *a);
    assert_int_equal(hl_stratified_folds(f.y, f.group, f.n, 4, 5, 43, b, NULL),
                     HL_OK);
    size_t differ = 0;
    for (size_t i = 0; i < f.n; i++)
        differ += a[i] != b[i];
    assert_true(differ > f.n / 2); /* a new shuffle, not a tweak */

    uint8_t *va = malloc(f.n), *vb = malloc(f.n);
    assert_non_null(va);
    assert_non_null(vb);
    assert_int_equal(
        hl_stratified_holdout(f.y, f.group, f.n, 4, 0.2, 42, va, NULL), HL_OK);
    assert_int_equal(
        hl_stratified_holdout(f.y, f.group, f.n, 4, 0.2, 42, vb, NULL), HL_OK);
    assert_memory_equal(va, vb, f.n);
    assert_int_equal(
        hl_stratified_holdout(f.y, f.group, f.n, 4, 0.2, 43, vb, NULL), HL_OK);
    assert_true(memcmp(va, vb, f.n) != 0);
    free(va);
    free(vb);
    free(a);
    free(b);
    fixture_free(&f);
}

/* A class rarer than k is allowed: its rows land in distinct folds and
 * every fold still gets rows. Unlabelled rows are left out. */
static void test_folds_small_class_and_unlabelled(void **state)
{
    (void)state;
    /* class 1 has two rows; rows 3 and 7 are unlabelled */
    const int32_t y[10] = {0, 0, 1, -1, 0, 0, 1, -1, 0, 0};
    uint32_t fold[10];
    assert_int_equal(hl_stratified_folds(y, NULL, 10, 2, 5, 3, fold, NULL),
                     HL_OK);
    assert_int_equal(fold[3], UINT32_MAX);
    assert_int_equal(fold[7], UINT32_MAX);
    assert_int_not_equal(fold[2], fold[6]);
    size_t per_fold[5] = {0};
    for (size_t i = 0; i < 10; i++)
        if (y[i] >= 0)
            per_fold[fold[i]]++;
    for (size_t j = 0; j < 5; j++)
        assert_true(per_fold[j] > 0);

    /* A group with an unlabelled first row takes the class of its first
     * labelled row; its unlabelled row still gets UINT32_MAX. */
    const int32_t y2[6] = {-1, 1, 0, 0, 1, 0};
    const uint32_t g2[6] = {0, 0, 2, 3, 4, 5};
    uint32_t f2[6];
    assert_int_equal(hl_stratified_folds(y2, g2, 6, 2, 2, 0, f2, NULL), HL_OK);
    assert_int_equal(f2[0], UINT32_MAX);
    assert_int_not_equal(f2[1], f2[4]); /* the two class-1 groups split */
}

static void test_holdout(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, test_size(), 4, 77);
    uint8_t *valid = malloc(f.n);
    assert_non_null(valid);
    assert_int_equal(
        hl_stratified_holdout(f.y, f.group, f.n, 4, 0.25, 9, valid, NULL),
        HL_OK);
    size_t total[4] = {0}, in_valid[4] = {0};
    for (size_t i = 0; i < f.n; i++) {
        if (f.y[i] < 0) {
            assert_int_equal(valid[i], 0);
            continue;
        }
        assert_int_equal(valid[i], valid[f.group[i]]); /* groups whole */
        total[f.y[i]]++;
        in_valid[f.y[i]] += valid[i];
    }
    for (size_t c = 0; c < 4; c++) {
        const double share = (double)in_valid[c] / (double)total[c];
        assert_true(fabs(share - 0.25) < 0.05);
    }
    free(valid);
    fixture_free(&f);

    /* class 1: one group of two rows -> stays in training; class 2: two
     * groups -> at most one may go to validation, one must stay. */
    const int32_t y[9] = {0, 0, 0, 0, 1, 1, 2, 2, -1};
    const uint32_t g[9] = {0, 1, 2, 3, 4, 4, 6, 7, 8};
    uint8_t v[9];
    assert_int_equal(hl_stratified_holdout(y, g, 9, 3, 0.9, 1, v, NULL), HL_OK);
    assert_int_equal(v[4] + v[5], 0);
    assert_int_equal(v[6] + v[7], 1);
    assert_int_equal(v[0] + v[1] + v[2] + v[3], 3);
    assert_int_equal(v[8], 0);
}

static void test_invalid_args(void **state)
{
    (void)state;
    const int32_t y[4] = {0, 1, 0, 1};
    const int32_t y_bad[4] = {0, 1, 2, 1};
    const uint32_t g_bad[4] = {0, 1, 4, 3};
    uint32_t fold[4];
    uint8_t valid[4];
    hl_error err;

    assert_int_equal(hl_stratified_folds(y, NULL, 4, 2, 1, 0, fold, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "k"));
    assert_int_equal(hl_stratified_folds(y, NULL, 4, 0, 2, 0, fold, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_stratified_folds(y_bad, NULL, 4, 2, 2, 0, fold, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 2"));
    assert_int_equal(hl_stratified_folds(y, g_bad, 4, 2, 2, 0, fold, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "row 2"));
    assert_int_equal(hl_stratified_folds(NULL, NULL, 4, 2, 2, 0, fold, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_stratified_folds(y, NULL, 4, 2, 2, 0, NULL, &err),
                     HL_ERR_INVALID);
    /* four rows cannot fill five folds */
    assert_int_equal(hl_stratified_folds(y, NULL, 4, 2, 5, 0, fold, &err),
                     HL_ERR_DATA);
    /* two groups (all rows duplicated) cannot fill three folds */
    const uint32_t g2[4] = {0, 1, 0, 1};
    assert_int_equal(hl_stratified_folds(y, g2, 4, 2, 3, 0, fold, &err),
                     HL_ERR_DATA);

    const double bad_fraction[] = {0.0, 1.0, -0.5, 1.5, NAN};
    for (size_t i = 0; i < sizeof bad_fraction / sizeof *bad_fraction; i++)
        assert_int_equal(hl_stratified_holdout(y, NULL, 4, 2, bad_fraction[i],
                                               0, valid, &err),
                         HL_ERR_INVALID);
    assert_int_equal(
        hl_stratified_holdout(y_bad, NULL, 4, 2, 0.5, 0, valid, &err),
        HL_ERR_INVALID);
    assert_int_equal(hl_stratified_holdout(y, g_bad, 4, 2, 0.5, 0, valid, &err),
                     HL_ERR_INVALID);

    /* n == 0: nothing to hold out, not an error */
    assert_int_equal(
        hl_stratified_holdout(NULL, NULL, 0, 2, 0.5, 0, NULL, &err), HL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_folds_properties),
        cmocka_unit_test(test_folds_without_groups),
        cmocka_unit_test(test_folds_deterministic),
        cmocka_unit_test(test_folds_small_class_and_unlabelled),
        cmocka_unit_test(test_holdout),
        cmocka_unit_test(test_invalid_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
