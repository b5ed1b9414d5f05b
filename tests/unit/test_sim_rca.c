/* test_sim_rca.c - the simulator's topologies and incidents (root-cause
 * analysis): shapes, determinism, the plan of an incident (roots observed,
 * onsets ordered along the spread, strengths, unobserved and minor nodes),
 * the files written (truth consistent with the plan, rows sorted, ISO
 * times), the strength of a drawn fault, and option validation.
 */
#include <math.h>

#include "sim_incidents.h"
#include "sim_system.h"
#include "testutil.h"

static const hl_topology_shape SHAPES[] = {
    HL_SHAPE_CHAIN, HL_SHAPE_TREE, HL_SHAPE_MESH, HL_SHAPE_MICROSERVICES};

static hl_topology *topology_ok(hl_topology_shape shape, size_t n,
                                uint64_t seed)
{
    hl_topology *t = NULL;
    hl_error err;
    hl_error_clear(&err);
    if (hl_sim_topology(shape, n, seed, &t, &err) != HL_OK)
        fail_msg("hl_sim_topology(%s, %zu): %s", hl_topology_shape_name(shape),
                 n, err.message);
    assert_int_equal(t->n_nodes, n);
    return t;
}

/* Nodes reached from node 0 following edges both ways. */
static size_t reachable(const hl_topology *t)
{
    uint8_t *seen = calloc(t->n_nodes, 1);
    size_t *queue = malloc(t->n_nodes * sizeof *queue);
    assert_non_null(seen);
    assert_non_null(queue);
    size_t head = 0, tail = 0;
    queue[tail++] = 0;
    seen[0] = 1;
    while (head < tail) {
        const size_t v = queue[head++];
        const size_t *lists[2] = {t->spread, t->depends};
        const size_t *starts[2] = {t->spread_start, t->depends_start};
        for (int l = 0; l < 2; l++)
            for (size_t e = starts[l][v]; e < starts[l][v + 1]; e++)
                if (!seen[lists[l][e]]) {
                    seen[lists[l][e]] = 1;
                    queue[tail++] = lists[l][e];
                }
    }
    free(seen);
    free(queue);
    return tail;
}

/* 1 when the directed graph (bidirectional edges both ways) has a cycle:
 * Kahn's algorithm leaves nodes behind. */
static int has_cycle(const hl_topology *t)
{
    size_t *indeg = calloc(t->n_nodes, sizeof *indeg);
    size_t *queue = malloc(t->n_nodes * sizeof *queue);
    assert_non_null(indeg);
    assert_non_null(queue);
    for (size_t v = 0; v < t->n_nodes; v++)
        for (size_t e = t->spread_start[v]; e < t->spread_start[v + 1]; e++)
            indeg[t->spread[e]]++;
    size_t head = 0, tail = 0;
    for (size_t v = 0; v < t->n_nodes; v++)
        if (!indeg[v])
            queue[tail++] = v;
    while (head < tail) {
        const size_t v = queue[head++];
        for (size_t e = t->spread_start[v]; e < t->spread_start[v + 1]; e++)
            if (--indeg[t->spread[e]] == 0)
                queue[tail++] = t->spread[e];
    }
    free(indeg);
    free(queue);
    return tail < t->n_nodes;
}

static void test_shape_names(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        hl_topology_shape s;
        assert_int_equal(
            hl_topology_shape_parse(hl_topology_shape_name(SHAPES[i]), &s), 0);
        assert_int_equal(s, SHAPES[i]);
    }
    hl_topology_shape s;
    assert_int_equal(hl_topology_shape_parse("star", &s), -1);
    assert_int_equal(hl_topology_shape_parse("Chain", &s), -1);
    assert_int_equal(hl_topology_shape_parse(NULL, &s), -1);
    assert_string_equal(hl_topology_shape_name(HL_SHAPE_MICROSERVICES),
                        "microservices");
}

/* Every shape at every size: the node count, no self-loop, connected. */
static void test_shapes_basic(void **state)
{
    (void)state;
    const size_t sizes[] = {2, 3, 4, 9, 10, 57, 500};
    for (size_t i = 0; i < 4; i++)
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            hl_topology *t = topology_ok(SHAPES[i], sizes[k], 7);
            for (size_t e = 0; e < t->n_edges; e++)
                assert_true(t->edges[e].from != t->edges[e].to);
            assert_true(t->n_edges >= t->n_nodes - 1);
            assert_int_equal(reachable(t), t->n_nodes);
            hl_topology_free(t);
        }
}

