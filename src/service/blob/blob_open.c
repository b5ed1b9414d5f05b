/* blob/blob_open.c - opening the blob store a URL names: the table of
 * blob backends.
 *
 * Where stored files live is a setting (`blobs`, --blobs), not code: the
 * word before the first ':' (or the whole URL when it has none) picks an
 * entry of BACKENDS, which opens the store. This is the only file that
 * names blob backends; adding one is a row here (docs/architecture.md,
 * "How to add a blob backend"). The store returned stores bytes as they
 * are given: the data directory wraps it in the encrypting layer
 * (blob_crypt.c), whichever backend it is.
 *
 * As in store/store_open.c, a bare path is refused rather than guessed to
 * be a directory, and messages never quote a URL past its scheme (a
 * database URL may hold a password).
 */
#include <stdio.h>
#include <string.h>

#include "base/backends.h"
#include "blob/blob.h"

typedef struct blob_backend {
    const char *scheme; /* the URL up to its first ':' (or all of it) */
    const char *form;   /* what its URLs look like, for messages */
    /* url: the whole setting; rest: what follows "scheme:" ("" for a URL
     * that is the scheme alone). */
    hs_status (*open)(const char *url, const char *rest, const char *store_url,
                      hs_blob_store **out, hs_error *err);
} blob_backend;

static hs_status open_file(const char *url, const char *rest,
                           const char *store_url, hs_blob_store **out,
                           hs_error *err)
{
    (void)url;
    (void)store_url;
    if (!*rest)
        return hs_fail_field(err, HS_ERR_INVALID, "blobs",
                             "blobs URL 'file:' names no directory; expected "
                             "file:DIR, e.g. file:/srv/healer/blobs");
    return hs_blob_dir_open(rest, out, err);
}

/* "postgresql": the record store's database; "postgresql://..." (or
 * libpq's other spelling, "postgres://..."): one of its own. */
static hs_status open_postgresql(const char *url, const char *rest,
                                 const char *store_url, hs_blob_store **out,
                                 hs_error *err)
{
    if (!strncmp(rest, "//", 2))
        return hs_blob_pg_open(url, out, err);
    if (*rest)
        return hs_fail_field(err, HS_ERR_INVALID, "blobs",
                             "blobs URL 'postgresql:...' is not a database "
                             "URL: expected postgresql (the store's "
                             "database) or postgresql://USER@HOST:PORT/DB");
    if (!store_url || (strncmp(store_url, "postgresql://", 13) != 0 &&
                       strncmp(store_url, "postgres://", 11) != 0))
        return hs_fail_field(err, HS_ERR_INVALID, "blobs",
                             "blobs 'postgresql' keeps the files in the record "
                             "store's PostgreSQL database, but the store is "
                             "not PostgreSQL (--store postgresql://...); give "
                             "the blobs a database of their own "
                             "(postgresql://USER@HOST:PORT/DB) or a directory "
                             "(file:DIR)");
    return hs_blob_pg_open(store_url, out, err);
}

static const blob_backend BACKENDS[] = {
    {"file", "file:DIR", open_file},
    {"postgresql", "postgresql, postgresql://USER@HOST:PORT/DB",
     open_postgresql},
    {"postgres", "postgres://USER@HOST:PORT/DB", open_postgresql},
};

#define N_BACKENDS (sizeof BACKENDS / sizeof BACKENDS[0])

/* "file:DIR, ...": what this build accepts. */
static const char *supported(char *buf, size_t size)
{
    return hs_backend_forms(buf, size, &BACKENDS[0].form, N_BACKENDS,
                            sizeof BACKENDS[0]);
}

hs_status hs_blob_open(const char *url, const char *store_url,
                       const char *default_dir, hs_blob_store **out,
                       hs_error *err)
{
    char forms[256];
    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "blob open: missing argument");
    *out = NULL;
    if (!url || !*url)
        return hs_blob_dir_open(default_dir, out, err);
    size_t n = strcspn(url, ":");
    const char *slash = strchr(url, '/');
    for (size_t i = 0; i < N_BACKENDS; i++)
        if (strlen(BACKENDS[i].scheme) == n &&
            !strncmp(BACKENDS[i].scheme, url, n))
            return BACKENDS[i].open(url, url[n] ? url + n + 1 : "", store_url,
                                    out, err);
    if (!url[n] || (slash && slash < url + n))
        return hs_fail_field(err, HS_ERR_INVALID, "blobs",
                             "the blobs URL has no scheme (a bare path?); "
                             "this build supports %s, or empty for the data "
                             "directory's blobs/",
                             supported(forms, sizeof forms));
    return hs_fail_field(err, HS_ERR_INVALID, "blobs",
                         "blobs URL scheme '%.*s' is not supported by this "
                         "build; it supports %s",
                         (int)(n > 32 ? 32 : n), url,
                         supported(forms, sizeof forms));
}
