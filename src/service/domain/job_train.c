/* domain/job_train.c - the "train" job type: a dataset in, a model out.
 *
 * The request names a dataset the user may see (live, with labels), a
 * learner and its parameters, checked through the engine's parameter
 * tables when the job is submitted, so a bad value is a 422 at once and
 * not a failed job later. Running it loads the dataset, trains with
 * progress (the loss curve of the current fold or fit) and a cancel flag
 * checked every round, and stores the model.
 *
 * A training that fails for reasons that are not the user's (out of
 * memory, I/O, an internal error) is tried once more with the engine's
 * safer parameters (hl_train_params_safer); every attempt is recorded with
 * its parameters and error.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "domain/datasets.h"
#include "domain/engine_json.h"
#include "domain/fields.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "domain/train_params.h"
#include "healer/clock.h"

/* ---- submission ---------------------------------------------------------- */

/* The dataset must be the viewer's to see, live and labelled. */
static hs_status check_dataset(hs_app *app, const hs_user *viewer, hs_id id,
                               char *name, size_t cap, hs_error *err)
{
    hs_dataset_rec ds;
    hs_status st = hs_datasets_get(app, id, viewer, &ds, err);
    if (st != HS_OK)
        return st;
    int labelled = 1;
    if (ds.profile_json) {
        json_t *prof = json_loads(ds.profile_json, 0, NULL);
        labelled = json_is_true(json_object_get(prof, "has_labels")) &&
                   json_object_size(json_object_get(prof, "class_counts")) >= 2;
        json_decref(prof);
    }
    snprintf(name, cap, "%s", ds.name);
    int64_t deleted = ds.deleted_at;
    hs_dataset_rec_free(&ds);
    if (deleted)
        return hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld is in the trash",
                       (long long)id);
    if (!labelled)
        return hs_fail_field(err, HS_ERR_INVALID, "dataset_id",
                             "dataset %lld cannot be trained on: it needs a "
                             "label column with at least two classes",
                             (long long)id);
    return HS_OK;
}

