/* domain/jobs.h - the jobs service: submitting, reading and cancelling
 * background jobs (trainings, large diagnoses; later root-cause analyses).
 *
 * A job is a row in the store before it is anything else: submitting one
 * checks the request through its type (job_types.h), writes it as queued
 * and wakes the runner (runner.h), which claims, runs and finishes it.
 * Because the queue is the table, jobs survive restarts and any number of
 * runners - in this process or others sharing the store - serve one queue.
 *
 * Cancelling marks the job in the store (so a runner anywhere sees it at
 * its next progress write) and tells this process's runner at once.
 */
#ifndef HEALER_HS_JOBS_H
#define HEALER_HS_JOBS_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

/* POST /api/v1/jobs: `request` is the JSON object as sent; its "type"
 * names a type users may submit (HS_ERR_INVALID, field "type", for any
 * other), the rest is the type's to check (errors name their field;
 * HS_ERR_MALFORMED for a missing field or a wrong JSON type).
 * HS_ERR_QUOTA "you have N jobs queued; the limit is M" when the viewer
 * already has app->limits.max_queued_jobs_per_user queued jobs (0: no
 * share), HS_ERR_BUSY when the queue is full. The same for every submit
 * below. *out gets the queued job (hs_job_rec_free). */
hs_status hs_jobs_submit(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out,
                         hs_error *err);

/* Queues a diagnosis of stored samples (the job then owns the blob):
 * format "csv" (an upload) or "json" (a JSON array of row objects); adapt
 * as hs_diag_run's. */
hs_status hs_jobs_submit_diagnose(hs_app *app, const hs_user *viewer,
                                  hs_id model_id, const char *input_blob_key,
                                  const char *format, const char *name,
                                  int adapt, hs_job_rec *out, hs_error *err);

/* The same for JSON rows (an array of row objects, as POST /diagnoses
 * takes them): they are stored as the job's input blob first. */
hs_status hs_jobs_submit_diagnose_rows(hs_app *app, const hs_user *viewer,
                                       hs_id model_id, const json_t *rows,
                                       const char *name, int adapt,
                                       hs_job_rec *out, hs_error *err);

/* Whether `viewer` may queue one more job: HS_OK, HS_ERR_QUOTA (their
 * share of the queue, max-queued-jobs-per-user) or HS_ERR_BUSY (the
 * queue, max-queued-jobs). Every submission but an upload's ingestion
 * asks it. */
hs_status hs_jobs_check_capacity(hs_app *app, const hs_user *viewer,
                                 hs_error *err);

/* Queues the ingestion of dataset `dataset_id` (recorded "ingesting" by
 * hs_datasets_create_ingesting), owned by `owner`: a job of type
 * HS_JOB_TYPE_INGEST (job_ingest.c). Exempt from the queue's limits: an
 * upload's ingestion is the system's work on bytes already accepted (a
 * retry, hs_dataset_retry_ingest, asks hs_jobs_check_capacity first). */
hs_status hs_jobs_submit_ingest(hs_app *app, const hs_user *owner,
                                hs_id dataset_id, const char *name,
                                hs_job_rec *out, hs_error *err);

/* Job `id` under the access rule (release with hs_job_rec_free). */
hs_status hs_jobs_get(hs_app *app, hs_id id, const hs_user *viewer,
                      hs_job_rec *out, hs_error *err);

/* The jobs viewer may see, newest first (release with hs_job_list_free). */
hs_status hs_jobs_list(hs_app *app, const hs_user *viewer, hs_job_rec **items,
                       size_t *n, hs_error *err);

/* The attempts of training job `id` under the access rule, by number
 * (release with hs_job_attempt_list_free; none is an empty list); id 0:
 * those of every job viewer may see, by job id and number. */
hs_status hs_jobs_attempts(hs_app *app, hs_id id, const hs_user *viewer,
                           hs_job_attempt **items, size_t *n, hs_error *err);

/* Jobs in each state, all users (counts[HS_JOB_QUEUED], ...). */
hs_status hs_jobs_counts(hs_app *app, int64_t counts[HS_JOB_STATES],
                         hs_error *err);

/* Jobs whose worker stopped renewing its lease (a crash) go back to the
 * queue once, then fail; *requeued and *failed (may be NULL) get the
 * counts. Jobs still leased are left alone. */
hs_status hs_jobs_recover(hs_app *app, int64_t *requeued, int64_t *failed,
                          hs_error *err);

/* Cancels a job under the access rule; *out gets it afterwards. */
hs_status hs_jobs_cancel(hs_app *app, hs_id id, const hs_user *viewer,
                         hs_job_rec *out, hs_error *err);

#endif
