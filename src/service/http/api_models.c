/* api_models.c - list, show, download and delete trained models, and set
 * the names of their classes. A model is shown with the attempts of the
 * training that made it (its job's); a download carries the class names
 * as they are now (hs_models_file). The leaderboard scores the user's
 * models on one labelled dataset (domain/leaderboard.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "domain/fields.h"
#include "domain/jobs.h"
#include "domain/leaderboard.h"
#include "domain/models.h"
#include "http/api.h"

static json_t *model_item(const void *rec, int64_t now)
{
    (void)now;
    return hs_api_model_json(rec, 0);
}

void hs_api_models_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_model_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_models_list(app, &req->user, hs_api_include_deleted(req),
                                  &items, &n, &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         model_item,
                         hs_clock_now(app->clock));
    hs_model_list_free(items, n);
}

/* Reads the model of the path's {id} for the viewer; 0 after answering. */
static int get_model(hs_app *app, hs_req *req, hs_resp *resp, hs_model_rec *rec)
{
    hs_error err = {0};
    hs_status st = hs_models_get(app, req->ids[0], &req->user, rec, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return 0;
    }
    return 1;
}

void hs_api_model_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_model_rec rec;
    hs_job_attempt *attempts = NULL;
    size_t n = 0;
    hs_error err = {0};
    if (!get_model(app, req, resp, &rec))
        return;
    /* The model's owner owns its job, so the job is visible to whoever
     * sees the model; a model without a job (imported) has no attempts. */
    hs_status st = rec.job_id ? hs_jobs_attempts(app, rec.job_id, &req->user,
                                                 &attempts, &n, &err)
                              : HS_OK;
    if (st == HS_ERR_NOTFOUND) /* no job to tell of: the model still is */
        st = HS_OK;
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else {
        json_t *j = hs_api_model_json(&rec, 1);
        if (j)
            json_object_set_new(j, "attempts",
                                hs_api_attempts_json(attempts, n));
        hs_reply_json(resp, 200, j);
    }
    hs_job_attempt_list_free(attempts, n);
    hs_model_rec_free(&rec);
}

void hs_api_model_download(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_model_rec rec;
    if (!get_model(app, req, resp, &rec))
        return;
    char name[64];
    snprintf(name, sizeof name, "model-%lld.model", (long long)rec.id);
    uint8_t *bytes = NULL;
    size_t len = 0;
    hs_error err = {0};
    hs_status st = hs_models_file(app, &rec, &bytes, &len, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else if (bytes) {
        hs_reply_bytes(resp, 200, "application/octet-stream", bytes, len);
        hs_api_attachment(resp, name);
    } else {
        hs_api_reply_blob(app, resp, rec.blob_key, "application/octet-stream",
                          name);
    }
    free(bytes);
    hs_model_rec_free(&rec);
}

void hs_api_model_class_names_put(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    if (!body)
        return;
    const json_t *names = json_object_get(body, "class_names");
    hs_model_rec rec;
    hs_error err = {0};
    hs_status st = names ? hs_models_set_class_names(app, req->ids[0],
                                                     &req->user, names, &rec,
                                                     &err)
                         : hs_fail_field(&err, HS_ERR_MALFORMED, "class_names",
                                         "send {\"class_names\": {\"LABEL\": "
                                         "{\"name\", \"description\", "
                                         "\"action\"}, ...}}");
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else {
        hs_reply_json(resp, 200, hs_api_model_json(&rec, 1));
        hs_model_rec_free(&rec);
    }
    json_decref(body);
}

void hs_api_model_report(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_model_rec rec;
    if (!get_model(app, req, resp, &rec))
        return;
    char name[64];
    snprintf(name, sizeof name, "model-%lld-report.json", (long long)rec.id);
    hs_reply_json(resp, 200, hs_api_stored_json(rec.summary_json));
    hs_api_attachment(resp, name);
    hs_model_rec_free(&rec);
}

/* A trash move or restore answered as datasets' are: the record without
 * its summary, as it is after the change. */
static void reply_trash(hs_resp *resp, hs_status st, hs_model_rec *rec,
                        hs_error *err)
{
    if (st != HS_OK)
        hs_reply_status(resp, st, err);
    else
        hs_reply_json(resp, 200, hs_api_model_json(rec, 0));
    hs_model_rec_free(rec);
}

void hs_api_model_delete(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_model_rec rec;
    hs_error err = {0};
    hs_status st =
        hs_models_trash(app, req->ids[0], &req->user, req->client, &rec, &err);
    reply_trash(resp, st, &rec, &err);
}

void hs_api_model_restore(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_model_rec rec;
    hs_error err = {0};
    hs_status st = hs_models_restore(app, req->ids[0], &req->user, req->client,
                                     &rec, &err);
    reply_trash(resp, st, &rec, &err);
}

/* model_ids: absent, or an array of positive integers (n 0 when absent). */
static hs_status read_model_ids(const json_t *body, hs_id **ids, size_t *n,
                                hs_error *err)
{
    const json_t *a = json_object_get(body, "model_ids");
    *ids = NULL;
    *n = 0;
    if (!a || json_is_null(a))
        return HS_OK;
    if (!json_is_array(a))
        return hs_fail_field(err, HS_ERR_MALFORMED, "model_ids",
                             "'model_ids' must be an array of model ids");
    size_t count = json_array_size(a);
    if (count && !(*ids = calloc(count, sizeof **ids)))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || json_integer_value(v) <= 0) {
            char field[HS_FIELD_MAX];
            snprintf(field, sizeof field, "model_ids.%zu", i);
            free(*ids);
            *ids = NULL;
            return hs_fail_field(err, HS_ERR_MALFORMED, field,
                                 "'%s' must be a model id", field);
        }
        (*ids)[i] = (hs_id)json_integer_value(v);
    }
    *n = count;
    return HS_OK;
}

void hs_api_models_leaderboard(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    if (!body)
        return;
    hs_id dataset_id = 0, *ids = NULL;
    size_t n = 0;
    json_t *out = NULL;
    hs_error err = {0};
    hs_status st = hs_field_id(body, "dataset_id", 1, &dataset_id, &err);
    if (st == HS_OK)
        st = read_model_ids(body, &ids, &n, &err);
    if (st == HS_OK)
        st = hs_leaderboard(app, &req->user, dataset_id, ids, n, &out, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, out);
    free(ids);
    json_decref(body);
}
