/* test_store_sqlite.c - the SQLite store backend: the contract suite,
 * then what only SQLite has.
 *
 * The contract (store_contract.c) runs on fresh database files in one
 * temporary directory, removed at exit. The SQLite-specific tests each get
 * their own mkdtemp directory and check what the contract cannot see: WAL
 * mode and the schema version table; migrations from versions 1, 2, 4 and
 * 5 forward (5 moves a job's result to the generic reference, 6 a job's
 * attempts from JSON text to records), and from 6, 8 and 9 (10 adds
 * topologies, analyses and a job's topology), and from 14 (15 adds the
 * fair claim's indexes); a database
 * from a newer healer refused untouched; open errors and store URLs; the
 * raw column values (NULL for NAN and for a 0 reference); recover undone
 * as a whole when one of its sweeps fails; a transaction that SQLite itself
 * rolled back refusing to go on; and two store handles on one file (two
 * processes) honouring each other's job leases. On-disk facts are read
 * back with a private raw sqlite3 connection.
 */
#include <math.h>
#include <pthread.h>

#include <sqlite3.h>

#include "testutil.h"

#include "healer/clock.h"

#include "store/store.h"
#include "store/store_sqlite.h"
#include "store_contract.h"
#include "store_fixtures.h"

#define WORKER_A "host-a:100:0000000a"
#define WORKER_B "host-b:200:0000000b"
#define LEASE 30

/* ---- the contract ------------------------------------------------------ */

static char contract_dir[256]; /* mkdtemp result, removed at exit */
static int contract_files;

/* Contract database file n, through the store URL the service uses. */
static hs_status open_contract_file(int n, hs_store **out, hs_error *err)
{
    char url[400];
    snprintf(url, sizeof url, "sqlite:%s/contract-%d.db", contract_dir, n);
    return hs_store_open(url, out, err);
}

/* A new database file for each contract test. */
static hs_status fresh_sqlite(hs_store **out, hs_error *err)
{
    return open_contract_file(++contract_files, out, err);
}

/* Another handle on the file the last fresh_sqlite made: another process's
 * view. */
static hs_status reopen_sqlite(hs_store **out, hs_error *err)
{
    return open_contract_file(contract_files, out, err);
}

static void remove_contract_dir(void)
{
    tu_rm_rf(contract_dir);
}

/* ---- SQLite-specific tests --------------------------------------------- */

typedef struct fixture {
    char dir[256];  /* mkdtemp result, removed at teardown */
    char path[300]; /* dir + "/healer.db" */
    hs_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hs_error err = {0};
    char url[320];
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/healer-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/healer.db", f->dir);
    snprintf(url, sizeof url, "sqlite:%s", f->path);
    assert_int_equal(hs_store_open(url, &f->store, &err), HS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hs_store_close(f->store);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

/* Runs fixed SQL on the file with a private raw connection. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* The ping fails, in about a second and with SQLite's reason, while
 * another process holds the write lock (reads alone would still pass in
 * WAL mode, so the ping starts a write), and answers again once it is
 * released; the other operations keep their longer wait. */
static void test_ping_locked(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    double t0 = hl_clock_monotonic();
    assert_int_equal(hs_store_ping(f->store, &err), HS_ERR_IO);
    double waited = hl_clock_monotonic() - t0;
    assert_true(waited >= 0.9 && waited < 3.0);
    assert_non_null(strstr(err.message, "locked"));
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(other), SQLITE_OK);
    assert_int_equal(hs_store_ping(f->store, &err), HS_OK);
}

/* Returns the first column of every row of `sql`, joined by ',' (into buf). */
static const char *raw_query(const char *path, const char *sql, char *buf,
                             size_t size)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    size_t used = 0;
    int rc;
    buf[0] = '\0';
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        int w = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
                         t ? t : "NULL");
        assert_true(w > 0 && (size_t)w < size - used);
        used += (size_t)w;
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    return buf;
}

/* ---- files, migrations ------------------------------------------------- */

static void test_reopen_and_wal(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id jack = add_user(f->store, "jack", 1);
    hs_user got;
    char buf[256];

    hs_store_close(f->store);
    f->store = NULL;
    assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err), HS_OK);
    assert_int_equal(hs_store_user_get(f->store, jack, &got, &err), HS_OK);
    assert_string_equal(got.username, "jack");
    assert_int_equal(got.is_admin, 1);

    /* Migrations ran once: exactly the known versions are recorded. */
    assert_string_equal(raw_query(f->path,
                                  "SELECT version FROM schema_migrations"
                                  " ORDER BY version",
                                  buf, sizeof buf),
                        "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19");
    assert_int_equal(HS_STORE_SQLITE_SCHEMA_VERSION, 19);
    assert_string_equal(
        raw_query(f->path, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    assert_string_equal(raw_query(f->path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " type = 'table' AND name NOT LIKE"
                                  " 'sqlite_%' ORDER BY name",
                                  buf, sizeof buf),
                        "account_events,analyses,audit_log,datasets,"
                        "diagnoses,diagnosis_labels,job_attempts,jobs,"
                        "login_backoff,models,notifications,outbox,"
                        "refusal_tallies,schema_migrations,sessions,settings,"
                        "topologies,unlock_tokens,user_prefs,users");
}

static void test_future_schema_refused(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *other = (hs_store *)1;
    char path[320], buf[256], sql[128], want[128];

    /* A fresh file that a newer healer created: nothing may change. */
    snprintf(path, sizeof path, "%s/newer.db", f->dir);
    raw_exec(path, "CREATE TABLE schema_migrations (version INTEGER PRIMARY "
                   "KEY, applied_at INTEGER);"
                   "INSERT INTO schema_migrations VALUES (999, 0);");
    assert_int_equal(hs_store_sqlite_open(path, &other, &err), HS_ERR_INVALID);
    assert_null(other);
    snprintf(want, sizeof want,
             "database schema version 999 is newer than this healer (%d);"
             " upgrade healer",
             HS_STORE_SQLITE_SCHEMA_VERSION);
    assert_string_equal(err.message, want);
    assert_string_equal(raw_query(path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " type = 'table' ORDER BY name",
                                  buf, sizeof buf),
                        "schema_migrations");
    assert_string_equal(raw_query(path, "PRAGMA journal_mode", buf, sizeof buf),
                        "delete");

    /* Our own database, later upgraded by a newer healer. */
    hs_store_close(f->store);
    f->store = NULL;
    snprintf(sql, sizeof sql, "INSERT INTO schema_migrations VALUES (%d, 0);",
             HS_STORE_SQLITE_SCHEMA_VERSION + 1);
    raw_exec(f->path, sql);
    assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err),
                     HS_ERR_INVALID);
    assert_null(f->store);
    snprintf(want, sizeof want, "version %d is newer",
             HS_STORE_SQLITE_SCHEMA_VERSION + 1);
    assert_non_null(strstr(err.message, want));
}

