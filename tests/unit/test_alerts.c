/* test_alerts.c - alerts from the message's bytes to the outbox: the
 * RFC 5322 message (headers, the subject's RFC 2047 words, the
 * quoted-printable body), the addresses accepted, the webhook's JSON, who
 * an alert goes to (resolved from users' e-mail in a real SQLite store),
 * the watch over the store's writes (one alert per kind per 10 minutes,
 * "connection_failures" after failures in a row), retries and giving up,
 * and the settings refused. The end-to-end delivery (an SMTP sink, the
 * webhook, a relay down) is tests/api/test_alerts.py's. */
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "base/clock.h"
#include "domain/alerts.h"
#include "domain/notifications.h"
#include "notify/mail.h"
#include "notify/webhook.h"
#include "store/store.h"
#include "testutil.h"

/* ---- the message ------------------------------------------------------- */

static char *format(const char *subject, const char *body)
{
    hs_mail m = {"healer@example.org",
                 "ann@example.org",
                 subject,
                 body,
                 "training_failed",
                 1796601600,
                 "<1.abc@example.org>"};
    char *out = NULL;
    size_t len = 0;
    hs_error err = {0};
    assert_int_equal(hs_mail_format(&m, &out, &len, &err), HS_OK);
    assert_int_equal(strlen(out), len);
    return out;
}

/* Every line ends in CRLF, none is longer than 78 bytes, no bare CR/LF. */
static void assert_lines_ok(const char *msg)
{
    const char *p = msg;
    while (*p) {
        const char *eol = strstr(p, "\r\n");
        assert_non_null(eol);
        assert_true(eol - p <= 78);
        for (const char *q = p; q < eol; q++)
            assert_true(*q != '\r' && *q != '\n');
        p = eol + 2;
    }
}

/* The value of header `name` (unfolded: "\r\n " removed) into out. */
static void header(const char *msg, const char *name, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof key, "\r\n%s: ", name);
    const char *p = strstr(msg, key);
    if (!p && !strncmp(msg, key + 2, strlen(key) - 2))
        p = msg - 2;
    assert_non_null(p);
    p += strlen(key);
    size_t n = 0;
    while (*p && n + 1 < cap) {
        if (p[0] == '\r' && p[1] == '\n') {
            if (p[2] != ' ')
                break;
            p += 3;
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
}

static int unhex(char c)
{
    return c >= 'A' ? c - 'A' + 10 : c - '0';
}

/* Decodes a quoted-printable body (after the blank line) back to text
 * with LF line ends. */
static void qp_decode(const char *msg, char *out, size_t cap)
{
    const char *p = strstr(msg, "\r\n\r\n") + 4;
    size_t n = 0;
    while (*p && n + 1 < cap) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n')
            p += 3;
        else if (p[0] == '=') {
            out[n++] = (char)(unhex(p[1]) * 16 + unhex(p[2]));
            p += 3;
        } else if (p[0] == '\r' && p[1] == '\n') {
            out[n++] = '\n';
            p += 2;
        } else
            out[n++] = *p++;
    }
    out[n] = '\0';
}

/* Decodes "=?UTF-8?B?...?=" words (separated by spaces) back to text. */
static void words_decode(const char *value, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = value;
    while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
        p += 10;
        const char *end = strstr(p, "?=");
        assert_non_null(end);
        assert_true(end - p + 12 <= 75); /* RFC 2047's word limit */
        unsigned char bin[64];
        size_t len = 0;
        assert_int_equal(sodium_base642bin(bin, sizeof bin, p,
                                           (size_t)(end - p), NULL, &len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL),
                         0);
        assert_true(n + len < cap);
        memcpy(out + n, bin, len);
        n += len;
        p = end + 2;
    }
    out[n] = '\0';
}

