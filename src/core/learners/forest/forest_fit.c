/* forest_fit.c - fitting a forest: bins, trees in parallel, out-of-bag.
 *
 * The training rows are binned once (trees/binning.c) into a column-major
 * byte matrix that every tree reads. Trees are independent, so they are
 * the unit of parallelism: each worker has its own grower, and tree t
 * draws its bootstrap, its candidate KPIs and its cuts from one stream
 * seeded by (seed, t) alone - the model is the same whatever the thread
 * count, not only for a given one.
 *
 * All trees are one parallel section: a worker takes the next tree as
 * soon as it has finished one (batches with a barrier between them left a
 * core idle while the other finished its batch's last tree). The calling
 * thread is the pool's worker 0 and reports progress (iteration = trees
 * done) after each tree it grows, so the callback never runs on another
 * thread; a cancel, by the flag or the callback, stops every worker before
 * its next tree.
 *
 * With a bootstrap, each training row is scored by the trees that did not
 * draw it; their averaged probabilities give the out-of-bag macro-F1 and
 * accuracy kept in the model - a free, honest estimate (rows are exact
 * duplicates-collapsed by hl_train unless asked otherwise). Rows are
 * scored in parallel chunks, each row summing its trees in model order.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "forest.h"
#include "healer/metrics.h"
#include "healer/model.h"

#define HL__OOB_CHUNK 256

typedef struct fit_state {
    const hl__fit_job *job;
    const hl__forest_params *p;
    int random_cuts;
    hl__pool *pool;
    int workers;
    hl__bins bins;
    uint8_t *cols;     /* n_train * nf, column-major */
    uint8_t *rows_pad; /* n_train rows of HL__FOREST_STRIDE(nf), row-major */
    int32_t *y;        /* class per training row */
    hl__fgrower **growers;
    uint32_t **rows;   /* per worker: rows of the current tree */
    uint32_t **copies; /* per worker: bootstrap copies per training row */
    float **w;         /* per worker: weight per training row */
    uint64_t *in_bag;  /* n_trees bitmaps of n_train bits (bootstrap) */
    size_t bag_words;  /* uint64 per bitmap */
    hl__forest_model *m;
    atomic_int trees_done;  /* trees grown so far */
    int reported;           /* trees done at the last report (worker 0) */
    atomic_int tree_failed; /* set by any worker: a tree ran out of memory */
    atomic_int cancelled;   /* set by any worker that saw a cancel */
} fit_state;

size_t hl__forest_mtry(const hl__forest_params *p, size_t n_features)
{
    const double nf = (double)n_features;
    double want = nf; /* HL__MAXF_ALL */
    if (p->feature_fraction > 0.0)
        want = ceil(p->feature_fraction * nf);
    else if (p->max_features == HL__MAXF_SQRT)
        want = ceil(sqrt(nf));
    else if (p->max_features == HL__MAXF_LOG2)
        want = ceil(log2(nf));
    if (want < 1.0)
        want = 1.0;
    return want > nf ? n_features : (size_t)want;
}

/* ---- set-up ---- */

static hl_status bin_training_rows(fit_state *s, hl_error *err)
{
    const hl__fit_job *job = s->job;
    const size_t n = job->n_train, nf = job->n_features;
    hl_status rc =
        hl__bins_build(job->x, nf, job->train_rows, n, s->p->max_bins,
                       job->seed, s->pool, &s->bins, err);
    if (rc != HL_OK)
        return rc;
    const size_t stride = HL__FOREST_STRIDE(nf);
    uint8_t *by_row = malloc(n * nf + 1);
    s->cols = malloc(n * nf + 1);
    s->rows_pad = calloc(n * stride + 1, 1);
    if (!by_row || !s->cols || !s->rows_pad) {
        free(by_row);
        return hl__fail(err, HL_ERR_NOMEM,
                        "out of memory for %zu training rows", n);
    }
    hl__bins_apply(&s->bins, job->x, job->train_rows, n, s->pool, by_row);
    hl__binned_transpose(by_row, n, nf, s->cols);
    for (size_t i = 0; i < n; i++)
        memcpy(s->rows_pad + i * stride, by_row + i * nf, nf);
    free(by_row);
    return HL_OK;
}

