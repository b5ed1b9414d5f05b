/* datadir.c - opening a data directory (see datadir.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "datadir.h"

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
    *out = NULL;
    if (!path || !*path)
        return hs_fail(err, HS_ERR_INVALID, "the data directory path is empty");
    hs_status rc = make_dirs(path, err);
    if (rc != HS_OK)
        return rc;
    hs_datadir *d = calloc(1, sizeof *d);
    char *db = join(path, "healer.db"), *blobs = join(path, "blobs");
    if (!d || !db || !blobs || !(d->path = strdup(path))) {
        rc = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = hs_store_sqlite_open(db, &d->store, err)) != HS_OK ||
        (rc = hs_blob_dir_open(blobs, &d->blobs, err)) != HS_OK)
        goto done;
    *out = d;
    d = NULL;
done:
    hs_datadir_close(d);
    free(db);
    free(blobs);
    return rc;
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