static void test_chain_and_tree(void **state)
{
    (void)state;
    hl_topology *t = topology_ok(HL_SHAPE_CHAIN, 30, 1);
    assert_int_equal(t->n_edges, 29);
    for (size_t e = 0; e < t->n_edges; e++) {
        assert_int_equal(t->edges[e].to, t->edges[e].from + 1);
        assert_false(t->edges[e].bidirectional);
    }
    assert_false(has_cycle(t));
    hl_topology_free(t);

    /* A tree: each node but the entry point has exactly one caller and a
     * caller has 2-4 children (the last one may have fewer). */
    t = topology_ok(HL_SHAPE_TREE, 200, 3);
    assert_int_equal(t->n_edges, 199);
    size_t *callers = calloc(200, sizeof *callers);
    size_t *kids = calloc(200, sizeof *kids);
    for (size_t e = 0; e < t->n_edges; e++) {
        callers[t->edges[e].to]++;
        kids[t->edges[e].from]++;
        assert_true(t->edges[e].from < t->edges[e].to);
    }
    assert_int_equal(callers[0], 0);
    size_t short_parents = 0;
    for (size_t v = 1; v < 200; v++)
        assert_int_equal(callers[v], 1);
    for (size_t v = 0; v < 200; v++)
        if (kids[v] > 0 && kids[v] < 2)
            short_parents++;
        else
            assert_true(kids[v] <= 4);
    assert_true(short_parents <= 1);
    assert_false(has_cycle(t));
    free(callers);
    free(kids);
    hl_topology_free(t);
}

static void test_mesh(void **state)
{
    (void)state;
    hl_topology *t = topology_ok(HL_SHAPE_MESH, 300, 5);
    size_t bidir = 0;
    for (size_t e = 0; e < t->n_edges; e++)
        bidir += t->edges[e].bidirectional != 0;
    /* About 2-3 dependencies per node, ~10 % bidirectional, cycles. */
    assert_true(t->n_edges >= 2 * 300 && t->n_edges <= 3 * 300 + 300);
    assert_true(bidir >= t->n_edges / 20 && bidir <= t->n_edges / 5);
    assert_true(has_cycle(t));
    hl_topology_free(t);
}

static int one_of(const char *s, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s, set[i]))
            return 1;
    return 0;
}

static void test_microservices(void **state)
{
    (void)state;
    static const char *const kinds[] = {"gateway",  "frontend", "service",
                                        "database", "cache",    "queue"};
    static const char *const prefix[] = {"gw-", "fe-",    "svc-",
                                         "db-", "cache-", "mq-"};
    const size_t sizes[] = {2, 3, 20, 500};
    for (size_t k = 0; k < 4; k++) {
        hl_topology *t = topology_ok(HL_SHAPE_MICROSERVICES, sizes[k], 11);
        size_t count[6] = {0};
        size_t *kind_of = malloc(t->n_nodes * sizeof *kind_of);
        for (size_t v = 0; v < t->n_nodes; v++) {
            assert_non_null(t->nodes[v].kind);
            assert_true(one_of(t->nodes[v].kind, kinds, 6));
            for (size_t i = 0; i < 6; i++)
                if (!strcmp(t->nodes[v].kind, kinds[i])) {
                    kind_of[v] = i;
                    count[i]++;
                    assert_memory_equal(t->nodes[v].id, prefix[i],
                                        strlen(prefix[i]));
                }
        }
        assert_true(count[0] >= 1 && count[0] <= 8); /* gateways */
        assert_true(count[3] >= 1);                  /* a database */
        for (size_t e = 0; e < t->n_edges; e++) {
            const hl_topology_edge *ed = &t->edges[e];
            assert_true(kind_of[ed->to] != 0); /* nobody calls a gateway */
            /* a backend depends only on its replica */
            if (kind_of[ed->from] >= 3)
                assert_true(ed->bidirectional && kind_of[ed->to] == 3);
        }
        if (sizes[k] == 500) {
            assert_true(count[2] > count[1] && count[1] > count[0]);
            assert_true(count[4] + count[5] > 0);
            assert_true(has_cycle(t)); /* services calling back */
            assert_string_equal(t->nodes[0].id, "gw-1");
            assert_true(hl_topology_find(t, "svc-orders-2") >= 0);
        }
        free(kind_of);
        hl_topology_free(t);
    }
}

