/* domain/runner.c - worker threads and the lease keeper (see runner.h).
 *
 * Workers are plain pthreads that sleep on a condition variable while the
 * queue is empty (woken by submissions, by the keeper after it took jobs
 * back, or every second to notice jobs queued by another process). Each
 * worker owns one slot: the id of the job it runs and that job's flags.
 * The slots are the only state shared with request threads, guarded by
 * `lock`; the flags are atomics because the engine reads them from the
 * training thread.
 *
 * Progress is written to the store at most every PROGRESS_INTERVAL
 * seconds (and at the end of each stage): a boosting round takes a few
 * milliseconds, far too often for a database write. Each write renews the
 * job's lease; the keeper renews them all every third of a lease anyway,
 * so a job that reports nothing for a while (a large diagnosis) keeps it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/thread_nice.h"
#include "base/timed_wait.h"
#include "domain/job_types.h"
#include "domain/datasets.h"
#include "domain/notifications.h"
#include "domain/runner.h"
#include "healer/clock.h"
#include "store/store.h"

#define PROGRESS_INTERVAL 0.25

typedef struct slot {
    hs_id job_id;        /* guarded by runner.lock; 0 = idle */
    /* The lease holder the job was claimed as: the runner's id and a
     * number of its own, so that a job taken back and claimed again by
     * another thread of this runner is not this run's any more (a fencing
     * token). Guarded by runner.lock; read by the slot's own thread. */
    char claim[HS_WORKER_ID_MAX];
    atomic_int stop;     /* read by the engine every round */
    atomic_int shutdown; /* the stop is the runner's: re-queue the job */
    atomic_int lost;     /* the lease went to another worker */
    /* Monotonic ms of the worker's last loop (its heartbeat while idle;
     * a running job's liveness is its lease's business). */
    atomic_int_fast64_t beat_ms;
} slot;

struct hs_runner {
    hs_app *app;
    hs_runner_config cfg;             /* train_faults points at faults */
    hl_repair_faults faults;          /* immutable after start */
    char worker_id[40];               /* immutable after start */
    const char *types[32];            /* the app's job type names, NULL-ended */
    int64_t lease_seconds;            /* immutable after start */
    int64_t store_lease;              /* lease_seconds + 1: see start */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* idle workers wait on it */
    pthread_cond_t keeper_wake; /* the keeper, a failing wait for news
                                   and a pause after an outage wait on
                                   it (stop only) */
    int stopping;               /* guarded by lock */
    uint64_t wakes;             /* guarded by lock: hs_runner_wake calls */
    /* 1 while the wait for news really waits (the store has notifications
     * and they work): idle workers then look only every
     * HS_RUNNER_IDLE_POLL_NEWS seconds. */
    atomic_int news_live;
    uint64_t claims;            /* guarded by lock: claims made so far */
    pthread_t *threads;
    slot *slots;
    unsigned n_threads;
    pthread_t keeper;
    int keeper_started;
    atomic_int_fast64_t keeper_beat_ms; /* the keeper's last loop */
    double last_sweep; /* monotonic seconds of the keeper's last ingest
                          sweep (hs_datasets_ingest_fail_lost); 0 = none */
    pthread_t news;  /* waits for news of jobs queued elsewhere */
    int news_started;
    /* The jobs this runner gave back for the store's outage, and how many
     * times in a row each (HS_RUNNER_OUTAGE_REQUEUES); the oldest entry
     * is reused. Guarded by lock. */
    struct {
        hs_id job_id;
        int times;
    } outage_requeues[16];
    unsigned outage_next;
};

static int_fast64_t now_ms(void)
{
    return (int_fast64_t)(hl_clock_monotonic() * 1000.0);
}

/* What a worker hands its job's type: the run and the runner's side. */
typedef struct run_ctx {
    hs_runner *r;
    slot *s;
    double last_report; /* monotonic seconds of the last progress write */
} run_ctx;

/* ---- progress -------------------------------------------------------------- */

