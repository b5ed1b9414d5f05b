/* mlp.c - the multilayer perceptron learner behind the learner interface:
 * its parameter table, its rules and its operations.
 *
 * The transform is in transform.c, the forward pass and prediction in
 * net.c, training in mlp_train.c and its model file sections in mlp_io.c.
 * This file is what the rest of the engine sees of them: the
 * hl__mlp_learner entry of learners/registry.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mlp.h"

_Static_assert(sizeof(hl__mlp_params) <= HL_LEARNER_PARAMS_BYTES,
               "hl__mlp_params must fit the block of hl_train_params");

static const char *const TRANSFORMS[] = {"robust", "quantile", NULL};

#define P hl__mlp_params
/* Defaults chosen by de-duplicated 5-fold CV on the reference data (see
 * docs/benchmarks.md, "MLP"). Ranges, and why:
 * - hidden_units 8..2048: a 2048 x 2048 layer is 16 MB of weights, 64 MB
 *   with its gradient and Adam's moments; wider layers only cost memory
 *   on data of this size. A layer narrower than the fault classes is a
 *   bottleneck, not a network: on 2,000 simulated rows of 4 classes, 1
 *   unit gave a constant predictor, 2 a macro-F1 of 0.46, 4 of 0.86.
 * - hidden_layers 1..8: a plain ReLU stack without normalisation trains
 *   badly beyond that depth.
 * - dropout [0, 0.9]: at 1 nothing would pass.
 * - weight_decay [0, 10]: each step multiplies the weights by
 *   1 - learning_rate x weight_decay; the rule below keeps that product
 *   at most 0.1 (a tenth of every weight gone per step is already more
 *   than any useful decay). At the default learning rate 100 kept the
 *   network at a macro-F1 of 0.79 where 10 and the default 1 reach 0.99
 *   (the same 2,000 rows): past 10 the decay erases what it learns.
 * - learning_rate [1e-5, 0.1]: below, epochs barely move the weights
 *   (1e-6 left 50 epochs at a macro-F1 of 0.16, 1e-5 reaches 0.96);
 *   Adam moves every weight by about the learning rate per step, and a
 *   tenth of a unit-scale weight per step already wrecks a trained network.
 * - batch_size 1..65536: one row is plain SGD; a batch beyond 65536 rows
 *   is a few steps per epoch on any realistic dataset.
 * - epochs 1..100000: the same cap as the GBDT's rounds.
 * - input_clip [1, 100]: transformed inputs are in robust units (or
 *   standard-normal ones); under 1 half the data is saturated, over 100
 *   clipping never happens and a drifting KPI is not bounded. */
static const hl_param_spec MLP_PARAMS[] = {
    HL__P_INT("hidden_units", "hidden-units", P, hidden_units, 256, 8, 2048, 0,
              "units in each hidden layer"),
    HL__P_INT("hidden_layers", "hidden-layers", P, hidden_layers, 2, 1, 8, 0,
              "hidden layers (ReLU) before the softmax layer"),
    HL__P_REAL("dropout", "dropout", P, dropout, 0.5, 0.0, 0.9, 0,
               "probability of dropping each hidden unit in training"),
    HL__P_REAL("weight_decay", "weight-decay", P, weight_decay, 1.0, 0.0, 10.0,
               0,
               "decoupled weight decay (AdamW) of the weights: each step "
               "scales them by 1 - learning_rate x weight_decay"),
    HL__P_REAL("learning_rate", "lr", P, learning_rate, 0.001, 0.00001, 0.1, 0,
               "Adam step size"),
    HL__P_INT("batch_size", "batch-size", P, batch_size, 128, 1, 65536, 0,
              "rows per optimisation step"),
    HL__P_INT("epochs", "epochs", P, epochs, 300, 1, 100000, 0,
              "passes over the training rows (the maximum with early "
              "stopping)"),
    HL__P_CHOICE("transform", "transform", P, transform, HL__MLP_ROBUST,
                 TRANSFORMS, 0,
                 "input transform learned on the training rows: signed log "
                 "then median/IQR scaling (robust) or quantile ranks mapped "
                 "to a normal (quantile)"),
    HL__P_REAL("input_clip", "input-clip", P, input_clip, 5.0, 1.0, 100.0, 0,
               "bound on every transformed input, so that a drifting KPI "
               "saturates"),
    HL__P_BOOL("missing_indicators", "no-missing-indicators", P,
               missing_indicators, 1, 0,
               "give each KPI with missing cells a 0/1 input that says the "
               "cell was missing"),
};
#undef P

