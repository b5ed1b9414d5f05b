/* families.c - finding KPI families on training rows, their inputs, and
 * their section of the model file (see families.h).
 *
 * Cost: one sort of each candidate KPI's values and one of each class's
 * share of them, then complete linkage over the candidates' profiles,
 * O(candidates^3) - about a million steps for the reference data's 107
 * KPIs, nothing beside the learner.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "families.h"
#include "internal.h"
#include "robust.h"

/* ---- one KPI's footing and profile ---- */

/* The spread a KPI is divided by: its interquartile range, or, for a KPI
 * mostly at one value (IQR 0), its mean absolute deviation from the
 * median, so that the rare rows that carry its signal still count.
 * 0 for a constant KPI. */
static double spread(const float *sorted, size_t n, double center)
{
    double iqr = hl__sorted_quantile(sorted, n, 0.75) -
                 hl__sorted_quantile(sorted, n, 0.25);
    if (iqr > 0.0)
        return iqr;
    double mad = 0.0;
    for (size_t i = 0; i < n; i++)
        mad += fabs(sorted[i] - center);
    return mad / (double)n;
}

/* Scratch for the profiles: the values of one KPI, grouped by class. */
typedef struct scratch {
    float *v;        /* n */
    float *by_class; /* n, class k's values at [start[k], start[k + 1]) */
    size_t *start;   /* n_classes + 1 */
    size_t *fill;    /* n_classes */
} scratch;

/* Candidate c's footing (center, scale) and class profile prof[K],
 * centred over the classes and of unit length. Returns 0 when the KPI
 * cannot join a family: never present, constant, or with class medians
 * too close together (families.h). */
static int profile_of(const float *x, size_t nf, const int32_t *y, size_t K,
                      const size_t *rows, size_t n, uint32_t c, scratch *s,
                      double *center, double *scale, double *range,
                      double *prof)
{
    size_t m = 0;
    memset(s->start, 0, (K + 1) * sizeof *s->start);
    for (size_t i = 0; i < n; i++) {
        float v = x[rows[i] * nf + c];
        if (isfinite(v)) {
            s->v[m++] = hl__signed_log(v);
            s->start[y[rows[i]] + 1]++;
        }
    }
    if (m < 2)
        return 0;
    for (size_t k = 0; k < K; k++)
        s->start[k + 1] += s->start[k];
    memcpy(s->fill, s->start, K * sizeof *s->fill);
    for (size_t i = 0, j = 0; i < n; i++) {
        float v = x[rows[i] * nf + c];
        if (isfinite(v))
            s->by_class[s->fill[y[rows[i]]]++] = s->v[j++];
    }
    hl__sort_floats(s->v, m);
    *center = hl__sorted_quantile(s->v, m, 0.5);
    *scale = spread(s->v, m, *center);
    if (!(*scale > 0.0) || !isfinite(*scale))
        return 0;
    double mean = 0.0, norm = 0.0, lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < K; k++) {
        float *g = s->by_class + s->start[k];
        size_t gn = s->start[k + 1] - s->start[k];
        hl__sort_floats(g, gn);
        /* a class with no value sits at the overall median */
        prof[k] =
            gn ? (hl__sorted_quantile(g, gn, 0.5) - *center) / *scale : 0.0;
        mean += prof[k];
        lo = fmin(lo, prof[k]);
        hi = fmax(hi, prof[k]);
    }
    if (!(hi - lo >= HL__FAMILIES_MIN_PROFILE_RANGE))
        return 0;
    *range = hi - lo;
    mean /= (double)K;
    for (size_t k = 0; k < K; k++) {
        prof[k] -= mean;
        norm += prof[k] * prof[k];
    }
    norm = sqrt(norm);
    for (size_t k = 0; k < K; k++)
        prof[k] /= norm;
    return 1;
}

/* ---- complete linkage ---- */

/* The active cluster j > i whose linkage with i is the largest (the first
 * such j on ties), in *best_j; returns that linkage, -1 when none. */
static double best_partner(const double *sim, size_t m, const uint32_t *cluster,
                           size_t i, size_t *best_j)
{
    double best = -1.0;
    *best_j = i;
    for (size_t j = i + 1; j < m; j++)
        if (cluster[j] == j && sim[i * m + j] > best) {
            best = sim[i * m + j];
            *best_j = j;
        }
    return best;
}

