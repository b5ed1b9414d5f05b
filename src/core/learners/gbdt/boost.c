/* boost.c - the boosting loop: gradients, one tree per class, early stop.
 *
 * Multi-class softmax (one tree per class per round) or, for two classes,
 * a single logistic output. Each round: grow the trees from the current
 * gradients, add their leaf values to the training scores (rows are already
 * grouped by leaf, so no traversal), update the hold-out scores, then
 * recompute probabilities, the loss and the next gradients in one pass.
 *
 * Parallelism is chosen per round shape: with at least as many classes as
 * threads, whole trees are grown in parallel (one class per task, no
 * synchronisation inside a tree); otherwise one tree at a time with
 * feature-parallel histograms. Every task writes only its own outputs and
 * sums run in a fixed order, so a seed and a thread count give one result.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbdt.h"
#include "internal.h"

#define HL__ROW_CHUNK 2048

typedef struct boost_state {
    const hl__fit_job *job;
    const hl__gbdt_params *p;
    hl__link link;           /* logistic for one output, else softmax */
    hl__pool *pool;
    size_t n_out;            /* outputs: 1 (binary) or n_classes */
    size_t nf;
    uint8_t *bin_train;      /* n_train * nf */
    uint8_t *bin_train_cols; /* the same, column-major */
    hl__binned binned;       /* views of both */
    uint8_t *bin_valid;      /* n_valid * nf */
    int32_t *y_train, *y_valid;
    float *w_train, *w_valid;
    double *score_train;     /* n_train * n_out */
    double *score_valid;     /* n_valid * n_out */
    hl__gh *gh;             /* n_out * n_train */
    uint32_t *sample;        /* rows of this round */
    size_t n_sample;
    uint32_t *unsampled;     /* the other training rows */
    size_t n_unsampled;
    uint8_t *masks;          /* n_out * nf column-sample masks */
    hl__grower **growers;    /* one per worker */
    hl__tree *round_trees;   /* n_out trees of the current round */
    hl_status round_status;  /* first failure inside a parallel section */
    double *chunk_loss;      /* per row chunk: weighted loss sum */
    double *chunk_weight;
} boost_state;

/* ---- probabilities, loss, gradients ---- */

static double row_loss(const double *proba, int32_t y)
{
    double p = proba[y];
    return -log(p < 1e-15 ? 1e-15 : p);
}

typedef struct grad_ctx {
    boost_state *s;
    size_t n;
    const double *scores;
    const int32_t *y;
    const float *w;
    hl__gh *gh; /* NULL: loss only (hold-out) */
} grad_ctx;

static void grad_chunk(void *p, size_t task, int worker)
{
    (void)worker;
    const grad_ctx *c = p;
    const boost_state *s = c->s;
    const size_t K = s->job->n_classes, n_out = s->n_out;
    size_t begin = task * HL__ROW_CHUNK;
    size_t end = begin + HL__ROW_CHUNK < c->n ? begin + HL__ROW_CHUNK : c->n;
    double proba[64];
    double loss = 0.0, wsum = 0.0;
    for (size_t i = begin; i < end; i++) {
        hl__link_apply(s->link, c->scores + i * n_out, K, proba);
        const double w = c->w[i];
        const int32_t y = c->y[i];
        loss += w * row_loss(proba, y);
        wsum += w;
        if (!c->gh)
            continue;
        if (n_out == 1) {
            double p1 = proba[1];
            double h = p1 * (1.0 - p1);
            c->gh[i].g = (float)((p1 - (y == 1)) * w);
            c->gh[i].h = (float)((h < 1e-16 ? 1e-16 : h) * w);
            continue;
        }
        for (size_t k = 0; k < K; k++) {
            double pk = proba[k];
            double h = pk * (1.0 - pk);
            hl__gh *e = &c->gh[k * c->n + i];
            e->g = (float)((pk - (y == (int32_t)k)) * w);
            e->h = (float)((h < 1e-16 ? 1e-16 : h) * w);
        }
    }
    s->chunk_loss[task] = loss;
    s->chunk_weight[task] = wsum;
}

/* Weighted mean log loss over n rows; also writes gradients when gh. */
static double loss_and_gradients(boost_state *s, size_t n, const double *scores,
                                 const int32_t *y, const float *w, hl__gh *gh)
{
    if (n == 0)
        return NAN;
    grad_ctx c = {s, n, scores, y, w, gh};
    size_t chunks = (n + HL__ROW_CHUNK - 1) / HL__ROW_CHUNK;
    hl__pool_run(s->pool, chunks, grad_chunk, &c);
    double loss = 0.0, wsum = 0.0;
    for (size_t t = 0; t < chunks; t++) {
        loss += s->chunk_loss[t];
        wsum += s->chunk_weight[t];
    }
    return wsum > 0.0 ? loss / wsum : NAN;
}

