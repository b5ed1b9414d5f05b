/* report.c - how metrics and model summaries look, as text and as JSON.
 *
 * One renderer per thing, used by every command, so `train`, `eval`,
 * `predict` and `inspect` print the same metrics the same way and scripts
 * can rely on one JSON shape (documented in docs/cli.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* JSON has no NaN: absent values become null. */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

json_t *cli_metrics_json(const hl_metrics *m, char *const *class_names)
{
    json_t *per_class = json_array();
    json_t *confusion = json_array();
    for (size_t k = 0; k < m->n_classes; k++) {
        const hl_class_metrics *c = &m->per_class[k];
        json_array_append_new(
            per_class,
            json_pack("{s:s, s:o, s:o, s:o, s:I, s:I}", "class",
                      class_names[k], "precision", num(c->precision), "recall",
                      num(c->recall), "f1", num(c->f1), "support",
                      (json_int_t)c->support, "predicted",
                      (json_int_t)c->predicted));
        json_t *row = json_array();
        for (size_t j = 0; j < m->n_classes; j++)
            json_array_append_new(
                row, json_integer((json_int_t)m->confusion[k * m->n_classes + j]));
        json_array_append_new(confusion, row);
    }
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "samples",
                     (json_int_t)m->n_samples, "accuracy", num(m->accuracy),
                     "macro_precision", num(m->macro_precision), "macro_recall",
                     num(m->macro_recall), "macro_f1", num(m->macro_f1),
                     "weighted_f1", num(m->weighted_f1), "log_loss",
                     num(m->log_loss), "per_class", per_class, "confusion",
                     confusion);
}

json_t *cli_warnings_json(const hl_warnings *w)
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
        "cv_folds",
        (int)p->cv_folds, "seed", (json_int_t)p->seed, "threads", p->threads);
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
        json_array_append_new(tl, num(s->curve_train_loss[i]));
        json_array_append_new(vl, num(s->curve_valid_loss[i]));
    }
    return json_pack("{s:o, s:o}", "train_loss", tl, "valid_loss", vl);
}

/* Features by decreasing total gain (ties by name order). */
static size_t *importance_order(const hl_model_summary *s)
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
    size_t *order = importance_order(s);
    double total = 0.0;
    for (size_t f = 0; f < s->n_features; f++)
        total += s->importance_gain[f];
    for (size_t i = 0; order && i < s->n_features; i++) {
        size_t f = order[i];
        json_array_append_new(
            a, json_pack("{s:s, s:o, s:o, s:i}", "feature", s->feature_names[f],
                         "gain", num(s->importance_gain[f]), "share",
                         num(total > 0 ? s->importance_gain[f] / total : 0.0),
                         "splits", (int)s->importance_splits[f]));
    }
    free(order);
    return a;
}

json_t *cli_summary_json(const hl_model_summary *s)
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
    json_object_set_new(j, "validation",
                        s->has_validation
                            ? cli_metrics_json(&s->validation, s->class_names)
                            : json_null());
    json_object_set_new(j, "cv",
                        s->cv_folds > 1
                            ? json_pack("{s:i, s:o}", "folds", (int)s->cv_folds,
                                        "metrics",
                                        cli_metrics_json(&s->cv, s->class_names))
                            : json_null());
    return j;
}

int cli_emit_json(json_t *j)
{
    if (!j) {
        fprintf(stderr, "healer: error: out of memory building JSON\n");
        return CLI_RUNTIME;
    }
    int rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    fputc('\n', stdout);
    json_decref(j);
    return rc == 0 ? CLI_OK : CLI_RUNTIME;
}

