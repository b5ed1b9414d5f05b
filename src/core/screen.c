/* screen.c - the class signal of each KPI and the choice of inputs (see
 * screen.h).
 *
 * Kruskal-Wallis with tied ranks averaged and the tie correction, so a
 * KPI that is constant or mostly missing gets the signal its few
 * distinct values really carry. One sort per KPI: about 10 ms for the
 * reference data's 107 KPIs x 10,000 rows.
 */
#include <math.h>
#include <stdlib.h>

#include "internal.h"
#include "screen.h"

typedef struct ranked {
    float v; /* -INFINITY for a missing value */
    int32_t y;
} ranked;

static int cmp_ranked(const void *a, const void *b)
{
    float x = ((const ranked *)a)->v, y = ((const ranked *)b)->v;
    return (x > y) - (x < y);
}

/* H / (n - 1) of the n values in r (sorted here) over K classes. */
static double epsilon_squared(ranked *r, size_t n, size_t K, double *rank_sum,
                              size_t *count)
{
    if (n < 2)
        return 0.0;
    qsort(r, n, sizeof *r, cmp_ranked);
    for (size_t k = 0; k < K; k++) {
        rank_sum[k] = 0.0;
        count[k] = 0;
    }
    double ties = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && r[j].v == r[i].v)
            j++;
        double t = (double)(j - i), mid = (double)(i + j + 1) / 2.0;
        ties += t * t * t - t;
        for (size_t q = i; q < j; q++) {
            rank_sum[r[q].y] += mid;
            count[r[q].y]++;
        }
        i = j;
    }
    const double N = (double)n;
    double h = 0.0;
    for (size_t k = 0; k < K; k++)
        if (count[k])
            h += rank_sum[k] * rank_sum[k] / (double)count[k];
    h = 12.0 / (N * (N + 1.0)) * h - 3.0 * (N + 1.0);
    const double correction = 1.0 - ties / (N * N * N - N);
    if (!(correction > 0.0))
        return 0.0; /* every value tied: no signal */
    h /= correction;
    return h > 0.0 ? h / (N - 1.0) : 0.0;
}

hl_status hl__kpi_signal(const float *x, size_t nf, const int32_t *y,
                         size_t n_classes, const size_t *rows, size_t n,
                         double *signal)
{
    ranked *r = malloc((n + 1) * sizeof *r);
    double *rank_sum = malloc((n_classes + 1) * sizeof *rank_sum);
    size_t *count = malloc((n_classes + 1) * sizeof *count);
    if (!r || !rank_sum || !count) {
        free(r);
        free(rank_sum);
        free(count);
        return HL_ERR_NOMEM;
    }
    for (size_t j = 0; j < nf; j++) {
        for (size_t i = 0; i < n; i++) {
            float v = x[rows[i] * nf + j];
            r[i] = (ranked){isnan(v) ? -INFINITY : v, y[rows[i]]};
        }
        signal[j] = epsilon_squared(r, n, n_classes, rank_sum, count);
    }
    free(r);
    free(rank_sum);
    free(count);
    return HL_OK;
}

size_t hl__screen_select(const double *signal, size_t nf, double threshold,
                         uint32_t *kept)
{
    const size_t floor = nf < HL__SCREEN_MIN_KEPT ? nf : HL__SCREEN_MIN_KEPT;
    size_t n = 0;
    for (size_t j = 0; j < nf; j++)
        if (signal[j] >= threshold)
            n++;
    /* Too few: lower the bar to the floor-th strongest signal. */
    double bar = threshold;
    while (n < floor) {
        double best = -1.0;
        for (size_t j = 0; j < nf; j++)
            if (signal[j] < bar && signal[j] > best)
                best = signal[j];
        if (best < 0)
            break; /* nothing weaker left (or only NaN): keep what there is */
        bar = best;
        n = 0;
        for (size_t j = 0; j < nf; j++)
            if (signal[j] >= bar)
                n++;
    }
    size_t k = 0;
    for (size_t j = 0; j < nf; j++)
        if (signal[j] >= bar)
            kept[k++] = (uint32_t)j;
    return k;
}
