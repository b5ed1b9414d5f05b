/* domain/jobs.c - the jobs service (see jobs.h). */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/datasets.h"
#include "domain/job_types.h"
#include "domain/jobs.h"
#include "domain/runner.h"
#include "store/store.h"

/* The user's share of the queue first (so that one user cannot fill it:
 * 429, theirs to wait for), then the queue's own capacity (503). */
hs_status hs_jobs_check_capacity(hs_app *app, const hs_user *viewer,
                                 hs_error *err)
{
    int64_t counts[HS_JOB_STATES];
    unsigned share = app->limits.max_queued_jobs_per_user;
    hs_status st = share ? hs_store_job_owner_counts(app->store, viewer->id,
                                                     counts, err)
                         : HS_OK;
    if (st != HS_OK)
        return st;
    if (share && counts[HS_JOB_QUEUED] >= (int64_t)share)
        return hs_fail(err, HS_ERR_QUOTA,
                       "you have %lld jobs queued; the limit is %u",
                       (long long)counts[HS_JOB_QUEUED], share);
    st = hs_store_job_counts(app->store, counts, err);
    if (st != HS_OK)
        return st;
    if (counts[HS_JOB_QUEUED] >= (int64_t)app->limits.max_queued_jobs)
        return hs_fail(err, HS_ERR_BUSY,
                       "%lld jobs are already waiting; try again later",
                       (long long)counts[HS_JOB_QUEUED]);
    return HS_OK;
}

/* The type prepares the record; the service queues it and wakes a worker.
 * *out is freed on failure. */
static hs_status submit(hs_app *app, const hs_job_type *type,
                        const hs_user *viewer, const json_t *request,
                        hs_job_rec *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    hs_status st = type->prepare(app, viewer, request, out, err);
    /* An upload's ingestion is the system's work, not the user's: the
     * upload is bounded by max-upload-mb and the disk, and refusing it
     * here would refuse an upload for other jobs' sake. */
    if (st == HS_OK && strcmp(type->name, HS_JOB_TYPE_INGEST) != 0)
        st = hs_jobs_check_capacity(app, viewer, err);
    if (st == HS_OK) {
        out->owner_id = viewer->id;
        snprintf(out->type, sizeof out->type, "%s", type->name);
        out->state = HS_JOB_QUEUED;
        out->created_at = hs_clock_now(app->clock);
        st = hs_store_job_create(app->store, out, err);
    }
    if (st == HS_OK)
        hs_runner_wake(app->runner);
    else
        hs_job_rec_free(out);
    return st;
}

/* A job the service makes itself (not through POST /jobs): type
 * `type_name` from `request`, which it takes (NULL: out of memory). */
static hs_status submit_own(hs_app *app, const char *type_name,
                            const hs_user *viewer, json_t *request,
                            hs_job_rec *out, hs_error *err)
{
    const hs_job_type *type = hs_job_type_find(app->job_types, type_name);
    memset(out, 0, sizeof *out);
    hs_status st = !type ? hs_fail(err, HS_ERR_INTERNAL,
                                   "no %s job type in this build", type_name)
                   : !request ? hs_fail(err, HS_ERR_NOMEM, "out of memory")
                              : submit(app, type, viewer, request, out, err);
    json_decref(request);
    return st;
}

hs_status hs_jobs_submit(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out,
                         hs_error *err)
{
    const char *name = json_string_value(json_object_get(request, "type"));
    const hs_job_type *type = hs_job_type_find(app->job_types, name);
    memset(out, 0, sizeof *out);
    if (!name)
        return hs_fail_field(err, HS_ERR_MALFORMED, "type",
                             "'type' is required (a string)");
    if (!type || !type->user_submittable)
        return hs_fail_field(err, HS_ERR_INVALID, "type",
                             "unknown job type '%.32s' (large diagnoses "
                             "become jobs by themselves)",
                             name);
    return submit(app, type, viewer, request, out, err);
}

