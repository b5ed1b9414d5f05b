/* test_runner.c - the job runner: types from the app's table, leases kept
 * while jobs run, and several runners on one store.
 *
 * The jobs here are of a test type, "wait": each run counts itself, then
 * reports progress every 20 ms until its time is up (or it must stop), or
 * says nothing at all (quiet), and "makes" a result the type can discard. Two
 * runners, each with its own store handle on one SQLite file as two
 * processes would have, share the queue with a 2-second lease and jobs
 * that take 3 seconds: without the keeper renewing leases the other
 * runner would take the jobs back mid-run and they would run twice. A job
 * left running by a worker that is gone (leased to a worker id no runner
 * has) is taken back once its lease lapses and run by a live runner.
 * A run records an attempt (as a training does) when asked: it lands only
 * while the run holds the lease, and is shown while the job runs. A failed
 * run tells the admins with its type's notice and kind, or the runner's.
 * News from the store that a job was queued elsewhere wakes idle workers
 * at once, and while it comes they do not poll the store every second.
 * A store that cannot be reached when a job ends is waited out (the end
 * recorded once, the job run once), and a run that failed only because of
 * it runs again - unless it had stored its result (type "make": a real
 * model record), which the job then keeps instead of making a second one,
 * as it does when a killed worker had stored it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "base/thread_nice.h"
#include "testutil.h"
#include "store_fixtures.h"

#include "base/clock.h"
#include "domain/job_types.h"
#include "domain/jobs.h"
#include "domain/notifications.h"
#include "domain/runner.h"
#include "healer/clock.h"
#include "store/store.h"
#include "store/store_sqlite.h"

#define MAX_JOBS 64

static atomic_int runs[MAX_JOBS];     /* runs per job id */
static atomic_int discards[MAX_JOBS]; /* results discarded per job id */
/* record_attempt's answers per job id: 1 = stop (the lease was lost) */
static atomic_int attempt_refused[MAX_JOBS];
/* The nice values a run saw: its own thread's and a thread it started
 * (as the engine's pools are), 100 = not run. */
static atomic_int nice_of_run[MAX_JOBS], nice_of_child[MAX_JOBS];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static hs_status wait_prepare(hs_app *app, const hs_user *viewer,
                              const json_t *request, hs_job_rec *out,
                              hs_error *err)
{
    (void)app;
    (void)viewer;
    json_int_t ms = json_integer_value(json_object_get(request, "ms"));
    snprintf(out->name, sizeof out->name, "wait %lld ms", (long long)ms);
    out->params_json = json_dumps(request, JSON_COMPACT);
    return out->params_json ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "no memory");
}

/* Records attempt `number` of the run, as a training does. */
static void record(hs_job_run *run, int64_t number)
{
    hs_job_attempt a;
    memset(&a, 0, sizeof a);
    a.number = number;
    snprintf(a.step, sizeof a.step, "requested");
    snprintf(a.algo, sizeof a.algo, "wait");
    snprintf(a.outcome, sizeof a.outcome, "failed");
    snprintf(a.reason, sizeof a.reason, "attempt %lld", (long long)number);
    a.seconds = 0.5;
    a.params_json = "{}";
    int stop = run->record_attempt(run, &a);
    assert_int_equal(a.job_id, run->job->id);
    if (run->job->id < MAX_JOBS && stop)
        atomic_store(&attempt_refused[run->job->id], 1);
}

/* Runs for params.ms milliseconds, reporting every 20 ms unless
 * params.quiet (then it says nothing at all until the end: only the keeper
 * keeps its lease); a success "makes" a result (its own job id). With
 * params.attempt it records attempt 1 first, and attempt 2 at the end;
 * with params.fail it fails ("boom"), with params.notice as the admins'
 * notice of kind params.kind when given. With params.store_down its first
 * run fails as if the store could not be reached (store_unavailable), with
 * params.store_down_always every run. */
static void *child_nice(void *out)
{
    *(int *)out = hs_thread_nice();
    return NULL;
}

/* Records the nice values of the run's thread and of a thread it starts. */
static void note_nice(hs_id job_id)
{
    int child = 100;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, child_nice, &child), 0);
    pthread_join(t, NULL);
    if (job_id < MAX_JOBS) {
        atomic_store(&nice_of_run[job_id], hs_thread_nice());
        atomic_store(&nice_of_child[job_id], child);
    }
}

static void wait_run(hs_job_run *run, hs_job_outcome *out)
{
    note_nice(run->job->id);
    json_t *p = json_loads(run->job->params_json, 0, NULL);
    double ms = (double)json_integer_value(json_object_get(p, "ms"));
    int quiet = json_is_true(json_object_get(p, "quiet"));
    int attempts = json_is_true(json_object_get(p, "attempt"));
    if (json_is_true(json_object_get(p, "fail"))) {
        const char *kind = json_string_value(json_object_get(p, "kind"));
        const char *notice = json_string_value(json_object_get(p, "notice"));
        out->state = HS_JOB_FAILED;
        snprintf(out->error, sizeof out->error, "boom");
        snprintf(out->failure_kind, sizeof out->failure_kind, "%s",
                 kind ? kind : "");
        snprintf(out->failure_notice, sizeof out->failure_notice, "%s",
                 notice ? notice : "");
        json_decref(p);
        return;
    }
    int store_down_once = json_is_true(json_object_get(p, "store_down"));
    int store_down_always = json_is_true(json_object_get(p, "store_down_always"));
    json_decref(p);
    if (attempts)
        record(run, 1);
    if (run->job->id < MAX_JOBS &&
        (atomic_fetch_add(&runs[run->job->id], 1) == 0 || store_down_always) &&
        (store_down_once || store_down_always)) {
        out->state = HS_JOB_FAILED; /* as a training that cannot store */
        out->store_unavailable = 1;
        snprintf(out->error, sizeof out->error, "store unreachable");
        return;
    }
    double t0 = hl_clock_monotonic();
    out->state = HS_JOB_SUCCEEDED;
    out->result_id = run->job->id;
    while ((hl_clock_monotonic() - t0) * 1e3 < ms) {
        double done = (hl_clock_monotonic() - t0) * 1e3 / ms;
        if (!quiet && run->report(run, done, 0, 0, NULL, NULL, 0)) {
            out->state = HS_JOB_CANCELLED;
            out->result_id = 0;
            snprintf(out->error, sizeof out->error, "stopped");
            return;
        }
        sleep_ms(20);
    }
    if (attempts)
        record(run, 2);
}

