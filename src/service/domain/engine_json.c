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

static json_t *param_value_json(const hl_param_spec *s, hl_param_value v)
{
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_SEED: return json_integer((json_int_t)v.i);
    case HL_PARAM_REAL: return hs_json_num(v.d);
    case HL_PARAM_BOOL: return json_boolean(v.i);
    case HL_PARAM_CHOICE: return json_string(s->choices[v.i]);
    }
    return json_null();
}

static void add_params(json_t *o, const hl_train_params *p,
                       const hl_param_spec *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        json_object_set_new(o, t[k].name,
                            param_value_json(&t[k], hl_train_params_value(p, &t[k])));
}

json_t *hs_json_train_params(const hl_train_params *p)
{
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    const hl_learner_info *li = hl_learner_find(p->algo);
    json_t *o = json_pack("{s:s}", "algo", p->algo);
    if (!o)
        return NULL;
    if (li)
        add_params(o, p, li->params, li->n_params);
    add_params(o, p, shared, n_shared);
    return o;
}

json_t *hs_json_train_attempt(const hl_train_attempt *a)
{
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:o, s:o, s:o}", "number", (json_int_t)a->number,
        "step", hl_repair_step_name(a->step), "algo", a->params.algo, "outcome",
        hl_attempt_outcome_name(a->outcome), "reason",
        a->outcome == HL_ATTEMPT_SUCCEEDED ? json_null()
                                           : json_string(a->reason),
        "seconds", hs_json_num(a->seconds), "params",
        hs_json_train_params(&a->params));
}

json_t *hs_json_train_attempts(const hl_train_attempts *attempts)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < attempts->count; i++)
        if (json_array_append_new(
                arr, hs_json_train_attempt(&attempts->item[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

/* {name, type, default, min, max, help[, choices]}: min and max only
 * where a range applies; 0 of a "0 (off) or A..B" range is its minimum. */
static json_t *param_spec_json(const hl_param_spec *s)
{
    const int ranged = s->type == HL_PARAM_INT || s->type == HL_PARAM_SEED ||
                       s->type == HL_PARAM_REAL;
    hl_param_value lo = s->min;
    if (s->flags & HL_PARAM_ZERO_OFF)
        lo = (hl_param_value){0, 0.0};
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:o, s:s}", "name", s->name,
                          "type", hl_param_type_name(s->type), "default",
                          param_value_json(s, s->def), "min",
                          ranged ? param_value_json(s, lo) : json_null(), "max",
                          ranged ? param_value_json(s, s->max) : json_null(),
                          "help", s->help);
    if (j && s->type == HL_PARAM_CHOICE) {
        json_t *choices = json_array();
        for (size_t k = 0; s->choices[k]; k++)
            json_array_append_new(choices, json_string(s->choices[k]));
        json_object_set_new(j, "choices", choices);
    }
    return j;
}

/* The specs a client may set for a learner: not the command line's own,
 * and not the round-based options for a learner without rounds. */
static void add_specs(json_t *a, const hl_param_spec *t, size_t n,
                      int iterative)
{
    for (size_t k = 0; k < n; k++)
        if (!(t[k].flags & HL_PARAM_CLI_ONLY) &&
            (iterative || !(t[k].flags & HL_PARAM_ITERATIVE)))
            json_array_append_new(a, param_spec_json(&t[k]));
}

json_t *hs_json_algorithms(void)
{
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    json_t *items = json_array();
    for (size_t i = 0; i < hl_learner_count(); i++) {
        const hl_learner_info *li = hl_learner_at(i);
        json_t *params = json_array();
        add_specs(params, li->params, li->n_params, li->iterative);
        add_specs(params, shared, n_shared, li->iterative);
        json_array_append_new(items, json_pack("{s:s, s:o}", "name", li->name,
                                               "params", params));
    }
    return json_pack("{s:o}", "items", items);
}

json_t *hs_json_strings(char *const *names, size_t n)
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

/* --algo auto's candidates, or null. */
static json_t *leaderboard_json(const hl_model_summary *s)
{
    if (!s->n_candidates)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_candidates; i++) {
        const hl_model_candidate *c = &s->candidates[i];
        json_array_append_new(
            a, json_pack("{s:s, s:s, s:o, s:o, s:o}", "algo", c->algo,
                         "status", hl_candidate_status_name(c->status),
                         "macro_f1", hs_json_num(c->macro_f1), "accuracy",
                         hs_json_num(c->accuracy), "seconds",
                         hs_json_num(c->seconds)));
    }
    return a;
}

/* An ensemble's members, or null. */
static json_t *members_json(const hl_model_summary *s)
{
    if (!s->n_members)
        return json_null();
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->n_members; i++)
        json_array_append_new(
            a, json_pack("{s:s, s:o, s:o}", "algo", s->members[i].algo,
                         "weight", hs_json_num(s->members[i].weight),
                         "oof_macro_f1",
                         hs_json_num(s->members[i].oof_macro_f1)));
    return a;
}

