/* datasets.h - the datasets service: turning an uploaded file into a
 * profiled dataset record, loading it back for training, the trash.
 *
 * An upload arrives as a committed blob (http.c streams it there). Ingest
 * reads it with the engine's CSV reader - the same rules and the same
 * line/column errors as `healer train` - profiles it, and only then
 * records it, so a dataset that exists is always one the engine can read.
 */
#ifndef HEALER_HS_DATASETS_H
#define HEALER_HS_DATASETS_H

#include "base/app.h"
#include "base/error.h"
#include "healer/healer.h"
#include "store/records.h"

/* Rows shown in a profile's preview. */
#define HS_DATASET_PREVIEW_ROWS 20

/* Reads blob_key as CSV - an incident file when its header names
 * incident_id, node and timestamp (hl_incidents_header_matches; checked
 * with hl_incidents_parse without a topology), else samples, rows without
 * a label kept -, profiles it (an incident file's KPI columns, with its
 * kind and counts: hs_dataset_kind_of) and
 * creates the record owned by owner_id. On success the record references
 * the blob (the caller must not delete it) and *out holds the record
 * (release with hs_dataset_rec_free). A file the engine refuses is
 * HS_ERR_INVALID with the engine's error (file, line, column) in *csv_err
 * and err's message. */
hs_status hs_datasets_ingest(hs_app *app, hs_id owner_id, const char *name,
                             const char *blob_key, uint64_t size,
                             hs_dataset_rec *out, hl_error *csv_err,
                             hs_error *err);

/* Called between an ingestion's stages with its progress (0..1);
 * non-zero = stop now. */
typedef int (*hs_ingest_stage)(void *ctx, double progress);

/* Records an upload as a dataset HS_DATASET_INGESTING (no profile, rows
 * or features yet; its blob referenced from now on), owned by owner_id,
 * for an ingest job to finish (hs_datasets_ingest_run). *out: release
 * with hs_dataset_rec_free. */
hs_status hs_datasets_create_ingesting(hs_app *app, hs_id owner_id,
                                       const char *name, const char *blob_key,
                                       uint64_t size, hs_dataset_rec *out,
                                       hs_error *err);

/* The ingest job's work on dataset `id`: what hs_datasets_ingest does on
 * an upload - read, checked, profiled - then the profile stored and the
 * ingestion ended ready. A file the engine refuses ends it failed with the
 * engine's error (file, line, column) as its ingest_error, deletes its
 * blob and returns HS_ERR_INVALID with that message. A stop (stage's
 * answer) is an error with *stopped = 1, the dataset left ingesting (a
 * re-run starts over); other errors (I/O, memory) leave it ingesting too,
 * for the caller to retry or abandon. A dataset no longer ingesting is
 * HS_OK at once: a run before this one ended it. */
hs_status hs_datasets_ingest_run(hs_app *app, hs_id id, hs_ingest_stage stage,
                                 void *ctx, int *stopped, hs_error *err);

/* Why a dataset whose ingest job was cancelled failed. */
#define HS_INGEST_CANCELLED_REASON                                             \
    "its ingestion was cancelled; the uploaded file is kept: try the "         \
    "ingestion again, or download the file from this dataset"

/* Ends dataset `id`'s ingestion as failed with `why`, keeping its file
 * (only the engine's rejection of the content, in hs_datasets_ingest_run,
 * deletes it), when it is still ingesting; HS_OK when it was not. */
hs_status hs_datasets_ingest_abandon(hs_app *app, hs_id id, const char *why,
                                     hs_error *err);

/* The reason of an ingestion that failed for `error` (not the file's
 * fault), saying the file is kept and how to recover (a retry in place,
 * hs_dataset_retry_ingest, or a download), into out. */
void hs_datasets_ingest_kept_reason(char out[HS_MESSAGE_MAX], const char *error);

/* The repeatable sweep: ends as failed (file kept) every dataset still
 * ingesting whose ingest jobs have all ended - failed after two crashes,
 * cancelled by recover after its worker died, or ended without finishing
 * it - with the latest job's error. Reads the datasets, and every job
 * when one is ingesting; run after a recovery that failed jobs and every
 * HS_INGEST_SWEEP_SECONDS by the runner's keeper (every shape that runs
 * jobs). */
#define HS_INGEST_SWEEP_SECONDS 300
hs_status hs_datasets_ingest_fail_lost(hs_app *app, hs_error *err);

/* HS_OK for a ready dataset; a failed one is HS_ERR_INVALID naming `field`
 * and saying why ("dataset 7 ('x.csv') could not be ingested: x.csv:3:2:
 * ..."), one still ingesting HS_ERR_CONFLICT. What every use of a
 * dataset's rows checks first. */
hs_status hs_dataset_check_ready(const hs_dataset_rec *d, const char *field,
                                 hs_error *err);

