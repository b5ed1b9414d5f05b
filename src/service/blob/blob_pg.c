/* blob/blob_pg.c - the PostgreSQL backend of the blob store (see blob.h):
 * stored files in a database, so that web instances and workers on
 * several machines share them without a shared file system.
 *
 * Two tables of its own (blob_store_*, with their own migrations table,
 * so that it can live in the record store's database or in another):
 *     blob_store_blobs   one row per writer: id, key, size, chunk size,
 *                        committed, written_at (ns, the writer's clock)
 *     blob_store_chunks  (blob id, index) -> bytea of chunk_bytes bytes
 *                        (the last chunk shorter; none for an empty blob)
 * A writer inserts its row uncommitted at open and a chunk each time its
 * buffer of HS_BLOB_PG_CHUNK bytes fills, each chunk in its own short
 * statement (a connection is held only for that). Readers, exists, each
 * and delete see committed rows only, so nothing of a writer is visible
 * under its key before commit. Commit, in one transaction, writes the
 * last chunk and flips `committed` (a partial unique index on the key of
 * committed rows refuses a second blob under one key: HS_ERR_CONFLICT);
 * PostgreSQL's commit is durable (WAL fsync), as blob.h asks. A writer
 * that dies leaves an uncommitted row with its chunks: sweep_temps
 * deletes those not written since the cutoff (the chunks go with them,
 * ON DELETE CASCADE), like the directory backend's temporary files.
 * writer_replace commits by deleting the old committed row and flipping
 * the new one in the same transaction: readers see the old or the new
 * blob, never a mix.
 *
 * Why chunked rows rather than large objects: a large object needs
 * lo_* calls inside a transaction for every read and write (a writer
 * would hold a connection and a transaction for the whole upload),
 * is not removed with its row (vacuumlo or triggers), is dumped and
 * permissioned apart from tables, and its pages are 2 KiB rows of
 * pg_largeobject anyway. Rows of 1 MiB keep every statement short,
 * deletion and replication ordinary, and a reader fetches only the
 * chunks a read touches. docs/benchmarks.md ("Blobs in PostgreSQL")
 * has both measured. The chunks' column is STORAGE EXTERNAL: what is
 * stored is encrypted (blob_crypt.c), so compressing it is wasted work.
 *
 * Memory is bounded whatever a blob's size: a writer holds one chunk, a
 * reader the last chunk it fetched (sequential reads fetch each chunk
 * once).
 *
 * Deliberately not done: reading a range of a chunk with substring()
 * (a read of a few bytes still fetches its chunk: the encrypting layer
 * above reads 64 KiB at a time, and sequential reads are the common
 * case), and keeping a connection per writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob/blob.h"
#include "pg/pg.h"

/* The schema's migrations, in order; each runs once, in the transaction
 * that records it in blob_store_migrations. Append only. */
static const char *const MIGRATIONS[] = {
    /* 1: the blobs and their chunks */
    "CREATE TABLE blob_store_blobs ("
    " id bigserial PRIMARY KEY,"
    " key text NOT NULL,"
    " size bigint NOT NULL DEFAULT 0 CHECK (size >= 0),"
    " chunk_bytes integer NOT NULL CHECK (chunk_bytes > 0),"
    " committed boolean NOT NULL DEFAULT false,"
    " written_at bigint NOT NULL);"
    "CREATE UNIQUE INDEX blob_store_blobs_key ON blob_store_blobs (key)"
    " WHERE committed;"
    "CREATE INDEX blob_store_blobs_pending ON blob_store_blobs (written_at)"
    " WHERE NOT committed;"
    "CREATE TABLE blob_store_chunks ("
    " blob bigint NOT NULL REFERENCES blob_store_blobs (id) ON DELETE CASCADE,"
    " idx integer NOT NULL CHECK (idx >= 0),"
    " data bytea NOT NULL,"
    " PRIMARY KEY (blob, idx));"
    "ALTER TABLE blob_store_chunks ALTER COLUMN data SET STORAGE EXTERNAL;",
};
#define N_MIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

