/* domain/job_ingest.c - the "ingest" job type: a large upload's
 * ingestion, off the HTTP threads.
 *
 * An upload over `ingest-async-kb` is answered once its bytes are
 * committed to the blob store, with a dataset record "ingesting" and one
 * of these jobs queued in the same transaction (dataset_upload.c). Running
 * it is what the HTTP thread does for a small upload - the engine reads,
 * checks and profiles the file (datasets.c, hs_datasets_ingest_run) - with
 * progress between the stages, then the dataset ends ready, or failed
 * with the engine's error (its blob deleted: the file was at fault). Any
 * other error (store or blobs unavailable, a wrong data key, a file over
 * this process's limit) fails it keeping the file, to try again in
 * place (POST /datasets/{id}/ingest) or download. The run is idempotent: a
 * job re-queued after a crash (the lease rules) starts over, and one
 * whose dataset already ended finds nothing to do. The end is not tied to
 * the job that runs now: a stale run (a worker cut off from the store
 * past its lease) may end the dataset of a later retry's run. Every run
 * reads the same committed file, so the first end is as good as any; the
 * later run then fails saying the ingestion ended already. Jobs on the dataset
 * wait meanwhile without holding a worker: the store's claims skip them
 * (store.h, claim_next). Users do not submit it; it makes no record of
 * its own (the dataset is its dataset_id).
 */
#include <stdio.h>
#include <string.h>

#include "domain/datasets.h"
#include "domain/fields.h"
#include "domain/job_types.h"
#include "store/store.h"

static hs_status prepare(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out, hs_error *err)
{
    hs_id dataset_id = 0;
    const char *name = NULL;
    (void)app;
    (void)viewer;
    hs_status st = hs_field_id(request, "dataset_id", 1, &dataset_id, err);
    if (st == HS_OK)
        st = hs_field_string(request, "name", 1, HS_DATASET_NAME_MAX - 1, &name,
                             err);
    if (st != HS_OK)
        return st;
    out->dataset_id = dataset_id;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->params_json = strdup("{}");
    return out->params_json ? HS_OK
                            : hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

/* A stage reached: written at once (each write renews the lease). */
static int stage(void *ctx, double progress)
{
    hs_job_run *r = ctx;
    return r->report(r, progress, 0, 0, NULL, NULL, 1);
}

/* Whether the job was stopped by its owner's cancel (rather than a
 * shutdown or a lost lease, after which it runs again). */
static int cancelled(hs_job_run *r)
{
    hs_job_rec j;
    hs_error err = {0};
    if (hs_store_job_get(r->app->store, r->job->id, 0, 1, &j, &err) != HS_OK)
        return 0;
    int asked = j.cancel_requested;
    hs_job_rec_free(&j);
    return asked;
}

static void run(hs_job_run *r, hs_job_outcome *o)
{
    hs_error err = {0};
    int stopped = 0;
    hs_id id = r->job->dataset_id;
    hs_status st = hs_datasets_ingest_run(r->app, id, stage, r, &stopped, &err);
    if (st == HS_OK) {
        o->state = HS_JOB_SUCCEEDED;
        r->report(r, 1.0, 0, 0, NULL, NULL, 1);
        return;
    }
    if (stopped && !cancelled(r)) { /* the runner re-queues or lets go */
        o->state = HS_JOB_CANCELLED;
        snprintf(o->error, sizeof o->error, "stopped");
        return;
    }
    if (st == HS_ERR_UNAVAILABLE && !stopped) {
        /* The store's outage, not the file's: the job goes back to the
         * queue and reads the file again once the store answers. */
        hs_job_outcome_failed(o, st, err.message);
        return;
    }
    char why[HS_MESSAGE_MAX];
    if (stopped)
        snprintf(why, sizeof why, "%s", HS_INGEST_CANCELLED_REASON);
    else
        hs_datasets_ingest_kept_reason(why, err.message);
    o->state = stopped ? HS_JOB_CANCELLED : HS_JOB_FAILED;
    /* The engine's rejection already failed the dataset (file deleted):
     * the job says why; anything else fails it keeping the file. */
    hs_copy_message(o->error, sizeof o->error,
                    st == HS_ERR_INVALID ? err.message : why);
    hs_datasets_ingest_abandon(r->app, id, why, NULL);
}

static void discard(hs_app *app, const hs_job_rec *job, hs_id result_id)
{
    (void)app;
    (void)job;
    (void)result_id; /* no record of its own: nothing to take back */
}

const hs_job_type hs_job_type_ingest = {
    .name = HS_JOB_TYPE_INGEST,
    .result_kind = "dataset",
    .user_submittable = 0,
    .prepare = prepare,
    .run = run,
    .discard = discard,
    .describe = NULL,
};
