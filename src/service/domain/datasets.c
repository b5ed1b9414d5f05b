/* datasets.c - the datasets service (see datasets.h). */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/datasets.h"
#include "domain/sealed.h"
#include "domain/engine_json.h"
#include "domain/notifications.h"
#include "domain/trash.h"
#include "store/store.h"

/* The bytes of a stored CSV, bounded by the upload limit. */
static hs_status read_blob(hs_app *app, const char *blob_key, uint8_t **buf,
                           size_t *len, hs_error *err)
{
    return hs_blob_read_all(app->blobs, blob_key, buf, len,
                            app->limits.max_upload_bytes + 1, err);
}

/* The engine's outcome of reading `name` as the service's. */
static hs_status engine_status(hl_status hst, const char *name,
                               const hl_error *csv_err, hs_error *err)
{
    if (hst == HL_ERR_NOMEM)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory reading %s", name);
    if (hst != HL_OK)
        return hs_fail(err, HS_ERR_INVALID, "%s", csv_err->message);
    return HS_OK;
}

/* Samples read from buf; an incident file is refused, with its line 1,
 * rather than for its text columns: it is for root-cause analysis. */
static hs_status parse_samples(const uint8_t *buf, size_t len,
                               const char *name, const hl_csv_options *opt,
                               hl_dataset **out, hl_error *csv_err,
                               hs_error *err)
{
    if (hl_incidents_header_matches((const char *)buf, len)) {
        hl_error_clear(csv_err);
        csv_err->code = HL_ERR_DATA;
        csv_err->line = 1;
        snprintf(csv_err->file, sizeof csv_err->file, "%s", name);
        snprintf(csv_err->message, sizeof csv_err->message,
                 "%.200s:1: an incident file (incident_id,node,timestamp): "
                 "use it for root-cause analysis, not as samples",
                 name);
        return hs_fail(err, HS_ERR_INVALID, "%s", csv_err->message);
    }
    return engine_status(hl_dataset_parse_csv((const char *)buf, len, name,
                                              opt, out, csv_err),
                         name, csv_err, err);
}

static hs_status parse_incidents(const uint8_t *buf, size_t len,
                                 const char *name, const hl_topology *t,
                                 const hl_csv_options *opt, hl_incidents **out,
                                 hl_error *csv_err, hs_error *err)
{
    return engine_status(hl_incidents_parse((const char *)buf, len, name, t,
                                            opt, out, csv_err),
                         name, csv_err, err);
}

hs_status hs_datasets_load_blob(hs_app *app, const char *blob_key,
                                const char *name, const hl_csv_options *opt,
                                hl_dataset **out, hl_error *csv_err,
                                hs_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    *out = NULL;
    hl_error_clear(csv_err);
    hs_status st = read_blob(app, blob_key, &buf, &len, err);
    if (st == HS_OK)
        st = parse_samples(buf, len, name, opt, out, csv_err, err);
    free(buf);
    return st;
}

hs_status hs_datasets_load_incidents(hs_app *app, const hs_dataset_rec *rec,
                                     const hl_topology *t, hl_incidents **out,
                                     hl_error *csv_err, hs_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.max_bytes = app->limits.max_upload_bytes + 1;
    *out = NULL;
    hl_error_clear(csv_err);
    hs_status st = read_blob(app, rec->blob_key, &buf, &len, err);
    if (st == HS_OK)
        st = parse_incidents(buf, len, rec->name, t, &opt, out, csv_err, err);
    free(buf);
    return st;
}

/* The distinct node ids of inc as a JSON array, or NULL when there are
 * more than max_nodes of them (no topology this server accepts holds them
 * all) or out of memory. */
static json_t *node_ids_json(const hl_incidents *inc, size_t max_nodes)
{
    if (inc->n_node_ids > max_nodes)
        return NULL;
    json_t *ids = json_array();
    for (size_t i = 0; ids && i < inc->n_node_ids; i++)
        if (json_array_append_new(ids, json_string(inc->node_ids[i])) != 0) {
            json_decref(ids);
            ids = NULL;
        }
    return ids;
}

