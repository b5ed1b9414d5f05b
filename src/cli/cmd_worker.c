/* cmd_worker.c - `healer worker`: a process that runs jobs only.
 *
 * Flags are server/config.c's keys that apply to a worker (the store, the
 * blobs, the data directory and key, training threads, leases, alerts)
 * plus --threads, read like `healer serve`'s (cli_settings.h). SIGINT and
 * SIGTERM stop it gracefully: running jobs are interrupted within a round
 * and put back in the queue, where another worker takes them.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_settings.h"
#include "server/worker.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: healer worker --store URL --blobs URL [--data-dir DIR]\n"
            "                     [--data-key-file FILE] [--threads N] "
            "[options]\n\n"
            "Runs jobs (trainings, diagnoses, analyses) from the store's "
            "queue, and\nnothing else: no HTTP. Web instances started with "
            "`healer serve --no-workers`\nqueue the jobs; any number of "
            "workers sharing the store (and the blobs, and\nthe data key) "
            "run them, each job once. A job queued by any process starts\n"
            "at once where the store has notifications (PostgreSQL), within "
            "a second\notherwise. Every worker needs a data directory of "
            "its own (locked).\nStops gracefully on SIGINT or SIGTERM "
            "(running jobs go back to the queue).\n\n"
            "Options (also as 'key = value' lines in the --config file, "
            "which may be\nthe web instances' own: their keys are skipped; "
            "flags win):\n"
            "  --config FILE            read settings from FILE first\n");
    hs_server_config_usage_for(out, HS_CONFIG_WORKER);
    fprintf(out, "  -h, --help               show this help\n");
}

int cmd_worker(int argc, char **argv)
{
    hs_server_config cfg;
    sigset_t sigs;
    int rc = cli_long_running("worker", HS_CONFIG_WORKER, argc, argv, usage,
                              &cfg, &sigs);
    if (rc != CLI_OK)
        return rc == CLI_HELP_SHOWN ? CLI_OK : rc;
    hs_worker *worker = NULL;
    hs_error err = {0};
    if (hs_worker_start(&cfg, stdout, &worker, &err) != HS_OK) {
        fprintf(stderr, "healer worker: error: %s\n", err.message);
        return CLI_RUNTIME;
    }
    int sig;
    do
        sig = sigwaitinfo(&sigs, NULL);
    while (sig != SIGINT && sig != SIGTERM);
    fprintf(stdout, "healer worker: stopping (running jobs go back to the "
                    "queue)\n");
    fflush(stdout);
    hs_worker_stop(worker);
    fprintf(stdout, "healer worker: stopped\n");
    return CLI_OK;
}