static hs_status prepare(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out, hs_error *err)
{
    hs_id dataset_id = 0;
    const char *algo = NULL, *name = NULL;
    const json_t *params = json_object_get(request, "params");
    hl_train_params p;
    char ds_name[HS_DATASET_NAME_MAX];
    hs_status st = hs_field_id(request, "dataset_id", 1, &dataset_id, err);
    if (st == HS_OK)
        st = hs_field_string(request, "algo", 0, 64, &algo, err);
    if (st == HS_OK)
        st = hs_field_string(request, "name", 0, HS_DATASET_NAME_MAX - 1,
                             &name, err);
    if (st == HS_OK)
        st = hs_train_params_from_json(params, algo, &p, err);
    if (st == HS_OK)
        st = check_dataset(app, viewer, dataset_id, ds_name, sizeof ds_name,
                           err);
    if (st != HS_OK)
        return st;
    out->dataset_id = dataset_id;
    if (name && *name)
        snprintf(out->name, sizeof out->name, "%s", name);
    else
        snprintf(out->name, sizeof out->name, "%.200s (%s)", ds_name, p.algo);
    json_t *req = json_pack("{s:s, s:o}", "algo", p.algo, "params",
                            params ? json_incref((json_t *)params)
                                   : json_object());
    out->params_json = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    return out->params_json ? HS_OK
                            : hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

/* ---- progress ------------------------------------------------------------- */

typedef struct progress {
    hs_job_run *run;
    unsigned units;    /* CV folds + final fit (+ refit) */
    unsigned cv_folds; /* 0 without CV */
    int stage_key;     /* stage * 1000 + fold: a change starts a new curve */
    const hl_train_progress *now;
    json_t *train_loss, *valid_loss;
} progress;

static const char *stage_name(hl_train_stage st)
{
    return st == HL_STAGE_CV ? "cv" : st == HL_STAGE_REFIT ? "refit" : "train";
}

static char *render_losses(void *ctx)
{
    const progress *c = ctx;
    json_t *losses = json_pack("{s:s, s:i, s:O, s:O}", "stage",
                               stage_name(c->now->stage), "fold",
                               (int)c->now->fold, "train", c->train_loss,
                               "valid", c->valid_loss);
    char *text = losses ? json_dumps(losses, JSON_COMPACT |
                                                 JSON_REAL_PRECISION(6))
                        : NULL;
    json_decref(losses);
    return text;
}

/* The curve shown is the current fold's, then the final fit's with its
 * hold-out loss; the refit (no hold-out) keeps the final fit's curve,
 * which is the one that chose the number of rounds. */
static void extend_curve(progress *c, const hl_train_progress *p)
{
    int key = (int)p->stage * 1000 + (int)p->fold;
    if (p->stage == HL_STAGE_REFIT)
        return;
    if (key != c->stage_key) {
        json_array_clear(c->train_loss);
        json_array_clear(c->valid_loss);
        c->stage_key = key;
    }
    json_array_append_new(c->train_loss, json_real(p->train_loss));
    json_array_append_new(c->valid_loss, isfinite(p->valid_loss)
                                             ? json_real(p->valid_loss)
                                             : json_null());
}

static int on_progress(const hl_train_progress *p, void *user)
{
    progress *c = user;
    extend_curve(c, p);
    unsigned unit = p->stage == HL_STAGE_CV      ? p->fold - 1
                    : p->stage == HL_STAGE_FINAL ? c->cv_folds
                                                 : c->units - 1;
    double done = ((double)unit + (double)p->round / (double)p->rounds) /
                  (double)c->units;
    if (done > 0.999 && p->stage != HL_STAGE_REFIT)
        done = 0.999;
    c->now = p;
    return c->run->report(c->run, done, p->round, p->rounds, render_losses, c,
                          p->round == p->rounds);
}

/* ---- running -------------------------------------------------------------- */

static json_t *attempt_json(const hl_train_params *p, const char *error)
{
    return json_pack("{s:o, s:o}", "params", hs_json_train_params(p), "error",
                     error ? json_string(error) : json_null());
}

/* Engine failures worth a second try: not the user's input, not a cancel.
 * A diverged training is: the safer parameters take a smaller step. */
static int retryable(hl_status st)
{
    return st == HL_ERR_NOMEM || st == HL_ERR_IO || st == HL_ERR_INTERNAL ||
           st == HL_ERR_DIVERGED;
}

/* Stages a training reports: CV folds, the fit, and a refit when the
 * learner stops early and refits (then the fit and the refit are two). */
static unsigned stages(const hl_train_params *p)
{
    const hl_learner_info *info = hl_learner_find(p->algo);
    int refits = info && info->iterative && p->refit &&
                 p->early_stopping_rounds > 0;
    return (p->cv_folds > 1 ? (unsigned)p->cv_folds : 0) + 1 + (refits ? 1 : 0);
}

static hl_status attempt(hs_job_run *run, int n, const hl_dataset *ds,
                         hl_train_params *p, progress *pc, hl_model **model,
                         hl_error *herr)
{
    hl_train_control ctl = {on_progress, pc, run->stop};
    hl_error_clear(herr);
    pc->cv_folds = p->cv_folds > 1 ? (unsigned)p->cv_folds : 0;
    pc->units = stages(p);
    if (n == 1 && run->fail_first_attempt) {
        snprintf(herr->message, sizeof herr->message,
                 "injected failure (fail_first_attempt)");
        return HL_ERR_INTERNAL;
    }
    return hl_train(ds, p, &ctl, model, herr);
}

static void train(hs_job_run *run, const hl_dataset *ds, hl_train_params *p,
                  hl_model **model, hs_job_outcome *o)
{
    progress pc = {run, 1, 0, -1, NULL, json_array(), json_array()};
    for (int n = 1; n <= 2; n++) {
        hl_error herr;
        hl_status st = attempt(run, n, ds, p, &pc, model, &herr);
        json_array_append_new(o->attempts,
                              attempt_json(p, st == HL_OK ? NULL : herr.message));
        if (st == HL_OK || st == HL_ERR_CANCELLED) {
            o->state = st == HL_OK ? HS_JOB_SUCCEEDED : HS_JOB_CANCELLED;
            snprintf(o->error, sizeof o->error, "%s",
                     st == HL_OK ? "" : "cancelled by the user");
            break;
        }
        o->state = HS_JOB_FAILED;
        snprintf(o->error, sizeof o->error, "%.480s", herr.message);
        if (n == 2 || !retryable(st))
            break;
        hs_log(HS_LOG_WARN, "training failed; retrying with safer parameters",
               json_pack("{s:I, s:s}", "job_id", (json_int_t)run->job->id,
                         "error", herr.message));
        hl_train_params_safer(p);
    }
    json_decref(pc.train_loss);
    json_decref(pc.valid_loss);
}

/* The job's parameters as submitted, and its dataset, read. */
static hs_status load_inputs(hs_job_run *run, hl_train_params *p,
                             hs_dataset_rec *rec, hl_dataset **ds,
                             hs_error *err)
{
    hs_app *app = run->app;
    const hs_job_rec *job = run->job;
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hl_error csv_err;
    json_t *req = json_loads(job->params_json, 0, NULL);
    hs_status st = hs_train_params_from_json(
        json_object_get(req, "params"),
        json_string_value(json_object_get(req, "algo")), p, err);
    json_decref(req);
    if (st == HS_OK)
        st = hs_datasets_get(app, job->dataset_id, &owner, rec, err);
    if (st != HS_OK)
        return st;
    p->threads = run->train_threads;
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.require_label = 1;
    opt.max_bytes = app->limits.max_upload_bytes + 1;
    return hs_datasets_load_blob(app, rec->blob_key, rec->name, &opt, ds,
                                 &csv_err, err);
}

static void run(hs_job_run *r, hs_job_outcome *o)
{
    hs_error err = {0};
    hl_train_params p;
    hs_dataset_rec rec;
    hl_dataset *ds = NULL;
    hl_model *model = NULL;
    memset(&rec, 0, sizeof rec);
    o->state = HS_JOB_FAILED;
    hs_status st = load_inputs(r, &p, &rec, &ds, &err);
    if (st != HS_OK)
        snprintf(o->error, sizeof o->error, "%.480s", err.message);
    else
        train(r, ds, &p, &model, o);
    hl_dataset_free(ds);
    if (model) {
        hs_model_rec mrec;
        st = hs_models_save(r->app, r->job->owner_id, r->job->name, rec.id,
                            r->job->id, model, &mrec, &err);
        if (st == HS_OK) {
            o->result_id = mrec.id;
            hs_model_rec_free(&mrec);
        } else {
            o->state = HS_JOB_FAILED;
            snprintf(o->error, sizeof o->error, "storing the model: %.400s",
                     err.message);
        }
        hl_model_free(model);
    }
    hs_dataset_rec_free(&rec);
}

static void discard(hs_app *app, const hs_job_rec *job, hs_id model_id)
{
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hs_models_delete(app, model_id, &owner, NULL);
}

const hs_job_type hs_job_type_train = {
    .name = "train",
    .result_kind = HS_RESULT_MODEL,
    .user_submittable = 1,
    .prepare = prepare,
    .run = run,
    .discard = discard,
};