/* The profile as JSON text (malloc'ed), or NULL when out of memory. An
 * incident file's (inc not NULL) says so: "kind" and its "incidents"
 * counts, which hs_dataset_kind reads back, and its distinct node ids
 * ("node_ids", up to max_nodes of them), which an rca job's submission
 * checks against a topology without reading the file again
 * (hs_dataset_check_nodes). */
static char *profile_text(const hl_dataset *ds, const hl_incidents *inc,
                          size_t max_nodes, hs_error *err, hs_status *st)
{
    hl_dataset_profile p;
    hl_error herr;
    hl_error_clear(&herr);
    if (hl_dataset_profile_compute(ds, &p, &herr) != HL_OK) {
        *st = hs_fail(err, HS_ERR_NOMEM, "profiling failed: %s", herr.message);
        return NULL;
    }
    json_t *j = hs_json_profile(ds, &p, HS_DATASET_PREVIEW_ROWS);
    hl_dataset_profile_free(&p);
    if (j && inc) {
        json_object_set_new(j, "kind", json_string("incidents"));
        json_object_set_new(
            j, "incidents",
            json_pack("{s:I, s:I, s:I, s:o*}", "incidents",
                      (json_int_t)inc->n_incidents, "nodes",
                      (json_int_t)inc->n_node_ids, "rows",
                      (json_int_t)inc->data->n_rows, "node_ids",
                      node_ids_json(inc, max_nodes)));
    }
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;
    json_decref(j);
    if (!text)
        *st = hs_fail(err, HS_ERR_NOMEM, "out of memory rendering a profile");
    return text;
}

/* A file with a header but no row is refused as the CLI refuses it. */
static hs_status no_rows(const char *name, hl_error *csv_err, hs_error *err)
{
    snprintf(csv_err->message, sizeof csv_err->message,
             "%s: the file has a header but no data rows", name);
    csv_err->code = HL_ERR_DATA;
    snprintf(csv_err->file, sizeof csv_err->file, "%s", name);
    csv_err->line = 2;
    return hs_fail(err, HS_ERR_INVALID, "%s", csv_err->message);
}

/* The file read as what its header says it is: samples (every row kept,
 * labelled or not) or incidents (checked without a topology, which only
 * an analysis names; healer/incidents.h). *ds is the rows to profile: the
 * samples, or the incidents' KPI rows (owned by *inc then). */
static hs_status read_upload(hs_app *app, const char *blob_key,
                             const char *name, hl_dataset **ds,
                             hl_incidents **inc, hl_error *csv_err,
                             hs_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.keep_unlabelled = 1;
    opt.max_bytes = app->limits.max_upload_bytes + 1;
    *ds = NULL;
    *inc = NULL;
    hs_status st = read_blob(app, blob_key, &buf, &len, err);
    if (st == HS_OK && hl_incidents_header_matches((const char *)buf, len)) {
        st = parse_incidents(buf, len, name, NULL, &opt, inc, csv_err, err);
        if (st == HS_OK)
            *ds = (*inc)->data;
    } else if (st == HS_OK) {
        st = parse_samples(buf, len, name, &opt, ds, csv_err, err);
    }
    free(buf);
    if (st == HS_OK && (*ds)->n_rows == 0)
        st = no_rows(name, csv_err, err);
    return st;
}

/* An ingestion's stages: the caller's callback, and whether it said
 * stop. */
typedef struct ingest_stages {
    hs_ingest_stage stage; /* NULL = none (an upload ingested at once) */
    void *ctx;
    int stopped;
} ingest_stages;