static hl_status state_init(fit_state *s, const hl__fit_job *job,
                            int random_cuts, hl_error *err)
{
    const hl__forest_params *p = job->params;
    memset(s, 0, sizeof *s);
    s->job = job;
    s->p = p;
    s->random_cuts = random_cuts;
    if (job->n_classes > HL__MAX_CLASSES_FOREST || job->n_train == 0)
        return hl__fail(err, HL_ERR_INVALID, "forest: %zu classes, %zu rows",
                        job->n_classes, job->n_train);
    int threads = hl__resolve_threads(job->threads);
    if (!(s->pool = hl__pool_create(threads)))
        return hl__fail(err, HL_ERR_NOMEM, "cannot start %d threads", threads);
    s->workers = hl__pool_size(s->pool);
    hl_status rc = bin_training_rows(s, err);
    if (rc != HL_OK)
        return rc;
    const size_t n = job->n_train, W = (size_t)s->workers;
    s->y = malloc(n * sizeof *s->y);
    s->growers = calloc(W, sizeof *s->growers);
    s->rows = calloc(W, sizeof *s->rows);
    s->copies = calloc(W, sizeof *s->copies);
    s->w = calloc(W, sizeof *s->w);
    s->bag_words = (n + 63) / 64;
    if (p->bootstrap)
        s->in_bag = calloc((size_t)p->trees * s->bag_words, sizeof *s->in_bag);
    if (!s->y || !s->growers || !s->rows || !s->copies || !s->w ||
        (p->bootstrap && !s->in_bag))
        return hl__fail(err, HL_ERR_NOMEM, "out of memory for the forest");
    for (size_t i = 0; i < n; i++)
        s->y[i] = job->y[job->train_rows[i]];
    hl__fgrow_data d = {&s->bins, s->cols, s->rows_pad, n, s->y};
    hl__fgrow_params gp = {.n_classes = job->n_classes,
                           .mtry = hl__forest_mtry(p, job->n_features),
                           .max_depth = p->max_depth,
                           .min_samples_leaf = (uint32_t)p->min_samples_leaf,
                           .random_cuts = random_cuts};
    for (size_t k = 0; k < W; k++) {
        s->growers[k] = hl__fgrower_create(&d, &gp);
        s->rows[k] = malloc(n * sizeof **s->rows);
        s->copies[k] = malloc(n * sizeof **s->copies);
        s->w[k] = malloc(n * sizeof **s->w);
        if (!s->growers[k] || !s->rows[k] || !s->copies[k] || !s->w[k])
            return hl__fail(err, HL_ERR_NOMEM, "out of memory for the forest");
    }
    return HL_OK;
}

static void state_free(fit_state *s)
{
    for (int k = 0; k < s->workers; k++) {
        if (s->growers)
            hl__fgrower_free(s->growers[k]);
        if (s->rows)
            free(s->rows[k]);
        if (s->copies)
            free(s->copies[k]);
        if (s->w)
            free(s->w[k]);
    }
    free(s->growers);
    free(s->rows);
    free(s->copies);
    free(s->w);
    free(s->in_bag);
    free(s->y);
    free(s->cols);
    free(s->rows_pad);
    hl__bins_free(&s->bins);
    hl__pool_destroy(s->pool);
}

/* ---- one tree ---- */

/* The rows tree t learns from, in ascending order, with their copies and
 * weights; marks them in the tree's bag. */
static size_t draw_rows(fit_state *s, size_t t, hl__rng *rng, int worker)
{
    const size_t n = s->job->n_train;
    uint32_t *copies = s->copies[worker], *rows = s->rows[worker];
    float *w = s->w[worker];
    if (s->p->bootstrap) {
        memset(copies, 0, n * sizeof *copies);
        for (size_t i = 0; i < n; i++)
            copies[hl__rng_below(rng, n)]++;
    } else {
        for (size_t i = 0; i < n; i++)
            copies[i] = 1;
    }
    uint64_t *bag = s->in_bag ? s->in_bag + t * s->bag_words : NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!copies[i])
            continue;
        rows[m++] = (uint32_t)i;
        w[i] = (float)((double)copies[i] *
                       hl__row_weight(s->job, s->job->train_rows[i]));
        if (bag)
            bag[i / 64] |= (uint64_t)1 << (i % 64);
    }
    return m;
}

static void tree_task(void *ctx, size_t t, int worker)
{
    fit_state *s = ctx;
    if (atomic_load(&s->cancelled) || atomic_load(&s->tree_failed))
        return;
    if (hl__progress_cancelled(&s->job->progress)) {
        atomic_store(&s->cancelled, 1);
        return;
    }
    hl__rng rng;
    hl__rng_seed(&rng, hl__seed_mix(s->job->seed, 0xF0E57000u + t));
    size_t m = draw_rows(s, t, &rng, worker);
    hl_status rc =
        hl__fgrow_tree(s->growers[worker], s->rows[worker], m, s->w[worker],
                       s->copies[worker], &rng, &s->m->trees[t]);
    if (rc != HL_OK) {
        atomic_store(&s->tree_failed, 1);
        return;
    }
    const int done = atomic_fetch_add(&s->trees_done, 1) + 1;
    if (worker == 0) { /* the calling thread (pool.h) */
        s->reported = done;
        if (hl__progress_report(&s->job->progress, done, s->p->trees, NAN, NAN))
            atomic_store(&s->cancelled, 1);
    }
}

