/* server.c - configuration and life cycle of `healer serve` (server.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "http/api.h"
#include "base/app.h"
#include "domain/datasets.h"
#include "domain/jobs.h"
#include "base/log.h"
#include "domain/models.h"
#include "server/server.h"

struct hs_server {
    hs_app app;
    hs_server_config cfg;
    int app_locks; /* the app's mutexes were initialised */
};

int64_t hs_now(void) { return (int64_t)time(NULL); }

/* ---- configuration ------------------------------------------------------------ */

typedef enum ktype { K_TEXT, K_UINT, K_BOOL } ktype;

typedef struct key_spec {
    const char *key;
    ktype type;
    size_t offset;
    size_t size;        /* text: buffer size */
    unsigned min, max;  /* uint range */
    const char *help;
} key_spec;

#define T(k, f, h) {k, K_TEXT, offsetof(hs_server_config, f), sizeof(((hs_server_config *)0)->f), 0, 0, h}
#define U(k, f, lo, hi, h) {k, K_UINT, offsetof(hs_server_config, f), 0, lo, hi, h}
#define B(k, f, h) {k, K_BOOL, offsetof(hs_server_config, f), 0, 0, 1, h}
static const key_spec KEYS[] = {
    T("listen", listen, "HOST:PORT to listen on (127.0.0.1:8080)"),
    T("data-dir", data_dir, "data directory: store, files, keys (var)"),
    T("web-dir", web_dir, "the web UI's files; empty = API only (web/dist)"),
    T("log-level", log_level, "debug, info, warn or error (info)"),
    U("http-threads", http_threads, 1, 256, "connection threads (4)"),
    U("max-connections", max_connections, 1, 100000, "open connections at most (4096)"),
    U("connection-timeout", connection_timeout, 1, 3600, "idle seconds before a connection closes (60)"),
    U("max-upload-mb", max_upload_mb, 1, 65536, "largest uploaded file, MiB (256)"),
    U("max-json-mb", max_json_mb, 1, 4096, "largest JSON body, MiB (32)"),
    U("workers", workers, 1, 64, "jobs that run at once (1)"),
    U("train-threads", train_threads, 0, 256, "threads per training, 0 = all cores (0)"),
    U("sync-rows", sync_rows, 1, 10000000, "diagnoses above this many rows become jobs (5000)"),
    U("max-queued-jobs", max_queued_jobs, 1, 1000000, "queued jobs before new ones get 503 (100)"),
    U("login-rate", login_rate, 0, 1000000, "logins per minute per client address, 0 = unlimited (300)"),
    U("model-cache", model_cache, 1, 1024, "loaded models kept in memory (16)"),
    B("secure-cookies", secure_cookies, "mark cookies Secure (behind TLS) (false)"),
};
#undef T
#undef U
#undef B

void hs_server_config_defaults(hs_server_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1:8080");
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "var");
    snprintf(cfg->web_dir, sizeof cfg->web_dir, "web/dist");
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");
    cfg->http_threads = 4;
    cfg->max_connections = 4096;
    cfg->connection_timeout = 60;
    cfg->max_upload_mb = 256;
    cfg->max_json_mb = 32;
    cfg->workers = 1;
    cfg->sync_rows = 5000;
    cfg->max_queued_jobs = 100;
    cfg->login_rate = 300;
    cfg->model_cache = 16;
}

void hs_server_config_usage(FILE *out)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        fprintf(out, "  --%-20s %s\n", KEYS[i].key, KEYS[i].help);
}

