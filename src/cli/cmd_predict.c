/* cmd_predict.c - `healer predict` and `healer eval`.
 *
 * Both load a model and a CSV, match the CSV's columns to the model's
 * features by name and compute class probabilities; predict writes them
 * with hl_predictions_write_csv (atomically), eval only scores them. When the input has labels, both print the same metrics.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char PREDICT_USAGE[] =
    "Usage: healer predict --model FILE.model --data FILE.csv --out OUT.csv "
    "[options]\n\n"
    "Diagnoses every row of FILE.csv. Columns are matched to the model's\n"
    "features by name (order may differ; extra columns are ignored with a\n"
    "warning; a missing feature is an error). Writes OUT.csv with the header\n"
    "sample_id,label,confidence,prob_<class>... where label is the predicted\n"
    "class. If FILE.csv has a label column, the metrics are printed too.\n"
    "For 50 rows or more, the drift of the data from the training data is\n"
    "reported on stderr (the verdict and the worst KPIs; see healer drift).\n"
    "Rows the model was trained on are reported on stderr too (their scores\n"
    "flatter the model).\n\n"
    "Options:\n"
    "  --adapt             re-estimate the batch's class mix (EM, at least 50\n"
    "                      rows, calibrated models only) and correct the\n"
    "                      probabilities for it\n"
    "  --explain N         append kpi_1..kpi_N, contrib_1..contrib_N (the N\n"
    "                      KPIs that pushed most towards the predicted class)\n"
    "                      and abnormal (KPI:+z;... outside the normal\n"
    "                      ranges, farthest first); N in 1..100\n"
    "  --model FILE        model written by 'healer train' (required)\n"
    "  --data FILE         samples to diagnose (required)\n"
    "  --out FILE          where to write the predictions (required)\n"
    "  --threads T         worker threads, 0 = all cores (0)\n"
    "  --label-column NAME label column header (label)\n"
    "  --id-column NAME    sample id column header (sample_id)\n"
    "  --json              print a JSON report on stdout\n"
    "  -h, --help          show this help\n";

static const char EVAL_USAGE[] =
    "Usage: healer eval --model FILE.model --data LABELLED.csv [options]\n\n"
    "Scores a model on labelled data: accuracy, per-class precision, recall,\n"
    "F1 and support, macro-F1, weighted F1, log loss and the confusion matrix.\n"
    "Rows without a label are ignored; labels the model does not know are\n"
    "reported and left out of the metrics. Rows the model was trained on\n"
    "are reported on stderr (their scores flatter the model).\n\n"
    "Options:\n"
    "  --adapt             score with the probabilities corrected for the\n"
    "                      batch's class mix (as healer predict --adapt)\n"
    "  --model FILE        model written by 'healer train' (required)\n"
    "  --data FILE         labelled samples (required)\n"
    "  --threads T         worker threads, 0 = all cores (0)\n"
    "  --label-column NAME label column header (label)\n"
    "  --id-column NAME    sample id column header (sample_id)\n"
    "  --json              print the metrics as JSON on stdout\n"
    "  -h, --help          show this help\n";

enum {
    OPT_MODEL = 256,
    OPT_DATA,
    OPT_OUT,
    OPT_THREADS,
    OPT_LABEL,
    OPT_ID,
    OPT_JSON,
    OPT_ADAPT,
    OPT_EXPLAIN
};

static const struct option PREDICT_OPTS[] = {
    {"model", required_argument, 0, OPT_MODEL},
    {"data", required_argument, 0, OPT_DATA},
    {"out", required_argument, 0, OPT_OUT},
    {"threads", required_argument, 0, OPT_THREADS},
    {"label-column", required_argument, 0, OPT_LABEL},
    {"id-column", required_argument, 0, OPT_ID},
    {"json", no_argument, 0, OPT_JSON},
    {"adapt", no_argument, 0, OPT_ADAPT},
    {"explain", required_argument, 0, OPT_EXPLAIN},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef struct predict_args {
    const char *cmd;
    const char *model, *data, *out;
    long threads;
    hl_csv_options csv;
    int json;
    int adapt;       /* --adapt: correct for the batch's class mix */
    long explain;    /* --explain N: KPIs per row, 0 = none */
    int check_drift; /* predict: batches of HL_DRIFT_MIN_ROWS and more */
} predict_args;