/* Clusters of the m profiles: cluster[i] is i's cluster (the smallest
 * index in it). Merges, best first, the two clusters whose least
 * correlated pair (in absolute value) is the most correlated, while that
 * is >= threshold; on ties the pair (a, b) first in row order, as a plain
 * scan of every pair would pick. sim is m x m |r| and is overwritten with
 * the linkage between clusters. partner and link (m each) keep every
 * active cluster's best later partner: a merge only lowers linkages
 * (complete linkage takes the minimum), so only the rows that pointed at
 * a or b, and a itself, need looking at again. */
static void complete_linkage(double *sim, size_t m, double threshold,
                             uint32_t *cluster, size_t *partner, double *link)
{
    for (size_t i = 0; i < m; i++)
        cluster[i] = (uint32_t)i;
    for (size_t i = 0; i < m; i++)
        link[i] = best_partner(sim, m, cluster, i, &partner[i]);
    for (;;) {
        size_t a = 0;
        double best = -1.0;
        for (size_t i = 0; i < m; i++)
            if (cluster[i] == i && link[i] > best) {
                best = link[i];
                a = i;
            }
        if (best < threshold)
            return;
        const size_t b = partner[a];
        for (size_t i = 0; i < m; i++) {
            if (cluster[i] == b)
                cluster[i] = (uint32_t)a;
            double s = fmin(sim[a * m + i], sim[b * m + i]);
            sim[a * m + i] = sim[i * m + a] = s;
        }
        for (size_t i = 0; i < m; i++)
            if (cluster[i] == i && (i == a || partner[i] == a || partner[i] == b))
                link[i] = best_partner(sim, m, cluster, i, &partner[i]);
    }
}

/* ---- the result ---- */

void hl__families_free(hl__families *fam)
{
    if (!fam)
        return;
    free(fam->first);
    free(fam->kpi);
    free(fam->sign);
    free(fam->center);
    free(fam->scale);
    free(fam);
}

static hl__families *families_alloc(size_t n, size_t members)
{
    hl__families *fam = calloc(1, sizeof *fam);
    if (!fam)
        return NULL;
    fam->n = n;
    fam->first = calloc(n + 1, sizeof *fam->first);
    fam->kpi = malloc((members + 1) * sizeof *fam->kpi);
    fam->sign = malloc((members + 1) * sizeof *fam->sign);
    fam->center = malloc((members + 1) * sizeof *fam->center);
    fam->scale = malloc((members + 1) * sizeof *fam->scale);
    if (!fam->first || !fam->kpi || !fam->sign || !fam->center || !fam->scale) {
        hl__families_free(fam);
        return NULL;
    }
    return fam;
}

int hl__families_by_kpi(const hl__families *fam, size_t nf, int32_t *family_of)
{
    int once = 1;
    for (size_t j = 0; j < nf; j++)
        family_of[j] = -1;
    for (size_t f = 0; f < fam->n; f++)
        for (uint32_t i = fam->first[f]; i < fam->first[f + 1]; i++) {
            once &= family_of[fam->kpi[i]] < 0;
            family_of[fam->kpi[i]] = (int32_t)f;
        }
    return once;
}

hl__families *hl__families_copy(const hl__families *src)
{
    const size_t members = hl__families_members(src);
    hl__families *fam = families_alloc(src->n, members);
    if (!fam)
        return NULL;
    memcpy(fam->first, src->first, (src->n + 1) * sizeof *fam->first);
    memcpy(fam->kpi, src->kpi, members * sizeof *fam->kpi);
    memcpy(fam->sign, src->sign, members * sizeof *fam->sign);
    memcpy(fam->center, src->center, members * sizeof *fam->center);
    memcpy(fam->scale, src->scale, members * sizeof *fam->scale);
    return fam;
}

/* The clusters of two or more as families (there is at least one), in
 * the order of their first member (the lowest KPI column, since cand is
 * ascending); signs relative to that member. NULL = out of memory. */
static hl__families *collect(const uint32_t *cluster, size_t m,
                             const uint32_t *col, const double *center,
                             const double *scale, const double *prof, size_t K)
{
    size_t n = 0, members = 0;
    uint32_t *size = calloc(m + 1, sizeof *size);
    if (!size)
        return NULL;
    for (size_t i = 0; i < m; i++)
        size[cluster[i]]++;
    for (size_t i = 0; i < m; i++)
        if (size[i] >= 2) {
            n++;
            members += size[i];
        }
    hl__families *fam = families_alloc(n, members);
    for (size_t f = 0, i = 0, at = 0; fam && i < m; i++) {
        if (size[i] < 2)
            continue;
        fam->first[f] = (uint32_t)at;
        for (size_t j = i; j < m; j++) {
            if (cluster[j] != i)
                continue;
            double r = 0.0;
            for (size_t k = 0; k < K; k++)
                r += prof[i * K + k] * prof[j * K + k];
            fam->kpi[at] = col[j];
            fam->sign[at] = r < 0.0 ? -1.0f : 1.0f;
            fam->center[at] = (float)center[j];
            fam->scale[at] = (float)scale[j];
            at++;
        }
        fam->first[++f] = (uint32_t)at;
    }
    free(size);
    return fam;
}

