/* jobs.c - the job runner and job submission (see jobs.h).
 *
 * Workers are plain pthreads that sleep on a condition variable while the
 * queue is empty (woken by submissions, or every second to notice jobs
 * queued by another process). Each worker owns one slot: the id of the job
 * it runs and that job's cancel flags. The slots are the only state shared
 * with request threads, guarded by `lock`; the flags themselves are
 * atomics because the engine reads them from the training thread.
 *
 * Progress is written to the store at most every PROGRESS_INTERVAL
 * seconds (and at the end of each stage): a boosting round takes a few
 * milliseconds, far too often for a database write.
 *
 * The runner is one worker of the store's job queue: it claims, progresses
 * and finishes jobs under one worker id, made at start (hostname, pid and
 * a random part, so two processes - or one restarted - never share it),
 * and each write renews the job's lease for cfg.lease_seconds.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/clock.h"
#include "base/log.h"
#include "blob/blob.h"
#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/engine_json.h"
#include "domain/jobs.h"
#include "domain/models.h"
#include "domain/notifications.h"
#include "domain/train_params.h"
#include "store/store.h"

#define PROGRESS_INTERVAL 0.25
#define MAX_RESTARTS 1

typedef struct slot {
    hs_id job_id;        /* guarded by runner.lock; 0 = idle */
    atomic_int cancel;   /* read by the engine every round */
    atomic_int shutdown; /* the cancel is a shutdown: re-queue, don't cancel */
} slot;

struct hs_runner {
    hs_app *app;
    hs_runner_config cfg;
    char worker_id[HS_WORKER_ID_MAX]; /* immutable after start */
    int64_t lease_seconds;            /* immutable after start */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int stopping; /* guarded by lock */
    pthread_t *threads;
    slot *slots;
    unsigned n_threads;
};

typedef struct worker_arg {
    hs_runner *r;
    slot *s;
} worker_arg;

/* ---- submission ------------------------------------------------------------------ */

static hs_status check_capacity(hs_app *app, hs_error *err)
{
    int64_t counts[HS_JOB_STATES];
    hs_status st = hs_store_job_counts(app->store, counts, err);
    if (st != HS_OK)
        return st;
    if (counts[HS_JOB_QUEUED] >= (int64_t)app->limits.max_queued_jobs)
        return hs_fail(err, HS_ERR_BUSY,
                       "%lld jobs are already waiting; try again later",
                       (long long)counts[HS_JOB_QUEUED]);
    return HS_OK;
}

/* Writes a filled-in queued job and wakes a worker; frees it on failure. */
static hs_status queue_job(hs_app *app, hs_job_rec *job, hs_error *err)
{
    hs_status st = job->params_json
                       ? hs_store_job_create(app->store, job, err)
                       : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        hs_runner_wake(app->runner);
    else
        hs_job_rec_free(job);
    return st;
}

hs_status hs_jobs_submit_train(hs_app *app, const hs_user *viewer,
                               hs_id dataset_id, const char *algo,
                               const json_t *params, const char *name,
                               hs_job_rec *out, hs_error *err)
{
    hl_train_params p;
    memset(out, 0, sizeof *out);
    hs_status st = hs_train_params_from_json(params, algo, &p, err);
    if (st != HS_OK)
        return st;
    hs_dataset_rec ds;
    if ((st = hs_store_dataset_get(app->store, dataset_id, viewer->id,
                                   viewer->is_admin, &ds, err)) != HS_OK)
        return st;
    int usable = ds.deleted_at == 0;
    int labelled = 1;
    if (ds.profile_json) {
        json_t *prof = json_loads(ds.profile_json, 0, NULL);
        labelled = json_is_true(json_object_get(prof, "has_labels")) &&
                   json_object_size(json_object_get(prof, "class_counts")) >= 2;
        json_decref(prof);
    }
    char default_name[HS_DATASET_NAME_MAX];
    snprintf(default_name, sizeof default_name, "%.200s (%s)", ds.name, p.algo);
    hs_dataset_rec_free(&ds);
    if (!usable)
        return hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld is in the trash",
                       (long long)dataset_id);
    if (!labelled)
        return hs_fail_field(err, HS_ERR_INVALID, "dataset_id",
                             "dataset %lld cannot be trained on: it needs a "
                             "label column with at least two classes",
                             (long long)dataset_id);
    if ((st = check_capacity(app, err)) != HS_OK)
        return st;
    out->owner_id = viewer->id;
    snprintf(out->type, sizeof out->type, "train");
    snprintf(out->name, sizeof out->name, "%s",
             name && *name ? name : default_name);
    out->dataset_id = dataset_id;
    out->state = HS_JOB_QUEUED;
    out->created_at = hs_clock_now(app->clock);
    json_t *req = json_pack("{s:s, s:o}", "algo", p.algo,
                            "params", params ? json_incref((json_t *)params)
                                             : json_object());
    out->params_json = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    return queue_job(app, out, err);
}

