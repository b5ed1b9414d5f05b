/* sim_topology.c - simulated system topologies for root-cause analysis.
 *
 * Four shapes that stress a root-cause method differently: a chain (one
 * long path, every victim downstream of one other), a caller tree (faults
 * climb from the backends at the leaves to the root), a random mesh
 * (cycles and bidirectional edges, where time order matters most) and a
 * layered microservice system (gateways -> frontends -> services that call
 * each other, some in cycles -> shared databases, caches and queues, with
 * kinds and ids such as "db-1" or "svc-orders-3", where one backend fault
 * makes many callers sick at once).
 *
 * Everything is built through the public hl_topology_builder, so a
 * simulated topology obeys the same rules as a parsed one. Deterministic
 * by seed: each shape draws from one generator seeded with (seed, shape).
 * Not modelled: weights, latencies or capacities on edges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/simulate.h"
#include "internal.h"

/* ---- shape names ---- */

static const char *const shape_names[] = {"chain", "tree", "mesh",
                                          "microservices"};
enum { N_SHAPES = sizeof shape_names / sizeof *shape_names };

int hl_topology_shape_parse(const char *name, hl_topology_shape *out)
{
    for (size_t i = 0; name && i < N_SHAPES; i++)
        if (!strcmp(name, shape_names[i])) {
            *out = (hl_topology_shape)i;
            return 0;
        }
    return -1;
}

const char *hl_topology_shape_name(hl_topology_shape s)
{
    return (size_t)s < N_SHAPES ? shape_names[s] : "unknown";
}

/* ---- helpers over the builder ---- */

/* Node ids are "PREFIX-K"; one id buffer size for every shape, room for
 * any prefix below PREFIX_CAP and a 20-digit K. */
enum { PREFIX_CAP = 40, ID_CAP = 64 };

typedef struct sim_graph {
    hl_topology_builder *b;
    char (*id)[ID_CAP]; /* id of node i, kept to name edges */
    size_t n;           /* nodes added */
    hl_error *err;
} sim_graph;

static hl_status add_node(sim_graph *g, const char *prefix, size_t k,
                          const char *kind)
{
    snprintf(g->id[g->n], ID_CAP, "%.*s-%zu", PREFIX_CAP - 1, prefix, k);
    hl_status rc =
        hl_topology_builder_add_node(g->b, g->id[g->n], kind, g->err);
    if (rc == HL_OK)
        g->n++;
    return rc;
}

/* `from` depends on `to` (node indices). */
static hl_status add_edge(sim_graph *g, size_t from, size_t to, int bidir)
{
    return hl_topology_builder_add_edge(g->b, g->id[from], g->id[to], bidir,
                                        g->err);
}

static size_t between(hl__rng *r, size_t lo, size_t hi)
{
    return lo + (size_t)hl__rng_below(r, hi - lo + 1);
}

/* ---- chain and tree ---- */

static hl_status build_chain(sim_graph *g, size_t n)
{
    hl_status rc = HL_OK;
    for (size_t i = 0; rc == HL_OK && i < n; i++)
        rc = add_node(g, "node", i + 1, NULL);
    for (size_t i = 0; rc == HL_OK && i + 1 < n; i++)
        rc = add_edge(g, i, i + 1, 0);
    return rc;
}

/* Breadth-first: each node in turn gets 2-4 children (fewer at the end),
 * so node 0 is the entry point and the leaves are the backends. */
static hl_status build_tree(sim_graph *g, size_t n, hl__rng *r)
{
    hl_status rc = HL_OK;
    for (size_t i = 0; rc == HL_OK && i < n; i++)
        rc = add_node(g, "node", i + 1, NULL);
    size_t next = 1;
    for (size_t parent = 0; rc == HL_OK && next < n; parent++) {
        const size_t kids = between(r, 2, 4);
        for (size_t k = 0; rc == HL_OK && k < kids && next < n; k++)
            rc = add_edge(g, parent, next++, 0);
    }
    return rc;
}

/* ---- mesh ---- */

/* A random spanning tree first (node i linked with an earlier node, in a
 * random direction) so the graph is connected, then extra dependencies
 * until each node depends on 2-3 others; a tenth of the edges are
 * bidirectional. Out-degrees are tracked here since the builder merges
 * repeats silently. */
