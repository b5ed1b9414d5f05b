/* domain/audit.c - the audit log of administrative actions (see audit.h).
 *
 * Rows are built here, from the actor the entry point hands down and the
 * action's target, so every caller records the same shape; texts are cut
 * to their fields between UTF-8 characters rather than refused, because
 * an action must never fail for the length of a name in its audit row.
 */
#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "domain/audit.h"
#include "store/store.h"

const char *const hs_audit_actions[] = {HS_AUDIT_USER_CREATED,
                                        HS_AUDIT_USER_DISABLED,
                                        HS_AUDIT_USER_ENABLED,
                                        HS_AUDIT_USER_UNLOCKED,
                                        HS_AUDIT_PASSWORD_RESET,
                                        HS_AUDIT_PASSWORD_CHANGED,
                                        HS_AUDIT_EMAIL_CHANGED,
                                        HS_AUDIT_ADMIN_GRANTED,
                                        HS_AUDIT_ADMIN_REVOKED,
                                        HS_AUDIT_DATA_DELETED,
                                        HS_AUDIT_DATA_RESTORED,
                                        HS_AUDIT_DATA_PURGED,
                                        HS_AUDIT_SETTINGS_CHANGED,
                                        NULL};

const hs_actor *hs_actor_cli(void)
{
    static const hs_actor cli = {0, HS_AUDIT_CLI_ACTOR, "local"};
    return &cli;
}

hs_actor hs_actor_user(hs_id id, const char *name, const char *address)
{
    hs_actor a;
    memset(&a, 0, sizeof a);
    a.id = id;
    hs_copy_message(a.name, sizeof a.name, name ? name : "");
    hs_copy_message(a.address, sizeof a.address, address ? address : "");
    return a;
}

int hs_audit_action_known(const char *action)
{
    for (size_t i = 0; action && hs_audit_actions[i]; i++)
        if (!strcmp(action, hs_audit_actions[i]))
            return 1;
    return 0;
}

hs_status hs_audit_record(hs_store *store, int64_t at, const hs_actor *by,
                          const char *action, const char *target_kind,
                          hs_id target_id, const char *target_name,
                          const char *detail, hs_error *err)
{
    if (!by || !hs_audit_action_known(action))
        return hs_fail(err, HS_ERR_INVALID,
                       "audit: an actor and a known action are required");
    hs_audit_rec a;
    memset(&a, 0, sizeof a);
    a.at = at;
    a.actor_id = by->id;
    hs_copy_message(a.actor_name, sizeof a.actor_name,
                    by->name[0] ? by->name : "unknown");
    hs_copy_message(a.action, sizeof a.action, action);
    hs_copy_message(a.target_kind, sizeof a.target_kind,
                    target_kind ? target_kind : "");
    a.target_id = target_id;
    hs_copy_message(a.target_name, sizeof a.target_name,
                    target_name ? target_name : "");
    hs_copy_message(a.address, sizeof a.address, by->address);
    hs_copy_message(a.detail, sizeof a.detail, detail ? detail : "");
    return hs_store_audit_add(store, &a, err);
}

hs_status hs_audit_record_now(hs_app *app, const hs_actor *by,
                              const char *action, const char *target_kind,
                              hs_id target_id, const char *target_name,
                              const char *detail, hs_error *err)
{
    return hs_audit_record(app->store, hs_clock_now(app->clock), by, action,
                           target_kind, target_id, target_name, detail, err);
}

hs_status hs_audit_list(hs_app *app, const hs_audit_filter *filter,
                        hs_audit_rec **items, size_t *n, hs_error *err)
{
    if (filter->action[0] && !hs_audit_action_known(filter->action))
        return hs_fail_field(err, HS_ERR_INVALID, "action",
                             "unknown action '%s'", filter->action);
    if (filter->since && filter->until && filter->since >= filter->until)
        return hs_fail_field(err, HS_ERR_INVALID, "until",
                             "until must be after since");
    if (filter->limit < 1 || filter->limit > HS_AUDIT_PAGE_MAX)
        return hs_fail_field(err, HS_ERR_INVALID, "limit",
                             "limit must be 1..%d", HS_AUDIT_PAGE_MAX);
    return hs_store_audit_list(app->store, filter, items, n, err);
}
