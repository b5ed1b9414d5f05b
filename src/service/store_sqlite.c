/* store_sqlite.c - the SQLite backend of the record store (store.h).
 *
 * One database file in WAL mode (readers never block the writer), foreign
 * keys on, a 5 s busy timeout for other processes sharing the file. The
 * schema is versioned: `schema_migrations` lists the versions applied, and
 * `migrations[]` below holds the forward-only SQL of each; at open every
 * missing one runs in its own transaction. A database that already has a
 * version newer than this code knows is refused before anything is written.
 *
 * Why one connection and one lock: the store is shared by the service's
 * threads. A single connection (opened SQLITE_OPEN_FULLMUTEX) guarded by
 * our own recursive mutex makes each operation atomic *including* the
 * per-connection state it reads afterwards (sqlite3_changes,
 * sqlite3_last_insert_rowid, sqlite3_errmsg), and lets a transaction belong
 * to one thread: hs_store_begin keeps the mutex locked until commit or
 * rollback, so other threads wait instead of silently joining it. SQLite
 * allows one writer at a time anyway, so little concurrency is lost; with
 * only one connection in the process, SQLITE_BUSY can only come from
 * another process, and the busy timeout absorbs that.
 *
 * Every statement is prepared with bound parameters; no SQL is ever built
 * from caller text. Statements are prepared per call (simple, and cheap
 * next to the disk I/O of a write); a statement cache can come later.
 *
 * Deliberately absent: connection pooling, deleting users (later slices),
 * and reading the clock - callers pass every time in (only a migration's
 * applied_at comes from SQLite's own clock).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"

typedef struct sq_store {
    sqlite3 *db;          /* protected by lock */
    pthread_mutex_t lock; /* recursive; held across a transaction */
    int in_txn;           /* protected by lock: a begin is open */
} sq_store;

/* ---- schema ------------------------------------------------------------ */

/* migrations[i] brings the schema from version i to version i + 1. Append
 * only: never edit a migration that has shipped. AUTOINCREMENT so an id is
 * never reused after a delete (events and notifications refer to users). */
static const char *const migrations[] = {
    /* 1: accounts */
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  username TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL,"
    "  is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
    "  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  locked_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  remember INTEGER NOT NULL CHECK (remember IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE INDEX sessions_expires ON sessions(expires_at);"
    "CREATE TABLE account_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX account_events_user_kind_at"
    "  ON account_events(user_id, kind, at);"
    "CREATE TABLE notifications ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  read INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)));"
    "CREATE INDEX notifications_created ON notifications(created_at);",

    /* 2: datasets (the bytes are in the blob store, under blob_key) */
    "CREATE TABLE datasets ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  blob_key TEXT NOT NULL UNIQUE,"
    "  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
    "  rows INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0),"
    "  features INTEGER NOT NULL DEFAULT 0 CHECK (features >= 0),"
    "  profile_json TEXT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX datasets_owner_deleted ON datasets(owner_id, deleted_at);",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

_Static_assert(N_MIGRATIONS == HS_STORE_SQLITE_SCHEMA_VERSION,
               "HS_STORE_SQLITE_SCHEMA_VERSION must match migrations[]");

/* ---- helpers ----------------------------------------------------------- */

/* Maps an SQLite result code to an hs_status and records "what: errmsg".
 * Call with the lock held so errmsg belongs to this operation. */
static hs_status sq_err(sqlite3 *db, int rc, hs_error *err, const char *what)
{
    hs_status code;
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        code = HS_ERR_NOMEM;
        break;
    case SQLITE_CONSTRAINT:
        code = rc == SQLITE_CONSTRAINT_FOREIGNKEY ? HS_ERR_NOTFOUND
                                                  : HS_ERR_CONFLICT;
        break;
    case SQLITE_MISUSE:
    case SQLITE_INTERNAL:
    case SQLITE_RANGE:
        code = HS_ERR_INTERNAL;
        break;
    default:
        code = HS_ERR_IO;
        break;
    }
    return hs_fail(err, code, "%s: %s (sqlite %d)", what,
                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

static hs_status sq_lock(sq_store *s, hs_error *err)
{
    if (pthread_mutex_lock(&s->lock) != 0)
        return hs_fail(err, HS_ERR_INTERNAL, "store: cannot take its lock");
    return HS_OK;
}

static void sq_unlock(sq_store *s)
{
    pthread_mutex_unlock(&s->lock);
}

static hs_status sq_prepare(sq_store *s, const char *sql, sqlite3_stmt **st,
                            hs_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return sq_err(s->db, rc, err, "preparing a statement");
    }
    return HS_OK;
}

/* Runs fixed SQL (no caller text ever reaches here). */
static hs_status sq_exec(sqlite3 *db, const char *sql, hs_error *err,
                         const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_err(db, rc, err, what);
    return HS_OK;
}

/* Binds a text parameter that outlives the statement (SQLITE_STATIC). */
static int bind_text(sqlite3_stmt *st, int idx, const char *text)
{
    return sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC);
}

/* Binds 0 as NULL (for optional references). */
static int bind_id_or_null(sqlite3_stmt *st, int idx, hs_id id)
{
    return id ? sqlite3_bind_int64(st, idx, id) : sqlite3_bind_null(st, idx);
}

