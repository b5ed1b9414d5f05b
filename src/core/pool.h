/* pool.h - a tiny fork-join thread pool for data-parallel loops.
 *
 * The learner runs many short parallel sections per boosting round
 * (gradients, one tree per class, predictions); starting threads for each
 * would cost more than the work, so workers live for one hl_train() or
 * prediction call and wait on a condition variable between sections.
 *
 * Determinism: hl__pool_run() only hands out task indices; callers make
 * every task write its own output slot, so results never depend on which
 * thread ran which task or in what order.
 */
#ifndef HEALER_POOL_H
#define HEALER_POOL_H

#include <stddef.h>

typedef struct hl__pool hl__pool;

/* Runs fn(ctx, task, worker) for task in [0, n_tasks); worker is in
 * [0, hl__pool_size()), and worker 0 is the calling thread (a task may
 * call back into the caller's code there, e.g. to report progress).
 * Returns when every task has finished. */
typedef void (*hl__task_fn)(void *ctx, size_t task, int worker);

/* Creates a pool of `threads` workers in total (the calling thread counts
 * as one, so threads == 1 starts no thread). Returns NULL on failure. */
hl__pool *hl__pool_create(int threads);
void hl__pool_destroy(hl__pool *pool);
int hl__pool_size(const hl__pool *pool);

/* pool may be NULL: tasks then run serially on the calling thread. Not
 * reentrant: a task must not call hl__pool_run on the same pool. */
void hl__pool_run(hl__pool *pool, size_t n_tasks, hl__task_fn fn, void *ctx);

#endif
