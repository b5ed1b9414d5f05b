/* test_auth.c - the service's authentication core (src/service/auth.c).
 *
 * Checks what a login depends on: passwords round-trip through Argon2id and
 * nothing else verifies; the password policy refuses short, long and
 * non-UTF-8 input; tokens have the documented shape, do not repeat, hash
 * deterministically and garbage is refused before it can reach the store;
 * CSRF tokens bind to one session and one key; the lockout and session
 * rules behave at their boundaries; setup tokens are typeable and match
 * forgivingly but exactly. Hashing uses HS_AUTH_COSTS_TEST so the whole
 * file runs in well under a second.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "domain/auth.h"

static int group_setup(void **state)
{
    (void)state;
    return hs_auth_init(NULL) == HS_OK ? 0 : -1;
}

/* ---- passwords -------------------------------------------------------- */

static void test_hash_roundtrip(void **state)
{
    (void)state;
    const hs_auth_costs costs = HS_AUTH_COSTS_TEST;
    char hash[HS_PASSWORD_HASH_MAX];
    hs_error err = {0};

    assert_int_equal(hs_auth_hash_password("correct horse", &costs, hash, &err),
                     HS_OK);
    assert_true(strncmp(hash, "$argon2id$", 10) == 0);
    assert_true(hs_auth_verify_password(hash, "correct horse"));
    assert_false(hs_auth_verify_password(hash, "correct hors"));
    assert_false(hs_auth_verify_password(hash, "correct horse "));
    assert_false(hs_auth_verify_password(hash, ""));
    assert_false(hs_auth_verify_password(hash, NULL));
}

static void test_hash_salted(void **state)
{
    (void)state;
    const hs_auth_costs costs = HS_AUTH_COSTS_TEST;
    char a[HS_PASSWORD_HASH_MAX], b[HS_PASSWORD_HASH_MAX];

    assert_int_equal(hs_auth_hash_password("same password", &costs, a, NULL),
                     HS_OK);
    assert_int_equal(hs_auth_hash_password("same password", &costs, b, NULL),
                     HS_OK);
    assert_string_not_equal(a, b);
    assert_true(hs_auth_verify_password(a, "same password"));
    assert_true(hs_auth_verify_password(b, "same password"));
}

static void test_hash_malformed(void **state)
{
    (void)state;
    const hs_auth_costs costs = HS_AUTH_COSTS_TEST;
    char hash[HS_PASSWORD_HASH_MAX];
    char unterminated[HS_PASSWORD_HASH_MAX];

    assert_false(hs_auth_verify_password(NULL, "password"));
    assert_false(hs_auth_verify_password("", "password"));
    assert_false(hs_auth_verify_password("password", "password"));
    assert_false(hs_auth_verify_password("$argon2id$", "password"));
    assert_false(
        hs_auth_verify_password("$argon2id$v=19$m=8,t=1,p=1$$", "password"));
    memset(unterminated, 'a', sizeof unterminated);
    assert_false(hs_auth_verify_password(unterminated, "password"));

    /* A valid hash with its tail cut off or a byte changed. */
    assert_int_equal(hs_auth_hash_password("password", &costs, hash, NULL),
                     HS_OK);
    size_t len = strlen(hash);
    hash[len - 1] = hash[len - 1] == 'A' ? 'B' : 'A';
    assert_false(hs_auth_verify_password(hash, "password"));
    hash[len / 2] = '\0';
    assert_false(hs_auth_verify_password(hash, "password"));
}

