/* json_body.c - libFuzzer target: every JSON request body the service
 * takes, handed to the route's own handler without a server.
 *
 * The routes come from the route table (hs_api_routes): every route that
 * takes a JSON body (HS_ROUTE_JSON) is a variant, so a new one is fuzzed
 * without touching this file. The first byte picks the variant, the rest
 * is the body, given to the handler the way http.c gives it (NUL-
 * terminated bytes in req->body) by an administrator's session, with the
 * path's ids pointing at records that exist and no connection (req->conn
 * NULL: libmicrohttpd answers NULL for its headers and query, as for a
 * request without them): the handler then runs its
 * whole path - hs_api_body, the field readers, the domain's validators
 * (accounts, jobs and their types, training parameters through the
 * engine's tables, class names, labels, leaderboard, diagnosis rows) and
 * the store. One more variant drives hs_train_params_from_json alone, the
 * parser most bodies end in, so the fuzzer reaches its rules directly.
 *
 * The data directory is a temporary one made at start (a user, a dataset,
 * a model trained on it, a diagnosis, a topology: each the first of its
 * kind, id 1; dataset 2 an incident file) and removed at exit. Side effects are bounded: the job queue
 * holds one job (every later valid submission is refused busy, after its
 * type validated it), and a diagnosis of inline rows always goes to that
 * queue (sync_rows 0) unless the body asks not to store it. State kept
 * between inputs (users created, the queued job) can make a reproducer
 * depend on what ran before it; a crash reproduces alone in practice,
 * since the parsers do not depend on it.
 *
 * Checked besides memory safety: the answer is never a 500 (bad input is
 * always the client's error, said as one: HTTP status below 500 or 503
 * busy), and every error answer is the API's error object with a code and
 * a message.
 */
#include "fuzz.h"
#include "base/clock.h"
#include "base/log.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/datasets.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "domain/throttle.h"
#include "domain/topologies.h"
#include "domain/train_params.h"
#include "healer/healer.h"
#include "http/api.h"
#include "server/datadir.h"

static const hs_auth_costs CHEAP = HS_AUTH_COSTS_TEST;

static struct {
    hs_datadir *dd;
    hs_app app;
    hs_user admin;
    size_t n_routes;            /* routes with a JSON body */
    const hs_route *routes[64];
} G;

#define SETUP(call)                                                            \
    do {                                                                       \
        if ((call) != 0) {                                                     \
            fprintf(stderr, "json_body setup: %s failed: %s\n", #call,         \
                    err.message[0] ? err.message : herr.message);              \
            abort();                                                           \
        }                                                                      \
    } while (0)

static void cleanup(void)
{
    if (G.dd)
        hs_datadir_close(G.dd);
    G.dd = NULL;
}

/* One handler call as http.c makes it; the response is checked and freed. */
static int call_route(const hs_route *r, const char *body, size_t len)
{
    hs_req req;
    hs_resp resp;
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    resp.fd = -1;
    req.method = r->method;
    req.path = r->pattern;
    req.ids[0] = req.ids[1] = 1;
    snprintf(req.request_id, sizeof req.request_id, "fuzz");
    snprintf(req.client, sizeof req.client, "127.0.0.1");
    char *copy = malloc(len + 1);
    FUZZ_ASSERT(copy != NULL, "malloc");
    memcpy(copy, body, len);
    copy[len] = '\0';
    req.body = copy;
    req.body_len = len;
    req.authed = 1;
    req.user = G.admin;
    r->handler(&G.app, &req, &resp);
    int status = resp.status;
    if (getenv("FUZZ_VERBOSE")) /* what a reproducer did */
        fprintf(stderr, "%s %s -> %d %.*s\n", r->method, r->pattern, status,
                (int)(resp.body_len < 300 ? resp.body_len : 300),
                resp.body ? resp.body : "");
    if (status >= 500 && status != 503)
        fprintf(stderr, "%s %s answered %d: %.*s\n", r->method, r->pattern,
                status, (int)resp.body_len, resp.body ? resp.body : "");
    FUZZ_ASSERT(status >= 200 && (status < 500 || status == 503),
                "a body is answered with a client error, never a 500");
    if (status >= 400) {
        json_t *j = resp.body ? json_loadb(resp.body, resp.body_len, 0, NULL)
                              : NULL;
        json_t *e = json_object_get(j, "error");
        FUZZ_ASSERT(json_is_string(json_object_get(e, "code")) &&
                        json_is_string(json_object_get(e, "message")),
                    "an error answer has a code and a message");
        json_decref(j);
    }
    free(resp.body);
    if (resp.fd >= 0)
        close(resp.fd);
    free(copy);
    return status;
}

/* hs_train_params_from_json alone: the body's "algo" (when a string) and
 * the body itself as the parameters. */
static void train_params(const char *body, size_t len)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    if (!j)
        return;
    const char *algo = json_string_value(json_object_get(j, "algo"));
    hl_train_params p;
    hs_error err = {0};
    hs_status st = hs_train_params_from_json(j, algo, &p, &err);
    if (st != HS_OK)
        FUZZ_ASSERT(err.message[0] != '\0', "a refused parameter says why");
    json_decref(j);
}

/* ---- the data directory the handlers see ---- */

static hl_dataset *small_dataset(void)
{
    hl_sim_options so;
    hl_sim_options_init(&so);
    so.samples = 60;
    so.features = 4;
    so.classes = 3;
    so.string_labels = 1;
    so.seed = 11;
    hl_dataset *ds = NULL;
    hl_error herr = {0};
    hs_error err = {0};
    SETUP(hl_simulate(&so, 0, &ds, &herr));
    return ds;
}

