/* drift.c - drift checks: a batch of rows against the reference its model
 * stores (healer/drift.h says what is measured and decided; drift_ref.c
 * holds the reference).
 *
 * Each KPI is one task: its present values are gathered and sorted once,
 * then give the KS distance (exact against the sketch's distribution
 * function: between two batch values the batch's function is flat and
 * the reference's only rises, so the distance peaks at a batch value) and
 * the PSI counts (binary searches at the cuts). Tasks write only their
 * own KPI, so the report does not depend on the thread count.
 *
 * The critical values are textbook large-sample ones - the Kolmogorov
 * distribution's c(a) = sqrt(-ln(a / 2) / 2), and the chi-square law of
 * Pearson's statistic of homogeneity over PSI's bins - with a Bonferroni
 * split of the family-wise rate over the two tests of every KPI. PSI is
 * not tested itself: an empty bin counts as its epsilon, ln(share /
 * epsilon) times heavier than in Pearson's statistic, so random batches of
 * 50 rows of the training data crossed PSI's own chi-square line most of
 * the time (bench/drift_check.py). Neither law is exact for small batches,
 * hence the chi-square test only from HL_DRIFT_MIN_ROWS rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "drift_ref.h"
#include "healer/drift.h"
#include "internal.h"
#include "pool.h"

const char *hl_drift_level_name(hl_drift_level level)
{
    switch (level) {
    case HL_DRIFT_MODERATE:
        return "moderate";
    case HL_DRIFT_SEVERE:
        return "severe";
    case HL_DRIFT_NONE:
        break;
    }
    return "none";
}

int hl_model_has_drift_reference(const hl_model *m)
{
    return m && m->drift != NULL;
}

void hl_drift_report_free(hl_drift_report *r)
{
    if (!r)
        return;
    free(r->kpis);
    free(r->order);
    free(r->reference_class_mix);
    memset(r, 0, sizeof *r);
}

/* ---- critical values ---- */

/* Q(a, x), the regularized upper incomplete gamma function: a series
 * below x = a + 1, Lentz's continued fraction above (Numerical Recipes,
 * 6.2), each to double precision. */
static double gamma_upper(double a, double x)
{
    if (x <= 0.0)
        return 1.0;
    const double log_front = a * log(x) - x - lgamma(a);
    if (x < a + 1.0) {
        double term = 1.0 / a, sum = term;
        for (int n = 1; n < 1000 && fabs(term) > fabs(sum) * 1e-16; n++) {
            term *= x / (a + n);
            sum += term;
        }
        return 1.0 - sum * exp(log_front);
    }
    const double tiny = 1e-300;
    double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, f = d;
    for (int i = 1; i < 1000; i++) {
        double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        d = fabs(d) < tiny ? tiny : d;
        c = b + an / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        double step = d * c;
        f *= step;
        if (fabs(step - 1.0) < 1e-16)
            break;
    }
    return exp(log_front) * f;
}

/* The chi-square value exceeded with probability `tail` at df degrees of
 * freedom: bisection on the tail probability, between bounds that hold
 * for any df this file asks for (up to HL_DRIFT_PSI_BINS + 1 bins) and
 * any tail down to 1e-300. */
static double chi2_upper(double tail, size_t df)
{
    double lo = 0.0, hi = 2000.0;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
        double mid = 0.5 * (lo + hi);
        if (gamma_upper(0.5 * (double)df, 0.5 * mid) > tail)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* ---- one KPI ---- */

typedef struct check_ctx {
    const hl__drift_ref *ref;
    const float *x;
    size_t n_rows;
    size_t stride;        /* floats per row of x */
    const size_t *column; /* model feature -> column of x */
    double alpha_each;    /* the family-wise rate split over every test */
    float **scratch;      /* per worker: n_rows floats */
    hl_drift_kpi *kpis;
} check_ctx;

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* How many of sorted[0..n) are <= c. */
static size_t count_at_most(const float *sorted, size_t n, double c)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((double)sorted[mid] <= c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* sup |F_ref - F_batch| over the sorted present batch values b[0..n). */
static double ks_distance(const float *q, uint32_t Q, const float *b, size_t n)
{
    double d = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && b[j + 1] == b[i])
            j++;
        double v = b[i];
        double up =
            fabs(hl__drift_cdf(q, Q, v, 0) - (double)(j + 1) / (double)n);
        double down = fabs(hl__drift_cdf(q, Q, v, 1) - (double)i / (double)n);
        d = fmax(d, fmax(up, down));
        i = j + 1;
    }
    return d;
}

