/* store/store_pg_accounts.c - the PostgreSQL backend's account-side
 * resources: account events, sessions, notifications, preferences, logins
 * (back-off counters, unlock links), the outbox of alerts, sealed fields,
 * the audit log, the refusal tallies and their aggregations, blob
 * references and the shared settings.
 *
 * Each operation is the SQLite backend's (store_sqlite.c), in PostgreSQL's
 * dialect, with what several processes sharing the database need: counters
 * that two instances bump at once are one INSERT ... ON CONFLICT DO UPDATE
 * ... RETURNING (never read-then-write), an outbox claim skips the rows
 * another sender holds (FOR UPDATE SKIP LOCKED), a new setting is
 * INSERT ... ON CONFLICT DO NOTHING then read, so that instances starting
 * together agree on the first value. Text is sorted with COLLATE "C" where
 * the contract promises strcmp order (the database's collation may be any).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_pg_internal.h"

static const char *no_user(pgs_msg buf, hs_id user_id)
{
    return pgs_no_such(buf, "user", user_id);
}

/* ---- account events ---------------------------------------------------- */

#define EVENT_COLS "SELECT id, user_id, kind, at FROM account_events"

static const pgs_col EVENT_READ[] = {
    PGS_COL(PGS_I64, hs_account_event, id, "event id"),
    PGS_COL(PGS_I64, hs_account_event, user_id, "user id"),
    PGS_COL(PGS_TEXT, hs_account_event, kind, "event kind"),
    PGS_COL(PGS_I64, hs_account_event, at, "at"),
};

static hs_status read_event(const hs_pg_result *r, int row, void *dst,
                            hs_error *err)
{
    return PGS_READ(r, row, dst, hs_account_event, EVENT_READ, err);
}

static hs_status read_time(const hs_pg_result *r, int row, void *dst,
                           hs_error *err)
{
    return pgs_read_int(r, row, dst, err);
}

static hs_status pg_event_add(void *impl, hs_id user_id, const char *kind,
                              int64_t at, hs_id *id_out, hs_error *err)
{
    pgs_msg missing;
    return pgs_insert(impl, id_out, "duplicate account event",
                      no_user(missing, user_id), err,
                      "recording an account event",
                      "INSERT INTO account_events (user_id, kind, at)"
                      " VALUES ($1, $2, $3) RETURNING id",
                      "iti", user_id, kind, at);
}

static hs_status pg_event_list(void *impl, hs_id user_id,
                               hs_account_event **items, size_t *n,
                               hs_error *err)
{
    return pgs_list(impl, read_event, NULL, sizeof **items, (void **)items, n,
                    err,
                    EVENT_COLS " WHERE $1::BIGINT = 0 OR user_id = $1"
                               " ORDER BY at DESC, id DESC",
                    "i", user_id);
}

static hs_status pg_event_latest(void *impl, hs_id user_id, const char *kind,
                                 int64_t *at_out, hs_error *err)
{
    return pgs_get_one(impl, read_time, at_out, "no such event", err,
                       "SELECT at FROM account_events WHERE user_id = $1 AND"
                       " kind = $2 ORDER BY at DESC, id DESC LIMIT 1",
                       "it", user_id, kind);
}

static hs_status pg_login_failures_since(void *impl, hs_id user_id,
                                         int64_t since, int64_t **times,
                                         size_t *n, hs_error *err)
{
    return pgs_list(impl, read_time, NULL, sizeof **times, (void **)times, n,
                    err,
                    "SELECT at FROM account_events WHERE user_id = $1 AND"
                    " kind = $2 AND at >= $3 ORDER BY at, id",
                    "iti", user_id, HS_EVENT_LOGIN_FAILED, since);
}

const hs_store_event_ops hs_pg_events = {
    .add = pg_event_add,
    .list = pg_event_list,
    .latest = pg_event_latest,
    .login_failures_since = pg_login_failures_since,
};

/* ---- sessions ---------------------------------------------------------- */

#define SESSION_COLS                                                           \
    "SELECT id, user_id, token_hash, remember, created_at, last_seen_at,"      \
    " expires_at FROM sessions"

static const pgs_col SESSION_READ[] = {
    PGS_COL(PGS_I64, hs_session, id, "session id"),
    PGS_COL(PGS_I64, hs_session, user_id, "user id"),
    PGS_COL(PGS_TEXT, hs_session, token_hash, "token hash"),
    PGS_COL(PGS_FLAG, hs_session, remember, "remember"),
    PGS_COL(PGS_I64, hs_session, created_at, "created_at"),
    PGS_COL(PGS_I64, hs_session, last_seen_at, "last_seen_at"),
    PGS_COL(PGS_I64, hs_session, expires_at, "expires_at"),
};

