/* auth.c - password hashing, tokens, CSRF, lockout and session rules.
 *
 * Contracts are in auth.h. Notes on the "why" of this file:
 *  - Every secret comparison goes through sodium_memcmp, and every parser of
 *    client input (tokens, CSRF headers, typed setup tokens) checks lengths
 *    before content so that its timing depends only on public lengths.
 *  - Tokens are accepted only in their canonical form (decode, re-encode,
 *    compare): one token has exactly one spelling, hence exactly one hash,
 *    and nothing else ever reaches a database query.
 *  - The lockout and session rules take `now` as an argument instead of
 *    reading the clock, so that they are pure and testable; their integer
 *    arithmetic saturates rather than overflows.
 *  - Nothing here allocates: libsodium's Argon2 allocates its own working
 *    memory, and every buffer is caller-provided and fixed-size.
 */
#include "domain/auth.h"

#include <string.h>

#define HS__B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

static const char setup_alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

hs_status hs_auth_init(hs_error *err)
{
    /* 0 = initialised now, 1 = already initialised, -1 = failure. */
    if (sodium_init() < 0)
        return hs_fail(err, HS_ERR_CRYPTO, "libsodium failed to initialise");
    return HS_OK;
}

/* ---- passwords -------------------------------------------------------- */

/* Length of the UTF-8 sequence starting at s[0] (1..4), or 0 when the bytes
 * there are not a valid, shortest-form encoding of a scalar value. Reads no
 * further than the first invalid byte, so a NUL ends it safely. */
static size_t utf8_sequence_length(const unsigned char *s)
{
    unsigned char lo = 0x80, hi = 0xBF; /* range of the 2nd byte */
    size_t len;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        len = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        len = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        len = 4;
    else
        return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */

    if (s[0] == 0xE0)
        lo = 0xA0; /* overlong 3-byte form */
    else if (s[0] == 0xED)
        hi = 0x9F; /* UTF-16 surrogates */
    else if (s[0] == 0xF0)
        lo = 0x90; /* overlong 4-byte form */
    else if (s[0] == 0xF4)
        hi = 0x8F; /* above U+10FFFF */

    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Offset of the first byte that is not valid UTF-8, or (size_t)-1. */
static size_t utf8_first_invalid(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_sequence_length(s + i);
        if (n == 0)
            return i;
        i += n;
    }
    return (size_t)-1;
}

hs_status hs_auth_check_utf8(const char *text, size_t len)
{
    return text && utf8_first_invalid(text, len) == (size_t)-1
               ? HS_OK
               : HS_ERR_INVALID;
}

hs_status hs_auth_check_password_policy(const char *password, hs_error *err)
{
    if (!password)
        return hs_fail(err, HS_ERR_INVALID, "no password given");

    size_t len = strnlen(password, HS_PASSWORD_MAX_BYTES + 1);
    if (len < HS_PASSWORD_MIN_BYTES)
        return hs_fail(err, HS_ERR_INVALID,
                       "password is too short: %zu bytes, at least %d needed",
                       len, HS_PASSWORD_MIN_BYTES);
    if (len > HS_PASSWORD_MAX_BYTES)
        return hs_fail(err, HS_ERR_INVALID,
                       "password is too long: more than %d bytes",
                       HS_PASSWORD_MAX_BYTES);

    size_t bad = utf8_first_invalid(password, len);
    if (bad != (size_t)-1)
        return hs_fail(err, HS_ERR_INVALID,
                       "password is not valid UTF-8 (at byte %zu)", bad + 1);
    return HS_OK;
}

/* Resolves NULL to the interactive costs and checks libsodium's ranges. */
static hs_status resolve_costs(const hs_auth_costs *costs, hs_auth_costs *out,
                               hs_error *err)
{
    *out = costs ? *costs : HS_AUTH_COSTS_INTERACTIVE;
    if (out->opslimit < crypto_pwhash_OPSLIMIT_MIN ||
        out->opslimit > crypto_pwhash_OPSLIMIT_MAX)
        return hs_fail(err, HS_ERR_INVALID,
                       "Argon2 opslimit %llu is out of "
                       "range",
                       out->opslimit);
    if (out->memlimit < crypto_pwhash_MEMLIMIT_MIN ||
        out->memlimit > crypto_pwhash_MEMLIMIT_MAX)
        return hs_fail(err, HS_ERR_INVALID,
                       "Argon2 memlimit %zu is out of range", out->memlimit);
    return HS_OK;
}