static hl_status build_mesh(sim_graph *g, size_t n, hl__rng *r)
{
    hl_status rc = HL_OK;
    size_t *out_deg = calloc(n, sizeof *out_deg);
    if (!out_deg)
        return hl__fail(g->err, HL_ERR_NOMEM, "simulate: out of memory");
    for (size_t i = 0; rc == HL_OK && i < n; i++)
        rc = add_node(g, "node", i + 1, NULL);
    for (size_t i = 1; rc == HL_OK && i < n; i++) {
        const size_t j = (size_t)hl__rng_below(r, i);
        const int forward = hl__rng_uniform(r) < 0.5;
        const int bidir = hl__rng_uniform(r) < 0.1;
        rc = add_edge(g, forward ? i : j, forward ? j : i, bidir);
        out_deg[forward ? i : j]++;
    }
    for (size_t i = 0; rc == HL_OK && i < n; i++) {
        size_t want = between(r, 2, 3);
        if (want > n - 1)
            want = n - 1;
        /* Bounded attempts: a repeat target merges and adds nothing. */
        for (size_t a = 0; rc == HL_OK && out_deg[i] < want && a < 8; a++) {
            const size_t j = (size_t)hl__rng_below(r, n);
            const int bidir = hl__rng_uniform(r) < 0.1;
            if (j == i)
                continue;
            rc = add_edge(g, i, j, bidir);
            out_deg[i]++;
        }
    }
    free(out_deg);
    return rc;
}

/* ---- microservices ---- */

static const char *const service_names[] = {
    "orders",  "payments", "users",     "catalog", "cart",
    "search",  "shipping", "inventory", "auth",    "notify",
    "reviews", "pricing",  "billing",   "profile", "recommend"};
static const char *const frontend_names[] = {"web", "mobile", "admin"};

/* Layer sizes for n >= 2 nodes: at least one gateway and one backend,
 * then a service, then a frontend; beyond that about 4 % gateways (at
 * most 8), 15 % frontends, 20 % backends and the rest services. */
typedef struct ms_layers {
    size_t gateways, frontends, services, backends;
} ms_layers;

static ms_layers ms_sizes(size_t n)
{
    ms_layers L = {1, 0, 0, 1};
    if (n >= 3)
        L.services = 1;
    if (n >= 4)
        L.frontends = 1;
    if (n >= 10) {
        L.gateways = n / 25 < 1 ? 1 : (n / 25 > 8 ? 8 : n / 25);
        L.frontends = n * 15 / 100;
        L.backends = n * 20 / 100;
    }
    L.services = n - L.gateways - L.frontends - L.backends;
    return L;
}

/* Backends: half databases, three in ten caches, the rest queues, but
 * the first one is always a database. */
static const char *backend_kind(size_t k, hl__rng *r)
{
    const double u = hl__rng_uniform(r);
    return k == 0 || u < 0.5 ? "database" : (u < 0.8 ? "cache" : "queue");
}

static const char *backend_prefix(const char *kind)
{
    return !strcmp(kind, "database")
               ? "db"
               : (!strcmp(kind, "cache") ? "cache" : "mq");
}

/* Adds the nodes layer by layer: [gateways][frontends][services][backends]. */
static hl_status ms_nodes(sim_graph *g, const ms_layers *L, hl__rng *r)
{
    hl_status rc = HL_OK;
    size_t per_kind[3] = {0, 0, 0}; /* db, cache, mq counters */
    char prefix[PREFIX_CAP];
    for (size_t i = 0; rc == HL_OK && i < L->gateways; i++)
        rc = add_node(g, "gw", i + 1, "gateway");
    for (size_t i = 0; rc == HL_OK && i < L->frontends; i++) {
        snprintf(prefix, sizeof prefix, "fe-%s", frontend_names[i % 3]);
        rc = add_node(g, prefix, i / 3 + 1, "frontend");
    }
    const size_t n_svc_names = sizeof service_names / sizeof *service_names;
    for (size_t i = 0; rc == HL_OK && i < L->services; i++) {
        snprintf(prefix, sizeof prefix, "svc-%s",
                 service_names[i % n_svc_names]);
        rc = add_node(g, prefix, i / n_svc_names + 1, "service");
    }
    for (size_t i = 0; rc == HL_OK && i < L->backends; i++) {
        const char *kind = backend_kind(i, r);
        const size_t slot = kind[0] == 'd' ? 0 : (kind[0] == 'c' ? 1 : 2);
        rc = add_node(g, backend_prefix(kind), ++per_kind[slot], kind);
    }
    return rc;
}

/* Every node of [lo, lo + count) gets one caller among
 * [clo, clo + ccount), then each caller calls 1-`most` of them. */
static hl_status ms_calls(sim_graph *g, hl__rng *r, size_t clo, size_t ccount,
                          size_t lo, size_t count, size_t most)
{
    hl_status rc = HL_OK;
    if (!ccount || !count)
        return HL_OK;
    for (size_t k = 0; rc == HL_OK && k < count; k++)
        rc = add_edge(g, clo + (size_t)hl__rng_below(r, ccount), lo + k, 0);
    for (size_t c = 0; rc == HL_OK && c < ccount; c++) {
        const size_t calls = between(r, 1, most);
        for (size_t k = 0; rc == HL_OK && k < calls; k++)
            rc = add_edge(g, clo + c, lo + (size_t)hl__rng_below(r, count), 0);
    }
    return rc;
}

