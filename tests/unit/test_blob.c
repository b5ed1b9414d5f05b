/* test_blob.c - the blob store interface through its directory backend.
 *
 * What a caller relies on is checked from the outside: bytes round-trip
 * exactly, nothing half-written is ever visible (not under the key, not as
 * a stray file), aborts and failed writes leave nothing behind, every bad
 * kind or key is refused before touching the filesystem, and parallel
 * writers sharing one store never disturb each other. Each test gets a
 * fresh mkdtemp directory that is removed recursively afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "testutil.h"

#include "blob/blob.h"

typedef struct fixture {
    char dir[256];  /* mkdtemp result, removed at teardown */
    char root[300]; /* dir + "/data/blobs": exercises mkdir -p */
    hs_blob_store *store;
    size_t fds_at_start; /* open descriptors before the store existed */
} fixture;

/* ---- helpers ----------------------------------------------------------- */


/* Counts non-directory entries below `path`; with skip_tmp, the top-level
 * tmp/ directory is not entered. */
static size_t count_files(const char *path, int skip_tmp)
{
    DIR *d = opendir(path);
    struct dirent *e;
    size_t n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char child[1024];
        struct stat sb;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(child, sizeof child, "%s/%s", path, e->d_name);
        assert_int_equal(lstat(child, &sb), 0);
        if (!S_ISDIR(sb.st_mode))
            n++;
        else if (!(skip_tmp && !strcmp(e->d_name, "tmp")))
            n += count_files(child, 0);
    }
    closedir(d);
    return n;
}

static size_t count_tmp(const fixture *f)
{
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/tmp", f->root);
    return count_files(tmp, 0);
}

/* Deterministic content that differs for every (a, b) pair. */
static void fill_pattern(uint8_t *buf, size_t len, uint32_t a, uint32_t b)
{
    uint32_t x = a * 2654435761u ^ (b + 0x9e3779b9u);
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    if (len >= 8) {
        memcpy(buf, &a, 4);
        memcpy(buf + 4, &b, 4);
    }
}

static void expect_content(hs_blob_store *s, const char *key,
                           const uint8_t *want, size_t len)
{
    uint8_t *got = NULL;
    size_t got_len = 0;
    hs_error err = {0};
    assert_int_equal(hs_blob_read_all(s, key, &got, &got_len, len + 1, &err),
                     HS_OK);
    assert_int_equal(got_len, len);
    assert_memory_equal(got, want, len);
    free(got);
}

