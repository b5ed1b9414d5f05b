/* store/store_pg_jobs.c - the job queue of the PostgreSQL store backend
 * (hs_pg_jobs, the jobs table of store.h on the tables jobs and
 * job_attempts).
 *
 * The contract is store.h's; the SQLite backend (store_sqlite.c) shows the
 * same semantics on one file. What PostgreSQL changes is how it is kept
 * when several processes share the queue:
 *
 *  - A claim is one UPDATE whose row comes from a SELECT ... FOR UPDATE
 *    SKIP LOCKED: two claimers, in any processes, never take one job (the
 *    row lock, re-checked state), and a claim never waits on another
 *    claim's lock - it takes the next queued job instead. The fair claim
 *    walks the owners in the fair order and takes the first one's oldest
 *    job that no other claim holds: claimers racing in the same instant
 *    may take one owner's first and second jobs, so fairness holds between
 *    claims, not inside one instant.
 *  - Every other operation that changes a job is one statement too
 *    (data-modifying CTEs where several rows or tables change: cancel,
 *    requeue, recover), so it is atomic without a transaction of its own
 *    and joins the caller's when hs_store_transact runs one. A worker's
 *    write names its job *and* its worker id, so it lands only while the
 *    lease is still the worker's.
 *  - News of queued work: the statement that queues a job (create of a
 *    queued job, requeue, recover putting jobs back) also calls
 *    pg_notify('healer_jobs', ''), which PostgreSQL delivers at commit -
 *    never for a job a rollback undid, and once per transaction however
 *    many jobs it queued (equal payloads are folded). In the statement
 *    rather than a trigger so that the schema stays plain data and every
 *    notification can be read here. wait_queued LISTENs through
 *    hs_pg_listen_wait; a worker woken by it claims, and polls as well,
 *    since a notification may be missed while its connection is down
 *    (hs_pg_listen_wait then reports one anyway).
 *
 * Types in SQL: every parameter that PostgreSQL could not type from its
 * column (arithmetic, IS NULL) is cast; booleans are compared and set
 * with quoted literals, which take their column's type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_internal.h"

/* The channel wait_queued listens on, and the statement part that
 * notifies it when the condition COND (SQL over the outer row) holds. */
#define JOBS_CHANNEL "healer_jobs"
#define NOTIFY_IF(COND)                                                        \
    "(SELECT 1 FROM (SELECT pg_notify('" JOBS_CHANNEL "', '')) n"              \
    " WHERE " COND ")"

/* "job N is not running on this worker" in buf: a worker's write to a job
 * that is not (or no longer) its own. */
static const char *not_leased(pgs_msg buf, hs_id id)
{
    snprintf(buf, sizeof(pgs_msg), "job %lld is not running on this worker",
             (long long)id);
    return buf;
}

/* The job is visible to the viewer whose id is parameter V (an admin when
 * parameter A is 1); most statements have the job's id in $1 before them. */
#define VISIBLE_TO(V, A) "(" A "::int <> 0 OR owner_id = " V ")"
#define JOB_VISIBLE VISIBLE_TO("$2", "$3")

/* The job $1 is running and leased to the worker in $2. */
#define JOB_LEASED_TO "id = $1 AND state = 'running' AND worker_id = $2"

/* A job's lease given up: it is no longer running on anyone. */
#define JOB_RELEASED "worker_id = '', lease_expires_at = 0"

/* What a re-queued job forgets: it starts again as if it never had. */
#define JOB_REQUEUED                                                           \
    "state = 'queued', progress = 0, round = 0, rounds = 0,"                   \
    " losses_json = NULL, started_at = 0, " JOB_RELEASED

/* A cancel that takes effect (the statement sets finished_at too). */
#define JOB_CANCELLED                                                          \
    "state = 'cancelled', error = 'cancelled by the user', " JOB_RELEASED

/* The result id to store for kind K and id R (R bound 'I': 0 is NULL): for
 * the kinds whose records the store keeps, the id only while that record
 * exists (store.h), for other kinds as given. */
