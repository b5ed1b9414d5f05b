/* test_security_report.c - the counting of refused requests and the
 * security report (domain/security_report.h).
 *
 * What: a refusal's kind from its status; sources (IPv4, IPv4-mapped,
 * IPv6 folded to its /64, garbage); counting in memory writes nothing
 * until a flush, which writes one row per key; the cap folds new keys
 * into "other" without losing counts; a failed flush keeps its counts;
 * the report flushes first, merges failed logins and locks from the
 * account events with the refusals, aligns its points, ranks routes and
 * sources, refuses bad queries; old tallies are pruned.
 *
 * Why: the report is what an administrator acts on, and the counter is
 * what a flood of refused requests hits: both must be exact and bounded.
 */
#include "testutil.h"

#include "base/clock.h"
#include "domain/security_report.h"
#include "server/datadir.h"
#include "store/store.h"

typedef struct env {
    char root[64];
    hs_datadir *dd;
    hs_clock *clock;
    hs_app app;
} env;

static env *env_open(void)
{
    env *e = calloc(1, sizeof *e);
    hs_error err = {0};
    assert_non_null(e);
    snprintf(e->root, sizeof e->root, "/tmp/healer-secreport-XXXXXX");
    assert_non_null(mkdtemp(e->root));
    e->clock = hs_clock_manual(1000000);
    assert_int_equal(hs_datadir_open(e->root, &e->dd, &err), HS_OK);
    e->app.store = e->dd->store;
    e->app.blobs = e->dd->blobs;
    e->app.clock = e->clock;
    assert_int_equal(hs_refusals_start(&e->app, 0, 90, &e->app.refusals, &err),
                     HS_OK);
    return e;
}

static void env_close(env *e)
{
    hs_refusals_stop(e->app.refusals);
    hs_datadir_close(e->dd);
    hs_clock_free(e->clock);
    tu_rm_rf(e->root);
    free(e);
}

/* The stored refusals of every kind in [since, until), one bucket. */
static int64_t stored_total(env *e, int64_t since, int64_t until)
{
    hs_tally *rows = NULL;
    size_t n = 0;
    hs_error err = {0};
    assert_int_equal(hs_store_tally_series(e->app.store, since, until,
                                           until - since, &rows, &n, &err),
                     HS_OK);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += rows[i].count;
    free(rows);
    return total;
}

