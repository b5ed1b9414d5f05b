/* domain/job_diagnose.c - the "diagnose" job type: a diagnosis too large
 * to answer within the request.
 *
 * The diagnoses service checks the samples and makes these jobs itself
 * (users do not submit them through POST /jobs): the request names the
 * model, the blob holding the samples - an uploaded CSV, or the JSON rows
 * as sent - its format and whether to adapt the predictions to the
 * batch's class mix. Running one is the diagnosis a request would
 * have made, stored as a diagnosis record. The run itself is a step
 * (job_diagnose.h) that the pipeline job runs too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/fields.h"
#include "domain/job_diagnose.h"
#include "domain/job_types.h"
#include "domain/models.h"

static hs_status prepare(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out, hs_error *err)
{
    hs_id model_id = 0;
    const char *key = NULL, *format = NULL, *name = NULL;
    int adapt = 0;
    (void)app;
    (void)viewer;
    hs_status st = hs_field_id(request, "model_id", 1, &model_id, err);
    if (st == HS_OK)
        st = hs_field_string(request, "input_blob_key", 1,
                             HS_STORE_BLOB_KEY_MAX - 1, &key, err);
    if (st == HS_OK)
        st = hs_field_string(request, "format", 1, 8, &format, err);
    if (st == HS_OK)
        st = hs_field_string(request, "name", 1, HS_DATASET_NAME_MAX - 1,
                             &name, err);
    if (st == HS_OK)
        st = hs_field_bool(request, "adapt", 0, &adapt, err);
    if (st != HS_OK)
        return st;
    if (strcmp(format, "csv") && strcmp(format, "json"))
        return hs_fail_field(err, HS_ERR_INVALID, "format",
                             "format must be csv or json");
    out->model_id = model_id;
    snprintf(out->input_blob_key, sizeof out->input_blob_key, "%s", key);
    snprintf(out->name, sizeof out->name, "%s", name);
    json_t *params = json_pack("{s:s, s:b}", "format", format, "adapt", adapt);
    out->params_json = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    return out->params_json ? HS_OK
                            : hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

/* The job's input as a step reads it ("adapt" and "format" in its
 * parameters; jobs queued before "adapt" existed did not ask for it). */
static void run(hs_job_run *r, hs_job_outcome *o)
{
    json_t *params = json_loads(r->job->params_json, 0, NULL);
    const char *format = json_string_value(json_object_get(params, "format"));
    hs_diagnose_input in = {
        .model_id = r->job->model_id,
        .blob_key = r->job->input_blob_key,
        .is_json = format && !strcmp(format, "json"),
        .name = r->job->name,
        .adapt = json_is_true(json_object_get(params, "adapt")),
    };
    hs_diagnose_step(r, &in, o);
    json_decref(params);
}

/* ---- the step (job_diagnose.h) ------------------------------------------ */

/* The samples: a CSV (checked for every KPI the model needs) or JSON
 * rows. */
static hs_status load_samples(hs_app *app, const hs_diagnose_input *in,
                              const hl_model *m, hl_dataset **ds,
                              hl_warnings *warn, hs_error *err)
{
    json_t *details = NULL;
    if (!in->is_json) {
        hl_csv_options opt;
        hl_error csv_err;
        hl_csv_options_init(&opt);
        opt.keep_unlabelled = 1;
        opt.max_bytes = app->limits.max_upload_bytes + 1;
        hs_status st = hs_datasets_load_blob(app, in->blob_key, in->name, &opt,
                                             ds, &csv_err, err);
        if (st == HS_OK)
            st = hs_diag_check_columns(m, *ds, &details, err);
        json_decref(details);
        return st;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    hs_status st = hs_blob_read_all(app->blobs, in->blob_key, &buf, &len,
                                    app->limits.max_json_bytes + 1, err);
    if (st != HS_OK)
        return st;
    json_t *rows = json_loadb((const char *)buf, len, 0, NULL);
    free(buf);
    st = hs_diag_rows_to_dataset(m, rows, ds, &details, warn, err);
    json_decref(details);
    json_decref(rows);
    return st;
}

/* Reports progress (written at once when force, else at the runner's
 * pace) and says whether the job must stop; the diagnosis is then not
 * stored and the job ends cancelled. */
static int report(hs_job_run *r, double progress, int force,
                  hs_job_outcome *o)
{
    if (!r->report(r, progress, 0, 0, NULL, NULL, force))
        return 0;
    o->state = HS_JOB_CANCELLED;
    snprintf(o->error, sizeof o->error, "cancelled by the user");
    return 1;
}

/* A stage reached: written at once. */
static int stage(hs_job_run *r, double progress, hs_job_outcome *o)
{
    return report(r, progress, 1, o);
}

/* The explanations' progress, from 0.3 to 0.9 of the job. */
typedef struct explain_stage {
    hs_job_run *r;
    hs_job_outcome *o;
} explain_stage;

static int explain_stop(void *ctx, double done)
{
    explain_stage *s = ctx;
    return report(s->r, 0.3 + 0.6 * done, 0, s->o);
}

void hs_diagnose_step(hs_job_run *r, const hs_diagnose_input *in,
                      hs_job_outcome *o)
{
    hs_app *app = r->app;
    const hs_job_rec *job = r->job;
    hs_error err = {0};
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hs_model_ref *ref = NULL;
    hl_dataset *ds = NULL;
    hs_diag_result res = {0};
    hl_warnings warn = {0};
    explain_stage es = {r, o};
    const hs_diag_progress progress = {explain_stop, &es};
    o->state = HS_JOB_FAILED;
    hs_status st = hs_models_acquire(app, in->model_id, &owner, &ref, NULL, &err);
    if (st == HS_OK)
        st = load_samples(app, in, hs_model_ref_get(ref), &ds, &warn, &err);
    if (st == HS_OK && !stage(r, 0.2, o) &&
        (st = hs_diag_run(hs_model_ref_get(ref), ds, in->adapt,
                          app->limits.explain_budget_ms, &progress, &warn, &res,
                          &err)) == HS_OK &&
        !stage(r, 0.9, o)) {
        hs_diagnosis_rec d;
        st = hs_diagnoses_store(app, job->owner_id, in->model_id, job->id,
                                in->name, &res, hs_model_ref_get(ref), ds, &d,
                                &err);
        if (st == HS_OK) {
            o->state = HS_JOB_SUCCEEDED;
            o->result_id = d.id;
            hs_diagnosis_rec_free(&d);
        }
    }
    if (st != HS_OK && o->state != HS_JOB_CANCELLED)
        hs_job_outcome_failed(o, st, err.message);
    hs_diag_result_free(&res);
    hl_warnings_free(&warn);
    hl_dataset_free(ds);
    hs_models_release(app, ref);
}

static void discard(hs_app *app, const hs_job_rec *job, hs_id diagnosis_id)
{
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hs_diagnoses_delete(app, diagnosis_id, &owner, NULL);
}

const hs_job_type hs_job_type_diagnose = {
    .name = "diagnose",
    .result_kind = HS_RESULT_DIAGNOSIS,
    .user_submittable = 0,
    .prepare = prepare,
    .run = run,
    .discard = discard,
};
