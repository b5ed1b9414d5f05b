/* cmd_suggest.c - `healer suggest --model M --data BATCH.csv --per-class N
 * --out rows.csv`: the rows of a batch a person should label first.
 *
 * A thin layer over healer/suggest.h. rows.csv keeps the batch's columns
 * (sample_id, every KPI) with an empty label column for the person to
 * fill in, so that the file goes straight back into `healer train
 * --feedback`; what the model thinks of each row - its class, confidence
 * and margin - is printed (or given as JSON), not written into the file,
 * where it could be mistaken for a confirmed label.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char SUGGEST_USAGE[] =
    "Usage: healer suggest --model FILE.model --data BATCH.csv --per-class N "
    "--out ROWS.csv [options]\n\n"
    "Picks up to N rows per predicted class whose labels would teach the\n"
    "model most: the ones it is least sure of (smallest margin between its\n"
    "two likeliest classes), and among those the least alike. ROWS.csv has\n"
    "the batch's columns and an empty label column: fill it in and pass it\n"
    "to 'healer train --feedback'.\n\n"
    "Options:\n"
    "  --model FILE        model written by 'healer train' (required)\n"
    "  --data FILE         the batch (required; a label column is ignored)\n"
    "  --per-class N       rows per predicted class, 1..%d (required)\n"
    "  --out FILE          where to write the rows (required)\n"
    "  --threads T         worker threads, 0 = all cores (0)\n"
    "  --label-column NAME label column header (label)\n"
    "  --id-column NAME    sample id column header (sample_id)\n"
    "  --json              print the suggestions as JSON\n"
    "  -h, --help          show this help\n";

typedef struct suggest_args {
    const char *model, *data, *out;
    long per_class, threads;
    int json;
    hl_csv_options csv;
} suggest_args;

static int parse_args(int argc, char **argv, suggest_args *a, int *stop)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'},
        {"data", required_argument, 0, 'd'},
        {"per-class", required_argument, 0, 'n'},
        {"out", required_argument, 0, 'o'},
        {"threads", required_argument, 0, 't'},
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
        case 'h':
            printf(SUGGEST_USAGE, HL_SUGGEST_MAX_PER_CLASS);
            return CLI_OK;
        case 'm':
            a->model = optarg;
            break;
        case 'd':
            a->data = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'j':
            a->json = 1;
            break;
        case 'l':
            a->csv.label_column = optarg;
            break;
        case 'i':
            a->csv.id_column = optarg;
            break;
        case 'n':
            if (cli_parse_long("suggest", "--per-class", optarg, 1,
                               HL_SUGGEST_MAX_PER_CLASS, &a->per_class))
                return CLI_USAGE;
            break;
        case 't':
            if (cli_parse_long("suggest", "--threads", optarg, 0, 256,
                               &a->threads))
                return CLI_USAGE;
            break;
        default:
            return cli_usage_error("suggest", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("suggest", "unexpected argument '%s'",
                               argv[optind]);
    if (!a->model || !a->data || !a->out || !a->per_class)
        return cli_usage_error("suggest", "--model, --data, --per-class and "
                                          "--out are required");
    *stop = 0;
    return CLI_OK;
}

static hl_status nomem(hl_error *err)
{
    err->code = HL_ERR_NOMEM;
    snprintf(err->message, sizeof err->message, "out of memory");
    return HL_ERR_NOMEM;
}

/* The picked rows of ds with their label cleared, as a dataset to write. */
static hl_status picked_rows(const hl_dataset *ds, const hl_suggestion *s,
                             size_t n, hl_dataset **out, hl_error *err)
{
    size_t *rows = malloc((n + 1) * sizeof *rows);
    if (!rows)
        return nomem(err);
    for (size_t i = 0; i < n; i++)
        rows[i] = s[i].row;
    hl_status rc = hl_dataset_subset(ds, rows, n, out, err);
    free(rows);
    if (rc != HL_OK)
        return rc;
    hl_dataset *d = *out;
    if (!d->y && !(d->y = malloc((n + 1) * sizeof *d->y)))
        return nomem(err);
    for (size_t i = 0; i < n; i++)
        d->y[i] = -1;
    d->has_labels = 1;
    return HL_OK;
}

static const char *row_id(const hl_dataset *ds, size_t row, char *buf,
                          size_t cap)
{
    if (ds->sample_ids && ds->sample_ids[row])
        return ds->sample_ids[row];
    snprintf(buf, cap, "%zu", row + 1);
    return buf;
}

static int report(const suggest_args *a, const hl_model *m,
                  const hl_dataset *ds, const hl_suggestion *s, size_t n)
{
    char buf[32];
    if (a->json) {
        json_t *items = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(
                items,
                json_pack("{s:I, s:s, s:s, s:o, s:o}", "row",
                          (json_int_t)s[i].row + 1, "sample_id",
                          row_id(ds, s[i].row, buf, sizeof buf), "predicted",
                          hl_model_class_name(m, (size_t)s[i].predicted),
                          "confidence", hs_json_num(s[i].confidence), "margin",
                          hs_json_num(s[i].margin)));
        return cli_emit_json(json_pack("{s:s, s:I, s:I, s:o}", "out", a->out,
                                       "rows", (json_int_t)ds->n_rows,
                                       "suggested", (json_int_t)n,
                                       "suggestions", items));
    }
    printf("%zu of %zu rows suggested for labelling, written to %s (label "
           "column empty)\n",
           n, ds->n_rows, a->out);
    printf("%-20s %-16s %10s %8s\n", "sample_id", "predicted", "confidence",
           "margin");
    for (size_t i = 0; i < n; i++)
        printf("%-20.20s %-16.16s %10.4f %8.4f\n",
               row_id(ds, s[i].row, buf, sizeof buf),
               hl_model_class_name(m, (size_t)s[i].predicted), s[i].confidence,
               s[i].margin);
    return CLI_OK;
}

int cmd_suggest(int argc, char **argv)
{
    suggest_args a = {0};
    int stop;
    int rc = parse_args(argc, argv, &a, &stop);
    if (stop)
        return rc;
    hl_error err;
    hl_error_clear(&err);
    hl_model *m = NULL;
    hl_dataset *ds = NULL, *picked = NULL;
    double *proba = NULL;
    hl_suggestion *s = NULL;
    size_t n = 0;
    hl_status st = hl_model_load(a.model, &m, &err);
    if (st == HL_OK)
        st = hl_dataset_read_csv(a.data, &a.csv, &ds, &err);
    if (st == HL_OK &&
        !(proba =
              malloc((ds->n_rows * hl_model_n_classes(m) + 1) * sizeof *proba)))
        st = nomem(&err);
    if (st == HL_OK)
        st = hl_model_predict_dataset(m, ds, (int)a.threads, proba, NULL, &err);
    if (st == HL_OK)
        st = hl_suggest_rows(m, ds, proba, (size_t)a.per_class, &s, &n, &err);
    if (st == HL_OK && (st = picked_rows(ds, s, n, &picked, &err)) == HL_OK)
        st = hl_dataset_write_csv(picked, a.out, &err);
    rc = st == HL_OK ? report(&a, m, ds, s, n)
                     : cli_engine_error("suggest", &err);
    free(s);
    free(proba);
    hl_dataset_free(picked);
    hl_dataset_free(ds);
    hl_model_free(m);
    return rc;
}
