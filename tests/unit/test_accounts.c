/* test_accounts.c - the accounts service and the data directory: the rules
 * every way of creating a user shares, on a real SQLite store. */
#include <sys/stat.h>

#include "domain/accounts.h"
#include "server/datadir.h"
#include "testutil.h"

static char *make_tmpdir(void)
{
    char *dir = strdup("/tmp/healer-accounts-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
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
    hs_id id = 0;
    assert_int_equal(hs_accounts_create_user(dd->store, "alice", "correct horse",
                                             1, 1000, &test_costs, &id, &err),
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

    assert_int_equal(hs_accounts_create_user(dd->store, "alice", "another one",
                                             0, 1001, &test_costs, NULL, &err),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "alice"));
    assert_int_equal(hs_accounts_create_user(dd->store, "bob", "short", 0, 1001,
                                             &test_costs, NULL, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_accounts_create_user(dd->store, "bad name", "long enough",
                                             0, 1001, &test_costs, NULL, &err),
                     HS_ERR_INVALID);
    hs_datadir_close(dd);

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

typedef struct env {
    char *root;
    hs_datadir *dd;
    hs_auth_costs costs;
} env;

static env *env_open(void)
{
    env *e = calloc(1, sizeof *e);
    hs_error err;
    e->root = make_tmpdir();
    e->costs = HS_AUTH_COSTS_TEST;
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_datadir_open(e->root, &e->dd, &err), HS_OK);
    assert_int_equal(hs_accounts_create_user(e->dd->store, "alice",
                                             "correct horse", 0, 100, &e->costs,
                                             NULL, &err),
                     HS_OK);
    return e;
}

static void env_close(env *e)
{
    hs_datadir_close(e->dd);
    tu_rm_rf(e->root);
    free(e->root);
    free(e);
}

static hs_status login(env *e, const char *user, const char *pw, int remember,
                       int64_t now, hs_login *out, hs_error *err)
{
    return hs_accounts_login(e->dd->store, user, pw, remember, now, NULL, NULL,
                             &e->costs, out, err);
}

static void login_and_sessions(void **state)
{
    (void)state;
    env *e = env_open();
    hs_login in;
    hs_error err;
    assert_int_equal(login(e, "alice", "correct horse", 0, 1000, &in, &err), HS_OK);
    assert_int_equal(strlen(in.token), HS_TOKEN_CHARS);
    assert_string_equal(in.user.username, "alice");
    assert_string_equal(in.user.password_hash, "");
    hs_session s;
    hs_user u;
    hs_store *st = e->dd->store;
    /* Idle sessions slide; past the idle limit they end. */
    assert_int_equal(hs_accounts_session_check(st, in.token, 1000 + 600, NULL, &s, &u, &err), HS_OK);
    assert_int_equal(u.id, in.user.id);
    assert_int_equal(hs_accounts_session_check(st, in.token, 1000 + 1200, NULL, &s, &u, &err), HS_OK);
    assert_int_equal(hs_accounts_session_check(st, in.token, 1000 + 1200 + 1801, NULL, &s, &u, &err),
                     HS_ERR_DENIED);
    assert_non_null(strstr(err.message, "expired"));
    /* Expired sessions are gone for good. */
    assert_int_equal(hs_accounts_session_check(st, in.token, 1000 + 1300, NULL, &s, &u, &err),
                     HS_ERR_DENIED);
    /* "Remember me": 7 days, whatever the idle time. */
    assert_int_equal(login(e, "alice", "correct horse", 1, 5000, &in, &err), HS_OK);
    assert_int_equal(hs_accounts_session_check(st, in.token, 5000 + 6 * 86400, NULL, &s, &u, &err), HS_OK);
    assert_int_equal(hs_accounts_session_check(st, in.token, 5000 + 7 * 86400 + 1, NULL, &s, &u, &err),
                     HS_ERR_DENIED);
    /* Garbage and unknown tokens. */
    assert_int_equal(hs_accounts_session_check(st, "not-a-token", 5000, NULL, &s, &u, &err), HS_ERR_DENIED);
    char other[HS_TOKEN_CHARS + 1];
    hs_auth_new_token(other);
    assert_int_equal(hs_accounts_session_check(st, other, 5000, NULL, &s, &u, &err), HS_ERR_DENIED);
    env_close(e);
}

static void wrong_passwords_lock_the_account(void **state)
{
    (void)state;
    env *e = env_open();
    hs_login in;
    hs_error err;
    hs_error unknown;
    assert_int_equal(login(e, "nobody", "correct horse", 0, 1000, &in, &unknown), HS_ERR_DENIED);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(login(e, "alice", "wrong", 0, 1000 + i * 60, &in, &err), HS_ERR_DENIED);
        /* The same words as for an unknown user: names do not leak. */
        assert_string_equal(err.message, unknown.message);
    }
    assert_int_equal(login(e, "alice", "wrong", 0, 1300, &in, &err), HS_ERR_LOCKED);
    /* Locked: even the right password is refused, and not counted. */
    assert_int_equal(login(e, "alice", "correct horse", 0, 1400, &in, &err), HS_ERR_LOCKED);
    assert_non_null(strstr(err.message, "locked"));
    hs_notification *items = NULL;
    size_t n = 0;
    assert_int_equal(hs_store_notification_list(e->dd->store, 1, &items, &n, &err), HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(items[0].kind, "account_locked");
    assert_non_null(strstr(items[0].message, "alice"));
    free(items);
    /* The lock runs out 15 minutes after the last failure. */
    assert_int_equal(login(e, "alice", "correct horse", 0, 1300 + 901, &in, &err), HS_OK);
    env_close(e);
}

static void disabled_accounts(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err;
    hs_user u;
    assert_int_equal(hs_store_user_get_by_name(e->dd->store, "alice", &u, &err), HS_OK);
    hs_login in;
    assert_int_equal(login(e, "alice", "correct horse", 0, 1000, &in, &err), HS_OK);
    u.disabled = 1;
    assert_int_equal(hs_store_user_update(e->dd->store, &u, &err), HS_OK);
    hs_session s;
    hs_user who;
    /* Existing sessions stop working, new logins are refused. */
    assert_int_equal(hs_accounts_session_check(e->dd->store, in.token, 1001, NULL, &s, &who, &err),
                     HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "correct horse", 0, 1002, &in, &err), HS_ERR_DENIED);
    assert_non_null(strstr(err.message, "disabled"));
    env_close(e);
}

static void admin_unlock_reset_disable(void **state)
{
    (void)state;
    env *e = env_open();
    hs_store *st = e->dd->store;
    hs_login in;
    hs_error err;
    for (int i = 0; i < 5; i++)
        login(e, "alice", "wrong", 0, 1000 + i, &in, &err);
    assert_int_equal(err.code, HS_ERR_LOCKED);
    hs_user u;
    assert_int_equal(hs_store_user_get_by_name(st, "alice", &u, &err), HS_OK);
    assert_true(u.locked_until > 1004);
    /* Unlock: the old failures no longer count toward the next lock. */
    assert_int_equal(hs_accounts_unlock(st, u.id, 1010, &err), HS_OK);
    assert_int_equal(login(e, "alice", "wrong", 0, 1011, &in, &err), HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "correct horse", 0, 1012, &in, &err), HS_OK);
    /* Reset: the old password stops working and sessions end. */
    assert_int_equal(hs_accounts_reset_password(st, u.id, "short", 1013, &e->costs, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_accounts_reset_password(st, u.id, "new password!", 1013, &e->costs, &err),
                     HS_OK);
    hs_session s;
    hs_user who;
    assert_int_equal(hs_accounts_session_check(st, in.token, 1014, NULL, &s, &who, &err),
                     HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "correct horse", 0, 1015, &in, &err), HS_ERR_DENIED);
    assert_int_equal(login(e, "alice", "new password!", 0, 1016, &in, &err), HS_OK);
    /* Disable, then enable again. */
    assert_int_equal(hs_accounts_set_disabled(st, u.id, 1, 1017, &err), HS_OK);
    assert_int_equal(hs_accounts_session_check(st, in.token, 1018, NULL, &s, &who, &err),
                     HS_ERR_DENIED);
    assert_int_equal(hs_accounts_set_disabled(st, u.id, 0, 1019, &err), HS_OK);
    assert_int_equal(login(e, "alice", "new password!", 0, 1020, &in, &err), HS_OK);
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
    assert_int_equal(hs_accounts_unlock(st, 9999, 1021, &err), HS_ERR_NOTFOUND);
    env_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(username_rules),
        cmocka_unit_test(creates_users_in_a_new_data_dir),
        cmocka_unit_test(data_dir_that_is_a_file),
        cmocka_unit_test(login_and_sessions),
        cmocka_unit_test(wrong_passwords_lock_the_account),
        cmocka_unit_test(disabled_accounts),
        cmocka_unit_test(admin_unlock_reset_disable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
