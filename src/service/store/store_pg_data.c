/* store_pg_data.c - the PostgreSQL backend's data resources: datasets
 * (with their ingestion, store version 14), models, diagnoses (with the
 * labels people gave their rows), topologies and analyses.
 *
 * The tables of operations hs_pg_datasets, hs_pg_models, hs_pg_diagnoses,
 * hs_pg_topologies and hs_pg_analyses, which store_pg.c puts into its ops
 * table (store_pg_internal.h declares them). The contract of each
 * operation is its wrapper's comment in store.h, and the semantics are
 * the SQLite backend's (store_sqlite.c), so that the contract suite
 * passes on both.
 *
 * Why one statement per operation: on a server database every statement
 * is a round trip, and an operation of several statements needs a
 * transaction that holds a pooled connection meanwhile. So a delete that
 * must also clear the jobs' generic result reference (which has no
 * foreign key) is one DELETE ... RETURNING with the UPDATE of the jobs in
 * a data-modifying CTE, and a read that must tell "absent" from "empty"
 * (a diagnosis's labels) is one SELECT with a LEFT JOIN. Only the
 * operations that hand back blob keys of rows they delete, and the
 * labels' put (a check of the rows, the writes, the count against the
 * bound), run in a transaction (a savepoint inside the caller's): a key
 * is handed back exactly when its row is gone for good, and a refused
 * put changes nothing. A commit whose outcome is unknown (the connection
 * lost under it) hands back no keys: at worst their blobs are orphans,
 * which the orphan sweep removes - never a row that points at a deleted
 * blob. The labels of one put travel as arrays in one statement, not as
 * one statement per row (1000 rows: about 14 ms, where 1000 round trips
 * would take 200 ms and more).
 *
 * Parameters are always bound (pg.h's letters), never spliced into SQL;
 * the only SQL built at run time is the concatenation of the constant
 * pieces below. References to what can go away (a purged dataset, a
 * deleted model) are foreign keys ON DELETE SET NULL in the schema
 * (store_pg_schema.c), read back as 0.
 *
 * Deliberately absent: the jobs (store_pg_jobs.c), and anything about
 * connections (pg/pg.c).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_internal.h"

/* ---- helpers ------------------------------------------------------------ */

/* Two counts of one row (column 0 and 1), for the statements that answer
 * with a verdict and a reason. */
typedef struct pgd_pair {
    int64_t first, second;
} pgd_pair;

static const pgs_col PAIR_READ[] = {
    PGS_COL(PGS_I64, pgd_pair, first, "first"),
    PGS_COL(PGS_I64, pgd_pair, second, "second"),
};

static hs_status read_pair(const hs_pg_result *r, int row, void *dst,
                           hs_error *err)
{
    return PGS_READ(r, row, dst, pgd_pair, PAIR_READ, err);
}

/* A record's reader: its fixed fields by `cols` (pgs_read_cols: columns
 * 0 .. n_cols - 1), then its malloc'ed texts - JSON, NULL for NULL - at
 * the offsets `texts` from the columns after them. A failure leaves none
 * allocated. */
static hs_status read_record(const hs_pg_result *r, int row, void *dst,
                             size_t size, const pgs_col *cols, size_t n_cols,
                             const size_t *texts, size_t n_texts, hs_error *err)
{
    hs_status hs = pgs_read_cols(r, row, dst, size, cols, n_cols, err);
    for (size_t i = 0; hs == HS_OK && i < n_texts; i++) {
        char **text = (char **)((unsigned char *)dst + texts[i]);
        hs = pgs_dup(r, row, (int)(n_cols + i), text, "a record's text",
                     err);
    }
    for (size_t i = 0; hs != HS_OK && i < n_texts; i++) {
        char **text = (char **)((unsigned char *)dst + texts[i]);
        free(*text);
        *text = NULL;
    }
    return hs;
}
#define PGD_READ(r, row, dst, T, COLS, TEXTS, err)                             \
    read_record(r, row, dst, sizeof(T), COLS, sizeof COLS / sizeof COLS[0],    \
                TEXTS, sizeof TEXTS / sizeof TEXTS[0], err)

/* ---- the access rule and the trash ---------------------------------------
 *
 * The access rule of store.h, in every query that takes a viewer: $2 is
 * the viewer's id, $3 is 1 when the viewer is an admin (bound 'b'). */
#define OWNER_VISIBLE "($3::int = 1 OR owner_id = $2::bigint)"
#define OWNED_ONE " WHERE id = $1::bigint AND " OWNER_VISIBLE
/* A list: $1 is 1 to include what is in the trash. */
#define OWNED_ALL                                                              \
    " WHERE " OWNER_VISIBLE " AND ($1::int = 1 OR deleted_at = 0)"             \
    " ORDER BY created_at DESC, id DESC"
/* A purge: what was trashed before $1. */
#define TRASHED_BEFORE " WHERE deleted_at > 0 AND deleted_at < $1::bigint"

/* Moves record `id` into the trash or out of it with `sql`
 * (SET_DELETED). */
static hs_status set_deleted(pg_store *s, const char *kind, const char *sql,
                             hs_id id, hs_id viewer_id, int viewer_is_admin,
                             int64_t deleted_at, hs_error *err)
{
    return pgs_run_one(s, kind, id, err, "moving to or from the trash", sql,
                       "iibi", id, viewer_id, viewer_is_admin, deleted_at);
}
#define SET_DELETED(TABLE)                                                     \
    "UPDATE " TABLE " SET deleted_at = $4::bigint" OWNED_ONE

/* What the get, the list and the trash of a resource under the access
 * rule need: its statements and how a row is read. */
typedef struct pgd_owned {
    const char *kind;      /* "dataset": in "dataset 7 does not exist" */
    const char *get_sql;   /* one record: $1 id, $2 and $3 the viewer */
    const char *list_sql;  /* the viewer's: $1 include_deleted, $2, $3 */
    const char *trash_sql; /* SET_DELETED */
    pgs_reader read;
    pgs_release release;
    size_t size; /* of a record */
} pgd_owned;

static hs_status owned_get(const pgd_owned *o, pg_store *s, hs_id id,
                           hs_id viewer_id, int viewer_is_admin, void *out,
                           hs_error *err)
{
    pgs_msg missing;
    return pgs_get_one(s, o->read, out, pgs_no_such(missing, o->kind, id), err,
                       o->get_sql, "iib", id, viewer_id, viewer_is_admin);
}

static hs_status owned_list(const pgd_owned *o, pg_store *s, hs_id viewer_id,
                            int viewer_is_admin, int include_deleted,
                            void **items, size_t *n, hs_error *err)
{
    return pgs_list(s, o->read, o->release, o->size, items, n, err, o->list_sql,
                    "bib", include_deleted, viewer_id, viewer_is_admin);
}

