/* sort.c - sorting floats by their bits: a least-significant-digit radix
 * sort.
 *
 * Training sorts every KPI's values more than once (quantile bins, the
 * drift reference, the MLP's robust scaling). qsort with a comparison
 * callback costs an indirect call per comparison, n log n of them: on the
 * reference data that was most of a training's fixed cost, more than
 * growing a few dozen trees. Three counting passes over 11-bit digits of
 * an order-preserving key sort in linear time instead.
 *
 * The result is the one the callers got from qsort(cmp_float): glibc's
 * qsort is a stable merge sort, this sort is stable too, and -0 and +0
 * have one key (they compare equal), so they keep their input order in
 * both. No NaN (callers filter them out, as the comparison needed).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HL__RADIX_BITS 11
#define HL__RADIX (1u << HL__RADIX_BITS)
#define HL__RADIX_PASSES 3 /* 3 x 11 bits cover 32 */
#define HL__SMALL_SORT 64  /* below this, insertion sort */

/* An unsigned key in the order of the floats: negative floats have every
 * bit flipped (their magnitude order reverses), positive ones the sign
 * bit set. */
static inline uint32_t sort_key(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    if (u == 0x80000000u) /* -0 sorts as +0 */
        u = 0;
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static void insertion_sort(float *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        const float x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

static int cmp_float(const void *a, const void *b)
{
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void hl__sort_floats(float *v, size_t n)
{
    if (n < HL__SMALL_SORT) {
        insertion_sort(v, n);
        return;
    }
    float *tmp = malloc(n * sizeof *tmp);
    uint32_t(*count)[HL__RADIX] = calloc(HL__RADIX_PASSES, sizeof *count);
    if (!tmp || !count) { /* no memory: the slow way, same order */
        free(tmp);
        free(count);
        qsort(v, n, sizeof *v, cmp_float);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const uint32_t key = sort_key(v[i]);
        for (int p = 0; p < HL__RADIX_PASSES; p++)
            count[p][(key >> (p * HL__RADIX_BITS)) & (HL__RADIX - 1)]++;
    }
    float *src = v, *dst = tmp;
    for (int p = 0; p < HL__RADIX_PASSES; p++) {
        const unsigned shift = (unsigned)p * HL__RADIX_BITS;
        uint32_t *c = count[p];
        /* A digit every value shares leaves the order as it is. */
        if (c[(sort_key(src[0]) >> shift) & (HL__RADIX - 1)] == n)
            continue;
        uint32_t at = 0;
        for (uint32_t d = 0; d < HL__RADIX; d++) {
            const uint32_t here = c[d];
            c[d] = at;
            at += here;
        }
        for (size_t i = 0; i < n; i++)
            dst[c[(sort_key(src[i]) >> shift) & (HL__RADIX - 1)]++] = src[i];
        float *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    free(count);
}
