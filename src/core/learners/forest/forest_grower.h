/* forest_grower.h - the state of a tree being grown, shared by the files
 * that grow it: forest_grow.c (the tree, node by node), forest_split.c
 * (the best split of a node) and forest_random.c (the extra-trees' random
 * cuts, summed over a node's rows). Private to those three files.
 *
 * A node's rows are one range of `rows`, grouped by class in class order
 * (seg[k] .. seg[k + 1] are class k's): the grower sorts the root's rows
 * so and the stable partition keeps every node's so. Class-grouped rows
 * let the split search sum one class at a time in registers.
 */
#ifndef HEALER_FOREST_GROWER_H
#define HEALER_FOREST_GROWER_H

#include "forest.h"

#define HL__MAX_BIN 256 /* bins 0..255 */

typedef struct hl__pending {
    uint32_t node, begin, end;
    int depth;
    uint32_t n_const; /* order[0..n_const) are constant in this node */
} hl__pending;

/* Sums of one side of a cut. */
typedef struct hl__side {
    double w[HL__MAX_CLASSES_FOREST];
    double copies; /* only counted with min_samples_leaf > 1 (count_copies) */
    double sum;    /* of w[0..K), in class order */
} hl__side;

typedef struct hl__best_split {
    double score; /* sum_k L_k^2 / W_L + sum_k R_k^2 / W_R */
    uint32_t feature;
    uint32_t bin; /* last value bin that goes left; 0 = no split */
    int missing_left;
} hl__best_split;

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
    double *hist; /* HL__MAX_BIN * slot, all zero between uses */
    const float *w;
    const uint32_t *copies;
    hl__rng *rng;
    hl__pending *stack;
    uint32_t *stack_seg; /* K + 1 class boundaries per pending node */
    size_t n_stack, cap_stack;
    hl__node *nodes;
    float *gain;
    float *cover; /* per node: its rows' weight (the node totals' sum) */
    /* Per split node, its last bin going left; finish_tree looks the
     * float threshold up. Looked up when the node was split, the rarely
     * read cut table was a cache miss that stalled the growth. */
    uint8_t *split_bin;
    uint32_t n_nodes, cap_nodes;
    float *proba;                  /* K per leaf */
    uint32_t n_leaves, cap_leaves; /* in leaves */
};

/* What a cut's score needs, from the class sums of its left side and of
 * the node's missing rows: the weight left (wl) and missing (wm), the sums
 * of squares of both sides with the missing rows right (sl_a, sr_a) and
 * left (sl_b, sr_b), and the copies left (cl) and missing (cm). */
typedef struct hl__cut_sums {
    double wl, wm, sl_a, sr_a, sl_b, sr_b, cl, cm;
} hl__cut_sums;

/* Keeps (score = sl / wl + sr / wr) in *best when it beats it. Most cuts
 * do not: they are screened by cross-multiplying (wl, wr > 0), and only
 * a possible winner pays for the two divisions. The winner is decided on
 * the divided score; the screen (>=, not >) can only differ from it when
 * two scores are within rounding of each other, and the result is
 * deterministic either way. */
static inline void hl__offer(double sl, double wl, double sr, double wr,
                             uint32_t f, uint32_t bin, int missing_left,
                             hl__best_split *best)
{
    if (!(sl * wr + sr * wl >= best->score * (wl * wr)))
        return;
    const double score = sl / wl + sr / wr;
    if (score > best->score)
        *best = (hl__best_split){score, f, bin, missing_left};
}

/* Offers the cut with sums c in a node with totals t, with missing rows
 * sent right and, when there are any, left. */
static inline __attribute__((always_inline)) void
hl__offer_cut(const hl__fgrower *g, const hl__side *t, const hl__cut_sums *c,
              uint32_t f, uint32_t bin, hl__best_split *best)
{
    const double msl = (double)g->p.min_samples_leaf, W = t->sum;
    const int counted = g->count_copies;
    const double wl = c->wl, cl = c->cl;
    const int left_ok = !counted || (cl >= msl && t->copies - cl >= msl);
    if (!(c->wm > 0.0)) {
        /* No missing rows in the node: unseen missing values follow the
         * heavier side. */
        if (left_ok && wl > 0.0 && W - wl > 0.0)
            hl__offer(c->sl_a, wl, c->sr_a, W - wl, f, bin, wl >= W - wl, best);
        return;
    }
    /* (a) missing right */
    if (left_ok && wl > 0.0 && W - wl > 0.0)
        hl__offer(c->sl_a, wl, c->sr_a, W - wl, f, bin, 0, best);
    /* (b) missing left */
    const double clb = cl + c->cm, wlb = wl + c->wm;
    if ((!counted || (clb >= msl && t->copies - clb >= msl)) && W - wlb > 0.0)
        hl__offer(c->sl_b, wlb, c->sr_b, W - wlb, f, bin, 1, best);
}

/* forest_split.c: the best split of the node whose rows are
 * rows[begin..end) (class k's at seg[k] .. seg[k + 1]) with totals t,
 * among candidate KPIs drawn from g->rng; bin 0 when no drawn KPI varies.
 * *n_const: KPIs known constant (order[0..*n_const)), in and out. */
hl__best_split hl__fsplit_find(hl__fgrower *g, uint32_t begin, uint32_t end,
                               const uint32_t *seg, const hl__side *t,
                               uint32_t *n_const);

/* forest_random.c: offers the extra-trees' cuts cut[j] of candidates
 * feat[j], j < n (each varies in the node), to *best in drawing order. */
void hl__fsplit_random(hl__fgrower *g, const uint32_t *feat, const uint8_t *cut,
                       size_t n, const uint32_t *seg, const hl__side *t,
                       hl__best_split *best);

#endif
