/* test_topology.c - topologies: the JSON and CSV forms, every refusal with
 * its message, the derived adjacency (where a fault spreads, what a node
 * depends on), lookups, the JSON round trip and the node limit.
 */
#include "engineutil.h"
#include "testutil.h"

#include "healer/topology.h"

static hl_topology *parse_ok(const char *text)
{
    hl_topology *t = NULL;
    hl_error err;
    hl_status rc = hl_topology_parse(text, strlen(text), "t", 0, &t, &err);
    if (rc != HL_OK)
        fail_msg("parse failed: %s", err.message);
    return t;
}

/* Parses text expecting code and a message containing want. */
static void refused(const char *text, size_t max_nodes, hl_status code,
                    const char *want)
{
    hl_topology *t = NULL;
    hl_error err;
    hl_status rc =
        hl_topology_parse(text, strlen(text), "t.json", max_nodes, &t, &err);
    if (rc != code || !strstr(err.message, want))
        fail_msg("for %s: got %s '%s', want %s containing '%s'", text,
                 hl_status_name(rc), err.message, hl_status_name(code), want);
    /* a refusal for the size says so, JSON or CSV, for the caller to name
     * its setting; no other refusal does */
    if ((code == HL_ERR_LIMIT) != !strcmp(err.field, HL_TOPOLOGY_LIMIT_FIELD))
        fail_msg("for %s: field '%s'", text, err.field);
    assert_null(t);
}

/* The ids of v's spread (or depends) list joined by ','. */
static void list_ids(const hl_topology *t, const size_t *start,
                     const size_t *list, const char *id, char *out, size_t cap)
{
    long v = hl_topology_find(t, id);
    assert_true(v >= 0);
    out[0] = 0;
    for (size_t i = start[v]; i < start[v + 1]; i++) {
        size_t at = strlen(out);
        snprintf(out + at, cap - at, "%s%s", at ? "," : "",
                 t->nodes[list[i]].id);
    }
}

static void json_form_and_adjacency(void **state)
{
    (void)state;
    hl_topology *t = parse_ok(
        "{\"nodes\": [{\"id\": \"web-1\", \"kind\": \"frontend\"},"
        " {\"id\": \"api-1\"}, {\"id\": \"db-1\", \"kind\": \"database\"},"
        " {\"id\": \"db-2\", \"kind\": null, \"x\": 3}],"
        " \"edges\": [{\"from\": \"web-1\", \"to\": \"api-1\"},"
        " {\"from\": \"api-1\", \"to\": \"db-1\"},"
        " {\"from\": \"api-1\", \"to\": \"db-1\"},"
        " {\"from\": \"db-1\", \"to\": \"db-2\", \"bidirectional\": true},"
        " {\"from\": \"db-2\", \"to\": \"api-1\"}], \"comment\": 1}");
    assert_int_equal(t->n_nodes, 4);
    assert_int_equal(t->n_edges, 4); /* the repeat is merged */
    assert_string_equal(t->nodes[0].kind, "frontend");
    assert_null(t->nodes[1].kind);
    assert_null(t->nodes[3].kind);
    assert_int_equal(hl_topology_find(t, "db-2"), 3);
    assert_int_equal(hl_topology_find(t, "db-3"), -1);
    char got[128];
    /* a fault at db-1 spreads to its dependant api-1 and its partner db-2 */
    list_ids(t, t->spread_start, t->spread, "db-1", got, sizeof got);
    assert_string_equal(got, "api-1,db-2");
    list_ids(t, t->spread_start, t->spread, "api-1", got, sizeof got);
    assert_string_equal(got, "web-1,db-2");
    list_ids(t, t->spread_start, t->spread, "web-1", got, sizeof got);
    assert_string_equal(got, "");
    list_ids(t, t->depends_start, t->depends, "db-2", got, sizeof got);
    assert_string_equal(got, "api-1,db-1");
    list_ids(t, t->depends_start, t->depends, "api-1", got, sizeof got);
    assert_string_equal(got, "db-1");
    hl_topology_free(t);
}

