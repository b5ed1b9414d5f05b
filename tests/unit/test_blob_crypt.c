/* test_blob_crypt.c - encryption at rest: data key files, the encrypting
 * blob layer (blob_crypt.c) and the sealed database values (sealed.c).
 *
 * The encrypting layer's cases run twice: over a directory store in a
 * mkdtemp directory, and over the PostgreSQL blob store on the test
 * cluster (tests/unit/pgtest.h, a schema per test); what is stored is
 * looked at, and damaged, through the plain store underneath. Checked
 * from the outside: content of every size around the chunk boundary round-trips and reads at any
 * offset; nothing of it is on disk in plain; any damage (a flipped bit
 * anywhere, a cut, an extension, two chunks swapped, another blob's file
 * in its place, another key) is HS_ERR_CORRUPT and never data; a rotation
 * re-encrypts, resumes and encrypts files stored in plain; key files of
 * the wrong mode or size are refused; sealed values round-trip, refuse
 * damage and a move to another field, and plain values and files read
 * only in the migration of a directory from before encryption.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"

#include "base/datakey.h"
#include "blob/blob.h"
#include "domain/sealed.h"
#include "pgtest.h"

#define CHUNK HS_BLOB_CRYPT_CHUNK
#define STRIDE (CHUNK + 16)
#define HEADER 40

typedef struct fixture {
    char dir[256];
    char root[300];
    hs_keyring keys;
    hs_blob_store *store; /* encrypting, over the group's plain store */
} fixture;

/* The PostgreSQL group's database; "" in the directory group. */
static char pg_url[512];

/* The plain store under the encrypting one: the directory, or the
 * PostgreSQL blob store. */
static void open_plain(const fixture *f, hs_blob_store **plain)
{
    hs_error err = {0};
    hs_status st = pg_url[0] ? hs_blob_pg_open(pg_url, plain, &err)
                             : hs_blob_dir_open(f->root, plain, &err);
    if (st != HS_OK)
        fail_msg("plain store: %s", err.message);
}

static void make_key(const fixture *f, const char *name, hs_datakey *out)
{
    char path[400];
    hs_error err = {0};
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    assert_int_equal(hs_datakey_create(path, out, &err), HS_OK);
}

static void open_store(fixture *f)
{
    hs_blob_store *plain = NULL;
    hs_error err = {0};
    open_plain(f, &plain);
    assert_int_equal(hs_blob_crypt_open(plain, &f->keys, &f->store, &err),
                     HS_OK);
}

static int group_dir(void **state)
{
    (void)state;
    pg_url[0] = '\0';
    return 0;
}

static int group_pg(void **state)
{
    (void)state;
    return pgtest_fresh_url(pg_url, sizeof pg_url, NULL);
}

/* A fresh schema for each test of the PostgreSQL group. */
static void pg_fresh(void)
{
    assert_int_equal(pgtest_fresh_url(pg_url, sizeof pg_url, NULL), 0);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/healer-crypt-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof f->root, "%s/blobs", f->dir);
    if (pg_url[0])
        pg_fresh();
    make_key(f, "data.key", &f->keys.current);
    open_store(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hs_blob_store_close(f->store);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

static uint8_t *pattern(size_t n, unsigned seed)
{
    uint8_t *p = malloc(n ? n : 1);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (uint8_t)(x >> 16);
    }
    return p;
}

/* What the plain store holds under `key`: the bytes on disk or in the
 * rows (caller frees). */
static uint8_t *stored_bytes(const fixture *f, const char *key, size_t *len)
{
    hs_blob_store *plain = NULL;
    uint8_t *buf = NULL;
    hs_error err = {0};
    open_plain(f, &plain);
    if (hs_blob_read_all(plain, key, &buf, len, (size_t)1 << 30, &err) !=
        HS_OK)
        fail_msg("%s: %s", key, err.message);
    hs_blob_store_close(plain);
    return buf;
}

/* Puts `buf` in the plain store under `key`, in place of what was there
 * (damage done behind the encrypting layer's back). */
