/* domain/diagnoses.h - the diagnoses service: running a model over
 * samples, and keeping, paging and exporting the results.
 *
 * Samples come either as a CSV (parsed by the engine, errors with line and
 * column) or as JSON rows ({"feature0": 1.2, ...}), which are turned into
 * an hl_dataset here so that both take one path from then on: predict,
 * map true labels when there are some, score, project to 2-D.
 *
 * The per-row results are stored in the paged format of results.h (one
 * blob per diagnosis), the diagnosed KPI values as the engine's CSV (a
 * second blob: what labelled rows are trained on); the record keeps only
 * the summary (counts, metrics, warnings). Pages, the scatter and exports read the blob, never all of
 * it unless an export asks for all of it.
 */
#ifndef HEALER_HS_DIAGNOSES_H
#define HEALER_HS_DIAGNOSES_H

#include <jansson.h>
#include <stdio.h>

#include "base/app.h"
#include "base/error.h"
#include "domain/diag_explain.h"
#include "domain/models.h"
#include "domain/results.h"
#include "healer/healer.h"
#include "store/records.h"

/* The most rows an explained export (?explain=N) of a model that explains
 * rows at a whole TreeSHAP's cost (a forest, extra-trees or a stack: tens
 * of milliseconds a row, hl_model_explains_rows_cheaply) may hold: about
 * half a minute of one request; filter the rows, or use a GBDT, beyond. */
#define HS_DIAG_EXPLAIN_COSTLY_ROWS 1000

/* The outcome of one diagnosis run. Release with hs_diag_result_free. */
typedef struct hs_diag_result {
    hs_results_data rows; /* views of the arrays below */
    json_t *summary;      /* {classes, class_counts, metrics, unknown_labels,
                             drift, drift_skipped, adapt, warnings,
                             explained, explained_rows, explain_skipped,
                             abnormal_checked,
                             abnormal_kpis, training_overlap} */
    char **class_names;   /* owned */
    char **sample_ids;    /* owned, NULL without ids */
    double *proba;
    int32_t *predicted;
    int32_t *labels;      /* NULL without labels */
    double *xy;           /* NULL without a projection */
    hs_diag_explained explained; /* the rows' explanations (diag_explain.h) */
} hs_diag_result;

void hs_diag_result_free(hs_diag_result *r);

/* Turns JSON rows into a dataset over the model's features: each row an
 * object of KPI -> number (null = missing), optional "sample_id" (string or
 * number) and "label". HS_ERR_INVALID with *details (row, column, ...) for
 * a row that is not an object, a value that is not a number, rows with
 * none of the model's KPIs, or no rows at all. A KPI of the model that a
 * row leaves out is a missing value there, and one warning in *warn names
 * every KPI left out; extra keys are reported in *warn too. Caller frees
 * *out with hl_dataset_free. */
hs_status hs_diag_rows_to_dataset(const hl_model *m, const json_t *rows,
                                  hl_dataset **out, json_t **details,
                                  hl_warnings *warn, hs_error *err);

/* The index of `label` in ds's class table, added at the end when new
 * (a dataset built by hand: JSON rows, labelled rows); -1 when out of
 * memory. */
int32_t hs_diag_class_index(hl_dataset *ds, const char *label);

/* HS_ERR_INVALID with *details {"column": name} when ds lacks a KPI the
 * model needs (checked before a diagnosis is queued, so the user hears of
 * it at once). */
hs_status hs_diag_check_columns(const hl_model *m, const hl_dataset *ds,
                                json_t **details, hs_error *err);

/* Runs the model over ds. Columns are matched by name; a missing KPI is
 * HS_ERR_INVALID naming it. warn (may be NULL) holds earlier warnings to
 * report along (it is emptied). A batch of HL_DRIFT_MIN_ROWS rows or more
 * is checked for drift: the summary's "drift" is the report with every
 * significant KPI and the worst others up to ten (at most 100); else it is
 * null and "drift_skipped" says why ({reason, min_rows, message}).
 * With adapt, the probabilities are corrected for the batch's class mix
 * (hl_adapt_batch) before anything else reads them - the predictions,
 * metrics and stored rows are the corrected ones - and the summary's
 * "adapt" is the report (hs_json_adapt; a batch the engine leaves alone
 * says why there); without, "adapt" is null. The rows are then explained
 * (hs_diag_explain, towards their stored predictions, within
 * explain_budget_ms; progress may be NULL) and the summary gets what
 * diag_explain.h's status says. */