static void wait_discard(hs_app *app, const hs_job_rec *job, hs_id result_id)
{
    (void)app;
    assert_int_equal(result_id, job->id);
    if (job->id < MAX_JOBS)
        atomic_fetch_add(&discards[job->id], 1);
}

/* A job of type "make" stores a model (a real record made by the job) as
 * its result. With params.answer_lost its first run then fails as if the
 * answer to that commit had been lost with the store (the model is
 * stored, the run cannot know: store_unavailable); with params.hold_ms it
 * then waits that long, saying nothing, before it succeeds (its lease can
 * be lost meanwhile); with params.late_other a model of the same job "from
 * a lost worker" is committed first, as if that worker's commit landed
 * while this run went on. */
static void make_run(hs_job_run *run, hs_job_outcome *out)
{
    json_t *p = json_loads(run->job->params_json, 0, NULL);
    int answer_lost = json_is_true(json_object_get(p, "answer_lost"));
    int late_other = json_is_true(json_object_get(p, "late_other"));
    int hold_ms = (int)json_integer_value(json_object_get(p, "hold_ms"));
    json_decref(p);
    int before = atomic_fetch_add(&runs[run->job->id], 1);
    hs_error err = {0};
    hs_status st = HS_OK;
    if (late_other) {
        hs_model_rec other = make_model(run->job->owner_id, "lost worker's",
                                        (unsigned)(run->job->id * 16 + 15), 100);
        other.job_id = run->job->id;
        st = hs_store_model_create(run->app->store, &other, &err);
    }
    hs_model_rec m = make_model(run->job->owner_id, "made",
                                (unsigned)(run->job->id * 16 + before), 100);
    m.job_id = run->job->id;
    if (st == HS_OK)
        st = hs_store_model_create(run->app->store, &m, &err);
    if (st != HS_OK) {
        hs_job_outcome_failed(out, st, err.message);
        return;
    }
    if (answer_lost && before == 0) {
        hs_job_outcome_failed(out, HS_ERR_UNAVAILABLE,
                              "the answer to the commit was lost");
        return;
    }
    if (hold_ms)
        sleep_ms(hold_ms);
    out->state = HS_JOB_SUCCEEDED;
    out->result_id = m.id;
}

/* Removes a made model, as the real types remove their records. */
static void make_discard(hs_app *app, const hs_job_rec *job, hs_id result_id)
{
    char key[HS_STORE_BLOB_KEY_MAX];
    hs_error err = {0};
    assert_int_equal(hs_store_model_delete(app->store, result_id, 0, 1, key,
                                           &err),
                     HS_OK);
    if (job->id < MAX_JOBS)
        atomic_fetch_add(&discards[job->id], 1);
}

static const hs_job_type WAIT = {"wait",       "waited",     1,
                                 wait_prepare, wait_run,     wait_discard,
                                 NULL};
static const hs_job_type MAKE = {"make",       HS_RESULT_MODEL, 1,
                                 wait_prepare, make_run,        make_discard,
                                 NULL};
static const hs_job_type *const TYPES[] = {&WAIT, &MAKE, NULL};

typedef struct node {
    hs_store *store;
    hs_app app;
    hs_runner *runner;
} node;

typedef struct fixture {
    char dir[64];
    char url[128];
    hs_user owner;
    node a, b;
} fixture;

static void node_open(fixture *f, node *n, int with_runner)
{
    hs_error err = {0};
    assert_int_equal(hs_store_open(f->url, &n->store, &err), HS_OK);
    n->app.store = n->store;
    n->app.clock = hs_clock_system();
    n->app.job_types = TYPES;
    n->app.limits.max_queued_jobs = 100;
    if (with_runner) {
        hs_runner_config rc = {.workers = 1, .train_threads = 1, .lease_seconds = 2};
        assert_int_equal(hs_runner_start(&n->app, &rc, &n->runner, &err), HS_OK);
        n->app.runner = n->runner;
    }
}

static void node_close(node *n)
{
    hs_runner_stop(n->runner);
    hs_store_close(n->store);
    memset(n, 0, sizeof *n);
}

/* Node a again, with a runner of two workers: one to run a job, the
 * other to run it again once it is taken back. */
static void node_reopen_two_workers(fixture *f)
{
    hs_error err = {0};
    node_close(&f->a);
    hs_runner_config rc = {.workers = 2, .train_threads = 1, .lease_seconds = 2};
    node_open(f, &f->a, 0);
    assert_int_equal(hs_runner_start(&f->a.app, &rc, &f->a.runner, &err),
                     HS_OK);
    f->a.app.runner = f->a.runner;
}

/* Job `id`, the oldest queued, claimed at `now` by a worker of another
 * process that will never renew its 1 s lease (a killed worker). */
