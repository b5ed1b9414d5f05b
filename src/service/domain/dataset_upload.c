/* domain/dataset_upload.c - an upload ingested at once or by a job (see
 * dataset_upload.h). */
#include <string.h>

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
