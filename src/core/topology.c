/* topology.c - the system's dependency graph: building it, reading it
 * from JSON or a CSV edge list, finding a node by id, writing it back.
 *
 * Everything goes through one builder, so the JSON reader, the CSV reader
 * and the simulator refuse the same things with the same words, and the
 * finished topology always has its derived adjacency (where a fault
 * spreads, what a node depends on) sorted and free of repeats: root-cause
 * analysis walks those lists and must not see a neighbour twice.
 *
 * Ids are found through the engine's id map (idmap.c, O(1) on average):
 * the incident reader looks up one id per CSV row, so a linear search over
 * 10,000 nodes would cost more than the parsing. Repeated edges are
 * merged through a second table keyed by the (from, to) pair.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/dataset.h"
#include "healer/file.h"
#include "healer/topology.h"
#include "idmap.h"
#include "internal.h"

/* The largest topology file read. */
#define TOPOLOGY_MAX_FILE_BYTES ((size_t)256 << 20)

/* ---- hash tables ---- */

/* Node ids to indices: the engine's one id map (idmap.c), its keys
 * borrowed from the nodes' ids, which move with the nodes from the
 * builder to the topology. */
struct hl__topology_index {
    hl__idmap map;
};

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

/* Edge keys to edge indices (+ 1), for merging repeats. */
typedef struct edge_index {
    size_t cap;
    uint64_t *key;
    size_t *slot;
} edge_index;

static uint64_t edge_key(size_t from, size_t to)
{
    return ((uint64_t)from << 32) | (uint64_t)to;
}

/* ---- the builder ---- */

struct hl_topology_builder {
    size_t max_nodes, max_edges;
    size_t n_nodes, nodes_cap;
    hl_topology_node *nodes;
    size_t n_edges, edges_cap;
    hl_topology_edge *edges;
    hl__idmap ids; /* node ids (borrowed from nodes[].id) to indices */
    edge_index pairs;
};

static long pair_find(const edge_index *ix, uint64_t key)
{
    if (!ix->cap)
        return -1;
    const size_t mask = ix->cap - 1;
    for (size_t i = (size_t)mix64(key) & mask;; i = (i + 1) & mask) {
        if (!ix->slot[i])
            return -1;
        if (ix->key[i] == key)
            return (long)(ix->slot[i] - 1);
    }
}

static void pair_put(edge_index *ix, uint64_t key, size_t edge)
{
    const size_t mask = ix->cap - 1;
    size_t i = (size_t)mix64(key) & mask;
    while (ix->slot[i])
        i = (i + 1) & mask;
    ix->key[i] = key;
    ix->slot[i] = edge + 1;
}

static int pair_reserve(edge_index *ix, const hl_topology_edge *edges,
                        size_t n_edges, size_t n)
{
    if (ix->cap > 2 * n)
        return 0;
    size_t cap = 16;
    while (cap <= 2 * n)
        cap *= 2;
    uint64_t *key = malloc(cap * sizeof *key);
    size_t *slot = calloc(cap, sizeof *slot);
    if (!key || !slot) {
        free(key);
        free(slot);
        return -1;
    }
    free(ix->key);
    free(ix->slot);
    *ix = (edge_index){cap, key, slot};
    for (size_t e = 0; e < n_edges; e++)
        pair_put(ix, edge_key(edges[e].from, edges[e].to), e);
    return 0;
}

hl_topology_builder *hl_topology_builder_new(size_t max_nodes)
{
    hl_topology_builder *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->max_nodes = max_nodes ? max_nodes : HL_TOPOLOGY_MAX_NODES_DEFAULT;
    if (b->max_nodes > UINT32_MAX)
        b->max_nodes = UINT32_MAX; /* edge keys hold two 32-bit indices */
    b->max_edges = b->max_nodes > SIZE_MAX / HL_TOPOLOGY_MAX_EDGES_PER_NODE
                       ? SIZE_MAX
                       : b->max_nodes * HL_TOPOLOGY_MAX_EDGES_PER_NODE;
    return b;
}

void hl_topology_builder_free(hl_topology_builder *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n_nodes; i++) {
        free(b->nodes[i].id);
        free(b->nodes[i].kind);
    }
    free(b->nodes);
    free(b->edges);
    hl__idmap_free(&b->ids);
    free(b->pairs.key);
    free(b->pairs.slot);
    free(b);
}

