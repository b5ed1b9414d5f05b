/* auth.h - the cryptographic and policy core of SystemHealer's login.
 *
 * Everything the web service needs to authenticate users, with no I/O:
 * password hashing (Argon2id), session tokens and the hashes the store keeps
 * instead of them, CSRF tokens bound to a session, the account-lockout rule,
 * the back-off between failed logins, session expiry, and the one-time
 * setup token printed on first start.
 *
 * Why this shape: the rules that decide who is logged in are pure functions
 * of their inputs (times are passed in, never read from the clock), so they
 * can be tested exhaustively and the store, the HTTP handlers and the CLI all
 * apply the same rule. All randomness and hashing comes from libsodium; this
 * file never stores, logs or prints a secret. It deliberately does not touch
 * the database, cookies or HTTP headers - that is the handlers' and the
 * store's job.
 *
 * Thread-safety: after hs_auth_init() has succeeded once, every function
 * here is safe to call from any thread at the same time (no shared mutable
 * state; libsodium's primitives are thread-safe after sodium_init).
 * Calling anything else before hs_auth_init() is a programming error.
 */
#ifndef HEALER_HS_AUTH_H
#define HEALER_HS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#include "base/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- sizes ------------------------------------------------------------ */

/* Buffer size for a password hash string, NUL included (an Argon2id
 * "$argon2id$v=19$m=...,t=...,p=1$salt$hash" string). */
#define HS_PASSWORD_HASH_MAX crypto_pwhash_STRBYTES
/* Password policy bounds, in bytes of UTF-8. */
#define HS_PASSWORD_MIN_BYTES 8
#define HS_PASSWORD_MAX_BYTES 1024

/* A session/API token: 32 random bytes, base64url without padding. */
#define HS_TOKEN_BYTES 32
#define HS_TOKEN_CHARS 43
/* The stored form of a token: BLAKE2b-256, lowercase hex. */
#define HS_TOKEN_HASH_HEX 64

/* The server key CSRF tokens are computed under (HMAC-SHA512-256). */
#define HS_AUTH_KEY_BYTES crypto_auth_KEYBYTES
/* A CSRF token: the 32-byte MAC, base64url without padding. */
#define HS_CSRF_TOKEN_CHARS 43

/* Setup token: 20 symbols shown as XXXXX-XXXXX-XXXXX-XXXXX (23 chars). */
#define HS_SETUP_TOKEN_SYMBOLS 20
#define HS_SETUP_TOKEN_CHARS 23

/* ---- initialisation --------------------------------------------------- */

/* Initialises libsodium. Must succeed once before any other hs_auth_ call.
 * Idempotent and thread-safe (as sodium_init is): calling it again, from any
 * thread, is harmless. Returns HS_OK, or HS_ERR_CRYPTO when libsodium cannot
 * initialise (e.g. no entropy source); the process must then not serve
 * logins. */
hs_status hs_auth_init(hs_error *err);

/* ---- passwords -------------------------------------------------------- */

/* Argon2id cost parameters (see crypto_pwhash(3)). */
typedef struct hs_auth_costs {
    unsigned long long opslimit;
    size_t memlimit;
} hs_auth_costs;

/* The production costs (libsodium's "interactive" setting: ~64 MiB, a few
 * tens of milliseconds). Passing NULL as costs means this. */
#define HS_AUTH_COSTS_INTERACTIVE                                              \
    ((hs_auth_costs){crypto_pwhash_OPSLIMIT_INTERACTIVE,                       \
                     crypto_pwhash_MEMLIMIT_INTERACTIVE})
/* The cheapest costs libsodium accepts. For tests ONLY: hashes made with it
 * are easy to brute-force. */
#define HS_AUTH_COSTS_TEST                                                     \
    ((hs_auth_costs){crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN})

/* Checks a new password against the policy: 8..1024 bytes, valid UTF-8
 * (no overlong forms, no surrogates, nothing above U+10FFFF). Returns HS_OK
 * or HS_ERR_INVALID with a message fit to show the user (it never contains
 * the password). A C string cannot hold a NUL byte; callers that receive a
 * length-delimited password (an HTTP body) must reject embedded NULs before
 * calling (jansson does so by default). Use this when a password is set,
 * not at login. */