/* Serialises schema changes of every process opening the blob store on
 * one database (pg_advisory_xact_lock of its hash). */
#define SCHEMA_LOCK "healer blob store schema"
/* Committed blobs listed per statement by each (keyset paging). */
#define EACH_PAGE 1000

typedef struct pg_store {
    hs_blob_store base; /* base.impl points back here */
    hs_pg *pg;          /* thread-safe pool; the store is immutable */
} pg_store;

typedef struct pg_writer {
    hs_blob_writer base; /* must be first: blob.h dispatches through it */
    pg_store *s;
    int64_t id;         /* its row in blob_store_blobs */
    int failed;         /* a write failed: only abort is allowed now */
    int replace;        /* commit replaces the committed blob base.key */
    size_t max_bytes;   /* 0 = unlimited */
    uint64_t written;   /* bytes accepted */
    uint64_t flushed;   /* bytes in chunk rows */
    int32_t next_index; /* of the next chunk row */
    size_t fill;        /* bytes in buf */
    uint8_t *buf;       /* HS_BLOB_PG_CHUNK bytes */
} pg_writer;

typedef struct pg_reader {
    hs_blob_reader base; /* must be first */
    pg_store *s;
    int64_t id;
    uint64_t chunk_bytes;
    int64_t cached; /* index of the chunk in cache, -1 = none */
    uint8_t *cache; /* that chunk's bytes (hs_pg_bytes) */
    size_t cached_len;
    char key[HS_BLOB_KEY_MAX];
} pg_reader;

static const hs_blob_ops pg_ops;
static const hs_blob_reader_ops pg_reader_ops;

/* Now in ns since the epoch, the system clock's (as file times are). */
static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* ---- opening: the schema ------------------------------------------------- */

static hs_status migrate(void *arg, hs_error *err)
{
    pg_store *s = arg;
    hs_pg_result *res = NULL;
    hs_status st = hs_pg_query(
        s->pg, NULL, NULL, err, "blob store: schema lock",
        "SELECT pg_advisory_xact_lock(hashtext($1))", "t", SCHEMA_LOCK);
    if (st == HS_OK)
        st = hs_pg_exec_script(
            s->pg, err, "blob store: migrations table",
            "CREATE TABLE IF NOT EXISTS blob_store_migrations ("
            " version integer PRIMARY KEY,"
            " applied_at timestamptz NOT NULL DEFAULT now())");
    if (st == HS_OK)
        st = hs_pg_query(s->pg, &res, NULL, err, "blob store: schema version",
                         "SELECT coalesce(max(version), 0) FROM "
                         "blob_store_migrations",
                         "");
    int64_t version = st == HS_OK ? hs_pg_int(res, 0, 0) : 0;
    hs_pg_result_free(res);
    if (st == HS_OK && version > N_MIGRATIONS)
        st = hs_fail(err, HS_ERR_INVALID,
                     "blob store: the database's blob schema is at version "
                     "%lld, newer than this build's %d: upgrade healer",
                     (long long)version, N_MIGRATIONS);
    for (int64_t v = version + 1; st == HS_OK && v <= N_MIGRATIONS; v++) {
        st = hs_pg_exec_script(s->pg, err, "blob store: migration",
                               MIGRATIONS[v - 1]);
        if (st == HS_OK)
            st = hs_pg_query(s->pg, NULL, NULL, err,
                             "blob store: recording a migration",
                             "INSERT INTO blob_store_migrations (version) "
                             "VALUES ($1)",
                             "i", v);
    }
    return st;
}

hs_status hs_blob_pg_open(const char *url, hs_blob_store **out, hs_error *err)
{
    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "blob store: missing argument");
    *out = NULL;
    pg_store *s = calloc(1, sizeof *s);
    if (!s)
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    s->base.ops = &pg_ops;
    s->base.impl = s;
    hs_status st = hs_pg_open(url, "blobs", &s->pg, err);
    if (st == HS_OK)
        st = hs_pg_transact(s->pg, migrate, s, err);
    if (st != HS_OK) {
        pg_ops.close(&s->base);
        return st;
    }
    *out = &s->base;
    return HS_OK;
}

