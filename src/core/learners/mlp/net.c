/* net.c - the MLP's forward pass and raw prediction.
 *
 * A block of rows is transformed, then goes through the layers as matrix
 * products (dense.c), bias and ReLU; the last layer's outputs are the
 * softmax scores the container turns into probabilities
 * (HL__LINK_SOFTMAX). dense.c sums every output in a fixed order, so a
 * row's prediction depends on the row alone, as learner.h requires
 * (tested); the container spreads prediction over its own threads in
 * blocks of rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mlp.h"

/* Rows per forward block in prediction: the container's chunk, so one
 * call is one block with one allocation for its scratch. */
#define HL__MLP_PREDICT_BLOCK 256

size_t hl__mlp_max_width(const hl__mlp_model *m)
{
    size_t w = m->tf.n_inputs;
    for (uint32_t l = 0; l < m->n_layers; l++)
        if (m->layers[l].n_out > w)
            w = m->layers[l].n_out;
    return w;
}

hl_status hl__mlp_layout(hl__mlp_model *m, int alloc)
{
    size_t total = 0;
    for (uint32_t l = 0; l < m->n_layers; l++)
        total += (size_t)m->layers[l].n_in * m->layers[l].n_out +
                 m->layers[l].n_out;
    if (alloc) {
        free(m->params);
        if (!(m->params = calloc(total ? total : 1, sizeof *m->params)))
            return HL_ERR_NOMEM;
    }
    m->n_params = total;
    float *at = m->params;
    for (uint32_t l = 0; l < m->n_layers; l++) {
        hl__mlp_layer *ly = &m->layers[l];
        ly->w = at;
        at += (size_t)ly->n_in * ly->n_out;
        ly->b = at;
        at += ly->n_out;
    }
    return HL_OK;
}

void hl__mlp_forward(const hl__mlp_model *m, const float *in, size_t n,
                     float *scratch, float *logits)
{
    const size_t width = hl__mlp_max_width(m);
    float *a = scratch, *b = scratch + n * width;
    const float *cur = in;
    for (uint32_t l = 0; l < m->n_layers; l++) {
        int last = l + 1 == m->n_layers;
        float *out = last ? logits : (cur == a ? b : a);
        hl__mlp_dense(cur, n, &m->layers[l], !last, out);
        cur = out;
    }
}

/* Scores of a sound model are finite; a file with absurd but finite
 * weights could still overflow a float, and softmax must never see an
 * infinity or a NaN. */
static double bounded_score(float v)
{
    if (isnan(v))
        return 0.0;
    return v > 1e30f ? 1e30 : v < -1e30f ? -1e30 : (double)v;
}

hl_status hl__mlp_predict_raw(const void *state, const hl__model_shape *shape,
                              const float *x, size_t n_rows, double *raw)
{
    const hl__mlp_model *m = state;
    const size_t block = n_rows < HL__MLP_PREDICT_BLOCK ? n_rows
                                                        : HL__MLP_PREDICT_BLOCK;
    const size_t n_out = m->layers[m->n_layers - 1].n_out;
    const size_t width = hl__mlp_max_width(m);
    float *in = malloc((block * (m->tf.n_inputs + 2 * width + n_out) + 1) *
                       sizeof *in);
    float *scratch = in + block * m->tf.n_inputs;
    float *logits = scratch + 2 * block * width;
    hl_status rc = in ? HL_OK : HL_ERR_NOMEM;
    (void)shape; /* read_finish checked the shape once */
    for (size_t at = 0; rc == HL_OK && at < n_rows; at += block) {
        size_t n = n_rows - at < block ? n_rows - at : block;
        hl__mlp_transform_rows(&m->tf, x + at * m->tf.n_features, NULL, n, in);
        hl__mlp_forward(m, in, n, scratch, logits);
        for (size_t i = 0; i < n * n_out; i++)
            raw[at * n_out + i] = bounded_score(logits[i]);
    }
    free(in);
    return rc;
}
