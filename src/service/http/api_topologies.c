/* api_topologies.c - upload, list, show (with the normalised graph),
 * download, trash and restore topologies. Uploads arrive as a committed
 * blob (http.c); the topologies service decides whether it is one. */
#include <string.h>

#include "base/clock.h"
#include "domain/topologies.h"
#include "http/api.h"

void hs_api_topologies_upload(hs_app *app, hs_req *req, hs_resp *resp)
{
    if (!req->is_multipart || !req->upload.present) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "file"),
                       "send the topology (JSON or a from,to CSV) as "
                       "multipart/form-data in a part named 'file'");
        return;
    }
    const char *name = hs_req_field(req, "name");
    if (!name || !*name)
        name = req->upload.filename[0] ? req->upload.filename : "topology.json";
    hs_topology_rec rec;
    hl_error topo_err;
    hs_error err = {0};
    hs_status st =
        hs_topologies_upload(app, req->user.id, name, req->upload.blob_key,
                             req->upload.size, &rec, &topo_err, &err);
    if (st == HS_ERR_INVALID && topo_err.message[0]) {
        hs_api_reply_file_error(resp, "invalid_topology", &topo_err);
        return;
    }
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    req->upload.blob_key[0] = '\0'; /* the record references it now */
    hs_reply_json(resp, 201, hs_api_topology_json(&rec));
    hs_topology_rec_free(&rec);
}

static json_t *topology_item(const void *rec, int64_t now)
{
    (void)now;
    return hs_api_topology_json(rec);
}

void hs_api_topologies_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_topology_rec *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_topologies_list(
        app, &req->user, hs_api_include_deleted(req), &items, &n, &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         topology_item, hs_clock_now(app->clock));
    hs_topology_list_free(items, n);
}

void hs_api_topology_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_topology_rec rec;
    hl_topology *t = NULL;
    hs_error err = {0};
    hs_status st = hs_topologies_get(app, req->ids[0], &req->user, &rec, &err);
    if (st == HS_OK)
        st = hs_topologies_load(app, &rec, &t, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else {
        json_t *j = hs_api_topology_json(&rec);
        json_t *graph = hs_topology_graph_json(t);
        if (j && graph)
            json_object_set_new(j, "graph", graph);
        else {
            json_decref(j);
            json_decref(graph);
            j = NULL;
        }
        hs_reply_json(resp, 200, j);
    }
    if (t)
        hl_topology_free(t);
    hs_topology_rec_free(&rec);
}

void hs_api_topology_download(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_topology_rec rec;
    hs_error err = {0};
    hs_status st = hs_topologies_get(app, req->ids[0], &req->user, &rec, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
    } else {
        int json = !strcmp(rec.format, "json");
        hs_api_reply_blob(app, resp, rec.blob_key,
                          json ? "application/json; charset=utf-8"
                               : "text/csv; charset=utf-8",
                          rec.name);
    }
    hs_topology_rec_free(&rec);
}

/* A trash operation of topology {id}: 200 with the record after it. */
typedef hs_status (*trash_op)(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_topology_rec *out,
                              hs_error *err);

static void reply_trash(hs_app *app, hs_req *req, hs_resp *resp, trash_op op)
{
    hs_topology_rec rec;
    hs_error err = {0};
    hs_status st = op(app, req->ids[0], &req->user, req->client, &rec, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, hs_api_topology_json(&rec));
    hs_topology_rec_free(&rec);
}

void hs_api_topology_delete(hs_app *app, hs_req *req, hs_resp *resp)
{
    reply_trash(app, req, resp, hs_topologies_trash);
}

void hs_api_topology_restore(hs_app *app, hs_req *req, hs_resp *resp)
{
    reply_trash(app, req, resp, hs_topologies_restore);
}
