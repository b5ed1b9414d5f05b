/* server/tls.c - reading and checking healer serve's certificate and key,
 * and the plain-HTTP rule (see tls.h).
 *
 * GnuTLS parses the files here exactly as libmicrohttpd will (it hands
 * them to gnutls_certificate_set_x509_key_mem), so what passes here is
 * what the daemon accepts. The key is compared with the leaf certificate
 * through their public keys' SHA-256 key ids.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "server/tls.h"

/* Reads a whole file of at most HS_TLS_FILE_MAX bytes as a string. */
static hs_status read_pem(const char *key, const char *path, char **out,
                          size_t *len, hs_error *err)
{
    char ebuf[128];
    struct stat st;
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hs_fail_field(err, HS_ERR_IO, key, "%s: cannot read %s: %s", key,
                             path, strerror_r(errno, ebuf, sizeof ebuf));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > (off_t)HS_TLS_FILE_MAX) {
        close(fd);
        return hs_fail_field(err, HS_ERR_INVALID, key,
                             "%s: %s is not a PEM file (not a regular file "
                             "of at most %u bytes)",
                             key, path, HS_TLS_FILE_MAX);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    ssize_t n = 1;
    while (buf && got < (size_t)st.st_size &&
           (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
        got += (size_t)n;
    int read_errno = errno;
    close(fd);
    if (!buf)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (n < 0) {
        free(buf);
        return hs_fail_field(err, HS_ERR_IO, key, "%s: cannot read %s: %s", key,
                             path, strerror_r(read_errno, ebuf, sizeof ebuf));
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return HS_OK;
}

/* The leaf's validity and the SHA-256 id of its public key. */
static hs_status parse_certs(const char *path, const char *pem, size_t len,
                             hs_tls_creds *out, unsigned char *key_id,
                             size_t *key_id_len, hs_error *err)
{
    gnutls_x509_crt_t *certs = NULL;
    unsigned n = 0;
    gnutls_datum_t data = {(unsigned char *)pem, (unsigned)len};
    int rc =
        gnutls_x509_crt_list_import2(&certs, &n, &data, GNUTLS_X509_FMT_PEM, 0);
    if (rc < 0 || n == 0)
        return hs_fail_field(err, HS_ERR_INVALID, "tls-cert",
                             "tls-cert: %s holds no PEM certificate (%s)", path,
                             rc < 0 ? gnutls_strerror(rc)
                                    : "no BEGIN CERTIFICATE block");
    out->n_certs = n;
    out->not_before = (int64_t)gnutls_x509_crt_get_activation_time(certs[0]);
    out->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(certs[0]);
    rc = gnutls_x509_crt_get_key_id(certs[0], GNUTLS_KEYID_USE_SHA256, key_id,
                                    key_id_len);
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(certs[i]);
    gnutls_free(certs);
    if (rc < 0)
        return hs_fail_field(err, HS_ERR_INVALID, "tls-cert",
                             "tls-cert: %s: cannot read the certificate's "
                             "public key (%s)",
                             path, gnutls_strerror(rc));
    return HS_OK;
}

/* The SHA-256 id of the private key's public half. */
static hs_status parse_key(const char *path, const char *pem, size_t len,
                           unsigned char *key_id, size_t *key_id_len,
                           hs_error *err)
{
    gnutls_x509_privkey_t key;
    gnutls_datum_t data = {(unsigned char *)pem, (unsigned)len};
    if (gnutls_x509_privkey_init(&key) < 0)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    int rc = gnutls_x509_privkey_import2(key, &data, GNUTLS_X509_FMT_PEM, NULL,
                                         GNUTLS_PKCS_PLAIN);
    if (rc >= 0)
        rc = gnutls_x509_privkey_get_key_id(key, GNUTLS_KEYID_USE_SHA256,
                                            key_id, key_id_len);
    gnutls_x509_privkey_deinit(key);
    if (rc < 0)
        return hs_fail_field(
            err, HS_ERR_INVALID, "tls-key",
            "tls-key: %s holds no unencrypted PEM private key (%s)%s", path,
            gnutls_strerror(rc),
            strstr(pem, "ENCRYPTED") ? "; it is encrypted: healer reads "
                                       "unencrypted keys only (keep the file "
                                       "0600)"
                                     : "");
    return HS_OK;
}

hs_status hs_tls_load(const char *cert_path, const char *key_path,
                      hs_tls_creds *out, hs_error *err)
{
    unsigned char cert_id[64], key_id[64];
    size_t cert_id_len = sizeof cert_id, key_id_len = sizeof key_id;
    size_t cert_len = 0, key_len = 0;
    memset(out, 0, sizeof *out);
    hs_status st =
        read_pem("tls-cert", cert_path, &out->cert_pem, &cert_len, err);
    if (st == HS_OK)
        st = read_pem("tls-key", key_path, &out->key_pem, &key_len, err);
    if (st == HS_OK)
        st = parse_certs(cert_path, out->cert_pem, cert_len, out, cert_id,
                         &cert_id_len, err);
    if (st == HS_OK)
        st = parse_key(key_path, out->key_pem, key_len, key_id, &key_id_len,
                       err);
    if (st == HS_OK &&
        (cert_id_len != key_id_len || memcmp(cert_id, key_id, key_id_len)))
        st = hs_fail_field(err, HS_ERR_INVALID, "tls-key",
                           "tls-key: %s is not the private key of the "
                           "certificate in %s (their public keys differ)",
                           key_path, cert_path);
    if (st != HS_OK)
        hs_tls_free(out);
    return st;
}

void hs_tls_free(hs_tls_creds *c)
{
    if (!c)
        return;
    if (c->key_pem) {
        sodium_memzero(c->key_pem, strlen(c->key_pem));
        free(c->key_pem);
    }
    free(c->cert_pem);
    memset(c, 0, sizeof *c);
}

int hs_tls_host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!strcasecmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6) ||
               (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    return 0;
}

hs_status hs_tls_check_plain_http(const char *host, int tls_on,
                                  int allow_plain_http, hs_error *err)
{
    if (tls_on || allow_plain_http || hs_tls_host_is_loopback(host))
        return HS_OK;
    return hs_fail_field(
        err, HS_ERR_INVALID, "listen",
        "refusing to serve plain HTTP on %s, which is not a loopback "
        "address: passwords and session cookies would cross the network "
        "in clear. Serve HTTPS with --tls-cert FILE --tls-key FILE ('healer "
        "cert --out DIR' makes a self-signed pair for trying it out), or, "
        "when a TLS-terminating proxy sits in front, give "
        "--allow-plain-http (docs/deploy.md)",
        host);
}
