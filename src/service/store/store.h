/* store.h - the service's record store: users, sessions, account events,
 * notifications, preferences, datasets, models, jobs (with their training
 * attempts) and diagnoses (with the labels people gave their rows).
 *
 * One interface, several backends (like Redis's rio.h): an hs_store is a
 * table of operations plus the backend's private state. The rest of the
 * service calls only the hs_store_* wrappers below and never writes SQL, so
 * the SQLite backend (store_sqlite.c) can be joined by a PostgreSQL one
 * without touching callers. Which backend a process uses is a setting, a
 * URL (hs_store_open: "sqlite:PATH"); store_open.c holds the table of
 * backends by scheme, and is the only file that names them.
 *
 * The contract is executable: tests/unit/store_contract.c runs every rule
 * written here against any backend, given only a function that opens a
 * fresh, empty store. A backend is done when it passes that suite.
 *
 * How the interface grows (SQLite's sqlite3_vfs.iVersion): hs_store_ops
 * starts with `version` and then one table per resource. Members are only
 * ever appended - a new operation at the end of its resource's table, a
 * new resource's table at the end of hs_store_ops - never reordered,
 * removed or retyped (a changed signature is a new member), and each
 * addition raises HS_STORE_OPS_VERSION. A backend sets `version` to the
 * HS_STORE_OPS_VERSION it implements and fills in every member up to it;
 * the wrapper of an operation added in version N checks
 * store->ops->version >= N first and fails cleanly for an older backend,
 * which keeps working for everything else. Version 1 was the interface
 * without job attempts; version 2 appends the jobs' attempt_add and
 * attempt_list; version 3 appends the diagnoses' labels_put and
 * labels_list, and keeps fields that records grew (a diagnosis's
 * input_blob_key, a model's parent_id and feedback_json): their create
 * wrappers clear those fields for an older backend, so that the caller
 * sees what was not kept; version 4 appends the models' class_names_put
 * and keeps a model's class_names_json;
 * version 5 appends the trash of models and diagnoses (list_with_deleted,
 * set_deleted, purge, and the records' deleted_at): an older backend has
 * no trash, so its lists are its live records and moving to the trash is
 * refused; version 6 appends two resources, topologies and analyses (the
 * root-cause analyses, an rca job's result), and a job's topology_id,
 * which the job create wrapper clears for an older backend; an older
 * backend has neither resource: their wrappers refuse cleanly; version 7
 * keeps a user's e-mail address (hs_user.email), which the user create
 * and update wrappers clear for an older backend; version 8 appends the
 * `logins` resource - the back-off counters of failed logins per account
 * and per client address, the one-time unlock links of locked accounts,
 * and ending a user's other sessions - whose wrappers refuse cleanly on
 * an older backend; version 9 appends the outbox of alerts (messages
 * waiting for the mail relay or the webhook), whose wrappers refuse
 * cleanly on an older backend; version 10 appends `ping` (is the store
 * answering, for health checks), which an older backend answers by
 * counting its users; version 11 appends the sealed fields
 * (hs_sealed_field: ids, get, put), through which `healer rekey` rewrites
 * encrypted values; an older backend refuses them; version 12 appends two
 * resources, the audit log of administrative actions (append and list
 * only: no operation edits or deletes a row) and the tallies of refused
 * requests with the security report's aggregations; an older backend has
 * neither: their wrappers refuse cleanly; version 13 appends the
 * jobs' claim_next_fair (a claim that shares the workers between users;
 * an older backend's claim is the plain oldest-first one) and one
 * resource, blob_refs (every blob key a record refers to, for the orphan
 * sweep; an older backend's wrapper refuses, and nothing is swept);
 * version 14 appends, for several processes sharing one store, the
 * datasets' finish_ingest with a dataset's state and ingest_error (an
 * older backend's datasets are all ready: its create wrapper refuses an
 * "ingesting" one), the jobs' wait_queued (an older backend has no
 * notifications: the wrapper says none came and the caller polls), and
 * one resource, settings (values every instance shares: the CSRF key),
 * whose wrappers refuse on an older backend; version 15 appends the
 * jobs' result_of (the record a job already made: a run whose end was
 * never recorded - its worker killed, or the answer to its result's
 * commit lost - finds it instead of making a second one); an older
 * backend's wrapper answers that there is none, and such a run repeats
 * its result as before; version 16 appends the datasets' reject_ingest
 * (an ingestion failed because the engine refused the file, whose blob
 * the caller then deletes: the record says so, file_deleted) and
 * reopen_ingest (a failed ingestion whose file was kept made ingesting
 * again, for a retry in place); an older backend's reject_ingest is
 * finish_ingest's failure (its records cannot say the file is gone) and
 * its reopen_ingest refuses.
 *
 * Conventions for every operation:
 *  - Returns HS_OK or an error code, with a message in *err (err may be
 *    NULL). A record that does not exist is HS_ERR_NOTFOUND; a unique
 *    violation is HS_ERR_CONFLICT ("user 'bob' already exists"); a bad
 *    argument (NULL, empty or over-long string) is HS_ERR_INVALID and never
 *    reaches the backend's storage; storage failures are HS_ERR_IO (or
 *    HS_ERR_NOMEM).
 *  - Records are plain structs with fixed-size, NUL-terminated strings
 *    (store/records.h); a string that does not fit its field is refused
 *    (HS_ERR_INVALID), never truncated. Times are unix seconds chosen by
 *    the caller (the store never reads the clock, so rules - lockouts,
 *    expiries, leases - stay testable).
 *  - Lists come back as one malloc'ed array the caller releases with
 *    free(); on error, and possibly when the list is empty, it is NULL.
 *  - On error, output records are unspecified and output ids/counts are 0.
 *  - Each operation is atomic on its own: it happens entirely or not at
 *    all, including what it does to other records (a delete clearing the
 *    references to what it deleted).
 *
 * Transactions: hs_store_transact(store, fn, arg, err) runs fn inside one
 * transaction - every call fn makes on the store is part of it - and
 * commits when fn returns HS_OK, else rolls back and returns fn's status.
 * A callback, not begin/commit calls, so that no code path can leave a
 * transaction open, and so that each backend keeps a transaction its own
 * way (SQLite holds its one connection's lock; a server database would
 * hold one pooled connection for the callback's duration). A
 * transaction belongs to the thread running fn: other threads' operations
 * wait until it ends rather than joining it. Nesting (transact inside fn)
 * is HS_ERR_INVALID. fn must not close the store, and should not do slow
 * work (password hashing): it holds up every other user of the store.
 *
 * Thread-safety: a store may be used from any number of threads at once.
 * hs_store_close must be called once, after every other call has returned.
 */
#ifndef HEALER_HS_STORE_H
#define HEALER_HS_STORE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "store/records.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hs_store hs_store;

/* The interface version this header describes (see "How the interface
 * grows" above). */
#define HS_STORE_OPS_VERSION 16

/* The longest lease a job may be given, in seconds: a worker renews its
 * leases far more often than this, and the bound keeps now + lease far from
 * overflow. */
#define HS_STORE_LEASE_MAX 86400

/* The body of a transaction (hs_store_transact): works on `store`, returns
 * HS_OK to commit or an error (with *err filled) to roll back. */
typedef hs_status (*hs_store_txn_fn)(hs_store *store, void *arg, hs_error *err);

/* ---- the backend contract ------------------------------------------------
 *
 * `impl` is hs_store.impl. The wrappers below check pointers, string
 * lengths and ranges before dispatching, so backends receive only non-NULL
 * outputs, strings that fit their fields and values in range, and the
 * meaning of each operation is documented once, at its wrapper. */

typedef struct hs_store_user_ops {
    hs_status (*create)(void *impl, hs_user *u, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_user *out, hs_error *err);
    hs_status (*get_by_name)(void *impl, const char *username, hs_user *out,
                             hs_error *err);
    hs_status (*list)(void *impl, hs_user **items, size_t *n, hs_error *err);
    hs_status (*count)(void *impl, int64_t *count, hs_error *err);
    hs_status (*count_admins)(void *impl, int64_t *count, hs_error *err);
    hs_status (*update)(void *impl, const hs_user *u, hs_error *err);
} hs_store_user_ops;

typedef struct hs_store_event_ops {
    hs_status (*add)(void *impl, hs_id user_id, const char *kind, int64_t at,
                     hs_id *id_out, hs_error *err);
    hs_status (*list)(void *impl, hs_id user_id, hs_account_event **items,
                      size_t *n, hs_error *err);
    hs_status (*latest)(void *impl, hs_id user_id, const char *kind,
                        int64_t *at_out, hs_error *err);
    hs_status (*login_failures_since)(void *impl, hs_id user_id, int64_t since,
                                      int64_t **times, size_t *n,
                                      hs_error *err);
} hs_store_event_ops;

typedef struct hs_store_session_ops {
    hs_status (*create)(void *impl, hs_session *s, hs_error *err);
    hs_status (*get_by_token_hash)(void *impl, const char *token_hash,
                                   hs_session *out, hs_error *err);
    hs_status (*touch)(void *impl, hs_id id, int64_t last_seen_at,
                       int64_t expires_at, hs_error *err);
    hs_status (*remove)(void *impl, hs_id id, hs_error *err);
    hs_status (*remove_for_user)(void *impl, hs_id user_id, int64_t *removed,
                                 hs_error *err);
    hs_status (*remove_expired)(void *impl, int64_t now, int64_t *removed,
                                hs_error *err);
} hs_store_session_ops;

typedef struct hs_store_notification_ops {
    hs_status (*add)(void *impl, const char *kind, const char *message,
                     hs_id user_id, int64_t at, hs_id *id_out, hs_error *err);
    hs_status (*list)(void *impl, int unread_only, hs_notification **items,
                      size_t *n, hs_error *err);
    hs_status (*mark_read)(void *impl, hs_id id, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_notification *out,
                     hs_error *err);
} hs_store_notification_ops;

typedef struct hs_store_prefs_ops {
    hs_status (*get)(void *impl, hs_id user_id, char **json_out, hs_error *err);
    hs_status (*set)(void *impl, hs_id user_id, const char *prefs_json,
                     int64_t now, hs_error *err);
} hs_store_prefs_ops;

typedef struct hs_store_dataset_ops {
    hs_status (*create)(void *impl, hs_dataset_rec *d, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_id viewer_id, int viewer_is_admin,
                     hs_dataset_rec *out, hs_error *err);
    hs_status (*list)(void *impl, hs_id viewer_id, int viewer_is_admin,
                      int include_deleted, hs_dataset_rec **items, size_t *n,
                      hs_error *err);
    hs_status (*set_deleted)(void *impl, hs_id id, hs_id viewer_id,
                             int viewer_is_admin, int64_t deleted_at,
                             hs_error *err);
    hs_status (*set_profile)(void *impl, hs_id id, const char *profile_json,
                             int64_t rows, int64_t features, hs_error *err);
    hs_status (*purge)(void *impl, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err);
    /* version 14 */
    hs_status (*finish_ingest)(void *impl, hs_id id, const char *state,
                               const char *error, int64_t size_bytes,
                               hs_error *err);
    /* version 16 */
    hs_status (*reject_ingest)(void *impl, hs_id id, const char *error,
                               hs_error *err);
    hs_status (*reopen_ingest)(void *impl, hs_id id, hs_id viewer_id,
                               int viewer_is_admin, hs_error *err);
} hs_store_dataset_ops;

typedef struct hs_store_model_ops {
    hs_status (*create)(void *impl, hs_model_rec *m, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_id viewer_id, int viewer_is_admin,
                     hs_model_rec *out, hs_error *err);
    hs_status (*list)(void *impl, hs_id viewer_id, int viewer_is_admin,
                      hs_model_rec **items, size_t *n, hs_error *err);
    hs_status (*remove)(void *impl, hs_id id, hs_id viewer_id,
                        int viewer_is_admin,
                        char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                        hs_error *err);
    /* version 4 */
    hs_status (*class_names_put)(void *impl, hs_id id, hs_id viewer_id,
                                 int viewer_is_admin,
                                 const char *class_names_json, hs_error *err);
    /* version 5: the trash */
    hs_status (*list_with_deleted)(void *impl, hs_id viewer_id,
                                   int viewer_is_admin, int include_deleted,
                                   hs_model_rec **items, size_t *n,
                                   hs_error *err);
    hs_status (*set_deleted)(void *impl, hs_id id, hs_id viewer_id,
                             int viewer_is_admin, int64_t deleted_at,
                             hs_error *err);
    hs_status (*purge)(void *impl, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err);
} hs_store_model_ops;

typedef struct hs_store_job_ops {
    hs_status (*create)(void *impl, hs_job_rec *j, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_id viewer_id, int viewer_is_admin,
                     hs_job_rec *out, hs_error *err);
    hs_status (*list)(void *impl, hs_id viewer_id, int viewer_is_admin,
                      hs_job_rec **items, size_t *n, hs_error *err);
    hs_status (*cancel)(void *impl, hs_id id, hs_id viewer_id,
                        int viewer_is_admin, int64_t now,
                        hs_job_state *state_out, hs_error *err);
    hs_status (*counts)(void *impl, int64_t counts[HS_JOB_STATES],
                        hs_error *err);
    hs_status (*owner_counts)(void *impl, hs_id owner_id,
                              int64_t counts[HS_JOB_STATES], hs_error *err);
    hs_status (*claim_next)(void *impl, const char *worker_id,
                            const char *types_json, int64_t now,
                            int64_t lease_seconds, hs_job_rec *out,
                            hs_error *err);
    hs_status (*progress)(void *impl, hs_id id, const char *worker_id,
                          int64_t now, int64_t lease_seconds, double progress,
                          int64_t round, int64_t rounds,
                          const char *losses_json, int *cancel_requested,
                          hs_error *err);
    hs_status (*renew_leases)(void *impl, const char *worker_id, int64_t now,
                              int64_t lease_seconds, int64_t *renewed,
                              hs_error *err);
    hs_status (*finish)(void *impl, hs_id id, const char *worker_id,
                        hs_job_state state, const char *error,
                        const char *result_kind, hs_id result_id,
                        const char *attempts_json, int64_t finished_at,
                        hs_error *err);
    hs_status (*requeue)(void *impl, hs_id id, const char *worker_id,
                         hs_error *err);
    hs_status (*recover)(void *impl, int64_t now, int64_t max_restarts,
                         int64_t *requeued, int64_t *failed, hs_error *err);
    /* version 2 */
    hs_status (*attempt_add)(void *impl, const char *worker_id,
                             const hs_job_attempt *a, hs_error *err);
    hs_status (*attempt_list)(void *impl, hs_id job_id, hs_id viewer_id,
                              int viewer_is_admin, hs_job_attempt **items,
                              size_t *n, hs_error *err);
    /* version 13 */
    hs_status (*claim_next_fair)(void *impl, const char *worker_id,
                                 const char *types_json, int64_t now,
                                 int64_t lease_seconds, hs_job_rec *out,
                                 hs_error *err);
    /* version 14 */
    hs_status (*wait_queued)(void *impl, int64_t timeout_ms, int *notified,
                             hs_error *err);
    /* version 15 */
    hs_status (*result_of)(void *impl, hs_id job_id, const char *kind,
                           hs_id except_id, hs_id *result_id, hs_error *err);
} hs_store_job_ops;

typedef struct hs_store_diagnosis_ops {
    hs_status (*create)(void *impl, hs_diagnosis_rec *d, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_id viewer_id, int viewer_is_admin,
                     hs_diagnosis_rec *out, hs_error *err);
    hs_status (*list)(void *impl, hs_id viewer_id, int viewer_is_admin,
                      hs_diagnosis_rec **items, size_t *n, hs_error *err);
    hs_status (*remove)(void *impl, hs_id id, hs_id viewer_id,
                        int viewer_is_admin,
                        char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                        hs_error *err);
    hs_status (*swap_blob)(void *impl, hs_id id, const char *old_key,
                           const char *new_key, hs_error *err);
    /* version 3 */
    hs_status (*labels_put)(void *impl, hs_id diagnosis_id, hs_id viewer_id,
                            int viewer_is_admin,
                            const hs_diagnosis_label *items, size_t n,
                            int64_t max_labels, int64_t *total_out,
                            hs_error *err);
    hs_status (*labels_list)(void *impl, hs_id diagnosis_id, hs_id viewer_id,
                             int viewer_is_admin, hs_diagnosis_label **items,
                             size_t *n, hs_error *err);
    /* version 5: the trash */
    hs_status (*list_with_deleted)(void *impl, hs_id viewer_id,
                                   int viewer_is_admin, int include_deleted,
                                   hs_diagnosis_rec **items, size_t *n,
                                   hs_error *err);
    hs_status (*set_deleted)(void *impl, hs_id id, hs_id viewer_id,
                             int viewer_is_admin, int64_t deleted_at,
                             hs_error *err);
    hs_status (*purge)(void *impl, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err);
} hs_store_diagnosis_ops;

