/* server/config.c - the settings' key table and its readers (config.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "domain/alerts.h"
#include "domain/auth.h"
#include "domain/diag_explain.h"
#include "domain/runner.h"
#include "healer/topology.h"
#include "http/http.h"
#include "server/config.h"

/* A number macro as the text the key table's defaults are written in. */
#define TEXT_OF(x) #x
#define NUMBER_TEXT(x) TEXT_OF(x)

typedef enum ktype { K_TEXT, K_UINT, K_BOOL } ktype;

typedef struct key_spec {
    const char *key;
    ktype type;
    size_t offset;
    size_t size;       /* text: buffer size */
    unsigned min, max; /* uint range */
    const char *def;   /* the default, as it would be written */
    const char *help;
    int worker_only;   /* healer worker's alone (WORKER_KEYS: both's) */
} key_spec;

#define FIELD_SIZE(f) sizeof(((hs_server_config *)0)->f)
#define T(k, f, d, h) {k, K_TEXT, offsetof(hs_server_config, f), FIELD_SIZE(f), 0, 0, d, h, 0}
#define U(k, f, lo, hi, d, h) {k, K_UINT, offsetof(hs_server_config, f), 0, lo, hi, d, h, 0}
#define B(k, f, d, h) {k, K_BOOL, offsetof(hs_server_config, f), 0, 0, 1, d, h, 0}
#define WU(k, f, lo, hi, d, h) {k, K_UINT, offsetof(hs_server_config, f), 0, lo, hi, d, h, 1}
static const key_spec KEYS[] = {
    T("listen", listen, "127.0.0.1:8080", "HOST:PORT to listen on"),
    T("data-dir", data_dir, "var", "data directory: store, files, keys"),
    T("store", store, "", "the record store's URL (sqlite:FILE or postgresql://USER@HOST:PORT/DB[?pool_size=N]); empty = sqlite:DATA-DIR/healer.db"),
    T("blobs", blobs, "",
      "where stored files live: file:DIR (a directory, which instances may "
      "share), postgresql (the store's PostgreSQL database) or "
      "postgresql://USER@HOST:PORT/DB; empty = DATA-DIR/blobs"),
    T("web-dir", web_dir, "web/dist", "the web UI's files; empty = API only"),
    T("log-level", log_level, "info", "debug, info, warn or error"),
    T("access-log", access_log, "",
      "the request log's file; empty = DATA-DIR/logs/access.log, - = stderr"),
    T("data-key-file", data_key_file, "",
      "the data key stored files and KPI values are encrypted under (32 "
      "bytes, mode 0600; `healer key new` makes one); empty = "
      "DATA-DIR/data.key, created at first start"),
    U("http-threads", http_threads, 1, 256, "4", "connection threads"),
    U("write-threads", write_threads, 1, 1024, "8",
      "threads that run the requests that write (POST, PUT, DELETE: "
      "uploads, stored diagnoses) while their connections wait, so that "
      "fsyncs never hold up the connection threads; size it to the writes "
      "in flight at once: write rate x fsync time, e.g. 2,000/s x 2 ms = 4"),
    U("write-queue", write_queue, 0, 1000000, "1024",
      "requests that write waiting for a write thread at most; more are "
      "answered 503 with Retry-After"),
    U("max-connections", max_connections, 1, 100000, "4096", "open connections at most"),
    U("connection-timeout", connection_timeout, 1, 3600, "60", "idle seconds before a connection closes"),
    U("max-connections-per-address", max_connections_per_address, 0, 100000, "64",
      "open connections per client address (IPv6: per /64), 0 = no limit; "
      "trusted-proxy addresses are exempt"),
    U("request-head-timeout", request_head_timeout, 1, 3600, "10",
      "seconds a connection has to send a request's whole head, from the "
      "accept or, on a kept-alive connection, from its request line"),
    U("listen-backlog", listen_backlog, 16, 65535, "4096",
      "connections the kernel queues before healer accepts them (capped by "
      "net.core.somaxconn); a burst of connects beyond it times out"),
    U("max-upload-mb", max_upload_mb, 1, 65536, "256", "largest uploaded file, MiB"),
    U("max-json-mb", max_json_mb, 1, 4096, "32", "largest JSON body, MiB"),
    U("workers", workers, 1, 64, "1", "jobs that run at once"),
    B("no-workers", no_workers, "false",
      "run no jobs here: HTTP only, jobs are queued for `healer worker` processes sharing the store"),
    WU("threads", threads, 1, 64, "1",
       "jobs this worker runs at once (each training's threads: train-threads)"),
    U("train-threads", train_threads, 0, 256, "0", "threads per training, 0 = all cores"),
    U("job-nice", job_nice, 0, 19, NUMBER_TEXT(HS_RUNNER_JOB_NICE),
      "how much nicer (lower in CPU priority) than the HTTP threads the "
      "threads that run jobs are, 0-19: a training then takes the cores "
      "requests leave idle and queries do not wait behind it; 0 = the same "
      "priority"),
    U("ingest-async-kb", ingest_async_kb, 0, 67108864, "1024",
      "uploads larger than this many KiB are answered at once as "
      "\"ingesting\" and read and profiled by a job; 0 = every upload "
      "before its answer"),
    U("sync-rows", sync_rows, 1, 10000000, "5000", "diagnoses above this many rows become jobs"),
    U("explain-budget-ms", explain_budget_ms, 0, 3600000,
      NUMBER_TEXT(HS_DIAG_EXPLAIN_BUDGET_MS),
      "processor time, ms of one core, a diagnosis may spend explaining the "
      "rows of a forest, extra-trees or stack model (estimated from the "
      "model before it starts): its first rows that fit get their top KPIs, "
      "the others only their abnormal KPIs; 0 = none. A GBDT's rows are all "
      "explained (about 0.2 ms each)"),
    U("max-queued-jobs", max_queued_jobs, 1, 1000000, "100", "queued jobs before new ones get 503"),
    U("max-queued-jobs-per-user", max_queued_jobs_per_user, 0, 1000000, "0",
      "one user's queued jobs before their new ones get 429; 0 = a quarter of max-queued-jobs"),
    U("login-rate", login_rate, 0, 1000000, "300", "logins (and setups, unlock links) per minute per client address, 0 = unlimited"),
    U("login-backoff-after", login_backoff_after, 0, 1000,
      NUMBER_TEXT(HS_BACKOFF_ACCOUNT_AFTER),
      "failed logins of one account before each next attempt waits 1 s, 2 s, 4 s ..., 0 = no wait"),
    U("login-address-backoff-after", login_address_backoff_after, 0, 1000000,
      NUMBER_TEXT(HS_BACKOFF_ADDRESS_AFTER),
      "failed logins from one client address (an IPv6 /64) before the same waits, 0 = no wait"),
    U("login-backoff-max", login_backoff_max, 1, 86400,
      NUMBER_TEXT(HS_BACKOFF_MAX_DELAY), "the longest of those waits, seconds"),
    T("public-url", public_url, "",
      "the URL people open the UI at, for links in mails (unlock links); empty = http(s)://LISTEN"),
    U("model-cache", model_cache, 1, 1024, "16", "loaded models kept in memory"),
    U("job-lease-seconds", job_lease_seconds, 1, 3600, "30",
      "a job whose worker has not renewed its lease for this long is taken back"),
    U("max-topology-nodes", max_topology_nodes, 1, HL_TOPOLOGY_MAX_NODES_LIMIT,
      NUMBER_TEXT(HL_TOPOLOGY_MAX_NODES_DEFAULT),
      "nodes a topology may have at most (uploads and analyses)"),
    U("blob-grace-seconds", blob_grace_seconds, 0, 604800, "3600",
      "at start, stored files no record refers to are removed once this old"),
    U("min-free-disk-mb", min_free_disk_mb, 0, 100000000, "100",
      "GET /api/v1/health fails (503, check 'disk') when the data directory's "
      "file system has less free space than this, MiB; 0 = report only"),
    B("secure-cookies", secure_cookies, "false",
      "mark cookies Secure (behind a TLS proxy; always on with tls-cert)"),
    T("tls-cert", tls_cert, "",
      "serve HTTPS with this PEM certificate (chain) file; needs tls-key"),
    T("tls-key", tls_key, "", "the PEM private key of tls-cert"),
    B("allow-plain-http", allow_plain_http, "false",
      "allow plain HTTP on a non-loopback listen address (behind a TLS proxy)"),
    T("trusted-proxy", trusted_proxy, "",
      "comma-separated IP addresses or CIDR ranges (10.0.0.0/8, fd00::/8) of proxies whose X-Forwarded-For names the client; "
      "they have no per-address connection limit"),
    T("smtp-url", smtp_url, "",
      "mail relay for alerts: smtp://HOST:PORT (STARTTLS; required off loopback or with credentials) or smtps://HOST:PORT; empty = no mail"),
    T("smtp-from", smtp_from, "", "sender address of alert mails (required with smtp-url)"),
    T("smtp-credentials-file", smtp_credentials_file, "",
      "file holding USER:PASSWORD for the relay, mode 0600; empty = no login"),
    T("smtp-ca-file", smtp_ca_file, "",
      "CA certificates (PEM) the relay's certificate is checked against; empty = the system's"),
    T("webhook-url", webhook_url, "",
      "http(s) URL that gets every alert as a JSON POST; empty = none"),
    U("alert-retry-max", alert_retry_max, 1, 100, "20",
      "delivery attempts per alert (retries wait " NUMBER_TEXT(HS_ALERTS_RETRY_FIRST)
      " s, doubling up to " NUMBER_TEXT(HS_ALERTS_RETRY_CAP) " s)"),
    U("security-flush", security_flush_seconds, 1, 3600, "60",
      "seconds between writes of the refused requests counted in memory"),
    U("security-keep-days", security_retention_days, 1, 3650, "90",
      "the security report's tallies of refused requests are kept this long"),
};
#undef T
#undef U
#undef B
#undef WU
#define N_KEYS (sizeof KEYS / sizeof KEYS[0])

