/* api_datasets.c - upload, list, show, download, trash and restore
 * datasets, and try a failed ingestion again. Uploads arrive as a committed
 * blob (http.c); the datasets service decides whether it is a dataset. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "http/api.h"
#include "domain/dataset_upload.h"
#include "domain/datasets.h"
#include "domain/fields.h"

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
    const char *field = "name";
    if (!name || !*name) {
        name = req->upload.filename[0] ? req->upload.filename : "dataset.csv";
        field = "file"; /* the part's filename names it */
    }
    hs_dataset_rec rec;
    hl_error csv_err;
    hs_error err = {0};
    hl_error_clear(&csv_err);
    hs_status st = hs_field_name(field, name, HS_DATASET_NAME_MAX - 1, &err);
    if (st == HS_OK)
        st = hs_dataset_upload(app, &req->user, name, req->upload.blob_key,
                               req->upload.size, &rec, &csv_err, &err);
    if (st == HS_ERR_INVALID && csv_err.message[0]) {
        hs_api_reply_csv_error(resp, &csv_err);
        return;
    }
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    req->upload.blob_key[0] = '\0'; /* the record references it now */
    json_t *j = hs_api_dataset_json(&rec, 1);
    if (j && hs_dataset_is_ingesting(&rec))
        json_object_set_new(j, "ingest_progress", json_real(0));
    hs_reply_json(resp, 201, j);
    hs_dataset_rec_free(&rec);
}

/* The DATASET views of n records, each with its ingest job's progress
 * ("ingest_progress", 0..1) while it is ingesting. */
static json_t *datasets_json(hs_app *app, const hs_user *viewer,
                             const hs_dataset_rec *items, size_t n,
                             int with_profile, hs_status *st, hs_error *err)
{
    double *progress = calloc(n ? n : 1, sizeof *progress);
    json_t *list = json_array();
    *st = progress && list ? hs_datasets_ingest_progress(app, viewer, items, n,
                                                         progress, err)
                           : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; *st == HS_OK && i < n; i++) {
        json_t *j = hs_api_dataset_json(&items[i], with_profile);
        if (j && progress[i] >= 0)
            json_object_set_new(j, "ingest_progress", json_real(progress[i]));
        json_array_append_new(list, j);
    }
    free(progress);
    if (*st != HS_OK) {
        json_decref(list);
        list = NULL;
    }
    return list;
}

void hs_api_datasets_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_datasets_list(app, &req->user,
                                    hs_api_include_deleted(req), &items, &n,
                                    &err);
    json_t *list = st == HS_OK ? datasets_json(app, &req->user, items, n, 0,
                                               &st, &err)
                               : NULL;
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_api_reply_list(req, resp, list);
    hs_dataset_list_free(items, n);
}

void hs_api_dataset_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec rec;
    hs_error err = {0};
    hs_status st = hs_datasets_get(app, req->ids[0], &req->user, &rec, &err);
    json_t *one = st == HS_OK ? datasets_json(app, &req->user, &rec, 1, 1, &st,
                                              &err)
                              : NULL;
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, json_incref(json_array_get(one, 0)));
    json_decref(one);
    hs_dataset_rec_free(&rec);
}

void hs_api_dataset_download(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec rec;
    hs_error err = {0};
    hs_status st = hs_datasets_get(app, req->ids[0], &req->user, &rec, &err);
    /* A failed ingestion keeps its file unless the engine rejected the
     * content: the file to upload again, else its reason. */
    int kept = 0;
    if (st == HS_OK && !strcmp(rec.state, HS_DATASET_FAILED) &&
        (rec.file_deleted ||
         hs_blob_exists(app->blobs, rec.blob_key, &kept, &err) != HS_OK ||
         !kept) &&
        hs_dataset_check_ready(&rec, "id", &err) != HS_OK)
        st = HS_ERR_CONFLICT;
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

/* POST /datasets/{id}/ingest: a failed ingestion whose file was kept,
 * tried again in place (hs_dataset_retry_ingest); 202 with the dataset
 * ingesting, as GET shows it. */
void hs_api_dataset_retry_ingest(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_dataset_rec rec;
    hs_error err = {0};
    hs_status st =
        hs_dataset_retry_ingest(app, &req->user, req->ids[0], &rec, &err);
    json_t *one = st == HS_OK
                      ? datasets_json(app, &req->user, &rec, 1, 1, &st, &err)
                      : NULL;
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 202, json_incref(json_array_get(one, 0)));
    json_decref(one);
    hs_dataset_rec_free(&rec);
}