hs_status hs_server_config_set(hs_server_config *cfg, const char *key,
                               const char *value, hs_error *err)
{
    const key_spec *k = NULL;
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (!strcmp(KEYS[i].key, key))
            k = &KEYS[i];
    if (!k)
        return hs_fail(err, HS_ERR_INVALID, "unknown setting '%s'", key);
    char *field = (char *)cfg + k->offset;
    if (k->type == K_TEXT) {
        if (strlen(value) >= k->size)
            return hs_fail(err, HS_ERR_INVALID, "%s: the value is too long", key);
        memcpy(field, value, strlen(value) + 1);
        if (!strcmp(key, "log-level")) {
            hs_log_level lvl;
            if (hs_log_level_parse(value, &lvl) != 0)
                return hs_fail(err, HS_ERR_INVALID,
                               "log-level: expected debug, info, warn or "
                               "error, got '%s'",
                               value);
        }
        return HS_OK;
    }
    if (k->type == K_BOOL) {
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *(int *)field = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") ||
                 !strcmp(value, "no"))
            *(int *)field = 0;
        else
            return hs_fail(err, HS_ERR_INVALID,
                           "%s: expected true or false, got '%s'", key, value);
        return HS_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (errno || !*value || *value == '-' || *end || v < k->min || v > k->max)
        return hs_fail(err, HS_ERR_INVALID,
                       "%s: expected a whole number in %u..%u, got '%s'", key,
                       k->min, k->max, value);
    *(unsigned *)field = (unsigned)v;
    return HS_OK;
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
            st = hs_fail(err, HS_ERR_INVALID, "%s:%d: %s", path, lineno,
                         inner.message);
    }
    fclose(f);
    return st;
}

/* Splits "HOST:PORT" / "[V6]:PORT" / ":PORT". */
static hs_status parse_listen(const char *listen, char *host, size_t cap,
                              unsigned *port, hs_error *err)
{
    const char *colon = strrchr(listen, ':');
    const char *h = listen;
    size_t hlen = colon ? (size_t)(colon - listen) : 0;
    if (!colon)
        return hs_fail(err, HS_ERR_INVALID,
                       "listen: expected HOST:PORT, got '%s'", listen);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    }
    if (hlen >= cap)
        return hs_fail(err, HS_ERR_INVALID, "listen: host too long");
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (!hlen)
        snprintf(host, cap, "0.0.0.0");
    char *end = NULL;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || p > 65535)
        return hs_fail(err, HS_ERR_INVALID,
                       "listen: the port must be 0..65535, got '%s'", colon + 1);
    *port = (unsigned)p;
    return HS_OK;
}

/* ---- life cycle ---------------------------------------------------------------- */

