/* test_health.c - the health checks and their cache (domain/health.h), on
 * a real SQLite store and blob directory.
 *
 * The API suite (tests/api/test_health.py) makes each check fail on a
 * running server; here the cache's rules are checked where time can be
 * controlled: a result is reused within a second and run again after it,
 * a caller that arrives while another runs the checks waits for that run,
 * and one whose wait runs out (a store held by a long transaction) reports
 * the check still running as not answering instead of piling up; the
 * callers after it are answered at once while that run lasts. Each check
 * carries a generic state for the public answer beside its details.
 */
#include <pthread.h>
#include <unistd.h>

#include "testutil.h"

#include "blob/blob.h"
#include "domain/health.h"
#include "healer/clock.h"
#include "store/store.h"

typedef struct fixture {
    char dir[64];
    hs_app app;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hs_error err = {0};
    char path[128];
    snprintf(f->dir, sizeof f->dir, "/tmp/healer-health-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(path, sizeof path, "sqlite:%s/healer.db", f->dir);
    assert_int_equal(hs_store_open(path, &f->app.store, &err), HS_OK);
    snprintf(path, sizeof path, "%s/blobs", f->dir);
    assert_int_equal(hs_blob_dir_open(path, &f->app.blobs, &err), HS_OK);
    assert_int_equal(hs_health_new(f->dir, 0, &f->app.health, &err), HS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hs_health_free(f->app.health);
    hs_blob_store_close(f->app.blobs);
    hs_store_close(f->app.store);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

static const hs_health_check *find(const hs_health_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_checks; i++)
        if (!strcmp(r->checks[i].name, name))
            return &r->checks[i];
    return NULL;
}

/* Store, blobs and disk pass (no runner in this process: not checked);
 * a second call within the second reuses the result, one after it runs
 * the checks again. */
static void test_checks_pass_and_are_cached(void **state)
{
    fixture *f = *state;
    hs_health_report r;
    hs_health_get(&f->app, &r);
    assert_true(r.ok);
    assert_int_equal(r.n_checks, 3);
    assert_non_null(find(&r, "store"));
    assert_non_null(find(&r, "blobs"));
    assert_non_null(strstr(find(&r, "disk")->message, "MiB free"));
    assert_null(find(&r, "runner"));
    assert_int_equal(hs_health_runs(f->app.health), 1);
    for (int i = 0; i < 20; i++)
        hs_health_get(&f->app, &r);
    assert_int_equal(hs_health_runs(f->app.health), 1);
    assert_true(r.age_seconds < HS_HEALTH_CACHE_SECONDS);
    usleep((useconds_t)(HS_HEALTH_CACHE_SECONDS * 1e6) + 100000);
    hs_health_get(&f->app, &r);
    assert_int_equal(hs_health_runs(f->app.health), 2);
    assert_int_equal(hs_health_runs(NULL), 0);
}

/* A threshold above any disk fails "disk" alone, saying by how much. */
static void test_disk_threshold(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    hs_health_report r;
    hs_health_free(f->app.health);
    assert_int_equal(
        hs_health_new(f->dir, UINT64_C(1) << 62, &f->app.health, &err), HS_OK);
    hs_health_get(&f->app, &r);
    assert_false(r.ok);
    assert_false(find(&r, "disk")->ok);
    assert_non_null(strstr(find(&r, "disk")->message, "below the minimum"));
    assert_string_equal(find(&r, "disk")->state,
                        "free space below min-free-disk-mb");
    assert_null(strstr(find(&r, "disk")->state, "MiB"));
    assert_true(find(&r, "store")->ok && find(&r, "blobs")->ok);
    assert_string_equal(find(&r, "store")->state, "answers");
}

static hs_status hold_store(hs_store *store, void *arg, hs_error *err)
{
    (void)store;
    (void)err;
    usleep((useconds_t)(*(double *)arg * 1e6));
    return HS_OK;
}

static void *long_transaction(void *arg)
{
    fixture *f = arg;
    double seconds = HS_HEALTH_WAIT_SECONDS + 1.5;
    hs_store_transact(f->app.store, hold_store, &seconds, NULL);
    return NULL;
}

static void *first_caller(void *arg)
{
    fixture *f = arg;
    static hs_health_report r;
    hs_health_get(&f->app, &r);
    return &r;
}

/* The store is held by a transaction longer than a caller waits: the
 * caller running the checks blocks on it, and a second caller reports
 * "store" as not answering after HS_HEALTH_WAIT_SECONDS instead of
 * waiting as long; a third, while the run still hangs, is answered at
 * once; the first one ends with the real answer. */
static void test_a_stuck_check_is_reported_not_waited_for(void **state)
{
    fixture *f = *state;
    pthread_t holder, first;
    hs_health_report r;
    assert_int_equal(pthread_create(&holder, NULL, long_transaction, f), 0);
    usleep(100000);
    assert_int_equal(pthread_create(&first, NULL, first_caller, f), 0);
    usleep(200000);
    double t0 = hl_clock_monotonic();
    hs_health_get(&f->app, &r);
    double waited = hl_clock_monotonic() - t0;
    assert_true(waited >= HS_HEALTH_WAIT_SECONDS - 0.1 &&
                waited < HS_HEALTH_WAIT_SECONDS + 1);
    assert_false(r.ok);
    assert_false(find(&r, "store")->ok);
    assert_non_null(strstr(find(&r, "store")->message, "no answer within"));
    assert_string_equal(find(&r, "store")->state, "not answering");
    t0 = hl_clock_monotonic();
    hs_health_get(&f->app, &r);
    assert_true(hl_clock_monotonic() - t0 < 0.5);
    assert_false(r.ok);
    assert_false(find(&r, "store")->ok);
    assert_string_equal(find(&r, "store")->state, "not answering");
    void *got = NULL;
    pthread_join(first, &got);
    pthread_join(holder, NULL);
    assert_true(((hs_health_report *)got)->ok);
    assert_int_equal(hs_health_runs(f->app.health), 1);
}

/* Without a cache (app->health NULL) the checks run on each call, with no
 * disk check (no data directory known). */
static void test_uncached(void **state)
{
    fixture *f = *state;
    hs_health_report r;
    hs_health *h = f->app.health;
    f->app.health = NULL;
    hs_health_get(&f->app, &r);
    f->app.health = h;
    assert_true(r.ok);
    assert_int_equal(r.n_checks, 2);
    assert_null(find(&r, "disk"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checks_pass_and_are_cached, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_disk_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_a_stuck_check_is_reported_not_waited_for, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uncached, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
