/* store_contract.c - the store interface's contract as one test suite
 * (see store_contract.h): what store.h promises, checked from the outside
 * on any backend, which the suite knows only by the function that opens a
 * fresh, empty store. SQLite runs the same tests over every VFS; we run
 * these over every store backend.
 *
 * Covered: users, account events, sessions, notifications, preferences,
 * datasets (trash, restore, purge), models, jobs and diagnoses round-trip
 * exactly (NAN metrics and NULL JSON included); a dataset, model, job or
 * diagnosis is visible only to its owner and admins; "not found" and "already
 * exists" come back as HS_ERR_NOTFOUND / HS_ERR_CONFLICT with the documented
 * messages; lists are in their documented order; the job queue follows its
 * state and lease rules (claim, progress, renew, finish, requeue, recover,
 * cancel, counts): concurrent claimers never share a job, a worker can write
 * only to the jobs leased to it, and recover takes back only expired leases; a
 * training job's attempts are recorded only by its worker, read back exactly
 * under the access rule, and forgotten when the job goes back to the queue; the
 * labels of a diagnosis's rows are set, replaced and cleared all or nothing
 * under the access rule and the documented bounds, read back by row with their
 * labeller and byte for byte, and go with the diagnosis; login back-off counters count up, start
 * over and purge, unlock links are used once, revoked by a newer one and
 * purged, and a password change can end a user's other sessions; a diagnosis
 * keeps its input's key and a model its parent (0 once deleted) and feedback;
 * deleting a record leaves its referrers pointing at 0; the outbox of alerts
 * keeps messages exactly, claims each due one once (also under concurrent
 * claimers) and holds it, counts attempts, gives up and purges only what is
 * done; transactions commit, roll back without a trace, refuse nesting and
 * belong to their thread; many threads writing through one store at once lose
 * or mangle nothing; the job queue's news (version 14): wait_queued wakes
 * within 100 ms of a job queued through another handle, for a requeue and a
 * recover too, and not for a job created running or a rolled-back create,
 * or returns at once with none on a backend without notifications, and
 * claimers on separate handles mixing the plain and the fair claim never
 * share a job; the audit log appends and lists (filters, paging) and the
 * refusal tallies add up, aggregate by time, route and source and prune, as do
 * the account events by time (and an older backend refuses all of it cleanly);
 * the shared settings' first put_new wins, also between threads, and
 * wait_queued keeps its bounds (version 14); and the ops table is complete.
 *
 * What is not here: anything about how a backend stores things (files,
 * schema versions, migrations, SQL) - its own test driver checks that.
 */
#include <fnmatch.h>
#include <math.h>
#include <pthread.h>

#include "testutil.h"

#include "healer/clock.h"
#include "store/store.h"
#include "store_contract.h"
#include "store_fixtures.h"

#define N_THREADS 8 /* the concurrency tests' threads */

/* Two workers of the job queue, and the lease they take. */
#define WORKER_A "host-a:100:0000000a"
#define WORKER_B "host-b:200:0000000b"
#define LEASE 30

/* The suite's only input; set by hs_store_contract_run (so the suite is
 * not reentrant, which a test program never needs). */
static hs_store_fresh_fn open_fresh_store;
/* What the driver told of its backend (hs_store_contract_set_extras). */
static hs_store_contract_extras extras;

typedef struct fixture {
    hs_store *store; /* fresh and empty for each test */
} fixture;

/* The fixture's store as a backend of an older interface would be: its
 * tables copied into *o with `version`; the caller then clears the
 * members that version lacks (in o->ops, or o->jobs for the jobs' own). */
typedef struct older_backend {
    hs_store_ops ops;
    hs_store_job_ops jobs;
    hs_store store;
} older_backend;

static hs_store *as_older(const fixture *f, unsigned version, older_backend *o)
{
    o->ops = *f->store->ops;
    o->jobs = *f->store->ops->jobs;
    o->ops.version = version;
    o->ops.jobs = &o->jobs;
    o->store = (hs_store){&o->ops, f->store->impl};
    return &o->store;
}

/* ---- helpers ----------------------------------------------------------- */

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hs_error err = {0};
    assert_non_null(f);
    if (open_fresh_store(&f->store, &err) != HS_OK)
        fail_msg("cannot open a fresh store: %s", err.message);
    assert_non_null(f->store);
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
    snprintf(bob.email, sizeof bob.email, "Bob.Ops@example.com");
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

    /* One notification by id, as it is now. */
    hs_notification one;
    assert_int_equal(hs_store_notification_get(f->store, second, &one, &err),
                     HS_OK);
    assert_int_equal(one.id, second);
    assert_int_equal(one.read, 1);
    assert_string_equal(one.kind, "system");
    assert_int_equal(hs_store_notification_get(f->store, third, &one, &err),
                     HS_OK);
    assert_int_equal(one.read, 0);
    assert_int_equal(one.user_id, gina);
    assert_int_equal(hs_store_notification_get(f->store, 9999, &one, &err),
                     HS_ERR_NOTFOUND);

    assert_int_equal(
        hs_store_notification_add(f->store, "x", "y", 4242, 1, NULL, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_notification_add(f->store, "x", "", 0, 1, NULL, &err),
        HS_ERR_INVALID);
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
    assert_int_equal(hs_store_user_prefs_get(f->store, ann, &json, &err),
                     HS_OK);
    assert_string_equal(json, "{\"lang\":\"en\",\"theme\":\"dark\"}");
    free(json);
    assert_int_equal(hs_store_user_prefs_set(f->store, 9999, "{}", 1, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_user_prefs_set(f->store, ann, "", 1, &err),
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

/* A transaction body: purges what was trashed before 9000, which must be
 * the one dataset whose blob key is `arg`, then gives up. */
static hs_status purge_then_fail(hs_store *store, void *arg, hs_error *err)
{
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_dataset_purge(store, 9000, &keys, &n, err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0], (const char *)arg);
    free(keys);
    return hs_fail(err, HS_ERR_CONFLICT, "changed my mind");
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
    assert_int_equal(
        hs_store_transact(f->store, purge_then_fail, new_trash.blob_key, &err),
        HS_ERR_CONFLICT);
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
    assert_int_equal(hs_store_model_get(f->store, 9999, lena, 1, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "model 9999 does not exist");
    assert_null(got.summary_json);

    /* Newest first: by created_at, then id. */
    assert_int_equal(hs_store_model_list(f->store, lena, 0, 0, &list, &n, &err),
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
        assert_int_equal(hs_store_model_list(f->store, lena, 0, 0, NULL, &n, &err),
                         HS_ERR_INVALID);
        assert_int_equal(
            hs_store_model_delete(f->store, a.id, lena, 0, NULL, &err),
            HS_ERR_INVALID);
    }
    assert_int_equal(hs_store_model_list(f->store, 0, 1, 0, &list, &n, &err),
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
    assert_int_equal(hs_store_model_list(f->store, other, 0, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_models_equal(&list[0], &theirs);
    hs_model_list_free(list, n);
    assert_int_equal(hs_store_model_list(f->store, admin, 0, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    hs_model_list_free(list, n);
    assert_int_equal(hs_store_model_list(f->store, admin, 1, 0, &list, &n, &err),
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
    assert_int_equal(hs_store_model_list(f->store, admin, 1, 0, &list, &n, &err),
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
    assert_string_equal(got.result_kind, "");
    assert_int_equal(got.result_id, 0);
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);

    /* Every field set (a job as it might be after a crash). */
    snprintf(full.type, sizeof full.type, "diagnose");
    full.state = HS_JOB_FAILED;
    full.dataset_id = data;
    full.model_id = model;
    snprintf(full.result_kind, sizeof full.result_kind, HS_RESULT_DIAGNOSIS);
    full.result_id = diag.id;
    snprintf(full.worker_id, sizeof full.worker_id, WORKER_A);
    full.lease_expires_at = 240;
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

        /* A result id needs a kind; kinds, worker ids and ids must fit. */
        bad = make_job(olga, "x", 300);
        bad.result_id = diag.id;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        memset(bad.result_kind, 'k', sizeof bad.result_kind); /* no NUL */
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        snprintf(bad.result_kind, sizeof bad.result_kind, HS_RESULT_MODEL);
        bad.result_id = -1;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        memset(bad.worker_id, 'w', sizeof bad.worker_id); /* no NUL */
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_job(olga, "x", 300);
        bad.lease_expires_at = -1;
        assert_int_equal(hs_store_job_create(f->store, &bad, &err),
                         HS_ERR_INVALID);

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
/* A worker takes only jobs of the types it can run, oldest first; the
 * others wait for a worker that can (another healer sharing the queue). */
static void test_job_claim_by_type(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "tia", 0);
    static const char *const KINDS[] = {"train", "rca", "diagnose", "rca"};
    hs_id ids[4];
    for (int i = 0; i < 4; i++) {
        hs_job_rec j = make_job(owner, "typed", 10 + i);
        snprintf(j.type, sizeof j.type, "%s", KINDS[i]);
        assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
        ids[i] = j.id;
    }
    static const char *const DIAGNOSE[] = {"diagnose", NULL};
    static const char *const RCA_TRAIN[] = {"rca", "train", NULL};
    static const char *const NOTHING[] = {"nothing", NULL};
    static const char *const BAD[] = {"Train; --", NULL};
    hs_job_rec got;
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, DIAGNOSE, 100,
                                             LEASE, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, ids[2]); /* the older train job is not taken */
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, DIAGNOSE, 100,
                                             LEASE, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, NOTHING, 100,
                                             LEASE, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, BAD, 100, LEASE,
                                             &got, &err),
                     HS_ERR_INVALID);
    for (int want = 0; want < 4; want++) {
        if (want == 2)
            continue;
        assert_int_equal(hs_store_job_claim_next(f->store, WORKER_B, RCA_TRAIN,
                                                 100, LEASE, &got, &err),
                         HS_OK);
        assert_int_equal(got.id, ids[want]);
        hs_job_rec_free(&got);
    }
    assert_int_equal(job_state(f->store, ids[0]), HS_JOB_RUNNING);
}

static void test_job_claim(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id pia = add_user(f->store, "pia", 0);
    hs_job_rec j, got;
    hs_id first, running, cancelled, fourth, fifth;
    int64_t counts[HS_JOB_STATES];

    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_A, NULL, 10, LEASE, &got, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "no job is queued");
    assert_null(got.params_json);

    first = add_job(f->store, pia, 300);
    j = make_job(pia, "running", 100);
    j.state = HS_JOB_RUNNING;
    j.started_at = 150;
    snprintf(j.worker_id, sizeof j.worker_id, WORKER_B);
    j.lease_expires_at = 180;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    running = j.id;
    j = make_job(pia, "cancelled", 100);
    j.state = HS_JOB_CANCELLED;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    cancelled = j.id;
    fourth = add_job(f->store, pia, 200);
    fifth = add_job(f->store, pia, 50); /* oldest by time, last in the queue */

    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_A, NULL, 1000, LEASE, &got, &err),
        HS_OK);
    assert_int_equal(got.id, first);
    assert_int_equal(got.state, HS_JOB_RUNNING);
    assert_int_equal(got.started_at, 1000);
    assert_string_equal(got.worker_id, WORKER_A);
    assert_int_equal(got.lease_expires_at, 1000 + LEASE);
    assert_string_equal(got.params_json, "{\"rounds\":100}");
    {
        /* What claim handed back is what is stored. */
        hs_job_rec stored = get_job(f->store, first);
        assert_jobs_equal(&stored, &got);
        hs_job_rec_free(&stored);
    }
    hs_job_rec_free(&got);

    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_B, NULL, 1001, 5, &got, &err),
        HS_OK);
    assert_int_equal(got.id, fourth);
    assert_string_equal(got.worker_id, WORKER_B);
    assert_int_equal(got.lease_expires_at, 1006);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, NULL, 1002,
                                             HS_STORE_LEASE_MAX, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, fifth);
    assert_int_equal(got.started_at, 1002);
    assert_int_equal(got.lease_expires_at, 1002 + HS_STORE_LEASE_MAX);
    hs_job_rec_free(&got);
    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_A, NULL, 1003, LEASE, &got, &err),
        HS_ERR_NOTFOUND);

    /* The others were left alone. */
    got = get_job(f->store, running);
    assert_int_equal(got.started_at, 150);
    assert_string_equal(got.worker_id, WORKER_B);
    assert_int_equal(got.lease_expires_at, 180);
    hs_job_rec_free(&got);
    assert_int_equal(job_state(f->store, cancelled), HS_JOB_CANCELLED);

    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 0);
    assert_int_equal(counts[HS_JOB_RUNNING], 4);
    assert_int_equal(counts[HS_JOB_CANCELLED], 1);
    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_A, NULL, 1, LEASE, NULL, &err),
        HS_ERR_INVALID);
    /* A worker id and a lease in range, or nothing is claimed. */
    add_job(f->store, pia, 400);
    {
        char long_id[HS_WORKER_ID_MAX + 1];
        memset(long_id, 'w', HS_WORKER_ID_MAX);
        long_id[HS_WORKER_ID_MAX] = '\0';
        assert_int_equal(
            hs_store_job_claim_next(f->store, "", NULL, 1, LEASE, &got, &err),
            HS_ERR_INVALID);
        assert_int_equal(
            hs_store_job_claim_next(f->store, NULL, NULL, 1, LEASE, &got, &err),
            HS_ERR_INVALID);
        assert_int_equal(
            hs_store_job_claim_next(f->store, long_id, NULL, 1, LEASE, &got, &err),
            HS_ERR_INVALID);
        assert_int_equal(
            hs_store_job_claim_next(f->store, WORKER_A, NULL, 1, 0, &got, &err),
            HS_ERR_INVALID);
        assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, NULL, 1,
                                                 HS_STORE_LEASE_MAX + 1, &got,
                                                 &err),
                         HS_ERR_INVALID);
    }
    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 1);
}

#define CLAIM_JOBS 200

typedef struct claimer {
    hs_store *store;
    pthread_barrier_t *start;
    char worker_id[HS_WORKER_ID_MAX]; /* one worker per thread */
    int fair;                         /* claims with claim_next_fair */
    hs_id claimed[CLAIM_JOBS];
    size_t n;
    int failures; /* anything but HS_OK or the final HS_ERR_NOTFOUND */
    hs_error last_error;
} claimer;

/* Claims until the queue is empty, and progresses and finishes each job at
 * once as its worker, so that claims race with other writes too. */
static void *claimer_main(void *arg)
{
    claimer *c = arg;
    hs_error err = {0};
    hs_job_rec j;
    hs_status hs;

    pthread_barrier_wait(c->start);
    while ((hs = (c->fair ? hs_store_job_claim_next_fair
                          : hs_store_job_claim_next)(c->store, c->worker_id,
                                                     NULL, 5000, LEASE, &j,
                                                     &err)) == HS_OK) {
        int cancel = 1;
        if (j.state != HS_JOB_RUNNING || c->n == CLAIM_JOBS ||
            strcmp(j.worker_id, c->worker_id) != 0)
            c->failures++;
        else
            c->claimed[c->n++] = j.id;
        if (hs_store_job_progress(c->store, j.id, c->worker_id, 5000, LEASE,
                                  0.5, 1, 2, NULL, &cancel, &err) != HS_OK ||
            cancel != 0 ||
            hs_store_job_finish(c->store, j.id, c->worker_id, HS_JOB_SUCCEEDED,
                                NULL, NULL, 0, NULL, 5001, &err) != HS_OK) {
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
        snprintf(claimers[t].worker_id, sizeof claimers[t].worker_id,
                 "claimer-%d", t);
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

/* Claims the next job as WORKER_A, checks it is `want`, and frees the
 * record. */
static void claim(hs_store *store, hs_id want, int64_t now)
{
    hs_error err = {0};
    hs_job_rec j;
    assert_int_equal(
        hs_store_job_claim_next(store, WORKER_A, NULL, now, LEASE, &j, &err), HS_OK);
    assert_int_equal(j.id, want);
    hs_job_rec_free(&j);
}

/* Progress and finish as the job's worker; nothing of either for a job
 * that is not running on that worker. */
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

    /* Progress of a running job, whether a cancel is wanted, and a lease
     * renewed from `now`. */
    assert_int_equal(hs_store_job_progress(f->store, train, WORKER_A, 1010,
                                           LEASE, 0.25, 3, 10,
                                           "{\"train\":[0.5]}", &cancel, &err),
                     HS_OK);
    assert_int_equal(cancel, 0);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 0.25);
    assert_int_equal(got.round, 3);
    assert_int_equal(got.rounds, 10);
    assert_string_equal(got.losses_json, "{\"train\":[0.5]}");
    assert_int_equal(got.lease_expires_at, 1010 + LEASE);
    assert_string_equal(got.worker_id, WORKER_A);
    hs_job_rec_free(&got);
    /* NULL losses leave them; progress is clamped to 0..1. */
    assert_int_equal(hs_store_job_progress(f->store, train, WORKER_A, 1020, 5,
                                           7.5, 4, 10, NULL, NULL, &err),
                     HS_OK);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 1);
    assert_int_equal(got.round, 4);
    assert_string_equal(got.losses_json, "{\"train\":[0.5]}");
    assert_int_equal(got.lease_expires_at, 1025);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_progress(f->store, train, WORKER_A, 1030,
                                           LEASE, NAN, 5, 10, "{}", NULL, &err),
                     HS_OK);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 0);
    assert_string_equal(got.losses_json, "{}");
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_progress(f->store, train, WORKER_A, 1040,
                                           LEASE, -3, 6, 10, NULL, NULL, &err),
                     HS_OK);
    got = get_job(f->store, train);
    assert_same_double(got.progress, 0);
    hs_job_rec_free(&got);

    /* A cancel request reaches the runner through progress. */
    assert_int_equal(
        hs_store_job_cancel(f->store, failing, rosa, 0, 1100, &st, &err),
        HS_OK);
    assert_int_equal(st, HS_JOB_RUNNING);
    assert_int_equal(hs_store_job_progress(f->store, failing, WORKER_A, 1100,
                                           LEASE, 0.5, 1, 2, NULL, &cancel,
                                           &err),
                     HS_OK);
    assert_int_equal(cancel, 1);

    /* Only running jobs make progress. */
    cancel = -1;
    assert_int_equal(hs_store_job_progress(f->store, queued, WORKER_A, 1100,
                                           LEASE, 0.5, 1, 2, NULL, &cancel,
                                           &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 3 is not running on this worker");
    assert_int_equal(cancel, 0);
    assert_int_equal(hs_store_job_progress(f->store, 9999, WORKER_A, 1100,
                                           LEASE, 0.5, 1, 2, NULL, NULL, &err),
                     HS_ERR_NOTFOUND);
    got = get_job(f->store, queued);
    assert_same_double(got.progress, 0); /* untouched */
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);
    /* A worker id and a lease in range. */
    assert_int_equal(hs_store_job_progress(f->store, train, "", 1100, LEASE,
                                           0.5, 1, 2, NULL, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_progress(f->store, train, WORKER_A, 1100, 0,
                                           0.5, 1, 2, NULL, NULL, &err),
                     HS_ERR_INVALID);

    /* Finishing: only in a final state, only a running job. */
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_QUEUED, NULL, NULL, 0, NULL,
                                         2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_RUNNING, NULL, NULL, 0, NULL,
                                         2000, &err),
                     HS_ERR_INVALID);
    memset(long_error, 'e', HS_MESSAGE_MAX);
    long_error[HS_MESSAGE_MAX] = '\0';
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_FAILED, long_error, NULL, 0,
                                         NULL, 2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_finish(f->store, queued, WORKER_A,
                                         HS_JOB_FAILED, "x", NULL, 0, NULL,
                                         2000, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 3 is not running on this worker");
    assert_int_equal(job_state(f->store, queued), HS_JOB_QUEUED);
    /* A result is a kind with an id; an id alone, or a bad kind, is not. */
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL, NULL, model,
                                         NULL, 2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         "a_kind_that_is_far_too_long_to_fit",
                                         model, NULL, 2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         HS_RESULT_MODEL, -1, NULL, 2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_finish(f->store, train, NULL,
                                         HS_JOB_SUCCEEDED, NULL, NULL, 0, NULL,
                                         2000, &err),
                     HS_ERR_INVALID);
    assert_int_equal(job_state(f->store, train), HS_JOB_RUNNING);

    /* Succeeded: progress 1, the result recorded, error "", lease gone. */
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         HS_RESULT_MODEL, model,
                                         "[{\"rounds\":10}]", 2000, &err),
                     HS_OK);
    got = get_job(f->store, train);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    assert_same_double(got.progress, 1);
    assert_string_equal(got.result_kind, HS_RESULT_MODEL);
    assert_int_equal(got.result_id, model);
    assert_int_equal(got.model_id, 0); /* a training has no input model */
    assert_string_equal(got.attempts_json, "[{\"rounds\":10}]");
    assert_string_equal(got.error, "");
    assert_int_equal(got.started_at, 1000);
    assert_int_equal(got.finished_at, 2000);
    assert_string_equal(got.losses_json, "{}"); /* kept */
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_finish(f->store, train, WORKER_A,
                                         HS_JOB_FAILED, "late", NULL, 0, NULL,
                                         2001, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_progress(f->store, train, WORKER_A, 2001,
                                           LEASE, 0.5, 1, 2, NULL, NULL, &err),
                     HS_ERR_NOTFOUND);

    /* Failed (or cancelled by its runner): progress as it was. */
    assert_int_equal(
        hs_store_job_finish(f->store, failing, WORKER_A, HS_JOB_CANCELLED,
                            "cancelled by the user", "", 0, NULL, 2100, &err),
        HS_OK);
    got = get_job(f->store, failing);
    assert_int_equal(got.state, HS_JOB_CANCELLED);
    assert_same_double(got.progress, 0.5);
    assert_string_equal(got.error, "cancelled by the user");
    assert_int_equal(got.model_id, 0);
    assert_string_equal(got.result_kind, "");
    assert_int_equal(got.result_id, 0);
    assert_null(got.attempts_json);
    assert_int_equal(got.finished_at, 2100);
    hs_job_rec_free(&got);

    /* A diagnose job keeps the model it used next to its result. */
    claim(f->store, queued, 3000);
    claim(f->store, j.id, 3001);
    assert_int_equal(hs_store_diagnosis_create(f->store, &diag, &err), HS_OK);
    assert_int_equal(
        hs_store_job_finish(f->store, j.id, WORKER_A, HS_JOB_SUCCEEDED, "",
                            HS_RESULT_DIAGNOSIS, diag.id, NULL, 3100, &err),
        HS_OK);
    got = get_job(f->store, j.id);
    assert_int_equal(got.model_id, model);
    assert_string_equal(got.result_kind, HS_RESULT_DIAGNOSIS);
    assert_int_equal(got.result_id, diag.id);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_finish(f->store, queued, WORKER_A,
                                         HS_JOB_FAILED, "out of memory", NULL,
                                         0, "[]", 3200, &err),
                     HS_OK);
    got = get_job(f->store, queued);
    assert_int_equal(got.state, HS_JOB_FAILED);
    assert_string_equal(got.error, "out of memory");
    assert_string_equal(got.attempts_json, "[]");
    hs_job_rec_free(&got);
}

/* Result references: for the kinds the store keeps, an id that names no
 * record is stored as 0 (what deleting the record would leave); other
 * kinds are kept as given. */
