/* test_rca.c - root-cause analysis (healer/rca.h): on hand-built
 * topologies, incidents whose rows are drawn from simulated samples a
 * small GBDT diagnoses (chains, forks, cycles, shared resources, a silent
 * common dependency, two roots, nothing abnormal), the ranking rules on
 * hand-set diagnoses (a victim that looks worse than its cause, time
 * order between neighbours), the refusals, the writers, determinism over
 * threads, progress and cancel, and rca-eval.
 */
#include <jansson.h>
#include <math.h>
#include <time.h>

#include "engineutil.h"
#include "internal.h"
#include "rca_internal.h"

/* ---- fixture: a model and clean rows of each class --------------------- */

#define NF 8
#define NK 4

static hl_model *model;
static hl_dataset *pool;
/* rows of the pool the model diagnoses surely, per class */
static size_t *clean[NK];
static size_t n_clean[NK];
static int32_t normal_k, fault_k, fault2_k;

static int setup(void **state)
{
    (void)state;
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = 3000;
    o.features = NF;
    o.classes = NK;
    o.imbalance = 1;
    o.string_labels = 1;
    o.seed = 5;
    hl_dataset *all = NULL, *train = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &all, &err), HL_OK);
    tu_split(all, 1500, &train, &pool);
    hl_dataset_free(all);
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 40);
    model = tu_train(train, &p);
    hl_dataset_free(train);
    assert_int_equal(hl_rca_normal_class(model, NULL, &normal_k, &err), HL_OK);
    fault_k = normal_k == 0 ? 1 : 0;
    fault2_k = normal_k == 2 ? 3 : 2;
    double *proba = tu_predict_all(model, pool, 1);
    for (size_t k = 0; k < NK; k++)
        clean[k] = malloc(pool->n_rows * sizeof *clean[k]);
    for (size_t i = 0; i < pool->n_rows; i++) {
        int32_t y = pool->y[i];
        hl_abnormal_kpi kp[1];
        size_t out = hl_model_abnormal_kpis(model, pool->x + i * NF, kp, 1);
        if (proba[i * NK + (size_t)y] >= 0.9 &&
            (y != normal_k || (out == 0 && proba[i * NK + y] >= 0.95)))
            clean[y][n_clean[y]++] = i;
    }
    free(proba);
    for (size_t k = 0; k < NK; k++)
        assert_true(n_clean[k] >= 20);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    hl_model_free(model);
    hl_dataset_free(pool);
    for (size_t k = 0; k < NK; k++)
        free(clean[k]);
    return 0;
}

/* ---- building topologies and incident files ---------------------------- */

/* "a>b,c>d": a depends on b, c on d; "a=b": bidirectional. Nodes in order
 * of first mention, kinds "k" + id. */
static hl_topology *graph(const char *spec)
{
    hl_topology_builder *b = hl_topology_builder_new(0);
    hl_error err;
    char buf[512], *save = NULL;
    snprintf(buf, sizeof buf, "%s", spec);
    for (int pass = 0; pass < 2; pass++) {
        char copy[512];
        snprintf(copy, sizeof copy, "%s", buf);
        for (char *e = strtok_r(copy, ",", &save); e;
             e = strtok_r(NULL, ",", &save)) {
            char *sep = strpbrk(e, ">=");
            char from[64], to[64];
            snprintf(from, sizeof from, "%.*s", sep ? (int)(sep - e) : 63, e);
            snprintf(to, sizeof to, "%s", sep ? sep + 1 : "");
            if (pass == 0) {
                const char *ids[2] = {from, to};
                for (int k = 0; k < 2; k++) {
                    if (!*ids[k])
                        continue;
                    char kind[80];
                    snprintf(kind, sizeof kind, "k%s", ids[k]);
                    hl_status rc =
                        hl_topology_builder_add_node(b, ids[k], kind, &err);
                    assert_true(rc == HL_OK || strstr(err.message, "uplicate"));
                }
            } else if (sep) {
                assert_int_equal(hl_topology_builder_add_edge(
                                     b, from, to, *sep == '=', &err),
                                 HL_OK);
            }
        }
    }
    hl_topology *t = NULL;
    assert_int_equal(hl_topology_builder_finish(b, &t, &err), HL_OK);
    return t;
}

typedef struct incidents_text {
    char *buf;
    size_t len;
    FILE *f;
    size_t draw; /* rotates through the clean rows */
} incidents_text;

static void text_open(incidents_text *it)
{
    memset(it, 0, sizeof *it);
    it->f = open_memstream(&it->buf, &it->len);
    fputs("incident_id,node,timestamp", it->f);
    for (size_t j = 0; j < NF; j++)
        fprintf(it->f, ",feature%zu", j);
    fputc('\n', it->f);
}

/* `rows` samples of node id 60 s apart from t0 (+ skew): normal before
 * row `onset`, of class `fault` from it on (onset >= rows: all normal). */
static void node_rows(incidents_text *it, const char *incident, const char *id,
                      size_t rows, size_t onset, int32_t fault, double t0)
{
    for (size_t r = 0; r < rows; r++) {
        int32_t k = r >= onset ? fault : normal_k;
        size_t i = clean[k][it->draw++ % n_clean[k]];
        fprintf(it->f, "%s,%s,%.0f", incident, id, t0 + 60.0 * (double)r);
        for (size_t j = 0; j < NF; j++) {
            float v = pool->x[i * NF + j];
            if (isnan(v))
                fputc(',', it->f);
            else
                fprintf(it->f, ",%.9g", v);
        }
        fputc('\n', it->f);
    }
}