/* version 6 */
typedef struct hs_store_topology_ops {
    hs_status (*create)(void *impl, hs_topology_rec *t, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_id viewer_id, int viewer_is_admin,
                     hs_topology_rec *out, hs_error *err);
    hs_status (*list)(void *impl, hs_id viewer_id, int viewer_is_admin,
                      int include_deleted, hs_topology_rec **items, size_t *n,
                      hs_error *err);
    hs_status (*set_deleted)(void *impl, hs_id id, hs_id viewer_id,
                             int viewer_is_admin, int64_t deleted_at,
                             hs_error *err);
    hs_status (*purge)(void *impl, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err);
} hs_store_topology_ops;

/* version 6 */
typedef struct hs_store_analysis_ops {
    hs_status (*create)(void *impl, hs_analysis_rec *a, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_id viewer_id, int viewer_is_admin,
                     hs_analysis_rec *out, hs_error *err);
    hs_status (*list)(void *impl, hs_id viewer_id, int viewer_is_admin,
                      int include_deleted, hs_analysis_rec **items, size_t *n,
                      hs_error *err);
    hs_status (*set_deleted)(void *impl, hs_id id, hs_id viewer_id,
                             int viewer_is_admin, int64_t deleted_at,
                             hs_error *err);
    hs_status (*purge)(void *impl, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err);
    hs_status (*remove)(void *impl, hs_id id, hs_id viewer_id,
                        int viewer_is_admin,
                        char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                        hs_error *err);
} hs_store_analysis_ops;

/* version 8: what logins keep besides events (back-off, unlock links) */
typedef struct hs_store_login_ops {
    hs_status (*backoff_get)(void *impl, const char *key, hs_backoff_rec *out,
                             hs_error *err);
    hs_status (*backoff_fail)(void *impl, const char *key, int64_t now,
                              int64_t forget_after, hs_backoff_rec *out,
                              hs_error *err);
    hs_status (*backoff_clear)(void *impl, const char *key, hs_error *err);
    hs_status (*backoff_purge)(void *impl, int64_t before, int64_t *removed,
                               hs_error *err);
    hs_status (*unlock_create)(void *impl, hs_unlock_token *t, hs_error *err);
    hs_status (*unlock_get)(void *impl, const char *token_hash,
                            hs_unlock_token *out, hs_error *err);
    hs_status (*unlock_use)(void *impl, hs_id id, int64_t now, hs_error *err);
    hs_status (*unlock_revoke)(void *impl, hs_id user_id, int64_t now,
                               int64_t *revoked, hs_error *err);
    hs_status (*unlock_purge)(void *impl, int64_t before, int64_t *removed,
                              hs_error *err);
    hs_status (*sessions_end_others)(void *impl, hs_id user_id, hs_id keep_id,
                                     int64_t *removed, hs_error *err);
} hs_store_login_ops;
/* version 9 */
typedef struct hs_store_outbox_ops {
    hs_status (*add)(void *impl, hs_outbox_msg *m, hs_error *err);
    hs_status (*claim)(void *impl, int64_t now, int64_t hold_seconds,
                       size_t limit, hs_outbox_msg **items, size_t *n,
                       hs_error *err);
    hs_status (*next_due)(void *impl, int64_t *at, hs_error *err);
    hs_status (*sent)(void *impl, hs_id id, int64_t at, hs_error *err);
    hs_status (*failed)(void *impl, hs_id id, const char *error,
                        int64_t retry_at, int give_up, hs_error *err);
    hs_status (*get)(void *impl, hs_id id, hs_outbox_msg *out, hs_error *err);
    hs_status (*purge)(void *impl, int64_t before, int64_t *removed,
                       hs_error *err);
} hs_store_outbox_ops;
/* Version 11: the values of the sealed text fields (records.h), one at a
 * time, for `healer rekey`; the store never looks inside them. */
typedef struct hs_store_sealed_ops {
    /* The ids of the records whose `field` is not NULL, ascending. */
    hs_status (*ids)(void *impl, hs_sealed_field field, hs_id **ids,
                     size_t *n, hs_error *err);
    /* Record id's value of `field` (malloc'ed; NULL when NULL). */
    hs_status (*get)(void *impl, hs_sealed_field field, hs_id id, char **text,
                     hs_error *err);
    /* Sets the value to `text` only while it is still `old_text` (a
     * compare-and-swap: a value rewritten meanwhile is left alone,
     * HS_ERR_CONFLICT); HS_ERR_NOTFOUND without record `id`. */
    hs_status (*put)(void *impl, hs_sealed_field field, hs_id id,
                     const char *old_text, const char *text, hs_error *err);
} hs_store_sealed_ops;

/* version 12: the audit log. Append and list only, on purpose: nothing
 * can edit or remove a row (the SQLite backend also refuses UPDATE and
 * DELETE on its table with triggers). */
typedef struct hs_store_audit_ops {
    hs_status (*add)(void *impl, hs_audit_rec *a, hs_error *err);
    hs_status (*list)(void *impl, const hs_audit_filter *f,
                      hs_audit_rec **items, size_t *n, hs_error *err);
} hs_store_audit_ops;

/* version 12: the tallies of refused requests, and the aggregations the
 * security report reads (over them and over the account events). */
typedef struct hs_store_tally_ops {
    hs_status (*add)(void *impl, const hs_tally *items, size_t n,
                     hs_error *err);
    hs_status (*series)(void *impl, int64_t since, int64_t until,
                        int64_t bucket_seconds, hs_tally **items, size_t *n,
                        hs_error *err);
    hs_status (*top)(void *impl, int64_t since, int64_t until, int by_source,
                     int64_t limit, hs_tally **items, size_t *n,
                     hs_error *err);
    hs_status (*prune)(void *impl, int64_t before, int64_t *removed,
                       hs_error *err);
    hs_status (*event_series)(void *impl, int64_t since, int64_t until,
                              int64_t bucket_seconds, hs_tally **items,
                              size_t *n, hs_error *err);
} hs_store_tally_ops;
/* version 13 */
typedef struct hs_store_blob_ref_ops {
    hs_status (*list)(void *impl, char (**keys)[HS_STORE_BLOB_KEY_MAX],
                      size_t *n, hs_error *err);
} hs_store_blob_ref_ops;

/* version 14: settings every process of a deployment shares (the CSRF
 * key, ...), one text value per name. */
typedef struct hs_store_setting_ops {
    hs_status (*get)(void *impl, const char *key, char **value,
                     hs_error *err);
    hs_status (*put_new)(void *impl, const char *key, const char *value,
                         int64_t now, char **stored, hs_error *err);
    hs_status (*set)(void *impl, const char *key, const char *value,
                     int64_t now, hs_error *err);
} hs_store_setting_ops;

/* The tables are pointers, so that appending to one does not move the
 * others. */
typedef struct hs_store_ops {
    unsigned version; /* the HS_STORE_OPS_VERSION the backend implements */
    const char *name; /* "sqlite", ... for diagnostics */
    void (*close)(hs_store *store); /* frees store and impl */
    hs_status (*transact)(hs_store *store, hs_store_txn_fn fn, void *arg,
                          hs_error *err);
    const hs_store_user_ops *users;
    const hs_store_event_ops *events;
    const hs_store_session_ops *sessions;
    const hs_store_notification_ops *notifications;
    const hs_store_prefs_ops *prefs;
    const hs_store_dataset_ops *datasets;
    const hs_store_model_ops *models;
    const hs_store_job_ops *jobs;
    const hs_store_diagnosis_ops *diagnoses;
    /* version 6 */
    const hs_store_topology_ops *topologies;
    const hs_store_analysis_ops *analyses;
    /* version 8 */
    const hs_store_login_ops *logins;
    /* version 9 */
    const hs_store_outbox_ops *outbox;
    /* version 10 */
    hs_status (*ping)(void *impl, hs_error *err);
    /* version 11 */
    const hs_store_sealed_ops *sealed;
    /* version 12 */
    const hs_store_audit_ops *audit;
    const hs_store_tally_ops *tallies;
    /* version 13 */
    const hs_store_blob_ref_ops *blob_refs;
    /* version 14 */
    const hs_store_setting_ops *settings;
} hs_store_ops;

struct hs_store {
    const hs_store_ops *ops;
    void *impl;
};

/* 1 when s is non-NULL and holds 1..max-1 bytes before its NUL (looking at
 * no more than max bytes), else 0. */
static inline int hs_store__str_fits(const char *s, size_t max)
{
    size_t i;
    if (!s || !s[0])
        return 0;
    for (i = 0; i < max; i++)
        if (s[i] == '\0')
            return 1;
    return 0;
}

static inline hs_status hs_store__bad(hs_error *err, const char *what)
{
    return hs_fail(err, HS_ERR_INVALID, "store: %s", what);
}

/* The checks of a set_deleted of models or diagnoses (version 5). */
static inline hs_status hs_store__trash_ok(hs_store *store, int64_t deleted_at,
                                           hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "set_deleted: no store");
    if (deleted_at < 0)
        return hs_store__bad(err, "deleted_at must be >= 0");
    if (store->ops->version < 5)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) has no "
                       "trash for models and diagnoses",
                       store->ops->name, store->ops->version);
    return HS_OK;
}

/* A purge of models or diagnoses (version 5) with `purge`, the op of the
 * resource's table, or NULL for an older backend: it has no trash, so
 * nothing to purge. */
typedef hs_status (*hs_store__purge_fn)(void *impl, int64_t deleted_before,
                                        char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                        size_t *n, hs_error *err);
static inline hs_status hs_store__purge(hs_store *store, hs_store__purge_fn purge,
                                        int64_t deleted_before,
                                        char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                        size_t *n, hs_error *err)
{
    if (!keys || !n)
        return hs_store__bad(err, "purge: missing argument");
    *keys = NULL;
    *n = 0;
    return purge ? purge(store->impl, deleted_before, keys, n, err) : HS_OK;
}

/* ---- opening and closing ------------------------------------------------ */

/* Opens the store a URL names, by its scheme (store_open.c has the table):
 *   sqlite:PATH   the SQLite backend on the database file PATH (created
 *                 with its schema when missing; see store_sqlite.h).
 * A URL without a scheme (a bare path) or with a scheme this build lacks
 * ("postgresql://...", until that backend is built) is HS_ERR_INVALID with
 * a message naming the forms this build supports; the URL itself is never
 * echoed past its scheme, since a database URL may carry a password. On
 * success *out is a store the caller closes with hs_store_close; on error
 * *out is NULL. Other errors are the backend's (HS_ERR_IO, ...). */
hs_status hs_store_open(const char *url, hs_store **out, hs_error *err);

/* Points diagnosis `id` at a new results blob, but only while it still
 * points at old_key (a compare-and-swap: results rewritten in a newer
 * format by two requests at once swap once). HS_ERR_NOTFOUND when no
 * diagnosis `id` has old_key; the caller then deletes its new blob, and
 * deletes the old one after a swap. No access rule: the caller has read
 * the diagnosis under it. */
static inline hs_status hs_store_diagnosis_swap_blob(hs_store *store, hs_id id,
                                                     const char *old_key,
                                                     const char *new_key,
                                                     hs_error *err)
{
    if (!store || !hs_store__str_fits(old_key, HS_STORE_BLOB_KEY_MAX) ||
        !hs_store__str_fits(new_key, HS_STORE_BLOB_KEY_MAX))
        return hs_store__bad(err, "diagnosis_swap_blob: bad argument");
    return store->ops->diagnoses->swap_blob(store->impl, id, old_key, new_key,
                                            err);
}

/* Closes the store and frees it. NULL is a no-op. */
static inline void hs_store_close(hs_store *store)
{
    if (store)
        store->ops->close(store);
}

/* ---- transactions ------------------------------------------------------ */

/* Runs fn(store, arg, err) inside one transaction (see the top of this
 * file): commits when it returns HS_OK and returns the commit's status
 * (HS_OK, or the storage error when the commit fails, in which case
 * nothing was kept); otherwise rolls back and returns fn's status. Called
 * inside fn (nested): HS_ERR_INVALID, and the outer transaction goes on.
 * fn may be run more than once: a backend runs the whole transaction
 * again when the database undid it (PostgreSQL: a deadlock, a
 * serialization failure), so fn only calls the store and sets its
 * outputs anew on each run. */
static inline hs_status hs_store_transact(hs_store *store, hs_store_txn_fn fn,
                                          void *arg, hs_error *err)
{
    if (!store || !fn)
        return hs_store__bad(err, "transact: missing argument");
    return store->ops->transact(store, fn, arg, err);
}

/* ---- users ------------------------------------------------------------- */

/* Inserts a user from u's username, password_hash, is_admin, disabled,
 * created_at, locked_until and email (the caller sets created_at); on
 * success the store sets u->id. username: 1..63 bytes; password_hash:
 * 1..127 bytes; email: 0..254 bytes (the rules of an address are the
 * accounts service's).
 * Errors: HS_ERR_CONFLICT when the username is taken. */
static inline hs_status hs_store_user_create(hs_store *store, hs_user *u,
                                             hs_error *err)
{
    if (!store || !u)
        return hs_store__bad(err, "user_create: missing argument");
    if (!hs_store__str_fits(u->username, sizeof u->username))
        return hs_store__bad(err, "username must be 1..63 bytes");
    if (!hs_store__str_fits(u->password_hash, sizeof u->password_hash))
        return hs_store__bad(err, "password hash must be 1..127 bytes");
    if (!memchr(u->email, '\0', sizeof u->email))
        return hs_store__bad(err, "e-mail must be 0..254 bytes");
    if (store->ops->version < 7)
        u->email[0] = '\0';
    u->id = 0;
    return store->ops->users->create(store->impl, u, err);
}

/* Reads user `id` into *out. HS_ERR_NOTFOUND when there is none. */
static inline hs_status hs_store_user_get(hs_store *store, hs_id id,
                                          hs_user *out, hs_error *err)
{
    if (!store || !out)
        return hs_store__bad(err, "user_get: missing argument");
    return store->ops->users->get(store->impl, id, out, err);
}

/* Reads the user whose username is exactly `username` (case-sensitive).
 * HS_ERR_NOTFOUND when there is none (also for an over-long name). */
static inline hs_status hs_store_user_get_by_name(hs_store *store,
                                                  const char *username,
                                                  hs_user *out, hs_error *err)
{
    if (!store || !out || !username)
        return hs_store__bad(err, "user_get_by_name: missing argument");
    if (!hs_store__str_fits(username, HS_USERNAME_MAX))
        return hs_fail(err, HS_ERR_NOTFOUND, "no such user");
    return store->ops->users->get_by_name(store->impl, username, out, err);
}

/* All users ordered by id: *items (malloc'ed, caller frees) and *n. */
static inline hs_status hs_store_user_list(hs_store *store, hs_user **items,
                                           size_t *n, hs_error *err)
{
    if (!store || !items || !n)
        return hs_store__bad(err, "user_list: missing argument");
    *items = NULL;
    *n = 0;
    return store->ops->users->list(store->impl, items, n, err);
}

/* Number of users (disabled ones included). */
static inline hs_status hs_store_user_count(hs_store *store, int64_t *count,
                                            hs_error *err)
{
    if (!store || !count)
        return hs_store__bad(err, "user_count: missing argument");
    *count = 0;
    return store->ops->users->count(store->impl, count, err);
}

/* Number of admins who are not disabled: the people who can still
 * administer (use it to refuse demoting or disabling the last one). */
static inline hs_status
hs_store_user_count_admins(hs_store *store, int64_t *count, hs_error *err)
{
    if (!store || !count)
        return hs_store__bad(err, "user_count_admins: missing argument");
    *count = 0;
    return store->ops->users->count_admins(store->impl, count, err);
}

/* Writes u's mutable fields (password_hash, is_admin, disabled,
 * locked_until, email) to user u->id; username and created_at never
 * change. An older backend (version < 7) keeps no e-mail: it is not
 * written. HS_ERR_NOTFOUND when there is no such user. */