/* What migration 19 added (whether a failed ingestion's file is gone),
 * taken away again. */
#define UNDO_V19 "ALTER TABLE datasets DROP COLUMN file_deleted;"

/* What migrations 18 (the indexes of what a job made) and 19 added, taken
 * away again. */
#define UNDO_V18                                                               \
    UNDO_V19 "DROP INDEX models_job; DROP INDEX diagnoses_job;"                \
             "DROP INDEX analyses_job;"

/* What migrations 17 (the shared settings) and 18 added, taken away
 * again. */
#define UNDO_V17 UNDO_V18 "DROP TABLE settings;"

/* What migration 16 added (a dataset's ingestion), taken away again. */
#define UNDO_V16                                                               \
    UNDO_V17 "DROP INDEX datasets_state;"                                       \
    "ALTER TABLE datasets DROP COLUMN state;"                                  \
    "ALTER TABLE datasets DROP COLUMN ingest_error;"

/* What migrations 15 (the fair claim's indexes) and 16 added, taken away
 * again. */
#define UNDO_V15                                                               \
    UNDO_V16 "DROP INDEX jobs_owner_state; DROP INDEX jobs_owner_started;"

/* What migrations 14 (the audit log, the refusal tallies) and 15 added,
 * taken away again. */
#define UNDO_V14                                                               \
    UNDO_V15 "DROP TABLE audit_log; DROP TABLE refusal_tallies;"               \
    "DROP INDEX account_events_at;"

/* What migrations 13 (the outbox of alerts) to 15 added, taken away
 * again. */
#define UNDO_V13 UNDO_V14 "DROP TABLE outbox;"

/* What migrations 12 (login back-off, unlock links) to 15 added, taken
 * away again. */
#define UNDO_V12                                                               \
    UNDO_V13 "DROP TABLE login_backoff; DROP TABLE unlock_tokens;"

/* What migrations 11 (users' e-mail) to 15 added, taken away again. */
#define UNDO_V11 UNDO_V12 "ALTER TABLE users DROP COLUMN email;"

/* What migrations 10 (topologies, analyses, a job's topology) and 11
 * added, taken away again. */
#define UNDO_V10                                                               \
    UNDO_V11 "DROP TABLE analyses; DROP TABLE topologies; DROP INDEX jobs_topology;"    \
    "ALTER TABLE jobs DROP COLUMN topology_id;"

/* What migrations 9 (the trash of models and diagnoses) and 10 added,
 * taken away again. */
#define UNDO_V9                                                                \
    UNDO_V10                                                                   \
    "DROP INDEX models_owner_deleted; DROP INDEX diagnoses_owner_deleted;"     \
    "ALTER TABLE models DROP COLUMN deleted_at;"                               \
    "ALTER TABLE diagnoses DROP COLUMN deleted_at;"

/* What migrations 8 (a model's class names) and 9 added, taken away
 * again. */
#define UNDO_V8 UNDO_V9 "ALTER TABLE models DROP COLUMN class_names_json;"

/* What migrations 7 to 9 added, taken away again (the raw connection has
 * foreign keys off, so a column that is one can be dropped). */
#define UNDO_V7                                                                \
    UNDO_V8 "DROP TABLE diagnosis_labels; DROP INDEX models_parent;"           \
    "ALTER TABLE diagnoses DROP COLUMN input_blob_key;"                        \
    "ALTER TABLE models DROP COLUMN feedback_json;"                            \
    "ALTER TABLE models DROP COLUMN parent_id;"

/* Closes the store and turns its file back into what older code left
 * behind, with `sql` (the raw connection has foreign keys off, so the drop
 * order is free). */
static void downgrade(fixture *f, const char *sql)
{
    hs_store_close(f->store);
    f->store = NULL;
    raw_exec(f->path, sql);
}

/* Reopens a downgraded file, which must bring it to every known version. */
static void upgrade(fixture *f)
{
    hs_error err = {0};
    char buf[64];
    assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err), HS_OK);
    assert_string_equal(raw_query(f->path,
                                  "SELECT version FROM schema_migrations"
                                  " ORDER BY version",
                                  buf, sizeof buf),
                        "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19");
}

/* The foreign keys of `table` (a fixed name) as "column>parent:on_delete",
 * by column. */
static const char *foreign_keys(const char *path, const char *table, char *buf,
                                size_t size)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT \"from\" || '>' || \"table\" || ':' || on_delete"
             " FROM pragma_foreign_key_list('%s') ORDER BY \"from\"",
             table);
    return raw_query(path, sql, buf, size);
}

/* A database written at schema version 1 (before datasets) gets migrations
 * 2 to 5 at open and keeps its accounts. */
static void test_migration_from_v1(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id kim = add_user(f->store, "kim", 0);
    hs_dataset_rec d, got;
    hs_user u;
    char buf[256];

    downgrade(f, UNDO_V7 "DROP TABLE job_attempts; DROP TABLE user_prefs;"
                 "DROP TABLE diagnoses; DROP TABLE jobs; DROP TABLE models;"
                 "DROP TABLE datasets;"
                 "DELETE FROM schema_migrations WHERE version >= 2;");
    assert_string_equal(raw_query(f->path,
                                  "SELECT COUNT(*) FROM sqlite_master WHERE"
                                  " name LIKE 'datasets%'",
                                  buf, sizeof buf),
                        "0");

    upgrade(f);
    assert_string_equal(raw_query(f->path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " tbl_name = 'datasets' ORDER BY name",
                                  buf, sizeof buf),
                        "datasets,datasets_owner_deleted,datasets_state,"
                        "sqlite_autoindex_datasets_1");
    assert_int_equal(hs_store_user_get(f->store, kim, &u, &err), HS_OK);
    assert_string_equal(u.username, "kim");

    d = make_dataset(kim, "after-upgrade.csv", 1, 10);
    assert_int_equal(hs_store_dataset_create(f->store, &d, &err), HS_OK);
    assert_int_equal(hs_store_dataset_get(f->store, d.id, kim, 0, &got, &err),
                     HS_OK);
    assert_datasets_equal(&got, &d);
    hs_dataset_rec_free(&got);
}

/* A database written at schema version 2 (before models, jobs and
 * diagnoses) gets migrations 3 to 5 at open and keeps its accounts and
 * datasets, which the new records can then refer to. */