static hl_incidents *text_close(incidents_text *it, const hl_topology *t)
{
    fclose(it->f);
    hl_incidents *inc = NULL;
    hl_error err;
    hl_status rc =
        hl_incidents_parse(it->buf, it->len, "inc.csv", t, NULL, &inc, &err);
    if (rc != HL_OK)
        fail_msg("%s", err.message);
    free(it->buf);
    return inc;
}

static hl_rca_result *run(const hl_topology *t, const hl_incidents *inc,
                          const hl_rca_options *opt)
{
    hl_rca_result *r = NULL;
    hl_error err;
    if (hl_rca_run(model, t, inc, opt, &r, NULL, &err) != HL_OK)
        fail_msg("rca: %s", err.message);
    return r;
}

static const char *id_of(const hl_topology *t, size_t v)
{
    return t->nodes[v].id;
}

/* "a>b>c" of a cause's path */
static void path_text(const hl_topology *t, const hl_rca_cause *c, char *out,
                      size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t k = 0; k < c->path_len && at < cap; k++)
        at += (size_t)snprintf(out + at, cap - at, "%s%s", k ? ">" : "",
                               id_of(t, c->path[k]));
}

static void expect_rank1(const hl_topology *t, const hl_rca_incident *in,
                         const char *node, const char *path)
{
    assert_true(in->n_causes >= 1);
    char got[256];
    path_text(t, &in->causes[0], got, sizeof got);
    if (strcmp(id_of(t, in->causes[0].node), node) ||
        (path && strcmp(got, path)))
        print_error("incident %s: rank 1 %s (path %s), want %s (%s)\n", in->id,
                    id_of(t, in->causes[0].node), got, node, path ? path : "-");
    assert_string_equal(id_of(t, in->causes[0].node), node);
    if (path)
        assert_string_equal(got, path);
}

/* ---- end to end on simulated rows -------------------------------------- */

/* web depends on api, api on db; the fault starts at db and reaches api
 * then web, one sample later each. */
