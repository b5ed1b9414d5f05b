/* domain/feedback.c - labels and suggestions of a diagnosis's rows (see
 * feedback.h).
 *
 * What the model predicted for a row is read from the diagnosis's stored
 * results (a pread per labelled row), so a label is always shown next to
 * the prediction the person saw. Validation happens here, before the
 * store sees anything, so that each refusal names the item it is about;
 * the store then applies a request's labels as one outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "domain/diagnoses.h"
#include "domain/engine_json.h"
#include "domain/feedback.h"
#include "domain/models.h"
#include "domain/results.h"
#include "healer/healer.h"
#include "store/store.h"

/* ---- reading ------------------------------------------------------------ */

/* One row's prediction from the stored results. */
typedef struct row_view {
    int32_t predicted;
    double confidence;
    json_t *sample_id; /* new reference, null without ids */
} row_view;

static hs_status read_row(hs_results *r, size_t row, row_view *v,
                          hs_error *err)
{
    hs_results_data c;
    hs_status st = hs_results_read(r, row, 1, &c, err);
    if (st != HS_OK)
        return st;
    if (c.n_rows != 1) {
        hs_results_chunk_free(&c);
        return hs_fail(err, HS_ERR_INTERNAL, "row %zu is not in the results",
                       row + 1);
    }
    const size_t K = c.n_classes;
    v->predicted = c.predicted ? c.predicted[0] : hl_predict_argmax(c.proba, K);
    v->confidence = v->predicted >= 0 && (size_t)v->predicted < K
                        ? c.proba[v->predicted]
                        : 0.0;
    v->sample_id = c.sample_ids ? json_string(c.sample_ids[0]) : json_null();
    hs_results_chunk_free(&c);
    return HS_OK;
}

static json_t *class_name(hs_results *r, int32_t k)
{
    return k >= 0 && (size_t)k < hs_results_classes(r)
               ? json_string(hs_results_class_names(r)[k])
               : json_null();
}

static int is_class(char *const *names, size_t K, const char *label)
{
    for (size_t k = 0; k < K; k++)
        if (!strcmp(names[k], label))
            return 1;
    return 0;
}

/* The label of 0-based `row` among labels sorted by row, or NULL. */
static const char *label_of(const hs_diagnosis_label *l, size_t n, size_t row)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if ((size_t)l[mid].row < row)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && (size_t)l[lo].row == row ? l[lo].label : NULL;
}

static json_t *label_item(hs_results *r, const hs_diagnosis_label *l,
                          const row_view *v)
{
    json_t *predicted = class_name(r, v->predicted);
    int agrees = json_is_string(predicted) &&
                 !strcmp(json_string_value(predicted), l->label);
    json_t *by = l->user_id ? json_pack("{s:I, s:s}", "id",
                                        (json_int_t)l->user_id, "username",
                                        l->username)
                            : json_null();
    return json_pack("{s:I, s:O, s:s, s:o, s:f, s:b, s:o, s:I}", "row",
                     (json_int_t)(l->row + 1), "sample_id", v->sample_id,
                     "label", l->label, "predicted", predicted, "confidence",
                     v->confidence, "agrees", agrees, "labelled_by", by,
                     "labelled_at", (json_int_t)l->labelled_at);
}

