/* domain/alerts.c - the platform's outgoing messages (alerts.h): who gets
 * them, the outbox, and the sender thread that delivers and retries.
 *
 * Why an outbox in the store and one thread: a request that has
 * something to tell (an account locked) must not wait for a relay, and a
 * message must survive a restart; so hs_alerts_send only writes rows
 * (one per address, one for the webhook) and signals the thread, which
 * claims due rows (a claim holds them, so two processes sharing the
 * store never send one twice), delivers each through notify/ (the only
 * code that speaks SMTP or HTTP out) and records the outcome: sent, or
 * the error and the next attempt, exponentially later, until the
 * configured number of attempts is spent.
 *
 * Why also a queue in memory: the alert about a failing store cannot
 * count on the store to queue it. A row the store refuses waits in
 * memory (bounded) and is delivered from there by the same code. Its
 * recipients are resolved as always; when the store cannot even be read,
 * the administrators' addresses last read are used.
 *
 * Lock order: `lock` is never held while the store is called (a caller
 * may be inside a store transaction when it queues an alert).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/timed_wait.h"
#include "domain/alerts.h"
#include "notify/mail.h"
#include "notify/webhook.h"
#include "store/store.h"

/* Limits of a message as alerts.h states them (a kind fits the store's
 * HS_KIND_MAX with its NUL). */
#define KIND_MAX (HS_KIND_MAX - 1)
#define SUBJECT_MAX 200
#define BODY_MAX 8000

/* Rows one claim takes, and how long they are held: long enough for
 * every one of them to time out in turn. */
#define CLAIM_BATCH 8
#define CLAIM_HOLD 300

/* The sender looks at the store at least this often (another process
 * may have queued rows). */
#define POLL_SECONDS 5

/* Kinds of trouble remembered by hs_alerts_allow. */
#define TROUBLE_KINDS 8

typedef struct recipient {
    char address[HS_EMAIL_MAX];
    char name[HS_USERNAME_MAX];
} recipient;

struct hs_alerts {
    hs_app *app;
    hs_alerts_watch_fn watch;  /* NULL = none; immutable after new */
    hs_mail_relay *relay;      /* NULL = no mail; immutable after new */
    hs_webhook *webhook;       /* NULL = no webhook; immutable after new */
    unsigned retry_max;        /* immutable after new */
    char host[256];            /* for the mails' footer; immutable after new */
    atomic_int abort_transfer; /* raised by free: cut a delivery short */
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* made on the monotonic clock */
    int stopping;        /* guarded by lock */
    int woken;           /* guarded by lock: rows were queued */
    /* Messages the store refused, guarded by lock. */
    hs_outbox_msg *memory;
    size_t n_memory;
    /* The enabled administrators' addresses as last read, guarded by
     * lock (for when the store cannot be read). */
    recipient *admins;
    size_t n_admins;
    /* Trouble watch, guarded by lock. */
    struct {
        char kind[HS_KIND_MAX];
        int64_t at;
    } raised[TROUBLE_KINDS];
    unsigned failure_run;
};

static int text_fits(const char *s, size_t max)
{
    return s && *s && strlen(s) <= max;
}

static int64_t now_of(const hs_alerts *a)
{
    return hs_clock_now(a->app->clock);
}

/* ---- recipients ------------------------------------------------------------
 */

/* Adds u's address to list[*n] unless it is empty, u is disabled, or the
 * address (case-insensitively) is there already: one mail per address. */
static void add_recipient(recipient *list, size_t *n, size_t cap,
                          const hs_user *u, const char *why)
{
    if (!u->email[0] || u->disabled) {
        hs_log(HS_LOG_INFO, "alert recipient skipped",
               json_pack(
                   "{s:I, s:s, s:s}", "user_id", (json_int_t)u->id, "reason",
                   u->disabled ? "disabled" : "no e-mail address", "as", why));
        return;
    }
    for (size_t i = 0; i < *n; i++)
        if (!strcasecmp(list[i].address, u->email))
            return;
    if (*n < cap) {
        snprintf(list[*n].address, sizeof list[*n].address, "%s", u->email);
        snprintf(list[*n].name, sizeof list[*n].name, "%s", u->username);
        (*n)++;
    }
}

