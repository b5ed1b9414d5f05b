/* cmd_serve.c - `healer serve`: the web platform.
 *
 * Flags are the config keys with two dashes (server.h has the table), read
 * after --config FILE so that flags win. Signals: SIGINT and SIGTERM are
 * blocked in every thread before any is started and taken here with
 * sigtimedwait, so shutdown runs in plain code, not in a signal handler;
 * the same loop wakes up hourly for housekeeping.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_settings.h"
#include "server/server.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: healer serve [--config FILE] [--listen HOST:PORT] "
            "[--data-dir DIR] [options]\n\n"
            "Runs the SystemHealer web platform: the REST API under /api/v1,\n"
            "the web UI, /metrics for Prometheus. Stops gracefully on SIGINT\n"
            "or SIGTERM (running jobs are re-queued for the next start).\n\n"
            "Options (also as 'key = value' lines in the --config file;\n"
            "flags win):\n"
            "  --config FILE            read settings from FILE first\n");
    hs_server_config_usage(out);
    fprintf(out, "  -h, --help               show this help\n\n"
                 "Environment: HEALER_FAULT_INJECT (a testing aid) makes the "
                 "attempts of every\ntraining job fail: items attemptN=FAULT "
                 "or attempts=FAULT, separated by\ncommas, FAULT one of fail, "
                 "degenerate, diverge (see healer train --help).\n"
                 "HEALER_ALERT_TAP=FILE (a testing aid) also appends every "
                 "alert, its body\n(an unlock link) included, to FILE as "
                 "a JSON line.\n"
                 "HEALER_FAULT_COMMIT_DELAY=KIND=MS[,...] (a testing aid) "
                 "makes every commit of\na stored file of KIND (result, "
                 "input, upload, ...; * = any) wait MS ms first,\nas on a "
                 "disk whose fsyncs stall.\n");
}

int cmd_serve(int argc, char **argv)
{
    hs_server_config cfg;
    sigset_t sigs;
    int rc = cli_long_running("serve", HS_CONFIG_SERVE, argc, argv, usage,
                              &cfg, &sigs);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;

    hs_server *server = NULL;
    hs_error err = {0};
    if (hs_server_start(&cfg, stdout, &server, &err) != HS_OK) {
        fprintf(stderr, "healer serve: error: %s\n", err.message);
        return CLI_RUNTIME;
    }
    for (;;) {
        struct timespec hour = {3600, 0};
        int sig = sigtimedwait(&sigs, NULL, &hour);
        if (sig == SIGINT || sig == SIGTERM)
            break;
        if (sig < 0)
            hs_server_maintain(server);
    }
    fprintf(stdout, "healer serve: stopping (finishing requests, re-queuing "
                    "running jobs)\n");
    fflush(stdout);
    hs_server_stop(server);
    fprintf(stdout, "healer serve: stopped\n");
    return CLI_OK;
}
