/* domain/job_retrain.c - the "retrain" job type: a model and the rows
 * people labelled in diagnoses in, a new version of the model out.
 *
 * The new model is trained as the old one was - its dataset, its learner
 * and every parameter from its summary - on that dataset plus the
 * labelled rows, each weighted up (hl_dataset_append; default
 * HL_FEEDBACK_WEIGHT_DEFAULT, as `healer train --feedback`). It trains
 * through the same self-repair, progress and attempt records as a train
 * job (job_train.h). The model it makes names its parent and keeps what
 * it learnt from: the diagnoses, the rows, and the two models compared on
 * those rows (feedback_rows.h), which the new model has seen - the
 * comparison says so, and puts each model's own out-of-sample estimate
 * next to it.
 *
 * Versions build on each other: retraining a model that was itself
 * retrained also takes the diagnoses its parent learnt from (their labels
 * as they are now), so a correction is never lost by the next one.
 *
 * Checked when submitted (a 4xx at once, not a failed job later): the
 * diagnoses are the user's, kept their input and have labelled rows; the
 * model is the user's, or is the diagnoses' own when none is named, and
 * its training data is still there.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/class_names.h"
#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/feedback.h"
#include "domain/feedback_rows.h"
#include "domain/fields.h"
#include "domain/job_train.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "store/store.h"

/* Diagnoses one request may name. */
#define RETRAIN_DIAGNOSES_MAX 20
#define IDS_FIELD "feedback.diagnosis_ids"

/* ---- submission ---------------------------------------------------------- */

/* A list of diagnosis ids, without repeats. */
typedef struct id_list {
    hs_id *id;
    size_t n, cap;
} id_list;

static int id_list_has(const id_list *l, hs_id id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->id[i] == id)
            return 1;
    return 0;
}

/* Adds id unless it is there; -1 when out of memory. */
static int id_list_add(id_list *l, hs_id id)
{
    if (id_list_has(l, id))
        return 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        hs_id *grown = realloc(l->id, cap * sizeof *grown);
        if (!grown)
            return -1;
        l->id = grown;
        l->cap = cap;
    }
    l->id[l->n++] = id;
    return 0;
}

static json_t *id_list_json(const id_list *l)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < l->n; i++)
        json_array_append_new(a, json_integer((json_int_t)l->id[i]));
    return a;
}

/* "feedback": {"diagnosis_ids": [...], "weight": W}. */
static hs_status parse_feedback(const json_t *request, id_list *ids,
                                double *weight, hs_error *err)
{
    const json_t *fb = json_object_get(request, "feedback");
    if (!json_is_object(fb))
        return hs_fail_field(err, HS_ERR_MALFORMED, "feedback",
                             "'feedback' must be an object {\"diagnosis_ids\": "
                             "[...], \"weight\": W}");
    const json_t *list = json_object_get(fb, "diagnosis_ids");
    const json_t *w = json_object_get(fb, "weight");
    if (!json_is_array(list))
        return hs_fail_field(err, HS_ERR_MALFORMED, IDS_FIELD,
                             "'feedback.diagnosis_ids' must be an array of "
                             "diagnosis ids");
    if (json_array_size(list) < 1 ||
        json_array_size(list) > RETRAIN_DIAGNOSES_MAX)
        return hs_fail_field(err, HS_ERR_INVALID, IDS_FIELD,
                             "'feedback.diagnosis_ids' must name 1..%d "
                             "diagnoses",
                             RETRAIN_DIAGNOSES_MAX);
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_integer(v) || json_integer_value(v) <= 0)
            return hs_fail_field(err, HS_ERR_MALFORMED, IDS_FIELD,
                                 "'feedback.diagnosis_ids' must be an array "
                                 "of diagnosis ids");
        if (id_list_add(ids, (hs_id)json_integer_value(v)) != 0)
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    *weight = HL_FEEDBACK_WEIGHT_DEFAULT;
    if (w && !json_is_null(w)) {
        if (!json_is_number(w))
            return hs_fail_field(err, HS_ERR_MALFORMED, "feedback.weight",
                                 "'feedback.weight' must be a number");
        *weight = json_number_value(w);
        if (!(*weight > 0 && *weight <= HL_FEEDBACK_WEIGHT_MAX))
            return hs_fail_field(err, HS_ERR_INVALID, "feedback.weight",
                                 "'feedback.weight' must be above 0 and at "
                                 "most %g",
                                 HL_FEEDBACK_WEIGHT_MAX);
    }
    return HS_OK;
}

