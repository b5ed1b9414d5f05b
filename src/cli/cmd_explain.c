/* cmd_explain.c - `healer explain --model M --data F --row SAMPLE_ID
 * [--json]`: one sample's whole picture.
 *
 * The predicted class and its probabilities, the KPIs that drove the
 * call (their contributions towards the predicted class, with each
 * value against its normal range) and the KPIs outside their normal
 * ranges. A thin layer over hl_model_explain_row; the JSON is the one
 * view the web API shows too (hs_json_sample_explanation).
 */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* KPIs listed as drivers in the text report (--json has them all). */
#define CLI_EXPLAIN_DRIVERS 10

static const char EXPLAIN_USAGE[] =
    "Usage: healer explain --model FILE.model --data FILE.csv --row ID "
    "[options]\n\n"
    "Explains the diagnosis of one sample of FILE.csv (the row whose\n"
    "sample_id is ID; without a sample_id column, ID is the 1-based row\n"
    "number): the predicted class and the probabilities, the KPIs that\n"
    "pushed most towards it (exact Shapley values, in the model's score)\n"
    "with each value against its normal range, and every KPI outside its\n"
    "normal range.\n\n"
    "Options:\n"
    "  --model FILE        model written by 'healer train' (required)\n"
    "  --data FILE         the samples (required; a label column is ignored)\n"
    "  --row ID            the sample to explain (required)\n"
    "  --label-column NAME label column header (label)\n"
    "  --id-column NAME    sample id column header (sample_id)\n"
    "  --json              print the explanation as JSON\n"
    "  -h, --help          show this help\n";

typedef struct explain_args {
    const char *model, *data, *row;
    int json;
    hl_csv_options csv;
} explain_args;

