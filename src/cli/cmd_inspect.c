/* cmd_inspect.c - `healer inspect MODEL`: what a model file holds. */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char INSPECT_USAGE[] =
    "Usage: healer inspect [--json] MODEL\n\n"
    "Prints the summary stored in a model file: parameters, data shape,\n"
    "skipped and duplicate rows, validation / cross-validation metrics,\n"
    "training curve length, the most important features and the class\n"
    "names (name, description, first action) it carries.\n\n"
    "Options:\n"
    "  --json      print the full summary as JSON\n"
    "  -h, --help  show this help\n";

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int json = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(INSPECT_USAGE, stdout);
            return CLI_OK;
        }
        if (opt == 'j') {
            json = 1;
            continue;
        }
        return cli_usage_error("inspect", "unknown option '%s'", argv[optind - 1]);
    }
    if (argc - optind != 1)
        return cli_usage_error("inspect", "expected exactly one model file");
    hl_error err;
    hl_error_clear(&err);
    hl_model *m = NULL;
    if (hl_model_load(argv[optind], &m, &err) != HL_OK)
        return cli_engine_error("inspect", &err);
    int rc = CLI_OK;
    if (json)
        rc = cli_emit_json(cli_json_with_class_names(
            hs_json_summary(hl_model_summary_get(m)), m));
    else {
        cli_print_summary(stdout, hl_model_summary_get(m));
        cli_print_class_names(stdout, m);
    }
    hl_model_free(m);
    return rc;
}
