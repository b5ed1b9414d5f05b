/* domain/feedback.h - people teaching a model: the class an engineer
 * confirms or corrects for rows of a diagnosis, and the rows worth their
 * time first.
 *
 * A model trained on one environment is surest where it is least wrong;
 * a handful of rows labelled in the environment it now diagnoses teaches
 * it most (docs/benchmarks.md, "Learning from deployment labels"). So a
 * diagnosis keeps its input KPIs (diagnoses.h) and, here, the labels
 * given to its rows - as records of the store, with who gave them and
 * when - and the engine's suggestions (hl_suggest_rows) of which rows to
 * label. What retrains on them is the "retrain" job (job_retrain.c).
 *
 * A label is a class of the diagnosis's model, or - asked for explicitly
 * - a new class name (a fault first seen in deployment: retraining makes
 * it a class of the new model). Every function here works on a diagnosis
 * already read under the access rule (hs_diagnoses_get), and refuses a
 * diagnosis kept without its input with HS_ERR_NO_INPUT.
 */
#ifndef HEALER_HS_FEEDBACK_H
#define HEALER_HS_FEEDBACK_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

/* Rows suggested per predicted class when the request does not say; the
 * most is the engine's HL_SUGGEST_MAX_PER_CLASS. */
#define HS_FEEDBACK_SUGGEST_DEFAULT 5
/* Labels one request may set or clear. */
#define HS_FEEDBACK_LABELS_PER_REQUEST 1000
/* Labelled rows a diagnosis may hold, and a retraining may learn from:
 * far beyond what people label by hand, and it bounds the comparison a
 * retrained model keeps of them. */
#define HS_FEEDBACK_ROWS_MAX 5000

/* {"per_class", "classes", "items": [{"row" (1-based), "sample_id",
 * "predicted", "confidence", "margin", "label" (given so far, or null)}]}:
 * up to per_class rows per predicted class, the least certain and least
 * alike first (hl_suggest_rows over the stored input and probabilities).
 * HS_ERR_MALFORMED (field "per_class") outside 1..HL_SUGGEST_MAX_PER_CLASS;
 * HS_ERR_CONFLICT when the diagnosis's model was deleted. */
hs_status hs_feedback_suggest(hs_app *app, const hs_diagnosis_rec *rec,
                              size_t per_class, json_t **out, hs_error *err);

/* The labels of the diagnosis, by row: {"items": [{"row", "sample_id",
 * "label", "predicted", "confidence", "agrees", "labelled_by": {"id",
 * "username"}|null, "labelled_at"}] (rows [offset, offset + limit)),
 * "total", "offset", "limit", "class_counts", "confirmed", "corrected",
 * "classes", "new_classes"}. */
hs_status hs_feedback_labels(hs_app *app, const hs_diagnosis_rec *rec,
                             const hs_user *viewer, size_t offset,
                             size_t limit, json_t **out, hs_error *err);

/* Applies {"labels": [{"row", "label": "class"|null, "new_class"}]} as the
 * viewer, now, all or nothing, and answers as hs_feedback_labels does
 * (first page). Refusals name their field ("labels[2].label"): a missing
 * or mistyped one is HS_ERR_MALFORMED; an empty list, more than
 * HS_FEEDBACK_LABELS_PER_REQUEST items, a row out of range or given
 * twice, a label that is not a class of the model (without "new_class":
 * true), or more than HS_FEEDBACK_ROWS_MAX labelled rows in the end, is
 * HS_ERR_INVALID. */
hs_status hs_feedback_put_labels(hs_app *app, const hs_diagnosis_rec *rec,
                                 const hs_user *viewer, const json_t *body,
                                 json_t **out, hs_error *err);

#endif
