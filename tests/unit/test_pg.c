/* test_pg.c - the libpq layer (pg/pg.h) against a real server: parameters
 * of every letter and the results' readers, SQLSTATEs as error codes,
 * transactions (bound to a thread, invisible until commit, nesting
 * refused, a failed statement not ending them), deadlocks and
 * serialization failures retried (a statement, or a whole transaction
 * with hs_pg_transact_retry; provoked by a function raising their
 * SQLSTATEs) and busy states as 503, the pool's bound, and the
 * database going away: fast failures under the back-off, recovery without
 * a manual step (a SELECT retried transparently; after a restart no
 * statement fails on a pooled connection the server closed), the watch
 * told of both,
 * and LISTEN/NOTIFY across a reconnection.
 *
 * The server is pgtest.h's private cluster, which the outage tests stop
 * and start (with HEALER_TEST_PG_URL they cannot, and fail). The slow
 * test of the pool (an acquire that gives up after HS_PG_ACQUIRE_WAIT_MS)
 * runs in a thread of its own alongside the others and is checked last.
 */
#include <math.h>
#include <pthread.h>
#include <time.h>

#include "testutil.h"

#include "pg/pg.h"
#include "pgtest.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

/* A pool on a fresh schema with a table t (id, v unique, ref -> t). */
static hs_pg *fresh_pool(const char *params)
{
    char url[1024];
    hs_pg *pg = NULL;
    hs_error err = {0};
    assert_int_equal(pgtest_fresh_url(url, sizeof url, params), 0);
    if (hs_pg_open(url, "test", &pg, &err) != HS_OK)
        fail_msg("open: %s", err.message);
    assert_int_equal(
        hs_pg_exec_script(pg, &err, "schema",
                          "CREATE TABLE t (id BIGINT PRIMARY KEY,"
                          " v TEXT UNIQUE, n BIGINT CHECK (n >= 0),"
                          " ref BIGINT REFERENCES t(id))"),
        HS_OK);
    return pg;
}

static int64_t count_rows(hs_pg *pg)
{
    hs_pg_result *r = NULL;
    hs_error err = {0};
    assert_int_equal(
        hs_pg_query(pg, &r, NULL, &err, "count", "SELECT COUNT(*) FROM t", ""),
        HS_OK);
    int64_t n = hs_pg_int(r, 0, 0);
    hs_pg_result_free(r);
    return n;
}

/* ---- parameters and results -------------------------------------------- */

