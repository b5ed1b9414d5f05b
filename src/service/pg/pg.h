/* pg/pg.h - connections to a PostgreSQL database, for the backends that
 * keep their data in one: the record store (store/store_pg*.c) and the
 * blob store (blob/blob_pg.c).
 *
 * Why a layer of its own: both backends need the same things from libpq -
 * a pool shared by the service's threads, a transaction that belongs to the
 * thread that opened it, statements with bound parameters only, SQLSTATEs
 * turned into the service's error codes, reconnection with back-off when
 * the server goes away, and LISTEN/NOTIFY - and neither may depend on the
 * other (store and blob are siblings). Nothing here knows a table.
 *
 * The database going away: a statement whose connection is lost fails with
 * HS_ERR_UNAVAILABLE (HTTP 503 "store_unavailable"), the connection is
 * dropped, and the next acquire opens a new one - at once the first time,
 * then no more often than a back-off that doubles from 100 ms to 5 s while
 * connecting keeps failing; inside the back-off, callers fail fast with
 * HS_ERR_UNAVAILABLE rather than queue behind a dead server. A read-only
 * statement (one that starts with SELECT) outside a transaction is retried
 * once on a fresh connection, since repeating it changes nothing: a server
 * restart then costs readers nothing. So is the BEGIN of hs_pg_transact
 * (nothing has happened yet). A write is never retried here: its
 * outcome is unknown once the connection is lost, and the caller decides.
 * hs_pg_watch tells a caller (the notifications' trouble watch) about each
 * failure to connect and each recovery.
 *
 * Parameters are a letter string, one letter per $n, plus varargs (as the
 * SQLite backend's): 'i' int64_t; 'b' int (bool, as 0/1); 'I' hs_id-like
 * int64_t, 0 bound as NULL; 'd' double, NAN bound as NULL; 't' const char *
 * (never NULL); 'T' const char * or NULL; 'x' bytea, two arguments: const
 * void *, size_t. Results come back in text format.
 *
 * Thread-safety: an hs_pg may be used from any number of threads at once;
 * a result belongs to the thread that got it.
 */
#ifndef HEALER_HS_PG_H
#define HEALER_HS_PG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct hs_pg hs_pg;
typedef struct hs_pg_result hs_pg_result;

/* Connections a pool opens at most, unless the URL's `pool_size`
 * parameter says otherwise (removed before the URL reaches libpq). */
#define HS_PG_POOL_DEFAULT 16

/* How long an acquire waits for a pooled connection to be free before it
 * fails with HS_ERR_UNAVAILABLE ("all N database connections are busy"). */
#define HS_PG_ACQUIRE_WAIT_MS 10000

/* Opens a pool on `url` ("postgresql://USER@HOST:PORT/DB[?...]", as libpq
 * takes it, plus the optional `pool_size=N`, 1..256) and one connection to
 * check it: a server that cannot be reached is HS_ERR_UNAVAILABLE, a bad
 * URL HS_ERR_INVALID. Messages never quote the URL's password. `name`
 * ("store", "blobs") goes into messages and the server's
 * application_name. */
hs_status hs_pg_open(const char *url, const char *name, hs_pg **out,
                     hs_error *err);

/* Closes every connection and frees the pool; NULL is a no-op. Call once,
 * after every other call has returned. */
void hs_pg_close(hs_pg *pg);

/* A callback told when connecting fails (ok = 0, with the message) and
 * when it works again after failures (ok = 1, message ""); from the
 * thread that tried. Set before the pool is shared. */
typedef void (*hs_pg_watch_fn)(void *ctx, int ok, const char *message);
void hs_pg_watch(hs_pg *pg, hs_pg_watch_fn fn, void *ctx);

/* Runs fn(arg, err) inside one transaction on one connection that belongs
 * to the calling thread until it ends: every hs_pg_query the thread makes
 * on this pool meanwhile runs in it; COMMIT when fn returns HS_OK, else
 * ROLLBACK, and fn's status is returned. A COMMIT that fails (a
 * serialization failure, the connection lost) is returned as an error.
 * Nesting is HS_ERR_INVALID. */
typedef hs_status (*hs_pg_txn_fn)(void *arg, hs_error *err);
hs_status hs_pg_transact(hs_pg *pg, hs_pg_txn_fn fn, void *arg,
                         hs_error *err);

/* How often a statement or transaction the server undid for a deadlock
 * (SQLSTATE 40P01) or a serialization failure (40001) is tried in all,
 * with a short random pause (5..25 ms, growing) before each retry; a
 * statement outside a transaction is always retried so (it was its own
 * transaction). What still fails is HS_ERR_UNAVAILABLE (503), as are a
 * read-only database (25006, a standby after a failover: the connection
 * is dropped, like a lost one), a cancelled statement (57014), exhausted
 * resources (53xxx) and a lock not available (55P03). */
