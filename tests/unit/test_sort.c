/* test_sort.c - hl__sort_floats (sort.c) gives exactly what qsort with a
 * float comparison gave, bit for bit: the callers' quantiles, bins and
 * model files must not change with the sort.
 *
 * Arrays of every awkward kind - both zeros, infinities, denormals, long
 * runs of one value, negative and positive values of every magnitude -
 * at sizes on both sides of the insertion-sort threshold and of a
 * digit every value shares (a skipped radix pass).
 */
#include <math.h>

#include "testutil.h"

#include "internal.h"

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Sorts a copy of v both ways; the bytes must match (the sign of a zero
 * included: a stable sort keeps equal zeros in their input order). */
static void same_as_qsort(const float *v, size_t n)
{
    float *a = malloc((n + 1) * sizeof *a), *b = malloc((n + 1) * sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    memcpy(a, v, n * sizeof *a);
    memcpy(b, v, n * sizeof *b);
    hl__sort_floats(a, n);
    qsort(b, n, sizeof *b, cmp_float);
    assert_memory_equal(a, b, n * sizeof *a);
    free(a);
    free(b);
}

static float awkward_value(hl__rng *rng, int kind)
{
    switch (kind) {
    case 0:
        return 0.0f;
    case 1:
        return -0.0f;
    case 2:
        return hl__rng_below(rng, 2) ? INFINITY : -INFINITY;
    case 3: /* a denormal of either sign */
        return (hl__rng_below(rng, 2) ? 1.0f : -1.0f) * 1e-40f *
               (float)(1 + hl__rng_below(rng, 100));
    case 4: /* a value many rows share */
        return 3.5f;
    case 5: /* a few distinct values: long runs */
        return (float)hl__rng_below(rng, 7) - 3.0f;
    default: /* any magnitude, either sign (KPIs span 1e-4..1e17) */
        return (float)((hl__rng_uniform(rng) - 0.5) *
                       pow(10.0, (double)hl__rng_below(rng, 40) - 20.0));
    }
}

static void matches_qsort_on_awkward_arrays(void **state)
{
    (void)state;
    static const size_t sizes[] = {0,  1,   2,    5,    63,   64,
                                   65, 200, 1000, 4097, 30000};
    hl__rng rng;
    hl__rng_seed(&rng, 7);
    float *v = malloc(30000 * sizeof *v);
    assert_non_null(v);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        const size_t n = sizes[s];
        for (int mix = 0; mix < 4; mix++) {
            for (size_t i = 0; i < n; i++) {
                /* mix 0: anything; 1: mostly special values; 2: one
                 * value and zeros; 3: ascending small integers (every
                 * value shares its high digits). */
                const int kind = mix == 0   ? (int)hl__rng_below(&rng, 8)
                                 : mix == 1 ? (int)hl__rng_below(&rng, 5)
                                 : mix == 2 ? (hl__rng_below(&rng, 3) ? 4 : 1)
                                            : -1;
                v[i] = kind < 0 ? (float)(i % 1000) : awkward_value(&rng, kind);
            }
            same_as_qsort(v, n);
        }
    }
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_qsort_on_awkward_arrays),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
