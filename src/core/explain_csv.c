/* explain_csv.c - the predictions file with explanations: what
 * `healer predict --explain N` writes (see healer/explain.h).
 *
 * The first columns are hl_predictions_write_csv's, written by its own
 * row writer, so the two files cannot drift apart; the explanation
 * columns follow. Rows go a chunk at a time: a million rows never hold a
 * million rows' contributions (six classes x 108 doubles each).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "healer/explain.h"
#include "healer/normal.h"
#include "internal.h"

/* Rows per chunk. */
#define HL__EXPLAIN_CSV_CHUNK 512

typedef struct explained {
    const hl_model *m;
    const hl_dataset *ds;
    const double *proba;
    size_t n_top;
    int threads;
    size_t *src;               /* the dataset column of each model feature */
    float *x;                  /* a chunk of rows in model feature order */
    double *phi;               /* its contributions */
    size_t *order;             /* scratch: KPIs read, by contribution */
    hl_abnormal_kpi *abnormal; /* scratch: n_features */
} explained;

static void put_header(FILE *f, size_t n_top)
{
    for (size_t i = 1; i <= n_top; i++)
        fprintf(f, ",kpi_%zu", i);
    for (size_t i = 1; i <= n_top; i++)
        fprintf(f, ",contrib_%zu", i);
    fputs(",abnormal\n", f);
}

/* The KPIs the model reads, into order; their count. */
static size_t kpis_read(const hl_model_summary *s, size_t *order)
{
    size_t n = 0;
    for (size_t j = 0; j < s->n_features; j++)
        if (!s->kpi_kept || s->kpi_kept[j])
            order[n++] = j;
    return n;
}

/* The n_top largest of the contributions c over the KPIs in order[0..n)
 * moved to its front, largest first (ties: the lower KPI): a partial
 * selection, n_top is small. */
static void select_top(size_t *order, size_t n, const double *c, size_t n_top)
{
    for (size_t i = 0; i < n_top && i < n; i++) {
        size_t best = i;
        for (size_t j = i + 1; j < n; j++)
            if (c[order[j]] > c[order[best]] ||
                (c[order[j]] == c[order[best]] && order[j] < order[best]))
                best = j;
        size_t t = order[i];
        order[i] = order[best];
        order[best] = t;
    }
}

/* The explanation columns of one row. */
static void put_explanation(FILE *f, const explained *e, const float *row,
                            const double *phi, const double *p)
{
    const hl_model_summary *s = hl_model_summary_get(e->m);
    const size_t K = s->n_classes, nf = s->n_features;
    const double *c = phi + (size_t)hl_predict_argmax(p, K) * (nf + 1);
    size_t n = kpis_read(s, e->order);
    select_top(e->order, n, c, e->n_top);
    for (size_t i = 0; i < e->n_top; i++) {
        putc(',', f);
        if (i < n)
            hl__csv_put_text(f, s->feature_names[e->order[i]]);
    }
    for (size_t i = 0; i < e->n_top; i++)
        if (i < n)
            fprintf(f, ",%.6g", c[e->order[i]]);
        else
            putc(',', f);
    putc(',', f);
    size_t k = hl_model_abnormal_kpis(e->m, row, e->abnormal, nf);
    /* one cell: quoted as a whole when a KPI name needs it */
    char cell[8192];
    size_t at = 0;
    for (size_t i = 0; i < k && at < sizeof cell; i++)
        at += (size_t)snprintf(
            cell + at, sizeof cell - at, "%s%s:%+.1f", i ? ";" : "",
            s->feature_names[e->abnormal[i].kpi], e->abnormal[i].z);
    if (at >= sizeof cell)
        at = sizeof cell - 1;
    cell[at] = '\0';
    hl__csv_put_text(f, cell);
    putc('\n', f);
}

