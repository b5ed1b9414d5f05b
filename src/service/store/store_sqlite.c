/* store_sqlite.c - the SQLite backend of the record store (store.h).
 *
 * One database file in WAL mode (readers never block the writer), foreign
 * keys on, a 5 s busy timeout for other processes sharing the file. The
 * schema is versioned: `schema_migrations` lists the versions applied, and
 * `migrations[]` below holds the forward-only SQL of each; at open every
 * missing one runs in its own transaction. A database that already has a
 * version newer than this code knows is refused before anything is written.
 *
 * Why one connection and one lock: the store is shared by the service's
 * threads. A single connection (opened SQLITE_OPEN_FULLMUTEX) guarded by
 * our own recursive mutex makes each operation atomic *including* the
 * per-connection state it reads afterwards (sqlite3_changes,
 * sqlite3_last_insert_rowid, sqlite3_errmsg), and lets a transaction belong
 * to one thread: hs_store_transact holds the mutex while its callback
 * runs, so other threads wait instead of silently joining it, and the
 * callback's own operations (the mutex is recursive) run inside it. SQLite
 * allows one writer at a time anyway, so little concurrency is lost; with
 * only one connection in the process, SQLITE_BUSY can only come from
 * another process, and the busy timeout absorbs that.
 *
 * Every statement is prepared with bound parameters; no SQL is ever built
 * from caller text. Statements are prepared per call (simple, and cheap
 * next to the disk I/O of a write); a statement cache can come later. The
 * lock/prepare/bind/step/finalize sequence lives once, in the statement
 * helpers (sq_run, sq_insert, sq_get_one, sq_list), which take their
 * parameters as a letter string plus varargs (sq_vbind), so an operation
 * is mostly its SQL.
 *
 * The job queue is the jobs table: a claim is one UPDATE ... RETURNING of
 * the oldest queued row, so two claimers (threads here, or other processes
 * sharing the file) can never take the same job; every later write of the
 * worker says "AND worker_id = ?" so that it only lands while the lease is
 * still its own.
 *
 * Deliberately absent: connection pooling, deleting users and jobs (later
 * slices), and reading the clock - callers pass every time in (only a
 * migration's applied_at comes from SQLite's own clock).
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store_sqlite.h"

typedef struct sq_store {
    sqlite3 *db;          /* protected by lock */
    pthread_mutex_t lock; /* recursive; held across a transaction */
    int in_txn;           /* protected by lock: a transact callback runs */
} sq_store;

/* ---- schema ------------------------------------------------------------ */

/* migrations[i] brings the schema from version i to version i + 1. Append
 * only: never edit a migration that has shipped. AUTOINCREMENT so an id is
 * never reused after a delete (events and notifications refer to users). */
static const char *const migrations[] = {
    /* 1: accounts */
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  username TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL,"
    "  is_admin INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
    "  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  locked_until INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  remember INTEGER NOT NULL CHECK (remember IN (0, 1)),"
    "  created_at INTEGER NOT NULL,"
    "  last_seen_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE INDEX sessions_expires ON sessions(expires_at);"
    "CREATE TABLE account_events ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  at INTEGER NOT NULL);"
    "CREATE INDEX account_events_user_kind_at"
    "  ON account_events(user_id, kind, at);"
    "CREATE TABLE notifications ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  kind TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
    "  created_at INTEGER NOT NULL,"
    "  read INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)));"
    "CREATE INDEX notifications_created ON notifications(created_at);",

    /* 2: datasets (the bytes are in the blob store, under blob_key) */
    "CREATE TABLE datasets ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  blob_key TEXT NOT NULL UNIQUE,"
    "  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
    "  rows INTEGER NOT NULL DEFAULT 0 CHECK (rows >= 0),"
    "  features INTEGER NOT NULL DEFAULT 0 CHECK (features >= 0),"
    "  profile_json TEXT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX datasets_owner_deleted ON datasets(owner_id, deleted_at);",

    /* 3: models, jobs, diagnoses. References to what can go away (a purged
     * dataset, a deleted model or diagnosis) become NULL, read back as 0;
     * each such column is indexed so the delete finds its referrers
     * without a scan. Jobs are never deleted, so job_id needs no index.
     * A job's state is stored by its API name, readable in the sqlite3
     * shell; metrics that are NAN are stored as NULL. */
    "CREATE TABLE models ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  dataset_id INTEGER NULL REFERENCES datasets(id) ON DELETE SET NULL,"
    "  job_id INTEGER NULL REFERENCES jobs(id) ON DELETE SET NULL,"
    "  name TEXT NOT NULL,"
    "  algo TEXT NOT NULL,"
    "  blob_key TEXT NOT NULL UNIQUE,"
    "  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
    "  n_features INTEGER NOT NULL CHECK (n_features >= 0),"
    "  n_classes INTEGER NOT NULL CHECK (n_classes >= 0),"
    "  macro_f1 REAL NULL,"
    "  accuracy REAL NULL,"
    "  summary_json TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX models_owner_created ON models(owner_id, created_at);"
    "CREATE INDEX models_dataset ON models(dataset_id);"
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('queued', 'running',"
    "    'succeeded', 'failed', 'cancelled')),"
    "  dataset_id INTEGER NULL REFERENCES datasets(id) ON DELETE SET NULL,"
    "  model_id INTEGER NULL REFERENCES models(id) ON DELETE SET NULL,"
    "  diagnosis_id INTEGER NULL"
    "    REFERENCES diagnoses(id) ON DELETE SET NULL,"
    "  input_blob_key TEXT NOT NULL DEFAULT '',"
    "  name TEXT NOT NULL,"
    "  params_json TEXT NOT NULL,"
    "  progress REAL NOT NULL DEFAULT 0"
    "    CHECK (progress >= 0 AND progress <= 1),"
    "  round INTEGER NOT NULL DEFAULT 0 CHECK (round >= 0),"
    "  rounds INTEGER NOT NULL DEFAULT 0 CHECK (rounds >= 0),"
    "  losses_json TEXT NULL,"
    "  attempts_json TEXT NULL,"
    "  error TEXT NOT NULL DEFAULT '',"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0"
    "    CHECK (cancel_requested IN (0, 1)),"
    "  restarts INTEGER NOT NULL DEFAULT 0 CHECK (restarts >= 0),"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL DEFAULT 0,"
    "  finished_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_state ON jobs(state, id);" /* claim, recover, counts */
    "CREATE INDEX jobs_owner_created ON jobs(owner_id, created_at);"
    "CREATE INDEX jobs_dataset ON jobs(dataset_id);"
    "CREATE INDEX jobs_model ON jobs(model_id);"
    "CREATE INDEX jobs_diagnosis ON jobs(diagnosis_id);"
    "CREATE TABLE diagnoses ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  model_id INTEGER NULL REFERENCES models(id) ON DELETE SET NULL,"
    "  job_id INTEGER NULL REFERENCES jobs(id) ON DELETE SET NULL,"
    "  name TEXT NOT NULL,"
    "  blob_key TEXT NOT NULL UNIQUE,"
    "  rows INTEGER NOT NULL CHECK (rows >= 0),"
    "  summary_json TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX diagnoses_owner_created ON diagnoses(owner_id, created_at);"
    "CREATE INDEX diagnoses_model ON diagnoses(model_id);",

    /* 4: per-user preferences of the web UI (language, theme, layout, the
     * last dataset and model): one JSON object per user. */
    "CREATE TABLE user_prefs ("
    "  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
    "  prefs_json TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);",

    /* 5: job leases and one generic result reference.
     * A running job is leased to one worker (worker_id) until
     * lease_expires_at, so several processes can share the queue and
     * recovery takes back only the jobs of a worker that stopped renewing.
     * Rows an older healer left running get lease 0, already expired, so
     * the next recovery takes them back as the old start-up one did.
     * A job's result is (result_kind, result_id) whatever its type, with no
     * foreign key since it may point at any table: the store's deletes
     * clear result_id themselves (in the same operation), as ON DELETE SET
     * NULL did. Existing results move over: a training's model_id was its
     * result (model_id now means the input model, which only a diagnose
     * job has); a diagnose job's diagnosis_id was. A succeeded job whose
     * result was deleted keeps the kind, with result_id NULL.
     * diagnosis_id stays, always NULL and never read: SQLite cannot drop a
     * column that a foreign key uses, and rebuilding the table to lose it
     * is not worth the risk. Its index stays as well, so that deleting a
     * diagnosis (its ON DELETE SET NULL still looks for referrers) never
     * scans the jobs. */
    "ALTER TABLE jobs ADD COLUMN result_kind TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN result_id INTEGER NULL;"
    "ALTER TABLE jobs ADD COLUMN worker_id TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN lease_expires_at INTEGER NOT NULL DEFAULT 0;"
    "UPDATE jobs SET result_kind = 'model', result_id = model_id"
    "  WHERE type = 'train' AND (model_id IS NOT NULL OR state = 'succeeded');"
    "UPDATE jobs SET model_id = NULL WHERE type = 'train';"
    "UPDATE jobs SET result_kind = 'diagnosis', result_id = diagnosis_id"
    "  WHERE diagnosis_id IS NOT NULL"
    "  OR (type = 'diagnose' AND state = 'succeeded');"
    "UPDATE jobs SET diagnosis_id = NULL WHERE diagnosis_id IS NOT NULL;"
    "CREATE INDEX jobs_lease ON jobs(state, lease_expires_at);"  /* recover */
    "CREATE INDEX jobs_result ON jobs(result_kind, result_id);", /* deletes */

    /* 6: a training job's attempts (self-repair), one row each, written as
     * each attempt ends. The attempts a job kept as JSON text (at most
     * two: as asked, then with safer parameters) move over: an attempt
     * without an error succeeded, the last of a cancelled job was
     * cancelled, the others failed; their duration was not kept (NULL).
     * Text that is not a JSON array of objects is left alone, and
     * attempts_json is emptied, so that nothing is shown twice.
     * WITHOUT ROWID: the rows are read and written by (job_id, number). */
    "CREATE TABLE job_attempts ("
    "  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
    "  number INTEGER NOT NULL CHECK (number >= 1),"
    "  step TEXT NOT NULL,"
    "  algo TEXT NOT NULL,"
    "  outcome TEXT NOT NULL,"
    "  reason TEXT NOT NULL DEFAULT '',"
    "  seconds REAL NULL CHECK (seconds IS NULL OR seconds >= 0),"
    "  params_json TEXT NOT NULL,"
    "  PRIMARY KEY (job_id, number)) WITHOUT ROWID;"
    "INSERT INTO job_attempts (job_id, number, step, algo, outcome, reason,"
    "  seconds, params_json)"
    " SELECT j.id, a.key + 1,"
    "  CASE a.key WHEN 0 THEN 'requested' ELSE 'safer_parameters' END,"
    "  COALESCE(json_extract(a.value, '$.params.algo'), 'gbdt'),"
    "  CASE WHEN json_extract(a.value, '$.error') IS NULL THEN 'succeeded'"
    "   WHEN j.state = 'cancelled'"
    "    AND a.key = json_array_length(j.attempts_json) - 1 THEN 'cancelled'"
    "   ELSE 'failed' END,"
    "  COALESCE(json_extract(a.value, '$.error'), ''), NULL,"
    "  COALESCE(json_extract(a.value, '$.params'), '{}')"
    " FROM jobs j, json_each(CASE WHEN json_valid(j.attempts_json)"
    "  AND json_type(j.attempts_json) = 'array' THEN j.attempts_json"
    "  ELSE '[]' END) a"
    " WHERE j.attempts_json IS NOT NULL AND json_type(a.value) = 'object';"
    "UPDATE jobs SET attempts_json = NULL WHERE json_valid(attempts_json)"
    "  AND json_type(attempts_json) = 'array';",

    /* 7: learning from people's labels. A diagnosis keeps its input KPIs
     * (a blob; '' for the diagnoses made before, which cannot be trained
     * on); a person's class for a row of a diagnosis is one row of
     * diagnosis_labels, gone with the diagnosis, keeping the labeller's
     * id while that user exists; a model retrained from another names it
     * (parent_id, NULL once it is deleted) and keeps what it learnt from
     * (feedback_json). WITHOUT ROWID: labels are read and written by
     * (diagnosis_id, row). */
    "ALTER TABLE diagnoses ADD COLUMN input_blob_key TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE models ADD COLUMN parent_id INTEGER NULL"
    "  REFERENCES models(id) ON DELETE SET NULL;"
    "ALTER TABLE models ADD COLUMN feedback_json TEXT NULL;"
    "CREATE INDEX models_parent ON models(parent_id);"
    "CREATE TABLE diagnosis_labels ("
    "  diagnosis_id INTEGER NOT NULL REFERENCES diagnoses(id) ON DELETE "
    "CASCADE,"
    "  row INTEGER NOT NULL CHECK (row >= 0),"
    "  label TEXT NOT NULL CHECK (label <> ''),"
    "  user_id INTEGER NULL REFERENCES users(id) ON DELETE SET NULL,"
    "  labelled_at INTEGER NOT NULL,"
    "  PRIMARY KEY (diagnosis_id, row)) WITHOUT ROWID;"
    "CREATE INDEX diagnosis_labels_user ON diagnosis_labels(user_id);",
    /* 8: the names, descriptions and first actions of a model's classes
     * as people last set them (JSON; NULL: never set, the model has
     * none). */
    "ALTER TABLE models ADD COLUMN class_names_json TEXT NULL;",
    /* 9: undo for every delete. Models and diagnoses go to a trash as
     * datasets do (deleted_at: when, 0 = live); the purge deletes them
     * for good 7 days later (the domain's rule, trash.h). */
    "ALTER TABLE models ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0"
    "  CHECK (deleted_at >= 0);"
    "ALTER TABLE diagnoses ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0"
    "  CHECK (deleted_at >= 0);"
    "CREATE INDEX models_owner_deleted ON models(owner_id, deleted_at);"
    "CREATE INDEX diagnoses_owner_deleted ON diagnoses(owner_id, deleted_at);",
    /* 10: root-cause analysis. A topology is an uploaded file (its blob)
     * and its counts; an analysis is an rca job's result, its three
     * blobs (ranks CSV, whole JSON, incidents one by one: analyses.h)
     * and its summary. Both have the trash of datasets. A job names the
     * topology it analyses (topology_id; NULL once purged, as the
     * analysis's inputs). */
    "CREATE TABLE topologies ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  format TEXT NOT NULL CHECK (format IN ('json', 'csv')),"
    "  blob_key TEXT NOT NULL UNIQUE,"
    "  size_bytes INTEGER NOT NULL CHECK (size_bytes >= 0),"
    "  nodes INTEGER NOT NULL CHECK (nodes >= 1),"
    "  edges INTEGER NOT NULL CHECK (edges >= 0),"
    "  bidirectional_edges INTEGER NOT NULL"
    "    CHECK (bidirectional_edges >= 0 AND bidirectional_edges <= edges),"
    "  kinds_json TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER NOT NULL DEFAULT 0 CHECK (deleted_at >= 0));"
    "CREATE INDEX topologies_owner_deleted ON topologies(owner_id, deleted_at);"
    "CREATE TABLE analyses ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  job_id INTEGER NULL REFERENCES jobs(id) ON DELETE SET NULL,"
    "  model_id INTEGER NULL REFERENCES models(id) ON DELETE SET NULL,"
    "  topology_id INTEGER NULL REFERENCES topologies(id) ON DELETE SET NULL,"
    "  dataset_id INTEGER NULL REFERENCES datasets(id) ON DELETE SET NULL,"
    "  name TEXT NOT NULL,"
    "  normal TEXT NOT NULL,"
    "  top INTEGER NOT NULL CHECK (top >= 1),"
    "  incidents INTEGER NOT NULL CHECK (incidents >= 0),"
    "  topology_nodes INTEGER NOT NULL CHECK (topology_nodes >= 0),"
    "  csv_blob_key TEXT NOT NULL UNIQUE,"
    "  json_blob_key TEXT NOT NULL UNIQUE,"
    "  incidents_blob_key TEXT NOT NULL UNIQUE,"
    "  summary_json TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  deleted_at INTEGER NOT NULL DEFAULT 0 CHECK (deleted_at >= 0));"
    "CREATE INDEX analyses_owner_deleted ON analyses(owner_id, deleted_at);"
    "CREATE INDEX analyses_model ON analyses(model_id);"
    "CREATE INDEX analyses_topology ON analyses(topology_id);"
    "CREATE INDEX analyses_dataset ON analyses(dataset_id);"
    "ALTER TABLE jobs ADD COLUMN topology_id INTEGER NULL"
    "  REFERENCES topologies(id) ON DELETE SET NULL;"
    "CREATE INDEX jobs_topology ON jobs(topology_id);",

    /* 11: users' e-mail addresses (where alerts are mailed). */
    "ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT '';",

    /* 12: failed logins' back-off counters (per account and per client
     * address) and the one-time links that unlock a locked account. */
    "CREATE TABLE login_backoff ("
    "  key TEXT PRIMARY KEY,"
    "  failures INTEGER NOT NULL CHECK (failures >= 1),"
    "  last_failure_at INTEGER NOT NULL);"
    "CREATE INDEX login_backoff_last ON login_backoff(last_failure_at);"
    "CREATE TABLE unlock_tokens ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
    "  token_hash TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER NOT NULL DEFAULT 0,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX unlock_tokens_user ON unlock_tokens(user_id);"
    "CREATE INDEX unlock_tokens_expires ON unlock_tokens(expires_at);",
    /* 13: the outbox of alerts: one row per mail to one address or per
     * webhook POST, delivered and retried on its own (store.h). The
     * sender looks for pending rows by their next attempt. */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  channel TEXT NOT NULL CHECK (channel IN ('mail', 'webhook')),"
    "  kind TEXT NOT NULL,"
    "  recipient TEXT NOT NULL,"
    "  user_id INTEGER NULL REFERENCES users(id) ON DELETE SET NULL,"
    "  subject TEXT NOT NULL,"
    "  body TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  state TEXT NOT NULL DEFAULT 'pending'"
    "    CHECK (state IN ('pending', 'sent', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  next_attempt_at INTEGER NOT NULL,"
    "  sent_at INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX outbox_state_due ON outbox(state, next_attempt_at);",
    /* 14: the audit log of administrative actions and the tallies of
     * refused requests (the security report). The audit log references
     * nothing (a row outlives its actor and target) and is append-only:
     * the triggers refuse any UPDATE or DELETE, whoever asks. Tallies are
     * one row per (bucket, route, source, kind), added to by the HTTP
     * layer's flusher; account_events gains an index by time for the
     * report's failed logins and locks. */
    "CREATE TABLE audit_log ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  at INTEGER NOT NULL CHECK (at >= 0),"
    "  actor_id INTEGER NOT NULL CHECK (actor_id >= 0),"
    "  actor_name TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  target_kind TEXT NOT NULL,"
    "  target_id INTEGER NOT NULL CHECK (target_id >= 0),"
    "  target_name TEXT NOT NULL,"
    "  address TEXT NOT NULL,"
    "  detail TEXT NOT NULL);"
    "CREATE INDEX audit_log_action ON audit_log(action, id);"
    "CREATE INDEX audit_log_actor ON audit_log(actor_name, id);"
    "CREATE INDEX audit_log_at ON audit_log(at);"
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TABLE refusal_tallies ("
    "  bucket INTEGER NOT NULL CHECK (bucket >= 0),"
    "  route TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  count INTEGER NOT NULL CHECK (count >= 1),"
    "  PRIMARY KEY (bucket, route, source, kind)) WITHOUT ROWID;"
    "CREATE INDEX account_events_at ON account_events(at);",
    /* 15: the fair claim (sq_job_claim_next_fair) reads, per owner with
     * queued jobs, how many of theirs run and when their latest started:
     * two index lookups instead of a scan of the owner's whole history. */
    "CREATE INDEX jobs_owner_state ON jobs(owner_id, state);"
    "CREATE INDEX jobs_owner_started ON jobs(owner_id, started_at);",
    /* 16: a dataset's ingestion (store version 14): an upload over the
     * ingest threshold is recorded 'ingesting' and finished by its ingest
     * job ('ready', or 'failed' with ingest_error). Every dataset made
     * before was ingested on upload: 'ready'. The claims skip a job whose
     * dataset is still ingesting (index datasets_state). */
    "ALTER TABLE datasets ADD COLUMN state TEXT NOT NULL DEFAULT 'ready'"
    "  CHECK (state IN ('ingesting', 'ready', 'failed'));"
    "ALTER TABLE datasets ADD COLUMN ingest_error TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX datasets_state ON datasets(state) WHERE state <> 'ready';",
    /* 17: settings every process sharing the store agrees on (the CSRF
     * key, sealed under the data key): one text value per name, with the
     * time of its last change. */
    "CREATE TABLE settings ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL CHECK (updated_at >= 0)) WITHOUT ROWID;",
    /* 18: what a job made (sq_job_result_of, store version 15), asked each
     * time a job starts: an index lookup, not a scan of every result. */
    "CREATE INDEX models_job ON models(job_id);"
    "CREATE INDEX diagnoses_job ON diagnoses(job_id);"
    "CREATE INDEX analyses_job ON analyses(job_id);",
    /* 19: whether a failed ingestion's file is gone (store version 16:
     * reject_ingest sets it; reopen_ingest retries only a kept file).
     * Before, the reason said it: every failure that kept the file says
     * "the uploaded file is kept"; the engine's refusals do not. */
    "ALTER TABLE datasets ADD COLUMN file_deleted INTEGER NOT NULL"
    "  DEFAULT 0 CHECK (file_deleted IN (0, 1));"
    "UPDATE datasets SET file_deleted = 1 WHERE state = 'failed'"
    "  AND ingest_error NOT LIKE '%the uploaded file is kept%';",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

_Static_assert(N_MIGRATIONS == HS_STORE_SQLITE_SCHEMA_VERSION,
               "HS_STORE_SQLITE_SCHEMA_VERSION must match migrations[]");

/* ---- helpers ----------------------------------------------------------- */

/* Maps an SQLite result code to an hs_status and records "what: errmsg".
 * Call with the lock held so errmsg belongs to this operation. A CHECK or
 * NOT NULL violation means a value the schema refuses (a negative size, a
 * progress above 1): the caller's argument, not a clash with a record. */
static hs_status sq_err(sqlite3 *db, int rc, hs_error *err, const char *what)
{
    hs_status code;
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        code = HS_ERR_NOMEM;
        break;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
            code = HS_ERR_NOTFOUND;
        else if (rc == SQLITE_CONSTRAINT_CHECK ||
                 rc == SQLITE_CONSTRAINT_NOTNULL)
            code = HS_ERR_INVALID;
        else
            code = HS_ERR_CONFLICT;
        break;
    case SQLITE_MISUSE:
    case SQLITE_INTERNAL:
    case SQLITE_RANGE:
        code = HS_ERR_INTERNAL;
        break;
    default:
        code = HS_ERR_IO;
        break;
    }
    return hs_fail(err, code, "%s: %s (sqlite %d)", what,
                   db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

/* Takes the lock, then refuses to go on inside a transaction that SQLite
 * has already rolled back on its own (it does after some errors: disk
 * full, I/O, a trigger's RAISE(ROLLBACK)): the callback's next statements
 * would otherwise run outside it, each committed alone. */
static hs_status sq_lock(sq_store *s, hs_error *err)
{
    if (pthread_mutex_lock(&s->lock) != 0)
        return hs_fail(err, HS_ERR_INTERNAL, "store: cannot take its lock");
    if (s->in_txn && sqlite3_get_autocommit(s->db)) {
        pthread_mutex_unlock(&s->lock);
        return hs_fail(err, HS_ERR_IO,
                       "store: the database ended the transaction after an "
                       "earlier error; nothing in it was kept");
    }
    return HS_OK;
}

static void sq_unlock(sq_store *s)
{
    pthread_mutex_unlock(&s->lock);
}

static hs_status sq_prepare(sq_store *s, const char *sql, sqlite3_stmt **st,
                            hs_error *err)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);
    if (rc != SQLITE_OK) {
        *st = NULL;
        return sq_err(s->db, rc, err, "preparing a statement");
    }
    return HS_OK;
}

/* Runs fixed SQL (no caller text ever reaches here). */
static hs_status sq_exec(sqlite3 *db, const char *sql, hs_error *err,
                         const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sq_err(db, rc, err, what);
    return HS_OK;
}

/* Copies text column `col` into buf[size]; a NULL column is "". Returns
 * HS_ERR_INTERNAL when the stored value does not fit (a database written by
 * something else), rather than truncating it. */
static hs_status copy_text(sqlite3_stmt *st, int col, char *buf, size_t size,
                           hs_error *err, const char *field)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    if (!text) {
        if (sqlite3_column_type(st, col) != SQLITE_NULL)
            return hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
        buf[0] = '\0';
        return HS_OK;
    }
    if (len >= size || memchr(text, '\0', len))
        return hs_fail(err, HS_ERR_INTERNAL,
                       "store: stored %s is malformed or too long", field);
    memcpy(buf, text, len);
    buf[len] = '\0';
    return HS_OK;
}

/* Copies text column `col` into a fresh malloc'ed string in *out; a NULL
 * column is NULL. Refuses embedded NULs like copy_text. */
static hs_status dup_text(sqlite3_stmt *st, int col, char **out, hs_error *err,
                          const char *field)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    size_t len = (size_t)sqlite3_column_bytes(st, col);
    *out = NULL;
    if (!text) {
        if (sqlite3_column_type(st, col) != SQLITE_NULL)
            return hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
        return HS_OK;
    }
    if (memchr(text, '\0', len))
        return hs_fail(err, HS_ERR_INTERNAL, "store: stored %s is malformed",
                       field);
    *out = malloc(len + 1);
    if (!*out)
        return hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
    memcpy(*out, text, len);
    (*out)[len] = '\0';
    return HS_OK;
}

