/* pg/pg.c - the libpq layer behind pg/pg.h: a bounded pool of connections,
 * a transaction bound to the calling thread, statements with letter
 * parameters, SQLSTATEs as error codes, reconnection with back-off and a
 * LISTEN connection of its own.
 *
 * How it is built:
 *  - The pool keeps idle connections in a stack and counts the open ones
 *    (idle + lent out); an acquire takes an idle one, else connects while
 *    fewer than pool_size are open, else waits on a condition variable
 *    (HS_PG_ACQUIRE_WAIT_MS). Connections open lazily: only the check in
 *    hs_pg_open connects before the first statement.
 *  - A lost connection (libpq says CONNECTION_BAD, or a class 08 / 57P0x
 *    SQLSTATE) is closed, and so is every idle connection opened before it
 *    (a `generation` counter): after a server restart they are all dead,
 *    and the transparent retry of a SELECT must not land on one of them.
 *    Before that can happen, an acquire already checks the idle connection
 *    it takes (idle_alive: a socket readable while idle means the server
 *    closed it) and opens another in its place: after a restart no caller
 *    sees a statement fail on a connection that was dead before it was
 *    sent, whichever pooled connection it gets.
 *  - Back-off: connecting is tried at once after a loss; each failure
 *    doubles the wait before the next try (100 ms .. 5 s), and an acquire
 *    inside that wait fails at once with HS_ERR_UNAVAILABLE instead of
 *    connecting, so callers do not pile up behind a dead server.
 *  - The thread's transaction: a pthread key per pool holds the connection
 *    of the transaction the calling thread is running, so hs_pg_query
 *    needs no handle of it and nesting is seen.
 *  - Parameters go over in text format except bytea ('x', binary); results
 *    come back in text format.
 *  - The URL: libpq receives it as the `dbname` keyword, which it expands,
 *    with connect_timeout=5 and TCP keepalives before it (the URL may
 *    override them; connect_now) and
 *    application_name after it (so the server always shows "healer NAME").
 *    The pool's own `pool_size` query parameter is removed first.
 *
 * Deliberately not here: prepared statements (a plan cache per connection
 * would be a later optimisation, invisible to callers) and any table.
 */
#include "pg/pg.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "base/timed_wait.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
#define CONNECT_TIMEOUT_S "5"
#define MAX_PARAMS 64
#define POOL_SIZE_MAX 256
#define MAX_CHANNELS 8
#define CHANNEL_MAX 63
/* A listen wait polls in slices this long, releasing the listen lock
 * between them so waiters on other channels get their turn. */
#define LISTEN_SLICE_MS 100

typedef struct pooled {
    PGconn *conn;
    unsigned generation; /* pg->generation when it was opened */
    int was_idle;        /* taken from the idle stack (else just opened) */
} pooled;

typedef struct listen_state {
    pthread_mutex_t mu; /* guards this struct and the listen connection */
    PGconn *conn;
    int ever_connected; /* a loss before: reconnecting reports notified */
    int n_channels;
    char channels[MAX_CHANNELS][CHANNEL_MAX + 1];
    int pending[MAX_CHANNELS]; /* a NOTIFY came, not yet reported */
} listen_state;

struct hs_pg {
    char *url;             /* the URL given to libpq (pool_size removed) */
    char *appname;         /* "healer NAME" */
    char name[32];         /* for messages */
    int pool_size;         /* connections open at most */
    pthread_key_t txn_key; /* the calling thread's transaction: a pooled * */

    pthread_mutex_t mu;   /* guards everything below */
    pthread_cond_t freed; /* a connection went back or was closed */
    pooled *idle;         /* idle connections (a stack), pool_size slots */
    int n_idle;
    int n_open;           /* idle + lent out + being opened */
    unsigned generation;  /* bumped when a loss is seen */
    int failures;         /* connect failures in a row */
    int64_t retry_at_ms;  /* no connect attempt before (monotonic) */
    int backoff_ms;       /* the current wait after a failure */
    hs_pg_watch_fn watch; /* set before sharing; read without mu */
    void *watch_ctx;

    listen_state listen;
};

/* ---- small helpers --------------------------------------------------------
 */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* libpq's messages end with a newline (sometimes several lines): the first
 * line, trimmed, into dst. */
static void first_line(char *dst, size_t size, const char *msg)
{
    size_t n = 0;
    if (!msg)
        msg = "";
    while (msg[n] && msg[n] != '\n')
        n++;
    while (n > 0 && isspace((unsigned char)msg[n - 1]))
        n--;
    if (n >= size)
        n = size - 1;
    memcpy(dst, msg, n);
    dst[n] = '\0';
}

/* ---- the URL ------------------------------------------------------------ */

/* Removes "pool_size=N" from the query of url (in place) and stores N in
 * *pool_size (HS_PG_POOL_DEFAULT when absent). */
static hs_status take_pool_size(char *url, int *pool_size, const char *name,
                                hs_error *err)
{
    char *q = strchr(url, '?');
    char *p;
    *pool_size = HS_PG_POOL_DEFAULT;
    if (!q)
        return HS_OK;
    p = q + 1;
    while (*p) {
        char *end = strchr(p, '&');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len >= 10 && strncmp(p, "pool_size=", 10) == 0) {
            char num[16];
            char *stop;
            long v;
            size_t vlen = len - 10;
            if (vlen == 0 || vlen >= sizeof num)
                return hs_fail(err, HS_ERR_INVALID,
                               "%s URL: pool_size must be a number from 1 "
                               "to %d",
                               name, POOL_SIZE_MAX);
            memcpy(num, p + 10, vlen);
            num[vlen] = '\0';
            v = strtol(num, &stop, 10);
            if (*stop || v < 1 || v > POOL_SIZE_MAX)
                return hs_fail(err, HS_ERR_INVALID,
                               "%s URL: pool_size '%s' is not a number from "
                               "1 to %d",
                               name, num, POOL_SIZE_MAX);
            *pool_size = (int)v;
            /* drop "pool_size=N" and one '&' next to it */
            if (end) {
                memmove(p, end + 1, strlen(end + 1) + 1);
                continue;
            }
            if (p > q + 1)
                p[-1] = '\0'; /* the '&' before it ends the URL */
            else
                *p = '\0';
            break;
        }
        p = end ? end + 1 : p + len;
    }
    if (q[1] == '\0')
        *q = '\0'; /* nothing left after '?' */
    return HS_OK;
}

