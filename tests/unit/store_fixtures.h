/* store_fixtures.h - records to store and ways to compare them, for the
 * store's tests (the contract suite and each backend's driver).
 *
 * Makers fill every field a test does not care about with something valid
 * and derived from a tag, so two records never clash by accident;
 * comparers check every field (doubles exactly, NAN included; JSON text
 * by content and as a copy).
 */
#ifndef HEALER_STORE_FIXTURES_H
#define HEALER_STORE_FIXTURES_H

#include <math.h>

#include "testutil.h"

#include "store/store.h"

static inline hs_user make_user(const char *name, int is_admin,
                                int64_t created_at)
{
    hs_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.password_hash, sizeof u.password_hash,
             "$argon2id$v=19$m=65536,t=2,p=1$salt$%s", name);
    u.is_admin = is_admin;
    u.created_at = created_at;
    return u;
}

static inline hs_id add_user(hs_store *store, const char *name, int is_admin)
{
    hs_user u = make_user(name, is_admin, 1000);
    hs_error err = {0};
    assert_int_equal(hs_store_user_create(store, &u, &err), HS_OK);
    assert_true(u.id > 0);
    return u.id;
}

static inline hs_session make_session(hs_id user_id, unsigned tag,
                                      int64_t expires)
{
    hs_session s;
    memset(&s, 0, sizeof s);
    s.user_id = user_id;
    snprintf(s.token_hash, sizeof s.token_hash, "%064x", tag);
    s.remember = (int)(tag & 1);
    s.created_at = 100;
    s.last_seen_at = 100;
    s.expires_at = expires;
    return s;
}

/* A live, unprofiled dataset whose blob key is derived from `tag`. */
static inline hs_dataset_rec make_dataset(hs_id owner, const char *name,
                                          unsigned tag, int64_t created_at)
{
    hs_dataset_rec d;
    memset(&d, 0, sizeof d);
    d.owner_id = owner;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.blob_key, sizeof d.blob_key, "%064x", tag);
    d.size_bytes = 1000 + tag;
    d.created_at = created_at;
    return d;
}

/* A dataset of `owner` whose ingestion failed saying `why`. */
static inline hs_id failed_dataset(hs_store *store, hs_id owner,
                                   unsigned tag, const char *why)
{
    hs_error err = {0};
    hs_dataset_rec d = make_dataset(owner, "big.csv", tag, 10 + tag);
    snprintf(d.state, sizeof d.state, "%s", HS_DATASET_INGESTING);
    assert_int_equal(hs_store_dataset_create(store, &d, &err), HS_OK);
    assert_int_equal(hs_store_dataset_finish_ingest(
                         store, d.id, HS_DATASET_FAILED, why, 0, &err),
                     HS_OK);
    return d.id;
}

static inline void assert_datasets_equal(const hs_dataset_rec *a,
                                         const hs_dataset_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->blob_key, b->blob_key);
    assert_int_equal(a->size_bytes, b->size_bytes);
    assert_int_equal(a->rows, b->rows);
    assert_int_equal(a->features, b->features);
    if (a->profile_json && b->profile_json)
        assert_string_equal(a->profile_json, b->profile_json);
    else
        assert_ptr_equal(a->profile_json, b->profile_json);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->deleted_at, b->deleted_at);
    assert_string_equal(a->state, b->state);
    assert_string_equal(a->ingest_error, b->ingest_error);
    assert_int_equal(a->file_deleted, b->file_deleted);
}

static inline void assert_users_equal(const hs_user *a, const hs_user *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->username, b->username);
    assert_string_equal(a->password_hash, b->password_hash);
    assert_int_equal(a->is_admin, b->is_admin);
    assert_int_equal(a->disabled, b->disabled);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->locked_until, b->locked_until);
    assert_string_equal(a->email, b->email);
}

/* Exact equality for stored doubles, NAN included (SQLite REAL is the
 * same IEEE double, so a round trip is exact). */
static inline void assert_same_double(double a, double b)
{
    if (isnan(a) || isnan(b)) {
        if (!(isnan(a) && isnan(b)))
            fail_msg("%.17g is not %.17g", a, b);
    } else if (a != b) {
        fail_msg("%.17g != %.17g", a, b);
    }
}

/* Two JSON text fields: both NULL, or the same text in different memory. */
static inline void assert_same_text(const char *a, const char *b)
{
    if (a && b) {
        assert_string_equal(a, b);
        assert_ptr_not_equal(a, b);
    } else {
        assert_ptr_equal(a, b);
    }
}