/* Walks every label (the counts need them all), rendering the page's. */
static hs_status labels_json(hs_results *r, const hs_diagnosis_label *l,
                             size_t n, size_t offset, size_t limit,
                             json_t *out, hs_error *err)
{
    json_t *items = json_array(), *counts = json_object(),
           *fresh = json_array();
    json_int_t confirmed = 0;
    hs_status st = items && counts && fresh
                       ? HS_OK
                       : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && i < n; i++) {
        row_view v = {0, 0.0, NULL};
        if ((st = read_row(r, (size_t)l[i].row, &v, err)) != HS_OK)
            break;
        json_t *item = label_item(r, &l[i], &v);
        json_decref(v.sample_id);
        confirmed += json_is_true(json_object_get(item, "agrees"));
        json_t *c = json_object_get(counts, l[i].label);
        if (!c && !is_class(hs_results_class_names(r), hs_results_classes(r),
                            l[i].label))
            json_array_append_new(fresh, json_string(l[i].label));
        json_object_set_new(counts, l[i].label,
                            json_integer(c ? json_integer_value(c) + 1 : 1));
        if (i >= offset && i - offset < limit)
            json_array_append_new(items, item);
        else
            json_decref(item);
    }
    if (st == HS_OK) {
        json_object_set_new(out, "items", items);
        json_object_set_new(out, "total", json_integer((json_int_t)n));
        json_object_set_new(out, "offset", json_integer((json_int_t)offset));
        json_object_set_new(out, "limit", json_integer((json_int_t)limit));
        json_object_set_new(out, "class_counts", counts);
        json_object_set_new(out, "confirmed", json_integer(confirmed));
        json_object_set_new(out, "corrected",
                            json_integer((json_int_t)n - confirmed));
        json_object_set_new(out, "classes",
                            hs_json_strings(hs_results_class_names(r),
                                            hs_results_classes(r)));
        json_object_set_new(out, "new_classes", fresh);
        return HS_OK;
    }
    json_decref(items);
    json_decref(counts);
    json_decref(fresh);
    return st;
}

hs_status hs_feedback_labels(hs_app *app, const hs_diagnosis_rec *rec,
                             const hs_user *viewer, size_t offset,
                             size_t limit, json_t **out, hs_error *err)
{
    hs_diagnosis_label *labels = NULL;
    hs_results *r = NULL;
    size_t n = 0;
    *out = NULL;
    if (!rec->input_blob_key[0]) {
        hl_dataset *none = NULL; /* says why, in the one place it is said */
        return hs_diagnoses_input(app, rec, &none, err);
    }
    hs_status st = hs_store_diagnosis_labels_list(
        app->store, rec->id, viewer->id, viewer->is_admin, &labels, &n, err);
    if (st == HS_OK)
        st = hs_diagnoses_open_results(app, rec, &r, err);
    if (st == HS_OK && !(*out = json_object()))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        st = labels_json(r, labels, n, offset, limit, *out, err);
    if (st != HS_OK) {
        json_decref(*out);
        *out = NULL;
    }
    hs_results_close(r);
    free(labels);
    return st;
}

/* ---- labelling ---------------------------------------------------------- */

/* "labels[i].key" into buf, the field an item's refusal names. */
static const char *item_field(char *buf, size_t cap, size_t i, const char *key)
{
    snprintf(buf, cap, "labels[%zu]%s%s", i, key ? "." : "", key ? key : "");
    return buf;
}

/* A name a person may give a new class: printable, no surrounding
 * spaces (two names that differ only by them would be two classes). */
static int valid_class_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= HS_LABEL_MAX || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

/* One item of a put into *out (row 0-based; label "" clears). seen has a
 * bit per row, to refuse a row given twice. */
static hs_status parse_item(const json_t *item, size_t i, size_t rows,
                            char *const *classes, size_t K,
                            unsigned char *seen, hs_diagnosis_label *out,
                            hs_error *err)
{
    char field[HS_FIELD_MAX];
    if (!json_is_object(item))
        return hs_fail_field(err, HS_ERR_MALFORMED,
                             item_field(field, sizeof field, i, NULL),
                             "labels[%zu] must be an object {\"row\", "
                             "\"label\"}",
                             i);
    const json_t *row = json_object_get(item, "row");
    const json_t *label = json_object_get(item, "label");
    const json_t *fresh = json_object_get(item, "new_class");
    if (!json_is_integer(row))
        return hs_fail_field(err, HS_ERR_MALFORMED,
                             item_field(field, sizeof field, i, "row"),
                             "labels[%zu].row must be a row number", i);
    if (!label || !(json_is_string(label) || json_is_null(label)))
        return hs_fail_field(err, HS_ERR_MALFORMED,
                             item_field(field, sizeof field, i, "label"),
                             "labels[%zu].label must be a class name, or "
                             "null to clear it",
                             i);
    if (fresh && !json_is_boolean(fresh) && !json_is_null(fresh))
        return hs_fail_field(err, HS_ERR_MALFORMED,
                             item_field(field, sizeof field, i, "new_class"),
                             "labels[%zu].new_class must be true or false",
                             i);
    json_int_t r = json_integer_value(row);
    if (r < 1 || (uint64_t)r > rows)
        return hs_fail_field(err, HS_ERR_INVALID,
                             item_field(field, sizeof field, i, "row"),
                             "row %lld is out of range: the diagnosis has "
                             "rows 1..%zu",
                             (long long)r, rows);
    size_t at = (size_t)r - 1;
    if (seen[at / 8] & (1u << (at % 8)))
        return hs_fail_field(err, HS_ERR_INVALID,
                             item_field(field, sizeof field, i, "row"),
                             "row %lld is given twice", (long long)r);
    seen[at / 8] |= (unsigned char)(1u << (at % 8));
    memset(out, 0, sizeof *out);
    out->row = (int64_t)at;
    if (json_is_null(label))
        return HS_OK;
    const char *name = json_string_value(label);
    if (!is_class(classes, K, name)) {
        if (!json_is_true(fresh))
            return hs_fail_field(
                err, HS_ERR_INVALID,
                item_field(field, sizeof field, i, "label"),
                "'%.64s' is not a class of the model; to name a new class, "
                "send \"new_class\": true",
                name);
        if (!valid_class_name(name))
            return hs_fail_field(err, HS_ERR_INVALID,
                                 item_field(field, sizeof field, i, "label"),
                                 "a new class name is 1..%d printable bytes "
                                 "without surrounding spaces",
                                 HS_LABEL_MAX - 1);
    }
    snprintf(out->label, sizeof out->label, "%s", name);
    return HS_OK;
}

