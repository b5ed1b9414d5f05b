/* trees/shap.c - path-dependent TreeSHAP by leaf tables, by a
 * quadrature for the leaves too deep for a table, and by Lundberg's
 * recursion for trees whose paths test more than 64 distinct features
 * (see shap.h).
 *
 * The leaf tables. For a leaf with value v whose path tests the distinct
 * features F = {1..d}, let z_j be the share of the training weight that
 * follows the path at feature j's tests (the product of the cover ratios
 * of those splits) and o_j = 1 when the row follows them all. With S the
 * known features, the leaf adds v * prod_{j in S} o_j * prod_{j not in S}
 * z_j to the tree's expected output, so the Shapley value of feature p is
 *
 *   v (o_p - z_p) sum_{S in A \ {p}} w(|S|) prod_{j in F \ S, j != p} z_j
 *
 * where A = {j : o_j = 1} and w(k) = k! (d - k - 1)! / d!. Writing
 * T(B) = sum_{S in B} w(|S|) prod_{j in F \ S} z_j, the sum is
 * T(A \ {p}) / z_p. T depends on the leaf alone: 2^d numbers made once,
 * from the coefficients of prod_{j in B} (z_j + t), one subset from a
 * smaller one. A row then costs, per leaf, one pass over its path to find
 * A and d lookups.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "trees/shap.h"

typedef struct leaf_rec {
    uint32_t node;       /* the leaf */
    uint32_t d;          /* distinct features on its path */
    uint32_t first_feat; /* into feat[], inv_z[] */
    size_t first_entry;  /* into table[]: 2^d entries; NO_TABLE: none,
                            the leaf takes the quadrature */
    size_t first_value;  /* into values[]: n_values, scaled */
} leaf_rec;

typedef struct shap_tree {
    const hl__node *nodes;
    size_t first_pos; /* into pos[] */
    const float *cover;
    uint32_t n_nodes;
    int recursive; /* a path too long for tables: the recursion */
    uint32_t first_leaf, n_leaves;
} shap_tree;

/* A growable array of fixed-size items. */
typedef struct vec {
    void *p;
    size_t n, cap, size;
} vec;

static void *vec_push(vec *v, size_t count)
{
    if (v->n + count > v->cap) {
        size_t cap = v->cap ? v->cap : 64;
        while (cap < v->n + count)
            cap *= 2;
        void *p = realloc(v->p, cap * v->size);
        if (!p)
            return NULL;
        v->p = p;
        v->cap = cap;
    }
    void *at = (char *)v->p + v->n * v->size;
    v->n += count;
    return at;
}

struct hl__shap {
    hl__shap_source src;
    shap_tree *trees;
    vec leaves;       /* leaf_rec */
    vec feat;         /* uint32_t: distinct features per leaf */
    vec inv_z;        /* double: 1 / z, z the feature's share (a
                         quadrature leaf keeps z itself) */
    vec values;       /* double: each leaf's values times the scale */
    vec pos;          /* uint8_t per node of a tabled tree: its split's
                         feature among the distinct ones above it */
    vec table;        /* double: T per leaf (times the value when a leaf
                         has one) */
    double *expected; /* n_trees x n_values */
    uint32_t max_nodes, max_depth;
    /* Gauss-Legendre nodes and weights on [0, 1]: q points at
     * gl_t[q - 1][0..q) */
    double gl_t[HL__SHAP_LEAF_MAX_FEATURES / 2][HL__SHAP_LEAF_MAX_FEATURES / 2];
    double gl_w[HL__SHAP_LEAF_MAX_FEATURES / 2][HL__SHAP_LEAF_MAX_FEATURES / 2];
};

#define NO_TABLE SIZE_MAX

/* The share of a node's training weight that reaches its child. A
 * boosted tree's cover is a hessian sum, 0 where every row was already
 * certain: such a share counts as 1e-12 instead, which keeps every
 * division defined and moves no result by more than 1e-12 of a leaf's
 * value (the expected values use the same shares, so the contributions
 * still add up). */
#define HL__SHAP_MIN_SHARE 1e-12

