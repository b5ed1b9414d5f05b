/* cmd_simulate.c - `healer simulate`: synthetic data of a faulty system.
 *
 * Three modes, told apart by one flag:
 *   samples    (default) labelled KPI samples; --shift-out writes a second
 *              file drawn from the same system after a distribution shift,
 *              to exercise drift, and names on stderr the KPIs that shift
 *              moves on purpose;
 *   topology   (--topology-shape) a system topology as JSON;
 *   incidents  (--topology) incidents on a topology with their roots, and
 *              with --train-out the node classifier's training file drawn
 *              from the same system.
 * Each flag belongs to some modes (FLAG_MODES); a flag given in a mode it
 * does not belong to is a usage error that says which mode it needs.
 * Used by the tests, the demo and the benchmarks, so everything is
 * deterministic by --seed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char SIMULATE_USAGE[] =
    "Usage: healer simulate --out FILE.csv [options]\n"
    "       healer simulate --topology-shape SHAPE --nodes N --out T.json [--seed S]\n"
    "       healer simulate --topology T.json --incidents N --out incidents.csv\n"
    "                       --truth truth.csv [options]\n\n"
    "Writes labelled KPI samples of a simulated distributed system in which\n"
    "each fault class changes its own set of KPIs; or a topology of such a\n"
    "system; or incidents on a topology, where a fault starts on a root node\n"
    "and spreads to the nodes that depend on it.\n\n"
    "Samples (the default mode):\n"
    "  --out FILE           where to write the samples (required)\n"
    "  --samples N          rows (2000)\n"
    "  --features F         KPIs per sample (32)\n"
    "  --classes C          classes including 'normal' (6)\n"
    "  --imbalance R        most / least frequent class ratio (8)\n"
    "  --missing-rate X     fraction of empty cells (0.03)\n"
    "  --heavy-tail X       fraction of heavy-tailed KPIs (0.3)\n"
    "  --noise X            noise strength (1)\n"
    "  --string-labels      name classes (normal, disk_full, ...) instead of 0..C-1\n"
    "  --truth FILE.json    also write each fault's signature: the KPIs it\n"
    "                       moves and their direction\n"
    "  --shift-out FILE     also write samples after a distribution shift\n"
    "  --shift-samples N    rows of the shifted file (same as --samples)\n"
    "  --shift X            shift strength (0.5)\n"
    "  --seed S             random seed (42)\n\n"
    "Topology (--topology-shape):\n"
    "  --topology-shape S   chain, tree, mesh or microservices\n"
    "  --nodes N            nodes, 2.." CLI_STR(HL_TOPOLOGY_MAX_NODES_DEFAULT) " (required)\n"
    "  --out FILE.json      where to write the topology (required)\n"
    "  --seed S             random seed (42)\n\n"
    "Incidents (--topology):\n"
    "  --topology FILE      the topology, JSON or a CSV edge list 'from,to'\n"
    "  --incidents N        incidents to draw, 1.." CLI_STR(HL_SIM_MAX_INCIDENTS) " (required)\n"
    "  --out FILE.csv       incident rows: incident_id,node,timestamp,KPIs (required)\n"
    "  --truth FILE.csv     their roots: incident_id,root_node,root_fault (required)\n"
    "  --rows-per-node R    samples per observed node and incident, 1.." CLI_STR(HL_SIM_MAX_ROWS_PER_NODE) " (4)\n"
    "  --unobserved X       share of nodes without rows, never a root (0.1)\n"
    "  --minor-anomalies X  mean unrelated weak anomalies per incident (1)\n"
    "  --two-roots X        share of incidents with a second simultaneous root (0)\n"
    "  --max-skew S         node clock skew, +- seconds (30)\n"
    "  --iso-time           ISO 8601 UTC timestamps instead of integer seconds\n"
    "  --train-out FILE     also write a labelled training file for the node\n"
    "                       classifier, from the same system (string labels)\n"
    "  --train-samples N    its rows (2000)\n"
    "  --features, --classes, --imbalance, --missing-rate, --heavy-tail, --noise\n"
    "                       the system, as for samples\n"
    "  --seed S             random seed of the incidents (42)\n"
    "  --system-seed S      seed of the system, its KPIs and fault signatures\n"
    "                       (the --seed): a training file matches incidents\n"
    "                       drawn with the same system seed\n\n"
    "  -h, --help           show this help\n";

enum {
    OPT_OUT = 256, OPT_SAMPLES, OPT_FEATURES, OPT_CLASSES, OPT_IMBALANCE,
    OPT_MISSING, OPT_HEAVY, OPT_NOISE, OPT_STRING, OPT_SHIFT_OUT,
    OPT_SHIFT_SAMPLES, OPT_SHIFT, OPT_SEED, OPT_TRUTH,
    OPT_SHAPE, OPT_NODES, OPT_TOPOLOGY, OPT_INCIDENTS, OPT_ROWS_PER_NODE,
    OPT_UNOBSERVED, OPT_MINOR, OPT_TWO_ROOTS, OPT_MAX_SKEW, OPT_ISO_TIME,
    OPT_TRAIN_OUT, OPT_TRAIN_SAMPLES, OPT_SYSTEM_SEED, OPT_END
};

static const struct option SIM_OPTS[] = {
    {"out", required_argument, 0, OPT_OUT},
    {"samples", required_argument, 0, OPT_SAMPLES},
    {"features", required_argument, 0, OPT_FEATURES},
    {"classes", required_argument, 0, OPT_CLASSES},
    {"imbalance", required_argument, 0, OPT_IMBALANCE},
    {"missing-rate", required_argument, 0, OPT_MISSING},
    {"heavy-tail", required_argument, 0, OPT_HEAVY},
    {"noise", required_argument, 0, OPT_NOISE},
    {"string-labels", no_argument, 0, OPT_STRING},
    {"shift-out", required_argument, 0, OPT_SHIFT_OUT},
    {"truth", required_argument, 0, OPT_TRUTH},
    {"shift-samples", required_argument, 0, OPT_SHIFT_SAMPLES},
    {"shift", required_argument, 0, OPT_SHIFT},
    {"seed", required_argument, 0, OPT_SEED},
    {"topology-shape", required_argument, 0, OPT_SHAPE},
    {"nodes", required_argument, 0, OPT_NODES},
    {"topology", required_argument, 0, OPT_TOPOLOGY},
    {"incidents", required_argument, 0, OPT_INCIDENTS},
    {"rows-per-node", required_argument, 0, OPT_ROWS_PER_NODE},
    {"unobserved", required_argument, 0, OPT_UNOBSERVED},
    {"minor-anomalies", required_argument, 0, OPT_MINOR},
    {"two-roots", required_argument, 0, OPT_TWO_ROOTS},
    {"max-skew", required_argument, 0, OPT_MAX_SKEW},
    {"iso-time", no_argument, 0, OPT_ISO_TIME},
    {"train-out", required_argument, 0, OPT_TRAIN_OUT},
    {"train-samples", required_argument, 0, OPT_TRAIN_SAMPLES},
    {"system-seed", required_argument, 0, OPT_SYSTEM_SEED},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* The modes, as bits: which modes each flag belongs to. */
