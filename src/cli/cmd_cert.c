/* cmd_cert.c - `healer cert --out DIR [--host NAME] [--force]`: a
 * self-signed certificate and key for trying `healer serve`'s HTTPS.
 *
 * Thin: the flags here, the certificate and the files' rules in
 * server/selfsigned.h. It prints where the files went, the SHA-256
 * fingerprint (to compare with what a browser or `openssl s_client`
 * shows) and the serve command that uses them.
 */
#include <getopt.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "server/selfsigned.h"

/* clang-format off */
static const char CERT_USAGE[] =
    "Usage: healer cert --out DIR [--host NAME] [--force]\n\n"
    "Writes DIR/" HS_SELFSIGNED_CERT_FILE " and DIR/" HS_SELFSIGNED_KEY_FILE
    " (both mode 0600; DIR is created with\n"
    "mode 0700 when missing): a self-signed certificate for trying HTTPS\n"
    "out, with an ECDSA P-256 key, valid for " CLI_STR(HS_SELFSIGNED_DAYS)
    " days, for NAME and the IP\n"
    "addresses 127.0.0.1 and ::1. Browsers warn about a self-signed\n"
    "certificate: in production use one from a certificate authority\n"
    "(docs/deploy.md). Then:\n"
    "  healer serve --tls-cert DIR/" HS_SELFSIGNED_CERT_FILE
    " --tls-key DIR/" HS_SELFSIGNED_KEY_FILE "\n\n"
    "Options:\n"
    "  --out DIR     where to write the two files (required)\n"
    "  --host NAME   the server's DNS name or IP address (" HS_SELFSIGNED_HOST
    ")\n"
    "  --force       replace existing files (refused otherwise)\n"
    "  -h, --help    show this help\n";
/* clang-format on */

static int write_cert(const char *dir, const char *host, int force)
{
    hs_selfsigned made;
    hs_error err = {0};
    hs_status st = hs_selfsigned_write(dir, host, force, &made, &err);
    if (st == HS_ERR_INVALID && !strcmp(err.field, "host"))
        return cli_usage_error("cert", "--host: %s", err.message);
    if (st != HS_OK) {
        fprintf(stderr, "healer cert: error: %s\n", err.message);
        return CLI_RUNTIME;
    }
    char until[32];
    time_t t = (time_t)made.not_after;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(until, sizeof until, "%Y-%m-%d", &tm))
        snprintf(until, sizeof until, "?");
    printf("wrote %s and %s (mode 0600)\n"
           "self-signed certificate for %s, 127.0.0.1 and ::1, valid until "
           "%s\n"
           "SHA-256 fingerprint: %s\n"
           "use it: healer serve --tls-cert %s --tls-key %s\n",
           made.cert_path, made.key_path, host, until, made.fingerprint,
           made.cert_path, made.key_path);
    return CLI_OK;
}

int cmd_cert(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, 0, 'o'},
        {"host", required_argument, 0, 'H'},
        {"force", no_argument, 0, 'f'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *out = NULL, *host = HS_SELFSIGNED_HOST;
    int force = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (opt) {
        case 'h':
            fputs(CERT_USAGE, stdout);
            return CLI_OK;
        case 'o':
            out = optarg;
            break;
        case 'H':
            host = optarg;
            break;
        case 'f':
            force = 1;
            break;
        default:
            return cli_usage_error("cert", "%s '%s'",
                                   opt == ':' ? "missing value for"
                                              : "unknown option",
                                   argv[optind - 1]);
        }
    }
    if (optind < argc)
        return cli_usage_error("cert", "unexpected argument '%s'",
                               argv[optind]);
    if (!out || !*out)
        return cli_usage_error("cert", "--out DIR is required");
    return write_cert(out, host, force);
}
