/* domain/feedback_rows.c - labelled rows gathered from diagnoses, and the
 * comparison of two models on them (see feedback_rows.h).
 *
 * The rows are built as an hl_dataset by hand (like the JSON rows of a
 * diagnosis): each diagnosis's stored input is read once, its labelled
 * rows copied over the model's KPIs. The comparison predicts both models
 * on those rows itself, rather than reusing the diagnosis's stored
 * predictions, so that both are made the same way (a diagnosis may have
 * been adapted to its batch, or made by a third model).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/diagnoses.h"
#include "domain/engine_json.h"
#include "domain/feedback.h"
#include "domain/feedback_rows.h"
#include "domain/models.h"
#include "store/store.h"

#define IDS_FIELD "feedback.diagnosis_ids"

void hs_feedback_rows_free(hs_feedback_rows *f)
{
    if (!f)
        return;
    hl_dataset_free(f->data);
    free(f->diagnosis_id);
    free(f->row);
    memset(f, 0, sizeof *f);
}

/* ---- gathering ---------------------------------------------------------- */

hs_status hs_feedback_rows_check_count(size_t labelled, size_t n_diagnoses,
                                       hs_error *err)
{
    if (labelled == 0)
        return hs_fail_field(err, HS_ERR_INVALID, IDS_FIELD,
                             "no row of %s is labelled: confirm or correct "
                             "the class of some rows first",
                             n_diagnoses == 1 ? "the diagnosis"
                                              : "these diagnoses");
    if (labelled > HS_FEEDBACK_ROWS_MAX)
        return hs_fail_field(err, HS_ERR_INVALID, IDS_FIELD,
                             "%zu labelled rows; a retraining learns from at "
                             "most %d",
                             labelled, HS_FEEDBACK_ROWS_MAX);
    return HS_OK;
}

/* One diagnosis's part: its input and its labels. */
typedef struct source {
    hs_id id;
    hl_dataset *input;
    hs_diagnosis_label *labels;
    size_t n_labels;
    long *column; /* per KPI of the model: its column in input */
} source;

static void source_free(source *s)
{
    hl_dataset_free(s->input);
    free(s->labels);
    free(s->column);
}

static hs_status read_source(hs_app *app, const hs_user *viewer,
                             const hl_model *m, hs_id id, source *s,
                             hs_error *err)
{
    const hl_model_summary *ms = hl_model_summary_get(m);
    hs_diagnosis_rec rec;
    memset(s, 0, sizeof *s);
    s->id = id;
    hs_status st = hs_diagnoses_get(app, id, viewer, &rec, err);
    if (st == HS_OK)
        st = hs_diagnoses_check_live(&rec, NULL, err);
    if (st == HS_OK)
        st = hs_diagnoses_input(app, &rec, &s->input, err);
    hs_diagnosis_rec_free(&rec);
    if (st == HS_OK)
        st = hs_store_diagnosis_labels_list(app->store, id, viewer->id,
                                            viewer->is_admin, &s->labels,
                                            &s->n_labels, err);
    if (st == HS_OK &&
        !(s->column = malloc((ms->n_features + 1) * sizeof *s->column)))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t j = 0; st == HS_OK && j < ms->n_features; j++)
        if ((s->column[j] = hl_dataset_feature_index(
                 s->input, ms->feature_names[j])) < 0)
            st = hs_fail(err, HS_ERR_INVALID,
                         "diagnosis %lld has no KPI '%s', which the model "
                         "needs: its rows cannot be trained on with it",
                         (long long)id, ms->feature_names[j]);
    if (st != HS_OK && !err->field[0])
        snprintf(err->field, sizeof err->field, IDS_FIELD);
    return st;
}

static hs_status alloc_data(const hl_model_summary *ms, size_t n,
                            hs_feedback_rows *out, hs_error *err)
{
    hl_dataset *ds = calloc(1, sizeof *ds);
    out->data = ds;
    out->diagnosis_id = malloc((n + 1) * sizeof *out->diagnosis_id);
    out->row = malloc((n + 1) * sizeof *out->row);
    if (!ds || !out->diagnosis_id || !out->row)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    ds->n_rows = ds->rows_read = n;
    ds->n_features = ms->n_features;
    ds->has_labels = 1;
    ds->source = strdup("labelled rows");
    ds->feature_names = calloc(ms->n_features + 1, sizeof *ds->feature_names);
    ds->x = malloc((n * ms->n_features + 1) * sizeof *ds->x);
    ds->y = malloc((n + 1) * sizeof *ds->y);
    ds->sample_ids = calloc(n + 1, sizeof *ds->sample_ids);
    if (!ds->source || !ds->feature_names || !ds->x || !ds->y ||
        !ds->sample_ids)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t j = 0; j < ms->n_features; j++)
        if (!(ds->feature_names[j] = strdup(ms->feature_names[j])))
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    return HS_OK;
}