/* Labelled rows of diagnosis id, as viewer sees it; the error names the
 * field. *model_id receives the diagnosis's model. */
static hs_status check_diagnosis(hs_app *app, const hs_user *viewer, hs_id id,
                                 hs_id *model_id, size_t *labelled,
                                 hs_error *err)
{
    hs_diagnosis_rec rec;
    hs_diagnosis_label *labels = NULL;
    hl_dataset *none = NULL;
    hs_status st = hs_diagnoses_get(app, id, viewer, &rec, err);
    if (st == HS_OK)
        st = hs_diagnoses_check_live(&rec, NULL, err);
    if (st == HS_OK && !rec.input_blob_key[0])
        st = hs_diagnoses_input(app, &rec, &none, err); /* says why */
    if (st == HS_OK)
        st = hs_store_diagnosis_labels_list(app->store, id, viewer->id,
                                            viewer->is_admin, &labels,
                                            labelled, err);
    *model_id = rec.model_id;
    free(labels);
    hs_diagnosis_rec_free(&rec);
    if (st != HS_OK)
        snprintf(err->field, sizeof err->field, IDS_FIELD);
    return st;
}

/* The model to retrain: the one named, else the diagnoses' one. */
static hs_status pick_model(const hs_id *models, size_t n, const id_list *ids,
                            hs_id *model_id, hs_error *err)
{
    if (*model_id)
        return HS_OK;
    for (size_t i = 0; i < n; i++) {
        if (!models[i])
            return hs_fail_field(err, HS_ERR_INVALID, "model_id",
                                 "the model of diagnosis %lld was deleted: "
                                 "name the model to retrain in 'model_id'",
                                 (long long)ids->id[i]);
        if (models[i] != models[0])
            return hs_fail_field(err, HS_ERR_INVALID, "model_id",
                                 "diagnoses %lld and %lld were made with "
                                 "different models: name the model to "
                                 "retrain in 'model_id'",
                                 (long long)ids->id[0], (long long)ids->id[i]);
    }
    *model_id = models[0];
    return HS_OK;
}

/* The training data of the model must still be there. */
static hs_status check_training_data(hs_app *app, const hs_user *viewer,
                                     const hs_model_rec *m, hs_error *err)
{
    hs_dataset_rec ds;
    if (!m->dataset_id)
        return hs_fail_field(err, HS_ERR_INVALID, "model_id",
                             "the training data of model %lld was deleted: "
                             "it cannot be retrained",
                             (long long)m->id);
    hs_status st = hs_datasets_get(app, m->dataset_id, viewer, &ds, err);
    int64_t deleted = st == HS_OK ? ds.deleted_at : 0;
    hs_dataset_rec_free(&ds);
    if (st == HS_ERR_NOTFOUND || deleted)
        return hs_fail_field(err, HS_ERR_INVALID, "model_id",
                             "the training data of model %lld (dataset %lld) "
                             "is %s: restore it to retrain",
                             (long long)m->id, (long long)m->dataset_id,
                             deleted ? "in the trash" : "not yours to read");
    return st;
}

/* The diagnoses the parent learnt from (its feedback_json), that still
 * have labelled rows: a new version keeps its parent's corrections. */
static hs_status inherit(hs_app *app, const hs_user *viewer,
                         const hs_model_rec *m, id_list *ids,
                         id_list *inherited, size_t *labelled, hs_error *err)
{
    json_t *fb = m->feedback_json ? json_loads(m->feedback_json, 0, NULL) : NULL;
    const json_t *list = json_object_get(fb, "diagnosis_ids");
    size_t i;
    const json_t *v;
    hs_status st = HS_OK;
    json_array_foreach(list, i, v) {
        hs_id id = (hs_id)json_integer_value(v), model = 0;
        size_t n = 0;
        hs_error ignored = {0};
        if (id <= 0 || id_list_has(ids, id))
            continue;
        if (check_diagnosis(app, viewer, id, &model, &n, &ignored) != HS_OK ||
            n == 0)
            continue; /* deleted since, or its labels cleared */
        if (id_list_add(ids, id) != 0 || id_list_add(inherited, id) != 0) {
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            break;
        }
        *labelled += n;
    }
    json_decref(fb);
    return st;
}