static void test_job_results(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id uma = add_user(f->store, "uma", 0);
    hs_id model = add_model(f->store, uma, 1);
    hs_id a = add_job(f->store, uma, 10), b = add_job(f->store, uma, 11);
    hs_id c = add_job(f->store, uma, 12), d = add_job(f->store, uma, 13);
    hs_job_rec j = make_job(uma, "restored", 14), got;

    claim(f->store, a, 100);
    claim(f->store, b, 100);
    claim(f->store, c, 100);
    claim(f->store, d, 100);
    assert_int_equal(
        hs_store_job_finish(f->store, a, WORKER_A, HS_JOB_SUCCEEDED, NULL,
                            HS_RESULT_MODEL, 4242, NULL, 200, &err),
        HS_OK);
    assert_int_equal(
        hs_store_job_finish(f->store, b, WORKER_A, HS_JOB_SUCCEEDED, NULL,
                            HS_RESULT_DIAGNOSIS, 4242, NULL, 200, &err),
        HS_OK);
    assert_int_equal(hs_store_job_finish(f->store, c, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL, "rca", 77,
                                         NULL, 200, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_finish(f->store, d, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         HS_RESULT_MODEL, 0, NULL, 200, &err),
                     HS_OK);
    got = get_job(f->store, a);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    assert_string_equal(got.result_kind, HS_RESULT_MODEL);
    assert_int_equal(got.result_id, 0);
    hs_job_rec_free(&got);
    got = get_job(f->store, b);
    assert_string_equal(got.result_kind, HS_RESULT_DIAGNOSIS);
    assert_int_equal(got.result_id, 0);
    hs_job_rec_free(&got);
    got = get_job(f->store, c);
    assert_string_equal(got.result_kind, "rca");
    assert_int_equal(got.result_id, 77);
    hs_job_rec_free(&got);
    got = get_job(f->store, d);
    assert_string_equal(got.result_kind, HS_RESULT_MODEL);
    assert_int_equal(got.result_id, 0);
    hs_job_rec_free(&got);

    /* The same rule when a job is created with its result. */
    j.state = HS_JOB_SUCCEEDED;
    snprintf(j.result_kind, sizeof j.result_kind, HS_RESULT_MODEL);
    j.result_id = 4242;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    got = get_job(f->store, j.id);
    assert_int_equal(got.result_id, 0);
    hs_job_rec_free(&got);
    j = make_job(uma, "restored", 15);
    j.state = HS_JOB_SUCCEEDED;
    snprintf(j.result_kind, sizeof j.result_kind, HS_RESULT_MODEL);
    j.result_id = model;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    got = get_job(f->store, j.id);
    assert_jobs_equal(&got, &j);
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
    assert_int_equal(hs_store_job_finish(f->store, done, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL, NULL, 0, NULL,
                                         600, &err),
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

    /* Running: only asked to stop (the lease stays its worker's); again is
     * fine. */
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
    assert_string_equal(got.worker_id, WORKER_A);
    assert_int_equal(got.lease_expires_at, 500 + LEASE);
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
    assert_int_equal(hs_store_job_progress(f->store, j.id, WORKER_A, 510, LEASE,
                                           0.5, 5, 10, "{\"train\":[1]}", NULL,
                                           &err),
                     HS_OK);

    /* Only by its worker. */
    assert_int_equal(hs_store_job_requeue(f->store, j.id, WORKER_B, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(job_state(f->store, j.id), HS_JOB_RUNNING);
    assert_int_equal(hs_store_job_requeue(f->store, j.id, "", &err),
                     HS_ERR_INVALID);

    /* Back in the queue as if it had never started, ahead of `other`. */
    assert_int_equal(hs_store_job_requeue(f->store, j.id, WORKER_A, &err),
                     HS_OK);
    got = get_job(f->store, j.id);
    assert_int_equal(got.state, HS_JOB_QUEUED);
    assert_same_double(got.progress, 0);
    assert_int_equal(got.round, 0);
    assert_int_equal(got.rounds, 0);
    assert_null(got.losses_json);
    assert_int_equal(got.started_at, 0);
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    assert_int_equal(got.restarts, 1); /* unchanged */
    assert_string_equal(got.attempts_json, "[{\"error\":\"first\"}]");
    assert_string_equal(got.params_json, "{\"rounds\":100}");
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_requeue(f->store, j.id, WORKER_A, &err),
                     HS_ERR_NOTFOUND); /* no longer running */
    assert_non_null(strstr(err.message, "is not running on this worker"));
    claim(f->store, j.id, 600);

    /* A job asked to stop stops instead. */
    assert_int_equal(
        hs_store_job_cancel(f->store, j.id, tara, 0, 650, &st, &err), HS_OK);
    assert_int_equal(hs_store_job_requeue(f->store, j.id, WORKER_A, &err),
                     HS_OK);
    got = get_job(f->store, j.id);
    assert_int_equal(got.state, HS_JOB_CANCELLED);
    assert_string_equal(got.error, "cancelled by the user");
    assert_int_equal(got.finished_at, 600); /* no clock: its start */
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);

    assert_int_equal(job_state(f->store, other), HS_JOB_QUEUED);
    assert_int_equal(hs_store_job_requeue(f->store, other, WORKER_A, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_requeue(f->store, 9999, WORKER_A, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(job_state(f->store, other), HS_JOB_QUEUED);
}

/* Two workers, one queue: neither can take or touch the other's job while
 * its lease runs; once the lease has expired it is taken back and claimed
 * by the other, and the first can no longer write to it. */
static void test_job_leases(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id vic = add_user(f->store, "vic", 0);
    hs_id id = add_job(f->store, vic, 10);
    hs_job_rec got, none;
    int64_t requeued = -1, failed = -1, renewed = -1;
    int cancel = -1;

    claim(f->store, id, 1000); /* A, lease until 1030 */

    /* B: nothing to claim, nothing to take back, nothing of A's to write. */
    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_B, NULL, 1001, LEASE, &none, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_job_recover(f->store, 1029, 1, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued + failed, 0);
    assert_int_equal(hs_store_job_progress(f->store, id, WORKER_B, 1002, LEASE,
                                           0.9, 9, 10, "{}", &cancel, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 1 is not running on this worker");
    assert_int_equal(cancel, 0);
    assert_int_equal(hs_store_job_finish(f->store, id, WORKER_B, HS_JOB_FAILED,
                                         "stolen", NULL, 0, NULL, 1003, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 1 is not running on this worker");
    assert_int_equal(hs_store_job_requeue(f->store, id, WORKER_B, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 1 is not running on this worker");
    assert_int_equal(hs_store_job_renew_leases(f->store, WORKER_B, 1004, LEASE,
                                               &renewed, &err),
                     HS_OK);
    assert_int_equal(renewed, 0);
    got = get_job(f->store, id);
    assert_int_equal(got.state, HS_JOB_RUNNING);
    assert_string_equal(got.worker_id, WORKER_A);
    assert_int_equal(got.lease_expires_at, 1030);
    assert_same_double(got.progress, 0);
    assert_null(got.losses_json);
    hs_job_rec_free(&got);

    /* A's heartbeat moves the lease; recover honours the new one. */
    assert_int_equal(hs_store_job_renew_leases(f->store, WORKER_A, 1020, LEASE,
                                               &renewed, &err),
                     HS_OK);
    assert_int_equal(renewed, 1);
    assert_int_equal(
        hs_store_job_recover(f->store, 1049, 1, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued + failed, 0);
    assert_int_equal(job_state(f->store, id), HS_JOB_RUNNING);

    /* A goes quiet; at lease_expires_at the job is B's to take back. */
    assert_int_equal(
        hs_store_job_recover(f->store, 1050, 1, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued, 1);
    assert_int_equal(failed, 0);
    got = get_job(f->store, id);
    assert_int_equal(got.state, HS_JOB_QUEUED);
    assert_int_equal(got.restarts, 1);
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);
    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_B, NULL, 1051, LEASE, &got, &err),
        HS_OK);
    assert_int_equal(got.id, id);
    assert_string_equal(got.worker_id, WORKER_B);
    hs_job_rec_free(&got);

    /* A's late writes fail and change nothing. */
    assert_int_equal(hs_store_job_progress(f->store, id, WORKER_A, 1052, LEASE,
                                           0.9, 9, 10, "{}", NULL, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_finish(f->store, id, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         HS_RESULT_MODEL, 0, NULL, 1053, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_requeue(f->store, id, WORKER_A, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_renew_leases(f->store, WORKER_A, 1054, LEASE,
                                               &renewed, &err),
                     HS_OK);
    assert_int_equal(renewed, 0);
    got = get_job(f->store, id);
    assert_int_equal(got.state, HS_JOB_RUNNING);
    assert_string_equal(got.worker_id, WORKER_B);
    assert_int_equal(got.lease_expires_at, 1051 + LEASE);
    assert_same_double(got.progress, 0);
    hs_job_rec_free(&got);

    /* B finishes it. */
    assert_int_equal(hs_store_job_finish(f->store, id, WORKER_B,
                                         HS_JOB_SUCCEEDED, NULL, NULL, 0, NULL,
                                         1060, &err),
                     HS_OK);
    assert_int_equal(job_state(f->store, id), HS_JOB_SUCCEEDED);
}

static void test_job_renew_leases(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id wes = add_user(f->store, "wes", 0);
    hs_id a1 = add_job(f->store, wes, 1), a2 = add_job(f->store, wes, 2);
    hs_id b1 = add_job(f->store, wes, 3), done = add_job(f->store, wes, 4);
    hs_id queued = add_job(f->store, wes, 5);
    hs_job_rec got;
    int64_t renewed = -1;

    claim(f->store, a1, 100);
    claim(f->store, a2, 110);
    assert_int_equal(
        hs_store_job_claim_next(f->store, WORKER_B, NULL, 120, LEASE, &got, &err),
        HS_OK);
    assert_int_equal(got.id, b1);
    hs_job_rec_free(&got);
    claim(f->store, done, 130);
    assert_int_equal(hs_store_job_finish(f->store, done, WORKER_A,
                                         HS_JOB_FAILED, "x", NULL, 0, NULL, 140,
                                         &err),
                     HS_OK);

    /* Every running job of the worker, and nothing else. */
    assert_int_equal(
        hs_store_job_renew_leases(f->store, WORKER_A, 500, 60, &renewed, &err),
        HS_OK);
    assert_int_equal(renewed, 2);
    got = get_job(f->store, a1);
    assert_int_equal(got.lease_expires_at, 560);
    hs_job_rec_free(&got);
    got = get_job(f->store, a2);
    assert_int_equal(got.lease_expires_at, 560);
    hs_job_rec_free(&got);
    got = get_job(f->store, b1);
    assert_int_equal(got.lease_expires_at, 120 + LEASE);
    hs_job_rec_free(&got);
    got = get_job(f->store, done);
    assert_int_equal(got.lease_expires_at, 0);
    assert_string_equal(got.worker_id, "");
    hs_job_rec_free(&got);
    got = get_job(f->store, queued);
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);

    assert_int_equal(
        hs_store_job_renew_leases(f->store, "nobody", 500, LEASE, NULL, &err),
        HS_OK);
    assert_int_equal(
        hs_store_job_renew_leases(f->store, "", 500, LEASE, &renewed, &err),
        HS_ERR_INVALID);
    assert_int_equal(renewed, 0);
    assert_int_equal(hs_store_job_renew_leases(f->store, WORKER_A, 500,
                                               HS_STORE_LEASE_MAX + 1, NULL,
                                               &err),
                     HS_ERR_INVALID);
}

/* A running job as a lost worker leaves it: its lease ran out at 200. */
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
    snprintf(j.worker_id, sizeof j.worker_id, "lost-worker");
    j.lease_expires_at = 200;
    assert_int_equal(hs_store_job_create(store, &j, &err), HS_OK);
    return j.id;
}

/* A transaction body: recover (the arguments in *arg) - then, when
 * arg->fail, give up. */
typedef struct recover_txn {
    int64_t now, max_restarts, requeued, failed;
    hs_id job;
    int fail;
} recover_txn;

static hs_status recover_in_txn(hs_store *store, void *arg, hs_error *err)
{
    recover_txn *t = arg;
    hs_status hs = hs_store_job_recover(store, t->now, t->max_restarts,
                                        &t->requeued, &t->failed, err);
    assert_int_equal(hs, HS_OK);
    /* Inside, it has happened. */
    assert_int_equal(job_state(store, t->job), HS_JOB_FAILED);
    return t->fail ? hs_fail(err, HS_ERR_CONFLICT, "changed my mind") : HS_OK;
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
    hs_id live, live_stop;
    hs_job_rec got;
    int64_t requeued = -1, failed = -1, counts[HS_JOB_STATES];

    /* Two jobs whose worker still renews: lease until 9000. */
    {
        hs_job_rec j = make_job(ugo, "live", 100);
        j.state = HS_JOB_RUNNING;
        j.started_at = 150;
        j.restarts = 5;
        snprintf(j.worker_id, sizeof j.worker_id, WORKER_B);
        j.lease_expires_at = 9000;
        assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
        live = j.id;
        j.cancel_requested = 1;
        assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
        live_stop = j.id;
    }
    {
        /* finish needs the job's worker: the lost one's id. */
        assert_int_equal(hs_store_job_finish(f->store, done, "lost-worker",
                                             HS_JOB_FAILED, "x", NULL, 0, NULL,
                                             160, &err),
                         HS_OK);
    }

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
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);
    got = get_job(f->store, once);
    assert_int_equal(got.state, HS_JOB_QUEUED);
    assert_int_equal(got.restarts, 2);
    hs_job_rec_free(&got);
    got = get_job(f->store, worn);
    assert_int_equal(got.state, HS_JOB_FAILED);
    assert_string_equal(got.error,
                        "interrupted: its worker stopped renewing its lease");
    assert_int_equal(got.finished_at, 5000);
    assert_int_equal(got.restarts, 2);
    assert_string_equal(got.worker_id, "");
    assert_int_equal(got.lease_expires_at, 0);
    hs_job_rec_free(&got);
    got = get_job(f->store, stop);
    assert_int_equal(got.state, HS_JOB_CANCELLED);
    assert_string_equal(got.error, "cancelled by the user");
    assert_int_equal(got.finished_at, 5000);
    assert_int_equal(got.restarts, 0);
    assert_string_equal(got.worker_id, "");
    hs_job_rec_free(&got);
    got = get_job(f->store, done);
    assert_int_equal(got.state, HS_JOB_FAILED);
    assert_int_equal(got.finished_at, 160);
    hs_job_rec_free(&got);
    assert_int_equal(job_state(f->store, queued), HS_JOB_QUEUED);
    /* A live lease is never touched, whatever its restarts or cancel. */
    got = get_job(f->store, live);
    assert_int_equal(got.state, HS_JOB_RUNNING);
    assert_string_equal(got.worker_id, WORKER_B);
    assert_int_equal(got.lease_expires_at, 9000);
    assert_int_equal(got.restarts, 5);
    hs_job_rec_free(&got);
    assert_int_equal(job_state(f->store, live_stop), HS_JOB_RUNNING);

    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 3);
    assert_int_equal(counts[HS_JOB_RUNNING], 2);
    assert_int_equal(counts[HS_JOB_SUCCEEDED], 0);
    assert_int_equal(counts[HS_JOB_FAILED], 2);
    assert_int_equal(counts[HS_JOB_CANCELLED], 1);

    /* Nothing expired: nothing to do; the counts may be NULL. */
    assert_int_equal(
        hs_store_job_recover(f->store, 6000, 2, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(hs_store_job_recover(f->store, 6000, 2, NULL, NULL, &err),
                     HS_OK);

    /* The live ones expire at 9000 (<= now): then they are taken back. */
    assert_int_equal(
        hs_store_job_recover(f->store, 9000, 2, &requeued, &failed, &err),
        HS_OK);
    assert_int_equal(requeued, 0);
    assert_int_equal(failed, 1); /* live: restarts 5 >= 2 */
    assert_int_equal(job_state(f->store, live), HS_JOB_FAILED);
    assert_int_equal(job_state(f->store, live_stop), HS_JOB_CANCELLED);

    /* max_restarts 0: every interrupted job fails. Inside a transaction it
     * is part of it: rolled back, it never was. */
    fresh = add_running(f->store, ugo, 0, 0);
    {
        recover_txn t = {7000, 0, -1, -1, fresh, 1};
        assert_int_equal(hs_store_transact(f->store, recover_in_txn, &t, &err),
                         HS_ERR_CONFLICT);
        assert_string_equal(err.message, "changed my mind");
        assert_int_equal(t.failed, 1);
        assert_int_equal(job_state(f->store, fresh), HS_JOB_RUNNING);
        t.fail = 0;
        assert_int_equal(hs_store_transact(f->store, recover_in_txn, &t, &err),
                         HS_OK);
        assert_int_equal(t.requeued, 0);
        assert_int_equal(t.failed, 1);
        assert_int_equal(job_state(f->store, fresh), HS_JOB_FAILED);
    }
}

/* ---- job attempts ------------------------------------------------------ */

static hs_job_attempt make_attempt(hs_id job, int64_t number,
                                   const char *outcome, const char *reason,
                                   double seconds)
{
    hs_job_attempt a;
    memset(&a, 0, sizeof a);
    a.job_id = job;
    a.number = number;
    snprintf(a.step, sizeof a.step, "%s",
             number == 1 ? "requested" : "other_learner");
    snprintf(a.algo, sizeof a.algo, "%s", number == 1 ? "gbdt" : "forest");
    snprintf(a.outcome, sizeof a.outcome, "%s", outcome);
    snprintf(a.reason, sizeof a.reason, "%s", reason);
    a.seconds = seconds;
    a.params_json =
        number == 1 ? "{\"algo\":\"gbdt\"}" : "{\"algo\":\"forest\"}";
    return a;
}

static void assert_attempts_equal(const hs_job_attempt *a,
                                  const hs_job_attempt *b)
{
    assert_int_equal(a->job_id, b->job_id);
    assert_int_equal(a->number, b->number);
    assert_string_equal(a->step, b->step);
    assert_string_equal(a->algo, b->algo);
    assert_string_equal(a->outcome, b->outcome);
    assert_string_equal(a->reason, b->reason);
    assert_same_double(a->seconds, b->seconds);
    assert_same_text(a->params_json, b->params_json);
}

/* How many attempts `viewer` reads of job `job` (0 = of every job). */
static size_t attempts_of(hs_store *store, hs_id job, hs_id viewer,
                          int is_admin)
{
    hs_error err = {0};
    hs_job_attempt *items = NULL;
    size_t n = 0;
    if (hs_store_job_attempt_list(store, job, viewer, is_admin, &items, &n,
                                  &err) != HS_OK)
        fail_msg("listing attempts of job %lld: %s", (long long)job,
                 err.message);
    hs_job_attempt_list_free(items, n);
    return n;
}

/* Attempts are written by the job's worker while it runs, one number
 * once, and read back exactly - by number, under the access rule. */
static void test_job_attempts(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id rosa = add_user(f->store, "rosa", 0);
    hs_id sven = add_user(f->store, "sven", 0);
    hs_id boss = add_user(f->store, "boss", 1);
    hs_id job = add_job(f->store, rosa, 100);
    hs_id quiet = add_job(f->store, rosa, 101);
    hs_id svens = add_job(f->store, sven, 102);
    hs_job_attempt first = make_attempt(job, 1, "failed", "injected", 1.5);
    hs_job_attempt second = make_attempt(job, 2, "succeeded", "", NAN);
    hs_job_attempt *items = NULL, bad;
    size_t n = 99;

    /* Not running: nobody records anything. */
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &first, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 1 is not running on this worker");
    claim(f->store, job, 200);

    /* Its worker records; another worker cannot; a number is used once. */
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_B, &first, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &first, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &first, &err),
                     HS_ERR_CONFLICT);
    assert_string_equal(err.message, "job 1 already has attempt 1");

    /* Bad records are refused before they reach the store. */
    bad = second;
    bad.number = 0;
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &bad, &err),
                     HS_ERR_INVALID);
    bad = second;
    bad.step[0] = '\0';
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &bad, &err),
                     HS_ERR_INVALID);
    bad = second;
    memset(bad.outcome, 'x', sizeof bad.outcome); /* no NUL: too long */
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &bad, &err),
                     HS_ERR_INVALID);
    bad = second;
    memset(bad.reason, 'x', sizeof bad.reason);
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &bad, &err),
                     HS_ERR_INVALID);
    bad = second;
    bad.seconds = -1;
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &bad, &err),
                     HS_ERR_INVALID);
    bad.seconds = INFINITY;
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &bad, &err),
                     HS_ERR_INVALID);
    bad = second;
    bad.params_json = "";
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &bad, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_attempt_add(f->store, "", &second, &err),
                     HS_ERR_INVALID);
    assert_int_equal(attempts_of(f->store, job, rosa, 0), 1);

    /* Read back exactly, by number, whatever order they were added in. */
    assert_int_equal(
        hs_store_job_attempt_add(f->store, WORKER_A, &second, &err), HS_OK);
    assert_int_equal(
        hs_store_job_attempt_list(f->store, job, rosa, 0, &items, &n, &err),
        HS_OK);
    assert_int_equal(n, 2);
    assert_attempts_equal(&items[0], &first);
    assert_attempts_equal(&items[1], &second);
    hs_job_attempt_list_free(items, n);

    /* The access rule: the owner and admins; to others it does not exist. */
    assert_int_equal(attempts_of(f->store, job, boss, 1), 2);
    assert_int_equal(
        hs_store_job_attempt_list(f->store, job, sven, 0, &items, &n, &err),
        HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "job 1 does not exist");
    assert_null(items);
    assert_int_equal(n, 0);
    assert_int_equal(
        hs_store_job_attempt_list(f->store, 9999, boss, 1, &items, &n, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(attempts_of(f->store, quiet, rosa, 0), 0);

    /* Job 0: every visible job's, by job then number. */
    claim(f->store, quiet, 210);
    claim(f->store, svens, 220);
    hs_job_attempt svens_first = make_attempt(svens, 1, "succeeded", "", 2.0);
    hs_job_attempt quiet_first =
        make_attempt(quiet, 1, "degenerate", "constant predictor", 0.25);
    assert_int_equal(
        hs_store_job_attempt_add(f->store, WORKER_A, &svens_first, &err),
        HS_OK);
    assert_int_equal(
        hs_store_job_attempt_add(f->store, WORKER_A, &quiet_first, &err),
        HS_OK);
    assert_int_equal(
        hs_store_job_attempt_list(f->store, 0, rosa, 0, &items, &n, &err),
        HS_OK);
    assert_int_equal(n, 3);
    assert_attempts_equal(&items[0], &first);
    assert_attempts_equal(&items[1], &second);
    assert_attempts_equal(&items[2], &quiet_first);
    hs_job_attempt_list_free(items, n);
    assert_int_equal(attempts_of(f->store, 0, sven, 0), 1);
    assert_int_equal(attempts_of(f->store, 0, boss, 1), 4);

    /* A finished job keeps its attempts and takes no more. */
    assert_int_equal(hs_store_job_finish(f->store, job, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL, NULL, 0, NULL,
                                         300, &err),
                     HS_OK);
    assert_int_equal(attempts_of(f->store, job, rosa, 0), 2);
    hs_job_attempt third = make_attempt(job, 3, "failed", "late", 1.0);
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &third, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(attempts_of(f->store, job, rosa, 0), 2);
}

/* A job back in the queue starts again from attempt 1: requeue and
 * recover forget the attempts of the run they stopped; a job that recover
 * fails keeps them (they say what happened). */
static void test_job_attempts_forgotten_on_requeue(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id tia = add_user(f->store, "tia", 0);
    hs_id shut = add_job(f->store, tia, 100);
    hs_id lost = add_job(f->store, tia, 101);
    hs_id worn, kept = add_job(f->store, tia, 102);
    int64_t requeued = -1, failed = -1;
    {
        hs_job_rec j = make_job(tia, "worn", 103);
        j.restarts = 1;
        assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
        worn = j.id;
    }
    claim(f->store, shut, 1000);
    claim(f->store, lost, 1000);
    claim(f->store, kept, 1000);
    claim(f->store, worn, 1000);
    hs_id ids[] = {shut, lost, kept, worn};
    for (size_t i = 0; i < 4; i++) {
        hs_job_attempt a = make_attempt(ids[i], 1, "failed", "oom", 1.0);
        assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &a, &err),
                         HS_OK);
    }

    /* A graceful stop. */
    assert_int_equal(hs_store_job_requeue(f->store, shut, WORKER_A, &err),
                     HS_OK);
    assert_int_equal(attempts_of(f->store, shut, tia, 0), 0);
    assert_int_equal(attempts_of(f->store, lost, tia, 0), 1);

    /* A lost worker: `kept` is still renewed, the others lapse. */
    assert_int_equal(hs_store_job_progress(f->store, kept, WORKER_A, 1020,
                                           LEASE, 0.5, 1, 2, NULL, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_recover(f->store, 1000 + LEASE, 1, &requeued,
                                          &failed, &err),
                     HS_OK);
    assert_int_equal(requeued, 1); /* lost */
    assert_int_equal(failed, 1);   /* worn: its restarts are used up */
    assert_int_equal(job_state(f->store, lost), HS_JOB_QUEUED);
    assert_int_equal(attempts_of(f->store, lost, tia, 0), 0);
    assert_int_equal(job_state(f->store, worn), HS_JOB_FAILED);
    assert_int_equal(attempts_of(f->store, worn, tia, 0), 1);
    assert_int_equal(attempts_of(f->store, kept, tia, 0), 1);

    /* The next run records from 1 again. */
    claim(f->store, shut, 2000);
    hs_job_attempt again = make_attempt(shut, 1, "succeeded", "", 3.0);
    assert_int_equal(hs_store_job_attempt_add(f->store, WORKER_A, &again, &err),
                     HS_OK);
    assert_int_equal(attempts_of(f->store, shut, tia, 0), 1);
}

