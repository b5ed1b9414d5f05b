/* topology.c - libFuzzer target: the topology reader (hl_topology_parse:
 * src/core/topology.c, both forms - JSON and the CSV edge list - and the
 * builder behind them).
 *
 * The first byte chooses the node limit (the default, or a small one so
 * that the limit's refusal is reached); the rest is the file. Checked
 * besides memory safety: a refusal says why; an accepted graph is
 * consistent (edges between existing nodes, no self-loop, every id found
 * at its own index, the spread and depends lists in range and ascending);
 * and writing it as JSON and reading that again gives the same graph.
 */
#include "fuzz.h"
#include "healer/topology.h"

static void check_lists(const hl_topology *t, const size_t *start,
                        const size_t *items)
{
    FUZZ_ASSERT(start[0] == 0, "a list starts at 0");
    for (size_t v = 0; v < t->n_nodes; v++) {
        FUZZ_ASSERT(start[v] <= start[v + 1], "list offsets ascend");
        for (size_t k = start[v]; k < start[v + 1]; k++) {
            FUZZ_ASSERT(items[k] < t->n_nodes, "a listed node exists");
            FUZZ_ASSERT(k == start[v] || items[k - 1] < items[k],
                        "a node's list ascends without repeats");
        }
    }
}

static void check_graph(const hl_topology *t, size_t max_nodes)
{
    FUZZ_ASSERT(t->n_nodes >= 1 && t->n_nodes <= max_nodes,
                "node count within 1..limit");
    for (size_t v = 0; v < t->n_nodes; v++)
        FUZZ_ASSERT(hl_topology_find(t, t->nodes[v].id) == (long)v,
                    "every id is found at its index");
    for (size_t e = 0; e < t->n_edges; e++) {
        FUZZ_ASSERT(t->edges[e].from < t->n_nodes && t->edges[e].to < t->n_nodes,
                    "edges join existing nodes");
        FUZZ_ASSERT(t->edges[e].from != t->edges[e].to, "no self-loop");
    }
    check_lists(t, t->spread_start, t->spread);
    check_lists(t, t->depends_start, t->depends);
}

static void check_same(const hl_topology *a, const hl_topology *b)
{
    FUZZ_ASSERT(a->n_nodes == b->n_nodes && a->n_edges == b->n_edges,
                "JSON round trip keeps the counts");
    for (size_t v = 0; v < a->n_nodes; v++) {
        FUZZ_ASSERT(!strcmp(a->nodes[v].id, b->nodes[v].id),
                    "JSON round trip keeps the ids");
        FUZZ_ASSERT((a->nodes[v].kind == NULL) == (b->nodes[v].kind == NULL) &&
                        (!a->nodes[v].kind ||
                         !strcmp(a->nodes[v].kind, b->nodes[v].kind)),
                    "JSON round trip keeps the kinds");
    }
    for (size_t e = 0; e < a->n_edges; e++)
        FUZZ_ASSERT(a->edges[e].from == b->edges[e].from &&
                        a->edges[e].to == b->edges[e].to &&
                        a->edges[e].bidirectional == b->edges[e].bidirectional,
                    "JSON round trip keeps the edges");
}

static void round_trip(const hl_topology *t, size_t max_nodes)
{
    char *json = NULL;
    size_t len = 0;
    hl_error err = {0};
    FUZZ_ASSERT(hl_topology_to_json(t, &json, &len, &err) == HL_OK,
                "an accepted topology writes as JSON");
    FUZZ_ASSERT(hl_topology_is_json(json, len), "what is written is JSON");
    hl_topology *back = NULL;
    if (hl_topology_parse(json, len, "<round trip>", max_nodes, &back, &err) !=
        HL_OK)
        fprintf(stderr, "round trip refused: %s\n", err.message);
    FUZZ_ASSERT(back != NULL, "the JSON written reads back");
    check_same(t, back);
    hl_topology_free(back);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = fuzz_split(data, size);
    size_t max_nodes = (in.selector & 1) ? 1 + (in.selector >> 1) % 8
                                         : HL_TOPOLOGY_MAX_NODES_DEFAULT;
    hl_topology *t = NULL;
    hl_error err = {0};
    hl_status rc = hl_topology_parse(in.data, in.len, "<fuzz>", max_nodes, &t,
                                     &err);
    if (rc != HL_OK) {
        FUZZ_ASSERT(t == NULL, "no topology on failure");
        fuzz_check_error(rc, &err);
        return 0;
    }
    check_graph(t, max_nodes);
    round_trip(t, max_nodes);
    hl_topology_free(t);
    return 0;
}