static void claim_by_dead_worker(node *n, hs_id id, int64_t now)
{
    hs_job_rec j;
    hs_error err = {0};
    assert_int_equal(hs_store_job_claim_next(n->store, "gone:1:dead", NULL, now,
                                             1, &j, &err),
                     HS_OK);
    assert_int_equal(j.id, id);
    hs_job_rec_free(&j);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hs_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/healer-runner-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "sqlite:%s/healer.db", f->dir);
    node_open(f, &f->a, 0);
    hs_user u = {0};
    snprintf(u.username, sizeof u.username, "owner");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    assert_int_equal(hs_store_user_create(f->a.store, &u, &err), HS_OK);
    f->owner = u;
    for (int i = 0; i < MAX_JOBS; i++) {
        atomic_store(&runs[i], 0);
        atomic_store(&discards[i], 0);
        atomic_store(&attempt_refused[i], 0);
        atomic_store(&nice_of_run[i], 100);
        atomic_store(&nice_of_child[i], 100);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    node_close(&f->a);
    node_close(&f->b);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

static hs_id submit_job(node *n, const hs_user *owner, int ms, int quiet)
{
    hs_job_rec job;
    hs_error err = {0};
    json_t *req = json_pack("{s:s, s:i, s:b}", "type", "wait", "ms", ms,
                            "quiet", quiet);
    assert_int_equal(hs_jobs_submit(&n->app, owner, req, &job, &err), HS_OK);
    json_decref(req);
    hs_id id = job.id;
    hs_job_rec_free(&job);
    return id;
}

static hs_id submit(node *n, const hs_user *owner, int ms)
{
    return submit_job(n, owner, ms, 0);
}

static hs_job_rec job_now(node *n, hs_id id)
{
    hs_job_rec job;
    hs_error err = {0};
    assert_int_equal(hs_store_job_get(n->store, id, 0, 1, &job, &err), HS_OK);
    return job;
}

/* Waits up to `seconds` for every job in ids to reach a final state. */
static void wait_finished(node *n, const hs_id *ids, size_t count,
                          double seconds)
{
    double t0 = hl_clock_monotonic();
    for (;;) {
        size_t done = 0;
        for (size_t i = 0; i < count; i++) {
            hs_job_rec j = job_now(n, ids[i]);
            done += j.state >= HS_JOB_SUCCEEDED;
            hs_job_rec_free(&j);
        }
        if (done == count)
            return;
        assert_true(hl_clock_monotonic() - t0 < seconds);
        sleep_ms(50);
    }
}

/* Two runners, one store, 2 s leases, 3 s jobs: each job runs once. */
static void runners_share_a_queue_without_stealing(void **state)
{
    fixture *f = *state;
    node_close(&f->a);
    node_open(f, &f->a, 1);
    node_open(f, &f->b, 1);
    assert_string_not_equal(hs_runner_worker_id(f->a.runner),
                            hs_runner_worker_id(f->b.runner));
    hs_id ids[4];
    for (int i = 0; i < 4; i++)
        ids[i] = submit(i % 2 ? &f->b : &f->a, &f->owner, 3000);
    wait_finished(&f->a, ids, 4, 30);
    for (int i = 0; i < 4; i++) {
        hs_job_rec j = job_now(&f->a, ids[i]);
        assert_int_equal(j.state, HS_JOB_SUCCEEDED);
        assert_int_equal(j.restarts, 0);
        assert_int_equal(atomic_load(&runs[ids[i]]), 1);
        assert_string_equal(j.worker_id, ""); /* released at the end */
        hs_job_rec_free(&j);
    }
}

/* A job that says nothing for longer than its lease keeps it: the keeper
 * renews it, so the other runner never takes it back. */
static void a_silent_job_keeps_its_lease(void **state)
{
    fixture *f = *state;
    node_close(&f->a);
    node_open(f, &f->a, 1);
    node_open(f, &f->b, 1);
    hs_id id = submit_job(&f->a, &f->owner, 5000, 1);
    wait_finished(&f->a, &id, 1, 30);
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(j.restarts, 0);
    assert_int_equal(atomic_load(&runs[id]), 1);
    assert_string_equal(j.result_kind, "waited");
    assert_int_equal(j.result_id, id);
    hs_job_rec_free(&j);
}

/* The liveness check: live threads pass; looked at from later on (as if
 * they had stopped), an idle worker silent past HS_RUNNER_BEAT_MAX fails,
 * then the lease keeper past its period plus that; a worker that runs a
 * job is not judged by its silence. */
static void silent_runner_threads_are_reported(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_runner_config rc = {.workers = 1, .train_threads = 1, .lease_seconds = 60}; /* the keeper runs every 20 s */
    assert_int_equal(hs_runner_start(&f->a.app, &rc, &f->a.runner, &err),
                     HS_OK);
    f->a.app.runner = f->a.runner;
    hs_runner *r = f->a.runner;
    double now = hl_clock_monotonic();
    assert_int_equal(hs_runner_check(r, now, &err), HS_OK);
    assert_int_equal(hs_runner_check(r, now + HS_RUNNER_BEAT_MAX - 2, &err),
                     HS_OK);
    assert_int_equal(hs_runner_check(r, now + HS_RUNNER_BEAT_MAX + 0.5, &err),
                     HS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "job worker 1 is idle"));
    assert_int_equal(hs_runner_check(r, now + 20 + HS_RUNNER_BEAT_MAX + 1, &err),
                     HS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "lease keeper"));

    hs_id id = submit_job(&f->a, &f->owner, 3000, 1);
    while (atomic_load(&runs[id]) == 0)
        sleep_ms(10);
    now = hl_clock_monotonic();
    assert_int_equal(hs_runner_check(r, now + HS_RUNNER_BEAT_MAX + 0.5, &err),
                     HS_OK);
    wait_finished(&f->a, &id, 1, 30);
}

