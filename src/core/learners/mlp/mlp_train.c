/* mlp_train.c - training the MLP: epochs of mini-batch AdamW, early stop.
 *
 * The transform is learned on the training rows and applied once to them
 * and to the hold-out. Each epoch shuffles the rows; each mini-batch runs
 * forward (ReLU, inverted dropout on hidden units), takes the class-weighted
 * softmax cross-entropy (normalised by the batch's weight sum, as PyTorch's
 * weighted CrossEntropyLoss is), runs backward and takes one AdamW step
 * (weight decay decoupled from the gradient, on weights but not biases).
 * After each epoch the hold-out loss decides early stopping; the weights of
 * the best epoch are kept. He initialisation, shuffles and dropout masks
 * come from the seed alone, drawn on the calling thread, and the products
 * run in sgemm, which never splits a sum: one seed gives one model.
 *
 * A loss or a weight that stops being finite ends training with
 * HL_ERR_DIVERGED, which self-repair (healer/repair.h) retries with the
 * MLP's fallback learner, then with safer parameters (a smaller step).
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mlp.h"

/* Adam's constants: the published defaults, which PyTorch uses too. */
#define ADAM_BETA1 0.9f
#define ADAM_BETA2 0.999f
#define ADAM_EPS 1e-8f
/* Rows per block when scoring the hold-out. */
#define EVAL_BLOCK 512

typedef struct train_state {
    const hl__fit_job *job;
    const hl__mlp_params *p;
    hl__mlp_model *m;
    size_t n_in, n_out, width, batch;
    float *x_train, *x_valid;   /* transformed rows */
    int32_t *y_train, *y_valid;
    double *w_train, *w_valid;  /* class weight of each row */
    size_t *order;              /* this epoch's row order */
    float **act;                /* act[l]: input of layer l (batch x n_in_l) */
    float *logits;              /* batch x n_out */
    float *delta, *delta_prev;  /* gradients w.r.t. a layer's outputs */
    float *grad, *adam_m, *adam_v, *best; /* n_params each */
    float *eval_scratch, *eval_logits;
    hl__rng dropout_rng;
    uint64_t step;
} train_state;

static hl_status nomem(hl_error *err)
{
    return hl__fail(err, HL_ERR_NOMEM, "out of memory for the MLP");
}

/* ---- set-up ---- */

/* Layer shapes: inputs -> hidden_units x hidden_layers -> classes. */
static hl_status build_layers(hl__mlp_model *m, const hl__mlp_params *p,
                              size_t n_classes)
{
    m->n_layers = (uint32_t)p->hidden_layers + 1;
    m->layers = calloc(m->n_layers, sizeof *m->layers);
    if (!m->layers)
        return HL_ERR_NOMEM;
    uint32_t n_in = m->tf.n_inputs;
    for (uint32_t l = 0; l < m->n_layers; l++) {
        uint32_t n_out = l + 1 == m->n_layers ? (uint32_t)n_classes
                                              : (uint32_t)p->hidden_units;
        m->layers[l] = (hl__mlp_layer){n_in, n_out, NULL, NULL};
        n_in = n_out;
    }
    return hl__mlp_layout(m, 1);
}

