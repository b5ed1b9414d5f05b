/* api_common.c - what every handler shares: body and query parsing with
 * 400s that name the field, paging, and the JSON views of records. */
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "domain/datasets.h"
#include "domain/diag_explain.h"
#include "domain/engine_json.h"
#include "domain/job_types.h"
#include "http/api.h"

json_t *hs_api_body(const hs_req *req, hs_resp *resp)
{
    if (!req->body || req->body_len == 0)
        return json_object();
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!j) {
        hs_reply_error(resp, 400, "invalid_json",
                       json_pack("{s:i, s:i}", "line", jerr.line, "column",
                                 jerr.column),
                       "the body is not valid JSON: %s (line %d, column %d)",
                       jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        hs_reply_error(resp, 400, "invalid_json", NULL,
                       "the body must be a JSON object");
        return NULL;
    }
    return j;
}

static int wrong_type(hs_resp *resp, const char *key, const char *type)
{
    hs_reply_error(resp, 400, "bad_request", json_pack("{s:s}", "field", key),
                   "'%s' must be %s", key, type);
    return -1;
}

int hs_api_opt_string(const json_t *body, const char *key, const char **out,
                      hs_resp *resp)
{
    const json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return wrong_type(resp, key, "a string");
    *out = json_string_value(v);
    return 0;
}

int hs_api_req_string(const json_t *body, const char *key, const char **out,
                      hs_resp *resp)
{
    const json_t *v = json_object_get(body, key);
    if (!json_is_string(v))
        return wrong_type(resp, key, "a string (required)");
    *out = json_string_value(v);
    return 0;
}

hs_actor hs_api_actor(const hs_req *req)
{
    return hs_actor_user(req->user.id, req->user.username, req->client);
}

int hs_api_opt_bool(const json_t *body, const char *key, int *out,
                    hs_resp *resp)
{
    const json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v))
        return wrong_type(resp, key, "true or false");
    *out = json_is_true(v);
    return 0;
}

int hs_api_opt_id(const json_t *body, const char *key, hs_id *out,
                  hs_resp *resp)
{
    const json_t *v = json_object_get(body, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return wrong_type(resp, key, "a positive integer id");
    *out = (hs_id)json_integer_value(v);
    return 0;
}

/* A whole number in [min, max] from the query, or def when absent. */
int hs_api_query_size(const hs_req *req, hs_resp *resp, const char *name,
                      size_t def, size_t min, size_t max, size_t *out)
{
    const char *s = hs_req_query(req, name);
    *out = def;
    if (!s)
        return 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || v < min || v > max) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", name),
                       "?%s= must be a whole number in %zu..%zu", name, min,
                       max);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int hs_api_paging(const hs_req *req, hs_resp *resp, size_t *offset,
                  size_t *limit)
{
    if (hs_api_query_size(req, resp, "offset", 0, 0, (size_t)1 << 40,
                          offset) != 0)
        return -1;
    return hs_api_query_size(req, resp, "limit", 100, 1, 1000, limit);
}

json_t *hs_api_page_json(json_t *page, size_t total, size_t offset,
                         size_t limit)
{
    return json_pack("{s:o, s:I, s:I, s:I}", "items", page, "total",
                     (json_int_t)total, "offset", (json_int_t)offset, "limit",
                     (json_int_t)limit);
}

void hs_api_reply_page(hs_resp *resp, json_t *items, size_t offset,
                       size_t limit)
{
    size_t total = json_array_size(items);
    json_t *page = json_array();
    for (size_t i = offset; page && i < total && i - offset < limit; i++)
        json_array_append(page, json_array_get(items, i));
    json_decref(items);
    hs_reply_json(resp, 200, hs_api_page_json(page, total, offset, limit));
}

void hs_api_reply_list(const hs_req *req, hs_resp *resp, json_t *items)
{
    size_t offset, limit;
    if (hs_api_paging(req, resp, &offset, &limit) != 0) {
        json_decref(items);
        return;
    }
    hs_api_reply_page(resp, items, offset, limit);
}

/* "attachment; filename=..." with what the user may not put in a header
 * replaced. */
/* 422 with where the engine found the problem. */
void hs_api_reply_csv_error(hs_resp *resp, const hl_error *e)
{
    hs_api_reply_file_error(resp, "invalid_csv", e);
}