static void pg_close(hs_blob_store *store)
{
    pg_store *s = store->impl;
    hs_pg_close(s->pg);
    free(s);
}

/* ---- writing ------------------------------------------------------------- */

/* A writer of a new row under `key`, uncommitted. */
static hs_status writer_start(pg_store *s, const char *key, size_t max_bytes,
                              int replace, hs_blob_writer **w_out,
                              hs_error *err)
{
    hs_pg_result *res = NULL;
    pg_writer *w = calloc(1, sizeof *w);
    uint8_t *buf = malloc(HS_BLOB_PG_CHUNK);
    if (!w || !buf) {
        free(w);
        free(buf);
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    }
    hs_status st = hs_pg_query(
        s->pg, &res, NULL, err, "blob store: cannot start a blob",
        "INSERT INTO blob_store_blobs (key, chunk_bytes, written_at) "
        "VALUES ($1, $2, $3) RETURNING id",
        "tii", key, (int64_t)HS_BLOB_PG_CHUNK, now_ns());
    if (st == HS_OK && hs_pg_rows(res) != 1)
        st = hs_fail(err, HS_ERR_IO, "blob store: starting a blob gave no id");
    if (st != HS_OK) {
        hs_pg_result_free(res);
        free(w);
        free(buf);
        return st;
    }
    w->id = hs_pg_int(res, 0, 0);
    hs_pg_result_free(res);
    w->base.ops = &pg_ops;
    snprintf(w->base.key, sizeof w->base.key, "%s", key);
    w->s = s;
    w->buf = buf;
    w->max_bytes = max_bytes;
    w->replace = replace;
    *w_out = &w->base;
    return HS_OK;
}

static hs_status pg_writer_open(void *impl, const char *kind, size_t max_bytes,
                                hs_blob_writer **w_out, hs_error *err)
{
    char hex[HS_BLOB_ID_HEX + 1], key[HS_BLOB_KEY_MAX];
    hs_status st = hs_blob__random_id(hex, err);
    if (st != HS_OK)
        return st;
    snprintf(key, sizeof key, "%s/%s", kind, hex);
    return writer_start(impl, key, max_bytes, 0, w_out, err);
}

static hs_status pg_writer_replace(void *impl, const char *key,
                                   hs_blob_writer **w_out, hs_error *err)
{
    return writer_start(impl, key, 0, 1, w_out, err);
}

/* HS_OK when the statement `res` updated the writer's own row; else
 * HS_ERR_NOTFOUND: the row went away under the writer (swept as
 * abandoned after a stall, or deleted by hand). */
static hs_status still_there(const pg_writer *w, const hs_pg_result *res,
                             hs_error *err)
{
    return hs_pg_affected(res) == 1
               ? HS_OK
               : hs_fail(err, HS_ERR_NOTFOUND,
                         "blob store: the blob being written as %s was "
                         "removed (swept as abandoned?)",
                         w->base.key);
}

/* Writes buf[0..fill) as the next chunk row and dates the writer's row
 * (sweep_temps spares a writer that is still writing). */
static hs_status flush_chunk(pg_writer *w, hs_error *err)
{
    hs_pg_result *res = NULL;
    uint64_t size = w->flushed + w->fill;
    hs_status st = hs_pg_query(
        w->s->pg, &res, NULL, err, "blob store: cannot write a chunk",
        "WITH chunk AS (INSERT INTO blob_store_chunks (blob, idx, data) "
        "VALUES ($1, $2, $3)) "
        "UPDATE blob_store_blobs SET size = $4, written_at = $5 "
        "WHERE id = $1 AND NOT committed",
        "iixii", w->id, (int64_t)w->next_index, (const void *)w->buf, w->fill,
        (int64_t)size, now_ns());
    if (st == HS_OK)
        st = still_there(w, res, err);
    hs_pg_result_free(res);
    if (st != HS_OK)
        return st;
    w->flushed = size;
    w->next_index++;
    w->fill = 0;
    return HS_OK;
}