/* REAL column `col`, NULL (how a NAN was stored) read back as NAN. */
static double column_real(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL
               ? NAN
               : sqlite3_column_double(st, col);
}

/* Steps a write statement that must finish without a row. */
static hs_status step_done(sq_store *s, sqlite3_stmt *st, hs_error *err,
                           const char *what)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return sq_err(s->db, rc, err, what);
    return HS_OK;
}

/* Runs a write statement whose parameters are already bound and reports
 * how many rows it changed. Lock held by the caller. */
static hs_status step_changes(sq_store *s, sqlite3_stmt *st, int64_t *changed,
                              hs_error *err, const char *what)
{
    hs_status hs = step_done(s, st, err, what);
    *changed = hs == HS_OK ? (int64_t)sqlite3_changes64(s->db) : 0;
    return hs;
}

typedef hs_status (*row_reader)(sqlite3_stmt *st, void *dst, hs_error *err);

/* Frees what a row_reader allocated inside one element (not the element),
 * or clears an output that must not survive an error. */
typedef void (*row_release)(void *row);

/* Steps st expecting exactly zero or one row; reads it into dst. No row is
 * HS_ERR_NOTFOUND with `missing` as the message. */
static hs_status read_one(sq_store *s, sqlite3_stmt *st, row_reader read,
                          void *dst, hs_error *err, const char *missing)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE)
        return hs_fail(err, HS_ERR_NOTFOUND, "%s", missing);
    if (rc != SQLITE_ROW)
        return sq_err(s->db, rc, err, "reading a record");
    return read(st, dst, err);
}

/* Steps st to the end, appending each row (elem_size bytes, via `read`) to
 * a growing malloc'ed array. On error frees it - after `release` (may be
 * NULL) on each element read so far - and leaves *items NULL. A reader
 * that fails must leave nothing allocated in its element. */
static hs_status read_all_owning(sq_store *s, sqlite3_stmt *st, row_reader read,
                                 row_release release, size_t elem_size,
                                 void **items, size_t *n, hs_error *err)
{
    unsigned char *arr = NULL;
    size_t count = 0, cap = 0;
    hs_status hs;
    int rc;

    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (count == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            unsigned char *grown;
            if (ncap > SIZE_MAX / elem_size) {
                hs = hs_fail(err, HS_ERR_NOMEM, "store: list too large");
                goto fail;
            }
            grown = realloc(arr, ncap * elem_size);
            if (!grown) {
                hs = hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
                goto fail;
            }
            arr = grown;
            cap = ncap;
        }
        hs = read(st, arr + count * elem_size, err);
        if (hs != HS_OK)
            goto fail;
        count++;
    }
    if (rc != SQLITE_DONE) {
        hs = sq_err(s->db, rc, err, "listing records");
        goto fail;
    }
    *items = arr;
    *n = count;
    return HS_OK;

fail:
    if (release)
        while (count > 0)
            release(arr + --count * elem_size);
    free(arr);
    return hs;
}

/* ---- statements -------------------------------------------------------- */

/* Binds the arguments after `types` to st's parameters ?1, ?2, ..., one
 * letter per parameter:
 *   'i' int64_t (also hs_id)       'b' int, stored as 0 or 1
 *   'I' hs_id, 0 stored as NULL    'd' double, NAN stored as NULL
 *   't' const char *, never NULL   'T' const char *, NULL stored as NULL
 *   '-' no argument: a parameter number the statement skips (stays NULL)
 * Varargs are not converted, so each argument must have exactly the type
 * of its letter: pass (int64_t)0, never a bare 0, for 'i'. Texts are bound
 * SQLITE_STATIC: they must outlive the statement. There must be one letter
 * per parameter, since a forgotten one would silently be NULL. */
static hs_status sq_vbind(sq_store *s, sqlite3_stmt *st, hs_error *err,
                          const char *types, va_list ap)
{
    int n = (int)strlen(types);
    if (sqlite3_bind_parameter_count(st) != n)
        return hs_fail(err, HS_ERR_INTERNAL,
                       "store: a statement takes %d parameters, not %d",
                       sqlite3_bind_parameter_count(st), n);
    for (int i = 0; i < n; i++) {
        int idx = i + 1, rc = SQLITE_OK;
        switch (types[i]) {
        case 'i':
            rc = sqlite3_bind_int64(st, idx, va_arg(ap, int64_t));
            break;
        case 'b':
            rc = sqlite3_bind_int(st, idx, va_arg(ap, int) != 0);
            break;
        case 'I': {
            hs_id id = va_arg(ap, hs_id);
            rc = id ? sqlite3_bind_int64(st, idx, id)
                    : sqlite3_bind_null(st, idx);
            break;
        }
        case 'd': {
            double v = va_arg(ap, double);
            rc = isnan(v) ? sqlite3_bind_null(st, idx)
                          : sqlite3_bind_double(st, idx, v);
            break;
        }
        case 't':
        case 'T': {
            const char *text = va_arg(ap, const char *);
            if (!text && types[i] == 't')
                return hs_fail(err, HS_ERR_INTERNAL,
                               "store: parameter %d is NULL", idx);
            rc = text ? sqlite3_bind_text(st, idx, text, -1, SQLITE_STATIC)
                      : sqlite3_bind_null(st, idx);
            break;
        }
        case '-':
            break;
        default:
            return hs_fail(err, HS_ERR_INTERNAL,
                           "store: unknown parameter type '%c'", types[i]);
        }
        if (rc != SQLITE_OK)
            return sq_err(s->db, rc, err, "binding a parameter");
    }
    return HS_OK;
}

/* Finalizes st (NULL is fine) and releases the lock sq_vstart took. */
static void sq_end(sq_store *s, sqlite3_stmt *st)
{
    sqlite3_finalize(st);
    sq_unlock(s);
}

/* Takes the lock and prepares `sql` with its parameters bound. On success
 * the caller steps *st, then calls sq_end; on failure nothing is held. */
static hs_status sq_vstart(sq_store *s, sqlite3_stmt **st, hs_error *err,
                           const char *sql, const char *types, va_list ap)
{
    hs_status hs = sq_lock(s, err);
    *st = NULL;
    if (hs != HS_OK)
        return hs;
    hs = sq_prepare(s, sql, st, err);
    if (hs == HS_OK)
        hs = sq_vbind(s, *st, err, types, ap);
    if (hs != HS_OK) {
        sq_end(s, *st);
        *st = NULL;
    }
    return hs;
}

/* sq_run with a va_list. */
static hs_status sq_vrun(sq_store *s, int64_t *changed, hs_error *err,
                         const char *what, const char *sql, const char *types,
                         va_list ap)
{
    sqlite3_stmt *st;
    int64_t dummy;
    hs_status hs;
    if (!changed)
        changed = &dummy;
    *changed = 0;
    hs = sq_vstart(s, &st, err, sql, types, ap);
    if (hs != HS_OK)
        return hs;
    hs = step_changes(s, st, changed, err, what);
    sq_end(s, st);
    return hs;
}

/* Runs a statement that returns no rows, with its parameters bound from
 * `types` and the varargs (sq_vbind), and reports in *changed (may be
 * NULL) how many rows it changed. `what` names it in a storage error. */
static hs_status sq_run(sq_store *s, int64_t *changed, hs_error *err,
                        const char *what, const char *sql, const char *types,
                        ...)
{
    va_list ap;
    hs_status hs;
    va_start(ap, types);
    hs = sq_vrun(s, changed, err, what, sql, types, ap);
    va_end(ap);
    return hs;
}

/* sq_run for a write aimed at one record: when it matches no row, that is
 * HS_ERR_NOTFOUND "<kind> <id> does not exist". (An UPDATE counts every
 * row its WHERE matched, changed or not, so "again" is not "missing".) */
static hs_status sq_run_one(sq_store *s, const char *kind, hs_id id,
                            hs_error *err, const char *what, const char *sql,
                            const char *types, ...)
{
    va_list ap;
    int64_t changed;
    hs_status hs;
    va_start(ap, types);
    hs = sq_vrun(s, &changed, err, what, sql, types, ap);
    va_end(ap);
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "%s %lld does not exist", kind,
                     (long long)id);
    return hs;
}

/* Runs an INSERT and maps its outcome: a UNIQUE violation is
 * HS_ERR_CONFLICT with `conflict` as the message, a FOREIGN KEY violation
 * HS_ERR_NOTFOUND with `missing` (either NULL: sq_err's generic message);
 * on success *id_out (may be NULL) receives the new row id. */
static hs_status sq_insert(sq_store *s, hs_id *id_out, const char *conflict,
                           const char *missing, hs_error *err, const char *what,
                           const char *sql, const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    hs_status hs;
    int rc;
    va_start(ap, types);
    hs = sq_vstart(s, &st, err, sql, types, ap);
    va_end(ap);
    if (hs != HS_OK)
        return hs;
    rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT_UNIQUE && conflict)
        hs = hs_fail(err, HS_ERR_CONFLICT, "%s", conflict);
    else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY && missing)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "%s", missing);
    else if (rc != SQLITE_DONE)
        hs = sq_err(s->db, rc, err, what);
    else if (id_out)
        *id_out = sqlite3_last_insert_rowid(s->db);
    sq_end(s, st);
    return hs;
}

/* Runs a statement that yields at most one row - a SELECT, or a write with
 * RETURNING - and reads that row into `out`. No row is HS_ERR_NOTFOUND
 * with `missing` as the message. `release` (may be NULL) undoes the read
 * when the statement fails after it. */
static hs_status sq_get_one(sq_store *s, row_reader read, row_release release,
                            void *out, const char *missing, hs_error *err,
                            const char *sql, const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    hs_status hs;
    int rc;
    va_start(ap, types);
    hs = sq_vstart(s, &st, err, sql, types, ap);
    va_end(ap);
    if (hs != HS_OK)
        return hs;
    hs = read_one(s, st, read, out, err, missing);
    if (hs == HS_OK) {
        /* Step to the end: outside a transaction, that is where a write
         * commits, and so where its failure is reported (finalize would
         * commit too, but its error would be lost). */
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE) {
            hs = rc == SQLITE_ROW
                     ? hs_fail(err, HS_ERR_INTERNAL,
                               "store: a single-row query returned more")
                     : sq_err(s->db, rc, err, "finishing a statement");
            if (release)
                release(out);
        }
    }
    sq_end(s, st);
    return hs;
}

/* Runs a query and reads all its rows (elem_size bytes each, via `read`)
 * into *items (malloc'ed) and *n; see read_all_owning for `release`. */
static hs_status sq_list(sq_store *s, row_reader read, row_release release,
                         size_t elem_size, void **items, size_t *n,
                         hs_error *err, const char *sql, const char *types, ...)
{
    sqlite3_stmt *st;
    va_list ap;
    hs_status hs;
    va_start(ap, types);
    hs = sq_vstart(s, &st, err, sql, types, ap);
    va_end(ap);
    if (hs != HS_OK)
        return hs;
    hs = read_all_owning(s, st, read, release, elem_size, items, n, err);
    sq_end(s, st);
    return hs;
}

/* A savepoint makes the several statements of one operation one outcome,
 * and, unlike BEGIN, also nests inside the caller's hs_store_transact
 * transaction. Caller holds the lock from sq_savepoint to sq_savepoint_end
 * and passes the operation's status; on failure everything since
 * sq_savepoint is undone. */
static hs_status sq_savepoint(sq_store *s, hs_error *err)
{
    return sq_exec(s->db, "SAVEPOINT sq_op", err, "starting a savepoint");
}

static hs_status sq_savepoint_end(sq_store *s, hs_status hs, hs_error *err)
{
    if (hs == HS_OK)
        hs = sq_exec(s->db, "RELEASE sq_op", err, "ending a savepoint");
    if (hs != HS_OK) {
        hs_error ignored;
        (void)sq_exec(s->db, "ROLLBACK TO sq_op; RELEASE sq_op", &ignored,
                      "rolling back a savepoint");
    }
    return hs;
}

/* "<kind> <id> does not exist" in buf, for sq_get_one's `missing`. */
typedef char sq_msg[96];

static const char *no_such(sq_msg buf, const char *kind, hs_id id)
{
    snprintf(buf, sizeof(sq_msg), "%s %lld does not exist", kind,
             (long long)id);
    return buf;
}

/* ---- row readers (column order = the SELECT lists below) -------------- */

#define USER_COLS                                                              \
    "SELECT id, username, password_hash, is_admin, disabled, created_at,"      \
    " locked_until, email FROM users"

static hs_status read_user(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_user *u = dst;
    hs_status hs;
    memset(u, 0, sizeof *u);
    u->id = sqlite3_column_int64(st, 0);
    hs = copy_text(st, 1, u->username, sizeof u->username, err, "username");
    if (hs == HS_OK)
        hs = copy_text(st, 2, u->password_hash, sizeof u->password_hash, err,
                       "password hash");
    u->is_admin = sqlite3_column_int(st, 3) != 0;
    u->disabled = sqlite3_column_int(st, 4) != 0;
    u->created_at = sqlite3_column_int64(st, 5);
    u->locked_until = sqlite3_column_int64(st, 6);
    if (hs == HS_OK)
        hs = copy_text(st, 7, u->email, sizeof u->email, err, "e-mail");
    return hs;
}

#define SESSION_COLS                                                           \
    "SELECT id, user_id, token_hash, remember, created_at, last_seen_at,"      \
    " expires_at FROM sessions"