static void test_message_headers(void **state)
{
    (void)state;
    char *msg = format("SystemHealer: a training failed", "Hello ann,\n\nok\n");
    char v[256];
    assert_lines_ok(msg);
    assert_true(!strncmp(msg, "Date: Mon, 07 Dec 2026 00:00:00 +0000\r\n", 39));
    header(msg, "From", v, sizeof v);
    assert_string_equal(v, "SystemHealer <healer@example.org>");
    header(msg, "To", v, sizeof v);
    assert_string_equal(v, "<ann@example.org>");
    header(msg, "Message-ID", v, sizeof v);
    assert_string_equal(v, "<1.abc@example.org>");
    header(msg, "Subject", v, sizeof v);
    assert_string_equal(v, "SystemHealer: a training failed"); /* plain */
    header(msg, "MIME-Version", v, sizeof v);
    assert_string_equal(v, "1.0");
    header(msg, "Content-Type", v, sizeof v);
    assert_string_equal(v, "text/plain; charset=UTF-8");
    header(msg, "Content-Transfer-Encoding", v, sizeof v);
    assert_string_equal(v, "quoted-printable");
    header(msg, "Auto-Submitted", v, sizeof v);
    assert_string_equal(v, "auto-generated");
    header(msg, "X-Healer-Event", v, sizeof v);
    assert_string_equal(v, "training_failed");
    assert_non_null(strstr(msg, "\r\n\r\nHello ann,\r\n\r\nok\r\n"));
    free(msg);
}

/* Non-ASCII, long or "=?"-holding subjects become encoded words, cut
 * between characters, that decode to the subject exactly. */
static void test_message_subject_encoding(void **state)
{
    (void)state;
    const char *subjects[] = {
        "SystemHealer: \xe8\xae\xad\xe7\xbb\x83\xe5\xa4\xb1\xe8\xb4\xa5 "
        "(training failed) \xe2\x80\x94 \xe4\xbd\x9c\xe4\xb8\x9a 7 "
        "\xe5\xb7\xb2\xe9\x87\x8d\xe8\xaf\x95\xe4\xb8\x89\xe6\xac\xa1 "
        "\xf0\x9f\x94\xa5\xf0\x9f\x94\xa5\xf0\x9f\x94\xa5",
        "a plain ASCII subject that is far too long to stay on one header "
        "line of its own",
        "looks =?UTF-8?B?encoded?= but is not",
    };
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
        char *msg = format(subjects[i], "x");
        char v[1024], decoded[512];
        assert_lines_ok(msg);
        header(msg, "Subject", v, sizeof v);
        assert_true(!strncmp(v, "=?UTF-8?B?", 10));
        words_decode(v, decoded, sizeof decoded);
        assert_string_equal(decoded, subjects[i]);
        /* Each word decodes to whole UTF-8 characters. */
        const char *w = strstr(msg, "Subject: ") + 9;
        for (const char *p = w; (p = strstr(p, "=?UTF-8?B?")); p += 10) {
            char one[128], part[64];
            const char *end = strstr(p, "?=");
            snprintf(one, sizeof one, "%.*s", (int)(end - p + 2), p);
            words_decode(one, part, sizeof part);
            assert_true(((unsigned char)part[0] & 0xC0) != 0x80);
        }
        free(msg);
    }
}

/* The body: quoted-printable that decodes to the text (LF or CRLF in,
 * CRLF out), with soft breaks in long lines, '=' and trailing spaces
 * encoded, a line of a single dot left for the SMTP client. */
static void test_message_body(void **state)
{
    (void)state;
    char body[2000], decoded[4000];
    size_t n = (size_t)snprintf(
        body, sizeof body, "caf\xc3\xa9 = 1 \r\n.\ntrailing space \nab\ttab\n");
    for (int i = 0; i < 300; i++)
        body[n++] = (char)('a' + i % 26);
    snprintf(body + n, sizeof body - n, "\n\xe2\x82\xac end");
    char *msg = format("s", body);
    assert_lines_ok(msg);
    assert_non_null(strstr(msg, "\r\n\r\ncaf=C3=A9 =3D 1=20\r\n.\r\n"
                                "trailing space=20\r\nab\ttab\r\n"));
    qp_decode(msg, decoded, sizeof decoded);
    /* The text back, its CRLF as LF. */
    char want[2000];
    size_t w = 0;
    for (const char *p = body; *p; p++)
        if (!(p[0] == '\r' && p[1] == '\n'))
            want[w++] = *p;
    want[w] = '\0';
    strcat(want, "\n");
    assert_string_equal(decoded, want);
    free(msg);
}

