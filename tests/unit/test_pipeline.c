/* test_pipeline.c - the pipeline job type's rules, run against a real store
 * and blob directory without the runner: a fake hs_job_run records every
 * progress report (and can raise the stop at a chosen phase).
 *
 * Rules pinned here: progress is one fraction over both steps (training
 * within [0, 0.85], diagnosing within [0.85, 1], never going back) and the
 * detail names the phase, keeps the training's loss curve while
 * diagnosing and names the model; a success's result is the diagnosis of
 * the dataset to diagnose by the model trained, both made by the job; a
 * stop during either step leaves no model and no diagnosis; a dataset to
 * diagnose that went to the trash fails the diagnose step naming it and
 * drops the model; a run of a job taken back from a crashed worker drops
 * what the lost run had made; submission refuses a dataset to diagnose without
 * the training KPIs and a rerun that brings its own parameters, and a rerun
 * takes its source's; the JOB view's step progress.
 */
#include <jansson.h>
#include <math.h>

#include "testutil.h"

#include "base/app.h"
#include "base/clock.h"
#include "blob/blob.h"
#include "domain/accounts.h"
#include "domain/datasets.h"
#include "domain/diagnoses.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "server/datadir.h"
#include "store/store.h"

typedef struct world {
    char dir[64];
    hs_datadir *dd;
    hs_app app;
    hs_auth_costs costs;
    hs_user owner;
    hs_id train_id, diag_id, narrow_id;
} world;

/* Rows of 3 classes told apart by k0 (k1, k2 noise); `drop_k2` leaves
 * KPI k2 out. */
static char *make_csv(size_t rows, unsigned seed, int drop_k2)
{
    size_t cap = rows * 64 + 64, used = 0;
    char *csv = malloc(cap);
    used += (size_t)snprintf(csv, cap,
                             drop_k2 ? "k0,k1,label\n" : "k0,k1,k2,label\n");
    for (size_t i = 0; i < rows; i++) {
        unsigned k = (unsigned)(i % 3),
                 noise = (unsigned)((i * 2654435761u + seed) % 97);
        if (drop_k2)
            used += (size_t)snprintf(csv + used, cap - used, "%u.%u,%u,c%u\n",
                                     k * 10, noise % 10, noise, k);
        else
            used +=
                (size_t)snprintf(csv + used, cap - used, "%u.%u,%u,%u,c%u\n",
                                 k * 10, noise % 10, noise, 97 - noise, k);
    }
    return csv;
}

static hs_id ingest(world *w, const char *name, char *csv)
{
    hs_error err = {0};
    hl_error csv_err;
    char key[HS_BLOB_KEY_MAX];
    hs_dataset_rec d;
    assert_int_equal(
        hs_blob_put(w->app.blobs, "upload", csv, strlen(csv), key, &err),
        HS_OK);
    assert_int_equal(hs_datasets_ingest(&w->app, w->owner.id, name, key,
                                        strlen(csv), &d, &csv_err, &err),
                     HS_OK);
    free(csv);
    hs_id id = d.id;
    hs_dataset_rec_free(&d);
    return id;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    hs_error err = {0};
    snprintf(w->dir, sizeof w->dir, "/tmp/healer-pipe-XXXXXX");
    assert_non_null(mkdtemp(w->dir));
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_datadir_open(w->dir, &w->dd, &err), HS_OK);
    w->costs = (hs_auth_costs)HS_AUTH_COSTS_TEST;
    w->app.store = w->dd->store;
    w->app.blobs = w->dd->blobs;
    w->app.clock = hs_clock_system();
    w->app.costs = &w->costs;
    w->app.job_types = hs_job_types;
    w->app.limits = (hs_limits){1 << 24, 1 << 20, 1000, 10, 0, 0, 0,
                                HS_DIAG_EXPLAIN_BUDGET_MS};
    assert_int_equal(hs_model_cache_new(4, &w->app.models, &err), HS_OK);
    assert_int_equal(hs_accounts_create_user(&w->app, hs_actor_cli(), "owner", "long enough 1",
                                             0, NULL, &w->owner.id, &err),
                     HS_OK);
    w->train_id = ingest(w, "train.csv", make_csv(300, 1, 0));
    w->diag_id = ingest(w, "diag.csv", make_csv(90, 7, 0));
    w->narrow_id = ingest(w, "narrow.csv", make_csv(90, 7, 1));
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    hs_model_cache_free(w->app.models);
    hs_datadir_close(w->dd);
    tu_rm_rf(w->dir);
    free(w);
    return 0;
}

