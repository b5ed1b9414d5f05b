/* models.c - storing models and the loaded-model cache (see models.h).
 *
 * The cache is a small array searched linearly: it holds a handful of
 * models, and a lookup is nothing next to a prediction. Each entry is a
 * heap-allocated hs_model_ref whose count includes one reference held by
 * the cache itself; eviction and deletion drop that one, the last release
 * frees the model. Loading happens outside the lock (it reads a file), so
 * two requests may load the same model at once; the second to finish
 * uses the first one's entry and drops its own copy.
 */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/class_names.h"
#include "domain/engine_json.h"
#include "domain/models.h"
#include "domain/notifications.h"
#include "domain/sealed.h"
#include "domain/trash.h"
#include "store/store.h"

struct hs_model_ref {
    hs_id id;
    hl_model *model;
    int refs;           /* guarded by the cache lock */
    uint64_t last_used; /* guarded by the cache lock */
};

struct hs_model_cache {
    pthread_mutex_t lock;
    hs_model_ref **slots; /* capacity entries, NULL = free */
    size_t capacity;
    uint64_t clock;
};

hs_status hs_model_cache_new(size_t capacity, hs_model_cache **out,
                             hs_error *err)
{
    hs_model_cache *c = calloc(1, sizeof *c);
    if (c)
        c->slots = calloc(capacity ? capacity : 1, sizeof *c->slots);
    if (!c || !c->slots) {
        free(c);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    c->capacity = capacity ? capacity : 1;
    pthread_mutex_init(&c->lock, NULL);
    *out = c;
    return HS_OK;
}

static void unref_locked(hs_model_ref *r)
{
    if (--r->refs == 0) {
        hl_model_free(r->model);
        free(r);
    }
}

void hs_model_cache_free(hs_model_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->capacity; i++)
        if (c->slots[i])
            unref_locked(c->slots[i]);
    pthread_mutex_destroy(&c->lock);
    free(c->slots);
    free(c);
}

const char *hs_models_estimate(const hl_model_summary *s, double *f1,
                               double *acc)
{
    const hl_metrics *m = s->cv_folds > 1 ? &s->cv
                          : s->has_validation ? &s->validation
                                              : NULL;
    *f1 = m ? m->macro_f1 : s->has_oob ? s->oob_macro_f1 : NAN;
    *acc = m ? m->accuracy : s->has_oob ? s->oob_accuracy : NAN;
    return s->cv_folds > 1      ? "cv"
           : s->has_validation ? "validation"
           : s->has_oob        ? "oob"
                               : NULL;
}

/* Stores m with its summary and feedback sealed; m keeps them plain. */
static hs_status create_sealed(hs_app *app, hs_model_rec *m, hs_error *err)
{
    char *summary = NULL, *feedback = NULL;
    hs_status st = hs_sealed_stash(app, HS_SEALED_MODEL_SUMMARY,
                                   &m->summary_json, &summary, err);
    if (st != HS_OK)
        return st;
    st = hs_sealed_stash(app, HS_SEALED_MODEL_FEEDBACK, &m->feedback_json,
                         &feedback, err);
    if (st == HS_OK) {
        st = hs_notifications_io(app, hs_store_model_create(app->store, m, err),
                                 "recording a model", err);
        hs_sealed_unstash(&m->feedback_json, feedback);
    }
    hs_sealed_unstash(&m->summary_json, summary);
    return st;
}

/* Opens a model record's sealed texts; frees it on failure. */
static hs_status open_sealed(hs_app *app, hs_model_rec *m, hs_error *err)
{
    hs_status st = hs_sealed_open_in_place(app, HS_SEALED_MODEL_SUMMARY,
                                           &m->summary_json, err);
    if (st == HS_OK)
        st = hs_sealed_open_in_place(app, HS_SEALED_MODEL_FEEDBACK,
                                     &m->feedback_json, err);
    if (st != HS_OK)
        hs_model_rec_free(m);
    return st;
}

