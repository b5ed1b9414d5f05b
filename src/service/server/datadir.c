/* datadir.c - opening a data directory, and its owner lock (see datadir.h).
 *
 * The lock is an flock, not an fcntl lock: fcntl locks belong to the
 * process and vanish when any descriptor of the file is closed (SQLite
 * or a library opening .lock would drop it silently), while an flock
 * belongs to its own open file description. Either way the kernel drops
 * it when the process dies, so a crash never leaves a stale lock.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "server/datadir.h"

/* mkdir -p with mode 0700 for what it creates. */
static hs_status make_dirs(const char *path, hs_error *err)
{
    char *p = strdup(path);
    if (!p)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status rc = HS_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        if (mkdir(p, HS_DATADIR_DIR_MODE) != 0 && errno != EEXIST) {
            char buf[128];
            /* GNU strerror_r: thread-safe, unlike strerror. */
            rc = hs_fail(err, HS_ERR_IO, "%s: cannot create the directory: %s",
                         p, strerror_r(errno, buf, sizeof buf));
            break;
        }
        *s = saved;
        if (saved == '\0')
            break;
    }
    free(p);
    if (rc != HS_OK)
        return rc;
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return hs_fail(err, HS_ERR_IO, "%s: not a directory", path);
    return HS_OK;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", dir, name);
    return s;
}

/* ---- the owner lock ---------------------------------------------------- */

struct hs_dirlock {
    int fd; /* DIR/.lock, flocked */
};

/* The holder's pid as it wrote it in the file, 0 when unreadable. */
static long lock_holder(int fd)
{
    char buf[64];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end = NULL;
    long pid = strtol(buf, &end, 10);
    return end != buf && pid > 0 ? pid : 0;
}

/* Writes "PID WHAT" into the lock file, which this process holds. */
static void lock_note(int fd, const char *what)
{
    char buf[160];
    int n = snprintf(buf, sizeof buf, "%ld %s\n", (long)getpid(),
                     what ? what : "healer");
    if (n > 0 && ftruncate(fd, 0) == 0 &&
        pwrite(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1,
               0) < 0) {
        /* Only a note for the next process's message: never fatal. */
    }
}

hs_status hs_datadir_lock(const char *path, const char *what,
                          hs_dirlock **out, hs_error *err)
{
    char buf[128];
    *out = NULL;
    if (!path || !*path)
        return hs_fail(err, HS_ERR_INVALID, "the data directory path is empty");
    hs_status rc = make_dirs(path, err);
    if (rc != HS_OK)
        return rc;
    char *file = join(path, ".lock");
    hs_dirlock *lock = calloc(1, sizeof *lock);
    if (!file || !lock) {
        free(file);
        free(lock);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    lock->fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                    HS_DATADIR_FILE_MODE);
    if (lock->fd < 0) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot open the lock file: %s", file,
                     strerror_r(errno, buf, sizeof buf));
    } else if (flock(lock->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK) {
            long pid = lock_holder(lock->fd);
            if (pid)
                rc = hs_fail(err, HS_ERR_CONFLICT,
                             "data directory %s is in use by process %ld",
                             path, pid);
            else
                rc = hs_fail(err, HS_ERR_CONFLICT,
                             "data directory %s is in use by another process",
                             path);
        } else {
            rc = hs_fail(err, HS_ERR_IO, "%s: cannot lock: %s", file,
                         strerror_r(errno, buf, sizeof buf));
        }
    }
    free(file);
    if (rc != HS_OK) {
        if (lock->fd >= 0)
            close(lock->fd);
        free(lock);
        return rc;
    }
    lock_note(lock->fd, what);
    *out = lock;
    return HS_OK;
}

void hs_datadir_unlock(hs_dirlock *lock)
{
    if (!lock)
        return;
    if (ftruncate(lock->fd, 0) != 0) {
        /* the pid stays in the file; the lock is released all the same */
    }
    close(lock->fd); /* releases the flock */
    free(lock);
}

/* ---- modes --------------------------------------------------------------- */

/* nftw's callback has no argument of its own: the walk's state is the
 * calling thread's. */
typedef struct mode_walk {
    const atomic_int *stop;
    size_t files, dirs;
    int failed_errno;
    char failed_path[512];
} mode_walk;

static _Thread_local mode_walk *current_walk;