/* The password of a URL (between the ':' after the user and the '@'),
 * for keeping it out of messages: its start and length (0 when none). */
static size_t url_password(const char *url, const char **start)
{
    const char *auth = strstr(url, "://");
    const char *at, *colon;
    *start = NULL;
    if (!auth)
        return 0;
    auth += 3;
    at = strchr(auth, '@');
    if (!at)
        return 0;
    colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon || at - colon <= 1)
        return 0;
    *start = colon + 1;
    return (size_t)(at - colon - 1);
}

/* libpq's message about url, unless it quotes the URL's password. */
static const char *safe_message(const char *url, const char *msg)
{
    const char *pw;
    size_t n = url_password(url, &pw);
    if (n > 0 && msg && memmem(msg, strlen(msg), pw, n))
        return "the user or password part is malformed";
    return msg;
}

/* Checks that libpq can parse url, with its reason when not. */
static hs_status check_url(const char *url, const char *name, hs_error *err)
{
    char *msg = NULL;
    char line[300];
    PQconninfoOption *opts = PQconninfoParse(url, &msg);
    if (opts) {
        /* The values are checked when a connection starts (a port that
         * is not a number, an unknown sslmode): start one without
         * waiting for it, which fails at once on such an option. */
        const char *keys[] = {"dbname", NULL};
        const char *vals[] = {url, NULL};
        PGconn *c = PQconnectStartParams(keys, vals, 1);
        int bad = !c || PQstatus(c) == CONNECTION_BAD;
        PQconninfoFree(opts);
        first_line(line, sizeof line, c ? PQerrorMessage(c) : "out of memory");
        PQfinish(c);
        if (!bad)
            return HS_OK;
    } else {
        first_line(line, sizeof line, msg ? msg : "out of memory");
    }
    if (msg)
        PQfreemem(msg);
    return hs_fail(err, HS_ERR_INVALID,
                   "%s URL is not a valid PostgreSQL URL: %s", name,
                   safe_message(url, line));
}

/* ---- connecting, with back-off ------------------------------------------ */

/* The server's notices (CREATE ... IF NOT EXISTS skipping, ...) are not
 * errors; libpq would print them on stderr. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Defaults the URL may override (they come before it): a server that
 * does not answer a connect within 5 s is down, and a connection whose
 * peer vanished without a word (a network cut) is found dead by TCP
 * keepalives after ~25 s idle, or when sent data stays unacknowledged for
 * 30 s, rather than after the system's two hours. application_name comes
 * after the URL: the server always shows "healer NAME". */
