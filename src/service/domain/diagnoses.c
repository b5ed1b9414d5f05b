/* domain/diagnoses.c - the diagnoses service (see diagnoses.h). */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/sealed.h"
#include "domain/engine_json.h"
#include "domain/models.h"
#include "domain/trash.h"
#include "store/store.h"

void hs_diag_result_free(hs_diag_result *r)
{
    if (!r)
        return;
    json_decref(r->summary);
    for (size_t k = 0; r->class_names && k < r->rows.n_classes; k++)
        free(r->class_names[k]);
    for (size_t i = 0; r->sample_ids && i < r->rows.n_rows; i++)
        free(r->sample_ids[i]);
    free(r->class_names);
    free(r->sample_ids);
    free(r->proba);
    free(r->predicted);
    free(r->labels);
    free(r->xy);
    hs_diag_explained_free(&r->explained);
    memset(r, 0, sizeof *r);
}

/* ---- JSON rows -> dataset ----------------------------------------------------- */

static char *text_of(const json_t *v)
{
    char buf[64];
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
        return strdup(buf);
    }
    return NULL;
}

static hs_status bad_row(json_t **details, hs_error *err, size_t row,
                         const char *column, const char *fmt, const char *what)
{
    *details = column ? json_pack("{s:I, s:s}", "row", (json_int_t)row,
                                  "column", column)
                      : json_pack("{s:I}", "row", (json_int_t)row);
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what);
    return hs_fail(err, HS_ERR_INVALID, "row %zu%s%s%s: %s", row,
                   column ? ", column '" : "", column ? column : "",
                   column ? "'" : "", msg);
}

int32_t hs_diag_class_index(hl_dataset *ds, const char *label)
{
    for (size_t k = 0; k < ds->n_classes; k++)
        if (!strcmp(ds->class_names[k], label))
            return (int32_t)k;
    char **grown = realloc(ds->class_names, (ds->n_classes + 1) * sizeof *grown);
    if (!grown)
        return -1;
    ds->class_names = grown;
    if (!(grown[ds->n_classes] = strdup(label)))
        return -1;
    return (int32_t)ds->n_classes++;
}

/* Allocates ds's arrays for n rows over the model's features. */
static hs_status alloc_rows(hl_dataset *ds, const hl_model *m, size_t n,
                            hs_error *err)
{
    ds->n_rows = ds->rows_read = n;
    ds->n_features = hl_model_n_features(m);
    ds->source = strdup("<request>");
    ds->feature_names = calloc(ds->n_features + 1, sizeof *ds->feature_names);
    ds->x = malloc((n * ds->n_features + 1) * sizeof *ds->x);
    ds->sample_ids = calloc(n + 1, sizeof *ds->sample_ids);
    ds->y = malloc((n + 1) * sizeof *ds->y);
    if (!ds->source || !ds->feature_names || !ds->x || !ds->sample_ids || !ds->y)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < ds->n_features; j++)
        if (!(ds->feature_names[j] = strdup(hl_model_feature_name(m, j))))
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    return HS_OK;
}

/* Fills row i from a JSON object; counts the features it has in seen[]. */
static hs_status fill_row(hl_dataset *ds, const hl_model *m, size_t i,
                          const json_t *row, size_t *seen,
                          json_t **details, hl_warnings *warn, hs_error *err)
{
    const char *key;
    const json_t *v;
    int warned_extra = warn->count > 0;
    float *x = ds->x + i * ds->n_features;
    for (size_t j = 0; j < ds->n_features; j++)
        x[j] = NAN;
    ds->y[i] = -1;
    if (!json_is_object(row))
        return bad_row(details, err, i + 1, NULL, "%s",
                       "expected an object of KPI names to numbers");
    json_object_foreach((json_t *)row, key, v) {
        if (!strcmp(key, "sample_id")) {
            if (!json_is_null(v) && !(ds->sample_ids[i] = text_of(v)))
                return bad_row(details, err, i + 1, key, "%s",
                               "sample_id must be a string or a number");
            continue;
        }
        if (!strcmp(key, "label")) {
            char *label = json_is_null(v) ? NULL : text_of(v);
            if (!json_is_null(v) && !label)
                return bad_row(details, err, i + 1, key, "%s",
                               "label must be a string or a number");
            if (label) {
                ds->has_labels = 1;
                ds->y[i] = hs_diag_class_index(ds, label);
                free(label);
                if (ds->y[i] < 0)
                    return hs_fail(err, HS_ERR_NOMEM, "out of memory");
            }
            continue;
        }
        long j = hl_dataset_feature_index(ds, key);
        if (j < 0) {
            if (!warned_extra) /* one warning per request is enough */
                hl_warnings_add(warn,
                                "'%s' is not a KPI of the model; ignored",
                                key);
            warned_extra = 1;
            continue;
        }
        seen[j]++;
        if (json_is_null(v))
            continue;
        if (!json_is_number(v))
            return bad_row(details, err, i + 1, key, "%s",
                           "expected a number or null");
        double d = json_number_value(v);
        if (!isfinite(d) || fabs(d) > 3.4e38)
            return bad_row(details, err, i + 1, key, "%s",
                           "the number is out of range");
        x[j] = (float)d;
    }
    (void)m;
    return HS_OK;
}

/* One warning naming every KPI of the model that some rows left out (they
 * were read as missing values), however many: the engine's
 * hl_warnings_add cuts at 1 KiB, so the text is assembled here. */