static void test_migration_from_v2(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id yan = add_user(f->store, "yan", 0);
    hs_dataset_rec d = make_dataset(yan, "before-upgrade.csv", 1, 10), got_d;
    hs_model_rec m, got_m;
    hs_job_rec j, got_j;
    char buf[512];

    d.profile_json = "{\"columns\":[]}";
    assert_int_equal(hs_store_dataset_create(f->store, &d, &err), HS_OK);
    downgrade(f, UNDO_V7 "DROP TABLE job_attempts; DROP TABLE user_prefs;"
                 "DROP TABLE diagnoses; DROP TABLE jobs; DROP TABLE models;"
                 "DELETE FROM schema_migrations WHERE version >= 3;");
    assert_string_equal(raw_query(f->path,
                                  "SELECT COUNT(*) FROM sqlite_master WHERE"
                                  " tbl_name IN ('models', 'jobs',"
                                  " 'diagnoses')",
                                  buf, sizeof buf),
                        "0");

    upgrade(f);
    assert_string_equal(raw_query(f->path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " tbl_name IN ('models', 'jobs',"
                                  " 'diagnoses') ORDER BY name",
                                  buf, sizeof buf),
                        "diagnoses,diagnoses_job,diagnoses_model,"
                        "diagnoses_owner_created,diagnoses_owner_deleted,"
                        "jobs,jobs_dataset,jobs_diagnosis,jobs_lease,"
                        "jobs_model,jobs_owner_created,jobs_owner_started,"
                        "jobs_owner_state,jobs_result,jobs_state,jobs_topology,"
                        "models,models_dataset,models_job,"
                        "models_owner_created,models_owner_deleted,"
                        "models_parent,"
                        "sqlite_autoindex_diagnoses_1,"
                        "sqlite_autoindex_models_1");
    /* The references as the schema declares them. */
    assert_string_equal(foreign_keys(f->path, "jobs", buf, sizeof buf),
                        "dataset_id>datasets:SET NULL,"
                        "diagnosis_id>diagnoses:SET NULL,"
                        "model_id>models:SET NULL,owner_id>users:CASCADE,"
                        "topology_id>topologies:SET NULL");
    assert_string_equal(foreign_keys(f->path, "analyses", buf, sizeof buf),
                        "dataset_id>datasets:SET NULL,job_id>jobs:SET NULL,"
                        "model_id>models:SET NULL,owner_id>users:CASCADE,"
                        "topology_id>topologies:SET NULL");
    assert_string_equal(foreign_keys(f->path, "models", buf, sizeof buf),
                        "dataset_id>datasets:SET NULL,job_id>jobs:SET NULL,"
                        "owner_id>users:CASCADE,parent_id>models:SET NULL");
    assert_string_equal(foreign_keys(f->path, "diagnoses", buf, sizeof buf),
                        "job_id>jobs:SET NULL,model_id>models:SET NULL,"
                        "owner_id>users:CASCADE");

    assert_int_equal(hs_store_dataset_get(f->store, d.id, yan, 0, &got_d, &err),
                     HS_OK);
    assert_datasets_equal(&got_d, &d);
    hs_dataset_rec_free(&got_d);

    j = make_job(yan, "after-upgrade", 20);
    j.dataset_id = d.id;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    m = make_model(yan, "after-upgrade", 1, 30);
    m.dataset_id = d.id;
    m.job_id = j.id;
    assert_int_equal(hs_store_model_create(f->store, &m, &err), HS_OK);
    assert_int_equal(hs_store_model_get(f->store, m.id, yan, 0, &got_m, &err),
                     HS_OK);
    assert_models_equal(&got_m, &m);
    hs_model_rec_free(&got_m);
    got_j = get_job(f->store, j.id);
    assert_jobs_equal(&got_j, &j);
    hs_job_rec_free(&got_j);
}

/* A database written at schema version 4 (jobs with model_id as a
 * training's result and diagnosis_id as a diagnosis', no leases) gets
 * migration 5: each result moves to (result_kind, result_id), model_id is
 * left meaning the input model, diagnosis_id is emptied, and a job left
 * running gets an expired lease, which recover then takes back. */
