/* domain/job_pipeline.c - the "pipeline" job type: train a model on one
 * dataset, then diagnose another with it, as one job.
 *
 * One action for the user: one job to follow (its progress runs over both
 * steps), one cancel (it stops whichever step runs), one result (the
 * diagnosis, whose model_id is the model trained). The steps are the
 * train job's and the diagnose job's own code (job_train.h,
 * job_diagnose.h), run through a hs_job_run of the pipeline's that maps
 * each step's progress into its share of the whole and adds the phase to
 * the progress detail, so nothing of training or diagnosing is copied.
 *
 * All or nothing: a pipeline that does not succeed leaves no model and no
 * diagnosis. A cancel or a failure of the diagnose step deletes the model
 * the training step made (a rerun trains it again); keeping it would leave
 * a model nobody asked for on its own in the user's list; a run of a job
 * taken back from a crashed worker first drops what the lost run had
 * made. The inputs are
 * checked when the pipeline is submitted - the dataset to diagnose must
 * hold every KPI of the training dataset, which the model will need - so
 * a pipeline does not train for an hour to fail on a file it could have
 * refused at once. A rerun ("rerun_of") takes a previous pipeline's
 * learner, parameters and adapt choice, with new datasets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/fields.h"
#include "domain/job_diagnose.h"
#include "domain/job_train.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "domain/train_params.h"
#include "store/store.h"

/* The training's share of the progress: training dominates a pipeline's
 * time (rounds over every row) while a diagnosis is one pass. */
#define TRAINING_SHARE 0.85

/* ---- submission ---------------------------------------------------------- */

/* The JSON object of `key` in a dataset record's profile (NULL = none);
 * *prof holds the reference to release. */
static const json_t *profile_part(const hs_dataset_rec *d, const char *key,
                                  json_t **prof)
{
    *prof = d->profile_json ? json_loads(d->profile_json, 0, NULL) : NULL;
    return json_object_get(*prof, key);
}

/* Every KPI of the training dataset must be in the one to diagnose: the
 * model reads them all by name (hs_diag_check_columns at run time). */
static hs_status check_kpis(const hs_dataset_rec *train,
                            const hs_dataset_rec *diag, hs_error *err)
{
    json_t *tp, *dp, *names = json_object();
    const json_t *tk = profile_part(train, "kpis", &tp);
    const json_t *dk = profile_part(diag, "kpis", &dp);
    const char *first = NULL;
    size_t missing = 0, i;
    const json_t *k;
    json_array_foreach(dk, i, k)
    {
        const char *name = json_string_value(json_object_get(k, "name"));
        if (name)
            json_object_set(names, name, json_true());
    }
    json_array_foreach(tk, i, k)
    {
        const char *name = json_string_value(json_object_get(k, "name"));
        if (name && !json_object_get(names, name) && !missing++)
            first = name;
    }
    hs_status st = HS_OK;
    if (missing == 1)
        st = hs_fail_field(err, HS_ERR_INVALID, "diagnose_dataset_id",
                           "dataset %lld ('%.100s') cannot be diagnosed by a "
                           "model trained on '%.100s': it lacks the KPI "
                           "'%.100s'",
                           (long long)diag->id, diag->name, train->name, first);
    else if (missing > 1)
        st = hs_fail_field(err, HS_ERR_INVALID, "diagnose_dataset_id",
                           "dataset %lld ('%.100s') cannot be diagnosed by a "
                           "model trained on '%.100s': it lacks the KPI "
                           "'%.100s' and %zu more",
                           (long long)diag->id, diag->name, train->name, first,
                           missing - 1);
    json_decref(names);
    json_decref(tp);
    json_decref(dp);
    return st;
}

/* Dataset `id` as `who` may read it, live; not found or in the trash is
 * HS_ERR_NOTFOUND naming `field`. Release *out with hs_dataset_rec_free. */