/* Remembers the administrators' addresses just read. */
static void keep_admins(hs_alerts *a, const recipient *list, size_t n)
{
    recipient *copy = n ? malloc(n * sizeof *copy) : NULL;
    if (n && !copy)
        return;
    if (n)
        memcpy(copy, list, n * sizeof *copy);
    pthread_mutex_lock(&a->lock);
    free(a->admins);
    a->admins = copy;
    a->n_admins = n;
    pthread_mutex_unlock(&a->lock);
}

/* The enabled administrators with an address, into list (after *n
 * entries already there); the remembered ones when the store cannot be
 * read. */
static void admin_recipients(hs_alerts *a, recipient *list, size_t *n,
                             size_t cap)
{
    hs_user *users = NULL;
    size_t n_users = 0, first = *n;
    hs_error err = {0};
    if (hs_store_user_list(a->app->store, &users, &n_users, &err) == HS_OK) {
        for (size_t i = 0; i < n_users; i++)
            if (users[i].is_admin)
                add_recipient(list, n, cap, &users[i], "administrator");
        free(users);
        keep_admins(a, list + first, *n - first);
        return;
    }
    hs_log(HS_LOG_WARN,
           "cannot read the administrators; alerting the ones "
           "read before",
           json_pack("{s:s}", "error", err.message));
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n_admins && *n < cap; i++) {
        size_t j = 0;
        while (j < *n && strcasecmp(list[j].address, a->admins[i].address))
            j++;
        if (j == *n)
            list[(*n)++] = a->admins[i];
    }
    pthread_mutex_unlock(&a->lock);
}

/* Who `al` goes to, resolved now: the user's own address (TO_USER) and
 * the enabled administrators' (TO_ADMINS), each address once. *list is
 * malloc'ed (caller frees), *n may be 0. The one place that decides
 * recipients: where a new rule (a per-user opt-out, a team address)
 * goes. */
static hs_status resolve_recipients(hs_alerts *a, const hs_alert *al,
                                    recipient **list, size_t *n, hs_error *err)
{
    int64_t users = 0;
    size_t cap;
    *n = 0;
    if (hs_store_user_count(a->app->store, &users, NULL) != HS_OK)
        users = 0;
    pthread_mutex_lock(&a->lock);
    cap = (size_t)users + a->n_admins + 1;
    pthread_mutex_unlock(&a->lock);
    *list = calloc(cap, sizeof **list);
    if (!*list)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (al->audience & HS_ALERT_TO_USER) {
        hs_user u;
        hs_error uerr = {0};
        int other = al->to_address && al->to_address[0];
        if (hs_store_user_get(a->app->store, al->user_id, &u, &uerr) ==
            HS_OK) {
            if (other) /* the user's former address (alerts.h) */
                snprintf(u.email, sizeof u.email, "%s", al->to_address);
            sodium_memzero(u.password_hash, sizeof u.password_hash);
            add_recipient(*list, n, cap, &u, other ? "former address" : "user");
        }
        else
            hs_log(HS_LOG_WARN, "cannot read an alert's user",
                   json_pack("{s:I, s:s}", "user_id", (json_int_t)al->user_id,
                             "error", uerr.message));
    }
    if (al->audience & HS_ALERT_TO_ADMINS)
        admin_recipients(a, *list, n, cap);
    return HS_OK;
}

/* ---- queueing --------------------------------------------------------------
 */

/* The mail's text: a greeting, the alert's text and the footer. */
static void compose_mail(const hs_alerts *a, const recipient *r,
                         const hs_alert *al, hs_outbox_msg *m)
{
    snprintf(m->body, sizeof m->body,
             "Hello %s,\n\n%s\n\n-- \nSystemHealer on %s: this message was "
             "sent automatically (event %s) to the address of your account.\n",
             r->name, al->body, a->host, al->kind);
}

static hs_outbox_msg *new_row(const hs_alert *al, const char *channel,
                              int64_t now)
{
    hs_outbox_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    snprintf(m->channel, sizeof m->channel, "%s", channel);
    snprintf(m->kind, sizeof m->kind, "%s", al->kind);
    snprintf(m->subject, sizeof m->subject, "%s", al->subject);
    m->user_id = al->user_id;
    m->created_at = now;
    m->next_attempt_at = now;
    return m;
}