/* Whether d's ingest job has yet to finish it. */
int hs_dataset_is_ingesting(const hs_dataset_rec *d);

/* The progress (0..1) of the ingest job of each of the n records viewer
 * sees (its newest: a retried ingestion has had others), in progress[i];
 * -1 for a dataset not ingesting. Reads the jobs only when one of them is
 * ingesting. */
hs_status hs_datasets_ingest_progress(hs_app *app, const hs_user *viewer,
                                      const hs_dataset_rec *items, size_t n,
                                      double *progress, hs_error *err);

/* Parses the CSV of a stored dataset (or any stored CSV blob) with the
 * given options; engine errors come back in *csv_err (HS_ERR_INVALID). */
hs_status hs_datasets_load_blob(hs_app *app, const char *blob_key,
                                const char *name, const hl_csv_options *opt,
                                hl_dataset **out, hl_error *csv_err,
                                hs_error *err);

/* A stored incident file read against topology t (every node of it must
 * be one of t's; healer/incidents.h). Engine errors come back in *csv_err
 * and err (HS_ERR_INVALID). Release *out with hl_incidents_free. */
hs_status hs_datasets_load_incidents(hs_app *app, const hs_dataset_rec *rec,
                                     const hl_topology *t, hl_incidents **out,
                                     hl_error *csv_err, hs_error *err);

/* What a dataset holds, from its stored profile: samples (training and
 * diagnosis) or incidents (root-cause analysis), with an incident file's
 * counts (zeros for samples). The one rule behind DATASET.kind and the
 * jobs' refusals. */
typedef enum hs_dataset_kind {
    HS_DATASET_SAMPLES = 0,
    HS_DATASET_INCIDENTS = 1
} hs_dataset_kind;
typedef struct hs_incident_counts {
    int64_t incidents, nodes, rows;
} hs_incident_counts;
hs_dataset_kind hs_dataset_kind_of(const char *profile_json,
                                   hs_incident_counts *counts);

/* HS_OK when dataset d holds `want`, else HS_ERR_INVALID naming `field`
 * ("dataset 7 is an incident file (incident_id,node,timestamp): use it
 * for root-cause analysis", or that it is not one). */
hs_status hs_dataset_check_kind(const hs_dataset_rec *d, hs_dataset_kind want,
                                const char *field, hs_error *err);

/* HS_OK when every node of incident dataset d is a node of topology t,
 * else HS_ERR_INVALID naming `field` and the first node t lacks (`what`
 * names t in the message: "topology 3 ('shop.json')"). Checked against
 * the node ids its profile keeps since upload, without reading the file;
 * a dataset uploaded without them (before they were kept, or with more
 * nodes than max-topology-nodes then) is read against t instead. */
hs_status hs_dataset_check_nodes(hs_app *app, const hs_dataset_rec *d,
                                 const hl_topology *t, const char *what,
                                 const char *field, hs_error *err);

/* Trash and restore under the access rule, by the trash rule (trash.h:
 * restoring after 7 days is HS_ERR_CONFLICT). *out gets the record after
 * the change (release with hs_dataset_rec_free). client: the caller's
 * address, for the audit log (NULL = unknown). */
hs_status hs_datasets_trash(hs_app *app, hs_id id, const hs_user *viewer,
                            const char *client, hs_dataset_rec *out,
                            hs_error *err);
hs_status hs_datasets_restore(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_dataset_rec *out,
                              hs_error *err);

/* Dataset `id` under the access rule (its owner and admins see it; to
 * others it does not exist). Release with hs_dataset_rec_free. */
hs_status hs_datasets_get(hs_app *app, hs_id id, const hs_user *viewer,
                          hs_dataset_rec *out, hs_error *err);

/* The datasets viewer may see, newest first; trashed ones only when
 * include_deleted. Release with hs_dataset_list_free. */
hs_status hs_datasets_list(hs_app *app, const hs_user *viewer,
                           int include_deleted, hs_dataset_rec **items,
                           size_t *n, hs_error *err);

/* Whether a dataset can be trained on, from its stored profile (NULL or
 * unreadable: assumed labelled, the training then says more): the one
 * rule the train job's check and the dataset views share. *classes gets
 * the labelled classes (0 without a label column). */
typedef enum hs_dataset_labels {
    HS_DATASET_LABELLED = 0,   /* a label column with two classes or more */
    HS_DATASET_NO_LABEL = 1,   /* no label column (or no labelled row) */
    HS_DATASET_ONE_CLASS = 2   /* labelled, but with a single class */
} hs_dataset_labels;
hs_dataset_labels hs_dataset_label_state(const char *profile_json,
                                         size_t *classes);

/* Removes datasets trashed more than 7 days ago (by app->clock, trash.h),
 * rows first, then their blobs. *purged (may be NULL) gets how many. */
hs_status hs_datasets_purge(hs_app *app, size_t *purged, hs_error *err);

#endif
