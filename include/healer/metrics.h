/* healer/metrics.h - classification metrics and data splits.
 *
 * Definitions follow scikit-learn so figures can be compared with peers:
 * macro-F1 is the unweighted mean of per-class F1, a class that is never
 * predicted has precision 0, log loss clips probabilities to [1e-15, 1].
 */
#ifndef HEALER_METRICS_H
#define HEALER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_class_metrics {
    double precision;
    double recall;
    double f1;
    size_t support;   /* rows whose true class is this one */
    size_t predicted; /* rows predicted as this class */
} hl_class_metrics;

typedef struct hl_metrics {
    size_t n_classes;
    size_t n_samples;          /* rows scored (rows with y_true < 0 are skipped) */
    double accuracy;
    double macro_precision;
    double macro_recall;
    double macro_f1;
    double weighted_f1;        /* per-class F1 weighted by support */
    double log_loss;           /* NAN when no probabilities were given */
    hl_class_metrics *per_class; /* n_classes entries, owned */
    uint64_t *confusion;       /* n_classes * n_classes, [true * n + predicted], owned */
} hl_metrics;

/* Scores predictions. y_true[i] < 0 marks an unlabelled row, which is
 * skipped. proba (n * n_classes, row-major) may be NULL, then log_loss is NAN.
 * Fills *out (caller frees with hl_metrics_free). */
hl_status hl_metrics_compute(const int32_t *y_true, const int32_t *y_pred,
                             const double *proba, size_t n, size_t n_classes,
                             hl_metrics *out, hl_error *err);

void hl_metrics_free(hl_metrics *m);

/* Deep copy of src into *dst. */
hl_status hl_metrics_copy(hl_metrics *dst, const hl_metrics *src, hl_error *err);

/* Stratified k-fold assignment in which rows of one group never straddle
 * folds. group may be NULL (every row its own group); otherwise group[i] is
 * any id shared by rows that must stay together (e.g. hl_dup_info.group);
 * a group is stratified by the class of its first row. Rows with y < 0 get
 * fold UINT32_MAX. Writes fold_out[i] in [0, k). Deterministic for a seed. */
hl_status hl_stratified_folds(const int32_t *y, const uint32_t *group, size_t n,
                              size_t n_classes, unsigned k, uint64_t seed,
                              uint32_t *fold_out, hl_error *err);

/* Stratified hold-out split: marks about `fraction` of every class as
 * validation (is_valid[i] = 1), keeping at least one training row per class.
 * Same grouping rule as hl_stratified_folds(). */
hl_status hl_stratified_holdout(const int32_t *y, const uint32_t *group,
                                size_t n, size_t n_classes, double fraction,
                                uint64_t seed, uint8_t *is_valid,
                                hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
