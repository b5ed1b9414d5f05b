/* test_store.c - the record store interface through its SQLite backend.
 *
 * Checked from the outside, as the service will use it: users, account
 * events, sessions, notifications, datasets, models, jobs and diagnoses
 * round-trip exactly (NAN metrics and NULL JSON included); a dataset,
 * model, job or diagnosis is visible only to its owner and admins; "not
 * found" and "already exists" come back as HS_ERR_NOTFOUND /
 * HS_ERR_CONFLICT; lists are in their documented order; the job queue
 * follows its state rules (claim, progress, finish, cancel, requeue,
 * recover) and concurrent claimers never share a job; deleting a record
 * leaves its referrers pointing at 0; a rolled-back transaction leaves no
 * trace; migrations run once, older databases are brought forward, and a
 * database from a newer healer is refused untouched; and many threads
 * writing through one store at once lose or mangle nothing. The on-disk
 * facts (WAL mode, the version table, NULLs, foreign keys) are read back
 * with raw sqlite3. Each test gets a fresh mkdtemp directory that is
 * removed recursively afterwards.
 */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "testutil.h"

#include "store/store.h"
#include "store/store_sqlite.h"

#define N_THREADS 8 /* the concurrency tests' threads */

typedef struct fixture {
    char dir[256];  /* mkdtemp result, removed at teardown */
    char path[300]; /* dir + "/healer.db" */
    hs_store *store;
} fixture;

/* ---- helpers ----------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hs_error err = {0};
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/healer-store-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/healer.db", f->dir);
    assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err), HS_OK);
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

static hs_user make_user(const char *name, int is_admin, int64_t created_at)
{
    hs_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.password_hash, sizeof u.password_hash,
             "$argon2id$v=19$m=65536,t=2,p=1$salt$%s", name);
    u.is_admin = is_admin;
    u.created_at = created_at;
    return u;
}

static hs_id add_user(hs_store *store, const char *name, int is_admin)
{
    hs_user u = make_user(name, is_admin, 1000);
    hs_error err = {0};
    assert_int_equal(hs_store_user_create(store, &u, &err), HS_OK);
    assert_true(u.id > 0);
    return u.id;
}

static hs_session make_session(hs_id user_id, unsigned tag, int64_t expires)
{
    hs_session s;
    memset(&s, 0, sizeof s);
    s.user_id = user_id;
    snprintf(s.token_hash, sizeof s.token_hash, "%064x", tag);
    s.remember = (int)(tag & 1);
    s.created_at = 100;
    s.last_seen_at = 100;
    s.expires_at = expires;
    return s;
}

/* A live, unprofiled dataset whose blob key is derived from `tag`. */
static hs_dataset_rec make_dataset(hs_id owner, const char *name, unsigned tag,
                                   int64_t created_at)
{
    hs_dataset_rec d;
    memset(&d, 0, sizeof d);
    d.owner_id = owner;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.blob_key, sizeof d.blob_key, "%064x", tag);
    d.size_bytes = 1000 + tag;
    d.created_at = created_at;
    return d;
}

static void assert_datasets_equal(const hs_dataset_rec *a,
                                  const hs_dataset_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->blob_key, b->blob_key);
    assert_int_equal(a->size_bytes, b->size_bytes);
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->features, b->features);
    if (a->profile_json && b->profile_json)
        assert_string_equal(a->profile_json, b->profile_json);
    else
        assert_ptr_equal(a->profile_json, b->profile_json);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->deleted_at, b->deleted_at);
}

static void assert_users_equal(const hs_user *a, const hs_user *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->username, b->username);
    assert_string_equal(a->password_hash, b->password_hash);
    assert_int_equal(a->is_admin, b->is_admin);
    assert_int_equal(a->disabled, b->disabled);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->locked_until, b->locked_until);
}

/* Exact equality for stored doubles, NAN included (SQLite REAL is the
 * same IEEE double, so a round trip is exact). */
static void assert_same_double(double a, double b)
{
    if (isnan(a) || isnan(b)) {
        if (!(isnan(a) && isnan(b)))
            fail_msg("%.17g is not %.17g", a, b);
    } else if (a != b) {
        fail_msg("%.17g != %.17g", a, b);
    }
}

/* Two JSON text fields: both NULL, or the same text in different memory. */
static void assert_same_text(const char *a, const char *b)
{
    if (a && b) {
        assert_string_equal(a, b);
        assert_ptr_not_equal(a, b);
    } else {
        assert_ptr_equal(a, b);
    }
}

static hs_id add_dataset(hs_store *store, hs_id owner, unsigned tag)
{
    hs_dataset_rec d = make_dataset(owner, "input.csv", tag, 100);
    hs_error err = {0};
    assert_int_equal(hs_store_dataset_create(store, &d, &err), HS_OK);
    return d.id;
}

/* A model with every field set; the blob key is derived from `tag`. */
static hs_model_rec make_model(hs_id owner, const char *name, unsigned tag,
                               int64_t created_at)
{
    hs_model_rec m;
    memset(&m, 0, sizeof m);
    m.owner_id = owner;
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.algo, sizeof m.algo, "gbdt");
    snprintf(m.blob_key, sizeof m.blob_key, "m%063x", tag);
    m.size_bytes = 5000 + tag;
    m.n_features = 4;
    m.n_classes = 3;
    m.macro_f1 = 0.8125;
    m.accuracy = 0.9;
    m.summary_json = "{\"algo\":\"gbdt\",\"rounds\":100}";
    m.created_at = created_at;
    return m;
}

static hs_id add_model(hs_store *store, hs_id owner, unsigned tag)
{
    hs_model_rec m = make_model(owner, "model", tag, 100);
    hs_error err = {0};
    assert_int_equal(hs_store_model_create(store, &m, &err), HS_OK);
    return m.id;
}

static void assert_models_equal(const hs_model_rec *a, const hs_model_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_int_equal(a->dataset_id, b->dataset_id);
    assert_int_equal(a->job_id, b->job_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->algo, b->algo);
    assert_string_equal(a->blob_key, b->blob_key);
    assert_int_equal(a->size_bytes, b->size_bytes);
    assert_int_equal(a->n_features, b->n_features);
    assert_int_equal(a->n_classes, b->n_classes);
    assert_same_double(a->macro_f1, b->macro_f1);
    assert_same_double(a->accuracy, b->accuracy);
    assert_same_text(a->summary_json, b->summary_json);
    assert_int_equal(a->created_at, b->created_at);
}

/* A queued training job, as a request makes it. */
static hs_job_rec make_job(hs_id owner, const char *name, int64_t created_at)
{
    hs_job_rec j;
    memset(&j, 0, sizeof j);
    j.owner_id = owner;
    snprintf(j.type, sizeof j.type, "train");
    j.state = HS_JOB_QUEUED;
    snprintf(j.name, sizeof j.name, "%s", name);
    j.params_json = "{\"rounds\":100}";
    j.created_at = created_at;
    return j;
}

static hs_id add_job(hs_store *store, hs_id owner, int64_t created_at)
{
    hs_job_rec j = make_job(owner, "job", created_at);
    hs_error err = {0};
    assert_int_equal(hs_store_job_create(store, &j, &err), HS_OK);
    assert_true(j.id > 0);
    return j.id;
}

static void assert_jobs_equal(const hs_job_rec *a, const hs_job_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_string_equal(a->type, b->type);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->dataset_id, b->dataset_id);
    assert_int_equal(a->model_id, b->model_id);
    assert_int_equal(a->diagnosis_id, b->diagnosis_id);
    assert_string_equal(a->input_blob_key, b->input_blob_key);
    assert_string_equal(a->name, b->name);
    assert_same_text(a->params_json, b->params_json);
    assert_same_double(a->progress, b->progress);
    assert_int_equal(a->round, b->round);
    assert_int_equal(a->rounds, b->rounds);
    assert_same_text(a->losses_json, b->losses_json);
    assert_same_text(a->attempts_json, b->attempts_json);
    assert_string_equal(a->error, b->error);
    assert_int_equal(a->cancel_requested, b->cancel_requested);
    assert_int_equal(a->restarts, b->restarts);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->started_at, b->started_at);
    assert_int_equal(a->finished_at, b->finished_at);
}

/* Reads job `id` as an admin (the rules under test are not access). */
static hs_job_rec get_job(hs_store *store, hs_id id)
{
    hs_job_rec j;
    hs_error err = {0};
    assert_int_equal(hs_store_job_get(store, id, 0, 1, &j, &err), HS_OK);
    return j;
}

static hs_job_state job_state(hs_store *store, hs_id id)
{
    hs_job_rec j = get_job(store, id);
    hs_job_rec_free(&j);
    return j.state;
}

static hs_diagnosis_rec make_diagnosis(hs_id owner, hs_id model,
                                       const char *name, unsigned tag,
                                       int64_t created_at)
{
    hs_diagnosis_rec d;
    memset(&d, 0, sizeof d);
    d.owner_id = owner;
    d.model_id = model;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.blob_key, sizeof d.blob_key, "d%063x", tag);
    d.rows = 10 + tag;
    d.summary_json = "{\"classes\":{\"ok\":7,\"fault\":3}}";
    d.created_at = created_at;
    return d;
}

static void assert_diagnoses_equal(const hs_diagnosis_rec *a,
                                   const hs_diagnosis_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_int_equal(a->model_id, b->model_id);
    assert_int_equal(a->job_id, b->job_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->blob_key, b->blob_key);
    assert_int_equal(a->rows, b->rows);
    assert_same_text(a->summary_json, b->summary_json);
    assert_int_equal(a->created_at, b->created_at);
}

/* ---- users ------------------------------------------------------------- */

