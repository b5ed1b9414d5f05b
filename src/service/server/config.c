/* server/config.c - the settings' key table and its readers (config.h). */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "healer/topology.h"
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
} key_spec;

#define FIELD_SIZE(f) sizeof(((hs_server_config *)0)->f)
#define T(k, f, d, h) {k, K_TEXT, offsetof(hs_server_config, f), FIELD_SIZE(f), 0, 0, d, h}
#define U(k, f, lo, hi, d, h) {k, K_UINT, offsetof(hs_server_config, f), 0, lo, hi, d, h}
#define B(k, f, d, h) {k, K_BOOL, offsetof(hs_server_config, f), 0, 0, 1, d, h}
static const key_spec KEYS[] = {
    T("listen", listen, "127.0.0.1:8080", "HOST:PORT to listen on"),
    T("data-dir", data_dir, "var", "data directory: store, files, keys"),
    T("store", store, "", "the record store's URL (sqlite:FILE); empty = sqlite:DATA-DIR/healer.db"),
    T("web-dir", web_dir, "web/dist", "the web UI's files; empty = API only"),
    T("log-level", log_level, "info", "debug, info, warn or error"),
    T("access-log", access_log, "",
      "the request log's file; empty = DATA-DIR/logs/access.log, - = stderr"),
    U("http-threads", http_threads, 1, 256, "4", "connection threads"),
    U("max-connections", max_connections, 1, 100000, "4096", "open connections at most"),
    U("connection-timeout", connection_timeout, 1, 3600, "60", "idle seconds before a connection closes"),
    U("max-upload-mb", max_upload_mb, 1, 65536, "256", "largest uploaded file, MiB"),
    U("max-json-mb", max_json_mb, 1, 4096, "32", "largest JSON body, MiB"),
    U("workers", workers, 1, 64, "1", "jobs that run at once"),
    U("train-threads", train_threads, 0, 256, "0", "threads per training, 0 = all cores"),
    U("sync-rows", sync_rows, 1, 10000000, "5000", "diagnoses above this many rows become jobs"),
    U("max-queued-jobs", max_queued_jobs, 1, 1000000, "100", "queued jobs before new ones get 503"),
    U("max-queued-jobs-per-user", max_queued_jobs_per_user, 0, 1000000, "0",
      "one user's queued jobs before their new ones get 429; 0 = a quarter of max-queued-jobs"),
    U("login-rate", login_rate, 0, 1000000, "300", "logins per minute per client address, 0 = unlimited"),
    U("model-cache", model_cache, 1, 1024, "16", "loaded models kept in memory"),
    U("job-lease-seconds", job_lease_seconds, 1, 3600, "30",
      "a job whose worker has not renewed its lease for this long is taken back"),
    U("max-topology-nodes", max_topology_nodes, 1, HL_TOPOLOGY_MAX_NODES_LIMIT,
      NUMBER_TEXT(HL_TOPOLOGY_MAX_NODES_DEFAULT),
      "nodes a topology may have at most (uploads and analyses)"),
    U("blob-grace-seconds", blob_grace_seconds, 0, 604800, "3600",
      "at start, stored files no record refers to are removed once this old"),
    B("secure-cookies", secure_cookies, "false", "mark cookies Secure (behind TLS)"),
};
#undef T
#undef U
#undef B
#define N_KEYS (sizeof KEYS / sizeof KEYS[0])

static const key_spec *find_key(const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(KEYS[i].key, key))
            return &KEYS[i];
    return NULL;
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

void hs_server_config_defaults(hs_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++)
        apply(cfg, &KEYS[i], KEYS[i].def, NULL); /* the table's own values */
}

hs_status hs_server_config_set(hs_server_config *cfg, const char *key,
                               const char *value, hs_error *err)
{
    const key_spec *k = find_key(key);
    if (!k)
        return hs_fail(err, HS_ERR_INVALID, "unknown setting '%s'", key);
    return apply(cfg, k, value, err);
}

int hs_server_config_is_bool(const char *key)
{
    const key_spec *k = find_key(key);
    return k && k->type == K_BOOL;
}

void hs_server_config_usage(FILE *out)
{
    for (size_t i = 0; i < N_KEYS; i++) {
        /* At least two spaces after the key, however long, so that the
         * key and its help stay apart for readers and scripts. */
        size_t len = strlen(KEYS[i].key);
        int pad = len < 19 ? (int)(21 - len) : 2;
        fprintf(out, "  --%s%*s%s (%s)\n", KEYS[i].key, pad, "", KEYS[i].help,
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
        hs_error inner = {0};
        if (hs_server_config_set(cfg, trim(s), trim(eq + 1), &inner) != HS_OK)
            st = hs_fail_field(err, HS_ERR_INVALID, inner.field, "%s:%d: %s",
                               path, lineno, inner.message);
    }
    fclose(f);
    return st;
}
