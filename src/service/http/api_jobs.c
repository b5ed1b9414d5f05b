/* api_jobs.c - submit, list, show and cancel background jobs. The request
 * of POST /jobs is the job type's to check (domain/job_types.h): this file
 * knows no type. */
#include <string.h>

#include "base/clock.h"
#include "domain/jobs.h"
#include "http/api.h"

/* A refused parameter of the request (its type, learner, name or
 * params.*) is "invalid_params"; a refused input it names (a dataset
 * without labels) is "invalid_data". */
static int is_request_param(const char *field)
{
    return !strcmp(field, "type") || !strcmp(field, "algo") ||
           !strcmp(field, "name") || !strcmp(field, "params") ||
           !strncmp(field, "params.", 7);
}

void hs_api_jobs_create(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    if (!body)
        return;
    hs_job_rec job;
    hs_error err = {0};
    hs_status st = hs_jobs_submit(app, &req->user, body, &job, &err);
    if (st == HS_OK) {
        hs_reply_json(resp, 202,
                      hs_api_job_json(&job, hs_clock_now(app->clock)));
        hs_job_rec_free(&job);
    } else if (st == HS_ERR_INVALID) {
        hs_reply_error(resp, 422,
                       is_request_param(err.field) ? "invalid_params"
                                                   : "invalid_data",
                       err.field[0] ? json_pack("{s:s}", "field", err.field)
                                    : NULL,
                       "%s", err.message);
    } else {
        hs_reply_status(resp, st, &err);
    }
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
