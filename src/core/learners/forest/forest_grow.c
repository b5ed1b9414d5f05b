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
    /* Extra-trees: the sums of the n candidates' cuts, j < n <= nf:
     * class k's weight left of cut j and missing at [k * n + j]; copies
     * left [j] and missing [n + j]; what offer_cut needs (cut_terms). */
    double *cut_left, *cut_miss, *cut_copies, *cut_terms;
    uint32_t *cut_counts; /* unit rows: one class's counts per candidate */
    uint8_t *cut_m1;      /* unit rows: cut - 1 per KPI (stride bytes) */
    uint8_t *count_left, *count_miss; /* unit rows: per KPI (stride) */
    uint32_t *cand_block; /* unit rows: offsets of the KPI blocks holding */
    size_t n_cand_blocks; /* a candidate, */
    uint8_t *block_has;   /* and per block whether it holds one */
    double (*cut_acc)[4]; /* weighted rows: one class's sums per candidate */
    /* 1 when every row of the tree is one copy weighing its class's
     * weight class_w[k]: sums are then counts times that weight. */
    int unit_rows;
    double class_w[HL__MAX_CLASSES_FOREST];
    double *hist;      /* HL__MAX_BIN * slot, all zero between uses */
    const float *w;
    const uint32_t *copies;
    hl__rng *rng;
    pending *stack;
    uint32_t *stack_seg; /* K + 1 class boundaries per pending node */
    size_t n_stack, cap_stack;
    hl__node *nodes;
    float *gain;
    /* Per split node, its last bin going left; finish_tree looks the
     * float threshold up. Looked up when the node was split, the rarely
     * read cut table was a cache miss that stalled the growth. */
    uint8_t *split_bin;
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
    g->cut_left = malloc((g->K * g->nf + 1) * sizeof *g->cut_left);
    g->cut_miss = malloc((g->K * g->nf + 1) * sizeof *g->cut_miss);
    g->cut_copies = malloc((2 * g->nf + 1) * sizeof *g->cut_copies);
    g->cut_terms = malloc((6 * g->nf + 1) * sizeof *g->cut_terms);
    g->cut_counts = malloc((2 * g->nf + 1) * sizeof *g->cut_counts);
    g->cut_m1 = calloc(HL__FOREST_STRIDE(g->nf) + 16, 1);
    g->count_left = malloc(HL__FOREST_STRIDE(g->nf) + 16);
    g->count_miss = malloc(HL__FOREST_STRIDE(g->nf) + 16);
    g->cand_block = malloc((HL__FOREST_STRIDE(g->nf) / 16 + 1) *
                           sizeof *g->cand_block);
    g->block_has = malloc(HL__FOREST_STRIDE(g->nf) / 16 + 1);
    g->cut_acc = malloc((g->nf + 1) * sizeof *g->cut_acc);
    g->hi = malloc(HL__FOREST_STRIDE(g->nf) + 16);
    g->hist = calloc(HL__MAX_BIN * g->slot, sizeof *g->hist);
    if (!g->rows || !g->scratch || !g->order || !g->hist || !g->lo || !g->hi ||
        !g->cand || !g->cand_cut || !g->cut_left ||
        !g->cut_miss || !g->cut_copies || !g->cut_terms || !g->cut_counts ||
        !g->cut_m1 || !g->count_left || !g->count_miss || !g->cand_block || !g->block_has ||
        !g->cut_acc) {
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
    free(g->cut_left);
    free(g->cut_miss);
    free(g->cut_copies);
    free(g->cut_terms);
    free(g->cut_counts);
    free(g->cut_m1);
    free(g->count_left);
    free(g->count_miss);
    free(g->cand_block);
    free(g->block_has);
    free(g->cut_acc);
    free(g->hist);
    free(g->stack);
    free(g->stack_seg);
    free(g->nodes);
    free(g->gain);
    free(g->split_bin);
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
    uint8_t *split_bin = realloc(g->split_bin, cap);
    if (split_bin)
        g->split_bin = split_bin;
    if (!nodes || !gain || !split_bin)
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

/* Pushes node p, whose rows of class k are seg[k] .. seg[k + 1]. */
static int push(hl__fgrower *g, pending p, const uint32_t *seg)
{
    const size_t n_seg = g->K + 1;
    if (g->n_stack == g->cap_stack) {
        size_t cap = g->cap_stack ? 2 * g->cap_stack : 64;
        pending *s = realloc(g->stack, cap * sizeof *s);
        if (s)
            g->stack = s;
        uint32_t *ss = realloc(g->stack_seg, cap * n_seg * sizeof *ss);
        if (ss)
            g->stack_seg = ss;
        if (!s || !ss)
            return -1;
        g->cap_stack = cap;
    }
    memcpy(g->stack_seg + g->n_stack * n_seg, seg, n_seg * sizeof *seg);
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

/* What a cut's score needs, from the class sums of its left side and of
 * the node's missing rows: the weight left (wl) and missing (wm), the sums
 * of squares of both sides with the missing rows right (sl_a, sr_a) and
 * left (sl_b, sr_b), and the copies left (cl) and missing (cm). */
typedef struct cut_sums {
    double wl, wm, sl_a, sr_a, sl_b, sr_b, cl, cm;
} cut_sums;

/* Offers the cut with sums c in a node with totals t, with missing rows
 * sent right and, when there are any, left. */
static inline __attribute__((always_inline)) void
offer_cut(const hl__fgrower *g, const side *t, const cut_sums *c, uint32_t f,
          uint32_t bin, best_split *best)
{
    const double msl = (double)g->p.min_samples_leaf, W = t->sum;
    const int counted = g->count_copies;
    const double wl = c->wl, cl = c->cl;
    const int left_ok = !counted || (cl >= msl && t->copies - cl >= msl);
    if (!(c->wm > 0.0)) {
        /* No missing rows in the node: unseen missing values follow the
         * heavier side. */
        if (left_ok && wl > 0.0 && W - wl > 0.0)
            offer(c->sl_a, wl, c->sr_a, W - wl, f, bin, wl >= W - wl, best);
        return;
    }
    /* (a) missing right */
    if (left_ok && wl > 0.0 && W - wl > 0.0)
        offer(c->sl_a, wl, c->sr_a, W - wl, f, bin, 0, best);
    /* (b) missing left */
    const double clb = cl + c->cm, wlb = wl + c->wm;
    if ((!counted || (clb >= msl && t->copies - clb >= msl)) && W - wlb > 0.0)
        offer(c->sl_b, wlb, c->sr_b, W - wlb, f, bin, 1, best);
}

/* Scores the cut whose value-bin left side has sums l (copies cl) in a
 * node with totals t and missing rows m; keeps it in *best when it wins.
 * Right sides are totals minus left: one pass over the classes computes
 * both ways. Inlined into the forest's histogram scan: it runs once per
 * cut, the forest's innermost loop. */
static inline __attribute__((always_inline)) void
score_cut(const hl__fgrower *g, const side *t, const double *l, double cl,
          const side *m, uint32_t f, uint32_t bin, best_split *best)
{
    const size_t K = g->K;
    cut_sums c = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, cl, m->copies};
    if (!(m->sum > 0.0)) {
        /* No missing rows in the node: half the arithmetic. The same
         * operations as below, so the same split either way. */
        for (size_t k = 0; k < K; k++) {
            const double lk = l[k], rk = t->w[k] - lk;
            c.wl += lk;
            c.sl_a += lk * lk;
            c.sr_a += rk * rk;
        }
        offer_cut(g, t, &c, f, bin, best);
        return;
    }
    for (size_t k = 0; k < K; k++) {
        const double lk = l[k], mk = m->w[k], rk = t->w[k] - lk - mk;
        c.wl += lk;
        c.wm += mk;
        c.sl_a += lk * lk;
        c.sr_a += (rk + mk) * (rk + mk);
        c.sl_b += (lk + mk) * (lk + mk);
        c.sr_b += rk * rk;
    }
    offer_cut(g, t, &c, f, bin, best);
}

/* What offer_cut needs of cuts 0..n-1 (cut_terms: wl, wm, sl_a, sr_a,
 * sl_b, sr_b, n each), from their class sums (cut_left, cut_miss). A loop
 * over the cuts inside one over the classes: each cut's sums add the same
 * terms in the same (class) order as score_cut, and the cuts are
 * independent, so the compiler does two at a time instead of waiting on
 * one cut's chain of additions. A class absent from the node (seg) has
 * no sums and would add zeros. */
static void cut_terms_of(hl__fgrower *g, size_t n, const uint32_t *seg,
                            const side *t)
{
    double *restrict wl = g->cut_terms, *restrict wm = wl + n;
    double *restrict sl_a = wm + n, *restrict sr_a = sl_a + n;
    double *restrict sl_b = sr_a + n, *restrict sr_b = sl_b + n;
    memset(wl, 0, 6 * n * sizeof *wl);
    for (size_t k = 0; k < g->K; k++) {
        if (seg[k] == seg[k + 1])
            continue;
        const double tk = t->w[k];
        const double *restrict l = g->cut_left + k * n;
        const double *restrict m = g->cut_miss + k * n;
        for (size_t j = 0; j < n; j++) {
            const double lk = l[j], mk = m[j], rk = tk - lk - mk;
            wl[j] += lk;
            wm[j] += mk;
            sl_a[j] += lk * lk;
            sr_a[j] += (rk + mk) * (rk + mk);
            sl_b[j] += (lk + mk) * (lk + mk);
            sr_b[j] += rk * rk;
        }
    }
}

/* ---- one candidate KPI ---- */

/* lo / hi of KPI bytes [j0, j0 + 16 * nblk) over rows[begin..end), in
 * registers: read-modify-write of the arrays per row would chain every
 * row to the previous one through memory. nblk is a constant where this
 * is inlined, so the loops unroll. */
#if defined(__SSE2__)
static inline __attribute__((always_inline)) void
ranges_blocks(const hl__fgrower *g, uint32_t begin, uint32_t end, size_t j0,
              int nblk)
{
    const size_t stride = HL__FOREST_STRIDE(g->nf);
    const uint8_t *data = g->d.rows + j0;
    const __m128i one = _mm_set1_epi8(1);
    __m128i lo[4], hi[4];
    for (int q = 0; q < nblk; q++) {
        lo[q] = _mm_set1_epi8(-1);
        hi[q] = _mm_setzero_si128();
    }
    for (uint32_t i = begin; i < end; i++) {
        const uint8_t *row = data + (size_t)g->rows[i] * stride;
        for (int q = 0; q < nblk; q++) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(row + 16 * q));
            lo[q] = _mm_min_epu8(lo[q], _mm_sub_epi8(v, one));
            hi[q] = _mm_max_epu8(hi[q], v);
        }
    }
    for (int q = 0; q < nblk; q++) {
        _mm_storeu_si128((__m128i *)(g->lo + j0 + 16 * q), lo[q]);
        _mm_storeu_si128((__m128i *)(g->hi + j0 + 16 * q), hi[q]);
    }
}
#endif