static void kinds_and_sources(void **state)
{
    (void)state;
    assert_string_equal(hs_refusal_kind(401, NULL), HS_REFUSAL_UNAUTHORIZED);
    assert_string_equal(hs_refusal_kind(403, NULL), HS_REFUSAL_FORBIDDEN);
    assert_string_equal(hs_refusal_kind(403, "csrf_failed"), HS_REFUSAL_CSRF);
    assert_string_equal(hs_refusal_kind(429, NULL), HS_REFUSAL_RATE_LIMITED);
    assert_null(hs_refusal_kind(404, NULL));
    assert_null(hs_refusal_kind(200, NULL));

    char out[HS_ADDRESS_MAX];
    hs_refusal_source("192.0.2.7", out);
    assert_string_equal(out, "192.0.2.7");
    hs_refusal_source("::ffff:192.0.2.8", out);
    assert_string_equal(out, "192.0.2.8");
    hs_refusal_source("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out);
    assert_string_equal(out, "2001:db8:1:2::/64");
    hs_refusal_source("2001:db8:1:2::ffff", out); /* same /64 */
    assert_string_equal(out, "2001:db8:1:2::/64");
    hs_refusal_source("::1", out);
    assert_string_equal(out, "::/64");
    hs_refusal_source("", out);
    assert_string_equal(out, HS_REFUSALS_OTHER);
    hs_refusal_source("not an address", out);
    assert_string_equal(out, HS_REFUSALS_OTHER);
    hs_refusal_source(NULL, out);
    assert_string_equal(out, HS_REFUSALS_OTHER);
}

/* Counting writes nothing; one flush writes one row per key. */
static void counted_then_flushed(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err = {0};
    hs_refusals *r = e->app.refusals;
    for (int i = 0; i < 1000; i++)
        hs_refusals_count(r, 999960 + i % 50, "POST /api/v1/auth/login",
                          i % 2 ? "192.0.2.1" : "2001:db8::1",
                          HS_REFUSAL_UNAUTHORIZED);
    assert_int_equal(hs_refusals_pending(r), 2);
    assert_int_equal(stored_total(e, 0, 2000000), 0);
    assert_int_equal(hs_refusals_flush(r, &err), HS_OK);
    assert_int_equal(hs_refusals_pending(r), 0);
    assert_int_equal(stored_total(e, 0, 2000000), 1000);
    /* A second flush of the same keys adds up. */
    hs_refusals_count(r, 1000001, "POST /api/v1/auth/login", "192.0.2.1",
                      HS_REFUSAL_UNAUTHORIZED);
    assert_int_equal(hs_refusals_flush(r, &err), HS_OK);
    assert_int_equal(stored_total(e, 0, 2000000), 1001);
    env_close(e);
}

/* Past the cap, new keys count under "other": memory stays bounded and
 * no count is lost. */
static void cap_folds_into_other(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err = {0};
    hs_refusals *r = e->app.refusals;
    const int sources = HS_REFUSALS_KEYS_MAX + 500;
    char client[64];
    for (int i = 0; i < sources; i++) {
        snprintf(client, sizeof client, "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        hs_refusals_count(r, 1000000, "GET /api/v1/users", client,
                          HS_REFUSAL_FORBIDDEN);
    }
    assert_int_equal(hs_refusals_pending(r), HS_REFUSALS_KEYS_MAX + 1);
    assert_int_equal(hs_refusals_flush(r, &err), HS_OK);
    assert_int_equal(stored_total(e, 0, 2000000), sources);
    hs_tally *rows = NULL;
    size_t n = 0;
    assert_int_equal(
        hs_store_tally_top(e->app.store, 0, 2000000, 1, 1, &rows, &n, &err),
        HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].source, HS_REFUSALS_OTHER);
    assert_int_equal(rows[0].count, 500);
    free(rows);
    env_close(e);
}

/* A flush that cannot write keeps its counts for the next one. */
static hs_status failing_transact(hs_store *store, hs_store_txn_fn fn,
                                  void *arg, hs_error *err)
{
    (void)store;
    (void)fn;
    (void)arg;
    return hs_fail(err, HS_ERR_IO, "disk full (test)");
}

static void failed_flush_keeps_counts(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err = {0};
    hs_refusals *r = e->app.refusals;
    hs_refusals_count(r, 1000000, "GET /api/v1/users", "192.0.2.1",
                      HS_REFUSAL_FORBIDDEN);
    hs_store_ops broken = *e->app.store->ops;
    broken.transact = failing_transact;
    const hs_store_ops *real = e->app.store->ops;
    e->app.store->ops = &broken;
    assert_int_equal(hs_refusals_flush(r, &err), HS_ERR_IO);
    e->app.store->ops = real;
    assert_int_equal(hs_refusals_pending(r), 1);
    assert_int_equal(hs_refusals_flush(r, &err), HS_OK);
    assert_int_equal(stored_total(e, 0, 2000000), 1);
    env_close(e);
}

static int64_t point(const hs_security_report *r, int64_t t, const char *kind)
{
    for (size_t i = 0; i < r->n_series; i++)
        if (r->series[i].bucket == t && !strcmp(r->series[i].kind, kind))
            return r->series[i].count;
    return 0;
}

/* The report: flushed first, account events merged, points aligned,
 * routes and sources ranked. */