/* ---- a fake run ---------------------------------------------------------- */

#define MAX_REPORTS 4096

typedef struct fake_run {
    hs_job_run run;
    atomic_int stop;
    const char *stop_at_phase; /* raise the stop on the first report of it */
    size_t n;
    double progress[MAX_REPORTS];
    char phase[MAX_REPORTS][16];
    int has_model[MAX_REPORTS], has_curve[MAX_REPORTS];
} fake_run;

static int fake_report(hs_job_run *run, double progress, int64_t round,
                       int64_t rounds, char *(*render)(void *),
                       void *render_ctx, int force)
{
    fake_run *f = (fake_run *)run;
    (void)round;
    (void)rounds;
    (void)force;
    char *text = render ? render(render_ctx) : NULL;
    json_t *d = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    const char *phase = json_string_value(json_object_get(d, "pipeline_phase"));
    if (f->n < MAX_REPORTS) {
        f->progress[f->n] = progress;
        snprintf(f->phase[f->n], sizeof f->phase[0], "%s", phase ? phase : "");
        f->has_model[f->n] =
            json_integer_value(json_object_get(d, "model_id")) > 0;
        f->has_curve[f->n] = json_array_size(json_object_get(d, "train")) > 0;
        f->n++;
    }
    if (f->stop_at_phase && phase && !strcmp(phase, f->stop_at_phase))
        atomic_store(&f->stop, 1);
    json_decref(d);
    return atomic_load(&f->stop);
}

static int fake_attempt(hs_job_run *run, hs_job_attempt *a)
{
    (void)run;
    (void)a;
    return 0;
}

/* Submits a pipeline through the type and stores it as the job service
 * would; *job is the stored record. */
static hs_status submit(world *w, json_t *request, hs_job_rec *job,
                        hs_error *err)
{
    memset(job, 0, sizeof *job);
    hs_status st =
        hs_job_type_pipeline.prepare(&w->app, &w->owner, request, job, err);
    json_decref(request);
    if (st != HS_OK)
        return st;
    job->owner_id = w->owner.id;
    snprintf(job->type, sizeof job->type, "pipeline");
    job->state = HS_JOB_RUNNING;
    job->created_at = 1;
    assert_int_equal(hs_store_job_create(w->app.store, job, err), HS_OK);
    return HS_OK;
}

static json_t *request(const world *w, hs_id diag_id)
{
    return json_pack("{s:s, s:I, s:I, s:s, s:{s:i, s:i}}", "type", "pipeline",
                     "dataset_id", (json_int_t)w->train_id,
                     "diagnose_dataset_id", (json_int_t)diag_id, "algo", "gbdt",
                     "params", "rounds", 20, "early_stopping_rounds", 0);
}

static void run_job(world *w, const hs_job_rec *job, fake_run *f,
                    hs_job_outcome *o)
{
    f->run = (hs_job_run){.app = &w->app,
                          .job = job,
                          .stop = &f->stop,
                          .train_threads = 1,
                          .report = fake_report,
                          .record_attempt = fake_attempt};
    memset(o, 0, sizeof *o);
    hs_job_type_pipeline.run(&f->run, o);
}

/* How many models and diagnoses job_id made that still exist. */
static void made_by(world *w, hs_id job_id, size_t *models, size_t *diagnoses)
{
    hs_error err = {0};
    hs_model_rec *m = NULL;
    hs_diagnosis_rec *d = NULL;
    size_t nm = 0, nd = 0;
    *models = *diagnoses = 0;
    assert_int_equal(hs_models_list(&w->app, &w->owner, 1, &m, &nm, &err), HS_OK);
    for (size_t i = 0; i < nm; i++)
        *models += m[i].job_id == job_id;
    assert_int_equal(hs_diagnoses_list(&w->app, &w->owner, 1, &d, &nd, &err),
                     HS_OK);
    for (size_t i = 0; i < nd; i++)
        *diagnoses += d[i].job_id == job_id;
    hs_model_list_free(m, nm);
    hs_diagnosis_list_free(d, nd);
}