static void store_bytes(const fixture *f, const char *key, const uint8_t *buf,
                        size_t len)
{
    hs_blob_store *plain = NULL;
    hs_blob_writer *w = NULL;
    hs_error err = {0};
    open_plain(f, &plain);
    if (hs_blob_writer_replace(plain, key, &w, &err) != HS_OK ||
        hs_blob_write(w, buf, len, &err) != HS_OK ||
        hs_blob_commit(w, NULL, NULL, &err) != HS_OK)
        fail_msg("%s: %s", key, err.message);
    hs_blob_store_close(plain);
}

/* Writes n pattern bytes in uneven pieces; returns the key. */
static void put(fixture *f, size_t n, unsigned seed, char key[HS_BLOB_KEY_MAX])
{
    uint8_t *data = pattern(n, seed);
    hs_blob_writer *w = NULL;
    hs_error err = {0};
    uint64_t size = 0;
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 0, &w, &err),
                     HS_OK);
    for (size_t at = 0, piece = 1; at < n; at += piece, piece = piece * 3 + 7) {
        if (piece > n - at)
            piece = n - at;
        assert_int_equal(hs_blob_write(w, data + at, piece, &err), HS_OK);
    }
    assert_int_equal(hs_blob_commit(w, key, &size, &err), HS_OK);
    assert_int_equal(size, n);
    free(data);
}

static hs_status read_whole(fixture *f, const char *key, uint8_t **buf,
                            size_t *len, hs_error *err)
{
    return hs_blob_read_all(f->store, key, buf, len, (size_t)1 << 30, err);
}

/* ---- round trips -------------------------------------------------------- */

static void test_round_trip_sizes(void **state)
{
    fixture *f = *state;
    const size_t sizes[] = {0,         1,         CHUNK - 1,        CHUNK,
                            CHUNK + 1, 3 * CHUNK, 5 * CHUNK + 12345};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char key[HS_BLOB_KEY_MAX];
        uint8_t *back = NULL, *want = pattern(sizes[i], (unsigned)i);
        size_t len = 0, stored = 0;
        hs_error err = {0};
        put(f, sizes[i], (unsigned)i, key);
        assert_int_equal(read_whole(f, key, &back, &len, &err), HS_OK);
        assert_int_equal(len, sizes[i]);
        assert_memory_equal(back, want, sizes[i]);
        /* Stored: header + one tag per chunk (an empty blob has one). */
        free(stored_bytes(f, key, &stored));
        size_t chunks = sizes[i] ? (sizes[i] + CHUNK - 1) / CHUNK : 1;
        assert_int_equal(stored, HEADER + sizes[i] + 16 * chunks);
        free(back);
        free(want);
    }
}

static void test_random_access(void **state)
{
    fixture *f = *state;
    size_t n = 4 * CHUNK + 999;
    char key[HS_BLOB_KEY_MAX];
    uint8_t *want = pattern(n, 9), buf[3 * 70000];
    hs_blob_reader *r = NULL;
    hs_error err = {0};
    put(f, n, 9, key);
    assert_int_equal(hs_blob_open_read(f->store, key, &r, &err), HS_OK);
    assert_int_equal(r->size, n);
    const uint64_t offs[] = {n - 1, 0, CHUNK - 3, 2 * CHUNK, 17, n - 70000};
    const size_t lens[] = {1, 10, 6, CHUNK, 3 * 65000, 70000};
    for (size_t i = 0; i < sizeof offs / sizeof *offs; i++) {
        assert_int_equal(hs_blob_read_at(r, buf, lens[i], offs[i], &err),
                         HS_OK);
        assert_memory_equal(buf, want + offs[i], lens[i]);
    }
    assert_int_equal(hs_blob_read_at(r, buf, 2, n - 1, &err), HS_ERR_INVALID);
    /* Reads that cycle through more regions than the reader keeps chunks
     * of (the cache evicts and reloads): always the right bytes. */
    for (size_t round = 0; round < 40; round++) {
        uint64_t off = (round * 7 % 5) * (uint64_t)CHUNK + round * 13;
        assert_int_equal(hs_blob_read_at(r, buf, 100, off, &err), HS_OK);
        assert_memory_equal(buf, want + off, 100);
    }
    hs_blob_reader_close(r);
    free(want);
}