/* A joinable candidate's rank key: its class profile's span. */
typedef struct ranked {
    double range;
    size_t index;
} ranked;

typedef struct find_state {
    scratch s;
    uint32_t *col;  /* the candidates that can join */
    double *center; /* per joinable candidate */
    double *scale;
    double *range; /* per joinable candidate: its class profile's span */
    double *prof;  /* m x K */
    double *sim;   /* m x m, m <= HL__FAMILIES_MAX_CANDIDATES */
    uint32_t *cluster;
    size_t *partner; /* m: complete_linkage's best partners */
    double *link;    /* m */
    ranked *order; /* the strongest candidates, when too many */
} find_state;

static void find_state_free(find_state *st)
{
    free(st->s.v);
    free(st->s.by_class);
    free(st->s.start);
    free(st->s.fill);
    free(st->col);
    free(st->center);
    free(st->scale);
    free(st->range);
    free(st->prof);
    free(st->sim);
    free(st->cluster);
    free(st->partner);
    free(st->link);
    free(st->order);
}

static int find_state_alloc(find_state *st, size_t n, size_t n_cand, size_t K)
{
    const size_t m = n_cand < HL__FAMILIES_MAX_CANDIDATES
                         ? n_cand
                         : HL__FAMILIES_MAX_CANDIDATES;
    memset(st, 0, sizeof *st);
    st->s.v = malloc((n + 1) * sizeof *st->s.v);
    st->s.by_class = malloc((n + 1) * sizeof *st->s.by_class);
    st->s.start = malloc((K + 1) * sizeof *st->s.start);
    st->s.fill = malloc((K + 1) * sizeof *st->s.fill);
    st->col = malloc((n_cand + 1) * sizeof *st->col);
    st->center = malloc((n_cand + 1) * sizeof *st->center);
    st->scale = malloc((n_cand + 1) * sizeof *st->scale);
    st->range = malloc((n_cand + 1) * sizeof *st->range);
    st->prof = malloc((n_cand * K + 1) * sizeof *st->prof);
    st->sim = malloc((m * m + 1) * sizeof *st->sim);
    st->cluster = malloc((m + 1) * sizeof *st->cluster);
    st->partner = malloc((m + 1) * sizeof *st->partner);
    st->link = malloc((m + 1) * sizeof *st->link);
    st->order = malloc((n_cand + 1) * sizeof *st->order);
    return st->s.v && st->s.by_class && st->s.start && st->s.fill && st->col &&
           st->center && st->scale && st->range && st->prof && st->sim &&
           st->cluster && st->partner && st->link && st->order;
}

/* The widest class profile first, the lower index on ties (a total order,
 * so the choice is deterministic). */
