/* claim_pg.c - how fast workers drain the job queue of a shared store, and
 * how soon a waiting worker hears of a new job.
 *
 * THREADS claimers, each on a store handle of its own (its own connection
 * pool: what separate worker processes see), take jobs from a queue of
 * JOBS jobs of four users until it is empty: each claim is followed at
 * once by the job's finish, so a claim races with the others' writes.
 * Run once with the plain claim (oldest first) and once with the fair
 * one. Every job must be claimed exactly once (the bench fails
 * otherwise). Then, for a backend with notifications, the latency from a
 * job's create (its commit) on one handle to the wake-up of a worker
 * waiting in wait_queued on another, over WAKES samples.
 *
 * Usage: build/bench/claim_pg STORE_URL [THREADS [JOBS]]
 *   (default 8 threads, 2000 jobs). The store must be empty (a fresh
 *   database, e.g. from tests/pg/cluster.sh, or a new sqlite:PATH file for
 *   comparison): the claims take any queued job. Prints one JSON object
 *   per line on stdout (jobs/s, the wake-up's median and p99 in ms);
 *   docs/benchmarks.md ("Job claims on PostgreSQL") has the figures and
 *   the commands.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healer/clock.h"
#include "store/store.h"

#define OWNERS 4
#define WAKES 50
#define LEASE 60

typedef struct claimer {
    const char *url;
    int fair;
    pthread_barrier_t *start;
    hs_id *claimed; /* JOBS slots, ids in claim order */
    size_t n;
    char worker_id[HS_WORKER_ID_MAX];
    hs_status status; /* the first failure, HS_OK when none */
    hs_error err;
} claimer;

static void die(const char *what, const hs_error *err)
{
    fprintf(stderr, "claim_pg: %s: %s\n", what, err->message);
    exit(1);
}

static void *claimer_main(void *arg)
{
    claimer *c = arg;
    hs_store *store = NULL;
    hs_job_rec j;
    hs_status hs;
    c->status = hs_store_open(c->url, &store, &c->err);
    pthread_barrier_wait(c->start);
    if (c->status != HS_OK)
        return NULL;
    while ((hs = (c->fair ? hs_store_job_claim_next_fair
                          : hs_store_job_claim_next)(store, c->worker_id, NULL,
                                                     1000, LEASE, &j,
                                                     &c->err)) == HS_OK) {
        c->claimed[c->n++] = j.id;
        hs_job_rec_free(&j);
        hs = hs_store_job_finish(store, c->claimed[c->n - 1], c->worker_id,
                                 HS_JOB_SUCCEEDED, NULL, NULL, 0, NULL, 1001,
                                 &c->err);
        if (hs != HS_OK)
            break;
    }
    if (hs != HS_ERR_NOTFOUND)
        c->status = hs;
    hs_store_close(store);
    return NULL;
}

/* Queues `jobs` jobs spread over the owners. */
static void queue_jobs(hs_store *store, const hs_id owners[OWNERS], int jobs)
{
    hs_error err = {0};
    for (int i = 0; i < jobs; i++) {
        hs_job_rec j;
        memset(&j, 0, sizeof j);
        j.owner_id = owners[i % OWNERS];
        snprintf(j.type, sizeof j.type, "train");
        snprintf(j.name, sizeof j.name, "bench-%d", i);
        j.params_json = "{}";
        j.created_at = 1000;
        if (hs_store_job_create(store, &j, &err) != HS_OK)
            die("queueing a job", &err);
    }
}

/* One drain of the queue by `threads` claimers; checks that no job was
 * taken twice or missed, prints the figure. */
static void drain(const char *url, hs_store *store, const hs_id owners[OWNERS],
                  int threads, int jobs, int fair)
{
    claimer *cs = calloc((size_t)threads, sizeof *cs);
    pthread_t *ts = calloc((size_t)threads, sizeof *ts);
    hs_id *all = calloc((size_t)threads * (size_t)jobs, sizeof *all);
    char *seen = NULL;
    pthread_barrier_t start;
    hs_id first = 0, last = 0;
    size_t total = 0;
    int64_t counts[HS_JOB_STATES];
    hs_error err = {0};
    if (!cs || !ts || !all)
        die("allocating", &err);
    queue_jobs(store, owners, jobs);
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) {
        cs[t].url = url;
        cs[t].fair = fair;
        cs[t].start = &start;
        cs[t].claimed = all + (size_t)t * (size_t)jobs;
        snprintf(cs[t].worker_id, sizeof cs[t].worker_id, "bench:%d:%d",
                 (int)getpid(), t);
        pthread_create(&ts[t], NULL, claimer_main, &cs[t]);
    }
    pthread_barrier_wait(&start); /* every handle is open */
    double t0 = hl_clock_monotonic();
    for (int t = 0; t < threads; t++)
        pthread_join(ts[t], NULL);
    double seconds = hl_clock_monotonic() - t0;
    for (int t = 0; t < threads; t++) {
        if (cs[t].status != HS_OK)
            die("a claimer failed", &cs[t].err);
        for (size_t i = 0; i < cs[t].n; i++) {
            hs_id id = cs[t].claimed[i];
            first = first && first < id ? first : id;
            last = last > id ? last : id;
        }
        total += cs[t].n;
    }
    seen = calloc((size_t)(last - first + 1), 1);
    for (int t = 0; seen && t < threads; t++)
        for (size_t i = 0; i < cs[t].n; i++)
            if (seen[cs[t].claimed[i] - first]++) {
                fprintf(stderr, "claim_pg: job %lld claimed twice\n",
                        (long long)cs[t].claimed[i]);
                exit(1);
            }
    if (hs_store_job_counts(store, counts, &err) != HS_OK)
        die("counting jobs", &err);
    if (!seen || total != (size_t)jobs || counts[HS_JOB_QUEUED] ||
        counts[HS_JOB_RUNNING]) {
        fprintf(stderr, "claim_pg: %zu of %d jobs claimed, %lld left\n", total,
                jobs,
                (long long)(counts[HS_JOB_QUEUED] + counts[HS_JOB_RUNNING]));
        exit(1);
    }
    printf("{\"claim\":\"%s\",\"threads\":%d,\"jobs\":%d,\"seconds\":%.3f,"
           "\"jobs_per_s\":%.0f,\"double_claims\":0}\n",
           fair ? "fair" : "plain", threads, jobs, seconds, jobs / seconds);
    fflush(stdout);
    pthread_barrier_destroy(&start);
    free(seen);
    free(all);
    free(ts);
    free(cs);
}

