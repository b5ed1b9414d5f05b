/* cmd_train.c - `healer train`: CSV in, model file out, summary printed.
 *
 * The training flags, their parsing and their --help lines are generated
 * from the engine's parameter tables (healer/params.h): the shared options
 * and every learner's own, so a parameter added to a table is a flag here
 * with no change, and a flag accepts exactly the range the web API does.
 * Flag names are a published interface (scripts and the benchmarks call
 * them); tables add flags, never rename one. A flag that belongs only to
 * another learner than the one --algo selects is a usage error.
 *
 * Training goes through the engine's self-repair (healer/repair.h), as
 * the service's train jobs do: a failed or degenerate training is retried
 * with the learner's fallback, then with safer parameters, each retry
 * said on stderr, every attempt listed in the summary. --no-retry keeps
 * one attempt, still health-checked. No model file is written unless an
 * attempt made a healthy model.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char TRAIN_USAGE_HEAD[] =
    "Usage: healer train --data FILE.csv --model OUT.model [options]\n\n"
    "Trains a fault classifier on a labelled CSV file (header row; optional\n"
    "sample_id column; a label column; every other column a numeric KPI).\n\n"
    "Options:\n"
    "  --data FILE             labelled training data (required)\n"
    "  --model FILE            where to write the model (required)\n";

static const char TRAIN_USAGE_TAIL[] =
    "  --feedback FILE         rows labelled in deployment, trained on too\n"
    "                          (same KPI columns; a new label becomes a class)\n"
    "  --feedback-weight W     how much each of them counts; (0, 1000] (10)\n"
    "  --normal LABEL          the normal class: the normal ranges of the KPIs\n"
    "                          come from its rows (normal; no such class: all\n"
    "                          rows)\n"
    "  --class-names FILE.csv  per class a display name, a one-line\n"
    "                          description and the first action to take\n"
    "                          (header label,name,description,action; every\n"
    "                          label a class of the data; description and\n"
    "                          action may be empty)\n"
    "  --label-column NAME     label column header (label)\n"
    "  --id-column NAME        sample id column header (sample_id)\n"
    "  --no-retry              one attempt only: no other learner, no safer\n"
    "                          parameters (a degenerate model is still "
    "refused)\n"
    "  --json                  print the summary as JSON on stdout\n"
    "  -h, --help              show this help\n"
    "\n"
    "A training that fails (out of memory, I/O, a learner whose loss went "
    "NaN)\n"
    "or makes a degenerate model (NaN outputs, one class for everything, a\n"
    "macro-F1 under half the class-prior baseline) is retried, at most 3\n"
    "attempts: the learner asked for, the learner it names as its fallback\n"
    "with that learner's defaults, the first learner with safer parameters.\n"
    "Errors in the data or the parameters are not retried.\n"
    "\n"
    "Environment: HEALER_FAULT_INJECT (a testing aid) makes attempts fail:\n"
    "items attemptN=FAULT or attempts=FAULT, separated by commas, FAULT one\n"
    "of fail, degenerate, diverge (e.g. attempt1=fail).\n";

enum {
    OPT_DATA = 256,
    OPT_MODEL,
    OPT_ALGO,
    OPT_LABEL,
    OPT_ID,
    OPT_JSON,
    OPT_FEEDBACK,
    OPT_FEEDBACK_WEIGHT,
    OPT_NO_RETRY,
    OPT_NORMAL,
    OPT_CLASS_NAMES
};

static const struct option FIXED_OPTS[] = {
    {"data", required_argument, 0, OPT_DATA},
    {"model", required_argument, 0, OPT_MODEL},
    {"algo", required_argument, 0, OPT_ALGO},
    {"label-column", required_argument, 0, OPT_LABEL},
    {"id-column", required_argument, 0, OPT_ID},
    {"json", no_argument, 0, OPT_JSON},
    {"feedback", required_argument, 0, OPT_FEEDBACK},
    {"feedback-weight", required_argument, 0, OPT_FEEDBACK_WEIGHT},
    {"no-retry", no_argument, 0, OPT_NO_RETRY},
    {"normal", required_argument, 0, OPT_NORMAL},
    {"class-names", required_argument, 0, OPT_CLASS_NAMES},
    {"help", no_argument, 0, 'h'},
};

#define N_FIXED (sizeof FIXED_OPTS / sizeof FIXED_OPTS[0])
/* getopt values of table flags: OPT_PARAM + the flag's index. */
#define OPT_PARAM 1024

/* Every parameter spec a flag can reach: the shared options first, then
 * each learner's, in registry order. */
