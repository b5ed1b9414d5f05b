/* projection.c - principal-component projection of KPI samples (see
 * healer/projection.h).
 *
 * d is the number of KPIs (about a hundred), so the d x d correlation
 * matrix is small and power iteration on it is cheap; the cost is the
 * pass over the rows, bounded by sampling rows for the matrix.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "healer/projection.h"
#include "internal.h"

#define MAX_COV_ROWS 20000
#define POWER_ITERATIONS 300

/* Per-feature mean and standard deviation over present values. */
static void feature_moments(const float *x, size_t n, size_t d, double *mean,
                            double *sd)
{
    size_t *count = calloc(d, sizeof *count);
    for (size_t j = 0; j < d; j++)
        mean[j] = sd[j] = 0.0;
    if (!count)
        return;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) {
            float v = x[i * d + j];
            if (!isnan(v)) {
                count[j]++;
                double delta = v - mean[j];
                mean[j] += delta / (double)count[j];
                sd[j] += delta * ((double)v - mean[j]); /* Welford */
            }
        }
    for (size_t j = 0; j < d; j++)
        sd[j] = count[j] > 1 ? sqrt(sd[j] / (double)count[j]) : 0.0;
    free(count);
}

/* Standardised value of row i, feature j (0 for missing or constant). */
static double z(const float *x, size_t d, size_t i, size_t j,
                const double *mean, const double *sd)
{
    float v = x[i * d + j];
    return isnan(v) || sd[j] <= 0 || !isfinite(sd[j]) ? 0.0
                                                      : ((double)v - mean[j]) / sd[j];
}

static void covariance(const float *x, size_t n, size_t d, const double *mean,
                       const double *sd, double *cov, double *zrow)
{
    size_t step = n > MAX_COV_ROWS ? (n + MAX_COV_ROWS - 1) / MAX_COV_ROWS : 1;
    size_t used = 0;
    memset(cov, 0, d * d * sizeof *cov);
    for (size_t i = 0; i < n; i += step, used++) {
        for (size_t j = 0; j < d; j++)
            zrow[j] = z(x, d, i, j, mean, sd);
        for (size_t a = 0; a < d; a++) {
            if (zrow[a] == 0.0)
                continue;
            for (size_t b = a; b < d; b++)
                cov[a * d + b] += zrow[a] * zrow[b];
        }
    }
    for (size_t a = 0; a < d; a++)
        for (size_t b = a; b < d; b++) {
            cov[a * d + b] /= (double)(used ? used : 1);
            cov[b * d + a] = cov[a * d + b];
        }
}

/* The dominant eigenvector of cov into v (unit length, largest coordinate
 * positive); returns its eigenvalue. */
static double power_iteration(const double *cov, size_t d, double *v, double *w)
{
    for (size_t j = 0; j < d; j++)
        v[j] = 1.0 / sqrt((double)d) * (1.0 + 0.01 * (double)(j % 7));
    double lambda = 0.0;
    for (int it = 0; it < POWER_ITERATIONS; it++) {
        double norm = 0.0;
        for (size_t a = 0; a < d; a++) {
            double s = 0.0;
            for (size_t b = 0; b < d; b++)
                s += cov[a * d + b] * v[b];
            w[a] = s;
            norm += s * s;
        }
        norm = sqrt(norm);
        if (norm <= 1e-300)
            return 0.0;
        for (size_t a = 0; a < d; a++)
            v[a] = w[a] / norm;
        lambda = norm;
    }
    size_t big = 0;
    for (size_t a = 1; a < d; a++)
        if (fabs(v[a]) > fabs(v[big]))
            big = a;
    if (v[big] < 0)
        for (size_t a = 0; a < d; a++)
            v[a] = -v[a];
    return lambda;
}

hl_status hl_pca_project(const float *x, size_t n, size_t d, size_t k,
                         double *out, double *explained, hl_error *err)
{
    if (!x || !out || n == 0 || d == 0 || k < 1 || k > 3)
        return hl__fail(err, HL_ERR_INVALID,
                        "pca: need rows, features and 1..3 components");
    if (d > 100000 || d * d > SIZE_MAX / sizeof(double) / 2)
        return hl__fail(err, HL_ERR_LIMIT, "pca: too many features (%zu)", d);
    double *mean = malloc(d * sizeof *mean), *sd = malloc(d * sizeof *sd);
    double *cov = malloc(d * d * sizeof *cov), *comp = malloc(k * d * sizeof *comp);
    double *zrow = malloc(d * sizeof *zrow), *w = malloc(d * sizeof *w);
    hl_status rc = HL_OK;
    if (!mean || !sd || !cov || !comp || !zrow || !w) {
        rc = hl__fail(err, HL_ERR_NOMEM, "pca: out of memory");
        goto done;
    }
    feature_moments(x, n, d, mean, sd);
    covariance(x, n, d, mean, sd, cov, zrow);
    double total = 0.0;
    for (size_t a = 0; a < d; a++)
        total += cov[a * d + a];
    for (size_t c = 0; c < k; c++) {
        double *v = comp + c * d;
        double lambda = power_iteration(cov, d, v, w);
        if (explained)
            explained[c] = total > 0 ? lambda / total : 0.0;
        /* Deflate: remove this component before finding the next one. */
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < d; b++)
                cov[a * d + b] -= lambda * v[a] * v[b];
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++)
            zrow[j] = z(x, d, i, j, mean, sd);
        for (size_t c = 0; c < k; c++) {
            double s = 0.0;
            for (size_t j = 0; j < d; j++)
                s += zrow[j] * comp[c * d + j];
            out[i * k + c] = s;
        }
    }
done:
    free(mean);
    free(sd);
    free(cov);
    free(comp);
    free(zrow);
    free(w);
    return rc;
}