#define HS_PG_RETRIES 4

/* hs_pg_transact, but the whole transaction is run again (fn included,
 * up to HS_PG_RETRIES tries) when a statement in it or its COMMIT was
 * undone by a deadlock or a serialization failure and fn then failed
 * (with that error or a later one; fn that handles the error and returns
 * HS_OK commits what it did). fn MUST be re-runnable: it may only read
 * and write through this pool (all of which the ROLLBACK undid) and set
 * outputs it sets again on every run - never consume a stream, free or
 * hand over memory, or tell the world before it returns. The record
 * store's transactions qualify (store.h: a transaction callback only
 * calls the store); the blob writer's commit does not (its last chunk is
 * consumed), and uses hs_pg_transact. */
hs_status hs_pg_transact_retry(hs_pg *pg, hs_pg_txn_fn fn, void *arg,
                               hs_error *err);

/* Is the calling thread inside hs_pg_transact on this pool. */
int hs_pg_in_transaction(hs_pg *pg);

/* Runs one statement with parameters `types` + varargs (see above) and
 * gives its result in *res (NULL allowed: the result is dropped; free it
 * with hs_pg_result_free). Errors by SQLSTATE: 23505 unique violation ->
 * HS_ERR_CONFLICT, 23503 foreign key -> HS_ERR_NOTFOUND, 23514 check and
 * class 22 (data) -> HS_ERR_INVALID, a lost or refused connection (class
 * 08, 57P01-57P03) -> HS_ERR_UNAVAILABLE, the rest HS_ERR_IO; the message
 * starts with `what` and carries the server's. *sqlstate (may be NULL)
 * gets the five-character code, "" when there is none. */
hs_status hs_pg_query(hs_pg *pg, hs_pg_result **res, char sqlstate[6],
                      hs_error *err, const char *what, const char *sql,
                      const char *types, ...);

/* hs_pg_query with a va_list, for helpers that take the parameters of
 * their callers (the store backends' insert / get / list wrappers). */
hs_status hs_pg_vquery(hs_pg *pg, hs_pg_result **res, char sqlstate[6],
                       hs_error *err, const char *what, const char *sql,
                       const char *types, va_list ap);

/* Several statements without parameters in one string (migrations),
 * in the calling thread's transaction if any. */
hs_status hs_pg_exec_script(hs_pg *pg, hs_error *err, const char *what,
                            const char *sql);

/* ---- results ------------------------------------------------------------ */

int hs_pg_rows(const hs_pg_result *r);
/* Rows an INSERT / UPDATE / DELETE touched. */
int64_t hs_pg_affected(const hs_pg_result *r);
int hs_pg_is_null(const hs_pg_result *r, int row, int col);
/* NULL -> 0 (an absent id), booleans 't'/'f' -> 1/0. */
int64_t hs_pg_int(const hs_pg_result *r, int row, int col);
/* NULL -> NAN. */
double hs_pg_double(const hs_pg_result *r, int row, int col);
/* The text of a value ("" for NULL); valid until the result is freed. */
const char *hs_pg_text(const hs_pg_result *r, int row, int col);
/* Copies a text value into dst[size]: HS_ERR_INVALID naming `what` when it
 * does not fit (never truncated); NULL is "". */
hs_status hs_pg_copy(const hs_pg_result *r, int row, int col, char *dst,
                     size_t size, const char *what, hs_error *err);
/* A malloc'ed copy of a text value, NULL for NULL (*st = HS_OK) or when out
 * of memory (*st = HS_ERR_NOMEM). */
char *hs_pg_strdup(const hs_pg_result *r, int row, int col, hs_status *st);
/* A bytea value decoded into malloc'ed memory (*len bytes; NULL with
 * *len = 0 for NULL or empty); HS_ERR_NOMEM / HS_ERR_CORRUPT. */
hs_status hs_pg_bytes(const hs_pg_result *r, int row, int col, void **out,
                      size_t *len, hs_error *err);
void hs_pg_result_free(hs_pg_result *r);

/* ---- notifications --------------------------------------------------------- */

/* Waits up to timeout_ms for a NOTIFY on `channel` (an identifier of
 * letters, digits and '_'), on a connection of its own that LISTENs
 * (opened on first use, reopened after a loss: notifications sent while it
 * was lost are missed, so *notified = 1 is also reported after a
 * reconnection, as "anything may have happened"). *notified = 1 when one
 * or more came (all are consumed). Waiters on one pool take turns: call it
 * from one thread per channel. HS_ERR_UNAVAILABLE when the server cannot
 * be reached (after waiting out the timeout, so a caller in a loop does not
 * spin). */
hs_status hs_pg_listen_wait(hs_pg *pg, const char *channel, int timeout_ms,
                            int *notified, hs_error *err);

#endif
