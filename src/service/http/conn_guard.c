/* http/conn_guard.c - per-address connection counts and the request-head
 * deadline (see conn_guard.h).
 *
 * The counts live in an open-addressing table of client keys (linear
 * probing, deletion by backward shift), sized to twice the connection cap,
 * so it never fills and needs no allocation per connection beyond the
 * entry. The open connections form a list that the timer thread walks: a
 * few thousand entries a few times a second is cheap next to the
 * connections themselves, and needs no timer wheel.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>

#include "base/client_key.h"
#include "base/timed_wait.h"
#include "healer/clock.h"
#include "http/conn_guard.h"
#include "http/http.h"

/* How often the timer thread looks for heads past their deadline, seconds:
 * a head is cut at most this long after its deadline. */
#define TICK_SECONDS 0.25

struct hs_conn_entry {
    hs_conn_entry *prev, *next; /* guarded by guard.lock */
    hs_client_key key;
    int exempt; /* a trusted proxy's connection: no per-address limit */
    int fd;
    double head_since; /* monotonic start of the head clock; 0 = stopped;
                          guarded by guard.lock */
    int between;       /* kept alive, no byte of the next request's line
                          complete yet; guarded by guard.lock */
    atomic_size_t target_len;
};

typedef struct addr_slot {
    hs_client_key key;
    unsigned count; /* 0 = free slot */
} addr_slot;

struct hs_conn_guard {
    unsigned per_address; /* immutable */
    hs_http_proxies exempt; /* immutable: no per-address limit for these */
    double head_timeout;  /* immutable; 0 = none */
    double between_limit; /* immutable: idle limit + head_timeout */
    uint64_t crowded;     /* immutable: open connections that make the
                             deadline HS_CONN_GUARD_CROWDED_HEAD_SECONDS */
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the timer waits on it; signalled at free */
    int stopping;        /* guarded by lock */
    hs_conn_entry *head; /* guarded by lock: open connections */
    addr_slot *slots;    /* guarded by lock */
    size_t n_slots;      /* a power of two */
    uint64_t open;       /* guarded by lock */
    uint64_t refused;    /* guarded by lock */
    uint64_t timed_out;  /* guarded by lock */
    pthread_t timer;
    int timer_started;
};

/* ---- the address table ------------------------------------------------- */

/* The slot of key, or the free slot where it would go (lock held). */
static addr_slot *slot_find(hs_conn_guard *g, const hs_client_key *key)
{
    size_t mask = g->n_slots - 1;
    size_t i = (size_t)hs_client_key_hash(key) & mask;
    while (g->slots[i].count && memcmp(&g->slots[i].key, key, sizeof *key) != 0)
        i = (i + 1) & mask;
    return &g->slots[i];
}

/* Empties slot i and moves later entries of its probe run back into the
 * gap, so lookups never need tombstones (lock held). */
static void slot_remove(hs_conn_guard *g, size_t i)
{
    size_t mask = g->n_slots - 1;
    size_t j = i;
    g->slots[i].count = 0;
    for (;;) {
        j = (j + 1) & mask;
        if (!g->slots[j].count)
            return;
        size_t home = (size_t)hs_client_key_hash(&g->slots[j].key) & mask;
        /* j stays when its home lies cyclically in (i, j]. */
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
            continue;
        g->slots[i] = g->slots[j];
        g->slots[j].count = 0;
        i = j;
    }
}

/* ---- the timer --------------------------------------------------------- */

/* Are bytes waiting unread in fd's receive queue? Then the client has
 * sent and the server is behind (its threads busy): not a slow client.
 * The descriptor is libmicrohttpd's but stays open while its entry is in
 * the table (lock held), so the ioctl never reaches a reused one. */
static int unread_bytes(int fd)
{
    int n = 0;
    return fd >= 0 && ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

/* Shuts down the connections whose head is overdue (lock held); one whose
 * head waits unread in its socket is spared (unread_bytes): the deadline
 * is for clients that do not send, and a server slow to read under load
 * must not turn its own lateness into cut connections. */
static void cut_overdue(hs_conn_guard *g, double now)
{
    double deadline = g->head_timeout;
    if (g->open >= g->crowded && deadline > HS_CONN_GUARD_CROWDED_HEAD_SECONDS)
        deadline = HS_CONN_GUARD_CROWDED_HEAD_SECONDS;
    for (hs_conn_entry *e = g->head; e; e = e->next) {
        double limit = e->between ? g->between_limit : deadline;
        if (e->head_since <= 0 || now - e->head_since < limit ||
            unread_bytes(e->fd))
            continue;
        e->head_since = 0; /* once */
        g->timed_out++;
        shutdown(e->fd, SHUT_RDWR);
    }
}

static void *timer_main(void *arg)
{
    hs_conn_guard *g = arg;
    pthread_mutex_lock(&g->lock);
    while (!g->stopping) {
        hs_cond_wait_for(&g->wake, &g->lock, TICK_SECONDS);
        if (!g->stopping)
            cut_overdue(g, hl_clock_monotonic());
    }
    pthread_mutex_unlock(&g->lock);
    return NULL;
}

/* ---- life cycle -------------------------------------------------------- */

hs_status hs_conn_guard_new(unsigned max_connections, unsigned per_address,
                            const hs_http_proxies *exempt,
                            unsigned head_timeout_s, unsigned idle_timeout_s,
                            hs_conn_guard **out, hs_error *err)
{
    *out = NULL;
    hs_conn_guard *g = calloc(1, sizeof *g);
    if (!g)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    g->per_address = per_address;
    if (exempt)
        g->exempt = *exempt;
    g->head_timeout = head_timeout_s;
    g->between_limit = (double)idle_timeout_s + head_timeout_s;
    g->crowded = (uint64_t)max_connections * 3 / 4;
    g->n_slots = 16;
    while (g->n_slots < 2 * (size_t)max_connections + 2)
        g->n_slots *= 2;
    g->slots = calloc(g->n_slots, sizeof *g->slots);
    if (!g->slots) {
        free(g);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&g->lock, NULL);
    hs_cond_init_monotonic(&g->wake);
    if (head_timeout_s) {
        if (pthread_create(&g->timer, NULL, timer_main, g) != 0) {
            hs_conn_guard_free(g);
            return hs_fail(err, HS_ERR_INTERNAL,
                           "cannot start the request-head timer");
        }
        g->timer_started = 1;
    }
    *out = g;
    return HS_OK;
}

void hs_conn_guard_free(hs_conn_guard *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = 1;
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->lock);
    if (g->timer_started)
        pthread_join(g->timer, NULL);
    while (g->head) { /* none when the daemon has stopped; be safe */
        hs_conn_entry *e = g->head;
        g->head = e->next;
        free(e);
    }
    pthread_cond_destroy(&g->wake);
    pthread_mutex_destroy(&g->lock);
    free(g->slots);
    free(g);
}