static hs_status read_session(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_session *s = dst;
    memset(s, 0, sizeof *s);
    s->id = sqlite3_column_int64(st, 0);
    s->user_id = sqlite3_column_int64(st, 1);
    s->remember = sqlite3_column_int(st, 3) != 0;
    s->created_at = sqlite3_column_int64(st, 4);
    s->last_seen_at = sqlite3_column_int64(st, 5);
    s->expires_at = sqlite3_column_int64(st, 6);
    return copy_text(st, 2, s->token_hash, sizeof s->token_hash, err,
                     "token hash");
}

#define EVENT_COLS "SELECT id, user_id, kind, at FROM account_events"

static hs_status read_event(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_account_event *e = dst;
    memset(e, 0, sizeof *e);
    e->id = sqlite3_column_int64(st, 0);
    e->user_id = sqlite3_column_int64(st, 1);
    e->at = sqlite3_column_int64(st, 3);
    return copy_text(st, 2, e->kind, sizeof e->kind, err, "event kind");
}

#define NOTIFICATION_COLS                                                      \
    "SELECT id, kind, message, user_id, created_at, read FROM notifications"

static hs_status read_notification(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_notification *m = dst;
    hs_status hs;
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    hs = copy_text(st, 1, m->kind, sizeof m->kind, err, "notification kind");
    if (hs == HS_OK)
        hs = copy_text(st, 2, m->message, sizeof m->message, err,
                       "notification message");
    m->user_id = sqlite3_column_int64(st, 3); /* NULL reads as 0 */
    m->created_at = sqlite3_column_int64(st, 4);
    m->read = sqlite3_column_int(st, 5) != 0;
    return hs;
}

#define DATASET_COLS                                                           \
    "SELECT id, owner_id, name, blob_key, size_bytes, rows, features,"         \
    " profile_json, created_at, deleted_at, state, ingest_error,"              \
    " file_deleted FROM datasets"

static hs_status read_dataset(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_dataset_rec *d = dst;
    hs_status hs;
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    d->owner_id = sqlite3_column_int64(st, 1);
    d->size_bytes = sqlite3_column_int64(st, 4);
    d->rows = sqlite3_column_int64(st, 5);
    d->features = sqlite3_column_int64(st, 6);
    d->created_at = sqlite3_column_int64(st, 8);
    d->deleted_at = sqlite3_column_int64(st, 9);
    d->file_deleted = sqlite3_column_int(st, 12) != 0;
    hs = copy_text(st, 2, d->name, sizeof d->name, err, "dataset name");
    if (hs == HS_OK)
        hs = copy_text(st, 3, d->blob_key, sizeof d->blob_key, err, "blob key");
    if (hs == HS_OK)
        hs = copy_text(st, 10, d->state, sizeof d->state, err, "dataset state");
    if (hs == HS_OK)
        hs = copy_text(st, 11, d->ingest_error, sizeof d->ingest_error, err,
                       "dataset ingest error");
    /* Last, so that a failure above has allocated nothing. */
    if (hs == HS_OK)
        hs = dup_text(st, 7, &d->profile_json, err, "dataset profile");
    return hs;
}

static void release_dataset(void *row)
{
    hs_dataset_rec_free(row);
}

/* In the model, job and diagnosis readers a NULL reference reads as 0. */

#define MODEL_FIELDS                                                           \
    "id, owner_id, dataset_id, job_id, name, algo, blob_key, size_bytes,"      \
    " n_features, n_classes, macro_f1, accuracy, summary_json, created_at,"    \
    " parent_id, feedback_json, class_names_json, deleted_at"
#define MODEL_COLS "SELECT " MODEL_FIELDS " FROM models"

static hs_status read_model(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_model_rec *m = dst;
    hs_status hs;
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    m->owner_id = sqlite3_column_int64(st, 1);
    m->dataset_id = sqlite3_column_int64(st, 2);
    m->job_id = sqlite3_column_int64(st, 3);
    m->size_bytes = sqlite3_column_int64(st, 7);
    m->n_features = sqlite3_column_int64(st, 8);
    m->n_classes = sqlite3_column_int64(st, 9);
    m->macro_f1 = column_real(st, 10);
    m->accuracy = column_real(st, 11);
    m->created_at = sqlite3_column_int64(st, 13);
    m->parent_id = sqlite3_column_int64(st, 14);
    m->deleted_at = sqlite3_column_int64(st, 17);
    hs = copy_text(st, 4, m->name, sizeof m->name, err, "model name");
    if (hs == HS_OK)
        hs = copy_text(st, 5, m->algo, sizeof m->algo, err, "model algo");
    if (hs == HS_OK)
        hs = copy_text(st, 6, m->blob_key, sizeof m->blob_key, err, "blob key");
    if (hs == HS_OK) /* last: a failure above has allocated nothing */
        hs = dup_text(st, 12, &m->summary_json, err, "model summary");
    if (hs == HS_OK && (hs = dup_text(st, 15, &m->feedback_json, err,
                                      "model feedback")) != HS_OK)
        hs_model_rec_free(m);
    if (hs == HS_OK && (hs = dup_text(st, 16, &m->class_names_json, err,
                                      "model class names")) != HS_OK)
        hs_model_rec_free(m);
    return hs;
}

static void release_model(void *row)
{
    hs_model_rec_free(row);
}

/* Job states are stored by name (hs_job_state_name). */
static hs_status column_state(sqlite3_stmt *st, int col, hs_job_state *out,
                              hs_error *err)
{
    const char *name = (const char *)sqlite3_column_text(st, col);
    for (int i = 0; name && i < HS_JOB_STATES; i++) {
        if (strcmp(name, hs_job_state_name((hs_job_state)i)) == 0) {
            *out = (hs_job_state)i;
            return HS_OK;
        }
    }
    return hs_fail(err, HS_ERR_INTERNAL,
                   "store: stored job state '%s' is unknown",
                   name ? name : "(null)");
}

static hs_status read_state(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return column_state(st, 0, dst, err);
}

/* diagnosis_id is not read: migration 5 moved it to result_id. */
#define JOB_FIELDS                                                             \
    "id, owner_id, type, state, dataset_id, model_id, result_kind,"            \
    " result_id, worker_id, lease_expires_at, input_blob_key, name,"           \
    " params_json, progress, round, rounds, losses_json, attempts_json,"       \
    " error, cancel_requested, restarts, created_at, started_at, finished_at," \
    " topology_id"
#define JOB_COLS "SELECT " JOB_FIELDS " FROM jobs"

static hs_status read_job(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_job_rec *j = dst;
    hs_status hs;
    memset(j, 0, sizeof *j);
    j->id = sqlite3_column_int64(st, 0);
    j->owner_id = sqlite3_column_int64(st, 1);
    j->dataset_id = sqlite3_column_int64(st, 4);
    j->model_id = sqlite3_column_int64(st, 5);
    j->result_id = sqlite3_column_int64(st, 7);
    j->lease_expires_at = sqlite3_column_int64(st, 9);
    j->progress = sqlite3_column_double(st, 13);
    j->round = sqlite3_column_int64(st, 14);
    j->rounds = sqlite3_column_int64(st, 15);
    j->cancel_requested = sqlite3_column_int(st, 19) != 0;
    j->restarts = sqlite3_column_int64(st, 20);
    j->created_at = sqlite3_column_int64(st, 21);
    j->started_at = sqlite3_column_int64(st, 22);
    j->finished_at = sqlite3_column_int64(st, 23);
    j->topology_id = sqlite3_column_int64(st, 24);
    hs = copy_text(st, 2, j->type, sizeof j->type, err, "job type");
    if (hs == HS_OK)
        hs = column_state(st, 3, &j->state, err);
    if (hs == HS_OK)
        hs = copy_text(st, 6, j->result_kind, sizeof j->result_kind, err,
                       "job result kind");
    if (hs == HS_OK)
        hs = copy_text(st, 8, j->worker_id, sizeof j->worker_id, err,
                       "job worker id");
    if (hs == HS_OK)
        hs = copy_text(st, 10, j->input_blob_key, sizeof j->input_blob_key, err,
                       "job input blob key");
    if (hs == HS_OK)
        hs = copy_text(st, 11, j->name, sizeof j->name, err, "job name");
    if (hs == HS_OK)
        hs = copy_text(st, 18, j->error, sizeof j->error, err, "job error");
    /* The allocations last; a failure among them frees the earlier ones,
     * so a failed read leaves nothing allocated. */
    if (hs == HS_OK)
        hs = dup_text(st, 12, &j->params_json, err, "job parameters");
    if (hs == HS_OK)
        hs = dup_text(st, 16, &j->losses_json, err, "job losses");
    if (hs == HS_OK)
        hs = dup_text(st, 17, &j->attempts_json, err, "job attempts");
    if (hs != HS_OK)
        hs_job_rec_free(j);
    return hs;
}

static void release_job(void *row)
{
    hs_job_rec_free(row);
}

#define ATTEMPT_COLS                                                           \
    "SELECT job_id, number, step, algo, outcome, reason, seconds,"             \
    " params_json FROM job_attempts"

static hs_status read_attempt(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_job_attempt *a = dst;
    hs_status hs;
    memset(a, 0, sizeof *a);
    a->job_id = sqlite3_column_int64(st, 0);
    a->number = sqlite3_column_int64(st, 1);
    a->seconds = sqlite3_column_type(st, 6) == SQLITE_NULL
                     ? NAN
                     : sqlite3_column_double(st, 6);
    hs = copy_text(st, 2, a->step, sizeof a->step, err, "attempt step");
    if (hs == HS_OK)
        hs = copy_text(st, 3, a->algo, sizeof a->algo, err, "attempt algo");
    if (hs == HS_OK)
        hs = copy_text(st, 4, a->outcome, sizeof a->outcome, err,
                       "attempt outcome");
    if (hs == HS_OK)
        hs = copy_text(st, 5, a->reason, sizeof a->reason, err,
                       "attempt reason");
    if (hs == HS_OK) /* last: a failure above has allocated nothing */
        hs = dup_text(st, 7, &a->params_json, err, "attempt parameters");
    return hs;
}

static void release_attempt(void *row)
{
    hs_job_attempt *a = row;
    free(a->params_json);
    a->params_json = NULL;
}

#define DIAGNOSIS_FIELDS                                                       \
    "id, owner_id, model_id, job_id, name, blob_key, rows, summary_json,"      \
    " created_at, input_blob_key, deleted_at,"                                 \
    " (SELECT class_names_json FROM models WHERE models.id = diagnoses.model_id)"
#define DIAGNOSIS_COLS "SELECT " DIAGNOSIS_FIELDS " FROM diagnoses"

static hs_status read_diagnosis(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_diagnosis_rec *d = dst;
    hs_status hs;
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    d->owner_id = sqlite3_column_int64(st, 1);
    d->model_id = sqlite3_column_int64(st, 2);
    d->job_id = sqlite3_column_int64(st, 3);
    d->rows = sqlite3_column_int64(st, 6);
    d->created_at = sqlite3_column_int64(st, 8);
    d->deleted_at = sqlite3_column_int64(st, 10);
    hs = copy_text(st, 4, d->name, sizeof d->name, err, "diagnosis name");
    if (hs == HS_OK)
        hs = copy_text(st, 5, d->blob_key, sizeof d->blob_key, err, "blob key");
    if (hs == HS_OK)
        hs = copy_text(st, 9, d->input_blob_key, sizeof d->input_blob_key,
                       err, "input blob key");
    if (hs == HS_OK) /* last: a failure above has allocated nothing */
        hs = dup_text(st, 7, &d->summary_json, err, "diagnosis summary");
    if (hs == HS_OK && (hs = dup_text(st, 11, &d->model_class_names_json, err,
                                      "model class names")) != HS_OK)
        hs_diagnosis_rec_free(d);
    return hs;
}

static void release_diagnosis(void *row)
{
    hs_diagnosis_rec_free(row);
}

static hs_status read_blob_key(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return copy_text(st, 0, dst, HS_STORE_BLOB_KEY_MAX, err, "blob key");
}

/* A key handed back must mean "its row is gone": clear it on failure. */
static void clear_blob_key(void *row)
{
    *(char *)row = '\0';
}

static hs_status read_time(sqlite3_stmt *st, void *dst, hs_error *err)
{
    (void)err;
    *(int64_t *)dst = sqlite3_column_int64(st, 0);
    return HS_OK;
}

static hs_status read_count(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return read_time(st, dst, err);
}

static hs_status read_flag(sqlite3_stmt *st, void *dst, hs_error *err)
{
    (void)err;
    *(int *)dst = sqlite3_column_int(st, 0) != 0;
    return HS_OK;
}

/* Output counts and times are 0 on error (store.h). */
static void clear_int64(void *row)
{
    *(int64_t *)row = 0;
}

/* ---- transactions ------------------------------------------------------ */

/* BEGIN IMMEDIATE takes SQLite's write lock at once, so a transaction
 * never fails half-way for want of it. The mutex stays held while fn runs
 * (see the top of the file); in_txn tells this thread's operations, and a
 * nested transact, that they are inside. Whatever fn did, the transaction
 * is over when this returns: committed, or rolled back. */
static hs_status sq_transact(hs_store *store, hs_store_txn_fn fn, void *arg,
                             hs_error *err)
{
    sq_store *s = store->impl;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    if (s->in_txn) {
        sq_unlock(s);
        return hs_fail(err, HS_ERR_INVALID,
                       "store: a transaction is already open (transactions "
                       "do not nest)");
    }
    hs = sq_exec(s->db, "BEGIN IMMEDIATE", err, "starting a transaction");
    if (hs == HS_OK) {
        s->in_txn = 1;
        hs = fn(store, arg, err);
        s->in_txn = 0;
        if (hs == HS_OK)
            hs = sq_exec(s->db, "COMMIT", err, "committing a transaction");
        if (!sqlite3_get_autocommit(s->db)) {
            /* fn failed, or COMMIT did (e.g. busy): do not leave it open. */
            hs_error ignored;
            (void)sq_exec(s->db, "ROLLBACK", &ignored, "rolling back");
        }
    }
    sq_unlock(s);
    return hs;
}

/* ---- ping (version 10) -------------------------------------------------- */

/* Waits for another process's lock at most this long, ms (every operation
 * but the ping). */
#define SQ_BUSY_MS 5000
/* The ping's wait: a store that cannot start a write within a second is
 * not answering, as far as a health check is concerned. */
#define SQ_PING_BUSY_MS 1000

/* Takes the write lock (BEGIN IMMEDIATE), reads the schema's version and
 * rolls back: the database is reachable, readable and writable now,
 * without writing a page. */
static hs_status sq_ping(void *impl, hs_error *err)
{
    sq_store *s = impl;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    if (s->in_txn) { /* this thread is inside a transaction: it answers */
        sq_unlock(s);
        return HS_OK;
    }
    sqlite3_busy_timeout(s->db, SQ_PING_BUSY_MS);
    hs = sq_exec(s->db,
                 "BEGIN IMMEDIATE; SELECT MAX(version) FROM schema_migrations",
                 err, "pinging the database");
    if (!sqlite3_get_autocommit(s->db)) {
        hs_error ignored;
        (void)sq_exec(s->db, "ROLLBACK", &ignored, "rolling back a ping");
    }
    sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
    sq_unlock(s);
    return hs;
}

/* ---- users ------------------------------------------------------------- */

static hs_status sq_user_create(void *impl, hs_user *u, hs_error *err)
{
    char conflict[HS_USERNAME_MAX + 32];
    snprintf(conflict, sizeof conflict, "user '%s' already exists",
             u->username);
    return sq_insert(impl, &u->id, conflict, NULL, err, "creating a user",
                     "INSERT INTO users (username, password_hash, is_admin,"
                     " disabled, created_at, locked_until, email)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                     "ttbbiit", u->username, u->password_hash, u->is_admin,
                     u->disabled, u->created_at, u->locked_until, u->email);
}

static hs_status sq_user_get(void *impl, hs_id id, hs_user *out, hs_error *err)
{
    return sq_get_one(impl, read_user, NULL, out, "no such user", err,
                      USER_COLS " WHERE id = ?1", "i", id);
}

static hs_status sq_user_get_by_name(void *impl, const char *username,
                                     hs_user *out, hs_error *err)
{
    /* The column has BINARY collation: the match is exact. */
    return sq_get_one(impl, read_user, NULL, out, "no such user", err,
                      USER_COLS " WHERE username = ?1", "t", username);
}

static hs_status sq_user_list(void *impl, hs_user **items, size_t *n,
                              hs_error *err)
{
    return sq_list(impl, read_user, NULL, sizeof **items, (void **)items, n,
                   err, USER_COLS " ORDER BY id", "");
}

static hs_status sq_user_count(void *impl, int64_t *count, hs_error *err)
{
    return sq_get_one(impl, read_count, clear_int64, count,
                      "count returned no row", err,
                      "SELECT COUNT(*) FROM users", "");
}

static hs_status sq_user_count_admins(void *impl, int64_t *count, hs_error *err)
{
    return sq_get_one(impl, read_count, clear_int64, count,
                      "count returned no row", err,
                      "SELECT COUNT(*) FROM users WHERE is_admin = 1 AND"
                      " disabled = 0",
                      "");
}

static hs_status sq_user_update(void *impl, const hs_user *u, hs_error *err)
{
    return sq_run_one(impl, "user", u->id, err, "updating a user",
                      "UPDATE users SET password_hash = ?2, is_admin = ?3,"
                      " disabled = ?4, locked_until = ?5, email = ?6"
                      " WHERE id = ?1",
                      "itbbit", u->id, u->password_hash, u->is_admin,
                      u->disabled, u->locked_until, u->email);
}

/* ---- account events ---------------------------------------------------- */

/* The FOREIGN KEY message of inserts whose only reference is a user. */
static const char *no_user(sq_msg buf, hs_id user_id)
{
    return no_such(buf, "user", user_id);
}

static hs_status sq_event_add(void *impl, hs_id user_id, const char *kind,
                              int64_t at, hs_id *id_out, hs_error *err)
{
    sq_msg missing;
    return sq_insert(impl, id_out, "duplicate account event",
                     no_user(missing, user_id), err,
                     "recording an account event",
                     "INSERT INTO account_events (user_id, kind, at)"
                     " VALUES (?1, ?2, ?3)",
                     "iti", user_id, kind, at);
}

static hs_status sq_event_list(void *impl, hs_id user_id,
                               hs_account_event **items, size_t *n,
                               hs_error *err)
{
    return sq_list(impl, read_event, NULL, sizeof **items, (void **)items, n,
                   err,
                   EVENT_COLS " WHERE ?1 = 0 OR user_id = ?1"
                              " ORDER BY at DESC, id DESC",
                   "i", user_id);
}

static hs_status sq_event_latest(void *impl, hs_id user_id, const char *kind,
                                 int64_t *at_out, hs_error *err)
{
    return sq_get_one(impl, read_time, clear_int64, at_out, "no such event",
                      err,
                      "SELECT at FROM account_events WHERE user_id = ?1 AND"
                      " kind = ?2 ORDER BY at DESC, id DESC LIMIT 1",
                      "it", user_id, kind);
}

static hs_status sq_login_failures_since(void *impl, hs_id user_id,
                                         int64_t since, int64_t **times,
                                         size_t *n, hs_error *err)
{
    return sq_list(impl, read_time, NULL, sizeof **times, (void **)times, n,
                   err,
                   "SELECT at FROM account_events WHERE user_id = ?1 AND"
                   " kind = ?2 AND at >= ?3 ORDER BY at, id",
                   "iti", user_id, HS_EVENT_LOGIN_FAILED, since);
}

/* ---- sessions ---------------------------------------------------------- */