static hs_status pg_write(hs_blob_writer *base, const void *buf, size_t len,
                          hs_error *err)
{
    pg_writer *w = (pg_writer *)base;
    const uint8_t *p = buf;
    hs_status st =
        hs_blob__write_admit(&w->failed, w->max_bytes, w->written, len, err);
    while (st == HS_OK && len > 0) {
        size_t n = HS_BLOB_PG_CHUNK - w->fill;
        if (n > len)
            n = len;
        memcpy(w->buf + w->fill, p, n);
        w->fill += n;
        w->written += n;
        p += n;
        len -= n;
        if (w->fill == HS_BLOB_PG_CHUNK && (st = flush_chunk(w, err)) != HS_OK)
            w->failed = 1;
    }
    return st;
}

/* Deletes the writer's row (committed too, when `even_committed`) and
 * frees it. Best effort: what a lost connection leaves, sweep_temps (or
 * the orphan sweep, for a committed row) removes. */
static void writer_drop(pg_writer *w, int even_committed)
{
    hs_error ignored = {0};
    hs_pg_query(w->s->pg, NULL, NULL, &ignored, "blob store: abort",
                "DELETE FROM blob_store_blobs WHERE id = $1 AND "
                "(NOT committed OR $2)",
                "ib", w->id, even_committed);
    free(w->buf);
    free(w);
}

static void pg_abort(hs_blob_writer *base)
{
    writer_drop((pg_writer *)base, 0);
}

static hs_status commit_txn(void *arg, hs_error *err)
{
    pg_writer *w = arg;
    hs_pg_result *res = NULL;
    hs_status st = w->fill ? flush_chunk(w, err) : HS_OK;
    if (st == HS_OK && w->replace)
        st = hs_pg_query(w->s->pg, NULL, NULL, err,
                         "blob store: cannot replace a blob",
                         "DELETE FROM blob_store_blobs WHERE key = $1 AND "
                         "committed",
                         "t", w->base.key);
    if (st == HS_OK)
        st = hs_pg_query(w->s->pg, &res, NULL, err,
                         "blob store: cannot commit a blob",
                         "UPDATE blob_store_blobs SET committed = true, "
                         "size = $2, written_at = $3 "
                         "WHERE id = $1 AND NOT committed",
                         "iii", w->id, (int64_t)w->written, now_ns());
    if (st == HS_OK)
        st = still_there(w, res, err);
    hs_pg_result_free(res);
    return st;
}

static hs_status pg_commit(hs_blob_writer *base, char key_out[HS_BLOB_KEY_MAX],
                           uint64_t *size_out, hs_error *err)
{
    pg_writer *w = (pg_writer *)base;
    hs_status st =
        w->failed ? hs_fail(err, HS_ERR_INVALID, "blob writer failed earlier")
                  : hs_pg_transact(w->s->pg, commit_txn, w, err);
    if (st != HS_OK) {
        /* A commit whose outcome is unknown (the connection lost at
         * COMMIT) is undone too: the caller records no key it was not
         * given. Not a replacement's: the blob it replaced is gone then,
         * and its key is still recorded. */
        writer_drop(w, !w->replace);
        return st;
    }
    if (key_out)
        snprintf(key_out, HS_BLOB_KEY_MAX, "%s", w->base.key);
    if (size_out)
        *size_out = w->written;
    free(w->buf);
    free(w);
    return HS_OK;
}

/* Runs `sql` on the committed row of `key` ($1). *res (may be NULL) gets
 * the result; *found whether a row was returned or touched - or, with
 * found NULL, HS_ERR_NOTFOUND "no blob KEY" when none was. */
