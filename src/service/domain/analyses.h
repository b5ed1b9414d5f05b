/* domain/analyses.h - stored root-cause analyses: an rca job's result kept
 * so that it can be paged, searched, opened incident by incident and
 * downloaded, without the model, the topology or the engine.
 *
 * Each analysis keeps three blobs, all written once when the job ends:
 *   - the ranks CSV, exactly what `healer rca --out` writes
 *     (hl_rca_write_csv): the CSV download;
 *   - the whole JSON, exactly what `healer rca --json` prints
 *     (hl_rca_write_json): the JSON download;
 *   - the incidents one by one (kind "rca_incidents"): every incident's
 *     JSON object (hl_rca_write_incident_json), its item of the incidents
 *     list (id, counts, ranks without factors or trees: made once from
 *     the object when stored) and its id and rank-1 node, with an index
 *     of where each lies, so that opening incident i reads the head,
 *     its entry and its object (three preads, whatever the number of
 *     incidents) instead of parsing a whole result of tens of megabytes
 *     per request, a page reads only its entries and items (not the nodes
 *     of a 10,000-node topology) and a search the index in chunks of 256
 *     entries and only the ids; no request holds the whole index (48 MB at
 *     a million incidents). The whole JSON is
 *     not cut into pieces instead because the download must stay byte for
 *     byte the CLI's output.
 * The incidents blob's layout (integers little-endian):
 *   "HSRCAIX2", u64 n, then n entries of 48 bytes {u64 offset and u64
 *   length of the incident's object, u64 offset and u64 length of its
 *   list item, u64 offset of its keys, u32 id length, u32 rank-1 node
 *   length}, then the data. Every offset and length is checked against
 *   the blob's size before it is used.
 * The record's summary (ANALYSIS.summary of docs/api.md) counts the rank-1
 * faults of the incidents with an abnormal node (and apart, the incidents
 * without one and the rank-1s abnormal without a fault class) and
 * averages the abnormal nodes and the rank-1 scores.
 */
#ifndef HEALER_HS_ANALYSES_H
#define HEALER_HS_ANALYSES_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "healer/healer.h"
#include "store/records.h"

/* What an analysis was made from, for hs_analyses_store. */
typedef struct hs_analysis_inputs {
    hs_id owner_id, job_id, model_id, topology_id, dataset_id;
    const char *name;
    const char *normal;
    const hl_model *model;
    const hl_topology *topology;
} hs_analysis_inputs;

/* Writes result r's three blobs and records the analysis (*out, release
 * with hs_analysis_rec_free). On failure nothing is left behind. */
hs_status hs_analyses_store(hs_app *app, const hs_analysis_inputs *in,
                            const hl_rca_result *r, hs_analysis_rec *out,
                            hs_error *err);

/* Analysis `id` under the access rule, live or trashed (release with
 * hs_analysis_rec_free). */
hs_status hs_analyses_get(hs_app *app, hs_id id, const hs_user *viewer,
                          hs_analysis_rec *out, hs_error *err);

/* The analyses viewer may see, newest first; trashed ones only when
 * include_deleted (release with hs_analysis_list_free). */
hs_status hs_analyses_list(hs_app *app, const hs_user *viewer,
                           int include_deleted, hs_analysis_rec **items,
                           size_t *n, hs_error *err);

/* A page of rec's incidents: {"total", "offset", "limit", "items":
 * [{"index", "incident_id", "observed", "abnormal", "ranks": [{"rank",
 * "node", "observed", "fault", "score", "onset", "path"}]}]} in *out (a new
 * reference). q (NULL or "" = all) keeps the incidents whose id or rank-1
 * node contains it, ignoring case; total counts those. */
hs_status hs_analyses_incidents(hs_app *app, const hs_analysis_rec *rec,
                                const char *q, size_t offset, size_t limit,
                                json_t **out, hs_error *err);

/* Incident `index` (0-based) of rec as JSON text, the engine's object
 * with "index" and "total" in front (malloc'ed into *text, *len bytes).
 * HS_ERR_NOTFOUND past the end. */
hs_status hs_analyses_incident(hs_app *app, const hs_analysis_rec *rec,
                               size_t index, char **text, size_t *len,
                               hs_error *err);

/* Trash and restore by the trash rule (trash.h); *out after the change.
 * client: the caller's address, for the audit log (NULL = unknown). */
hs_status hs_analyses_trash(hs_app *app, hs_id id, const hs_user *viewer,
                            const char *client, hs_analysis_rec *out,
                            hs_error *err);
hs_status hs_analyses_restore(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_analysis_rec *out,
                              hs_error *err);

/* Deletes analysis `id` at once with its blobs (a result made by a run
 * that lost its lease). */
hs_status hs_analyses_delete(hs_app *app, hs_id id, const hs_user *viewer,
                             hs_error *err);

/* Removes analyses trashed more than 7 days ago, with their blobs. */
hs_status hs_analyses_purge(hs_app *app, size_t *purged, hs_error *err);

#endif