#define RESULT_REF(K, R)                                                       \
    "CASE " K " WHEN '" HS_RESULT_MODEL "' THEN (SELECT id FROM models"        \
    " WHERE id = " R ") WHEN '" HS_RESULT_DIAGNOSIS "' THEN (SELECT id"        \
    " FROM diagnoses WHERE id = " R ") WHEN '" HS_RESULT_ANALYSIS "' THEN"     \
    " (SELECT id FROM analyses WHERE id = " R ") ELSE " R " END"

#define JOB_FIELDS                                                             \
    "id, owner_id, type, state, dataset_id, model_id, result_kind,"            \
    " result_id, worker_id, lease_expires_at, input_blob_key, name,"           \
    " params_json, progress, round, rounds, losses_json, attempts_json,"       \
    " error, cancel_requested, restarts, created_at, started_at, finished_at," \
    " topology_id"
#define JOB_COLS "SELECT " JOB_FIELDS " FROM jobs"

/* ---- rows -------------------------------------------------------------- */

/* A job state by its stored name (hs_job_state_name). */
static hs_status parse_state(const char *name, hs_job_state *out, hs_error *err)
{
    for (int i = 0; i < HS_JOB_STATES; i++) {
        if (strcmp(name, hs_job_state_name((hs_job_state)i)) == 0) {
            *out = (hs_job_state)i;
            return HS_OK;
        }
    }
    return hs_fail(err, HS_ERR_INTERNAL,
                   "store: stored job state '%s' is unknown", name);
}

/* A JSON text column that the schema keeps NOT NULL, malloc'ed into *out. */
static hs_status dup_json(const hs_pg_result *r, int row, int col, char **out,
                          const char *what, hs_error *err)
{
    hs_status st = pgs_dup(r, row, col, out, what, err);
    if (st == HS_OK && !*out)
        return hs_fail(err, HS_ERR_CORRUPT, "store: %s is missing", what);
    return st;
}

/* Row `row` of a JOB_FIELDS result into the hs_job_rec at dst (a
 * pgs_reader); on error nothing stays allocated. */
static hs_status read_job(const hs_pg_result *r, int row, void *dst,
                          hs_error *err)
{
    hs_job_rec *j = dst;
    hs_status hs;
    memset(j, 0, sizeof *j);
    j->id = hs_pg_int(r, row, 0);
    j->owner_id = hs_pg_int(r, row, 1);
    j->dataset_id = hs_pg_int(r, row, 4);
    j->model_id = hs_pg_int(r, row, 5);
    j->result_id = hs_pg_int(r, row, 7);
    j->lease_expires_at = hs_pg_int(r, row, 9);
    j->progress = hs_pg_double(r, row, 13);
    j->round = hs_pg_int(r, row, 14);
    j->rounds = hs_pg_int(r, row, 15);
    j->cancel_requested = hs_pg_int(r, row, 19) != 0;
    j->restarts = hs_pg_int(r, row, 20);
    j->created_at = hs_pg_int(r, row, 21);
    j->started_at = hs_pg_int(r, row, 22);
    j->finished_at = hs_pg_int(r, row, 23);
    j->topology_id = hs_pg_int(r, row, 24);
    hs = hs_pg_copy(r, row, 2, j->type, sizeof j->type, "job type", err);
    if (hs == HS_OK)
        hs = parse_state(hs_pg_text(r, row, 3), &j->state, err);
    if (hs == HS_OK)
        hs = hs_pg_copy(r, row, 6, j->result_kind, sizeof j->result_kind,
                        "job result kind", err);
    if (hs == HS_OK)
        hs = hs_pg_copy(r, row, 8, j->worker_id, sizeof j->worker_id,
                        "job worker id", err);
    if (hs == HS_OK)
        hs = hs_pg_copy(r, row, 10, j->input_blob_key, sizeof j->input_blob_key,
                        "job input blob key", err);
    if (hs == HS_OK)
        hs = hs_pg_copy(r, row, 11, j->name, sizeof j->name, "job name", err);
    if (hs == HS_OK)
        hs =
            hs_pg_copy(r, row, 18, j->error, sizeof j->error, "job error", err);
    /* The allocations last; a failure among them frees the earlier ones. */
    if (hs == HS_OK)
        hs = dup_json(r, row, 12, &j->params_json, "job parameters", err);
    if (hs == HS_OK)
        hs = pgs_dup(r, row, 16, &j->losses_json, "job losses", err);
    if (hs == HS_OK)
        hs = pgs_dup(r, row, 17, &j->attempts_json, "job attempts",
                              err);
    if (hs != HS_OK)
        hs_job_rec_free(j);
    return hs;
}