/* Records m in the outbox, or in memory when the store refuses it (or
 * is not to be asked: `unstored`). */
static hs_status queue_row(hs_alerts *a, hs_outbox_msg *m, int unstored,
                           hs_error *err)
{
    hs_error serr = {0};
    hs_status st =
        unstored ? HS_ERR_IO : hs_store_outbox_add(a->app->store, m, &serr);
    if (unstored)
        snprintf(serr.message, sizeof serr.message, "an alert about the store");
    if (st == HS_OK || st == HS_ERR_INVALID)
        return st == HS_OK ? HS_OK
                           : hs_fail(err, st, "cannot queue an alert: %s",
                                     serr.message);
    pthread_mutex_lock(&a->lock);
    if (a->n_memory < HS_ALERTS_MEMORY_MAX) {
        m->id = 0;
        snprintf(m->state, sizeof m->state, "%s", HS_OUTBOX_PENDING);
        a->memory[a->n_memory++] = *m;
        st = HS_OK;
    }
    pthread_mutex_unlock(&a->lock);
    hs_log(st != HS_OK ? HS_LOG_ERROR
           : unstored  ? HS_LOG_INFO
                       : HS_LOG_WARN,
           st == HS_OK ? "the store cannot queue an alert; it waits in memory"
                       : "the store cannot queue an alert and the memory "
                         "queue is full; it is lost",
           json_pack("{s:s, s:s, s:s}", "kind", m->kind, "channel", m->channel,
                     "error", serr.message));
    return st == HS_OK ? HS_OK
                       : hs_fail(err, HS_ERR_IO, "cannot queue an alert: %s",
                                 serr.message);
}

static void wake_sender(hs_alerts *a)
{
    pthread_mutex_lock(&a->lock);
    a->woken = 1;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
}

/* One row per recipient's address. */
static hs_status queue_mails(hs_alerts *a, const hs_alert *al, int64_t now,
                             int unstored, size_t *queued, hs_error *err)
{
    recipient *list = NULL;
    size_t n = 0;
    hs_status st = resolve_recipients(a, al, &list, &n, err), first = HS_OK;
    for (size_t i = 0; st == HS_OK && i < n; i++) {
        hs_outbox_msg *m = new_row(al, HS_OUTBOX_MAIL, now);
        if (!m) {
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
            break;
        }
        snprintf(m->recipient, sizeof m->recipient, "%s", list[i].address);
        compose_mail(a, &list[i], al, m);
        hs_status one = queue_row(a, m, unstored, err);
        if (one == HS_OK)
            (*queued)++;
        else if (first == HS_OK)
            first = one;
        free(m);
    }
    free(list);
    return st != HS_OK ? st : first;
}

static hs_status queue_webhook(hs_alerts *a, const hs_alert *al, int64_t now,
                               int unstored, size_t *queued, hs_error *err)
{
    hs_outbox_msg *m = new_row(al, HS_OUTBOX_WEBHOOK, now);
    hs_status st;
    if (!m)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    snprintf(m->body, sizeof m->body, "%s", al->body);
    st = queue_row(a, m, unstored, err);
    if (st == HS_OK)
        (*queued)++;
    free(m);
    return st;
}

