/* domain/logins.c - back-off, failures, the lock and unlock links (see
 * logins.h).
 *
 * Notes on the "why":
 *  - Every attempt does the same work: one Argon2 computation (a fresh
 *    hash of the password for an unknown name, the same costs as a
 *    verification), the same reads, and on failure one transaction with
 *    the same two back-off upserts. What differs for an existing user (an
 *    event row) is a few microseconds inside that transaction, far below
 *    the hash.
 *  - The account's back-off key is a hash of the name as typed, not the
 *    user's id: unknown names back off exactly like existing ones, and
 *    the table never holds the names people mistype.
 *  - A refused attempt counts as a failure: hammering only lengthens the
 *    wait, and five refusals lock the account like five wrong passwords.
 *  - A lock is taken once: failures while locked are counted (for the
 *    back-off and the security report) but neither extend the lock, nor
 *    send another mail, nor count towards the next lock (its window
 *    starts when this one ends); the unlock link of the lock stays the
 *    one that works.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "domain/alert_tap.h"
#include "domain/alerts.h"
#include "domain/audit.h"
#include "domain/logins.h"
#include "domain/throttle.h"
#include "store/store.h"

hs_login_policy hs_logins_policy(const hs_app *app)
{
    return app->login_policy ? *app->login_policy : HS_LOGIN_POLICY_DEFAULT;
}

/* "u:" + 32 hex of BLAKE2b-128 of the name. */
static void account_key(const char *username, char out[HS_BACKOFF_KEY_MAX])
{
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)username,
                       strlen(username), NULL, 0);
    memcpy(out, "u:", 2);
    sodium_bin2hex(out + 2, HS_BACKOFF_KEY_MAX - 2, h, sizeof h);
}

static void start(hs_app *app, const char *client, const char *username,
                  hs_attempt *a)
{
    char key[HS_CLIENT_KEY_MAX];
    memset(a, 0, sizeof *a);
    a->policy = hs_logins_policy(app);
    a->now = hs_clock_now(app->clock);
    a->has_client = client && client[0];
    if (a->has_client) {
        snprintf(a->client, sizeof a->client, "%s", client);
        hs_throttle_client_key(client, key);
        snprintf(a->address_key, sizeof a->address_key, "a:%s", key);
    }
    account_key(username, a->account_key);
}

hs_status hs_attempt_begin(hs_app *app, const char *client,
                           const char *username, hs_attempt *a, hs_error *err)
{
    const char *name = username ? username : "";
    start(app, client, name, a);
    hs_status rc = hs_store_user_get_by_name(app->store, name, &a->user, err);
    a->found = rc == HS_OK;
    if (rc == HS_ERR_NOTFOUND || rc == HS_ERR_INVALID) {
        memset(&a->user, 0, sizeof a->user);
        return HS_OK;
    }
    return rc;
}

hs_status hs_attempt_begin_user(hs_app *app, const char *client, hs_id user_id,
                                hs_attempt *a, hs_error *err)
{
    hs_user u;
    hs_status rc = hs_store_user_get(app->store, user_id, &u, err);
    if (rc == HS_OK) {
        start(app, client, u.username, a);
        a->user = u;
        a->found = 1;
    }
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    return rc;
}

/* Until when `key` must wait (0 = it need not), with the failures
 * counted under it in *failures; a store that cannot say refuses for a
 * second (fail closed). */
static int64_t backed_off(hs_store *store, const char *key,
                          const hs_backoff_policy *p, int64_t now,
                          int64_t *failures)
{
    hs_backoff_rec b;
    hs_status rc = hs_store_backoff_get(store, key, &b, NULL);
    *failures = rc == HS_OK ? b.failures : 0;
    if (rc == HS_ERR_NOTFOUND)
        return 0;
    if (rc != HS_OK)
        return now + 1;
    return hs_auth_backoff_until(p, b.failures, b.last_failure_at, now);
}

int hs_attempt_check(hs_app *app, hs_attempt *a, const char *password,
                     int lock_counts)
{
    int64_t address_failures = 0, address_until = 0;
    a->backoff_until = backed_off(app->store, a->account_key,
                                  &a->policy.account, a->now,
                                  &a->account_failures);
    if (a->has_client)
        address_until = backed_off(app->store, a->address_key,
                                   &a->policy.address, a->now,
                                   &address_failures);
    if (address_until > a->backoff_until)
        a->backoff_until = address_until;
    int refused = a->backoff_until != 0;
    int right = 0;
    if (a->found) {
        right = hs_auth_verify_password(a->user.password_hash, password);
        refused |= lock_counts && a->user.locked_until > a->now;
    } else {
        char dummy[HS_PASSWORD_HASH_MAX];
        hs_auth_hash_password(password ? password : "", app->costs, dummy,
                              NULL);
    }
    return right && !refused;
}

