/* api_models.c - list, show, download and delete trained models. A model
 * is shown with the attempts of the training that made it (its job's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "domain/jobs.h"
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
    hs_api_reply_blob(app, resp, rec.blob_key, "application/octet-stream",
                      name);
    hs_model_rec_free(&rec);
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
    hs_status st = hs_models_trash(app, req->ids[0], &req->user, &rec, &err);
    reply_trash(resp, st, &rec, &err);
}

void hs_api_model_restore(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_model_rec rec;
    hs_error err = {0};
    hs_status st = hs_models_restore(app, req->ids[0], &req->user, &rec, &err);
    reply_trash(resp, st, &rec, &err);
}