static int report(hs_job_run *run, double progress, int64_t round,
                  int64_t rounds, char *(*render)(void *), void *render_ctx,
                  int force)
{
    run_ctx *c = run->runner;
    hs_runner *r = c->r;
    double now = hl_clock_monotonic();
    if (!force && now - c->last_report < PROGRESS_INTERVAL)
        return atomic_load(&c->s->stop);
    c->last_report = now;
    char *detail = render ? render(render_ctx) : NULL;
    int cancel = 0;
    hs_error err = {0};
    hs_status st = hs_store_job_progress(
        r->app->store, run->job->id, c->s->claim, hs_clock_now(r->app->clock),
        r->store_lease, progress, round, rounds, detail, &cancel, &err);
    free(detail);
    if (st == HS_ERR_NOTFOUND) /* no longer ours: stop, keep nothing */
        atomic_store(&c->s->lost, 1);
    if (st == HS_ERR_NOTFOUND || cancel)
        atomic_store(&c->s->stop, 1);
    return atomic_load(&c->s->stop);
}

/* A lost lease stops the job as progress does: its attempts are no
 * longer this run's to record. */
static int record_attempt(hs_job_run *run, hs_job_attempt *a)
{
    run_ctx *c = run->runner;
    hs_error err = {0};
    a->job_id = run->job->id;
    hs_status st =
        hs_store_job_attempt_add(c->r->app->store, c->s->claim, a, &err);
    if (st == HS_ERR_NOTFOUND) {
        atomic_store(&c->s->lost, 1);
        atomic_store(&c->s->stop, 1);
    } else if (st != HS_OK) {
        hs_notifications_io(c->r->app, st, "recording a training attempt",
                            &err);
        hs_log(HS_LOG_ERROR, "cannot record a training attempt",
               json_pack("{s:I, s:I, s:s}", "job_id", (json_int_t)a->job_id,
                         "attempt", (json_int_t)a->number, "error",
                         err.message));
    }
    return atomic_load(&c->s->stop);
}

/* ---- one job ----------------------------------------------------------------- */

/* The type's notice when it has one ("training_failed", listing the
 * attempts), else "job_failed" with the job's error. */
static void notify_failure(hs_app *app, const hs_job_rec *job,
                           const hs_job_outcome *o)
{
    char msg[HS_MESSAGE_MAX];
    if (o->failure_notice[0])
        hs_copy_message(msg, sizeof msg, o->failure_notice);
    else {
        char text[HS_MESSAGE_MAX + 160];
        snprintf(text, sizeof text, "%s job %lld ('%.100s') failed: %s",
                 job->type, (long long)job->id, job->name, o->error);
        hs_copy_message(msg, sizeof msg, text);
    }
    hs_notifications_raise(app,
                           o->failure_kind[0] ? o->failure_kind : "job_failed",
                           msg, job->owner_id, NULL);
}

/* Whether the record `made` by a run whose end was not recorded is left
 * for the job: a record the store can name by its job (a model, a
 * diagnosis, an analysis) stays unless the job already ended with
 * another result, since whoever runs the job next adopts it
 * (stored_earlier) - or may already have ended the job with it - and the
 * run that ends the job removes any second one (drop_seconds). Deleting
 * it here could take the result from a job that ended with it. Other
 * results (what the store cannot find by job) always go: they must not
 * stay beside the one the job's next run makes. */
static int left_for_the_job(hs_runner *r, const hs_job_type *type,
                            const hs_job_rec *job, hs_id made)
{
    if (!hs_store_result_kind_is_record(type->result_kind))
        return 0;
    hs_job_rec now;
    hs_error err = {0};
    if (hs_store_job_get(r->app->store, job->id, 0, 1, &now, &err) != HS_OK)
        return 1; /* cannot tell: keep it, a second one is removed later */
    int ended_without_it =
        hs_job_state_is_final(now.state) && now.result_id != made;
    hs_job_rec_free(&now);
    return !ended_without_it;
}

/* A run whose lease went elsewhere (or whose end the store would not
 * take): what it made goes, unless it is left for the job. */
static void discard(hs_runner *r, const slot *s, const hs_job_type *type,
                    const hs_job_rec *job, const hs_job_outcome *o)
{
    if (o->result_id && type && type->discard &&
        !left_for_the_job(r, type, job, o->result_id))
        type->discard(r->app, job, o->result_id);
    hs_log(HS_LOG_WARN, "job lease lost; another worker runs it",
           json_pack("{s:I, s:s, s:I}", "job_id", (json_int_t)job->id,
                     "worker", s->claim, "result_id",
                     (json_int_t)o->result_id));
}

