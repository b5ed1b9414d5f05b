/* log.h - structured logs: one JSON object per line on stderr.
 *
 * Access logs, errors and job events are all lines like
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

/* Writes one line; `fields` (may be NULL) is consumed (decref'ed). */
void hs_log(hs_log_level level, const char *msg, json_t *fields);

#endif