hs_status hs_auth_hash_password(const char *password,
                                const hs_auth_costs *costs,
                                char out[HS_PASSWORD_HASH_MAX], hs_error *err)
{
    hs_auth_costs c;
    hs_status st;

    out[0] = '\0';
    if (!password)
        return hs_fail(err, HS_ERR_INVALID, "no password given");
    size_t len = strnlen(password, HS_PASSWORD_MAX_BYTES + 1);
    if (len > HS_PASSWORD_MAX_BYTES)
        return hs_fail(err, HS_ERR_INVALID,
                       "password is too long: more than %d bytes",
                       HS_PASSWORD_MAX_BYTES);
    if ((st = resolve_costs(costs, &c, err)) != HS_OK)
        return st;

    if (crypto_pwhash_str_alg(out, password, len, c.opslimit, c.memlimit,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        out[0] = '\0';
        /* The only documented failure is running out of memory. */
        return hs_fail(err, HS_ERR_NOMEM,
                       "Argon2id could not allocate %zu bytes", c.memlimit);
    }
    return HS_OK;
}

/* 1 when hash is a NUL-terminated string that fits HS_PASSWORD_HASH_MAX and
 * starts like an Argon2id hash; only then is it handed to libsodium. */
static int is_argon2id_string(const char *hash)
{
    static const char prefix[] = crypto_pwhash_argon2id_STRPREFIX;

    if (!hash || strnlen(hash, HS_PASSWORD_HASH_MAX) >= HS_PASSWORD_HASH_MAX)
        return 0;
    return strncmp(hash, prefix, sizeof prefix - 1) == 0;
}

int hs_auth_verify_password(const char *hash, const char *password)
{
    if (!is_argon2id_string(hash) || !password)
        return 0;
    size_t len = strnlen(password, HS_PASSWORD_MAX_BYTES + 1);
    if (len > HS_PASSWORD_MAX_BYTES)
        return 0;
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}

int hs_auth_needs_rehash(const char *hash, const hs_auth_costs *costs)
{
    hs_auth_costs c;

    if (!is_argon2id_string(hash) || resolve_costs(costs, &c, NULL) != HS_OK)
        return 1;
    /* 0 = same parameters, 1 = different, -1 = unparsable. */
    return crypto_pwhash_str_needs_rehash(hash, c.opslimit, c.memlimit) != 0;
}

/* ---- tokens ------------------------------------------------------------ */

void hs_auth_new_token(char out[HS_TOKEN_CHARS + 1])
{
    unsigned char raw[HS_TOKEN_BYTES];

    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, HS_TOKEN_CHARS + 1, raw, sizeof raw,
                      HS__B64_VARIANT);
    sodium_memzero(raw, sizeof raw);
}

/* 1 when text is exactly the canonical base64url encoding (no padding) of
 * nbytes bytes that takes nchars characters. Canonical = re-encoding the
 * decoded bytes gives the same text back. */
static int is_canonical_b64(const char *text, size_t nchars, size_t nbytes)
{
    unsigned char raw[64];
    char again[sizeof raw * 2];
    size_t raw_len = 0;
    const char *end = NULL;
    int ok = 0;

    if (!text || nbytes > sizeof raw ||
        sodium_base64_encoded_len(nbytes, HS__B64_VARIANT) != nchars + 1 ||
        strnlen(text, nchars + 1) != nchars)
        return 0;
    if (sodium_base642bin(raw, sizeof raw, text, nchars, NULL, &raw_len, &end,
                          HS__B64_VARIANT) != 0 ||
        raw_len != nbytes || end != text + nchars)
        goto done;
    sodium_bin2base64(again, sizeof again, raw, raw_len, HS__B64_VARIANT);
    ok = memcmp(again, text, nchars) == 0;
done:
    sodium_memzero(raw, sizeof raw);
    sodium_memzero(again, sizeof again);
    return ok;
}