/* After a job taken back from a lost worker ended with `kept`: a record
 * that worker committed after this run looked for one (stored_earlier) is
 * a second result of the job, removed here. Bounded: a record whose
 * removal fails is left (and logged by the type). */
static void drop_seconds(hs_runner *r, const hs_job_type *type,
                         const hs_job_rec *job, hs_id kept)
{
    hs_id other = 0;
    hs_error err = {0};
    for (int i = 0; i < 8 && hs_store_job_result_of(r->app->store, job->id,
                                                    type->result_kind, kept,
                                                    &other, &err) == HS_OK;
         i++) {
        hs_log(HS_LOG_WARN, "job's second result removed",
               json_pack("{s:I, s:I, s:I}", "job_id", (json_int_t)job->id,
                         "kept", (json_int_t)kept, "removed",
                         (json_int_t)other));
        type->discard(r->app, job, other);
    }
}

/* A job's ending write (finish, requeue) that the store refused for a
 * passing reason (busy, I/O) is tried this many times, a second apart,
 * while the keeper keeps the lease. */
#define FINISH_TRIES 3

static int stopping(hs_runner *r);
static void wait_locked(hs_runner *r, pthread_cond_t *cond, double seconds);

/* Whether an ending write that failed with `st` after `tries` tries is
 * tried again, a second later (slept here). A store that cannot be
 * reached is waited out for as long as the runner is not stopping: the
 * slot still holds the job, so the keeper renews its lease as soon as the
 * store answers, and if another worker's recovery took the job first the
 * write is refused (HS_ERR_NOTFOUND) - never recorded twice. Other
 * errors get FINISH_TRIES tries in all. */
static int try_again(hs_runner *r, hs_status st, int tries)
{
    if (st == HS_OK || st == HS_ERR_NOTFOUND)
        return 0;
    if (st == HS_ERR_UNAVAILABLE ? stopping(r) : tries >= FINISH_TRIES)
        return 0;
    sleep(1);
    return 1;
}

/* Logs a failed ending write: each of the first tries, then once a
 * minute while the store stays away. */
static void log_ending_failure(const char *msg, const hs_job_rec *job,
                               int tries, const hs_error *err)
{
    if (tries <= FINISH_TRIES || tries % 60 == 0)
        hs_log(HS_LOG_ERROR, msg,
               json_pack("{s:I, s:i, s:s}", "job_id", (json_int_t)job->id,
                         "tries", tries, "error", err->message));
}

static void requeue(hs_runner *r, const slot *s, const hs_job_rec *job)
{
    hs_error err = {0};
    hs_status st;
    int tries = 0;
    do {
        st = hs_store_job_requeue(r->app->store, job->id, s->claim, &err);
        if (st != HS_OK && st != HS_ERR_NOTFOUND)
            log_ending_failure("cannot give a job back to the queue", job,
                               ++tries, &err);
    } while (try_again(r, st, tries));
    if (st == HS_OK)
        hs_log(HS_LOG_INFO, "job re-queued for the next start",
               json_pack("{s:I}", "job_id", (json_int_t)job->id));
}

/* Records the outcome; 0 when it could not be (the job was no longer
 * ours, or the store kept failing: then the lease lapses once the slot is
 * free, and the job runs again on a live worker). */
static int finish(hs_runner *r, const slot *s, const hs_job_type *type,
                  const hs_job_rec *job, hs_job_outcome *o)
{
    hs_error err = {0};
    hs_status st;
    int tries = 0;
    /* No attempts text: a training records its attempts as they end. */
    do {
        st = hs_store_job_finish(
            r->app->store, job->id, s->claim, o->state, o->error,
            o->result_id && type ? type->result_kind : NULL, o->result_id, NULL,
            hs_clock_now(r->app->clock), &err);
        if (st != HS_OK && st != HS_ERR_NOTFOUND)
            log_ending_failure("cannot record a job's outcome", job, ++tries,
                               &err);
        hs_notifications_io(r->app, st, "recording a job's outcome", &err);
    } while (try_again(r, st, tries));
    return st == HS_OK;
}

