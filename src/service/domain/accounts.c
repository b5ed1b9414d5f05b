/* domain/accounts.c - users, logins, sessions, setup (see accounts.h).
 *
 * Multi-step changes (a failed login that locks the account and notifies
 * the administrators; an admin action and its event) each run in one store
 * transaction, so a crash leaves either all of it or none. Password hashing
 * is slow on purpose and always happens outside a transaction.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "domain/accounts.h"
#include "domain/throttle.h"
#include "store/store.h"

#define USERNAME_MAX 63
#define HS_EVENT_LOCKED "locked"
#define HS_EVENT_UNLOCKED "unlocked"

_Static_assert(HS_APP_KEY_BYTES == HS_AUTH_KEY_BYTES,
               "the app's server key is the auth key");

static int64_t now_of(const hs_app *app) { return hs_clock_now(app->clock); }


/* ---- creating users ------------------------------------------------------- */

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
        return hs_fail_field(err, HS_ERR_INVALID, "username",
                             "the username is empty");
    if (n > USERNAME_MAX)
        return hs_fail_field(err, HS_ERR_INVALID, "username",
                             "the username is %zu bytes long; at most %d are "
                             "allowed",
                             n, USERNAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(username[i], i == 0))
            return hs_fail_field(err, HS_ERR_INVALID, "username",
                                 "the username may only contain letters, "
                                 "digits, '.', '_' and '-' and must start with "
                                 "a letter or digit (character %zu is not "
                                 "allowed)",
                                 i + 1);
    return HS_OK;
}

/* The password policy, with the error naming the field. */
static hs_status check_password(const char *password, hs_error *err)
{
    hs_status rc = hs_auth_check_password_policy(password, err);
    if (rc != HS_OK && err)
        snprintf(err->field, sizeof err->field, "password");
    return rc;
}

/* A new user and its audit row, in one transaction. */
typedef struct user_create {
    hs_user *u;
    const hs_actor *by;
} user_create;

static hs_status create_user_txn(hs_store *store, void *arg, hs_error *err)
{
    const user_create *c = arg;
    hs_status rc = hs_store_user_create(store, c->u, err);
    if (rc == HS_OK)
        rc = hs_audit_record(store, c->u->created_at, c->by,
                             HS_AUDIT_USER_CREATED, "user", c->u->id,
                             c->u->username,
                             c->u->is_admin ? "role admin" : "role user", err);
    return rc;
}