static void test_migration_from_v4(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ada = add_user(f->store, "ada", 0);
    hs_id data = add_dataset(f->store, ada, 1);
    hs_id m1 = add_model(f->store, ada, 1), m2 = add_model(f->store, ada, 2);
    hs_diagnosis_rec d1 = make_diagnosis(ada, m1, "d1", 1, 10);
    hs_job_rec got;
    int64_t requeued = -1, failed = -1;
    char buf[256], sql[1024], key[HS_STORE_BLOB_KEY_MAX];

    assert_int_equal(hs_store_diagnosis_create(f->store, &d1, &err), HS_OK);
    downgrade(f, UNDO_V7 "DROP TABLE job_attempts;"
                 "DROP INDEX jobs_lease; DROP INDEX jobs_result;"
                 "ALTER TABLE jobs DROP COLUMN result_kind;"
                 "ALTER TABLE jobs DROP COLUMN result_id;"
                 "ALTER TABLE jobs DROP COLUMN worker_id;"
                 "ALTER TABLE jobs DROP COLUMN lease_expires_at;"
                 "DELETE FROM schema_migrations WHERE version >= 5;");
    /* Jobs as version 4 wrote them: (id, type, state, dataset, model,
     * diagnosis). 2's model and 6's diagnosis were deleted since. */
    snprintf(sql, sizeof sql,
             "INSERT INTO jobs (id, owner_id, type, state, dataset_id,"
             " model_id, diagnosis_id, name, params_json, created_at,"
             " started_at) VALUES"
             " (1, %lld, 'train', 'succeeded', %lld, %lld, NULL, 'j', '{}',"
             "  1, 2),"
             " (2, %lld, 'train', 'succeeded', %lld, NULL, NULL, 'j', '{}',"
             "  1, 2),"
             " (3, %lld, 'train', 'failed', %lld, NULL, NULL, 'j', '{}', 1, 2),"
             " (4, %lld, 'diagnose', 'succeeded', NULL, %lld, %lld, 'j', '{}',"
             "  1, 2),"
             " (5, %lld, 'diagnose', 'queued', NULL, %lld, NULL, 'j', '{}', 1,"
             "  0),"
             " (6, %lld, 'diagnose', 'succeeded', NULL, NULL, NULL, 'j', '{}',"
             "  1, 2),"
             " (7, %lld, 'train', 'running', %lld, NULL, NULL, 'j', '{}', 1,"
             "  150);",
             (long long)ada, (long long)data, (long long)m1, (long long)ada,
             (long long)data, (long long)ada, (long long)data, (long long)ada,
             (long long)m1, (long long)d1.id, (long long)ada, (long long)m2,
             (long long)ada, (long long)ada, (long long)data);
    raw_exec(f->path, sql);
    assert_string_equal(raw_query(f->path,
                                  "SELECT COUNT(*) FROM pragma_table_info("
                                  "'jobs') WHERE name = 'result_id'",
                                  buf, sizeof buf),
                        "0");

    upgrade(f);
    assert_string_equal(raw_query(f->path,
                                  "SELECT id || ':' || result_kind || ':' ||"
                                  " IFNULL(result_id, '-') || ':' ||"
                                  " IFNULL(model_id, '-') || ':' ||"
                                  " IFNULL(diagnosis_id, '-') FROM jobs"
                                  " ORDER BY id",
                                  buf, sizeof buf),
                        "1:model:1:-:-,2:model:-:-:-,3::-:-:-,"
                        "4:diagnosis:1:1:-,5::-:2:-,6:diagnosis:-:-:-,"
                        "7::-:-:-");
    got = get_job(f->store, 1);
    assert_string_equal(got.result_kind, HS_RESULT_MODEL);
    assert_int_equal(got.result_id, m1);
    assert_int_equal(got.model_id, 0);
    assert_int_equal(got.dataset_id, data);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    hs_job_rec_free(&got);
    got = get_job(f->store, 4);
    assert_string_equal(got.result_kind, HS_RESULT_DIAGNOSIS);
    assert_int_equal(got.result_id, d1.id);
    assert_int_equal(got.model_id, m1);
    hs_job_rec_free(&got);
    got = get_job(f->store, 5);
    assert_string_equal(got.result_kind, "");
    assert_int_equal(got.model_id, m2);
    hs_job_rec_free(&got);
    got = get_job(f->store, 7);
    assert_int_equal(got.state, HS_JOB_RUNNING);
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);

    /* The running one's lease has expired: recover takes it back. */
    assert_int_equal(
        hs_store_job_recover(f->store, 1000, 1, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 0);
    assert_int_equal(job_state(f->store, 7), HS_JOB_QUEUED);

    /* The moved references are cleared by deletes like new ones. */
    assert_int_equal(
        hs_store_diagnosis_delete(f->store, d1.id, ada, 0, key, &err), HS_OK);
    assert_int_equal(hs_store_model_delete(f->store, m1, ada, 0, key, &err),
                     HS_OK);
    assert_string_equal(raw_query(f->path,
                                  "SELECT id FROM jobs WHERE result_id IS NOT"
                                  " NULL OR model_id IS NOT NULL ORDER BY id",
                                  buf, sizeof buf),
                        "5");
}

/* A database written at schema version 5 (a training job's attempts as
 * JSON text on the job) gets migration 6: each attempt becomes a record -
 * as asked, then with safer parameters; succeeded without an error, the
 * last of a cancelled job cancelled, failed otherwise - and the text is
 * emptied; text that is no JSON array stays as it was. */
/* A database of version 8 (no trash for models and diagnoses) gets
 * migration 9: what it had reads back live, and goes to the trash and back
 * from then on. */
static void test_migration_from_v8(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id una = add_user(f->store, "una", 0);
    hs_id model = add_model(f->store, una, 1);
    hs_diagnosis_rec d = make_diagnosis(una, model, "old", 1, 100), got;
    hs_model_rec m;
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    downgrade(f, UNDO_V9 "DELETE FROM schema_migrations WHERE version >= 9;");
    upgrade(f);
    assert_int_equal(hs_store_diagnosis_get(f->store, d.id, una, 0, &got, &err),
                     HS_OK);
    assert_int_equal(got.deleted_at, 0);
    hs_diagnosis_rec_free(&got);
    assert_int_equal(hs_store_model_set_deleted(f->store, model, una, 0, 50,
                                                &err),
                     HS_OK);
    assert_int_equal(hs_store_model_get(f->store, model, una, 0, &m, &err),
                     HS_OK);
    assert_int_equal(m.deleted_at, 50);
    hs_model_rec_free(&m);
}

/* A database of version 12 gets migration 13: its users stay, and the
 * outbox keeps messages from then on. */
static void test_migration_from_v12(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id una = add_user(f->store, "una", 1);
    hs_outbox_msg m, got;
    downgrade(f, UNDO_V13 "DELETE FROM schema_migrations WHERE version >= 13;");
    upgrade(f);
    memset(&m, 0, sizeof m);
    snprintf(m.channel, sizeof m.channel, HS_OUTBOX_MAIL);
    snprintf(m.kind, sizeof m.kind, "store_failing");
    snprintf(m.recipient, sizeof m.recipient, "una@example.org");
    snprintf(m.subject, sizeof m.subject, "s");
    snprintf(m.body, sizeof m.body, "b");
    m.user_id = una;
    assert_int_equal(hs_store_outbox_add(f->store, &m, &err), HS_OK);
    assert_int_equal(hs_store_outbox_get(f->store, m.id, &got, &err), HS_OK);
    assert_string_equal(got.recipient, "una@example.org");
}

/* A database of version 13 gets migration 14: an empty audit log and no
 * tallies, both kept from then on. */
