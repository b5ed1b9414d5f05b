/* partition.c - the binned matrix's two layouts, rows split by a node's
 * cut, and a raw row walked down a tree.
 *
 * Shared by every tree learner: the GBDT and the forests partition a
 * node's rows the same way (stable, so a node's rows stay one ascending
 * range and later passes over them read memory in order) and must route a
 * row the same way whether it is binned (training) or raw (out-of-bag
 * rows, model checks).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "trees/trees.h"

void hl__binned_transpose(const uint8_t *rows, size_t n, size_t nf,
                          uint8_t *cols)
{
    /* Blocks of rows keep both sides of the copy in cache. */
    const size_t block = 256;
    for (size_t r0 = 0; r0 < n; r0 += block) {
        size_t r1 = r0 + block < n ? r0 + block : n;
        for (size_t f = 0; f < nf; f++)
            for (size_t r = r0; r < r1; r++)
                cols[f * n + r] = rows[r * nf + f];
    }
}

/* Branch-free: where a row goes is a coin toss for a random cut, and a
 * mispredicted branch per row cost more than two stores. Writing
 * rows[nl] is safe: nl <= i, and rows[i] has been read. Left rows go to
 * rows[*nl..), right ones to scratch[*nr..). */
static inline void split_range(const uint8_t *col, size_t stride,
                               uint8_t split_bin, uint32_t miss, uint32_t *rows,
                               uint32_t *scratch, uint32_t begin, uint32_t end,
                               uint32_t *nl_io, uint32_t *nr_io)
{
    uint32_t nl = *nl_io, nr = *nr_io;
    for (uint32_t i = begin; i < end; i++) {
        const uint32_t r = rows[i];
        const uint32_t b = col[(size_t)r * stride];
        /* b - 1 wraps for bin 0 (missing), which then never counts as a
         * value bin <= split_bin. */
        const uint32_t left =
            ((b - 1u) < (uint32_t)split_bin) | (miss & (b == 0));
        rows[nl] = r;
        scratch[nr] = r;
        nl += left;
        nr += left ^ 1u;
    }
    *nl_io = nl;
    *nr_io = nr;
}

uint32_t hl__partition_rows(const uint8_t *col, uint8_t split_bin,
                            int missing_left, uint32_t *rows, uint32_t *scratch,
                            uint32_t begin, uint32_t end)
{
    uint32_t nl = begin, nr = 0;
    split_range(col, 1, split_bin, missing_left != 0, rows, scratch, begin, end,
                &nl, &nr);
    memcpy(rows + nl, scratch, nr * sizeof *rows);
    return nl;
}

void hl__partition_groups(const uint8_t *col, size_t stride, uint8_t split_bin,
                          int missing_left, uint32_t *rows, uint32_t *scratch,
                          const uint32_t *bounds, size_t n_groups,
                          uint32_t *left_bounds, uint32_t *right_bounds)
{
    uint32_t nl = bounds[0], nr = 0;
    for (size_t k = 0; k < n_groups; k++) {
        left_bounds[k] = nl;
        right_bounds[k] = nr; /* within scratch, for now */
        split_range(col, stride, split_bin, missing_left != 0, rows, scratch,
                    bounds[k], bounds[k + 1], &nl, &nr);
    }
    left_bounds[n_groups] = nl;
    right_bounds[n_groups] = nr;
    memcpy(rows + nl, scratch, nr * sizeof *rows);
    for (size_t k = 0; k <= n_groups; k++)
        right_bounds[k] += nl;
}

/* Every node but the root is the child of exactly one parent: a forged
 * file could share children (a walk over every path would then take
 * exponential time) or leave nodes unreachable. */
int hl__nodes_are_sound(const hl__node *nodes, uint32_t n, size_t n_features)
{
    if (n == 0)
        return 0;
    uint8_t *has_parent = calloc(n, 1);
    if (!has_parent)
        return 0;
    int sound = 1;
    for (uint32_t i = 0; i < n && sound; i++) {
        const hl__node *nd = &nodes[i];
        if (nd->feature == HL__LEAF)
            continue;
        sound = (nd->feature & HL__FEATURE_MASK) < n_features &&
                nd->left > i && nd->left < n - 1 && !isnan(nd->value) &&
                !has_parent[nd->left] && !has_parent[nd->left + 1];
        if (sound)
            has_parent[nd->left] = has_parent[nd->left + 1] = 1;
    }
    for (uint32_t i = 1; i < n && sound; i++)
        sound = has_parent[i];
    free(has_parent);
    return sound;
}

uint32_t hl__nodes_leaf_raw(const hl__node *nodes, const float *row)
{
    uint32_t i = 0;
    while (nodes[i].feature != HL__LEAF) {
        const uint32_t feat = nodes[i].feature;
        const float v = row[feat & HL__FEATURE_MASK];
        const int left =
            isnan(v) ? (feat & HL__DEFAULT_LEFT) != 0 : v <= nodes[i].value;
        i = nodes[i].left + (left ? 0u : 1u);
    }
    return i;
}