static hs_status owned_trash(const pgd_owned *o, pg_store *s, hs_id id,
                             hs_id viewer_id, int viewer_is_admin,
                             int64_t deleted_at, hs_error *err)
{
    return set_deleted(s, o->kind, o->trash_sql, id, viewer_id, viewer_is_admin,
                       deleted_at, err);
}

/* Clears the generic result reference of the jobs whose result was a row
 * of `d` (a CTE of deleted rows with their id), kind `K`: no foreign key
 * can, since result_id may point at any table. */
#define CLEAR_RESULTS(K)                                                       \
    ", cleared AS (UPDATE jobs SET result_id = NULL WHERE result_kind = '" K   \
    "' AND result_id IN (SELECT id FROM d))"

/* A statement that deletes rows and returns their blob keys, run so that
 * the keys are handed back exactly when the rows are gone for good:
 * atomically (pgs_atomic), so that failing to read the keys (out of
 * memory) puts the rows back. $1 is `a`; with `viewer` the access rule's
 * $2 and $3 follow. */
typedef struct keyed_delete {
    pg_store *s;
    const char *sql;
    int64_t a;
    int viewer; /* 1: $2 viewer_id and $3 viewer_is_admin are bound */
    hs_id viewer_id;
    int viewer_is_admin;
    const char *missing; /* no key: HS_ERR_NOTFOUND with it; NULL: fine */
    char (*keys)[HS_STORE_BLOB_KEY_MAX];
    size_t n;
} keyed_delete;

static hs_status keyed_delete_body(void *arg, hs_error *err)
{
    keyed_delete *k = arg;
    hs_status hs =
        k->viewer ? pgs_list(k->s, pgs_read_blob_key, NULL, sizeof *k->keys,
                             (void **)&k->keys, &k->n, err, k->sql, "iib", k->a,
                             k->viewer_id, k->viewer_is_admin)
                  : pgs_list(k->s, pgs_read_blob_key, NULL, sizeof *k->keys,
                             (void **)&k->keys, &k->n, err, k->sql, "i", k->a);
    if (hs == HS_OK && k->n == 0 && k->missing)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "%s", k->missing);
    return hs;
}

static hs_status run_keyed_delete(keyed_delete *k,
                                  char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                  size_t *n, hs_error *err)
{
    hs_status hs = pgs_atomic(k->s, keyed_delete_body, k, err);
    if (hs != HS_OK) { /* the rows are back: their keys must not be used */
        free(k->keys);
        k->keys = NULL;
        k->n = 0;
    }
    *keys = k->keys;
    *n = k->n;
    return hs;
}

/* A purge: `sql` deletes what was trashed before `deleted_before`
 * (TRASHED_BEFORE) and returns the blob keys of the rows it deleted. */
static hs_status purge(pg_store *s, const char *sql, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err)
{
    keyed_delete k = {.s = s, .sql = sql, .a = deleted_before};
    return run_keyed_delete(&k, keys, n, err);
}

/* A delete of record `id` under the access rule by `sql` (OWNED_ONE),
 * which returns its blob keys: none is HS_ERR_NOTFOUND. */
static hs_status delete_owned(pg_store *s, const char *kind, const char *sql,
                              hs_id id, hs_id viewer_id, int viewer_is_admin,
                              char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                              hs_error *err)
{
    pgs_msg missing;
    keyed_delete k = {.s = s,
                      .sql = sql,
                      .a = id,
                      .viewer = 1,
                      .viewer_id = viewer_id,
                      .viewer_is_admin = viewer_is_admin,
                      .missing = pgs_no_such(missing, kind, id)};
    return run_keyed_delete(&k, keys, n, err);
}

/* delete_owned for a record with one blob key, copied to blob_key_out. */
static hs_status delete_owned_one(pg_store *s, const char *kind,
                                  const char *sql, hs_id id, hs_id viewer_id,
                                  int viewer_is_admin,
                                  char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                  hs_error *err)
{
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;
    hs_status hs = delete_owned(s, kind, sql, id, viewer_id, viewer_is_admin,
                                &keys, &n, err);
    if (hs == HS_OK)
        memcpy(blob_key_out, keys[0], HS_STORE_BLOB_KEY_MAX);
    free(keys);
    return hs;
}

/* A record's conflict message: "a <kind> with blob key '<key>' already
 * exists". */
typedef char pgd_conflict[HS_STORE_BLOB_KEY_MAX + 48];

static const char *blob_conflict(pgd_conflict buf, const char *kind,
                                 const char *blob_key)
{
    snprintf(buf, sizeof(pgd_conflict),
             "a %s with blob key '%s' already exists", kind, blob_key);
    return buf;
}

/* ---- datasets ------------------------------------------------------------ */

#define DATASET_COLS                                                           \
    "SELECT id, owner_id, name, blob_key, size_bytes, rows, features,"         \
    " created_at, deleted_at, state, ingest_error, file_deleted,"              \
    " profile_json FROM datasets"

static const pgs_col DATASET_READ[] = {
    PGS_COL(PGS_I64, hs_dataset_rec, id, "dataset id"),
    PGS_COL(PGS_I64, hs_dataset_rec, owner_id, "owner id"),
    PGS_COL(PGS_TEXT, hs_dataset_rec, name, "dataset name"),
    PGS_COL(PGS_TEXT, hs_dataset_rec, blob_key, "blob key"),
    PGS_COL(PGS_I64, hs_dataset_rec, size_bytes, "size"),
    PGS_COL(PGS_I64, hs_dataset_rec, rows, "rows"),
    PGS_COL(PGS_I64, hs_dataset_rec, features, "features"),
    PGS_COL(PGS_I64, hs_dataset_rec, created_at, "created_at"),
    PGS_COL(PGS_I64, hs_dataset_rec, deleted_at, "deleted_at"),
    PGS_COL(PGS_TEXT, hs_dataset_rec, state, "dataset state"),
    PGS_COL(PGS_TEXT, hs_dataset_rec, ingest_error, "dataset ingest error"),
    PGS_COL(PGS_FLAG, hs_dataset_rec, file_deleted, "dataset file deleted"),
};
static const size_t DATASET_TEXTS[] = {offsetof(hs_dataset_rec, profile_json)};

static hs_status read_dataset(const hs_pg_result *r, int row, void *dst,
                              hs_error *err)
{
    return PGD_READ(r, row, dst, hs_dataset_rec, DATASET_READ, DATASET_TEXTS,
                    err);
}

static void release_dataset(void *row)
{
    hs_dataset_rec_free(row);
}

static const pgd_owned DATASETS = {
    .kind = "dataset",
    .get_sql = DATASET_COLS OWNED_ONE,
    .list_sql = DATASET_COLS OWNED_ALL,
    .trash_sql = SET_DELETED("datasets"),
    .read = read_dataset,
    .release = release_dataset,
    .size = sizeof(hs_dataset_rec),
};