hs_status hs_accounts_create_user(hs_app *app, const hs_actor *by,
                                  const char *username, const char *password,
                                  int is_admin, hs_id *id_out, hs_error *err)
{
    hs_status rc = hs_accounts_check_username(username, err);
    if (rc != HS_OK || (rc = check_password(password, err)) != HS_OK)
        return rc;
    hs_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", username);
    if ((rc = hs_auth_hash_password(password, app->costs, u.password_hash,
                                    err)) != HS_OK)
        return rc;
    u.is_admin = is_admin != 0;
    u.created_at = now_of(app);
    user_create c = {&u, by};
    rc = hs_store_transact(app->store, create_user_txn, &c, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (rc == HS_ERR_CONFLICT && err)
        snprintf(err->field, sizeof err->field, "username");
    if (rc == HS_OK && id_out)
        *id_out = u.id;
    return rc;
}

/* ---- login ---------------------------------------------------------------- */

static hs_status wrong_credentials(hs_login *out, int remaining,
                                   hs_error *err)
{
    /* The words are the same for every username; the count is apart. */
    out->attempts_remaining = remaining > 0 ? remaining : 0;
    return hs_fail(err, HS_ERR_DENIED, "wrong username or password");
}

static hs_status locked_for(hs_login *out, int64_t until, int64_t now,
                            hs_error *err)
{
    out->locked_until = until;
    return hs_fail(err, HS_ERR_LOCKED,
                   "too many failed logins: the account is locked for %lld "
                   "more minutes; try again then, or ask an administrator "
                   "to unlock it",
                   (long long)((until - now + 59) / 60));
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

/* A failed login. The lock is written on the user as read inside the
 * transaction, never on the copy read before the (slow) password check: a
 * password reset or a disable meanwhile must not be undone. */
typedef struct failure {
    const hs_user *user; /* as read before the check: id and name */
    int64_t now;
    hs_lockout_policy policy;
    int64_t lock_until; /* out: > now when this failure locked the account */
    size_t failures;    /* out: failures that count towards the lock */
} failure;

static hs_status lock_account(hs_store *store, failure *f, size_t failures,
                              hs_error *err)
{
    char msg[HS_USERNAME_MAX + 128];
    hs_user now;
    snprintf(msg, sizeof msg,
             "account '%s' locked after %zu failed logins in %lld minutes",
             f->user->username, failures,
             (long long)(f->policy.window_seconds / 60));
    hs_status rc = hs_store_user_get(store, f->user->id, &now, err);
    if (rc != HS_OK)
        return rc;
    now.locked_until = f->lock_until;
    rc = hs_store_user_update(store, &now, err);
    sodium_memzero(now.password_hash, sizeof now.password_hash);
    if (rc == HS_OK)
        rc = hs_store_event_add(store, f->user->id, HS_EVENT_LOCKED,
                                f->now, NULL, err);
    if (rc == HS_OK)
        rc = hs_store_notification_add(store, "account_locked", msg,
                                       f->user->id, f->now, NULL, err);
    return rc;
}

static hs_status record_failure_txn(hs_store *store, void *arg, hs_error *err)
{
    failure *f = arg;
    int64_t *times = NULL, since = 0;
    size_t n = 0;
    hs_status rc = hs_store_event_add(store, f->user->id,
                                      HS_EVENT_LOGIN_FAILED, f->now, NULL, err);
    if (rc == HS_OK)
        rc = failures_since(store, f->user->id,
                            f->now - f->policy.window_seconds, &since, err);
    if (rc == HS_OK)
        rc = hs_store_login_failures_since(store, f->user->id, since,
                                           &times, &n, err);
    if (rc != HS_OK)
        return rc;
    f->lock_until = hs_auth_lock_until(&f->policy, times, n, f->now);
    f->failures = n;
    free(times);
    return f->lock_until > f->now ? lock_account(store, f, n, err) : HS_OK;
}

/* Records a failed login and locks the account when the policy says so.
 * Returns HS_ERR_LOCKED when this failure locked it, else HS_ERR_DENIED. */
static hs_status record_failure(hs_app *app, const hs_user *u, int64_t now,
                                hs_login *out, hs_error *err)
{
    failure f = {u, now, HS_LOCKOUT_DEFAULT, 0, 0};
    hs_status rc = hs_store_transact(app->store, record_failure_txn, &f, err);
    if (rc != HS_OK)
        return rc;
    if (f.lock_until > now)
        return locked_for(out, f.lock_until, now, err);
    return wrong_credentials(out, f.policy.max_failures - (int)f.failures,
                             err);
}

static hs_status open_session(hs_app *app, const hs_user *u, int remember,
                              int64_t now, hs_login *out, hs_error *err)
{
    memset(&out->session, 0, sizeof out->session);
    hs_auth_new_token(out->token);
    if (hs_auth_token_hash(out->token, out->session.token_hash) != HS_OK)
        return hs_fail(err, HS_ERR_INTERNAL, "a fresh token did not hash");
    out->session.user_id = u->id;
    out->session.remember = remember != 0;
    out->session.created_at = out->session.last_seen_at = now;
    out->session.expires_at = hs_auth_session_expiry(remember, now, NULL);
    return hs_store_session_create(app->store, &out->session, err);
}

/* A stored hash made with older costs is replaced by one with today's -
 * if it is still the hash the login checked (a reset meanwhile wins). */
typedef struct rehash_args {
    const hs_user *user;
    const char *new_hash;
} rehash_args;

static hs_status rehash_txn(hs_store *store, void *arg, hs_error *err)
{
    const rehash_args *a = arg;
    hs_user now;
    hs_status rc = hs_store_user_get(store, a->user->id, &now, err);
    if (rc == HS_OK && !strcmp(now.password_hash, a->user->password_hash)) {
        snprintf(now.password_hash, sizeof now.password_hash, "%s",
                 a->new_hash);
        rc = hs_store_user_update(store, &now, err);
    }
    sodium_memzero(now.password_hash, sizeof now.password_hash);
    return rc;
}

static void rehash(hs_app *app, const hs_user *u, const char *password)
{
    char hash[HS_PASSWORD_HASH_MAX];
    if (hs_auth_hash_password(password, app->costs, hash, NULL) != HS_OK)
        return;
    rehash_args a = {u, hash};
    hs_store_transact(app->store, rehash_txn, &a, NULL);
    sodium_memzero(hash, sizeof hash);
}

/* The login proper, once the client may try. */
static hs_status check_credentials(hs_app *app, const char *username,
                                   const char *password, int remember,
                                   int64_t now, hs_login *out, hs_error *err)
{
    hs_user u;
    hs_status rc = hs_store_user_get_by_name(app->store,
                                             username ? username : "", &u, NULL);
    if (rc == HS_ERR_NOTFOUND || rc == HS_ERR_INVALID) {
        /* Spend what a password check costs, so that response times do
         * not tell which usernames exist. */
        char dummy[HS_PASSWORD_HASH_MAX];
        hs_auth_hash_password(password ? password : "", app->costs, dummy, NULL);
        return wrong_credentials(out, HS_LOCKOUT_DEFAULT.max_failures - 1,
                                 err);
    }
    if (rc != HS_OK)
        return hs_store_user_get_by_name(app->store, username, &u, err);
    if (u.locked_until > now)
        return locked_for(out, u.locked_until, now, err);
    if (!hs_auth_verify_password(u.password_hash, password))
        return record_failure(app, &u, now, out, err);
    if (u.disabled)
        return hs_fail(err, HS_ERR_DISABLED,
                       "this account is disabled; ask an administrator");
    if (hs_auth_needs_rehash(u.password_hash, app->costs))
        rehash(app, &u, password); /* best effort: the login goes on */
    rc = open_session(app, &u, remember, now, out, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (rc == HS_OK)
        out->user = u;
    return rc;
}

static hs_status client_limited(hs_error *err)
{
    return hs_fail(err, HS_ERR_LIMITED,
                   "too many attempts from this address; wait a minute");
}

hs_status hs_accounts_login(hs_app *app, const char *client,
                            const char *username, const char *password,
                            int remember, hs_login *out, hs_error *err)
{
    int64_t now = now_of(app);
    memset(out, 0, sizeof *out);
    out->attempts_remaining = -1;
    if (client && !hs_throttle_allow(app->login_throttle, client, now))
        return client_limited(err);
    return check_credentials(app, username, password, remember, now, out, err);
}

hs_status hs_accounts_logout(hs_app *app, hs_id session_id, hs_error *err)
{
    hs_status rc = hs_store_session_delete(app->store, session_id, err);
    return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
}

/* Slides the session's expiry, writing it back at most every
 * HS_SESSION_TOUCH_SECONDS: the idle limit is minutes, and a write per
 * request would queue busy clients on the store's write lock. */
static hs_status touch_session(hs_app *app, hs_session *s, int64_t now,
                               hs_error *err)
{
    if (now - s->last_seen_at < HS_SESSION_TOUCH_SECONDS &&
        now >= s->last_seen_at)
        return HS_OK;
    s->last_seen_at = now;
    if (!s->remember)
        s->expires_at = hs_auth_session_expiry(0, now, NULL);
    return hs_store_session_touch(app->store, s->id, s->last_seen_at,
                                  s->expires_at, err);
}

hs_status hs_accounts_session_check(hs_app *app, const char *token,
                                    hs_session *session_out, hs_user *user_out,
                                    hs_error *err)
{
    char hash[HS_TOKEN_HASH_HEX + 1];
    hs_session s;
    hs_user u;
    int64_t now = now_of(app);
    if (hs_auth_token_hash(token, hash) != HS_OK ||
        hs_store_session_get_by_token_hash(app->store, hash, &s, NULL) != HS_OK)
        return hs_fail(err, HS_ERR_DENIED, "not logged in");
    if (!hs_auth_session_valid(s.remember, s.created_at, s.last_seen_at, now,
                               NULL)) {
        hs_store_session_delete(app->store, s.id, NULL);
        return hs_fail(err, HS_ERR_DENIED, "the session has expired");
    }
    hs_status rc = hs_store_user_get(app->store, s.user_id, &u, err);
    if (rc != HS_OK)
        return rc == HS_ERR_NOTFOUND
                   ? hs_fail(err, HS_ERR_DENIED, "not logged in")
                   : rc;
    if (u.disabled)
        return hs_fail(err, HS_ERR_DENIED, "account disabled");
    if ((rc = touch_session(app, &s, now, err)) != HS_OK)
        return rc;
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    *session_out = s;
    *user_out = u;
    return HS_OK;
}

hs_status hs_accounts_purge_sessions(hs_app *app, int64_t *removed,
                                     hs_error *err)
{
    return hs_store_session_delete_expired(app->store, now_of(app), removed,
                                           err);
}

/* ---- first-run setup ------------------------------------------------------ */

struct hs_setup {
    pthread_mutex_t lock;                 /* guards token; one setup at a time */
    char token[HS_SETUP_TOKEN_CHARS + 1]; /* "" = no setup pending */
};

hs_status hs_setup_required(hs_app *app, int *required, hs_error *err)
{
    int64_t users = 0;
    hs_status rc = hs_store_user_count(app->store, &users, err);
    *required = rc == HS_OK && users == 0;
    return rc;
}

hs_status hs_setup_new(hs_app *app, hs_setup **out, hs_error *err)
{
    int required = 0;
    *out = NULL;
    hs_status rc = hs_setup_required(app, &required, err);
    if (rc != HS_OK)
        return rc;
    hs_setup *s = calloc(1, sizeof *s);
    if (!s)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    if (required)
        hs_auth_new_setup_token(s->token);
    *out = s;
    return HS_OK;
}

void hs_setup_free(hs_setup *s)
{
    if (!s)
        return;
    sodium_memzero(s->token, sizeof s->token);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void hs_setup_token(hs_setup *s, char out[HS_SETUP_TOKEN_CHARS + 1])
{
    pthread_mutex_lock(&s->lock);
    memcpy(out, s->token, sizeof s->token);
    pthread_mutex_unlock(&s->lock);
}

/* The checks and the creation, under the setup lock. */
static hs_status setup_locked(hs_app *app, const char *client,
                              const char *token, const char *username,
                              const char *password, hs_error *err)
{
    hs_setup *s = app->setup;
    int required = 0;
    hs_status rc = hs_setup_required(app, &required, err);
    if (rc != HS_OK)
        return rc;
    if (!required || !s->token[0])
        return hs_fail(err, HS_ERR_CONFLICT,
                       "setup is already done; log in instead");
    if (client && !hs_throttle_allow(app->login_throttle, client, now_of(app)))
        return client_limited(err);
    if (!hs_auth_setup_token_matches(s->token, token))
        return hs_fail_field(err, HS_ERR_DENIED, "token",
                             "the setup token is wrong (it was printed on the "
                             "server's console at start)");
    /* The first administrator creates themselves with the setup token. */
    hs_actor self = hs_actor_user(0, username, client);
    rc = hs_accounts_create_user(app, &self, username, password, 1, NULL, err);
    if (rc == HS_OK)
        s->token[0] = '\0';
    return rc;
}

hs_status hs_setup_complete(hs_app *app, const char *client, const char *token,
                            const char *username, const char *password,
                            int remember, hs_login *out, hs_error *err)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&app->setup->lock);
    hs_status rc = setup_locked(app, client, token, username, password, err);
    pthread_mutex_unlock(&app->setup->lock);
    if (rc != HS_OK)
        return rc;
    return check_credentials(app, username, password, remember, now_of(app),
                             out, err);
}

/* ---- reading users -------------------------------------------------------- */

hs_status hs_accounts_get(hs_app *app, hs_id id, hs_user *out, hs_error *err)
{
    hs_status rc = hs_store_user_get(app->store, id, out, err);
    sodium_memzero(out->password_hash, sizeof out->password_hash);
    return rc;
}

hs_status hs_accounts_list(hs_app *app, hs_user **items, size_t *n,
                           hs_error *err)
{
    hs_status rc = hs_store_user_list(app->store, items, n, err);
    for (size_t i = 0; rc == HS_OK && i < *n; i++)
        sodium_memzero((*items)[i].password_hash,
                       sizeof (*items)[i].password_hash);
    return rc;
}

hs_status hs_accounts_prefs_get(hs_app *app, hs_id user_id, char **json_out,
                                hs_error *err)
{
    hs_status rc = hs_store_user_prefs_get(app->store, user_id, json_out, err);
    return rc == HS_ERR_NOTFOUND ? HS_OK : rc;
}

hs_status hs_accounts_prefs_set(hs_app *app, hs_id user_id,
                                const char *prefs_json, hs_error *err)
{
    return hs_store_user_prefs_set(app->store, user_id, prefs_json,
                                   now_of(app), err);
}

/* ---- administration ------------------------------------------------------- */

/* An administrative change of one user: re-read inside the transaction,
 * `apply` changes its own field on that fresh copy (so two changes at once
 * never undo each other), then the user is written, `event` recorded,
 * `audit` written to the audit log as done by `by` and, when asked, every
 * session of the user ended. */
typedef struct user_change {
    const hs_actor *by;
    hs_id user_id;
    const char *event;
    const char *audit;
    int end_sessions;
    int64_t now;
    hs_status (*apply)(hs_store *store, hs_user *u, const void *arg,
                       hs_error *err);
    const void *arg;
} user_change;

static hs_status user_change_txn(hs_store *store, void *arg, hs_error *err)
{
    const user_change *c = arg;
    hs_user u;
    hs_status rc = hs_store_user_get(store, c->user_id, &u, err);
    if (rc == HS_OK)
        rc = c->apply(store, &u, c->arg, err);
    if (rc == HS_OK)
        rc = hs_store_user_update(store, &u, err);
    if (rc == HS_OK)
        rc = hs_store_event_add(store, u.id, c->event, c->now, NULL, err);
    if (rc == HS_OK)
        rc = hs_audit_record(store, c->now, c->by, c->audit, "user", u.id,
                             u.username, NULL, err);
    if (rc == HS_OK && c->end_sessions)
        rc = hs_store_session_delete_for_user(store, u.id, NULL, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    return rc;
}

static hs_status change_user(hs_app *app, const hs_actor *by, hs_id user_id,
                             const char *event, const char *audit,
                             int end_sessions,
                             hs_status (*apply)(hs_store *, hs_user *,
                                                const void *, hs_error *),
                             const void *arg, hs_error *err)
{
    user_change c = {by,           user_id,     event, audit,
                     end_sessions, now_of(app), apply, arg};
    return hs_store_transact(app->store, user_change_txn, &c, err);
}

static hs_status apply_unlock(hs_store *store, hs_user *u, const void *arg,
                              hs_error *err)
{
    (void)store;
    (void)arg;
    (void)err;
    u->locked_until = 0;
    return HS_OK;
}

hs_status hs_accounts_unlock(hs_app *app, const hs_actor *by, hs_id user_id,
                             hs_error *err)
{
    return change_user(app, by, user_id, HS_EVENT_UNLOCKED,
                       HS_AUDIT_USER_UNLOCKED, 0, apply_unlock, NULL, err);
}

static hs_status apply_password(hs_store *store, hs_user *u, const void *arg,
                                hs_error *err)
{
    (void)store;
    (void)err;
    snprintf(u->password_hash, sizeof u->password_hash, "%s",
             (const char *)arg);
    return HS_OK;
}

hs_status hs_accounts_reset_password(hs_app *app, const hs_actor *by,
                                     hs_id user_id, const char *password,
                                     hs_error *err)
{
    char hash[HS_PASSWORD_HASH_MAX];
    hs_status rc = check_password(password, err);
    if (rc != HS_OK ||
        (rc = hs_auth_hash_password(password, app->costs, hash, err)) != HS_OK)
        return rc;
    rc = change_user(app, by, user_id, "password_reset", HS_AUDIT_PASSWORD_RESET,
                     1, apply_password, hash, err);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* Disabling the last enabled administrator is refused, inside the
 * transaction, so two admins disabling each other cannot both succeed. */
static hs_status apply_disabled(hs_store *store, hs_user *u, const void *arg,
                                hs_error *err)
{
    int disabled = *(const int *)arg;
    int64_t admins = 0;
    hs_status rc;
    if (disabled && u->is_admin && !u->disabled) {
        if ((rc = hs_store_user_count_admins(store, &admins, err)) != HS_OK)
            return rc;
        if (admins <= 1)
            return hs_fail(err, HS_ERR_CONFLICT,
                           "this is the last enabled administrator; make "
                           "another one first");
    }
    u->disabled = disabled;
    return HS_OK;
}

hs_status hs_accounts_set_disabled(hs_app *app, const hs_actor *by,
                                   hs_id user_id, int disabled, hs_error *err)
{
    int value = disabled != 0;
    return change_user(app, by, user_id, value ? "disabled" : "enabled",
                       value ? HS_AUDIT_USER_DISABLED : HS_AUDIT_USER_ENABLED,
                       value, apply_disabled, &value, err);
}