static void test_nothing_in_plain(void **state)
{
    fixture *f = *state;
    const char text[] = "cpu_busy,disk_wait\n12.3456789,0.000123456\n";
    char key[HS_BLOB_KEY_MAX];
    size_t len = 0;
    hs_error err = {0};
    assert_int_equal(
        hs_blob_put(f->store, "upload", text, sizeof text - 1, key, &err),
        HS_OK);
    uint8_t *stored = stored_bytes(f, key, &len);
    assert_null(memmem(stored, len, "12.3456789", 10));
    assert_null(memmem(stored, len, "cpu_busy", 8));
    assert_memory_equal(stored, "HSCRYPT\1", 8);
    assert_memory_equal(stored + 16, f->keys.current.id, 8);
    free(stored);
}

static void test_max_bytes(void **state)
{
    fixture *f = *state;
    hs_blob_writer *w = NULL;
    hs_error err = {0};
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 10, &w, &err),
                     HS_OK);
    assert_int_equal(hs_blob_write(w, "0123456789", 10, &err), HS_OK);
    assert_int_equal(hs_blob_write(w, "x", 1, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "too large"));
    hs_blob_abort(w);
}

/* ---- damage ---------------------------------------------------------------
 */

/* Rewrites blob `key` as `bad`, expects HS_ERR_CORRUPT on reading it
 * whole, then restores `good`. */
static void expect_damaged(fixture *f, const char *key, const uint8_t *bad,
                           size_t bad_len, const uint8_t *good, size_t good_len,
                           const char *what)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hs_error err = {0};
    store_bytes(f, key, bad, bad_len);
    hs_status st = read_whole(f, key, &buf, &len, &err);
    if (st != HS_ERR_CORRUPT)
        fail_msg("%s: status %s, expected HS_ERR_CORRUPT (%s)", what,
                 hs_status_name(st), err.message);
    assert_null(buf);
    assert_non_null(strstr(err.message, key));
    store_bytes(f, key, good, good_len);
    assert_int_equal(read_whole(f, key, &buf, &len, &err), HS_OK);
    free(buf);
}

static void test_tamper(void **state)
{
    fixture *f = *state;
    char key[HS_BLOB_KEY_MAX], other[HS_BLOB_KEY_MAX];
    size_t len = 0, olen = 0;
    put(f, 3 * CHUNK + 100, 1, key);
    put(f, 3 * CHUNK + 100, 2, other);
    uint8_t *good = stored_bytes(f, key, &len);
    uint8_t *bad = malloc(len + STRIDE);

    /* Every bit position class: magic, chunk size, key id, nonce, each
     * chunk's body and tag. */
    const size_t at[] = {0,
                         8,
                         16,
                         30,
                         HEADER + 5,
                         HEADER + STRIDE - 1,
                         HEADER + STRIDE + 77,
                         len - 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        memcpy(bad, good, len);
        bad[at[i]] ^= 0x04;
        expect_damaged(f, key, bad, len, good, len, "flipped bit");
    }
    expect_damaged(f, key, good, HEADER + 2 * STRIDE, good, len,
                   "cut at a chunk boundary");
    expect_damaged(f, key, good, len - 1, good, len, "cut by one byte");
    expect_damaged(f, key, good, HEADER + 10, good, len, "cut in the first");
    expect_damaged(f, key, good, 12, good, len, "cut in the header");
    memcpy(bad, good, len);
    memcpy(bad + len, good + HEADER, STRIDE);
    expect_damaged(f, key, bad, len + STRIDE, good, len, "extended");
    memcpy(bad, good, len);
    memcpy(bad + HEADER, good + HEADER + STRIDE, STRIDE);
    memcpy(bad + HEADER + STRIDE, good + HEADER, STRIDE);
    expect_damaged(f, key, bad, len, good, len, "two chunks swapped");
    /* The same chunk twice (a replay within the file). */
    memcpy(bad, good, len);
    memcpy(bad + HEADER + STRIDE, good + HEADER, STRIDE);
    expect_damaged(f, key, bad, len, good, len, "a chunk repeated");
    /* Another blob's whole file in its place. */
    uint8_t *theirs = stored_bytes(f, other, &olen);
    expect_damaged(f, key, theirs, olen, good, len, "another blob's file");
    /* Plain bytes where an encrypted file was. */
    expect_damaged(f, key, (const uint8_t *)"sample_id,a\n1,2\n", 16, good, len,
                   "plain text");
    free(theirs);
    free(bad);
    free(good);
}