/* Services call 1-3 others, mostly later ones (a layered call graph), one
 * call in eight going to any service, often an earlier one (a cycle); the
 * last service, with none after it, calls only such. */
static hl_status ms_service_calls(sim_graph *g, hl__rng *r, size_t lo,
                                  size_t count)
{
    hl_status rc = HL_OK;
    for (size_t i = 0; rc == HL_OK && count > 1 && i < count; i++) {
        const size_t calls = between(r, 1, 3);
        for (size_t k = 0; rc == HL_OK && k < calls; k++) {
            const int back = hl__rng_uniform(r) < 0.125 || i + 1 == count;
            const size_t j = back ? (size_t)hl__rng_below(r, count)
                                  : between(r, i + 1, count - 1);
            if (j != i)
                rc = add_edge(g, lo + i, lo + j, 0);
        }
    }
    return rc;
}

/* Consecutive databases are replica pairs (bidirectional) one time in
 * four: a shared resource whose trouble shows on both sides. */
static int is_database(const sim_graph *g, size_t i)
{
    return !strncmp(g->id[i], "db-", 3);
}

static hl_status ms_replicas(sim_graph *g, hl__rng *r, size_t lo, size_t count)
{
    hl_status rc = HL_OK;
    for (size_t k = lo; rc == HL_OK && k + 1 < lo + count; k++)
        if (is_database(g, k) && is_database(g, k + 1) &&
            hl__rng_uniform(r) < 0.25)
            rc = add_edge(g, k, k + 1, 1);
    return rc;
}

static hl_status build_microservices(sim_graph *g, size_t n, hl__rng *r)
{
    const ms_layers L = ms_sizes(n);
    const size_t fe = L.gateways, svc = fe + L.frontends, be = svc + L.services;
    hl_status rc = ms_nodes(g, &L, r);
    /* Gateways call the frontends (in a tiny system, the services or even
     * the backends directly). */
    const size_t callee_lo = L.frontends ? fe : (L.services ? svc : be);
    const size_t callee_n =
        L.frontends ? L.frontends : (L.services ? L.services : L.backends);
    if (rc == HL_OK)
        rc = ms_calls(g, r, 0, L.gateways, callee_lo, callee_n, 3);
    if (rc == HL_OK && L.frontends)
        rc = ms_calls(g, r, fe, L.frontends, svc, L.services, 3);
    if (rc == HL_OK)
        rc = ms_service_calls(g, r, svc, L.services);
    if (rc == HL_OK && L.services)
        rc = ms_calls(g, r, svc, L.services, be, L.backends, 2);
    if (rc == HL_OK)
        rc = ms_replicas(g, r, be, L.backends);
    return rc;
}

/* ---- entry point ---- */

hl_status hl_sim_topology(hl_topology_shape shape, size_t nodes, uint64_t seed,
                          hl_topology **out, hl_error *err)
{
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "simulate: out is NULL");
    *out = NULL;
    if ((size_t)shape >= N_SHAPES)
        return hl__fail(err, HL_ERR_INVALID,
                        "simulate: unknown topology shape %d (chain, tree, "
                        "mesh or microservices)",
                        (int)shape);
    if (nodes < 2 || nodes > HL_TOPOLOGY_MAX_NODES_DEFAULT)
        return hl__fail(err, HL_ERR_INVALID,
                        "simulate: option 'nodes' must be in 2..%d (got %zu)",
                        HL_TOPOLOGY_MAX_NODES_DEFAULT, nodes);
    sim_graph g = {hl_topology_builder_new(nodes), NULL, 0, err};
    g.id = malloc(nodes * sizeof *g.id);
    if (!g.b || !g.id) {
        hl_topology_builder_free(g.b);
        free(g.id);
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    }
    hl__rng r;
    hl__rng_seed(&r, hl__seed_mix(seed, 0x70701000u + (uint64_t)shape));
    hl_status rc = shape == HL_SHAPE_CHAIN  ? build_chain(&g, nodes)
                   : shape == HL_SHAPE_TREE ? build_tree(&g, nodes, &r)
                   : shape == HL_SHAPE_MESH
                       ? build_mesh(&g, nodes, &r)
                       : build_microservices(&g, nodes, &r);
    free(g.id);
    if (rc != HL_OK) {
        hl_topology_builder_free(g.b);
        return rc;
    }
    return hl_topology_builder_finish(g.b, out, err);
}
