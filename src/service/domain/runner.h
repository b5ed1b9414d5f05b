/* domain/runner.h - the job runner: worker threads that take jobs from the
 * store's queue and run them by type.
 *
 * A runner is one worker of the shared queue (the jobs table): it claims
 * queued jobs of the types it has (app->job_types) fairly between users
 * (store.h's hs_store_job_claim_next_fair: the user with the fewest
 * running jobs first, so one user's backlog never holds up another's
 * job for more than the jobs already running) under its worker id,
 * made at start from the host name, the process id and a random part, so
 * no two runners - in one process, in two, or before and after a restart -
 * ever share one; each claim adds its own number ("ID#7"), and the job is
 * leased to that claim, so a run whose job was taken back cannot write to
 * it even when the same runner claims it again. Every progress write
 * renews the lease, and a keeper thread renews the leases of the jobs its
 * workers hold every third of the lease, whether they report progress or
 * not. The same thread takes back
 * jobs whose lease has lapsed - their worker crashed - so they run again
 * on a live worker; a job still leased is never taken, so any number of
 * runners, in any number of processes, can share one store.
 *
 * Jobs queued by another process reach idle workers through the store:
 * a thread waits for its news (hs_store_job_wait_queued: at once where the
 * store has notifications, PostgreSQL), and idle workers also look every
 * second (the only way on SQLite, which has none).
 *
 * A job stops early when its user cancels it (the cancel reaches it
 * through the store, so through any process), when the runner stops (the
 * job is put back in the queue) or when its lease was lost (another worker
 * has taken it: this run's result, if any, is discarded by its type).
 */
#ifndef HEALER_HS_RUNNER_H
#define HEALER_HS_RUNNER_H

#include "base/app.h"
#include "base/error.h"
#include "healer/repair.h"
#include "store/records.h"

typedef struct hs_runner hs_runner;

/* How long a running job stays leased without a renewal, by default. */
#define HS_RUNNER_LEASE_SECONDS 30

/* Jobs interrupted by a lost worker are re-queued this many times, then
 * fail. */
#define HS_RUNNER_MAX_RESTARTS 1

/* A run that failed because the store could not be reached
 * (hs_job_outcome.store_unavailable) goes back to the queue, after a
 * pause of as many seconds as it has gone back before, at most this many
 * times in a row from one runner; the next such failure is recorded.
 * HS_ERR_UNAVAILABLE also covers failures that last (a statement timeout,
 * a full disk): a job must not run again and again for ever. */
#define HS_RUNNER_OUTAGE_REQUEUES 3

/* How much nicer than the process the job threads run, by default
 * (base/thread_nice.h: requests first, jobs on what they leave). */
#define HS_RUNNER_JOB_NICE 10

typedef struct hs_runner_config {
    unsigned workers;       /* jobs run at once (>= 1) */
    int train_threads;      /* threads per training, 0 = all cores */
    /* Testing aid: faults injected into the attempts of every training
     * (copied at start); NULL = none. */
    const hl_repair_faults *train_faults;
    unsigned lease_seconds; /* 0 = HS_RUNNER_LEASE_SECONDS */
    unsigned job_nice;      /* 0-19: the job threads' nice increment */
} hs_runner_config;

/* Starts the worker threads and the keeper; job types come from
 * app->job_types. */
hs_status hs_runner_start(hs_app *app, const hs_runner_config *cfg,
                          hs_runner **out, hs_error *err);

/* Tells idle workers that a job was queued. NULL is a no-op. */
void hs_runner_wake(hs_runner *r);

/* Raises the stop flag of job_id if a worker here runs it. */
void hs_runner_cancel(hs_runner *r, hs_id job_id);

/* Number of jobs running in this runner (0 for NULL). */
unsigned hs_runner_running(hs_runner *r);

/* While the store has news of queued jobs (PostgreSQL's LISTEN/NOTIFY,
 * store.h's wait_queued), an idle worker looks for work on its own only
 * this often (seconds): news wakes it, the look is a safety net for news
 * lost. Without news (SQLite), or while the wait for news fails, it looks
 * every second. */
#define HS_RUNNER_IDLE_POLL_NEWS 30

/* An idle worker looks for work every second, the lease keeper every
 * third of a lease; either silent for this many seconds longer (a claim
 * may wait 5 s for a busy store) is taken for dead. */
#define HS_RUNNER_BEAT_MAX 10

/* Are the runner's threads alive at monotonic time `now` (seconds,
 * hl_clock_monotonic; a parameter so that tests can look ahead): HS_OK,
 * or HS_ERR_INTERNAL naming the first silent thread - the lease keeper,
 * or an idle worker - and for how long. A worker running a job is not
 * judged here: a job may run long between reports, and its lease says
 * whether its process lives. For health checks. */
hs_status hs_runner_check(hs_runner *r, double now, hs_error *err);

/* The id this runner's claims start with (each adds "#N"). */
const char *hs_runner_worker_id(const hs_runner *r);

/* Stops: running jobs are interrupted within a round and put back in the
 * queue (the checkpoint of a graceful shutdown); then the threads are
 * joined and the runner freed. NULL is a no-op. */
void hs_runner_stop(hs_runner *r);

#endif