/* Copies text column `col` into buf[size]; a NULL column is "". Returns
 * HS_ERR_INTERNAL when the stored value does not fit (a database written by
 * something else), rather than truncating it. */
static hs_status copy_text(sqlite3_stmt *st, int col, char *buf, size_t size,
                           hs_error *err, const char *field)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    if (!text) {
        if (sqlite3_column_type(st, col) != SQLITE_NULL)
            return hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
        buf[0] = '\0';
        return HS_OK;
    }
    if (len >= size || memchr(text, '\0', len))
        return hs_fail(err, HS_ERR_INTERNAL,
                       "store: stored %s is malformed or too long", field);
    memcpy(buf, text, len);
    buf[len] = '\0';
    return HS_OK;
}

/* Steps a write statement that must finish without a row. */
static hs_status step_done(sq_store *s, sqlite3_stmt *st, hs_error *err,
                           const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return sq_err(s->db, rc, err, what);
    return HS_OK;
}

typedef hs_status (*row_reader)(sqlite3_stmt *st, void *dst, hs_error *err);

/* Steps st expecting exactly zero or one row; reads it into dst. No row is
 * HS_ERR_NOTFOUND with `missing` as the message. */
static hs_status read_one(sq_store *s, sqlite3_stmt *st, row_reader read,
                          void *dst, hs_error *err, const char *missing)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return hs_fail(err, HS_ERR_NOTFOUND, "%s", missing);
    if (rc != SQLITE_ROW)
        return sq_err(s->db, rc, err, "reading a record");
    return read(st, dst, err);
}

/* Frees what a row_reader allocated inside one element (not the element). */
typedef void (*row_release)(void *row);

/* Steps st to the end, appending each row (elem_size bytes, via `read`) to
 * a growing malloc'ed array. On error frees it - after `release` (may be
 * NULL) on each element read so far - and leaves *items NULL. A reader
 * that fails must leave nothing allocated in its element. */
static hs_status read_all_owning(sq_store *s, sqlite3_stmt *st, row_reader read,
                                 row_release release, size_t elem_size,
                                 void **items, size_t *n, hs_error *err)
{
    unsigned char *arr = NULL;
    size_t count = 0, cap = 0;
    hs_status hs;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            unsigned char *grown;
            if (ncap > SIZE_MAX / elem_size) {
                hs = hs_fail(err, HS_ERR_NOMEM, "store: list too large");
                goto fail;
            }
            grown = realloc(arr, ncap * elem_size);
            if (!grown) {
                hs = hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
                goto fail;
            }
            arr = grown;
            cap = ncap;
        }
        hs = read(st, arr + count * elem_size, err);
        if (hs != HS_OK)
            goto fail;
        count++;
    }
    if (rc != SQLITE_DONE) {
        hs = sq_err(s->db, rc, err, "listing records");
        goto fail;
    }
    *items = arr;
    *n = count;
    return HS_OK;

fail:
    if (release)
        while (count > 0)
            release(arr + --count * elem_size);
    free(arr);
    return hs;
}

/* read_all_owning for rows that own no memory. */
static hs_status read_all(sq_store *s, sqlite3_stmt *st, row_reader read,
                          size_t elem_size, void **items, size_t *n,
                          hs_error *err)
{
    return read_all_owning(s, st, read, NULL, elem_size, items, n, err);
}

/* ---- row readers (column order = the SELECT lists below) -------------- */

#define USER_COLS                                                              \
    "SELECT id, username, password_hash, is_admin, disabled, created_at,"      \
    " locked_until FROM users"

static hs_status read_user(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_user *u = dst;
    hs_status hs;
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    hs = copy_text(st, 1, u->username, sizeof u->username, err, "username");
    if (hs == HS_OK)
        hs = copy_text(st, 2, u->password_hash, sizeof u->password_hash, err,
                       "password hash");
    u->is_admin = sqlite3_column_int(st, 3) != 0;
    u->disabled = sqlite3_column_int(st, 4) != 0;
    u->created_at = sqlite3_column_int64(st, 5);
    u->locked_until = sqlite3_column_int64(st, 6);
    return hs;
}

#define SESSION_COLS                                                           \
    "SELECT id, user_id, token_hash, remember, created_at, last_seen_at,"      \
    " expires_at FROM sessions"

static hs_status read_session(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_session *s = dst;
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(st, 0);
    s->user_id = sqlite3_column_int64(st, 1);
    s->remember = sqlite3_column_int(st, 3) != 0;
    s->created_at = sqlite3_column_int64(st, 4);
    s->last_seen_at = sqlite3_column_int64(st, 5);
    s->expires_at = sqlite3_column_int64(st, 6);
    return copy_text(st, 2, s->token_hash, sizeof s->token_hash, err,
                     "token hash");
}

#define EVENT_COLS "SELECT id, user_id, kind, at FROM account_events"

static hs_status read_event(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_account_event *e = dst;
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    e->user_id = sqlite3_column_int64(st, 1);
    e->at = sqlite3_column_int64(st, 3);
    return copy_text(st, 2, e->kind, sizeof e->kind, err, "event kind");
}

