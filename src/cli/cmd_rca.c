/* cmd_rca.c - `healer rca` (which node started each incident, and how the
 * fault spread) and `healer rca-eval` (ranks scored against the truth).
 *
 * Thin: read the model, the topology and the incident file, call
 * hl_rca_run, write the ranks CSV (replaced whole, healer/file.h) and
 * print either a short summary or the whole JSON result (the engine's
 * writers, the same bytes the web platform serves). rca-eval reads two
 * CSVs and prints the engine's scores. The method is docs/rca.md.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char RCA_USAGE_HEAD[] =
    "Usage: healer rca --model M.model --topology T.json|T.csv --data "
    "INCIDENTS.csv\n"
    "                  --out RANKS.csv [options]\n\n"
    "Root-cause analysis: for every incident of INCIDENTS.csv (header\n"
    "incident_id,node,timestamp,<the model's KPIs>; timestamps in seconds or\n"
    "ISO 8601) ranks the nodes most likely to have started it, from each\n"
    "node's own diagnosis, the order in which nodes turned abnormal and the\n"
    "topology (an edge from -> to: a fault at `to` can make `from` abnormal).\n"
    "Writes RANKS.csv with the header "
    "incident_id,rank,node,fault,score,onset,\n"
    "path (path: the propagation the cause explains, ids joined by '>').\n"
    "The method, its assumptions and its limits: docs/rca.md.\n\n";

/* The options, their ranges and defaults from the engine's definitions. */
static void rca_usage(void)
{
    fputs(RCA_USAGE_HEAD, stdout);
    printf("Options:\n"
           "  --model FILE       model written by 'healer train' (required)\n"
           "  --topology FILE    the system's topology, JSON or a from,to CSV "
           "(required)\n"
           "  --data FILE        the incidents (required)\n"
           "  --out FILE         where to write the ranks (required)\n"
           "  --normal LABEL     the model's normal class (%s)\n"
           "  --top K            causes listed per incident, 1..%d (%d)\n"
           "  --skew SECONDS     clock skew and sampling interval tolerated "
           "between\n"
           "                     two nodes' onsets, 0..%g (%g)\n"
           "  --hop-delay SECONDS  longest expected time for a fault to cross "
           "an\n"
           "                     edge, %g..%g (%g)\n"
           "  --max-nodes N      refuse a topology of more nodes, 1..%d (%d)\n"
           "  --threads T        worker threads, 0 = all cores (0)\n"
           "  --json             print the whole result as JSON on stdout "
           "(ranks\n"
           "                     with factors, paths and propagation trees, "
           "every\n"
           "                     observed node's diagnosis and abnormal KPIs)\n"
           "  -h, --help         show this help\n",
           HL_NORMAL_DEFAULT_CLASS, HL_RCA_MAX_TOP, HL_RCA_TOP_DEFAULT,
           HL_RCA_SKEW_MAX, HL_RCA_SKEW_DEFAULT, HL_RCA_HOP_DELAY_MIN,
           HL_RCA_HOP_DELAY_MAX, HL_RCA_HOP_DELAY_DEFAULT,
           HL_TOPOLOGY_MAX_NODES_LIMIT,
           HL_TOPOLOGY_MAX_NODES_DEFAULT);
}

static const char EVAL_USAGE[] =
    "Usage: healer rca-eval --ranks RANKS.csv --truth TRUTH.csv [--json]\n\n"
    "Scores the ranks written by 'healer rca' against the true roots (header\n"
    "incident_id,root_node,root_fault; an incident with two roots has two\n"
    "lines, and either counts): top-1, top-3 and top-5 accuracy of the root\n"
    "node, the share of incidents whose rank-1 fault is the root's when the\n"
    "rank-1 node is a root, and the mean rank of the best-ranked root (a\n"
    "root not ranked counts as the incident's ranks + 1; an incident\n"
    "without ranks as the most ranks of any incident + 1).\n\n"
    "Options:\n"
    "  --ranks FILE   ranks written by 'healer rca' (required)\n"
    "  --truth FILE   the true roots (required)\n"
    "  --json         print the scores as JSON\n"
    "  -h, --help     show this help\n";

/* How many incidents the summary names. */
#define SUMMARY_INCIDENTS 10

typedef struct rca_args {
    const char *model, *topology, *data, *out;
    hl_rca_options opt;
    long max_nodes;
    int json;
} rca_args;