hs_status hs_jobs_submit_diagnose(hs_app *app, const hs_user *viewer,
                                  hs_id model_id, const char *input_blob_key,
                                  const char *format, const char *name,
                                  hs_job_rec *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    hs_status st = check_capacity(app, err);
    if (st != HS_OK)
        return st;
    out->owner_id = viewer->id;
    snprintf(out->type, sizeof out->type, "diagnose");
    snprintf(out->name, sizeof out->name, "%s", name);
    snprintf(out->input_blob_key, sizeof out->input_blob_key, "%s",
             input_blob_key);
    out->model_id = model_id;
    out->state = HS_JOB_QUEUED;
    out->created_at = hs_clock_now(app->clock);
    json_t *params = json_pack("{s:s}", "format", format);
    out->params_json = params ? json_dumps(params, JSON_COMPACT) : NULL;
    json_decref(params);
    return queue_job(app, out, err);
}

hs_status hs_jobs_submit_diagnose_rows(hs_app *app, const hs_user *viewer,
                                       hs_id model_id, const json_t *rows,
                                       const char *name, hs_job_rec *out,
                                       hs_error *err)
{
    char key[HS_BLOB_KEY_MAX];
    char *text = json_dumps(rows, JSON_COMPACT);
    memset(out, 0, sizeof *out);
    if (!text)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status st = hs_blob_put(app->blobs, "upload", text, strlen(text), key,
                               err);
    free(text);
    if (st != HS_OK)
        return st;
    st = hs_jobs_submit_diagnose(app, viewer, model_id, key, "json", name, out,
                                 err);
    if (st != HS_OK)
        hs_blob_delete(app->blobs, key, NULL);
    return st;
}

hs_status hs_jobs_get(hs_app *app, hs_id id, const hs_user *viewer,
                      hs_job_rec *out, hs_error *err)
{
    return hs_store_job_get(app->store, id, viewer->id, viewer->is_admin, out,
                            err);
}

hs_status hs_jobs_list(hs_app *app, const hs_user *viewer, hs_job_rec **items,
                       size_t *n, hs_error *err)
{
    return hs_store_job_list(app->store, viewer->id, viewer->is_admin, items, n,
                             err);
}

hs_status hs_jobs_counts(hs_app *app, int64_t counts[HS_JOB_STATES],
                         hs_error *err)
{
    return hs_store_job_counts(app->store, counts, err);
}

hs_status hs_jobs_recover(hs_app *app, int64_t *requeued, int64_t *failed,
                          hs_error *err)
{
    return hs_store_job_recover(app->store, hs_clock_now(app->clock),
                                MAX_RESTARTS, requeued, failed, err);
}

hs_status hs_jobs_cancel(hs_app *app, hs_id id, const hs_user *viewer,
                         hs_job_rec *out, hs_error *err)
{
    hs_job_state state;
    memset(out, 0, sizeof *out);
    hs_status st = hs_store_job_cancel(app->store, id, viewer->id,
                                       viewer->is_admin, hs_clock_now(app->clock),
                                       &state, err);
    if (st != HS_OK)
        return st;
    if (state == HS_JOB_RUNNING)
        hs_runner_cancel(app->runner, id);
    return hs_store_job_get(app->store, id, viewer->id, viewer->is_admin, out,
                            err);
}

/* ---- running a training ------------------------------------------------------------ */

typedef struct progress_ctx {
    hs_runner *r;
    slot *s;
    hs_id job_id;
    unsigned units;     /* CV folds + final fit (+ refit) */
    unsigned cv_folds;  /* 0 without CV */
    double last_write;
    int stage_key;      /* stage * 1000 + fold: a change starts a new curve */
    json_t *train_loss, *valid_loss;
} progress_ctx;

static const char *stage_name(hl_train_stage st)
{
    return st == HL_STAGE_CV ? "cv" : st == HL_STAGE_REFIT ? "refit" : "train";
}

