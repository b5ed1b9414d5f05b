/* base/workpool.c - a bounded pool of threads for work that blocks (see
 * workpool.h).
 *
 * One mutex guards everything; an item's life in the pool is a count
 * (held: reserved, queued or running) and a FIFO of submitted items.
 * Holding the lock only to count and to link is enough: the work itself
 * runs unlocked, and the pool never touches an item after its run
 * returns, so run may free it (http.c's requests do).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/workpool.h"

struct hs_workpool {
    pthread_mutex_t lock;
    pthread_cond_t work_ready; /* an item was queued, or stopping */
    pthread_cond_t idle;       /* held fell to 0 */
    unsigned capacity;         /* threads + queue_max; immutable */
    unsigned held;             /* guarded by lock: reserved + queued + running */
    unsigned running;          /* guarded by lock */
    hs_work *head, *tail;      /* guarded by lock: submitted, not started */
    int draining;              /* guarded by lock: no new places */
    int stopping;              /* guarded by lock: threads leave when idle */
    uint64_t done, refused;    /* guarded by lock */
    size_t n_threads;          /* threads started; immutable after new */
    pthread_t *threads;
};

static void *pool_thread(void *arg)
{
    hs_workpool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work_ready, &p->lock);
        if (!p->head) /* stopping, and nothing left to run */
            break;
        hs_work *w = p->head;
        p->head = w->next;
        if (!p->head)
            p->tail = NULL;
        p->running++;
        pthread_mutex_unlock(&p->lock);
        w->run(w); /* w may be gone once it returns */
        pthread_mutex_lock(&p->lock);
        p->running--;
        p->done++;
        if (--p->held == 0)
            pthread_cond_broadcast(&p->idle);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Stops the threads started so far (none may be running an item). */
static void stop_threads(hs_workpool *p)
{
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work_ready);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->n_threads; i++)
        pthread_join(p->threads[i], NULL);
    p->n_threads = 0;
}

static void destroy(hs_workpool *p)
{
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->work_ready);
    pthread_mutex_destroy(&p->lock);
    free(p->threads);
    free(p);
}

hs_status hs_workpool_new(unsigned threads, unsigned queue_max,
                          const char *name, hs_workpool **out, hs_error *err)
{
    *out = NULL;
    if (threads == 0)
        return hs_fail(err, HS_ERR_INVALID, "a work pool needs a thread");
    if (queue_max > ~0u - threads)
        queue_max = ~0u - threads;
    hs_workpool *p = calloc(1, sizeof *p);
    if (!p || !(p->threads = calloc(threads, sizeof *p->threads))) {
        free(p);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work_ready, NULL);
    pthread_cond_init(&p->idle, NULL);
    p->capacity = threads + queue_max;
    char thread_name[HS_WORKPOOL_NAME_MAX + 1];
    snprintf(thread_name, sizeof thread_name, "%s", name ? name : "");
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_thread, p) != 0) {
            stop_threads(p);
            destroy(p);
            return hs_fail(err, HS_ERR_INTERNAL,
                           "cannot start the threads of a work pool (%u of "
                           "%u started)",
                           i, threads);
        }
        p->n_threads++;
        if (thread_name[0])
            pthread_setname_np(p->threads[i], thread_name);
    }
    *out = p;
    return HS_OK;
}

hs_status hs_workpool_reserve(hs_workpool *p, hs_error *err)
{
    hs_status st = HS_OK;
    pthread_mutex_lock(&p->lock);
    if (p->draining)
        st = hs_fail(err, HS_ERR_UNAVAILABLE, "the work pool is stopping");
    else if (p->held >= p->capacity) {
        p->refused++;
        st = hs_fail(err, HS_ERR_BUSY,
                     "%u items are running or waiting already", p->held);
    } else
        p->held++;
    pthread_mutex_unlock(&p->lock);
    return st;
}

void hs_workpool_submit(hs_workpool *p, hs_work *w)
{
    w->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    pthread_cond_signal(&p->work_ready);
    pthread_mutex_unlock(&p->lock);
}

void hs_workpool_drain(hs_workpool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->draining = 1;
    while (p->held > 0)
        pthread_cond_wait(&p->idle, &p->lock);
    pthread_mutex_unlock(&p->lock);
}

void hs_workpool_stats_get(hs_workpool *p, hs_workpool_stats *out)
{
    pthread_mutex_lock(&p->lock);
    out->running = p->running;
    out->waiting = p->held - p->running;
    out->done = p->done;
    out->refused = p->refused;
    pthread_mutex_unlock(&p->lock);
}

void hs_workpool_free(hs_workpool *p)
{
    if (!p)
        return;
    hs_workpool_drain(p);
    stop_threads(p);
    destroy(p);
}
