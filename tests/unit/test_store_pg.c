/* test_store_pg.c - the PostgreSQL store backend: the contract suite,
 * then what only this backend has.
 *
 * The server is pgtest.h's: a private cluster started for this process
 * (or HEALER_TEST_PG_URL), each contract test on a fresh schema. No server
 * is a failure, not a skip. The contract is told that this backend
 * notifies (wait_queued wakes) and how to open a second store on a test's
 * schema. Every store is opened through the service's hs_store_open, and
 * the whole contract runs.
 *
 * The backend-specific tests: opening by URL (both schemes, a bad URL, an
 * unreachable server, the password never in a message); a database of a
 * newer schema refused untouched; the migrations from schemas 1 and 2
 * (a failed ingestion's file, kept or gone, told from its reason); several
 * stores migrating one database at
 * once; the audit log append-only on the server; counters and settings
 * bumped by two stores (two instances) at once; one outbox drained by
 * two senders; a job claim that takes the next job at once while another
 * store's transaction holds the oldest (SKIP LOCKED); a worker waiting
 * for news while the server restarts (unavailable without spinning, then
 * news, then woken again); two instances labelling one diagnosis at once
 * under its bound, and ending one ingestion at once (store_pg_data.c:
 * one of each wins, the other is refused whole).
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include <libpq-fe.h>

#include "testutil.h"

#include "healer/clock.h"

#include "pgtest.h"
#include "store/store.h"
#include "store/store_pg.h"
#include "store_contract.h"
#include "store_fixtures.h"

static char fresh_url[1024]; /* the schema fresh_pg made last */

static hs_status fresh_pg(hs_store **out, hs_error *err)
{
    if (pgtest_fresh_url(fresh_url, sizeof fresh_url, NULL) != 0)
        return hs_fail(err, HS_ERR_IO, "no fresh schema");
    return hs_store_open(fresh_url, out, err);
}

/* Another store on that schema: what another process sees. */
static hs_status reopen_pg(hs_store **out, hs_error *err)
{
    return hs_store_open(fresh_url, out, err);
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
    if (hs_store_open(f->url, &f->store, &err) != HS_OK)
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

    /* Both schemes reach the same database, through the service's table. */
    const char *rest = strstr(f->url, "://");
    assert_non_null(rest);
    snprintf(url, sizeof url, "postgres%s", rest);
    assert_int_equal(hs_store_open(url, &s, &err), HS_OK);
    assert_string_equal(s->ops->name, "postgresql");
    hs_store_close(s);

    /* Not a URL libpq takes: invalid, saying why. */
    assert_int_equal(hs_store_pg_open("postgresql://h:notaport/db", &s, &err),
                     HS_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "not a valid PostgreSQL URL"));
    assert_int_equal(hs_store_open("postgresql:nothing", &s, &err),
                     HS_ERR_INVALID);
    assert_int_equal(
        hs_store_pg_open("postgresql://u:pw@127.0.0.1:5/db?pool_size=0", &s, &err),
        HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "pool_size"));

    /* Nothing listens there: unavailable, and the password is not told. */
    assert_int_equal(
        hs_store_pg_open("postgresql://u:S3cretPw@127.0.0.1:1/db", &s, &err),
        HS_ERR_UNAVAILABLE);
    assert_null(s);
    assert_null(strstr(err.message, "S3cretPw"));
    assert_int_equal(hs_store_pg_open("postgresql://u:S3cretPw@127.0.0.1:1/db"
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
    assert_int_equal(hs_store_open(f->url, &s, &err), HS_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "newer"));
    char want[16]; /* the known ones and the future one */
    snprintf(want, sizeof want, "%d", hs_store_pg_schema_version() + 1);
    assert_string_equal(raw(f, "SELECT COUNT(*) FROM schema_migrations"), want);
    /* The open one still works. */
    assert_int_equal(hs_store_ping(f->store, &err), HS_OK);
}

/* A database of schema 1 (interface version 14) gets migration 2 at
 * open: what a job made is found through an index. */