#define NOTIFICATION_COLS                                                      \
    "SELECT id, kind, message, user_id, created_at, read FROM notifications"

static hs_status read_notification(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_notification *m = dst;
    hs_status hs;
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    hs = copy_text(st, 1, m->kind, sizeof m->kind, err, "notification kind");
    if (hs == HS_OK)
        hs = copy_text(st, 2, m->message, sizeof m->message, err,
                       "notification message");
    m->user_id = sqlite3_column_int64(st, 3); /* NULL reads as 0 */
    m->created_at = sqlite3_column_int64(st, 4);
    m->read = sqlite3_column_int(st, 5) != 0;
    return hs;
}

#define DATASET_COLS                                                           \
    "SELECT id, owner_id, name, blob_key, size_bytes, rows, features,"         \
    " profile_json, created_at, deleted_at FROM datasets"

/* Copies text column `col` into a fresh malloc'ed string in *out; a NULL
 * column is NULL. Refuses embedded NULs like copy_text. */
static hs_status dup_text(sqlite3_stmt *st, int col, char **out, hs_error *err,
                          const char *field)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    *out = NULL;
    if (!text) {
        if (sqlite3_column_type(st, col) != SQLITE_NULL)
            return hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
        return HS_OK;
    }
    if (memchr(text, '\0', len))
        return hs_fail(err, HS_ERR_INTERNAL, "store: stored %s is malformed",
                       field);
    *out = malloc(len + 1);
    if (!*out)
        return hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
    memcpy(*out, text, len);
    (*out)[len] = '\0';
    return HS_OK;
}

static hs_status read_dataset(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_dataset_rec *d = dst;
    hs_status hs;
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    d->owner_id = sqlite3_column_int64(st, 1);
    d->size_bytes = sqlite3_column_int64(st, 4);
    d->rows = sqlite3_column_int64(st, 5);
    d->features = sqlite3_column_int64(st, 6);
    d->created_at = sqlite3_column_int64(st, 8);
    d->deleted_at = sqlite3_column_int64(st, 9);
    hs = copy_text(st, 2, d->name, sizeof d->name, err, "dataset name");
    if (hs == HS_OK)
        hs = copy_text(st, 3, d->blob_key, sizeof d->blob_key, err, "blob key");
    /* Last, so that a failure above has allocated nothing. */
    if (hs == HS_OK)
        hs = dup_text(st, 7, &d->profile_json, err, "dataset profile");
    return hs;
}

static void release_dataset(void *row)
{
    hs_dataset_rec_free(row);
}

static hs_status read_blob_key(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return copy_text(st, 0, dst, HS_STORE_BLOB_KEY_MAX, err, "blob key");
}

static hs_status read_time(sqlite3_stmt *st, void *dst, hs_error *err)
{
    (void)err;
    *(int64_t *)dst = sqlite3_column_int64(st, 0);
    return HS_OK;
}

static hs_status read_count(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return read_time(st, dst, err);
}

/* ---- transactions ------------------------------------------------------ */

static hs_status sq_begin(void *impl, hs_error *err)
{
    sq_store *s = impl;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    if (s->in_txn) {
        sq_unlock(s);
        return hs_fail(err, HS_ERR_INVALID,
                       "store: a transaction is already open (nested "
                       "transactions are not supported)");
    }
    hs = sq_exec(s->db, "BEGIN IMMEDIATE", err, "starting a transaction");
    if (hs != HS_OK) {
        sq_unlock(s);
        return hs;
    }
    s->in_txn = 1;
    return HS_OK; /* the lock stays held until commit or rollback */
}

/* Ends the open transaction with COMMIT (commit != 0) or ROLLBACK and
 * releases the lock taken by sq_begin. A failed COMMIT is rolled back. */
static hs_status sq_finish(sq_store *s, int commit, hs_error *err)
{
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    if (!s->in_txn) {
        sq_unlock(s);
        return hs_fail(err, HS_ERR_INVALID, "store: no transaction is open");
    }
    if (commit)
        hs = sq_exec(s->db, "COMMIT", err, "committing a transaction");
    else
        hs = sq_exec(s->db, "ROLLBACK", err, "rolling back a transaction");
    if (!sqlite3_get_autocommit(s->db)) {
        /* COMMIT failed (e.g. busy) or ROLLBACK did: do not leave it open. */
        hs_error ignored;
        (void)sq_exec(s->db, "ROLLBACK", &ignored, "rolling back");
    }
    s->in_txn = 0;
    sq_unlock(s); /* ours */
    sq_unlock(s); /* sq_begin's */
    return hs;
}

static hs_status sq_commit(void *impl, hs_error *err)
{
    return sq_finish(impl, 1, err);
}

static hs_status sq_rollback(void *impl, hs_error *err)
{
    return sq_finish(impl, 0, err);
}

/* ---- users ------------------------------------------------------------- */

/* Runs a bound INSERT and maps its outcome: a UNIQUE violation is
 * HS_ERR_CONFLICT with `conflict` as the message, a FOREIGN KEY violation
 * means user_id does not exist (HS_ERR_NOTFOUND); on success *id_out (may
 * be NULL) receives the new row id. Caller holds the lock. */