/* Copies s's labelled rows into out from row `at` on. */
static hs_status copy_rows(const source *s, size_t F, size_t at,
                           hs_feedback_rows *out, hs_error *err)
{
    hl_dataset *ds = out->data;
    for (size_t i = 0; i < s->n_labels; i++, at++) {
        size_t r = (size_t)s->labels[i].row;
        if (r >= s->input->n_rows)
            return hs_fail(err, HS_ERR_INTERNAL,
                           "diagnosis %lld: label of row %zu beyond its input",
                           (long long)s->id, r + 1);
        const float *src = s->input->x + r * s->input->n_features;
        for (size_t j = 0; j < F; j++)
            ds->x[at * F + j] = src[s->column[j]];
        char id[64];
        if (!s->input->sample_ids)
            snprintf(id, sizeof id, "d%lld:r%zu", (long long)s->id, r + 1);
        ds->sample_ids[at] =
            strdup(s->input->sample_ids ? s->input->sample_ids[r] : id);
        ds->y[at] = hs_diag_class_index(ds, s->labels[i].label);
        if (!ds->sample_ids[at] || ds->y[at] < 0)
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
        out->diagnosis_id[at] = s->id;
        out->row[at] = (int64_t)r;
    }
    return HS_OK;
}

hs_status hs_feedback_rows_collect(hs_app *app, const hs_user *viewer,
                                   const hl_model *m, const hs_id *ids,
                                   size_t n, hs_feedback_rows *out,
                                   hs_error *err)
{
    const hl_model_summary *ms = hl_model_summary_get(m);
    source *src = calloc(n + 1, sizeof *src);
    size_t total = 0, read = 0;
    memset(out, 0, sizeof *out);
    hs_status st = src ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (; st == HS_OK && read < n; read++) {
        st = read_source(app, viewer, m, ids[read], &src[read], err);
        total += src[read].n_labels;
    }
    if (st == HS_OK)
        st = hs_feedback_rows_check_count(total, n, err);
    if (st == HS_OK)
        st = alloc_data(ms, total, out, err);
    for (size_t i = 0, at = 0; st == HS_OK && i < n; i++) {
        st = copy_rows(&src[i], ms->n_features, at, out, err);
        at += src[i].n_labels;
    }
    for (size_t i = 0; src && i < read; i++)
        source_free(&src[i]);
    free(src);
    if (st != HS_OK)
        hs_feedback_rows_free(out);
    return st;
}

/* ---- comparing ---------------------------------------------------------- */

/* A model's predictions on the rows: the class name (borrowed from the
 * model) and its index among the new model's K classes, or K for a class
 * the new model lacks (an old model may have learnt a class whose labels
 * were cleared since). */
typedef struct predictions {
    const char **name;
    int32_t *index;
} predictions;

static hs_status predict_into(const hl_model *m, const hl_dataset *ds,
                              char *const *names, size_t K, predictions *out,
                              hs_error *err)
{
    const hl_model_summary *ms = hl_model_summary_get(m);
    double *proba = malloc((ds->n_rows * ms->n_classes + 1) * sizeof *proba);
    out->name = malloc((ds->n_rows + 1) * sizeof *out->name);
    out->index = malloc((ds->n_rows + 1) * sizeof *out->index);
    hl_error herr;
    hl_error_clear(&herr);
    hs_status st = proba && out->name && out->index
                       ? HS_OK
                       : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK &&
        hl_model_predict_dataset(m, ds, 1, proba, NULL, &herr) != HL_OK)
        st = hs_fail(err, HS_ERR_INTERNAL, "comparing the models: %s",
                     herr.message);
    for (size_t i = 0; st == HS_OK && i < ds->n_rows; i++) {
        out->name[i] = ms->class_names[hl_predict_argmax(
            proba + i * ms->n_classes, ms->n_classes)];
        out->index[i] = (int32_t)K;
        for (size_t k = 0; k < K; k++)
            if (!strcmp(names[k], out->name[i]))
                out->index[i] = (int32_t)k;
    }
    free(proba);
    return st;
}

static void predictions_free(predictions *p)
{
    free(p->name);
    free(p->index);
}

/* {"accuracy", "macro_f1", "correct"}: the macro-F1 over the classes in
 * use (the engine's averages over all, which a few labelled rows of some
 * classes would drag towards 0 for both models alike). */
static json_t *model_score(const hl_metrics *m, const unsigned char *in_use,
                           size_t K)
{
    double sum = 0;
    size_t used = 0;
    uint64_t correct = 0;
    for (size_t k = 0; k < K; k++) {
        correct += m->confusion[k * (K + 1) + k];
        if (in_use[k]) {
            sum += m->per_class[k].f1;
            used++;
        }
    }
    return json_pack("{s:f, s:f, s:I}", "accuracy", m->accuracy, "macro_f1",
                     used ? sum / (double)used : 0.0, "correct",
                     (json_int_t)correct);
}