enum { M_SAMPLES = 1, M_TOPOLOGY = 2, M_INCIDENTS = 4, M_ALL = 7 };
enum { M_SYSTEM = M_SAMPLES | M_INCIDENTS };

static int flag_modes(int opt)
{
    switch (opt) {
    case OPT_OUT: case OPT_SEED: return M_ALL;
    case OPT_FEATURES: case OPT_CLASSES: case OPT_IMBALANCE: case OPT_MISSING:
    case OPT_HEAVY: case OPT_NOISE: case OPT_TRUTH: return M_SYSTEM;
    case OPT_SHAPE: case OPT_NODES: return M_TOPOLOGY;
    case OPT_SAMPLES: case OPT_STRING: case OPT_SHIFT_OUT:
    case OPT_SHIFT_SAMPLES: case OPT_SHIFT: return M_SAMPLES;
    default: return M_INCIDENTS;
    }
}

typedef struct sim_args {
    const char *out, *shift_out, *truth;
    long shift_samples;
    hl_sim_options opt;
    /* topology and incident modes */
    const char *topology, *train_out;
    hl_topology_shape shape;
    long nodes, train_samples;
    uint64_t system_seed;
    hl_sim_incident_options inc;
    unsigned char given[OPT_END - OPT_OUT]; /* flag seen (by OPT_ id) */
} sim_args;