/* ---- failures and the lock -------------------------------------------- */

/* Failures count from the start of the window, or from the end of the
 * last lock (`lock_end`, the user's locked_until; failures while locked
 * do not count towards the next lock), or from the last unlock or
 * successful login after failures, whichever came last. */
static hs_status failures_since(hs_store *store, hs_id user_id,
                                int64_t window_start, int64_t lock_end,
                                int64_t *since, hs_error *err)
{
    static const char *const resets[] = {HS_EVENT_UNLOCKED,
                                         HS_EVENT_LOGIN_SUCCEEDED};
    *since = window_start > lock_end ? window_start : lock_end;
    for (size_t i = 0; i < sizeof resets / sizeof resets[0]; i++) {
        int64_t at = 0;
        hs_status rc =
            hs_store_event_latest(store, user_id, resets[i], &at, err);
        if (rc != HS_OK && rc != HS_ERR_NOTFOUND)
            return rc;
        if (at > *since)
            *since = at;
    }
    return HS_OK;
}

typedef struct failure {
    const hs_app *app;
    hs_attempt *a;
    char token[HS_TOKEN_CHARS + 1]; /* the new unlock link's, when locked */
} failure;

/* What became of the unlock link, for the admins' mail, the webhook and
 * the notification: it leaves only by mail, so it says so only when a
 * relay exists and the user has an address. */
static const char *link_fate(const hs_app *app, const hs_user *u)
{
    if (!u->email[0])
        return "the user has no e-mail address for an unlock link";
    return hs_alerts_mail_configured(app)
               ? "an unlock link was mailed to the user"
               : "no mail relay is configured, so no unlock link was mailed "
                 "to the user";
}

/* The lock is written on the user as read inside the transaction, never
 * on the copy read before the (slow) password check: a password reset or
 * a disable meanwhile must not be undone. */
static hs_status lock_account(hs_store *store, failure *f, hs_user *fresh,
                              size_t failures, hs_error *err)
{
    hs_attempt *a = f->a;
    char msg[HS_MESSAGE_MAX];
    hs_unlock_token t;
    snprintf(msg, sizeof msg,
             "account '%s' locked after %zu failed logins in %lld minutes "
             "(the last from %s); %s",
             fresh->username, failures,
             (long long)(a->policy.lockout.window_seconds / 60),
             a->has_client ? a->client : "an unknown address",
             link_fate(f->app, fresh));
    fresh->locked_until = a->lock_until;
    hs_status rc = hs_store_user_update(store, fresh, err);
    if (rc == HS_OK)
        rc = hs_store_event_add(store, fresh->id, HS_EVENT_LOCKED, a->now, NULL,
                                err);
    if (rc == HS_OK)
        rc = hs_store_notification_add(store, "account_locked", msg, fresh->id,
                                       a->now, NULL, err);
    memset(&t, 0, sizeof t);
    t.user_id = fresh->id;
    t.created_at = a->now;
    t.expires_at = a->now + a->policy.unlock_link_seconds;
    hs_auth_new_token(f->token);
    if (rc == HS_OK && hs_auth_token_hash(f->token, t.token_hash) != HS_OK)
        rc = hs_fail(err, HS_ERR_INTERNAL, "a fresh token did not hash");
    if (rc == HS_OK)
        rc = hs_store_unlock_create(store, &t, err);
    return rc;
}

static hs_status account_failure(hs_store *store, failure *f, hs_error *err)
{
    hs_attempt *a = f->a;
    int64_t *times = NULL, since = 0;
    size_t n = 0;
    hs_user fresh;
    hs_status rc = hs_store_event_add(store, a->user.id, HS_EVENT_LOGIN_FAILED,
                                      a->now, NULL, err);
    if (rc == HS_OK)
        rc = hs_store_user_get(store, a->user.id, &fresh, err);
    if (rc != HS_OK)
        return rc;
    if (fresh.locked_until <= a->now) {
        rc = failures_since(store, a->user.id,
                            a->now - a->policy.lockout.window_seconds,
                            fresh.locked_until, &since, err);
        if (rc == HS_OK)
            rc = hs_store_login_failures_since(store, a->user.id, since, &times,
                                               &n, err);
        if (rc == HS_OK)
            a->lock_until =
                hs_auth_lock_until(&a->policy.lockout, times, n, a->now);
        free(times);
        a->locked_now = rc == HS_OK && a->lock_until > a->now;
        if (a->locked_now)
            rc = lock_account(store, f, &fresh, n, err);
    }
    sodium_memzero(fresh.password_hash, sizeof fresh.password_hash);
    return rc;
}

