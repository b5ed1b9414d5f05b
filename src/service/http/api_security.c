/* api_security.c - the administrators' security views: the audit log
 * (GET /api/v1/audit) and the security report (GET
 * /api/v1/security/report), each as JSON or as a CSV or JSON download.
 *
 * Both routes are HS_ROUTE_ADMIN and GET only: the audit log has no route
 * that edits it, by design (domain/audit.h). Rules - which actions exist,
 * a query's defaults and bounds - are the domain's; this file parses the
 * query and renders.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "domain/audit.h"
#include "domain/security_report.h"
#include "http/api.h"

/* ?format=: 0 JSON, 1 CSV, 2 JSON as a download; -1 after 400. */
static int export_format(const hs_req *req, hs_resp *resp)
{
    const char *f = hs_req_query(req, "format");
    if (!f || !strcmp(f, "json"))
        return 0;
    if (!strcmp(f, "csv"))
        return 1;
    if (!strcmp(f, "json-download"))
        return 2;
    hs_reply_error(resp, 400, "bad_request",
                   json_pack("{s:s}", "field", "format"),
                   "?format= must be json, csv or json-download");
    return -1;
}

/* "2026-01-31T08:00:00Z" for unix time t. */
static json_t *iso_time(int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) ||
        !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

/* A query text of at most cap - 1 bytes into out (absent: ""); -1 after
 * 400 naming it. */
static int query_text(const hs_req *req, hs_resp *resp, const char *name,
                      char *out, size_t cap)
{
    const char *v = hs_req_query(req, name);
    out[0] = '\0';
    if (!v)
        return 0;
    if (strlen(v) >= cap) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", name),
                       "?%s= is at most %zu bytes", name, cap - 1);
        return -1;
    }
    memcpy(out, v, strlen(v) + 1);
    return 0;
}

/* ---- the audit log ----------------------------------------------------------
 */

json_t *hs_api_audit_json(const hs_audit_rec *a)
{
    return json_pack(
        "{s:I, s:I, s:o, s:o, s:s, s:s, s:s, s:o, s:s, s:s, s:s}", "id",
        (json_int_t)a->id, "at", (json_int_t)a->at, "time", iso_time(a->at),
        "actor_id",
        a->actor_id ? json_integer((json_int_t)a->actor_id) : json_null(),
        "actor_name", a->actor_name, "action", a->action, "target_kind",
        a->target_kind, "target_id",
        a->target_id ? json_integer((json_int_t)a->target_id) : json_null(),
        "target_name", a->target_name, "address", a->address, "detail",
        a->detail);
}

static const char *const AUDIT_COLUMNS[] = {
    "id",          "time",    "at",          "actor_id",
    "actor_name",  "action",  "target_kind", "target_id",
    "target_name", "address", "detail",      NULL};

/* The actions a filter may name, for the UI's choice. */
static json_t *actions_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; a && hs_audit_actions[i]; i++)
        json_array_append_new(a, json_string(hs_audit_actions[i]));
    return a;
}

/* The filter from ?limit= ?before= ?action= ?actor= ?since= ?until=; 0
 * or -1 after 400. */
static int audit_filter(const hs_req *req, hs_resp *resp, hs_audit_filter *f)
{
    size_t limit = 0, before = 0;
    memset(f, 0, sizeof *f);
    if (hs_api_query_size(req, resp, "limit", HS_AUDIT_PAGE_DEFAULT, 1,
                          HS_AUDIT_PAGE_MAX, &limit) != 0 ||
        hs_api_query_size(req, resp, "before", 0, 0, (size_t)INT64_MAX,
                          &before) != 0 ||
        query_text(req, resp, "action", f->action, sizeof f->action) != 0 ||
        query_text(req, resp, "actor", f->actor_name, sizeof f->actor_name) !=
            0 ||
        hs_api_query_time(req, resp, "since", &f->since) != 0 ||
        hs_api_query_time(req, resp, "until", &f->until) != 0)
        return -1;
    f->limit = (int64_t)limit;
    f->before_id = (hs_id)before;
    return 0;
}

void hs_api_audit_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_audit_filter f;
    int format = export_format(req, resp);
    if (format < 0 || audit_filter(req, resp, &f) != 0)
        return;
    hs_audit_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_audit_list(app, &f, &items, &n, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    json_t *rows = json_array();
    for (size_t i = 0; rows && i < n; i++)
        json_array_append_new(rows, hs_api_audit_json(&items[i]));
    /* The next page starts below the last row, when the page was full. */
    hs_id next = n == (size_t)f.limit ? items[n - 1].id : 0;
    free(items);
    if (format == 1) {
        hs_api_reply_csv(resp, rows, AUDIT_COLUMNS, "audit-log.csv");
        json_decref(rows);
        return;
    }
    hs_reply_json(resp, 200,
                  json_pack("{s:o, s:I, s:o, s:o}", "items", rows, "limit",
                            (json_int_t)f.limit, "next_before",
                            next ? json_integer((json_int_t)next) : json_null(),
                            "actions", actions_json()));
    if (format == 2)
        hs_api_attachment(resp, "audit-log.json");
}

/* ---- the security report
 * ------------------------------------------------------ */

/* The first refusal kind in hs_security_kinds (the account events come
 * first: they have no route or source). */
#define FIRST_REFUSAL 2

/* {kind: 0, ...} for every kind (from the first refusal kind for a top
 * list's row), plus "total" when
 * with_total (a top list's row: refusal kinds only). */