/* Whether job `id`, failed by the store's outage, goes back to the queue
 * once more (counted here), and how many times it went back before. */
static int outage_requeue_allowed(hs_runner *r, hs_id id, int *before)
{
    pthread_mutex_lock(&r->lock);
    size_t n = sizeof r->outage_requeues / sizeof r->outage_requeues[0];
    size_t at = n;
    for (size_t i = 0; i < n && at == n; i++)
        if (r->outage_requeues[i].job_id == id)
            at = i;
    if (at == n) {
        at = r->outage_next++ % n;
        r->outage_requeues[at].job_id = id;
        r->outage_requeues[at].times = 0;
    }
    *before = r->outage_requeues[at].times++;
    pthread_mutex_unlock(&r->lock);
    return *before < HS_RUNNER_OUTAGE_REQUEUES;
}

/* Sleeps `seconds` unless the runner stops meanwhile. */
static void pause_unless_stopping(hs_runner *r, int seconds)
{
    pthread_mutex_lock(&r->lock);
    double until = hl_clock_monotonic() + seconds;
    while (!r->stopping && hl_clock_monotonic() < until)
        wait_locked(r, &r->keeper_wake, until - hl_clock_monotonic());
    pthread_mutex_unlock(&r->lock);
}

/* A run failed by the store's outage: back to the queue, after a pause
 * that grows with each time, or - past HS_RUNNER_OUTAGE_REQUEUES - 0, and
 * the failure is recorded. */
static int give_back_after_outage(hs_runner *r, slot *s, const hs_job_rec *job)
{
    int before = 0;
    if (!outage_requeue_allowed(r, job->id, &before)) {
        hs_log(HS_LOG_WARN, "job failed by the store again and again: failed",
               json_pack("{s:I, s:i}", "job_id", (json_int_t)job->id,
                         "requeues", before));
        return 0;
    }
    pause_unless_stopping(r, before);
    requeue(r, s, job); /* it made no result: runs again, from the start */
    return 1;
}

/* Whether the job's result was stored by an earlier run whose end went
 * unrecorded: its worker killed between the result's commit and the
 * job's end, or the answer to that commit lost with the connection to the
 * store (the run then failed "by the outage" and was given back). That
 * result is the job's: *o says it succeeded with it, and the job does not
 * run again (a second model or diagnosis of one job). A store that cannot
 * say (unreachable, busy, failing) is treated as the outage: *o says so,
 * and the job goes back to the queue. A result the store cannot find by
 * its job (an ingestion's dataset) is never looked for: such a job simply
 * runs. */
static int stored_earlier(hs_runner *r, const hs_job_type *type,
                          const hs_job_rec *job, hs_job_outcome *o)
{
    hs_error err = {0};
    hs_id id = 0;
    if (!type || !hs_store_result_kind_is_record(type->result_kind))
        return 0;
    hs_status st = hs_store_job_result_of(r->app->store, job->id,
                                          type->result_kind, 0, &id, &err);
    if (st == HS_ERR_NOTFOUND)
        return 0;
    if (st != HS_OK) { /* cannot say: given back as for an outage */
        hs_job_outcome_failed(o, HS_ERR_UNAVAILABLE, err.message);
        return 1;
    }
    o->state = HS_JOB_SUCCEEDED;
    o->result_id = id;
    hs_log(HS_LOG_WARN, "job's result was stored by an earlier run: kept",
           json_pack("{s:I, s:s, s:I}", "job_id", (json_int_t)job->id,
                     "result_kind", type->result_kind, "result_id",
                     (json_int_t)id));
    return 1;
}

/* Before the end of a job taken back from a lost worker is recorded (so
 * that whoever sees it ended sees one result: test_runner read the job
 * ended before the second one was gone): that worker may have
 * stored a result too, after this run looked. */
static void drop_seconds_of(hs_runner *r, const hs_job_type *type,
                            const hs_job_rec *job, const hs_job_outcome *o)
{
    if (o->state == HS_JOB_SUCCEEDED && o->result_id && job->restarts > 0 &&
        type && type->discard &&
        hs_store_result_kind_is_record(type->result_kind))
        drop_seconds(r, type, job, o->result_id);
}

