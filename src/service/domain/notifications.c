/* domain/notifications.c - the administrators' notifications and their
 * alerts, and the watch over the platform's own writes (see
 * notifications.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "domain/alerts.h"
#include "domain/notifications.h"
#include "store/store.h"

/* What each kind is called in a subject, and who hears of it besides the
 * administrators. account_locked goes to the admins only: the accounts
 * service mails the user apart, with the unlock link. */
static const struct {
    const char *kind;
    const char *title;
    hs_alert_audience audience;
} KINDS[] = {
    {"account_locked", "account locked", HS_ALERT_TO_ADMINS},
    {"training_failed", "a training failed", HS_ALERT_TO_BOTH},
    {"job_failed", "a job failed", HS_ALERT_TO_BOTH},
    {"store_failing", "the server cannot write to its store or disk",
     HS_ALERT_TO_ADMINS},
    {"connection_failures", "repeated store failures", HS_ALERT_TO_ADMINS},
};

/* The notification as an alert: "SystemHealer: a training failed"; for a
 * trouble of the store, not queued in it (`unstored`). */
static hs_status alert_of(hs_app *app, const char *kind, const char *text,
                          hs_id user_id, int unstored, hs_error *err)
{
    const char *title = kind;
    hs_alert_audience audience = HS_ALERT_TO_ADMINS;
    char subject[128];
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        if (!strcmp(KINDS[i].kind, kind)) {
            title = KINDS[i].title;
            audience = KINDS[i].audience;
        }
    if (user_id <= 0)
        audience = HS_ALERT_TO_ADMINS;
    snprintf(subject, sizeof subject, "SystemHealer: %s", title);
    hs_alert a = {kind, audience, user_id, subject, text, 0, NULL};
    return unstored ? hs_alerts_send_unstored(app, &a, err)
                    : hs_alerts_send(app, &a, err);
}

/* The alert first (a trouble's must not wait for the store it is
 * about), then the notification. */
static hs_status raise_one(hs_app *app, const char *kind,
                           const char *message, hs_id user_id, int unstored,
                           hs_error *err)
{
    char text[HS_MESSAGE_MAX];
    hs_error aerr = {0};
    hs_copy_message(text, sizeof text, message);
    hs_status ast = text[0] ? alert_of(app, kind, text, user_id, unstored,
                                       &aerr)
                            : HS_OK;
    if (ast != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot send a notification's alert",
               json_pack("{s:s, s:s}", "kind", kind, "error", aerr.message));
    return hs_store_notification_add(app->store, kind, text, user_id,
                                     hs_clock_now(app->clock), NULL, err);
}

hs_status hs_notifications_raise(hs_app *app, const char *kind,
                                 const char *message, hs_id user_id,
                                 hs_error *err)
{
    return raise_one(app, kind, message, user_id, 0, err);
}

hs_status hs_notifications_io(hs_app *app, hs_status st, const char *what,
                              const hs_error *err)
{
    /* A database that cannot be reached fails every write as surely as a
     * disk that refuses them: both count, whatever the backend. */
    int failed = st == HS_ERR_IO || st == HS_ERR_UNAVAILABLE;
    unsigned run = hs_alerts_failure_run(app, failed);
    const char *reason = err && err->message[0] ? err->message : "I/O error";
    char text[HS_MESSAGE_MAX * 2]; /* raise cuts it to a message */
    if (!failed)
        return st;
    if (hs_alerts_allow(app, "store_failing",
                        HS_NOTIFICATIONS_TROUBLE_SECONDS)) {
        snprintf(text, sizeof text,
                 "The server could not write to its store or disk while %s: "
                 "%s",
                 what, reason);
        raise_one(app, "store_failing", text, 0, 1, NULL);
    }
    if (run >= HS_NOTIFICATIONS_FAILURES_IN_A_ROW &&
        hs_alerts_allow(app, "connection_failures",
                        HS_NOTIFICATIONS_TROUBLE_SECONDS)) {
        snprintf(text, sizeof text,
                 "The store failed %u times in a row; the last time while "
                 "%s: %s",
                 run, what, reason);
        raise_one(app, "connection_failures", text, 0, 1, NULL);
    }
    return st;
}

hs_status hs_notifications_list(hs_app *app, int unread_only,
                                hs_notification **items, size_t *n,
                                hs_error *err)
{
    return hs_store_notification_list(app->store, unread_only, items, n, err);
}

hs_status hs_notifications_mark_read(hs_app *app, hs_id id,
                                     hs_notification *out, hs_error *err)
{
    hs_notification *items = NULL;
    size_t n = 0;
    hs_status rc = hs_store_notification_mark_read(app->store, id, err);
    if (rc == HS_OK)
        rc = hs_store_notification_list(app->store, 0, &items, &n, err);
    for (size_t i = 0; rc == HS_OK && i < n; i++)
        if (items[i].id == id) {
            *out = items[i];
            free(items);
            return HS_OK;
        }
    free(items);
    return rc == HS_OK ? hs_fail(err, HS_ERR_NOTFOUND,
                                 "notification %lld does not exist",
                                 (long long)id)
                       : rc;
}