static hs_status send_alert(hs_app *app, const hs_alert *al, int unstored,
                            hs_error *err)
{
    hs_alerts *a = app ? app->alerts : NULL;
    size_t mails = 0, hooks = 0;
    hs_status st = HS_OK;
    if (!al || !text_fits(al->kind, KIND_MAX) ||
        !text_fits(al->subject, SUBJECT_MAX) || !text_fits(al->body, BODY_MAX))
        return hs_fail(err, HS_ERR_INVALID,
                       "an alert needs a kind (1..31 bytes), a subject "
                       "(1..200) and a body (1..8000)");
    if (al->audience < HS_ALERT_TO_USER || al->audience > HS_ALERT_TO_BOTH ||
        ((al->audience & HS_ALERT_TO_USER) && al->user_id <= 0))
        return hs_fail(err, HS_ERR_INVALID,
                       "an alert to a user needs the user's id");
    if (strpbrk(al->subject, "\r\n"))
        return hs_fail(err, HS_ERR_INVALID, "an alert's subject is one line");
    if (al->to_address && al->to_address[0] &&
        (al->audience != HS_ALERT_TO_USER ||
         strlen(al->to_address) >= HS_EMAIL_MAX))
        return hs_fail(err, HS_ERR_INVALID,
                       "an alert's own address goes with TO_USER only, "
                       "below %d bytes",
                       HS_EMAIL_MAX);
    if (!a || (!a->relay && !a->webhook)) {
        hs_log(HS_LOG_INFO, "alert (no mail relay or webhook configured)",
               json_pack("{s:s, s:i, s:I, s:s}", "kind", al->kind, "audience",
                         (int)al->audience, "user_id", (json_int_t)al->user_id,
                         "subject", al->subject));
        return HS_OK;
    }
    int64_t now = now_of(a);
    if (a->relay)
        st = queue_mails(a, al, now, unstored, &mails, err);
    if (a->webhook && !al->secret) {
        hs_status hst = queue_webhook(a, al, now, unstored, &hooks, err);
        if (st == HS_OK)
            st = hst;
    }
    if (mails || hooks)
        wake_sender(a);
    hs_log(HS_LOG_INFO, "alert queued",
           json_pack("{s:s, s:i, s:I, s:s, s:I, s:b}", "kind", al->kind,
                     "audience", (int)al->audience, "user_id",
                     (json_int_t)al->user_id, "subject", al->subject, "mails",
                     (json_int_t)mails, "webhook", hooks > 0));
    return st;
}

int hs_alerts_mail_configured(const hs_app *app)
{
    return app && app->alerts && app->alerts->relay;
}

hs_status hs_alerts_send(hs_app *app, const hs_alert *al, hs_error *err)
{
    return send_alert(app, al, 0, err);
}

hs_status hs_alerts_send_unstored(hs_app *app, const hs_alert *al,
                                  hs_error *err)
{
    return send_alert(app, al, 1, err);
}

/* ---- delivery --------------------------------------------------------------
 */

/* Sends one message through its channel. */
static hs_status deliver(hs_alerts *a, const hs_outbox_msg *m, hs_error *err)
{
    if (!strcmp(m->channel, HS_OUTBOX_MAIL)) {
        if (!a->relay)
            return hs_fail(err, HS_ERR_INVALID,
                           "no mail relay is configured any more");
        return hs_mail_relay_send(a->relay, m->recipient, m->subject, m->body,
                                  m->kind, now_of(a), &a->abort_transfer, err);
    }
    if (!a->webhook)
        return hs_fail(err, HS_ERR_INVALID,
                       "no webhook is configured any more");
    hs_user u;
    int named = m->user_id > 0 &&
                hs_store_user_get(a->app->store, m->user_id, &u, NULL) == HS_OK;
    hs_webhook_event e = {m->kind, m->subject, m->body,
                          named ? u.username : NULL, m->created_at};
    return hs_webhook_post(a->webhook, &e, &a->abort_transfer, err);
}

/* Seconds before attempt `attempts` + 1, after `attempts` failures. */
static int64_t backoff(int64_t attempts)
{
    int64_t wait = HS_ALERTS_RETRY_FIRST;
    for (int64_t i = 1; i < attempts && wait < HS_ALERTS_RETRY_CAP; i++)
        wait *= 2;
    return wait < HS_ALERTS_RETRY_CAP ? wait : HS_ALERTS_RETRY_CAP;
}

/* Delivers m and says what became of it: sets m's attempts, state and
 * next attempt as the store will record them; logs each failure. */
