/* test_rca_job.c - the rca job type and the analyses it stores, run
 * against a real store and blob directory without the runner: a fake
 * hs_job_run records every progress report (and can raise the stop after
 * some incidents).
 *
 * Rules pinned here: a run reports "reading", then "diagnosing" with the
 * incidents done rising to the total and progress never going back within
 * [0.1, 0.9], then "storing"; a success stores one analysis named after the
 * job with its inputs, counts and summary, whose incidents read one by one
 * (the engine's object with index and total in front) and by page and
 * search; a stop while diagnosing stores nothing; discarding a result
 * deletes the analysis and its three blobs; a damaged incidents blob is an
 * error, never a crash; one incident, a page and a search of a million
 * incidents never read the whole index; submission checks the model's normal class and
 * the KPIs before anything is queued, and the incidents' nodes from the
 * ids kept at upload, without reading the file.
 */
#include <jansson.h>
#include <math.h>
#include <sys/resource.h>

#include "testutil.h"

#include "base/app.h"
#include "base/clock.h"
#include "blob/blob.h"
#include "domain/accounts.h"
#include "domain/analyses.h"
#include "domain/datasets.h"
#include "domain/diag_explain.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "domain/topologies.h"
#include "server/datadir.h"
#include "store/store.h"

#define INCIDENTS 40

typedef struct world {
    char dir[64];
    hs_datadir *dd;
    hs_app app;
    hs_auth_costs costs;
    hs_user owner;
    hs_id model_id, topology_id, dataset_id;
} world;

/* Labelled rows: normal (k0 and k1 low), disk_full (k0 high), cpu (k1
 * high). */
static char *training_csv(void)
{
    size_t cap = 64 * 600, used = 0;
    char *csv = malloc(cap);
    static const char *const labels[] = {"normal", "disk_full", "cpu"};
    used += (size_t)snprintf(csv, cap, "k0,k1,label\n");
    for (unsigned i = 0; i < 600; i++) {
        unsigned c = i % 3, noise = (i * 2654435761u) % 100;
        used += (size_t)snprintf(csv + used, cap - used, "%u.%02u,%u.%02u,%s\n",
                                 c == 1 ? 50 : 1, noise, c == 2 ? 50 : 1,
                                 99 - noise, labels[c]);
    }
    return csv;
}

/* INCIDENTS incidents on the chain web -> api -> db: db sick first, then
 * api, then web, each 3 rows 30 s apart. */
static char *incident_csv(void)
{
    size_t cap = 96 * 9 * INCIDENTS + 64, used = 0;
    char *csv = malloc(cap);
    static const char *const nodes[] = {"db", "api", "web"};
    used += (size_t)snprintf(csv, cap, "incident_id,node,timestamp,k0,k1\n");
    for (unsigned k = 0; k < INCIDENTS; k++)
        for (unsigned n = 0; n < 3; n++)
            for (unsigned s = 0; s < 3; s++) {
                int sick = s >= n;
                used += (size_t)snprintf(
                    csv + used, cap - used, "inc-%02u,%s,%u,%u.5,%u.5\n", k,
                    nodes[n], 1700000000 + 3600 * k + 30 * s, sick ? 50 : 1,
                    1 + s);
            }
    return csv;
}

static const char TOPOLOGY[] =
    "{\"nodes\": [{\"id\": \"web\"}, {\"id\": \"api\"}, {\"id\": \"db\", "
    "\"kind\": \"database\"}], \"edges\": [{\"from\": \"web\", \"to\": "
    "\"api\"}, {\"from\": \"api\", \"to\": \"db\"}]}";

static void put(world *w, const char *text, char key[HS_BLOB_KEY_MAX])
{
    hs_error err = {0};
    assert_int_equal(
        hs_blob_put(w->app.blobs, "upload", text, strlen(text), key, &err),
        HS_OK);
}

