/* domain/notifications.c - the administrators' notifications (see
 * notifications.h). */
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "domain/notifications.h"
#include "store/store.h"

hs_status hs_notifications_raise(hs_app *app, const char *kind,
                                 const char *message, hs_id user_id,
                                 hs_error *err)
{
    char text[HS_MESSAGE_MAX];
    hs_copy_message(text, sizeof text, message);
    return hs_store_notification_add(app->store, kind, text, user_id,
                                     hs_clock_now(app->clock), NULL, err);
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