void hs_api_reply_file_error(hs_resp *resp, const char *code,
                             const hl_error *e)
{
    json_t *d = json_pack("{s:s, s:s}", "file", e->file, "engine_code",
                          hl_status_name(e->code));
    if (d && e->line)
        json_object_set_new(d, "line", json_integer((json_int_t)e->line));
    if (d && e->column[0])
        json_object_set_new(d, "column", json_string(e->column));
    if (d && e->column_index)
        json_object_set_new(d, "column_index",
                            json_integer((json_int_t)e->column_index));
    hs_reply_error(resp, 422, code, d, "%s", e->message);
}

void hs_api_attachment(hs_resp *resp, const char *name)
{
    char safe[200], value[256];
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < sizeof safe; p++)
        safe[n++] = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20 ||
                     (unsigned char)*p >= 0x7f)
                        ? '_'
                        : *p;
    safe[n] = '\0';
    snprintf(value, sizeof value, "attachment; filename=\"%s\"", safe);
    hs_resp_header(resp, "Content-Disposition", value);
}

void hs_api_reply_records(const hs_req *req, hs_resp *resp, hs_status st,
                          const hs_error *err, const void *items, size_t n,
                          size_t elem_size, hs_api_render render, int64_t now)
{
    if (st != HS_OK) {
        hs_reply_status(resp, st, err);
        return;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list,
                              render((const char *)items + i * elem_size, now));
    hs_api_reply_list(req, resp, list);
}

void hs_api_reply_blob(hs_app *app, hs_resp *resp, const char *key,
                       const char *content_type, const char *filename)
{
    hs_blob_reader *r = NULL;
    hs_error err = {0};
    hs_status st = hs_blob_open_read(app->blobs, key, &r, &err);
    /* Authenticated whole before the first byte goes out: damage is a
     * clear 409, not a download cut short. */
    if (st == HS_OK)
        st = hs_blob_verify(r, &err);
    if (st != HS_OK) {
        hs_blob_reader_close(r);
        hs_reply_status(resp, st, &err);
        return;
    }
    hs_reply_blob(resp, 200, content_type, r);
    hs_api_attachment(resp, filename);
}

/* Unix seconds (digits), or an ISO 8601 UTC date "YYYY-MM-DD" or time
 * "YYYY-MM-DDTHH:MM:SSZ"; 0 on success. */
static int parse_time(const char *s, int64_t *out)
{
    char *end = NULL;
    if (*s >= '0' && *s <= '9' && strspn(s, "0123456789") == strlen(s)) {
        unsigned long long v = strtoull(s, &end, 10);
        if (strlen(s) > 12 || v > HS_API_TIME_MAX)
            return -1;
        *out = (int64_t)v;
        return 0;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    end = strptime(s, "%Y-%m-%d", &tm);
    if (end && *end == 'T')
        end = strptime(end + 1, "%H:%M:%SZ", &tm);
    if (!end || *end)
        return -1;
    time_t t = timegm(&tm);
    if (t < 0 || (uint64_t)t > HS_API_TIME_MAX)
        return -1;
    *out = (int64_t)t;
    return 0;
}

int hs_api_query_time(const hs_req *req, hs_resp *resp, const char *name,
                      int64_t *out)
{
    const char *s = hs_req_query(req, name);
    if (!s)
        return 0;
    if (parse_time(s, out) != 0) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", name),
                       "?%s= must be unix seconds or an ISO 8601 UTC time "
                       "(2026-01-31 or 2026-01-31T08:00:00Z)",
                       name);
        return -1;
    }
    return 0;
}

/* One CSV field: quoted when it holds a comma, quote or line break, and
 * with a leading ' when it starts like a spreadsheet formula, so an
 * exported name such as "=HYPERLINK(...)" stays text. */