static inline hs_id add_dataset(hs_store *store, hs_id owner, unsigned tag)
{
    hs_dataset_rec d = make_dataset(owner, "input.csv", tag, 100);
    hs_error err = {0};
    assert_int_equal(hs_store_dataset_create(store, &d, &err), HS_OK);
    return d.id;
}

/* A model with every field set; the blob key is derived from `tag`. */
static inline hs_model_rec make_model(hs_id owner, const char *name,
                                      unsigned tag, int64_t created_at)
{
    hs_model_rec m;
    memset(&m, 0, sizeof m);
    m.owner_id = owner;
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.algo, sizeof m.algo, "gbdt");
    snprintf(m.blob_key, sizeof m.blob_key, "m%063x", tag);
    m.size_bytes = 5000 + tag;
    m.n_features = 4;
    m.n_classes = 3;
    m.macro_f1 = 0.8125;
    m.accuracy = 0.9;
    m.summary_json = "{\"algo\":\"gbdt\",\"rounds\":100}";
    m.created_at = created_at;
    return m;
}

static inline hs_id add_model(hs_store *store, hs_id owner, unsigned tag)
{
    hs_model_rec m = make_model(owner, "model", tag, 100);
    hs_error err = {0};
    assert_int_equal(hs_store_model_create(store, &m, &err), HS_OK);
    return m.id;
}

static inline void assert_models_equal(const hs_model_rec *a,
                                       const hs_model_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_int_equal(a->dataset_id, b->dataset_id);
    assert_int_equal(a->job_id, b->job_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->algo, b->algo);
    assert_string_equal(a->blob_key, b->blob_key);
    assert_int_equal(a->size_bytes, b->size_bytes);
    assert_int_equal(a->n_features, b->n_features);
    assert_int_equal(a->n_classes, b->n_classes);
    assert_same_double(a->macro_f1, b->macro_f1);
    assert_same_double(a->accuracy, b->accuracy);
    assert_same_text(a->summary_json, b->summary_json);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->parent_id, b->parent_id);
    assert_same_text(a->feedback_json, b->feedback_json);
    assert_same_text(a->class_names_json, b->class_names_json);
    assert_int_equal(a->deleted_at, b->deleted_at);
}

/* A queued training job, as a request makes it. */
static inline hs_job_rec make_job(hs_id owner, const char *name,
                                  int64_t created_at)
{
    hs_job_rec j;
    memset(&j, 0, sizeof j);
    j.owner_id = owner;
    snprintf(j.type, sizeof j.type, "train");
    j.state = HS_JOB_QUEUED;
    snprintf(j.name, sizeof j.name, "%s", name);
    j.params_json = "{\"rounds\":100}";
    j.created_at = created_at;
    return j;
}

static inline hs_id add_job(hs_store *store, hs_id owner, int64_t created_at)
{
    hs_job_rec j = make_job(owner, "job", created_at);
    hs_error err = {0};
    assert_int_equal(hs_store_job_create(store, &j, &err), HS_OK);
    assert_true(j.id > 0);
    return j.id;
}

static inline void assert_jobs_equal(const hs_job_rec *a, const hs_job_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_string_equal(a->type, b->type);
    assert_int_equal(a->state, b->state);
    assert_int_equal(a->dataset_id, b->dataset_id);
    assert_int_equal(a->model_id, b->model_id);
    assert_string_equal(a->result_kind, b->result_kind);
    assert_int_equal(a->result_id, b->result_id);
    assert_string_equal(a->worker_id, b->worker_id);
    assert_int_equal(a->lease_expires_at, b->lease_expires_at);
    assert_string_equal(a->input_blob_key, b->input_blob_key);
    assert_string_equal(a->name, b->name);
    assert_same_text(a->params_json, b->params_json);
    assert_same_double(a->progress, b->progress);
    assert_int_equal(a->round, b->round);
    assert_int_equal(a->rounds, b->rounds);
    assert_same_text(a->losses_json, b->losses_json);
    assert_same_text(a->attempts_json, b->attempts_json);
    assert_string_equal(a->error, b->error);
    assert_int_equal(a->cancel_requested, b->cancel_requested);
    assert_int_equal(a->restarts, b->restarts);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->started_at, b->started_at);
    assert_int_equal(a->finished_at, b->finished_at);
    assert_int_equal(a->topology_id, b->topology_id);
}

/* Reads job `id` as an admin (the rules under test are not access). */
static inline hs_job_rec get_job(hs_store *store, hs_id id)
{
    hs_job_rec j;
    hs_error err = {0};
    assert_int_equal(hs_store_job_get(store, id, 0, 1, &j, &err), HS_OK);
    return j;
}

static inline hs_job_state job_state(hs_store *store, hs_id id)
{
    hs_job_rec j = get_job(store, id);
    hs_job_rec_free(&j);
    return j.state;
}

