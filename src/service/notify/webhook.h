/* notify/webhook.h - the optional webhook: every alert as one JSON POST to
 * a configured URL, so chat tools and incident systems get the same
 * events as the mails.
 *
 * The payload is one object, the same for every event:
 *   {"event": "training_failed", "subject": "...", "body": "...",
 *    "user": "ann" or null, "at": "2026-12-07T08:00:00Z"}
 * (event: the alert's kind; user: the user it is about; at: when it was
 * queued, RFC 3339 UTC). Any 2xx answer is a delivery; anything else, or
 * no answer within the transfer's bounds (notify/transfer.h), is a
 * failure the caller retries. Redirects are not followed.
 */
#ifndef HEALER_HS_WEBHOOK_H
#define HEALER_HS_WEBHOOK_H

#include <stdatomic.h>
#include <stdint.h>

#include "base/error.h"

typedef struct hs_webhook hs_webhook;

/* One event as the webhook reports it. */
typedef struct hs_webhook_event {
    const char *event; /* the alert's kind */
    const char *subject;
    const char *body;
    const char *user; /* NULL = none (JSON null) */
    int64_t at;       /* unix seconds */
} hs_webhook_event;

/* A webhook at `url` (http:// or https://; HTTPS certificates checked
 * against the system's CAs). HS_ERR_INVALID with field "webhook-url" for
 * anything else. */
hs_status hs_webhook_new(const char *url, hs_webhook **out, hs_error *err);

/* The event's JSON text (malloc'ed, caller frees; NULL when out of
 * memory or a text is not valid UTF-8). */
char *hs_webhook_payload(const hs_webhook_event *e);

/* POSTs the event as application/json. HS_ERR_IO ("webhook: HTTP 500",
 * or libcurl's reason) unless the answer is 2xx; stops early when
 * *abort_flag (may be NULL) becomes non-zero. Safe from any thread. */
hs_status hs_webhook_post(hs_webhook *w, const hs_webhook_event *e,
                          const atomic_int *abort_flag, hs_error *err);

/* Frees w (NULL is fine). */
void hs_webhook_free(hs_webhook *w);

#endif
