/* tree_grow.c - grow one regression tree on binned data from gradients.
 *
 * The classic histogram algorithm: for a node, sum gradient/hessian pairs
 * per (feature, bin), then scan every feature's bins once to find the split
 * with the largest loss reduction, trying missing values on both sides.
 * Two tricks carry the speed:
 *   - only the smaller child's histogram is built from rows; the larger
 *     one is the parent's minus the smaller's (the parent buffer is reused);
 *   - rows are kept in one array, partitioned stably in place, so the rows
 *     of a node are a contiguous, ascending range: sequential reads.
 * Growth is best-first (largest gain first) so `max_leaves` means "the best
 * N leaves"; without a leaf limit the order does not change the tree.
 * Everything is deterministic: ties go to the lowest feature, bin and node.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "gbdt.h"
#include "internal.h"

/* Nodes with at least this many rows build histograms feature-parallel
 * when a pool is given (below it the hand-off costs more than it saves). */
#define HL__PARALLEL_HIST_ROWS 16384

typedef struct split_info {
    double gain;
    uint32_t feature;
    uint32_t bin;       /* last value bin that goes left */
    int default_left;   /* missing values go left */
    double gl, hl;      /* left child sums */
} split_info;

typedef struct candidate {
    uint32_t node;
    uint32_t begin, end; /* rows[begin..end) */
    int depth;
    double g, h;
    hl__gh *hist;
    split_info best;
} candidate;

typedef struct leaf_range {
    uint32_t node, begin, end;
} leaf_range;

/* A tree under construction: arrays grow as nodes are added. */
typedef struct tree_builder {
    hl__node *nodes;
    uint8_t *split_bin;
    float *gain, *cover;
    uint32_t n, cap;
} tree_builder;

struct hl__grower {
    const hl__bins *layout;
    hl__grow_params p;
    size_t max_rows;
    uint32_t *rows, *scratch;   /* max_rows each */
    uint32_t *features;         /* active features of the current tree */
    size_t n_features_active;
    hl__gh **spare_hists;       /* free histogram buffers */
    size_t n_spare, cap_spare;
    candidate *cands;
    size_t n_cands, cap_cands;
    leaf_range *leaves;
    size_t n_leaves, cap_leaves;
    tree_builder tb;
};

/* ---- small containers ---- */

static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *p = realloc(*arr, n * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = n;
    return 0;
}

static hl__gh *hist_acquire(hl__grower *g)
{
    if (g->n_spare)
        return g->spare_hists[--g->n_spare];
    return malloc(g->layout->total * sizeof(hl__gh));
}

static void hist_release(hl__grower *g, hl__gh *h)
{
    if (!h)
        return;
    if (grow_array((void **)&g->spare_hists, &g->cap_spare, g->n_spare + 1,
                   sizeof *g->spare_hists) != 0) {
        free(h);
        return;
    }
    g->spare_hists[g->n_spare++] = h;
}

static int builder_add_leaf(tree_builder *tb, double value, double cover)
{
    if (tb->n == tb->cap) {
        uint32_t cap = tb->cap ? tb->cap * 2 : 64;
        hl__node *nodes = realloc(tb->nodes, cap * sizeof *nodes);
        if (nodes)
            tb->nodes = nodes;
        uint8_t *sb = realloc(tb->split_bin, cap * sizeof *sb);
        if (sb)
            tb->split_bin = sb;
        float *gain = realloc(tb->gain, cap * sizeof *gain);
        if (gain)
            tb->gain = gain;
        float *cov = realloc(tb->cover, cap * sizeof *cov);
        if (cov)
            tb->cover = cov;
        if (!nodes || !sb || !gain || !cov)
            return -1;
        tb->cap = cap;
    }
    uint32_t i = tb->n++;
    tb->nodes[i].feature = HL__LEAF;
    tb->nodes[i].value = (float)value;
    tb->nodes[i].left = 0;
    tb->split_bin[i] = 0;
    tb->gain[i] = 0.0f;
    tb->cover[i] = (float)cover;
    return 0;
}

/* ---- public lifetime ---- */