static hs_status attempt(hs_alerts *a, hs_outbox_msg *m, hs_error *err)
{
    hs_status st = deliver(a, m, err);
    int64_t now = now_of(a);
    m->attempts++;
    if (st == HS_OK) {
        snprintf(m->state, sizeof m->state, "%s", HS_OUTBOX_SENT);
        m->sent_at = now;
        hs_log(HS_LOG_INFO, "alert delivered",
               json_pack("{s:I, s:s, s:s, s:s, s:I}", "outbox_id",
                         (json_int_t)m->id, "channel", m->channel, "kind",
                         m->kind, "to", m->recipient, "attempt",
                         (json_int_t)m->attempts));
        return HS_OK;
    }
    /* A message no channel can carry any more is not retried. */
    int give_up = st == HS_ERR_INVALID || m->attempts >= (int64_t)a->retry_max;
    snprintf(m->last_error, sizeof m->last_error, "%s",
             err->message[0] ? err->message : "delivery failed");
    if (give_up) {
        snprintf(m->state, sizeof m->state, "%s", HS_OUTBOX_FAILED);
        hs_log(HS_LOG_ERROR, "alert given up",
               json_pack("{s:I, s:s, s:s, s:s, s:I, s:s}", "outbox_id",
                         (json_int_t)m->id, "channel", m->channel, "kind",
                         m->kind, "to", m->recipient, "attempts",
                         (json_int_t)m->attempts, "error", m->last_error));
    } else {
        m->next_attempt_at = now + backoff(m->attempts);
        hs_log(HS_LOG_WARN, "alert delivery failed; will retry",
               json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:s}", "outbox_id",
                         (json_int_t)m->id, "channel", m->channel, "kind",
                         m->kind, "to", m->recipient, "attempt",
                         (json_int_t)m->attempts, "retry_in_seconds",
                         (json_int_t)(m->next_attempt_at - now), "error",
                         m->last_error));
    }
    return st;
}

/* Writes what attempt() decided to the store. */
static void record(hs_alerts *a, const hs_outbox_msg *m)
{
    hs_error err = {0};
    hs_status st =
        !strcmp(m->state, HS_OUTBOX_SENT)
            ? hs_store_outbox_sent(a->app->store, m->id, m->sent_at, &err)
            : hs_store_outbox_failed(a->app->store, m->id, m->last_error,
                                     m->next_attempt_at,
                                     !strcmp(m->state, HS_OUTBOX_FAILED), &err);
    if (st != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot record an alert's delivery",
               json_pack("{s:I, s:s}", "outbox_id", (json_int_t)m->id, "error",
                         err.message));
}

static int stopping(hs_alerts *a)
{
    pthread_mutex_lock(&a->lock);
    int stop = a->stopping;
    pthread_mutex_unlock(&a->lock);
    return stop;
}

/* Gives back a claimed row the sender will not try (it is stopping), due
 * at once, so the next start sends it instead of waiting out the hold (it
 * counts as an attempt). */
static void release(hs_alerts *a, hs_outbox_msg *m)
{
    m->attempts++;
    m->next_attempt_at = now_of(a);
    snprintf(m->last_error, sizeof m->last_error,
             "not tried: the server stopped first");
    record(a, m);
}

/* Delivers the store's due rows, a claim at a time, until none is due;
 * HS_OK, or the claim's error. */
static hs_status deliver_stored(hs_alerts *a)
{
    for (;;) {
        hs_outbox_msg *items = NULL;
        size_t n = 0;
        hs_error err = {0};
        hs_status st =
            hs_store_outbox_claim(a->app->store, now_of(a), CLAIM_HOLD,
                                  CLAIM_BATCH, &items, &n, &err);
        if (a->watch)
            a->watch(a->app, st, "reading the outbox of alerts", &err);
        if (st != HS_OK) {
            hs_log(HS_LOG_ERROR, "cannot read the outbox",
                   json_pack("{s:s}", "error", err.message));
            return st;
        }
        for (size_t i = 0; i < n; i++) {
            hs_error derr = {0};
            if (stopping(a)) {
                release(a, &items[i]);
                continue;
            }
            attempt(a, &items[i], &derr);
            record(a, &items[i]);
        }
        free(items);
        if (n < CLAIM_BATCH || stopping(a))
            return HS_OK;
    }
}

