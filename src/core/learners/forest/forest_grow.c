/* forest_grow.c - grow one unpruned classification tree by weighted Gini.
 *
 * A node draws candidate KPIs one at a time (a partial Fisher-Yates
 * shuffle) until `mtry` of them could split it; like scikit-learn, a KPI
 * that is constant within the node does not count, so a node is only
 * made a leaf when no drawn KPI can split it. For a candidate KPI:
 *   - forest: one pass over the node's rows sums class weights per bin
 *     (and bootstrap copies, for min_samples_leaf > 1), then every cut
 *     between non-empty bins is scored;
 *   - extra-trees: the cut is drawn uniformly between the node's lowest
 *     and highest non-empty bin (in bin space, so a KPI spanning
 *     1e-4..1e17 gets cuts where its rows are, not all in the top decade),
 *     and one pass sums the two sides of every candidate's cut.
 * Missing values (bin 0) are tried on both sides; the better side is kept.
 * The split with the largest weighted Gini decrease wins, ties to the
 * first drawn: everything follows from the tree's random stream, so a
 * tree depends on its seed only.
 *
 * Before drawing, one pass over the node's row-major bytes finds every
 * KPI's lowest and highest value bin at once (16 KPIs per SSE2 step): a
 * KPI constant in the node then costs nothing, and the extra-trees cut is
 * drawn without a pass of its own. Deep nodes, where most KPIs are
 * constant, are where most of the work is. The per-bin histogram exists
 * for one KPI at a time and only the bins the node touched are visited
 * and cleared, so a node with three rows costs three rows, not 255 bins
 * times the classes. Rows are kept partitioned in one array
 * (trees/partition.c); nodes are grown depth-first.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "forest.h"

#define HL__MAX_BIN 256 /* bins 0..255 */

typedef struct pending {
    uint32_t node, begin, end;
    int depth;
    uint32_t n_const; /* order[0..n_const) are constant in this node */
} pending;

/* Sums of one side of a cut. */
typedef struct side {
    double w[HL__MAX_CLASSES_FOREST];
    double copies; /* only counted with min_samples_leaf > 1 (count_copies) */
    double sum;    /* of w[0..K), in class order */
} side;

typedef struct best_split {
    double score; /* sum_k L_k^2 / W_L + sum_k R_k^2 / W_R */
    uint32_t feature;
    uint32_t bin; /* last value bin that goes left; 0 = no split */
    int missing_left;
} best_split;

struct hl__fgrower {
    hl__fgrow_data d;
    hl__fgrow_params p;
    size_t nf, K, slot; /* slot: K class weights + copies per bin */
    /* Row copies matter only for min_samples_leaf > 1: every cut tried
     * has a non-empty bin on each side, and weights are positive, so with
     * 1 the sums skip them (a quarter of the work in the inner loops). */
    int count_copies;
    uint32_t *rows, *scratch;
    uint32_t *order;   /* KPI permutation drawn from */
    uint8_t *lo, *hi;  /* per KPI in the node: lowest value bin - 1 (255
                          when all missing), highest bin (stride bytes) */
    uint32_t *cand;    /* extra-trees: the node's candidate KPIs, */
    uint8_t *cand_cut; /* their cuts */
    double *cut_sums;  /* and their sums: nf * 3 * slot */
    double *hist;      /* HL__MAX_BIN * slot, all zero between uses */
    const float *w;
    const uint32_t *copies;
    hl__rng *rng;
    pending *stack;
    size_t n_stack, cap_stack;
    hl__node *nodes;
    float *gain;
    uint32_t n_nodes, cap_nodes;
    float *proba;                  /* K per leaf */
    uint32_t n_leaves, cap_leaves; /* in leaves */
};

/* ---- lifetime ---- */

