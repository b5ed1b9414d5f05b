/* api_diagnoses.c - diagnose samples (inline JSON rows or an uploaded CSV),
 * list and page through stored diagnoses, export and delete them.
 *
 * Samples are checked at once either way (a bad value is a 422 now, not a
 * failed job later). Up to limits.sync_rows rows are diagnosed in the
 * request; more become a "diagnose" job owning a blob of the samples (the
 * uploaded CSV, or the JSON rows as sent).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "http/api.h"
#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/jobs.h"
#include "domain/models.h"

/* Answers with a finished diagnosis: stored (201, with its id) or not
 * (200, id null), plus the first page of results. */

/* The explanation budget of a diagnosis answered at once (diag_explain.h). */
static unsigned request_budget_ms(const hs_app *app)
{
    unsigned budget = app->limits.explain_budget_ms;
    return budget < HS_DIAG_EXPLAIN_REQUEST_MS ? budget
                                               : HS_DIAG_EXPLAIN_REQUEST_MS;
}

static void reply_result(hs_app *app, hs_req *req, hs_resp *resp,
                         hs_id model_id, const char *name, int store,
                         const hs_diag_result *res, const hl_model *m,
                         const hl_dataset *input)
{
    size_t offset, limit;
    if (hs_api_paging(req, resp, &offset, &limit) != 0)
        return;
    json_t *out;
    if (store) {
        hs_diagnosis_rec rec;
        hs_error err = {0};
        hs_status st = hs_diagnoses_store(app, req->user.id, model_id, 0, name,
                                          res, m, input, &rec, &err);
        if (st != HS_OK) {
            hs_reply_status(resp, st, &err);
            return;
        }
        out = hs_api_diagnosis_json(&rec);
        hs_diagnosis_rec_free(&rec);
    } else {
        out = json_pack("{s:n, s:s, s:I, s:n, s:I}", "id", "name", name,
                        "model_id", (json_int_t)model_id, "job_id", "rows",
                        (json_int_t)res->rows.n_rows);
        if (out)
            json_object_update(out, res->summary);
    }
    if (out) {
        json_object_set_new(out, "filtered", json_false());
        json_object_set_new(
            out, "results",
            hs_api_page_json(hs_diag_items(&res->rows, offset, limit),
                         res->rows.n_rows, offset, limit));
    }
    hs_reply_json(resp, store ? 201 : 200, out);
}

/* The optional "adapt" of a JSON request: true or false (null: absent).
 * Anything else answers 422 naming the field, and -1 is returned. */
static int adapt_of_json(const json_t *body, int *adapt, hs_resp *resp)
{
    const json_t *v = json_object_get(body, "adapt");
    *adapt = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        hs_reply_error(resp, 422, "invalid_data",
                       json_pack("{s:s}", "field", "adapt"),
                       "'adapt' must be true or false");
        return -1;
    }
    *adapt = json_is_true(v);
    return 0;
}

/* The same for a form, whose parts are text: "true" or "false". */
static int adapt_of_form(const hs_req *req, int *adapt, hs_resp *resp)
{
    const char *v = hs_req_field(req, "adapt");
    *adapt = 0;
    if (!v)
        return 0;
    if (strcmp(v, "true") && strcmp(v, "false")) {
        hs_reply_error(resp, 422, "invalid_data",
                       json_pack("{s:s}", "field", "adapt"),
                       "the 'adapt' part must be true or false");
        return -1;
    }
    *adapt = !strcmp(v, "true");
    return 0;
}

/* Answers 202 with the job a large diagnosis became. */
static void reply_job(hs_app *app, hs_resp *resp, const hs_job_rec *job)
{
    hs_reply_json(
        resp, 202,
        json_pack("{s:o}", "job",
                  hs_api_job_json(job, NULL, 0, hs_clock_now(app->clock))));
}

/* Queues a diagnose job for an uploaded CSV and answers 202 with it. */
static hs_status submit_job(hs_app *app, hs_req *req, hs_resp *resp,
                            hs_id model_id, const char *blob_key,
                            const char *format, const char *name, int adapt,
                            hs_error *err)
{
    hs_job_rec job;
    hs_status st = hs_jobs_submit_diagnose(app, &req->user, model_id, blob_key,
                                           format, name, adapt, &job, err);
    if (st != HS_OK)
        return st;
    reply_job(app, resp, &job);
    hs_job_rec_free(&job);
    return HS_OK;
}