/* The keys `healer worker` shares with `healer serve`: where the store,
 * files and keys are, logging, what jobs need (trainings, leases,
 * topologies, the model cache, the bounds of the files they read) and the
 * alerts of failed jobs. */
static const char *const WORKER_KEYS[] = {
    "data-dir",      "store",        "blobs",
    "log-level",     "data-key-file", "train-threads", "job-nice",
    "model-cache",   "job-lease-seconds", "max-topology-nodes",
    "max-upload-mb", "max-json-mb",  "public-url",
    "explain-budget-ms",
    "smtp-url",      "smtp-from",    "smtp-credentials-file",
    "smtp-ca-file",  "webhook-url",  "alert-retry-max",
};

static const key_spec *find_key(const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].key, key))
            return &KEYS[i];
    return NULL;
}

/* Whether `command` reads key k. */
static int applies(const key_spec *k, hs_config_command command)
{
    if (command == HS_CONFIG_SERVE)
        return !k->worker_only;
    if (k->worker_only)
        return 1;
    for (size_t i = 0; i < sizeof WORKER_KEYS / sizeof *WORKER_KEYS; i++)
        if (!strcmp(WORKER_KEYS[i], k->key))
            return 1;
    return 0;
}

static const char *command_name(hs_config_command command)
{
    return command == HS_CONFIG_WORKER ? "healer worker" : "healer serve";
}

