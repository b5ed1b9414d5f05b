/* report.c - how metrics and model summaries look, as text and as JSON.
 *
 * One renderer per thing, used by every command, so `train`, `eval`,
 * `predict` and `inspect` print the same metrics the same way. The JSON
 * shapes live in src/service/engine_json.c, shared with the web API.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "domain/engine_json.h"

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

/* "name value" of every parameter in the tables (learner's, then shared;
 * not the run-time ones, nor the round-based ones of a learner without
 * rounds), wrapped under an 8-column indent. */
static void print_params(FILE *out, const hl_train_params *p)
{
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    const hl_learner_info *li = hl_learner_find(p->algo);
    const size_t n_own = li ? li->n_params : 0;
    int col = fprintf(out, "params:");
    for (size_t k = 0; k < n_own + n_shared; k++) {
        const hl_param_spec *spec = k < n_own ? &li->params[k] : &shared[k - n_own];
        if ((spec->flags & HL_PARAM_CLI_ONLY) ||
            (li && !li->iterative && (spec->flags & HL_PARAM_ITERATIVE)))
            continue;
        char value[64], item[160];
        hl_param_format(spec, hl_train_params_value(p, spec), value, sizeof value);
        int n = snprintf(item, sizeof item, "%s %s", spec->name, value);
        if (col > 8 && col + n + 2 > 79) {
            fprintf(out, ",\n        ");
            col = 8;
        } else {
            col += fprintf(out, col > 8 ? ", " : " ");
        }
        col += fprintf(out, "%s", item);
    }
    fputc('\n', out);
}

/* "auto: chose forest; candidates (cross-validated macro-F1, seconds):
 * gbdt 0.8606 (12.1 s), ..." */
static void print_leaderboard(FILE *out, const hl_model_summary *s)
{
    if (!s->n_candidates)
        return;
    fprintf(out, "auto: chose %s; candidates (%u-fold macro-F1, seconds):",
            s->algo, s->cv_folds);
    for (size_t i = 0; i < s->n_candidates; i++) {
        const hl_model_candidate *c = &s->candidates[i];
        if (c->status == HL_CANDIDATE_CHOSEN || c->status == HL_CANDIDATE_TRIED)
            fprintf(out, "%s %s %.4f (%.1f s)", i ? "," : "", c->algo,
                    c->macro_f1, c->seconds);
        else
            fprintf(out, "%s %s %s", i ? "," : "", c->algo,
                    hl_candidate_status_name(c->status));
    }
    fputc('\n', out);
}

/* "members: gbdt 41 % (out-of-fold macro-F1 0.8512), ..." */
static void print_members(FILE *out, const hl_model_summary *s)
{
    if (!s->n_members)
        return;
    fprintf(out, "members (share of the combination, own out-of-fold "
                 "macro-F1):");
    for (size_t i = 0; i < s->n_members; i++)
        fprintf(out, "%s %s %.0f %% (%.4f)", i ? "," : "", s->members[i].algo,
                100.0 * s->members[i].weight, s->members[i].oof_macro_f1);
    fputc('\n', out);
}

/* How many KPIs the screening kept, and the strongest it left out. */
static void print_screening(FILE *out, const hl_model_summary *s)
{
    if (!s->kpi_signal)
        return;
    fprintf(out, "KPI screening: %zu of %zu KPIs kept (class signal >= %g)",
            s->n_kept, s->n_features, s->params.screen_kpis);
    long best = -1;
    for (size_t j = 0; j < s->n_features; j++)
        if (!s->kpi_kept[j] &&
            (best < 0 || s->kpi_signal[j] > s->kpi_signal[best]))
            best = (long)j;
    if (best >= 0)
        fprintf(out, "; the strongest left out: %s (%.4f)",
                s->feature_names[best], s->kpi_signal[best]);
    fputc('\n', out);
}

/* Where the normal ranges come from. */
static void print_normal(FILE *out, const hl_model_summary *s)
{
    if (!s->has_normal)
        return;
    if (s->normal_class[0])
        fprintf(out, "normal ranges: from the %llu rows of class '%s'\n",
                (unsigned long long)s->normal_rows, s->normal_class);
    else
        fprintf(out, "normal ranges: from all %llu training rows (no class "
                     "labelled '%s')\n",
                (unsigned long long)s->normal_rows, s->params.normal_class);
}