static hs_status step_insert(sq_store *s, sqlite3_stmt *st,
                             const char *conflict, hs_id user_id,
                             const char *what, hs_id *id_out, hs_error *err)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE)
        return hs_fail(err, HS_ERR_CONFLICT, "%s", conflict);
    if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
        return hs_fail(err, HS_ERR_NOTFOUND, "user %lld does not exist",
                       (long long)user_id);
    if (rc != SQLITE_DONE)
        return sq_err(s->db, rc, err, what);
    if (id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    return HS_OK;
}

static hs_status sq_user_create(void *impl, hs_user *u, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "INSERT INTO users (username, password_hash, is_admin,"
                    " disabled, created_at, locked_until)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (bind_text(st, 1, u->username) != SQLITE_OK ||
        bind_text(st, 2, u->password_hash) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, u->is_admin != 0) != SQLITE_OK ||
        sqlite3_bind_int(st, 4, u->disabled != 0) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, u->created_at) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, u->locked_until) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a user");
        goto done;
    }
    char conflict[HS_USERNAME_MAX + 32];
    snprintf(conflict, sizeof conflict, "user '%s' already exists", u->username);
    hs = step_insert(s, st, conflict, 0, "creating a user", &u->id, err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

/* One row looked up by ?1 = key: an id when key_text is NULL, else the
 * text. The lock, prepare, bind, read and cleanup every "get" needs. */
static hs_status sq_get_by_key(sq_store *s, const char *sql, hs_id key_id,
                               const char *key_text, row_reader read, void *out,
                               const char *missing, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, sql, &st, err);
    if (hs != HS_OK)
        goto done;
    int rc = key_text ? bind_text(st, 1, key_text)
                      : sqlite3_bind_int64(st, 1, key_id);
    if (rc != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a key");
        goto done;
    }
    hs = read_one(s, st, read, out, err, missing);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_user_get(void *impl, hs_id id, hs_user *out, hs_error *err)
{
    return sq_get_by_key(impl, USER_COLS " WHERE id = ?1", id, NULL, read_user,
                         out, "no such user", err);
}

static hs_status sq_user_get_by_name(void *impl, const char *username,
                                     hs_user *out, hs_error *err)
{
    /* The column has BINARY collation: the match is exact. */
    return sq_get_by_key(impl, USER_COLS " WHERE username = ?1", 0, username,
                         read_user, out, "no such user", err);
}

static hs_status sq_user_list(void *impl, hs_user **items, size_t *n,
                              hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, USER_COLS " ORDER BY id", &st, err);
    if (hs == HS_OK)
        hs = read_all(s, st, read_user, sizeof **items, (void **)items, n, err);
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

/* Runs a fixed "SELECT COUNT(*) ..." without parameters. */
static hs_status sq_count(sq_store *s, const char *sql, int64_t *count,
                          hs_error *err)
{
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, sql, &st, err);
    if (hs == HS_OK)
        hs = read_one(s, st, read_count, count, err, "count returned no row");
    if (hs != HS_OK)
        *count = 0;
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_user_count(void *impl, int64_t *count, hs_error *err)
{
    return sq_count(impl, "SELECT COUNT(*) FROM users", count, err);
}

static hs_status sq_user_count_admins(void *impl, int64_t *count, hs_error *err)
{
    return sq_count(impl,
                    "SELECT COUNT(*) FROM users WHERE is_admin = 1 AND"
                    " disabled = 0",
                    count, err);
}

/* Runs a write statement whose parameters are already bound and reports
 * how many rows it changed. Lock held by the caller. */
static hs_status step_changes(sq_store *s, sqlite3_stmt *st, int64_t *changed,
                              hs_error *err, const char *what)
{
    hs_status hs = step_done(s, st, err, what);
    *changed = hs == HS_OK ? (int64_t)sqlite3_changes64(s->db) : 0;
    return hs;
}

static hs_status sq_user_update(void *impl, const hs_user *u, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    int64_t changed = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "UPDATE users SET password_hash = ?2, is_admin = ?3,"
                    " disabled = ?4, locked_until = ?5 WHERE id = ?1",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, u->id) != SQLITE_OK ||
        bind_text(st, 2, u->password_hash) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, u->is_admin != 0) != SQLITE_OK ||
        sqlite3_bind_int(st, 4, u->disabled != 0) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, u->locked_until) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a user");
        goto done;
    }
    hs = step_changes(s, st, &changed, err, "updating a user");
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "user %lld does not exist",
                     (long long)u->id);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

/* ---- account events ---------------------------------------------------- */

