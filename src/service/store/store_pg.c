/* store/store_pg.c - the PostgreSQL backend of the record store (store.h):
 * opening by URL, the schema's migrations, transactions, ping, the
 * statement helpers the backend's files share (store_pg_internal.h), the
 * users, and the table of operations.
 *
 * How it is built: every statement goes through the helpers of
 * store_pg_sql.c on pg/pg.h (a pool of libpq
 * connections, parameters bound by letter, SQLSTATEs as error codes), so a
 * store may be used from any number of threads and processes at once; a
 * transaction (hs_store_transact) is one pooled connection held by the
 * calling thread for the callback's duration - other threads keep their
 * own connections and see its writes only once it commits. Each statement
 * inside a transaction runs under a savepoint (pg.c), so a failed
 * operation leaves the rest of the transaction going on, as SQLite does.
 *
 * The resources live in their own files: accounts (events, sessions,
 * notifications, prefs, logins, outbox, sealed, audit, tallies, blob
 * references, settings) in store_pg_accounts.c, datasets, models,
 * diagnoses, topologies and analyses in store_pg_data.c, the job queue in
 * store_pg_jobs.c; the schema in store_pg_schema.c.
 *
 * Deliberately absent: reading the clock (callers pass every time in; only
 * a migration's applied_at comes from the server's clock) and building
 * SQL from caller text (every value is a bound parameter).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg.h"
#include "store/store_pg_internal.h"

/* The advisory lock that serialises migrations across processes: any
 * 64-bit constant unlikely to be chosen by another application sharing the
 * database ("healer" in ASCII). */
#define MIGRATION_LOCK "114784635479410"

/* ---- transactions and ping ------------------------------------------------
 */

typedef struct txn_call {
    hs_store *store;
    hs_store_txn_fn fn;
    void *arg;
} txn_call;

static hs_status txn_body(void *arg, hs_error *err)
{
    txn_call *c = arg;
    return c->fn(c->store, c->arg, err);
}

/* hs_store_transact's contract on hs_pg_transact: the calling thread's
 * operations run in it, nesting is refused (HS_ERR_INVALID). */
static hs_status pgs_transact(hs_store *store, hs_store_txn_fn fn, void *arg,
                              hs_error *err)
{
    pg_store *s = store->impl;
    txn_call c = {store, fn, arg};
    if (hs_pg_in_transaction(s->pg))
        return hs_fail(err, HS_ERR_INVALID,
                       "store: a transaction is already open (transactions "
                       "do not nest)");
    return hs_pg_transact_retry(s->pg, txn_body, &c, err);
}

/* Reads the schema's version: the server answers, and the store's tables
 * are there. Inside the caller's transaction it runs there. */
static hs_status pgs_ping(void *impl, hs_error *err)
{
    pg_store *s = impl;
    int64_t version = 0;
    return pgs_get_one(s, pgs_read_int, &version, "no schema version", err,
                       "SELECT COALESCE(MAX(version), 0) FROM"
                       " schema_migrations",
                       "");
}

/* ---- users ------------------------------------------------------------- */

#define USER_COLS                                                              \
    "SELECT id, username, password_hash, is_admin, disabled, created_at,"      \
    " locked_until, email FROM users"

static const pgs_col USER_READ[] = {
    PGS_COL(PGS_I64, hs_user, id, "user id"),
    PGS_COL(PGS_TEXT, hs_user, username, "username"),
    PGS_COL(PGS_TEXT, hs_user, password_hash, "password hash"),
    PGS_COL(PGS_FLAG, hs_user, is_admin, "is_admin"),
    PGS_COL(PGS_FLAG, hs_user, disabled, "disabled"),
    PGS_COL(PGS_I64, hs_user, created_at, "created_at"),
    PGS_COL(PGS_I64, hs_user, locked_until, "locked_until"),
    PGS_COL(PGS_TEXT, hs_user, email, "e-mail"),
};

static hs_status read_user(const hs_pg_result *r, int row, void *dst,
                           hs_error *err)
{
    return PGS_READ(r, row, dst, hs_user, USER_READ, err);
}