static int fix_one(const char *path, const struct stat *st, int type,
                   struct FTW *ftw)
{
    (void)ftw;
    mode_walk *w = current_walk;
    if (w->stop && atomic_load(w->stop))
        return 1;
    mode_t want;
    size_t *count;
    if (type == FTW_F && S_ISREG(st->st_mode)) {
        /* Only what others may do goes: a file someone put in the
         * directory keeps its owner's bits (an executable stays one). */
        want = st->st_mode & 0700;
        count = &w->files;
    } else if (type == FTW_D || type == FTW_DP) {
        want = HS_DATADIR_DIR_MODE;
        count = &w->dirs;
    } else {
        return 0; /* links, sockets, vanished entries: left alone */
    }
    if ((st->st_mode & 07777) == want)
        return 0;
    /* AT_SYMLINK_NOFOLLOW is refused by Linux's fchmodat; the walk is
     * physical (FTW_PHYS), so `path` is not a link here. */
    if (chmod(path, want) != 0) {
        if (errno == ENOENT)
            return 0;
        w->failed_errno = errno;
        snprintf(w->failed_path, sizeof w->failed_path, "%s", path);
        return 1;
    }
    (*count)++;
    return 0;
}

hs_status hs_datadir_fix_modes(const char *path, const atomic_int *stop,
                               size_t *files, size_t *dirs, hs_error *err)
{
    mode_walk w = {.stop = stop};
    char buf[128];
    *files = *dirs = 0;
    current_walk = &w;
    int rc = nftw(path, fix_one, 16, FTW_PHYS);
    current_walk = NULL;
    *files = w.files;
    *dirs = w.dirs;
    if (w.failed_errno)
        return hs_fail(err, HS_ERR_IO, "%s: cannot narrow its mode: %s",
                       w.failed_path, strerror_r(w.failed_errno, buf, sizeof buf));
    if (rc < 0)
        return hs_fail(err, HS_ERR_IO, "%s: cannot walk: %s", path,
                       strerror_r(errno, buf, sizeof buf));
    return HS_OK;
}

/* ---- opening ------------------------------------------------------------ */

static hs_status not_before_encryption(const char *path, hs_error *err);

hs_status hs_datadir_open(const char *path, hs_datadir **out, hs_error *err)
{
    return hs_datadir_open_store(path, NULL, NULL, NULL, out, err);
}

hs_status hs_datadir_open_records(const char *path, hs_datadir **out,
                                  hs_error *err)
{
    return hs_datadir_open_keys(path, NULL, NULL, NULL, out, err);
}

hs_status hs_datadir_data_key(const char *path, const char *key_file,
                              int create, hs_datakey *out, hs_error *err)
{
    if (key_file && *key_file)
        return hs_datakey_load(key_file, out, err);
    char *own = join(path, HS_DATAKEY_FILE);
    /* A directory already encrypted never gets a new key of its own: its
     * key is elsewhere (data-key-file), and a new one would not read it. */
    int fresh = !hs_datadir_encrypted(path);
    hs_status rc = !own ? hs_fail(err, HS_ERR_NOMEM, "out of memory")
                   : create && fresh ? hs_datakey_load_or_create(own, out, err)
                                     : hs_datakey_load(own, out, err);
    if (rc == HS_ERR_NOTFOUND && !fresh)
        rc = hs_fail_field(err, HS_ERR_CRYPTO, "data-key-file",
                           "%s is missing, but the data directory %s is "
                           "encrypted (%s): give its key file with "
                           "--data-key-file",
                           own, path, HS_DATADIR_KEY_ID_FILE);
    free(own);
    return rc;
}

/* Whether PATH/data.key exists. */
static int own_key_exists(const char *path)
{
    char *own = join(path, HS_DATAKEY_FILE);
    int exists = own && access(own, F_OK) == 0;
    free(own);
    return exists;
}

hs_status hs_datadir_open_store(const char *path, const char *store_url,
                                const char *blobs_url, const char *key_file,
                                hs_datadir **out, hs_error *err)
{
    hs_keyring keys;
    memset(&keys, 0, sizeof keys);
    *out = NULL;
    if (!path || !*path)
        return hs_fail(err, HS_ERR_INVALID, "the data directory path is empty");
    hs_status rc = make_dirs(path, err);
    char *mark = rc == HS_OK ? join(path, HS_DATADIR_REKEY_MARK) : NULL;
    if (rc == HS_OK && !mark)
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (rc == HS_OK && access(mark, F_OK) == 0)
        rc = hs_fail(err, HS_ERR_CONFLICT,
                     "%s: a data key rotation was interrupted; run "
                     "`healer rekey` again with the same keys to finish it",
                     mark);
    free(mark);
    /* Before a key is made: such a directory is for `healer rekey`. */
    if (rc == HS_OK)
        rc = not_before_encryption(path, err);
    int made = rc == HS_OK && !(key_file && *key_file) &&
               !hs_datadir_encrypted(path) && !own_key_exists(path);
    if (rc == HS_OK)
        rc = hs_datadir_data_key(path, key_file, 1, &keys.current, err);
    if (rc == HS_OK)
        rc = hs_datadir_key_id_check(path, &keys.current, err);
    if (rc == HS_OK)
        rc = hs_datadir_open_keys(path, store_url, blobs_url, &keys, out, err);
    if (rc == HS_OK)
        (*out)->key_made = made;
    hs_datakey_wipe(&keys, sizeof keys);
    return rc;
}