typedef struct flag_table {
    struct option *opts; /* fixed options, one per distinct flag, {0} */
    const hl_param_spec **by_flag; /* first spec of each distinct flag */
    size_t n_flags;
} flag_table;

static void flag_table_free(flag_table *t)
{
    free(t->opts);
    free(t->by_flag);
}

static void add_spec_flag(flag_table *t, const hl_param_spec *s, size_t n_fixed)
{
    for (size_t i = 0; i < t->n_flags; i++)
        if (strcmp(t->by_flag[i]->flag, s->flag) == 0)
            return; /* two learners share the flag: one getopt entry */
    t->by_flag[t->n_flags] = s;
    t->opts[n_fixed + t->n_flags] = (struct option){
        s->flag, s->type == HL_PARAM_BOOL ? no_argument : required_argument, 0,
        OPT_PARAM + (int)t->n_flags};
    t->n_flags++;
}

static int flag_table_build(flag_table *t)
{
    size_t n_shared, total;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    total = n_shared;
    for (size_t l = 0; l < hl_learner_count(); l++)
        total += hl_learner_at(l)->n_params;
    t->n_flags = 0;
    t->opts = calloc(N_FIXED + total + 1, sizeof *t->opts);
    t->by_flag = calloc(total + 1, sizeof *t->by_flag);
    if (!t->opts || !t->by_flag) {
        flag_table_free(t);
        return -1;
    }
    memcpy(t->opts, FIXED_OPTS, sizeof FIXED_OPTS);
    for (size_t k = 0; k < n_shared; k++)
        add_spec_flag(t, &shared[k], N_FIXED);
    for (size_t l = 0; l < hl_learner_count(); l++) {
        const hl_learner_info *li = hl_learner_at(l);
        for (size_t k = 0; k < li->n_params; k++)
            add_spec_flag(t, &li->params[k], N_FIXED);
    }
    return 0;
}

/* ---- --help, from the tables ---- */

#define HELP_INDENT 26 /* where the fixed options' texts start */
#define HELP_WIDTH 79