static hs_status on_key(pg_store *s, const char *what, const char *sql,
                        const char *key, hs_pg_result **res, int *found,
                        hs_error *err)
{
    hs_pg_result *r = NULL;
    hs_status st = hs_pg_query(s->pg, &r, NULL, err, what, sql, "t", key);
    int hit = st == HS_OK && (hs_pg_rows(r) > 0 || hs_pg_affected(r) > 0);
    if (found)
        *found = hit;
    else if (st == HS_OK && !hit)
        st = hs_fail(err, HS_ERR_NOTFOUND, "no blob %s", key);
    if (st == HS_OK && res)
        *res = r;
    else
        hs_pg_result_free(r);
    return st;
}

/* ---- reading ------------------------------------------------------------- */

static hs_status pg_open_read(void *impl, const char *key,
                              hs_blob_reader **r_out, hs_error *err)
{
    pg_store *s = impl;
    hs_pg_result *res = NULL;
    hs_status st = on_key(s, "blob store: cannot open a blob",
                          "SELECT id, size, chunk_bytes FROM blob_store_blobs "
                          "WHERE key = $1 AND committed",
                          key, &res, NULL, err);
    pg_reader *r = st == HS_OK ? calloc(1, sizeof *r) : NULL;
    if (st == HS_OK && !r)
        st = hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    if (st == HS_OK) {
        r->base.ops = &pg_reader_ops;
        r->base.size = (uint64_t)hs_pg_int(res, 0, 1);
        r->s = s;
        r->id = hs_pg_int(res, 0, 0);
        r->chunk_bytes = (uint64_t)hs_pg_int(res, 0, 2);
        r->cached = -1;
        snprintf(r->key, sizeof r->key, "%s", key);
        if (r->chunk_bytes == 0) {
            free(r);
            st = hs_fail(err, HS_ERR_CORRUPT,
                         "blob store: blob %s has no chunk size", key);
        }
    }
    hs_pg_result_free(res);
    if (st == HS_OK)
        *r_out = &r->base;
    return st;
}

/* Makes chunk `index` the cached one: fetched, and checked to be as long
 * as the blob's size says. */
static hs_status fetch_chunk(pg_reader *r, int64_t index, hs_error *err)
{
    hs_pg_result *res = NULL;
    uint64_t start = (uint64_t)index * r->chunk_bytes;
    uint64_t want = r->base.size - start < r->chunk_bytes ? r->base.size - start
                                                          : r->chunk_bytes;
    void *data = NULL;
    size_t len = 0;
    hs_status st =
        hs_pg_query(r->s->pg, &res, NULL, err, "blob store: cannot read a blob",
                    "SELECT data FROM blob_store_chunks "
                    "WHERE blob = $1 AND idx = $2",
                    "ii", r->id, index);
    if (st == HS_OK && hs_pg_rows(res) != 1)
        st = hs_fail(err, HS_ERR_NOTFOUND,
                     "blob %s was deleted or replaced while it was read",
                     r->key);
    if (st == HS_OK)
        st = hs_pg_bytes(res, 0, 0, &data, &len, err);
    hs_pg_result_free(res);
    if (st == HS_OK && len != want) {
        free(data);
        st = hs_fail(err, HS_ERR_CORRUPT,
                     "blob store: blob %s: chunk %lld holds %zu bytes, not "
                     "%llu",
                     r->key, (long long)index, len, (unsigned long long)want);
    }
    if (st != HS_OK)
        return st;
    free(r->cache);
    r->cache = data;
    r->cached = index;
    r->cached_len = len;
    return HS_OK;
}

static hs_status pg_read_at(hs_blob_reader *base, void *buf, size_t len,
                            uint64_t off, hs_error *err)
{
    pg_reader *r = (pg_reader *)base;
    uint8_t *out = buf;
    while (len > 0) {
        int64_t index = (int64_t)(off / r->chunk_bytes);
        size_t within = (size_t)(off % r->chunk_bytes);
        if (index != r->cached) {
            hs_status st = fetch_chunk(r, index, err);
            if (st != HS_OK)
                return st;
        }
        size_t n = r->cached_len - within < len ? r->cached_len - within : len;
        memcpy(out, r->cache + within, n);
        out += n;
        off += n;
        len -= n;
    }
    return HS_OK;
}

static void pg_reader_close(hs_blob_reader *base)
{
    pg_reader *r = (pg_reader *)base;
    free(r->cache);
    free(r);
}