/* g->lo / g->hi of every KPI over rows[begin..end). Bin 0 (missing) minus
 * one wraps to 255, so it never lowers `lo`; the padding bytes are 0 and
 * leave their slots "all missing". Four 16-byte blocks of KPIs per pass
 * over the rows: eight accumulators and the loaded bytes fit the 16 SSE
 * registers. */
static void node_ranges(hl__fgrower *g, uint32_t begin, uint32_t end)
{
    const size_t stride = HL__FOREST_STRIDE(g->nf);
#if defined(__SSE2__)
    size_t j0 = 0;
    for (; j0 + 64 <= stride; j0 += 64)
        ranges_blocks(g, begin, end, j0, 4);
    switch ((stride - j0) / 16) {
    case 3:
        ranges_blocks(g, begin, end, j0, 3);
        break;
    case 2:
        ranges_blocks(g, begin, end, j0, 2);
        break;
    case 1:
        ranges_blocks(g, begin, end, j0, 1);
        break;
    default:
        break;
    }
#else
    uint8_t *lo = g->lo, *hi = g->hi;
    memset(lo, 0xFF, stride);
    memset(hi, 0, stride);
    for (uint32_t i = begin; i < end; i++) {
        const uint8_t *row = g->d.rows + (size_t)g->rows[i] * stride;
        for (size_t j = 0; j < stride; j++) {
            const uint8_t below = (uint8_t)(row[j] - 1u);
            if (below < lo[j])
                lo[j] = below;
            if (row[j] > hi[j])
                hi[j] = row[j];
        }
    }
#endif
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

/* The extra-trees' split search: one random cut per candidate KPI, and
 * per candidate and class the weight (and copies) of the node's rows left
 * of the cut and of its missing rows (the right side is the rest). That is
 * the extra-trees' innermost work, rows x candidates x nodes, and the
 * node's rows come grouped by class (class_segments) so that a class's
 * sums take one pass over its rows with the sums in registers. Which side
 * a row is on is a coin toss for a random cut: it is computed, never
 * branched on.
 *
 * Unit rows (every row of class k one copy weighing class_w[k], the
 * extra-trees' default) only need counts, and those are counted for every
 * KPI of a row at once: 16 KPI bytes per SSE2 compare against the
 * candidates' cuts (a KPI that is not a candidate is counted and never
 * read), in byte counters flushed every HL__COUNT_CHUNK rows. A row then
 * costs about seven operations per 16 KPIs, however many are candidates.
 * Weighted rows (bootstrap copies, row weights) are summed per candidate,
 * HL__CUT_BLOCK at a time. */

#define HL__CUT_BLOCK 4     /* weighted: candidates per pass over the rows */
#define HL__COUNT_CHUNK 128 /* unit: rows per pass, < 256 for byte counters;
                               ~128 x 2 cache lines stay in L1 between the
                               passes over a row's KPI blocks */

#if defined(__SSE2__)
/* Unit rows: for the 16-byte KPI blocks at offsets off[0..nblk) and
 * rows[begin..end) (at most 255), the rows left of each KPI's cut
 * (g->cut_m1: cut - 1) into nl[off..) and the missing ones into nm[off..).
 * nblk is a constant where this is inlined: accumulators, cuts and
 * offsets stay in registers. */
static inline __attribute__((always_inline)) void
count_pass(const hl__fgrower *g, uint32_t begin, uint32_t end,
           const uint32_t *off, int nblk, uint8_t *nl, uint8_t *nm)
{
    const size_t stride = HL__FOREST_STRIDE(g->nf);
    const __m128i one = _mm_set1_epi8(1), zero = _mm_setzero_si128();
    __m128i cut_m1[4], left[4], miss[4];
    size_t at[4];
    for (int q = 0; q < nblk; q++) {
        at[q] = off[q];
        cut_m1[q] = _mm_loadu_si128((const __m128i *)(g->cut_m1 + at[q]));
        left[q] = miss[q] = zero;
    }
    for (uint32_t i = begin; i < end; i++) {
        const uint8_t *row = g->d.rows + (size_t)g->rows[i] * stride;
        for (int q = 0; q < nblk; q++) {
            const __m128i v = _mm_loadu_si128((const __m128i *)(row + at[q]));
            /* v - 1 <= cut - 1 (unsigned): a value bin up to the cut; bin
             * 0 wraps to 255, above any cut. A true compare is all ones,
             * -1: subtracting it counts. */
            const __m128i below = _mm_sub_epi8(v, one);
            left[q] = _mm_sub_epi8(
                left[q],
                _mm_cmpeq_epi8(_mm_min_epu8(below, cut_m1[q]), below));
            miss[q] = _mm_sub_epi8(miss[q], _mm_cmpeq_epi8(v, zero));
        }
    }
    for (int q = 0; q < nblk; q++) {
        _mm_storeu_si128((__m128i *)(nl + at[q]), left[q]);
        _mm_storeu_si128((__m128i *)(nm + at[q]), miss[q]);
    }
}
#endif

/* Unit rows: count_pass over the KPI blocks holding a candidate
 * (g->cand_block, g->n_cand_blocks), four blocks (eight accumulators and
 * four cuts: 16 registers with the temporaries) a pass. Other blocks'
 * counts are not needed: with sqrt(107) = 11 candidates about one block
 * in six has none. */
static void count_rows(const hl__fgrower *g, uint32_t begin, uint32_t end,
                       uint8_t *nl, uint8_t *nm)
{
    const uint32_t *off = g->cand_block;
    const size_t n = g->n_cand_blocks;
#if defined(__SSE2__)
    size_t q = 0;
    for (; q + 4 <= n; q += 4)
        count_pass(g, begin, end, off + q, 4, nl, nm);
    switch (n - q) {
    case 3:
        count_pass(g, begin, end, off + q, 3, nl, nm);
        break;
    case 2:
        count_pass(g, begin, end, off + q, 2, nl, nm);
        break;
    case 1:
        count_pass(g, begin, end, off + q, 1, nl, nm);
        break;
    default:
        break;
    }
#else
    const size_t stride = HL__FOREST_STRIDE(g->nf);
    for (size_t q = 0; q < n; q++) {
        memset(nl + off[q], 0, 16);
        memset(nm + off[q], 0, 16);
    }
    for (uint32_t i = begin; i < end; i++) {
        const uint8_t *row = g->d.rows + (size_t)g->rows[i] * stride;
        for (size_t q = 0; q < n; q++)
            for (size_t j = off[q]; j < off[q] + 16; j++) {
                nl[j] += (uint8_t)(row[j] - 1u) <= g->cut_m1[j];
                nm[j] += row[j] == 0;
            }
    }
#endif
}

/* Weighted rows: for candidates feat[0..nb), continues the sums in
 * acc[0..nb) - left weight, missing weight, left copies, missing copies -
 * over rows[begin..end), in row order. Adding 0.0 or w, picked by the
 * side, keeps it free of branches. nb is a constant where this is
 * inlined. */
static inline __attribute__((always_inline)) void
sum_block(const hl__fgrower *g, const uint32_t *feat, const uint8_t *cut,
          int nb, uint32_t begin, uint32_t end, double (*acc)[4])
{
    const size_t stride = HL__FOREST_STRIDE(g->nf);
    double lw[HL__CUT_BLOCK], mw[HL__CUT_BLOCK];
    double lc[HL__CUT_BLOCK], mc[HL__CUT_BLOCK];
    for (int q = 0; q < nb; q++) {
        lw[q] = acc[q][0];
        mw[q] = acc[q][1];
        lc[q] = acc[q][2];
        mc[q] = acc[q][3];
    }
    for (uint32_t i = begin; i < end; i++) {
        const uint32_t r = g->rows[i];
        const uint8_t *row = g->d.rows + (size_t)r * stride;
        const double w[2] = {0.0, g->w[r]}, c[2] = {0.0, g->copies[r]};
        for (int q = 0; q < nb; q++) {
            const unsigned b = row[feat[q]];
            /* b - 1 wraps for bin 0 (missing): never left of a cut. */
            const unsigned left = b - 1u < (unsigned)cut[q], miss = b == 0;
            lw[q] += w[left];
            mw[q] += w[miss];
            lc[q] += c[left];
            mc[q] += c[miss];
        }
    }
    for (int q = 0; q < nb; q++) {
        acc[q][0] = lw[q];
        acc[q][1] = mw[q];
        acc[q][2] = lc[q];
        acc[q][3] = mc[q];
    }
}

/* Weighted rows: sum_block for every candidate, HL__CUT_BLOCK at a time,
 * into acc (zeroed here). */
static void sum_rows(const hl__fgrower *g, const uint32_t *feat,
                     const uint8_t *cut, size_t n, uint32_t begin,
                     uint32_t end, double (*acc)[4])
{
    memset(acc, 0, n * sizeof *acc);
    size_t j = 0;
    for (; j + HL__CUT_BLOCK <= n; j += HL__CUT_BLOCK)
        sum_block(g, feat + j, cut + j, HL__CUT_BLOCK, begin, end, acc + j);
    switch (n - j) {
    case 3:
        sum_block(g, feat + j, cut + j, 3, begin, end, acc + j);
        break;
    case 2:
        sum_block(g, feat + j, cut + j, 2, begin, end, acc + j);
        break;
    case 1:
        sum_block(g, feat + j, cut + j, 1, begin, end, acc + j);
        break;
    default:
        break;
    }
}

/* Class k's rows[begin..end): its entries of every candidate's sums
 * (cut_left, cut_miss: [k * n + j] for candidate j; cut_copies: copies left
 * [j] and missing [n + j], over every class). */
static void class_sums(hl__fgrower *g, const uint32_t *feat, const uint8_t *cut,
                       size_t n, size_t k, uint32_t begin, uint32_t end)
{
    double *left = g->cut_left + k * n, *miss = g->cut_miss + k * n;
    double *left_copies = g->cut_copies, *miss_copies = left_copies + n;
    if (!g->unit_rows) {
        double(*acc)[4] = g->cut_acc;
        sum_rows(g, feat, cut, n, begin, end, acc);
        for (size_t j = 0; j < n; j++) {
            left[j] = acc[j][0];
            miss[j] = acc[j][1];
            left_copies[j] += acc[j][2];
            miss_copies[j] += acc[j][3];
        }
        return;
    }
    uint32_t *count = g->cut_counts; /* per candidate: left, missing */
    memset(count, 0, n * 2 * sizeof *count);
    for (uint32_t c0 = begin; c0 < end; c0 += HL__COUNT_CHUNK) {
        const uint32_t c1 =
            end - c0 < HL__COUNT_CHUNK ? end : c0 + HL__COUNT_CHUNK;
        count_rows(g, c0, c1, g->count_left, g->count_miss);
        for (size_t j = 0; j < n; j++) {
            count[2 * j] += g->count_left[feat[j]];
            count[2 * j + 1] += g->count_miss[feat[j]];
        }
    }
    for (size_t j = 0; j < n; j++) {
        left[j] = (double)count[2 * j] * g->class_w[k];
        miss[j] = (double)count[2 * j + 1] * g->class_w[k];
        left_copies[j] += (double)count[2 * j];
        miss_copies[j] += (double)count[2 * j + 1];
    }
}

/* Extra-trees: the cuts drawn for candidates feat[0..n) (each varies in
 * the node) over the rows of each class seg[k]..seg[k + 1], offered in
 * drawing order: the same split as one candidate at a time. */
static void random_cuts(hl__fgrower *g, const uint32_t *feat,
                        const uint8_t *cut, size_t n, const uint32_t *seg,
                        const side *t, best_split *best)
{
    memset(g->cut_copies, 0, 2 * n * sizeof *g->cut_copies);
    const size_t n_blocks = HL__FOREST_STRIDE(g->nf) / 16;
    uint8_t *has = g->block_has;
    memset(has, 0, n_blocks);
    for (size_t j = 0; j < n; j++) {
        g->cut_m1[feat[j]] = (uint8_t)(cut[j] - 1u); /* cuts are >= 1 */
        has[feat[j] / 16] = 1;
    }
    g->n_cand_blocks = 0;
    for (size_t q = 0; q < n_blocks; q++)
        if (has[q])
            g->cand_block[g->n_cand_blocks++] = (uint32_t)(16 * q);
    for (size_t k = 0; k < g->K; k++)
        if (seg[k] < seg[k + 1])
            class_sums(g, feat, cut, n, k, seg[k], seg[k + 1]);
    cut_terms_of(g, n, seg, t);
    const double *sums = g->cut_terms, *copies = g->cut_copies;
    for (size_t j = 0; j < n; j++) {
        const cut_sums c = {sums[j],         sums[n + j],     sums[2 * n + j],
                            sums[3 * n + j], sums[4 * n + j], sums[5 * n + j],
                            copies[j],       copies[n + j]};
        offer_cut(g, t, &c, feat[j], cut[j], best);
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
                             const uint32_t *seg, const side *t,
                             uint32_t *n_const)
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
        random_cuts(g, g->cand, g->cand_cut, tried, seg, t, &best);
    *n_const = (uint32_t)next;
    return best;
}

/* ---- growth ---- */

/* The node's class weights and copies, one class at a time: with unit
 * rows, counts (the class's rows) times its weight. */
static void node_totals(const hl__fgrower *g, const uint32_t *seg, side *t)
{
    t->copies = 0.0;
    t->sum = 0.0;
    for (size_t k = 0; k < g->K; k++) {
        double w = 0.0, copies = 0.0;
        if (g->unit_rows) {
            copies = (double)(seg[k + 1] - seg[k]);
            w = copies * g->class_w[k];
        } else {
            for (uint32_t i = seg[k]; i < seg[k + 1]; i++) {
                w += g->w[g->rows[i]];
                copies += g->copies[g->rows[i]];
            }
        }
        t->w[k] = w;
        t->copies += copies;
        t->sum += w;
    }
}

static int is_pure(const side *t, size_t K)
{
    size_t present = 0;
    for (size_t k = 0; k < K; k++)
        present += t->w[k] > 0.0;
    return present <= 1;
}

/* Splits node p, whose rows of class k are seg[k] .. seg[k + 1], or makes
 * it a leaf; pushes its children. */
static int grow_node(hl__fgrower *g, const pending *p, const uint32_t *seg)
{
    side t;
    node_totals(g, seg, &t);
    const int depth_left = g->p.max_depth == 0 || p->depth < g->p.max_depth;
    if (!depth_left || is_pure(&t, g->K) ||
        t.copies < 2.0 * (double)g->p.min_samples_leaf)
        return make_leaf(g, p->node, &t);
    uint32_t n_const = p->n_const;
    node_ranges(g, p->begin, p->end);
    best_split s = find_split(g, p->begin, p->end, seg, &t, &n_const);
    if (s.bin == 0)
        return make_leaf(g, p->node, &t);
    uint32_t seg_left[HL__MAX_CLASSES_FOREST + 1];
    uint32_t seg_right[HL__MAX_CLASSES_FOREST + 1];
    /* The split KPI's bins from the layout the split search just read:
     * the extra-trees' row-major bytes, the forest's column. */
    const uint8_t *col = g->p.random_cuts ? g->d.rows + s.feature
                                          : g->d.cols + s.feature * g->d.n;
    const size_t stride = g->p.random_cuts ? HL__FOREST_STRIDE(g->nf) : 1;
    hl__partition_groups(col, stride, (uint8_t)s.bin, s.missing_left, g->rows,
                         g->scratch, seg, g->K, seg_left, seg_right);
    const uint32_t mid = seg_left[g->K];
    if (reserve_nodes(g, g->n_nodes + 2))
        return -1;
    const uint32_t left = g->n_nodes;
    g->n_nodes += 2;
    g->nodes[p->node] = (hl__node){
        s.feature | (s.missing_left ? HL__DEFAULT_LEFT : 0u), 0.0f, left};
    g->split_bin[p->node] = (uint8_t)s.bin;
    const double gain = s.score - purity(t.w, g->K);
    g->gain[p->node] = gain > 0.0 ? (float)gain : 0.0f;
    /* Right first on the stack: the left subtree is grown first. */
    if (push(g, (pending){left + 1, mid, p->end, p->depth + 1, n_const},
             seg_right) ||
        push(g, (pending){left, p->begin, mid, p->depth + 1, n_const},
             seg_left))
        return -1;
    return 0;
}

/* Copies the tree out, split thresholds looked up from their bins: the
 * lookups of all nodes are independent here, so their cache misses
 * overlap. */
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
    for (uint32_t i = 0; i < g->n_nodes; i++) {
        hl__node *nd = &out->nodes[i];
        if (nd->feature != HL__LEAF) {
            const uint32_t f = nd->feature & HL__FEATURE_MASK;
            nd->value = g->d.bins->cuts[f][g->split_bin[i] - 1];
        }
    }
    memcpy(out->gain, g->gain, g->n_nodes * sizeof *out->gain);
    memcpy(out->proba, g->proba,
           (size_t)g->n_leaves * g->K * sizeof *out->proba);
    return HL_OK;
}