/* ---- connections ------------------------------------------------------- */

/* Is the peer at sa a trusted proxy (exempt from the per-address limit)? */
static int is_exempt(const hs_conn_guard *g, const struct sockaddr *sa)
{
    uint8_t ip[16];
    return g->exempt.n && hs_ip_from_sockaddr(sa, ip) == 0 &&
           hs_http_proxies_has(&g->exempt, ip);
}

int hs_conn_guard_admit(hs_conn_guard *g, const struct sockaddr *sa)
{
    hs_client_key key;
    if (!g->per_address || is_exempt(g, sa) ||
        hs_client_key_from_sockaddr(sa, &key) != 0)
        return 1;
    pthread_mutex_lock(&g->lock);
    int ok = slot_find(g, &key)->count < g->per_address;
    if (!ok)
        g->refused++;
    pthread_mutex_unlock(&g->lock);
    return ok;
}

hs_conn_entry *hs_conn_guard_opened(hs_conn_guard *g, const struct sockaddr *sa,
                                    int fd)
{
    hs_conn_entry *e = calloc(1, sizeof *e);
    if (!e) {
        if (fd >= 0)
            shutdown(fd, SHUT_RDWR);
        return NULL;
    }
    e->fd = fd;
    e->exempt = is_exempt(g, sa);
    hs_client_key_from_sockaddr(sa, &e->key);
    pthread_mutex_lock(&g->lock);
    addr_slot *s = slot_find(g, &e->key);
    if (!s->count)
        s->key = e->key;
    s->count++;
    g->open++;
    e->next = g->head;
    if (g->head)
        g->head->prev = e;
    g->head = e;
    e->head_since = hl_clock_monotonic();
    /* Slipped past the accept check while another thread accepted. */
    if (g->per_address && !e->exempt && s->count > g->per_address) {
        g->refused++;
        e->head_since = 0;
        shutdown(fd, SHUT_RDWR);
    }
    pthread_mutex_unlock(&g->lock);
    return e;
}

void hs_conn_guard_closed(hs_conn_guard *g, hs_conn_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&g->lock);
    addr_slot *s = slot_find(g, &e->key);
    if (s->count && --s->count == 0)
        slot_remove(g, (size_t)(s - g->slots));
    g->open--;
    if (e->prev)
        e->prev->next = e->next;
    else
        g->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    pthread_mutex_unlock(&g->lock);
    free(e);
}

static void set_head_clock(hs_conn_guard *g, hs_conn_entry *e, double since,
                           int between)
{
    if (!e)
        return;
    pthread_mutex_lock(&g->lock);
    e->head_since = since;
    e->between = between;
    pthread_mutex_unlock(&g->lock);
}

void hs_conn_guard_head_done(hs_conn_guard *g, hs_conn_entry *e)
{
    set_head_clock(g, e, 0, 0);
}

void hs_conn_guard_request_line(hs_conn_guard *g, hs_conn_entry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&g->lock);
    if (e->between) {
        e->between = 0;
        e->head_since = hl_clock_monotonic();
    }
    pthread_mutex_unlock(&g->lock);
}

void hs_conn_guard_await_head(hs_conn_guard *g, hs_conn_entry *e)
{
    if (e)
        atomic_store(&e->target_len, 0);
    set_head_clock(g, e, hl_clock_monotonic(), 1);
}

void hs_conn_entry_set_target_len(hs_conn_entry *e, size_t len)
{
    if (e)
        atomic_store(&e->target_len, len);
}

size_t hs_conn_entry_target_len(const hs_conn_entry *e)
{
    return e ? atomic_load(&((hs_conn_entry *)e)->target_len) : 0;
}

void hs_conn_guard_stats_get(hs_conn_guard *g, hs_conn_guard_stats *out)
{
    pthread_mutex_lock(&g->lock);
    out->open = g->open;
    out->refused_per_address = g->refused;
    out->heads_timed_out = g->timed_out;
    pthread_mutex_unlock(&g->lock);
}
