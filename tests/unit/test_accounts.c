/* test_accounts.c - the accounts service and the data directory: the rules
 * every way of creating a user shares, on a real SQLite store. */
#include <sys/stat.h>

#include "accounts.h"
#include "datadir.h"
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(username_rules),
        cmocka_unit_test(creates_users_in_a_new_data_dir),
        cmocka_unit_test(data_dir_that_is_a_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