/* Calls the stage callback; non-zero (and s->stopped) = stop. */
static int at_stage(ingest_stages *s, double progress, hs_status *st,
                    hs_error *err)
{
    if (*st != HS_OK || !s->stage || !s->stage(s->ctx, progress))
        return 0;
    s->stopped = 1;
    *st = hs_fail(err, HS_ERR_INTERNAL, "ingestion stopped");
    return 1;
}

/* What an ingestion computes from the uploaded blob: read, checked and
 * profiled (the rules of read_upload and profile_text), into out's
 * profile_json (plain, malloc'ed), rows and features. Stages between
 * the steps (a stop: stages->stopped, an error). */
static hs_status profile_upload(hs_app *app, const char *blob_key,
                                const char *name, hs_dataset_rec *out,
                                ingest_stages *stages, hl_error *csv_err,
                                hs_error *err)
{
    hl_dataset *ds = NULL;
    hl_incidents *inc = NULL;
    hs_status st = HS_OK;
    hl_error_clear(csv_err);
    if (at_stage(stages, 0.05, &st, err))
        return st;
    st = read_upload(app, blob_key, name, &ds, &inc, csv_err, err);
    size_t max_nodes = app->limits.max_topology_nodes
                           ? app->limits.max_topology_nodes
                           : HL_TOPOLOGY_MAX_NODES_DEFAULT;
    at_stage(stages, 0.6, &st, err);
    char *profile =
        st == HS_OK ? profile_text(ds, inc, max_nodes, err, &st) : NULL;
    if (profile) {
        out->rows = (int64_t)ds->n_rows;
        out->features = (int64_t)ds->n_features;
        out->profile_json = profile;
    }
    if (inc)
        hl_incidents_free(inc);
    else
        hl_dataset_free(ds);
    return st;
}

/* The record of an upload (no profile yet), owned by owner_id. */
static void upload_record(hs_app *app, hs_id owner_id, const char *name,
                          const char *blob_key, uint64_t size, const char *state,
                          hs_dataset_rec *out)
{
    memset(out, 0, sizeof *out);
    out->owner_id = owner_id;
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->blob_key, sizeof out->blob_key, "%s", blob_key);
    snprintf(out->state, sizeof out->state, "%s", state);
    out->size_bytes = (int64_t)size;
    out->created_at = hs_clock_now(app->clock);
}

hs_status hs_datasets_ingest(hs_app *app, hs_id owner_id, const char *name,
                             const char *blob_key, uint64_t size,
                             hs_dataset_rec *out, hl_error *csv_err,
                             hs_error *err)
{
    upload_record(app, owner_id, name, blob_key, size, HS_DATASET_READY, out);
    ingest_stages none = {0};
    hs_status st = profile_upload(app, blob_key, name, out, &none, csv_err, err);
    char *profile = NULL;
    /* The store keeps the profile sealed; the caller gets it plain. */
    if (st == HS_OK)
        st = hs_sealed_stash(app, HS_SEALED_DATASET_PROFILE,
                             &out->profile_json, &profile, err);
    if (st == HS_OK) {
        st = hs_notifications_io(
            app, hs_store_dataset_create(app->store, out, err),
            "recording an uploaded dataset", err);
        hs_sealed_unstash(&out->profile_json, profile);
    }
    if (st != HS_OK)
        hs_dataset_rec_free(out);
    return st;
}

hs_status hs_datasets_create_ingesting(hs_app *app, hs_id owner_id,
                                       const char *name, const char *blob_key,
                                       uint64_t size, hs_dataset_rec *out,
                                       hs_error *err)
{
    upload_record(app, owner_id, name, blob_key, size, HS_DATASET_INGESTING,
                  out);
    return hs_notifications_io(app, hs_store_dataset_create(app->store, out, err),
                               "recording an uploaded dataset", err);
}

/* Ends dataset d's ingestion as failed with `why`. When `rejected` (the
 * engine refused the content: the file is at fault) the record says its
 * file is gone, then its blob is deleted - only when this call ended it
 * (a conflict means another run ended it first, perhaps ready). Otherwise
 * the file is kept for a retry (hs_dataset_retry_ingest). */
