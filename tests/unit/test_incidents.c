/* test_incidents.c - incident files (healer/incidents.h): timestamps in
 * both forms, rows regrouped by incident, node and time whatever their
 * order in the file, and each refusal with its line, column and value.
 */
#include <math.h>

#include "testutil.h"

static hl_topology *topology(const char *const *ids, size_t n)
{
    hl_error err;
    hl_topology_builder *b = hl_topology_builder_new(0);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(hl_topology_builder_add_node(b, ids[i], NULL, &err),
                         HL_OK);
    hl_topology *t = NULL;
    assert_int_equal(hl_topology_builder_finish(b, &t, &err), HL_OK);
    return t;
}

static const char *const NODES[] = {"db", "api", "web"};

static hl_incidents *parse_ok(const char *text, const hl_topology *t)
{
    hl_incidents *inc = NULL;
    hl_error err;
    hl_status rc =
        hl_incidents_parse(text, strlen(text), "i.csv", t, NULL, &inc, &err);
    if (rc != HL_OK)
        print_error("unexpected: %s\n", err.message);
    assert_int_equal(rc, HL_OK);
    return inc;
}

static void expect_refused(const char *text, const hl_topology *t,
                           hl_status code, size_t line, const char *column,
                           const char *kw)
{
    hl_incidents *inc = (hl_incidents *)&inc;
    hl_error err;
    hl_status rc =
        hl_incidents_parse(text, strlen(text), "i.csv", t, NULL, &inc, &err);
    if (rc != code || !strstr(err.message, kw))
        print_error("got %s: %s\n", hl_status_name(rc), err.message);
    assert_int_equal(rc, code);
    assert_null(inc);
    assert_int_equal(err.line, line);
    assert_string_equal(err.column, column ? column : "");
    assert_non_null(strstr(err.message, kw));
}

/* ---- timestamps -------------------------------------------------------- */

static void expect_time(const char *text, double want)
{
    double got = -1;
    if (hl_incident_parse_time(text, &got) != 0 || got != want)
        print_error("'%s': got %.3f, want %.3f\n", text, got, want);
    assert_int_equal(hl_incident_parse_time(text, &got), 0);
    assert_true(fabs(got - want) < 1e-6);
}

static void test_parse_time(void **state)
{
    (void)state;
    expect_time("1700000000", 1700000000);
    expect_time(" 42 ", 42);
    expect_time("-5", -5);
    expect_time("+7", 7);
    expect_time("1700000000.25", 1700000000.25);
    expect_time("1970-01-01T00:00:00Z", 0);
    expect_time("2023-11-14T22:13:20Z", 1700000000);
    expect_time("2023-11-14 22:13:20", 1700000000);
    expect_time("2023-11-14t22:13:20z", 1700000000);
    expect_time("2023-11-14T22:13Z", 1700000000 - 20);
    expect_time("2023-11-14T22:13:20.5Z", 1700000000.5);
    expect_time("2023-11-14T22:13:20,125Z", 1700000000.125);
    expect_time("2023-11-15T00:13:20+02:00", 1700000000);
    expect_time("2023-11-14T20:13:20-0200", 1700000000);
    expect_time("2023-11-15T03:43:20.000+05:30", 1700000000);
    expect_time("2023-11-15T01:13:20+03", 1700000000);
    expect_time("2024-02-29", 1709164800);
    expect_time("1969-12-31T23:59:59Z", -1);
    const char *bad[] = {"",
                         "abc",
                         "1e9",
                         "12:00",
                         "1.",
                         "2023-13-01",
                         "2023-02-29",
                         "2023-11-14T24:00:00Z",
                         "2023-11-14T22:60:00Z",
                         "2023-11-14T22:13:20+24:00",
                         "2023-11-14T22:13:20+02:",
                         "2023-11-14T22:13:20Zjunk",
                         "2023-11-14T22",
                         "2023-11-14T22:13:20.",
                         "20231114T221320Z",
                         "99999999999999999",
                         NULL};
    double s;
    for (size_t i = 0; bad[i]; i++) {
        if (hl_incident_parse_time(bad[i], &s) == 0)
            print_error("accepted '%s'\n", bad[i]);
        assert_int_equal(hl_incident_parse_time(bad[i], &s), -1);
    }
    assert_int_equal(hl_incident_parse_time(NULL, &s), -1);
}

/* ---- regrouping -------------------------------------------------------- */