static PGconn *connect_now(const hs_pg *pg)
{
    const char *keys[] = {"connect_timeout",     "keepalives_idle",
                          "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout",    "dbname",
                          "application_name",    NULL};
    const char *vals[] = {CONNECT_TIMEOUT_S, "10",    "5",         "3",
                          "30000",           pg->url, pg->appname, NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (c && PQstatus(c) == CONNECTION_OK)
        PQsetNoticeProcessor(c, ignore_notice, NULL);
    return c;
}

static void tell_watch(const hs_pg *pg, int ok, const char *message)
{
    if (pg->watch)
        pg->watch(pg->watch_ctx, ok, message);
}

/* Opens a new connection, unless the back-off forbids it for now. The
 * caller has counted it in n_open (and uncounts it on failure). */
static hs_status open_conn(hs_pg *pg, PGconn **out, hs_error *err)
{
    PGconn *c;
    char line[300];
    int recovered;
    pthread_mutex_lock(&pg->mu);
    if (pg->failures > 0 && now_ms() < pg->retry_at_ms) {
        int64_t left = pg->retry_at_ms - now_ms();
        pthread_mutex_unlock(&pg->mu);
        return hs_fail(err, HS_ERR_UNAVAILABLE,
                       "%s: the database cannot be reached (next try in "
                       "%lld ms)",
                       pg->name, (long long)left);
    }
    pthread_mutex_unlock(&pg->mu);

    c = connect_now(pg);
    if (c && PQstatus(c) == CONNECTION_OK) {
        pthread_mutex_lock(&pg->mu);
        recovered = pg->failures > 0;
        pg->failures = 0;
        pg->backoff_ms = 0;
        pthread_mutex_unlock(&pg->mu);
        if (recovered)
            tell_watch(pg, 1, "");
        *out = c;
        return HS_OK;
    }
    first_line(line, sizeof line, c ? PQerrorMessage(c) : "out of memory");
    PQfinish(c);
    pthread_mutex_lock(&pg->mu);
    pg->failures++;
    pg->backoff_ms =
        pg->backoff_ms == 0 ? BACKOFF_FIRST_MS : pg->backoff_ms * 2;
    if (pg->backoff_ms > BACKOFF_MAX_MS)
        pg->backoff_ms = BACKOFF_MAX_MS;
    pg->retry_at_ms = now_ms() + pg->backoff_ms;
    pthread_mutex_unlock(&pg->mu);
    hs_fail(err, HS_ERR_UNAVAILABLE, "%s: cannot connect to the database: %s",
            pg->name, line);
    tell_watch(pg, 0, err ? err->message : line);
    return HS_ERR_UNAVAILABLE;
}

/* ---- the pool -------------------------------------------------------------
 */

/* Is an idle connection still usable? Nothing is expected from the server
 * between statements, so a readable socket means it spoke on its own: a
 * restart's "terminating connection" notice followed by the close, or the
 * close alone. Reading until no more is pending lets libpq see the EOF
 * and say CONNECTION_BAD, so a restart costs no caller a failed statement.
 * The round count is a bound only (a healthy connection has nothing to
 * read); poll with 0 ms never waits. */
static int idle_alive(PGconn *c)
{
    for (int round = 0; round < 8; round++) {
        struct pollfd p = {.fd = PQsocket(c), .events = POLLIN};
        if (p.fd < 0)
            return 0;
        int ready = poll(&p, 1, 0);
        if (ready < 0)
            return errno == EINTR && PQstatus(c) == CONNECTION_OK;
        if (ready == 0)
            break;
        if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
            return 0;
    }
    return PQstatus(c) == CONNECTION_OK;
}

/* Closes a lent-out connection found dead before use (it was counted
 * open). */
static void drop_dead(hs_pg *pg, pooled *p)
{
    PQfinish(p->conn);
    p->conn = NULL;
    pthread_mutex_lock(&pg->mu);
    pg->n_open--;
    pthread_cond_signal(&pg->freed);
    pthread_mutex_unlock(&pg->mu);
}

/* A connection for one statement or transaction: idle, new, or one freed
 * within HS_PG_ACQUIRE_WAIT_MS. */
static hs_status acquire_any(hs_pg *pg, pooled *out, hs_error *err)
{
    int64_t deadline = now_ms() + HS_PG_ACQUIRE_WAIT_MS;
    hs_status st;
    pthread_mutex_lock(&pg->mu);
    for (;;) {
        if (pg->n_idle > 0) {
            *out = pg->idle[--pg->n_idle];
            out->was_idle = 1;
            pthread_mutex_unlock(&pg->mu);
            return HS_OK;
        }
        if (pg->n_open < pg->pool_size)
            break;
        int64_t left = deadline - now_ms();
        if (left <= 0) {
            pthread_mutex_unlock(&pg->mu);
            return hs_fail(err, HS_ERR_UNAVAILABLE,
                           "%s: all %d database connections are busy", pg->name,
                           pg->pool_size);
        }
        hs_cond_wait_for(&pg->freed, &pg->mu, (double)left / 1000.0);
    }
    pg->n_open++;
    out->generation = pg->generation;
    out->was_idle = 0;
    pthread_mutex_unlock(&pg->mu);
    st = open_conn(pg, &out->conn, err);
    if (st != HS_OK) {
        pthread_mutex_lock(&pg->mu);
        pg->n_open--;
        pthread_cond_signal(&pg->freed);
        pthread_mutex_unlock(&pg->mu);
    }
    return st;
}

/* acquire_any, but an idle connection the server has closed meanwhile
 * (idle_alive) is closed and another taken, so none is handed out dead.
 * A new connection is not checked: it has just been opened. */
static hs_status acquire(hs_pg *pg, pooled *out, hs_error *err)
{
    for (;;) {
        hs_status st = acquire_any(pg, out, err);
        if (st != HS_OK || !out->was_idle || idle_alive(out->conn))
            return st;
        drop_dead(pg, out);
    }
}

/* Closes every idle connection opened before a loss seen now. */
static void forget_generation(hs_pg *pg)
{
    pthread_mutex_lock(&pg->mu);
    pg->generation++;
    while (pg->n_idle > 0) {
        PQfinish(pg->idle[--pg->n_idle].conn);
        pg->n_open--;
    }
    pthread_cond_broadcast(&pg->freed);
    pthread_mutex_unlock(&pg->mu);
}

/* Gives a connection back: pooled when healthy, idle (not in a
 * transaction) and of the current generation, else closed. */
static void release(hs_pg *pg, pooled *p)
{
    int healthy = PQstatus(p->conn) == CONNECTION_OK &&
                  PQtransactionStatus(p->conn) == PQTRANS_IDLE;
    pthread_mutex_lock(&pg->mu);
    if (healthy && p->generation == pg->generation) {
        pg->idle[pg->n_idle++] = *p;
    } else {
        PQfinish(p->conn);
        pg->n_open--;
    }
    p->conn = NULL;
    pthread_cond_signal(&pg->freed);
    pthread_mutex_unlock(&pg->mu);
}

/* ---- open / close ------------------------------------------------------- */

static hs_status pg_alloc(const char *url, const char *name, hs_pg **out,
                          hs_error *err)
{
    hs_pg *pg = calloc(1, sizeof *pg);
    hs_status st;
    if (!pg)
        return hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", name);
    snprintf(pg->name, sizeof pg->name, "%s", name);
    pg->url = strdup(url);
    pg->appname = malloc(strlen(name) + 8);
    if (!pg->url || !pg->appname) {
        st = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    sprintf(pg->appname, "healer %s", name);
    st = take_pool_size(pg->url, &pg->pool_size, name, err);
    if (st != HS_OK)
        goto fail;
    st = check_url(pg->url, name, err);
    if (st != HS_OK)
        goto fail;
    pg->idle = calloc((size_t)pg->pool_size, sizeof *pg->idle);
    if (!pg->idle) {
        st = hs_fail(err, HS_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    if (pthread_key_create(&pg->txn_key, NULL) != 0) {
        st = hs_fail(err, HS_ERR_IO, "%s: no thread key left", name);
        goto fail;
    }
    pthread_mutex_init(&pg->mu, NULL);
    hs_cond_init_monotonic(&pg->freed);
    pthread_mutex_init(&pg->listen.mu, NULL);
    *out = pg;
    return HS_OK;
fail:
    free(pg->idle);
    free(pg->url);
    free(pg->appname);
    free(pg);
    return st;
}

hs_status hs_pg_open(const char *url, const char *name, hs_pg **out,
                     hs_error *err)
{
    hs_pg *pg = NULL;
    pooled first;
    hs_status st;
    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "pg open: missing argument");
    *out = NULL;
    if (!name || !name[0])
        name = "database";
    if (!url || !url[0])
        return hs_fail(err, HS_ERR_INVALID, "%s: no PostgreSQL URL given",
                       name);
    st = pg_alloc(url, name, &pg, err);
    if (st != HS_OK)
        return st;
    st = acquire(pg, &first, err);
    if (st != HS_OK) {
        hs_pg_close(pg);
        return st;
    }
    release(pg, &first);
    *out = pg;
    return HS_OK;
}

void hs_pg_close(hs_pg *pg)
{
    if (!pg)
        return;
    while (pg->n_idle > 0)
        PQfinish(pg->idle[--pg->n_idle].conn);
    PQfinish(pg->listen.conn);
    pthread_key_delete(pg->txn_key);
    pthread_mutex_destroy(&pg->mu);
    pthread_cond_destroy(&pg->freed);
    pthread_mutex_destroy(&pg->listen.mu);
    free(pg->idle);
    free(pg->url);
    free(pg->appname);
    free(pg);
}

void hs_pg_watch(hs_pg *pg, hs_pg_watch_fn fn, void *ctx)
{
    if (!pg)
        return;
    pg->watch = fn;
    pg->watch_ctx = ctx;
}

/* ---- errors ---------------------------------------------------------------
 */

static int lost_sqlstate(const char *s)
{
    return strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 ||
           strcmp(s, "57P02") == 0 || strcmp(s, "57P03") == 0;
}

/* A deadlock (40P01) or a serialization failure (40001): the server
 * undid the statement or transaction, and running it again is how such a
 * failure is meant to be handled. */
static int retry_sqlstate(const char *s)
{
    return strcmp(s, "40P01") == 0 || strcmp(s, "40001") == 0;
}

/* The server cannot serve this now, though the connection lives: a
 * read-only transaction (25006: a standby, after a failover), a
 * statement cancelled (57014: statement_timeout, an administrator),
 * resources exhausted (53xxx: disk full, too many connections), a lock
 * not available (55P03), and a deadlock or serialization failure left
 * after the retries. All are 503 "try again later", not a server bug. */
static int busy_sqlstate(const char *s)
{
    return retry_sqlstate(s) || strcmp(s, "25006") == 0 ||
           strcmp(s, "57014") == 0 || strncmp(s, "53", 2) == 0 ||
           strcmp(s, "55P03") == 0;
}

static hs_status status_of(const char *s)
{
    if (strcmp(s, "23505") == 0)
        return HS_ERR_CONFLICT;
    if (strcmp(s, "23503") == 0)
        return HS_ERR_NOTFOUND;
    if (strcmp(s, "23514") == 0 || strncmp(s, "22", 2) == 0)
        return HS_ERR_INVALID;
    if (lost_sqlstate(s) || busy_sqlstate(s))
        return HS_ERR_UNAVAILABLE;
    return HS_ERR_IO;
}

/* Turns a failed (or missing) result into an error; 1 in *lost when the
 * connection is gone. */
static hs_status result_error(PGconn *c, const PGresult *r, char state[6],
                              int *lost, hs_error *err, const char *what)
{
    const char *code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
    char line[400];
    hs_status st;
    first_line(line, sizeof line, msg && msg[0] ? msg : PQerrorMessage(c));
    snprintf(state, 6, "%s", code ? code : "");
    /* A connection to a server that became a standby is no use any more:
     * dropped like a lost one, so that the next opens where the URL says
     * (target_session_attrs=read-write finds the new primary). */
    *lost = PQstatus(c) != CONNECTION_OK ||
            (code && (lost_sqlstate(code) || strcmp(code, "25006") == 0));
    st = *lost ? HS_ERR_UNAVAILABLE : code ? status_of(code) : HS_ERR_IO;
    if (*lost && code && strcmp(code, "25006") == 0)
        return hs_fail(err, st,
                       "%s: the database is read-only (a standby, after a "
                       "failover?): %s",
                       what, line);
    if (*lost)
        return hs_fail(err, st, "%s: the database connection was lost: %s",
                       what, line[0] ? line : "no answer");
    return hs_fail(err, st, "%s: %s", what, line);
}

/* ---- parameters --------------------------------------------------------- */

typedef struct params {
    int n;
    const char *values[MAX_PARAMS];
    int lengths[MAX_PARAMS];
    int formats[MAX_PARAMS];
    char text[MAX_PARAMS][32]; /* numbers formatted here */
} params;

static hs_status bind_params(params *p, const char *types, va_list ap,
                             const char *what, hs_error *err)
{
    p->n = 0;
    for (const char *t = types ? types : ""; *t; t++) {
        int i = p->n;
        if (i >= MAX_PARAMS)
            return hs_fail(err, HS_ERR_INTERNAL, "%s: too many parameters",
                           what);
        p->values[i] = p->text[i];
        p->lengths[i] = 0;
        p->formats[i] = 0;
        switch (*t) {
        case 'i':
            snprintf(p->text[i], 32, "%lld", (long long)va_arg(ap, int64_t));
            break;
        case 'b':
            snprintf(p->text[i], 32, "%d", va_arg(ap, int) ? 1 : 0);
            break;
        case 'I': {
            int64_t v = va_arg(ap, int64_t);
            if (v == 0)
                p->values[i] = NULL;
            else
                snprintf(p->text[i], 32, "%lld", (long long)v);
            break;
        }
        case 'd': {
            double v = va_arg(ap, double);
            if (isnan(v))
                p->values[i] = NULL;
            else if (isinf(v))
                snprintf(p->text[i], 32, "%s",
                         v > 0 ? "Infinity" : "-Infinity");
            else
                snprintf(p->text[i], 32, "%.17g", v);
            break;
        }
        case 't': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                return hs_fail(err, HS_ERR_INTERNAL,
                               "%s: parameter $%d is NULL", what, i + 1);
            p->values[i] = s;
            break;
        }
        case 'T':
            p->values[i] = va_arg(ap, const char *);
            break;
        case 'x': {
            const void *data = va_arg(ap, const void *);
            size_t len = va_arg(ap, size_t);
            if (len > 0x7fffffff)
                return hs_fail(err, HS_ERR_INVALID,
                               "%s: a value of %zu bytes is too large", what,
                               len);
            p->values[i] = data ? (const char *)data : "";
            p->lengths[i] = (int)len;
            p->formats[i] = 1;
            break;
        }
        default:
            return hs_fail(err, HS_ERR_INTERNAL,
                           "%s: unknown parameter type '%c'", what, *t);
        }
        p->n++;
    }
    return HS_OK;
}

/* ---- statements -----------------------------------------------------------
 */

static int is_select(const char *sql)
{
    while (isspace((unsigned char)*sql))
        sql++;
    return strncasecmp(sql, "SELECT", 6) == 0 &&
           !isalnum((unsigned char)sql[6]) && sql[6] != '_';
}

/* One statement on c: the result on success, else an error (lost set). */
static hs_status exec_on(PGconn *c, const params *p, const char *sql,
                         PGresult **out, char state[6], int *lost,
                         hs_error *err, const char *what)
{
    PGresult *r = p ? PQexecParams(c, sql, p->n, NULL, p->values, p->lengths,
                                   p->formats, 0)
                    : PQexec(c, sql);
    ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    *lost = 0;
    state[0] = '\0';
    if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
        *out = r;
        return HS_OK;
    }
    hs_status st = result_error(c, r, state, lost, err, what);
    PQclear(r);
    *out = NULL;
    return st;
}

/* Before try `attempt` (1..) again after a deadlock or a serialization
 * failure: a short random wait, growing, so that the two sides of a
 * deadlock do not meet again at once. */
static void retry_pause(int attempt)
{
    static _Thread_local unsigned seed;
    if (!seed)
        seed = (unsigned)now_ms() ^ (unsigned)(uintptr_t)&seed;
    sleep_ms(5 * attempt + rand_r(&seed) % (20 * attempt));
}

/* A statement outside a transaction: its own connection, one retry of a
 * SELECT on a fresh one after a loss, and up to HS_PG_RETRIES tries of
 * any statement the server undid for a deadlock or a serialization
 * failure (it was its own transaction: nothing of it is left). */
static hs_status exec_pooled(hs_pg *pg, const params *p, const char *sql,
                             PGresult **out, char state[6], hs_error *err,
                             const char *what)
{
    int losses = p && is_select(sql) ? 2 : 1, undone = 0;
    hs_status st = HS_OK;
    for (;;) {
        pooled conn;
        int lost = 0;
        st = acquire(pg, &conn, err);
        if (st != HS_OK)
            return st;
        st = exec_on(conn.conn, p, sql, out, state, &lost, err, what);
        release(pg, &conn);
        if (!lost && retry_sqlstate(state) && ++undone < HS_PG_RETRIES) {
            retry_pause(undone);
            continue;
        }
        if (!lost)
            return st;
        forget_generation(pg);
        if (--losses == 0)
            return st;
    }
}

/* Is sql a transaction-control statement (SAVEPOINT, RELEASE, ROLLBACK
 * TO): those are run as they are inside a transaction. */
static int is_txn_control(const char *sql)
{
    static const char *const words[] = {"SAVEPOINT", "RELEASE", "ROLLBACK"};
    while (isspace((unsigned char)*sql))
        sql++;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (strncasecmp(sql, words[i], n) == 0 &&
            !isalnum((unsigned char)sql[n]))
            return 1;
    }
    return 0;
}

