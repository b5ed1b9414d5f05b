/* domain/job_rca.c - the "rca" job type: root-cause analysis of an
 * incident dataset over a topology with a trained model (healer/rca.h),
 * stored as an analysis (analyses.h).
 *
 * Everything that can be known before running is checked at submission,
 * each refusal naming its field, so that a mistake is a 4xx now and not a
 * failed job later: the model, topology and dataset exist, are the
 * viewer's and are not in the trash; the model has the normal class
 * (hl_rca_normal_class: its message lists the classes); the dataset is an
 * incident file holding every KPI the model reads; every node of the
 * incidents is a node of the topology (the dataset's node ids, kept in its
 * profile since upload, looked up in it: the file is not read in the
 * request); the parameters are in range. Running
 * it reads the three again (stage "reading"), analyses the incidents with
 * progress, a cancel stopping it within a batch of incidents (stage
 * "diagnosing": each incident's
 * nodes are diagnosed and its candidate roots ranked), and stores the
 * analysis (stage "storing").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/analyses.h"
#include "domain/datasets.h"
#include "domain/fields.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "domain/topologies.h"


/* The request's params, with the engine's defaults. */
typedef struct rca_params {
    json_int_t top;
    const char *normal; /* borrowed from the request or the job */
    double skew, hop_delay;
} rca_params;

static hs_status param_number(const json_t *params, const char *key,
                              double *out, hs_error *err)
{
    const json_t *v = json_object_get(params, key);
    char field[32];
    snprintf(field, sizeof field, "params.%s", key);
    if (!v || json_is_null(v))
        return HS_OK;
    if (!json_is_number(v))
        return hs_fail_field(err, HS_ERR_MALFORMED, field,
                             "'%s' must be a number of seconds", field);
    *out = json_number_value(v);
    return HS_OK;
}

/* params.KEY, when given, in [lo, hi] seconds (*out keeps its default
 * otherwise). */
static hs_status param_seconds(const json_t *params, const char *key,
                               double lo, double hi, double *out,
                               hs_error *err)
{
    char field[32];
    snprintf(field, sizeof field, "params.%s", key);
    hs_status st = param_number(params, key, out, err);
    if (st == HS_OK && !(*out >= lo && *out <= hi))
        st = hs_fail_field(err, HS_ERR_INVALID, field,
                           "params.%s must be %g..%g seconds, got %g", key, lo,
                           hi, *out);
    return st;
}

/* Reads and checks params (NULL = every default). */
static hs_status read_params(const json_t *params, rca_params *p, hs_error *err)
{
    static const char *const known[] = {"top", "normal", "skew", "hop_delay"};
    p->top = HL_RCA_TOP_DEFAULT;
    p->normal = HL_NORMAL_DEFAULT_CLASS;
    p->skew = HL_RCA_SKEW_DEFAULT;
    p->hop_delay = HL_RCA_HOP_DELAY_DEFAULT;
    if (!params || json_is_null(params))
        return HS_OK;
    if (!json_is_object(params))
        return hs_fail_field(err, HS_ERR_MALFORMED, "params",
                             "'params' must be an object");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i], key))
            i++;
        if (i == sizeof known / sizeof known[0])
            return hs_fail_field(err, HS_ERR_INVALID, "params",
                                 "unknown parameter '%.64s': an rca job takes "
                                 "top, normal, skew and hop_delay",
                                 key);
    }
    v = json_object_get(params, "top");
    if (v && !json_is_null(v) && !json_is_integer(v))
        return hs_fail_field(err, HS_ERR_MALFORMED, "params.top",
                             "'params.top' must be a whole number");
    if (v && !json_is_null(v))
        p->top = json_integer_value(v);
    if (p->top < 1 || p->top > HL_RCA_MAX_TOP)
        return hs_fail_field(err, HS_ERR_INVALID, "params.top",
                             "params.top must be 1..%d, got %lld",
                             HL_RCA_MAX_TOP, (long long)p->top);
    hs_status st =
        hs_field_string(params, "normal", 0, HS_LABEL_MAX - 1, &p->normal, err);
    if (st != HS_OK) /* named within params */
        snprintf(err->field, sizeof err->field, "params.normal");
    else if (!p->normal)
        p->normal = HL_NORMAL_DEFAULT_CLASS;
    else if (!p->normal[0])
        st = hs_fail_field(err, HS_ERR_INVALID, "params.normal",
                           "params.normal must name a class of the model");
    if (st == HS_OK)
        st = param_seconds(params, "skew", 0.0, HL_RCA_SKEW_MAX,
                           &p->skew, err);
    if (st == HS_OK)
        st = param_seconds(params, "hop_delay", HL_RCA_HOP_DELAY_MIN,
                           HL_RCA_HOP_DELAY_MAX, &p->hop_delay, err);
    return st;
}

