/* test_store.c - the record store interface through its SQLite backend.
 *
 * Checked from the outside, as the service will use it: users, account
 * events, sessions, notifications and datasets round-trip exactly; a
 * dataset is visible only to its owner and admins; "not found" and
 * "already exists" come back as HS_ERR_NOTFOUND / HS_ERR_CONFLICT; lists are
 * in their documented order; a rolled-back transaction leaves no trace;
 * migrations run once, an older database is brought forward, and a
 * database from a newer healer is refused untouched; and many threads writing
 * through one store at once lose or mangle nothing. The on-disk facts (WAL
 * mode, the version table) are read back with raw sqlite3. Each test gets a
 * fresh mkdtemp directory that is removed recursively afterwards.
 */
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "testutil.h"

#include "store.h"

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
                        "1,2");
    assert_int_equal(HS_STORE_SQLITE_SCHEMA_VERSION, 2);
    assert_string_equal(
        raw_query(f->path, "PRAGMA journal_mode", buf, sizeof buf), "wal");
    assert_string_equal(raw_query(f->path,
                                  "SELECT name FROM sqlite_master WHERE"
                                  " type = 'table' AND name NOT LIKE"
                                  " 'sqlite_%' ORDER BY name",
                                  buf, sizeof buf),
                        "account_events,datasets,notifications,"
                        "schema_migrations,sessions,users");
}

static void test_future_schema_refused(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_store *other = (hs_store *)1;
    char path[320], buf[256];

    /* A fresh file that a newer healer created: nothing may change. */
    snprintf(path, sizeof path, "%s/newer.db", f->dir);
    raw_exec(path, "CREATE TABLE schema_migrations (version INTEGER PRIMARY "
                   "KEY, applied_at INTEGER);"
                   "INSERT INTO schema_migrations VALUES (999, 0);");
    assert_int_equal(hs_store_sqlite_open(path, &other, &err), HS_ERR_INVALID);
    assert_null(other);
    assert_string_equal(err.message,
                        "database schema version 999 is newer than this "
                        "healer (2); upgrade healer");
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
    raw_exec(f->path, "INSERT INTO schema_migrations VALUES (3, 0);");
    assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err),
                     HS_ERR_INVALID);
    assert_null(f->store);
    assert_non_null(strstr(err.message, "version 3 is newer"));
}

/* A database written at schema version 1 (before datasets) gets migration
 * 2 at open and keeps its accounts. */
static void test_migration_from_v1(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_id kim = add_user(f->store, "kim", 0);
    hs_dataset_rec d, got;
    hs_user u;
    char buf[256];

    hs_store_close(f->store);
    f->store = NULL;
    /* Turn the file back into what version-1 code left behind. */
    raw_exec(f->path, "DROP TABLE datasets;"
                      "DELETE FROM schema_migrations WHERE version = 2;");
    assert_string_equal(raw_query(f->path,
                                  "SELECT COUNT(*) FROM sqlite_master WHERE"
                                  " name LIKE 'datasets%'",
                                  buf, sizeof buf),
                        "0");

    assert_int_equal(hs_store_sqlite_open(f->path, &f->store, &err), HS_OK);
    assert_string_equal(raw_query(f->path,
                                  "SELECT version FROM schema_migrations"
                                  " ORDER BY version",
                                  buf, sizeof buf),
                        "1,2");
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

/* ---- concurrency ------------------------------------------------------- */

#define N_THREADS 8

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
        cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_transaction_owned_by_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_reopen_and_wal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_future_schema_refused, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_v1, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_writers, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
