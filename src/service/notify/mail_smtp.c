/* notify/mail_smtp.c - sends a message through the configured SMTP relay
 * with libcurl (see mail.h); the only code that speaks SMTP.
 *
 * One connection per message: alerts are rare, and a fresh transfer
 * needs no shared state between threads or after a relay restart.
 * STARTTLS is asked for with CURLUSESSL_TRY: used whenever the relay
 * offers it, plain SMTP otherwise (a relay on the loopback or a trusted
 * network often offers none); smtps:// is TLS from the first byte. The
 * relay's certificate is checked against the system's CAs. Dot-stuffing
 * and the final "." are libcurl's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "notify/mail.h"
#include "notify/transfer.h"

/* The longest credentials file line we read, "USER:PASSWORD". */
#define CREDENTIALS_MAX 1024

struct hs_mail_relay {
    char url[1024];
    char from[HS_MAIL_ADDRESS_MAX + 1];
    char domain[HS_MAIL_ADDRESS_MAX + 1]; /* of from: Message-IDs */
    char user[CREDENTIALS_MAX];           /* "" = no login */
    char password[CREDENTIALS_MAX];
    char ca_file[1024]; /* "" = the system's CAs */
};

static const char *const SMTP_SCHEMES[] = {"smtp://", "smtps://", NULL};

/* Reads "USER:PASSWORD" from the first line of `path`, refusing a file
 * that group or others may access. A symbolic link is followed (a secrets
 * mount is one); the checks are on the file opened (fstat). */
static hs_status read_credentials(hs_mail_relay *r, const char *path,
                                  hs_error *err)
{
    const char *key = "smtp-credentials-file";
    char buf[CREDENTIALS_MAX + 2], reason[128];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hs_fail_field(err, HS_ERR_IO, key, "%s %s: %s", key, path,
                             strerror_r(errno, reason, sizeof reason));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hs_fail_field(err, HS_ERR_INVALID, key,
                             "%s %s: not a regular file", key, path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return hs_fail_field(err, HS_ERR_INVALID, key,
                             "%s %s: group or others may read it (mode %04o); "
                             "make it private: chmod 600 %s",
                             key, path, (unsigned)(st.st_mode & 07777), path);
    }
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return hs_fail_field(err, HS_ERR_IO, key, "%s %s: cannot read it", key,
                             path);
    buf[n] = '\0';
    buf[strcspn(buf, "\r\n")] = '\0';
    char *colon = strchr(buf, ':');
    hs_status st_rc = HS_OK;
    if (strlen(buf) > CREDENTIALS_MAX - 1 || !colon || colon == buf ||
        !colon[1])
        st_rc = hs_fail_field(err, HS_ERR_INVALID, key,
                              "%s %s: expected USER:PASSWORD on its first "
                              "line (at most %d bytes)",
                              key, path, CREDENTIALS_MAX - 1);
    else {
        /* Both fit: the whole line is shorter than either field. */
        size_t user_len = (size_t)(colon - buf);
        memcpy(r->user, buf, user_len);
        r->user[user_len] = '\0';
        memcpy(r->password, colon + 1, strlen(colon + 1) + 1);
    }
    sodium_memzero(buf, sizeof buf);
    return st_rc;
}

/* The CA file must be there and readable now, not at the first alert. */
static hs_status check_ca_file(hs_mail_relay *r, const char *path,
                               hs_error *err)
{
    char reason[128];
    if (strlen(path) >= sizeof r->ca_file)
        return hs_fail_field(err, HS_ERR_INVALID, "smtp-ca-file",
                             "smtp-ca-file: the path is too long");
    if (access(path, R_OK) != 0)
        return hs_fail_field(err, HS_ERR_IO, "smtp-ca-file",
                             "smtp-ca-file %s: %s", path,
                             strerror_r(errno, reason, sizeof reason));
    snprintf(r->ca_file, sizeof r->ca_file, "%s", path);
    return HS_OK;
}