static inline hs_status hs_store_user_update(hs_store *store, const hs_user *u,
                                             hs_error *err)
{
    if (!store || !u)
        return hs_store__bad(err, "user_update: missing argument");
    if (!hs_store__str_fits(u->password_hash, sizeof u->password_hash))
        return hs_store__bad(err, "password hash must be 1..127 bytes");
    if (!memchr(u->email, '\0', sizeof u->email))
        return hs_store__bad(err, "e-mail must be 0..254 bytes");
    return store->ops->users->update(store->impl, u, err);
}

/* ---- account events ---------------------------------------------------- */

/* Records that `kind` (1..31 bytes, e.g. HS_EVENT_LOGIN_FAILED) happened to
 * user_id at `at`; *id_out (may be NULL) receives the event's id.
 * HS_ERR_NOTFOUND when the user does not exist. */
static inline hs_status hs_store_event_add(hs_store *store, hs_id user_id,
                                           const char *kind, int64_t at,
                                           hs_id *id_out, hs_error *err)
{
    if (id_out)
        *id_out = 0;
    if (!store)
        return hs_store__bad(err, "event_add: no store");
    if (!hs_store__str_fits(kind, HS_KIND_MAX))
        return hs_store__bad(err, "event kind must be 1..31 bytes");
    return store->ops->events->add(store->impl, user_id, kind, at, id_out, err);
}

/* The time of user_id's latest event of `kind` in *at_out; HS_ERR_NOTFOUND
 * when there is none. (Cheap: indexed, whatever the history's length.) */
static inline hs_status hs_store_event_latest(hs_store *store, hs_id user_id,
                                              const char *kind, int64_t *at_out,
                                              hs_error *err)
{
    if (!store || !at_out)
        return hs_store__bad(err, "event_latest: missing argument");
    *at_out = 0;
    if (!hs_store__str_fits(kind, HS_KIND_MAX))
        return hs_store__bad(err, "event kind must be 1..31 bytes");
    return store->ops->events->latest(store->impl, user_id, kind, at_out, err);
}

/* The events of user_id (0 = every user), newest first (by time, then id):
 * *items (malloc'ed, caller frees) and *n. An unknown user has none. */
static inline hs_status hs_store_event_list(hs_store *store, hs_id user_id,
                                            hs_account_event **items, size_t *n,
                                            hs_error *err)
{
    if (!store || !items || !n)
        return hs_store__bad(err, "event_list: missing argument");
    *items = NULL;
    *n = 0;
    return store->ops->events->list(store->impl, user_id, items, n, err);
}

/* The times of user_id's "login_failed" events with at >= since, ascending:
 * *times (malloc'ed, caller frees) and *n - the input of
 * hs_auth_lock_until. */
static inline hs_status
hs_store_login_failures_since(hs_store *store, hs_id user_id, int64_t since,
                              int64_t **times, size_t *n, hs_error *err)
{
    if (!store || !times || !n)
        return hs_store__bad(err, "login_failures_since: missing argument");
    *times = NULL;
    *n = 0;
    return store->ops->events->login_failures_since(store->impl, user_id, since,
                                                    times, n, err);
}

/* ---- sessions ---------------------------------------------------------- */

/* Inserts a session from all of s's fields but id, which the store sets.
 * token_hash: 1..64 bytes. Errors: HS_ERR_CONFLICT (token hash already
 * used), HS_ERR_NOTFOUND (no such user). */
static inline hs_status hs_store_session_create(hs_store *store, hs_session *s,
                                                hs_error *err)
{
    if (!store || !s)
        return hs_store__bad(err, "session_create: missing argument");
    if (!hs_store__str_fits(s->token_hash, sizeof s->token_hash))
        return hs_store__bad(err, "token hash must be 1..64 bytes");
    s->id = 0;
    return store->ops->sessions->create(store->impl, s, err);
}

/* Reads the session with this token hash, expired or not (validity is
 * hs_auth_session_valid's call). HS_ERR_NOTFOUND when there is none. */
static inline hs_status
hs_store_session_get_by_token_hash(hs_store *store, const char *token_hash,
                                   hs_session *out, hs_error *err)
{
    if (!store || !out || !token_hash)
        return hs_store__bad(err, "session_get: missing argument");
    if (!hs_store__str_fits(token_hash, HS_STORE_TOKEN_HASH_MAX))
        return hs_fail(err, HS_ERR_NOTFOUND, "no such session");
    return store->ops->sessions->get_by_token_hash(store->impl, token_hash, out,
                                                   err);
}

/* Sets a session's last_seen_at and expires_at. HS_ERR_NOTFOUND when it
 * does not exist (e.g. logged out meanwhile). */
static inline hs_status hs_store_session_touch(hs_store *store, hs_id id,
                                               int64_t last_seen_at,
                                               int64_t expires_at,
                                               hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "session_touch: no store");
    return store->ops->sessions->touch(store->impl, id, last_seen_at,
                                       expires_at, err);
}

/* Deletes one session. HS_ERR_NOTFOUND when it does not exist. */
static inline hs_status hs_store_session_delete(hs_store *store, hs_id id,
                                                hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "session_delete: no store");
    return store->ops->sessions->remove(store->impl, id, err);
}

/* Deletes every session of user_id; *removed (may be NULL) gets how many.
 * Not an error when there were none. */
static inline hs_status hs_store_session_delete_for_user(hs_store *store,
                                                         hs_id user_id,
                                                         int64_t *removed,
                                                         hs_error *err)
{
    int64_t dummy;
    if (!store)
        return hs_store__bad(err, "session_delete_for_user: no store");
    if (!removed)
        removed = &dummy;
    *removed = 0;
    return store->ops->sessions->remove_for_user(store->impl, user_id, removed,
                                                 err);
}

/* Deletes every session with expires_at <= now; *removed (may be NULL)
 * gets how many. */
static inline hs_status hs_store_session_delete_expired(hs_store *store,
                                                        int64_t now,
                                                        int64_t *removed,
                                                        hs_error *err)
{
    int64_t dummy;
    if (!store)
        return hs_store__bad(err, "session_delete_expired: no store");
    if (!removed)
        removed = &dummy;
    *removed = 0;
    return store->ops->sessions->remove_expired(store->impl, now, removed, err);
}

/* ---- notifications (the admins' in-app list) --------------------------- */

/* Adds an unread notification: kind 1..31 bytes, message 1..511 bytes,
 * user_id the user it is about (0 = none), created at `at`. *id_out (may
 * be NULL) receives its id. HS_ERR_NOTFOUND when user_id is not 0 and does
 * not exist. */
static inline hs_status hs_store_notification_add(hs_store *store,
                                                  const char *kind,
                                                  const char *message,
                                                  hs_id user_id, int64_t at,
                                                  hs_id *id_out, hs_error *err)
{
    if (id_out)
        *id_out = 0;
    if (!store)
        return hs_store__bad(err, "notification_add: no store");
    if (!hs_store__str_fits(kind, HS_KIND_MAX))
        return hs_store__bad(err, "notification kind must be 1..31 bytes");
    if (!hs_store__str_fits(message, HS_MESSAGE_MAX))
        return hs_store__bad(err, "notification message must be 1..511 bytes");
    return store->ops->notifications->add(store->impl, kind, message, user_id,
                                          at, id_out, err);
}

/* Notifications newest first (by created_at, then id), only unread ones
 * when unread_only: *items (malloc'ed, caller frees) and *n. */
static inline hs_status hs_store_notification_list(hs_store *store,
                                                   int unread_only,
                                                   hs_notification **items,
                                                   size_t *n, hs_error *err)
{
    if (!store || !items || !n)
        return hs_store__bad(err, "notification_list: missing argument");
    *items = NULL;
    *n = 0;
    return store->ops->notifications->list(store->impl, unread_only, items, n,
                                           err);
}

/* Marks a notification read (again is fine). HS_ERR_NOTFOUND when it does
 * not exist. */
static inline hs_status hs_store_notification_mark_read(hs_store *store,
                                                        hs_id id, hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "notification_mark_read: no store");
    return store->ops->notifications->mark_read(store->impl, id, err);
}

/* Reads notification `id` into *out. HS_ERR_NOTFOUND when there is none. */
static inline hs_status hs_store_notification_get(hs_store *store, hs_id id,
                                                  hs_notification *out,
                                                  hs_error *err)
{
    if (!store || !out)
        return hs_store__bad(err, "notification_get: missing argument");
    memset(out, 0, sizeof *out);
    return store->ops->notifications->get(store->impl, id, out, err);
}

/* ---- datasets ---------------------------------------------------------- */

/* Access rule (one place: the backend's queries): a dataset is visible to
 * its owner and to admins. For anyone else it does not exist - they get
 * HS_ERR_NOTFOUND, exactly as for an id nobody has, so ids leak nothing. */

/* Inserts a dataset from all of d's fields but id, which the store sets
 * (d->profile_json is copied, may be NULL, and stays the caller's).
 * name: 1..255 bytes; blob_key: 1..65 bytes; size_bytes, rows, features
 * and deleted_at >= 0. Errors: HS_ERR_NOTFOUND (no such owner),
 * HS_ERR_CONFLICT (blob key already used). */
static inline hs_status
hs_store_dataset_create(hs_store *store, hs_dataset_rec *d, hs_error *err)
{
    if (!store || !d)
        return hs_store__bad(err, "dataset_create: missing argument");
    if (!hs_store__str_fits(d->name, sizeof d->name))
        return hs_store__bad(err, "dataset name must be 1..255 bytes");
    if (!hs_store__str_fits(d->blob_key, sizeof d->blob_key))
        return hs_store__bad(err, "blob key must be 1..65 bytes");
    if (d->size_bytes < 0 || d->rows < 0 || d->features < 0 ||
        d->deleted_at < 0)
        return hs_store__bad(err, "dataset sizes and times must be >= 0");
    if (!d->state[0])
        strcpy(d->state, HS_DATASET_READY);
    if (strcmp(d->state, HS_DATASET_READY) != 0 &&
        strcmp(d->state, HS_DATASET_INGESTING) != 0)
        return hs_store__bad(err, "a dataset starts 'ready' or 'ingesting'");
    if (store->ops->version < 14 &&
        strcmp(d->state, HS_DATASET_INGESTING) == 0)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) cannot "
                       "keep a dataset being ingested",
                       store->ops->name, store->ops->version);
    d->ingest_error[0] = '\0';
    d->file_deleted = 0;
    d->id = 0;
    return store->ops->datasets->create(store->impl, d, err);
}

/* Reads dataset `id` - live or in the trash, see deleted_at - into *out
 * when viewer_id owns it or viewer_is_admin. HS_ERR_NOTFOUND otherwise.
 * *out is always overwritten; release it with hs_dataset_rec_free (on
 * error out->profile_json is NULL, so that is safe either way). */
static inline hs_status hs_store_dataset_get(hs_store *store, hs_id id,
                                             hs_id viewer_id,
                                             int viewer_is_admin,
                                             hs_dataset_rec *out, hs_error *err)
{
    if (!store || !out)
        return hs_store__bad(err, "dataset_get: missing argument");
    memset(out, 0, sizeof *out);
    return store->ops->datasets->get(store->impl, id, viewer_id,
                                     viewer_is_admin != 0, out, err);
}

/* The datasets viewer_id may see (every user's when viewer_is_admin),
 * newest first (by created_at, then id); trashed ones only when
 * include_deleted. *items and *n; release with hs_dataset_list_free. */
static inline hs_status hs_store_dataset_list(hs_store *store, hs_id viewer_id,
                                              int viewer_is_admin,
                                              int include_deleted,
                                              hs_dataset_rec **items, size_t *n,
                                              hs_error *err)
{
    if (!store || !items || !n)
        return hs_store__bad(err, "dataset_list: missing argument");
    *items = NULL;
    *n = 0;
    return store->ops->datasets->list(store->impl, viewer_id,
                                      viewer_is_admin != 0,
                                      include_deleted != 0, items, n, err);
}

/* Moves dataset `id` to the trash (deleted_at > 0, the time it happened)
 * or restores it (deleted_at == 0), under the access rule above; doing it
 * twice is fine. How long a trashed dataset stays restorable is the
 * caller's rule (see hs_store_dataset_purge). HS_ERR_NOTFOUND when absent
 * or not visible to the viewer; HS_ERR_INVALID when deleted_at < 0. */
static inline hs_status hs_store_dataset_set_deleted(hs_store *store, hs_id id,
                                                     hs_id viewer_id,
                                                     int viewer_is_admin,
                                                     int64_t deleted_at,
                                                     hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "dataset_set_deleted: no store");
    if (deleted_at < 0)
        return hs_store__bad(err, "deleted_at must be >= 0");
    return store->ops->datasets->set_deleted(
        store->impl, id, viewer_id, viewer_is_admin != 0, deleted_at, err);
}

/* Stores dataset `id`'s profile (JSON text, copied; NULL clears it) and
 * its row and feature counts (>= 0). No access rule: this is the profiling
 * job's call, not a user's. HS_ERR_NOTFOUND when the dataset is absent. */
static inline hs_status hs_store_dataset_set_profile(hs_store *store, hs_id id,
                                                     const char *profile_json,
                                                     int64_t rows,
                                                     int64_t features,
                                                     hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "dataset_set_profile: no store");
    if (rows < 0 || features < 0)
        return hs_store__bad(err, "dataset rows and features must be >= 0");
    return store->ops->datasets->set_profile(store->impl, id, profile_json,
                                             rows, features, err);
}

/* Deletes, atomically, every dataset trashed before the cutoff
 * (0 < deleted_at < deleted_before) and returns their blob keys: *keys
 * (malloc'ed, caller frees with free()) and *n. The rows are gone when
 * this returns, so the caller deletes the blobs afterwards (outside any
 * transaction); a crash in between leaves orphan blobs, never rows that
 * point at missing blobs. */
static inline hs_status
hs_store_dataset_purge(hs_store *store, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err)
{
    if (!store || !keys || !n)
        return hs_store__bad(err, "dataset_purge: missing argument");
    *keys = NULL;
    *n = 0;
    return store->ops->datasets->purge(store->impl, deleted_before, keys, n,
                                       err);
}


/* ---- preferences ---------------------------------------------------------- */

/* The saved preferences of user_id (JSON object text, malloc'ed into
 * *json_out; caller frees). HS_ERR_NOTFOUND when none were saved. */
static inline hs_status hs_store_user_prefs_get(hs_store *store, hs_id user_id,
                                                char **json_out, hs_error *err)
{
    if (!store || !json_out)
        return hs_store__bad(err, "user_prefs_get: missing argument");
    *json_out = NULL;
    return store->ops->prefs->get(store->impl, user_id, json_out, err);
}

/* Replaces user_id's preferences (non-empty JSON text, copied).
 * HS_ERR_NOTFOUND when the user does not exist. */
static inline hs_status hs_store_user_prefs_set(hs_store *store, hs_id user_id,
                                                const char *prefs_json,
                                                int64_t now, hs_error *err)
{
    if (!store || !prefs_json || !prefs_json[0])
        return hs_store__bad(err, "user_prefs_set: missing argument");
    return store->ops->prefs->set(store->impl, user_id, prefs_json, now, err);
}

/* ---- models ------------------------------------------------------------- */

/* Inserts a model from all of m's fields but id, which the store sets,
 * and deleted_at (a new model is live: cleared).
 * name 1..255 bytes, algo 1..31, blob_key 1..65, summary_json non-empty;
 * dataset_id, job_id and parent_id 0 or existing (else HS_ERR_NOTFOUND);
 * feedback_json NULL or non-empty (copied). HS_ERR_CONFLICT when the blob
 * key is already used. class_names_json NULL or non-empty (copied). A
 * backend older than version 3 keeps no lineage: parent_id and
 * feedback_json are cleared (feedback_json freed) first; one older than
 * version 4 keeps no class names (class_names_json freed). */
static inline hs_status hs_store_model_create(hs_store *store, hs_model_rec *m,
                                              hs_error *err)
{
    if (!store || !m || !m->summary_json || !m->summary_json[0] ||
        m->parent_id < 0 || (m->feedback_json && !m->feedback_json[0]) ||
        (m->class_names_json && !m->class_names_json[0]))
        return hs_store__bad(err, "model_create: missing argument");
    if (!hs_store__str_fits(m->name, sizeof m->name) ||
        !hs_store__str_fits(m->algo, sizeof m->algo) ||
        !hs_store__str_fits(m->blob_key, sizeof m->blob_key))
        return hs_store__bad(err, "model name, algo or blob key do not fit");
    if (store->ops->version < 3) {
        m->parent_id = 0;
        free(m->feedback_json);
        m->feedback_json = NULL;
    }
    if (store->ops->version < 4) {
        free(m->class_names_json);
        m->class_names_json = NULL;
    }
    m->id = 0;
    m->deleted_at = 0;
    return store->ops->models->create(store->impl, m, err);
}