static int csv_field(char **buf, size_t *len, size_t *cap, const json_t *v)
{
    char num[32];
    const char *text = "";
    if (json_is_string(v))
        text = json_string_value(v);
    else if (json_is_integer(v) || json_is_real(v)) {
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld",
                     (long long)json_integer_value(v));
        else
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
        text = num;
    } else if (json_is_boolean(v))
        text = json_is_true(v) ? "true" : "false";
    int formula = json_is_string(v) && strchr("=+-@\t\r", text[0]) && text[0];
    int quote = formula || strpbrk(text, ",\"\r\n") != NULL;
    if (hs_buf_printf(buf, len, cap, "%s%s", quote ? "\"" : "",
                      formula ? "'" : "") != 0)
        return -1;
    for (const char *p = text; *p; p++)
        if (hs_buf_printf(buf, len, cap, *p == '"' ? "\"\"" : "%c", *p) != 0)
            return -1;
    return quote ? hs_buf_printf(buf, len, cap, "\"") : 0;
}

void hs_api_reply_csv(hs_resp *resp, const json_t *rows,
                      const char *const *columns, const char *filename)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int bad = 0;
    for (size_t c = 0; columns[c] && !bad; c++)
        bad = hs_buf_printf(&buf, &len, &cap, "%s%s", c ? "," : "",
                            columns[c]) != 0;
    bad = bad || hs_buf_printf(&buf, &len, &cap, "\r\n") != 0;
    for (size_t r = 0; r < json_array_size(rows) && !bad; r++) {
        const json_t *row = json_array_get(rows, r);
        for (size_t c = 0; columns[c] && !bad; c++)
            bad = (c && hs_buf_printf(&buf, &len, &cap, ",") != 0) ||
                  csv_field(&buf, &len, &cap,
                            json_object_get(row, columns[c])) != 0;
        bad = bad || hs_buf_printf(&buf, &len, &cap, "\r\n") != 0;
    }
    if (bad) {
        free(buf);
        hs_reply_error(resp, 503, "busy", NULL, "out of memory");
        return;
    }
    hs_reply_bytes(resp, 200, "text/csv; charset=utf-8", buf, len);
    free(buf);
    hs_api_attachment(resp, filename);
}

json_t *hs_api_time(int64_t t)
{
    return t ? json_integer((json_int_t)t) : json_null();
}

json_t *hs_api_stored_json(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_null();
}

static json_t *id_or_null(hs_id id)
{
    return id ? json_integer((json_int_t)id) : json_null();
}

json_t *hs_api_user_json(const hs_user *u, int64_t now)
{
    int locked = u->locked_until > now;
    return json_pack("{s:I, s:s, s:s, s:b, s:b, s:o, s:I, s:o}", "id",
                     (json_int_t)u->id, "username", u->username, "role",
                     u->is_admin ? "admin" : "user", "disabled", u->disabled,
                     "locked", locked, "locked_until",
                     locked ? json_integer((json_int_t)u->locked_until)
                            : json_null(),
                     "created_at", (json_int_t)u->created_at, "email",
                     u->email[0] ? json_string(u->email) : json_null());
}

int hs_api_opt_email(const json_t *body, const char **out, hs_resp *resp)
{
    const json_t *v = json_object_get(body, "email");
    if (!v || json_is_null(v)) {
        *out = "";
        return 0;
    }
    return hs_api_opt_string(body, "email", out, resp);
}

int hs_api_req_email(const json_t *body, const char **out, hs_resp *resp)
{
    if (!json_object_get(body, "email")) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "email"),
                       "'email' is required (a string, or null for none)");
        return -1;
    }
    return hs_api_opt_email(body, out, resp);
}

int hs_api_include_deleted(const hs_req *req)
{
    const char *v = hs_req_query(req, "include_deleted");
    return v && strcmp(v, "0") != 0;
}