static hs_status warn_omitted(const hl_dataset *ds, const size_t *seen,
                              hl_warnings *warn, hs_error *err)
{
    size_t omitted = 0, everywhere = 0, cap = 256;
    for (size_t j = 0; j < ds->n_features; j++)
        if (seen[j] < ds->n_rows) {
            omitted++;
            everywhere += seen[j] == 0;
            cap += strlen(ds->feature_names[j]) + 2;
        }
    if (!omitted)
        return HS_OK;
    char *text = malloc(cap);
    char **items = realloc(warn->items, (warn->count + 1) * sizeof *items);
    if (items)
        warn->items = items;
    if (!text || !items) {
        free(text);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    size_t used = (size_t)snprintf(
        text, cap,
        "%zu of the model's %zu KPIs %s not given in %s and %s taken as "
        "missing values:",
        omitted, ds->n_features, omitted == 1 ? "was" : "were",
        everywhere == omitted ? (ds->n_rows == 1 ? "the row" : "any row")
                              : "every row",
        omitted == 1 ? "was" : "were");
    for (size_t j = 0, k = 0; j < ds->n_features; j++)
        if (seen[j] < ds->n_rows)
            used += (size_t)snprintf(text + used, cap - used, "%s %s",
                                     k++ ? "," : "", ds->feature_names[j]);
    items[warn->count++] = text;
    return HS_OK;
}

hs_status hs_diag_rows_to_dataset(const hl_model *m, const json_t *rows,
                                  hl_dataset **out, json_t **details,
                                  hl_warnings *warn, hs_error *err)
{
    *out = NULL;
    *details = NULL;
    if (!json_is_array(rows) || json_array_size(rows) == 0) {
        *details = json_pack("{s:s}", "field", "rows");
        return hs_fail(err, HS_ERR_INVALID,
                       "'rows' must be a non-empty array of objects");
    }
    size_t n = json_array_size(rows);
    hl_dataset *ds = calloc(1, sizeof *ds);
    size_t *seen = calloc(hl_model_n_features(m) + 1, sizeof *seen);
    hs_status st = ds && seen ? alloc_rows(ds, m, n, err)
                              : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && i < n; i++)
        st = fill_row(ds, m, i, json_array_get(rows, i), seen, details, warn,
                      err);
    size_t given = 0;
    for (size_t j = 0; st == HS_OK && j < ds->n_features; j++)
        given += seen[j] > 0;
    if (st == HS_OK && given == 0) {
        *details = json_pack("{s:s}", "field", "rows");
        st = hs_fail_field(err, HS_ERR_INVALID, "rows",
                           "the rows have none of the model's %zu KPIs (is "
                           "it the right model?)",
                           ds->n_features);
    }
    if (st == HS_OK)
        st = warn_omitted(ds, seen, warn, err);
    free(seen);
    if (st == HS_OK) {
        int any_id = 0;
        for (size_t i = 0; i < n; i++)
            any_id |= ds->sample_ids[i] != NULL;
        for (size_t i = 0; any_id && i < n && st == HS_OK; i++)
            if (!ds->sample_ids[i]) {
                char num[32];
                snprintf(num, sizeof num, "%zu", i + 1);
                if (!(ds->sample_ids[i] = strdup(num)))
                    st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            }
        if (!any_id) {
            free(ds->sample_ids);
            ds->sample_ids = NULL;
        }
        if (!ds->has_labels) {
            free(ds->y);
            ds->y = NULL;
        }
    }
    if (st != HS_OK) {
        if (ds && !ds->has_labels) {
            free(ds->y);
            ds->y = NULL;
        }
        hl_dataset_free(ds);
        return st;
    }
    *out = ds;
    return HS_OK;
}

hs_status hs_diag_check_columns(const hl_model *m, const hl_dataset *ds,
                                json_t **details, hs_error *err)
{
    *details = NULL;
    for (size_t j = 0; j < hl_model_n_features(m); j++) {
        const char *name = hl_model_feature_name(m, j);
        if (hl_dataset_feature_index(ds, name) < 0) {
            *details = json_pack("{s:s}", "column", name);
            return hs_fail(err, HS_ERR_INVALID,
                           "%s: the KPI '%s' that the model needs is missing",
                           ds->source ? ds->source : "the data", name);
        }
    }
    return HS_OK;
}

/* ---- running ---------------------------------------------------------------------- */

/* The first two principal components of the samples' standardised KPIs,
 * for the scatter plot; none when there is nothing to project. */
static void project(const hl_dataset *ds, hs_diag_result *r)
{
    r->xy = malloc((ds->n_rows * 2 + 1) * sizeof *r->xy);
    if (r->xy && hl_pca_project(ds->x, ds->n_rows, ds->n_features, 2, r->xy,
                                r->rows.explained, NULL) != HL_OK) {
        free(r->xy);
        r->xy = NULL;
    }
}

static char **copy_strings(char *const *src, size_t n)
{
    char **dst = calloc(n + 1, sizeof *dst);
    for (size_t i = 0; dst && i < n; i++)
        if (!(dst[i] = strdup(src[i]))) {
            for (size_t j = 0; j < i; j++)
                free(dst[j]);
            free(dst);
            return NULL;
        }
    return dst;
}

static json_t *counts_json(const hs_diag_result *r)
{
    const size_t K = r->rows.n_classes;
    uint64_t *count = calloc(K, sizeof *count);
    json_t *o = json_object();
    for (size_t i = 0; count && i < r->rows.n_rows; i++)
        count[r->predicted[i]]++;
    for (size_t k = 0; count && k < K; k++)
        json_object_set_new(o, r->class_names[k],
                            json_integer((json_int_t)count[k]));
    free(count);
    return o;
}

/* Predictions, labels mapped to the model's classes, and the arrays of
 * the result; the summary is made by summarise(). */
/* The probabilities and predictions of ds, corrected for the batch's
 * class mix when adapt is set (*adapt_out: its report, a new reference). */