static void seed_records(void)
{
    hs_error err = {0};
    hl_error herr = {0};
    hl_dataset *ds = small_dataset();
    char *csv = NULL;
    size_t csv_len = 0;
    FILE *f = open_memstream(&csv, &csv_len);
    SETUP(hl_dataset_write_csv_stream(ds, f, &herr));
    fclose(f);
    char key[HS_BLOB_KEY_MAX];
    hs_dataset_rec drec;
    SETUP(hs_blob_put(G.app.blobs, "upload", csv, csv_len, key, &err));
    SETUP(hs_datasets_ingest(&G.app, G.admin.id, "fuzz.csv", key, csv_len,
                             &drec, &herr, &err));
    hl_train_params p;
    hl_train_params_init(&p);
    SETUP(hl_train_params_set_number(&p, "rounds", 3, &herr));
    p.early_stopping_rounds = 0;
    p.threads = 1;
    hl_model *m = NULL;
    SETUP(hl_train(ds, &p, NULL, &m, &herr));
    hs_model_rec mrec;
    SETUP(hs_models_save(&G.app, G.admin.id, "fuzz", drec.id, 0, m, NULL,
                         &mrec, &err));
    /* Dataset 2: an incident file on the topology's nodes (rca jobs). */
    static const char incidents[] =
        "incident_id,node,timestamp,feature0,feature1,feature2,feature3\n"
        "i1,n0,100,1,2,3,4\ni1,n1,101,2,3,4,5\n";
    hs_dataset_rec irec;
    SETUP(hs_blob_put(G.app.blobs, "upload", incidents, sizeof incidents - 1,
                      key, &err));
    SETUP(hs_datasets_ingest(&G.app, G.admin.id, "incidents.csv", key,
                             sizeof incidents - 1, &irec, &herr, &err));
    hs_dataset_rec_free(&irec);
    static const char topo[] =
        "{\"nodes\": [{\"id\": \"n0\"}, {\"id\": \"n1\"}],"
        " \"edges\": [{\"from\": \"n0\", \"to\": \"n1\"}]}";
    hs_topology_rec trec;
    SETUP(hs_blob_put(G.app.blobs, "upload", topo, sizeof topo - 1, key, &err));
    SETUP(hs_topologies_upload(&G.app, G.admin.id, "t.json", key,
                               sizeof topo - 1, &trec, &herr, &err));
    /* A stored diagnosis (id 1), through the route, answered at once. */
    char rows[512];
    snprintf(rows, sizeof rows,
             "{\"model_id\": %lld, \"rows\": [{\"%s\": 1, \"%s\": 2},"
             " {\"%s\": 3, \"%s\": 4}]}",
             (long long)mrec.id, ds->feature_names[0], ds->feature_names[1],
             ds->feature_names[0], ds->feature_names[1]);
    G.app.limits.sync_rows = 100;
    for (size_t i = 0; i < hs_api_n_routes; i++)
        if (!strcmp(hs_api_routes[i].pattern, "/api/v1/diagnoses") &&
            !strcmp(hs_api_routes[i].method, "POST"))
            SETUP(call_route(&hs_api_routes[i], rows, strlen(rows)) != 201);
    G.app.limits.sync_rows = 0;
    hs_dataset_rec_free(&drec);
    hs_model_rec_free(&mrec);
    hs_topology_rec_free(&trec);
    hl_model_free(m);
    hl_dataset_free(ds);
    free(csv);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hs_error err = {0};
    hl_error herr = {0};
    /* Errors only: a refused body logs nothing, a 500 would log its cause. */
    hs_log_set_level(HS_LOG_ERROR);
    const char *dir = fuzz_temp_dir("json", cleanup);
    SETUP(hs_auth_init(&err));
    SETUP(hs_datadir_open(dir, &G.dd, &err));
    hs_app *app = &G.app;
    app->store = G.dd->store;
    app->blobs = G.dd->blobs;
    app->clock = hs_clock_system();
    app->job_types = hs_job_types;
    app->costs = &CHEAP;
    app->limits.max_upload_bytes = 1 << 20;
    app->limits.max_json_bytes = 1 << 20;
    app->limits.max_queued_jobs = 1;
    app->started_at = hs_clock_now(app->clock);
    SETUP(hs_model_cache_new(2, &app->models, &err));
    SETUP(hs_throttle_new(1000000, &app->login_throttle, &err));
    SETUP(hs_accounts_create_user(app, hs_actor_cli(), "admin",
                                  "fuzz password 1", 1, NULL, &G.admin.id,
                                  &err));
    SETUP(hs_accounts_get(app, G.admin.id, &G.admin, &err));
    SETUP(hs_setup_new(app, &app->setup, &err));
    seed_records();
    for (size_t i = 0; i < hs_api_n_routes; i++)
        if ((hs_api_routes[i].flags & HS_ROUTE_JSON) &&
            G.n_routes < sizeof G.routes / sizeof G.routes[0])
            G.routes[G.n_routes++] = &hs_api_routes[i];
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = fuzz_split(data, size);
    size_t variant = in.selector % (G.n_routes + 1);
    if (variant == G.n_routes)
        train_params(in.data, in.len);
    else
        call_route(G.routes[variant], in.data, in.len);
    return 0;
}
