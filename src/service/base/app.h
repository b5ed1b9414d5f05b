/* base/app.h - the service's shared state, handed to every handler and job.
 *
 * One hs_app per `healer serve` process (or per test); there are no
 * globals. It lives in base/ so that every layer can take it, and so it
 * names the parts of the higher layers only as incomplete types: base
 * includes nothing above itself, each layer includes the headers of the
 * parts it actually uses. Every member is immutable after start-up or
 * thread-safe on its own (the store, the blob store, the runner, the model
 * cache, the login throttle, the setup state).
 */
#ifndef HEALER_HS_APP_H
#define HEALER_HS_APP_H

#include <stddef.h>
#include <stdint.h>

struct hs_store;
struct hs_blob_store;
struct hs_clock;
struct hs_runner;
struct hs_model_cache;
struct hs_auth_costs;
struct hs_setup;
struct hs_throttle;
struct hs_job_type;
struct hs_alerts;
struct hs_health;
struct hs_keyring;
struct hs_refusals;
struct hs_login_policy;

/* Bytes of the server key (CSRF tokens are MACs under it). */
#define HS_APP_KEY_BYTES 32

/* Limits and policies a running service applies (server/config.c says
 * where the values come from). */
typedef struct hs_limits {
    size_t max_upload_bytes;
    size_t max_json_bytes;
    size_t sync_rows;          /* diagnoses up to this many rows answer at once */
    unsigned max_queued_jobs;  /* more queued jobs than this: busy */
    size_t max_topology_nodes; /* a topology's nodes at most (0 = the
                                  engine's default) */
    unsigned max_queued_jobs_per_user; /* one user's share of the queue
                                          (0 = no share) */
    /* Uploads larger than this many bytes are ingested by a job
     * (domain/dataset_upload.h); 0 = every upload at once. */
    size_t ingest_async_bytes;
    /* What explaining a diagnosis's costly rows may take, ms of one core
     * (domain/diag_explain.h); the same in requests and jobs. */
    unsigned explain_budget_ms;
} hs_limits;

typedef struct hs_app {
    struct hs_store *store;
    struct hs_blob_store *blobs;
    const struct hs_clock *clock;        /* every date the service records */
    struct hs_runner *runner;            /* NULL where no jobs run here */
    /* The job types this process submits and runs, NULL-terminated
     * (domain/job_types.h: hs_job_types; tests bring their own). */
    const struct hs_job_type *const *job_types;
    struct hs_model_cache *models;
    struct hs_setup *setup;              /* the first-run setup token */
    struct hs_throttle *login_throttle;  /* logins per client address */
    struct hs_alerts *alerts;            /* mail and webhook; NULL = log only
                                            (domain/alerts.h) */
    struct hs_health *health;            /* the health checks' cache; NULL =
                                            uncached (domain/health.h) */
    const struct hs_auth_costs *costs;   /* NULL = interactive */
    /* Lockout, back-off per account and address, unlock links' life
     * (domain/auth.h); NULL = HS_LOGIN_POLICY_DEFAULT. */
    const struct hs_login_policy *login_policy;
    /* The address people reach the UI at ("https://healer.example.com"),
     * for links in mails (server/config.c's public-url); NULL = "". */
    const char *public_url;
    /* Testing aid: a file every alert is also appended to, whole
     * (domain/alert_tap.h; HEALER_ALERT_TAP); NULL = none. */
    const char *alert_tap;
    /* The data keys KPI values in the store are sealed under
     * (domain/sealed.h); NULL = kept in plain (unit tests only: a server
     * always has one). */
    const struct hs_keyring *keys;
    hs_limits limits;
    uint8_t csrf_key[HS_APP_KEY_BYTES];
    int64_t started_at;
    /* Refused requests counted for the security report, flushed to the
     * store in the background (domain/security_report.h); NULL = not
     * counted. */
    struct hs_refusals *refusals;
} hs_app;

#endif