/* A record of the request that is live: trashed is HS_ERR_NOTFOUND, as
 * for the other jobs' inputs, naming `field`. */
static hs_status live(hs_status st, int64_t deleted_at, const char *what,
                      hs_id id, const char *field, hs_error *err)
{
    if (st == HS_OK && deleted_at)
        st = hs_fail(err, HS_ERR_NOTFOUND,
                     "%s %lld is in the trash: restore it first", what,
                     (long long)id);
    if (st != HS_OK && !err->field[0])
        snprintf(err->field, sizeof err->field, "%s", field);
    return st;
}

/* Every KPI the model reads is a column of the incident file (its stored
 * profile lists them). */
static hs_status check_kpis(const hl_model *m, const hs_dataset_rec *ds,
                            hs_error *err)
{
    const hl_model_summary *ms = hl_model_summary_get(m);
    json_t *prof =
        ds->profile_json ? json_loads(ds->profile_json, 0, NULL) : NULL;
    json_t *names = json_object();
    const json_t *k;
    size_t i, missing = 0;
    const char *first = NULL;
    json_array_foreach(json_object_get(prof, "kpis"), i, k)
    {
        const char *name = json_string_value(json_object_get(k, "name"));
        if (name)
            json_object_set(names, name, json_true());
    }
    for (i = 0; i < ms->n_features; i++)
        if (!json_object_get(names, ms->feature_names[i]) && !missing++)
            first = ms->feature_names[i];
    hs_status st = HS_OK;
    if (missing)
        st = hs_fail_field(err, HS_ERR_INVALID, "dataset_id",
                           "dataset %lld ('%.100s') lacks the model's KPI "
                           "'%.100s'%s (%zu of %zu missing): the incident "
                           "file needs every KPI the model was trained on",
                           (long long)ds->id, ds->name, first,
                           missing > 1 ? " and more" : "", missing,
                           ms->n_features);
    json_decref(names);
    json_decref(prof);
    return st;
}

/* Every node of the incidents is a node of the topology: the topology
 * read, the dataset's node ids (kept since upload) looked up in it. */
static hs_status check_nodes(hs_app *app, const hs_topology_rec *trec,
                             const hs_dataset_rec *ds, hs_error *err)
{
    hl_topology *t = NULL;
    char what[160];
    snprintf(what, sizeof what, "topology %lld ('%.100s')", (long long)trec->id,
             trec->name);
    hs_status st = hs_topologies_load(app, trec, &t, err);
    if (st == HS_OK)
        st = hs_dataset_check_nodes(app, ds, t, what, "topology_id", err);
    else if (st == HS_ERR_INVALID && !err->field[0])
        snprintf(err->field, sizeof err->field, "topology_id");
    if (t)
        hl_topology_free(t);
    return st;
}

/* The model, topology and dataset of the request, checked (see the file
 * comment); *name defaults to "DATASET on TOPOLOGY". */
static hs_status check_inputs(hs_app *app, const hs_user *viewer,
                              const hs_job_rec *job, const rca_params *p,
                              char *name, size_t cap, hs_error *err)
{
    hs_model_ref *ref = NULL;
    hs_topology_rec trec;
    hs_dataset_rec ds;
    int32_t normal = -1;
    hl_error herr;
    memset(&trec, 0, sizeof trec);
    memset(&ds, 0, sizeof ds);
    hl_error_clear(&herr);
    hs_status st =
        hs_models_acquire(app, job->model_id, viewer, &ref, NULL, err);
    /* deleted_at 0: hs_models_acquire already refuses a trashed model
     * (HS_ERR_NOTFOUND); live() only names the field of its refusal. */
    st = live(st, 0, "model", job->model_id, "model_id", err);
    if (st == HS_OK && hl_rca_normal_class(hs_model_ref_get(ref), p->normal,
                                           &normal, &herr) != HL_OK)
        st = hs_fail_field(err, HS_ERR_INVALID, "params.normal", "%s",
                           herr.message);
    /* Each record read before its deleted_at is looked at (a call's
     * arguments are evaluated in no set order). */
    if (st == HS_OK) {
        st = hs_topologies_get(app, job->topology_id, viewer, &trec, err);
        st = live(st, trec.deleted_at, "topology", job->topology_id,
                  "topology_id", err);
    }
    if (st == HS_OK) {
        st = hs_datasets_get(app, job->dataset_id, viewer, &ds, err);
        st = live(st, ds.deleted_at, "dataset", job->dataset_id, "dataset_id",
                  err);
    }
    /* A dataset still ingesting has no profile yet: the job waits for it
     * (the claims skip it) and its run reads the file against the
     * topology; a failed one is refused with its reason. */
    int ingesting = st == HS_OK && hs_dataset_is_ingesting(&ds);
    if (st == HS_OK && !ingesting)
        st = hs_dataset_check_ready(&ds, "dataset_id", err);
    if (st == HS_OK && !ingesting)
        st =
            hs_dataset_check_kind(&ds, HS_DATASET_INCIDENTS, "dataset_id", err);
    if (st == HS_OK && !ingesting)
        st = check_kpis(hs_model_ref_get(ref), &ds, err);
    if (st == HS_OK && !ingesting)
        st = check_nodes(app, &trec, &ds, err);
    if (st == HS_OK && !name[0])
        snprintf(name, cap, "%.120s on %.120s", ds.name, trec.name);
    hs_dataset_rec_free(&ds);
    hs_topology_rec_free(&trec);
    hs_models_release(app, ref);
    return st;
}

