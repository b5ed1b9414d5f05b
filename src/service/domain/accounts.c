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
#include <strings.h>

#include "base/clock.h"
#include "domain/accounts.h"
#include "domain/alert_tap.h"
#include "domain/logins.h"
#include "domain/throttle.h"
#include "store/store.h"

/* The longest username, bytes: the store's field less its NUL. */
#define USERNAME_MAX (HS_USERNAME_MAX - 1)

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

hs_status hs_accounts_check_email(const char *email, hs_error *err)
{
    size_t n = email ? strlen(email) : 0, at = 0, ats = 0;
    if (n == 0)
        return HS_OK;
    if (n > HS_EMAIL_MAX - 1)
        return hs_fail_field(err, HS_ERR_INVALID, "email",
                             "the e-mail address is %zu bytes long; at most "
                             "%d are allowed",
                             n, HS_EMAIL_MAX - 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)email[i];
        if (c <= ' ' || c == 0x7f)
            return hs_fail_field(err, HS_ERR_INVALID, "email",
                                 "the e-mail address may not contain spaces "
                                 "or control characters (character %zu)",
                                 i + 1);
        if (c == '@') {
            ats++;
            at = i;
        }
    }
    if (ats != 1 || at == 0 || at == n - 1)
        return hs_fail_field(err, HS_ERR_INVALID, "email",
                             "the e-mail address must be NAME@DOMAIN, with "
                             "exactly one '@'");
    if (hs_auth_check_utf8(email, n) != HS_OK)
        return hs_fail_field(err, HS_ERR_INVALID, "email",
                             "the e-mail address is not valid UTF-8");
    return HS_OK;
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
                                  int is_admin, const char *email,
                                  hs_id *id_out, hs_error *err)
{
    hs_status rc = hs_accounts_check_username(username, err);
    if (rc != HS_OK || (rc = check_password(password, err)) != HS_OK ||
        (rc = hs_accounts_check_email(email, err)) != HS_OK)
        return rc;
    hs_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", username);
    snprintf(u.email, sizeof u.email, "%s", email ? email : "");
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

/* The one answer to every refused attempt: the same words whatever the
 * reason (unknown name, wrong password, back-off, lock). */
static hs_status wrong_credentials(hs_error *err)
{
    return hs_fail(err, HS_ERR_DENIED, "wrong username or password");
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

/* The login proper, once the client may try: one attempt (logins.h),
 * then a session for a right password on an account nothing refuses. */
static hs_status check_credentials(hs_app *app, const char *client,
                                   const char *username, const char *password,
                                   int remember, hs_login *out, hs_error *err)
{
    hs_attempt a;
    hs_status rc = hs_attempt_begin(app, client, username, &a, err);
    if (rc != HS_OK)
        return rc;
    if (!hs_attempt_check(app, &a, password, 1)) {
        rc = hs_attempt_failed(app, &a, err);
        sodium_memzero(&a.user, sizeof a.user);
        return rc == HS_OK ? wrong_credentials(err) : rc;
    }
    hs_user u = a.user;
    sodium_memzero(a.user.password_hash, sizeof a.user.password_hash);
    if (u.disabled)
        rc = hs_fail(err, HS_ERR_DISABLED,
                     "this account is disabled; ask an administrator");
    else if ((rc = hs_attempt_succeeded(app, &a, err)) == HS_OK) {
        if (hs_auth_needs_rehash(u.password_hash, app->costs))
            rehash(app, &u, password); /* best effort: the login goes on */
        rc = open_session(app, &u, remember, a.now, out, err);
    }
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
    memset(out, 0, sizeof *out);
    if (client && !hs_throttle_allow(app->login_throttle, client, now_of(app)))
        return client_limited(err);
    return check_credentials(app, client, username, password, remember, out,
                             err);
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
    if (hs_auth_token_hash(token, hash) != HS_OK)
        return hs_fail(err, HS_ERR_DENIED, "not logged in");
    hs_status rc = hs_store_session_get_by_token_hash(app->store, hash, &s,
                                                      err);
    if (rc != HS_OK) /* a store that cannot answer logs nobody out */
        return rc == HS_ERR_NOTFOUND
                   ? hs_fail(err, HS_ERR_DENIED, "not logged in")
                   : rc;
    if (!hs_auth_session_valid(s.remember, s.created_at, s.last_seen_at, now,
                               NULL)) {
        hs_store_session_delete(app->store, s.id, NULL);
        return hs_fail(err, HS_ERR_DENIED, "the session has expired");
    }
    rc = hs_store_user_get(app->store, s.user_id, &u, err);
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
    rc = hs_accounts_create_user(app, &self, username, password, 1, NULL, NULL,
                                 err);
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
    return check_credentials(app, NULL, username, password, remember, out,
                             err);
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

/* A change of one user, by an administrator or the user themself:
 * re-read inside the transaction, `apply` changes its own field on that
 * fresh copy (so two changes at once never undo each other), then the
 * user is written, `event` recorded, `audit` written to the audit log as
 * done by `by` - or, when `self`, by the user themself from `client` -
 * and, when asked, every session of the user ended. */
typedef struct user_change {
    const hs_actor *by; /* NULL (and not self): refused by hs_audit_record */
    int self;           /* the user acts on their own account */
    const char *client; /* the user's address, when self */
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
    if (rc == HS_OK) {
        hs_actor self = hs_actor_user(u.id, u.username, c->client);
        rc = hs_audit_record(store, c->now, c->self ? &self : c->by, c->audit,
                             "user", u.id, u.username, NULL, err);
    }
    if (rc == HS_OK && c->end_sessions)
        rc = hs_store_session_delete_for_user(store, u.id, NULL, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    return rc;
}

typedef hs_status (*user_apply)(hs_store *, hs_user *, const void *,
                                hs_error *);

static hs_status change_user(hs_app *app, const hs_actor *by, hs_id user_id,
                             const char *event, const char *audit,
                             int end_sessions, user_apply apply,
                             const void *arg, hs_error *err)
{
    user_change c = {.by = by,
                     .user_id = user_id,
                     .event = event,
                     .audit = audit,
                     .end_sessions = end_sessions,
                     .now = now_of(app),
                     .apply = apply,
                     .arg = arg};
    return hs_store_transact(app->store, user_change_txn, &c, err);
}

/* The same, done by user_id themself from `client`. */
static hs_status change_own(hs_app *app, const char *client, hs_id user_id,
                            const char *event, const char *audit,
                            user_apply apply, const void *arg, hs_error *err)
{
    user_change c = {.self = 1,
                     .client = client,
                     .user_id = user_id,
                     .event = event,
                     .audit = audit,
                     .now = now_of(app),
                     .apply = apply,
                     .arg = arg};
    return hs_store_transact(app->store, user_change_txn, &c, err);
}

static hs_status apply_unlock(hs_store *store, hs_user *u, const void *arg,
                              hs_error *err)
{
    u->locked_until = 0;
    return hs_logins_forget_user(store, u, *(const int64_t *)arg, err);
}

hs_status hs_accounts_unlock(hs_app *app, const hs_actor *by, hs_id user_id,
                             hs_error *err)
{
    int64_t now = now_of(app);
    return change_user(app, by, user_id, HS_EVENT_UNLOCKED,
                       HS_AUDIT_USER_UNLOCKED, 0, apply_unlock, &now, err);
}

hs_status hs_accounts_unlock_with_link(hs_app *app, const char *client,
                                       const char *token, hs_user *user_out,
                                       hs_unlock_refusal *refusal,
                                       hs_error *err)
{
    *refusal = HS_UNLOCK_ACCEPTED;
    memset(user_out, 0, sizeof *user_out);
    if (client && !hs_throttle_allow(app->login_throttle, client, now_of(app)))
        return client_limited(err);
    return hs_logins_unlock_with_token(app, client, token, user_out, refusal,
                                       err);
}

/* An e-mail change: the new address in, the former one out (read
 * inside the transaction, so it is the one really replaced). */
typedef struct email_change {
    const char *email;
    char former[HS_EMAIL_MAX];
} email_change;

static hs_status apply_email(hs_store *store, hs_user *u, const void *arg,
                             hs_error *err)
{
    /* The one apply with an output: change_user passes arg through. */
    email_change *c = (email_change *)arg;
    (void)store;
    (void)err;
    snprintf(c->former, sizeof c->former, "%s", u->email);
    snprintf(u->email, sizeof u->email, "%s", c->email);
    return HS_OK;
}

/* Tells the former address of a change (unlock links no longer go
 * there, so a change the owner did not make must not go unnoticed);
 * nothing when there was none or it only changed case. */
static void mail_email_changed(hs_app *app, hs_id user_id,
                               const email_change *c, const char *by)
{
    char body[1024];
    if (!c->former[0] || !strcasecmp(c->former, c->email))
        return;
    if (c->email[0])
        snprintf(body, sizeof body,
                 "The e-mail address of your SystemHealer account was "
                 "changed to %s by %s. Mails about your account, unlock "
                 "links among them, go there now, no longer to this "
                 "address.\n\nIf you did not want this, tell your "
                 "administrator at once.\n",
                 c->email, by);
    else
        snprintf(body, sizeof body,
                 "The e-mail address of your SystemHealer account was "
                 "removed by %s: mails about your account, unlock links "
                 "among them, no longer go to this address.\n\nIf you "
                 "did not want this, tell your administrator at once.\n",
                 by);
    hs_alert alert = {"email_changed", HS_ALERT_TO_USER, user_id,
                      "SystemHealer: your e-mail address was changed", body,
                      0, c->former};
    hs_alert_queue(app, &alert);
}

hs_status hs_accounts_set_email(hs_app *app, const hs_actor *by, hs_id user_id,
                                const char *email, hs_error *err)
{
    email_change c = {email ? email : "", ""};
    hs_status rc = hs_accounts_check_email(email, err);
    if (rc == HS_OK)
        rc = change_user(app, by, user_id, "email_changed",
                         HS_AUDIT_EMAIL_CHANGED, 0, apply_email, &c, err);
    if (rc == HS_OK)
        mail_email_changed(app, user_id, &c, "an administrator");
    return rc;
}

hs_status hs_accounts_find(hs_app *app, const char *username, hs_user *out,
                           hs_error *err)
{
    hs_status rc = hs_store_user_get_by_name(app->store, username, out, err);
    sodium_memzero(out->password_hash, sizeof out->password_hash);
    if (rc == HS_ERR_NOTFOUND)
        return hs_fail_field(err, HS_ERR_NOTFOUND, "username",
                             "there is no user '%s'", username);
    return rc;
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
    rc = change_user(app, by, user_id, "password_reset",
                     HS_AUDIT_PASSWORD_RESET, 1, apply_password, hash, err);
    sodium_memzero(hash, sizeof hash);
    return rc;
}

/* ---- the user's own account ------------------------------------------------ */

/* Proves the user's current password (field `field`) like a login does:
 * a wrong password counts as a failure of the account and the address
 * (logins.h); a lock does not refuse a user who holds a session. A wrong
 * password is HS_ERR_DENIED naming the field. During back-off the answer
 * is HS_ERR_LIMITED with err->retry_after, whatever the password, and
 * not counted: no guess is judged, and the session already proves the
 * name, so saying so leaks nothing. */
static hs_status reauthenticate(hs_app *app, const char *client,
                                hs_id user_id, const char *password,
                                const char *field, hs_error *err)
{
    hs_attempt a;
    hs_status rc = hs_attempt_begin_user(app, client, user_id, &a, err);
    if (rc != HS_OK)
        return rc;
    if (hs_attempt_check(app, &a, password, 0))
        rc = hs_attempt_succeeded(app, &a, err);
    else if (a.backoff_until > a.now) {
        rc = hs_fail_field(err, HS_ERR_LIMITED, field,
                           "too many failed attempts at this password: "
                           "try again in %lld s",
                           (long long)(a.backoff_until - a.now));
        if (err)
            err->retry_after = a.backoff_until - a.now;
    } else if ((rc = hs_attempt_failed(app, &a, err)) == HS_OK)
        rc = hs_fail_field(err, HS_ERR_DENIED, field,
                           "the current password is wrong");
    sodium_memzero(&a.user, sizeof a.user);
    return rc;
}

typedef struct own_password {
    hs_id user_id, keep_session;
    const char *hash;
    int64_t now;
    const char *client;
} own_password;

static hs_status own_password_txn(hs_store *store, void *arg, hs_error *err)
{
    const own_password *p = arg;
    hs_user u;
    hs_status rc = hs_store_user_get(store, p->user_id, &u, err);
    if (rc == HS_OK) {
        snprintf(u.password_hash, sizeof u.password_hash, "%s", p->hash);
        rc = hs_store_user_update(store, &u, err);
    }
    if (rc == HS_OK)
        rc = hs_store_event_add(store, p->user_id, "password_changed", p->now,
                                NULL, err);
    if (rc == HS_OK) {
        hs_actor self = hs_actor_user(u.id, u.username, p->client);
        rc = hs_audit_record(store, p->now, &self, HS_AUDIT_PASSWORD_CHANGED,
                             "user", u.id, u.username, NULL, err);
    }
    if (rc == HS_OK)
        rc = hs_store_session_end_others(store, p->user_id, p->keep_session,
                                         NULL, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    return rc;
}

/* Tells the user, so that a change they did not make does not go
 * unnoticed (OWASP: notify on credential changes). */
static void mail_password_changed(hs_app *app, hs_id user_id,
                                  const char *client)
{
    char body[512];
    snprintf(body, sizeof body,
             "The password of your SystemHealer account was changed from %s; "
             "your other sessions were logged out.\n\nIf you did not do "
             "this, tell your administrator at once.\n",
             client && client[0] ? client : "an unknown address");
    hs_alert alert = {"password_changed", HS_ALERT_TO_USER, user_id,
                      "SystemHealer: your password was changed", body, 0, NULL};
    hs_alert_queue(app, &alert);
}

hs_status hs_accounts_change_password(hs_app *app, const char *client,
                                      hs_id user_id, hs_id session_id,
                                      const char *current,
                                      const char *new_password, hs_error *err)
{
    char hash[HS_PASSWORD_HASH_MAX];
    hs_status rc = check_password(new_password, err);
    if (rc != HS_OK) {
        if (err)
            snprintf(err->field, sizeof err->field, "new");
        return rc;
    }
    if (current && !strcmp(current, new_password))
        return hs_fail_field(err, HS_ERR_INVALID, "new",
                             "the new password is the current one; choose "
                             "another");
    if ((rc = reauthenticate(app, client, user_id, current, "current",
                             err)) != HS_OK ||
        (rc = hs_auth_hash_password(new_password, app->costs, hash, err)) !=
            HS_OK)
        return rc;
    own_password p = {user_id, session_id, hash, now_of(app), client};
    rc = hs_store_transact(app->store, own_password_txn, &p, err);
    sodium_memzero(hash, sizeof hash);
    if (rc == HS_OK)
        mail_password_changed(app, user_id, client);
    return rc;
}

hs_status hs_accounts_change_email(hs_app *app, const char *client,
                                   hs_id user_id, const char *password,
                                   const char *email, hs_error *err)
{
    email_change c = {email ? email : "", ""};
    char by[96];
    hs_status rc = hs_accounts_check_email(email, err);
    if (rc == HS_OK)
        rc = reauthenticate(app, client, user_id, password, "password", err);
    if (rc == HS_OK)
        rc = change_own(app, client, user_id, "email_changed",
                        HS_AUDIT_EMAIL_CHANGED, apply_email, &c, err);
    snprintf(by, sizeof by, "you (or someone with your password) from %s",
             client && client[0] ? client : "an unknown address");
    if (rc == HS_OK)
        mail_email_changed(app, user_id, &c, by);
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
