/* trees/shap.h - exact per-row feature contributions of tree ensembles:
 * path-dependent TreeSHAP (Lundberg et al., 2018 and 2020).
 *
 * A tree's prediction for a row is split into one contribution per
 * feature plus the tree's expected value (its leaves averaged by the
 * training weight that reached them, "cover"): the Shapley values of the
 * game whose value for a set S of known features is the tree's output
 * with the other features integrated out along the tree's own cover.
 * Contributions and expected values add up to the prediction exactly.
 *
 * Two ways to the same numbers. For a leaf whose path tests d distinct
 * features, the row enters only through which of them it satisfies - d
 * bits - so a table of 2^d sums per leaf, made once per model, turns each
 * row into O(d) work per leaf (the idea of Fast TreeSHAP v2, Yang 2021):
 * that is how boosted trees of depth 6 explain 2,000 rows in a fraction
 * of a second. A leaf with a longer path, or whose table would pass its
 * tree's budget (HL__SHAP_TABLE_PER_NODE), takes a quadrature instead:
 * its Shapley values are v (o_p - z_p) times the integral over [0, 1] of
 * prod_{j != p} ((1 - t) z_j + t o_j), a polynomial of degree d - 1 that
 * ceil(d / 2) Gauss-Legendre points integrate exactly (the identity
 * behind Linear TreeSHAP, Yu et al. 2022) - O(d^2) per leaf and row
 * without tables, a few times cheaper than the recursion on the deep
 * trees of a forest. A tree with a leaf whose path tests more than
 * HL__SHAP_LEAF_MAX_FEATURES distinct features takes Lundberg's
 * recursion, O(leaves x depth^2) per row.
 *
 * The ensemble is described by callbacks, so this file knows no learner:
 * tree t's nodes and covers, each leaf's values (n_values of them: one
 * for a boosted tree, a class distribution for a forest's), and the first
 * output they go to.
 */
#ifndef HEALER_TREES_SHAP_H
#define HEALER_TREES_SHAP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"
#include "trees/trees.h"

/* Leaves whose path tests more distinct features than this take the
 * quadrature: their table would take 2^d doubles. */
#define HL__SHAP_TABLE_MAX_FEATURES 12
/* A tree with a leaf whose path tests more distinct features than this
 * takes the recursion (a row's tests on a path are bits of a 64-bit
 * word). Even. */
#define HL__SHAP_LEAF_MAX_FEATURES 64
/* A tree's tables may hold this many doubles per node of the tree (a
 * depth-6 tree needs at most 64); a deeper one takes the recursion, so
 * the explainer stays within a small multiple of the model's size. */
#define HL__SHAP_TABLE_PER_NODE 64
/* The deepest tree explained: the walks recurse once per level. */
#define HL__SHAP_MAX_DEPTH 4096

typedef struct hl__shap_source {
    size_t n_trees;
    size_t n_features;
    size_t n_outputs; /* the model's raw outputs */
    size_t n_values;  /* values per leaf, going to n_values outputs */
    double scale;     /* every leaf value times this (1 / trees to average) */
    const void *ctx;
    /* Tree t's nodes (sound: hl__nodes_are_sound) and the training weight
     * that reached each node (its cover: > 0 at the root, children summing
     * to their parent). */
    const hl__node *(*nodes)(const void *ctx, size_t t, uint32_t *n_nodes,
                             const float **cover);
    /* The n_values values of leaf `node` of tree t. */
    const float *(*leaf)(const void *ctx, size_t t, uint32_t node);
    /* The first output tree t's values go to. */
    size_t (*output)(const void *ctx, size_t t);
    /* 0: HL__SHAP_LEAF_MAX_FEATURES; lower (>= 1) sends trees to the
     * recursion sooner: how the tests reach it on small trees. */
    unsigned leaf_features_cap;
} hl__shap_source;

typedef struct hl__shap hl__shap;

/* The explainer of an ensemble (its tables and expected values). The
 * source's trees must outlive it. HL_ERR_NOMEM, or HL_ERR_INVALID for a
 * tree whose cover is not positive at the root or that is deeper than
 * HL__SHAP_MAX_DEPTH. */
hl_status hl__shap_build(const hl__shap_source *src, hl__shap **out,
                         hl_error *err);

void hl__shap_free(hl__shap *s);

/* Bytes of scratch hl__shap_rows needs. */
size_t hl__shap_scratch_bytes(const hl__shap *s);

/* Adds the contributions of n_rows rows of x (n_features floats each,
 * NAN = missing) to phi: per row, n_outputs blocks of n_features + 1,
 * feature j's contribution to output k at [k * (n_features + 1) + j] and
 * the expected value at [k * (n_features + 1) + n_features]. scratch
 * holds hl__shap_scratch_bytes. */
void hl__shap_rows(const hl__shap *s, const float *x, size_t n_rows,
                   double *phi, void *scratch);

/* The explainer kept in *slot (a model's cache, NULL until the first
 * request), built from src when there is none yet: concurrent first
 * requests may each build one, the first stored wins and the others are
 * freed. Errors as hl__shap_build. */
hl_status hl__shap_shared(_Atomic(hl__shap *) *slot, const hl__shap_source *src,
                          const hl__shap **out, hl_error *err);

/* A learner's contrib op over s (learner.h): out (n_rows blocks of
 * n_outputs x (n_features + 1)) is overwritten with the contributions,
 * base[k] (NULL: 0) added to output k's expected value. HL_ERR_NOMEM. */
hl_status hl__shap_explain(const hl__shap *s, const float *x, size_t n_rows,
                           const double *base, double *out, hl_error *err);

/* As hl__shap_explain, but row r's block of output outputs[r] only (the
 * other blocks zero, or what trees of several values give them): what a
 * diagnosis stores, at the cost of that output's trees. */
hl_status hl__shap_explain_outputs(const hl__shap *s, const float *x,
                                   size_t n_rows, const size_t *outputs,
                                   const double *base, double *out,
                                   hl_error *err);

/* 1 when cover[0..n) can serve TreeSHAP for the tree `nodes` (sound:
 * hl__nodes_are_sound): every cover finite and >= 0, the root's > 0, and
 * a split's cover the sum of its children's to float rounding (relative
 * HL__SHAP_COVER_TOLERANCE). A cover may be 0 below the root: a boosted
 * tree's hessian sum underflows where every row is already certain. The
 * model readers refuse a file whose covers fail this. */
#define HL__SHAP_COVER_TOLERANCE 1e-4
int hl__covers_are_sound(const hl__node *nodes, const float *cover,
                         uint32_t n);

#endif