static double share_of(const float *cover, uint32_t parent, uint32_t child)
{
    double r = (double)cover[child] / (double)cover[parent];
    return r > HL__SHAP_MIN_SHARE ? r : HL__SHAP_MIN_SHARE;
}

/* ---- building ---- */

typedef struct builder {
    hl__shap *s;
    size_t tree;
    size_t first_pos; /* the tree's node positions in s->pos */
    size_t table_end; /* the tree's tables may not grow past this */
    const hl__node *nodes;
    const float *cover;
    uint32_t *path;  /* node indices from the root to the current node */
    double *poly;    /* scratch: 2^D x (D + 1) coefficients */
    double *prod_in; /* scratch: 2^D products */
    unsigned max_features; /* on a leaf's path, past which: the recursion */
    int too_deep; /* a leaf tests more than max_features distinct features */
} builder;

/* w(k) for k = 0..d-1: k! (d - k - 1)! / d! = 1 / (d C(d - 1, k)). */
static void shapley_weights(uint32_t d, double *w)
{
    for (uint32_t k = 0; k < d; k++) {
        double v = 1.0 / d;
        for (uint32_t i = 0; i < k; i++)
            v *= (double)(i + 1) / (double)(d - 1 - i);
        w[k] = v;
    }
}

/* T(B) for every subset B of the d features with shares z, into t. */
static void leaf_table(uint32_t d, const double *z, double *poly,
                       double *prod_in, double *t)
{
    double w[HL__SHAP_TABLE_MAX_FEATURES];
    shapley_weights(d, w);
    const size_t n = (size_t)1 << d, stride = d + 1, mask = n - 1;
    poly[0] = 1.0;
    for (size_t k = 1; k <= d; k++)
        poly[k] = 0.0;
    prod_in[0] = 1.0;
    for (size_t b = 1; b < n; b++) {
        unsigned low = (unsigned)__builtin_ctzll(b);
        const double *from = poly + (b & (b - 1)) * stride;
        double *to = poly + b * stride;
        /* (z_low + t) times the polynomial of the subset without low */
        to[0] = from[0] * z[low];
        for (size_t k = 1; k <= d; k++)
            to[k] = from[k] * z[low] + from[k - 1];
        prod_in[b] = prod_in[b & (b - 1)] * z[low];
    }
    for (size_t b = 0; b < n; b++) {
        const double *c = poly + b * stride;
        double sum = 0.0;
        for (uint32_t k = 0; k < d; k++)
            sum += w[k] * c[k];
        t[b] = prod_in[mask & ~b] * sum;
    }
}

/* The leaf at the end of bd->path[0..depth]: its distinct features, their
 * shares, its tests and its table. 0 = out of memory. */
static int add_leaf(builder *bd, uint32_t depth)
{
    hl__shap *s = bd->s;
    const hl__node *nodes = bd->nodes;
    uint32_t feats[HL__SHAP_LEAF_MAX_FEATURES];
    double z[HL__SHAP_LEAF_MAX_FEATURES];
    uint32_t d = 0;
    leaf_rec rec = {bd->path[depth], 0, (uint32_t)s->feat.n, s->table.n,
                    s->values.n};
    uint8_t *pos_of = (uint8_t *)s->pos.p + bd->first_pos;
    for (uint32_t i = 0; i < depth; i++) {
        uint32_t parent = bd->path[i], child = bd->path[i + 1];
        uint32_t f = nodes[parent].feature & HL__FEATURE_MASK, pos = 0;
        while (pos < d && feats[pos] != f)
            pos++;
        if (pos == d) {
            if (d == bd->max_features) {
                bd->too_deep = 1;
                return 1;
            }
            feats[d] = f;
            z[d++] = 1.0;
        }
        z[pos] *= share_of(bd->cover, parent, child);
        /* the same for every leaf below: positions follow the path */
        pos_of[parent] = (uint8_t)pos;
    }
    rec.d = d;
    /* a table when the path and the tree's budget allow, else the
     * quadrature */
    const int tabled = d <= HL__SHAP_TABLE_MAX_FEATURES &&
                       s->table.n + ((size_t)1 << d) <= bd->table_end;
    uint32_t *fp = vec_push(&s->feat, d);
    double *op = vec_push(&s->inv_z, d);
    double *tp = tabled ? vec_push(&s->table, (size_t)1 << d) : NULL;
    leaf_rec *lp = vec_push(&s->leaves, 1);
    double *vp = vec_push(&s->values, s->src.n_values);
    if ((d && (!fp || !op)) || (tabled && !tp) || !lp || !vp)
        return 0;
    const float *vals = s->src.leaf(s->src.ctx, bd->tree, rec.node);
    for (size_t v = 0; v < s->src.n_values; v++)
        vp[v] = (double)vals[v] * s->src.scale;
    memcpy(fp, feats, d * sizeof *fp);
    if (!tabled) {
        memcpy(op, z, d * sizeof *op);
        rec.first_entry = NO_TABLE;
        *lp = rec;
        return 1;
    }
    for (uint32_t j = 0; j < d; j++)
        op[j] = 1.0 / z[j];
    leaf_table(d, z, bd->poly, bd->prod_in, tp);
    if (s->src.n_values == 1) /* the one value folded into the table */
        for (size_t b = 0; b < ((size_t)1 << d); b++)
            tp[b] *= vp[0];
    *lp = rec;
    return 1;
}