hs_status hs_jobs_submit_diagnose(hs_app *app, const hs_user *viewer,
                                  hs_id model_id, const char *input_blob_key,
                                  const char *format, const char *name,
                                  int adapt, hs_job_rec *out, hs_error *err)
{
    return submit_own(app, "diagnose", viewer,
                      json_pack("{s:I, s:s, s:s, s:s, s:b}", "model_id",
                                (json_int_t)model_id, "input_blob_key",
                                input_blob_key, "format", format, "name", name,
                                "adapt", adapt),
                      out, err);
}

hs_status hs_jobs_submit_ingest(hs_app *app, const hs_user *owner,
                                hs_id dataset_id, const char *name,
                                hs_job_rec *out, hs_error *err)
{
    return submit_own(app, HS_JOB_TYPE_INGEST, owner,
                      json_pack("{s:I, s:s}", "dataset_id",
                                (json_int_t)dataset_id, "name", name),
                      out, err);
}

hs_status hs_jobs_submit_diagnose_rows(hs_app *app, const hs_user *viewer,
                                       hs_id model_id, const json_t *rows,
                                       const char *name, int adapt,
                                       hs_job_rec *out, hs_error *err)
{
    char key[HS_BLOB_KEY_MAX];
    char *text = json_dumps(rows, JSON_COMPACT);
    memset(out, 0, sizeof *out);
    if (!text)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status st = hs_blob_put(app->blobs, "upload", text, strlen(text), key,
                               err);
    free(text);
    if (st != HS_OK)
        return st;
    st = hs_jobs_submit_diagnose(app, viewer, model_id, key, "json", name,
                                 adapt, out, err);
    if (st != HS_OK)
        hs_blob_delete(app->blobs, key, NULL);
    return st;
}

hs_status hs_jobs_get(hs_app *app, hs_id id, const hs_user *viewer,
                      hs_job_rec *out, hs_error *err)
{
    return hs_store_job_get(app->store, id, viewer->id, viewer->is_admin, out,
                            err);
}

hs_status hs_jobs_list(hs_app *app, const hs_user *viewer, hs_job_rec **items,
                       size_t *n, hs_error *err)
{
    return hs_store_job_list(app->store, viewer->id, viewer->is_admin, items, n,
                             err);
}

hs_status hs_jobs_attempts(hs_app *app, hs_id id, const hs_user *viewer,
                           hs_job_attempt **items, size_t *n, hs_error *err)
{
    return hs_store_job_attempt_list(app->store, id, viewer->id,
                                     viewer->is_admin, items, n, err);
}

hs_status hs_jobs_counts(hs_app *app, int64_t counts[HS_JOB_STATES],
                         hs_error *err)
{
    return hs_store_job_counts(app->store, counts, err);
}

hs_status hs_jobs_recover(hs_app *app, int64_t *requeued, int64_t *failed,
                          hs_error *err)
{
    int64_t lost = 0;
    hs_status st = hs_store_job_recover(app->store, hs_clock_now(app->clock),
                                        HS_RUNNER_MAX_RESTARTS, requeued, &lost,
                                        err);
    if (failed)
        *failed = lost;
    return st == HS_OK && lost ? hs_datasets_ingest_fail_lost(app, err) : st;
}

hs_status hs_jobs_cancel(hs_app *app, hs_id id, const hs_user *viewer,
                         hs_job_rec *out, hs_error *err)
{
    hs_job_state state;
    memset(out, 0, sizeof *out);
    hs_status st = hs_store_job_cancel(app->store, id, viewer->id,
                                       viewer->is_admin,
                                       hs_clock_now(app->clock), &state, err);
    if (st != HS_OK)
        return st;
    if (state == HS_JOB_RUNNING)
        hs_runner_cancel(app->runner, id);
    st = hs_store_job_get(app->store, id, viewer->id, viewer->is_admin, out,
                          err);
    /* An ingestion cancelled before it ran would leave its dataset
     * ingesting for good (a running one ends it itself: job_ingest.c). */
    if (st == HS_OK && state == HS_JOB_CANCELLED &&
        !strcmp(out->type, HS_JOB_TYPE_INGEST))
        hs_datasets_ingest_abandon(app, out->dataset_id,
                                   HS_INGEST_CANCELLED_REASON, NULL);
    return st;
}