static hs_id save_model(world *w)
{
    hs_error err = {0};
    hl_error herr;
    hl_dataset *ds = NULL;
    hl_model *m = NULL;
    hl_train_params p;
    char *csv = training_csv();
    assert_int_equal(
        hl_dataset_parse_csv(csv, strlen(csv), "train.csv", NULL, &ds, &herr),
        HL_OK);
    free(csv);
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_number(&p, "rounds", 20, &herr),
                     HL_OK);
    p.threads = 1;
    assert_int_equal(hl_train(ds, &p, NULL, &m, &herr), HL_OK);
    hs_model_rec rec;
    assert_int_equal(
        hs_models_save(&w->app, w->owner.id, "m", 0, 0, m, NULL, &rec, &err),
        HS_OK);
    hs_id id = rec.id;
    hs_model_rec_free(&rec);
    hl_model_free(m);
    hl_dataset_free(ds);
    return id;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    hs_error err = {0};
    char key[HS_BLOB_KEY_MAX];
    hl_error herr;
    snprintf(w->dir, sizeof w->dir, "/tmp/healer-rca-XXXXXX");
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
    w->model_id = save_model(w);
    hs_topology_rec t;
    put(w, TOPOLOGY, key);
    assert_int_equal(hs_topologies_upload(&w->app, w->owner.id, "chain.json",
                                          key, strlen(TOPOLOGY), &t, &herr,
                                          &err),
                     HS_OK);
    w->topology_id = t.id;
    hs_topology_rec_free(&t);
    char *csv = incident_csv();
    hs_dataset_rec d;
    put(w, csv, key);
    assert_int_equal(hs_datasets_ingest(&w->app, w->owner.id, "inc.csv", key,
                                        strlen(csv), &d, &herr, &err),
                     HS_OK);
    free(csv);
    w->dataset_id = d.id;
    hs_dataset_rec_free(&d);
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

#define MAX_REPORTS 1024

typedef struct fake_run {
    hs_job_run run;
    atomic_int stop;
    long stop_after; /* raise the stop once this many incidents are done */
    size_t n;
    double progress[MAX_REPORTS];
    char stage[MAX_REPORTS][16];
    long done[MAX_REPORTS], total[MAX_REPORTS];
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
    long done = (long)json_integer_value(json_object_get(d, "incidents_done"));
    if (f->n < MAX_REPORTS) {
        const char *stage = json_string_value(json_object_get(d, "stage"));
        f->progress[f->n] = progress;
        snprintf(f->stage[f->n], sizeof f->stage[0], "%s", stage ? stage : "");
        f->done[f->n] = done;
        f->total[f->n] =
            (long)json_integer_value(json_object_get(d, "incidents"));
        f->n++;
    }
    if (f->stop_after > 0 && done >= f->stop_after)
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

static json_t *request(const world *w, const char *normal)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:{s:s, s:i}}", "type", "rca",
                     "model_id", (json_int_t)w->model_id, "topology_id",
                     (json_int_t)w->topology_id, "dataset_id",
                     (json_int_t)w->dataset_id, "params", "normal", normal,
                     "top", 2);
}

/* Prepares a request through the type and stores the job as the job
 * service would. */
static hs_status submit(world *w, json_t *req, hs_job_rec *job, hs_error *err)
{
    memset(job, 0, sizeof *job);
    hs_status st = hs_job_type_rca.prepare(&w->app, &w->owner, req, job, err);
    json_decref(req);
    if (st != HS_OK)
        return st;
    job->owner_id = w->owner.id;
    snprintf(job->type, sizeof job->type, "rca");
    job->state = HS_JOB_RUNNING;
    job->created_at = 1;
    assert_int_equal(hs_store_job_create(w->app.store, job, err), HS_OK);
    return HS_OK;
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
    hs_job_type_rca.run(&f->run, o);
}

/* The analyses job_id made that still exist. */
static size_t made_by(world *w, hs_id job_id)
{
    hs_error err = {0};
    hs_analysis_rec *a = NULL;
    size_t n = 0, mine = 0;
    assert_int_equal(hs_analyses_list(&w->app, &w->owner, 1, &a, &n, &err),
                     HS_OK);
    for (size_t i = 0; i < n; i++)
        mine += a[i].job_id == job_id;
    hs_analysis_list_free(a, n);
    return mine;
}

/* ---- the tests ----------------------------------------------------------- */

