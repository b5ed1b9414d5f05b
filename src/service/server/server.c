/* server/server.c - the life cycle of `healer serve` (see server.h). */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/app.h"
#include "base/client_key.h"
#include "base/clock.h"
#include "base/log.h"
#include "domain/accounts.h"
#include "domain/alerts.h"
#include "domain/analyses.h"
#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/health.h"
#include "domain/job_types.h"
#include "domain/jobs.h"
#include "domain/logins.h"
#include "domain/models.h"
#include "domain/notifications.h"
#include "domain/orphans.h"
#include "domain/runner.h"
#include "domain/security_report.h"
#include "domain/shared_secrets.h"
#include "domain/topologies.h"
#include "domain/throttle.h"
#include "http/api.h"
#include "server/datadir.h"
#include "server/process.h"
#include "server/server.h"
#include "server/tls.h"

struct hs_server {
    hs_app app;
    hs_server_config cfg;
    hs_dirlock *lock; /* the data directory's, taken first */
    hs_datadir *dd;   /* owns app.store, app.blobs and app.keys */
    struct hs_http *http;
    hs_login_policy login_policy; /* app.login_policy points here */
    char public_url[320];         /* app.public_url points here */
    int access_fd;             /* the access log's file, -1 = stderr */
    int64_t started_ns;        /* the system clock at start (file times) */
    pthread_t sweep;           /* the start-up sweep (modes, orphans) */
    int sweep_started;
    atomic_int sweep_stop;     /* raised by stop: the sweep ends early */
    char access_path[PATH_MAX]; /* for the start-up message */
    hs_tls_creds tls;           /* HTTPS's certificate and key, or none */
};

/* This program's own path (argv[0] resolved), so that the commands the
 * start-up message prints run whatever the reader's working directory
 * and PATH; "healer" when /proc is not there. */
static void self_path(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n <= 0 || (size_t)n >= cap - 1)
        snprintf(out, cap, "healer");
    else
        out[n] = '\0';
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

/* Descriptors kept for the store, blobs, logs and the job runner beside
 * the connections. */
#define FD_RESERVE 256

/* Enough descriptors for max_connections plus FD_RESERVE; returns the
 * connections the descriptor limit allows, so that the cap is refused
 * cleanly by libmicrohttpd instead of failing accepts (EMFILE) for
 * everybody. */
static unsigned raise_fd_limit(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    rlim_t target = (rlim_t)want + FD_RESERVE;
    if (rl.rlim_cur < target) {
        rl.rlim_cur = rl.rlim_max < target ? rl.rlim_max : target;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur >= target)
        return want;
    unsigned fits = rl.rlim_cur > 2 * FD_RESERVE
                        ? (unsigned)(rl.rlim_cur - FD_RESERVE)
                        : (unsigned)(rl.rlim_cur / 2);
    hs_log(HS_LOG_WARN, "max-connections lowered to the descriptor limit",
           json_pack("{s:i, s:i, s:I}", "max_connections", (int)want,
                     "allowed", (int)fits, "nofile",
                     (json_int_t)rl.rlim_cur));
    return fits ? fits : 1;
}

