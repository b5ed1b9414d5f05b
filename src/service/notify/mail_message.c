/* notify/mail_message.c - an alert as an RFC 5322 message (see mail.h).
 *
 * Why written out by hand rather than through a MIME library: a message
 * of ours is one text/plain part with fixed headers, and each rule that
 * matters is a few lines here, where a unit test can check the bytes -
 * the date in RFC 5322's English form whatever the locale, the subject in
 * RFC 2047 encoded words cut between characters, the body in
 * quoted-printable so that no line is too long and non-ASCII text passes
 * any relay (even one without 8BITMIME), and CRLF line ends throughout.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "notify/mail.h"

/* A growing text. `failed` sticks: later appends do nothing. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
    memcpy(t->buf + t->len, s, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

static void puts_(text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* ---- addresses ----------------------------------------------------------- */

int hs_mail_address_ok(const char *addr)
{
    const char *at, *p;
    size_t n;
    if (!addr)
        return 0;
    n = strlen(addr);
    if (n < 3 || n > HS_MAIL_ADDRESS_MAX)
        return 0;
    for (p = addr; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f ||
            strchr("<>()[],;:\\\"", *p))
            return 0;
    at = strchr(addr, '@');
    if (!at || at == addr || strchr(at + 1, '@') || !at[1])
        return 0;
    /* The domain: labels separated by single dots, none empty. */
    if (at[1] == '.' || addr[n - 1] == '.' || strstr(at, ".."))
        return 0;
    return 1;
}

/* ---- headers ------------------------------------------------------------- */

/* "Mon, 07 Dec 2026 08:00:00 +0000": English names, never the locale's. */
static void put_date(text *t, int64_t unix_seconds)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                       "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                         "May", "Jun", "Jul", "Aug",
                                         "Sep", "Oct", "Nov", "Dec"};
    time_t when = (time_t)unix_seconds;
    struct tm tm;
    char line[64];
    if (!gmtime_r(&when, &tm)) {
        t->failed = 1;
        return;
    }
    snprintf(line, sizeof line,
             "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
             days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
             tm.tm_hour, tm.tm_min, tm.tm_sec);
    puts_(t, line);
}

/* Bytes of raw text per encoded word: "=?UTF-8?B?" + 56 base64 + "?="
 * is 68 (RFC 2047 allows 75), and "Subject: " before the first still
 * fits a line of 78. */
#define WORD_BYTES 42

/* A subject may go out as it is when it is printable ASCII, short enough
 * for one line and holds nothing a reader would decode. */
static int subject_plain(const char *s)
{
    size_t n = strlen(s);
    if (n > 66 || strstr(s, "=?"))
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* Where to end a word of at most WORD_BYTES from s[0..n): never inside a
 * UTF-8 sequence (continuation bytes are 10xxxxxx). */
static size_t word_end(const unsigned char *s, size_t n)
{
    size_t end = n < WORD_BYTES ? n : WORD_BYTES;
    while (end < n && end > 0 && (s[end] & 0xC0) == 0x80)
        end--;
    return end ? end : (n < WORD_BYTES ? n : WORD_BYTES);
}

/* Subject: RFC 2047 B-encoded words, one per folded line. */
static void put_subject(text *t, const char *subject)
{
    const unsigned char *s = (const unsigned char *)subject;
    size_t n = strlen(subject);
    puts_(t, "Subject: ");
    if (subject_plain(subject)) {
        puts_(t, subject);
        puts_(t, "\r\n");
        return;
    }
    for (int first = 1; n > 0; first = 0) {
        char b64[sodium_base64_ENCODED_LEN(WORD_BYTES,
                                           sodium_base64_VARIANT_ORIGINAL)];
        size_t take = word_end(s, n);
        sodium_bin2base64(b64, sizeof b64, s, take,
                          sodium_base64_VARIANT_ORIGINAL);
        if (!first)
            puts_(t, "\r\n ");
        puts_(t, "=?UTF-8?B?");
        puts_(t, b64);
        puts_(t, "?=");
        s += take;
        n -= take;
    }
    puts_(t, "\r\n");
}

/* ---- the body: quoted-printable (RFC 2045 6.7) -------------------------- */

#define QP_LINE 76

/* Appends one line of the body (no line end in it), encoded, with soft
 * breaks ("=" CRLF) so that no encoded line is longer than QP_LINE. */
static void put_qp_line(text *t, const unsigned char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        char enc[4];
        size_t w;
        int last = i + 1 == n;
        if ((c >= 33 && c <= 126 && c != '=') ||
            ((c == ' ' || c == '\t') && !last)) {
            enc[0] = (char)c;
            w = 1;
        } else {
            enc[0] = '=';
            enc[1] = hex[c >> 4];
            enc[2] = hex[c & 15];
            w = 3;
        }
        /* Room for the soft break's '=' unless this is the line's end. */
        if (col + w > (last ? QP_LINE : QP_LINE - 1)) {
            puts_(t, "=\r\n");
            col = 0;
        }
        put(t, enc, w);
        col += w;
    }
    puts_(t, "\r\n");
}

/* The body line by line: LF and CRLF end a line; a lone CR is data. */
static void put_body(text *t, const char *body)
{
    const unsigned char *s = (const unsigned char *)body;
    size_t n = strlen(body), start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '\n')
            continue;
        size_t end = i;
        if (end > start && s[end - 1] == '\r')
            end--;
        if (i < n || end > start)
            put_qp_line(t, s + start, end - start);
        start = i + 1;
    }
}

hs_status hs_mail_format(const hs_mail *m, char **out, size_t *len,
                         hs_error *err)
{
    text t = {0};
    if (!m || !out || !len)
        return hs_fail(err, HS_ERR_INVALID, "mail: missing argument");
    *out = NULL;
    *len = 0;
    if (!hs_mail_address_ok(m->from) || !hs_mail_address_ok(m->to))
        return hs_fail(err, HS_ERR_INVALID,
                       "mail: the sender and the recipient must be plain "
                       "addresses (name@domain)");
    if (!m->subject || !m->subject[0] || strlen(m->subject) > 200 ||
        strpbrk(m->subject, "\r\n") || !m->body || !m->body[0] ||
        !m->message_id || !m->message_id[0] || strpbrk(m->message_id, "\r\n") ||
        (m->event && strpbrk(m->event, "\r\n")))
        return hs_fail(err, HS_ERR_INVALID,
                       "mail: a subject of one line (1..200 bytes), a body "
                       "and a message id are needed");
    put_date(&t, m->date);
    puts_(&t, "From: SystemHealer <");
    puts_(&t, m->from);
    puts_(&t, ">\r\nTo: <");
    puts_(&t, m->to);
    puts_(&t, ">\r\nMessage-ID: ");
    puts_(&t, m->message_id);
    puts_(&t, "\r\n");
    put_subject(&t, m->subject);
    puts_(&t, "MIME-Version: 1.0\r\n"
              "Content-Type: text/plain; charset=UTF-8\r\n"
              "Content-Transfer-Encoding: quoted-printable\r\n"
              "Auto-Submitted: auto-generated\r\n");
    if (m->event && m->event[0]) {
        puts_(&t, "X-Healer-Event: ");
        puts_(&t, m->event);
        puts_(&t, "\r\n");
    }
    puts_(&t, "\r\n");
    put_body(&t, m->body);
    if (t.failed) {
        free(t.buf);
        return hs_fail(err, HS_ERR_NOMEM, "mail: out of memory");
    }
    *out = t.buf;
    *len = t.len;
    return HS_OK;
}