static void test_message_refusals(void **state)
{
    (void)state;
    char *out = (char *)1;
    size_t len = 1;
    hs_error err = {0};
    hs_mail ok = {
        "healer@example.org", "ann@example.org", "s", "b", NULL, 0, "<x@y>"};
    hs_mail m = ok;
    m.subject = "two\r\nBcc: eve@example.org";
    assert_int_equal(hs_mail_format(&m, &out, &len, &err), HS_ERR_INVALID);
    assert_null(out);
    m = ok;
    m.to = "ann@example.org>\r\nBcc: eve@example.org";
    assert_int_equal(hs_mail_format(&m, &out, &len, &err), HS_ERR_INVALID);
    m = ok;
    m.body = "";
    assert_int_equal(hs_mail_format(&m, &out, &len, &err), HS_ERR_INVALID);
    m = ok;
    m.event = "x\ny";
    assert_int_equal(hs_mail_format(&m, &out, &len, &err), HS_ERR_INVALID);
    assert_int_equal(hs_mail_format(&ok, &out, &len, &err), HS_OK);
    free(out);
}

static void test_addresses(void **state)
{
    (void)state;
    const char *good[] = {"ann@example.org", "a.b+ops@sub.example.co",
                          "root@localhost", "x@y"};
    const char *bad[] = {"",
                         "ann",
                         "@example.org",
                         "ann@",
                         "a@b@c",
                         "ann @example.org",
                         "ann@exa mple.org",
                         "<ann@example.org>",
                         "ann@example.org\r\n",
                         "\"a\"@example.org",
                         "ann@.example.org",
                         "ann@example.org.",
                         "ann@example..org",
                         "a,b@example.org",
                         "ann@[127.0.0.1]"};
    char long_addr[300];
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(hs_mail_address_ok(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (hs_mail_address_ok(bad[i]))
            fail_msg("accepted '%s'", bad[i]);
    assert_false(hs_mail_address_ok(NULL));
    memset(long_addr, 'a', sizeof long_addr);
    memcpy(long_addr + 240, "@example.org", 13); /* 252 bytes */
    assert_true(hs_mail_address_ok(long_addr));
    memcpy(long_addr + 250, "@example.org", 13); /* 262 */
    assert_false(hs_mail_address_ok(long_addr));
}

static void test_webhook_payload(void **state)
{
    (void)state;
    hs_webhook_event e = {"store_failing", "S", "line 1\n\"quoted\"", NULL,
                          1796601600};
    char *text = hs_webhook_payload(&e);
    json_error_t jerr;
    json_t *o = json_loads(text, 0, &jerr);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 5);
    assert_string_equal(json_string_value(json_object_get(o, "event")),
                        "store_failing");
    assert_string_equal(json_string_value(json_object_get(o, "body")),
                        "line 1\n\"quoted\"");
    assert_true(json_is_null(json_object_get(o, "user")));
    assert_string_equal(json_string_value(json_object_get(o, "at")),
                        "2026-12-07T00:00:00Z");
    json_decref(o);
    free(text);
    e.user = "ann";
    e.body = "bad \xff utf-8";
    assert_null(hs_webhook_payload(&e));
}

/* ---- recipients, the outbox and the watch ------------------------------ */

typedef struct env {
    char dir[64];
    hs_clock *clock;
    hs_app app;
} env;

static hs_id add_user(env *e, const char *name, int admin, int disabled,
                      const char *email)
{
    hs_user u;
    hs_error err = {0};
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", name);
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    snprintf(u.email, sizeof u.email, "%s", email);
    u.is_admin = admin;
    u.disabled = disabled;
    assert_int_equal(hs_store_user_create(e->app.store, &u, &err), HS_OK);
    return u.id;
}

static env *env_open(const char *smtp_url, const char *webhook_url,
                     unsigned retry_max, int system_clock)
{
    env *e = calloc(1, sizeof *e);
    char url[128];
    hs_error err = {0};
    assert_non_null(e);
    snprintf(e->dir, sizeof e->dir, "/tmp/healer-alerts-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(url, sizeof url, "sqlite:%s/healer.db", e->dir);
    assert_int_equal(hs_store_open(url, &e->app.store, &err), HS_OK);
    e->clock = system_clock ? NULL : hs_clock_manual(1796601600);
    e->app.clock = system_clock ? hs_clock_system() : e->clock;
    hs_alerts_config cfg = {smtp_url,
                            smtp_url ? "healer@example.org" : NULL,
                            NULL,
                            NULL,
                            webhook_url,
                            retry_max,
                            hs_notifications_io};
    assert_int_equal(hs_alerts_new(&e->app, &cfg, &e->app.alerts, &err), HS_OK);
    return e;
}

static void env_close(env *e)
{
    hs_alerts_free(e->app.alerts);
    hs_store_close(e->app.store);
    hs_clock_free(e->clock);
    tu_rm_rf(e->dir);
    free(e);
}

/* Every outbox row due now (claims them). */
static hs_outbox_msg *rows(env *e, size_t *n)
{
    hs_outbox_msg *items = NULL;
    hs_error err = {0};
    assert_int_equal(hs_store_outbox_claim(e->app.store, (int64_t)1 << 40, 60,
                                           1000, &items, n, &err),
                     HS_OK);
    return items;
}

static void test_recipients(void **state)
{
    (void)state;
    env *e = env_open("smtp://127.0.0.1:9", "http://127.0.0.1:9/hook", 3, 0);
    hs_error err = {0};
    hs_id ann = add_user(e, "ann", 0, 0, "ann@example.org");
    add_user(e, "root", 1, 0, "root@example.org");
    add_user(e, "gone", 1, 1, "gone@example.org"); /* disabled */
    add_user(e, "mute", 1, 0, "");                 /* no address */
    add_user(e, "twin", 1, 0, "ANN@example.org");  /* ann's address */
    hs_id bob = add_user(e, "bob", 0, 0, "");
    hs_id root2 = add_user(e, "root2", 1, 0, "root2@example.org");
    hs_alert a = {"training_failed", HS_ALERT_TO_BOTH, ann,
                  "SystemHealer: a training failed", "train job 7 failed", 0, NULL};
    size_t n = 0;

    assert_int_equal(hs_alerts_send(&e->app, &a, &err), HS_OK);
    hs_outbox_msg *m = rows(e, &n);
    /* ann, root, root2 (twin shares ann's address), and the webhook. */
    assert_int_equal(n, 4);
    assert_string_equal(m[0].recipient, "ann@example.org");
    assert_true(!strncmp(m[0].body, "Hello ann,\n\ntrain job 7 failed\n", 31));
    assert_string_equal(m[1].recipient, "root@example.org");
    assert_true(!strncmp(m[1].body, "Hello root,", 11));
    assert_string_equal(m[2].recipient, "root2@example.org");
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(m[i].channel, HS_OUTBOX_MAIL);
        assert_string_equal(m[i].subject, "SystemHealer: a training failed");
        assert_int_equal(m[i].user_id, ann);
        assert_int_equal(m[i].created_at, 1796601600);
    }
    assert_string_equal(m[3].channel, HS_OUTBOX_WEBHOOK);
    assert_string_equal(m[3].body, "train job 7 failed"); /* as written */
    free(m);

    /* To a user only; an admin as the user gets one mail. */
    a.audience = HS_ALERT_TO_USER;
    assert_int_equal(hs_alerts_send(&e->app, &a, &err), HS_OK);
    m = rows(e, &n);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].recipient, "ann@example.org");
    free(m);
    a.audience = HS_ALERT_TO_BOTH;
    a.user_id = root2;
    assert_int_equal(hs_alerts_send(&e->app, &a, &err), HS_OK);
    m = rows(e, &n);
    assert_int_equal(n, 4); /* root2 once, ann (via twin), root, webhook */
    free(m);
    /* A user without an address: no mail (not an error), the webhook. */
    a.audience = HS_ALERT_TO_USER;
    a.user_id = bob;
    assert_int_equal(hs_alerts_send(&e->app, &a, &err), HS_OK);
    m = rows(e, &n);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].channel, HS_OUTBOX_WEBHOOK);
    free(m);

    /* Malformed alerts. */
    a.user_id = 0;
    assert_int_equal(hs_alerts_send(&e->app, &a, &err), HS_ERR_INVALID);
    a.user_id = ann;
    a.subject = "two\nlines";
    assert_int_equal(hs_alerts_send(&e->app, &a, &err), HS_ERR_INVALID);
    env_close(e);
}