static hs_status pg_user_create(void *impl, hs_user *u, hs_error *err)
{
    char conflict[HS_USERNAME_MAX + 32];
    snprintf(conflict, sizeof conflict, "user '%s' already exists",
             u->username);
    return pgs_insert(impl, &u->id, conflict, NULL, err, "creating a user",
                      "INSERT INTO users (username, password_hash, is_admin,"
                      " disabled, created_at, locked_until, email)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                      "ttbbiit", u->username, u->password_hash, u->is_admin,
                      u->disabled, u->created_at, u->locked_until, u->email);
}

static hs_status pg_user_get(void *impl, hs_id id, hs_user *out, hs_error *err)
{
    return pgs_get_one(impl, read_user, out, "no such user", err,
                       USER_COLS " WHERE id = $1", "i", id);
}

static hs_status pg_user_get_by_name(void *impl, const char *username,
                                     hs_user *out, hs_error *err)
{
    return pgs_get_one(impl, read_user, out, "no such user", err,
                       USER_COLS " WHERE username = $1", "t", username);
}

static hs_status pg_user_list(void *impl, hs_user **items, size_t *n,
                              hs_error *err)
{
    return pgs_list(impl, read_user, NULL, sizeof **items, (void **)items, n,
                    err, USER_COLS " ORDER BY id", "");
}

static hs_status pg_user_count(void *impl, int64_t *count, hs_error *err)
{
    return pgs_get_one(impl, pgs_read_int, count, "count returned no row", err,
                       "SELECT COUNT(*) FROM users", "");
}

static hs_status pg_user_count_admins(void *impl, int64_t *count, hs_error *err)
{
    return pgs_get_one(impl, pgs_read_int, count, "count returned no row", err,
                       "SELECT COUNT(*) FROM users WHERE is_admin = 1 AND"
                       " disabled = 0",
                       "");
}

static hs_status pg_user_update(void *impl, const hs_user *u, hs_error *err)
{
    return pgs_run_one(impl, "user", u->id, err, "updating a user",
                       "UPDATE users SET password_hash = $2, is_admin = $3,"
                       " disabled = $4, locked_until = $5, email = $6"
                       " WHERE id = $1",
                       "itbbit", u->id, u->password_hash, u->is_admin,
                       u->disabled, u->locked_until, u->email);
}

const hs_store_user_ops hs_pg_users = {
    .create = pg_user_create,
    .get = pg_user_get,
    .get_by_name = pg_user_get_by_name,
    .list = pg_user_list,
    .count = pg_user_count,
    .count_admins = pg_user_count_admins,
    .update = pg_user_update,
};

/* ---- the backend -------------------------------------------------------- */

static void pgs_close(hs_store *store)
{
    pg_store *s = store->impl;
    hs_pg_close(s->pg);
    free(s);
    free(store);
}

static const hs_store_ops pg_ops = {
    .version = HS_STORE_OPS_VERSION,
    .name = "postgresql",
    .close = pgs_close,
    .transact = pgs_transact,
    .users = &hs_pg_users,
    .events = &hs_pg_events,
    .sessions = &hs_pg_sessions,
    .notifications = &hs_pg_notifications,
    .prefs = &hs_pg_prefs,
    .datasets = &hs_pg_datasets,
    .models = &hs_pg_models,
    .jobs = &hs_pg_jobs,
    .diagnoses = &hs_pg_diagnoses,
    .topologies = &hs_pg_topologies,
    .analyses = &hs_pg_analyses,
    .logins = &hs_pg_logins,
    .outbox = &hs_pg_outbox,
    .ping = pgs_ping,
    .sealed = &hs_pg_sealed,
    .audit = &hs_pg_audit,
    .tallies = &hs_pg_tallies,
    .blob_refs = &hs_pg_blob_refs,
    .settings = &hs_pg_settings,
};

int hs_store_pg_schema_version(void)
{
    return pg_schema_version;
}