static void release_job(void *row)
{
    hs_job_rec_free(row);
}

#define ATTEMPT_FIELDS                                                         \
    "job_id, number, step, algo, outcome, reason, seconds, params_json"

static hs_status read_attempt(const hs_pg_result *r, int row, void *dst,
                              hs_error *err)
{
    hs_job_attempt *a = dst;
    hs_status hs;
    memset(a, 0, sizeof *a);
    a->job_id = hs_pg_int(r, row, 0);
    a->number = hs_pg_int(r, row, 1);
    a->seconds = hs_pg_double(r, row, 6); /* NULL: NAN, unknown */
    hs = hs_pg_copy(r, row, 2, a->step, sizeof a->step, "attempt step", err);
    if (hs == HS_OK)
        hs =
            hs_pg_copy(r, row, 3, a->algo, sizeof a->algo, "attempt algo", err);
    if (hs == HS_OK)
        hs = hs_pg_copy(r, row, 4, a->outcome, sizeof a->outcome,
                        "attempt outcome", err);
    if (hs == HS_OK)
        hs = hs_pg_copy(r, row, 5, a->reason, sizeof a->reason,
                        "attempt reason", err);
    if (hs == HS_OK) /* last: a failure above has allocated nothing */
        hs = dup_json(r, row, 7, &a->params_json, "attempt parameters", err);
    return hs;
}

static void release_attempt(void *row)
{
    hs_job_attempt *a = row;
    free(a->params_json);
    a->params_json = NULL;
}

_Static_assert(HS_JOB_STATES == 5, "the job counts count five states");

/* Five counts, in hs_job_state order. */
static hs_status read_counts(const hs_pg_result *r, int row, void *dst,
                             hs_error *err)
{
    int64_t *counts = dst;
    (void)err;
    for (int i = 0; i < HS_JOB_STATES; i++)
        counts[i] = hs_pg_int(r, row, i);
    return HS_OK;
}

/* Two counts (recover's requeued and failed). */
static hs_status read_pair(const hs_pg_result *r, int row, void *dst,
                           hs_error *err)
{
    int64_t *pair = dst;
    (void)err;
    pair[0] = hs_pg_int(r, row, 0);
    pair[1] = hs_pg_int(r, row, 1);
    return HS_OK;
}

/* ---- the operations ---------------------------------------------------- */

/* One statement inserts the job and, when it is queued, notifies the
 * workers (at commit); its first column is the id pgs_insert reads. */
static hs_status pj_create(void *impl, hs_job_rec *j, hs_error *err)
{
    return pgs_insert(
        impl, &j->id, NULL,
        "the owner, dataset, model or topology of the job does not exist", err,
        "creating a job",
        "WITH ins AS (INSERT INTO jobs (owner_id, type, state, dataset_id,"
        " model_id, result_kind, result_id, worker_id, lease_expires_at,"
        " input_blob_key, name, params_json, progress, round, rounds,"
        " losses_json, attempts_json, error, cancel_requested, restarts,"
        " created_at, started_at, finished_at, topology_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, " RESULT_REF(
            "$6::text",
            "$7::bigint") ", $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, "
                          "$18, $19, $20,"
                          " $21, $22, $23, $24) RETURNING id, state)"
                          " SELECT id, " NOTIFY_IF(
                              "ins.state = 'queued'") " FROM ins",
        "ittIItItitttdiiTTtbiiiiI", j->owner_id, j->type,
        hs_job_state_name(j->state), j->dataset_id, j->model_id, j->result_kind,
        j->result_id, j->worker_id, j->lease_expires_at, j->input_blob_key,
        j->name, j->params_json, j->progress, j->round, j->rounds,
        j->losses_json, j->attempts_json, j->error, j->cancel_requested,
        j->restarts, j->created_at, j->started_at, j->finished_at,
        j->topology_id);
}