/* Open descriptors of this process: the store must not leak any. */
static size_t count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    size_t n = 0;
    if (!d)
        return 0; /* no /proc: the check degrades to a no-op */
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    const char *base = getenv("TMPDIR");
    hs_error err = {0};
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "%s/healer-blob-XXXXXX",
             base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->root, sizeof f->root, "%s/data/blobs", f->dir);
    f->fds_at_start = count_open_fds();
    assert_int_equal(hs_blob_dir_open(f->root, &f->store, &err), HS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hs_blob_store_close(f->store);
    assert_int_equal(count_open_fds(), f->fds_at_start);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

/* ---- tests ------------------------------------------------------------- */

static void test_put_read_round_trip(void **state)
{
    fixture *f = *state;
    char key[HS_BLOB_KEY_MAX], empty_key[HS_BLOB_KEY_MAX];
    static const char text[] = "sensor,fault\n1.5,bearing\n";
    uint8_t *buf = NULL;
    size_t len = 99;
    hs_error err = {0};

    assert_int_equal(
        hs_blob_put(f->store, "upload", text, sizeof text - 1, key, &err),
        HS_OK);
    assert_true(hs_blob_key_valid(key));
    assert_int_equal(strncmp(key, "upload/", 7), 0);
    expect_content(f->store, key, (const uint8_t *)text, sizeof text - 1);

    /* An empty blob is a real blob. */
    assert_int_equal(hs_blob_put(f->store, "result", NULL, 0, empty_key, &err),
                     HS_OK);
    assert_int_equal(hs_blob_read_all(f->store, empty_key, &buf, &len, 0, &err),
                     HS_OK);
    assert_non_null(buf);
    assert_int_equal(len, 0);
    free(buf);

    /* A max below the size is refused, not truncated. */
    assert_int_equal(hs_blob_read_all(f->store, key, &buf, &len, 4, &err),
                     HS_ERR_INVALID);
    assert_null(buf);
    assert_non_null(strstr(err.message, "too large"));
}

static void test_streamed_many_chunks(void **state)
{
    fixture *f = *state;
    size_t total = 0, off = 0;
    hs_blob_writer *w = NULL;
    char key[HS_BLOB_KEY_MAX];
    uint64_t size = 0;
    hs_error err = {0};

    for (size_t i = 0; i < 1000; i++)
        total += 1 + (i * 37) % 997;
    uint8_t *data = malloc(total);
    assert_non_null(data);
    fill_pattern(data, total, 1, 2);

    assert_int_equal(hs_blob_writer_open(f->store, "model", 0, &w, &err),
                     HS_OK);
    for (size_t i = 0; i < 1000; i++) {
        size_t n = 1 + (i * 37) % 997;
        assert_int_equal(hs_blob_write(w, data + off, n, &err), HS_OK);
        off += n;
    }
    assert_int_equal(hs_blob_write(w, NULL, 0, &err), HS_OK);
    assert_int_equal(hs_blob_commit(w, key, &size, &err), HS_OK);
    assert_int_equal(size, total);
    assert_int_equal(strncmp(key, "model/", 6), 0);
    expect_content(f->store, key, data, total);
    assert_int_equal(count_tmp(f), 0);
    free(data);
}

static void test_commit_keys_distinct(void **state)
{
    fixture *f = *state;
    char keys[20][HS_BLOB_KEY_MAX];
    hs_error err = {0};

    for (int i = 0; i < 20; i++) {
        assert_int_equal(
            hs_blob_put(f->store, "result", "same", 4, keys[i], &err), HS_OK);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(keys[i], keys[j]);
    }
    assert_int_equal(count_files(f->root, 1), 20);
}

static void test_abort_leaves_nothing(void **state)
{
    fixture *f = *state;
    hs_blob_writer *w = NULL;
    hs_error err = {0};

    assert_int_equal(hs_blob_writer_open(f->store, "upload", 0, &w, &err),
                     HS_OK);
    assert_int_equal(hs_blob_write(w, "partial", 7, &err), HS_OK);
    assert_int_equal(count_files(f->root, 0), 1); /* just the temp file */
    hs_blob_abort(w);
    assert_int_equal(count_files(f->root, 0), 0);

    /* Abort straight after open, and abort(NULL), are fine too. */
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 0, &w, &err),
                     HS_OK);
    hs_blob_abort(w);
    hs_blob_abort(NULL);
    assert_int_equal(count_files(f->root, 0), 0);
}

/* The key a pending writer will get, recovered from its temp file name
 * ("<kind>.<hex>"), so the test can ask the store about it. */
static void pending_key(const fixture *f, char key[HS_BLOB_KEY_MAX])
{
    char tmp[400];
    struct dirent *e;
    DIR *d;
    snprintf(tmp, sizeof tmp, "%s/tmp", f->root);
    d = opendir(tmp);
    assert_non_null(d);
    key[0] = '\0';
    while ((e = readdir(d)) != NULL) {
        char *dot = strchr(e->d_name, '.');
        if (e->d_name[0] == '.' || !dot)
            continue;
        snprintf(key, HS_BLOB_KEY_MAX, "%.*s/%s", (int)(dot - e->d_name),
                 e->d_name, dot + 1);
    }
    closedir(d);
    assert_true(hs_blob_key_valid(key));
}

