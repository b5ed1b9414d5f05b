/* mlp_io.c - the MLP's own sections of a model file.
 *
 *   TRANSFORM (64)  u32 kind, u32 n_features, u32 n_inputs, f32 clip,
 *                   robust:   f32 center[n_features], f32 scale[n_features]
 *                   quantile: u32 n_quantiles, f32 points[n_features *
 *                             n_quantiles] (ascending per feature)
 *                   u32 indicator[n_features] (input index, or 0xFFFFFFFF),
 *                   f32 spread[n_inputs]
 *   LAYERS (65)     u32 n_layers, per layer u32 n_in, u32 n_out; then per
 *                   layer f32 w[n_in * n_out] (row-major), f32 b[n_out]
 *
 * Floats are stored bit for bit, so a loaded model predicts exactly what
 * the trained one did. Reading trusts nothing: every count is checked
 * against the bytes left before anything is allocated, a section must be
 * consumed exactly, and the state as a whole must make sense - the layers
 * chain from the transform's inputs to one output per class, every number
 * is finite, scales are positive, quantiles ascend, indicators are the
 * inputs after the KPIs in KPI order, weights are bounded - so a corrupted
 * file is HL_ERR_FORMAT and never reaches prediction.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mlp.h"

enum { SEC_TRANSFORM = 64, SEC_LAYERS = 65 };

/* Beyond the parameter tables' ranges with room to spare: a file past
 * them was not written by a training. */
#define MAX_LAYERS 64u
#define MAX_UNITS (1u << 20)
#define MAX_QUANTILES 100000u
#define MAX_CLIP 1e6f
#define NO_INDICATOR 0xFFFFFFFFu

/* ---- writing ---- */

static void w_floats(hl__wbuf *w, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        hl__w_f32(w, v[i]);
}

static void w_transform(hl__wbuf *w, const hl__mlp_transform *tf)
{
    size_t at = hl__w_section_begin(w, SEC_TRANSFORM);
    hl__w_u32(w, tf->kind);
    hl__w_u32(w, tf->n_features);
    hl__w_u32(w, tf->n_inputs);
    hl__w_f32(w, tf->clip);
    if (tf->kind == HL__MLP_QUANTILE) {
        hl__w_u32(w, tf->n_quantiles);
        w_floats(w, tf->quantiles, (size_t)tf->n_features * tf->n_quantiles);
    } else {
        w_floats(w, tf->center, tf->n_features);
        w_floats(w, tf->scale, tf->n_features);
    }
    for (uint32_t f = 0; f < tf->n_features; f++)
        hl__w_u32(w, tf->indicator[f] < 0 ? NO_INDICATOR
                                          : (uint32_t)tf->indicator[f]);
    w_floats(w, tf->spread, tf->n_inputs);
    hl__w_section_end(w, at);
}

static void w_layers(hl__wbuf *w, const hl__mlp_model *m)
{
    size_t at = hl__w_section_begin(w, SEC_LAYERS);
    hl__w_u32(w, m->n_layers);
    for (uint32_t l = 0; l < m->n_layers; l++) {
        hl__w_u32(w, m->layers[l].n_in);
        hl__w_u32(w, m->layers[l].n_out);
    }
    w_floats(w, m->params, m->n_params); /* layer after layer, w then b */
    hl__w_section_end(w, at);
}

void hl__mlp_write(const void *state, hl__wbuf *w)
{
    const hl__mlp_model *m = state;
    w_transform(w, &m->tf);
    w_layers(w, m);
}

/* ---- reading ---- */

static hl_status nomem(const hl__io_ctx *io)
{
    return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
}

/* n floats into a new array *out, each finite; NULL with r->failed set
 * when they are not all there (the caller checked the count first). */
static float *r_floats(hl__rbuf *r, size_t n, int *not_finite)
{
    if (!hl__r_need(r, n * 4))
        return NULL;
    float *v = malloc((n + 1) * sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i] = hl__r_f32(r)))
            *not_finite = 1;
    return v;
}

static int ascending(const float *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (!(v[i - 1] <= v[i]))
            return 0;
    return 1;
}

/* Indicators are the inputs n_features, n_features + 1, ... in feature
 * order, exactly n_inputs - n_features of them; sets tf->indicator. */
static int indicators_are_sound(hl__mlp_transform *tf, const uint32_t *raw)
{
    uint32_t next = tf->n_features;
    for (uint32_t f = 0; f < tf->n_features; f++) {
        if (raw[f] == NO_INDICATOR) {
            tf->indicator[f] = -1;
            continue;
        }
        if (raw[f] != next)
            return 0;
        tf->indicator[f] = (int32_t)next++;
    }
    return next == tf->n_inputs;
}

static hl_status read_kind_tables(hl__mlp_transform *tf, hl__rbuf *r,
                                  const hl__io_ctx *io)
{
    const size_t nf = tf->n_features;
    int bad = 0;
    if (tf->kind == HL__MLP_QUANTILE) {
        size_t nq = hl__r_count(r, 0, MAX_QUANTILES);
        if (r->failed || nq < 2 || !hl__r_need(r, nf * nq * 4))
            return hl__io_corrupt(io, "MLP quantile table");
        tf->n_quantiles = (uint32_t)nq;
        if (!(tf->quantiles = r_floats(r, nf * nq, &bad)))
            return r->failed ? hl__io_corrupt(io, "MLP quantile table")
                             : nomem(io);
        for (size_t f = 0; f < nf && !bad; f++)
            bad = !ascending(tf->quantiles + f * nq, nq);
        return bad ? hl__io_corrupt(io, "MLP quantiles out of order") : HL_OK;
    }
    tf->center = r_floats(r, nf, &bad);
    tf->scale = r_floats(r, nf, &bad);
    if (r->failed)
        return hl__io_corrupt(io, "MLP scaling table");
    if (!tf->center || !tf->scale)
        return nomem(io);
    for (size_t f = 0; f < nf && !bad; f++)
        bad = !(tf->scale[f] > 0.0f);
    return bad ? hl__io_corrupt(io, "MLP scaling table") : HL_OK;
}