/* Rows [first, first + n) of ds: their base columns and explanations. */
static hl_status write_chunk(FILE *f, explained *e, size_t first, size_t n,
                             hl_error *err)
{
    const hl_model_summary *s = hl_model_summary_get(e->m);
    const size_t nf = s->n_features, K = s->n_classes;
    const hl_dataset *ds = e->ds;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < nf; j++)
            e->x[i * nf + j] = ds->x[(first + i) * ds->n_features + e->src[j]];
    hl_status rc =
        hl_model_contributions(e->m, e->x, n, e->threads, e->phi, err);
    for (size_t i = 0; rc == HL_OK && i < n && !ferror(f); i++) {
        hl__predictions_put_row(f, K, s->class_names,
                                ds->sample_ids ? ds->sample_ids + first : NULL,
                                first, i, e->proba + (first + i) * K);
        put_explanation(f, e, e->x + i * nf, e->phi + i * K * (nf + 1),
                        e->proba + (first + i) * K);
    }
    return rc;
}

static hl_status write_all(FILE *f, explained *e, hl_error *err)
{
    const hl_model_summary *s = hl_model_summary_get(e->m);
    hl_status rc = HL_OK;
    hl__locale_scope sc = hl__c_locale_enter();
    hl__predictions_put_header(f, s->n_classes, s->class_names);
    put_header(f, e->n_top);
    for (size_t first = 0; rc == HL_OK && first < e->ds->n_rows;
         first += HL__EXPLAIN_CSV_CHUNK) {
        size_t n = e->ds->n_rows - first < HL__EXPLAIN_CSV_CHUNK
                       ? e->ds->n_rows - first
                       : HL__EXPLAIN_CSV_CHUNK;
        rc = write_chunk(f, e, first, n, err);
    }
    hl__c_locale_leave(sc);
    if (rc == HL_OK && ferror(f))
        rc = hl__fail(err, HL_ERR_IO, "write predictions: stream error");
    return rc;
}

hl_status hl_predictions_write_explained_csv(const hl_model *m,
                                             const hl_dataset *ds,
                                             const double *proba, size_t n_top,
                                             int threads, const char *path,
                                             hl_error *err)
{
    if (!m || !ds || (!proba && ds->n_rows) || !path)
        return hl__fail(err, HL_ERR_INVALID,
                        "write predictions: NULL argument");
    if (n_top < 1 || n_top > HL_EXPLAIN_MAX_TOP)
        return hl__fail_field(err, HL_ERR_INVALID, "explain",
                              "explain: the number of KPIs per row must be "
                              "1 to %d, got %zu",
                              HL_EXPLAIN_MAX_TOP, n_top);
    if (hl_model_score_scale(m) == HL_SCORE_NONE)
        return hl__fail(err, HL_ERR_INVALID,
                        "the %s learner cannot explain its predictions",
                        m->summary.algo);
    const size_t nf = m->summary.n_features, K = m->summary.n_classes;
    explained e = {
        m,
        ds,
        proba,
        n_top,
        threads,
        malloc((nf + 1) * sizeof *e.src),
        malloc((HL__EXPLAIN_CSV_CHUNK * nf + 1) * sizeof *e.x),
        malloc((HL__EXPLAIN_CSV_CHUNK * K * (nf + 1) + 1) * sizeof *e.phi),
        malloc((nf + 1) * sizeof *e.order),
        malloc((nf + 1) * sizeof *e.abnormal)};
    hl_status rc = e.src && e.x && e.phi && e.order && e.abnormal
                       ? hl__model_map_features(m, ds, e.src, NULL, err)
                       : hl__fail(err, HL_ERR_NOMEM, "out of memory");
    hl__atomic_file af;
    if (rc == HL_OK && (rc = hl__atomic_open(&af, path, err)) == HL_OK) {
        rc = write_all(af.f, &e, err);
        if (rc == HL_OK)
            rc = hl__atomic_commit(&af, err);
        else
            hl__atomic_abort(&af);
    }
    free(e.src);
    free(e.x);
    free(e.phi);
    free(e.order);
    free(e.abnormal);
    return rc;
}
