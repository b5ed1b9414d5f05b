/* log.c - JSON-lines logging to stderr and the access log (see log.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

static atomic_int min_level = HS_LOG_INFO;
static atomic_int access_fd = -1; /* -1: stderr */

static const char *const LEVEL_NAMES[] = {"debug", "info", "warn", "error"};

int hs_log_level_parse(const char *name, hs_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, LEVEL_NAMES[i])) {
            *out = (hs_log_level)i;
            return 0;
        }
    return -1;
}

void hs_log_set_level(hs_log_level level) { atomic_store(&min_level, (int)level); }

int hs_log_enabled(hs_log_level level)
{
    return (int)level >= atomic_load(&min_level);
}

int hs_log_set_access_fd(int fd) { return atomic_exchange(&access_fd, fd); }

static void write_line(int fd, hs_log_level level, const char *msg,
                       json_t *fields)
{
    if (!hs_log_enabled(level)) {
        json_decref(fields);
        return;
    }
    struct timeval tv;
    struct tm tm;
    char ts[40];
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(tv.tv_usec / 1000));

    json_t *line = json_pack("{s:s, s:s, s:s}", "ts", ts, "level",
                             LEVEL_NAMES[level], "msg", msg ? msg : "");
    if (line && fields)
        json_object_update(line, fields);
    json_decref(fields);
    char *text = line ? json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(line);
    if (!text)
        return;
    size_t len = strlen(text);
    char *buf = realloc(text, len + 2);
    if (buf) {
        buf[len] = '\n';
        /* One write: lines from different threads never interleave. */
        ssize_t w = write(fd, buf, len + 1);
        (void)w;
        free(buf);
    } else {
        free(text);
    }
}

void hs_log(hs_log_level level, const char *msg, json_t *fields)
{
    write_line(STDERR_FILENO, level, msg, fields);
}

void hs_log_access(hs_log_level level, const char *msg, json_t *fields)
{
    int fd = atomic_load(&access_fd);
    write_line(fd < 0 ? STDERR_FILENO : fd, level, msg, fields);
}
