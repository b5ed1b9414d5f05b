/* trees.h - what every tree learner shares: binned data, the node format,
 * row partitioning and the branch-free prediction walk.
 *
 * The GBDT (learners/gbdt) and the forests (learners/forest) grow trees
 * differently - gradient/hessian histograms and best-first growth for one,
 * class-weight histograms, bootstraps and random cuts for the others - but
 * they see the data the same way: KPIs turned into one byte per cell by
 * quantile bins, trees whose splits are "bin <= b", equivalently
 * "x <= cut" on the raw value, with missing values sent one way per node.
 * Everything that follows from that view lives here once, so that both
 * families route a row identically and a fix reaches both. This folder
 * knows no learner (mk/layers.py: learners are known only through the
 * registry); the learners include this header.
 */
#ifndef HEALER_TREES_H
#define HEALER_TREES_H

#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"
#include "pool.h"

/* ---- binning.c: quantile bins ---- */

/* Quantile bin layout of every feature. A feature has n_bins value bins
 * numbered 1..n_bins and bin 0 for missing values; value bin b holds
 * (cuts[b-2], cuts[b-1]] so that bin(v) <= b  <=>  v <= cuts[b-1]. */
typedef struct hl__bins {
    size_t n_features;
    uint32_t *n_bins; /* value bins per feature, >= 1 */
    uint32_t *offset; /* first histogram slot of each feature */
    size_t total;     /* histogram slots: sum of (n_bins + 1) */
    float **cuts;     /* n_bins - 1 ascending boundaries per feature */
} hl__bins;

/* Computes bin boundaries from rows[0..n) of x (row stride n_features);
 * rows == NULL means all n rows. Large inputs are sampled (deterministic).
 * max_bins must be in 2..255 (HL_ERR_INVALID otherwise). On failure *out
 * is empty. Free with hl__bins_free. */
hl_status hl__bins_build(const float *x, size_t n_features, const size_t *rows,
                         size_t n, int max_bins, uint64_t seed, hl__pool *pool,
                         hl__bins *out, hl_error *err);
void hl__bins_free(hl__bins *b); /* NULL-safe, leaves *b empty */
/* Bin of one value of feature f (0 for NAN). */
uint8_t hl__bin_value(const hl__bins *b, size_t f, float v);
/* Bins rows[0..n) of x into out (n * n_features bytes, row-major). rows ==
 * NULL means rows 0..n-1. */
void hl__bins_apply(const hl__bins *b, const float *x, const size_t *rows,
                    size_t n, hl__pool *pool, uint8_t *out);

/* ---- partition.c: the binned matrix and its rows ---- */

/* The binned training matrix in both layouts: histograms read whole rows
 * (row-major), partitions and single-feature scans read one feature of
 * many rows (column-major). */
typedef struct hl__binned {
    const uint8_t *rows; /* n * n_features, row-major */
    const uint8_t *cols; /* n_features * n, column-major */
    size_t n;
} hl__binned;

/* Transposes a row-major n x nf byte matrix into cols (nf x n). */
void hl__binned_transpose(const uint8_t *rows, size_t n, size_t nf,
                          uint8_t *cols);

/* Stable partition of rows[begin..end) by "bin <= split_bin" of one
 * feature's column (bin 0, missing, goes left when missing_left): the left
 * rows stay in front in their order, the right ones follow in theirs.
 * scratch holds at least end - begin entries. Returns the first index of
 * the right side. Keeping a node's rows one ascending range makes every
 * later pass over them a sequential read. */
uint32_t hl__partition_rows(const uint8_t *col, uint8_t split_bin,
                            int missing_left, uint32_t *rows, uint32_t *scratch,
                            uint32_t begin, uint32_t end);

/* hl__partition_rows, reading row r's bin at col[r * stride] (a column of
 * the row-major matrix, whose lines the node's own passes just read), for
 * rows[bounds[0]..bounds[n_groups]) made of
 * n_groups consecutive groups, group k at bounds[k]..bounds[k + 1]: the
 * left side keeps the groups in order, and so does the right side, so
 * each side is again consecutive groups, at left_bounds[k] ..
 * left_bounds[k + 1] and right_bounds[k] .. right_bounds[k + 1] (n_groups
 * + 1 entries each; left_bounds[n_groups] = right_bounds[0] is the first
 * right row). The tree learner that groups a node's rows by class gets
 * its children's groups without another pass. */
