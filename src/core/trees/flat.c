/* flat.c - trees re-laid for branch-free prediction (see trees.h).
 *
 * Built once per model, after training or loading; read concurrently by
 * any number of predicting threads. A walk returns leaf indices and leaves
 * the arithmetic to the learner, so each learner keeps its own summation
 * order (the GBDT's bit-identical predictions depend on it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trees/trees.h"

void hl__flat_free(hl__flat *f)
{
    if (!f)
        return;
    free(f->nodes);
    free(f->tree_offset);
    free(f->tree_depth);
    memset(f, 0, sizeof *f);
}

/* Children always come after their parent (readers check it), so one
 * forward pass propagates depths. Depths are 32-bit: a tree bounded by
 * a leaf count alone, or a forest's unlimited tree, may be a chain
 * thousands of nodes deep, and a shorter walk would stop inside it.
 * scratch is zeroed: a node no path reaches (a forged file) gets a depth,
 * not garbage. */
static uint32_t tree_depth(const hl__node *nodes, uint32_t n, uint32_t *scratch)
{
    uint32_t max = 0;
    memset(scratch, 0, n * sizeof *scratch);
    for (uint32_t i = 0; i < n; i++) {
        if (nodes[i].feature == HL__LEAF) {
            if (scratch[i] > max)
                max = scratch[i];
            continue;
        }
        scratch[nodes[i].left] = scratch[nodes[i].left + 1] = scratch[i] + 1;
    }
    return max;
}

hl_status hl__flat_build(hl__flat *f, size_t n_trees, size_t n_features,
                         hl__tree_nodes_fn tree_at, const void *ctx)
{
    memset(f, 0, sizeof *f);
    size_t total = 0, widest = 1;
    for (size_t t = 0; t < n_trees; t++) {
        uint32_t n;
        tree_at(ctx, t, &n);
        total += n;
        if (n > widest)
            widest = n;
    }
    uint32_t *scratch = malloc(widest * sizeof *scratch);
    f->nodes = malloc((total + 1) * sizeof *f->nodes);
    f->tree_offset = malloc((n_trees + 1) * sizeof *f->tree_offset);
    f->tree_depth = malloc((n_trees + 1) * sizeof *f->tree_depth);
    if (!scratch || !f->nodes || !f->tree_offset || !f->tree_depth) {
        free(scratch);
        hl__flat_free(f);
        return HL_ERR_NOMEM;
    }
    const uint32_t nf = (uint32_t)n_features;
    size_t at = 0;
    for (size_t t = 0; t < n_trees; t++) {
        uint32_t n;
        const hl__node *nodes = tree_at(ctx, t, &n);
        f->tree_offset[t] = (uint32_t)at;
        f->tree_depth[t] = tree_depth(nodes, n, scratch);
        for (uint32_t i = 0; i < n; i++, at++) {
            const hl__node *nd = &nodes[i];
            hl__flat_node *o = &f->nodes[at];
            if (nd->feature == HL__LEAF) {
                *o = (hl__flat_node){0, INFINITY, i};
            } else {
                uint32_t feat = nd->feature & HL__FEATURE_MASK;
                uint32_t slot =
                    nd->feature & HL__DEFAULT_LEFT ? feat : feat + nf;
                *o = (hl__flat_node){slot, nd->value, nd->left};
            }
        }
    }
    free(scratch);
    return HL_OK;
}

void hl__flat_expand_rows(const float *x, size_t nf, size_t n, float *out)
{
    for (size_t r = 0; r < n; r++) {
        const float *src = x + r * nf;
        float *lo = out + r * 2 * nf, *hi = lo + nf;
        for (size_t j = 0; j < nf; j++) {
            const float v = src[j];
            lo[j] = isnan(v) ? -INFINITY : v;
            hi[j] = isnan(v) ? INFINITY : v;
        }
    }
}

void hl__flat_walk(const hl__flat *f, size_t t, const float *rows,
                   size_t stride, size_t n, uint32_t *at)
{
    const hl__flat_node *nodes = f->nodes + f->tree_offset[t];
    for (size_t r = 0; r < n; r++)
        at[r] = 0;
    for (uint32_t d = 0; d < f->tree_depth[t]; d++) {
        for (size_t r = 0; r < n; r++) {
            const hl__flat_node *nd = &nodes[at[r]];
            const float v = rows[r * stride + nd->slot];
            at[r] = nd->left + (uint32_t) !(v <= nd->threshold);
        }
    }
}
