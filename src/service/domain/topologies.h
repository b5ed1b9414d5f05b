/* domain/topologies.h - the topologies service: an uploaded file becomes a
 * topology only once the engine has read it, as a dataset does.
 *
 * The file is kept in the blob store as uploaded (JSON or CSV: what the
 * user gave is what they download and what an analysis reads again), and
 * the record keeps what lists show without reading it: its format, its
 * counts of nodes, edges and bidirectional edges, and its nodes per kind.
 * A topology is read with the server's limit on nodes
 * (hs_limits.max_topology_nodes, the setting `max-topology-nodes`), at
 * upload and again when an analysis uses it. Owner-or-admin access and
 * the trash of datasets (trash.h).
 */
#ifndef HEALER_HS_TOPOLOGIES_H
#define HEALER_HS_TOPOLOGIES_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "healer/topology.h"
#include "store/records.h"

/* Reads blob_key (size bytes; `name` stands for the file in messages) as
 * a topology and records it, owned by owner_id. On success the record
 * references the blob (the caller must not delete it) and *out holds it
 * (release with hs_topology_rec_free). A file the engine refuses is
 * HS_ERR_INVALID with the engine's error (message, line) in *topo_err and
 * err's message. */
hs_status hs_topologies_upload(hs_app *app, hs_id owner_id, const char *name,
                               const char *blob_key, uint64_t size,
                               hs_topology_rec *out, hl_error *topo_err,
                               hs_error *err);

/* Topology `id` under the access rule, live or trashed (release with
 * hs_topology_rec_free). */
hs_status hs_topologies_get(hs_app *app, hs_id id, const hs_user *viewer,
                            hs_topology_rec *out, hs_error *err);

/* The topologies viewer may see, newest first; trashed ones only when
 * include_deleted (release with hs_topology_list_free). */
hs_status hs_topologies_list(hs_app *app, const hs_user *viewer,
                             int include_deleted, hs_topology_rec **items,
                             size_t *n, hs_error *err);

/* The engine's topology of record rec (read from its blob). A file that
 * no longer parses (a lower max-topology-nodes since) is HS_ERR_INVALID
 * with the engine's message. Release *out with hl_topology_free. */
hs_status hs_topologies_load(hs_app *app, const hs_topology_rec *rec,
                             hl_topology **out, hs_error *err);

/* The normalised graph of a topology: {"nodes": [{"id", "kind"}], "edges":
 * [{"from", "to", "bidirectional"}]} (a new reference, NULL when out of
 * memory). */
json_t *hs_topology_graph_json(const hl_topology *t);

/* Trash and restore under the access rule, by the trash rule (trash.h).
 * *out gets the record after the change (release with
 * hs_topology_rec_free). client: the caller's address, for the audit log
 * (NULL = unknown). */
hs_status hs_topologies_trash(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_topology_rec *out,
                              hs_error *err);
hs_status hs_topologies_restore(hs_app *app, hs_id id, const hs_user *viewer,
                                const char *client, hs_topology_rec *out,
                                hs_error *err);

/* Removes topologies trashed more than 7 days ago, with their files.
 * *purged (may be NULL) gets how many blobs went. */
hs_status hs_topologies_purge(hs_app *app, size_t *purged, hs_error *err);

#endif