/* Prints text from column `col`, wrapped at HELP_WIDTH under `indent`. */
static void print_wrapped(int col, int indent, const char *text)
{
    while (*text) {
        size_t word = strcspn(text, " ");
        if (col > indent && col + 1 + (int)word > HELP_WIDTH) {
            printf("\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', stdout);
            col++;
        }
        col += printf("%.*s", (int)word, text);
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', stdout);
}

/* "  --flag META" padded to HELP_INDENT (or on a line of its own when
 * it leaves less than two spaces before the text, which would read as a
 * META). */
static void print_option(const char *flag, const char *meta, const char *text)
{
    int col = printf("  --%s%s%s", flag, meta[0] ? " " : "", meta);
    if (col > HELP_INDENT - 2) {
        fputc('\n', stdout);
        col = 0;
    }
    printf("%*s", HELP_INDENT - col, "");
    print_wrapped(HELP_INDENT, HELP_INDENT, text);
}

static const char *metavar(const hl_param_spec *s)
{
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_SEED:
        return "N";
    case HL_PARAM_REAL:
        return "X";
    case HL_PARAM_CHOICE:
        return "MODE";
    case HL_PARAM_BOOL:
        return "";
    }
    return "";
}

static void print_spec(const hl_param_spec *s)
{
    char range[160], def[64], text[640];
    const char *rounds =
        s->flags & HL_PARAM_ITERATIVE ? " [learners trained in rounds]" : "";
    hl_param_range(s, range, sizeof range);
    hl_param_format(s, s->def, def, sizeof def);
    if (s->type == HL_PARAM_BOOL)
        snprintf(text, sizeof text, "sets %s to %s: %s%s", s->name,
                 s->def.i ? "false" : "true", s->help, rounds);
    else
        snprintf(text, sizeof text, "%s; %s (default %s)%s", s->help, range,
                 def, rounds);
    print_option(s->flag, metavar(s), text);
}

static void print_usage(void)
{
    char algos[256] = "";
    size_t used = 0;
    for (size_t l = 0; l < hl_learner_count() && used < sizeof algos; l++) {
        int n =
            snprintf(algos + used, sizeof algos - used, "%s%s%s", l ? ", " : "",
                     hl_learner_at(l)->name, l ? "" : " (default)");
        used += n > 0 ? (size_t)n : 0;
    }
    char text[300];
    snprintf(text, sizeof text, "learner: %s", algos);
    fputs(TRAIN_USAGE_HEAD, stdout);
    print_option("algo", "NAME", text);
    fputs(TRAIN_USAGE_TAIL, stdout);
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    fputs("\nTraining options (every learner):\n", stdout);
    for (size_t k = 0; k < n_shared; k++)
        print_spec(&shared[k]);
    for (size_t l = 0; l < hl_learner_count(); l++) {
        const hl_learner_info *li = hl_learner_at(l);
        char head[96];
        snprintf(head, sizeof head, "\nLearner %s (--algo %s):", li->name,
                 li->name);
        print_wrapped(printf("%s", head) - 1, 2, li->summary);
        for (size_t k = 0; k < li->n_params; k++)
            print_spec(&li->params[k]);
    }
}

/* ---- parsing ---- */

typedef struct pending_flag {
    const hl_param_spec *spec; /* the first spec with this flag */
    const char *value;         /* NULL for a bool flag */
} pending_flag;

typedef struct train_args {
    const char *data, *model, *algo;
    const char *feedback;   /* --feedback: labelled deployment rows */
    const char *class_names; /* --class-names FILE.csv */
    double feedback_weight; /* --feedback-weight */
    int has_feedback_weight;
    hl_train_params params;
    hl_csv_options csv;
    int json;
    int no_retry;
    pending_flag *flags; /* table flags, applied once --algo is known */
    size_t n_flags;
} train_args;

/* The spec flag `f` means for params' learner: a shared option, or one of
 * the learner's own; NULL when it belongs to other learners only. */
static const hl_param_spec *spec_for(const hl_train_params *p,
                                     const hl_param_spec *f)
{
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    for (size_t k = 0; k < n_shared; k++)
        if (strcmp(shared[k].flag, f->flag) == 0)
            return &shared[k];
    const hl_learner_info *li = hl_learner_find(p->algo);
    for (size_t k = 0; li && k < li->n_params; k++)
        if (strcmp(li->params[k].flag, f->flag) == 0)
            return &li->params[k];
    return NULL;
}

/* The learner whose table has flag f (for the usage error). */
static const char *owner_of(const hl_param_spec *f)
{
    for (size_t l = 0; l < hl_learner_count(); l++) {
        const hl_learner_info *li = hl_learner_at(l);
        for (size_t k = 0; k < li->n_params; k++)
            if (&li->params[k] == f)
                return li->name;
    }
    return "?";
}

static int apply_flag(train_args *a, const pending_flag *pf)
{
    const hl_param_spec *s = spec_for(&a->params, pf->spec);
    if (!s)
        return cli_usage_error("train",
                               "--%s is a parameter of learner %s, not of "
                               "%s (--algo)",
                               pf->spec->flag, owner_of(pf->spec),
                               a->params.algo);
    hl_param_value v = {!s->def.i, 0.0}; /* a bool flag sets the non-default */
    if (s->type != HL_PARAM_BOOL &&
        cli_parse_param("train", s, pf->value, &v) != 0)
        return CLI_USAGE;
    hl_error err;
    if (hl_train_params_set(&a->params, s->name, v, &err) != HL_OK)
        return cli_usage_error("train", "--%s: %s", s->flag, err.message);
    return CLI_OK;
}

/* Learner first (it decides which flags exist), then the flags in order,
 * then the rules between parameters. */
static int apply_params(train_args *a)
{
    hl_error err;
    if (a->algo && hl_train_params_set_algo(&a->params, a->algo, &err) != HL_OK)
        return cli_usage_error("train", "--algo: %s", err.message);
    for (size_t i = 0; i < a->n_flags; i++)
        if (apply_flag(a, &a->flags[i]) != CLI_OK)
            return CLI_USAGE;
    if (hl_train_params_validate(&a->params, &err) != HL_OK) {
        const hl_param_spec *s = hl_train_params_spec(&a->params, err.field);
        return cli_usage_error("train", "--%s: %s", s ? s->flag : err.field,
                               err.message);
    }
    return CLI_OK;
}

static int apply_fixed(train_args *a, int opt, const char *v)
{
    switch (opt) {
    case OPT_DATA:
        a->data = v;
        break;
    case OPT_MODEL:
        a->model = v;
        break;
    case OPT_ALGO:
        a->algo = v;
        break;
    case OPT_LABEL:
        a->csv.label_column = v;
        break;
    case OPT_ID:
        a->csv.id_column = v;
        break;
    case OPT_JSON:
        a->json = 1;
        break;
    case OPT_FEEDBACK:
        a->feedback = v;
        break;
    case OPT_FEEDBACK_WEIGHT:
        a->has_feedback_weight = 1;
        if (cli_parse_double("train", "--feedback-weight", v, 0.0,
                             HL_FEEDBACK_WEIGHT_MAX, &a->feedback_weight))
            return CLI_USAGE;
        if (!(a->feedback_weight > 0.0))
            return cli_usage_error("train",
                                   "--feedback-weight must be above 0, got "
                                   "'%s'",
                                   v);
        break;
    case OPT_NO_RETRY:
        a->no_retry = 1;
        break;
    case OPT_CLASS_NAMES:
        a->class_names = v;
        break;
    case OPT_NORMAL: {
        hl_error err;
        if (hl_train_params_set_normal_class(&a->params, v, &err) != HL_OK)
            return cli_usage_error("train", "--normal: %s", err.message);
        break;
    }
    }
    return CLI_OK;
}

/* Returns CLI_OK to go on, or the exit code to stop with (help = 0). */
static int parse_train_args(int argc, char **argv, const flag_table *t,
                            train_args *a, int *stop)
{
    hl_train_params_init(&a->params);
    hl_csv_options_init(&a->csv);
    a->csv.require_label = 1;
    *stop = 1;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":h", t->opts, NULL)) != -1) {
        if (opt == 'h') {
            print_usage();
            return CLI_OK;
        }
        if (opt == '?' || opt == ':')
            return cli_usage_error("train", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        if (opt >= OPT_PARAM)
            a->flags[a->n_flags++] =
                (pending_flag){t->by_flag[opt - OPT_PARAM], optarg};
        else if (apply_fixed(a, opt, optarg) != CLI_OK)
            return CLI_USAGE;
    }
    if (optind < argc)
        return cli_usage_error("train", "unexpected argument '%s'",
                               argv[optind]);
    if (!a->data || !a->model)
        return cli_usage_error("train", "--data and --model are required");
    if (a->has_feedback_weight && !a->feedback)
        return cli_usage_error("train",
                               "--feedback-weight needs --feedback FILE");
    int rc = apply_params(a);
    *stop = rc != CLI_OK;
    return rc;
}