static hs_status parse_labels(const json_t *body, size_t rows,
                              char *const *classes, size_t K,
                              hs_diagnosis_label **items, size_t *n,
                              hs_error *err)
{
    const json_t *list = json_object_get(body, "labels");
    *items = NULL;
    *n = 0;
    if (!json_is_array(list))
        return hs_fail_field(err, HS_ERR_MALFORMED, "labels",
                             "'labels' must be an array of {\"row\", "
                             "\"label\"}");
    size_t count = json_array_size(list);
    if (count == 0 || count > HS_FEEDBACK_LABELS_PER_REQUEST)
        return hs_fail_field(err, HS_ERR_INVALID, "labels",
                             "'labels' must hold 1..%d items (it has %zu)",
                             HS_FEEDBACK_LABELS_PER_REQUEST, count);
    unsigned char *seen = calloc(rows / 8 + 1, 1);
    hs_diagnosis_label *out = calloc(count, sizeof *out);
    hs_status st = seen && out ? HS_OK
                               : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && i < count; i++)
        st = parse_item(json_array_get(list, i), i, rows, classes, K, seen,
                        &out[i], err);
    free(seen);
    if (st != HS_OK) {
        free(out);
        return st;
    }
    *items = out;
    *n = count;
    return HS_OK;
}

hs_status hs_feedback_put_labels(hs_app *app, const hs_diagnosis_rec *rec,
                                 const hs_user *viewer, const json_t *body,
                                 json_t **out, hs_error *err)
{
    hs_results *r = NULL;
    hs_diagnosis_label *items = NULL;
    size_t n = 0;
    *out = NULL;
    hs_status st = hs_diagnoses_check_live(rec, NULL, err);
    if (st != HS_OK)
        return st;
    if (!rec->input_blob_key[0])
        return hs_feedback_labels(app, rec, viewer, 0, 0, out, err);
    st = hs_diagnoses_open_results(app, rec, &r, err);
    if (st == HS_OK)
        st = parse_labels(body, hs_results_rows(r), hs_results_class_names(r),
                          hs_results_classes(r), &items, &n, err);
    hs_results_close(r);
    int64_t now = hs_clock_now(app->clock);
    for (size_t i = 0; st == HS_OK && i < n; i++) {
        items[i].diagnosis_id = rec->id;
        items[i].user_id = viewer->id;
        items[i].labelled_at = now;
    }
    if (st == HS_OK) {
        st = hs_store_diagnosis_labels_put(app->store, rec->id, viewer->id,
                                           viewer->is_admin, items, n,
                                           HS_FEEDBACK_ROWS_MAX, NULL, err);
        /* Only the total can be refused here: the items were checked. */
        if (st == HS_ERR_INVALID)
            snprintf(err->field, sizeof err->field, "labels");
    }
    free(items);
    if (st == HS_OK)
        st = hs_feedback_labels(app, rec, viewer, 0, 100, out, err);
    return st;
}