/* Why id cannot name a node, or NULL when it can: the id text rule
 * (hl__id_text_problem, shared with incident ids), and no '>'. */
static const char *id_problem(const char *id)
{
    const size_t n = strlen(id);
    if (n == 0)
        return "is empty";
    if (n > HL_TOPOLOGY_MAX_ID)
        return "is longer than " HL__STR(HL_TOPOLOGY_MAX_ID) " bytes";
    const char *why = hl__id_text_problem(id, n);
    if (why)
        return why;
    if (memchr(id, '>', n))
        return "holds '>', the separator of propagation paths";
    return NULL;
}

static const char *kind_problem(const char *kind)
{
    const size_t n = strlen(kind);
    if (n > HL_TOPOLOGY_MAX_KIND)
        return "is longer than " HL__STR(HL_TOPOLOGY_MAX_KIND) " bytes";
    if (!hl__utf8_valid(kind, n))
        return "is not valid UTF-8";
    return NULL;
}

hl_status hl_topology_builder_add_node(hl_topology_builder *b, const char *id,
                                       const char *kind, hl_error *err)
{
    if (!b || !id)
        return hl__fail(err, HL_ERR_INVALID, "topology: bad argument");
    char ex[96];
    hl__id_excerpt(ex, sizeof ex, id);
    const char *why = id_problem(id);
    if (why)
        return hl__fail(err, HL_ERR_INVALID, "node id '%s' %s", ex, why);
    if (kind && (why = kind_problem(kind)))
        return hl__fail(err, HL_ERR_INVALID, "the kind of node '%s' %s", ex,
                        why);
    const long seen = hl__idmap_find(&b->ids, id);
    if (seen >= 0)
        return hl__fail(err, HL_ERR_INVALID,
                        "duplicate node id '%s' (node %ld has it already)", ex,
                        seen + 1);
    if (b->n_nodes >= b->max_nodes)
        return hl__fail_field(err, HL_ERR_LIMIT, HL_TOPOLOGY_LIMIT_FIELD,
                        "too many nodes: more than %zu, the limit",
                        b->max_nodes);
    char *id_copy = hl__strdup(id);
    char *kind_copy = kind ? hl__strdup(kind) : NULL;
    if (!id_copy || (kind && !kind_copy) ||
        hl__grow((void **)&b->nodes, &b->nodes_cap, b->n_nodes + 1,
             sizeof *b->nodes) != HL_OK ||
        hl__idmap_get(&b->ids, id_copy, NULL) < 0) {
        free(id_copy);
        free(kind_copy);
        return hl__fail(err, HL_ERR_NOMEM,
                        "out of memory building the topology");
    }
    b->nodes[b->n_nodes] = (hl_topology_node){id_copy, kind_copy};
    b->n_nodes++;
    return HL_OK;
}

static hl_status endpoint(const hl_topology_builder *b, const char *id,
                          const char *which, size_t *out, hl_error *err)
{
    const long v = id ? hl__idmap_find(&b->ids, id) : -1;
    if (v < 0) {
        char ex[96];
        hl__id_excerpt(ex, sizeof ex, id ? id : "");
        return hl__fail(err, HL_ERR_INVALID,
                        "edge %s unknown node '%s' (not in the node list)",
                        which, ex);
    }
    *out = (size_t)v;
    return HL_OK;
}