static hs_status sq_event_add(void *impl, hs_id user_id, const char *kind,
                              int64_t at, hs_id *id_out, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "INSERT INTO account_events (user_id, kind, at)"
                    " VALUES (?1, ?2, ?3)",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK ||
        bind_text(st, 2, kind) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, at) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding an event");
        goto done;
    }
    hs = step_insert(s, st, "duplicate account event", user_id,
                     "recording an account event", id_out, err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

/* All rows of `sql` with ?1 bound to `key`, into a malloc'ed array: the
 * lock, prepare, bind, read and cleanup every single-filter list needs. */
static hs_status sq_list_by_int(sq_store *s, const char *sql, int64_t key,
                                row_reader read, size_t elem_size,
                                void **items, size_t *n, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, sql, &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, key) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a filter");
        goto done;
    }
    hs = read_all(s, st, read, elem_size, items, n, err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_event_list(void *impl, hs_id user_id,
                               hs_account_event **items, size_t *n,
                               hs_error *err)
{
    return sq_list_by_int(impl,
                          EVENT_COLS " WHERE ?1 = 0 OR user_id = ?1"
                                     " ORDER BY at DESC, id DESC",
                          user_id, read_event, sizeof **items, (void **)items,
                          n, err);
}

static hs_status sq_event_latest(void *impl, hs_id user_id, const char *kind,
                                 int64_t *at_out, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "SELECT at FROM account_events WHERE user_id = ?1 AND"
                    " kind = ?2 ORDER BY at DESC, id DESC LIMIT 1",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK ||
        bind_text(st, 2, kind) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a query");
        goto done;
    }
    hs = read_one(s, st, read_time, at_out, err, "no such event");
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_login_failures_since(void *impl, hs_id user_id,
                                         int64_t since, int64_t **times,
                                         size_t *n, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "SELECT at FROM account_events WHERE user_id = ?1 AND"
                    " kind = ?2 AND at >= ?3 ORDER BY at, id",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, user_id) != SQLITE_OK ||
        bind_text(st, 2, HS_EVENT_LOGIN_FAILED) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, since) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a query");
        goto done;
    }
    hs = read_all(s, st, read_time, sizeof **times, (void **)times, n, err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

/* ---- sessions ---------------------------------------------------------- */

static hs_status sq_session_create(void *impl, hs_session *sess, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "INSERT INTO sessions (user_id, token_hash, remember,"
                    " created_at, last_seen_at, expires_at)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, sess->user_id) != SQLITE_OK ||
        bind_text(st, 2, sess->token_hash) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, sess->remember != 0) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, sess->created_at) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, sess->last_seen_at) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, sess->expires_at) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a session");
        goto done;
    }
    hs = step_insert(s, st, "a session with this token hash already exists",
                     sess->user_id, "creating a session", &sess->id, err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_session_get_by_token_hash(void *impl,
                                              const char *token_hash,
                                              hs_session *out, hs_error *err)
{
    return sq_get_by_key(impl, SESSION_COLS " WHERE token_hash = ?1", 0,
                         token_hash, read_session, out, "no such session",
                         err);
}

/* Runs `sql` with ?1..?3 bound to a, b, c (only the first n_params used)
 * and reports the number of changed rows in *changed. */
static hs_status sq_write3(sq_store *s, const char *sql, int n_params,
                           int64_t a, int64_t b, int64_t c, int64_t *changed,
                           hs_error *err, const char *what)
{
    sqlite3_stmt *st = NULL;
    const int64_t values[3] = {a, b, c};
    hs_status hs = sq_lock(s, err);
    int i;
    *changed = 0;
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, sql, &st, err);
    if (hs != HS_OK)
        goto done;
    for (i = 0; i < n_params; i++) {
        if (sqlite3_bind_int64(st, i + 1, values[i]) != SQLITE_OK) {
            hs = sq_err(s->db, sqlite3_errcode(s->db), err, what);
            goto done;
        }
    }
    hs = step_changes(s, st, changed, err, what);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_session_touch(void *impl, hs_id id, int64_t last_seen_at,
                                  int64_t expires_at, hs_error *err)
{
    int64_t changed;
    hs_status hs = sq_write3(impl,
                             "UPDATE sessions SET last_seen_at = ?2,"
                             " expires_at = ?3 WHERE id = ?1",
                             3, id, last_seen_at, expires_at, &changed, err,
                             "touching a session");
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "session %lld does not exist",
                     (long long)id);
    return hs;
}

static hs_status sq_session_delete(void *impl, hs_id id, hs_error *err)
{
    int64_t changed;
    hs_status hs = sq_write3(impl, "DELETE FROM sessions WHERE id = ?1", 1, id,
                             0, 0, &changed, err, "deleting a session");
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "session %lld does not exist",
                     (long long)id);
    return hs;
}

static hs_status sq_session_delete_for_user(void *impl, hs_id user_id,
                                            int64_t *removed, hs_error *err)
{
    return sq_write3(impl, "DELETE FROM sessions WHERE user_id = ?1", 1,
                     user_id, 0, 0, removed, err, "deleting a user's sessions");
}

static hs_status sq_session_delete_expired(void *impl, int64_t now,
                                           int64_t *removed, hs_error *err)
{
    return sq_write3(impl, "DELETE FROM sessions WHERE expires_at <= ?1", 1,
                     now, 0, 0, removed, err, "deleting expired sessions");
}

/* ---- notifications ----------------------------------------------------- */