/* A run whose job was taken back meanwhile (as after a store outage longer
 * than the lease) cannot record its end: the result it made is discarded,
 * and the job runs again - here on the same runner, which must not mistake
 * the new claim for the old one. (A run that reports progress learns it at
 * its next report and stops; this one is quiet to reach the end.) */
static void a_run_that_lost_its_lease_discards_its_result(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    node_reopen_two_workers(f);
    hs_id id = submit_job(&f->a, &f->owner, 1500, 1);
    while (atomic_load(&runs[id]) == 0)
        sleep_ms(10);
    int64_t requeued = 0;
    assert_int_equal(hs_store_job_recover(f->a.store, hs_clock_now(NULL) + 1000,
                                          1, &requeued, NULL, &err),
                     HS_OK);
    assert_int_equal(requeued, 1);
    double t0 = hl_clock_monotonic();
    while (atomic_load(&discards[id]) == 0) { /* the old run's last step */
        assert_true(hl_clock_monotonic() - t0 < 30);
        sleep_ms(10);
    }
    wait_finished(&f->a, &id, 1, 30);
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(j.restarts, 1);
    assert_int_equal(atomic_load(&runs[id]), 2);
    assert_int_equal(atomic_load(&discards[id]), 1);
    hs_job_rec_free(&j);
}

/* A job left running by a worker that is gone comes back once its lease
 * lapses, and a live runner runs it; one still leased is never touched. */
static void a_lost_workers_job_is_taken_back(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id lost = submit(&f->a, &f->owner, 100);
    hs_id alive = submit(&f->a, &f->owner, 100);
    hs_job_rec j;
    int64_t now = hs_clock_now(NULL);
    /* Two "workers" of another process claim them: one will stop renewing
     * (its lease lapses in 1 s), the other keeps renewing. */
    claim_by_dead_worker(&f->a, lost, now);
    assert_int_equal(hs_store_job_claim_next(f->a.store, "other:2:live", NULL, now, 60,
                                             &j, &err),
                     HS_OK);
    hs_job_rec_free(&j);
    node_open(f, &f->b, 1);
    wait_finished(&f->b, &lost, 1, 20);
    j = job_now(&f->b, lost);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(j.restarts, 1);
    assert_int_equal(atomic_load(&runs[lost]), 1); /* the dead worker never ran it here */
    hs_job_rec_free(&j);
    j = job_now(&f->b, alive);
    assert_int_equal(j.state, HS_JOB_RUNNING);
    assert_string_equal(j.worker_id, "other:2:live");
    assert_int_equal(atomic_load(&runs[alive]), 0);
    hs_job_rec_free(&j);
}

/* Stopping a runner puts its running job back in the queue, untried. */
static void stop_requeues_running_jobs(void **state)
{
    fixture *f = *state;
    node_close(&f->a);
    node_open(f, &f->a, 1);
    hs_id id = submit(&f->a, &f->owner, 60000);
    double t0 = hl_clock_monotonic();
    for (;;) {
        hs_job_rec j = job_now(&f->a, id);
        int running = j.state == HS_JOB_RUNNING;
        hs_job_rec_free(&j);
        if (running && atomic_load(&runs[id]) == 1)
            break;
        assert_true(hl_clock_monotonic() - t0 < 10);
        sleep_ms(20);
    }
    hs_runner_stop(f->a.runner);
    f->a.runner = f->a.app.runner = NULL;
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_QUEUED);
    assert_int_equal(j.restarts, 0);
    assert_string_equal(j.worker_id, "");
    hs_job_rec_free(&j);
}

/* A cancel reaches the job through the store and ends it cancelled. */
static void cancel_reaches_a_running_job(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    node_close(&f->a);
    node_open(f, &f->a, 1);
    node_open(f, &f->b, 0); /* cancels through another store handle */
    hs_id id = submit(&f->a, &f->owner, 60000);
    while (atomic_load(&runs[id]) == 0)
        sleep_ms(20);
    hs_job_rec j;
    hs_user admin = f->owner;
    admin.is_admin = 1;
    assert_int_equal(hs_jobs_cancel(&f->b.app, id, &admin, &j, &err), HS_OK);
    hs_job_rec_free(&j);
    wait_finished(&f->a, &id, 1, 10);
    j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_CANCELLED);
    hs_job_rec_free(&j);
}

static hs_id submit_request(node *n, const hs_user *owner, json_t *req)
{
    hs_job_rec job;
    hs_error err = {0};
    assert_int_equal(hs_jobs_submit(&n->app, owner, req, &job, &err), HS_OK);
    json_decref(req);
    hs_id id = job.id;
    hs_job_rec_free(&job);
    return id;
}

static size_t attempts_now(node *n, hs_id id, hs_job_attempt **items)
{
    hs_error err = {0};
    hs_user admin = {.id = 0, .is_admin = 1};
    size_t count = 0;
    assert_int_equal(hs_jobs_attempts(&n->app, id, &admin, items, &count, &err),
                     HS_OK);
    return count;
}

/* An attempt is in the store as soon as it ended, while the job still
 * runs; the next one joins it. */
static void attempts_are_recorded_while_the_job_runs(void **state)
{
    fixture *f = *state;
    hs_job_attempt *items = NULL;
    node_close(&f->a);
    node_open(f, &f->a, 1);
    hs_id id = submit_request(
        &f->a, &f->owner,
        json_pack("{s:s, s:i, s:b}", "type", "wait", "ms", 1500, "attempt", 1));
    double t0 = hl_clock_monotonic();
    while (attempts_now(&f->a, id, &items) == 0) {
        hs_job_attempt_list_free(items, 0);
        assert_true(hl_clock_monotonic() - t0 < 10);
        sleep_ms(10);
    }
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_RUNNING);
    hs_job_rec_free(&j);
    assert_int_equal(items[0].number, 1);
    assert_int_equal(items[0].job_id, id);
    assert_string_equal(items[0].reason, "attempt 1");
    hs_job_attempt_list_free(items, 1);
    wait_finished(&f->a, &id, 1, 10);
    assert_int_equal(attempts_now(&f->a, id, &items), 2);
    assert_int_equal(items[1].number, 2);
    hs_job_attempt_list_free(items, 2);
    assert_int_equal(atomic_load(&attempt_refused[id]), 0);
}