static const hs_blob_reader_ops pg_reader_ops = {
    .read_at = pg_read_at,
    .close = pg_reader_close,
};

/* ---- the rest ------------------------------------------------------------ */

static hs_status pg_remove(void *impl, const char *key, hs_error *err)
{
    return on_key(impl, "blob store: cannot delete a blob",
                  "DELETE FROM blob_store_blobs WHERE key = $1 AND committed",
                  key, NULL, NULL, err);
}

static hs_status pg_exists(void *impl, const char *key, int *exists_out,
                           hs_error *err)
{
    return on_key(impl, "blob store: cannot look a blob up",
                  "SELECT 1 FROM blob_store_blobs WHERE key = $1 AND committed",
                  key, NULL, exists_out, err);
}

/* One page of committed blobs after key `after`; *last gets the page's
 * last key ("" when the page was not full: the walk is done). */
static hs_status each_page(pg_store *s, const char *after, hs_blob_each_fn fn,
                           void *ctx, char last[HS_BLOB_KEY_MAX], hs_error *err)
{
    hs_pg_result *res = NULL;
    hs_status st =
        hs_pg_query(s->pg, &res, NULL, err, "blob store: cannot list blobs",
                    "SELECT key, size, written_at FROM blob_store_blobs "
                    "WHERE committed AND key > $1 ORDER BY key LIMIT $2",
                    "ti", after, (int64_t)EACH_PAGE);
    int rows = st == HS_OK ? hs_pg_rows(res) : 0;
    last[0] = '\0';
    for (int i = 0; st == HS_OK && i < rows; i++) {
        const char *key = hs_pg_text(res, i, 0);
        if (!hs_blob_key_valid(key))
            continue; /* not one this store made */
        st = fn(ctx, key, (uint64_t)hs_pg_int(res, i, 1), hs_pg_int(res, i, 2),
                err);
    }
    if (st == HS_OK && rows == EACH_PAGE)
        snprintf(last, HS_BLOB_KEY_MAX, "%.*s", HS_BLOB_KEY_MAX - 1,
                 hs_pg_text(res, rows - 1, 0));
    hs_pg_result_free(res);
    return st;
}

static hs_status pg_each(void *impl, hs_blob_each_fn fn, void *ctx,
                         hs_error *err)
{
    char after[HS_BLOB_KEY_MAX] = "", last[HS_BLOB_KEY_MAX];
    hs_status st;
    /* Page by page, each its own statement: fn may delete or replace
     * blobs (the rekey does), and no transaction stays open meanwhile. */
    while ((st = each_page(impl, after, fn, ctx, last, err)) == HS_OK &&
           last[0])
        memcpy(after, last, sizeof after);
    return st;
}

static hs_status pg_sweep_temps(void *impl, int64_t before_ns, size_t *count,
                                uint64_t *bytes, hs_error *err)
{
    pg_store *s = impl;
    hs_pg_result *res = NULL;
    hs_status st = hs_pg_query(
        s->pg, &res, NULL, err, "blob store: cannot remove abandoned writes",
        "WITH gone AS (DELETE FROM blob_store_blobs "
        "WHERE NOT committed AND written_at < $1 RETURNING size) "
        "SELECT count(*), coalesce(sum(size), 0) FROM gone",
        "i", before_ns);
    if (st == HS_OK) {
        *count = (size_t)hs_pg_int(res, 0, 0);
        *bytes = (uint64_t)hs_pg_int(res, 0, 1);
    }
    hs_pg_result_free(res);
    return st;
}

static const hs_blob_ops pg_ops = {
    .name = "postgresql",
    .writer_open = pg_writer_open,
    .write = pg_write,
    .commit = pg_commit,
    .abort = pg_abort,
    .open_read = pg_open_read,
    .remove = pg_remove,
    .exists = pg_exists,
    .close = pg_close,
    .each = pg_each,
    .writer_replace = pg_writer_replace,
    .sweep_temps = pg_sweep_temps,
};
