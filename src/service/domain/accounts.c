/* accounts.c - user creation with the shared rules (see accounts.h). */
#include <stdlib.h>
#include <string.h>

#include "domain/accounts.h"

#define USERNAME_MAX 63
#define HS_EVENT_LOCKED "locked"
#define HS_EVENT_UNLOCKED "unlocked"

static int name_char_ok(char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return !first && (c == '.' || c == '_' || c == '-');
}

hs_status hs_accounts_check_username(const char *username, hs_error *err)
{
    size_t n = username ? strlen(username) : 0;
    if (n == 0)
        return hs_fail(err, HS_ERR_INVALID, "the username is empty");
    if (n > USERNAME_MAX)
        return hs_fail(err, HS_ERR_INVALID,
                       "the username is %zu bytes long; at most %d are allowed",
                       n, USERNAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(username[i], i == 0))
            return hs_fail(err, HS_ERR_INVALID,
                           "the username may only contain letters, digits, "
                           "'.', '_' and '-' and must start with a letter or "
                           "digit (character %zu is not allowed)",
                           i + 1);
    return HS_OK;
}

hs_status hs_accounts_create_user(hs_store *store, const char *username,
                                  const char *password, int is_admin,
                                  int64_t now, const hs_auth_costs *costs,
                                  hs_id *id_out, hs_error *err)
{
    hs_status rc = hs_accounts_check_username(username, err);
    if (rc != HS_OK || (rc = hs_auth_check_password_policy(password, err)) != HS_OK)
        return rc;
    hs_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", username);
    if ((rc = hs_auth_hash_password(password, costs, u.password_hash, err)) !=
        HS_OK)
        return rc;
    u.is_admin = is_admin != 0;
    u.created_at = now;
    rc = hs_store_user_create(store, &u, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (rc == HS_OK && id_out)
        *id_out = u.id;
    return rc;
}

/* ---- login --------------------------------------------------------------- */

static hs_status wrong_credentials(hs_error *err)
{
    return hs_fail(err, HS_ERR_DENIED, "wrong username or password");
}

/* Failures count from the start of the window, or from the last unlock
 * when an admin lifted a lock inside it. */
static hs_status failures_since(hs_store *store, hs_id user_id,
                                int64_t window_start, int64_t *since,
                                hs_error *err)
{
    int64_t unlocked_at = 0;
    hs_status rc = hs_store_event_latest(store, user_id, HS_EVENT_UNLOCKED,
                                         &unlocked_at, err);
    if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
        return rc;
    *since = unlocked_at > window_start ? unlocked_at : window_start;
    return HS_OK;
}

/* record_failure's transaction: its inputs, and lock_until out. */
typedef struct failure_txn {
    hs_user *u;
    int64_t now;
    hs_lockout_policy policy;
    int64_t lock_until;
} failure_txn;

static hs_status record_failure_txn(hs_store *store, void *arg, hs_error *err)
{
    failure_txn *t = arg;
    hs_user *u = t->u;
    int64_t *times = NULL;
    size_t n = 0;
    int64_t since = 0;
    hs_status rc;
    if ((rc = hs_store_event_add(store, u->id, HS_EVENT_LOGIN_FAILED, t->now,
                                 NULL, err)) != HS_OK ||
        (rc = failures_since(store, u->id, t->now - t->policy.window_seconds,
                             &since, err)) != HS_OK ||
        (rc = hs_store_login_failures_since(store, u->id, since, &times, &n,
                                            err)) != HS_OK)
        return rc;
    t->lock_until = hs_auth_lock_until(&t->policy, times, n, t->now);
    free(times);
    if (t->lock_until > t->now) {
        char msg[HS_USERNAME_MAX + 128];
        snprintf(msg, sizeof msg,
                 "account '%s' locked after %zu failed logins in %lld minutes",
                 u->username, n, (long long)(t->policy.window_seconds / 60));
        u->locked_until = t->lock_until;
        if ((rc = hs_store_user_update(store, u, err)) != HS_OK ||
            (rc = hs_store_event_add(store, u->id, HS_EVENT_LOCKED, t->now,
                                     NULL, err)) != HS_OK ||
            (rc = hs_store_notification_add(store, "account_locked", msg, u->id,
                                            t->now, NULL, err)) != HS_OK)
            return rc;
    }
    return HS_OK;
}

/* Records a failed login; locks the account when the policy says so, in
 * the same transaction (event, user, admin notification). Returns
 * HS_ERR_LOCKED when this failure locked it, else HS_ERR_DENIED. */
static hs_status record_failure(hs_store *store, hs_user *u, int64_t now,
                                const hs_lockout_policy *p, hs_error *err)
{
    failure_txn t = {u, now, p ? *p : HS_LOCKOUT_DEFAULT, 0};
    hs_status rc = hs_store_transact(store, record_failure_txn, &t, err);
    if (rc != HS_OK)
        return rc;
    if (t.lock_until > now)
        return hs_fail(err, HS_ERR_LOCKED,
                       "too many failed logins: the account is locked for %lld "
                       "minutes",
                       (long long)((t.lock_until - now + 59) / 60));
    return wrong_credentials(err);
}

static hs_status open_session(hs_store *store, const hs_user *u, int remember,
                              int64_t now, const hs_session_policy *sessions,
                              hs_login *out, hs_error *err)
{
    memset(&out->session, 0, sizeof out->session);
    hs_auth_new_token(out->token);
    if (hs_auth_token_hash(out->token, out->session.token_hash) != HS_OK)
        return hs_fail(err, HS_ERR_INTERNAL, "a fresh token did not hash");
    out->session.user_id = u->id;
    out->session.remember = remember != 0;
    out->session.created_at = out->session.last_seen_at = now;
    out->session.expires_at = hs_auth_session_expiry(remember, now, sessions);
    return hs_store_session_create(store, &out->session, err);
}

hs_status hs_accounts_login(hs_store *store, const char *username,
                            const char *password, int remember, int64_t now,
                            const hs_lockout_policy *lockout,
                            const hs_session_policy *sessions,
                            const hs_auth_costs *costs, hs_login *out,
                            hs_error *err)
{
    memset(out, 0, sizeof *out);
    hs_user u;
    hs_status rc = hs_store_user_get_by_name(store, username ? username : "",
                                             &u, NULL);
    if (rc == HS_ERR_NOTFOUND || rc == HS_ERR_INVALID) {
        /* Spend what a password check costs, so that response times do
         * not tell which usernames exist. */
        char dummy[HS_PASSWORD_HASH_MAX];
        hs_auth_hash_password(password ? password : "", costs, dummy, NULL);
        return wrong_credentials(err);
    }
    if (rc != HS_OK)
        return hs_store_user_get_by_name(store, username, &u, err);
    if (u.locked_until > now)
        return hs_fail(err, HS_ERR_LOCKED,
                       "too many failed logins: the account is locked for %lld "
                       "more minutes",
                       (long long)((u.locked_until - now + 59) / 60));
    if (!hs_auth_verify_password(u.password_hash, password))
        return record_failure(store, &u, now, lockout, err);
    if (u.disabled)
        return hs_fail(err, HS_ERR_DENIED, "account disabled");
    if (hs_auth_needs_rehash(u.password_hash, costs) &&
        hs_auth_hash_password(password, costs, u.password_hash, NULL) == HS_OK)
        hs_store_user_update(store, &u, NULL); /* best effort: login goes on */
    if ((rc = open_session(store, &u, remember, now, sessions, out, err)) !=
        HS_OK)
        return rc;
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    out->user = u;
    return HS_OK;
}

hs_status hs_accounts_session_check(hs_store *store, const char *token,
                                    int64_t now,
                                    const hs_session_policy *sessions,
                                    hs_session *session_out, hs_user *user_out,
                                    hs_error *err)
{
    char hash[HS_TOKEN_HASH_HEX + 1];
    hs_session s;
    hs_user u;
    if (hs_auth_token_hash(token, hash) != HS_OK ||
        hs_store_session_get_by_token_hash(store, hash, &s, NULL) != HS_OK)
        return hs_fail(err, HS_ERR_DENIED, "not logged in");
    if (!hs_auth_session_valid(s.remember, s.created_at, s.last_seen_at, now,
                               sessions)) {
        hs_store_session_delete(store, s.id, NULL);
        return hs_fail(err, HS_ERR_DENIED, "the session has expired");
    }
    hs_status rc = hs_store_user_get(store, s.user_id, &u, err);
    if (rc != HS_OK)
        return rc == HS_ERR_NOTFOUND ? hs_fail(err, HS_ERR_DENIED, "not logged in")
                                     : rc;
    if (u.disabled)
        return hs_fail(err, HS_ERR_DENIED, "account disabled");
    /* Sliding expiry needs no write per request: a session seen in the
     * last HS_SESSION_TOUCH_SECONDS keeps its stored times (the idle limit
     * is minutes), which keeps busy clients from queueing on the store's
     * write lock. */
    if (now - s.last_seen_at >= HS_SESSION_TOUCH_SECONDS ||
        now < s.last_seen_at) {
        s.last_seen_at = now;
        if (!s.remember)
            s.expires_at = hs_auth_session_expiry(0, now, sessions);
        if ((rc = hs_store_session_touch(store, s.id, s.last_seen_at,
                                         s.expires_at, err)) != HS_OK)
            return rc;
    }
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    *session_out = s;
    *user_out = u;
    return HS_OK;
}

/* ---- administration ---------------------------------------------------- */

/* update_user's transaction. */
typedef struct update_txn {
    hs_user *u;
    const char *event;
    int end_sessions;
    int64_t now;
} update_txn;

static hs_status update_user_txn(hs_store *store, void *arg, hs_error *err)
{
    update_txn *t = arg;
    hs_status rc;
    if ((rc = hs_store_user_update(store, t->u, err)) != HS_OK ||
        (rc = hs_store_event_add(store, t->u->id, t->event, t->now, NULL,
                                 err)) != HS_OK)
        return rc;
    return t->end_sessions
               ? hs_store_session_delete_for_user(store, t->u->id, NULL, err)
               : HS_OK;
}

/* Writes the changed user, records `event` and, when asked, ends the
 * user's sessions: one transaction. */
static hs_status update_user(hs_store *store, hs_user *u, const char *event,
                             int end_sessions, int64_t now, hs_error *err)
{
    update_txn t = {u, event, end_sessions, now};
    return hs_store_transact(store, update_user_txn, &t, err);
}

hs_status hs_accounts_unlock(hs_store *store, hs_id user_id, int64_t now,
                             hs_error *err)
{
    hs_user u;
    hs_status rc = hs_store_user_get(store, user_id, &u, err);
    if (rc != HS_OK)
        return rc;
    u.locked_until = 0;
    return update_user(store, &u, HS_EVENT_UNLOCKED, 0, now, err);
}

hs_status hs_accounts_reset_password(hs_store *store, hs_id user_id,
                                     const char *password, int64_t now,
                                     const hs_auth_costs *costs, hs_error *err)
{
    hs_user u;
    hs_status rc = hs_auth_check_password_policy(password, err);
    if (rc != HS_OK || (rc = hs_store_user_get(store, user_id, &u, err)) != HS_OK)
        return rc;
    if ((rc = hs_auth_hash_password(password, costs, u.password_hash, err)) !=
        HS_OK)
        return rc;
    rc = update_user(store, &u, "password_reset", 1, now, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    return rc;
}

hs_status hs_accounts_set_disabled(hs_store *store, hs_id user_id,
                                   int disabled, int64_t now, hs_error *err)
{
    hs_user u;
    hs_status rc = hs_store_user_get(store, user_id, &u, err);
    if (rc != HS_OK)
        return rc;
    u.disabled = disabled != 0;
    return update_user(store, &u, disabled ? "disabled" : "enabled", disabled,
                       now, err);
}
