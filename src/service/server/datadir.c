/* datadir.c - opening a data directory (see datadir.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
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

hs_status hs_datadir_open(const char *path, hs_datadir **out, hs_error *err)
{
    return hs_datadir_open_store(path, NULL, out, err);
}

hs_status hs_datadir_open_store(const char *path, const char *store_url,
                                hs_datadir **out, hs_error *err)
{
    *out = NULL;
    if (!path || !*path)
        return hs_fail(err, HS_ERR_INVALID, "the data directory path is empty");
    hs_status rc = make_dirs(path, err);
    if (rc != HS_OK)
        return rc;
    hs_datadir *d = calloc(1, sizeof *d);
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
    if ((rc = hs_store_open(url, &d->store, err)) != HS_OK ||
        (rc = hs_blob_dir_open(blobs, &d->blobs, err)) != HS_OK)
        goto done;
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
    *fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
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
    free(d);
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

hs_status hs_datadir_server_key(hs_datadir *d, uint8_t *key, size_t len,
                                hs_error *err)
{
    char *path = join(d->path, "server.key");
    char tmp[4096];
    char buf[128];
    hs_status rc = HS_OK;
    if (!path)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        if (read_exact(fd, key, len) != 0)
            rc = hs_fail(err, HS_ERR_IO,
                         "%s: not a server key of %zu bytes; move it away to "
                         "make a new one (sessions then end)",
                         path, len);
        close(fd);
        free(path);
        return rc;
    }
    if (errno != ENOENT) {
        rc = hs_fail(err, HS_ERR_IO, "%s: %s", path,
                     strerror_r(errno, buf, sizeof buf));
        free(path);
        return rc;
    }
    /* Write to a temporary name, then link: two processes starting at once
     * end up with one key. */
    randombytes_buf(key, len);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, key, len) != (ssize_t)len || fsync(fd) != 0) {
        rc = hs_fail(err, HS_ERR_IO, "%s: cannot write the server key: %s",
                     tmp, strerror_r(errno, buf, sizeof buf));
    } else if (link(tmp, path) != 0) {
        if (errno == EEXIST) { /* someone else was first: use theirs */
            unlink(tmp);
            close(fd);
            free(path);
            return hs_datadir_server_key(d, key, len, err);
        }
        rc = hs_fail(err, HS_ERR_IO, "%s: %s", path,
                     strerror_r(errno, buf, sizeof buf));
    }
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(path);
    return rc;
}