/* Fixed SQL on c, its outcome only (lost set when the connection went). */
static int exec_plain(PGconn *c, const char *sql, int *lost)
{
    PGresult *r = PQexec(c, sql);
    int ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (PQstatus(c) != CONNECTION_OK)
        *lost = 1;
    return ok;
}

/* The next result of a pipeline, and the NULL that ends it (a result of
 * its own for the sync). NULL when the connection failed. */
static PGresult *pipeline_result(PGconn *c)
{
    PGresult *r = PQgetResult(c);
    if (r && PQresultStatus(r) != PGRES_PIPELINE_SYNC) {
        PGresult *end = PQgetResult(c);
        if (end) { /* never for a single statement; keep the first */
            PQclear(end);
        }
    }
    return r;
}

/* SAVEPOINT, the statement and RELEASE sent at once (libpq's pipeline
 * mode: one round trip instead of three). 1 when it ran that way (*st,
 * *out set), 0 when the pipeline could not be used, before anything was
 * sent (the caller goes step by step). After a failure of the statement
 * the server skips the RELEASE; the caller rolls back to the savepoint. */
static int exec_pipelined(PGconn *c, const params *p, const char *sql,
                          PGresult **out, char state[6], int *lost,
                          hs_status *st, hs_error *err, const char *what)
{
    PGresult *r[3] = {NULL, NULL, NULL}, *sync;
    if (!PQenterPipelineMode(c))
        return 0;
    if (!PQsendQueryParams(c, "SAVEPOINT hs_stmt", 0, NULL, NULL, NULL, NULL,
                           0) ||
        !PQsendQueryParams(c, sql, p->n, NULL, p->values, p->lengths,
                           p->formats, 0) ||
        !PQsendQueryParams(c, "RELEASE SAVEPOINT hs_stmt", 0, NULL, NULL, NULL,
                           NULL, 0) ||
        !PQpipelineSync(c)) {
        *lost = PQstatus(c) != CONNECTION_OK;
        *st = hs_fail(err, *lost ? HS_ERR_UNAVAILABLE : HS_ERR_IO,
                      "%s: cannot send the statement: %s", what,
                      PQerrorMessage(c));
        PQexitPipelineMode(c);
        return 1;
    }
    for (int i = 0; i < 3; i++)
        r[i] = pipeline_result(c);
    sync = PQgetResult(c);
    PQclear(sync);
    PQexitPipelineMode(c);
    if (r[0] && PQresultStatus(r[0]) != PGRES_COMMAND_OK) {
        /* the savepoint itself failed (an aborted transaction): say why */
        *st = result_error(c, r[0], state, lost, err, what);
    } else if (r[1] && (PQresultStatus(r[1]) == PGRES_COMMAND_OK ||
                        PQresultStatus(r[1]) == PGRES_TUPLES_OK)) {
        *out = r[1];
        r[1] = NULL;
        *st = HS_OK;
        if (!r[2] || PQresultStatus(r[2]) != PGRES_COMMAND_OK) {
            PQclear(*out);
            *out = NULL;
            *lost = PQstatus(c) != CONNECTION_OK;
            *st = hs_fail(err, *lost ? HS_ERR_UNAVAILABLE : HS_ERR_IO,
                          "%s: the statement could not be kept in its "
                          "transaction",
                          what);
        }
    } else {
        *st = result_error(c, r[1], state, lost, err, what);
    }
    for (int i = 0; i < 3; i++)
        PQclear(r[i]);
    return 1;
}