static hs_status sq_session_create(void *impl, hs_session *sess, hs_error *err)
{
    sq_msg missing;
    return sq_insert(impl, &sess->id,
                     "a session with this token hash already exists",
                     no_user(missing, sess->user_id), err, "creating a session",
                     "INSERT INTO sessions (user_id, token_hash, remember,"
                     " created_at, last_seen_at, expires_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                     "itbiii", sess->user_id, sess->token_hash, sess->remember,
                     sess->created_at, sess->last_seen_at, sess->expires_at);
}

static hs_status sq_session_get_by_token_hash(void *impl,
                                              const char *token_hash,
                                              hs_session *out, hs_error *err)
{
    return sq_get_one(impl, read_session, NULL, out, "no such session", err,
                      SESSION_COLS " WHERE token_hash = ?1", "t", token_hash);
}

static hs_status sq_session_touch(void *impl, hs_id id, int64_t last_seen_at,
                                  int64_t expires_at, hs_error *err)
{
    return sq_run_one(impl, "session", id, err, "touching a session",
                      "UPDATE sessions SET last_seen_at = ?2,"
                      " expires_at = ?3 WHERE id = ?1",
                      "iii", id, last_seen_at, expires_at);
}

static hs_status sq_session_delete(void *impl, hs_id id, hs_error *err)
{
    return sq_run_one(impl, "session", id, err, "deleting a session",
                      "DELETE FROM sessions WHERE id = ?1", "i", id);
}

static hs_status sq_session_delete_for_user(void *impl, hs_id user_id,
                                            int64_t *removed, hs_error *err)
{
    return sq_run(impl, removed, err, "deleting a user's sessions",
                  "DELETE FROM sessions WHERE user_id = ?1", "i", user_id);
}

static hs_status sq_session_delete_expired(void *impl, int64_t now,
                                           int64_t *removed, hs_error *err)
{
    return sq_run(impl, removed, err, "deleting expired sessions",
                  "DELETE FROM sessions WHERE expires_at <= ?1", "i", now);
}

/* ---- logins: back-off and unlock links (version 8) ---------------------- */

#define BACKOFF_COLS "SELECT key, failures, last_failure_at FROM login_backoff"

static hs_status read_backoff(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_backoff_rec *b = dst;
    memset(b, 0, sizeof *b);
    b->failures = sqlite3_column_int64(st, 1);
    b->last_failure_at = sqlite3_column_int64(st, 2);
    return copy_text(st, 0, b->key, sizeof b->key, err, "back-off key");
}

static hs_status sq_backoff_get(void *impl, const char *key,
                                hs_backoff_rec *out, hs_error *err)
{
    return sq_get_one(impl, read_backoff, NULL, out, "no failures counted",
                      err, BACKOFF_COLS " WHERE key = ?1", "t", key);
}

/* One upsert, so that two failures at once both count. */
static hs_status sq_backoff_fail(void *impl, const char *key, int64_t now,
                                 int64_t forget_after, hs_backoff_rec *out,
                                 hs_error *err)
{
    return sq_get_one(
        impl, read_backoff, NULL, out, "no failures counted", err,
        "INSERT INTO login_backoff (key, failures, last_failure_at)"
        " VALUES (?1, 1, ?2) ON CONFLICT(key) DO UPDATE SET"
        " failures = CASE WHEN ?2 - last_failure_at >= ?3 THEN 1"
        "   ELSE failures + 1 END,"
        " last_failure_at = MAX(last_failure_at, ?2)"
        " RETURNING key, failures, last_failure_at",
        "tii", key, now, forget_after);
}

static hs_status sq_backoff_clear(void *impl, const char *key, hs_error *err)
{
    return sq_run(impl, NULL, err, "clearing a back-off",
                  "DELETE FROM login_backoff WHERE key = ?1", "t", key);
}

static hs_status sq_backoff_purge(void *impl, int64_t before, int64_t *removed,
                                  hs_error *err)
{
    return sq_run(impl, removed, err, "purging back-off counters",
                  "DELETE FROM login_backoff WHERE last_failure_at < ?1", "i",
                  before);
}

#define UNLOCK_COLS                                                            \
    "SELECT id, user_id, token_hash, created_at, expires_at, used_at,"         \
    " revoked_at FROM unlock_tokens"

static hs_status read_unlock(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_unlock_token *t = dst;
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    t->user_id = sqlite3_column_int64(st, 1);
    t->created_at = sqlite3_column_int64(st, 3);
    t->expires_at = sqlite3_column_int64(st, 4);
    t->used_at = sqlite3_column_int64(st, 5);
    t->revoked_at = sqlite3_column_int64(st, 6);
    return copy_text(st, 2, t->token_hash, sizeof t->token_hash, err,
                     "token hash");
}

#define REVOKE_UNLOCKS                                                         \
    "UPDATE unlock_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND"          \
    " used_at = 0 AND revoked_at = 0 AND expires_at > ?2"

static hs_status sq_unlock_create(void *impl, hs_unlock_token *t,
                                  hs_error *err)
{
    sq_store *s = impl;
    sq_msg missing;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs == HS_OK) {
        hs = sq_run(s, NULL, err, "revoking unlock tokens", REVOKE_UNLOCKS,
                    "ii", t->user_id, t->created_at);
        if (hs == HS_OK)
            hs = sq_insert(s, &t->id, "an unlock token with this hash exists",
                           no_user(missing, t->user_id), err,
                           "creating an unlock token",
                           "INSERT INTO unlock_tokens (user_id, token_hash,"
                           " created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
                           "itii", t->user_id, t->token_hash, t->created_at,
                           t->expires_at);
        hs = sq_savepoint_end(s, hs, err);
    }
    sq_unlock(s);
    if (hs != HS_OK)
        t->id = 0;
    return hs;
}

static hs_status sq_unlock_get(void *impl, const char *token_hash,
                               hs_unlock_token *out, hs_error *err)
{
    return sq_get_one(impl, read_unlock, NULL, out, "no such unlock token",
                      err, UNLOCK_COLS " WHERE token_hash = ?1", "t",
                      token_hash);
}

static hs_status sq_unlock_use(void *impl, hs_id id, int64_t now,
                               hs_error *err)
{
    int64_t changed = 0;
    hs_status hs = sq_run(impl, &changed, err, "using an unlock token",
                          "UPDATE unlock_tokens SET used_at = ?2 WHERE id = ?1"
                          " AND used_at = 0 AND revoked_at = 0 AND"
                          " expires_at > ?2",
                          "ii", id, now);
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "unlock token %lld is not usable",
                     (long long)id);
    return hs;
}

static hs_status sq_unlock_revoke(void *impl, hs_id user_id, int64_t now,
                                  int64_t *revoked, hs_error *err)
{
    return sq_run(impl, revoked, err, "revoking unlock tokens", REVOKE_UNLOCKS,
                  "ii", user_id, now);
}

static hs_status sq_unlock_purge(void *impl, int64_t before, int64_t *removed,
                                 hs_error *err)
{
    return sq_run(impl, removed, err, "purging unlock tokens",
                  "DELETE FROM unlock_tokens WHERE expires_at < ?1", "i",
                  before);
}

static hs_status sq_sessions_end_others(void *impl, hs_id user_id,
                                        hs_id keep_id, int64_t *removed,
                                        hs_error *err)
{
    return sq_run(impl, removed, err, "ending a user's other sessions",
                  "DELETE FROM sessions WHERE user_id = ?1 AND id <> ?2", "ii",
                  user_id, keep_id);
}

/* ---- notifications ----------------------------------------------------- */

static hs_status sq_notification_add(void *impl, const char *kind,
                                     const char *message, hs_id user_id,
                                     int64_t at, hs_id *id_out, hs_error *err)
{
    sq_msg missing;
    return sq_insert(impl, id_out, "duplicate notification",
                     no_user(missing, user_id), err, "adding a notification",
                     "INSERT INTO notifications (kind, message, user_id,"
                     " created_at, read) VALUES (?1, ?2, ?3, ?4, 0)",
                     "ttIi", kind, message, user_id, at);
}

static hs_status sq_notification_list(void *impl, int unread_only,
                                      hs_notification **items, size_t *n,
                                      hs_error *err)
{
    return sq_list(impl, read_notification, NULL, sizeof **items,
                   (void **)items, n, err,
                   NOTIFICATION_COLS " WHERE ?1 = 0 OR read = 0"
                                     " ORDER BY created_at DESC, id DESC",
                   "b", unread_only);
}

static hs_status sq_notification_get(void *impl, hs_id id,
                                     hs_notification *out, hs_error *err)
{
    sq_msg missing;
    return sq_get_one(impl, read_notification, NULL, out,
                      no_such(missing, "notification", id), err,
                      NOTIFICATION_COLS " WHERE id = ?1", "i", id);
}

static hs_status sq_notification_mark_read(void *impl, hs_id id, hs_error *err)
{
    return sq_run_one(
        impl, "notification", id, err, "marking a notification read",
        "UPDATE notifications SET read = 1 WHERE id = ?1", "i", id);
}

/* ---- datasets ---------------------------------------------------------- */

/* The access rule of store.h, shared by every query that takes a viewer
 * (datasets, models, jobs, diagnoses): ?2 is the viewer's id, ?3 is 1 when
 * the viewer is an admin. A query that has no use for ?1 binds it '-'. */
#define OWNER_VISIBLE "(?3 = 1 OR owner_id = ?2)"

/* The trash (datasets, models, diagnoses): see sq_set_deleted. */
#define SET_DELETED(TABLE)                                                     \
    "UPDATE " TABLE " SET deleted_at = ?4 WHERE id = ?1 AND " OWNER_VISIBLE
#define LIVE_UNLESS_ASKED " AND (?1 = 1 OR deleted_at = 0)"
#define TRASHED_BEFORE " WHERE deleted_at > 0 AND deleted_at < ?1"

static hs_status sq_dataset_create(void *impl, hs_dataset_rec *d, hs_error *err)
{
    char conflict[HS_STORE_BLOB_KEY_MAX + 48];
    sq_msg missing;
    snprintf(conflict, sizeof conflict,
             "a dataset with blob key '%s' already exists", d->blob_key);
    return sq_insert(impl, &d->id, conflict, no_user(missing, d->owner_id), err,
                     "creating a dataset",
                     "INSERT INTO datasets (owner_id, name, blob_key,"
                     " size_bytes, rows, features, profile_json, created_at,"
                     " deleted_at, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                     " ?8, ?9, ?10)",
                     "ittiiiTiit", d->owner_id, d->name, d->blob_key,
                     d->size_bytes, d->rows, d->features, d->profile_json,
                     d->created_at, d->deleted_at, d->state);
}

static hs_status sq_dataset_get(void *impl, hs_id id, hs_id viewer_id,
                                int viewer_is_admin, hs_dataset_rec *out,
                                hs_error *err)
{
    sq_msg missing;
    return sq_get_one(impl, read_dataset, release_dataset, out,
                      no_such(missing, "dataset", id), err,
                      DATASET_COLS " WHERE id = ?1 AND " OWNER_VISIBLE, "iib",
                      id, viewer_id, viewer_is_admin);
}

static hs_status sq_dataset_list(void *impl, hs_id viewer_id,
                                 int viewer_is_admin, int include_deleted,
                                 hs_dataset_rec **items, size_t *n,
                                 hs_error *err)
{
    return sq_list(impl, read_dataset, release_dataset, sizeof **items,
                   (void **)items, n, err,
                   DATASET_COLS " WHERE " OWNER_VISIBLE LIVE_UNLESS_ASKED
                                " ORDER BY created_at DESC, id DESC",
                   "bib", include_deleted, viewer_id, viewer_is_admin);
}

/* The trash of datasets, models and diagnoses, one way for the three: a
 * record moves in or out with `sql` (an UPDATE of deleted_at to ?4 under
 * the access rule), the list shows trashed ones only when asked, and the
 * purge (sq_purge) deletes what was trashed before a cutoff. */

static hs_status sq_set_deleted(sq_store *s, const char *kind, const char *sql,
                                hs_id id, hs_id viewer_id, int viewer_is_admin,
                                int64_t deleted_at, hs_error *err)
{
    return sq_run_one(s, kind, id, err, "moving to or from the trash", sql,
                      "iibi", id, viewer_id, viewer_is_admin, deleted_at);
}

/* Collects the blob keys `keys_sql` selects, then runs `stmts` (NULL-ended;
 * the DELETE last), all with ?1 = deleted_before, as one outcome: the
 * savepoint makes "rows gone" and "keys handed back" inseparable, so a
 * failure (out of memory while collecting) cannot lose a key whose row
 * is gone. */
static hs_status sq_purge(sq_store *s, const char *keys_sql,
                          const char *const *stmts, int64_t deleted_before,
                          char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                          hs_error *err)
{
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs == HS_OK) {
        hs = sq_list(s, read_blob_key, NULL, sizeof **keys, (void **)keys, n,
                     err, keys_sql, "i", deleted_before);
        for (size_t i = 0; hs == HS_OK && stmts[i]; i++)
            hs = sq_run(s, NULL, err, "purging the trash", stmts[i], "i",
                        deleted_before);
        hs = sq_savepoint_end(s, hs, err);
        if (hs != HS_OK) {
            free(*keys);
            *keys = NULL;
            *n = 0;
        }
    }
    sq_unlock(s);
    return hs;
}

static hs_status sq_dataset_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                        int viewer_is_admin, int64_t deleted_at,
                                        hs_error *err)
{
    return sq_set_deleted(impl, "dataset", SET_DELETED("datasets"), id,
                          viewer_id, viewer_is_admin, deleted_at, err);
}

static hs_status sq_dataset_set_profile(void *impl, hs_id id,
                                        const char *profile_json, int64_t rows,
                                        int64_t features, hs_error *err)
{
    return sq_run_one(impl, "dataset", id, err, "storing a dataset profile",
                      "UPDATE datasets SET profile_json = ?2, rows = ?3,"
                      " features = ?4 WHERE id = ?1",
                      "iTii", id, profile_json, rows, features);
}

/* After a guarded UPDATE of dataset `id` changed nothing: HS_ERR_NOTFOUND
 * when the viewer cannot see it (viewer 0 and admin: no access rule), else
 * HS_ERR_CONFLICT saying `conflict`. Call with the lock held. */
static hs_status dataset_miss(sq_store *s, hs_id id, hs_id viewer_id,
                              int viewer_is_admin, const char *conflict,
                              hs_error *err)
{
    int64_t exists = 0;
    hs_status hs =
        sq_get_one(s, read_count, clear_int64, &exists, "no row", err,
                   "SELECT COUNT(*) FROM datasets WHERE id = ?1"
                   " AND " OWNER_VISIBLE,
                   "iib", id, viewer_id, viewer_is_admin);
    if (hs != HS_OK)
        return hs;
    return exists ? hs_fail(err, HS_ERR_CONFLICT, "dataset %lld %s",
                            (long long)id, conflict)
                  : hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld does not exist",
                            (long long)id);
}

/* One UPDATE guarded by the state, so that an ingestion ends once
 * whoever else tries (a second worker after a lost lease); a miss is
 * told apart afterwards (no such dataset, or it already ended).
 * file_deleted 1: the engine refused the file (reject_ingest). */
static hs_status end_ingest(sq_store *s, hs_id id, const char *state,
                            const char *error, int64_t size_bytes,
                            int file_deleted, hs_error *err)
{
    int64_t changed = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_run(s, &changed, err, "ending a dataset's ingestion",
                "UPDATE datasets SET state = ?2, ingest_error = ?3,"
                " size_bytes = CASE WHEN ?2 = 'ready' THEN ?4"
                " ELSE size_bytes END, file_deleted = ?5"
                " WHERE id = ?1 AND state = 'ingesting'",
                "ittib", id, state, error, size_bytes, file_deleted);
    if (hs == HS_OK && changed == 0)
        hs = dataset_miss(s, id, 0, 1,
                          "is not being ingested: its ingestion has ended "
                          "already",
                          err);
    sq_unlock(s);
    return hs;
}

static hs_status sq_dataset_finish_ingest(void *impl, hs_id id,
                                          const char *state, const char *error,
                                          int64_t size_bytes, hs_error *err)
{
    return end_ingest(impl, id, state, error, size_bytes, 0, err);
}

static hs_status sq_dataset_reject_ingest(void *impl, hs_id id,
                                          const char *error, hs_error *err)
{
    return end_ingest(impl, id, HS_DATASET_FAILED, error, 0, 1, err);
}

/* The same guard the other way: only a live, failed dataset whose file
 * was kept goes back to ingesting, so two retries at once make one. */
static hs_status sq_dataset_reopen_ingest(void *impl, hs_id id, hs_id viewer_id,
                                          int viewer_is_admin, hs_error *err)
{
    sq_store *s = impl;
    int64_t changed = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_run(s, &changed, err, "ingesting a dataset again",
                "UPDATE datasets SET state = 'ingesting', ingest_error = ''"
                " WHERE id = ?1 AND " OWNER_VISIBLE " AND state = 'failed'"
                " AND file_deleted = 0 AND deleted_at = 0",
                "iib", id, viewer_id, viewer_is_admin);
    if (hs == HS_OK && changed == 0)
        hs = dataset_miss(s, id, viewer_id, viewer_is_admin,
                          "is not a failed ingestion whose file was kept", err);
    sq_unlock(s);
    return hs;
}

/* Models trained on a purged dataset keep it as dataset_id 0 (SET NULL). */
static hs_status sq_dataset_purge(void *impl, int64_t deleted_before,
                                  char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                  size_t *n, hs_error *err)
{
    static const char *const stmts[] = {
        "DELETE FROM datasets" TRASHED_BEFORE, NULL};
    return sq_purge(impl, "SELECT blob_key FROM datasets" TRASHED_BEFORE,
                    stmts, deleted_before, keys, n, err);
}

/* ---- models ------------------------------------------------------------ */

static hs_status sq_model_create(void *impl, hs_model_rec *m, hs_error *err)
{
    char conflict[HS_STORE_BLOB_KEY_MAX + 48];
    snprintf(conflict, sizeof conflict,
             "a model with blob key '%s' already exists", m->blob_key);
    return sq_insert(impl, &m->id, conflict,
                     "the owner, dataset, job or parent of the model does not"
                     " exist",
                     err, "creating a model",
                     "INSERT INTO models (owner_id, dataset_id, job_id, name,"
                     " algo, blob_key, size_bytes, n_features, n_classes,"
                     " macro_f1, accuracy, summary_json, created_at,"
                     " parent_id, feedback_json, class_names_json)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,"
                     " ?12, ?13, ?14, ?15, ?16)",
                     "iIItttiiiddtiITT", m->owner_id, m->dataset_id, m->job_id,
                     m->name, m->algo, m->blob_key, m->size_bytes,
                     m->n_features, m->n_classes, m->macro_f1, m->accuracy,
                     m->summary_json, m->created_at, m->parent_id,
                     m->feedback_json, m->class_names_json);
}

static hs_status sq_model_get(void *impl, hs_id id, hs_id viewer_id,
                              int viewer_is_admin, hs_model_rec *out,
                              hs_error *err)
{
    sq_msg missing;
    return sq_get_one(impl, read_model, release_model, out,
                      no_such(missing, "model", id), err,
                      MODEL_COLS " WHERE id = ?1 AND " OWNER_VISIBLE, "iib", id,
                      viewer_id, viewer_is_admin);
}

static hs_status sq_model_list_with_deleted(void *impl, hs_id viewer_id,
                                            int viewer_is_admin,
                                            int include_deleted,
                                            hs_model_rec **items, size_t *n,
                                            hs_error *err)
{
    return sq_list(impl, read_model, release_model, sizeof **items,
                   (void **)items, n, err,
                   MODEL_COLS " WHERE " OWNER_VISIBLE LIVE_UNLESS_ASKED
                              " ORDER BY created_at DESC, id DESC",
                   "bib", include_deleted, viewer_id, viewer_is_admin);
}

