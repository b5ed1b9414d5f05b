/* domain/feedback_rows.h - the rows people labelled in diagnoses, gathered
 * as one labelled dataset to train on, and two models compared on them.
 *
 * A retraining (job_retrain.c) appends these rows, weighted up, to the
 * model's own training data (hl_dataset_append), then shows the new model
 * beside the old one on exactly these rows. Apart from the job so that
 * the gathering rules (which rows, over which KPIs) and the comparison's
 * arithmetic each live in one place.
 */
#ifndef HEALER_HS_FEEDBACK_ROWS_H
#define HEALER_HS_FEEDBACK_ROWS_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "healer/healer.h"
#include "store/records.h"

/* Labelled rows and where each came from. */
typedef struct hs_feedback_rows {
    hl_dataset *data;     /* the rows over a model's KPIs, with their labels */
    hs_id *diagnosis_id;  /* data->n_rows: the diagnosis of each row */
    int64_t *row;         /* data->n_rows: its row there, 0-based */
} hs_feedback_rows;

void hs_feedback_rows_free(hs_feedback_rows *f);

/* The rule on how many labelled rows a retraining takes: at least one
 * (else HS_ERR_INVALID "no row ... is labelled"), at most
 * HS_FEEDBACK_ROWS_MAX; refusals name "feedback.diagnosis_ids". */
hs_status hs_feedback_rows_check_count(size_t labelled, size_t n_diagnoses,
                                       hs_error *err);

/* Gathers the labelled rows of diagnoses ids[0..n), as viewer may see
 * them, over m's KPIs (in m's order, matched by name), in the order of
 * ids then rows; sample ids are the inputs' (or "dN:rR"). Refusals say
 * which diagnosis, with field "feedback.diagnosis_ids": HS_ERR_NOTFOUND
 * (absent or not the viewer's), HS_ERR_NO_INPUT (kept without its input),
 * HS_ERR_INVALID when a diagnosis lacks a KPI of m, or when the count of
 * rows breaks hs_feedback_rows_check_count. */
hs_status hs_feedback_rows_collect(hs_app *app, const hs_user *viewer,
                                   const hl_model *m, const hs_id *ids,
                                   size_t n, hs_feedback_rows *out,
                                   hs_error *err);

/* The old and the new model on the labelled rows: {"in_sample": true,
 * "columns": ["diagnosis_id", "row", "sample_id", "label", "old", "new"],
 * "rows": [[...], ...] (row 1-based), "old" and "new": {"accuracy",
 * "macro_f1", "correct"}, "per_class": [{"class", "labelled", "old_f1",
 * "new_f1"}], "fixed", "broken", "changed", "estimates": {"old", "new":
 * {"source", "macro_f1", "accuracy"}}}. The macro-F1 averages over the
 * classes that the labels or either model's predictions name (the same
 * classes for both models). NULL and err on failure. */
json_t *hs_feedback_compare(const hl_model *old_m, const hl_model *new_m,
                            const hs_feedback_rows *rows, hs_error *err);

#endif