static hs_status ingest_failed(hs_app *app, const hs_dataset_rec *d,
                               const char *why, int rejected, hs_error *err)
{
    char reason[HS_MESSAGE_MAX];
    hs_copy_message(reason, sizeof reason, why && why[0] ? why : "unknown");
    hs_status st =
        rejected
            ? hs_store_dataset_reject_ingest(app->store, d->id, reason, err)
            : hs_store_dataset_finish_ingest(app->store, d->id,
                                             HS_DATASET_FAILED, reason, 0, err);
    if (st == HS_OK && rejected)
        hs_blob_delete(app->blobs, d->blob_key, NULL);
    return st;
}

/* The profile sealed, stored, and the ingestion ended ready. */
static hs_status ingest_ready(hs_app *app, hs_dataset_rec *d, hs_error *err)
{
    hs_status st = hs_sealed_seal_in_place(app, HS_SEALED_DATASET_PROFILE,
                                           &d->profile_json, err);
    if (st == HS_OK)
        st = hs_store_dataset_set_profile(app->store, d->id, d->profile_json,
                                          d->rows, d->features, err);
    if (st == HS_OK)
        st = hs_store_dataset_finish_ingest(app->store, d->id,
                                            HS_DATASET_READY, NULL,
                                            d->size_bytes, err);
    return hs_notifications_io(app, st, "recording an ingested dataset", err);
}

hs_status hs_datasets_ingest_run(hs_app *app, hs_id id, hs_ingest_stage stage,
                                 void *ctx, int *stopped, hs_error *err)
{
    hs_dataset_rec d;
    hl_error csv_err;
    ingest_stages stages = {.stage = stage, .ctx = ctx};
    *stopped = 0;
    hs_status st = hs_store_dataset_get(app->store, id, 0, 1, &d, err);
    if (st != HS_OK)
        return st;
    if (strcmp(d.state, HS_DATASET_INGESTING) != 0) { /* a run before ended it */
        hs_dataset_rec_free(&d);
        return HS_OK;
    }
    st = profile_upload(app, d.blob_key, d.name, &d, &stages, &csv_err, err);
    at_stage(&stages, 0.9, &st, err);
    if (st == HS_OK)
        st = ingest_ready(app, &d, err);
    else if (st == HS_ERR_INVALID && csv_err.message[0]) /* the engine's */
        ingest_failed(app, &d, err->message, 1, NULL);
    *stopped = stages.stopped;
    hs_dataset_rec_free(&d);
    return st;
}

hs_status hs_datasets_ingest_abandon(hs_app *app, hs_id id, const char *why,
                                     hs_error *err)
{
    hs_dataset_rec d;
    hs_status st = hs_store_dataset_get(app->store, id, 0, 1, &d, err);
    if (st != HS_OK)
        return st;
    if (!strcmp(d.state, HS_DATASET_INGESTING))
        st = ingest_failed(app, &d, why, 0, err);
    hs_dataset_rec_free(&d);
    return st;
}

void hs_datasets_ingest_kept_reason(char out[HS_MESSAGE_MAX], const char *error)
{
    snprintf(out, HS_MESSAGE_MAX,
             "ingestion failed (%.300s); the uploaded file is kept: try the "
             "ingestion again once the cause is fixed, or download the file "
             "from this dataset",
             error && error[0] ? error : "unknown");
}

/* A dataset still ingesting, and what its ingest jobs say. */
typedef struct orphan {
    hs_id id;
    int live;                 /* a job queued or running: not an orphan */
    const hs_job_rec *ended;  /* its latest ended job, if any */
} orphan;