/* A standard normal draw (Box-Muller; u1 in (0, 1] keeps log finite). */
static double normal_draw(hl__rng *rng)
{
    double u1 = 1.0 - hl__rng_uniform(rng), u2 = hl__rng_uniform(rng);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* He initialisation (normal, std sqrt(2 / fan_in)), biases 0: ReLU units
 * then keep the variance of their inputs from layer to layer. */
static void init_weights(hl__mlp_model *m, uint64_t seed)
{
    for (uint32_t l = 0; l < m->n_layers; l++) {
        hl__mlp_layer *ly = &m->layers[l];
        hl__rng rng;
        hl__rng_seed(&rng, hl__seed_mix(seed, 0x4D4C5000u + l));
        double sd = sqrt(2.0 / (double)ly->n_in);
        for (size_t i = 0; i < (size_t)ly->n_in * ly->n_out; i++)
            ly->w[i] = (float)(sd * normal_draw(&rng));
    }
}

static void gather_labels(const hl__fit_job *job, const size_t *rows, size_t n,
                          int32_t *y, double *w)
{
    for (size_t i = 0; i < n; i++) {
        y[i] = job->y[rows[i]];
        w[i] = hl__row_weight(job, rows[i]);
    }
}

static hl_status alloc_state(train_state *s)
{
    const hl__fit_job *job = s->job;
    const size_t nt = job->n_train, nv = job->n_valid, np = s->m->n_params;
    const uint32_t L = s->m->n_layers;
    s->x_train = malloc((nt * s->n_in + 1) * sizeof *s->x_train);
    s->x_valid = malloc((nv * s->n_in + 1) * sizeof *s->x_valid);
    s->y_train = malloc((nt + 1) * sizeof *s->y_train);
    s->y_valid = malloc((nv + 1) * sizeof *s->y_valid);
    s->w_train = malloc((nt + 1) * sizeof *s->w_train);
    s->w_valid = malloc((nv + 1) * sizeof *s->w_valid);
    s->order = malloc((nt + 1) * sizeof *s->order);
    s->act = calloc(L, sizeof *s->act);
    s->logits = malloc(s->batch * s->n_out * sizeof *s->logits);
    s->delta = malloc(s->batch * s->width * sizeof *s->delta);
    s->delta_prev = malloc(s->batch * s->width * sizeof *s->delta_prev);
    s->grad = malloc(np * sizeof *s->grad);
    s->adam_m = calloc(np, sizeof *s->adam_m);
    s->adam_v = calloc(np, sizeof *s->adam_v);
    s->best = malloc(np * sizeof *s->best);
    s->eval_scratch = malloc(2 * EVAL_BLOCK * s->width * sizeof(float));
    s->eval_logits = malloc(EVAL_BLOCK * s->n_out * sizeof(float));
    if (!s->x_train || !s->x_valid || !s->y_train || !s->y_valid ||
        !s->w_train || !s->w_valid || !s->order || !s->act || !s->logits ||
        !s->delta || !s->delta_prev || !s->grad || !s->adam_m || !s->adam_v ||
        !s->best || !s->eval_scratch || !s->eval_logits)
        return HL_ERR_NOMEM;
    for (uint32_t l = 0; l < L; l++)
        if (!(s->act[l] = malloc(s->batch * s->m->layers[l].n_in *
                                 sizeof **s->act)))
            return HL_ERR_NOMEM;
    return HL_OK;
}

static hl_status state_init(train_state *s, const hl__fit_job *job,
                            const hl__mlp_params *p, hl__mlp_model *m,
                            hl_error *err)
{
    memset(s, 0, sizeof *s);
    s->job = job;
    s->p = p;
    s->m = m;
    hl_status rc = hl__mlp_transform_fit(&m->tf, job, p, err);
    if (rc != HL_OK)
        return rc;
    if (build_layers(m, p, job->n_classes) != HL_OK)
        return nomem(err);
    init_weights(m, job->seed);
    s->n_in = m->tf.n_inputs;
    s->n_out = job->n_classes;
    s->width = hl__mlp_max_width(m);
    s->batch = (size_t)p->batch_size < job->n_train ? (size_t)p->batch_size
                                                    : job->n_train;
    if (alloc_state(s) != HL_OK)
        return nomem(err);
    hl__mlp_transform_rows(&m->tf, job->x, job->train_rows, job->n_train,
                           s->x_train);
    hl__mlp_transform_rows(&m->tf, job->x, job->valid_rows, job->n_valid,
                           s->x_valid);
    if (hl__mlp_transform_spread(&m->tf, s->x_train, job->n_train) != HL_OK)
        return nomem(err);
    gather_labels(job, job->train_rows, job->n_train, s->y_train, s->w_train);
    gather_labels(job, job->valid_rows, job->n_valid, s->y_valid, s->w_valid);
    for (size_t i = 0; i < job->n_train; i++)
        s->order[i] = i;
    hl__rng_seed(&s->dropout_rng, hl__seed_mix(job->seed, 0xD80Fu));
    return HL_OK;
}

static void state_free(train_state *s)
{
    if (s->act && s->m)
        for (uint32_t l = 0; l < s->m->n_layers; l++)
            free(s->act[l]);
    free(s->act);
    free(s->x_train);
    free(s->x_valid);
    free(s->y_train);
    free(s->y_valid);
    free(s->w_train);
    free(s->w_valid);
    free(s->order);
    free(s->logits);
    free(s->delta);
    free(s->delta_prev);
    free(s->grad);
    free(s->adam_m);
    free(s->adam_v);
    free(s->best);
    free(s->eval_scratch);
    free(s->eval_logits);
}

/* ---- loss ---- */

/* Softmax cross-entropy of one row of logits against class y; with
 * delta, also (p - onehot(y)) * scale into it. */
static double row_loss(const float *logits, size_t K, int32_t y, float *delta,
                       double scale)
{
    double mx = logits[0], sum = 0.0;
    for (size_t k = 1; k < K; k++)
        if (logits[k] > mx)
            mx = logits[k];
    for (size_t k = 0; k < K; k++)
        sum += exp((double)logits[k] - mx);
    double log_sum = log(sum);
    if (delta)
        for (size_t k = 0; k < K; k++) {
            double pk = exp((double)logits[k] - mx - log_sum);
            delta[k] = (float)((pk - (k == (size_t)y)) * scale);
        }
    return log_sum - ((double)logits[y] - mx);
}

/* Weighted mean loss of the hold-out rows under the current weights. */
static double valid_loss(train_state *s)
{
    const size_t nv = s->job->n_valid;
    if (nv == 0)
        return NAN;
    double loss = 0.0, wsum = 0.0;
    for (size_t at = 0; at < nv; at += EVAL_BLOCK) {
        size_t n = nv - at < EVAL_BLOCK ? nv - at : EVAL_BLOCK;
        hl__mlp_forward(s->m, s->x_valid + at * s->n_in, n, s->eval_scratch,
                        s->eval_logits);
        for (size_t i = 0; i < n; i++) {
            double w = s->w_valid[at + i];
            loss += w * row_loss(s->eval_logits + i * s->n_out, s->n_out,
                                 s->y_valid[at + i], NULL, 0.0);
            wsum += w;
        }
    }
    return wsum > 0.0 ? loss / wsum : NAN;
}

/* ---- one mini-batch ---- */

/* Hidden layer output: bias, ReLU, then inverted dropout (kept units
 * scaled by 1 / keep, so evaluation needs no rescaling). */
static void hidden_activation(train_state *s, const hl__mlp_layer *ly,
                              float *out, size_t n)
{
    const double keep = 1.0 - s->p->dropout;
    const uint64_t keep_below = (uint64_t)(keep * 4294967296.0);
    const float inv_keep = (float)(1.0 / keep);
    const int drop = s->p->dropout > 0.0;
    for (size_t i = 0; i < n; i++) {
        float *row = out + i * ly->n_out;
        for (uint32_t o = 0; o < ly->n_out; o++) {
            float v = row[o] + ly->b[o];
            v = v > 0.0f ? v : 0.0f;
            if (drop)
                v = (hl__rng_next(&s->dropout_rng) >> 32) < keep_below
                        ? v * inv_keep
                        : 0.0f;
            row[o] = v;
        }
    }
}

static void forward_batch(train_state *s, size_t n)
{
    const hl__mlp_model *m = s->m;
    for (uint32_t l = 0; l < m->n_layers; l++) {
        const hl__mlp_layer *ly = &m->layers[l];
        int last = l + 1 == m->n_layers;
        float *out = last ? s->logits : s->act[l + 1];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n,
                    (int)ly->n_out, (int)ly->n_in, 1.0f, s->act[l],
                    (int)ly->n_in, ly->w, (int)ly->n_out, 0.0f, out,
                    (int)ly->n_out);
        if (!last) {
            hidden_activation(s, ly, out, n);
            continue;
        }
        for (size_t i = 0; i < n; i++)
            for (uint32_t o = 0; o < ly->n_out; o++)
                out[i * ly->n_out + o] += ly->b[o];
    }
}

