/* http/conn_guard.h - the connection guard: what one client may hold open,
 * and how long a connection may take to send a request's head.
 *
 * Why: libmicrohttpd has a total connection cap and an idle timeout, and
 * nothing else. A client that opens thousands of connections and trickles
 * a header line every few seconds is never idle and fills the cap: the
 * server is unreachable for everybody (slowloris). The guard adds two
 * limits on top of libmicrohttpd:
 *  - per address: at most `per_address` open connections per client key
 *    (base/client_key.h: an IPv6 address counts by its /64), trusted
 *    proxies (--trusted-proxy) exempt: one carries all its clients'
 *    connections (the login throttle counts the forwarded client address
 *    instead). A connection over the limit is refused in the accept policy callback, before
 *    libmicrohttpd allocates anything for it; the count itself moves with
 *    the connection notifications (started / closed), so it is exact even
 *    when several pool threads accept at once (one that slips past the
 *    accept check is shut down as soon as it is counted);
 *  - request-head deadline: a new connection must deliver its first
 *    request's whole head within `head_timeout` seconds of the accept,
 *    however steadily it trickles. On a kept-alive connection the clock of
 *    the next head starts at its request line: waiting between requests is
 *    idleness, which libmicrohttpd's idle limit (connection-timeout)
 *    governs, not the head deadline (it used to start at the end of the
 *    previous response, and cut paced keep-alive clients that paused
 *    longer than the head deadline). libmicrohttpd tells nothing before a
 *    whole request line (MHD_OPTION_URI_LOG_CALLBACK), so a request line
 *    trickled after a kept-alive response is bounded by the idle limit
 *    plus the head deadline, from the end of that response: the least bad
 *    rule, never shorter than the idle limit an idle client is promised.
 *    A connection whose bytes wait unread in its socket when its deadline
 *    passes is not cut: the client has sent, the server is late (under
 *    load its threads read late; 2,039 of 10,000 paced clients were cut
 *    for it). A trickler is cut at the first tick that finds its socket
 *    drained, which without overload is every tick. A timer thread checks the open
 *    connections a few times a second and shuts down (shutdown(2), not
 *    close: the descriptor stays libmicrohttpd's, which then closes the
 *    connection as after any EOF) those past their deadline. A connection
 *    is taken out of the table in the "closed" notification, which
 *    libmicrohttpd sends before it closes the descriptor, and both happen
 *    under the guard's lock, so a shutdown never reaches a reused
 *    descriptor. While the server is crowded (HS_CONN_GUARD_CROWDED_*),
 *    the deadline shortens to a second.
 * Bodies and responses have no deadline here (an upload may be large and
 * slow); the idle timeout still applies to them.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef HEALER_HS_CONN_GUARD_H
#define HEALER_HS_CONN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct sockaddr;
struct hs_http_proxies;

typedef struct hs_conn_guard hs_conn_guard;

/* One open connection's entry (the libmicrohttpd socket context). */
typedef struct hs_conn_entry hs_conn_entry;

typedef struct hs_conn_guard_stats {
    uint64_t open;                /* connections open now */
    uint64_t refused_per_address; /* refused: the address had its limit */
    uint64_t heads_timed_out;     /* closed: no whole head by the deadline */
} hs_conn_guard_stats;

/* While three quarters of max_connections or more are open, a head is due
 * within this many seconds instead (when that is shorter): a real client
 * sends its head in milliseconds, so under a crowd of slow clients from
 * many addresses the slots they hold turn over every second or so. */
#define HS_CONN_GUARD_CROWDED_HEAD_SECONDS 1.0

/* A guard for at most `max_connections` connections in all, `per_address`
 * per client key (0 = no per-address limit) except for the addresses of
 * `exempt` (the trusted proxies, copied; NULL = none: a proxy carries
 * every client's connections, so its address has no per-address limit)
 * and a request-head deadline of `head_timeout_s` seconds (0 = none);
 * `idle_timeout_s` is the daemon's idle limit (connection-timeout), which
 * bounds, with the head deadline, the wait for a kept-alive connection's
 * next request line;
 * starts its timer thread when there is a deadline. Errors: HS_ERR_NOMEM,
 * HS_ERR_INTERNAL (no thread). */
hs_status hs_conn_guard_new(unsigned max_connections, unsigned per_address,
                            const struct hs_http_proxies *exempt,
                            unsigned head_timeout_s, unsigned idle_timeout_s,
                            hs_conn_guard **out, hs_error *err);

/* Stops the timer thread and frees the guard; every connection must have
 * been closed (libmicrohttpd stopped) first. NULL is a no-op. */
void hs_conn_guard_free(hs_conn_guard *g);

/* The accept policy (MHD_AcceptPolicyCallback's body): 1 when a client at
 * `sa` may open one more connection, 0 when its key has its limit. */
int hs_conn_guard_admit(hs_conn_guard *g, const struct sockaddr *sa);

/* A connection started (MHD_CONNECTION_NOTIFY_STARTED) on socket fd from
 * a client at sa: counts it and starts its head clock. Returns its entry,
 * or NULL when out of memory (the socket is then shut down). A connection
 * over its address's limit is counted and shut down at once. */
hs_conn_entry *hs_conn_guard_opened(hs_conn_guard *g, const struct sockaddr *sa,
                                    int fd);

/* A connection closed (MHD_CONNECTION_NOTIFY_CLOSED): uncounts it and
 * frees the entry. NULL is a no-op. */
void hs_conn_guard_closed(hs_conn_guard *g, hs_conn_entry *e);

/* A request's head is complete: its clock stops. */
void hs_conn_guard_head_done(hs_conn_guard *g, hs_conn_entry *e);

/* A response was sent: the connection waits for its next request, the
 * idle limit plus the head deadline at most until its request line. */
void hs_conn_guard_await_head(hs_conn_guard *g, hs_conn_entry *e);

/* A request line came in (MHD_OPTION_URI_LOG_CALLBACK): on a kept-alive
 * connection the head deadline starts now; on a new one it runs from the
 * accept already. */
void hs_conn_guard_request_line(hs_conn_guard *g, hs_conn_entry *e);

/* The length of the raw request target (path and query, as sent) of the
 * request being read, kept for the head checks; 0 when unknown. */
void hs_conn_entry_set_target_len(hs_conn_entry *e, size_t len);
size_t hs_conn_entry_target_len(const hs_conn_entry *e);

/* The counters, for /metrics. */
void hs_conn_guard_stats_get(hs_conn_guard *g, hs_conn_guard_stats *out);

#endif