/* The KPI screening: threshold, how many kept, every KPI's signal; null
 * when the model was trained without it. */
static json_t *screening_json(const hl_model_summary *s)
{
    if (!s->kpi_signal)
        return json_null();
    json_t *kpis = json_array();
    for (size_t j = 0; kpis && j < s->n_features; j++)
        json_array_append_new(
            kpis, json_pack("{s:s, s:o, s:b}", "name", s->feature_names[j],
                            "signal", hs_json_num(s->kpi_signal[j]), "kept",
                            s->kpi_kept[j] != 0));
    return json_pack("{s:o, s:I, s:o}", "threshold",
                     hs_json_num(s->params.screen_kpis), "kept",
                     (json_int_t)s->n_kept, "kpis", kpis);
}

/* The KPI families: the threshold and each family's members by name
 * (none found: an empty list); null when the option was off. */
static json_t *families_json(const hl_model_summary *s)
{
    if (!(s->params.families > 0.0))
        return json_null();
    json_t *list = json_array();
    for (size_t f = 0; list && s->kpi_family && f < s->n_families; f++) {
        json_t *members = json_array();
        for (size_t j = 0; members && j < s->n_features; j++)
            if (s->kpi_family[j] == (int32_t)f)
                json_array_append_new(members,
                                      json_string(s->feature_names[j]));
        json_array_append_new(list, json_pack("{s:o}", "kpis", members));
    }
    return json_pack("{s:o, s:o}", "threshold",
                     hs_json_num(s->params.families), "families", list);
}

/* The normal ranges: where they come from and each KPI's; null for a
 * model trained before them. */
static json_t *normal_json(const hl_model_summary *s)
{
    if (!s->has_normal)
        return json_null();
    json_t *kpis = json_array();
    for (size_t j = 0; kpis && j < s->n_features; j++)
        json_array_append_new(
            kpis,
            isnan(s->normal_median[j])
                ? json_pack("{s:s, s:n, s:n, s:n}", "kpi", s->feature_names[j],
                            "low", "high", "median")
                : json_pack("{s:s, s:o, s:o, s:o}", "kpi",
                            s->feature_names[j], "low",
                            hs_json_num(s->normal_low[j]), "high",
                            hs_json_num(s->normal_high[j]), "median",
                            hs_json_num(s->normal_median[j])));
    return json_pack("{s:o, s:I, s:f, s:o}", "class",
                     s->normal_class[0] ? json_string(s->normal_class)
                                        : json_null(),
                     "rows", (json_int_t)s->normal_rows, "z", HL_NORMAL_Z,
                     "kpis", kpis);
}

json_t *hs_json_class_names(const hl_class_names *t)
{
    json_t *j = json_object();
    for (size_t i = 0; j && t && i < t->n; i++) {
        const hl_class_info *e = &t->v[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "name", e->name,
                              "description", e->description, "action",
                              e->action);
        if (!o || json_object_set_new(j, e->label, o) != 0) {
            json_decref(j);
            return NULL;
        }
    }
    return j;
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
        (json_int_t)s->created_unix, "params", hs_json_train_params(&s->params),
        "features", hs_json_strings(s->feature_names, s->n_features), "classes",
        hs_json_strings(s->class_names, s->n_classes), "data", data, "training",
        "rounds_done", (json_int_t)s->iterations_done, "best_round",
        (json_int_t)s->best_iteration, "trees", (json_int_t)s->n_trees,
        "train_seconds", s->train_seconds, "curve", curve_json(s),
        "feature_importance", importance_json(s));
    if (!j)
        return NULL;
    json_object_set_new(j, "validation",
                        s->has_validation
                            ? hs_json_metrics(&s->validation, s->class_names)
                            : json_null());
    json_object_set_new(
        j, "oob",
        s->has_oob ? json_pack("{s:I, s:o, s:o}", "rows", (json_int_t)s->oob_rows,
                               "macro_f1", hs_json_num(s->oob_macro_f1),
                               "accuracy", hs_json_num(s->oob_accuracy))
                   : json_null());
    json_object_set_new(j, "members", members_json(s));
    json_object_set_new(j, "leaderboard", leaderboard_json(s));
    json_object_set_new(
        j, "feedback",
        s->rows_weighted
            ? json_pack("{s:I, s:o}", "rows", (json_int_t)s->rows_weighted,
                        "weight", hs_json_num(s->max_row_weight))
            : json_null());
    json_object_set_new(j, "screening", screening_json(s));
    json_object_set_new(j, "families", families_json(s));
    json_object_set_new(j, "normal", normal_json(s));
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