static hs_status predict(const hl_model *m, const hl_dataset *ds, int adapt,
                         hl_warnings *warn, hs_diag_result *r,
                         json_t **adapt_out, hs_error *err)
{
    const size_t n = ds->n_rows, K = hl_model_n_classes(m);
    hl_error herr;
    hl_error_clear(&herr);
    r->class_names = copy_strings(hl_model_summary_get(m)->class_names, K);
    r->proba = malloc((n * K + 1) * sizeof *r->proba);
    r->predicted = malloc((n + 1) * sizeof *r->predicted);
    r->labels = ds->has_labels ? malloc((n + 1) * sizeof *r->labels) : NULL;
    r->sample_ids = ds->sample_ids ? copy_strings(ds->sample_ids, n) : NULL;
    r->rows.n_classes = K; /* the frees need it from here on */
    r->rows.n_rows = n;
    if (!r->class_names || !r->proba || !r->predicted ||
        (ds->has_labels && !r->labels) || (ds->sample_ids && !r->sample_ids))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hl_status hst = hl_model_predict_dataset(m, ds, 1, r->proba, warn, &herr);
    if (hst != HL_OK)
        return hs_fail(err, hst == HL_ERR_NOMEM ? HS_ERR_NOMEM : HS_ERR_INVALID,
                       "%s", herr.message);
    /* Corrected before the argmax: every reader after this sees the
     * batch's predictions, as `healer predict --adapt` writes them. */
    if (adapt) {
        hl_adapt_report report;
        if ((hst = hl_adapt_batch(m, r->proba, n, &report, &herr)) != HL_OK)
            return hs_fail(err,
                           hst == HL_ERR_NOMEM ? HS_ERR_NOMEM : HS_ERR_INTERNAL,
                           "adapting to the batch: %s", herr.message);
        if (!(*adapt_out = hs_json_adapt(m, &report)))
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        r->predicted[i] = hl_predict_argmax(r->proba + i * K, K);
    return HS_OK;
}

/* The KPIs a diagnosis keeps of its drift report: every significant one,
 * and the worst others up to DRIFT_KPIS_AT_LEAST, so that the page shows
 * what moved and what came closest without storing a line per KPI of a
 * wide model in every diagnosis; at most DRIFT_KPIS_AT_MOST (beyond that
 * many drifted KPIs the advice is to retrain, not to read on). */
#define DRIFT_KPIS_AT_LEAST 10
#define DRIFT_KPIS_AT_MOST 100

static size_t drift_kpis_kept(const hl_drift_report *d)
{
    size_t keep = d->n_significant > DRIFT_KPIS_AT_LEAST ? d->n_significant
                                                         : DRIFT_KPIS_AT_LEAST;
    if (keep > DRIFT_KPIS_AT_MOST)
        keep = DRIFT_KPIS_AT_MOST;
    return keep < d->n_kpis ? keep : d->n_kpis;
}

/* Why a batch was not checked, for clients to explain without reading
 * messages: {"reason": "too_few_rows" | "no_reference" | "failed",
 * "min_rows", "message"}. */
static json_t *drift_skipped(const char *reason, const char *message)
{
    return json_pack("{s:s, s:i, s:s}", "reason", reason, "min_rows",
                     HL_DRIFT_MIN_ROWS, "message", message);
}

/* The drift of a batch of HL_DRIFT_MIN_ROWS rows or more, as the summary
 * shows it, in *drift; null and the reason in *skipped otherwise. A check
 * that fails costs only the check. */
static void drift_json(const hl_model *m, const hl_dataset *ds, json_t **drift,
                       json_t **skipped)
{
    *drift = json_null();
    *skipped = json_null();
    if (ds->n_rows < HL_DRIFT_MIN_ROWS) {
        char msg[96];
        snprintf(msg, sizeof msg, "drift is checked from %d rows", HL_DRIFT_MIN_ROWS);
        *skipped = drift_skipped("too_few_rows", msg);
        return;
    }
    if (!hl_model_has_drift_reference(m)) {
        *skipped = drift_skipped("no_reference",
                                 "the model has no drift reference; retrain it");
        return;
    }
    hl_drift_report d;
    hl_error herr;
    hl_error_clear(&herr);
    if (hl_drift_check_dataset(m, ds, 1, &d, NULL, &herr) != HL_OK) {
        *skipped = drift_skipped("failed", herr.message);
        return;
    }
    *drift = hs_json_drift(&d, drift_kpis_kept(&d));
    hl_drift_report_free(&d);
}

/* The summary; takes adapt (the report or NULL: null). */
static hs_status summarise(const hl_model *m, const hl_dataset *ds,
                           json_t *adapt, hl_warnings *warn, hs_diag_result *r,
                           hs_error *err)
{
    const size_t n = ds->n_rows, K = r->rows.n_classes;
    hl_metrics metrics;
    hl_error herr;
    size_t unknown = 0;
    int has_metrics = 0;
    memset(&metrics, 0, sizeof metrics);
    if (r->labels && hl_model_map_labels(m, ds, r->labels, &unknown, &herr) ==
                         HL_OK &&
        hl_metrics_compute(r->labels, r->predicted, r->proba, n, K, &metrics,
                           &herr) == HL_OK)
        has_metrics = metrics.n_samples > 0;
    json_t *drift, *skipped;
    drift_json(m, ds, &drift, &skipped);
    r->summary = json_pack(
        "{s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "classes",
        hs_json_strings(r->class_names, K), "class_counts", counts_json(r),
        "metrics",
        has_metrics ? hs_json_metrics(&metrics, r->class_names) : json_null(),
        "unknown_labels", (json_int_t)unknown, "drift", drift, "drift_skipped",
        skipped, "adapt", adapt ? adapt : json_null(), "warnings",
        hs_json_warnings(warn));
    hl_metrics_free(&metrics);
    return r->summary ? HS_OK
                      : hs_fail(err, HS_ERR_NOMEM,
                                "out of memory rendering results");
}

hs_status hs_diag_run(const hl_model *m, const hl_dataset *ds, int adapt,
                      unsigned explain_budget_ms,
                      const hs_diag_progress *progress, hl_warnings *warn,
                      hs_diag_result *out, hs_error *err)
{
    json_t *adapted = NULL;
    memset(out, 0, sizeof *out);
    hs_status st = predict(m, ds, adapt, warn, out, &adapted, err);
    if (st == HS_OK) {
        project(ds, out);
        st = summarise(m, ds, adapted, warn, out, err); /* takes adapted */
    } else {
        json_decref(adapted);
    }
    if (st == HS_OK)
        st = hs_diag_explain(m, ds, out->predicted, explain_budget_ms, progress,
                             &out->explained, err);
    if (st == HS_OK &&
        json_object_update(out->summary, out->explained.status) != 0)
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st != HS_OK) {
        hs_diag_result_free(out);
        return st;
    }
    hs_results_data *v = &out->rows;
    v->class_names = out->class_names;
    v->proba = out->proba;
    v->predicted = out->predicted;
    v->labels = out->labels;
    v->sample_ids = out->sample_ids;
    v->xy = out->xy;
    v->explain_flags = out->explained.flags;
    v->n_kpis = out->explained.n_kpis;
    v->kpi_names = out->explained.kpi_names;
    v->explain = out->explained.rows;
    v->abnormal_bits = out->explained.abnormal_bits;
    return HS_OK;
}

/* ---- storing ------------------------------------------------------------------------ */

/* The diagnosed KPI values as the engine's CSV, in a new blob: the model's
 * features in its order (an upload's other columns are not kept: nothing
 * trains on them) and the sample ids, no label (people's labels are
 * records of their own). Through a temporary file, so that a large batch
 * is not held twice in memory. */