static void test_hash_bad_arguments(void **state)
{
    (void)state;
    const hs_auth_costs too_cheap = {0, crypto_pwhash_MEMLIMIT_MIN};
    char hash[HS_PASSWORD_HASH_MAX];
    char *long_pw = malloc(HS_PASSWORD_MAX_BYTES + 2);
    hs_error err = {0};

    assert_non_null(long_pw);
    memset(long_pw, 'x', HS_PASSWORD_MAX_BYTES + 1);
    long_pw[HS_PASSWORD_MAX_BYTES + 1] = '\0';

    assert_int_equal(hs_auth_hash_password(NULL, NULL, hash, &err),
                     HS_ERR_INVALID);
    assert_string_equal(hash, "");
    assert_int_equal(hs_auth_hash_password("password", &too_cheap, hash, &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "opslimit"));
    assert_int_equal(hs_auth_hash_password(long_pw, NULL, hash, &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "too long"));
    assert_false(hs_auth_verify_password("$argon2id$whatever", long_pw));
    free(long_pw);
}

static void test_needs_rehash(void **state)
{
    (void)state;
    const hs_auth_costs test = HS_AUTH_COSTS_TEST;
    const hs_auth_costs more = {test.opslimit + 1, test.memlimit};
    char hash[HS_PASSWORD_HASH_MAX];

    assert_int_equal(hs_auth_hash_password("password", &test, hash, NULL),
                     HS_OK);
    assert_false(hs_auth_needs_rehash(hash, &test));
    assert_true(hs_auth_needs_rehash(hash, &more));
    assert_true(hs_auth_needs_rehash(hash, NULL)); /* interactive costs */
    assert_true(hs_auth_needs_rehash("garbage", &test));
    assert_true(hs_auth_needs_rehash(NULL, &test));
}

/* Asserts that the policy refuses pw with a message containing `what`. */
static void assert_policy_refuses(const char *pw, const char *what)
{
    hs_error err = {0};

    assert_int_equal(hs_auth_check_password_policy(pw, &err), HS_ERR_INVALID);
    assert_int_equal(err.code, HS_ERR_INVALID);
    if (!strstr(err.message, what))
        fail_msg("message '%s' lacks '%s'", err.message, what);
}

static void test_password_policy(void **state)
{
    (void)state;
    char *max = malloc(HS_PASSWORD_MAX_BYTES + 2);

    assert_non_null(max);
    memset(max, 'a', HS_PASSWORD_MAX_BYTES);
    max[HS_PASSWORD_MAX_BYTES] = '\0';

    assert_int_equal(hs_auth_check_password_policy("12345678", NULL), HS_OK);
    assert_int_equal(hs_auth_check_password_policy(max, NULL), HS_OK);
    /* Multi-byte characters of each length, incl. U+10FFFF and U+FFFD. */
    assert_int_equal(hs_auth_check_password_policy(
                         "p\xc3\xa4ss \xe2\x82\xac \xf0\x9f\x94\x91 "
                         "\xf4\x8f\xbf\xbf\xef\xbf\xbd",
                         NULL),
                     HS_OK);

    assert_policy_refuses(NULL, "no password");
    assert_policy_refuses("", "too short");
    assert_policy_refuses("1234567", "too short: 7 bytes");
    max[HS_PASSWORD_MAX_BYTES] = 'a';
    max[HS_PASSWORD_MAX_BYTES + 1] = '\0';
    assert_policy_refuses(max, "too long");
    free(max);

    assert_policy_refuses("abcdefg\xc3\x28", "UTF-8 (at byte 8)");
    assert_policy_refuses("abcdefgh\xc3", "UTF-8");         /* truncated */
    assert_policy_refuses("abcdefgh\x80", "UTF-8");         /* stray cont. */
    assert_policy_refuses("abcdefgh\xc0\xaf", "UTF-8");     /* overlong / */
    assert_policy_refuses("abcdefgh\xc1\xbf", "UTF-8");     /* overlong */
    assert_policy_refuses("abcdefgh\xe0\x80\xaf", "UTF-8"); /* overlong */
    assert_policy_refuses("abcdefgh\xf0\x80\x80\xaf", "UTF-8"); /* overlong */
    assert_policy_refuses("abcdefgh\xed\xa0\x80", "UTF-8");     /* surrogate */
    assert_policy_refuses("abcdefgh\xf4\x90\x80\x80", "UTF-8"); /* >10FFFF */
    assert_policy_refuses("abcdefgh\xf5\x80\x80\x80", "UTF-8");
    assert_policy_refuses("abcdefgh\xff", "UTF-8");
    assert_policy_refuses("abcdefgh\xe2\x82", "UTF-8"); /* cut 3-byte */
    /* Embedded NUL cannot be expressed in a C string: the HTTP layer has
     * to refuse it before calling (documented in auth.h). */
}

