/* cli_settings.h - the settings of the long-running commands (`healer
 * serve`, `healer worker`) from their flags and config file, and their
 * stop signals.
 *
 * Both read the one key table of server/config.c, each its own keys, so
 * a flag means the same in both and `--help` cannot disagree with it.
 */
#ifndef HEALER_CLI_SETTINGS_H
#define HEALER_CLI_SETTINGS_H

#include <signal.h>
#include <stdio.h>

#include "server/config.h"

/* Fills cfg for `command` from defaults, then --config FILE, then the
 * flags (--key VALUE or --key=VALUE; a boolean key may stand alone), and
 * the testing aids' environment (HEALER_FAULT_INJECT, HEALER_ALERT_TAP).
 * -h/--help is skipped (the caller prints its usage). Returns CLI_OK, or
 * CLI_USAGE after printing "healer CMD: ..." naming what is wrong (an
 * unknown key, the other command's key, a value out of range). */
int cli_settings(const char *cmd, hs_config_command command, int argc,
                 char **argv, hs_server_config *cfg);

/* What cli_long_running returns when it printed the usage (-h, --help):
 * the command then exits 0. */
#define CLI_HELP_SHOWN (-1)

/* The start of `healer serve` and `healer worker`: -h/--help prints
 * `usage` (CLI_HELP_SHOWN); else umask 077, cli_settings, then
 * cli_block_stop_signals into *sigs (CLI_OK), or cli_settings' usage
 * error. */
int cli_long_running(const char *cmd, hs_config_command command, int argc,
                     char **argv, void (*usage)(FILE *), hs_server_config *cfg,
                     sigset_t *sigs);

/* Blocks SIGINT and SIGTERM in this thread and every thread started after
 * it (the caller takes them with sigtimedwait, in plain code), hands one
 * that a thread started earlier receives to the caller's thread, and
 * ignores SIGPIPE; *sigs is the set to wait on. */
void cli_block_stop_signals(sigset_t *sigs);

#endif