json_t *hs_api_dataset_json(const hs_dataset_rec *d, int with_profile)
{
    json_t *j = json_pack("{s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:o}", "id",
                          (json_int_t)d->id, "owner_id", (json_int_t)d->owner_id,
                          "name", d->name, "size_bytes",
                          (json_int_t)d->size_bytes, "rows", (json_int_t)d->rows,
                          "features", (json_int_t)d->features, "created_at",
                          (json_int_t)d->created_at, "deleted_at",
                          hs_api_time(d->deleted_at));
    size_t classes = 0;
    hs_dataset_labels labels = hs_dataset_label_state(d->profile_json, &classes);
    /* A backend older than store version 14 leaves state "": ready. */
    int ready = !d->state[0] || !strcmp(d->state, HS_DATASET_READY);
    if (j) {
        json_object_set_new(j, "classes", json_integer((json_int_t)classes));
        json_object_set_new(
            j, "trainable",
            json_boolean(ready && labels == HS_DATASET_LABELLED));
        json_object_set_new(j, "state",
                            json_string(ready ? HS_DATASET_READY : d->state));
        json_object_set_new(j, "ingest_error",
                            d->ingest_error[0] ? json_string(d->ingest_error)
                                               : json_null());
        /* False once the engine refused the file and it was deleted: a
         * failed dataset that cannot be ingested again. */
        json_object_set_new(j, "file_kept", json_boolean(!d->file_deleted));
    }
    hs_incident_counts counts;
    int incidents = hs_dataset_kind_of(d->profile_json, &counts) ==
                    HS_DATASET_INCIDENTS;
    if (j) {
        json_object_set_new(j, "kind",
                            json_string(incidents ? "incidents" : "samples"));
        if (incidents)
            json_object_set_new(
                j, "incidents",
                json_pack("{s:I, s:I, s:I}", "incidents",
                          (json_int_t)counts.incidents, "nodes",
                          (json_int_t)counts.nodes, "rows",
                          (json_int_t)counts.rows));
    }
    if (j && with_profile) {
        /* An incident file's node ids are kept for the rca job's check,
         * not shown: there may be thousands. */
        json_t *profile = hs_api_stored_json(d->profile_json);
        json_object_del(json_object_get(profile, "incidents"), "node_ids");
        json_object_set_new(j, "profile", profile);
    }
    return j;
}

/* A stored message as a JSON string. Messages are cut between UTF-8
 * characters when made, but a record written by an older healer may hold
 * a cut one: its bytes beyond ASCII become '?' rather than the whole
 * response failing. */
static json_t *message_json(const char *text)
{
    json_t *j = json_string(text);
    if (j)
        return j;
    char ascii[HS_MESSAGE_MAX];
    size_t i = 0;
    for (; text[i] && i + 1 < sizeof ascii; i++)
        ascii[i] = (unsigned char)text[i] < 0x80 ? text[i] : '?';
    ascii[i] = '\0';
    return json_string(ascii);
}