hs_status hs_models_save(hs_app *app, hs_id owner_id, const char *name,
                         hs_id dataset_id, hs_id job_id, const hl_model *m,
                         const hs_model_lineage *lineage, hs_model_rec *out,
                         hs_error *err)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    hl_error herr;
    memset(out, 0, sizeof *out);
    hl_error_clear(&herr);
    if (hl_model_serialize(m, &bytes, &len, &herr) != HL_OK)
        return hs_fail(err, HS_ERR_NOMEM, "cannot serialise the model: %s",
                       herr.message);
    const hl_model_summary *s = hl_model_summary_get(m);
    json_t *summary = hs_json_summary(s);
    out->summary_json = summary ? json_dumps(summary, JSON_COMPACT |
                                                          JSON_REAL_PRECISION(12))
                                : NULL;
    json_decref(summary);
    if (lineage) {
        out->parent_id = lineage->parent_id;
        if (lineage->feedback)
            out->feedback_json = json_dumps(
                lineage->feedback, JSON_COMPACT | JSON_REAL_PRECISION(10));
    }
    const hl_class_names *names = hl_model_class_names(m);
    if (names)
        out->class_names_json = hs_class_names_text(names);
    hs_status st;
    if (!out->summary_json || (names && !out->class_names_json) ||
        (lineage && lineage->feedback && !out->feedback_json)) {
        hs_model_rec_free(out);
        free(bytes);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory rendering a summary");
    }
    st = hs_notifications_io(
        app, hs_blob_put(app->blobs, "model", bytes, len, out->blob_key, err),
        "writing a model's file", err);
    free(bytes);
    if (st != HS_OK) {
        hs_model_rec_free(out);
        return st;
    }
    out->owner_id = owner_id;
    out->dataset_id = dataset_id;
    out->job_id = job_id;
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->algo, sizeof out->algo, "%s", s->algo);
    out->size_bytes = (int64_t)len;
    out->n_features = (int64_t)s->n_features;
    out->n_classes = (int64_t)s->n_classes;
    hs_models_estimate(s, &out->macro_f1, &out->accuracy);
    out->created_at = hs_clock_now(app->clock);
    st = create_sealed(app, out, err);
    if (st != HS_OK) {
        /* An outage may have committed it (answer lost): the orphan sweep
         * (orphans.h) removes the blob only if no record has it. */
        if (st != HS_ERR_UNAVAILABLE)
            hs_blob_delete(app->blobs, out->blob_key, NULL);
        hs_model_rec_free(out);
    }
    return st;
}

/* The cached entry for id with a reference taken, or NULL. */
static hs_model_ref *lookup(hs_model_cache *c, hs_id id)
{
    for (size_t i = 0; i < c->capacity; i++)
        if (c->slots[i] && c->slots[i]->id == id) {
            c->slots[i]->refs++;
            c->slots[i]->last_used = ++c->clock;
            return c->slots[i];
        }
    return NULL;
}

/* Puts a freshly loaded entry into the cache (the cache's reference),
 * evicting the least recently used one when full. */
static void insert_locked(hs_model_cache *c, hs_model_ref *r)
{
    size_t victim = 0;
    for (size_t i = 0; i < c->capacity; i++) {
        if (!c->slots[i]) {
            victim = i;
            break;
        }
        if (c->slots[i]->last_used < c->slots[victim]->last_used)
            victim = i;
    }
    if (c->slots[victim])
        unref_locked(c->slots[victim]);
    r->refs++; /* the cache's */
    r->last_used = ++c->clock;
    c->slots[victim] = r;
}

