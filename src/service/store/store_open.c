/* store/store_open.c - opening a store by URL: the table of backends.
 *
 * Which backend a process uses is a setting (a URL such as
 * "sqlite:var/healer.db"), not code: the scheme before the first ':' picks
 * an entry of BACKENDS, which gets the rest. This is the only file that
 * names backends; adding one is a row here (see docs/architecture.md, "How
 * to add a store backend").
 *
 * Deliberately strict: a bare path is refused rather than guessed to be
 * SQLite, so that a typo in a PostgreSQL URL can never quietly create a
 * database file. Messages quote at most the scheme of a URL, never the
 * rest, which may hold a password (so a URL without a valid scheme is not
 * quoted at all).
 */
#include <stdio.h>
#include <string.h>

#include "store/store.h"
#include "store/store_pg.h"
#include "store/store_sqlite.h"

typedef struct store_backend {
    const char *scheme; /* what comes before the ':' */
    const char *form;   /* what its URL looks like, for messages */
    hs_status (*open)(const char *rest, hs_store **out, hs_error *err);
} store_backend;

static const store_backend BACKENDS[] = {
    {"sqlite", "sqlite:PATH", hs_store_sqlite_open},
    {"postgresql", "postgresql://USER@HOST:PORT/DB", hs_store_pg_open_rest},
    {"postgres", "postgres://USER@HOST:PORT/DB", hs_store_pg_open_rest},
};

#define N_BACKENDS (sizeof BACKENDS / sizeof BACKENDS[0])

/* "sqlite:PATH, ..." into buf: what this build accepts. */
static const char *supported(char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_BACKENDS && used < size; i++) {
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                         BACKENDS[i].form);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

/* Length of the URL's scheme (RFC 3986: a letter, then letters, digits,
 * '+', '-' or '.'), or 0 when the text does not start with one and a ':'. */
static size_t scheme_length(const char *url)
{
    size_t n = 0;
    if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
        return 0;
    while (url[n] && url[n] != ':') {
        char c = url[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.'))
            return 0;
        n++;
    }
    return url[n] == ':' ? n : 0;
}

hs_status hs_store_open(const char *url, hs_store **out, hs_error *err)
{
    char forms[256];
    size_t n;
    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "store open: missing argument");
    *out = NULL;
    if (!url || !url[0])
        return hs_fail(err, HS_ERR_INVALID,
                       "store: no store URL given; this build supports %s",
                       supported(forms, sizeof forms));
    n = scheme_length(url);
    if (n == 0)
        return hs_fail(err, HS_ERR_INVALID,
                       "the store URL has no scheme (a bare path?); this "
                       "build supports %s, e.g. sqlite:var/healer.db",
                       supported(forms, sizeof forms));
    for (size_t i = 0; i < N_BACKENDS; i++) {
        if (strlen(BACKENDS[i].scheme) != n ||
            strncmp(BACKENDS[i].scheme, url, n) != 0)
            continue;
        if (!url[n + 1])
            return hs_fail(err, HS_ERR_INVALID,
                           "store URL '%s:' is missing what follows the "
                           "scheme; expected %s",
                           BACKENDS[i].scheme, BACKENDS[i].form);
        return BACKENDS[i].open(url + n + 1, out, err);
    }
    return hs_fail(err, HS_ERR_INVALID,
                   "store URL scheme '%.*s' is not supported by this build; "
                   "it supports %s",
                   (int)(n > 32 ? 32 : n), url, supported(forms, sizeof forms));
}
