/* domain/security_report.c - refusal counting, its flusher, and the
 * security report (see security_report.h).
 *
 * The counter is an array of tallies with an open-addressing index over
 * it, both of fixed size, swapped out whole under the mutex by a flush
 * (so counting never waits for the store). A flush that cannot write puts
 * its tallies back (folding what no longer fits), so a store outage loses
 * no counts, only their detail past the cap.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "domain/security_report.h"
#include "store/store.h"

const char *const hs_security_kinds[HS_SECURITY_KINDS] = {
    HS_SECURITY_LOGIN_FAILED, HS_SECURITY_LOCKED, HS_REFUSAL_UNAUTHORIZED,
    HS_REFUSAL_FORBIDDEN,     HS_REFUSAL_CSRF,    HS_REFUSAL_RATE_LIMITED};

/* Room for the folded "other" keys past the cap: a few buckets times the
 * four kinds. */
#define OTHER_ROOM 64
#define SLOTS 4096 /* a power of two, > 2 * (KEYS_MAX + OTHER_ROOM) */
#define PRUNE_EVERY 3600

const char *hs_refusal_kind(int status, const char *error_code)
{
    switch (status) {
    case 401:
        return HS_REFUSAL_UNAUTHORIZED;
    case 403:
        return error_code && !strcmp(error_code, "csrf_failed")
                   ? HS_REFUSAL_CSRF
                   : HS_REFUSAL_FORBIDDEN;
    case 429:
        return HS_REFUSAL_RATE_LIMITED;
    default:
        return NULL;
    }
}

void hs_refusal_source(const char *client, char out[HS_ADDRESS_MAX])
{
    struct in6_addr a6;
    struct in_addr a4;
    snprintf(out, HS_ADDRESS_MAX, "%s", HS_REFUSALS_OTHER);
    if (!client || !client[0])
        return;
    if (inet_pton(AF_INET, client, &a4) == 1) {
        inet_ntop(AF_INET, &a4, out, HS_ADDRESS_MAX);
        return;
    }
    if (inet_pton(AF_INET6, client, &a6) != 1)
        return;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        memcpy(&a4, &a6.s6_addr[12], 4);
        inet_ntop(AF_INET, &a4, out, HS_ADDRESS_MAX);
        return;
    }
    memset(&a6.s6_addr[8], 0, 8);
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, &a6, text, sizeof text))
        snprintf(out, HS_ADDRESS_MAX, "%s/64", text);
}

/* ---- the counter ------------------------------------------------------------
 */

typedef struct table {
    hs_tally items[HS_REFUSALS_KEYS_MAX + OTHER_ROOM];
    size_t n;
    uint32_t slots[SLOTS]; /* index + 1 into items; 0 = empty */
} table;

struct hs_refusals {
    hs_app *app;
    unsigned flush_seconds;
    int64_t retention_seconds;
    pthread_mutex_t lock; /* guards pending, stopping, last_prune */
    pthread_cond_t wake;
    table *pending;
    int stopping;
    int64_t last_prune;
    pthread_t thread;
    int has_thread;
    pthread_mutex_t flushing; /* one flush at a time */
};

static uint32_t key_hash(const hs_tally *t)
{
    uint32_t h = 2166136261u;
    const char *parts[3] = {t->route, t->source, t->kind};
    for (int p = 0; p < 3; p++)
        for (const char *c = parts[p]; *c; c++)
            h = (h ^ (uint8_t)*c) * 16777619u;
    return (h ^ (uint32_t)t->bucket) * 16777619u;
}

static int same_key(const hs_tally *a, const hs_tally *b)
{
    return a->bucket == b->bucket && !strcmp(a->kind, b->kind) &&
           !strcmp(a->route, b->route) && !strcmp(a->source, b->source);
}

/* Adds key's count to t: to its entry, a new one while under `limit`,
 * else nothing (returns 0). */
static int table_add(table *t, const hs_tally *key, size_t limit)
{
    uint32_t i = key_hash(key) & (SLOTS - 1);
    while (t->slots[i]) {
        hs_tally *e = &t->items[t->slots[i] - 1];
        if (same_key(e, key)) {
            e->count += key->count;
            return 1;
        }
        i = (i + 1) & (SLOTS - 1);
    }
    if (t->n >= limit)
        return 0;
    t->items[t->n] = *key;
    t->slots[i] = (uint32_t)++t->n;
    return 1;
}

/* Adds a tally, folding it into route and source "other" past the cap. */
static void table_count(table *t, const hs_tally *key)
{
    if (table_add(t, key, HS_REFUSALS_KEYS_MAX))
        return;
    hs_tally other = *key;
    snprintf(other.route, sizeof other.route, "%s", HS_REFUSALS_OTHER);
    snprintf(other.source, sizeof other.source, "%s", HS_REFUSALS_OTHER);
    /* Past even the room for those, the count is lost: only when over
     * OTHER_ROOM / 4 buckets are pending at once (the store is down for
     * that many minutes); the log says so at the flush. */
    table_add(t, &other, HS_REFUSALS_KEYS_MAX + OTHER_ROOM);
}

