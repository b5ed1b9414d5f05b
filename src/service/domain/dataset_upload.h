/* domain/dataset_upload.h - what an upload becomes: a dataset ingested at
 * once, or one recorded "ingesting" with an ingest job.
 *
 * Reading and profiling a large CSV takes seconds of one CPU; done on the
 * HTTP thread it holds a connection thread and the client for as long.
 * So an upload over app->limits.ingest_async_bytes is answered as soon as
 * its bytes are committed to the blob store (http.c commits before the
 * handler runs): the record and its ingest job (job_ingest.c) are written
 * in one transaction, so no crash leaves a dataset ingesting without a
 * job to finish it. Smaller uploads stay synchronous (hs_datasets_ingest).
 * An ingestion that failed for a cause other than the file (the store or
 * blobs away, a cancel) is retried in place the same way: the dataset
 * back to "ingesting" and a new ingest job, in one transaction.
 * A file of its own (not datasets.c) because it uses the jobs service,
 * whose job types use the datasets service.
 */
#ifndef HEALER_HS_DATASET_UPLOAD_H
#define HEALER_HS_DATASET_UPLOAD_H

#include "base/app.h"
#include "base/error.h"
#include "healer/healer.h"
#include "store/records.h"

/* The uploaded blob `blob_key` (size bytes) as owner's dataset `name`:
 * ingested at once when size <= app->limits.ingest_async_bytes (or that is
 * 0) - *out "ready", with hs_datasets_ingest's errors (a file the engine
 * refuses: HS_ERR_INVALID, *csv_err) - else recorded "ingesting" with its
 * ingest job queued (the queue's refusals: HS_ERR_QUOTA, HS_ERR_BUSY).
 * On success the record references the blob (the caller must not delete
 * it); release *out with hs_dataset_rec_free. */
hs_status hs_dataset_upload(hs_app *app, const hs_user *owner, const char *name,
                            const char *blob_key, uint64_t size,
                            hs_dataset_rec *out, hl_error *csv_err,
                            hs_error *err);

/* Ingests dataset `id` again, in place, for `viewer` (its owner or an
 * admin): a dataset HS_DATASET_FAILED whose file was kept becomes
 * HS_DATASET_INGESTING (ingest_error cleared) and an ingest job owned by
 * the dataset's owner is queued, in one transaction - the state change is
 * the guard, so of two retries at once one queues a job and the other is
 * refused. *out is the dataset as it is now ("ingesting"), cleared on
 * error: release it with hs_dataset_rec_free either way. Errors:
 * HS_ERR_NOTFOUND when the viewer cannot see it or it is in the trash;
 * HS_ERR_CONFLICT, saying why, when it is ready, still ingesting, or its file
 * is gone (the engine refused it: upload a corrected file); the store's and the
 * blobs' errors. */
hs_status hs_dataset_retry_ingest(hs_app *app, const hs_user *viewer, hs_id id,
                                  hs_dataset_rec *out, hs_error *err);

#endif