static void test_users(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_user alice = make_user("alice", 1, 1700000000);
    hs_user bob = make_user("bob", 0, 1700000100);
    hs_user dup = make_user("bob", 1, 5);
    hs_user got, *list = NULL;
    size_t n = 0;
    int64_t count = -1;

    assert_int_equal(hs_store_user_create(f->store, &alice, &err), HS_OK);
    assert_int_equal(hs_store_user_create(f->store, &bob, &err), HS_OK);
    assert_true(alice.id > 0 && bob.id > 0 && alice.id != bob.id);

    assert_int_equal(hs_store_user_get(f->store, bob.id, &got, &err), HS_OK);
    assert_users_equal(&got, &bob);
    assert_int_equal(hs_store_user_get_by_name(f->store, "alice", &got, &err),
                     HS_OK);
    assert_users_equal(&got, &alice);

    /* Exact, case-sensitive names; missing ids. */
    assert_int_equal(hs_store_user_get_by_name(f->store, "Alice", &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_user_get_by_name(f->store, "ali", &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_user_get(f->store, 9999, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(err.code, HS_ERR_NOTFOUND);

    /* Duplicate names conflict, with a message naming the user. */
    assert_int_equal(hs_store_user_create(f->store, &dup, &err),
                     HS_ERR_CONFLICT);
    assert_string_equal(err.message, "user 'bob' already exists");
    assert_int_equal(dup.id, 0);

    /* Bad input never reaches the database. */
    {
        hs_user bad = make_user("", 0, 1);
        assert_int_equal(hs_store_user_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_user("x", 0, 1);
        memset(bad.username, 'x', sizeof bad.username); /* no NUL */
        assert_int_equal(hs_store_user_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_user("y", 0, 1);
        bad.password_hash[0] = '\0';
        assert_int_equal(hs_store_user_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        /* Quotes and SQL in names are just data. */
        bad = make_user("o'brien\"; DROP TABLE users; --", 0, 1);
        assert_int_equal(hs_store_user_create(f->store, &bad, &err), HS_OK);
        assert_int_equal(
            hs_store_user_get_by_name(f->store, bad.username, &got, &err),
            HS_OK);
        assert_users_equal(&got, &bad);
    }

    assert_int_equal(hs_store_user_list(f->store, &list, &n, &err), HS_OK);
    assert_int_equal(n, 3);
    assert_users_equal(&list[0], &alice);
    assert_users_equal(&list[1], &bob);
    free(list);

    assert_int_equal(hs_store_user_count(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 3);
    assert_int_equal(hs_store_user_count_admins(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 1);

    /* Update every mutable field; username/created_at are not changed. */
    bob.is_admin = 1;
    bob.disabled = 1;
    bob.locked_until = 1700009999;
    snprintf(bob.password_hash, sizeof bob.password_hash, "new-hash");
    assert_int_equal(hs_store_user_update(f->store, &bob, &err), HS_OK);
    assert_int_equal(hs_store_user_get(f->store, bob.id, &got, &err), HS_OK);
    assert_users_equal(&got, &bob);
    /* A disabled admin cannot administer, so is not counted. */
    assert_int_equal(hs_store_user_count_admins(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 1);
    bob.disabled = 0;
    assert_int_equal(hs_store_user_update(f->store, &bob, &err), HS_OK);
    assert_int_equal(hs_store_user_count_admins(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 2);

    got = bob;
    got.id = 4242;
    assert_int_equal(hs_store_user_update(f->store, &got, &err),
                     HS_ERR_NOTFOUND);
}

/* ---- account events ---------------------------------------------------- */

static void test_events(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id carol = add_user(f->store, "carol", 0);
    hs_id dave = add_user(f->store, "dave", 0);
    hs_account_event *events = NULL;
    int64_t *times = NULL;
    size_t n = 0;
    hs_id id = 0;

    assert_int_equal(
        hs_store_event_add(f->store, carol, "login_failed", 100, &id, &err),
        HS_OK);
    assert_true(id > 0);
    assert_int_equal(
        hs_store_event_add(f->store, carol, "login_failed", 50, NULL, &err),
        HS_OK);
    assert_int_equal(
        hs_store_event_add(f->store, carol, "locked", 150, NULL, &err), HS_OK);
    assert_int_equal(
        hs_store_event_add(f->store, carol, "login_failed", 200, NULL, &err),
        HS_OK);
    /* The latest event of a kind, whatever order they were recorded in. */
    int64_t latest = 0;
    assert_int_equal(
        hs_store_event_latest(f->store, carol, "login_failed", &latest, &err),
        HS_OK);
    assert_int_equal(latest, 200);
    assert_int_equal(
        hs_store_event_latest(f->store, carol, "unlocked", &latest, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(latest, 0);
    assert_int_equal(
        hs_store_event_add(f->store, carol, "login_failed", 100, NULL, &err),
        HS_OK);
    assert_int_equal(
        hs_store_event_add(f->store, dave, "login_failed", 120, NULL, &err),
        HS_OK);

    /* Only carol's failures, ascending, duplicates kept. */
    assert_int_equal(
        hs_store_login_failures_since(f->store, carol, 0, &times, &n, &err),
        HS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(times[0], 50);
    assert_int_equal(times[1], 100);
    assert_int_equal(times[2], 100);
    assert_int_equal(times[3], 200);
    free(times);

    /* `since` is inclusive. */
    assert_int_equal(
        hs_store_login_failures_since(f->store, carol, 100, &times, &n, &err),
        HS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(times[0], 100);
    assert_int_equal(times[2], 200);
    free(times);
    assert_int_equal(
        hs_store_login_failures_since(f->store, carol, 201, &times, &n, &err),
        HS_OK);
    assert_int_equal(n, 0);
    free(times);

    /* Admin view: newest first, per user or all. */
    assert_int_equal(hs_store_event_list(f->store, carol, &events, &n, &err),
                     HS_OK);
    assert_int_equal(n, 5);
    assert_int_equal(events[0].at, 200);
    assert_string_equal(events[1].kind, "locked");
    assert_int_equal(events[1].at, 150);
    assert_int_equal(events[1].user_id, carol);
    assert_int_equal(events[4].at, 50);
    free(events);
    assert_int_equal(hs_store_event_list(f->store, 0, &events, &n, &err),
                     HS_OK);
    assert_int_equal(n, 6);
    assert_int_equal(events[2].user_id, dave);
    free(events);

    assert_int_equal(
        hs_store_event_add(f->store, 777, "login_failed", 1, &id, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(id, 0);
    assert_int_equal(hs_store_event_add(f->store, carol, "", 1, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_event_add(f->store, carol,
                                        "a_kind_that_is_far_too_long_to_fit", 1,
                                        NULL, &err),
                     HS_ERR_INVALID);
}

/* ---- sessions ---------------------------------------------------------- */

static void test_sessions(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id erin = add_user(f->store, "erin", 0);
    hs_id frank = add_user(f->store, "frank", 0);
    hs_session a = make_session(erin, 1, 500);
    hs_session b = make_session(erin, 2, 1000);
    hs_session c = make_session(frank, 3, 1000);
    hs_session d = make_session(frank, 4, 1001);
    hs_session got;
    int64_t removed = -1;

    assert_int_equal(hs_store_session_create(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_session_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_session_create(f->store, &c, &err), HS_OK);
    assert_int_equal(hs_store_session_create(f->store, &d, &err), HS_OK);
    assert_true(a.id > 0 && b.id > a.id);

    {
        hs_session dup = make_session(frank, 1, 9);
        hs_session orphan = make_session(999, 77, 9);
        assert_int_equal(hs_store_session_create(f->store, &dup, &err),
                         HS_ERR_CONFLICT);
        assert_int_equal(hs_store_session_create(f->store, &orphan, &err),
                         HS_ERR_NOTFOUND);
    }

    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, a.token_hash, &got, &err),
        HS_OK);
    assert_int_equal(got.id, a.id);
    assert_int_equal(got.user_id, erin);
    assert_string_equal(got.token_hash, a.token_hash);
    assert_int_equal(got.remember, 1);
    assert_int_equal(got.created_at, 100);
    assert_int_equal(got.last_seen_at, 100);
    assert_int_equal(got.expires_at, 500);
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, "00ff", &got, &err),
        HS_ERR_NOTFOUND);

    assert_int_equal(hs_store_session_touch(f->store, a.id, 300, 2100, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, a.token_hash, &got, &err),
        HS_OK);
    assert_int_equal(got.last_seen_at, 300);
    assert_int_equal(got.expires_at, 2100);
    assert_int_equal(got.created_at, 100);
    assert_int_equal(hs_store_session_touch(f->store, 9999, 1, 2, &err),
                     HS_ERR_NOTFOUND);

    /* Expired means expires_at <= now: c (1000) goes, d (1001) stays. */
    assert_int_equal(
        hs_store_session_delete_expired(f->store, 1000, &removed, &err), HS_OK);
    assert_int_equal(removed, 2); /* b and c */
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, c.token_hash, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, d.token_hash, &got, &err),
        HS_OK);

    assert_int_equal(hs_store_session_delete(f->store, d.id, &err), HS_OK);
    assert_int_equal(hs_store_session_delete(f->store, d.id, &err),
                     HS_ERR_NOTFOUND);

    b = make_session(erin, 5, 5000);
    assert_int_equal(hs_store_session_create(f->store, &b, &err), HS_OK);
    assert_int_equal(
        hs_store_session_delete_for_user(f->store, erin, &removed, &err),
        HS_OK);
    assert_int_equal(removed, 2); /* a and the new b */
    assert_int_equal(
        hs_store_session_delete_for_user(f->store, erin, &removed, &err),
        HS_OK);
    assert_int_equal(removed, 0);
    assert_int_equal(
        hs_store_session_delete_for_user(f->store, frank, NULL, &err), HS_OK);
}

/* ---- notifications ----------------------------------------------------- */

static void test_notifications(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id gina = add_user(f->store, "gina", 0);
    hs_notification *list = NULL;
    size_t n = 0;
    hs_id first = 0, second = 0, third = 0;

    assert_int_equal(hs_store_notification_add(f->store, "account_locked",
                                               "Account 'gina' was locked",
                                               gina, 10, &first, &err),
                     HS_OK);
    assert_int_equal(hs_store_notification_add(f->store, "system",
                                               "Disk almost full", 0, 30,
                                               &second, &err),
                     HS_OK);
    assert_int_equal(hs_store_notification_add(f->store, "account_unlocked",
                                               "Account 'gina' was unlocked",
                                               gina, 20, &third, &err),
                     HS_OK);
    assert_true(first > 0 && second > first && third > second);

    assert_int_equal(hs_store_notification_list(f->store, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, second); /* created_at 30 */
    assert_int_equal(list[0].user_id, 0);
    assert_string_equal(list[0].message, "Disk almost full");
    assert_int_equal(list[1].id, third);
    assert_string_equal(list[1].kind, "account_unlocked");
    assert_int_equal(list[1].user_id, gina);
    assert_int_equal(list[1].created_at, 20);
    assert_int_equal(list[2].id, first);
    assert_int_equal(list[2].read, 0);
    free(list);

    assert_int_equal(hs_store_notification_mark_read(f->store, second, &err),
                     HS_OK);
    assert_int_equal(hs_store_notification_mark_read(f->store, second, &err),
                     HS_OK);
    assert_int_equal(hs_store_notification_mark_read(f->store, 9999, &err),
                     HS_ERR_NOTFOUND);

    assert_int_equal(hs_store_notification_list(f->store, 1, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, third);
    assert_int_equal(list[1].id, first);
    free(list);
    assert_int_equal(hs_store_notification_list(f->store, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].read, 1);
    free(list);

    assert_int_equal(
        hs_store_notification_add(f->store, "x", "y", 4242, 1, NULL, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_notification_add(f->store, "x", "", 0, 1, NULL, &err),
        HS_ERR_INVALID);
}

/* ---- datasets ---------------------------------------------------------- */

static void test_datasets(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id lena = add_user(f->store, "lena", 0);
    hs_dataset_rec a = make_dataset(lena, "iris.csv", 1, 100);
    hs_dataset_rec b =
        make_dataset(lena, "o'brien \"sales\"; DROP TABLE x", 2, 200);
    hs_dataset_rec c = make_dataset(lena, "same-time.csv", 3, 200);
    hs_dataset_rec got, *list = NULL;
    size_t n = 0;

    b.rows = 150;
    b.features = 4;
    b.profile_json = "{\"columns\":[]}";
    assert_int_equal(hs_store_dataset_create(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_dataset_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_dataset_create(f->store, &c, &err), HS_OK);
    assert_true(a.id > 0 && b.id > a.id && c.id > b.id);

    assert_int_equal(hs_store_dataset_get(f->store, a.id, lena, 0, &got, &err),
                     HS_OK);
    assert_datasets_equal(&got, &a);
    assert_null(got.profile_json);
    hs_dataset_rec_free(&got);
    assert_int_equal(hs_store_dataset_get(f->store, b.id, lena, 0, &got, &err),
                     HS_OK);
    assert_datasets_equal(&got, &b);
    assert_true(got.profile_json != b.profile_json); /* a copy */
    hs_dataset_rec_free(&got);
    assert_null(got.profile_json);
    hs_dataset_rec_free(&got); /* twice is harmless */

    assert_int_equal(hs_store_dataset_get(f->store, 9999, lena, 1, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "dataset 9999 does not exist");
    assert_null(got.profile_json);

    /* Newest first: by created_at, then id. */
    assert_int_equal(
        hs_store_dataset_list(f->store, lena, 0, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 3);
    assert_datasets_equal(&list[0], &c);
    assert_datasets_equal(&list[1], &b);
    assert_datasets_equal(&list[2], &a);
    hs_dataset_list_free(list, n);
    hs_dataset_list_free(NULL, 0);

    /* Conflicts, missing owners and bad input. */
    {
        hs_dataset_rec dup = make_dataset(lena, "again.csv", 1, 300);
        hs_dataset_rec orphan = make_dataset(4242, "orphan.csv", 9, 300);
        hs_dataset_rec bad = make_dataset(lena, "", 10, 300);
        assert_int_equal(hs_store_dataset_create(f->store, &dup, &err),
                         HS_ERR_CONFLICT);
        assert_non_null(strstr(err.message, "already exists"));
        assert_int_equal(dup.id, 0);
        assert_int_equal(hs_store_dataset_create(f->store, &orphan, &err),
                         HS_ERR_NOTFOUND);
        assert_string_equal(err.message, "user 4242 does not exist");
        assert_int_equal(orphan.id, 0);
        assert_int_equal(hs_store_dataset_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_dataset(lena, "x", 11, 300);
        memset(bad.blob_key, 'k', sizeof bad.blob_key); /* no NUL */
        assert_int_equal(hs_store_dataset_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_dataset(lena, "x", 12, 300);
        memset(bad.name, 'n', sizeof bad.name); /* no NUL */
        assert_int_equal(hs_store_dataset_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_dataset(lena, "x", 13, 300);
        bad.size_bytes = -1;
        assert_int_equal(hs_store_dataset_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        assert_int_equal(hs_store_dataset_create(f->store, NULL, &err),
                         HS_ERR_INVALID);
        assert_int_equal(
            hs_store_dataset_get(f->store, a.id, lena, 0, NULL, &err),
            HS_ERR_INVALID);
        assert_int_equal(
            hs_store_dataset_list(f->store, lena, 0, 0, NULL, &n, &err),
            HS_ERR_INVALID);
    }
    assert_int_equal(
        hs_store_dataset_list(f->store, lena, 0, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 3); /* nothing slipped in */
    hs_dataset_list_free(list, n);
}

static void test_dataset_access(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "owner", 0);
    hs_id other = add_user(f->store, "other", 0);
    hs_id admin = add_user(f->store, "admin", 1);
    hs_dataset_rec mine = make_dataset(owner, "mine.csv", 1, 100);
    hs_dataset_rec theirs = make_dataset(other, "theirs.csv", 2, 200);
    hs_dataset_rec got, *list = NULL;
    size_t n = 0;

    assert_int_equal(hs_store_dataset_create(f->store, &mine, &err), HS_OK);
    assert_int_equal(hs_store_dataset_create(f->store, &theirs, &err), HS_OK);

    /* Another user: as if it did not exist, for reads and writes. */
    assert_int_equal(
        hs_store_dataset_get(f->store, mine.id, other, 0, &got, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "dataset 1 does not exist");
    assert_null(got.profile_json);
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, mine.id, other, 0, 500, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_dataset_get(f->store, mine.id, owner, 0, &got, &err), HS_OK);
    assert_int_equal(got.deleted_at, 0); /* untouched */
    hs_dataset_rec_free(&got);

    /* Each user lists only their own, trash included or not. */
    assert_int_equal(
        hs_store_dataset_list(f->store, other, 0, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_datasets_equal(&list[0], &theirs);
    hs_dataset_list_free(list, n);
    assert_int_equal(
        hs_store_dataset_list(f->store, admin, 0, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 0); /* the admin owns none... */
    hs_dataset_list_free(list, n);

    /* ...but as an admin sees, and may trash, everything. */
    assert_int_equal(
        hs_store_dataset_list(f->store, admin, 1, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_datasets_equal(&list[0], &theirs);
    assert_datasets_equal(&list[1], &mine);
    hs_dataset_list_free(list, n);
    assert_int_equal(
        hs_store_dataset_get(f->store, mine.id, admin, 1, &got, &err), HS_OK);
    assert_datasets_equal(&got, &mine);
    hs_dataset_rec_free(&got);
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, mine.id, admin, 1, 600, &err),
        HS_OK);
    assert_int_equal(
        hs_store_dataset_get(f->store, mine.id, owner, 0, &got, &err), HS_OK);
    assert_int_equal(got.deleted_at, 600);
    hs_dataset_rec_free(&got);
}

static void test_dataset_trash_restore_purge(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id mia = add_user(f->store, "mia", 0);
    hs_dataset_rec old_trash = make_dataset(mia, "old.csv", 1, 100);
    hs_dataset_rec new_trash = make_dataset(mia, "new.csv", 2, 200);
    hs_dataset_rec live = make_dataset(mia, "live.csv", 3, 300);
    hs_dataset_rec older_trash = make_dataset(mia, "older.csv", 4, 400);
    hs_dataset_rec got, *list = NULL;
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;

    assert_int_equal(hs_store_dataset_create(f->store, &old_trash, &err),
                     HS_OK);
    assert_int_equal(hs_store_dataset_create(f->store, &new_trash, &err),
                     HS_OK);
    assert_int_equal(hs_store_dataset_create(f->store, &live, &err), HS_OK);
    assert_int_equal(hs_store_dataset_create(f->store, &older_trash, &err),
                     HS_OK);

    assert_int_equal(hs_store_dataset_set_deleted(f->store, old_trash.id, mia,
                                                  0, 1000, &err),
                     HS_OK);
    assert_int_equal(hs_store_dataset_set_deleted(f->store, new_trash.id, mia,
                                                  0, 5000, &err),
                     HS_OK);
    assert_int_equal(hs_store_dataset_set_deleted(f->store, older_trash.id, mia,
                                                  0, 900, &err),
                     HS_OK);
    /* Again is fine; a negative time is not. */
    assert_int_equal(hs_store_dataset_set_deleted(f->store, older_trash.id, mia,
                                                  0, 900, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, live.id, mia, 0, -1, &err),
        HS_ERR_INVALID);
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, 9999, mia, 1, 1, &err),
        HS_ERR_NOTFOUND);

    /* Trashed ones leave the default list, stay in the full one. */
    assert_int_equal(
        hs_store_dataset_list(f->store, mia, 0, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, live.id);
    hs_dataset_list_free(list, n);
    assert_int_equal(
        hs_store_dataset_list(f->store, mia, 0, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(list[0].id, older_trash.id);
    assert_int_equal(list[0].deleted_at, 900);
    assert_int_equal(list[3].id, old_trash.id);
    hs_dataset_list_free(list, n);

    /* Restore brings one back. */
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, new_trash.id, mia, 0, 0, &err),
        HS_OK);
    assert_int_equal(
        hs_store_dataset_list(f->store, mia, 0, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, live.id);
    assert_int_equal(list[1].id, new_trash.id);
    assert_int_equal(list[1].deleted_at, 0);
    hs_dataset_list_free(list, n);

    /* Trash it again, later; purge takes only what was trashed before the
     * cutoff (strictly), never a live one. */
    assert_int_equal(hs_store_dataset_set_deleted(f->store, new_trash.id, mia,
                                                  0, 8000, &err),
                     HS_OK);
    assert_int_equal(hs_store_dataset_purge(f->store, 900, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    free(keys);
    assert_int_equal(hs_store_dataset_purge(f->store, 8000, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    {
        /* Order is not part of the contract. */
        int saw_old = 0, saw_older = 0;
        for (size_t i = 0; i < n; i++) {
            saw_old += strcmp(keys[i], old_trash.blob_key) == 0;
            saw_older += strcmp(keys[i], older_trash.blob_key) == 0;
        }
        assert_int_equal(saw_old, 1);
        assert_int_equal(saw_older, 1);
    }
    free(keys);
    assert_int_equal(
        hs_store_dataset_get(f->store, old_trash.id, mia, 0, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_dataset_get(f->store, older_trash.id, mia, 1, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_dataset_list(f->store, mia, 0, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, live.id);
    assert_int_equal(list[1].id, new_trash.id);
    assert_int_equal(list[1].deleted_at, 8000);
    hs_dataset_list_free(list, n);

    /* A purge rolled back with its transaction leaves the rows. */
    assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
    assert_int_equal(hs_store_dataset_purge(f->store, 9000, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0], new_trash.blob_key);
    free(keys);
    assert_int_equal(hs_store_rollback(f->store, &err), HS_OK);
    assert_int_equal(
        hs_store_dataset_get(f->store, new_trash.id, mia, 0, &got, &err),
        HS_OK);
    hs_dataset_rec_free(&got);
    assert_int_equal(hs_store_dataset_purge(f->store, 9000, NULL, &n, &err),
                     HS_ERR_INVALID);
}

static void test_dataset_profile(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id noor = add_user(f->store, "noor", 0);
    hs_dataset_rec d = make_dataset(noor, "caf\xc3\xa9.csv", 1, 100);
    hs_dataset_rec got;
    /* Unicode (2-, 3- and 4-byte UTF-8), quotes, backslashes, SQL. */
    const char *profile =
        "{\"columns\":[{\"name\":\"temp \\u00b0C \xc2\xb0\","
        "\"label\":\"\xe6\xb8\xa9\xe5\xba\xa6 \xf0\x9f\x8c\xa1\","
        "\"note\":\"it's \\\"quoted\\\"'); DROP TABLE datasets; --\"}]}";

    assert_int_equal(hs_store_dataset_create(f->store, &d, &err), HS_OK);
    assert_int_equal(
        hs_store_dataset_set_profile(f->store, d.id, profile, 150, 4, &err),
        HS_OK);
    assert_int_equal(hs_store_dataset_get(f->store, d.id, noor, 0, &got, &err),
                     HS_OK);
    assert_non_null(got.profile_json);
    assert_string_equal(got.profile_json, profile);
    assert_int_equal(got.rows, 150);
    assert_int_equal(got.features, 4);
    assert_string_equal(got.name, "caf\xc3\xa9.csv");
    assert_int_equal(got.size_bytes, d.size_bytes); /* untouched */
    hs_dataset_rec_free(&got);

    /* NULL clears it. */
    assert_int_equal(
        hs_store_dataset_set_profile(f->store, d.id, NULL, 0, 0, &err), HS_OK);
    assert_int_equal(hs_store_dataset_get(f->store, d.id, noor, 0, &got, &err),
                     HS_OK);
    assert_null(got.profile_json);
    assert_int_equal(got.rows, 0);
    hs_dataset_rec_free(&got);

    assert_int_equal(
        hs_store_dataset_set_profile(f->store, 9999, "{}", 1, 1, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_dataset_set_profile(f->store, d.id, "{}", -1, 1, &err),
        HS_ERR_INVALID);
}

/* ---- models ------------------------------------------------------------ */

static void test_models(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id lena = add_user(f->store, "lena", 0);
    hs_id data = add_dataset(f->store, lena, 1);
    hs_id job = add_job(f->store, lena, 50);
    hs_model_rec a = make_model(lena, "iris gbdt", 1, 100);
    hs_model_rec b =
        make_model(lena, "o'brien \"m\"; DROP TABLE models", 2, 200);
    hs_model_rec c = make_model(lena, "same-time", 3, 200);
    hs_model_rec got, *list = NULL;
    size_t n = 0;
    char buf[64];

    /* Every field set, a summary with Unicode, quotes and SQL. */
    a.dataset_id = data;
    a.job_id = job;
    a.macro_f1 = 0.1 + 0.2; /* not exactly representable in decimal */
    a.accuracy = 1.0 / 3.0;
    a.summary_json = "{\"label\":\"\xe6\xb8\xa9\xe5\xba\xa6 \xf0\x9f\x8c\xa1\","
                     "\"note\":\"it's \\\"x\\\"'); DROP TABLE models; --\"}";
    /* No metrics at all; one of two. */
    b.macro_f1 = NAN;
    b.accuracy = NAN;
    c.macro_f1 = NAN;
    c.accuracy = 0.5;
    assert_int_equal(hs_store_model_create(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &c, &err), HS_OK);
    assert_true(a.id > 0 && b.id > a.id && c.id > b.id);

    assert_int_equal(hs_store_model_get(f->store, a.id, lena, 0, &got, &err),
                     HS_OK);
    assert_models_equal(&got, &a);
    hs_model_rec_free(&got);
    assert_null(got.summary_json);
    hs_model_rec_free(&got); /* twice is harmless */
    assert_int_equal(hs_store_model_get(f->store, b.id, lena, 0, &got, &err),
                     HS_OK);
    assert_models_equal(&got, &b);
    assert_true(isnan(got.macro_f1) && isnan(got.accuracy));
    assert_int_equal(got.dataset_id, 0);
    assert_int_equal(got.job_id, 0);
    hs_model_rec_free(&got);
    /* NAN is stored as NULL, 0 references as NULL. */
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

    assert_int_equal(hs_store_model_get(f->store, 9999, lena, 1, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "model 9999 does not exist");
    assert_null(got.summary_json);

    /* Newest first: by created_at, then id. */
    assert_int_equal(hs_store_model_list(f->store, lena, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 3);
    assert_models_equal(&list[0], &c);
    assert_models_equal(&list[1], &b);
    assert_models_equal(&list[2], &a);
    hs_model_list_free(list, n);
    hs_model_list_free(NULL, 0);

    /* Conflicts, missing references and bad input. */
    {
        hs_model_rec bad = make_model(lena, "again", 1, 300);
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_CONFLICT);
        assert_non_null(strstr(err.message, "already exists"));
        assert_int_equal(bad.id, 0);

        bad = make_model(4242, "orphan", 10, 300);
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        assert_int_equal(bad.id, 0);
        bad = make_model(lena, "no dataset", 11, 300);
        bad.dataset_id = 4242;
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        bad = make_model(lena, "no job", 12, 300);
        bad.job_id = 4242;
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);

        bad = make_model(lena, "", 13, 300);
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_model(lena, "x", 14, 300);
        memset(bad.algo, 'a', sizeof bad.algo); /* no NUL */
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_model(lena, "x", 15, 300);
        bad.blob_key[0] = '\0';
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_model(lena, "x", 16, 300);
        bad.summary_json = NULL;
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad.summary_json = "";
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        /* Refused by the schema, reported as the caller's mistake. */
        bad = make_model(lena, "x", 17, 300);
        bad.size_bytes = -1;
        assert_int_equal(hs_store_model_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        assert_int_equal(bad.id, 0);
        assert_int_equal(hs_store_model_create(f->store, NULL, &err),
                         HS_ERR_INVALID);
        assert_int_equal(
            hs_store_model_get(f->store, a.id, lena, 0, NULL, &err),
            HS_ERR_INVALID);
        assert_int_equal(hs_store_model_list(f->store, lena, 0, NULL, &n, &err),
                         HS_ERR_INVALID);
        assert_int_equal(
            hs_store_model_delete(f->store, a.id, lena, 0, NULL, &err),
            HS_ERR_INVALID);
    }
    assert_int_equal(hs_store_model_list(f->store, 0, 1, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 3); /* nothing slipped in */
    hs_model_list_free(list, n);
}

static void test_model_access(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "owner", 0);
    hs_id other = add_user(f->store, "other", 0);
    hs_id admin = add_user(f->store, "admin", 1);
    hs_model_rec mine = make_model(owner, "mine", 1, 100);
    hs_model_rec theirs = make_model(other, "theirs", 2, 200);
    hs_model_rec got, *list = NULL;
    char key[HS_STORE_BLOB_KEY_MAX];
    size_t n = 0;

    assert_int_equal(hs_store_model_create(f->store, &mine, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &theirs, &err), HS_OK);

    /* Another user: as if it did not exist, for reads and deletes. */
    assert_int_equal(
        hs_store_model_get(f->store, mine.id, other, 0, &got, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "model 1 does not exist");
    assert_null(got.summary_json);
    memset(key, 'x', sizeof key);
    assert_int_equal(
        hs_store_model_delete(f->store, mine.id, other, 0, key, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "model 1 does not exist");
    assert_string_equal(key, "");
    assert_int_equal(
        hs_store_model_get(f->store, mine.id, owner, 0, &got, &err), HS_OK);
    assert_models_equal(&got, &mine); /* untouched */
    hs_model_rec_free(&got);

    /* Each user lists their own; an admin everyone's, only as an admin. */
    assert_int_equal(hs_store_model_list(f->store, other, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_models_equal(&list[0], &theirs);
    hs_model_list_free(list, n);
    assert_int_equal(hs_store_model_list(f->store, admin, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    hs_model_list_free(list, n);
    assert_int_equal(hs_store_model_list(f->store, admin, 1, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_models_equal(&list[0], &theirs);
    assert_models_equal(&list[1], &mine);
    hs_model_list_free(list, n);
    assert_int_equal(
        hs_store_model_get(f->store, theirs.id, admin, 1, &got, &err), HS_OK);
    assert_models_equal(&got, &theirs);
    hs_model_rec_free(&got);

    /* Deleting hands back the blob key, once. */
    assert_int_equal(
        hs_store_model_delete(f->store, theirs.id, admin, 1, key, &err), HS_OK);
    assert_string_equal(key, theirs.blob_key);
    assert_int_equal(
        hs_store_model_delete(f->store, theirs.id, admin, 1, key, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_model_get(f->store, theirs.id, other, 0, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_model_delete(f->store, mine.id, owner, 0, key, &err), HS_OK);
    assert_string_equal(key, mine.blob_key);
    assert_int_equal(hs_store_model_list(f->store, admin, 1, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    hs_model_list_free(list, n);
}

/* ---- jobs -------------------------------------------------------------- */

static void test_jobs(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id olga = add_user(f->store, "olga", 0);
    hs_id data = add_dataset(f->store, olga, 1);
    hs_id model = add_model(f->store, olga, 1);
    hs_diagnosis_rec diag = make_diagnosis(olga, model, "d", 1, 10);
    hs_job_rec plain = make_job(olga, "plain", 100);
    hs_job_rec full = make_job(olga, "caf\xc3\xa9 \"full\"; --", 200);
    hs_job_rec same = make_job(olga, "same-time", 200);
    hs_job_rec got, *list = NULL;
    size_t n = 0;

    assert_int_equal(hs_store_diagnosis_create(f->store, &diag, &err), HS_OK);
    /* Only what a request sets: the rest reads back as its default. */
    assert_int_equal(hs_store_job_create(f->store, &plain, &err), HS_OK);
    assert_true(plain.id > 0);
    got = get_job(f->store, plain.id);
    assert_jobs_equal(&got, &plain);
    assert_int_equal(got.state, HS_JOB_QUEUED);
    assert_null(got.losses_json);
    assert_null(got.attempts_json);
    assert_string_equal(got.input_blob_key, "");
    hs_job_rec_free(&got);

    /* Every field set (a job as it might be after a crash). */
    snprintf(full.type, sizeof full.type, "diagnose");
    full.state = HS_JOB_FAILED;
    full.dataset_id = data;
    full.model_id = model;
    full.diagnosis_id = diag.id;
    snprintf(full.input_blob_key, sizeof full.input_blob_key, "%064x", 77u);
    full.params_json = "{\"model\":1,\"note\":\"\xf0\x9f\x8c\xa1 it's\"}";
    full.progress = 0.1 + 0.2;
    full.round = 7;
    full.rounds = 100;
    full.losses_json = "{\"train\":[0.9,0.5]}";
    full.attempts_json = "[{\"error\":\"oom\"}]";
    snprintf(full.error, sizeof full.error, "it's \"broken\"");
    full.cancel_requested = 1;
    full.restarts = 2;
    full.started_at = 210;
    full.finished_at = 220;
    assert_int_equal(hs_store_job_create(f->store, &full, &err), HS_OK);
    got = get_job(f->store, full.id);
    assert_jobs_equal(&got, &full);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_create(f->store, &same, &err), HS_OK);

    /* Newest first: by created_at, then id. */
    assert_int_equal(hs_store_job_list(f->store, olga, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 3);
    assert_jobs_equal(&list[0], &same);
    assert_jobs_equal(&list[1], &full);
    assert_jobs_equal(&list[2], &plain);
    hs_job_list_free(list, n);
    hs_job_list_free(NULL, 0);

    assert_int_equal(hs_store_job_get(f->store, 9999, olga, 1, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 9999 does not exist");
    assert_null(got.params_json);

    /* Missing references and bad input. */
    {
        hs_job_rec bad = make_job(4242, "orphan", 300);
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        assert_int_equal(bad.id, 0);
        bad = make_job(olga, "x", 300);
        bad.dataset_id = 4242;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        bad = make_job(olga, "x", 300);
        bad.model_id = 4242;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        bad = make_job(olga, "x", 300);
        bad.diagnosis_id = 4242;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);

        bad = make_job(olga, "x", 300);
        bad.state = (hs_job_state)HS_JOB_STATES;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        bad.params_json = "";
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad.params_json = NULL;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        bad.type[0] = '\0';
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "", 300);
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        memset(bad.input_blob_key, 'k', sizeof bad.input_blob_key);
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        memset(bad.error, 'e', sizeof bad.error); /* no NUL */
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        /* Refused by the schema. */
        bad = make_job(olga, "x", 300);
        bad.progress = 1.5;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        bad.restarts = -1;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        assert_int_equal(bad.id, 0);
        assert_int_equal(hs_store_job_get(f->store, 1, olga, 0, NULL, &err),
                         HS_ERR_INVALID);
        assert_int_equal(
            hs_store_job_list(f->store, olga, 0, &list, NULL, &err),
            HS_ERR_INVALID);
    }
    assert_int_equal(hs_store_job_list(f->store, 0, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 3); /* nothing slipped in */
    hs_job_list_free(list, n);
}

static void test_job_access(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "owner", 0);
    hs_id other = add_user(f->store, "other", 0);
    hs_id admin = add_user(f->store, "admin", 1);
    hs_id mine = add_job(f->store, owner, 100);
    hs_id theirs = add_job(f->store, other, 200);
    hs_job_rec got, *list = NULL;
    hs_job_state st = HS_JOB_RUNNING;
    size_t n = 0;

    assert_int_equal(hs_store_job_get(f->store, mine, other, 0, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 1 does not exist");
    assert_null(got.params_json);
    assert_int_equal(
        hs_store_job_cancel(f->store, mine, other, 0, 500, &st, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 1 does not exist");
    assert_int_equal(job_state(f->store, mine), HS_JOB_QUEUED); /* untouched */
    assert_int_equal(hs_store_job_get(f->store, mine, owner, 0, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, mine);
    hs_job_rec_free(&got);

    assert_int_equal(hs_store_job_list(f->store, other, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, theirs);
    hs_job_list_free(list, n);
    assert_int_equal(hs_store_job_list(f->store, admin, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    hs_job_list_free(list, n);
    assert_int_equal(hs_store_job_list(f->store, admin, 1, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, theirs);
    assert_int_equal(list[1].id, mine);
    hs_job_list_free(list, n);

    /* An admin may cancel anyone's; the owner their own. */
    assert_int_equal(
        hs_store_job_cancel(f->store, theirs, admin, 1, 600, &st, &err), HS_OK);
    assert_int_equal(st, HS_JOB_CANCELLED);
    assert_int_equal(
        hs_store_job_cancel(f->store, mine, owner, 0, 700, &st, &err), HS_OK);
    assert_int_equal(st, HS_JOB_CANCELLED);
    /* A finished job of someone else is still "not found", not a conflict:
     * ids leak nothing. */
    assert_int_equal(
        hs_store_job_cancel(f->store, theirs, owner, 0, 800, &st, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 2 does not exist");
}

/* Claims go by id (the queue's order), not by created_at, and take only
 * queued jobs. */
static void test_job_claim(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id pia = add_user(f->store, "pia", 0);
    hs_job_rec j, got;
    hs_id first, running, cancelled, fourth, fifth;
    int64_t counts[HS_JOB_STATES];

    assert_int_equal(hs_store_job_claim_next(f->store, 10, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "no job is queued");
    assert_null(got.params_json);

    first = add_job(f->store, pia, 300);
    j = make_job(pia, "running", 100);
    j.state = HS_JOB_RUNNING;
    j.started_at = 150;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    running = j.id;
    j = make_job(pia, "cancelled", 100);
    j.state = HS_JOB_CANCELLED;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    cancelled = j.id;
    fourth = add_job(f->store, pia, 200);
    fifth = add_job(f->store, pia, 50); /* oldest by time, last in the queue */

    assert_int_equal(hs_store_job_claim_next(f->store, 1000, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, first);
    assert_int_equal(got.state, HS_JOB_RUNNING);
    assert_int_equal(got.started_at, 1000);
    assert_string_equal(got.params_json, "{\"rounds\":100}");
    {
        /* What claim handed back is what is stored. */
        hs_job_rec stored = get_job(f->store, first);
        assert_jobs_equal(&stored, &got);
        hs_job_rec_free(&stored);
    }
    hs_job_rec_free(&got);

    assert_int_equal(hs_store_job_claim_next(f->store, 1001, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, fourth);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_claim_next(f->store, 1002, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, fifth);
    assert_int_equal(got.started_at, 1002);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_claim_next(f->store, 1003, &got, &err),
                     HS_ERR_NOTFOUND);

    /* The others were left alone. */
    got = get_job(f->store, running);
    assert_int_equal(got.started_at, 150);
    hs_job_rec_free(&got);
    assert_int_equal(job_state(f->store, cancelled), HS_JOB_CANCELLED);

    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 0);
    assert_int_equal(counts[HS_JOB_RUNNING], 4);
    assert_int_equal(counts[HS_JOB_CANCELLED], 1);
    assert_int_equal(hs_store_job_claim_next(f->store, 1, NULL, &err),
                     HS_ERR_INVALID);
}

#define CLAIM_JOBS 200

typedef struct claimer {
    hs_store *store;
    pthread_barrier_t *start;
    hs_id claimed[CLAIM_JOBS];
    size_t n;
    int failures; /* anything but HS_OK or the final HS_ERR_NOTFOUND */
    hs_error last_error;
} claimer;

/* Claims until the queue is empty, and finishes each job at once, so that
 * claims race with other writes too. */
static void *claimer_main(void *arg)
{
    claimer *c = arg;
    hs_error err = {0};
    hs_job_rec j;
    hs_status hs;

    pthread_barrier_wait(c->start);
    while ((hs = hs_store_job_claim_next(c->store, 5000, &j, &err)) == HS_OK) {
        int cancel = 1;
        if (j.state != HS_JOB_RUNNING || c->n == CLAIM_JOBS)
            c->failures++;
        else
            c->claimed[c->n++] = j.id;
        if (hs_store_job_progress(c->store, j.id, 0.5, 1, 2, NULL, &cancel,
                                  &err) != HS_OK ||
            cancel != 0 ||
            hs_store_job_finish(c->store, j.id, HS_JOB_SUCCEEDED, NULL, 0, 0,
                                NULL, 5001, &err) != HS_OK) {
            c->failures++;
            c->last_error = err;
        }
        hs_job_rec_free(&j);
    }
    if (hs != HS_ERR_NOTFOUND) {
        c->failures++;
        c->last_error = err;
    }
    return NULL;
}

static void test_job_claim_concurrent(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id quinn = add_user(f->store, "quinn", 0);
    static claimer claimers[N_THREADS];
    pthread_t threads[N_THREADS];
    pthread_barrier_t start;
    int times_claimed[CLAIM_JOBS + 1] = {0};
    int64_t counts[HS_JOB_STATES];
    size_t total = 0;

    for (int i = 0; i < CLAIM_JOBS; i++)
        assert_int_equal(add_job(f->store, quinn, i), i + 1);
    assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
    for (int t = 0; t < N_THREADS; t++) {
        memset(&claimers[t], 0, sizeof claimers[t]);
        claimers[t].store = f->store;
        claimers[t].start = &start;
        assert_int_equal(
            pthread_create(&threads[t], NULL, claimer_main, &claimers[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        if (claimers[t].failures)
            fail_msg("thread %d: %d failures, last: %s", t,
                     claimers[t].failures, claimers[t].last_error.message);
        for (size_t i = 0; i < claimers[t].n; i++) {
            hs_id id = claimers[t].claimed[i];
            assert_true(id >= 1 && id <= CLAIM_JOBS);
            times_claimed[id]++;
            /* Each claimer sees the queue in order. */
            if (i > 0)
                assert_true(id > claimers[t].claimed[i - 1]);
        }
        total += claimers[t].n;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(total, CLAIM_JOBS);
    for (int id = 1; id <= CLAIM_JOBS; id++)
        if (times_claimed[id] != 1)
            fail_msg("job %d was claimed %d times", id, times_claimed[id]);
    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_SUCCEEDED], CLAIM_JOBS);
    assert_int_equal(counts[HS_JOB_QUEUED] + counts[HS_JOB_RUNNING], 0);
}

/* Claims the next job, checks it is `want`, and frees the record. */
static void claim(hs_store *store, hs_id want, int64_t now)
{
    hs_error err = {0};
    hs_job_rec j;
    assert_int_equal(hs_store_job_claim_next(store, now, &j, &err), HS_OK);
    assert_int_equal(j.id, want);
    hs_job_rec_free(&j);
}

static void test_job_progress_finish(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id rosa = add_user(f->store, "rosa", 0);
    hs_id model = add_model(f->store, rosa, 1);
    hs_id train = add_job(f->store, rosa, 100);
    hs_id failing = add_job(f->store, rosa, 101);
    hs_id queued = add_job(f->store, rosa, 102);
    hs_job_rec j = make_job(rosa, "diagnose", 103), got;
    hs_diagnosis_rec diag = make_diagnosis(rosa, model, "result", 1, 10);
    hs_job_state st;
    int cancel = -1;
    char long_error[HS_MESSAGE_MAX + 1];

    snprintf(j.type, sizeof j.type, "diagnose");
    j.model_id = model;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    claim(f->store, train, 1000);
    claim(f->store, failing, 1001);

    /* Progress of a running job, and whether a cancel is wanted. */
    assert_int_equal(hs_store_job_progress(f->store, train, 0.25, 3, 10,
                                           "{\"train\":[0.5]}", &cancel, &err),
                     HS_OK);
    assert_int_equal(cancel, 0);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 0.25);
    assert_int_equal(got.round, 3);
    assert_int_equal(got.rounds, 10);
    assert_string_equal(got.losses_json, "{\"train\":[0.5]}");
    hs_job_rec_free(&got);
    /* NULL losses leave them; progress is clamped to 0..1. */
    assert_int_equal(
        hs_store_job_progress(f->store, train, 7.5, 4, 10, NULL, NULL, &err),
        HS_OK);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 1);
    assert_int_equal(got.round, 4);
    assert_string_equal(got.losses_json, "{\"train\":[0.5]}");
    hs_job_rec_free(&got);
    assert_int_equal(
        hs_store_job_progress(f->store, train, NAN, 5, 10, "{}", NULL, &err),
        HS_OK);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 0);
    assert_string_equal(got.losses_json, "{}");
    hs_job_rec_free(&got);
    assert_int_equal(
        hs_store_job_progress(f->store, train, -3, 6, 10, NULL, NULL, &err),
        HS_OK);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 0);
    hs_job_rec_free(&got);

    /* A cancel request reaches the runner through progress. */
    assert_int_equal(
        hs_store_job_cancel(f->store, failing, rosa, 0, 1100, &st, &err),
        HS_OK);
    assert_int_equal(st, HS_JOB_RUNNING);
    assert_int_equal(hs_store_job_progress(f->store, failing, 0.5, 1, 2, NULL,
                                           &cancel, &err),
                     HS_OK);
    assert_int_equal(cancel, 1);

    /* Only running jobs make progress. */
    cancel = -1;
    assert_int_equal(
        hs_store_job_progress(f->store, queued, 0.5, 1, 2, NULL, &cancel, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "running job 3 does not exist");
    assert_int_equal(cancel, 0);
    assert_int_equal(
        hs_store_job_progress(f->store, 9999, 0.5, 1, 2, NULL, NULL, &err),
        HS_ERR_NOTFOUND);
    got = get_job(f->store, queued);
    assert_same_double(got.progress, 0); /* untouched */
    hs_job_rec_free(&got);

    /* Finishing: only in a final state, only a running job. */
    assert_int_equal(hs_store_job_finish(f->store, train, HS_JOB_QUEUED, NULL,
                                         0, 0, NULL, 2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_finish(f->store, train, HS_JOB_RUNNING, NULL,
                                         0, 0, NULL, 2000, &err),
                     HS_ERR_INVALID);
    memset(long_error, 'e', HS_MESSAGE_MAX);
    long_error[HS_MESSAGE_MAX] = '\0';
    assert_int_equal(hs_store_job_finish(f->store, train, HS_JOB_FAILED,
                                         long_error, 0, 0, NULL, 2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_finish(f->store, queued, HS_JOB_FAILED, "x",
                                         0, 0, NULL, 2000, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "running job 3 does not exist");
    assert_int_equal(job_state(f->store, queued), HS_JOB_QUEUED);
    /* A result that does not exist is refused; the job stays running. */
    assert_int_equal(hs_store_job_finish(f->store, train, HS_JOB_SUCCEEDED,
                                         NULL, 4242, 0, NULL, 2000, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(job_state(f->store, train), HS_JOB_RUNNING);

    /* Succeeded: progress 1, the result recorded, error "". */
    assert_int_equal(hs_store_job_finish(f->store, train, HS_JOB_SUCCEEDED,
                                         NULL, model, 0, "[{\"rounds\":10}]",
                                         2000, &err),
                     HS_OK);
    got = get_job(f->store, train);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    assert_same_double(got.progress, 1);
    assert_int_equal(got.model_id, model);
    assert_int_equal(got.diagnosis_id, 0);
    assert_string_equal(got.attempts_json, "[{\"rounds\":10}]");
    assert_string_equal(got.error, "");
    assert_int_equal(got.started_at, 1000);
    assert_int_equal(got.finished_at, 2000);
    assert_string_equal(got.losses_json, "{}"); /* kept */
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_finish(f->store, train, HS_JOB_FAILED, "late",
                                         0, 0, NULL, 2001, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_job_progress(f->store, train, 0.5, 1, 2, NULL, NULL, &err),
        HS_ERR_NOTFOUND);

    /* Failed (or cancelled by its runner): progress as it was. */
    assert_int_equal(hs_store_job_finish(f->store, failing, HS_JOB_CANCELLED,
                                         "cancelled by the user", 0, 0, NULL,
                                         2100, &err),
                     HS_OK);
    got = get_job(f->store, failing);
    assert_int_equal(got.state, HS_JOB_CANCELLED);
    assert_same_double(got.progress, 0.5);
    assert_string_equal(got.error, "cancelled by the user");
    assert_int_equal(got.model_id, 0);
    assert_null(got.attempts_json);
    assert_int_equal(got.finished_at, 2100);
    hs_job_rec_free(&got);

    /* A diagnose job keeps the model it used when its result is set. */
    claim(f->store, queued, 3000);
    claim(f->store, j.id, 3001);
    assert_int_equal(hs_store_diagnosis_create(f->store, &diag, &err), HS_OK);
    assert_int_equal(hs_store_job_finish(f->store, j.id, HS_JOB_SUCCEEDED, "",
                                         0, diag.id, NULL, 3100, &err),
                     HS_OK);
    got = get_job(f->store, j.id);
    assert_int_equal(got.model_id, model);
    assert_int_equal(got.diagnosis_id, diag.id);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_finish(f->store, queued, HS_JOB_FAILED,
                                         "out of memory", 0, 0, "[]", 3200,
                                         &err),
                     HS_OK);
    got = get_job(f->store, queued);
    assert_int_equal(got.state, HS_JOB_FAILED);
    assert_string_equal(got.error, "out of memory");
    assert_string_equal(got.attempts_json, "[]");
    hs_job_rec_free(&got);
}

static void test_job_cancel(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id sven = add_user(f->store, "sven", 0);
    hs_id running = add_job(f->store, sven, 100);
    hs_id done = add_job(f->store, sven, 101);
    hs_id queued = add_job(f->store, sven, 102);
    hs_job_rec got;
    hs_job_state st;

    claim(f->store, running, 500);
    claim(f->store, done, 501);
    assert_int_equal(hs_store_job_finish(f->store, done, HS_JOB_SUCCEEDED, NULL,
                                         0, 0, NULL, 600, &err),
                     HS_OK);

    /* Queued: cancelled at once. */
    assert_int_equal(
        hs_store_job_cancel(f->store, queued, sven, 0, 700, &st, &err), HS_OK);
    assert_int_equal(st, HS_JOB_CANCELLED);
    got = get_job(f->store, queued);
    assert_int_equal(got.state, HS_JOB_CANCELLED);
    assert_int_equal(got.finished_at, 700);
    assert_string_equal(got.error, "cancelled by the user");
    assert_int_equal(got.started_at, 0);
    hs_job_rec_free(&got);
    /* ...and then it has finished. */
    assert_int_equal(
        hs_store_job_cancel(f->store, queued, sven, 0, 800, &st, &err),
        HS_ERR_CONFLICT);
    {
        char want[64];
        snprintf(want, sizeof want, "job %lld has already finished (cancelled)",
                 (long long)queued);
        assert_string_equal(err.message, want);
        snprintf(want, sizeof want, "job %lld has already finished (succeeded)",
                 (long long)done);
        assert_int_equal(
            hs_store_job_cancel(f->store, done, sven, 0, 800, &st, &err),
            HS_ERR_CONFLICT);
        assert_string_equal(err.message, want);
    }
    got = get_job(f->store, queued);
    assert_int_equal(got.finished_at, 700); /* not moved */
    hs_job_rec_free(&got);

    /* Running: only asked to stop; again is fine. */
    assert_int_equal(
        hs_store_job_cancel(f->store, running, sven, 0, 900, &st, &err), HS_OK);
    assert_int_equal(st, HS_JOB_RUNNING);
    assert_int_equal(
        hs_store_job_cancel(f->store, running, sven, 0, 901, &st, &err), HS_OK);
    assert_int_equal(st, HS_JOB_RUNNING);
    got = get_job(f->store, running);
    assert_int_equal(got.state, HS_JOB_RUNNING);
    assert_int_equal(got.cancel_requested, 1);
    assert_int_equal(got.finished_at, 0);
    assert_string_equal(got.error, "");
    hs_job_rec_free(&got);

    assert_int_equal(hs_store_job_cancel(f->store, 9999, sven, 1, 1, &st, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 9999 does not exist");
    assert_int_equal(
        hs_store_job_cancel(f->store, running, sven, 0, 1, NULL, &err),
        HS_ERR_INVALID);
}

static void test_job_requeue(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id tara = add_user(f->store, "tara", 0);
    hs_job_rec j = make_job(tara, "requeue me", 100), got;
    hs_id other;
    hs_job_state st;

    j.restarts = 1;
    j.attempts_json = "[{\"error\":\"first\"}]";
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    other = add_job(f->store, tara, 200);
    claim(f->store, j.id, 500);
    assert_int_equal(hs_store_job_progress(f->store, j.id, 0.5, 5, 10,
                                           "{\"train\":[1]}", NULL, &err),
                     HS_OK);

    /* Back in the queue as if it had never started, ahead of `other`. */
    assert_int_equal(hs_store_job_requeue(f->store, j.id, &err), HS_OK);
    got = get_job(f->store, j.id);
    assert_int_equal(got.state, HS_JOB_QUEUED);
    assert_same_double(got.progress, 0);
    assert_int_equal(got.round, 0);
    assert_int_equal(got.rounds, 0);
    assert_null(got.losses_json);
    assert_int_equal(got.started_at, 0);
    assert_int_equal(got.restarts, 1); /* unchanged */
    assert_string_equal(got.attempts_json, "[{\"error\":\"first\"}]");
    assert_string_equal(got.params_json, "{\"rounds\":100}");
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_requeue(f->store, j.id, &err),
                     HS_ERR_NOTFOUND); /* no longer running */
    assert_non_null(strstr(err.message, "running job"));
    claim(f->store, j.id, 600);

    /* A job asked to stop stops instead. */
    assert_int_equal(
        hs_store_job_cancel(f->store, j.id, tara, 0, 650, &st, &err), HS_OK);
    assert_int_equal(hs_store_job_requeue(f->store, j.id, &err), HS_OK);
    got = get_job(f->store, j.id);
    assert_int_equal(got.state, HS_JOB_CANCELLED);
    assert_string_equal(got.error, "cancelled by the user");
    assert_int_equal(got.finished_at, 600); /* no clock: its start */
    hs_job_rec_free(&got);

    assert_int_equal(job_state(f->store, other), HS_JOB_QUEUED);
    assert_int_equal(hs_store_job_requeue(f->store, other, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_requeue(f->store, 9999, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(job_state(f->store, other), HS_JOB_QUEUED);
}

/* A running job as a crash leaves it. */
static hs_id add_running(hs_store *store, hs_id owner, int64_t restarts,
                         int cancel_requested)
{
    hs_job_rec j = make_job(owner, "interrupted", 100);
    hs_error err = {0};
    j.state = HS_JOB_RUNNING;
    j.progress = 0.5;
    j.round = 5;
    j.rounds = 10;
    j.losses_json = "{\"train\":[1]}";
    j.started_at = 150;
    j.restarts = restarts;
    j.cancel_requested = cancel_requested;
    assert_int_equal(hs_store_job_create(store, &j, &err), HS_OK);
    return j.id;
}

static void test_job_recover(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ugo = add_user(f->store, "ugo", 0);
    hs_id fresh = add_running(f->store, ugo, 0, 0);
    hs_id once = add_running(f->store, ugo, 1, 0);
    hs_id worn = add_running(f->store, ugo, 2, 0);
    hs_id stop = add_running(f->store, ugo, 0, 1);
    hs_id queued = add_job(f->store, ugo, 100);
    hs_id done = add_running(f->store, ugo, 0, 0);
    hs_job_rec got;
    int64_t requeued = -1, failed = -1, counts[HS_JOB_STATES];

    assert_int_equal(hs_store_job_finish(f->store, done, HS_JOB_FAILED, "x", 0,
                                         0, NULL, 160, &err),
                     HS_OK);

    assert_int_equal(
        hs_store_job_recover(f->store, 5000, 2, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued, 2); /* fresh, once */
    assert_int_equal(failed, 1);   /* worn */

    got = get_job(f->store, fresh);
    assert_int_equal(got.state, HS_JOB_QUEUED);
    assert_int_equal(got.restarts, 1);
    assert_same_double(got.progress, 0);
    assert_int_equal(got.round, 0);
    assert_int_equal(got.rounds, 0);
    assert_null(got.losses_json);
    assert_int_equal(got.started_at, 0);
    assert_int_equal(got.finished_at, 0);
    assert_string_equal(got.error, "");
    hs_job_rec_free(&got);
    got = get_job(f->store, once);
    assert_int_equal(got.state, HS_JOB_QUEUED);
    assert_int_equal(got.restarts, 2);
    hs_job_rec_free(&got);
    got = get_job(f->store, worn);
    assert_int_equal(got.state, HS_JOB_FAILED);
    assert_string_equal(got.error, "interrupted by server restarts");
    assert_int_equal(got.finished_at, 5000);
    assert_int_equal(got.restarts, 2);
    hs_job_rec_free(&got);
    got = get_job(f->store, stop);
    assert_int_equal(got.state, HS_JOB_CANCELLED);
    assert_string_equal(got.error, "cancelled by the user");
    assert_int_equal(got.finished_at, 5000);
    assert_int_equal(got.restarts, 0);
    hs_job_rec_free(&got);
    got = get_job(f->store, done);
    assert_int_equal(got.state, HS_JOB_FAILED);
    assert_int_equal(got.finished_at, 160);
    hs_job_rec_free(&got);
    assert_int_equal(job_state(f->store, queued), HS_JOB_QUEUED);

    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 3);
    assert_int_equal(counts[HS_JOB_RUNNING], 0);
    assert_int_equal(counts[HS_JOB_SUCCEEDED], 0);
    assert_int_equal(counts[HS_JOB_FAILED], 2);
    assert_int_equal(counts[HS_JOB_CANCELLED], 1);

    /* Nothing running: nothing to do; the counts may be NULL. */
    assert_int_equal(
        hs_store_job_recover(f->store, 6000, 2, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(hs_store_job_recover(f->store, 6000, 2, NULL, NULL, &err),
                     HS_OK);

    /* max_restarts 0: every interrupted job fails. */
    fresh = add_running(f->store, ugo, 0, 0);
    /* Inside a transaction it is part of it: rolled back, it never was. */
    assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
    assert_int_equal(
        hs_store_job_recover(f->store, 7000, 0, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(failed, 1);
    assert_int_equal(job_state(f->store, fresh), HS_JOB_FAILED);
    assert_int_equal(hs_store_rollback(f->store, &err), HS_OK);
    assert_int_equal(job_state(f->store, fresh), HS_JOB_RUNNING);
    assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
    assert_int_equal(
        hs_store_job_recover(f->store, 7000, 0, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(hs_store_commit(f->store, &err), HS_OK);
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 1);
    assert_int_equal(job_state(f->store, fresh), HS_JOB_FAILED);
}

/* Recover is one outcome: when its last sweep fails (a trigger injects the
 * failure), the sweeps before it are undone too, and the counts are 0. */
static void test_job_recover_atomic(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id zoe = add_user(f->store, "zoe", 0);
    hs_id requeue = add_running(f->store, zoe, 0, 0);
    hs_id stop = add_running(f->store, zoe, 0, 1);
    hs_id worn = add_running(f->store, zoe, 5, 0);
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

static void test_job_counts(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id vera = add_user(f->store, "vera", 0);
    int64_t counts[HS_JOB_STATES];
    hs_job_state st;

    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    for (int i = 0; i < HS_JOB_STATES; i++)
        assert_int_equal(counts[i], 0);
    for (int i = 0; i < 5; i++)
        add_job(f->store, vera, i);
    claim(f->store, 1, 10);
    claim(f->store, 2, 10);
    claim(f->store, 3, 10);
    assert_int_equal(hs_store_job_finish(f->store, 1, HS_JOB_SUCCEEDED, NULL, 0,
                                         0, NULL, 20, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_finish(f->store, 2, HS_JOB_FAILED, "x", 0, 0,
                                         NULL, 20, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_cancel(f->store, 5, vera, 0, 30, &st, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 1);
    assert_int_equal(counts[HS_JOB_RUNNING], 1);
    assert_int_equal(counts[HS_JOB_SUCCEEDED], 1);
    assert_int_equal(counts[HS_JOB_FAILED], 1);
    assert_int_equal(counts[HS_JOB_CANCELLED], 1);
    assert_int_equal(hs_store_job_counts(f->store, NULL, &err), HS_ERR_INVALID);
    assert_string_equal(hs_job_state_name(HS_JOB_CANCELLED), "cancelled");
    assert_string_equal(hs_job_state_name((hs_job_state)HS_JOB_STATES),
                        "unknown");
}

/* ---- diagnoses --------------------------------------------------------- */

static void test_diagnoses(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id wim = add_user(f->store, "wim", 0);
    hs_id other = add_user(f->store, "other", 0);
    hs_id admin = add_user(f->store, "admin", 1);
    hs_id model = add_model(f->store, wim, 1);
    hs_id job = add_job(f->store, wim, 10);
    hs_diagnosis_rec a = make_diagnosis(wim, model, "pump-3.csv", 1, 100);
    hs_diagnosis_rec b = make_diagnosis(wim, 0, "o'brien \"x\"; --", 2, 200);
    hs_diagnosis_rec c = make_diagnosis(other, model, "theirs", 3, 200);
    hs_diagnosis_rec got, *list = NULL;
    char key[HS_STORE_BLOB_KEY_MAX];
    size_t n = 0;

    a.job_id = job;
    a.summary_json = "{\"warnings\":[\"caf\xc3\xa9 \\\"q\\\"\"]}";
    b.rows = 0;
    assert_int_equal(hs_store_diagnosis_create(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_create(f->store, &c, &err), HS_OK);
    assert_true(a.id > 0 && b.id > a.id && c.id > b.id);

    assert_int_equal(hs_store_diagnosis_get(f->store, a.id, wim, 0, &got, &err),
                     HS_OK);
    assert_diagnoses_equal(&got, &a);
    hs_diagnosis_rec_free(&got);
    assert_null(got.summary_json);
    assert_int_equal(hs_store_diagnosis_get(f->store, b.id, wim, 0, &got, &err),
                     HS_OK);
    assert_diagnoses_equal(&got, &b);
    assert_int_equal(got.model_id, 0);
    assert_int_equal(got.job_id, 0);
    hs_diagnosis_rec_free(&got);

    /* Access: the owner and admins. */
    assert_int_equal(
        hs_store_diagnosis_get(f->store, a.id, other, 0, &got, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "diagnosis 1 does not exist");
    assert_null(got.summary_json);
    assert_int_equal(
        hs_store_diagnosis_get(f->store, a.id, admin, 1, &got, &err), HS_OK);
    assert_diagnoses_equal(&got, &a);
    hs_diagnosis_rec_free(&got);
    assert_int_equal(hs_store_diagnosis_list(f->store, wim, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_diagnoses_equal(&list[0], &b);
    assert_diagnoses_equal(&list[1], &a);
    hs_diagnosis_list_free(list, n);
    hs_diagnosis_list_free(NULL, 0);
    assert_int_equal(
        hs_store_diagnosis_list(f->store, admin, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 0);
    hs_diagnosis_list_free(list, n);
    assert_int_equal(
        hs_store_diagnosis_list(f->store, admin, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 3); /* newest first: by created_at, then id */
    assert_diagnoses_equal(&list[0], &c);
    assert_diagnoses_equal(&list[1], &b);
    assert_diagnoses_equal(&list[2], &a);
    hs_diagnosis_list_free(list, n);

    memset(key, 'x', sizeof key);
    assert_int_equal(
        hs_store_diagnosis_delete(f->store, a.id, other, 0, key, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(key, "");
    assert_int_equal(
        hs_store_diagnosis_delete(f->store, a.id, wim, 0, key, &err), HS_OK);
    assert_string_equal(key, a.blob_key);
    assert_int_equal(
        hs_store_diagnosis_delete(f->store, a.id, wim, 0, key, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_diagnosis_delete(f->store, c.id, admin, 1, key, &err), HS_OK);
    assert_string_equal(key, c.blob_key);
    assert_int_equal(
        hs_store_diagnosis_get(f->store, c.id, other, 0, &got, &err),
        HS_ERR_NOTFOUND);

    /* Conflicts, missing references and bad input. */
    {
        hs_diagnosis_rec bad = make_diagnosis(wim, 0, "again", 2, 300);
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_CONFLICT);
        assert_non_null(strstr(err.message, "already exists"));
        assert_int_equal(bad.id, 0);
        bad = make_diagnosis(4242, 0, "orphan", 10, 300);
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        bad = make_diagnosis(wim, 4242, "no model", 11, 300);
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        bad = make_diagnosis(wim, 0, "no job", 12, 300);
        bad.job_id = 4242;
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        bad = make_diagnosis(wim, 0, "", 13, 300);
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_diagnosis(wim, 0, "x", 14, 300);
        bad.rows = -1;
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_diagnosis(wim, 0, "x", 15, 300);
        bad.summary_json = "";
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_diagnosis(wim, 0, "x", 16, 300);
        memset(bad.blob_key, 'k', sizeof bad.blob_key);
        assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        assert_int_equal(
            hs_store_diagnosis_delete(f->store, b.id, wim, 0, NULL, &err),
            HS_ERR_INVALID);
    }
    assert_int_equal(hs_store_diagnosis_list(f->store, 0, 1, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1); /* only b is left */
    assert_int_equal(list[0].id, b.id);
    hs_diagnosis_list_free(list, n);
}

/* ---- references between records ---------------------------------------- */

/* What is deleted leaves its referrers in place, pointing at nothing (0). */
static void test_references(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id xia = add_user(f->store, "xia", 0);
    hs_id data = add_dataset(f->store, xia, 1);
    hs_job_rec train = make_job(xia, "train", 10), dj = make_job(xia, "dj", 11);
    hs_model_rec m = make_model(xia, "m", 1, 20), got_m;
    hs_diagnosis_rec d = make_diagnosis(xia, 0, "d", 1, 30), got_d;
    hs_job_rec got;
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    char key[HS_STORE_BLOB_KEY_MAX];
    size_t n = 0;

    train.dataset_id = data;
    assert_int_equal(hs_store_job_create(f->store, &train, &err), HS_OK);
    m.dataset_id = data;
    m.job_id = train.id;
    assert_int_equal(hs_store_model_create(f->store, &m, &err), HS_OK);
    claim(f->store, train.id, 40);
    assert_int_equal(hs_store_job_finish(f->store, train.id, HS_JOB_SUCCEEDED,
                                         NULL, m.id, 0, NULL, 50, &err),
                     HS_OK);
    snprintf(dj.type, sizeof dj.type, "diagnose");
    dj.model_id = m.id;
    assert_int_equal(hs_store_job_create(f->store, &dj, &err), HS_OK);
    d.model_id = m.id;
    d.job_id = dj.id;
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    claim(f->store, dj.id, 60);
    assert_int_equal(hs_store_job_finish(f->store, dj.id, HS_JOB_SUCCEEDED,
                                         NULL, 0, d.id, NULL, 70, &err),
                     HS_OK);

    /* Purging the dataset: the model and the job forget it. */
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, data, xia, 0, 100, &err), HS_OK);
    assert_int_equal(hs_store_dataset_purge(f->store, 200, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    free(keys);
    assert_int_equal(hs_store_model_get(f->store, m.id, xia, 0, &got_m, &err),
                     HS_OK);
    m.dataset_id = 0;
    assert_models_equal(&got_m, &m); /* everything else intact */
    hs_model_rec_free(&got_m);
    got = get_job(f->store, train.id);
    assert_int_equal(got.dataset_id, 0);
    assert_int_equal(got.model_id, m.id);
    hs_job_rec_free(&got);

    /* Deleting the model: diagnoses and jobs keep their rows. */
    assert_int_equal(hs_store_model_delete(f->store, m.id, xia, 0, key, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_diagnosis_get(f->store, d.id, xia, 0, &got_d, &err), HS_OK);
    d.model_id = 0;
    assert_diagnoses_equal(&got_d, &d);
    hs_diagnosis_rec_free(&got_d);
    got = get_job(f->store, train.id);
    assert_int_equal(got.model_id, 0);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    hs_job_rec_free(&got);
    got = get_job(f->store, dj.id);
    assert_int_equal(got.model_id, 0);
    assert_int_equal(got.diagnosis_id, d.id);
    hs_job_rec_free(&got);

    /* Deleting the diagnosis: its job forgets it. */
    assert_int_equal(
        hs_store_diagnosis_delete(f->store, d.id, xia, 0, key, &err), HS_OK);
    got = get_job(f->store, dj.id);
    assert_int_equal(got.diagnosis_id, 0);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    hs_job_rec_free(&got);
}

/* ---- transactions ------------------------------------------------------ */

static void test_transactions(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_user u = make_user("henry", 0, 1), got;
    int64_t count = -1;
    hs_notification *list = NULL;
    size_t n = 0;

    /* Rollback discards every kind of write made inside. */
    assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
    assert_int_equal(hs_store_user_create(f->store, &u, &err), HS_OK);
    assert_int_equal(
        hs_store_event_add(f->store, u.id, "login_failed", 5, NULL, &err),
        HS_OK);
    assert_int_equal(hs_store_notification_add(f->store, "account_locked", "m",
                                               u.id, 5, NULL, &err),
                     HS_OK);
    /* Reads inside see the transaction's own writes. */
    assert_int_equal(hs_store_user_count(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 1);
    /* Nesting is refused and leaves the open transaction alone. */
    assert_int_equal(hs_store_begin(f->store, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_rollback(f->store, &err), HS_OK);

    assert_int_equal(hs_store_user_count(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 0);
    assert_int_equal(hs_store_user_get_by_name(f->store, "henry", &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_notification_list(f->store, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    free(list);

    /* Commit keeps them. */
    assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
    assert_int_equal(hs_store_user_create(f->store, &u, &err), HS_OK);
    u.locked_until = 99;
    assert_int_equal(hs_store_user_update(f->store, &u, &err), HS_OK);
    assert_int_equal(hs_store_commit(f->store, &err), HS_OK);
    assert_int_equal(hs_store_user_get_by_name(f->store, "henry", &got, &err),
                     HS_OK);
    assert_users_equal(&got, &u);

    /* A failing operation inside does not end the transaction. */
    assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
    assert_int_equal(hs_store_user_create(f->store, &u, &err), HS_ERR_CONFLICT);
    assert_int_equal(u.id, 0); /* outputs are cleared on error */
    assert_int_equal(
        hs_store_event_add(f->store, got.id, "unlocked", 7, NULL, &err), HS_OK);
    assert_int_equal(hs_store_commit(f->store, &err), HS_OK);

    /* Ending a transaction that is not open is a caller error. */
    assert_int_equal(hs_store_commit(f->store, &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_rollback(f->store, &err), HS_ERR_INVALID);

    /* Closing with a transaction open rolls it back (checked after reopen). */
    {
        hs_user ivy = make_user("ivy", 0, 1);
        assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
        assert_int_equal(hs_store_user_create(f->store, &ivy, &err), HS_OK);
        hs_store_close(f->store);
        f->store = NULL;
        assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err), HS_OK);
        assert_int_equal(hs_store_user_get_by_name(f->store, "ivy", &got, &err),
                         HS_ERR_NOTFOUND);
    }
}

/* While one thread holds a transaction, another thread's write waits for
 * it instead of slipping into it (and being rolled back with it). */
typedef struct txn_peer {
    hs_store *store;
    hs_status status;
} txn_peer;

static void *txn_peer_main(void *arg)
{
    txn_peer *p = arg;
    hs_user u = make_user("peer", 0, 1);
    hs_error err = {0};
    p->status = hs_store_user_create(p->store, &u, &err);
    return NULL;
}

static void test_transaction_owned_by_thread(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_user mine = make_user("mine", 0, 1), got;
    txn_peer peer = {f->store, HS_ERR_INTERNAL};
    pthread_t t;

    assert_int_equal(hs_store_begin(f->store, &err), HS_OK);
    assert_int_equal(hs_store_user_create(f->store, &mine, &err), HS_OK);
    assert_int_equal(pthread_create(&t, NULL, txn_peer_main, &peer), 0);
    usleep(50 * 1000); /* give the peer time to reach the store */
    assert_int_equal(hs_store_rollback(f->store, &err), HS_OK);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(peer.status, HS_OK);
    assert_int_equal(hs_store_user_get_by_name(f->store, "peer", &got, &err),
                     HS_OK);
    assert_int_equal(hs_store_user_get_by_name(f->store, "mine", &got, &err),
                     HS_ERR_NOTFOUND);
}

/* ---- preferences ------------------------------------------------------- */

static void test_user_prefs(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    char *json = NULL;
    assert_int_equal(hs_store_user_prefs_get(f->store, ann, &json, &err),
                     HS_ERR_NOTFOUND);
    assert_null(json);
    assert_int_equal(hs_store_user_prefs_set(f->store, ann,
                                             "{\"lang\":\"zh-CN\"}", 10, &err),
                     HS_OK);
    assert_int_equal(hs_store_user_prefs_set(f->store, ann,
                                             "{\"lang\":\"en\",\"theme\":"
                                             "\"dark\"}",
                                             11, &err),
                     HS_OK); /* replaced, not added */
    assert_int_equal(hs_store_user_prefs_get(f->store, ann, &json, &err), HS_OK);
    assert_string_equal(json, "{\"lang\":\"en\",\"theme\":\"dark\"}");
    free(json);
    assert_int_equal(hs_store_user_prefs_set(f->store, 9999, "{}", 1, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_user_prefs_set(f->store, ann, "", 1, &err),
                     HS_ERR_INVALID);
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
                        "1,2,3,4");
    assert_int_equal(HS_STORE_SQLITE_SCHEMA_VERSION, 4);
    assert_string_equal(
        raw_query(f->path, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    assert_string_equal(raw_query(f->path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " type = 'table' AND name NOT LIKE"
                                  " 'sqlite_%' ORDER BY name",
                                  buf, sizeof buf),
                        "account_events,datasets,diagnoses,jobs,models,"
                        "notifications,schema_migrations,sessions,"
                        "user_prefs,users");
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
                        "1,2,3,4");
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
 * 2 and 3 at open and keeps its accounts. */
static void test_migration_from_v1(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id kim = add_user(f->store, "kim", 0);
    hs_dataset_rec d, got;
    hs_user u;
    char buf[256];

    downgrade(f, "DROP TABLE user_prefs;"
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
                        "datasets,datasets_owner_deleted,"
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
 * diagnoses) gets migration 3 at open and keeps its accounts and
 * datasets, which the new records can then refer to. */
static void test_migration_from_v2(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id yan = add_user(f->store, "yan", 0);
    hs_dataset_rec d = make_dataset(yan, "before-upgrade.csv", 1, 10), got_d;
    hs_model_rec m, got_m;
    hs_job_rec j, got_j;
    char buf[256];

    d.profile_json = "{\"columns\":[]}";
    assert_int_equal(hs_store_dataset_create(f->store, &d, &err), HS_OK);
    downgrade(f, "DROP TABLE user_prefs;"
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
                        "diagnoses,diagnoses_model,diagnoses_owner_created,"
                        "jobs,jobs_dataset,jobs_diagnosis,jobs_model,"
                        "jobs_owner_created,jobs_state,models,models_dataset,"
                        "models_owner_created,sqlite_autoindex_diagnoses_1,"
                        "sqlite_autoindex_models_1");
    /* The references as the schema declares them. */
    assert_string_equal(foreign_keys(f->path, "jobs", buf, sizeof buf),
                        "dataset_id>datasets:SET NULL,"
                        "diagnosis_id>diagnoses:SET NULL,"
                        "model_id>models:SET NULL,owner_id>users:CASCADE");
    assert_string_equal(foreign_keys(f->path, "models", buf, sizeof buf),
                        "dataset_id>datasets:SET NULL,job_id>jobs:SET NULL,"
                        "owner_id>users:CASCADE");
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
    assert_int_equal(hs_store_open("postgresql://bob:s3cret@db.example/"
                                   "healer",
                                   &other, &err),
                     HS_ERR_INVALID);
    assert_null(other);
    assert_string_equal(err.message,
                        "store URL scheme 'postgresql' is not supported by "
                        "this build; it supports sqlite:PATH");
    assert_int_equal(hs_store_open("mysql:x", &other, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "'mysql'"));

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

/* ---- concurrency ------------------------------------------------------- */

typedef struct worker {
    hs_store *store;
    int index;
    int iterations;
    int failures; /* operations that did not return HS_OK */
    hs_error last_error;
} worker;

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->iterations; i++) {
        char name[64];
        hs_user u;
        hs_session s;
        hs_error err = {0};
        int use_txn = i % 4 == 0;

        snprintf(name, sizeof name, "w%d-u%d", w->index, i);
        u = make_user(name, i % 2, 1000 + i);
        if (use_txn && hs_store_begin(w->store, &err) != HS_OK)
            goto failed;
        if (hs_store_user_create(w->store, &u, &err) != HS_OK)
            goto failed;
        s = make_session(u.id, (unsigned)(w->index * 100000 + i), 5000 + i);
        if (hs_store_session_create(w->store, &s, &err) != HS_OK)
            goto failed;
        if (hs_store_event_add(w->store, u.id, "login_failed", 2000 + i, NULL,
                               &err) != HS_OK)
            goto failed;
        if (use_txn && hs_store_commit(w->store, &err) != HS_OK)
            goto failed;
        continue;
    failed:
        w->failures++;
        w->last_error = err;
        if (use_txn) {
            hs_error ignored;
            (void)hs_store_rollback(w->store, &ignored);
        }
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    fixture *f = *state;
    worker workers[N_THREADS];
    pthread_t threads[N_THREADS];
    const int iterations = tu_quick() ? 25 : 100;
    hs_error err = {0};
    hs_account_event *events = NULL;
    int64_t count = -1;
    size_t n = 0;

    for (int t = 0; t < N_THREADS; t++) {
        memset(&workers[t], 0, sizeof workers[t]);
        workers[t].store = f->store;
        workers[t].index = t;
        workers[t].iterations = iterations;
        assert_int_equal(
            pthread_create(&threads[t], NULL, worker_main, &workers[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        if (workers[t].failures)
            fail_msg("thread %d: %d failures, last: %s", t, workers[t].failures,
                     workers[t].last_error.message);
    }

    assert_int_equal(hs_store_user_count(f->store, &count, &err), HS_OK);
    assert_int_equal(count, N_THREADS * iterations);
    assert_int_equal(hs_store_user_count_admins(f->store, &count, &err), HS_OK);
    assert_int_equal(count, N_THREADS * (iterations / 2));
    assert_int_equal(hs_store_event_list(f->store, 0, &events, &n, &err),
                     HS_OK);
    assert_int_equal(n, (size_t)(N_THREADS * iterations));
    free(events);

    for (int t = 0; t < N_THREADS; t++) {
        for (int i = 0; i < iterations; i++) {
            char name[64];
            hs_user want, got;
            hs_session ws, gs;
            int64_t *times = NULL;
            snprintf(name, sizeof name, "w%d-u%d", t, i);
            want = make_user(name, i % 2, 1000 + i);
            assert_int_equal(
                hs_store_user_get_by_name(f->store, name, &got, &err), HS_OK);
            want.id = got.id;
            assert_users_equal(&got, &want);

            ws = make_session(got.id, (unsigned)(t * 100000 + i), 5000 + i);
            assert_int_equal(hs_store_session_get_by_token_hash(
                                 f->store, ws.token_hash, &gs, &err),
                             HS_OK);
            assert_int_equal(gs.user_id, got.id);
            assert_int_equal(gs.expires_at, ws.expires_at);
            assert_int_equal(gs.remember, ws.remember);

            assert_int_equal(hs_store_login_failures_since(f->store, got.id, 0,
                                                           &times, &n, &err),
                             HS_OK);
            assert_int_equal(n, 1);
            assert_int_equal(times[0], 2000 + i);
            free(times);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_users, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notifications, setup, teardown),
        cmocka_unit_test_setup_teardown(test_datasets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dataset_trash_restore_purge, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_dataset_profile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_models, setup, teardown),
        cmocka_unit_test_setup_teardown(test_model_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_access, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_claim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_claim_concurrent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_job_progress_finish, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_job_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_requeue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_recover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_recover_atomic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_job_counts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_diagnoses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_references, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_owned_by_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_user_prefs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v2, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_urls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