static hs_status prepare(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out, hs_error *err)
{
    hs_id model_id = 0;
    const char *name = NULL;
    double weight = 0;
    id_list ids = {0}, inherited = {0};
    hs_id *models = NULL;
    size_t labelled = 0;
    hs_model_rec mrec;
    memset(&mrec, 0, sizeof mrec);
    hs_status st = hs_field_id(request, "model_id", 0, &model_id, err);
    if (st == HS_OK)
        st = hs_field_string(request, "name", 0, HS_DATASET_NAME_MAX - 1,
                             &name, err);
    if (st == HS_OK)
        st = parse_feedback(request, &ids, &weight, err);
    if (st == HS_OK && !(models = calloc(ids.n + 1, sizeof *models)))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && i < ids.n; i++) {
        size_t n = 0;
        st = check_diagnosis(app, viewer, ids.id[i], &models[i], &n, err);
        labelled += n;
    }
    size_t requested = ids.n;
    if (st == HS_OK)
        st = pick_model(models, requested, &ids, &model_id, err);
    if (st == HS_OK &&
        ((st = hs_models_get(app, model_id, viewer, &mrec, err)) != HS_OK ||
         (st = hs_models_check_live(&mrec, err)) != HS_OK))
        snprintf(err->field, sizeof err->field, "model_id");
    if (st == HS_OK)
        st = check_training_data(app, viewer, &mrec, err);
    if (st == HS_OK)
        st = inherit(app, viewer, &mrec, &ids, &inherited, &labelled, err);
    if (st == HS_OK)
        st = hs_feedback_rows_check_count(labelled, requested, err);
    if (st == HS_OK) {
        out->model_id = model_id;
        out->dataset_id = mrec.dataset_id;
        if (name && *name)
            snprintf(out->name, sizeof out->name, "%s", name);
        else
            snprintf(out->name, sizeof out->name, "%.200s + corrections",
                     mrec.name);
        json_t *params = json_pack(
            "{s:I, s:f, s:o, s:o, s:I}", "model_id", (json_int_t)model_id,
            "weight", weight, "diagnosis_ids", id_list_json(&ids), "inherited",
            id_list_json(&inherited), "labelled_rows", (json_int_t)labelled);
        out->params_json = params ? json_dumps(params, JSON_COMPACT) : NULL;
        json_decref(params);
        if (!out->params_json)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    hs_model_rec_free(&mrec);
    free(models);
    free(ids.id);
    free(inherited.id);
    return st;
}

/* ---- running -------------------------------------------------------------- */

/* What the new model keeps of its feedback: the diagnoses (all of them,
 * for the next version to inherit), the weight, the rows by class, the
 * classes that are new, and the comparison. */
static json_t *feedback_json(const json_t *params, const hs_feedback_rows *rows,
                             const hl_model *old_m, json_t *comparison)
{
    const hl_dataset *ds = rows->data;
    const hl_model_summary *os = hl_model_summary_get(old_m);
    json_t *counts = json_object(), *fresh = json_array();
    for (size_t k = 0; counts && fresh && k < ds->n_classes; k++) {
        size_t c = 0;
        for (size_t i = 0; i < ds->n_rows; i++)
            c += ds->y[i] == (int32_t)k;
        json_object_set_new(counts, ds->class_names[k],
                            json_integer((json_int_t)c));
        int known = 0;
        for (size_t j = 0; j < os->n_classes; j++)
            known |= !strcmp(os->class_names[j], ds->class_names[k]);
        if (!known)
            json_array_append_new(fresh, json_string(ds->class_names[k]));
    }
    return json_pack("{s:O, s:O, s:O, s:I, s:o, s:o, s:o}", "weight",
                     json_object_get(params, "weight"), "diagnosis_ids",
                     json_object_get(params, "diagnosis_ids"), "inherited",
                     json_object_get(params, "inherited"), "rows",
                     (json_int_t)ds->n_rows, "class_counts", counts,
                     "new_classes", fresh, "comparison", comparison);
}