static void csv_form(void **state)
{
    (void)state;
    hl_topology *t = parse_ok("\xEF\xBB\xBF"
                              "from,to\r\nweb,api\r\napi,db\r\n"
                              "\"cache,1\",db\r\napi,\"cache,1\"\r\n");
    assert_int_equal(t->n_nodes, 4);
    assert_string_equal(t->nodes[2].id, "db");
    assert_string_equal(t->nodes[3].id, "cache,1");
    assert_int_equal(t->n_edges, 4);
    char got[128];
    list_ids(t, t->spread_start, t->spread, "db", got, sizeof got);
    assert_string_equal(got, "api,cache,1");
    hl_topology_free(t);
}

static void refusals_name_the_culprit(void **state)
{
    (void)state;
    refused("{\"nodes\": [{\"id\": \"a\"}], \"edges\": [{\"from\": \"a\", "
            "\"to\": \"b\"}]}",
            0, HL_ERR_INVALID, "edges[0]: edge to unknown node 'b'");
    refused("{\"nodes\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}", 0,
            HL_ERR_INVALID, "nodes[1]: duplicate node id 'a'");
    refused("{\"nodes\": [{\"id\": \"a\"}], \"edges\": [{\"from\": \"a\", "
            "\"to\": \"a\"}]}",
            0, HL_ERR_INVALID, "self-loop");
    refused("{\"nodes\": []}", 0, HL_ERR_DATA, "empty graph");
    refused("{\"edges\": []}", 0, HL_ERR_DATA, "empty graph");
    refused("from,to\n", 0, HL_ERR_DATA, "empty graph");
    refused("{\"nodes\": [{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"c\"}]}",
            2, HL_ERR_LIMIT, "too many nodes: more than 2");
    refused("from,to\na,b\nb,c\n", 2, HL_ERR_LIMIT, "t.json:3:");
    refused("from,to\na,b\nb,b\n", 0, HL_ERR_INVALID, "t.json:3:");
    refused("{\"nodes\": [{\"id\": \"a>b\"}]}", 0, HL_ERR_INVALID, "holds '>'");
    refused("{\"nodes\": [{\"id\": \"\"}]}", 0, HL_ERR_INVALID, "is empty");
    refused("{\"nodes\": [{\"id\": \"a\\u0001\"}]}", 0, HL_ERR_INVALID,
            "control character");
    refused("{\"nodes\": [{\"id\": 7}]}", 0, HL_ERR_PARSE, "nodes[0]");
    refused("{\"nodes\": [{\"id\": \"a\"}], \"edges\": [{\"from\": \"a\", "
            "\"to\": \"b\", \"bidirectional\": \"yes\"}]}",
            0, HL_ERR_PARSE, "edges[0]");
    refused("{\"nodes\": [{\"id\": \"a\"}], \"nodes\": []}", 0, HL_ERR_PARSE,
            "not valid JSON");
    refused("{\"nodes\": [", 0, HL_ERR_PARSE, "not valid JSON");
    refused("[1, 2]", 0, HL_ERR_PARSE, "from");
    refused("source,target\na,b\n", 0, HL_ERR_PARSE, "t.json");
    char longid[400];
    memset(longid, 'x', 300);
    longid[300] = 0;
    char doc[512];
    snprintf(doc, sizeof doc, "{\"nodes\": [{\"id\": \"%s\"}]}", longid);
    refused(doc, 0, HL_ERR_INVALID, "longer than 255 bytes");
    snprintf(doc, sizeof doc, "{\"nodes\": [{\"id\": \"a\", \"kind\": \"%s\"}]}",
             longid);
    refused(doc, 0, HL_ERR_INVALID,
            "the kind of node 'a' is longer than 255 bytes");
    refused("from,to\na\xff,b\n", 0, HL_ERR_PARSE, "t.json:2:");
}

/* What the builder refuses that a JSON text cannot carry (bytes that are
 * not UTF-8), and the edge limit: HL_TOPOLOGY_MAX_EDGES_PER_NODE x the
 * node limit. */