static hs_status pgd_dataset_create(void *impl, hs_dataset_rec *d,
                                    hs_error *err)
{
    pgd_conflict conflict;
    pgs_msg missing;
    return pgs_insert(
        impl, &d->id, blob_conflict(conflict, "dataset", d->blob_key),
        pgs_no_such(missing, "user", d->owner_id), err, "creating a dataset",
        "INSERT INTO datasets (owner_id, name, blob_key, size_bytes, rows,"
        " features, profile_json, created_at, deleted_at, state)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        "ittiiiTiit", d->owner_id, d->name, d->blob_key, d->size_bytes, d->rows,
        d->features, d->profile_json, d->created_at, d->deleted_at, d->state);
}

static hs_status pgd_dataset_get(void *impl, hs_id id, hs_id viewer_id,
                                 int viewer_is_admin, hs_dataset_rec *out,
                                 hs_error *err)
{
    return owned_get(&DATASETS, impl, id, viewer_id, viewer_is_admin, out, err);
}

static hs_status pgd_dataset_list(void *impl, hs_id viewer_id,
                                  int viewer_is_admin, int include_deleted,
                                  hs_dataset_rec **items, size_t *n,
                                  hs_error *err)
{
    return owned_list(&DATASETS, impl, viewer_id, viewer_is_admin,
                      include_deleted, (void **)items, n, err);
}

static hs_status pgd_dataset_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                         int viewer_is_admin,
                                         int64_t deleted_at, hs_error *err)
{
    return owned_trash(&DATASETS, impl, id, viewer_id, viewer_is_admin,
                       deleted_at, err);
}

static hs_status pgd_dataset_set_profile(void *impl, hs_id id,
                                         const char *profile_json, int64_t rows,
                                         int64_t features, hs_error *err)
{
    return pgs_run_one(impl, "dataset", id, err, "storing a dataset profile",
                       "UPDATE datasets SET profile_json = $2, rows = $3,"
                       " features = $4 WHERE id = $1",
                       "iTii", id, profile_json, rows, features);
}

/* Models, jobs and analyses that name a purged dataset keep NULL (the
 * foreign keys' SET NULL). */
static hs_status pgd_dataset_purge(void *impl, int64_t deleted_before,
                                   char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                   size_t *n, hs_error *err)
{
    return purge(impl,
                 "DELETE FROM datasets" TRASHED_BEFORE " RETURNING blob_key",
                 deleted_before, keys, n, err);
}

/* One statement: the update of a dataset still ingesting (first: 1 when
 * it happened), and whether the dataset exists (second), which tells
 * "absent" from "already ended". Two enders at once: the second's UPDATE
 * waits for the first and then finds the state changed. file_deleted 1:
 * the engine refused the file (reject_ingest). */
static hs_status end_ingest(pg_store *s, hs_id id, const char *state,
                            const char *error, int64_t size_bytes,
                            int file_deleted, hs_error *err)
{
    pgd_pair done = {0, 0};
    hs_status hs = pgs_get_one(
        s, read_pair, &done, "no answer", err,
        "WITH done AS (UPDATE datasets SET state = $2::text,"
        " ingest_error = $3::text, size_bytes = CASE WHEN $2::text = "
        "'" HS_DATASET_READY "' THEN $4::bigint ELSE size_bytes END,"
        " file_deleted = $5::int"
        " WHERE id = $1::bigint AND state = '" HS_DATASET_INGESTING "'"
        " RETURNING id)"
        " SELECT (SELECT count(*) FROM done),"
        " EXISTS (SELECT 1 FROM datasets WHERE id = $1::bigint)",
        "ittib", id, state, error, size_bytes, file_deleted);
    if (hs == HS_OK && done.first != 1)
        hs = done.second
                 ? hs_fail(err, HS_ERR_CONFLICT,
                           "dataset %lld is not being ingested: its "
                           "ingestion has ended",
                           (long long)id)
                 : hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld does not exist",
                           (long long)id);
    return hs;
}

static hs_status pgd_dataset_finish_ingest(void *impl, hs_id id,
                                           const char *state, const char *error,
                                           int64_t size_bytes, hs_error *err)
{
    return end_ingest(impl, id, state, error, size_bytes, 0, err);
}

static hs_status pgd_dataset_reject_ingest(void *impl, hs_id id,
                                           const char *error, hs_error *err)
{
    return end_ingest(impl, id, HS_DATASET_FAILED, error, 0, 1, err);
}

/* finish_ingest's guard the other way, in one statement: only a live,
 * failed dataset whose file was kept goes back to ingesting; the second
 * of two retries at once waits for the first's row lock and then finds
 * it ingesting. Whether the viewer sees it tells "absent" from "not
 * retryable". */
static hs_status pgd_dataset_reopen_ingest(void *impl, hs_id id,
                                           hs_id viewer_id, int viewer_is_admin,
                                           hs_error *err)
{
    pgd_pair done = {0, 0};
    hs_status hs = pgs_get_one(
        impl, read_pair, &done, "no answer", err,
        "WITH done AS (UPDATE datasets SET state = '" HS_DATASET_INGESTING "',"
        " ingest_error = ''" OWNED_ONE " AND state = '" HS_DATASET_FAILED "'"
        " AND file_deleted = 0 AND deleted_at = 0 RETURNING id)"
        " SELECT (SELECT count(*) FROM done),"
        " EXISTS (SELECT 1 FROM datasets" OWNED_ONE ")",
        "iib", id, viewer_id, viewer_is_admin);
    if (hs == HS_OK && done.first != 1)
        hs = done.second
                 ? hs_fail(err, HS_ERR_CONFLICT,
                           "dataset %lld is not a failed ingestion whose "
                           "file was kept",
                           (long long)id)
                 : hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld does not exist",
                           (long long)id);
    return hs;
}

const hs_store_dataset_ops hs_pg_datasets = {
    .create = pgd_dataset_create,
    .get = pgd_dataset_get,
    .list = pgd_dataset_list,
    .set_deleted = pgd_dataset_set_deleted,
    .set_profile = pgd_dataset_set_profile,
    .purge = pgd_dataset_purge,
    .finish_ingest = pgd_dataset_finish_ingest,
    .reject_ingest = pgd_dataset_reject_ingest,
    .reopen_ingest = pgd_dataset_reopen_ingest,
};

/* ---- models -------------------------------------------------------------- */

#define MODEL_COLS                                                             \
    "SELECT id, owner_id, dataset_id, job_id, name, algo, blob_key,"           \
    " size_bytes, n_features, n_classes, macro_f1, accuracy, created_at,"      \
    " parent_id, deleted_at, summary_json, feedback_json, class_names_json"    \
    " FROM models"