/* The version 1 list: the live models. */
static hs_status sq_model_list(void *impl, hs_id viewer_id, int viewer_is_admin,
                               hs_model_rec **items, size_t *n, hs_error *err)
{
    return sq_model_list_with_deleted(impl, viewer_id, viewer_is_admin, 0,
                                      items, n, err);
}

static hs_status sq_model_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                      int viewer_is_admin, int64_t deleted_at,
                                      hs_error *err)
{
    return sq_set_deleted(impl, "model", SET_DELETED("models"), id, viewer_id,
                          viewer_is_admin, deleted_at, err);
}

/* As sq_model_delete for each: the jobs' result ids are cleared here, the
 * foreign keys (diagnoses', jobs' model_id, parent_id) by SQLite. */
static hs_status sq_model_purge(void *impl, int64_t deleted_before,
                                char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                size_t *n, hs_error *err)
{
    static const char *const stmts[] = {
        "UPDATE jobs SET result_id = NULL WHERE result_kind = '" HS_RESULT_MODEL
        "' AND result_id IN (SELECT id FROM models" TRASHED_BEFORE ")",
        "DELETE FROM models" TRASHED_BEFORE, NULL};
    return sq_purge(impl, "SELECT blob_key FROM models" TRASHED_BEFORE, stmts,
                    deleted_before, keys, n, err);
}

/* Deletes the model or diagnosis `id` with `sql` (a DELETE ... RETURNING
 * blob_key under the access rule, parameters ?1 id, ?2 viewer, ?3 admin)
 * and clears result_id in the jobs whose result it was, in one savepoint:
 * the generic result reference has no foreign key to do that. The other
 * references (a diagnosis' or a diagnose job's model_id, ...) are foreign
 * keys, set to NULL by SQLite itself. */
static hs_status sq_delete_result(sq_store *s, const char *kind,
                                  const char *result_kind, const char *sql,
                                  hs_id id, hs_id viewer_id,
                                  int viewer_is_admin,
                                  char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                  hs_error *err)
{
    sq_msg missing;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs == HS_OK) {
        hs = sq_get_one(s, read_blob_key, clear_blob_key, blob_key_out,
                        no_such(missing, kind, id), err, sql, "iib", id,
                        viewer_id, viewer_is_admin);
        if (hs == HS_OK)
            hs = sq_run(s, NULL, err, "clearing job results",
                        "UPDATE jobs SET result_id = NULL"
                        " WHERE result_kind = ?1 AND result_id = ?2",
                        "ti", result_kind, id);
        hs = sq_savepoint_end(s, hs, err);
        if (hs != HS_OK) /* the row is back: its key must not be used */
            blob_key_out[0] = '\0';
    }
    sq_unlock(s);
    return hs;
}

static hs_status sq_model_delete(void *impl, hs_id id, hs_id viewer_id,
                                 int viewer_is_admin,
                                 char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                 hs_error *err)
{
    return sq_delete_result(
        impl, "model", HS_RESULT_MODEL,
        "DELETE FROM models WHERE id = ?1 AND " OWNER_VISIBLE
        " RETURNING blob_key",
        id, viewer_id, viewer_is_admin, blob_key_out, err);
}

static hs_status sq_model_class_names_put(void *impl, hs_id id,
                                          hs_id viewer_id, int viewer_is_admin,
                                          const char *class_names_json,
                                          hs_error *err)
{
    return sq_run_one(impl, "model", id, err, "setting class names",
                      "UPDATE models SET class_names_json = ?4"
                      " WHERE id = ?1 AND " OWNER_VISIBLE,
                      "iibt", id, viewer_id, viewer_is_admin,
                      class_names_json);
}

/* ---- jobs -------------------------------------------------------------- */

/* A job's lease given up: it is no longer running on anyone. */
#define JOB_RELEASED "worker_id = '', lease_expires_at = 0"

/* What a re-queued job forgets: it starts again as if it never had. */
#define JOB_REQUEUED                                                           \
    "state = 'queued', progress = 0, round = 0, rounds = 0,"                   \
    " losses_json = NULL, started_at = 0, " JOB_RELEASED

/* A cancel that takes effect (the statement sets finished_at too). */
#define JOB_CANCELLED                                                          \
    "state = 'cancelled', error = 'cancelled by the user', " JOB_RELEASED

/* The job is running and leased to the worker in ?2 (the job is ?1). */
#define JOB_LEASED_TO "id = ?1 AND state = 'running' AND worker_id = ?2"

/* The result id to store, given kind K and id R (parameter names; R bound
 * 'I', so 0 is NULL): for the kinds whose records this store keeps, the id
 * only when that record exists - NULL otherwise, which is what deleting it
 * would have left (store.h) - and for other kinds the id as given. */
#define RESULT_REF(K, R)                                                       \
    "CASE " K " WHEN '" HS_RESULT_MODEL "' THEN (SELECT id FROM models"        \
    " WHERE id = " R ") WHEN '" HS_RESULT_DIAGNOSIS "' THEN (SELECT id"        \
    " FROM diagnoses WHERE id = " R ") WHEN '" HS_RESULT_ANALYSIS "' THEN"    \
    " (SELECT id FROM analyses WHERE id = " R ") ELSE " R " END"

static hs_status sq_job_create(void *impl, hs_job_rec *j, hs_error *err)
{
    return sq_insert(
        impl, &j->id, NULL,
        "the owner, dataset, model or topology of the job does not exist",
        err, "creating a job",
        "INSERT INTO jobs (owner_id, type, state, dataset_id, model_id,"
        " result_kind, result_id, worker_id, lease_expires_at, input_blob_key,"
        " name, params_json, progress, round, rounds, losses_json,"
        " attempts_json, error, cancel_requested, restarts, created_at,"
        " started_at, finished_at, topology_id)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, " RESULT_REF(
            "?6", "?7") ", ?8, ?9,"
                        " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, "
                        "?20, ?21, ?22,"
                        " ?23, ?24)",
        "ittIItItitttdiiTTtbiiiiI", j->owner_id, j->type,
        hs_job_state_name(j->state), j->dataset_id, j->model_id, j->result_kind,
        j->result_id, j->worker_id, j->lease_expires_at, j->input_blob_key,
        j->name, j->params_json, j->progress, j->round, j->rounds,
        j->losses_json, j->attempts_json, j->error, j->cancel_requested,
        j->restarts, j->created_at, j->started_at, j->finished_at,
        j->topology_id);
}

static hs_status sq_job_get(void *impl, hs_id id, hs_id viewer_id,
                            int viewer_is_admin, hs_job_rec *out, hs_error *err)
{
    sq_msg missing;
    return sq_get_one(impl, read_job, release_job, out,
                      no_such(missing, "job", id), err,
                      JOB_COLS " WHERE id = ?1 AND " OWNER_VISIBLE, "iib", id,
                      viewer_id, viewer_is_admin);
}

static hs_status sq_job_list(void *impl, hs_id viewer_id, int viewer_is_admin,
                             hs_job_rec **items, size_t *n, hs_error *err)
{
    return sq_list(
        impl, read_job, release_job, sizeof **items, (void **)items, n, err,
        JOB_COLS " WHERE " OWNER_VISIBLE " ORDER BY created_at DESC, id DESC",
        "-ib", viewer_id, viewer_is_admin);
}

/* The UPDATE acts on a queued or running job and reports its new state;
 * when it matched nothing, the job is absent, not visible, or finished -
 * and a finished job never changes again, so the SELECT after it tells
 * which. (Under the lock, so both see one state within this process.) */
static hs_status sq_job_cancel(void *impl, hs_id id, hs_id viewer_id,
                               int viewer_is_admin, int64_t now,
                               hs_job_state *state_out, hs_error *err)
{
    sq_store *s = impl;
    sq_msg missing;
    hs_job_state final;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    no_such(missing, "job", id);
    hs = sq_get_one(s, read_state, NULL, state_out, missing, err,
                    "UPDATE jobs SET"
                    " state = CASE state WHEN 'queued' THEN 'cancelled'"
                    "   ELSE state END,"
                    " error = CASE state WHEN 'queued'"
                    "   THEN 'cancelled by the user' ELSE error END,"
                    " finished_at = CASE state WHEN 'queued' THEN ?4"
                    "   ELSE finished_at END,"
                    " cancel_requested = CASE state WHEN 'running' THEN 1"
                    "   ELSE cancel_requested END"
                    " WHERE id = ?1 AND " OWNER_VISIBLE
                    " AND state IN ('queued', 'running') RETURNING state",
                    "iibi", id, viewer_id, viewer_is_admin, now);
    if (hs == HS_ERR_NOTFOUND) {
        hs =
            sq_get_one(s, read_state, NULL, &final, missing, err,
                       "SELECT state FROM jobs WHERE id = ?1 AND " OWNER_VISIBLE
                       " AND state NOT IN ('queued', 'running')",
                       "iib", id, viewer_id, viewer_is_admin);
        if (hs == HS_OK)
            hs = hs_fail(err, HS_ERR_CONFLICT,
                         "job %lld has already finished (%s)", (long long)id,
                         hs_job_state_name(final));
    }
    sq_unlock(s);
    return hs;
}

static hs_status read_job_counts(sqlite3_stmt *st, void *dst, hs_error *err)
{
    int64_t *counts = dst;
    (void)err;
    for (int i = 0; i < HS_JOB_STATES; i++)
        counts[i] = sqlite3_column_int64(st, i);
    return HS_OK;
}

static void clear_job_counts(void *row)
{
    memset(row, 0, HS_JOB_STATES * sizeof(int64_t));
}

_Static_assert(HS_JOB_STATES == 5, "the job counts count five states");

/* One indexed count per state, columns in hs_job_state order. */
static hs_status sq_job_counts(void *impl, int64_t counts[HS_JOB_STATES],
                               hs_error *err)
{
    return sq_get_one(
        impl, read_job_counts, clear_job_counts, counts,
        "job counts returned no row", err,
        "SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'running'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'failed'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'cancelled')",
        "");
}

/* One pass over the owner's jobs (index jobs_owner_created); a SUM over no
 * rows is NULL, hence the COALESCE. */
static hs_status sq_job_owner_counts(void *impl, hs_id owner_id,
                                     int64_t counts[HS_JOB_STATES],
                                     hs_error *err)
{
    return sq_get_one(impl, read_job_counts, clear_job_counts, counts,
                      "job counts returned no row", err,
                      "SELECT COALESCE(SUM(state = 'queued'), 0),"
                      " COALESCE(SUM(state = 'running'), 0),"
                      " COALESCE(SUM(state = 'succeeded'), 0),"
                      " COALESCE(SUM(state = 'failed'), 0),"
                      " COALESCE(SUM(state = 'cancelled'), 0)"
                      " FROM jobs WHERE owner_id = ?1",
                      "i", owner_id);
}

/* A claim's write, the same for every claim: the queued job whose id the
 * subquery that follows picks (closed by the caller) becomes running,
 * leased to ?2 from ?1 for ?3 seconds. */
#define CLAIM_QUEUED_JOB                                                       \
    "UPDATE jobs SET state = 'running', started_at = ?1,"                      \
    " worker_id = ?2, lease_expires_at = ?1 + ?3"                              \
    " WHERE state = 'queued' AND id = ("

/* A queued job waits while its dataset is being ingested (store.h: the
 * claims skip it), so that it holds no worker meanwhile; a failed
 * ingestion releases it, and its run fails naming the reason. The ingest
 * job itself is the exception. */
#define NOT_WAITING_FOR_INGEST                                                 \
    " AND (jobs.type = '" HS_JOB_TYPE_INGEST "' OR NOT EXISTS (SELECT 1"       \
    " FROM datasets d WHERE d.id = jobs.dataset_id"                            \
    " AND d.state = '" HS_DATASET_INGESTING "'))"

/* One statement picks and takes the job, so no other claimer (thread or
 * process) can slip in between; the outer state test is belt and braces. */
/* types_json is a JSON array of type names the wrapper built and checked
 * (NULL = any type): json_each turns it into rows without any SQL being
 * made from text. */
static hs_status sq_job_claim_next(void *impl, const char *worker_id,
                                   const char *types_json, int64_t now,
                                   int64_t lease_seconds, hs_job_rec *out,
                                   hs_error *err)
{
    return sq_get_one(impl, read_job, release_job, out, "no job is queued", err,
                      CLAIM_QUEUED_JOB "SELECT id FROM jobs"
                      " WHERE state = 'queued' AND (?4 IS NULL OR type IN"
                      " (SELECT value FROM json_each(?4)))"
                      NOT_WAITING_FOR_INGEST " ORDER BY id LIMIT 1)"
                      " RETURNING " JOB_FIELDS,
                      "itiT", now, worker_id, lease_seconds, types_json);
}

/* The owners with queued jobs of the wanted types, each with its oldest
 * such job (one pass over the queued rows, index jobs_state); of those,
 * the owner with the fewest running jobs, then the one whose latest job
 * started longest ago (NULL, never, sorts first), then the oldest job
 * (indexes jobs_owner_state and jobs_owner_started). The claim itself is
 * claim_next's one UPDATE, so it stays atomic. */
static hs_status sq_job_claim_next_fair(void *impl, const char *worker_id,
                                        const char *types_json, int64_t now,
                                        int64_t lease_seconds, hs_job_rec *out,
                                        hs_error *err)
{
    return sq_get_one(
        impl, read_job, release_job, out, "no job is queued", err,
        CLAIM_QUEUED_JOB
        "  WITH owners AS (SELECT owner_id, MIN(id) AS first_id FROM jobs"
        "   WHERE state = 'queued' AND (?4 IS NULL OR type IN"
        "   (SELECT value FROM json_each(?4)))" NOT_WAITING_FOR_INGEST
        "   GROUP BY owner_id)"
        "  SELECT first_id FROM owners o ORDER BY"
        "   (SELECT COUNT(*) FROM jobs r WHERE r.owner_id = o.owner_id"
        "    AND r.state = 'running'),"
        "   (SELECT MAX(started_at) FROM jobs s WHERE s.owner_id = o.owner_id"
        "    AND s.started_at > 0),"
        "   first_id LIMIT 1)"
        " RETURNING " JOB_FIELDS,
        "itiT", now, worker_id, lease_seconds, types_json);
}

/* "job N is not running on this worker" in buf: a worker's write to a job
 * that is not (or no longer) its own. */
static const char *not_leased(sq_msg buf, hs_id id)
{
    snprintf(buf, sizeof(sq_msg), "job %lld is not running on this worker",
             (long long)id);
    return buf;
}

static hs_status sq_job_progress(void *impl, hs_id id, const char *worker_id,
                                 int64_t now, int64_t lease_seconds,
                                 double progress, int64_t round, int64_t rounds,
                                 const char *losses_json, int *cancel_requested,
                                 hs_error *err)
{
    sq_msg missing;
    int flag = 0;
    hs_status hs =
        sq_get_one(impl, read_flag, NULL, &flag, not_leased(missing, id), err,
                   "UPDATE jobs SET progress = ?5, round = ?6, rounds = ?7,"
                   " losses_json = COALESCE(?8, losses_json),"
                   " lease_expires_at = ?3 + ?4"
                   " WHERE " JOB_LEASED_TO " RETURNING cancel_requested",
                   "itiidiiT", id, worker_id, now, lease_seconds, progress,
                   round, rounds, losses_json);
    if (cancel_requested)
        *cancel_requested = hs == HS_OK ? flag : 0;
    return hs;
}

static hs_status sq_job_renew_leases(void *impl, const char *worker_id,
                                     int64_t now, int64_t lease_seconds,
                                     int64_t *renewed, hs_error *err)
{
    return sq_run(impl, renewed, err, "renewing job leases",
                  "UPDATE jobs SET lease_expires_at = ?2 + ?3"
                  " WHERE state = 'running' AND worker_id = ?1",
                  "tii", worker_id, now, lease_seconds);
}

/* NULL attempts leave what the job already has (earlier attempts). */
static hs_status sq_job_finish(void *impl, hs_id id, const char *worker_id,
                               hs_job_state state, const char *error,
                               const char *result_kind, hs_id result_id,
                               const char *attempts_json, int64_t finished_at,
                               hs_error *err)
{
    sq_msg missing;
    int64_t changed = 0;
    hs_status hs = sq_run(
        impl, &changed, err, "finishing a job",
        "UPDATE jobs SET state = ?3, error = ?4, result_kind = ?5,"
        " result_id = " RESULT_REF(
            "?5", "?6") ","
                        " attempts_json = COALESCE(?7, attempts_json), "
                        "finished_at = ?8,"
                        " progress = CASE ?3 WHEN 'succeeded' THEN 1 ELSE "
                        "progress END, " JOB_RELEASED " WHERE " JOB_LEASED_TO,
        "ittttITi", id, worker_id, hs_job_state_name(state), error, result_kind,
        result_id, attempts_json, finished_at);
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "%s", not_leased(missing, id));
    return hs;
}

/* store.h gives requeue no clock, so a job cancelled here is stamped with
 * the last time the store knows it was alive (its start). */
static hs_status sq_job_requeue(void *impl, hs_id id, const char *worker_id,
                                hs_error *err)
{
    sq_store *s = impl;
    sq_msg missing;
    int64_t cancelled = 0, requeued = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs != HS_OK)
        goto done;
    hs = sq_run(s, &cancelled, err, "cancelling a job",
                "UPDATE jobs SET " JOB_CANCELLED
                ", finished_at = max(started_at, created_at)"
                " WHERE " JOB_LEASED_TO " AND cancel_requested = 1",
                "it", id, worker_id);
    if (hs == HS_OK && cancelled == 0)
        hs = sq_run(s, &requeued, err, "re-queueing a job",
                    "UPDATE jobs SET " JOB_REQUEUED " WHERE " JOB_LEASED_TO,
                    "it", id, worker_id);
    if (hs == HS_OK && requeued)
        hs = sq_run(s, NULL, err, "forgetting a re-queued job's attempts",
                    "DELETE FROM job_attempts WHERE job_id = ?1", "i", id);
    if (hs == HS_OK && cancelled + requeued == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "%s", not_leased(missing, id));
    hs = sq_savepoint_end(s, hs, err);
done:
    sq_unlock(s);
    return hs;
}

/* A running job whose worker stopped renewing its lease (?1 is now). */
#define LEASE_EXPIRED "state = 'running' AND lease_expires_at <= ?1"

/* Three sweeps over the expired leases (index jobs_lease), in this order,
 * in one savepoint: cancels that were requested take effect, jobs with
 * restarts left go back to the queue, and what is still running on an
 * expired lease has used them up. A live lease is never touched. */
static hs_status sq_job_recover(void *impl, int64_t now, int64_t max_restarts,
                                int64_t *requeued, int64_t *failed,
                                hs_error *err)
{
    sq_store *s = impl;
    int64_t cancelled = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs != HS_OK)
        goto done;
    hs = sq_run(s, &cancelled, err, "cancelling interrupted jobs",
                "UPDATE jobs SET " JOB_CANCELLED ", finished_at = ?1"
                " WHERE " LEASE_EXPIRED " AND cancel_requested = 1",
                "i", now);
    /* Before the re-queue, which makes them indistinguishable from the
     * queued jobs: the attempts of the runs about to start again. */
    if (hs == HS_OK)
        hs = sq_run(s, NULL, err, "forgetting interrupted jobs' attempts",
                    "DELETE FROM job_attempts WHERE job_id IN (SELECT id"
                    " FROM jobs WHERE " LEASE_EXPIRED " AND restarts < ?2)",
                    "ii", now, max_restarts);
    if (hs == HS_OK)
        hs = sq_run(s, requeued, err, "re-queueing interrupted jobs",
                    "UPDATE jobs SET " JOB_REQUEUED ", restarts = restarts + 1"
                    " WHERE " LEASE_EXPIRED " AND restarts < ?2",
                    "ii", now, max_restarts);
    if (hs == HS_OK)
        hs = sq_run(s, failed, err, "failing interrupted jobs",
                    "UPDATE jobs SET state = 'failed', error = 'interrupted:"
                    " its worker stopped renewing its lease', finished_at = ?1,"
                    " " JOB_RELEASED " WHERE " LEASE_EXPIRED,
                    "i", now);
    hs = sq_savepoint_end(s, hs, err);
