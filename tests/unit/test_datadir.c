/* test_datadir.c - the data directory: its owner lock (one server per
 * directory) and the modes of what it creates. */
#include "testutil.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>

#include "base/clock.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/orphans.h"
#include "server/datadir.h"
#include "store/store.h"

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

/* Every entry under root: regular files `file_mode`, directories
 * `dir_mode` (the mode bits only); returns how many were checked. */
static size_t check_tree(const char *root, mode_t file_mode, mode_t dir_mode)
{
    struct stat st;
    size_t n = 1;
    assert_int_equal(lstat(root, &st), 0);
    if (S_ISLNK(st.st_mode))
        return 0;
    if (!S_ISDIR(st.st_mode)) {
        if ((st.st_mode & 07777) != file_mode)
            fail_msg("%s is %o, not %o", root, st.st_mode & 07777, file_mode);
        return 1;
    }
    if ((st.st_mode & 07777) != dir_mode)
        fail_msg("%s is %o, not %o", root, st.st_mode & 07777, dir_mode);
    DIR *d = opendir(root);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char child[1024];
        snprintf(child, sizeof child, "%s/%s", root, e->d_name);
        n += check_tree(child, file_mode, dir_mode);
    }
    closedir(d);
    return n;
}

/* Under the widest umask, what opening a data directory and writing to
 * its store and blobs creates is the owner's alone: the database, its WAL
 * and shared-memory files, the server key, the access log, blobs. */
static void test_created_private_whatever_the_umask(void **state)
{
    (void)state;
    mode_t old = umask(0);
    char *root = make_root();
    char path[512], log_path[600];
    snprintf(path, sizeof path, "%s/data", root);
    hs_datadir *dd = NULL;
    hs_error err = {0};
    assert_int_equal(hs_datadir_open(path, &dd, &err), HS_OK);
    int fd = -1;
    assert_int_equal(hs_datadir_access_log(dd, "", log_path, sizeof log_path,
                                           &fd, &err),
                     HS_OK);
    close(fd);
    hs_app app = {.store = dd->store, .blobs = dd->blobs, .keys = &dd->keys,
                  .clock = hs_clock_system()};
    hs_id id = 0;
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "modes",
                                             "modes-pass-1234", 0, NULL, &id,
                                             &err),
                     HS_OK);
    char blob[HS_BLOB_KEY_MAX];
    assert_int_equal(hs_blob_put(dd->blobs, "upload", "a,b\n", 4, blob, &err),
                     HS_OK);
    snprintf(log_path, sizeof log_path, "%s/healer.db-wal", path);
    assert_int_equal(access(log_path, F_OK), 0); /* the WAL exists, checked */
    assert_true(check_tree(path, 0600, 0700) >= 9);
    hs_datadir_close(dd);
    umask(old);
    tu_rm_rf(root);
    free(root);
}

/* An older installation's wide modes are narrowed; a symbolic link is
 * neither followed nor changed; a raised stop flag stops the walk. */