void cli_print_metrics(FILE *out, const hl_metrics *m,
                       char *const *class_names, const char *indent)
{
    fprintf(out, "%saccuracy %.4f   macro-F1 %.4f   weighted-F1 %.4f", indent,
            m->accuracy, m->macro_f1, m->weighted_f1);
    if (isfinite(m->log_loss))
        fprintf(out, "   log loss %.4f", m->log_loss);
    fprintf(out, "   (%zu rows)\n", m->n_samples);
    fprintf(out, "%s%-16s %9s %9s %9s %9s\n", indent, "class", "precision",
            "recall", "f1", "support");
    for (size_t k = 0; k < m->n_classes; k++) {
        const hl_class_metrics *c = &m->per_class[k];
        fprintf(out, "%s%-16.16s %9.4f %9.4f %9.4f %9zu\n", indent,
                class_names[k], c->precision, c->recall, c->f1, c->support);
    }
    fprintf(out, "%sconfusion (rows: true class, columns: predicted)\n", indent);
    fprintf(out, "%s%-10s", indent, "");
    for (size_t j = 0; j < m->n_classes; j++)
        fprintf(out, " %8.8s", class_names[j]);
    fputc('\n', out);
    for (size_t k = 0; k < m->n_classes; k++) {
        fprintf(out, "%s%-10.10s", indent, class_names[k]);
        for (size_t j = 0; j < m->n_classes; j++)
            fprintf(out, " %8llu",
                    (unsigned long long)m->confusion[k * m->n_classes + j]);
        fputc('\n', out);
    }
}

void cli_print_summary(FILE *out, const hl_model_summary *s)
{
    char when[64] = "?";
    time_t t = (time_t)s->created_unix;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    const hl_train_params *p = &s->params;
    fprintf(out, "model: %s, healer %s, created %s\n", s->algo,
            s->healer_version, when);
    fprintf(out, "data: %zu rows read, %zu skipped (no label), %zu exact "
                 "duplicates (%zu with a conflicting label)\n",
            s->rows_read, s->rows_skipped_no_label, s->duplicate_rows,
            s->conflicting_duplicates);
    fprintf(out, "      %zu features, %zu classes:", s->n_features,
            s->n_classes);
    for (size_t k = 0; k < s->n_classes; k++)
        fprintf(out, " %s=%llu", s->class_names[k],
                (unsigned long long)s->class_counts[k]);
    fputc('\n', out);
    if (s->params.refit && s->best_round)
        fprintf(out, "training: early stopping on %zu held-out rows chose round "
                     "%zu of %zu; refit on all %zu rows for %zu rounds",
                s->rows_validation, s->best_round, s->curve_len, s->rows_train,
                s->rounds_done);
    else {
        fprintf(out, "training: %zu rows fitted, %zu held out; %zu rounds kept",
                s->rows_train, s->rows_validation, s->rounds_done);
        if (s->best_round)
            fprintf(out, " (best round %zu of %zu run)", s->best_round,
                    s->curve_len);
    }
    fprintf(out, ", %zu trees, %.2f s\n", s->n_trees, s->train_seconds);
    fprintf(out, "params: rounds %d, learning rate %g, max depth %d, max "
                 "leaves %d, min child weight %g, lambda %g,\n        "
                 "subsample %g, colsample %g, bins %d, early stopping %d, "
                 "class weight %s, seed %llu\n",
            p->rounds, p->learning_rate, p->max_depth, p->max_leaves,
            p->min_child_weight, p->lambda_l2, p->subsample, p->colsample,
            p->max_bins, p->early_stopping_rounds,
            p->class_weight == HL_CLASS_WEIGHT_BALANCED ? "balanced" : "none",
            (unsigned long long)p->seed);
    if (s->has_validation) {
        fprintf(out, "validation (hold-out, %zu rows%s):\n",
                s->validation.n_samples,
                s->params.refit && s->best_round
                    ? ", scored before the refit"
                    : "");
        cli_print_metrics(out, &s->validation, s->class_names, "  ");
    }
    if (s->cv_folds > 1) {
        fprintf(out, "cross-validation (%u-fold, stratified, duplicates kept "
                     "together, out-of-fold):\n",
                s->cv_folds);
        cli_print_metrics(out, &s->cv, s->class_names, "  ");
    }
    size_t *order = importance_order(s);
    if (order) {
        fprintf(out, "top features by gain:");
        for (size_t i = 0; i < s->n_features && i < 10; i++)
            if (s->importance_gain[order[i]] > 0)
                fprintf(out, " %s", s->feature_names[order[i]]);
        fputc('\n', out);
        free(order);
    }
}