done:
    if (hs != HS_OK)
        *requeued = *failed = 0;
    sq_unlock(s);
    return hs;
}

/* The INSERT takes its row from the job while the job is running on the
 * worker: one statement, so the lease cannot change between the check and
 * the write. */
static hs_status sq_job_attempt_add(void *impl, const char *worker_id,
                                    const hs_job_attempt *a, hs_error *err)
{
    sq_store *s = impl;
    sq_msg missing;
    int64_t added = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_run(s, &added, err, "recording a job attempt",
                "INSERT INTO job_attempts (job_id, number, step, algo,"
                " outcome, reason, seconds, params_json)"
                " SELECT ?1, ?3, ?4, ?5, ?6, ?7, ?8, ?9 FROM jobs"
                " WHERE " JOB_LEASED_TO,
                "itittttdt", a->job_id, worker_id, a->number, a->step, a->algo,
                a->outcome, a->reason, a->seconds, a->params_json);
    if (hs == HS_ERR_CONFLICT)
        hs = hs_fail(err, HS_ERR_CONFLICT, "job %lld already has attempt %lld",
                     (long long)a->job_id, (long long)a->number);
    else if (hs == HS_OK && added == 0)
        hs =
            hs_fail(err, HS_ERR_NOTFOUND, "%s", not_leased(missing, a->job_id));
    sq_unlock(s);
    return hs;
}

/* Existence and access first, so that a job without attempts (an empty
 * list) and a job that is not there (HS_ERR_NOTFOUND) differ. */
static hs_status sq_job_attempt_list(void *impl, hs_id job_id, hs_id viewer_id,
                                     int viewer_is_admin,
                                     hs_job_attempt **items, size_t *n,
                                     hs_error *err)
{
    sq_store *s = impl;
    sq_msg missing;
    int visible = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    if (job_id)
        hs = sq_get_one(s, read_flag, NULL, &visible,
                        no_such(missing, "job", job_id), err,
                        "SELECT 1 FROM jobs WHERE id = ?1 AND " OWNER_VISIBLE,
                        "iib", job_id, viewer_id, viewer_is_admin);
    if (hs == HS_OK)
        hs = sq_list(s, read_attempt, release_attempt, sizeof **items,
                     (void **)items, n, err,
                     ATTEMPT_COLS " WHERE (?1 = 0 AND job_id IN (SELECT id"
                                  " FROM jobs WHERE " OWNER_VISIBLE
                                  ")) OR job_id = ?1"
                                  " ORDER BY job_id, number",
                     "iib", job_id, viewer_id, viewer_is_admin);
    sq_unlock(s);
    return hs;
}

/* ---- diagnoses --------------------------------------------------------- */

static hs_status sq_diagnosis_create(void *impl, hs_diagnosis_rec *d,
                                     hs_error *err)
{
    char conflict[HS_STORE_BLOB_KEY_MAX + 48];
    snprintf(conflict, sizeof conflict,
             "a diagnosis with blob key '%s' already exists", d->blob_key);
    return sq_insert(impl, &d->id, conflict,
                     "the owner, model or job of the diagnosis does not exist",
                     err, "creating a diagnosis",
                     "INSERT INTO diagnoses (owner_id, model_id, job_id, name,"
                     " blob_key, rows, summary_json, created_at,"
                     " input_blob_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                     " ?9)",
                     "iIIttitit", d->owner_id, d->model_id, d->job_id, d->name,
                     d->blob_key, d->rows, d->summary_json, d->created_at,
                     d->input_blob_key);
}

static hs_status sq_diagnosis_get(void *impl, hs_id id, hs_id viewer_id,
                                  int viewer_is_admin, hs_diagnosis_rec *out,
                                  hs_error *err)
{
    sq_msg missing;
    return sq_get_one(impl, read_diagnosis, release_diagnosis, out,
                      no_such(missing, "diagnosis", id), err,
                      DIAGNOSIS_COLS " WHERE id = ?1 AND " OWNER_VISIBLE, "iib",
                      id, viewer_id, viewer_is_admin);
}

static hs_status sq_diagnosis_list_with_deleted(void *impl, hs_id viewer_id,
                                                int viewer_is_admin,
                                                int include_deleted,
                                                hs_diagnosis_rec **items,
                                                size_t *n, hs_error *err)
{
    return sq_list(impl, read_diagnosis, release_diagnosis, sizeof **items,
                   (void **)items, n, err,
                   DIAGNOSIS_COLS " WHERE " OWNER_VISIBLE LIVE_UNLESS_ASKED
                                  " ORDER BY created_at DESC, id DESC",
                   "bib", include_deleted, viewer_id, viewer_is_admin);
}

/* The version 1 list: the live diagnoses. */
static hs_status sq_diagnosis_list(void *impl, hs_id viewer_id,
                                   int viewer_is_admin,
                                   hs_diagnosis_rec **items, size_t *n,
                                   hs_error *err)
{
    return sq_diagnosis_list_with_deleted(impl, viewer_id, viewer_is_admin, 0,
                                          items, n, err);
}

static hs_status sq_diagnosis_set_deleted(void *impl, hs_id id,
                                          hs_id viewer_id, int viewer_is_admin,
                                          int64_t deleted_at, hs_error *err)
{
    return sq_set_deleted(impl, "diagnosis", SET_DELETED("diagnoses"), id,
                          viewer_id, viewer_is_admin, deleted_at, err);
}

/* As sq_diagnosis_delete for each (labels go by ON DELETE CASCADE); the
 * keys are the results' and the kept inputs'. */
static hs_status sq_diagnosis_purge(void *impl, int64_t deleted_before,
                                    char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                    size_t *n, hs_error *err)
{
    static const char *const stmts[] = {
        "UPDATE jobs SET result_id = NULL WHERE result_kind = '"
        HS_RESULT_DIAGNOSIS "' AND result_id IN (SELECT id FROM diagnoses"
        TRASHED_BEFORE ")",
        "DELETE FROM diagnoses" TRASHED_BEFORE, NULL};
    return sq_purge(impl,
                    "SELECT blob_key FROM diagnoses" TRASHED_BEFORE
                    " UNION ALL SELECT input_blob_key FROM diagnoses"
                    TRASHED_BEFORE " AND input_blob_key <> ''",
                    stmts, deleted_before, keys, n, err);
}

static hs_status sq_diagnosis_delete(void *impl, hs_id id, hs_id viewer_id,
                                     int viewer_is_admin,
                                     char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                     hs_error *err)
{
    return sq_delete_result(
        impl, "diagnosis", HS_RESULT_DIAGNOSIS,
        "DELETE FROM diagnoses WHERE id = ?1 AND " OWNER_VISIBLE
        " RETURNING blob_key",
        id, viewer_id, viewer_is_admin, blob_key_out, err);
}

static hs_status sq_diagnosis_swap_blob(void *impl, hs_id id,
                                       const char *old_key,
                                       const char *new_key, hs_error *err)
{
    return sq_run_one(impl, "diagnosis", id, err, "replacing results",
                      "UPDATE diagnoses SET blob_key = ?3"
                      " WHERE id = ?1 AND blob_key = ?2",
                      "itt", id, old_key, new_key);
}

#define LABEL_COLS                                                             \
    "SELECT l.diagnosis_id, l.row, l.label, l.user_id,"                        \
    " COALESCE(u.username, ''), l.labelled_at FROM diagnosis_labels l"         \
    " LEFT JOIN users u ON u.id = l.user_id"

static hs_status read_label(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_diagnosis_label *l = dst;
    hs_status hs;
    memset(l, 0, sizeof *l);
    l->diagnosis_id = sqlite3_column_int64(st, 0);
    l->row = sqlite3_column_int64(st, 1);
    l->user_id = sqlite3_column_int64(st, 3);
    l->labelled_at = sqlite3_column_int64(st, 5);
    hs = copy_text(st, 2, l->label, sizeof l->label, err, "label");
    if (hs == HS_OK)
        hs = copy_text(st, 4, l->username, sizeof l->username, err,
                       "username");
    return hs;
}

/* One item of a put: the row checked against the diagnosis's rows, then
 * set (an upsert) or cleared. */
static hs_status put_label(sq_store *s, hs_id diagnosis_id, int64_t rows,
                           const hs_diagnosis_label *l, hs_error *err)
{
    sq_msg missing;
    if (l->row >= rows)
        return hs_fail(err, HS_ERR_INVALID,
                       "row %lld is out of range: diagnosis %lld has %lld "
                       "rows",
                       (long long)l->row, (long long)diagnosis_id,
                       (long long)rows);
    if (!l->label[0])
        return sq_run(s, NULL, err, "clearing a label",
                      "DELETE FROM diagnosis_labels"
                      " WHERE diagnosis_id = ?1 AND row = ?2",
                      "ii", diagnosis_id, l->row);
    return sq_insert(s, NULL, NULL, no_user(missing, l->user_id), err,
                     "labelling a row",
                     "INSERT INTO diagnosis_labels (diagnosis_id, row, label,"
                     " user_id, labelled_at) VALUES (?1, ?2, ?3, ?4, ?5)"
                     " ON CONFLICT (diagnosis_id, row) DO UPDATE"
                     " SET label = excluded.label, user_id = excluded.user_id,"
                     " labelled_at = excluded.labelled_at",
                     "iitIi", diagnosis_id, l->row, l->label, l->user_id,
                     l->labelled_at);
}

/* Every item and the count in one savepoint: all of them land or none. */
static hs_status sq_diagnosis_labels_put(void *impl, hs_id diagnosis_id,
                                         hs_id viewer_id, int viewer_is_admin,
                                         const hs_diagnosis_label *items,
                                         size_t n, int64_t max_labels,
                                         int64_t *total_out, hs_error *err)
{
    sq_store *s = impl;
    sq_msg missing;
    int64_t rows = 0, total = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs == HS_OK) {
        hs = sq_get_one(s, read_count, clear_int64, &rows,
                        no_such(missing, "diagnosis", diagnosis_id), err,
                        "SELECT rows FROM diagnoses WHERE id = ?1 AND "
                        OWNER_VISIBLE,
                        "iib", diagnosis_id, viewer_id, viewer_is_admin);
        for (size_t i = 0; hs == HS_OK && i < n; i++)
            hs = put_label(s, diagnosis_id, rows, &items[i], err);
        if (hs == HS_OK)
            hs = sq_get_one(s, read_count, clear_int64, &total,
                            "no count", err,
                            "SELECT COUNT(*) FROM diagnosis_labels"
                            " WHERE diagnosis_id = ?1",
                            "i", diagnosis_id);
        if (hs == HS_OK && max_labels > 0 && total > max_labels)
            hs = hs_fail(err, HS_ERR_INVALID,
                         "diagnosis %lld would have %lld labelled rows; at "
                         "most %lld",
                         (long long)diagnosis_id, (long long)total,
                         (long long)max_labels);
        hs = sq_savepoint_end(s, hs, err);
    }
    sq_unlock(s);
    *total_out = hs == HS_OK ? total : 0;
    return hs;
}

static hs_status sq_diagnosis_labels_list(void *impl, hs_id diagnosis_id,
                                          hs_id viewer_id, int viewer_is_admin,
                                          hs_diagnosis_label **items,
                                          size_t *n, hs_error *err)
{
    sq_store *s = impl;
    sq_msg missing;
    int visible = 0;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_get_one(s, read_flag, NULL, &visible,
                    no_such(missing, "diagnosis", diagnosis_id), err,
                    "SELECT 1 FROM diagnoses WHERE id = ?1 AND " OWNER_VISIBLE,
                    "iib", diagnosis_id, viewer_id, viewer_is_admin);
    if (hs == HS_OK)
        hs = sq_list(s, read_label, NULL, sizeof **items, (void **)items, n,
                     err, LABEL_COLS " WHERE l.diagnosis_id = ?1 ORDER BY l.row",
                     "i", diagnosis_id);
    sq_unlock(s);
    return hs;
}

/* ---- preferences ------------------------------------------------------- */

static hs_status read_prefs(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return dup_text(st, 0, dst, err, "preferences");
}

static void release_prefs(void *row)
{
    free(*(char **)row);
    *(char **)row = NULL;
}

static hs_status sq_user_prefs_get(void *impl, hs_id user_id, char **json_out,
                                   hs_error *err)
{
    return sq_get_one(impl, read_prefs, release_prefs, json_out,
                      "no preferences saved", err,
                      "SELECT prefs_json FROM user_prefs WHERE user_id = ?1",
                      "i", (int64_t)user_id);
}

static hs_status sq_user_prefs_set(void *impl, hs_id user_id,
                                   const char *prefs_json, int64_t now,
                                   hs_error *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "user %lld does not exist",
             (long long)user_id);
    return sq_insert(impl, NULL, NULL, missing, err, "saving preferences",
                     "INSERT INTO user_prefs (user_id, prefs_json, updated_at)"
                     " VALUES (?1, ?2, ?3) ON CONFLICT (user_id) DO UPDATE"
                     " SET prefs_json = excluded.prefs_json,"
                     " updated_at = excluded.updated_at",
                     "iti", (int64_t)user_id, prefs_json, now);
}

/* ---- topologies and analyses (version 6) -------------------------------- */

/* The get and the list of a resource with the access rule and the trash
 * of datasets (topologies, analyses): `sql` its SELECT ... FROM ... WHERE
 * (OWNED_ONE). */
static hs_status sq_owned_get(sq_store *s, row_reader read,
                              row_release release, void *out,
                              const char *kind, const char *sql, hs_id id,
                              hs_id viewer_id, int viewer_is_admin,
                              hs_error *err)
{
    sq_msg missing;
    return sq_get_one(s, read, release, out, no_such(missing, kind, id), err,
                      sql, "iib", id, viewer_id, viewer_is_admin);
}
#define OWNED_ONE(cols) cols " WHERE id = ?1 AND " OWNER_VISIBLE
#define OWNED_ALL(cols)                                                        \
    cols " WHERE " OWNER_VISIBLE LIVE_UNLESS_ASKED                             \
         " ORDER BY created_at DESC, id DESC"

#define TOPOLOGY_COLS                                                          \
    "SELECT id, owner_id, name, format, blob_key, size_bytes, nodes, edges,"   \
    " bidirectional_edges, kinds_json, created_at, deleted_at FROM topologies"

static hs_status read_topology(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_topology_rec *t = dst;
    memset(t, 0, sizeof *t);
    t->id = sqlite3_column_int64(st, 0);
    t->owner_id = sqlite3_column_int64(st, 1);
    t->size_bytes = sqlite3_column_int64(st, 5);
    t->nodes = sqlite3_column_int64(st, 6);
    t->edges = sqlite3_column_int64(st, 7);
    t->bidirectional_edges = sqlite3_column_int64(st, 8);
    t->created_at = sqlite3_column_int64(st, 10);
    t->deleted_at = sqlite3_column_int64(st, 11);
    hs_status hs = copy_text(st, 2, t->name, sizeof t->name, err,
                             "topology name");
    if (hs == HS_OK)
        hs = copy_text(st, 3, t->format, sizeof t->format, err,
                       "topology format");
    if (hs == HS_OK)
        hs = copy_text(st, 4, t->blob_key, sizeof t->blob_key, err, "blob key");
    if (hs == HS_OK) /* last: a failure above has allocated nothing */
        hs = dup_text(st, 9, &t->kinds_json, err, "topology kinds");
    return hs;
}

static void release_topology(void *row)
{
    hs_topology_rec_free(row);
}

static hs_status sq_topology_create(void *impl, hs_topology_rec *t,
                                    hs_error *err)
{
    char conflict[HS_STORE_BLOB_KEY_MAX + 48];
    sq_msg missing;
    snprintf(conflict, sizeof conflict,
             "a topology with blob key '%s' already exists", t->blob_key);
    return sq_insert(impl, &t->id, conflict, no_user(missing, t->owner_id),
                     err, "creating a topology",
                     "INSERT INTO topologies (owner_id, name, format, blob_key,"
                     " size_bytes, nodes, edges, bidirectional_edges,"
                     " kinds_json, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                     " ?7, ?8, ?9, ?10)",
                     "itttiiiiti", t->owner_id, t->name, t->format,
                     t->blob_key, t->size_bytes, t->nodes, t->edges,
                     t->bidirectional_edges, t->kinds_json, t->created_at);
}

static hs_status sq_topology_get(void *impl, hs_id id, hs_id viewer_id,
                                 int viewer_is_admin, hs_topology_rec *out,
                                 hs_error *err)
{
    return sq_owned_get(impl, read_topology, release_topology, out,
                        "topology", OWNED_ONE(TOPOLOGY_COLS), id, viewer_id,
                        viewer_is_admin, err);
}

static hs_status sq_topology_list(void *impl, hs_id viewer_id,
                                  int viewer_is_admin, int include_deleted,
                                  hs_topology_rec **items, size_t *n,
                                  hs_error *err)
{
    return sq_list(impl, read_topology, release_topology, sizeof **items,
                   (void **)items, n, err, OWNED_ALL(TOPOLOGY_COLS), "bib",
                   include_deleted, viewer_id, viewer_is_admin);
}

static hs_status sq_topology_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                         int viewer_is_admin,
                                         int64_t deleted_at, hs_error *err)
{
    return sq_set_deleted(impl, "topology", SET_DELETED("topologies"), id,
                          viewer_id, viewer_is_admin, deleted_at, err);
}

/* Analyses and jobs that name a purged topology keep NULL (SET NULL). */
static hs_status sq_topology_purge(void *impl, int64_t deleted_before,
                                   char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                   size_t *n, hs_error *err)
{
    static const char *const stmts[] = {
        "DELETE FROM topologies" TRASHED_BEFORE, NULL};
    return sq_purge(impl, "SELECT blob_key FROM topologies" TRASHED_BEFORE,
                    stmts, deleted_before, keys, n, err);
}

#define ANALYSIS_COLS                                                          \
    "SELECT id, owner_id, job_id, model_id, topology_id, dataset_id, name,"    \
    " normal, top, incidents, topology_nodes, csv_blob_key, json_blob_key,"    \
    " incidents_blob_key, summary_json, created_at, deleted_at,"               \
    " COALESCE((SELECT deleted_at FROM models"                                 \
    "  WHERE models.id = analyses.model_id), 0),"                              \
    " (SELECT class_names_json FROM models"                                    \
    "  WHERE models.id = analyses.model_id) FROM analyses"