/* Delivers the due messages waiting in memory; the ones done leave it. */
static void deliver_memory(hs_alerts *a)
{
    for (size_t i = 0;;) {
        hs_outbox_msg m;
        pthread_mutex_lock(&a->lock);
        while (i < a->n_memory && a->memory[i].next_attempt_at > now_of(a))
            i++;
        int found = i < a->n_memory && !a->stopping;
        if (found)
            m = a->memory[i];
        pthread_mutex_unlock(&a->lock);
        if (!found)
            return;
        hs_error err = {0};
        attempt(a, &m, &err);
        pthread_mutex_lock(&a->lock);
        if (strcmp(m.state, HS_OUTBOX_PENDING) != 0) {
            a->memory[i] = a->memory[--a->n_memory];
        } else {
            a->memory[i] = m;
            i++;
        }
        pthread_mutex_unlock(&a->lock);
    }
}

/* Seconds until the next message is due (0 = now), at most
 * POLL_SECONDS. */
static int64_t seconds_to_next(hs_alerts *a)
{
    int64_t now = now_of(a), due = 0, wait = POLL_SECONDS;
    if (hs_store_outbox_next_due(a->app->store, &due, NULL) == HS_OK &&
        due - now < wait)
        wait = due - now;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n_memory; i++)
        if (a->memory[i].next_attempt_at - now < wait)
            wait = a->memory[i].next_attempt_at - now;
    pthread_mutex_unlock(&a->lock);
    return wait > 0 ? wait : 0;
}

static void wait_for_work(hs_alerts *a, int64_t seconds)
{
    struct timespec until = hs_monotonic_deadline((double)seconds);
    pthread_mutex_lock(&a->lock);
    while (!a->stopping && !a->woken &&
           pthread_cond_timedwait(&a->wake, &a->lock, &until) == 0)
        ;
    a->woken = 0;
    pthread_mutex_unlock(&a->lock);
}

static void *sender_main(void *arg)
{
    hs_alerts *a = arg;
    while (!stopping(a)) {
        deliver_memory(a); /* first: they may be about the store */
        hs_status st = deliver_stored(a);
        deliver_memory(a);
        /* A store that fails is read again a second later (never at
         * once): its run of failures reaches the watch within seconds,
         * and the stored messages go out soon after it is back. */
        int64_t wait = st != HS_OK ? 1 : seconds_to_next(a);
        if (wait > 0)
            wait_for_work(a, wait);
    }
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------
 */

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The settings that only make sense with a relay. */
static hs_status check_mail_settings(const hs_alerts_config *cfg, hs_error *err)
{
    if (or_empty(cfg->smtp_url)[0])
        return or_empty(cfg->smtp_from)[0]
                   ? HS_OK
                   : hs_fail_field(err, HS_ERR_INVALID, "smtp-from",
                                   "smtp-from: the sender's address is "
                                   "required with smtp-url");
    if (or_empty(cfg->smtp_from)[0])
        return hs_fail_field(err, HS_ERR_INVALID, "smtp-from",
                             "smtp-from is set but smtp-url is not");
    if (or_empty(cfg->smtp_credentials_file)[0])
        return hs_fail_field(err, HS_ERR_INVALID, "smtp-credentials-file",
                             "smtp-credentials-file is set but smtp-url is "
                             "not");
    if (or_empty(cfg->smtp_ca_file)[0])
        return hs_fail_field(err, HS_ERR_INVALID, "smtp-ca-file",
                             "smtp-ca-file is set but smtp-url is not");
    return HS_OK;
}

static hs_status init_sync(hs_alerts *a, hs_error *err)
{
    if (hs_cond_init_monotonic(&a->wake) != 0 ||
        pthread_mutex_init(&a->lock, NULL) != 0)
        return hs_fail(err, HS_ERR_INTERNAL, "alerts: cannot create a lock");
    return HS_OK;
}

hs_status hs_alerts_new(hs_app *app, const hs_alerts_config *cfg,
                        hs_alerts **out, hs_error *err)
{
    hs_alerts *a;
    hs_status st;
    *out = NULL;
    if (!app || !cfg || cfg->retry_max < 1)
        return hs_fail(err, HS_ERR_INVALID,
                       "alerts: an app and at least one attempt are needed");
    if ((st = check_mail_settings(cfg, err)) != HS_OK)
        return st;
    a = calloc(1, sizeof *a);
    if (!a)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    a->memory = calloc(HS_ALERTS_MEMORY_MAX, sizeof *a->memory);
    st = a->memory ? init_sync(a, err)
                   : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st != HS_OK) {
        free(a->memory);
        free(a);
        return st;
    }
    a->app = app;
    a->watch = cfg->watch;
    a->retry_max = cfg->retry_max;
    if (gethostname(a->host, sizeof a->host - 1) != 0 || !a->host[0])
        snprintf(a->host, sizeof a->host, "this server");
    if (or_empty(cfg->smtp_url)[0]) {
        hs_mail_relay_config rc = {cfg->smtp_url, cfg->smtp_from,
                                   cfg->smtp_credentials_file,
                                   cfg->smtp_ca_file};
        st = hs_mail_relay_new(&rc, &a->relay, err);
    }
    if (st == HS_OK && or_empty(cfg->webhook_url)[0])
        st = hs_webhook_new(cfg->webhook_url, &a->webhook, err);
    if (st != HS_OK) {
        hs_alerts_free(a);
        return st;
    }
    *out = a;
    return HS_OK;
}

