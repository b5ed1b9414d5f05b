/* api_system.c - health and Prometheus metrics, for monitors (no auth). */
#include <stdlib.h>

#include "base/clock.h"
#include "http/api.h"
#include "healer/version.h"
#include "domain/jobs.h"
#include "domain/runner.h"

void hs_api_health(hs_app *app, hs_req *req, hs_resp *resp)
{
    (void)req;
    hs_reply_json(resp, 200,
                  json_pack("{s:s, s:s, s:I}", "status", "ok", "version",
                            HL_VERSION_STRING, "uptime_seconds",
                            (json_int_t)(hs_clock_now(app->clock) - app->started_at)));
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
            "# HELP healer_uptime_seconds Seconds since the server started.\n"
            "# TYPE healer_uptime_seconds gauge\n"
            "healer_uptime_seconds %lld\n",
            (long long)counts[HS_JOB_QUEUED], hs_runner_running(app->runner),
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
