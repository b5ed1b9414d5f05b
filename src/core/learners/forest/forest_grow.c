/* forest_grow.c - grow one unpruned classification tree by weighted Gini.
 *
 * Nodes are grown depth-first from an explicit stack. A node becomes a
 * leaf (its class weights, normalised) when it is pure, at the depth
 * limit, too small to split, or when no drawn KPI varies in it; otherwise
 * it is split at the best cut forest_split.c finds and its rows are
 * partitioned in place (trees/partition.c), each child's rows again one
 * range grouped by class. The tree's nodes, gains and leaf probabilities
 * grow in the grower's arrays and are copied out once finished.
 *
 * The root's rows are sorted by class here (forest_grower.h says why).
 * When every row of the tree is one copy weighing its class's weight (no
 * bootstrap, no row weights: extra-trees by default), the class totals of
 * a node are counts times that weight, and forest_random.c counts instead
 * of summing.
 */
#include <stdlib.h>
#include <string.h>

#include "forest_grower.h"

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
    g->cand_block =
        malloc((HL__FOREST_STRIDE(g->nf) / 16 + 1) * sizeof *g->cand_block);
    g->block_has = malloc(HL__FOREST_STRIDE(g->nf) / 16 + 1);
    g->cut_acc = malloc((g->nf + 1) * sizeof *g->cut_acc);
    g->hi = malloc(HL__FOREST_STRIDE(g->nf) + 16);
    g->hist = calloc(HL__MAX_BIN * g->slot, sizeof *g->hist);
    if (!g->rows || !g->scratch || !g->order || !g->hist || !g->lo || !g->hi ||
        !g->cand || !g->cand_cut || !g->cut_left || !g->cut_miss ||
        !g->cut_copies || !g->cut_terms || !g->cut_counts || !g->cut_m1 ||
        !g->count_left || !g->count_miss || !g->cand_block || !g->block_has ||
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
    free(g->cover);
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
    free(t->cover);
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
    float *cover = realloc(g->cover, cap * sizeof *cover);
    if (cover)
        g->cover = cover;
    uint8_t *split_bin = realloc(g->split_bin, cap);
    if (split_bin)
        g->split_bin = split_bin;
    if (!nodes || !gain || !cover || !split_bin)
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
static int push(hl__fgrower *g, hl__pending p, const uint32_t *seg)
{
    const size_t n_seg = g->K + 1;
    if (g->n_stack == g->cap_stack) {
        size_t cap = g->cap_stack ? 2 * g->cap_stack : 64;
        hl__pending *s = realloc(g->stack, cap * sizeof *s);
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
static int make_leaf(hl__fgrower *g, uint32_t i, const hl__side *t)
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

/* ---- growth ---- */

/* The node's class weights and copies, one class at a time: with unit
 * rows, counts (the class's rows) times its weight. */
static void node_totals(const hl__fgrower *g, const uint32_t *seg, hl__side *t)
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

static int is_pure(const hl__side *t, size_t K)
{
    size_t present = 0;
    for (size_t k = 0; k < K; k++)
        present += t->w[k] > 0.0;
    return present <= 1;
}

/* Splits node p, whose rows of class k are seg[k] .. seg[k + 1], or makes
 * it a leaf; pushes its children. */
static int grow_node(hl__fgrower *g, const hl__pending *p, const uint32_t *seg)
{
    hl__side t;
    node_totals(g, seg, &t);
    g->cover[p->node] = (float)t.sum;
    const int depth_left = g->p.max_depth == 0 || p->depth < g->p.max_depth;
    if (!depth_left || is_pure(&t, g->K) ||
        t.copies < 2.0 * (double)g->p.min_samples_leaf)
        return make_leaf(g, p->node, &t);
    uint32_t n_const = p->n_const;
    hl__best_split s = hl__fsplit_find(g, p->begin, p->end, seg, &t, &n_const);
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
    if (push(g, (hl__pending){left + 1, mid, p->end, p->depth + 1, n_const},
             seg_right) ||
        push(g, (hl__pending){left, p->begin, mid, p->depth + 1, n_const},
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
    out->cover = malloc(g->n_nodes * sizeof *out->cover);
    if (!out->nodes || !out->gain || !out->proba || !out->cover) {
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
    memcpy(out->cover, g->cover, g->n_nodes * sizeof *out->cover);
    memcpy(out->proba, g->proba,
           (size_t)g->n_leaves * g->K * sizeof *out->proba);
    return HL_OK;
}

/* g->rows = rows[0..n) grouped by class in class order, ascending within
 * a class (a stable counting sort): see forest_grower.h. */
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
 * every row has one copy and the weight of the first row of its class
 * (and the caller did not ask for sums). */
static void find_unit_rows(hl__fgrower *g, size_t n)
{
    int unit = !g->p.sum_weights;
    memset(g->class_w, 0, sizeof g->class_w);
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
    if (push(g, (hl__pending){0, 0, (uint32_t)n_rows, 0, 0}, seg))
        return HL_ERR_NOMEM;
    while (g->n_stack > 0) {
        const hl__pending p = g->stack[--g->n_stack];
        /* A copy: pushing the children may move the stack. */
        memcpy(seg, g->stack_seg + g->n_stack * (g->K + 1),
               (g->K + 1) * sizeof *seg);
        if (grow_node(g, &p, seg) != 0)
            return HL_ERR_NOMEM;
    }
    return finish_tree(g, out);
}
