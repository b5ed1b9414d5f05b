/* api_analyses.c - stored root-cause analyses: list, show, page and
 * search their incidents, open one incident, download the ranks (CSV or
 * JSON, as `healer rca` writes them), trash and restore. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "domain/analyses.h"
#include "http/api.h"

/* The analysis of the path's {id} under the access rule; 0 after
 * answering with the error. */
static int load(hs_app *app, hs_req *req, hs_resp *resp, hs_analysis_rec *rec)
{
    hs_error err = {0};
    hs_status st = hs_analyses_get(app, req->ids[0], &req->user, rec, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        hs_analysis_rec_free(rec);
        return 0;
    }
    return 1;
}

static json_t *analysis_item(const void *rec, int64_t now)
{
    (void)now;
    return hs_api_analysis_json(rec);
}

void hs_api_analyses_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_analysis_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_analyses_list(
        app, &req->user, hs_api_include_deleted(req), &items, &n, &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         analysis_item, hs_clock_now(app->clock));
    hs_analysis_list_free(items, n);
}

void hs_api_analysis_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_analysis_rec rec;
    if (!load(app, req, resp, &rec))
        return;
    hs_reply_json(resp, 200, hs_api_analysis_json(&rec));
    hs_analysis_rec_free(&rec);
}

void hs_api_analysis_incidents(hs_app *app, hs_req *req, hs_resp *resp)
{
    size_t offset, limit;
    hs_analysis_rec rec;
    json_t *page = NULL;
    hs_error err = {0};
    if (hs_api_paging(req, resp, &offset, &limit) != 0 ||
        !load(app, req, resp, &rec))
        return;
    hs_status st = hs_analyses_incidents(app, &rec, hs_req_query(req, "q"),
                                         offset, limit, &page, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, page);
    hs_analysis_rec_free(&rec);
}

void hs_api_analysis_incident(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_analysis_rec rec;
    char *text = NULL;
    size_t len = 0;
    hs_error err = {0};
    if (!load(app, req, resp, &rec))
        return;
    hs_status st =
        hs_analyses_incident(app, &rec, (size_t)req->ids[1], &text, &len, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_bytes(resp, 200, "application/json; charset=utf-8", text, len);
    free(text);
    hs_analysis_rec_free(&rec);
}

void hs_api_analysis_download(hs_app *app, hs_req *req, hs_resp *resp)
{
    const char *format = hs_req_query(req, "format");
    if (!format)
        format = "csv";
    if (strcmp(format, "csv") && strcmp(format, "json")) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "format"),
                       "?format= must be csv or json");
        return;
    }
    hs_analysis_rec rec;
    if (!load(app, req, resp, &rec))
        return;
    char name[64];
    int csv = !strcmp(format, "csv");
    snprintf(name, sizeof name, "analysis-%lld-ranks.%s", (long long)rec.id,
             format);
    hs_api_reply_blob(app, resp, csv ? rec.csv_blob_key : rec.json_blob_key,
                      csv ? "text/csv; charset=utf-8"
                          : "application/json; charset=utf-8",
                      name);
    hs_analysis_rec_free(&rec);
}

/* A trash operation of analysis {id}: 200 with the record after it. */
typedef hs_status (*trash_op)(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_analysis_rec *out,
                              hs_error *err);

static void reply_trash(hs_app *app, hs_req *req, hs_resp *resp, trash_op op)
{
    hs_analysis_rec rec;
    hs_error err = {0};
    hs_status st = op(app, req->ids[0], &req->user, req->client, &rec, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, hs_api_analysis_json(&rec));
    hs_analysis_rec_free(&rec);
}

void hs_api_analysis_delete(hs_app *app, hs_req *req, hs_resp *resp)
{
    reply_trash(app, req, resp, hs_analyses_trash);
}

void hs_api_analysis_restore(hs_app *app, hs_req *req, hs_resp *resp)
{
    reply_trash(app, req, resp, hs_analyses_restore);
}
