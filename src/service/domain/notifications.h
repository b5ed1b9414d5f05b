/* domain/notifications.h - what administrators are told: account locks,
 * trainings that failed for good, and (later) the platform's own troubles.
 *
 * One place that raises and reads the admins' notifications, so that a
 * later channel (e-mail, a webhook) hooks in here rather than at every
 * place that has something to say.
 */
#ifndef HEALER_HS_NOTIFICATIONS_H
#define HEALER_HS_NOTIFICATIONS_H

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

/* Raises an unread notification of `kind` (1..31 bytes: "account_locked",
 * "job_failed", "training_failed") about user_id (0 = none), dated now;
 * message 1..511 bytes (longer is cut between characters). */
hs_status hs_notifications_raise(hs_app *app, const char *kind,
                                 const char *message, hs_id user_id,
                                 hs_error *err);

/* Notifications newest first, only unread ones when unread_only: *items
 * (malloc'ed, caller frees) and *n. */
hs_status hs_notifications_list(hs_app *app, int unread_only,
                                hs_notification **items, size_t *n,
                                hs_error *err);

/* Marks notification `id` read (again is fine) and reads it back into *out.
 * HS_ERR_NOTFOUND when it does not exist. */
hs_status hs_notifications_mark_read(hs_app *app, hs_id id,
                                     hs_notification *out, hs_error *err);

#endif