/* A run whose job was taken back records nothing more: record_attempt
 * refuses and says stop. The new run starts again from attempt 1 (the
 * old run's attempt went with the re-queue) and records both of its own. */
static void a_run_that_lost_its_lease_records_no_attempt(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_job_attempt *items = NULL;
    node_reopen_two_workers(f);
    hs_id id = submit_request(&f->a, &f->owner,
                              json_pack("{s:s, s:i, s:b, s:b}", "type", "wait",
                                        "ms", 1500, "quiet", 1, "attempt", 1));
    while (attempts_now(&f->a, id, &items) == 0) {
        hs_job_attempt_list_free(items, 0);
        sleep_ms(10);
    }
    hs_job_attempt_list_free(items, 1);
    int64_t requeued = 0;
    assert_int_equal(hs_store_job_recover(f->a.store, hs_clock_now(NULL) + 1000,
                                          1, &requeued, NULL, &err),
                     HS_OK);
    assert_int_equal(requeued, 1);
    double t0 = hl_clock_monotonic();
    while (atomic_load(&discards[id]) == 0) { /* the old run's end */
        assert_true(hl_clock_monotonic() - t0 < 30);
        sleep_ms(10);
    }
    assert_int_equal(atomic_load(&attempt_refused[id]), 1);
    wait_finished(&f->a, &id, 1, 30);
    assert_int_equal(atomic_load(&runs[id]), 2);
    assert_int_equal(attempts_now(&f->a, id, &items), 2);
    assert_int_equal(items[0].number, 1);
    assert_int_equal(items[1].number, 2);
    hs_job_attempt_list_free(items, 2);
}

/* A failed run tells the admins once its end is recorded: with its
 * type's kind and notice, or the runner's "job_failed" line. */
static void a_failed_run_notifies_the_admins(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    node_close(&f->a);
    node_open(f, &f->a, 1);
    hs_id ids[2];
    ids[0] = submit_request(
        &f->a, &f->owner,
        json_pack("{s:s, s:i, s:b, s:s, s:s}", "type", "wait", "ms", 0, "fail",
                  1, "kind", "training_failed", "notice", "no model: 3 tries"));
    ids[1] = submit_request(
        &f->a, &f->owner,
        json_pack("{s:s, s:i, s:b}", "type", "wait", "ms", 0, "fail", 1));
    wait_finished(&f->a, ids, 2, 10);
    hs_notification *notes = NULL;
    size_t n = 0;
    char plain[160];
    snprintf(plain, sizeof plain, "wait job %lld ('wait 0 ms') failed: boom",
             (long long)ids[1]);
    /* The notice follows the recorded end: wait for both. */
    double t0 = hl_clock_monotonic();
    for (;;) {
        assert_int_equal(hs_notifications_list(&f->a.app, 0, &notes, &n, &err),
                         HS_OK);
        if (n >= 2)
            break;
        free(notes);
        assert_true(hl_clock_monotonic() - t0 < 10);
        sleep_ms(20);
    }
    assert_int_equal(n, 2);
    int typed = 0, generic = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(notes[i].user_id, f->owner.id);
        typed += !strcmp(notes[i].kind, "training_failed") &&
                 !strcmp(notes[i].message, "no model: 3 tries");
        generic += !strcmp(notes[i].kind, "job_failed") &&
                   !strcmp(notes[i].message, plain);
    }
    assert_int_equal(typed, 1);
    assert_int_equal(generic, 1);
    free(notes);
}

/* ---- the store going away ------------------------------------------- */

/* SQLite's ops with a finish that fails as an unreachable database would
 * while finish_failures lasts. */
static atomic_int finish_failures;
static hs_status (*real_finish)(void *, hs_id, const char *, hs_job_state,
                                const char *, const char *, hs_id,
                                const char *, int64_t, hs_error *);

static hs_status finish_or_down(void *impl, hs_id id, const char *worker_id,
                                hs_job_state state, const char *error,
                                const char *result_kind, hs_id result_id,
                                const char *attempts_json, int64_t finished_at,
                                hs_error *err)
{
    if (atomic_fetch_sub(&finish_failures, 1) > 0)
        return hs_fail(err, HS_ERR_UNAVAILABLE,
                       "the database cannot be reached");
    return real_finish(impl, id, worker_id, state, error, result_kind,
                       result_id, attempts_json, finished_at, err);
}

/* Node b with a runner on such a store (its jobs table in *jobs, which
 * must outlive the runner). */
static void node_open_flaky(fixture *f, hs_store_job_ops *jobs,
                            hs_store_ops *ops, hs_store *flaky)
{
    hs_error err = {0};
    hs_store *real = NULL;
    assert_int_equal(hs_store_open(f->url, &real, &err), HS_OK);
    real_finish = real->ops->jobs->finish;
    *jobs = *real->ops->jobs;
    jobs->finish = finish_or_down;
    *ops = *real->ops;
    ops->jobs = jobs;
    *flaky = (hs_store){ops, real->impl};
    node *b = &f->b;
    b->store = real; /* node_close closes it */
    b->app.store = flaky;
    b->app.clock = hs_clock_system();
    b->app.job_types = TYPES;
    b->app.limits.max_queued_jobs = 100;
    hs_runner_config rc = {.workers = 1, .train_threads = 1, .lease_seconds = 2};
    assert_int_equal(hs_runner_start(&b->app, &rc, &b->runner, &err), HS_OK);
    b->app.runner = b->runner;
}