/* The flags of incident mode only (system flags are apply_sim_flag's). */
static int apply_incident_flag(sim_args *a, int opt, const char *v)
{
    const char *c = "simulate";
    long n;
    hl_sim_incident_options *io = &a->inc;
    switch (opt) {
    case OPT_TOPOLOGY: a->topology = v; return 0;
    case OPT_TRAIN_OUT: a->train_out = v; return 0;
    case OPT_ISO_TIME: io->iso_time = 1; return 0;
    case OPT_INCIDENTS:
        if (cli_parse_long(c, "--incidents", v, 1, HL_SIM_MAX_INCIDENTS, &n)) return -1;
        io->incidents = (size_t)n;
        return 0;
    case OPT_ROWS_PER_NODE:
        if (cli_parse_long(c, "--rows-per-node", v, 1, HL_SIM_MAX_ROWS_PER_NODE, &n)) return -1;
        io->rows_per_node = (size_t)n;
        return 0;
    case OPT_TRAIN_SAMPLES:
        return cli_parse_long(c, "--train-samples", v, 1, 100000000,
                              &a->train_samples);
    case OPT_UNOBSERVED: return cli_parse_double(c, "--unobserved", v, 0, HL_SIM_MAX_UNOBSERVED, &io->unobserved);
    case OPT_MINOR: return cli_parse_double(c, "--minor-anomalies", v, 0, HL_SIM_MAX_MINOR_ANOMALIES, &io->minor_anomalies);
    case OPT_TWO_ROOTS: return cli_parse_double(c, "--two-roots", v, 0, 1, &io->two_roots);
    case OPT_MAX_SKEW: return cli_parse_double(c, "--max-skew", v, 0, HL_SIM_MAX_SKEW, &io->max_skew);
    case OPT_SYSTEM_SEED: return cli_parse_u64(c, "--system-seed", v, &a->system_seed);
    }
    return -1;
}

static int apply_sim_flag(sim_args *a, int opt, const char *v)
{
    const char *c = "simulate";
    long n;
    hl_sim_options *o = &a->opt;
    switch (opt) {
    case OPT_OUT: a->out = v; return 0;
    case OPT_SHIFT_OUT: a->shift_out = v; return 0;
    case OPT_TRUTH: a->truth = v; return 0;
    case OPT_SAMPLES:
        if (cli_parse_long(c, "--samples", v, 1, 100000000, &n)) return -1;
        o->samples = (size_t)n;
        return 0;
    case OPT_SHIFT_SAMPLES:
        return cli_parse_long(c, "--shift-samples", v, 1, 100000000,
                              &a->shift_samples);
    case OPT_FEATURES:
        if (cli_parse_long(c, "--features", v, 4, 100000, &n)) return -1;
        o->features = (size_t)n;
        return 0;
    case OPT_CLASSES:
        if (cli_parse_long(c, "--classes", v, 2, 64, &n)) return -1;
        o->classes = (size_t)n;
        return 0;
    case OPT_IMBALANCE: return cli_parse_double(c, "--imbalance", v, 1, 1e6, &o->imbalance);
    case OPT_MISSING: return cli_parse_double(c, "--missing-rate", v, 0, 0.9, &o->missing_rate);
    case OPT_HEAVY: return cli_parse_double(c, "--heavy-tail", v, 0, 1, &o->heavy_tail_fraction);
    case OPT_NOISE: return cli_parse_double(c, "--noise", v, 0, 100, &o->noise);
    case OPT_SHIFT: return cli_parse_double(c, "--shift", v, 0, 100, &o->shift);
    case OPT_STRING: o->string_labels = 1; return 0;
    case OPT_SEED: return cli_parse_u64(c, "--seed", v, &o->seed);
    case OPT_SHAPE:
        if (hl_topology_shape_parse(v, &a->shape) == 0) return 0;
        cli_usage_error(c, "unknown --topology-shape '%s' (chain, tree, mesh "
                           "or microservices)", v);
        return -1;
    case OPT_NODES:
        return cli_parse_long(c, "--nodes", v, 2,
                              HL_TOPOLOGY_MAX_NODES_DEFAULT, &a->nodes);
    }
    return apply_incident_flag(a, opt, v);
}

static int write_variant(const hl_sim_options *o, int variant, const char *path)
{
    hl_error err;
    hl_error_clear(&err);
    hl_dataset *ds = NULL;
    if (hl_simulate(o, variant, &ds, &err) != HL_OK)
        return cli_engine_error("simulate", &err);
    hl_status rc = hl_dataset_write_csv(ds, path, &err);
    size_t rows = ds->n_rows, cols = ds->n_features;
    hl_dataset_free(ds);
    if (rc != HL_OK)
        return cli_engine_error("simulate", &err);
    fprintf(stderr, "wrote %zu samples x %zu KPIs%s to %s\n", rows, cols,
            variant ? " (shifted distribution)" : "", path);
    return CLI_OK;
}

/* {"classes":{LABEL:{"kpis":[{"kpi":NAME,"direction":"+"|"-"}, ...]}}},
 * keyed by the label as the CSV writes it; normal operation has none. */
