/* domain/job_train.c - the "train" job type: a dataset in, a model out.
 *
 * The request names a dataset the user may see (live, with labels), a
 * learner and its parameters, checked through the engine's parameter
 * tables when the job is submitted, so a bad value is a 422 at once and
 * not a failed job later. Running it loads the dataset, trains with
 * progress (train_progress.h: the curves and an honest estimate) and a
 * cancel flag checked every round, and stores the model.
 *
 * It trains through the engine's self-repair (hl_train_repair,
 * healer/repair.h), as `healer train` does: a training that fails for a
 * reason that is not the user's, or makes a degenerate model, is retried
 * with the learner's fallback, then with safer parameters. Each attempt is
 * recorded as it ends (run->record_attempt), so the job shows why one
 * failed while the next runs; progress starts over with each attempt.
 * When no attempt made a model, the admins are told ("training_failed",
 * the attempts listed).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "domain/class_names.h"
#include "domain/datasets.h"
#include "domain/engine_json.h"
#include "domain/fields.h"
#include "domain/job_train.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "domain/train_params.h"
#include "domain/train_progress.h"
#include "healer/clock.h"

/* ---- submission ---------------------------------------------------------- */

hs_status hs_train_check_dataset(hs_app *app, const hs_user *viewer, hs_id id,
                                 char *name, size_t cap, hs_error *err)
{
    hs_dataset_rec ds;
    hs_status st = hs_datasets_get(app, id, viewer, &ds, err);
    if (st != HS_OK)
        return st;
    /* Still ingesting: the job waits for it (the claims skip it), and its
     * run checks what the profile would have told. */
    int ingesting = hs_dataset_is_ingesting(&ds);
    if (!ingesting && !ds.deleted_at &&
        (st = hs_dataset_check_ready(&ds, "dataset_id", err)) != HS_OK) {
        hs_dataset_rec_free(&ds);
        return st;
    }
    size_t classes = 0;
    hs_dataset_labels labels = hs_dataset_label_state(ds.profile_json, &classes);
    snprintf(name, cap, "%s", ds.name);
    int64_t deleted = ds.deleted_at;
    hs_error kind_err = {0};
    hs_status kind = hs_dataset_check_kind(&ds, HS_DATASET_SAMPLES,
                                           "dataset_id", &kind_err);
    hs_dataset_rec_free(&ds);
    if (deleted)
        return hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld is in the trash",
                       (long long)id);
    if (ingesting)
        return HS_OK;
    if (kind != HS_OK) {
        *err = kind_err;
        return kind;
    }
    if (labels == HS_DATASET_NO_LABEL)
        return hs_fail_field(err, HS_ERR_INVALID, "dataset_id",
                             "dataset '%.200s' has no label column, so there "
                             "is nothing to learn from: upload a CSV with a "
                             "'label' column giving each row's class "
                             "(unlabelled data can be diagnosed with a "
                             "model, not trained on)",
                             name);
    if (labels == HS_DATASET_ONE_CLASS)
        return hs_fail_field(err, HS_ERR_INVALID, "dataset_id",
                             "dataset '%.200s' has a single class: training "
                             "needs rows of at least two classes",
                             name);
    return HS_OK;
}

/* params.class_names is not a training parameter: it rides along with
 * them (docs/api.md, POST /jobs) and is read apart. A new reference to
 * params without it (NULL for NULL or not an object: the parameters'
 * reader refuses that). */
static json_t *training_params(const json_t *params)
{
    if (!json_is_object(params))
        return json_incref((json_t *)params);
    json_t *p = json_copy((json_t *)params);
    if (p)
        json_object_del(p, "class_names");
    return p;
}

/* The class names asked for, checked against the dataset's classes (its
 * profile's class counts). */