/* The KPI families: how many, and their members; none found is said. */
static void print_families(FILE *out, const hl_model_summary *s)
{
    if (!(s->params.families > 0.0))
        return;
    if (!s->kpi_family) {
        fprintf(out, "KPI families: none (no class profiles correlated >= "
                     "%g)\n",
                s->params.families);
        return;
    }
    fprintf(out, "KPI families: %zu (class profiles correlated >= %g):",
            s->n_families, s->params.families);
    for (size_t f = 0; f < s->n_families; f++) {
        fprintf(out, "%s [", f ? "," : "");
        int first = 1;
        for (size_t j = 0; j < s->n_features; j++)
            if (s->kpi_family[j] == (int32_t)f) {
                fprintf(out, "%s%s", first ? "" : " ", s->feature_names[j]);
                first = 0;
            }
        fputc(']', out);
    }
    fputc('\n', out);
}

void cli_print_summary(FILE *out, const hl_model_summary *s)
{
    char when[64] = "?";
    time_t t = (time_t)s->created_unix;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
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
    const hl_learner_info *li = hl_learner_find(s->params.algo);
    if (li && !li->iterative)
        fprintf(out, "training: %zu rows fitted", s->rows_train);
    else if (s->params.refit && s->best_iteration)
        fprintf(out, "training: early stopping on %zu held-out rows chose round "
                     "%zu of %zu; refit on all %zu rows for %zu rounds",
                s->rows_validation, s->best_iteration, s->curve_len,
                s->rows_train, s->iterations_done);
    else {
        fprintf(out, "training: %zu rows fitted, %zu held out; %zu rounds kept",
                s->rows_train, s->rows_validation, s->iterations_done);
        if (s->best_iteration)
            fprintf(out, " (best round %zu of %zu run)", s->best_iteration,
                    s->curve_len);
    }
    if (s->n_trees) /* a learner without trees (mlp) has rounds only */
        fprintf(out, ", %zu trees", s->n_trees);
    fprintf(out, ", %.2f s\n", s->train_seconds);
    print_params(out, &s->params);
    if (s->rows_weighted)
        fprintf(out, "feedback: %zu rows labelled in deployment, each counting "
                     "%g times\n",
                s->rows_weighted, s->max_row_weight);
    print_leaderboard(out, s);
    print_members(out, s);
    print_screening(out, s);
    print_families(out, s);
    print_normal(out, s);
    if (s->has_oob && s->n_members)
        fprintf(out, "out-of-fold (%llu rows, the combiner on its members' "
                     "out-of-fold probabilities): macro-F1 %.4f, accuracy "
                     "%.4f\n",
                (unsigned long long)s->oob_rows, s->oob_macro_f1,
                s->oob_accuracy);
    else if (s->has_oob)
        fprintf(out, "out-of-bag (%llu rows, each scored by the trees that did "
                     "not draw it): macro-F1 %.4f, accuracy %.4f\n",
                (unsigned long long)s->oob_rows, s->oob_macro_f1,
                s->oob_accuracy);
    if (s->has_validation) {
        fprintf(out, "validation (hold-out, %zu rows%s):\n",
                s->validation.n_samples,
                s->params.refit && s->best_iteration
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
    size_t *order = hs_importance_order(s);
    if (order) {
        fprintf(out, "top features by gain:");
        for (size_t i = 0; i < s->n_features && i < 10; i++)
            if (s->importance_gain[order[i]] > 0)
                fprintf(out, " %s", s->feature_names[order[i]]);
        fputc('\n', out);
        free(order);
    }
}

void cli_print_class_names(FILE *out, const hl_model *m)
{
    const hl_class_names *t = hl_model_class_names(m);
    if (!t) {
        fprintf(out, "class names: none (train with --class-names FILE.csv)\n");
        return;
    }
    fprintf(out, "class names (%zu):\n", t->n);
    for (size_t i = 0; i < t->n; i++) {
        const hl_class_info *e = &t->v[i];
        fprintf(out, "  %s: %s\n", e->label, e->name);
        if (e->description[0])
            fprintf(out, "      %s\n", e->description);
        if (e->action[0])
            fprintf(out, "      first action: %s\n", e->action);
    }
}

json_t *cli_json_with_class_names(json_t *j, const hl_model *m)
{
    if (j)
        json_object_set_new(j, "class_names",
                            hs_json_class_names(hl_model_class_names(m)));
    return j;
}
