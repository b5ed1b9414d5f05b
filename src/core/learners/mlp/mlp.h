/* mlp.h - internal data structures of the multilayer perceptron learner.
 *
 * The learner "mlp" behind the engine's learner interface (learner.h): its
 * parameters, its fitted state (an input transform and dense layers), and
 * what its files share - the transform (transform.c), the forward pass and
 * raw prediction (net.c), training (mlp_train.c) and its model file
 * sections (mlp_io.c). Nothing outside this folder includes it but tests.
 *
 * Why a learned input transform at all: KPIs span 1e-4..1e17, are often
 * negative and have missing cells. A network fed raw or plainly
 * standardised values sees a handful of outliers and nothing else (the
 * seed's PyTorch MLP scored 0.05 macro-F1 on real shifted data). Every
 * input is therefore mapped to a bounded, comparable scale learned from
 * the training rows only, and stored in the model so that prediction
 * applies exactly the same mapping.
 *
 * All matrices are row-major float (single precision: the products run in
 * OpenBLAS's sgemm); losses and their sums are carried in double.
 */
#ifndef HEALER_MLP_H
#define HEALER_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "learner.h"

/* Values of the `transform` choice (their index in its choices). */
typedef enum hl__mlp_transform_kind {
    HL__MLP_ROBUST = 0,  /* signed log1p, then (t - median) / IQR */
    HL__MLP_QUANTILE = 1 /* empirical quantile rank -> standard normal */
} hl__mlp_transform_kind;

/* The learner's own parameters: the block of hl_train_params (its table
 * and defaults are in mlp.c). */
typedef struct hl__mlp_params {
    int hidden_units;       /* width of every hidden layer */
    int hidden_layers;      /* hidden layers (ReLU) before the softmax layer */
    double dropout;         /* drop probability of each hidden unit */
    double weight_decay;    /* decoupled (AdamW) decay of the weights */
    double learning_rate;   /* Adam step size */
    int batch_size;         /* rows per step */
    int epochs;             /* passes over the rows (the cap with early stop) */
    int transform;          /* hl__mlp_transform_kind */
    double input_clip;      /* bound on every transformed input */
    int missing_indicators; /* an extra 0/1 input per KPI with missing cells */
} hl__mlp_params;

/* The input transform learned on the training rows: n_features raw KPIs
 * to n_inputs bounded network inputs (the transformed KPIs, then one
 * missing indicator per KPI that had missing cells in training). A missing
 * cell is 0 after the transform - the centre of the training values. */
typedef struct hl__mlp_transform {
    uint32_t kind;       /* hl__mlp_transform_kind */
    uint32_t n_features;
    uint32_t n_inputs;   /* n_features + number of indicators */
    float clip;          /* every transformed value is in [-clip, clip] */
    float *center;       /* ROBUST: per feature, median of signed log1p */
    float *scale;        /* ROBUST: per feature, its IQR (1 when 0), > 0 */
    uint32_t n_quantiles; /* QUANTILE: points per feature, >= 2 */
    float *quantiles;    /* QUANTILE: n_features * n_quantiles, ascending */
    double *normal;      /* QUANTILE: the standard-normal value of the
                            ranks 0, 1/2, 1, 3/2 ... n_quantiles - 1 (in
                            steps of the points; derived, not stored) */
    int32_t *indicator;  /* per feature: its indicator's input, or -1 */
    float *spread;       /* n_inputs: standard deviation of each input on
                            the training rows (for importance) */
} hl__mlp_transform;

/* One dense layer: out = in . w + b. */
typedef struct hl__mlp_layer {
    uint32_t n_in, n_out;
    float *w; /* n_in * n_out, row-major (w[i * n_out + o]); in `params` */
    float *b; /* n_out; in `params` */
} hl__mlp_layer;

/* A fitted MLP: the state behind hl__fitted.state. Every weight and bias
 * lives in one block, layer after layer (w then b), so that the optimiser,
 * the best-epoch snapshot and the file treat them as one vector. */