/* Reads model `id` - live or in the trash, see deleted_at - under the
 * access rule. *out is always overwritten;
 * release it with hs_model_rec_free. */
static inline hs_status hs_store_model_get(hs_store *store, hs_id id,
                                           hs_id viewer_id, int viewer_is_admin,
                                           hs_model_rec *out, hs_error *err)
{
    if (!store || !out)
        return hs_store__bad(err, "model_get: missing argument");
    memset(out, 0, sizeof *out);
    return store->ops->models->get(store->impl, id, viewer_id,
                                   viewer_is_admin != 0, out, err);
}

/* The models viewer_id may see, newest first (created_at, then id);
 * trashed ones (deleted_at > 0) only when include_deleted. Release with
 * hs_model_list_free. */
static inline hs_status hs_store_model_list(hs_store *store, hs_id viewer_id,
                                            int viewer_is_admin,
                                            int include_deleted,
                                            hs_model_rec **items, size_t *n,
                                            hs_error *err)
{
    if (!store || !items || !n)
        return hs_store__bad(err, "model_list: missing argument");
    *items = NULL;
    *n = 0;
    if (store->ops->version < 5)
        return store->ops->models->list(store->impl, viewer_id,
                                        viewer_is_admin != 0, items, n, err);
    return store->ops->models->list_with_deleted(
        store->impl, viewer_id, viewer_is_admin != 0, include_deleted != 0,
        items, n, err);
}

/* Moves model `id` to the trash (deleted_at > 0, when it happened) or
 * restores it (deleted_at == 0) under the access rule; doing it twice is
 * fine. Nothing that refers to it changes: diagnoses and jobs keep its id.
 * How long it stays restorable is the caller's rule (hs_store_model_purge).
 * HS_ERR_NOTFOUND when absent or not the viewer's; HS_ERR_INVALID when
 * deleted_at < 0 or the backend is older than version 5. */
static inline hs_status hs_store_model_set_deleted(hs_store *store, hs_id id,
                                                   hs_id viewer_id,
                                                   int viewer_is_admin,
                                                   int64_t deleted_at,
                                                   hs_error *err)
{
    hs_status hs = hs_store__trash_ok(store, deleted_at, err);
    if (hs != HS_OK)
        return hs;
    return store->ops->models->set_deleted(
        store->impl, id, viewer_id, viewer_is_admin != 0, deleted_at, err);
}

/* Deletes, atomically, every model trashed before the cutoff
 * (0 < deleted_at < deleted_before) exactly as hs_store_model_delete does
 * (what referred to them is cleared), and returns their blob keys in *keys
 * (free()) and *n for the caller to delete afterwards. A backend older
 * than version 5 has nothing in the trash: none. */
static inline hs_status
hs_store_model_purge(hs_store *store, int64_t deleted_before,
                     char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                     hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "model_purge: no store");
    return hs_store__purge(
        store, store->ops->version >= 5 ? store->ops->models->purge : NULL,
        deleted_before, keys, n, err);
}

/* Deletes model `id` for good (live or trashed: the purge, or a result
 * made after its job lost its lease) under the access rule and hands back
 * its blob key,
 * which the caller deletes from the blob store afterwards. What referred
 * to it stays, pointing at nothing: diagnoses made with it keep their
 * results (model_id 0), a diagnose job that used it gets model_id 0, a
 * model retrained from it keeps its feedback_json with parent_id 0, and a
 * job whose result it was keeps result_kind "model" with result_id 0. */
static inline hs_status hs_store_model_delete(hs_store *store, hs_id id,
                                              hs_id viewer_id,
                                              int viewer_is_admin,
                                              char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                              hs_error *err)
{
    if (!store || !blob_key_out)
        return hs_store__bad(err, "model_delete: missing argument");
    blob_key_out[0] = '\0';
    return store->ops->models->remove(store->impl, id, viewer_id,
                                      viewer_is_admin != 0, blob_key_out, err);
}

/* Replaces model `id`'s class_names_json (non-empty JSON text, stored as
 * given: the caller has validated it) under the access rule: the owner or
 * an admin; HS_ERR_NOTFOUND for a model the viewer may not see or that
 * does not exist. Nothing else of the model changes. HS_ERR_INVALID for
 * a backend older than version 4. */
static inline hs_status hs_store_model_class_names_put(
    hs_store *store, hs_id id, hs_id viewer_id, int viewer_is_admin,
    const char *class_names_json, hs_error *err)
{
    if (!store || !class_names_json || !class_names_json[0])
        return hs_store__bad(err, "model_class_names_put: missing argument");
    if (store->ops->version < 4)
        return hs_store__bad(err, "model_class_names_put: this store backend "
                                  "keeps no class names");
    return store->ops->models->class_names_put(
        store->impl, id, viewer_id, viewer_is_admin != 0, class_names_json,
        err);
}

/* ---- jobs ---------------------------------------------------------------
 *
 * The queue is the jobs table. A worker (one per runner: a process, later
 * one of several machines) claims the oldest queued job and holds it on a
 * lease: worker_id names it, lease_expires_at says until when. Every write
 * a worker makes to its running job (progress, finish, requeue) is
 * refused unless the job is still running *and* leased to that worker, so
 * once a job has been taken back, its old worker can no longer touch it.
 * Progress renews the job's lease; renew_leases renews all of a worker's
 * jobs at once (a heartbeat, for work that reports no progress). recover
 * takes back only jobs whose lease has run out (lease_expires_at <= now):
 * a worker that stopped renewing is gone, and one that still renews keeps
 * its jobs, whoever else runs recover and how often.
 *
 * worker_id arguments are 1..63 bytes; lease_seconds 1..HS_STORE_LEASE_MAX.
 * A result is a kind (HS_RESULT_MODEL, HS_RESULT_DIAGNOSIS, ...) and an id;
 * for the kinds the store keeps (models, diagnoses) the id always names an
 * existing record or is 0: one that does not exist (deleted meanwhile) is
 * stored as 0, and deleting the record sets it to 0 (the kind stays). */

/* 1 when a job record's worker id, result kind and result reference are
 * well-formed: strings "" or fitting, ids >= 0, a result id only with a
 * kind. */
static inline int hs_store__job_refs_ok(const hs_job_rec *j)
{
    return (!j->result_kind[0] ||
            hs_store__str_fits(j->result_kind, sizeof j->result_kind)) &&
           (!j->worker_id[0] ||
            hs_store__str_fits(j->worker_id, sizeof j->worker_id)) &&
           j->result_id >= 0 && (j->result_id == 0 || j->result_kind[0]) &&
           j->lease_expires_at >= 0;
}

/* Checks a worker id and a lease length (the arguments of claim,
 * progress and renew). */
static inline hs_status hs_store__lease_ok(const char *worker_id,
                                           int64_t lease_seconds, hs_error *err)
{
    if (!hs_store__str_fits(worker_id, HS_WORKER_ID_MAX))
        return hs_store__bad(err, "worker id must be 1..63 bytes");
    if (lease_seconds < 1 || lease_seconds > HS_STORE_LEASE_MAX)
        return hs_store__bad(err, "lease must be 1..86400 seconds");
    return HS_OK;
}

/* Inserts a job from every field but id (the store sets j->id): normally
 * HS_JOB_QUEUED with only owner_id, type, name, params_json, created_at
 * and the inputs (dataset_id, model_id, input_blob_key) set; any other
 * state, progress, result or lease is stored as given (a job restored as
 * it was). type 1..31 bytes, name 1..255, params_json non-empty,
 * input_blob_key "" or a key, error 0..511 bytes, result_kind and worker_id
 * "" or fitting, a result_id only with a result_kind, times >= 0,
 * topology_id >= 0 (an rca job's topology; cleared for a backend older
 * than version 6, which keeps none). HS_ERR_NOTFOUND for a missing owner,
 * dataset, model or topology (input). */
static inline hs_status hs_store_job_create(hs_store *store, hs_job_rec *j,
                                            hs_error *err)
{
    if (!store || !j || !j->params_json || !j->params_json[0])
        return hs_store__bad(err, "job_create: missing argument");
    if (!hs_store__str_fits(j->type, sizeof j->type) ||
        !hs_store__str_fits(j->name, sizeof j->name) ||
        (j->input_blob_key[0] &&
         !hs_store__str_fits(j->input_blob_key, sizeof j->input_blob_key)) ||
        !memchr(j->error, '\0', sizeof j->error) ||
        (unsigned)j->state >= HS_JOB_STATES)
        return hs_store__bad(err,
                             "job type, name, input, error or state invalid");
    if (!hs_store__job_refs_ok(j) || j->topology_id < 0)
        return hs_store__bad(err, "job result or lease invalid");
    if (store->ops->version < 6)
        j->topology_id = 0;
    j->id = 0;
    return store->ops->jobs->create(store->impl, j, err);
}

/* Reads job `id` under the access rule (release with hs_job_rec_free). */
static inline hs_status hs_store_job_get(hs_store *store, hs_id id,
                                         hs_id viewer_id, int viewer_is_admin,
                                         hs_job_rec *out, hs_error *err)
{
    if (!store || !out)
        return hs_store__bad(err, "job_get: missing argument");
    memset(out, 0, sizeof *out);
    return store->ops->jobs->get(store->impl, id, viewer_id,
                                 viewer_is_admin != 0, out, err);
}

/* The jobs viewer_id may see, newest first (release with
 * hs_job_list_free). */
static inline hs_status hs_store_job_list(hs_store *store, hs_id viewer_id,
                                          int viewer_is_admin,
                                          hs_job_rec **items, size_t *n,
                                          hs_error *err)
{
    if (!store || !items || !n)
        return hs_store__bad(err, "job_list: missing argument");
    *items = NULL;
    *n = 0;
    return store->ops->jobs->list(store->impl, viewer_id, viewer_is_admin != 0,
                                  items, n, err);
}

/* Cancels job `id` under the access rule: a queued job becomes cancelled
 * at once (finished_at = now); a running one gets cancel_requested = 1 and
 * stays running until its worker stops it (it learns of it from
 * progress). *state_out receives the state after the call.
 * HS_ERR_CONFLICT when the job had already finished. */
static inline hs_status hs_store_job_cancel(hs_store *store, hs_id id,
                                            hs_id viewer_id,
                                            int viewer_is_admin, int64_t now,
                                            hs_job_state *state_out,
                                            hs_error *err)
{
    if (!store || !state_out)
        return hs_store__bad(err, "job_cancel: missing argument");
    *state_out = HS_JOB_QUEUED;
    return store->ops->jobs->cancel(store->impl, id, viewer_id,
                                    viewer_is_admin != 0, now, state_out, err);
}

/* Number of jobs in each state, counts[HS_JOB_QUEUED] etc. (all users). */
static inline hs_status hs_store_job_counts(hs_store *store,
                                            int64_t counts[HS_JOB_STATES],
                                            hs_error *err)
{
    if (!store || !counts)
        return hs_store__bad(err, "job_counts: missing argument");
    memset(counts, 0, HS_JOB_STATES * sizeof counts[0]);
    return store->ops->jobs->counts(store->impl, counts, err);
}

/* Number of owner_id's jobs in each state (e.g. a per-user share of the
 * queue). An unknown owner has none. */
static inline hs_status hs_store_job_owner_counts(hs_store *store,
                                                  hs_id owner_id,
                                                  int64_t counts[HS_JOB_STATES],
                                                  hs_error *err)
{
    if (!store || !counts)
        return hs_store__bad(err, "job_owner_counts: missing argument");
    memset(counts, 0, HS_JOB_STATES * sizeof counts[0]);
    return store->ops->jobs->owner_counts(store->impl, owner_id, counts, err);
}

/* The job types a worker takes, as a JSON array of names (["train",
 * "diagnose"]) into buf, for claim_next; 0 when a name is not
 * [a-z0-9_]{1,31} or buf is too small. */
static inline int hs_store__types_json(const char *const *types, char *buf,
                                       size_t cap)
{
    size_t at = 0;
    buf[at++] = '[';
    for (size_t i = 0; types[i]; i++) {
        size_t n = strlen(types[i]);
        if (n == 0 || n >= HS_KIND_MAX || at + n + 4 >= cap)
            return 0;
        for (size_t c = 0; c < n; c++) {
            char ch = types[i][c];
            if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '_'))
                return 0;
        }
        at += (size_t)snprintf(buf + at, cap - at, "%s\"%s\"", i ? "," : "",
                               types[i]);
    }
    buf[at++] = ']';
    buf[at] = '\0';
    return 1;
}

/* Atomically takes the oldest queued job (lowest id) of one of `types` (a
 * NULL-terminated list of type names; NULL = any type) for worker_id: it
 * becomes running with started_at = now, worker_id, and lease_expires_at =
 * now + lease_seconds, and is read into *out (release with
 * hs_job_rec_free). HS_ERR_NOTFOUND "no job is queued" when there is none
 * of those types. Two callers - threads, handles or processes - never get
 * the same job, and a worker never gets a job of a type it cannot run
 * (another version of healer may share the queue). Version 14: a job
 * whose dataset_id names a dataset still HS_DATASET_INGESTING is skipped
 * (it waits without holding a worker; "ready" or "failed" release it),
 * by claim_next and claim_next_fair alike - except a job of type
 * HS_JOB_TYPE_INGEST, the one that ingests it. */
/* The checks every claim makes before its backend sees it; the types as
 * JSON into list (cap bytes; *types_json NULL for any type). */
static inline hs_status
hs_store__claim_ok(hs_store *store, const char *worker_id,
                   const char *const *types, int64_t lease_seconds,
                   hs_job_rec *out, char *list, size_t cap,
                   const char **types_json, hs_error *err)
{
    hs_status hs;
    if (!store || !out)
        return hs_store__bad(err, "job claim: missing argument");
    memset(out, 0, sizeof *out);
    if ((hs = hs_store__lease_ok(worker_id, lease_seconds, err)) != HS_OK)
        return hs;
    if (types && !hs_store__types_json(types, list, cap))
        return hs_store__bad(err, "job types must be [a-z0-9_]{1,31}");
    *types_json = types ? list : NULL;
    return HS_OK;
}

static inline hs_status
hs_store_job_claim_next(hs_store *store, const char *worker_id,
                        const char *const *types, int64_t now,
                        int64_t lease_seconds, hs_job_rec *out, hs_error *err)
{
    char list[1024];
    const char *types_json = NULL;
    hs_status hs = hs_store__claim_ok(store, worker_id, types, lease_seconds,
                                      out, list, sizeof list, &types_json, err);
    return hs != HS_OK ? hs
                       : store->ops->jobs->claim_next(store->impl, worker_id,
                                                      types_json, now,
                                                      lease_seconds, out, err);
}

/* Records the progress of job `id`, running on worker_id (progress clamped
 * to 0..1; losses_json NULL leaves the stored one), renews its lease to now
 * + lease_seconds, and tells the worker whether a cancel was requested
 * meanwhile (*cancel_requested, may be NULL). HS_ERR_NOTFOUND "job N is
 * not running on this worker" when it is not running, or is leased to
 * another worker (it was taken back); nothing is written then. */
static inline hs_status
hs_store_job_progress(hs_store *store, hs_id id, const char *worker_id,
                      int64_t now, int64_t lease_seconds, double progress,
                      int64_t round, int64_t rounds, const char *losses_json,
                      int *cancel_requested, hs_error *err)
{
    hs_status hs;
    if (cancel_requested)
        *cancel_requested = 0;
    if (!store)
        return hs_store__bad(err, "job_progress: no store");
    if ((hs = hs_store__lease_ok(worker_id, lease_seconds, err)) != HS_OK)
        return hs;
    if (!(progress >= 0))
        progress = 0;
    if (progress > 1)
        progress = 1;
    return store->ops->jobs->progress(store->impl, id, worker_id, now,
                                      lease_seconds, progress, round, rounds,
                                      losses_json, cancel_requested, err);
}

/* The heartbeat: renews, to now + lease_seconds, the lease of every job
 * running on worker_id; *renewed (may be NULL) receives how many. None is
 * not an error. */