static const pgs_col MODEL_READ[] = {
    PGS_COL(PGS_I64, hs_model_rec, id, "model id"),
    PGS_COL(PGS_I64, hs_model_rec, owner_id, "owner id"),
    PGS_COL(PGS_I64, hs_model_rec, dataset_id, "dataset id"),
    PGS_COL(PGS_I64, hs_model_rec, job_id, "job id"),
    PGS_COL(PGS_TEXT, hs_model_rec, name, "model name"),
    PGS_COL(PGS_TEXT, hs_model_rec, algo, "model algo"),
    PGS_COL(PGS_TEXT, hs_model_rec, blob_key, "blob key"),
    PGS_COL(PGS_I64, hs_model_rec, size_bytes, "size"),
    PGS_COL(PGS_I64, hs_model_rec, n_features, "features"),
    PGS_COL(PGS_I64, hs_model_rec, n_classes, "classes"),
    PGS_COL(PGS_F64, hs_model_rec, macro_f1, "macro F1"),
    PGS_COL(PGS_F64, hs_model_rec, accuracy, "accuracy"),
    PGS_COL(PGS_I64, hs_model_rec, created_at, "created_at"),
    PGS_COL(PGS_I64, hs_model_rec, parent_id, "parent id"),
    PGS_COL(PGS_I64, hs_model_rec, deleted_at, "deleted_at"),
};
static const size_t MODEL_TEXTS[] = {offsetof(hs_model_rec, summary_json),
                                     offsetof(hs_model_rec, feedback_json),
                                     offsetof(hs_model_rec, class_names_json)};

static hs_status read_model(const hs_pg_result *r, int row, void *dst,
                            hs_error *err)
{
    return PGD_READ(r, row, dst, hs_model_rec, MODEL_READ, MODEL_TEXTS, err);
}

static void release_model(void *row)
{
    hs_model_rec_free(row);
}

static const pgd_owned MODELS = {
    .kind = "model",
    .get_sql = MODEL_COLS OWNED_ONE,
    .list_sql = MODEL_COLS OWNED_ALL,
    .trash_sql = SET_DELETED("models"),
    .read = read_model,
    .release = release_model,
    .size = sizeof(hs_model_rec),
};

static hs_status pgd_model_create(void *impl, hs_model_rec *m, hs_error *err)
{
    pgd_conflict conflict;
    return pgs_insert(
        impl, &m->id, blob_conflict(conflict, "model", m->blob_key),
        "the owner, dataset, job or parent of the model does not exist", err,
        "creating a model",
        "INSERT INTO models (owner_id, dataset_id, job_id, name, algo,"
        " blob_key, size_bytes, n_features, n_classes, macro_f1, accuracy,"
        " summary_json, created_at, parent_id, feedback_json,"
        " class_names_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
        " $11, $12, $13, $14, $15, $16) RETURNING id",
        "iIItttiiiddtiITT", m->owner_id, m->dataset_id, m->job_id, m->name,
        m->algo, m->blob_key, m->size_bytes, m->n_features, m->n_classes,
        m->macro_f1, m->accuracy, m->summary_json, m->created_at, m->parent_id,
        m->feedback_json, m->class_names_json);
}

static hs_status pgd_model_get(void *impl, hs_id id, hs_id viewer_id,
                               int viewer_is_admin, hs_model_rec *out,
                               hs_error *err)
{
    return owned_get(&MODELS, impl, id, viewer_id, viewer_is_admin, out, err);
}

static hs_status pgd_model_list_with_deleted(void *impl, hs_id viewer_id,
                                             int viewer_is_admin,
                                             int include_deleted,
                                             hs_model_rec **items, size_t *n,
                                             hs_error *err)
{
    return owned_list(&MODELS, impl, viewer_id, viewer_is_admin,
                      include_deleted, (void **)items, n, err);
}

/* The version 1 list: the live models. */
static hs_status pgd_model_list(void *impl, hs_id viewer_id,
                                int viewer_is_admin, hs_model_rec **items,
                                size_t *n, hs_error *err)
{
    return pgd_model_list_with_deleted(impl, viewer_id, viewer_is_admin, 0,
                                       items, n, err);
}

static hs_status pgd_model_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                       int viewer_is_admin, int64_t deleted_at,
                                       hs_error *err)
{
    return owned_trash(&MODELS, impl, id, viewer_id, viewer_is_admin,
                       deleted_at, err);
}

/* As pgd_model_delete for each: the jobs' results cleared here, the
 * foreign keys (diagnoses', jobs' and analyses' model_id, parent_id) by
 * the schema. */
static hs_status pgd_model_purge(void *impl, int64_t deleted_before,
                                 char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                 size_t *n, hs_error *err)
{
    return purge(impl,
                 "WITH d AS (DELETE FROM models" TRASHED_BEFORE
                 " RETURNING id, blob_key)" CLEAR_RESULTS(
                     HS_RESULT_MODEL) " SELECT blob_key FROM d",
                 deleted_before, keys, n, err);
}

static hs_status pgd_model_delete(void *impl, hs_id id, hs_id viewer_id,
                                  int viewer_is_admin,
                                  char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                  hs_error *err)
{
    return delete_owned_one(impl, "model",
                            "WITH d AS (DELETE FROM models" OWNED_ONE
                            " RETURNING id, blob_key)" CLEAR_RESULTS(
                                HS_RESULT_MODEL) " SELECT blob_key FROM d",
                            id, viewer_id, viewer_is_admin, blob_key_out, err);
}

static hs_status pgd_model_class_names_put(void *impl, hs_id id,
                                           hs_id viewer_id, int viewer_is_admin,
                                           const char *class_names_json,
                                           hs_error *err)
{
    return pgs_run_one(
        impl, "model", id, err, "setting class names",
        "UPDATE models SET class_names_json = $4::text" OWNED_ONE, "iibt", id,
        viewer_id, viewer_is_admin, class_names_json);
}

const hs_store_model_ops hs_pg_models = {
    .create = pgd_model_create,
    .get = pgd_model_get,
    .list = pgd_model_list,
    .remove = pgd_model_delete,
    .class_names_put = pgd_model_class_names_put,
    .list_with_deleted = pgd_model_list_with_deleted,
    .set_deleted = pgd_model_set_deleted,
    .purge = pgd_model_purge,
};

/* ---- diagnoses ----------------------------------------------------------- */

#define DIAGNOSIS_COLS                                                         \
    "SELECT id, owner_id, model_id, job_id, name, blob_key, rows, created_at," \
    " input_blob_key, deleted_at, summary_json,"                               \
    " (SELECT m.class_names_json FROM models m"                                \
    "  WHERE m.id = diagnoses.model_id) FROM diagnoses"