static void test_job_counts(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id vera = add_user(f->store, "vera", 0);
    hs_id xena = add_user(f->store, "xena", 0);
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
    assert_int_equal(hs_store_job_finish(f->store, 1, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL, NULL, 0, NULL,
                                         20, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_finish(f->store, 2, WORKER_A, HS_JOB_FAILED,
                                         "x", NULL, 0, NULL, 20, &err),
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

    /* Per owner: vera's are all of the above, xena has two queued. */
    add_job(f->store, xena, 40);
    add_job(f->store, xena, 41);
    assert_int_equal(hs_store_job_owner_counts(f->store, vera, counts, &err),
                     HS_OK);
    for (int i = 0; i < HS_JOB_STATES; i++)
        assert_int_equal(counts[i], 1);
    assert_int_equal(hs_store_job_owner_counts(f->store, xena, counts, &err),
                     HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 2);
    assert_int_equal(counts[HS_JOB_RUNNING] + counts[HS_JOB_SUCCEEDED] +
                         counts[HS_JOB_FAILED] + counts[HS_JOB_CANCELLED],
                     0);
    assert_int_equal(hs_store_job_owner_counts(f->store, 4242, counts, &err),
                     HS_OK);
    for (int i = 0; i < HS_JOB_STATES; i++)
        assert_int_equal(counts[i], 0);
    assert_int_equal(hs_store_job_owner_counts(f->store, vera, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_QUEUED], 3);
}

/* ---- diagnoses --------------------------------------------------------- */

/* Results rewritten in a newer format: the record moves to the new blob
 * once, and only from the blob it had. */
static void test_diagnosis_swap_blob(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owner = add_user(f->store, "sam", 0);
    hs_diagnosis_rec d = make_diagnosis(owner, 0, "old results", 1, 100);
    char newer[HS_STORE_BLOB_KEY_MAX];
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    snprintf(newer, sizeof newer, "result/%032x", 77);
    assert_int_equal(hs_store_diagnosis_swap_blob(f->store, d.id, d.blob_key,
                                                  newer, &err),
                     HS_OK);
    hs_diagnosis_rec got;
    assert_int_equal(hs_store_diagnosis_get(f->store, d.id, owner, 0, &got, &err),
                     HS_OK);
    assert_string_equal(got.blob_key, newer);
    hs_diagnosis_rec_free(&got);
    /* The second swapper lost: the record no longer has the old key. */
    assert_int_equal(hs_store_diagnosis_swap_blob(f->store, d.id, d.blob_key,
                                                  "result/other", &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_diagnosis_swap_blob(f->store, 4242, newer,
                                                  d.blob_key, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_diagnosis_swap_blob(f->store, d.id, "", newer,
                                                  &err),
                     HS_ERR_INVALID);
}

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
    assert_int_equal(hs_store_diagnosis_list(f->store, wim, 0, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_diagnoses_equal(&list[0], &b);
    assert_diagnoses_equal(&list[1], &a);
    hs_diagnosis_list_free(list, n);
    hs_diagnosis_list_free(NULL, 0);
    assert_int_equal(
        hs_store_diagnosis_list(f->store, admin, 0, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 0);
    hs_diagnosis_list_free(list, n);
    assert_int_equal(
        hs_store_diagnosis_list(f->store, admin, 1, 0, &list, &n, &err), HS_OK);
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
    assert_int_equal(hs_store_diagnosis_list(f->store, 0, 1, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1); /* only b is left */
    assert_int_equal(list[0].id, b.id);
    hs_diagnosis_list_free(list, n);
}

/* ---- labels of diagnoses and models' lineage ----------------------------- */

static hs_diagnosis_label make_label(int64_t row, const char *label,
                                     hs_id user, int64_t at)
{
    hs_diagnosis_label l;
    memset(&l, 0, sizeof l);
    l.row = row;
    snprintf(l.label, sizeof l.label, "%s", label);
    l.user_id = user;
    l.labelled_at = at;
    return l;
}

static void assert_labels(hs_store *store, hs_id diagnosis, hs_id viewer,
                          const char *want)
{
    hs_diagnosis_label *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    char got[512] = "";
    assert_int_equal(hs_store_diagnosis_labels_list(store, diagnosis, viewer,
                                                    1, &items, &n, &err),
                     HS_OK);
    for (size_t i = 0; i < n; i++) {
        size_t used = strlen(got);
        assert_int_equal(items[i].diagnosis_id, diagnosis);
        snprintf(got + used, sizeof got - used, "%s%lld=%s@%s", i ? " " : "",
                 (long long)items[i].row, items[i].label, items[i].username);
    }
    free(items);
    assert_string_equal(got, want);
}

static void test_diagnosis_labels(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id kim = add_user(f->store, "kim", 0);
    hs_id lee = add_user(f->store, "lee", 0);
    hs_id admin = add_user(f->store, "admin", 1);
    hs_diagnosis_rec d = make_diagnosis(kim, 0, "batch", 1, 100); /* 11 rows */
    hs_diagnosis_rec e = make_diagnosis(kim, 0, "other", 2, 100);
    hs_diagnosis_label *items = NULL;
    size_t n = 5;
    int64_t total = -1;
    snprintf(d.input_blob_key, sizeof d.input_blob_key, "input/%032x", 1);
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_create(f->store, &e, &err), HS_OK);

    /* None yet: an empty list, not an error. */
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, d.id, kim, 0,
                                                    &items, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    free(items);

    /* Set, by whom and when; a row twice ends with the last; read by row. */
    hs_diagnosis_label put[] = {
        make_label(7, "disk_full", kim, 500), make_label(0, "normal", kim, 500),
        make_label(3, "cpu", kim, 500), make_label(3, "mem", kim, 501)};
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0, put,
                                                   4, 0, &total, &err),
                     HS_OK);
    assert_int_equal(total, 3);
    assert_labels(f->store, d.id, kim, "0=normal@kim 3=mem@kim 7=disk_full@kim");
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, d.id, kim, 0,
                                                    &items, &n, &err),
                     HS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(items[1].row, 3);
    assert_int_equal(items[1].user_id, kim);
    assert_int_equal(items[1].labelled_at, 501);
    free(items);

    /* Again replaces (another labeller, another time); "" clears, also a
     * row without a label; an admin may label anyone's diagnosis. */
    hs_diagnosis_label again[] = {make_label(7, "cpu", admin, 600),
                                  make_label(0, "", admin, 600),
                                  make_label(10, "", admin, 600)};
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, admin, 1,
                                                   again, 3, 0, &total, &err),
                     HS_OK);
    assert_int_equal(total, 2);
    assert_labels(f->store, d.id, kim, "3=mem@kim 7=cpu@admin");

    /* All or nothing: a row out of range, an unknown user, the total
     * bound, another user's diagnosis - and nothing of the batch lands. */
    hs_diagnosis_label beyond[] = {make_label(1, "cpu", kim, 700),
                                   make_label(11, "cpu", kim, 700)};
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0,
                                                   beyond, 2, 0, &total, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.message,
                        "row 11 is out of range: diagnosis 1 has 11 rows");
    assert_int_equal(total, 0);
    hs_diagnosis_label ghost[] = {make_label(1, "cpu", kim, 700),
                                  make_label(2, "cpu", 4242, 700)};
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0,
                                                   ghost, 2, 0, NULL, &err),
                     HS_ERR_NOTFOUND);
    hs_diagnosis_label three[] = {make_label(1, "cpu", kim, 700),
                                  make_label(2, "cpu", kim, 700)};
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0,
                                                   three, 2, 3, &total, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.message,
                        "diagnosis 1 would have 4 labelled rows; at most 3");
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, lee, 0,
                                                   three, 2, 0, &total, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "diagnosis 1 does not exist");
    assert_labels(f->store, d.id, kim, "3=mem@kim 7=cpu@admin");
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0,
                                                   three, 2, 4, &total, &err),
                     HS_OK);
    assert_int_equal(total, 4);

    /* Reading is under the access rule too; labels are per diagnosis. */
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, d.id, lee, 0,
                                                    &items, &n, &err),
                     HS_ERR_NOTFOUND);
    assert_null(items);
    assert_int_equal(n, 0);
    assert_labels(f->store, e.id, kim, "");
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, 4242, admin, 1,
                                                    &items, &n, &err),
                     HS_ERR_NOTFOUND);

    /* Bad arguments never reach the backend. */
    hs_diagnosis_label bad = make_label(-1, "cpu", kim, 1);
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0, &bad,
                                                   1, 0, NULL, &err),
                     HS_ERR_INVALID);
    bad = make_label(1, "cpu", 0, 1); /* a label set by nobody */
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0, &bad,
                                                   1, 0, NULL, &err),
                     HS_ERR_INVALID);
    memset(bad.label, 'x', sizeof bad.label); /* unterminated */
    bad.user_id = kim;
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0, &bad,
                                                   1, 0, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0, put,
                                                   0, 0, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0, put,
                                                   1, -1, NULL, &err),
                     HS_ERR_INVALID);

    /* Deleting the diagnosis deletes its labels. */
    char key[HS_STORE_BLOB_KEY_MAX];
    assert_int_equal(hs_store_diagnosis_delete(f->store, d.id, kim, 0, key,
                                               &err),
                     HS_OK);
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, d.id, admin, 1,
                                                    &items, &n, &err),
                     HS_ERR_NOTFOUND);
}

/* Labels come back byte for byte whatever they hold - quotes,
 * backslashes, braces and commas, the word NULL, spaces, UTF-8, the
 * longest label of characters a backend may have to escape - and a put
 * of a request's most rows (1000, feedback.h) lands, or is refused, whole. */
static void test_diagnosis_labels_exact(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id kim = add_user(f->store, "kim", 0);
    hs_diagnosis_rec d = make_diagnosis(kim, 0, "batch", 1, 100);
    d.rows = 2000;
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    char longest[HS_LABEL_MAX];
    memset(longest, '\\', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    const char *odd[] = {"say \"hi\"", "back\\slash", "{a,b}", "NULL",
                         " spaced ", "it's", "\xe6\xb8\xa9 \xf0\x9f\x8c\xa1",
                         longest};
    enum { N_ODD = sizeof odd / sizeof odd[0], MANY = 1000 };
    hs_diagnosis_label put[N_ODD], *items = NULL;
    size_t n = 0;
    int64_t total = 0;
    for (size_t i = 0; i < N_ODD; i++)
        put[i] = make_label((int64_t)i, odd[i], kim, 10);
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0, put,
                                                   N_ODD, 0, &total, &err),
                     HS_OK);
    assert_int_equal(total, N_ODD);
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, d.id, kim, 0,
                                                    &items, &n, &err),
                     HS_OK);
    assert_int_equal(n, N_ODD);
    for (size_t i = 0; i < N_ODD; i++)
        assert_string_equal(items[i].label, odd[i]);
    free(items);

    hs_diagnosis_label *many = calloc(MANY, sizeof *many);
    assert_non_null(many);
    for (int i = 0; i < MANY; i++)
        many[i] = make_label(100 + i, i % 2 ? "cpu" : "disk", kim, 20);
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0,
                                                   many, MANY, N_ODD + MANY,
                                                   &total, &err),
                     HS_OK);
    assert_int_equal(total, N_ODD + MANY);
    for (int i = 0; i < MANY; i++) /* relabelled, one row too many */
        many[i] = make_label(101 + i, "mem", kim, 30);
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, d.id, kim, 0,
                                                   many, MANY, N_ODD + MANY,
                                                   &total, &err),
                     HS_ERR_INVALID);
    free(many);
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, d.id, kim, 0,
                                                    &items, &n, &err),
                     HS_OK);
    assert_int_equal(n, N_ODD + MANY);
    assert_string_equal(items[N_ODD].label, "disk");   /* row 100 */
    assert_string_equal(items[n - 1].label, "cpu");    /* row 1099 */
    assert_int_equal(items[n - 1].labelled_at, 20);
    free(items);
}

/* A diagnosis keeps its input's key; a model its parent and feedback. */
static void test_diagnosis_input_and_model_lineage(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_diagnosis_rec d = make_diagnosis(ann, 0, "with input", 1, 100), got;
    snprintf(d.input_blob_key, sizeof d.input_blob_key, "input/%032x", 9);
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_get(f->store, d.id, ann, 0, &got, &err),
                     HS_OK);
    assert_diagnoses_equal(&got, &d);
    hs_diagnosis_rec_free(&got);
    hs_diagnosis_rec bad = make_diagnosis(ann, 0, "x", 2, 100);
    memset(bad.input_blob_key, 'k', sizeof bad.input_blob_key);
    assert_int_equal(hs_store_diagnosis_create(f->store, &bad, &err),
                     HS_ERR_INVALID);

    hs_model_rec parent = make_model(ann, "v1", 1, 100);
    hs_model_rec child = make_model(ann, "v2", 2, 200), m;
    assert_int_equal(hs_store_model_create(f->store, &parent, &err), HS_OK);
    child.parent_id = parent.id;
    child.feedback_json = "{\"rows\":3,\"diagnosis_ids\":[1]}";
    assert_int_equal(hs_store_model_create(f->store, &child, &err), HS_OK);
    assert_int_equal(hs_store_model_get(f->store, child.id, ann, 0, &m, &err),
                     HS_OK);
    assert_models_equal(&m, &child);
    hs_model_rec_free(&m);
    assert_int_equal(hs_store_model_get(f->store, parent.id, ann, 0, &m, &err),
                     HS_OK);
    assert_int_equal(m.parent_id, 0);
    assert_null(m.feedback_json);
    hs_model_rec_free(&m);

    hs_model_rec orphan = make_model(ann, "v?", 3, 300);
    orphan.parent_id = 4242;
    assert_int_equal(hs_store_model_create(f->store, &orphan, &err),
                     HS_ERR_NOTFOUND);
    orphan = make_model(ann, "v?", 4, 300);
    orphan.feedback_json = "";
    assert_int_equal(hs_store_model_create(f->store, &orphan, &err),
                     HS_ERR_INVALID);
    orphan = make_model(ann, "v?", 5, 300);
    orphan.parent_id = -1;
    assert_int_equal(hs_store_model_create(f->store, &orphan, &err),
                     HS_ERR_INVALID);

    /* The parent deleted: the child stays, keeping what it learnt. */
    char key[HS_STORE_BLOB_KEY_MAX];
    assert_int_equal(hs_store_model_delete(f->store, parent.id, ann, 0, key,
                                           &err),
                     HS_OK);
    assert_int_equal(hs_store_model_get(f->store, child.id, ann, 0, &m, &err),
                     HS_OK);
    assert_int_equal(m.parent_id, 0);
    assert_same_text(m.feedback_json, child.feedback_json);
    hs_model_rec_free(&m);
}

/* A model's class names: kept from create, replaced by their owner or an
 * admin only, nothing else of the model changing. */