static hs_status read_session(const hs_pg_result *r, int row, void *dst,
                              hs_error *err)
{
    return PGS_READ(r, row, dst, hs_session, SESSION_READ, err);
}

static hs_status pg_session_create(void *impl, hs_session *sess, hs_error *err)
{
    pgs_msg missing;
    return pgs_insert(
        impl, &sess->id, "a session with this token hash already exists",
        no_user(missing, sess->user_id), err, "creating a session",
        "INSERT INTO sessions (user_id, token_hash, remember,"
        " created_at, last_seen_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        "itbiii", sess->user_id, sess->token_hash, sess->remember,
        sess->created_at, sess->last_seen_at, sess->expires_at);
}

static hs_status pg_session_get_by_token_hash(void *impl,
                                              const char *token_hash,
                                              hs_session *out, hs_error *err)
{
    return pgs_get_one(impl, read_session, out, "no such session", err,
                       SESSION_COLS " WHERE token_hash = $1", "t", token_hash);
}

static hs_status pg_session_touch(void *impl, hs_id id, int64_t last_seen_at,
                                  int64_t expires_at, hs_error *err)
{
    return pgs_run_one(impl, "session", id, err, "touching a session",
                       "UPDATE sessions SET last_seen_at = $2,"
                       " expires_at = $3 WHERE id = $1",
                       "iii", id, last_seen_at, expires_at);
}

static hs_status pg_session_delete(void *impl, hs_id id, hs_error *err)
{
    return pgs_run_one(impl, "session", id, err, "deleting a session",
                       "DELETE FROM sessions WHERE id = $1", "i", id);
}

static hs_status pg_session_delete_for_user(void *impl, hs_id user_id,
                                            int64_t *removed, hs_error *err)
{
    return pgs_run(impl, removed, err, "deleting a user's sessions",
                   "DELETE FROM sessions WHERE user_id = $1", "i", user_id);
}

static hs_status pg_session_delete_expired(void *impl, int64_t now,
                                           int64_t *removed, hs_error *err)
{
    return pgs_run(impl, removed, err, "deleting expired sessions",
                   "DELETE FROM sessions WHERE expires_at <= $1", "i", now);
}

const hs_store_session_ops hs_pg_sessions = {
    .create = pg_session_create,
    .get_by_token_hash = pg_session_get_by_token_hash,
    .touch = pg_session_touch,
    .remove = pg_session_delete,
    .remove_for_user = pg_session_delete_for_user,
    .remove_expired = pg_session_delete_expired,
};

/* ---- notifications ----------------------------------------------------- */

#define NOTIFICATION_COLS                                                      \
    "SELECT id, kind, message, user_id, created_at, read FROM notifications"

static const pgs_col NOTIFICATION_READ[] = {
    PGS_COL(PGS_I64, hs_notification, id, "notification id"),
    PGS_COL(PGS_TEXT, hs_notification, kind, "notification kind"),
    PGS_COL(PGS_TEXT, hs_notification, message, "notification message"),
    PGS_COL(PGS_I64, hs_notification, user_id, "user id"),
    PGS_COL(PGS_I64, hs_notification, created_at, "created_at"),
    PGS_COL(PGS_FLAG, hs_notification, read, "read"),
};

static hs_status read_notification(const hs_pg_result *r, int row, void *dst,
                                   hs_error *err)
{
    return PGS_READ(r, row, dst, hs_notification, NOTIFICATION_READ, err);
}

static hs_status pg_notification_add(void *impl, const char *kind,
                                     const char *message, hs_id user_id,
                                     int64_t at, hs_id *id_out, hs_error *err)
{
    pgs_msg missing;
    return pgs_insert(impl, id_out, "duplicate notification",
                      no_user(missing, user_id), err, "adding a notification",
                      "INSERT INTO notifications (kind, message, user_id,"
                      " created_at, read) VALUES ($1, $2, $3, $4, 0)"
                      " RETURNING id",
                      "ttIi", kind, message, user_id, at);
}

static hs_status pg_notification_list(void *impl, int unread_only,
                                      hs_notification **items, size_t *n,
                                      hs_error *err)
{
    return pgs_list(impl, read_notification, NULL, sizeof **items,
                    (void **)items, n, err,
                    NOTIFICATION_COLS " WHERE $1::INTEGER = 0 OR read = 0"
                                      " ORDER BY created_at DESC, id DESC",
                    "b", unread_only);
}

static hs_status pg_notification_get(void *impl, hs_id id, hs_notification *out,
                                     hs_error *err)
{
    pgs_msg missing;
    return pgs_get_one(impl, read_notification, out,
                       pgs_no_such(missing, "notification", id), err,
                       NOTIFICATION_COLS " WHERE id = $1", "i", id);
}

static hs_status pg_notification_mark_read(void *impl, hs_id id, hs_error *err)
{
    return pgs_run_one(
        impl, "notification", id, err, "marking a notification read",
        "UPDATE notifications SET read = 1 WHERE id = $1", "i", id);
}

