/* server/selfsigned.c - a self-signed certificate and key for `healer
 * cert` (see selfsigned.h), made with GnuTLS's X.509 API.
 *
 * The key is ECDSA P-256: every TLS 1.2/1.3 client takes it, it is made
 * in a millisecond and its signatures are small. Files go through a
 * temporary name in the same directory and are published with link()
 * (which refuses to replace, so two runs cannot overwrite each other's
 * pair) or, with --force, rename().
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#include "server/selfsigned.h"

/* ---- the host name ---- */

static int is_ip(const char *host, unsigned char *bin, size_t *len)
{
    if (inet_pton(AF_INET, host, bin) == 1) {
        *len = 4;
        return 1;
    }
    if (inet_pton(AF_INET6, host, bin) == 1) {
        *len = 16;
        return 1;
    }
    return 0;
}

static int label_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') || ch == '-';
}

int hs_selfsigned_host_ok(const char *host)
{
    unsigned char bin[16];
    size_t bin_len = 0, n = strlen(host), label = 0;
    if (is_ip(host, bin, &bin_len))
        return 1;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || host[i] == '.') {
            if (label == 0 || label > 63 || host[i - 1] == '-' ||
                host[i - label] == '-')
                return 0;
            label = 0;
        } else if (!label_char(host[i])) {
            return 0;
        } else {
            label++;
        }
    }
    return 1;
}

/* ---- the certificate ---- */

typedef struct pair {
    gnutls_x509_privkey_t key;
    gnutls_x509_crt_t crt;
} pair;

static hs_status crypto_fail(hs_error *err, const char *what, int rc)
{
    return hs_fail(err, HS_ERR_CRYPTO, "cannot make the certificate: %s: %s",
                   what, gnutls_strerror(rc));
}

/* subjectAltName: the host (DNS name or IP), then 127.0.0.1 and ::1. */
static int set_names(gnutls_x509_crt_t crt, const char *host)
{
    static const char *const LOOPBACK[] = {"127.0.0.1", "::1"};
    unsigned char bin[16];
    size_t len = 0;
    int rc =
        is_ip(host, bin, &len)
            ? gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS,
                                                   bin, (unsigned)len,
                                                   GNUTLS_FSAN_APPEND)
            : gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME,
                                                   host, (unsigned)strlen(host),
                                                   GNUTLS_FSAN_APPEND);
    for (size_t i = 0; rc >= 0 && i < 2; i++) {
        unsigned char ip[16];
        size_t iplen = 0, hostlen = 0;
        is_ip(LOOPBACK[i], ip, &iplen);
        if (is_ip(host, bin, &hostlen) && hostlen == iplen &&
            !memcmp(bin, ip, iplen))
            continue; /* the host is this address already */
        rc = gnutls_x509_crt_set_subject_alt_name(
            crt, GNUTLS_SAN_IPADDRESS, ip, (unsigned)iplen, GNUTLS_FSAN_APPEND);
    }
    return rc;
}

/* Everything but the names and the signature. */
static int set_fields(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key,
                      const char *host, time_t now)
{
    unsigned char serial[16], key_id[64];
    size_t key_id_len = sizeof key_id;
    static const char ORG[] = "SystemHealer (self-signed, for trying HTTPS)";
    randombytes_buf(serial, sizeof serial);
    serial[0] =
        (unsigned char)((serial[0] & 0x7f) | 0x40); /* positive, 16 bytes */
    int rc = gnutls_x509_crt_set_version(crt, 3);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_serial(crt, serial, sizeof serial);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_activation_time(crt, now - 300);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_expiration_time(
            crt, now + (time_t)HS_SELFSIGNED_DAYS * 86400);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0,
                                           host, (unsigned)strlen(host));
    if (rc >= 0)
        rc = gnutls_x509_crt_set_dn_by_oid(crt,
                                           GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
                                           ORG, (unsigned)strlen(ORG));
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key(crt, key);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER,
                                                 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA1, key_id,
                                        &key_id_len);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_len);
    return rc;
}

