/* api_system.c - health and Prometheus metrics, for monitors (no auth).
 *
 * Health renders domain/health.h's checks: 200 with each check's state, or
 * 503 naming the failed checks (in `failed` and in the API's error object),
 * so that a load balancer needs only the status and a person reading the
 * body sees where to look. The endpoint is public: it shows each check's
 * generic state, never its detailed message (store errors, file paths),
 * which domain/health.c logs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "http/api.h"
#include "healer/version.h"
#include "domain/health.h"
#include "domain/jobs.h"
#include "domain/runner.h"

/* {name: {ok, message: its generic state, ms}} for each check of a
 * report. */
static json_t *checks_json(const hs_health_report *rep)
{
    json_t *checks = json_object();
    for (size_t i = 0; checks && i < rep->n_checks; i++) {
        const hs_health_check *c = &rep->checks[i];
        json_object_set_new(
            checks, c->name,
            json_pack("{s:b, s:s, s:f}", "ok", c->ok, "message", c->state,
                      "ms", round(c->seconds * 1e6) / 1e3));
    }
    return checks;
}

/* The failed checks' names, and "name: state; ..." for the error. */
static json_t *failed_checks(const hs_health_report *rep, char *msg,
                             size_t cap)
{
    json_t *failed = json_array();
    size_t used = 0;
    msg[0] = '\0';
    for (size_t i = 0; failed && i < rep->n_checks; i++) {
        const hs_health_check *c = &rep->checks[i];
        if (c->ok)
            continue;
        json_array_append_new(failed, json_string(c->name));
        int n = snprintf(msg + used, cap - used, "%s%s: %s", used ? "; " : "",
                         c->name, c->state);
        if (n > 0)
            used = used + (size_t)n < cap ? used + (size_t)n : cap - 1;
    }
    return failed;
}

void hs_api_health(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_health_report rep;
    hs_health_get(app, &rep);
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:f, s:o}", "status", rep.ok ? "ok" : "failing",
        "version", HL_VERSION_STRING, "uptime_seconds",
        (json_int_t)(hs_clock_now(app->clock) - app->started_at),
        "checked_seconds_ago", round(rep.age_seconds * 1e3) / 1e3, "checks",
        checks_json(&rep));
    if (rep.ok || !j) {
        hs_reply_json(resp, 200, j);
        return;
    }
    char msg[1024];
    json_t *failed = failed_checks(&rep, msg, sizeof msg);
    json_object_set(j, "failed", failed);
    json_object_set_new(j, "error",
                        json_pack("{s:s, s:s, s:{s:o}, s:s}", "code",
                                  "unhealthy", "message", msg, "details",
                                  "failed", failed, "request_id",
                                  req->request_id));
    hs_reply_json(resp, 503, j);
}

void hs_api_metrics(hs_app *app, hs_req *req, hs_resp *resp)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int64_t counts[HS_JOB_STATES];
    hs_error err = {0};
    hs_status st = hs_jobs_counts(app, counts, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    int rc = hs_http_metrics_text(req->http, &buf, &len, &cap);
    if (rc == 0)
        rc = hs_buf_printf(&buf, &len, &cap,
                           "# HELP healer_jobs Jobs in the store by state.\n"
                           "# TYPE healer_jobs gauge\n");
    for (int s = 0; rc == 0 && s < HS_JOB_STATES; s++)
        rc = hs_buf_printf(&buf, &len, &cap, "healer_jobs{state=\"%s\"} %lld\n",
                           hs_job_state_name((hs_job_state)s),
                           (long long)counts[s]);
    if (rc == 0)
        rc = hs_buf_printf(
            &buf, &len, &cap,
            "# HELP healer_job_queue_length Jobs waiting for a worker.\n"
            "# TYPE healer_job_queue_length gauge\n"
            "healer_job_queue_length %lld\n"
            "# HELP healer_jobs_running_here Jobs this process runs now.\n"
            "# TYPE healer_jobs_running_here gauge\n"
            "healer_jobs_running_here %u\n"
            "# HELP healer_health_checks_run_total Times the health checks "
            "ran (each pings the store once; results are reused for a "
            "second).\n"
            "# TYPE healer_health_checks_run_total counter\n"
            "healer_health_checks_run_total %llu\n"
            "# HELP healer_uptime_seconds Seconds since the server started.\n"
            "# TYPE healer_uptime_seconds gauge\n"
            "healer_uptime_seconds %lld\n",
            (long long)counts[HS_JOB_QUEUED], hs_runner_running(app->runner),
            (unsigned long long)hs_health_runs(app->health),
            (long long)(hs_clock_now(app->clock) - app->started_at));
    if (rc != 0) {
        free(buf);
        hs_reply_error(resp, 503, "busy", NULL, "out of memory");
        return;
    }
    hs_reply_bytes(resp, 200, "text/plain; version=0.0.4; charset=utf-8", buf,
                   len);
    free(buf);
}
