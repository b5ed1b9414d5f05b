/* api_jobs.c - submit, list, show and cancel background jobs. The request
 * of POST /jobs is the job type's to check (domain/job_types.h): this file
 * knows no type (a list may keep one type, by name). A job is shown with its attempts (a training's; other
 * types have none), read with it. */
#include <string.h>

#include "base/clock.h"
#include "domain/job_types.h"
#include "domain/jobs.h"
#include "http/api.h"

/* A refused parameter of the request (its type, learner, name,
 * params.*, a pipeline's adapt or a retraining's feedback.weight) is
 * "invalid_params"; a
 * refused input it names (a dataset without labels, diagnoses without
 * labelled rows) is "invalid_data". */
static int is_request_param(const char *field)
{
    return !strcmp(field, "type") || !strcmp(field, "algo") ||
           !strcmp(field, "name") || !strcmp(field, "params") ||
           !strncmp(field, "params.", 7) || !strcmp(field, "feedback.weight") ||
           !strcmp(field, "adapt");
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
        /* Queued: no attempt yet. */
        hs_reply_json(resp, 202,
                      hs_api_job_json(&job, NULL, 0, hs_clock_now(app->clock)));
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

/* The attempts of job_id among all (sorted by job id, then number):
 * *first and the count. */
static size_t attempts_of(const hs_job_attempt *all, size_t n, hs_id job_id,
                          const hs_job_attempt **first)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (all[mid].job_id < job_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < n && all[end].job_id == job_id)
        end++;
    *first = all + lo;
    return end - lo;
}

/* Two reads - the jobs, then every visible job's attempts - however many
 * jobs there are. ?type=NAME keeps the jobs of one type (a known one). */
void hs_api_jobs_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_job_rec *items = NULL;
    hs_job_attempt *attempts = NULL;
    size_t n = 0, n_attempts = 0;
    hs_error err = {0};
    const char *only = hs_req_query(req, "type");
    if (only && !hs_job_type_find(app->job_types, only)) {
        hs_reply_error(resp, 422, "invalid_params",
                       json_pack("{s:s}", "field", "type"),
                       "unknown job type '%.32s'", only);
        return;
    }
    hs_status st = hs_jobs_list(app, &req->user, &items, &n, &err);
    if (st == HS_OK)
        st = hs_jobs_attempts(app, 0, &req->user, &attempts, &n_attempts, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else {
        int64_t now = hs_clock_now(app->clock);
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++) {
            const hs_job_attempt *first;
            if (only && strcmp(items[i].type, only))
                continue;
            size_t k = attempts_of(attempts, n_attempts, items[i].id, &first);
            json_array_append_new(list,
                                  hs_api_job_json(&items[i], first, k, now));
        }
        hs_api_reply_list(req, resp, list);
    }
    hs_job_attempt_list_free(attempts, n_attempts);
    hs_job_list_free(items, n);
}

/* Answers with job (read, st HS_OK) and its attempts, or with st's error. */
static void reply_job(hs_app *app, hs_req *req, hs_resp *resp, hs_status st,
                      hs_error *err, const hs_job_rec *job)
{
    hs_job_attempt *attempts = NULL;
    size_t n = 0;
    if (st == HS_OK)
        st = hs_jobs_attempts(app, job->id, &req->user, &attempts, &n, err);
    if (st != HS_OK)
        hs_reply_status(resp, st, err);
    else
        hs_reply_json(
            resp, 200,
            hs_api_job_json(job, attempts, n, hs_clock_now(app->clock)));
    hs_job_attempt_list_free(attempts, n);
}

void hs_api_job_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_job_rec job;
    hs_error err = {0};
    hs_status st = hs_jobs_get(app, req->ids[0], &req->user, &job, &err);
    reply_job(app, req, resp, st, &err, &job);
    hs_job_rec_free(&job);
}

void hs_api_job_cancel(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_job_rec job;
    hs_error err = {0};
    hs_status st = hs_jobs_cancel(app, req->ids[0], &req->user, &job, &err);
    reply_job(app, req, resp, st, &err, &job);
    hs_job_rec_free(&job);
}