static int on_progress(const hl_train_progress *p, void *user)
{
    progress_ctx *c = user;
    /* The curve shown is the current fold's, then the final fit's with its
     * hold-out loss; the refit (no hold-out) keeps the final fit's curve,
     * which is the one that chose the number of rounds. */
    int key = (int)p->stage * 1000 + (int)p->fold;
    if (p->stage != HL_STAGE_REFIT) {
        if (key != c->stage_key) {
            json_array_clear(c->train_loss);
            json_array_clear(c->valid_loss);
            c->stage_key = key;
        }
        json_array_append_new(c->train_loss, json_real(p->train_loss));
        json_array_append_new(c->valid_loss, isfinite(p->valid_loss)
                                                 ? json_real(p->valid_loss)
                                                 : json_null());
    }
    double now = hl_clock_monotonic();
    if (now - c->last_write < PROGRESS_INTERVAL && p->round < p->rounds)
        return atomic_load(&c->s->cancel);
    c->last_write = now;
    unsigned unit = p->stage == HL_STAGE_CV      ? p->fold - 1
                    : p->stage == HL_STAGE_FINAL ? c->cv_folds
                                                 : c->units - 1;
    double progress = ((double)unit + (double)p->round / (double)p->rounds) /
                      (double)c->units;
    if (progress > 0.999 && p->stage != HL_STAGE_REFIT)
        progress = 0.999;
    json_t *losses = json_pack("{s:s, s:i, s:O, s:O}", "stage",
                               stage_name(p->stage), "fold", (int)p->fold,
                               "train", c->train_loss, "valid", c->valid_loss);
    char *text = losses ? json_dumps(losses, JSON_COMPACT | JSON_REAL_PRECISION(6))
                        : NULL;
    json_decref(losses);
    int cancel_requested = 0;
    hs_store_job_progress(c->r->app->store, c->job_id, c->r->worker_id,
                          hs_clock_now(c->r->app->clock), c->r->lease_seconds,
                          progress, p->round,
                          p->rounds, text, &cancel_requested, NULL);
    free(text);
    if (cancel_requested)
        atomic_store(&c->s->cancel, 1);
    return atomic_load(&c->s->cancel);
}

static json_t *attempt_json(const hl_train_params *p, const char *error)
{
    return json_pack("{s:o, s:o}", "params", hs_json_train_params(p),
                     "error", error ? json_string(error) : json_null());
}

/* Engine failures worth a second try: not the user's input, not a cancel. */
static int retryable(hl_status st)
{
    return st == HL_ERR_NOMEM || st == HL_ERR_IO || st == HL_ERR_INTERNAL;
}

typedef struct outcome {
    hs_job_state state;
    char error[HS_MESSAGE_MAX];
    const char *result_kind; /* HS_RESULT_*, NULL = none */
    hs_id result_id;
    json_t *attempts;
    int requeue; /* interrupted by shutdown */
} outcome;

static void train_attempts(hs_runner *r, slot *s, const hs_job_rec *job,
                           const hl_dataset *ds, hl_train_params *p,
                           hl_model **model, outcome *o)
{
    progress_ctx pc = {r, s, job->id, 1, 0, 0, -1, json_array(), json_array()};
    hl_train_control ctl = {on_progress, &pc, &s->cancel};
    for (int attempt = 1; attempt <= 2; attempt++) {
        hl_error herr;
        hl_error_clear(&herr);
        pc.cv_folds = p->cv_folds > 1 ? (unsigned)p->cv_folds : 0;
        pc.units = pc.cv_folds + 1 +
                   (p->refit && p->early_stopping_rounds > 0 ? 1 : 0);
        hl_status st;
        if (attempt == 1 && r->cfg.fail_first_attempt) {
            st = HL_ERR_INTERNAL;
            snprintf(herr.message, sizeof herr.message,
                     "injected failure (fail_first_attempt)");
        } else {
            st = hl_train(ds, p, &ctl, model, &herr);
        }
        if (st == HL_OK) {
            json_array_append_new(o->attempts, attempt_json(p, NULL));
            break;
        }
        if (st == HL_ERR_CANCELLED) {
            o->requeue = atomic_load(&s->shutdown);
            o->state = HS_JOB_CANCELLED;
            snprintf(o->error, sizeof o->error, "cancelled by the user");
            break;
        }
        json_array_append_new(o->attempts, attempt_json(p, herr.message));
        o->state = HS_JOB_FAILED;
        snprintf(o->error, sizeof o->error, "%.480s", herr.message);
        if (attempt == 2 || !retryable(st))
            break;
        hs_log(HS_LOG_WARN, "training failed; retrying with safer parameters",
               json_pack("{s:I, s:s}", "job_id", (json_int_t)job->id, "error",
                         herr.message));
        hl_train_params_safer(p);
        o->state = HS_JOB_RUNNING;
    }
    json_decref(pc.train_loss);
    json_decref(pc.valid_loss);
}

