/* server.h - `healer serve`: its configuration and its life cycle.
 *
 * Configuration comes from built-in defaults, then a config file of
 * `key = value` lines, then command-line flags (flags win); the keys are
 * the flag names without their dashes, so one table describes both and a
 * config file can say anything a flag can. The server assembles the
 * service (data directory, job runner, model cache, HTTP) on start and
 * takes it apart in the reverse order on stop.
 */
#ifndef HEALER_HS_SERVER_H
#define HEALER_HS_SERVER_H

#include <stddef.h>
#include <stdio.h>

#include "base/error.h"

typedef struct hs_server_config {
    char listen[128];      /* HOST:PORT, [V6]:PORT */
    char data_dir[1024];
    char web_dir[1024];    /* "" = serve no UI */
    char log_level[16];
    unsigned http_threads;
    unsigned max_connections;
    unsigned connection_timeout;
    unsigned max_upload_mb;
    unsigned max_json_mb;
    unsigned workers;
    unsigned train_threads;
    unsigned sync_rows;
    unsigned max_queued_jobs;
    unsigned login_rate;   /* logins per minute per address, 0 = no limit */
    unsigned model_cache;
    int secure_cookies;
    int fail_first_attempt; /* testing aid, see jobs.h */
    unsigned job_lease_seconds; /* testing aid (a short lease); 0 = default */
} hs_server_config;

void hs_server_config_defaults(hs_server_config *cfg);

/* Sets one key ("listen", "data-dir", "max-upload-mb", ...); HS_ERR_INVALID
 * says what is wrong with the key or the value. */
hs_status hs_server_config_set(hs_server_config *cfg, const char *key,
                               const char *value, hs_error *err);

/* Applies a config file; errors name the file and line. */
hs_status hs_server_config_load(hs_server_config *cfg, const char *path,
                                hs_error *err);

/* The keys and what they mean, one per line, for --help. */
void hs_server_config_usage(FILE *out);

typedef struct hs_server hs_server;

/* Starts everything and prints the URL (and the setup token when there is
 * no user yet) to `console`. */
hs_status hs_server_start(const hs_server_config *cfg, FILE *console,
                          hs_server **out, hs_error *err);

/* Hourly housekeeping: purge the dataset trash, drop expired sessions. */
void hs_server_maintain(hs_server *s);

/* Graceful stop: no new connections, in-flight requests finish, running
 * jobs are re-queued; then everything is freed. */
void hs_server_stop(hs_server *s);

#endif