static void test_params_round_trip(void **state)
{
    (void)state;
    hs_pg *pg = fresh_pool(NULL);
    hs_pg_result *r = NULL;
    hs_error err = {0};
    const unsigned char bytes[] = {0, 1, 2, 0xff, 0, '\\', 'x'};
    void *back = NULL;
    size_t len = 0;
    char small[4];
    hs_status st;

    assert_int_equal(
        hs_pg_query(pg, &r, NULL, &err, "letters",
                    "SELECT $1::BIGINT, $2::INTEGER, $3::BIGINT, $4::BIGINT,"
                    " $5::FLOAT8, $6::FLOAT8, $7::FLOAT8, $8::TEXT, $9::TEXT,"
                    " $10::TEXT, $11::BYTEA, $12::BYTEA, TRUE, FALSE",
                    "ibIIdddtTTxx", (int64_t)-9007199254740993LL, 7, (int64_t)0,
                    (int64_t)42, NAN, 0.1, -INFINITY, "caf\xc3\xa9 'quoted'",
                    (const char *)NULL, "", bytes, sizeof bytes,
                    (const void *)NULL, (size_t)0),
        HS_OK);
    assert_int_equal(hs_pg_rows(r), 1);
    assert_int_equal(hs_pg_int(r, 0, 0), -9007199254740993LL);
    assert_int_equal(hs_pg_int(r, 0, 1), 1); /* 'b': any non-zero is 1 */
    assert_true(hs_pg_is_null(r, 0, 2));     /* 'I' 0 is NULL */
    assert_int_equal(hs_pg_int(r, 0, 2), 0);
    assert_int_equal(hs_pg_int(r, 0, 3), 42);
    assert_true(hs_pg_is_null(r, 0, 4)); /* 'd' NAN is NULL */
    assert_true(isnan(hs_pg_double(r, 0, 4)));
    assert_true(hs_pg_double(r, 0, 5) == 0.1); /* exact round trip */
    assert_true(isinf(hs_pg_double(r, 0, 6)) && hs_pg_double(r, 0, 6) < 0);
    assert_string_equal(hs_pg_text(r, 0, 7), "caf\xc3\xa9 'quoted'");
    assert_true(hs_pg_is_null(r, 0, 8)); /* 'T' NULL */
    assert_string_equal(hs_pg_text(r, 0, 8), "");
    assert_false(hs_pg_is_null(r, 0, 9)); /* "" is not NULL */
    assert_int_equal(hs_pg_bytes(r, 0, 10, &back, &len, &err), HS_OK);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(back, bytes, sizeof bytes);
    free(back);
    assert_int_equal(hs_pg_bytes(r, 0, 11, &back, &len, &err), HS_OK);
    assert_null(back);
    assert_int_equal(len, 0);
    assert_int_equal(hs_pg_int(r, 0, 12), 1);
    assert_int_equal(hs_pg_int(r, 0, 13), 0);
    /* Copies never truncate; strdup gives NULL for NULL. */
    assert_int_equal(hs_pg_copy(r, 0, 7, small, sizeof small, "name", &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "name"));
    assert_null(hs_pg_strdup(r, 0, 8, &st));
    assert_int_equal(st, HS_OK);
    char *s = hs_pg_strdup(r, 0, 7, &st);
    assert_string_equal(s, "caf\xc3\xa9 'quoted'");
    free(s);
    hs_pg_result_free(r);

    /* Rows touched; a dropped result; bad letters. */
    assert_int_equal(hs_pg_query(pg, &r, NULL, &err, "insert",
                                 "INSERT INTO t (id, v) VALUES (1, 'a'),"
                                 " (2, 'b')",
                                 ""),
                     HS_OK);
    assert_int_equal(hs_pg_affected(r), 2);
    hs_pg_result_free(r);
    assert_int_equal(hs_pg_query(pg, NULL, NULL, &err, "update",
                                 "UPDATE t SET n = $1", "i", (int64_t)3),
                     HS_OK);
    assert_int_equal(
        hs_pg_query(pg, NULL, NULL, &err, "bad", "SELECT $1", "q", 1),
        HS_ERR_INTERNAL);
    assert_int_equal(hs_pg_query(pg, NULL, NULL, &err, "bad", "SELECT $1", "t",
                                 (const char *)NULL),
                     HS_ERR_INTERNAL);
    hs_pg_close(pg);
}

/* ---- errors ------------------------------------------------------------ */

static void test_sqlstates(void **state)
{
    (void)state;
    hs_pg *pg = fresh_pool(NULL);
    hs_error err = {0};
    char code[6];
    assert_int_equal(hs_pg_query(pg, NULL, code, &err, "seed",
                                 "INSERT INTO t (id, v) VALUES (1, 'a')", ""),
                     HS_OK);
    assert_string_equal(code, "");
    struct {
        const char *sql;
        hs_status st;
        const char *code;
    } cases[] = {
        {"INSERT INTO t (id, v) VALUES (2, 'a')", HS_ERR_CONFLICT, "23505"},
        {"INSERT INTO t (id, ref) VALUES (3, 99)", HS_ERR_NOTFOUND, "23503"},
        {"INSERT INTO t (id, n) VALUES (4, -1)", HS_ERR_INVALID, "23514"},
        {"SELECT 1 / 0", HS_ERR_INVALID, "22012"},
        {"SELECT 'x'::BIGINT", HS_ERR_INVALID, "22P02"},
        {"SELEKT 1", HS_ERR_IO, "42601"},
        {"SELECT * FROM no_such_table", HS_ERR_IO, "42P01"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(
            hs_pg_query(pg, NULL, code, &err, "the case", cases[i].sql, ""),
            cases[i].st);
        assert_string_equal(code, cases[i].code);
        assert_int_equal(strncmp(err.message, "the case: ", 10), 0);
    }
    /* The server's own text is carried. */
    assert_int_equal(hs_pg_query(pg, NULL, code, &err, "dup",
                                 "INSERT INTO t (id, v) VALUES (5, 'a')", ""),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "duplicate key"));
    hs_pg_close(pg);
}