/* The decay per step must leave most of every weight: a factor
 * 1 - lr x decay of 0 or less would zero or flip them all. */
static hl_status mlp_check(const void *params, hl_error *err)
{
    const hl__mlp_params *p = params;
    if (p->learning_rate * p->weight_decay > 0.1)
        return hl__fail_field(err, HL_ERR_INVALID, "weight_decay",
                              "invalid parameter weight_decay: %g with "
                              "learning_rate %g removes %g of every weight "
                              "per step; learning_rate x weight_decay must "
                              "be at most 0.1",
                              p->weight_decay, p->learning_rate,
                              p->learning_rate * p->weight_decay);
    return HL_OK;
}

/* A smaller step is what a diverged training needs; narrower, shallower
 * layers and smaller batches need less memory. */
static void mlp_safer(void *params)
{
    hl__mlp_params *p = params;
    if (p->learning_rate > 0.0003)
        p->learning_rate = 0.0003;
    if (p->hidden_units > 256)
        p->hidden_units = 256;
    if (p->hidden_layers > 2)
        p->hidden_layers = 2;
    if (p->batch_size > 256)
        p->batch_size = 256;
}

static size_t mlp_iteration_cap(const void *params)
{
    return (size_t)((const hl__mlp_params *)params)->epochs;
}

void hl__mlp_model_free(void *state)
{
    hl__mlp_model *m = state;
    if (!m)
        return;
    hl__mlp_transform_free(&m->tf);
    free(m->layers);
    free(m->params);
    free(m);
}

static hl_status mlp_fit(const hl__fit_job *job, hl__fit_result *res,
                         hl_error *err)
{
    hl__mlp_model *m = calloc(1, sizeof *m);
    if (!m)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    hl_status rc = hl__mlp_train(job, job->params, m, res, err);
    if (rc != HL_OK) {
        hl__mlp_model_free(m);
        return rc;
    }
    res->fitted = (hl__fitted){.state = m,
                               .n_outputs = m->layers[m->n_layers - 1].n_out,
                               .link = HL__LINK_SOFTMAX,
                               .calibrated = 1};
    return HL_OK;
}

/* How much the first layer listens to a KPI: the summed absolute weights
 * leaving its input, times how much that input varies on the training
 * rows (a weight on an input that never moves changes nothing); its
 * missing indicator counts for it too. Cheap, and in the same spirit as a
 * tree's gain: which KPIs the model leans on, not a per-row explanation.
 * An MLP has no splits: the counts stay 0. */
static void mlp_importance(const void *state, size_t n_features, double *gain,
                           uint32_t *splits)
{
    const hl__mlp_model *m = state;
    const hl__mlp_layer *first = &m->layers[0];
    (void)splits;
    for (size_t f = 0; f < n_features && f < m->tf.n_features; f++) {
        size_t inputs[2] = {f, 0}, n_inputs = 1;
        if (m->tf.indicator[f] >= 0)
            inputs[n_inputs++] = (size_t)m->tf.indicator[f];
        for (size_t k = 0; k < n_inputs; k++) {
            const float *w = first->w + inputs[k] * first->n_out;
            double sum = 0.0;
            for (uint32_t o = 0; o < first->n_out; o++)
                sum += fabsf(w[o]);
            gain[f] += sum * m->tf.spread[inputs[k]];
        }
    }
}

const hl__learner hl__mlp_learner = {
    .info = {"mlp",
             "multilayer perceptron (ReLU, dropout, AdamW, softmax) on a "
             "robust input transform learned from the training rows",
             MLP_PARAMS, sizeof MLP_PARAMS / sizeof MLP_PARAMS[0], 1,
             /* trees: no input scaling, no step that can diverge */
             "forest"},
    .version = HL__LEARNER_VERSION,
    .check = mlp_check,
    .safer = mlp_safer,
    .iteration_cap = mlp_iteration_cap,
    .fit = mlp_fit,
    .predict_raw = hl__mlp_predict_raw,
    .importance = mlp_importance,
    .write = hl__mlp_write,
    .read_section = hl__mlp_read_section,
    .read_finish = hl__mlp_read_finish,
    .free = hl__mlp_model_free,
};
