/* notify/mail.h - e-mail out of the platform: the message (RFC 5322) and
 * its delivery through an SMTP relay (libcurl).
 *
 * Two parts, each in its own file: mail_message.c writes a message from
 * plain UTF-8 texts (pure, so a unit test reads every header), and
 * mail_smtp.c hands it to the configured relay - the only code that
 * speaks SMTP. Nothing here queues or retries: domain/alerts.c does, and
 * calls hs_mail_relay_send from its sender thread only, so a slow relay
 * never holds up a request.
 */
#ifndef HEALER_HS_MAIL_H
#define HEALER_HS_MAIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* The longest address (RFC 5321's path limit less its brackets). */
#define HS_MAIL_ADDRESS_MAX 254

/* 1 when `addr` is an address this module can put in a header and an SMTP
 * command: 3..254 bytes, LOCAL@DOMAIN with one '@', a non-empty local part
 * and a non-empty domain of dot-separated labels none of which is empty
 * ("localhost" is one label), no space, control character or any of
 * <>()[],;:\" (so no header or command can be injected through it).
 * Stricter than RFC 5322 on purpose: quoted local parts, comments and
 * address literals are refused. The accounts service can check users'
 * addresses with it too, so that every stored address can be mailed. */
int hs_mail_address_ok(const char *addr);

/* One message to one recipient. */
typedef struct hs_mail {
    const char *from;       /* the sender's address (hs_mail_address_ok) */
    const char *to;         /* the recipient's address (same rule) */
    const char *subject;    /* one line of UTF-8, 1..200 bytes */
    const char *body;       /* UTF-8 text, LF or CRLF line ends */
    const char *event;      /* X-Healer-Event header value, NULL = none */
    int64_t date;           /* unix seconds, the Date header */
    const char *message_id; /* "<UNIQUE@DOMAIN>" */
} hs_mail;

/* Writes m as an RFC 5322 message in *out (malloc'ed, caller frees; *len
 * bytes, NUL-terminated): Date (RFC 5322 form, UTC), From (with the
 * platform's name), To, Message-ID, Subject (RFC 2047 B-encoded words
 * folded on character boundaries whenever it is not short plain ASCII),
 * MIME-Version, a text/plain UTF-8 body in quoted-printable (lines of at
 * most 76 bytes, CRLF), Auto-Submitted: auto-generated (RFC 3834: no
 * auto-replies) and X-Healer-Event. A line of a single dot is left to the
 * SMTP client to stuff. HS_ERR_INVALID for a bad address, a subject with
 * a line break or empty texts; HS_ERR_NOMEM. */
hs_status hs_mail_format(const hs_mail *m, char **out, size_t *len,
                         hs_error *err);

/* ---- the SMTP relay (mail_smtp.c) ---------------------------------------- */

typedef struct hs_mail_relay hs_mail_relay;

/* Where a relay is and how to reach it. */
typedef struct hs_mail_relay_config {
    const char *url;              /* smtp://HOST[:PORT] or smtps://... */
    const char *from;             /* the sender's address */
    const char *credentials_file; /* NULL or "" = no login */
    const char *ca_file;          /* NULL or "" = the system's CAs */
} hs_mail_relay_config;

/* A relay at cfg->url ("smtp://HOST[:PORT]" - STARTTLS whenever the relay
 * offers it, plain otherwise - or "smtps://HOST[:PORT]", TLS from the
 * start; certificates are verified against cfg->ca_file's CAs, else the
 * system's), sending as cfg->from. The credentials file holds
 * "USER:PASSWORD" on its first line; it is refused when group or others
 * may access it (chmod 600), so the password is not readable by other
 * local users. Errors name the setting (field "smtp-url", "smtp-from",
 * "smtp-credentials-file", "smtp-ca-file"): HS_ERR_INVALID, HS_ERR_IO (a
 * file). The password is wiped from memory by hs_mail_relay_free. */
hs_status hs_mail_relay_new(const hs_mail_relay_config *cfg,
                            hs_mail_relay **out, hs_error *err);

/* Formats and sends one message (hs_mail_format with the relay's sender,
 * a fresh Message-ID and `date`) to `to`. Blocks for at most
 * HS_TRANSFER_TOTAL_SECONDS; stops early when *abort_flag (may be NULL)
 * becomes non-zero. HS_ERR_IO with the relay's or libcurl's reason. Safe
 * from any thread; one transfer per call. */
hs_status hs_mail_relay_send(hs_mail_relay *r, const char *to,
                             const char *subject, const char *body,
                             const char *event, int64_t date,
                             const atomic_int *abort_flag, hs_error *err);

/* Frees r (NULL is fine). */
void hs_mail_relay_free(hs_mail_relay *r);

#endif