/* ---- deadlocks and serialization failures ------------------------------ */

/* flaky(n, code): raises SQLSTATE `code` while the sequence's next value
 * is <= n (a sequence is not rolled back: it counts the tries). */
static void make_flaky(hs_pg *pg)
{
    hs_error err = {0};
    assert_int_equal(
        hs_pg_exec_script(
            pg, &err, "flaky",
            "CREATE SEQUENCE tries;"
            "CREATE FUNCTION flaky(n bigint, code text) RETURNS int AS $$"
            " BEGIN IF nextval('tries') <= n THEN"
            "  RAISE EXCEPTION 'provoked %', code USING ERRCODE = code;"
            " END IF; RETURN 1; END $$ LANGUAGE plpgsql"),
        HS_OK);
}

static int64_t tries_then_reset(hs_pg *pg)
{
    hs_pg_result *r = NULL;
    hs_error err = {0};
    assert_int_equal(hs_pg_query(pg, &r, NULL, &err, "tries",
                                 "SELECT last_value FROM tries", ""),
                     HS_OK);
    int64_t n = hs_pg_int(r, 0, 0);
    hs_pg_result_free(r);
    assert_int_equal(hs_pg_exec_script(pg, &err, "reset",
                                       "ALTER SEQUENCE tries RESTART"),
                     HS_OK);
    return n;
}

typedef struct flaky_txn {
    hs_pg *pg;
    int runs;
    int64_t fail_tries; /* flaky's n */
} flaky_txn;

static hs_status flaky_body(void *arg, hs_error *err)
{
    static int64_t next_id = 100;
    flaky_txn *f = arg;
    f->runs++;
    hs_status st = hs_pg_query(f->pg, NULL, NULL, err, "insert",
                               "INSERT INTO t (id) VALUES ($1)", "i",
                               next_id++);
    if (st == HS_OK)
        st = hs_pg_query(f->pg, NULL, NULL, err, "flaky",
                         "SELECT flaky($1, '40P01')", "i", f->fail_tries);
    return st;
}