static const pgs_col DIAGNOSIS_READ[] = {
    PGS_COL(PGS_I64, hs_diagnosis_rec, id, "diagnosis id"),
    PGS_COL(PGS_I64, hs_diagnosis_rec, owner_id, "owner id"),
    PGS_COL(PGS_I64, hs_diagnosis_rec, model_id, "model id"),
    PGS_COL(PGS_I64, hs_diagnosis_rec, job_id, "job id"),
    PGS_COL(PGS_TEXT, hs_diagnosis_rec, name, "diagnosis name"),
    PGS_COL(PGS_TEXT, hs_diagnosis_rec, blob_key, "blob key"),
    PGS_COL(PGS_I64, hs_diagnosis_rec, rows, "rows"),
    PGS_COL(PGS_I64, hs_diagnosis_rec, created_at, "created_at"),
    PGS_COL(PGS_TEXT, hs_diagnosis_rec, input_blob_key, "input blob key"),
    PGS_COL(PGS_I64, hs_diagnosis_rec, deleted_at, "deleted_at"),
};
static const size_t DIAGNOSIS_TEXTS[] = {
    offsetof(hs_diagnosis_rec, summary_json),
    offsetof(hs_diagnosis_rec, model_class_names_json)};

static hs_status read_diagnosis(const hs_pg_result *r, int row, void *dst,
                                hs_error *err)
{
    return PGD_READ(r, row, dst, hs_diagnosis_rec, DIAGNOSIS_READ,
                    DIAGNOSIS_TEXTS, err);
}

static void release_diagnosis(void *row)
{
    hs_diagnosis_rec_free(row);
}

static const pgd_owned DIAGNOSES = {
    .kind = "diagnosis",
    .get_sql = DIAGNOSIS_COLS OWNED_ONE,
    .list_sql = DIAGNOSIS_COLS OWNED_ALL,
    .trash_sql = SET_DELETED("diagnoses"),
    .read = read_diagnosis,
    .release = release_diagnosis,
    .size = sizeof(hs_diagnosis_rec),
};

static hs_status pgd_diagnosis_create(void *impl, hs_diagnosis_rec *d,
                                      hs_error *err)
{
    pgd_conflict conflict;
    return pgs_insert(
        impl, &d->id, blob_conflict(conflict, "diagnosis", d->blob_key),
        "the owner, model or job of the diagnosis does not exist", err,
        "creating a diagnosis",
        "INSERT INTO diagnoses (owner_id, model_id, job_id, name, blob_key,"
        " rows, summary_json, created_at, input_blob_key) VALUES ($1, $2, $3,"
        " $4, $5, $6, $7, $8, $9) RETURNING id",
        "iIIttitit", d->owner_id, d->model_id, d->job_id, d->name, d->blob_key,
        d->rows, d->summary_json, d->created_at, d->input_blob_key);
}

static hs_status pgd_diagnosis_get(void *impl, hs_id id, hs_id viewer_id,
                                   int viewer_is_admin, hs_diagnosis_rec *out,
                                   hs_error *err)
{
    return owned_get(&DIAGNOSES, impl, id, viewer_id, viewer_is_admin, out,
                     err);
}

static hs_status pgd_diagnosis_list_with_deleted(void *impl, hs_id viewer_id,
                                                 int viewer_is_admin,
                                                 int include_deleted,
                                                 hs_diagnosis_rec **items,
                                                 size_t *n, hs_error *err)
{
    return owned_list(&DIAGNOSES, impl, viewer_id, viewer_is_admin,
                      include_deleted, (void **)items, n, err);
}

/* The version 1 list: the live diagnoses. */
static hs_status pgd_diagnosis_list(void *impl, hs_id viewer_id,
                                    int viewer_is_admin,
                                    hs_diagnosis_rec **items, size_t *n,
                                    hs_error *err)
{
    return pgd_diagnosis_list_with_deleted(impl, viewer_id, viewer_is_admin, 0,
                                           items, n, err);
}

static hs_status pgd_diagnosis_set_deleted(void *impl, hs_id id,
                                           hs_id viewer_id, int viewer_is_admin,
                                           int64_t deleted_at, hs_error *err)
{
    return owned_trash(&DIAGNOSES, impl, id, viewer_id, viewer_is_admin,
                       deleted_at, err);
}

/* As pgd_diagnosis_delete for each (labels go by ON DELETE CASCADE); the
 * keys are the results' and the kept inputs'. */
static hs_status pgd_diagnosis_purge(void *impl, int64_t deleted_before,
                                     char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                     size_t *n, hs_error *err)
{
    return purge(impl,
                 "WITH d AS (DELETE FROM diagnoses" TRASHED_BEFORE
                 " RETURNING id, blob_key, input_blob_key)" CLEAR_RESULTS(
                     HS_RESULT_DIAGNOSIS) " SELECT blob_key FROM d UNION ALL"
                                          " SELECT input_blob_key FROM d WHERE "
                                          "input_blob_key <> ''",
                 deleted_before, keys, n, err);
}

static hs_status pgd_diagnosis_delete(void *impl, hs_id id, hs_id viewer_id,
                                      int viewer_is_admin,
                                      char blob_key_out[HS_STORE_BLOB_KEY_MAX],
                                      hs_error *err)
{
    return delete_owned_one(impl, "diagnosis",
                            "WITH d AS (DELETE FROM diagnoses" OWNED_ONE
                            " RETURNING id, blob_key)" CLEAR_RESULTS(
                                HS_RESULT_DIAGNOSIS) " SELECT blob_key FROM d",
                            id, viewer_id, viewer_is_admin, blob_key_out, err);
}

static hs_status pgd_diagnosis_swap_blob(void *impl, hs_id id,
                                         const char *old_key,
                                         const char *new_key, hs_error *err)
{
    return pgs_run_one(impl, "diagnosis", id, err, "replacing results",
                       "UPDATE diagnoses SET blob_key = $3::text"
                       " WHERE id = $1::bigint AND blob_key = $2::text",
                       "itt", id, old_key, new_key);
}

/* ---- labels ------------------------------------------------------------- */

static const pgs_col LABEL_READ[] = {
    PGS_COL(PGS_I64, hs_diagnosis_label, diagnosis_id, "diagnosis id"),
    PGS_COL(PGS_I64, hs_diagnosis_label, row, "row"),
    PGS_COL(PGS_TEXT, hs_diagnosis_label, label, "label"),
    PGS_COL(PGS_I64, hs_diagnosis_label, user_id, "user id"),
    PGS_COL(PGS_TEXT, hs_diagnosis_label, username, "username"),
    PGS_COL(PGS_I64, hs_diagnosis_label, labelled_at, "labelled_at"),
};

static hs_status read_label(const hs_pg_result *r, int row, void *dst,
                            hs_error *err)
{
    return PGS_READ(r, row, dst, hs_diagnosis_label, LABEL_READ, err);
}

/* One statement: the diagnosis under the access rule, LEFT JOINed to its
 * labels - no row: not the viewer's; one row without a label (a stored
 * label is never empty): none. */
