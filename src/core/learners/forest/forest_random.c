/* forest_random.c - the extra-trees' random cuts scored.
 *
 * forest_split.c draws one random cut per candidate KPI; this sums, per
 * candidate and class, the weight (and copies) of the node's rows left of
 * the cut and of its missing rows (the right side is the rest), and offers
 * the cuts. That is the extra-trees' innermost work, rows x candidates x
 * nodes. The node's rows come grouped by class (forest_grower.h), so a
 * class's sums take one pass over its rows with the sums in registers.
 * Which side a row is on is a coin toss for a random cut: it is computed,
 * never branched on.
 *
 * Unit rows (every row of class k one copy weighing class_w[k], the
 * extra-trees' default) only need counts, and those are counted for 16 KPIs
 * of a row at once: one SSE2 compare of the row's bytes against the
 * candidates' cuts (a KPI that is not a candidate is counted and never
 * read), into byte counters flushed every HL__COUNT_CHUNK rows. A row then
 * costs about seven operations per 16 KPIs, however many are candidates.
 * Weighted rows (bootstrap copies, row weights) are summed per candidate,
 * HL__CUT_BLOCK at a time.
 *
 * The candidates' score terms are then computed together, and the cuts
 * offered in drawing order: the same split as scoring one candidate at a
 * time, to the last bit.
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "forest_grower.h"

/* Weighted rows: candidates per pass over the rows. */
#define HL__CUT_BLOCK 4
/* Unit rows: rows per pass, < 256 for byte counters; ~128 x 2 cache lines
 * stay in L1 between the passes over a row's KPI blocks. */
#define HL__COUNT_CHUNK 128

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
                left[q], _mm_cmpeq_epi8(_mm_min_epu8(below, cut_m1[q]), below));
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
                     const uint8_t *cut, size_t n, uint32_t begin, uint32_t end,
                     double (*acc)[4])
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

/* What offer_cut needs of cuts 0..n-1 (cut_terms: wl, wm, sl_a, sr_a,
 * sl_b, sr_b, n each), from their class sums (cut_left, cut_miss). A loop
 * over the cuts inside one over the classes: each cut's sums add the same
 * terms in the same (class) order as score_cut, and the cuts are
 * independent, so the compiler does two at a time instead of waiting on
 * one cut's chain of additions. A class absent from the node (seg) has
 * no sums and would add zeros. */
static void cut_terms_of(hl__fgrower *g, size_t n, const uint32_t *seg,
                         const hl__side *t)
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

/* Extra-trees: the cuts drawn for candidates feat[0..n) (each varies in
 * the node) over the rows of each class seg[k]..seg[k + 1], offered in
 * drawing order: the same split as one candidate at a time. */
void hl__fsplit_random(hl__fgrower *g, const uint32_t *feat, const uint8_t *cut,
                       size_t n, const uint32_t *seg, const hl__side *t,
                       hl__best_split *best)
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
        const hl__cut_sums c = {
            sums[j],         sums[n + j],     sums[2 * n + j], sums[3 * n + j],
            sums[4 * n + j], sums[5 * n + j], copies[j],       copies[n + j]};
        hl__offer_cut(g, t, &c, feat[j], cut[j], best);
    }
}
