/* cmd_train.c - `healer train`: CSV in, model file out, summary printed.
 *
 * Flag names are a published interface (scripts and the benchmarks call
 * them); add flags, never rename one.
 */
#include <getopt.h>
#include <math.h>
#include <string.h>

#include "cli.h"

static const char TRAIN_USAGE[] =
    "Usage: healer train --data FILE.csv --model OUT.model [options]\n\n"
    "Trains a fault classifier on a labelled CSV file (header row; optional\n"
    "sample_id column; a label column; every other column a numeric KPI).\n\n"
    "Options:\n"
    "  --data FILE             labelled training data (required)\n"
    "  --model FILE            where to write the model (required)\n"
    "  --algo NAME             learner: gbdt (default)\n"
    "  --rounds N              boosting rounds, the maximum when early stopping (1000)\n"
    "  --lr X                  learning rate (0.05)\n"
    "  --max-depth D           maximum tree depth, 0 = unlimited (6)\n"
    "  --max-leaves N          maximum leaves per tree, 0 = unlimited (0)\n"
    "  --min-child-weight X    minimum hessian sum in a leaf (1)\n"
    "  --lambda X              L2 regularisation of leaf values (1)\n"
    "  --subsample X           row fraction per round, (0, 1] (0.8)\n"
    "  --colsample X           feature fraction per tree, (0, 1] (0.5)\n"
    "  --max-bins N            histogram bins per feature, 2..255 (255)\n"
    "  --early-stopping-rounds N  stop after N rounds without improvement on a\n"
    "                          stratified hold-out; 0 = off, all rounds (50)\n"
    "  --validation-fraction X hold-out fraction for early stopping (0.1)\n"
    "  --class-weight MODE     balanced (default) or none\n"
    "  --keep-duplicates       train on every copy of duplicate rows\n"
    "  --no-refit              keep the early-stopping model instead of refitting\n"
    "                          on all rows for the rounds it chose\n"
    "  --cv K                  also run stratified K-fold cross-validation\n"
    "  --threads T             worker threads, 0 = all cores (0)\n"
    "  --seed S                random seed (42)\n"
    "  --label-column NAME     label column header (label)\n"
    "  --id-column NAME        sample id column header (sample_id)\n"
    "  --json                  print the summary as JSON on stdout\n"
    "  -h, --help              show this help\n";

enum {
    OPT_DATA = 256, OPT_MODEL, OPT_ALGO, OPT_ROUNDS, OPT_LR, OPT_DEPTH,
    OPT_LEAVES, OPT_MCW, OPT_LAMBDA, OPT_SUBSAMPLE, OPT_COLSAMPLE, OPT_BINS,
    OPT_ES, OPT_VALFRAC, OPT_CLASSW, OPT_KEEPDUP, OPT_CV, OPT_THREADS,
    OPT_SEED, OPT_LABEL, OPT_ID, OPT_JSON, OPT_NOREFIT
};

