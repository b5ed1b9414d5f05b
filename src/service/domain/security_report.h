/* domain/security_report.h - the administrators' security report: failed
 * logins, account locks and refused requests over time, by route and by
 * source address.
 *
 * Refused requests (401, 403 - CSRF apart -, 429) are counted where the
 * HTTP layer answers them, in memory (hs_refusals_count: a mutex and a
 * small hash table, no I/O), per minute bucket, route pattern (from the
 * route table: bounded, never the raw URL) and source (an IPv6 address
 * folded to its /64, which is what one client can change at will). A
 * background flusher writes the buckets to the store once per interval in
 * one transaction, so a flood of refused requests costs one write a
 * minute, not one per request; memory is bounded (HS_REFUSALS_KEYS_MAX
 * distinct keys between two flushes, the rest folded into route and
 * source "other"). The flusher also prunes tallies older than the
 * retention. Failed logins and locks come from the account events the
 * login code already records (domain/logins.h).
 *
 * The report (hs_security_report_build) flushes what is pending first, so
 * it always shows every refusal counted so far by this process.
 */
#ifndef HEALER_HS_SECURITY_REPORT_H
#define HEALER_HS_SECURITY_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "base/app.h"
#include "base/error.h"
#include "domain/logins.h"
#include "store/records.h"

/* Width of a stored bucket, seconds; a report's points are multiples. */
#define HS_REFUSALS_BUCKET_SECONDS 60
/* Distinct (bucket, route, source, kind) keys held between two flushes;
 * past it, new keys count under route and source "other". */
#define HS_REFUSALS_KEYS_MAX 1024
/* The key that past-the-cap refusals and unknown sources count under. */
#define HS_REFUSALS_OTHER "other"

/* The kinds of refusal, and the account events the report counts. */
#define HS_REFUSAL_UNAUTHORIZED "unauthorized" /* 401 */
#define HS_REFUSAL_FORBIDDEN "forbidden"       /* 403, not CSRF */
#define HS_REFUSAL_CSRF "csrf_failed"          /* 403 for the CSRF token */
#define HS_REFUSAL_RATE_LIMITED "rate_limited" /* 429 */
/* The account events the report counts: the login code's names, one
 * definition each (records.h's HS_EVENT_LOGIN_FAILED, logins.h's
 * HS_EVENT_LOCKED). */
#define HS_SECURITY_LOGIN_FAILED HS_EVENT_LOGIN_FAILED
#define HS_SECURITY_LOCKED HS_EVENT_LOCKED

/* Every series of the report, in its order: the two account events, then
 * the four refusal kinds. */
#define HS_SECURITY_KINDS 6
extern const char *const hs_security_kinds[HS_SECURITY_KINDS];

/* The refusal kind of a response (status, and its error code for 403:
 * "csrf_failed"), or NULL when it is not a refusal the report counts. */
const char *hs_refusal_kind(int status, const char *error_code);

/* The source a client address counts under: an IPv4 address as is (also
 * when IPv4-mapped, ::ffff:a.b.c.d), an IPv6 one as its /64
 * ("2001:db8:1:2::/64"), HS_REFUSALS_OTHER for anything else ("" too). */
void hs_refusal_source(const char *client, char out[HS_ADDRESS_MAX]);

/* ---- counting and flushing ---------------------------------------------- */

typedef struct hs_refusals hs_refusals;

/* A counter that flushes to app->store every flush_seconds from its own
 * thread (0: no thread; hs_refusals_flush by hand, as tests do) and
 * prunes tallies older than retention_days (>= 1). app must outlive it.
 * Free with hs_refusals_stop, which flushes what is left. */
hs_status hs_refusals_start(hs_app *app, unsigned flush_seconds,
                            unsigned retention_days, hs_refusals **out,
                            hs_error *err);

/* Stops the flusher, flushes once more, frees. NULL is a no-op. */
void hs_refusals_stop(hs_refusals *r);

/* Counts one refusal of `kind` (hs_refusal_kind) of a request to `route`
 * (a route table's "METHOD pattern", cut to fit) from client address
 * `client`, at unix time `now`. Thread-safe, no I/O, bounded memory. */
void hs_refusals_count(hs_refusals *r, int64_t now, const char *route,
                       const char *client, const char *kind);

/* Writes every pending count to the store in one transaction (a failed
 * write keeps them for the next flush), then prunes past the retention
 * when an hour has gone by since the last prune. */
hs_status hs_refusals_flush(hs_refusals *r, hs_error *err);

/* Distinct keys pending now (for tests and /metrics). */
size_t hs_refusals_pending(hs_refusals *r);

/* ---- the report -----------------------------------------------------------
 */

/* Most points in one series, and most rows in a top list. */
#define HS_SECURITY_POINTS_MAX 1500
#define HS_SECURITY_TOP_MAX 100

/* What a report covers: [since, until) in points of `bucket` seconds (a
 * multiple of HS_REFUSALS_BUCKET_SECONDS), with `top` rows per top list.
 * 0 = the default: until now, since a day before until, a bucket that
 * gives at most 288 points, top 10. since is rounded down and until up to
 * a multiple of the bucket, so every point is a whole bucket. */
typedef struct hs_security_query {
    int64_t since, until, bucket, top;
} hs_security_query;

typedef struct hs_security_report {
    hs_security_query q; /* with the defaults filled in and aligned */
    /* Per point: {bucket, kind, count}, kind one of hs_security_kinds;
     * points without any are absent. */
    hs_tally *series;
    size_t n_series;
    /* Top routes and sources: {route or source, kind, count} per kind. */
    hs_tally *routes;
    size_t n_routes;
    hs_tally *sources;
    size_t n_sources;
    int64_t totals[HS_SECURITY_KINDS]; /* by hs_security_kinds */
} hs_security_report;

/* Fills the query's defaults and checks it (HS_ERR_INVALID with the field:
 * since < until, bucket a multiple of 60 giving at most
 * HS_SECURITY_POINTS_MAX points, top 1..HS_SECURITY_TOP_MAX), flushes the
 * pending refusals (app->refusals, when there is one) and reads the
 * report. Release with hs_security_report_free. */
hs_status hs_security_report_build(hs_app *app, const hs_security_query *q,
                                   hs_security_report *out, hs_error *err);

void hs_security_report_free(hs_security_report *r);

#endif
