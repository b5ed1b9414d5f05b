/* domain/leaderboard.h - the user's models scored side by side on one
 * labelled dataset (POST /api/v1/models/leaderboard).
 *
 * The dataset is read once; each model predicts it through the model cache
 * and is scored by the engine's metrics against the dataset's labels, so
 * the figures are comparable: same rows, same labels. A model that cannot
 * read the dataset (a KPI it needs is missing, or none of the labels is
 * one of its classes) is listed as not applicable, with why. Each model's
 * own out-of-sample estimate (cross-validation, hold-out or out-of-bag)
 * stands beside it, and a model trained on that very dataset is flagged
 * (in-sample: its score there flatters it).
 *
 * Bounded, because it answers in the request: at most
 * HS_LEADERBOARD_MAX_MODELS models and a dataset of at most
 * HS_LEADERBOARD_MAX_ROWS rows; a larger dataset is refused with the
 * limit and what to do (score a labelled sample of it).
 */
#ifndef HEALER_HS_LEADERBOARD_H
#define HEALER_HS_LEADERBOARD_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

/* The most models one leaderboard scores (the newest when there are more;
 * the answer says it was cut). */
#define HS_LEADERBOARD_MAX_MODELS 12
/* The largest dataset it scores, in rows: 12 models x 50,000 rows is a few
 * seconds of prediction on one core. */
#define HS_LEADERBOARD_MAX_ROWS 50000

/* Scores the viewer's models - model_ids (n_ids of them; each must be
 * visible to the viewer, else HS_ERR_NOTFOUND naming it) or, when n_ids
 * is 0, every model the viewer owns - on dataset dataset_id (visible,
 * live, labelled, at most HS_LEADERBOARD_MAX_ROWS rows: else
 * HS_ERR_NOTFOUND or HS_ERR_INVALID with field "dataset_id"). More than
 * HS_LEADERBOARD_MAX_MODELS ids is HS_ERR_INVALID ("model_ids"). *out is
 * the answer of docs/api.md (a new reference). */
hs_status hs_leaderboard(hs_app *app, const hs_user *viewer, hs_id dataset_id,
                         const hs_id *model_ids, size_t n_ids, json_t **out,
                         hs_error *err);

#endif