json_t *hs_json_drift_thresholds(void)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:i, s:i, s:i}", "alpha",
                     HL_DRIFT_ALPHA, "psi_moderate", HL_DRIFT_PSI_MODERATE,
                     "psi_severe", HL_DRIFT_PSI_SEVERE, "ks_material",
                     HL_DRIFT_KS_MATERIAL, "min_rows", HL_DRIFT_MIN_ROWS,
                     "psi_bins", HL_DRIFT_PSI_BINS, "quantiles",
                     HL_DRIFT_QUANTILES);
}

static json_t *drift_kpi_json(const hl_drift_kpi *k)
{
    return json_pack("{s:s, s:o, s:o, s:b, s:s, s:b, s:o, s:o, s:o, s:o, s:o}",
                     "kpi", k->name, "psi", hs_json_num(k->psi), "ks",
                     hs_json_num(k->ks), "significant", k->significant,
                     "level", hl_drift_level_name(k->level), "read", k->read,
                     "ks_critical",
                     hs_json_num(k->ks_critical), "chi2", hs_json_num(k->chi2),
                     "chi2_critical", hs_json_num(k->chi2_critical),
                     "missing_reference", hs_json_num(k->missing_reference),
                     "missing_batch", hs_json_num(k->missing_batch));
}

json_t *hs_json_drift(const hl_drift_report *r, size_t max_kpis)
{
    size_t shown = max_kpis && max_kpis < r->n_kpis ? max_kpis : r->n_kpis;
    json_t *kpis = json_array();
    json_t *mix = json_object();
    for (size_t i = 0; i < shown; i++)
        json_array_append_new(kpis, drift_kpi_json(&r->kpis[r->order[i]]));
    for (size_t k = 0; k < r->n_classes; k++)
        json_object_set_new(mix, r->class_names[k],
                            hs_json_num(r->reference_class_mix[k]));
    return json_pack("{s:s, s:{s:s, s:I, s:I}, s:I, s:I, s:I, s:I, s:o, s:o, "
                     "s:o}",
                     "verdict", hl_drift_level_name(r->verdict), "read",
                     "verdict", hl_drift_level_name(r->verdict_read), "kpis",
                     (json_int_t)r->n_read, "significant",
                     (json_int_t)r->n_significant_read, "rows",
                     (json_int_t)r->rows, "reference_rows",
                     (json_int_t)r->reference_rows, "significant",
                     (json_int_t)r->n_significant, "kpis_total",
                     (json_int_t)r->n_kpis, "kpis", kpis,
                     "reference_class_mix", mix, "thresholds",
                     hs_json_drift_thresholds());
}


json_t *hs_json_adapt(const hl_model *m, const hl_adapt_report *r)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    json_t *mix = json_object(), *train_mix = json_object();
    for (size_t k = 0; k < r->n_classes && k < s->n_classes; k++) {
        if (r->applied)
            json_object_set_new(mix, s->class_names[k],
                                hs_json_num(r->batch_mix[k]));
        json_object_set_new(train_mix, s->class_names[k],
                            hs_json_num(r->train_mix[k]));
    }
    return json_pack(
        "{s:b, s:s?, s:s?, s:i, s:i, s:b, s:o, s:o, s:I}", "applied",
        r->applied, "reason", r->applied ? NULL : r->reason, "reason_code",
        r->applied ? NULL : hl_adapt_skip_name(r->skipped), "min_rows", HL_ADAPT_MIN_ROWS,
        "iterations", (int)r->iterations, "converged", r->converged,
        "class_mix", mix, "training_mix", train_mix, "changed",
        (json_int_t)r->changed);
}

/* ---- one sample's explanation ---- */