void hs_datadir_unmake_key(hs_datadir *d)
{
    if (!d || !d->key_made)
        return;
    char *key = join(d->path, HS_DATAKEY_FILE);
    char *id = join(d->path, HS_DATADIR_KEY_ID_FILE);
    if (id)
        unlink(id); /* first: without its id the directory is not encrypted */
    if (key)
        unlink(key);
    free(key);
    free(id);
    d->key_made = 0;
}

hs_status hs_datadir_open_keys(const char *path, const char *store_url,
                               const char *blobs_url, const hs_keyring *keys,
                               hs_datadir **out, hs_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return hs_fail(err, HS_ERR_INVALID, "the data directory path is empty");
    hs_status rc = make_dirs(path, err);
    if (rc != HS_OK)
        return rc;
    hs_datadir *d = calloc(1, sizeof *d);
    hs_blob_store *plain = NULL;
    /* The store by URL, like any other; by default the embedded SQLite one
     * in the directory. */
    size_t url_size = strlen(path) + sizeof "sqlite:/healer.db";
    int own_store = !store_url || !*store_url;
    char *url = own_store ? malloc(url_size) : strdup(store_url);
    char *blobs = join(path, "blobs");
    if (url && own_store)
        snprintf(url, url_size, "sqlite:%s/healer.db", path);
    if (!d || !url || !blobs || !(d->path = strdup(path))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = hs_store_open(url, &d->store, err)) != HS_OK)
        goto done;
    if (keys) {
        d->keys = *keys;
        if ((rc = hs_blob_open(blobs_url, url, blobs, &plain, err)) !=
                HS_OK ||
            (rc = hs_blob_crypt_open(plain, &d->keys, &d->blobs, err)) !=
                HS_OK)
            goto done;
    }
    *out = d;
    d = NULL;
done:
    hs_datadir_close(d);
    free(url);
    free(blobs);
    return rc;
}

hs_status hs_datadir_access_log(const hs_datadir *d, const char *setting,
                                char *path, size_t cap, int *fd,
                                hs_error *err)
{
    *fd = -1;
    if (setting && !strcmp(setting, "-")) {
        snprintf(path, cap, "stderr");
        return HS_OK;
    }
    if (!setting || !*setting) {
        char *logs = join(d->path, "logs");
        hs_status rc = logs ? make_dirs(logs, err)
                            : hs_fail(err, HS_ERR_NOMEM, "out of memory");
        free(logs);
        if (rc != HS_OK)
            return rc;
        snprintf(path, cap, "%s/logs/access.log", d->path);
    } else {
        snprintf(path, cap, "%s", setting);
    }
    *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                HS_DATADIR_FILE_MODE);
    if (*fd < 0) {
        char buf[128];
        return hs_fail_field(err, HS_ERR_IO, "access-log",
                             "%s: cannot open the access log: %s", path,
                             strerror_r(errno, buf, sizeof buf));
    }
    return HS_OK;
}

void hs_datadir_close(hs_datadir *d)
{
    if (!d)
        return;
    if (d->store)
        hs_store_close(d->store);
    if (d->blobs)
        hs_blob_store_close(d->blobs);
    free(d->path);
    hs_datakey_wipe(d, sizeof *d);
    free(d);
}

hs_status hs_datadir_key_id_put(const char *path, const hs_datakey *key,
                                hs_error *err)
{
    char buf[128];
    char *file = join(path, HS_DATADIR_KEY_ID_FILE);
    char *tmp = join(path, HS_DATADIR_KEY_ID_FILE ".tmp");
    hs_status rc = HS_OK;
    int fd = file && tmp ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
                                         O_NOFOLLOW,
                                0600)
                         : -1;
    if (!file || !tmp)
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    else if (fd < 0 || write(fd, key->id_hex, strlen(key->id_hex)) !=
                           (ssize_t)strlen(key->id_hex) ||
             fsync(fd) != 0 || rename(tmp, file) != 0)
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot write: %s", file,
                     strerror_r(errno, buf, sizeof buf));
    if (fd >= 0)
        close(fd);
    if (rc != HS_OK && tmp)
        unlink(tmp);
    free(file);
    free(tmp);
    return rc;
}