/* ---- tokens ------------------------------------------------------------ */

static int is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int cmp_token(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_token_shape_and_uniqueness(void **state)
{
    (void)state;
    enum { N = 1000 };
    char(*tokens)[HS_TOKEN_CHARS + 1] = calloc(N, sizeof *tokens);

    assert_non_null(tokens);
    for (size_t i = 0; i < N; i++) {
        hs_auth_new_token(tokens[i]);
        assert_int_equal(strlen(tokens[i]), HS_TOKEN_CHARS);
        for (size_t j = 0; j < HS_TOKEN_CHARS; j++)
            assert_true(is_b64url(tokens[i][j]));
    }
    qsort(tokens, N, sizeof *tokens, cmp_token);
    for (size_t i = 1; i < N; i++)
        assert_string_not_equal(tokens[i - 1], tokens[i]);
    free(tokens);
}

static void test_token_hash(void **state)
{
    (void)state;
    char token[HS_TOKEN_CHARS + 1], other[HS_TOKEN_CHARS + 1];
    char h1[HS_TOKEN_HASH_HEX + 1], h2[HS_TOKEN_HASH_HEX + 1];

    hs_auth_new_token(token);
    hs_auth_new_token(other);
    assert_int_equal(hs_auth_token_hash(token, h1), HS_OK);
    assert_int_equal(hs_auth_token_hash(token, h2), HS_OK);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), HS_TOKEN_HASH_HEX);
    for (size_t i = 0; i < HS_TOKEN_HASH_HEX; i++)
        assert_non_null(strchr("0123456789abcdef", h1[i]));
    assert_int_equal(hs_auth_token_hash(other, h2), HS_OK);
    assert_string_not_equal(h1, h2);

    /* A fixed vector guards against an accidental change of the stored
     * form, which would log everybody out. */
    const char *fixed = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_int_equal(hs_auth_token_hash(fixed, h1), HS_OK);
    unsigned char d[32];
    char hex[65];
    assert_int_equal(
        crypto_generichash(d, 32, (const unsigned char *)fixed, 43, NULL, 0),
        0);
    sodium_bin2hex(hex, sizeof hex, d, sizeof d);
    assert_string_equal(h1, hex);
}

static void assert_token_refused(const char *token)
{
    char h[HS_TOKEN_HASH_HEX + 1];

    memset(h, 'x', sizeof h);
    assert_int_equal(hs_auth_token_hash(token, h), HS_ERR_INVALID);
    assert_string_equal(h, "");
}