static hs_status load(hs_app *app, const hs_model_rec *rec, hs_model_ref **out,
                      hs_error *err)
{
    uint8_t *bytes = NULL;
    size_t len = 0;
    hs_status st = hs_blob_read_all(app->blobs, rec->blob_key, &bytes, &len,
                                    (size_t)1 << 31, err);
    if (st != HS_OK)
        return st;
    hl_error herr;
    hl_error_clear(&herr);
    hl_model *m = NULL;
    char name[64];
    snprintf(name, sizeof name, "model %lld", (long long)rec->id);
    hl_status hst = hl_model_deserialize(bytes, len, name, &m, &herr);
    free(bytes);
    if (hst != HL_OK)
        return hs_fail(err, hst == HL_ERR_NOMEM ? HS_ERR_NOMEM : HS_ERR_INTERNAL,
                       "stored %s", herr.message);
    hs_model_ref *r = calloc(1, sizeof *r);
    if (!r) {
        hl_model_free(m);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    r->id = rec->id;
    r->model = m;
    r->refs = 1; /* the caller's */
    *out = r;
    return HS_OK;
}

hs_status hs_models_check_live(const hs_model_rec *rec, hs_error *err)
{
    if (!rec->deleted_at)
        return HS_OK;
    return hs_fail(err, HS_ERR_NOTFOUND,
                   "model %lld is in the trash; restore it to use it",
                   (long long)rec->id);
}

hs_status hs_models_acquire(hs_app *app, hs_id id, const hs_user *viewer,
                            hs_model_ref **ref_out, hs_model_rec *rec_out,
                            hs_error *err)
{
    hs_model_rec rec;
    hs_model_cache *c = app->models;
    *ref_out = NULL;
    hs_status st = hs_models_get(app, id, viewer, &rec, err);
    if (st != HS_OK)
        return st;
    if ((st = hs_models_check_live(&rec, err)) != HS_OK) {
        hs_model_rec_free(&rec); /* the cache never serves a trashed model */
        return st;
    }
    pthread_mutex_lock(&c->lock);
    hs_model_ref *r = lookup(c, id);
    pthread_mutex_unlock(&c->lock);
    if (!r) {
        if ((st = load(app, &rec, &r, err)) != HS_OK) {
            hs_model_rec_free(&rec);
            return st;
        }
        pthread_mutex_lock(&c->lock);
        hs_model_ref *other = lookup(c, id);
        if (other) {
            unref_locked(r);
            r = other;
        } else {
            insert_locked(c, r);
        }
        pthread_mutex_unlock(&c->lock);
    }
    *ref_out = r;
    if (rec_out)
        *rec_out = rec;
    else
        hs_model_rec_free(&rec);
    return HS_OK;
}

hs_status hs_models_get(hs_app *app, hs_id id, const hs_user *viewer,
                        hs_model_rec *out, hs_error *err)
{
    hs_status st = hs_store_model_get(app->store, id, viewer->id,
                                      viewer->is_admin, out, err);
    return st == HS_OK ? open_sealed(app, out, err) : st;
}

hs_status hs_models_list(hs_app *app, const hs_user *viewer,
                         int include_deleted, hs_model_rec **items, size_t *n,
                         hs_error *err)
{
    hs_status st = hs_store_model_list(app->store, viewer->id,
                                       viewer->is_admin, include_deleted,
                                       items, n, err);
    if (st == HS_OK)
        st = hs_sealed_open_each(app, HS_SEALED_MODEL_SUMMARY, *items, *n,
                                 sizeof **items,
                                 offsetof(hs_model_rec, summary_json), err);
    if (st == HS_OK)
        st = hs_sealed_open_each(app, HS_SEALED_MODEL_FEEDBACK, *items, *n,
                                 sizeof **items,
                                 offsetof(hs_model_rec, feedback_json), err);
    if (st != HS_OK && *items) {
        hs_model_list_free(*items, *n);
        *items = NULL;
        *n = 0;
    }
    return st;
}

const hl_model *hs_model_ref_get(const hs_model_ref *ref) { return ref->model; }

void hs_models_release(hs_app *app, hs_model_ref *ref)
{
    if (!ref)
        return;
    pthread_mutex_lock(&app->models->lock);
    unref_locked(ref);
    pthread_mutex_unlock(&app->models->lock);
}

/* Drops model `id` from the cache (a request holding it keeps it until
 * it releases it). */
static void uncache(hs_model_cache *c, hs_id id)
{
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->capacity; i++)
        if (c->slots[i] && c->slots[i]->id == id) {
            unref_locked(c->slots[i]);
            c->slots[i] = NULL;
        }
    pthread_mutex_unlock(&c->lock);
}

hs_status hs_models_delete(hs_app *app, hs_id id, const hs_user *viewer,
                           hs_error *err)
{
    char key[HS_STORE_BLOB_KEY_MAX];
    hs_status st = hs_store_model_delete(app->store, id, viewer->id,
                                         viewer->is_admin, key, err);
    if (st != HS_OK)
        return st;
    uncache(app->models, id);
    hs_blob_delete(app->blobs, key, NULL);
    return HS_OK;
}

