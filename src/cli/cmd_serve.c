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
                 "a JSON line.\n");
}

/* --key VALUE or --key=VALUE at argv[*i]; advances *i past the value. */
static int take_flag(int argc, char **argv, int *i, const char **key,
                     const char **value, char *keybuf, size_t cap)
{
    const char *arg = argv[*i];
    if (strncmp(arg, "--", 2) != 0 || !arg[2])
        return -1;
    const char *eq = strchr(arg, '=');
    if (eq) {
        snprintf(keybuf, cap, "%.*s", (int)(eq - arg - 2), arg + 2);
        *value = eq + 1;
    } else {
        snprintf(keybuf, cap, "%s", arg + 2);
        if (hs_server_config_is_bool(keybuf) &&
            (*i + 1 >= argc || !strncmp(argv[*i + 1], "--", 2))) {
            *value = "true";
        } else {
            if (*i + 1 >= argc)
                return -2;
            *value = argv[++*i];
        }
    }
    *key = keybuf;
    return 0;
}

static int configure(int argc, char **argv, hs_server_config *cfg)
{
    hs_error err = {0};
    hs_server_config_defaults(cfg);
    hl_error fault_err;
    if (hl_repair_faults_parse(getenv("HEALER_FAULT_INJECT"),
                               &cfg->train_faults, &fault_err) != HL_OK)
        return cli_usage_error("serve", "HEALER_FAULT_INJECT: %s",
                               fault_err.message);
    const char *tap = getenv("HEALER_ALERT_TAP");
    if (tap && strlen(tap) >= sizeof cfg->alert_tap)
        return cli_usage_error("serve", "HEALER_ALERT_TAP: the path is too "
                                        "long");
    snprintf(cfg->alert_tap, sizeof cfg->alert_tap, "%s", tap ? tap : "");
    for (int pass = 0; pass < 2; pass++) { /* the file first, then flags */
        for (int i = 1; i < argc; i++) {
            const char *key, *value;
            char keybuf[64];
            if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
                continue;
            int rc = take_flag(argc, argv, &i, &key, &value, keybuf,
                               sizeof keybuf);
            if (rc == -1)
                return cli_usage_error("serve", "unexpected argument '%s'",
                                       argv[i]);
            if (rc == -2)
                return cli_usage_error("serve", "missing value for '%s'",
                                       argv[i]);
            int is_config = !strcmp(key, "config");
            if (pass == 0 && is_config &&
                hs_server_config_load(cfg, value, &err) != HS_OK)
                return cli_usage_error("serve", "%s", err.message);
            if (pass == 1 && !is_config &&
                hs_server_config_set(cfg, key, value, &err) != HS_OK)
                return cli_usage_error("serve", "%s%s",
                                       err.field[0] ? "--" : "", err.message);
        }
    }
    if (hs_server_config_check(cfg, &err) != HS_OK)
        return cli_usage_error("serve", "%s", err.message);
    return CLI_OK;
}

int cmd_serve(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_OK;
        }
    /* Everything the server creates is its user's alone (the data
     * directory also gives each file its mode explicitly). */
    umask(077);
    hs_server_config cfg;
    int rc = configure(argc, argv, &cfg);
    if (rc != CLI_OK)
        return rc;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

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
