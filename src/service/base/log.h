/* log.h - structured logs: one JSON object per line.
 *
 * Errors and job events go to stderr; the access log (one line per HTTP
 * request) goes to its own descriptor, a file under the data directory by
 * default (`healer serve` sets it), so that a busy server's requests do not
 * bury the start-up message and the warnings on the console. All are lines
 * like
 *   {"ts":"2026-12-01T20:00:00.123Z","level":"info","msg":"request",...}
 * so that they can be shipped to any log store and grepped alike. A line
 * is assembled in memory and written with one write(2), so lines from
 * different threads never interleave. Fields are added with a jansson
 * object; the logger adds ts, level and msg.
 */
#ifndef HEALER_HS_LOG_H
#define HEALER_HS_LOG_H

#include <jansson.h>

typedef enum hs_log_level {
    HS_LOG_DEBUG = 0,
    HS_LOG_INFO = 1,
    HS_LOG_WARN = 2,
    HS_LOG_ERROR = 3
} hs_log_level;

/* "debug", "info", "warn" or "error" -> *out; -1 for anything else. */
int hs_log_level_parse(const char *name, hs_log_level *out);

/* Sets the least severe level that is written (default info). Process-wide,
 * like stderr itself; safe to call before threads start. */
void hs_log_set_level(hs_log_level level);
int hs_log_enabled(hs_log_level level);

/* Writes one line to stderr; `fields` (may be NULL) is consumed
 * (decref'ed). */
void hs_log(hs_log_level level, const char *msg, json_t *fields);

/* hs_log for the access log: the same line, to the access log's
 * descriptor (stderr until hs_log_set_access_fd is called). */
void hs_log_access(hs_log_level level, const char *msg, json_t *fields);

/* Sends the access log to fd (opened O_APPEND by the caller; -1 = stderr
 * again) and returns the previous one, which the caller closes unless it
 * is -1. Process-wide; set it before the HTTP server starts or after it
 * stopped. */
int hs_log_set_access_fd(int fd);

#endif
