/* cmd_simulate.c - `healer simulate`: labelled synthetic KPI samples.
 *
 * Used by the tests, the demo and the benchmarks, so everything is
 * deterministic by --seed. --shift-out writes a second file drawn from the
 * same system after a distribution shift, to exercise drift, and names on
 * stderr the KPIs that shift moves on purpose.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char SIMULATE_USAGE[] =
    "Usage: healer simulate --out FILE.csv [options]\n\n"
    "Writes labelled KPI samples of a simulated distributed system in which\n"
    "each fault class changes its own set of KPIs.\n\n"
    "Options:\n"
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
    "  --seed S             random seed (42)\n"
    "  -h, --help           show this help\n";

enum {
    OPT_OUT = 256, OPT_SAMPLES, OPT_FEATURES, OPT_CLASSES, OPT_IMBALANCE,
    OPT_MISSING, OPT_HEAVY, OPT_NOISE, OPT_STRING, OPT_SHIFT_OUT,
    OPT_SHIFT_SAMPLES, OPT_SHIFT, OPT_SEED, OPT_TRUTH
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
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef struct sim_args {
    const char *out, *shift_out, *truth;
    long shift_samples;
    hl_sim_options opt;
} sim_args;

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
    }
    return -1;
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

int cmd_simulate(int argc, char **argv)
{
    sim_args a;
    memset(&a, 0, sizeof a);
    hl_sim_options_init(&a.opt);
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
    }
    if (optind < argc)
        return cli_usage_error("simulate", "unexpected argument '%s'", argv[optind]);
    if (!a.out)
        return cli_usage_error("simulate", "--out is required");
    if (a.shift_samples && !a.shift_out)
        return cli_usage_error("simulate", "--shift-samples needs --shift-out");
    int rc = write_variant(&a.opt, 0, a.out);
    if (rc == CLI_OK && a.truth)
        rc = write_truth(&a.opt, a.truth);
    if (rc != CLI_OK || !a.shift_out)
        return rc;
    hl_sim_options shifted = a.opt;
    if (a.shift_samples)
        shifted.samples = (size_t)a.shift_samples;
    rc = write_variant(&shifted, 1, a.shift_out);
    return rc == CLI_OK ? print_shifted(&shifted) : rc;
}
