/* engine_json.c - JSON views of engine objects (see engine_json.h).
 *
 * Built with jansson's json_pack; a failed allocation anywhere yields NULL
 * from json_pack ("o" consumes its argument even then), so callers only
 * check the final result.
 */
#include <math.h>
#include <stdlib.h>

#include "domain/engine_json.h"

json_t *hs_json_num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *hs_json_metrics(const hl_metrics *m, char *const *class_names)
{
    json_t *per_class = json_array();
    json_t *confusion = json_array();
    for (size_t k = 0; k < m->n_classes; k++) {
        const hl_class_metrics *c = &m->per_class[k];
        json_array_append_new(
            per_class,
            json_pack("{s:s, s:o, s:o, s:o, s:I, s:I}", "class",
                      class_names[k], "precision", hs_json_num(c->precision),
                      "recall", hs_json_num(c->recall), "f1",
                      hs_json_num(c->f1), "support", (json_int_t)c->support,
                      "predicted", (json_int_t)c->predicted));
        json_t *row = json_array();
        for (size_t j = 0; j < m->n_classes; j++)
            json_array_append_new(
                row, json_integer((json_int_t)m->confusion[k * m->n_classes + j]));
        json_array_append_new(confusion, row);
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "samples",
                     (json_int_t)m->n_samples, "accuracy",
                     hs_json_num(m->accuracy), "macro_precision",
                     hs_json_num(m->macro_precision), "macro_recall",
                     hs_json_num(m->macro_recall), "macro_f1",
                     hs_json_num(m->macro_f1), "weighted_f1",
                     hs_json_num(m->weighted_f1), "log_loss",
                     hs_json_num(m->log_loss), "per_class", per_class,
                     "confusion", confusion);
}

json_t *hs_json_warnings(const hl_warnings *w)
{
    json_t *a = json_array();
    for (size_t i = 0; w && i < w->count; i++)
        json_array_append_new(a, json_string(w->items[i]));
    return a;
}

static json_t *params_json(const hl_train_params *p)
{
    return json_pack(
        "{s:s, s:i, s:f, s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:i, s:f, s:i, "
        "s:s, s:b, s:b, s:i, s:I, s:i}",
        "algo", p->algo, "rounds", p->rounds, "learning_rate", p->learning_rate,
        "max_depth", p->max_depth, "max_leaves", p->max_leaves,
        "min_child_weight", p->min_child_weight, "lambda", p->lambda_l2,
        "min_split_gain", p->min_split_gain, "subsample", p->subsample,
        "colsample", p->colsample, "max_bins", p->max_bins,
        "validation_fraction", p->validation_fraction,
        "early_stopping_rounds", p->early_stopping_rounds, "class_weight",
        p->class_weight == HL_CLASS_WEIGHT_BALANCED ? "balanced" : "none",
        "collapse_duplicates", p->collapse_duplicates, "refit", p->refit,
        "cv_folds", (int)p->cv_folds, "seed", (json_int_t)p->seed, "threads",
        p->threads);
}

static json_t *names_json(char *const *names, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *curve_json(const hl_model_summary *s)
{
    json_t *tl = json_array(), *vl = json_array();
    for (size_t i = 0; i < s->curve_len; i++) {
        json_array_append_new(tl, hs_json_num(s->curve_train_loss[i]));
        json_array_append_new(vl, hs_json_num(s->curve_valid_loss[i]));
    }
    return json_pack("{s:o, s:o}", "train_loss", tl, "valid_loss", vl);
}

size_t *hs_importance_order(const hl_model_summary *s)
{
    size_t n = s->n_features;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (!idx)
        return NULL;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    for (size_t i = 1; i < n; i++) { /* insertion sort: n is small, stable */
        size_t v = idx[i], j = i;
        while (j > 0 && s->importance_gain[idx[j - 1]] < s->importance_gain[v]) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = v;
    }
    return idx;
}

static json_t *importance_json(const hl_model_summary *s)
{
    json_t *a = json_array();
    size_t *order = hs_importance_order(s);
    double total = 0.0;
    for (size_t f = 0; f < s->n_features; f++)
        total += s->importance_gain[f];
    for (size_t i = 0; order && i < s->n_features; i++) {
        size_t f = order[i];
        json_array_append_new(
            a, json_pack("{s:s, s:o, s:o, s:i}", "feature", s->feature_names[f],
                         "gain", hs_json_num(s->importance_gain[f]), "share",
                         hs_json_num(total > 0 ? s->importance_gain[f] / total
                                               : 0.0),
                         "splits", (int)s->importance_splits[f]));
    }
    free(order);
    return a;
}

json_t *hs_json_summary(const hl_model_summary *s)
{
    json_t *counts = json_object();
    for (size_t k = 0; k < s->n_classes; k++)
        json_object_set_new(counts, s->class_names[k],
                            json_integer((json_int_t)s->class_counts[k]));
    json_t *data = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "rows_read",
        (json_int_t)s->rows_read, "rows_skipped_no_label",
        (json_int_t)s->rows_skipped_no_label, "duplicate_rows",
        (json_int_t)s->duplicate_rows, "conflicting_duplicates",
        (json_int_t)s->conflicting_duplicates, "rows_train",
        (json_int_t)s->rows_train, "rows_validation",
        (json_int_t)s->rows_validation, "features", (json_int_t)s->n_features,
        "classes", (json_int_t)s->n_classes, "class_counts", counts);
    json_t *j = json_pack(
        "{s:s, s:s, s:I, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:f}, s:o, s:o}",
        "algo", s->algo, "healer_version", s->healer_version, "created_unix",
        (json_int_t)s->created_unix, "params", params_json(&s->params),
        "features", names_json(s->feature_names, s->n_features), "classes",
        names_json(s->class_names, s->n_classes), "data", data, "training",
        "rounds_done", (json_int_t)s->rounds_done, "best_round",
        (json_int_t)s->best_round, "trees", (json_int_t)s->n_trees,
        "train_seconds", s->train_seconds, "curve", curve_json(s),
        "feature_importance", importance_json(s));
    if (!j)
        return NULL;
    json_object_set_new(j, "validation",
                        s->has_validation
                            ? hs_json_metrics(&s->validation, s->class_names)
                            : json_null());
    json_object_set_new(
        j, "cv",
        s->cv_folds > 1
            ? json_pack("{s:i, s:o}", "folds", (int)s->cv_folds, "metrics",
                        hs_json_metrics(&s->cv, s->class_names))
            : json_null());
    return j;
}

