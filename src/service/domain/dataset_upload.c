/* domain/dataset_upload.c - an upload ingested at once or by a job, and
 * a failed ingestion tried again (see dataset_upload.h). */
#include <string.h>

#include "blob/blob.h"
#include "domain/dataset_upload.h"
#include "domain/datasets.h"
#include "domain/jobs.h"
#include "store/store.h"

typedef struct deferred {
    hs_app *app;
    const hs_user *owner;
    const char *name, *blob_key;
    uint64_t size;
    hs_dataset_rec *out;
} deferred;

/* The record and its job, in one transaction. */
static hs_status record_and_queue(hs_store *store, void *arg, hs_error *err)
{
    deferred *d = arg;
    hs_job_rec job;
    (void)store;
    hs_status st = hs_datasets_create_ingesting(
        d->app, d->owner->id, d->name, d->blob_key, d->size, d->out, err);
    if (st == HS_OK)
        st = hs_jobs_submit_ingest(d->app, d->owner, d->out->id, d->name, &job,
                                   err);
    if (st == HS_OK)
        hs_job_rec_free(&job);
    return st;
}

hs_status hs_dataset_upload(hs_app *app, const hs_user *owner, const char *name,
                            const char *blob_key, uint64_t size,
                            hs_dataset_rec *out, hl_error *csv_err,
                            hs_error *err)
{
    size_t limit = app->limits.ingest_async_bytes;
    hl_error_clear(csv_err);
    if (!limit || size <= limit)
        return hs_datasets_ingest(app, owner->id, name, blob_key, size, out,
                                  csv_err, err);
    deferred d = {app, owner, name, blob_key, size, out};
    memset(out, 0, sizeof *out);
    hs_status st = hs_store_transact(app->store, record_and_queue, &d, err);
    if (st != HS_OK)
        hs_dataset_rec_free(out);
    return st;
}

/* HS_OK when dataset d may be ingested again; else why not - the
 * HS_ERR_CONFLICT a user can act on, or the trash's HS_ERR_NOTFOUND. */
static hs_status retryable(hs_app *app, const hs_dataset_rec *d, hs_error *err)
{
    int kept = 0;
    if (d->deleted_at)
        return hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld is in the trash",
                       (long long)d->id);
    if (!strcmp(d->state, HS_DATASET_READY))
        return hs_fail(err, HS_ERR_CONFLICT,
                       "dataset %lld ('%.100s') is ready: there is nothing to "
                       "ingest again",
                       (long long)d->id, d->name);
    if (hs_dataset_is_ingesting(d))
        return hs_fail(err, HS_ERR_CONFLICT,
                       "dataset %lld ('%.100s') is already being ingested",
                       (long long)d->id, d->name);
    if (d->file_deleted)
        return hs_fail(err, HS_ERR_CONFLICT,
                       "dataset %lld ('%.100s') cannot be ingested again: its "
                       "file was refused (%.250s) and deleted; upload a "
                       "corrected file",
                       (long long)d->id, d->name, d->ingest_error);
    hs_status st = hs_blob_exists(app->blobs, d->blob_key, &kept, err);
    if (st == HS_OK && !kept)
        st = hs_fail(err, HS_ERR_CONFLICT,
                     "dataset %lld ('%.100s') cannot be ingested again: its "
                     "file is no longer on the server; upload it again",
                     (long long)d->id, d->name);
    return st;
}

typedef struct retry {
    hs_app *app;
    const hs_user *viewer;
    const hs_dataset_rec *dataset;
} retry;

/* The dataset back to ingesting and its job, in one transaction. The job
 * is the owner's, as the upload's was: it is the owner who follows its
 * progress. */
static hs_status reopen_and_queue(hs_store *store, void *arg, hs_error *err)
{
    retry *r = arg;
    const hs_dataset_rec *d = r->dataset;
    hs_user owner = {.id = d->owner_id};
    hs_job_rec job;
    hs_status st = hs_store_dataset_reopen_ingest(store, d->id, r->viewer->id,
                                                  r->viewer->is_admin, err);
    if (st == HS_OK)
        st = hs_jobs_submit_ingest(r->app, &owner, d->id, d->name, &job, err);
    if (st == HS_OK)
        hs_job_rec_free(&job);
    return st;
}

/* The store refused a retry that the record read before allowed: another
 * retry, or a trash, came in between. Why, from the record as it is now
 * (HS_ERR_CONFLICT when it cannot be read). */
static hs_status refused_meanwhile(hs_app *app, const hs_user *viewer, hs_id id,
                                   hs_error *err)
{
    hs_dataset_rec now;
    hs_status st = HS_ERR_CONFLICT;
    if (hs_datasets_get(app, id, viewer, &now, NULL) != HS_OK)
        return st;
    hs_status why = retryable(app, &now, err);
    if (why == HS_ERR_CONFLICT || why == HS_ERR_NOTFOUND)
        st = why;
    hs_dataset_rec_free(&now);
    return st;
}

hs_status hs_dataset_retry_ingest(hs_app *app, const hs_user *viewer, hs_id id,
                                  hs_dataset_rec *out, hs_error *err)
{
    hs_dataset_rec d;
    memset(out, 0, sizeof *out);
    hs_status st = hs_datasets_get(app, id, viewer, &d, err);
    if (st != HS_OK)
        return st;
    st = retryable(app, &d, err);
    hs_user owner = {.id = d.owner_id};
    /* A retry is a user's request for a full re-read, not an upload's due:
     * it counts against the owner's share of the queue like any job. */
    if (st == HS_OK)
        st = hs_jobs_check_capacity(app, &owner, err);
    if (st == HS_OK) {
        retry r = {app, viewer, &d};
        st = hs_store_transact(app->store, reopen_and_queue, &r, err);
        if (st == HS_ERR_CONFLICT)
            st = refused_meanwhile(app, viewer, id, err);
    }
    hs_dataset_rec_free(&d);
    if (st == HS_OK)
        st = hs_datasets_get(app, id, viewer, out, err);
    return st;
}