const hs_store_notification_ops hs_pg_notifications = {
    .add = pg_notification_add,
    .list = pg_notification_list,
    .mark_read = pg_notification_mark_read,
    .get = pg_notification_get,
};

/* ---- preferences ------------------------------------------------------- */

static hs_status pg_prefs_get(void *impl, hs_id user_id, char **json_out,
                              hs_error *err)
{
    return pgs_get_one(impl, pgs_read_text, json_out, "no preferences saved",
                       err,
                       "SELECT prefs_json FROM user_prefs WHERE user_id = $1",
                       "i", (int64_t)user_id);
}

static hs_status pg_prefs_set(void *impl, hs_id user_id, const char *prefs_json,
                              int64_t now, hs_error *err)
{
    pgs_msg missing;
    return pgs_insert(impl, NULL, NULL, no_user(missing, user_id), err,
                      "saving preferences",
                      "INSERT INTO user_prefs (user_id, prefs_json,"
                      " updated_at) VALUES ($1, $2, $3)"
                      " ON CONFLICT (user_id) DO UPDATE"
                      " SET prefs_json = excluded.prefs_json,"
                      " updated_at = excluded.updated_at",
                      "iti", (int64_t)user_id, prefs_json, now);
}

const hs_store_prefs_ops hs_pg_prefs = {
    .get = pg_prefs_get,
    .set = pg_prefs_set,
};

/* ---- logins: back-off and unlock links ----------------------------------- */

#define BACKOFF_COLS "key, failures, last_failure_at"

static const pgs_col BACKOFF_READ[] = {
    PGS_COL(PGS_TEXT, hs_backoff_rec, key, "back-off key"),
    PGS_COL(PGS_I64, hs_backoff_rec, failures, "failures"),
    PGS_COL(PGS_I64, hs_backoff_rec, last_failure_at, "last_failure_at"),
};

static hs_status read_backoff(const hs_pg_result *r, int row, void *dst,
                              hs_error *err)
{
    return PGS_READ(r, row, dst, hs_backoff_rec, BACKOFF_READ, err);
}

static hs_status pg_backoff_get(void *impl, const char *key,
                                hs_backoff_rec *out, hs_error *err)
{
    return pgs_get_one(impl, read_backoff, out, "no failures counted", err,
                       "SELECT " BACKOFF_COLS " FROM login_backoff"
                       " WHERE key = $1",
                       "t", key);
}

/* One upsert, so that two failures at once (two instances) both count. */
static hs_status pg_backoff_fail(void *impl, const char *key, int64_t now,
                                 int64_t forget_after, hs_backoff_rec *out,
                                 hs_error *err)
{
    return pgs_get_one(
        impl, read_backoff, out, "no failures counted", err,
        "INSERT INTO login_backoff AS b (key, failures, last_failure_at)"
        " VALUES ($1, 1, $2) ON CONFLICT (key) DO UPDATE SET"
        " failures = CASE WHEN $2 - b.last_failure_at >= $3 THEN 1"
        "   ELSE b.failures + 1 END,"
        " last_failure_at = GREATEST(b.last_failure_at, $2)"
        " RETURNING " BACKOFF_COLS,
        "tii", key, now, forget_after);
}

static hs_status pg_backoff_clear(void *impl, const char *key, hs_error *err)
{
    return pgs_run(impl, NULL, err, "clearing a back-off",
                   "DELETE FROM login_backoff WHERE key = $1", "t", key);
}

static hs_status pg_backoff_purge(void *impl, int64_t before, int64_t *removed,
                                  hs_error *err)
{
    return pgs_run(impl, removed, err, "purging back-off counters",
                   "DELETE FROM login_backoff WHERE last_failure_at < $1", "i",
                   before);
}

#define UNLOCK_COLS                                                            \
    "SELECT id, user_id, token_hash, created_at, expires_at, used_at,"         \
    " revoked_at FROM unlock_tokens"

static const pgs_col UNLOCK_READ[] = {
    PGS_COL(PGS_I64, hs_unlock_token, id, "token id"),
    PGS_COL(PGS_I64, hs_unlock_token, user_id, "user id"),
    PGS_COL(PGS_TEXT, hs_unlock_token, token_hash, "token hash"),
    PGS_COL(PGS_I64, hs_unlock_token, created_at, "created_at"),
    PGS_COL(PGS_I64, hs_unlock_token, expires_at, "expires_at"),
    PGS_COL(PGS_I64, hs_unlock_token, used_at, "used_at"),
    PGS_COL(PGS_I64, hs_unlock_token, revoked_at, "revoked_at"),
};

static hs_status read_unlock(const hs_pg_result *r, int row, void *dst,
                             hs_error *err)
{
    return PGS_READ(r, row, dst, hs_unlock_token, UNLOCK_READ, err);
}