/* The outcome of running a model over a CSV file. */
typedef struct diagnosis {
    hl_model *model;
    hl_dataset *ds;
    double *proba;       /* n_rows * n_classes */
    int32_t *pred;       /* n_rows */
    int32_t *y;          /* n_rows model class or -1; NULL without labels */
    size_t unknown_labels;
    int has_metrics;
    hl_metrics metrics;
    hl_warnings warnings;
    double parse_seconds;   /* reading the CSV */
    double predict_seconds; /* prediction alone */
    int has_drift;
    hl_drift_report drift;
    int has_adapt;
    hl_adapt_report adapt;
    int has_overlap; /* the model keeps a fingerprint of its training rows */
    hl_training_overlap overlap;
} diagnosis;


static void diagnosis_free(diagnosis *d)
{
    hl_model_free(d->model);
    hl_dataset_free(d->ds);
    free(d->proba);
    free(d->pred);
    free(d->y);
    hl_metrics_free(&d->metrics);
    hl_warnings_free(&d->warnings);
    hl_drift_report_free(&d->drift);
}

static hl_status score(diagnosis *d, hl_error *err)
{
    const size_t n = d->ds->n_rows, K = hl_model_n_classes(d->model);
    if (!(d->y = malloc((n + 1) * sizeof *d->y)))
        return HL_ERR_NOMEM;
    hl_status rc = hl_model_map_labels(d->model, d->ds, d->y,
                                       &d->unknown_labels, err);
    if (rc != HL_OK)
        return rc;
    rc = hl_metrics_compute(d->y, d->pred, d->proba, n, K, &d->metrics, err);
    /* Metrics of zero rows would read as a score of 0: report none. */
    d->has_metrics = rc == HL_OK && d->metrics.n_samples > 0;
    return rc;
}

static hl_status run_diagnosis(const predict_args *a, diagnosis *d,
                               hl_error *err)
{
    hl_status rc = hl_model_load(a->model, &d->model, err);
    if (rc != HL_OK)
        return rc;
    double t_parse = hl_clock_monotonic();
    if ((rc = hl_dataset_read_csv(a->data, &a->csv, &d->ds, err)) != HL_OK)
        return rc;
    d->parse_seconds = hl_clock_monotonic() - t_parse;
    const size_t n = d->ds->n_rows, K = hl_model_n_classes(d->model);
    d->proba = malloc((n * K + 1) * sizeof *d->proba);
    d->pred = malloc((n + 1) * sizeof *d->pred);
    if (!d->proba || !d->pred)
        return HL_ERR_NOMEM;
    double t0 = hl_clock_monotonic();
    rc = hl_model_predict_dataset(d->model, d->ds, (int)a->threads, d->proba,
                                  &d->warnings, err);
    d->predict_seconds = hl_clock_monotonic() - t0;
    if (rc != HL_OK)
        return rc;
    if (a->adapt) {
        if ((rc = hl_adapt_batch(d->model, d->proba, n, &d->adapt, err)) !=
            HL_OK)
            return rc;
        d->has_adapt = 1;
    }
    for (size_t i = 0; i < n; i++)
        d->pred[i] = hl_predict_argmax(d->proba + i * K, K);
    return d->ds->has_labels ? score(d, err) : HL_OK;
}

/* The drift of a batch large enough to say something, on stderr so that
 * stdout and --out keep their formats. A failed check costs only the
 * check: the predictions stand. */
static void check_drift(const predict_args *a, diagnosis *d)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "healer %s: ", a->cmd);
    if (!a->check_drift || d->ds->n_rows < HL_DRIFT_MIN_ROWS)
        return;
    hl_error err;
    hl_error_clear(&err);
    if (hl_drift_check_dataset(d->model, d->ds, (int)a->threads, &d->drift,
                               NULL, &err) != HL_OK) {
        fprintf(stderr, "%sdrift not checked: %s\n", prefix, err.message);
        return;
    }
    d->has_drift = 1;
    cli_print_drift_brief(stderr, prefix, &d->drift, 5);
}

/* Whether the rows are ones the model was trained on: said on stderr
 * when some are, kept for --json. Models without a fingerprint say
 * nothing. */