static void builder_refusals(void **state)
{
    (void)state;
    hl_error err;
    hl_topology_builder *b = hl_topology_builder_new(66);
    assert_int_equal(hl_topology_builder_add_node(b, "x\xc3", NULL, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "is not valid UTF-8"));
    assert_int_equal(hl_topology_builder_add_node(b, "x", "\xff\xfe", &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "the kind of node 'x' is not valid "
                                        "UTF-8"));
    char id[16], to[16];
    for (int i = 0; i < 66; i++) {
        snprintf(id, sizeof id, "n%d", i);
        assert_int_equal(hl_topology_builder_add_node(b, id, NULL, &err),
                         HL_OK);
    }
    /* 66 x 65 directed edges, 66 x 64 allowed */
    size_t added = 0;
    hl_status rc = HL_OK;
    for (int i = 0; i < 66 && rc == HL_OK; i++)
        for (int j = 0; j < 66 && rc == HL_OK; j++) {
            if (i == j)
                continue;
            snprintf(id, sizeof id, "n%d", i);
            snprintf(to, sizeof to, "n%d", j);
            rc = hl_topology_builder_add_edge(b, id, to, 0, &err);
            added += rc == HL_OK;
        }
    assert_int_equal(rc, HL_ERR_LIMIT);
    assert_int_equal(added, 66 * HL_TOPOLOGY_MAX_EDGES_PER_NODE);
    assert_non_null(strstr(err.message, "too many edges: more than 4224"));
    hl_topology_builder_free(b);
}

/* A UTF-8 byte order mark before a JSON topology (editors on Windows write
 * one) is skipped; hl_topology_is_json is the rule that tells the forms
 * apart. */