hl__grower *hl__grower_create(const hl__bins *layout, size_t max_rows,
                              const hl__grow_params *params)
{
    hl__grower *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->layout = layout;
    g->p = *params;
    g->max_rows = max_rows;
    g->rows = malloc((max_rows ? max_rows : 1) * sizeof *g->rows);
    g->scratch = malloc((max_rows ? max_rows : 1) * sizeof *g->scratch);
    g->features = malloc((layout->n_features ? layout->n_features : 1) *
                         sizeof *g->features);
    if (!g->rows || !g->scratch || !g->features) {
        hl__grower_free(g);
        return NULL;
    }
    return g;
}

void hl__grower_free(hl__grower *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_spare; i++)
        free(g->spare_hists[i]);
    for (size_t i = 0; i < g->n_cands; i++)
        free(g->cands[i].hist);
    free(g->spare_hists);
    free(g->cands);
    free(g->leaves);
    free(g->rows);
    free(g->scratch);
    free(g->features);
    free(g->tb.nodes);
    free(g->tb.split_bin);
    free(g->tb.gain);
    free(g->tb.cover);
    free(g);
}

void hl__tree_free(hl__tree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->split_bin);
    free(t->gain);
    free(t->cover);
    memset(t, 0, sizeof *t);
}

/* ---- histograms ---- */


/* Sums gh into hist for rows[begin..end) and features[fa_begin..fa_end). */
static void build_hist_range(const hl__grower *g, const uint8_t *binned,
                             const hl__gh *gh, size_t begin, size_t end,
                             size_t fa_begin, size_t fa_end, hl__gh *hist)
{
    const hl__bins *L = g->layout;
    const size_t nf = L->n_features;
    const uint32_t *rows = g->rows;
    const uint32_t *feat = g->features;
    const uint32_t *off = L->offset;
    for (size_t j = fa_begin; j < fa_end; j++) {
        uint32_t f = feat[j];
        memset(hist + off[f], 0, (L->n_bins[f] + 1) * sizeof *hist);
    }
    const int all = fa_begin == 0 && fa_end == nf; /* features[j] == j */
    for (size_t i = begin; i < end; i++) {
        const uint32_t r = rows[i];
        const uint8_t *b = binned + (size_t)r * nf;
#if defined(__SSE2__)
        /* One 8-byte load, add and store per (row, feature). __m64 is a
         * may_alias type, so this is a legal view of the float pair. */
        const __m128 v = _mm_setr_ps(gh[r].g, gh[r].h, 0.0f, 0.0f);
        for (size_t j = fa_begin; j < fa_end; j++) {
            const size_t f = all ? j : feat[j];
            __m64 *e = (__m64 *)(hist + off[f] + b[f]);
            _mm_storel_pi(e, _mm_add_ps(_mm_loadl_pi(v, e), v));
        }
#else
        const float gv = gh[r].g, hv = gh[r].h;
        for (size_t j = fa_begin; j < fa_end; j++) {
            const size_t f = all ? j : feat[j];
            hl__gh *e = hist + off[f] + b[f];
            e->g += gv;
            e->h += hv;
        }
#endif
    }
}

typedef struct par_hist_ctx {
    const hl__grower *g;
    const uint8_t *binned;
    const hl__gh *gh;
    size_t begin, end, n_tasks;
    hl__gh *hist;
} par_hist_ctx;

static void par_hist_task(void *p, size_t task, int worker)
{
    (void)worker;
    const par_hist_ctx *c = p;
    size_t n = c->g->n_features_active;
    size_t fb = n * task / c->n_tasks, fe = n * (task + 1) / c->n_tasks;
    build_hist_range(c->g, c->binned, c->gh, c->begin, c->end, fb, fe, c->hist);
}

static void build_hist(const hl__grower *g, const uint8_t *binned,
                       const hl__gh *gh, size_t begin, size_t end,
                       hl__pool *pool, hl__gh *hist)
{
    int workers = hl__pool_size(pool);
    if (workers > 1 && end - begin >= HL__PARALLEL_HIST_ROWS &&
        g->n_features_active >= (size_t)workers * 2) {
        /* The same feature split for every node: each bin is still summed
         * in row order by exactly one thread, so results are identical to
         * the serial path. */
        par_hist_ctx c = {g, binned, gh, begin, end, (size_t)workers * 2, hist};
        hl__pool_run(pool, c.n_tasks, par_hist_task, &c);
        return;
    }
    build_hist_range(g, binned, gh, begin, end, 0, g->n_features_active, hist);
}