static hs_status failure_txn(hs_store *store, void *arg, hs_error *err)
{
    failure *f = arg;
    hs_attempt *a = f->a;
    hs_status rc = HS_OK;
    a->locked_now = 0;
    a->lock_until = 0;
    if (a->has_client)
        rc = hs_store_backoff_fail(store, a->address_key, a->now,
                                   a->policy.address.forget_after, NULL, err);
    if (rc == HS_OK)
        rc = hs_store_backoff_fail(store, a->account_key, a->now,
                                   a->policy.account.forget_after, NULL, err);
    if (rc == HS_OK && a->found)
        rc = account_failure(store, f, err);
    return rc;
}

static void utc_text(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) ||
        !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, cap, "%lld (unix time)", (long long)t);
}

void hs_logins_unlock_link(const hs_app *app, const char *token, char *out,
                           size_t cap)
{
    const char *base = app->public_url ? app->public_url : "";
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    snprintf(out, cap, "%.*s/#/unlock?token=%s", (int)n, base, token);
}

/* The lock's mails: the user's carries the unlock link and goes to them
 * alone; the administrators and the webhook get the same account of the
 * lock without it, so the one-time token reaches no one else. */
static void mail_lock(hs_app *app, const hs_attempt *a, const char *token)
{
    char at[40], until[40], expires[40], link[1200], subject[160];
    char what[600], body[2400];
    utc_text(a->now, at, sizeof at);
    utc_text(a->lock_until, until, sizeof until);
    utc_text(a->now + a->policy.unlock_link_seconds, expires, sizeof expires);
    hs_logins_unlock_link(app, token, link, sizeof link);
    snprintf(subject, sizeof subject,
             "SystemHealer: account '%s' locked after failed logins",
             a->user.username);
    snprintf(what, sizeof what,
             "The account '%s' was locked at %s after %d failed logins "
             "within %lld minutes; the last came from %s",
             a->user.username, at, a->policy.lockout.max_failures,
             (long long)(a->policy.lockout.window_seconds / 60),
             a->has_client ? a->client : "an unknown address");
    snprintf(body, sizeof body,
             "%s.\n\n"
             "If that was you, open this link to unlock the account now (it "
             "works once, until %s):\n\n  %s\n\n"
             "Otherwise the lock ends by itself at %s.\n\n"
             "If you did not try to log in, someone may be guessing your "
             "password: unlock the account, change your password on your "
             "Account page, and tell your administrator.\n",
             what, expires, link, until);
    hs_alert to_user = {"account_locked", HS_ALERT_TO_USER, a->user.id,
                        subject, body, 1, NULL};
    hs_alert_queue(app, &to_user);
    sodium_memzero(link, sizeof link);
    sodium_memzero(body, sizeof body);
    snprintf(body, sizeof body, "%s; %s.\n\nThe lock ends by itself at %s.\n",
             what, link_fate(app, &a->user), until);
    hs_alert to_admins = {"account_locked", HS_ALERT_TO_ADMINS, a->user.id,
                          subject, body, 0, NULL};
    hs_alert_queue(app, &to_admins);
}

hs_status hs_attempt_failed(hs_app *app, hs_attempt *a, hs_error *err)
{
    failure f = {app, a, {0}};
    /* The failure dates from its answer, not its arrival: on a loaded
     * machine the hash alone can outlast the first back-off step, which
     * would then be over before the client even heard of it. */
    a->now = hs_clock_now(app->clock);
    hs_status rc = hs_store_transact(app->store, failure_txn, &f, err);
    if (rc == HS_OK && a->locked_now) {
        hs_log(HS_LOG_WARN, "account locked",
               json_pack("{s:s, s:s, s:I}", "username", a->user.username,
                         "client", a->has_client ? a->client : "",
                         "locked_until", (json_int_t)a->lock_until));
        mail_lock(app, a, f.token);
    }
    sodium_memzero(f.token, sizeof f.token);
    return rc;
}

static hs_status success_txn(hs_store *store, void *arg, hs_error *err)
{
    const hs_attempt *a = arg;
    hs_status rc = hs_store_backoff_clear(store, a->account_key, err);
    return rc == HS_OK
               ? hs_store_event_add(store, a->user.id, HS_EVENT_LOGIN_SUCCEEDED,
                                    a->now, NULL, err)
               : rc;
}

hs_status hs_attempt_succeeded(hs_app *app, const hs_attempt *a, hs_error *err)
{
    /* Nothing to forget after a clean login: no write at all. */
    if (!a->found || a->account_failures <= 0)
        return HS_OK;
    return hs_store_transact(app->store, success_txn, (void *)a, err);
}