/* A statement inside the thread's transaction. It runs under a savepoint
 * of its own, so that its failure undoes only itself and the transaction
 * goes on (as in SQLite, and as store.h's transactions promise): without
 * one, PostgreSQL refuses every later statement of the transaction. A
 * statement with parameters goes in one round trip (exec_pipelined); a
 * script, which the pipeline cannot carry, step by step. */
static hs_status exec_in_txn(PGconn *c, const params *p, const char *sql,
                             PGresult **out, char state[6], int *lost,
                             hs_error *err, const char *what)
{
    hs_status st;
    *lost = 0;
    *out = NULL;
    state[0] = '\0';
    if (is_txn_control(sql))
        return exec_on(c, p, sql, out, state, lost, err, what);
    if (p && exec_pipelined(c, p, sql, out, state, lost, &st, err, what)) {
        if (st != HS_OK && !*lost && *out == NULL &&
            PQtransactionStatus(c) == PQTRANS_INERROR)
            exec_plain(c,
                       "ROLLBACK TO SAVEPOINT hs_stmt;"
                       " RELEASE SAVEPOINT hs_stmt",
                       lost);
        return st;
    }
    if (!exec_plain(c, "SAVEPOINT hs_stmt", lost))
        return exec_on(c, p, sql, out, state, lost, err, what); /* says why */
    st = exec_on(c, p, sql, out, state, lost, err, what);
    if (*lost)
        return st;
    if (st == HS_OK) {
        if (exec_plain(c, "RELEASE SAVEPOINT hs_stmt", lost))
            return HS_OK;
        PQclear(*out);
        *out = NULL;
        return hs_fail(err, *lost ? HS_ERR_UNAVAILABLE : HS_ERR_IO,
                       "%s: the statement could not be kept in its "
                       "transaction",
                       what);
    }
    exec_plain(c, "ROLLBACK TO SAVEPOINT hs_stmt; RELEASE SAVEPOINT hs_stmt",
               lost);
    return st;
}

