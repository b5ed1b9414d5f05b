/* forest_split.c - the best split of one node: candidate KPIs drawn, a
 * forest's every cut or an extra-trees' random cut of each, scored by
 * weighted Gini.
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
 *     1e-4..1e17 gets cuts where its rows are, not all in the top decade);
 *     the candidates' cuts are then summed together (forest_random.c).
 * Missing values (bin 0) are tried on both sides; the better side is kept.
 * The split with the largest weighted Gini decrease wins, ties to the
 * first drawn: everything follows from the tree's random stream, so a
 * tree depends on its seed only.
 *
 * Before drawing, one pass over the node's row-major bytes finds every
 * KPI's lowest and highest value bin at once (16 KPIs per SSE2 step): a
 * KPI constant in the node then costs nothing, and the extra-trees cut is
 * drawn without a pass of its own. Deep nodes, where most KPIs are
 * constant, are where most of the work is. The forest's per-bin histogram
 * exists for one KPI at a time and only the bins the node touched are
 * visited and cleared, so a node with three rows costs three rows, not
 * 255 bins times the classes.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "forest_grower.h"

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

/* Scores the cut whose value-bin left side has sums l (copies cl) in a
 * node with totals t and missing rows m; keeps it in *best when it wins.
 * Right sides are totals minus left: one pass over the classes computes
 * both ways. Inlined into the forest's histogram scan: it runs once per
 * cut, the forest's innermost loop. */
static inline __attribute__((always_inline)) void
score_cut(const hl__fgrower *g, const hl__side *t, const double *l, double cl,
          const hl__side *m, uint32_t f, uint32_t bin, hl__best_split *best)
{
    const size_t K = g->K;
    hl__cut_sums c = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, cl, m->copies};
    if (!(m->sum > 0.0)) {
        /* No missing rows in the node: half the arithmetic. The same
         * operations as below, so the same split either way. */
        for (size_t k = 0; k < K; k++) {
            const double lk = l[k], rk = t->w[k] - lk;
            c.wl += lk;
            c.sl_a += lk * lk;
            c.sr_a += rk * rk;
        }
        hl__offer_cut(g, t, &c, f, bin, best);
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
    hl__offer_cut(g, t, &c, f, bin, best);
}

/* Best cut of KPI f, which varies in the node, over rows[begin..end).
 * A bitmap of the bins the rows fall in lets the scan and the clean-up
 * visit those bins only: in the deep nodes, where most of the work is,
 * that is a few bins out of 255. */
static void best_cut(hl__fgrower *g, uint32_t f, uint32_t begin, uint32_t end,
                     const hl__side *t, hl__best_split *best)
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
    hl__side m;
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

/* Draws candidate KPIs until mtry non-constant ones were tried, or none
 * is left. A KPI constant in a node is constant in its children: the
 * order array keeps the ones known (n_const on entry) and found here in
 * front, and *n_const returns their count for the children. Within a
 * subtree only positions past its own known constants move, so the
 * prefix a node hands to its right child is intact when that child is
 * grown (scikit-learn's bookkeeping). */
hl__best_split hl__fsplit_find(hl__fgrower *g, uint32_t begin, uint32_t end,
                               const uint32_t *seg, const hl__side *t,
                               uint32_t *n_const)
{
    node_ranges(g, begin, end);
    /* Any valid split beats none, as in scikit-learn: an unlimited tree
     * splits until its leaves are pure or their rows cannot be told
     * apart (the stored gain is then clamped at 0). */
    hl__best_split best = {-1.0, 0, 0, 0};
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
        hl__fsplit_random(g, g->cand, g->cand_cut, tried, seg, t, &best);
    *n_const = (uint32_t)next;
    return best;
}