hs_status hs_logins_forget_user(hs_store *store, const hs_user *u, int64_t now,
                                hs_error *err)
{
    char key[HS_BACKOFF_KEY_MAX];
    account_key(u->username, key);
    hs_status rc = hs_store_unlock_revoke(store, u->id, now, NULL, err);
    return rc == HS_OK ? hs_store_backoff_clear(store, key, err) : rc;
}

/* ---- unlock links ------------------------------------------------------ */

typedef struct unlock_by_token {
    const char *token_hash;
    const char *client;
    int64_t now;
    hs_user user;
    hs_unlock_refusal refusal;
} unlock_by_token;

static hs_status refuse_link(unlock_by_token *u, hs_unlock_refusal why,
                             hs_error *err)
{
    static const char *const words[] = {
        "",
        "this unlock link is not valid (check that the whole link was "
        "opened)",
        "this unlock link was already used; log in, or wait for the lock to "
        "end",
        "this unlock link has expired or was replaced by a newer one (the "
        "newest mail's link works); log in, or wait for the lock to end"};
    u->refusal = why;
    return hs_fail_field(err, HS_ERR_DENIED, "token", "%s", words[why]);
}

static hs_status unlock_txn(hs_store *store, void *arg, hs_error *err)
{
    unlock_by_token *u = arg;
    hs_unlock_token t;
    hs_status rc = hs_store_unlock_get(store, u->token_hash, &t, err);
    if (rc == HS_ERR_NOTFOUND)
        return refuse_link(u, HS_UNLOCK_UNKNOWN, err);
    if (rc != HS_OK)
        return rc;
    if (t.used_at)
        return refuse_link(u, HS_UNLOCK_USED, err);
    if (t.revoked_at || u->now >= t.expires_at)
        return refuse_link(u, HS_UNLOCK_EXPIRED, err);
    rc = hs_store_unlock_use(store, t.id, u->now, err);
    if (rc == HS_ERR_NOTFOUND) /* used or revoked meanwhile */
        return refuse_link(u, HS_UNLOCK_USED, err);
    if (rc == HS_OK)
        rc = hs_store_user_get(store, t.user_id, &u->user, err);
    if (rc != HS_OK)
        return rc;
    u->user.locked_until = 0;
    rc = hs_store_user_update(store, &u->user, err);
    if (rc == HS_OK)
        rc = hs_store_event_add(store, t.user_id, HS_EVENT_UNLOCKED, u->now,
                                NULL, err);
    if (rc == HS_OK)
        rc = hs_logins_forget_user(store, &u->user, u->now, err);
    if (rc == HS_OK) {
        /* Who unlocked is the user themself, holding their mail's link. */
        hs_actor self = hs_actor_user(u->user.id, u->user.username, u->client);
        rc = hs_audit_record(store, u->now, &self, HS_AUDIT_USER_UNLOCKED,
                             "user", u->user.id, u->user.username,
                             "with the unlock link of the lock's mail", err);
    }
    return rc;
}

hs_status hs_logins_unlock_with_token(hs_app *app, const char *client,
                                      const char *token, hs_user *user_out,
                                      hs_unlock_refusal *refusal, hs_error *err)
{
    char hash[HS_TOKEN_HASH_HEX + 1];
    unlock_by_token u;
    memset(&u, 0, sizeof u);
    memset(user_out, 0, sizeof *user_out);
    *refusal = HS_UNLOCK_ACCEPTED;
    if (hs_auth_token_hash(token, hash) != HS_OK) {
        refuse_link(&u, HS_UNLOCK_UNKNOWN, err);
        *refusal = u.refusal;
        return HS_ERR_DENIED;
    }
    u.token_hash = hash;
    u.client = client;
    u.now = hs_clock_now(app->clock);
    hs_status rc = hs_store_transact(app->store, unlock_txn, &u, err);
    sodium_memzero(u.user.password_hash, sizeof u.user.password_hash);
    *refusal = u.refusal;
    if (rc == HS_OK) {
        *user_out = u.user;
        hs_log(HS_LOG_INFO, "account unlocked by its link",
               json_pack("{s:s}", "username", u.user.username));
    }
    return rc;
}

hs_status hs_logins_purge(hs_app *app, int64_t *removed, hs_error *err)
{
    hs_login_policy p = hs_logins_policy(app);
    int64_t now = hs_clock_now(app->clock), counters = 0, links = 0;
    int64_t forget = p.account.forget_after > p.address.forget_after
                         ? p.account.forget_after
                         : p.address.forget_after;
    hs_status rc =
        hs_store_backoff_purge(app->store, now - forget, &counters, err);
    /* Spent links are kept a day past their end: "already used" and
     * "expired" read better than "not valid" for a day-old mail. */
    if (rc == HS_OK)
        rc = hs_store_unlock_purge(app->store, now - 24 * 3600, &links, err);
    if (removed)
        *removed = counters + links;
    return rc;
}
