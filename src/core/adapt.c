/* adapt.c - EM re-estimation of a batch's class mix (see healer/adapt.h).
 *
 * Every step is a pass over the batch's probabilities (rows x classes),
 * so even a million rows take a few hundred milliseconds in the worst
 * case of HL_ADAPT_MAX_ITERATIONS steps; in practice it converges in tens.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "healer/adapt.h"
#include "internal.h"

#define CONVERGED 1e-6

void hl_model_training_mix(const hl_model *m, double *mix)
{
    const hl_model_summary *s = &m->summary;
    double total = 0.0;
    size_t present = 0;
    for (size_t k = 0; k < s->n_classes; k++) {
        total += (double)s->class_counts[k];
        present += s->class_counts[k] > 0;
    }
    const int balanced = s->params.class_weight == HL_CLASS_WEIGHT_BALANCED;
    for (size_t k = 0; k < s->n_classes; k++) {
        if (!(total > 0))
            mix[k] = 1.0 / (double)s->n_classes;
        else if (balanced)
            mix[k] = s->class_counts[k] > 0 ? 1.0 / (double)present : 0.0;
        else
            mix[k] = (double)s->class_counts[k] / total;
    }
}

int hl_model_is_calibrated(const hl_model *m)
{
    return m->fitted.calibrated;
}

const char *hl_adapt_skip_name(hl_adapt_skip why)
{
    switch (why) {
    case HL_ADAPT_TOO_FEW_ROWS:
        return "too_few_rows";
    case HL_ADAPT_NOT_CALIBRATED:
        return "not_calibrated";
    case HL_ADAPT_NOT_SKIPPED:
        break;
    }
    return "";
}

/* q = p * ratio, normalised, for every row; the new mix's sums into acc. */
static void reweigh(const double *p, size_t n, size_t K, const double *ratio,
                    double *q, double *acc)
{
    for (size_t k = 0; k < K; k++)
        acc[k] = 0.0;
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (size_t k = 0; k < K; k++)
            s += q[i * K + k] = p[i * K + k] * ratio[k];
        for (size_t k = 0; k < K; k++) {
            q[i * K + k] = s > 0 ? q[i * K + k] / s : p[i * K + k];
            acc[k] += q[i * K + k];
        }
    }
}

static size_t count_changed(const double *before, const double *after, size_t n,
                            size_t K)
{
    size_t changed = 0;
    for (size_t i = 0; i < n; i++)
        changed += hl_predict_argmax(before + i * K, K) !=
                   hl_predict_argmax(after + i * K, K);
    return changed;
}

/* EM from the training mix; q ends as the corrected probabilities. */
static void em(const double *p, size_t n, size_t K, hl_adapt_report *r,
               double *q)
{
    double ratio[HL_ADAPT_MAX_CLASSES] = {0}, acc[HL_ADAPT_MAX_CLASSES] = {0};
    const double prior_rows = HL_ADAPT_PRIOR_ROWS * (double)K;
    memcpy(r->batch_mix, r->train_mix, K * sizeof *r->batch_mix);
    for (r->iterations = 1; r->iterations <= HL_ADAPT_MAX_ITERATIONS;
         r->iterations++) {
        for (size_t k = 0; k < K; k++)
            ratio[k] =
                r->train_mix[k] > 0 ? r->batch_mix[k] / r->train_mix[k] : 0.0;
        reweigh(p, n, K, ratio, q, acc);
        double moved = 0.0;
        for (size_t k = 0; k < K; k++) {
            double mix = (acc[k] + prior_rows * r->train_mix[k]) /
                         ((double)n + prior_rows);
            moved = fmax(moved, fabs(mix - r->batch_mix[k]));
            r->batch_mix[k] = mix;
        }
        if (moved < CONVERGED) {
            r->converged = 1;
            break;
        }
    }
    if (r->iterations > HL_ADAPT_MAX_ITERATIONS)
        r->iterations = HL_ADAPT_MAX_ITERATIONS;
    /* The rows under the final mix. */
    for (size_t k = 0; k < K; k++)
        ratio[k] =
            r->train_mix[k] > 0 ? r->batch_mix[k] / r->train_mix[k] : 0.0;
    reweigh(p, n, K, ratio, q, acc);
}

hl_status hl_adapt_batch(const hl_model *m, double *proba, size_t n_rows,
                         hl_adapt_report *out, hl_error *err)
{
    if (!m || !out || (!proba && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "adapt: NULL argument");
    const size_t K = m->summary.n_classes;
    memset(out, 0, sizeof *out);
    out->n_classes = K;
    hl_model_training_mix(m, out->train_mix);
    if (n_rows < HL_ADAPT_MIN_ROWS) {
        out->skipped = HL_ADAPT_TOO_FEW_ROWS;
        snprintf(out->reason, sizeof out->reason,
                 "%zu rows are too few to estimate their class mix (at least "
                 "%d)",
                 n_rows, HL_ADAPT_MIN_ROWS);
        return HL_OK;
    }
    if (!hl_model_is_calibrated(m)) {
        out->skipped = HL_ADAPT_NOT_CALIBRATED;
        snprintf(out->reason, sizeof out->reason,
                 "a %s model's probabilities are votes, not calibrated: its "
                 "class mix cannot be re-estimated from them",
                 m->summary.algo);
        return HL_OK;
    }
    double *q = malloc(n_rows * K * sizeof *q);
    if (!q)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory for %zu rows",
                        n_rows);
    em(proba, n_rows, K, out, q);
    out->changed = count_changed(proba, q, n_rows, K);
    memcpy(proba, q, n_rows * K * sizeof *q);
    free(q);
    out->applied = 1;
    return HL_OK;
}