/* Count of notifications of `kind`. */
static size_t notes(env *e, const char *kind)
{
    hs_notification *items = NULL;
    size_t n = 0, count = 0;
    hs_error err = {0};
    assert_int_equal(
        hs_store_notification_list(e->app.store, 0, &items, &n, &err), HS_OK);
    for (size_t i = 0; i < n; i++)
        count += !strcmp(items[i].kind, kind);
    free(items);
    return count;
}

static void test_store_watch(void **state)
{
    (void)state;
    env *e = env_open(NULL, NULL, 3, 0);
    hs_error io = {0};
    snprintf(io.message, sizeof io.message, "database is locked");
    hs_error none = {0};

    assert_int_equal(hs_notifications_io(&e->app, HS_OK, "x", &none), HS_OK);
    assert_int_equal(hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &io),
                     HS_ERR_IO);
    assert_int_equal(notes(e, "store_failing"), 1);
    assert_int_equal(notes(e, "connection_failures"), 0);
    /* A success ends the run. */
    hs_notifications_io(&e->app, HS_ERR_NOTFOUND, "claiming", &none);
    hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &io);
    hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &io);
    assert_int_equal(notes(e, "connection_failures"), 0);
    hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &io); /* 3 in a row */
    assert_int_equal(notes(e, "connection_failures"), 1);
    assert_int_equal(notes(e, "store_failing"), 1); /* 10 minutes apart */
    for (int i = 0; i < 5; i++)
        hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &io);
    assert_int_equal(notes(e, "store_failing"), 1);
    assert_int_equal(notes(e, "connection_failures"), 1);
    hs_clock_advance(e->clock, HS_NOTIFICATIONS_TROUBLE_SECONDS - 1);
    hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &io);
    assert_int_equal(notes(e, "store_failing"), 1);
    hs_clock_advance(e->clock, 1);
    hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &io);
    assert_int_equal(notes(e, "store_failing"), 2);
    assert_int_equal(notes(e, "connection_failures"), 2);
    /* Other errors are not the store's trouble. */
    hs_clock_advance(e->clock, HS_NOTIFICATIONS_TROUBLE_SECONDS);
    hs_notifications_io(&e->app, HS_ERR_INVALID, "x", &none);
    assert_int_equal(notes(e, "store_failing"), 2);
    env_close(e);
}