/* 0, or a usage error's exit code. */
static int parse_rca(int argc, char **argv, rca_args *a, int *help)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},
        {"topology", required_argument, 0, 'g'},
        {"data", required_argument, 0, 'd'},
        {"out", required_argument, 0, 'o'},
        {"normal", required_argument, 0, 'n'},
        {"top", required_argument, 0, 'k'},
        {"skew", required_argument, 0, 's'},
        {"hop-delay", required_argument, 0, 'y'},
        {"max-nodes", required_argument, 0, 'x'},
        {"threads", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    long v;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            *help = 1;
            return 0;
        case 'm':
            a->model = optarg;
            break;
        case 'g':
            a->topology = optarg;
            break;
        case 'd':
            a->data = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'n':
            a->opt.normal = optarg;
            break;
        case 'k':
            if (cli_parse_long("rca", "--top", optarg, 1, HL_RCA_MAX_TOP, &v))
                return CLI_USAGE;
            a->opt.top = (size_t)v;
            break;
        case 's':
            if (cli_parse_double("rca", "--skew", optarg, 0, HL_RCA_SKEW_MAX,
                                 &a->opt.skew))
                return CLI_USAGE;
            break;
        case 'y':
            if (cli_parse_double("rca", "--hop-delay", optarg,
                                 HL_RCA_HOP_DELAY_MIN, HL_RCA_HOP_DELAY_MAX,
                                 &a->opt.hop_delay))
                return CLI_USAGE;
            break;
        case 'x':
            if (cli_parse_long("rca", "--max-nodes", optarg, 1,
                               HL_TOPOLOGY_MAX_NODES_LIMIT,
                               &a->max_nodes))
                return CLI_USAGE;
            break;
        case 't':
            if (cli_parse_long("rca", "--threads", optarg, 0, 256, &v))
                return CLI_USAGE;
            a->opt.threads = (int)v;
            break;
        case 'j':
            a->json = 1;
            break;
        default:
            return cli_usage_error("rca", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("rca", "unexpected argument '%s'", argv[optind]);
    if (!a->model || !a->topology || !a->data || !a->out)
        return cli_usage_error("rca", "--model, --topology, --data and --out "
                                      "are required");
    return 0;
}

static int rca_progress(size_t done, size_t total, void *arg)
{
    (void)arg;
    if (isatty(STDERR_FILENO) && (done == total || done % 100 == 0))
        fprintf(stderr, "\rincidents %zu/%zu   ", done, total);
    return 0;
}

/* The topology under --max-nodes; a refusal for its size names the flag
 * (the engine's message cannot: the server's limit is a setting). */
static hl_status read_topology(const rca_args *a, hl_topology **out,
                               hl_error *err)
{
    hl_status st = hl_topology_read(a->topology, (size_t)a->max_nodes, out, err);
    if (st == HL_ERR_LIMIT && !strcmp(err->field, HL_TOPOLOGY_LIMIT_FIELD)) {
        size_t len = strlen(err->message);
        snprintf(err->message + len, sizeof err->message - len,
                 " (raise it with --max-nodes)");
    }
    return st;
}

/* The ranks CSV, replaced whole. */
static hl_status write_ranks(const char *path, const hl_rca_result *r,
                             const hl_topology *t, const hl_model *m,
                             hl_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) {
        hl_error_clear(err);
        err->code = HL_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return HL_ERR_NOMEM;
    }
    hl_status rc = hl_rca_write_csv(f, r, t, m, err);
    fclose(f);
    if (rc == HL_OK)
        rc = hl_file_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

static void print_summary(const rca_args *a, const hl_rca_result *r,
                          const hl_topology *t, const hl_model *m,
                          double seconds)
{
    size_t abnormal = 0;
    for (size_t i = 0; i < r->n_incidents; i++)
        abnormal += r->incidents[i].n_abnormal > 0;
    printf("%zu incidents analysed in %.2f s (%zu with abnormal nodes); "
           "topology of %zu nodes; ranks written to %s\n",
           r->n_incidents, seconds, abnormal, t->n_nodes, a->out);
    size_t shown =
        r->n_incidents < SUMMARY_INCIDENTS ? r->n_incidents : SUMMARY_INCIDENTS;
    for (size_t i = 0; i < shown; i++) {
        const hl_rca_incident *in = &r->incidents[i];
        if (!in->n_causes)
            continue;
        const hl_rca_cause *c = &in->causes[0];
        printf("  %s: %s", in->id, t->nodes[c->node].id);
        if (!c->observed)
            printf(" (no rows: a dependency its neighbours point at)");
        else if (c->fault >= 0)
            printf(" %s", hl_model_class_name(m, (size_t)c->fault));
        else
            printf(" (fault unknown: abnormal by its KPIs alone)");
        printf(", score %.3f, %zu of %zu observed nodes abnormal\n", c->score,
               in->n_abnormal, in->n_nodes);
    }
    if (shown < r->n_incidents)
        printf("  ... %zu more in %s\n", r->n_incidents - shown, a->out);
}

int cmd_rca(int argc, char **argv)
{
    rca_args a = {0};
    hl_rca_options_init(&a.opt);
    int help = 0;
    int rc = parse_rca(argc, argv, &a, &help);
    if (help) {
        rca_usage();
        return CLI_OK;
    }
    if (rc)
        return rc;
    a.opt.progress = rca_progress;

    hl_error err;
    hl_error_clear(&err);
    hl_warnings warn = {0};
    hl_model *m = NULL;
    hl_topology *t = NULL;
    hl_incidents *inc = NULL;
    hl_rca_result *res = NULL;
    double start = hl_clock_monotonic();
    int32_t normal;
    /* the incident file is read by as many threads as the analysis */
    hl_csv_options csv;
    hl_csv_options_init(&csv);
    csv.threads =
        a.opt.threads > 0 ? a.opt.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (hl_model_load(a.model, &m, &err) != HL_OK ||
        hl_rca_normal_class(m, a.opt.normal, &normal, &err) != HL_OK ||
        read_topology(&a, &t, &err) != HL_OK ||
        hl_incidents_read(a.data, t, &csv, &inc, &err) != HL_OK ||
        hl_rca_run(m, t, inc, &a.opt, &res, &warn, &err) != HL_OK ||
        write_ranks(a.out, res, t, m, &err) != HL_OK) {
        if (isatty(STDERR_FILENO))
            fputs("\r\033[K", stderr);
        rc = cli_engine_error("rca", &err);
    } else {
        if (isatty(STDERR_FILENO))
            fputs("\r\033[K", stderr);
        cli_print_warnings("rca", &warn);
        if (a.json) {
            if (hl_rca_write_json(stdout, res, t, m, &err) != HL_OK)
                rc = cli_engine_error("rca", &err);
        } else {
            print_summary(&a, res, t, m, hl_clock_monotonic() - start);
        }
    }
    hl_rca_result_free(res);
    hl_incidents_free(inc);
    hl_topology_free(t);
    hl_model_free(m);
    hl_warnings_free(&warn);
    return rc;
}

/* ---- rca-eval ---------------------------------------------------------- */

static json_t *eval_json(const hl_rca_eval *e)
{
    return json_pack(
        "{s:I, s:I, s:f, s:f, s:f, s:I, s:o, s:f}", "incidents",
        (json_int_t)e->incidents, "unranked", (json_int_t)e->unranked, "top1",
        e->top1, "top3", e->top3, "top5", e->top5, "node_right",
        (json_int_t)e->node_right, "fault_accuracy",
        isnan(e->fault_accuracy) ? json_null() : json_real(e->fault_accuracy),
        "mean_rank", e->mean_rank);
}

static void print_eval(const hl_rca_eval *e)
{
    printf("incidents: %zu (%zu without ranks)\n", e->incidents, e->unranked);
    printf("top-1: %.4f  top-3: %.4f  top-5: %.4f\n", e->top1, e->top3,
           e->top5);
    if (isnan(e->fault_accuracy))
        printf("root fault right: - (no rank-1 node is a root)\n");
    else
        printf("root fault right: %.4f of the %zu incidents whose rank-1 "
               "node is a root\n",
               e->fault_accuracy, e->node_right);
    printf("mean rank: %.3f\n", e->mean_rank);
}

int cmd_rca_eval(int argc, char **argv)
{
    static const struct option opts[] = {
        {"ranks", required_argument, 0, 'r'},
        {"truth", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *ranks = NULL, *truth = NULL;
    int json = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(EVAL_USAGE, stdout);
            return CLI_OK;
        case 'r':
            ranks = optarg;
            break;
        case 't':
            truth = optarg;
            break;
        case 'j':
            json = 1;
            break;
        default:
            return cli_usage_error("rca-eval", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("rca-eval", "unexpected argument '%s'",
                               argv[optind]);
    if (!ranks || !truth)
        return cli_usage_error("rca-eval", "--ranks and --truth are required");
    hl_error err;
    hl_rca_eval e;
    if (hl_rca_eval_files(ranks, truth, &e, &err) != HL_OK)
        return cli_engine_error("rca-eval", &err);
    if (json)
        return cli_emit_json(eval_json(&e));
    print_eval(&e);
    return CLI_OK;
}