static void test_undone_statements_retried(void **state)
{
    (void)state;
    hs_pg *pg = fresh_pool(NULL);
    hs_error err = {0};
    char code[6];
    make_flaky(pg);
    /* Outside a transaction: a statement the server undid runs again. */
    assert_int_equal(hs_pg_query(pg, NULL, code, &err, "retried",
                                 "SELECT flaky(2, '40P01')", ""),
                     HS_OK);
    assert_int_equal(tries_then_reset(pg), 3);
    assert_int_equal(hs_pg_query(pg, NULL, code, &err, "retried",
                                 "SELECT flaky(2, '40001')", ""),
                     HS_OK);
    assert_int_equal(tries_then_reset(pg), 3);
    /* Bounded: what still fails is "try later" (503), not a server bug. */
    double t0 = now_s();
    assert_int_equal(hs_pg_query(pg, NULL, code, &err, "given up",
                                 "SELECT flaky(1000, '40001')", ""),
                     HS_ERR_UNAVAILABLE);
    assert_true(now_s() - t0 < 1.0);
    assert_string_equal(code, "40001");
    assert_int_equal(tries_then_reset(pg), HS_PG_RETRIES);
    /* Other codes are not retried. */
    assert_int_equal(hs_pg_query(pg, NULL, code, &err, "once",
                                 "SELECT flaky(1, '42P01')", ""),
                     HS_ERR_IO);
    assert_int_equal(tries_then_reset(pg), 1);
    /* A whole transaction runs again, its first run's rows undone. */
    flaky_txn f = {pg, 0, 1};
    assert_int_equal(hs_pg_transact_retry(pg, flaky_body, &f, &err), HS_OK);
    assert_int_equal(f.runs, 2);
    assert_int_equal(count_rows(pg), 1);
    tries_then_reset(pg);
    f = (flaky_txn){pg, 0, 1000};
    assert_int_equal(hs_pg_transact_retry(pg, flaky_body, &f, &err),
                     HS_ERR_UNAVAILABLE);
    assert_int_equal(f.runs, HS_PG_RETRIES);
    assert_int_equal(count_rows(pg), 1);
    tries_then_reset(pg);
    /* hs_pg_transact does not run fn again (it may not be re-runnable). */
    f = (flaky_txn){pg, 0, 1};
    assert_int_equal(hs_pg_transact(pg, flaky_body, &f, &err),
                     HS_ERR_UNAVAILABLE);
    assert_int_equal(f.runs, 1);
    tries_then_reset(pg);
    /* The server cannot serve now: 503, not 500. A read-only server (a
     * standby) drops the connection, so a SELECT is tried once more on a
     * fresh one, as after a loss. */
    static const struct {
        const char *code;
        int64_t tries;
    } BUSY[] = {{"25006", 2}, {"57014", 1}, {"53100", 1}, {"55P03", 1}};
    for (size_t i = 0; i < sizeof BUSY / sizeof *BUSY; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "SELECT flaky(1000, '%s')", BUSY[i].code);
        assert_int_equal(hs_pg_query(pg, NULL, code, &err, "busy", sql, ""),
                         HS_ERR_UNAVAILABLE);
        assert_string_equal(code, BUSY[i].code);
        assert_int_equal(tries_then_reset(pg), BUSY[i].tries);
    }
    assert_int_equal(hs_pg_query(pg, NULL, code, &err, "standby",
                                 "SELECT flaky(1000, '25006')", ""),
                     HS_ERR_UNAVAILABLE);
    assert_non_null(strstr(err.message, "read-only"));
    hs_pg_close(pg);
}

/* ---- transactions ------------------------------------------------------- */

typedef struct txn_state {
    hs_pg *pg;
    int64_t seen_by_other; /* rows another thread counted meanwhile */
    hs_status nested;
    hs_status failed_insert;
    int in_txn;
    int fail;
} txn_state;

static hs_status never(void *arg, hs_error *err)
{
    (void)arg;
    (void)err;
    fail_msg("a nested transaction body must never run");
    return HS_OK;
}

static void *count_from_other(void *arg)
{
    txn_state *t = arg;
    t->seen_by_other = count_rows(t->pg);
    return NULL;
}

static hs_status txn_body(void *arg, hs_error *err)
{
    txn_state *t = arg;
    hs_error inner = {0};
    pthread_t other;
    hs_status st = hs_pg_query(t->pg, NULL, NULL, err, "insert",
                               "INSERT INTO t (id, v) VALUES (10, 'x')", "");
    if (st != HS_OK)
        return st;
    t->in_txn = hs_pg_in_transaction(t->pg);
    t->nested = hs_pg_transact(t->pg, never, NULL, &inner);
    /* A failing statement does not end the transaction. */
    t->failed_insert =
        hs_pg_query(t->pg, NULL, NULL, &inner, "dup",
                    "INSERT INTO t (id, v) VALUES (11, 'x')", "");
    st = hs_pg_query(t->pg, NULL, NULL, err, "insert",
                     "INSERT INTO t (id, v) VALUES (12, 'y')", "");
    if (st != HS_OK)
        return st;
    /* Another thread does not see the rows before the commit. */
    pthread_create(&other, NULL, count_from_other, t);
    pthread_join(other, NULL);
    return t->fail ? hs_fail(err, HS_ERR_CONFLICT, "changed my mind") : HS_OK;
}

