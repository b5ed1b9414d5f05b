/* test_workpool.c - the bounded pool of threads for blocking work
 * (base/workpool.h), without a server.
 *
 * What the HTTP layer relies on: every item submitted runs exactly once,
 * waiting items in the order they came; as many run at once as there are
 * threads; the pool holds threads + queue_max items and refuses one more
 * (HS_ERR_BUSY) instead of growing; a drain returns only once every item
 * reserved before it has run, and refuses places afterwards
 * (HS_ERR_UNAVAILABLE); an item may free itself in its run (the sanitizer
 * build catches a pool that touches it after). Items block on a gate the
 * test opens, so what "running" and "waiting" mean is certain, not timed.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "testutil.h"

#include "base/timed_wait.h"
#include "base/workpool.h"

/* A gate items wait at until the test opens it; counts who came. */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int open;
    int arrived; /* items that reached the gate */
    int most_inside; /* the most items at the gate at once */
    int inside;
} gate;

static void gate_init(gate *g)
{
    memset(g, 0, sizeof *g);
    pthread_mutex_init(&g->lock, NULL);
    hs_cond_init_monotonic(&g->changed);
}

static void gate_destroy(gate *g)
{
    pthread_cond_destroy(&g->changed);
    pthread_mutex_destroy(&g->lock);
}

/* Waits at the gate until it opens (10 s at most: a failure, not a hang). */
static void gate_pass(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->arrived++;
    if (++g->inside > g->most_inside)
        g->most_inside = g->inside;
    pthread_cond_broadcast(&g->changed);
    while (!g->open &&
           hs_cond_wait_for(&g->changed, &g->lock, 10.0) != ETIMEDOUT)
        ;
    g->inside--;
    pthread_mutex_unlock(&g->lock);
}

/* Waits until n items have reached the gate; 0 when they did. */
static int gate_await(gate *g, int n)
{
    int rc = 0;
    pthread_mutex_lock(&g->lock);
    while (g->arrived < n && rc != ETIMEDOUT)
        rc = hs_cond_wait_for(&g->changed, &g->lock, 10.0);
    int ok = g->arrived >= n;
    pthread_mutex_unlock(&g->lock);
    return ok ? 0 : -1;
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = 1;
    pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
}

/* Items of one test: each records its turn in `order` when it runs; the
 * gated ones wait at `g` first. */
#define BATCH_MAX 11

typedef struct batch batch;

typedef struct item {
    hs_work work;
    int id;
    gate *at; /* NULL = none */
    batch *of;
} item;

struct batch {
    gate g;
    pthread_mutex_t lock; /* guards order and n_done */
    int order[BATCH_MAX];
    int n_done;
    item items[BATCH_MAX];
};

static void batch_init(batch *b)
{
    memset(b, 0, sizeof *b);
    gate_init(&b->g);
    pthread_mutex_init(&b->lock, NULL);
}

static void batch_destroy(batch *b)
{
    gate_destroy(&b->g);
    pthread_mutex_destroy(&b->lock);
}

static void item_run(hs_work *w)
{
    item *it = (item *)(void *)((char *)w - offsetof(item, work));
    batch *b = it->of;
    if (it->at)
        gate_pass(it->at);
    pthread_mutex_lock(&b->lock);
    b->order[b->n_done++] = it->id;
    pthread_mutex_unlock(&b->lock);
}

/* Item i of b, waiting at b's gate when `gated`, ready to submit. */
static item *batch_item(batch *b, int i, int gated)
{
    item *it = &b->items[i];
    *it = (item){.id = i, .at = gated ? &b->g : NULL, .of = b};
    it->work.run = item_run;
    return it;
}

static void submit(hs_workpool *p, item *it)
{
    hs_error err = {0};
    assert_int_equal(hs_workpool_reserve(p, &err), HS_OK);
    hs_workpool_submit(p, &it->work);
}

/* Submits items 0..n-1 of b, each stopping at b's gate. */
static void submit_gated(hs_workpool *p, batch *b, int n)
{
    for (int i = 0; i < n; i++)
        submit(p, batch_item(b, i, 1));
}

static void test_items_run_once_in_order(void **state)
{
    (void)state;
    hs_workpool *p = NULL;
    hs_error err = {0};
    batch b;
    batch_init(&b);
    assert_int_equal(hs_workpool_new(1, 100, "test", &p, &err), HS_OK);
    /* Item 0 holds the one thread; 1..10 queue up behind it. */
    submit(p, batch_item(&b, 0, 1));
    assert_int_equal(gate_await(&b.g, 1), 0);
    for (int i = 1; i < 11; i++)
        submit(p, batch_item(&b, i, 0));
    hs_workpool_stats st;
    hs_workpool_stats_get(p, &st);
    assert_int_equal(st.running, 1);
    assert_int_equal(st.waiting, 10);
    gate_open(&b.g);
    hs_workpool_drain(p);
    assert_int_equal(b.n_done, 11);
    for (int i = 0; i < 11; i++)
        assert_int_equal(b.order[i], i);
    hs_workpool_stats_get(p, &st);
    assert_int_equal(st.running + st.waiting, 0);
    assert_int_equal(st.done, 11);
    hs_workpool_free(p);
    batch_destroy(&b);
}