/* The ids of the datasets still ingesting (live or trashed). */
static hs_status ingesting(hs_app *app, orphan **out, size_t *n_out,
                           hs_error *err)
{
    hs_dataset_rec *items = NULL;
    size_t n = 0, k = 0;
    *out = NULL;
    *n_out = 0;
    hs_status st = hs_store_dataset_list(app->store, 0, 1, 1, &items, &n, err);
    for (size_t i = 0; st == HS_OK && i < n; i++)
        k += hs_dataset_is_ingesting(&items[i]);
    if (st == HS_OK && k && !(*out = calloc(k, sizeof **out)))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && k && i < n; i++)
        if (hs_dataset_is_ingesting(&items[i]))
            (*out)[(*n_out)++].id = items[i].id;
    hs_dataset_list_free(items, n);
    return st;
}

/* Marks in o[] what job j says of its dataset. */
static void note_job(orphan *o, size_t n, const hs_job_rec *j)
{
    if (strcmp(j->type, HS_JOB_TYPE_INGEST) != 0 || !j->dataset_id)
        return;
    for (size_t i = 0; i < n; i++) {
        if (o[i].id != j->dataset_id)
            continue;
        if (j->state == HS_JOB_QUEUED || j->state == HS_JOB_RUNNING)
            o[i].live = 1;
        else if (!o[i].ended || j->id > o[i].ended->id)
            o[i].ended = j;
    }
}

/* Fails dataset o's ingestion, its ended job saying why. */
static hs_status end_orphan(hs_app *app, const orphan *o, hs_error *err)
{
    char why[HS_MESSAGE_MAX];
    const hs_job_rec *j = o->ended;
    if (j->state == HS_JOB_CANCELLED && j->cancel_requested)
        snprintf(why, sizeof why, "%s", HS_INGEST_CANCELLED_REASON);
    else
        hs_datasets_ingest_kept_reason(
            why, j->state == HS_JOB_SUCCEEDED ? "its job ended without finishing"
            : j->error[0]                ? j->error
                                         : hs_job_state_name(j->state));
    hs_status st = hs_datasets_ingest_abandon(app, o->id, why, err);
    return st == HS_ERR_NOTFOUND ? HS_OK : st;
}

hs_status hs_datasets_ingest_fail_lost(hs_app *app, hs_error *err)
{
    orphan *o = NULL;
    size_t n = 0, n_jobs = 0;
    hs_job_rec *jobs = NULL;
    hs_status st = ingesting(app, &o, &n, err);
    if (st != HS_OK || !n)
        return st;
    st = hs_store_job_list(app->store, 0, 1, &jobs, &n_jobs, err);
    for (size_t i = 0; st == HS_OK && i < n_jobs; i++)
        note_job(o, n, &jobs[i]);
    for (size_t i = 0; st == HS_OK && i < n; i++)
        if (!o[i].live && o[i].ended) {
            hs_status one = end_orphan(app, &o[i], err);
            if (one != HS_OK)
                st = one;
        }
    hs_job_list_free(jobs, n_jobs);
    free(o);
    return st;
}

hs_status hs_dataset_check_ready(const hs_dataset_rec *d, const char *field,
                                 hs_error *err)
{
    if (!strcmp(d->state, HS_DATASET_FAILED))
        return hs_fail_field(err, HS_ERR_INVALID, field,
                             "dataset %lld ('%.100s') could not be ingested: "
                             "%.300s",
                             (long long)d->id, d->name, d->ingest_error);
    if (!strcmp(d->state, HS_DATASET_INGESTING))
        return hs_fail_field(err, HS_ERR_CONFLICT, field,
                             "dataset %lld ('%.100s') is still being "
                             "ingested; try again once it is ready",
                             (long long)d->id, d->name);
    return HS_OK;
}

int hs_dataset_is_ingesting(const hs_dataset_rec *d)
{
    return !strcmp(d->state, HS_DATASET_INGESTING);
}