static void run_train(hs_runner *r, slot *s, const hs_job_rec *job, outcome *o)
{
    hs_app *app = r->app;
    hs_error err = {0};
    hl_error csv_err;
    hl_train_params p;
    hs_dataset_rec rec;
    hl_dataset *ds = NULL;
    hl_model *model = NULL;
    o->state = HS_JOB_FAILED;

    json_t *req = json_loads(job->params_json, 0, NULL);
    hs_status st = hs_train_params_from_json(
        json_object_get(req, "params"),
        json_string_value(json_object_get(req, "algo")), &p, &err);
    json_decref(req);
    if (st == HS_OK)
        st = hs_store_dataset_get(app->store, job->dataset_id, job->owner_id, 1,
                                  &rec, &err);
    if (st != HS_OK) {
        snprintf(o->error, sizeof o->error, "%.480s", err.message);
        return;
    }
    p.threads = r->cfg.train_threads;
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.require_label = 1;
    opt.max_bytes = app->limits.max_upload_bytes + 1;
    st = hs_datasets_load_blob(app, rec.blob_key, rec.name, &opt, &ds, &csv_err,
                               &err);
    if (st == HS_OK) {
        train_attempts(r, s, job, ds, &p, &model, o);
        hl_dataset_free(ds);
    } else {
        snprintf(o->error, sizeof o->error, "%.480s", err.message);
    }
    if (model) {
        hs_model_rec mrec;
        st = hs_models_save(app, job->owner_id, job->name, rec.id, job->id,
                            model, &mrec, &err);
        hl_model_free(model);
        if (st == HS_OK) {
            o->state = HS_JOB_SUCCEEDED;
            o->error[0] = '\0';
            o->result_kind = HS_RESULT_MODEL;
            o->result_id = mrec.id;
            hs_model_rec_free(&mrec);
        } else {
            o->state = HS_JOB_FAILED;
            snprintf(o->error, sizeof o->error, "storing the model: %.400s",
                     err.message);
        }
    }
    hs_dataset_rec_free(&rec);
}