static void test_migration_from_v13(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    add_user(f->store, "una", 0);
    downgrade(f, UNDO_V14 "DELETE FROM schema_migrations WHERE version >= 14;");
    upgrade(f);
    hs_audit_filter all = {.limit = 10};
    hs_audit_rec *items = NULL;
    size_t n = 9;
    assert_int_equal(hs_store_audit_list(f->store, &all, &items, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    hs_audit_rec a = {.at = 5, .actor_id = 0, .target_id = 1};
    snprintf(a.actor_name, sizeof a.actor_name, "command line");
    snprintf(a.action, sizeof a.action, "user_created");
    snprintf(a.target_kind, sizeof a.target_kind, "user");
    assert_int_equal(hs_store_audit_add(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_audit_list(f->store, &all, &items, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    free(items);
}

/* A database of version 14 gets migration 15: the fair claim's indexes,
 * and its queued jobs are then claimed fairly. */
static void test_migration_from_v14(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char buf[128];
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id ben = add_user(f->store, "ben", 0);
    hs_id a1 = add_job(f->store, ann, 10);
    add_job(f->store, ann, 11);
    hs_id b1 = add_job(f->store, ben, 12);
    downgrade(f, UNDO_V15 "DELETE FROM schema_migrations WHERE version >= 15;");
    assert_string_equal(raw_query(f->path,
                                  "SELECT count(*) FROM sqlite_master WHERE"
                                  " name GLOB 'jobs_owner_sta*'",
                                  buf, sizeof buf),
                        "0");
    upgrade(f);
    assert_string_equal(raw_query(f->path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " type = 'index' AND name GLOB"
                                  " 'jobs_owner_sta*' ORDER BY name",
                                  buf, sizeof buf),
                        "jobs_owner_started,jobs_owner_state");
    hs_job_rec j;
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, NULL, 100,
                                                  LEASE, &j, &err),
                     HS_OK);
    assert_int_equal(j.id, a1);
    hs_job_rec_free(&j);
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, NULL, 101,
                                                  LEASE, &j, &err),
                     HS_OK);
    assert_int_equal(j.id, b1); /* ann runs one: ben's before her second */
    hs_job_rec_free(&j);
}

/* A database of schema 15 gets migration 16 at open: its datasets were
 * all ingested on upload, so they read back ready, and the column refuses
 * a state the interface does not know. */
static void test_migration_from_v15(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char buf[128];
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id d = add_dataset(f->store, ann, 1);
    downgrade(f, UNDO_V16 "DELETE FROM schema_migrations WHERE version >= 16;");
    upgrade(f);
    hs_dataset_rec got;
    assert_int_equal(hs_store_dataset_get(f->store, d, ann, 0, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, HS_DATASET_READY);
    assert_string_equal(got.ingest_error, "");
    hs_dataset_rec_free(&got);
    hs_store_close(f->store);
    f->store = NULL;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE datasets SET state = 'lost'",
                                  NULL, NULL, NULL),
                     SQLITE_CONSTRAINT);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    assert_string_equal(
        raw_query(f->path, "SELECT state FROM datasets", buf, sizeof buf),
        "ready");
    assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err), HS_OK);
}

/* A database of schema 16 gets migration 17: no settings, then settings
 * that a second connection to the file (another process) shares: the
 * first put_new wins for both. */
static void test_migration_from_v16(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *b = NULL;
    char *value = NULL;
    downgrade(f, UNDO_V17 "DELETE FROM schema_migrations WHERE version >= 17;");
    upgrade(f);
    assert_int_equal(hs_store_setting_get(f->store, "csrf-key", &value, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_sqlite_open(f->path, &b, &err), HS_OK);
    assert_int_equal(
        hs_store_setting_put_new(b, "csrf-key", "from-b", 10, &value, &err),
        HS_OK);
    assert_string_equal(value, "from-b");
    free(value);
    assert_int_equal(hs_store_setting_put_new(f->store, "csrf-key", "from-a",
                                              11, &value, &err),
                     HS_OK);
    assert_string_equal(value, "from-b");
    free(value);
    hs_store_close(b);
}

/* A database of schema 17 gets migration 18: what a job made is found
 * through an index, and found for a record made before the migration. */
static void test_migration_from_v17(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char buf[256];
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id job = add_job(f->store, ann, 10);
    hs_model_rec m = make_model(ann, "m", 1, 20);
    m.job_id = job;
    assert_int_equal(hs_store_model_create(f->store, &m, &err), HS_OK);
    downgrade(f, UNDO_V18 "DELETE FROM schema_migrations WHERE version >= 18;");
    upgrade(f);
    assert_string_equal(raw_query(f->path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " name LIKE '%_job' ORDER BY name",
                                  buf, sizeof buf),
                        "analyses_job,diagnoses_job,models_job");
    hs_id found = 0;
    assert_int_equal(hs_store_job_result_of(f->store, job, HS_RESULT_MODEL, 0,
                                            &found, &err),
                     HS_OK);
    assert_int_equal(found, m.id);
}

/* A database of schema 18 gets migration 19: a failed ingestion whose
 * reason says its file is kept may be tried again; one the engine
 * refused (its file deleted) may not; ready datasets keep their file. */
static void test_migration_from_v18(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char want[32], got[32];
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id refused =
        failed_dataset(f->store, ann, 1, "big.csv:3:2: 'x' is not a number");
    hs_id cancelled = failed_dataset(
        f->store, ann, 2,
        "its ingestion was cancelled; the uploaded file is kept: download it "
        "from this dataset to upload it again");
    hs_id lost = failed_dataset(
        f->store, ann, 3,
        "ingestion failed (store away); the uploaded file is kept: download "
        "it from this dataset and upload it again once the cause is fixed");
    hs_id ready = add_dataset(f->store, ann, 4);
    downgrade(f, UNDO_V19 "DELETE FROM schema_migrations WHERE version >= 19;");
    upgrade(f);
    snprintf(want, sizeof want, "%lld", (long long)refused);
    assert_string_equal(raw_query(f->path,
                                  "SELECT id FROM datasets WHERE"
                                  " file_deleted = 1",
                                  got, sizeof got),
                        want);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, refused, ann, 0, &err),
        HS_ERR_CONFLICT);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, cancelled, ann, 0, &err),
        HS_OK);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, lost, ann, 0, &err), HS_OK);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, ready, ann, 0, &err),
        HS_ERR_CONFLICT);
}

/* SQLite has no news of jobs queued by others: wait_queued answers "none"
 * at once, whatever the timeout, so the runner falls back to polling. */
static void test_wait_queued_returns_at_once(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    int notified = 1;
    add_job(f->store, add_user(f->store, "ann", 0), 10);
    double t0 = hl_clock_monotonic();
    assert_int_equal(hs_store_job_wait_queued(f->store, 60000, &notified, &err),
                     HS_OK);
    assert_int_equal(notified, 0);
    assert_true(hl_clock_monotonic() - t0 < 0.5);
}

/* The audit log is append-only below the interface too: the database
 * refuses UPDATE and DELETE of its rows whoever asks, and a row outlives
 * the user it names (no reference to cascade through). */