static hs_status live_dataset(hs_app *app, const hs_user *who, hs_id id,
                              const char *field, hs_dataset_rec *out,
                              hs_error *err)
{
    hs_status st = hs_datasets_get(app, id, who, out, err);
    if (st == HS_OK && out->deleted_at) {
        st = hs_fail(err, HS_ERR_NOTFOUND,
                     "dataset %lld ('%.200s') is in the trash: restore it "
                     "first",
                     (long long)id, out->name);
        hs_dataset_rec_free(out);
    }
    if (st != HS_OK && !err->field[0])
        snprintf(err->field, sizeof err->field, "%s", field);
    return st;
}

/* The learner, parameters and adapt choice of pipeline `id`, which viewer
 * must see (a new reference in *prev). */
static hs_status previous_pipeline(hs_app *app, const hs_user *viewer, hs_id id,
                                   json_t **prev, hs_error *err)
{
    hs_job_rec job;
    hs_status st = hs_store_job_get(app->store, id, viewer->id,
                                    viewer->is_admin, &job, err);
    if (st == HS_OK && strcmp(job.type, hs_job_type_pipeline.name))
        st = hs_fail_field(err, HS_ERR_INVALID, "rerun_of",
                           "job %lld is a %s job, not a pipeline",
                           (long long)id, job.type);
    else if (st == HS_OK && !(*prev = json_loads(job.params_json, 0, NULL)))
        st = hs_fail(err, HS_ERR_INTERNAL, "pipeline %lld has no parameters",
                     (long long)id);
    if (st != HS_OK && !err->field[0])
        snprintf(err->field, sizeof err->field, "rerun_of");
    hs_job_rec_free(&job);
    return st;
}

/* A rerun takes its parameters from the pipeline it reruns: giving them
 * again would make two sources for one value. */