/* ---- migrations -----------------------------------------------------------
 */

typedef struct migrate_call {
    pg_store *s;
} migrate_call;

static hs_status apply_migration(pg_store *s, int version, hs_error *err)
{
    const pg_migration *m = &pg_migrations[version - 1];
    char what[64];
    hs_status st = HS_OK;
    snprintf(what, sizeof what, "applying schema migration %d", version);
    for (size_t i = 0; i < m->n_steps && st == HS_OK; i++)
        st = hs_pg_exec_script(s->pg, err, what, m->steps[i]);
    if (st == HS_OK)
        st = pgs_run(s, NULL, err, "recording a migration",
                     "INSERT INTO schema_migrations (version, applied_at)"
                     " VALUES ($1, EXTRACT(EPOCH FROM now())::BIGINT)",
                     "i", (int64_t)version);
    return st;
}

/* In one transaction, under the advisory lock: read the version, refuse a
 * newer one, apply what is missing. A second instance waits on the lock,
 * then finds everything applied. */
static hs_status migrate_body(void *arg, hs_error *err)
{
    migrate_call *c = arg;
    int64_t version = 0;
    hs_status st =
        hs_pg_exec_script(c->s->pg, err, "taking the migration lock",
                          "SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ");"
                          "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          "  version BIGINT PRIMARY KEY,"
                          "  applied_at BIGINT NOT NULL)");
    if (st == HS_OK)
        st = pgs_get_one(c->s, pgs_read_int, &version, "no row", err,
                         "SELECT COALESCE(MAX(version), 0) FROM"
                         " schema_migrations",
                         "");
    if (st != HS_OK)
        return st;
    if (version > pg_schema_version)
        return hs_fail(err, HS_ERR_INVALID,
                       "database schema version %lld is newer than this "
                       "healer (%d); upgrade healer",
                       (long long)version, pg_schema_version);
    for (int v = (int)version + 1; v <= pg_schema_version && st == HS_OK; v++)
        st = apply_migration(c->s, v, err);
    return st;
}

/* A database that already has a schema_migrations table of a newer healer
 * must be left exactly as it was: the CREATE ... IF NOT EXISTS above
 * changes nothing then, and the refusal rolls everything back. */
static hs_status migrate(pg_store *s, hs_error *err)
{
    migrate_call c = {s};
    return hs_pg_transact(s->pg, migrate_body, &c, err);
}

/* ---- open ------------------------------------------------------------- */

hs_status hs_store_pg_open(const char *url, hs_store **out, hs_error *err)
{
    hs_store *store = NULL;
    pg_store *s = NULL;
    hs_status st;
    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "store open: missing argument");
    *out = NULL;
    store = calloc(1, sizeof *store);
    s = calloc(1, sizeof *s);
    if (!store || !s) {
        st = hs_fail(err, HS_ERR_NOMEM, "store open: out of memory");
        goto fail;
    }
    st = hs_pg_open(url, "store", &s->pg, err);
    if (st != HS_OK)
        goto fail;
    st = migrate(s, err);
    if (st != HS_OK)
        goto fail;
    store->ops = &pg_ops;
    store->impl = s;
    *out = store;
    return HS_OK;
fail:
    if (s)
        hs_pg_close(s->pg);
    free(s);
    free(store);
    return st;
}

hs_status hs_store_pg_open_rest(const char *rest, hs_store **out, hs_error *err)
{
    char *url;
    hs_status st;
    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "store open: missing argument");
    *out = NULL;
    if (!rest || strncmp(rest, "//", 2) != 0)
        return hs_fail(err, HS_ERR_INVALID,
                       "a PostgreSQL store URL looks like "
                       "postgresql://USER@HOST:PORT/DB");
    url = malloc(strlen(rest) + sizeof "postgresql:");
    if (!url)
        return hs_fail(err, HS_ERR_NOMEM, "store open: out of memory");
    sprintf(url, "postgresql:%s", rest);
    st = hs_store_pg_open(url, out, err);
    free(url);
    return st;
}