static void test_fix_modes(void **state)
{
    (void)state;
    char *root = make_root();
    char path[512], outside[512], link_path[512];
    snprintf(path, sizeof path, "%s/data/blobs/upload", root);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && touch %s/f %s/../../healer.db",
             path, path, path);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "chmod 755 %s/data %s/data/blobs %s && chmod 644 "
                              "%s/f && chmod 4664 %s/data/healer.db && touch "
                              "%s/data/tool && chmod 0755 %s/data/tool",
             root, root, path, path, root, root, root);
    assert_int_equal(system(cmd), 0);
    const char *other = tu_write_temp("x", 1); /* 0600 by mkstemp */
    snprintf(outside, sizeof outside, "%s", other);
    assert_int_equal(chmod(outside, 0644), 0);
    snprintf(link_path, sizeof link_path, "%s/data/link", root);
    assert_int_equal(symlink(outside, link_path), 0);
    snprintf(path, sizeof path, "%s/data", root);

    atomic_int stop = 1;
    size_t files = 9, dirs = 9;
    hs_error err = {0};
    assert_int_equal(hs_datadir_fix_modes(path, &stop, &files, &dirs, &err),
                     HS_OK);
    assert_int_equal(files + dirs, 0);
    atomic_store(&stop, 0);
    assert_int_equal(hs_datadir_fix_modes(path, &stop, &files, &dirs, &err),
                     HS_OK);
    assert_int_equal(files, 3);
    assert_int_equal(dirs, 3);
    struct stat st;
    char tool[600];
    snprintf(tool, sizeof tool, "%s/tool", path);
    assert_int_equal(stat(tool, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700); /* still its owner's tool */
    unlink(tool);
    check_tree(path, 0600, 0700);
    assert_int_equal(stat(outside, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644); /* the link's target */
    assert_int_equal(hs_datadir_fix_modes(path, NULL, &files, &dirs, &err),
                     HS_OK);
    assert_int_equal(files + dirs, 0); /* nothing left to do */
    unlink(outside);
    tu_rm_rf(root);
    free(root);
}

/* Sets a file's times `age` seconds back. */
static void age_file(const char *path, int age)
{
    struct timespec t[2];
    t[0].tv_sec = t[1].tv_sec = time(NULL) - age;
    t[0].tv_nsec = t[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
}

/* Of the blobs written before the cutoff, those no record refers to go;
 * a recorded one stays, and so does a young one nothing refers to yet.
 * The data directory's blobs are encrypted: the sweep lists them through
 * the encrypting layer, and counts the bytes freed on disk. */
static void test_orphans_sweep(void **state)
{
    (void)state;
    char *root = make_root();
    hs_datadir *dd = NULL;
    hs_error err = {0};
    assert_int_equal(hs_datadir_open(root, &dd, &err), HS_OK);
    hs_app app = {.store = dd->store, .blobs = dd->blobs, .keys = &dd->keys,
                  .clock = hs_clock_system()};
    char kept[HS_BLOB_KEY_MAX], orphan[HS_BLOB_KEY_MAX], young[HS_BLOB_KEY_MAX];
    assert_int_equal(hs_blob_put(dd->blobs, "upload", "x,y\n", 4, kept, &err),
                     HS_OK);
    assert_int_equal(hs_blob_put(dd->blobs, "upload", "lost!", 5, orphan, &err),
                     HS_OK);
    assert_int_equal(hs_blob_put(dd->blobs, "model", "new", 3, young, &err),
                     HS_OK);
    hs_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "owner");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    assert_int_equal(hs_store_user_create(dd->store, &u, &err), HS_OK);
    hs_dataset_rec d;
    memset(&d, 0, sizeof d);
    d.owner_id = u.id;
    snprintf(d.name, sizeof d.name, "kept.csv");
    snprintf(d.blob_key, sizeof d.blob_key, "%s", kept);
    d.size_bytes = 4;
    d.created_at = 1;
    assert_int_equal(hs_store_dataset_create(dd->store, &d, &err), HS_OK);
    char file[700];
    snprintf(file, sizeof file, "%s/blobs/%s", root, kept);
    age_file(file, 600);
    snprintf(file, sizeof file, "%s/blobs/%s", root, orphan);
    age_file(file, 600);
    struct stat orphan_st; /* encrypted: more than its 5 bytes */
    assert_int_equal(stat(file, &orphan_st), 0);
    assert_true(orphan_st.st_size > 5);
    char temp[700];
    snprintf(temp, sizeof temp,
             "%s/blobs/tmp/upload.0123456789abcdef0123456789abcdef", root);
    int fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "partial", 7), 7);
    close(fd);
    age_file(temp, 600);

    int64_t cutoff = ((int64_t)time(NULL) - 60) * 1000000000LL;
    hs_orphan_report rep;
    atomic_int stop = 1;
    assert_int_equal(hs_orphans_sweep(&app, cutoff, &stop, &rep, &err), HS_OK);
    assert_int_equal(rep.blobs + rep.temps, 0); /* stopped at once */
    atomic_store(&stop, 0);
    assert_int_equal(hs_orphans_sweep(&app, cutoff, &stop, &rep, &err), HS_OK);
    assert_int_equal(rep.blobs, 1);
    assert_int_equal(rep.blob_bytes, (uint64_t)orphan_st.st_size);
    assert_int_equal(rep.temps, 1);
    assert_int_equal(rep.temp_bytes, 7);
    assert_int_equal(rep.kept_recent, 1);
    int exists = 0;
    assert_int_equal(hs_blob_exists(dd->blobs, orphan, &exists, &err), HS_OK);
    assert_false(exists);
    assert_int_equal(hs_blob_exists(dd->blobs, kept, &exists, &err), HS_OK);
    assert_true(exists);
    assert_int_equal(hs_blob_exists(dd->blobs, young, &exists, &err), HS_OK);
    assert_true(exists);
    assert_int_equal(access(temp, F_OK), -1);
    /* A second sweep finds nothing more. */
    assert_int_equal(hs_orphans_sweep(&app, cutoff, NULL, &rep, &err), HS_OK);
    assert_int_equal(rep.blobs + rep.temps, 0);
    hs_datadir_close(dd);
    tu_rm_rf(root);
    free(root);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lock_is_exclusive),
        cmocka_unit_test(test_lock_between_processes),
        cmocka_unit_test(test_lock_bad_paths),
        cmocka_unit_test(test_created_private_whatever_the_umask),
        cmocka_unit_test(test_fix_modes),
        cmocka_unit_test(test_orphans_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
