/* diagnoses.c - the diagnoses service (see diagnoses.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/diagnoses.h"
#include "domain/engine_json.h"
#include "store/store.h"

void hs_diag_result_free(hs_diag_result *r)
{
    if (!r)
        return;
    json_decref(r->blob);
    json_decref(r->summary);
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

/* Index of `label` in ds's label table, adding it when new; -1 = no memory. */
static int32_t label_index(hl_dataset *ds, const char *label)
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

/* Fills row i from a JSON object; marks the features it has in seen[]. */
static hs_status fill_row(hl_dataset *ds, const hl_model *m, size_t i,
                          const json_t *row, unsigned char *seen,
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
                ds->y[i] = label_index(ds, label);
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
        seen[j] = 1;
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
    unsigned char *seen = calloc(hl_model_n_features(m) + 1, 1);
    hs_status st = ds && seen ? alloc_rows(ds, m, n, err)
                              : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && i < n; i++)
        st = fill_row(ds, m, i, json_array_get(rows, i), seen, details, warn,
                      err);
    for (size_t j = 0; st == HS_OK && j < ds->n_features; j++)
        if (!seen[j]) {
            *details = json_pack("{s:s}", "column", ds->feature_names[j]);
            st = hs_fail(err, HS_ERR_INVALID,
                         "no row has the KPI '%s' that the model needs (use "
                         "null for a missing value)",
                         ds->feature_names[j]);
        }
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