/* ---- the tests ----------------------------------------------------------- */

static void runs_both_steps_with_one_progress(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    fake_run *f = calloc(1, sizeof *f);
    hs_job_outcome o;
    assert_int_equal(submit(w, request(w, w->diag_id), &job, &err), HS_OK);
    run_job(w, &job, f, &o);
    assert_int_equal(o.state, HS_JOB_SUCCEEDED);
    assert_true(o.result_id > 0);
    int seen_training = 0, seen_diagnosing = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (i)
            assert_true(f->progress[i] >= f->progress[i - 1] - 1e-12);
        if (!strcmp(f->phase[i], "training")) {
            seen_training = 1;
            assert_true(f->progress[i] <= 0.85 + 1e-12);
            assert_false(f->has_model[i]);
        } else {
            assert_string_equal(f->phase[i], "diagnosing");
            seen_diagnosing = 1;
            assert_true(f->progress[i] >= 0.85 - 1e-12 && f->progress[i] <= 1);
            assert_true(f->has_model[i]);
            assert_true(f->has_curve[i]); /* the training's curve stays */
        }
    }
    assert_true(seen_training && seen_diagnosing);
    hs_diagnosis_rec d;
    assert_int_equal(
        hs_diagnoses_get(&w->app, o.result_id, &w->owner, &d, &err), HS_OK);
    assert_int_equal(d.job_id, job.id);
    assert_int_equal(d.rows, 90);
    assert_string_equal(d.name, "diag.csv");
    hs_model_rec m;
    assert_int_equal(hs_models_get(&w->app, d.model_id, &w->owner, &m, &err),
                     HS_OK);
    assert_int_equal(m.job_id, job.id);
    assert_int_equal(m.dataset_id, w->train_id);
    assert_string_equal(m.name, "train.csv (gbdt) -> diag.csv");
    hs_model_rec_free(&m);
    hs_diagnosis_rec_free(&d);
    hs_job_rec_free(&job);
    free(f);
}

static void a_stop_in_either_step_leaves_nothing(void **state)
{
    world *w = *state;
    static const char *const phases[] = {"training", "diagnosing"};
    for (size_t i = 0; i < 2; i++) {
        hs_error err = {0};
        hs_job_rec job;
        fake_run *f = calloc(1, sizeof *f);
        hs_job_outcome o;
        size_t models, diagnoses;
        assert_int_equal(submit(w, request(w, w->diag_id), &job, &err), HS_OK);
        f->stop_at_phase = phases[i];
        run_job(w, &job, f, &o);
        assert_int_equal(o.state, HS_JOB_CANCELLED);
        assert_int_equal(o.result_id, 0);
        assert_string_equal(o.error, "cancelled by the user");
        made_by(w, job.id, &models, &diagnoses);
        assert_int_equal(models, 0);
        assert_int_equal(diagnoses, 0);
        hs_job_rec_free(&job);
        free(f);
    }
}

