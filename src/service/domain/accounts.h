/* domain/accounts.h - the accounts service: users, logins, sessions, the
 * first-run setup and what administrators may do to accounts.
 *
 * Every entry point (the CLI's `healer user add`, first-run setup, the
 * login and admin API) goes through here, so they share one set of rules:
 * username and password policy, lockout after failed logins, the login
 * limit per client address, sliding session expiry, "the last enabled
 * administrator cannot be disabled". Services sit between the entry points
 * and the store: they validate, hash and decide, then call the store; they
 * never speak SQL and never touch HTTP. Every date comes from app->clock.
 *
 * Errors name the input they are about in err->field ("username",
 * "password") when there is one. Thread-safety: as the store's.
 */
#ifndef HEALER_HS_ACCOUNTS_H
#define HEALER_HS_ACCOUNTS_H

#include <stdint.h>

#include "base/app.h"
#include "base/error.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/logins.h"
#include "store/records.h"

/* Checks a username: 1..63 bytes of ASCII letters, digits, '.', '_', '-',
 * starting with a letter or digit. HS_ERR_INVALID (field "username") says
 * what is wrong. */
hs_status hs_accounts_check_username(const char *username, hs_error *err);

/* Checks an e-mail address: "" (none) or 1..254 bytes of valid UTF-8
 * with exactly one '@' that neither starts nor ends it, and no spaces or
 * control characters; case is kept as given. HS_ERR_INVALID (field
 * "email") says what is wrong. */
hs_status hs_accounts_check_email(const char *email, hs_error *err);

/* Creates a user after checking the name, the password policy and the
 * e-mail address (NULL or "" = none), and hashing the password
 * (app->costs), and records "user_created" by `by` in the audit log in
 * the same transaction. *id_out (may be NULL) receives the new id.
 * HS_ERR_INVALID names the field; HS_ERR_CONFLICT when the name is
 * taken. */
hs_status hs_accounts_create_user(hs_app *app, const hs_actor *by,
                                  const char *username, const char *password,
                                  int is_admin, const char *email,
                                  hs_id *id_out, hs_error *err);

/* What a successful login hands to the entry point. */
typedef struct hs_login {
    hs_user user;                   /* password_hash cleared */
    hs_session session;
    char token[HS_TOKEN_CHARS + 1]; /* for the cookie; stored hashed */
} hs_login;

/* Logs `username` in from `client` (its address; NULL = no per-address
 * limit or back-off): HS_OK with a new session in *out; HS_ERR_LIMITED
 * when the client has used up its attempts for this minute
 * (app->login_throttle); HS_ERR_DISABLED once the password was right for
 * a disabled account; else HS_ERR_DENIED "wrong username or password" -
 * the same words, and the same work (domain/logins.h), whether the name
 * is unknown, the password wrong, the account or the address in back-off
 * or the account locked. Every refusal counts as a failure; the failure
 * that reaches the lockout policy locks the account, notifies the
 * administrators and mails the user an unlock link. */
hs_status hs_accounts_login(hs_app *app, const char *client,
                            const char *username, const char *password,
                            int remember, hs_login *out, hs_error *err);

/* Ends one session (logout). Not an error when it is already gone. */
hs_status hs_accounts_logout(hs_app *app, hs_id session_id, hs_error *err);

/* A session is written back (last seen, sliding expiry) at most this often. */
#define HS_SESSION_TOUCH_SECONDS 15

/* Resolves a session token now: HS_OK with the session and its user
 * (password_hash cleared), after sliding its expiry (stored at most every
 * HS_SESSION_TOUCH_SECONDS); HS_ERR_DENIED for a malformed, unknown,
 * expired (then deleted) or disabled-user session; the store's own error
 * (HS_ERR_UNAVAILABLE, HS_ERR_IO, ...) when it cannot tell, which is
 * never a reason to log anyone out. */
hs_status hs_accounts_session_check(hs_app *app, const char *token,
                                    hs_session *session_out, hs_user *user_out,
                                    hs_error *err);

/* Deletes every expired session; *removed (may be NULL) gets how many. */
hs_status hs_accounts_purge_sessions(hs_app *app, int64_t *removed,
                                     hs_error *err);

/* ---- first-run setup ---- */

typedef struct hs_setup hs_setup;

/* The setup state of a starting server: a fresh one-time token when the
 * store has no user yet, none otherwise. Free with hs_setup_free. */
hs_status hs_setup_new(hs_app *app, hs_setup **out, hs_error *err);
void hs_setup_free(hs_setup *s);

/* The pending setup token into out ("" when setup is done or was never
 * needed). For the console at start-up only. */
void hs_setup_token(hs_setup *s, char out[HS_SETUP_TOKEN_CHARS + 1]);

/* Whether the platform still has no user. */
hs_status hs_setup_required(hs_app *app, int *required, hs_error *err);

/* Creates the first administrator with the setup token and logs them in:
 * HS_ERR_CONFLICT once setup is done, HS_ERR_LIMITED as for logins,
 * HS_ERR_DENIED (field "token") for a wrong token, HS_ERR_INVALID naming
 * the field for a bad username or password. One setup at a time: the
 * token is spent by the first that succeeds. The session is a remembered
 * one (as a login's) when `remember` is non-zero. */