static void test_other_key_refused(void **state)
{
    fixture *f = *state;
    char key[HS_BLOB_KEY_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    hs_error err = {0};
    put(f, 1000, 3, key);
    hs_blob_store_close(f->store);
    make_key(f, "other.key", &f->keys.current);
    open_store(f);
    assert_int_equal(read_whole(f, key, &buf, &len, &err), HS_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "names data key"));
    assert_null(buf);
}

/* ---- rotation ---------------------------------------------------------------
 */

static void test_rekey(void **state)
{
    fixture *f = *state;
    char a[HS_BLOB_KEY_MAX], b[HS_BLOB_KEY_MAX], plain_key[HS_BLOB_KEY_MAX];
    hs_blob_rekey_counts counts;
    hs_error err = {0};
    uint8_t *buf = NULL, *want = NULL;
    size_t len = 0;

    put(f, 2 * CHUNK + 5, 4, a);
    put(f, 10, 5, b);
    /* A file stored before encryption: written through the plain store. */
    hs_blob_store *plain = NULL;
    open_plain(f, &plain);
    assert_int_equal(
        hs_blob_put(plain, "model", "old plain model", 15, plain_key, &err),
        HS_OK);
    hs_blob_store_close(plain);
    assert_int_equal(read_whole(f, plain_key, &buf, &len, &err),
                     HS_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "not an encrypted file"));
    /* In an encrypted directory a plain file is planted or damaged: the
     * rekey refuses it, naming it, instead of making it authentic. */
    assert_int_equal(hs_blob_crypt_rekey(f->store, &counts, &err),
                     HS_ERR_CORRUPT);
    assert_non_null(strstr(err.message, plain_key));
    assert_non_null(strstr(err.message, "not encrypted"));
    assert_int_equal(read_whole(f, plain_key, &buf, &len, &err),
                     HS_ERR_CORRUPT);

    /* Rotate: the new key current, the old one previous; plain files
     * are encrypted only in a migration (a directory from before
     * encryption, as `healer rekey` tells). */
    hs_blob_store_close(f->store);
    f->keys.previous = f->keys.current;
    f->keys.has_previous = 1;
    f->keys.migrating = 1;
    make_key(f, "new.key", &f->keys.current);
    open_store(f);
    assert_int_equal(hs_blob_crypt_rekey(f->store, &counts, &err), HS_OK);
    assert_int_equal(counts.rekeyed, 2);
    assert_int_equal(counts.encrypted, 1);
    assert_int_equal(counts.already, 0);
    /* Resumed (or run twice): nothing left to do. */
    assert_int_equal(hs_blob_crypt_rekey(f->store, &counts, &err), HS_OK);
    assert_int_equal(counts.already, 3);
    assert_int_equal(counts.rekeyed + counts.encrypted, 0);
    /* A half-done rotation (a blob still under the old key, as after a
     * crash) is finished by the next run. */
    hs_blob_store_close(f->store);
    hs_keyring swapped = {f->keys.previous, f->keys.current, 1, 0};
    hs_keyring rotation = f->keys;
    f->keys = swapped;
    open_store(f);
    char late[HS_BLOB_KEY_MAX];
    put(f, CHUNK + 3, 6, late);
    hs_blob_store_close(f->store);
    f->keys = rotation;
    open_store(f);
    assert_int_equal(hs_blob_crypt_rekey(f->store, &counts, &err), HS_OK);
    assert_int_equal(counts.rekeyed, 1);
    assert_int_equal(counts.already, 3);

    /* Everything reads under the new key alone, and says so. */
    hs_blob_store_close(f->store);
    f->keys.has_previous = 0;
    open_store(f);
    want = pattern(2 * CHUNK + 5, 4);
    assert_int_equal(read_whole(f, a, &buf, &len, &err), HS_OK);
    assert_int_equal(len, 2 * CHUNK + 5);
    assert_memory_equal(buf, want, len);
    free(buf);
    free(want);
    assert_int_equal(read_whole(f, plain_key, &buf, &len, &err), HS_OK);
    assert_memory_equal(buf, "old plain model", 15);
    free(buf);
    buf = stored_bytes(f, b, &len);
    assert_memory_equal(buf + 16, f->keys.current.id, 8);
    free(buf);
}