static hs_status pj_get(void *impl, hs_id id, hs_id viewer_id,
                        int viewer_is_admin, hs_job_rec *out, hs_error *err)
{
    pgs_msg missing;
    return pgs_get_one(impl, read_job, out, pgs_no_such(missing, "job", id),
                       err, JOB_COLS " WHERE id = $1 AND " JOB_VISIBLE, "iib",
                       id, viewer_id, viewer_is_admin);
}

static hs_status pj_list(void *impl, hs_id viewer_id, int viewer_is_admin,
                         hs_job_rec **items, size_t *n, hs_error *err)
{
    return pgs_list(
        impl, read_job, release_job, sizeof **items, (void **)items, n, err,
        JOB_COLS
        " WHERE " VISIBLE_TO("$1", "$2") " ORDER BY created_at DESC, id DESC",
        "ib", viewer_id, viewer_is_admin);
}

/* The job is locked and read first, so that "absent or hidden" (no row),
 * "already finished" (its state, nothing changed) and the new state come
 * from one statement: a queued job is cancelled at once, a running one
 * gets cancel_requested. */
typedef struct cancel_outcome {
    hs_job_state before, after;
    int changed;
} cancel_outcome;

static hs_status read_cancel(const hs_pg_result *r, int row, void *dst,
                             hs_error *err)
{
    cancel_outcome *c = dst;
    hs_status hs = parse_state(hs_pg_text(r, row, 0), &c->before, err);
    c->changed = !hs_pg_is_null(r, row, 1);
    if (hs == HS_OK && c->changed)
        hs = parse_state(hs_pg_text(r, row, 1), &c->after, err);
    return hs;
}

static hs_status pj_cancel(void *impl, hs_id id, hs_id viewer_id,
                           int viewer_is_admin, int64_t now,
                           hs_job_state *state_out, hs_error *err)
{
    pgs_msg missing;
    cancel_outcome c = {HS_JOB_QUEUED, HS_JOB_QUEUED, 0};
    hs_status hs = pgs_get_one(
        impl, read_cancel, &c, pgs_no_such(missing, "job", id), err,
        "WITH target AS (SELECT id, state FROM jobs WHERE id = $1 "
        "AND " JOB_VISIBLE " FOR UPDATE),"
        " changed AS (UPDATE jobs SET"
        "  state = CASE state WHEN 'queued' THEN 'cancelled' ELSE state END,"
        "  error = CASE state WHEN 'queued' THEN 'cancelled by the user'"
        "   ELSE error END,"
        "  finished_at = CASE state WHEN 'queued' THEN $4::bigint"
        "   ELSE finished_at END,"
        "  cancel_requested = CASE state WHEN 'running' THEN '1'"
        "   ELSE cancel_requested END"
        "  WHERE id IN (SELECT id FROM target"
        "   WHERE state IN ('queued', 'running')) RETURNING state)"
        " SELECT target.state, (SELECT state FROM changed) FROM target",
        "iibi", id, viewer_id, viewer_is_admin, now);
    if (hs != HS_OK)
        return hs;
    if (!c.changed)
        return hs_fail(err, HS_ERR_CONFLICT,
                       "job %lld has already finished (%s)", (long long)id,
                       hs_job_state_name(c.before));
    *state_out = c.after;
    return HS_OK;
}

/* One index-only count per state (index jobs_state). */
static hs_status pj_counts(void *impl, int64_t counts[HS_JOB_STATES],
                           hs_error *err)
{
    return pgs_get_one(
        impl, read_counts, counts, "job counts returned no row", err,
        "SELECT (SELECT COUNT(*) FROM jobs WHERE state = 'queued'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'running'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'failed'),"
        " (SELECT COUNT(*) FROM jobs WHERE state = 'cancelled')",
        "");
}

