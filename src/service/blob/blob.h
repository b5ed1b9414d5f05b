/* blob.h - the blob store: where uploaded files, models and results live.
 *
 * One interface, several backends (like Redis's rio.h): an hs_blob_store is
 * a table of operations plus the backend's private state. The service only
 * calls the hs_blob_* functions below and never learns where bytes end up,
 * so the directory backend (blob_dir.c) can later be joined by a shared
 * storage backend without touching callers.
 *
 * Why it is built this way:
 *  - Blobs are written incrementally (uploads are streamed): open a writer,
 *    write chunks, then commit or abort. Nothing is visible under the final
 *    key until commit succeeds, and a committed blob is complete and
 *    durable, so the database can reference the key in the same
 *    transaction that records the upload.
 *  - The store chooses every key ("<kind>/<32 lowercase hex>", random), so
 *    callers never build paths and path traversal is impossible. Every key
 *    passed in is checked against that grammar before any backend sees it;
 *    a bad key is HS_ERR_INVALID, never a storage access.
 *  - Blobs are immutable once committed: to change one, write a new blob
 *    and delete the old key. Hence concurrent writers cannot corrupt a
 *    record: each writes its own fresh key.
 *
 * Deliberately absent: a "path of key" call (shared storage has no paths)
 * and in-place update. Listing exists only for upkeep (the orphan sweep,
 * domain/orphans.h, and `healer rekey`): nothing that serves a request
 * lists blobs.
 *
 * Thread-safety: a store may be used from any number of threads at once
 * (backends keep no mutable shared state). A writer belongs to one thread
 * at a time.
 */
#ifndef HS_BLOB_H
#define HS_BLOB_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/datakey.h"
#include "base/error.h"

/* Longest kind: [a-z0-9_]{1,32}. "tmp" is reserved (backends may use it). */
#define HS_BLOB_KIND_MAX 32
/* Hex characters after the slash (128 random bits). */
#define HS_BLOB_ID_HEX 32
/* Buffer size for a key including its NUL: kind + '/' + hex + NUL. */
#define HS_BLOB_KEY_MAX (HS_BLOB_KIND_MAX + 1 + HS_BLOB_ID_HEX + 1)

typedef struct hs_blob_writer hs_blob_writer;
typedef struct hs_blob_store hs_blob_store;
typedef struct hs_blob_reader hs_blob_reader;

/* A reader: random access to one committed blob's bytes. Readers do not
 * hand out file descriptors because a blob's stored bytes need not be its
 * content (the encrypting layer, blob_crypt.c, decrypts on the fly). */
typedef struct hs_blob_reader_ops {
    /* Exactly len bytes at offset off into buf; the caller keeps
     * [off, off + len) within the blob's size. */
    hs_status (*read_at)(hs_blob_reader *r, void *buf, size_t len,
                         uint64_t off, hs_error *err);
    void (*close)(hs_blob_reader *r); /* frees r */
} hs_blob_reader_ops;

/* Every reader starts with this header; the rest is the backend's. A
 * reader belongs to one thread at a time (it may cache a chunk). */
struct hs_blob_reader {
    const hs_blob_reader_ops *ops;
    uint64_t size; /* the blob's size in bytes */
};

/* Called for each committed blob by hs_blob_each with its key, the bytes
 * it takes in the store (stored size: with encryption, more than its
 * content) and when it was last written (ns since the epoch, the system
 * clock's); a status other than HS_OK stops the walk and is returned. */
typedef hs_status (*hs_blob_each_fn)(void *ctx, const char *key,
                                     uint64_t stored_size, int64_t mtime_ns,
                                     hs_error *err);

/* The backend contract. Callers use the hs_blob_* wrappers, which validate
 * kinds and keys before dispatching, so backends receive only valid ones.
 * `impl` is hs_blob_store.impl. */