#define REVOKE_UNLOCKS                                                         \
    "UPDATE unlock_tokens SET revoked_at = $2 WHERE user_id = $1 AND"          \
    " used_at = 0 AND revoked_at = 0 AND expires_at > $2"

typedef struct unlock_call {
    pg_store *s;
    hs_unlock_token *t;
} unlock_call;

/* Revokes the user's live links, then adds the new one: one outcome. */
static hs_status unlock_create_body(void *arg, hs_error *err)
{
    unlock_call *c = arg;
    pgs_msg missing;
    hs_status st =
        pgs_run(c->s, NULL, err, "revoking unlock tokens", REVOKE_UNLOCKS, "ii",
                c->t->user_id, c->t->created_at);
    if (st != HS_OK)
        return st;
    return pgs_insert(c->s, &c->t->id, "an unlock token with this hash exists",
                      no_user(missing, c->t->user_id), err,
                      "creating an unlock token",
                      "INSERT INTO unlock_tokens (user_id, token_hash,"
                      " created_at, expires_at) VALUES ($1, $2, $3, $4)"
                      " RETURNING id",
                      "itii", c->t->user_id, c->t->token_hash, c->t->created_at,
                      c->t->expires_at);
}

static hs_status pg_unlock_create(void *impl, hs_unlock_token *t, hs_error *err)
{
    unlock_call c = {impl, t};
    hs_status st = pgs_atomic(impl, unlock_create_body, &c, err);
    if (st != HS_OK)
        t->id = 0;
    return st;
}

static hs_status pg_unlock_get(void *impl, const char *token_hash,
                               hs_unlock_token *out, hs_error *err)
{
    return pgs_get_one(impl, read_unlock, out, "no such unlock token", err,
                       UNLOCK_COLS " WHERE token_hash = $1", "t", token_hash);
}

static hs_status pg_unlock_use(void *impl, hs_id id, int64_t now, hs_error *err)
{
    int64_t changed = 0;
    hs_status st = pgs_run(impl, &changed, err, "using an unlock token",
                           "UPDATE unlock_tokens SET used_at = $2"
                           " WHERE id = $1 AND used_at = 0 AND"
                           " revoked_at = 0 AND expires_at > $2",
                           "ii", id, now);
    if (st == HS_OK && changed == 0)
        st = hs_fail(err, HS_ERR_NOTFOUND, "unlock token %lld is not usable",
                     (long long)id);
    return st;
}

static hs_status pg_unlock_revoke(void *impl, hs_id user_id, int64_t now,
                                  int64_t *revoked, hs_error *err)
{
    return pgs_run(impl, revoked, err, "revoking unlock tokens", REVOKE_UNLOCKS,
                   "ii", user_id, now);
}

static hs_status pg_unlock_purge(void *impl, int64_t before, int64_t *removed,
                                 hs_error *err)
{
    return pgs_run(impl, removed, err, "purging unlock tokens",
                   "DELETE FROM unlock_tokens WHERE expires_at < $1", "i",
                   before);
}

static hs_status pg_sessions_end_others(void *impl, hs_id user_id,
                                        hs_id keep_id, int64_t *removed,
                                        hs_error *err)
{
    return pgs_run(impl, removed, err, "ending a user's other sessions",
                   "DELETE FROM sessions WHERE user_id = $1 AND id <> $2", "ii",
                   user_id, keep_id);
}

const hs_store_login_ops hs_pg_logins = {
    .backoff_get = pg_backoff_get,
    .backoff_fail = pg_backoff_fail,
    .backoff_clear = pg_backoff_clear,
    .backoff_purge = pg_backoff_purge,
    .unlock_create = pg_unlock_create,
    .unlock_get = pg_unlock_get,
    .unlock_use = pg_unlock_use,
    .unlock_revoke = pg_unlock_revoke,
    .unlock_purge = pg_unlock_purge,
    .sessions_end_others = pg_sessions_end_others,
};

/* ---- the outbox of alerts --------------------------------------------------
 */

#define OUTBOX_COLS                                                            \
    "id, channel, kind, recipient, user_id, subject, body, created_at,"        \
    " state, attempts, next_attempt_at, sent_at, last_error"