/* ---- key files ----------------------------------------------------------- */

static void test_key_files(void **state)
{
    fixture *f = *state;
    char path[400];
    hs_datakey k, again;
    hs_error err = {0};
    struct stat sb;
    mode_t old = umask(0);

    snprintf(path, sizeof path, "%s/k1", f->dir);
    assert_int_equal(hs_datakey_create(path, &k, &err), HS_OK);
    umask(old);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600); /* whatever the umask */
    assert_int_equal(sb.st_size, HS_DATAKEY_BYTES);
    assert_int_equal(hs_datakey_create(path, NULL, &err), HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "never overwritten"));
    assert_int_equal(hs_datakey_load(path, &again, &err), HS_OK);
    assert_memory_equal(again.key, k.key, HS_DATAKEY_BYTES);
    assert_string_equal(again.id_hex, k.id_hex);
    assert_int_equal(strlen(k.id_hex), 16);

    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(hs_datakey_load(path, &again, &err), HS_ERR_DENIED);
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(hs_datakey_load(path, &again, &err), HS_ERR_DENIED);
    assert_int_equal(chmod(path, 0600), 0);

    /* Through a symbolic link, as on a Kubernetes secret mount (key ->
     * ..data/key): read, and checked on the file it leads to. */
    char link_path[400];
    snprintf(link_path, sizeof link_path, "%s/k1-link", f->dir);
    assert_int_equal(symlink(path, link_path), 0);
    assert_int_equal(hs_datakey_load(link_path, &again, &err), HS_OK);
    assert_memory_equal(again.key, k.key, HS_DATAKEY_BYTES);
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(hs_datakey_load(link_path, &again, &err), HS_ERR_DENIED);
    assert_non_null(strstr(err.message, "chmod 600"));
    assert_int_equal(chmod(path, 0600), 0);

    snprintf(path, sizeof path, "%s/short", f->dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_int_equal(write(fd, k.key, 31), 31);
    close(fd);
    assert_int_equal(hs_datakey_load(path, &again, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "exactly 32 bytes"));
    fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, k.key, 2), 2); /* 33 bytes */
    close(fd);
    assert_int_equal(hs_datakey_load(path, &again, &err), HS_ERR_INVALID);

    snprintf(path, sizeof path, "%s/missing", f->dir);
    assert_int_equal(hs_datakey_load(path, &again, &err), HS_ERR_NOTFOUND);
    assert_int_equal(hs_datakey_load_or_create(path, &again, &err), HS_OK);
    assert_int_equal(hs_datakey_load(path, &k, &err), HS_OK);
    assert_memory_equal(again.key, k.key, HS_DATAKEY_BYTES);
}

/* ---- sealed database values ------------------------------------------------
 */