static hs_status write_input(hs_app *app, const hl_model *m,
                             const hl_dataset *ds, char *key, hs_error *err)
{
    const hl_model_summary *ms = hl_model_summary_get(m);
    const size_t F = ms->n_features, n = ds->n_rows;
    hl_dataset view;
    memset(&view, 0, sizeof view);
    view.n_rows = n;
    view.n_features = F;
    view.feature_names = ms->feature_names;
    view.sample_ids = ds->sample_ids;
    view.x = ds->x;
    int aligned = ds->n_features == F;
    for (size_t j = 0; aligned && j < F; j++)
        aligned = !strcmp(ds->feature_names[j], ms->feature_names[j]);
    float *gathered = NULL;
    if (!aligned) {
        if (!(gathered = malloc((n * F + 1) * sizeof *gathered)))
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
        for (size_t j = 0; j < F; j++) {
            long src = hl_dataset_feature_index(ds, ms->feature_names[j]);
            for (size_t i = 0; i < n; i++)
                gathered[i * F + j] =
                    src < 0 ? NAN : ds->x[i * ds->n_features + (size_t)src];
        }
        view.x = gathered;
    }
    hl_error herr;
    hl_error_clear(&herr);
    FILE *f = tmpfile();
    hs_status st =
        !f ? hs_fail(err, HS_ERR_IO, "cannot spool the input")
        : hl_dataset_write_csv_stream(&view, f, &herr) != HL_OK
            ? hs_fail(err, HS_ERR_IO, "storing the input: %s", herr.message)
            : hs_blob_put_file(app->blobs, "input", f, key, err);
    if (f)
        fclose(f);
    free(gathered);
    return st;
}

hs_status hs_diagnoses_store(hs_app *app, hs_id owner_id, hs_id model_id,
                             hs_id job_id, const char *name,
                             const hs_diag_result *r, const hl_model *m,
                             const hl_dataset *input, hs_diagnosis_rec *out,
                             hs_error *err)
{
    memset(out, 0, sizeof *out);
    out->summary_json = json_dumps(r->summary, JSON_COMPACT |
                                                   JSON_REAL_PRECISION(12));
    if (!out->summary_json)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory storing results");
    hs_status st = hs_results_write(app->blobs, &r->rows, out->blob_key, err);
    if (st == HS_OK &&
        (st = write_input(app, m, input, out->input_blob_key, err)) != HS_OK)
        hs_blob_delete(app->blobs, out->blob_key, NULL);
    if (st != HS_OK) {
        hs_diagnosis_rec_free(out);
        return st;
    }
    char input_key[HS_STORE_BLOB_KEY_MAX];
    memcpy(input_key, out->input_blob_key, sizeof input_key);
    out->owner_id = owner_id;
    out->model_id = model_id;
    out->job_id = job_id;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->rows = (int64_t)r->rows.n_rows;
    out->created_at = hs_clock_now(app->clock);
    char *summary = NULL;
    /* A create failed by the store's outage may have committed (its answer
     * lost with the connection): its blobs are then left to the orphan
     * sweep (orphans.h), which removes them only if no record has them. */
    int unknown = 0;
    st = hs_sealed_stash(app, HS_SEALED_DIAGNOSIS_SUMMARY, &out->summary_json,
                         &summary, err);
    if (st == HS_OK) {
        st = hs_store_diagnosis_create(app->store, out, err);
        unknown = st == HS_ERR_UNAVAILABLE;
        hs_sealed_unstash(&out->summary_json, summary);
    }
    if (!unknown && (st != HS_OK || !out->input_blob_key[0]))
        hs_blob_delete(app->blobs, input_key, NULL); /* not kept: an old backend */
    if (st != HS_OK) {
        if (!unknown)
            hs_blob_delete(app->blobs, out->blob_key, NULL);
        hs_diagnosis_rec_free(out);
    }
    return st;
}

hs_status hs_diagnoses_input(hs_app *app, const hs_diagnosis_rec *rec,
                             hl_dataset **out, hs_error *err)
{
    *out = NULL;
    if (!rec->input_blob_key[0])
        return hs_fail(err, HS_ERR_NO_INPUT,
                       "diagnosis %lld was stored without its input KPIs "
                       "(it was made before diagnoses kept them): its rows "
                       "cannot be labelled or trained on; diagnose the data "
                       "again",
                       (long long)rec->id);
    hl_csv_options opt;
    hl_error herr;
    char name[64];
    hl_csv_options_init(&opt);
    hl_error_clear(&herr);
    opt.keep_unlabelled = 1;
    snprintf(name, sizeof name, "diagnosis %lld input", (long long)rec->id);
    hs_status st = hs_datasets_load_blob(app, rec->input_blob_key, name, &opt,
                                         out, &herr, err);
    /* Written by us: unreadable means damaged, not the user's mistake. */
    if (st == HS_ERR_INVALID)
        return hs_fail(err, HS_ERR_INTERNAL, "%s is damaged: %s", name,
                       herr.message);
    if (st == HS_OK && (*out)->n_rows != (size_t)rec->rows) {
        size_t rows = (*out)->n_rows;
        hl_dataset_free(*out);
        *out = NULL;
        return hs_fail(err, HS_ERR_INTERNAL,
                       "%s is damaged: %zu rows for %lld results", name, rows,
                       (long long)rec->rows);
    }
    return st;
}

hs_status hs_diagnoses_get(hs_app *app, hs_id id, const hs_user *viewer,
                           hs_diagnosis_rec *out, hs_error *err)
{
    hs_status st = hs_store_diagnosis_get(app->store, id, viewer->id,
                                          viewer->is_admin, out, err);
    if (st == HS_OK && (st = hs_sealed_open_in_place(
                            app, HS_SEALED_DIAGNOSIS_SUMMARY,
                            &out->summary_json, err)) != HS_OK)
        hs_diagnosis_rec_free(out);
    return st;
}

