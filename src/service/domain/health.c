/* domain/health.c - the health checks and their cache (see health.h). */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include <jansson.h>

#include "base/log.h"
#include "base/timed_wait.h"
#include "blob/blob.h"
#include "domain/health.h"
#include "domain/runner.h"
#include "healer/clock.h"
#include "store/store.h"

struct hs_health {
    char *data_dir;          /* immutable */
    uint64_t min_free_bytes; /* immutable */
    pthread_mutex_t lock;
    pthread_cond_t done;   /* a run finished */
    int running;           /* guarded by lock: a caller runs the checks */
    int stalled;           /* guarded by lock: a wait for the running run
                              timed out; cleared when that run ends */
    int have;              /* guarded by lock: last is set */
    double ran_at;         /* guarded by lock: monotonic end of last */
    hs_health_report last; /* guarded by lock */
    atomic_int current;    /* index of the check running now */
    atomic_uint_fast64_t runs;
};

/* ---- the checks ------------------------------------------------------------
 */

static int fail_msg(hs_health_check *c, const hs_error *err)
{
    snprintf(c->message, sizeof c->message, "%s",
             err->message[0] ? err->message : "failed");
    return 0;
}

static int check_store(hs_app *app, const hs_health *h, hs_health_check *c)
{
    hs_error err = {0};
    (void)h;
    if (hs_store_ping(app->store, &err) != HS_OK)
        return fail_msg(c, &err);
    snprintf(c->message, sizeof c->message, "answers");
    return 1;
}

static int check_blobs(hs_app *app, const hs_health *h, hs_health_check *c)
{
    hs_error err = {0};
    char key[HS_BLOB_KEY_MAX];
    (void)h;
    if (hs_blob_put(app->blobs, "health", "1", 1, key, &err) != HS_OK)
        return fail_msg(c, &err);
    if (hs_blob_delete(app->blobs, key, &err) != HS_OK)
        return fail_msg(c, &err);
    snprintf(c->message, sizeof c->message, "a file was written and removed");
    return 1;
}

static int check_disk(hs_app *app, const hs_health *h, hs_health_check *c)
{
    struct statvfs vfs;
    (void)app;
    if (statvfs(h->data_dir, &vfs) != 0) {
        snprintf(c->message, sizeof c->message, "cannot measure %s: %s",
                 h->data_dir, strerror(errno));
        return 0;
    }
    uint64_t free_bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
    unsigned long long free_mb = free_bytes >> 20;
    unsigned long long min_mb = h->min_free_bytes >> 20;
    if (free_bytes < h->min_free_bytes) {
        snprintf(c->message, sizeof c->message,
                 "%llu MiB free on the data directory's file system, below "
                 "the minimum of %llu MiB (min-free-disk-mb)",
                 free_mb, min_mb);
        return 0;
    }
    snprintf(c->message, sizeof c->message, "%llu MiB free (minimum %llu MiB)",
             free_mb, min_mb);
    return 1;
}

static int check_runner(hs_app *app, const hs_health *h, hs_health_check *c)
{
    hs_error err = {0};
    (void)h;
    if (hs_runner_check(app->runner, hl_clock_monotonic(), &err) != HS_OK)
        return fail_msg(c, &err);
    snprintf(c->message, sizeof c->message, "%u job(s) running here",
             hs_runner_running(app->runner));
    return 1;
}

typedef int (*check_fn)(hs_app *app, const hs_health *h, hs_health_check *c);

/* A check's state while it hangs (see report_stalled). */
#define STALLED_STATE "not answering"

static const struct {
    const char *name;
    check_fn run;
    int needs_dir;                       /* only with a data directory */
    const char *ok_state, *failed_state; /* the public hs_health_check.state */
} CHECKS[HS_HEALTH_CHECKS] = {
    {"store", check_store, 0, "answers", STALLED_STATE},
    {"blobs", check_blobs, 0, "a file was written and removed",
     "cannot write a file"},
    {"disk", check_disk, 1, "enough free space",
     "free space below min-free-disk-mb"},
    {"runner", check_runner, 0, "threads alive", "threads stuck or gone"},
};

/* Runs every check that applies, in order (h may be NULL). */
static void run_checks(hs_app *app, hs_health *h, hs_health_report *out)
{
    memset(out, 0, sizeof *out);
    out->ok = 1;
    for (int i = 0; i < HS_HEALTH_CHECKS; i++) {
        if ((CHECKS[i].needs_dir && !h) ||
            (CHECKS[i].run == check_runner && !app->runner))
            continue;
        hs_health_check *c = &out->checks[out->n_checks++];
        if (h)
            atomic_store(&h->current, i);
        double t0 = hl_clock_monotonic();
        c->name = CHECKS[i].name;
        c->ok = CHECKS[i].run(app, h, c);
        c->state = c->ok ? CHECKS[i].ok_state : CHECKS[i].failed_state;
        c->seconds = hl_clock_monotonic() - t0;
        out->ok &= c->ok;
    }
}

