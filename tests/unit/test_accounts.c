/* test_accounts.c - the accounts service and the data directory: the rules
 * every way of creating a user or logging in shares, on a real SQLite
 * store, with a manual clock. Rules about time (idle and 7-day session
 * limits, the 15-minute lock, the per-minute login limit) are checked by
 * moving that clock, never by sleeping. */
#include <sys/stat.h>

#include "base/clock.h"
#include "domain/accounts.h"
#include "domain/throttle.h"
#include "server/datadir.h"
#include "store/store.h"
#include "testutil.h"

static char *make_tmpdir(void)
{
    char *dir = strdup("/tmp/healer-accounts-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

/* An app over a fresh data directory, its clock at 1000. */
typedef struct env {
    char *root;
    hs_datadir *dd;
    hs_clock *clock;
    hs_auth_costs costs;
    hs_app app;
} env;

static env *env_open_empty(unsigned logins_per_minute)
{
    env *e = calloc(1, sizeof *e);
    hs_error err;
    e->root = make_tmpdir();
    e->costs = HS_AUTH_COSTS_TEST;
    e->clock = hs_clock_manual(1000);
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_datadir_open(e->root, &e->dd, &err), HS_OK);
    e->app.store = e->dd->store;
    e->app.blobs = e->dd->blobs;
    e->app.clock = e->clock;
    e->app.costs = &e->costs;
    assert_int_equal(hs_throttle_new(logins_per_minute, &e->app.login_throttle,
                                     &err),
                     HS_OK);
    return e;
}

static env *env_open(void)
{
    env *e = env_open_empty(0);
    hs_error err;
    assert_int_equal(hs_accounts_create_user(&e->app, hs_actor_cli(), "alice", "correct horse",
                                             0, NULL, &err),
                     HS_OK);
    return e;
}

static void env_close(env *e)
{
    hs_setup_free(e->app.setup);
    hs_throttle_free(e->app.login_throttle);
    hs_datadir_close(e->dd);
    hs_clock_free(e->clock);
    tu_rm_rf(e->root);
    free(e->root);
    free(e);
}

static hs_status login(env *e, const char *user, const char *pw, int remember,
                       hs_login *out, hs_error *err)
{
    return hs_accounts_login(&e->app, NULL, user, pw, remember, out, err);
}

static hs_status check(env *e, const char *token, hs_error *err)
{
    hs_session s;
    hs_user u;
    return hs_accounts_session_check(&e->app, token, &s, &u, err);
}

static void username_rules(void **state)
{
    (void)state;
    hs_error err;
    assert_int_equal(hs_accounts_check_username("alice", &err), HS_OK);
    assert_int_equal(hs_accounts_check_username("ops.team-2_b", &err), HS_OK);
    const char *bad[] = {"", "-alice", ".x", "a b", "../etc", "alice;drop",
                         "名字",
                         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(hs_accounts_check_username(bad[i], &err), HS_ERR_INVALID);
        assert_string_equal(err.field, "username");
        assert_non_null(strstr(err.message, "username"));
    }
}

static void creates_users_in_a_new_data_dir(void **state)
{
    (void)state;
    char *root = make_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/var", root); /* nested, not there yet */
    hs_error err;
    assert_int_equal(hs_auth_init(&err), HS_OK);
    hs_datadir *dd = NULL;
    assert_int_equal(hs_datadir_open(path, &dd, &err), HS_OK);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);

    const hs_auth_costs test_costs = HS_AUTH_COSTS_TEST;
    hs_clock *clock = hs_clock_manual(1000);
    hs_app app = {.store = dd->store, .clock = clock, .costs = &test_costs};
    hs_id id = 0;
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "alice", "correct horse", 1,
                                             &id, &err),
                     HS_OK);
    assert_true(id > 0);
    hs_user u;
    assert_int_equal(hs_store_user_get_by_name(dd->store, "alice", &u, &err), HS_OK);
    assert_int_equal(u.id, id);
    assert_true(u.is_admin);
    assert_int_equal(u.created_at, 1000);
    /* Only a hash is stored, and it verifies. */
    assert_null(strstr(u.password_hash, "correct horse"));
    assert_true(hs_auth_verify_password(u.password_hash, "correct horse"));

    /* Errors name their field instead of leaving it to the message. */
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "alice", "another one", 0,
                                             NULL, &err),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "alice"));
    assert_string_equal(err.field, "username");
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "bob", "short", 0, NULL, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "password");
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "bad name", "long enough", 0,
                                             NULL, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "username");
    hs_datadir_close(dd);
    hs_clock_free(clock);

    /* Reopening finds the user again. */
    assert_int_equal(hs_datadir_open(path, &dd, &err), HS_OK);
    int64_t n = 0;
    assert_int_equal(hs_store_user_count(dd->store, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    hs_datadir_close(dd);
    tu_rm_rf(root);
    free(root);
}

static void data_dir_that_is_a_file(void **state)
{
    (void)state;
    const char *file = tu_write_temp("not a directory", (size_t)-1);
    hs_datadir *dd = NULL;
    hs_error err;
    assert_int_equal(hs_datadir_open(file, &dd, &err), HS_ERR_IO);
    assert_null(dd);
    assert_non_null(strstr(err.message, file));
    assert_int_equal(hs_datadir_open("", &dd, &err), HS_ERR_INVALID);
    unlink(file);
}

static void sessions_slide_and_expire(void **state)
{
    (void)state;
    env *e = env_open();
    hs_login in;
    hs_error err;
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err), HS_OK);
    assert_int_equal(strlen(in.token), HS_TOKEN_CHARS);
    assert_string_equal(in.user.username, "alice");
    assert_string_equal(in.user.password_hash, "");
    /* Idle sessions slide; past the 30-minute idle limit they end. */
    hs_clock_advance(e->clock, 600);
    assert_int_equal(check(e, in.token, &err), HS_OK);
    hs_clock_advance(e->clock, 600);
    assert_int_equal(check(e, in.token, &err), HS_OK);
    hs_clock_advance(e->clock, 1801);
    assert_int_equal(check(e, in.token, &err), HS_ERR_DENIED);
    assert_non_null(strstr(err.message, "expired"));
    /* Expired sessions are gone for good, even if the clock went back. */
    hs_clock_advance(e->clock, -1000);
    assert_int_equal(check(e, in.token, &err), HS_ERR_DENIED);
    /* Garbage and unknown tokens. */
    assert_int_equal(check(e, "not-a-token", &err), HS_ERR_DENIED);
    char other[HS_TOKEN_CHARS + 1];
    hs_auth_new_token(other);
    assert_int_equal(check(e, other, &err), HS_ERR_DENIED);
    env_close(e);
}