static void run_job(hs_runner *r, slot *s, const hs_job_rec *job)
{
    const hs_job_type *type = hs_job_type_find(r->app->job_types, job->type);
    hs_job_outcome o;
    memset(&o, 0, sizeof o);
    o.state = HS_JOB_FAILED;
    run_ctx ctx = {r, s, 0};
    hs_job_run run = {r->app,
                      job,
                      &s->stop,
                      r->cfg.train_threads,
                      r->cfg.train_faults,
                      report,
                      record_attempt,
                      &ctx};
    double t0 = hl_clock_monotonic();
    hs_log(HS_LOG_INFO, "job started",
           json_pack("{s:I, s:s, s:s}", "job_id", (json_int_t)job->id, "type",
                     job->type, "worker", s->claim));
    int earlier = stored_earlier(r, type, job, &o);
    if (!earlier && type)
        type->run(&run, &o);
    else if (!earlier)
        snprintf(o.error, sizeof o.error, "unknown job type '%s'", job->type);
    /* What a discard may remove: not a result found, which whoever runs
     * the job next finds too. */
    hs_job_outcome made = o;
    if (earlier)
        made.result_id = 0;
    if (atomic_load(&s->lost)) {
        discard(r, s, type, job, &made);
    } else if (atomic_load(&s->shutdown) && o.state != HS_JOB_SUCCEEDED) {
        requeue(r, s, job);
    } else if (o.state == HS_JOB_FAILED && o.store_unavailable &&
               give_back_after_outage(r, s, job)) {
        /* back in the queue */
    } else {
        drop_seconds_of(r, type, job, &o);
        if (!finish(r, s, type, job, &o)) {
            discard(r, s, type, job, &made);
            return;
        }
        if (o.state == HS_JOB_FAILED)
            notify_failure(r->app, job, &o);
        hs_log(o.state == HS_JOB_FAILED ? HS_LOG_WARN : HS_LOG_INFO,
               "job finished",
               json_pack("{s:I, s:s, s:f, s:s}", "job_id", (json_int_t)job->id,
                         "state", hs_job_state_name(o.state), "seconds",
                         hl_clock_monotonic() - t0, "error", o.error));
    }
}

/* ---- the threads ----------------------------------------------------------- */

/* Waits on `cond` (made on the monotonic clock) for at most `seconds`,
 * the runner's lock held. */
static void wait_locked(hs_runner *r, pthread_cond_t *cond, double seconds)
{
    hs_cond_wait_for(cond, &r->lock, seconds);
}

static int stopping(hs_runner *r)
{
    pthread_mutex_lock(&r->lock);
    int stop = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return stop;
}

/* Takes the next job of a type this runner has into the slot; 0 when
 * there is none (or an error). */
static int claim(hs_runner *r, slot *s, hs_job_rec *job)
{
    hs_error err = {0};
    char id[HS_WORKER_ID_MAX];
    pthread_mutex_lock(&r->lock);
    snprintf(id, sizeof id, "%s#%llu", r->worker_id,
             (unsigned long long)++r->claims);
    pthread_mutex_unlock(&r->lock);
    hs_status st = hs_store_job_claim_next_fair(r->app->store, id, r->types,
                                                hs_clock_now(r->app->clock),
                                                r->store_lease, job, &err);
    /* The store's pulse: an idle worker claims every second, or every
     * HS_RUNNER_IDLE_POLL_NEWS seconds while news comes - an outage stops
     * the news first, and the one-second claims come back to tell it. */
    hs_notifications_io(r->app, st, "claiming a job", &err);
    if (st != HS_OK) {
        if (st != HS_ERR_NOTFOUND)
            hs_log(HS_LOG_ERROR, "cannot claim a job",
                   json_pack("{s:s}", "error", err.message));
        return 0;
    }
    pthread_mutex_lock(&r->lock);
    s->job_id = job->id;
    memcpy(s->claim, id, sizeof id);
    atomic_store(&s->stop, job->cancel_requested || r->stopping);
    atomic_store(&s->shutdown, r->stopping);
    atomic_store(&s->lost, 0);
    pthread_mutex_unlock(&r->lock);
    return 1;
}