/* ---- the cache -------------------------------------------------------------
 */

hs_status hs_health_new(const char *data_dir, uint64_t min_free_bytes,
                        hs_health **out, hs_error *err)
{
    *out = NULL;
    hs_health *h = calloc(1, sizeof *h);
    if (h)
        h->data_dir = strdup(data_dir ? data_dir : ".");
    if (!h || !h->data_dir) {
        free(h);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    h->min_free_bytes = min_free_bytes;
    pthread_mutex_init(&h->lock, NULL);
    hs_cond_init_monotonic(&h->done);
    *out = h;
    return HS_OK;
}

void hs_health_free(hs_health *h)
{
    if (!h)
        return;
    pthread_cond_destroy(&h->done);
    pthread_mutex_destroy(&h->lock);
    free(h->data_dir);
    free(h);
}

uint64_t hs_health_runs(const hs_health *h)
{
    return h ? atomic_load(&((hs_health *)h)->runs) : 0;
}

/* Another caller's run did not end in time: its current check is the one
 * not answering; the other checks are as last seen (lock held). */
static void report_stalled(hs_health *h, double now, hs_health_report *out)
{
    int i = atomic_load(&h->current);
    hs_health_check *stalled = NULL;
    if (h->have)
        *out = h->last;
    else
        memset(out, 0, sizeof *out);
    out->age_seconds = h->have ? now - h->ran_at : 0;
    for (size_t k = 0; k < out->n_checks; k++)
        if (!strcmp(out->checks[k].name, CHECKS[i].name))
            stalled = &out->checks[k];
    if (!stalled)
        stalled = &out->checks[out->n_checks++];
    stalled->name = CHECKS[i].name;
    stalled->ok = 0;
    stalled->state = STALLED_STATE;
    stalled->seconds = HS_HEALTH_WAIT_SECONDS;
    snprintf(stalled->message, sizeof stalled->message,
             "no answer within %.0f s", HS_HEALTH_WAIT_SECONDS);
    out->ok = 0;
}

/* A fresh cached result, another caller's, or 0: this caller runs them
 * (lock held; h->running is then set). Once a wait has timed out, the run
 * is stalled: later callers report it at once instead of each holding an
 * HTTP thread for HS_HEALTH_WAIT_SECONDS. */
static int cached_or_waited(hs_health *h, hs_health_report *out)
{
    struct timespec until = hs_monotonic_deadline(HS_HEALTH_WAIT_SECONDS);
    for (;;) {
        double now = hl_clock_monotonic();
        if (h->have && now - h->ran_at < HS_HEALTH_CACHE_SECONDS) {
            *out = h->last;
            out->age_seconds = now - h->ran_at;
            return 1;
        }
        if (!h->running) {
            h->running = 1;
            return 0;
        }
        if (!h->stalled &&
            pthread_cond_timedwait(&h->done, &h->lock, &until) != ETIMEDOUT)
            continue;
        if (!h->stalled)
            hs_log(HS_LOG_WARN, "health check not answering",
                   json_pack("{s:s, s:f}", "check",
                             CHECKS[atomic_load(&h->current)].name, "seconds",
                             HS_HEALTH_WAIT_SECONDS));
        h->stalled = 1;
        report_stalled(h, hl_clock_monotonic(), out);
        return 1;
    }
}

/* Logs each failed check of fresh whose failure is new (it passed in
 * last, or failed otherwise); last NULL = no earlier run (lock held). */
static void log_failures(const hs_health_report *last,
                         const hs_health_report *fresh)
{
    for (size_t i = 0; i < fresh->n_checks; i++) {
        const hs_health_check *c = &fresh->checks[i];
        int known = 0;
        for (size_t k = 0; last && !c->ok && k < last->n_checks; k++)
            known |= !strcmp(last->checks[k].name, c->name) &&
                     !last->checks[k].ok &&
                     !strcmp(last->checks[k].message, c->message);
        if (!c->ok && !known)
            hs_log(HS_LOG_WARN, "health check failed",
                   json_pack("{s:s, s:s}", "check", c->name, "message",
                             c->message));
    }
}

void hs_health_get(hs_app *app, hs_health_report *out)
{
    hs_health *h = app->health;
    if (!h) {
        run_checks(app, NULL, out);
        return;
    }
    pthread_mutex_lock(&h->lock);
    int answered = cached_or_waited(h, out);
    pthread_mutex_unlock(&h->lock);
    if (answered)
        return;
    hs_health_report fresh;
    run_checks(app, h, &fresh);
    atomic_fetch_add(&h->runs, 1);
    pthread_mutex_lock(&h->lock);
    log_failures(h->have ? &h->last : NULL, &fresh);
    h->last = fresh;
    h->have = 1;
    h->ran_at = hl_clock_monotonic();
    h->running = 0;
    h->stalled = 0;
    pthread_cond_broadcast(&h->done);
    pthread_mutex_unlock(&h->lock);
    *out = fresh;
}