static void run_reports_and_stores(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    fake_run *f = calloc(1, sizeof *f);
    hs_job_outcome o;
    assert_int_equal(submit(w, request(w, "normal"), &job, &err), HS_OK);
    assert_int_equal(job.topology_id, w->topology_id);
    assert_string_equal(job.name, "inc.csv on chain.json");
    run_job(w, &job, f, &o);
    assert_int_equal(o.state, HS_JOB_SUCCEEDED);
    assert_true(f->n >= 3);
    assert_string_equal(f->stage[0], "reading");
    assert_string_equal(f->stage[f->n - 1], "storing");
    long last_done = 0;
    for (size_t i = 1; i < f->n; i++) {
        assert_true(f->progress[i] >= f->progress[i - 1]);
        if (!strcmp(f->stage[i], "diagnosing")) {
            assert_true(f->progress[i] >= 0.1 && f->progress[i] <= 0.9);
            assert_int_equal(f->total[i], INCIDENTS);
            assert_true(f->done[i] >= last_done);
            last_done = f->done[i];
        }
    }
    assert_int_equal(f->done[f->n - 1], INCIDENTS);

    hs_analysis_rec a;
    assert_int_equal(hs_analyses_get(&w->app, o.result_id, &w->owner, &a, &err),
                     HS_OK);
    assert_int_equal(a.job_id, job.id);
    assert_int_equal(a.model_id, w->model_id);
    assert_int_equal(a.topology_id, w->topology_id);
    assert_int_equal(a.dataset_id, w->dataset_id);
    assert_int_equal(a.incidents, INCIDENTS);
    assert_int_equal(a.topology_nodes, 3);
    assert_int_equal(a.top, 2);
    assert_string_equal(a.name, "inc.csv on chain.json");
    json_t *summary = json_loads(a.summary_json, 0, NULL);
    json_int_t counted = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(summary, "faults"), k, v) counted +=
        json_integer_value(v);
    assert_int_equal(counted + json_integer_value(json_object_get(
                                   summary, "no_abnormal")) +
                         json_integer_value(
                             json_object_get(summary, "unknown_faults")),
                     INCIDENTS);
    json_decref(summary);

    /* One incident: the engine's object with index and total in front. */
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(hs_analyses_incident(&w->app, &a, 3, &text, &len, &err),
                     HS_OK);
    assert_int_equal(strlen(text), len);
    json_t *inc = json_loads(text, 0, NULL);
    assert_non_null(inc);
    assert_int_equal(json_integer_value(json_object_get(inc, "index")), 3);
    assert_int_equal(json_integer_value(json_object_get(inc, "total")),
                     INCIDENTS);
    assert_string_equal(json_string_value(json_object_get(inc, "incident_id")),
                        "inc-03");
    assert_int_equal(json_array_size(json_object_get(inc, "nodes")), 3);
    json_decref(inc);
    free(text);
    assert_int_equal(
        hs_analyses_incident(&w->app, &a, INCIDENTS, &text, &len, &err),
        HS_ERR_NOTFOUND);

    /* Pages and search. */
    json_t *page = NULL;
    assert_int_equal(
        hs_analyses_incidents(&w->app, &a, NULL, 38, 5, &page, &err), HS_OK);
    assert_int_equal(json_integer_value(json_object_get(page, "total")),
                     INCIDENTS);
    assert_int_equal(json_array_size(json_object_get(page, "items")), 2);
    json_decref(page);
    assert_int_equal(
        hs_analyses_incidents(&w->app, &a, "INC-1", 0, 100, &page, &err),
        HS_OK);
    assert_int_equal(json_integer_value(json_object_get(page, "total")), 10);
    json_t *first = json_array_get(json_object_get(page, "items"), 0);
    assert_int_equal(json_integer_value(json_object_get(first, "index")), 10);
    assert_true(json_array_size(json_object_get(first, "ranks")) <= 2);
    json_decref(page);
    hs_analysis_rec_free(&a);
    hs_job_rec_free(&job);
    free(f);
}

static void stop_keeps_nothing(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    fake_run *f = calloc(1, sizeof *f);
    hs_job_outcome o;
    assert_int_equal(submit(w, request(w, "normal"), &job, &err), HS_OK);
    f->stop_after = 3;
    run_job(w, &job, f, &o);
    assert_int_equal(o.state, HS_JOB_CANCELLED);
    assert_int_equal(o.result_id, 0);
    assert_true(f->done[f->n - 1] < INCIDENTS);
    assert_int_equal(made_by(w, job.id), 0);
    hs_job_rec_free(&job);
    free(f);
}