static inline hs_status
hs_store_job_renew_leases(hs_store *store, const char *worker_id, int64_t now,
                          int64_t lease_seconds, int64_t *renewed,
                          hs_error *err)
{
    int64_t dummy;
    hs_status hs;
    if (!renewed)
        renewed = &dummy;
    *renewed = 0;
    if (!store)
        return hs_store__bad(err, "job_renew_leases: no store");
    if ((hs = hs_store__lease_ok(worker_id, lease_seconds, err)) != HS_OK)
        return hs;
    return store->ops->jobs->renew_leases(store->impl, worker_id, now,
                                          lease_seconds, renewed, err);
}

/* Ends job `id`, running on worker_id, in a final state (succeeded, failed
 * or cancelled) with its error message ("" or NULL = none, 0..511 bytes),
 * its result (result_kind NULL or "" = none, else 1..31 bytes; result_id 0
 * = none, > 0 only with a kind) and its attempts (JSON text; NULL keeps
 * the stored ones), at finished_at. A succeeded job also gets progress 1;
 * the lease is released (worker_id "", lease_expires_at 0).
 * HS_ERR_NOTFOUND "job N is not running on this worker" as for progress;
 * HS_ERR_INVALID for a state that is not final. */
static inline hs_status hs_store_job_finish(
    hs_store *store, hs_id id, const char *worker_id, hs_job_state state,
    const char *error, const char *result_kind, hs_id result_id,
    const char *attempts_json, int64_t finished_at, hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "job_finish: no store");
    if (!hs_store__str_fits(worker_id, HS_WORKER_ID_MAX))
        return hs_store__bad(err, "worker id must be 1..63 bytes");
    if (!hs_job_state_is_final(state))
        return hs_store__bad(err, "job_finish: the state must be final");
    if (error && strnlen(error, HS_MESSAGE_MAX) >= HS_MESSAGE_MAX)
        return hs_store__bad(err, "job error message must be 0..511 bytes");
    if (!result_kind)
        result_kind = "";
    if ((result_kind[0] && !hs_store__str_fits(result_kind, HS_KIND_MAX)) ||
        result_id < 0 || (result_id && !result_kind[0]))
        return hs_store__bad(err, "job result: a kind of 1..31 bytes, and an "
                                  "id >= 0 only with a kind");
    return store->ops->jobs->finish(store->impl, id, worker_id, state,
                                    error ? error : "", result_kind, result_id,
                                    attempts_json, finished_at, err);
}

/* Gives job `id`, running on worker_id, back to the queue as if it had
 * never started (progress, round, losses, started_at and the lease reset,
 * its attempt records removed; restarts unchanged): the checkpoint of a
 * graceful shutdown. A job whose
 * cancel was requested is cancelled instead (finished_at = its start: this
 * call has no clock). HS_ERR_NOTFOUND "job N is not running on this
 * worker" as for progress. */
static inline hs_status hs_store_job_requeue(hs_store *store, hs_id id,
                                             const char *worker_id,
                                             hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "job_requeue: no store");
    if (!hs_store__str_fits(worker_id, HS_WORKER_ID_MAX))
        return hs_store__bad(err, "worker id must be 1..63 bytes");
    return store->ops->jobs->requeue(store->impl, id, worker_id, err);
}

/* Takes back the jobs whose worker is gone: every running job whose lease
 * has expired (lease_expires_at <= now), and only those. One whose cancel
 * was requested becomes cancelled (finished_at = now); the others go back
 * to the queue as requeue leaves them (attempt records removed: the next
 * run starts again from attempt 1), with restarts + 1, while restarts <
 * max_restarts, else they fail ("interrupted: its worker stopped renewing
 * its lease", finished_at = now). *requeued and *failed (may be NULL)
 * receive the counts. One atomic outcome; safe to run from any worker at
 * any time, as often as wanted. */
static inline hs_status hs_store_job_recover(hs_store *store, int64_t now,
                                             int64_t max_restarts,
                                             int64_t *requeued,
                                             int64_t *failed, hs_error *err)
{
    int64_t a, b;
    if (!requeued)
        requeued = &a;
    if (!failed)
        failed = &b;
    *requeued = *failed = 0;
    if (!store)
        return hs_store__bad(err, "job_recover: no store");
    return store->ops->jobs->recover(store->impl, now, max_restarts, requeued,
                                     failed, err);
}

/* A version 1 backend has no job attempts: its wrappers refuse cleanly. */
static inline hs_status hs_store__has_attempts(hs_store *store, hs_error *err)
{
    if (store->ops->version < 2)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) keeps no "
                       "job attempts",
                       store->ops->name, store->ops->version);
    return HS_OK;
}

/* Records attempt *a of job a->job_id, running on worker_id, as it ended:
 * number >= 1, step, algo and outcome 1..31 bytes, reason 0..511, seconds
 * NAN (unknown) or a finite number >= 0, params_json non-empty (copied).
 * HS_ERR_NOTFOUND "job N is not running on this worker" as for progress
 * (a run that lost its lease records nothing); HS_ERR_CONFLICT "job N
 * already has attempt K" for a number it has. The lease is not renewed:
 * progress and the heartbeat do that. */
static inline hs_status hs_store_job_attempt_add(hs_store *store,
                                                 const char *worker_id,
                                                 const hs_job_attempt *a,
                                                 hs_error *err)
{
    hs_status hs;
    if (!store || !a || !a->params_json || !a->params_json[0])
        return hs_store__bad(err, "job_attempt_add: missing argument");
    if ((hs = hs_store__has_attempts(store, err)) != HS_OK)
        return hs;
    if (!hs_store__str_fits(worker_id, HS_WORKER_ID_MAX))
        return hs_store__bad(err, "worker id must be 1..63 bytes");
    if (a->number < 1 || !hs_store__str_fits(a->step, sizeof a->step) ||
        !hs_store__str_fits(a->algo, sizeof a->algo) ||
        !hs_store__str_fits(a->outcome, sizeof a->outcome) ||
        !memchr(a->reason, '\0', sizeof a->reason))
        return hs_store__bad(err, "job attempt: a number >= 1, step, algo "
                                  "and outcome of 1..31 bytes, a reason of "
                                  "0..511 bytes");
    if (!isnan(a->seconds) && !(a->seconds >= 0 && isfinite(a->seconds)))
        return hs_store__bad(err, "job attempt: seconds must be >= 0");
    return store->ops->jobs->attempt_add(store->impl, worker_id, a, err);
}

/* The attempts of job job_id under the access rule, by number (release
 * with hs_job_attempt_list_free); none is an empty list. HS_ERR_NOTFOUND
 * "job N does not exist" for a job that is absent or not the viewer's.
 * job_id 0: the attempts of every job the viewer may see, by job id and
 * number, so that a list of jobs reads its attempts at once. */
static inline hs_status hs_store_job_attempt_list(hs_store *store, hs_id job_id,
                                                  hs_id viewer_id,
                                                  int viewer_is_admin,
                                                  hs_job_attempt **items,
                                                  size_t *n, hs_error *err)
{
    hs_status hs;
    if (!store || !items || !n || job_id < 0)
        return hs_store__bad(err, "job_attempt_list: missing argument");
    *items = NULL;
    *n = 0;
    if ((hs = hs_store__has_attempts(store, err)) != HS_OK)
        return hs;
    return store->ops->jobs->attempt_list(store->impl, job_id, viewer_id,
                                          viewer_is_admin != 0, items, n, err);
}

/* ---- diagnoses ---------------------------------------------------------- */

/* Inserts a diagnosis from all of d's fields but id (the store sets it)
 * and deleted_at (a new diagnosis is live: cleared).
 * name 1..255 bytes, blob_key 1..65, input_blob_key "" or 1..65 bytes,
 * summary_json non-empty, rows >= 0; model_id and job_id 0 or existing.
 * HS_ERR_CONFLICT for a used blob key. A backend older than version 3
 * keeps no input: input_blob_key is cleared first, so that the caller
 * sees that nothing refers to its blob. */
static inline hs_status hs_store_diagnosis_create(hs_store *store,
                                                  hs_diagnosis_rec *d,
                                                  hs_error *err)
{
    if (!store || !d || !d->summary_json || !d->summary_json[0] || d->rows < 0)
        return hs_store__bad(err, "diagnosis_create: missing argument");
    if (!hs_store__str_fits(d->name, sizeof d->name) ||
        !hs_store__str_fits(d->blob_key, sizeof d->blob_key) ||
        (d->input_blob_key[0] &&
         !hs_store__str_fits(d->input_blob_key, sizeof d->input_blob_key)))
        return hs_store__bad(err, "diagnosis name or blob keys do not fit");
    if (store->ops->version < 3)
        d->input_blob_key[0] = '\0';
    d->id = 0;
    d->deleted_at = 0;
    return store->ops->diagnoses->create(store->impl, d, err);
}

/* Reads diagnosis `id` - live or in the trash, see deleted_at - under
 * the access rule (release with
 * hs_diagnosis_rec_free). */
static inline hs_status hs_store_diagnosis_get(hs_store *store, hs_id id,
                                               hs_id viewer_id,
                                               int viewer_is_admin,
                                               hs_diagnosis_rec *out,
                                               hs_error *err)
{
    if (!store || !out)
        return hs_store__bad(err, "diagnosis_get: missing argument");
    memset(out, 0, sizeof *out);
    return store->ops->diagnoses->get(store->impl, id, viewer_id,
                                      viewer_is_admin != 0, out, err);
}

/* The diagnoses viewer_id may see, newest first; trashed ones only when
 * include_deleted (release with hs_diagnosis_list_free). */
static inline hs_status hs_store_diagnosis_list(hs_store *store,
                                                hs_id viewer_id,
                                                int viewer_is_admin,
                                                int include_deleted,
                                                hs_diagnosis_rec **items,
                                                size_t *n, hs_error *err)
{
    if (!store || !items || !n)
        return hs_store__bad(err, "diagnosis_list: missing argument");
    *items = NULL;
    *n = 0;
    if (store->ops->version < 5)
        return store->ops->diagnoses->list(store->impl, viewer_id,
                                           viewer_is_admin != 0, items, n, err);
    return store->ops->diagnoses->list_with_deleted(
        store->impl, viewer_id, viewer_is_admin != 0, include_deleted != 0,
        items, n, err);
}

/* Moves diagnosis `id` to the trash (deleted_at > 0) or restores it
 * (deleted_at == 0) under the access rule, as hs_store_model_set_deleted:
 * its results, input and labels stay. */
static inline hs_status hs_store_diagnosis_set_deleted(hs_store *store,
                                                       hs_id id,
                                                       hs_id viewer_id,
                                                       int viewer_is_admin,
                                                       int64_t deleted_at,
                                                       hs_error *err)
{
    hs_status hs = hs_store__trash_ok(store, deleted_at, err);
    if (hs != HS_OK)
        return hs;
    return store->ops->diagnoses->set_deleted(
        store->impl, id, viewer_id, viewer_is_admin != 0, deleted_at, err);
}

/* Deletes, atomically, every diagnosis trashed before the cutoff as
 * hs_store_diagnosis_delete does (labels gone, job results cleared) and
 * returns every blob key they held - results, and inputs when kept - in
 * *keys (free()) and *n, for the caller to delete afterwards. A backend
 * older than version 5: none. */
static inline hs_status
hs_store_diagnosis_purge(hs_store *store, int64_t deleted_before,
                         char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                         hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "diagnosis_purge: no store");
    return hs_store__purge(
        store, store->ops->version >= 5 ? store->ops->diagnoses->purge : NULL,
        deleted_before, keys, n, err);
}

/* Deletes diagnosis `id` under the access rule, with its labels, and
 * hands back its (results) blob key for the caller to delete afterwards;
 * its input_blob_key never changes, so the caller reads it beforehand. A
 * job whose result it was keeps result_kind "diagnosis" with result_id 0. */
static inline hs_status hs_store_diagnosis_delete(hs_store *store, hs_id id,
                                                  hs_id viewer_id,
                                                  int viewer_is_admin,
                                                  char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                                  hs_error *err)
{
    if (!store || !blob_key_out)
        return hs_store__bad(err, "diagnosis_delete: missing argument");
    blob_key_out[0] = '\0';
    return store->ops->diagnoses->remove(
        store->impl, id, viewer_id, viewer_is_admin != 0, blob_key_out, err);
}

/* A version 2 backend keeps no labels: its wrappers refuse cleanly. */
static inline hs_status hs_store__has_labels(hs_store *store, hs_error *err)
{
    if (store->ops->version < 3)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) keeps no "
                       "labels",
                       store->ops->name, store->ops->version);
    return HS_OK;
}

/* Labels rows of diagnosis diagnosis_id under the access rule, as one
 * outcome: each of items[0..n) (n >= 1) sets the label of its row (label
 * 1..255 bytes, by user_id at labelled_at; again replaces it) or, with
 * label "", clears it (not an error when it had none); a row given twice
 * ends with the last. Then *total_out (may be NULL) is the number of rows
 * labelled. Nothing is changed when: the diagnosis is absent or not the
 * viewer's (HS_ERR_NOTFOUND "diagnosis N does not exist"), a row is not
 * below its rows (HS_ERR_INVALID "row R is out of range: diagnosis N has
 * M rows", rows counted from 0 here), a user is absent (HS_ERR_NOTFOUND),
 * or - max_labels > 0 - the diagnosis would end with more labelled rows
 * than max_labels (HS_ERR_INVALID "diagnosis N would have T labelled
 * rows; at most M"). */
static inline hs_status hs_store_diagnosis_labels_put(
    hs_store *store, hs_id diagnosis_id, hs_id viewer_id, int viewer_is_admin,
    const hs_diagnosis_label *items, size_t n, int64_t max_labels,
    int64_t *total_out, hs_error *err)
{
    int64_t dummy;
    hs_status hs;
    if (!total_out)
        total_out = &dummy;
    *total_out = 0;
    if (!store || !items || n == 0 || max_labels < 0)
        return hs_store__bad(err, "diagnosis_labels_put: missing argument");
    if ((hs = hs_store__has_labels(store, err)) != HS_OK)
        return hs;
    for (size_t i = 0; i < n; i++) {
        const hs_diagnosis_label *l = &items[i];
        if (l->row < 0 || !memchr(l->label, '\0', sizeof l->label) ||
            (l->label[0] && l->user_id <= 0))
            return hs_store__bad(err, "label: a row >= 0, a label of 0..255 "
                                      "bytes, set by a user");
    }
    return store->ops->diagnoses->labels_put(store->impl, diagnosis_id,
                                             viewer_id, viewer_is_admin != 0,
                                             items, n, max_labels, total_out,
                                             err);
}

/* The labels of diagnosis diagnosis_id under the access rule, by row
 * (free() the list), each with its labeller's username ("" once that user
 * is gone, with user_id 0); none is an empty list. HS_ERR_NOTFOUND
 * "diagnosis N does not exist" for one absent or not the viewer's. */
static inline hs_status hs_store_diagnosis_labels_list(
    hs_store *store, hs_id diagnosis_id, hs_id viewer_id, int viewer_is_admin,
    hs_diagnosis_label **items, size_t *n, hs_error *err)
{
    hs_status hs;
    if (!store || !items || !n)
        return hs_store__bad(err, "diagnosis_labels_list: missing argument");
    *items = NULL;
    *n = 0;
    if ((hs = hs_store__has_labels(store, err)) != HS_OK)
        return hs;
    return store->ops->diagnoses->labels_list(store->impl, diagnosis_id,
                                              viewer_id, viewer_is_admin != 0,
                                              items, n, err);
}

/* ---- topologies and analyses (version 6) --------------------------------
 *
 * The access rule and the trash of datasets: a record is its owner's and
 * the admins'; to anyone else it does not exist (HS_ERR_NOTFOUND). A
 * backend older than version 6 has neither: every wrapper below refuses
 * with HS_ERR_INVALID naming the backend, and its purges purge nothing. */

static inline hs_status hs_store__has_rca(hs_store *store, hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "no store");
    if (store->ops->version < 6)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) keeps no "
                       "topologies or analyses",
                       store->ops->name, store->ops->version);
    return HS_OK;
}

/* The start of every topology and analysis operation: a version 6
 * backend, and the arguments present (`args_ok`; `op` names the operation
 * in the refusal). */
static inline hs_status hs_store__rca_ok(hs_store *store, int args_ok,
                                         const char *op, hs_error *err)
{
    hs_status hs = hs_store__has_rca(store, err);
    if (hs == HS_OK && !args_ok)
        hs = hs_fail(err, HS_ERR_INVALID, "store: %s: missing argument", op);
    return hs;
}

