/* healer/error.h - status codes and the error record every library call fills.
 *
 * The library never prints and never exits: a failing call returns a status
 * code and, when the caller passed a non-NULL hl_error, fills it with a
 * message plus the location it concerns (file, line, column name) and, for
 * an error about one input such as a training parameter, that input's name
 * in `field`, so that a CLI can print it and the web service can return it
 * as structured JSON without ever searching the message text.
 */
#ifndef HEALER_ERROR_H
#define HEALER_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hl_status {
    HL_OK = 0,
    HL_ERR_NOMEM,     /* an allocation failed */
    HL_ERR_IO,        /* open/read/write/rename failed; message has errno text */
    HL_ERR_PARSE,     /* malformed input (CSV cell, field count, header, ...) */
    HL_ERR_INVALID,   /* invalid argument or parameter value */
    HL_ERR_LIMIT,     /* a configured limit was exceeded (size, columns, ...) */
    HL_ERR_DATA,      /* well-formed but unusable data (one class, no rows) */
    HL_ERR_FORMAT,    /* model file: bad magic, truncated, checksum mismatch */
    HL_ERR_VERSION,   /* model file written by a newer format version */
    HL_ERR_CANCELLED, /* the caller's cancel flag or callback stopped the work */
    HL_ERR_INTERNAL,  /* a bug: an invariant did not hold */
    HL_ERR_DIVERGED   /* training diverged: its loss or weights stopped
                         being finite numbers (retry with safer parameters
                         or another learner) */
} hl_status;

/* Where an error points to. Fields that do not apply are empty / 0. */
typedef struct hl_error {
    hl_status code;
    char file[256];    /* input file name (or a label such as "<request>") */
    size_t line;       /* 1-based physical line number, 0 when not applicable */
    char column[128];  /* column header name, "" when not applicable */
    size_t column_index; /* 1-based column index, 0 when not applicable */
    char field[64];    /* the parameter or input it is about ("learning_rate",
                          "algo"), "" when not applicable */
    char message[768]; /* full human-readable message, location included */
} hl_error;

/* Non-fatal findings of a call (an extra column ignored, labels unknown to
 * a model, ...). Owned by the caller; release with hl_warnings_free(). */
typedef struct hl_warnings {
    size_t count;
    char **items;
} hl_warnings;

void hl_warnings_free(hl_warnings *w);

/* Appends a printf-style warning (for callers that report their own
 * findings beside the engine's). HL_ERR_NOMEM when it cannot. */
hl_status hl_warnings_add(hl_warnings *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Short stable identifier for a status, e.g. "parse" or "nomem". */
const char *hl_status_name(hl_status code);

/* Resets *err to HL_OK with empty fields. err may be NULL. */
void hl_error_clear(hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
