/* app.h - the service's shared state, handed to every handler and job.
 *
 * One hs_app per `healer serve` process; there are no globals. Every member
 * is either immutable after start-up or thread-safe on its own (the store,
 * the blob store, the runner, the model cache); the few mutable fields are
 * guarded by the lock named next to them.
 */
#ifndef HEALER_HS_APP_H
#define HEALER_HS_APP_H

#include <pthread.h>
#include <stdint.h>

#include "domain/auth.h"
#include "blob/blob.h"
#include "server/datadir.h"
#include "store/store.h"

struct hs_runner;
struct hs_model_cache;
struct hs_http;

/* Limits and policies a running service applies (see config.h for where
 * the values come from). */
typedef struct hs_limits {
    size_t max_upload_bytes;
    size_t max_json_bytes;
    size_t sync_rows;       /* diagnoses up to this many rows answer at once */
    unsigned max_queued_jobs; /* more queued jobs than this: 503 busy */
    unsigned login_per_minute; /* login attempts per client address */
} hs_limits;

typedef struct hs_app {
    hs_datadir *dd;                 /* store + blob store */
    hs_store *store;                /* == dd->store */
    hs_blob_store *blobs;           /* == dd->blobs */
    struct hs_runner *runner;
    struct hs_model_cache *models;
    struct hs_http *http;
    hs_limits limits;
    int secure_cookies;
    const hs_auth_costs *costs;     /* NULL = interactive */
    uint8_t csrf_key[HS_AUTH_KEY_BYTES];
    int64_t started_at;

    pthread_mutex_t setup_lock;     /* guards setup_token */
    char setup_token[HS_SETUP_TOKEN_CHARS + 1]; /* "" = no setup pending */

    pthread_mutex_t rate_lock;      /* guards the login rate table */
    struct hs_rate_slot *rate_slots;
    size_t n_rate_slots;
} hs_app;

/* Unix seconds now (the only place the service reads the wall clock for
 * records, so tests of rules can pass time in elsewhere). */
int64_t hs_now(void);

#endif