/* parent -= child, over the active features: parent becomes the sibling. */
static void hist_subtract(const hl__grower *g, hl__gh *restrict parent,
                          const hl__gh *restrict child)
{
    const hl__bins *L = g->layout;
    if (g->n_features_active == L->n_features) {
        float *restrict p = (float *)parent;
        const float *restrict c = (const float *)child;
        for (size_t i = 0; i < 2 * L->total; i++)
            p[i] -= c[i];
        return;
    }
    for (size_t j = 0; j < g->n_features_active; j++) {
        uint32_t f = g->features[j];
        size_t o = L->offset[f], n = L->n_bins[f] + 1;
        for (size_t b = 0; b < n; b++) {
            parent[o + b].g -= child[o + b].g;
            parent[o + b].h -= child[o + b].h;
        }
    }
}

/* ---- split finding ---- */

static inline double leaf_score(double gsum, double hsum, double lambda)
{
    return gsum * gsum / (hsum + lambda);
}

/* Gains of every cut of one feature, four cuts at a time, for left sums
 * (cg + add_g, ch + add_h); returns the largest. Compiled twice (AVX2 and
 * baseline) and picked at load time: both perform the same IEEE operations
 * per lane, so the chosen split never depends on the CPU. Lanes whose
 * children would be lighter than min_child_weight get -inf. */
typedef double hl__v4d __attribute__((vector_size(32)));
typedef long long hl__v4i __attribute__((vector_size(32)));

__attribute__((target_clones("avx2", "default"))) static double
cut_gains(const double *cg, const double *ch, size_t n, double add_g,
          double add_h, double G, double H, double lambda, double mcw,
          double parent_score, double *gain)
{
    const hl__v4d neg_inf = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
    hl__v4d best = neg_inf;
    for (size_t i = 0; i < n; i += 4) {
        hl__v4d gl, hl;
        memcpy(&gl, cg + i, sizeof gl);
        memcpy(&hl, ch + i, sizeof hl);
        gl += add_g;
        hl += add_h;
        const hl__v4d gr = G - gl, hr = H - hl;
        const hl__v4d v =
            gl * gl / (hl + lambda) + gr * gr / (hr + lambda) - parent_score;
        const hl__v4i ok = (hl >= mcw) & (hr >= mcw);
        const hl__v4i bits = ((hl__v4i)v & ok) | ((hl__v4i)neg_inf & ~ok);
        hl__v4d lane;
        memcpy(&lane, &bits, sizeof lane);
        memcpy(gain + i, &lane, sizeof lane);
        const hl__v4i more = lane > best;
        hl__v4i keep = ((hl__v4i)lane & more) | ((hl__v4i)best & ~more);
        memcpy(&best, &keep, sizeof best);
    }
    double m = best[0];
    for (int k = 1; k < 4; k++)
        if (best[k] > m)
            m = best[k];
    return m;
}

#define HL__MAX_CUTS 256 /* 254 cuts, padded to a multiple of 4 */