/* The first rows of ds: ids and labels as strings, KPIs as numbers (null
 * when missing), in the file's column order (id first, label last). */
static json_t *preview_json(const hl_dataset *ds, size_t max_rows)
{
    json_t *cols = json_array(), *rows = json_array();
    if (ds->sample_ids)
        json_array_append_new(cols, json_string("sample_id"));
    for (size_t f = 0; f < ds->n_features; f++)
        json_array_append_new(cols, json_string(ds->feature_names[f]));
    if (ds->has_labels)
        json_array_append_new(cols, json_string("label"));
    for (size_t i = 0; i < ds->n_rows && i < max_rows; i++) {
        json_t *r = json_array();
        if (ds->sample_ids)
            json_array_append_new(r, json_string(ds->sample_ids[i]));
        for (size_t f = 0; f < ds->n_features; f++)
            json_array_append_new(
                r, hs_json_num((double)ds->x[i * ds->n_features + f]));
        if (ds->has_labels)
            json_array_append_new(r, ds->y[i] >= 0
                                         ? json_string(ds->class_names[ds->y[i]])
                                         : json_null());
        json_array_append_new(rows, r);
    }
    return json_pack("{s:o, s:o}", "columns", cols, "rows", rows);
}

json_t *hs_json_profile(const hl_dataset *ds, const hl_dataset_profile *p,
                        size_t preview_rows)
{
    json_t *features = json_array(), *classes = json_object();
    for (size_t f = 0; f < p->n_features; f++) {
        const hl_feature_stats *s = &p->features[f];
        json_array_append_new(
            features,
            json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}",
                      "name", ds->feature_names[f], "missing",
                      (json_int_t)s->missing, "missing_rate",
                      hs_json_num(s->missing_rate), "min", hs_json_num(s->min),
                      "p05", hs_json_num(s->p05), "median", hs_json_num(s->p50),
                      "p95", hs_json_num(s->p95), "max", hs_json_num(s->max),
                      "mean", hs_json_num(s->mean), "std", hs_json_num(s->std)));
    }
    for (size_t k = 0; p->class_counts && k < p->n_classes; k++)
        json_object_set_new(classes, ds->class_names[k],
                            json_integer((json_int_t)p->class_counts[k]));
    if (!p->class_counts) {
        json_decref(classes);
        classes = json_null();
    }
    json_t *j = json_pack(
        "{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:b, s:o, "
        "s:o}",
        "source", ds->source ? ds->source : "", "rows", (json_int_t)p->n_rows,
        "features", (json_int_t)p->n_features, "rows_read",
        (json_int_t)p->rows_read, "rows_skipped_no_label",
        (json_int_t)p->rows_skipped_no_label, "unlabelled_rows",
        (json_int_t)p->unlabelled_rows, "duplicate_rows",
        (json_int_t)p->duplicate_rows, "conflicting_rows",
        (json_int_t)p->conflicting_rows, "missing_cells",
        (json_int_t)p->missing_cells, "missing_rate",
        hs_json_num(p->missing_rate), "constant_features",
        (json_int_t)p->constant_features, "has_labels", ds->has_labels,
        "class_counts", classes, "kpis", features);
    if (j && preview_rows > 0)
        json_object_set_new(j, "preview", preview_json(ds, preview_rows));
    return j;
}