/* Whether a statement of the calling thread's transaction was undone by a
 * deadlock or a serialization failure since it began (hs_pg_transact_retry
 * then runs the transaction again). */
static _Thread_local int txn_undone;

static hs_status run(hs_pg *pg, hs_pg_result **res, char sqlstate[6],
                     hs_error *err, const char *what, const char *sql,
                     const params *p)
{
    char state[6] = "";
    PGresult *r = NULL;
    pooled *txn = pthread_getspecific(pg->txn_key);
    hs_status st;
    if (txn) {
        int lost = 0;
        st = exec_in_txn(txn->conn, p, sql, &r, state, &lost, err, what);
        if (retry_sqlstate(state))
            txn_undone = 1;
        if (lost)
            forget_generation(pg);
    } else {
        st = exec_pooled(pg, p, sql, &r, state, err, what);
    }
    if (sqlstate)
        memcpy(sqlstate, state, 6);
    if (res)
        *res = (hs_pg_result *)r;
    else
        PQclear(r);
    return st;
}

hs_status hs_pg_vquery(hs_pg *pg, hs_pg_result **res, char sqlstate[6],
                       hs_error *err, const char *what, const char *sql,
                       const char *types, va_list ap)
{
    params p;
    hs_status st;
    if (res)
        *res = NULL;
    if (sqlstate)
        sqlstate[0] = '\0';
    if (!what)
        what = "query";
    if (!pg || !sql)
        return hs_fail(err, HS_ERR_INVALID, "%s: missing argument", what);
    st = bind_params(&p, types, ap, what, err);
    if (st != HS_OK)
        return st;
    return run(pg, res, sqlstate, err, what, sql, &p);
}

hs_status hs_pg_query(hs_pg *pg, hs_pg_result **res, char sqlstate[6],
                      hs_error *err, const char *what, const char *sql,
                      const char *types, ...)
{
    va_list ap;
    hs_status st;
    va_start(ap, types);
    st = hs_pg_vquery(pg, res, sqlstate, err, what, sql, types, ap);
    va_end(ap);
    return st;
}

hs_status hs_pg_exec_script(hs_pg *pg, hs_error *err, const char *what,
                            const char *sql)
{
    if (!what)
        what = "script";
    if (!pg || !sql)
        return hs_fail(err, HS_ERR_INVALID, "%s: missing argument", what);
    return run(pg, NULL, NULL, err, what, sql, NULL);
}

/* ---- transactions ------------------------------------------------------- */

int hs_pg_in_transaction(hs_pg *pg)
{
    return pg && pthread_getspecific(pg->txn_key) != NULL;
}

/* COMMIT, or ROLLBACK when ok is 0. A COMMIT of a transaction that the
 * server had already aborted answers "ROLLBACK": that is an error too. */
static hs_status finish_txn(hs_pg *pg, pooled *conn, int commit,
                            char state[6], hs_error *err)
{
    int lost = 0;
    PGresult *r = NULL;
    hs_status st = exec_on(conn->conn, NULL, commit ? "COMMIT" : "ROLLBACK", &r,
                           state, &lost, err, commit ? "commit" : "rollback");
    if (st == HS_OK && commit && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        st = hs_fail(err, HS_ERR_IO,
                     "%s: the transaction was rolled back by the database "
                     "after an error in one of its statements",
                     pg->name);
    PQclear(r);
    if (lost)
        forget_generation(pg);
    return st;
}

/* A connection with a transaction begun on it. A BEGIN that finds its
 * pooled connection dead (the server restarted since) is tried once more
 * on a fresh one, like a SELECT: nothing had happened yet. */
static hs_status begin(hs_pg *pg, pooled *conn, hs_error *err)
{
    hs_status st = HS_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        char state[6];
        int lost = 0;
        PGresult *r = NULL;
        st = acquire(pg, conn, err);
        if (st != HS_OK)
            return st;
        st = exec_on(conn->conn, NULL, "BEGIN", &r, state, &lost, err, "begin");
        PQclear(r);
        if (st == HS_OK)
            return HS_OK;
        release(pg, conn);
        if (!lost)
            return st;
        forget_generation(pg);
    }
    return st;
}