static int parse_args(int argc, char **argv, explain_args *a, int *stop)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"row", required_argument, 0, 'r'},
        {"label-column", required_argument, 0, 'l'},
        {"id-column", required_argument, 0, 'i'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    hl_csv_options_init(&a->csv);
    a->csv.keep_unlabelled = 1;
    *stop = 1;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h': fputs(EXPLAIN_USAGE, stdout); return CLI_OK;
        case 'm': a->model = optarg; break;
        case 'd': a->data = optarg; break;
        case 'r': a->row = optarg; break;
        case 'l': a->csv.label_column = optarg; break;
        case 'i': a->csv.id_column = optarg; break;
        case 'j': a->json = 1; break;
        default:
            return cli_usage_error("explain", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("explain", "unexpected argument '%s'",
                               argv[optind]);
    if (!a->model || !a->data || !a->row)
        return cli_usage_error("explain",
                               "--model, --data and --row are required");
    *stop = 0;
    return CLI_OK;
}

/* The row whose sample_id is id, or whose 1-based number it is when the
 * data has no ids; -1 when there is none. */
static long find_row(const hl_dataset *ds, const char *id)
{
    if (ds->sample_ids) {
        for (size_t i = 0; i < ds->n_rows; i++)
            if (ds->sample_ids[i] && strcmp(ds->sample_ids[i], id) == 0)
                return (long)i;
        return -1;
    }
    char *end;
    long n = strtol(id, &end, 10);
    return *id && !*end && n >= 1 && (size_t)n <= ds->n_rows ? n - 1 : -1;
}

static void print_value_range(const hl_model *m, size_t j, double value,
                              double z)
{
    hl_normal_range r;
    if (isnan(value)) {
        printf("  (missing)");
        return;
    }
    printf("  value %-11.4g", value);
    if (hl_model_normal_range(m, j, &r, NULL) == HL_OK && r.rows)
        printf(" normal %.4g..%.4g  z %+.1f%s", r.low, r.high, z,
               fabs(z) > HL_NORMAL_Z ? "  ABNORMAL" : "");
}

static void print_text(const hl_model *m, const hl_sample_explanation *e,
                       const char *id)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    const size_t nf = e->n_features, K = e->n_classes;
    const char *label = s->class_names[e->predicted];
    const hl_class_info *ci =
        hl_class_names_find(hl_model_class_names(m), label);
    if (ci)
        printf("sample %s: predicted %s (%s) (confidence %.4f)\n", id,
               ci->name, label, e->proba[e->predicted]);
    else
        printf("sample %s: predicted %s (confidence %.4f)\n", id, label,
               e->proba[e->predicted]);
    if (ci && ci->description[0])
        printf("what it means: %s\n", ci->description);
    if (ci && ci->action[0])
        printf("first action: %s\n", ci->action);
    printf("probabilities:");
    for (size_t k = 0; k < K; k++)
        printf("%s %s %.4f", k ? "," : "", s->class_names[k], e->proba[k]);
    const double *c = e->contrib + (size_t)e->predicted * (nf + 1);
    printf("\nKPIs that drove it (contribution to %s's %s, expected %.4f):\n",
           s->class_names[e->predicted],
           e->scale == HL_SCORE_PROBABILITY ? "probability" : "log-odds score",
           c[nf]);
    int *shown = calloc(nf + 1, sizeof *shown);
    for (size_t n = 0; shown && n < CLI_EXPLAIN_DRIVERS && n < nf; n++) {
        size_t best = nf;
        for (size_t j = 0; j < nf; j++)
            if (!shown[j] && (best == nf || fabs(c[j]) > fabs(c[best])))
                best = j;
        if (best == nf || c[best] == 0.0)
            break;
        shown[best] = 1;
        printf("  %-20.20s %+9.4f", s->feature_names[best], c[best]);
        print_value_range(m, best, e->values[best], e->z[best]);
        putchar('\n');
    }
    free(shown);
    hl_abnormal_kpi ab[CLI_EXPLAIN_DRIVERS];
    size_t n_ab = hl_model_abnormal_kpis(m, e->values, ab, CLI_EXPLAIN_DRIVERS);
    const char *normal = hl_model_normal_class(m);
    if (!hl_model_has_normal_ranges(m))
        printf("abnormal KPIs: unknown (the model has no normal ranges; "
               "retrain it)\n");
    else if (!n_ab)
        printf("abnormal KPIs: none (every KPI within %g units of %s)\n",
               HL_NORMAL_Z, normal ? "the normal class" : "the training rows");
    else
        printf("abnormal KPIs (%zu, farthest first):\n", n_ab);
    for (size_t i = 0; i < n_ab && i < CLI_EXPLAIN_DRIVERS; i++) {
        printf("  %-20.20s", s->feature_names[ab[i].kpi]);
        print_value_range(m, ab[i].kpi, e->values[ab[i].kpi], ab[i].z);
        putchar('\n');
    }
}

int cmd_explain(int argc, char **argv)
{
    explain_args a = {0};
    int stop;
    int rc = parse_args(argc, argv, &a, &stop);
    if (stop)
        return rc;
    hl_error err;
    hl_error_clear(&err);
    hl_model *m = NULL;
    hl_dataset *ds = NULL;
    hl_sample_explanation e = {0};
    hl_status st = hl_model_load(a.model, &m, &err);
    if (st == HL_OK)
        st = hl_dataset_read_csv(a.data, &a.csv, &ds, &err);
    long row = st == HL_OK ? find_row(ds, a.row) : -1;
    if (st == HL_OK && row < 0) {
        rc = cli_usage_error("explain", "--row: no sample '%s' in %s%s",
                             a.row, a.data,
                             ds->sample_ids ? ""
                                            : " (it has no sample_id column: "
                                              "give a 1-based row number)");
    } else if (st == HL_OK &&
               (st = hl_model_explain_row(m, ds, (size_t)row, &e, &err)) ==
                   HL_OK) {
        if (a.json)
            rc = cli_emit_json(cli_json_with_class_names(
                hs_json_sample_explanation(m, &e, a.row), m));
        else
            print_text(m, &e, a.row);
    }
    if (st != HL_OK)
        rc = cli_engine_error("explain", &err);
    hl_sample_explanation_free(&e);
    hl_dataset_free(ds);
    hl_model_free(m);
    return rc;
}
