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
#include "blob/blob.h"
#include "healer/repair.h"

/* The commands that read these settings: each key is one command's, or
 * both's (config.c's table says which). */
typedef enum hs_config_command {
    HS_CONFIG_SERVE,  /* healer serve: HTTP, and jobs unless no-workers */
    HS_CONFIG_WORKER, /* healer worker: jobs only */
} hs_config_command;

typedef struct hs_server_config {
    hs_config_command command; /* whose settings these are (defaults_for) */
    char listen[128];      /* HOST:PORT, [V6]:PORT */
    char data_dir[1024];
    char store[1024];      /* store URL; "" = sqlite:DATA_DIR/healer.db */
    char blobs[1024];      /* blob store URL (blob.h's hs_blob_open);
                              "" = DATA_DIR/blobs */
    char web_dir[1024];    /* "" = serve no UI */
    char log_level[16];
    char access_log[1024]; /* "" = DATA_DIR/logs/access.log, "-" = stderr */
    char data_key_file[1024]; /* "" = DATA_DIR/data.key (base/datakey.h) */
    unsigned http_threads;
    unsigned write_threads; /* requests that write run on these */
    unsigned write_queue;   /* such requests waiting for one, at most */
    unsigned max_connections;
    unsigned connection_timeout;
    unsigned max_connections_per_address; /* per client address, 0 = no limit */
    unsigned request_head_timeout; /* seconds for a request's whole head */
    unsigned listen_backlog;       /* connections the kernel queues unaccepted */
    unsigned max_upload_mb;
    unsigned max_json_mb;
    unsigned workers;      /* serve: jobs run at once */
    int no_workers;        /* serve: run no jobs (workers do) */
    unsigned threads;      /* worker: jobs run at once */
    unsigned train_threads;
    unsigned job_nice;     /* the job threads' nice increment */
    unsigned sync_rows;
    unsigned explain_budget_ms;
    unsigned max_queued_jobs;
    unsigned max_queued_jobs_per_user; /* 0 = a quarter of max_queued_jobs */
    unsigned ingest_async_kb; /* uploads over this become ingest jobs */
    unsigned login_rate;   /* logins per minute per address, 0 = no limit */
    unsigned login_backoff_after;         /* an account's free failures */
    unsigned login_address_backoff_after; /* an address's free failures */
    unsigned login_backoff_max;           /* the longest wait, seconds */
    char public_url[256];  /* "" = derived from listen (and TLS) */
    unsigned model_cache;
    unsigned job_lease_seconds; /* a running job's lease, renewed while it runs */
    unsigned max_topology_nodes; /* a topology's nodes at most */
    unsigned blob_grace_seconds; /* an unreferenced blob younger than this
                                    is kept by the orphan sweep */
    unsigned min_free_disk_mb; /* health fails below this free space, MiB */
    int secure_cookies;
    unsigned security_flush_seconds;  /* refusal tallies written this often */
    unsigned security_retention_days; /* and kept this long */
    /* TLS (server/tls.h): both paths or neither; "" = plain HTTP. */
    char tls_cert[1024];   /* PEM certificate (chain) file */
    char tls_key[1024];    /* PEM private key file */
    int allow_plain_http;  /* plain HTTP on a non-loopback address */
    /* Proxies whose X-Forwarded-For names the client: IP addresses,
     * comma-separated ("" = none; checked when set). */
    char trusted_proxy[512];
    /* Alerts (domain/alerts.h): the mail relay, the sender, the relay's
     * login, the webhook; "" = none. */
    char smtp_url[1024];
    char smtp_from[256];
    char smtp_credentials_file[1024];
    char smtp_ca_file[1024];
    char webhook_url[2048];
    unsigned alert_retry_max; /* delivery attempts per message */
    /* Testing aid: faults injected into training attempts, from the
     * environment's HEALER_FAULT_INJECT (no key; see healer/repair.h). */
    hl_repair_faults train_faults;
    /* Testing aid: a file every alert is also written to, whole, from the
     * environment's HEALER_ALERT_TAP (no key; see domain/alert_tap.h). */
    char alert_tap[1024];
    /* Testing aid: blob commits made slower, as on a disk whose fsyncs
     * stall, from the environment's HEALER_FAULT_COMMIT_DELAY (no key; see
     * blob/blob.h's hs_blob_delays). */
    hs_blob_delays commit_delays;
} hs_server_config;

/* Every key at its default, for `healer serve`. */
void hs_server_config_defaults(hs_server_config *cfg);

/* Every key at its default, for `command`: later calls accept only that
 * command's keys. */
void hs_server_config_defaults_for(hs_server_config *cfg,
                                   hs_config_command command);

/* Sets one key ("listen", "data-dir", "max-upload-mb", ...) of cfg's
 * command; HS_ERR_INVALID says what is wrong with the key or the value
 * (field = the key), or that the key is the other command's. */
hs_status hs_server_config_set(hs_server_config *cfg, const char *key,
                               const char *value, hs_error *err);

/* Applies a config file; errors name the file and line. A key of the
 * other command is skipped, so that one file serves both. */
hs_status hs_server_config_load(hs_server_config *cfg, const char *path,
                                hs_error *err);

/* Checks the settings that only make sense together, once every source
 * was applied: tls-cert and tls-key are both given or both left out.
 * HS_ERR_INVALID names the missing one (field = its key). */
hs_status hs_server_config_check(const hs_server_config *cfg, hs_error *err);

/* 1 when `key` is a boolean setting (a flag that may stand alone). */
int hs_server_config_is_bool(const char *key);

/* The keys of `healer serve`, what they mean and their defaults, one per
 * line, for --help. */
void hs_server_config_usage(FILE *out);

/* The same for `command`'s keys. */
void hs_server_config_usage_for(FILE *out, hs_config_command command);

#endif