hs_status hs_diagnoses_list(hs_app *app, const hs_user *viewer,
                            int include_deleted, hs_diagnosis_rec **items,
                            size_t *n, hs_error *err)
{
    hs_status st = hs_store_diagnosis_list(app->store, viewer->id,
                                           viewer->is_admin, include_deleted,
                                           items, n, err);
    if (st == HS_OK)
        st = hs_sealed_open_each(app, HS_SEALED_DIAGNOSIS_SUMMARY, *items, *n,
                                 sizeof **items,
                                 offsetof(hs_diagnosis_rec, summary_json), err);
    if (st != HS_OK && *items) {
        hs_diagnosis_list_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return st;
}

hs_status hs_diagnoses_check_live(const hs_diagnosis_rec *rec,
                                  const char *field, hs_error *err)
{
    if (!rec->deleted_at)
        return HS_OK;
    return hs_fail_field(err, HS_ERR_NOTFOUND, field ? field : "",
                         "diagnosis %lld is in the trash; restore it to use "
                         "its rows",
                         (long long)rec->id);
}

static hs_status get_rec(hs_app *app, hs_id id, const hs_user *viewer,
                         void *rec, hs_error *err)
{
    return hs_diagnoses_get(app, id, viewer, rec, err);
}

static void release_rec(void *rec) { hs_diagnosis_rec_free(rec); }

static const hs_trash_kind DIAGNOSES = {
    .what = "diagnosis",
    .get = get_rec,
    .release = release_rec,
    .deleted_at_offset = offsetof(hs_diagnosis_rec, deleted_at),
    .name_offset = offsetof(hs_diagnosis_rec, name),
    .set_deleted = hs_store_diagnosis_set_deleted,
    .purge = hs_store_diagnosis_purge,
};

hs_status hs_diagnoses_trash(hs_app *app, hs_id id, const hs_user *viewer,
                             const char *client, hs_diagnosis_rec *out,
                             hs_error *err)
{
    return hs_trash_move(app, &DIAGNOSES, id, viewer, client, out, err);
}

hs_status hs_diagnoses_restore(hs_app *app, hs_id id, const hs_user *viewer,
                               const char *client, hs_diagnosis_rec *out,
                               hs_error *err)
{
    return hs_trash_restore(app, &DIAGNOSES, id, viewer, client, out, err);
}

hs_status hs_diagnoses_purge(hs_app *app, size_t *blobs, hs_error *err)
{
    return hs_trash_purge(app, &DIAGNOSES, blobs, err);
}

hs_status hs_diagnoses_delete(hs_app *app, hs_id id, const hs_user *viewer,
                              hs_error *err)
{
    char key[HS_STORE_BLOB_KEY_MAX];
    hs_diagnosis_rec rec;
    /* The input's key first: it never changes, and the delete hands back
     * only the results' (which a conversion may have swapped). */
    hs_status rc = hs_diagnoses_get(app, id, viewer, &rec, err);
    if (rc == HS_OK)
        rc = hs_store_diagnosis_delete(app->store, id, viewer->id,
                                       viewer->is_admin, key, err);
    if (rc == HS_OK) { /* the row is gone: an orphan blob at worst */
        hs_blob_delete(app->blobs, key, NULL);
        if (rec.input_blob_key[0])
            hs_blob_delete(app->blobs, rec.input_blob_key, NULL);
    }
    hs_diagnosis_rec_free(&rec);
    return rc;
}

/* ---- reading back ----------------------------------------------------------------- */

static json_t *class_at(char *const *names, size_t K, int32_t k)
{
    return k >= 0 && (size_t)k < K ? json_string(names[k]) : json_null();
}

static json_t *item_json(const hs_results_data *d, size_t i)
{
    const size_t K = d->n_classes;
    const double *p = d->proba + i * K;
    int32_t best = d->predicted ? d->predicted[i] : hl_predict_argmax(p, K);
    json_t *probs = json_object();
    for (size_t k = 0; k < K; k++)
        json_object_set_new(probs, d->class_names[k], json_real(p[k]));
    json_t *item = json_pack(
        "{s:I, s:o, s:o, s:f, s:o, s:o}", "row", (json_int_t)(d->first + i + 1),
        "sample_id",
        d->sample_ids ? json_string(d->sample_ids[i]) : json_null(),
        "predicted", class_at(d->class_names, K, best), "confidence", p[best],
        "probabilities", probs, "label",
        d->labels ? class_at(d->class_names, K, d->labels[i]) : json_null());
    if (item)
        hs_diag_explain_item(item, d, i);
    return item;
}

json_t *hs_diag_items(const hs_results_data *d, size_t from, size_t count)
{
    json_t *items = json_array();
    for (size_t i = from; items && i < d->n_rows && i - from < count; i++)
        json_array_append_new(items, item_json(d, i));
    return items;
}

/* Results in the old JSON form are stored again in the paged one, once:
 * the record swaps to the new blob only if it still has the old one (a
 * second request converting at the same time loses and drops its copy).
 * A failure here costs only the saving; the results were read. */
static void save_converted(hs_app *app, const hs_diagnosis_rec *rec,
                          hs_results *r)
{
    char key[HS_BLOB_KEY_MAX];
    if (hs_results_save(r, app->blobs, key, NULL) != HS_OK)
        return;
    if (hs_store_diagnosis_swap_blob(app->store, rec->id, rec->blob_key, key,
                                     NULL) == HS_OK)
        hs_blob_delete(app->blobs, rec->blob_key, NULL);
    else
        hs_blob_delete(app->blobs, key, NULL);
}

hs_status hs_diagnoses_open_results(hs_app *app, const hs_diagnosis_rec *rec,
                                    hs_results **out, hs_error *err)
{
    hs_status st = hs_results_open(app->blobs, rec->blob_key, out, err);
    if (st == HS_OK && hs_results_converted(*out))
        save_converted(app, rec, *out);
    if (st == HS_ERR_INTERNAL && err) {
        char inner[sizeof err->message];
        snprintf(inner, sizeof inner, "%s", err->message);
        hs_fail(err, st, "diagnosis %lld: %s", (long long)rec->id, inner);
    }
    return st;
}

/* ---- filters ---- */

static int given(const char *v) { return v && *v; }

int hs_diag_query_filters(const hs_diag_query *q)
{
    return q && (given(q->predicted) || given(q->max_confidence) ||
                 given(q->abnormal));
}

/* names[0..n) as "a, b, c" into buf, cut with "..." when it is full. */
static void name_list(char *const *names, size_t n, char *buf, size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < n && at < cap; k++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%s", k ? ", " : "",
                               names[k]);
    if (at >= cap && cap > 4)
        memcpy(buf + cap - 4, "...", 4);
}

/* The index of `name` among names[0..n), or -1. */
static int32_t index_of(char *const *names, size_t n, const char *name)
{
    for (size_t k = 0; k < n; k++)
        if (!strcmp(names[k], name))
            return (int32_t)k;
    return -1;
}