hs_status hs_diag_run(const hl_model *m, const hl_dataset *ds, int adapt,
                      unsigned explain_budget_ms,
                      const hs_diag_progress *progress, hl_warnings *warn,
                      hs_diag_result *out, hs_error *err);

/* Stores a result: the rows blob, the input blob (input's values of m's
 * KPIs, so that its rows can be labelled and trained on later), then the
 * record (name, owner, model, job). *out receives the record (release
 * with hs_diagnosis_rec_free). */
hs_status hs_diagnoses_store(hs_app *app, hs_id owner_id, hs_id model_id,
                             hs_id job_id, const char *name,
                             const hs_diag_result *r, const hl_model *m,
                             const hl_dataset *input, hs_diagnosis_rec *out,
                             hs_error *err);

/* The stored input of a diagnosis: its rows' values of its model's KPIs
 * (in the model's order) and sample ids, without labels (caller frees
 * with hl_dataset_free). HS_ERR_NO_INPUT for a diagnosis kept without
 * one (made before diagnoses kept it), saying so. */
hs_status hs_diagnoses_input(hs_app *app, const hs_diagnosis_rec *rec,
                             hl_dataset **out, hs_error *err);

/* A stored diagnosis's input (hs_diagnoses_input) and its model, taken
 * from the cache under its owner (the diagnosis was read under the access
 * rule; its model is its): *ds to hl_dataset_free, *ref to
 * hs_models_release, both NULL on failure. A deleted model is
 * HS_ERR_CONFLICT "the model of diagnosis N was deleted: " + cannot (what
 * the caller then cannot do). */
hs_status hs_diagnoses_open(hs_app *app, const hs_diagnosis_rec *rec,
                            const char *cannot, hl_dataset **ds,
                            hs_model_ref **ref, hs_error *err);

/* Row `row` (1-based) of a stored diagnosis opened as one sample: the
 * explanation of hs_json_sample_explanation (the model's own prediction)
 * plus "row", the stored "label" (the sample's true class when the batch
 * had one, else null) and "result", the row as the diagnosis stored it
 * (its prediction corrected for the batch's class mix when it asked).
 * HS_ERR_NOTFOUND for a row outside the diagnosis; HS_ERR_NO_INPUT for a
 * diagnosis stored without its input; HS_ERR_CONFLICT when its model was
 * deleted or cannot explain (an MLP). */
hs_status hs_diagnoses_sample(hs_app *app, const hs_diagnosis_rec *rec,
                              size_t row, json_t **out, hs_error *err);

/* Rows [from, from + count) of d (clipped to what d holds) as API items
 * {row, sample_id, predicted, confidence, probabilities{}, label, top[],
 * abnormal[]}. */
json_t *hs_diag_items(const hs_results_data *d, size_t from, size_t count);

/* Diagnosis `id` under the access rule (release with
 * hs_diagnosis_rec_free). */
hs_status hs_diagnoses_get(hs_app *app, hs_id id, const hs_user *viewer,
                           hs_diagnosis_rec *out, hs_error *err);

/* The diagnoses viewer may see, newest first; trashed ones only when
 * include_deleted (release with hs_diagnosis_list_free). */
hs_status hs_diagnoses_list(hs_app *app, const hs_user *viewer,
                            int include_deleted, hs_diagnosis_rec **items,
                            size_t *n, hs_error *err);

/* Deletes diagnosis `id` for good, at once, under the access rule: the
 * record, then its results and input (a result its job made after losing
 * its lease). A user's delete is hs_diagnoses_trash. */
hs_status hs_diagnoses_delete(hs_app *app, hs_id id, const hs_user *viewer,
                              hs_error *err);

/* HS_ERR_NOTFOUND "diagnosis N is in the trash; restore it to ..." (the
 * field `field`, may be NULL) when rec is in the trash, else HS_OK: what
 * a trashed diagnosis refuses (labels, retraining) says so. */