static void test_transactions(void **state)
{
    (void)state;
    hs_pg *pg = fresh_pool(NULL);
    hs_error err = {0};
    txn_state t = {.pg = pg, .fail = 1, .seen_by_other = -1};
    assert_int_equal(hs_pg_transact(pg, txn_body, &t, &err), HS_ERR_CONFLICT);
    assert_string_equal(err.message, "changed my mind");
    assert_int_equal(t.seen_by_other, 0);
    assert_true(t.in_txn);
    assert_int_equal(t.nested, HS_ERR_INVALID);
    assert_int_equal(t.failed_insert, HS_ERR_CONFLICT);
    assert_false(hs_pg_in_transaction(pg));
    assert_int_equal(count_rows(pg), 0); /* rolled back */

    t = (txn_state){.pg = pg, .fail = 0, .seen_by_other = -1};
    assert_int_equal(hs_pg_transact(pg, txn_body, &t, &err), HS_OK);
    assert_int_equal(t.seen_by_other, 0);
    assert_int_equal(count_rows(pg), 2); /* 10 and 12 committed */
    hs_pg_close(pg);
}

/* ---- the pool ------------------------------------------------------------ */

typedef struct holder {
    hs_pg *pg;
    double hold_s;         /* how long the transaction lasts, or */
    volatile int *release; /* until *release (when not NULL) */
    volatile int started;
} holder;

static hs_status hold_body(void *arg, hs_error *err)
{
    holder *h = arg;
    (void)err;
    h->started = 1;
    if (h->release)
        while (!*h->release)
            sleep_s(0.01);
    else
        sleep_s(h->hold_s);
    return HS_OK;
}

static void *hold_thread(void *arg)
{
    holder *h = arg;
    hs_error err = {0};
    hs_pg_transact(h->pg, hold_body, h, &err);
    return NULL;
}

/* pool_size=1: while one thread holds the connection, another's statement
 * waits for it and then runs. */
static void test_pool_waits(void **state)
{
    (void)state;
    hs_pg *pg = fresh_pool("pool_size=1");
    holder h = {.pg = pg, .hold_s = 0.3};
    pthread_t t;
    pthread_create(&t, NULL, hold_thread, &h);
    while (!h.started)
        sleep_s(0.005);
    double t0 = now_s();
    assert_int_equal(count_rows(pg), 0);
    assert_true(now_s() - t0 >= 0.2);
    pthread_join(t, NULL);
    hs_pg_close(pg);
}

/* The slow one, in the background: with the only connection held, an
 * acquire gives up after HS_PG_ACQUIRE_WAIT_MS. */
typedef struct exhausted {
    hs_pg *pg;
    pthread_t thread, holder_thread;
    holder h;
    volatile int release;
    hs_status st;
    double waited;
    char message[512];
} exhausted;

static exhausted slow;

static void *exhaust_thread(void *arg)
{
    exhausted *x = arg;
    hs_error err = {0};
    double t0 = now_s();
    x->st = hs_pg_query(x->pg, NULL, NULL, &err, "waiting", "SELECT 1", "");
    x->waited = now_s() - t0;
    snprintf(x->message, sizeof x->message, "%s", err.message);
    x->release = 1;
    return NULL;
}

static void start_exhausted(void)
{
    slow.pg = fresh_pool("pool_size=1");
    slow.h = (holder){.pg = slow.pg, .release = &slow.release};
    pthread_create(&slow.holder_thread, NULL, hold_thread, &slow.h);
    while (!slow.h.started)
        sleep_s(0.005);
    pthread_create(&slow.thread, NULL, exhaust_thread, &slow);
}

static void test_pool_exhausted(void **state)
{
    (void)state;
    hs_error err = {0};
    pthread_join(slow.thread, NULL);
    pthread_join(slow.holder_thread, NULL);
    assert_int_equal(slow.st, HS_ERR_UNAVAILABLE);
    assert_non_null(
        strstr(slow.message, "all 1 database connections are busy"));
    assert_true(slow.waited >= HS_PG_ACQUIRE_WAIT_MS / 1000.0 - 0.1);
    /* Free again: it works. */
    assert_int_equal(
        hs_pg_query(slow.pg, NULL, NULL, &err, "after", "SELECT 1", ""), HS_OK);
    hs_pg_close(slow.pg);
}

/* ---- the database going away ------------------------------------------------
 */

typedef struct watched {
    pthread_mutex_t mu;
    int failures, recoveries;
    char last[512];
} watched;

static void on_watch(void *ctx, int ok, const char *message)
{
    watched *w = ctx;
    pthread_mutex_lock(&w->mu);
    if (ok)
        w->recoveries++;
    else
        w->failures++;
    snprintf(w->last, sizeof w->last, "%s", message);
    pthread_mutex_unlock(&w->mu);
}

