/* domain/job_train.h - what the job types that train a model share: the
 * "train" job (job_train.c, a dataset in), the "retrain" job
 * (job_retrain.c, a model and people's labels in) and the "pipeline" job
 * (job_pipeline.c, a training then a diagnosis).
 *
 * Both read a stored, labelled dataset the same way and train through the
 * engine's self-repair with the same progress, attempt records and
 * failure notice, so a retraining shows on the job page exactly as a
 * training does.
 */
#ifndef HEALER_HS_JOB_TRAIN_H
#define HEALER_HS_JOB_TRAIN_H

#include "domain/job_types.h"
#include "healer/healer.h"

/* Submission: dataset `id` must be viewer's to see (HS_ERR_NOTFOUND, also
 * when it is in the trash) and labelled with at least two classes
 * (hs_dataset_label_state; HS_ERR_INVALID, field "dataset_id", saying
 * which of these it is not); its name goes to name[cap]. */
hs_status hs_train_check_dataset(hs_app *app, const hs_user *viewer, hs_id id,
                                 char *name, size_t cap, hs_error *err);

/* Dataset dataset_id as the job's owner may read it (record in *rec,
 * release with hs_dataset_rec_free), parsed with its labels required (a
 * row without one is skipped). HS_ERR_NOTFOUND when it is gone. */
hs_status hs_train_load_dataset(hs_job_run *run, hs_id dataset_id,
                                hs_dataset_rec *rec, hl_dataset **ds,
                                hs_error *err);

/* Trains ds with p through the engine's self-repair, reporting progress
 * and recording each attempt through run; *model is the healthy model
 * (hl_model_free) or NULL, and o says how the run ended (succeeded,
 * cancelled, or failed with the admins' "training_failed" notice). */
void hs_train_fit(hs_job_run *run, const hl_dataset *ds,
                  const hl_train_params *p, hl_model **model,
                  hs_job_outcome *o);

/* Stores the model a training made (model may be NULL: nothing to do) as
 * run's job's, named after the job, trained on dataset_id; takes model
 * (freed). Returns its id, or 0 with o failed ("storing the model: ..."). */
hs_id hs_train_store_model(hs_job_run *run, hs_id dataset_id, hl_model *model,
                           hs_job_outcome *o);

#endif