static void json_with_bom(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBF {\"nodes\": [{\"id\": \"a\"}, {\"id\": "
                       "\"b\"}], \"edges\": [{\"from\": \"a\", \"to\": \"b\"}]}";
    assert_int_equal(hl_topology_is_json(text, strlen(text)), 1);
    hl_topology *t = parse_ok(text);
    assert_int_equal(t->n_nodes, 2);
    assert_int_equal(t->n_edges, 1);
    assert_int_equal(hl_topology_find(t, "b"), 1);
    hl_topology_free(t);
    assert_int_equal(hl_topology_is_json("\n\t{", 3), 1);
    assert_int_equal(hl_topology_is_json("from,to\n", 8), 0);
    assert_int_equal(hl_topology_is_json("\xEF\xBB\xBF", 3), 0);
    assert_int_equal(hl_topology_is_json(NULL, 0), 0);
    /* a BOM before a CSV edge list: the CSV reader's own rule */
    t = parse_ok("\xEF\xBB\xBF" "from,to\na,b\n");
    assert_int_equal(t->n_nodes, 2);
    hl_topology_free(t);
}

static void builder_and_round_trip(void **state)
{
    (void)state;
    hl_error err;
    hl_topology_builder *b = hl_topology_builder_new(0);
    assert_non_null(b);
    assert_int_equal(hl_topology_builder_add_node(b, "gw", "gateway", &err),
                     HL_OK);
    assert_int_equal(hl_topology_builder_add_node(b, "svc \"a\"", NULL, &err),
                     HL_OK);
    assert_int_equal(
        hl_topology_builder_add_node(b, "数据库", "database", &err), HL_OK);
    assert_int_equal(hl_topology_builder_add_node(b, "gw", NULL, &err),
                     HL_ERR_INVALID);
    assert_int_equal(
        hl_topology_builder_add_edge(b, "gw", "svc \"a\"", 0, &err), HL_OK);
    assert_int_equal(
        hl_topology_builder_add_edge(b, "svc \"a\"", "数据库", 1, &err), HL_OK);
    assert_int_equal(hl_topology_builder_add_edge(b, "gw", "nope", 0, &err),
                     HL_ERR_INVALID);
    hl_topology *t = NULL;
    assert_int_equal(hl_topology_builder_finish(b, &t, &err), HL_OK);
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(hl_topology_to_json(t, &json, &len, &err), HL_OK);
    assert_int_equal(len, strlen(json));
    hl_topology *back = parse_ok(json);
    assert_int_equal(back->n_nodes, 3);
    assert_int_equal(back->n_edges, 2);
    assert_string_equal(back->nodes[2].id, "数据库");
    assert_string_equal(back->nodes[2].kind, "database");
    assert_true(back->edges[1].bidirectional);
    assert_false(back->edges[0].bidirectional);
    char *again = NULL;
    assert_int_equal(hl_topology_to_json(back, &again, NULL, &err), HL_OK);
    assert_string_equal(json, again);
    /* an empty builder is an empty graph */
    hl_topology_builder *e = hl_topology_builder_new(0);
    hl_topology *empty = NULL;
    assert_int_equal(hl_topology_builder_finish(e, &empty, &err), HL_ERR_DATA);
    assert_null(empty);
    free(json);
    free(again);
    hl_topology_free(back);
    hl_topology_free(t);
}

/* Ten thousand nodes in a ring with chords: found by id, lists sorted. */
static void large_topology(void **state)
{
    (void)state;
    hl_error err;
    hl_topology_builder *b = hl_topology_builder_new(0);
    char id[32], to[32];
    for (int i = 0; i < HL_TOPOLOGY_MAX_NODES_DEFAULT; i++) {
        snprintf(id, sizeof id, "n%d", i);
        assert_int_equal(hl_topology_builder_add_node(b, id, NULL, &err),
                         HL_OK);
    }
    assert_int_equal(hl_topology_builder_add_node(b, "one-more", NULL, &err),
                     HL_ERR_LIMIT);
    for (int i = 0; i < HL_TOPOLOGY_MAX_NODES_DEFAULT; i++) {
        snprintf(id, sizeof id, "n%d", i);
        snprintf(to, sizeof to, "n%d", (i + 1) % HL_TOPOLOGY_MAX_NODES_DEFAULT);
        assert_int_equal(hl_topology_builder_add_edge(b, id, to, 0, &err),
                         HL_OK);
        snprintf(to, sizeof to, "n%d",
                 (i * 7 + 3) % HL_TOPOLOGY_MAX_NODES_DEFAULT);
        if (strcmp(id, to))
            assert_int_equal(hl_topology_builder_add_edge(b, id, to, 0, &err),
                             HL_OK);
    }
    hl_topology *t = NULL;
    assert_int_equal(hl_topology_builder_finish(b, &t, &err), HL_OK);
    for (int i = 0; i < HL_TOPOLOGY_MAX_NODES_DEFAULT; i += 997) {
        snprintf(id, sizeof id, "n%d", i);
        assert_int_equal(hl_topology_find(t, id), i);
    }
    for (size_t v = 0; v < t->n_nodes; v++)
        for (size_t i = t->spread_start[v] + 1; i < t->spread_start[v + 1]; i++)
            assert_true(t->spread[i - 1] < t->spread[i]);
    hl_topology_free(t);
}

static void files(void **state)
{
    (void)state;
    char dir[] = "/tmp/healer-topo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/t.json", dir);
    hl_topology *t = parse_ok("from,to\na,b\n");
    hl_error err;
    assert_int_equal(hl_topology_write_json(t, path, &err), HL_OK);
    hl_topology *back = NULL;
    assert_int_equal(hl_topology_read(path, 0, &back, &err), HL_OK);
    assert_int_equal(back->n_edges, 1);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    hl_topology *none = NULL;
    assert_int_equal(hl_topology_read(path, 0, &none, &err), HL_ERR_IO);
    assert_null(none);
    assert_non_null(strstr(err.message, "missing.json"));
    hl_topology_free(t);
    hl_topology_free(back);
    tu_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_form_and_adjacency),
        cmocka_unit_test(csv_form),
        cmocka_unit_test(refusals_name_the_culprit),
        cmocka_unit_test(builder_refusals),
        cmocka_unit_test(json_with_bom),
        cmocka_unit_test(builder_and_round_trip),
        cmocka_unit_test(large_topology),
        cmocka_unit_test(files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