hl_status hl_topology_builder_add_edge(hl_topology_builder *b, const char *from,
                                       const char *to, int bidirectional,
                                       hl_error *err)
{
    if (!b)
        return hl__fail(err, HL_ERR_INVALID, "topology: bad argument");
    size_t f = 0, t = 0;
    hl_status rc = endpoint(b, from, "from", &f, err);
    if (rc == HL_OK)
        rc = endpoint(b, to, "to", &t, err);
    if (rc != HL_OK)
        return rc;
    if (f == t) {
        char ex[96];
        hl__id_excerpt(ex, sizeof ex, from);
        return hl__fail(err, HL_ERR_INVALID,
                        "self-loop: an edge from node '%s' to itself", ex);
    }
    const long seen = pair_find(&b->pairs, edge_key(f, t));
    if (seen >= 0) {
        b->edges[seen].bidirectional |= bidirectional != 0;
        return HL_OK;
    }
    if (b->n_edges >= b->max_edges)
        return hl__fail_field(err, HL_ERR_LIMIT, HL_TOPOLOGY_LIMIT_FIELD,
                        "too many edges: more than %zu (%d per node allowed)",
                        b->max_edges, HL_TOPOLOGY_MAX_EDGES_PER_NODE);
    if (hl__grow((void **)&b->edges, &b->edges_cap, b->n_edges + 1,
             sizeof *b->edges) != HL_OK ||
        pair_reserve(&b->pairs, b->edges, b->n_edges, b->n_edges + 1) != 0)
        return hl__fail(err, HL_ERR_NOMEM,
                        "out of memory building the topology");
    b->edges[b->n_edges] = (hl_topology_edge){f, t, bidirectional != 0};
    pair_put(&b->pairs, edge_key(f, t), b->n_edges);
    b->n_edges++;
    return HL_OK;
}

/* ---- derived adjacency ---- */

static int cmp_size(const void *a, const void *b)
{
    const size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* CSR lists from (owner, neighbour) pairs: each list sorted, repeats
 * dropped. pairs holds 2 x n_pairs entries and is clobbered. */
static hl_status build_lists(size_t n_nodes, size_t *pairs, size_t n_pairs,
                             size_t **start_out, size_t **list_out)
{
    size_t *start = calloc(n_nodes + 1, sizeof *start);
    size_t *list = malloc((n_pairs ? n_pairs : 1) * sizeof *list);
    size_t *fill = calloc(n_nodes, sizeof *fill);
    if (!start || !list || !fill) {
        free(start);
        free(list);
        free(fill);
        return HL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_pairs; i++)
        start[pairs[2 * i] + 1]++;
    for (size_t v = 0; v < n_nodes; v++)
        start[v + 1] += start[v];
    for (size_t i = 0; i < n_pairs; i++) {
        const size_t v = pairs[2 * i];
        list[start[v] + fill[v]++] = pairs[2 * i + 1];
    }
    /* Sort and compact each list in place, then close the gaps. */
    size_t out = 0;
    for (size_t v = 0; v < n_nodes; v++) {
        size_t *l = list + start[v];
        const size_t n = start[v + 1] - start[v];
        qsort(l, n, sizeof *l, cmp_size);
        const size_t first = out;
        /* out <= start[v] + i: each l[i] is read before its slot is reused. */
        for (size_t i = 0; i < n; i++)
            if (out == first || l[i] != list[out - 1])
                list[out++] = l[i];
        start[v] = first;
    }
    start[n_nodes] = out;
    free(fill);
    *start_out = start;
    *list_out = list;
    return HL_OK;
}

/* Where faults spread (dependants and bidirectional partners) and what
 * each node depends on (and its partners). */
static hl_status build_adjacency(hl_topology *t)
{
    size_t n_pairs = 0;
    for (size_t e = 0; e < t->n_edges; e++)
        n_pairs += t->edges[e].bidirectional ? 2 : 1;
    size_t *spread = malloc((2 * n_pairs + 1) * sizeof *spread);
    size_t *depends = malloc((2 * n_pairs + 1) * sizeof *depends);
    hl_status rc = HL_ERR_NOMEM;
    if (spread && depends) {
        size_t k = 0;
        for (size_t e = 0; e < t->n_edges; e++) {
            const hl_topology_edge *ed = &t->edges[e];
            spread[2 * k] = ed->to, spread[2 * k + 1] = ed->from;
            depends[2 * k] = ed->from, depends[2 * k + 1] = ed->to;
            k++;
            if (ed->bidirectional) {
                spread[2 * k] = ed->from, spread[2 * k + 1] = ed->to;
                depends[2 * k] = ed->to, depends[2 * k + 1] = ed->from;
                k++;
            }
        }
        rc = build_lists(t->n_nodes, spread, n_pairs, &t->spread_start,
                         &t->spread);
        if (rc == HL_OK)
            rc = build_lists(t->n_nodes, depends, n_pairs, &t->depends_start,
                             &t->depends);
    }
    free(spread);
    free(depends);
    return rc;
}

hl_status hl_topology_builder_finish(hl_topology_builder *b, hl_topology **out,
                                     hl_error *err)
{
    if (!out) {
        hl_topology_builder_free(b);
        return hl__fail(err, HL_ERR_INVALID, "topology: out is NULL");
    }
    *out = NULL;
    if (!b)
        return hl__fail(err, HL_ERR_INVALID, "topology: no builder");
    if (b->n_nodes == 0) {
        hl_topology_builder_free(b);
        return hl__fail(err, HL_ERR_DATA,
                        "empty graph: the topology has no nodes");
    }
    hl_topology *t = calloc(1, sizeof *t);
    struct hl__topology_index *ix = calloc(1, sizeof *ix);
    if (!t || !ix) {
        free(t);
        free(ix);
        hl_topology_builder_free(b);
        return hl__fail(err, HL_ERR_NOMEM,
                        "out of memory building the topology");
    }
    t->n_nodes = b->n_nodes;
    t->nodes = b->nodes;
    t->n_edges = b->n_edges;
    t->edges = b->edges;
    ix->map = b->ids;
    t->index = ix;
    b->nodes = NULL, b->n_nodes = 0;
    b->edges = NULL;
    memset(&b->ids, 0, sizeof b->ids);
    hl_topology_builder_free(b);
    if (build_adjacency(t) != HL_OK) {
        hl_topology_free(t);
        return hl__fail(err, HL_ERR_NOMEM,
                        "out of memory building the topology");
    }
    *out = t;
    return HL_OK;
}

void hl_topology_free(hl_topology *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_nodes; i++) {
        free(t->nodes[i].id);
        free(t->nodes[i].kind);
    }
    free(t->nodes);
    free(t->edges);
    free(t->spread_start);
    free(t->spread);
    free(t->depends_start);
    free(t->depends);
    if (t->index)
        hl__idmap_free(&t->index->map);
    free(t->index);
    free(t);
}

