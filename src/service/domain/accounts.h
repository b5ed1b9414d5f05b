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
#include "store/records.h"

/* Checks a username: 1..63 bytes of ASCII letters, digits, '.', '_', '-',
 * starting with a letter or digit. HS_ERR_INVALID (field "username") says
 * what is wrong. */
hs_status hs_accounts_check_username(const char *username, hs_error *err);

/* Creates a user after checking the name and the password policy and
 * hashing the password (app->costs), and records "user_created" by `by`
 * in the audit log in the same transaction. *id_out (may be NULL)
 * receives the new id. HS_ERR_INVALID names the field; HS_ERR_CONFLICT
 * when the name is taken. */
hs_status hs_accounts_create_user(hs_app *app, const hs_actor *by,
                                  const char *username,
                                  const char *password, int is_admin,
                                  hs_id *id_out, hs_error *err);

/* What a login hands to the entry point: on success the user and the
 * session; on a refusal what the user may do next. */
typedef struct hs_login {
    hs_user user;                   /* password_hash cleared */
    hs_session session;
    char token[HS_TOKEN_CHARS + 1]; /* for the cookie; stored hashed */
    /* HS_ERR_DENIED: failed logins left before the account locks (an
     * unknown username counts as an account with one failure: the answer
     * must not tell which usernames exist); -1 otherwise. */
    int attempts_remaining;
    int64_t locked_until; /* HS_ERR_LOCKED: unix time the lock ends */
} hs_login;

/* Logs `username` in from `client` (its address; NULL = not limited):
 * HS_OK with a new session in *out; HS_ERR_LIMITED when the client has
 * used up its attempts for this minute (app->login_throttle);
 * HS_ERR_DENIED ("wrong username or password" - the same whether the user
 * exists or not); HS_ERR_DISABLED once the password was right for a
 * disabled account; HS_ERR_LOCKED while the account is locked (the
 * password is not even checked). A refusal fills out->attempts_remaining
 * and out->locked_until (see hs_login). A wrong password is recorded; the failure
 * that reaches the lockout policy locks the account, records "locked" and
 * notifies the administrators, all in one transaction. */
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
 * expired (then deleted) or disabled-user session. */
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

/* Lifts a lockout now: clears locked_until and records "unlocked" (audit:
 * "user_unlocked"); the failures before it no longer count toward the
 * next lock. */
hs_status hs_accounts_unlock(hs_app *app, const hs_actor *by, hs_id user_id,
                             hs_error *err);

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