void hs_refusals_count(hs_refusals *r, int64_t now, const char *route,
                       const char *client, const char *kind)
{
    if (!r || !kind)
        return;
    hs_tally key;
    memset(&key, 0, sizeof key);
    key.bucket = now - now % HS_REFUSALS_BUCKET_SECONDS;
    key.count = 1;
    hs_copy_message(key.route, sizeof key.route,
                    route && route[0] ? route : HS_REFUSALS_OTHER);
    hs_refusal_source(client, key.source);
    hs_copy_message(key.kind, sizeof key.kind, kind);
    pthread_mutex_lock(&r->lock);
    table_count(r->pending, &key);
    pthread_mutex_unlock(&r->lock);
}

size_t hs_refusals_pending(hs_refusals *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->pending->n;
    pthread_mutex_unlock(&r->lock);
    return n;
}

typedef struct flush_batch {
    const table *t;
} flush_batch;

static hs_status flush_txn(hs_store *store, void *arg, hs_error *err)
{
    const table *t = ((const flush_batch *)arg)->t;
    return hs_store_tally_add(store, t->items, t->n, err);
}

static void prune_if_due(hs_refusals *r)
{
    int64_t now = hs_clock_now(r->app->clock);
    pthread_mutex_lock(&r->lock);
    int due = now - r->last_prune >= PRUNE_EVERY;
    if (due)
        r->last_prune = now;
    pthread_mutex_unlock(&r->lock);
    if (!due)
        return;
    int64_t removed = 0;
    hs_error err = {0};
    int64_t before = now - r->retention_seconds;
    if (hs_store_tally_prune(r->app->store, before > 0 ? before : 0, &removed,
                             &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot prune the refusal tallies",
               json_pack("{s:s}", "error", err.message));
    else if (removed)
        hs_log(HS_LOG_INFO, "refusal tallies pruned",
               json_pack("{s:I}", "removed", (json_int_t)removed));
}

hs_status hs_refusals_flush(hs_refusals *r, hs_error *err)
{
    table *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    pthread_mutex_lock(&r->flushing);
    pthread_mutex_lock(&r->lock);
    table *batch = r->pending;
    r->pending = fresh;
    pthread_mutex_unlock(&r->lock);

    flush_batch fb = {batch};
    hs_status st = batch->n
                       ? hs_store_transact(r->app->store, flush_txn, &fb, err)
                       : HS_OK;
    if (st != HS_OK) { /* keep the counts for the next flush */
        pthread_mutex_lock(&r->lock);
        for (size_t i = 0; i < batch->n; i++)
            table_count(r->pending, &batch->items[i]);
        pthread_mutex_unlock(&r->lock);
    }
    pthread_mutex_unlock(&r->flushing);
    free(batch);
    if (st == HS_OK)
        prune_if_due(r);
    return st;
}

static void *flusher_main(void *arg)
{
    hs_refusals *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += r->flush_seconds;
        while (!r->stopping &&
               pthread_cond_timedwait(&r->wake, &r->lock, &until) == 0)
            ;
        if (r->stopping)
            break;
        pthread_mutex_unlock(&r->lock);
        hs_error err = {0};
        if (hs_refusals_flush(r, &err) != HS_OK)
            hs_log(HS_LOG_ERROR,
                   "cannot write the refusal tallies (kept for "
                   "the next try)",
                   json_pack("{s:s}", "error", err.message));
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

hs_status hs_refusals_start(hs_app *app, unsigned flush_seconds,
                            unsigned retention_days, hs_refusals **out,
                            hs_error *err)
{
    *out = NULL;
    if (!app || retention_days < 1)
        return hs_fail(err, HS_ERR_INVALID,
                       "refusals: an app and a retention of >= 1 day");
    hs_refusals *r = calloc(1, sizeof *r);
    if (!r || !(r->pending = calloc(1, sizeof *r->pending))) {
        free(r);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    r->app = app;
    r->flush_seconds = flush_seconds;
    r->retention_seconds = (int64_t)retention_days * 86400;
    pthread_mutex_init(&r->lock, NULL);
    pthread_mutex_init(&r->flushing, NULL);
    pthread_cond_init(&r->wake, NULL);
    if (flush_seconds &&
        pthread_create(&r->thread, NULL, flusher_main, r) != 0) {
        hs_refusals_stop(r);
        return hs_fail(err, HS_ERR_INTERNAL,
                       "cannot start the refusal tallies' flusher");
    }
    r->has_thread = flush_seconds != 0;
    *out = r;
    return HS_OK;
}

void hs_refusals_stop(hs_refusals *r)
{
    if (!r)
        return;
    if (r->has_thread) {
        pthread_mutex_lock(&r->lock);
        r->stopping = 1;
        pthread_cond_signal(&r->wake);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    hs_error err = {0};
    if (r->pending && r->pending->n && hs_refusals_flush(r, &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "refusal tallies lost at shutdown",
               json_pack("{s:s, s:I}", "error", err.message, "keys",
                         (json_int_t)r->pending->n));
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->flushing);
    pthread_mutex_destroy(&r->lock);
    free(r->pending);
    free(r);
}

/* ---- the report
 * ---------------------------------------------------------------- */

#define DAY 86400
#define DEFAULT_POINTS 288

static int kind_index(const char *kind)
{
    for (int i = 0; i < HS_SECURITY_KINDS; i++)
        if (!strcmp(kind, hs_security_kinds[i]))
            return i;
    return -1;
}

/* The query with its defaults, aligned to the stored buckets. */
static hs_status query_fill(hs_security_query *q, int64_t now, hs_error *err)
{
    const int64_t b = HS_REFUSALS_BUCKET_SECONDS;
    if (q->since < 0 || q->until < 0 || q->bucket < 0 || q->top < 0)
        return hs_fail(err, HS_ERR_INVALID, "times, bucket and top are >= 0");
    if (!q->until)
        q->until = now;
    q->until = (q->until + b - 1) / b * b; /* the current minute included */
    if (!q->since)
        q->since = q->until > DAY ? q->until - DAY : 0;
    q->since -= q->since % b;
    if (q->since >= q->until)
        return hs_fail_field(err, HS_ERR_INVALID, "since",
                             "since must be before until");
    int64_t span = q->until - q->since;
    if (!q->bucket) {
        int64_t want = (span + DEFAULT_POINTS - 1) / DEFAULT_POINTS;
        q->bucket = (want + b - 1) / b * b;
    }
    if (q->bucket % b)
        return hs_fail_field(err, HS_ERR_INVALID, "bucket",
                             "bucket must be a multiple of %lld seconds",
                             (long long)b);
    /* Points are multiples of the bucket (as the store groups them). */
    q->since -= q->since % q->bucket;
    q->until = (q->until + q->bucket - 1) / q->bucket * q->bucket;
    span = q->until - q->since;
    if (span / q->bucket > HS_SECURITY_POINTS_MAX)
        return hs_fail_field(err, HS_ERR_INVALID, "bucket",
                             "%lld-second buckets give more than %d points "
                             "over this range; choose a wider bucket",
                             (long long)q->bucket, HS_SECURITY_POINTS_MAX);
    if (!q->top)
        q->top = 10;
    if (q->top > HS_SECURITY_TOP_MAX)
        return hs_fail_field(err, HS_ERR_INVALID, "top", "top must be 1..%d",
                             HS_SECURITY_TOP_MAX);
    return HS_OK;
}

/* Appends the rows of `add` whose kind the report shows to the series,
 * and adds them to the totals. */
static hs_status merge_series(hs_security_report *r, hs_tally *add, size_t n,
                              hs_error *err)
{
    hs_tally *grown = realloc(r->series, (r->n_series + n + 1) * sizeof *grown);
    if (!grown)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    r->series = grown;
    for (size_t i = 0; i < n; i++) {
        int k = kind_index(add[i].kind);
        if (k < 0)
            continue;
        r->totals[k] += add[i].count;
        r->series[r->n_series++] = add[i];
    }
    return HS_OK;
}

static int by_bucket_kind(const void *a, const void *b)
{
    const hs_tally *x = a, *y = b;
    if (x->bucket != y->bucket)
        return x->bucket < y->bucket ? -1 : 1;
    return kind_index(x->kind) - kind_index(y->kind);
}

hs_status hs_security_report_build(hs_app *app, const hs_security_query *q,
                                   hs_security_report *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    out->q = *q;
    hs_status st = query_fill(&out->q, hs_clock_now(app->clock), err);
    if (st == HS_OK && app->refusals)
        st = hs_refusals_flush(app->refusals, err);
    const hs_security_query *f = &out->q;
    /* The account events, then the refusals, in one series. */
    for (int events = 1; events >= 0 && st == HS_OK; events--) {
        hs_tally *rows = NULL;
        size_t n = 0;
        st = events ? hs_store_event_series(app->store, f->since, f->until,
                                            f->bucket, &rows, &n, err)
                    : hs_store_tally_series(app->store, f->since, f->until,
                                            f->bucket, &rows, &n, err);
        if (st == HS_OK)
            st = merge_series(out, rows, n, err);
        free(rows);
    }
    if (st == HS_OK)
        qsort(out->series, out->n_series, sizeof *out->series, by_bucket_kind);
    if (st == HS_OK)
        st = hs_store_tally_top(app->store, f->since, f->until, 0, f->top,
                                &out->routes, &out->n_routes, err);
    if (st == HS_OK)
        st = hs_store_tally_top(app->store, f->since, f->until, 1, f->top,
                                &out->sources, &out->n_sources, err);
    if (st != HS_OK) {
        hs_security_query keep = out->q;
        hs_security_report_free(out);
        out->q = keep;
    }
    return st;
}

void hs_security_report_free(hs_security_report *r)
{
    if (!r)
        return;
    free(r->series);
    free(r->routes);
    free(r->sources);
    memset(r, 0, sizeof *r);
}