/* A list's outputs emptied, then hs_store__rca_ok. */
static inline hs_status hs_store__rca_list_ok(hs_store *store, void *items,
                                              size_t *n, const char *op,
                                              hs_error *err)
{
    if (items)
        *(void **)items = NULL;
    if (n)
        *n = 0;
    return hs_store__rca_ok(store, items && n, op, err);
}

/* The set_deleted of topologies or analyses: `fn`, their table's (NULL
 * for an older backend, refused), as hs_store_dataset_set_deleted. */
typedef hs_status (*hs_store__set_deleted_fn)(void *impl, hs_id id,
                                              hs_id viewer_id,
                                              int viewer_is_admin,
                                              int64_t deleted_at,
                                              hs_error *err);
static inline hs_status hs_store__rca_set_deleted(hs_store *store,
                                                  hs_store__set_deleted_fn fn,
                                                  hs_id id, hs_id viewer_id,
                                                  int viewer_is_admin,
                                                  int64_t deleted_at,
                                                  hs_error *err)
{
    hs_status hs = hs_store__rca_ok(store, deleted_at >= 0,
                                    "set_deleted (deleted_at >= 0)", err);
    return hs != HS_OK ? hs
                       : fn(store->impl, id, viewer_id, viewer_is_admin != 0,
                            deleted_at, err);
}

/* Inserts a topology from all of t's fields but id (set by the store) and
 * deleted_at (cleared: a new topology is live). name 1..255 bytes, format
 * "json" or "csv", blob_key 1..65 bytes, kinds_json a JSON object text
 * (copied), nodes >= 1, 0 <= bidirectional_edges <= edges, size_bytes
 * >= 0. HS_ERR_NOTFOUND for a missing owner, HS_ERR_CONFLICT for a used
 * blob key. */
static inline hs_status hs_store_topology_create(hs_store *store,
                                                 hs_topology_rec *t,
                                                 hs_error *err)
{
    hs_status hs = hs_store__rca_ok(store, t && t->kinds_json,
                                    "topology_create", err);
    if (hs != HS_OK)
        return hs;
    if (t->kinds_json[0] != '{' || !hs_store__str_fits(t->name, sizeof t->name) ||
        !hs_store__str_fits(t->blob_key, sizeof t->blob_key) ||
        (strcmp(t->format, "json") && strcmp(t->format, "csv")))
        return hs_store__bad(err, "topology: a name of 1..255 bytes, a blob "
                                  "key, format json or csv, kinds an object");
    if (t->nodes < 1 || t->edges < 0 || t->bidirectional_edges < 0 ||
        t->bidirectional_edges > t->edges || t->size_bytes < 0)
        return hs_store__bad(err, "topology: nodes >= 1, 0 <= bidirectional "
                                  "edges <= edges, size >= 0");
    t->id = 0;
    t->deleted_at = 0;
    return store->ops->topologies->create(store->impl, t, err);
}

/* Reads topology `id`, live or in the trash, under the access rule
 * (release with hs_topology_rec_free; safe on error). */
static inline hs_status hs_store_topology_get(hs_store *store, hs_id id,
                                              hs_id viewer_id,
                                              int viewer_is_admin,
                                              hs_topology_rec *out,
                                              hs_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    hs_status hs = hs_store__rca_ok(store, out != NULL, "topology_get", err);
    return hs != HS_OK ? hs
                       : store->ops->topologies->get(store->impl, id, viewer_id,
                                                     viewer_is_admin != 0, out,
                                                     err);
}

/* The topologies viewer_id may see, newest first (created_at, then id);
 * trashed ones only when include_deleted (release with
 * hs_topology_list_free). */
static inline hs_status hs_store_topology_list(hs_store *store, hs_id viewer_id,
                                               int viewer_is_admin,
                                               int include_deleted,
                                               hs_topology_rec **items,
                                               size_t *n, hs_error *err)
{
    hs_status hs = hs_store__rca_list_ok(store, items, n, "topology_list", err);
    return hs != HS_OK ? hs
                       : store->ops->topologies->list(
                             store->impl, viewer_id, viewer_is_admin != 0,
                             include_deleted != 0, items, n, err);
}

/* Moves topology `id` to the trash (deleted_at > 0) or back (0) under the
 * access rule, as hs_store_dataset_set_deleted. */
static inline hs_status hs_store_topology_set_deleted(hs_store *store,
                                                      hs_id id, hs_id viewer_id,
                                                      int viewer_is_admin,
                                                      int64_t deleted_at,
                                                      hs_error *err)
{
    return hs_store__rca_set_deleted(
        store,
        store && store->ops->version >= 6 ? store->ops->topologies->set_deleted
                                          : NULL,
        id, viewer_id, viewer_is_admin, deleted_at, err);
}

/* Deletes, atomically, every topology trashed before the cutoff and hands
 * back their blob keys, as hs_store_dataset_purge; the analyses and jobs
 * that name one keep topology_id 0. */
static inline hs_status
hs_store_topology_purge(hs_store *store, int64_t deleted_before,
                        char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                        hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "topology_purge: no store");
    return hs_store__purge(
        store, store->ops->version >= 6 ? store->ops->topologies->purge : NULL,
        deleted_before, keys, n, err);
}

/* 1 when an analysis's three blob keys fit and differ. */
static inline int hs_store__analysis_keys_ok(const hs_analysis_rec *a)
{
    return hs_store__str_fits(a->csv_blob_key, sizeof a->csv_blob_key) &&
           hs_store__str_fits(a->json_blob_key, sizeof a->json_blob_key) &&
           hs_store__str_fits(a->incidents_blob_key,
                              sizeof a->incidents_blob_key) &&
           strcmp(a->csv_blob_key, a->json_blob_key) &&
           strcmp(a->csv_blob_key, a->incidents_blob_key) &&
           strcmp(a->json_blob_key, a->incidents_blob_key);
}

/* Inserts an analysis from all of a's fields but id (set by the store),
 * deleted_at (cleared), model_deleted_at and model_class_names_json (read
 * only: its model's, as they are when read). name 1..255
 * bytes, normal 1..255, the three blob keys 1..65 bytes each and
 * distinct, summary_json non-empty, top >= 1 (its upper bound is the
 * engine's HL_RCA_MAX_TOP, which the domain checks: the store does not
 * know the engine), incidents and topology_nodes >= 0; owner, job, model, topology and dataset existing
 * (or 0 for none): HS_ERR_NOTFOUND otherwise. HS_ERR_CONFLICT for a used
 * blob key. */
static inline hs_status hs_store_analysis_create(hs_store *store,
                                                 hs_analysis_rec *a,
                                                 hs_error *err)
{
    hs_status hs = hs_store__rca_ok(store, a && a->summary_json,
                                    "analysis_create", err);
    if (hs != HS_OK)
        return hs;
    if (!a->summary_json[0] || !hs_store__str_fits(a->name, sizeof a->name) ||
        !hs_store__str_fits(a->normal, sizeof a->normal) ||
        !hs_store__analysis_keys_ok(a))
        return hs_store__bad(err, "analysis: a name and normal class of "
                                  "1..255 bytes, three distinct blob keys, "
                                  "a summary");
    if (a->top < 1 || a->incidents < 0 ||
        a->topology_nodes < 0 || a->job_id < 0 || a->model_id < 0 ||
        a->topology_id < 0 || a->dataset_id < 0)
        return hs_store__bad(err, "analysis: top >= 1, counts and ids "
                                  ">= 0");
    a->id = 0;
    a->deleted_at = 0;
    a->model_deleted_at = 0; /* read only, as model_class_names_json */
    return store->ops->analyses->create(store->impl, a, err);
}

/* Reads analysis `id`, live or in the trash, under the access rule, with
 * its model's deleted_at and class names as they are now (release with
 * hs_analysis_rec_free; safe on error). Lists read them too. */
static inline hs_status hs_store_analysis_get(hs_store *store, hs_id id,
                                              hs_id viewer_id,
                                              int viewer_is_admin,
                                              hs_analysis_rec *out,
                                              hs_error *err)
{
    if (out)
        memset(out, 0, sizeof *out);
    hs_status hs = hs_store__rca_ok(store, out != NULL, "analysis_get", err);
    return hs != HS_OK ? hs
                       : store->ops->analyses->get(store->impl, id, viewer_id,
                                                   viewer_is_admin != 0, out,
                                                   err);
}

/* The analyses viewer_id may see, newest first; trashed ones only when
 * include_deleted (release with hs_analysis_list_free). */
static inline hs_status hs_store_analysis_list(hs_store *store, hs_id viewer_id,
                                               int viewer_is_admin,
                                               int include_deleted,
                                               hs_analysis_rec **items,
                                               size_t *n, hs_error *err)
{
    hs_status hs = hs_store__rca_list_ok(store, items, n, "analysis_list", err);
    return hs != HS_OK ? hs
                       : store->ops->analyses->list(
                             store->impl, viewer_id, viewer_is_admin != 0,
                             include_deleted != 0, items, n, err);
}

/* Moves analysis `id` to the trash (deleted_at > 0) or back (0) under the
 * access rule, as hs_store_dataset_set_deleted. */
static inline hs_status hs_store_analysis_set_deleted(hs_store *store,
                                                      hs_id id, hs_id viewer_id,
                                                      int viewer_is_admin,
                                                      int64_t deleted_at,
                                                      hs_error *err)
{
    return hs_store__rca_set_deleted(
        store,
        store && store->ops->version >= 6 ? store->ops->analyses->set_deleted
                                          : NULL,
        id, viewer_id, viewer_is_admin, deleted_at, err);
}

/* Deletes, atomically, every analysis trashed before the cutoff and hands
 * back its three blob keys each; the jobs whose result one was keep
 * result_kind "analysis" with result_id 0. */
static inline hs_status
hs_store_analysis_purge(hs_store *store, int64_t deleted_before,
                        char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                        hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "analysis_purge: no store");
    return hs_store__purge(
        store, store->ops->version >= 6 ? store->ops->analyses->purge : NULL,
        deleted_before, keys, n, err);
}

/* Deletes analysis `id` now under the access rule (a result made by a
 * run that lost its lease) and hands back its three blob keys (*keys,
 * free()) for the caller to delete; jobs whose result it was keep
 * result_kind "analysis" with result_id 0. */
static inline hs_status hs_store_analysis_delete(hs_store *store, hs_id id,
                                                 hs_id viewer_id,
                                                 int viewer_is_admin,
                                                 char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                                 size_t *n, hs_error *err)
{
    hs_status hs = hs_store__rca_list_ok(store, keys, n, "analysis_delete",
                                         err);
    return hs != HS_OK ? hs
                       : store->ops->analyses->remove(store->impl, id,
                                                      viewer_id,
                                                      viewer_is_admin != 0,
                                                      keys, n, err);
}

/* ---- logins: back-off and unlock links (version 8) ----------------------
 *
 * The state that makes failed logins cost time and lets a locked user back
 * in (the rules are the accounts service's, auth.h's numbers). A backend
 * older than version 8 keeps none of it: every wrapper below refuses with
 * HS_ERR_INVALID naming the backend. */

static inline hs_status hs_store__logins_ok(hs_store *store, int args_ok,
                                            const char *op, hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "no store");
    if (store->ops->version < 8)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) keeps no "
                       "login back-off or unlock links",
                       store->ops->name, store->ops->version);
    if (!args_ok)
        return hs_fail(err, HS_ERR_INVALID, "store: %s: bad argument", op);
    return HS_OK;
}

/* The failures counted under `key` (1..95 bytes) into *out;
 * HS_ERR_NOTFOUND when none are (never counted, cleared or purged). */
static inline hs_status hs_store_backoff_get(hs_store *store, const char *key,
                                             hs_backoff_rec *out, hs_error *err)
{
    hs_status hs = hs_store__logins_ok(
        store, out && hs_store__str_fits(key, HS_BACKOFF_KEY_MAX),
        "backoff_get", err);
    return hs != HS_OK ? hs
                       : store->ops->logins->backoff_get(store->impl, key, out,
                                                         err);
}

/* Counts one failure under `key` at `now`, atomically (two at once count
 * two): failures becomes 1 when the key has none or its last failure is
 * forget_after (> 0) seconds or more before now, else failures + 1;
 * last_failure_at becomes the later of the two. *out (may be NULL)
 * receives the record as it is now. */
static inline hs_status hs_store_backoff_fail(hs_store *store, const char *key,
                                              int64_t now, int64_t forget_after,
                                              hs_backoff_rec *out,
                                              hs_error *err)
{
    hs_backoff_rec dummy;
    hs_status hs = hs_store__logins_ok(
        store, hs_store__str_fits(key, HS_BACKOFF_KEY_MAX) && forget_after > 0,
        "backoff_fail (a key, forget_after > 0)", err);
    return hs != HS_OK ? hs
                       : store->ops->logins->backoff_fail(
                             store->impl, key, now, forget_after,
                             out ? out : &dummy, err);
}

/* Forgets the failures counted under `key` (not an error when none). */
static inline hs_status hs_store_backoff_clear(hs_store *store, const char *key,
                                               hs_error *err)
{
    hs_status hs = hs_store__logins_ok(
        store, hs_store__str_fits(key, HS_BACKOFF_KEY_MAX), "backoff_clear",
        err);
    return hs != HS_OK ? hs
                       : store->ops->logins->backoff_clear(store->impl, key,
                                                           err);
}

/* Forgets every key whose last failure is before `before`; *removed (may
 * be NULL) gets how many. */
static inline hs_status hs_store_backoff_purge(hs_store *store, int64_t before,
                                               int64_t *removed, hs_error *err)
{
    int64_t dummy;
    hs_status hs = hs_store__logins_ok(store, 1, "backoff_purge", err);
    if (!removed)
        removed = &dummy;
    *removed = 0;
    return hs != HS_OK ? hs
                       : store->ops->logins->backoff_purge(store->impl, before,
                                                           removed, err);
}

/* Stores a new unlock link for t->user_id from t's token_hash (1..64
 * bytes), created_at and expires_at (> created_at); used_at and
 * revoked_at are cleared and the store sets t->id. In the same operation
 * every other usable token of the user is revoked at created_at: only the
 * newest link works. HS_ERR_NOTFOUND for a missing user, HS_ERR_CONFLICT
 * for a used token hash. */
static inline hs_status hs_store_unlock_create(hs_store *store,
                                               hs_unlock_token *t,
                                               hs_error *err)
{
    hs_status hs = hs_store__logins_ok(
        store,
        t && hs_store__str_fits(t->token_hash, sizeof t->token_hash) &&
            t->expires_at > t->created_at,
        "unlock_create (a token hash, expires_at > created_at)", err);
    if (hs != HS_OK)
        return hs;
    t->id = 0;
    t->used_at = t->revoked_at = 0;
    return store->ops->logins->unlock_create(store->impl, t, err);
}

/* The unlock token with this hash, usable or not, into *out;
 * HS_ERR_NOTFOUND when there is none (also for a malformed hash). */
static inline hs_status hs_store_unlock_get(hs_store *store,
                                            const char *token_hash,
                                            hs_unlock_token *out, hs_error *err)
{
    hs_status hs = hs_store__logins_ok(store, out && token_hash, "unlock_get",
                                       err);
    if (hs != HS_OK)
        return hs;
    if (!hs_store__str_fits(token_hash, HS_STORE_TOKEN_HASH_MAX))
        return hs_fail(err, HS_ERR_NOTFOUND, "no such unlock token");
    return store->ops->logins->unlock_get(store->impl, token_hash, out, err);
}

/* Marks token `id` used at `now`, but only while it is usable (not used,
 * not revoked, now < expires_at): a compare-and-set, so a link works once
 * even when opened twice at the same moment. HS_ERR_NOTFOUND otherwise. */
static inline hs_status hs_store_unlock_use(hs_store *store, hs_id id,
                                            int64_t now, hs_error *err)
{
    hs_status hs = hs_store__logins_ok(store, 1, "unlock_use", err);
    return hs != HS_OK ? hs
                       : store->ops->logins->unlock_use(store->impl, id, now,
                                                        err);
}

/* Revokes at `now` every usable token of user_id (the account was
 * unlocked another way); *revoked (may be NULL) gets how many. */
static inline hs_status hs_store_unlock_revoke(hs_store *store, hs_id user_id,
                                               int64_t now, int64_t *revoked,
                                               hs_error *err)
{
    int64_t dummy;
    hs_status hs = hs_store__logins_ok(store, 1, "unlock_revoke", err);
    if (!revoked)
        revoked = &dummy;
    *revoked = 0;
    return hs != HS_OK ? hs
                       : store->ops->logins->unlock_revoke(store->impl, user_id,
                                                           now, revoked, err);
}