hs_status hs_alerts_start(hs_alerts *a, hs_error *err)
{
    if (!a || a->started || (!a->relay && !a->webhook))
        return HS_OK;
    if (a->relay) { /* remember the admins while the store answers */
        recipient *list = NULL;
        size_t n = 0;
        hs_alert probe = {"probe", HS_ALERT_TO_ADMINS, 0, "-", "-", 0, NULL};
        if (resolve_recipients(a, &probe, &list, &n, NULL) == HS_OK)
            free(list);
    }
    if (pthread_create(&a->thread, NULL, sender_main, a) != 0)
        return hs_fail(err, HS_ERR_INTERNAL,
                       "alerts: cannot start the sender thread");
    a->started = 1;
    return HS_OK;
}

void hs_alerts_free(hs_alerts *a)
{
    if (!a)
        return;
    if (a->started) {
        pthread_mutex_lock(&a->lock);
        a->stopping = 1;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->lock);
        atomic_store(&a->abort_transfer, 1);
        pthread_join(a->thread, NULL);
    }
    pthread_mutex_lock(&a->lock);
    if (a->n_memory)
        hs_log(HS_LOG_WARN, "alerts waiting in memory are lost at stop",
               json_pack("{s:I}", "count", (json_int_t)a->n_memory));
    pthread_mutex_unlock(&a->lock);
    hs_mail_relay_free(a->relay);
    hs_webhook_free(a->webhook);
    pthread_mutex_destroy(&a->lock);
    pthread_cond_destroy(&a->wake);
    free(a->memory);
    free(a->admins);
    free(a);
}

hs_status hs_alerts_purge(hs_app *app, int64_t *removed, hs_error *err)
{
    return hs_store_outbox_purge(
        app->store, hs_clock_now(app->clock) - HS_ALERTS_KEEP_SECONDS, removed,
        err);
}

/* ---- trouble watch ---------------------------------------------------------
 */

int hs_alerts_allow(hs_app *app, const char *kind, int64_t interval_seconds)
{
    hs_alerts *a = app ? app->alerts : NULL;
    int64_t now;
    size_t slot = TROUBLE_KINDS, oldest = 0;
    int allow = 1;
    if (!a || !kind)
        return 1;
    now = now_of(a);
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < TROUBLE_KINDS && slot == TROUBLE_KINDS; i++) {
        if (!strcmp(a->raised[i].kind, kind))
            slot = i;
        else if (a->raised[i].at < a->raised[oldest].at)
            oldest = i;
    }
    if (slot < TROUBLE_KINDS && now - a->raised[slot].at < interval_seconds)
        allow = 0;
    if (allow) {
        if (slot == TROUBLE_KINDS)
            slot = oldest;
        snprintf(a->raised[slot].kind, sizeof a->raised[slot].kind, "%s", kind);
        a->raised[slot].at = now;
    }
    pthread_mutex_unlock(&a->lock);
    return allow;
}

unsigned hs_alerts_failure_run(hs_app *app, int failed)
{
    hs_alerts *a = app ? app->alerts : NULL;
    unsigned run;
    if (!a)
        return failed ? 1 : 0;
    pthread_mutex_lock(&a->lock);
    a->failure_run = failed ? a->failure_run + 1 : 0;
    run = a->failure_run;
    pthread_mutex_unlock(&a->lock);
    return run;
}