static double psi_term(double observed, double expected)
{
    if (observed == expected)
        return 0.0;
    return (observed - expected) * log(fmax(observed, HL_DRIFT_PSI_EPSILON) /
                                       fmax(expected, HL_DRIFT_PSI_EPSILON));
}

/* The shares of one bin: o of the batch's rows, e of the reference's. */
typedef struct bin_stats {
    double psi;
    double chi2_sum; /* sum of (o - e)^2 / pooled share */
    size_t used;     /* bins either side fills */
} bin_stats;

static void add_bin(bin_stats *st, double o, double e, double n, double m)
{
    st->psi += psi_term(o, e);
    double pooled = (n * o + m * e) / (n + m);
    if (pooled > 0) {
        st->chi2_sum += (o - e) * (o - e) / pooled;
        st->used++;
    }
}

/* PSI and Pearson's statistic over the reference's decile bins of the
 * present values (shares of all rows) and the missing bin; n and m are
 * the batch's and the reference's rows. */
static bin_stats binned(const float *q, uint32_t Q, double ref_present,
                        const float *b, size_t n_present, double batch_present,
                        double n, double m)
{
    bin_stats st = {0, 0, 0};
    add_bin(&st, 1.0 - batch_present, 1.0 - ref_present, n, m);
    double prev_ref = 0.0, prev_batch = 0.0;
    double last_cut = -INFINITY;
    for (unsigned j = 1; j <= HL_DRIFT_PSI_BINS; j++) {
        double cut = INFINITY;
        if (j < HL_DRIFT_PSI_BINS) {
            cut =
                q[((size_t)j * Q + HL_DRIFT_PSI_BINS / 2) / HL_DRIFT_PSI_BINS];
            if (cut <= last_cut)
                continue; /* repeated decile: one bin holds them */
        }
        double f_ref =
            j < HL_DRIFT_PSI_BINS ? hl__drift_cdf(q, Q, cut, 0) : 1.0;
        double f_batch =
            n_present == 0 ? 0.0
            : j < HL_DRIFT_PSI_BINS
                ? (double)count_at_most(b, n_present, cut) / (double)n_present
                : 1.0;
        add_bin(&st,
                n_present == 0 ? 0.0 : batch_present * (f_batch - prev_batch),
                ref_present * (f_ref - prev_ref), n, m);
        prev_ref = f_ref;
        prev_batch = f_batch;
        last_cut = cut;
    }
    return st;
}

/* Beyond chance, large enough to matter, and how bad (healer/drift.h). */
static void judge(hl_drift_kpi *k, const bin_stats *st, size_t n_rows,
                  uint64_t ref_rows, double alpha_each)
{
    const double n = (double)k->present_batch, m = (double)k->present_reference;
    k->ks_critical = 1.0;
    if (n > 0 && m > 0) {
        double c = sqrt(-0.5 * log(alpha_each / 2.0));
        k->ks_critical = fmin(1.0, c * sqrt((n + m) / (n * m)));
    }
    k->chi2 = st->chi2_sum / (1.0 / (double)n_rows + 1.0 / (double)ref_rows);
    k->chi2_critical = chi2_upper(alpha_each, st->used > 1 ? st->used - 1 : 1);
    int beyond_chance =
        k->ks > k->ks_critical ||
        (n_rows >= HL_DRIFT_MIN_ROWS && k->chi2 > k->chi2_critical);
    int material =
        k->psi >= HL_DRIFT_PSI_MODERATE || k->ks >= HL_DRIFT_KS_MATERIAL;
    k->significant = beyond_chance && material;
    k->level = !k->significant                 ? HL_DRIFT_NONE
               : k->psi >= HL_DRIFT_PSI_SEVERE ? HL_DRIFT_SEVERE
                                               : HL_DRIFT_MODERATE;
}