/* public-url: http(s)://HOST[:PORT][/PATH], no spaces, controls, query or
 * fragment: it is the start of links mailed to people. */
static hs_status check_public_url(const char *value, hs_error *err)
{
    const char *rest = !strncmp(value, "https://", 8)  ? value + 8
                       : !strncmp(value, "http://", 7) ? value + 7
                                                       : NULL;
    if (!*value)
        return HS_OK;
    if (!rest || !*rest || *rest == '/')
        return hs_fail_field(err, HS_ERR_INVALID, "public-url",
                             "public-url: expected http://HOST[:PORT][/PATH] "
                             "or https://..., got '%s'",
                             value);
    for (const char *c = value; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f || *c == '?' || *c == '#')
            return hs_fail_field(err, HS_ERR_INVALID, "public-url",
                                 "public-url: no spaces, control characters, "
                                 "'?' or '#' allowed");
    return HS_OK;
}

static hs_status set_text(const key_spec *k, char *field, const char *value,
                          hs_error *err)
{
    hs_log_level level;
    if (strlen(value) >= k->size)
        return hs_fail_field(err, HS_ERR_INVALID, k->key,
                             "%s: the value is too long", k->key);
    if (!strcmp(k->key, "log-level") && hs_log_level_parse(value, &level) != 0)
        return hs_fail_field(err, HS_ERR_INVALID, k->key,
                             "log-level: expected debug, info, warn or error, "
                             "got '%s'",
                             value);
    hs_error inner = {0};
    if (!strcmp(k->key, "trusted-proxy") &&
        hs_http_proxies_parse(value, NULL, &inner) != HS_OK)
        return hs_fail_field(err, HS_ERR_INVALID, k->key, "%s: %s", k->key,
                             inner.message);
    if (!strcmp(k->key, "public-url") && check_public_url(value, err) != HS_OK)
        return HS_ERR_INVALID;
    memcpy(field, value, strlen(value) + 1);
    return HS_OK;
}