static const pgs_col OUTBOX_READ[] = {
    PGS_COL(PGS_I64, hs_outbox_msg, id, "message id"),
    PGS_COL(PGS_TEXT, hs_outbox_msg, channel, "outbox channel"),
    PGS_COL(PGS_TEXT, hs_outbox_msg, kind, "outbox kind"),
    PGS_COL(PGS_TEXT, hs_outbox_msg, recipient, "outbox recipient"),
    PGS_COL(PGS_I64, hs_outbox_msg, user_id, "user id"),
    PGS_COL(PGS_TEXT, hs_outbox_msg, subject, "outbox subject"),
    PGS_COL(PGS_TEXT, hs_outbox_msg, body, "outbox body"),
    PGS_COL(PGS_I64, hs_outbox_msg, created_at, "created_at"),
    PGS_COL(PGS_TEXT, hs_outbox_msg, state, "outbox state"),
    PGS_COL(PGS_I64, hs_outbox_msg, attempts, "attempts"),
    PGS_COL(PGS_I64, hs_outbox_msg, next_attempt_at, "next_attempt_at"),
    PGS_COL(PGS_I64, hs_outbox_msg, sent_at, "sent_at"),
    PGS_COL(PGS_TEXT, hs_outbox_msg, last_error, "outbox error"),
};

static hs_status read_outbox(const hs_pg_result *r, int row, void *dst,
                             hs_error *err)
{
    return PGS_READ(r, row, dst, hs_outbox_msg, OUTBOX_READ, err);
}

static hs_status pg_outbox_add(void *impl, hs_outbox_msg *m, hs_error *err)
{
    pgs_msg missing;
    return pgs_insert(impl, &m->id, "duplicate outbox message",
                      no_user(missing, m->user_id), err,
                      "queueing an outgoing message",
                      "INSERT INTO outbox (channel, kind, recipient, user_id,"
                      " subject, body, created_at, next_attempt_at)"
                      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
                      "tttIttii", m->channel, m->kind, m->recipient, m->user_id,
                      m->subject, m->body, m->created_at, m->next_attempt_at);
}

/* The due rows are locked as they are picked, and rows another sender has
 * locked are skipped rather than waited for: two senders (two processes)
 * never hold one message; the hold then keeps it from being claimed again
 * until it is sent, failed or the hold ends. */
static hs_status pg_outbox_claim(void *impl, int64_t now, int64_t hold_seconds,
                                 size_t limit, hs_outbox_msg **items, size_t *n,
                                 hs_error *err)
{
    return pgs_list(
        impl, read_outbox, NULL, sizeof **items, (void **)items, n, err,
        "WITH due AS (SELECT id FROM outbox WHERE state = 'pending'"
        "  AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $3"
        "  FOR UPDATE SKIP LOCKED),"
        " claimed AS (UPDATE outbox o SET next_attempt_at = $1 + $2"
        "  FROM due WHERE o.id = due.id RETURNING o.*)"
        " SELECT " OUTBOX_COLS " FROM claimed ORDER BY id",
        "iii", now, hold_seconds, (int64_t)limit);
}

static hs_status pg_outbox_next_due(void *impl, int64_t *at, hs_error *err)
{
    return pgs_get_one(impl, read_time, at, "no outgoing message is pending",
                       err,
                       "SELECT next_attempt_at FROM outbox"
                       " WHERE state = 'pending'"
                       " ORDER BY next_attempt_at LIMIT 1",
                       "");
}

static hs_status pg_outbox_sent(void *impl, hs_id id, int64_t at, hs_error *err)
{
    return pgs_run_one(impl, "pending outbox message", id, err,
                       "recording a delivery",
                       "UPDATE outbox SET state = 'sent', sent_at = $2,"
                       " attempts = attempts + 1, body = ''"
                       " WHERE id = $1 AND state = 'pending'",
                       "ii", id, at);
}

static hs_status pg_outbox_failed(void *impl, hs_id id, const char *error,
                                  int64_t retry_at, int give_up, hs_error *err)
{
    return pgs_run_one(impl, "pending outbox message", id, err,
                       "recording a failed delivery",
                       "UPDATE outbox SET attempts = attempts + 1,"
                       " last_error = $2, next_attempt_at = $3,"
                       " state = CASE WHEN $4::INTEGER = 1 THEN 'failed'"
                       "   ELSE state END,"
                       " body = CASE WHEN $4::INTEGER = 1 THEN '' ELSE body"
                       "   END"
                       " WHERE id = $1 AND state = 'pending'",
                       "itib", id, error, retry_at, give_up);
}

static hs_status pg_outbox_get(void *impl, hs_id id, hs_outbox_msg *out,
                               hs_error *err)
{
    pgs_msg missing;
    return pgs_get_one(
        impl, read_outbox, out, pgs_no_such(missing, "outbox message", id), err,
        "SELECT " OUTBOX_COLS " FROM outbox WHERE id = $1", "i", id);
}

static hs_status pg_outbox_purge(void *impl, int64_t before, int64_t *removed,
                                 hs_error *err)
{
    return pgs_run(impl, removed, err, "purging the outbox",
                   "DELETE FROM outbox WHERE state <> 'pending'"
                   " AND created_at < $1",
                   "i", before);
}