static char *json_of(const hl_topology *t)
{
    char *s = NULL;
    size_t n = 0;
    hl_error err;
    assert_int_equal(hl_topology_to_json(t, &s, &n, &err), HL_OK);
    return s;
}

static void test_topology_deterministic(void **state)
{
    (void)state;
    for (size_t i = 0; i < 4; i++) {
        hl_topology *a = topology_ok(SHAPES[i], 120, 9);
        hl_topology *b = topology_ok(SHAPES[i], 120, 9);
        hl_topology *c = topology_ok(SHAPES[i], 120, 10);
        char *ja = json_of(a), *jb = json_of(b), *jc = json_of(c);
        assert_string_equal(ja, jb);
        if (SHAPES[i] != HL_SHAPE_CHAIN) /* a chain has nothing to draw */
            assert_true(strcmp(ja, jc) != 0);
        free(ja);
        free(jb);
        free(jc);
        hl_topology_free(a);
        hl_topology_free(b);
        hl_topology_free(c);
    }
}

static void test_topology_invalid(void **state)
{
    (void)state;
    hl_topology *t = (hl_topology *)1;
    hl_error err;
    hl_error_clear(&err);
    assert_int_equal(hl_sim_topology(HL_SHAPE_MESH, 1, 1, &t, &err),
                     HL_ERR_INVALID);
    assert_null(t);
    assert_non_null(strstr(err.message, "nodes"));
    assert_int_equal(hl_sim_topology(HL_SHAPE_MESH, 10001, 1, &t, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_sim_topology((hl_topology_shape)9, 10, 1, &t, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "shape"));
    assert_int_equal(hl_sim_topology(HL_SHAPE_CHAIN, 10, 1, NULL, &err),
                     HL_ERR_INVALID);
}

/* ---- incidents ---- */

static int depends_on(const hl_topology *t, size_t victim, size_t source)
{
    for (size_t e = t->spread_start[source]; e < t->spread_start[source + 1];
         e++)
        if (t->spread[e] == victim)
            return 1;
    return 0;
}

/* The promises of the plan on many incidents of a meshed and a layered
 * topology. */
static void check_plans(const hl_topology *t, const hl_sim_incident_options *o,
                        size_t incidents)
{
    hl__sim_plan p;
    hl_error err;
    assert_int_equal(hl__sim_plan_alloc(&p, t->n_nodes, &err), HL_OK);
    size_t victims = 0, minors = 0, seconds = 0;
    for (size_t i = 0; i < incidents; i++) {
        hl__sim_plan_draw(o, t, i, &p);
        size_t unobserved = 0;
        for (size_t k = 0; k < p.n_roots; k++) {
            const size_t r = p.root[k];
            assert_true(p.observed[r]);
            assert_true(p.strength[r] == 1.0);
            assert_true(p.root_class[k] >= 1 &&
                        p.root_class[k] < o->system.classes);
            assert_int_equal(p.cls[r], p.root_class[k]);
            assert_int_equal(p.parent[r], -1);
        }
        if (p.n_roots == 2) {
            seconds++;
            assert_true(p.root[0] != p.root[1]);
            assert_true(fabs(p.onset[p.root[1]] - p.t0) <= 60.0);
        }
        assert_true(p.onset[p.root[0]] == p.t0);
        for (size_t v = 0; v < t->n_nodes; v++) {
            unobserved += !p.observed[v];
            assert_true(fabs(p.skew[v]) <= o->max_skew);
            assert_true(p.interval[v] >= 30.0 && p.interval[v] <= 60.0);
            assert_true(p.start[v] < p.t0);
            if (p.parent[v] >= 0) { /* a victim */
                const size_t u = (size_t)p.parent[v];
                victims++;
                assert_true(p.strength[u] > 0.0);
                assert_true(depends_on(t, v, u));
                assert_true(p.onset[v] >= p.onset[u] + 10.0);
                assert_true(p.onset[v] <= p.onset[u] + 60.0);
                assert_true(p.strength[v] >= HL__SIM_SPREAD_MIN);
                assert_true(p.strength[v] <= 1.0);
                assert_true(p.strength[v] <= p.strength[u] * 1.05 + 1e-12);
                assert_true(p.cls[v] >= 1);
                assert_false(p.minor[v]);
            } else if (p.minor[v]) {
                minors++;
                assert_true(p.observed[v]);
                assert_true(p.strength[v] >= 0.3 && p.strength[v] <= 0.6);
                assert_true(p.cls[v] >= 1);
            }
        }
        const size_t want = (size_t)(o->unobserved * (double)t->n_nodes + 0.5);
        assert_int_equal(unobserved, want);
    }
    assert_true(victims > incidents);
    if (o->minor_anomalies > 0)
        assert_true(minors > incidents / 2);
    if (o->two_roots == 1.0)
        assert_int_equal(seconds, incidents);
    if (o->two_roots == 0.0)
        assert_int_equal(seconds, 0);
    hl__sim_plan_free(&p);
}

static void test_plans(void **state)
{
    (void)state;
    hl_sim_incident_options o;
    hl_sim_incident_options_init(&o);
    hl_topology *mesh = topology_ok(HL_SHAPE_MESH, 200, 2);
    hl_topology *ms = topology_ok(HL_SHAPE_MICROSERVICES, 100, 2);
    check_plans(mesh, &o, 200);
    check_plans(ms, &o, 200);
    o.two_roots = 1.0;
    o.unobserved = 0.3;
    o.minor_anomalies = 3;
    o.max_skew = 0;
    check_plans(ms, &o, 100);
    hl_topology_free(mesh);
    hl_topology_free(ms);
}

static void test_symptoms(void **state)
{
    (void)state;
    /* One fixed symptom per class, another non-normal class. */
    for (size_t classes = 3; classes <= 16; classes++)
        for (size_t c = 1; c < classes; c++) {
            const size_t s = hl__sim_symptom_class(c, classes);
            assert_true(s >= 1 && s < classes && s != c);
        }
    assert_int_equal(hl__sim_symptom_class(1, 2), 1); /* no other fault */
    assert_int_equal(hl__sim_symptom_class(2, 6), 3); /* disk_full: delay */
}

/* Strength 0 is normal operation, draw for draw; stronger faults move
 * their signature KPIs further. */
static void test_row_strength(void **state)
{
    (void)state;
    hl_sim_options so;
    hl_sim_options_init(&so);
    so.missing_rate = 0;
    hl__sim_source *src = NULL;
    hl_error err;
    assert_int_equal(hl__sim_source_new(&so, &src, &err), HL_OK);
    hl_sim_signature sig[6];
    assert_int_equal(hl_sim_signatures(&so, sig, &err), HL_OK);
    float a[32], b[32];
    hl__rng r1, r2;
    hl__rng_seed(&r1, 77);
    hl__rng_seed(&r2, 77);
    hl__sim_source_row(src, 0, 1.0, &r1, a);
    hl__sim_source_row(src, 3, 0.0, &r2, b);
    assert_memory_equal(a, b, sizeof a);

    /* Share of rows beyond the normal median in the signature direction
     * of class 2's first KPI, at strengths 0, 0.3 and 1. */
    const size_t n = 400, j = sig[2].kpi[0];
    const int dir = sig[2].direction[0];
    float *normal = malloc(n * sizeof *normal);
    for (size_t i = 0; i < n; i++) {
        hl__rng_seed(&r1, 1000 + i);
        hl__sim_source_row(src, 0, 0.0, &r1, a);
        normal[i] = a[j];
    }
    hl__sort_floats(normal, n);
    const float median = normal[n / 2];
    double share[3];
    const double strengths[3] = {0.0, 0.3, 1.0};
    for (size_t s = 0; s < 3; s++) {
        size_t beyond = 0;
        for (size_t i = 0; i < n; i++) {
            hl__rng_seed(&r1, 5000 + i);
            hl__sim_source_row(src, 2, strengths[s], &r1, a);
            beyond += dir > 0 ? a[j] > median : a[j] < median;
        }
        share[s] = (double)beyond / (double)n;
    }
    assert_true(share[0] > 0.4 && share[0] < 0.6);
    assert_true(share[1] > share[0] + 0.1);
    assert_true(share[2] > 0.95);
    free(normal);
    hl__sim_source_free(src);
}

/* ---- files ---- */

typedef struct tmp_files {
    char dir[64], csv[96], truth[96];
} tmp_files;

static void tmp_init(tmp_files *f)
{
    snprintf(f->dir, sizeof f->dir, "/tmp/healer-simrca-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->csv, sizeof f->csv, "%s/inc.csv", f->dir);
    snprintf(f->truth, sizeof f->truth, "%s/truth.csv", f->dir);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return s;
}

static void write_ok(const hl_sim_incident_options *o, const hl_topology *t,
                     const tmp_files *f)
{
    hl_error err;
    hl_error_clear(&err);
    if (hl_sim_incidents_write(o, t, f->csv, f->truth, &err) != HL_OK)
        fail_msg("hl_sim_incidents_write: %s", err.message);
}

/* A topology, a private directory (in *f) and the incidents o writes
 * there. */
static hl_topology *fixture(const hl_sim_incident_options *o,
                            hl_topology_shape shape, size_t nodes, tmp_files *f)
{
    hl_topology *t = topology_ok(shape, nodes, 4);
    tmp_init(f);
    write_ok(o, t, f);
    return t;
}

/* The truth names the plan's roots; the rows come by incident, then time,
 * each observed node with rows_per_node rows, each root among them. */
static void test_files(void **state)
{
    (void)state;
    hl_sim_incident_options o;
    hl_sim_incident_options_init(&o);
    o.incidents = 12;
    o.two_roots = 0.5;
    o.system.features = 8;
    tmp_files f;
    hl_topology *t = fixture(&o, HL_SHAPE_MICROSERVICES, 40, &f);

    hl__sim_plan p;
    hl_error err;
    assert_int_equal(hl__sim_plan_alloc(&p, t->n_nodes, &err), HL_OK);
    char *truth = slurp(f.truth, NULL);
    char *line = strtok(truth, "\n");
    assert_string_equal(line, "incident_id,root_node,root_fault");
    for (size_t i = 0; i < o.incidents; i++) {
        hl__sim_plan_draw(&o, t, i, &p);
        for (size_t k = 0; k < p.n_roots; k++) {
            char want[128], *label = hl__sim_class_name(p.root_class[k], 1);
            snprintf(want, sizeof want, "inc-%04zu,%s,%s", i + 1,
                     t->nodes[p.root[k]].id, label);
            free(label);
            line = strtok(NULL, "\n");
            assert_non_null(line);
            assert_string_equal(line, want);
        }
    }
    assert_null(strtok(NULL, "\n"));
    free(truth);

    char *csv = slurp(f.csv, NULL);
    line = strtok(csv, "\n");
    assert_string_equal(line, "incident_id,node,timestamp,feature0,feature1,"
                              "feature2,feature3,feature4,feature5,feature6,"
                              "feature7");
    const size_t observed = t->n_nodes - (size_t)(0.1 * 40 + 0.5);
    for (size_t i = 0; i < o.incidents; i++) {
        hl__sim_plan_draw(&o, t, i, &p);
        char prefix[32];
        snprintf(prefix, sizeof prefix, "inc-%04zu,", i + 1);
        long long last = -1;
        size_t root_rows = 0;
        for (size_t r = 0; r < observed * o.rows_per_node; r++) {
            line = strtok(NULL, "\n");
            assert_non_null(line);
            assert_memory_equal(line, prefix, strlen(prefix));
            char node[64];
            long long stamp;
            assert_int_equal(
                sscanf(line + strlen(prefix), "%63[^,],%lld", node, &stamp), 2);
            assert_true(stamp >= last);
            last = stamp;
            const long v = hl_topology_find(t, node);
            assert_true(v >= 0 && p.observed[v]);
            root_rows += (size_t)v == p.root[0];
            /* A written time is the true one plus the node's skew. */
            assert_true(stamp >= (long long)(p.start[v] - 31.0));
        }
        assert_int_equal(root_rows, o.rows_per_node);
    }
    assert_null(strtok(NULL, "\n"));
    free(csv);
    hl__sim_plan_free(&p);
    hl_topology_free(t);
    tu_rm_rf(f.dir);
}

static void test_files_deterministic_iso(void **state)
{
    (void)state;
    hl_sim_incident_options o;
    hl_sim_incident_options_init(&o);
    o.incidents = 3;
    o.system.features = 4;
    tmp_files f;
    hl_topology *t = fixture(&o, HL_SHAPE_TREE, 15, &f);
    size_t n1, n2;
    char *first = slurp(f.csv, &n1);
    write_ok(&o, t, &f);
    char *again = slurp(f.csv, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(first, again, n1);
    free(again);
    o.seed = 43;
    write_ok(&o, t, &f);
    again = slurp(f.csv, &n2);
    assert_true(n1 != n2 || memcmp(first, again, n1) != 0);
    free(again);
    free(first);

    o.iso_time = 1;
    o.max_skew = 0;
    write_ok(&o, t, &f);
    char *iso = slurp(f.csv, NULL);
    const char *row = strchr(iso, '\n') + 1;
    /* 1700000000 is 2023-11-14T22:13:20Z; the first sample comes up to 90
     * seconds earlier and the incident's start up to 600 s later. */
    assert_memory_equal(row, "inc-0001,", 9);
    const char *stamp = strchr(row + 9, ',') + 1;
    assert_memory_equal(stamp, "2023-11-14T22:", 14);
    assert_int_equal(stamp[19], 'Z');
    assert_int_equal(stamp[20], ',');
    free(iso);
    hl_topology_free(t);
    tu_rm_rf(f.dir);
}

static void expect_invalid(const hl_sim_incident_options *o,
                           const hl_topology *t, const char *name)
{
    hl_error err;
    hl_error_clear(&err);
    assert_int_equal(hl_sim_incidents_write(o, t, "/nonexistent/a.csv",
                                            "/nonexistent/b.csv", &err),
                     HL_ERR_INVALID);
    if (!strstr(err.message, name))
        fail_msg("message '%s' does not name '%s'", err.message, name);
}

static void test_incident_options_invalid(void **state)
{
    (void)state;
    hl_sim_incident_options base, o;
    hl_sim_incident_options_init(&base);
    assert_int_equal(base.incidents, 100);
    assert_int_equal(base.rows_per_node, 4);
    assert_int_equal(base.system.string_labels, 1);
    hl_topology *t = topology_ok(HL_SHAPE_CHAIN, 5, 1);
    o = base, o.incidents = 0;
    expect_invalid(&o, t, "incidents");
    o = base, o.rows_per_node = 65;
    expect_invalid(&o, t, "rows_per_node");
    o = base, o.unobserved = 0.95;
    expect_invalid(&o, t, "unobserved");
    o = base, o.minor_anomalies = NAN;
    expect_invalid(&o, t, "minor_anomalies");
    o = base, o.two_roots = 1.5;
    expect_invalid(&o, t, "two_roots");
    o = base, o.max_skew = -1;
    expect_invalid(&o, t, "max_skew");
    o = base, o.system.classes = 1;
    expect_invalid(&o, t, "classes");

    /* The same file twice, and an unwritable place (nothing left). */
    hl_error err;
    assert_int_equal(
        hl_sim_incidents_write(&base, t, "/tmp/x.csv", "/tmp/x.csv", &err),
        HL_ERR_INVALID);
    o = base, o.incidents = 2;
    assert_int_equal(hl_sim_incidents_write(&o, t, "/nonexistent/a.csv",
                                            "/nonexistent/b.csv", &err),
                     HL_ERR_IO);
    assert_int_equal(hl_sim_incidents_write(NULL, t, "a", "b", &err),
                     HL_ERR_INVALID);
    hl_topology_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_names),
        cmocka_unit_test(test_shapes_basic),
        cmocka_unit_test(test_chain_and_tree),
        cmocka_unit_test(test_mesh),
        cmocka_unit_test(test_microservices),
        cmocka_unit_test(test_topology_deterministic),
        cmocka_unit_test(test_topology_invalid),
        cmocka_unit_test(test_plans),
        cmocka_unit_test(test_symptoms),
        cmocka_unit_test(test_row_strength),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_files_deterministic_iso),
        cmocka_unit_test(test_incident_options_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
