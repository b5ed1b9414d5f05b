/* cmd_profile.c - `healer profile --data FILE`: look at a dataset before
 * training on it (shape, duplicates, missing values, classes, per-KPI
 * statistics), the same profile the web platform shows after an upload. */
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "cli.h"

static const char PROFILE_USAGE[] =
    "Usage: healer profile --data FILE.csv [--json]\n\n"
    "Prints the profile of a CSV file: rows, KPIs, rows without a label,\n"
    "exact duplicates, missing values, class distribution and, per KPI, the\n"
    "missing rate, min, 5th percentile, median, 95th percentile, max, mean\n"
    "and standard deviation. Rows without a label are kept and counted.\n\n"
    "Options:\n"
    "  --data FILE          the CSV file (required)\n"
    "  --label-column NAME  label column header (label)\n"
    "  --id-column NAME     sample id column header (sample_id)\n"
    "  --json               print the profile as JSON\n"
    "  -h, --help           show this help\n";

static void print_profile(const hl_dataset *ds, const hl_dataset_profile *p)
{
    printf("%s: %zu rows x %zu KPIs; %zu without a label; %zu exact "
           "duplicates (%zu with a conflicting label)\n",
           ds->source, p->n_rows, p->n_features, p->unlabelled_rows,
           p->duplicate_rows, p->conflicting_rows);
    printf("missing: %zu cells (%.2f %%); %zu constant KPIs\n", p->missing_cells,
           100.0 * p->missing_rate, p->constant_features);
    if (p->class_counts) {
        printf("classes:");
        for (size_t k = 0; k < p->n_classes; k++)
            printf(" %s=%llu", ds->class_names[k],
                   (unsigned long long)p->class_counts[k]);
        putchar('\n');
    }
    printf("%-20s %8s %12s %12s %12s %12s %12s %12s %12s\n", "KPI", "missing",
           "min", "p05", "median", "p95", "max", "mean", "std");
    for (size_t f = 0; f < p->n_features; f++) {
        const hl_feature_stats *s = &p->features[f];
        printf("%-20.20s %7.2f%% %12.5g %12.5g %12.5g %12.5g %12.5g %12.5g "
               "%12.5g\n",
               ds->feature_names[f], 100.0 * s->missing_rate, s->min, s->p05,
               s->p50, s->p95, s->max, s->mean, s->std);
    }
}

int cmd_profile(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},
        {"label-column", required_argument, 0, 'l'},
        {"id-column", required_argument, 0, 'i'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    hl_csv_options csv;
    hl_csv_options_init(&csv);
    csv.keep_unlabelled = 1;
    const char *data = NULL;
    int json = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h': fputs(PROFILE_USAGE, stdout); return CLI_OK;
        case 'd': data = optarg; break;
        case 'l': csv.label_column = optarg; break;
        case 'i': csv.id_column = optarg; break;
        case 'j': json = 1; break;
        default:
            return cli_usage_error("profile", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("profile", "unexpected argument '%s'", argv[optind]);
    if (!data)
        return cli_usage_error("profile", "--data is required");
    hl_error err;
    hl_error_clear(&err);
    hl_dataset *ds = NULL;
    hl_dataset_profile p;
    if (hl_dataset_read_csv(data, &csv, &ds, &err) != HL_OK)
        return cli_engine_error("profile", &err);
    if (hl_dataset_profile_compute(ds, &p, &err) != HL_OK) {
        hl_dataset_free(ds);
        return cli_engine_error("profile", &err);
    }
    int rc = CLI_OK;
    if (json)
        rc = cli_emit_json(hs_json_profile(ds, &p, 0));
    else
        print_profile(ds, &p);
    hl_dataset_profile_free(&p);
    hl_dataset_free(ds);
    return rc;
}