static void test_invisible_before_commit(void **state)
{
    fixture *f = *state;
    hs_blob_writer *w = NULL;
    char key[HS_BLOB_KEY_MAX], pending[HS_BLOB_KEY_MAX];
    uint8_t data[8192];
    int exists = 1;
    hs_error err = {0};

    fill_pattern(data, sizeof data, 3, 4);
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 0, &w, &err),
                     HS_OK);
    assert_int_equal(hs_blob_write(w, data, sizeof data, &err), HS_OK);
    pending_key(f, pending);

    assert_int_equal(hs_blob_exists(f->store, pending, &exists, &err), HS_OK);
    assert_false(exists);
    assert_int_equal(count_files(f->root, 1), 0);
    hs_blob_reader *r = (hs_blob_reader *)f;
    assert_int_equal(hs_blob_open_read(f->store, pending, &r, &err),
                     HS_ERR_NOTFOUND);
    assert_null(r);

    assert_int_equal(hs_blob_commit(w, key, NULL, &err), HS_OK);
    assert_string_equal(key, pending);
    assert_int_equal(hs_blob_exists(f->store, key, &exists, &err), HS_OK);
    assert_true(exists);
    assert_int_equal(count_files(f->root, 1), 1);
    assert_int_equal(count_tmp(f), 0);
    expect_content(f->store, key, data, sizeof data);
}

static void test_max_bytes(void **state)
{
    fixture *f = *state;
    hs_blob_writer *w = NULL;
    char key[HS_BLOB_KEY_MAX];
    uint8_t data[100] = {0};
    uint64_t size = 0;
    hs_error err = {0};

    /* Exactly at the limit is allowed. */
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 100, &w, &err),
                     HS_OK);
    assert_int_equal(hs_blob_write(w, data, 60, &err), HS_OK);
    assert_int_equal(hs_blob_write(w, data, 40, &err), HS_OK);
    assert_int_equal(hs_blob_commit(w, key, &size, &err), HS_OK);
    assert_int_equal(size, 100);

    /* One byte over fails; the writer stays failed; abort cleans up. */
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 100, &w, &err),
                     HS_OK);
    assert_int_equal(hs_blob_write(w, data, 60, &err), HS_OK);
    assert_int_equal(hs_blob_write(w, data, 41, &err), HS_ERR_INVALID);
    assert_int_equal(err.code, HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "too large"));
    assert_int_equal(hs_blob_write(w, data, 1, &err), HS_ERR_INVALID);
    hs_blob_abort(w);
    assert_int_equal(count_files(f->root, 1), 1);
    assert_int_equal(count_tmp(f), 0);

    /* Committing a failed writer is refused and also cleans up. */
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 10, &w, &err),
                     HS_OK);
    assert_int_equal(hs_blob_write(w, data, 11, &err), HS_ERR_INVALID);
    assert_int_equal(hs_blob_commit(w, key, &size, &err), HS_ERR_INVALID);
    assert_string_equal(key, "");
    assert_int_equal(count_files(f->root, 1), 1);
    assert_int_equal(count_tmp(f), 0);
}