static int by_range_desc(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    if (a->range != b->range)
        return a->range > b->range ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static int by_index(const void *pa, const void *pb)
{
    const ranked *a = pa, *b = pb;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* Keeps, of the m joinable candidates, the HL__FAMILIES_MAX_CANDIDATES
 * whose class profiles span the most (the KPIs with the most class signal),
 * in their column order; returns how many are kept. */
static size_t keep_strongest(find_state *st, size_t m, size_t K)
{
    if (m <= HL__FAMILIES_MAX_CANDIDATES)
        return m;
    for (size_t i = 0; i < m; i++)
        st->order[i] = (ranked){st->range[i], i};
    qsort(st->order, m, sizeof *st->order, by_range_desc);
    const size_t kept = HL__FAMILIES_MAX_CANDIDATES;
    qsort(st->order, kept, sizeof *st->order, by_index);
    for (size_t t = 0; t < kept; t++) {
        size_t i = st->order[t].index; /* i >= t: compacting forwards is safe */
        st->col[t] = st->col[i];
        st->center[t] = st->center[i];
        st->scale[t] = st->scale[i];
        memmove(st->prof + t * K, st->prof + i * K, K * sizeof *st->prof);
    }
    return kept;
}

hl_status hl__families_find(const float *x, size_t nf, const int32_t *y,
                            size_t n_classes, const size_t *rows, size_t n,
                            const uint32_t *cand, size_t n_cand,
                            double threshold, hl__families **out)
{
    const size_t K = n_classes;
    find_state st;
    *out = NULL;
    if (K < HL__FAMILIES_MIN_CLASSES)
        return HL_OK;
    if (!find_state_alloc(&st, n, n_cand, K)) {
        find_state_free(&st);
        return HL_ERR_NOMEM;
    }
    size_t m = 0;
    for (size_t c = 0; c < n_cand; c++)
        if (profile_of(x, nf, y, K, rows, n, cand[c], &st.s, &st.center[m],
                       &st.scale[m], &st.range[m], st.prof + m * K))
            st.col[m++] = cand[c];
    m = keep_strongest(&st, m, K);
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) {
            double r = 0.0;
            for (size_t k = 0; k < K; k++)
                r += st.prof[i * K + k] * st.prof[j * K + k];
            st.sim[i * m + j] = fabs(r);
        }
    complete_linkage(st.sim, m, threshold, st.cluster, st.partner, st.link);
    size_t merged = 0; /* candidates that joined another's cluster */
    for (size_t i = 0; i < m; i++)
        merged += st.cluster[i] != i;
    hl__families *fam =
        merged ? collect(st.cluster, m, st.col, st.center, st.scale, st.prof, K)
               : NULL;
    hl_status rc = merged && !fam ? HL_ERR_NOMEM : HL_OK;
    find_state_free(&st);
    *out = fam;
    return rc;
}

float hl__family_value(const hl__families *fam, size_t f, const float *row)
{
    double sum = 0.0;
    size_t present = 0;
    for (uint32_t i = fam->first[f]; i < fam->first[f + 1]; i++) {
        float v = row[fam->kpi[i]];
        if (!isfinite(v))
            continue;
        sum +=
            fam->sign[i] * (hl__signed_log(v) - fam->center[i]) / fam->scale[i];
        present++;
    }
    return present ? (float)(sum / (double)present) : NAN;
}

/* ---- the file section ---- */

void hl__families_write(const hl__families *fam, hl__wbuf *w)
{
    hl__w_u32(w, (uint32_t)fam->n);
    hl__w_u32(w, (uint32_t)hl__families_members(fam));
    for (size_t f = 0; f < fam->n; f++)
        hl__w_u32(w, fam->first[f + 1] - fam->first[f]);
    for (size_t i = 0; i < hl__families_members(fam); i++) {
        hl__w_u32(w, fam->kpi[i]);
        hl__w_f32(w, fam->sign[i]);
        hl__w_f32(w, fam->center[i]);
        hl__w_f32(w, fam->scale[i]);
    }
}

static int member_ok(const hl__families *fam, size_t i, size_t begin, size_t nf)
{
    return fam->kpi[i] < nf && (i == begin || fam->kpi[i] > fam->kpi[i - 1]) &&
           (fam->sign[i] == 1.0f || fam->sign[i] == -1.0f) &&
           isfinite(fam->center[i]) && fam->scale[i] > 0.0f &&
           isfinite(fam->scale[i]);
}

hl_status hl__families_read(hl__rbuf *r, size_t nf, const hl__io_ctx *io,
                            hl__families **out)
{
    *out = NULL;
    size_t n = hl__r_u32(r), members = hl__r_u32(r);
    if (r->failed || n == 0 || members < 2 * n || members > nf ||
        !hl__r_need(r, n * 4 + members * 16))
        return hl__io_corrupt(io, "KPI families");
    hl__families *fam = families_alloc(n, members);
    if (!fam)
        return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < n; f++) {
        uint32_t size = hl__r_u32(r);
        fam->first[f + 1] = fam->first[f] + size;
        if (size < 2 || fam->first[f + 1] > members)
            goto corrupt;
    }
    if (fam->first[n] != members)
        goto corrupt;
    for (size_t f = 0; f < n; f++)
        for (size_t i = fam->first[f]; i < fam->first[f + 1]; i++) {
            fam->kpi[i] = hl__r_u32(r);
            fam->sign[i] = hl__r_f32(r);
            fam->center[i] = hl__r_f32(r);
            fam->scale[i] = hl__r_f32(r);
            if (!member_ok(fam, i, fam->first[f], nf))
                goto corrupt;
        }
    if (r->failed)
        goto corrupt;
    *out = fam;
    return HL_OK;
corrupt:
    hl__families_free(fam);
    return hl__io_corrupt(io, "KPI families");
}
