/* domain/notifications.h - what administrators are told: account locks,
 * trainings that failed for good, and the platform's own troubles (a
 * store or disk it cannot write to, repeated store failures).
 *
 * One place that raises and reads the admins' notifications, and the one
 * place where they leave the platform: every notification raised here
 * also goes out as an alert (domain/alerts.h: mail, webhook) - to the
 * administrators, and for a failed job to its owner too.
 */
#ifndef HEALER_HS_NOTIFICATIONS_H
#define HEALER_HS_NOTIFICATIONS_H

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

/* Raises an unread notification of `kind` (1..31 bytes: "account_locked",
 * "job_failed", "training_failed", "store_failing",
 * "connection_failures") about user_id (0 = none), dated now; message
 * 1..511 bytes (longer is cut between characters). The alert goes out
 * even when the notification cannot be stored (then its error is
 * returned). */
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

/* How often one kind of trouble is told at most (seconds), and how many
 * failed store writes in a row make "connection_failures". */
#define HS_NOTIFICATIONS_TROUBLE_SECONDS 600
#define HS_NOTIFICATIONS_FAILURES_IN_A_ROW 3

/* The watch over the platform's writes: call with the outcome `st` of a
 * write to the store or the disk (`what`: "recording a job's outcome"),
 * and err's message. HS_ERR_IO or HS_ERR_UNAVAILABLE (the database
 * cannot be reached) raises "store_failing"; the
 * HS_NOTIFICATIONS_FAILURES_IN_A_ROW-th of them in a row (no success
 * between) raises "connection_failures"; each kind at most once per
 * HS_NOTIFICATIONS_TROUBLE_SECONDS; any other outcome ends a run of
 * failures. Returns st, so a call can wrap the write. */
hs_status hs_notifications_io(hs_app *app, hs_status st, const char *what,
                              const hs_error *err);

#endif