static inline hs_diagnosis_rec make_diagnosis(hs_id owner, hs_id model,
                                              const char *name, unsigned tag,
                                              int64_t created_at)
{
    hs_diagnosis_rec d;
    memset(&d, 0, sizeof d);
    d.owner_id = owner;
    d.model_id = model;
    snprintf(d.name, sizeof d.name, "%s", name);
    snprintf(d.blob_key, sizeof d.blob_key, "d%063x", tag);
    d.rows = 10 + tag;
    d.summary_json = "{\"classes\":{\"ok\":7,\"fault\":3}}";
    d.created_at = created_at;
    return d;
}

static inline void assert_diagnoses_equal(const hs_diagnosis_rec *a,
                                          const hs_diagnosis_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_int_equal(a->model_id, b->model_id);
    assert_int_equal(a->job_id, b->job_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->blob_key, b->blob_key);
    assert_int_equal(a->rows, b->rows);
    assert_same_text(a->summary_json, b->summary_json);
    assert_int_equal(a->created_at, b->created_at);
    assert_string_equal(a->input_blob_key, b->input_blob_key);
    assert_int_equal(a->deleted_at, b->deleted_at);
}

/* A live topology; its blob key is derived from `tag`. */
static inline hs_topology_rec make_topology(hs_id owner, const char *name,
                                            unsigned tag, int64_t created_at)
{
    hs_topology_rec t;
    memset(&t, 0, sizeof t);
    t.owner_id = owner;
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.format, sizeof t.format, "%s", tag & 1 ? "csv" : "json");
    snprintf(t.blob_key, sizeof t.blob_key, "t%063x", tag);
    t.size_bytes = 300 + tag;
    t.nodes = 4 + tag;
    t.edges = 3 + tag;
    t.bidirectional_edges = 1;
    t.kinds_json = "{\"database\":1,\"service\":3}";
    t.created_at = created_at;
    return t;
}

static inline void assert_topologies_equal(const hs_topology_rec *a,
                                           const hs_topology_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->format, b->format);
    assert_string_equal(a->blob_key, b->blob_key);
    assert_int_equal(a->size_bytes, b->size_bytes);
    assert_int_equal(a->nodes, b->nodes);
    assert_int_equal(a->edges, b->edges);
    assert_int_equal(a->bidirectional_edges, b->bidirectional_edges);
    assert_same_text(a->kinds_json, b->kinds_json);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->deleted_at, b->deleted_at);
}

/* An analysis without inputs; its three blob keys derive from `tag`. */
static inline hs_analysis_rec make_analysis(hs_id owner, const char *name,
                                            unsigned tag, int64_t created_at)
{
    hs_analysis_rec a;
    memset(&a, 0, sizeof a);
    a.owner_id = owner;
    snprintf(a.name, sizeof a.name, "%s", name);
    snprintf(a.normal, sizeof a.normal, "normal");
    a.top = 5;
    a.incidents = 10 + tag;
    a.topology_nodes = 20;
    snprintf(a.csv_blob_key, sizeof a.csv_blob_key, "c%063x", tag);
    snprintf(a.json_blob_key, sizeof a.json_blob_key, "j%063x", tag);
    snprintf(a.incidents_blob_key, sizeof a.incidents_blob_key, "i%063x",
             tag);
    a.summary_json = "{\"faults\":{\"disk_full\":3},\"mean_score\":0.5}";
    a.created_at = created_at;
    return a;
}

static inline void assert_analyses_equal(const hs_analysis_rec *a,
                                         const hs_analysis_rec *b)
{
    assert_int_equal(a->id, b->id);
    assert_int_equal(a->owner_id, b->owner_id);
    assert_int_equal(a->job_id, b->job_id);
    assert_int_equal(a->model_id, b->model_id);
    assert_int_equal(a->topology_id, b->topology_id);
    assert_int_equal(a->dataset_id, b->dataset_id);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->normal, b->normal);
    assert_int_equal(a->top, b->top);
    assert_int_equal(a->incidents, b->incidents);
    assert_int_equal(a->topology_nodes, b->topology_nodes);
    assert_string_equal(a->csv_blob_key, b->csv_blob_key);
    assert_string_equal(a->json_blob_key, b->json_blob_key);
    assert_string_equal(a->incidents_blob_key, b->incidents_blob_key);
    assert_same_text(a->summary_json, b->summary_json);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->deleted_at, b->deleted_at);
    assert_int_equal(a->model_deleted_at, b->model_deleted_at);
    assert_same_text(a->model_class_names_json, b->model_class_names_json);
}

#endif
