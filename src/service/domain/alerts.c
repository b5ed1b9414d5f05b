/* domain/alerts.c - queues the platform's outgoing messages (alerts.h).
 *
 * Until a mail relay or a webhook is configured there is nowhere to send
 * them: each message is logged (kind, audience, user, subject - never the
 * body, which may carry an unlock link) so an operator still sees it. */
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "domain/alerts.h"

static int text_fits(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max;
}

hs_status hs_alerts_send(hs_app *app, const hs_alert *a, hs_error *err)
{
    (void)app;
    if (!a || !text_fits(a->kind, 31) || !text_fits(a->subject, 200) ||
        !text_fits(a->body, 8000))
        return hs_fail(err, HS_ERR_INVALID,
                       "an alert needs a kind (1..31 bytes), a subject "
                       "(1..200) and a body (1..8000)");
    if (a->audience < HS_ALERT_TO_USER || a->audience > HS_ALERT_TO_BOTH ||
        ((a->audience & HS_ALERT_TO_USER) && a->user_id <= 0))
        return hs_fail(err, HS_ERR_INVALID,
                       "an alert to a user needs the user's id");
    hs_log(HS_LOG_INFO, "alert (no mail relay or webhook configured)",
           json_pack("{s:s, s:i, s:I, s:s}", "kind", a->kind, "audience",
                     (int)a->audience, "user_id", (json_int_t)a->user_id,
                     "subject", a->subject));
    return HS_OK;
}