hs_status hs_datasets_ingest_progress(hs_app *app, const hs_user *viewer,
                                      const hs_dataset_rec *items, size_t n,
                                      double *progress, hs_error *err)
{
    size_t waiting = 0;
    for (size_t i = 0; i < n; i++) {
        progress[i] = -1;
        waiting += hs_dataset_is_ingesting(&items[i]);
    }
    if (!waiting)
        return HS_OK;
    /* A retried ingestion has several jobs: its newest one is the run. */
    hs_id *newest = calloc(n, sizeof *newest);
    hs_job_rec *jobs = NULL;
    size_t n_jobs = 0;
    hs_status st =
        newest ? hs_store_job_list(app->store, viewer->id, viewer->is_admin,
                                   &jobs, &n_jobs, err)
               : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t j = 0; st == HS_OK && j < n_jobs; j++) {
        if (strcmp(jobs[j].type, HS_JOB_TYPE_INGEST) != 0)
            continue;
        for (size_t i = 0; i < n; i++)
            if (items[i].id == jobs[j].dataset_id &&
                hs_dataset_is_ingesting(&items[i]) && jobs[j].id > newest[i]) {
                newest[i] = jobs[j].id;
                progress[i] = jobs[j].progress;
            }
    }
    hs_job_list_free(jobs, n_jobs);
    free(newest);
    for (size_t i = 0; i < n; i++)
        if (progress[i] < 0 && hs_dataset_is_ingesting(&items[i]))
            progress[i] = 0;
    return st;
}

static hs_status get_rec(hs_app *app, hs_id id, const hs_user *viewer,
                         void *rec, hs_error *err)
{
    return hs_datasets_get(app, id, viewer, rec, err);
}

static void release_rec(void *rec) { hs_dataset_rec_free(rec); }

static const hs_trash_kind DATASETS = {
    .what = "dataset",
    .get = get_rec,
    .release = release_rec,
    .deleted_at_offset = offsetof(hs_dataset_rec, deleted_at),
    .name_offset = offsetof(hs_dataset_rec, name),
    .set_deleted = hs_store_dataset_set_deleted,
    .purge = hs_store_dataset_purge,
};

hs_status hs_datasets_trash(hs_app *app, hs_id id, const hs_user *viewer,
                            const char *client, hs_dataset_rec *out,
                            hs_error *err)
{
    return hs_trash_move(app, &DATASETS, id, viewer, client, out, err);
}

hs_status hs_datasets_restore(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_dataset_rec *out,
                              hs_error *err)
{
    return hs_trash_restore(app, &DATASETS, id, viewer, client, out, err);
}

hs_status hs_datasets_get(hs_app *app, hs_id id, const hs_user *viewer,
                          hs_dataset_rec *out, hs_error *err)
{
    hs_status st = hs_store_dataset_get(app->store, id, viewer->id,
                                        viewer->is_admin, out, err);
    if (st == HS_OK && (st = hs_sealed_open_in_place(
                            app, HS_SEALED_DATASET_PROFILE, &out->profile_json,
                            err)) != HS_OK)
        hs_dataset_rec_free(out);
    return st;
}