/* Deletes every token that expired before `before`; *removed (may be
 * NULL) gets how many. */
static inline hs_status hs_store_unlock_purge(hs_store *store, int64_t before,
                                              int64_t *removed, hs_error *err)
{
    int64_t dummy;
    hs_status hs = hs_store__logins_ok(store, 1, "unlock_purge", err);
    if (!removed)
        removed = &dummy;
    *removed = 0;
    return hs != HS_OK ? hs
                       : store->ops->logins->unlock_purge(store->impl, before,
                                                          removed, err);
}

/* Deletes every session of user_id but keep_id (a password changed from
 * that session); *removed (may be NULL) gets how many. */
static inline hs_status hs_store_session_end_others(hs_store *store,
                                                    hs_id user_id,
                                                    hs_id keep_id,
                                                    int64_t *removed,
                                                    hs_error *err)
{
    int64_t dummy;
    hs_status hs = hs_store__logins_ok(store, 1, "sessions_end_others", err);
    if (!removed)
        removed = &dummy;
    *removed = 0;
    return hs != HS_OK ? hs
                       : store->ops->logins->sessions_end_others(
                             store->impl, user_id, keep_id, removed, err);
}

/* ---- the outbox of alerts (version 9) -----------------------------------
 *
 * Messages on their way out (domain/alerts.c): one row per mail to one
 * address, one per webhook POST, each delivered and retried on its own.
 * Durable, so what was queued before a restart still leaves after it; a
 * claim moves a row's next attempt past a hold, so two senders (threads
 * or processes sharing the store) never deliver one message twice while
 * both live, and a sender that died mid-delivery only delays it. */

/* The largest number of rows one claim returns. */
#define HS_STORE_OUTBOX_CLAIM_MAX 1000

/* A backend older than version 9 keeps no outbox: its wrappers refuse. */
static inline hs_status hs_store__outbox_ok(hs_store *store, const char *what,
                                            hs_error *err)
{
    if (!store)
        return hs_fail(err, HS_ERR_INVALID, "store: %s: no store", what);
    if (store->ops->version < 9)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) keeps no "
                       "outbox of alerts",
                       store->ops->name, store->ops->version);
    return HS_OK;
}

/* Queues a message from m's channel (HS_OUTBOX_MAIL or HS_OUTBOX_WEBHOOK),
 * kind (1..31 bytes), recipient (a mail's address, 1..254 bytes; "" for a
 * webhook), user_id (0 = none), subject (1..200 bytes, one line: no CR or
 * LF), body (1..8800 bytes), created_at and next_attempt_at (>= 0, set by
 * the caller); it starts pending with no attempt. On success the store
 * sets m->id, m->state, m->attempts, m->sent_at and m->last_error.
 * HS_ERR_NOTFOUND when user_id names no user. */
static inline hs_status hs_store_outbox_add(hs_store *store, hs_outbox_msg *m,
                                            hs_error *err)
{
    hs_status hs = hs_store__outbox_ok(store, "outbox_add", err);
    int mail;
    if (hs != HS_OK)
        return hs;
    if (!m)
        return hs_store__bad(err, "outbox_add: missing argument");
    mail = !strcmp(m->channel, HS_OUTBOX_MAIL);
    if (!mail && strcmp(m->channel, HS_OUTBOX_WEBHOOK) != 0)
        return hs_store__bad(err, "outbox channel must be mail or webhook");
    if (!hs_store__str_fits(m->kind, sizeof m->kind))
        return hs_store__bad(err, "outbox kind must be 1..31 bytes");
    if (mail ? !hs_store__str_fits(m->recipient, sizeof m->recipient)
             : m->recipient[0] != '\0')
        return hs_store__bad(err, "an outbox mail needs its address "
                                  "(1..254 bytes), a webhook none");
    if (!hs_store__str_fits(m->subject, sizeof m->subject) ||
        strpbrk(m->subject, "\r\n"))
        return hs_store__bad(err, "outbox subject must be one line of "
                                  "1..200 bytes");
    if (!hs_store__str_fits(m->body, sizeof m->body))
        return hs_store__bad(err, "outbox body must be 1..8800 bytes");
    if (m->user_id < 0 || m->created_at < 0 || m->next_attempt_at < 0)
        return hs_store__bad(err, "outbox ids and times must be >= 0");
    m->id = 0;
    snprintf(m->state, sizeof m->state, "%s", HS_OUTBOX_PENDING);
    m->attempts = 0;
    m->sent_at = 0;
    m->last_error[0] = '\0';
    return store->ops->outbox->add(store->impl, m, err);
}

/* Claims up to `limit` (1..HS_STORE_OUTBOX_CLAIM_MAX) pending messages
 * whose next attempt is due (next_attempt_at <= now) - the earliest due
 * ones when more are - and moves each one's next_attempt_at to now +
 * hold_seconds (1..HS_STORE_LEASE_MAX) in the same operation, so no other
 * claim returns it before then: the caller reports each with
 * hs_store_outbox_sent or _failed. *items (malloc'ed, caller frees; the
 * rows as claimed, by id) and *n; none due is HS_OK with *n = 0. */
static inline hs_status hs_store_outbox_claim(hs_store *store, int64_t now,
                                              int64_t hold_seconds,
                                              size_t limit,
                                              hs_outbox_msg **items, size_t *n,
                                              hs_error *err)
{
    hs_status hs = hs_store__outbox_ok(store, "outbox_claim", err);
    if (hs != HS_OK)
        return hs;
    if (!items || !n)
        return hs_store__bad(err, "outbox_claim: missing argument");
    *items = NULL;
    *n = 0;
    if (now < 0 || hold_seconds < 1 || hold_seconds > HS_STORE_LEASE_MAX ||
        limit < 1 || limit > HS_STORE_OUTBOX_CLAIM_MAX)
        return hs_store__bad(err, "outbox_claim: now >= 0, hold 1..86400 s, "
                                  "limit 1..1000");
    return store->ops->outbox->claim(store->impl, now, hold_seconds, limit,
                                     items, n, err);
}

/* The earliest next_attempt_at of the pending messages into *at (how
 * long a sender may sleep). HS_ERR_NOTFOUND (and *at = 0) when none is
 * pending. */
static inline hs_status hs_store_outbox_next_due(hs_store *store, int64_t *at,
                                                 hs_error *err)
{
    hs_status hs = hs_store__outbox_ok(store, "outbox_next_due", err);
    if (hs != HS_OK)
        return hs;
    if (!at)
        return hs_store__bad(err, "outbox_next_due: missing argument");
    *at = 0;
    return store->ops->outbox->next_due(store->impl, at, err);
}

/* Records that pending message `id` was delivered at `at`: state sent,
 * one more attempt, sent_at = at, last_error kept, the body wiped ("": a
 * mail's body may carry a secret, an unlock link, which must not outlive
 * its delivery in the store). HS_ERR_NOTFOUND when no pending message
 * has that id (already sent or given up). */
static inline hs_status hs_store_outbox_sent(hs_store *store, hs_id id,
                                             int64_t at, hs_error *err)
{
    hs_status hs = hs_store__outbox_ok(store, "outbox_sent", err);
    if (hs != HS_OK)
        return hs;
    if (at < 0)
        return hs_store__bad(err, "outbox_sent: at must be >= 0");
    return store->ops->outbox->sent(store->impl, id, at, err);
}

/* Records a failed attempt of pending message `id`: one more attempt,
 * last_error = error (1..511 bytes), and either the next attempt at
 * retry_at (>= 0) or, when give_up, state failed (retry_at ignored) and
 * the body wiped as for a sent message.
 * HS_ERR_NOTFOUND when no pending message has that id. */
static inline hs_status hs_store_outbox_failed(hs_store *store, hs_id id,
                                               const char *error,
                                               int64_t retry_at, int give_up,
                                               hs_error *err)
{
    hs_status hs = hs_store__outbox_ok(store, "outbox_failed", err);
    if (hs != HS_OK)
        return hs;
    if (!hs_store__str_fits(error, HS_MESSAGE_MAX))
        return hs_store__bad(err, "outbox error must be 1..511 bytes");
    if (retry_at < 0)
        return hs_store__bad(err, "outbox_failed: retry_at must be >= 0");
    return store->ops->outbox->failed(store->impl, id, error, retry_at,
                                      give_up != 0, err);
}

/* Reads message `id` into *out. HS_ERR_NOTFOUND when there is none. */
static inline hs_status hs_store_outbox_get(hs_store *store, hs_id id,
                                            hs_outbox_msg *out, hs_error *err)
{
    hs_status hs = hs_store__outbox_ok(store, "outbox_get", err);
    if (hs != HS_OK)
        return hs;
    if (!out)
        return hs_store__bad(err, "outbox_get: missing argument");
    return store->ops->outbox->get(store->impl, id, out, err);
}

/* Deletes the messages sent or given up that were queued before `before`
 * (pending ones stay, however old); *removed (may be NULL) counts them. */
static inline hs_status hs_store_outbox_purge(hs_store *store, int64_t before,
                                              int64_t *removed, hs_error *err)
{
    int64_t dummy;
    hs_status hs = hs_store__outbox_ok(store, "outbox_purge", err);
    if (!removed)
        removed = &dummy;
    *removed = 0;
    if (hs != HS_OK)
        return hs;
    return store->ops->outbox->purge(store->impl, before, removed, err);
}

/* ---- ping (version 10) --------------------------------------------------- */

/* Is the store answering now: reachable, readable and able to start a
 * write, within about a second (a backend waits that long for another
 * process's lock, then fails). HS_OK, or the storage error (HS_ERR_IO,
 * HS_ERR_NOMEM) with its message. Writes nothing. An older backend
 * (version < 10) is pinged by counting its users. For health checks. */
static inline hs_status hs_store_ping(hs_store *store, hs_error *err)
{
    int64_t users = 0;
    if (!store)
        return hs_store__bad(err, "ping: no store");
    if (store->ops->version < 10)
        return hs_store_user_count(store, &users, err);
    return store->ops->ping(store->impl, err);
}

/* ---- sealed fields (version 11) ----------------------------------------- */

/* The checks every sealed-field operation shares. */
static inline hs_status hs_store__sealed_ok(hs_store *store,
                                            hs_sealed_field field,
                                            const char *op, hs_error *err)
{
    if (!store)
        return hs_fail(err, HS_ERR_INVALID, "store: %s: no store", op);
    if ((unsigned)field >= HS_SEALED_FIELDS)
        return hs_fail(err, HS_ERR_INVALID, "store: %s: no such field", op);
    if (store->ops->version < 11)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) cannot "
                       "rewrite sealed values",
                       store->ops->name, store->ops->version);
    return HS_OK;
}

/* The ids of the records whose `field` is not NULL, ascending (*ids is
 * malloc'ed, caller frees; NULL when empty). */
static inline hs_status hs_store_sealed_ids(hs_store *store,
                                            hs_sealed_field field, hs_id **ids,
                                            size_t *n, hs_error *err)
{
    hs_status hs;
    if (!ids || !n)
        return hs_store__bad(err, "sealed_ids: missing argument");
    *ids = NULL;
    *n = 0;
    hs = hs_store__sealed_ok(store, field, "sealed_ids", err);
    return hs != HS_OK ? hs
                       : store->ops->sealed->ids(store->impl, field, ids, n,
                                                 err);
}

/* Record id's value of `field` into *text (malloc'ed, caller frees; NULL
 * for a NULL value). HS_ERR_NOTFOUND without record `id`. */
static inline hs_status hs_store_sealed_get(hs_store *store,
                                            hs_sealed_field field, hs_id id,
                                            char **text, hs_error *err)
{
    hs_status hs;
    if (!text)
        return hs_store__bad(err, "sealed_get: missing argument");
    *text = NULL;
    hs = hs_store__sealed_ok(store, field, "sealed_get", err);
    return hs != HS_OK ? hs
                       : store->ops->sealed->get(store->impl, field, id, text,
                                                 err);
}

/* Replaces record id's value of `field` by `text` while it is still
 * `old_text` (both non-NULL); HS_ERR_CONFLICT when it changed meanwhile,
 * HS_ERR_NOTFOUND without record `id`. */
static inline hs_status hs_store_sealed_put(hs_store *store,
                                            hs_sealed_field field, hs_id id,
                                            const char *old_text,
                                            const char *text, hs_error *err)
{
    hs_status hs = hs_store__sealed_ok(store, field, "sealed_put", err);
    if (hs != HS_OK)
        return hs;
    if (!old_text || !text)
        return hs_store__bad(err, "sealed_put: missing text");
    return store->ops->sealed->put(store->impl, field, id, old_text, text,
                                   err);
}

/* ---- the audit log and the refusal tallies (version 12) -----------------
 *
 * A backend older than version 12 keeps neither: every wrapper below
 * refuses with HS_ERR_INVALID naming the backend. */

/* The most rows one audit list or one top list returns. */
#define HS_STORE_LIST_MAX 1000

static inline hs_status hs_store__has_security(hs_store *store, int args_ok,
                                               const char *op, hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "no store");
    if (store->ops->version < 12)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) keeps no "
                       "audit log or refusal tallies",
                       store->ops->name, store->ops->version);
    if (!args_ok)
        return hs_fail(err, HS_ERR_INVALID, "store: %s: missing argument", op);
    return HS_OK;
}

/* 1 when s holds 0..max-1 bytes before its NUL. */
static inline int hs_store__str_fits0(const char *s, size_t max)
{
    return s && memchr(s, '\0', max) != NULL;
}

/* Appends an audit row from all of a's fields but id (set by the store):
 * at >= 0, actor_id >= 0 (0 = the command line), actor_name 1..63 bytes,
 * action and target_kind 1..31, target_id >= 0, target_name 0..255,
 * address 0..63, detail 0..511. Nothing references users: a row outlives
 * its actor and its target. */
static inline hs_status hs_store_audit_add(hs_store *store, hs_audit_rec *a,
                                           hs_error *err)
{
    hs_status hs = hs_store__has_security(store, a != NULL, "audit_add", err);
    if (hs != HS_OK)
        return hs;
    if (a->at < 0 || a->actor_id < 0 || a->target_id < 0 ||
        !hs_store__str_fits(a->actor_name, sizeof a->actor_name) ||
        !hs_store__str_fits(a->action, sizeof a->action) ||
        !hs_store__str_fits(a->target_kind, sizeof a->target_kind) ||
        !hs_store__str_fits0(a->target_name, sizeof a->target_name) ||
        !hs_store__str_fits0(a->address, sizeof a->address) ||
        !hs_store__str_fits0(a->detail, sizeof a->detail))
        return hs_store__bad(err, "audit: times and ids >= 0, an actor name, "
                                  "action and target kind, texts that fit");
    a->id = 0;
    return store->ops->audit->add(store->impl, a, err);
}

/* The audit rows the filter selects (hs_audit_filter), newest first:
 * *items (free()) and *n <= f->limit. limit 1..HS_STORE_LIST_MAX, times
 * and before_id >= 0, texts that fit; else HS_ERR_INVALID. */
static inline hs_status hs_store_audit_list(hs_store *store,
                                            const hs_audit_filter *f,
                                            hs_audit_rec **items, size_t *n,
                                            hs_error *err)
{
    if (items)
        *items = NULL;
    if (n)
        *n = 0;
    hs_status hs = hs_store__has_security(store, f && items && n,
                                          "audit_list", err);
    if (hs != HS_OK)
        return hs;
    if (f->limit < 1 || f->limit > HS_STORE_LIST_MAX || f->since < 0 ||
        f->until < 0 || f->before_id < 0 ||
        !hs_store__str_fits0(f->action, sizeof f->action) ||
        !hs_store__str_fits0(f->actor_name, sizeof f->actor_name))
        return hs_store__bad(err, "audit filter: limit 1..1000, times and "
                                  "ids >= 0");
    return store->ops->audit->list(store->impl, f, items, n, err);
}

/* Adds items[0..n) to the tallies atomically: a row with the same bucket,
 * route, source and kind has its count raised, else one is inserted.
 * Each: bucket >= 0, route 1..95 bytes, source 1..63, kind 1..31, count
 * >= 1. n == 0 does nothing. */