static hs_status no_own_parameters(const json_t *request, hs_error *err)
{
    static const char *const own[] = {"algo", "params", "adapt"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (json_object_get(request, own[i]))
            return hs_fail_field(err, HS_ERR_INVALID, own[i],
                                 "a rerun takes '%s' from the pipeline it "
                                 "reruns (rerun_of): leave it out",
                                 own[i]);
    return HS_OK;
}

/* Where the learner, its parameters and adapt come from: the request or
 * the pipeline it reruns. *src is a new reference to that object. */
static hs_status parameters_source(hs_app *app, const hs_user *viewer,
                                   const json_t *request, hs_id *rerun_of,
                                   json_t **src, hs_error *err)
{
    hs_status st = hs_field_id(request, "rerun_of", 0, rerun_of, err);
    if (st != HS_OK)
        return st;
    if (!*rerun_of) {
        *src = json_incref((json_t *)request);
        return HS_OK;
    }
    st = no_own_parameters(request, err);
    return st == HS_OK ? previous_pipeline(app, viewer, *rerun_of, src, err)
                       : st;
}

/* The request's datasets, both checked (see the file comment). */
static hs_status check_datasets(hs_app *app, const hs_user *viewer,
                                hs_id train_id, hs_id diag_id, char *name,
                                size_t cap, const char *algo, hs_error *err)
{
    char train_name[HS_DATASET_NAME_MAX];
    hs_dataset_rec train, diag;
    memset(&train, 0, sizeof train);
    hs_status st = hs_train_check_dataset(app, viewer, train_id, train_name,
                                          sizeof train_name, err);
    if (st != HS_OK && !err->field[0])
        snprintf(err->field, sizeof err->field, "dataset_id");
    if (st == HS_OK)
        st = hs_datasets_get(app, train_id, viewer, &train, err);
    /* A pipeline checks its two datasets' KPIs against each other from
     * their profiles: both must be ready (no waiting for an ingestion). */
    if (st == HS_OK)
        st = hs_dataset_check_ready(&train, "dataset_id", err);
    if (st != HS_OK) {
        hs_dataset_rec_free(&train);
        return st;
    }
    st = live_dataset(app, viewer, diag_id, "diagnose_dataset_id", &diag, err);
    if (st == HS_OK) {
        st = hs_dataset_check_ready(&diag, "diagnose_dataset_id", err);
        if (st == HS_OK)
            st = hs_dataset_check_kind(&diag, HS_DATASET_SAMPLES,
                                       "diagnose_dataset_id", err);
        if (st == HS_OK)
            st = check_kpis(&train, &diag, err);
        if (name[0] == '\0')
            snprintf(name, cap, "%.100s (%s) -> %.100s", train.name, algo,
                     diag.name);
        hs_dataset_rec_free(&diag);
    }
    hs_dataset_rec_free(&train);
    return st;
}

static hs_status prepare(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out, hs_error *err)
{
    hs_id rerun_of = 0, train_id = 0, diag_id = 0;
    const char *algo = NULL, *name = NULL;
    int adapt = 0;
    json_t *src = NULL;
    hl_train_params p;
    hs_status st = hs_field_id(request, "dataset_id", 1, &train_id, err);
    if (st == HS_OK)
        st = hs_field_id(request, "diagnose_dataset_id", 1, &diag_id, err);
    if (st == HS_OK)
        st = hs_field_string(request, "name", 0, HS_DATASET_NAME_MAX - 1, &name,
                             err);
    if (st == HS_OK)
        st = parameters_source(app, viewer, request, &rerun_of, &src, err);
    const json_t *params = json_object_get(src, "params");
    if (st == HS_OK)
        st = hs_field_string(src, "algo", 0, 64, &algo, err);
    if (st == HS_OK)
        st = hs_field_bool(src, "adapt", 0, &adapt, err);
    if (st == HS_OK)
        st = hs_train_params_from_json(params, algo, &p, err);
    if (st == HS_OK) {
        snprintf(out->name, sizeof out->name, "%s", name ? name : "");
        st = check_datasets(app, viewer, train_id, diag_id, out->name,
                            sizeof out->name, p.algo, err);
    }
    if (st == HS_OK) {
        out->dataset_id = train_id;
        /* "o" takes the reference: the request's params borrowed and
         * increfed, or a new empty object (with "O" that one leaked). */
        json_t *req = json_pack(
            "{s:s, s:o, s:I, s:b, s:o}", "algo", p.algo, "params",
            params ? json_incref((json_t *)params) : json_object(),
            "diagnose_dataset_id",
            (json_int_t)diag_id, "adapt", adapt, "rerun_of",
            rerun_of ? json_integer(rerun_of) : json_null());
        out->params_json = req ? json_dumps(req, JSON_COMPACT) : NULL;
        json_decref(req);
        if (!out->params_json)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    json_decref(src);
    return st;
}

/* ---- the steps' view of the job ------------------------------------------ */

/* The run a step gets: the pipeline's, with progress mapped into the
 * step's share and the phase added to the detail. The step sees only
 * `step`, which comes first so that its pointer is this struct's. */
typedef struct pipeline_run {
    hs_job_run step;
    hs_job_run *outer;
    const char *phase; /* "training", "diagnosing" */
    int number;        /* 1 or 2 */
    double from, span; /* the step's share of the job's progress */
    hs_id model_id;    /* the model trained, once stored */
    /* The step's detail renderer during one report, and the training's
     * last detail (its loss curve), which stays shown while diagnosing. */
    char *(*render)(void *render_ctx);
    void *render_ctx;
    json_t *curve;
} pipeline_run;

static char *render_detail(void *ctx)
{
    pipeline_run *p = ctx;
    if (p->render) {
        char *inner = p->render(p->render_ctx);
        json_t *d = inner ? json_loads(inner, 0, NULL) : NULL;
        free(inner);
        if (json_is_object(d)) {
            json_decref(p->curve);
            p->curve = d;
        } else {
            json_decref(d);
        }
    }
    json_t *out = p->curve ? json_deep_copy(p->curve) : json_object();
    if (!out)
        return NULL;
    if (p->number > 1) { /* the training's estimate and stage are over */
        json_object_del(out, "eta_seconds");
        json_object_del(out, "stage");
    }
    /* the pipeline's own step, apart from the training's "phase" (early
     * stopping, refit, fixed rounds), which the JOB view keeps */
    json_object_set_new(out, "pipeline_phase", json_string(p->phase));
    json_object_set_new(out, "step", json_integer(p->number));
    json_object_set_new(out, "steps", json_integer(2));
    if (p->model_id)
        json_object_set_new(out, "model_id", json_integer(p->model_id));
    char *text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
    json_decref(out);
    return text;
}

static int step_report(hs_job_run *run, double progress, int64_t round,
                       int64_t rounds, char *(*render)(void *),
                       void *render_ctx, int force)
{
    pipeline_run *p = (pipeline_run *)run;
    p->render = render;
    p->render_ctx = render_ctx;
    int stop = p->outer->report(p->outer, p->from + p->span * progress, round,
                                rounds, render_detail, p, force);
    p->render = NULL;
    return stop;
}

static int step_attempt(hs_job_run *run, hs_job_attempt *a)
{
    pipeline_run *p = (pipeline_run *)run;
    return p->outer->record_attempt(p->outer, a);
}

/* Starts a step: its share, and a report that shows the phase at once.
 * Returns non-zero when the job must stop. */
static int enter(pipeline_run *p, const char *phase, int number, double from,
                 double span)
{
    p->phase = phase;
    p->number = number;
    p->from = from;
    p->span = span;
    return step_report(&p->step, 0, 0, 0, NULL, NULL, 1);
}

/* ---- running ------------------------------------------------------------- */

typedef struct pipeline_inputs {
    hl_train_params train;
    hs_id diag_id;
    int adapt;
} pipeline_inputs;

static hs_status read_inputs(const hs_job_run *r, pipeline_inputs *in,
                             hs_error *err)
{
    json_t *req = json_loads(r->job->params_json, 0, NULL);
    json_int_t id =
        json_integer_value(json_object_get(req, "diagnose_dataset_id"));
    in->diag_id = id;
    in->adapt = json_is_true(json_object_get(req, "adapt"));
    hs_status st = hs_train_params_from_json(
        json_object_get(req, "params"),
        json_string_value(json_object_get(req, "algo")), &in->train, err);
    json_decref(req);
    in->train.threads = r->train_threads;
    return st;
}

/* The failure of a step, named: "STEP: WHY". */
static void name_failure(hs_job_outcome *o, const char *step)
{
    char text[HS_MESSAGE_MAX + HS_DATASET_NAME_MAX + 64];
    snprintf(text, sizeof text, "%s: %s", step, o->error);
    hs_copy_message(o->error, sizeof o->error, text);
}

/* Fails the step with status st (an outage re-queues the pipeline). */
static void fail(hs_job_outcome *o, hs_status st, const char *step,
                 const char *why)
{
    hs_job_outcome_failed(o, st, why);
    name_failure(o, step);
}

/* Step 1: the training dataset trained on, the model stored
 * (p->model_id). */
static void train_step(pipeline_run *p, const pipeline_inputs *in,
                       hs_job_outcome *o)
{
    hs_job_run *r = &p->step;
    hs_error err = {0};
    hs_dataset_rec rec;
    hl_dataset *ds = NULL;
    hl_model *model = NULL;
    memset(&rec, 0, sizeof rec);
    hs_status st =
        hs_train_load_dataset(r, r->job->dataset_id, &rec, &ds, &err);
    if (st != HS_OK)
        fail(o, st, "training", err.message);
    else
        hs_train_fit(r, ds, &in->train, &model, o);
    if (o->state == HS_JOB_FAILED && st == HS_OK)
        name_failure(o, "training");
    hl_dataset_free(ds);
    p->model_id = hs_train_store_model(r, rec.id, model, o);
    if (!p->model_id && model)
        name_failure(o, "training");
    hs_dataset_rec_free(&rec);
}

/* Step 2: the dataset to diagnose, still live, diagnosed with the model. */
static void diagnose_step(pipeline_run *p, const pipeline_inputs *in,
                          hs_job_outcome *o)
{
    hs_job_run *r = &p->step;
    hs_user owner = {.id = r->job->owner_id, .is_admin = 1};
    hs_dataset_rec rec;
    hs_error err = {0};
    char step[HS_DATASET_NAME_MAX + 48];
    hs_status st = live_dataset(r->app, &owner, in->diag_id, "", &rec, &err);
    if (st != HS_OK) {
        fail(o, st, "diagnosing", err.message);
        return;
    }
    snprintf(step, sizeof step, "diagnosing '%.200s' (dataset %lld)", rec.name,
             (long long)rec.id);
    hs_diagnose_input di = {.model_id = p->model_id,
                            .blob_key = rec.blob_key,
                            .is_json = 0,
                            .name = rec.name,
                            .adapt = in->adapt};
    hs_diagnose_step(r, &di, o);
    if (o->state == HS_JOB_FAILED)
        name_failure(o, step);
    hs_dataset_rec_free(&rec);
}

static void cancelled(hs_job_outcome *o)
{
    o->state = HS_JOB_CANCELLED;
    o->result_id = 0;
    snprintf(o->error, sizeof o->error, "cancelled by the user");
}

/* A run before this one may have left what it had made (a model, even a
 * diagnosis): a worker that crashed, or a run that the store's outage
 * failed and re-queued before it could delete them. They are not this
 * run's, and a pipeline keeps only what its own run completes; so every
 * run looks (two lists of the owner's records: little beside a training). */
static hs_status drop_leftovers(hs_job_run *r, hs_error *err)
{
    /* as the owner: only the owner's records can be this job's */
    hs_user owner = {.id = r->job->owner_id, .is_admin = 0};
    hs_model_rec *m = NULL;
    hs_diagnosis_rec *d = NULL;
    size_t nm = 0, nd = 0;
    hs_status st = hs_diagnoses_list(r->app, &owner, 1, &d, &nd, err);
    for (size_t i = 0; st == HS_OK && i < nd; i++)
        if (d[i].job_id == r->job->id)
            st = hs_diagnoses_delete(r->app, d[i].id, &owner, err);
    if (st == HS_OK)
        st = hs_models_list(r->app, &owner, 1, &m, &nm, err);
    for (size_t i = 0; st == HS_OK && i < nm; i++)
        if (m[i].job_id == r->job->id)
            st = hs_models_delete(r->app, m[i].id, &owner, err);
    hs_diagnosis_list_free(d, nd);
    hs_model_list_free(m, nm);
    return st == HS_ERR_NOTFOUND ? HS_OK : st; /* gone meanwhile: fine */
}

static void run(hs_job_run *r, hs_job_outcome *o)
{
    pipeline_run p;
    pipeline_inputs in;
    hs_error err = {0};
    hs_status st;
    memset(&p, 0, sizeof p);
    p.step = *r;
    p.step.report = step_report;
    p.step.record_attempt = step_attempt;
    p.outer = r;
    o->state = HS_JOB_FAILED;
    if ((st = drop_leftovers(r, &err)) != HS_OK)
        fail(o, st, "dropping what an earlier run left", err.message);
    else if (enter(&p, "training", 1, 0, TRAINING_SHARE))
        cancelled(o);
    else if ((st = read_inputs(r, &in, &err)) != HS_OK)
        fail(o, st, "training", err.message);
    else
        train_step(&p, &in, o);
    if (o->state == HS_JOB_SUCCEEDED) {
        if (enter(&p, "diagnosing", 2, TRAINING_SHARE, 1 - TRAINING_SHARE))
            cancelled(o);
        else
            diagnose_step(&p, &in, o);
    }
    /* All or nothing: the model goes with a step that did not succeed -
     * unless the store's outage failed it: the diagnosis may have been
     * committed (its answer lost), and the run again then ends with the
     * pair (the runner's stored_earlier) or drops both (drop_leftovers). */
    if (o->state != HS_JOB_SUCCEEDED && !o->store_unavailable && p.model_id) {
        hs_user owner = {.id = r->job->owner_id, .is_admin = 1};
        hs_models_delete(r->app, p.model_id, &owner, NULL);
    }
    json_decref(p.curve);
}

/* A run whose lease was lost made a diagnosis and its model: both go. */
static void discard(hs_app *app, const hs_job_rec *job, hs_id diagnosis_id)
{
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hs_diagnosis_rec d;
    if (hs_diagnoses_get(app, diagnosis_id, &owner, &d, NULL) != HS_OK)
        return;
    hs_id model_id = d.job_id == job->id ? d.model_id : 0;
    hs_diagnosis_rec_free(&d);
    hs_diagnoses_delete(app, diagnosis_id, &owner, NULL);
    if (model_id)
        hs_models_delete(app, model_id, &owner, NULL);
}

/* ---- the JOB view -------------------------------------------------------- */

/* {"phase", "step", "steps", "step_progress", "failed_step", "model_id",
 * "diagnose_dataset_id", "algo", "params", "adapt", "rerun_of"}: what the
 * job's request and its progress detail say. */
static json_t *describe(const hs_job_rec *job, const json_t *detail)
{
    json_t *req =
        job->params_json ? json_loads(job->params_json, 0, NULL) : NULL;
    json_t *phase = json_object_get(detail, "pipeline_phase");
    json_t *model = json_object_get(detail, "model_id");
    json_t *params = json_object_get(req, "params");
    json_t *rerun = json_object_get(req, "rerun_of");
    /* The model exists while the job runs and after it succeeded; any
     * other end deleted it. */
    int model_kept =
        job->state == HS_JOB_RUNNING || job->state == HS_JOB_SUCCEEDED;
    json_t *out = json_pack(
        "{s:O, s:O, s:i, s:O, s:O, s:o, s:O, s:O, s:b, s:O}", "phase",
        phase ? phase : json_null(), "step",
        json_object_get(detail, "step") ? json_object_get(detail, "step")
                                        : json_null(),
        "steps", 2, "failed_step",
        job->state == HS_JOB_FAILED && phase ? phase : json_null(), "model_id",
        model && model_kept ? model : json_null(), "diagnose_dataset_id",
        json_integer(
            json_integer_value(json_object_get(req, "diagnose_dataset_id"))),
        "algo",
        json_object_get(req, "algo") ? json_object_get(req, "algo")
                                     : json_null(),
        "params", params ? params : json_null(), "adapt",
        json_is_true(json_object_get(req, "adapt")), "rerun_of",
        rerun ? rerun : json_null());
    /* The current step's own progress, 0..1, from the job's. */
    double share = json_integer_value(json_object_get(detail, "step")) == 2
                       ? 1 - TRAINING_SHARE
                       : TRAINING_SHARE;
    double from = share == TRAINING_SHARE ? 0 : TRAINING_SHARE;
    double step_progress = (job->progress - from) / share;
    json_object_set_new(out, "step_progress",
                        json_real(step_progress < 0   ? 0
                                  : step_progress > 1 ? 1
                                                      : step_progress));
    json_decref(req);
    return out;
}

const hs_job_type hs_job_type_pipeline = {
    .name = "pipeline",
    .result_kind = HS_RESULT_DIAGNOSIS,
    .user_submittable = 1,
    .prepare = prepare,
    .run = run,
    .discard = discard,
    .describe = describe,
};