hs_status hs_auth_check_password_policy(const char *password, hs_error *err);

/* HS_OK when text[0..len) is valid UTF-8 by the rule above (shortest
 * forms, no surrogates, nothing above U+10FFFF), else HS_ERR_INVALID (also
 * for NULL). */
hs_status hs_auth_check_utf8(const char *text, size_t len);

/* Hashes `password` with Argon2id and a fresh random salt into out, a
 * NUL-terminated string of at most HS_PASSWORD_HASH_MAX bytes that holds
 * everything needed to verify it later (store it as text). costs may be
 * NULL (= HS_AUTH_COSTS_INTERACTIVE). Does not apply the policy; does refuse
 * a password longer than HS_PASSWORD_MAX_BYTES. Errors: HS_ERR_INVALID (NULL
 * or over-long password, costs out of libsodium's range), HS_ERR_NOMEM (the
 * memlimit could not be allocated). On error out is an empty string. Slow
 * and memory-hungry by design: do not call it while holding a lock. */
hs_status hs_auth_hash_password(const char *password,
                                const hs_auth_costs *costs,
                                char out[HS_PASSWORD_HASH_MAX], hs_error *err);

/* 1 when `password` matches `hash` (made by hs_auth_hash_password, with any
 * costs), else 0. A NULL, unterminated or malformed hash, a NULL password or
 * one over HS_PASSWORD_MAX_BYTES is simply "no". Timing does not depend on
 * how much of the password is right. */
int hs_auth_verify_password(const char *hash, const char *password);

/* 1 when `hash` was not made with exactly `costs` (NULL = interactive) or
 * is not an Argon2id hash string at all, else 0. After a successful login
 * with a hash that needs rehashing, store hs_auth_hash_password(password). */
int hs_auth_needs_rehash(const char *hash, const hs_auth_costs *costs);

/* ---- tokens ------------------------------------------------------------ */

/* Writes a new random token (HS_TOKEN_BYTES from the OS CSPRNG, base64url
 * without padding: HS_TOKEN_CHARS characters of [A-Za-z0-9_-]) plus a NUL.
 * Give it to the client once; keep only hs_auth_token_hash of it. */
void hs_auth_new_token(char out[HS_TOKEN_CHARS + 1]);

/* Writes the lowercase hex BLAKE2b-256 of the token's 43 characters plus a
 * NUL: the value the store keeps and looks sessions up by. Deterministic.
 * Returns HS_ERR_INVALID (and out = "") for anything that is not exactly a
 * canonical token as hs_auth_new_token makes them - wrong length, a
 * character outside base64url, padding, non-zero trailing bits - so garbage
 * from a cookie never reaches the database. token may be NULL (invalid). */
hs_status hs_auth_token_hash(const char *token,
                             char out[HS_TOKEN_HASH_HEX + 1]);

/* ---- CSRF -------------------------------------------------------------- */

/* Fills key with a new random server key. Keep it secret and stable for the
 * life of the sessions (persist it, or every CSRF token dies on restart). */
void hs_auth_new_server_key(uint8_t key[HS_AUTH_KEY_BYTES]);

/* Writes the CSRF token of a session: base64url(HMAC-SHA512-256 under
 * server_key of the session's token hash, i.e. the 64 hex characters), plus
 * a NUL. Deterministic, so it needs no storage: the handler recomputes it.
 * Returns HS_ERR_INVALID (and out = "") when session_token_hash is not 64
 * lowercase hex characters or an argument is NULL. */
hs_status hs_auth_csrf_token(const uint8_t server_key[HS_AUTH_KEY_BYTES],
                             const char *session_token_hash,
                             char out[HS_CSRF_TOKEN_CHARS + 1]);

/* 1 when `presented` (e.g. the X-CSRF-Token header) is the CSRF token of
 * that session under that key, else 0. Constant time in the content of
 * presented; NULL, empty, truncated or over-long input is 0, as is an
 * invalid session_token_hash. */
