/* rca_node.c - what one node's own rows say during an incident: how
 * abnormal each row is, when the node turned abnormal, which fault it
 * most likely has and which KPIs are out of their normal ranges.
 *
 * A row's anomaly combines two views so that neither blinds the other:
 * the classifier's q = 1 - p(normal), which knows the trained faults, and
 * a model-agnostic term from the normal ranges (healer/normal.h),
 * b = 1 - exp(-S / 3) where S sums how far each KPI is beyond its range,
 * so that a fault the classifier never saw still shows:
 * e = 1 - (1 - q)(1 - b), high when either is. A node's anomaly scores
 * a change, not a sample: the largest mean of e from some row to the end
 * of its window (the last row together with the one before it), since a
 * fault lasts once it has started while an odd sample of a healthy node
 * does not (a classifier wrong on 5 % of normal rows would flag a fifth
 * of 4-row windows by their worst row; by this rule one window in a few
 * hundred). Its onset is the first abnormal row from which the mean is
 * abnormal too (the rows are in time order). Its fault sums the non-normal
 * classes' probabilities over its abnormal rows only, so that its healthy
 * samples before the onset do not vote for whatever fault looks most like
 * normal.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "healer/normal.h"
#include "internal.h"
#include "rca_internal.h"

static double kpi_term(const hl__rca_rows *r, const float *row)
{
    const size_t nf = r->nf;
    double beyond = 0;
    for (size_t j = 0; r->low && j < nf; j++) {
        if (!(row[j] < r->low[j] || row[j] > r->high[j]))
            continue; /* inside, missing, or a KPI without a range */
        double z = fabs(hl_model_normal_z(r->m, j, row[j]));
        if (z > HL_NORMAL_Z)
            beyond += z - HL_NORMAL_Z;
    }
    return 1.0 - exp(-beyond / (HL__RCA_KPI_SCALE * (double)(nf ? nf : 1)));
}

void hl__rca_row_anomalies(const hl__rca_rows *r, size_t first, size_t n,
                           double *e)
{
    for (size_t i = first; i < first + n; i++) {
        double q = 1.0 - r->proba[i * r->K + (size_t)r->normal];
        if (q < 0)
            q = 0;
        double b = kpi_term(r, r->x + i * r->nf);
        e[i] = 1.0 - (1.0 - q) * (1.0 - b);
    }
}

/* The non-normal class with the largest summed probability over rows
 * [first, first + n) that are abnormal (all of them when none is); its
 * mean probability over those rows. */
static void pick_fault(const hl__rca_rows *r, size_t first, size_t n,
                       int any_abnormal, hl_rca_node *out)
{
    double best = -1;
    size_t used = 0;
    out->fault = -1;
    out->confidence = NAN;
    for (size_t i = first; i < first + n; i++)
        used += !any_abnormal || r->e[i] >= HL__RCA_ABNORMAL;
    for (size_t k = 0; k < r->K; k++) {
        if ((int32_t)k == r->normal)
            continue;
        double sum = 0;
        for (size_t i = first; i < first + n; i++)
            if (!any_abnormal || r->e[i] >= HL__RCA_ABNORMAL)
                sum += r->proba[i * r->K + k];
        if (sum > best) {
            best = sum;
            out->fault = (int32_t)k;
            out->confidence = sum / (double)used;
        }
    }
}

/* Row i's sustained anomaly: the mean anomaly of the rows from it to the
 * end of the window (the last row's with the row before it, when there
 * is one), given suffix[i] = the sum of e over rows i.. of the node. */
static double sustained(const double *suffix, size_t i, size_t n)
{
    size_t from = i + 1 == n && n > 1 ? i - 1 : i;
    return suffix[from] / (double)(n - from);
}

hl_status hl__rca_diagnose_node(const hl__rca_rows *r, size_t first, size_t n,
                                hl_rca_node *out)
{
    double suffix_local[64], *suffix = suffix_local;
    if (n > 64 && !(suffix = malloc(n * sizeof *suffix)))
        return HL_ERR_NOMEM;
    size_t worst, onset = SIZE_MAX;
    double a = 0, sum = 0;
    for (size_t i = n; i-- > 0;)
        suffix[i] = sum += r->e[first + i];
    for (size_t i = 0; i < n; i++) {
        double s = sustained(suffix, i, n);
        if (s > a)
            a = s;
        if (onset == SIZE_MAX && s >= HL__RCA_ABNORMAL &&
            r->e[first + i] >= HL__RCA_ABNORMAL)
            onset = first + i;
    }
    if (suffix != suffix_local)
        free(suffix);
    /* the KPIs of its most anomalous row (from its onset on when it has
     * one): what a person looks at first */
    const size_t end = first + n;
    worst = onset == SIZE_MAX ? first : onset;
    for (size_t i = worst + 1; i < end; i++)
        if (r->e[i] > r->e[worst])
            worst = i;
    out->rows = n;
    out->anomaly = a;
    out->abnormal = onset != SIZE_MAX; /* a >= 0.5 (some row then is too) */
    out->onset = NAN;
    out->onset_text = NULL;
    if (out->abnormal) {
        out->onset = r->time[onset];
        if (!(out->onset_text = hl__strdup(r->time_text[onset])))
            return HL_ERR_NOMEM;
    }
    pick_fault(r, first, n, out->abnormal, out);
    size_t all = hl_model_abnormal_kpis(r->m, r->x + worst * r->nf,
                                        out->abnormal_kpis, HL_RCA_MAX_KPIS);
    out->n_abnormal_kpis = all < HL_RCA_MAX_KPIS ? all : HL_RCA_MAX_KPIS;
    return HL_OK;
}
