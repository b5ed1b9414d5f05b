/* incidents.c - libFuzzer target: the incident reader
 * (hl_incidents_parse: src/core/incidents.c, timestamps, the regrouping by
 * incident, node and time, over the one CSV tokenizer).
 *
 * The first byte chooses whether the file is read against a topology (a
 * small fixed one whose ids are those of the corpus: the check that every
 * node exists) or without one (a platform checking an upload), and
 * whether limits are tiny; the rest is the file. Checked besides memory
 * safety: a refusal says why; an accepted file is consistent (every row in
 * exactly one incident's node, rows of a node in time order, node indices
 * in range, ids within their limit), and the header rule
 * hl_incidents_header_matches agrees with the reader.
 */
#include "fuzz.h"
#include "healer/incidents.h"

/* The nodes the corpus' files name (tests/fuzz/corpus/incidents). */
static const char TOPOLOGY[] =
    "{\"nodes\": [{\"id\": \"api\"}, {\"id\": \"db\"}, {\"id\": \"cache\"},"
    " {\"id\": \"n0\"}, {\"id\": \"n1\"}, {\"id\": \"n2\"}, {\"id\": \"n3\"}],"
    " \"edges\": [{\"from\": \"api\", \"to\": \"db\"},"
    " {\"from\": \"api\", \"to\": \"cache\"}, {\"from\": \"n0\", \"to\": \"n1\"},"
    " {\"from\": \"n1\", \"to\": \"n2\", \"bidirectional\": true}]}";

static hl_topology *topology(void)
{
    static hl_topology *t;
    if (!t) {
        hl_error err = {0};
        FUZZ_ASSERT(hl_topology_parse(TOPOLOGY, sizeof TOPOLOGY - 1, "<fixed>",
                                      0, &t, &err) == HL_OK,
                    "the fixed topology reads");
    }
    return t;
}

static void check_incidents(const hl_incidents *inc, const hl_topology *t)
{
    size_t rows = inc->data->n_rows, seen = 0;
    size_t n_nodes = t ? t->n_nodes : inc->n_node_ids;
    FUZZ_ASSERT(inc->n_incidents >= 1, "an accepted file has an incident");
    for (size_t i = 0; i < inc->n_incidents; i++) {
        const hl_incident *c = &inc->incidents[i];
        size_t id_len = strlen(c->id);
        FUZZ_ASSERT(id_len >= 1 && id_len <= HL_INCIDENT_MAX_ID,
                    "incident ids within 1..limit bytes");
        FUZZ_ASSERT(c->n_nodes >= 1, "an incident observes a node");
        for (size_t k = 0; k < c->n_nodes; k++) {
            const hl_incident_node *n = &c->nodes[k];
            FUZZ_ASSERT(n->node < n_nodes, "node index in range");
            FUZZ_ASSERT(k == 0 || c->nodes[k - 1].node < n->node,
                        "an incident's nodes ascend");
            FUZZ_ASSERT(n->n >= 1 && n->first <= rows && n->n <= rows - n->first,
                        "a node's rows are rows of the data");
            for (size_t r = n->first + 1; r < n->first + n->n; r++)
                FUZZ_ASSERT(inc->time[r - 1] <= inc->time[r],
                            "a node's rows are in time order");
            seen += n->n;
        }
    }
    FUZZ_ASSERT(seen == rows, "every row belongs to one incident's node");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = fuzz_split(data, size);
    const hl_topology *t = (in.selector & 1) ? topology() : NULL;
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    if (in.selector & 2) {
        opt.max_columns = 8;
        opt.max_rows = 64;
        opt.max_field_bytes = 32;
    }
    hl_incidents *inc = NULL;
    hl_error err = {0};
    hl_status rc = hl_incidents_parse(in.data, in.len, "<fuzz>", t, &opt, &inc,
                                      &err);
    if (rc != HL_OK) {
        FUZZ_ASSERT(inc == NULL, "no incidents on failure");
        fuzz_check_error(rc, &err);
        return 0;
    }
    FUZZ_ASSERT(hl_incidents_header_matches(in.data, in.len),
                "a file read as incidents has the incident header");
    check_incidents(inc, t);
    hl_incidents_free(inc);
    return 0;
}