/* Gradients of every parameter into s->grad from the output deltas in
 * s->delta (n x n_out), layer by layer downwards. */
static void backward_batch(train_state *s, size_t n)
{
    const hl__mlp_model *m = s->m;
    const float inv_keep = (float)(1.0 / (1.0 - s->p->dropout));
    for (uint32_t l = m->n_layers; l-- > 0;) {
        const hl__mlp_layer *ly = &m->layers[l];
        float *gw = s->grad + (ly->w - m->params);
        float *gb = s->grad + (ly->b - m->params);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)ly->n_in,
                    (int)ly->n_out, (int)n, 1.0f, s->act[l], (int)ly->n_in,
                    s->delta, (int)ly->n_out, 0.0f, gw, (int)ly->n_out);
        for (uint32_t o = 0; o < ly->n_out; o++)
            gb[o] = 0.0f;
        for (size_t i = 0; i < n; i++)
            for (uint32_t o = 0; o < ly->n_out; o++)
                gb[o] += s->delta[i * ly->n_out + o];
        if (l == 0)
            break;
        /* Through the layer's input, then the ReLU and dropout that made
         * it: a unit passed its gradient (times 1 / keep) exactly when its
         * output is positive. */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n,
                    (int)ly->n_in, (int)ly->n_out, 1.0f, s->delta,
                    (int)ly->n_out, ly->w, (int)ly->n_out, 0.0f,
                    s->delta_prev, (int)ly->n_in);
        const float *a = s->act[l];
        for (size_t i = 0; i < n * ly->n_in; i++)
            s->delta_prev[i] = a[i] > 0.0f ? s->delta_prev[i] * inv_keep : 0.0f;
        float *t = s->delta;
        s->delta = s->delta_prev;
        s->delta_prev = t;
    }
}