hl__fgrower *hl__fgrower_create(const hl__fgrow_data *d,
                                const hl__fgrow_params *p)
{
    if (p->n_classes > HL__MAX_CLASSES_FOREST)
        return NULL;
    hl__fgrower *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    g->d = *d;
    g->p = *p;
    g->nf = d->bins->n_features;
    g->K = p->n_classes;
    g->slot = g->K + 1;
    g->count_copies = p->min_samples_leaf > 1;
    g->rows = malloc((d->n + 1) * sizeof *g->rows);
    g->scratch = malloc((d->n + 1) * sizeof *g->scratch);
    g->order = malloc((g->nf + 1) * sizeof *g->order);
    g->lo = malloc(HL__FOREST_STRIDE(g->nf) + 16);
    g->cand = malloc((g->nf + 1) * sizeof *g->cand);
    g->cand_cut = malloc(g->nf + 1);
    g->cut_sums = malloc((g->nf * 3 * g->slot + 1) * sizeof *g->cut_sums);
    g->hi = malloc(HL__FOREST_STRIDE(g->nf) + 16);
    g->hist = calloc(HL__MAX_BIN * g->slot, sizeof *g->hist);
    if (!g->rows || !g->scratch || !g->order || !g->hist || !g->lo || !g->hi ||
        !g->cand || !g->cand_cut || !g->cut_sums) {
        hl__fgrower_free(g);
        return NULL;
    }
    return g;
}

void hl__fgrower_free(hl__fgrower *g)
{
    if (!g)
        return;
    free(g->rows);
    free(g->scratch);
    free(g->order);
    free(g->lo);
    free(g->hi);
    free(g->cand);
    free(g->cand_cut);
    free(g->cut_sums);
    free(g->hist);
    free(g->stack);
    free(g->nodes);
    free(g->gain);
    free(g->proba);
    free(g);
}

void hl__ftree_free(hl__ftree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->gain);
    free(t->proba);
    memset(t, 0, sizeof *t);
}

/* ---- the tree under construction ---- */

/* Room for `need` nodes; -1 when out of memory. */
static int reserve_nodes(hl__fgrower *g, uint32_t need)
{
    if (need <= g->cap_nodes)
        return 0;
    uint32_t cap = g->cap_nodes ? 2 * g->cap_nodes : 64;
    while (cap < need)
        cap *= 2;
    hl__node *nodes = realloc(g->nodes, cap * sizeof *nodes);
    if (nodes)
        g->nodes = nodes;
    float *gain = realloc(g->gain, cap * sizeof *gain);
    if (gain)
        g->gain = gain;
    if (!nodes || !gain)
        return -1;
    g->cap_nodes = cap;
    return 0;
}

/* Room for the class probabilities of `need` leaves. */
static int reserve_leaves(hl__fgrower *g, uint32_t need)
{
    if (need <= g->cap_leaves)
        return 0;
    uint32_t cap = g->cap_leaves ? 2 * g->cap_leaves : 64;
    while (cap < need)
        cap *= 2;
    float *p = realloc(g->proba, (size_t)cap * g->K * sizeof *p);
    if (!p)
        return -1;
    g->proba = p;
    g->cap_leaves = cap;
    return 0;
}

static int push(hl__fgrower *g, pending p)
{
    if (g->n_stack == g->cap_stack) {
        size_t cap = g->cap_stack ? 2 * g->cap_stack : 64;
        pending *s = realloc(g->stack, cap * sizeof *s);
        if (!s)
            return -1;
        g->stack = s;
        g->cap_stack = cap;
    }
    g->stack[g->n_stack++] = p;
    return 0;
}

/* Turns node i into a leaf holding the normalised class weights t. */
static int make_leaf(hl__fgrower *g, uint32_t i, const side *t)
{
    if (reserve_leaves(g, g->n_leaves + 1))
        return -1;
    double W = 0.0;
    for (size_t k = 0; k < g->K; k++)
        W += t->w[k];
    float *p = g->proba + (size_t)g->n_leaves * g->K;
    for (size_t k = 0; k < g->K; k++)
        p[k] = W > 0.0 ? (float)(t->w[k] / W) : (float)(1.0 / (double)g->K);
    g->nodes[i] = (hl__node){HL__LEAF, 0.0f, g->n_leaves};
    g->gain[i] = 0.0f;
    g->n_leaves++;
    return 0;
}