/* ---- suggestions -------------------------------------------------------- */

static json_t *suggestion_json(const hl_suggestion *s, char *const *classes,
                               const hs_results_data *all,
                               const hs_diagnosis_label *l, size_t n_labels)
{
    const char *label = label_of(l, n_labels, s->row);
    return json_pack("{s:I, s:o, s:s, s:f, s:f, s:o}", "row",
                     (json_int_t)(s->row + 1), "sample_id",
                     all->sample_ids ? json_string(all->sample_ids[s->row])
                                     : json_null(),
                     "predicted", classes[s->predicted], "confidence",
                     s->confidence, "margin", s->margin, "label",
                     label ? json_string(label) : json_null());
}

/* The engine's picks over the stored input and probabilities. */
static hs_status suggest_rows(hs_app *app, const hs_diagnosis_rec *rec,
                              const hl_model *m, const hl_dataset *ds,
                              size_t per_class, json_t *items, hs_error *err)
{
    hs_results *r = NULL;
    hs_results_data all;
    hs_diagnosis_label *labels = NULL;
    hl_suggestion *picks = NULL;
    size_t n_labels = 0, n_picks = 0;
    hs_user owner = {.id = rec->owner_id, .is_admin = 1};
    memset(&all, 0, sizeof all);
    hs_status st = hs_diagnoses_open_results(app, rec, &r, err);
    if (st == HS_OK)
        st = hs_results_read(r, 0, hs_results_rows(r), &all, err);
    if (st == HS_OK && (all.n_rows != ds->n_rows ||
                        all.n_classes != hl_model_n_classes(m)))
        st = hs_fail(err, HS_ERR_INTERNAL,
                     "diagnosis %lld: its results do not match its input",
                     (long long)rec->id);
    hl_error herr;
    hl_error_clear(&herr);
    if (st == HS_OK &&
        hl_suggest_rows(m, ds, all.proba, per_class, &picks, &n_picks,
                        &herr) != HL_OK)
        st = hs_fail(err, HS_ERR_INTERNAL, "suggesting rows: %s",
                     herr.message);
    if (st == HS_OK)
        st = hs_store_diagnosis_labels_list(app->store, rec->id, owner.id, 1,
                                            &labels, &n_labels, err);
    char *const *classes = hl_model_summary_get(m)->class_names;
    for (size_t i = 0; st == HS_OK && i < n_picks; i++)
        if (json_array_append_new(items, suggestion_json(&picks[i], classes,
                                                         &all, labels,
                                                         n_labels)))
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    free(picks);
    free(labels);
    hs_results_chunk_free(&all);
    hs_results_close(r);
    return st;
}

hs_status hs_feedback_suggest(hs_app *app, const hs_diagnosis_rec *rec,
                              size_t per_class, json_t **out, hs_error *err)
{
    hl_dataset *ds = NULL;
    hs_model_ref *ref = NULL;
    *out = NULL;
    if (per_class < 1 || per_class > HL_SUGGEST_MAX_PER_CLASS)
        return hs_fail_field(err, HS_ERR_MALFORMED, "per_class",
                             "?per_class= must be a whole number in 1..%d",
                             HL_SUGGEST_MAX_PER_CLASS);
    hs_status st = hs_diagnoses_open(
        app, rec,
        "no rows can be suggested (label rows from the results instead)", &ds,
        &ref, err);
    json_t *items = st == HS_OK ? json_array() : NULL;
    if (st == HS_OK && !items)
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        st = suggest_rows(app, rec, hs_model_ref_get(ref), ds, per_class,
                          items, err);
    if (st == HS_OK) {
        const hl_model_summary *ms = hl_model_summary_get(hs_model_ref_get(ref));
        *out = json_pack("{s:I, s:o, s:o}", "per_class", (json_int_t)per_class,
                         "classes",
                         hs_json_strings(ms->class_names, ms->n_classes),
                         "items", items);
        if (!*out)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    } else {
        json_decref(items);
    }
    hs_models_release(app, ref);
    hl_dataset_free(ds);
    return st;
}
