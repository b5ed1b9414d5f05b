/* cmd_drift.c - `healer drift --model M --data F.csv [--json]`: has this
 * data drifted away from what the model was trained on?
 *
 * A thin layer over healer/drift.h: the engine measures and decides; this
 * file reads the files, prints the verdict first and then every KPI worst
 * first (or the JSON view the web API shares, engine_json.c). The rules'
 * numbers in --help come from the engine's definitions, and docs/cli.md
 * repeats that line (a CLI test keeps the two equal).
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char DRIFT_USAGE_HEAD[] =
    "Usage: healer drift --model FILE.model --data FILE.csv [options]\n\n"
    "Compares the samples of FILE.csv with the training data the model\n"
    "remembers, KPI by KPI: the population stability index (PSI), the\n"
    "Kolmogorov-Smirnov distance (KS), the change of the share of missing\n"
    "values, whether the shift is significant for a batch of this size,\n"
    "and a verdict: none, moderate or severe. Columns are matched by name;\n"
    "a label column may be there or not.\n\n";

static const char DRIFT_USAGE_OPTIONS[] =
    "Options:\n"
    "  --model FILE        model written by 'healer train' (required)\n"
    "  --data FILE         samples to check (required)\n"
    "  --json              print the report as JSON\n"
    "  --threads T         worker threads, 0 = all cores (0)\n"
    "  --label-column NAME label column header (label)\n"
    "  --id-column NAME    sample id column header (sample_id)\n"
    "  -h, --help          show this help\n";

void cli_print_drift_rules(FILE *out)
{
    fprintf(out,
            "Rules: a KPI's shift is significant when it is beyond chance (KS, "
            "and chi-square over the PSI bins from %d rows, at a family-wise "
            "%g over the KPIs) and PSI >= %g or KS >= %g; severe when PSI >= "
            "%g. healer predict and the web API check batches of %d rows or "
            "more.\n",
            HL_DRIFT_MIN_ROWS, HL_DRIFT_ALPHA, HL_DRIFT_PSI_MODERATE,
            HL_DRIFT_KS_MATERIAL, HL_DRIFT_PSI_SEVERE, HL_DRIFT_MIN_ROWS);
}

static void usage(void)
{
    fputs(DRIFT_USAGE_HEAD, stdout);
    cli_print_drift_rules(stdout);
    fputc('\n', stdout);
    fputs(DRIFT_USAGE_OPTIONS, stdout);
}

static const char *advice(hl_drift_level verdict)
{
    switch (verdict) {
    case HL_DRIFT_SEVERE:
        return "the model may be wrong on this data: retrain it with labelled "
               "samples from where this data comes from";
    case HL_DRIFT_MODERATE:
        return "some KPIs moved: check the diagnoses of this data against a "
               "few known cases, and retrain if they disagree";
    case HL_DRIFT_NONE:
        break;
    }
    return "the data looks like the training data";
}

void cli_print_drift_verdict(FILE *out, const char *prefix,
                             const hl_drift_report *r)
{
    fprintf(out,
            "%sdrift: %s - %zu of %zu KPIs shifted significantly (%zu rows "
            "checked against %zu reference rows)\n",
            prefix, hl_drift_level_name(r->verdict), r->n_significant,
            r->n_kpis, r->rows, r->reference_rows);
    if (r->n_read < r->n_kpis)
        fprintf(out,
                "%sof the %zu KPIs the model reads (KPI screening): %s, %zu "
                "shifted significantly\n",
                prefix, r->n_read, hl_drift_level_name(r->verdict_read),
                r->n_significant_read);
}

void cli_print_drift_brief(FILE *out, const char *prefix,
                           const hl_drift_report *r, size_t max_worst)
{
    cli_print_drift_verdict(out, prefix, r);
    size_t shown = r->n_significant < max_worst ? r->n_significant : max_worst;
    if (shown == 0)
        return;
    fprintf(out, "%sworst KPIs:", prefix);
    for (size_t i = 0; i < shown; i++) {
        const hl_drift_kpi *k = &r->kpis[r->order[i]];
        fprintf(out, "%s %s (%s, PSI %.3g, KS %.2f)", i ? "," : "", k->name,
                hl_drift_level_name(k->level), k->psi, k->ks);
    }
    fprintf(out, "%s; 'healer drift' lists every KPI\n",
            r->n_significant > shown ? ", ..." : "");
}

static void print_table(const hl_drift_report *r)
{
    cli_print_drift_verdict(stdout, "", r);
    printf("%s\n\n", advice(r->verdict));
    printf("%-20s %10s %7s %8s %18s  %s\n", "KPI", "PSI", "KS", "KS crit",
           "missing ref/batch", "drift");
    for (size_t i = 0; i < r->n_kpis; i++) {
        const hl_drift_kpi *k = &r->kpis[r->order[i]];
        printf("%-20.20s %10.4g %7.3f %8.3f %8.1f%% %7.1f%%  %s\n", k->name,
               k->psi, k->ks, k->ks_critical, 100.0 * k->missing_reference,
               100.0 * k->missing_batch, hl_drift_level_name(k->level));
    }
}

int cmd_drift(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"json", no_argument, 0, 'j'},
        {"threads", required_argument, 0, 't'},
        {"label-column", required_argument, 0, 'l'},
        {"id-column", required_argument, 0, 'i'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    hl_csv_options csv;
    hl_csv_options_init(&csv);
    csv.keep_unlabelled = 1;
    const char *model_path = NULL, *data = NULL;
    long threads = 0;
    int json = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            usage();
            return CLI_OK;
        case 'm':
            model_path = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 't':
            if (cli_parse_long("drift", "--threads", optarg, 0, 256, &threads))
                return CLI_USAGE;
            break;
        case 'l':
            csv.label_column = optarg;
            break;
        case 'i':
            csv.id_column = optarg;
            break;
        default:
            return cli_usage_error("drift", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("drift", "unexpected argument '%s'",
                               argv[optind]);
    if (!model_path || !data)
        return cli_usage_error("drift", "--model and --data are required");

    hl_error err;
    hl_error_clear(&err);
    hl_model *m = NULL;
    hl_dataset *ds = NULL;
    hl_warnings warn = {0};
    hl_drift_report r;
    memset(&r, 0, sizeof r);
    int rc = CLI_OK;
    if (hl_model_load(model_path, &m, &err) != HL_OK ||
        hl_dataset_read_csv(data, &csv, &ds, &err) != HL_OK ||
        hl_drift_check_dataset(m, ds, (int)threads, &r, &warn, &err) != HL_OK) {
        rc = cli_engine_error("drift", &err);
    } else {
        cli_print_warnings("drift", &warn);
        if (json)
            rc = cli_emit_json(hs_json_drift(&r, 0));
        else
            print_table(&r);
    }
    hl_drift_report_free(&r);
    hl_warnings_free(&warn);
    hl_dataset_free(ds);
    hl_model_free(m);
    return rc;
}