/* ---- scores ---- */

/* sum_k s_k^2 / W: the part of the weighted Gini impurity that a split
 * changes (W * gini = W - sum_k s_k^2 / W). */
static double purity(const double *s, size_t K)
{
    double W = 0.0, sq = 0.0;
    for (size_t k = 0; k < K; k++) {
        W += s[k];
        sq += s[k] * s[k];
    }
    return W > 0.0 ? sq / W : 0.0;
}

/* Keeps (score = sl / wl + sr / wr) in *best when it beats it. Most cuts
 * do not: they are screened by cross-multiplying (wl, wr > 0), and only
 * a possible winner pays for the two divisions. The winner is decided on
 * the divided score; the screen (>=, not >) can only differ from it when
 * two scores are within rounding of each other, and the result is
 * deterministic either way. */
static inline void offer(double sl, double wl, double sr, double wr, uint32_t f,
                         uint32_t bin, int missing_left, best_split *best)
{
    if (!(sl * wr + sr * wl >= best->score * (wl * wr)))
        return;
    const double score = sl / wl + sr / wr;
    if (score > best->score)
        *best = (best_split){score, f, bin, missing_left};
}

/* Scores the cut whose value-bin left side has sums l (copies cl) in a
 * node with totals t, for missing rows m sent right and, when there are
 * any, left; keeps the better in *best. Right sides are totals minus
 * left: one pass over the classes computes both ways. Inlined into the
 * scans: it runs once per cut, the forest's innermost loop. */
static inline __attribute__((always_inline)) void
score_cut(const hl__fgrower *g, const side *t, const double *l, double cl,
          const side *m, uint32_t f, uint32_t bin, best_split *best)
{
    const size_t K = g->K;
    const double msl = (double)g->p.min_samples_leaf, W = t->sum;
    const int counted = g->count_copies;
    if (!(m->sum > 0.0)) {
        /* No missing rows in the node: one way, half the arithmetic. The
         * same operations as (a) below, so the same split either way. */
        double wl = 0.0, sl = 0.0, sr = 0.0;
        for (size_t k = 0; k < K; k++) {
            const double lk = l[k], rk = t->w[k] - lk;
            wl += lk;
            sl += lk * lk;
            sr += rk * rk;
        }
        /* Unseen missing values follow the heavier side. */
        if ((!counted || (cl >= msl && t->copies - cl >= msl)) && wl > 0.0 &&
            W - wl > 0.0)
            offer(sl, wl, sr, W - wl, f, bin, wl >= W - wl, best);
        return;
    }
    double wl = 0.0, wm = 0.0;
    double sl_a = 0.0, sr_a = 0.0, sl_b = 0.0, sr_b = 0.0;
    for (size_t k = 0; k < K; k++) {
        const double lk = l[k], mk = m->w[k], rk = t->w[k] - lk - mk;
        wl += lk;
        wm += mk;
        sl_a += lk * lk;
        sr_a += (rk + mk) * (rk + mk);
        sl_b += (lk + mk) * (lk + mk);
        sr_b += rk * rk;
    }
    /* (a) missing right */
    if ((!counted || (cl >= msl && t->copies - cl >= msl)) && wl > 0.0 &&
        W - wl > 0.0)
        offer(sl_a, wl, sr_a, W - wl, f, bin, 0, best);
    /* (b) missing left */
    const double clb = cl + m->copies, wlb = wl + wm;
    if ((!counted || (clb >= msl && t->copies - clb >= msl)) && W - wlb > 0.0)
        offer(sl_b, wlb, sr_b, W - wlb, f, bin, 1, best);
}

/* ---- one candidate KPI ---- */

/* g->lo / g->hi of every KPI over rows[begin..end). Bin 0 (missing) minus
 * one wraps to 255, so it never lowers `lo`; the padding bytes are 0 and
 * leave their slots "all missing". */
