/* domain/logins.h - what one attempt to prove a password costs and
 * leaves behind: the back-off per account and per client address, the
 * count of failures, the lock with its mail and one-time unlock link, and
 * the unlock links themselves.
 *
 * Why apart from accounts.c: accounts.c says what a login, a password
 * change or an admin action does to users and sessions; this file holds
 * the defence against guessing (OWASP's authentication cheat sheet), which
 * the login and every re-authentication (changing one's own password or
 * e-mail) share, so that they cannot drift apart. The numbers are auth.h's
 * (hs_login_policy); the state is the store's (`logins` resource, events).
 *
 * The promise to the outside: an attempt is answered the same way whatever
 * happened - unknown name, wrong password, back-off, locked account - and
 * costs the same (one Argon2 computation and one store transaction), so
 * neither the answer nor its timing tells which usernames exist or which
 * accounts are locked. The user learns of a lock by e-mail.
 *
 * Thread-safety: as the store's.
 */
#ifndef HEALER_HS_LOGINS_H
#define HEALER_HS_LOGINS_H

#include <stdint.h>

#include "base/app.h"
#include "base/error.h"
#include "domain/auth.h"
#include "store/records.h"

/* The account events a lock and an unlock record (store.h's events). */
#define HS_EVENT_LOCKED "locked"
#define HS_EVENT_UNLOCKED "unlocked"
/* A login (or re-authentication) that succeeded after failures: the
 * failures before it no longer count toward a lock. */
#define HS_EVENT_LOGIN_SUCCEEDED "login_succeeded"

/* The login policy the server runs with (app->login_policy, or
 * HS_LOGIN_POLICY_DEFAULT when the app has none): the one source of the
 * numbers the login page states (GET /api/v1/setup's `lockout`). */
hs_login_policy hs_logins_policy(const hs_app *app);

/* One attempt at a password, from its start to its outcome. */
typedef struct hs_attempt {
    hs_login_policy policy;
    int64_t now;
    int has_client;                       /* the address is known */
    char client[64];                      /* its text, for the mail */
    char address_key[HS_BACKOFF_KEY_MAX]; /* "a:" + its client key */
    char account_key[HS_BACKOFF_KEY_MAX]; /* "u:" + the name's hash */
    int found;                            /* the name is a user's */
    hs_user user;                         /* when found */
    int64_t account_failures; /* the name's back-off count when checked */
    /* out of hs_attempt_check: when the back-off that refused it ends
     * (the later of the account's and the address's), 0 = none did */
    int64_t backoff_until;
    /* out of hs_attempt_failed: */
    int locked_now; /* this failure locked it */
    int64_t lock_until;
} hs_attempt;

/* Starts an attempt at `now` on `username` (any text, NULL = "") from
 * `client` (NULL or "" = unknown: no per-address part): looks the user
 * up. Errors: the store's (never HS_ERR_NOTFOUND: an unknown name is
 * a->found = 0). */
hs_status hs_attempt_begin(hs_app *app, const char *client,
                           const char *username, hs_attempt *a, hs_error *err);

/* The same for a user already known (re-authentication of `user_id`). */
hs_status hs_attempt_begin_user(hs_app *app, const char *client, hs_id user_id,
                                hs_attempt *a, hs_error *err);

/* Checks `password` against the attempt's user with exactly one Argon2
 * computation whatever the case (a dummy hash for an unknown name), and
 * the back-off of the address and the account (a->backoff_until says
 * whether one refused, and until when); with `lock_counts`, a locked
 * account too. 1 when the password is right and nothing refuses the
 * attempt, else 0. */
int hs_attempt_check(hs_app *app, hs_attempt *a, const char *password,
                     int lock_counts);

/* Counts a failed (or refused) attempt, in one transaction: a failure of
 * the address and of the name's back-off; for an existing user also a
 * "login_failed" event, and when that is the lockout policy's failure on
 * an account not locked yet: the lock, a "locked" event, the admins'
 * notification and a new unlock link (older ones revoked). Then, after
 * the commit, the "account_locked" alert to the user and the admins,
 * with the address, the time and the link. a->locked_now tells. */
hs_status hs_attempt_failed(hs_app *app, hs_attempt *a, hs_error *err);

/* A successful attempt (after hs_attempt_check): when the account had
 * failures, its back-off is forgotten and a "login_succeeded" event makes
 * the failures before it stop counting toward a lock - one typo after a
 * good login does not lock. The address's count is kept: one good login
 * with an attacker's own account must not buy new guesses. */
hs_status hs_attempt_succeeded(hs_app *app, const hs_attempt *a, hs_error *err);

/* Inside a transaction that unlocks user u (an admin, the CLI, a link):
 * revokes u's unlock links and forgets its account back-off. */
struct hs_store;
hs_status hs_logins_forget_user(struct hs_store *store, const hs_user *u,
                                int64_t now, hs_error *err);

/* Why an unlock link was refused. */
typedef enum hs_unlock_refusal {
    HS_UNLOCK_ACCEPTED = 0,
    HS_UNLOCK_UNKNOWN, /* malformed, or no such link */
    HS_UNLOCK_USED,    /* it worked once already */
    HS_UNLOCK_EXPIRED  /* past its time, or replaced (a newer lock, an
                          unlock another way) */
} hs_unlock_refusal;

/* Lifts a lock with the token of an unlock link opened from `client`
 * (NULL or "" = unknown): marks the link used (a link works once, even
 * opened twice at once), clears the lock and the account's back-off,
 * records "unlocked" and the audit row "user_unlocked" by the user
 * themself - in one transaction - and puts the user (password_hash
 * cleared) in *user_out. A refused link is HS_ERR_DENIED with *refusal
 * saying why (field "token"). */
hs_status hs_logins_unlock_with_token(hs_app *app, const char *client,
                                      const char *token, hs_user *user_out,
                                      hs_unlock_refusal *refusal,
                                      hs_error *err);

/* Deletes back-off counters and unlock links nobody needs any more. */
hs_status hs_logins_purge(hs_app *app, int64_t *removed, hs_error *err);

/* The unlock page's address for a token: PUBLIC_URL/#/unlock?token=T. */
void hs_logins_unlock_link(const hs_app *app, const char *token, char *out,
                           size_t cap);

#endif