static void discard_deletes_blobs(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    fake_run *f = calloc(1, sizeof *f);
    hs_job_outcome o;
    hs_analysis_rec a;
    assert_int_equal(submit(w, request(w, "normal"), &job, &err), HS_OK);
    run_job(w, &job, f, &o);
    assert_int_equal(o.state, HS_JOB_SUCCEEDED);
    assert_int_equal(hs_analyses_get(&w->app, o.result_id, &w->owner, &a, &err),
                     HS_OK);
    hs_job_type_rca.discard(&w->app, &job, o.result_id);
    assert_int_equal(made_by(w, job.id), 0);
    const char *keys[] = {a.csv_blob_key, a.json_blob_key,
                          a.incidents_blob_key};
    for (size_t i = 0; i < 3; i++) {
        int exists = 1;
        assert_int_equal(hs_blob_exists(w->app.blobs, keys[i], &exists, &err),
                         HS_OK);
        assert_false(exists);
    }
    hs_analysis_rec_free(&a);
    hs_job_rec_free(&job);
    free(f);
}

/* An incidents blob that is not what the store wrote: an error each way
 * it is read, never a read past its end. */
static void damaged_incidents_blob(void **state)
{
    world *w = *state;
    hs_error err = {0};
    /* Empty; a head alone; more entries than bytes; an entry whose
     * object runs past the end; one whose keys do; another magic. */
#define ENTRY(json_len, keys_off)                                              \
    "\x40\0\0\0\0\0\0\0" json_len "\x40\0\0\0\0\0\0\0"                         \
    "\x02\0\0\0\0\0\0\0" keys_off "\x01\0\0\0\x01\0\0\0"
    static const char *const junk[] = {
        "",
        "HSRCAIX2",
        "HSRCAIX2\x05\0\0\0\0\0\0\0",
        "HSRCAIX2\x01\0\0\0\0\0\0\0" ENTRY("\xff\xff\0\0\0\0\0\0",
                                           "\x40\0\0\0\0\0\0\0") "{}xy",
        "HSRCAIX2\x01\0\0\0\0\0\0\0" ENTRY("\x02\0\0\0\0\0\0\0",
                                           "\xf0\0\0\0\0\0\0\0") "{}xy",
        "NOTMAGIC\0\0\0\0\0\0\0\0"};
    static const size_t lens[] = {0, 8, 16, 16 + 48 + 4, 16 + 48 + 4, 16};
#undef ENTRY
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        hs_analysis_rec a = {0};
        hs_blob_writer *bw = NULL;
        uint64_t size;
        assert_int_equal(
            hs_blob_writer_open(w->app.blobs, "rca_incidents", 0, &bw, &err),
            HS_OK);
        if (lens[i])
            assert_int_equal(hs_blob_write(bw, junk[i], lens[i], &err), HS_OK);
        assert_int_equal(hs_blob_commit(bw, a.incidents_blob_key, &size, &err),
                         HS_OK);
        a.id = 77;
        char *text = NULL;
        size_t len = 0;
        json_t *page = NULL;
        hs_status st = hs_analyses_incident(&w->app, &a, 0, &text, &len, &err);
        assert_true(st == HS_ERR_INTERNAL || st == HS_ERR_NOTFOUND);
        assert_null(text);
        st = hs_analyses_incidents(&w->app, &a, "x", 0, 10, &page, &err);
        assert_true(st == HS_ERR_INTERNAL || (st == HS_OK && page));
        json_decref(page);
        hs_blob_delete(w->app.blobs, a.incidents_blob_key, NULL);
    }
}

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* An analysis of a million incidents (an index of 48 MB): one incident
 * and a page are read without the whole index (the process's peak memory
 * grows by far less than it), entry by entry; a search crosses the
 * index's chunks. Every entry points at the same object, item and keys,
 * except that every 1,000th incident's id is "hit". */