/* Visits the subtree at bd->path[depth]; 0 = out of memory. */
static int visit(builder *bd, uint32_t depth)
{
    const hl__node *n = &bd->nodes[bd->path[depth]];
    if (bd->too_deep)
        return 1;
    if (n->feature == HL__LEAF)
        return add_leaf(bd, depth);
    for (uint32_t c = 0; c < 2; c++) {
        bd->path[depth + 1] = n->left + c;
        if (!visit(bd, depth + 1))
            return 0;
    }
    return 1;
}

/* The depth of the deepest leaf (children come after their parents). */
static uint32_t tree_depth(const hl__node *nodes, uint32_t n, uint32_t *depth)
{
    uint32_t deepest = 0;
    memset(depth, 0, n * sizeof *depth);
    for (uint32_t i = 0; i < n; i++) {
        if (nodes[i].feature == HL__LEAF)
            continue;
        depth[nodes[i].left] = depth[nodes[i].left + 1] = depth[i] + 1;
        if (depth[i] + 1 > deepest)
            deepest = depth[i] + 1;
    }
    return deepest;
}

/* The expected values of tree t: each leaf weighed by the product of the
 * shares on its path (children come after their parents). share is
 * scratch for the tree's nodes. */
static void expected_values(const hl__shap *s, size_t t, double *share,
                            double *e)
{
    const hl__shap_source *src = &s->src;
    const shap_tree *tr = &s->trees[t];
    for (size_t v = 0; v < src->n_values; v++)
        e[v] = 0.0;
    share[0] = 1.0;
    for (uint32_t i = 0; i < tr->n_nodes; i++) {
        const hl__node *n = &tr->nodes[i];
        if (n->feature != HL__LEAF) {
            share[n->left] = share[i] * share_of(tr->cover, i, n->left);
            share[n->left + 1] = share[i] * share_of(tr->cover, i, n->left + 1);
            continue;
        }
        const float *val = src->leaf(src->ctx, t, i);
        for (size_t v = 0; v < src->n_values; v++)
            e[v] += share[i] * val[v] * src->scale;
    }
}

/* Tree t: tables when every path and the budget allow, else the
 * recursion. 1 = done, 0 = out of memory, -1 = deeper than
 * HL__SHAP_MAX_DEPTH. */