static hs_status pgd_diagnosis_labels_list(void *impl, hs_id diagnosis_id,
                                           hs_id viewer_id, int viewer_is_admin,
                                           hs_diagnosis_label **items,
                                           size_t *n, hs_error *err)
{
    hs_status hs = pgs_list(
        impl, read_label, NULL, sizeof **items, (void **)items, n, err,
        "SELECT d.id, l.row, l.label, l.user_id, COALESCE(u.username, ''),"
        " l.labelled_at FROM diagnoses d"
        " LEFT JOIN diagnosis_labels l ON l.diagnosis_id = d.id"
        " LEFT JOIN users u ON u.id = l.user_id"
        " WHERE d.id = $1::bigint AND ($3::int = 1 OR d.owner_id = $2::bigint)"
        " ORDER BY l.row",
        "iib", diagnosis_id, viewer_id, viewer_is_admin);
    if (hs == HS_OK && (*n == 0 || !(*items)[0].label[0])) {
        hs = *n == 0 ? hs_fail(err, HS_ERR_NOTFOUND,
                               "diagnosis %lld does not exist",
                               (long long)diagnosis_id)
                     : HS_OK;
        free(*items);
        *items = NULL;
        *n = 0;
    }
    return hs;
}

/* A put's items as four array literals, in their order: rows, labels
 * ("" clears), labellers (0 for a clear: nobody to check) and times. */
typedef struct label_arrays {
    char *rows, *labels, *users, *times;
} label_arrays;

static void label_arrays_free(label_arrays *a)
{
    free(a->rows);
    free(a->labels);
    free(a->users);
    free(a->times);
    memset(a, 0, sizeof *a);
}

/* Writes `sep` and v at `at`; returns the end. */
static char *put_int(char *at, char sep, int64_t v)
{
    *at++ = sep;
    return at + sprintf(at, "%lld", (long long)v);
}

/* Writes `sep` and s as an element of an array literal at `at`:
 * double-quoted, '"' and '\' escaped by a backslash (what the server's
 * array input undoes). Returns the end. */
static char *put_quoted(char *at, char sep, const char *s)
{
    *at++ = sep;
    *at++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *at++ = '\\';
        *at++ = *s;
    }
    *at++ = '"';
    return at;
}

/* The literals are sized beforehand: an integer takes at most 20
 * characters and its separator, a label at most twice its bytes (each one
 * escaped), its quotes and its separator; "}" and the NUL end each. */
static hs_status label_arrays_make(const hs_diagnosis_label *items, size_t n,
                                   label_arrays *a, hs_error *err)
{
    size_t ints = n * 21 + 2, labels = 2;
    for (size_t i = 0; i < n; i++)
        labels += 2 * strlen(items[i].label) + 3;
    a->rows = malloc(ints);
    a->users = malloc(ints);
    a->times = malloc(ints);
    a->labels = malloc(labels);
    if (!a->rows || !a->users || !a->times || !a->labels) {
        label_arrays_free(a);
        return hs_fail(err, HS_ERR_NOMEM, "store: out of memory");
    }
    char *rows = a->rows, *users = a->users, *times = a->times;
    char *text = a->labels;
    for (size_t i = 0; i < n; i++) {
        char sep = i ? ',' : '{';
        rows = put_int(rows, sep, items[i].row);
        users = put_int(users, sep, items[i].label[0] ? items[i].user_id : 0);
        times = put_int(times, sep, items[i].labelled_at);
        text = put_quoted(text, sep, items[i].label);
    }
    strcpy(rows, "}"); /* n >= 1: the wrapper's rule */
    strcpy(users, "}");
    strcpy(times, "}");
    strcpy(text, "}");
    return HS_OK;
}

typedef struct label_put {
    pg_store *s;
    hs_id diagnosis_id, viewer_id;
    int viewer_is_admin;
    const hs_diagnosis_label *items;
    size_t n;
    int64_t max_labels;
    label_arrays arrays;
    int64_t total; /* out */
} label_put;

/* The diagnosis's rows (first), locked until the put ends so that two
 * puts on one diagnosis count one after the other, and the first labeller
 * of the items that does not exist (second; 0: they all do). */
static hs_status label_put_check(label_put *p, hs_error *err)
{
    pgd_pair found = {0, 0};
    pgs_msg missing;
    hs_status hs = pgs_get_one(
        p->s, read_pair, &found,
        pgs_no_such(missing, "diagnosis", p->diagnosis_id), err,
        "SELECT d.rows, (SELECT x.u FROM unnest($4::bigint[])"
        "  WITH ORDINALITY AS x(u, o) WHERE x.u <> 0 AND NOT EXISTS"
        "  (SELECT 1 FROM users WHERE users.id = x.u) ORDER BY x.o LIMIT 1)"
        " FROM diagnoses d WHERE d.id = $1::bigint"
        " AND ($3::int = 1 OR d.owner_id = $2::bigint) FOR UPDATE OF d",
        "iibt", p->diagnosis_id, p->viewer_id, p->viewer_is_admin,
        p->arrays.users);
    for (size_t i = 0; hs == HS_OK && i < p->n; i++)
        if (p->items[i].row >= found.first)
            hs = hs_fail(err, HS_ERR_INVALID,
                         "row %lld is out of range: diagnosis %lld has %lld "
                         "rows",
                         (long long)p->items[i].row, (long long)p->diagnosis_id,
                         (long long)found.first);
    if (hs == HS_OK && found.second)
        hs = hs_fail(err, HS_ERR_NOTFOUND, "%s",
                     pgs_no_such(missing, "user", found.second));
    return hs;
}

/* Every item in one statement (a row given twice: its last item, by
 * DISTINCT ON over the items' order), then the total against the bound. */
static hs_status label_put_body(void *arg, hs_error *err)
{
    label_put *p = arg;
    hs_status hs = label_put_check(p, err);
    if (hs == HS_OK)
        hs = pgs_run(
            p->s, NULL, err, "labelling rows",
            "WITH items AS (SELECT DISTINCT ON (x.r) x.r, x.l, x.u, x.t"
            "  FROM unnest($2::bigint[], $3::text[], $4::bigint[],"
            "  $5::bigint[]) WITH ORDINALITY AS x(r, l, u, t, o)"
            "  ORDER BY x.r, x.o DESC),"
            " cleared AS (DELETE FROM diagnosis_labels dl USING items"
            "  WHERE dl.diagnosis_id = $1::bigint AND dl.row = items.r"
            "  AND items.l = '')"
            " INSERT INTO diagnosis_labels (diagnosis_id, row, label,"
            " user_id, labelled_at) SELECT $1::bigint, r, l, u, t FROM items"
            " WHERE l <> '' ON CONFLICT (diagnosis_id, row) DO UPDATE"
            " SET label = excluded.label, user_id = excluded.user_id,"
            " labelled_at = excluded.labelled_at",
            "itttt", p->diagnosis_id, p->arrays.rows, p->arrays.labels,
            p->arrays.users, p->arrays.times);
    if (hs == HS_OK)
        hs = pgs_get_one(p->s, pgs_read_int, &p->total, "no count", err,
                         "SELECT count(*) FROM diagnosis_labels"
                         " WHERE diagnosis_id = $1::bigint",
                         "i", p->diagnosis_id);
    if (hs == HS_OK && p->max_labels > 0 && p->total > p->max_labels)
        hs = hs_fail(err, HS_ERR_INVALID,
                     "diagnosis %lld would have %lld labelled rows; at most "
                     "%lld",
                     (long long)p->diagnosis_id, (long long)p->total,
                     (long long)p->max_labels);
    return hs;
}