static void test_threads_run_at_once(void **state)
{
    (void)state;
    hs_workpool *p = NULL;
    hs_error err = {0};
    batch b;
    batch_init(&b);
    assert_int_equal(hs_workpool_new(4, 0, NULL, &p, &err), HS_OK);
    submit_gated(p, &b, 4);
    /* All four reach the gate together: one thread each. */
    assert_int_equal(gate_await(&b.g, 4), 0);
    assert_int_equal(b.g.most_inside, 4);
    gate_open(&b.g);
    hs_workpool_free(p); /* drains first */
    assert_int_equal(b.n_done, 4);
    batch_destroy(&b);
}

static void test_full_pool_refuses(void **state)
{
    (void)state;
    hs_workpool *p = NULL;
    hs_error err = {0};
    batch b;
    batch_init(&b);
    /* 2 threads + 1 waiting: a fourth item is refused, not queued. */
    assert_int_equal(hs_workpool_new(2, 1, "test", &p, &err), HS_OK);
    submit_gated(p, &b, 3);
    assert_int_equal(gate_await(&b.g, 2), 0);
    assert_int_equal(hs_workpool_reserve(p, &err), HS_ERR_BUSY);
    assert_true(strstr(err.message, "3 items") != NULL);
    hs_workpool_stats st;
    hs_workpool_stats_get(p, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.running, 2);
    assert_int_equal(st.waiting, 1);
    gate_open(&b.g);
    hs_workpool_drain(p);
    assert_int_equal(b.n_done, 3);
    hs_workpool_free(p);

    /* No waiting room at all: as many as threads, then busy. */
    assert_int_equal(hs_workpool_new(1, 0, "test", &p, &err), HS_OK);
    assert_int_equal(hs_workpool_reserve(p, &err), HS_OK);
    assert_int_equal(hs_workpool_reserve(p, &err), HS_ERR_BUSY);
    hs_workpool_submit(p, &batch_item(&b, 3, 0)->work);
    hs_workpool_free(p);
    assert_int_equal(b.n_done, 4);
    batch_destroy(&b);
}

/* A thread that opens the gate after 50 ms. */
static void *open_later(void *arg)
{
    struct timespec wait = {0, 50 * 1000 * 1000};
    nanosleep(&wait, NULL);
    gate_open(arg);
    return NULL;
}

static void test_drain_finishes_then_refuses(void **state)
{
    (void)state;
    hs_workpool *p = NULL;
    hs_error err = {0};
    batch b;
    batch_init(&b);
    assert_int_equal(hs_workpool_new(2, 10, "test", &p, &err), HS_OK);
    submit_gated(p, &b, 6);
    assert_int_equal(gate_await(&b.g, 2), 0);
    /* The gate opens a little later, from another thread: the drain must
     * wait for it and for the four still queued. */
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_later, &b.g), 0);
    hs_workpool_drain(p);
    assert_int_equal(b.n_done, 6);
    pthread_join(opener, NULL);
    assert_int_equal(hs_workpool_reserve(p, &err), HS_ERR_UNAVAILABLE);
    hs_workpool_drain(p); /* again: a no-op */
    hs_workpool_free(p);
    hs_workpool_drain(NULL);
    hs_workpool_free(NULL);
    batch_destroy(&b);
}

/* An item that frees itself when it runs, as http.c's requests may. */
typedef struct self_freeing {
    hs_work work;
    int *count;
    pthread_mutex_t *lock;
} self_freeing;

static void self_freeing_run(hs_work *w)
{
    self_freeing *it = (self_freeing *)(void *)w; /* work is first */
    pthread_mutex_lock(it->lock);
    (*it->count)++;
    pthread_mutex_unlock(it->lock);
    free(it);
}

static void test_item_may_free_itself(void **state)
{
    (void)state;
    hs_workpool *p = NULL;
    hs_error err = {0};
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    int count = 0;
    assert_int_equal(hs_workpool_new(3, 1000, "test", &p, &err), HS_OK);
    for (int i = 0; i < 500; i++) {
        self_freeing *it = calloc(1, sizeof *it);
        assert_non_null(it);
        it->work.run = self_freeing_run;
        it->count = &count;
        it->lock = &lock;
        assert_int_equal(hs_workpool_reserve(p, &err), HS_OK);
        hs_workpool_submit(p, &it->work);
    }
    hs_workpool_free(p);
    assert_int_equal(count, 500);
}

static void test_needs_a_thread(void **state)
{
    (void)state;
    hs_workpool *p = (hs_workpool *)&p;
    hs_error err = {0};
    assert_int_equal(hs_workpool_new(0, 10, "test", &p, &err), HS_ERR_INVALID);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_items_run_once_in_order),
        cmocka_unit_test(test_threads_run_at_once),
        cmocka_unit_test(test_full_pool_refuses),
        cmocka_unit_test(test_drain_finishes_then_refuses),
        cmocka_unit_test(test_item_may_free_itself),
        cmocka_unit_test(test_needs_a_thread),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