void hl__partition_groups(const uint8_t *col, size_t stride, uint8_t split_bin,
                          int missing_left, uint32_t *rows, uint32_t *scratch,
                          const uint32_t *bounds, size_t n_groups,
                          uint32_t *left_bounds, uint32_t *right_bounds);

/* ---- the node format ---- */

#define HL__LEAF 0xFFFFFFFFu         /* node.feature of a leaf */
#define HL__DEFAULT_LEFT 0x80000000u /* node.feature flag: missing goes left   \
                                      */
#define HL__FEATURE_MASK 0x7FFFFFFFu

/* 12 bytes, so that a few thousand trees stay in cache while predicting.
 * The two children of a node are adjacent (right = left + 1). What a
 * leaf's `value` and `left` mean is the learner's (the GBDT: its output
 * and 0; a forest: 0 and the index of its class probabilities). */
typedef struct hl__node {
    uint32_t feature; /* split feature | HL__DEFAULT_LEFT, or HL__LEAF */
    float value;      /* split: go left when x <= value */
    uint32_t left;    /* split: index of the left child */
} hl__node;

/* 1 when the n nodes form a tree every walk leaves: children after their
 * parent and inside the array, every node but the root the child of
 * exactly one parent, features below n_features, thresholds not NaN.
 * Then every path ends at a leaf within n steps. Leaves are not
 * looked at (their fields are the learner's to check). */
int hl__nodes_are_sound(const hl__node *nodes, uint32_t n, size_t n_features);

/* The leaf one raw row (n_features floats, NAN = missing) reaches. For
 * trees whose cuts come from hl__bins this is the leaf the binned row
 * reaches: a cut lies between two observed values. */
uint32_t hl__nodes_leaf_raw(const hl__node *nodes, const float *row);

/* ---- flat.c: trees re-laid for prediction ---- */

/* All nodes of all trees in one array, leaves turned into self-loops
 * (threshold +inf, left child = itself) so that every row takes exactly
 * `depth` steps through a tree and several rows can walk it side by side
 * without a data-dependent branch.
 *
 * Missing values cost nothing per step: each row is expanded once into two
 * copies, NaN -> -inf and NaN -> +inf, and a node reads its feature from the
 * copy that sends NaN its way (`slot` = feature, plus n_features when
 * missing values go right): -inf <= t always holds, +inf <= t never does for
 * a finite t. */
typedef struct hl__flat_node {
    uint32_t slot;   /* feature index into the expanded row */
    float threshold; /* go left when value <= threshold */
    uint32_t left;   /* index within the tree; right = left + 1 */
} hl__flat_node;

typedef struct hl__flat {
    hl__flat_node *nodes;
    uint32_t *tree_offset; /* first node of each tree */
    uint32_t *tree_depth;  /* steps to reach any leaf */
} hl__flat;

/* Rows walked side by side: hl__flat_walk's n is at most this. */
#define HL__FLAT_BLOCK 32

/* Tree t's nodes for hl__flat_build (sound: hl__nodes_are_sound). */
typedef const hl__node *(*hl__tree_nodes_fn)(const void *ctx, size_t t,
                                             uint32_t *n_nodes);

/* Builds *f from n_trees trees; HL_ERR_NOMEM leaves *f empty. Free with
 * hl__flat_free (NULL-safe, leaves *f empty). */
hl_status hl__flat_build(hl__flat *f, size_t n_trees, size_t n_features,
                         hl__tree_nodes_fn tree_at, const void *ctx);
void hl__flat_free(hl__flat *f);

/* Expands n rows of nf floats into [value | NaN as -inf][value | NaN as
 * +inf] (out holds n * 2 * nf floats): the rows hl__flat_walk reads. */
void hl__flat_expand_rows(const float *x, size_t nf, size_t n, float *out);

/* Walks tree t for n <= HL__FLAT_BLOCK expanded rows (stride floats
 * apart), all rows a step at a time: the steps of different rows are
 * independent, so the CPU overlaps their loads instead of waiting on one
 * row's chain of nodes. at[r] receives the index, within the tree, of the
 * leaf row r reaches (the same index as in the tree's own node array). */
void hl__flat_walk(const hl__flat *f, size_t t, const float *rows,
                   size_t stride, size_t n, uint32_t *at);

#endif