static void test_invalid_kinds_and_keys(void **state)
{
    fixture *f = *state;
    hs_blob_writer *w = NULL;
    char key[HS_BLOB_KEY_MAX], long_str[4096];
    uint8_t *buf = NULL;
    size_t len = 0;
    int exists = 0;
    hs_blob_reader *r = NULL;
    hs_error err = {0};

    memset(long_str, 'a', sizeof long_str - 1);
    long_str[sizeof long_str - 1] = '\0';
    const char *bad_kinds[] = {
        "",
        "UPLOAD",
        "../x",
        "a/b",
        "up load",
        "tmp",
        "up.load",
        "x\n",
        "abcdefghijklmnopqrstuvwxyz0123456", /* 33 characters */
        long_str,
        NULL,
    };
    for (size_t i = 0; i < sizeof bad_kinds / sizeof *bad_kinds; i++) {
        w = (hs_blob_writer *)&err; /* must be reset to NULL */
        assert_int_equal(
            hs_blob_writer_open(f->store, bad_kinds[i], 0, &w, &err),
            HS_ERR_INVALID);
        assert_null(w);
        assert_int_equal(hs_blob_put(f->store, bad_kinds[i], "x", 1, key, &err),
                         HS_ERR_INVALID);
    }
    /* 32 characters is the longest kind. */
    assert_int_equal(hs_blob_put(f->store, "abcdefghijklmnopqrstuvwxyz_01234",
                                 "x", 1, key, &err),
                     HS_OK);
    assert_true(hs_blob_key_valid(key));

    const char *bad_keys[] = {
        "",
        "../x",
        "upload/../../etc",
        "upload/../../etc/passwd",
        "UPLOAD/0123456789abcdef0123456789abcdef",
        "upload/0123456789ABCDEF0123456789ABCDEF",
        "upload/ghijklmnopqrstuvghijklmnopqrstuv",
        "upload/0123456789abcdef0123456789abcde",   /* 31 hex */
        "upload/0123456789abcdef0123456789abcdef0", /* 33 hex */
        "upload/0123456789abcdef0123456789abcdef/",
        "upload//0123456789abcdef0123456789abcde",
        "/0123456789abcdef0123456789abcdef",
        "/etc/passwd",
        "tmp/0123456789abcdef0123456789abcdef",
        "upload/0123456789abcdef0123456789abcdeg",
        "upload",
        "upload/",
        long_str,
        NULL,
    };
    for (size_t i = 0; i < sizeof bad_keys / sizeof *bad_keys; i++) {
        const char *k = bad_keys[i];
        assert_false(hs_blob_key_valid(k));
        assert_int_equal(hs_blob_exists(f->store, k, &exists, &err),
                         HS_ERR_INVALID);
        assert_int_equal(hs_blob_open_read(f->store, k, &r, &err),
                         HS_ERR_INVALID);
        assert_null(r);
        assert_int_equal(hs_blob_read_all(f->store, k, &buf, &len, 100, &err),
                         HS_ERR_INVALID);
        assert_null(buf);
        assert_int_equal(hs_blob_delete(f->store, k, &err), HS_ERR_INVALID);
    }
    /* Error reporting also works without an hs_error. */
    assert_int_equal(hs_blob_delete(f->store, "../x", NULL), HS_ERR_INVALID);
}