/* The training data: the parent's dataset and the labelled rows. */
static hs_status load_data(hs_job_run *r, const hl_model *old_m,
                           const json_t *params, hs_dataset_rec *rec,
                           hs_feedback_rows *rows, hl_dataset **combined,
                           hs_error *err)
{
    const hs_job_rec *job = r->job;
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    const json_t *list = json_object_get(params, "diagnosis_ids");
    size_t n = json_array_size(list);
    hs_id *ids = calloc(n + 1, sizeof *ids);
    hl_dataset *ds = NULL;
    if (!ids)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = (hs_id)json_integer_value(json_array_get(list, i));
    hs_status st = hs_train_load_dataset(r, job->dataset_id, rec, &ds, err);
    if (st == HS_OK)
        st = hs_feedback_rows_collect(r->app, &owner, old_m, ids, n, rows,
                                      err);
    free(ids);
    hl_error herr;
    hl_error_clear(&herr);
    if (st == HS_OK &&
        hl_dataset_append(ds, rows->data,
                          json_number_value(json_object_get(params, "weight")),
                          combined, &herr) != HL_OK)
        st = hs_fail(err, HS_ERR_INVALID, "adding the labelled rows: %s",
                     herr.message);
    hl_dataset_free(ds);
    return st;
}

/* Compares, then stores the model with its lineage. */
static hs_status keep_model(hs_job_run *r, const hl_model *old_m,
                            const hl_model *new_m, const json_t *params,
                            const hs_feedback_rows *rows, hs_id dataset_id,
                            hs_id *model_id, hs_error *err)
{
    json_t *comparison = hs_feedback_compare(old_m, new_m, rows, err);
    if (!comparison)
        return err->code;
    json_t *fb = feedback_json(params, rows, old_m, comparison);
    if (!fb)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_model_lineage lineage = {r->job->model_id, fb};
    hs_model_rec mrec;
    hs_status st = hs_models_save(r->app, r->job->owner_id, r->job->name,
                                  dataset_id, r->job->id, new_m, &lineage,
                                  &mrec, err);
    json_decref(fb);
    if (st == HS_OK) {
        *model_id = mrec.id;
        hs_model_rec_free(&mrec);
    }
    return st;
}

static void run(hs_job_run *r, hs_job_outcome *o)
{
    hs_app *app = r->app;
    hs_user owner = {.id = r->job->owner_id, .is_admin = 1};
    hs_error err = {0};
    hs_model_ref *ref = NULL;
    hs_dataset_rec rec;
    hs_feedback_rows rows;
    hl_dataset *combined = NULL;
    hl_model *model = NULL;
    json_t *params = json_loads(r->job->params_json, 0, NULL);
    memset(&rec, 0, sizeof rec);
    memset(&rows, 0, sizeof rows);
    o->state = HS_JOB_FAILED;
    hs_model_rec parent;
    memset(&parent, 0, sizeof parent);
    hs_status st = r->job->model_id
                       ? hs_models_acquire(app, r->job->model_id, &owner, &ref,
                                           &parent, &err)
                       : hs_fail(&err, HS_ERR_NOTFOUND,
                                 "the model to retrain was deleted");
    if (st == HS_OK)
        st = load_data(r, hs_model_ref_get(ref), params, &rec, &rows,
                       &combined, &err);
    if (st == HS_OK) {
        /* Trained as the parent was: its learner and every parameter. */
        hl_train_params p = hl_model_summary_get(hs_model_ref_get(ref))->params;
        p.threads = r->train_threads;
        hs_train_fit(r, combined, &p, &model, o);
    }
    /* the parent's class names, for the classes the new model has */
    if (model && hs_class_names_inherit(parent.class_names_json, model,
                                        &err) != HS_OK) {
        hl_model_free(model);
        model = NULL;
        o->state = HS_JOB_FAILED;
        st = err.code;
    }
    if (model) {
        st = keep_model(r, hs_model_ref_get(ref), model, params, &rows,
                        rec.id, &o->result_id, &err);
        if (st != HS_OK) {
            char text[sizeof o->error + 32];
            snprintf(text, sizeof text, "storing the model: %s", err.message);
            hs_job_outcome_failed(o, st, text);
        }
        hl_model_free(model);
    } else if (st != HS_OK) {
        hs_job_outcome_failed(o, st, err.message);
    }
    hl_dataset_free(combined);
    hs_feedback_rows_free(&rows);
    hs_dataset_rec_free(&rec);
    hs_models_release(app, ref);
    hs_model_rec_free(&parent);
    json_decref(params);
}

static void discard(hs_app *app, const hs_job_rec *job, hs_id model_id)
{
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hs_models_delete(app, model_id, &owner, NULL);
}

const hs_job_type hs_job_type_retrain = {
    .name = "retrain",
    .result_kind = HS_RESULT_MODEL,
    .user_submittable = 1,
    .prepare = prepare,
    .run = run,
    .discard = discard,
};
