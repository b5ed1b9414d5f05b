/* server/selfsigned.h - `healer cert`: a self-signed certificate and its
 * key for trying HTTPS out (`healer serve --tls-cert DIR/cert.pem
 * --tls-key DIR/key.pem`).
 *
 * Why in the service and not the CLI: the CLI stays a thin layer over
 * library calls, and the files' rules (names, modes, no silent overwrite)
 * are decided once, next to the code that reads them back (tls.h).
 * What it is not: a certificate authority. Browsers warn about a
 * self-signed certificate; production uses one from a real CA
 * (docs/deploy.md).
 */
#ifndef HEALER_HS_SELFSIGNED_H
#define HEALER_HS_SELFSIGNED_H

#include <limits.h>
#include <stdint.h>

#include "base/error.h"

#define HS_SELFSIGNED_CERT_FILE "cert.pem"
#define HS_SELFSIGNED_KEY_FILE "key.pem"
/* The certificate's validity, days from now. */
#define HS_SELFSIGNED_DAYS 365
/* The default host name; 127.0.0.1 and ::1 are always in the names too. */
#define HS_SELFSIGNED_HOST "localhost"

typedef struct hs_selfsigned {
    char cert_path[PATH_MAX];
    char key_path[PATH_MAX];
    char fingerprint[96]; /* SHA-256 of the DER certificate, "AB:CD:..." */
    int64_t not_after;    /* unix time */
} hs_selfsigned;

/* 1 when `host` can name the certificate: an IPv4 or IPv6 literal, or a
 * DNS name (letters, digits and hyphens in dot-separated labels of 1 to 63
 * characters, no hyphen at a label's ends, 253 characters at most). */
int hs_selfsigned_host_ok(const char *host);

/* Writes DIR/cert.pem and DIR/key.pem, both mode 0600 whatever the umask
 * (DIR and missing parents are created with mode 0700): an ECDSA P-256 key
 * and an X.509 v3 certificate for `host` (CN and subjectAltName, plus the
 * IP addresses 127.0.0.1 and ::1), self-signed with SHA-256, a random
 * 128-bit serial, valid from five minutes ago for HS_SELFSIGNED_DAYS days,
 * CA:false, key usage digitalSignature (an ECDSA key signs; it does not
 * encipher), extended key usage serverAuth. Each file is written to a
 * temporary name, synced, then put in place, so a reader never sees half
 * a file. Existing files are kept (HS_ERR_CONFLICT naming them, field
 * "force") unless `force`. HS_ERR_INVALID (field "host") for a bad host,
 * HS_ERR_IO naming the path for the file system, HS_ERR_CRYPTO for
 * GnuTLS. Fills *out on success. */
hs_status hs_selfsigned_write(const char *dir, const char *host, int force,
                              hs_selfsigned *out, hs_error *err);

#endif