typedef struct hl__mlp_model {
    hl__mlp_transform tf;
    uint32_t n_layers;     /* hidden layers + the output layer */
    hl__mlp_layer *layers;
    float *params;         /* n_params */
    size_t n_params;
    unsigned sections_read; /* bit per file section, while loading */
} hl__mlp_model;

/* No trained weight comes near this (weight decay pulls them to 0);
 * training reports divergence past it and files holding more are
 * refused, so a forged file cannot feed prediction absurd values. */
#define HL__MLP_MAX_WEIGHT 1e6f

void hl__mlp_model_free(void *state);

/* The widest layer output (scratch sizes). */
size_t hl__mlp_max_width(const hl__mlp_model *m);

/* Points layers[l].w / .b into m->params for the layers' shapes (set
 * before); allocates params (zeroed) when alloc. HL_ERR_NOMEM. */
hl_status hl__mlp_layout(hl__mlp_model *m, int alloc);

/* ---- transform.c ---- */

/* Learns the transform of kind p->transform from job's training rows. */
hl_status hl__mlp_transform_fit(hl__mlp_transform *tf, const hl__fit_job *job,
                                const hl__mlp_params *p, hl_error *err);
/* Derived tables (the quantiles' normal values); after fit or load. */
hl_status hl__mlp_transform_prepare(hl__mlp_transform *tf);
/* Transforms n rows of x (row stride tf->n_features) into out (n *
 * n_inputs): rows[i] is the row of x to read, or i when rows is NULL. */
void hl__mlp_transform_rows(const hl__mlp_transform *tf, const float *x,
                            const size_t *rows, size_t n, float *out);
/* Fills tf->spread from n transformed rows. HL_ERR_NOMEM. */
hl_status hl__mlp_transform_spread(hl__mlp_transform *tf, const float *in,
                                   size_t n);
void hl__mlp_transform_free(hl__mlp_transform *tf);

/* ---- dense.c ---- */

/* out (n x ly->n_out) = in (n x ly->n_in) . w + b, then ReLU when relu.
 * Each output is summed in a fixed order (ascending input, fused
 * multiply-adds): a row's outputs depend on that row alone, on every CPU. */
void hl__mlp_dense(const float *in, size_t n, const hl__mlp_layer *ly,
                   int relu, float *out);
/* The same with the portable loop, whatever the CPU (for tests: both
 * must give the same bits). */
void hl__mlp_dense_portable(const float *in, size_t n, const hl__mlp_layer *ly,
                            int relu, float *out);

/* ---- net.c ---- */

/* Evaluation forward pass (no dropout) of n transformed rows `in`:
 * logits (n * n_outputs). scratch holds 2 * n * hl__mlp_max_width floats.
 * A row's logits depend on that row only. */
void hl__mlp_forward(const hl__mlp_model *m, const float *in, size_t n,
                     float *scratch, float *logits);
/* The learner's predict_raw op. */
hl_status hl__mlp_predict_raw(const void *state, const hl__model_shape *shape,
                              const float *x, size_t n_rows, double *raw);

/* ---- mlp_train.c ---- */

/* One training run on job's rows with parameters p: fills m (transform and
 * layers) and res's iterations and curve. On failure m may be partly
 * filled (hl__mlp_model_free frees it) and res is empty. A loss or weight
 * that stops being finite is HL_ERR_DIVERGED. */
hl_status hl__mlp_train(const hl__fit_job *job, const hl__mlp_params *p,
                        hl__mlp_model *m, hl__fit_result *res, hl_error *err);

/* ---- mlp_io.c: the model file sections TRANSFORM (64) and LAYERS (65) ---- */

void hl__mlp_write(const void *state, hl__wbuf *w);
hl_status hl__mlp_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                               const hl__model_shape *shape,
                               const hl__io_ctx *io);
hl_status hl__mlp_read_finish(hl__fitted *f, const hl__model_shape *shape,
                              const hl__io_ctx *io);

#endif