static void a_trashed_dataset_to_diagnose_fails_its_step(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    hs_dataset_rec back;
    fake_run *f = calloc(1, sizeof *f);
    hs_job_outcome o;
    size_t models, diagnoses;
    hs_id diag = ingest(w, "gone.csv", make_csv(60, 3, 0));
    assert_int_equal(submit(w, request(w, diag), &job, &err), HS_OK);
    assert_int_equal(hs_datasets_trash(&w->app, diag, &w->owner, NULL, &back, &err),
                     HS_OK);
    hs_dataset_rec_free(&back);
    run_job(w, &job, f, &o);
    assert_int_equal(o.state, HS_JOB_FAILED);
    assert_non_null(strstr(o.error, "diagnosing: "));
    assert_non_null(strstr(o.error, "gone.csv"));
    assert_non_null(strstr(o.error, "trash"));
    made_by(w, job.id, &models, &diagnoses);
    assert_int_equal(models, 0);
    assert_int_equal(diagnoses, 0);
    /* The view says which step failed. */
    hs_job_rec stored;
    assert_int_equal(
        hs_store_job_get(w->app.store, job.id, w->owner.id, 0, &stored, &err),
        HS_OK);
    stored.state = HS_JOB_FAILED;
    free(stored.losses_json);
    stored.losses_json =
        strdup("{\"pipeline_phase\":\"diagnosing\",\"step\":2,\"model_id\":5}");
    stored.progress = 0.925;
    json_t *detail = json_loads(stored.losses_json, 0, NULL);
    json_t *view = hs_job_type_pipeline.describe(&stored, detail);
    json_decref(detail);
    assert_string_equal(json_string_value(json_object_get(view, "failed_step")),
                        "diagnosing");
    assert_true(json_is_null(json_object_get(view, "model_id"))); /* dropped */
    assert_true(fabs(json_real_value(json_object_get(view, "step_progress")) -
                     0.5) < 1e-9);
    json_decref(view);
    hs_job_rec_free(&stored);
    hs_job_rec_free(&job);
    free(f);
}

/* A run of a job taken back from a crashed worker starts clean: what the
 * lost run had made (here: a whole model and diagnosis) goes. */
static void a_restarted_run_drops_leftovers(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    fake_run *f = calloc(1, sizeof *f);
    hs_job_outcome first, second;
    size_t models, diagnoses;
    hs_model_rec m;
    assert_int_equal(submit(w, request(w, w->diag_id), &job, &err), HS_OK);
    run_job(w, &job, f, &first);
    assert_int_equal(first.state, HS_JOB_SUCCEEDED);
    hs_diagnosis_rec d;
    assert_int_equal(
        hs_diagnoses_get(&w->app, first.result_id, &w->owner, &d, &err), HS_OK);
    hs_id old_model = d.model_id;
    hs_diagnosis_rec_free(&d);
    job.restarts = 1;
    memset(f, 0, sizeof *f);
    run_job(w, &job, f, &second);
    assert_int_equal(second.state, HS_JOB_SUCCEEDED);
    made_by(w, job.id, &models, &diagnoses);
    assert_int_equal(models, 1);
    assert_int_equal(diagnoses, 1);
    assert_int_equal(
        hs_diagnoses_get(&w->app, first.result_id, &w->owner, &d, &err),
        HS_ERR_NOTFOUND);
    assert_int_equal(hs_models_get(&w->app, old_model, &w->owner, &m, &err),
                     HS_ERR_NOTFOUND);
    hs_job_rec_free(&job);
    free(f);
}

static void submission_checks_and_reruns(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job, again;
    /* A dataset to diagnose without every training KPI. */
    assert_int_equal(submit(w, request(w, w->narrow_id), &job, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "diagnose_dataset_id");
    assert_non_null(strstr(err.message, "narrow.csv"));
    assert_non_null(strstr(err.message, "'k2'"));
    /* A rerun takes its source's parameters and refuses its own. */
    assert_int_equal(submit(w, request(w, w->diag_id), &job, &err), HS_OK);
    json_t *rerun = json_pack("{s:I, s:I, s:I}", "rerun_of", (json_int_t)job.id,
                              "dataset_id", (json_int_t)w->train_id,
                              "diagnose_dataset_id", (json_int_t)w->diag_id);
    json_t *own = json_deep_copy(rerun);
    json_object_set_new(own, "params", json_object());
    memset(&err, 0, sizeof err);
    assert_int_equal(submit(w, own, &again, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "params");
    assert_int_equal(submit(w, rerun, &again, &err), HS_OK);
    json_t *p = json_loads(again.params_json, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(p, "rerun_of")),
                     job.id);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(p, "params"), "rounds")),
                     20);
    json_decref(p);
    hs_job_rec_free(&again);
    hs_job_rec_free(&job);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(runs_both_steps_with_one_progress,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_stop_in_either_step_leaves_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_trashed_dataset_to_diagnose_fails_its_step, setup, teardown),
        cmocka_unit_test_setup_teardown(a_restarted_run_drops_leftovers, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(submission_checks_and_reruns, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("pipeline", tests, NULL, NULL);
}