static hs_status check_class_names(hs_app *app, const hs_user *viewer,
                                   hs_id dataset_id, const json_t *names,
                                   hs_error *err)
{
    hs_dataset_rec ds;
    hs_status st = hs_datasets_get(app, dataset_id, viewer, &ds, err);
    if (st != HS_OK)
        return st;
    json_t *prof = ds.profile_json ? json_loads(ds.profile_json, 0, NULL)
                                   : NULL;
    const json_t *counts = json_object_get(prof, "class_counts");
    const char **labels = calloc(json_object_size(counts) + 1, sizeof *labels);
    size_t n = 0;
    const char *label;
    const json_t *v;
    json_object_foreach((json_t *)counts, label, v)
    {
        if (labels)
            labels[n++] = label;
    }
    hl_class_names *t = NULL;
    st = labels ? hs_class_names_from_json(names, "params.class_names",
                                           prof ? (char *const *)labels : NULL,
                                           n, &t, err)
                : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hl_class_names_free(t);
    free(labels);
    json_decref(prof);
    hs_dataset_rec_free(&ds);
    return st;
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
    if (st == HS_OK) {
        json_t *train = training_params(params);
        st = hs_train_params_from_json(train, algo, &p, err);
        json_decref(train);
    }
    if (st == HS_OK)
        st = hs_train_check_dataset(app, viewer, dataset_id, ds_name,
                                    sizeof ds_name, err);
    const json_t *names = json_object_get(params, "class_names");
    if (st == HS_OK && names)
        st = check_class_names(app, viewer, dataset_id, names, err);
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

/* What the engine's callbacks share: the job and its progress
 * (train_progress.h: the stages, the curves, the estimate). */
typedef struct progress {
    hs_job_run *run;
    hs_train_progress tp;
} progress;

static char *render_progress(void *ctx)
{
    const progress *c = ctx;
    return hs_train_progress_render(&c->tp);
}

static int on_progress(const hl_train_progress *p, void *user)
{
    progress *c = user;
    hs_train_progress_step(&c->tp, p, hl_clock_monotonic());
    return c->run->report(c->run, c->tp.done, p->round, p->rounds,
                          render_progress, c, p->round == p->rounds);
}

/* ---- running -------------------------------------------------------------- */

/* Before each attempt: its own stages, a fresh curve, and a log line that
 * says why a retry runs. */
static void on_attempt(unsigned number, hl_repair_step step,
                       const hl_train_params *params,
                       const hl_train_attempt *previous, void *user)
{
    progress *pc = user;
    if (hs_train_progress_start(&pc->tp, params, hl_clock_monotonic()) != 0)
        hs_log(HS_LOG_ERROR, "cannot follow a training's progress",
               json_pack("{s:I, s:s}", "job_id", (json_int_t)pc->run->job->id,
                         "error", "out of memory"));
    if (previous)
        hs_log(HS_LOG_WARN, "training attempt failed; retrying",
               json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}", "job_id",
                         (json_int_t)pc->run->job->id, "attempt",
                         (json_int_t)number, "step", hl_repair_step_name(step),
                         "algo", params->algo, "previous_outcome",
                         hl_attempt_outcome_name(previous->outcome),
                         "previous_reason", previous->reason));
}

/* After each attempt: its record, in the store at once. */
static void on_attempt_done(const hl_train_attempt *a, void *user)
{
    progress *pc = user;
    hs_job_attempt rec;
    memset(&rec, 0, sizeof rec);
    rec.number = a->number;
    snprintf(rec.step, sizeof rec.step, "%s", hl_repair_step_name(a->step));
    snprintf(rec.algo, sizeof rec.algo, "%s", a->params.algo);
    snprintf(rec.outcome, sizeof rec.outcome, "%s",
             hl_attempt_outcome_name(a->outcome));
    hs_copy_message(rec.reason, sizeof rec.reason, a->reason);
    rec.seconds = a->seconds;
    json_t *params = hs_json_train_params(&a->params);
    rec.params_json = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    if (rec.params_json)
        pc->run->record_attempt(pc->run, &rec);
    else
        hs_log(HS_LOG_ERROR, "cannot record a training attempt",
               json_pack("{s:I, s:s}", "job_id", (json_int_t)pc->run->job->id,
                         "error", "out of memory"));
    free(rec.params_json);
}

/* The admins' notice of a training that made no model ("train job 7",
 * "pipeline job 9", ...): every attempt in
 * one line ("1 gbdt failed, 2 forest degenerate, ..."), then the last
 * one's reason, which the job's error also holds. */
static void say_training_failed(const hs_job_rec *job,
                                const hl_train_attempts *at, hs_job_outcome *o)
{
    char text[HS_MESSAGE_MAX * 2];
    size_t used = (size_t)snprintf(
        text, sizeof text,
        "%s job %lld ('%.100s') made no model after %zu attempt%s:", job->type,
        (long long)job->id, job->name, at->count, at->count == 1 ? "" : "s");
    for (size_t i = 0; i < at->count && used < sizeof text; i++)
        used += (size_t)snprintf(text + used, sizeof text - used, "%s %u %s %s",
                                 i ? "," : "", at->item[i].number,
                                 at->item[i].params.algo,
                                 hl_attempt_outcome_name(at->item[i].outcome));
    if (at->count && used < sizeof text)
        snprintf(text + used, sizeof text - used, "; the last: %s",
                 at->item[at->count - 1].reason);
    snprintf(o->failure_kind, sizeof o->failure_kind, "training_failed");
    hs_copy_message(o->failure_notice, sizeof o->failure_notice, text);
}

