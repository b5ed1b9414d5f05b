/* domain/audit.h - the audit log of administrative actions: who did what
 * to which account or data, when and from where.
 *
 * One function records an action (hs_audit_record), called by the domain
 * services at the point of the action and inside the same store
 * transaction when there is one, so an action and its audit row are kept
 * together or not at all. The log is append-only by construction: the
 * store offers append and list, no route edits it, and the SQLite
 * backend refuses UPDATE and DELETE on its table. Rows copy names (the
 * actor's, the target's), so they stay readable after a purge.
 *
 * Who acts is an hs_actor handed down by the entry point: the signed-in
 * administrator and the client address for the API, hs_actor_cli() for
 * the `healer` command on the server.
 */
#ifndef HEALER_HS_AUDIT_H
#define HEALER_HS_AUDIT_H

#include <stdint.h>

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

struct hs_store;

/* The actions the log knows (hs_audit_action_known lists them). */
#define HS_AUDIT_USER_CREATED "user_created"
#define HS_AUDIT_USER_DISABLED "user_disabled"
#define HS_AUDIT_USER_ENABLED "user_enabled"
#define HS_AUDIT_USER_UNLOCKED "user_unlocked"
#define HS_AUDIT_PASSWORD_RESET "password_reset"
#define HS_AUDIT_PASSWORD_CHANGED "password_changed" /* the user's own */
#define HS_AUDIT_EMAIL_CHANGED "email_changed"
#define HS_AUDIT_ADMIN_GRANTED "admin_granted"
#define HS_AUDIT_ADMIN_REVOKED "admin_revoked"
#define HS_AUDIT_DATA_DELETED "data_deleted"
#define HS_AUDIT_DATA_RESTORED "data_restored"
#define HS_AUDIT_DATA_PURGED "data_purged"
#define HS_AUDIT_SETTINGS_CHANGED "settings_changed"

/* The name an action of the command line is recorded under. */
#define HS_AUDIT_CLI_ACTOR "command line"

/* Who performs an action: a user (id > 0) or the command line (id 0). */
typedef struct hs_actor {
    hs_id id;
    char name[HS_USERNAME_MAX];
    char address[HS_ADDRESS_MAX]; /* the client's; "local" for the CLI */
} hs_actor;

/* The actor of the `healer` command run on the server (static storage). */
const hs_actor *hs_actor_cli(void);

/* A signed-in user acting from `address` (NULL or "" = unknown). */
hs_actor hs_actor_user(hs_id id, const char *name, const char *address);

/* 1 when `action` is one of the HS_AUDIT_* actions. */
int hs_audit_action_known(const char *action);

/* The known actions, NULL-terminated (for filters and the UI). */
extern const char *const hs_audit_actions[];

/* Appends one row through `store` - the transaction's store when called
 * inside hs_store_transact, so the row commits or rolls back with the
 * action - dated `at`: `by` did `action` (HS_AUDIT_*) to target_kind
 * ("user", "dataset", ...) target_id (0 = none) called target_name (may
 * be NULL; cut to fit), with a short detail (may be NULL; cut between
 * characters to fit). by == NULL is HS_ERR_INVALID: every action has an
 * actor. Store errors are returned: the caller's transaction then rolls
 * the action back, since an action that cannot be audited is not done. */
hs_status hs_audit_record(struct hs_store *store, int64_t at,
                          const hs_actor *by, const char *action,
                          const char *target_kind, hs_id target_id,
                          const char *target_name, const char *detail,
                          hs_error *err);

/* The same outside any transaction, dated now (app->clock): for actions
 * that are one store call already (hs_store operations are atomic) and
 * are audited right after it succeeded. */
hs_status hs_audit_record_now(hs_app *app, const hs_actor *by,
                              const char *action, const char *target_kind,
                              hs_id target_id, const char *target_name,
                              const char *detail, hs_error *err);

/* The most rows one page holds, and the default. */
#define HS_AUDIT_PAGE_MAX 1000
#define HS_AUDIT_PAGE_DEFAULT 100

/* One page of the log, newest first, as the filter selects it: *items
 * (free()) and *n. The filter is checked first: limit 1..HS_AUDIT_PAGE_MAX,
 * an action that is known (HS_ERR_INVALID, field "action"), since < until
 * when both are given (field "until"). */
hs_status hs_audit_list(hs_app *app, const hs_audit_filter *filter,
                        hs_audit_rec **items, size_t *n, hs_error *err);

#endif