static void node_ranges(hl__fgrower *g, uint32_t begin, uint32_t end)
{
    const size_t stride = HL__FOREST_STRIDE(g->nf);
    uint8_t *lo = g->lo, *hi = g->hi;
    memset(lo, 0xFF, stride);
    memset(hi, 0, stride);
    for (uint32_t i = begin; i < end; i++) {
        const uint8_t *row = g->d.rows + (size_t)g->rows[i] * stride;
#if defined(__SSE2__)
        const __m128i one = _mm_set1_epi8(1);
        for (size_t j = 0; j < stride; j += 16) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(row + j));
            __m128i *l = (__m128i *)(lo + j), *h = (__m128i *)(hi + j);
            _mm_storeu_si128(
                l, _mm_min_epu8(_mm_loadu_si128(l), _mm_sub_epi8(v, one)));
            _mm_storeu_si128(h, _mm_max_epu8(_mm_loadu_si128(h), v));
        }
#else
        for (size_t j = 0; j < stride; j++) {
            const uint8_t below = (uint8_t)(row[j] - 1u);
            if (below < lo[j])
                lo[j] = below;
            if (row[j] > hi[j])
                hi[j] = row[j];
        }
#endif
    }
}

/* 1 when KPI f has two value bins or more in the node (node_ranges). */
static int varies(const hl__fgrower *g, uint32_t f)
{
    return g->lo[f] != 0xFF && (unsigned)g->lo[f] + 1u < g->hi[f];
}

/* Best cut of KPI f, which varies in the node, over rows[begin..end).
 * A bitmap of the bins the rows fall in lets the scan and the clean-up
 * visit those bins only: in the deep nodes, where most of the work is,
 * that is a few bins out of 255. */
static void best_cut(hl__fgrower *g, uint32_t f, uint32_t begin, uint32_t end,
                     const side *t, best_split *best)
{
    const size_t K = g->K, slot = g->slot;
    const uint8_t *col = g->d.cols + (size_t)f * g->d.n;
    const int32_t *y = g->d.y;
    double *hist = g->hist;
    uint64_t seen[HL__MAX_BIN / 64] = {0};
    for (uint32_t i = begin; i < end; i++) {
        const uint32_t r = g->rows[i];
        const unsigned b = col[r];
        double *h = hist + b * slot;
        h[y[r]] += g->w[r];
        if (g->count_copies)
            h[K] += g->copies[r];
        seen[b >> 6] |= (uint64_t)1 << (b & 63);
    }
    side m;
    memcpy(m.w, hist, K * sizeof *m.w);
    m.copies = hist[K];
    m.sum = 0.0;
    for (size_t k = 0; k < K; k++)
        m.sum += m.w[k];
    memset(hist, 0, slot * sizeof *hist);
    seen[0] &= ~(uint64_t)1; /* bin 0: missing, not a value bin */
    unsigned n_bins = 0;
    for (int q = 0; q < HL__MAX_BIN / 64; q++)
        n_bins += (unsigned)__builtin_popcountll(seen[q]);
    double l[HL__MAX_CLASSES_FOREST], cl = 0.0;
    memset(l, 0, K * sizeof *l);
    unsigned visited = 0;
    for (int q = 0; q < HL__MAX_BIN / 64; q++) {
        for (uint64_t bits = seen[q]; bits; bits &= bits - 1) {
            const unsigned b =
                (unsigned)q * 64 + (unsigned)__builtin_ctzll(bits);
            double *h = hist + b * slot;
            if (++visited < n_bins) { /* the last bin leaves nothing right */
                for (size_t k = 0; k < K; k++)
                    l[k] += h[k];
                cl += h[K];
                score_cut(g, t, l, cl, &m, f, b, best);
            }
            memset(h, 0, slot * sizeof *h);
        }
    }
}

/* Extra-trees: the cuts drawn for candidates feat[0..n) (each varies in
 * the node), scored in one pass over the node's row-major bytes. Sums go
 * per candidate and destination - 0 left, 1 right, 2 missing - indexed
 * rather than branched on (a random cut makes the branch a coin toss),
 * and the candidates' sums are independent, so the CPU overlaps them.
 * Scored in drawing order: the same split as one candidate at a time. */
