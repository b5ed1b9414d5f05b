/* test_store_pg.c - the PostgreSQL store backend: the contract suite,
 * then what only this backend has.
 *
 * The server is pgtest.h's: a private cluster started for this process
 * (or HEALER_TEST_PG_URL), each contract test on a fresh schema. No server
 * is a failure, not a skip. While this build still lacks the resources of
 * store_pg_data.c or store_pg_jobs.c (store_pg_internal.h,
 * PG_PENDING_OPS), the contract tests that need them are skipped by name
 * (HEALER_CONTRACT_SKIP) and the store is opened with
 * hs_store_pg__open_partial; a complete build runs every test through the
 * service's hs_store_open.
 *
 * The backend-specific tests: opening by URL (both schemes, a bad URL, an
 * unreachable server, the password never in a message); a database of a
 * newer schema refused untouched; several stores migrating one database at
 * once; the audit log append-only on the server; counters and settings
 * bumped by two stores (two instances) at once.
 */
#include <pthread.h>

#include <libpq-fe.h>

#include "testutil.h"

#include "pgtest.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store_contract.h"

/* The contract tests that need the resources of store_pg_data.c or
 * store_pg_jobs.c (computed from store_contract.c's calls). */
#define NEEDS_DATA                                                             \
    "test_ops_table,test_dataset*,test_model*,test_jobs,test_blob_refs,"       \
    "test_job_progress_finish,test_job_results,test_diagnos*,"                 \
    "test_references,test_topologies,test_job_topology,test_analys*,"          \
    "test_sealed_fields"
#define NEEDS_JOBS                                                             \
    "test_ops_table,test_models,test_job*,test_blob_refs,"                     \
    "test_fair_refs_older_backend,test_diagnoses,test_references,"             \
    "test_model_trash_purge,test_diagnosis_trash,test_analyses,"               \
    "test_analysis_delete_and_purge"

static int partial; /* this build lacks some resources */

static hs_status open_url(const char *url, hs_store **out, hs_error *err)
{
    return partial ? hs_store_pg__open_partial(url, out, err)
                   : hs_store_open(url, out, err);
}

/* hs_store_pg_open, or its partial twin while this build lacks
 * resources. */
static hs_status pg_open(const char *url, hs_store **out, hs_error *err)
{
    return partial ? hs_store_pg__open_partial(url, out, err)
                   : hs_store_pg_open(url, out, err);
}

static hs_status fresh_pg(hs_store **out, hs_error *err)
{
    char url[1024];
    if (pgtest_fresh_url(url, sizeof url, NULL) != 0)
        return hs_fail(err, HS_ERR_IO, "no fresh schema");
    return open_url(url, out, err);
}

/* ---- fixtures --------------------------------------------------------- */

typedef struct fixture {
    char url[1024];
    hs_store *store;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hs_error err = {0};
    assert_non_null(f);
    assert_int_equal(pgtest_fresh_url(f->url, sizeof f->url, NULL), 0);
    if (open_url(f->url, &f->store, &err) != HS_OK)
        fail_msg("open: %s", err.message);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hs_store_close(f->store);
    free(f);
    return 0;
}

/* Runs fixed SQL on the fixture's schema with a raw connection; returns
 * the first value of the first row (static buffer) or NULL when the
 * statement failed. */
static const char *raw(const fixture *f, const char *sql)
{
    static char value[256];
    PGconn *c = PQconnectdb(f->url);
    PGresult *r;
    const char *out = NULL;
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK ||
        PQresultStatus(r) == PGRES_COMMAND_OK) {
        snprintf(value, sizeof value, "%s",
                 PQntuples(r) > 0 ? PQgetvalue(r, 0, 0) : "");
        out = value;
    }
    PQclear(r);
    PQfinish(c);
    return out;
}

/* ---- opening ------------------------------------------------------------- */