static hs_status sq_notification_add(void *impl, const char *kind,
                                     const char *message, hs_id user_id,
                                     int64_t at, hs_id *id_out, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "INSERT INTO notifications (kind, message, user_id,"
                    " created_at, read) VALUES (?1, ?2, ?3, ?4, 0)",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (bind_text(st, 1, kind) != SQLITE_OK ||
        bind_text(st, 2, message) != SQLITE_OK ||
        bind_id_or_null(st, 3, user_id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, at) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err,
                    "binding a notification");
        goto done;
    }
    hs = step_insert(s, st, "duplicate notification", user_id,
                     "adding a notification", id_out, err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_notification_list(void *impl, int unread_only,
                                      hs_notification **items, size_t *n,
                                      hs_error *err)
{
    return sq_list_by_int(impl,
                          NOTIFICATION_COLS " WHERE ?1 = 0 OR read = 0"
                                            " ORDER BY created_at DESC, id DESC",
                          unread_only != 0, read_notification, sizeof **items,
                          (void **)items, n, err);
}

static hs_status sq_notification_mark_read(void *impl, hs_id id, hs_error *err)
{
    int64_t changed;
    hs_status hs =
        sq_write3(impl, "UPDATE notifications SET read = 1 WHERE id = ?1", 1,
                  id, 0, 0, &changed, err, "marking a notification read");
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "notification %lld does not exist",
                     (long long)id);
    return hs;
}

/* ---- datasets ---------------------------------------------------------- */

/* The access rule of store.h, shared by every query that takes a viewer:
 * ?2 is the viewer's id, ?3 is 1 when the viewer is an admin. */
#define DATASET_VISIBLE "(?3 = 1 OR owner_id = ?2)"

/* Binds text, or NULL for a NULL pointer (for optional text). */
static int bind_text_or_null(sqlite3_stmt *st, int idx, const char *text)
{
    return text ? bind_text(st, idx, text) : sqlite3_bind_null(st, idx);
}

static hs_status sq_dataset_create(void *impl, hs_dataset_rec *d, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    char conflict[HS_STORE_BLOB_KEY_MAX + 48];
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "INSERT INTO datasets (owner_id, name, blob_key,"
                    " size_bytes, rows, features, profile_json, created_at,"
                    " deleted_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, d->owner_id) != SQLITE_OK ||
        bind_text(st, 2, d->name) != SQLITE_OK ||
        bind_text(st, 3, d->blob_key) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, d->size_bytes) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, d->rows) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, d->features) != SQLITE_OK ||
        bind_text_or_null(st, 7, d->profile_json) != SQLITE_OK ||
        sqlite3_bind_int64(st, 8, d->created_at) != SQLITE_OK ||
        sqlite3_bind_int64(st, 9, d->deleted_at) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a dataset");
        goto done;
    }
    snprintf(conflict, sizeof conflict,
             "a dataset with blob key '%s' already exists", d->blob_key);
    hs = step_insert(s, st, conflict, d->owner_id, "creating a dataset", &d->id,
                     err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_dataset_get(void *impl, hs_id id, hs_id viewer_id,
                                int viewer_is_admin, hs_dataset_rec *out,
                                hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    char missing[64];
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, DATASET_COLS " WHERE id = ?1 AND " DATASET_VISIBLE, &st,
                    err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, viewer_id) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, viewer_is_admin != 0) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding an id");
        goto done;
    }
    snprintf(missing, sizeof missing, "dataset %lld does not exist",
             (long long)id);
    hs = read_one(s, st, read_dataset, out, err, missing);
    if (hs != HS_OK)
        hs_dataset_rec_free(out);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_dataset_list(void *impl, hs_id viewer_id,
                                 int viewer_is_admin, int include_deleted,
                                 hs_dataset_rec **items, size_t *n,
                                 hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    DATASET_COLS " WHERE " DATASET_VISIBLE
                                 " AND (?1 = 1 OR deleted_at = 0)"
                                 " ORDER BY created_at DESC, id DESC",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int(st, 1, include_deleted != 0) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, viewer_id) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, viewer_is_admin != 0) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a filter");
        goto done;
    }
    hs = read_all_owning(s, st, read_dataset, release_dataset, sizeof **items,
                         (void **)items, n, err);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_dataset_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                        int viewer_is_admin, int64_t deleted_at,
                                        hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    int64_t changed = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "UPDATE datasets SET deleted_at = ?4"
                    " WHERE id = ?1 AND " DATASET_VISIBLE,
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, viewer_id) != SQLITE_OK ||
        sqlite3_bind_int(st, 3, viewer_is_admin != 0) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, deleted_at) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a dataset");
        goto done;
    }
    /* An UPDATE counts every row its WHERE matched, changed or not. */
    hs = step_changes(s, st, &changed, err, "trashing a dataset");
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld does not exist",
                     (long long)id);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

static hs_status sq_dataset_set_profile(void *impl, hs_id id,
                                        const char *profile_json, int64_t rows,
                                        int64_t features, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    int64_t changed = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s,
                    "UPDATE datasets SET profile_json = ?2, rows = ?3,"
                    " features = ?4 WHERE id = ?1",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        bind_text_or_null(st, 2, profile_json) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, rows) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, features) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a profile");
        goto done;
    }
    hs = step_changes(s, st, &changed, err, "storing a dataset profile");
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld does not exist",
                     (long long)id);
done:
    sqlite3_finalize(st);
    sq_unlock(s);
    return hs;
}

/* DELETE ... RETURNING does its deleting on the first step; the savepoint
 * makes "rows gone" and "keys handed back" one outcome, so a failure while
 * collecting the keys (out of memory) cannot lose a key whose row is gone.
 * A savepoint also nests inside the caller's hs_store_begin transaction. */