hs_status hs_datasets_list(hs_app *app, const hs_user *viewer,
                           int include_deleted, hs_dataset_rec **items,
                           size_t *n, hs_error *err)
{
    hs_status st = hs_store_dataset_list(app->store, viewer->id,
                                         viewer->is_admin, include_deleted,
                                         items, n, err);
    if (st == HS_OK)
        st = hs_sealed_open_each(app, HS_SEALED_DATASET_PROFILE, *items, *n,
                                 sizeof **items,
                                 offsetof(hs_dataset_rec, profile_json), err);
    if (st != HS_OK && *items) {
        hs_dataset_list_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return st;
}

hs_status hs_datasets_purge(hs_app *app, size_t *purged, hs_error *err)
{
    return hs_trash_purge(app, &DATASETS, purged, err);
}

hs_dataset_labels hs_dataset_label_state(const char *profile_json,
                                         size_t *classes)
{
    *classes = 0;
    json_t *prof = profile_json ? json_loads(profile_json, 0, NULL) : NULL;
    if (!prof)
        return HS_DATASET_LABELLED;
    *classes = json_object_size(json_object_get(prof, "class_counts"));
    int has = json_is_true(json_object_get(prof, "has_labels"));
    json_decref(prof);
    if (!has || *classes == 0)
        return HS_DATASET_NO_LABEL;
    return *classes < 2 ? HS_DATASET_ONE_CLASS : HS_DATASET_LABELLED;
}

hs_dataset_kind hs_dataset_kind_of(const char *profile_json,
                                   hs_incident_counts *counts)
{
    memset(counts, 0, sizeof *counts);
    json_t *prof = profile_json ? json_loads(profile_json, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(prof, "kind"));
    hs_dataset_kind k = kind && !strcmp(kind, "incidents")
                            ? HS_DATASET_INCIDENTS
                            : HS_DATASET_SAMPLES;
    const json_t *c = json_object_get(prof, "incidents");
    counts->incidents = json_integer_value(json_object_get(c, "incidents"));
    counts->nodes = json_integer_value(json_object_get(c, "nodes"));
    counts->rows = json_integer_value(json_object_get(c, "rows"));
    json_decref(prof);
    return k;
}

hs_status hs_dataset_check_kind(const hs_dataset_rec *d, hs_dataset_kind want,
                                const char *field, hs_error *err)
{
    hs_incident_counts counts;
    hs_dataset_kind kind = hs_dataset_kind_of(d->profile_json, &counts);
    if (kind == want)
        return HS_OK;
    if (kind == HS_DATASET_INCIDENTS)
        return hs_fail_field(err, HS_ERR_INVALID, field,
                             "dataset %lld is an incident file (incident_id,"
                             "node,timestamp): use it for root-cause "
                             "analysis",
                             (long long)d->id);
    return hs_fail_field(err, HS_ERR_INVALID, field,
                         "dataset %lld is not an incident file: root-cause "
                         "analysis needs a CSV with the columns incident_id, "
                         "node and timestamp before the KPIs",
                         (long long)d->id);
}

/* The first of ids (a JSON array of strings) that t lacks, and how many
 * it lacks. */
static size_t nodes_missing(const json_t *ids, const hl_topology *t,
                            const char **first)
{
    size_t i, missing = 0;
    const json_t *id;
    *first = NULL;
    json_array_foreach(ids, i, id)
    {
        const char *s = json_string_value(id);
        if (!s || hl_topology_find(t, s) < 0) {
            if (!missing++)
                *first = s ? s : "?";
        }
    }
    return missing;
}

hs_status hs_dataset_check_nodes(hs_app *app, const hs_dataset_rec *d,
                                 const hl_topology *t, const char *what,
                                 const char *field, hs_error *err)
{
    json_t *prof =
        d->profile_json ? json_loads(d->profile_json, 0, NULL) : NULL;
    const json_t *ids =
        json_object_get(json_object_get(prof, "incidents"), "node_ids");
    hs_status st = HS_OK;
    if (json_is_array(ids)) {
        const char *first = NULL;
        size_t missing = nodes_missing(ids, t, &first);
        if (missing)
            st = hs_fail_field(err, HS_ERR_INVALID, field,
                               "dataset %lld ('%.100s') has node '%.255s'%s "
                               "(%zu of its %zu nodes), which %.100s lacks: "
                               "every node of the incidents must be a node "
                               "of the topology",
                               (long long)d->id, d->name, first,
                               missing > 1 ? " and more" : "", missing,
                               json_array_size(ids), what);
    } else { /* uploaded before node ids were kept, or too many of them */
        hl_incidents *inc = NULL;
        hl_error csv_err;
        st = hs_datasets_load_incidents(app, d, t, &inc, &csv_err, err);
        if (st == HS_ERR_INVALID && !err->field[0])
            snprintf(err->field, sizeof err->field, "%s", field);
        if (inc)
            hl_incidents_free(inc);
    }
    json_decref(prof);
    return st;
}
