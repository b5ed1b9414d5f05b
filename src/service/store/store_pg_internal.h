/* store/store_pg_internal.h - what the files of the PostgreSQL backend
 * share (store_pg.c, store_pg_sql.c, store_pg_accounts.c, store_pg_data.c,
 * store_pg_jobs.c, store_pg_schema.c): the backend's state, the statement
 * helpers every operation is written with, and the resources' tables of
 * operations, which store_pg.c assembles into the backend.
 *
 * Why a private header: the backend is several files so that the
 * resources can be written and read apart, but nothing outside
 * src/service/store/store_pg*.c may see any of this (the service knows
 * stores only through store.h).
 *
 * The helpers are the SQLite backend's (sq_run, sq_insert, sq_get_one,
 * sq_list) on hs_pg: a letter string plus varargs for the parameters
 * ($1, $2, ... in the SQL; pg/pg.h's letters), an operation is mostly its
 * SQL. Every statement runs on its own pooled connection, or in the
 * calling thread's transaction when there is one.
 */
#ifndef HEALER_HS_STORE_PG_INTERNAL_H
#define HEALER_HS_STORE_PG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "pg/pg.h"
#include "store/store.h"

typedef struct pg_store {
    hs_pg *pg; /* the pool; thread-safe */
} pg_store;

/* ---- resources, one table each ----------------------------------------- */

extern const hs_store_user_ops hs_pg_users;
extern const hs_store_event_ops hs_pg_events;
extern const hs_store_session_ops hs_pg_sessions;
extern const hs_store_notification_ops hs_pg_notifications;
extern const hs_store_prefs_ops hs_pg_prefs;
extern const hs_store_login_ops hs_pg_logins;
extern const hs_store_outbox_ops hs_pg_outbox;
extern const hs_store_sealed_ops hs_pg_sealed;
extern const hs_store_audit_ops hs_pg_audit;
extern const hs_store_tally_ops hs_pg_tallies;
extern const hs_store_blob_ref_ops hs_pg_blob_refs;
extern const hs_store_setting_ops hs_pg_settings;
extern const hs_store_dataset_ops hs_pg_datasets; /* store_pg_data.c */
extern const hs_store_model_ops hs_pg_models;
extern const hs_store_diagnosis_ops hs_pg_diagnoses;
extern const hs_store_topology_ops hs_pg_topologies;
extern const hs_store_analysis_ops hs_pg_analyses;
extern const hs_store_job_ops hs_pg_jobs; /* store_pg_jobs.c */

/* ---- the schema (store_pg_schema.c) ----------------------------------------
 */

/* One migration: its statements, run in order in one transaction. */
typedef struct pg_migration {
    const char *const *steps;
    size_t n_steps;
} pg_migration;

/* pg_migrations[i] brings the schema from version i to i + 1. */
extern const pg_migration pg_migrations[];
extern const int pg_schema_version; /* the number of migrations */

/* ---- statement helpers (store_pg_sql.c) ---------------------------------- */

/* Reads row `row` of r into dst (one record); leaves nothing allocated in
 * dst when it fails. */
typedef hs_status (*pgs_reader)(const hs_pg_result *r, int row, void *dst,
                                hs_error *err);

/* Frees what a reader allocated inside one element (not the element). */
typedef void (*pgs_release)(void *row);

/* Runs a statement without rows to read and reports in *changed (may be
 * NULL) how many rows it touched. `what` names it in errors. */
hs_status pgs_run(pg_store *s, int64_t *changed, hs_error *err,
                  const char *what, const char *sql, const char *types, ...);

/* pgs_run for a write aimed at one record: touching no row is
 * HS_ERR_NOTFOUND "<kind> <id> does not exist". */
hs_status pgs_run_one(pg_store *s, const char *kind, hs_id id, hs_error *err,
                      const char *what, const char *sql, const char *types,
                      ...);