static hs_status read_analysis(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_analysis_rec *a = dst;
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(st, 0);
    a->owner_id = sqlite3_column_int64(st, 1);
    a->job_id = sqlite3_column_int64(st, 2);
    a->model_id = sqlite3_column_int64(st, 3);
    a->topology_id = sqlite3_column_int64(st, 4);
    a->dataset_id = sqlite3_column_int64(st, 5);
    a->top = sqlite3_column_int64(st, 8);
    a->incidents = sqlite3_column_int64(st, 9);
    a->topology_nodes = sqlite3_column_int64(st, 10);
    a->created_at = sqlite3_column_int64(st, 15);
    a->deleted_at = sqlite3_column_int64(st, 16);
    a->model_deleted_at = sqlite3_column_int64(st, 17);
    hs_status hs = copy_text(st, 6, a->name, sizeof a->name, err,
                             "analysis name");
    if (hs == HS_OK)
        hs = copy_text(st, 7, a->normal, sizeof a->normal, err,
                       "analysis normal class");
    if (hs == HS_OK)
        hs = copy_text(st, 11, a->csv_blob_key, sizeof a->csv_blob_key, err,
                       "blob key");
    if (hs == HS_OK)
        hs = copy_text(st, 12, a->json_blob_key, sizeof a->json_blob_key, err,
                       "blob key");
    if (hs == HS_OK)
        hs = copy_text(st, 13, a->incidents_blob_key,
                       sizeof a->incidents_blob_key, err, "blob key");
    if (hs == HS_OK) /* last: a failure above has allocated nothing */
        hs = dup_text(st, 14, &a->summary_json, err, "analysis summary");
    if (hs == HS_OK && (hs = dup_text(st, 18, &a->model_class_names_json, err,
                                      "model class names")) != HS_OK)
        hs_analysis_rec_free(a);
    return hs;
}

static void release_analysis(void *row)
{
    hs_analysis_rec_free(row);
}

static hs_status sq_analysis_create(void *impl, hs_analysis_rec *a,
                                    hs_error *err)
{
    return sq_insert(impl, &a->id, "an analysis with one of these blob keys "
                                   "already exists",
                     "the owner, job, model, topology or dataset of the "
                     "analysis does not exist",
                     err, "creating an analysis",
                     "INSERT INTO analyses (owner_id, job_id, model_id,"
                     " topology_id, dataset_id, name, normal, top, incidents,"
                     " topology_nodes, csv_blob_key, json_blob_key,"
                     " incidents_blob_key, summary_json, created_at) VALUES"
                     " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
                     " ?14, ?15)",
                     "iIIIIttiiitttti", a->owner_id, a->job_id, a->model_id,
                     a->topology_id, a->dataset_id, a->name, a->normal, a->top,
                     a->incidents, a->topology_nodes, a->csv_blob_key,
                     a->json_blob_key, a->incidents_blob_key, a->summary_json,
                     a->created_at);
}

static hs_status sq_analysis_get(void *impl, hs_id id, hs_id viewer_id,
                                 int viewer_is_admin, hs_analysis_rec *out,
                                 hs_error *err)
{
    return sq_owned_get(impl, read_analysis, release_analysis, out,
                        "analysis", OWNED_ONE(ANALYSIS_COLS), id, viewer_id,
                        viewer_is_admin, err);
}

static hs_status sq_analysis_list(void *impl, hs_id viewer_id,
                                  int viewer_is_admin, int include_deleted,
                                  hs_analysis_rec **items, size_t *n,
                                  hs_error *err)
{
    return sq_list(impl, read_analysis, release_analysis, sizeof **items,
                   (void **)items, n, err, OWNED_ALL(ANALYSIS_COLS), "bib",
                   include_deleted, viewer_id, viewer_is_admin);
}

static hs_status sq_analysis_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                         int viewer_is_admin,
                                         int64_t deleted_at, hs_error *err)
{
    return sq_set_deleted(impl, "analysis", SET_DELETED("analyses"), id,
                          viewer_id, viewer_is_admin, deleted_at, err);
}

/* An analysis's three blobs, for the rows a WHERE (W) picks. */
#define ANALYSIS_KEYS(W)                                                       \
    "SELECT csv_blob_key FROM analyses" W                                      \
    " UNION ALL SELECT json_blob_key FROM analyses" W                          \
    " UNION ALL SELECT incidents_blob_key FROM analyses" W

static hs_status sq_analysis_purge(void *impl, int64_t deleted_before,
                                   char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                   size_t *n, hs_error *err)
{
    static const char *const stmts[] = {
        "UPDATE jobs SET result_id = NULL WHERE result_kind = '"
        HS_RESULT_ANALYSIS "' AND result_id IN (SELECT id FROM analyses"
        TRASHED_BEFORE ")",
        "DELETE FROM analyses" TRASHED_BEFORE, NULL};
    return sq_purge(impl, ANALYSIS_KEYS(TRASHED_BEFORE), stmts,
                    deleted_before, keys, n, err);
}

/* One analysis deleted now: its keys, the jobs' result cleared and the
 * row gone in one savepoint. */
static hs_status sq_analysis_delete(void *impl, hs_id id, hs_id viewer_id,
                                    int viewer_is_admin,
                                    char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                    size_t *n, hs_error *err)
{
#define ONE_ANALYSIS " WHERE id = ?1 AND " OWNER_VISIBLE
    sq_store *s = impl;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs == HS_OK) {
        hs = sq_list(s, read_blob_key, NULL, sizeof **keys, (void **)keys, n,
                     err, ANALYSIS_KEYS(ONE_ANALYSIS), "iib", id, viewer_id,
                     viewer_is_admin);
        if (hs == HS_OK && *n == 0)
            hs = hs_fail(err, HS_ERR_NOTFOUND, "analysis %lld does not exist",
                         (long long)id);
        if (hs == HS_OK)
            hs = sq_run(s, NULL, err, "clearing job results",
                        "UPDATE jobs SET result_id = NULL"
                        " WHERE result_kind = ?1 AND result_id = ?2",
                        "ti", HS_RESULT_ANALYSIS, id);
        if (hs == HS_OK)
            hs = sq_run(s, NULL, err, "deleting an analysis",
                        "DELETE FROM analyses" ONE_ANALYSIS, "iib", id,
                        viewer_id, viewer_is_admin);
        hs = sq_savepoint_end(s, hs, err);
        if (hs != HS_OK) {
            free(*keys);
            *keys = NULL;
            *n = 0;
        }
    }
    sq_unlock(s);
    return hs;
#undef ONE_ANALYSIS
}

/* ---- the outbox of alerts (version 9) ----------------------------------- */

#define OUTBOX_COLS                                                            \
    "id, channel, kind, recipient, user_id, subject, body, created_at,"       \
    " state, attempts, next_attempt_at, sent_at, last_error"

static hs_status read_outbox(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_outbox_msg *m = dst;
    hs_status hs;
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    hs = copy_text(st, 1, m->channel, sizeof m->channel, err, "outbox channel");
    if (hs == HS_OK)
        hs = copy_text(st, 2, m->kind, sizeof m->kind, err, "outbox kind");
    if (hs == HS_OK)
        hs = copy_text(st, 3, m->recipient, sizeof m->recipient, err,
                       "outbox recipient");
    m->user_id = sqlite3_column_int64(st, 4);
    if (hs == HS_OK)
        hs = copy_text(st, 5, m->subject, sizeof m->subject, err,
                       "outbox subject");
    if (hs == HS_OK)
        hs = copy_text(st, 6, m->body, sizeof m->body, err, "outbox body");
    m->created_at = sqlite3_column_int64(st, 7);
    if (hs == HS_OK)
        hs = copy_text(st, 8, m->state, sizeof m->state, err, "outbox state");
    m->attempts = sqlite3_column_int64(st, 9);
    m->next_attempt_at = sqlite3_column_int64(st, 10);
    m->sent_at = sqlite3_column_int64(st, 11);
    if (hs == HS_OK)
        hs = copy_text(st, 12, m->last_error, sizeof m->last_error, err,
                       "outbox error");
    return hs;
}

static hs_status sq_outbox_add(void *impl, hs_outbox_msg *m, hs_error *err)
{
    sq_msg missing;
    return sq_insert(impl, &m->id, "duplicate outbox message",
                     no_user(missing, m->user_id), err,
                     "queueing an outgoing message",
                     "INSERT INTO outbox (channel, kind, recipient, user_id,"
                     " subject, body, created_at, next_attempt_at)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                     "tttIttii", m->channel, m->kind, m->recipient, m->user_id,
                     m->subject, m->body, m->created_at, m->next_attempt_at);
}

static int outbox_by_id(const void *a, const void *b)
{
    hs_id x = ((const hs_outbox_msg *)a)->id, y = ((const hs_outbox_msg *)b)->id;
    return (x > y) - (x < y);
}

/* One UPDATE ... RETURNING: a row claimed here cannot be claimed by
 * another connection until its hold ends (RETURNING's order is SQLite's,
 * so the rows are sorted after). */
static hs_status sq_outbox_claim(void *impl, int64_t now, int64_t hold_seconds,
                                 size_t limit, hs_outbox_msg **items, size_t *n,
                                 hs_error *err)
{
    hs_status hs = sq_list(
        impl, read_outbox, NULL, sizeof **items, (void **)items, n, err,
        "UPDATE outbox SET next_attempt_at = ?1 + ?2 WHERE id IN"
        " (SELECT id FROM outbox WHERE state = 'pending'"
        "  AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?3)"
        " RETURNING " OUTBOX_COLS,
        "iii", now, hold_seconds, (int64_t)limit);
    if (hs == HS_OK && *n > 1)
        qsort(*items, *n, sizeof **items, outbox_by_id);
    return hs;
}

static hs_status sq_outbox_next_due(void *impl, int64_t *at, hs_error *err)
{
    return sq_get_one(impl, read_time, clear_int64, at,
                      "no outgoing message is pending", err,
                      "SELECT next_attempt_at FROM outbox"
                      " WHERE state = 'pending'"
                      " ORDER BY next_attempt_at LIMIT 1",
                      "");
}

static hs_status sq_outbox_sent(void *impl, hs_id id, int64_t at,
                                hs_error *err)
{
    return sq_run_one(impl, "pending outbox message", id, err,
                      "recording a delivery",
                      "UPDATE outbox SET state = 'sent', sent_at = ?2,"
                      " attempts = attempts + 1, body = ''"
                      " WHERE id = ?1 AND state = 'pending'",
                      "ii", id, at);
}

static hs_status sq_outbox_failed(void *impl, hs_id id, const char *error,
                                  int64_t retry_at, int give_up, hs_error *err)
{
    return sq_run_one(impl, "pending outbox message", id, err,
                      "recording a failed delivery",
                      "UPDATE outbox SET attempts = attempts + 1,"
                      " last_error = ?2, next_attempt_at = ?3,"
                      " state = CASE WHEN ?4 THEN 'failed' ELSE state END,"
                      " body = CASE WHEN ?4 THEN '' ELSE body END"
                      " WHERE id = ?1 AND state = 'pending'",
                      "itib", id, error, retry_at, give_up);
}

static hs_status sq_outbox_get(void *impl, hs_id id, hs_outbox_msg *out,
                               hs_error *err)
{
    sq_msg missing;
    return sq_get_one(impl, read_outbox, NULL, out,
                      no_such(missing, "outbox message", id), err,
                      "SELECT " OUTBOX_COLS " FROM outbox WHERE id = ?1", "i",
                      id);
}

static hs_status sq_outbox_purge(void *impl, int64_t before, int64_t *removed,
                                 hs_error *err)
{
    return sq_run(impl, removed, err, "purging the outbox",
                  "DELETE FROM outbox WHERE state <> 'pending'"
                  " AND created_at < ?1",
                  "i", before);
}

/* ---- the audit log and the refusal tallies (version 10) --------------- */

#define AUDIT_COLS                                                             \
    "SELECT id, at, actor_id, actor_name, action, target_kind, target_id,"    \
    " target_name, address, detail FROM audit_log"

static hs_status read_audit(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_audit_rec *a = dst;
    hs_status hs;
    memset(a, 0, sizeof *a);
    a->id = sqlite3_column_int64(st, 0);
    a->at = sqlite3_column_int64(st, 1);
    a->actor_id = sqlite3_column_int64(st, 2);
    a->target_id = sqlite3_column_int64(st, 6);
    if ((hs = copy_text(st, 3, a->actor_name, sizeof a->actor_name, err,
                           "actor name")) ||
        (hs = copy_text(st, 4, a->action, sizeof a->action, err,
                           "action")) ||
        (hs = copy_text(st, 5, a->target_kind, sizeof a->target_kind, err,
                           "target kind")) ||
        (hs = copy_text(st, 7, a->target_name, sizeof a->target_name, err,
                           "target name")) ||
        (hs = copy_text(st, 8, a->address, sizeof a->address, err,
                           "address")))
        return hs;
    return copy_text(st, 9, a->detail, sizeof a->detail, err,
                           "detail");
}

static hs_status sq_audit_add(void *impl, hs_audit_rec *a, hs_error *err)
{
    return sq_insert(impl, &a->id, NULL, NULL, err, "appending to the audit log",
                     "INSERT INTO audit_log (at, actor_id, actor_name, action,"
                     " target_kind, target_id, target_name, address, detail)"
                     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                     "iitttittt", a->at, a->actor_id, a->actor_name, a->action,
                     a->target_kind, a->target_id, a->target_name, a->address,
                     a->detail);
}

static hs_status sq_audit_list(void *impl, const hs_audit_filter *f,
                               hs_audit_rec **items, size_t *n, hs_error *err)
{
    return sq_list(impl, read_audit, NULL, sizeof **items, (void **)items, n,
                   err,
                   AUDIT_COLS " WHERE (?1 = '' OR action = ?1)"
                   " AND (?2 = '' OR actor_name = ?2)"
                   " AND (?3 = 0 OR at >= ?3) AND (?4 = 0 OR at < ?4)"
                   " AND (?5 = 0 OR id < ?5) ORDER BY id DESC LIMIT ?6",
                   "ttiiii", f->action, f->actor_name, f->since, f->until,
                   f->before_id, f->limit);
}

/* A tally row as the aggregations return it: their SELECTs name the
 * columns they do not group by as '' or 0. */
static hs_status read_tally(sqlite3_stmt *st, void *dst, hs_error *err)
{
    hs_tally *t = dst;
    hs_status hs;
    memset(t, 0, sizeof *t);
    t->bucket = sqlite3_column_int64(st, 0);
    t->count = sqlite3_column_int64(st, 4);
    if ((hs = copy_text(st, 1, t->route, sizeof t->route, err,
                           "route")) ||
        (hs = copy_text(st, 2, t->source, sizeof t->source, err,
                           "source")))
        return hs;
    return copy_text(st, 3, t->kind, sizeof t->kind, err,
                           "kind");
}

static hs_status sq_tally_add(void *impl, const hs_tally *items, size_t n,
                              hs_error *err)
{
    sq_store *s = impl;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs == HS_OK) {
        for (size_t i = 0; i < n && hs == HS_OK; i++)
            hs = sq_run(s, NULL, err, "adding to a tally",
                        "INSERT INTO refusal_tallies"
                        " (bucket, route, source, kind, count)"
                        " VALUES (?1, ?2, ?3, ?4, ?5)"
                        " ON CONFLICT (bucket, route, source, kind)"
                        " DO UPDATE SET count = count + excluded.count",
                        "ittti", items[i].bucket,
                        items[i].route, items[i].source, items[i].kind,
                        items[i].count);
        hs = sq_savepoint_end(s, hs, err);
    }
    sq_unlock(s);
    return hs;
}

static hs_status sq_tally_series(void *impl, int64_t since, int64_t until,
                                 int64_t bucket_seconds, hs_tally **items,
                                 size_t *n, hs_error *err)
{
    return sq_list(impl, read_tally, NULL, sizeof **items, (void **)items, n,
                   err,
                   "SELECT (bucket / ?3) * ?3 AS b, '', '', kind, SUM(count)"
                   " FROM refusal_tallies WHERE bucket >= ?1 AND bucket < ?2"
                   " GROUP BY b, kind ORDER BY b, kind",
                   "iii", since, until, bucket_seconds);
}

/* The top keys by total in a CTE, then their rows per kind; `key` is the
 * column grouped by (a fixed name, never caller text). */
#define TALLY_TOP(key, cols)                                                   \
    "WITH t AS (SELECT " key " AS k, SUM(count) AS total"                      \
    " FROM refusal_tallies WHERE bucket >= ?1 AND bucket < ?2"                 \
    " GROUP BY k ORDER BY total DESC, k LIMIT ?3)"                             \
    " SELECT 0, " cols ", r.kind, SUM(r.count) FROM refusal_tallies r"          \
    " JOIN t ON r." key " = t.k WHERE r.bucket >= ?1 AND r.bucket < ?2"        \
    " GROUP BY r." key ", r.kind ORDER BY MAX(t.total) DESC, r." key ", r.kind"

static hs_status sq_tally_top(void *impl, int64_t since, int64_t until,
                              int by_source, int64_t limit, hs_tally **items,
                              size_t *n, hs_error *err)
{
    return sq_list(impl, read_tally, NULL, sizeof **items, (void **)items, n,
                   err,
                   by_source ? TALLY_TOP("source", "'', r.source")
                             : TALLY_TOP("route", "r.route, ''"),
                   "iii", since, until, limit);
}
#undef TALLY_TOP

static hs_status sq_tally_prune(void *impl, int64_t before, int64_t *removed,
                                hs_error *err)
{
    return sq_run(impl, removed, err, "pruning refusal tallies",
                  "DELETE FROM refusal_tallies WHERE bucket < ?1", "i", before);
}

static hs_status sq_event_series(void *impl, int64_t since, int64_t until,
                                 int64_t bucket_seconds, hs_tally **items,
                                 size_t *n, hs_error *err)
{
    return sq_list(impl, read_tally, NULL, sizeof **items, (void **)items, n,
                   err,
                   "SELECT (at / ?3) * ?3 AS b, '', '', kind, COUNT(*)"
                   " FROM account_events WHERE at >= ?1 AND at < ?2"
                   " GROUP BY b, kind ORDER BY b, kind",
                   "iii", since, until, bucket_seconds);
}

/* ---- open / close ------------------------------------------------------ */

/* Every statement is finalized by the call that made it, so close cannot
 * be refused for pending statements; no transaction can be open either,
 * since hs_store_transact ends its own before returning. */
static void sq_close(hs_store *store)
{
    sq_store *s = store->impl;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
    free(store);
}

static const hs_store_user_ops sq_users = {
    .create = sq_user_create,
    .get = sq_user_get,
    .get_by_name = sq_user_get_by_name,
    .list = sq_user_list,
    .count = sq_user_count,
    .count_admins = sq_user_count_admins,
    .update = sq_user_update,
};

static const hs_store_event_ops sq_events = {
    .add = sq_event_add,
    .list = sq_event_list,
    .latest = sq_event_latest,
    .login_failures_since = sq_login_failures_since,
};

static const hs_store_session_ops sq_sessions = {
    .create = sq_session_create,
    .get_by_token_hash = sq_session_get_by_token_hash,
    .touch = sq_session_touch,
    .remove = sq_session_delete,
    .remove_for_user = sq_session_delete_for_user,
    .remove_expired = sq_session_delete_expired,
};

static const hs_store_notification_ops sq_notifications = {
    .add = sq_notification_add,
    .list = sq_notification_list,
    .mark_read = sq_notification_mark_read,
    .get = sq_notification_get,
};

static const hs_store_prefs_ops sq_prefs = {
    .get = sq_user_prefs_get,
    .set = sq_user_prefs_set,
};

static const hs_store_dataset_ops sq_datasets = {
    .create = sq_dataset_create,
    .get = sq_dataset_get,
    .list = sq_dataset_list,
    .set_deleted = sq_dataset_set_deleted,
    .set_profile = sq_dataset_set_profile,
    .purge = sq_dataset_purge,
    .finish_ingest = sq_dataset_finish_ingest,
    .reject_ingest = sq_dataset_reject_ingest,
    .reopen_ingest = sq_dataset_reopen_ingest,
};