/* ---- set-up ---- */

static hl_status init_base_scores(boost_state *s, hl__gbdt_model *m)
{
    const hl__fit_job *job = s->job;
    const size_t K = job->n_classes;
    double wk[64] = {0}, total = 0.0;
    for (size_t i = 0; i < job->n_train; i++) {
        wk[s->y_train[i]] += s->w_train[i];
        total += s->w_train[i];
    }
    m->base_score = calloc(s->n_out, sizeof *m->base_score);
    if (!m->base_score)
        return HL_ERR_NOMEM;
    /* Start from the (weighted) class prior so that the first trees model
     * what the prior does not already explain. Clamped for empty classes. */
    for (size_t k = 0; k < K; k++)
        wk[k] = (wk[k] > 0.0 ? wk[k] : 1e-6 * total) / total;
    if (s->n_out == 1)
        m->base_score[0] = log(wk[1] / wk[0]);
    else
        for (size_t k = 0; k < K; k++)
            m->base_score[k] = log(wk[k]);
    for (size_t i = 0; i < job->n_train; i++)
        memcpy(s->score_train + i * s->n_out, m->base_score,
               s->n_out * sizeof(double));
    for (size_t i = 0; i < job->n_valid; i++)
        memcpy(s->score_valid + i * s->n_out, m->base_score,
               s->n_out * sizeof(double));
    return HL_OK;
}

static void gather_labels(const hl__fit_job *job, const size_t *rows, size_t n,
                          int32_t *y, float *w)
{
    for (size_t i = 0; i < n; i++) {
        y[i] = job->y[rows[i]];
        w[i] = (float)hl__row_weight(job, rows[i]);
    }
}

static hl_status state_init(boost_state *s, const hl__fit_job *job,
                            const hl__gbdt_params *p, hl__gbdt_model *m,
                            hl_error *err)
{
    memset(s, 0, sizeof *s);
    s->job = job;
    s->p = p;
    s->nf = job->n_features;
    s->n_out = job->n_classes == 2 ? 1 : job->n_classes;
    s->link = hl__gbdt_link(s->n_out);
    m->n_features = job->n_features;
    int threads = hl__resolve_threads(job->threads);
    s->pool = hl__pool_create(threads);
    if (!s->pool)
        return hl__fail(err, HL_ERR_NOMEM, "cannot start %d threads", threads);
    hl_status rc = hl__bins_build(job->x, s->nf, job->train_rows, job->n_train,
                                  p->max_bins, job->seed, s->pool, &m->bins,
                                  err);
    if (rc != HL_OK)
        return rc;
    const size_t nt = job->n_train, nv = job->n_valid, n_out = s->n_out;
    size_t chunks = (nt > nv ? nt : nv) / HL__ROW_CHUNK + 1;
    int workers = hl__pool_size(s->pool);
    s->bin_train = malloc(nt * s->nf + 1);
    s->bin_train_cols = malloc(nt * s->nf + 1);
    s->bin_valid = malloc(nv * s->nf + 1);
    s->y_train = malloc((nt + 1) * sizeof *s->y_train);
    s->w_train = malloc((nt + 1) * sizeof *s->w_train);
    s->y_valid = malloc((nv + 1) * sizeof *s->y_valid);
    s->w_valid = malloc((nv + 1) * sizeof *s->w_valid);
    s->score_train = malloc((nt * n_out + 1) * sizeof *s->score_train);
    s->score_valid = malloc((nv * n_out + 1) * sizeof *s->score_valid);
    s->gh = malloc((nt * n_out + 1) * sizeof *s->gh);
    s->sample = malloc((nt + 1) * sizeof *s->sample);
    s->unsampled = malloc((nt + 1) * sizeof *s->unsampled);
    s->masks = malloc(n_out * s->nf + 1);
    s->growers = calloc((size_t)workers, sizeof *s->growers);
    s->round_trees = calloc(n_out, sizeof *s->round_trees);
    s->chunk_loss = malloc(chunks * sizeof *s->chunk_loss);
    s->chunk_weight = malloc(chunks * sizeof *s->chunk_weight);
    if (!s->bin_train || !s->bin_train_cols || !s->bin_valid || !s->y_train || !s->w_train ||
        !s->y_valid || !s->w_valid || !s->score_train || !s->score_valid ||
        !s->gh || !s->sample || !s->unsampled || !s->masks || !s->growers || !s->round_trees ||
        !s->chunk_loss || !s->chunk_weight)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory for %zu training rows",
                        nt);
    hl__grow_params gp = {p->max_depth,        p->max_leaves,
                          p->min_child_weight, p->lambda_l2,
                          p->min_split_gain,   p->learning_rate};
    for (int w = 0; w < workers; w++)
        if (!(s->growers[w] = hl__grower_create(&m->bins, nt, &gp)))
            return hl__fail(err, HL_ERR_NOMEM, "out of memory for tree growth");
    hl__bins_apply(&m->bins, job->x, job->train_rows, nt, s->pool, s->bin_train);
    hl__binned_transpose(s->bin_train, nt, s->nf, s->bin_train_cols);
    s->binned = (hl__binned){s->bin_train, s->bin_train_cols, nt};
    hl__bins_apply(&m->bins, job->x, job->valid_rows, nv, s->pool, s->bin_valid);
    gather_labels(job, job->train_rows, nt, s->y_train, s->w_train);
    gather_labels(job, job->valid_rows, nv, s->y_valid, s->w_valid);
    m->n_outputs = n_out;
    if (init_base_scores(s, m) != HL_OK)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    return HL_OK;
}