static void test_open_urls(void **state)
{
    fixture *f = *state;
    hs_store *s = NULL;
    hs_error err = {0};
    char url[1100];

    /* Both schemes reach the same database, through the service's table
     * (a build still missing resources says which). */
    const char *rest = strstr(f->url, "://");
    assert_non_null(rest);
    snprintf(url, sizeof url, "postgres%s", rest);
    hs_status st = hs_store_open(url, &s, &err);
    if (partial) {
        assert_int_equal(st, HS_ERR_INVALID);
        assert_non_null(strstr(err.message, "lacks"));
    } else {
        assert_int_equal(st, HS_OK);
        assert_string_equal(s->ops->name, "postgresql");
        hs_store_close(s);
    }

    /* Not a URL libpq takes: invalid, saying why. */
    assert_int_equal(pg_open("postgresql://h:notaport/db", &s, &err),
                     HS_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "not a valid PostgreSQL URL"));
    assert_int_equal(hs_store_open("postgresql:nothing", &s, &err),
                     HS_ERR_INVALID);
    assert_int_equal(
        pg_open("postgresql://u:pw@127.0.0.1:5/db?pool_size=0", &s, &err),
        HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "pool_size"));

    /* Nothing listens there: unavailable, and the password is not told. */
    assert_int_equal(
        pg_open("postgresql://u:S3cretPw@127.0.0.1:1/db", &s, &err),
        HS_ERR_UNAVAILABLE);
    assert_null(s);
    assert_null(strstr(err.message, "S3cretPw"));
    assert_int_equal(pg_open("postgresql://u:S3cretPw@127.0.0.1:1/db"
                             "?sslmode=bogus",
                             &s, &err),
                     HS_ERR_INVALID);
    assert_null(strstr(err.message, "S3cretPw"));
}

/* A database whose schema is newer than this code is refused, and left
 * as it was. */
static void test_future_schema_refused(void **state)
{
    fixture *f = *state;
    hs_store *s = NULL;
    hs_error err = {0};
    assert_non_null(raw(f, "INSERT INTO schema_migrations VALUES (99, 0)"));
    assert_int_equal(open_url(f->url, &s, &err), HS_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "newer"));
    assert_string_equal(raw(f, "SELECT COUNT(*) FROM schema_migrations"), "2");
    /* The open one still works. */
    assert_int_equal(hs_store_ping(f->store, &err), HS_OK);
}

typedef struct opener {
    const char *url;
    hs_status st;
    hs_store *store;
} opener;

static void *open_thread(void *arg)
{
    opener *o = arg;
    hs_error err = {0};
    o->st = open_url(o->url, &o->store, &err);
    return NULL;
}

/* Four instances starting at once on an empty database: one migrates, the
 * others wait on the lock and find it done. */