/* g->rows = rows[0..n) grouped by class in class order, ascending within
 * a class (a stable counting sort): what class_segments relies on. */
static void sort_by_class(hl__fgrower *g, const uint32_t *rows, size_t n,
                          uint32_t *seg)
{
    uint32_t at[HL__MAX_CLASSES_FOREST + 1] = {0};
    const int32_t *y = g->d.y;
    for (size_t i = 0; i < n; i++)
        at[y[rows[i]] + 1]++;
    for (size_t k = 1; k <= g->K; k++)
        at[k] += at[k - 1];
    memcpy(seg, at, (g->K + 1) * sizeof *seg);
    for (size_t i = 0; i < n; i++)
        g->rows[at[y[rows[i]]]++] = rows[i];
}

/* g->unit_rows and g->class_w for rows g->rows[0..n): unit rows when
 * every row has one copy and the weight of the first row of its class. */
static void find_unit_rows(hl__fgrower *g, size_t n)
{
    int unit = 1;
    for (size_t i = 0; i < n && unit; i++) {
        const uint32_t r = g->rows[i];
        const size_t k = (size_t)g->d.y[r];
        if (i == 0 || k != (size_t)g->d.y[g->rows[i - 1]])
            g->class_w[k] = g->w[r];
        unit = g->copies[r] == 1 && g->w[r] == g->class_w[k];
    }
    g->unit_rows = unit;
}