/* One pass over the owner's jobs (index jobs_owner_state). */
static hs_status pj_owner_counts(void *impl, hs_id owner_id,
                                 int64_t counts[HS_JOB_STATES], hs_error *err)
{
    return pgs_get_one(impl, read_counts, counts, "job counts returned no row",
                       err,
                       "SELECT COUNT(*) FILTER (WHERE state = 'queued'),"
                       " COUNT(*) FILTER (WHERE state = 'running'),"
                       " COUNT(*) FILTER (WHERE state = 'succeeded'),"
                       " COUNT(*) FILTER (WHERE state = 'failed'),"
                       " COUNT(*) FILTER (WHERE state = 'cancelled')"
                       " FROM jobs WHERE owner_id = $1",
                       "i", owner_id);
}

/* A queued job of the wanted types ($4: a JSON array of names the wrapper
 * built and checked, NULL = any) that may run now, for the claims' WHERE;
 * T is the alias. A job whose dataset is still being ingested waits
 * (store.h: the claims skip it, so it holds no worker meanwhile; a failed
 * ingestion releases it) - except the ingest job itself. The dataset is
 * one primary-key probe per candidate and is not locked: an ingestion
 * ending in between only makes the job claimable at the next claim. */
#define QUEUED_OF_TYPES(T)                                                     \
    T ".state = 'queued' AND ($4::jsonb IS NULL OR " T ".type IN"              \
      " (SELECT jsonb_array_elements_text($4::jsonb)))"                        \
      " AND (" T ".type = '" HS_JOB_TYPE_INGEST "' OR NOT EXISTS (SELECT 1"    \
      " FROM datasets d WHERE d.id = " T ".dataset_id"                         \
      " AND d.state = '" HS_DATASET_INGESTING "'))"

/* A claim: the job that PICK (a locking SELECT of one id, closed here)
 * chooses becomes running, leased to $2 from $1 for $3 seconds. The outer
 * state test is belt and braces: the row lock re-checked it. */
#define CLAIM(PICK)                                                            \
    "UPDATE jobs SET state = 'running', started_at = $1, worker_id = $2,"      \
    " lease_expires_at = $1::bigint + $3::bigint"                              \
    " WHERE state = 'queued' AND id = (" PICK ") RETURNING " JOB_FIELDS

/* The oldest queued job (index jobs_state). */
static hs_status pj_claim_next(void *impl, const char *worker_id,
                               const char *types_json, int64_t now,
                               int64_t lease_seconds, hs_job_rec *out,
                               hs_error *err)
{
    return pgs_get_one(
        impl, read_job, out, "no job is queued", err,
        CLAIM("SELECT q.id FROM jobs q"
              " WHERE " QUEUED_OF_TYPES(
                  "q") " ORDER BY q.id LIMIT 1 FOR UPDATE SKIP LOCKED"),
        "itiT", now, worker_id, lease_seconds, types_json);
}

/* The fair claim in three steps, each cheap however long the queue:
 *  1. the owners with queued jobs, by a skip scan of the partial index
 *     jobs_queued_owner (one probe per owner, not one row per job);
 *  2. for each, its running jobs, its latest start (indexes
 *     jobs_owner_state, jobs_owner_started) and its oldest queued job of
 *     the wanted types - computed once per owner (MATERIALIZED);
 *  3. the owners in the fair order - fewest running, then the oldest
 *     latest start (never: first), then the oldest job - and, walking them
 *     in that order, the first one's oldest queued job that no other claim
 *     holds (the nested loop stops at the first row, so only that row is
 *     locked). An owner whose queued jobs are all held by racing claims
 *     gives way to the next. */