/* "Remember me": 7 days whatever the idle time, and not a second more. */
static void remembered_sessions_end_after_seven_days(void **state)
{
    (void)state;
    env *e = env_open();
    hs_login in;
    hs_error err;
    assert_int_equal(login(e, "alice", "correct horse", 1, &in, &err), HS_OK);
    assert_int_equal(in.session.expires_at, 1000 + 7 * 86400);
    hs_clock_advance(e->clock, 3 * 86400); /* idle for days: still fine */
    assert_int_equal(check(e, in.token, &err), HS_OK);
    hs_clock_set(e->clock, 1000 + 7 * 86400 - 1);
    assert_int_equal(check(e, in.token, &err), HS_OK);
    hs_clock_set(e->clock, 1000 + 7 * 86400 + 1);
    assert_int_equal(check(e, in.token, &err), HS_ERR_DENIED);
    /* Housekeeping removes what has expired. */
    hs_login other;
    hs_clock_set(e->clock, 2000000);
    assert_int_equal(login(e, "alice", "correct horse", 0, &other, &err), HS_OK);
    hs_clock_advance(e->clock, 3600);
    int64_t removed = 0;
    assert_int_equal(hs_accounts_purge_sessions(&e->app, &removed, &err), HS_OK);
    assert_int_equal(removed, 1);
    env_close(e);
}

static void wrong_passwords_lock_the_account(void **state)
{
    (void)state;
    env *e = env_open();
    hs_login in;
    hs_error err;
    hs_error unknown;
    assert_int_equal(login(e, "nobody", "correct horse", 0, &in, &unknown),
                     HS_ERR_DENIED);
    /* An unknown name counts as an account with one failure. */
    assert_int_equal(in.attempts_remaining, 4);
    for (int i = 0; i < 4; i++) {
        hs_clock_set(e->clock, 1000 + i * 60);
        assert_int_equal(login(e, "alice", "wrong", 0, &in, &err), HS_ERR_DENIED);
        /* The same words as for an unknown user: names do not leak. */
        assert_string_equal(err.message, unknown.message);
        /* What is left before the lock (5 failures lock). */
        assert_int_equal(in.attempts_remaining, 4 - i);
        assert_int_equal(in.locked_until, 0);
    }
    hs_clock_set(e->clock, 1300);
    assert_int_equal(login(e, "alice", "wrong", 0, &in, &err), HS_ERR_LOCKED);
    assert_int_equal(in.locked_until, 1300 + 900);
    /* Locked: even the right password is refused, and not counted. */
    hs_clock_set(e->clock, 1400);
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err), HS_ERR_LOCKED);
    assert_non_null(strstr(err.message, "locked"));
    assert_non_null(strstr(err.message, "ask an administrator"));
    assert_int_equal(in.locked_until, 1300 + 900);
    hs_notification *items = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_notification_list(e->app.store, 1, &items, &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].kind, "account_locked");
    assert_non_null(strstr(items[0].message, "alice"));
    free(items);
    /* The lock runs out 15 minutes after the last failure, to the second. */
    hs_clock_set(e->clock, 1300 + 899);
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err), HS_ERR_LOCKED);
    hs_clock_set(e->clock, 1300 + 901);
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err), HS_OK);
    env_close(e);
}