hs_status hs_diagnoses_filter(hs_results *r, const hs_diag_query *q,
                              hs_results_filter *out, hs_error *err)
{
    *out = hs_results_filter_none();
    if (!q)
        return HS_OK;
    if (given(q->predicted)) {
        out->predicted = index_of(hs_results_class_names(r),
                                  hs_results_classes(r), q->predicted);
        char known[200];
        name_list(hs_results_class_names(r), hs_results_classes(r), known,
                  sizeof known);
        if (out->predicted < 0)
            return hs_fail_field(err, HS_ERR_INVALID, "predicted",
                                 "?predicted=%.100s is not a class of this "
                                 "diagnosis's model (its classes: %s)",
                                 q->predicted, known);
    }
    if (given(q->max_confidence)) {
        char *end = NULL;
        double v = strtod(q->max_confidence, &end);
        if (*end || !(v >= 0.0 && v <= 1.0))
            return hs_fail_field(err, HS_ERR_INVALID, "max_confidence",
                                 "?max_confidence= must be a number from 0 "
                                 "to 1, not '%.100s'",
                                 q->max_confidence);
        out->max_confidence = v;
    }
    if (given(q->abnormal)) {
        if (!(hs_results_explain_flags(r) & HS_RESULTS_ABNORMAL))
            return hs_fail_field(err, HS_ERR_INVALID, "abnormal",
                                 "this diagnosis has no normal-range check "
                                 "of its rows (stored before diagnoses kept "
                                 "one, or its model has no normal ranges), so "
                                 "?abnormal= cannot filter it");
        out->abnormal_kpi = index_of(hs_results_kpi_names(r),
                                     hs_results_kpis(r), q->abnormal);
        if (out->abnormal_kpi < 0)
            return hs_fail_field(err, HS_ERR_INVALID, "abnormal",
                                 "?abnormal=%.100s is not a KPI of this "
                                 "diagnosis's model",
                                 q->abnormal);
    }
    return HS_OK;
}

/* Rows scanned per read when filtering. */
#define FILTER_CHUNK 16384

/* The rows f keeps: their count in *total, and the indices of those in
 * [offset, offset + limit) of them into rows (*n_rows). */
static hs_status filtered_rows(hs_results *r, const hs_results_filter *f,
                               size_t offset, size_t limit, size_t *rows,
                               size_t *n_rows, size_t *total, hs_error *err)
{
    uint8_t *match = malloc(FILTER_CHUNK);
    hs_status st = match ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    *total = *n_rows = 0;
    for (size_t first = 0; st == HS_OK && first < hs_results_rows(r);
         first += FILTER_CHUNK) {
        size_t scanned = 0;
        st = hs_results_match(r, f, first, FILTER_CHUNK, match, &scanned, err);
        for (size_t i = 0; st == HS_OK && i < scanned; i++) {
            if (!match[i])
                continue;
            if (*total >= offset && *n_rows < limit)
                rows[(*n_rows)++] = first + i;
            ++*total;
        }
    }
    free(match);
    return st;
}

/* The items of the given rows, one read each. */
static hs_status items_of_rows(hs_results *r, const size_t *rows, size_t n,
                               json_t *items, hs_error *err)
{
    hs_status st = HS_OK;
    for (size_t i = 0; st == HS_OK && i < n; i++) {
        hs_results_data chunk;
        if ((st = hs_results_read(r, rows[i], 1, &chunk, err)) != HS_OK)
            break;
        json_t *item = hs_diag_items(&chunk, 0, 1);
        if (!item || json_array_extend(items, item) != 0)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        json_decref(item);
        hs_results_chunk_free(&chunk);
    }
    return st;
}

static hs_status page_filtered(hs_results *r, const hs_results_filter *f,
                               size_t offset, size_t limit, json_t *items,
                               size_t *total, hs_error *err)
{
    size_t *rows = malloc((limit + 1) * sizeof *rows), n = 0;
    hs_status st = rows ? filtered_rows(r, f, offset, limit, rows, &n, total,
                                        err)
                        : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        st = items_of_rows(r, rows, n, items, err);
    free(rows);
    return st;
}

hs_status hs_diagnoses_page(hs_app *app, const hs_diagnosis_rec *rec,
                            const hs_diag_query *q, size_t offset,
                            size_t limit, json_t **items, size_t *total,
                            int *filtered, hs_error *err)
{
    hs_results *r = NULL;
    hs_results_data chunk;
    hs_results_filter f;
    *items = NULL;
    *filtered = 0;
    hs_status st = hs_diagnoses_open_results(app, rec, &r, err);
    if (st == HS_OK)
        st = hs_diagnoses_filter(r, q, &f, err);
    if (st == HS_OK && (*filtered = hs_results_filter_active(&f))) {
        if (!(*items = json_array()))
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        else
            st = page_filtered(r, &f, offset, limit, *items, total, err);
    } else if (st == HS_OK &&
               (st = hs_results_read(r, offset, limit, &chunk, err)) == HS_OK) {
        *total = hs_results_rows(r);
        *items = hs_diag_items(&chunk, 0, chunk.n_rows);
        hs_results_chunk_free(&chunk);
        if (!*items)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    if (st != HS_OK) {
        json_decref(*items);
        *items = NULL;
    }
    hs_results_close(r);
    return st;
}

static json_t *projection_json(hs_results *r, size_t max_points,
                               hs_error *err)
{
    const size_t n = hs_results_rows(r);
    /* Evenly spaced rows: a uniform sample that is the same every time. */
    size_t keep = max_points && n > max_points ? max_points : n;
    size_t *rows = malloc((keep + 1) * sizeof *rows);
    double *xy = malloc((2 * keep + 1) * sizeof *xy);
    double *conf = malloc((keep + 1) * sizeof *conf);
    int32_t *pred = malloc((keep + 1) * sizeof *pred);
    double explained[2] = {0, 0};
    json_t *points = NULL;
    hs_status st = rows && xy && conf && pred
                       ? HS_OK
                       : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t s = 0; st == HS_OK && s < keep; s++)
        rows[s] = keep == n ? s : (size_t)((double)s * (double)n / (double)keep);
    if (st == HS_OK)
        st = hs_results_points(r, rows, keep, xy, pred, conf, explained, err);
    if (st == HS_OK)
        points = json_array();
    for (size_t s = 0; points && s < keep; s++)
        json_array_append_new(points, json_pack("[I, f, f, i, f]",
                                                (json_int_t)(rows[s] + 1),
                                                xy[2 * s], xy[2 * s + 1],
                                                (int)pred[s], conf[s]));
    free(rows);
    free(xy);
    free(conf);
    free(pred);
    if (!points)
        return NULL;
    return json_pack("{s:I, s:b, s:I, s:[f, f], s:o, s:[s, s, s, s, s], s:o}",
                     "total", (json_int_t)n, "sampled", keep < n, "shown",
                     (json_int_t)keep, "explained_variance", explained[0],
                     explained[1], "classes",
                     hs_json_strings(hs_results_class_names(r),
                                      hs_results_classes(r)),
                     "columns", "row", "x", "y", "predicted", "confidence",
                     "points", points);
}

