/* domain/job_types.h - what a kind of background job is, and the table of
 * the kinds this build runs.
 *
 * A job type is a name ("train", "diagnose", "pipeline"), the kind of
 * record its result is ("model", "diagnosis"), how a request becomes a
 * queued job, and how a worker runs it. The runner (runner.h) and the job
 * service (jobs.h) look types up in the table by name and talk to them
 * only through this interface: adding a type is its own file and a line
 * in job_types.c. Types know nothing of the runner's threads, leases or
 * the store's queue: they get a hs_job_run to read their job and report
 * progress through, and fill a hs_job_outcome.
 */
#ifndef HEALER_HS_JOB_TYPES_H
#define HEALER_HS_JOB_TYPES_H

#include <jansson.h>
#include <stdatomic.h>

#include "base/app.h"
#include "base/error.h"
#include "healer/repair.h"
#include "store/records.h"

/* One running job, as its type sees it. */
typedef struct hs_job_run hs_job_run;
struct hs_job_run {
    hs_app *app;
    const hs_job_rec *job;
    /* Raised when the job must stop: a cancel request, a shutdown, or its
     * lease lost to another worker. Engines poll it (hl_train_control). */
    const atomic_int *stop;
    int train_threads; /* threads a training may use, 0 = all cores */
    /* Testing aid: faults to inject into a training's attempts
     * (HEALER_FAULT_INJECT, read by `healer serve`); NULL = none. */
    const hl_repair_faults *train_faults;
    /* Records progress (0..1) and the round of rounds, with a detail
     * object that render(render_ctx) makes (malloc'ed JSON text; render
     * may be NULL): written at most every 0.25 s unless `force` - render
     * is only called for a write - and each write renews the job's lease.
     * Returns non-zero when the job must stop now. */
    int (*report)(hs_job_run *run, double progress, int64_t round,
                  int64_t rounds, char *(*render)(void *render_ctx),
                  void *render_ctx, int force);
    /* Records one attempt of the job as it ended (a->job_id is set by the
     * runner), so the job shows it while the next attempt runs. Returns
     * non-zero when the job must stop now (its lease went elsewhere). */
    int (*record_attempt)(hs_job_run *run, hs_job_attempt *a);
    void *runner; /* the runner's; types do not touch it */
};

/* How a run ended, filled by the type. */
typedef struct hs_job_outcome {
    hs_job_state state;         /* succeeded, failed or cancelled */
    char error[HS_MESSAGE_MAX]; /* why it failed, "" otherwise */
    hs_id result_id;            /* the record made (of the type's kind), 0 = none */
    /* What the admins are told when the job failed: the notification's
     * kind ("" = "job_failed") and message ("" = the runner's "TYPE job N
     * ('NAME') failed: ERROR"). Told only once the failure is recorded. */
    char failure_kind[HS_KIND_MAX];
    char failure_notice[HS_MESSAGE_MAX];
    /* Set with a failure that is the store's, not the job's (it could not
     * be reached while the job read its inputs or stored its result): the
     * runner then gives the job back to the queue, once the store answers,
     * to run again, instead of recording the failure. */
    int store_unavailable;
} hs_job_outcome;

typedef struct hs_job_type {
    const char *name;        /* the job record's type, 1..31 bytes */
    const char *result_kind; /* the kind of record a success makes */
    /* Whether users submit it through POST /api/v1/jobs (a diagnose job is
     * made by the diagnoses service itself). */
    int user_submittable;
    /* Turns a request into a queued job record in *out (owner, type, name,
     * inputs, params_json; the job service sets state and times and
     * enqueues it). Refusals name the request's field in err->field. */
    hs_status (*prepare)(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out,
                         hs_error *err);
    /* Runs the job to its end (or until run->stop is raised). */
    void (*run)(hs_job_run *run, hs_job_outcome *out);
    /* Removes a result made by a run whose lease was lost meanwhile
     * (another worker runs the job again), so no job has two results. */
    void (*discard)(hs_app *app, const hs_job_rec *job, hs_id result_id);
    /* What the API's JOB view adds for a job of this type, as a new JSON
     * object shown under the type's name, from the job's request and its
     * progress detail (`detail`: job->losses_json as the caller parsed it,
     * borrowed; NULL when there is none); NULL (the member or its result)
     * = nothing. */
    json_t *(*describe)(const hs_job_rec *job, const json_t *detail);
} hs_job_type;

extern const hs_job_type hs_job_type_train;
extern const hs_job_type hs_job_type_diagnose;
extern const hs_job_type hs_job_type_retrain;
extern const hs_job_type hs_job_type_pipeline;
extern const hs_job_type hs_job_type_rca;
extern const hs_job_type hs_job_type_ingest;

/* Every job type this build runs, NULL-terminated. */
extern const hs_job_type *const hs_job_types[];

/* Ends outcome o as failed with `message`, for the reason `st`: a failure
 * that is the store's (HS_ERR_UNAVAILABLE: it could not be reached) also
 * sets o->store_unavailable, so the runner gives the job back to the queue
 * instead of recording it. Every type fails through here whenever the
 * failure has a status, so that none of them fails a job for an outage. */
void hs_job_outcome_failed(hs_job_outcome *o, hs_status st, const char *message);

/* The type called `name` in a NULL-terminated table, or NULL. */
const hs_job_type *hs_job_type_find(const hs_job_type *const *table,
                                    const char *name);

#endif
