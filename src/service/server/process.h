/* server/process.h - what every long-running process of a deployment
 * assembles, `healer serve` (server.c) and `healer worker` (worker.c)
 * alike: its data directory locked and opened with the store and blobs of
 * the settings, the app's common parts, the alerts, the job runner.
 *
 * Why one place: a web instance and a worker must open the same store
 * and blobs under the same data key and run jobs by the same rules; two
 * copies of that assembly would drift.
 */
#ifndef HEALER_HS_PROCESS_H
#define HEALER_HS_PROCESS_H

#include "base/app.h"
#include "base/error.h"
#include "server/config.h"
#include "server/datadir.h"

/* Takes the data directory's lock in the holder's name `what` ("healer
 * serve", "healer worker": a second process on one directory is refused,
 * naming the first's pid), then opens it with cfg's store, blobs and data
 * key file. On success the caller releases *dd with hs_datadir_close and
 * then *lock with hs_datadir_unlock; on failure nothing is held. */
hs_status hs_process_open(const hs_server_config *cfg, const char *what,
                          hs_dirlock **lock, hs_datadir **dd, hs_error *err);

/* Fills what every process's app has from the settings and the open
 * directory: clock, job types, store, blobs, data keys, start time, the
 * limits jobs apply, the alert tap; then the model cache and the alerts
 * (not started: hs_alerts_start). Caller frees them (hs_process_app_free)
 * whatever the outcome. */
hs_status hs_process_app(hs_app *app, const hs_server_config *cfg,
                         hs_datadir *dd, hs_error *err);
void hs_process_app_free(hs_app *app);

/* Takes back the jobs of processes that crashed (their leases lapsed),
 * logging what it did. */
void hs_process_recover_jobs(hs_app *app);

/* Starts the job runner with `jobs_at_once` workers and cfg's training
 * threads, faults and lease; app->runner is set. */
hs_status hs_process_runner(hs_app *app, const hs_server_config *cfg,
                            unsigned jobs_at_once, hs_error *err);

#endif