hs_status hs_mail_relay_new(const hs_mail_relay_config *cfg,
                            hs_mail_relay **out, hs_error *err)
{
    const char *url = cfg->url, *from = cfg->from;
    hs_mail_relay *r;
    hs_status st = HS_OK;
    *out = NULL;
    if (!url || strlen(url) >= sizeof r->url ||
        !hs_transfer_url_ok(url, SMTP_SCHEMES))
        return hs_fail_field(err, HS_ERR_INVALID, "smtp-url",
                             "smtp-url: expected smtp://HOST[:PORT] or "
                             "smtps://HOST[:PORT]");
    if (!hs_mail_address_ok(from))
        return hs_fail_field(err, HS_ERR_INVALID, "smtp-from",
                             "smtp-from: expected the sender's address "
                             "(name@domain), got '%.80s'",
                             from ? from : "");
    if ((st = hs_transfer_init(err)) != HS_OK)
        return st;
    r = calloc(1, sizeof *r);
    if (!r)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    snprintf(r->url, sizeof r->url, "%s", url);
    snprintf(r->from, sizeof r->from, "%s", from);
    snprintf(r->domain, sizeof r->domain, "%s", strchr(from, '@') + 1);
    if (cfg->credentials_file && cfg->credentials_file[0])
        st = read_credentials(r, cfg->credentials_file, err);
    if (st == HS_OK && cfg->ca_file && cfg->ca_file[0])
        st = check_ca_file(r, cfg->ca_file, err);
    if (st != HS_OK) {
        hs_mail_relay_free(r);
        return st;
    }
    *out = r;
    return HS_OK;
}

void hs_mail_relay_free(hs_mail_relay *r)
{
    if (!r)
        return;
    sodium_memzero(r, sizeof *r);
    free(r);
}

/* The message handed to libcurl a piece at a time. */
typedef struct upload {
    const char *data;
    size_t left;
} upload;

static size_t read_message(char *dst, size_t size, size_t nmemb, void *user)
{
    upload *u = user;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;
    memcpy(dst, u->data, n);
    u->data += n;
    u->left -= n;
    return n;
}

/* Sets the SMTP options of one transfer to `to`. */
static CURLcode smtp_options(CURL *c, const hs_mail_relay *r,
                             struct curl_slist *rcpt, upload *u)
{
    char from[HS_MAIL_ADDRESS_MAX + 3];
    CURLcode rc;
    snprintf(from, sizeof from, "<%s>", r->from);
    rc = curl_easy_setopt(c, CURLOPT_URL, r->url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_TRY);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_READDATA, u);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    if (rc == CURLE_OK && r->ca_file[0])
        rc = curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
    if (rc == CURLE_OK && r->user[0])
        rc = curl_easy_setopt(c, CURLOPT_USERNAME, r->user);
    if (rc == CURLE_OK && r->user[0])
        rc = curl_easy_setopt(c, CURLOPT_PASSWORD, r->password);
    return rc;
}

hs_status hs_mail_relay_send(hs_mail_relay *r, const char *to,
                             const char *subject, const char *body,
                             const char *event, int64_t date,
                             const atomic_int *abort_flag, hs_error *err)
{
    unsigned char nonce[12];
    char nonce_hex[sizeof nonce * 2 + 1], id[HS_MAIL_ADDRESS_MAX + 64];
    char rcpt_text[HS_MAIL_ADDRESS_MAX + 3], *message = NULL;
    struct curl_slist *rcpt = NULL;
    hs_transfer_opts opts = {"smtp,smtps", abort_flag};
    size_t len = 0;
    CURL *c = NULL;
    hs_status st;

    randombytes_buf(nonce, sizeof nonce);
    sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
    snprintf(id, sizeof id, "<%lld.%s@%s>", (long long)date, nonce_hex,
             r->domain);
    hs_mail m = {r->from, to, subject, body, event, date, id};
    if ((st = hs_mail_format(&m, &message, &len, err)) != HS_OK)
        return st;
    snprintf(rcpt_text, sizeof rcpt_text, "<%s>", to);
    upload u = {message, len};
    c = curl_easy_init();
    rcpt = curl_slist_append(NULL, rcpt_text);
    if (!c || !rcpt)
        st = hs_fail(err, HS_ERR_NOMEM, "mail: out of memory");
    else if (smtp_options(c, r, rcpt, &u) != CURLE_OK)
        st = hs_fail(err, HS_ERR_INTERNAL, "mail: cannot configure libcurl");
    else
        st = hs_transfer_run(c, &opts, "SMTP relay", err);
    curl_slist_free_all(rcpt);
    if (c)
        curl_easy_cleanup(c);
    free(message);
    return st;
}
