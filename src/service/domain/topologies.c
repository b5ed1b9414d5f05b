/* domain/topologies.c - the topologies service (see topologies.h). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/topologies.h"
#include "domain/trash.h"
#include "store/store.h"

/* The engine reads the file whole; an upload is bounded by the upload
 * limit already. */
static hs_status read_blob(hs_app *app, const char *key, uint8_t **buf,
                           size_t *len, hs_error *err)
{
    return hs_blob_read_all(app->blobs, key, buf, len,
                            app->limits.max_upload_bytes + 1, err);
}

static hs_status parse(hs_app *app, const uint8_t *buf, size_t len,
                       const char *name, hl_topology **out, hl_error *topo_err,
                       hs_error *err)
{
    hl_status hst =
        hl_topology_parse((const char *)buf, len, name,
                          app->limits.max_topology_nodes, out, topo_err);
    if (hst == HL_ERR_NOMEM)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory reading %s", name);
    if (hst == HL_ERR_LIMIT && !strcmp(topo_err->field, HL_TOPOLOGY_LIMIT_FIELD)) {
        /* the engine cannot know which setting set the limit */
        size_t used = strlen(topo_err->message);
        snprintf(topo_err->message + used, sizeof topo_err->message - used,
                 " (the server's max-topology-nodes setting)");
    }
    if (hst != HL_OK)
        return hs_fail(err, HS_ERR_INVALID, "%s", topo_err->message);
    return HS_OK;
}

/* {"kind": count, ...} of the nodes that have a kind. */
static char *kinds_text(const hl_topology *t)
{
    json_t *kinds = json_object();
    for (size_t i = 0; kinds && i < t->n_nodes; i++) {
        const char *k = t->nodes[i].kind;
        if (!k)
            continue;
        json_int_t had = json_integer_value(json_object_get(kinds, k));
        if (json_object_set_new(kinds, k, json_integer(had + 1)) != 0) {
            json_decref(kinds);
            return NULL;
        }
    }
    char *text =
        kinds ? json_dumps(kinds, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(kinds);
    return text;
}

hs_status hs_topologies_upload(hs_app *app, hs_id owner_id, const char *name,
                               const char *blob_key, uint64_t size,
                               hs_topology_rec *out, hl_error *topo_err,
                               hs_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hl_topology *t = NULL;
    memset(out, 0, sizeof *out);
    hl_error_clear(topo_err);
    hs_status st = read_blob(app, blob_key, &buf, &len, err);
    if (st == HS_OK)
        st = parse(app, buf, len, name, &t, topo_err, err);
    if (st == HS_OK) {
        out->owner_id = owner_id;
        snprintf(out->name, sizeof out->name, "%s", name);
        snprintf(out->format, sizeof out->format, "%s", hl_topology_is_json((const char *)buf, len) ? "json" : "csv");
        snprintf(out->blob_key, sizeof out->blob_key, "%s", blob_key);
        out->size_bytes = (int64_t)size;
        out->nodes = (int64_t)t->n_nodes;
        out->edges = (int64_t)t->n_edges;
        for (size_t i = 0; i < t->n_edges; i++)
            out->bidirectional_edges += t->edges[i].bidirectional != 0;
        out->created_at = hs_clock_now(app->clock);
        out->kinds_json = kinds_text(t);
        st = out->kinds_json ? hs_store_topology_create(app->store, out, err)
                             : hs_fail(err, HS_ERR_NOMEM, "out of memory");
        if (st != HS_OK)
            hs_topology_rec_free(out);
    }
    hl_topology_free(t);
    free(buf);
    return st;
}

hs_status hs_topologies_get(hs_app *app, hs_id id, const hs_user *viewer,
                            hs_topology_rec *out, hs_error *err)
{
    return hs_store_topology_get(app->store, id, viewer->id, viewer->is_admin,
                                 out, err);
}

hs_status hs_topologies_list(hs_app *app, const hs_user *viewer,
                             int include_deleted, hs_topology_rec **items,
                             size_t *n, hs_error *err)
{
    return hs_store_topology_list(app->store, viewer->id, viewer->is_admin,
                                  include_deleted, items, n, err);
}

hs_status hs_topologies_load(hs_app *app, const hs_topology_rec *rec,
                             hl_topology **out, hs_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hl_error topo_err;
    hl_error_clear(&topo_err);
    *out = NULL;
    hs_status st = read_blob(app, rec->blob_key, &buf, &len, err);
    if (st == HS_OK)
        st = parse(app, buf, len, rec->name, out, &topo_err, err);
    free(buf);
    return st;
}

json_t *hs_topology_graph_json(const hl_topology *t)
{
    json_t *nodes = json_array(), *edges = json_array();
    int ok = nodes && edges;
    for (size_t i = 0; ok && i < t->n_nodes; i++)
        ok = !json_array_append_new(
            nodes, json_pack("{s:s, s:o}", "id", t->nodes[i].id, "kind",
                             t->nodes[i].kind ? json_string(t->nodes[i].kind)
                                              : json_null()));
    for (size_t i = 0; ok && i < t->n_edges; i++) {
        const hl_topology_edge *e = &t->edges[i];
        ok = !json_array_append_new(
            edges, json_pack("{s:s, s:s, s:b}", "from", t->nodes[e->from].id,
                             "to", t->nodes[e->to].id, "bidirectional",
                             e->bidirectional != 0));
    }
    if (!ok) {
        json_decref(nodes);
        json_decref(edges);
        return NULL;
    }
    return json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges);
}

/* ---- the trash --------------------------------------------------------- */

static hs_status get_rec(hs_app *app, hs_id id, const hs_user *viewer,
                         void *rec, hs_error *err)
{
    return hs_topologies_get(app, id, viewer, rec, err);
}

static void release_rec(void *rec)
{
    hs_topology_rec_free(rec);
}

static const hs_trash_kind TOPOLOGIES = {
    .what = "topology",
    .get = get_rec,
    .release = release_rec,
    .deleted_at_offset = offsetof(hs_topology_rec, deleted_at),
    .name_offset = offsetof(hs_topology_rec, name),
    .set_deleted = hs_store_topology_set_deleted,
    .purge = hs_store_topology_purge,
};

hs_status hs_topologies_trash(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_topology_rec *out,
                              hs_error *err)
{
    return hs_trash_move(app, &TOPOLOGIES, id, viewer, client, out, err);
}

hs_status hs_topologies_restore(hs_app *app, hs_id id, const hs_user *viewer,
                                const char *client, hs_topology_rec *out,
                                hs_error *err)
{
    return hs_trash_restore(app, &TOPOLOGIES, id, viewer, client, out, err);
}

hs_status hs_topologies_purge(hs_app *app, size_t *purged, hs_error *err)
{
    return hs_trash_purge(app, &TOPOLOGIES, purged, err);
}