static hs_status pgd_diagnosis_labels_put(void *impl, hs_id diagnosis_id,
                                          hs_id viewer_id, int viewer_is_admin,
                                          const hs_diagnosis_label *items,
                                          size_t n, int64_t max_labels,
                                          int64_t *total_out, hs_error *err)
{
    label_put p = {.s = impl,
                   .diagnosis_id = diagnosis_id,
                   .viewer_id = viewer_id,
                   .viewer_is_admin = viewer_is_admin,
                   .items = items,
                   .n = n,
                   .max_labels = max_labels};
    hs_status hs = label_arrays_make(items, n, &p.arrays, err);
    if (hs == HS_OK)
        hs = pgs_atomic(impl, label_put_body, &p, err);
    label_arrays_free(&p.arrays);
    *total_out = hs == HS_OK ? p.total : 0;
    return hs;
}

const hs_store_diagnosis_ops hs_pg_diagnoses = {
    .create = pgd_diagnosis_create,
    .get = pgd_diagnosis_get,
    .list = pgd_diagnosis_list,
    .remove = pgd_diagnosis_delete,
    .swap_blob = pgd_diagnosis_swap_blob,
    .labels_put = pgd_diagnosis_labels_put,
    .labels_list = pgd_diagnosis_labels_list,
    .list_with_deleted = pgd_diagnosis_list_with_deleted,
    .set_deleted = pgd_diagnosis_set_deleted,
    .purge = pgd_diagnosis_purge,
};

/* ---- topologies ---------------------------------------------------------- */

#define TOPOLOGY_COLS                                                          \
    "SELECT id, owner_id, name, format, blob_key, size_bytes, nodes, edges,"   \
    " bidirectional_edges, created_at, deleted_at, kinds_json FROM topologies"

static const pgs_col TOPOLOGY_READ[] = {
    PGS_COL(PGS_I64, hs_topology_rec, id, "topology id"),
    PGS_COL(PGS_I64, hs_topology_rec, owner_id, "owner id"),
    PGS_COL(PGS_TEXT, hs_topology_rec, name, "topology name"),
    PGS_COL(PGS_TEXT, hs_topology_rec, format, "topology format"),
    PGS_COL(PGS_TEXT, hs_topology_rec, blob_key, "blob key"),
    PGS_COL(PGS_I64, hs_topology_rec, size_bytes, "size"),
    PGS_COL(PGS_I64, hs_topology_rec, nodes, "nodes"),
    PGS_COL(PGS_I64, hs_topology_rec, edges, "edges"),
    PGS_COL(PGS_I64, hs_topology_rec, bidirectional_edges,
            "bidirectional edges"),
    PGS_COL(PGS_I64, hs_topology_rec, created_at, "created_at"),
    PGS_COL(PGS_I64, hs_topology_rec, deleted_at, "deleted_at"),
};
static const size_t TOPOLOGY_TEXTS[] = {offsetof(hs_topology_rec, kinds_json)};

static hs_status read_topology(const hs_pg_result *r, int row, void *dst,
                               hs_error *err)
{
    return PGD_READ(r, row, dst, hs_topology_rec, TOPOLOGY_READ, TOPOLOGY_TEXTS,
                    err);
}

static void release_topology(void *row)
{
    hs_topology_rec_free(row);
}

static const pgd_owned TOPOLOGIES = {
    .kind = "topology",
    .get_sql = TOPOLOGY_COLS OWNED_ONE,
    .list_sql = TOPOLOGY_COLS OWNED_ALL,
    .trash_sql = SET_DELETED("topologies"),
    .read = read_topology,
    .release = release_topology,
    .size = sizeof(hs_topology_rec),
};

static hs_status pgd_topology_create(void *impl, hs_topology_rec *t,
                                     hs_error *err)
{
    pgd_conflict conflict;
    pgs_msg missing;
    return pgs_insert(
        impl, &t->id, blob_conflict(conflict, "topology", t->blob_key),
        pgs_no_such(missing, "user", t->owner_id), err, "creating a topology",
        "INSERT INTO topologies (owner_id, name, format, blob_key,"
        " size_bytes, nodes, edges, bidirectional_edges, kinds_json,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " RETURNING id",
        "itttiiiiti", t->owner_id, t->name, t->format, t->blob_key,
        t->size_bytes, t->nodes, t->edges, t->bidirectional_edges,
        t->kinds_json, t->created_at);
}

static hs_status pgd_topology_get(void *impl, hs_id id, hs_id viewer_id,
                                  int viewer_is_admin, hs_topology_rec *out,
                                  hs_error *err)
{
    return owned_get(&TOPOLOGIES, impl, id, viewer_id, viewer_is_admin, out,
                     err);
}

static hs_status pgd_topology_list(void *impl, hs_id viewer_id,
                                   int viewer_is_admin, int include_deleted,
                                   hs_topology_rec **items, size_t *n,
                                   hs_error *err)
{
    return owned_list(&TOPOLOGIES, impl, viewer_id, viewer_is_admin,
                      include_deleted, (void **)items, n, err);
}

static hs_status pgd_topology_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                          int viewer_is_admin,
                                          int64_t deleted_at, hs_error *err)
{
    return owned_trash(&TOPOLOGIES, impl, id, viewer_id, viewer_is_admin,
                       deleted_at, err);
}

/* Analyses and jobs that name a purged topology keep NULL (SET NULL). */
static hs_status pgd_topology_purge(void *impl, int64_t deleted_before,
                                    char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                    size_t *n, hs_error *err)
{
    return purge(impl,
                 "DELETE FROM topologies" TRASHED_BEFORE " RETURNING blob_key",
                 deleted_before, keys, n, err);
}

const hs_store_topology_ops hs_pg_topologies = {
    .create = pgd_topology_create,
    .get = pgd_topology_get,
    .list = pgd_topology_list,
    .set_deleted = pgd_topology_set_deleted,
    .purge = pgd_topology_purge,
};

/* ---- analyses ------------------------------------------------------------ */

/* With its model's deleted_at and class names as they are now (the model
 * LEFT JOINed: none once it is gone). */