const hs_store_outbox_ops hs_pg_outbox = {
    .add = pg_outbox_add,
    .claim = pg_outbox_claim,
    .next_due = pg_outbox_next_due,
    .sent = pg_outbox_sent,
    .failed = pg_outbox_failed,
    .get = pg_outbox_get,
    .purge = pg_outbox_purge,
};

/* ---- sealed fields ----------------------------------------------------------
 */

/* Fixed SQL per sealed field (no caller text reaches SQL). */
static const struct {
    const char *ids, *get, *put, *what;
} SEALED_SQL[HS_SEALED_FIELDS] = {
    [HS_SEALED_DATASET_PROFILE] =
        {"SELECT id FROM datasets WHERE profile_json IS NOT NULL ORDER BY id",
         "SELECT profile_json FROM datasets WHERE id = $1",
         "UPDATE datasets SET profile_json = $3 WHERE id = $1"
         " AND profile_json = $2",
         "dataset"},
    [HS_SEALED_MODEL_SUMMARY] =
        {"SELECT id FROM models WHERE summary_json IS NOT NULL ORDER BY id",
         "SELECT summary_json FROM models WHERE id = $1",
         "UPDATE models SET summary_json = $3 WHERE id = $1"
         " AND summary_json = $2",
         "model"},
    [HS_SEALED_MODEL_FEEDBACK] =
        {"SELECT id FROM models WHERE feedback_json IS NOT NULL ORDER BY id",
         "SELECT feedback_json FROM models WHERE id = $1",
         "UPDATE models SET feedback_json = $3 WHERE id = $1"
         " AND feedback_json = $2",
         "model"},
    [HS_SEALED_DIAGNOSIS_SUMMARY] =
        {"SELECT id FROM diagnoses WHERE summary_json IS NOT NULL ORDER BY id",
         "SELECT summary_json FROM diagnoses WHERE id = $1",
         "UPDATE diagnoses SET summary_json = $3 WHERE id = $1"
         " AND summary_json = $2",
         "diagnosis"},
};

static hs_status pg_sealed_ids(void *impl, hs_sealed_field field, hs_id **ids,
                               size_t *n, hs_error *err)
{
    return pgs_list(impl, pgs_read_int, NULL, sizeof **ids, (void **)ids, n,
                    err, SEALED_SQL[field].ids, "");
}

static hs_status pg_sealed_get(void *impl, hs_sealed_field field, hs_id id,
                               char **text, hs_error *err)
{
    char missing[64];
    snprintf(missing, sizeof missing, "%s %lld does not exist",
             SEALED_SQL[field].what, (long long)id);
    return pgs_get_one(impl, pgs_read_text, text, missing, err,
                       SEALED_SQL[field].get, "i", id);
}

static hs_status pg_sealed_put(void *impl, hs_sealed_field field, hs_id id,
                               const char *old_text, const char *text,
                               hs_error *err)
{
    int64_t changed = 0;
    char *now = NULL;
    hs_status st = pgs_run(impl, &changed, err, "rewriting a sealed value",
                           SEALED_SQL[field].put, "itt", id, old_text, text);
    if (st != HS_OK || changed)
        return st;
    /* Nothing changed: the record is gone, or its value changed. */
    st = pg_sealed_get(impl, field, id, &now, err);
    free(now);
    return st != HS_OK
               ? st
               : hs_fail(err, HS_ERR_CONFLICT, "%s %lld changed meanwhile",
                         SEALED_SQL[field].what, (long long)id);
}

const hs_store_sealed_ops hs_pg_sealed = {
    .ids = pg_sealed_ids,
    .get = pg_sealed_get,
    .put = pg_sealed_put,
};

/* ---- the audit log ------------------------------------------------------ */

#define AUDIT_COLS                                                             \
    "SELECT id, at, actor_id, actor_name, action, target_kind, target_id,"     \
    " target_name, address, detail FROM audit_log"

static const pgs_col AUDIT_READ[] = {
    PGS_COL(PGS_I64, hs_audit_rec, id, "audit id"),
    PGS_COL(PGS_I64, hs_audit_rec, at, "at"),
    PGS_COL(PGS_I64, hs_audit_rec, actor_id, "actor id"),
    PGS_COL(PGS_TEXT, hs_audit_rec, actor_name, "actor name"),
    PGS_COL(PGS_TEXT, hs_audit_rec, action, "action"),
    PGS_COL(PGS_TEXT, hs_audit_rec, target_kind, "target kind"),
    PGS_COL(PGS_I64, hs_audit_rec, target_id, "target id"),
    PGS_COL(PGS_TEXT, hs_audit_rec, target_name, "target name"),
    PGS_COL(PGS_TEXT, hs_audit_rec, address, "address"),
    PGS_COL(PGS_TEXT, hs_audit_rec, detail, "detail"),
};