static void test_migration_from_1(void **state)
{
    fixture *f = *state;
    hs_store *s = NULL;
    hs_error err = {0};
    static const char *const indexes =
        "SELECT COALESCE(string_agg(indexname, ',' ORDER BY indexname), '')"
        " FROM pg_indexes WHERE schemaname = current_schema() AND indexname"
        " IN ('models_job', 'diagnoses_job', 'analyses_job')";
    char latest[16];
    snprintf(latest, sizeof latest, "%d", hs_store_pg_schema_version());
    assert_non_null(raw(f,
                        "DROP INDEX models_job; DROP INDEX diagnoses_job;"
                        " DROP INDEX analyses_job;"
                        " ALTER TABLE datasets DROP COLUMN file_deleted;"
                        " DELETE FROM schema_migrations WHERE version >= 2"));
    assert_string_equal(raw(f, indexes), "");
    assert_int_equal(hs_store_open(f->url, &s, &err), HS_OK);
    assert_string_equal(raw(f, indexes), "analyses_job,diagnoses_job,models_job");
    assert_string_equal(raw(f, "SELECT MAX(version) FROM schema_migrations"),
                        latest);
    hs_store_close(s);
}

/* A database of schema 2 (interface version 15) gets migration 3: a
 * failed ingestion whose reason says its file is kept may be tried
 * again; one the engine refused (its file deleted) may not. */