static json_t *truth_json(const hl_sim_signature *sig, size_t n)
{
    json_t *classes = json_object();
    for (size_t c = 0; classes && c < n; c++) {
        json_t *kpis = json_array();
        for (size_t i = 0; kpis && i < sig[c].n; i++) {
            char name[32];
            snprintf(name, sizeof name, "feature%zu", sig[c].kpi[i]);
            json_array_append_new(
                kpis, json_pack("{s:s, s:s}", "kpi", name, "direction",
                                sig[c].direction[i] > 0 ? "+" : "-"));
        }
        json_object_set_new(classes, sig[c].label,
                            json_pack("{s:o}", "kpis", kpis));
    }
    return json_pack("{s:o}", "classes", classes);
}

static int write_truth(const hl_sim_options *o, const char *path)
{
    hl_error err;
    hl_error_clear(&err);
    hl_sim_signature *sig = calloc(o->classes, sizeof *sig);
    if (!sig)
        return cli_engine_error("simulate",
                                &(hl_error){.message = "out of memory"});
    if (hl_sim_signatures(o, sig, &err) != HL_OK) {
        free(sig);
        return cli_engine_error("simulate", &err);
    }
    json_t *j = truth_json(sig, o->classes);
    free(sig);
    char *text = j ? json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS) : NULL;
    json_decref(j);
    if (!text)
        return cli_engine_error("simulate",
                                &(hl_error){.message = "out of memory"});
    hl_status rc = hl_file_write_atomic(path, text, strlen(text), &err);
    free(text);
    if (rc != HL_OK)
        return cli_engine_error("simulate", &err);
    fprintf(stderr, "wrote the fault signatures to %s\n", path);
    return CLI_OK;
}

/* Names the KPIs the shifted file moves on purpose, so a drift check's
 * findings can be compared with the truth. */
static int print_shifted(const hl_sim_options *o)
{
    hl_error err;
    hl_error_clear(&err);
    uint8_t *shifted = malloc(o->features);
    if (!shifted)
        return cli_engine_error("simulate", &(hl_error){.message = "out of memory"});
    if (hl_sim_shifted_features(o, shifted, &err) != HL_OK) {
        free(shifted);
        return cli_engine_error("simulate", &err);
    }
    fprintf(stderr, "shifted KPIs:");
    for (size_t j = 0; j < o->features; j++)
        if (shifted[j])
            fprintf(stderr, " feature%zu", j);
    fputc('\n', stderr);
    free(shifted);
    return CLI_OK;
}

/* ---- topology and incident modes ---- */

static int run_topology(const sim_args *a)
{
    hl_error err;
    hl_error_clear(&err);
    hl_topology *t = NULL;
    if (hl_sim_topology(a->shape, (size_t)a->nodes, a->opt.seed, &t, &err) !=
        HL_OK)
        return cli_engine_error("simulate", &err);
    hl_status rc = hl_topology_write_json(t, a->out, &err);
    if (rc == HL_OK)
        fprintf(stderr, "wrote a %s topology of %zu nodes and %zu edges to %s\n",
                hl_topology_shape_name(a->shape), t->n_nodes, t->n_edges,
                a->out);
    hl_topology_free(t);
    return rc == HL_OK ? CLI_OK : cli_engine_error("simulate", &err);
}

/* The incidents' options: the system flags went to a->opt, whose --seed
 * seeds the incidents and, unless --system-seed says otherwise, the
 * system too. */
static hl_sim_incident_options incident_options(const sim_args *a)
{
    hl_sim_incident_options io = a->inc;
    io.system = a->opt;
    io.system.string_labels = 1;
    io.seed = a->opt.seed;
    if (a->given[OPT_SYSTEM_SEED - OPT_OUT])
        io.system.seed = a->system_seed;
    return io;
}

static int run_incidents(const sim_args *a)
{
    hl_error err;
    hl_error_clear(&err);
    hl_topology *t = NULL;
    if (hl_topology_read(a->topology, 0, &t, &err) != HL_OK)
        return cli_engine_error("simulate", &err);
    const hl_sim_incident_options io = incident_options(a);
    hl_status rc = hl_sim_incidents_write(&io, t, a->out, a->truth, &err);
    if (rc == HL_OK)
        fprintf(stderr,
                "wrote %zu incident%s on %zu node%s to %s and their roots to "
                "%s\n",
                io.incidents, io.incidents == 1 ? "" : "s", t->n_nodes,
                t->n_nodes == 1 ? "" : "s", a->out, a->truth);
    hl_topology_free(t);
    if (rc != HL_OK)
        return cli_engine_error("simulate", &err);
    if (!a->train_out)
        return CLI_OK;
    hl_sim_options train = io.system;
    if (a->train_samples)
        train.samples = (size_t)a->train_samples;
    return write_variant(&train, 0, a->train_out);
}