static hs_status make_pair(const char *host, pair *p, hs_error *err)
{
    time_t now = time(NULL);
    int rc = gnutls_x509_privkey_init(&p->key);
    if (rc < 0)
        return crypto_fail(err, "key", rc);
    rc = gnutls_x509_crt_init(&p->crt);
    if (rc < 0)
        return crypto_fail(err, "certificate", rc);
    rc = gnutls_x509_privkey_generate(
        p->key, GNUTLS_PK_ECDSA,
        GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
    if (rc < 0)
        return crypto_fail(err, "generating the ECDSA P-256 key", rc);
    if ((rc = set_fields(p->crt, p->key, host, now)) < 0)
        return crypto_fail(err, "setting its fields", rc);
    if ((rc = set_names(p->crt, host)) < 0)
        return crypto_fail(err, "setting its subjectAltName", rc);
    rc = gnutls_x509_crt_sign2(p->crt, p->crt, p->key, GNUTLS_DIG_SHA256, 0);
    if (rc < 0)
        return crypto_fail(err, "signing it", rc);
    return HS_OK;
}

static void free_pair(pair *p)
{
    if (p->crt)
        gnutls_x509_crt_deinit(p->crt);
    if (p->key)
        gnutls_x509_privkey_deinit(p->key);
}

static hs_status fingerprint(gnutls_x509_crt_t crt, hs_selfsigned *out,
                             hs_error *err)
{
    unsigned char digest[32];
    size_t len = sizeof digest;
    int rc =
        gnutls_x509_crt_get_fingerprint(crt, GNUTLS_DIG_SHA256, digest, &len);
    if (rc < 0 || len != sizeof digest)
        return crypto_fail(err, "its fingerprint", rc < 0 ? rc : 0);
    for (size_t i = 0; i < len; i++)
        snprintf(out->fingerprint + 3 * i, sizeof out->fingerprint - 3 * i,
                 i + 1 < len ? "%02X:" : "%02X", digest[i]);
    out->not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
    return HS_OK;
}

/* ---- the files ---- */

static hs_status io_fail(hs_error *err, const char *what, const char *path)
{
    char buf[128];
    return hs_fail_field(err, HS_ERR_IO, "out", "cannot %s %s: %s", what, path,
                         strerror_r(errno, buf, sizeof buf));
}

/* mkdir -p, each directory it creates mode 0700 whatever the umask. */
static hs_status make_dirs(const char *dir, hs_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    if (!*dir)
        return hs_fail_field(err, HS_ERR_INVALID, "out",
                             "the directory's name is empty");
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path)
        return hs_fail_field(err, HS_ERR_INVALID, "out",
                             "the path is too long");
    for (char *p = path + 1;; p++) {
        if (*p && *p != '/')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0700) == 0) {
            if (chmod(path, 0700) != 0)
                return io_fail(err, "set the mode of", path);
        } else if (errno != EEXIST) {
            return io_fail(err, "create the directory", path);
        }
        *p = saved;
        if (!saved)
            break;
    }
    if (stat(path, &st) != 0)
        return io_fail(err, "use", path);
    if (!S_ISDIR(st.st_mode))
        return hs_fail_field(err, HS_ERR_IO, "out", "%s is not a directory",
                             path);
    return HS_OK;
}

static hs_status join(char *out, size_t cap, const char *dir, const char *name,
                      hs_error *err)
{
    if (snprintf(out, cap, "%s/%s", dir, name) >= (int)cap)
        return hs_fail_field(err, HS_ERR_INVALID, "out",
                             "the path is too long");
    return HS_OK;
}

/* A temporary file next to `path` with data in it, synced, mode 0600. */
static hs_status write_temp(const char *path, const gnutls_datum_t *data,
                            char *tmp, size_t cap, hs_error *err)
{
    if (snprintf(tmp, cap, "%s.tmp.XXXXXX", path) >= (int)cap)
        return hs_fail_field(err, HS_ERR_INVALID, "out",
                             "the path is too long");
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return io_fail(err, "create a file in the directory of", path);
    size_t done = 0;
    ssize_t n = 0;
    int ok = fchmod(fd, 0600) == 0;
    while (ok && done < data->size &&
           (n = write(fd, data->data + done, data->size - done)) > 0)
        done += (size_t)n;
    ok = ok && done == data->size && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (!ok) {
        unlink(tmp);
        errno = saved;
        return io_fail(err, "write", path);
    }
    return HS_OK;
}