static json_t *estimate(const hl_model *m)
{
    double f1, acc;
    const char *from = hs_models_estimate(hl_model_summary_get(m), &f1, &acc);
    return json_pack("{s:o, s:o, s:o}", "source",
                     from ? json_string(from) : json_null(), "macro_f1",
                     hs_json_num(f1), "accuracy", hs_json_num(acc));
}

typedef struct compared {
    const hs_feedback_rows *rows;
    char *const *names; /* the new model's K classes */
    size_t K;
    const int32_t *y;
    predictions old_p, new_p;
    hl_metrics old_m, new_m; /* over K + 1 classes: K = another class */
} compared;

static json_t *comparison_json(const compared *c)
{
    const hl_dataset *ds = c->rows->data;
    const size_t K = c->K;
    unsigned char *in_use = calloc(K + 1, 1);
    json_t *list = json_array(), *per_class = json_array();
    json_int_t fixed = 0, broken = 0, changed = 0;
    for (size_t i = 0; in_use && list && i < ds->n_rows; i++) {
        int32_t o = c->old_p.index[i], nw = c->new_p.index[i];
        fixed += o != c->y[i] && nw == c->y[i];
        broken += o == c->y[i] && nw != c->y[i];
        changed += strcmp(c->old_p.name[i], c->new_p.name[i]) != 0;
        in_use[c->y[i]] = in_use[o] = in_use[nw] = 1;
        json_array_append_new(
            list, json_pack("[I, I, s, s, s, s]",
                            (json_int_t)c->rows->diagnosis_id[i],
                            (json_int_t)(c->rows->row[i] + 1),
                            ds->sample_ids[i], c->names[c->y[i]],
                            c->old_p.name[i], c->new_p.name[i]));
    }
    for (size_t k = 0; in_use && per_class && k < K; k++)
        if (in_use[k])
            json_array_append_new(
                per_class,
                json_pack("{s:s, s:I, s:f, s:f}", "class", c->names[k],
                          "labelled", (json_int_t)c->new_m.per_class[k].support,
                          "old_f1", c->old_m.per_class[k].f1, "new_f1",
                          c->new_m.per_class[k].f1));
    json_t *out = NULL;
    if (in_use && list && per_class)
        out = json_pack("{s:b, s:[s, s, s, s, s, s], s:O, s:o, s:o, s:O, s:I, "
                        "s:I, s:I}",
                        "in_sample", 1, "columns", "diagnosis_id", "row",
                        "sample_id", "label", "old", "new", "rows", list,
                        "old", model_score(&c->old_m, in_use, K), "new",
                        model_score(&c->new_m, in_use, K), "per_class",
                        per_class, "fixed", fixed, "broken", broken,
                        "changed", changed);
    json_decref(list);
    json_decref(per_class);
    free(in_use);
    return out;
}

json_t *hs_feedback_compare(const hl_model *old_m, const hl_model *new_m,
                            const hs_feedback_rows *rows, hs_error *err)
{
    const hl_dataset *ds = rows->data;
    const hl_model_summary *ns = hl_model_summary_get(new_m);
    const size_t n = ds->n_rows, K = ns->n_classes;
    int32_t *y = malloc((n + 1) * sizeof *y);
    compared c = {rows, ns->class_names, K, y, {0}, {0}, {0}, {0}};
    json_t *out = NULL;
    hl_error herr;
    hl_error_clear(&herr);
    hs_status st = y ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && i < n; i++) { /* labels, by name */
        const char *label = ds->class_names[ds->y[i]];
        y[i] = -1;
        for (size_t k = 0; k < K; k++)
            if (!strcmp(ns->class_names[k], label))
                y[i] = (int32_t)k;
        if (y[i] < 0)
            st = hs_fail(err, HS_ERR_INTERNAL,
                         "the new model lacks the class '%s' it learnt", label);
    }
    if (st == HS_OK)
        st = predict_into(old_m, ds, ns->class_names, K, &c.old_p, err);
    if (st == HS_OK)
        st = predict_into(new_m, ds, ns->class_names, K, &c.new_p, err);
    if (st == HS_OK &&
        (hl_metrics_compute(y, c.old_p.index, NULL, n, K + 1, &c.old_m,
                            &herr) != HL_OK ||
         hl_metrics_compute(y, c.new_p.index, NULL, n, K + 1, &c.new_m,
                            &herr) != HL_OK))
        st = hs_fail(err, HS_ERR_INTERNAL, "scoring: %s", herr.message);
    if (st == HS_OK && !(out = comparison_json(&c)))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (out)
        json_object_set_new(out, "estimates",
                            json_pack("{s:o, s:o}", "old", estimate(old_m),
                                      "new", estimate(new_m)));
    hl_metrics_free(&c.old_m);
    hl_metrics_free(&c.new_m);
    predictions_free(&c.old_p);
    predictions_free(&c.new_p);
    free(y);
    return out;
}