static void random_cuts(hl__fgrower *g, const uint32_t *feat,
                        const uint8_t *cut, size_t n, uint32_t begin,
                        uint32_t end, const side *t, best_split *best)
{
    const size_t K = g->K, slot = g->slot, stride = HL__FOREST_STRIDE(g->nf);
    double *acc = g->cut_sums; /* n * 3 * slot: K weights + copies */
    memset(acc, 0, n * 3 * slot * sizeof *acc);
    for (uint32_t i = begin; i < end; i++) {
        const uint32_t r = g->rows[i];
        const uint8_t *row = g->d.rows + (size_t)r * stride;
        const double w = g->w[r], c = g->copies[r];
        const size_t y = (size_t)g->d.y[r];
        if (g->count_copies) {
            for (size_t j = 0; j < n; j++) {
                const unsigned b = row[feat[j]];
                const unsigned d = b == 0 ? 2u : (unsigned)(b > cut[j]);
                double *a = acc + (j * 3 + d) * slot;
                a[y] += w;
                a[K] += c;
            }
        } else {
            for (size_t j = 0; j < n; j++) {
                const unsigned b = row[feat[j]];
                const unsigned d = b == 0 ? 2u : (unsigned)(b > cut[j]);
                acc[(j * 3 + d) * slot + y] += w;
            }
        }
    }
    for (size_t j = 0; j < n; j++) {
        const double *left = acc + j * 3 * slot, *miss = left + 2 * slot;
        side m;
        memcpy(m.w, miss, K * sizeof *m.w);
        m.copies = miss[K];
        m.sum = 0.0;
        for (size_t k = 0; k < K; k++)
            m.sum += m.w[k];
        score_cut(g, t, left, left[K], &m, feat[j], cut[j], best);
    }
}

/* Draws candidate KPIs until mtry non-constant ones were tried, or none
 * is left. A KPI constant in a node is constant in its children: the
 * order array keeps the ones known (n_const on entry) and found here in
 * front, and *n_const returns their count for the children. Within a
 * subtree only positions past its own known constants move, so the
 * prefix a node hands to its right child is intact when that child is
 * grown (scikit-learn's bookkeeping). */
static best_split find_split(hl__fgrower *g, uint32_t begin, uint32_t end,
                             const side *t, uint32_t *n_const)
{
    /* Any valid split beats none, as in scikit-learn: an unlimited tree
     * splits until its leaves are pure or their rows cannot be told
     * apart (the stored gain is then clamped at 0). */
    best_split best = {-1.0, 0, 0, 0};
    uint32_t *order = g->order;
    size_t next = *n_const, last = g->nf, tried = 0;
    while (tried < g->p.mtry && next < last) {
        size_t j = next + (size_t)hl__rng_below(g->rng, last - next);
        uint32_t f = order[j];
        const int v = varies(g, f);
        if (v && g->p.random_cuts) {
            /* Drawn now, scored below with the others: scoring draws
             * nothing, so the stream is the same either way. */
            const unsigned lo = g->lo[f] + 1u, hi = g->hi[f];
            g->cand[tried] = f;
            g->cand_cut[tried] =
                (uint8_t)(lo + (unsigned)hl__rng_below(g->rng, hi - lo));
        } else if (v) {
            best_cut(g, f, begin, end, t, &best);
        }
        /* Constants join the front, tried KPIs the back. */
        size_t to = v ? --last : next++;
        order[j] = order[to];
        order[to] = f;
        tried += (size_t)v;
    }
    if (g->p.random_cuts)
        random_cuts(g, g->cand, g->cand_cut, tried, begin, end, t, &best);
    *n_const = (uint32_t)next;
    return best;
}

/* ---- growth ---- */

static void node_totals(const hl__fgrower *g, uint32_t begin, uint32_t end,
                        side *t)
{
    memset(t->w, 0, g->K * sizeof *t->w);
    t->copies = 0.0;
    for (uint32_t i = begin; i < end; i++) {
        const uint32_t r = g->rows[i];
        t->w[g->d.y[r]] += g->w[r];
        t->copies += g->copies[r];
    }
    t->sum = 0.0;
    for (size_t k = 0; k < g->K; k++)
        t->sum += t->w[k];
}