/* Enough descriptors for max_connections plus files and the database. */
static void raise_fd_limit(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t target = (rlim_t)want + 256;
    if (rl.rlim_cur >= target)
        return;
    rl.rlim_cur = rl.rlim_max < target ? rl.rlim_max : target;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static void announce(hs_server *s, FILE *console, const char *host,
                     unsigned port)
{
    const char *shown = !strcmp(host, "0.0.0.0") ? "127.0.0.1" : host;
    int v6 = strchr(shown, ':') != NULL;
    fprintf(console, "SystemHealer %s listening on http://%s%s%s:%u\n",
            HL_VERSION_STRING, v6 ? "[" : "", shown, v6 ? "]" : "", port);
    if (s->app.setup_token[0]) {
        fprintf(console,
                "No users yet: open the URL in a browser and create the "
                "first administrator\nwith this one-time setup token (or "
                "POST it to /api/v1/setup):\n  setup token: %s\nor from a "
                "shell: healer user add NAME --admin --data-dir %s\n",
                s->app.setup_token, s->cfg.data_dir);
    } else {
        fprintf(console, "Log in with a user of %s (add one with: healer user "
                         "add NAME [--admin] --data-dir %s)\n",
                s->cfg.data_dir, s->cfg.data_dir);
    }
    fflush(console);
}

/* Jobs a crash left "running" go back to the queue once, then fail - those
 * whose lease has run out: a job still leased may be another live
 * process's (the runner takes back the others once theirs expire). */
static void recover_jobs(hs_app *app)
{
    int64_t requeued = 0, failed = 0;
    hs_error err = {0};
    if (hs_store_job_recover(app->store, hs_now(), 1, &requeued, &failed,
                             &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot recover interrupted jobs",
               json_pack("{s:s}", "error", err.message));
    else if (requeued || failed)
        hs_log(HS_LOG_WARN, "jobs interrupted by a crash",
               json_pack("{s:I, s:I}", "requeued", (json_int_t)requeued,
                         "failed", (json_int_t)failed));
}

hs_status hs_server_start(const hs_server_config *cfg, FILE *console,
                          hs_server **out, hs_error *err)
{
    char host[128];
    unsigned port = 0;
    hs_log_level level = HS_LOG_INFO;
    *out = NULL;
    hs_status st = parse_listen(cfg->listen, host, sizeof host, &port, err);
    if (st != HS_OK || (st = hs_auth_init(err)) != HS_OK)
        return st;
    hs_log_level_parse(cfg->log_level, &level);
    hs_log_set_level(level);
    raise_fd_limit(cfg->max_connections);

    hs_server *s = calloc(1, sizeof *s);
    if (!s)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    hs_app *app = &s->app;
    pthread_mutex_init(&app->setup_lock, NULL);
    pthread_mutex_init(&app->rate_lock, NULL);
    s->app_locks = 1;
    app->started_at = hs_now();
    app->limits.max_upload_bytes = (size_t)cfg->max_upload_mb << 20;
    app->limits.max_json_bytes = (size_t)cfg->max_json_mb << 20;
    app->limits.sync_rows = cfg->sync_rows;
    app->limits.max_queued_jobs = cfg->max_queued_jobs;
    app->limits.login_per_minute = cfg->login_rate;
    app->secure_cookies = cfg->secure_cookies;

    if ((st = hs_datadir_open(cfg->data_dir, &app->dd, err)) != HS_OK)
        goto fail;
    app->store = app->dd->store;
    app->blobs = app->dd->blobs;
    if ((st = hs_datadir_server_key(app->dd, app->csrf_key,
                                    sizeof app->csrf_key, err)) != HS_OK ||
        (st = hs_model_cache_new(cfg->model_cache, &app->models, err)) != HS_OK)
        goto fail;
    recover_jobs(app);
    hs_server_maintain(s);

    int64_t users = 0;
    if ((st = hs_store_user_count(app->store, &users, err)) != HS_OK)
        goto fail;
    if (users == 0)
        hs_auth_new_setup_token(app->setup_token);

    hs_runner_config rc = {cfg->workers, (int)cfg->train_threads,
                           cfg->fail_first_attempt, cfg->job_lease_seconds};
    if ((st = hs_runner_start(app, &rc, &app->runner, err)) != HS_OK)
        goto fail;
    hs_http_config hc = {
        .host = host,
        .port = port,
        .threads = cfg->http_threads,
        .max_connections = cfg->max_connections,
        .connection_timeout = cfg->connection_timeout,
        .max_upload_bytes = app->limits.max_upload_bytes,
        .max_json_bytes = app->limits.max_json_bytes,
        .web_dir = cfg->web_dir[0] ? cfg->web_dir : NULL,
        .secure_cookies = cfg->secure_cookies,
    };
    if ((st = hs_http_start(app, &hc, hs_api_routes, hs_api_n_routes,
                            &app->http, err)) != HS_OK)
        goto fail;
    hs_log(HS_LOG_INFO, "started",
           json_pack("{s:s, s:s, s:i, s:i}", "listen", cfg->listen, "data_dir",
                     cfg->data_dir, "workers", (int)cfg->workers,
                     "http_threads", (int)cfg->http_threads));
    announce(s, console, host, port);
    *out = s;
    return HS_OK;
fail:
    hs_server_stop(s);
    return st;
}

void hs_server_maintain(hs_server *s)
{
    hs_error err = {0};
    size_t purged = 0;
    int64_t expired = 0;
    if (hs_datasets_purge(&s->app, hs_now(), &purged, &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot purge the dataset trash",
               json_pack("{s:s}", "error", err.message));
    hs_store_session_delete_expired(s->app.store, hs_now(), &expired, NULL);
    if (purged || expired)
        hs_log(HS_LOG_INFO, "housekeeping",
               json_pack("{s:I, s:I}", "datasets_purged", (json_int_t)purged,
                         "sessions_expired", (json_int_t)expired));
}

void hs_server_stop(hs_server *s)
{
    if (!s)
        return;
    hs_app *app = &s->app;
    if (app->http) {
        hs_http_quiesce(app->http);
        hs_log(HS_LOG_INFO, "stopping: no new connections; finishing requests",
               NULL);
        hs_http_stop(app->http);
    }
    hs_runner_stop(app->runner); /* running jobs go back to the queue */
    hs_model_cache_free(app->models);
    hs_datadir_close(app->dd);
    if (s->app_locks) {
        pthread_mutex_destroy(&app->setup_lock);
        pthread_mutex_destroy(&app->rate_lock);
    }
    free(app->rate_slots);
    sodium_memzero(app->csrf_key, sizeof app->csrf_key);
    free(s);
}
