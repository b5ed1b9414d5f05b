/* cmd_audit.c - `healer audit [--data-dir DIR] [filters] [--json]`: the
 * audit log of administrative actions read from the data directory.
 *
 * Why a command: the log is where an operator looks after an incident,
 * and that may be while the server is down or unreachable; this reads the
 * store directly, through the same domain call and the same row view as
 * GET /api/v1/audit, and changes nothing (the log cannot be edited from
 * here either). A data directory that does not exist is an error, never
 * created.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "cli.h"
#include "domain/audit.h"
#include "http/api.h"
#include "server/datadir.h"

static const char AUDIT_USAGE[] =
    "Usage: healer audit [--data-dir DIR] [--limit N] [--before ID]\n"
    "                    [--action ACTION] [--actor NAME] [--json]\n\n"
    "Prints the audit log of administrative actions, newest first: when,\n"
    "who, what, on what, from where and a detail, one per line, or with\n"
    "--json one JSON object per line (the rows of GET /api/v1/audit).\n\n"
    "Options:\n"
    "  --data-dir DIR   data directory (" HS_DATADIR_DEFAULT ")\n"
    "  --limit N        rows at most, 1..1000 (100)\n"
    "  --before ID      only rows older than this id (paging)\n"
    "  --action ACTION  only this action (user_created, user_disabled, ...)\n"
    "  --actor NAME     only what this user did ('command line' for the CLI)\n"
    "  --json           JSON lines\n"
    "  -h, --help       show this help\n";

/* A whole number in [min, max], or -1. */
static long long parse_count(const char *s, long long min, long long max)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    return (*s && !*end && v >= min && v <= max) ? v : -1;
}

static void print_row(const hs_audit_rec *a, int as_json)
{
    if (as_json) {
        json_t *j = hs_api_audit_json(a);
        json_dumpf(j, stdout, JSON_COMPACT);
        fputc('\n', stdout);
        json_decref(j);
        return;
    }
    json_t *j = hs_api_audit_json(a); /* its "time" is the ISO text */
    printf("%-6lld %s  %-16s %-16s %s %lld %s  from %s%s%s\n", (long long)a->id,
           json_string_value(json_object_get(j, "time")), a->actor_name,
           a->action, a->target_kind, (long long)a->target_id, a->target_name,
           a->address[0] ? a->address : "?", a->detail[0] ? "  " : "",
           a->detail);
    json_decref(j);
}

static int audit_run(const char *data_dir, hs_audit_filter *f, int as_json)
{
    struct stat st;
    if (stat(data_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "healer audit: error: no data directory at %s\n",
                data_dir);
        return CLI_RUNTIME;
    }
    hs_datadir *dd = NULL;
    hs_error err = {0};
    hs_audit_rec *rows = NULL;
    size_t n = 0;
    hs_status rc = hs_datadir_open(data_dir, &dd, &err);
    if (rc == HS_OK) {
        hs_app app = {
            .store = dd->store, .blobs = dd->blobs, .clock = hs_clock_system()};
        rc = hs_audit_list(&app, f, &rows, &n, &err);
    }
    for (size_t i = 0; rc == HS_OK && i < n; i++)
        print_row(&rows[i], as_json);
    free(rows);
    hs_datadir_close(dd);
    if (rc != HS_OK) {
        fprintf(stderr, "healer audit: error: %s\n", err.message);
        return rc == HS_ERR_INVALID ? CLI_USAGE : CLI_RUNTIME;
    }
    return CLI_OK;
}

int cmd_audit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"data-dir", required_argument, 0, 'd'},
        {"limit", required_argument, 0, 'l'},
        {"before", required_argument, 0, 'b'},
        {"action", required_argument, 0, 'a'},
        {"actor", required_argument, 0, 'u'},
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    hs_audit_filter f = {.limit = HS_AUDIT_PAGE_DEFAULT};
    const char *data_dir = HS_DATADIR_DEFAULT;
    int as_json = 0, opt;
    long long v;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(AUDIT_USAGE, stdout);
            return CLI_OK;
        case 'd':
            data_dir = optarg;
            break;
        case 'j':
            as_json = 1;
            break;
        case 'l':
            if ((v = parse_count(optarg, 1, HS_AUDIT_PAGE_MAX)) < 0)
                return cli_usage_error("audit",
                                       "--limit expects a whole "
                                       "number in 1..%d, got '%s'",
                                       HS_AUDIT_PAGE_MAX, optarg);
            f.limit = v;
            break;
        case 'b':
            if ((v = parse_count(optarg, 1, INT64_MAX)) < 0)
                return cli_usage_error("audit",
                                       "--before expects a positive "
                                       "id, got '%s'",
                                       optarg);
            f.before_id = v;
            break;
        case 'a':
        case 'u': {
            char *dst = opt == 'a' ? f.action : f.actor_name;
            size_t cap = opt == 'a' ? sizeof f.action : sizeof f.actor_name;
            if (strlen(optarg) >= cap)
                return cli_usage_error("audit", "%s is too long",
                                       argv[optind - 1]);
            memcpy(dst, optarg, strlen(optarg) + 1);
            break;
        }
        default:
            return cli_usage_error("audit", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind != argc)
        return cli_usage_error("audit", "unexpected argument '%s'",
                               argv[optind]);
    return audit_run(data_dir, &f, as_json);
}