static void test_migration_from_2(void **state)
{
    fixture *f = *state;
    hs_store *s = NULL;
    hs_error err = {0};
    char want[32];
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id refused =
        failed_dataset(f->store, ann, 1, "big.csv:3:2: 'x' is not a number");
    hs_id cancelled = failed_dataset(
        f->store, ann, 2,
        "its ingestion was cancelled; the uploaded file is kept: download it "
        "from this dataset to upload it again");
    assert_non_null(raw(f, "ALTER TABLE datasets DROP COLUMN file_deleted;"
                           " DELETE FROM schema_migrations WHERE version = 3"));
    assert_int_equal(hs_store_open(f->url, &s, &err), HS_OK);
    snprintf(want, sizeof want, "%lld", (long long)refused);
    assert_string_equal(raw(f, "SELECT string_agg(id::text, ',') FROM datasets"
                               " WHERE file_deleted = 1"),
                        want);
    assert_int_equal(hs_store_dataset_reopen_ingest(s, refused, ann, 0, &err),
                     HS_ERR_CONFLICT);
    assert_int_equal(hs_store_dataset_reopen_ingest(s, cancelled, ann, 0, &err),
                     HS_OK);
    hs_store_close(s);
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
    o->st = hs_store_open(o->url, &o->store, &err);
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
    b->ok = hs_store_open(b->url, &s, &err) == HS_OK;
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

#define OUTBOX_MESSAGES 40

typedef struct sender {
    const char *url;
    int ok;
    size_t n;
    hs_id ids[OUTBOX_MESSAGES];
} sender;

/* Claims due messages (3 at a time) until none is left, marking each sent
 * as a real sender would. */
static void *send_thread(void *arg)
{
    sender *x = arg;
    hs_store *s = NULL;
    hs_error err = {0};
    x->ok = hs_store_open(x->url, &s, &err) == HS_OK;
    while (x->ok) {
        hs_outbox_msg *items = NULL;
        size_t n = 0;
        x->ok =
            hs_store_outbox_claim(s, 1000, 600, 3, &items, &n, &err) == HS_OK;
        for (size_t i = 0; x->ok && i < n; i++) {
            if (x->n < OUTBOX_MESSAGES)
                x->ids[x->n] = items[i].id;
            x->n++;
            x->ok = hs_store_outbox_sent(s, items[i].id, 1000, &err) == HS_OK;
        }
        free(items);
        if (n == 0)
            break;
    }
    hs_store_close(s);
    return NULL;
}

/* Two senders in two instances share one outbox: every message is
 * delivered once, by one of them (the claim skips the rows the other has
 * locked, and its hold keeps them after). */
static void test_two_senders(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    sender x[2] = {{.url = f->url}, {.url = f->url}};
    pthread_t t[2];
    int seen[OUTBOX_MESSAGES + 1] = {0};
    for (int i = 0; i < OUTBOX_MESSAGES; i++) {
        hs_outbox_msg m = {.created_at = 900, .next_attempt_at = 900};
        snprintf(m.channel, sizeof m.channel, "%s", HS_OUTBOX_WEBHOOK);
        snprintf(m.kind, sizeof m.kind, "test");
        snprintf(m.subject, sizeof m.subject, "message %d", i);
        snprintf(m.body, sizeof m.body, "body");
        assert_int_equal(hs_store_outbox_add(f->store, &m, &err), HS_OK);
        assert_true(m.id >= 1 && m.id <= OUTBOX_MESSAGES);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, send_thread, &x[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        assert_true(x[i].ok);
    }
    assert_int_equal(x[0].n + x[1].n, OUTBOX_MESSAGES);
    for (int i = 0; i < 2; i++)
        for (size_t k = 0; k < x[i].n; k++)
            seen[x[i].ids[k]]++;
    for (int id = 1; id <= OUTBOX_MESSAGES; id++)
        assert_int_equal(seen[id], 1);
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

/* ---- the job queue -------------------------------------------------------- */

/* hs_store_job_claim_next or hs_store_job_claim_next_fair. */
typedef hs_status (*claim_fn)(hs_store *store, const char *worker_id,
                              const char *const *types, int64_t now,
                              int64_t lease_seconds, hs_job_rec *out,
                              hs_error *err);

/* A claim held open: claims inside a transaction of another store (another
 * process) and keeps the row locked until told to commit, or 5 s. */
typedef struct holder {
    hs_store *store;
    claim_fn claim;
    sem_t held, release;
    hs_id claimed;
    hs_status status;
} holder;

static hs_status hold_claim(hs_store *store, void *arg, hs_error *err)
{
    holder *h = arg;
    hs_job_rec j;
    struct timespec until;
    hs_status hs = h->claim(store, "holder:1", NULL, 100, 30, &j, err);
    if (hs == HS_OK) {
        h->claimed = j.id;
        hs_job_rec_free(&j);
    }
    sem_post(&h->held);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5;
    while (sem_timedwait(&h->release, &until) != 0 && errno == EINTR)
        ;
    return hs;
}

static void *holder_main(void *arg)
{
    holder *h = arg;
    hs_error err = {0};
    h->status = hs_store_transact(h->store, hold_claim, h, &err);
    return NULL;
}

/* A claim never waits for another claim's row lock (FOR UPDATE SKIP
 * LOCKED): while another store's transaction holds the oldest job, the
 * plain and the fair claim take the next one at once. */
static void test_claim_skips_locked(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *other = NULL;
    hs_id owner = add_user(f->store, "lock", 0);
    const claim_fn claims[2] = {hs_store_job_claim_next,
                                             hs_store_job_claim_next_fair};
    assert_int_equal(hs_store_open(f->url, &other, &err), HS_OK);
    for (int i = 0; i < 2; i++) {
        hs_id first = add_job(f->store, owner, 10), second;
        holder h = {other, claims[i], {{0}}, {{0}}, 0, HS_ERR_INTERNAL};
        pthread_t t;
        hs_job_rec j;
        second = add_job(f->store, owner, 11);
        assert_int_equal(sem_init(&h.held, 0, 0), 0);
        assert_int_equal(sem_init(&h.release, 0, 0), 0);
        assert_int_equal(pthread_create(&t, NULL, holder_main, &h), 0);
        sem_wait(&h.held);
        double t0 = hl_clock_monotonic();
        assert_int_equal(
            claims[i](f->store, "claimer:2", NULL, 100, 30, &j, &err), HS_OK);
        double took = hl_clock_monotonic() - t0;
        sem_post(&h.release);
        pthread_join(t, NULL);
        assert_int_equal(h.status, HS_OK);
        assert_int_equal(h.claimed, first);
        assert_int_equal(j.id, second);
        hs_job_rec_free(&j);
        if (took > 1.0)
            fail_msg("claim %d waited %.1f s for a locked row", i, took);
        sem_destroy(&h.held);
        sem_destroy(&h.release);
    }
    hs_store_close(other);
}

/* ---- the data resources, two instances at once (store_pg_data.c) -------
 */

#define RACE_ROUNDS 40

/* One side of the races: its own store (an instance) on the fixture's
 * database; in each round it makes its call on record[round], started
 * with the other side by a barrier. */
typedef struct racer {
    const char *url;
    pthread_barrier_t *go;
    hs_status (*call)(hs_store *s, struct racer *r, hs_id record);
    hs_id record[RACE_ROUNDS], user;
    int64_t first_row; /* labels: rows first_row .. first_row + 3 */
    const char *state; /* ingestion: how this side ends it */
    hs_status status[RACE_ROUNDS];
} racer;

static hs_status put_labels(hs_store *s, racer *r, hs_id diagnosis)
{
    hs_error err = {0};
    hs_diagnosis_label items[4];
    memset(items, 0, sizeof items);
    for (int i = 0; i < 4; i++) {
        items[i].row = r->first_row + i;
        snprintf(items[i].label, sizeof items[i].label, "cpu");
        items[i].user_id = r->user;
        items[i].labelled_at = 100;
    }
    return hs_store_diagnosis_labels_put(s, diagnosis, r->user, 0, items, 4,
                                         6, NULL, &err);
}

static hs_status end_ingest(hs_store *s, racer *r, hs_id dataset)
{
    hs_error err = {0};
    return hs_store_dataset_finish_ingest(s, dataset, r->state,
                                          "lost the race", 99, &err);
}

static void *racer_main(void *arg)
{
    racer *r = arg;
    hs_store *s = NULL;
    hs_error err = {0};
    hs_status opened = hs_store_open(r->url, &s, &err);
    for (int i = 0; i < RACE_ROUNDS; i++) {
        pthread_barrier_wait(r->go);
        r->status[i] = opened == HS_OK ? r->call(s, r, r->record[i]) : opened;
    }
    hs_store_close(s);
    return NULL;
}

/* Runs the two sides' rounds to the end. */
static void race(racer r[2])
{
    pthread_barrier_t go;
    pthread_t t[2];
    assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
    for (int i = 0; i < 2; i++) {
        r[i].go = &go;
        assert_int_equal(pthread_create(&t[i], NULL, racer_main, &r[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&go);
}

/* Two instances labelling one diagnosis at once, 4 rows each under a
 * bound of 6: one put lands, the other is refused whole - never 8 rows
 * (each put counts after the other's commit: the diagnosis is locked). */
static void test_labels_bound_two_instances(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "olga", 0);
    racer r[2] = {{.url = f->url, .call = put_labels, .user = owner},
                  {.url = f->url, .call = put_labels, .user = owner,
                   .first_row = 4}};
    for (unsigned i = 0; i < RACE_ROUNDS; i++) {
        hs_diagnosis_rec d = make_diagnosis(owner, 0, "raced", i + 1, 100);
        assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
        r[0].record[i] = r[1].record[i] = d.id;
    }
    race(r);
    for (int i = 0; i < RACE_ROUNDS; i++) {
        hs_diagnosis_label *items = NULL;
        size_t n = 0;
        assert_int_equal(hs_store_diagnosis_labels_list(
                             f->store, r[0].record[i], owner, 0, &items, &n,
                             &err),
                         HS_OK);
        free(items);
        assert_int_equal(n, 4);
        assert_int_equal((r[0].status[i] == HS_OK) + (r[1].status[i] == HS_OK),
                         1);
        assert_int_equal(r[r[0].status[i] == HS_OK].status[i], HS_ERR_INVALID);
    }
}

/* Two instances ending one ingestion at once (ready and failed): one
 * wins, the other gets the conflict, and the record is the winner's. */
static void test_ingest_ends_once_two_instances(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "ivan", 0);
    racer r[2] = {
        {.url = f->url, .call = end_ingest, .state = HS_DATASET_READY},
        {.url = f->url, .call = end_ingest, .state = HS_DATASET_FAILED}};
    hs_dataset_rec d[RACE_ROUNDS], got;
    for (unsigned i = 0; i < RACE_ROUNDS; i++) {
        d[i] = make_dataset(owner, "big.csv", i + 1, 100);
        snprintf(d[i].state, sizeof d[i].state, "%s", HS_DATASET_INGESTING);
        assert_int_equal(hs_store_dataset_create(f->store, &d[i], &err), HS_OK);
        r[0].record[i] = r[1].record[i] = d[i].id;
    }
    race(r);
    for (int i = 0; i < RACE_ROUNDS; i++) {
        assert_int_equal((r[0].status[i] == HS_OK) + (r[1].status[i] == HS_OK),
                         1);
        int winner = r[1].status[i] == HS_OK;
        assert_int_equal(r[!winner].status[i], HS_ERR_CONFLICT);
        assert_int_equal(hs_store_dataset_get(f->store, d[i].id, owner, 0, &got,
                                              &err),
                         HS_OK);
        assert_string_equal(got.state, r[winner].state);
        assert_string_equal(got.ingest_error, winner ? "lost the race" : "");
        assert_int_equal(got.size_bytes, winner ? d[i].size_bytes : 99);
        hs_dataset_rec_free(&got);
    }
}

/* The database going away under a worker waiting for news: the wait fails
 * with HS_ERR_UNAVAILABLE once its timeout is over (a loop around it does
 * not spin), and the first wait that reaches the server again reports
 * news (what was sent meanwhile is lost), then real news wakes it again. */
static void test_wait_queued_outage(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "outage", 0);
    int notified = -1;
    hs_status hs = HS_ERR_INTERNAL;
    if (!pgtest_private())
        skip(); /* an external server cannot be stopped */
    assert_int_equal(hs_store_job_wait_queued(f->store, 50, &notified, &err),
                     HS_OK); /* listening */
    assert_int_equal(pgtest_stop(), 0);
    double t0 = hl_clock_monotonic();
    hs = hs_store_job_wait_queued(f->store, 300, &notified, &err);
    double took = hl_clock_monotonic() - t0;
    assert_int_equal(pgtest_start(), 0);
    assert_int_equal(hs, HS_ERR_UNAVAILABLE);
    assert_int_equal(notified, 0);
    assert_true(took >= 0.25);
    for (int i = 0; i < 20; i++) { /* the reconnection's back-off */
        hs = hs_store_job_wait_queued(f->store, 500, &notified, &err);
        if (hs == HS_OK)
            break;
        assert_int_equal(hs, HS_ERR_UNAVAILABLE);
    }
    assert_int_equal(hs, HS_OK);
    assert_int_equal(notified, 1);
    while (hs_store_job_wait_queued(f->store, 100, &notified, &err) == HS_OK &&
           notified)
        ;
    assert_int_equal(notified, 0);
    /* A write on a connection the restart cut fails once (pg.h: never
     * retried), as a caller would see it; then it goes through. */
    hs_job_rec j = make_job(owner, "after", 10);
    for (int i = 0; i < 20; i++) {
        if ((hs = hs_store_job_create(f->store, &j, &err)) == HS_OK)
            break;
        if (hs != HS_ERR_UNAVAILABLE)
            fail_msg("create after the restart: %s", err.message);
        usleep(100 * 1000);
    }
    assert_int_equal(hs, HS_OK);
    assert_int_equal(hs_store_job_wait_queued(f->store, 5000, &notified, &err),
                     HS_OK);
    assert_int_equal(notified, 1);
}

/* ---- main ------------------------------------------------------------- */

int main(void)
{
    hs_store *s = NULL;
    hs_error err = {0};
    if (!pgtest_url()) {
        printf("[  FAILED  ] 1 test(s), listed below:\n"
               "[  FAILED  ] test_store_pg: no PostgreSQL server\n");
        return 1;
    }
    if (fresh_pg(&s, &err) != HS_OK) {
        printf("[  FAILED  ] 1 test(s), listed below:\n"
               "[  FAILED  ] test_store_pg: cannot open a store: %s\n",
               err.message);
        return 1;
    }
    hs_store_close(s);

    /* LISTEN/NOTIFY: wait_queued waits and wakes. */
    const hs_store_contract_extras extras = {reopen_pg, 1};
    hs_store_contract_set_extras(&extras);
    int failed = hs_store_contract_run(fresh_pg);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_2, setup, teardown),
        cmocka_unit_test(test_concurrent_migrations),
        cmocka_unit_test_setup_teardown(test_audit_log_append_only, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_claim_skips_locked, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_two_senders, setup, teardown),
        cmocka_unit_test_setup_teardown(test_labels_bound_two_instances, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ingest_ends_once_two_instances,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_queued_outage, setup,
                                        teardown),
    };
    failed +=
        cmocka_run_group_tests_name("store postgresql", tests, NULL, NULL);
    return failed;
}