hs_status hs_diagnoses_check_live(const hs_diagnosis_rec *rec,
                                  const char *field, hs_error *err);

/* A user's delete and its undo, by the trash rule (trash.h) under the
 * access rule: a trashed diagnosis can still be read (results, samples,
 * export) but takes no labels and teaches no retraining until restored.
 * Restoring after 7 days is HS_ERR_CONFLICT. *out gets the record after
 * the change (release with hs_diagnosis_rec_free). client: the caller's
 * address, for the audit log (NULL = unknown). */
hs_status hs_diagnoses_trash(hs_app *app, hs_id id, const hs_user *viewer,
                             const char *client, hs_diagnosis_rec *out,
                             hs_error *err);
hs_status hs_diagnoses_restore(hs_app *app, hs_id id, const hs_user *viewer,
                               const char *client, hs_diagnosis_rec *out,
                               hs_error *err);

/* Deletes for good the diagnoses trashed more than 7 days ago, then their
 * results and inputs. *blobs (may be NULL) gets how many blobs went. */
hs_status hs_diagnoses_purge(hs_app *app, size_t *blobs, hs_error *err);

/* A client's filter of a diagnosis's rows, as the query gave it (NULL or
 * "": no condition): the predicted class's name, the highest confidence
 * kept (a number in [0, 1]), a KPI the row has outside its normal range. */
typedef struct hs_diag_query {
    const char *predicted, *max_confidence, *abnormal;
} hs_diag_query;

/* 1 when q sets a condition (a value that is not empty). */
int hs_diag_query_filters(const hs_diag_query *q);

/* The filter q asks for over r's classes and KPIs. HS_ERR_INVALID naming
 * the field ("predicted", "max_confidence", "abnormal") for an unknown
 * class, a confidence that is not a number in [0, 1], an unknown KPI, or
 * abnormal= on results without a normal-range check. */
hs_status hs_diagnoses_filter(hs_results *r, const hs_diag_query *q,
                              hs_results_filter *out, hs_error *err);

/* Rows [offset, offset + limit) of a stored diagnosis as API items, among
 * the rows q keeps (q NULL: all), and the number of those rows in
 * *total; *filtered is set when q asked for a condition. Without a
 * filter it reads only those rows; with one it scans the row records
 * (and the explanations for abnormal=) of the whole diagnosis. Errors as
 * hs_diagnoses_filter. */
hs_status hs_diagnoses_page(hs_app *app, const hs_diagnosis_rec *rec,
                            const hs_diag_query *q, size_t offset,
                            size_t limit, json_t **items, size_t *total,
                            int *filtered, hs_error *err);

/* The scatter of the samples in their first two principal components:
 * {total, sampled, shown, explained_variance, classes, columns, points:
 * [[row, x, y, predicted class index, confidence], ...]}, at most max_points of them
 * (evenly spaced rows; 0 = all). */
hs_status hs_diagnoses_projection(hs_app *app, const hs_diagnosis_rec *rec,
                                  size_t max_points, json_t **out,
                                  hs_error *err);

/* Opens the stored results of a diagnosis for reading (results.h; close
 * with hs_results_close); results in the old JSON form are stored again
 * in the paged one on the way. */
hs_status hs_diagnoses_open_results(hs_app *app, const hs_diagnosis_rec *rec,
                                    hs_results **out, hs_error *err);

/* Writes the rows of a stored diagnosis that q keeps (NULL: all) to f, as
 * the predictions CSV of `healer predict` (format "csv") or as a JSON
 * array of API items ("json"), a chunk at a time. With explain > 0 (CSV
 * only, 1..HL_EXPLAIN_MAX_TOP) the CSV is `healer predict --explain N`'s
 * (hl_predictions_write_explained_rows over the stored input and the
 * stored probabilities): HS_ERR_NO_INPUT without a stored input,
 * HS_ERR_CONFLICT when the model was deleted or cannot explain. Errors
 * of q as hs_diagnoses_filter. */
hs_status hs_diagnoses_export(hs_app *app, const hs_diagnosis_rec *rec,
                              const char *format, const hs_diag_query *q,
                              size_t explain, FILE *f, hs_error *err);

#endif