long hl_topology_find(const hl_topology *t, const char *id)
{
    if (!t || !id || !t->index)
        return -1;
    return hl__idmap_find(&t->index->map, id);
}

/* ---- JSON ---- */

/* Re-files a builder error under the place of the file it came from. */
static hl_status at_place(hl_error *err, hl_status rc, const char *name,
                          const char *place)
{
    if (!err)
        return rc;
    char msg[sizeof err->message], field[sizeof err->field];
    hl__utf8_copy(msg, sizeof msg, err->message);
    memcpy(field, err->field, sizeof field); /* which limit, if one was hit */
    hl__fail_at(err, rc, name, 0, NULL, 0, "%s: %s", place, msg);
    memcpy(err->field, field, sizeof field);
    return rc;
}

static const char *json_text(const json_t *obj, const char *key, int *bad)
{
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_string(v))
        *bad = 1;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static hl_status json_nodes(hl_topology_builder *b, const json_t *nodes,
                            const char *name, hl_error *err)
{
    if (!json_is_array(nodes))
        return hl__fail_at(err, HL_ERR_PARSE, name, 0, NULL, 0,
                           "\"nodes\" must be an array of {\"id\": ..., "
                           "\"kind\": ...} objects");
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        const json_t *n = json_array_get(nodes, i);
        char place[48];
        snprintf(place, sizeof place, "nodes[%zu]", i);
        int bad = 0;
        const char *id = json_is_object(n) ? json_text(n, "id", &bad) : NULL;
        const char *kind = id ? json_text(n, "kind", &bad) : NULL;
        if (!json_is_object(n) || !id || bad)
            return hl__fail_at(err, HL_ERR_PARSE, name, 0, NULL, 0,
                               "%s: a node is an object with a string \"id\" "
                               "and an optional string \"kind\"",
                               place);
        hl_status rc = hl_topology_builder_add_node(b, id, kind, err);
        if (rc != HL_OK)
            return at_place(err, rc, name, place);
    }
    return HL_OK;
}