static void diagnose_rows(hs_app *app, hs_req *req, hs_resp *resp,
                          const json_t *body, const hl_model *m, hs_id model_id)
{
    const char *name = "inline rows";
    int store = 1, adapt = 0;
    if (hs_api_opt_string(body, "name", &name, resp) != 0 ||
        hs_api_opt_bool(body, "store", &store, resp) != 0 ||
        adapt_of_json(body, &adapt, resp) != 0)
        return;
    hl_dataset *ds = NULL;
    json_t *details = NULL;
    hl_warnings warn = {0};
    hs_error err = {0};
    hs_diag_result res = {0};
    const json_t *rows = json_object_get(body, "rows");
    if (!rows) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "rows"),
                       "send the samples in 'rows' (or a CSV as multipart)");
        return;
    }
    hs_status st = hs_diag_rows_to_dataset(m, rows, &ds, &details, &warn, &err);
    if (st == HS_OK && store && ds->n_rows > app->limits.sync_rows) {
        hs_job_rec job;
        st = hs_jobs_submit_diagnose_rows(app, &req->user, model_id, rows, name,
                                          adapt, &job, &err);
        if (st != HS_OK) {
            hs_reply_status(resp, st, &err);
        } else {
            reply_job(app, resp, &job);
            hs_job_rec_free(&job);
        }
        goto done;
    }
    if (st == HS_OK)
        st = hs_diag_run(m, ds, adapt, request_budget_ms(app), NULL,
                         &warn, &res, &err);
    if (st == HS_ERR_INVALID)
        hs_reply_error(resp, 422, "invalid_data", details, "%s", err.message);
    else {
        json_decref(details);
        if (st != HS_OK)
            hs_reply_status(resp, st, &err);
        else
            reply_result(app, req, resp, model_id, name, store, &res, m, ds);
    }
done:
    hs_diag_result_free(&res);
    hl_warnings_free(&warn);
    hl_dataset_free(ds);
}

static void diagnose_upload(hs_app *app, hs_req *req, hs_resp *resp,
                            const hl_model *m, hs_id model_id)
{
    if (!req->upload.present) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "file"),
                       "the form has no part named 'file'");
        return;
    }
    int adapt;
    if (adapt_of_form(req, &adapt, resp) != 0)
        return;
    const char *name = hs_req_field(req, "name");
    if (!name || !*name)
        name = req->upload.filename[0] ? req->upload.filename : "upload.csv";
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.keep_unlabelled = 1;
    opt.max_bytes = app->limits.max_upload_bytes + 1;
    hl_dataset *ds = NULL;
    hl_error csv_err;
    hs_error err = {0};
    hs_status st = hs_datasets_load_blob(app, req->upload.blob_key, name, &opt,
                                         &ds, &csv_err, &err);
    if (st == HS_ERR_INVALID) {
        hs_api_reply_csv_error(resp, &csv_err);
        return;
    }
    if (st == HS_OK && ds->n_rows == 0)
        st = hs_fail(&err, HS_ERR_INVALID, "%s: no data rows", name);
    json_t *details = NULL;
    if (st == HS_OK && hs_diag_check_columns(m, ds, &details, &err) != HS_OK) {
        hs_reply_error(resp, 422, "invalid_data", details, "%s", err.message);
        hl_dataset_free(ds);
        return;
    }
    if (st == HS_OK && ds->n_rows > app->limits.sync_rows) {
        st = submit_job(app, req, resp, model_id, req->upload.blob_key, "csv",
                        name, adapt, &err);
        if (st == HS_OK)
            req->upload.blob_key[0] = '\0'; /* the job owns it */
    } else if (st == HS_OK) {
        hl_warnings warn = {0};
        hs_diag_result res = {0};
        st = hs_diag_run(m, ds, adapt, request_budget_ms(app), NULL,
                         &warn, &res, &err);
        if (st == HS_OK)
            reply_result(app, req, resp, model_id, name, 1, &res, m, ds);
        hs_diag_result_free(&res);
        hl_warnings_free(&warn);
    }
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    hl_dataset_free(ds);
}

void hs_api_diagnoses_create(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = NULL;
    hs_id model_id = 0;
    if (req->is_multipart) {
        const char *id = hs_req_field(req, "model_id");
        char *end = NULL;
        long long v = id ? strtoll(id, &end, 10) : 0;
        if (!id || !*id || *end || v <= 0) {
            hs_reply_error(resp, 400, "bad_request",
                           json_pack("{s:s}", "field", "model_id"),
                           "the form needs a 'model_id' part with a model id");
            return;
        }
        model_id = (hs_id)v;
    } else {
        if (!(body = hs_api_body(req, resp)))
            return;
        if (hs_api_opt_id(body, "model_id", &model_id, resp) != 0)
            goto done;
        if (!model_id) {
            hs_reply_error(resp, 400, "bad_request",
                           json_pack("{s:s}", "field", "model_id"),
                           "'model_id' is required");
            goto done;
        }
    }
    hs_model_ref *ref = NULL;
    hs_error err = {0};
    hs_status st = hs_models_acquire(app, model_id, &req->user, &ref, NULL, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        goto done;
    }
    if (req->is_multipart)
        diagnose_upload(app, req, resp, hs_model_ref_get(ref), model_id);
    else
        diagnose_rows(app, req, resp, body, hs_model_ref_get(ref), model_id);
    hs_models_release(app, ref);
done:
    json_decref(body);
}