static int prepare_tree(hl__shap *s, size_t t, builder *bd, uint32_t *depth)
{
    shap_tree *tr = &s->trees[t];
    tr->nodes = s->src.nodes(s->src.ctx, t, &tr->n_nodes, &tr->cover);
    uint32_t deepest = tree_depth(tr->nodes, tr->n_nodes, depth);
    if (deepest > HL__SHAP_MAX_DEPTH)
        return -1;
    if (tr->n_nodes > s->max_nodes)
        s->max_nodes = tr->n_nodes;
    if (deepest > s->max_depth)
        s->max_depth = deepest;
    const size_t leaves = s->leaves.n, feat = s->feat.n, inv_z = s->inv_z.n,
                 pos = s->pos.n, table = s->table.n, values = s->values.n;
    tr->first_leaf = (uint32_t)leaves;
    tr->first_pos = bd->first_pos = s->pos.n;
    if (!vec_push(&s->pos, tr->n_nodes))
        return 0;
    bd->tree = t;
    bd->table_end = table + (size_t)HL__SHAP_TABLE_PER_NODE * tr->n_nodes;
    bd->nodes = tr->nodes;
    bd->cover = tr->cover;
    bd->too_deep = 0;
    bd->max_features = s->src.leaf_features_cap ? s->src.leaf_features_cap
                                                : HL__SHAP_LEAF_MAX_FEATURES;
    bd->path[0] = 0;
    if (!visit(bd, 0))
        return 0;
    if (bd->too_deep) { /* undo this tree's leaves */
        tr->recursive = 1;
        s->leaves.n = leaves;
        s->feat.n = feat;
        s->inv_z.n = inv_z;
        s->values.n = values;
        s->pos.n = pos;
        s->table.n = table;
    }
    tr->n_leaves = (uint32_t)(s->leaves.n - leaves);
    return 1;
}

void hl__shap_free(hl__shap *s)
{
    if (!s)
        return;
    free(s->trees);
    free(s->leaves.p);
    free(s->feat.p);
    free(s->inv_z.p);
    free(s->values.p);
    free(s->pos.p);
    free(s->table.p);
    free(s->expected);
    free(s);
}

/* The n Gauss-Legendre nodes and weights on [0, 1] (Newton's method on
 * the Legendre polynomial from the usual first guesses): exact for
 * polynomials up to degree 2n - 1. */
static void gauss_legendre(unsigned n, double *t, double *w)
{
    for (unsigned i = 0; i < (n + 1) / 2; i++) {
        double z = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1.0;
        for (int it = 0; it < 100; it++) {
            double p1 = 1.0, p2 = 0.0;
            for (unsigned j = 1; j <= n; j++) {
                const double p3 = p2;
                p2 = p1;
                p1 = ((2.0 * j - 1.0) * z * p2 - (j - 1.0) * p3) / j;
            }
            dp = n * (z * p1 - p2) / (z * z - 1.0);
            const double step = p1 / dp;
            z -= step;
            if (fabs(step) < 1e-16)
                break;
        }
        t[i] = 0.5 * (1.0 - z);
        t[n - 1 - i] = 0.5 * (1.0 + z);
        w[i] = w[n - 1 - i] = 1.0 / ((1.0 - z * z) * dp * dp);
    }
}

static hl_status check_roots(const hl__shap_source *src, hl_error *err)
{
    for (size_t t = 0; t < src->n_trees; t++) {
        uint32_t n;
        const float *cover;
        src->nodes(src->ctx, t, &n, &cover);
        if (n == 0 || !(cover[0] > 0.0f))
            return hl__fail(err, HL_ERR_INVALID,
                            "tree %zu has no training weight recorded at its "
                            "root: its contributions cannot be computed",
                            t);
    }
    return HL_OK;
}