static hs_status sq_dataset_purge(void *impl, int64_t deleted_before,
                                  char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                  size_t *n, hs_error *err)
{
    sq_store *s = impl;
    sqlite3_stmt *st = NULL;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_exec(s->db, "SAVEPOINT dataset_purge", err, "starting a purge");
    if (hs != HS_OK)
        goto unlock;
    hs = sq_prepare(s,
                    "DELETE FROM datasets WHERE deleted_at > 0 AND"
                    " deleted_at < ?1 RETURNING blob_key",
                    &st, err);
    if (hs != HS_OK)
        goto done;
    if (sqlite3_bind_int64(st, 1, deleted_before) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a cutoff");
        goto done;
    }
    hs = read_all(s, st, read_blob_key, sizeof **keys, (void **)keys, n, err);
done:
    sqlite3_finalize(st);
    if (hs == HS_OK) {
        hs = sq_exec(s->db, "RELEASE dataset_purge", err, "ending a purge");
        if (hs != HS_OK) {
            free(*keys);
            *keys = NULL;
            *n = 0;
        }
    }
    if (hs != HS_OK) {
        hs_error ignored;
        (void)sq_exec(s->db, "ROLLBACK TO dataset_purge; RELEASE dataset_purge",
                      &ignored, "rolling back a purge");
    }
unlock:
    sq_unlock(s);
    return hs;
}

/* ---- open / close ------------------------------------------------------ */

static void sq_close(hs_store *store)
{
    sq_store *s = store->impl;
    if (s->in_txn) {
        /* The caller is the transaction's thread (store.h), so it holds
         * the lock sq_begin took: roll back and release it. */
        hs_error ignored;
        (void)sq_exec(s->db, "ROLLBACK", &ignored, "rolling back");
        s->in_txn = 0;
        sq_unlock(s);
    }
    /* Every statement is finalized by the call that made it, so close
     * cannot be refused for pending statements. */
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
    free(store);
}

static const hs_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .user_create = sq_user_create,
    .user_get = sq_user_get,
    .user_get_by_name = sq_user_get_by_name,
    .user_list = sq_user_list,
    .user_count = sq_user_count,
    .user_count_admins = sq_user_count_admins,
    .user_update = sq_user_update,
    .event_add = sq_event_add,
    .event_list = sq_event_list,
    .event_latest = sq_event_latest,
    .login_failures_since = sq_login_failures_since,
    .session_create = sq_session_create,
    .session_get_by_token_hash = sq_session_get_by_token_hash,
    .session_touch = sq_session_touch,
    .session_delete = sq_session_delete,
    .session_delete_for_user = sq_session_delete_for_user,
    .session_delete_expired = sq_session_delete_expired,
    .notification_add = sq_notification_add,
    .notification_list = sq_notification_list,
    .notification_mark_read = sq_notification_mark_read,
    .dataset_create = sq_dataset_create,
    .dataset_get = sq_dataset_get,
    .dataset_list = sq_dataset_list,
    .dataset_set_deleted = sq_dataset_set_deleted,
    .dataset_set_profile = sq_dataset_set_profile,
    .dataset_purge = sq_dataset_purge,
};

/* Reads the newest applied schema version into *version (0 for a database
 * without a schema_migrations table, e.g. a new file). Writes nothing. */
static hs_status schema_version(sq_store *s, int64_t *version, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    hs_status hs;
    int rc;

    *version = 0;
    hs = sq_prepare(s,
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'schema_migrations'",
                    &st, err);
    if (hs != HS_OK)
        return hs;
    hs = read_one(s, st, read_count, version, err, "no row");
    sqlite3_finalize(st);
    st = NULL;
    if (hs != HS_OK || *version == 0)
        return hs;
    hs = sq_prepare(
        s, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", &st, err);
    if (hs != HS_OK)
        return hs;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int64(st, 0);
    else
        hs = sq_err(s->db, rc, err, "reading the schema version");
    sqlite3_finalize(st);
    return hs;
}

/* Applies migration `version` (1-based) unless it is already recorded -
 * another process may have got there first - in its own transaction. */
static hs_status apply_migration(sq_store *s, int version, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    hs_status hs;
    int rc, applied;
    char what[64];

    hs = sq_exec(s->db, "BEGIN IMMEDIATE", err, "starting a migration");
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, "SELECT 1 FROM schema_migrations WHERE version = ?1",
                    &st, err);
    if (hs != HS_OK)
        goto fail;
    if (sqlite3_bind_int(st, 1, version) != SQLITE_OK) {
        hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding a version");
        goto fail;
    }
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        hs = sq_err(s->db, rc, err, "reading applied migrations");
        goto fail;
    }
    applied = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    st = NULL;
    if (!applied) {
        snprintf(what, sizeof what, "applying schema migration %d", version);
        hs = sq_exec(s->db, migrations[version - 1], err, what);
        if (hs != HS_OK)
            goto fail;
        hs = sq_prepare(s,
                        "INSERT INTO schema_migrations (version, applied_at)"
                        " VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER))",
                        &st, err);
        if (hs != HS_OK)
            goto fail;
        if (sqlite3_bind_int(st, 1, version) != SQLITE_OK) {
            hs = sq_err(s->db, sqlite3_errcode(s->db), err, "binding");
            goto fail;
        }
        hs = step_done(s, st, err, "recording a migration");
        if (hs != HS_OK)
            goto fail;
        sqlite3_finalize(st);
        st = NULL;
    }
    hs = sq_exec(s->db, "COMMIT", err, "committing a migration");
    if (hs != HS_OK)
        goto fail;
    return HS_OK;