/* A UTC date for messages. */
static void format_date(int64_t t, char *out, size_t cap)
{
    struct tm tm;
    time_t tt = (time_t)t;
    if (!gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(out, cap, "%lld", (long long)t);
}

/* Which certificate HTTPS uses and until when; loud when that is soon. */
static void announce_tls(const hs_server *s, FILE *console)
{
    if (!s->tls.cert_pem)
        return;
    char until[48];
    format_date(s->tls.not_after, until, sizeof until);
    fprintf(console, "HTTPS certificate: %s (valid until %s)\n",
            s->cfg.tls_cert, until);
}

/* The transport, settled before the data directory is touched: the
 * certificate and key read and checked (tls.h), plain HTTP only where the
 * rule allows it. An expired or nearly expired certificate is logged, not
 * refused: clients will say so too, and a restart cannot mend it. */
static hs_status prepare_transport(hs_server *s, const char *host,
                                   hs_error *err)
{
    const hs_server_config *cfg = &s->cfg;
    hs_status st;
    if (cfg->tls_cert[0]) {
        if (!hs_http_tls_supported())
            return hs_fail(err, HS_ERR_INVALID,
                           "tls-cert: this libmicrohttpd was built without "
                           "TLS support; serve plain HTTP behind a "
                           "TLS-terminating proxy instead (docs/deploy.md)");
        if ((st = hs_tls_load(cfg->tls_cert, cfg->tls_key, &s->tls, err)) !=
            HS_OK)
            return st;
        int64_t now = (int64_t)time(NULL);
        if (s->tls.not_after - now < 14 * 86400 || s->tls.not_before > now) {
            char until[48];
            format_date(s->tls.not_after, until, sizeof until);
            hs_log(HS_LOG_WARN,
                   s->tls.not_after <= now || s->tls.not_before > now
                       ? "the HTTPS certificate is not valid now"
                       : "the HTTPS certificate expires within 14 days",
                   json_pack("{s:s, s:s}", "tls_cert", cfg->tls_cert,
                             "valid_until", until));
        }
    }
    return hs_tls_check_plain_http(host, cfg->tls_cert[0] != 0,
                                   cfg->allow_plain_http, err);
}

static void announce(hs_server *s, FILE *console, const char *host,
                     unsigned port)
{
    const char *shown = !strcmp(host, "0.0.0.0") ? "127.0.0.1" : host;
    int v6 = strchr(shown, ':') != NULL;
    char exe[PATH_MAX], dir[PATH_MAX];
    self_path(exe, sizeof exe);
    if (!realpath(s->cfg.data_dir, dir))
        snprintf(dir, sizeof dir, "%s", s->cfg.data_dir);
    fprintf(console, "SystemHealer %s listening on %s://%s%s%s:%u\n",
            HL_VERSION_STRING, s->tls.cert_pem ? "https" : "http",
            v6 ? "[" : "", shown, v6 ? "]" : "", port);
    announce_tls(s, console);
    char token[HS_SETUP_TOKEN_CHARS + 1];
    /* Where `healer user add` finds the accounts: the directory's own
     * store, or the shared one (its URL is not printed: it may hold a
     * password). */
    char where[PATH_MAX + 16];
    if (s->cfg.store[0])
        snprintf(where, sizeof where, "--store URL");
    else
        snprintf(where, sizeof where, "--data-dir %s", dir);
    hs_setup_token(s->app.setup, token);
    if (token[0]) {
        fprintf(console,
                "No users yet: open the URL in a browser and create the "
                "first administrator\nwith this one-time setup token (or "
                "POST it to /api/v1/setup):\n  setup token: %s\nor from a "
                "shell: %s user add NAME --admin %s\n",
                token, exe, where);
    } else {
        fprintf(console, "Log in with a user of the store (add one with: %s "
                         "user add NAME [--admin] %s)\n",
                exe, where);
    }
    if (s->cfg.no_workers)
        fprintf(console, "Jobs: queued for `healer worker` processes sharing "
                         "the store (no-workers)\n");
    fprintf(console, "Request log: %s\n", s->access_path);
    fflush(console);
}

/* Whether this server speaks TLS itself: a tls-cert is set. A TLS proxy in
 * front (secure-cookies) does not count. */
static int serves_tls(const hs_server_config *cfg)
{
    return cfg->tls_cert[0] != '\0';
}

/* The public-url setting, or http(s)://HOST:PORT from --listen; a
 * wildcard address is nobody's address, so the machine's name stands in
 * for it (and a warning says to set public-url). */
static void derive_public_url(hs_server *s, const char *host, unsigned port)
{
    const hs_server_config *cfg = &s->cfg;
    char name[256];
    if (cfg->public_url[0]) {
        snprintf(s->public_url, sizeof s->public_url, "%s", cfg->public_url);
        return;
    }
    int wildcard = !host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "::");
    /* Behind a proxy (or on the loopback) the listen address is not what
     * people open: an unlock link made from it would not work for them. */
    if (cfg->smtp_url[0] && !wildcard &&
        (cfg->trusted_proxy[0] || hs_host_is_loopback(host)))
        hs_log(HS_LOG_WARN,
               "public-url is not set: links in mails (an account lock's "
               "unlock link) point at the listen address, which people "
               "behind a proxy or on another machine cannot open; set "
               "public-url to the address people use",
               json_pack("{s:s}", "listen", cfg->listen));
    if (wildcard) {
        if (gethostname(name, sizeof name) != 0)
            snprintf(name, sizeof name, "localhost");
        name[sizeof name - 1] = '\0';
        hs_log(HS_LOG_WARN,
               "public-url is not set: links in mails use this machine's "
               "name; set public-url to the address people use",
               json_pack("{s:s}", "host", name));
    } else {
        snprintf(name, sizeof name, "%s", host);
    }
    int v6 = strchr(name, ':') != NULL;
    snprintf(s->public_url, sizeof s->public_url, "%s://%s%s%s:%u",
             serves_tls(cfg) ? "https" : "http", v6 ? "[" : "", name,
             v6 ? "]" : "", port);
}

