/* api_datasets.c - upload, list, show, download, trash and restore
 * datasets. Uploads arrive as a committed blob (http.c); the datasets
 * service decides whether it is a dataset. */
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "http/api.h"
#include "domain/datasets.h"

void hs_api_datasets_upload(hs_app *app, hs_req *req, hs_resp *resp)
{
    if (!req->is_multipart || !req->upload.present) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "file"),
                       "send the CSV as multipart/form-data in a part named "
                       "'file'");
        return;
    }
    const char *name = hs_req_field(req, "name");
    if (!name || !*name)
        name = req->upload.filename[0] ? req->upload.filename : "dataset.csv";
    hs_dataset_rec rec;
    hl_error csv_err;
    hs_error err = {0};
    hs_status st = hs_datasets_ingest(app, req->user.id, name,
                                      req->upload.blob_key, req->upload.size,
                                      &rec, &csv_err, &err);
    if (st == HS_ERR_INVALID) {
        hs_api_reply_csv_error(resp, &csv_err);
        return;
    }
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    req->upload.blob_key[0] = '\0'; /* the record references it now */
    hs_reply_json(resp, 201, hs_api_dataset_json(&rec, 1));
    hs_dataset_rec_free(&rec);
}

static json_t *dataset_item(const void *rec, int64_t now)
{
    (void)now;
    return hs_api_dataset_json(rec, 0);
}

void hs_api_datasets_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_datasets_list(app, &req->user,
                                    hs_api_include_deleted(req), &items, &n,
                                    &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         dataset_item,
                         hs_clock_now(app->clock));
    hs_dataset_list_free(items, n);
}

void hs_api_dataset_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec rec;
    hs_error err = {0};
    hs_status st = hs_datasets_get(app, req->ids[0], &req->user, &rec, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, hs_api_dataset_json(&rec, 1));
    hs_dataset_rec_free(&rec);
}

void hs_api_dataset_download(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec rec;
    hs_error err = {0};
    hs_status st = hs_datasets_get(app, req->ids[0], &req->user, &rec, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else {
        char name[HS_DATASET_NAME_MAX + 8];
        size_t n = strlen(rec.name);
        int has_ext = n >= 4 && !strcasecmp(rec.name + n - 4, ".csv");
        snprintf(name, sizeof name, "%s%s", rec.name, has_ext ? "" : ".csv");
        hs_api_reply_blob(app, resp, rec.blob_key, "text/csv; charset=utf-8",
                          name);
    }
    hs_dataset_rec_free(&rec);
}

void hs_api_dataset_delete(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec rec;
    hs_error err = {0};
    hs_status st = hs_datasets_trash(app, req->ids[0], &req->user, req->client,
                                     &rec, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, hs_api_dataset_json(&rec, 0));
    hs_dataset_rec_free(&rec);
}

void hs_api_dataset_restore(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec rec;
    hs_error err = {0};
    hs_status st = hs_datasets_restore(app, req->ids[0], &req->user,
                                       req->client, &rec, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, hs_api_dataset_json(&rec, 0));
    hs_dataset_rec_free(&rec);
}