static void test_audit_log_append_only(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id gus = add_user(f->store, "gus", 0);
    hs_audit_rec a = {.at = 5, .actor_id = gus, .target_id = gus};
    snprintf(a.actor_name, sizeof a.actor_name, "gus");
    snprintf(a.action, sizeof a.action, "user_created");
    snprintf(a.target_kind, sizeof a.target_kind, "user");
    snprintf(a.target_name, sizeof a.target_name, "gus");
    assert_int_equal(hs_store_audit_add(f->store, &a, &err), HS_OK);
    hs_store_close(f->store);
    f->store = NULL;

    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA foreign_keys = ON", NULL, NULL,
                                  NULL),
                     SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE audit_log SET action = 'x'",
                                      NULL, NULL, &msg),
                         SQLITE_OK);
    assert_non_null(strstr(msg, "append-only"));
    sqlite3_free(msg);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM audit_log", NULL, NULL,
                                      NULL),
                         SQLITE_OK);
    /* Purging the user (the account and everything that cascades from
     * it) keeps the rows about them. */
    assert_int_equal(sqlite3_exec(db, "DELETE FROM users", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
    char buf[128];
    assert_string_equal(raw_query(f->path,
                                  "SELECT actor_name || '/' || action || '/' ||"
                                  " target_name FROM audit_log",
                                  buf, sizeof buf),
                        "gus/user_created/gus");
}

/* A database of version 10 gets migration 11: its users read back
 * without an e-mail address, which they keep from then on. */
static void test_migration_from_v10(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id vic = add_user(f->store, "vic", 0);
    hs_user got;
    downgrade(f, UNDO_V11 "DELETE FROM schema_migrations WHERE version >= 11;");
    upgrade(f);
    assert_int_equal(hs_store_user_get(f->store, vic, &got, &err), HS_OK);
    assert_string_equal(got.email, "");
    snprintf(got.email, sizeof got.email, "vic@example.org");
    assert_int_equal(hs_store_user_update(f->store, &got, &err), HS_OK);
    assert_int_equal(hs_store_user_get(f->store, vic, &got, &err), HS_OK);
    assert_string_equal(got.email, "vic@example.org");
}

/* A database of version 9 gets migration 10: its jobs read back without
 * a topology, and topologies and analyses are kept from then on. */
static void test_migration_from_v9(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id una = add_user(f->store, "una", 0);
    hs_id job = add_job(f->store, una, 100);
    hs_job_rec got;
    hs_topology_rec t = make_topology(una, "t", 1, 100);
    downgrade(f, UNDO_V10 "DELETE FROM schema_migrations WHERE version >= 10;");
    upgrade(f);
    assert_int_equal(hs_store_job_get(f->store, job, una, 0, &got, &err),
                     HS_OK);
    assert_int_equal(got.topology_id, 0);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_topology_create(f->store, &t, &err), HS_OK);
    assert_true(t.id > 0);
}

/* A database of version 6 (diagnoses without their input, models without
 * lineage) gets migration 7: its diagnoses read back with no input key
 * (they cannot be trained on), its models without a parent, and labels
 * work from then on. */
static void test_migration_from_v6(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ivy = add_user(f->store, "ivy", 0);
    hs_id model = add_model(f->store, ivy, 1);
    hs_diagnosis_rec d = make_diagnosis(ivy, model, "old", 1, 100), got;
    hs_model_rec m;
    char buf[256];
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    downgrade(f, UNDO_V7 "DELETE FROM schema_migrations WHERE version >= 7;");
    upgrade(f);
    assert_int_equal(hs_store_diagnosis_get(f->store, d.id, ivy, 0, &got, &err),
                     HS_OK);
    assert_string_equal(got.input_blob_key, "");
    assert_string_equal(got.name, "old");
    hs_diagnosis_rec_free(&got);
    assert_int_equal(hs_store_model_get(f->store, model, ivy, 0, &m, &err),
                     HS_OK);
    assert_int_equal(m.parent_id, 0);
    assert_null(m.feedback_json);
    hs_model_rec_free(&m);
    assert_string_equal(foreign_keys(f->path, "diagnosis_labels", buf,
                                     sizeof buf),
                        "diagnosis_id>diagnoses:CASCADE,user_id>users:SET NULL");
    hs_diagnosis_label l;
    memset(&l, 0, sizeof l);
    snprintf(l.label, sizeof l.label, "ok");
    l.user_id = ivy;
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, ivy, 0, &l,
                                                   1, 0, NULL, &err),
                     HS_OK);
}

