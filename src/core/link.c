/* link.c - from a learner's raw outputs to class probabilities.
 *
 * The model container applies the link its learner declared, so learners
 * only produce raw outputs: boosted trees give softmax scores (or, for two
 * classes, one log-odds), a forest will give probabilities directly. The
 * arithmetic is fixed here once: training (losses, gradients) and
 * prediction use the same code, so a model scores its hold-out exactly as
 * it will predict.
 */
#include <math.h>
#include <string.h>

#include "learner.h"

static void logistic(const double *raw, double *proba)
{
    double p1 = 1.0 / (1.0 + exp(-raw[0]));
    proba[0] = 1.0 - p1;
    proba[1] = p1;
}

/* Shifted by the largest score so that exp never overflows. */
static void softmax(const double *raw, size_t n_classes, double *proba)
{
    double mx = raw[0];
    for (size_t k = 1; k < n_classes; k++)
        if (raw[k] > mx)
            mx = raw[k];
    double sum = 0.0;
    for (size_t k = 0; k < n_classes; k++) {
        proba[k] = exp(raw[k] - mx);
        sum += proba[k];
    }
    for (size_t k = 0; k < n_classes; k++)
        proba[k] /= sum;
}

void hl__link_apply(hl__link link, const double *raw, size_t n_classes,
                    double *proba)
{
    switch (link) {
    case HL__LINK_LOGISTIC:
        logistic(raw, proba);
        return;
    case HL__LINK_SOFTMAX:
        softmax(raw, n_classes, proba);
        return;
    case HL__LINK_PROBA:
        memcpy(proba, raw, n_classes * sizeof *proba);
        return;
    }
}