static void test_outage(void **state)
{
    (void)state;
    hs_pg *pg = fresh_pool("pool_size=4");
    watched w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    hs_error err = {0};
    hs_pg_watch(pg, on_watch, &w);
    assert_int_equal(count_rows(pg), 0);

    assert_true(pgtest_private());
    assert_int_equal(pgtest_stop(), 0);
    /* The first call finds the connection gone, tries once more, cannot
     * connect: unavailable, at once. */
    double t0 = now_s();
    assert_int_equal(
        hs_pg_query(pg, NULL, NULL, &err, "read", "SELECT COUNT(*) FROM t", ""),
        HS_ERR_UNAVAILABLE);
    assert_true(now_s() - t0 < 2.0);
    assert_int_equal(w.failures, 1);
    assert_non_null(strstr(w.last, "cannot connect"));
    /* Under the back-off, calls fail fast without trying to connect. */
    t0 = now_s();
    for (int i = 0; i < 50; i++) {
        assert_int_equal(hs_pg_query(pg, NULL, NULL, &err, "write",
                                     "INSERT INTO t (id) VALUES (1)", ""),
                         HS_ERR_UNAVAILABLE);
        assert_non_null(strstr(err.message, "cannot"));
    }
    assert_true(now_s() - t0 < 1.0);
    assert_true(w.failures <= 4); /* 100, 200, 400 ms waits at most */
    /* Transactions too. */
    assert_int_equal(
        hs_pg_transact(pg, hold_body, &(holder){.pg = pg, .hold_s = 0}, &err),
        HS_ERR_UNAVAILABLE);

    assert_int_equal(pgtest_start(), 0);
    /* Back: within the back-off's bound, the calls succeed again, with no
     * reopening by the caller; the watch hears of it once. */
    t0 = now_s();
    hs_status st;
    while ((st = hs_pg_query(pg, NULL, NULL, &err, "write",
                             "INSERT INTO t (id) VALUES (1)", "")) != HS_OK &&
           now_s() - t0 < 8.0)
        sleep_s(0.05);
    if (st != HS_OK)
        fail_msg("not back after 8 s: %s", err.message);
    assert_int_equal(w.recoveries, 1);
    assert_int_equal(count_rows(pg), 1);

    /* A restart between two calls: the pooled connections are dead, but
     * a SELECT is retried on a fresh one and succeeds in one call; a
     * write is not retried (its outcome would be unknown), the next one
     * works. */
    int64_t failures = w.failures;
    assert_int_equal(pgtest_stop(), 0);
    assert_int_equal(pgtest_start(), 0);
    assert_int_equal(count_rows(pg), 1);
    assert_int_equal(w.failures, failures); /* no failed connect */
    /* A transaction begun after a restart starts on a fresh connection
     * too (its BEGIN is retried: nothing had happened yet). */
    assert_int_equal(pgtest_stop(), 0);
    assert_int_equal(pgtest_start(), 0);
    holder quick = {.pg = pg, .hold_s = 0};
    assert_int_equal(hs_pg_transact(pg, hold_body, &quick, &err), HS_OK);
    hs_pg_close(pg);
}

typedef struct writer {
    hs_pg *pg;
    int64_t id;
    pthread_barrier_t *go;
    hs_status st;
    char message[512];
} writer;

static void *write_thread(void *arg)
{
    writer *w = arg;
    hs_error err = {0};
    pthread_barrier_wait(w->go);
    w->st = hs_pg_query(w->pg, NULL, NULL, &err, "write",
                        "INSERT INTO t (id) VALUES ($1)", "i", w->id);
    snprintf(w->message, sizeof w->message, "%s", err.message);
    return NULL;
}

/* A restart costs callers nothing once the server is back: the pool is
 * first grown to all its connections (held at once by several threads),
 * the server restarts, and then more writes than the pool has connections,
 * at once, each one on whatever pooled connection it gets: every one
 * succeeds (no "connection was lost"), and the connect never failed. */