static void report_merges_and_ranks(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err = {0};
    hs_id ann = 0;
    hs_user u = {0};
    snprintf(u.username, sizeof u.username, "ann");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    assert_int_equal(hs_store_user_create(e->app.store, &u, &err), HS_OK);
    ann = u.id;
    const int64_t t0 = 999990; /* in the minute starting 999960 */
    for (int i = 0; i < 3; i++)
        assert_int_equal(hs_store_event_add(e->app.store, ann,
                                            HS_SECURITY_LOGIN_FAILED, t0 + i,
                                            NULL, &err),
                         HS_OK);
    assert_int_equal(hs_store_event_add(e->app.store, ann, HS_SECURITY_LOCKED,
                                        t0 + 5, NULL, &err),
                     HS_OK);
    assert_int_equal(
        hs_store_event_add(e->app.store, ann, "unlocked", t0 + 6, NULL, &err),
        HS_OK);
    for (int i = 0; i < 4; i++)
        hs_refusals_count(e->app.refusals, t0 + 70, "POST /api/v1/auth/login",
                          "2001:db8:9:9::1", HS_REFUSAL_RATE_LIMITED);
    hs_refusals_count(e->app.refusals, t0, "DELETE /api/v1/models/{id}",
                      "192.0.2.5", HS_REFUSAL_CSRF);
    hs_clock_set(e->clock, t0 + 100);

    hs_security_query q = {.bucket = 60};
    hs_security_report r;
    assert_int_equal(hs_security_report_build(&e->app, &q, &r, &err), HS_OK);
    assert_int_equal(r.q.until % 60, 0);
    assert_true(r.q.until >= t0 + 100);
    assert_int_equal(r.q.until - r.q.since, 86400); /* a day by default */
    assert_int_equal(point(&r, 999960, HS_SECURITY_LOGIN_FAILED), 3);
    assert_int_equal(point(&r, 999960, HS_SECURITY_LOCKED), 1);
    assert_int_equal(point(&r, 999960, HS_REFUSAL_CSRF), 1);
    assert_int_equal(point(&r, 1000020, HS_REFUSAL_RATE_LIMITED), 4);
    assert_int_equal(r.totals[0], 3); /* login_failed */
    assert_int_equal(r.totals[1], 1); /* locked; "unlocked" is not shown */
    assert_int_equal(r.totals[5], 4); /* rate_limited */
    assert_int_equal(r.n_routes, 2);
    assert_string_equal(r.routes[0].route, "POST /api/v1/auth/login");
    assert_int_equal(r.routes[0].count, 4);
    assert_string_equal(r.sources[0].source, "2001:db8:9:9::/64");
    for (size_t i = 1; i < r.n_series; i++)
        assert_true(r.series[i - 1].bucket <= r.series[i].bucket);
    hs_security_report_free(&r);

    /* Bad queries name their field. */
    hs_security_query bad = {.since = 2000000, .until = 1000000};
    assert_int_equal(hs_security_report_build(&e->app, &bad, &r, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "since");
    bad = (hs_security_query){.bucket = 90};
    assert_int_equal(hs_security_report_build(&e->app, &bad, &r, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "bucket");
    bad = (hs_security_query){.since = 1, .bucket = 60};
    assert_int_equal(hs_security_report_build(&e->app, &bad, &r, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "bucket");
    bad = (hs_security_query){.top = HS_SECURITY_TOP_MAX + 1};
    assert_int_equal(hs_security_report_build(&e->app, &bad, &r, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "top");
    env_close(e);
}

/* Tallies older than the retention go at the first flush after start
 * (and then hourly); newer ones stay. */
static void old_tallies_pruned(void **state)
{
    (void)state;
    env *e = env_open();
    hs_error err = {0};
    const int64_t now = 10000000;
    hs_clock_set(e->clock, now);
    hs_tally old = {.bucket = now - 91 * 86400, .count = 2};
    snprintf(old.route, sizeof old.route, "GET /api/v1/users");
    snprintf(old.source, sizeof old.source, "192.0.2.1");
    snprintf(old.kind, sizeof old.kind, HS_REFUSAL_FORBIDDEN);
    hs_tally recent = old;
    recent.bucket = now - 89 * 86400;
    assert_int_equal(hs_store_tally_add(e->app.store, &old, 1, &err), HS_OK);
    assert_int_equal(hs_store_tally_add(e->app.store, &recent, 1, &err), HS_OK);
    assert_int_equal(hs_refusals_flush(e->app.refusals, &err), HS_OK);
    assert_int_equal(stored_total(e, 0, now), 2);
    assert_int_equal(stored_total(e, recent.bucket, recent.bucket + 60), 2);
    env_close(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kinds_and_sources),
        cmocka_unit_test(counted_then_flushed),
        cmocka_unit_test(cap_folds_into_other),
        cmocka_unit_test(failed_flush_keeps_counts),
        cmocka_unit_test(report_merges_and_ranks),
        cmocka_unit_test(old_tallies_pruned),
    };
    return cmocka_run_group_tests_name("security report", tests, NULL, NULL);
}