static json_t *diagnosis_item(const void *rec, int64_t now)
{
    (void)now;
    return hs_api_diagnosis_json(rec);
}

void hs_api_diagnoses_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_diagnosis_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_diagnoses_list(app, &req->user,
                                     hs_api_include_deleted(req), &items, &n,
                                     &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         diagnosis_item,
                         hs_clock_now(app->clock));
    hs_diagnosis_list_free(items, n);
}

/* The diagnosis of the path's {id}; 0 after answering with the error. */
int hs_api_load_diagnosis(hs_app *app, hs_req *req, hs_resp *resp,
                          hs_diagnosis_rec *rec)
{
    hs_error err = {0};
    hs_status st = hs_diagnoses_get(app, req->ids[0], &req->user, rec, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        hs_diagnosis_rec_free(rec);
        return 0;
    }
    return 1;
}

/* The filter of a diagnosis's rows in the query (docs/api.md). */
static hs_diag_query query_of(const hs_req *req)
{
    return (hs_diag_query){hs_req_query(req, "predicted"),
                           hs_req_query(req, "max_confidence"),
                           hs_req_query(req, "abnormal")};
}

/* When the diagnosis's model went to the trash, or null (live, or
 * deleted for good: model_id is null then). */
static json_t *model_deleted_at(hs_app *app, const hs_user *viewer,
                                const hs_diagnosis_rec *rec)
{
    hs_model_rec m;
    int64_t at = 0;
    memset(&m, 0, sizeof m);
    if (rec->model_id &&
        hs_models_get(app, rec->model_id, viewer, &m, NULL) == HS_OK)
        at = m.deleted_at;
    hs_model_rec_free(&m);
    return hs_api_time(at);
}

void hs_api_diagnosis_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    size_t offset, limit, total = 0;
    hs_diagnosis_rec rec;
    json_t *items = NULL;
    hs_error err = {0};
    int filtered = 0;
    if (hs_api_paging(req, resp, &offset, &limit) != 0 ||
        !hs_api_load_diagnosis(app, req, resp, &rec))
        return;
    hs_diag_query q = query_of(req);
    hs_status st = hs_diagnoses_page(app, &rec, &q, offset, limit, &items,
                                     &total, &filtered, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else {
        json_t *out = hs_api_diagnosis_json(&rec);
        if (out) { /* its model may be in the trash: say so */
            json_object_set_new(out, "filtered", json_boolean(filtered));
            json_object_set_new(out, "model_deleted_at",
                                model_deleted_at(app, &req->user, &rec));
            json_object_set_new(out, "results",
                                hs_api_page_json(items, total, offset, limit));
        } else {
            json_decref(items);
        }
        hs_reply_json(resp, 200, out);
    }
    hs_diagnosis_rec_free(&rec);
}

void hs_api_diagnosis_sample(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_diagnosis_rec rec;
    json_t *out = NULL;
    hs_error err = {0};
    if (!hs_api_load_diagnosis(app, req, resp, &rec))
        return;
    hs_status st =
        hs_diagnoses_sample(app, &rec, (size_t)req->ids[1], &out, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, out);
    hs_diagnosis_rec_free(&rec);
}

void hs_api_diagnosis_projection(hs_app *app, hs_req *req, hs_resp *resp)
{
    const char *mp = hs_req_query(req, "max_points");
    char *end = NULL;
    unsigned long long max_points = mp ? strtoull(mp, &end, 10) : 5000;
    if (mp && (!*mp || *mp == '-' || *end || max_points < 1 ||
               max_points > 100000)) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "max_points"),
                       "?max_points= must be a whole number in 1..100000");
        return;
    }
    hs_diagnosis_rec rec;
    json_t *out = NULL;
    hs_error err = {0};
    if (!hs_api_load_diagnosis(app, req, resp, &rec))
        return;
    hs_status st = hs_diagnoses_projection(app, &rec, (size_t)max_points, &out,
                                           &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, out);
    hs_diagnosis_rec_free(&rec);
}

