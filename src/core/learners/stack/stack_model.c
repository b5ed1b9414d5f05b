/* stack_model.c - a stack model's lifetime, its combiner and its view as
 * a fitted learner.
 *
 * Fitting (stack_fit.c), reading (stack_io.c) and the learner's table
 * (stack.c) all need these; kept apart so that those files depend on
 * this one and not on each other.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

const char *const hl__stack_member_sets[] = {
    "gbdt+forest+extratrees", "gbdt+forest+extratrees+mlp", "gbdt+forest",
    "gbdt+extratrees",        "forest+extratrees",          NULL};

size_t hl__stack_member_names(int set, char names[][HL__LEARNER_NAME_CAP])
{
    return hl__learner_set_names(hl__stack_member_sets[set], names,
                                 HL__STACK_MAX_MEMBERS);
}

void hl__stack_model_free(void *state)
{
    hl__stack_model *m = state;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_members; i++)
        if (m->member[i].learner)
            m->member[i].learner->free(m->member[i].fitted.state);
    free(m->weights);
    free(m);
}

void hl__stack_member_shares(hl__stack_model *m)
{
    const size_t M = m->n_members, K = m->n_classes,
                 width = hl__stack_row_width(m);
    double total = 0.0, share[HL__STACK_MAX_MEMBERS] = {0};
    for (size_t i = 0; i < M; i++) {
        if (m->combiner == HL__COMBINE_VOTE) {
            share[i] = 1.0;
        } else {
            for (size_t k = 0; k < K; k++)
                for (size_t j = 0; j < K; j++)
                    share[i] += fabs(m->weights[k * width + i * K + j]);
        }
        total += share[i];
    }
    for (size_t i = 0; i < M; i++)
        m->report[i].weight = total > 0 ? share[i] / total : 1.0 / (double)M;
}

void hl__stack_fitted(hl__stack_model *m, hl__fitted *f)
{
    size_t trees = 0;
    for (size_t i = 0; i < m->n_members; i++)
        trees += m->member[i].fitted.n_trees;
    *f =
        (hl__fitted){.state = m,
                     .n_outputs = m->n_classes,
                     .link = m->combiner == HL__COMBINE_VOTE ? HL__LINK_PROBA
                                                             : HL__LINK_SOFTMAX,
                     .n_trees = trees,
                     .has_oob = m->oof_rows > 0,
                     .oob_rows = m->oof_rows,
                     .oob_macro_f1 = m->oof_macro_f1,
                     .oob_accuracy = m->oof_accuracy,
                     .calibrated = m->combiner == HL__COMBINE_LOGISTIC,
                     .n_members = m->n_members,
                     .members = m->report};
}

void hl__stack_combine(const hl__stack_model *m, const double *p, size_t n,
                       double *raw)
{
    const size_t M = m->n_members, K = m->n_classes,
                 width = hl__stack_row_width(m);
    for (size_t r = 0; r < n; r++) {
        double *out = raw + r * K;
        if (m->combiner == HL__COMBINE_VOTE) {
            for (size_t k = 0; k < K; k++) {
                double s = 0.0;
                for (size_t i = 0; i < M; i++)
                    s += p[(i * n + r) * K + k];
                out[k] = s / (double)M;
            }
            continue;
        }
        for (size_t k = 0; k < K; k++) {
            const double *wk = m->weights + k * width;
            double s = wk[width - 1];
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < K; j++) {
                    double q = p[(i * n + r) * K + j];
                    s += wk[i * K + j] * log(q > HL__STACK_PROBA_FLOOR
                                                 ? q
                                                 : HL__STACK_PROBA_FLOOR);
                }
            out[k] = s;
        }
    }
}
