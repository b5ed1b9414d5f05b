/* forest.h - internal data structures of the random forest and extra-trees
 * learners.
 *
 * Two learners behind the engine's learner interface (learner.h), one
 * code base: "forest" (Breiman's random forest: a bootstrap sample per
 * tree, the best Gini cut of a few random KPIs per split) and "extratrees"
 * (Geurts et al.'s extremely randomised trees: all rows, one random cut per
 * candidate KPI, the best of those by Gini). They differ only in their
 * defaults and in how a candidate KPI's cut is chosen. Both grow unpruned
 * classification trees on the shared binned data (trees/trees.h) and
 * average their leaves' class probabilities. Nothing outside this folder
 * includes this header but tests.
 *
 * Memory: a node is the shared 12-byte node; a leaf's `left` is the index
 * of its class probabilities (n_classes floats) in the tree's own array,
 * so 300 unlimited trees on the reference data fit in a few tens of MB.
 */
#ifndef HEALER_FOREST_H
#define HEALER_FOREST_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "learner.h"
#include "pool.h"
#include "trees/shap.h"
#include "trees/trees.h"

/* hl_train trains at most 64 classes (train.c); per-class sums live on
 * the stack. */
#define HL__MAX_CLASSES_FOREST 64

/* max_features: how many KPIs a split draws (unless feature_fraction). */
enum {
    HL__MAXF_SQRT = 0, /* ceil(sqrt(n_features)) */
    HL__MAXF_LOG2 = 1, /* ceil(log2(n_features)) */
    HL__MAXF_ALL = 2   /* every KPI (bagged trees) */
};

/* The learners' own parameters: the block of hl_train_params (tables and
 * defaults in forest.c). */
typedef struct hl__forest_params {
    int trees;
    int max_features;        /* HL__MAXF_* */
    double feature_fraction; /* > 0: ceil(it * n_features), not max_features */
    int max_depth;           /* 0 = unlimited */
    int min_samples_leaf;
    int bootstrap; /* 1: a bootstrap sample per tree */
    int max_bins;
} hl__forest_params;

/* One tree. Leaves hold class probabilities: the class weights of the
 * tree's training rows in the leaf, normalised. */
typedef struct hl__ftree {
    uint32_t n_nodes;
    uint32_t n_leaves;
    hl__node *nodes; /* leaf: feature HL__LEAF, left = its leaf index */
    float *gain;     /* per node: weighted Gini decrease, 0 for leaves */
    float *proba;    /* n_leaves * n_classes */
    /* per node: the weight of the tree's training rows in it (class
     * weight times bootstrap copies), what TreeSHAP integrates over; NULL
     * in a model read from a file written before forests kept it */
    float *cover;
} hl__ftree;

/* The out-of-bag estimate: every training row scored by the trees whose
 * bootstrap left it out. */
typedef struct hl__oob {
    int has;       /* 0 without bootstrap */
    uint64_t rows; /* rows out of the bag of at least one tree */
    double macro_f1;
    double accuracy;
} hl__oob;

/* A fitted forest: the state behind hl__fitted.state. */
typedef struct hl__forest_model {
    size_t n_features;
    size_t n_classes;
    size_t n_trees;
    hl__ftree *trees;
    hl__oob oob;
    hl__flat flat;          /* derived from trees by hl__forest_prepare() */
    /* The explainer of the trees, made by the first explanation asked
     * (forest_explain.c) and kept: NULL until then. */
    _Atomic(hl__shap *) explainer;
    unsigned sections_read; /* bit per file section, while loading */
} hl__forest_model;

void hl__forest_model_free(void *state);
/* What the container holds of m (m stays m's: the state pointer). */
void hl__forest_fitted(hl__forest_model *m, hl__fitted *f);
void hl__ftree_free(hl__ftree *t);

/* Candidate KPIs per split for n_features KPIs (>= 1, <= n_features). */
size_t hl__forest_mtry(const hl__forest_params *p, size_t n_features);

/* ---- forest_grow.c: one tree ---- */

typedef struct hl__fgrow_params {
    size_t n_classes;
    size_t mtry;               /* candidate KPIs per split */
    int max_depth;             /* 0 = unlimited */
    uint32_t min_samples_leaf; /* in drawn rows (bootstrap copies count) */
    int random_cuts;           /* extra-trees: one random cut per KPI */
    /* 1: sum the rows' weights even where counting rows would do (every
     * row one copy of its class's weight); the same trees either way,
     * which is what the tests that set it check. */
    int sum_weights;
} hl__fgrow_params;

/* The training data every tree of a fit reads. */
/* Row stride of the padded row-major matrix: whole 16-byte blocks. */
#define HL__FOREST_STRIDE(nf) (((nf) + 15) & ~(size_t)15)

typedef struct hl__fgrow_data {
    const hl__bins *bins;
    const uint8_t *cols; /* binned training rows, column-major (n x nf) */
    const uint8_t *rows; /* the same, row-major, HL__FOREST_STRIDE(nf) bytes
                            a row (padding bytes 0: missing) */
    size_t n;            /* training rows */
    const int32_t *y;    /* class per training row */
} hl__fgrow_data;

typedef struct hl__fgrower hl__fgrower;

/* Scratch space for growing trees on d (one grower per thread). NULL on
 * allocation failure. */
hl__fgrower *hl__fgrower_create(const hl__fgrow_data *d,
                                const hl__fgrow_params *p);
void hl__fgrower_free(hl__fgrower *g); /* NULL-safe */

/* Grows one tree on rows[0..n_rows) (ascending training-row indices)
 * with per-row weights w (class weight times bootstrap copies) and copies
 * (bootstrap copies, >= 1), drawing candidate KPIs and cuts from rng.
 * On success *out holds the tree (hl__ftree_free); HL_ERR_NOMEM else. */
hl_status hl__fgrow_tree(hl__fgrower *g, const uint32_t *rows, size_t n_rows,
                         const float *w, const uint32_t *copies, hl__rng *rng,
                         hl__ftree *out);

/* ---- forest_fit.c ---- */

/* The fit op of both learners: random_cuts selects extra-trees. */
hl_status hl__forest_fit(const hl__fit_job *job, int random_cuts,
                         hl__fit_result *res, hl_error *err);

/* ---- forest_predict.c ---- */

/* Builds m->flat from m->trees; call once the trees are final. */
hl_status hl__forest_prepare(hl__forest_model *m);
/* Averages the trees' leaf probabilities of raw rows: the sum of the
 * n_trees leaf vectors in model order, divided by n_trees. */
hl_status hl__forest_predict_raw(const void *state,
                                 const hl__model_shape *shape, const float *x,
                                 size_t n_rows, double *raw);

/* ---- forest_explain.c ---- */

/* The learners' contrib op: TreeSHAP over the trees (trees/shap.h), each
 * leaf's class probabilities divided by the tree count, so that the
 * contributions and expected values add up to the averaged probabilities
 * predict_raw gives. HL_ERR_INVALID naming the cause for a model whose
 * file has no covers (written before they were kept). */
hl_status hl__forest_contrib(const void *state, const hl__model_shape *shape,
                             const float *x, size_t n_rows, double *out,
                             hl_error *err);

/* ---- forest_io.c: the model file sections ---- */

void hl__forest_write(const void *state, hl__wbuf *w);
hl_status hl__forest_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                                  const hl__model_shape *shape,
                                  const hl__io_ctx *io);
hl_status hl__forest_read_finish(hl__fitted *f, const hl__model_shape *shape,
                                 const hl__io_ctx *io);

#endif
