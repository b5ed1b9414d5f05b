/* test_datadir.c - the data directory: its owner lock (one server per
 * directory) and the modes of what it creates. */
#include "testutil.h"

#include <sys/wait.h>

#include "server/datadir.h"

static char *make_root(void)
{
    char tmpl[] = "/tmp/healer-datadir-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    return strdup(tmpl);
}

/* A second holder - here another open of the same file, as a second
 * process would - is refused with the holder's pid; after the unlock the
 * lock can be taken again. */
static void test_lock_is_exclusive(void **state)
{
    (void)state;
    char *root = make_root();
    char path[512];
    snprintf(path, sizeof path, "%s/data", root); /* created by the lock */
    hs_dirlock *first = NULL, *second = NULL;
    hs_error err = {0};
    assert_int_equal(hs_datadir_lock(path, "test", &first, &err), HS_OK);
    assert_int_equal(hs_datadir_lock(path, "test", &second, &err),
                     HS_ERR_CONFLICT);
    assert_null(second);
    char want[600];
    snprintf(want, sizeof want, "data directory %s is in use by process %ld",
             path, (long)getpid());
    assert_string_equal(err.message, want);
    struct stat st;
    snprintf(want, sizeof want, "%s/.lock", path);
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    hs_datadir_unlock(first);
    assert_int_equal(hs_datadir_lock(path, "test", &second, &err), HS_OK);
    hs_datadir_unlock(second);
    tu_rm_rf(root);
    free(root);
}

/* A child process holding the lock: the parent is refused and told the
 * child's pid; once the child has died the lock is free (the kernel
 * drops it: no stale lock after a crash). */
static void test_lock_between_processes(void **state)
{
    (void)state;
    char *root = make_root();
    int ready[2], done[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(done), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        hs_dirlock *l = NULL;
        char c = hs_datadir_lock(root, "child", &l, NULL) == HS_OK ? 'y' : 'n';
        if (write(ready[1], &c, 1) != 1 || read(done[0], &c, 1) < 0)
            _exit(2);
        _exit(0); /* dies holding it */
    }
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    hs_dirlock *l = NULL;
    hs_error err = {0};
    assert_int_equal(hs_datadir_lock(root, "test", &l, &err), HS_ERR_CONFLICT);
    char want[600];
    snprintf(want, sizeof want, "data directory %s is in use by process %ld",
             root, (long)child);
    assert_string_equal(err.message, want);
    assert_int_equal(write(done[1], "x", 1), 1);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(hs_datadir_lock(root, "test", &l, &err), HS_OK);
    hs_datadir_unlock(l);
    close(ready[0]);
    close(ready[1]);
    close(done[0]);
    close(done[1]);
    tu_rm_rf(root);
    free(root);
}

static void test_lock_bad_paths(void **state)
{
    (void)state;
    hs_dirlock *l = NULL;
    hs_error err = {0};
    assert_int_equal(hs_datadir_lock("", "test", &l, &err), HS_ERR_INVALID);
    assert_null(l);
    /* a file where the directory should be */
    const char *file = tu_write_temp("x", 1);
    assert_int_equal(hs_datadir_lock(file, "test", &l, &err), HS_ERR_IO);
    assert_non_null(strstr(err.message, "not a directory"));
    assert_null(l);
    unlink(file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_is_exclusive),
        cmocka_unit_test(test_lock_between_processes),
        cmocka_unit_test(test_lock_bad_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
