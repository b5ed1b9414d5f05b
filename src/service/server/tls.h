/* server/tls.h - what `healer serve` needs for HTTPS: the certificate and
 * private key read and checked before anything else starts, and the rule
 * that says where plain HTTP may be served.
 *
 * Why checked here and not left to libmicrohttpd: a missing, unreadable
 * or malformed file, or a key that belongs to another certificate, must
 * stop the server at start with a message naming the file, before the
 * data directory is opened or a port bound; libmicrohttpd would only say
 * that the daemon did not start. The HTTP layer gets the PEM text
 * (http.h's hs_http_config.tls_cert_pem / tls_key_pem) and nothing else.
 */
#ifndef HEALER_HS_TLS_H
#define HEALER_HS_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Largest certificate (chain) or key file read, bytes: a chain of a few
 * certificates is a few KiB. */
#define HS_TLS_FILE_MAX (1u << 20)

typedef struct hs_tls_creds {
    char *cert_pem;     /* the certificate file as read, NUL-terminated */
    char *key_pem;      /* the key file as read; wiped by hs_tls_free */
    size_t n_certs;     /* certificates in the file (leaf first) */
    int64_t not_before; /* the leaf's validity, unix time */
    int64_t not_after;
} hs_tls_creds;

/* Reads the PEM certificate (chain, leaf first) at cert_path and the
 * unencrypted PEM private key (PKCS#1, SEC1 or PKCS#8) at key_path and
 * checks that the key is the leaf certificate's. Errors (HS_ERR_IO for a
 * file that cannot be read, HS_ERR_INVALID for the rest) name the file
 * and the setting (field "tls-cert" or "tls-key"). An expired certificate
 * is not an error here (the caller warns): refusing to start would not
 * bring a valid one. On success the caller frees *out with hs_tls_free;
 * on error *out holds nothing. */
hs_status hs_tls_load(const char *cert_path, const char *key_path,
                      hs_tls_creds *out, hs_error *err);

/* Frees the PEM texts (the key's bytes zeroed first); NULL-safe. */
void hs_tls_free(hs_tls_creds *c);

/* 1 when `host` (a listen address's host part: an IP literal or
 * "localhost") is a loopback address - 127.0.0.0/8, ::1, an IPv4-mapped
 * 127.x address, localhost - so that plain HTTP there never leaves the
 * machine; 0 for anything else, the wildcard addresses included. */
int hs_tls_host_is_loopback(const char *host);

/* The plain-HTTP rule: with TLS off, a non-loopback listen host needs
 * allow_plain_http (a TLS-terminating proxy in front). HS_ERR_INVALID
 * (field "listen") says what to do otherwise. */
hs_status hs_tls_check_plain_http(const char *host, int tls_on,
                                  int allow_plain_http, hs_error *err);

#endif