static void best_split_feature(const hl__grower *g, const hl__gh *hist,
                               uint32_t f, double G, double H,
                               double parent_score, split_info *best)
{
    const hl__bins *L = g->layout;
    const uint32_t nb = L->n_bins[f];
    if (nb < 2)
        return;
    const hl__gh *fh = hist + L->offset[f];
    const double lambda = g->p.lambda_l2, mcw = g->p.min_child_weight;
    const double mg = fh[0].g, mh = fh[0].h; /* missing-value bin */
    const int has_missing = mh > 0.0;
    /* Only non-empty bins make new cuts (an empty bin would repeat the
     * previous partition), so deep nodes with few rows scan few cuts; the
     * compaction is branch-free. Cut i sends value bins 1..cut_bin[i] left
     * with missing values right (a) or, when there are any, left (b).
     * Padding lanes get a negative hessian: they fail the weight test. */
    double cg[HL__MAX_CUTS], ch[HL__MAX_CUTS], gain_a[HL__MAX_CUTS],
        gain_b[HL__MAX_CUTS];
    uint32_t cut_bin[HL__MAX_CUTS];
    size_t n = 0;
    double gl = 0.0, hl = 0.0;
    for (uint32_t b = 1; b < nb; b++) {
        gl += fh[b].g;
        hl += fh[b].h;
        cg[n] = gl;
        ch[n] = hl;
        cut_bin[n] = b;
        n += fh[b].h != 0.0f || fh[b].g != 0.0f;
    }
    const size_t padded = (n + 3) & ~(size_t)3;
    for (size_t i = n; i < padded; i++) {
        cg[i] = 0.0;
        ch[i] = -1.0 - mcw - mh;
    }
    const double max_a = cut_gains(cg, ch, padded, 0.0, 0.0, G, H, lambda, mcw,
                                   parent_score, gain_a);
    const double max_b = has_missing ? cut_gains(cg, ch, padded, mg, mh, G, H,
                                                 lambda, mcw, parent_score,
                                                 gain_b)
                                     : -INFINITY;
    if (!(max_a > best->gain) && !(max_b > best->gain))
        return; /* the common case: this feature does not win */
    /* Ascending cuts, (a) before (b), strictly greater wins. */
    for (size_t i = 0; i < n; i++) {
        if (gain_a[i] > best->gain) {
            /* No missing values seen: send unseen ones to the heavier side. */
            int left = has_missing ? 0 : ch[i] >= H - ch[i];
            *best = (split_info){gain_a[i], f, cut_bin[i], left, cg[i], ch[i]};
        }
        if (has_missing && gain_b[i] > best->gain)
            *best = (split_info){gain_b[i], f, cut_bin[i], 1, cg[i] + mg,
                                 ch[i] + mh};
    }
}

/* Fills c->best; returns 1 when a split worth making exists. */
static int find_best_split(const hl__grower *g, candidate *c)
{
    split_info best = {0};
    best.gain = g->p.min_split_gain > 1e-12 ? g->p.min_split_gain : 1e-12;
    const double parent_score = leaf_score(c->g, c->h, g->p.lambda_l2);
    for (size_t j = 0; j < g->n_features_active; j++)
        best_split_feature(g, c->hist, g->features[j], c->g, c->h,
                           parent_score, &best);
    c->best = best;
    return best.bin != 0;
}

/* ---- partitioning ---- */

/* Splits rows[begin..end) by s; returns the first index of the right child. */
static uint32_t partition_rows(hl__grower *g, const hl__binned *binned,
                               const split_info *s, uint32_t begin,
                               uint32_t end)
{
    return hl__partition_rows(binned->cols + (size_t)s->feature * binned->n,
                              (uint8_t)s->bin, s->default_left, g->rows,
                              g->scratch, begin, end);
}

/* ---- growth ---- */

static int can_split(const hl__grower *g, int depth, double h, uint32_t n)
{
    if (g->p.max_depth > 0 && depth >= g->p.max_depth)
        return 0;
    return n >= 2 && h >= 2.0 * g->p.min_child_weight;
}

static double leaf_value(const hl__grower *g, double gsum, double hsum)
{
    return -gsum / (hsum + g->p.lambda_l2) * g->p.learning_rate;
}

static int push_candidate(hl__grower *g, const candidate *c)
{
    if (grow_array((void **)&g->cands, &g->cap_cands, g->n_cands + 1,
                   sizeof *g->cands) != 0)
        return -1;
    g->cands[g->n_cands++] = *c;
    return 0;
}

static int push_leaf(hl__grower *g, uint32_t node, uint32_t begin, uint32_t end)
{
    if (grow_array((void **)&g->leaves, &g->cap_leaves, g->n_leaves + 1,
                   sizeof *g->leaves) != 0)
        return -1;
    g->leaves[g->n_leaves++] = (leaf_range){node, begin, end};
    return 0;
}

