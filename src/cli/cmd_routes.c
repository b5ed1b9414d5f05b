/* cmd_routes.c - `healer routes [--json]`: the REST API's route table as
 * this binary has it, each route with its rules (session, admin, CSRF
 * exemption, body type, owned record).
 *
 * Why a command: the authorization matrix test reads the rules from the
 * binary it tests rather than from a copy, so a new route cannot go
 * unchecked, and an operator can see what a build serves without
 * starting it. It opens nothing and needs no data directory.
 */
#include <string.h>

#include "cli.h"
#include "http/api.h"

static const char ROUTES_USAGE[] =
    "Usage: healer routes [--json]\n\n"
    "Prints the REST API's routes: METHOD PATTERN FLAGS, one per line, or\n"
    "with --json an array of {\"method\", \"pattern\", \"flags\"}. Flags: "
    "PUBLIC,\n"
    "AUTH (a session), ADMIN, NO_CSRF (state-changing without the CSRF\n"
    "token), JSON / MULTIPART (the body), OPT_AUTH (a session when there is\n"
    "one), OWNED (acts on a user's record: others get 404).\n";

int cmd_routes(int argc, char **argv)
{
    int as_json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(ROUTES_USAGE, stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--json"))
            return cli_usage_error("routes", "unknown option '%s'", argv[i]);
        as_json = 1;
    }
    json_t *routes = hs_api_routes_json();
    if (!routes) {
        fprintf(stderr, "healer routes: error: out of memory\n");
        return CLI_RUNTIME;
    }
    if (as_json) {
        json_dumpf(routes, stdout, JSON_INDENT(1));
        fputc('\n', stdout);
    }
    for (size_t i = 0; !as_json && i < json_array_size(routes); i++) {
        json_t *r = json_array_get(routes, i),
               *flags = json_object_get(r, "flags");
        printf("%-7s %-48s", json_string_value(json_object_get(r, "method")),
               json_string_value(json_object_get(r, "pattern")));
        for (size_t f = 0; f < json_array_size(flags); f++)
            printf("%s%s", f ? "," : " ",
                   json_string_value(json_array_get(flags, f)));
        fputc('\n', stdout);
    }
    json_decref(routes);
    return CLI_OK;
}
