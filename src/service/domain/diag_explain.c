/* domain/diag_explain.c - a diagnosis's explanations (see diag_explain.h).
 *
 * Rows go a chunk at a time: their KPIs gathered in the model's order,
 * the contributions of each row's predicted class only
 * (hl_model_contributions_class: the GBDT walks that class's trees
 * alone), the top KPIs by the engine's one rule (hl_explain_top), and
 * the abnormal KPIs (hl_model_abnormal_kpis). Memory: one chunk's
 * contributions, whatever the batch's size.
 *
 * A GBDT's rows cost about 0.2 ms each and are all explained. A forest's,
 * extra-trees' or stack's cost a whole TreeSHAP, tens of milliseconds:
 * the first rows that fit in the explanation budget are, the number
 * decided before the first one from the engine's estimate of a row's
 * cost (hl_model_explain_row_cost), so that the same model and batch
 * always get the same rows explained, however loaded the machine; their
 * chunks are small enough for a cancel to be heard within about a
 * second. Abnormal KPIs cost next to nothing and every row gets them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "domain/diag_explain.h"
#include "domain/engine_json.h"

/* Rows per chunk; the progress callback is asked between chunks. */
#define EXPLAIN_CHUNK 512
/* The estimated processor seconds of a chunk of costly rows: how long a
 * cancel may wait. */
#define EXPLAIN_COSTLY_CHUNK_SECONDS 0.5

void hs_diag_explained_free(hs_diag_explained *e)
{
    if (!e)
        return;
    for (size_t j = 0; e->kpi_names && j < e->n_kpis; j++)
        free(e->kpi_names[j]);
    free(e->kpi_names);
    free(e->rows);
    free(e->abnormal_bits);
    json_decref(e->status);
    memset(e, 0, sizeof *e);
}

/* explain_skipped: why rows carry no top KPIs, and how many do. */
static json_t *skipped(const char *reason, const char *message,
                       size_t rows_explained, size_t rows_skipped)
{
    return json_pack("{s:s, s:s, s:I, s:I}", "reason", reason, "message",
                     message, "rows_explained", (json_int_t)rows_explained,
                     "rows_skipped", (json_int_t)rows_skipped);
}

/* The batch against the model's training rows; null without a
 * fingerprint (or when the check fails: it costs only the check). */
static json_t *overlap_json(const hl_model *m, const hl_dataset *ds)
{
    hl_training_overlap o;
    hl_error herr;
    hl_error_clear(&herr);
    if (!hl_model_has_fingerprint(m) ||
        hl_model_training_overlap_dataset(m, ds, &o, &herr) != HL_OK)
        return json_null();
    return hs_json_training_overlap(&o);
}

/* What a run holds for one chunk: the model's order of ds's columns and
 * scratch sized for a chunk. */
typedef struct chunk_ctx {
    const hl_model *m;
    const hl_dataset *ds;
    const int32_t *predicted;
    size_t nf, K;
    size_t explain_rows;   /* the first rows that get contributions */
    long *src;             /* ds's column of each model KPI */
    float *x;              /* EXPLAIN_CHUNK rows, model order */
    double *phi;           /* their contributions */
    size_t *order;         /* nf */
    hl_abnormal_kpi *away; /* nf */
} chunk_ctx;

static void empty_row(hs_row_explanation *e)
{
    for (size_t t = 0; t < HS_RESULTS_TOP; t++) {
        e->top_kpi[t] = e->abnormal_kpi[t] = HS_RESULTS_NO_KPI;
        e->contribution[t] = e->z[t] = 0.0;
    }
}

/* Row i's (of the chunk starting at first) top contributions. */
static void top_of(const chunk_ctx *c, size_t first, size_t i,
                   hs_row_explanation *e)
{
    const double *block =
        c->phi + (i * c->K + (size_t)c->predicted[first + i]) * (c->nf + 1);
    size_t n = hl_explain_top(c->m, block, HS_RESULTS_TOP, c->order);
    for (size_t t = 0, at = 0; t < n; t++)
        if (block[c->order[t]] > 0) { /* towards the class, not against */
            e->top_kpi[at] = (uint32_t)c->order[t];
            e->contribution[at++] = block[c->order[t]];
        }
}