static hs_status set_bool(const key_spec *k, int *field, const char *value,
                          hs_error *err)
{
    if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
        *field = 1;
    else if (!strcmp(value, "false") || !strcmp(value, "0") ||
             !strcmp(value, "no"))
        *field = 0;
    else
        return hs_fail_field(err, HS_ERR_INVALID, k->key,
                             "%s: expected true or false, got '%s'", k->key,
                             value);
    return HS_OK;
}

static hs_status set_uint(const key_spec *k, unsigned *field, const char *value,
                          hs_error *err)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (errno || !*value || *value == '-' || *end || v < k->min || v > k->max)
        return hs_fail_field(err, HS_ERR_INVALID, k->key,
                             "%s: expected a whole number in %u..%u, got '%s'",
                             k->key, k->min, k->max, value);
    *field = (unsigned)v;
    return HS_OK;
}

static hs_status apply(hs_server_config *cfg, const key_spec *k,
                       const char *value, hs_error *err)
{
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case K_TEXT: return set_text(k, field, value, err);
    case K_BOOL: return set_bool(k, (int *)(void *)field, value, err);
    case K_UINT: return set_uint(k, (unsigned *)(void *)field, value, err);
    }
    return HS_ERR_INTERNAL;
}

void hs_server_config_defaults_for(hs_server_config *cfg,
                                   hs_config_command command)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++)
        apply(cfg, &KEYS[i], KEYS[i].def, NULL); /* the table's own values */
    cfg->command = command;
}

void hs_server_config_defaults(hs_server_config *cfg)
{
    hs_server_config_defaults_for(cfg, HS_CONFIG_SERVE);
}

hs_status hs_server_config_set(hs_server_config *cfg, const char *key,
                               const char *value, hs_error *err)
{
    const key_spec *k = find_key(key);
    if (!k)
        return hs_fail(err, HS_ERR_INVALID, "unknown setting '%s'", key);
    if (!applies(k, cfg->command))
        return hs_fail_field(err, HS_ERR_INVALID, k->key,
                             "%s is not a setting of %s (it is %s's)", k->key,
                             command_name(cfg->command),
                             command_name(cfg->command == HS_CONFIG_SERVE
                                              ? HS_CONFIG_WORKER
                                              : HS_CONFIG_SERVE));
    return apply(cfg, k, value, err);
}

hs_status hs_server_config_check(const hs_server_config *cfg, hs_error *err)
{
    if (cfg->tls_cert[0] && !cfg->tls_key[0])
        return hs_fail_field(err, HS_ERR_INVALID, "tls-key",
                             "tls-cert is set but tls-key is not: HTTPS needs "
                             "both the certificate and its private key");
    if (cfg->tls_key[0] && !cfg->tls_cert[0])
        return hs_fail_field(err, HS_ERR_INVALID, "tls-cert",
                             "tls-key is set but tls-cert is not: HTTPS needs "
                             "both the certificate and its private key");
    return HS_OK;
}

int hs_server_config_is_bool(const char *key)
{
    const key_spec *k = find_key(key);
    return k && k->type == K_BOOL;
}

void hs_server_config_usage(FILE *out)
{
    hs_server_config_usage_for(out, HS_CONFIG_SERVE);
}

void hs_server_config_usage_for(FILE *out, hs_config_command command)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        if (!applies(&KEYS[i], command))
            continue;
        /* A key longer than the column still gets two spaces before its
         * help, so the help can always be told from the key. */
        int width = (int)strlen(KEYS[i].key) + 1;
        fprintf(out, "  --%-*s %s (%s)\n", width > 20 ? width : 20,
                KEYS[i].key, KEYS[i].help,
                KEYS[i].def[0] ? KEYS[i].def : "empty");
    }
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
                 s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

hs_status hs_server_config_load(hs_server_config *cfg, const char *path,
                                hs_error *err)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int lineno = 0;
    hs_status st = HS_OK;
    if (!f) {
        char buf[128];
        return hs_fail(err, HS_ERR_IO, "%s: %s", path,
                       strerror_r(errno, buf, sizeof buf));
    }
    while (st == HS_OK && fgets(line, sizeof line, f)) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            st = hs_fail(err, HS_ERR_INVALID,
                         "%s:%d: expected 'key = value', got '%.60s'", path,
                         lineno, s);
            break;
        }
        *eq = '\0';
        const key_spec *k = find_key(trim(s));
        if (k && !applies(k, cfg->command)) /* the other command's */
            continue;
        hs_error inner = {0};
        if (hs_server_config_set(cfg, trim(s), trim(eq + 1), &inner) != HS_OK)
            st = hs_fail_field(err, HS_ERR_INVALID, inner.field, "%s:%d: %s",
                               path, lineno, inner.message);
    }
    fclose(f);
    return st;
}