static int is_pure(const side *t, size_t K)
{
    size_t present = 0;
    for (size_t k = 0; k < K; k++)
        present += t->w[k] > 0.0;
    return present <= 1;
}

/* Splits node p or makes it a leaf; pushes its children. */
static int grow_node(hl__fgrower *g, const pending *p)
{
    side t;
    node_totals(g, p->begin, p->end, &t);
    const int depth_left = g->p.max_depth == 0 || p->depth < g->p.max_depth;
    if (!depth_left || is_pure(&t, g->K) ||
        t.copies < 2.0 * (double)g->p.min_samples_leaf)
        return make_leaf(g, p->node, &t);
    uint32_t n_const = p->n_const;
    node_ranges(g, p->begin, p->end);
    best_split s = find_split(g, p->begin, p->end, &t, &n_const);
    if (s.bin == 0)
        return make_leaf(g, p->node, &t);
    const uint8_t *col = g->d.cols + (size_t)s.feature * g->d.n;
    uint32_t mid = hl__partition_rows(col, (uint8_t)s.bin, s.missing_left,
                                      g->rows, g->scratch, p->begin, p->end);
    if (reserve_nodes(g, g->n_nodes + 2))
        return -1;
    const uint32_t left = g->n_nodes;
    g->n_nodes += 2;
    g->nodes[p->node] =
        (hl__node){s.feature | (s.missing_left ? HL__DEFAULT_LEFT : 0u),
                   g->d.bins->cuts[s.feature][s.bin - 1], left};
    const double gain = s.score - purity(t.w, g->K);
    g->gain[p->node] = gain > 0.0 ? (float)gain : 0.0f;
    /* Right first on the stack: the left subtree is grown first. */
    if (push(g, (pending){left + 1, mid, p->end, p->depth + 1, n_const}) ||
        push(g, (pending){left, p->begin, mid, p->depth + 1, n_const}))
        return -1;
    return 0;
}

static hl_status finish_tree(const hl__fgrower *g, hl__ftree *out)
{
    out->n_nodes = g->n_nodes;
    out->n_leaves = g->n_leaves;
    out->nodes = malloc(g->n_nodes * sizeof *out->nodes);
    out->gain = malloc(g->n_nodes * sizeof *out->gain);
    out->proba = malloc((size_t)g->n_leaves * g->K * sizeof *out->proba);
    if (!out->nodes || !out->gain || !out->proba) {
        hl__ftree_free(out);
        return HL_ERR_NOMEM;
    }
    memcpy(out->nodes, g->nodes, g->n_nodes * sizeof *out->nodes);
    memcpy(out->gain, g->gain, g->n_nodes * sizeof *out->gain);
    memcpy(out->proba, g->proba,
           (size_t)g->n_leaves * g->K * sizeof *out->proba);
    return HL_OK;
}

hl_status hl__fgrow_tree(hl__fgrower *g, const uint32_t *rows, size_t n_rows,
                         const float *w, const uint32_t *copies, hl__rng *rng,
                         hl__ftree *out)
{
    memset(out, 0, sizeof *out);
    if (n_rows == 0 || n_rows > g->d.n)
        return HL_ERR_INTERNAL;
    memcpy(g->rows, rows, n_rows * sizeof *rows);
    for (size_t f = 0; f < g->nf; f++)
        g->order[f] = (uint32_t)f;
    g->w = w;
    g->copies = copies;
    g->rng = rng;
    g->n_nodes = g->n_leaves = 0;
    g->n_stack = 0;
    if (reserve_nodes(g, 1))
        return HL_ERR_NOMEM;
    g->n_nodes = 1; /* the root */
    if (push(g, (pending){0, 0, (uint32_t)n_rows, 0, 0}))
        return HL_ERR_NOMEM;
    while (g->n_stack > 0) {
        pending p = g->stack[--g->n_stack];
        if (grow_node(g, &p) != 0)
            return HL_ERR_NOMEM;
    }
    return finish_tree(g, out);
}