typedef struct hs_blob_ops {
    const char *name; /* "dir", ... for diagnostics */
    hs_status (*writer_open)(void *impl, const char *kind, size_t max_bytes,
                             hs_blob_writer **w_out, hs_error *err);
    hs_status (*write)(hs_blob_writer *w, const void *buf, size_t len,
                       hs_error *err);
    /* Must consume (free) the writer whatever the outcome. */
    hs_status (*commit)(hs_blob_writer *w, char key_out[HS_BLOB_KEY_MAX],
                        uint64_t *size_out, hs_error *err);
    void (*abort)(hs_blob_writer *w);
    /* A reader of a committed blob (see hs_blob_reader below). */
    hs_status (*open_read)(void *impl, const char *key,
                           hs_blob_reader **r_out, hs_error *err);
    hs_status (*remove)(void *impl, const char *key, hs_error *err);
    hs_status (*exists)(void *impl, const char *key, int *exists_out,
                        hs_error *err);
    void (*close)(hs_blob_store *store); /* frees store and impl */
    /* Maintenance: every committed key (`healer rekey`, and the orphan
     * sweep while a server runs), and a writer whose commit replaces an
     * existing blob atomically (the rekey, while no server runs). */
    hs_status (*each)(void *impl, hs_blob_each_fn fn, void *ctx,
                      hs_error *err);
    hs_status (*writer_replace)(void *impl, const char *key,
                                hs_blob_writer **w_out, hs_error *err);
    /* Appended for upkeep (the orphan sweep); NULL in a backend that
     * cannot: its wrapper refuses. */
    hs_status (*sweep_temps)(void *impl, int64_t before_ns, size_t *count,
                             uint64_t *bytes, hs_error *err);
} hs_blob_ops;

struct hs_blob_store {
    const hs_blob_ops *ops;
    void *impl;
};

/* Every backend writer starts with this header so the wrappers can find
 * the operations; the rest of the struct is private to the backend. */
struct hs_blob_writer {
    const hs_blob_ops *ops;
    /* The key commit will publish the blob under when the backend chooses
     * it at open (the directory backend does), else "". The encrypting
     * layer binds each blob's bytes to this key. */
    char key[HS_BLOB_KEY_MAX];
};