static void test_chain(void **state)
{
    (void)state;
    hl_topology *t = graph("web>api,api>db");
    incidents_text it;
    text_open(&it);
    node_rows(&it, "i1", "db", 5, 1, fault_k, 1000);
    node_rows(&it, "i1", "api", 5, 2, fault_k, 1010);
    node_rows(&it, "i1", "web", 5, 3, fault_k, 995);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_result *r = run(t, inc, NULL);
    const hl_rca_incident *in = &r->incidents[0];
    assert_int_equal(in->n_nodes, 3);
    assert_int_equal(in->n_abnormal, 3);
    expect_rank1(t, in, "db", "db>api>web");
    const hl_rca_cause *c = &in->causes[0];
    assert_true(c->observed);
    assert_int_equal(c->fault, fault_k);
    assert_true(c->confidence > 0.5);
    assert_true(c->onset == 1060);
    assert_string_equal(c->onset_text, "1060");
    assert_true(c->score > 0.8 && c->score <= 1);
    assert_true(fabs(c->score - c->evidence * c->explained * c->timing) <
                1e-12);
    /* the tree: every node, parents first */
    assert_int_equal(c->tree_len, 3);
    assert_string_equal(id_of(t, c->tree[0].node), "db");
    assert_int_equal(c->tree[0].parent, -1);
    assert_string_equal(id_of(t, c->tree[1].node), "api");
    assert_string_equal(id_of(t, (size_t)c->tree[1].parent), "db");
    assert_string_equal(id_of(t, (size_t)c->tree[2].parent), "api");
    /* ranks sorted; all three listed */
    assert_int_equal(in->n_causes, 3);
    for (size_t k = 1; k < in->n_causes; k++)
        assert_true(in->causes[k - 1].score >= in->causes[k].score);
    /* the node diagnoses */
    const hl_rca_node *db = &in->nodes[2]; /* web 0, api 1, db 2 */
    assert_string_equal(id_of(t, db->node), "db");
    assert_int_equal(db->rows, 5);
    assert_true(db->abnormal && db->anomaly >= 0.5);
    /* abnormal: the likeliest non-normal class over its abnormal rows */
    assert_int_equal(db->fault, fault_k);
    assert_true(db->confidence > 0.5);
    hl_rca_result_free(r);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* Two services on one database, a front on both; a cycle between three
 * services; a shared pair. Each in its own incident of one file. */
static void test_fork_cycle_bidirectional(void **state)
{
    (void)state;
    hl_topology *t = graph("front>s1,front>s2,s1>db,s2>db,"
                           "a>b,b>c,c>a,"
                           "x=y,z>x");
    incidents_text it;
    text_open(&it);
    node_rows(&it, "fork", "db", 5, 1, fault_k, 0);
    node_rows(&it, "fork", "s1", 5, 2, fault_k, 0);
    node_rows(&it, "fork", "s2", 5, 2, fault_k, 0);
    node_rows(&it, "fork", "front", 5, 3, fault_k, 0);
    node_rows(&it, "fork", "a", 5, 9, fault_k, 0);
    /* the cycle: c starts, then b (b depends on c), then a */
    node_rows(&it, "cycle", "c", 6, 1, fault2_k, 0);
    node_rows(&it, "cycle", "b", 6, 3, fault2_k, 0);
    node_rows(&it, "cycle", "a", 6, 5, fault2_k, 0);
    /* shared pair: y first, x 5 minutes later, z (depends on x) after */
    node_rows(&it, "pair", "x", 8, 6, fault_k, 0);
    node_rows(&it, "pair", "y", 8, 1, fault_k, 0);
    node_rows(&it, "pair", "z", 8, 7, fault_k, 0);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_result *r = run(t, inc, NULL);
    assert_int_equal(r->n_incidents, 3);
    expect_rank1(t, &r->incidents[0], "db", NULL);
    const hl_rca_cause *c = &r->incidents[0].causes[0];
    assert_int_equal(c->tree_len, 4); /* db, s1, s2, front */
    assert_int_equal(c->path_len, 3); /* db > s? > front */
    assert_string_equal(id_of(t, c->path[2]), "front");
    assert_int_equal(r->incidents[0].n_abnormal, 4);
    expect_rank1(t, &r->incidents[1], "c", "c>b>a");
    assert_int_equal(r->incidents[1].causes[0].fault, fault2_k);
    expect_rank1(t, &r->incidents[2], "y", "y>x>z");
    hl_rca_result_free(r);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* Four services share a database that reports nothing: the database,
 * unobserved, explains them all. */
static void test_unobserved_common_dependency(void **state)
{
    (void)state;
    hl_topology *t = graph("s1>db,s2>db,s3>db,s4>db,s1>c1,s2>c2");
    incidents_text it;
    text_open(&it);
    const char *s[] = {"s1", "s2", "s3", "s4"};
    for (int k = 0; k < 4; k++)
        node_rows(&it, "i", s[k], 5, 2, fault_k, 10.0 * k);
    node_rows(&it, "i", "c1", 5, 9, fault_k, 0);
    node_rows(&it, "i", "c2", 5, 9, fault_k, 0);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_result *r = run(t, inc, NULL);
    const hl_rca_incident *in = &r->incidents[0];
    assert_int_equal(in->n_nodes, 6);
    assert_int_equal(in->n_abnormal, 4);
    expect_rank1(t, in, "db", NULL);
    const hl_rca_cause *c = &in->causes[0];
    assert_false(c->observed);
    assert_int_equal(c->fault, -1);
    assert_true(isnan(c->onset));
    assert_null(c->onset_text);
    assert_true(fabs(c->evidence - HL__RCA_UNOBSERVED_EVIDENCE) < 1e-12);
    assert_int_equal(c->tree_len, 5);
    assert_int_equal(c->path_len, 2);
    /* a healthy dependency of one service is no candidate */
    for (size_t k = 0; k < in->n_causes; k++)
        assert_true(strcmp(id_of(t, in->causes[k].node), "c1"));
    hl_rca_result_free(r);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* Two faults at once in two parts of the system: both roots first. */
static void test_two_roots(void **state)
{
    (void)state;
    hl_topology *t = graph("a2>a1,a3>a2,b2>b1,b3>b2");
    incidents_text it;
    text_open(&it);
    node_rows(&it, "i", "a1", 5, 1, fault_k, 0);
    node_rows(&it, "i", "a2", 5, 2, fault_k, 0);
    node_rows(&it, "i", "a3", 5, 3, fault_k, 0);
    node_rows(&it, "i", "b1", 5, 1, fault2_k, 0);
    node_rows(&it, "i", "b2", 5, 2, fault2_k, 0);
    node_rows(&it, "i", "b3", 5, 3, fault2_k, 0);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_result *r = run(t, inc, NULL);
    const hl_rca_incident *in = &r->incidents[0];
    const char *first = id_of(t, in->causes[0].node);
    const char *second = id_of(t, in->causes[1].node);
    assert_true((!strcmp(first, "a1") && !strcmp(second, "b1")) ||
                (!strcmp(first, "b1") && !strcmp(second, "a1")));
    assert_int_equal(in->causes[!strcmp(first, "a1") ? 0 : 1].fault, fault_k);
    hl_rca_result_free(r);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* Nothing abnormal: every observed node is listed by its own anomaly,
 * with low scores. */
static void test_no_abnormal_node(void **state)
{
    (void)state;
    hl_topology *t = graph("a>b,b>c,c>d");
    incidents_text it;
    text_open(&it);
    node_rows(&it, "quiet", "a", 3, 9, fault_k, 0);
    node_rows(&it, "quiet", "b", 3, 9, fault_k, 0);
    node_rows(&it, "quiet", "d", 3, 9, fault_k, 0);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_options opt;
    hl_rca_options_init(&opt);
    opt.top = 2;
    hl_rca_result *r = run(t, inc, &opt);
    const hl_rca_incident *in = &r->incidents[0];
    assert_int_equal(in->n_abnormal, 0);
    assert_int_equal(in->n_causes, 2);
    for (size_t k = 0; k < 2; k++) {
        const hl_rca_cause *c = &in->causes[k];
        assert_true(c->score < 0.5);
        assert_true(isnan(c->onset));
        assert_int_equal(c->path_len, 1);
        assert_int_equal(c->tree_len, 1);
        assert_true(c->explained == 1 && c->timing == 1);
    }
    const hl_rca_node *n0 = &in->nodes[0];
    assert_false(n0->abnormal);
    assert_null(n0->onset_text);
    /* a node that is not abnormal shows the normal class, with its mean
     * p(normal) as the confidence; so do the causes it makes */
    assert_int_equal(n0->fault, normal_k);
    assert_true(n0->confidence > 0.5 && n0->confidence <= 1);
    for (size_t k = 0; k < 2; k++)
        assert_int_equal(in->causes[k].fault, normal_k);
    hl_rca_result_free(r);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* ---- the ranking rules on hand-set diagnoses --------------------------- */

static void set_node(hl_rca_node *n, size_t node, double a, double onset)
{
    memset(n, 0, sizeof *n);
    n->node = node;
    n->rows = 1;
    n->anomaly = a;
    n->abnormal = a >= HL__RCA_ABNORMAL;
    n->fault = 1;
    n->confidence = a;
    n->onset = n->abnormal ? onset : NAN;
}

static void rank(const hl_topology *t, hl_rca_incident *in)
{
    hl_rca_options opt;
    hl_rca_options_init(&opt);
    hl__rca_scratch *s = hl__rca_scratch_new(t->n_nodes);
    assert_int_equal(hl__rca_rank(t, &opt, s, in, NULL, NULL), HL_OK);
    hl__rca_scratch_free(s);
}

static void clear(hl_rca_incident *in)
{
    for (size_t k = 0; k < in->n_causes; k++)
        hl__rca_cause_clear(&in->causes[k]);
    free(in->causes);
    in->causes = NULL;
    in->n_causes = 0;
}

/* db <- api <- web: the database is only a little abnormal, its victims
 * very much; it explains them, they do not explain it. */
static void test_victim_looks_worse(void **state)
{
    (void)state;
    hl_topology *t = graph("web>api,api>db");
    long db = hl_topology_find(t, "db"), api = hl_topology_find(t, "api"),
         web = hl_topology_find(t, "web");
    hl_rca_node nodes[3];
    hl_rca_incident in = {.id = "i", .n_nodes = 3, .nodes = nodes};
    /* ascending node index: web 0, api 1, db 2 */
    set_node(&nodes[web], (size_t)web, 0.99, 120);
    set_node(&nodes[api], (size_t)api, 0.99, 60);
    set_node(&nodes[db], (size_t)db, 0.7, 0);
    rank(t, &in);
    assert_int_equal(in.n_abnormal, 3);
    expect_rank1(t, &in, "db", "db>api>web");
    assert_string_equal(id_of(t, in.causes[1].node), "api");
    assert_true(in.causes[0].explained > 0.99);
    assert_true(in.causes[1].explained < 0.8);
    clear(&in);
    /* same anomalies, but db turned abnormal 10 minutes after the others:
     * the time order now says it is a victim of something else */
    nodes[db].onset = 700;
    rank(t, &in);
    assert_true(in.causes[0].node != (size_t)db);
    clear(&in);
    hl_topology_free(t);
}

/* Two abnormal nodes sharing a resource (bidirectional): the one that
 * turned abnormal first, beyond the clock skew, is the cause; within the
 * skew, the more abnormal one. */
static void test_time_order_between_neighbours(void **state)
{
    (void)state;
    hl_topology *t = graph("p=q");
    hl_rca_node nodes[2];
    hl_rca_incident in = {.id = "i", .n_nodes = 2, .nodes = nodes};
    set_node(&nodes[0], 0, 0.95, 400);
    set_node(&nodes[1], 1, 0.95, 0);
    rank(t, &in);
    expect_rank1(t, &in, "q", "q>p");
    assert_true(in.causes[0].timing > in.causes[1].timing);
    clear(&in);
    /* within the skew the order says little: the earlier wins narrowly
     * when both are as abnormal, the far more abnormal one otherwise */
    nodes[0].onset = 30;
    rank(t, &in);
    expect_rank1(t, &in, "q", "q>p");
    assert_true(fabs(in.causes[0].timing - 1) < 1e-12);
    assert_true(in.causes[0].score - in.causes[1].score < 0.05);
    clear(&in);
    nodes[0].anomaly = 0.99;
    nodes[1].anomaly = 0.6;
    rank(t, &in);
    expect_rank1(t, &in, "p", "p>q");
    assert_true(in.causes[0].timing < 1 && in.causes[0].timing > 0.95);
    clear(&in);
    hl_topology_free(t);
}

/* A victim far later than a delay per hop is less likely a victim. */
static void test_hop_delay(void **state)
{
    (void)state;
    hl_topology *t = graph("v>r");
    hl_rca_node nodes[2];
    hl_rca_incident in = {.id = "i", .n_nodes = 2, .nodes = nodes};
    set_node(&nodes[0], 0, 0.99, 0 + 90 + 300 + 300); /* v */
    set_node(&nodes[1], 1, 0.99, 0);                  /* r */
    rank(t, &in);
    const hl_rca_cause *c = &in.causes[0];
    if (c->node != 1)
        c = &in.causes[1];
    assert_string_equal(id_of(t, c->node), "r");
    /* w(r, v) = exp(-1): the tree keeps v only while reach x w >= 0.5 */
    assert_true(fabs(c->timing - (0.99 + 0.99 * exp(-1)) / 1.98) < 1e-9);
    assert_int_equal(c->tree_len, 1);
    clear(&in);
    hl_topology_free(t);
}

/* The KPI view alone: nine nodes the classifier calls normal, one of
 * whose KPIs go far beyond their ranges from its third sample on - an
 * outlier of the incident, so abnormal from then on; the same excess on
 * every node is the incident's norm, and flags none. */
static void test_kpi_gate(void **state)
{
    (void)state;
    enum { NODES = 9, ROWS = 4, N = NODES * ROWS };
    double e[N], g[N], proba[N * NK], time[N], level[NODES], centre, unit;
    char *text[N];
    float x[N * NF];
    for (size_t i = 0; i < N; i++) {
        for (size_t k = 0; k < NK; k++)
            proba[i * NK + k] = k == (size_t)normal_k ? 0.9 : 0.1 / (NK - 1);
        memcpy(x + i * NF, pool->x + clean[normal_k][i] * NF,
               sizeof(float) * NF);
        time[i] = 60.0 * (double)(i % ROWS);
        text[i] = malloc(16);
        snprintf(text[i], 16, "%.0f", time[i]);
    }
    hl__rca_rows rows = {.m = model,
                         .normal = normal_k,
                         .K = NK,
                         .nf = NF,
                         .x = x,
                         .proba = proba,
                         .e = e,
                         .g = g,
                         .time = time,
                         .time_text = text};
    for (int same = 0; same < 2; same++) {
        hl_rca_node nodes[NODES];
        hl__rca_row_anomalies(&rows, 0, N, e, g);
        for (size_t i = 0; i < N; i++) {
            assert_true(e[i] > 0.09 && e[i] < 0.11);
            g[i] = 1.0 + 0.05 * (double)(i % 3);
            if ((same || i / ROWS == NODES - 1) && i % ROWS >= 2)
                g[i] = 12;
        }
        for (size_t v = 0; v < NODES; v++) {
            assert_int_equal(hl__rca_diagnose_node(&rows, v * ROWS, ROWS,
                                                   &nodes[v], &level[v]),
                             HL_OK);
            assert_false(nodes[v].abnormal);
        }
        assert_int_equal(hl__rca_kpi_centre(level, NODES, &centre, &unit),
                         HL_OK);
        for (size_t v = 0; v < NODES; v++) {
            assert_int_equal(hl__rca_kpi_gate(&rows, v * ROWS, ROWS, centre,
                                              unit, &nodes[v]),
                             HL_OK);
            int flagged = !same && v == NODES - 1;
            assert_int_equal(nodes[v].abnormal, flagged);
            if (flagged) {
                assert_true(nodes[v].anomaly > 0.5);
                assert_true(nodes[v].onset == 120);
                assert_string_equal(nodes[v].onset_text, "120");
                /* abnormal by its KPIs alone: no fault the classifier
                 * could name */
                assert_int_equal(nodes[v].fault, -1);
                assert_true(isnan(nodes[v].confidence));
            } else {
                assert_int_equal(nodes[v].fault, normal_k);
                assert_true(fabs(nodes[v].confidence - 0.9) < 1e-9);
            }
            free(nodes[v].onset_text);
        }
    }
    for (size_t i = 0; i < N; i++)
        free(text[i]);
}

/* ---- refusals ---------------------------------------------------------- */

static void test_refusals(void **state)
{
    (void)state;
    hl_topology *t = graph("a>b");
    incidents_text it;
    text_open(&it);
    node_rows(&it, "i", "a", 2, 1, fault_k, 0);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_result *r = (hl_rca_result *)&r;
    hl_error err;
    hl_rca_options opt;
    int32_t k;
    /* a normal class the model does not have */
    assert_int_equal(hl_rca_normal_class(model, "healthy", &k, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "no class 'healthy'"));
    assert_non_null(strstr(err.message, "normal"));
    assert_non_null(strstr(err.message, "--normal"));
    hl_rca_options_init(&opt);
    opt.normal = "healthy";
    assert_int_equal(hl_rca_run(model, t, inc, &opt, &r, NULL, &err),
                     HL_ERR_INVALID);
    assert_null(r);
    assert_string_equal(err.field, "normal");
    /* options out of range, each naming its field */
    struct {
        size_t top;
        double skew, hop;
        const char *field;
    } bad[] = {{0, 90, 300, "top"},     {101, 90, 300, "top"},
               {5, -1, 300, "skew"},    {5, NAN, 300, "skew"},
               {5, 90, 0, "hop_delay"}, {5, 90, INFINITY, "hop_delay"},
               {5, HL_RCA_SKEW_MAX * 1.01, 300, "skew"},
               {5, 90, HL_RCA_HOP_DELAY_MIN / 2, "hop_delay"},
               {5, 90, HL_RCA_HOP_DELAY_MAX * 1.01, "hop_delay"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        hl_rca_options_init(&opt);
        opt.top = bad[i].top;
        opt.skew = bad[i].skew;
        opt.hop_delay = bad[i].hop;
        assert_int_equal(hl_rca_options_check(&opt, &err), HL_ERR_INVALID);
        assert_string_equal(err.field, bad[i].field);
        assert_int_equal(hl_rca_run(model, t, inc, &opt, &r, NULL, &err),
                         HL_ERR_INVALID);
        assert_string_equal(err.field, bad[i].field);
    }
    /* the ends of the ranges are allowed */
    hl_rca_options_init(&opt);
    opt.top = HL_RCA_MAX_TOP;
    opt.skew = HL_RCA_SKEW_MAX;
    opt.hop_delay = HL_RCA_HOP_DELAY_MAX;
    assert_int_equal(hl_rca_options_check(&opt, &err), HL_OK);
    opt.skew = 0;
    opt.hop_delay = HL_RCA_HOP_DELAY_MIN;
    assert_int_equal(hl_rca_options_check(&opt, &err), HL_OK);
    assert_int_equal(hl_rca_run(model, NULL, inc, NULL, &r, NULL, &err),
                     HL_ERR_INVALID);
    hl_incidents_free(inc);
    /* a KPI of the model missing from the file; an extra one warned of */
    const char *text = "incident_id,node,timestamp,feature0,feature1,feature2,"
                       "feature3,feature4,feature5,feature6,extra\n"
                       "i,a,1,1,2,3,4,5,6,7,8\n";
    assert_int_equal(
        hl_incidents_parse(text, strlen(text), "x.csv", t, NULL, &inc, &err),
        HL_OK);
    hl_warnings warn = {0};
    assert_int_equal(hl_rca_run(model, t, inc, NULL, &r, &warn, &err),
                     HL_ERR_DATA);
    assert_non_null(strstr(err.message, "feature 'feature7'"));
    assert_string_equal(err.column, "feature7");
    hl_warnings_free(&warn);
    hl_incidents_free(inc);
    /* incidents read against another (smaller) topology */
    hl_topology *big = graph("a>b,b>c,c>d");
    text_open(&it);
    node_rows(&it, "i", "d", 1, 1, fault_k, 0);
    inc = text_close(&it, big);
    assert_int_equal(hl_rca_run(model, t, inc, NULL, &r, NULL, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "not read against this topology"));
    hl_incidents_free(inc);
    hl_topology_free(big);
    hl_topology_free(t);
}

/* ---- many incidents: threads, progress, writers ------------------------ */

/* A 40-node layered system and 30 incidents, each a fault spreading up
 * from a random node. */
static hl_incidents *many(hl_topology **t_out, size_t n_inc)
{
    char spec[4096];
    size_t at = 0;
    for (int i = 0; i < 30; i++)
        at +=
            (size_t)snprintf(spec + at, sizeof spec - at, "%sn%d>n%d,n%d>n%d",
                             i ? "," : "", i, i + 10, i, (i * 7 + 3) % 10 + 30);
    hl_topology *t = graph(spec);
    incidents_text it;
    text_open(&it);
    hl__rng rng;
    hl__rng_seed(&rng, 9);
    for (size_t k = 0; k < n_inc; k++) {
        char id[32];
        snprintf(id, sizeof id, "inc-%zu", k);
        size_t root = (size_t)hl__rng_below(&rng, t->n_nodes);
        for (size_t v = 0; v < t->n_nodes; v++) {
            if (hl__rng_uniform(&rng) < 0.1)
                continue;
            int victim = 0;
            for (size_t j = t->depends_start[v]; j < t->depends_start[v + 1];
                 j++)
                victim |= t->depends[j] == root;
            size_t onset = v == root ? 1 : victim ? 2 : 9;
            node_rows(&it, id, id_of(t, v), 3, onset, fault_k,
                      (double)(k * 1000) + (double)hl__rng_below(&rng, 20));
        }
    }
    *t_out = t;
    return text_close(&it, t);
}

static char *write_all(const hl_rca_result *r, const hl_topology *t, int json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    hl_error err;
    if (json)
        assert_int_equal(hl_rca_write_json(f, r, t, model, &err), HL_OK);
    else
        assert_int_equal(hl_rca_write_csv(f, r, t, model, &err), HL_OK);
    fclose(f);
    return buf;
}

static void test_threads_identical(void **state)
{
    (void)state;
    hl_topology *t = NULL;
    hl_incidents *inc = many(&t, 30);
    hl_rca_options opt;
    hl_rca_options_init(&opt);
    opt.threads = 1;
    hl_rca_result *r1 = run(t, inc, &opt);
    opt.threads = 2;
    hl_rca_result *r2 = run(t, inc, &opt);
    char *c1 = write_all(r1, t, 0), *c2 = write_all(r2, t, 0);
    char *j1 = write_all(r1, t, 1), *j2 = write_all(r2, t, 1);
    assert_string_equal(c1, c2);
    assert_string_equal(j1, j2);
    free(c1);
    free(c2);
    free(j1);
    free(j2);
    hl_rca_result_free(r1);
    hl_rca_result_free(r2);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

typedef struct progress_log {
    size_t calls, last_done, total, stop_at;
} progress_log;

/* Counts the calls after each incident (done one more than before); the
 * ranking's calls inside an incident repeat the last done. */
static int on_progress(size_t done, size_t total, void *arg)
{
    progress_log *p = arg;
    if (done == p->last_done)
        return 0;
    assert_int_equal(done, p->last_done + 1);
    p->calls++;
    p->last_done = done;
    p->total = total;
    return p->stop_at && done == p->stop_at;
}

static void test_progress_and_cancel(void **state)
{
    (void)state;
    hl_topology *t = NULL;
    hl_incidents *inc = many(&t, 12);
    hl_rca_options opt;
    hl_rca_options_init(&opt);
    progress_log log = {0};
    opt.progress = on_progress;
    opt.progress_arg = &log;
    hl_rca_result *r = run(t, inc, &opt);
    assert_int_equal(log.calls, 12);
    assert_int_equal(log.total, 12);
    hl_rca_result_free(r);
    memset(&log, 0, sizeof log);
    log.stop_at = 5;
    hl_error err;
    assert_int_equal(hl_rca_run(model, t, inc, &opt, &r, NULL, &err),
                     HL_ERR_CANCELLED);
    assert_null(r);
    assert_int_equal(log.calls, 5);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* n nodes, node i > 0 depending on `deps` random nodes before it: node 0
 * is the one root every other node can be traced back to. */
static hl_topology *dag(size_t n, size_t deps)
{
    hl_topology_builder *b = hl_topology_builder_new(0);
    hl_error err;
    char id[32], to[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "n%zu", i);
        assert_int_equal(hl_topology_builder_add_node(b, id, "svc", &err),
                         HL_OK);
    }
    hl__rng rng;
    hl__rng_seed(&rng, 3);
    for (size_t i = 1; i < n; i++)
        for (size_t k = 0; k < deps; k++) {
            snprintf(id, sizeof id, "n%zu", i);
            snprintf(to, sizeof to, "n%zu", (size_t)hl__rng_below(&rng, i));
            hl_status rc = hl_topology_builder_add_edge(b, id, to, 0, &err);
            assert_true(rc == HL_OK || strstr(err.message, "uplicate"));
        }
    hl_topology *t = NULL;
    assert_int_equal(hl_topology_builder_finish(b, &t, &err), HL_OK);
    return t;
}

/* Every one of 10,000 nodes abnormal (20 edges each): the full searches
 * stay within HL__RCA_MAX_SEARCHES (+ the top causes' trees), the root is
 * among them and ranked first, and it takes seconds, not a minute. */
static void test_widespread_incident_bounded(void **state)
{
    (void)state;
    const size_t n = 10000;
    hl_topology *t = dag(n, 20);
    hl_rca_node *nodes = calloc(n, sizeof *nodes);
    for (size_t i = 0; i < n; i++) { /* node index i is "n<i>" */
        char id[32];
        snprintf(id, sizeof id, "n%zu", i);
        assert_int_equal(hl_topology_find(t, id), (long)i);
        set_node(&nodes[i], i,
                 i ? 0.6 + 0.39 * (double)((i * 7919) % 100) / 100.0 : 0.99,
                 0.01 * (double)i);
    }
    hl_rca_incident in = {.id = "wide", .n_nodes = n, .nodes = nodes};
    hl_rca_options opt;
    hl_rca_options_init(&opt);
    hl__rca_scratch *s = hl__rca_scratch_new(t->n_nodes);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(hl__rca_rank(t, &opt, s, &in, NULL, NULL), HL_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double took = (double)(t1.tv_sec - t0.tv_sec) +
                  1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    print_message("10,000 abnormal nodes, 20 edges each: %.2f s, %zu "
                  "searches\n", took, hl__rca_scratch_searches(s));
    assert_true(hl__rca_scratch_searches(s) <= HL__RCA_MAX_SEARCHES + opt.top);
    assert_true(took < 20.0);
    assert_int_equal(in.n_abnormal, n);
    assert_int_equal(in.n_causes, opt.top);
    assert_string_equal(id_of(t, in.causes[0].node), "n0");
    hl__rca_scratch_free(s);
    clear(&in);
    free(nodes);
    hl_topology_free(t);
}

static int stop_at_once(size_t done, size_t total, void *arg)
{
    size_t *calls = arg;
    assert_int_equal(done, 0); /* inside the one incident */
    assert_int_equal(total, 1);
    (*calls)++;
    return 1;
}

/* One incident with more candidates than the ranking's tick period: the
 * callback is called inside it, and its stop cancels the run. */
static void test_cancel_inside_incident(void **state)
{
    (void)state;
    hl_topology *t = dag(400, 3);
    incidents_text it;
    text_open(&it);
    for (size_t v = 0; v < t->n_nodes; v++)
        node_rows(&it, "wide", id_of(t, v), 2, 0, fault_k, (double)v);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_options opt;
    hl_rca_options_init(&opt);
    size_t calls = 0;
    opt.progress = stop_at_once;
    opt.progress_arg = &calls;
    hl_rca_result *r = NULL;
    hl_error err;
    assert_int_equal(hl_rca_run(model, t, inc, &opt, &r, NULL, &err),
                     HL_ERR_CANCELLED);
    assert_null(r);
    assert_int_equal(calls, 1);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* Ids that need quoting or escaping; the CSV's lines, the JSON's keys in
 * the contract's order with nulls where nothing is known. */
static void test_writers(void **state)
{
    (void)state;
    hl_topology *t = graph("w\"eb>db");
    incidents_text it;
    text_open(&it);
    node_rows(&it, "\"inc, 1\"", "db", 3, 1, fault_k, 0);
    node_rows(&it, "\"inc, 1\"", "\"w\"\"eb\"", 3, 2, fault_k, 0);
    hl_incidents *inc = text_close(&it, t);
    hl_rca_result *r = run(t, inc, NULL);
    char *csv = write_all(r, t, 0);
    char want[512];
    snprintf(want, sizeof want,
             "incident_id,rank,node,fault,score,onset,path\n"
             "\"inc, 1\",1,db,%s,%.4f,60,\"db>w\"\"eb\"\n",
             hl_model_class_name(model, (size_t)fault_k),
             r->incidents[0].causes[0].score);
    assert_int_equal(strncmp(csv, want, strlen(want)), 0);
    free(csv);
    char *js = write_all(r, t, 1);
    json_error_t je;
    json_t *root = json_loads(js, 0, &je);
    assert_non_null(root);
    const char *keys[] = {"normal", "top", "incidents"};
    const char *key;
    json_t *v;
    size_t i = 0;
    json_object_foreach(root, key, v) assert_string_equal(key, keys[i++]);
    assert_string_equal(json_string_value(json_object_get(root, "normal")),
                        "normal");
    json_t *in = json_array_get(json_object_get(root, "incidents"), 0);
    assert_string_equal(json_string_value(json_object_get(in, "incident_id")),
                        "inc, 1");
    const char *ikeys[] = {"incident_id", "observed", "abnormal", "ranks",
                           "nodes"};
    i = 0;
    json_object_foreach(in, key, v) assert_string_equal(key, ikeys[i++]);
    json_t *rank1 = json_array_get(json_object_get(in, "ranks"), 0);
    const char *rkeys[] = {"rank",       "node",  "observed",      "fault",
                           "confidence", "score", "evidence",      "explained",
                           "timing",     "onset", "onset_seconds", "path",
                           "tree"};
    i = 0;
    json_object_foreach(rank1, key, v) assert_string_equal(key, rkeys[i++]);
    assert_int_equal(i, 13);
    assert_string_equal(json_string_value(json_object_get(rank1, "onset")),
                        "60");
    assert_int_equal(
        json_integer_value(json_object_get(rank1, "onset_seconds")), 60);
    json_t *path = json_object_get(rank1, "path");
    assert_string_equal(json_string_value(json_array_get(path, 1)), "w\"eb");
    json_t *tree0 = json_array_get(json_object_get(rank1, "tree"), 0);
    assert_true(json_is_null(json_object_get(tree0, "parent")));
    json_t *node0 = json_array_get(json_object_get(in, "nodes"), 0);
    const char *nkeys[] = {
        "node",  "kind",       "rows",  "anomaly",       "abnormal",
        "fault", "confidence", "onset", "onset_seconds", "abnormal_kpis"};
    i = 0;
    json_object_foreach(node0, key, v) assert_string_equal(key, nkeys[i++]);
    assert_string_equal(json_string_value(json_object_get(node0, "kind")),
                        "kw\"eb");
    json_decref(root);
    free(js);
    /* one incident alone is the same object; out of range refused */
    char *one = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&one, &len);
    hl_error err;
    assert_int_equal(hl_rca_write_incident_json(f, r, 0, t, model, &err),
                     HL_OK);
    assert_int_equal(hl_rca_write_incident_json(f, r, 1, t, model, &err),
                     HL_ERR_INVALID);
    fclose(f);
    root = json_loads(one, 0, &je);
    assert_non_null(root);
    assert_int_equal(json_integer_value(json_object_get(root, "observed")), 2);
    json_decref(root);
    free(one);
    /* an unknown fault (abnormal by KPIs alone) is null / empty; the
     * normal class of a node that is not abnormal is its label */
    r->incidents[0].nodes[0].fault = -1;
    r->incidents[0].nodes[0].confidence = NAN;
    r->incidents[0].causes[0].fault = normal_k;
    csv = write_all(r, t, 0);
    assert_non_null(strstr(csv, "\n\"inc, 1\",1,db,normal,"));
    free(csv);
    js = write_all(r, t, 1);
    root = json_loads(js, 0, &je);
    in = json_array_get(json_object_get(root, "incidents"), 0);
    node0 = json_array_get(json_object_get(in, "nodes"), 0);
    assert_true(json_is_null(json_object_get(node0, "fault")));
    assert_true(json_is_null(json_object_get(node0, "confidence")));
    rank1 = json_array_get(json_object_get(in, "ranks"), 0);
    assert_string_equal(json_string_value(json_object_get(rank1, "fault")),
                        "normal");
    json_decref(root);
    free(js);
    hl_rca_result_free(r);
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* ---- rca-eval ---------------------------------------------------------- */

static void test_eval(void **state)
{
    (void)state;
    const char *truth = tu_write_temp("incident_id,root_node,root_fault\n"
                                      "a,db,disk\n"
                                      "b,x,cpu\n"
                                      "b,y,mem\n"
                                      "c,q,cpu\n"
                                      "d,q,cpu\n",
                                      (size_t)-1);
    char truth_path[64];
    snprintf(truth_path, sizeof truth_path, "%s", truth);
    const char *ranks =
        tu_write_temp("incident_id,rank,node,fault,score,onset,path\n"
                      "a,1,db,disk,0.9,1,db\n"
                      "a,2,api,disk,0.5,2,api\n"
                      "b,1,z,cpu,0.9,1,z\n"
                      "b,2,y,mem,0.8,1,y\n"
                      "c,1,q,mem,0.9,1,q\n"
                      "zz,1,q,mem,0.9,1,q\n",
                      (size_t)-1);
    hl_rca_eval e;
    hl_error err;
    assert_int_equal(hl_rca_eval_files(ranks, truth_path, &e, &err), HL_OK);
    assert_int_equal(e.incidents, 4);
    assert_int_equal(e.unranked, 1);          /* d */
    assert_true(fabs(e.top1 - 0.5) < 1e-12);  /* a, c */
    assert_true(fabs(e.top3 - 0.75) < 1e-12); /* + b at rank 2 */
    assert_true(fabs(e.top5 - 0.75) < 1e-12);
    assert_int_equal(e.node_right, 2);
    assert_true(fabs(e.fault_accuracy - 0.5) < 1e-12); /* a right, c not */
    /* a 1, b 2, c 1, d: unranked = the most ranks (2) + 1 */
    assert_true(fabs(e.mean_rank - (1 + 2 + 1 + 3) / 4.0) < 1e-12);
    unlink(ranks);
    /* refusals */
    ranks = tu_write_temp("incident_id,rank,node,fault,score,onset,path\n"
                          "a,first,db,disk,0.9,1,db\n",
                          (size_t)-1);
    assert_int_equal(hl_rca_eval_files(ranks, truth_path, &e, &err),
                     HL_ERR_DATA);
    assert_int_equal(err.line, 2);
    assert_non_null(strstr(err.message, "rank must be a whole number"));
    unlink(ranks);
    ranks = tu_write_temp("incident_id,rank,node,fault,score,onset,path\n"
                          "a,1,db,disk,0.9,1,db\na,1,x,disk,0.9,1,x\n",
                          (size_t)-1);
    assert_int_equal(hl_rca_eval_files(ranks, truth_path, &e, &err),
                     HL_ERR_DATA);
    assert_non_null(strstr(err.message, "second rank 1"));
    unlink(ranks);
    ranks = tu_write_temp("incident_id,rank,node\na,1,db\n", (size_t)-1);
    assert_int_equal(hl_rca_eval_files(ranks, truth_path, &e, &err),
                     HL_ERR_PARSE);
    assert_non_null(strstr(err.message, "missing column 'fault'"));
    unlink(truth_path);
    truth = tu_write_temp("incident_id,root_node,root_fault\n", (size_t)-1);
    assert_int_equal(hl_rca_eval_files(ranks, truth, &e, &err), HL_ERR_DATA);
    assert_non_null(strstr(err.message, "no incident"));
    unlink(truth);
    assert_int_equal(hl_rca_eval_files(ranks, "/nonexistent/t.csv", &e, &err),
                     HL_ERR_IO);
    unlink(ranks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_fork_cycle_bidirectional),
        cmocka_unit_test(test_unobserved_common_dependency),
        cmocka_unit_test(test_two_roots),
        cmocka_unit_test(test_no_abnormal_node),
        cmocka_unit_test(test_victim_looks_worse),
        cmocka_unit_test(test_time_order_between_neighbours),
        cmocka_unit_test(test_hop_delay),
        cmocka_unit_test(test_kpi_gate),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_widespread_incident_bounded),
        cmocka_unit_test(test_cancel_inside_incident),
        cmocka_unit_test(test_writers),
        cmocka_unit_test(test_eval),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
