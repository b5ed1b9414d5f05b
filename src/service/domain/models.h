/* models.h - the models service: storing trained models, and a cache of
 * loaded ones so that diagnoses do not re-read model files.
 *
 * Models are immutable once stored, so a loaded hl_model can be shared by
 * every request and job that diagnoses with it. The cache hands out
 * reference-counted handles: a model deleted or evicted while a diagnosis
 * uses it stays alive until that diagnosis releases it.
 */
#ifndef HEALER_HS_MODELS_H
#define HEALER_HS_MODELS_H

#include <jansson.h>

#include "base/app.h"
#include "base/error.h"
#include "healer/healer.h"
#include "store/records.h"

typedef struct hs_model_cache hs_model_cache;
typedef struct hs_model_ref hs_model_ref;

/* A cache that keeps up to `capacity` loaded models (least recently used
 * out first). */
hs_status hs_model_cache_new(size_t capacity, hs_model_cache **out,
                             hs_error *err);
/* Frees the cache; every handle must have been released. */
void hs_model_cache_free(hs_model_cache *c);

/* What a retrained model learnt beyond its dataset: the model it
 * retrains and the feedback (JSON object, see job_retrain.c). */
typedef struct hs_model_lineage {
    hs_id parent_id;
    const json_t *feedback;
} hs_model_lineage;

/* Serialises m into the blob store and records it (name, owner, the
 * dataset and job it came from, its lineage when retrained - NULL for
 * none -, summary JSON, best quality estimate). *out receives the record
 * (release with hs_model_rec_free). */
hs_status hs_models_save(hs_app *app, hs_id owner_id, const char *name,
                         hs_id dataset_id, hs_id job_id, const hl_model *m,
                         const hs_model_lineage *lineage, hs_model_rec *out,
                         hs_error *err);

/* The quality figure lists show for a model summary - cross-validation
 * when it ran, else the early-stopping hold-out, else the learner's own
 * out-of-bag estimate - in *f1 and *acc (NAN without any); returns its
 * source ("cv", "validation", "oob") or NULL. */
const char *hs_models_estimate(const hl_model_summary *s, double *f1,
                               double *acc);

/* HS_ERR_NOTFOUND "model N is in the trash; restore it to use it" when rec
 * is in the trash, else HS_OK: what nothing may use a trashed model for
 * (diagnoses, retraining) says so. */
hs_status hs_models_check_live(const hs_model_rec *rec, hs_error *err);

/* Looks model `id` up under the access rule and returns a handle to the
 * loaded model (from the cache, or read and validated now). A model in
 * the trash is HS_ERR_NOTFOUND "model N is in the trash; ...": nothing
 * diagnoses or retrains with it until it is restored. rec_out (may
 * be NULL) receives the record (release with hs_model_rec_free). */
hs_status hs_models_acquire(hs_app *app, hs_id id, const hs_user *viewer,
                            hs_model_ref **ref_out, hs_model_rec *rec_out,
                            hs_error *err);
const hl_model *hs_model_ref_get(const hs_model_ref *ref);
void hs_models_release(hs_app *app, hs_model_ref *ref);

/* Model `id` under the access rule (release with hs_model_rec_free). */
hs_status hs_models_get(hs_app *app, hs_id id, const hs_user *viewer,
                        hs_model_rec *out, hs_error *err);

/* The models viewer may see, newest first; trashed ones only when
 * include_deleted (release with hs_model_list_free). */
hs_status hs_models_list(hs_app *app, const hs_user *viewer,
                         int include_deleted, hs_model_rec **items, size_t *n,
                         hs_error *err);

/* Replaces the names, descriptions and first actions of model `id`'s
 * classes with class_names (the API's object; {} removes them all) under
 * the access rule (owner or admin; another user's model is
 * HS_ERR_NOTFOUND), checked as `healer train --class-names` checks a file
 * and against the model's classes (class_names.h: each refusal names its
 * field, "class_names.LABEL.name"); a model in the trash is
 * HS_ERR_NOTFOUND as for any use until restored. They are kept in the record, not the
 * model file (which stays as stored, shared by the cache): MODEL and
 * DIAGNOSIS views and downloads read them from there. *out receives the
 * updated record (release with hs_model_rec_free). */
hs_status hs_models_set_class_names(hs_app *app, hs_id id,
                                    const hs_user *viewer,
                                    const json_t *class_names,
                                    hs_model_rec *out, hs_error *err);

/* The model file of rec as a download gives it: when the record's class
 * names were set (class_names_json), the stored file rewritten to carry
 * them (*bytes malloc'ed, *len bytes); else *bytes NULL - the stored blob
 * is the file. */
hs_status hs_models_file(hs_app *app, const hs_model_rec *rec,
                         uint8_t **bytes, size_t *len, hs_error *err);

/* Deletes model `id` for good, at once (record, cache entry, then file):
 * a result its job made after losing its lease. A user's delete is
 * hs_models_trash. */
hs_status hs_models_delete(hs_app *app, hs_id id, const hs_user *viewer,
                           hs_error *err);

/* A user's delete and its undo, by the trash rule (trash.h) under the
 * access rule: the model leaves the cache and answers "in the trash" to
 * hs_models_acquire while there; diagnoses and jobs made with it keep its
 * id. Restoring after 7 days is HS_ERR_CONFLICT. *out gets the record
 * after the change (release with hs_model_rec_free). client: the
 * caller's address, for the audit log (NULL = unknown). */
hs_status hs_models_trash(hs_app *app, hs_id id, const hs_user *viewer,
                          const char *client, hs_model_rec *out, hs_error *err);
hs_status hs_models_restore(hs_app *app, hs_id id, const hs_user *viewer,
                            const char *client, hs_model_rec *out,
                            hs_error *err);

/* Deletes for good the models trashed more than 7 days ago (what referred
 * to them is cleared, as hs_models_delete does), then their files.
 * *purged (may be NULL) gets how many. */
hs_status hs_models_purge(hs_app *app, size_t *purged, hs_error *err);

#endif