/* One AdamW step on every parameter (PyTorch's AdamW arithmetic). */
static void adamw_step(train_state *s)
{
    const hl__mlp_model *m = s->m;
    s->step++;
    const float decay = (float)(1.0 - s->p->learning_rate * s->p->weight_decay);
    const float step_size =
        (float)(s->p->learning_rate / (1.0 - pow(ADAM_BETA1, (double)s->step)));
    const float bc2_sqrt = (float)sqrt(1.0 - pow(ADAM_BETA2, (double)s->step));
    for (uint32_t l = 0; l < m->n_layers; l++) {
        const hl__mlp_layer *ly = &m->layers[l];
        size_t begin = (size_t)(ly->w - m->params);
        size_t n_w = (size_t)ly->n_in * ly->n_out;
        for (size_t i = begin; i < begin + n_w + ly->n_out; i++) {
            float g = s->grad[i];
            if (i < begin + n_w)
                m->params[i] *= decay;
            s->adam_m[i] = ADAM_BETA1 * s->adam_m[i] + (1.0f - ADAM_BETA1) * g;
            s->adam_v[i] =
                ADAM_BETA2 * s->adam_v[i] + (1.0f - ADAM_BETA2) * g * g;
            float denom = sqrtf(s->adam_v[i]) / bc2_sqrt + ADAM_EPS;
            m->params[i] -= step_size * (s->adam_m[i] / denom);
        }
    }
}

/* Forward, loss, backward and step on rows order[0..n); returns the
 * batch's weighted loss sum and adds its weight to *wsum. */
static double train_batch(train_state *s, const size_t *order, size_t n,
                          double *wsum)
{
    double batch_w = 0.0, loss = 0.0;
    for (size_t i = 0; i < n; i++) {
        memcpy(s->act[0] + i * s->n_in, s->x_train + order[i] * s->n_in,
               s->n_in * sizeof(float));
        batch_w += s->w_train[order[i]];
    }
    forward_batch(s, n);
    const double scale = batch_w > 0.0 ? 1.0 / batch_w : 0.0;
    for (size_t i = 0; i < n; i++) {
        double w = s->w_train[order[i]];
        loss += w * row_loss(s->logits + i * s->n_out, s->n_out,
                             s->y_train[order[i]], s->delta + i * s->n_out,
                             w * scale);
    }
    *wsum += batch_w;
    if (!isfinite(loss))
        return loss; /* the caller stops before stepping on NaN */
    backward_batch(s, n);
    adamw_step(s);
    return loss;
}