hs_status hs_models_set_class_names(hs_app *app, hs_id id,
                                    const hs_user *viewer,
                                    const json_t *class_names,
                                    hs_model_rec *out, hs_error *err)
{
    hs_model_rec rec;
    hs_status st = hs_models_get(app, id, viewer, &rec, err);
    if (st != HS_OK)
        return st;
    json_t *summary = json_loads(rec.summary_json, 0, NULL);
    size_t n = 0;
    const char **labels = hs_class_names_labels(summary, &n);
    hl_class_names *t = NULL;
    char *text = NULL;
    /* the names of a model in the trash wait for its restore, as any use */
    st = hs_models_check_live(&rec, err);
    if (st == HS_OK && !labels)
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        st = hs_class_names_from_json(class_names, "class_names",
                                      (char *const *)labels, n, &t, err);
    if (st == HS_OK && !(text = hs_class_names_text(t)))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        st = hs_store_model_class_names_put(app->store, id, viewer->id,
                                            viewer->is_admin, text, err);
    free(text);
    hl_class_names_free(t);
    free(labels);
    json_decref(summary);
    hs_model_rec_free(&rec);
    return st == HS_OK ? hs_models_get(app, id, viewer, out, err) : st;
}

hs_status hs_models_file(hs_app *app, const hs_model_rec *rec,
                         uint8_t **bytes, size_t *len, hs_error *err)
{
    *bytes = NULL;
    *len = 0;
    if (!rec->class_names_json)
        return HS_OK;
    hl_model *copy = NULL;
    hl_class_names *t = NULL;
    hl_error herr;
    hl_error_clear(&herr);
    json_t *j = json_loads(rec->class_names_json, 0, NULL);
    /* stored by hs_models_set_class_names or hs_models_save: valid */
    hs_status st = hs_class_names_from_json(j, "class_names", NULL, 0, &t, err);
    uint8_t *stored = NULL;
    size_t stored_len = 0;
    if (st == HS_OK)
        st = hs_blob_read_all(app->blobs, rec->blob_key, &stored, &stored_len,
                              (size_t)1 << 31, err);
    /* a private copy: the cache's model is shared and immutable */
    if (st == HS_OK &&
        (hl_model_deserialize(stored, stored_len, "model", &copy, &herr) !=
             HL_OK ||
         hl_model_set_class_names(copy, t, &herr) != HL_OK ||
         hl_model_serialize(copy, bytes, len, &herr) != HL_OK))
        st = hs_fail(err, herr.code == HL_ERR_NOMEM ? HS_ERR_NOMEM
                                                    : HS_ERR_INTERNAL,
                     "stored model %lld: %s", (long long)rec->id,
                     herr.message);
    free(stored);
    hl_model_free(copy);
    hl_class_names_free(t);
    json_decref(j);
    return st;
}

static hs_status get_rec(hs_app *app, hs_id id, const hs_user *viewer,
                         void *rec, hs_error *err)
{
    return hs_models_get(app, id, viewer, rec, err);
}

static void release_rec(void *rec) { hs_model_rec_free(rec); }

static const hs_trash_kind MODELS = {
    .what = "model",
    .get = get_rec,
    .release = release_rec,
    .deleted_at_offset = offsetof(hs_model_rec, deleted_at),
    .name_offset = offsetof(hs_model_rec, name),
    .set_deleted = hs_store_model_set_deleted,
    .purge = hs_store_model_purge,
};

hs_status hs_models_trash(hs_app *app, hs_id id, const hs_user *viewer,
                          const char *client, hs_model_rec *out, hs_error *err)
{
    hs_status st = hs_trash_move(app, &MODELS, id, viewer, client, out, err);
    if (st == HS_OK)
        uncache(app->models, id);
    return st;
}

hs_status hs_models_restore(hs_app *app, hs_id id, const hs_user *viewer,
                            const char *client, hs_model_rec *out,
                            hs_error *err)
{
    return hs_trash_restore(app, &MODELS, id, viewer, client, out, err);
}

hs_status hs_models_purge(hs_app *app, size_t *purged, hs_error *err)
{
    /* The purged ones are in the trash, hence out of the cache already. */
    return hs_trash_purge(app, &MODELS, purged, err);
}
