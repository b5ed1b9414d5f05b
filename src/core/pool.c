/* pool.c - fork-join thread pool (see pool.h for why it exists).
 *
 * One generation counter wakes the workers for a section; an atomic task
 * counter distributes indices; the last worker to finish signals the caller.
 * The calling thread works too, so a pool of N uses N cores, not N + 1.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pool.h"

struct hl__pool {
    int size;                 /* workers including the caller */
    pthread_t *threads;       /* size - 1 background workers */
    pthread_mutex_t lock;
    pthread_cond_t wake;      /* signalled when a section starts or on shutdown */
    pthread_cond_t done;      /* signalled when the last worker leaves a section */
    unsigned long generation; /* protected by lock: bumps once per section */
    int active;               /* protected by lock: workers still in the section */
    int shutting_down;        /* protected by lock */
    /* The current section; written by the caller before the generation bump. */
    hl__task_fn fn;
    void *ctx;
    size_t n_tasks;
    atomic_size_t next_task;
};

typedef struct worker_arg {
    hl__pool *pool;
    int index;
} worker_arg;

static void drain_tasks(hl__pool *pool, int worker)
{
    for (;;) {
        size_t t = atomic_fetch_add(&pool->next_task, 1);
        if (t >= pool->n_tasks)
            return;
        pool->fn(pool->ctx, t, worker);
    }
}

static void *worker_main(void *p)
{
    worker_arg arg = *(worker_arg *)p;
    free(p);
    hl__pool *pool = arg.pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->generation == seen && !pool->shutting_down)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->shutting_down)
            break;
        seen = pool->generation;
        pthread_mutex_unlock(&pool->lock);
        drain_tasks(pool, arg.index);
        pthread_mutex_lock(&pool->lock);
        if (--pool->active == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

hl__pool *hl__pool_create(int threads)
{
    if (threads < 1)
        threads = 1;
    hl__pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->size = 1;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (threads == 1)
        return pool;
    pool->threads = calloc((size_t)threads - 1, sizeof *pool->threads);
    if (!pool->threads)
        goto fail;
    for (int i = 1; i < threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (!arg)
            goto fail;
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->threads[i - 1], NULL, worker_main, arg) != 0) {
            free(arg);
            goto fail;
        }
        pool->size++;
    }
    return pool;
fail:
    hl__pool_destroy(pool);
    return NULL;
}

void hl__pool_destroy(hl__pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->shutting_down = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->size - 1; i++)
        pthread_join(pool->threads[i], NULL);
    free(pool->threads);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    free(pool);
}

int hl__pool_size(const hl__pool *pool) { return pool ? pool->size : 1; }

void hl__pool_run(hl__pool *pool, size_t n_tasks, hl__task_fn fn, void *ctx)
{
    if (n_tasks == 0)
        return;
    if (!pool || pool->size == 1 || n_tasks == 1) {
        for (size_t t = 0; t < n_tasks; t++)
            fn(ctx, t, 0);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_tasks = n_tasks;
    atomic_store(&pool->next_task, 0);
    pool->active = pool->size - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    drain_tasks(pool, 0);

    pthread_mutex_lock(&pool->lock);
    while (pool->active > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}
