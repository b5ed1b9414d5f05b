/* blob_dir.c - the directory backend of the blob store (see blob.h).
 *
 * Layout under the root directory:
 *     root/tmp/<kind>.<hex>   a blob being written (never a valid key)
 *     root/<kind>/<hex>       a committed blob, key "<kind>/<hex>"
 *
 * A writer creates its temp file with O_CREAT|O_EXCL (mode 0600), streams
 * chunks into it, then on commit fsyncs it, renames it to its final name
 * and fsyncs the destination directory. tmp/ is inside the root, so the
 * rename never crosses a filesystem and is atomic: readers see either no
 * blob or the whole blob. The rename refuses to replace an existing blob
 * (RENAME_NOREPLACE, or link+unlink where that flag is unsupported), so
 * even a 128-bit key collision cannot overwrite a record.
 *
 * Every access goes through directory descriptors opened once (openat and
 * friends), and the store object is immutable after hs_blob_dir_open, so
 * any number of threads can share it without locks; the filesystem is the
 * only shared state. Keys reach this file already validated by blob.h and
 * are checked again here before use, since they become relative paths.
 *
 * Deliberately not done: locking against other processes (they may share
 * the directory safely, as all names are random and created exclusively),
 * fsync on delete (a delete that is lost in a crash just leaves garbage).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "blob/blob.h"

#define TMP_DIR "tmp"
/* "<kind>.<hex>" + NUL */
#define TMP_NAME_MAX (HS_BLOB_KIND_MAX + 1 + HS_BLOB_ID_HEX + 1)

typedef struct dir_store {
    hs_blob_store base; /* base.impl points back here */
    char *root;         /* for messages only */
    int root_fd;        /* O_DIRECTORY descriptors; immutable after open */
    int tmp_fd;
} dir_store;

typedef struct dir_writer {
    hs_blob_writer base; /* must be first: blob.h dispatches through it */
    dir_store *store;
    int fd;           /* the temp file */
    int failed;       /* a write failed: only abort is allowed now */
    int replace;      /* commit replaces the blob <kind>/<hex> (rekey) */
    size_t max_bytes; /* 0 = unlimited */
    uint64_t written;
    char kind[HS_BLOB_KIND_MAX + 1];
    char hex[HS_BLOB_ID_HEX + 1];
    char tmp_name[TMP_NAME_MAX];
} dir_writer;

static const hs_blob_ops dir_ops;

static hs_status fail_errno(hs_error *err, hs_status code, const char *what,
                            const char *name, int errnum)
{
    /* strerror_r, not strerror: many requests do I/O at once. */
    char buf[128];
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *msg = strerror_r(errnum, buf, sizeof buf); /* GNU form */
#else
    const char *msg = buf;
    if (strerror_r(errnum, buf, sizeof buf) != 0)
        snprintf(buf, sizeof buf, "error %d", errnum);
#endif
    return hs_fail(err, code, "blob store: %s %s: %s", what, name, msg);
}

hs_status hs_blob__random_id(char out[HS_BLOB_ID_HEX + 1], hs_error *err)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[HS_BLOB_ID_HEX / 2];
    size_t got = 0, i;

    while (got < sizeof raw) {
        ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail_errno(err, HS_ERR_IO, "getrandom", "", errno);
        got += (size_t)n;
    }
    for (i = 0; i < sizeof raw; i++) {
        out[2 * i] = digits[raw[i] >> 4];
        out[2 * i + 1] = digits[raw[i] & 15];
    }
    out[HS_BLOB_ID_HEX] = '\0';
    return HS_OK;
}