/* The training file, plus the --feedback rows weighted up. */
static hl_status read_training_data(const train_args *a, hl_dataset **out,
                                    hl_error *err)
{
    hl_dataset *ds = NULL, *fb = NULL;
    hl_status rc = hl_dataset_read_csv(a->data, &a->csv, &ds, err);
    if (rc != HL_OK || !a->feedback) {
        *out = ds;
        return rc;
    }
    rc = hl_dataset_read_csv(a->feedback, &a->csv, &fb, err);
    if (rc == HL_OK)
        rc = hl_dataset_append(ds, fb,
                               a->has_feedback_weight
                                   ? a->feedback_weight
                                   : HL_FEEDBACK_WEIGHT_DEFAULT,
                               out, err);
    hl_dataset_free(ds);
    hl_dataset_free(fb);
    return rc;
}

/* ---- training with self-repair ---- */

/* What the retry messages need to know: how many attempts are planned. */
typedef struct retry_note {
    size_t planned;
} retry_note;

/* "the forest's defaults", "safer parameters", "as asked": what attempt
 * `step` changes, for the retry message. */
static void describe_step(hl_repair_step step, const hl_train_params *p,
                          char *out, size_t cap)
{
    if (step == HL_REPAIR_OTHER_LEARNER)
        snprintf(out, cap, "another learner, %s with its default parameters",
                 p->algo);
    else if (step == HL_REPAIR_SAFER)
        snprintf(out, cap,
                 "%s with safer parameters (one thread, no cross-validation, "
                 "the learner's own safer choices)",
                 p->algo);
    else
        snprintf(out, cap, "%s as asked", p->algo);
}

/* Before each attempt after the first: which attempt, why the one before
 * failed, what this one tries. On stderr, so --json output stays clean. */
static void say_retry(unsigned number, hl_repair_step step,
                      const hl_train_params *params,
                      const hl_train_attempt *previous, void *user)
{
    const retry_note *note = user;
    if (!previous)
        return;
    char what[160];
    describe_step(step, params, what, sizeof what);
    cli_progress_done();
    fprintf(stderr,
            "healer train: attempt %u of %zu (%s) %s: %s\n"
            "healer train: retrying, attempt %u of %zu: %s\n",
            previous->number, note->planned, previous->params.algo,
            hl_attempt_outcome_name(previous->outcome), previous->reason,
            number, note->planned, what);
}

/* Every attempt, one line each: what the summary and a failure show. */
static void print_attempts(FILE *out, const hl_train_attempts *at)
{
    fprintf(out, "attempts:\n");
    for (size_t i = 0; i < at->count; i++) {
        const hl_train_attempt *a = &at->item[i];
        fprintf(out, "  %u. %s (%s): %s, %.2f s%s%s\n", a->number,
                a->params.algo, hl_repair_step_name(a->step),
                hl_attempt_outcome_name(a->outcome), a->seconds,
                a->reason[0] ? ": " : "", a->reason);
    }
}

