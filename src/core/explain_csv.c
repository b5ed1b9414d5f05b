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
    const size_t *rows;        /* ds's rows to write; NULL: all, in order */
    const double *proba;       /* per row written */
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

size_t hl_explain_top(const hl_model *m, const double *c, size_t n_top,
                      size_t *order)
{
    size_t n = kpis_read(hl_model_summary_get(m), order);
    select_top(order, n, c, n_top);
    return n < n_top ? n : n_top;
}

/* The explanation columns of one row, predicted as class `predicted`. */
static void put_explanation(FILE *f, const explained *e, const float *row,
                            const double *phi, int32_t predicted)
{
    const hl_model_summary *s = hl_model_summary_get(e->m);
    const size_t nf = s->n_features;
    const double *c = phi + (size_t)predicted * (nf + 1);
    size_t n = hl_explain_top(e->m, c, e->n_top, e->order);
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

/* The written rows [first, first + n): their base columns and
 * explanations. */
static hl_status write_chunk(FILE *f, explained *e, size_t first, size_t n,
                             hl_error *err)
{
    const hl_model_summary *s = hl_model_summary_get(e->m);
    const size_t nf = s->n_features, K = s->n_classes;
    const hl_dataset *ds = e->ds;
    int32_t predicted[HL__EXPLAIN_CSV_CHUNK]; /* only its block is read */
    for (size_t i = 0; i < n; i++) {
        const size_t row = e->rows ? e->rows[first + i] : first + i;
        for (size_t j = 0; j < nf; j++)
            e->x[i * nf + j] = ds->x[row * ds->n_features + e->src[j]];
        predicted[i] = hl_predict_argmax(e->proba + (first + i) * K, K);
    }
    hl_status rc = hl_model_contributions_class(e->m, e->x, n, predicted,
                                                e->threads, e->phi, err);
    for (size_t i = 0; rc == HL_OK && i < n && !ferror(f); i++) {
        const size_t row = e->rows ? e->rows[first + i] : first + i;
        hl__predictions_put_row(f, K, s->class_names,
                                ds->sample_ids ? ds->sample_ids + row : NULL,
                                row, 0, e->proba + (first + i) * K);
        put_explanation(f, e, e->x + i * nf, e->phi + i * K * (nf + 1),
                        predicted[i]);
    }
    return rc;
}

static hl_status write_all(FILE *f, explained *e, size_t n_rows, int header,
                           hl_error *err)
{
    const hl_model_summary *s = hl_model_summary_get(e->m);
    hl_status rc = HL_OK;
    hl__locale_scope sc = hl__c_locale_enter();
    if (header) {
        hl__predictions_put_header(f, s->n_classes, s->class_names);
        put_header(f, e->n_top);
    }
    for (size_t first = 0; rc == HL_OK && first < n_rows;
         first += HL__EXPLAIN_CSV_CHUNK) {
        size_t n = n_rows - first < HL__EXPLAIN_CSV_CHUNK
                       ? n_rows - first
                       : HL__EXPLAIN_CSV_CHUNK;
        rc = write_chunk(f, e, first, n, err);
    }
    hl__c_locale_leave(sc);
    if (rc == HL_OK && ferror(f))
        rc = hl__fail(err, HL_ERR_IO, "write predictions: stream error");
    return rc;
}

static hl_status check_explainable(const hl_model *m, size_t n_top,
                                   hl_error *err)
{
    if (n_top < 1 || n_top > HL_EXPLAIN_MAX_TOP)
        return hl__fail_field(err, HL_ERR_INVALID, "explain",
                              "explain: the number of KPIs per row must be "
                              "1 to %d, got %zu",
                              HL_EXPLAIN_MAX_TOP, n_top);
    if (hl_model_score_scale(m) == HL_SCORE_NONE)
        return hl__fail(err, HL_ERR_INVALID,
                        "the %s learner cannot explain its predictions",
                        m->summary.algo);
    return HL_OK;
}

/* The writer's state for ds (its arrays to release with explained_free). */
static hl_status explained_init(explained *e, const hl_model *m,
                                const hl_dataset *ds, const size_t *rows,
                                const double *proba, size_t n_top, int threads,
                                hl_error *err)
{
    const size_t nf = m->summary.n_features, K = m->summary.n_classes;
    *e = (explained){
        m,
        ds,
        rows,
        proba,
        n_top,
        threads,
        malloc((nf + 1) * sizeof *e->src),
        malloc((HL__EXPLAIN_CSV_CHUNK * nf + 1) * sizeof *e->x),
        malloc((HL__EXPLAIN_CSV_CHUNK * K * (nf + 1) + 1) * sizeof *e->phi),
        malloc((nf + 1) * sizeof *e->order),
        malloc((nf + 1) * sizeof *e->abnormal)};
    return e->src && e->x && e->phi && e->order && e->abnormal
               ? hl__model_map_features(m, ds, e->src, NULL, err)
               : hl__fail(err, HL_ERR_NOMEM, "out of memory");
}

static void explained_free(explained *e)
{
    free(e->src);
    free(e->x);
    free(e->phi);
    free(e->order);
    free(e->abnormal);
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
    hl_status rc = check_explainable(m, n_top, err);
    explained e = {0};
    if (rc == HL_OK)
        rc = explained_init(&e, m, ds, NULL, proba, n_top, threads, err);
    hl__atomic_file af;
    if (rc == HL_OK && (rc = hl__atomic_open(&af, path, err)) == HL_OK) {
        rc = write_all(af.f, &e, ds->n_rows, 1, err);
        if (rc == HL_OK)
            rc = hl__atomic_commit(&af, err);
        else
            hl__atomic_abort(&af);
    }
    explained_free(&e);
    return rc;
}

hl_status hl_predictions_write_explained_rows(FILE *f, const hl_model *m,
                                              const hl_dataset *ds,
                                              const size_t *rows, size_t n_rows,
                                              const double *proba, size_t n_top,
                                              int header, int threads,
                                              hl_error *err)
{
    if (!f || !m || !ds || (!proba && n_rows))
        return hl__fail(err, HL_ERR_INVALID,
                        "write predictions: NULL argument");
    for (size_t i = 0; rows && i < n_rows; i++)
        if (rows[i] >= ds->n_rows)
            return hl__fail(err, HL_ERR_INVALID,
                            "write predictions: row %zu is past the %zu rows "
                            "of the data",
                            rows[i] + 1, ds->n_rows);
    if (!rows && n_rows > ds->n_rows)
        return hl__fail(err, HL_ERR_INVALID,
                        "write predictions: more rows than the data has");
    hl_status rc = check_explainable(m, n_top, err);
    explained e = {0};
    if (rc == HL_OK)
        rc = explained_init(&e, m, ds, rows, proba, n_top, threads, err);
    if (rc == HL_OK)
        rc = write_all(f, &e, n_rows, header, err);
    explained_free(&e);
    return rc;
}