/* The login policy: the lockout and the links' life are fixed (auth.h),
 * the back-off's thresholds and cap are settings. */
static void login_policy(hs_server *s)
{
    const hs_server_config *cfg = &s->cfg;
    hs_login_policy *p = &s->login_policy;
    *p = HS_LOGIN_POLICY_DEFAULT;
    p->account.free_failures = cfg->login_backoff_after;
    p->address.free_failures = cfg->login_address_backoff_after;
    p->account.max_delay = p->address.max_delay = cfg->login_backoff_max;
    s->app.login_policy = p;
}

/* ---- the start-up sweep ---------------------------------------------------- */

/* Narrows the modes an older healer (or a wide umask) left in the data
 * directory, and logs what it changed. */
static void sweep_modes(hs_server *s)
{
    size_t files = 0, dirs = 0;
    hs_error err = {0};
    hs_status st = hs_datadir_fix_modes(s->cfg.data_dir, &s->sweep_stop,
                                        &files, &dirs, &err);
    if (st != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot narrow the data directory's modes",
               json_pack("{s:s}", "error", err.message));
    if (files || dirs)
        hs_log(HS_LOG_WARN, "data directory modes narrowed to 0600 / 0700",
               json_pack("{s:s, s:I, s:I}", "data_dir", s->cfg.data_dir,
                         "files", (json_int_t)files, "directories",
                         (json_int_t)dirs));
}

/* Removes blobs no record refers to and writers' temporary files, those
 * last written blob-grace-seconds before this start or earlier: what a
 * killed process left (a blob committed before its record). A younger
 * one may be another process's, about to be recorded. */
static void sweep_orphans(hs_server *s)
{
    hs_orphan_report rep;
    hs_error err = {0};
    int64_t before_ns =
        s->started_ns - (int64_t)s->cfg.blob_grace_seconds * 1000000000LL;
    hs_status st =
        hs_orphans_sweep(&s->app, before_ns, &s->sweep_stop, &rep, &err);
    if (st != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot remove orphan blobs",
               json_pack("{s:s}", "error", err.message));
    if (rep.blobs || rep.temps || st != HS_OK)
        hs_log(HS_LOG_WARN, "orphan blobs removed",
               json_pack("{s:I, s:I, s:I, s:I, s:I}", "blobs",
                         (json_int_t)rep.blobs, "blob_bytes",
                         (json_int_t)rep.blob_bytes, "temp_files",
                         (json_int_t)rep.temps, "temp_bytes",
                         (json_int_t)rep.temp_bytes, "kept_recent",
                         (json_int_t)rep.kept_recent));
    else
        hs_log(HS_LOG_INFO, "no orphan blobs",
               json_pack("{s:I}", "kept_recent", (json_int_t)rep.kept_recent));
}

static void *sweep_main(void *arg)
{
    hs_server *s = arg;
    sweep_modes(s);
    if (!atomic_load(&s->sweep_stop))
        sweep_orphans(s);
    return NULL;
}

/* The CSRF key every instance shares, from the store (shared_secrets.h);
 * the data directory's server.key of an earlier version is moved into it
 * on the first start, so that the tokens it signed stay valid. */
static hs_status load_csrf_key(hs_server *s, hs_error *err)
{
    uint8_t old[HS_APP_KEY_BYTES];
    int found = 0, took = 0;
    hs_status st = hs_datadir_old_server_key(s->dd, old, sizeof old, &found,
                                             err);
    if (st == HS_OK)
        st = hs_shared_csrf_key(&s->app, found ? old : NULL, s->app.csrf_key,
                                &took, err);
    if (st == HS_OK && found) {
        hs_log(took ? HS_LOG_INFO : HS_LOG_WARN,
               took ? "server.key moved into the store: its CSRF tokens stay "
                      "valid on every instance"
                    : "server.key not used: the store holds another "
                      "instance's CSRF key, which every instance now uses",
               json_pack("{s:s}", "data_dir", s->cfg.data_dir));
        st = hs_datadir_old_server_key_remove(s->dd, err);
    }
    sodium_memzero(old, sizeof old);
    return st;
}

