/* rca_node.c - what one node's own rows say during an incident: how
 * abnormal it is, when it turned abnormal, which fault it most likely has
 * and which KPIs are out of their normal ranges.
 *
 * Two views of a row, kept apart because they fail differently:
 *   q = 1 - p(normal), the classifier's: it knows the trained faults;
 *   g = log(1 + S), S the robust units beyond the normal ranges
 *       (healer/normal.h) summed over the KPIs: it needs no fault classes.
 * A node's anomaly scores a change, not a sample: the largest mean of a
 * view from some row to the end of its window (the last row together with
 * the one before it), since a fault lasts once it has started while an
 * odd sample of a healthy node does not (a classifier wrong on 5 % of
 * normal rows would flag a fifth of 4-row windows by their worst row; by
 * this rule one window in a few hundred). Its onset is the first row that
 * is abnormal from which the mean is abnormal too (rows are in time order).
 *
 * The classifier's view decides (anomaly = that mean of q, abnormal from
 * HL__RCA_ABNORMAL). The KPI view cannot, measured: S of healthy rows is
 * heavy-tailed (on the reference data, 107 KPIs, its median is 38 units
 * and 1 row in 20 is beyond 300), so any fixed scale either never fires or
 * makes a third of the healthy nodes abnormal. It is judged against the
 * incident instead, where most nodes are healthy: a node whose sustained g
 * is an outlier among the incident's observed nodes (robust z >=
 * HL__RCA_KPI_OUTLIER) is abnormal even when the classifier calls it
 * normal - a fault the model never saw still shows (hl__rca_kpi_gate).
 * An abnormal node's fault sums the non-normal classes' probabilities over
 * its abnormal rows only, so that its healthy samples before the onset do
 * not vote for whatever fault looks most like normal; one abnormal by its
 * KPIs alone, with no row the classifier calls abnormal, has no fault the
 * classifier could name (-1); a node that is not abnormal has the normal
 * class, so that a healthy node never shows a fault.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "healer/normal.h"
#include "internal.h"
#include "rca_internal.h"

/* How far value x of KPI j is beyond its normal range, in robust units
 * (0 inside, for a missing value, or without ranges). */
static double beyond(const hl__rca_rows *r, size_t j, float x)
{
    if (!r->low || !(x < r->low[j] || x > r->high[j]))
        return 0; /* inside (no logarithm needed), missing, or no range */
    double z = fabs(hl_model_normal_z(r->m, j, x));
    return z > HL_NORMAL_Z ? z - HL_NORMAL_Z : 0;
}

void hl__rca_row_anomalies(const hl__rca_rows *r, size_t first, size_t n,
                           double *e, double *g)
{
    for (size_t i = first; i < first + n; i++) {
        double q = 1.0 - r->proba[i * r->K + (size_t)r->normal];
        double s = 0;
        for (size_t j = 0; j < r->nf; j++)
            s += beyond(r, j, r->x[i * r->nf + j]);
        e[i] = q > 0 ? q : 0;
        g[i] = log1p(s);
    }
}

/* ---- a change in a window of rows -------------------------------------- */

/* The mean of v over the rows from i to the end (from the row before the
 * last for the last row, when there is one); suffix[i] = sum of v[i..n). */
static double sustained(const double *suffix, size_t i, size_t n)
{
    size_t from = i + 1 == n && n > 1 ? i - 1 : i;
    return suffix[from] / (double)(n - from);
}

/* The largest sustained value of level(v) over rows [0, n) into *best and
 * the onset: the first row i with level(v[i]) and its sustained level both
 * >= threshold (SIZE_MAX when none). level(x) = (x - centre) / unit. */
static hl_status change(const double *v, size_t n, double centre, double unit,
                        double threshold, double *best, size_t *onset)
{
    double local[64], *suffix = n > 64 ? malloc(n * sizeof *suffix) : local;
    if (!suffix)
        return HL_ERR_NOMEM;
    double sum = 0;
    for (size_t i = n; i-- > 0;)
        suffix[i] = sum += (v[i] - centre) / unit;
    *best = -INFINITY;
    *onset = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        double s = sustained(suffix, i, n);
        if (s > *best)
            *best = s;
        if (*onset == SIZE_MAX && s >= threshold &&
            (v[i] - centre) / unit >= threshold)
            *onset = i;
    }
    if (suffix != local)
        free(suffix);
    return HL_OK;
}

/* ---- a node ------------------------------------------------------------ */

/* The node's fault and confidence (healer/rca.h, hl_rca_node): abnormal,
 * the non-normal class with the largest summed probability over its rows
 * [first, first + n) that the classifier calls abnormal, and its mean
 * probability over them (-1 and NAN when there is none: abnormal by its
 * KPIs alone); not abnormal, the normal class and its mean probability
 * over all the rows. */