hs_status hs_diagnoses_projection(hs_app *app, const hs_diagnosis_rec *rec,
                                  size_t max_points, json_t **out,
                                  hs_error *err)
{
    hs_results *r = NULL;
    *out = NULL;
    hs_status st = hs_diagnoses_open_results(app, rec, &r, err);
    if (st == HS_OK && !hs_results_has_projection(r))
        *out = json_pack("{s:I, s:b, s:n, s:o, s:[]}", "total",
                         (json_int_t)hs_results_rows(r), "sampled", 0,
                         "explained_variance", "classes",
                         hs_json_strings(hs_results_class_names(r),
                                          hs_results_classes(r)),
                         "points");
    else if (st == HS_OK)
        *out = projection_json(r, max_points, err);
    if (st == HS_OK && !*out)
        st = err && err->code != HS_OK ? err->code
                                       : hs_fail(err, HS_ERR_NOMEM,
                                                 "out of memory");
    hs_results_close(r);
    return st;
}

/* Rows exported per read: bounded memory whatever the diagnosis's size. */
#define EXPORT_CHUNK 4096

/* What an export writes, and what it holds while writing. */
typedef struct export_ctx {
    const char *format;
    FILE *f;
    size_t written;         /* rows written so far (JSON: comma before) */
    size_t explain;         /* CSV explanation columns; 0 none */
    const hl_model *m;      /* with explain: the model ... */
    const hl_dataset *input; /* ... and the stored input */
    size_t *rows;           /* EXPORT_CHUNK: a chunk's kept rows */
    double *proba;          /* their probabilities */
} export_ctx;

static hs_status export_json_row(export_ctx *x, const hs_results_data *c,
                                 size_t i, hs_error *err)
{
    json_t *item = item_json(c, i);
    int bad = !item || (x->written > 0 && fputc(',', x->f) == EOF) ||
              json_dumpf(item, x->f, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(item);
    return bad ? hs_fail(err, HS_ERR_NOMEM, "cannot render the rows") : HS_OK;
}

/* Rows [i, i + n) of the chunk, in one call to the engine's writer. */
static hs_status export_csv_rows(export_ctx *x, const hs_results_data *c,
                                 size_t i, size_t n, hs_error *err)
{
    hl_error herr;
    hl_error_clear(&herr);
    if (hl_predictions_write_rows(x->f, c->first + i, n, c->n_classes,
                                  c->class_names,
                                  c->sample_ids ? c->sample_ids + i : NULL,
                                  c->proba + i * c->n_classes,
                                  &herr) != HL_OK)
        return hs_fail(err, HS_ERR_NOMEM, "cannot render the CSV: %s",
                       herr.message);
    return HS_OK;
}

/* The chunk's kept rows with their explanation columns, computed again
 * from the stored input by the writer of `healer predict --explain`. */
static hs_status export_explained(export_ctx *x, const hs_results_data *c,
                                  const uint8_t *keep, hs_error *err)
{
    const size_t K = c->n_classes;
    size_t n = 0;
    for (size_t i = 0; i < c->n_rows; i++)
        if (keep[i]) {
            x->rows[n] = c->first + i;
            memcpy(x->proba + n * K, c->proba + i * K, K * sizeof *x->proba);
            n++;
        }
    hl_error herr;
    hl_error_clear(&herr);
    hl_status hst = hl_predictions_write_explained_rows(
        x->f, x->m, x->input, x->rows, n, x->proba, x->explain, 0, 1, &herr);
    x->written += n;
    if (hst != HL_OK)
        return hs_fail(err, hst == HL_ERR_NOMEM ? HS_ERR_NOMEM
                                                : HS_ERR_INTERNAL,
                       "cannot render the CSV: %s", herr.message);
    return HS_OK;
}

static hs_status export_chunk(export_ctx *x, const hs_results_data *c,
                              const uint8_t *keep, hs_error *err)
{
    if (x->explain)
        return export_explained(x, c, keep, err);
    hs_status st = HS_OK;
    const int json = !strcmp(x->format, "json");
    for (size_t i = 0; st == HS_OK && i < c->n_rows;) {
        size_t run = 0; /* kept rows from i on, written together */
        while (i + run < c->n_rows && keep[i + run])
            run++;
        for (size_t j = 0; json && st == HS_OK && j < run; j++, x->written++)
            st = export_json_row(x, c, i + j, err);
        if (!json && run)
            st = export_csv_rows(x, c, i, run, err);
        i += run ? run : 1;
    }
    return st;
}

static hs_status export_header(export_ctx *x, hs_results *r, hs_error *err)
{
    hl_error herr;
    hl_error_clear(&herr);
    hl_status hst = HL_OK;
    if (!strcmp(x->format, "json"))
        return fputc('[', x->f) == EOF
                   ? hs_fail(err, HS_ERR_IO, "cannot write the export")
                   : HS_OK;
    if (x->explain) /* the header alone: no rows */
        hst = hl_predictions_write_explained_rows(
            x->f, x->m, x->input, NULL, 0, NULL, x->explain, 1, 1, &herr);
    else
        hst = hl_predictions_write_header(x->f, hs_results_classes(r),
                                          hs_results_class_names(r), &herr);
    return hst == HL_OK ? HS_OK
                        : hs_fail(err, HS_ERR_NOMEM,
                                  "cannot render the CSV: %s", herr.message);
}

static hs_status export_rows(export_ctx *x, hs_results *r,
                             const hs_results_filter *f, hs_error *err)
{
    uint8_t *keep = malloc(EXPORT_CHUNK);
    hs_status st = keep ? export_header(x, r, err)
                        : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t first = 0; st == HS_OK && first < hs_results_rows(r);
         first += EXPORT_CHUNK) {
        hs_results_data chunk;
        size_t scanned = 0;
        if (hs_results_filter_active(f))
            st = hs_results_match(r, f, first, EXPORT_CHUNK, keep, &scanned,
                                  err);
        else
            memset(keep, 1, EXPORT_CHUNK);
        if (st == HS_OK &&
            (st = hs_results_read(r, first, EXPORT_CHUNK, &chunk, err)) ==
                HS_OK) {
            st = export_chunk(x, &chunk, keep, err);
            hs_results_chunk_free(&chunk);
        }
    }
    if (st == HS_OK && !strcmp(x->format, "json") && fputc(']', x->f) == EOF)
        st = hs_fail(err, HS_ERR_IO, "cannot write the export");
    free(keep);
    return st;
}

/* An explained export of a model whose explanations cost a whole
 * TreeSHAP a row keeps at most HS_DIAG_EXPLAIN_COSTLY_ROWS rows. */