static hl_status read_transform(hl__mlp_model *m, hl__rbuf *r,
                                const hl__model_shape *shape,
                                const hl__io_ctx *io)
{
    hl__mlp_transform *tf = &m->tf;
    tf->kind = hl__r_u32(r);
    tf->n_features = hl__r_u32(r);
    tf->n_inputs = hl__r_u32(r);
    tf->clip = hl__r_f32(r);
    if (r->failed || tf->n_features != shape->n_features ||
        (tf->kind != HL__MLP_ROBUST && tf->kind != HL__MLP_QUANTILE) ||
        tf->n_inputs < tf->n_features ||
        tf->n_inputs - tf->n_features > tf->n_features ||
        !(tf->clip > 0.0f && tf->clip <= MAX_CLIP))
        return hl__io_corrupt(io, "MLP transform header");
    hl_status rc = read_kind_tables(tf, r, io);
    if (rc != HL_OK)
        return rc;
    const size_t nf = tf->n_features;
    if (!hl__r_need(r, nf * 4 + (size_t)tf->n_inputs * 4))
        return hl__io_corrupt(io, "MLP transform");
    uint32_t *raw = malloc((nf + 1) * sizeof *raw);
    tf->indicator = malloc((nf + 1) * sizeof *tf->indicator);
    if (!raw || !tf->indicator) {
        free(raw);
        return nomem(io);
    }
    for (size_t f = 0; f < nf; f++)
        raw[f] = hl__r_u32(r);
    int sound = indicators_are_sound(tf, raw), bad = 0;
    free(raw);
    if (!sound)
        return hl__io_corrupt(io, "MLP missing indicators");
    if (!(tf->spread = r_floats(r, tf->n_inputs, &bad)))
        return nomem(io);
    for (size_t j = 0; j < tf->n_inputs && !bad; j++)
        bad = !(tf->spread[j] >= 0.0f);
    if (bad || r->pos != r->len)
        return hl__io_corrupt(io, "MLP transform");
    return hl__mlp_transform_prepare(tf) == HL_OK ? HL_OK : nomem(io);
}

static hl_status read_layers(hl__mlp_model *m, hl__rbuf *r,
                             const hl__model_shape *shape,
                             const hl__io_ctx *io)
{
    size_t nl = hl__r_count(r, 8, MAX_LAYERS);
    if (r->failed || nl < 1)
        return hl__io_corrupt(io, "MLP layer count");
    if (!(m->layers = calloc(nl, sizeof *m->layers)))
        return nomem(io);
    m->n_layers = (uint32_t)nl;
    uint64_t total = 0;
    for (size_t l = 0; l < nl; l++) {
        uint32_t n_in = hl__r_u32(r), n_out = hl__r_u32(r);
        if (r->failed || n_in < 1 || n_in > MAX_UNITS || n_out < 1 ||
            n_out > MAX_UNITS || (l > 0 && n_in != m->layers[l - 1].n_out))
            return hl__io_corrupt(io, "MLP layer shapes");
        m->layers[l] = (hl__mlp_layer){n_in, n_out, NULL, NULL};
        total += (uint64_t)n_in * n_out + n_out;
    }
    if (m->layers[nl - 1].n_out != shape->n_classes)
        return hl__io_corrupt(io, "MLP outputs do not match the classes");
    if (total > (r->len - r->pos) / 4 || total * 4 != r->len - r->pos)
        return hl__io_corrupt(io, "MLP weights");
    if (hl__mlp_layout(m, 1) != HL_OK)
        return nomem(io);
    for (size_t i = 0; i < m->n_params; i++) {
        float v = hl__r_f32(r);
        if (!(fabsf(v) <= HL__MLP_MAX_WEIGHT))
            return hl__io_corrupt(io, "MLP weight out of bounds");
        m->params[i] = v;
    }
    return HL_OK;
}

hl_status hl__mlp_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                               const hl__model_shape *shape,
                               const hl__io_ctx *io)
{
    if (tag != SEC_TRANSFORM && tag != SEC_LAYERS)
        return HL_OK; /* a section of a later revision: skipped */
    if (!f->state && !(f->state = calloc(1, sizeof(hl__mlp_model))))
        return nomem(io);
    hl__mlp_model *m = f->state;
    const unsigned bit = tag == SEC_TRANSFORM ? 1u : 2u;
    if (m->sections_read & bit)
        return hl__io_corrupt(io, "repeated section");
    m->sections_read |= bit;
    return tag == SEC_TRANSFORM ? read_transform(m, r, shape, io)
                                : read_layers(m, r, shape, io);
}

hl_status hl__mlp_read_finish(hl__fitted *f, const hl__model_shape *shape,
                              const hl__io_ctx *io)
{
    hl__mlp_model *m = f->state;
    (void)shape;
    if (!m || m->sections_read != 3u)
        return hl__io_corrupt(io, "a required section is missing");
    if (m->layers[0].n_in != m->tf.n_inputs)
        return hl__io_corrupt(io, "MLP inputs do not match its transform");
    f->n_outputs = m->layers[m->n_layers - 1].n_out;
    f->link = HL__LINK_SOFTMAX;
    f->calibrated = 1;
    f->n_trees = 0;
    return HL_OK;
}