/* One try of a transaction; *undone is 1 when it failed for a deadlock or
 * a serialization failure (a statement's or the COMMIT's). */
static hs_status transact_once(hs_pg *pg, hs_pg_txn_fn fn, void *arg,
                               int *undone, hs_error *err)
{
    pooled conn;
    hs_status st;
    char state[6] = "";
    *undone = 0;
    st = begin(pg, &conn, err);
    if (st != HS_OK)
        return st;
    txn_undone = 0;
    pthread_setspecific(pg->txn_key, &conn);
    st = fn(arg, err);
    pthread_setspecific(pg->txn_key, NULL);
    if (st == HS_OK) {
        st = finish_txn(pg, &conn, 1, state, err);
        *undone = st != HS_OK && retry_sqlstate(state);
    } else {
        *undone = txn_undone;
        if (PQstatus(conn.conn) == CONNECTION_OK) {
            hs_error ignored = {0};
            finish_txn(pg, &conn, 0, state, &ignored);
        }
    }
    release(pg, &conn);
    return st;
}

/* hs_pg_transact and hs_pg_transact_retry: up to `tries` tries. */
static hs_status transact(hs_pg *pg, hs_pg_txn_fn fn, void *arg, int tries,
                          hs_error *err)
{
    if (!pg || !fn)
        return hs_fail(err, HS_ERR_INVALID, "transact: missing argument");
    if (pthread_getspecific(pg->txn_key))
        return hs_fail(err, HS_ERR_INVALID,
                       "%s: a transaction cannot be nested in another",
                       pg->name);
    for (int attempt = 1;; attempt++) {
        int undone = 0;
        hs_status st = transact_once(pg, fn, arg, &undone, err);
        if (!undone || attempt >= tries)
            return st;
        retry_pause(attempt);
    }
}

hs_status hs_pg_transact_retry(hs_pg *pg, hs_pg_txn_fn fn, void *arg,
                               hs_error *err)
{
    return transact(pg, fn, arg, HS_PG_RETRIES, err);
}

hs_status hs_pg_transact(hs_pg *pg, hs_pg_txn_fn fn, void *arg, hs_error *err)
{
    return transact(pg, fn, arg, 1, err);
}

/* ---- results ------------------------------------------------------------ */

static const PGresult *R(const hs_pg_result *r)
{
    return (const PGresult *)r;
}

int hs_pg_rows(const hs_pg_result *r)
{
    return r ? PQntuples(R(r)) : 0;
}

int64_t hs_pg_affected(const hs_pg_result *r)
{
    const char *n = r ? PQcmdTuples((PGresult *)R(r)) : "";
    return n[0] ? strtoll(n, NULL, 10) : 0;
}

int hs_pg_is_null(const hs_pg_result *r, int row, int col)
{
    return !r || PQgetisnull(R(r), row, col);
}

int64_t hs_pg_int(const hs_pg_result *r, int row, int col)
{
    const char *s;
    if (hs_pg_is_null(r, row, col))
        return 0;
    s = PQgetvalue(R(r), row, col);
    if (s[0] == 't' && s[1] == '\0')
        return 1;
    if (s[0] == 'f' && s[1] == '\0')
        return 0;
    return strtoll(s, NULL, 10);
}

double hs_pg_double(const hs_pg_result *r, int row, int col)
{
    if (hs_pg_is_null(r, row, col))
        return NAN;
    return strtod(PQgetvalue(R(r), row, col), NULL);
}

const char *hs_pg_text(const hs_pg_result *r, int row, int col)
{
    if (hs_pg_is_null(r, row, col))
        return "";
    return PQgetvalue(R(r), row, col);
}

hs_status hs_pg_copy(const hs_pg_result *r, int row, int col, char *dst,
                     size_t size, const char *what, hs_error *err)
{
    const char *s = hs_pg_text(r, row, col);
    size_t n = strlen(s);
    if (n >= size)
        return hs_fail(err, HS_ERR_INVALID,
                       "%s: the stored value (%zu bytes) does not fit (%zu)",
                       what ? what : "value", n, size - 1);
    memcpy(dst, s, n + 1);
    return HS_OK;
}

char *hs_pg_strdup(const hs_pg_result *r, int row, int col, hs_status *st)
{
    char *s;
    if (hs_pg_is_null(r, row, col)) {
        *st = HS_OK;
        return NULL;
    }
    s = strdup(PQgetvalue(R(r), row, col));
    *st = s ? HS_OK : HS_ERR_NOMEM;
    return s;
}

