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

#endif
