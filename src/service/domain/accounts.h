/* accounts.h - the accounts service: creating users with the rules every
 * entry point (the CLI's `healer user add`, first-run setup, the admin API)
 * must share.
 *
 * Services sit between the entry points and the store: they validate, hash
 * and decide, then call the store; they never speak SQL and never touch
 * HTTP. Thread-safety: as the store's (every call here is one store call).
 */
#ifndef HEALER_HS_ACCOUNTS_H
#define HEALER_HS_ACCOUNTS_H

#include <stdint.h>

#include "domain/auth.h"
#include "base/error.h"
#include "store/store.h"

/* Checks a username: 1..63 bytes of ASCII letters, digits, '.', '_', '-',
 * starting with a letter or digit. HS_ERR_INVALID says what is wrong. */
hs_status hs_accounts_check_username(const char *username, hs_error *err);

/* Creates a user after checking the name and the password policy and
 * hashing the password (costs NULL = interactive). *id_out (may be NULL)
 * receives the new id. HS_ERR_CONFLICT when the name is taken. */
hs_status hs_accounts_create_user(hs_store *store, const char *username,
                                  const char *password, int is_admin,
                                  int64_t now, const hs_auth_costs *costs,
                                  hs_id *id_out, hs_error *err);

/* What a successful login hands to the entry point. */
typedef struct hs_login {
    hs_user user;                            /* password_hash cleared */
    hs_session session;
    char token[HS_TOKEN_CHARS + 1];          /* for the cookie; stored hashed */
} hs_login;

/* Logs `username` in at `now`: HS_OK with a new session in *out;
 * HS_ERR_DENIED ("wrong username or password" - the same message whether
 * the user exists or not - or "account disabled" once the password was
 * right); HS_ERR_LOCKED while the account is locked (the password is not
 * even checked). A wrong password is recorded as an account event, and
 * the failure that reaches the lockout policy locks the account, records
 * "locked" and raises an admin notification, all in one transaction.
 * lockout/sessions/costs NULL = defaults. */
hs_status hs_accounts_login(hs_store *store, const char *username,
                            const char *password, int remember, int64_t now,
                            const hs_lockout_policy *lockout,
                            const hs_session_policy *sessions,
                            const hs_auth_costs *costs, hs_login *out,
                            hs_error *err);

/* A session is written back (last seen, sliding expiry) at most this often. */
#define HS_SESSION_TOUCH_SECONDS 15

/* Resolves a session cookie at `now`: HS_OK with the session and its user
 * (password_hash cleared), after sliding its expiry (stored at most every
 * HS_SESSION_TOUCH_SECONDS); HS_ERR_DENIED for a
 * malformed, unknown, expired (then deleted) or disabled-user session. */
hs_status hs_accounts_session_check(hs_store *store, const char *token,
                                    int64_t now,
                                    const hs_session_policy *sessions,
                                    hs_session *session_out, hs_user *user_out,
                                    hs_error *err);

/* ---- administration (the admin API and the CLI call these) ---- */

/* Lifts a lockout now: clears locked_until and records "unlocked"; the
 * failures before it no longer count toward the next lock. */
hs_status hs_accounts_unlock(hs_store *store, hs_id user_id, int64_t now,
                             hs_error *err);

/* Sets a new password (policy-checked), records "password_reset" and ends
 * every session of the user. costs NULL = interactive. */
hs_status hs_accounts_reset_password(hs_store *store, hs_id user_id,
                                     const char *password, int64_t now,
                                     const hs_auth_costs *costs, hs_error *err);

/* Disables (ending every session) or re-enables an account; records
 * "disabled" / "enabled". */
hs_status hs_accounts_set_disabled(hs_store *store, hs_id user_id,
                                   int disabled, int64_t now, hs_error *err);

#endif