/* With a leaf budget the best gain goes first. Without one every
 * candidate is split anyway and the order cannot change the tree, so the
 * newest goes first: its histogram is still in cache and few stay alive. */
static size_t pop_best_candidate(const hl__grower *g)
{
    if (g->p.max_leaves <= 0)
        return g->n_cands - 1;
    size_t best = 0;
    for (size_t i = 1; i < g->n_cands; i++) {
        const candidate *a = &g->cands[i], *b = &g->cands[best];
        if (a->best.gain > b->best.gain ||
            (a->best.gain == b->best.gain && a->node < b->node))
            best = i;
    }
    return best;
}

/* Evaluates a fresh node that owns `hist`: becomes a candidate or a leaf. */
static int consider_node(hl__grower *g, candidate *c)
{
    if (find_best_split(g, c))
        return push_candidate(g, c);
    hist_release(g, c->hist);
    c->hist = NULL;
    return push_leaf(g, c->node, c->begin, c->end);
}

static int split_candidate(hl__grower *g, const hl__binned *binned,
                           const hl__gh *gh, hl__pool *pool, candidate *c)
{
    tree_builder *tb = &g->tb;
    const split_info *s = &c->best;
    uint32_t mid = partition_rows(g, binned, s, c->begin, c->end);
    double gr = c->g - s->gl, hr = c->h - s->hl;
    uint32_t left = tb->n;
    if (builder_add_leaf(tb, leaf_value(g, s->gl, s->hl), s->hl) != 0 ||
        builder_add_leaf(tb, leaf_value(g, gr, hr), hr) != 0)
        return -1;
    hl__node *parent = &tb->nodes[c->node];
    parent->feature = s->feature | (s->default_left ? HL__DEFAULT_LEFT : 0);
    parent->value = g->layout->cuts[s->feature][s->bin - 1];
    parent->left = left;
    tb->split_bin[c->node] = (uint8_t)s->bin;
    tb->gain[c->node] = (float)s->gain;

    candidate kids[2] = {
        {.node = left, .begin = c->begin, .end = mid, .depth = c->depth + 1,
         .g = s->gl, .h = s->hl},
        {.node = left + 1, .begin = mid, .end = c->end, .depth = c->depth + 1,
         .g = gr, .h = hr},
    };
    int want[2];
    for (int k = 0; k < 2; k++)
        want[k] = can_split(g, kids[k].depth, kids[k].h,
                            kids[k].end - kids[k].begin);
    if (!want[0] && !want[1]) {
        hist_release(g, c->hist);
        return push_leaf(g, kids[0].node, kids[0].begin, kids[0].end) ||
               push_leaf(g, kids[1].node, kids[1].begin, kids[1].end);
    }
    /* Build the smaller child, derive the larger by subtraction. */
    int small = (mid - c->begin) <= (c->end - mid) ? 0 : 1;
    hl__gh *small_hist = hist_acquire(g);
    if (!small_hist) {
        hist_release(g, c->hist);
        return -1;
    }
    build_hist(g, binned->rows, gh, kids[small].begin, kids[small].end, pool,
               small_hist);
    hist_subtract(g, c->hist, small_hist);
    kids[small].hist = small_hist;
    kids[1 - small].hist = c->hist;
    for (int k = 0; k < 2; k++) {
        int rc;
        if (want[k]) {
            rc = consider_node(g, &kids[k]);
        } else {
            hist_release(g, kids[k].hist);
            rc = push_leaf(g, kids[k].node, kids[k].begin, kids[k].end);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

static void select_features(hl__grower *g, const uint8_t *mask)
{
    size_t n = 0;
    for (size_t f = 0; f < g->layout->n_features; f++)
        if (!mask || mask[f])
            g->features[n++] = (uint32_t)f;
    g->n_features_active = n;
}

static hl_status finish_tree(hl__grower *g, hl__tree *out)
{
    tree_builder *tb = &g->tb;
    uint32_t n = tb->n;
    out->n_nodes = n;
    out->nodes = malloc(n * sizeof *out->nodes);
    out->split_bin = malloc(n * sizeof *out->split_bin);
    out->gain = malloc(n * sizeof *out->gain);
    out->cover = malloc(n * sizeof *out->cover);
    if (!out->nodes || !out->split_bin || !out->gain || !out->cover) {
        hl__tree_free(out);
        return HL_ERR_NOMEM;
    }
    memcpy(out->nodes, tb->nodes, n * sizeof *out->nodes);
    memcpy(out->split_bin, tb->split_bin, n * sizeof *out->split_bin);
    memcpy(out->gain, tb->gain, n * sizeof *out->gain);
    memcpy(out->cover, tb->cover, n * sizeof *out->cover);
    return HL_OK;
}

static void release_candidates(hl__grower *g)
{
    for (size_t i = 0; i < g->n_cands; i++)
        hist_release(g, g->cands[i].hist);
    g->n_cands = 0;
}

hl_status hl__grow_tree(hl__grower *g, const hl__binned *binned,
                        const hl__gh *gh, const uint32_t *rows, size_t n_rows,
                        const uint8_t *feature_mask, hl__pool *pool,
                        hl__tree *out)
{
    memset(out, 0, sizeof *out);
    if (n_rows > g->max_rows || n_rows == 0)
        return HL_ERR_INTERNAL;
    memcpy(g->rows, rows, n_rows * sizeof *rows);
    select_features(g, feature_mask);
    g->tb.n = 0;
    g->n_leaves = 0;
    g->n_cands = 0;

    double G = 0.0, H = 0.0;
    for (size_t i = 0; i < n_rows; i++) {
        G += gh[rows[i]].g;
        H += gh[rows[i]].h;
    }
    if (builder_add_leaf(&g->tb, leaf_value(g, G, H), H) != 0)
        return HL_ERR_NOMEM;
    candidate root = {.node = 0, .begin = 0, .end = (uint32_t)n_rows,
                      .depth = 0, .g = G, .h = H};
    int rc = 0;
    if (can_split(g, 0, H, (uint32_t)n_rows)) {
        if (!(root.hist = hist_acquire(g)))
            return HL_ERR_NOMEM;
        build_hist(g, binned->rows, gh, 0, n_rows, pool, root.hist);
        rc = consider_node(g, &root);
    } else {
        rc = push_leaf(g, 0, 0, (uint32_t)n_rows);
    }
    size_t leaves = 1;
    while (rc == 0 && g->n_cands > 0 &&
           (g->p.max_leaves <= 0 || leaves < (size_t)g->p.max_leaves)) {
        size_t i = pop_best_candidate(g);
        candidate c = g->cands[i];
        memmove(g->cands + i, g->cands + i + 1,
                (g->n_cands - i - 1) * sizeof *g->cands);
        g->n_cands--;
        rc = split_candidate(g, binned, gh, pool, &c);
        leaves++;
    }
    /* Candidates left when the leaf budget ran out stay leaves. */
    for (size_t i = 0; rc == 0 && i < g->n_cands; i++)
        rc = push_leaf(g, g->cands[i].node, g->cands[i].begin, g->cands[i].end);
    release_candidates(g);
    if (rc != 0)
        return HL_ERR_NOMEM;
    return finish_tree(g, out);
}

void hl__grower_add_leaf_values(const hl__grower *g, const hl__tree *t,
                                double *scores, size_t stride, size_t column)
{
    for (size_t l = 0; l < g->n_leaves; l++) {
        const leaf_range *lr = &g->leaves[l];
        const double v = t->nodes[lr->node].value;
        for (uint32_t i = lr->begin; i < lr->end; i++)
            scores[(size_t)g->rows[i] * stride + column] += v;
    }
}

uint32_t hl__tree_leaf_binned(const hl__tree *t, const uint8_t *row_bins)
{
    uint32_t i = 0;
    const hl__node *nodes = t->nodes;
    while (nodes[i].feature != HL__LEAF) {
        uint32_t f = nodes[i].feature & HL__FEATURE_MASK;
        uint8_t b = row_bins[f];
        int left = b == 0 ? (nodes[i].feature & HL__DEFAULT_LEFT) != 0
                          : b <= t->split_bin[i];
        i = nodes[i].left + (left ? 0 : 1);
    }
    return i;
}