static void test_token_garbage(void **state)
{
    (void)state;
    char token[HS_TOKEN_CHARS + 1];
    char buf[HS_TOKEN_CHARS + 8];

    hs_auth_new_token(token);
    assert_token_refused(NULL);
    assert_token_refused("");
    assert_token_refused("abc");
    assert_token_refused("' OR 1=1 --");

    memcpy(buf, token, HS_TOKEN_CHARS - 1); /* one short */
    buf[HS_TOKEN_CHARS - 1] = '\0';
    assert_token_refused(buf);

    snprintf(buf, sizeof buf, "%sA", token); /* one long */
    assert_token_refused(buf);
    snprintf(buf, sizeof buf, "%s=", token); /* padding */
    assert_token_refused(buf);

    const char *bad_chars = "+/=. %\"';\n";
    for (const char *c = bad_chars; *c; c++) {
        memcpy(buf, token, HS_TOKEN_CHARS + 1);
        buf[7] = *c;
        assert_token_refused(buf);
    }
    memcpy(buf, token, HS_TOKEN_CHARS + 1);
    buf[20] = '\xc3';
    assert_token_refused(buf);

    /* 43 chars encode 258 bits; a last char with its two spare bits set is
     * another spelling of some token and must not be a second key. */
    memcpy(buf, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", 44);
    assert_token_refused(buf);
    memcpy(buf, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE", 44);
    char h[HS_TOKEN_HASH_HEX + 1];
    assert_int_equal(hs_auth_token_hash(buf, h), HS_OK);
}

/* ---- CSRF -------------------------------------------------------------- */

static void session_hash(char out[HS_TOKEN_HASH_HEX + 1])
{
    char token[HS_TOKEN_CHARS + 1];

    hs_auth_new_token(token);
    assert_int_equal(hs_auth_token_hash(token, out), HS_OK);
}

static void test_csrf(void **state)
{
    (void)state;
    uint8_t key[HS_AUTH_KEY_BYTES], other_key[HS_AUTH_KEY_BYTES];
    char sess[HS_TOKEN_HASH_HEX + 1], other_sess[HS_TOKEN_HASH_HEX + 1];
    char csrf[HS_CSRF_TOKEN_CHARS + 1], again[HS_CSRF_TOKEN_CHARS + 1];
    char foreign[HS_CSRF_TOKEN_CHARS + 1], buf[HS_CSRF_TOKEN_CHARS + 8];

    hs_auth_new_server_key(key);
    hs_auth_new_server_key(other_key);
    session_hash(sess);
    session_hash(other_sess);

    assert_int_equal(hs_auth_csrf_token(key, sess, csrf), HS_OK);
    assert_int_equal(strlen(csrf), HS_CSRF_TOKEN_CHARS);
    for (size_t i = 0; i < HS_CSRF_TOKEN_CHARS; i++)
        assert_true(is_b64url(csrf[i]));
    assert_int_equal(hs_auth_csrf_token(key, sess, again), HS_OK);
    assert_string_equal(csrf, again);
    assert_true(hs_auth_csrf_verify(key, sess, csrf));

    /* Another session's token, and this session's under another key. */
    assert_int_equal(hs_auth_csrf_token(key, other_sess, foreign), HS_OK);
    assert_false(hs_auth_csrf_verify(key, sess, foreign));
    assert_false(hs_auth_csrf_verify(key, other_sess, csrf));
    assert_int_equal(hs_auth_csrf_token(other_key, sess, foreign), HS_OK);
    assert_false(hs_auth_csrf_verify(key, sess, foreign));
    assert_false(hs_auth_csrf_verify(other_key, sess, csrf));

    /* Truncated, extended, garbled, empty, NULL. */
    memcpy(buf, csrf, HS_CSRF_TOKEN_CHARS + 1);
    buf[HS_CSRF_TOKEN_CHARS - 1] = '\0';
    assert_false(hs_auth_csrf_verify(key, sess, buf));
    snprintf(buf, sizeof buf, "%sA", csrf);
    assert_false(hs_auth_csrf_verify(key, sess, buf));
    memcpy(buf, csrf, HS_CSRF_TOKEN_CHARS + 1);
    buf[10] = buf[10] == 'x' ? 'y' : 'x';
    assert_false(hs_auth_csrf_verify(key, sess, buf));
    assert_false(hs_auth_csrf_verify(key, sess, ""));
    assert_false(hs_auth_csrf_verify(key, sess, NULL));

    /* A malformed session hash yields no token and verifies nothing. */
    assert_int_equal(hs_auth_csrf_token(key, "abc", buf), HS_ERR_INVALID);
    assert_string_equal(buf, "");
    char upper[HS_TOKEN_HASH_HEX + 1];
    memcpy(upper, sess, sizeof upper);
    for (size_t i = 0; i < HS_TOKEN_HASH_HEX; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f')
            upper[i] = (char)(upper[i] - 32);
    if (strcmp(upper, sess) != 0)
        assert_false(hs_auth_csrf_verify(key, upper, csrf));
    assert_false(hs_auth_csrf_verify(key, NULL, csrf));
    assert_false(hs_auth_csrf_verify(NULL, sess, csrf));
}

/* ---- lockout ----------------------------------------------------------- */

static void test_lockout(void **state)
{
    (void)state;
    const hs_lockout_policy p = HS_LOCKOUT_DEFAULT;
    const int64_t t0 = 1700000000;
    int64_t four[] = {t0, t0 + 60, t0 + 120, t0 + 180};
    int64_t five[] = {t0 + 240, t0, t0 + 180, t0 + 60, t0 + 120}; /* unsorted */
    int64_t spread[] = {t0, t0 + 300, t0 + 600, t0 + 900, t0 + 1200};
    int64_t edge[] = {t0, t0 + 1, t0 + 2, t0 + 3, t0 + 900};
    int64_t edge_in[] = {t0 + 1, t0 + 2, t0 + 3, t0 + 4, t0 + 900};
    const int64_t last = t0 + 240;

    assert_int_equal(hs_auth_lock_until(&p, NULL, 0, t0), 0);
    assert_int_equal(hs_auth_lock_until(&p, four, 4, t0 + 181), 0);

    assert_int_equal(hs_auth_lock_until(&p, five, 5, last), last + 900);
    assert_int_equal(hs_auth_lock_until(NULL, five, 5, last + 1), last + 900);
    assert_int_equal(hs_auth_lock_until(&p, five, 5, last + 899), last + 900);
    assert_int_equal(hs_auth_lock_until(&p, five, 5, last + 900), 0); /* over */
    assert_int_equal(hs_auth_lock_until(&p, five, 5, last + 5000), 0);

    /* Five failures over 20 minutes: never five within 15. */
    assert_int_equal(hs_auth_lock_until(&p, spread, 5, t0 + 1201), 0);

    /* Exactly window_seconds before the last failure is outside. */
    assert_int_equal(hs_auth_lock_until(&p, edge, 5, t0 + 901), 0);
    assert_int_equal(hs_auth_lock_until(&p, edge_in, 5, t0 + 901), t0 + 1800);

    /* Disabled policies and extreme times. */
    const hs_lockout_policy off = {0, 900, 900};
    assert_int_equal(hs_auth_lock_until(&off, five, 5, last), 0);
    const hs_lockout_policy four_max = {4, 900, 900};
    int64_t huge[] = {INT64_MAX, INT64_MAX, INT64_MIN, INT64_MAX, INT64_MAX};
    assert_int_equal(hs_auth_lock_until(&four_max, huge, 5, 0), INT64_MAX);
    assert_int_equal(hs_auth_lock_until(&p, huge, 5, 0), 0);
}

/* ---- sessions ---------------------------------------------------------- */

/* The back-off schedule: free failures, then 1, 2, 4 ... s, capped; the
 * wait runs from the last failure; quiet time forgets. */
static void test_backoff_schedule(void **state)
{
    (void)state;
    const hs_backoff_policy p = HS_BACKOFF_ACCOUNT_DEFAULT; /* 3, 1, 60, 900 */
    const int64_t want[] = {0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60, 60};
    for (int64_t f = 0; f < (int64_t)(sizeof want / sizeof want[0]); f++)
        assert_int_equal(hs_auth_backoff_delay(&p, f), want[f]);
    assert_int_equal(hs_auth_backoff_delay(NULL, 5), 4);
    assert_int_equal(hs_auth_backoff_delay(&p, INT64_MAX), 60);
    /* The address default: the same waits after 10. */
    const hs_backoff_policy a = HS_BACKOFF_ADDRESS_DEFAULT;
    assert_int_equal(hs_auth_backoff_delay(&a, 9), 0);
    assert_int_equal(hs_auth_backoff_delay(&a, 10), 1);
    assert_int_equal(hs_auth_backoff_delay(&a, 12), 4);
    /* Until: the end of the second last failure + the wait (a failure
     * dated 1000 came in [1000, 1001): a 1 s wait must still hold at
     * 1001.9), exclusive; then free again. */
    assert_int_equal(hs_auth_backoff_until(&p, 2, 1000, 1000), 0);
    assert_int_equal(hs_auth_backoff_until(&p, 3, 1000, 1000), 1002);
    assert_int_equal(hs_auth_backoff_until(&p, 3, 1000, 1001), 1002);
    assert_int_equal(hs_auth_backoff_until(&p, 3, 1000, 1002), 0);
    assert_int_equal(hs_auth_backoff_until(&p, 5, 1000, 1004), 1005);
    assert_int_equal(hs_auth_backoff_until(&p, 5, 1000, 1005), 0);
    assert_int_equal(hs_auth_backoff_until(&p, 40, 1000, 1060), 1061);
    /* A clock stepped back: still waiting, never a negative wait. */
    assert_int_equal(hs_auth_backoff_until(&p, 4, 1000, 900), 1003);
    /* Forgotten after forget_after quiet seconds, whatever the count. */
    const hs_backoff_policy long_cap = {3, 1, 100000, 900};
    assert_int_equal(hs_auth_backoff_until(&long_cap, 30, 1000, 1899) > 1899, 1);
    assert_int_equal(hs_auth_backoff_until(&long_cap, 30, 1000, 1900), 0);
    /* Off: no free failures, or no first delay. */
    const hs_backoff_policy off = {0, 1, 60, 900}, zero = {3, 0, 60, 900};
    assert_int_equal(hs_auth_backoff_delay(&off, 100), 0);
    assert_int_equal(hs_auth_backoff_delay(&zero, 100), 0);
    assert_int_equal(hs_auth_backoff_until(&off, 100, 1000, 1000), 0);
    /* Saturation: a huge last failure time does not overflow. */
    assert_int_equal(hs_auth_backoff_until(&p, 9, INT64_MAX - 5, INT64_MAX - 6),
                     INT64_MAX);
    /* The login policy's default is these and the lockout. */
    const hs_login_policy lp = HS_LOGIN_POLICY_DEFAULT;
    assert_int_equal(lp.lockout.max_failures, HS_LOCKOUT_DEFAULT.max_failures);
    assert_int_equal(lp.lockout.window_seconds,
                     HS_LOCKOUT_DEFAULT.window_seconds);
    assert_int_equal(lp.account.free_failures, p.free_failures);
    assert_int_equal(lp.address.free_failures, a.free_failures);
    assert_int_equal(lp.unlock_link_seconds, 24 * 3600);
}

static void test_session_rules(void **state)
{
    (void)state;
    const hs_session_policy p = HS_SESSION_DEFAULT;
    const int64_t c = 1700000000, week = 7 * 24 * 3600, idle = 30 * 60;

    assert_int_equal(p.remember_seconds, week);
    assert_int_equal(p.idle_seconds, idle);
    assert_int_equal(hs_auth_session_expiry(1, c, &p), c + week);
    assert_int_equal(hs_auth_session_expiry(0, c, NULL), c + idle);
    assert_int_equal(hs_auth_session_expiry(1, INT64_MAX - 5, &p), INT64_MAX);

    /* Remember me: absolute 7 days, inactivity irrelevant. */
    assert_true(hs_auth_session_valid(1, c, c, c + week - 1, &p));
    assert_true(hs_auth_session_valid(1, c, c, c + 3 * 24 * 3600, &p));
    assert_false(hs_auth_session_valid(1, c, c + week - 1, c + week, &p));
    assert_false(hs_auth_session_valid(1, c, c, c + week + 100, NULL));

    /* Without: ends after 30 minutes idle, activity extends it. */
    assert_true(hs_auth_session_valid(0, c, c, c + idle - 1, &p));
    assert_false(hs_auth_session_valid(0, c, c, c + idle, &p));
    assert_true(hs_auth_session_valid(0, c, c + 3600, c + 3600 + idle - 1, &p));
    assert_false(hs_auth_session_valid(0, c, c + 3600, c + 3600 + idle, &p));

    /* ...but never beyond 7 days, however active. */
    assert_true(hs_auth_session_valid(0, c, c + week - 10, c + week - 1, &p));
    assert_false(hs_auth_session_valid(0, c, c + week - 10, c + week, &p));

    /* A last_seen in the future (clock stepped back) counts as recent. */
    assert_true(hs_auth_session_valid(0, c, c + 100, c, &p));
}

/* ---- setup token ------------------------------------------------------- */

static void test_setup_token_format(void **state)
{
    (void)state;
    char tok[HS_SETUP_TOKEN_CHARS + 1], other[HS_SETUP_TOKEN_CHARS + 1];

    for (int round = 0; round < 200; round++) {
        hs_auth_new_setup_token(tok);
        assert_int_equal(strlen(tok), HS_SETUP_TOKEN_CHARS);
        for (size_t i = 0; i < HS_SETUP_TOKEN_CHARS; i++) {
            if (i % 6 == 5) {
                assert_int_equal(tok[i], '-');
                continue;
            }
            assert_non_null(strchr("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", tok[i]));
            assert_null(strchr("0O1lI", tok[i]));
        }
    }
    hs_auth_new_setup_token(other);
    assert_string_not_equal(tok, other);
}

static void test_setup_token_matching(void **state)
{
    (void)state;
    char tok[HS_SETUP_TOKEN_CHARS + 1], typed[64];

    hs_auth_new_setup_token(tok);
    assert_true(hs_auth_setup_token_matches(tok, tok));

    /* Lower case, no dashes, spaces instead of dashes, stray whitespace. */
    size_t o = 0;
    for (size_t i = 0; tok[i]; i++)
        if (tok[i] != '-')
            typed[o++] =
                (char)((tok[i] >= 'A' && tok[i] <= 'Z') ? tok[i] + 32 : tok[i]);
    typed[o] = '\0';
    assert_true(hs_auth_setup_token_matches(tok, typed));
    snprintf(typed, sizeof typed, " %.5s %.5s\t%.5s-%.5s ", tok, tok + 6,
             tok + 12, tok + 18);
    assert_true(hs_auth_setup_token_matches(tok, typed));

    /* Wrong symbol, missing symbol, extra symbol, empty, NULL. */
    memcpy(typed, tok, sizeof tok);
    typed[0] = typed[0] == 'A' ? 'B' : 'A';
    assert_false(hs_auth_setup_token_matches(tok, typed));
    memcpy(typed, tok, sizeof tok);
    typed[HS_SETUP_TOKEN_CHARS - 1] = '\0';
    assert_false(hs_auth_setup_token_matches(tok, typed));
    snprintf(typed, sizeof typed, "%sA", tok);
    assert_false(hs_auth_setup_token_matches(tok, typed));
    assert_false(hs_auth_setup_token_matches(tok, ""));
    assert_false(hs_auth_setup_token_matches(tok, "-----"));
    assert_false(hs_auth_setup_token_matches(tok, NULL));
    assert_false(hs_auth_setup_token_matches(NULL, tok));
    assert_false(hs_auth_setup_token_matches("", ""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_roundtrip),
        cmocka_unit_test(test_hash_salted),
        cmocka_unit_test(test_hash_malformed),
        cmocka_unit_test(test_hash_bad_arguments),
        cmocka_unit_test(test_needs_rehash),
        cmocka_unit_test(test_password_policy),
        cmocka_unit_test(test_token_shape_and_uniqueness),
        cmocka_unit_test(test_token_hash),
        cmocka_unit_test(test_token_garbage),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_lockout),
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_session_rules),
        cmocka_unit_test(test_setup_token_format),
        cmocka_unit_test(test_setup_token_matching),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