/* The JSON export: the diagnosis, then its rows (those q keeps) as the
 * domain streams them. */
static hs_status export_json(hs_app *app, const hs_diagnosis_rec *rec,
                             const hs_diag_query *q, FILE *f, hs_error *err)
{
    json_t *view = hs_api_diagnosis_json(rec);
    if (view)
        json_object_set_new(view, "filtered",
                            json_boolean(hs_diag_query_filters(q)));
    if (!view || fputs("{\"diagnosis\":", f) == EOF ||
        json_dumpf(view, f, JSON_COMPACT | JSON_REAL_PRECISION(10)) != 0 ||
        fputs(",\"rows\":", f) == EOF) {
        json_decref(view);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    json_decref(view);
    hs_status st = hs_diagnoses_export(app, rec, "json", q, 0, f, err);
    if (st == HS_OK && fputc('}', f) == EOF)
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    return st;
}

void hs_api_diagnosis_download(hs_app *app, hs_req *req, hs_resp *resp)
{
    const char *format = hs_req_query(req, "format");
    if (!format)
        format = "csv";
    if (strcmp(format, "csv") && strcmp(format, "json")) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "format"),
                       "?format= must be csv or json");
        return;
    }
    const char *ex = hs_req_query(req, "explain");
    char *end = NULL;
    long explain = ex ? strtol(ex, &end, 10) : 0;
    if (ex && (!*ex || *end || explain < 1 || explain > HL_EXPLAIN_MAX_TOP)) {
        hs_reply_error(resp, 422, "invalid_data",
                       json_pack("{s:s}", "field", "explain"),
                       "?explain= must be a whole number of KPIs from 1 to %d",
                       HL_EXPLAIN_MAX_TOP);
        return;
    }
    if (ex && strcmp(format, "csv")) {
        hs_reply_error(resp, 422, "invalid_data",
                       json_pack("{s:s}", "field", "explain"),
                       "?explain= adds columns to the CSV export; the JSON "
                       "export carries every row's top and abnormal KPIs "
                       "already");
        return;
    }
    hs_diag_query q = query_of(req);
    hs_diagnosis_rec rec;
    if (!hs_api_load_diagnosis(app, req, resp, &rec))
        return;
    char name[80];
    hs_error err = {0};
    /* Spooled to an unlinked temporary file and streamed from there: a
     * million-row export never sits in memory. */
    FILE *f = tmpfile();
    hs_status st = !f ? hs_fail(&err, HS_ERR_IO, "cannot spool the export")
                   : !strcmp(format, "csv")
                       ? hs_diagnoses_export(app, &rec, "csv", &q,
                                             (size_t)explain, f, &err)
                       : export_json(app, &rec, &q, f, &err);
    long size = st == HS_OK && fflush(f) == 0 ? ftell(f) : -1;
    int fd = size >= 0 ? dup(fileno(f)) : -1;
    if (st == HS_OK && (size < 0 || fd < 0))
        st = hs_fail(&err, HS_ERR_IO, "cannot spool the export");
    if (f)
        fclose(f);
    if (st != HS_OK) {
        if (fd >= 0)
            close(fd);
        hs_reply_status(resp, st, &err);
    } else {
        lseek(fd, 0, SEEK_SET);
        hs_reply_fd(resp, 200,
                    !strcmp(format, "csv") ? "text/csv; charset=utf-8"
                                           : "application/json; charset=utf-8",
                    fd, (uint64_t)size);
        snprintf(name, sizeof name, "diagnosis-%lld.%s", (long long)rec.id,
                 format);
        hs_api_attachment(resp, name);
    }
    hs_diagnosis_rec_free(&rec);
}

/* A trash move or restore answered as datasets' are: the record without
 * its results, as it is after the change. */
static void reply_trash(hs_resp *resp, hs_status st, hs_diagnosis_rec *rec,
                        hs_error *err)
{
    if (st != HS_OK)
        hs_reply_status(resp, st, err);
    else
        hs_reply_json(resp, 200, hs_api_diagnosis_json(rec));
    hs_diagnosis_rec_free(rec);
}

void hs_api_diagnosis_delete(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_diagnosis_rec rec;
    hs_error err = {0};
    hs_status st = hs_diagnoses_trash(app, req->ids[0], &req->user, req->client,
                                      &rec, &err);
    reply_trash(resp, st, &rec, &err);
}

void hs_api_diagnosis_restore(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_diagnosis_rec rec;
    hs_error err = {0};
    hs_status st = hs_diagnoses_restore(app, req->ids[0], &req->user,
                                        req->client, &rec, &err);
    reply_trash(resp, st, &rec, &err);
}