static void test_migration_from_v5(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id eve = add_user(f->store, "eve", 0);
    hs_job_attempt *items = NULL;
    size_t n = 0;
    hs_job_rec got;
    char buf[256], sql[1400];

    downgrade(f, UNDO_V7 "DROP TABLE job_attempts;"
                 "DELETE FROM schema_migrations WHERE version >= 6;");
    snprintf(sql, sizeof sql,
             "INSERT INTO jobs (id, owner_id, type, state, name, params_json,"
             " attempts_json, created_at) VALUES"
             " (1, %lld, 'train', 'succeeded', 'j', '{}',"
             "  '[{\"params\":{\"algo\":\"gbdt\",\"rounds\":9},"
             "\"error\":\"out of memory\"},"
             "{\"params\":{\"algo\":\"gbdt\",\"rounds\":9,\"threads\":1},"
             "\"error\":null}]', 1),"
             " (2, %lld, 'train', 'cancelled', 'j', '{}',"
             "  '[{\"params\":{\"algo\":\"mlp\"},\"error\":\"cancelled\"}]',"
             "  1),"
             " (3, %lld, 'train', 'failed', 'j', '{}', 'not json', 1),"
             " (4, %lld, 'train', 'queued', 'j', '{}', NULL, 1);",
             (long long)eve, (long long)eve, (long long)eve, (long long)eve);
    raw_exec(f->path, sql);

    upgrade(f);
    assert_int_equal(
        hs_store_job_attempt_list(f->store, 1, eve, 0, &items, &n, &err),
        HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[0].number, 1);
    assert_string_equal(items[0].step, "requested");
    assert_string_equal(items[0].algo, "gbdt");
    assert_string_equal(items[0].outcome, "failed");
    assert_string_equal(items[0].reason, "out of memory");
    assert_true(isnan(items[0].seconds));
    assert_string_equal(items[0].params_json,
                        "{\"algo\":\"gbdt\",\"rounds\":9}");
    assert_int_equal(items[1].number, 2);
    assert_string_equal(items[1].step, "safer_parameters");
    assert_string_equal(items[1].outcome, "succeeded");
    assert_string_equal(items[1].reason, "");
    hs_job_attempt_list_free(items, n);
    assert_int_equal(
        hs_store_job_attempt_list(f->store, 2, eve, 0, &items, &n, &err),
        HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].algo, "mlp");
    assert_string_equal(items[0].outcome, "cancelled");
    hs_job_attempt_list_free(items, n);
    assert_string_equal(raw_query(f->path,
                                  "SELECT id || ':' || IFNULL(attempts_json,"
                                  " '-') FROM jobs ORDER BY id",
                                  buf, sizeof buf),
                        "1:-,2:-,3:not json,4:-");
    got = get_job(f->store, 3);
    assert_string_equal(got.attempts_json, "not json");
    hs_job_rec_free(&got);
    assert_int_equal(
        hs_store_job_attempt_list(f->store, 0, eve, 0, &items, &n, &err),
        HS_OK);
    assert_int_equal(n, 3);
    hs_job_attempt_list_free(items, n);
    /* The attempts belong to their job: deleted with it. */
    assert_string_equal(foreign_keys(f->path, "job_attempts", buf, sizeof buf),
                        "job_id>jobs:CASCADE");
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *other = NULL;
    char path[320];
    FILE *fp;

    snprintf(path, sizeof path, "%s/garbage.db", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is not a database file at all. ", fp);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(hs_store_sqlite_open(path, &other, &err), HS_ERR_IO);
    assert_null(other);
    assert_non_null(strstr(err.message, path));

    snprintf(path, sizeof path, "%s/no/such/dir/x.db", f->dir);
    assert_int_equal(hs_store_sqlite_open(path, &other, &err), HS_ERR_IO);
    assert_null(other);
    assert_int_equal(hs_store_sqlite_open("", &other, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_sqlite_open(path, NULL, &err), HS_ERR_INVALID);
}

/* hs_store_open picks the backend by the URL's scheme and says what this
 * build supports when it cannot; a URL's credentials never reach a
 * message. */
static void test_open_urls(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *other = (hs_store *)1;
    char url[400];

    snprintf(url, sizeof url, "sqlite:%s/by-url.db", f->dir);
    assert_int_equal(hs_store_open(url, &other, &err), HS_OK);
    assert_string_equal(other->ops->name, "sqlite");
    hs_store_close(other);

    /* A bare path is not guessed to be SQLite. */
    other = (hs_store *)1;
    snprintf(url, sizeof url, "%s/bare.db", f->dir);
    assert_int_equal(hs_store_open(url, &other, &err), HS_ERR_INVALID);
    assert_null(other);
    assert_non_null(strstr(err.message, "no scheme"));
    assert_non_null(strstr(err.message, "sqlite:PATH"));
    assert_int_equal(hs_store_open("healer.db", &other, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_open("1sqlite:x.db", &other, &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "no scheme"));

    /* A backend this build lacks, named by its scheme only. */
    assert_int_equal(hs_store_open("mysql://bob:s3cret@db.example/healer",
                                   &other, &err),
                     HS_ERR_INVALID);
    assert_null(other);
    assert_string_equal(err.message,
                        "store URL scheme 'mysql' is not supported by "
                        "this build; it supports sqlite:PATH, "
                        "postgresql://USER@HOST:PORT/DB, "
                        "postgres://USER@HOST:PORT/DB");
    /* A PostgreSQL URL reaches its backend, which says what is wrong
     * without quoting the password. */
    assert_int_equal(hs_store_open("postgresql:bob:s3cret@db", &other, &err),
                     HS_ERR_INVALID);
    assert_null(strstr(err.message, "s3cret"));

    /* Nothing after the scheme, nothing at all, nowhere to put it. */
    assert_int_equal(hs_store_open("sqlite:", &other, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "sqlite:PATH"));
    assert_int_equal(hs_store_open("", &other, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_open(NULL, &other, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_open("sqlite:x.db", NULL, &err), HS_ERR_INVALID);

    /* The backend's own errors come through. */
    snprintf(url, sizeof url, "sqlite:%s/no/such/dir/x.db", f->dir);
    assert_int_equal(hs_store_open(url, &other, &err), HS_ERR_IO);
    assert_null(other);
}

/* ---- raw column values ------------------------------------------------- */

/* NAN is stored as NULL, and so is a 0 reference; a finished job has no
 * lease and its result in result_kind/result_id only; states by name. */
static void test_raw_values(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id lena = add_user(f->store, "lena", 0);
    hs_id data = add_dataset(f->store, lena, 1);
    hs_id job = add_job(f->store, lena, 50);
    hs_model_rec a = make_model(lena, "a", 1, 100);
    hs_model_rec b = make_model(lena, "b", 2, 200);
    hs_model_rec c = make_model(lena, "c", 3, 200);
    hs_job_rec got;
    char buf[256];

    add_job(f->store, lena, 51); /* stays queued */
    a.dataset_id = data;
    a.job_id = job;
    b.macro_f1 = NAN;
    b.accuracy = NAN;
    c.macro_f1 = NAN;
    c.accuracy = 0.5;
    assert_int_equal(hs_store_model_create(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &c, &err), HS_OK);
    assert_string_equal(raw_query(f->path,
                                  "SELECT id FROM models WHERE macro_f1 IS"
                                  " NULL ORDER BY id",
                                  buf, sizeof buf),
                        "2,3");
    assert_string_equal(raw_query(f->path,
                                  "SELECT COUNT(*) FROM models WHERE"
                                  " dataset_id IS NULL AND job_id IS NULL",
                                  buf, sizeof buf),
                        "2");

    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_A, NULL, 300, LEASE, &got, &err),
        HS_OK);
    assert_int_equal(got.id, job);
    hs_job_rec_free(&got);
    assert_string_equal(raw_query(f->path,
                                  "SELECT state || ':' || worker_id || ':' ||"
                                  " lease_expires_at FROM jobs ORDER BY id",
                                  buf, sizeof buf),
                        "running:" WORKER_A ":330,queued::0");
    assert_int_equal(
        hs_store_job_finish(f->store, job, WORKER_A, HS_JOB_SUCCEEDED, NULL,
                            HS_RESULT_MODEL, a.id, NULL, 400, &err),
        HS_OK);
    assert_string_equal(raw_query(f->path,
                                  "SELECT state || ':' || worker_id || ':' ||"
                                  " lease_expires_at || ':' || result_kind ||"
                                  " ':' || IFNULL(result_id, 'NULL') || ':' ||"
                                  " IFNULL(model_id, 'NULL') || ':' ||"
                                  " IFNULL(diagnosis_id, 'NULL') FROM jobs"
                                  " ORDER BY id",
                                  buf, sizeof buf),
                        "succeeded::0:model:1:NULL:NULL,"
                        "queued::0::NULL:NULL:NULL");
}

/* ---- jobs and transactions, SQLite's way ------------------------------- */

/* A running job whose worker's lease ran out at 200. */
static hs_id add_expired(hs_store *store, hs_id owner, int64_t restarts,
                         int cancel_requested)
{
    hs_job_rec j = make_job(owner, "interrupted", 100);
    hs_error err = {0};
    j.state = HS_JOB_RUNNING;
    j.started_at = 150;
    j.restarts = restarts;
    j.cancel_requested = cancel_requested;
    snprintf(j.worker_id, sizeof j.worker_id, "lost-worker");
    j.lease_expires_at = 200;
    assert_int_equal(hs_store_job_create(store, &j, &err), HS_OK);
    return j.id;
}

/* Recover is one outcome: when its last sweep fails (a trigger injects the
 * failure), the sweeps before it are undone too, and the counts are 0. */
static void test_job_recover_atomic(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id zoe = add_user(f->store, "zoe", 0);
    hs_id requeue = add_expired(f->store, zoe, 0, 0);
    hs_id stop = add_expired(f->store, zoe, 0, 1);
    hs_id worn = add_expired(f->store, zoe, 5, 0);
    int64_t requeued = -1, failed = -1;

    raw_exec(f->path, "CREATE TRIGGER no_failing BEFORE UPDATE OF state ON jobs"
                      " WHEN NEW.state = 'failed'"
                      " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
    assert_int_not_equal(
        hs_store_job_recover(f->store, 5000, 2, &requeued, &failed, &err),
        HS_OK);
    assert_non_null(strstr(err.message, "injected failure"));
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(job_state(f->store, requeue), HS_JOB_RUNNING);
    assert_int_equal(job_state(f->store, stop), HS_JOB_RUNNING);
    assert_int_equal(job_state(f->store, worn), HS_JOB_RUNNING);

    raw_exec(f->path, "DROP TRIGGER no_failing;");
    assert_int_equal(
        hs_store_job_recover(f->store, 5000, 2, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 1);
    assert_int_equal(job_state(f->store, stop), HS_JOB_CANCELLED);
}

/* A transaction body that goes on after SQLite rolled the transaction back
 * by itself (a trigger's RAISE(ROLLBACK) here; disk full or an I/O error
 * in life), and then claims success. */
static hs_status write_after_lost_txn(hs_store *store, void *arg, hs_error *err)
{
    hs_status *after = arg;
    hs_user before = make_user("before", 0, 1),
            later = make_user("after", 0, 1);
    hs_error ignored = {0};
    assert_int_equal(hs_store_user_create(store, &before, err), HS_OK);
    assert_int_not_equal(
        hs_store_notification_add(store, "boom", "x", 0, 1, NULL, &ignored),
        HS_OK);
    *after = hs_store_user_create(store, &later, err);
    return HS_OK;
}

/* What follows the lost transaction is refused, not committed statement by
 * statement, and the commit reports the loss. */
static void test_transaction_lost_by_database(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_status after = HS_OK;
    int64_t count = -1;

    raw_exec(f->path, "CREATE TRIGGER boom BEFORE INSERT ON notifications"
                      " WHEN NEW.kind = 'boom'"
                      " BEGIN SELECT RAISE(ROLLBACK, 'injected'); END;");
    assert_int_equal(
        hs_store_transact(f->store, write_after_lost_txn, &after, &err),
        HS_ERR_IO);
    assert_int_equal(after, HS_ERR_IO);
    assert_int_equal(hs_store_user_count(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 0);
    /* The store is fine afterwards. */
    add_user(f->store, "fine", 0);
}

/* Two handles on one file - as two processes - share the queue and honour
 * each other's leases: B can neither take nor touch A's job until A's
 * lease has expired; then B takes it back and runs it, and A's late writes
 * are refused. */
static void test_two_handles_leases(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *b = NULL;
    hs_id ida = add_user(f->store, "ida", 0);
    hs_id id = add_job(f->store, ida, 10);
    hs_job_rec got;
    int64_t requeued = -1, failed = -1;

    assert_int_equal(hs_store_sqlite_open(f->path, &b, &err), HS_OK);
    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_A, NULL, 1000, LEASE, &got, &err),
        HS_OK);
    assert_int_equal(got.id, id);
    hs_job_rec_free(&got);

    assert_int_equal(
        hs_store_job_claim_next(b, WORKER_B, NULL, 1001, LEASE, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_recover(b, 1029, 1, &requeued, &failed, &err),
                     HS_OK);
    assert_int_equal(requeued + failed, 0);
    assert_int_equal(hs_store_job_progress(b, id, WORKER_B, 1002, LEASE, 0.5, 1,
                                           2, NULL, NULL, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_finish(b, id, WORKER_B, HS_JOB_FAILED, "x",
                                         NULL, 0, NULL, 1003, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_requeue(b, id, WORKER_B, &err),
                     HS_ERR_NOTFOUND);
    /* A is alive and says so. */
    assert_int_equal(hs_store_job_progress(f->store, id, WORKER_A, 1010, LEASE,
                                           0.25, 1, 4, NULL, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_recover(b, 1039, 1, &requeued, &failed, &err),
                     HS_OK);
    assert_int_equal(requeued + failed, 0);

    /* A stops renewing: from 1040 on, the job is B's to take back. */
    assert_int_equal(hs_store_job_recover(b, 1040, 1, &requeued, &failed, &err),
                     HS_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(
        hs_store_job_claim_next(b, WORKER_B, NULL, 1041, LEASE, &got, &err), HS_OK);
    assert_int_equal(got.id, id);
    assert_int_equal(got.restarts, 1);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_progress(f->store, id, WORKER_A, 1042, LEASE,
                                           0.5, 2, 4, NULL, NULL, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_finish(f->store, id, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL, NULL, 0, NULL,
                                         1043, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_finish(b, id, WORKER_B, HS_JOB_SUCCEEDED,
                                         NULL, NULL, 0, NULL, 1050, &err),
                     HS_OK);
    assert_int_equal(job_state(f->store, id), HS_JOB_SUCCEEDED);
    hs_store_close(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reopen_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v15, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v16, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v17, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v18, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wait_queued_returns_at_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v14, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v13, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_audit_log_append_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v12, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v10, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v9, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v8, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v6, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v5, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v4, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ping_locked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_recover_atomic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transaction_lost_by_database,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_leases, setup,
                                        teardown),
    };
    /* SQLite has no notifications: wait_queued returns at once. */
    const hs_store_contract_extras extras = {reopen_sqlite, 0};
    int failed;
    snprintf(contract_dir, sizeof contract_dir,
             "/tmp/healer-store-contract-XXXXXX");
    if (!mkdtemp(contract_dir)) {
        perror("mkdtemp");
        return 1;
    }
    atexit(remove_contract_dir);
    hs_store_contract_set_extras(&extras);
    failed = hs_store_contract_run(fresh_sqlite);
    failed += cmocka_run_group_tests_name("store sqlite", tests, NULL, NULL);
    return failed;
}