/* A job's end that the store cannot take (5 s of outage, past the 2 s
 * lease and the three tries of other errors) is waited out: recorded once
 * the store answers, the job run once, its result kept. */
static void an_unreachable_store_is_waited_out_at_the_end(void **state)
{
    fixture *f = *state;
    hs_store_job_ops jobs;
    hs_store_ops ops;
    hs_store flaky;
    atomic_store(&finish_failures, 5);
    node_open_flaky(f, &jobs, &ops, &flaky);
    hs_id id = submit(&f->a, &f->owner, 10);
    wait_finished(&f->a, &id, 1, 20);
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(j.result_id, id);
    assert_int_equal(j.restarts, 0);
    hs_job_rec_free(&j);
    assert_int_equal(atomic_load(&runs[id]), 1);
    assert_int_equal(atomic_load(&discards[id]), 0);
    assert_true(atomic_load(&finish_failures) < 0);
}

/* Queues on node a a 10 ms wait job with params.FLAG true; its id. */
static hs_id submit_flagged(fixture *f, const char *flag)
{
    hs_job_rec job;
    hs_error err = {0};
    json_t *req = json_pack("{s:s, s:i, s:b}", "type", "wait", "ms", 10, flag, 1);
    assert_int_equal(hs_jobs_submit(&f->a.app, &f->owner, req, &job, &err),
                     HS_OK);
    json_decref(req);
    hs_id id = job.id;
    hs_job_rec_free(&job);
    return id;
}

/* A run that failed only because the store could not be reached is not
 * recorded as failed: the job goes back to the queue and runs again. */
static void a_run_failed_by_the_store_runs_again(void **state)
{
    fixture *f = *state;
    hs_store_job_ops jobs;
    hs_store_ops ops;
    hs_store flaky;
    atomic_store(&finish_failures, 0);
    node_open_flaky(f, &jobs, &ops, &flaky);
    hs_id id = submit_flagged(f, "store_down");
    wait_finished(&f->a, &id, 1, 20);
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(j.restarts, 0);
    hs_job_rec_free(&j);
    assert_int_equal(atomic_load(&runs[id]), 2);
}

/* A run that the store "fails" every time (HS_ERR_UNAVAILABLE also covers
 * a statement timeout or a full disk, which last) goes back to the queue
 * HS_RUNNER_OUTAGE_REQUEUES times, after pauses of 0, 1, 2 s, and then its
 * failure is recorded: it ran 4 times, not for ever. */
static void a_job_the_store_always_fails_ends_failed(void **state)
{
    fixture *f = *state;
    hs_store_job_ops jobs;
    hs_store_ops ops;
    hs_store flaky;
    atomic_store(&finish_failures, 0);
    node_open_flaky(f, &jobs, &ops, &flaky);
    hs_id id = submit_flagged(f, "store_down_always");
    double t0 = hl_clock_monotonic();
    wait_finished(&f->a, &id, 1, 30);
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_FAILED);
    assert_string_equal(j.error, "store unreachable");
    hs_job_rec_free(&j);
    assert_int_equal(atomic_load(&runs[id]), HS_RUNNER_OUTAGE_REQUEUES + 1);
    assert_true(hl_clock_monotonic() - t0 >= 2.5); /* paused 0 + 1 + 2 s */
}

/* Queues on node n a "make" job with params.FLAG = value (a number for
 * hold_ms, else true or false). */
static hs_id submit_make(node *n, const hs_user *owner, const char *flag,
                         int value)
{
    hs_job_rec job;
    hs_error err = {0};
    json_t *req = json_pack("{s:s, s:i}", "type", "make", flag, value);
    if (strcmp(flag, "hold_ms") != 0)
        json_object_set_new(req, flag, json_boolean(value));
    assert_int_equal(hs_jobs_submit(&n->app, owner, req, &job, &err), HS_OK);
    json_decref(req);
    hs_id id = job.id;
    hs_job_rec_free(&job);
    return id;
}

/* How many models job `id` made, trash included. */
static size_t models_of_job(node *n, hs_id id)
{
    hs_model_rec *m = NULL;
    size_t count = 0, n_models = 0;
    hs_error err = {0};
    assert_int_equal(hs_store_model_list(n->store, 0, 1, 1, &m, &n_models,
                                         &err),
                     HS_OK);
    for (size_t i = 0; i < n_models; i++)
        count += m[i].job_id == id;
    hs_model_list_free(m, n_models);
    return count;
}

/* A run whose result was committed but whose answer was lost with the
 * store (it failed "by the outage" and was given back) does not run
 * again: the job ends with the model it stored, and there is one model,
 * not two. */
static void a_result_whose_answer_was_lost_is_kept(void **state)
{
    fixture *f = *state;
    node_close(&f->a);
    node_open(f, &f->a, 1);
    hs_id id = submit_make(&f->a, &f->owner, "answer_lost", 1);
    wait_finished(&f->a, &id, 1, 20);
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_string_equal(j.result_kind, HS_RESULT_MODEL);
    hs_id made = 0;
    hs_error err = {0};
    assert_int_equal(hs_store_job_result_of(f->a.store, id, HS_RESULT_MODEL, 0,
                                            &made, &err),
                     HS_OK);
    assert_int_equal(j.result_id, made);
    hs_job_rec_free(&j);
    assert_int_equal(atomic_load(&runs[id]), 1);
    assert_int_equal(models_of_job(&f->a, id), 1);
}