static void state_free(boost_state *s)
{
    if (s->growers)
        for (int w = 0; w < hl__pool_size(s->pool); w++)
            hl__grower_free(s->growers[w]);
    if (s->round_trees)
        for (size_t k = 0; k < s->n_out; k++)
            hl__tree_free(&s->round_trees[k]);
    free(s->growers);
    free(s->round_trees);
    hl__pool_destroy(s->pool);
    free(s->bin_train);
    free(s->bin_train_cols);
    free(s->bin_valid);
    free(s->y_train);
    free(s->w_train);
    free(s->y_valid);
    free(s->w_valid);
    free(s->score_train);
    free(s->score_valid);
    free(s->gh);
    free(s->sample);
    free(s->unsampled);
    free(s->masks);
    free(s->chunk_loss);
    free(s->chunk_weight);
}

/* ---- one round ---- */

/* Row subsample of this round (all rows when subsample == 1) and the
 * per-tree column masks; both from the seed and the round number only. */
static void draw_round_sample(boost_state *s, size_t round)
{
    const size_t nt = s->job->n_train;
    hl__rng rng;
    hl__rng_seed(&rng, hl__seed_mix(s->job->seed, 0x5A3D0000u + round));
    s->n_sample = s->n_unsampled = 0;
    for (size_t i = 0; i < nt; i++) {
        if (s->p->subsample >= 1.0 || hl__rng_uniform(&rng) < s->p->subsample)
            s->sample[s->n_sample++] = (uint32_t)i;
        else
            s->unsampled[s->n_unsampled++] = (uint32_t)i;
    }
    if (s->n_sample == 0) { /* tiny data: keep at least one row */
        s->sample[s->n_sample++] = s->unsampled[0];
        memmove(s->unsampled, s->unsampled + 1,
                --s->n_unsampled * sizeof *s->unsampled);
    }
    for (size_t k = 0; k < s->n_out; k++) {
        uint8_t *mask = s->masks + k * s->nf;
        if (s->p->colsample >= 1.0) {
            memset(mask, 1, s->nf);
            continue;
        }
        size_t want = (size_t)ceil(s->p->colsample * (double)s->nf), chosen = 0;
        memset(mask, 0, s->nf);
        for (size_t f = 0; f < s->nf && chosen < want; f++)
            if (hl__rng_below(&rng, s->nf - f) < want - chosen) {
                mask[f] = 1;
                chosen++;
            }
    }
}

/* Adds tree t to the scores of rows (binned row i is binned + i * nf);
 * rows == NULL means rows 0..n-1. */
static void add_tree_by_traversal(const hl__tree *t, const uint8_t *binned,
                                  const uint32_t *rows, size_t n, size_t nf,
                                  double *scores, size_t n_out, size_t k)
{
    for (size_t j = 0; j < n; j++) {
        size_t i = rows ? rows[j] : j;
        uint32_t leaf = hl__tree_leaf_binned(t, binned + i * nf);
        scores[i * n_out + k] += t->nodes[leaf].value;
    }
}