static void disabled_accounts(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err;
    hs_user u;
    assert_int_equal(hs_store_user_get_by_name(e->app.store, "alice", &u, &err),
                     HS_OK);
    hs_login in;
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err), HS_OK);
    u.disabled = 1;
    assert_int_equal(hs_store_user_update(e->app.store, &u, &err), HS_OK);
    /* Existing sessions stop working, new logins are refused. */
    assert_int_equal(check(e, in.token, &err), HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err),
                     HS_ERR_DISABLED);
    assert_non_null(strstr(err.message, "disabled"));
    /* A wrong password for a disabled account says nothing more. */
    assert_int_equal(login(e, "alice", "wrong", 0, &in, &err), HS_ERR_DENIED);
    env_close(e);
}

static void admin_unlock_reset_disable(void **state)
{
    (void)state;
    env *e = env_open();
    hs_store *st = e->app.store;
    hs_login in;
    hs_error err;
    for (int i = 0; i < 5; i++) {
        hs_clock_set(e->clock, 1000 + i);
        login(e, "alice", "wrong", 0, &in, &err);
    }
    assert_int_equal(err.code, HS_ERR_LOCKED);
    hs_user u;
    assert_int_equal(hs_store_user_get_by_name(st, "alice", &u, &err), HS_OK);
    assert_true(u.locked_until > 1004);
    /* Unlock: the old failures no longer count toward the next lock. */
    hs_clock_set(e->clock, 1010);
    assert_int_equal(hs_accounts_unlock(&e->app, hs_actor_cli(), u.id, &err), HS_OK);
    assert_int_equal(login(e, "alice", "wrong", 0, &in, &err), HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err), HS_OK);
    /* Reset: the old password stops working and sessions end. */
    assert_int_equal(hs_accounts_reset_password(&e->app, hs_actor_cli(), u.id, "short", &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "password");
    assert_int_equal(hs_accounts_reset_password(&e->app, hs_actor_cli(), u.id, "new password!",
                                                &err),
                     HS_OK);
    assert_int_equal(check(e, in.token, &err), HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "correct horse", 0, &in, &err), HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "new password!", 0, &in, &err), HS_OK);
    /* Disable, then enable again. */
    assert_int_equal(hs_accounts_set_disabled(&e->app, hs_actor_cli(), u.id, 1, &err), HS_OK);
    assert_int_equal(check(e, in.token, &err), HS_ERR_DENIED);
    assert_int_equal(hs_accounts_set_disabled(&e->app, hs_actor_cli(), u.id, 0, &err), HS_OK);
    assert_int_equal(login(e, "alice", "new password!", 0, &in, &err), HS_OK);
    /* Every step is on the record. */
    hs_account_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_event_list(st, u.id, &ev, &n, &err), HS_OK);
    const char *kinds[] = {"enabled", "disabled", "password_reset", "login_failed",
                           "unlocked", "locked"};
    size_t k = 0;
    for (size_t i = 0; i < n && k < 6; i++)
        if (!strcmp(ev[i].kind, kinds[k]))
            k++;
    assert_int_equal(k, 6);
    free(ev);
    assert_int_equal(hs_accounts_unlock(&e->app, hs_actor_cli(), 9999, &err), HS_ERR_NOTFOUND);
    env_close(e);
}

/* Every administrative action leaves one audit row with its actor, the
 * target and the address, written in the action's transaction: an action
 * refused (the last administrator, an unknown user) leaves none. */