static void pick_fault(const hl__rca_rows *r, size_t first, size_t n,
                       hl_rca_node *out)
{
    out->fault = -1;
    out->confidence = NAN;
    if (!out->abnormal) {
        double sum = 0;
        for (size_t i = first; i < first + n; i++)
            sum += r->proba[i * r->K + (size_t)r->normal];
        out->fault = r->normal;
        out->confidence = n ? sum / (double)n : NAN;
        return;
    }
    size_t used = 0;
    for (size_t i = first; i < first + n; i++)
        used += r->e[i] >= HL__RCA_ABNORMAL;
    double best = -1;
    for (size_t k = 0; used && k < r->K; k++) {
        if ((int32_t)k == r->normal)
            continue;
        double sum = 0;
        for (size_t i = first; i < first + n; i++)
            if (r->e[i] >= HL__RCA_ABNORMAL)
                sum += r->proba[i * r->K + k];
        if (sum > best) {
            best = sum;
            out->fault = (int32_t)k;
            out->confidence = sum / (double)used;
        }
    }
}

/* Onset (a row of the batch, or SIZE_MAX) into out, with the KPIs of its
 * most anomalous row from then on (from its first row without onset):
 * what a person looks at first. */
static hl_status set_onset(const hl__rca_rows *r, size_t first, size_t n,
                           size_t onset, hl_rca_node *out)
{
    size_t worst = onset == SIZE_MAX ? first : onset;
    for (size_t i = worst + 1; i < first + n; i++)
        if (r->e[i] > r->e[worst] ||
            (r->e[i] == r->e[worst] && r->g[i] > r->g[worst]))
            worst = i;
    free(out->onset_text);
    out->abnormal = onset != SIZE_MAX;
    out->onset = NAN;
    out->onset_text = NULL;
    if (out->abnormal) {
        out->onset = r->time[onset];
        if (!(out->onset_text = hl__strdup(r->time_text[onset])))
            return HL_ERR_NOMEM;
    }
    size_t all = hl_model_abnormal_kpis(r->m, r->x + worst * r->nf,
                                        out->abnormal_kpis, HL_RCA_MAX_KPIS);
    out->n_abnormal_kpis = all < HL_RCA_MAX_KPIS ? all : HL_RCA_MAX_KPIS;
    return HL_OK;
}

hl_status hl__rca_diagnose_node(const hl__rca_rows *r, size_t first, size_t n,
                                hl_rca_node *out, double *kpi_level)
{
    size_t onset, unused;
    double a;
    hl_status rc = change(r->e + first, n, 0, 1, HL__RCA_ABNORMAL, &a, &onset);
    if (rc == HL_OK)
        rc = change(r->g + first, n, 0, 1, INFINITY, kpi_level, &unused);
    if (rc != HL_OK)
        return rc;
    out->rows = n;
    out->anomaly = a; /* abnormal <=> a >= HL__RCA_ABNORMAL <=> an onset */
    out->onset_text = NULL;
    rc = set_onset(r, first, n, onset == SIZE_MAX ? SIZE_MAX : first + onset,
                   out);
    pick_fault(r, first, n, out);
    return rc;
}

/* ---- the KPI view, against the incident -------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n) (n >= 1), sorting v. */
static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

hl_status hl__rca_kpi_centre(const double *level, size_t n, double *centre,
                             double *unit)
{
    double *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return HL_ERR_NOMEM;
    memcpy(v, level, n * sizeof *v);
    *centre = n ? median(v, n) : 0;
    for (size_t i = 0; i < n; i++)
        v[i] = fabs(level[i] - *centre);
    double mad = n ? 1.4826 * median(v, n) : 0;
    *unit = mad > HL__RCA_KPI_MIN_UNIT ? mad : HL__RCA_KPI_MIN_UNIT;
    free(v);
    return HL_OK;
}

hl_status hl__rca_kpi_gate(const hl__rca_rows *r, size_t first, size_t n,
                           double centre, double unit, hl_rca_node *out)
{
    size_t onset;
    double z;
    hl_status rc =
        change(r->g + first, n, centre, unit, HL__RCA_KPI_OUTLIER, &z, &onset);
    if (rc != HL_OK || out->abnormal || onset == SIZE_MAX)
        return rc;
    /* 0.5 at the outlier bar, towards 1 beyond it */
    out->anomaly =
        1.0 - 0.5 * exp(-(z - HL__RCA_KPI_OUTLIER) / HL__RCA_KPI_OUTLIER);
    rc = set_onset(r, first, n, first + onset, out);
    pick_fault(r, first, n, out); /* now abnormal */
    return rc;
}