static const struct option TRAIN_OPTS[] = {
    {"data", required_argument, 0, OPT_DATA},
    {"model", required_argument, 0, OPT_MODEL},
    {"algo", required_argument, 0, OPT_ALGO},
    {"rounds", required_argument, 0, OPT_ROUNDS},
    {"lr", required_argument, 0, OPT_LR},
    {"max-depth", required_argument, 0, OPT_DEPTH},
    {"max-leaves", required_argument, 0, OPT_LEAVES},
    {"min-child-weight", required_argument, 0, OPT_MCW},
    {"lambda", required_argument, 0, OPT_LAMBDA},
    {"subsample", required_argument, 0, OPT_SUBSAMPLE},
    {"colsample", required_argument, 0, OPT_COLSAMPLE},
    {"max-bins", required_argument, 0, OPT_BINS},
    {"early-stopping-rounds", required_argument, 0, OPT_ES},
    {"validation-fraction", required_argument, 0, OPT_VALFRAC},
    {"class-weight", required_argument, 0, OPT_CLASSW},
    {"keep-duplicates", no_argument, 0, OPT_KEEPDUP},
    {"no-refit", no_argument, 0, OPT_NOREFIT},
    {"cv", required_argument, 0, OPT_CV},
    {"threads", required_argument, 0, OPT_THREADS},
    {"seed", required_argument, 0, OPT_SEED},
    {"label-column", required_argument, 0, OPT_LABEL},
    {"id-column", required_argument, 0, OPT_ID},
    {"json", no_argument, 0, OPT_JSON},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

typedef struct train_args {
    const char *data, *model;
    hl_train_params params;
    hl_csv_options csv;
    int json;
} train_args;

/* Applies one parsed flag; returns -1 after printing a usage error. */
static int apply_flag(train_args *a, int opt, const char *v)
{
    const char *c = "train";
    long n;
    hl_train_params *p = &a->params;
    switch (opt) {
    case OPT_DATA: a->data = v; return 0;
    case OPT_MODEL: a->model = v; return 0;
    case OPT_ALGO:
        if (strlen(v) >= sizeof p->algo || strcmp(v, "gbdt") != 0) {
            cli_usage_error(c, "--algo: unknown algorithm '%s' (available: gbdt)", v);
            return -1;
        }
        strcpy(p->algo, v);
        return 0;
    case OPT_ROUNDS:
        if (cli_parse_long(c, "--rounds", v, 1, 100000, &n)) return -1;
        p->rounds = (int)n;
        return 0;
    case OPT_LR: return cli_parse_double(c, "--lr", v, 1e-6, 10, &p->learning_rate);
    case OPT_DEPTH:
        if (cli_parse_long(c, "--max-depth", v, 0, 64, &n)) return -1;
        p->max_depth = (int)n;
        return 0;
    case OPT_LEAVES:
        if (cli_parse_long(c, "--max-leaves", v, 0, 65536, &n)) return -1;
        p->max_leaves = (int)n;
        return 0;
    case OPT_MCW: return cli_parse_double(c, "--min-child-weight", v, 0, 1e12, &p->min_child_weight);
    case OPT_LAMBDA: return cli_parse_double(c, "--lambda", v, 0, 1e12, &p->lambda_l2);
    case OPT_SUBSAMPLE: return cli_parse_double(c, "--subsample", v, 1e-6, 1, &p->subsample);
    case OPT_COLSAMPLE: return cli_parse_double(c, "--colsample", v, 1e-6, 1, &p->colsample);
    case OPT_BINS:
        if (cli_parse_long(c, "--max-bins", v, 2, 255, &n)) return -1;
        p->max_bins = (int)n;
        return 0;
    case OPT_ES:
        if (cli_parse_long(c, "--early-stopping-rounds", v, 0, 100000, &n)) return -1;
        p->early_stopping_rounds = (int)n;
        return 0;
    case OPT_VALFRAC: return cli_parse_double(c, "--validation-fraction", v, 1e-6, 0.5, &p->validation_fraction);
    case OPT_CLASSW:
        if (!strcmp(v, "balanced")) p->class_weight = HL_CLASS_WEIGHT_BALANCED;
        else if (!strcmp(v, "none")) p->class_weight = HL_CLASS_WEIGHT_NONE;
        else {
            cli_usage_error(c, "--class-weight expects balanced or none, got '%s'", v);
            return -1;
        }
        return 0;
    case OPT_KEEPDUP: p->collapse_duplicates = 0; return 0;
    case OPT_NOREFIT: p->refit = 0; return 0;
    case OPT_CV:
        if (cli_parse_long(c, "--cv", v, 2, 100, &n)) return -1;
        p->cv_folds = (unsigned)n;
        return 0;
    case OPT_THREADS:
        if (cli_parse_long(c, "--threads", v, 0, 256, &n)) return -1;
        p->threads = (int)n;
        return 0;
    case OPT_SEED: return cli_parse_u64(c, "--seed", v, &p->seed);
    case OPT_LABEL: a->csv.label_column = v; return 0;
    case OPT_ID: a->csv.id_column = v; return 0;
    case OPT_JSON: a->json = 1; return 0;
    }
    return -1;
}

/* Returns CLI_OK to go on, or the exit code to stop with (help = 0). */
static int parse_train_args(int argc, char **argv, train_args *a, int *stop)
{
    hl_train_params_init(&a->params);
    hl_csv_options_init(&a->csv);
    a->csv.require_label = 1;
    *stop = 0;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", TRAIN_OPTS, NULL)) != -1) {
        if (opt == 'h') {
            fputs(TRAIN_USAGE, stdout);
            *stop = 1;
            return CLI_OK;
        }
        if (opt == '?' || opt == ':') {
            *stop = 1;
            return cli_usage_error("train", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
        if (apply_flag(a, opt, optarg) != 0) {
            *stop = 1;
            return CLI_USAGE;
        }
    }
    *stop = 1;
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!a->data || !a->model)
        return cli_usage_error("train", "--data and --model are required");
    *stop = 0;
    return CLI_OK;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    memset(&a, 0, sizeof a);
    int stop;
    int rc = parse_train_args(argc, argv, &a, &stop);
    if (stop)
        return rc;
    hl_error err;
    hl_error_clear(&err);
    hl_train_control ctl = {cli_train_progress, NULL, NULL};
    hl_dataset *ds = NULL;
    hl_model *m = NULL;
    if (hl_train_params_validate(&a.params, &err) != HL_OK)
        return cli_usage_error("train", "%s", err.message);
    double t_parse = hl_clock_monotonic();
    if (hl_dataset_read_csv(a.data, &a.csv, &ds, &err) != HL_OK)
        return cli_engine_error("train", &err);
    double parse_seconds = hl_clock_monotonic() - t_parse;
    hl_status st = hl_train(ds, &a.params, &ctl, &m, &err);
    cli_progress_done();
    hl_dataset_free(ds);
    if (st != HL_OK)
        return cli_engine_error("train", &err);
    if (hl_model_save(m, a.model, &err) != HL_OK) {
        hl_model_free(m);
        return cli_engine_error("train", &err);
    }
    const hl_model_summary *s = hl_model_summary_get(m);
    if (a.json) {
        json_t *j = json_pack("{s:s, s:f, s:f, s:I, s:o}", "model", a.model,
                              "parse_seconds", parse_seconds,
                              "train_seconds", s->train_seconds, "rounds_done",
                              (json_int_t)s->rounds_done, "summary",
                              hs_json_summary(s));
        rc = cli_emit_json(j);
    } else {
        cli_print_summary(stdout, s);
        printf("model written to %s\n", a.model);
        rc = CLI_OK;
    }
    hl_model_free(m);
    return rc;
}