static hs_status read_audit(const hs_pg_result *r, int row, void *dst,
                            hs_error *err)
{
    return PGS_READ(r, row, dst, hs_audit_rec, AUDIT_READ, err);
}

static hs_status pg_audit_add(void *impl, hs_audit_rec *a, hs_error *err)
{
    return pgs_insert(
        impl, &a->id, NULL, NULL, err, "appending to the audit log",
        "INSERT INTO audit_log (at, actor_id, actor_name,"
        " action, target_kind, target_id, target_name, address,"
        " detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " RETURNING id",
        "iitttittt", a->at, a->actor_id, a->actor_name, a->action,
        a->target_kind, a->target_id, a->target_name, a->address, a->detail);
}

static hs_status pg_audit_list(void *impl, const hs_audit_filter *f,
                               hs_audit_rec **items, size_t *n, hs_error *err)
{
    return pgs_list(impl, read_audit, NULL, sizeof **items, (void **)items, n,
                    err,
                    AUDIT_COLS " WHERE ($1::TEXT = '' OR action = $1)"
                               " AND ($2::TEXT = '' OR actor_name = $2)"
                               " AND ($3::BIGINT = 0 OR at >= $3)"
                               " AND ($4::BIGINT = 0 OR at < $4)"
                               " AND ($5::BIGINT = 0 OR id < $5)"
                               " ORDER BY id DESC LIMIT $6",
                    "ttiiii", f->action, f->actor_name, f->since, f->until,
                    f->before_id, f->limit);
}

const hs_store_audit_ops hs_pg_audit = {
    .add = pg_audit_add,
    .list = pg_audit_list,
};

/* ---- the refusal tallies and the security report's aggregations ---------- */

/* A tally row as the aggregations return it: their SELECTs name the
 * columns they do not group by as '' or 0. */
static const pgs_col TALLY_READ[] = {
    PGS_COL(PGS_I64, hs_tally, bucket, "bucket"),
    PGS_COL(PGS_TEXT, hs_tally, route, "route"),
    PGS_COL(PGS_TEXT, hs_tally, source, "source"),
    PGS_COL(PGS_TEXT, hs_tally, kind, "kind"),
    PGS_COL(PGS_I64, hs_tally, count, "count"),
};

static hs_status read_tally(const hs_pg_result *r, int row, void *dst,
                            hs_error *err)
{
    return PGS_READ(r, row, dst, hs_tally, TALLY_READ, err);
}

typedef struct tally_call {
    pg_store *s;
    const hs_tally *items;
    size_t n;
} tally_call;

static hs_status tally_add_body(void *arg, hs_error *err)
{
    tally_call *c = arg;
    hs_status st = HS_OK;
    for (size_t i = 0; i < c->n && st == HS_OK; i++)
        st = pgs_run(c->s, NULL, err, "adding to a tally",
                     "INSERT INTO refusal_tallies AS t"
                     " (bucket, route, source, kind, count)"
                     " VALUES ($1, $2, $3, $4, $5)"
                     " ON CONFLICT (bucket, route, source, kind)"
                     " DO UPDATE SET count = t.count + excluded.count",
                     "ittti", c->items[i].bucket, c->items[i].route,
                     c->items[i].source, c->items[i].kind, c->items[i].count);
    return st;
}

static hs_status pg_tally_add(void *impl, const hs_tally *items, size_t n,
                              hs_error *err)
{
    tally_call c = {impl, items, n};
    return pgs_atomic(impl, tally_add_body, &c, err);
}

/* Buckets of bucket_seconds: integer division of non-negative BIGINTs,
 * as in SQLite. */
static hs_status pg_tally_series(void *impl, int64_t since, int64_t until,
                                 int64_t bucket_seconds, hs_tally **items,
                                 size_t *n, hs_error *err)
{
    return pgs_list(impl, read_tally, NULL, sizeof **items, (void **)items, n,
                    err,
                    "SELECT (bucket / $3::BIGINT) * $3::BIGINT AS b, '', '',"
                    " kind, SUM(count) FROM refusal_tallies"
                    " WHERE bucket >= $1 AND bucket < $2"
                    " GROUP BY b, kind ORDER BY b, kind COLLATE \"C\"",
                    "iii", since, until, bucket_seconds);
}

/* The top keys by total in a CTE, then their rows per kind; `key` is the
 * column grouped by (a fixed name, never caller text). */
#define TALLY_TOP(key, cols)                                                   \
    "WITH t AS (SELECT " key " AS k, SUM(count) AS total"                      \
    " FROM refusal_tallies WHERE bucket >= $1 AND bucket < $2"                 \
    " GROUP BY k ORDER BY total DESC, " key " COLLATE \"C\" LIMIT $3)"         \
    " SELECT 0, " cols ", r.kind, SUM(r.count) FROM refusal_tallies r"         \
    " JOIN t ON r." key " = t.k WHERE r.bucket >= $1 AND r.bucket < $2"        \
    " GROUP BY r." key ", r.kind ORDER BY MAX(t.total) DESC,"                  \
    " r." key " COLLATE \"C\", r.kind COLLATE \"C\""