static json_t *class_contributions(const hl_model *m,
                                   const hl_sample_explanation *e)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    json_t *classes = json_object();
    for (size_t k = 0; classes && k < e->n_classes; k++) {
        const double *c = e->contrib + k * (e->n_features + 1);
        json_t *by_kpi = json_object();
        double score = c[e->n_features];
        for (size_t j = 0; by_kpi && j < e->n_features; j++) {
            json_object_set_new(by_kpi, s->feature_names[j], hs_json_num(c[j]));
            score += c[j];
        }
        json_object_set_new(
            classes, s->class_names[k],
            json_pack("{s:o, s:o, s:o}", "expected",
                      hs_json_num(c[e->n_features]), "score",
                      hs_json_num(score), "contributions", by_kpi));
    }
    return classes;
}

static json_t *normal_range_json(const hl_model *m, size_t kpi)
{
    hl_normal_range r;
    if (hl_model_normal_range(m, kpi, &r, NULL) != HL_OK || !r.rows)
        return json_null();
    return json_pack("{s:o, s:o, s:o}", "low", hs_json_num(r.low), "high",
                     hs_json_num(r.high), "median", hs_json_num(r.median));
}

typedef struct kpi_weight {
    size_t kpi;
    double size; /* |contribution| */
} kpi_weight;

static int by_size(const void *a, const void *b)
{
    const kpi_weight *x = a, *y = b;
    return x->size != y->size ? (x->size < y->size) - (x->size > y->size)
                              : (x->kpi > y->kpi) - (x->kpi < y->kpi);
}

static json_t *kpis_json(const hl_model *m, const hl_sample_explanation *e)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    const double *c = e->contrib + (size_t)e->predicted * (e->n_features + 1);
    kpi_weight *order = malloc((e->n_features + 1) * sizeof *order);
    if (!order)
        return NULL;
    for (size_t j = 0; j < e->n_features; j++)
        order[j] = (kpi_weight){j, fabs(c[j])};
    qsort(order, e->n_features, sizeof *order, by_size);
    json_t *kpis = json_array();
    for (size_t i = 0; kpis && i < e->n_features; i++) {
        size_t j = order[i].kpi;
        json_array_append_new(
            kpis,
            json_pack("{s:s, s:o, s:o, s:b, s:b, s:o, s:o}", "kpi",
                      s->feature_names[j], "value",
                      isnan(e->values[j]) ? json_null()
                                          : hs_json_num(e->values[j]),
                      "z", isnan(e->z[j]) ? json_null() : hs_json_num(e->z[j]),
                      "abnormal", fabs(e->z[j]) > HL_NORMAL_Z, "read",
                      !s->kpi_kept || s->kpi_kept[j], "contribution",
                      hs_json_num(c[j]), "normal", normal_range_json(m, j)));
    }
    free(order);
    return kpis;
}

static json_t *abnormal_json(const hl_model *m, const hl_sample_explanation *e)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    hl_abnormal_kpi *ab = malloc((e->n_features + 1) * sizeof *ab);
    if (!ab)
        return NULL;
    size_t n = hl_model_abnormal_kpis(m, e->values, ab, e->n_features);
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++)
        json_array_append_new(list,
                              json_pack("{s:s, s:o}", "kpi",
                                        s->feature_names[ab[i].kpi], "z",
                                        hs_json_num(ab[i].z)));
    free(ab);
    return list;
}

json_t *hs_json_sample_explanation(const hl_model *m,
                                   const hl_sample_explanation *e,
                                   const char *sample_id)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    json_t *proba = json_object();
    for (size_t k = 0; proba && k < e->n_classes; k++)
        json_object_set_new(proba, s->class_names[k], hs_json_num(e->proba[k]));
    const char *normal = hl_model_normal_class(m);
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o}", "sample_id",
        sample_id, "predicted", s->class_names[e->predicted], "confidence",
        hs_json_num(e->proba[e->predicted]), "probabilities", proba,
        "score_scale",
        e->scale == HL_SCORE_PROBABILITY ? "probability" : "logit",
        "normal_class", normal ? json_string(normal) : json_null(), "classes",
        class_contributions(m, e), "kpis", kpis_json(m, e), "abnormal",
        abnormal_json(m, e));
}

json_t *hs_json_training_overlap(const hl_training_overlap *o)
{
    return json_pack("{s:I, s:I, s:f, s:s}", "rows_checked",
                     (json_int_t)o->rows_checked, "rows_in_training",
                     (json_int_t)o->rows_in_training, "share",
                     o->rows_checked ? (double)o->rows_in_training /
                                           (double)o->rows_checked
                                     : 0.0,
                     "verdict", hl_training_overlap_verdict(o));
}