/* Writes all len bytes, riding out EINTR and short writes. */
static int write_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int open_dir_at(int dir_fd, const char *name)
{
    return openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* mkdir -p with mode 0700 for the components that do not exist yet. */
static hs_status make_dirs(const char *path, hs_error *err)
{
    char *copy = strdup(path);
    char *p;
    hs_status st = HS_OK;

    if (!copy)
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    for (p = copy + 1;; p++) {
        char saved = *p;
        if (saved != '/' && saved != '\0')
            continue;
        *p = '\0';
        if (mkdir(copy, 0700) != 0 && errno != EEXIST) {
            st = fail_errno(err, HS_ERR_IO, "cannot create", copy, errno);
            break;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    free(copy);
    return st;
}

static int64_t mtime_ns(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000000LL + sb->st_mtim.tv_nsec;
}

/* Removes the temp files no writer has touched since before_ns: left
 * behind by a process that crashed. */
static hs_status remove_stale_temps(dir_store *s, int64_t before_ns,
                                    size_t *count, uint64_t *bytes,
                                    hs_error *err)
{
    int fd = dup(s->tmp_fd); /* closedir closes it; keep tmp_fd */
    DIR *dir;
    struct dirent *ent;
    hs_status st = HS_OK;

    *count = 0;
    *bytes = 0;
    if (fd < 0)
        return fail_errno(err, HS_ERR_IO, "cannot scan", s->root, errno);
    dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return fail_errno(err, HS_ERR_IO, "cannot scan", s->root, errno);
    }
    rewinddir(dir); /* a dup shares the offset an earlier scan moved */
    while ((ent = readdir(dir)) != NULL) {
        struct stat sb;
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0)
            continue;
        if (fstatat(s->tmp_fd, ent->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* vanished meanwhile: another process cleaned it */
        if (S_ISDIR(sb.st_mode) || mtime_ns(&sb) >= before_ns)
            continue;
        if (unlinkat(s->tmp_fd, ent->d_name, 0) != 0) {
            if (errno == ENOENT)
                continue;
            st = fail_errno(err, HS_ERR_IO, "cannot remove stale temp file",
                            ent->d_name, errno);
            break;
        }
        (*count)++;
        *bytes += (uint64_t)sb.st_size;
    }
    closedir(dir);
    return st;
}

static hs_status dir_sweep_temps(void *impl, int64_t before_ns, size_t *count,
                                 uint64_t *bytes, hs_error *err)
{
    return remove_stale_temps(impl, before_ns, count, bytes, err);
}

hs_status hs_blob_dir_open(const char *root, hs_blob_store **out, hs_error *err)
{
    dir_store *s = NULL;
    hs_status st;

    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "blob store: missing argument");
    *out = NULL;
    if (!root || !*root)
        return hs_fail(err, HS_ERR_INVALID, "blob store: empty root path");
    s = calloc(1, sizeof *s);
    if (!s)
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    s->root_fd = s->tmp_fd = -1;
    s->base.ops = &dir_ops;
    s->base.impl = s;
    s->root = strdup(root);
    if (!s->root) {
        st = hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
        goto fail;
    }
    if ((st = make_dirs(root, err)) != HS_OK)
        goto fail;
    s->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        st = fail_errno(err, HS_ERR_IO, "cannot open", root, errno);
        goto fail;
    }
    if (mkdirat(s->root_fd, TMP_DIR, 0700) != 0 && errno != EEXIST) {
        st = fail_errno(err, HS_ERR_IO, "cannot create tmp/ in", root, errno);
        goto fail;
    }
    s->tmp_fd = open_dir_at(s->root_fd, TMP_DIR);
    if (s->tmp_fd < 0) {
        st = fail_errno(err, HS_ERR_IO, "cannot open tmp/ in", root, errno);
        goto fail;
    }
    /* File times are the system clock's, so the cutoff is too (not a
     * test's manual clock). */
    size_t removed;
    uint64_t removed_bytes;
    int64_t cutoff = (hs_clock_now(hs_clock_system()) -
                      HS_BLOB_DIR_STALE_SECONDS) * 1000000000LL;
    if ((st = remove_stale_temps(s, cutoff, &removed, &removed_bytes, err)) !=
        HS_OK)
        goto fail;
    *out = &s->base;
    return HS_OK;

fail:
    dir_ops.close(&s->base);
    return st;
}

static void dir_close(hs_blob_store *store)
{
    dir_store *s = store->impl;
    if (s->tmp_fd >= 0)
        close(s->tmp_fd);
    if (s->root_fd >= 0)
        close(s->root_fd);
    free(s->root);
    free(s);
}

static hs_status dir_writer_open(void *impl, const char *kind, size_t max_bytes,
                                 hs_blob_writer **w_out, hs_error *err)
{
    dir_store *s = impl;
    dir_writer *w;
    hs_status st;
    int attempt;

    if (!hs_blob_kind_valid(kind))
        return hs_fail(err, HS_ERR_INVALID, "invalid blob kind");
    w = calloc(1, sizeof *w);
    if (!w)
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    w->base.ops = &dir_ops;
    w->store = s;
    w->fd = -1;
    w->max_bytes = max_bytes;
    snprintf(w->kind, sizeof w->kind, "%s", kind);
    /* A collision of 128 random bits means a broken RNG, not bad luck;
     * retry a little rather than loop forever. */
    for (attempt = 0; attempt < 4 && w->fd < 0; attempt++) {
        if ((st = hs_blob__random_id(w->hex, err)) != HS_OK)
            goto fail;
        snprintf(w->tmp_name, sizeof w->tmp_name, "%s.%s", kind, w->hex);
        w->fd = openat(s->tmp_fd, w->tmp_name,
                       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (w->fd < 0 && errno != EEXIST) {
            st = fail_errno(err, HS_ERR_IO, "cannot create temp file",
                            w->tmp_name, errno);
            goto fail;
        }
    }
    if (w->fd < 0) {
        st = hs_fail(err, HS_ERR_CONFLICT, "blob store: no free temp name");
        goto fail;
    }
    snprintf(w->base.key, sizeof w->base.key, "%s/%s", kind, w->hex);
    *w_out = &w->base;
    return HS_OK;

fail:
    free(w);
    return st;
}

static hs_status dir_write(hs_blob_writer *base, const void *buf, size_t len,
                           hs_error *err)
{
    dir_writer *w = (dir_writer *)base;

    hs_status admitted =
        hs_blob__write_admit(&w->failed, w->max_bytes, w->written, len, err);
    if (admitted != HS_OK)
        return admitted;
    if (write_all(w->fd, buf, len) != 0) {
        w->failed = 1;
        return fail_errno(err, HS_ERR_IO, "cannot write", w->tmp_name, errno);
    }
    w->written += len;
    return HS_OK;
}

static void dir_abort(hs_blob_writer *base)
{
    dir_writer *w = (dir_writer *)base;
    if (w->fd >= 0)
        close(w->fd);
    unlinkat(w->store->tmp_fd, w->tmp_name, 0); /* best effort */
    free(w);
}

/* Creates root/<kind> if needed; a new directory entry in root is made
 * durable before any blob is renamed into it. */
static hs_status ensure_kind_dir(dir_store *s, const char *kind, hs_error *err)
{
    if (mkdirat(s->root_fd, kind, 0700) == 0) {
        if (fsync(s->root_fd) != 0)
            return fail_errno(err, HS_ERR_IO, "cannot fsync", s->root, errno);
    } else if (errno != EEXIST) {
        return fail_errno(err, HS_ERR_IO, "cannot create directory", kind,
                          errno);
    }
    return HS_OK;
}

/* Moves tmp/<tmp_name> to <kind>/<hex> without ever replacing a blob. */
static hs_status publish(dir_writer *w, int kind_fd, hs_error *err)
{
    dir_store *s = w->store;

    if (w->replace)
        return renameat(s->tmp_fd, w->tmp_name, kind_fd, w->hex) == 0
                   ? HS_OK
                   : fail_errno(err, HS_ERR_IO, "cannot rename", w->tmp_name,
                                errno);
    if (renameat2(s->tmp_fd, w->tmp_name, kind_fd, w->hex, RENAME_NOREPLACE) ==
        0)
        return HS_OK;
    if (errno == EEXIST)
        return hs_fail(err, HS_ERR_CONFLICT, "blob %s/%s already exists",
                       w->kind, w->hex);
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return fail_errno(err, HS_ERR_IO, "cannot rename", w->tmp_name, errno);
    /* Filesystem without RENAME_NOREPLACE: link() also refuses to replace. */
    if (linkat(s->tmp_fd, w->tmp_name, kind_fd, w->hex, 0) != 0) {
        if (errno == EEXIST)
            return hs_fail(err, HS_ERR_CONFLICT, "blob %s/%s already exists",
                           w->kind, w->hex);
        return fail_errno(err, HS_ERR_IO, "cannot link", w->tmp_name, errno);
    }
    unlinkat(s->tmp_fd, w->tmp_name, 0); /* blob is already in place */
    return HS_OK;
}

static hs_status dir_commit(hs_blob_writer *base, char key_out[HS_BLOB_KEY_MAX],
                            uint64_t *size_out, hs_error *err)
{
    dir_writer *w = (dir_writer *)base;
    dir_store *s = w->store;
    int kind_fd = -1, rc;
    hs_status st;

    if (w->failed) {
        st = hs_fail(err, HS_ERR_INVALID, "blob writer failed earlier");
        goto fail;
    }
    if (fsync(w->fd) != 0) {
        st = fail_errno(err, HS_ERR_IO, "cannot fsync", w->tmp_name, errno);
        goto fail;
    }
    rc = close(w->fd);
    w->fd = -1;
    if (rc != 0) {
        st = fail_errno(err, HS_ERR_IO, "cannot close", w->tmp_name, errno);
        goto fail;
    }
    if ((st = ensure_kind_dir(s, w->kind, err)) != HS_OK)
        goto fail;
    kind_fd = open_dir_at(s->root_fd, w->kind);
    if (kind_fd < 0) {
        st =
            fail_errno(err, HS_ERR_IO, "cannot open directory", w->kind, errno);
        goto fail;
    }
    if ((st = publish(w, kind_fd, err)) != HS_OK)
        goto fail;
    if (fsync(kind_fd) != 0) {
        /* The blob is in place but maybe not durable; report it, and do not
         * hand out a key the caller might record. */
        st = fail_errno(err, HS_ERR_IO, "cannot fsync directory", w->kind,
                        errno);
        if (!w->replace) /* a replaced blob stays: it is still recorded */
            unlinkat(kind_fd, w->hex, 0);
        goto fail;
    }
    close(kind_fd);
    if (key_out)
        snprintf(key_out, HS_BLOB_KEY_MAX, "%s/%s", w->kind, w->hex);
    if (size_out)
        *size_out = w->written;
    free(w);
    return HS_OK;

fail:
    if (kind_fd >= 0)
        close(kind_fd);
    dir_abort(base);
    return st;
}

/* The directory backend's reader: pread on the blob's file. */
typedef struct fd_reader {
    hs_blob_reader base; /* must be first */
    int fd;
    const char *what; /* for messages: "blob", "converted results" */
} fd_reader;

static hs_status fd_read_at(hs_blob_reader *base, void *buf, size_t len,
                            uint64_t off, hs_error *err)
{
    fd_reader *r = (fd_reader *)base;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(r->fd, (uint8_t *)buf + got, len - got,
                          (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return fail_errno(err, HS_ERR_IO, "cannot read", r->what, errno);
        if (n == 0)
            return hs_fail(err, HS_ERR_CORRUPT,
                           "blob store: %s ends before its size", r->what);
        got += (size_t)n;
    }
    return HS_OK;
}

static void fd_close(hs_blob_reader *base)
{
    fd_reader *r = (fd_reader *)base;
    close(r->fd);
    free(r);
}

static const hs_blob_reader_ops fd_reader_ops = {
    .read_at = fd_read_at,
    .close = fd_close,
};

hs_status hs_blob_reader_from_fd(int fd, uint64_t size, const char *what,
                                 hs_blob_reader **r_out, hs_error *err)
{
    fd_reader *r = calloc(1, sizeof *r);
    *r_out = NULL;
    if (!r) {
        close(fd);
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    }
    r->base.ops = &fd_reader_ops;
    r->base.size = size;
    r->fd = fd;
    r->what = what;
    *r_out = &r->base;
    return HS_OK;
}

static hs_status dir_open_read(void *impl, const char *key,
                               hs_blob_reader **r_out, hs_error *err)
{
    dir_store *s = impl;
    struct stat sb;
    int fd;

    if (!hs_blob_key_valid(key))
        return hs_fail(err, HS_ERR_INVALID, "invalid blob key");
    fd = openat(s->root_fd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return hs_fail(err, HS_ERR_NOTFOUND, "no blob %s", key);
        return fail_errno(err, HS_ERR_IO, "cannot open blob", key, errno);
    }
    if (fstat(fd, &sb) != 0) {
        int saved = errno;
        close(fd);
        return fail_errno(err, HS_ERR_IO, "cannot stat blob", key, saved);
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return hs_fail(err, HS_ERR_NOTFOUND, "no blob %s", key);
    }
    return hs_blob_reader_from_fd(fd, (uint64_t)sb.st_size, "blob", r_out,
                                  err);
}

static hs_status dir_remove(void *impl, const char *key, hs_error *err)
{
    dir_store *s = impl;

    if (!hs_blob_key_valid(key))
        return hs_fail(err, HS_ERR_INVALID, "invalid blob key");
    if (unlinkat(s->root_fd, key, 0) == 0)
        return HS_OK;
    if (errno == ENOENT || errno == ENOTDIR)
        return hs_fail(err, HS_ERR_NOTFOUND, "no blob %s", key);
    return fail_errno(err, HS_ERR_IO, "cannot delete blob", key, errno);
}

static hs_status dir_exists(void *impl, const char *key, int *exists_out,
                            hs_error *err)
{
    dir_store *s = impl;
    struct stat sb;

    if (!hs_blob_key_valid(key))
        return hs_fail(err, HS_ERR_INVALID, "invalid blob key");
    if (fstatat(s->root_fd, key, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
        *exists_out = S_ISREG(sb.st_mode);
        return HS_OK;
    }
    if (errno == ENOENT || errno == ENOTDIR) {
        *exists_out = 0;
        return HS_OK;
    }
    return fail_errno(err, HS_ERR_IO, "cannot stat blob", key, errno);
}

/* A writer like dir_writer_open's that commits over the existing blob
 * `key` (an atomic rename: readers see the old or the new bytes). */
static hs_status dir_writer_replace(void *impl, const char *key,
                                    hs_blob_writer **w_out, hs_error *err)
{
    const char *slash = strchr(key, '/');
    char kind[HS_BLOB_KIND_MAX + 1];
    hs_status st;

    if (!hs_blob_key_valid(key))
        return hs_fail(err, HS_ERR_INVALID, "invalid blob key");
    snprintf(kind, sizeof kind, "%.*s", (int)(slash - key), key);
    if ((st = dir_writer_open(impl, kind, 0, w_out, err)) == HS_OK) {
        dir_writer *w = (dir_writer *)*w_out;
        snprintf(w->hex, sizeof w->hex, "%s", slash + 1);
        snprintf(w->base.key, sizeof w->base.key, "%s", key);
        w->replace = 1;
    }
    return st;
}

/* Calls fn for every blob file of the kind directory `kind`. The names
 * are read first: fn may replace blobs (a rename adds a directory entry,
 * which a readdir still under way may or may not return). */
static hs_status each_of_kind(dir_store *s, const char *kind,
                              hs_blob_each_fn fn, void *ctx, hs_error *err)
{
    int fd = open_dir_at(s->root_fd, kind);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *ent;
    char(*keys)[HS_BLOB_KEY_MAX] = NULL;
    size_t n = 0, cap = 0;
    hs_status st = HS_OK;

    if (!dir) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        /* gone meanwhile, or a file that is not a kind's folder */
        return e == ENOENT || e == ENOTDIR
                   ? HS_OK
                   : fail_errno(err, HS_ERR_IO, "cannot scan", kind, e);
    }
    while (st == HS_OK && (ent = readdir(dir)) != NULL) {
        if (strlen(ent->d_name) != HS_BLOB_ID_HEX)
            continue;
        if (n == cap) {
            void *grown = realloc(keys, (cap = cap ? 2 * cap : 64) *
                                            sizeof *keys);
            if (!grown) {
                st = hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
                break;
            }
            keys = grown;
        }
        snprintf(keys[n], sizeof keys[n], "%.32s/%.32s", kind, ent->d_name);
        if (hs_blob_key_valid(keys[n]))
            n++;
    }
    for (size_t i = 0; st == HS_OK && i < n; i++) {
        struct stat sb;
        /* Only what this store could have made: a file (not one removed
         * meanwhile). */
        if (fstatat(dirfd(dir), keys[i] + strlen(kind) + 1, &sb,
                    AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        st = fn(ctx, keys[i], (uint64_t)sb.st_size, mtime_ns(&sb), err);
    }
    closedir(dir);
    free(keys);
    return st;
}

static hs_status dir_each(void *impl, hs_blob_each_fn fn, void *ctx,
                          hs_error *err)
{
    dir_store *s = impl;
    int fd = dup(s->root_fd); /* closedir closes it */
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *ent;
    hs_status st = HS_OK;

    if (!dir) {
        if (fd >= 0)
            close(fd);
        return fail_errno(err, HS_ERR_IO, "cannot scan", s->root, errno);
    }
    rewinddir(dir); /* the duplicate shares root_fd's offset */
    while (st == HS_OK && (ent = readdir(dir)) != NULL) {
        struct stat sb;
        if (!hs_blob_kind_valid(ent->d_name) ||
            fstatat(s->root_fd, ent->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(sb.st_mode))
            continue;
        st = each_of_kind(s, ent->d_name, fn, ctx, err);
    }
    closedir(dir);
    return st;
}

static const hs_blob_ops dir_ops = {
    .name = "dir",
    .writer_open = dir_writer_open,
    .write = dir_write,
    .commit = dir_commit,
    .abort = dir_abort,
    .open_read = dir_open_read,
    .remove = dir_remove,
    .exists = dir_exists,
    .close = dir_close,
    .each = dir_each,
    .writer_replace = dir_writer_replace,
    .sweep_temps = dir_sweep_temps,
};