static hs_status pg_tally_top(void *impl, int64_t since, int64_t until,
                              int by_source, int64_t limit, hs_tally **items,
                              size_t *n, hs_error *err)
{
    return pgs_list(impl, read_tally, NULL, sizeof **items, (void **)items, n,
                    err,
                    by_source ? TALLY_TOP("source", "'', r.source")
                              : TALLY_TOP("route", "r.route, ''"),
                    "iii", since, until, limit);
}
#undef TALLY_TOP

static hs_status pg_tally_prune(void *impl, int64_t before, int64_t *removed,
                                hs_error *err)
{
    return pgs_run(impl, removed, err, "pruning refusal tallies",
                   "DELETE FROM refusal_tallies WHERE bucket < $1", "i",
                   before);
}

static hs_status pg_event_series(void *impl, int64_t since, int64_t until,
                                 int64_t bucket_seconds, hs_tally **items,
                                 size_t *n, hs_error *err)
{
    return pgs_list(impl, read_tally, NULL, sizeof **items, (void **)items, n,
                    err,
                    "SELECT (at / $3::BIGINT) * $3::BIGINT AS b, '', '',"
                    " kind, COUNT(*) FROM account_events"
                    " WHERE at >= $1 AND at < $2"
                    " GROUP BY b, kind ORDER BY b, kind COLLATE \"C\"",
                    "iii", since, until, bucket_seconds);
}

const hs_store_tally_ops hs_pg_tallies = {
    .add = pg_tally_add,
    .series = pg_tally_series,
    .top = pg_tally_top,
    .prune = pg_tally_prune,
    .event_series = pg_event_series,
};

/* ---- blob references -------------------------------------------------------
 */

/* Every column that holds a blob key, UNION'ed: distinct and sorted as
 * strcmp sorts (COLLATE "C"); not the key of a dataset whose file was
 * deleted (store_sqlite.c's sq_blob_refs_list says why). */
static hs_status pg_blob_refs_list(void *impl,
                                   char (**keys)[HS_STORE_BLOB_KEY_MAX],
                                   size_t *n, hs_error *err)
{
    return pgs_list(impl, pgs_read_blob_key, NULL, sizeof **keys, (void **)keys,
                    n, err,
                    "SELECT k FROM (SELECT blob_key AS k FROM datasets"
                    " WHERE file_deleted = 0"
                    " UNION SELECT blob_key FROM models"
                    " UNION SELECT input_blob_key FROM jobs"
                    " UNION SELECT blob_key FROM diagnoses"
                    " UNION SELECT input_blob_key FROM diagnoses"
                    " UNION SELECT blob_key FROM topologies"
                    " UNION SELECT csv_blob_key FROM analyses"
                    " UNION SELECT json_blob_key FROM analyses"
                    " UNION SELECT incidents_blob_key FROM analyses) refs"
                    " WHERE k <> '' ORDER BY k COLLATE \"C\"",
                    "");
}

const hs_store_blob_ref_ops hs_pg_blob_refs = {
    .list = pg_blob_refs_list,
};

/* ---- shared settings -------------------------------------------------------
 */

static hs_status pg_setting_get(void *impl, const char *key, char **value,
                                hs_error *err)
{
    char missing[HS_SETTING_KEY_MAX + 32];
    snprintf(missing, sizeof missing, "setting '%s' is not set", key);
    return pgs_get_one(impl, pgs_read_text, value, missing, err,
                       "SELECT value FROM settings WHERE key = $1", "t", key);
}

/* The INSERT does nothing when another instance got there first; the read
 * then returns that one's value, which every instance ends up with. */
static hs_status pg_setting_put_new(void *impl, const char *key,
                                    const char *value, int64_t now,
                                    char **stored, hs_error *err)
{
    hs_status st = pgs_run(impl, NULL, err, "saving a setting",
                           "INSERT INTO settings (key, value, updated_at)"
                           " VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING",
                           "tti", key, value, now);
    if (st != HS_OK)
        return st;
    return pg_setting_get(impl, key, stored, err);
}

static hs_status pg_setting_set(void *impl, const char *key, const char *value,
                                int64_t now, hs_error *err)
{
    return pgs_run(impl, NULL, err, "saving a setting",
                   "INSERT INTO settings (key, value, updated_at)"
                   " VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE"
                   " SET value = excluded.value,"
                   " updated_at = excluded.updated_at",
                   "tti", key, value, now);
}

const hs_store_setting_ops hs_pg_settings = {
    .get = pg_setting_get,
    .put_new = pg_setting_put_new,
    .set = pg_setting_set,
};
