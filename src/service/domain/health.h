/* domain/health.h - what GET /api/v1/health checks, and its cache.
 *
 * A health check that answers "ok" whatever happens tells a load balancer
 * or a monitor nothing. These checks exercise what the service needs to do
 * its work, each named so that a failure says where to look:
 *  - "store": the record store answers (hs_store_ping: reachable, readable,
 *    able to start a write, within about a second);
 *  - "blobs": the blob store takes a file (a one-byte blob written,
 *    committed and removed through blob.h, so a full, read-only or missing
 *    directory shows);
 *  - "disk": the data directory's file system has at least the configured
 *    free space (statvfs; 0 = report only);
 *  - "runner": the job runner's threads are alive (hs_runner_check), only
 *    where this process runs one.
 * The result is cached for HS_HEALTH_CACHE_SECONDS, and only one caller at
 * a time runs the checks (the others wait for its result, at most
 * HS_HEALTH_WAIT_SECONDS, then report the check still running as not
 * answering; once one wait has run out, later callers report it at once
 * until that run ends), so a flood of health requests costs the store at
 * most one ping a second and never piles requests up behind a stuck store.
 *
 * Each check has a detailed message (store errors, file paths) and a short
 * generic state: the endpoint is public, so it shows the state, and the
 * details go to the log (at warn, when a check fails with a new message or
 * stops answering).
 *
 * Thread-safety: hs_health_get may be called from any thread.
 */
#ifndef HEALER_HS_HEALTH_H
#define HEALER_HS_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/app.h"
#include "base/error.h"

/* How long a result is reused, seconds. */
#define HS_HEALTH_CACHE_SECONDS 1.0
/* How long a caller waits for another caller's run of the checks. */
#define HS_HEALTH_WAIT_SECONDS 2.0
#define HS_HEALTH_CHECKS 4

typedef struct hs_health_check {
    const char *name; /* "store", "blobs", "disk", "runner" (static) */
    int ok;
    const char *state; /* short and generic, for anyone: "answers", "not
                          answering" ... (static) */
    char message[512]; /* what was found, or what failed and why: for the
                          log (may name paths and store errors) */
    double seconds;    /* how long the check took */
} hs_health_check;

typedef struct hs_health_report {
    int ok; /* every check passed */
    size_t n_checks;
    hs_health_check checks[HS_HEALTH_CHECKS];
    double age_seconds; /* since the checks ran */
} hs_health_report;

typedef struct hs_health hs_health;

/* The health checker of a data directory (statvfs'ed for "disk"), with a
 * free space threshold in bytes (0 = report only). Errors: HS_ERR_NOMEM. */
hs_status hs_health_new(const char *data_dir, uint64_t min_free_bytes,
                        hs_health **out, hs_error *err);
void hs_health_free(hs_health *h);

/* The checks' result for app (its store, blobs, runner and app->health),
 * at most HS_HEALTH_CACHE_SECONDS old. With no app->health, only the
 * store, blobs and runner are checked, uncached. */
void hs_health_get(hs_app *app, hs_health_report *out);

/* How many times the checks have run (each pings the store once): a
 * counter for /metrics, which shows the cache at work. 0 for NULL. */
uint64_t hs_health_runs(const hs_health *h);

#endif
