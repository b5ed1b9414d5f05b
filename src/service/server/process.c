/* server/process.c - the assembly `healer serve` and `healer worker`
 * share (see process.h). */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "blob/blob.h"
#include "domain/alerts.h"
#include "domain/job_types.h"
#include "domain/jobs.h"
#include "domain/models.h"
#include "domain/notifications.h"
#include "domain/runner.h"
#include "server/process.h"

hs_status hs_process_open(const hs_server_config *cfg, const char *what,
                          hs_dirlock **lock, hs_datadir **dd, hs_error *err)
{
    *lock = NULL;
    *dd = NULL;
    hs_status st = hs_datadir_lock(cfg->data_dir, what, lock, err);
    if (st == HS_OK)
        st = hs_datadir_open_store(cfg->data_dir, cfg->store, cfg->blobs,
                                   cfg->data_key_file, dd, err);
    if (st == HS_OK && cfg->commit_delays.n) { /* a testing aid */
        hs_blob_store *slow = NULL;
        st = hs_blob_delay_open((*dd)->blobs, &cfg->commit_delays, &slow,
                                err);
        (*dd)->blobs = slow; /* NULL on failure: the store was closed */
    }
    if (st != HS_OK) {
        hs_datadir_close(*dd);
        *dd = NULL;
        hs_datadir_unlock(*lock);
        *lock = NULL;
    }
    return st;
}

hs_status hs_process_app(hs_app *app, const hs_server_config *cfg,
                         hs_datadir *dd, hs_error *err)
{
    app->clock = hs_clock_system();
    app->job_types = hs_job_types;
    app->store = dd->store;
    app->blobs = dd->blobs;
    app->keys = &dd->keys;
    app->started_at = hs_clock_now(app->clock);
    /* What jobs read is bounded like what requests send (a worker reads
     * the files the web instances took). */
    app->limits.max_upload_bytes = (size_t)cfg->max_upload_mb << 20;
    app->limits.max_json_bytes = (size_t)cfg->max_json_mb << 20;
    app->limits.max_topology_nodes = cfg->max_topology_nodes;
    app->limits.explain_budget_ms = cfg->explain_budget_ms;
    app->alert_tap = cfg->alert_tap[0] ? cfg->alert_tap : NULL;
    hs_status st = hs_model_cache_new(cfg->model_cache, &app->models, err);
    if (st == HS_OK) {
        hs_alerts_config ac = {
            cfg->smtp_url,      cfg->smtp_from,   cfg->smtp_credentials_file,
            cfg->smtp_ca_file,  cfg->webhook_url, cfg->alert_retry_max,
            hs_notifications_io};
        st = hs_alerts_new(app, &ac, &app->alerts, err);
    }
    return st;
}

void hs_process_app_free(hs_app *app)
{
    hs_alerts_free(app->alerts); /* after every part that may send one */
    app->alerts = NULL;
    hs_model_cache_free(app->models);
    app->models = NULL;
}

void hs_process_recover_jobs(hs_app *app)
{
    int64_t requeued = 0, failed = 0;
    hs_error err = {0};
    if (hs_jobs_recover(app, &requeued, &failed, &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot recover interrupted jobs",
               json_pack("{s:s}", "error", err.message));
    else if (requeued || failed)
        hs_log(HS_LOG_WARN, "jobs interrupted by a crash",
               json_pack("{s:I, s:I}", "requeued", (json_int_t)requeued,
                         "failed", (json_int_t)failed));
}

hs_status hs_process_runner(hs_app *app, const hs_server_config *cfg,
                            unsigned jobs_at_once, hs_error *err)
{
    hs_runner_config rc = {.workers = jobs_at_once,
                           .train_threads = (int)cfg->train_threads,
                           .train_faults = &cfg->train_faults,
                           .lease_seconds = cfg->job_lease_seconds,
                           .job_nice = cfg->job_nice};
    return hs_runner_start(app, &rc, &app->runner, err);
}