/* An idle worker's wait for work: until a wake (a job queued here, news
 * of one queued elsewhere, jobs taken back), a stop, or its next look -
 * in a second, or HS_RUNNER_IDLE_POLL_NEWS seconds while the store's news
 * works (the look is then only a safety net). The heartbeat goes on every
 * second either way, for hs_runner_check. Called with r->lock held. */
static void idle_wait_locked(hs_runner *r, slot *s)
{
    uint64_t wakes = r->wakes;
    double t0 = hl_clock_monotonic();
    for (;;) {
        double limit = atomic_load(&r->news_live)
                           ? (double)HS_RUNNER_IDLE_POLL_NEWS
                           : 1.0;
        double left = limit - (hl_clock_monotonic() - t0);
        if (r->stopping || r->wakes != wakes || left <= 0)
            return;
        wait_locked(r, &r->wake, left < 1.0 ? left : 1.0);
        atomic_store(&s->beat_ms, now_ms());
    }
}

typedef struct worker_arg {
    hs_runner *r;
    slot *s;
} worker_arg;

/* Makes a job thread nicer than the process (job-nice): requests first,
 * jobs on the processor they leave (base/thread_nice.h). A refusal costs
 * only that, so it is logged and the thread works on. */
static void yield_to_requests(const hs_runner *r)
{
    int e = hs_thread_be_nicer((int)r->cfg.job_nice);
    if (e)
        hs_log(HS_LOG_WARN, "cannot lower a job thread's priority",
               json_pack("{s:i, s:s}", "job_nice", (int)r->cfg.job_nice,
                         "error", strerror(e)));
}

static void *worker_main(void *arg)
{
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    yield_to_requests(wa.r);
    while (!stopping(wa.r)) {
        hs_job_rec job;
        atomic_store(&wa.s->beat_ms, now_ms());
        if (!claim(wa.r, wa.s, &job)) {
            pthread_mutex_lock(&wa.r->lock);
            idle_wait_locked(wa.r, wa.s);
            pthread_mutex_unlock(&wa.r->lock);
            continue;
        }
        run_job(wa.r, wa.s, &job);
        pthread_mutex_lock(&wa.r->lock);
        wa.s->job_id = 0;
        pthread_mutex_unlock(&wa.r->lock);
        hs_job_rec_free(&job);
    }
    return NULL;
}

/* Renews the leases of the jobs this runner's slots hold now (a job whose
 * slot was freed, finished or not, is no longer renewed), then takes back
 * the jobs of workers that stopped renewing theirs (a crashed process),
 * waking the workers when there are some to run again. */