/* Grows the tree of output k with grower g and applies it to the scores. */
static hl_status grow_output(boost_state *s, size_t k, hl__grower *g,
                             hl__pool *inner_pool)
{
    const hl__fit_job *job = s->job;
    hl__tree *t = &s->round_trees[k];
    hl_status rc = hl__grow_tree(g, &s->binned, s->gh + k * job->n_train,
                                 s->sample, s->n_sample, s->masks + k * s->nf,
                                 inner_pool, t);
    if (rc != HL_OK)
        return rc;
    /* Grown rows are grouped by leaf already; only the rows left out of
     * this round's sample (and the hold-out) walk the tree. */
    hl__grower_add_leaf_values(g, t, s->score_train, s->n_out, k);
    add_tree_by_traversal(t, s->bin_train, s->unsampled, s->n_unsampled, s->nf,
                          s->score_train, s->n_out, k);
    add_tree_by_traversal(t, s->bin_valid, NULL, job->n_valid, s->nf,
                          s->score_valid, s->n_out, k);
    return HL_OK;
}

static void grow_task(void *p, size_t k, int worker)
{
    boost_state *s = p;
    hl_status rc = grow_output(s, k, s->growers[worker], NULL);
    if (rc != HL_OK)
        s->round_status = rc; /* any failure fails the round */
}

static hl_status grow_round(boost_state *s)
{
    s->round_status = HL_OK;
    if (s->n_out >= (size_t)hl__pool_size(s->pool) && s->n_out > 1) {
        hl__pool_run(s->pool, s->n_out, grow_task, s);
        return s->round_status;
    }
    for (size_t k = 0; k < s->n_out; k++) {
        hl_status rc = grow_output(s, k, s->growers[0], s->pool);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

static hl_status keep_round_trees(boost_state *s, hl__gbdt_model *m)
{
    hl__tree *trees =
        realloc(m->trees, (m->n_trees + s->n_out) * sizeof *m->trees);
    if (!trees)
        return HL_ERR_NOMEM;
    m->trees = trees;
    for (size_t k = 0; k < s->n_out; k++) {
        m->trees[m->n_trees++] = s->round_trees[k];
        memset(&s->round_trees[k], 0, sizeof s->round_trees[k]);
    }
    return HL_OK;
}

static void truncate_trees(hl__gbdt_model *m, size_t n_keep)
{
    for (size_t t = n_keep; t < m->n_trees; t++)
        hl__tree_free(&m->trees[t]);
    m->n_trees = n_keep;
}

hl_status hl__boost(const hl__fit_job *job, const hl__gbdt_params *p,
                    hl__gbdt_model *m, hl__fit_result *res, hl_error *err)
{
    /* The refit runs for the rounds the hold-out chose, not the cap. */
    const int rounds =
        job->max_iterations ? (int)job->max_iterations : p->rounds;
    boost_state s;
    memset(res, 0, sizeof *res);
    hl_status rc = state_init(&s, job, p, m, err);
    if (rc != HL_OK)
        goto done;
    /* The curve has at most one point per round. */
    res->train_loss = malloc((size_t)rounds * sizeof *res->train_loss);
    res->valid_loss = malloc((size_t)rounds * sizeof *res->valid_loss);
    if (!res->train_loss || !res->valid_loss) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    double best_valid = INFINITY;
    size_t best_round = 0;
    const int early = job->early_stopping_rounds > 0 && job->n_valid > 0;
    loss_and_gradients(&s, job->n_train, s.score_train, s.y_train, s.w_train,
                       s.gh);
    for (int round = 1; round <= rounds; round++) {
        if (hl__progress_cancelled(&job->progress)) {
            rc = hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
            goto done;
        }
        draw_round_sample(&s, (size_t)round);
        if ((rc = grow_round(&s)) != HL_OK || (rc = keep_round_trees(&s, m)) != HL_OK) {
            rc = hl__fail(err, rc, "out of memory while growing trees");
            goto done;
        }
        double tl = loss_and_gradients(&s, job->n_train, s.score_train,
                                       s.y_train, s.w_train, s.gh);
        double vl = loss_and_gradients(&s, job->n_valid, s.score_valid,
                                       s.y_valid, s.w_valid, NULL);
        res->train_loss[res->curve_len] = tl;
        res->valid_loss[res->curve_len] = vl;
        res->curve_len++;
        if (hl__progress_report(&job->progress, round, rounds, tl, vl)) {
            rc = hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
            goto done;
        }
        if (early) {
            if (vl < best_valid) {
                best_valid = vl;
                best_round = (size_t)round;
            } else if ((size_t)round - best_round >=
                       (size_t)job->early_stopping_rounds) {
                break;
            }
        }
    }
    res->best_iteration = early ? best_round : 0;
    res->iterations_done = early ? best_round : m->n_trees / s.n_out;
    truncate_trees(m, res->iterations_done * s.n_out);
done:
    state_free(&s);
    if (rc != HL_OK) {
        free(res->train_loss);
        free(res->valid_loss);
        memset(res, 0, sizeof *res);
    }
    return rc;
}