static void test_regrouped(void **state)
{
    (void)state;
    hl_topology *t = topology(NODES, 3);
    /* incidents interleaved, nodes and times out of order, ISO and
     * seconds mixed, KPI columns around the text ones */
    hl_incidents *inc = parse_ok("cpu,incident_id,node,timestamp,mem\n"
                                 "1,b,web,100,10\n"
                                 "2,a,web,1970-01-01T00:01:40Z,20\n"
                                 "3,b,db,160,30\n"
                                 "4,b,db,40,40\n"
                                 "5,a,api,70,50\n"
                                 "6,b,web,100,60\n"
                                 "7,a,web,30,70\n",
                                 t);
    assert_int_equal(inc->n_incidents, 2);
    assert_string_equal(inc->incidents[0].id, "b");
    assert_string_equal(inc->incidents[1].id, "a");
    const hl_incident *b = &inc->incidents[0], *a = &inc->incidents[1];
    assert_int_equal(b->n_nodes, 2);
    assert_int_equal(b->nodes[0].node, 0); /* db */
    assert_int_equal(b->nodes[0].first, 0);
    assert_int_equal(b->nodes[0].n, 2);
    assert_int_equal(b->nodes[1].node, 2); /* web */
    assert_int_equal(b->nodes[1].first, 2);
    assert_int_equal(b->nodes[1].n, 2);
    assert_int_equal(a->n_nodes, 2);
    assert_int_equal(a->nodes[0].node, 1); /* api */
    assert_int_equal(a->nodes[0].first, 4);
    assert_int_equal(a->nodes[1].node, 2);
    assert_int_equal(a->nodes[1].first, 5);
    assert_int_equal(a->nodes[1].n, 2);
    /* db of b by time: 40 then 160; web of b: equal times keep file order */
    const hl_dataset *ds = inc->data;
    assert_int_equal(ds->n_rows, 7);
    assert_int_equal(ds->n_features, 2);
    assert_string_equal(ds->feature_names[0], "cpu");
    assert_string_equal(ds->feature_names[1], "mem");
    assert_int_equal(ds->n_text, 0);
    const float cpu[] = {4, 3, 1, 6, 5, 7, 2};
    const size_t line[] = {5, 4, 2, 7, 6, 8, 3};
    for (size_t i = 0; i < 7; i++) {
        assert_true(ds->x[i * 2] == cpu[i]);
        assert_true(ds->x[i * 2 + 1] == cpu[i] * 10);
        assert_int_equal(inc->line[i], line[i]);
    }
    assert_true(inc->time[0] == 40 && inc->time[1] == 160);
    assert_string_equal(inc->time_text[6], "1970-01-01T00:01:40Z");
    assert_true(inc->time[6] == 100);
    /* node ids as the file names them, in order of first appearance */
    assert_int_equal(inc->n_node_ids, 3);
    assert_string_equal(inc->node_ids[0], "web");
    assert_string_equal(inc->node_ids[1], "db");
    assert_string_equal(inc->node_ids[2], "api");
    hl_incidents_free(inc);
    hl_topology_free(t);
}

/* Read before the topology is known (a platform checking an upload):
 * nodes are indices into node_ids. */
static void test_without_topology(void **state)
{
    (void)state;
    hl_incidents *inc = parse_ok("incident_id,node,timestamp,k\n"
                                 "x,zeta,2,1\n"
                                 "x,alpha,1,2\n"
                                 "x,zeta,1,3\n",
                                 NULL);
    assert_int_equal(inc->n_incidents, 1);
    assert_int_equal(inc->n_node_ids, 2);
    assert_string_equal(inc->node_ids[0], "zeta");
    assert_int_equal(inc->incidents[0].nodes[0].node, 0);
    assert_int_equal(inc->incidents[0].nodes[0].n, 2);
    assert_true(inc->data->x[0] == 3 && inc->data->x[1] == 1);
    assert_int_equal(inc->incidents[0].nodes[1].node, 1);
    hl_incidents_free(inc);
    hl_incidents_free(NULL);
}

static void test_header_matches(void **state)
{
    (void)state;
    const char *yes = "cpu,timestamp,\"node\",incident_id\n1,2,3,4\n";
    const char *no = "sample_id,cpu,label\n";
    assert_int_equal(hl_incidents_header_matches(yes, strlen(yes)), 1);
    assert_int_equal(hl_incidents_header_matches(no, strlen(no)), 0);
    assert_int_equal(hl_incidents_header_matches("", 0), 0);
}