/* A database that cannot be reached is the store's trouble too, and its
 * failures make one run with I/O errors. */
static void test_store_watch_unavailable(void **state)
{
    (void)state;
    env *e = env_open(NULL, NULL, 3, 0);
    hs_error down = {0};
    snprintf(down.message, sizeof down.message,
             "the database cannot be reached");
    assert_int_equal(
        hs_notifications_io(&e->app, HS_ERR_UNAVAILABLE, "claiming", &down),
        HS_ERR_UNAVAILABLE);
    assert_int_equal(notes(e, "store_failing"), 1);
    hs_notifications_io(&e->app, HS_ERR_IO, "claiming", &down);
    assert_int_equal(notes(e, "connection_failures"), 0);
    hs_notifications_io(&e->app, HS_ERR_UNAVAILABLE, "claiming", &down);
    assert_int_equal(notes(e, "connection_failures"), 1);
    env_close(e);
}

/* Without alerts at all (tools, tests), the watch still notifies. */
static void test_store_watch_without_alerts(void **state)
{
    (void)state;
    env *e = env_open(NULL, NULL, 3, 0);
    hs_error io = {0};
    hs_alerts_free(e->app.alerts);
    e->app.alerts = NULL;
    hs_notifications_io(&e->app, HS_ERR_IO, "x", &io);
    assert_int_equal(notes(e, "store_failing"), 1);
    env_close(e);
}

/* A notification raised goes out as an alert: a failed job to its owner
 * and the admins, an account lock to the admins only. */
static void test_notifications_go_out(void **state)
{
    (void)state;
    env *e = env_open("smtp://127.0.0.1:9", NULL, 3, 0);
    hs_error err = {0};
    hs_id ann = add_user(e, "ann", 0, 0, "ann@example.org");
    add_user(e, "root", 1, 0, "root@example.org");
    size_t n = 0;
    assert_int_equal(hs_notifications_raise(&e->app, "training_failed",
                                            "train job 3 made no model", ann,
                                            &err),
                     HS_OK);
    hs_outbox_msg *m = rows(e, &n);
    assert_int_equal(n, 2);
    assert_string_equal(m[0].recipient, "ann@example.org");
    assert_string_equal(m[0].subject, "SystemHealer: a training failed");
    assert_string_equal(m[1].recipient, "root@example.org");
    free(m);
    assert_int_equal(hs_notifications_raise(&e->app, "account_locked",
                                            "account 'ann' locked", ann, &err),
                     HS_OK);
    m = rows(e, &n);
    assert_int_equal(n, 1);
    assert_string_equal(m[0].recipient, "root@example.org");
    assert_string_equal(m[0].subject, "SystemHealer: account locked");
    free(m);
    assert_int_equal(notes(e, "account_locked"), 1);
    env_close(e);
}