/* Runs an INSERT; when id_out is not NULL the SQL ends in "RETURNING id"
 * and *id_out gets it. A unique violation is HS_ERR_CONFLICT with
 * `conflict` as the message, a foreign key violation HS_ERR_NOTFOUND with
 * `missing` (either NULL: the database's message). */
hs_status pgs_insert(pg_store *s, hs_id *id_out, const char *conflict,
                     const char *missing, hs_error *err, const char *what,
                     const char *sql, const char *types, ...);

/* Runs a statement that yields at most one row (a SELECT, or a write with
 * RETURNING) and reads it into out; no row is HS_ERR_NOTFOUND with
 * `missing` as the message, more than one HS_ERR_INTERNAL. */
hs_status pgs_get_one(pg_store *s, pgs_reader read, void *out,
                      const char *missing, hs_error *err, const char *sql,
                      const char *types, ...);

/* Runs a query and reads every row (elem_size bytes each) into a malloc'ed
 * *items and *n; on error nothing is left allocated (release, may be
 * NULL, is called on the elements read so far). */
hs_status pgs_list(pg_store *s, pgs_reader read, pgs_release release,
                   size_t elem_size, void **items, size_t *n, hs_error *err,
                   const char *sql, const char *types, ...);

/* Runs fn(arg, err) atomically: in a transaction of its own, or, when the
 * calling thread is already in one, under a savepoint of it (undone alone
 * when fn fails). For operations of several statements. */
hs_status pgs_atomic(pg_store *s, hs_pg_txn_fn fn, void *arg, hs_error *err);

/* "<kind> <id> does not exist" into buf, for `missing` messages. */
typedef char pgs_msg[96];
const char *pgs_no_such(pgs_msg buf, const char *kind, hs_id id);

/* A record's columns, in the order of the SELECT list: each says where
 * its value goes in the record and how it is read. pgs_read_cols fills a
 * record from one row with such a list, so a reader is its list (the
 * PGS_READ macro) rather than one line per field. */
typedef enum pgs_col_kind {
    PGS_I64,  /* int64_t / hs_id; NULL is 0 */
    PGS_FLAG, /* int, 0 or 1 (any non-zero value is 1) */
    PGS_F64,  /* double; NULL is NAN */
    PGS_TEXT  /* char[size]; NULL is ""; too long is HS_ERR_INVALID */
} pgs_col_kind;

typedef struct pgs_col {
    pgs_col_kind kind;
    size_t offset;    /* of the field in the record */
    size_t size;      /* of the field */
    const char *what; /* names the field in an error */
} pgs_col;

#define PGS_COL(KIND, T, FIELD, WHAT)                                          \
    {                                                                          \
        KIND, offsetof(T, FIELD), sizeof(((T *)0)->FIELD), WHAT                \
    }
#define PGS_READ(r, row, dst, T, COLS, err)                                    \
    pgs_read_cols(r, row, dst, sizeof(T), COLS, sizeof COLS / sizeof COLS[0],  \
                  err)

/* Clears dst (dst_size bytes), then reads row `row` of r into it, column i
 * by cols[i]. */
hs_status pgs_read_cols(const hs_pg_result *r, int row, void *dst,
                        size_t dst_size, const pgs_col *cols, size_t n,
                        hs_error *err);

/* Column `col` of row `row` as malloc'ed text in *out (NULL for NULL);
 * HS_ERR_NOMEM naming `what` when out of memory. */
hs_status pgs_dup(const hs_pg_result *r, int row, int col, char **out,
                  const char *what, hs_error *err);

/* Common readers: column 0 as an int64_t, as a blob key, as a malloc'ed
 * text (NULL for NULL). */
hs_status pgs_read_int(const hs_pg_result *r, int row, void *dst,
                       hs_error *err);
hs_status pgs_read_blob_key(const hs_pg_result *r, int row, void *dst,
                            hs_error *err);
hs_status pgs_read_text(const hs_pg_result *r, int row, void *dst,
                        hs_error *err);
void pgs_release_text(void *row);

#endif