static const hs_store_model_ops sq_models = {
    .create = sq_model_create,
    .get = sq_model_get,
    .list = sq_model_list,
    .remove = sq_model_delete,
    .class_names_put = sq_model_class_names_put,
    .list_with_deleted = sq_model_list_with_deleted,
    .set_deleted = sq_model_set_deleted,
    .purge = sq_model_purge,
};

/* One file and no server: nothing can tell this process that another one
 * queued a job, so the answer is "no news" at once and the runner polls
 * (store.h). */
static hs_status sq_job_wait_queued(void *impl, int64_t timeout_ms,
                                    int *notified, hs_error *err)
{
    (void)impl;
    (void)timeout_ms;
    (void)err;
    *notified = 0;
    return HS_OK;
}

static hs_status sq_job_result_of(void *impl, hs_id job_id, const char *kind,
                                  hs_id except_id, hs_id *result_id,
                                  hs_error *err)
{
    sq_msg missing;
    snprintf(missing, sizeof missing, "job %lld made no %s",
             (long long)job_id, kind);
    /* The wrapper admits only these three kinds. */
    const char *sql =
        strcmp(kind, HS_RESULT_MODEL) == 0
            ? "SELECT id FROM models WHERE job_id = ?1 AND id <> ?2"
              " AND deleted_at = 0 ORDER BY id DESC LIMIT 1"
        : strcmp(kind, HS_RESULT_DIAGNOSIS) == 0
            ? "SELECT id FROM diagnoses WHERE job_id = ?1 AND id <> ?2"
              " AND deleted_at = 0 ORDER BY id DESC LIMIT 1"
            : "SELECT id FROM analyses WHERE job_id = ?1 AND id <> ?2"
              " AND deleted_at = 0 ORDER BY id DESC LIMIT 1";
    return sq_get_one(impl, read_count, clear_int64, result_id, missing, err,
                      sql, "ii", job_id, except_id);
}

static const hs_store_job_ops sq_jobs = {
    .create = sq_job_create,
    .get = sq_job_get,
    .list = sq_job_list,
    .cancel = sq_job_cancel,
    .counts = sq_job_counts,
    .owner_counts = sq_job_owner_counts,
    .claim_next = sq_job_claim_next,
    .progress = sq_job_progress,
    .renew_leases = sq_job_renew_leases,
    .finish = sq_job_finish,
    .requeue = sq_job_requeue,
    .recover = sq_job_recover,
    .attempt_add = sq_job_attempt_add,
    .attempt_list = sq_job_attempt_list,
    .claim_next_fair = sq_job_claim_next_fair,
    .wait_queued = sq_job_wait_queued,
    .result_of = sq_job_result_of,
};

static const hs_store_diagnosis_ops sq_diagnoses = {
    .create = sq_diagnosis_create,
    .get = sq_diagnosis_get,
    .list = sq_diagnosis_list,
    .remove = sq_diagnosis_delete,
    .swap_blob = sq_diagnosis_swap_blob,
    .labels_put = sq_diagnosis_labels_put,
    .labels_list = sq_diagnosis_labels_list,
    .list_with_deleted = sq_diagnosis_list_with_deleted,
    .set_deleted = sq_diagnosis_set_deleted,
    .purge = sq_diagnosis_purge,
};

static const hs_store_topology_ops sq_topologies = {
    .create = sq_topology_create,
    .get = sq_topology_get,
    .list = sq_topology_list,
    .set_deleted = sq_topology_set_deleted,
    .purge = sq_topology_purge,
};

static const hs_store_analysis_ops sq_analyses = {
    .create = sq_analysis_create,
    .get = sq_analysis_get,
    .list = sq_analysis_list,
    .set_deleted = sq_analysis_set_deleted,
    .purge = sq_analysis_purge,
    .remove = sq_analysis_delete,
};

static const hs_store_login_ops sq_logins = {
    .backoff_get = sq_backoff_get,
    .backoff_fail = sq_backoff_fail,
    .backoff_clear = sq_backoff_clear,
    .backoff_purge = sq_backoff_purge,
    .unlock_create = sq_unlock_create,
    .unlock_get = sq_unlock_get,
    .unlock_use = sq_unlock_use,
    .unlock_revoke = sq_unlock_revoke,
    .unlock_purge = sq_unlock_purge,
    .sessions_end_others = sq_sessions_end_others,
};

static const hs_store_outbox_ops sq_outbox = {
    .add = sq_outbox_add,
    .claim = sq_outbox_claim,
    .next_due = sq_outbox_next_due,
    .sent = sq_outbox_sent,
    .failed = sq_outbox_failed,
    .get = sq_outbox_get,
    .purge = sq_outbox_purge,
};

/* ---- sealed fields (version 11) --------------------------------------- */

/* Fixed SQL per sealed field (no caller text reaches SQL). */
static const struct {
    const char *ids, *get, *put, *what;
} SEALED_SQL[HS_SEALED_FIELDS] = {
    [HS_SEALED_DATASET_PROFILE] =
        {"SELECT id FROM datasets WHERE profile_json IS NOT NULL ORDER BY id",
         "SELECT profile_json FROM datasets WHERE id = ?1",
         "UPDATE datasets SET profile_json = ?3 WHERE id = ?1"
         " AND profile_json = ?2",
         "dataset"},
    [HS_SEALED_MODEL_SUMMARY] =
        {"SELECT id FROM models WHERE summary_json IS NOT NULL ORDER BY id",
         "SELECT summary_json FROM models WHERE id = ?1",
         "UPDATE models SET summary_json = ?3 WHERE id = ?1"
         " AND summary_json = ?2",
         "model"},
    [HS_SEALED_MODEL_FEEDBACK] =
        {"SELECT id FROM models WHERE feedback_json IS NOT NULL ORDER BY id",
         "SELECT feedback_json FROM models WHERE id = ?1",
         "UPDATE models SET feedback_json = ?3 WHERE id = ?1"
         " AND feedback_json = ?2",
         "model"},
    [HS_SEALED_DIAGNOSIS_SUMMARY] =
        {"SELECT id FROM diagnoses WHERE summary_json IS NOT NULL ORDER BY id",
         "SELECT summary_json FROM diagnoses WHERE id = ?1",
         "UPDATE diagnoses SET summary_json = ?3 WHERE id = ?1"
         " AND summary_json = ?2",
         "diagnosis"},
};

static hs_status sq_sealed_ids(void *impl, hs_sealed_field field, hs_id **ids,
                               size_t *n, hs_error *err)
{
    return sq_list(impl, read_count, NULL, sizeof **ids, (void **)ids, n, err,
                   SEALED_SQL[field].ids, "");
}

static hs_status read_sealed(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return dup_text(st, 0, dst, err, "sealed value");
}

static void release_text(void *row)
{
    free(*(char **)row);
    *(char **)row = NULL;
}

static hs_status sq_sealed_get(void *impl, hs_sealed_field field, hs_id id,
                               char **text, hs_error *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "%s %lld does not exist",
             SEALED_SQL[field].what, (long long)id);
    return sq_get_one(impl, read_sealed, release_text, text, missing, err,
                      SEALED_SQL[field].get, "i", id);
}

static hs_status sq_sealed_put(void *impl, hs_sealed_field field, hs_id id,
                               const char *old_text, const char *text,
                               hs_error *err)
{
    int64_t changed = 0;
    char *now = NULL;
    hs_status hs = sq_run(impl, &changed, err, "rewriting a sealed value",
                          SEALED_SQL[field].put, "itt", id, old_text, text);
    if (hs != HS_OK || changed)
        return hs;
    /* Nothing changed: the record is gone, or its value changed. */
    hs = sq_sealed_get(impl, field, id, &now, err);
    free(now);
    return hs != HS_OK ? hs
                       : hs_fail(err, HS_ERR_CONFLICT,
                                 "%s %lld changed meanwhile",
                                 SEALED_SQL[field].what, (long long)id);
}

static const hs_store_sealed_ops sq_sealed = {
    .ids = sq_sealed_ids,
    .get = sq_sealed_get,
    .put = sq_sealed_put,
};

static const hs_store_audit_ops sq_audit = {
    .add = sq_audit_add,
    .list = sq_audit_list,
};

static const hs_store_tally_ops sq_tallies = {
    .add = sq_tally_add,
    .series = sq_tally_series,
    .top = sq_tally_top,
    .prune = sq_tally_prune,
    .event_series = sq_event_series,
};

/* ---- blob references ----------------------------------------------------- */

/* Every column that holds a blob key (store.h's list), UNION'ed: distinct
 * and, by the ORDER BY, sorted as strcmp sorts (BINARY collation). A
 * dataset whose file was deleted (reject_ingest) refers to nothing: its
 * blob, left by a crash before the delete, is an orphan to sweep. */
static hs_status sq_blob_refs_list(void *impl,
                                   char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                   size_t *n, hs_error *err)
{
    return sq_list(impl, read_blob_key, NULL, sizeof **keys, (void **)keys, n,
                   err,
                   "SELECT k FROM (SELECT blob_key AS k FROM datasets"
                   " WHERE file_deleted = 0"
                   " UNION SELECT blob_key FROM models"
                   " UNION SELECT input_blob_key FROM jobs"
                   " UNION SELECT blob_key FROM diagnoses"
                   " UNION SELECT input_blob_key FROM diagnoses"
                   " UNION SELECT blob_key FROM topologies"
                   " UNION SELECT csv_blob_key FROM analyses"
                   " UNION SELECT json_blob_key FROM analyses"
                   " UNION SELECT incidents_blob_key FROM analyses)"
                   " WHERE k <> '' ORDER BY k",
                   "");
}

static const hs_store_blob_ref_ops sq_blob_refs = {
    .list = sq_blob_refs_list,
};

/* ---- shared settings and queue news (version 14) ------------------------ */

static hs_status read_setting(sqlite3_stmt *st, void *dst, hs_error *err)
{
    return dup_text(st, 0, dst, err, "setting");
}

static hs_status sq_setting_get(void *impl, const char *key, char **value,
                                hs_error *err)
{
    return sq_get_one(impl, read_setting, release_text, value,
                      "no such setting", err,
                      "SELECT value FROM settings WHERE key = ?1", "t", key);
}

/* INSERT OR IGNORE, then the value that is there: one savepoint, so that
 * the read sees the row the insert found or made (rows are never
 * deleted; another process's insert waits on SQLite's write lock). */
static hs_status sq_setting_put_new(void *impl, const char *key,
                                    const char *value, int64_t now,
                                    char **stored, hs_error *err)
{
    sq_store *s = impl;
    hs_status hs = sq_lock(s, err);
    if (hs != HS_OK)
        return hs;
    hs = sq_savepoint(s, err);
    if (hs == HS_OK) {
        hs = sq_run(s, NULL, err, "adding a setting",
                    "INSERT OR IGNORE INTO settings (key, value, updated_at)"
                    " VALUES (?1, ?2, ?3)",
                    "tti", key, value, now);
        if (hs == HS_OK)
            hs = sq_setting_get(s, key, stored, err);
        hs = sq_savepoint_end(s, hs, err);
    }
    sq_unlock(s);
    if (hs != HS_OK) {
        free(*stored);
        *stored = NULL;
    }
    return hs;
}

static hs_status sq_setting_set(void *impl, const char *key, const char *value,
                                int64_t now, hs_error *err)
{
    return sq_run(impl, NULL, err, "setting a setting",
                  "INSERT INTO settings (key, value, updated_at)"
                  " VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE"
                  " SET value = excluded.value, updated_at = excluded.updated_at",
                  "tti", key, value, now);
}

static const hs_store_setting_ops sq_settings = {
    .get = sq_setting_get,
    .put_new = sq_setting_put_new,
    .set = sq_setting_set,
};


static const hs_store_ops sq_ops = {
    .version = HS_STORE_OPS_VERSION,
    .name = "sqlite",
    .close = sq_close,
    .transact = sq_transact,
    .users = &sq_users,
    .events = &sq_events,
    .sessions = &sq_sessions,
    .notifications = &sq_notifications,
    .prefs = &sq_prefs,
    .datasets = &sq_datasets,
    .models = &sq_models,
    .jobs = &sq_jobs,
    .diagnoses = &sq_diagnoses,
    .topologies = &sq_topologies,
    .analyses = &sq_analyses,
    .logins = &sq_logins,
    .outbox = &sq_outbox,
    .ping = sq_ping,
    .sealed = &sq_sealed,
    .audit = &sq_audit,
    .tallies = &sq_tallies,
    .blob_refs = &sq_blob_refs,
    .settings = &sq_settings,
};

/* Reads the newest applied schema version into *version (0 for a database
 * without a schema_migrations table, e.g. a new file). Writes nothing. */
static hs_status schema_version(sq_store *s, int64_t *version, hs_error *err)
{
    hs_status hs;
    *version = 0;
    hs = sq_get_one(s, read_count, clear_int64, version, "no row", err,
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
                    " AND name = 'schema_migrations'",
                    "");
    if (hs != HS_OK || *version == 0)
        return hs;
    return sq_get_one(s, read_count, clear_int64, version, "no row", err,
                      "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                      "");
}

/* Applies migration `version` (1-based) unless it is already recorded -
 * another process may have got there first - in its own transaction. */
static hs_status apply_migration(sq_store *s, int version, hs_error *err)
{
    int64_t applied = 0;
    hs_status hs;
    char what[64];

    hs = sq_exec(s->db, "BEGIN IMMEDIATE", err, "starting a migration");
    if (hs != HS_OK)
        return hs;
    hs = sq_get_one(s, read_count, clear_int64, &applied, "no row", err,
                    "SELECT COUNT(*) FROM schema_migrations WHERE version = ?1",
                    "i", (int64_t)version);
    if (hs == HS_OK && !applied) {
        snprintf(what, sizeof what, "applying schema migration %d", version);
        hs = sq_exec(s->db, migrations[version - 1], err, what);
        if (hs == HS_OK)
            hs = sq_run(s, NULL, err, "recording a migration",
                        "INSERT INTO schema_migrations (version, applied_at)"
                        " VALUES (?1, CAST(strftime('%s', 'now') AS INTEGER))",
                        "i", (int64_t)version);
    }
    if (hs == HS_OK)
        hs = sq_exec(s->db, "COMMIT", err, "committing a migration");
    if (hs != HS_OK && !sqlite3_get_autocommit(s->db)) {
        hs_error ignored;
        (void)sq_exec(s->db, "ROLLBACK", &ignored, "rolling back");
    }
    return hs;
}

/* Sets journal_mode=WAL and checks that it took (an in-memory database
 * reports "memory", which is accepted). */
static hs_status enable_wal(sq_store *s, hs_error *err)
{
    sqlite3_stmt *st = NULL;
    const unsigned char *mode;
    hs_status hs = sq_prepare(s, "PRAGMA journal_mode = WAL", &st, err);
    int rc;
    if (hs != HS_OK)
        return hs;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        hs = sq_err(s->db, rc, err, "enabling WAL mode");
        goto done;
    }
    mode = sqlite3_column_text(st, 0);
    if (!mode || (strcmp((const char *)mode, "wal") != 0 &&
                  strcmp((const char *)mode, "memory") != 0))
        hs = hs_fail(err, HS_ERR_IO, "cannot enable WAL mode (journal mode %s)",
                     mode ? (const char *)mode : "unknown");
done:
    sqlite3_finalize(st);
    return hs;
}

/* A new database file is made here, mode 0600 whatever the umask, before
 * SQLite opens it: SQLite would create it 0644 less the umask, and gives
 * its -wal and -shm files the database file's mode. An existing file is
 * left as it is (the data directory narrows modes at start), and so is
 * ":memory:". */
static hs_status create_private(const char *path, hs_error *err)
{
    if (!strcmp(path, ":memory:"))
        return HS_OK;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
    if (fd >= 0) {
        close(fd);
        return HS_OK;
    }
    if (errno == EEXIST)
        return HS_OK;
    char buf[128];
    return hs_fail(err, HS_ERR_IO, "cannot create database %s: %s", path,
                   strerror_r(errno, buf, sizeof buf));
}

hs_status hs_store_sqlite_open(const char *path, hs_store **out, hs_error *err)
{
    hs_store *store = NULL;
    sq_store *s = NULL;
    pthread_mutexattr_t attr;
    int64_t version = 0;
    int rc, v, mutex_ok = 0;
    hs_status hs;

    if (!out)
        return hs_fail(err, HS_ERR_INVALID, "store open: missing argument");
    *out = NULL;
    if (!path || !path[0])
        return hs_fail(err, HS_ERR_INVALID, "store open: empty path");

    store = calloc(1, sizeof *store);
    s = calloc(1, sizeof *s);
    if (!store || !s) {
        hs = hs_fail(err, HS_ERR_NOMEM, "store open: out of memory");
        goto fail;
    }
    if (pthread_mutexattr_init(&attr) != 0) {
        hs = hs_fail(err, HS_ERR_INTERNAL, "store open: mutex attributes");
        goto fail;
    }
    rc = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    if (rc == 0)
        rc = pthread_mutex_init(&s->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (rc != 0) {
        hs = hs_fail(err, HS_ERR_INTERNAL, "store open: cannot create a lock");
        goto fail;
    }
    mutex_ok = 1;

    if ((hs = create_private(path, err)) != HS_OK)
        goto fail;
    rc = sqlite3_open_v2(path, &s->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                             SQLITE_OPEN_FULLMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        hs = s->db ? hs_fail(err, rc == SQLITE_NOMEM ? HS_ERR_NOMEM : HS_ERR_IO,
                             "cannot open database %s: %s", path,
                             sqlite3_errmsg(s->db))
                   : hs_fail(err, HS_ERR_NOMEM, "cannot open database %s: %s",
                             path, sqlite3_errstr(rc));
        goto fail;
    }
    rc = sqlite3_extended_result_codes(s->db, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(s->db, SQ_BUSY_MS);
    if (rc != SQLITE_OK) {
        hs = sq_err(s->db, rc, err, "configuring the database");
        goto fail;
    }
    hs = sq_exec(s->db, "PRAGMA foreign_keys = ON", err,
                 "enabling foreign keys");
    if (hs != HS_OK)
        goto fail;

    /* Check the version before changing anything (even the journal mode):
     * a newer healer's database must be left exactly as it was. */
    hs = schema_version(s, &version, err);
    if (hs != HS_OK) {
        /* e.g. "file is not a database": name the file. */
        char inner[sizeof err->message];
        if (err) {
            snprintf(inner, sizeof inner, "%s", err->message);
            hs = hs_fail(err, hs, "database %s: %s", path, inner);
        }
        goto fail;
    }
    if (version > N_MIGRATIONS) {
        hs = hs_fail(err, HS_ERR_INVALID,
                     "database schema version %lld is newer than this healer "
                     "(%d); upgrade healer",
                     (long long)version, N_MIGRATIONS);
        goto fail;
    }

    hs = enable_wal(s, err);
    if (hs != HS_OK)
        goto fail;
    hs = sq_exec(s->db, "PRAGMA synchronous = NORMAL", err,
                 "setting synchronous mode");
    if (hs != HS_OK)
        goto fail;
    hs = sq_exec(s->db,
                 "CREATE TABLE IF NOT EXISTS schema_migrations ("
                 "  version INTEGER PRIMARY KEY,"
                 "  applied_at INTEGER NOT NULL)",
                 err, "creating the migrations table");
    if (hs != HS_OK)
        goto fail;
    for (v = (int)version + 1; v <= N_MIGRATIONS; v++) {
        hs = apply_migration(s, v, err);
        if (hs != HS_OK)
            goto fail;
    }

    store->ops = &sq_ops;
    store->impl = s;
    *out = store;
    return HS_OK;

fail:
    if (s) {
        if (s->db)
            sqlite3_close(s->db);
        if (mutex_ok)
            pthread_mutex_destroy(&s->lock);
    }
    free(s);
    free(store);
    return hs;
}