/* rows: [sample_id|null, predicted, confidence, [p...], label|-1] */
static json_t *blob_rows(const hl_dataset *ds, size_t K, const double *proba,
                         const int32_t *y)
{
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < ds->n_rows; i++) {
        const double *p = proba + i * K;
        int32_t best = hl_predict_argmax(p, K);
        json_t *probs = json_array();
        for (size_t k = 0; k < K; k++)
            json_array_append_new(probs, json_real(p[k]));
        if (json_array_append_new(
                rows, json_pack("[o, i, f, o, i]",
                                ds->sample_ids ? json_string(ds->sample_ids[i])
                                               : json_null(),
                                (int)best, p[best], probs,
                                y ? (int)y[i] : -1)) != 0) {
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

/* {"explained": [a, b], "points": [[x, y], ...]}: the first two principal
 * components of the samples' standardised KPIs, for the scatter plot; null
 * when there is nothing to project. */
static json_t *projection_json(const hl_dataset *ds)
{
    double explained[2] = {0, 0};
    double *xy = malloc((ds->n_rows * 2 + 1) * sizeof *xy);
    if (!xy || hl_pca_project(ds->x, ds->n_rows, ds->n_features, 2, xy,
                              explained, NULL) != HL_OK) {
        free(xy);
        return json_null();
    }
    json_t *points = json_array();
    for (size_t i = 0; points && i < ds->n_rows; i++)
        json_array_append_new(points, json_pack("[f, f]", xy[2 * i],
                                                xy[2 * i + 1]));
    free(xy);
    return json_pack("{s:[f, f], s:o}", "explained", explained[0],
                     explained[1], "points", points);
}

static json_t *class_names_json(const hl_model *m)
{
    json_t *a = json_array();
    for (size_t k = 0; k < hl_model_n_classes(m); k++)
        json_array_append_new(a, json_string(hl_model_class_name(m, k)));
    return a;
}

static json_t *counts_json(const hl_model *m, const json_t *rows)
{
    size_t K = hl_model_n_classes(m), i;
    uint64_t *count = calloc(K, sizeof *count);
    json_t *o = json_object(), *row;
    json_array_foreach(rows, i, row) {
        int64_t k = json_integer_value(json_array_get(row, 1));
        if (count && k >= 0 && (size_t)k < K)
            count[k]++;
    }
    for (size_t k = 0; count && k < K; k++)
        json_object_set_new(o, hl_model_class_name(m, k),
                            json_integer((json_int_t)count[k]));
    free(count);
    return o;
}

hs_status hs_diag_run(const hl_model *m, const hl_dataset *ds,
                      hl_warnings *warn, hs_diag_result *out, hs_error *err)
{
    const size_t n = ds->n_rows, K = hl_model_n_classes(m);
    hl_error herr;
    hl_metrics metrics;
    int has_metrics = 0;
    size_t unknown = 0;
    hs_status st = HS_OK;
    memset(out, 0, sizeof *out);
    memset(&metrics, 0, sizeof metrics);
    hl_error_clear(&herr);
    double *proba = malloc((n * K + 1) * sizeof *proba);
    int32_t *pred = malloc((n + 1) * sizeof *pred);
    int32_t *y = ds->has_labels ? malloc((n + 1) * sizeof *y) : NULL;
    if (!proba || !pred || (ds->has_labels && !y)) {
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    hl_status hst = hl_model_predict_dataset(m, ds, 1, proba, warn, &herr);
    if (hst != HL_OK) {
        st = hs_fail(err, hst == HL_ERR_NOMEM ? HS_ERR_NOMEM : HS_ERR_INVALID,
                     "%s", herr.message);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        pred[i] = hl_predict_argmax(proba + i * K, K);
    if (y && hl_model_map_labels(m, ds, y, &unknown, &herr) == HL_OK &&
        hl_metrics_compute(y, pred, proba, n, K, &metrics, &herr) == HL_OK)
        has_metrics = metrics.n_samples > 0;
    json_t *rows = blob_rows(ds, K, proba, y);
    out->blob = rows ? json_pack("{s:o, s:o, s:o}", "classes",
                                 class_names_json(m), "rows", rows,
                                 "projection", projection_json(ds))
                     : NULL;
    if (out->blob)
        out->summary = json_pack(
            "{s:o, s:o, s:o, s:I, s:o}", "classes", class_names_json(m),
            "class_counts", counts_json(m, rows), "metrics",
            has_metrics
                ? hs_json_metrics(&metrics, hl_model_summary_get(m)->class_names)
                : json_null(),
            "unknown_labels", (json_int_t)unknown, "warnings",
            hs_json_warnings(warn));
    if (!out->blob || !out->summary) {
        hs_diag_result_free(out);
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory rendering results");
        goto done;
    }
    out->n_rows = n;
done:
    if (has_metrics || metrics.per_class)
        hl_metrics_free(&metrics);
    free(proba);
    free(pred);
    free(y);
    return st;
}

/* ---- storing, paging, exporting ---------------------------------------------------- */

hs_status hs_diagnoses_store(hs_app *app, hs_id owner_id, hs_id model_id,
                             hs_id job_id, const char *name,
                             const hs_diag_result *r, hs_diagnosis_rec *out,
                             hs_error *err)
{
    memset(out, 0, sizeof *out);
    char *text = json_dumps(r->blob, JSON_COMPACT | JSON_REAL_PRECISION(9));
    out->summary_json = json_dumps(r->summary, JSON_COMPACT |
                                                   JSON_REAL_PRECISION(12));
    if (!text || !out->summary_json) {
        free(text);
        hs_diagnosis_rec_free(out);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory storing results");
    }
    hs_status st = hs_blob_put(app->blobs, "result", text, strlen(text),
                               out->blob_key, err);
    free(text);
    if (st != HS_OK) {
        hs_diagnosis_rec_free(out);
        return st;
    }
    out->owner_id = owner_id;
    out->model_id = model_id;
    out->job_id = job_id;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->rows = (int64_t)r->n_rows;
    out->created_at = hs_clock_now(app->clock);
    st = hs_store_diagnosis_create(app->store, out, err);
    if (st != HS_OK) {
        hs_blob_delete(app->blobs, out->blob_key, NULL);
        hs_diagnosis_rec_free(out);
    }
    return st;
}

hs_status hs_diagnoses_get(hs_app *app, hs_id id, const hs_user *viewer,
                           hs_diagnosis_rec *out, hs_error *err)
{
    return hs_store_diagnosis_get(app->store, id, viewer->id, viewer->is_admin,
                                  out, err);
}

hs_status hs_diagnoses_list(hs_app *app, const hs_user *viewer,
                            hs_diagnosis_rec **items, size_t *n,
                            hs_error *err)
{
    return hs_store_diagnosis_list(app->store, viewer->id, viewer->is_admin,
                                   items, n, err);
}

hs_status hs_diagnoses_delete(hs_app *app, hs_id id, const hs_user *viewer,
                              hs_error *err)
{
    char key[HS_STORE_BLOB_KEY_MAX];
    hs_status rc = hs_store_diagnosis_delete(app->store, id, viewer->id,
                                             viewer->is_admin, key, err);
    if (rc == HS_OK) /* the row is gone: an orphan blob at worst */
        hs_blob_delete(app->blobs, key, NULL);
    return rc;
}

hs_status hs_diagnoses_load(hs_app *app, const hs_diagnosis_rec *rec,
                            json_t **blob_out, hs_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *blob_out = NULL;
    hs_status st = hs_blob_read_all(app->blobs, rec->blob_key, &buf, &len,
                                    (size_t)1 << 31, err);
    if (st != HS_OK)
        return st;
    json_error_t jerr;
    json_t *blob = json_loadb((const char *)buf, len, 0, &jerr);
    free(buf);
    if (!json_is_array(json_object_get(blob, "rows")) ||
        !json_is_array(json_object_get(blob, "classes"))) {
        json_decref(blob);
        return hs_fail(err, HS_ERR_INTERNAL,
                       "stored results of diagnosis %lld are unreadable",
                       (long long)rec->id);
    }
    *blob_out = blob;
    return HS_OK;
}

static json_t *class_at(const json_t *classes, json_int_t k)
{
    const json_t *name = k >= 0 ? json_array_get(classes, (size_t)k) : NULL;
    return name ? json_copy((json_t *)name) : json_null();
}

json_t *hs_diag_items(const json_t *blob, size_t offset, size_t limit)
{
    const json_t *classes = json_object_get(blob, "classes");
    const json_t *rows = json_object_get(blob, "rows");
    json_t *items = json_array();
    size_t n = json_array_size(rows);
    for (size_t i = offset; items && i < n && i - offset < limit; i++) {
        const json_t *r = json_array_get(rows, i);
        const json_t *probs = json_array_get(r, 3);
        json_t *p = json_object();
        for (size_t k = 0; k < json_array_size(probs); k++)
            json_object_set(p, json_string_value(json_array_get(classes, k)),
                            json_array_get(probs, k));
        json_array_append_new(
            items,
            json_pack("{s:I, s:O, s:o, s:O, s:o, s:o}", "row",
                      (json_int_t)(i + 1), "sample_id", json_array_get(r, 0),
                      "predicted",
                      class_at(classes, json_integer_value(json_array_get(r, 1))),
                      "confidence", json_array_get(r, 2), "probabilities", p,
                      "label",
                      class_at(classes, json_integer_value(json_array_get(r, 4)))));
    }
    return items;
}

json_t *hs_diag_projection(const json_t *blob, size_t max_points)
{
    const json_t *proj = json_object_get(blob, "projection");
    const json_t *points = json_object_get(proj, "points");
    const json_t *rows = json_object_get(blob, "rows");
    size_t n = json_array_size(points);
    if (!json_is_array(points) || n != json_array_size(rows))
        return json_pack("{s:I, s:b, s:n, s:O, s:[]}", "total",
                         (json_int_t)json_array_size(rows), "sampled", 0,
                         "explained_variance", "classes",
                         json_object_get(blob, "classes"), "points");
    /* Evenly spaced rows: a uniform sample that is the same every time. */
    size_t keep = max_points && n > max_points ? max_points : n;
    json_t *out = json_array();
    for (size_t s = 0; out && s < keep; s++) {
        size_t i = keep == n ? s : (size_t)((double)s * (double)n / (double)keep);
        const json_t *p = json_array_get(points, i), *r = json_array_get(rows, i);
        json_array_append_new(out, json_pack("[I, O, O, O, O]", (json_int_t)(i + 1),
                                             json_array_get(p, 0),
                                             json_array_get(p, 1),
                                             json_array_get(r, 1),
                                             json_array_get(r, 2)));
    }
    return json_pack("{s:I, s:b, s:I, s:O, s:O, s:[s, s, s, s, s], s:o}",
                     "total", (json_int_t)n, "sampled", keep < n, "shown",
                     (json_int_t)keep, "explained_variance",
                     json_object_get(proj, "explained"), "classes",
                     json_object_get(blob, "classes"), "columns", "row", "x",
                     "y", "predicted", "confidence", "points", out);
}

hs_status hs_diag_csv(const json_t *blob, char **buf, size_t *len,
                      hs_error *err)
{
    const json_t *classes = json_object_get(blob, "classes");
    const json_t *rows = json_object_get(blob, "rows");
    size_t K = json_array_size(classes), n = json_array_size(rows);
    char **names = calloc(K + 1, sizeof *names);
    char **ids = calloc(n + 1, sizeof *ids);
    double *proba = malloc((n * K + 1) * sizeof *proba);
    hs_status st = HS_OK;
    int have_ids = 0;
    *buf = NULL;
    *len = 0;
    if (!names || !ids || !proba) {
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t k = 0; k < K; k++)
        names[k] = (char *)json_string_value(json_array_get(classes, k));
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(rows, i);
        const json_t *probs = json_array_get(r, 3);
        ids[i] = (char *)json_string_value(json_array_get(r, 0));
        have_ids |= ids[i] != NULL;
        for (size_t k = 0; k < K; k++)
            proba[i * K + k] = json_number_value(json_array_get(probs, k));
    }
    FILE *f = open_memstream(buf, len);
    if (!f) {
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    hl_error herr;
    hl_error_clear(&herr);
    hl_status hst = hl_predictions_write_stream(f, n, K, names,
                                                have_ids ? ids : NULL, proba,
                                                &herr);
    if (fclose(f) != 0 || hst != HL_OK) {
        free(*buf);
        *buf = NULL;
        *len = 0;
        st = hs_fail(err, HS_ERR_NOMEM, "cannot render the CSV: %s",
                     herr.message);
    }
done:
    free(names);
    free(ids);
    free(proba);
    return st;
}