/* Whether DIR/blobs holds a stored file (in any kind directory). */
static int has_blobs(const char *path)
{
    char *root = join(path, "blobs");
    DIR *dir = root ? opendir(root) : NULL;
    struct dirent *ent;
    int found = 0;
    while (dir && !found && (ent = readdir(dir)) != NULL) {
        if (ent->d_name[0] == '.' || !strcmp(ent->d_name, "tmp"))
            continue;
        char *kind = join(root, ent->d_name);
        DIR *sub = kind ? opendir(kind) : NULL;
        struct dirent *e;
        while (sub && !found && (e = readdir(sub)) != NULL)
            found = e->d_name[0] != '.';
        if (sub)
            closedir(sub);
        free(kind);
    }
    if (dir)
        closedir(dir);
    free(root);
    return found;
}

/* HS_ERR_CONFLICT for a directory of files stored before encryption at
 * rest (no key id yet, but stored files): they need `healer rekey`. */
static hs_status not_before_encryption(const char *path, hs_error *err)
{
    if (hs_datadir_encrypted(path) || !has_blobs(path))
        return HS_OK;
    return hs_fail(err, HS_ERR_CONFLICT,
                   "the data directory %s holds files stored before "
                   "encryption at rest: encrypt them once with `healer "
                   "rekey --data-dir %s --new-key-file FILE` (`healer key "
                   "new --out FILE` makes the key), then start the server "
                   "with that key",
                   path, path);
}

int hs_datadir_encrypted(const char *path)
{
    char *file = join(path, HS_DATADIR_KEY_ID_FILE);
    int known = file && access(file, F_OK) == 0;
    free(file);
    return known;
}

hs_status hs_datadir_key_id_check(const char *path, const hs_datakey *key,
                                  hs_error *err)
{
    char *file = join(path, HS_DATADIR_KEY_ID_FILE);
    char id[2 * HS_DATAKEY_ID_BYTES + 2] = {0};
    if (!file)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t n = fd >= 0 ? read(fd, id, sizeof id - 1) : -1;
    if (fd >= 0)
        close(fd);
    free(file);
    if (fd < 0) { /* first start: this key it is */
        hs_status rc = not_before_encryption(path, err);
        return rc == HS_OK ? hs_datadir_key_id_put(path, key, err) : rc;
    }
    if (n != (ssize_t)strlen(key->id_hex) || strcmp(id, key->id_hex) != 0)
        return hs_fail_field(
            err, HS_ERR_CRYPTO, "data-key-file",
            "data key file %s holds key %s, but the data directory %s is "
            "encrypted under key %.16s (%s): wrong key file?",
            key->path, key->id_hex, path, id, HS_DATADIR_KEY_ID_FILE);
    return HS_OK;
}

/* Reads exactly len bytes; 0 on success. */
static int read_exact(int fd, uint8_t *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    uint8_t extra;
    return read(fd, &extra, 1) == 0 ? 0 : -1;
}

hs_status hs_datadir_old_server_key(const hs_datadir *d, uint8_t *key,
                                    size_t len, int *found, hs_error *err)
{
    char *path = join(d->path, HS_DATADIR_OLD_SERVER_KEY);
    char buf[128];
    hs_status rc = HS_OK;
    *found = 0;
    if (!path)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno != ENOENT)
            rc = hs_fail(err, HS_ERR_IO, "%s: %s", path,
                         strerror_r(errno, buf, sizeof buf));
    } else if (read_exact(fd, key, len) != 0) {
        rc = hs_fail(err, HS_ERR_IO,
                     "%s: not a server key of %zu bytes; move it away (its "
                     "CSRF tokens then end; the store's shared key is used)",
                     path, len);
    } else {
        *found = 1;
    }
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

hs_status hs_datadir_old_server_key_remove(const hs_datadir *d, hs_error *err)
{
    char *path = join(d->path, HS_DATADIR_OLD_SERVER_KEY);
    char buf[128];
    hs_status rc = HS_OK;
    if (!path)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (unlink(path) != 0 && errno != ENOENT)
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot remove: %s", path,
                     strerror_r(errno, buf, sizeof buf));
    free(path);
    return rc;
}
