/* hs_error.h - the service layer's error type: a status code plus a message.
 *
 * Every fallible service function returns an hs_status and, when given a
 * non-NULL hs_error, fills in a human-readable message the caller may log or
 * turn into an HTTP response. Library code never prints or exits; this is
 * how it reports instead. Header-only so that every service file (and every
 * backend) can use it without a link-order dependency.
 */
#ifndef HS_ERROR_H
#define HS_ERROR_H

#include <stdarg.h>
#include <stdio.h>

typedef enum hs_status {
    HS_OK = 0,
    HS_ERR_NOMEM,
    HS_ERR_IO,
    HS_ERR_INVALID,
    HS_ERR_NOTFOUND,
    HS_ERR_CONFLICT,
    HS_ERR_CRYPTO,
    HS_ERR_INTERNAL,
    HS_ERR_DENIED, /* wrong credentials, disabled account, no session */
    HS_ERR_LOCKED, /* the account is locked after too many failed logins */
    HS_ERR_BUSY    /* at capacity (queue full): try again later */
} hs_status;

typedef struct hs_error {
    hs_status code;
    char message[512];
} hs_error;

/* Records `code` and a printf-style message in *err (err may be NULL) and
 * returns `code`, so callers can write `return hs_fail(err, ...);`. */
static inline hs_status hs_fail(hs_error *err, hs_status code, const char *fmt,
                                ...) __attribute__((format(printf, 3, 4)));

static inline hs_status hs_fail(hs_error *err, hs_status code, const char *fmt,
                                ...)
{
    if (err) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A stable name for a status ("HS_ERR_IO", ...); never NULL. */
static inline const char *hs_status_name(hs_status code)
{
    switch (code) {
    case HS_OK:
        return "HS_OK";
    case HS_ERR_NOMEM:
        return "HS_ERR_NOMEM";
    case HS_ERR_IO:
        return "HS_ERR_IO";
    case HS_ERR_INVALID:
        return "HS_ERR_INVALID";
    case HS_ERR_NOTFOUND:
        return "HS_ERR_NOTFOUND";
    case HS_ERR_CONFLICT:
        return "HS_ERR_CONFLICT";
    case HS_ERR_CRYPTO:
        return "HS_ERR_CRYPTO";
    case HS_ERR_INTERNAL:
        return "HS_ERR_INTERNAL";
    case HS_ERR_DENIED:
        return "HS_ERR_DENIED";
    case HS_ERR_LOCKED:
        return "HS_ERR_LOCKED";
    case HS_ERR_BUSY:
        return "HS_ERR_BUSY";
    }
    return "HS_ERR_UNKNOWN";
}

#endif