/* A worker killed between storing its result and recording the job's
 * end: the job, taken back once the lease lapses, ends with that result
 * without running again. */
static void a_killed_workers_stored_result_is_kept(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id id = submit_make(&f->a, &f->owner, "answer_lost", 0);
    int64_t now = hs_clock_now(NULL);
    claim_by_dead_worker(&f->a, id, now);
    hs_model_rec m = make_model(f->owner.id, "made before the kill", 999, now);
    m.job_id = id;
    assert_int_equal(hs_store_model_create(f->a.store, &m, &err), HS_OK);
    node_open(f, &f->b, 1);
    wait_finished(&f->b, &id, 1, 20);
    hs_job_rec j = job_now(&f->b, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(j.restarts, 1);
    assert_int_equal(j.result_id, m.id);
    hs_job_rec_free(&j);
    assert_int_equal(atomic_load(&runs[id]), 0);
    assert_int_equal(models_of_job(&f->b, id), 1);
}

/* A run that stored its model and then lost its lease (another worker
 * took the job back and ended it with that model) leaves the model: its
 * discard would take the job's result away. */
static void a_result_adopted_after_a_lost_lease_stays(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    node_reopen_two_workers(f);
    hs_id id = submit_make(&f->a, &f->owner, "hold_ms", 2000);
    double t0 = hl_clock_monotonic();
    while (models_of_job(&f->a, id) == 0) {
        assert_true(hl_clock_monotonic() - t0 < 30);
        sleep_ms(10);
    }
    int64_t requeued = 0;
    assert_int_equal(hs_store_job_recover(f->a.store, hs_clock_now(NULL) + 1000,
                                          1, &requeued, NULL, &err),
                     HS_OK);
    assert_int_equal(requeued, 1);
    wait_finished(&f->a, &id, 1, 30);
    sleep_ms(2500); /* the first run wakes, finds its lease gone */
    hs_job_rec j = job_now(&f->a, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(atomic_load(&runs[id]), 1);
    assert_int_equal(atomic_load(&discards[id]), 0);
    hs_model_rec m;
    assert_int_equal(hs_store_model_get(f->a.store, j.result_id, 0, 1, &m, &err),
                     HS_OK);
    hs_model_rec_free(&m);
    hs_job_rec_free(&j);
    assert_int_equal(models_of_job(&f->a, id), 1);
}

/* A job taken back from a lost worker whose commit landed after this run
 * looked for one: the run that ends the job removes that second model. */
static void a_lost_workers_late_result_is_removed(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id id = submit_make(&f->a, &f->owner, "late_other", 1);
    int64_t now = hs_clock_now(NULL);
    claim_by_dead_worker(&f->a, id, now);
    node_open(f, &f->b, 1);
    wait_finished(&f->b, &id, 1, 20);
    hs_job_rec j = job_now(&f->b, id);
    assert_int_equal(j.state, HS_JOB_SUCCEEDED);
    assert_int_equal(j.restarts, 1);
    assert_int_equal(atomic_load(&discards[id]), 1);
    assert_int_equal(models_of_job(&f->b, id), 1);
    hs_model_rec m;
    assert_int_equal(hs_store_model_get(f->b.store, j.result_id, 0, 1, &m, &err),
                     HS_OK);
    assert_string_equal(m.name, "made");
    hs_model_rec_free(&m);
    hs_job_rec_free(&j);
}

/* ---- news of queued jobs ---------------------------------------------- */

/* A store with news (as PostgreSQL's LISTEN/NOTIFY gives): SQLite's ops,
 * with a wait_queued that answers as soon as the test says a job was
 * queued. */
static pthread_mutex_t news_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t news_cond = PTHREAD_COND_INITIALIZER;
static int news_pending; /* guarded by news_lock */
static atomic_int news_waits;

static hs_status news_wait(void *impl, int64_t timeout_ms, int *notified,
                           hs_error *err)
{
    (void)impl;
    (void)err;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    atomic_fetch_add(&news_waits, 1);
    pthread_mutex_lock(&news_lock);
    while (!news_pending &&
           pthread_cond_timedwait(&news_cond, &news_lock, &until) == 0)
        ;
    *notified = news_pending;
    news_pending = 0;
    pthread_mutex_unlock(&news_lock);
    return HS_OK;
}

static void news_tell(void)
{
    pthread_mutex_lock(&news_lock);
    news_pending = 1;
    pthread_cond_broadcast(&news_cond);
    pthread_mutex_unlock(&news_lock);
}

/* Seconds until job `id` leaves the queue. */
static double seconds_queued(node *n, hs_id id)
{
    double t0 = hl_clock_monotonic();
    for (;;) {
        hs_job_rec j = job_now(n, id);
        int queued = j.state == HS_JOB_QUEUED;
        hs_job_rec_free(&j);
        if (!queued)
            return hl_clock_monotonic() - t0;
        assert_true(hl_clock_monotonic() - t0 < 5);
        sleep_ms(5);
    }
}

static atomic_int claims_made;
static hs_store_job_ops real_jobs;

static hs_status counted_claim(void *impl, const char *worker_id,
                               const char *types_json, int64_t now,
                               int64_t lease_seconds, hs_job_rec *out,
                               hs_error *err)
{
    atomic_fetch_add(&claims_made, 1);
    return real_jobs.claim_next_fair(impl, worker_id, types_json, now,
                                     lease_seconds, out, err);
}

/* The store with news of queued jobs: SQLite's, with news_wait and the
 * claims counted. */
typedef struct news_store {
    hs_store_job_ops jobs;
    hs_store_ops ops;
    hs_store store;
} news_store;

/* Starts node b's runner (one worker, 2 s leases) on f's store with news
 * (ns, which must outlive it); node a has no runner, so nothing wakes b's
 * workers but the store's news. */
static void news_node(fixture *f, news_store *ns)
{
    hs_error err = {0};
    hs_store *real = NULL;
    assert_int_equal(hs_store_open(f->url, &real, &err), HS_OK);
    real_jobs = *real->ops->jobs;
    ns->jobs = *real->ops->jobs;
    ns->jobs.wait_queued = news_wait;
    ns->jobs.claim_next_fair = counted_claim;
    ns->ops = *real->ops;
    ns->ops.jobs = &ns->jobs;
    ns->store = (hs_store){&ns->ops, real->impl};
    node *b = &f->b;
    b->store = real; /* node_close closes it */
    b->app.store = &ns->store;
    b->app.clock = hs_clock_system();
    b->app.job_types = TYPES;
    b->app.limits.max_queued_jobs = 100;
    hs_runner_config rc = {.workers = 1, .train_threads = 1, .lease_seconds = 2};
    assert_int_equal(hs_runner_start(&b->app, &rc, &b->runner, &err), HS_OK);
    b->app.runner = b->runner;
}

/* A job queued by another process starts at once, not at the idle
 * workers' next look a second later: five in a row all within 0.3 s
 * (by polling alone, 0.3^5 = 0.2 % of the time). */
static void news_of_queued_jobs_wakes_the_workers(void **state)
{
    fixture *f = *state;
    news_store ns;
    news_node(f, &ns);
    sleep_ms(1200); /* the idle worker's first look is over */
    for (int i = 0; i < 5; i++) {
        hs_id id = submit(&f->a, &f->owner, 10);
        news_tell();
        double waited = seconds_queued(&f->a, id);
        if (waited >= 0.3)
            fail_msg("job %d waited %.3f s in the queue", i, waited);
        wait_finished(&f->a, &id, 1, 5);
        sleep_ms(150);
    }
    assert_true(atomic_load(&news_waits) >= 5);
}

/* With news, an idle worker does not poll the store every second: once
 * it has started (a claim at start, one when the first wait for news
 * shows that news works, a store unknown so far may have none, and under
 * load a one-second look between the two), 3 s go by with at most one
 * claim, not 3; it stays healthy (its heartbeat goes on), and a job whose
 * news came still starts at once. */
static void idle_workers_do_not_poll_a_store_with_news(void **state)
{
    fixture *f = *state;
    news_store ns;
    pthread_mutex_lock(&news_lock); /* no news left by an earlier test */
    news_pending = 0;
    pthread_mutex_unlock(&news_lock);
    news_node(f, &ns);
    sleep_ms(2500);
    int started = atomic_load(&claims_made);
    sleep_ms(3000);
    int made = atomic_load(&claims_made) - started;
    if (made > 1)
        fail_msg("an idle worker claimed %d times in 3 s with news", made);
    hs_error err = {0};
    assert_int_equal(hs_runner_check(f->b.runner, hl_clock_monotonic(), &err),
                     HS_OK);
    hs_id id = submit(&f->a, &f->owner, 10);
    news_tell();
    assert_true(seconds_queued(&f->a, id) < 0.3);
    wait_finished(&f->a, &id, 1, 5);
}

/* Job threads run job-nice nicer than the process, and so do the threads
 * their jobs start (a training's pool): requests first. The test thread's
 * own value is the base (the test may itself run under nice). */
static void job_threads_yield_to_requests(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    int base = hs_thread_nice();
    if (base + 7 > 19) /* already too nice to tell the runner's doing */
        skip();
    hs_runner_config rc = {.workers = 1, .train_threads = 1, .lease_seconds = 2, .job_nice = 7};
    assert_int_equal(hs_runner_start(&f->a.app, &rc, &f->a.runner, &err), HS_OK);
    f->a.app.runner = f->a.runner;
    hs_id id = submit(&f->a, &f->owner, 0);
    wait_finished(&f->a, &id, 1, 5);
    assert_int_equal(atomic_load(&nice_of_run[id]), base + 7);
    assert_int_equal(atomic_load(&nice_of_child[id]), base + 7);
    assert_int_equal(hs_thread_nice(), base); /* the process's other threads */
    /* job-nice 0: the process's priority. */
    hs_runner_stop(f->a.runner);
    rc.job_nice = 0;
    assert_int_equal(hs_runner_start(&f->a.app, &rc, &f->a.runner, &err), HS_OK);
    f->a.app.runner = f->a.runner;
    id = submit(&f->a, &f->owner, 0);
    wait_finished(&f->a, &id, 1, 5);
    assert_int_equal(atomic_load(&nice_of_run[id]), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(runners_share_a_queue_without_stealing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_silent_job_keeps_its_lease, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(silent_runner_threads_are_reported,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_run_that_lost_its_lease_discards_its_result, setup, teardown),
        cmocka_unit_test_setup_teardown(a_lost_workers_job_is_taken_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stop_requeues_running_jobs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(cancel_reaches_a_running_job, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            attempts_are_recorded_while_the_job_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_run_that_lost_its_lease_records_no_attempt, setup, teardown),
        cmocka_unit_test_setup_teardown(a_failed_run_notifies_the_admins, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            an_unreachable_store_is_waited_out_at_the_end, setup, teardown),
        cmocka_unit_test_setup_teardown(a_result_whose_answer_was_lost_is_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_killed_workers_stored_result_is_kept,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_result_adopted_after_a_lost_lease_stays,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_lost_workers_late_result_is_removed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_job_the_store_always_fails_ends_failed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_run_failed_by_the_store_runs_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(job_threads_yield_to_requests, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(news_of_queued_jobs_wakes_the_workers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            idle_workers_do_not_poll_a_store_with_news, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