int hs_auth_csrf_verify(const uint8_t server_key[HS_AUTH_KEY_BYTES],
                        const char *session_token_hash, const char *presented);

/* ---- lockout ----------------------------------------------------------- */

typedef struct hs_lockout_policy {
    int max_failures;       /* failures that lock the account */
    int64_t window_seconds; /* ...when they fall within this span */
    int64_t lock_seconds;   /* lock length, counted from the last failure */
} hs_lockout_policy;

/* Five failures within 15 minutes lock the account for 15 minutes. The
 * _INIT form is the braces, for initializers that hold a policy. */
#define HS_LOCKOUT_DEFAULT_INIT {5, 900, 900}
#define HS_LOCKOUT_DEFAULT ((hs_lockout_policy)HS_LOCKOUT_DEFAULT_INIT)

/* Returns the unix time until which the account is locked, or 0 when it is
 * not locked at `now`. failure_times are the unix times of the account's
 * failed logins, in any order (duplicates count separately).
 *
 * Rule: let L be the latest failure. The account is locked until
 * L + lock_seconds when at least max_failures failures t satisfy
 * L - window_seconds < t <= L and now < L + lock_seconds. A failure exactly
 * window_seconds before L does NOT count (the window is half-open: "within
 * 15 minutes" means less than 15 minutes earlier). Only the window ending at
 * L matters: an older cluster of failures has either locked the account
 * already or its lock has run out.
 *
 * p NULL means HS_LOCKOUT_DEFAULT; a policy with max_failures, window or
 * lock <= 0 never locks; failure_times may be NULL when n is 0. Failures
 * recorded while the account is locked would extend the lock, so the
 * caller locks only an account that is not locked already. The result
 * saturates at INT64_MAX instead of overflowing. */
int64_t hs_auth_lock_until(const hs_lockout_policy *p,
                           const int64_t *failure_times, size_t n, int64_t now);

/* ---- back-off ---------------------------------------------------------- */

/* How long failed logins make the next attempt wait, per account or per
 * client address (OWASP's authentication cheat sheet: exponential delays
 * rather than a hard lock alone). */
typedef struct hs_backoff_policy {
    int64_t free_failures; /* failures in a row before any wait (<= 0: no
                              back-off at all) */
    int64_t first_delay;   /* seconds to wait after the free ones (> 0) */
    int64_t max_delay;     /* the longest wait, seconds */
    int64_t forget_after;  /* seconds without a failure after which the
                              count starts over */
} hs_backoff_policy;

/* An account: after 3 failures in a row wait 1 s, then 2, 4, ... at most
 * 60 s; an address (shared by many people behind a NAT or a proxy): the
 * same after 10. Both forget after 15 quiet minutes. The plain numbers are
 * also the defaults of serve's login-backoff-after,
 * login-address-backoff-after and login-backoff-max (server/config.c);
 * HS_BACKOFF_INIT(free_failures) is the braces, for initializers. */
#define HS_BACKOFF_ACCOUNT_AFTER 3
#define HS_BACKOFF_ADDRESS_AFTER 10
#define HS_BACKOFF_MAX_DELAY 60
#define HS_BACKOFF_INIT(free_failures)                                         \
    {(free_failures), 1, HS_BACKOFF_MAX_DELAY, 900}
#define HS_BACKOFF_ACCOUNT_DEFAULT                                             \
    ((hs_backoff_policy)HS_BACKOFF_INIT(HS_BACKOFF_ACCOUNT_AFTER))
#define HS_BACKOFF_ADDRESS_DEFAULT                                             \
    ((hs_backoff_policy)HS_BACKOFF_INIT(HS_BACKOFF_ADDRESS_AFTER))

/* The wait after the `failures`-th failure in a row: 0 while failures <
 * free_failures, then first_delay * 2^(failures - free_failures), capped
 * at max_delay (so with the account default: failures 3, 4, 5 wait 1, 2,
 * 4 s). p NULL means HS_BACKOFF_ACCOUNT_DEFAULT. Saturates, never
 * overflows. */