/* The samples of a diagnose job: its input blob, a CSV or JSON rows. */
static hs_status diagnose_input(hs_app *app, const hs_job_rec *job,
                                const hl_model *m, hl_dataset **ds,
                                hl_warnings *warn, hs_error *err)
{
    json_t *params = json_loads(job->params_json, 0, NULL);
    int is_json = !strcmp(json_string_value(json_object_get(params, "format"))
                              ? json_string_value(json_object_get(params, "format"))
                              : "csv",
                          "json");
    json_decref(params);
    if (!is_json) {
        hl_csv_options opt;
        hl_error csv_err;
        hl_csv_options_init(&opt);
        opt.keep_unlabelled = 1;
        opt.max_bytes = app->limits.max_upload_bytes + 1;
        return hs_datasets_load_blob(app, job->input_blob_key, job->name, &opt,
                                     ds, &csv_err, err);
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    hs_status st = hs_blob_read_all(app->blobs, job->input_blob_key, &buf, &len,
                                    app->limits.max_json_bytes + 1, err);
    if (st != HS_OK)
        return st;
    json_t *rows = json_loadb((const char *)buf, len, 0, NULL);
    free(buf);
    json_t *details = NULL;
    st = hs_diag_rows_to_dataset(m, rows, ds, &details, warn, err);
    json_decref(details);
    json_decref(rows);
    return st;
}

static void run_diagnose(hs_runner *r, const hs_job_rec *job, outcome *o)
{
    hs_app *app = r->app;
    hs_error err = {0};
    hs_user owner = {.id = job->owner_id, .is_admin = 1};
    hs_model_ref *ref = NULL;
    hl_dataset *ds = NULL;
    hs_diag_result res = {0};
    hl_warnings warn = {0};
    o->state = HS_JOB_FAILED;
    hs_status st = hs_models_acquire(app, job->model_id, &owner, &ref, NULL, &err);
    if (st == HS_OK)
        st = diagnose_input(app, job, hs_model_ref_get(ref), &ds, &warn, &err);
    if (st == HS_OK)
        st = hs_diag_run(hs_model_ref_get(ref), ds, &warn, &res, &err);
    if (st == HS_OK) {
        hs_diagnosis_rec d;
        st = hs_diagnoses_store(app, job->owner_id, job->model_id, job->id,
                                job->name, &res, &d, &err);
        if (st == HS_OK) {
            o->state = HS_JOB_SUCCEEDED;
            o->result_kind = HS_RESULT_DIAGNOSIS;
            o->result_id = d.id;
            hs_diagnosis_rec_free(&d);
        }
    }
    if (st != HS_OK)
        snprintf(o->error, sizeof o->error, "%.480s", err.message);
    hs_diag_result_free(&res);
    hl_warnings_free(&warn);
    hl_dataset_free(ds);
    hs_models_release(app, ref);
}

static void notify_failure(hs_app *app, const hs_job_rec *job, const char *error)
{
    char msg[HS_MESSAGE_MAX];
    snprintf(msg, sizeof msg, "%s job %lld ('%.100s') failed: %.300s", job->type,
             (long long)job->id, job->name, error);
    hs_notifications_raise(app, "job_failed", msg, job->owner_id, NULL);
}

static void run_job(hs_runner *r, slot *s, const hs_job_rec *job)
{
    outcome o;
    memset(&o, 0, sizeof o);
    o.attempts = json_array();
    double t0 = hl_clock_monotonic();
    hs_log(HS_LOG_INFO, "job started",
           json_pack("{s:I, s:s}", "job_id", (json_int_t)job->id, "type",
                     job->type));
    if (!strcmp(job->type, "train"))
        run_train(r, s, job, &o);
    else if (!strcmp(job->type, "diagnose"))
        run_diagnose(r, job, &o);
    else {
        o.state = HS_JOB_FAILED;
        snprintf(o.error, sizeof o.error, "unknown job type '%s'", job->type);
    }
    hs_error err = {0};
    if (o.requeue) {
        hs_store_job_requeue(r->app->store, job->id, r->worker_id, &err);
        hs_log(HS_LOG_INFO, "job re-queued for the next start",
               json_pack("{s:I}", "job_id", (json_int_t)job->id));
        json_decref(o.attempts);
        return;
    }
    char *attempts = json_array_size(o.attempts)
                         ? json_dumps(o.attempts, JSON_COMPACT)
                         : NULL;
    json_decref(o.attempts);
    if (hs_store_job_finish(r->app->store, job->id, r->worker_id, o.state,
                            o.error, o.result_kind, o.result_id, attempts,
                            hs_clock_now(r->app->clock), &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot record a job's outcome",
               json_pack("{s:I, s:s}", "job_id", (json_int_t)job->id, "error",
                         err.message));
    free(attempts);
    if (o.state == HS_JOB_FAILED)
        notify_failure(r->app, job, o.error);
    hs_log(o.state == HS_JOB_FAILED ? HS_LOG_WARN : HS_LOG_INFO, "job finished",
           json_pack("{s:I, s:s, s:f, s:s}", "job_id", (json_int_t)job->id,
                     "state", hs_job_state_name(o.state), "seconds",
                     hl_clock_monotonic() - t0, "error", o.error));
}

/* ---- the workers -------------------------------------------------------------------- */

/* An idle worker renews this runner's leases (a diagnosis writes no
 * progress, and every thread here shares the worker id, so the runner's own
 * jobs are safe), then takes back the jobs of workers that stopped renewing
 * theirs - a process that crashed - so those run again without waiting for
 * the next start-up. */
static void take_back_lost_jobs(hs_runner *r)
{
    int64_t now = hs_clock_now(r->app->clock), requeued = 0, failed = 0;
    hs_error err = {0};
    if (hs_store_job_renew_leases(r->app->store, r->worker_id, now,
                                  r->lease_seconds, NULL, &err) != HS_OK ||
        hs_store_job_recover(r->app->store, now, MAX_RESTARTS, &requeued,
                             &failed, &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot recover interrupted jobs",
               json_pack("{s:s}", "error", err.message));
    else if (requeued || failed)
        hs_log(HS_LOG_WARN, "jobs of a lost worker taken back",
               json_pack("{s:I, s:I}", "requeued", (json_int_t)requeued,
                         "failed", (json_int_t)failed));
}

static void *worker_main(void *arg)
{
    worker_arg *wa = arg;
    hs_runner *r = wa->r;
    slot *s = wa->s;
    free(wa);
    for (;;) {
        pthread_mutex_lock(&r->lock);
        int stopping = r->stopping;
        pthread_mutex_unlock(&r->lock);
        if (stopping)
            break;
        hs_job_rec job;
        hs_error err = {0};
        hs_status st = hs_store_job_claim_next(
            r->app->store, r->worker_id, hs_clock_now(r->app->clock),
            r->lease_seconds, &job, &err);
        if (st != HS_OK) {
            if (st != HS_ERR_NOTFOUND)
                hs_log(HS_LOG_ERROR, "cannot claim a job",
                       json_pack("{s:s}", "error", err.message));
            else
                take_back_lost_jobs(r);
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 1;
            pthread_mutex_lock(&r->lock);
            if (!r->stopping)
                pthread_cond_timedwait(&r->wake, &r->lock, &until);
            pthread_mutex_unlock(&r->lock);
            continue;
        }
        pthread_mutex_lock(&r->lock);
        s->job_id = job.id;
        atomic_store(&s->cancel, job.cancel_requested);
        atomic_store(&s->shutdown, r->stopping);
        if (r->stopping)
            atomic_store(&s->cancel, 1);
        pthread_mutex_unlock(&r->lock);
        run_job(r, s, &job);
        pthread_mutex_lock(&r->lock);
        s->job_id = 0;
        pthread_mutex_unlock(&r->lock);
        hs_job_rec_free(&job);
    }
    return NULL;
}

/* hostname:pid:random - readable in the jobs table, and unique even for
 * a restarted process that got the same pid. */
static void make_worker_id(char id[HS_WORKER_ID_MAX])
{
    char host[256] = "";
    uint32_t nonce;
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    randombytes_buf(&nonce, sizeof nonce);
    snprintf(id, HS_WORKER_ID_MAX, "%.40s:%ld:%08x", host, (long)getpid(),
             (unsigned)nonce);
}

hs_status hs_runner_start(hs_app *app, const hs_runner_config *cfg,
                          hs_runner **out, hs_error *err)
{
    *out = NULL;
    hs_runner *r = calloc(1, sizeof *r);
    unsigned n = cfg->workers ? cfg->workers : 1;
    if (r) {
        r->threads = calloc(n, sizeof *r->threads);
        r->slots = calloc(n, sizeof *r->slots);
    }
    if (!r || !r->threads || !r->slots) {
        if (r) {
            free(r->threads);
            free(r->slots);
        }
        free(r);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    r->app = app;
    r->cfg = *cfg;
    r->lease_seconds =
        cfg->lease_seconds ? cfg->lease_seconds : HS_JOBS_LEASE_SECONDS;
    make_worker_id(r->worker_id);
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    for (unsigned i = 0; i < n; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa || (wa->r = r, wa->s = &r->slots[i],
                    pthread_create(&r->threads[i], NULL, worker_main, wa)) != 0) {
            free(wa);
            r->n_threads = i;
            hs_runner_stop(r);
            return hs_fail(err, HS_ERR_INTERNAL, "cannot start job workers");
        }
        r->n_threads = i + 1;
    }
    *out = r;
    return HS_OK;
}

void hs_runner_wake(hs_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

void hs_runner_cancel(hs_runner *r, hs_id job_id)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++)
        if (r->slots[i].job_id == job_id)
            atomic_store(&r->slots[i].cancel, 1);
    pthread_mutex_unlock(&r->lock);
}

unsigned hs_runner_running(hs_runner *r)
{
    unsigned n = 0;
    if (!r)
        return 0;
    pthread_mutex_lock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++)
        n += r->slots[i].job_id != 0;
    pthread_mutex_unlock(&r->lock);
    return n;
}

void hs_runner_stop(hs_runner *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->lock);
    r->stopping = 1;
    for (unsigned i = 0; i < r->n_threads; i++)
        if (r->slots[i].job_id) {
            atomic_store(&r->slots[i].shutdown, 1);
            atomic_store(&r->slots[i].cancel, 1);
        }
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r->threads);
    free(r->slots);
    free(r);
}