static void admin_actions_audited(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err;
    hs_actor root = hs_actor_user(77, "root", "2001:db8::7");
    hs_id bob = 0, chief = 0;
    hs_clock_set(e->clock, 5000);
    assert_int_equal(hs_accounts_create_user(&e->app, &root, "bob",
                                             "correct horse", 0, &bob, &err),
                     HS_OK);
    assert_int_equal(hs_accounts_unlock(&e->app, &root, bob, &err), HS_OK);
    assert_int_equal(hs_accounts_reset_password(&e->app, &root, bob,
                                                "new password!", &err),
                     HS_OK);
    assert_int_equal(hs_accounts_set_disabled(&e->app, &root, bob, 1, &err),
                     HS_OK);
    assert_int_equal(hs_accounts_set_disabled(&e->app, &root, bob, 0, &err),
                     HS_OK);
    assert_int_equal(hs_accounts_create_user(&e->app, hs_actor_cli(), "chief",
                                             "correct horse", 1, &chief, &err),
                     HS_OK);
    /* Refused actions: no row. */
    assert_int_equal(hs_accounts_set_disabled(&e->app, &root, chief, 1, &err),
                     HS_ERR_CONFLICT);
    assert_int_equal(hs_accounts_unlock(&e->app, &root, 9999, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_accounts_create_user(&e->app, &root, "bob",
                                             "correct horse", 0, NULL, &err),
                     HS_ERR_CONFLICT);
    /* No actor: the action is refused, not done unaudited. */
    assert_int_equal(hs_accounts_unlock(&e->app, NULL, bob, &err),
                     HS_ERR_INVALID);

    hs_audit_filter all = {.limit = 100};
    hs_audit_rec *rows = NULL;
    size_t n = 0;
    assert_int_equal(hs_audit_list(&e->app, &all, &rows, &n, &err), HS_OK);
    const char *want[] = {HS_AUDIT_USER_CREATED,  HS_AUDIT_USER_ENABLED,
                          HS_AUDIT_USER_DISABLED, HS_AUDIT_PASSWORD_RESET,
                          HS_AUDIT_USER_UNLOCKED, HS_AUDIT_USER_CREATED};
    assert_true(n >= 6);
    for (size_t i = 0; i < 6; i++)
        assert_string_equal(rows[i].action, want[i]);
    assert_string_equal(rows[0].actor_name, HS_AUDIT_CLI_ACTOR);
    assert_int_equal(rows[0].actor_id, 0);
    assert_int_equal(rows[0].target_id, chief);
    assert_string_equal(rows[0].detail, "role admin");
    for (size_t i = 1; i < 6; i++) {
        assert_int_equal(rows[i].actor_id, 77);
        assert_string_equal(rows[i].actor_name, "root");
        assert_string_equal(rows[i].address, "2001:db8::7");
        assert_string_equal(rows[i].target_kind, "user");
        assert_int_equal(rows[i].target_id, bob);
        assert_string_equal(rows[i].target_name, "bob");
        assert_int_equal(rows[i].at, 5000);
    }
    free(rows);
    /* The list's filters are checked. */
    hs_audit_filter bad = {.limit = 10};
    snprintf(bad.action, sizeof bad.action, "made_up");
    assert_int_equal(hs_audit_list(&e->app, &bad, &rows, &n, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "action");
    hs_audit_filter backwards = {.limit = 10, .since = 10, .until = 5};
    assert_int_equal(hs_audit_list(&e->app, &backwards, &rows, &n, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "until");
    env_close(e);
}

/* The platform never loses its last enabled administrator. */
static void last_admin_cannot_be_disabled(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err;
    hs_id root = 0, second = 0;
    assert_int_equal(hs_accounts_create_user(&e->app, hs_actor_cli(), "root", "correct horse", 1,
                                             &root, &err),
                     HS_OK);
    assert_int_equal(hs_accounts_set_disabled(&e->app, hs_actor_cli(), root, 1, &err),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "last"));
    assert_int_equal(hs_accounts_create_user(&e->app, hs_actor_cli(), "second", "correct horse",
                                             1, &second, &err),
                     HS_OK);
    assert_int_equal(hs_accounts_set_disabled(&e->app, hs_actor_cli(), root, 1, &err), HS_OK);
    assert_int_equal(hs_accounts_set_disabled(&e->app, hs_actor_cli(), second, 1, &err),
                     HS_ERR_CONFLICT);
    /* Non-admins and re-enabling are never refused. */
    hs_user alice;
    assert_int_equal(hs_store_user_get_by_name(e->app.store, "alice", &alice, &err),
                     HS_OK);
    assert_int_equal(hs_accounts_set_disabled(&e->app, hs_actor_cli(), alice.id, 1, &err), HS_OK);
    assert_int_equal(hs_accounts_set_disabled(&e->app, hs_actor_cli(), root, 0, &err), HS_OK);
    env_close(e);
}

/* One client address gets `login-rate` attempts per minute, whoever it
 * tries; the next minute it may try again. */
static void logins_are_limited_per_client(void **state)
{
    (void)state;
    env *e = env_open_empty(3);
    hs_error err;
    hs_login in;
    assert_int_equal(hs_accounts_create_user(&e->app, hs_actor_cli(), "alice", "correct horse",
                                             0, NULL, &err),
                     HS_OK);
    hs_clock_set(e->clock, 6000); /* the start of a minute */
    for (int i = 0; i < 3; i++)
        assert_int_equal(hs_accounts_login(&e->app, "192.0.2.7", "nobody", "x",
                                           0, &in, &err),
                         HS_ERR_DENIED);
    assert_int_equal(hs_accounts_login(&e->app, "192.0.2.7", "alice",
                                       "correct horse", 0, &in, &err),
                     HS_ERR_LIMITED);
    /* Another address is not affected; the next minute this one may. */
    assert_int_equal(hs_accounts_login(&e->app, "192.0.2.8", "alice",
                                       "correct horse", 0, &in, &err),
                     HS_OK);
    hs_clock_advance(e->clock, 60);
    assert_int_equal(hs_accounts_login(&e->app, "192.0.2.7", "alice",
                                       "correct horse", 0, &in, &err),
                     HS_OK);
    env_close(e);
}

/* An IPv6 client counts by its /64: choosing other addresses within it
 * gains nothing; another /64 is another client. */
static void ipv6_clients_count_by_prefix(void **state)
{
    (void)state;
    hs_throttle *t = NULL;
    hs_error err;
    assert_int_equal(hs_throttle_new(2, &t, &err), HS_OK);
    assert_true(hs_throttle_allow(t, "2001:db8:1:2::1", 600));
    assert_true(hs_throttle_allow(t, "2001:db8:1:2:ffff::7", 600));
    assert_false(hs_throttle_allow(t, "2001:db8:1:2:abcd:1234:5678:9", 600));
    assert_true(hs_throttle_allow(t, "2001:db8:1:3::1", 600));
    assert_true(hs_throttle_allow(t, "192.0.2.1", 600));
    assert_true(hs_throttle_allow(t, "2001:db8:1:2::1", 660)); /* next minute */
    hs_throttle_free(t);
}

/* First-run setup: a token only while there is no user, spent once. */
static void first_run_setup(void **state)
{
    (void)state;
    env *e = env_open_empty(0);
    hs_error err;
    hs_login in;
    int required = 0;
    assert_int_equal(hs_setup_new(&e->app, &e->app.setup, &err), HS_OK);
    assert_int_equal(hs_setup_required(&e->app, &required, &err), HS_OK);
    assert_true(required);
    char token[HS_SETUP_TOKEN_CHARS + 1];
    hs_setup_token(e->app.setup, token);
    assert_int_equal(strlen(token), HS_SETUP_TOKEN_CHARS);

    assert_int_equal(hs_setup_complete(&e->app, NULL, "WRONG-TOKEN", "root",
                                       "correct horse", 0, &in, &err),
                     HS_ERR_DENIED);
    assert_string_equal(err.field, "token");
    assert_int_equal(hs_setup_complete(&e->app, NULL, token, "root", "short",
                                       0, &in, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "password");
    assert_int_equal(hs_setup_complete(&e->app, NULL, token, "root",
                                       "correct horse", 1, &in, &err),
                     HS_OK);
    assert_true(in.user.is_admin);
    assert_true(in.session.remember); /* asked for: like a login's */
    assert_int_equal(check(e, in.token, &err), HS_OK);
    /* Spent: a second setup is a conflict, and no token is shown any more. */
    assert_int_equal(hs_setup_complete(&e->app, NULL, token, "evil",
                                       "correct horse", 0, &in, &err),
                     HS_ERR_CONFLICT);
    hs_setup_token(e->app.setup, token);
    assert_string_equal(token, "");
    env_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(username_rules),
        cmocka_unit_test(creates_users_in_a_new_data_dir),
        cmocka_unit_test(data_dir_that_is_a_file),
        cmocka_unit_test(sessions_slide_and_expire),
        cmocka_unit_test(remembered_sessions_end_after_seven_days),
        cmocka_unit_test(wrong_passwords_lock_the_account),
        cmocka_unit_test(disabled_accounts),
        cmocka_unit_test(admin_unlock_reset_disable),
        cmocka_unit_test(admin_actions_audited),
        cmocka_unit_test(last_admin_cannot_be_disabled),
        cmocka_unit_test(logins_are_limited_per_client),
        cmocka_unit_test(ipv6_clients_count_by_prefix),
        cmocka_unit_test(first_run_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