/* A relay that refuses connections: the sender retries after
 * HS_ALERTS_RETRY_FIRST seconds, then gives up after retry_max attempts,
 * each failure kept in the row. */
static void test_retry_then_give_up(void **state)
{
    (void)state;
    env *e = env_open("smtp://127.0.0.1:9", NULL, 2, 1);
    hs_error err = {0};
    hs_id ann = add_user(e, "ann", 0, 0, "ann@example.org");
    hs_alert a = {"job_failed", HS_ALERT_TO_USER, ann, "s", "b", 0, NULL};
    hs_outbox_msg got;
    assert_int_equal(hs_alerts_start(e->app.alerts, &err), HS_OK);
    assert_int_equal(hs_alerts_send(&e->app, &a, &err), HS_OK);
    /* Attempt 1 fails at once; the next is due RETRY_FIRST s later. */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(hs_store_outbox_get(e->app.store, 1, &got, &err),
                         HS_OK);
        if (got.attempts >= 1)
            break;
        usleep(100000);
    }
    assert_int_equal(got.attempts, 1);
    assert_string_equal(got.state, HS_OUTBOX_PENDING);
    assert_in_range(got.next_attempt_at - got.created_at, HS_ALERTS_RETRY_FIRST,
                    HS_ALERTS_RETRY_FIRST + 1);
    assert_non_null(strstr(got.last_error, "SMTP relay"));
    for (int i = 0; i < 80; i++) {
        assert_int_equal(hs_store_outbox_get(e->app.store, 1, &got, &err),
                         HS_OK);
        if (!strcmp(got.state, HS_OUTBOX_FAILED))
            break;
        usleep(100000);
    }
    assert_string_equal(got.state, HS_OUTBOX_FAILED);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(got.sent_at, 0);
    env_close(e);
}

static void test_settings_refused(void **state)
{
    (void)state;
    hs_app app = {0};
    hs_alerts *a = NULL;
    hs_error err = {0};
    char creds[] = "/tmp/healer-creds-XXXXXX";
    int fd = mkstemp(creds);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "user:pw\n", 8), 8);
    close(fd);
    app.clock = hs_clock_system();

    hs_alerts_config c = {"smtp://relay:25", NULL, NULL, NULL, NULL, 3, NULL};
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "smtp-from");
    c.smtp_from = "healer@example.org";
    c.smtp_url = "smtp://";
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "smtp-url");
    c.smtp_url = "smtp://relay:25";
    c.smtp_credentials_file = creds;
    chmod(creds, 0640);
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "smtp-credentials-file");
    assert_non_null(strstr(err.message, "chmod 600"));
    chmod(creds, 0600);
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_OK);
    hs_alerts_free(a);
    /* Through a symbolic link (a secrets mount): followed, and the file
     * it leads to is checked. */
    char link_path[64];
    snprintf(link_path, sizeof link_path, "%s-link", creds);
    assert_int_equal(symlink(creds, link_path), 0);
    c.smtp_credentials_file = link_path;
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_OK);
    hs_alerts_free(a);
    chmod(creds, 0640);
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "chmod 600"));
    chmod(creds, 0600);
    unlink(link_path);
    c.smtp_credentials_file = creds;
    c.webhook_url = "ftp://x/";
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "webhook-url");
    c.webhook_url = "https://chat.example.org/hook?x=1";
    c.retry_max = 0;
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_ERR_INVALID);
    c.retry_max = 1;
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_OK);
    hs_alerts_free(a);
    c.smtp_url = NULL;
    assert_int_equal(hs_alerts_new(&app, &c, &a, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "smtp-from");
    unlink(creds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_message_headers),
        cmocka_unit_test(test_message_subject_encoding),
        cmocka_unit_test(test_message_body),
        cmocka_unit_test(test_message_refusals),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_webhook_payload),
        cmocka_unit_test(test_recipients),
        cmocka_unit_test(test_store_watch),
        cmocka_unit_test(test_store_watch_unavailable),
        cmocka_unit_test(test_store_watch_without_alerts),
        cmocka_unit_test(test_notifications_go_out),
        cmocka_unit_test(test_retry_then_give_up),
        cmocka_unit_test(test_settings_refused),
    };
    return cmocka_run_group_tests_name("alerts", tests, NULL, NULL);
}