static void large_incidents_blob(void **state)
{
    world *w = *state;
    hs_error err = {0};
    enum { N = 1000000 };
    static const char obj[] = "{\"incident_id\": \"inc\", \"observed\": 1}";
    static const char item[] = "{\"incident_id\":\"inc\",\"ranks\":[]}";
    const uint64_t data = 16 + (uint64_t)N * 48;
    const uint64_t obj_off = data, item_off = obj_off + sizeof obj - 1;
    const uint64_t keys_off = item_off + sizeof item - 1; /* "inc" "db" */
    const uint64_t hit_off = keys_off + 5;                /* "hit" "db" */
    hs_analysis_rec a = {0};
    hs_blob_writer *bw = NULL;
    uint64_t size;
    unsigned char head[16], chunk[1000 * 48];
    memcpy(head, "HSRCAIX2", 8);
    put_le(head + 8, N, 8);
    assert_int_equal(
        hs_blob_writer_open(w->app.blobs, "rca_incidents", 0, &bw, &err),
        HS_OK);
    assert_int_equal(hs_blob_write(bw, head, sizeof head, &err), HS_OK);
    for (size_t first = 0; first < N; first += 1000) {
        for (size_t k = 0; k < 1000; k++) {
            unsigned char *e = chunk + k * 48;
            put_le(e, obj_off, 8);
            put_le(e + 8, sizeof obj - 1, 8);
            put_le(e + 16, item_off, 8);
            put_le(e + 24, sizeof item - 1, 8);
            put_le(e + 32, (first + k) % 1000 == 999 ? hit_off : keys_off, 8);
            put_le(e + 40, 3, 4);
            put_le(e + 44, 2, 4);
        }
        assert_int_equal(hs_blob_write(bw, chunk, sizeof chunk, &err), HS_OK);
    }
    assert_int_equal(hs_blob_write(bw, obj, sizeof obj - 1, &err), HS_OK);
    assert_int_equal(hs_blob_write(bw, item, sizeof item - 1, &err), HS_OK);
    assert_int_equal(hs_blob_write(bw, "incdbhitdb", 10, &err), HS_OK);
    assert_int_equal(hs_blob_commit(bw, a.incidents_blob_key, &size, &err),
                     HS_OK);
    a.id = 78;

    long before = max_rss_kb();
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(
        hs_analyses_incident(&w->app, &a, N - 1, &text, &len, &err), HS_OK);
    json_t *one = json_loadb(text, len, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(one, "index")), N - 1);
    assert_int_equal(json_integer_value(json_object_get(one, "total")), N);
    assert_string_equal(
        json_string_value(json_object_get(one, "incident_id")), "inc");
    json_decref(one);
    free(text);
    assert_int_equal(hs_analyses_incident(&w->app, &a, N, &text, &len, &err),
                     HS_ERR_NOTFOUND);
    json_t *page = NULL;
    assert_int_equal(
        hs_analyses_incidents(&w->app, &a, NULL, N - 300, 500, &page, &err),
        HS_OK);
    assert_int_equal(json_integer_value(json_object_get(page, "total")), N);
    json_t *items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 300);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(items, 299), "index")),
                     N - 1);
    json_decref(page);
    /* The index is 46,875 KiB: reading it whole would show here. */
    assert_true(max_rss_kb() - before < 8 * 1024);

    /* Search: the 1,000 "hit" incidents, a page across the chunks. */
    assert_int_equal(
        hs_analyses_incidents(&w->app, &a, "HIT", 300, 2, &page, &err),
        HS_OK);
    assert_int_equal(json_integer_value(json_object_get(page, "total")), 1000);
    items = json_object_get(page, "items");
    assert_int_equal(json_array_size(items), 2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(items, 0), "index")),
                     300 * 1000 + 999);
    json_decref(page);
    hs_blob_delete(w->app.blobs, a.incidents_blob_key, NULL);
}