/* The fault-injection spec of HEALER_FAULT_INJECT; a bad one is a usage
 * error rather than a training without the faults the test wanted. */
static int read_faults(hl_repair_faults *faults)
{
    hl_error err;
    const char *spec = getenv("HEALER_FAULT_INJECT");
    if (hl_repair_faults_parse(spec, faults, &err) != HL_OK)
        return cli_usage_error("train", "HEALER_FAULT_INJECT: %s", err.message);
    return CLI_OK;
}

static int report(const train_args *a, const hl_model *m,
                  const hl_train_attempts *at, double parse_seconds)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    if (a->json) {
        json_t *j = json_pack(
            "{s:s, s:f, s:f, s:I, s:o, s:o}", "model", a->model,
            "parse_seconds", parse_seconds, "train_seconds", s->train_seconds,
            "rounds_done", (json_int_t)s->iterations_done, "attempts",
            hs_json_train_attempts(at), "summary", hs_json_summary(s));
        return cli_emit_json(cli_json_with_class_names(j, m));
    }
    cli_print_summary(stdout, s);
    cli_print_class_names(stdout, m);
    print_attempts(stdout, at);
    printf("model written to %s\n", a->model);
    return CLI_OK;
}

static int train_and_save(const train_args *a)
{
    hl_error err;
    hl_error_clear(&err);
    hl_train_control ctl = {cli_train_progress, NULL, NULL};
    hl_repair_faults faults;
    hl_repair_plan plan;
    hl_dataset *ds = NULL;
    hl_model *m = NULL;
    if (read_faults(&faults) != CLI_OK)
        return CLI_USAGE;
    hl_repair_plan_make(&a->params, &plan);
    retry_note note = {a->no_retry ? 1 : plan.count};
    hl_repair_options opt = {.max_attempts = a->no_retry ? 1 : 0,
                             .plan = &plan,
                             .faults = &faults,
                             .on_attempt = say_retry,
                             .user = &note};
    hl_train_attempts at;
    hl_class_names *names = NULL;
    double t_parse = hl_clock_monotonic();
    if (a->class_names && hl_class_names_load(a->class_names, &names, &err))
        return cli_engine_error("train", &err);
    /* the names are checked against the data's classes before training,
     * so that a typo costs no training time */
    if (read_training_data(a, &ds, &err) != HL_OK ||
        hl_class_names_check(names, ds->class_names, ds->n_classes, NULL,
                             &err) != HL_OK) {
        hl_class_names_free(names);
        hl_dataset_free(ds);
        return cli_engine_error("train", &err);
    }
    double parse_seconds = hl_clock_monotonic() - t_parse;
    hl_status st = hl_train_repair(ds, &a->params, &ctl, &opt, &m, &at, &err);
    cli_progress_done();
    hl_dataset_free(ds);
    if (st == HL_OK && (st = hl_model_set_class_names(m, names, &err)) != HL_OK) {
        hl_model_free(m);
        m = NULL;
    }
    hl_class_names_free(names);
    if (st != HL_OK) {
        /* After retries or a refused model, say what each attempt did and
         * that the file was left alone; a plain error (bad data) is one
         * line, as before. */
        int repaired =
            at.count > 1 ||
            (at.count == 1 && at.item[0].outcome == HL_ATTEMPT_DEGENERATE);
        if (repaired)
            print_attempts(stderr, &at);
        cli_engine_error("train", &err);
        if (repaired)
            fprintf(stderr, "healer train: no model written to %s\n", a->model);
        return CLI_RUNTIME;
    }
    if (hl_model_save(m, a->model, &err) != HL_OK) {
        hl_model_free(m);
        return cli_engine_error("train", &err);
    }
    int rc = report(a, m, &at, parse_seconds);
    hl_model_free(m);
    return rc;
}

int cmd_train(int argc, char **argv)
{
    train_args a;
    flag_table t;
    memset(&a, 0, sizeof a);
    a.flags = calloc((size_t)argc + 1, sizeof *a.flags);
    if (!a.flags || flag_table_build(&t) != 0) {
        free(a.flags);
        fprintf(stderr, "healer train: error: out of memory\n");
        return CLI_RUNTIME;
    }
    int stop;
    int rc = parse_train_args(argc, argv, &t, &a, &stop);
    if (!stop)
        rc = train_and_save(&a);
    flag_table_free(&t);
    free(a.flags);
    return rc;
}