/* The app's shared state over an open data directory. */
static hs_status assemble_app(hs_server *s, hs_error *err)
{
    const hs_server_config *cfg = &s->cfg;
    hs_app *app = &s->app;
    hs_status st = hs_process_app(app, cfg, s->dd, err);
    if (st != HS_OK)
        return st;
    app->limits.sync_rows = cfg->sync_rows;
    app->limits.max_queued_jobs = cfg->max_queued_jobs;
    app->limits.ingest_async_bytes = (size_t)cfg->ingest_async_kb << 10;
    /* The default share: a quarter of the queue, so that four users'
     * backlogs fill it before anyone is refused for the queue's sake. */
    app->limits.max_queued_jobs_per_user =
        cfg->max_queued_jobs_per_user ? cfg->max_queued_jobs_per_user
        : cfg->max_queued_jobs >= 4   ? cfg->max_queued_jobs / 4
                                      : 1;
    login_policy(s);
    app->public_url = s->public_url;
    st = load_csrf_key(s, err);
    if (st == HS_ERR_CORRUPT)
        hs_datadir_unmake_key(s->dd); /* data-key-file forgotten */
    if (st == HS_OK)
        st = hs_throttle_new(cfg->login_rate, &app->login_throttle, err);
    if (st == HS_OK)
        st = hs_setup_new(app, &app->setup, err);
    if (st == HS_OK)
        st = hs_refusals_start(app, cfg->security_flush_seconds,
                               cfg->security_retention_days, &app->refusals,
                               err);
    if (st == HS_OK)
        st = hs_health_new(cfg->data_dir, (uint64_t)cfg->min_free_disk_mb << 20,
                           &app->health, err);
    return st;
}

static hs_status start_http(hs_server *s, const char *host, unsigned port,
                            hs_error *err)
{
    const hs_server_config *cfg = &s->cfg;
    hs_http_config hc = {
        .host = host,
        .port = port,
        .threads = cfg->http_threads,
        .max_connections = cfg->max_connections,
        .connection_timeout = cfg->connection_timeout,
        .max_connections_per_address = cfg->max_connections_per_address,
        .request_head_timeout = cfg->request_head_timeout,
        .listen_backlog = cfg->listen_backlog,
        .write_threads = cfg->write_threads,
        .write_queue = cfg->write_queue,
        .max_upload_bytes = s->app.limits.max_upload_bytes,
        .max_json_bytes = s->app.limits.max_json_bytes,
        .web_dir = cfg->web_dir[0] ? cfg->web_dir : NULL,
        .secure_cookies = cfg->secure_cookies,
        .tls_cert_pem = s->tls.cert_pem,
        .tls_key_pem = s->tls.key_pem,
        .trusted_proxy = cfg->trusted_proxy,
        .auth = {hs_api_session_cookie, hs_api_authenticate,
                 hs_api_csrf_valid},
    };
    return hs_http_start(&s->app, &hc, hs_api_routes, hs_api_n_routes,
                         &s->http, err);
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
    unsigned max_connections = raise_fd_limit(cfg->max_connections);

    hs_server *s = calloc(1, sizeof *s);
    if (!s)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    s->cfg = *cfg;
    s->cfg.max_connections = max_connections;
    s->access_fd = -1;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    s->started_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
    derive_public_url(s, host, port);
    /* The transport is settled (files outside the directory only), then
     * the directory locked before anything in it is opened. */
    if ((st = prepare_transport(s, host, err)) != HS_OK ||
        (st = hs_process_open(cfg, "healer serve", &s->lock, &s->dd, err)) !=
            HS_OK ||
        (st = hs_datadir_access_log(s->dd, cfg->access_log, s->access_path,
                                    sizeof s->access_path, &s->access_fd,
                                    err)) != HS_OK ||
        (st = assemble_app(s, err)) != HS_OK)
        goto fail;
    hs_log_set_access_fd(s->access_fd);
    if ((st = hs_alerts_start(s->app.alerts, err)) != HS_OK)
        goto fail;
    hs_process_recover_jobs(&s->app);
    hs_server_maintain(s);
    /* With no-workers, jobs are queued for `healer worker` processes: no
     * runner here (health then has no runner to check, and a cancel
     * reaches the worker through the store). */
    if ((!cfg->no_workers &&
         (st = hs_process_runner(&s->app, cfg, cfg->workers, err)) != HS_OK) ||
        (st = start_http(s, host, port, err)) != HS_OK)
        goto fail;
    hs_log(HS_LOG_INFO, "started",
           json_pack("{s:s, s:s, s:i, s:i, s:i, s:s}", "listen", cfg->listen,
                     "data_dir", cfg->data_dir, "workers",
                     cfg->no_workers ? 0 : (int)cfg->workers,
                     "http_threads", (int)cfg->http_threads, "write_threads",
                     (int)cfg->write_threads, "access_log", s->access_path));
    /* After readiness: a big directory must not hold up the start. */
    s->sweep_started = pthread_create(&s->sweep, NULL, sweep_main, s) == 0;
    if (!s->sweep_started)
        hs_log(HS_LOG_ERROR, "cannot start the start-up sweep", NULL);
    announce(s, console, host, port);
    *out = s;
    return HS_OK;
fail:
    hs_server_stop(s);
    return st;
}