/* A job queued on another handle after a short pause; `done` is when its
 * create (the commit) returned. */
typedef struct waker {
    hs_store *store;
    hs_id owner;
    double done;
} waker;

static void *waker_main(void *arg)
{
    waker *w = arg;
    hs_error err = {0};
    hs_job_rec j;
    memset(&j, 0, sizeof j);
    j.owner_id = w->owner;
    snprintf(j.type, sizeof j.type, "none");
    snprintf(j.name, sizeof j.name, "wake");
    j.params_json = "{}";
    usleep(20 * 1000);
    if (hs_store_job_create(w->store, &j, &err) != HS_OK)
        die("queueing a job", &err);
    w->done = hl_clock_monotonic();
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The create-to-wake-up latency, or nothing for a backend that returns at
 * once (no notifications). */
static void wake_latency(const char *url, hs_store *store, hs_id owner)
{
    hs_store *other = NULL;
    hs_error err = {0};
    double lat[WAKES];
    int notified = 0;
    if (hs_store_job_wait_queued(store, 200, &notified, &err) != HS_OK)
        die("waiting for news", &err);
    if (hs_store_open(url, &other, &err) != HS_OK)
        die("opening a second handle", &err);
    for (int i = 0; i < WAKES; i++) {
        waker w = {other, owner, 0};
        pthread_t t;
        pthread_create(&t, NULL, waker_main, &w);
        double t0 = hl_clock_monotonic();
        if (hs_store_job_wait_queued(store, 5000, &notified, &err) != HS_OK)
            die("waiting for news", &err);
        double woke = hl_clock_monotonic();
        pthread_join(t, NULL);
        if (!notified && woke - t0 < 0.01) { /* no notifications */
            hs_store_close(other);
            return;
        }
        if (!notified) {
            fprintf(stderr, "claim_pg: no news of a queued job in 5 s\n");
            exit(1);
        }
        lat[i] = woke > w.done ? (woke - w.done) * 1000 : 0;
    }
    hs_store_close(other);
    qsort(lat, WAKES, sizeof lat[0], cmp_double);
    printf("{\"wake\":\"create to wait_queued\",\"samples\":%d,"
           "\"median_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
           WAKES, lat[WAKES / 2], lat[WAKES * 99 / 100], lat[WAKES - 1]);
}

int main(int argc, char **argv)
{
    hs_store *store = NULL;
    hs_error err = {0};
    hs_id owners[OWNERS];
    int threads = argc > 2 ? atoi(argv[2]) : 8;
    int jobs = argc > 3 ? atoi(argv[3]) : 2000;
    if (argc < 2 || argc > 4 || threads < 1 || threads > 256 || jobs < 1 ||
        jobs > 1000000) {
        fprintf(stderr,
                "usage: %s STORE_URL [THREADS (1..256) [JOBS "
                "(1..1000000)]]\n",
                argv[0]);
        return 2;
    }
    if (hs_store_open(argv[1], &store, &err) != HS_OK)
        die("opening the store", &err);
    for (int i = 0; i < OWNERS; i++) {
        hs_user u;
        memset(&u, 0, sizeof u);
        snprintf(u.username, sizeof u.username, "bench-%d-%d", (int)getpid(),
                 i);
        snprintf(u.password_hash, sizeof u.password_hash, "$none$");
        u.created_at = 1000;
        if (hs_store_user_create(store, &u, &err) != HS_OK)
            die("creating a user", &err);
        owners[i] = u.id;
    }
    drain(argv[1], store, owners, threads, jobs, 0);
    drain(argv[1], store, owners, threads, jobs, 1);
    wake_latency(argv[1], store, owners[0]);
    hs_store_close(store);
    return 0;
}