hl_status hl__shap_build(const hl__shap_source *src, hl__shap **out,
                         hl_error *err)
{
    *out = NULL;
    hl_status rc = check_roots(src, err);
    if (rc != HL_OK)
        return rc;
    hl__shap *s = calloc(1, sizeof *s);
    uint32_t max_nodes = 1;
    for (size_t t = 0; t < src->n_trees; t++) {
        uint32_t n;
        const float *cover;
        src->nodes(src->ctx, t, &n, &cover);
        if (n > max_nodes)
            max_nodes = n;
    }
    const size_t D = HL__SHAP_TABLE_MAX_FEATURES;
    builder bd = {.s = s,
                  .path = malloc((max_nodes + 1) * sizeof *bd.path),
                  .poly = malloc(((size_t)1 << D) * (D + 1) * sizeof *bd.poly),
                  .prod_in = malloc(((size_t)1 << D) * sizeof *bd.prod_in)};
    uint32_t *depth = malloc((max_nodes + 1) * sizeof *depth);
    double *share = malloc((max_nodes + 1) * sizeof *share);
    int ok = s && bd.path && bd.poly && bd.prod_in && depth && share;
    if (ok) {
        s->src = *src;
        s->leaves.size = sizeof(leaf_rec);
        s->feat.size = sizeof(uint32_t);
        s->inv_z.size = sizeof(double);
        s->values.size = sizeof(double);
        s->pos.size = sizeof(uint8_t);
        s->table.size = sizeof(double);
        for (unsigned q = 1; q <= HL__SHAP_LEAF_MAX_FEATURES / 2; q++)
            gauss_legendre(q, s->gl_t[q - 1], s->gl_w[q - 1]);
        s->trees = calloc(src->n_trees + 1, sizeof *s->trees);
        s->expected =
            malloc((src->n_trees * src->n_values + 1) * sizeof *s->expected);
        ok = s->trees && s->expected;
    }
    size_t deep = src->n_trees; /* the first tree too deep, if any */
    for (size_t t = 0; ok && t < src->n_trees; t++) {
        int done = prepare_tree(s, t, &bd, depth);
        if (done < 0)
            deep = t;
        ok = done > 0;
        if (ok)
            expected_values(s, t, share, s->expected + t * src->n_values);
    }
    free(bd.path);
    free(bd.poly);
    free(bd.prod_in);
    free(depth);
    free(share);
    if (!ok) {
        hl__shap_free(s);
        if (deep < src->n_trees)
            return hl__fail(err, HL_ERR_INVALID,
                            "tree %zu is deeper than the %d levels "
                            "explanations go to",
                            deep, HL__SHAP_MAX_DEPTH);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return HL_OK;
}

/* ---- explaining a row: the recursion ---- */

/* An element of the recursion's path: a distinct feature, the share of
 * the training weight (zero) and of the row (one, 0 or 1) that follows
 * the path at its tests, and the weight of the subsets it stands for. */
typedef struct path_elem {
    int64_t feature;
    double zero, one, pweight;
} path_elem;

static void extend_path(path_elem *m, uint32_t u, double zero, double one,
                        int64_t feature)
{
    m[u] = (path_elem){feature, zero, one, u == 0 ? 1.0 : 0.0};
    for (int64_t i = (int64_t)u - 1; i >= 0; i--) {
        m[i + 1].pweight += one * m[i].pweight * (double)(i + 1) / (u + 1);
        m[i].pweight = zero * m[i].pweight * (double)(u - i) / (u + 1);
    }
}

static void unwind_path(path_elem *m, uint32_t u, uint32_t at)
{
    const double one = m[at].one, zero = m[at].zero;
    double next = m[u].pweight;
    for (int64_t i = (int64_t)u - 1; i >= 0; i--) {
        if (one != 0.0) {
            double tmp = m[i].pweight;
            m[i].pweight = next * (u + 1) / ((double)(i + 1) * one);
            next = tmp - m[i].pweight * zero * (double)(u - i) / (u + 1);
        } else {
            m[i].pweight = m[i].pweight * (u + 1) / (zero * (double)(u - i));
        }
    }
    for (uint32_t i = at; i < u; i++) {
        m[i].feature = m[i + 1].feature;
        m[i].zero = m[i + 1].zero;
        m[i].one = m[i + 1].one;
    }
}

/* The total weight of the path with element `at` unwound. */
static double unwound_sum(const path_elem *m, uint32_t u, uint32_t at)
{
    const double one = m[at].one, zero = m[at].zero;
    double next = m[u].pweight, total = 0.0;
    for (int64_t i = (int64_t)u - 1; i >= 0; i--) {
        if (one != 0.0) {
            double tmp = next * (u + 1) / ((double)(i + 1) * one);
            total += tmp;
            next = m[i].pweight - tmp * zero * (double)(u - i) / (u + 1);
        } else {
            total += m[i].pweight / zero * (u + 1) / (double)(u - i);
        }
    }
    return total;
}

/* Whether a row goes left at an internal node. */
static inline int goes_left(const hl__node *n, const float *row)
{
    float x = row[n->feature & HL__FEATURE_MASK];
    return isnan(x) ? (n->feature & HL__DEFAULT_LEFT) != 0 : x <= n->value;
}

typedef struct row_ctx {
    const hl__shap *s;
    size_t t;
    const shap_tree *tr;
    const float *row;
    double *phi;
    size_t out;
} row_ctx;

static void add_leaf_values(const row_ctx *c, uint32_t leaf, size_t feature,
                            double weight)
{
    const hl__shap_source *src = &c->s->src;
    const float *val = src->leaf(src->ctx, c->t, leaf);
    const size_t nf1 = src->n_features + 1;
    for (size_t v = 0; v < src->n_values; v++)
        c->phi[(c->out + v) * nf1 + feature] += weight * val[v] * src->scale;
}

static void recurse(const row_ctx *c, uint32_t node, path_elem *parent,
                    uint32_t u, double zero, double one, int64_t feature)
{
    path_elem *m = parent + u + 1;
    memcpy(m, parent, (u + 1) * sizeof *m);
    extend_path(m, u, zero, one, feature);
    const hl__node *n = &c->tr->nodes[node];
    if (n->feature == HL__LEAF) {
        for (uint32_t i = 1; i <= u; i++) {
            double w = unwound_sum(m, u, i);
            add_leaf_values(c, node, (size_t)m[i].feature,
                            w * (m[i].one - m[i].zero));
        }
        return;
    }
    const int64_t split = n->feature & HL__FEATURE_MASK;
    const uint32_t hot = n->left + (goes_left(n, c->row) ? 0 : 1);
    const uint32_t cold = hot == n->left ? n->left + 1 : n->left;
    double in_zero = 1.0, in_one = 1.0;
    uint32_t at = 0;
    while (at <= u && m[at].feature != split)
        at++;
    if (at <= u) { /* tested before on this path: merge with that test */
        in_zero = m[at].zero;
        in_one = m[at].one;
        unwind_path(m, u, at);
        u--;
    }
    recurse(c, hot, m, u + 1, share_of(c->tr->cover, node, hot) * in_zero,
            in_one, split);
    recurse(c, cold, m, u + 1, share_of(c->tr->cover, node, cold) * in_zero,
            0.0, split);
}

/* ---- explaining a row: the tables ---- */

/* Adds w times the leaf's scaled values (n_values of them) to feature f
 * of the row's outputs. */
static inline void add_values(const hl__shap_source *src, double *phi,
                              size_t out, const double *vals, size_t f,
                              double w)
{
    const size_t nf1 = src->n_features + 1;
    for (size_t v = 0; v < src->n_values; v++)
        phi[(out + v) * nf1 + f] += w * vals[v];
}

/* A leaf without a table: phi_p += v (o_p - z_p) sum_q w_q prod_{j != p}
 * f_j(t_q) with f_j(t) = (1 - t) z_j + t o_j (see shap.h), the products
 * without p made of prefix and suffix products (no division: a share
 * may be tiny). The points are the inner loops: their products are
 * independent, so they run side by side instead of as one long chain of
 * multiplications. */
static void quadrature_leaf(const row_ctx *c, const leaf_rec *rec,
                            uint64_t a_leaf, const uint32_t *feat,
                            const double *z, const double *vals)
{
    enum { D = HL__SHAP_LEAF_MAX_FEATURES, Q = HL__SHAP_LEAF_MAX_FEATURES / 2 };
    const hl__shap *s = c->s;
    const uint32_t d = rec->d;
    const unsigned n_q = (d + 1) / 2; /* degree d - 1 <= 2 n_q - 1 */
    const double *t = s->gl_t[n_q ? n_q - 1 : 0];
    double prefix[D][Q], f[D][Q], run[Q];
    for (unsigned q = 0; q < n_q; q++)
        run[q] = s->gl_w[n_q - 1][q];
    for (uint32_t j = 0; j < d; j++) {
        const double o = (double)((a_leaf >> j) & 1);
        for (unsigned q = 0; q < n_q; q++) {
            prefix[j][q] = run[q];
            f[j][q] = (1.0 - t[q]) * z[j] + t[q] * o;
            run[q] *= f[j][q];
        }
    }
    for (unsigned q = 0; q < n_q; q++)
        run[q] = 1.0; /* now the suffix products */
    for (uint32_t p = d; p-- > 0;) {
        double sum = 0.0;
        for (unsigned q = 0; q < n_q; q++) {
            sum += prefix[p][q] * run[q];
            run[q] *= f[p][q];
        }
        const double o = (double)((a_leaf >> p) & 1);
        add_values(&s->src, c->phi, c->out, vals, feat[p], (o - z[p]) * sum);
    }
}

/* One row through a tree without the recursion: the direction it takes
 * at each node, then per leaf the features its path tests that the row
 * satisfies, and a table lookup per feature (or the quadrature). */
static void tabled_tree(const row_ctx *c, uint64_t *a)
{
    const hl__shap *s = c->s;
    const shap_tree *tr = c->tr;
    const uint8_t *pos = (const uint8_t *)s->pos.p + tr->first_pos;
    /* a[node]: the distinct features above it whose tests the row passes
     * on the way there, as bits (positions follow the path) */
    a[0] = ~(uint64_t)0;
    for (uint32_t i = 0; i < tr->n_nodes; i++) {
        const hl__node *n = &tr->nodes[i];
        if (n->feature == HL__LEAF)
            continue;
        const uint64_t miss = ~((uint64_t)1 << pos[i]);
        const int left = goes_left(n, c->row);
        a[n->left] = a[i] & (left ? ~(uint64_t)0 : miss);
        a[n->left + 1] = a[i] & (left ? miss : ~(uint64_t)0);
    }
    const leaf_rec *leaves = (const leaf_rec *)s->leaves.p + tr->first_leaf;
    for (uint32_t l = 0; l < tr->n_leaves; l++) {
        const leaf_rec *rec = &leaves[l];
        const uint32_t *feat = (const uint32_t *)s->feat.p + rec->first_feat;
        const double *inv_z = (const double *)s->inv_z.p + rec->first_feat;
        const double *vals = (const double *)s->values.p + rec->first_value;
        if (rec->first_entry == NO_TABLE) {
            quadrature_leaf(c, rec, a[rec->node], feat, inv_z, vals);
            continue;
        }
        const double *table = (const double *)s->table.p + rec->first_entry;
        const uint32_t a_leaf =
            (uint32_t)(a[rec->node] & (((uint64_t)1 << rec->d) - 1));
        /* (o_p - z_p) T(A \ {p}) / z_p = T(A \ {p}) (o_p / z_p - 1):
         * arithmetic rather than a branch on o_p, which rows take either
         * way at random */
        if (s->src.n_values == 1) { /* the table holds v T */
            double *phi = c->phi + c->out * (s->src.n_features + 1);
            for (uint32_t p = 0; p < rec->d; p++) {
                const uint32_t b = a_leaf & ~(1u << p);
                const double o = (double)((a_leaf >> p) & 1);
                phi[feat[p]] += table[b] * (o * inv_z[p] - 1.0);
            }
            continue;
        }
        for (uint32_t p = 0; p < rec->d; p++) {
            const uint32_t b = a_leaf & ~(1u << p);
            const double o = (double)((a_leaf >> p) & 1);
            add_values(&s->src, c->phi, c->out, vals, feat[p],
                       table[b] * (o * inv_z[p] - 1.0));
        }
    }
}

/* Scratch: a bit set per node, then the recursion's paths (aligned). */
static size_t path_offset(const hl__shap *s)
{
    return ((size_t)s->max_nodes * sizeof(uint64_t) + 15) / 16 * 16;
}

/* Each level of the recursion takes the parent's path plus one element,
 * and a path holds at most one element per distinct feature and the
 * root's: a chain thousands of nodes deep on a few features stays small. */
size_t hl__shap_scratch_bytes(const hl__shap *s)
{
    const size_t levels = s->max_depth + 2;
    const size_t per_level =
        (s->max_depth < s->src.n_features ? s->max_depth : s->src.n_features) +
        3;
    return path_offset(s) + (levels * per_level + 1) * sizeof(path_elem);
}

/* Trees outer, rows inner: a tree's tables (a few kilobytes) stay in
 * cache for the whole block, where row after row over every tree would
 * fetch each leaf's table from memory again. */
static void shap_rows(const hl__shap *s, const float *x, size_t n_rows,
                      const size_t *outputs, double *phi, void *scratch)
{
    const hl__shap_source *src = &s->src;
    const size_t nf = src->n_features, nf1 = nf + 1;
    const size_t block = src->n_outputs * nf1;
    uint64_t *a = scratch;
    path_elem *path = (path_elem *)((char *)scratch + path_offset(s));
    for (size_t t = 0; t < src->n_trees; t++) {
        const size_t out = src->output(src->ctx, t);
        for (size_t r = 0; r < n_rows; r++) {
            if (outputs &&
                (outputs[r] < out || outputs[r] >= out + src->n_values))
                continue;
            row_ctx c = {s, t, &s->trees[t], x + r * nf, phi + r * block, out};
            for (size_t v = 0; v < src->n_values; v++)
                c.phi[(out + v) * nf1 + nf] +=
                    s->expected[t * src->n_values + v];
            if (c.tr->recursive)
                recurse(&c, 0, path, 0, 1.0, 1.0, -1);
            else
                tabled_tree(&c, a);
        }
    }
}

void hl__shap_rows(const hl__shap *s, const float *x, size_t n_rows,
                   double *phi, void *scratch)
{
    shap_rows(s, x, n_rows, NULL, phi, scratch);
}

/* ---- what every tree learner's contrib op shares ---- */

hl_status hl__shap_shared(_Atomic(hl__shap *) *slot, const hl__shap_source *src,
                          const hl__shap **out, hl_error *err)
{
    hl__shap *s = atomic_load(slot);
    if (!s) {
        hl_status rc = hl__shap_build(src, &s, err);
        if (rc != HL_OK)
            return rc;
        hl__shap *none = NULL;
        if (!atomic_compare_exchange_strong(slot, &none, s)) {
            hl__shap_free(s);
            s = none;
        }
    }
    *out = s;
    return HL_OK;
}

hl_status hl__shap_explain(const hl__shap *s, const float *x, size_t n_rows,
                           const double *base, double *out, hl_error *err)
{
    return hl__shap_explain_outputs(s, x, n_rows, NULL, base, out, err);
}

hl_status hl__shap_explain_outputs(const hl__shap *s, const float *x,
                                   size_t n_rows, const size_t *outputs,
                                   const double *base, double *out,
                                   hl_error *err)
{
    const size_t nf1 = s->src.n_features + 1, n_out = s->src.n_outputs;
    void *scratch = malloc(hl__shap_scratch_bytes(s));
    if (!scratch)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    memset(out, 0, n_rows * n_out * nf1 * sizeof *out);
    for (size_t r = 0; base && r < n_rows; r++)
        for (size_t k = 0; k < n_out; k++)
            if (!outputs || outputs[r] == k)
                out[(r * n_out + k) * nf1 + nf1 - 1] = base[k];
    shap_rows(s, x, n_rows, outputs, out, scratch);
    free(scratch);
    return HL_OK;
}

int hl__covers_are_sound(const hl__node *nodes, const float *cover,
                         uint32_t n)
{
    if (n == 0 || !(cover[0] > 0.0f))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!(cover[i] >= 0.0f) || !isfinite(cover[i]))
            return 0;
        if (nodes[i].feature == HL__LEAF)
            continue;
        const double parent = cover[i];
        const double kids = (double)cover[nodes[i].left] +
                            (double)cover[nodes[i].left + 1];
        if (!(fabs(parent - kids) <= HL__SHAP_COVER_TOLERANCE * parent))
            return 0;
    }
    return 1;
}
