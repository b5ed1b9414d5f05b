/* base/error.h - the service layer's error type: a status code, a message,
 * and the field the error is about.
 *
 * Every fallible service function returns an hs_status and, when given a
 * non-NULL hs_error, fills in a human-readable message the caller may log or
 * turn into an HTTP response, and - when the error is about one input - the
 * name of that input in `field` ("username", "params.rounds", "dataset_id"),
 * so that callers never have to search the message for it. Library code
 * never prints or exits; this is how it reports instead. Header-only so that
 * every service file (and every backend) can use it without a link-order
 * dependency.
 */
#ifndef HEALER_HS_ERROR_H
#define HEALER_HS_ERROR_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    HS_ERR_BUSY,    /* at capacity (queue full): try again later */
    HS_ERR_DISABLED, /* the right password, but the account is disabled */
    HS_ERR_LIMITED, /* too many attempts from this client: wait a minute */
    HS_ERR_MALFORMED, /* a request field missing or of the wrong JSON type */
    HS_ERR_NO_INPUT, /* a diagnosis kept without its input: no labels, no
                       training on its rows */
    HS_ERR_CORRUPT, /* stored data failed authentication (tampered,
                       truncated, reordered): never handed out */
    HS_ERR_QUOTA, /* the user's own share is used up (their queued jobs):
                     theirs to wait for, unlike HS_ERR_BUSY */
    HS_ERR_UNAVAILABLE /* the database cannot be reached (restarting, a
                          network cut): nobody's fault, retry shortly */
} hs_status;

#define HS_FIELD_MAX 64

typedef struct hs_error {
    hs_status code;
    char field[HS_FIELD_MAX]; /* the input it is about, "" = none */
    char message[512];
    /* HS_ERR_LIMITED: seconds before a new try may succeed, set after
     * the hs_fail* call by the code that knows (0 = unknown; every
     * hs_fail* clears it). */
    int64_t retry_after;
} hs_error;

static inline hs_status hs_vfail_field(hs_error *err, hs_status code,
                                       const char *field, const char *fmt,
                                       va_list ap)
{
    if (err) {
        err->code = code;
        err->retry_after = 0;
        snprintf(err->field, sizeof err->field, "%s", field ? field : "");
        vsnprintf(err->message, sizeof err->message, fmt, ap);
    }
    return code;
}

/* Records `code` and a printf-style message in *err (err may be NULL),
 * with no field, and returns `code`, so callers can write
 * `return hs_fail(err, ...);`. */
static inline hs_status hs_fail(hs_error *err, hs_status code, const char *fmt,
                                ...) __attribute__((format(printf, 3, 4)));

static inline hs_status hs_fail(hs_error *err, hs_status code, const char *fmt,
                                ...)
{
    va_list ap;
    va_start(ap, fmt);
    hs_vfail_field(err, code, NULL, fmt, ap);
    va_end(ap);
    return code;
}

/* hs_fail for an error about one input, named in err->field. */
static inline hs_status hs_fail_field(hs_error *err, hs_status code,
                                      const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline hs_status hs_fail_field(hs_error *err, hs_status code,
                                      const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hs_vfail_field(err, code, field, fmt, ap);
    va_end(ap);
    return code;
}

/* Copies UTF-8 text src into dst (cap >= 1 bytes with the NUL), as much as
 * fits, cut only between characters: a message cut to a record's field
 * stays valid UTF-8, which a JSON string must be. */
static inline void hs_copy_message(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        /* Back to the start of the character the cut fell into (a
         * continuation byte is 10xxxxxx): it did not fit whole. */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
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
    case HS_ERR_BUSY:
        return "HS_ERR_BUSY";
    case HS_ERR_DISABLED:
        return "HS_ERR_DISABLED";
    case HS_ERR_LIMITED:
        return "HS_ERR_LIMITED";
    case HS_ERR_MALFORMED:
        return "HS_ERR_MALFORMED";
    case HS_ERR_NO_INPUT:
        return "HS_ERR_NO_INPUT";
    case HS_ERR_CORRUPT:
        return "HS_ERR_CORRUPT";
    case HS_ERR_QUOTA:
        return "HS_ERR_QUOTA";
    case HS_ERR_UNAVAILABLE:
        return "HS_ERR_UNAVAILABLE";
    }
    return "HS_ERR_UNKNOWN";
}

#endif
