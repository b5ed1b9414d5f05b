/* metrics.c - classification scores: accuracy, per-class and macro
 * precision/recall/F1, support-weighted F1, log loss, confusion matrix.
 *
 * Every figure follows scikit-learn's definition (with
 * labels=range(n_classes) and zero_division=0) so that numbers reported by
 * SystemHealer can be put next to a peer's Python notebook without
 * footnotes. Everything is derived from one pass that fills the confusion
 * matrix; per-class counts are then read off its rows and columns, so the
 * figures can never disagree with the matrix the UI shows.
 *
 * Deliberately not here: probability calibration, ROC/AUC, thresholds. The
 * data splits that feed these scores live in split.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "healer/metrics.h"
#include "internal.h"

/* sklearn's log_loss clip: a confident wrong answer costs -log(1e-15) ~ 34.5
 * instead of infinity, so one bad row cannot swamp the mean. */
#define HL__LOGLOSS_EPS 1e-15

static hl_status check_args(const int32_t *y_true, const int32_t *y_pred,
                            const double *proba, size_t n, size_t n_classes,
                            hl_error *err)
{
    if (n_classes == 0)
        return hl__fail(err, HL_ERR_INVALID, "metrics: n_classes must be >= 1");
    if (n_classes > SIZE_MAX / n_classes / sizeof(uint64_t) ||
        n_classes > INT32_MAX)
        return hl__fail(err, HL_ERR_LIMIT, "metrics: %zu classes is too many",
                        n_classes);
    if (n > 0 && (!y_true || !y_pred))
        return hl__fail(err, HL_ERR_INVALID,
                        "metrics: y_true and y_pred are required");
    if (proba && n > SIZE_MAX / n_classes)
        return hl__fail(err, HL_ERR_LIMIT,
                        "metrics: probability matrix of %zu x %zu overflows", n,
                        n_classes);

    const int32_t nc = (int32_t)n_classes;
    for (size_t i = 0; i < n; i++) {
        if (y_true[i] < 0)
            continue; /* unlabelled: its prediction is never looked at */
        if (y_true[i] >= nc)
            return hl__fail(
                err, HL_ERR_INVALID,
                "metrics: row %zu: true class %d is out of range 0..%d", i,
                (int)y_true[i], (int)nc - 1);
        if (y_pred[i] < 0 || y_pred[i] >= nc)
            return hl__fail(
                err, HL_ERR_INVALID,
                "metrics: row %zu: predicted class %d is out of range 0..%d", i,
                (int)y_pred[i], (int)nc - 1);
        /* NaN cannot be clipped into a meaningful cost; anything else can. */
        if (proba && isnan(proba[i * n_classes + (size_t)y_true[i]]))
            return hl__fail(
                err, HL_ERR_INVALID,
                "metrics: row %zu: probability of the true class is NaN", i);
    }
    return HL_OK;
}

static double safe_ratio(double num, double den)
{
    return den > 0 ? num / den : 0.0;
}

/* Reads per-class counts off the confusion matrix and averages them. */
static void summarise(hl_metrics *m)
{
    const size_t nc = m->n_classes;
    double sum_p = 0, sum_r = 0, sum_f = 0, weighted = 0;
    uint64_t correct = 0;

    for (size_t c = 0; c < nc; c++) {
        uint64_t support = 0, predicted = 0;
        for (size_t j = 0; j < nc; j++) {
            support += m->confusion[c * nc + j];
            predicted += m->confusion[j * nc + c];
        }
        const double tp = (double)m->confusion[c * nc + c];
        hl_class_metrics *pc = &m->per_class[c];
        pc->support = (size_t)support;
        pc->predicted = (size_t)predicted;
        pc->precision = safe_ratio(tp, (double)predicted);
        pc->recall = safe_ratio(tp, (double)support);
        pc->f1 = safe_ratio(2.0 * pc->precision * pc->recall,
                            pc->precision + pc->recall);
        correct += m->confusion[c * nc + c];
        sum_p += pc->precision;
        sum_r += pc->recall;
        sum_f += pc->f1;
        weighted += pc->f1 * (double)support;
    }
    m->accuracy = safe_ratio((double)correct, (double)m->n_samples);
    m->macro_precision = sum_p / (double)nc;
    m->macro_recall = sum_r / (double)nc;
    m->macro_f1 = sum_f / (double)nc;
    m->weighted_f1 = safe_ratio(weighted, (double)m->n_samples);
}