static hs_status pj_claim_next_fair(void *impl, const char *worker_id,
                                    const char *types_json, int64_t now,
                                    int64_t lease_seconds, hs_job_rec *out,
                                    hs_error *err)
{
    return pgs_get_one(
        impl, read_job, out, "no job is queued", err,
        CLAIM("WITH RECURSIVE queued_owners AS ("
              "  SELECT (SELECT MIN(owner_id) FROM jobs"
              "   WHERE state = 'queued') AS owner_id"
              "  UNION ALL SELECT (SELECT MIN(n.owner_id) FROM jobs n"
              "   WHERE n.state = 'queued' AND n.owner_id > q.owner_id)"
              "  FROM queued_owners q WHERE q.owner_id IS NOT NULL),"
              " owners AS MATERIALIZED (SELECT q.owner_id,"
              "  (SELECT COUNT(*) FROM jobs r WHERE r.owner_id = q.owner_id"
              "   AND r.state = 'running') AS running,"
              "  (SELECT MAX(s.started_at) FROM jobs s"
              "   WHERE s.owner_id = q.owner_id AND s.started_at > 0)"
              "   AS latest,"
              "  (SELECT MIN(f.id) FROM jobs f WHERE f.owner_id = q.owner_id"
              "   AND " QUEUED_OF_TYPES(
                  "f") ") AS first_id"
                       "  FROM queued_owners q WHERE q.owner_id IS NOT NULL)"
                       " SELECT x.id FROM (SELECT owner_id FROM owners"
                       "  WHERE first_id IS NOT NULL"
                       "  ORDER BY running, latest NULLS FIRST, first_id) w"
                       " CROSS JOIN LATERAL (SELECT j.id FROM jobs j"
                       "  WHERE j.owner_id = w.owner_id AND " QUEUED_OF_TYPES(
                           "j") "  ORDER BY j.id LIMIT 1 FOR UPDATE SKIP "
                                "LOCKED) x LIMIT 1"),
        "itiT", now, worker_id, lease_seconds, types_json);
}

static hs_status pj_progress(void *impl, hs_id id, const char *worker_id,
                             int64_t now, int64_t lease_seconds,
                             double progress, int64_t round, int64_t rounds,
                             const char *losses_json, int *cancel_requested,
                             hs_error *err)
{
    pgs_msg missing;
    int64_t flag = 0;
    hs_status hs =
        pgs_get_one(impl, pgs_read_int, &flag, not_leased(missing, id), err,
                    "UPDATE jobs SET progress = $5, round = $6, rounds = $7,"
                    " losses_json = COALESCE($8, losses_json),"
                    " lease_expires_at = $3::bigint + $4::bigint"
                    " WHERE " JOB_LEASED_TO " RETURNING cancel_requested",
                    "itiidiiT", id, worker_id, now, lease_seconds, progress,
                    round, rounds, losses_json);
    if (cancel_requested)
        *cancel_requested = hs == HS_OK && flag != 0;
    return hs;
}

static hs_status pj_renew_leases(void *impl, const char *worker_id, int64_t now,
                                 int64_t lease_seconds, int64_t *renewed,
                                 hs_error *err)
{
    return pgs_run(impl, renewed, err, "renewing job leases",
                   "UPDATE jobs SET lease_expires_at = $2::bigint + $3::bigint"
                   " WHERE state = 'running' AND worker_id = $1",
                   "tii", worker_id, now, lease_seconds);
}

/* NULL attempts leave what the job already has (earlier attempts). */
static hs_status pj_finish(void *impl, hs_id id, const char *worker_id,
                           hs_job_state state, const char *error,
                           const char *result_kind, hs_id result_id,
                           const char *attempts_json, int64_t finished_at,
                           hs_error *err)
{
    pgs_msg missing;
    int64_t changed = 0;
    hs_status hs = pgs_run(
        impl, &changed, err, "finishing a job",
        "UPDATE jobs SET state = $3, error = $4, result_kind = $5,"
        " result_id = " RESULT_REF(
            "$5::text", "$6::bigint") ","
                                      " attempts_json = COALESCE($7, "
                                      "attempts_json), finished_at = $8,"
                                      " progress = CASE $3::text WHEN "
                                      "'succeeded' THEN 1 ELSE progress END,"
                                      " " JOB_RELEASED " WHERE " JOB_LEASED_TO,
        "ittttITi", id, worker_id, hs_job_state_name(state), error, result_kind,
        result_id, attempts_json, finished_at);
    if (hs == HS_OK && changed == 0)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "%s", not_leased(missing, id));
    return hs;
}

/* The job, locked, decides: a cancel that was requested takes effect
 * (finished_at = its start: store.h gives requeue no clock), otherwise it
 * goes back to the queue without its attempts, and the workers hear of
 * it. One statement: the CTEs touch disjoint rows. No row: not leased. */