static void test_delete_then_not_found(void **state)
{
    fixture *f = *state;
    char key[HS_BLOB_KEY_MAX];
    uint8_t *buf = NULL;
    size_t len = 0;
    int exists = 1;
    hs_blob_reader *r = NULL;
    hs_error err = {0};

    assert_int_equal(hs_blob_put(f->store, "model", "weights", 7, key, &err),
                     HS_OK);
    assert_int_equal(hs_blob_delete(f->store, key, &err), HS_OK);
    assert_int_equal(hs_blob_read_all(f->store, key, &buf, &len, 100, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(err.code, HS_ERR_NOTFOUND);
    assert_int_equal(hs_blob_open_read(f->store, key, &r, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_blob_exists(f->store, key, &exists, &err), HS_OK);
    assert_false(exists);
    assert_int_equal(hs_blob_delete(f->store, key, &err), HS_ERR_NOTFOUND);
    /* A well-formed key of a kind never written. */
    assert_int_equal(hs_blob_delete(f->store,
                                    "never/0123456789abcdef0123456789abcdef",
                                    &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(count_files(f->root, 0), 0);
}

static void test_open_read_streams(void **state)
{
    fixture *f = *state;
    size_t n = 100003;
    uint8_t *data = malloc(n), *back = malloc(n);
    char key[HS_BLOB_KEY_MAX];
    hs_blob_reader *r = NULL;
    hs_error err = {0};

    assert_non_null(data);
    assert_non_null(back);
    fill_pattern(data, n, 5, 6);
    assert_int_equal(hs_blob_put(f->store, "result", data, n, key, &err),
                     HS_OK);
    assert_int_equal(hs_blob_open_read(f->store, key, &r, &err), HS_OK);
    assert_int_equal(r->size, n);
    /* Any range, in any order; past the end is refused. */
    assert_int_equal(hs_blob_read_at(r, back + 5000, n - 5000, 5000, &err),
                     HS_OK);
    assert_int_equal(hs_blob_read_at(r, back, 5000, 0, &err), HS_OK);
    assert_memory_equal(back, data, n);
    assert_int_equal(hs_blob_read_at(r, back, 2, n - 1, &err),
                     HS_ERR_INVALID);
    hs_blob_reader_close(r);
    free(data);
    free(back);
}

static void make_temp_file(const char *path, time_t age_seconds)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "half", 4), 4);
    close(fd);
    if (age_seconds) {
        struct timespec t[2];
        t[0].tv_sec = t[1].tv_sec = time(NULL) - age_seconds;
        t[0].tv_nsec = t[1].tv_nsec = 0;
        assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    }
}

static void test_stale_temps_removed_on_reopen(void **state)
{
    fixture *f = *state;
    char stale[512], fresh[512];
    struct stat sb;
    hs_error err = {0};

    /* A crashed writer's file, and one a live process is still writing. */
    snprintf(stale, sizeof stale,
             "%s/tmp/upload.0123456789abcdef0123456789abcdef", f->root);
    snprintf(fresh, sizeof fresh,
             "%s/tmp/upload.fedcba9876543210fedcba9876543210", f->root);
    make_temp_file(stale, HS_BLOB_DIR_STALE_SECONDS + 60);
    make_temp_file(fresh, 0);

    hs_blob_store_close(f->store);
    f->store = NULL;
    assert_int_equal(hs_blob_dir_open(f->root, &f->store, &err), HS_OK);
    assert_int_equal(stat(stale, &sb), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(stat(fresh, &sb), 0);
    assert_int_equal(count_tmp(f), 1);
}

typedef struct listed {
    char keys[8][HS_BLOB_KEY_MAX];
    uint64_t sizes[8];
    int64_t mtimes[8];
    size_t n, stop_after;
} listed;

static hs_status remember(void *arg, const char *key, uint64_t size,
                          int64_t mtime, hs_error *err)
{
    listed *l = arg;
    assert_true(l->n < 8);
    snprintf(l->keys[l->n], sizeof l->keys[l->n], "%s", key);
    l->sizes[l->n] = size;
    l->mtimes[l->n++] = mtime;
    return l->stop_after && l->n >= l->stop_after
               ? hs_fail(err, HS_ERR_CONFLICT, "enough")
               : HS_OK;
}

static int listed_has(const listed *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->keys[i], key))
            return 1;
    return 0;
}

/* Every committed blob, with its size and time; never a writer's temp
 * file, nor a file this store could not have made; a visitor stops it by
 * failing, its status returned. Listing twice sees the same (the scans
 * share no position). */
static void test_each(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char a[HS_BLOB_KEY_MAX], b[HS_BLOB_KEY_MAX], junk[600];
    hs_blob_writer *w = NULL;
    struct timespec before;
    clock_gettime(CLOCK_REALTIME, &before);
    assert_int_equal(hs_blob_put(f->store, "upload", "12345", 5, a, &err),
                     HS_OK);
    assert_int_equal(hs_blob_put(f->store, "model", "123", 3, b, &err), HS_OK);
    assert_int_equal(hs_blob_writer_open(f->store, "upload", 0, &w, &err),
                     HS_OK);
    assert_int_equal(hs_blob_write(w, "half", 4, &err), HS_OK);
    snprintf(junk, sizeof junk, "%s/upload/not-a-key", f->root);
    make_temp_file(junk, 0);
    /* a plain file where a kind's folder would be is not a blob either */
    snprintf(junk, sizeof junk, "%s/report", f->root);
    make_temp_file(junk, 0);
    for (int round = 0; round < 2; round++) {
        listed l = {0};
        assert_int_equal(hs_blob_each(f->store, remember, &l, &err), HS_OK);
        assert_int_equal(l.n, 2);
        assert_true(listed_has(&l, a));
        assert_true(listed_has(&l, b));
        for (size_t i = 0; i < l.n; i++) {
            assert_int_equal(l.sizes[i], !strcmp(l.keys[i], a) ? 5 : 3);
            /* file times are coarse: within a second of the clock */
            assert_true(l.mtimes[i] >=
                        (int64_t)before.tv_sec * 1000000000LL - 1000000000LL);
        }
    }
    listed one = {.stop_after = 1};
    assert_int_equal(hs_blob_each(f->store, remember, &one, &err),
                     HS_ERR_CONFLICT);
    assert_string_equal(err.message, "enough");
    assert_int_equal(one.n, 1);
    assert_int_equal(hs_blob_each(f->store, NULL, &one, &err), HS_ERR_INVALID);
    hs_blob_abort(w);
}

/* Temp files last written before the cutoff go, newer ones stay; a sweep
 * after an earlier scan of tmp/ (the one at open) still sees them. */
static void test_sweep_temps(void **state)
{
    fixture *f = *state;
    char old[512], young[512];
    hs_error err = {0};
    size_t count = 9;
    uint64_t bytes = 9;
    snprintf(old, sizeof old,
             "%s/tmp/upload.0123456789abcdef0123456789abcdef", f->root);
    snprintf(young, sizeof young,
             "%s/tmp/upload.fedcba9876543210fedcba9876543210", f->root);
    make_temp_file(old, 120);
    make_temp_file(young, 0);
    int64_t cutoff = ((int64_t)time(NULL) - 60) * 1000000000LL;
    assert_int_equal(hs_blob_sweep_temps(f->store, cutoff, &count, &bytes,
                                         &err),
                     HS_OK);
    assert_int_equal(count, 1);
    assert_int_equal(bytes, 4);
    assert_int_equal(access(old, F_OK), -1);
    assert_int_equal(access(young, F_OK), 0);
    /* again: nothing left that old, and the scan starts from the top */
    assert_int_equal(hs_blob_sweep_temps(f->store, cutoff, &count, &bytes,
                                         &err),
                     HS_OK);
    assert_int_equal(count, 0);
    cutoff = ((int64_t)time(NULL) + 60) * 1000000000LL;
    assert_int_equal(hs_blob_sweep_temps(f->store, cutoff, NULL, NULL, &err),
                     HS_OK);
    assert_int_equal(count_tmp(f), 0);
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    hs_blob_store *s = (hs_blob_store *)f;
    char file_root[512];
    hs_error err = {0};

    assert_int_equal(hs_blob_dir_open("", &s, &err), HS_ERR_INVALID);
    assert_null(s);
    assert_int_equal(hs_blob_dir_open(NULL, &s, &err), HS_ERR_INVALID);
    /* A root that is a regular file cannot be used. */
    snprintf(file_root, sizeof file_root, "%s/plain", f->dir);
    make_temp_file(file_root, 0);
    assert_int_equal(hs_blob_dir_open(file_root, &s, &err), HS_ERR_IO);
    assert_null(s);
    assert_true(strlen(err.message) > 0);
    /* Reopening an existing store works and sees its blobs. */
    char key[HS_BLOB_KEY_MAX];
    assert_int_equal(hs_blob_put(f->store, "upload", "abc", 3, key, &err),
                     HS_OK);
    assert_int_equal(hs_blob_dir_open(f->root, &s, &err), HS_OK);
    expect_content(s, key, (const uint8_t *)"abc", 3);
    hs_blob_store_close(s);
    hs_blob_store_close(NULL);
}

/* ---- concurrency ------------------------------------------------------- */

enum { N_THREADS = 8, BLOB_BYTES = 64 * 1024 };

typedef struct worker {
    hs_blob_store *store;
    uint32_t thread_index;
    size_t n_blobs;
    char (*keys)[HS_BLOB_KEY_MAX]; /* n_blobs entries, owned by the test */
    int failures;
    hs_error err;
} worker;

static void *worker_main(void *arg)
{
    worker *wk = arg;
    uint8_t *data = malloc(BLOB_BYTES);
    if (!data) {
        wk->failures++;
        return NULL;
    }
    for (size_t b = 0; b < wk->n_blobs; b++) {
        hs_blob_writer *w = NULL;
        uint64_t size = 0;
        fill_pattern(data, BLOB_BYTES, wk->thread_index, (uint32_t)b);
        if (hs_blob_writer_open(wk->store, "upload", BLOB_BYTES, &w,
                                &wk->err) != HS_OK) {
            wk->failures++;
            continue;
        }
        /* Odd chunk sizes so that writes of different threads interleave. */
        size_t off = 0, ok = 1;
        while (ok && off < BLOB_BYTES) {
            size_t n = BLOB_BYTES - off < 3001 ? BLOB_BYTES - off : 3001;
            ok = hs_blob_write(w, data + off, n, &wk->err) == HS_OK;
            off += n;
        }
        if (!ok) {
            hs_blob_abort(w);
            wk->failures++;
            continue;
        }
        if (hs_blob_commit(w, wk->keys[b], &size, &wk->err) != HS_OK ||
            size != BLOB_BYTES)
            wk->failures++;
    }
    free(data);
    return NULL;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_parallel_writers(void **state)
{
    fixture *f = *state;
    size_t per_thread = tu_quick() ? 10 : 50;
    size_t total = N_THREADS * per_thread;
    char(*keys)[HS_BLOB_KEY_MAX] = calloc(total, sizeof *keys);
    char(*sorted)[HS_BLOB_KEY_MAX] = calloc(total, sizeof *sorted);
    uint8_t *want = malloc(BLOB_BYTES);
    worker workers[N_THREADS];
    pthread_t threads[N_THREADS];

    assert_non_null(keys);
    assert_non_null(sorted);
    assert_non_null(want);
    for (uint32_t t = 0; t < N_THREADS; t++) {
        workers[t] = (worker){.store = f->store,
                              .thread_index = t,
                              .n_blobs = per_thread,
                              .keys = keys + t * per_thread};
        assert_int_equal(
            pthread_create(&threads[t], NULL, worker_main, &workers[t]), 0);
    }
    for (uint32_t t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        if (workers[t].failures)
            fail_msg("thread %u: %s", t, workers[t].err.message);
    }

    for (uint32_t t = 0; t < N_THREADS; t++) {
        for (size_t b = 0; b < per_thread; b++) {
            fill_pattern(want, BLOB_BYTES, t, (uint32_t)b);
            expect_content(f->store, keys[t * per_thread + b], want,
                           BLOB_BYTES);
        }
    }
    memcpy(sorted, keys, total * sizeof *keys);
    qsort(sorted, total, sizeof *sorted, compare_keys);
    for (size_t i = 1; i < total; i++)
        assert_string_not_equal(sorted[i - 1], sorted[i]);
    assert_int_equal(count_files(f->root, 1), total);
    assert_int_equal(count_tmp(f), 0);
    free(keys);
    free(sorted);
    free(want);
}

static void test_large_streamed_blob(void **state)
{
    fixture *f = *state;
    const size_t total = 10u << 20, chunk = 4096;
    uint8_t *data = malloc(total);
    hs_blob_writer *w = NULL;
    char key[HS_BLOB_KEY_MAX];
    uint64_t size = 0;
    hs_error err = {0};

    assert_non_null(data);
    fill_pattern(data, total, 7, 8);
    assert_int_equal(hs_blob_writer_open(f->store, "upload", total, &w, &err),
                     HS_OK);
    for (size_t off = 0; off < total; off += chunk)
        assert_int_equal(hs_blob_write(w, data + off, chunk, &err), HS_OK);
    assert_int_equal(hs_blob_commit(w, key, &size, &err), HS_OK);
    assert_int_equal(size, total);
    expect_content(f->store, key, data, total);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
        T(test_put_read_round_trip),
        T(test_streamed_many_chunks),
        T(test_commit_keys_distinct),
        T(test_abort_leaves_nothing),
        T(test_invisible_before_commit),
        T(test_max_bytes),
        T(test_invalid_kinds_and_keys),
        T(test_delete_then_not_found),
        T(test_open_read_streams),
        T(test_stale_temps_removed_on_reopen),
        T(test_each),
        T(test_sweep_temps),
        T(test_open_errors),
        T(test_parallel_writers),
        T(test_large_streamed_blob),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