/* Puts data at path: atomically, never over an existing file unless force. */
static hs_status publish(const char *path, const gnutls_datum_t *data,
                         int force, hs_error *err)
{
    char tmp[PATH_MAX + 16];
    hs_status st = write_temp(path, data, tmp, sizeof tmp, err);
    if (st != HS_OK)
        return st;
    int rc = force ? rename(tmp, path) : link(tmp, path);
    int saved = errno;
    if (rc != 0 || !force)
        unlink(tmp);
    if (rc == 0)
        return HS_OK;
    errno = saved;
    if (saved == EEXIST)
        return hs_fail_field(err, HS_ERR_CONFLICT, "force",
                             "%s already exists (--force replaces it)", path);
    return io_fail(err, "write", path);
}

/* The refusal that names every file already there. */
static hs_status refuse_existing(const hs_selfsigned *out, hs_error *err)
{
    struct stat st;
    int cert = lstat(out->cert_path, &st) == 0;
    int key = lstat(out->key_path, &st) == 0;
    if (!cert && !key)
        return HS_OK;
    return hs_fail_field(err, HS_ERR_CONFLICT, "force",
                         "%s%s%s already exist%s: not overwritten (--force "
                         "replaces them)",
                         cert ? out->cert_path : "", cert && key ? " and " : "",
                         key ? out->key_path : "", cert && key ? "" : "s");
}

static hs_status write_files(const pair *p, int force, hs_selfsigned *out,
                             hs_error *err)
{
    gnutls_datum_t cert = {NULL, 0}, key = {NULL, 0};
    hs_status st = HS_OK;
    int rc = gnutls_x509_crt_export2(p->crt, GNUTLS_X509_FMT_PEM, &cert);
    if (rc >= 0)
        rc = gnutls_x509_privkey_export2_pkcs8(p->key, GNUTLS_X509_FMT_PEM,
                                               NULL, GNUTLS_PKCS_PLAIN, &key);
    if (rc < 0)
        st = crypto_fail(err, "writing it as PEM", rc);
    if (st == HS_OK)
        st = publish(out->key_path, &key, force, err);
    if (st == HS_OK &&
        (st = publish(out->cert_path, &cert, force, err)) != HS_OK && !force)
        unlink(out->key_path); /* ours, just made: no half pair is left */
    if (key.data) {
        sodium_memzero(key.data, key.size);
        gnutls_free(key.data);
    }
    gnutls_free(cert.data);
    return st;
}

hs_status hs_selfsigned_write(const char *dir, const char *host, int force,
                              hs_selfsigned *out, hs_error *err)
{
    pair p = {NULL, NULL};
    memset(out, 0, sizeof *out);
    if (!hs_selfsigned_host_ok(host))
        return hs_fail_field(err, HS_ERR_INVALID, "host",
                             "'%.64s' is not a host name or IP address "
                             "(letters, digits, hyphens and dots)",
                             host);
    hs_status st = join(out->cert_path, sizeof out->cert_path, dir,
                        HS_SELFSIGNED_CERT_FILE, err);
    if (st == HS_OK)
        st = join(out->key_path, sizeof out->key_path, dir,
                  HS_SELFSIGNED_KEY_FILE, err);
    if (st == HS_OK)
        st = make_dirs(dir, err);
    if (st == HS_OK && !force)
        st = refuse_existing(out, err);
    if (st == HS_OK)
        st = make_pair(host, &p, err);
    if (st == HS_OK)
        st = fingerprint(p.crt, out, err);
    if (st == HS_OK)
        st = write_files(&p, force, out, err);
    free_pair(&p);
    return st;
}