static hs_status pj_requeue(void *impl, hs_id id, const char *worker_id,
                            hs_error *err)
{
    pgs_msg missing;
    int64_t ignored;
    return pgs_get_one(
        impl, pgs_read_int, &ignored, not_leased(missing, id), err,
        "WITH job AS (SELECT id, cancel_requested = '1' AS cancel FROM jobs"
        "  WHERE " JOB_LEASED_TO " FOR UPDATE),"
        " cancelled AS (UPDATE jobs SET " JOB_CANCELLED ","
        "  finished_at = GREATEST(started_at, created_at)"
        "  WHERE id IN (SELECT id FROM job WHERE cancel)),"
        " requeued AS (UPDATE jobs SET " JOB_REQUEUED
        "  WHERE id IN (SELECT id FROM job WHERE NOT cancel) RETURNING id),"
        " forgotten AS (DELETE FROM job_attempts"
        "  WHERE job_id IN (SELECT id FROM job WHERE NOT cancel))"
        " SELECT id, " NOTIFY_IF("EXISTS (SELECT 1 FROM requeued)") " FROM job",
        "it", id, worker_id);
}

/* The expired leases, locked in id order (two keepers recovering at once
 * take the rows in the same order, so they queue instead of deadlocking;
 * a concurrent progress that renews one is waited for, and then excludes
 * it), sorted into store.h's three sweeps:
 * requested cancels take effect, jobs with restarts left go back to the
 * queue (attempts forgotten, the workers told), the rest fail. A live
 * lease is never touched. */
static hs_status pj_recover(void *impl, int64_t now, int64_t max_restarts,
                            int64_t *requeued, int64_t *failed, hs_error *err)
{
    int64_t counts[2] = {0, 0};
    hs_status hs = pgs_get_one(
        impl, read_pair, counts, "recover returned no row", err,
        "WITH expired AS (SELECT id, cancel_requested = '1' AS cancel,"
        "  restarts < $2::bigint AS again FROM jobs"
        "  WHERE state = 'running' AND lease_expires_at <= $1::bigint"
        "  ORDER BY id FOR UPDATE),"
        " cancelled AS (UPDATE jobs SET " JOB_CANCELLED ", finished_at = $1"
        "  WHERE id IN (SELECT id FROM expired WHERE cancel)),"
        " forgotten AS (DELETE FROM job_attempts WHERE job_id IN"
        "  (SELECT id FROM expired WHERE NOT cancel AND again)),"
        " requeued AS (UPDATE jobs SET " JOB_REQUEUED
        "  , restarts = restarts + 1"
        "  WHERE id IN (SELECT id FROM expired WHERE NOT cancel AND again)"
        "  RETURNING id),"
        " failed AS (UPDATE jobs SET state = 'failed', error = 'interrupted:"
        " its worker stopped renewing its lease', finished_at = $1,"
        "  " JOB_RELEASED
        "  WHERE id IN (SELECT id FROM expired WHERE NOT cancel AND NOT again)"
        "  RETURNING id)"
        " SELECT (SELECT COUNT(*) FROM requeued),"
        " (SELECT COUNT(*) FROM failed),"
        " " NOTIFY_IF("EXISTS (SELECT 1 FROM requeued)"),
        "ii", now, max_restarts);
    *requeued = counts[0];
    *failed = counts[1];
    return hs;
}

/* The INSERT takes its row from the job while the job is running on the
 * worker: one statement, so the lease cannot change between the check and
 * the write. */