static void keep_leases(hs_runner *r)
{
    int64_t now = hs_clock_now(r->app->clock), requeued = 0, failed = 0;
    hs_error err = {0};
    hs_status st = HS_OK;
    for (unsigned i = 0; i < r->n_threads && st == HS_OK; i++) {
        char claim_id[HS_WORKER_ID_MAX] = "";
        pthread_mutex_lock(&r->lock);
        if (r->slots[i].job_id)
            memcpy(claim_id, r->slots[i].claim, sizeof claim_id);
        pthread_mutex_unlock(&r->lock);
        if (claim_id[0])
            st = hs_store_job_renew_leases(r->app->store, claim_id, now,
                                           r->store_lease, NULL, &err);
    }
    if (st != HS_OK ||
        hs_store_job_recover(r->app->store, now, HS_RUNNER_MAX_RESTARTS,
                             &requeued, &failed, &err) != HS_OK) {
        hs_log(HS_LOG_ERROR, "cannot keep job leases",
               json_pack("{s:s}", "error", err.message));
        return;
    }
    if (requeued || failed)
        hs_log(HS_LOG_WARN, "jobs of a lost worker taken back",
               json_pack("{s:I, s:I}", "requeued", (json_int_t)requeued,
                         "failed", (json_int_t)failed));
    double mono = hl_clock_monotonic();
    int sweep = failed || !r->last_sweep ||
                mono - r->last_sweep >= HS_INGEST_SWEEP_SECONDS;
    if (sweep)
        r->last_sweep = mono;
    if (sweep && hs_datasets_ingest_fail_lost(r->app, &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot end the datasets of failed ingestions",
               json_pack("{s:s}", "error", err.message));
    if (requeued)
        hs_runner_wake(r);
}

static void *keeper_main(void *arg)
{
    hs_runner *r = arg;
    double period = (double)r->lease_seconds / 3.0;
    for (;;) {
        atomic_store(&r->keeper_beat_ms, now_ms());
        pthread_mutex_lock(&r->lock);
        if (!r->stopping)
            wait_locked(r, &r->keeper_wake, period);
        int stop = r->stopping;
        pthread_mutex_unlock(&r->lock);
        if (stop)
            return NULL;
        keep_leases(r);
    }
}

/* ---- news of jobs queued elsewhere ------------------------------------------ */

/* One wait for news lasts this long, so that a stop is seen within it. */
#define NEWS_WAIT_MS 1000

/* Waits for news that a job was queued by any process sharing the store
 * (store.h's wait_queued: PostgreSQL's LISTEN/NOTIFY) and wakes the idle
 * workers at once; while it works, their own look for work slows to a
 * safety poll (news_live). A store that has no news answers at once: the
 * thread ends, and the workers' one-second look finds other processes'
 * jobs. A failed wait is logged once per run of failures and retried a
 * second later; meanwhile the workers look every second again (woken so
 * that they start at once), and once it works again they are woken for
 * what was queued while no news came. */
static void *news_main(void *arg)
{
    hs_runner *r = arg;
    int failing = 0;
    while (!stopping(r)) {
        int notified = 0;
        hs_error err = {0};
        double t0 = hl_clock_monotonic();
        hs_status st = hs_store_job_wait_queued(r->app->store, NEWS_WAIT_MS,
                                                &notified, &err);
        if (st == HS_OK && notified) {
            hs_runner_wake(r);
        } else if (st == HS_OK && !atomic_load(&r->news_live) &&
                   hl_clock_monotonic() - t0 < NEWS_WAIT_MS / 2000.0) {
            hs_log(HS_LOG_DEBUG,
                   "the store has no news of queued jobs: idle workers look "
                   "for jobs every second",
                   NULL);
            return NULL;
        }
        if (st != HS_OK && !failing)
            hs_log(HS_LOG_WARN, "cannot wait for news of queued jobs",
                   json_pack("{s:s}", "error", err.message));
        if (st == HS_OK && failing)
            hs_log(HS_LOG_INFO, "news of queued jobs back", NULL);
        if (atomic_exchange(&r->news_live, st == HS_OK) != (st == HS_OK))
            hs_runner_wake(r); /* news came back, or stopped coming */
        failing = st != HS_OK;
        if (failing) { /* never spin on a store that fails at once */
            pthread_mutex_lock(&r->lock);
            if (!r->stopping)
                wait_locked(r, &r->keeper_wake, 1.0);
            pthread_mutex_unlock(&r->lock);
        }
    }
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------ */

/* hostname:pid:random - readable in the jobs table, and unique even for
 * a restarted process that got the same pid; each claim adds "#N". */
static void make_worker_id(char id[40])
{
    char host[256] = "";
    uint32_t nonce;
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    randombytes_buf(&nonce, sizeof nonce);
    snprintf(id, 40, "%.16s:%d:%08x", host, (int)getpid(), (unsigned)nonce);
}

static hs_status start_threads(hs_runner *r, unsigned n, hs_error *err)
{
    atomic_store(&r->keeper_beat_ms, now_ms());
    for (unsigned i = 0; i < n; i++) {
        atomic_store(&r->slots[i].beat_ms, now_ms());
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa)
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
        *wa = (worker_arg){r, &r->slots[i]};
        if (pthread_create(&r->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            return hs_fail(err, HS_ERR_INTERNAL, "cannot start job workers");
        }
        r->n_threads = i + 1;
    }
    if (pthread_create(&r->keeper, NULL, keeper_main, r) != 0)
        return hs_fail(err, HS_ERR_INTERNAL, "cannot start the lease keeper");
    r->keeper_started = 1;
    if (pthread_create(&r->news, NULL, news_main, r) != 0)
        return hs_fail(err, HS_ERR_INTERNAL,
                       "cannot start the wait for queued jobs");
    r->news_started = 1;
    return HS_OK;
}

hs_status hs_runner_start(hs_app *app, const hs_runner_config *cfg,
                          hs_runner **out, hs_error *err)
{
    *out = NULL;
    unsigned n = cfg->workers ? cfg->workers : 1;
    hs_runner *r = calloc(1, sizeof *r);
    if (r) {
        r->threads = calloc(n, sizeof *r->threads);
        r->slots = calloc(n, sizeof *r->slots);
    }
    if (!r || !r->threads || !r->slots) {
        if (r) {
            free(r->threads);
            free(r->slots);
        }
        free(r);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    r->app = app;
    r->cfg = *cfg;
    if (cfg->train_faults) {
        r->faults = *cfg->train_faults;
        r->cfg.train_faults = &r->faults;
    }
    r->lease_seconds = cfg->lease_seconds ? cfg->lease_seconds
                                          : HS_RUNNER_LEASE_SECONDS;
    /* The store counts in whole seconds and a lease renewed late in second
     * t for L seconds ends at t + L, which may be only L - 1 seconds later:
     * one more second makes "not renewed for lease_seconds" the least a
     * live job ever gets. */
    r->store_lease = r->lease_seconds + 1;
    make_worker_id(r->worker_id);
    for (size_t i = 0; app->job_types && app->job_types[i] && i + 1 < 32; i++)
        r->types[i] = app->job_types[i]->name;
    pthread_mutex_init(&r->lock, NULL);
    hs_cond_init_monotonic(&r->wake);
    hs_cond_init_monotonic(&r->keeper_wake);
    hs_status st = start_threads(r, n, err);
    if (st != HS_OK) {
        hs_runner_stop(r);
        return st;
    }
    *out = r;
    return HS_OK;
}

void hs_runner_wake(hs_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->wakes++;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

void hs_runner_cancel(hs_runner *r, hs_id job_id)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++)
        if (r->slots[i].job_id == job_id)
            atomic_store(&r->slots[i].stop, 1);
    pthread_mutex_unlock(&r->lock);
}

unsigned hs_runner_running(hs_runner *r)
{
    unsigned n = 0;
    if (!r)
        return 0;
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++)
        n += r->slots[i].job_id != 0;
    pthread_mutex_unlock(&r->lock);
    return n;
}

const char *hs_runner_worker_id(const hs_runner *r) { return r->worker_id; }

hs_status hs_runner_check(hs_runner *r, double now, hs_error *err)
{
    int_fast64_t now_at = (int_fast64_t)(now * 1000.0);
    double keeper_max = (double)r->lease_seconds / 3.0 + HS_RUNNER_BEAT_MAX;
    double silent =
        (double)(now_at - atomic_load(&r->keeper_beat_ms)) / 1000.0;
    if (silent > keeper_max)
        return hs_fail(err, HS_ERR_INTERNAL,
                       "the job lease keeper has not run for %.0f s (at most "
                       "%.0f s expected)",
                       silent, keeper_max);
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++) {
        silent = (double)(now_at - atomic_load(&r->slots[i].beat_ms)) / 1000.0;
        if (r->slots[i].job_id || silent <= HS_RUNNER_BEAT_MAX)
            continue;
        pthread_mutex_unlock(&r->lock);
        return hs_fail(err, HS_ERR_INTERNAL,
                       "job worker %u is idle but has not looked for work for "
                       "%.0f s (at most %d s expected)",
                       i + 1, silent, HS_RUNNER_BEAT_MAX);
    }
    pthread_mutex_unlock(&r->lock);
    return HS_OK;
}

void hs_runner_stop(hs_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    for (unsigned i = 0; i < r->n_threads; i++)
        if (r->slots[i].job_id) {
            atomic_store(&r->slots[i].shutdown, 1);
            atomic_store(&r->slots[i].stop, 1);
        }
    pthread_cond_broadcast(&r->wake);
    pthread_cond_broadcast(&r->keeper_wake); /* the keeper and news */
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    if (r->keeper_started)
        pthread_join(r->keeper, NULL);
    if (r->news_started) /* within one wait for news */
        pthread_join(r->news, NULL);
    pthread_cond_destroy(&r->wake);
    pthread_cond_destroy(&r->keeper_wake);
    pthread_mutex_destroy(&r->lock);
    free(r->threads);
    free(r->slots);
    free(r);
}
