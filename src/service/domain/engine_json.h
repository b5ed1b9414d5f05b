/* engine_json.h - JSON views of engine objects: metrics, model summaries,
 * dataset profiles, warnings.
 *
 * The CLI's --json reports and the web API return the same shapes (see
 * docs/cli.md and docs/api.md), so they are rendered in one place. Every
 * function returns a new reference (json_decref it) or NULL when out of
 * memory; NaN and infinities become JSON null, since JSON has no NaN.
 */
#ifndef HEALER_HS_ENGINE_JSON_H
#define HEALER_HS_ENGINE_JSON_H

#include <jansson.h>

#include "healer/healer.h"

/* A number, or null when not finite. */
json_t *hs_json_num(double v);

/* An array of the n strings (class names, feature names, ...). */
json_t *hs_json_strings(char *const *names, size_t n);

/* {samples, accuracy, macro_*, weighted_f1, log_loss, per_class[], confusion}. */
json_t *hs_json_metrics(const hl_metrics *m, char *const *class_names);

/* Training parameters as {"algo": NAME, <learner's parameters>, <shared
 * options>}, every value as its table types it (choices by name). */
json_t *hs_json_train_params(const hl_train_params *p);

/* One attempt of a self-repairing training (healer/repair.h): {"number",
 * "step" ("requested", "other_learner", "safer_parameters"), "algo",
 * "outcome" ("succeeded", "failed", "degenerate", "cancelled"), "reason"
 * (why it did not succeed; null when it did), "seconds", "params" (as
 * hs_json_train_params)}. The API's attempts of a job have this shape. */
json_t *hs_json_train_attempt(const hl_train_attempt *a);

/* The attempts made, in order: an array of hs_json_train_attempt. */
json_t *hs_json_train_attempts(const hl_train_attempts *attempts);

/* The learners and their parameters, generated from the tables, as
 * GET /api/v1/algorithms answers: {"items": [{"name", "params": [{"name",
 * "type", "default", "min", "max", "help"[, "choices"]}]}]} with each
 * learner's own parameters followed by the shared options the web API
 * offers (not the CLI-only ones). */
json_t *hs_json_algorithms(void);

/* Class names (healer/classnames.h) as the API's MODEL.class_names:
 * {"LABEL": {"name", "description", "action"}, ...}; {} for NULL. */
json_t *hs_json_class_names(const hl_class_names *t);

/* The whole model summary, as `healer inspect --json` prints it. */
json_t *hs_json_summary(const hl_model_summary *s);

/* A dataset profile; `preview_rows` > 0 adds the first rows of ds as
 * {"columns": [...], "rows": [[...]]}. */
json_t *hs_json_profile(const hl_dataset *ds, const hl_dataset_profile *p,
                        size_t preview_rows);

/* One sample's explanation (healer/explain.h): {"sample_id", "predicted",
 * "confidence", "probabilities": {class: p}, "score_scale": "logit" |
 * "probability", "normal_class": label | null, "classes": {class:
 * {"expected", "score", "contributions": {kpi: c}}}, "kpis": [{"kpi",
 * "value" | null, "z" | null, "abnormal", "read", "contribution" (towards
 * the predicted class), "normal": {"low", "high", "median"} | null}]
 * largest |contribution| first, "abnormal": [{"kpi", "z"}] farthest
 * first}. `healer explain --json` prints it; the API's sample view uses
 * it. */
json_t *hs_json_sample_explanation(const hl_model *m,
                                   const hl_sample_explanation *e,
                                   const char *sample_id);

/* The rules of drift checks, from healer/drift.h: {"alpha",
 * "psi_moderate", "psi_severe", "ks_material", "min_rows", "psi_bins",
 * "quantiles"}. */
json_t *hs_json_drift_thresholds(void);

/* A drift report: {"verdict", "read": {"verdict", "kpis", "significant"}
 * (the same over the KPIs the model reads), "rows", "reference_rows",
 * "significant" (how many KPIs), "kpis_total", "kpis": [...],
 * "reference_class_mix": {class: share}, "thresholds"}, "kpis" holding
 * the first max_kpis of r->order (worst first; 0 = every KPI), each
 * {"kpi", "psi", "ks", "significant", "level", "read", "ks_critical",
 * "chi2", "chi2_critical", "missing_reference", "missing_batch"}. `healer drift --json` prints it
 * whole; the web API shows the KPIs that matter (diagnoses.c). */
json_t *hs_json_drift(const hl_drift_report *r, size_t max_kpis);

/* What hl_adapt_batch did to a batch predicted by m:
 * {"applied", "reason" (why not, as the engine says it; null when
 * applied), "reason_code" (hl_adapt_skip_name: "too_few_rows" |
 * "not_calibrated" | "drifted"; null when applied), "min_rows", "iterations", "converged", "class_mix":
 * {class: share} (the batch's estimated mix; {} when not applied),
 * "training_mix": {class: share} (the mix m's probabilities assume),
 * "changed" (rows whose predicted class changed)}. `healer predict
 * --adapt --json` and the diagnoses of the web API print the same. */
json_t *hs_json_adapt(const hl_model *m, const hl_adapt_report *r);

/* A batch's training overlap (healer/overlap.h) as the CLI's --json and
 * a DIAGNOSIS show it: {rows_checked, rows_in_training, share, verdict}. */
json_t *hs_json_training_overlap(const hl_training_overlap *o);

/* An array of the warning texts (w may be NULL: empty array). */
json_t *hs_json_warnings(const hl_warnings *w);

/* Feature indices by decreasing total gain, ties in feature order;
 * malloc'ed (caller frees), NULL when out of memory. */
size_t *hs_importance_order(const hl_model_summary *s);

#endif