/* Row i's abnormal KPIs: the farthest in the list, all in the bits. */
static void abnormal_of(const chunk_ctx *c, size_t i, hs_row_explanation *e,
                        uint8_t *bits)
{
    size_t n = hl_model_abnormal_kpis(c->m, c->x + i * c->nf, c->away, c->nf);
    if (n > c->nf)
        n = c->nf;
    for (size_t t = 0; t < n; t++) {
        if (t < HS_RESULTS_TOP) {
            e->abnormal_kpi[t] = (uint32_t)c->away[t].kpi;
            e->z[t] = c->away[t].z;
        }
        bits[c->away[t].kpi / 8] |= (uint8_t)(1u << (c->away[t].kpi % 8));
    }
}

/* Rows [first, first + n) of the batch: contributions for those among the
 * first c->explain_rows, abnormal KPIs for all. */
static hs_status explain_chunk(chunk_ctx *c, size_t first, size_t n,
                               hs_diag_explained *out, hs_error *err)
{
    const size_t nb = hs_results_bits_bytes(c->nf);
    size_t n_contrib = 0;
    if (first < c->explain_rows)
        n_contrib = c->explain_rows - first < n ? c->explain_rows - first : n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c->nf; j++)
            c->x[i * c->nf + j] =
                c->ds->x[(first + i) * c->ds->n_features + (size_t)c->src[j]];
    if (n_contrib > 0) {
        hl_error herr;
        hl_error_clear(&herr);
        hl_status hst = hl_model_contributions_class(
            c->m, c->x, n_contrib, c->predicted + first, 1, c->phi, &herr);
        if (hst != HL_OK)
            return hs_fail(err,
                           hst == HL_ERR_NOMEM ? HS_ERR_NOMEM : HS_ERR_INTERNAL,
                           "explaining the rows: %s", herr.message);
    }
    for (size_t i = 0; i < n; i++) {
        hs_row_explanation *e = &out->rows[first + i];
        empty_row(e);
        if (i < n_contrib)
            top_of(c, first, i, e);
        if (out->flags & HS_RESULTS_ABNORMAL)
            abnormal_of(c, i, e, out->abnormal_bits + (first + i) * nb);
    }
    return HS_OK;
}