static void test_model_class_names(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id bob = add_user(f->store, "bob", 0);
    hs_id root = add_user(f->store, "root", 1);
    hs_model_rec plain = make_model(ann, "plain", 1, 100);
    hs_model_rec named = make_model(ann, "named", 2, 200), m;
    named.class_names_json = "{\"1\":{\"name\":\"Disk full\"}}";
    assert_int_equal(hs_store_model_create(f->store, &plain, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &named, &err), HS_OK);
    assert_int_equal(hs_store_model_get(f->store, named.id, ann, 0, &m, &err),
                     HS_OK);
    assert_models_equal(&m, &named);
    hs_model_rec_free(&m);
    assert_int_equal(hs_store_model_get(f->store, plain.id, ann, 0, &m, &err),
                     HS_OK);
    assert_null(m.class_names_json);
    hs_model_rec_free(&m);
    hs_model_rec empty = make_model(ann, "x", 3, 300);
    empty.class_names_json = "";
    assert_int_equal(hs_store_model_create(f->store, &empty, &err),
                     HS_ERR_INVALID);

    const char *v2 = "{\"2\":{\"name\":\"CPU\"}}";
    assert_int_equal(hs_store_model_class_names_put(f->store, plain.id, ann, 0,
                                                    v2, &err),
                     HS_OK);
    assert_int_equal(hs_store_model_get(f->store, plain.id, ann, 0, &m, &err),
                     HS_OK);
    assert_string_equal(m.class_names_json, v2);
    plain.class_names_json = (char *)v2;
    assert_models_equal(&m, &plain); /* nothing else changed */
    hs_model_rec_free(&m);
    /* another user: as if it did not exist; an admin may */
    assert_int_equal(hs_store_model_class_names_put(f->store, plain.id, bob, 0,
                                                    "{}", &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_model_class_names_put(f->store, 9999, ann, 0,
                                                    "{}", &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_model_class_names_put(f->store, plain.id, root,
                                                    1, "{}", &err),
                     HS_OK);
    assert_int_equal(hs_store_model_get(f->store, plain.id, ann, 0, &m, &err),
                     HS_OK);
    assert_string_equal(m.class_names_json, "{}");
    hs_model_rec_free(&m);
    assert_int_equal(hs_store_model_class_names_put(f->store, plain.id, ann, 0,
                                                    "", &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_model_class_names_put(f->store, plain.id, ann, 0,
                                                    NULL, &err),
                     HS_ERR_INVALID);

    /* A diagnosis reads its model's names as they are now; none once the
     * model is gone, or when it has none. */
    hs_diagnosis_rec d = make_diagnosis(ann, named.id, "d", 1, 400), got;
    hs_diagnosis_rec d0 = make_diagnosis(ann, 0, "d0", 2, 401);
    d.model_class_names_json = "{\"ignored\":1}"; /* create ignores it */
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_create(f->store, &d0, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_get(f->store, d.id, ann, 0, &got, &err),
                     HS_OK);
    assert_same_text(got.model_class_names_json, named.class_names_json);
    hs_diagnosis_rec_free(&got);
    const char *v3 = "{\"1\":{\"name\":\"Disk\"}}";
    assert_int_equal(hs_store_model_class_names_put(f->store, named.id, ann, 0,
                                                    v3, &err),
                     HS_OK);
    hs_diagnosis_rec *items = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_diagnosis_list(f->store, ann, 0, 0, &items, &n,
                                             &err),
                     HS_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        if (items[i].id == d.id)
            assert_string_equal(items[i].model_class_names_json, v3);
        else
            assert_null(items[i].model_class_names_json);
    }
    hs_diagnosis_list_free(items, n);
    char key[HS_STORE_BLOB_KEY_MAX];
    assert_int_equal(hs_store_model_delete(f->store, named.id, ann, 0, key,
                                           &err),
                     HS_OK);
    assert_int_equal(hs_store_diagnosis_get(f->store, d.id, ann, 0, &got, &err),
                     HS_OK);
    assert_null(got.model_class_names_json);
    hs_diagnosis_rec_free(&got);
}

/* ---- references between records ---------------------------------------- */

/* What is deleted leaves its referrers in place, pointing at nothing (0):
 * foreign-key references and the jobs' generic result alike. */
static void test_references(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id xia = add_user(f->store, "xia", 0);
    hs_id data = add_dataset(f->store, xia, 1);
    hs_job_rec train = make_job(xia, "train", 10), dj = make_job(xia, "dj", 11);
    hs_model_rec m = make_model(xia, "m", 1, 20), got_m;
    hs_model_rec other = make_model(xia, "other", 2, 21);
    hs_diagnosis_rec d = make_diagnosis(xia, 0, "d", 1, 30), got_d;
    hs_job_rec got, on_other = make_job(xia, "on other", 12);
    hs_job_rec rca = make_job(xia, "rca", 13);
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    char key[HS_STORE_BLOB_KEY_MAX];
    size_t n = 0;

    train.dataset_id = data;
    assert_int_equal(hs_store_job_create(f->store, &train, &err), HS_OK);
    m.dataset_id = data;
    m.job_id = train.id;
    assert_int_equal(hs_store_model_create(f->store, &m, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &other, &err), HS_OK);
    claim(f->store, train.id, 40);
    assert_int_equal(hs_store_job_finish(f->store, train.id, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         HS_RESULT_MODEL, m.id, NULL, 50, &err),
                     HS_OK);
    snprintf(dj.type, sizeof dj.type, "diagnose");
    dj.model_id = m.id;
    assert_int_equal(hs_store_job_create(f->store, &dj, &err), HS_OK);
    d.model_id = m.id;
    d.job_id = dj.id;
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    claim(f->store, dj.id, 60);
    assert_int_equal(
        hs_store_job_finish(f->store, dj.id, WORKER_A, HS_JOB_SUCCEEDED, NULL,
                            HS_RESULT_DIAGNOSIS, d.id, NULL, 70, &err),
        HS_OK);
    /* A job whose result is the other model, and one of another kind with
     * the same id as the diagnosis: deletes must not touch them. */
    snprintf(on_other.result_kind, sizeof on_other.result_kind,
             HS_RESULT_MODEL);
    on_other.result_id = other.id;
    assert_int_equal(hs_store_job_create(f->store, &on_other, &err), HS_OK);
    snprintf(rca.result_kind, sizeof rca.result_kind, "rca");
    rca.result_id = d.id;
    assert_int_equal(hs_store_job_create(f->store, &rca, &err), HS_OK);

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
    assert_string_equal(got.result_kind, HS_RESULT_MODEL);
    assert_int_equal(got.result_id, m.id);
    hs_job_rec_free(&got);

    /* Deleting the model: diagnoses and jobs keep their rows; the training
     * that made it keeps its result kind, the diagnose job its result. */
    assert_int_equal(hs_store_model_delete(f->store, m.id, xia, 0, key, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_diagnosis_get(f->store, d.id, xia, 0, &got_d, &err), HS_OK);
    d.model_id = 0;
    assert_diagnoses_equal(&got_d, &d);
    hs_diagnosis_rec_free(&got_d);
    got = get_job(f->store, train.id);
    assert_string_equal(got.result_kind, HS_RESULT_MODEL);
    assert_int_equal(got.result_id, 0);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    hs_job_rec_free(&got);
    got = get_job(f->store, dj.id);
    assert_int_equal(got.model_id, 0);
    assert_string_equal(got.result_kind, HS_RESULT_DIAGNOSIS);
    assert_int_equal(got.result_id, d.id);
    hs_job_rec_free(&got);

    /* Deleting the diagnosis: its job forgets it. */
    assert_int_equal(
        hs_store_diagnosis_delete(f->store, d.id, xia, 0, key, &err), HS_OK);
    got = get_job(f->store, dj.id);
    assert_string_equal(got.result_kind, HS_RESULT_DIAGNOSIS);
    assert_int_equal(got.result_id, 0);
    assert_int_equal(got.state, HS_JOB_SUCCEEDED);
    hs_job_rec_free(&got);

    /* The bystanders kept theirs. */
    got = get_job(f->store, rca.id);
    assert_string_equal(got.result_kind, "rca");
    assert_int_equal(got.result_id, d.id);
    hs_job_rec_free(&got);
    got = get_job(f->store, on_other.id);
    assert_string_equal(got.result_kind, HS_RESULT_MODEL);
    assert_int_equal(got.result_id, other.id);
    hs_job_rec_free(&got);
}

/* ---- the trash of models and diagnoses ---------------------------------- */

/* The ids of a model list, newest first, as "3,1" (then freed). */
static const char *model_ids(hs_model_rec *list, size_t n, char *buf,
                             size_t cap)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(buf + at, cap - at, "%s%lld", i ? "," : "",
                               (long long)list[i].id);
    hs_model_list_free(list, n);
    return buf;
}

static const char *listed_models(hs_store *store, hs_id viewer, int admin,
                                 int include_deleted, char *buf, size_t cap)
{
    hs_model_rec *list = NULL;
    size_t n = 0;
    hs_error err = {0};
    assert_int_equal(hs_store_model_list(store, viewer, admin,
                                         include_deleted, &list, &n, &err),
                     HS_OK);
    return model_ids(list, n, buf, cap);
}

static void test_model_trash(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0), bob = add_user(f->store, "bob", 0);
    hs_id admin = add_user(f->store, "root", 1);
    hs_model_rec a = make_model(ann, "a", 1, 10), b = make_model(ann, "b", 2, 20);
    hs_model_rec c = make_model(bob, "c", 3, 30), got;
    char buf[64], want[64];

    a.deleted_at = 77; /* a new model is live whatever it says */
    assert_int_equal(hs_store_model_create(f->store, &a, &err), HS_OK);
    assert_int_equal(a.deleted_at, 0);
    assert_int_equal(hs_store_model_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &c, &err), HS_OK);

    /* Only its owner or an admin moves it; to others it does not exist. */
    assert_int_equal(hs_store_model_set_deleted(f->store, a.id, bob, 0, 500,
                                                &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_model_set_deleted(f->store, a.id, ann, 0, 500,
                                                &err),
                     HS_OK);
    assert_int_equal(hs_store_model_get(f->store, a.id, ann, 0, &got, &err),
                     HS_OK);
    a.deleted_at = 500;
    assert_models_equal(&got, &a); /* still readable, nothing else changed */
    hs_model_rec_free(&got);

    /* Lists leave it out unless asked. */
    snprintf(want, sizeof want, "%lld", (long long)b.id);
    assert_string_equal(listed_models(f->store, ann, 0, 0, buf, sizeof buf),
                        want);
    snprintf(want, sizeof want, "%lld,%lld", (long long)b.id, (long long)a.id);
    assert_string_equal(listed_models(f->store, ann, 0, 1, buf, sizeof buf),
                        want);
    snprintf(want, sizeof want, "%lld,%lld", (long long)c.id, (long long)b.id);
    assert_string_equal(listed_models(f->store, admin, 1, 0, buf, sizeof buf),
                        want);
    snprintf(want, sizeof want, "%lld,%lld,%lld", (long long)c.id,
             (long long)b.id, (long long)a.id);
    assert_string_equal(listed_models(f->store, admin, 1, 1, buf, sizeof buf),
                        want);
    snprintf(want, sizeof want, "%lld", (long long)c.id);
    assert_string_equal(listed_models(f->store, bob, 0, 1, buf, sizeof buf),
                        want);

    /* An admin restores anyone's; bad arguments are refused. */
    assert_int_equal(hs_store_model_set_deleted(f->store, a.id, admin, 1, 0,
                                                &err),
                     HS_OK);
    snprintf(want, sizeof want, "%lld,%lld", (long long)b.id, (long long)a.id);
    assert_string_equal(listed_models(f->store, ann, 0, 0, buf, sizeof buf),
                        want);
    assert_int_equal(hs_store_model_set_deleted(f->store, a.id, ann, 0, -1,
                                                &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_model_set_deleted(f->store, 9999, admin, 1, 1,
                                                &err),
                     HS_ERR_NOTFOUND);
}

static void test_model_trash_purge(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id kai = add_user(f->store, "kai", 0);
    hs_model_rec old = make_model(kai, "old", 1, 10);
    hs_model_rec edge = make_model(kai, "edge", 2, 11);
    hs_model_rec live = make_model(kai, "live", 3, 12), got;
    hs_job_rec train = make_job(kai, "train", 20), dj = make_job(kai, "dj", 21);
    hs_diagnosis_rec d = make_diagnosis(kai, 0, "d", 4, 30), got_d;
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;

    assert_int_equal(hs_store_model_create(f->store, &old, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &edge, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &live, &err), HS_OK);
    assert_int_equal(hs_store_job_create(f->store, &train, &err), HS_OK);
    claim(f->store, train.id, 40);
    assert_int_equal(hs_store_job_finish(f->store, train.id, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         HS_RESULT_MODEL, old.id, NULL, 50,
                                         &err),
                     HS_OK);
    snprintf(dj.type, sizeof dj.type, "diagnose");
    dj.model_id = old.id;
    assert_int_equal(hs_store_job_create(f->store, &dj, &err), HS_OK);
    d.model_id = old.id;
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);

    /* In the trash, what refers to it keeps referring to it. */
    assert_int_equal(
        hs_store_model_set_deleted(f->store, old.id, kai, 0, 100, &err), HS_OK);
    assert_int_equal(
        hs_store_model_set_deleted(f->store, edge.id, kai, 0, 200, &err),
        HS_OK);
    assert_int_equal(
        hs_store_diagnosis_get(f->store, d.id, kai, 0, &got_d, &err), HS_OK);
    assert_int_equal(got_d.model_id, old.id);
    hs_diagnosis_rec_free(&got_d);
    hs_job_rec j = get_job(f->store, train.id);
    assert_int_equal(j.result_id, old.id);
    hs_job_rec_free(&j);

    /* The purge takes what was trashed strictly before the cutoff, and
     * clears the references as a delete does. */
    assert_int_equal(hs_store_model_purge(f->store, 200, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0], old.blob_key);
    free(keys);
    assert_int_equal(hs_store_model_get(f->store, old.id, kai, 0, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_model_set_deleted(f->store, old.id, kai, 0, 0,
                                                &err),
                     HS_ERR_NOTFOUND); /* no restore after the purge */
    assert_int_equal(
        hs_store_diagnosis_get(f->store, d.id, kai, 0, &got_d, &err), HS_OK);
    assert_int_equal(got_d.model_id, 0);
    hs_diagnosis_rec_free(&got_d);
    j = get_job(f->store, train.id);
    assert_string_equal(j.result_kind, HS_RESULT_MODEL);
    assert_int_equal(j.result_id, 0);
    hs_job_rec_free(&j);
    j = get_job(f->store, dj.id);
    assert_int_equal(j.model_id, 0);
    hs_job_rec_free(&j);
    assert_int_equal(hs_store_model_get(f->store, edge.id, kai, 0, &got, &err),
                     HS_OK);
    assert_int_equal(got.deleted_at, 200);
    hs_model_rec_free(&got);

    /* A live model is never purged, however old. */
    assert_int_equal(hs_store_model_purge(f->store, INT64_MAX, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0], edge.blob_key);
    free(keys);
    assert_int_equal(hs_store_model_get(f->store, live.id, kai, 0, &got, &err),
                     HS_OK);
    hs_model_rec_free(&got);
    assert_int_equal(hs_store_model_purge(f->store, 1, NULL, &n, &err),
                     HS_ERR_INVALID);
}

/* How many diagnoses viewer lists. */
static size_t diagnoses_listed(hs_store *store, hs_id viewer, int admin,
                               int include_deleted)
{
    hs_diagnosis_rec *list = NULL;
    size_t n = 0;
    hs_error err = {0};
    assert_int_equal(hs_store_diagnosis_list(store, viewer, admin,
                                             include_deleted, &list, &n, &err),
                     HS_OK);
    hs_diagnosis_list_free(list, n);
    return n;
}

static void test_diagnosis_trash(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id eva = add_user(f->store, "eva", 0), tom = add_user(f->store, "tom", 0);
    hs_id model = add_model(f->store, eva, 1);
    hs_diagnosis_rec gone = make_diagnosis(eva, model, "gone", 2, 10);
    hs_diagnosis_rec kept = make_diagnosis(eva, model, "kept", 3, 20), got;
    hs_diagnosis_label label = make_label(1, "fault", eva, 15);
    hs_diagnosis_label *labels = NULL;
    hs_job_rec dj = make_job(eva, "dj", 5);
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;

    snprintf(gone.input_blob_key, sizeof gone.input_blob_key, "i%063x", 9);
    gone.deleted_at = 5; /* ignored: a new diagnosis is live */
    assert_int_equal(hs_store_diagnosis_create(f->store, &gone, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_create(f->store, &kept, &err), HS_OK);
    assert_int_equal(hs_store_diagnosis_labels_put(f->store, gone.id, eva, 0,
                                                   &label, 1, 0, NULL, &err),
                     HS_OK);
    snprintf(dj.type, sizeof dj.type, "diagnose");
    assert_int_equal(hs_store_job_create(f->store, &dj, &err), HS_OK);
    claim(f->store, dj.id, 6);
    assert_int_equal(hs_store_job_finish(f->store, dj.id, WORKER_A,
                                         HS_JOB_SUCCEEDED, NULL,
                                         HS_RESULT_DIAGNOSIS, gone.id, NULL,
                                         7, &err),
                     HS_OK);

    /* Owner or admin only; in the trash it keeps everything. */
    assert_int_equal(hs_store_diagnosis_set_deleted(f->store, gone.id, tom, 0,
                                                    100, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_diagnosis_set_deleted(f->store, gone.id, eva, 0,
                                                    100, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_diagnosis_get(f->store, gone.id, eva, 0, &got, &err), HS_OK);
    gone.deleted_at = 100;
    assert_diagnoses_equal(&got, &gone);
    hs_diagnosis_rec_free(&got);
    assert_int_equal(diagnoses_listed(f->store, eva, 0, 0), 1);
    assert_int_equal(diagnoses_listed(f->store, eva, 0, 1), 2);
    assert_int_equal(diagnoses_listed(f->store, tom, 1, 0), 1);
    assert_int_equal(diagnoses_listed(f->store, tom, 1, 1), 2);
    assert_int_equal(diagnoses_listed(f->store, tom, 0, 1), 0);
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, gone.id, eva, 0,
                                                    &labels, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    free(labels);

    /* Restored by an admin, trashed again; the purge hands back both blobs
     * and clears the job's result. */
    assert_int_equal(hs_store_diagnosis_set_deleted(f->store, gone.id, tom, 1,
                                                    0, &err),
                     HS_OK);
    assert_int_equal(diagnoses_listed(f->store, eva, 0, 0), 2);
    assert_int_equal(hs_store_diagnosis_purge(f->store, INT64_MAX, &keys, &n,
                                              &err),
                     HS_OK);
    assert_int_equal(n, 0); /* nothing in the trash: nothing purged */
    free(keys);
    assert_int_equal(hs_store_diagnosis_set_deleted(f->store, gone.id, eva, 0,
                                                    300, &err),
                     HS_OK);
    assert_int_equal(hs_store_diagnosis_purge(f->store, 300, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0); /* not before the cutoff */
    free(keys);
    assert_int_equal(hs_store_diagnosis_purge(f->store, 301, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(keys[0], gone.blob_key);
    assert_string_equal(keys[1], gone.input_blob_key);
    free(keys);
    assert_int_equal(
        hs_store_diagnosis_get(f->store, gone.id, eva, 0, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_diagnosis_set_deleted(f->store, gone.id, eva, 0,
                                                    0, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_diagnosis_labels_list(f->store, gone.id, eva, 0,
                                                    &labels, &n, &err),
                     HS_ERR_NOTFOUND);
    hs_job_rec j = get_job(f->store, dj.id);
    assert_string_equal(j.result_kind, HS_RESULT_DIAGNOSIS);
    assert_int_equal(j.result_id, 0);
    hs_job_rec_free(&j);
    assert_int_equal(diagnoses_listed(f->store, eva, 0, 1), 1);
    assert_int_equal(hs_store_diagnosis_set_deleted(f->store, kept.id, eva, 0,
                                                    -3, &err),
                     HS_ERR_INVALID);
}

/* ---- transactions ------------------------------------------------------ */

/* A transaction body that writes one record of each kind, checks that its
 * reads see its own writes, tries to nest, and then fails - unless told to
 * commit. */
typedef struct write_txn {
    hs_user *u;
    int commit;
    hs_status nested; /* what the nested transact returned */
} write_txn;

static hs_status nested_body(hs_store *store, void *arg, hs_error *err)
{
    (void)store;
    (void)arg;
    (void)err;
    fail_msg("a nested transaction body must never run");
    return HS_OK;
}

static hs_status write_then_decide(hs_store *store, void *arg, hs_error *err)
{
    write_txn *t = arg;
    int64_t count = -1;
    hs_error inner = {0};
    assert_int_equal(hs_store_user_create(store, t->u, err), HS_OK);
    assert_int_equal(
        hs_store_event_add(store, t->u->id, "login_failed", 5, NULL, err),
        HS_OK);
    assert_int_equal(hs_store_notification_add(store, "account_locked", "m",
                                               t->u->id, 5, NULL, err),
                     HS_OK);
    /* Reads inside see the transaction's own writes. */
    assert_int_equal(hs_store_user_count(store, &count, err), HS_OK);
    assert_int_equal(count, 1);
    /* Nesting is refused and leaves this transaction alone. */
    t->nested = hs_store_transact(store, nested_body, NULL, &inner);
    assert_non_null(strstr(inner.message, "nest"));
    if (t->commit)
        return HS_OK;
    return hs_fail(err, HS_ERR_CONFLICT, "changed my mind");
}

/* A transaction body in which one operation fails and the body goes on:
 * the failure does not end the transaction. */
static hs_status survive_a_failure(hs_store *store, void *arg, hs_error *err)
{
    hs_user *u = arg;
    hs_user dup = *u;
    hs_error ignored = {0};
    assert_int_equal(hs_store_user_create(store, &dup, &ignored),
                     HS_ERR_CONFLICT);
    assert_int_equal(dup.id, 0); /* outputs are cleared on error */
    return hs_store_event_add(store, u->id, "unlocked", 7, NULL, err);
}

static void test_transactions(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_user u = make_user("henry", 0, 1), got;
    int64_t count = -1;
    hs_notification *list = NULL;
    hs_account_event *events = NULL;
    size_t n = 0;
    write_txn t = {&u, 0, HS_OK};

    /* Rollback discards every kind of write made inside, and hands back
     * the body's status and message. */
    assert_int_equal(hs_store_transact(f->store, write_then_decide, &t, &err),
                     HS_ERR_CONFLICT);
    assert_string_equal(err.message, "changed my mind");
    assert_int_equal(t.nested, HS_ERR_INVALID);
    assert_int_equal(hs_store_user_count(f->store, &count, &err), HS_OK);
    assert_int_equal(count, 0);
    assert_int_equal(hs_store_user_get_by_name(f->store, "henry", &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_notification_list(f->store, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(hs_store_event_list(f->store, 0, &events, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    free(events);

    /* Commit keeps them (a refused nested transact did not spoil it). */
    t.commit = 1;
    assert_int_equal(hs_store_transact(f->store, write_then_decide, &t, &err),
                     HS_OK);
    assert_int_equal(t.nested, HS_ERR_INVALID);
    assert_int_equal(hs_store_user_get_by_name(f->store, "henry", &got, &err),
                     HS_OK);
    assert_users_equal(&got, &u);
    assert_int_equal(hs_store_notification_list(f->store, 0, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    free(list);

    /* A failing operation inside does not end the transaction. */
    assert_int_equal(hs_store_transact(f->store, survive_a_failure, &u, &err),
                     HS_OK);
    assert_int_equal(hs_store_event_list(f->store, u.id, &events, &n, &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_string_equal(events[0].kind, "unlocked");
    free(events);

    /* Bad arguments. */
    assert_int_equal(hs_store_transact(f->store, NULL, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_transact(NULL, survive_a_failure, &u, &err),
                     HS_ERR_INVALID);
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

typedef struct owned_txn {
    txn_peer *peer;
    pthread_t thread;
} owned_txn;

/* Writes, starts the peer, gives it time to reach the store, and fails. */
static hs_status write_start_peer_fail(hs_store *store, void *arg,
                                       hs_error *err)
{
    owned_txn *t = arg;
    hs_user mine = make_user("mine", 0, 1);
    assert_int_equal(hs_store_user_create(store, &mine, err), HS_OK);
    assert_int_equal(pthread_create(&t->thread, NULL, txn_peer_main, t->peer),
                     0);
    usleep(50 * 1000);
    return hs_fail(err, HS_ERR_CONFLICT, "changed my mind");
}

static void test_transaction_owned_by_thread(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_user got;
    txn_peer peer = {f->store, HS_ERR_INTERNAL};
    owned_txn t = {&peer, 0};

    assert_int_equal(
        hs_store_transact(f->store, write_start_peer_fail, &t, &err),
        HS_ERR_CONFLICT);
    assert_int_equal(pthread_join(t.thread, NULL), 0);
    assert_int_equal(peer.status, HS_OK);
    assert_int_equal(hs_store_user_get_by_name(f->store, "peer", &got, &err),
                     HS_OK);
    assert_int_equal(hs_store_user_get_by_name(f->store, "mine", &got, &err),
                     HS_ERR_NOTFOUND);
}

/* ---- concurrency ------------------------------------------------------- */

typedef struct worker {
    hs_store *store;
    int index;
    int iterations;
    int failures; /* operations that did not return HS_OK */
    hs_error last_error;
} worker;

typedef struct user_txn {
    hs_user *u;
    hs_session *s;
} user_txn;

/* A user, a session and an event: in a transaction or one by one. */
static hs_status add_user_session_event(hs_store *store, void *arg,
                                        hs_error *err)
{
    user_txn *t = arg;
    hs_status hs = hs_store_user_create(store, t->u, err);
    if (hs != HS_OK)
        return hs;
    t->s->user_id = t->u->id;
    if ((hs = hs_store_session_create(store, t->s, err)) != HS_OK)
        return hs;
    return hs_store_event_add(store, t->u->id, "login_failed",
                              t->u->created_at + 1000, NULL, err);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < w->iterations; i++) {
        char name[64];
        hs_user u;
        hs_session s;
        hs_error err = {0};
        user_txn t = {&u, &s};
        hs_status hs;

        snprintf(name, sizeof name, "w%d-u%d", w->index, i);
        u = make_user(name, i % 2, 1000 + i);
        s = make_session(0, (unsigned)(w->index * 100000 + i), 5000 + i);
        hs = i % 4 == 0
                 ? hs_store_transact(w->store, add_user_session_event, &t, &err)
                 : add_user_session_event(w->store, &t, &err);
        if (hs != HS_OK) {
            w->failures++;
            w->last_error = err;
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

/* ---- the ops table ----------------------------------------------------- */

/* A backend of this interface version fills in every member (store.h:
 * "How the interface grows"). */
/* ---- topologies and analyses (version 6) ------------------------------ */

/* The ids a list of topologies holds, in order ("3,1"). */
static const char *listed_topologies(hs_store *store, hs_id viewer,
                                     int admin, int include_deleted,
                                     char *buf, size_t cap)
{
    hs_topology_rec *items = NULL;
    size_t n = 0, used = 0;
    hs_error err = {0};
    assert_int_equal(hs_store_topology_list(store, viewer, admin,
                                            include_deleted, &items, &n, &err),
                     HS_OK);
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%lld",
                                 i ? "," : "", (long long)items[i].id);
    hs_topology_list_free(items, n);
    return buf;
}

static void test_topologies(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0), bob = add_user(f->store, "bob", 0);
    hs_id admin = add_user(f->store, "root", 1);
    hs_topology_rec a = make_topology(ann, "shop.json", 2, 100);
    hs_topology_rec b = make_topology(ann, "edges.csv", 3, 200);
    hs_topology_rec c = make_topology(bob, "bob.json", 4, 300), got;
    char buf[64], want[64];

    a.deleted_at = 9; /* a new topology is live whatever it says */
    assert_int_equal(hs_store_topology_create(f->store, &a, &err), HS_OK);
    assert_int_equal(a.deleted_at, 0);
    assert_int_equal(hs_store_topology_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_topology_create(f->store, &c, &err), HS_OK);
    assert_true(a.id > 0 && b.id > a.id && c.id > b.id);
    assert_int_equal(hs_store_topology_get(f->store, a.id, ann, 0, &got, &err),
                     HS_OK);
    assert_topologies_equal(&got, &a);
    assert_true(got.kinds_json != a.kinds_json); /* a copy */
    hs_topology_rec_free(&got);

    /* The access rule: to another user it does not exist. */
    assert_int_equal(hs_store_topology_get(f->store, a.id, bob, 0, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "topology 1 does not exist");
    assert_null(got.kinds_json);
    assert_int_equal(hs_store_topology_get(f->store, a.id, admin, 1, &got,
                                           &err),
                     HS_OK);
    hs_topology_rec_free(&got);
    snprintf(want, sizeof want, "%lld,%lld", (long long)b.id, (long long)a.id);
    assert_string_equal(listed_topologies(f->store, ann, 0, 0, buf, sizeof buf),
                        want);
    snprintf(want, sizeof want, "%lld,%lld,%lld", (long long)c.id,
             (long long)b.id, (long long)a.id);
    assert_string_equal(
        listed_topologies(f->store, admin, 1, 0, buf, sizeof buf), want);

    /* The trash: out of lists unless asked, restored by owner or admin. */
    assert_int_equal(hs_store_topology_set_deleted(f->store, a.id, bob, 0, 50,
                                                   &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_topology_set_deleted(f->store, a.id, ann, 0, 50,
                                                   &err),
                     HS_OK);
    snprintf(want, sizeof want, "%lld", (long long)b.id);
    assert_string_equal(listed_topologies(f->store, ann, 0, 0, buf, sizeof buf),
                        want);
    snprintf(want, sizeof want, "%lld,%lld", (long long)b.id, (long long)a.id);
    assert_string_equal(listed_topologies(f->store, ann, 0, 1, buf, sizeof buf),
                        want);
    assert_int_equal(hs_store_topology_set_deleted(f->store, a.id, admin, 1, 0,
                                                   &err),
                     HS_OK);
    assert_int_equal(hs_store_topology_set_deleted(f->store, a.id, ann, 0, -1,
                                                   &err),
                     HS_ERR_INVALID);

    /* Conflicts, missing owners, bad records. */
    {
        hs_topology_rec bad = make_topology(ann, "again", 2, 400);
        assert_int_equal(hs_store_topology_create(f->store, &bad, &err),
                         HS_ERR_CONFLICT);
        bad = make_topology(4242, "orphan", 9, 400);
        assert_int_equal(hs_store_topology_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        assert_string_equal(err.message, "user 4242 does not exist");
        bad = make_topology(ann, "x", 10, 400);
        snprintf(bad.format, sizeof bad.format, "xml");
        assert_int_equal(hs_store_topology_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_topology(ann, "x", 11, 400);
        bad.nodes = 0;
        assert_int_equal(hs_store_topology_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_topology(ann, "x", 12, 400);
        bad.bidirectional_edges = bad.edges + 1;
        assert_int_equal(hs_store_topology_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_topology(ann, "x", 13, 400);
        bad.kinds_json = "[1]";
        assert_int_equal(hs_store_topology_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_topology(ann, "", 14, 400);
        assert_int_equal(hs_store_topology_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
    }
    snprintf(want, sizeof want, "%lld,%lld", (long long)b.id, (long long)a.id);
    assert_string_equal(listed_topologies(f->store, ann, 0, 1, buf, sizeof buf),
                        want); /* nothing slipped in */
}

/* A job of `type` that names topology t (and, when done, its result). */
static hs_id add_rca_job(hs_store *store, hs_id owner, hs_id topology,
                         hs_id analysis)
{
    hs_job_rec j = make_job(owner, "rca", 100);
    hs_error err = {0};
    snprintf(j.type, sizeof j.type, "rca");
    j.topology_id = topology;
    if (analysis) {
        j.state = HS_JOB_SUCCEEDED;
        snprintf(j.result_kind, sizeof j.result_kind, HS_RESULT_ANALYSIS);
        j.result_id = analysis;
    }
    assert_int_equal(hs_store_job_create(store, &j, &err), HS_OK);
    return j.id;
}

static hs_job_rec job_of(hs_store *store, hs_id id)
{
    hs_job_rec j;
    hs_error err = {0};
    assert_int_equal(hs_store_job_get(store, id, 0, 1, &j, &err), HS_OK);
    return j;
}

static void test_job_topology(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_topology_rec t = make_topology(ann, "t", 1, 100);
    assert_int_equal(hs_store_topology_create(f->store, &t, &err), HS_OK);
    hs_id job = add_rca_job(f->store, ann, t.id, 0);
    hs_job_rec got = job_of(f->store, job);
    assert_int_equal(got.topology_id, t.id);
    assert_string_equal(got.type, "rca");
    hs_job_rec_free(&got);

    /* A topology that does not exist is refused; none is 0. */
    hs_job_rec j = make_job(ann, "x", 100);
    j.topology_id = 999;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_ERR_NOTFOUND);
    j.topology_id = -1;
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_ERR_INVALID);
    got = job_of(f->store, add_job(f->store, ann, 100));
    assert_int_equal(got.topology_id, 0);
    hs_job_rec_free(&got);
}

static void test_analyses(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0), bob = add_user(f->store, "bob", 0);
    hs_id admin = add_user(f->store, "root", 1);
    hs_id model = add_model(f->store, ann, 1);
    hs_topology_rec t = make_topology(ann, "t", 1, 100);
    assert_int_equal(hs_store_topology_create(f->store, &t, &err), HS_OK);
    hs_analysis_rec a = make_analysis(ann, "a", 1, 100);
    hs_analysis_rec b = make_analysis(ann, "b", 2, 200), got, *list = NULL;
    size_t n = 0;
    a.model_id = model;
    a.topology_id = t.id;
    a.job_id = add_rca_job(f->store, ann, t.id, 0);
    a.deleted_at = 5;
    a.model_deleted_at = 6; /* read only */
    assert_int_equal(hs_store_analysis_create(f->store, &a, &err), HS_OK);
    assert_int_equal(a.deleted_at, 0);
    assert_int_equal(a.model_deleted_at, 0);
    assert_int_equal(hs_store_analysis_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_analysis_get(f->store, a.id, ann, 0, &got, &err),
                     HS_OK);
    assert_analyses_equal(&got, &a);
    hs_analysis_rec_free(&got);
    assert_int_equal(hs_store_analysis_get(f->store, a.id, bob, 0, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "analysis 1 does not exist");

    /* Newest first; the model's trash shows through. */
    assert_int_equal(hs_store_model_set_deleted(f->store, model, ann, 0, 700,
                                                &err),
                     HS_OK);
    assert_int_equal(
        hs_store_analysis_list(f->store, admin, 1, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, b.id);
    assert_int_equal(list[1].id, a.id);
    assert_int_equal(list[1].model_deleted_at, 700);
    assert_int_equal(list[0].model_deleted_at, 0);
    assert_null(list[1].model_class_names_json);
    hs_analysis_list_free(list, n);

    /* The model's class names as they are now. */
    assert_int_equal(hs_store_model_class_names_put(
                         f->store, model, ann, 0,
                         "{\"disk_full\":{\"name\":\"Disk full\"}}", &err),
                     HS_OK);
    assert_int_equal(hs_store_analysis_get(f->store, a.id, ann, 0, &got, &err),
                     HS_OK);
    assert_same_text(got.model_class_names_json,
                     "{\"disk_full\":{\"name\":\"Disk full\"}}");
    hs_analysis_rec_free(&got);
    assert_null(got.model_class_names_json);

    /* The trash. */
    assert_int_equal(hs_store_analysis_set_deleted(f->store, a.id, bob, 0, 50,
                                                   &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_analysis_set_deleted(f->store, a.id, ann, 0, 50,
                                                   &err),
                     HS_OK);
    assert_int_equal(
        hs_store_analysis_list(f->store, ann, 0, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    hs_analysis_list_free(list, n);
    assert_int_equal(
        hs_store_analysis_list(f->store, ann, 0, 1, &list, &n, &err), HS_OK);
    assert_int_equal(n, 2);
    hs_analysis_list_free(list, n);

    /* Bad records: keys shared, top out of range, missing inputs. */
    {
        hs_analysis_rec bad = make_analysis(ann, "x", 3, 300);
        snprintf(bad.json_blob_key, sizeof bad.json_blob_key, "%s",
                 bad.csv_blob_key);
        assert_int_equal(hs_store_analysis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_analysis(ann, "x", 4, 300);
        bad.top = 0;
        assert_int_equal(hs_store_analysis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad.top = -1;
        assert_int_equal(hs_store_analysis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
        bad = make_analysis(ann, "x", 5, 300);
        bad.model_id = 999;
        assert_int_equal(hs_store_analysis_create(f->store, &bad, &err),
                         HS_ERR_NOTFOUND);
        bad = make_analysis(ann, "x", 1, 300); /* a's keys */
        assert_int_equal(hs_store_analysis_create(f->store, &bad, &err),
                         HS_ERR_CONFLICT);
        bad = make_analysis(ann, "x", 6, 300);
        bad.normal[0] = '\0';
        assert_int_equal(hs_store_analysis_create(f->store, &bad, &err),
                         HS_ERR_INVALID);
    }
}

static void test_analysis_delete_and_purge(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0), bob = add_user(f->store, "bob", 0);
    hs_topology_rec t = make_topology(ann, "t", 1, 100);
    assert_int_equal(hs_store_topology_create(f->store, &t, &err), HS_OK);
    hs_analysis_rec a = make_analysis(ann, "a", 1, 100);
    hs_analysis_rec b = make_analysis(ann, "b", 2, 100);
    hs_analysis_rec c = make_analysis(ann, "c", 3, 100), got;
    a.topology_id = b.topology_id = c.topology_id = t.id;
    assert_int_equal(hs_store_analysis_create(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_analysis_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_analysis_create(f->store, &c, &err), HS_OK);
    hs_id job_a = add_rca_job(f->store, ann, t.id, a.id);
    hs_id job_b = add_rca_job(f->store, ann, t.id, b.id);
    hs_id job_gone = add_rca_job(f->store, ann, t.id, 999);
    hs_job_rec j = job_of(f->store, job_gone);
    assert_int_equal(j.result_id, 0); /* no such analysis: stored as none */
    hs_job_rec_free(&j);

    /* A delete hands back the three keys and clears the job's result. */
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_analysis_delete(f->store, a.id, bob, 0, &keys,
                                              &n, &err),
                     HS_ERR_NOTFOUND);
    assert_null(keys);
    assert_int_equal(hs_store_analysis_delete(f->store, a.id, ann, 0, &keys,
                                              &n, &err),
                     HS_OK);
    assert_int_equal(n, 3);
    assert_string_equal(keys[0], a.csv_blob_key);
    assert_string_equal(keys[1], a.json_blob_key);
    assert_string_equal(keys[2], a.incidents_blob_key);
    free(keys);
    assert_int_equal(hs_store_analysis_get(f->store, a.id, ann, 0, &got, &err),
                     HS_ERR_NOTFOUND);
    j = job_of(f->store, job_a);
    assert_string_equal(j.result_kind, HS_RESULT_ANALYSIS);
    assert_int_equal(j.result_id, 0);
    hs_job_rec_free(&j);
    assert_int_equal(hs_store_analysis_delete(f->store, a.id, ann, 0, &keys,
                                              &n, &err),
                     HS_ERR_NOTFOUND);

    /* The purge: only what was trashed before the cutoff. */
    assert_int_equal(hs_store_analysis_set_deleted(f->store, b.id, ann, 0, 100,
                                                   &err),
                     HS_OK);
    assert_int_equal(hs_store_analysis_set_deleted(f->store, c.id, ann, 0, 500,
                                                   &err),
                     HS_OK);
    assert_int_equal(hs_store_analysis_purge(f->store, 200, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 3);
    free(keys);
    assert_int_equal(hs_store_analysis_get(f->store, b.id, ann, 0, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_analysis_get(f->store, c.id, ann, 0, &got, &err),
                     HS_OK);
    hs_analysis_rec_free(&got);
    j = job_of(f->store, job_b);
    assert_int_equal(j.result_id, 0);
    hs_job_rec_free(&j);

    /* A purged topology leaves its analyses and jobs without one. */
    assert_int_equal(hs_store_topology_set_deleted(f->store, t.id, ann, 0, 10,
                                                   &err),
                     HS_OK);
    assert_int_equal(hs_store_topology_purge(f->store, 20, &keys, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(keys[0], t.blob_key);
    free(keys);
    assert_int_equal(hs_store_analysis_get(f->store, c.id, ann, 0, &got, &err),
                     HS_OK);
    assert_int_equal(got.topology_id, 0);
    hs_analysis_rec_free(&got);
    j = job_of(f->store, job_b);
    assert_int_equal(j.topology_id, 0);
    hs_job_rec_free(&j);
}

/* ---- the outbox of alerts (version 9) ----------------------------------- */

/* A message of `channel` to `to` ("" for a webhook), due at `due`. */
static hs_outbox_msg outbox_msg(const char *channel, const char *to,
                                hs_id user_id, int64_t due)
{
    hs_outbox_msg m;
    memset(&m, 0, sizeof m);
    snprintf(m.channel, sizeof m.channel, "%s", channel);
    snprintf(m.kind, sizeof m.kind, "training_failed");
    snprintf(m.recipient, sizeof m.recipient, "%s", to);
    m.user_id = user_id;
    snprintf(m.subject, sizeof m.subject, "Training 7 failed: \xc3\xa9t\xc3\xa9");
    snprintf(m.body, sizeof m.body, "line one\nline two\n.\nend");
    m.created_at = 1700000000;
    m.next_attempt_at = due;
    return m;
}

static void assert_outbox_equal(const hs_outbox_msg *a, const hs_outbox_msg *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->channel, b->channel);
    assert_string_equal(a->kind, b->kind);
    assert_string_equal(a->recipient, b->recipient);
    assert_int_equal(a->user_id, b->user_id);
    assert_string_equal(a->subject, b->subject);
    assert_string_equal(a->body, b->body);
    assert_int_equal(a->created_at, b->created_at);
    assert_string_equal(a->state, b->state);
    assert_int_equal(a->attempts, b->attempts);
    assert_int_equal(a->next_attempt_at, b->next_attempt_at);
    assert_int_equal(a->sent_at, b->sent_at);
    assert_string_equal(a->last_error, b->last_error);
}

/* Messages round-trip exactly (UTF-8, a lone dot line); malformed ones
 * are refused before the backend; an unknown user is not found. */
static void test_outbox_add_get(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_outbox_msg m = outbox_msg(HS_OUTBOX_MAIL, "ann@example.org", ann, 50);
    hs_outbox_msg w = outbox_msg(HS_OUTBOX_WEBHOOK, "", 0, 50), got, bad;

    assert_int_equal(hs_store_outbox_add(f->store, &m, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &w, &err), HS_OK);
    assert_true(m.id > 0 && w.id > m.id);
    assert_string_equal(m.state, HS_OUTBOX_PENDING);
    assert_int_equal(m.attempts, 0);
    assert_int_equal(hs_store_outbox_get(f->store, m.id, &got, &err), HS_OK);
    assert_outbox_equal(&got, &m);
    assert_int_equal(hs_store_outbox_get(f->store, w.id, &got, &err), HS_OK);
    assert_outbox_equal(&got, &w);
    assert_int_equal(hs_store_outbox_get(f->store, w.id + 1, &got, &err),
                     HS_ERR_NOTFOUND);

    bad = outbox_msg("sms", "x", 0, 0);
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = outbox_msg(HS_OUTBOX_MAIL, "", 0, 0); /* a mail needs an address */
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = outbox_msg(HS_OUTBOX_WEBHOOK, "a@b", 0, 0);
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = outbox_msg(HS_OUTBOX_MAIL, "a@b", 0, 0);
    snprintf(bad.subject, sizeof bad.subject, "two\r\nBcc: x@y");
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = outbox_msg(HS_OUTBOX_MAIL, "a@b", 0, 0);
    bad.body[0] = '\0';
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = outbox_msg(HS_OUTBOX_MAIL, "a@b", 0, 0);
    memset(bad.kind, 'k', sizeof bad.kind); /* no NUL */
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = outbox_msg(HS_OUTBOX_MAIL, "a@b", 0, -1);
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = outbox_msg(HS_OUTBOX_MAIL, "a@b", ann + 100, 0);
    assert_int_equal(hs_store_outbox_add(f->store, &bad, &err), HS_ERR_NOTFOUND);
}

/* A claim returns only due pending messages, the earliest due first when
 * more are due than asked for, and holds them; next_due follows. */
static void test_outbox_claim(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_outbox_msg a = outbox_msg(HS_OUTBOX_MAIL, "a@x", 0, 300);
    hs_outbox_msg b = outbox_msg(HS_OUTBOX_MAIL, "b@x", 0, 100);
    hs_outbox_msg c = outbox_msg(HS_OUTBOX_WEBHOOK, "", 0, 200);
    hs_outbox_msg later = outbox_msg(HS_OUTBOX_MAIL, "c@x", 0, 1000);
    hs_outbox_msg *items = NULL, got;
    size_t n = 9;
    int64_t due = -1;

    assert_int_equal(hs_store_outbox_next_due(f->store, &due, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(due, 0);
    assert_int_equal(hs_store_outbox_claim(f->store, 500, 60, 10, &items, &n,
                                           &err), HS_OK);
    assert_int_equal(n, 0);
    free(items);
    assert_int_equal(hs_store_outbox_add(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &c, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &later, &err), HS_OK);
    assert_int_equal(hs_store_outbox_next_due(f->store, &due, &err), HS_OK);
    assert_int_equal(due, 100);

    /* Two asked for, three due: the earliest two (b, c), by id. */
    assert_int_equal(hs_store_outbox_claim(f->store, 500, 60, 2, &items, &n,
                                           &err), HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(items[0].id, b.id);
    assert_int_equal(items[1].id, c.id);
    assert_int_equal(items[0].next_attempt_at, 560);
    assert_string_equal(items[1].channel, HS_OUTBOX_WEBHOOK);
    free(items);
    /* Held: the next claim gets only a. */
    assert_int_equal(hs_store_outbox_claim(f->store, 500, 60, 10, &items, &n,
                                           &err), HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(items[0].id, a.id);
    free(items);
    assert_int_equal(hs_store_outbox_next_due(f->store, &due, &err), HS_OK);
    assert_int_equal(due, 560);
    /* Once the hold ends, they are due again (a sender that died). */
    assert_int_equal(hs_store_outbox_claim(f->store, 560, 60, 10, &items, &n,
                                           &err), HS_OK);
    assert_int_equal(n, 3);
    free(items);
    assert_int_equal(hs_store_outbox_get(f->store, later.id, &got, &err), HS_OK);
    assert_int_equal(got.next_attempt_at, 1000);

    assert_int_equal(hs_store_outbox_claim(f->store, 0, 0, 10, &items, &n,
                                           &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_outbox_claim(f->store, 0, 60, 0, &items, &n,
                                           &err), HS_ERR_INVALID);
    assert_int_equal(hs_store_outbox_claim(f->store, 0, 60,
                                           HS_STORE_OUTBOX_CLAIM_MAX + 1,
                                           &items, &n, &err), HS_ERR_INVALID);
}

/* Sent and failed count attempts; a give-up ends it; neither applies to a
 * message that is no longer pending. */
static void test_outbox_sent_failed(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_outbox_msg a = outbox_msg(HS_OUTBOX_MAIL, "a@x", 0, 0);
    hs_outbox_msg b = outbox_msg(HS_OUTBOX_WEBHOOK, "", 0, 0), got;
    hs_outbox_msg *items = NULL;
    size_t n = 0;
    int64_t due;

    assert_int_equal(hs_store_outbox_add(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_outbox_failed(f->store, a.id,
                                            "connection refused", 40, 0, &err),
                     HS_OK);
    assert_int_equal(hs_store_outbox_get(f->store, a.id, &got, &err), HS_OK);
    assert_string_equal(got.state, HS_OUTBOX_PENDING);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.next_attempt_at, 40);
    assert_string_equal(got.last_error, "connection refused");
    assert_true(got.body[0] != '\0'); /* kept for the retry */
    assert_int_equal(hs_store_outbox_claim(f->store, 39, 60, 10, &items, &n,
                                           &err), HS_OK);
    assert_int_equal(n, 1); /* b only: a waits for its retry */
    assert_int_equal(items[0].id, b.id);
    free(items);

    assert_int_equal(hs_store_outbox_sent(f->store, a.id, 45, &err), HS_OK);
    assert_int_equal(hs_store_outbox_get(f->store, a.id, &got, &err), HS_OK);
    assert_string_equal(got.state, HS_OUTBOX_SENT);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.sent_at, 45);
    assert_string_equal(got.last_error, "connection refused");
    assert_string_equal(got.body, ""); /* delivered: wiped */
    assert_int_equal(hs_store_outbox_sent(f->store, a.id, 46, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_outbox_failed(f->store, a.id, "x", 0, 0, &err),
                     HS_ERR_NOTFOUND);

    assert_int_equal(hs_store_outbox_failed(f->store, b.id, "HTTP 500", 0, 1,
                                            &err), HS_OK);
    assert_int_equal(hs_store_outbox_get(f->store, b.id, &got, &err), HS_OK);
    assert_string_equal(got.state, HS_OUTBOX_FAILED);
    assert_int_equal(got.sent_at, 0);
    assert_string_equal(got.body, ""); /* given up: wiped */
    assert_int_equal(hs_store_outbox_next_due(f->store, &due, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_outbox_claim(f->store, 1 << 30, 60, 10, &items,
                                           &n, &err), HS_OK);
    assert_int_equal(n, 0);
    free(items);
    assert_int_equal(hs_store_outbox_sent(f->store, b.id + 9, 1, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_outbox_failed(f->store, b.id, "", 0, 0, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_outbox_failed(f->store, b.id, "x", -1, 0, &err),
                     HS_ERR_INVALID);
}

/* The purge deletes what is done and older than the cut, never a pending
 * message. */
static void test_outbox_purge(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_outbox_msg sent = outbox_msg(HS_OUTBOX_MAIL, "a@x", 0, 0);
    hs_outbox_msg failed = outbox_msg(HS_OUTBOX_MAIL, "b@x", 0, 0);
    hs_outbox_msg pending = outbox_msg(HS_OUTBOX_MAIL, "c@x", 0, 0);
    hs_outbox_msg young = outbox_msg(HS_OUTBOX_MAIL, "d@x", 0, 0), got;
    int64_t removed = -1;

    young.created_at = 1800000000;
    assert_int_equal(hs_store_outbox_add(f->store, &sent, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &failed, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &pending, &err), HS_OK);
    assert_int_equal(hs_store_outbox_add(f->store, &young, &err), HS_OK);
    assert_int_equal(hs_store_outbox_sent(f->store, sent.id, 1, &err), HS_OK);
    assert_int_equal(hs_store_outbox_failed(f->store, failed.id, "e", 0, 1,
                                            &err), HS_OK);
    assert_int_equal(hs_store_outbox_sent(f->store, young.id, 1, &err), HS_OK);
    assert_int_equal(hs_store_outbox_purge(f->store, 1700000001, &removed, &err),
                     HS_OK);
    assert_int_equal(removed, 2);
    assert_int_equal(hs_store_outbox_get(f->store, sent.id, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_outbox_get(f->store, failed.id, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_outbox_get(f->store, pending.id, &got, &err),
                     HS_OK);
    assert_int_equal(hs_store_outbox_get(f->store, young.id, &got, &err), HS_OK);
}

typedef struct outbox_claimer {
    hs_store *store;
    pthread_barrier_t *start;
    hs_id claimed[64];
    size_t n;
    int failures;
} outbox_claimer;

static void *outbox_claimer_main(void *arg)
{
    outbox_claimer *c = arg;
    hs_error err = {0};
    pthread_barrier_wait(c->start);
    for (;;) {
        hs_outbox_msg *items = NULL;
        size_t n = 0;
        if (hs_store_outbox_claim(c->store, 10, 600, 2, &items, &n, &err) !=
            HS_OK) {
            c->failures++;
            break;
        }
        for (size_t i = 0; i < n && c->n < 64; i++)
            c->claimed[c->n++] = items[i].id;
        free(items);
        if (n == 0)
            break;
    }
    return NULL;
}

#define OUTBOX_CLAIM_MSGS 40

/* Claimers at once never get the same message. */
static void test_outbox_claim_concurrent(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    static outbox_claimer claimers[N_THREADS];
    pthread_t threads[N_THREADS];
    pthread_barrier_t start;
    int times[OUTBOX_CLAIM_MSGS + 1] = {0};
    size_t total = 0;

    for (int i = 0; i < OUTBOX_CLAIM_MSGS; i++) {
        hs_outbox_msg m = outbox_msg(HS_OUTBOX_WEBHOOK, "", 0, i % 7);
        assert_int_equal(hs_store_outbox_add(f->store, &m, &err), HS_OK);
        assert_int_equal(m.id, i + 1);
    }
    assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
    for (int t = 0; t < N_THREADS; t++) {
        memset(&claimers[t], 0, sizeof claimers[t]);
        claimers[t].store = f->store;
        claimers[t].start = &start;
        assert_int_equal(pthread_create(&threads[t], NULL, outbox_claimer_main,
                                        &claimers[t]),
                         0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(claimers[t].failures, 0);
        for (size_t i = 0; i < claimers[t].n; i++)
            times[claimers[t].claimed[i]]++;
        total += claimers[t].n;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(total, OUTBOX_CLAIM_MSGS);
    for (int id = 1; id <= OUTBOX_CLAIM_MSGS; id++)
        if (times[id] != 1)
            fail_msg("message %d was claimed %d times", id, times[id]);
}

/* ---- the audit log and the refusal tallies (version 12) ---------------- */

static hs_audit_rec make_audit(int64_t at, hs_id actor, const char *actor_name,
                               const char *action, hs_id target)
{
    hs_audit_rec a;
    memset(&a, 0, sizeof a);
    a.at = at;
    a.actor_id = actor;
    snprintf(a.actor_name, sizeof a.actor_name, "%s", actor_name);
    snprintf(a.action, sizeof a.action, "%s", action);
    snprintf(a.target_kind, sizeof a.target_kind, "user");
    a.target_id = target;
    snprintf(a.target_name, sizeof a.target_name, "target-%lld",
             (long long)target);
    snprintf(a.address, sizeof a.address, "2001:db8::1");
    snprintf(a.detail, sizeof a.detail, "detail of %s", action);
    return a;
}

static void assert_audit_equal(const hs_audit_rec *got,
                               const hs_audit_rec *want)
{
    assert_int_equal(got->id, want->id);
    assert_int_equal(got->at, want->at);
    assert_int_equal(got->actor_id, want->actor_id);
    assert_string_equal(got->actor_name, want->actor_name);
    assert_string_equal(got->action, want->action);
    assert_string_equal(got->target_kind, want->target_kind);
    assert_int_equal(got->target_id, want->target_id);
    assert_string_equal(got->target_name, want->target_name);
    assert_string_equal(got->address, want->address);
    assert_string_equal(got->detail, want->detail);
}

static size_t audit_count(hs_store *store, const hs_audit_filter *f,
                          hs_audit_rec **out)
{
    hs_audit_rec *items = NULL;
    size_t n = 99;
    hs_error err = {0};
    assert_int_equal(hs_store_audit_list(store, f, &items, &n, &err), HS_OK);
    if (out)
        *out = items;
    else
        free(items);
    return n;
}

static void test_audit_log(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id root = add_user(f->store, "root", 1);
    hs_id bob = add_user(f->store, "bob", 0);
    hs_audit_rec a = make_audit(100, root, "root", "user_created", bob);
    hs_audit_rec b = make_audit(200, root, "root", "user_disabled", bob);
    hs_audit_rec c = make_audit(300, 0, "command line", "user_created", root);
    c.address[0] = '\0';
    c.target_name[0] = '\0';
    c.detail[0] = '\0';
    assert_int_equal(hs_store_audit_add(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_audit_add(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_audit_add(f->store, &c, &err), HS_OK);
    assert_true(a.id > 0 && b.id > a.id && c.id > b.id);

    /* Round trip, newest first. */
    hs_audit_filter all = {.limit = 10};
    hs_audit_rec *items = NULL;
    assert_int_equal(audit_count(f->store, &all, &items), 3);
    assert_int_equal(items[0].id, c.id);
    assert_int_equal(items[2].id, a.id);
    assert_audit_equal(&items[1], &b);
    assert_audit_equal(&items[0], &c);
    free(items);

    /* Filters: action, actor, since/until, before id, limit. */
    hs_audit_filter by_action = {.action = "user_created", .limit = 10};
    assert_int_equal(audit_count(f->store, &by_action, NULL), 2);
    hs_audit_filter by_actor = {.actor_name = "root", .limit = 10};
    assert_int_equal(audit_count(f->store, &by_actor, NULL), 2);
    hs_audit_filter window = {.since = 200, .until = 300, .limit = 10};
    assert_int_equal(audit_count(f->store, &window, &items), 1);
    assert_int_equal(items[0].id, b.id);
    free(items);
    hs_audit_filter page = {.limit = 2};
    assert_int_equal(audit_count(f->store, &page, &items), 2);
    page.before_id = items[1].id;
    free(items);
    assert_int_equal(audit_count(f->store, &page, &items), 1);
    assert_int_equal(items[0].id, a.id);
    free(items);

    /* Bad arguments never reach the backend. */
    hs_audit_rec bad = make_audit(1, root, "", "user_created", bob);
    assert_int_equal(hs_store_audit_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = make_audit(-1, root, "root", "user_created", bob);
    assert_int_equal(hs_store_audit_add(f->store, &bad, &err), HS_ERR_INVALID);
    bad = make_audit(1, root, "root", "", bob);
    assert_int_equal(hs_store_audit_add(f->store, &bad, &err), HS_ERR_INVALID);
    hs_audit_filter zero = {.limit = 0};
    hs_audit_rec *none = NULL;
    size_t n = 5;
    assert_int_equal(hs_store_audit_list(f->store, &zero, &none, &n, &err),
                     HS_ERR_INVALID);
    assert_null(none);
    assert_int_equal(n, 0);
    hs_audit_filter huge = {.limit = HS_STORE_LIST_MAX + 1};
    assert_int_equal(hs_store_audit_list(f->store, &huge, &none, &n, &err),
                     HS_ERR_INVALID);
    assert_int_equal(audit_count(f->store, &all, NULL), 3);
}

static hs_tally make_tally(int64_t bucket, const char *route,
                           const char *source, const char *kind, int64_t count)
{
    hs_tally t;
    memset(&t, 0, sizeof t);
    t.bucket = bucket;
    snprintf(t.route, sizeof t.route, "%s", route);
    snprintf(t.source, sizeof t.source, "%s", source);
    snprintf(t.kind, sizeof t.kind, "%s", kind);
    t.count = count;
    return t;
}

static void test_tallies(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    const char *login = "POST /api/v1/auth/login";
    const char *users = "GET /api/v1/users";
    hs_tally batch[] = {
        make_tally(60, login, "10.0.0.1", "unauthorized", 3),
        make_tally(60, users, "10.0.0.1", "forbidden", 1),
        make_tally(120, login, "10.0.0.2", "rate_limited", 2),
        make_tally(600, users, "10.0.0.2", "unauthorized", 4),
    };
    assert_int_equal(hs_store_tally_add(f->store, batch, 4, &err), HS_OK);
    /* The same key again adds up. */
    assert_int_equal(hs_store_tally_add(f->store, batch, 1, &err), HS_OK);
    assert_int_equal(hs_store_tally_add(f->store, NULL, 0, &err), HS_OK);

    hs_tally *rows = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_tally_series(f->store, 0, 1000, 300, &rows, &n,
                                           &err),
                     HS_OK);
    assert_int_equal(n, 4); /* bucket 0: forbidden, rate_limited,
                               unauthorized; bucket 600: unauthorized */
    assert_int_equal(rows[0].bucket, 0);
    assert_string_equal(rows[0].kind, "forbidden");
    assert_int_equal(rows[0].count, 1);
    assert_string_equal(rows[2].kind, "unauthorized");
    assert_int_equal(rows[2].count, 6);
    assert_int_equal(rows[3].bucket, 600);
    assert_int_equal(rows[3].count, 4);
    free(rows);
    /* until is exclusive, since inclusive. */
    assert_int_equal(hs_store_tally_series(f->store, 120, 600, 60, &rows, &n,
                                           &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].bucket, 120);
    free(rows);

    /* Top routes: users (5) before login (8)? no: login 8, users 5. */
    assert_int_equal(hs_store_tally_top(f->store, 0, 1000, 0, 1, &rows, &n,
                                        &err),
                     HS_OK);
    assert_int_equal(n, 2); /* login's two kinds */
    assert_string_equal(rows[0].route, login);
    assert_string_equal(rows[0].kind, "rate_limited");
    assert_int_equal(rows[0].count, 2);
    assert_string_equal(rows[1].kind, "unauthorized");
    assert_int_equal(rows[1].count, 6);
    assert_string_equal(rows[0].source, "");
    free(rows);
    assert_int_equal(hs_store_tally_top(f->store, 0, 1000, 1, 10, &rows, &n,
                                        &err),
                     HS_OK);
    assert_int_equal(n, 4);
    assert_string_equal(rows[0].source, "10.0.0.1"); /* 7 against 6 */
    assert_string_equal(rows[0].route, "");
    assert_string_equal(rows[2].source, "10.0.0.2");
    free(rows);

    /* Prune drops whole buckets before the cutoff. */
    int64_t removed = 0;
    assert_int_equal(hs_store_tally_prune(f->store, 600, &removed, &err), HS_OK);
    assert_int_equal(removed, 3);
    assert_int_equal(hs_store_tally_series(f->store, 0, 1000, 60, &rows, &n,
                                           &err),
                     HS_OK);
    assert_int_equal(n, 1);
    free(rows);

    /* Refusals. */
    hs_tally bad = make_tally(60, login, "10.0.0.1", "unauthorized", 0);
    assert_int_equal(hs_store_tally_add(f->store, &bad, 1, &err),
                     HS_ERR_INVALID);
    bad = make_tally(60, "", "10.0.0.1", "unauthorized", 1);
    assert_int_equal(hs_store_tally_add(f->store, &bad, 1, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_tally_series(f->store, 10, 10, 60, &rows, &n,
                                           &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_tally_series(f->store, 0, 10, 0, &rows, &n,
                                           &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_tally_top(f->store, 0, 10, 0, 0, &rows, &n,
                                        &err),
                     HS_ERR_INVALID);
    assert_null(rows);
    assert_int_equal(hs_store_tally_prune(f->store, -1, NULL, &err),
                     HS_ERR_INVALID);
    /* A batch with one bad tally adds nothing. */
    hs_tally mixed[] = {make_tally(900, login, "10.0.0.9", "forbidden", 1),
                        make_tally(900, login, "10.0.0.9", "", 1)};
    assert_int_equal(hs_store_tally_add(f->store, mixed, 2, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_tally_series(f->store, 900, 1000, 60, &rows, &n,
                                           &err),
                     HS_OK);
    assert_int_equal(n, 0);
    free(rows);
}

static void test_event_series(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id ben = add_user(f->store, "ben", 0);
    assert_int_equal(hs_store_event_add(f->store, ann, HS_EVENT_LOGIN_FAILED,
                                        10, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_store_event_add(f->store, ben, HS_EVENT_LOGIN_FAILED,
                                        50, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_store_event_add(f->store, ben, "locked", 70, NULL,
                                        &err),
                     HS_OK);
    assert_int_equal(hs_store_event_add(f->store, ben, "locked", 5000, NULL,
                                        &err),
                     HS_OK);
    hs_tally *rows = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_event_series(f->store, 0, 1000, 60, &rows, &n,
                                           &err),
                     HS_OK);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].bucket, 0);
    assert_string_equal(rows[0].kind, HS_EVENT_LOGIN_FAILED);
    assert_int_equal(rows[0].count, 2);
    assert_int_equal(rows[1].bucket, 60);
    assert_string_equal(rows[1].kind, "locked");
    assert_int_equal(rows[1].count, 1);
    free(rows);
    assert_int_equal(hs_store_event_series(f->store, 100, 50, 60, &rows, &n,
                                           &err),
                     HS_ERR_INVALID);
}

/* An older backend (a version 11 ops table) keeps neither: every wrapper
 * refuses cleanly, naming it, and touches no table it lacks. */
static void test_security_older_backend(void **state)
{
    fixture *f = *state;
    older_backend older;
    hs_store *old = as_older(f, 11, &older);
    older.ops.audit = NULL;
    older.ops.tallies = NULL;
    hs_error err = {0};
    hs_audit_rec a = make_audit(1, 0, "command line", "user_created", 1);
    assert_int_equal(hs_store_audit_add(old, &a, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "audit log"));
    hs_audit_filter all = {.limit = 10};
    hs_audit_rec *items = NULL;
    size_t n = 3;
    assert_int_equal(hs_store_audit_list(old, &all, &items, &n, &err),
                     HS_ERR_INVALID);
    assert_int_equal(n, 0);
    hs_tally t = make_tally(60, "GET /x", "::1", "forbidden", 1);
    assert_int_equal(hs_store_tally_add(old, &t, 1, &err), HS_ERR_INVALID);
    hs_tally *rows = NULL;
    assert_int_equal(hs_store_tally_series(old, 0, 10, 1, &rows, &n, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_tally_top(old, 0, 10, 0, 1, &rows, &n, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_event_series(old, 0, 10, 1, &rows, &n, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_tally_prune(old, 0, NULL, &err),
                     HS_ERR_INVALID);
}

/* ---- version 13: fair claims, blob references ---------------------------- */

/* Claims job `want` fairly at `now` as WORKER_A. */
static void claim_fair(hs_store *store, hs_id want, int64_t now)
{
    hs_job_rec j;
    hs_error err = {0};
    assert_int_equal(hs_store_job_claim_next_fair(store, WORKER_A, NULL, now,
                                                  LEASE, &j, &err),
                     HS_OK);
    assert_int_equal(j.id, want);
    assert_int_equal(j.state, HS_JOB_RUNNING);
    assert_int_equal(j.started_at, now);
    assert_string_equal(j.worker_id, WORKER_A);
    assert_int_equal(j.lease_expires_at, now + LEASE);
    hs_job_rec_free(&j);
}

static void finish_job(hs_store *store, hs_id id, int64_t now)
{
    hs_error err = {0};
    assert_int_equal(hs_store_job_finish(store, id, WORKER_A, HS_JOB_SUCCEEDED,
                                         NULL, NULL, 0, NULL, now, &err),
                     HS_OK);
}

/* The owner with the fewest running jobs first, then the one whose latest
 * job started longest ago, then the oldest job: one user's backlog never
 * holds up the others, and one user's jobs still run in order. */
static void test_job_claim_fair(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id ben = add_user(f->store, "ben", 0);
    hs_id cat = add_user(f->store, "cat", 0);
    hs_id a[4];
    for (int i = 0; i < 4; i++)
        a[i] = add_job(f->store, ann, 10 + i);
    hs_id b1 = add_job(f->store, ben, 20), c1 = add_job(f->store, cat, 21);
    hs_job_rec got;

    claim_fair(f->store, a[0], 100); /* nobody runs anything: the oldest */
    claim_fair(f->store, b1, 101);   /* ann runs one; ben's is older */
    claim_fair(f->store, c1, 102);
    claim_fair(f->store, a[1], 103); /* only ann waits: she gets a worker */
    /* Types still filter. */
    static const char *const RCA[] = {"rca", NULL};
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, RCA, 104,
                                                  LEASE, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "no job is queued");

    /* All idle again: ben started last at 101, cat at 102, ann at 103. */
    finish_job(f->store, a[0], 110);
    finish_job(f->store, a[1], 110);
    finish_job(f->store, b1, 110);
    finish_job(f->store, c1, 110);
    hs_id c2 = add_job(f->store, cat, 30), b2 = add_job(f->store, ben, 31);
    claim_fair(f->store, b2, 120);
    claim_fair(f->store, c2, 121);
    claim_fair(f->store, a[2], 122);
    claim_fair(f->store, a[3], 123);
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, NULL, 124,
                                                  LEASE, &got, &err),
                     HS_ERR_NOTFOUND);

    /* The wrapper's checks, as claim_next's. */
    assert_int_equal(hs_store_job_claim_next_fair(f->store, "", NULL, 1, LEASE,
                                                  &got, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, NULL, 1,
                                                  0, &got, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, NULL, 1,
                                                  LEASE, NULL, &err),
                     HS_ERR_INVALID);
}

/* 1 when `key` is in the sorted list. */
static int has_key(char (*keys)[HS_STORE_BLOB_KEY_MAX], size_t n,
                   const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(keys[i], key))
            return 1;
    return 0;
}

/* Every key of every record, trashed ones too, once, sorted; gone once
 * its record is purged. */
static void test_blob_refs(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char (*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 7;
    assert_int_equal(hs_store_blob_refs_list(f->store, &keys, &n, &err), HS_OK);
    assert_int_equal(n, 0);
    free(keys);

    hs_id zoe = add_user(f->store, "zoe", 0);
    hs_dataset_rec d = make_dataset(zoe, "refs.csv", 7, 100);
    assert_int_equal(hs_store_dataset_create(f->store, &d, &err), HS_OK);
    hs_model_rec m = make_model(zoe, "refs", 7, 100);
    assert_int_equal(hs_store_model_create(f->store, &m, &err), HS_OK);
    hs_job_rec j = make_job(zoe, "refs", 100);
    snprintf(j.type, sizeof j.type, "diagnose");
    snprintf(j.input_blob_key, sizeof j.input_blob_key, "upload/%032x", 7);
    assert_int_equal(hs_store_job_create(f->store, &j, &err), HS_OK);
    hs_diagnosis_rec dg = make_diagnosis(zoe, m.id, "refs", 7, 100);
    /* the job's input, now the diagnosis's too: listed once */
    snprintf(dg.input_blob_key, sizeof dg.input_blob_key, "upload/%032x", 7);
    assert_int_equal(hs_store_diagnosis_create(f->store, &dg, &err), HS_OK);
    hs_topology_rec t = make_topology(zoe, "refs", 7, 100);
    assert_int_equal(hs_store_topology_create(f->store, &t, &err), HS_OK);
    hs_analysis_rec an = make_analysis(zoe, "refs", 7, 100);
    assert_int_equal(hs_store_analysis_create(f->store, &an, &err), HS_OK);
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, d.id, zoe, 0, 200, &err), HS_OK);

    assert_int_equal(hs_store_blob_refs_list(f->store, &keys, &n, &err), HS_OK);
    const char *want[] = {d.blob_key,         m.blob_key,
                          j.input_blob_key,   dg.blob_key,
                          t.blob_key,         an.csv_blob_key,
                          an.json_blob_key,   an.incidents_blob_key};
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        assert_true(has_key(keys, n, want[i]));
        if (i)
            assert_true(strcmp(keys[i - 1], keys[i]) < 0);
    }
    free(keys);

    char (*purged)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n_purged = 0;
    assert_int_equal(
        hs_store_dataset_purge(f->store, 300, &purged, &n_purged, &err), HS_OK);
    assert_int_equal(n_purged, 1);
    free(purged);
    assert_int_equal(hs_store_blob_refs_list(f->store, &keys, &n, &err), HS_OK);
    assert_int_equal(n, sizeof want / sizeof want[0] - 1);
    assert_false(has_key(keys, n, d.blob_key));
    free(keys);
    assert_int_equal(hs_store_blob_refs_list(f->store, NULL, &n, &err),
                     HS_ERR_INVALID);
}

/* An older backend (a version 12 ops table, claim_next_fair and blob_refs
 * unset): the fair claim falls back to the plain oldest-first claim, and
 * the blob references are refused cleanly, naming the backend. */
static void test_fair_refs_older_backend(void **state)
{
    fixture *f = *state;
    older_backend older;
    hs_store *old = as_older(f, 12, &older);
    older.jobs.claim_next_fair = NULL;
    older.ops.blob_refs = NULL;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id ben = add_user(f->store, "ben", 0);
    hs_id a1 = add_job(f->store, ann, 10), a2 = add_job(f->store, ann, 11);
    add_job(f->store, ben, 12);
    claim_fair(old, a1, 100);
    claim_fair(old, a2, 101); /* oldest first: ben's would be fair */
    char (*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 7;
    assert_int_equal(hs_store_blob_refs_list(old, &keys, &n, &err),
                     HS_ERR_INVALID);
    assert_null(keys);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.message, f->store->ops->name));
}

static void test_ops_table(void **state)
{
    fixture *f = *state;
    const hs_store_ops *ops = f->store->ops;
    assert_int_equal(ops->version, HS_STORE_OPS_VERSION);
    assert_non_null(ops->name);
    assert_true(ops->name[0] != '\0');
    assert_non_null(ops->close);
    assert_non_null(ops->transact);
    assert_non_null(ops->users);
    assert_non_null(ops->users->create);
    assert_non_null(ops->users->get);
    assert_non_null(ops->users->get_by_name);
    assert_non_null(ops->users->list);
    assert_non_null(ops->users->count);
    assert_non_null(ops->users->count_admins);
    assert_non_null(ops->users->update);
    assert_non_null(ops->events);
    assert_non_null(ops->events->add);
    assert_non_null(ops->events->list);
    assert_non_null(ops->events->latest);
    assert_non_null(ops->events->login_failures_since);
    assert_non_null(ops->sessions);
    assert_non_null(ops->sessions->create);
    assert_non_null(ops->sessions->get_by_token_hash);
    assert_non_null(ops->sessions->touch);
    assert_non_null(ops->sessions->remove);
    assert_non_null(ops->sessions->remove_for_user);
    assert_non_null(ops->sessions->remove_expired);
    assert_non_null(ops->notifications);
    assert_non_null(ops->notifications->add);
    assert_non_null(ops->notifications->list);
    assert_non_null(ops->notifications->mark_read);
    assert_non_null(ops->prefs);
    assert_non_null(ops->prefs->get);
    assert_non_null(ops->prefs->set);
    assert_non_null(ops->datasets);
    assert_non_null(ops->datasets->create);
    assert_non_null(ops->datasets->get);
    assert_non_null(ops->datasets->list);
    assert_non_null(ops->datasets->set_deleted);
    assert_non_null(ops->datasets->set_profile);
    assert_non_null(ops->datasets->purge);
    assert_non_null(ops->datasets->finish_ingest);
    assert_non_null(ops->models);
    assert_non_null(ops->models->create);
    assert_non_null(ops->models->get);
    assert_non_null(ops->models->list);
    assert_non_null(ops->models->remove);
    assert_non_null(ops->models->list_with_deleted);
    assert_non_null(ops->models->set_deleted);
    assert_non_null(ops->models->purge);
    assert_non_null(ops->jobs);
    assert_non_null(ops->jobs->create);
    assert_non_null(ops->jobs->get);
    assert_non_null(ops->jobs->list);
    assert_non_null(ops->jobs->cancel);
    assert_non_null(ops->jobs->counts);
    assert_non_null(ops->jobs->owner_counts);
    assert_non_null(ops->jobs->claim_next);
    assert_non_null(ops->jobs->progress);
    assert_non_null(ops->jobs->renew_leases);
    assert_non_null(ops->jobs->finish);
    assert_non_null(ops->jobs->requeue);
    assert_non_null(ops->jobs->recover);
    assert_non_null(ops->jobs->attempt_add);
    assert_non_null(ops->jobs->attempt_list);
    assert_non_null(ops->diagnoses);
    assert_non_null(ops->diagnoses->create);
    assert_non_null(ops->diagnoses->get);
    assert_non_null(ops->diagnoses->list);
    assert_non_null(ops->diagnoses->remove);
    assert_non_null(ops->diagnoses->swap_blob);
    assert_non_null(ops->diagnoses->labels_put);
    assert_non_null(ops->diagnoses->labels_list);
    assert_non_null(ops->diagnoses->list_with_deleted);
    assert_non_null(ops->diagnoses->set_deleted);
    assert_non_null(ops->diagnoses->purge);
    assert_non_null(ops->topologies);
    assert_non_null(ops->topologies->create);
    assert_non_null(ops->topologies->get);
    assert_non_null(ops->topologies->list);
    assert_non_null(ops->topologies->set_deleted);
    assert_non_null(ops->topologies->purge);
    assert_non_null(ops->analyses);
    assert_non_null(ops->analyses->create);
    assert_non_null(ops->analyses->get);
    assert_non_null(ops->analyses->list);
    assert_non_null(ops->analyses->set_deleted);
    assert_non_null(ops->analyses->purge);
    assert_non_null(ops->analyses->remove);
    assert_non_null(ops->logins);
    assert_non_null(ops->logins->backoff_get);
    assert_non_null(ops->logins->backoff_fail);
    assert_non_null(ops->logins->backoff_clear);
    assert_non_null(ops->logins->backoff_purge);
    assert_non_null(ops->logins->unlock_create);
    assert_non_null(ops->logins->unlock_get);
    assert_non_null(ops->logins->unlock_use);
    assert_non_null(ops->logins->unlock_revoke);
    assert_non_null(ops->logins->unlock_purge);
    assert_non_null(ops->logins->sessions_end_others);
    assert_non_null(ops->outbox);
    assert_non_null(ops->outbox->add);
    assert_non_null(ops->outbox->claim);
    assert_non_null(ops->outbox->next_due);
    assert_non_null(ops->outbox->sent);
    assert_non_null(ops->outbox->failed);
    assert_non_null(ops->outbox->get);
    assert_non_null(ops->outbox->purge);
    assert_non_null(ops->ping);
    assert_non_null(ops->sealed);
    assert_non_null(ops->sealed->ids);
    assert_non_null(ops->sealed->get);
    assert_non_null(ops->sealed->put);
    assert_non_null(ops->audit);
    assert_non_null(ops->audit->add);
    assert_non_null(ops->audit->list);
    assert_non_null(ops->tallies);
    assert_non_null(ops->tallies->add);
    assert_non_null(ops->tallies->series);
    assert_non_null(ops->tallies->top);
    assert_non_null(ops->tallies->prune);
    assert_non_null(ops->tallies->event_series);
    assert_non_null(ops->jobs->claim_next_fair);
    assert_non_null(ops->blob_refs);
    assert_non_null(ops->blob_refs->list);
    assert_non_null(ops->jobs->wait_queued);
    assert_non_null(ops->settings);
    assert_non_null(ops->settings->get);
    assert_non_null(ops->settings->put_new);
    assert_non_null(ops->settings->set);
    assert_non_null(ops->datasets->reject_ingest);
    assert_non_null(ops->datasets->reopen_ingest);
}

/* ---- logins: back-off and unlock links (version 8) --------------------- */

static void test_login_backoff(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_backoff_rec b;
    int64_t removed = -1;
    char long_key[HS_BACKOFF_KEY_MAX + 1];

    assert_int_equal(hs_store_backoff_get(f->store, "a:192.0.2.7", &b, &err),
                     HS_ERR_NOTFOUND);
    /* Failures count up while they come within forget_after of the last. */
    assert_int_equal(
        hs_store_backoff_fail(f->store, "a:192.0.2.7", 1000, 900, &b, &err),
        HS_OK);
    assert_string_equal(b.key, "a:192.0.2.7");
    assert_int_equal(b.failures, 1);
    assert_int_equal(b.last_failure_at, 1000);
    assert_int_equal(
        hs_store_backoff_fail(f->store, "a:192.0.2.7", 1899, 900, &b, &err),
        HS_OK);
    assert_int_equal(b.failures, 2);
    assert_int_equal(b.last_failure_at, 1899);
    /* A failure reported late (an older time) counts, keeps the latest. */
    assert_int_equal(
        hs_store_backoff_fail(f->store, "a:192.0.2.7", 1500, 900, NULL, &err),
        HS_OK);
    assert_int_equal(hs_store_backoff_get(f->store, "a:192.0.2.7", &b, &err),
                     HS_OK);
    assert_int_equal(b.failures, 3);
    assert_int_equal(b.last_failure_at, 1899);
    /* forget_after seconds after the last failure the count starts over. */
    assert_int_equal(
        hs_store_backoff_fail(f->store, "a:192.0.2.7", 2799, 900, &b, &err),
        HS_OK);
    assert_int_equal(b.failures, 1);
    assert_int_equal(b.last_failure_at, 2799);
    /* Keys are independent. */
    assert_int_equal(hs_store_backoff_fail(f->store, "u:0011", 2800, 900, &b,
                                           &err),
                     HS_OK);
    assert_int_equal(b.failures, 1);
    assert_int_equal(hs_store_backoff_clear(f->store, "u:0011", &err), HS_OK);
    assert_int_equal(hs_store_backoff_clear(f->store, "u:0011", &err), HS_OK);
    assert_int_equal(hs_store_backoff_get(f->store, "u:0011", &b, &err),
                     HS_ERR_NOTFOUND);
    /* Bad arguments never reach the backend. */
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    assert_int_equal(hs_store_backoff_fail(f->store, long_key, 1, 900, NULL,
                                           &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_backoff_fail(f->store, "", 1, 900, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_backoff_fail(f->store, "k", 1, 0, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_backoff_get(f->store, "k", NULL, &err),
                     HS_ERR_INVALID);
    /* Purge: keys whose last failure is older than `before`. */
    assert_int_equal(hs_store_backoff_fail(f->store, "u:0022", 100, 900, NULL,
                                           &err),
                     HS_OK);
    assert_int_equal(hs_store_backoff_purge(f->store, 2799, &removed, &err),
                     HS_OK);
    assert_int_equal(removed, 1);
    assert_int_equal(hs_store_backoff_get(f->store, "u:0022", &b, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_backoff_get(f->store, "a:192.0.2.7", &b, &err),
                     HS_OK);
}

static hs_unlock_token make_unlock(hs_id user_id, char tag, int64_t at)
{
    hs_unlock_token t;
    memset(&t, 0, sizeof t);
    t.user_id = user_id;
    memset(t.token_hash, tag, HS_STORE_TOKEN_HASH_MAX - 1);
    t.created_at = at;
    t.expires_at = at + 86400;
    t.used_at = 77; /* cleared by the store */
    return t;
}

static void test_unlock_tokens(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id gil = add_user(f->store, "gil", 0);
    hs_id hal = add_user(f->store, "hal", 0);
    hs_unlock_token a = make_unlock(gil, 'a', 1000);
    hs_unlock_token b = make_unlock(gil, 'b', 2000);
    hs_unlock_token c = make_unlock(hal, 'c', 2000);
    hs_unlock_token got;
    int64_t n = -1;

    assert_int_equal(hs_store_unlock_create(f->store, &a, &err), HS_OK);
    assert_true(a.id > 0);
    assert_int_equal(a.used_at, 0);
    assert_int_equal(hs_store_unlock_get(f->store, a.token_hash, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, a.id);
    assert_int_equal(got.user_id, gil);
    assert_string_equal(got.token_hash, a.token_hash);
    assert_int_equal(got.created_at, 1000);
    assert_int_equal(got.expires_at, 1000 + 86400);
    assert_int_equal(got.used_at, 0);
    assert_int_equal(got.revoked_at, 0);
    /* A new link revokes the user's older ones, not other users'. */
    assert_int_equal(hs_store_unlock_create(f->store, &c, &err), HS_OK);
    assert_int_equal(hs_store_unlock_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_unlock_get(f->store, a.token_hash, &got, &err),
                     HS_OK);
    assert_int_equal(got.revoked_at, 2000);
    assert_int_equal(hs_store_unlock_use(f->store, a.id, 2001, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_unlock_get(f->store, c.token_hash, &got, &err),
                     HS_OK);
    assert_int_equal(got.revoked_at, 0);
    /* Used once, then never again. */
    assert_int_equal(hs_store_unlock_use(f->store, b.id, 2001, &err), HS_OK);
    assert_int_equal(hs_store_unlock_use(f->store, b.id, 2002, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_unlock_get(f->store, b.token_hash, &got, &err),
                     HS_OK);
    assert_int_equal(got.used_at, 2001);
    /* Expired at expires_at exactly. */
    assert_int_equal(hs_store_unlock_use(f->store, c.id, 2000 + 86400, &err),
                     HS_ERR_NOTFOUND);
    /* Conflicts, missing users, bad arguments. */
    {
        hs_unlock_token dup = make_unlock(hal, 'c', 3000);
        hs_unlock_token orphan = make_unlock(999, 'z', 3000);
        hs_unlock_token backwards = make_unlock(hal, 'y', 3000);
        backwards.expires_at = 3000;
        assert_int_equal(hs_store_unlock_create(f->store, &dup, &err),
                         HS_ERR_CONFLICT);
        assert_int_equal(hs_store_unlock_create(f->store, &orphan, &err),
                         HS_ERR_NOTFOUND);
        assert_int_equal(hs_store_unlock_create(f->store, &backwards, &err),
                         HS_ERR_INVALID);
        assert_int_equal(hs_store_unlock_get(f->store, "nope", &got, &err),
                         HS_ERR_NOTFOUND);
    }
    /* Revoking all of a user's usable tokens. */
    assert_int_equal(hs_store_unlock_revoke(f->store, hal, 2500, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(hs_store_unlock_use(f->store, c.id, 2501, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_unlock_revoke(f->store, hal, 2600, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    /* Purge: tokens that expired before `before`. */
    assert_int_equal(hs_store_unlock_purge(f->store, 1000 + 86400 + 1, &n,
                                           &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_int_equal(hs_store_unlock_get(f->store, a.token_hash, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_unlock_get(f->store, b.token_hash, &got, &err),
                     HS_OK);
}

static void test_sessions_end_others(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ivy = add_user(f->store, "ivy", 0);
    hs_id jon = add_user(f->store, "jon", 0);
    hs_session a = make_session(ivy, 1, 100), b = make_session(ivy, 2, 100);
    hs_session c = make_session(ivy, 3, 100), d = make_session(jon, 4, 100);
    hs_session got;
    int64_t removed = -1;

    assert_int_equal(hs_store_session_create(f->store, &a, &err), HS_OK);
    assert_int_equal(hs_store_session_create(f->store, &b, &err), HS_OK);
    assert_int_equal(hs_store_session_create(f->store, &c, &err), HS_OK);
    assert_int_equal(hs_store_session_create(f->store, &d, &err), HS_OK);
    assert_int_equal(
        hs_store_session_end_others(f->store, ivy, b.id, &removed, &err),
        HS_OK);
    assert_int_equal(removed, 2);
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, b.token_hash, &got, &err),
        HS_OK);
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, a.token_hash, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, c.token_hash, &got, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_session_get_by_token_hash(f->store, d.token_hash, &got, &err),
        HS_OK);
}

/* ---- ping (version 10) -------------------------------------------------- */

static hs_status ping_inside(hs_store *store, void *arg, hs_error *err)
{
    (void)arg;
    return hs_store_ping(store, err);
}

/* A fresh store answers, inside a transaction too (the caller's own
 * transaction does not block it), and a ping changes nothing; an older
 * backend (the same table claiming version 9) is pinged by its users. */
static void test_ping(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    int64_t users = -1;
    assert_int_equal(hs_store_ping(f->store, &err), HS_OK);
    assert_int_equal(hs_store_transact(f->store, ping_inside, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_store_user_count(f->store, &users, &err), HS_OK);
    assert_int_equal(users, 0);
    assert_int_equal(hs_store_ping(NULL, &err), HS_ERR_INVALID);

    older_backend older;
    hs_store *old = as_older(f, 9, &older);
    older.ops.ping = NULL;
    assert_int_equal(hs_store_ping(old, &err), HS_OK);
}

/* ---- sealed fields (version 11) ----------------------------------------- */

/* The ids of `field`'s non-NULL values, as a comma list "1,2". */
static void sealed_ids_text(hs_store *store, hs_sealed_field field, char *out,
                            size_t cap)
{
    hs_id *ids = NULL;
    size_t n = 0, at = 0;
    hs_error err = {0};
    assert_int_equal(hs_store_sealed_ids(store, field, &ids, &n, &err), HS_OK);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%lld", i ? "," : "",
                               (long long)ids[i]);
    free(ids);
}

/* The store keeps sealed values as opaque text: lists the records that
 * have one, hands one back, and replaces it only from the value the
 * caller read (what `healer rekey` relies on to never lose a value). */
static void test_sealed_fields(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char ids[64], *text = NULL;
    hs_id owner = add_user(f->store, "sealy", 0);
    hs_id d1 = add_dataset(f->store, owner, 1);
    hs_id d2 = add_dataset(f->store, owner, 2);
    hs_id d3 = add_dataset(f->store, owner, 3);
    assert_int_equal(hs_store_dataset_set_profile(f->store, d1, "enc:v1:a", 1,
                                                  1, &err),
                     HS_OK);
    assert_int_equal(hs_store_dataset_set_profile(f->store, d3, "{\"p\":3}", 1,
                                                  1, &err),
                     HS_OK);
    sealed_ids_text(f->store, HS_SEALED_DATASET_PROFILE, ids, sizeof ids);
    char want[64];
    snprintf(want, sizeof want, "%lld,%lld", (long long)d1, (long long)d3);
    assert_string_equal(ids, want); /* d2 has none: not listed */
    (void)d2;

    hs_id m = add_model(f->store, owner, 4);
    snprintf(want, sizeof want, "%lld", (long long)m);
    sealed_ids_text(f->store, HS_SEALED_MODEL_SUMMARY, ids, sizeof ids);
    assert_string_equal(ids, want);
    sealed_ids_text(f->store, HS_SEALED_MODEL_FEEDBACK, ids, sizeof ids);
    assert_string_equal(ids, "");
    hs_diagnosis_rec dg = make_diagnosis(owner, m, "sealed", 5, 100);
    assert_int_equal(hs_store_diagnosis_create(f->store, &dg, &err), HS_OK);
    snprintf(want, sizeof want, "%lld", (long long)dg.id);
    sealed_ids_text(f->store, HS_SEALED_DIAGNOSIS_SUMMARY, ids, sizeof ids);
    assert_string_equal(ids, want);

    /* get, then a compare-and-swap put. */
    assert_int_equal(hs_store_sealed_get(f->store, HS_SEALED_DATASET_PROFILE,
                                         d1, &text, &err),
                     HS_OK);
    assert_string_equal(text, "enc:v1:a");
    free(text);
    assert_int_equal(hs_store_sealed_put(f->store, HS_SEALED_DATASET_PROFILE,
                                         d1, "enc:v1:stale", "enc:v1:b", &err),
                     HS_ERR_CONFLICT);
    assert_int_equal(hs_store_sealed_put(f->store, HS_SEALED_DATASET_PROFILE,
                                         d1, "enc:v1:a", "enc:v1:b", &err),
                     HS_OK);
    assert_int_equal(hs_store_sealed_get(f->store, HS_SEALED_DATASET_PROFILE,
                                         d1, &text, &err),
                     HS_OK);
    assert_string_equal(text, "enc:v1:b");
    free(text);
    hs_dataset_rec got;
    assert_int_equal(hs_store_dataset_get(f->store, d1, owner, 0, &got, &err),
                     HS_OK);
    assert_string_equal(got.profile_json, "enc:v1:b");
    hs_dataset_rec_free(&got);
    assert_int_equal(hs_store_sealed_put(f->store, HS_SEALED_MODEL_SUMMARY, m,
                                         "{\"algo\":\"gbdt\",\"rounds\":100}",
                                         "enc:v1:m", &err),
                     HS_OK);
    assert_int_equal(hs_store_sealed_get(f->store, HS_SEALED_MODEL_SUMMARY, m,
                                         &text, &err),
                     HS_OK);
    assert_string_equal(text, "enc:v1:m");
    free(text);
    /* A NULL value reads as NULL; missing records and bad fields. */
    assert_int_equal(hs_store_sealed_get(f->store, HS_SEALED_MODEL_FEEDBACK, m,
                                         &text, &err),
                     HS_OK);
    assert_null(text);
    assert_int_equal(hs_store_sealed_get(f->store, HS_SEALED_DATASET_PROFILE,
                                         9999, &text, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_sealed_put(f->store, HS_SEALED_DATASET_PROFILE,
                                         9999, "a", "b", &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_sealed_put(f->store, HS_SEALED_DATASET_PROFILE,
                                         d1, NULL, "b", &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_sealed_get(f->store, HS_SEALED_FIELDS, d1, &text,
                                         &err),
                     HS_ERR_INVALID);
    hs_id *none = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_sealed_ids(f->store, (hs_sealed_field)-1, &none,
                                         &n, &err),
                     HS_ERR_INVALID);
    assert_null(none);
}

/* ---- shared settings and queue news (version 14) ------------------------ */

static void test_settings(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char *value = (char *)1, *stored = (char *)1;

    assert_int_equal(hs_store_setting_get(f->store, "csrf-key", &value, &err),
                     HS_ERR_NOTFOUND);
    assert_null(value);
    /* The first put_new wins and every later one is told its value. */
    assert_int_equal(hs_store_setting_put_new(f->store, "csrf-key", "first",
                                              100, &stored, &err),
                     HS_OK);
    assert_string_equal(stored, "first");
    free(stored);
    assert_int_equal(hs_store_setting_put_new(f->store, "csrf-key", "second",
                                              200, &stored, &err),
                     HS_OK);
    assert_string_equal(stored, "first");
    free(stored);
    assert_int_equal(hs_store_setting_get(f->store, "csrf-key", &value, &err),
                     HS_OK);
    assert_string_equal(value, "first");
    free(value);
    /* set overwrites; other names are apart; an empty value is a value. */
    assert_int_equal(hs_store_setting_set(f->store, "csrf-key", "third", 300,
                                          &err),
                     HS_OK);
    assert_int_equal(hs_store_setting_set(f->store, "other", "", 300, &err),
                     HS_OK);
    assert_int_equal(hs_store_setting_get(f->store, "csrf-key", &value, &err),
                     HS_OK);
    assert_string_equal(value, "third");
    free(value);
    assert_int_equal(hs_store_setting_get(f->store, "other", &value, &err),
                     HS_OK);
    assert_string_equal(value, "");
    free(value);
    assert_int_equal(hs_store_setting_put_new(f->store, "other", "x", 400,
                                              &stored, &err),
                     HS_OK);
    assert_string_equal(stored, "");
    free(stored);
}

static void test_settings_limits(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    char *value = NULL, *stored = NULL;
    char long_key[HS_SETTING_KEY_MAX + 1];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    char *big = malloc(HS_SETTING_VALUE_MAX + 1);
    assert_non_null(big);
    memset(big, 'v', HS_SETTING_VALUE_MAX);
    big[HS_SETTING_VALUE_MAX] = '\0';

    assert_int_equal(hs_store_setting_get(f->store, "", &value, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_setting_get(f->store, long_key, &value, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_setting_set(f->store, "k", big, 1, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_setting_put_new(f->store, "k", big, 1, &stored,
                                              &err),
                     HS_ERR_INVALID);
    assert_null(stored);
    assert_int_equal(hs_store_setting_set(f->store, "k", NULL, 1, &err),
                     HS_ERR_INVALID);
    /* The largest value and name fit, and read back whole. */
    big[HS_SETTING_VALUE_MAX - 1] = '\0';
    long_key[HS_SETTING_KEY_MAX - 1] = '\0';
    assert_int_equal(hs_store_setting_set(f->store, long_key, big, 1, &err),
                     HS_OK);
    assert_int_equal(hs_store_setting_get(f->store, long_key, &value, &err),
                     HS_OK);
    assert_string_equal(value, big);
    free(value);
    free(big);
    assert_int_equal(hs_store_setting_get(f->store, "k", &value, &err),
                     HS_ERR_NOTFOUND);

    /* An older backend has no settings: refused, naming it. */
    older_backend older;
    hs_store *old = as_older(f, 13, &older);
    older.ops.settings = NULL;
    assert_int_equal(hs_store_setting_get(old, "k", &value, &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, f->store->ops->name));
    assert_int_equal(hs_store_setting_put_new(old, "k", "v", 1, &stored, &err),
                     HS_ERR_INVALID);
    assert_null(stored);
}

typedef struct setting_racer {
    hs_store *store;
    pthread_barrier_t *start;
    char mine[32];
    char *got;
    hs_status st;
} setting_racer;

static void *setting_racer_main(void *arg)
{
    setting_racer *r = arg;
    hs_error err = {0};
    pthread_barrier_wait(r->start);
    r->st = hs_store_setting_put_new(r->store, "shared", r->mine, 10, &r->got,
                                     &err);
    return NULL;
}

static void test_settings_put_new_concurrent(void **state)
{
    fixture *f = *state;
    setting_racer racers[N_THREADS];
    pthread_t threads[N_THREADS];
    pthread_barrier_t start;
    hs_error err = {0};
    char *value = NULL;
    assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
    for (int t = 0; t < N_THREADS; t++) {
        memset(&racers[t], 0, sizeof racers[t]);
        racers[t].store = f->store;
        racers[t].start = &start;
        snprintf(racers[t].mine, sizeof racers[t].mine, "value-%d", t);
        assert_int_equal(pthread_create(&threads[t], NULL, setting_racer_main,
                                        &racers[t]),
                         0);
    }
    for (int t = 0; t < N_THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    pthread_barrier_destroy(&start);
    /* One of them won, and everybody was told the winner. */
    assert_int_equal(hs_store_setting_get(f->store, "shared", &value, &err),
                     HS_OK);
    assert_int_equal(strncmp(value, "value-", 6), 0);
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(racers[t].st, HS_OK);
        assert_string_equal(racers[t].got, value);
        free(racers[t].got);
    }
    free(value);
}

/* What every backend promises of wait_queued; whether news comes is the
 * backend's own test (SQLite never has any). */
static void test_job_wait_queued(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    int notified = 7;
    double t0 = hl_clock_monotonic();
    assert_int_equal(hs_store_job_wait_queued(f->store, 0, &notified, &err),
                     HS_OK);
    assert_true(notified == 0 || notified == 1);
    assert_true(hl_clock_monotonic() - t0 < 1.0);
    assert_int_equal(hs_store_job_wait_queued(f->store, -1, &notified, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_wait_queued(f->store, 60001, &notified, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_wait_queued(f->store, 10, NULL, &err),
                     HS_ERR_INVALID);
    /* An older backend has no news: none, at once. */
    older_backend older;
    hs_store *old = as_older(f, 13, &older);
    older.jobs.wait_queued = NULL;
    notified = 7;
    assert_int_equal(hs_store_job_wait_queued(old, 5000, &notified, &err),
                     HS_OK);
    assert_int_equal(notified, 0);
}

/* ---- version 15: what a job made ------------------------------------------ */

/* result_of finds the newest live record of a kind a job made, other than
 * the one given, and nothing for a job that made none, for another job,
 * or in the trash; an older backend cannot tell: none. */
static void test_job_result_of(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_job_rec train = make_job(ann, "train", 10), idle = make_job(ann, "idle", 11);
    assert_int_equal(hs_store_job_create(f->store, &train, &err), HS_OK);
    assert_int_equal(hs_store_job_create(f->store, &idle, &err), HS_OK);
    hs_model_rec first = make_model(ann, "first", 1, 20);
    hs_model_rec second = make_model(ann, "second", 2, 21);
    hs_model_rec unrelated = make_model(ann, "unrelated", 3, 22);
    first.job_id = second.job_id = train.id;
    assert_int_equal(hs_store_model_create(f->store, &first, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &second, &err), HS_OK);
    assert_int_equal(hs_store_model_create(f->store, &unrelated, &err), HS_OK);
    hs_diagnosis_rec d = make_diagnosis(ann, second.id, "d", 1, 30);
    d.job_id = idle.id;
    assert_int_equal(hs_store_diagnosis_create(f->store, &d, &err), HS_OK);
    hs_topology_rec t = make_topology(ann, "t", 1, 100);
    assert_int_equal(hs_store_topology_create(f->store, &t, &err), HS_OK);
    hs_analysis_rec a = make_analysis(ann, "a", 1, 100);
    a.job_id = add_rca_job(f->store, ann, t.id, 0);
    assert_int_equal(hs_store_analysis_create(f->store, &a, &err), HS_OK);

    hs_id got = -1;
    assert_int_equal(hs_store_job_result_of(f->store, train.id, HS_RESULT_MODEL,
                                            0, &got, &err),
                     HS_OK);
    assert_int_equal(got, second.id);
    /* Other than the job's own result: the second one. */
    assert_int_equal(hs_store_job_result_of(f->store, train.id, HS_RESULT_MODEL,
                                            second.id, &got, &err),
                     HS_OK);
    assert_int_equal(got, first.id);
    assert_int_equal(hs_store_job_result_of(f->store, idle.id,
                                            HS_RESULT_DIAGNOSIS, 0, &got, &err),
                     HS_OK);
    assert_int_equal(got, d.id);
    assert_int_equal(hs_store_job_result_of(f->store, a.job_id,
                                            HS_RESULT_ANALYSIS, 0, &got, &err),
                     HS_OK);
    assert_int_equal(got, a.id);
    got = -1;
    assert_int_equal(hs_store_job_result_of(f->store, a.job_id,
                                            HS_RESULT_ANALYSIS, a.id, &got,
                                            &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(got, 0);
    /* In the trash: not the job's to keep (its owner threw it away). */
    assert_int_equal(hs_store_model_set_deleted(f->store, second.id, ann, 0,
                                                500, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_result_of(f->store, train.id, HS_RESULT_MODEL,
                                            0, &got, &err),
                     HS_OK);
    assert_int_equal(got, first.id);
    /* None of that kind, none at all, no such job. */
    got = -1;
    assert_int_equal(hs_store_job_result_of(f->store, train.id,
                                            HS_RESULT_DIAGNOSIS, 0, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(got, 0);
    assert_non_null(strstr(err.message, "made no diagnosis"));
    assert_int_equal(hs_store_job_result_of(f->store, idle.id, HS_RESULT_MODEL,
                                            0, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_result_of(f->store, 4242, HS_RESULT_MODEL, 0,
                                            &got, &err),
                     HS_ERR_NOTFOUND);
    /* Bad arguments never reach the backend. */
    assert_int_equal(hs_store_job_result_of(f->store, 0, HS_RESULT_MODEL, 0,
                                            &got, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_result_of(f->store, train.id, HS_RESULT_MODEL,
                                            -1, &got, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_result_of(f->store, train.id, "dataset", 0,
                                            &got, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_result_of(f->store, train.id,
                                            "models; DROP TABLE models", 0,
                                            &got, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_job_result_of(f->store, train.id, HS_RESULT_MODEL,
                                            0, NULL, &err),
                     HS_ERR_INVALID);
    /* An older backend cannot tell. */
    older_backend older;
    hs_store *old = as_older(f, 14, &older);
    older.jobs.result_of = NULL;
    got = -1;
    assert_int_equal(hs_store_job_result_of(old, train.id, HS_RESULT_MODEL, 0,
                                            &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(got, 0);
}

/* ---- version 14: news of queued jobs -------------------------------------- */

/* Another handle on the store the test's fresh one opened (what another
 * process sharing it sees), or the test's own when the driver has none. */
static hs_store *other_handle(fixture *f)
{
    hs_store *other = NULL;
    hs_error err = {0};
    if (!extras.reopen)
        return f->store;
    if (extras.reopen(&other, &err) != HS_OK)
        fail_msg("cannot open a second handle: %s", err.message);
    return other;
}

static void close_other(fixture *f, hs_store *other)
{
    if (other != f->store)
        hs_store_close(other);
}

/* One wait_queued of timeout_ms: its outcome, and how long it took. */
static int wait_news(hs_store *store, int64_t timeout_ms, double *took)
{
    hs_error err = {0};
    int notified = -1;
    double t0 = hl_clock_monotonic();
    assert_int_equal(hs_store_job_wait_queued(store, timeout_ms, &notified,
                                              &err),
                     HS_OK);
    *took = hl_clock_monotonic() - t0;
    assert_true(notified == 0 || notified == 1);
    return notified;
}

/* A job queued from another thread and handle after a pause; `done` is
 * when its create returned (the commit). */
typedef struct late_creator {
    hs_store *store;
    hs_id owner;
    double done;
    hs_status status;
} late_creator;

static void *late_create_main(void *arg)
{
    late_creator *c = arg;
    hs_job_rec j = make_job(c->owner, "late", 500);
    hs_error err = {0};
    usleep(100 * 1000);
    c->status = hs_store_job_create(c->store, &j, &err);
    c->done = hl_clock_monotonic();
    return NULL;
}

/* Waits until no news is pending (a backend may deliver what a test did
 * before in more than one piece). */
static void drain_news(hs_store *store)
{
    double took;
    for (int i = 0; i < 20 && wait_news(store, 100, &took); i++)
        ;
}

static hs_status create_then_fail(hs_store *store, void *arg, hs_error *err)
{
    hs_job_rec j = make_job(*(hs_id *)arg, "undone", 600);
    hs_status hs = hs_store_job_create(store, &j, err);
    return hs != HS_OK ? hs : hs_fail(err, HS_ERR_CONFLICT, "changed my mind");
}

/* The driver says whether its backend has notifications: then a wait
 * times out when nothing happens and wakes within 100 ms of a job queued
 * through another handle (also by a requeue and a recover), and neither a
 * job created running nor a create rolled back is news; without them, a
 * wait returns at once with none, whatever happens. (Its bounds are
 * test_job_wait_queued's.) */
static void test_job_queue_news(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *other;
    hs_id una = add_user(f->store, "una", 0);
    late_creator creator = {NULL, una, 0, HS_ERR_INTERNAL};
    pthread_t thread;
    hs_job_rec j;
    double took;

    if (!f->store->ops->jobs->wait_queued) /* test_ops_table fails for it */
        skip();
    other = creator.store = other_handle(f);
    if (!extras.notifies) {
        assert_int_equal(wait_news(f->store, 2000, &took), 0);
        assert_true(took < 0.5);
        add_job(other, una, 10);
        assert_int_equal(wait_news(f->store, 2000, &took), 0);
        assert_true(took < 0.5);
        close_other(f, other);
        return;
    }

    /* Nothing queued: the first wait (which starts listening) times out. */
    assert_int_equal(wait_news(f->store, 200, &took), 0);
    assert_true(took >= 0.19);
    assert_int_equal(
        pthread_create(&thread, NULL, late_create_main, &creator), 0);
    assert_int_equal(wait_news(f->store, 5000, &took), 1);
    double woke = hl_clock_monotonic();
    assert_int_equal(pthread_join(thread, NULL), 0);
    assert_int_equal(creator.status, HS_OK);
    if (woke - creator.done > 0.1)
        fail_msg("woke %.0f ms after the job was queued",
                 (woke - creator.done) * 1000);
    drain_news(f->store);
    assert_int_equal(wait_news(f->store, 150, &took), 0);
    assert_true(took >= 0.14);

    /* Not news: a job restored as running, a create rolled back. */
    hs_job_rec running = make_job(una, "restored", 700);
    running.state = HS_JOB_RUNNING;
    snprintf(running.worker_id, sizeof running.worker_id, WORKER_B);
    running.lease_expires_at = 1000;
    running.started_at = 700;
    assert_int_equal(hs_store_job_create(other, &running, &err), HS_OK);
    assert_int_equal(hs_store_transact(other, create_then_fail, &una, &err),
                     HS_ERR_CONFLICT);
    assert_int_equal(wait_news(f->store, 150, &took), 0);

    /* News: a requeue, and a recover that puts a job back. */
    assert_int_equal(hs_store_job_claim_next(other, WORKER_A, NULL, 800,
                                             LEASE, &j, &err),
                     HS_OK);
    hs_job_rec_free(&j);
    drain_news(f->store);
    assert_int_equal(hs_store_job_requeue(other, j.id, WORKER_A, &err), HS_OK);
    assert_int_equal(wait_news(f->store, 5000, &took), 1);
    drain_news(f->store);
    assert_int_equal(hs_store_job_recover(other, 1000, 3, NULL, NULL, &err),
                     HS_OK); /* the restored job's lease ran out */
    assert_int_equal(wait_news(f->store, 5000, &took), 1);
    close_other(f, other);
}

/* Claimers each on a handle of their own (as many processes), half with
 * the fair claim, over several users' jobs: none is taken twice, none is
 * missed. */
static void test_job_claim_concurrent_handles(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id owners[3] = {add_user(f->store, "vera", 0),
                       add_user(f->store, "walt", 0),
                       add_user(f->store, "xena", 0)};
    static claimer claimers[N_THREADS];
    pthread_t threads[N_THREADS];
    pthread_barrier_t start;
    int times_claimed[CLAIM_JOBS] = {0};
    int64_t counts[HS_JOB_STATES];
    hs_id first = 0;
    size_t total = 0;

    for (int i = 0; i < CLAIM_JOBS; i++) {
        hs_id id = add_job(f->store, owners[i % 3], i);
        if (i == 0)
            first = id;
        assert_int_equal(id, first + i);
    }
    assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
    for (int t = 0; t < N_THREADS; t++) {
        memset(&claimers[t], 0, sizeof claimers[t]);
        claimers[t].store = other_handle(f);
        claimers[t].start = &start;
        claimers[t].fair = t % 2;
        snprintf(claimers[t].worker_id, sizeof claimers[t].worker_id,
                 "handle-%d", t);
        assert_int_equal(
            pthread_create(&threads[t], NULL, claimer_main, &claimers[t]), 0);
    }
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        close_other(f, claimers[t].store);
        if (claimers[t].failures)
            fail_msg("thread %d: %d failures, last: %s", t,
                     claimers[t].failures, claimers[t].last_error.message);
        for (size_t i = 0; i < claimers[t].n; i++) {
            hs_id id = claimers[t].claimed[i];
            assert_true(id >= first && id < first + CLAIM_JOBS);
            times_claimed[id - first]++;
        }
        total += claimers[t].n;
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(total, CLAIM_JOBS);
    for (int i = 0; i < CLAIM_JOBS; i++)
        if (times_claimed[i] != 1)
            fail_msg("job %lld was claimed %d times", (long long)(first + i),
                     times_claimed[i]);
    assert_int_equal(hs_store_job_counts(f->store, counts, &err), HS_OK);
    assert_int_equal(counts[HS_JOB_SUCCEEDED], CLAIM_JOBS);
}

/* ---- the suite --------------------------------------------------------- */

/* ---- version 14: a dataset's ingestion ---------------------------------- */

/* A dataset starts ready (the default) or ingesting, never failed; its
 * ingestion ends once, ready with its size or failed with its reason,
 * and the record shows both in get and list. */
static void test_dataset_ingest_state(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_dataset_rec plain = make_dataset(ann, "plain.csv", 1, 100);
    hs_dataset_rec big = make_dataset(ann, "big.csv", 2, 200);
    hs_dataset_rec bad = make_dataset(ann, "bad.csv", 3, 300);
    hs_dataset_rec got, *list = NULL;
    size_t n = 0;
    snprintf(big.state, sizeof big.state, "%s", HS_DATASET_INGESTING);
    snprintf(bad.state, sizeof bad.state, "%s", HS_DATASET_INGESTING);
    snprintf(big.ingest_error, sizeof big.ingest_error, "ignored");
    assert_int_equal(hs_store_dataset_create(f->store, &plain, &err), HS_OK);
    assert_string_equal(plain.state, HS_DATASET_READY);
    assert_int_equal(hs_store_dataset_create(f->store, &big, &err), HS_OK);
    assert_string_equal(big.ingest_error, ""); /* the wrapper clears it */
    assert_int_equal(hs_store_dataset_create(f->store, &bad, &err), HS_OK);

    assert_int_equal(hs_store_dataset_get(f->store, big.id, ann, 0, &got, &err),
                     HS_OK);
    assert_datasets_equal(&got, &big);
    assert_string_equal(got.state, HS_DATASET_INGESTING);
    hs_dataset_rec_free(&got);

    /* Ready with its stored size; failed with its reason, size kept. */
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, big.id,
                                                    HS_DATASET_READY, NULL,
                                                    777777, &err),
                     HS_OK);
    assert_int_equal(hs_store_dataset_finish_ingest(
                         f->store, bad.id, HS_DATASET_FAILED,
                         "bad.csv:7:3: 'x' is not a number", 5, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_dataset_list(f->store, ann, 0, 0, &list, &n, &err), HS_OK);
    assert_int_equal(n, 3);
    assert_int_equal(list[0].id, bad.id);
    assert_string_equal(list[0].state, HS_DATASET_FAILED);
    assert_string_equal(list[0].ingest_error,
                        "bad.csv:7:3: 'x' is not a number");
    assert_int_equal(list[0].size_bytes, bad.size_bytes);
    assert_int_equal(list[1].id, big.id);
    assert_string_equal(list[1].state, HS_DATASET_READY);
    assert_string_equal(list[1].ingest_error, "");
    assert_int_equal(list[1].size_bytes, 777777);
    assert_string_equal(list[2].state, HS_DATASET_READY);
    hs_dataset_list_free(list, n);

    /* An ingestion ends once; a ready dataset never had one. */
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, big.id,
                                                    HS_DATASET_FAILED, "late",
                                                    0, &err),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "not being ingested"));
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, plain.id,
                                                    HS_DATASET_READY, NULL, 1,
                                                    &err),
                     HS_ERR_CONFLICT);
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, 9999,
                                                    HS_DATASET_READY, NULL, 1,
                                                    &err),
                     HS_ERR_NOTFOUND);
    assert_string_equal(err.message, "dataset 9999 does not exist");
    assert_int_equal(hs_store_dataset_get(f->store, bad.id, ann, 0, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, HS_DATASET_FAILED);
    assert_string_equal(got.ingest_error, "bad.csv:7:3: 'x' is not a number");
    hs_dataset_rec_free(&got);

    /* Bad input never reaches the backend. */
    hs_dataset_rec failed = make_dataset(ann, "f.csv", 4, 400);
    snprintf(failed.state, sizeof failed.state, "%s", HS_DATASET_FAILED);
    assert_int_equal(hs_store_dataset_create(f->store, &failed, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, bad.id,
                                                    HS_DATASET_INGESTING, NULL,
                                                    0, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, bad.id,
                                                    HS_DATASET_FAILED, "", 0,
                                                    &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, bad.id,
                                                    HS_DATASET_READY, NULL, -1,
                                                    &err),
                     HS_ERR_INVALID);
}

/* ---- version 16: an ingestion tried again ------------------------------ */

/* A dataset of ann's, created ingesting (tag: its blob key). */
static hs_dataset_rec ingesting_dataset(hs_store *store, hs_id owner,
                                        const char *name, unsigned tag)
{
    hs_error err = {0};
    hs_dataset_rec d = make_dataset(owner, name, tag, 100 + tag);
    snprintf(d.state, sizeof d.state, "%s", HS_DATASET_INGESTING);
    assert_int_equal(hs_store_dataset_create(store, &d, &err), HS_OK);
    return d;
}

/* Dataset id as viewer ann sees it: its state and whether its file is
 * gone. */
static void assert_ingestion(hs_store *store, hs_id id, hs_id viewer,
                             const char *state, const char *error,
                             int file_deleted)
{
    hs_dataset_rec got;
    hs_error err = {0};
    assert_int_equal(hs_store_dataset_get(store, id, viewer, 0, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, state);
    assert_string_equal(got.ingest_error, error);
    assert_int_equal(got.file_deleted, file_deleted);
    hs_dataset_rec_free(&got);
}

/* A rejection ends an ingestion failed with its file marked gone, once;
 * only a live, failed dataset whose file was kept goes back to
 * ingesting, for its owner or an admin; anyone else does not see it. */
static void test_dataset_reopen_ingest(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_id bob = add_user(f->store, "bob", 0);
    hs_id root = add_user(f->store, "root", 1);
    hs_dataset_rec refused = ingesting_dataset(f->store, ann, "bad.csv", 1);
    hs_dataset_rec kept = ingesting_dataset(f->store, ann, "big.csv", 2);
    hs_dataset_rec ready = make_dataset(ann, "ok.csv", 3, 300);
    assert_int_equal(hs_store_dataset_create(f->store, &ready, &err), HS_OK);
    assert_int_equal(ready.file_deleted, 0);

    /* The engine's refusal: failed, the file gone, never again. */
    assert_int_equal(hs_store_dataset_reject_ingest(f->store, refused.id,
                                                    "bad.csv:7:3: not a number",
                                                    &err),
                     HS_OK);
    assert_ingestion(f->store, refused.id, ann, HS_DATASET_FAILED,
                     "bad.csv:7:3: not a number", 1);
    /* its blob is no record's: the orphan sweep takes one a crash left */
    char (*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_blob_refs_list(f->store, &keys, &n, &err), HS_OK);
    assert_false(has_key(keys, n, refused.blob_key));
    assert_true(has_key(keys, n, kept.blob_key));
    free(keys);
    assert_int_equal(
        hs_store_dataset_reject_ingest(f->store, refused.id, "again", &err),
        HS_ERR_CONFLICT);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, refused.id, ann, 0, &err),
        HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "file was kept"));
    assert_ingestion(f->store, refused.id, ann, HS_DATASET_FAILED,
                     "bad.csv:7:3: not a number", 1);

    /* Any other failure keeps the file: the owner tries again, once. */
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, kept.id,
                                                    HS_DATASET_FAILED,
                                                    "store away", 0, &err),
                     HS_OK);
    assert_ingestion(f->store, kept.id, ann, HS_DATASET_FAILED, "store away",
                     0);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, kept.id, bob, 0, &err),
        HS_ERR_NOTFOUND);
    char absent[64];
    snprintf(absent, sizeof absent, "dataset %lld does not exist",
             (long long)kept.id);
    assert_string_equal(err.message, absent);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, kept.id, ann, 0, &err), HS_OK);
    assert_ingestion(f->store, kept.id, ann, HS_DATASET_INGESTING, "", 0);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, kept.id, ann, 0, &err),
        HS_ERR_CONFLICT);
    /* It ends again as any ingestion does; an admin may retry it too. */
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, kept.id,
                                                    HS_DATASET_FAILED,
                                                    "cancelled", 0, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, kept.id, root, 1, &err),
        HS_OK);
    assert_ingestion(f->store, kept.id, ann, HS_DATASET_INGESTING, "", 0);

    /* Ready, absent, or in the trash: nothing to retry. */
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, ready.id, ann, 0, &err),
        HS_ERR_CONFLICT);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, 9999, root, 1, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, kept.id,
                                                    HS_DATASET_FAILED, "again",
                                                    0, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_dataset_set_deleted(f->store, kept.id, ann, 0, 500, &err),
        HS_OK);
    assert_int_equal(
        hs_store_dataset_reopen_ingest(f->store, kept.id, ann, 0, &err),
        HS_ERR_CONFLICT);
    assert_ingestion(f->store, kept.id, ann, HS_DATASET_FAILED, "again", 0);

    /* A rejection of what is not ingesting, or of nothing; bad input
     * never reaches the backend. */
    assert_int_equal(
        hs_store_dataset_reject_ingest(f->store, ready.id, "late", &err),
        HS_ERR_CONFLICT);
    assert_int_equal(
        hs_store_dataset_reject_ingest(f->store, 9999, "late", &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(
        hs_store_dataset_reject_ingest(f->store, refused.id, "", &err),
        HS_ERR_INVALID);
    assert_int_equal(
        hs_store_dataset_reject_ingest(f->store, refused.id, NULL, &err),
        HS_ERR_INVALID);
    assert_int_equal(hs_store_dataset_reopen_ingest(f->store, 0, ann, 0, &err),
                     HS_ERR_INVALID);
}

/* An older backend cannot say a file is gone: its rejection is a plain
 * failure, and it refuses a retry. */
static void test_dataset_reopen_older_backend(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_dataset_rec d = ingesting_dataset(f->store, ann, "bad.csv", 1);
    hs_store_ops older = *f->store->ops;
    hs_store_dataset_ops older_datasets = *f->store->ops->datasets;
    older_datasets.reject_ingest = NULL;
    older_datasets.reopen_ingest = NULL;
    older.version = 15;
    older.datasets = &older_datasets;
    hs_store old = {&older, f->store->impl};
    assert_int_equal(
        hs_store_dataset_reject_ingest(&old, d.id, "refused", &err), HS_OK);
    assert_ingestion(f->store, d.id, ann, HS_DATASET_FAILED, "refused", 0);
    assert_int_equal(hs_store_dataset_reopen_ingest(&old, d.id, ann, 0, &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, f->store->ops->name));
    assert_ingestion(f->store, d.id, ann, HS_DATASET_FAILED, "refused", 0);
}

typedef struct reopen_racer {
    hs_store *store;
    pthread_barrier_t *start;
    hs_id dataset_id, viewer_id;
    hs_status st;
} reopen_racer;

static void *reopen_racer_main(void *arg)
{
    reopen_racer *r = arg;
    hs_error err = {0};
    pthread_barrier_wait(r->start);
    r->st = hs_store_dataset_reopen_ingest(r->store, r->dataset_id,
                                           r->viewer_id, 0, &err);
    return NULL;
}

/* Retries at once of one failed ingestion: exactly one reopens it, the
 * others find it ingesting. */
static void test_dataset_reopen_concurrent(void **state)
{
    fixture *f = *state;
    reopen_racer racers[N_THREADS];
    pthread_t threads[N_THREADS];
    pthread_barrier_t start;
    hs_error err = {0};
    hs_id ann = add_user(f->store, "ann", 0);
    hs_dataset_rec d = ingesting_dataset(f->store, ann, "big.csv", 1);
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, d.id,
                                                    HS_DATASET_FAILED,
                                                    "cancelled", 0, &err),
                     HS_OK);
    assert_int_equal(pthread_barrier_init(&start, NULL, N_THREADS), 0);
    for (int t = 0; t < N_THREADS; t++) {
        racers[t] =
            (reopen_racer){f->store, &start, d.id, ann, HS_ERR_INTERNAL};
        assert_int_equal(
            pthread_create(&threads[t], NULL, reopen_racer_main, &racers[t]),
            0);
    }
    int reopened = 0;
    for (int t = 0; t < N_THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        if (racers[t].st == HS_OK)
            reopened++;
        else
            assert_int_equal(racers[t].st, HS_ERR_CONFLICT);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(reopened, 1);
    assert_ingestion(f->store, d.id, ann, HS_DATASET_INGESTING, "", 0);
}

/* A job on a dataset still ingesting is not claimed (by either claim)
 * until its ingestion ends, ready or failed; jobs without a dataset and
 * on ready ones are claimed as usual. */
static void test_job_claim_waits_for_ingest(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id ida = add_user(f->store, "ida", 0);
    hs_dataset_rec d = make_dataset(ida, "big.csv", 1, 100);
    snprintf(d.state, sizeof d.state, "%s", HS_DATASET_INGESTING);
    assert_int_equal(hs_store_dataset_create(f->store, &d, &err), HS_OK);
    hs_dataset_rec d2 = d;
    d2.id = 0;
    snprintf(d2.blob_key, sizeof d2.blob_key, "%064x", 2u);
    snprintf(d2.state, sizeof d2.state, "%s", HS_DATASET_INGESTING);
    assert_int_equal(hs_store_dataset_create(f->store, &d2, &err), HS_OK);
    hs_id ready = add_dataset(f->store, ida, 3);
    hs_job_rec waiting = make_job(ida, "waits", 10);
    waiting.dataset_id = d.id;
    assert_int_equal(hs_store_job_create(f->store, &waiting, &err), HS_OK);
    hs_job_rec waiting2 = make_job(ida, "waits too", 11);
    waiting2.dataset_id = d2.id;
    assert_int_equal(hs_store_job_create(f->store, &waiting2, &err), HS_OK);
    hs_job_rec other = make_job(ida, "other", 12);
    other.dataset_id = ready;
    assert_int_equal(hs_store_job_create(f->store, &other, &err), HS_OK);
    hs_id none = add_job(f->store, ida, 13);
    hs_job_rec ingest = make_job(ida, "ingests", 14);
    snprintf(ingest.type, sizeof ingest.type, "%s", HS_JOB_TYPE_INGEST);
    ingest.dataset_id = d.id;
    assert_int_equal(hs_store_job_create(f->store, &ingest, &err), HS_OK);

    hs_job_rec got;
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, NULL, 100,
                                             LEASE, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, other.id);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, NULL, 100,
                                                  LEASE, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, none);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, NULL, 100,
                                             LEASE, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, ingest.id); /* the ingestion itself runs */
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_A, NULL, 100,
                                             LEASE, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_A, NULL, 100,
                                                  LEASE, &got, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(job_state(f->store, waiting.id), HS_JOB_QUEUED);

    /* Failed releases its job too: the run then says why. */
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, d2.id,
                                                    HS_DATASET_FAILED, "broken",
                                                    0, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_claim_next_fair(f->store, WORKER_B, NULL, 100,
                                                  LEASE, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, waiting2.id);
    hs_job_rec_free(&got);
    assert_int_equal(hs_store_dataset_finish_ingest(f->store, d.id,
                                                    HS_DATASET_READY, NULL, 5,
                                                    &err),
                     HS_OK);
    assert_int_equal(hs_store_job_claim_next(f->store, WORKER_B, NULL, 100,
                                             LEASE, &got, &err),
                     HS_OK);
    assert_int_equal(got.id, waiting.id);
    hs_job_rec_free(&got);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

void hs_store_contract_set_extras(const hs_store_contract_extras *x)
{
    memset(&extras, 0, sizeof extras);
    if (x)
        extras = *x;
}

/* 1 when name matches one of the comma-separated globs of `list`. */
static int matches_any(const char *name, const char *list)
{
    char glob[128];
    while (*list) {
        size_t n = strcspn(list, ",");
        if (n > 0 && n < sizeof glob) {
            memcpy(glob, list, n);
            glob[n] = '\0';
            if (fnmatch(glob, name, 0) == 0)
                return 1;
        }
        list += n + (list[n] == ',');
    }
    return 0;
}

/* The tests to run into chosen[]: all, or those HEALER_CONTRACT_FILTER
 * names (comma-separated globs, "test_user*,test_sessions"). Returns their
 * number. */
static size_t select_tests(const struct CMUnitTest *all, size_t n_all,
                           struct CMUnitTest *chosen)
{
    const char *only = getenv("HEALER_CONTRACT_FILTER");
    size_t n = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (only && only[0] && !matches_any(all[i].name, only))
            continue;
        chosen[n++] = all[i];
    }
    return n;
}

int hs_store_contract_run(hs_store_fresh_fn open_fresh)
{
    const struct CMUnitTest tests[] = {
        T(test_ops_table),
        T(test_ping),
        T(test_users),
        T(test_events),
        T(test_sessions),
        T(test_notifications),
        T(test_user_prefs),
        T(test_datasets),
        T(test_dataset_access),
        T(test_dataset_trash_restore_purge),
        T(test_dataset_profile),
        T(test_dataset_ingest_state),
        T(test_job_claim_waits_for_ingest),
        T(test_models),
        T(test_model_access),
        T(test_jobs),
        T(test_job_access),
        T(test_job_claim),
        T(test_job_claim_by_type),
        T(test_job_claim_fair),
        T(test_job_queue_news),
        T(test_job_claim_concurrent_handles),
        T(test_blob_refs),
        T(test_fair_refs_older_backend),
        T(test_job_claim_concurrent),
        T(test_job_progress_finish),
        T(test_job_results),
        T(test_job_cancel),
        T(test_job_requeue),
        T(test_job_leases),
        T(test_job_renew_leases),
        T(test_job_recover),
        T(test_job_counts),
        T(test_job_attempts),
        T(test_job_attempts_forgotten_on_requeue),
        T(test_diagnoses),
        T(test_diagnosis_swap_blob),
        T(test_diagnosis_labels),
        T(test_diagnosis_labels_exact),
        T(test_diagnosis_input_and_model_lineage),
        T(test_model_class_names),
        T(test_references),
        T(test_model_trash),
        T(test_model_trash_purge),
        T(test_diagnosis_trash),
        T(test_topologies),
        T(test_job_topology),
        T(test_analyses),
        T(test_analysis_delete_and_purge),
        T(test_login_backoff),
        T(test_unlock_tokens),
        T(test_sessions_end_others),
        T(test_outbox_add_get),
        T(test_outbox_claim),
        T(test_outbox_sent_failed),
        T(test_outbox_purge),
        T(test_outbox_claim_concurrent),
        T(test_sealed_fields),
        T(test_audit_log),
        T(test_tallies),
        T(test_event_series),
        T(test_security_older_backend),
        T(test_transactions),
        T(test_transaction_owned_by_thread),
        T(test_concurrent_writers),
        T(test_settings),
        T(test_settings_limits),
        T(test_settings_put_new_concurrent),
        T(test_job_wait_queued),
        T(test_job_result_of),
        T(test_dataset_reopen_ingest),
        T(test_dataset_reopen_older_backend),
        T(test_dataset_reopen_concurrent),
    };
    struct CMUnitTest chosen[sizeof tests / sizeof tests[0]];
    size_t n = select_tests(tests, sizeof tests / sizeof tests[0], chosen);
    open_fresh_store = open_fresh;
    return _cmocka_run_group_tests("store contract", chosen, n, NULL, NULL);
}