/* Fisher-Yates from the seed and the epoch alone. */
static void shuffle(train_state *s, size_t epoch)
{
    hl__rng rng;
    hl__rng_seed(&rng, hl__seed_mix(s->job->seed, 0x53480000u + epoch));
    for (size_t i = s->job->n_train; i > 1; i--) {
        size_t j = (size_t)hl__rng_below(&rng, i);
        size_t t = s->order[i - 1];
        s->order[i - 1] = s->order[j];
        s->order[j] = t;
    }
}

static int weights_are_sound(const hl__mlp_model *m)
{
    for (size_t i = 0; i < m->n_params; i++)
        if (!(fabsf(m->params[i]) <= HL__MLP_MAX_WEIGHT))
            return 0;
    return 1;
}

static hl_status diverged(hl_error *err, size_t epoch, const char *what)
{
    return hl__fail_field(err, HL_ERR_DIVERGED, "learning_rate",
                          "training diverged: the %s stopped being a finite "
                          "number in epoch %zu; try a smaller learning_rate",
                          what, epoch);
}

/* One pass over the training rows; *train_loss gets its weighted mean. */
static hl_status run_epoch(train_state *s, size_t epoch, double *train_loss,
                           hl_error *err)
{
    const size_t nt = s->job->n_train;
    double loss = 0.0, wsum = 0.0;
    shuffle(s, epoch);
    for (size_t at = 0; at < nt; at += s->batch) {
        if (hl__progress_cancelled(&s->job->progress))
            return hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
        size_t n = nt - at < s->batch ? nt - at : s->batch;
        double l = train_batch(s, s->order + at, n, &wsum);
        if (!isfinite(l))
            return diverged(err, epoch, "training loss");
        loss += l;
    }
    if (!weights_are_sound(s->m))
        return diverged(err, epoch, "size of the weights");
    *train_loss = wsum > 0.0 ? loss / wsum : NAN;
    return HL_OK;
}

hl_status hl__mlp_train(const hl__fit_job *job, const hl__mlp_params *p,
                        hl__mlp_model *m, hl__fit_result *res, hl_error *err)
{
    /* The refit runs for the epochs the hold-out chose, not the cap. */
    const size_t epochs =
        job->max_iterations ? job->max_iterations : (size_t)p->epochs;
    const int early = job->early_stopping_rounds > 0 && job->n_valid > 0;
    train_state s;
    memset(res, 0, sizeof *res);
    openblas_set_num_threads(hl__resolve_threads(job->threads));
    hl_status rc = state_init(&s, job, p, m, err);
    if (rc != HL_OK)
        goto done;
    res->train_loss = malloc(epochs * sizeof *res->train_loss);
    res->valid_loss = malloc(epochs * sizeof *res->valid_loss);
    if (!res->train_loss || !res->valid_loss) {
        rc = nomem(err);
        goto done;
    }
    double best_valid = INFINITY;
    size_t best_epoch = 0, epoch = 0;
    while (epoch < epochs) {
        epoch++;
        double tl = NAN;
        if ((rc = run_epoch(&s, epoch, &tl, err)) != HL_OK)
            goto done;
        double vl = valid_loss(&s);
        if (job->n_valid > 0 && !isfinite(vl)) {
            rc = diverged(err, epoch, "hold-out loss");
            goto done;
        }
        res->train_loss[res->curve_len] = tl;
        res->valid_loss[res->curve_len] = vl;
        res->curve_len++;
        if (hl__progress_report(&job->progress, (int)epoch, (int)epochs, tl,
                                vl)) {
            rc = hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
            goto done;
        }
        if (!early)
            continue;
        if (vl < best_valid) {
            best_valid = vl;
            best_epoch = epoch;
            memcpy(s.best, m->params, m->n_params * sizeof *s.best);
        } else if (epoch - best_epoch >= (size_t)job->early_stopping_rounds) {
            break;
        }
    }
    if (early)
        memcpy(m->params, s.best, m->n_params * sizeof *s.best);
    res->best_iteration = early ? best_epoch : 0;
    res->iterations_done = early ? best_epoch : epoch;
done:
    state_free(&s);
    if (rc != HL_OK) {
        free(res->train_loss);
        free(res->valid_loss);
        memset(res, 0, sizeof *res);
    }
    return rc;
}