static inline hs_status hs_store_tally_add(hs_store *store,
                                           const hs_tally *items, size_t n,
                                           hs_error *err)
{
    hs_status hs = hs_store__has_security(store, items || n == 0, "tally_add",
                                          err);
    if (hs != HS_OK)
        return hs;
    for (size_t i = 0; i < n; i++) {
        const hs_tally *t = &items[i];
        if (t->bucket < 0 || t->count < 1 ||
            !hs_store__str_fits(t->route, sizeof t->route) ||
            !hs_store__str_fits(t->source, sizeof t->source) ||
            !hs_store__str_fits(t->kind, sizeof t->kind))
            return hs_store__bad(err, "tally: bucket >= 0, count >= 1, a "
                                      "route, a source and a kind");
    }
    return n ? store->ops->tallies->add(store->impl, items, n, err) : HS_OK;
}

/* The start of an aggregation: outputs emptied, a version 12 backend, the
 * arguments present, 0 <= since < until and bucket_seconds >= 1. */
static inline hs_status hs_store__series_ok(hs_store *store, int64_t since,
                                            int64_t until,
                                            int64_t bucket_seconds,
                                            hs_tally **items, size_t *n,
                                            const char *op, hs_error *err)
{
    if (items)
        *items = NULL;
    if (n)
        *n = 0;
    hs_status hs = hs_store__has_security(store, items && n, op, err);
    if (hs == HS_OK && (since < 0 || until <= since || bucket_seconds < 1))
        hs = hs_fail(err, HS_ERR_INVALID,
                     "store: %s: 0 <= since < until, bucket >= 1 s", op);
    return hs;
}

/* An aggregation by time: of the refusal tallies, or of the account
 * events when `events`. */
static inline hs_status hs_store__series(hs_store *store, int events,
                                         int64_t since, int64_t until,
                                         int64_t bucket_seconds,
                                         hs_tally **items, size_t *n,
                                         hs_error *err)
{
    hs_status hs = hs_store__series_ok(store, since, until, bucket_seconds,
                                       items, n,
                                       events ? "event_series" : "tally_series",
                                       err);
    if (hs != HS_OK)
        return hs;
    const hs_store_tally_ops *t = store->ops->tallies;
    return (events ? t->event_series : t->series)(
        store->impl, since, until, bucket_seconds, items, n, err);
}

/* The refused requests of [since, until) per time bucket and kind: rows
 * {bucket (a multiple of bucket_seconds), kind, count} ordered by bucket
 * then kind (route and source empty); buckets with none are absent. */
static inline hs_status hs_store_tally_series(hs_store *store, int64_t since,
                                              int64_t until,
                                              int64_t bucket_seconds,
                                              hs_tally **items, size_t *n,
                                              hs_error *err)
{
    return hs_store__series(store, 0, since, until, bucket_seconds, items, n,
                            err);
}

/* The `limit` (1..HS_STORE_LIST_MAX) routes - or sources, when by_source -
 * with the most refused requests in [since, until): rows {route or source,
 * kind, count}, one per key and kind, the keys by their total descending
 * (then by name), the kinds of a key by name. */
static inline hs_status hs_store_tally_top(hs_store *store, int64_t since,
                                           int64_t until, int by_source,
                                           int64_t limit, hs_tally **items,
                                           size_t *n, hs_error *err)
{
    hs_status hs = hs_store__series_ok(store, since, until, 1, items, n,
                                       "tally_top", err);
    if (hs == HS_OK && (limit < 1 || limit > HS_STORE_LIST_MAX))
        hs = hs_store__bad(err, "tally_top: limit 1..1000");
    return hs != HS_OK ? hs
                       : store->ops->tallies->top(store->impl, since, until,
                                                  by_source != 0, limit, items,
                                                  n, err);
}

/* Deletes every tally whose bucket is before `before` (retention);
 * *removed (may be NULL) gets how many. The audit log is never pruned. */
static inline hs_status hs_store_tally_prune(hs_store *store, int64_t before,
                                             int64_t *removed, hs_error *err)
{
    int64_t dummy;
    if (!removed)
        removed = &dummy;
    *removed = 0;
    hs_status hs = hs_store__has_security(store, before >= 0,
                                          "tally_prune (before >= 0)", err);
    return hs != HS_OK ? hs
                       : store->ops->tallies->prune(store->impl, before,
                                                    removed, err);
}

/* The account events of [since, until) per time bucket and kind (every
 * user's): rows {bucket, kind (the event's, "login_failed", "locked",
 * ...), count} ordered by bucket then kind, as hs_store_tally_series. */
static inline hs_status hs_store_event_series(hs_store *store, int64_t since,
                                              int64_t until,
                                              int64_t bucket_seconds,
                                              hs_tally **items, size_t *n,
                                              hs_error *err)
{
    return hs_store__series(store, 1, since, until, bucket_seconds, items, n,
                            err);
}

/* ---- version 13: fair claims, blob references ------------------------------ */

/* hs_store_job_claim_next, except for which queued job is taken: the
 * workers are shared between the users (owners) with queued jobs. Among
 * the queued jobs of `types`, the one taken is that of the owner with the
 * fewest running jobs; between owners with as many, that of the owner
 * whose latest job started longest ago (never: first); then the oldest
 * (lowest id). So a user's backlog never holds up another user's job for
 * more than the jobs already running: with W workers, a user gets more
 * than ceil(W / 2) of them only while nobody else waits. One user's jobs
 * still run oldest first. Atomic as claim_next: two callers never get the
 * same job, and a running job counts (whatever its lease) until it ends
 * or is taken back. A backend older than version 13 claims with
 * claim_next. */
static inline hs_status
hs_store_job_claim_next_fair(hs_store *store, const char *worker_id,
                             const char *const *types, int64_t now,
                             int64_t lease_seconds, hs_job_rec *out,
                             hs_error *err)
{
    char list[1024];
    const char *types_json = NULL;
    if (store && store->ops->version < 13)
        return hs_store_job_claim_next(store, worker_id, types, now,
                                       lease_seconds, out, err);
    hs_status hs = hs_store__claim_ok(store, worker_id, types, lease_seconds,
                                      out, list, sizeof list, &types_json, err);
    return hs != HS_OK ? hs
                       : store->ops->jobs->claim_next_fair(
                             store->impl, worker_id, types_json, now,
                             lease_seconds, out, err);
}

/* Every blob key a record refers to - live or in the trash, of every
 * resource: datasets, models, jobs' inputs, diagnoses (results and
 * inputs), topologies, analyses (three each) - once each, non-empty,
 * sorted ascending by strcmp (so a caller may bsearch it), in *keys
 * (free()) and *n. What is not in it belongs to no record: the orphan
 * sweep removes such blobs (domain/orphans.h). A column that keeps a blob
 * key, added later, must be added here, or its blobs get swept.
 * HS_ERR_INVALID for a backend older than version 13. */
static inline hs_status
hs_store_blob_refs_list(hs_store *store, char (**keys)[HS_STORE_BLOB_KEY_MAX],
                        size_t *n, hs_error *err)
{
    if (!store || !keys || !n)
        return hs_store__bad(err, "blob_refs_list: missing argument");
    *keys = NULL;
    *n = 0;
    if (store->ops->version < 13)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) cannot "
                       "list the blobs its records refer to",
                       store->ops->name, store->ops->version);
    return store->ops->blob_refs->list(store->impl, keys, n, err);
}

/* Ends dataset `id`'s ingestion: `state` HS_DATASET_READY (its blob is
 * complete, `size_bytes` >= 0 its stored size) or HS_DATASET_FAILED with
 * `error` (1..HS_MESSAGE_MAX-1 bytes: why; NULL or "" for ready; the size
 * is then ignored). Only a dataset still HS_DATASET_INGESTING changes:
 * HS_ERR_CONFLICT otherwise (an ingestion ends once), HS_ERR_NOTFOUND
 * when it does not exist. No access rule: the ingest job's call.
 * HS_ERR_INVALID for a backend older than version 14. */
static inline hs_status hs_store_dataset_finish_ingest(hs_store *store,
                                                       hs_id id,
                                                       const char *state,
                                                       const char *error,
                                                       int64_t size_bytes,
                                                       hs_error *err)
{
    int ready = state && strcmp(state, HS_DATASET_READY) == 0;
    int failed = state && strcmp(state, HS_DATASET_FAILED) == 0;
    if (!store || (!ready && !failed))
        return hs_store__bad(err, "finish_ingest: state must be ready or "
                                  "failed");
    if (failed && !hs_store__str_fits(error, HS_MESSAGE_MAX))
        return hs_store__bad(err, "finish_ingest: a failure needs its "
                                  "reason (1..511 bytes)");
    if (ready && size_bytes < 0)
        return hs_store__bad(err, "finish_ingest: size_bytes must be >= 0");
    if (store->ops->version < 14)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) has no "
                       "dataset ingestion",
                       store->ops->name, store->ops->version);
    return store->ops->datasets->finish_ingest(
        store->impl, id, state, failed ? error : "", ready ? size_bytes : 0,
        err);
}

/* Ends dataset `id`'s ingestion as failed because the engine refused its
 * file: as hs_store_dataset_finish_ingest(HS_DATASET_FAILED, error), and
 * in the same statement the record says its file is gone (file_deleted =
 * 1), so that it is never ingested again (hs_store_dataset_reopen_ingest
 * refuses it). The caller deletes the blob once this returns HS_OK - a
 * crash in between leaves a blob no ingestion reads, never a record that
 * offers a retry of a file that is gone. Errors as finish_ingest's; an
 * older backend (before version 16) ends it failed without the mark. */
static inline hs_status hs_store_dataset_reject_ingest(hs_store *store,
                                                       hs_id id,
                                                       const char *error,
                                                       hs_error *err)
{
    if (!store || !hs_store__str_fits(error, HS_MESSAGE_MAX))
        return hs_store__bad(err, "reject_ingest: a rejection needs its "
                                  "reason (1..511 bytes)");
    if (store->ops->version < 16)
        return hs_store_dataset_finish_ingest(store, id, HS_DATASET_FAILED,
                                              error, 0, err);
    return store->ops->datasets->reject_ingest(store->impl, id, error, err);
}

/* Makes dataset `id` HS_DATASET_INGESTING again (ingest_error cleared)
 * when it is HS_DATASET_FAILED with its file kept (file_deleted 0), live
 * (not in the trash), and viewer_id owns it or viewer_is_admin: a retry
 * of its ingestion in place, whose caller queues the ingest job in the
 * same transaction. One guarded statement, so that of two retries at once
 * exactly one succeeds. HS_ERR_NOTFOUND when the viewer cannot see it;
 * HS_ERR_CONFLICT when it is in another state, its file is gone, or it is
 * in the trash. HS_ERR_INVALID for a backend older than version 16. */
static inline hs_status
hs_store_dataset_reopen_ingest(hs_store *store, hs_id id, hs_id viewer_id,
                               int viewer_is_admin, hs_error *err)
{
    if (!store || id <= 0)
        return hs_store__bad(err, "reopen_ingest: bad argument");
    if (store->ops->version < 16)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) cannot "
                       "ingest a dataset again",
                       store->ops->name, store->ops->version);
    return store->ops->datasets->reopen_ingest(store->impl, id, viewer_id,
                                               viewer_is_admin, err);
}

/* Waits at most timeout_ms (0..60000) for news that a job was queued, by
 * any process sharing the store: *notified = 1 when some came (or may
 * have: a backend that lost its connection to the news says so once it is
 * back), else 0 at the timeout. A backend without notifications (SQLite:
 * one file, no server to tell the others) and any backend older than
 * version 14 return at once with *notified = 0 - the caller polls.
 * HS_ERR_UNAVAILABLE when the database cannot be reached (after the
 * timeout, so a loop does not spin). Call it from one thread per store:
 * waiters take turns. */
static inline hs_status hs_store_job_wait_queued(hs_store *store,
                                                 int64_t timeout_ms,
                                                 int *notified, hs_error *err)
{
    if (!store || !notified || timeout_ms < 0 || timeout_ms > 60000)
        return hs_store__bad(err, "wait_queued: bad argument");
    *notified = 0;
    if (store->ops->version < 14)
        return HS_OK;
    return store->ops->jobs->wait_queued(store->impl, timeout_ms, notified,
                                         err);
}

/* 1 when a job's result of `kind` is a record that names its job
 * (models, diagnoses, analyses: their job_id), which result_of finds. */
static inline int hs_store_result_kind_is_record(const char *kind)
{
    return kind && (strcmp(kind, HS_RESULT_MODEL) == 0 ||
                    strcmp(kind, HS_RESULT_DIAGNOSIS) == 0 ||
                    strcmp(kind, HS_RESULT_ANALYSIS) == 0);
}

/* The id of the newest live record (not in the trash) of `kind` that job
 * job_id (> 0) made - its job_id field - other than except_id (0 = any),
 * whatever the job's state: what an earlier run of the job stored before
 * its end went unrecorded, or, given the job's own result as except_id, a
 * second record of the job to remove. HS_ERR_NOTFOUND "job N made no
 * KIND" when there is none, and always from a backend older than version
 * 15 (which cannot tell); HS_ERR_INVALID for a kind that is not a record
 * (hs_store_result_kind_is_record) or a negative except_id. */
static inline hs_status hs_store_job_result_of(hs_store *store, hs_id job_id,
                                               const char *kind,
                                               hs_id except_id,
                                               hs_id *result_id, hs_error *err)
{
    if (!store || !result_id || job_id <= 0 || except_id < 0)
        return hs_store__bad(err, "job_result_of: bad argument");
    *result_id = 0;
    if (!hs_store_result_kind_is_record(kind))
        return hs_store__bad(err, "job_result_of: a kind of result record");
    if (store->ops->version < 15)
        return hs_fail(err, HS_ERR_NOTFOUND,
                       "store backend '%s' (interface version %u) cannot "
                       "tell what job %lld made",
                       store->ops->name, store->ops->version,
                       (long long)job_id);
    return store->ops->jobs->result_of(store->impl, job_id, kind, except_id,
                                       result_id, err);
}

/* The checks of a setting's key and value (version 14). */
static inline hs_status hs_store__setting_ok(hs_store *store, const char *key,
                                             const char *value, int has_value,
                                             hs_error *err)
{
    if (!store)
        return hs_store__bad(err, "settings: no store");
    if (!hs_store__str_fits(key, HS_SETTING_KEY_MAX))
        return hs_store__bad(err, "a setting's name must be 1..63 bytes");
    if (has_value && (!value || strlen(value) >= HS_SETTING_VALUE_MAX))
        return hs_store__bad(err, "a setting's value must be under 64 KiB");
    if (store->ops->version < 14)
        return hs_fail(err, HS_ERR_INVALID,
                       "store backend '%s' (interface version %u) has no "
                       "shared settings",
                       store->ops->name, store->ops->version);
    return HS_OK;
}

/* Setting `key`'s value in *value (malloc'ed; free()); HS_ERR_NOTFOUND
 * (and *value NULL) when it was never set. */
static inline hs_status hs_store_setting_get(hs_store *store, const char *key,
                                             char **value, hs_error *err)
{
    if (!value)
        return hs_store__bad(err, "setting_get: missing argument");
    *value = NULL;
    hs_status hs = hs_store__setting_ok(store, key, NULL, 0, err);
    return hs != HS_OK ? hs
                       : store->ops->settings->get(store->impl, key, value,
                                                   err);
}

/* Sets `key` to `value` unless it has a value already, atomically, and
 * gives the value it has now in *stored (malloc'ed; free()): `value` when
 * this call set it, else the one set first - so that any number of
 * instances starting at once agree on one (a shared secret made by
 * whichever starts first). */
static inline hs_status hs_store_setting_put_new(hs_store *store,
                                                 const char *key,
                                                 const char *value,
                                                 int64_t now, char **stored,
                                                 hs_error *err)
{
    if (!stored)
        return hs_store__bad(err, "setting_put_new: missing argument");
    *stored = NULL;
    hs_status hs = hs_store__setting_ok(store, key, value, 1, err);
    return hs != HS_OK ? hs
                       : store->ops->settings->put_new(store->impl, key, value,
                                                       now, stored, err);
}

/* Sets `key` to `value`, whatever it was (at `now`, kept as the time of
 * the last change). */
static inline hs_status hs_store_setting_set(hs_store *store, const char *key,
                                             const char *value, int64_t now,
                                             hs_error *err)
{
    hs_status hs = hs_store__setting_ok(store, key, value, 1, err);
    return hs != HS_OK ? hs
                       : store->ops->settings->set(store->impl, key, value,
                                                   now, err);
}

#ifdef __cplusplus
}
#endif
#endif
