/* main.c - `healer`: dispatch to a subcommand.
 *
 * Every subcommand lives in its own cmd_*.c file and is a thin layer over
 * the engine in include/healer/. The web platform (`healer serve`) is one
 * more subcommand, calling the same library functions through the service.
 */
#include <errno.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"train", cmd_train, "train a model from a labelled CSV file"},
    {"predict", cmd_predict, "diagnose the samples of a CSV file"},
    {"eval", cmd_eval, "score a model on a labelled CSV file"},
    {"drift", cmd_drift, "check whether a CSV file has drifted from the training data"},
    {"inspect", cmd_inspect, "show what a model file contains"},
    {"suggest", cmd_suggest, "pick the rows of a batch a person should label first"},
    {"explain", cmd_explain, "explain the diagnosis of one sample"},
    {"profile", cmd_profile, "summarise a CSV file before training on it"},
    {"rca", cmd_rca, "rank the likely root causes of incidents on a topology"},
    {"rca-eval", cmd_rca_eval, "score root-cause ranks against the true roots"},
    {"simulate", cmd_simulate, "write synthetic KPI samples of a faulty system"},
    {"serve", cmd_serve, "run the web platform (REST API and web UI)"},
    {"worker", cmd_worker, "run jobs only, beside web instances sharing the store"},
    {"user", cmd_user, "manage the web platform's users (user add NAME, user unlock NAME)"},
    {"cert", cmd_cert, "write a self-signed certificate for trying HTTPS"},
    {"key", cmd_key, "write a new data key (key new --out FILE)"},
    {"rekey", cmd_rekey, "re-encrypt the stored data under a new data key"},
    {"routes", cmd_routes, "list the web platform's API routes and their rules"},
    {"audit", cmd_audit, "show the web platform's audit log of admin actions"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "SystemHealer %s - fault diagnosis for distributed systems\n\n"
            "Usage: healer COMMAND [OPTIONS]\n\nCommands:\n",
            hl_version());
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nRun 'healer COMMAND --help' for the options of a command.\n"
                 "Exit codes: 0 success, 1 runtime error, 2 usage error.\n");
}

/* A report that could not be written (disk full, closed pipe) is a
 * failure: a script must not get exit 0 and a truncated report. */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "healer: error: cannot write to standard output: %s\n",
                strerror(errno));
        return rc == CLI_OK ? CLI_RUNTIME : rc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        usage(stdout);
        return finish(CLI_OK);
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("healer %s\n", hl_version());
        return finish(CLI_OK);
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        if (!strcmp(name, COMMANDS[i].name))
            return finish(COMMANDS[i].run(argc - 1, argv + 1));
    fprintf(stderr, "healer: unknown command '%s'\n\n", name);
    usage(stderr);
    return CLI_USAGE;
}