/* True when `kind` matches [a-z0-9_]{1,32} and is not the reserved "tmp". */
static inline int hs_blob_kind_valid(const char *kind)
{
    size_t n = 0;
    if (!kind)
        return 0;
    for (; kind[n]; n++) {
        char c = kind[n];
        if (n >= HS_BLOB_KIND_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return n > 0 && strcmp(kind, "tmp") != 0;
}

/* True when `key` is exactly what a store generates: a valid kind, '/',
 * then 32 lowercase hex digits and nothing else. */
static inline int hs_blob_key_valid(const char *key)
{
    const char *slash;
    char kind[HS_BLOB_KIND_MAX + 1];
    size_t kind_len, i;

    if (!key || !(slash = strchr(key, '/')))
        return 0;
    kind_len = (size_t)(slash - key);
    if (kind_len == 0 || kind_len > HS_BLOB_KIND_MAX)
        return 0;
    memcpy(kind, key, kind_len);
    kind[kind_len] = '\0';
    if (!hs_blob_kind_valid(kind))
        return 0;
    for (i = 0; i < HS_BLOB_ID_HEX; i++) {
        char c = slash[1 + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return 0; /* also stops at a NUL before 32 digits */
    }
    return slash[1 + HS_BLOB_ID_HEX] == '\0';
}

static inline hs_status hs_blob__bad_key(const char *key, hs_error *err)
{
    return hs_fail(err, HS_ERR_INVALID, "invalid blob key%s",
                   key ? "" : " (null)");
}

/* For backends: whether a writer that has `written` bytes, a cap of
 * max_bytes (0 = none) and *failed set after an earlier failure takes len
 * more; sets *failed when the cap is passed. One rule, one message. */
static inline hs_status hs_blob__write_admit(int *failed, size_t max_bytes,
                                             uint64_t written, size_t len,
                                             hs_error *err)
{
    if (*failed)
        return hs_fail(err, HS_ERR_INVALID,
                       "blob writer failed earlier; abort it");
    if (max_bytes && (written > max_bytes || len > max_bytes - written)) {
        *failed = 1;
        return hs_fail(err, HS_ERR_INVALID, "blob too large (limit %zu bytes)",
                       max_bytes);
    }
    return HS_OK;
}

/* For backends: a new blob's id, HS_BLOB_ID_HEX random lowercase hex
 * digits (128 bits from getrandom) and a NUL. HS_ERR_IO when the system
 * has no randomness to give. */
hs_status hs_blob__random_id(char out[HS_BLOB_ID_HEX + 1], hs_error *err);

/* Starts a new blob of `kind` ([a-z0-9_]{1,32}, not "tmp"). `max_bytes`
 * caps its size (0 = unlimited). On success *w_out is a writer that the
 * caller must finish with exactly one hs_blob_commit or hs_blob_abort.
 * Errors: HS_ERR_INVALID (bad kind), HS_ERR_IO, HS_ERR_NOMEM. */
static inline hs_status hs_blob_writer_open(hs_blob_store *store,
                                            const char *kind, size_t max_bytes,
                                            hs_blob_writer **w_out,
                                            hs_error *err)
{
    if (!store || !w_out)
        return hs_fail(err, HS_ERR_INVALID, "blob writer: missing argument");
    *w_out = NULL;
    if (!hs_blob_kind_valid(kind))
        return hs_fail(err, HS_ERR_INVALID, "invalid blob kind");
    return store->ops->writer_open(store->impl, kind, max_bytes, w_out, err);
}

/* Appends len bytes. Going past max_bytes fails with HS_ERR_INVALID
 * ("too large"); after any failure the writer only accepts hs_blob_abort
 * (commit would fail too). */
static inline hs_status hs_blob_write(hs_blob_writer *w, const void *buf,
                                      size_t len, hs_error *err)
{
    if (!w || (!buf && len))
        return hs_fail(err, HS_ERR_INVALID, "blob write: missing argument");
    return w->ops->write(w, buf, len, err);
}

/* Makes the blob durable and visible under its key, written to key_out;
 * *size_out (may be NULL) receives its size. Always frees the writer, on
 * failure too (the partial data is then discarded). */
static inline hs_status hs_blob_commit(hs_blob_writer *w,
                                       char key_out[HS_BLOB_KEY_MAX],
                                       uint64_t *size_out, hs_error *err)
{
    if (!w)
        return hs_fail(err, HS_ERR_INVALID, "blob commit: no writer");
    if (key_out)
        key_out[0] = '\0';
    return w->ops->commit(w, key_out, size_out, err);
}

/* Discards everything written and frees the writer. NULL is a no-op. */
static inline void hs_blob_abort(hs_blob_writer *w)
{
    if (w)
        w->ops->abort(w);
}

/* One-shot: stores len bytes as a new blob of `kind`, key into key_out. */
static inline hs_status hs_blob_put(hs_blob_store *store, const char *kind,
                                    const void *buf, size_t len,
                                    char key_out[HS_BLOB_KEY_MAX],
                                    hs_error *err)
{
    hs_blob_writer *w = NULL;
    hs_status st = hs_blob_writer_open(store, kind, 0, &w, err);
    if (st != HS_OK)
        return st;
    st = hs_blob_write(w, buf, len, err);
    if (st != HS_OK) {
        hs_blob_abort(w);
        return st;
    }
    return hs_blob_commit(w, key_out, NULL, err);
}

/* One-shot from a file: copies f (a spooled temporary file, read from
 * its start, a chunk at a time) into a new blob of `kind`, key into
 * key_out. */
static inline hs_status hs_blob_put_file(hs_blob_store *store, const char *kind,
                                         FILE *f, char key_out[HS_BLOB_KEY_MAX],
                                         hs_error *err)
{
    hs_blob_writer *w = NULL;
    char buf[1 << 16];
    size_t n;
    hs_status st = fflush(f) == 0 && fseek(f, 0, SEEK_SET) == 0
                       ? hs_blob_writer_open(store, kind, 0, &w, err)
                       : hs_fail(err, HS_ERR_IO, "cannot spool a %s", kind);
    while (st == HS_OK && (n = fread(buf, 1, sizeof buf, f)) > 0)
        st = hs_blob_write(w, buf, n, err);
    if (st == HS_OK && ferror(f))
        st = hs_fail(err, HS_ERR_IO, "cannot spool a %s", kind);
    if (st != HS_OK) {
        hs_blob_abort(w);
        return st;
    }
    return hs_blob_commit(w, key_out, NULL, err);
}

/* Opens a committed blob for reading: *r_out is a reader the caller
 * closes with hs_blob_reader_close; (*r_out)->size is the blob's size.
 * Errors: HS_ERR_INVALID (bad key), HS_ERR_NOTFOUND, HS_ERR_IO,
 * HS_ERR_CORRUPT (stored bytes that fail authentication, or under a data
 * key this process does not have). */
static inline hs_status hs_blob_open_read(hs_blob_store *store, const char *key,
                                          hs_blob_reader **r_out, hs_error *err)
{
    if (!store || !r_out)
        return hs_fail(err, HS_ERR_INVALID, "blob open: missing argument");
    *r_out = NULL;
    if (!hs_blob_key_valid(key))
        return hs_blob__bad_key(key, err);
    return store->ops->open_read(store->impl, key, r_out, err);
}

/* Exactly len bytes at offset off; [off, off + len) past the blob's end is
 * HS_ERR_INVALID. Errors of the reader as hs_blob_open_read's. */
static inline hs_status hs_blob_read_at(hs_blob_reader *r, void *buf,
                                        size_t len, uint64_t off, hs_error *err)
{
    if (!r || (!buf && len))
        return hs_fail(err, HS_ERR_INVALID, "blob read: missing argument");
    if (off > r->size || len > r->size - off)
        return hs_fail(err, HS_ERR_INVALID, "blob read past its end");
    return len ? r->ops->read_at(r, buf, len, off, err) : HS_OK;
}

/* Reads the whole blob once, a chunk at a time, and discards it: through
 * the encrypting layer every chunk is authenticated, so a download that
 * passes starts knowing it will not be cut short by damage. Errors as
 * hs_blob_read_at's (HS_ERR_CORRUPT for damage). */
static inline hs_status hs_blob_verify(hs_blob_reader *r, hs_error *err)
{
    uint8_t *buf = malloc(1 << 16);
    hs_status st = buf ? HS_OK
                       : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (uint64_t off = 0; st == HS_OK && off < r->size; off += 1 << 16) {
        size_t n = r->size - off < (1 << 16) ? (size_t)(r->size - off)
                                             : (size_t)1 << 16;
        st = hs_blob_read_at(r, buf, n, off, err);
    }
    if (buf)
        hs_datakey_wipe(buf, 1 << 16); /* it held decrypted content */
    free(buf);
    return st;
}

/* Closes a reader. NULL is a no-op. */
static inline void hs_blob_reader_close(hs_blob_reader *r)
{
    if (r)
        r->ops->close(r);
}

/* A reader over an open file descriptor of `size` bytes that the reader
 * takes over (closes); for content made on the fly (results converted
 * from an old format into a memfd) to be read like a blob. `what` names
 * it in messages (a static string). Errors: HS_ERR_NOMEM (fd is closed). */
hs_status hs_blob_reader_from_fd(int fd, uint64_t size, const char *what,
                                 hs_blob_reader **r_out, hs_error *err);

/* Reads a whole blob into *buf_out (malloc'ed, caller frees; never NULL on
 * success, even for an empty blob) and its length into *len_out. A blob
 * larger than `max` bytes fails with HS_ERR_INVALID ("too large"). */
static inline hs_status hs_blob_read_all(hs_blob_store *store, const char *key,
                                         uint8_t **buf_out, size_t *len_out,
                                         size_t max, hs_error *err)
{
    hs_blob_reader *r = NULL;
    uint8_t *buf = NULL;
    hs_status st;

    if (!buf_out || !len_out)
        return hs_fail(err, HS_ERR_INVALID, "blob read: missing argument");
    *buf_out = NULL;
    *len_out = 0;
    st = hs_blob_open_read(store, key, &r, err);
    if (st != HS_OK)
        return st;
    if (r->size > (uint64_t)max)
        st = hs_fail(err, HS_ERR_INVALID, "blob %s too large (%llu > %zu bytes)",
                     key, (unsigned long long)r->size, max);
    else if (!(buf = malloc(r->size ? (size_t)r->size : 1)))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory reading blob %s", key);
    else
        st = hs_blob_read_at(r, buf, (size_t)r->size, 0, err);
    if (st == HS_OK) {
        *buf_out = buf;
        *len_out = (size_t)r->size;
    } else {
        free(buf);
    }
    hs_blob_reader_close(r);
    return st;
}

/* Removes a committed blob. HS_ERR_NOTFOUND when it does not exist. */
static inline hs_status hs_blob_delete(hs_blob_store *store, const char *key,
                                       hs_error *err)
{
    if (!store)
        return hs_fail(err, HS_ERR_INVALID, "blob delete: no store");
    if (!hs_blob_key_valid(key))
        return hs_blob__bad_key(key, err);
    return store->ops->remove(store->impl, key, err);
}

/* Sets *exists_out to 1 when a committed blob has this key, else 0.
 * Blobs still being written never exist. */
static inline hs_status hs_blob_exists(hs_blob_store *store, const char *key,
                                       int *exists_out, hs_error *err)
{
    if (!store || !exists_out)
        return hs_fail(err, HS_ERR_INVALID, "blob exists: missing argument");
    *exists_out = 0;
    if (!hs_blob_key_valid(key))
        return hs_blob__bad_key(key, err);
    return store->ops->exists(store->impl, key, exists_out, err);
}

/* Calls fn for every committed blob, in no particular order: for upkeep
 * (the orphan sweep, `healer rekey`), nothing that serves a request. Blobs
 * committed or deleted meanwhile may or may not be seen; writers'
 * temporary files never are. HS_ERR_IO, or what fn returned. */
static inline hs_status hs_blob_each(hs_blob_store *store, hs_blob_each_fn fn,
                                     void *ctx, hs_error *err)
{
    if (!store || !fn)
        return hs_fail(err, HS_ERR_INVALID, "blob each: missing argument");
    return store->ops->each(store->impl, fn, ctx, err);
}

/* A writer whose commit replaces the committed blob `key` atomically
 * (readers see the old or the new bytes, never a mix). Blobs are
 * otherwise immutable: this is for `healer rekey`, while no server uses
 * the store. Finish it like any writer. */
static inline hs_status hs_blob_writer_replace(hs_blob_store *store,
                                               const char *key,
                                               hs_blob_writer **w_out,
                                               hs_error *err)
{
    if (!store || !w_out)
        return hs_fail(err, HS_ERR_INVALID, "blob writer: missing argument");
    *w_out = NULL;
    if (!hs_blob_key_valid(key))
        return hs_blob__bad_key(key, err);
    return store->ops->writer_replace(store->impl, key, w_out, err);
}

/* Removes the temporary files of writers last written before before_ns
 * (ns since the epoch): left by a process that died while writing (a
 * live writer's file is newer, unless it stalled that long). *count and
 * *bytes (may be NULL) get how many were removed and their size.
 * HS_ERR_INVALID for a backend that cannot, HS_ERR_IO. */
static inline hs_status hs_blob_sweep_temps(hs_blob_store *store,
                                            int64_t before_ns, size_t *count,
                                            uint64_t *bytes, hs_error *err)
{
    size_t c;
    uint64_t b;
    if (!count)
        count = &c;
    if (!bytes)
        bytes = &b;
    *count = 0;
    *bytes = 0;
    if (!store)
        return hs_fail(err, HS_ERR_INVALID, "blob sweep: no store");
    if (!store->ops->sweep_temps)
        return hs_fail(err, HS_ERR_INVALID,
                       "blob store '%s' cannot sweep its temporary files",
                       store->ops->name);
    return store->ops->sweep_temps(store->impl, before_ns, count, bytes, err);
}

/* Closes the store and frees it. All writers must be finished first.
 * NULL is a no-op. */
static inline void hs_blob_store_close(hs_blob_store *store)
{
    if (store)
        store->ops->close(store);
}

/* ---- Backends ---------------------------------------------------------- */

/* Directory backend (blob_dir.c). Creates `root` (like mkdir -p, mode 0700)
 * and root/tmp. Blobs live at root/<kind>/<hex>; writers stage in root/tmp
 * and rename into place. At open, files in root/tmp that have not been
 * modified for HS_BLOB_DIR_STALE_SECONDS are removed: they are leftovers of
 * a crashed writer (a newer one may belong to another live process using
 * the same directory, so it is left alone). On success *out is a store the
 * caller closes with hs_blob_store_close. */
#define HS_BLOB_DIR_STALE_SECONDS 3600
hs_status hs_blob_dir_open(const char *root, hs_blob_store **out,
                           hs_error *err);

/* PostgreSQL backend (blob_pg.c): blobs as rows of chunks in the
 * database at `url` ("postgresql://USER@HOST:PORT/DB[?...]", as pg/pg.h's
 * hs_pg_open takes it), in tables of its own (blob_store_*), created or
 * migrated at open under an advisory lock, so it may share the record
 * store's database or have its own. Writers buffer HS_BLOB_PG_CHUNK bytes
 * per row; a writer's rows are invisible under its key until commit (one
 * transaction); sweep_temps removes the rows of writers that died. Errors:
 * those of hs_pg_open (HS_ERR_UNAVAILABLE when the server cannot be
 * reached, HS_ERR_INVALID for a bad URL), HS_ERR_INVALID for a schema
 * newer than this build. On success *out is a store the caller closes. */
#define HS_BLOB_PG_CHUNK ((size_t)1 << 20)
hs_status hs_blob_pg_open(const char *url, hs_blob_store **out, hs_error *err);

/* Opens the blob store the `blobs` setting names (blob_open.c holds the
 * table of backends): "" = the directory `default_dir` (the data
 * directory's blobs/); "file:DIR" = the directory DIR (which several
 * processes may share: docs/deploy.md); "postgresql" = the record
 * store's database (`store_url` must then be a postgresql:// URL);
 * "postgresql://USER@HOST:PORT/DB" = a database of its own (blob_pg.c).
 * The store keeps bytes as given:
 * the caller wraps it in the encrypting layer. Errors: HS_ERR_INVALID
 * with field "blobs" for a URL this build cannot use (naming the forms it
 * can; a URL is never quoted past its scheme), and those of the backend.
 * On success *out is a store the caller closes. */
hs_status hs_blob_open(const char *url, const char *store_url,
                       const char *default_dir, hs_blob_store **out,
                       hs_error *err);

/* Encrypting layer (blob_crypt.c): a store that encrypts every blob it
 * writes into `inner` under keys->current and decrypts what it reads
 * (under keys->current or keys->previous), chunk by chunk, so any reader
 * can read any range and memory does not grow with a blob's size. A blob
 * that fails authentication (tampered, truncated, reordered, swapped) is
 * HS_ERR_CORRUPT naming the blob, never data; so is one naming a data key
 * not in `keys`. Takes over `inner` (closed with
 * the store, or at once on failure); copies *keys. The file format is in
 * blob_crypt.c and docs/security.md. */
#define HS_BLOB_CRYPT_CHUNK 65536 /* content bytes per sealed chunk */
hs_status hs_blob_crypt_open(hs_blob_store *inner, const hs_keyring *keys,
                             hs_blob_store **out, hs_error *err);

/* Testing aid (blob_delay.c): commits of chosen kinds made slower, as
 * when the disk's fsyncs stall. kind[i] is a blob kind or "*" (every kind
 * without an item of its own); ms[i] its delay. */
#define HS_BLOB_DELAYS_MAX 8
#define HS_BLOB_DELAY_MAX_MS 60000u
typedef struct hs_blob_delays {
    size_t n;
    char kind[HS_BLOB_DELAYS_MAX][HS_BLOB_KIND_MAX + 1];
    unsigned ms[HS_BLOB_DELAYS_MAX];
} hs_blob_delays;

/* Parses HEALER_FAULT_COMMIT_DELAY's "KIND=MS[,KIND=MS...]" (at most
 * HS_BLOB_DELAYS_MAX items, MS up to HS_BLOB_DELAY_MAX_MS; a later item
 * of the same kind wins); NULL or "" is none (n = 0). HS_ERR_INVALID
 * naming the bad item; *out unchanged then. */
hs_status hs_blob_delays_parse(const char *spec, hs_blob_delays *out,
                               hs_error *err);

/* A store over `inner` whose commits of a kind with a delay in `delays`
 * (copied) sleep that long before committing; everything else is inner's.
 * Takes over inner (closed with the store, or at once on failure).
 * Errors: HS_ERR_NOMEM, HS_ERR_INVALID (a NULL argument). */
hs_status hs_blob_delay_open(hs_blob_store *inner, const hs_blob_delays *delays,
                             hs_blob_store **out, hs_error *err);

/* What hs_blob_crypt_rekey did. */
typedef struct hs_blob_rekey_counts {
    uint64_t rekeyed;   /* from the previous key to the current one */
    uint64_t encrypted; /* stored before encryption existed, now encrypted */
    uint64_t already;   /* already under the current key (a resumed run) */
} hs_blob_rekey_counts;

/* Re-encrypts every blob of an encrypting store (hs_blob_crypt_open, with
 * the new key as current and the old one as previous) under the current
 * key, one blob at a time, each replaced atomically: interrupted, it is
 * simply run again (blobs already under the current key are skipped).
 * Blobs stored in plain are encrypted only when the keyring is migrating
 * (a directory from before encryption); otherwise they stop it like
 * damage. For `healer rekey`, while no server uses the store. A blob
 * under neither key, or damaged, stops it (HS_ERR_CORRUPT naming it). */
hs_status hs_blob_crypt_rekey(hs_blob_store *store,
                              hs_blob_rekey_counts *counts, hs_error *err);

#endif