static json_t *zero_counts(int with_total)
{
    json_t *o = json_object();
    for (int k = with_total ? FIRST_REFUSAL : 0; o && k < HS_SECURITY_KINDS;
         k++)
        json_object_set_new(o, hs_security_kinds[k], json_integer(0));
    if (o && with_total)
        json_object_set_new(o, "total", json_integer(0));
    return o;
}

static void add_count(json_t *o, const char *kind, int64_t count,
                      int with_total)
{
    json_t *v = json_object_get(o, kind);
    if (v)
        json_integer_set(v, json_integer_value(v) + count);
    if (with_total && (v = json_object_get(o, "total")))
        json_integer_set(v, json_integer_value(v) + count);
}

/* One object per point from since to until: {"t", "time", kind: count}. */
static json_t *series_json(const hs_security_report *r)
{
    json_t *points = json_array();
    size_t next = 0;
    for (int64_t t = r->q.since; points && t < r->q.until; t += r->q.bucket) {
        json_t *p = zero_counts(0);
        if (!p)
            break;
        json_object_set_new(p, "t", json_integer((json_int_t)t));
        json_object_set_new(p, "time", iso_time(t));
        for (; next < r->n_series && r->series[next].bucket == t; next++)
            add_count(p, r->series[next].kind, r->series[next].count, 0);
        json_array_append_new(points, p);
    }
    return points;
}

/* A top list: rows of one key (route or source) merged into one object
 * {key_name: key, kind: count, "total"}, in the store's order. */
static json_t *top_json(const hs_tally *rows, size_t n, int by_source)
{
    const char *key_name = by_source ? "source" : "route";
    json_t *list = json_array();
    json_t *cur = NULL;
    const char *cur_key = NULL;
    for (size_t i = 0; list && i < n; i++) {
        const char *key = by_source ? rows[i].source : rows[i].route;
        if (!cur_key || strcmp(cur_key, key)) {
            cur = zero_counts(1);
            if (!cur)
                break;
            json_object_set_new(cur, key_name, json_string(key));
            json_array_append_new(list, cur);
            cur_key = key;
        }
        add_count(cur, rows[i].kind, rows[i].count, 1);
    }
    return list;
}

static json_t *report_json(const hs_security_report *r)
{
    json_t *totals = json_object(), *kinds = json_array();
    for (int k = 0; totals && kinds && k < HS_SECURITY_KINDS; k++) {
        json_object_set_new(totals, hs_security_kinds[k],
                            json_integer((json_int_t)r->totals[k]));
        json_array_append_new(kinds, json_string(hs_security_kinds[k]));
    }
    return json_pack("{s:I, s:o, s:I, s:o, s:I, s:I, s:I, s:o, s:o, s:o, "
                     "s:o, s:o}",
                     "since", (json_int_t)r->q.since, "since_time",
                     iso_time(r->q.since), "until", (json_int_t)r->q.until,
                     "until_time", iso_time(r->q.until), "bucket",
                     (json_int_t)r->q.bucket, "top", (json_int_t)r->q.top,
                     "bucket_stored", (json_int_t)HS_REFUSALS_BUCKET_SECONDS,
                     "kinds", kinds, "totals", totals, "series", series_json(r),
                     "top_routes", top_json(r->routes, r->n_routes, 0),
                     "top_sources", top_json(r->sources, r->n_sources, 1));
}

/* The report as one table: a row per point ("series"), per top route
 * ("route") and per top source ("source"). */
static void reply_report_csv(hs_resp *resp, json_t *report)
{
    static const char *const columns[] = {
        "section",     "time",         "t",      "route",        "source",
        "total",       "login_failed", "locked", "unauthorized", "forbidden",
        "csrf_failed", "rate_limited", NULL};
    static const char *const sections[][2] = {{"series", "series"},
                                              {"top_routes", "route"},
                                              {"top_sources", "source"}};
    json_t *rows = json_array();
    for (size_t s = 0; rows && s < 3; s++) {
        json_t *list = json_object_get(report, sections[s][0]);
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *row = json_deep_copy(json_array_get(list, i));
            if (row)
                json_object_set_new(row, "section",
                                    json_string(sections[s][1]));
            json_array_append_new(rows, row);
        }
    }
    hs_api_reply_csv(resp, rows, columns, "security-report.csv");
    json_decref(rows);
}

void hs_api_security_report(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_security_query q = {0};
    size_t bucket = 0, top = 0;
    int format = export_format(req, resp);
    if (format < 0 || hs_api_query_time(req, resp, "since", &q.since) != 0 ||
        hs_api_query_time(req, resp, "until", &q.until) != 0 ||
        hs_api_query_size(req, resp, "bucket", 0, HS_REFUSALS_BUCKET_SECONDS,
                          366 * 86400, &bucket) != 0 ||
        hs_api_query_size(req, resp, "top", 0, 1, HS_SECURITY_TOP_MAX, &top) !=
            0)
        return;
    q.bucket = (int64_t)bucket;
    q.top = (int64_t)top;
    hs_security_report r;
    hs_error err = {0};
    hs_status st = hs_security_report_build(app, &q, &r, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    json_t *report = report_json(&r);
    hs_security_report_free(&r);
    if (format == 1) {
        reply_report_csv(resp, report);
        json_decref(report);
        return;
    }
    hs_reply_json(resp, 200, report);
    if (format == 2)
        hs_api_attachment(resp, "security-report.json");
}
