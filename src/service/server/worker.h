/* server/worker.h - `healer worker`'s life cycle: jobs only, no HTTP.
 *
 * A worker opens the deployment's store and blobs (the `store` and
 * `blobs` settings: the ones every web instance and worker shares) under
 * its data key, and runs the job runner - its workers, the lease keeper,
 * the wait for news of queued jobs - and the alerts' sender (a failed
 * job's alert). Its own data directory (`data-dir`, locked: two workers
 * may share a store, not a directory) holds what is not given by URL.
 * Web instances run with `no-workers` then, and the queue in the store is
 * what joins them.
 */
#ifndef HEALER_HS_WORKER_H
#define HEALER_HS_WORKER_H

#include <stdio.h>

#include "base/error.h"
#include "server/config.h"

typedef struct hs_worker hs_worker;

/* Starts everything (cfg is `healer worker`'s: hs_server_config_defaults_for
 * HS_CONFIG_WORKER) and prints what it runs to `console`. Errors: the data
 * directory's lock (another process), the store, blobs or data key. */
hs_status hs_worker_start(const hs_server_config *cfg, FILE *console,
                          hs_worker **out, hs_error *err);

/* Graceful stop: running jobs are interrupted within a round and put back
 * in the queue for another worker; then everything is freed. NULL is a
 * no-op. */
void hs_worker_stop(hs_worker *w);

#endif