#define ANALYSIS_COLS                                                          \
    "SELECT a.id, a.owner_id, a.job_id, a.model_id, a.topology_id,"            \
    " a.dataset_id, a.name, a.normal, a.top, a.incidents, a.topology_nodes,"   \
    " a.csv_blob_key, a.json_blob_key, a.incidents_blob_key, a.created_at,"    \
    " a.deleted_at, COALESCE(m.deleted_at, 0), a.summary_json,"                \
    " m.class_names_json FROM analyses a"                                      \
    " LEFT JOIN models m ON m.id = a.model_id"

#define ANALYSIS_ONE                                                           \
    " WHERE a.id = $1::bigint AND ($3::int = 1 OR a.owner_id = $2::bigint)"
#define ANALYSIS_ALL                                                           \
    " WHERE ($3::int = 1 OR a.owner_id = $2::bigint)"                          \
    " AND ($1::int = 1 OR a.deleted_at = 0)"                                   \
    " ORDER BY a.created_at DESC, a.id DESC"

static const pgs_col ANALYSIS_READ[] = {
    PGS_COL(PGS_I64, hs_analysis_rec, id, "analysis id"),
    PGS_COL(PGS_I64, hs_analysis_rec, owner_id, "owner id"),
    PGS_COL(PGS_I64, hs_analysis_rec, job_id, "job id"),
    PGS_COL(PGS_I64, hs_analysis_rec, model_id, "model id"),
    PGS_COL(PGS_I64, hs_analysis_rec, topology_id, "topology id"),
    PGS_COL(PGS_I64, hs_analysis_rec, dataset_id, "dataset id"),
    PGS_COL(PGS_TEXT, hs_analysis_rec, name, "analysis name"),
    PGS_COL(PGS_TEXT, hs_analysis_rec, normal, "analysis normal class"),
    PGS_COL(PGS_I64, hs_analysis_rec, top, "top"),
    PGS_COL(PGS_I64, hs_analysis_rec, incidents, "incidents"),
    PGS_COL(PGS_I64, hs_analysis_rec, topology_nodes, "topology nodes"),
    PGS_COL(PGS_TEXT, hs_analysis_rec, csv_blob_key, "blob key"),
    PGS_COL(PGS_TEXT, hs_analysis_rec, json_blob_key, "blob key"),
    PGS_COL(PGS_TEXT, hs_analysis_rec, incidents_blob_key, "blob key"),
    PGS_COL(PGS_I64, hs_analysis_rec, created_at, "created_at"),
    PGS_COL(PGS_I64, hs_analysis_rec, deleted_at, "deleted_at"),
    PGS_COL(PGS_I64, hs_analysis_rec, model_deleted_at, "model deleted_at"),
};
static const size_t ANALYSIS_TEXTS[] = {
    offsetof(hs_analysis_rec, summary_json),
    offsetof(hs_analysis_rec, model_class_names_json)};

static hs_status read_analysis(const hs_pg_result *r, int row, void *dst,
                               hs_error *err)
{
    return PGD_READ(r, row, dst, hs_analysis_rec, ANALYSIS_READ, ANALYSIS_TEXTS,
                    err);
}

static void release_analysis(void *row)
{
    hs_analysis_rec_free(row);
}

static const pgd_owned ANALYSES = {
    .kind = "analysis",
    .get_sql = ANALYSIS_COLS ANALYSIS_ONE,
    .list_sql = ANALYSIS_COLS ANALYSIS_ALL,
    .trash_sql = SET_DELETED("analyses"),
    .read = read_analysis,
    .release = release_analysis,
    .size = sizeof(hs_analysis_rec),
};

static hs_status pgd_analysis_create(void *impl, hs_analysis_rec *a,
                                     hs_error *err)
{
    return pgs_insert(
        impl, &a->id, "an analysis with one of these blob keys already exists",
        "the owner, job, model, topology or dataset of the analysis does not "
        "exist",
        err, "creating an analysis",
        "INSERT INTO analyses (owner_id, job_id, model_id, topology_id,"
        " dataset_id, name, normal, top, incidents, topology_nodes,"
        " csv_blob_key, json_blob_key, incidents_blob_key, summary_json,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
        " $12, $13, $14, $15) RETURNING id",
        "iIIIIttiiitttti", a->owner_id, a->job_id, a->model_id, a->topology_id,
        a->dataset_id, a->name, a->normal, a->top, a->incidents,
        a->topology_nodes, a->csv_blob_key, a->json_blob_key,
        a->incidents_blob_key, a->summary_json, a->created_at);
}

static hs_status pgd_analysis_get(void *impl, hs_id id, hs_id viewer_id,
                                  int viewer_is_admin, hs_analysis_rec *out,
                                  hs_error *err)
{
    return owned_get(&ANALYSES, impl, id, viewer_id, viewer_is_admin, out, err);
}

static hs_status pgd_analysis_list(void *impl, hs_id viewer_id,
                                   int viewer_is_admin, int include_deleted,
                                   hs_analysis_rec **items, size_t *n,
                                   hs_error *err)
{
    return owned_list(&ANALYSES, impl, viewer_id, viewer_is_admin,
                      include_deleted, (void **)items, n, err);
}

static hs_status pgd_analysis_set_deleted(void *impl, hs_id id, hs_id viewer_id,
                                          int viewer_is_admin,
                                          int64_t deleted_at, hs_error *err)
{
    return owned_trash(&ANALYSES, impl, id, viewer_id, viewer_is_admin,
                       deleted_at, err);
}

/* The deleted analyses' three blob keys each, in the order csv, json,
 * incidents (analysis by analysis), and the jobs' results cleared. */
#define ANALYSIS_DELETE(W)                                                     \
    "WITH d AS (DELETE FROM analyses" W " RETURNING id, csv_blob_key,"         \
    " json_blob_key, incidents_blob_key)" CLEAR_RESULTS(                       \
        HS_RESULT_ANALYSIS) " SELECT k.key FROM d, LATERAL (VALUES (1, "       \
                            "d.csv_blob_key),"                                 \
                            " (2, d.json_blob_key), (3, "                      \
                            "d.incidents_blob_key)) AS k(o, key)"              \
                            " ORDER BY d.id, k.o"

static hs_status pgd_analysis_purge(void *impl, int64_t deleted_before,
                                    char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                    size_t *n, hs_error *err)
{
    return purge(impl, ANALYSIS_DELETE(TRASHED_BEFORE), deleted_before, keys, n,
                 err);
}

static hs_status pgd_analysis_delete(void *impl, hs_id id, hs_id viewer_id,
                                     int viewer_is_admin,
                                     char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                     size_t *n, hs_error *err)
{
    return delete_owned(impl, "analysis", ANALYSIS_DELETE(OWNED_ONE), id,
                        viewer_id, viewer_is_admin, keys, n, err);
}

const hs_store_analysis_ops hs_pg_analyses = {
    .create = pgd_analysis_create,
    .get = pgd_analysis_get,
    .list = pgd_analysis_list,
    .set_deleted = pgd_analysis_set_deleted,
    .purge = pgd_analysis_purge,
    .remove = pgd_analysis_delete,
};