static void test_read_file(void **state)
{
    (void)state;
    hl_topology *t = topology(NODES, 3);
    const char *path =
        tu_write_temp("incident_id,node,timestamp,k\ni,db,1,2\n", (size_t)-1);
    hl_incidents *inc = NULL;
    hl_error err;
    assert_int_equal(hl_incidents_read(path, t, NULL, &inc, &err), HL_OK);
    assert_int_equal(inc->n_incidents, 1);
    assert_string_equal(inc->data->source, path);
    hl_incidents_free(inc);
    unlink(path);
    assert_int_equal(hl_incidents_read(path, t, NULL, &inc, &err), HL_ERR_IO);
    assert_null(inc);
    hl_topology_free(t);
}

/* ---- refusals ---------------------------------------------------------- */

static void test_refusals(void **state)
{
    (void)state;
    hl_topology *t = topology(NODES, 3);
    expect_refused("incident_id,timestamp,k\ni,1,2\n", t, HL_ERR_DATA, 1,
                   "node", "column 'node' is missing");
    expect_refused("node,timestamp,k\ndb,1,2\n", t, HL_ERR_DATA, 1,
                   "incident_id", "column 'incident_id' is missing");
    expect_refused("incident_id,node,k\ni,db,2\n", t, HL_ERR_DATA, 1,
                   "timestamp", "column 'timestamp' is missing");
    expect_refused("incident_id,node,timestamp\ni,db,1\n", t, HL_ERR_DATA, 1,
                   NULL, "no feature columns");
    expect_refused("incident_id,node,timestamp,k\n", t, HL_ERR_DATA, 0, NULL,
                   "no data rows");
    expect_refused("incident_id,node,timestamp,k\ni,db,1,2\ni,api,"
                   "2026-02-30T00:00:00Z,3\n",
                   t, HL_ERR_PARSE, 3, "timestamp",
                   "not a timestamp (integer seconds or ISO 8601 such as "
                   "2026-12-07T04:34:18Z): \"2026-02-30T00:00:00Z\"");
    expect_refused("incident_id,node,timestamp,k\ni,db,1,2\n\ni,cache-9,2,3\n",
                   t, HL_ERR_DATA, 4, "node",
                   "node not in the topology: \"cache-9\"");
    expect_refused("incident_id,node,timestamp,k\ni,db,1,2\n,db,2,3\n", t,
                   HL_ERR_DATA, 3, "incident_id", "empty incident id");
    expect_refused("incident_id,node,timestamp,k\ni,,1,2\n", NULL, HL_ERR_DATA,
                   2, "node", "empty node id");
    char longid[400];
    memset(longid, 'x', 256);
    longid[256] = '\0';
    char text[600];
    snprintf(text, sizeof text, "incident_id,node,timestamp,k\n%s,db,1,2\n",
             longid);
    expect_refused(text, t, HL_ERR_DATA, 2, "incident_id",
                   "incident id longer than 255 bytes");
    snprintf(text, sizeof text, "incident_id,node,timestamp,k\ni,%s,1,2\n",
             longid);
    expect_refused(text, NULL, HL_ERR_DATA, 2, "node",
                   "node id longer than 255 bytes");
    /* ids are shown to a person: no control characters (a terminal
     * escape here), and the message does not print them raw */
    expect_refused("incident_id,node,timestamp,k\ni,db,1,2\n\"i\x1b[31m\",db,"
                   "2,3\n",
                   t, HL_ERR_DATA, 3, "incident_id",
                   "incident id holds a control character: \"i?[31m\"");
    expect_refused("incident_id,node,timestamp,k\n\"a\tb\",db,1,2\n", t,
                   HL_ERR_DATA, 2, "incident_id",
                   "incident id holds a control character");
    expect_refused("incident_id,node,timestamp,k\ni,\"d\x01b\",1,2\n", NULL,
                   HL_ERR_DATA, 2, "node", "node id holds a control character");
    expect_refused("incident_id,node,timestamp,k\ni,db,1,x\n", t, HL_ERR_PARSE,
                   2, "k", "not a number");
    hl_incidents *inc = NULL;
    hl_error err;
    assert_int_equal(hl_incidents_parse("x", 1, "i.csv", t, NULL, NULL, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_incidents_read(NULL, t, NULL, &inc, &err),
                     HL_ERR_INVALID);
    hl_topology_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_regrouped),
        cmocka_unit_test(test_without_topology),
        cmocka_unit_test(test_header_matches),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