static void submission_checks(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    assert_int_equal(submit(w, request(w, "healthy"), &job, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "params.normal");
    assert_non_null(strstr(err.message, "normal"));
    json_t *req = request(w, "normal");
    json_object_set_new(json_object_get(req, "params"), "skew", json_real(-1));
    memset(&err, 0, sizeof err);
    assert_int_equal(submit(w, req, &job, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "params.skew");
}

/* An incident dataset ingested from text (as an upload), its id. */
static hs_id ingest(world *w, const char *csv)
{
    hs_error err = {0};
    hl_error herr;
    char key[HS_BLOB_KEY_MAX];
    hs_dataset_rec d;
    put(w, csv, key);
    assert_int_equal(hs_datasets_ingest(&w->app, w->owner.id, "more.csv", key,
                                        strlen(csv), &d, &herr, &err),
                     HS_OK);
    hs_id id = d.id;
    hs_dataset_rec_free(&d);
    return id;
}

/* The dataset's file removed from under it. */
static void drop_file(world *w, hs_id dataset_id)
{
    hs_error err = {0};
    hs_dataset_rec d;
    assert_int_equal(
        hs_datasets_get(&w->app, dataset_id, &w->owner, &d, &err), HS_OK);
    assert_int_equal(hs_blob_delete(w->app.blobs, d.blob_key, &err), HS_OK);
    hs_dataset_rec_free(&d);
}

/* The incidents' nodes are kept at upload and checked against the
 * topology at submission without reading the file; a dataset without
 * them (more nodes than the limit when uploaded) is read instead. */
static void submission_checks_nodes_without_the_file(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    hs_dataset_rec d;
    assert_int_equal(
        hs_datasets_get(&w->app, w->dataset_id, &w->owner, &d, &err), HS_OK);
    json_t *prof = json_loads(d.profile_json, 0, NULL);
    json_t *ids =
        json_object_get(json_object_get(prof, "incidents"), "node_ids");
    assert_int_equal(json_array_size(ids), 3);
    assert_string_equal(json_string_value(json_array_get(ids, 0)), "db");
    json_decref(prof);
    hs_dataset_rec_free(&d);

    drop_file(w, w->dataset_id);
    assert_int_equal(submit(w, request(w, "normal"), &job, &err), HS_OK);
    hs_job_rec_free(&job);

    static const char ghost[] = "incident_id,node,timestamp,k0,k1\n"
                                "i1,db,1700000000,1.5,1.5\n"
                                "i1,ghost-9,1700000000,1.5,1.5\n"
                                "i1,zombie,1700000000,1.5,1.5\n";
    w->dataset_id = ingest(w, ghost);
    drop_file(w, w->dataset_id);
    assert_int_equal(submit(w, request(w, "normal"), &job, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "topology_id");
    assert_non_null(strstr(err.message, "'ghost-9' and more (2 of its 3"));
    assert_non_null(strstr(err.message, "chain.json"));

    /* Three nodes over a limit of 2 at upload: no ids kept, the file is
     * read at submission (and its absence is an error). */
    w->app.limits.max_topology_nodes = 2;
    char *csv = incident_csv();
    w->dataset_id = ingest(w, csv);
    free(csv);
    w->app.limits.max_topology_nodes = 0;
    memset(&err, 0, sizeof err);
    assert_int_equal(submit(w, request(w, "normal"), &job, &err), HS_OK);
    hs_job_rec_free(&job);
    drop_file(w, w->dataset_id);
    assert_int_not_equal(submit(w, request(w, "normal"), &job, &err), HS_OK);
}

/* Incidents where no node is abnormal: their rank-1 is counted apart
 * (summary.no_abnormal), not under a fault class it does not have. */
static void healthy_incidents_have_no_fault(void **state)
{
    world *w = *state;
    hs_error err = {0};
    hs_job_rec job;
    hs_job_outcome o;
    hs_analysis_rec a;
    fake_run *f = calloc(1, sizeof *f);
    static const char healthy[] = "incident_id,node,timestamp,k0,k1\n"
                                  "h1,db,1700000000,1.5,1.45\n"
                                  "h1,db,1700000030,1.2,1.75\n"
                                  "h1,api,1700000000,1.4,1.81\n"
                                  "h1,api,1700000030,1.3,1.29\n"
                                  "h2,web,1700003600,1.1,1.52\n"
                                  "h2,web,1700003630,1.6,1.37\n";
    w->dataset_id = ingest(w, healthy);
    assert_int_equal(submit(w, request(w, "normal"), &job, &err), HS_OK);
    run_job(w, &job, f, &o);
    assert_int_equal(o.state, HS_JOB_SUCCEEDED);
    assert_int_equal(hs_analyses_get(&w->app, o.result_id, &w->owner, &a, &err),
                     HS_OK);
    json_t *summary = json_loads(a.summary_json, 0, NULL);
    assert_int_equal(json_object_size(json_object_get(summary, "faults")), 0);
    assert_int_equal(
        json_integer_value(json_object_get(summary, "no_abnormal")), 2);
    assert_int_equal(
        json_integer_value(json_object_get(summary, "unknown_faults")), 0);
    json_decref(summary);
    hs_analysis_rec_free(&a);
    hs_job_rec_free(&job);
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(run_reports_and_stores, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(stop_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(discard_deletes_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_incidents_blob, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(large_incidents_blob, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(submission_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(
            submission_checks_nodes_without_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(healthy_incidents_have_no_fault,
                                        setup, teardown),
    };
    return cmocka_run_group_tests_name("rca job", tests, NULL, NULL);
}
