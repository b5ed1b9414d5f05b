/* base/workpool.h - a bounded pool of threads for work that blocks.
 *
 * Why: some work waits as long as the disk takes (a blob's fsync, a store
 * commit), and the threads that must not wait for it - the HTTP layer's
 * connection threads, each serving many connections - hand it to this pool
 * instead (http.c: the requests that write). The pool has a fixed number
 * of threads and a bound on the items it holds, running or waiting, so
 * neither threads nor memory grow with the load: past the bound a place is
 * refused (the caller answers "busy") instead of queued without limit.
 * Waiting items run in the order they came (FIFO).
 *
 * Items are intrusive - an hs_work inside the caller's own struct - so
 * queuing allocates nothing, and a submission has two steps: reserve a
 * place (which may be refused), then submit (which cannot fail). A caller
 * that must get ready before the work may start (http.c suspends the
 * connection that the work resumes when done) reserves, gets ready, then
 * submits, and there is no moment when the work could run too early nor a
 * refusal to undo.
 *
 * At shutdown, hs_workpool_drain refuses new places (HS_ERR_UNAVAILABLE:
 * the caller does the work itself) and waits for every item already
 * reserved to have run: nothing accepted is dropped.
 *
 * Thread-safety: every function may be called from any thread, except
 * hs_workpool_free (once, when nobody reserves any more) and calls from
 * within an item's run on its own pool (drain from an item would wait for
 * itself).
 */
#ifndef HEALER_HS_WORKPOOL_H
#define HEALER_HS_WORKPOOL_H

#include <stdint.h>

#include "base/error.h"

typedef struct hs_work hs_work;

/* One item, embedded in the caller's struct (which it finds back with
 * offsetof). `run` is called once, on a pool thread; the pool does not
 * touch the item after run returns, so run may end the item's life. */
struct hs_work {
    void (*run)(hs_work *w);
    hs_work *next; /* the pool's, while the item waits */
};

typedef struct hs_workpool hs_workpool;

typedef struct hs_workpool_stats {
    uint64_t running; /* items running now */
    uint64_t waiting; /* items reserved or queued, not running yet */
    uint64_t done;    /* items that have run, in all */
    uint64_t refused; /* places refused because the pool was full */
} hs_workpool_stats;

/* Longest thread name (pthread_setname_np's limit, less its NUL). */
#define HS_WORKPOOL_NAME_MAX 15

/* A pool of `threads` (1 or more) threads that holds at most threads +
 * queue_max items at once: as many running as there are threads, and
 * queue_max more waiting. `name` (may be NULL) names the threads, for
 * debuggers and `top -H`, cut to HS_WORKPOOL_NAME_MAX. Errors:
 * HS_ERR_INVALID (no threads), HS_ERR_NOMEM, HS_ERR_INTERNAL (a thread
 * could not be started; none is left running). */
hs_status hs_workpool_new(unsigned threads, unsigned queue_max,
                          const char *name, hs_workpool **out, hs_error *err);

/* Takes a place for one item, to be used by exactly one hs_workpool_submit
 * (a place never submitted would hold up hs_workpool_drain for good).
 * HS_OK; HS_ERR_BUSY when threads + queue_max items are held already;
 * HS_ERR_UNAVAILABLE once the pool drains (the caller does the work
 * itself). */
hs_status hs_workpool_reserve(hs_workpool *p, hs_error *err);

/* Queues w (w->run set) on a place taken by hs_workpool_reserve; w must
 * stay valid until its run is called. Never fails. */
void hs_workpool_submit(hs_workpool *p, hs_work *w);

/* Refuses places from now on (hs_workpool_reserve: HS_ERR_UNAVAILABLE)
 * and returns once every item reserved before has run. Idempotent; NULL
 * is a no-op. */
void hs_workpool_drain(hs_workpool *p);

/* The counters, for /metrics. */
void hs_workpool_stats_get(hs_workpool *p, hs_workpool_stats *out);

/* Drains, stops and joins the threads, frees the pool. NULL is a no-op. */
void hs_workpool_free(hs_workpool *p);

#endif