fail:
    sqlite3_finalize(st);
    if (!sqlite3_get_autocommit(s->db)) {
        hs_error ignored;
        (void)sq_exec(s->db, "ROLLBACK", &ignored, "rolling back");
    }
    return hs;
}

/* Sets journal_mode=WAL and checks that it took (an in-memory database
 * reports "memory", which is accepted). */
static hs_status enable_wal(sq_store *s, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    hs_status hs = sq_prepare(s, "PRAGMA journal_mode = WAL", &st, err);
    int rc;
    if (hs != HS_OK)
        return hs;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        hs = sq_err(s->db, rc, err, "enabling WAL mode");
        goto done;
    }
    mode = sqlite3_column_text(st, 0);
    if (!mode || (strcmp((const char *)mode, "wal") != 0 &&
                  strcmp((const char *)mode, "memory") != 0))
        hs = hs_fail(err, HS_ERR_IO, "cannot enable WAL mode (journal mode %s)",
                     mode ? (const char *)mode : "unknown");
done:
    sqlite3_finalize(st);
    return hs;
}

hs_status hs_store_sqlite_open(const char *path, hs_store **out, hs_error *err)
{
    hs_store *store = NULL;
    sq_store *s = NULL;
    pthread_mutexattr_t attr;
    int64_t version = 0;
    int rc, v, mutex_ok = 0;
    hs_status hs;

    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "store open: missing argument");
    *out = NULL;
    if (!path || !path[0])
        return hs_fail(err, HS_ERR_INVALID, "store open: empty path");

    store = calloc(1, sizeof *store);
    s = calloc(1, sizeof *s);
    if (!store || !s) {
        hs = hs_fail(err, HS_ERR_NOMEM, "store open: out of memory");
        goto fail;
    }
    if (pthread_mutexattr_init(&attr) != 0) {
        hs = hs_fail(err, HS_ERR_INTERNAL, "store open: mutex attributes");
        goto fail;
    }
    rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (rc == 0)
        rc = pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        hs = hs_fail(err, HS_ERR_INTERNAL, "store open: cannot create a lock");
        goto fail;
    }
    mutex_ok = 1;

    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_FULLMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        hs = s->db ? hs_fail(err, rc == SQLITE_NOMEM ? HS_ERR_NOMEM : HS_ERR_IO,
                             "cannot open database %s: %s", path,
                             sqlite3_errmsg(s->db))
                   : hs_fail(err, HS_ERR_NOMEM, "cannot open database %s: %s",
                             path, sqlite3_errstr(rc));
        goto fail;
    }
    rc = sqlite3_extended_result_codes(s->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(s->db, 5000);
    if (rc != SQLITE_OK) {
        hs = sq_err(s->db, rc, err, "configuring the database");
        goto fail;
    }
    hs = sq_exec(s->db, "PRAGMA foreign_keys = ON", err,
                 "enabling foreign keys");
    if (hs != HS_OK)
        goto fail;

    /* Check the version before changing anything (even the journal mode):
     * a newer healer's database must be left exactly as it was. */
    hs = schema_version(s, &version, err);
    if (hs != HS_OK) {
        /* e.g. "file is not a database": name the file. */
        char inner[sizeof err->message];
        if (err) {
            snprintf(inner, sizeof inner, "%s", err->message);
            hs = hs_fail(err, hs, "database %s: %s", path, inner);
        }
        goto fail;
    }
    if (version > N_MIGRATIONS) {
        hs = hs_fail(err, HS_ERR_INVALID,
                     "database schema version %lld is newer than this healer "
                     "(%d); upgrade healer",
                     (long long)version, N_MIGRATIONS);
        goto fail;
    }

    hs = enable_wal(s, err);
    if (hs != HS_OK)
        goto fail;
    hs = sq_exec(s->db, "PRAGMA synchronous = NORMAL", err,
                 "setting synchronous mode");
    if (hs != HS_OK)
        goto fail;
    hs = sq_exec(s->db,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 "  version INTEGER PRIMARY KEY,"
                 "  applied_at INTEGER NOT NULL)",
                 err, "creating the migrations table");
    if (hs != HS_OK)
        goto fail;
    for (v = (int)version + 1; v <= N_MIGRATIONS; v++) {
        hs = apply_migration(s, v, err);
        if (hs != HS_OK)
            goto fail;
    }

    store->ops = &sq_ops;
    store->impl = s;
    *out = store;
    return HS_OK;

fail:
    if (s) {
        if (s->db)
            sqlite3_close(s->db);
        if (mutex_ok)
            pthread_mutex_destroy(&s->lock);
    }
    free(s);
    free(store);
    return hs;
}