hl_status hl__fgrow_tree(hl__fgrower *g, const uint32_t *rows, size_t n_rows,
                         const float *w, const uint32_t *copies, hl__rng *rng,
                         hl__ftree *out)
{
    memset(out, 0, sizeof *out);
    if (n_rows == 0 || n_rows > g->d.n)
        return HL_ERR_INTERNAL;
    g->w = w;
    g->copies = copies;
    uint32_t seg[HL__MAX_CLASSES_FOREST + 1];
    sort_by_class(g, rows, n_rows, seg);
    find_unit_rows(g, n_rows);
    for (size_t f = 0; f < g->nf; f++)
        g->order[f] = (uint32_t)f;
    g->rng = rng;
    g->n_nodes = g->n_leaves = 0;
    g->n_stack = 0;
    if (reserve_nodes(g, 1))
        return HL_ERR_NOMEM;
    g->n_nodes = 1; /* the root */
    if (push(g, (pending){0, 0, (uint32_t)n_rows, 0, 0}, seg))
        return HL_ERR_NOMEM;
    while (g->n_stack > 0) {
        const pending p = g->stack[--g->n_stack];
        /* A copy: pushing the children may move the stack. */
        memcpy(seg, g->stack_seg + g->n_stack * (g->K + 1),
               (g->K + 1) * sizeof *seg);
        if (grow_node(g, &p, seg) != 0)
            return HL_ERR_NOMEM;
    }
    return finish_tree(g, out);
}
