/* server/config.h - the settings of `healer serve`, from one key table.
 *
 * Settings come from the table's defaults, then a config file of
 * `key = value` lines, then command-line flags (flags win). The keys are
 * the flag names without their dashes, and each key is defined once - its
 * type, range, default and help - so the flags, the config file, the
 * defaults and `--help` cannot disagree.
 */
#ifndef HEALER_HS_CONFIG_H
#define HEALER_HS_CONFIG_H

#include <stdio.h>

#include "base/error.h"
#include "healer/repair.h"

typedef struct hs_server_config {
    char listen[128];      /* HOST:PORT, [V6]:PORT */
    char data_dir[1024];
    char store[1024];      /* store URL; "" = sqlite:DATA_DIR/healer.db */
    char web_dir[1024];    /* "" = serve no UI */
    char log_level[16];
    char access_log[1024]; /* "" = DATA_DIR/logs/access.log, "-" = stderr */
    unsigned http_threads;
    unsigned max_connections;
    unsigned connection_timeout;
    unsigned max_upload_mb;
    unsigned max_json_mb;
    unsigned workers;
    unsigned train_threads;
    unsigned sync_rows;
    unsigned max_queued_jobs;
    unsigned max_queued_jobs_per_user; /* 0 = a quarter of max_queued_jobs */
    unsigned login_rate;   /* logins per minute per address, 0 = no limit */
    unsigned model_cache;
    unsigned job_lease_seconds; /* a running job's lease, renewed while it runs */
    unsigned max_topology_nodes; /* a topology's nodes at most */
    unsigned blob_grace_seconds; /* an unreferenced blob younger than this
                                    is kept by the orphan sweep */
    int secure_cookies;
    /* Testing aid: faults injected into training attempts, from the
     * environment's HEALER_FAULT_INJECT (no key; see healer/repair.h). */
    hl_repair_faults train_faults;
} hs_server_config;

/* Every key at its default. */
void hs_server_config_defaults(hs_server_config *cfg);

/* Sets one key ("listen", "data-dir", "max-upload-mb", ...); HS_ERR_INVALID
 * says what is wrong with the key or the value (field = the key). */
hs_status hs_server_config_set(hs_server_config *cfg, const char *key,
                               const char *value, hs_error *err);

/* Applies a config file; errors name the file and line. */
hs_status hs_server_config_load(hs_server_config *cfg, const char *path,
                                hs_error *err);

/* 1 when `key` is a boolean setting (a flag that may stand alone). */
int hs_server_config_is_bool(const char *key);

/* The keys, what they mean and their defaults, one per line, for --help. */
void hs_server_config_usage(FILE *out);

#endif