static void check_kpi(void *p, size_t f, int worker)
{
    check_ctx *c = p;
    const hl__drift_ref *ref = c->ref;
    float *b = c->scratch[worker];
    size_t n = 0;
    for (size_t i = 0; i < c->n_rows; i++) {
        float v = c->x[i * c->stride + c->column[f]];
        if (isfinite(v))
            b[n++] = v;
    }
    qsort(b, n, sizeof *b, cmp_float);
    hl_drift_kpi *k = &c->kpis[f];
    const float *q = hl__drift_ref_sketch(ref, f);
    const uint32_t Q = ref->quantiles;
    k->feature = f;
    k->present_batch = n;
    k->present_reference = (size_t)ref->present[f];
    double batch_present = (double)n / (double)c->n_rows;
    double ref_present = (double)ref->present[f] / (double)ref->rows;
    k->missing_batch = 1.0 - batch_present;
    k->missing_reference = 1.0 - ref_present;
    k->ks = n > 0 && ref->present[f] > 0 ? ks_distance(q, Q, b, n) : 0.0;
    bin_stats st = binned(q, Q, ref_present, b, n, batch_present,
                          (double)c->n_rows, (double)ref->rows);
    k->psi = st.psi;
    judge(k, &st, c->n_rows, ref->rows, c->alpha_each);
}

/* ---- the report ---- */

typedef struct rank_key {
    hl_drift_level level;
    double psi, ks;
    size_t index;
} rank_key;

static int cmp_worst_first(const void *a, const void *b)
{
    const rank_key *x = a, *y = b;
    if (x->level != y->level)
        return x->level > y->level ? -1 : 1;
    if (x->psi != y->psi)
        return x->psi > y->psi ? -1 : 1;
    if (x->ks != y->ks)
        return x->ks > y->ks ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

static hl_status rank(hl_drift_report *r)
{
    rank_key *keys = malloc((r->n_kpis + 1) * sizeof *keys);
    if (!keys)
        return HL_ERR_NOMEM;
    for (size_t f = 0; f < r->n_kpis; f++) {
        const hl_drift_kpi *k = &r->kpis[f];
        keys[f] = (rank_key){k->level, k->psi, k->ks, f};
        r->n_significant += k->significant != 0;
        if (k->level > r->verdict)
            r->verdict = k->level;
        if (k->read) {
            r->n_read++;
            r->n_significant_read += k->significant != 0;
            if (k->level > r->verdict_read)
                r->verdict_read = k->level;
        }
    }
    qsort(keys, r->n_kpis, sizeof *keys, cmp_worst_first);
    for (size_t f = 0; f < r->n_kpis; f++)
        r->order[f] = keys[f].index;
    free(keys);
    return HL_OK;
}

static void class_mix(const hl__drift_ref *ref, double *mix)
{
    uint64_t total = 0;
    for (size_t k = 0; k < ref->n_classes; k++)
        total += ref->class_count[k];
    for (size_t k = 0; k < ref->n_classes; k++)
        mix[k] = total ? (double)ref->class_count[k] / (double)total : 0.0;
}

static hl_status report_alloc(const hl_model *m, size_t n_rows,
                              hl_drift_report *r)
{
    const hl_model_summary *s = &m->summary;
    memset(r, 0, sizeof *r);
    r->rows = n_rows;
    r->reference_rows = (size_t)m->drift->rows;
    r->n_kpis = s->n_features;
    r->n_classes = s->n_classes;
    r->class_names = s->class_names;
    r->kpis = calloc(s->n_features + 1, sizeof *r->kpis);
    r->order = calloc(s->n_features + 1, sizeof *r->order);
    r->reference_class_mix =
        calloc(s->n_classes + 1, sizeof *r->reference_class_mix);
    if (!r->kpis || !r->order || !r->reference_class_mix)
        return HL_ERR_NOMEM;
    for (size_t f = 0; f < s->n_features; f++) {
        r->kpis[f].name = s->feature_names[f];
        r->kpis[f].read = !s->kpi_kept || s->kpi_kept[f];
    }
    class_mix(m->drift, r->reference_class_mix);
    return HL_OK;
}

static void free_scratch(float **scratch, int workers)
{
    for (int w = 0; scratch && w < workers; w++)
        free(scratch[w]);
    free(scratch);
}

static float **alloc_scratch(int workers, size_t n_rows)
{
    float **scratch = calloc((size_t)workers, sizeof *scratch);
    for (int w = 0; scratch && w < workers; w++)
        if (!(scratch[w] = malloc((n_rows + 1) * sizeof **scratch))) {
            free_scratch(scratch, w);
            return NULL;
        }
    return scratch;
}

/* Runs the KPIs' tasks over x, whose row has `stride` floats and model
 * feature f in column column[f]. */
static hl_status check_columns(const hl_model *m, const float *x, size_t n_rows,
                               size_t stride, const size_t *column, int threads,
                               hl_drift_report *out, hl_error *err)
{
    if (!m->drift)
        return hl__fail(err, HL_ERR_DATA,
                        "the model has no drift reference; retrain it");
    if (n_rows == 0)
        return hl__fail(err, HL_ERR_DATA, "no rows to check for drift");
    const size_t nf = m->summary.n_features;
    int t = hl__resolve_threads(threads);
    if ((size_t)t > nf)
        t = nf ? (int)nf : 1;
    /* Two tests per KPI (KS and chi-square): Bonferroni over all of them. */
    check_ctx c = {m->drift,
                   x,
                   n_rows,
                   stride,
                   column,
                   HL_DRIFT_ALPHA / (2.0 * (double)(nf ? nf : 1)),
                   alloc_scratch(t, n_rows),
                   NULL};
    hl__pool *pool = t > 1 ? hl__pool_create(t) : NULL;
    hl_status rc = HL_ERR_NOMEM;
    if (c.scratch && (t == 1 || pool) &&
        report_alloc(m, n_rows, out) == HL_OK) {
        c.kpis = out->kpis;
        hl__pool_run(pool, nf, check_kpi, &c);
        rc = rank(out);
    }
    hl__pool_destroy(pool);
    free_scratch(c.scratch, t);
    if (rc != HL_OK) {
        hl_drift_report_free(out);
        return hl__fail(err, rc, "out of memory checking %zu rows for drift",
                        n_rows);
    }
    return HL_OK;
}

hl_status hl_drift_check_matrix(const hl_model *m, const float *x,
                                size_t n_rows, int threads,
                                hl_drift_report *out, hl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m || (!x && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "drift: NULL argument");
    const size_t nf = m->summary.n_features;
    size_t *column = malloc((nf + 1) * sizeof *column);
    if (!column)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < nf; f++)
        column[f] = f;
    hl_status rc = check_columns(m, x, n_rows, nf, column, threads, out, err);
    free(column);
    return rc;
}