static void test_sealed_values(void **state)
{
    fixture *f = *state;
    const char plain[] = "{\"preview\":[[12.3456789,\"cpu_busy\"]]}";
    char *sealed = NULL, *back = NULL, *again = NULL;
    hs_error err = {0};

    assert_int_equal(hs_sealed_seal(&f->keys, HS_SEALED_DATASET_PROFILE, plain,
                                    &sealed, &err),
                     HS_OK);
    assert_int_equal(strncmp(sealed, "enc:v1:", 7), 0);
    assert_null(strstr(sealed, "12.3456789"));
    assert_null(strstr(sealed, "cpu_busy"));
    assert_true(hs_sealed_is_current(&f->keys, sealed));
    assert_int_equal(hs_sealed_open(&f->keys, HS_SEALED_DATASET_PROFILE, sealed,
                                    &back, &err),
                     HS_OK);
    assert_string_equal(back, plain);
    free(back);
    /* A fresh nonce every time. */
    assert_int_equal(hs_sealed_seal(&f->keys, HS_SEALED_DATASET_PROFILE, plain,
                                    &again, &err),
                     HS_OK);
    assert_string_not_equal(again, sealed);
    free(again);

    /* Moved to another field: refused. */
    assert_int_equal(
        hs_sealed_open(&f->keys, HS_SEALED_MODEL_SUMMARY, sealed, &back, &err),
        HS_ERR_CORRUPT);
    assert_null(back);
    /* Any changed character: refused. */
    for (size_t i = 7, n = strlen(sealed); i < n; i += 5) {
        char *bad = strdup(sealed);
        bad[i] = bad[i] == 'z' ? 'y' : 'z'; /* never the same value */
        assert_int_not_equal(hs_sealed_open(&f->keys, HS_SEALED_DATASET_PROFILE,
                                            bad, &back, &err),
                             HS_OK);
        assert_null(back);
        free(bad);
    }
    /* Cut short: refused. */
    sealed[strlen(sealed) - 8] = '\0';
    assert_int_equal(hs_sealed_open(&f->keys, HS_SEALED_DATASET_PROFILE, sealed,
                                    &back, &err),
                     HS_ERR_CORRUPT);
    free(sealed);

    /* Plain text where a sealed value belongs: refused (a database
     * writer must not be able to put values in) ... */
    assert_int_equal(
        hs_sealed_open(&f->keys, HS_SEALED_DATASET_PROFILE, plain, &back, &err),
        HS_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "not encrypted"));
    assert_null(back);
    /* ... except while `healer rekey` migrates a directory from before
     * encryption, and with no keys at all; NULL stays NULL. */
    f->keys.migrating = 1;
    assert_int_equal(
        hs_sealed_open(&f->keys, HS_SEALED_DATASET_PROFILE, plain, &back, &err),
        HS_OK);
    assert_string_equal(back, plain);
    free(back);
    f->keys.migrating = 0;
    assert_int_equal(
        hs_sealed_open(NULL, HS_SEALED_DATASET_PROFILE, plain, &back, &err),
        HS_OK);
    assert_string_equal(back, plain);
    free(back);
    assert_int_equal(
        hs_sealed_open(&f->keys, HS_SEALED_DATASET_PROFILE, NULL, &back, &err),
        HS_OK);
    assert_null(back);

    /* Under a key the ring does not have. */
    hs_keyring other = {0};
    make_key(f, "other.key", &other.current);
    assert_int_equal(
        hs_sealed_seal(&other, HS_SEALED_MODEL_SUMMARY, plain, &sealed, &err),
        HS_OK);
    assert_false(hs_sealed_is_current(&f->keys, sealed));
    assert_int_equal(
        hs_sealed_open(&f->keys, HS_SEALED_MODEL_SUMMARY, sealed, &back, &err),
        HS_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "names data key"));
    /* ... until it is the previous key of a rotation. */
    f->keys.previous = other.current;
    f->keys.has_previous = 1;
    assert_int_equal(
        hs_sealed_open(&f->keys, HS_SEALED_MODEL_SUMMARY, sealed, &back, &err),
        HS_OK);
    assert_string_equal(back, plain);
    free(back);
    free(sealed);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define LAYER                                                                  \
    T(test_round_trip_sizes), T(test_random_access), T(test_nothing_in_plain), \
        T(test_max_bytes), T(test_tamper), T(test_other_key_refused),          \
        T(test_rekey)
    const struct CMUnitTest dir_tests[] = {
        LAYER,
        T(test_key_files),
        T(test_sealed_values),
    };
    const struct CMUnitTest pg_tests[] = {LAYER};
#undef LAYER
#undef T
    int failed = cmocka_run_group_tests_name("encryption over a directory",
                                             dir_tests, group_dir, NULL);
    return failed + cmocka_run_group_tests_name("encryption over postgresql",
                                                pg_tests, group_pg, NULL);
}