static hl_status json_edges(hl_topology_builder *b, const json_t *edges,
                            const char *name, hl_error *err)
{
    if (!edges || json_is_null(edges))
        return HL_OK;
    if (!json_is_array(edges))
        return hl__fail_at(err, HL_ERR_PARSE, name, 0, NULL, 0,
                           "\"edges\" must be an array of {\"from\": ..., "
                           "\"to\": ...} objects");
    for (size_t i = 0; i < json_array_size(edges); i++) {
        const json_t *e = json_array_get(edges, i);
        char place[48];
        snprintf(place, sizeof place, "edges[%zu]", i);
        int bad = 0;
        const char *from =
            json_is_object(e) ? json_text(e, "from", &bad) : NULL;
        const char *to = json_is_object(e) ? json_text(e, "to", &bad) : NULL;
        const json_t *bi =
            json_is_object(e) ? json_object_get(e, "bidirectional") : NULL;
        if (!json_is_object(e) || !from || !to || bad ||
            (bi && !json_is_boolean(bi) && !json_is_null(bi)))
            return hl__fail_at(err, HL_ERR_PARSE, name, 0, NULL, 0,
                               "%s: an edge is an object with string \"from\" "
                               "and \"to\" and an optional boolean "
                               "\"bidirectional\"",
                               place);
        hl_status rc =
            hl_topology_builder_add_edge(b, from, to, json_is_true(bi), err);
        if (rc != HL_OK)
            return at_place(err, rc, name, place);
    }
    return HL_OK;
}

/* Bytes of a UTF-8 byte order mark at data (0 or 3). */
static size_t bom_len(const char *data, size_t len)
{
    return len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3) ? 3 : 0;
}

static hl_status parse_json(hl_topology_builder *b, const char *data,
                            size_t len, const char *name, hl_error *err)
{
    json_error_t je;
    const size_t skip = bom_len(data, len); /* jansson refuses a BOM */
    data += skip;
    len -= skip;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return hl__fail_at(err, HL_ERR_PARSE, name, (size_t)je.line, NULL, 0,
                           "not valid JSON (column %d): %s", je.column,
                           je.text);
    hl_status rc;
    if (!json_is_object(root))
        rc = hl__fail_at(err, HL_ERR_PARSE, name, 0, NULL, 0,
                         "a topology is an object {\"nodes\": [...], "
                         "\"edges\": [...]}");
    else if (!json_object_get(root, "nodes"))
        rc = hl__fail_at(err, HL_ERR_DATA, name, 0, NULL, 0,
                         "empty graph: the topology has no \"nodes\" array");
    else {
        rc = json_nodes(b, json_object_get(root, "nodes"), name, err);
        if (rc == HL_OK)
            rc = json_edges(b, json_object_get(root, "edges"), name, err);
    }
    json_decref(root);
    return rc;
}

/* ---- CSV edge list ---- */

typedef struct csv_reader {
    hl_topology_builder *b;
    const char *name;
} csv_reader;

static hl_status csv_node(hl_topology_builder *b, const char *id, hl_error *err)
{
    if (id && hl__idmap_find(&b->ids, id) >= 0)
        return HL_OK;
    return hl_topology_builder_add_node(b, id, NULL, err);
}

static hl_status csv_edge(void *arg, const char *const *f, size_t line,
                          hl_error *err)
{
    csv_reader *r = arg;
    hl_status rc = csv_node(r->b, f[0], err);
    if (rc == HL_OK)
        rc = csv_node(r->b, f[1], err);
    if (rc == HL_OK)
        rc = hl_topology_builder_add_edge(r->b, f[0], f[1], 0, err);
    if (rc != HL_OK && err) {
        char msg[sizeof err->message], field[sizeof err->field];
        hl__utf8_copy(msg, sizeof msg, err->message);
        memcpy(field, err->field, sizeof field); /* as at_place keeps it */
        hl__fail_at(err, rc, r->name, line, NULL, 0, "%s", msg);
        memcpy(err->field, field, sizeof field);
    }
    return rc;
}

static hl_status parse_csv(hl_topology_builder *b, const char *data, size_t len,
                           const char *name, hl_error *err)
{
    static const char *const columns[] = {"from", "to"};
    csv_reader r = {b, name};
    return hl_csv_read_table(data, len, name, columns, 2,
                             HL_TOPOLOGY_MAX_ID * 4 + 16, csv_edge, &r, err);
}