static void test_restart_costs_nothing(void **state)
{
    (void)state;
    enum { POOL = 4, WRITES = 6 };
    hs_pg *pg = fresh_pool("pool_size=4");
    watched w = {.mu = PTHREAD_MUTEX_INITIALIZER};
    hs_pg_watch(pg, on_watch, &w);
    volatile int release = 0;
    holder held[POOL];
    pthread_t holders[POOL], writers[WRITES];
    for (int i = 0; i < POOL; i++) {
        held[i] = (holder){.pg = pg, .release = &release};
        pthread_create(&holders[i], NULL, hold_thread, &held[i]);
    }
    for (int i = 0; i < POOL; i++)
        while (!held[i].started)
            sleep_s(0.005);
    release = 1;
    for (int i = 0; i < POOL; i++)
        pthread_join(holders[i], NULL);

    assert_true(pgtest_private());
    assert_int_equal(pgtest_stop(), 0);
    assert_int_equal(pgtest_start(), 0);
    pthread_barrier_t go;
    writer wr[WRITES];
    pthread_barrier_init(&go, NULL, WRITES);
    for (int i = 0; i < WRITES; i++) {
        wr[i] = (writer){.pg = pg, .id = 100 + i, .go = &go};
        pthread_create(&writers[i], NULL, write_thread, &wr[i]);
    }
    for (int i = 0; i < WRITES; i++)
        pthread_join(writers[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < WRITES; i++)
        if (wr[i].st != HS_OK)
            fail_msg("write %d after the restart: %s", i, wr[i].message);
    /* Sequential ones too, each after the previous one's connection went
     * back to the pool. */
    assert_int_equal(pgtest_stop(), 0);
    assert_int_equal(pgtest_start(), 0);
    for (int i = 0; i < WRITES; i++) {
        hs_error err = {0};
        if (hs_pg_query(pg, NULL, NULL, &err, "write",
                        "INSERT INTO t (id) VALUES ($1)", "i",
                        (int64_t)(200 + i)) != HS_OK)
            fail_msg("write %d after the second restart: %s", i, err.message);
    }
    assert_int_equal(count_rows(pg), 2 * WRITES);
    assert_int_equal(w.failures, 0);
    hs_pg_close(pg);
}

/* ---- LISTEN / NOTIFY ------------------------------------------------------
 */

typedef struct listener {
    hs_pg *pg;
    int timeout_ms;
    hs_status st;
    int notified;
    double took;
} listener;

static void *listen_thread(void *arg)
{
    listener *l = arg;
    hs_error err = {0};
    double t0 = now_s();
    l->st = hs_pg_listen_wait(l->pg, "jobs_queued", l->timeout_ms, &l->notified,
                              &err);
    l->took = now_s() - t0;
    return NULL;
}

static void test_listen(void **state)
{
    (void)state;
    hs_pg *pg = fresh_pool(NULL);
    hs_error err = {0};
    int notified = 1;
    listener l = {.pg = pg, .timeout_ms = 5000};
    pthread_t t;

    /* Nothing sent: the wait lasts its timeout. */
    double t0 = now_s();
    assert_int_equal(hs_pg_listen_wait(pg, "jobs_queued", 200, &notified, &err),
                     HS_OK);
    assert_int_equal(notified, 0);
    assert_true(now_s() - t0 >= 0.19);

    /* A NOTIFY from another connection wakes the waiter at once. */
    pthread_create(&t, NULL, listen_thread, &l);
    sleep_s(0.2);
    assert_int_equal(hs_pg_query(pg, NULL, NULL, &err, "notify",
                                 "SELECT pg_notify('jobs_queued', '')", ""),
                     HS_OK);
    pthread_join(t, NULL);
    assert_int_equal(l.st, HS_OK);
    assert_int_equal(l.notified, 1);
    assert_true(l.took < 2.0);
    /* Consumed: the next wait times out. */
    assert_int_equal(hs_pg_listen_wait(pg, "jobs_queued", 100, &notified, &err),
                     HS_OK);
    assert_int_equal(notified, 0);

    /* After a restart the listener reconnects and says "anything may have
     * happened". */
    assert_int_equal(pgtest_stop(), 0);
    assert_int_equal(pgtest_start(), 0);
    t0 = now_s();
    do
        hs_pg_listen_wait(pg, "jobs_queued", 500, &notified, &err);
    while (!notified && now_s() - t0 < 8.0);
    assert_int_equal(notified, 1);

    /* Channel names are identifiers. */
    assert_int_equal(
        hs_pg_listen_wait(pg, "jobs; DROP TABLE t", 10, &notified, &err),
        HS_ERR_INVALID);
    assert_int_equal(hs_pg_listen_wait(pg, "", 10, &notified, &err),
                     HS_ERR_INVALID);
    hs_pg_close(pg);
}

/* ---- opening ------------------------------------------------------------ */

static void test_open_errors(void **state)
{
    (void)state;
    hs_pg *pg = (hs_pg *)1;
    hs_error err = {0};
    assert_int_equal(
        hs_pg_open("postgresql://u:Pw9@127.0.0.1:1/db", "store", &pg, &err),
        HS_ERR_UNAVAILABLE);
    assert_null(pg);
    assert_null(strstr(err.message, "Pw9"));
    assert_int_equal(
        hs_pg_open("postgresql://u:Pw9@h/db?pool_size=257", "store", &pg, &err),
        HS_ERR_INVALID);
    assert_int_equal(
        hs_pg_open("postgresql://u:Pw9@h/db?nonsense=1", "store", &pg, &err),
        HS_ERR_INVALID);
    assert_null(strstr(err.message, "Pw9"));
    assert_int_equal(hs_pg_open("", "store", &pg, &err), HS_ERR_INVALID);
    assert_int_equal(hs_pg_open(NULL, "store", &pg, &err), HS_ERR_INVALID);

    /* pool_size is taken out before libpq sees the URL, wherever it is;
     * application_name names the pool. */
    char url[1024];
    hs_pg_result *r = NULL;
    assert_int_equal(pgtest_fresh_url(url, sizeof url, "pool_size=3"), 0);
    assert_int_equal(hs_pg_open(url, "blobs", &pg, &err), HS_OK);
    assert_int_equal(hs_pg_query(pg, &r, NULL, &err, "name",
                                 "SELECT current_setting('application_name')",
                                 ""),
                     HS_OK);
    assert_string_equal(hs_pg_text(r, 0, 0), "healer blobs");
    hs_pg_result_free(r);
    hs_pg_close(pg);

    /* First among other parameters, the rest still reaches libpq. */
    char *q = strchr(url, '?');
    char moved[1100];
    assert_non_null(q);
    snprintf(moved, sizeof moved, "%.*s?pool_size=2&%s", (int)(q - url), url,
             q + 1);
    *strstr(moved, "&pool_size=3") = '\0';
    assert_int_equal(hs_pg_open(moved, "store", &pg, &err), HS_OK);
    assert_int_equal(hs_pg_exec_script(pg, &err, "in the schema",
                                       "CREATE TABLE here (x INTEGER)"),
                     HS_OK);
    assert_int_equal(hs_pg_query(pg, &r, NULL, &err, "where",
                                 "SELECT table_schema FROM"
                                 " information_schema.tables WHERE"
                                 " table_name = 'here'",
                                 ""),
                     HS_OK);
    assert_int_equal(strncmp(hs_pg_text(r, 0, 0), "t_", 2), 0);
    hs_pg_result_free(r);
    hs_pg_close(pg);
}

int main(void)
{
    if (!pgtest_url()) {
        printf("[  FAILED  ] 1 test(s), listed below:\n"
               "[  FAILED  ] test_pg: no PostgreSQL server\n");
        return 1;
    }
    start_exhausted();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_round_trip),
        cmocka_unit_test(test_sqlstates),
        cmocka_unit_test(test_undone_statements_retried),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_pool_waits),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_listen),
        cmocka_unit_test(test_outage),
        cmocka_unit_test(test_restart_costs_nothing),
        cmocka_unit_test(test_pool_exhausted),
    };
    return cmocka_run_group_tests_name("pg", tests, NULL, NULL);
}