hs_status hs_auth_token_hash(const char *token, char out[HS_TOKEN_HASH_HEX + 1])
{
    unsigned char digest[HS_TOKEN_HASH_HEX / 2];

    out[0] = '\0';
    if (!is_canonical_b64(token, HS_TOKEN_CHARS, HS_TOKEN_BYTES))
        return HS_ERR_INVALID;
    if (crypto_generichash(digest, sizeof digest, (const unsigned char *)token,
                           HS_TOKEN_CHARS, NULL, 0) != 0)
        return HS_ERR_CRYPTO;
    sodium_bin2hex(out, HS_TOKEN_HASH_HEX + 1, digest, sizeof digest);
    return HS_OK;
}

/* ---- CSRF -------------------------------------------------------------- */

void hs_auth_new_server_key(uint8_t key[HS_AUTH_KEY_BYTES])
{
    crypto_auth_keygen(key);
}

/* 1 when s is exactly HS_TOKEN_HASH_HEX lowercase hex characters. */
static int is_token_hash(const char *s)
{
    if (!s || strnlen(s, HS_TOKEN_HASH_HEX + 1) != HS_TOKEN_HASH_HEX)
        return 0;
    for (size_t i = 0; i < HS_TOKEN_HASH_HEX; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

hs_status hs_auth_csrf_token(const uint8_t server_key[HS_AUTH_KEY_BYTES],
                             const char *session_token_hash,
                             char out[HS_CSRF_TOKEN_CHARS + 1])
{
    unsigned char mac[crypto_auth_BYTES];

    out[0] = '\0';
    if (!server_key || !is_token_hash(session_token_hash))
        return HS_ERR_INVALID;
    if (crypto_auth(mac, (const unsigned char *)session_token_hash,
                    HS_TOKEN_HASH_HEX, server_key) != 0)
        return HS_ERR_CRYPTO;
    sodium_bin2base64(out, HS_CSRF_TOKEN_CHARS + 1, mac, sizeof mac,
                      HS__B64_VARIANT);
    return HS_OK;
}

int hs_auth_csrf_verify(const uint8_t server_key[HS_AUTH_KEY_BYTES],
                        const char *session_token_hash, const char *presented)
{
    char expected[HS_CSRF_TOKEN_CHARS + 1];
    int ok;

    if (!presented ||
        strnlen(presented, HS_CSRF_TOKEN_CHARS + 1) != HS_CSRF_TOKEN_CHARS)
        return 0;
    if (hs_auth_csrf_token(server_key, session_token_hash, expected) != HS_OK)
        return 0;
    ok = sodium_memcmp(expected, presented, HS_CSRF_TOKEN_CHARS) == 0;
    sodium_memzero(expected, sizeof expected);
    return ok;
}

/* ---- lockout and sessions --------------------------------------------- */

/* a + b, clamped to [INT64_MIN, INT64_MAX]. */
static int64_t add_saturating(int64_t a, int64_t b)
{
    int64_t sum;

    if (__builtin_add_overflow(a, b, &sum))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return sum;
}

int64_t hs_auth_lock_until(const hs_lockout_policy *p,
                           const int64_t *failure_times, size_t n, int64_t now)
{
    const hs_lockout_policy policy = p ? *p : HS_LOCKOUT_DEFAULT;

    if (policy.max_failures <= 0 || policy.window_seconds <= 0 ||
        policy.lock_seconds <= 0 || !failure_times || n == 0)
        return 0;

    int64_t latest = failure_times[0];
    for (size_t i = 1; i < n; i++)
        if (failure_times[i] > latest)
            latest = failure_times[i];

    size_t in_window = 0;
    for (size_t i = 0; i < n; i++) {
        /* Unsigned difference: exact for t <= latest, cannot overflow. */
        uint64_t age = (uint64_t)latest - (uint64_t)failure_times[i];
        if (age < (uint64_t)policy.window_seconds)
            in_window++;
    }
    if (in_window < (size_t)policy.max_failures)
        return 0;

    int64_t until = add_saturating(latest, policy.lock_seconds);
    return now < until ? until : 0;
}

int64_t hs_auth_backoff_delay(const hs_backoff_policy *p, int64_t failures)
{
    const hs_backoff_policy policy = p ? *p : HS_BACKOFF_ACCOUNT_DEFAULT;

    if (policy.free_failures <= 0 || policy.first_delay <= 0 ||
        failures < policy.free_failures)
        return 0;
    int64_t delay = policy.first_delay;
    for (int64_t i = policy.free_failures; i < failures; i++) {
        if (delay >= policy.max_delay)
            break;
        delay = add_saturating(delay, delay);
    }
    return delay < policy.max_delay ? delay : policy.max_delay;
}

int64_t hs_auth_backoff_until(const hs_backoff_policy *p, int64_t failures,
                              int64_t last_failure_at, int64_t now)
{
    const hs_backoff_policy policy = p ? *p : HS_BACKOFF_ACCOUNT_DEFAULT;

    if (failures <= 0 ||
        (policy.forget_after > 0 &&
         now >= add_saturating(last_failure_at, policy.forget_after)))
        return 0;
    int64_t delay = hs_auth_backoff_delay(&policy, failures);
    /* Whole seconds: a failure dated T came somewhere in [T, T + 1), so
     * the wait runs to the end of second T + delay, never shorter than
     * delay (a 1 s step that could be 0 s is no step at all). */
    int64_t until = add_saturating(add_saturating(last_failure_at, delay), 1);
    return delay > 0 && now < until ? until : 0;
}

int64_t hs_auth_session_expiry(int remember, int64_t now,
                               const hs_session_policy *p)
{
    const hs_session_policy policy = p ? *p : HS_SESSION_DEFAULT;

    return add_saturating(now, remember ? policy.remember_seconds
                                        : policy.idle_seconds);
}

int hs_auth_session_valid(int remember, int64_t created_at,
                          int64_t last_seen_at, int64_t now,
                          const hs_session_policy *p)
{
    const hs_session_policy policy = p ? *p : HS_SESSION_DEFAULT;

    if (now >= add_saturating(created_at, policy.remember_seconds))
        return 0;
    if (remember)
        return 1;
    return now < add_saturating(last_seen_at, policy.idle_seconds);
}

/* ---- setup token ------------------------------------------------------- */

void hs_auth_new_setup_token(char out[HS_SETUP_TOKEN_CHARS + 1])
{
    unsigned char raw[HS_SETUP_TOKEN_SYMBOLS];
    size_t o = 0;

    /* 32 symbols: taking 5 bits of a uniform byte is itself uniform. */
    randombytes_buf(raw, sizeof raw);
    for (size_t i = 0; i < HS_SETUP_TOKEN_SYMBOLS; i++) {
        if (i > 0 && i % 5 == 0)
            out[o++] = '-';
        out[o++] = setup_alphabet[raw[i] & 31];
    }
    out[o] = '\0';
    sodium_memzero(raw, sizeof raw);
}

/* Copies the significant characters of s (not '-', ' ', '\t'), upper-cased,
 * into buf (at most HS_SETUP_TOKEN_SYMBOLS) and returns how many there
 * were in total. Branches only on separator positions, not on symbols. */
static size_t normalize_setup_token(const char *s,
                                    char buf[HS_SETUP_TOKEN_SYMBOLS])
{
    size_t count = 0;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '-' || c == ' ' || c == '\t')
            continue;
        /* Upper-case without a data-dependent branch. */
        unsigned char is_lower = (unsigned char)((unsigned)(c - 'a') < 26u);
        c = (unsigned char)(c - (is_lower << 5));
        if (count < HS_SETUP_TOKEN_SYMBOLS)
            buf[count] = (char)c;
        count++;
    }
    return count;
}

int hs_auth_setup_token_matches(const char *expected, const char *presented)
{
    char want[HS_SETUP_TOKEN_SYMBOLS] = {0};
    char got[HS_SETUP_TOKEN_SYMBOLS] = {0};
    int ok;

    if (!expected || !presented)
        return 0;
    size_t n_want = normalize_setup_token(expected, want);
    size_t n_got = normalize_setup_token(presented, got);
    ok = sodium_memcmp(want, got, sizeof want) == 0;
    ok = ok && n_want == HS_SETUP_TOKEN_SYMBOLS &&
         n_got == HS_SETUP_TOKEN_SYMBOLS;
    sodium_memzero(want, sizeof want);
    sodium_memzero(got, sizeof got);
    return ok;
}