static void test_concurrent_migrations(void **state)
{
    (void)state;
    char url[1024];
    opener o[4];
    pthread_t t[4];
    fixture probe;
    assert_int_equal(pgtest_fresh_url(url, sizeof url, NULL), 0);
    for (int i = 0; i < 4; i++) {
        o[i] = (opener){url, HS_ERR_INTERNAL, NULL};
        assert_int_equal(pthread_create(&t[i], NULL, open_thread, &o[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(o[i].st, HS_OK);
        hs_store_close(o[i].store);
    }
    snprintf(probe.url, sizeof probe.url, "%s", url);
    char want[16];
    snprintf(want, sizeof want, "%d", hs_store_pg_schema_version());
    assert_string_equal(raw(&probe, "SELECT COUNT(*) FROM schema_migrations"),
                        want);
}

/* The audit log refuses UPDATE, DELETE and TRUNCATE on the server itself,
 * whoever connects. */
static void test_audit_log_append_only(void **state)
{
    fixture *f = *state;
    hs_audit_rec a = {.at = 100, .actor_id = 0, .target_id = 0};
    hs_error err = {0};
    snprintf(a.actor_name, sizeof a.actor_name, "root");
    snprintf(a.action, sizeof a.action, "user.create");
    snprintf(a.target_kind, sizeof a.target_kind, "user");
    assert_int_equal(hs_store_audit_add(f->store, &a, &err), HS_OK);
    assert_null(raw(f, "UPDATE audit_log SET detail = 'x'"));
    assert_null(raw(f, "DELETE FROM audit_log"));
    assert_null(raw(f, "TRUNCATE audit_log"));
    assert_string_equal(raw(f, "SELECT COUNT(*) FROM audit_log"), "1");
}

/* ---- two instances at once ------------------------------------------------
 */

#define FAILS_EACH 25

typedef struct bumper {
    const char *url;
    int ok;
    char stored[64];
} bumper;

static void *bump_thread(void *arg)
{
    bumper *b = arg;
    hs_store *s = NULL;
    hs_error err = {0};
    hs_backoff_rec rec;
    char value[32], *stored = NULL;
    b->ok = open_url(b->url, &s, &err) == HS_OK;
    for (int i = 0; b->ok && i < FAILS_EACH; i++)
        b->ok = hs_store_backoff_fail(s, "user:bob", 1000 + i, 3600, &rec,
                                      &err) == HS_OK;
    snprintf(value, sizeof value, "key-%p", (void *)b);
    if (b->ok)
        b->ok = hs_store_setting_put_new(s, "csrf_key", value, 1000, &stored,
                                         &err) == HS_OK;
    if (stored)
        snprintf(b->stored, sizeof b->stored, "%s", stored);
    free(stored);
    hs_store_close(s);
    return NULL;
}

/* Two stores (two instances) counting failures of one account at once:
 * every failure counts (one upsert each, never read-then-write); and both
 * putting a new shared setting at once agree on one value. */
static void test_two_instances(void **state)
{
    fixture *f = *state;
    bumper b[2] = {{f->url, 0, ""}, {f->url, 0, ""}};
    pthread_t t[2];
    hs_backoff_rec rec;
    hs_error err = {0};
    char *value = NULL;
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, bump_thread, &b[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_true(b[i].ok);
    }
    assert_int_equal(hs_store_backoff_get(f->store, "user:bob", &rec, &err),
                     HS_OK);
    assert_int_equal(rec.failures, 2 * FAILS_EACH);
    assert_string_equal(b[0].stored, b[1].stored);
    assert_int_equal(hs_store_setting_get(f->store, "csrf_key", &value, &err),
                     HS_OK);
    assert_string_equal(value, b[0].stored);
    free(value);
}

/* The settings: absent, put once, kept by a second put_new, replaced by
 * set. */
static void test_settings(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char *value = NULL;
    assert_int_equal(hs_store_setting_get(f->store, "k", &value, &err),
                     HS_ERR_NOTFOUND);
    assert_null(value);
    assert_int_equal(
        hs_store_setting_put_new(f->store, "k", "one", 10, &value, &err),
        HS_OK);
    assert_string_equal(value, "one");
    free(value);
    assert_int_equal(
        hs_store_setting_put_new(f->store, "k", "two", 20, &value, &err),
        HS_OK);
    assert_string_equal(value, "one");
    free(value);
    assert_int_equal(hs_store_setting_set(f->store, "k", "three", 30, &err),
                     HS_OK);
    assert_int_equal(hs_store_setting_get(f->store, "k", &value, &err), HS_OK);
    assert_string_equal(value, "three");
    free(value);
    assert_string_equal(raw(f, "SELECT updated_at FROM settings"), "30");
    assert_int_equal(hs_store_setting_set(f->store, "", "x", 30, &err),
                     HS_ERR_INVALID);
}

/* ---- main ------------------------------------------------------------- */

int main(void)
{
    hs_store *s = NULL;
    hs_error err = {0};
    char skip[1024] = "";
    if (!pgtest_url()) {
        printf("[  FAILED  ] 1 test(s), listed below:\n"
               "[  FAILED  ] test_store_pg: no PostgreSQL server\n");
        return 1;
    }
    /* A complete build opens through hs_store_open; a partial one cannot. */
    partial = 1;
    if (fresh_pg(&s, &err) != HS_OK) {
        printf("[  FAILED  ] 1 test(s), listed below:\n"
               "[  FAILED  ] test_store_pg: cannot open a store: %s\n",
               err.message);
        return 1;
    }
    if (!s->ops->datasets)
        snprintf(skip, sizeof skip, "%s", NEEDS_DATA);
    if (!s->ops->jobs)
        snprintf(skip + strlen(skip), sizeof skip - strlen(skip), "%s%s",
                 skip[0] ? "," : "", NEEDS_JOBS);
    partial = skip[0] != '\0';
    hs_store_close(s);
    if (partial && !getenv("HEALER_CONTRACT_SKIP"))
        setenv("HEALER_CONTRACT_SKIP", skip, 1);

    int failed = hs_store_contract_run(fresh_pg);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_schema_refused, setup,
                                        teardown),
        cmocka_unit_test(test_concurrent_migrations),
        cmocka_unit_test_setup_teardown(test_audit_log_append_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
    };
    failed +=
        cmocka_run_group_tests_name("store postgresql", tests, NULL, NULL);
    return failed;
}
