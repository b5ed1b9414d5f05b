/* gbdt.h - internal data structures of the gradient-boosted tree learner.
 *
 * The learner "gbdt" behind the engine's learner interface (learner.h):
 * its parameters, its fitted state (bins and trees), and what its files
 * share - binning, tree growing, boosting, raw prediction and its model
 * file sections. Nothing outside this folder includes it but tests.
 *
 * Trees are flat arrays of the shared node format (trees/trees.h, with
 * the binning, the row partition and the prediction walk the forests use
 * too); a leaf's value is its output.
 */
#ifndef HEALER_GBDT_H
#define HEALER_GBDT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "learner.h"
#include "pool.h"
#include "trees/shap.h"
#include "trees/trees.h"

typedef struct hl__tree {
    uint32_t n_nodes;
    hl__node *nodes;
    uint8_t *split_bin; /* per node: last bin that goes left (binned data) */
    float *gain;        /* per node: loss reduction of the split, 0 for leaves */
    float *cover;       /* per node: hessian sum of the training rows in it */
} hl__tree;

/* A gradient/hessian pair: per row, and per histogram bin. Histograms are
 * float, not double: at 8 bytes a bin a 107-KPI histogram fits in L2 and
 * the learner is bound by histogram traffic, not arithmetic. Sums over
 * bins are then carried in double when splits are evaluated. */
typedef struct hl__gh {
    float g, h;
} hl__gh;

/* The learner's own parameters: the block of hl_train_params (its table
 * and defaults are in gbdt.c). */
typedef struct hl__gbdt_params {
    int rounds;              /* boosting rounds (the cap with early stopping) */
    double learning_rate;
    int max_depth;           /* 0 = unlimited (then max_leaves bounds trees) */
    int max_leaves;          /* 0 = unlimited */
    double min_child_weight; /* minimum hessian sum in a leaf */
    double lambda_l2;        /* L2 regularisation of leaf values ("lambda") */
    double min_split_gain;
    double subsample;        /* row fraction per round */
    double colsample;        /* feature fraction per tree */
    int max_bins;            /* quantile bins per feature */
} hl__gbdt_params;

/* A fitted GBDT: the state behind hl__fitted.state. */
typedef struct hl__gbdt_model {
    size_t n_features;
    size_t n_outputs;   /* 1 for two classes (logistic), else n_classes (softmax) */
    double *base_score; /* n_outputs raw scores added before the trees */
    size_t n_trees;     /* rounds * n_outputs; tree t feeds output t % n_outputs */
    hl__tree *trees;
    hl__bins bins;
    hl__flat flat;      /* derived from trees by hl__gbdt_prepare() */
    /* The explainer of the trees, made by the first explanation asked
     * (gbdt_explain.c) and kept: NULL until then. */
    _Atomic(hl__shap *) explainer;
    unsigned sections_read; /* bit per file section tag, while loading */
} hl__gbdt_model;

void hl__gbdt_model_free(void *state);

/* Two classes have one output, the log-odds of the second. */
static inline hl__link hl__gbdt_link(size_t n_outputs)
{
    return n_outputs == 1 ? HL__LINK_LOGISTIC : HL__LINK_SOFTMAX;
}

/* ---- tree_grow.c ---- */

typedef struct hl__grow_params {
    int max_depth;      /* 0 = unlimited */
    int max_leaves;     /* 0 = unlimited */
    double min_child_weight;
    double lambda_l2;
    double min_split_gain;
    double learning_rate;
} hl__grow_params;

typedef struct hl__grower hl__grower;

/* Scratch space for growing trees on a binned matrix of up to max_rows
 * rows. One grower per thread; growers are not shared. */
hl__grower *hl__grower_create(const hl__bins *layout, size_t max_rows,
                              const hl__grow_params *params);
void hl__grower_free(hl__grower *g);

/* Grows one tree on rows[0..n_rows) of `binned` with
 * the per-row gradients gh (indexed by row). Only features whose
 * feature_mask entry is non-zero are considered (mask may be NULL). pool
 * may be NULL; when given, large histograms are built feature-parallel.
 * On success *out holds the tree (free with hl__tree_free). */
hl_status hl__grow_tree(hl__grower *g, const hl__binned *binned,
                        const hl__gh *gh, const uint32_t *rows, size_t n_rows,
                        const uint8_t *feature_mask, hl__pool *pool,
                        hl__tree *out);

/* After hl__grow_tree: adds each grown row's leaf value to
 * scores[row * stride + column]. Covers exactly the rows given to it. */
void hl__grower_add_leaf_values(const hl__grower *g, const hl__tree *t,
                                double *scores, size_t stride, size_t column);

void hl__tree_free(hl__tree *t);

/* Leaf index reached by one binned row. */
uint32_t hl__tree_leaf_binned(const hl__tree *t, const uint8_t *row_bins);

/* ---- boost.c ---- */

/* One boosting run on job's rows with parameters p: fills m (bins,
 * outputs, base scores, trees) and res's iterations and curve. On failure
 * m's learner fields may be partly filled (hl__gbdt_model_free frees
 * them) and res is empty. */
hl_status hl__boost(const hl__fit_job *job, const hl__gbdt_params *p,
                    hl__gbdt_model *m, hl__fit_result *res, hl_error *err);

/* ---- gbdt_predict.c ---- */

/* Builds m->flat from m->trees; call once the trees are final. */
hl_status hl__gbdt_prepare(hl__gbdt_model *m);
/* The learner's predict_raw op. */
hl_status hl__gbdt_predict_raw(const void *state, const hl__model_shape *shape,
                               const float *x, size_t n_rows, double *raw);

/* ---- gbdt_explain.c ---- */

/* The learner's contrib op: TreeSHAP over the trees (trees/shap.h); the
 * base scores are part of the expected values. */
hl_status hl__gbdt_contrib(const void *state, const hl__model_shape *shape,
                           const float *x, size_t n_rows, double *out,
                           hl_error *err);
/* The contrib_output op: only the trees of each row's output. */
hl_status hl__gbdt_contrib_output(const void *state,
                                  const hl__model_shape *shape, const float *x,
                                  size_t n_rows, const size_t *outputs,
                                  double *out, hl_error *err);

/* ---- gbdt_io.c: the model file sections BINS (4) and TREES (5) ---- */

void hl__gbdt_write(const void *state, hl__wbuf *w);
hl_status hl__gbdt_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                                const hl__model_shape *shape,
                                const hl__io_ctx *io);
hl_status hl__gbdt_read_finish(hl__fitted *f, const hl__model_shape *shape,
                               const hl__io_ctx *io);

#endif