hs_status hs_pg_bytes(const hs_pg_result *r, int row, int col, void **out,
                      size_t *len, hs_error *err)
{
    unsigned char *raw;
    size_t n = 0;
    *out = NULL;
    *len = 0;
    if (hs_pg_is_null(r, row, col))
        return HS_OK;
    raw =
        PQunescapeBytea((const unsigned char *)PQgetvalue(R(r), row, col), &n);
    if (!raw)
        return hs_fail(err, HS_ERR_CORRUPT,
                       "a stored byte string could not be decoded");
    if (n == 0) {
        PQfreemem(raw);
        return HS_OK;
    }
    *out = malloc(n);
    if (!*out) {
        PQfreemem(raw);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    memcpy(*out, raw, n);
    *len = n;
    PQfreemem(raw);
    return HS_OK;
}

void hs_pg_result_free(hs_pg_result *r)
{
    PQclear((PGresult *)r);
}

/* ---- notifications ---------------------------------------------------------
 */

static int valid_channel(const char *ch)
{
    size_t n = 0;
    if (!ch || !ch[0])
        return 0;
    for (; ch[n]; n++)
        if (!(isalnum((unsigned char)ch[n]) || ch[n] == '_') ||
            n >= CHANNEL_MAX)
            return 0;
    return 1;
}

/* Index of channel in the listen state, registering it when new (*added
 * = 1); -1 when the table is full. */
static int channel_slot(listen_state *ls, const char *channel, int *added)
{
    *added = 0;
    for (int i = 0; i < ls->n_channels; i++)
        if (strcmp(ls->channels[i], channel) == 0)
            return i;
    if (ls->n_channels == MAX_CHANNELS)
        return -1;
    snprintf(ls->channels[ls->n_channels], CHANNEL_MAX + 1, "%s", channel);
    ls->pending[ls->n_channels] = 0;
    *added = 1;
    return ls->n_channels++;
}

/* LISTENs on every registered channel on the listen connection. */
static hs_status listen_all(hs_pg *pg, hs_error *err)
{
    listen_state *ls = &pg->listen;
    for (int i = 0; i < ls->n_channels; i++) {
        char sql[CHANNEL_MAX + 16];
        char state[6];
        int lost = 0;
        PGresult *r = NULL;
        hs_status st;
        snprintf(sql, sizeof sql, "LISTEN %s", ls->channels[i]);
        st = exec_on(ls->conn, NULL, sql, &r, state, &lost, err, "listen");
        PQclear(r);
        if (st != HS_OK)
            return st;
    }
    return HS_OK;
}

/* The listen connection, (re)opened with every channel listened to. */
static hs_status listen_conn(hs_pg *pg, hs_error *err)
{
    listen_state *ls = &pg->listen;
    hs_status st;
    if (ls->conn && PQstatus(ls->conn) == CONNECTION_OK)
        return HS_OK;
    PQfinish(ls->conn);
    ls->conn = NULL;
    st = open_conn(pg, &ls->conn, err);
    if (st != HS_OK)
        return st;
    st = listen_all(pg, err);
    if (st != HS_OK) {
        PQfinish(ls->conn);
        ls->conn = NULL;
        return st;
    }
    if (ls->ever_connected) /* notifications may have been missed */
        for (int i = 0; i < ls->n_channels; i++)
            ls->pending[i] = 1;
    ls->ever_connected = 1;
    return HS_OK;
}

/* Reads what arrived on the listen connection into the pending flags;
 * HS_ERR_UNAVAILABLE when the connection is gone (then closed). */
static hs_status listen_drain(hs_pg *pg, hs_error *err)
{
    listen_state *ls = &pg->listen;
    PGnotify *n;
    if (!PQconsumeInput(ls->conn) || PQstatus(ls->conn) != CONNECTION_OK) {
        char line[300];
        first_line(line, sizeof line, PQerrorMessage(ls->conn));
        PQfinish(ls->conn);
        ls->conn = NULL;
        return hs_fail(err, HS_ERR_UNAVAILABLE,
                       "%s: the listening connection was lost: %s", pg->name,
                       line);
    }
    while ((n = PQnotifies(ls->conn)) != NULL) {
        for (int i = 0; i < ls->n_channels; i++)
            if (strcmp(ls->channels[i], n->relname) == 0)
                ls->pending[i] = 1;
        PQfreemem(n);
    }
    return HS_OK;
}

/* One slice of a wait (listen lock held): connect if needed, take what
 * came, else poll the socket up to slice_ms. *done when the channel's
 * flag was set. */
static hs_status listen_slice(hs_pg *pg, const char *channel, int slice_ms,
                              int *done, hs_error *err)
{
    listen_state *ls = &pg->listen;
    int added;
    int slot = channel_slot(ls, channel, &added);
    hs_status st;
    *done = 0;
    if (slot < 0)
        return hs_fail(err, HS_ERR_INVALID,
                       "%s: at most %d channels can be listened to", pg->name,
                       MAX_CHANNELS);
    if (added && ls->conn) { /* a new channel on a live connection */
        char sql[CHANNEL_MAX + 16];
        snprintf(sql, sizeof sql, "LISTEN %s", channel);
        PQclear(PQexec(ls->conn, sql));
        if (PQstatus(ls->conn) != CONNECTION_OK) {
            PQfinish(ls->conn);
            ls->conn = NULL;
        }
    }
    st = listen_conn(pg, err);
    if (st != HS_OK)
        return st;
    st = listen_drain(pg, err);
    if (st == HS_OK && !ls->pending[slot]) {
        struct pollfd fd = {.fd = PQsocket(ls->conn), .events = POLLIN};
        if (poll(&fd, 1, slice_ms) > 0)
            st = listen_drain(pg, err);
    }
    if (st == HS_OK && ls->pending[slot]) {
        ls->pending[slot] = 0;
        *done = 1;
    }
    return st;
}

hs_status hs_pg_listen_wait(hs_pg *pg, const char *channel, int timeout_ms,
                            int *notified, hs_error *err)
{
    int64_t deadline;
    if (notified)
        *notified = 0;
    if (!pg || !notified)
        return hs_fail(err, HS_ERR_INVALID, "listen: missing argument");
    if (!valid_channel(channel))
        return hs_fail(err, HS_ERR_INVALID,
                       "listen: a channel is 1 to %d letters, digits or "
                       "'_'",
                       CHANNEL_MAX);
    if (timeout_ms < 0)
        timeout_ms = 0;
    deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        int slice = left > LISTEN_SLICE_MS ? LISTEN_SLICE_MS
                    : left > 0             ? (int)left
                                           : 0;
        int done = 0;
        hs_status st;
        pthread_mutex_lock(&pg->listen.mu);
        st = listen_slice(pg, channel, slice, &done, err);
        pthread_mutex_unlock(&pg->listen.mu);
        if (done) {
            *notified = 1;
            return HS_OK;
        }
        if (st != HS_OK && st != HS_ERR_UNAVAILABLE)
            return st;
        left = deadline - now_ms();
        if (left <= 0)
            return st;
        if (st != HS_OK) /* lost or refused: try again after a slice */
            sleep_ms(left < LISTEN_SLICE_MS ? left : LISTEN_SLICE_MS);
    }
}