int hl_topology_is_json(const char *data, size_t len)
{
    if (!data)
        return 0;
    size_t i = bom_len(data, len);
    while (i < len && (data[i] == ' ' || data[i] == '\t' || data[i] == '\r' ||
                       data[i] == '\n'))
        i++;
    return i < len && data[i] == '{';
}

hl_status hl_topology_parse(const char *data, size_t len, const char *name,
                            size_t max_nodes, hl_topology **out, hl_error *err)
{
    hl_error_clear(err);
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "topology: out is NULL");
    *out = NULL;
    if (!data && len)
        return hl__fail(err, HL_ERR_INVALID, "topology: no data");
    if (!name)
        name = "<topology>";
    hl_topology_builder *b = hl_topology_builder_new(max_nodes);
    if (!b)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory reading %s", name);
    hl_status rc = hl_topology_is_json(data, len)
                       ? parse_json(b, data, len, name, err)
                       : parse_csv(b, data ? data : "", len, name, err);
    if (rc != HL_OK) {
        hl_topology_builder_free(b);
        return rc;
    }
    rc = hl_topology_builder_finish(b, out, err);
    if (rc != HL_OK)
        return at_place(err, rc, name, "topology");
    return HL_OK;
}

hl_status hl_topology_read(const char *path, size_t max_nodes,
                           hl_topology **out, hl_error *err)
{
    hl_error_clear(err);
    if (!out || !path)
        return hl__fail(err, HL_ERR_INVALID, "topology: bad argument");
    *out = NULL;
    char *data = NULL;
    size_t len = 0;
    hl_status rc =
        hl__read_file(path, TOPOLOGY_MAX_FILE_BYTES, &data, &len, err);
    if (rc == HL_OK)
        rc = hl_topology_parse(data, len, path, max_nodes, out, err);
    free(data);
    return rc;
}

/* ---- writing ---- */

static json_t *topology_json(const hl_topology *t)
{
    json_t *root = json_object(), *nodes = json_array(), *edges = json_array();
    if (!root || !nodes || !edges)
        goto fail;
    json_object_set_new(root, "nodes", nodes);
    json_object_set_new(root, "edges", edges);
    for (size_t i = 0; i < t->n_nodes; i++) {
        json_t *n = json_object();
        if (!n || json_array_append_new(nodes, n) != 0)
            goto fail;
        if (json_object_set_new(n, "id", json_string(t->nodes[i].id)) != 0 ||
            (t->nodes[i].kind &&
             json_object_set_new(n, "kind", json_string(t->nodes[i].kind)) !=
                 0))
            goto fail;
    }
    for (size_t e = 0; e < t->n_edges; e++) {
        const hl_topology_edge *ed = &t->edges[e];
        json_t *o = json_object();
        if (!o || json_array_append_new(edges, o) != 0)
            goto fail;
        if (json_object_set_new(o, "from",
                                json_string(t->nodes[ed->from].id)) ||
            json_object_set_new(o, "to", json_string(t->nodes[ed->to].id)) ||
            (ed->bidirectional &&
             json_object_set_new(o, "bidirectional", json_true())))
            goto fail;
    }
    return root;
fail:
    json_decref(root);
    if (!root) {
        json_decref(nodes);
        json_decref(edges);
    }
    return NULL;
}

hl_status hl_topology_to_json(const hl_topology *t, char **out, size_t *len,
                              hl_error *err)
{
    if (!t || !out)
        return hl__fail(err, HL_ERR_INVALID, "topology: bad argument");
    *out = NULL;
    json_t *root = topology_json(t);
    char *text =
        root ? json_dumps(root, JSON_PRESERVE_ORDER | JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return hl__fail(err, HL_ERR_NOMEM,
                        "out of memory writing the topology");
    *out = text;
    if (len)
        *len = strlen(text);
    return HL_OK;
}

hl_status hl_topology_write_json(const hl_topology *t, const char *path,
                                 hl_error *err)
{
    char *text = NULL;
    size_t len = 0;
    hl_status rc = hl_topology_to_json(t, &text, &len, err);
    if (rc == HL_OK)
        rc = hl_file_write_atomic(path, text, len, err);
    free(text);
    return rc;
}