hl_status hl_drift_check_dataset(const hl_model *m, const hl_dataset *ds,
                                 int threads, hl_drift_report *out,
                                 hl_warnings *warn, hl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m || !ds)
        return hl__fail(err, HL_ERR_INVALID, "drift: NULL argument");
    if (!m->drift)
        return hl__fail(err, HL_ERR_DATA,
                        "the model has no drift reference; retrain it");
    if (ds->n_rows == 0)
        return hl__fail(err, HL_ERR_DATA, "%s: no rows to check for drift",
                        ds->source ? ds->source : "the data");
    const size_t nf = m->summary.n_features;
    size_t *column = malloc((nf + 1) * sizeof *column);
    if (!column)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    hl_status rc = hl__model_map_features(m, ds, column, warn, err);
    if (rc == HL_OK)
        rc = check_columns(m, ds->x, ds->n_rows, ds->n_features, column,
                           threads, out, err);
    free(column);
    return rc;
}

hl_status hl_drift_drifted_features(const hl_model *m, const float *x,
                                    size_t n_rows, int threads,
                                    size_t **features, size_t *n_drifted,
                                    hl_error *err)
{
    *features = NULL;
    *n_drifted = 0;
    hl_drift_report r;
    hl_status rc = hl_drift_check_matrix(m, x, n_rows, threads, &r, err);
    if (rc != HL_OK)
        return rc;
    size_t *out = malloc((r.n_significant + 1) * sizeof *out);
    if (!out) {
        hl_drift_report_free(&r);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t f = 0; f < r.n_kpis; f++)
        if (r.kpis[f].significant)
            out[n++] = f;
    hl_drift_report_free(&r);
    *features = out;
    *n_drifted = n;
    return HL_OK;
}