json_t *hs_api_attempts_json(const hs_job_attempt *items, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        const hs_job_attempt *a = &items[i];
        json_t *reason = a->reason[0] ? message_json(a->reason) : json_null();
        json_t *item = json_pack(
            "{s:I, s:s, s:s, s:s, s:O, s:o, s:o, s:O}", "number",
            (json_int_t)a->number, "step", a->step, "algo", a->algo, "outcome",
            a->outcome, "reason", reason, "seconds", hs_json_num(a->seconds),
            "params", hs_api_stored_json(a->params_json), "error", reason);
        json_decref(reason);
        if (json_array_append_new(list, item) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

/* A running job's time left: a training's own estimate when its progress
 * has one (null until it has a basis: train_progress.h), else one
 * extrapolated from the fraction done. */
static json_t *eta_json(const hs_job_rec *j, const json_t *detail,
                        double elapsed)
{
    if (j->state != HS_JOB_RUNNING)
        return json_null();
    const json_t *own = json_object_get(detail, "eta_seconds");
    if (own)
        return json_is_number(own) ? json_real(json_number_value(own))
                                   : json_null();
    return j->progress > 0.01
               ? json_real(elapsed * (1 - j->progress) / j->progress)
               : json_null();
}

/* detail[key] as a new reference, or `fallback` (consumed) when absent. */
static json_t *detail_or(const json_t *detail, const char *key,
                         json_t *fallback)
{
    json_t *v = json_object_get(detail, key);
    if (!v)
        return fallback;
    json_decref(fallback);
    return json_incref(v);
}

json_t *hs_api_job_json(const hs_job_rec *j, const hs_job_attempt *attempts,
                        size_t n_attempts, int64_t now)
{
    json_t *losses = hs_api_stored_json(j->losses_json);
    json_t *stage = detail_or(losses, "stage", json_null());
    json_t *curves = json_pack(
        "{s:o, s:o, s:o, s:o}", "train",
        detail_or(losses, "train", json_array()), "valid",
        detail_or(losses, "valid", json_array()), "refit",
        detail_or(losses, "refit", json_array()), "folds",
        detail_or(losses, "fold_curves", json_array()));
    json_t *fold = detail_or(losses, "fold", json_null());
    json_t *folds = detail_or(losses, "folds", json_null());
    json_t *phase = detail_or(losses, "phase", json_null());
    json_t *attempts_json = hs_api_attempts_json(attempts, n_attempts);
    int64_t end = j->finished_at ? j->finished_at : now;
    double elapsed = j->started_at ? (double)(end - j->started_at) : 0.0;
    json_t *eta = eta_json(j, losses, elapsed);
    /* The store keeps one generic result; the API's model_id (a training's
     * result, a diagnosis' input) and diagnosis_id keep their meaning. */
    int model_result = !strcmp(j->result_kind, HS_RESULT_MODEL);
    int diagnosis_result = !strcmp(j->result_kind, HS_RESULT_DIAGNOSIS);
    json_t *result = j->result_kind[0]
                         ? json_pack("{s:s, s:o}", "kind", j->result_kind, "id",
                                     id_or_null(j->result_id))
                         : json_null();
    json_t *view = json_pack(
        "{s:I, s:I, s:s, s:s, s:s, s:f, s:o, s:I, s:I, s:o, s:o, "
        "s:o, s:o, s:o, s:o, s:o, s:b, s:I, s:I, s:o, s:o, s:f, s:o}",
        "id", (json_int_t)j->id, "owner_id", (json_int_t)j->owner_id, "type",
        j->type, "name", j->name, "state", hs_job_state_name(j->state),
        "progress", j->progress, "stage", stage, "round",
        (json_int_t)j->round, "rounds", (json_int_t)j->rounds, "losses",
        curves ? curves : json_object(), "error",
        j->error[0] ? message_json(j->error) : json_null(), "attempts",
        attempts_json, "dataset_id", id_or_null(j->dataset_id), "model_id",
        id_or_null(model_result ? j->result_id : j->model_id), "diagnosis_id",
        id_or_null(diagnosis_result ? j->result_id : 0), "result", result,
        "cancel_requested", j->cancel_requested, "restarts",
        (json_int_t)j->restarts, "created_at", (json_int_t)j->created_at,
        "started_at", hs_api_time(j->started_at), "finished_at",
        hs_api_time(j->finished_at), "elapsed_seconds", elapsed, "eta_seconds",
        eta);
    if (view) {
        int analysis_result = !strcmp(j->result_kind, HS_RESULT_ANALYSIS);
        json_object_set_new(view, "topology_id", id_or_null(j->topology_id));
        json_object_set_new(view, "analysis_id",
                            id_or_null(analysis_result ? j->result_id : 0));
        json_object_set_new(view, "fold", fold);
        json_object_set_new(view, "folds", folds);
        json_object_set_new(view, "phase", phase);
    } else {
        json_decref(fold);
        json_decref(folds);
        json_decref(phase);
    }
    /* What the type adds (a pipeline's steps), under its name. */
    const hs_job_type *type = hs_job_type_find(hs_job_types, j->type);
    json_t *extra = view && type && type->describe
                        ? type->describe(j, json_is_object(losses) ? losses
                                                                   : NULL)
                        : NULL;
    json_decref(losses);
    if (extra)
        json_object_set_new(view, type->name, extra);
    return view;
}

/* A stored JSON object (a record's class names, a topology's kinds), {}
 * when none. */
static json_t *stored_object(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    if (json_is_object(j))
        return j;
    json_decref(j);
    return json_object();
}

json_t *hs_api_model_json(const hs_model_rec *m, int with_summary)
{
    json_t *summary = hs_api_stored_json(m->summary_json);
    json_t *classes = json_incref(json_object_get(summary, "classes"));
    json_t *j = json_pack(
        "{s:I, s:I, s:s, s:s, s:o, s:o, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I}",
        "id", (json_int_t)m->id, "owner_id", (json_int_t)m->owner_id, "name",
        m->name, "algo", m->algo, "dataset_id", id_or_null(m->dataset_id),
        "job_id", id_or_null(m->job_id), "features", (json_int_t)m->n_features,
        "classes", (json_int_t)m->n_classes, "labels",
        classes ? classes : json_array(), "class_names",
        stored_object(m->class_names_json), "macro_f1",
        hs_json_num(m->macro_f1),
        "accuracy", hs_json_num(m->accuracy), "size_bytes",
        (json_int_t)m->size_bytes, "created_at", (json_int_t)m->created_at);
    if (j && with_summary)
        json_object_set(j, "summary", summary);
    json_decref(summary);
    /* Lineage: what a retrained model learnt from, in full only when one
     * model is shown (its comparison lists every labelled row). */
    json_t *feedback = hs_api_stored_json(m->feedback_json);
    json_t *rows = json_object_get(feedback, "rows");
    if (j) {
        json_object_set_new(j, "parent_id", id_or_null(m->parent_id));
        json_object_set_new(j, "deleted_at", hs_api_time(m->deleted_at));
        json_object_set_new(j, "feedback_rows",
                            json_integer(json_is_integer(rows)
                                             ? json_integer_value(rows)
                                             : 0));
        if (with_summary)
            json_object_set(j, "feedback", feedback);
    }
    json_decref(feedback);
    return j;
}

json_t *hs_api_diagnosis_json(const hs_diagnosis_rec *d)
{
    json_t *summary = hs_api_stored_json(d->summary_json);
    json_t *j = json_pack("{s:I, s:I, s:s, s:o, s:o, s:I, s:I}", "id",
                          (json_int_t)d->id, "owner_id", (json_int_t)d->owner_id,
                          "name", d->name, "model_id", id_or_null(d->model_id),
                          "job_id", id_or_null(d->job_id), "rows",
                          (json_int_t)d->rows, "created_at",
                          (json_int_t)d->created_at);
    if (j && json_is_object(summary))
        json_object_update(j, summary);
    if (j)
        json_object_set_new(j, "class_names",
                            stored_object(d->model_class_names_json));
    /* Stored before adapting to a batch was offered: it was not asked. */
    if (j && !json_object_get(j, "adapt"))
        json_object_set_new(j, "adapt", json_null());
    if (j) /* stored before explanations: says so */
        hs_diag_explain_defaults(j);
    if (j) { /* whether its rows can be labelled and trained on */
        json_object_set_new(j, "input_stored",
                            json_boolean(d->input_blob_key[0] != '\0'));
        json_object_set_new(j, "deleted_at", hs_api_time(d->deleted_at));
    }
    json_decref(summary);
    return j;
}

json_t *hs_api_topology_json(const hs_topology_rec *t)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:o, s:I, s:I, s:o}",
                     "id", (json_int_t)t->id, "owner_id",
                     (json_int_t)t->owner_id, "name", t->name, "format",
                     t->format, "nodes", (json_int_t)t->nodes, "edges",
                     (json_int_t)t->edges, "bidirectional_edges",
                     (json_int_t)t->bidirectional_edges, "kinds",
                     stored_object(t->kinds_json), "size_bytes",
                     (json_int_t)t->size_bytes, "created_at",
                     (json_int_t)t->created_at, "deleted_at",
                     hs_api_time(t->deleted_at));
}

json_t *hs_api_analysis_json(const hs_analysis_rec *a)
{
    json_t *j = json_pack(
        "{s:I, s:I, s:s, s:o, s:o, s:o, s:o, s:s, s:I, s:I, s:I, s:I, s:o, "
        "s:o, s:o}",
        "id", (json_int_t)a->id, "owner_id", (json_int_t)a->owner_id, "name",
        a->name, "job_id", id_or_null(a->job_id), "model_id",
        id_or_null(a->model_id), "topology_id", id_or_null(a->topology_id),
        "dataset_id", id_or_null(a->dataset_id), "normal", a->normal, "top",
        (json_int_t)a->top, "incidents", (json_int_t)a->incidents,
        "topology_nodes", (json_int_t)a->topology_nodes, "created_at",
        (json_int_t)a->created_at, "deleted_at", hs_api_time(a->deleted_at),
        "model_deleted_at", hs_api_time(a->model_deleted_at), "summary",
        stored_object(a->summary_json));
    if (j)
        json_object_set_new(j, "class_names",
                            stored_object(a->model_class_names_json));
    return j;
}
