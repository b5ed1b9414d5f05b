/* server/worker.c - `healer worker` (see worker.h). The assembly it
 * shares with `healer serve` is process.c's; what is left here is what a
 * worker leaves out: no HTTP, setup, login throttle, refusal counts or
 * housekeeping (the web instances purge the trash). */
#include <stdlib.h>

#include "base/app.h"
#include "base/log.h"
#include "domain/alerts.h"
#include "domain/auth.h"
#include "domain/runner.h"
#include "domain/shared_secrets.h"
#include "healer/version.h"
#include "server/process.h"
#include "server/worker.h"

struct hs_worker {
    hs_app app;
    hs_server_config cfg; /* app's strings point here */
    hs_dirlock *lock;     /* the worker's own data directory's */
    hs_datadir *dd;       /* owns app.store, app.blobs and app.keys */
};

hs_status hs_worker_start(const hs_server_config *cfg, FILE *console,
                          hs_worker **out, hs_error *err)
{
    hs_log_level level = HS_LOG_INFO;
    *out = NULL;
    hs_status st = hs_auth_init(err);
    if (st != HS_OK)
        return st;
    hs_log_level_parse(cfg->log_level, &level);
    hs_log_set_level(level);
    hs_worker *w = calloc(1, sizeof *w);
    if (!w)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    w->cfg = *cfg;
    w->app.public_url = w->cfg.public_url;
    if ((st = hs_process_open(&w->cfg, "healer worker", &w->lock, &w->dd,
                              err)) != HS_OK ||
        (st = hs_process_app(&w->app, &w->cfg, w->dd, err)) != HS_OK ||
        /* Before any job is claimed: a wrong data key fails them all. */
        (st = hs_shared_secrets_check(&w->app, err)) != HS_OK ||
        (st = hs_alerts_start(w->app.alerts, err)) != HS_OK) {
        if (st == HS_ERR_CORRUPT && w->dd)
            hs_datadir_unmake_key(w->dd); /* data-key-file forgotten */
        goto fail;
    }
    hs_process_recover_jobs(&w->app);
    if ((st = hs_process_runner(&w->app, &w->cfg, w->cfg.threads, err)) !=
        HS_OK)
        goto fail;
    hs_log(HS_LOG_INFO, "worker started",
           json_pack("{s:s, s:s, s:i}", "data_dir", cfg->data_dir, "worker_id",
                     hs_runner_worker_id(w->app.runner), "threads",
                     (int)cfg->threads));
    fprintf(console,
            "SystemHealer %s worker %s: running up to %u job(s) at once "
            "from the store (data directory %s)\n",
            HL_VERSION_STRING, hs_runner_worker_id(w->app.runner), cfg->threads,
            cfg->data_dir);
    fflush(console);
    *out = w;
    return HS_OK;
fail:
    hs_worker_stop(w);
    return st;
}

void hs_worker_stop(hs_worker *w)
{
    if (!w)
        return;
    hs_runner_stop(w->app.runner); /* running jobs go back to the queue */
    hs_process_app_free(&w->app);  /* the alerts' sender after the jobs */
    hs_datadir_close(w->dd);
    hs_datadir_unlock(w->lock); /* last: nothing of the directory is open */
    free(w);
}