/* The mode the flags ask for, or -1 after a usage error: a flag of
 * another mode says which mode it needs. */
static int choose_mode(const sim_args *a)
{
    const int shape = a->given[OPT_SHAPE - OPT_OUT];
    const int incidents = a->given[OPT_TOPOLOGY - OPT_OUT];
    if (shape && incidents) {
        cli_usage_error("simulate", "--topology-shape (make a topology) and "
                                    "--topology (make incidents on one) are "
                                    "different modes: use one at a time");
        return -1;
    }
    const int mode = shape ? M_TOPOLOGY : (incidents ? M_INCIDENTS : M_SAMPLES);
    static const char *const needs[] = {"", "", "--topology-shape", "",
                                        "--topology"};
    static const char *const mode_name[] = {"", "samples", "topology", "",
                                            "incident"};
    for (const struct option *o = SIM_OPTS; o->name; o++) {
        if (o->val < OPT_OUT || !a->given[o->val - OPT_OUT])
            continue;
        const int modes = flag_modes(o->val);
        if (modes & mode)
            continue;
        if (mode == M_SAMPLES)
            cli_usage_error("simulate", "--%s needs %s", o->name,
                            needs[modes & M_TOPOLOGY ? M_TOPOLOGY : M_INCIDENTS]);
        else
            cli_usage_error("simulate", "--%s is not an option of the %s mode",
                            o->name, mode_name[mode]);
        return -1;
    }
    return mode;
}

/* Required flags and pairs of a mode; 0 or CLI_USAGE after a message. */
static int check_required(const sim_args *a, int mode)
{
    if (!a->out)
        return cli_usage_error("simulate", "--out is required");
    if (mode == M_TOPOLOGY && !a->nodes)
        return cli_usage_error("simulate", "--nodes is required with --topology-shape");
    if (mode == M_INCIDENTS) {
        if (!a->given[OPT_INCIDENTS - OPT_OUT])
            return cli_usage_error("simulate", "--incidents is required with --topology");
        if (!a->truth)
            return cli_usage_error("simulate", "--truth is required with --topology "
                                               "(where the incidents' roots go)");
        if (a->train_samples && !a->train_out)
            return cli_usage_error("simulate", "--train-samples needs --train-out");
        const char *paths[] = {a->out, a->truth, a->train_out};
        for (size_t i = 0; i < 3; i++)
            for (size_t j = i + 1; j < 3; j++)
                if (paths[i] && paths[j] && !strcmp(paths[i], paths[j]))
                    return cli_usage_error("simulate",
                                           "--out, --truth and --train-out must "
                                           "be different files ('%s' twice)",
                                           paths[i]);
    }
    if (mode == M_SAMPLES && a->shift_samples && !a->shift_out)
        return cli_usage_error("simulate", "--shift-samples needs --shift-out");
    return 0;
}

static int run_samples(const sim_args *a)
{
    int rc = write_variant(&a->opt, 0, a->out);
    if (rc == CLI_OK && a->truth)
        rc = write_truth(&a->opt, a->truth);
    if (rc != CLI_OK || !a->shift_out)
        return rc;
    hl_sim_options shifted = a->opt;
    if (a->shift_samples)
        shifted.samples = (size_t)a->shift_samples;
    rc = write_variant(&shifted, 1, a->shift_out);
    return rc == CLI_OK ? print_shifted(&shifted) : rc;
}

int cmd_simulate(int argc, char **argv)
{
    sim_args a;
    memset(&a, 0, sizeof a);
    hl_sim_options_init(&a.opt);
    hl_sim_incident_options_init(&a.inc);
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", SIM_OPTS, NULL)) != -1) {
        if (opt == 'h') {
            fputs(SIMULATE_USAGE, stdout);
            return CLI_OK;
        }
        if (opt == '?' || opt == ':')
            return cli_usage_error("simulate", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        if (apply_sim_flag(&a, opt, optarg) != 0)
            return CLI_USAGE;
        a.given[opt - OPT_OUT] = 1;
    }
    if (optind < argc)
        return cli_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
    const int mode = choose_mode(&a);
    if (mode < 0)
        return CLI_USAGE;
    if (check_required(&a, mode) != 0)
        return CLI_USAGE;
    if (mode == M_TOPOLOGY)
        return run_topology(&a);
    if (mode == M_INCIDENTS)
        return run_incidents(&a);
    return run_samples(&a);
}