int64_t hs_auth_backoff_delay(const hs_backoff_policy *p, int64_t failures);

/* The unix time before which a new attempt is refused, or 0 when one is
 * allowed at `now`: last_failure_at + hs_auth_backoff_delay(failures) + 1
 * (times are whole seconds: the failure came somewhere in its second, and
 * the wait is never shorter than the delay) when that is after now, and the failures are not forgotten (now -
 * last_failure_at < forget_after). A refused attempt is itself a failure
 * (the caller counts it), so hammering only lengthens the wait. */
int64_t hs_auth_backoff_until(const hs_backoff_policy *p, int64_t failures,
                              int64_t last_failure_at, int64_t now);

/* Everything that decides whether a login may be tried. */
typedef struct hs_login_policy {
    hs_lockout_policy lockout;
    hs_backoff_policy account;
    hs_backoff_policy address;
    int64_t unlock_link_seconds; /* how long a lock's unlock link works */
} hs_login_policy;

/* The lockout, the two back-offs and unlock links valid for 24 hours. */
#define HS_LOGIN_POLICY_DEFAULT                                                \
    ((hs_login_policy){HS_LOCKOUT_DEFAULT_INIT,                                \
                       HS_BACKOFF_INIT(HS_BACKOFF_ACCOUNT_AFTER),              \
                       HS_BACKOFF_INIT(HS_BACKOFF_ADDRESS_AFTER), 24 * 3600})

/* ---- sessions ---------------------------------------------------------- */

typedef struct hs_session_policy {
    int64_t remember_seconds; /* absolute life of any session */
    int64_t idle_seconds;     /* inactivity limit without "remember me" */
} hs_session_policy;

/* 7 days with "remember me"; otherwise 30 minutes of inactivity. */
#define HS_SESSION_DEFAULT ((hs_session_policy){7 * 24 * 3600, 30 * 60})

/* The unix time a session created or last seen at `now` expires if nothing
 * else happens: now + remember_seconds when remember, else
 * now + idle_seconds. Use it for the cookie's Expires/Max-Age and the
 * store's clean-up column. (For a non-remember session that is older, the
 * real expiry is min(this, created_at + remember_seconds), which
 * hs_auth_session_valid applies.) p NULL means HS_SESSION_DEFAULT.
 * Saturates at INT64_MAX. */
int64_t hs_auth_session_expiry(int remember, int64_t now,
                               const hs_session_policy *p);

/* 1 when a session is still valid at `now`, else 0.
 *   remember: valid while now < created_at + remember_seconds (absolute;
 *             activity does not extend it);
 *   else:     valid while now - last_seen_at < idle_seconds, and never
 *             beyond created_at + remember_seconds either.
 * Boundaries are exclusive: at exactly the limit the session is over.
 * A last_seen_at in the future (clock stepped back) counts as "just seen".
 * p NULL means HS_SESSION_DEFAULT. */
int hs_auth_session_valid(int remember, int64_t created_at,
                          int64_t last_seen_at, int64_t now,
                          const hs_session_policy *p);

/* ---- setup token ------------------------------------------------------- */

/* Writes a new one-time setup token like "K7QX4-M2PZR-9HDWT-VB3NC" plus a
 * NUL: 20 symbols (100 bits) from the 32 symbols A-Z and 2-9 minus the
 * ambiguous O and I (and no 0, 1 or lowercase l), grouped by dashes so a
 * person can read it off a terminal and type it. */
void hs_auth_new_setup_token(char out[HS_SETUP_TOKEN_CHARS + 1]);

/* 1 when the token a user typed matches `expected`, else 0. Case is
 * ignored, and so are dashes, spaces and tabs anywhere. Constant time in
 * the content of both strings (it depends only on their lengths). NULL,
 * empty or wrong-length input is 0. */
int hs_auth_setup_token_matches(const char *expected, const char *presented);

#ifdef __cplusplus
}
#endif
#endif
