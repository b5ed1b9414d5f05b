/* cli_settings.c - the long-running commands' settings from flags and a
 * config file, and their stop signals (see cli_settings.h). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_settings.h"

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

int cli_settings(const char *cmd, hs_config_command command, int argc,
                 char **argv, hs_server_config *cfg)
{
    hs_error err = {0};
    hs_server_config_defaults_for(cfg, command);
    hl_error fault_err;
    if (hl_repair_faults_parse(getenv("HEALER_FAULT_INJECT"),
                               &cfg->train_faults, &fault_err) != HL_OK)
        return cli_usage_error(cmd, "HEALER_FAULT_INJECT: %s",
                               fault_err.message);
    hs_error delay_err = {0};
    if (hs_blob_delays_parse(getenv("HEALER_FAULT_COMMIT_DELAY"),
                             &cfg->commit_delays, &delay_err) != HS_OK)
        return cli_usage_error(cmd, "HEALER_FAULT_COMMIT_DELAY: %s",
                               delay_err.message);
    const char *tap = getenv("HEALER_ALERT_TAP");
    if (tap && strlen(tap) >= sizeof cfg->alert_tap)
        return cli_usage_error(cmd, "HEALER_ALERT_TAP: the path is too long");
    snprintf(cfg->alert_tap, sizeof cfg->alert_tap, "%s", tap ? tap : "");
    for (int pass = 0; pass < 2; pass++) { /* the file first, then flags */
        for (int i = 1; i < argc; i++) {
            const char *key, *value;
            char keybuf[64];
            if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
                continue;
            int rc =
                take_flag(argc, argv, &i, &key, &value, keybuf, sizeof keybuf);
            if (rc == -1)
                return cli_usage_error(cmd, "unexpected argument '%s'",
                                       argv[i]);
            if (rc == -2)
                return cli_usage_error(cmd, "missing value for '%s'", argv[i]);
            int is_config = !strcmp(key, "config");
            if (pass == 0 && is_config &&
                hs_server_config_load(cfg, value, &err) != HS_OK)
                return cli_usage_error(cmd, "%s", err.message);
            if (pass == 1 && !is_config &&
                hs_server_config_set(cfg, key, value, &err) != HS_OK)
                return cli_usage_error(cmd, "%s%s", err.field[0] ? "--" : "",
                                       err.message);
        }
    }
    if (hs_server_config_check(cfg, &err) != HS_OK)
        return cli_usage_error(cmd, "%s", err.message);
    return CLI_OK;
}

int cli_long_running(const char *cmd, hs_config_command command, int argc,
                     char **argv, void (*usage)(FILE *), hs_server_config *cfg,
                     sigset_t *sigs)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return CLI_HELP_SHOWN;
        }
    /* Everything the process creates is its user's alone (the data
     * directory also gives each file its mode explicitly). */
    umask(077);
    int rc = cli_settings(cmd, command, argc, argv, cfg);
    if (rc == CLI_OK)
        cli_block_stop_signals(sigs);
    return rc;
}

/* The thread that waits for SIGINT and SIGTERM (cli_block_stop_signals'
 * caller). */
static pthread_t stop_waiter;

/* A stop signal that reached a thread which does not block it - one a
 * library started before main (OpenBLAS makes its pool as it loads), so
 * before the mask - is handed to the waiting thread, where it stays
 * pending until its sigtimedwait takes it. Without this handler the
 * default action ran in that thread and the process died of the signal
 * whenever the waiter was not inside sigtimedwait at that moment (a stop
 * during the start: test_datadir, 11 of 30 starts). pthread_kill is
 * async-signal-safe. */
static void hand_to_waiter(int sig)
{
    int saved = errno;
    pthread_kill(stop_waiter, sig);
    errno = saved;
}

void cli_block_stop_signals(sigset_t *sigs)
{
    sigemptyset(sigs);
    sigaddset(sigs, SIGINT);
    sigaddset(sigs, SIGTERM);
    stop_waiter = pthread_self();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = hand_to_waiter;
    sigfillset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pthread_sigmask(SIG_BLOCK, sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
}