/* With zero scored rows every score is 0 (sklearn would warn and return 0
 * for F1; accuracy would be NaN there, 0 here so that callers never have to
 * special-case NaN in tables) and log_loss is NAN: there is no mean. */
hl_status hl_metrics_compute(const int32_t *y_true, const int32_t *y_pred,
                             const double *proba, size_t n, size_t n_classes,
                             hl_metrics *out, hl_error *err)
{
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "metrics: out is NULL");
    memset(out, 0, sizeof *out);
    out->log_loss = NAN;

    hl_status rc = check_args(y_true, y_pred, proba, n, n_classes, err);
    if (rc != HL_OK)
        return rc;

    hl_metrics m = {.n_classes = n_classes, .log_loss = NAN};
    m.per_class = calloc(n_classes, sizeof *m.per_class);
    m.confusion = calloc(n_classes * n_classes, sizeof *m.confusion);
    if (!m.per_class || !m.confusion) {
        rc = hl__fail(err, HL_ERR_NOMEM, "metrics: out of memory");
        goto fail;
    }

    double loss_sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (y_true[i] < 0)
            continue;
        const size_t t = (size_t)y_true[i];
        m.confusion[t * n_classes + (size_t)y_pred[i]]++;
        m.n_samples++;
        if (proba) {
            double p = proba[i * n_classes + t];
            p = p < HL__LOGLOSS_EPS ? HL__LOGLOSS_EPS : (p > 1.0 ? 1.0 : p);
            loss_sum -= log(p);
        }
    }
    if (proba && m.n_samples > 0)
        m.log_loss = loss_sum / (double)m.n_samples;
    summarise(&m);
    *out = m;
    return HL_OK;

fail:
    hl_metrics_free(&m);
    return rc;
}

void hl_metrics_free(hl_metrics *m)
{
    if (!m)
        return;
    free(m->per_class);
    free(m->confusion);
    memset(m, 0, sizeof *m);
    m->log_loss = NAN;
}

/* dst must not alias src. On failure *dst is left empty (safe to free). */
hl_status hl_metrics_copy(hl_metrics *dst, const hl_metrics *src, hl_error *err)
{
    if (!dst || !src)
        return hl__fail(err, HL_ERR_INVALID, "metrics copy: NULL argument");
    if (dst == src)
        return hl__fail(err, HL_ERR_INVALID, "metrics copy: dst aliases src");

    hl_metrics copy = *src;
    copy.per_class = NULL;
    copy.confusion = NULL;
    const size_t nc = src->n_classes;
    if (nc > 0 && nc > SIZE_MAX / nc / sizeof(uint64_t)) {
        memset(dst, 0, sizeof *dst);
        dst->log_loss = NAN;
        return hl__fail(err, HL_ERR_LIMIT, "metrics copy: %zu classes", nc);
    }
    if (src->per_class && nc > 0) {
        copy.per_class = malloc(nc * sizeof *copy.per_class);
        if (!copy.per_class)
            goto nomem;
        memcpy(copy.per_class, src->per_class, nc * sizeof *copy.per_class);
    }
    if (src->confusion && nc > 0) {
        copy.confusion = malloc(nc * nc * sizeof *copy.confusion);
        if (!copy.confusion)
            goto nomem;
        memcpy(copy.confusion, src->confusion,
               nc * nc * sizeof *copy.confusion);
    }
    *dst = copy;
    return HL_OK;

nomem:
    hl_metrics_free(&copy);
    memset(dst, 0, sizeof *dst);
    dst->log_loss = NAN;
    return hl__fail(err, HL_ERR_NOMEM, "metrics copy: out of memory");
}
