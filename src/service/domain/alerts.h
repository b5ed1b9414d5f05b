/* domain/alerts.h - messages that leave the platform: e-mail to a user or to
 * the administrators, and the optional webhook.
 *
 * Why one place: several rules have something to tell someone outside the
 * web UI (an account was locked and here is the unlock link; a training
 * failed after its retries; the server cannot write to its store or disk;
 * repeated connection failures). They describe *what* to say and *to whom*
 * here; how it travels (an outbox in the store, an SMTP relay through
 * libcurl, a JSON POST to a webhook, retries with back-off) is this
 * module's business, so no request ever waits on a relay and a new channel
 * is added in one file.
 *
 * Contract for every hs_alerts_* call:
 *  - It only queues: it returns as soon as the message is recorded (or
 *    logged when no channel is configured), never after a network round
 *    trip. Delivery happens on the alerts' own thread, retried on failure;
 *    each failure is logged.
 *  - A recipient without an e-mail address is skipped (and the skip
 *    logged); it is not an error for the caller.
 *  - Texts are plain UTF-8; the module adds the greeting, the platform's
 *    name and the footer. Secrets (an unlock link's token) may appear in a
 *    body, never in a log line.
 *  - Thread-safe; app->alerts may be NULL (tests, tools): then messages are
 *    logged at info level and dropped, and the calls still return HS_OK.
 */
#ifndef HEALER_HS_ALERTS_H
#define HEALER_HS_ALERTS_H

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

/* Who a message goes to. */
typedef enum hs_alert_audience {
    HS_ALERT_TO_USER = 1,   /* the user `user_id` only */
    HS_ALERT_TO_ADMINS = 2, /* every enabled administrator with an address */
    HS_ALERT_TO_BOTH = 3    /* both (the user once, even when an admin) */
} hs_alert_audience;

/* One message. kind: what happened, 1..31 bytes, the same words as the
 * notifications' kinds ("account_locked", "training_failed",
 * "store_failing", "connection_failures"), also the webhook's "event".
 * subject: one line, 1..200 bytes. body: 1..8000 bytes of plain text. */
typedef struct hs_alert {
    const char *kind;
    hs_alert_audience audience;
    hs_id user_id; /* the user it is about (0 = none; required for TO_USER) */
    const char *subject;
    const char *body;
} hs_alert;

/* Queues `a` for every channel configured (mail to its audience, the
 * webhook). HS_ERR_INVALID for a malformed message; HS_ERR_IO when it
 * cannot be recorded. */
hs_status hs_alerts_send(hs_app *app, const hs_alert *a, hs_error *err);

/* hs_alerts_send for an alert about the store itself: the message waits
 * in memory (never for the store), so it leaves even while the store
 * cannot take a row; it is lost if the server stops first. */
hs_status hs_alerts_send_unstored(hs_app *app, const hs_alert *a,
                                  hs_error *err);

/* ---- the channels and their sender (alerts.c) ---------------------------
 *
 * How a queued message travels: hs_alerts_send resolves the audience's
 * addresses at once (users' hs_user.email; the enabled administrators')
 * and records one outbox row per address and one for the webhook
 * (store.h, version 9), then wakes the sender thread, which delivers a
 * message within a second of its queueing while the relay answers. A
 * failed delivery is logged and tried again after HS_ALERTS_RETRY_FIRST
 * seconds, doubling up to HS_ALERTS_RETRY_CAP, until its attempts reach
 * the configured maximum, when it is given up (logged). Rows survive a
 * restart. When the store cannot take a row (the very trouble an alert
 * may be about), the message waits in memory instead (at most
 * HS_ALERTS_MEMORY_MAX of them) and is delivered from there. */

/* Seconds before the first retry; each later one waits twice as long, at
 * most HS_ALERTS_RETRY_CAP. */
#define HS_ALERTS_RETRY_FIRST 2
#define HS_ALERTS_RETRY_CAP 600

/* Messages that wait in memory when the store refuses them. */
#define HS_ALERTS_MEMORY_MAX 64

/* Sent and given-up messages are purged this long after their queueing. */
#define HS_ALERTS_KEEP_SECONDS (30 * 86400)

typedef struct hs_alerts hs_alerts;

/* The watch over the store that the sender reports its own store
 * outcomes to (its reading of the outbox every few seconds is a pulse of
 * the store): notifications.h's hs_notifications_io, plugged in by the
 * server (a pointer, since notifications send alerts). */
typedef hs_status (*hs_alerts_watch_fn)(hs_app *app, hs_status st,
                                        const char *what, const hs_error *err);

/* The channels, from `healer serve`'s settings (server/config.c). */
typedef struct hs_alerts_config {
    const char *smtp_url;              /* NULL or "" = no mail */
    const char *smtp_from;             /* required with smtp_url */
    const char *smtp_credentials_file; /* NULL or "" = no login */
    const char *smtp_ca_file;          /* NULL or "" = the system's CAs */
    const char *webhook_url;           /* NULL or "" = no webhook */
    unsigned retry_max;                /* attempts per message, >= 1 */
    hs_alerts_watch_fn watch;          /* NULL = none */
} hs_alerts_config;

/* Makes the alerts of `app` (the caller sets app->alerts = *out) with the
 * configured channels; none configured is fine (messages are then logged
 * only). Checks every setting: HS_ERR_INVALID naming it in err->field
 * (a malformed URL or sender, a sender or credentials without a relay,
 * a credentials file others can read), HS_ERR_IO for an unreadable file.
 * Free with hs_alerts_free. */
hs_status hs_alerts_new(hs_app *app, const hs_alerts_config *cfg,
                        hs_alerts **out, hs_error *err);

/* Starts the sender thread when a channel is configured (a no-op
 * otherwise); messages queued before a restart go out now. */
hs_status hs_alerts_start(hs_alerts *a, hs_error *err);

/* Stops the sender (a delivery under way is cut within a second and
 * counted as a failed attempt; queued rows stay for the next start) and
 * frees `a`. NULL is fine. */
void hs_alerts_free(hs_alerts *a);

/* Deletes the outbox rows sent or given up more than
 * HS_ALERTS_KEEP_SECONDS ago; *removed (may be NULL) counts them. */
hs_status hs_alerts_purge(hs_app *app, int64_t *removed, hs_error *err);

/* ---- the platform's own troubles -----------------------------------------
 *
 * State for notifications.c's watch of the store (hs_notifications_io),
 * kept here because it lives as long as the alerts. With app->alerts NULL
 * nothing is remembered: every trouble is allowed, and no run counted. */

/* 1 when nothing of `kind` was allowed within the last `interval_seconds`
 * (and remembers now as its time), else 0. Thread-safe. */
int hs_alerts_allow(hs_app *app, const char *kind, int64_t interval_seconds);

/* Counts one more store write that failed (failed != 0) or resets the
 * count (failed == 0); returns the failures in a row so far. */
unsigned hs_alerts_failure_run(hs_app *app, int failed);

#endif
