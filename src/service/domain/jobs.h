/* jobs.h - background jobs: training and large diagnoses.
 *
 * A job is a row in the store before it is anything else: submitting one
 * writes it as queued and wakes the runner; a worker thread claims the
 * oldest queued job (atomically, in the store), runs it, and writes its
 * progress and outcome back, holding the job on a lease it renews as it
 * goes. Because the queue is the table, jobs survive restarts
 * (hs_store_job_recover at start-up re-queues the ones whose worker's lease
 * ran out: a crash) and several processes can share one queue.
 *
 * Cancelling: the API marks the job (hs_store_job_cancel) and tells the
 * runner, whose worker raises the engine's cancel flag; hl_train checks it
 * every boosting round. Progress writes also return the stored mark, so a
 * cancel reaches a job even when it was asked through another process.
 *
 * A failed training (not invalid parameters, not cancelled) is retried
 * once with safer parameters; both attempts are recorded, and a final
 * failure raises an admin notification.
 */
#ifndef HEALER_HS_JOBS_H
#define HEALER_HS_JOBS_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "healer/healer.h"
#include "store/records.h"

typedef struct hs_runner hs_runner;

/* How long a running job stays leased to this runner without a renewal
 * (every progress write renews it): the default of lease_seconds. */
#define HS_JOBS_LEASE_SECONDS 30

typedef struct hs_runner_config {
    unsigned workers;      /* jobs run at once */
    int train_threads;     /* threads per training, 0 = all cores */
    int fail_first_attempt; /* testing aid: the first training attempt of
                               every job fails as if the engine had */
    unsigned lease_seconds; /* a job's lease, 0 = HS_JOBS_LEASE_SECONDS */
} hs_runner_config;

/* Starts the worker threads. */
hs_status hs_runner_start(hs_app *app, const hs_runner_config *cfg,
                          hs_runner **out, hs_error *err);

/* Tells idle workers that a job was queued. */
void hs_runner_wake(hs_runner *r);

/* Raises the cancel flag of job_id if a worker here runs it. */
void hs_runner_cancel(hs_runner *r, hs_id job_id);

/* Number of jobs running in this process. */
unsigned hs_runner_running(hs_runner *r);

/* Interrupts running jobs, puts them back in the queue (the checkpoint of
 * a graceful shutdown), joins the workers and frees the runner. */
void hs_runner_stop(hs_runner *r);

/* Queues a training of dataset_id for viewer (who must be able to see the
 * dataset, live, with labels) with learner algo (NULL = the default) and
 * params (JSON object, may be NULL; see hs_train_params_from_json). name
 * NULL = "DATASET (ALGO)". HS_ERR_INVALID names the input in err->field
 * ("algo", "params.rounds", "dataset_id"); HS_ERR_BUSY when the queue is
 * full. */
hs_status hs_jobs_submit_train(hs_app *app, const hs_user *viewer,
                               hs_id dataset_id, const char *algo,
                               const json_t *params, const char *name,
                               hs_job_rec *out, hs_error *err);

/* Queues a diagnosis of stored samples (the job then owns the blob):
 * format "csv" (an upload) or "json" (a JSON array of row objects). */
hs_status hs_jobs_submit_diagnose(hs_app *app, const hs_user *viewer,
                                  hs_id model_id, const char *input_blob_key,
                                  const char *format, const char *name,
                                  hs_job_rec *out, hs_error *err);

/* The same for JSON rows (an array of row objects, as POST /diagnoses
 * takes them): they are stored as the job's input blob first. */
hs_status hs_jobs_submit_diagnose_rows(hs_app *app, const hs_user *viewer,
                                       hs_id model_id, const json_t *rows,
                                       const char *name, hs_job_rec *out,
                                       hs_error *err);

/* Job `id` under the access rule (release with hs_job_rec_free). */
hs_status hs_jobs_get(hs_app *app, hs_id id, const hs_user *viewer,
                      hs_job_rec *out, hs_error *err);

/* The jobs viewer may see, newest first (release with hs_job_list_free). */
hs_status hs_jobs_list(hs_app *app, const hs_user *viewer, hs_job_rec **items,
                       size_t *n, hs_error *err);

/* Jobs in each state, all users (counts[HS_JOB_QUEUED], ...). */
hs_status hs_jobs_counts(hs_app *app, int64_t counts[HS_JOB_STATES],
                         hs_error *err);

/* After a crash: jobs left running go back to the queue once, then fail;
 * *requeued and *failed (may be NULL) get the counts. */
hs_status hs_jobs_recover(hs_app *app, int64_t *requeued, int64_t *failed,
                          hs_error *err);

/* Cancels a job under the access rule; *out gets it afterwards. */
hs_status hs_jobs_cancel(hs_app *app, hs_id id, const hs_user *viewer,
                         hs_job_rec *out, hs_error *err);

#endif