static hs_status check_costly_export(hs_results *r,
                                     const hs_results_filter *filter,
                                     const hl_model *m, hs_error *err)
{
    uint8_t *match = malloc(EXPORT_CHUNK);
    size_t kept = 0;
    hs_status st = match ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t first = 0; st == HS_OK && first < hs_results_rows(r);
         first += EXPORT_CHUNK) {
        size_t scanned = 0;
        st = hs_results_match(r, filter, first, EXPORT_CHUNK, match, &scanned,
                              err);
        for (size_t i = 0; st == HS_OK && i < scanned; i++)
            kept += match[i];
    }
    free(match);
    if (st == HS_OK && kept > HS_DIAG_EXPLAIN_COSTLY_ROWS)
        st = hs_fail_field(err, HS_ERR_CONFLICT, "explain",
                           "explaining a %s model costs tens of milliseconds "
                           "a row: an explained export keeps at most %d rows "
                           "and these filters keep %zu; filter the rows "
                           "further, or export without ?explain=",
                           hl_model_summary_get(m)->algo,
                           HS_DIAG_EXPLAIN_COSTLY_ROWS, kept);
    return st;
}

hs_status hs_diagnoses_export(hs_app *app, const hs_diagnosis_rec *rec,
                              const char *format, const hs_diag_query *q,
                              size_t explain, FILE *f, hs_error *err)
{
    hs_results *r = NULL;
    hs_results_filter filter;
    hl_dataset *input = NULL;
    hs_model_ref *ref = NULL;
    export_ctx x = {format, f, 0, explain, NULL, NULL, NULL, NULL};
    hs_status st = hs_diagnoses_open_results(app, rec, &r, err);
    if (st == HS_OK)
        st = hs_diagnoses_filter(r, q, &filter, err);
    if (st == HS_OK && explain) {
        st = hs_diagnoses_open(app, rec, "its rows cannot be explained",
                               &input, &ref, err);
        x.m = ref ? hs_model_ref_get(ref) : NULL;
        x.input = input;
        if (st == HS_OK && hl_model_score_scale(x.m) == HL_SCORE_NONE)
            st = hs_fail_field(err, HS_ERR_CONFLICT, "explain",
                               "the %s learner cannot explain its "
                               "predictions: export without ?explain=",
                               hl_model_summary_get(x.m)->algo);
        if (st == HS_OK && !hl_model_explains_rows_cheaply(x.m))
            st = check_costly_export(r, &filter, x.m, err);
        x.rows = malloc(EXPORT_CHUNK * sizeof *x.rows);
        x.proba = malloc(EXPORT_CHUNK * hs_results_classes(r) *
                         sizeof *x.proba);
        if (st == HS_OK && (!x.rows || !x.proba))
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    if (st == HS_OK)
        st = export_rows(&x, r, &filter, err);
    free(x.rows);
    free(x.proba);
    hs_models_release(app, ref);
    hl_dataset_free(input);
    hs_results_close(r);
    return st;
}

/* ---- one sample ---- */

hs_status hs_diagnoses_open(hs_app *app, const hs_diagnosis_rec *rec,
                            const char *cannot, hl_dataset **ds,
                            hs_model_ref **ref, hs_error *err)
{
    hs_user owner = {.id = rec->owner_id, .is_admin = 1};
    *ref = NULL;
    hs_status st = hs_diagnoses_input(app, rec, ds, err);
    if (st != HS_OK)
        return st;
    st = rec->model_id
             ? hs_models_acquire(app, rec->model_id, &owner, ref, NULL, err)
             : HS_ERR_NOTFOUND;
    if (st == HS_ERR_NOTFOUND) /* a model_id it still has is in the trash */
        st = hs_fail(err, HS_ERR_CONFLICT, "the model of diagnosis %lld %s: %s",
                     (long long)rec->id,
                     rec->model_id ? "is in the trash" : "was deleted", cannot);
    if (st != HS_OK) {
        hl_dataset_free(*ds);
        *ds = NULL;
    }
    return st;
}

/* Row `row` (0-based) as the diagnosis stored it (its results item), or
 * NULL. */
static json_t *stored_item(hs_app *app, const hs_diagnosis_rec *rec,
                           size_t row, hs_error *err)
{
    json_t *items = NULL;
    size_t total = 0;
    int filtered = 0;
    json_t *item = NULL;
    if (hs_diagnoses_page(app, rec, NULL, row, 1, &items, &total, &filtered,
                          err) == HS_OK)
        item = json_incref(json_array_get(items, 0));
    json_decref(items);
    return item;
}

hs_status hs_diagnoses_sample(hs_app *app, const hs_diagnosis_rec *rec,
                              size_t row, json_t **out, hs_error *err)
{
    *out = NULL;
    if (row < 1 || row > (size_t)rec->rows)
        return hs_fail_field(err, HS_ERR_NOTFOUND, "row",
                             "diagnosis %lld has rows 1 to %lld, not %zu",
                             (long long)rec->id, (long long)rec->rows, row);
    hl_dataset *ds = NULL;
    hs_model_ref *ref = NULL;
    hs_status st = hs_diagnoses_open(app, rec,
                                     "its samples cannot be explained", &ds,
                                     &ref, err);
    hl_sample_explanation e = {0};
    if (st == HS_OK) {
        hl_error herr;
        hl_error_clear(&herr);
        const hl_model *m = hs_model_ref_get(ref);
        if (hl_model_explain_row(m, ds, row - 1, &e, &herr) != HL_OK)
            st = hs_fail(err,
                         herr.code == HL_ERR_NOMEM ? HS_ERR_NOMEM
                                                   : HS_ERR_CONFLICT,
                         "%s", herr.message);
        char id[32];
        snprintf(id, sizeof id, "%zu", row);
        const char *sample_id =
            ds->sample_ids && ds->sample_ids[row - 1] ? ds->sample_ids[row - 1]
                                                      : id;
        if (st == HS_OK && !(*out = hs_json_sample_explanation(m, &e,
                                                               sample_id)))
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        json_t *item = st == HS_OK ? stored_item(app, rec, row - 1, err) : NULL;
        if (st == HS_OK && !item)
            st = err->code ? err->code : hs_fail(err, HS_ERR_NOMEM, "out of memory");
        if (st == HS_OK) {
            json_object_set_new(*out, "row", json_integer((json_int_t)row));
            json_object_set(*out, "label", json_object_get(item, "label"));
            /* the row as the diagnosis keeps it: adapted to the batch's
             * class mix when the diagnosis asked for that */
            json_object_set_new(*out, "result", item);
        } else {
            json_decref(item);
        }
    }
    hl_sample_explanation_free(&e);
    hs_models_release(app, ref);
    hl_dataset_free(ds);
    return st;
}