/* Grows every tree (see the top of the file); the last progress report
 * says all of them. */
static hl_status grow_trees(fit_state *s, hl_error *err)
{
    const size_t n_trees = (size_t)s->p->trees;
    if (hl__progress_cancelled(&s->job->progress))
        return hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
    s->m->n_trees = n_trees; /* grown trees are freed with the model; the
                                others are still empty */
    hl__pool_run(s->pool, n_trees, tree_task, s);
    if (atomic_load(&s->cancelled))
        return hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
    if (atomic_load(&s->tree_failed))
        return hl__fail(err, HL_ERR_NOMEM, "out of memory while growing trees");
    if (s->reported < (int)n_trees &&
        hl__progress_report(&s->job->progress, (int)n_trees, (int)n_trees, NAN,
                            NAN))
        return hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
    return HL_OK;
}

/* ---- out of bag ---- */

typedef struct oob_ctx {
    const fit_state *s;
    int32_t *y_true; /* -1 for a row every tree drew */
    int32_t *y_pred;
} oob_ctx;

static void oob_chunk(void *p, size_t task, int worker)
{
    (void)worker;
    const oob_ctx *c = p;
    const fit_state *s = c->s;
    const hl__fit_job *job = s->job;
    const hl__forest_model *m = s->m;
    const size_t n = job->n_train, K = job->n_classes, nf = job->n_features;
    const size_t begin = task * HL__OOB_CHUNK;
    const size_t end = begin + HL__OOB_CHUNK < n ? begin + HL__OOB_CHUNK : n;
    double sum[HL__MAX_CLASSES_FOREST];
    for (size_t i = begin; i < end; i++) {
        const float *row = job->x + job->train_rows[i] * nf;
        const uint64_t bit = (uint64_t)1 << (i % 64);
        size_t voters = 0;
        memset(sum, 0, K * sizeof *sum);
        for (size_t t = 0; t < m->n_trees; t++) {
            if (s->in_bag[t * s->bag_words + i / 64] & bit)
                continue;
            const hl__ftree *tr = &m->trees[t];
            const uint32_t leaf =
                tr->nodes[hl__nodes_leaf_raw(tr->nodes, row)].left;
            const float *pr = tr->proba + (size_t)leaf * K;
            for (size_t k = 0; k < K; k++)
                sum[k] += pr[k];
            voters++;
        }
        c->y_true[i] = voters ? s->y[i] : -1;
        c->y_pred[i] = voters ? hl_predict_argmax(sum, K) : 0;
    }
}

static hl_status estimate_oob(fit_state *s, hl_error *err)
{
    const size_t n = s->job->n_train;
    int32_t *y_true = malloc(n * sizeof *y_true);
    int32_t *y_pred = malloc(n * sizeof *y_pred);
    hl_metrics met = {0};
    if (!y_true || !y_pred) {
        free(y_true);
        free(y_pred);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    oob_ctx c = {s, y_true, y_pred};
    hl__pool_run(s->pool, (n + HL__OOB_CHUNK - 1) / HL__OOB_CHUNK, oob_chunk,
                 &c);
    hl_status rc = hl_metrics_compute(y_true, y_pred, NULL, n,
                                      s->job->n_classes, &met, err);
    if (rc == HL_OK && met.n_samples > 0)
        s->m->oob = (hl__oob){1, met.n_samples, met.macro_f1, met.accuracy};
    hl_metrics_free(&met);
    free(y_true);
    free(y_pred);
    return rc;
}

/* ---- the fit op ---- */

hl_status hl__forest_fit(const hl__fit_job *job, int random_cuts,
                         hl__fit_result *res, hl_error *err)
{
    memset(res, 0, sizeof *res);
    hl__forest_model *m = calloc(1, sizeof *m);
    if (!m)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    const hl__forest_params *p = job->params;
    m->n_features = job->n_features;
    m->n_classes = job->n_classes;
    m->trees = calloc((size_t)p->trees, sizeof *m->trees);
    fit_state s;
    hl_status rc = m->trees ? state_init(&s, job, random_cuts, err)
                            : hl__fail(err, HL_ERR_NOMEM, "out of memory");
    s.m = m;
    if (rc == HL_OK)
        rc = grow_trees(&s, err);
    if (rc == HL_OK && p->bootstrap)
        rc = estimate_oob(&s, err);
    if (rc == HL_OK && hl__forest_prepare(m) != HL_OK)
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
    if (m->trees)
        state_free(&s);
    if (rc != HL_OK) {
        hl__forest_model_free(m);
        return rc;
    }
    /* Not trained in rounds: one iteration, no curve, no best round. */
    res->iterations_done = 1;
    hl__forest_fitted(m, &res->fitted);
    return HL_OK;
}
