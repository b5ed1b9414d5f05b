/* domain/alert_tap.h - a testing aid: every alert queued also written,
 * whole, to a file.
 *
 * Why: an alert's body can carry what only its recipient should see (an
 * unlock link), so alerts.c never logs a body; a test that must follow
 * such a link (the API and browser tests of the lock) reads it here
 * instead of from a mailbox. `healer serve` sets app->alert_tap from the
 * environment variable HEALER_ALERT_TAP (like HEALER_FAULT_INJECT, an
 * operator's or a test's choice; anyone who sets a server's environment
 * can read its database anyway). Unset, this does nothing.
 */
#ifndef HEALER_HS_ALERT_TAP_H
#define HEALER_HS_ALERT_TAP_H

#include "base/app.h"
#include "domain/alerts.h"

/* Appends `a` as one JSON line {"kind", "audience", "user_id", "subject",
 * "body"} to app->alert_tap when it is set; failures are logged, never
 * the caller's problem. */
void hs_alert_tap(const hs_app *app, const hs_alert *a);

/* hs_alerts_send, a failure logged (a message that cannot be queued must
 * not fail the action that caused it), then hs_alert_tap. */
void hs_alert_queue(hs_app *app, const hs_alert *a);

#endif