static hs_status pj_attempt_add(void *impl, const char *worker_id,
                                const hs_job_attempt *a, hs_error *err)
{
    pgs_msg missing;
    char conflict[80];
    hs_id added = 0;
    hs_status hs;
    snprintf(conflict, sizeof conflict, "job %lld already has attempt %lld",
             (long long)a->job_id, (long long)a->number);
    hs =
        pgs_insert(impl, &added, conflict, NULL, err, "recording a job attempt",
                   "WITH ins AS (INSERT INTO job_attempts (" ATTEMPT_FIELDS ")"
                   " SELECT id, $3::bigint, $4::text, $5::text, $6::text,"
                   " $7::text, $8::float8, $9::text FROM jobs"
                   " WHERE " JOB_LEASED_TO " RETURNING 1)"
                   " SELECT COUNT(*) FROM ins",
                   "itittttdt", a->job_id, worker_id, a->number, a->step,
                   a->algo, a->outcome, a->reason, a->seconds, a->params_json);
    if (hs == HS_OK && added == 0)
        hs =
            hs_fail(err, HS_ERR_NOTFOUND, "%s", not_leased(missing, a->job_id));
    return hs;
}

/* job_id > 0: the job's existence and access first, so that a job without
 * attempts (an empty list) and one that is not there (HS_ERR_NOTFOUND)
 * differ; job_id 0: the attempts of every job the viewer may see. */
static hs_status pj_attempt_list(void *impl, hs_id job_id, hs_id viewer_id,
                                 int viewer_is_admin, hs_job_attempt **items,
                                 size_t *n, hs_error *err)
{
    pgs_msg missing;
    int64_t visible = 0;
    hs_status hs = HS_OK;
    if (job_id)
        hs = pgs_get_one(impl, pgs_read_int, &visible,
                         pgs_no_such(missing, "job", job_id), err,
                         "SELECT 1 FROM jobs WHERE id = $1 AND " JOB_VISIBLE,
                         "iib", job_id, viewer_id, viewer_is_admin);
    if (hs != HS_OK)
        return hs;
    return pgs_list(impl, read_attempt, release_attempt, sizeof **items,
                    (void **)items, n, err,
                    "SELECT " ATTEMPT_FIELDS " FROM job_attempts"
                    " WHERE ($1::bigint = 0 AND job_id IN (SELECT id FROM jobs"
                    " WHERE " JOB_VISIBLE ")) OR job_id = $1"
                    " ORDER BY job_id, number",
                    "iib", job_id, viewer_id, viewer_is_admin);
}

static hs_status pj_wait_queued(void *impl, int64_t timeout_ms, int *notified,
                                hs_error *err)
{
    const pg_store *s = impl;
    return hs_pg_listen_wait(s->pg, JOBS_CHANNEL, (int)timeout_ms, notified,
                             err);
}

static hs_status pj_result_of(void *impl, hs_id job_id, const char *kind,
                              hs_id except_id, hs_id *result_id,
                              hs_error *err)
{
    pgs_msg missing;
    snprintf(missing, sizeof missing, "job %lld made no %s",
             (long long)job_id, kind);
    /* The wrapper admits only these three kinds. */
    const char *sql =
        strcmp(kind, HS_RESULT_MODEL) == 0
            ? "SELECT id FROM models WHERE job_id = $1 AND id <> $2"
              " AND deleted_at = 0 ORDER BY id DESC LIMIT 1"
        : strcmp(kind, HS_RESULT_DIAGNOSIS) == 0
            ? "SELECT id FROM diagnoses WHERE job_id = $1 AND id <> $2"
              " AND deleted_at = 0 ORDER BY id DESC LIMIT 1"
            : "SELECT id FROM analyses WHERE job_id = $1 AND id <> $2"
              " AND deleted_at = 0 ORDER BY id DESC LIMIT 1";
    return pgs_get_one(impl, pgs_read_int, result_id, missing, err, sql, "ii",
                       job_id, except_id);
}

const hs_store_job_ops hs_pg_jobs = {
    .create = pj_create,
    .get = pj_get,
    .list = pj_list,
    .cancel = pj_cancel,
    .counts = pj_counts,
    .owner_counts = pj_owner_counts,
    .claim_next = pj_claim_next,
    .progress = pj_progress,
    .renew_leases = pj_renew_leases,
    .finish = pj_finish,
    .requeue = pj_requeue,
    .recover = pj_recover,
    .attempt_add = pj_attempt_add,
    .attempt_list = pj_attempt_list,
    .claim_next_fair = pj_claim_next_fair,
    .wait_queued = pj_wait_queued,
    .result_of = pj_result_of,
};