/* Logs a purge that failed (the next hour tries again). */
static void purge_logged(hs_status st, hs_error *err, const char *what)
{
    if (st != HS_OK)
        hs_log(HS_LOG_ERROR, what, json_pack("{s:s}", "error", err->message));
    memset(err, 0, sizeof *err);
}

void hs_server_maintain(hs_server *s)
{
    hs_error err = {0};
    size_t datasets = 0, models = 0, diagnosis_blobs = 0;
    size_t analysis_blobs = 0, topologies = 0;
    int64_t expired = 0, alerts = 0;
    purge_logged(hs_analyses_purge(&s->app, &analysis_blobs, &err), &err,
                 "cannot purge the analysis trash");
    purge_logged(hs_topologies_purge(&s->app, &topologies, &err), &err,
                 "cannot purge the topology trash");
    purge_logged(hs_diagnoses_purge(&s->app, &diagnosis_blobs, &err), &err,
                 "cannot purge the diagnosis trash");
    purge_logged(hs_models_purge(&s->app, &models, &err), &err,
                 "cannot purge the model trash");
    purge_logged(hs_datasets_purge(&s->app, &datasets, &err), &err,
                 "cannot purge the dataset trash");
    purge_logged(hs_alerts_purge(&s->app, &alerts, &err), &err,
                 "cannot purge the outbox of alerts");
    hs_accounts_purge_sessions(&s->app, &expired, NULL);
    purge_logged(hs_logins_purge(&s->app, NULL, &err), &err,
                 "cannot purge login back-off counters and unlock links");
    if (datasets || models || diagnosis_blobs || analysis_blobs ||
        topologies || expired || alerts)
        hs_log(HS_LOG_INFO, "housekeeping",
               json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                         "alerts_purged", (json_int_t)alerts,
                         "datasets_purged",
                         (json_int_t)datasets, "models_purged",
                         (json_int_t)models, "diagnosis_blobs_purged",
                         (json_int_t)diagnosis_blobs, "analysis_blobs_purged",
                         (json_int_t)analysis_blobs, "topologies_purged",
                         (json_int_t)topologies, "sessions_expired",
                         (json_int_t)expired));
}

void hs_server_stop(hs_server *s)
{
    if (!s)
        return;
    hs_app *app = &s->app;
    if (s->sweep_started) { /* it uses the store and the blobs */
        atomic_store(&s->sweep_stop, 1);
        pthread_join(s->sweep, NULL);
    }
    if (s->http) {
        hs_http_quiesce(s->http);
        hs_log(HS_LOG_INFO, "stopping: no new connections; finishing requests",
               NULL);
        hs_http_stop(s->http);
    }
    if (s->access_fd >= 0) { /* no request is logged any more */
        hs_log_set_access_fd(-1);
        close(s->access_fd);
    }
    hs_refusals_stop(app->refusals); /* after the last request: flushes */
    hs_runner_stop(app->runner); /* running jobs go back to the queue */
    hs_process_app_free(app);    /* the alerts and the model cache */
    hs_setup_free(app->setup);
    hs_health_free(app->health);
    hs_throttle_free(app->login_throttle);
    hs_datadir_close(s->dd);
    hs_tls_free(&s->tls);
    hs_datadir_unlock(s->lock); /* last: nothing of the directory is open */
    sodium_memzero(app->csrf_key, sizeof app->csrf_key);
    free(s);
}