static void check_overlap(const predict_args *a, diagnosis *d)
{
    hl_error err;
    hl_error_clear(&err);
    if (!hl_model_has_fingerprint(d->model) ||
        hl_model_training_overlap_dataset(d->model, d->ds, &d->overlap,
                                          &err) != HL_OK)
        return;
    d->has_overlap = 1;
    const char *verdict = hl_training_overlap_verdict(&d->overlap);
    if (!strcmp(verdict, "none"))
        return;
    fprintf(stderr,
            "healer %s: %s: %llu of %llu sampled rows are rows the model was "
            "trained on; scores on them flatter the model\n",
            a->cmd,
            !strcmp(verdict, "training_data") ? "this is the training data"
                                              : "some rows are training rows",
            (unsigned long long)d->overlap.rows_in_training,
            (unsigned long long)d->overlap.rows_checked);
}

static json_t *overlap_json(const diagnosis *d)
{
    return d->has_overlap ? hs_json_training_overlap(&d->overlap) : json_null();
}

static json_t *class_counts_json(const diagnosis *d)
{
    const size_t K = hl_model_n_classes(d->model);
    json_t *o = json_object();
    size_t *count = calloc(K, sizeof *count);
    for (size_t i = 0; count && i < d->ds->n_rows; i++)
        count[d->pred[i]]++;
    for (size_t k = 0; count && k < K; k++)
        json_object_set_new(o, hl_model_class_name(d->model, k),
                            json_integer((json_int_t)count[k]));
    free(count);
    return o;
}