void hs_train_fit(hs_job_run *run, const hl_dataset *ds,
                  const hl_train_params *p, hl_model **model,
                  hs_job_outcome *o)
{
    progress pc = {run, {0}};
    hl_train_control ctl = {on_progress, &pc, run->stop};
    hl_repair_options opt = {.faults = run->train_faults,
                             .on_attempt = on_attempt,
                             .on_attempt_done = on_attempt_done,
                             .user = &pc};
    hl_train_attempts at;
    hl_error herr;
    hl_error_clear(&herr);
    hl_status st = hl_train_repair(ds, p, &ctl, &opt, model, &at, &herr);
    if (st == HL_OK) {
        o->state = HS_JOB_SUCCEEDED;
    } else if (st == HL_ERR_CANCELLED) {
        o->state = HS_JOB_CANCELLED;
        snprintf(o->error, sizeof o->error, "cancelled by the user");
    } else {
        o->state = HS_JOB_FAILED;
        hs_copy_message(o->error, sizeof o->error, herr.message);
        say_training_failed(run->job, &at, o);
    }
    hs_train_progress_free(&pc.tp);
}

hs_status hs_train_load_dataset(hs_job_run *run, hs_id dataset_id,
                                hs_dataset_rec *rec, hl_dataset **ds,
                                hs_error *err)
{
    hs_app *app = run->app;
    hs_user owner = {.id = run->job->owner_id, .is_admin = 1};
    hl_error csv_err;
    hs_status st = hs_datasets_get(app, dataset_id, &owner, rec, err);
    if (st == HS_OK)
        st = hs_dataset_check_ready(rec, "dataset_id", err);
    if (st != HS_OK)
        return st;
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.require_label = 1;
    opt.max_bytes = app->limits.max_upload_bytes + 1;
    return hs_datasets_load_blob(app, rec->blob_key, rec->name, &opt, ds,
                                 &csv_err, err);
}

hs_id hs_train_store_model(hs_job_run *run, hs_id dataset_id, hl_model *model,
                           hs_job_outcome *o)
{
    hs_model_rec mrec;
    hs_error err = {0};
    hs_id id = 0;
    if (!model)
        return 0;
    hs_status st = hs_models_save(run->app, run->job->owner_id,
                                  run->job->name, dataset_id, run->job->id,
                                  model, NULL, &mrec, &err);
    if (st == HS_OK) {
        id = mrec.id;
        hs_model_rec_free(&mrec);
    } else {
        char text[sizeof o->error + 32];
        snprintf(text, sizeof text, "storing the model: %s", err.message);
        hs_job_outcome_failed(o, st, text);
    }
    hl_model_free(model);
    return id;
}

/* The job's parameters as submitted, and its dataset, read. */
static hs_status load_inputs(hs_job_run *run, hl_train_params *p,
                             hs_dataset_rec *rec, hl_dataset **ds,
                             hs_error *err)
{
    json_t *req = json_loads(run->job->params_json, 0, NULL);
    json_t *train = training_params(json_object_get(req, "params"));
    hs_status st = hs_train_params_from_json(
        train, json_string_value(json_object_get(req, "algo")), p, err);
    json_decref(train);
    json_decref(req);
    if (st != HS_OK)
        return st;
    p->threads = run->train_threads;
    return hs_train_load_dataset(run, run->job->dataset_id, rec, ds, err);
}

/* The job's params.class_names given to the model it made (checked when
 * submitted; checked again against the model's classes). */
static hs_status name_classes(hs_job_run *run, hl_model *model, hs_error *err)
{
    json_t *req = json_loads(run->job->params_json, 0, NULL);
    const json_t *names =
        json_object_get(json_object_get(req, "params"), "class_names");
    hl_class_names *t = NULL;
    hs_status st = names ? hs_class_names_from_json(names, "params.class_names",
                                                    NULL, 0, &t, err)
                         : HS_OK;
    hl_error herr;
    if (st == HS_OK && t && hl_model_set_class_names(model, t, &herr) != HL_OK)
        st = hs_fail_field(err, HS_ERR_INVALID, "params.class_names", "%s",
                           herr.message);
    hl_class_names_free(t);
    json_decref(req);
    return st;
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
        hs_job_outcome_failed(o, st, err.message);
    else
        hs_train_fit(r, ds, &p, &model, o);
    hl_dataset_free(ds);
    if (model && (st = name_classes(r, model, &err)) != HS_OK) {
        hs_job_outcome_failed(o, st, err.message);
        hl_model_free(model);
        model = NULL;
    }
    o->result_id = hs_train_store_model(r, rec.id, model, o);
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