static hs_status prepare(hs_app *app, const hs_user *viewer,
                         const json_t *request, hs_job_rec *out, hs_error *err)
{
    const char *name = NULL;
    rca_params p;
    hs_status st = hs_field_id(request, "model_id", 1, &out->model_id, err);
    if (st == HS_OK)
        st = hs_field_id(request, "topology_id", 1, &out->topology_id, err);
    if (st == HS_OK)
        st = hs_field_id(request, "dataset_id", 1, &out->dataset_id, err);
    if (st == HS_OK)
        st = hs_field_string(request, "name", 0, HS_DATASET_NAME_MAX - 1, &name,
                             err);
    if (st == HS_OK)
        st = read_params(json_object_get(request, "params"), &p, err);
    if (st != HS_OK)
        return st;
    snprintf(out->name, sizeof out->name, "%s", name ? name : "");
    st = check_inputs(app, viewer, out, &p, out->name, sizeof out->name, err);
    if (st != HS_OK)
        return st;
    json_t *params =
        json_pack("{s:I, s:s, s:f, s:f}", "top", p.top, "normal", p.normal,
                  "skew", p.skew, "hop_delay", p.hop_delay);
    out->params_json = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    return out->params_json ? HS_OK
                            : hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

/* ---- running --------------------------------------------------------- */

typedef struct rca_run {
    hs_job_run *r;
    const char *stage;
    size_t done, total;
} rca_run;

static char *render(void *ctx)
{
    const rca_run *s = ctx;
    json_t *j =
        json_pack("{s:s, s:I, s:I}", "stage", s->stage, "incidents_done",
                  (json_int_t)s->done, "incidents", (json_int_t)s->total);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

/* Reports the stage and progress (at once when force); non-zero: stop. */
static int report(rca_run *s, double progress, int force)
{
    return s->r->report(s->r, progress, 0, 0, render, s, force);
}

/* The engine's callback after each incident: 0.1 .. 0.9 of the job. */
static int on_incident(size_t done, size_t total, void *arg)
{
    rca_run *s = arg;
    s->done = done;
    s->total = total;
    double share = total ? (double)done / (double)total : 1.0;
    return report(s, 0.1 + 0.8 * share, 0) || atomic_load(s->r->stop) != 0;
}

/* Enters the stage "storing" and reports it; non-zero: stop. */
static int stored_stage(rca_run *s)
{
    s->stage = "storing";
    return report(s, 0.9, 1);
}

/* What the run reads: the model (through the cache), the topology and
 * the incidents, as their owner. */
typedef struct rca_inputs {
    hs_model_ref *ref;
    hs_topology_rec trec;
    hs_dataset_rec ds;
    hl_topology *t;
    hl_incidents *inc;
} rca_inputs;

static hs_status load_inputs(hs_job_run *r, rca_inputs *in, hs_error *err)
{
    hs_app *app = r->app;
    const hs_job_rec *job = r->job;
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hl_error csv_err;
    hs_status st =
        hs_models_acquire(app, job->model_id, &owner, &in->ref, NULL, err);
    if (st == HS_OK)
        st = hs_topologies_get(app, job->topology_id, &owner, &in->trec, err);
    if (st == HS_OK)
        st = hs_topologies_load(app, &in->trec, &in->t, err);
    if (st == HS_OK)
        st = hs_datasets_get(app, job->dataset_id, &owner, &in->ds, err);
    if (st == HS_OK)
        st = hs_dataset_check_ready(&in->ds, "dataset_id", err);
    if (st == HS_OK)
        st = hs_datasets_load_incidents(app, &in->ds, in->t, &in->inc, &csv_err,
                                        err);
    return st;
}

static void free_inputs(hs_app *app, rca_inputs *in)
{
    if (in->inc)
        hl_incidents_free(in->inc);
    if (in->t)
        hl_topology_free(in->t);
    hs_dataset_rec_free(&in->ds);
    hs_topology_rec_free(&in->trec);
    hs_models_release(app, in->ref);
}

/* The analysis of the loaded inputs, stored; the outcome filled. */
static void analyse(rca_run *s, rca_inputs *in, const json_t *params,
                    hs_job_outcome *o)
{
    hs_job_run *r = s->r;
    hs_error err = {0};
    hl_error herr;
    hl_warnings warn = {0};
    hl_rca_result *res = NULL;
    hl_rca_options opt;
    hl_error_clear(&herr);
    hl_rca_options_init(&opt);
    opt.normal = json_string_value(json_object_get(params, "normal"));
    opt.top = (size_t)json_integer_value(json_object_get(params, "top"));
    opt.skew = json_number_value(json_object_get(params, "skew"));
    opt.hop_delay = json_number_value(json_object_get(params, "hop_delay"));
    opt.threads = r->train_threads;
    opt.progress = on_incident;
    opt.progress_arg = s;
    s->stage = "diagnosing";
    s->total = in->inc->n_incidents;
    hl_status hst = hl_rca_run(hs_model_ref_get(in->ref), in->t, in->inc, &opt,
                               &res, &warn, &herr);
    if (hst == HL_ERR_CANCELLED) {
        o->state = HS_JOB_CANCELLED;
        snprintf(o->error, sizeof o->error, "cancelled by the user");
    } else if (hst != HL_OK) {
        snprintf(o->error, sizeof o->error, "%.480s", herr.message);
    } else if (stored_stage(s)) {
        o->state = HS_JOB_CANCELLED;
        snprintf(o->error, sizeof o->error, "cancelled by the user");
    } else {
        hs_analysis_rec a;
        const hs_analysis_inputs ai = {
            .owner_id = r->job->owner_id,
            .job_id = r->job->id,
            .model_id = r->job->model_id,
            .topology_id = r->job->topology_id,
            .dataset_id = r->job->dataset_id,
            .name = r->job->name,
            .normal = opt.normal ? opt.normal : HL_NORMAL_DEFAULT_CLASS,
            .model = hs_model_ref_get(in->ref),
            .topology = in->t,
        };
        hs_status st = hs_analyses_store(r->app, &ai, res, &a, &err);
        if (st == HS_OK) {
            o->state = HS_JOB_SUCCEEDED;
            o->result_id = a.id;
            hs_analysis_rec_free(&a);
        } else {
            hs_job_outcome_failed(o, st, err.message);
        }
    }
    if (res)
        hl_rca_result_free(res);
    hl_warnings_free(&warn);
}

static void run(hs_job_run *r, hs_job_outcome *o)
{
    rca_run s = {.r = r, .stage = "reading"};
    rca_inputs in;
    hs_error err = {0};
    hs_status st;
    memset(&in, 0, sizeof in);
    o->state = HS_JOB_FAILED;
    json_t *params = json_loads(r->job->params_json, 0, NULL);
    if (report(&s, 0.0, 1)) {
        o->state = HS_JOB_CANCELLED;
        snprintf(o->error, sizeof o->error, "cancelled by the user");
    } else if ((st = load_inputs(r, &in, &err)) != HS_OK) {
        hs_job_outcome_failed(o, st, err.message);
    } else if (!json_is_object(params)) {
        snprintf(o->error, sizeof o->error, "the job has no parameters");
    } else {
        analyse(&s, &in, params, o);
    }
    json_decref(params);
    free_inputs(r->app, &in);
}

static void discard(hs_app *app, const hs_job_rec *job, hs_id analysis_id)
{
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hs_analyses_delete(app, analysis_id, &owner, NULL);
}

/* The JOB view's "rca": the stage and the incidents done of the total,
 * and the parameters it runs with. */
static json_t *describe(const hs_job_rec *job, const json_t *detail)
{
    json_t *params =
        job->params_json ? json_loads(job->params_json, 0, NULL) : NULL;
    json_t *stage = json_object_get(detail, "stage");
    json_t *j =
        json_pack("{s:O?, s:O?, s:O?, s:o}", "stage", stage, "incidents_done",
                  json_object_get(detail, "incidents_done"), "incidents",
                  json_object_get(detail, "incidents"), "params",
                  json_is_object(params) ? json_incref(params) : json_null());
    json_decref(params);
    return j;
}

const hs_job_type hs_job_type_rca = {
    .name = "rca",
    .result_kind = HS_RESULT_ANALYSIS,
    .user_submittable = 1,
    .prepare = prepare,
    .run = run,
    .discard = discard,
    .describe = describe,
};
