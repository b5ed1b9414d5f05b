/* api_jobs.c - submit, list, show and cancel background jobs. */
#include <string.h>

#include "base/clock.h"
#include "domain/jobs.h"
#include "http/api.h"

void hs_api_jobs_create(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *type = NULL, *algo = NULL, *name = NULL;
    hs_id dataset_id = 0;
    if (!body)
        return;
    if (hs_api_req_string(body, "type", &type, resp) != 0 ||
        hs_api_opt_string(body, "algo", &algo, resp) != 0 ||
        hs_api_opt_string(body, "name", &name, resp) != 0 ||
        hs_api_opt_id(body, "dataset_id", &dataset_id, resp) != 0)
        goto done;
    if (strcmp(type, "train") != 0) {
        hs_reply_error(resp, 422, "invalid_params",
                       json_pack("{s:s}", "field", "type"),
                       "unknown job type '%.32s' (jobs you can submit: train; "
                       "large diagnoses become jobs by themselves)",
                       type);
        goto done;
    }
    if (!dataset_id) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "dataset_id"),
                       "a training job needs 'dataset_id'");
        goto done;
    }
    if (name && strlen(name) >= HS_DATASET_NAME_MAX) {
        hs_reply_error(resp, 422, "invalid_params",
                       json_pack("{s:s}", "field", "name"),
                       "'name' is longer than %d bytes", HS_DATASET_NAME_MAX - 1);
        goto done;
    }
    hs_job_rec job;
    hs_error err = {0};
    hs_status st = hs_jobs_submit_train(app, &req->user, dataset_id, algo,
                                        json_object_get(body, "params"), name,
                                        &job, &err);
    if (st == HS_OK) {
        hs_reply_json(resp, 202, hs_api_job_json(&job, hs_clock_now(app->clock)));
        hs_job_rec_free(&job);
    } else if (st == HS_ERR_INVALID) {
        int is_param = !strncmp(err.field, "params", 6) || !strcmp(err.field, "algo");
        hs_reply_error(resp, 422, is_param ? "invalid_params" : "invalid_data",
                       json_pack("{s:s}", "field", err.field), "%s", err.message);
    } else {
        hs_reply_status(resp, st, &err);
    }
done:
    json_decref(body);
}

static json_t *job_item(const void *rec, int64_t now)
{
    return hs_api_job_json(rec, now);
}

void hs_api_jobs_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_job_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_jobs_list(app, &req->user, &items, &n, &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         job_item,
                         hs_clock_now(app->clock));
    hs_job_list_free(items, n);
}

void hs_api_job_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_job_rec job;
    hs_error err = {0};
    hs_status st = hs_jobs_get(app, req->ids[0], &req->user, &job, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, hs_api_job_json(&job, hs_clock_now(app->clock)));
    hs_job_rec_free(&job);
}

void hs_api_job_cancel(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_job_rec job;
    hs_error err = {0};
    hs_status st = hs_jobs_cancel(app, req->ids[0], &req->user, &job, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, hs_api_job_json(&job, hs_clock_now(app->clock)));
    hs_job_rec_free(&job);
}
