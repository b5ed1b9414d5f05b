/* healer/topology.h - the system's nodes and who depends on whom.
 *
 * Root-cause analysis needs the direction a fault travels. An edge
 * `from -> to` says that `from` calls or depends on `to`, so a fault at
 * `to` can make `from` abnormal: faults travel against the edges. An edge
 * marked bidirectional (a shared resource, a replica pair) carries faults
 * both ways. Cycles are allowed, as real systems have them.
 *
 * Two file forms, told apart by their first non-blank byte after an
 * optional UTF-8 byte order mark ('{': JSON; hl_topology_is_json):
 *   JSON  {"nodes": [{"id": "db-1", "kind": "database"}, ...],
 *          "edges": [{"from": "api-1", "to": "db-1"},
 *                    {"from": "a", "to": "b", "bidirectional": true}, ...]}
 *         `kind` is optional free text; other keys are ignored.
 *   CSV   an edge list with the header `from,to` (read by the one CSV
 *         tokenizer, hl_csv_read_table); the nodes are the ids the edges
 *         name, in order of first appearance, without kinds.
 * Refused, each with a message naming the culprit (and its line in a
 * CSV, its position in a JSON array): an edge naming an unknown node, a
 * duplicate node id, a self-loop, an empty graph (no nodes), more nodes
 * than the limit, and a node id that is empty, longer than
 * HL_TOPOLOGY_MAX_ID bytes, not UTF-8, or holds a control character or
 * '>' (the separator of propagation paths). A repeated edge is kept once
 * (bidirectional if any copy is).
 *
 * Ownership: an hl_topology is the caller's, released with
 * hl_topology_free; it is immutable once made and may be read from
 * several threads at once.
 */
#ifndef HEALER_TOPOLOGY_H
#define HEALER_TOPOLOGY_H

#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most nodes a topology may have unless the caller says otherwise. */
#define HL_TOPOLOGY_MAX_NODES_DEFAULT 10000
/* The largest node limit a caller may set (the CLI's --max-nodes, the
 * service's topology node limit setting): past it the adjacency and a
 * worker's scratch of root-cause analysis outgrow memory budgets. */
#define HL_TOPOLOGY_MAX_NODES_LIMIT 1000000
/* The longest node id, in bytes. */
#define HL_TOPOLOGY_MAX_ID 255
/* The longest `kind`, in bytes. */
#define HL_TOPOLOGY_MAX_KIND 255
/* Edges allowed per node on average: a topology of n nodes may have at
 * most n * HL_TOPOLOGY_MAX_EDGES_PER_NODE edges (a bound on memory, far
 * above real call graphs). */
#define HL_TOPOLOGY_MAX_EDGES_PER_NODE 64
/* hl_error.field of a topology refused for its size (its nodes, or its
 * edges, which the node limit bounds): what the caller's limit setting
 * raises, and only then (a file over its byte limit is another field). */
#define HL_TOPOLOGY_LIMIT_FIELD "max_nodes"

typedef struct hl_topology_node {
    char *id;   /* unique, NUL-terminated */
    char *kind; /* free text, or NULL when not given */
} hl_topology_node;

typedef struct hl_topology_edge {
    size_t from, to;   /* node indices: `from` depends on `to` */
    int bidirectional; /* 1: faults travel both ways */
} hl_topology_edge;

typedef struct hl_topology {
    size_t n_nodes;
    hl_topology_node *nodes; /* in file order */
    size_t n_edges;
    hl_topology_edge *edges; /* in file order, repeats removed */
    /* Where a fault at node v spreads in one hop: spread[spread_start[v]
     * .. spread_start[v + 1]) are the nodes that depend on v (the `from`
     * of every edge into v) and v's bidirectional partners, each once,
     * in ascending order. n_nodes + 1 offsets. */
    size_t *spread_start;
    size_t *spread;
    /* The reverse: what v depends on (the `to` of its edges) and its
     * bidirectional partners, as above. */
    size_t *depends_start;
    size_t *depends;
    struct hl__topology_index *index; /* private: ids to indices */
} hl_topology;

/* A topology under construction (the simulator's, a parser's). */
typedef struct hl_topology_builder hl_topology_builder;

/* A new empty builder that will refuse more than max_nodes nodes (0 =
 * HL_TOPOLOGY_MAX_NODES_DEFAULT). NULL when out of memory. */
hl_topology_builder *hl_topology_builder_new(size_t max_nodes);

/* Adds a node (id and kind are copied; kind may be NULL). HL_ERR_INVALID
 * for a bad id (see above) or a duplicate, HL_ERR_LIMIT past max_nodes,
 * HL_ERR_NOMEM. On error the builder is unchanged. */
hl_status hl_topology_builder_add_node(hl_topology_builder *b, const char *id,
                                       const char *kind, hl_error *err);

/* Adds an edge between two nodes already added, by id. HL_ERR_INVALID for
 * an unknown id or a self-loop, HL_ERR_LIMIT past the edge bound,
 * HL_ERR_NOMEM. A repeat of an existing edge is merged into it. */
hl_status hl_topology_builder_add_edge(hl_topology_builder *b, const char *from,
                                       const char *to, int bidirectional,
                                       hl_error *err);

/* The topology built so far (HL_ERR_DATA when it has no node); the
 * builder is freed whatever the outcome. */
hl_status hl_topology_builder_finish(hl_topology_builder *b, hl_topology **out,
                                     hl_error *err);

/* Frees a builder that was not finished. NULL is a no-op. */
void hl_topology_builder_free(hl_topology_builder *b);

/* 1 when data[0..len) is a topology in the JSON form (its first byte
 * other than blanks, after an optional UTF-8 byte order mark, is '{'),
 * else 0 (the CSV form; data NULL: 0). The one rule hl_topology_parse
 * uses; a caller that stores or labels a topology file by its format must
 * use it too. Pure, thread-safe. */
int hl_topology_is_json(const char *data, size_t len);

/* Parses a topology, JSON or CSV (see above), from data[0..len); `name`
 * stands for the file in messages. max_nodes 0 = the default. Errors:
 * HL_ERR_PARSE for malformed JSON or CSV (line and column), HL_ERR_INVALID
 * for the refusals above, HL_ERR_LIMIT past max_nodes, HL_ERR_DATA for an
 * empty graph, HL_ERR_NOMEM. */
hl_status hl_topology_parse(const char *data, size_t len, const char *name,
                            size_t max_nodes, hl_topology **out,
                            hl_error *err);

/* hl_topology_parse of the file at path (at most 256 MiB: HL_ERR_LIMIT
 * beyond; HL_ERR_IO when it cannot be read). */
hl_status hl_topology_read(const char *path, size_t max_nodes,
                           hl_topology **out, hl_error *err);

/* The index of the node called id, or -1. O(1) on average. */
long hl_topology_find(const hl_topology *t, const char *id);

/* The topology as the JSON form above (kinds and bidirectional flags
 * kept; "bidirectional" written only when true), into a malloc'ed,
 * NUL-terminated buffer (*len without the NUL). The caller frees it. */
hl_status hl_topology_to_json(const hl_topology *t, char **out, size_t *len,
                              hl_error *err);

/* hl_topology_to_json written to path atomically (healer/file.h). */
hl_status hl_topology_write_json(const hl_topology *t, const char *path,
                                 hl_error *err);

void hl_topology_free(hl_topology *t);

#ifdef __cplusplus
}
#endif
#endif