static hs_status alloc_run(chunk_ctx *c, hs_diag_explained *out,
                           hs_error *err)
{
    const size_t n = c->ds->n_rows, nf = c->nf;
    const size_t nb = hs_results_bits_bytes(nf);
    c->src = malloc((nf + 1) * sizeof *c->src);
    c->x = malloc((EXPLAIN_CHUNK * nf + 1) * sizeof *c->x);
    c->phi = out->flags & HS_RESULTS_CONTRIB
                 ? malloc((EXPLAIN_CHUNK * c->K * (nf + 1) + 1) *
                          sizeof *c->phi)
                 : NULL;
    c->order = malloc((nf + 1) * sizeof *c->order);
    c->away = malloc((nf + 1) * sizeof *c->away);
    out->kpi_names = calloc(nf + 1, sizeof *out->kpi_names);
    out->rows = malloc((n + 1) * sizeof *out->rows);
    out->abnormal_bits = calloc(n * nb + 1, 1);
    out->n_kpis = nf;
    if (!c->src || !c->x || (out->flags & HS_RESULTS_CONTRIB && !c->phi) ||
        !c->order || !c->away || !out->kpi_names || !out->rows ||
        !out->abnormal_bits)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory for explanations");
    for (size_t j = 0; j < nf; j++) {
        const char *name = hl_model_feature_name(c->m, j);
        c->src[j] = hl_dataset_feature_index(c->ds, name);
        if (c->src[j] < 0)
            return hs_fail(err, HS_ERR_INVALID,
                           "the KPI '%s' that the model needs is missing",
                           name);
        if (!(out->kpi_names[j] = strdup(name)))
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    return HS_OK;
}

/* A KPI and its abnormal rows, for sorting. */
typedef struct kpi_rows {
    uint64_t rows;
    size_t kpi;
} kpi_rows;

static int most_rows_first(const void *a, const void *b)
{
    const kpi_rows *x = a, *y = b;
    if (x->rows != y->rows)
        return x->rows > y->rows ? -1 : 1;
    return (x->kpi > y->kpi) - (x->kpi < y->kpi);
}

/* Every KPI outside its normal range in at least one row, with how many
 * rows, most rows first (ties: the model's order): what a client offers
 * as abnormal= filters. [] when the rows were not checked; NULL when out
 * of memory. */
static json_t *abnormal_kpis_json(const hs_diag_explained *out, size_t n_rows)
{
    const size_t nf = out->n_kpis, nb = hs_results_bits_bytes(nf);
    json_t *list = json_array();
    kpi_rows *k = calloc(nf + 1, sizeof *k);
    if (!list || !k) {
        json_decref(list);
        free(k);
        return NULL;
    }
    for (size_t j = 0; j < nf; j++)
        k[j].kpi = j;
    for (size_t i = 0; out->flags & HS_RESULTS_ABNORMAL && i < n_rows; i++)
        for (size_t j = 0; j < nf; j++)
            k[j].rows += (out->abnormal_bits[i * nb + j / 8] >> (j % 8)) & 1;
    qsort(k, nf, sizeof *k, most_rows_first);
    for (size_t t = 0; t < nf && k[t].rows; t++)
        json_array_append_new(list, json_pack("{s:s, s:I}", "kpi",
                                              out->kpi_names[k[t].kpi], "rows",
                                              (json_int_t)k[t].rows));
    free(k);
    return list;
}

/* How many of a batch's rows get contributions, and how many rows a
 * chunk of them holds. */
typedef struct explain_plan {
    size_t rows;        /* the first rows explained */
    size_t chunk;       /* rows per chunk while explaining */
    double row_seconds; /* the estimated cost of one (0: cheap) */
} explain_plan;

static hs_status plan_of(const hl_model *m, size_t n_rows, unsigned budget_ms,
                         explain_plan *p, hs_error *err)
{
    *p = (explain_plan){0, EXPLAIN_CHUNK, 0.0};
    if (hl_model_score_scale(m) == HL_SCORE_NONE)
        return HS_OK;
    p->rows = n_rows;
    if (hl_model_explains_rows_cheaply(m))
        return HS_OK;
    hl_error herr;
    hl_error_clear(&herr);
    if (hl_model_explain_row_cost(m, &p->row_seconds, &herr) != HL_OK)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (p->row_seconds <= 0.0)
        return HS_OK;
    const double affordable = floor(budget_ms / 1000.0 / p->row_seconds);
    if (affordable < (double)n_rows)
        p->rows = (size_t)affordable;
    const double per_chunk =
        floor(EXPLAIN_COSTLY_CHUNK_SECONDS / p->row_seconds);
    p->chunk = per_chunk < 1.0             ? 1
               : per_chunk < EXPLAIN_CHUNK ? (size_t)per_chunk
                                           : EXPLAIN_CHUNK;
    return HS_OK;
}

/* The summary's part: whether every row was explained, how many were,
 * and why the others were not. */
static json_t *status_json(const hl_model *m, const explain_plan *p,
                           size_t n_rows, unsigned budget_ms,
                           const hs_diag_explained *out)
{
    json_t *why = json_null();
    const char *algo = hl_model_summary_get(m)->algo;
    char msg[384];
    if (!(out->flags & HS_RESULTS_CONTRIB)) {
        snprintf(msg, sizeof msg,
                 "the %s learner cannot explain its predictions: rows carry "
                 "no top KPIs",
                 algo);
        why = skipped("cannot_explain", msg, 0, n_rows);
    } else if (p->rows < n_rows) {
        snprintf(msg, sizeof msg,
                 "explaining a row of this %s model costs about %.1f ms: "
                 "the first %zu of %zu rows fit in the explanation budget "
                 "of %u ms (explain-budget-ms) and carry their top KPIs; "
                 "open a sample to see what drove another",
                 algo, p->row_seconds * 1000.0, p->rows, n_rows, budget_ms);
        why = skipped("too_costly", msg, p->rows, n_rows - p->rows);
        if (why &&
            (json_object_set_new(why, "row_cost_ms",
                                 json_real(p->row_seconds * 1000.0)) ||
             json_object_set_new(why, "budget_ms", json_integer(budget_ms)))) {
            json_decref(why);
            return NULL;
        }
    }
    return json_pack("{s:b, s:I, s:o, s:b}", "explained", p->rows == n_rows,
                     "explained_rows", (json_int_t)p->rows, "explain_skipped",
                     why, "abnormal_checked",
                     (out->flags & HS_RESULTS_ABNORMAL) != 0);
}

/* The share of a run's work done before row `first`: the explained rows
 * are nearly all of it when they are costly. */
static double share_done(const explain_plan *p, size_t first, size_t n_rows)
{
    if (p->row_seconds <= 0.0 || p->rows == 0)
        return (double)first / (double)n_rows;
    return first >= p->rows ? 1.0 : (double)first / (double)p->rows;
}

hs_status hs_diag_explain(const hl_model *m, const hl_dataset *ds,
                          const int32_t *predicted, unsigned budget_ms,
                          const hs_diag_progress *progress,
                          hs_diag_explained *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    explain_plan plan;
    chunk_ctx c = {.m = m,
                   .ds = ds,
                   .predicted = predicted,
                   .nf = hl_model_n_features(m),
                   .K = hl_model_n_classes(m)};
    hs_status st = plan_of(m, ds->n_rows, budget_ms, &plan, err);
    if (st != HS_OK)
        return st;
    c.explain_rows = plan.rows;
    out->flags =
        (hl_model_score_scale(m) != HL_SCORE_NONE ? HS_RESULTS_CONTRIB : 0) |
        (hl_model_has_normal_ranges(m) ? HS_RESULTS_ABNORMAL : 0);
    st = alloc_run(&c, out, err);
    for (size_t first = 0, n; st == HS_OK && first < ds->n_rows; first += n) {
        if (progress && progress->stop &&
            progress->stop(progress->ctx,
                           share_done(&plan, first, ds->n_rows))) {
            st = hs_fail(err, HS_ERR_CONFLICT, "cancelled by the user");
            break;
        }
        /* costly rows in small chunks, up to the last explained one */
        n = first < plan.rows ? plan.rows - first : ds->n_rows - first;
        if (first < plan.rows && n > plan.chunk)
            n = plan.chunk;
        if (n > EXPLAIN_CHUNK)
            n = EXPLAIN_CHUNK;
        st = explain_chunk(&c, first, n, out, err);
    }
    if (st == HS_OK) {
        out->status = status_json(m, &plan, ds->n_rows, budget_ms, out);
        json_t *away = out->status ? abnormal_kpis_json(out, ds->n_rows) : NULL;
        if (!out->status || !away ||
            json_object_set_new(out->status, "abnormal_kpis", away) != 0 ||
            json_object_set_new(out->status, "training_overlap",
                                overlap_json(m, ds)) != 0)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    free(c.src);
    free(c.x);
    free(c.phi);
    free(c.order);
    free(c.away);
    if (st != HS_OK)
        hs_diag_explained_free(out);
    return st;
}

/* ---- rendering ---- */

static json_t *kpi_list(const hs_results_data *d, const uint32_t *kpi,
                        const double *v, const char *what)
{
    json_t *a = json_array();
    for (size_t t = 0; a && t < HS_RESULTS_TOP; t++)
        if (kpi[t] != HS_RESULTS_NO_KPI && kpi[t] < d->n_kpis)
            json_array_append_new(a, json_pack("{s:s, s:f}", "kpi",
                                               d->kpi_names[kpi[t]], what,
                                               v[t]));
    return a;
}

void hs_diag_explain_item(json_t *item, const hs_results_data *d, size_t i)
{
    const hs_row_explanation *e = d->explain ? &d->explain[i] : NULL;
    json_object_set_new(item, "top",
                        e && d->explain_flags & HS_RESULTS_CONTRIB
                            ? kpi_list(d, e->top_kpi, e->contribution,
                                       "contribution")
                            : json_array());
    json_object_set_new(item, "abnormal",
                        e && d->explain_flags & HS_RESULTS_ABNORMAL
                            ? kpi_list(d, e->abnormal_kpi, e->z, "z")
                            : json_array());
}

void hs_diag_explain_defaults(json_t *diagnosis)
{
    const json_int_t rows =
        json_integer_value(json_object_get(diagnosis, "rows"));
    if (!json_object_get(diagnosis, "explained")) {
        json_object_set_new(diagnosis, "explained", json_false());
        json_object_set_new(
            diagnosis, "explain_skipped",
            skipped("not_stored",
                    "this diagnosis was stored before diagnoses kept "
                    "explanations; diagnose the data again",
                    0, rows > 0 ? (size_t)rows : 0));
        json_object_set_new(diagnosis, "abnormal_checked", json_false());
        json_object_set_new(diagnosis, "abnormal_kpis", json_array());
    }
    /* stored before budgets: every row or none was explained */
    json_t *skip = json_object_get(diagnosis, "explain_skipped");
    const int all = json_is_true(json_object_get(diagnosis, "explained"));
    if (!json_object_get(diagnosis, "explained_rows"))
        json_object_set_new(diagnosis, "explained_rows",
                            json_integer(all ? rows : 0));
    if (json_is_object(skip) && !json_object_get(skip, "rows_explained")) {
        json_object_set_new(skip, "rows_explained", json_integer(0));
        json_object_set_new(skip, "rows_skipped", json_integer(rows));
    }
    if (!json_object_get(diagnosis, "training_overlap"))
        json_object_set_new(diagnosis, "training_overlap", json_null());
}