static int parse_predict_args(int argc, char **argv, predict_args *a,
                              const char *usage, int need_out, int *stop)
{
    hl_csv_options_init(&a->csv);
    a->csv.keep_unlabelled = 1;
    *stop = 1;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", PREDICT_OPTS, NULL)) != -1) {
        switch (opt) {
        case 'h': fputs(usage, stdout); return CLI_OK;
        case OPT_MODEL: a->model = optarg; break;
        case OPT_DATA: a->data = optarg; break;
        case OPT_OUT:
            if (!need_out)
                return cli_usage_error(a->cmd, "unknown option '--out'");
            a->out = optarg;
            break;
        case OPT_THREADS:
            if (cli_parse_long(a->cmd, "--threads", optarg, 0, 256, &a->threads))
                return CLI_USAGE;
            break;
        case OPT_LABEL: a->csv.label_column = optarg; break;
        case OPT_ID: a->csv.id_column = optarg; break;
        case OPT_JSON: a->json = 1; break;
        case OPT_ADAPT: a->adapt = 1; break;
        case OPT_EXPLAIN:
            if (!need_out)
                return cli_usage_error(a->cmd, "unknown option '--explain'");
            if (cli_parse_long(a->cmd, "--explain", optarg, 1,
                               HL_EXPLAIN_MAX_TOP, &a->explain))
                return CLI_USAGE;
            break;
        default:
            return cli_usage_error(a->cmd, "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error(a->cmd, "unexpected argument '%s'", argv[optind]);
    if (!a->model || !a->data || (need_out && !a->out))
        return cli_usage_error(a->cmd, need_out
                                           ? "--model, --data and --out are required"
                                           : "--model and --data are required");
    *stop = 0;
    return CLI_OK;
}

/* What --adapt did, on stderr beside the drift report. */
static void print_adapt(const predict_args *a, const diagnosis *d)
{
    if (!d->has_adapt)
        return;
    const hl_adapt_report *r = &d->adapt;
    if (!r->applied) {
        fprintf(stderr, "healer %s: adapt: not applied: %s\n", a->cmd,
                r->reason);
        return;
    }
    const hl_model_summary *s = hl_model_summary_get(d->model);
    fprintf(stderr, "healer %s: adapt: class mix of the batch (EM, %u "
                    "iterations%s):",
            a->cmd, r->iterations, r->converged ? "" : ", not converged");
    for (size_t k = 0; k < r->n_classes; k++)
        fprintf(stderr, " %s %.1f %%", s->class_names[k],
                100.0 * r->batch_mix[k]);
    fprintf(stderr, "; %zu predictions changed\n", r->changed);
}

/* The same view as the web API's diagnoses (engine_json.c). */
static json_t *adapt_json(const diagnosis *d)
{
    return d->has_adapt ? hs_json_adapt(d->model, &d->adapt)
                        : json_null();
}

static void print_label_report(const predict_args *a, const diagnosis *d)
{
    if (d->unknown_labels)
        fprintf(stderr,
                "healer %s: warning: %zu rows have a label the model does not "
                "know; they are left out of the metrics\n",
                a->cmd, d->unknown_labels);
}

static json_t *metrics_or_null(const diagnosis *d)
{
    return d->has_metrics
               ? hs_json_metrics(&d->metrics,
                                  hl_model_summary_get(d->model)->class_names)
               : json_null();
}

/* predict: write the predictions, then report what was diagnosed. */
static int report_predict(const predict_args *a, const diagnosis *d)
{
    hl_error err;
    hl_error_clear(&err);
    hl_status rc =
        a->explain ? hl_predictions_write_explained_csv(
                         d->model, d->ds, d->proba, (size_t)a->explain,
                         (int)a->threads, a->out, &err)
                   : hl_predictions_write_csv(d->model, d->ds, d->proba, a->out,
                                              &err);
    if (rc != HL_OK)
        return cli_engine_error(a->cmd, &err);
    if (a->json)
        return cli_emit_json(json_pack(
            "{s:s, s:I, s:f, s:f, s:o, s:o, s:I, s:o, s:o, s:o, s:o}", "out",
            a->out,
            "rows",
            (json_int_t)d->ds->n_rows, "parse_seconds", d->parse_seconds,
            "predict_seconds", d->predict_seconds,
            "class_counts", class_counts_json(d), "warnings",
            hs_json_warnings(&d->warnings), "unknown_labels",
            (json_int_t)d->unknown_labels, "metrics", metrics_or_null(d),
            "drift", d->has_drift ? hs_json_drift(&d->drift, 0) : json_null(),
            "adapt", adapt_json(d), "training_overlap", overlap_json(d)));
    printf("diagnosed %zu rows in %.3f ms; predictions written to %s\n",
           d->ds->n_rows, d->predict_seconds * 1e3, a->out);
    if (d->has_metrics)
        cli_print_metrics(stdout, &d->metrics,
                          hl_model_summary_get(d->model)->class_names, "  ");
    return CLI_OK;
}

/* eval: the metrics are the whole point; no labels is an error. */
static int report_eval(const predict_args *a, const diagnosis *d)
{
    if (!d->has_metrics) {
        fprintf(stderr, "healer eval: error: %s: %s\n", a->data,
                d->ds->has_labels ? "no row has a label the model knows"
                                  : "no label column");
        return CLI_RUNTIME;
    }
    if (a->json)
        return cli_emit_json(json_pack(
            "{s:I, s:I, s:f, s:o, s:o, s:o, s:o}", "rows",
            (json_int_t)d->ds->n_rows, "unknown_labels",
            (json_int_t)d->unknown_labels, "predict_seconds",
            d->predict_seconds, "warnings", hs_json_warnings(&d->warnings),
            "metrics", metrics_or_null(d), "adapt", adapt_json(d),
            "training_overlap", overlap_json(d)));
    cli_print_metrics(stdout, &d->metrics,
                      hl_model_summary_get(d->model)->class_names, "");
    return CLI_OK;
}

/* The flow both commands share: parse, diagnose, warn, report. */
static int run_command(int argc, char **argv, const char *cmd,
                       const char *usage, int need_out, int drift,
                       int (*report)(const predict_args *, const diagnosis *))
{
    predict_args a = {.cmd = cmd, .check_drift = drift};
    int stop;
    int rc = parse_predict_args(argc, argv, &a, usage, need_out, &stop);
    if (stop)
        return rc;
    diagnosis d;
    memset(&d, 0, sizeof d);
    hl_error err;
    hl_error_clear(&err);
    if (run_diagnosis(&a, &d, &err) != HL_OK) {
        rc = cli_engine_error(a.cmd, &err);
    } else {
        cli_print_warnings(a.cmd, &d.warnings);
        print_label_report(&a, &d);
        check_drift(&a, &d);
        check_overlap(&a, &d);
        print_adapt(&a, &d);
        rc = report(&a, &d);
    }
    diagnosis_free(&d);
    return rc;
}

int cmd_predict(int argc, char **argv)
{
    return run_command(argc, argv, "predict", PREDICT_USAGE, 1, 1,
                       report_predict);
}

int cmd_eval(int argc, char **argv)
{
    return run_command(argc, argv, "eval", EVAL_USAGE, 0, 0, report_eval);
}