hs_status hs_setup_complete(hs_app *app, const char *client, const char *token,
                            const char *username, const char *password,
                            int remember, hs_login *out, hs_error *err);

/* ---- reading users ---- */

/* User `id` (password_hash cleared). HS_ERR_NOTFOUND when there is none. */
hs_status hs_accounts_get(hs_app *app, hs_id id, hs_user *out, hs_error *err);

/* Every user by id (password hashes cleared): *items (malloc'ed, caller
 * frees) and *n. */
hs_status hs_accounts_list(hs_app *app, hs_user **items, size_t *n,
                           hs_error *err);

/* The saved UI preferences of user_id (JSON object text, malloc'ed into
 * *json_out, NULL when none were saved; caller frees). */
hs_status hs_accounts_prefs_get(hs_app *app, hs_id user_id, char **json_out,
                                hs_error *err);

/* Replaces user_id's preferences (JSON object text the caller checked). */
hs_status hs_accounts_prefs_set(hs_app *app, hs_id user_id,
                                const char *prefs_json, hs_error *err);

/* ---- administration (the admin API and the CLI call these) ----
 *
 * `by` is who acts (domain/audit.h): each change is written to the audit
 * log in the transaction that makes it. */

/* Lifts a lockout now (an administrator, or `healer user unlock`): clears
 * locked_until, revokes the user's unlock links, forgets the account's
 * back-off and records "unlocked" (audit: "user_unlocked"); the failures
 * before it no longer count toward the next lock. */
hs_status hs_accounts_unlock(hs_app *app, const hs_actor *by, hs_id user_id,
                             hs_error *err);

/* Sets a user's e-mail address (an administrator; checked as
 * hs_accounts_check_email, "" = none) and records "email_changed" (audit
 * too, by `by`); the former address, if any and not the same one, is
 * mailed the change (as hs_accounts_change_email). */
hs_status hs_accounts_set_email(hs_app *app, const hs_actor *by, hs_id user_id,
                                const char *email, hs_error *err);

/* The user called exactly `username` (password_hash cleared);
 * HS_ERR_NOTFOUND (field "username") names it when there is none. */
hs_status hs_accounts_find(hs_app *app, const char *username, hs_user *out,
                           hs_error *err);

/* ---- unlock links (the mail of a lock; no session needed) ---- */

/* Lifts a lock with the token of its mail's link, as
 * hs_logins_unlock_with_token (used once; refused links say why in
 * *refusal with HS_ERR_DENIED; audited as "user_unlocked" by the user
 * themself from `client`), after the per-address limit of logins
 * (HS_ERR_LIMITED). *user_out: the unlocked user. */
hs_status hs_accounts_unlock_with_link(hs_app *app, const char *client,
                                       const char *token, hs_user *user_out,
                                       hs_unlock_refusal *refusal,
                                       hs_error *err);

/* ---- the user's own account ---- */

/* Changes user_id's password from session_id: the new password is
 * policy-checked (HS_ERR_INVALID, field "new"; the current one again is
 * refused too), then the current password is proved like a login (a
 * wrong one is HS_ERR_DENIED field "current" and counts as a failure of
 * the account and of `client`; any during back-off is HS_ERR_LIMITED
 * field "current" with err->retry_after, not judged nor counted);
 * then the hash is replaced, "password_changed" recorded (an account
 * event and an audit row, by the user themself from `client`) and every
 * other session of the user ended - the current one is kept - in one
 * transaction, and the user is mailed. */
hs_status hs_accounts_change_password(hs_app *app, const char *client,
                                      hs_id user_id, hs_id session_id,
                                      const char *current,
                                      const char *new_password, hs_error *err);

/* Changes user_id's own e-mail address ("" = none), after the address is
 * checked (field "email") and the current password proved as above
 * (field "password"): unlock links go there, so a stolen session alone
 * must not redirect them. Records "email_changed" (event and audit row,
 * by the user themself from `client`); then the former address, if any
 * and not the same one, is mailed the change (an "email_changed"
 * alert to that address only). */
hs_status hs_accounts_change_email(hs_app *app, const char *client,
                                   hs_id user_id, const char *password,
                                   const char *email, hs_error *err);

/* Sets a new password (policy-checked, field "password"), records
 * "password_reset" (audit too) and ends every session of the user. */
hs_status hs_accounts_reset_password(hs_app *app, const hs_actor *by,
                                     hs_id user_id, const char *password,
                                     hs_error *err);

/* Disables (ending every session) or re-enables an account; records
 * "disabled" / "enabled" (audit: "user_disabled" / "user_enabled").
 * Disabling the last enabled administrator is HS_ERR_CONFLICT: the
 * platform never loses its administrators. */
hs_status hs_accounts_set_disabled(hs_app *app, const hs_actor *by,
                                   hs_id user_id, int disabled,
                                   hs_error *err);

#endif
