/* screen.h - KPI screening: which KPIs carry class signal in the training
 * rows, and the model's inputs limited to those.
 *
 * A KPI whose distribution is the same in every class cannot help a
 * classifier, but its drift can hurt one: trees still split on it, and
 * when its scale moves in deployment the rows go down other branches. On
 * the reference data the 28 KPIs whose scale changes completely in the
 * held-back split are all such KPIs (docs/benchmarks.md, "Robustness to
 * drift"). So training measures every KPI's class signal - the
 * Kruskal-Wallis H over the classes, as an effect size epsilon-squared =
 * H / (n - 1), rank-based and so blind to the KPIs' 1e-4..1e17 scales -
 * on its training rows only (per fold in cross-validation, so the
 * estimate stays honest), and the learner sees the KPIs at or above the
 * threshold (shared option screen_kpis).
 */
#ifndef HEALER_SCREEN_H
#define HEALER_SCREEN_H

#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"

/* The default threshold of screen_kpis: the class explains under 0.7 %
 * of a KPI's rank variance. On the reference data the KPIs without
 * signal reach 0.0057 and the weakest with signal 0.0097; with 5-fold
 * de-duplicated CV it keeps the in-distribution score and raises the
 * shifted ones (docs/benchmarks.md, "Robustness to deployment shift"). */
#define HL_SCREEN_DEFAULT 0.007

/* Fewer KPIs than this are never kept while more are there: with the
 * strongest few a model still has something to learn from. */
#define HL__SCREEN_MIN_KEPT 4

/* epsilon-squared of each of the nf KPIs (signal[nf]) over dataset rows
 * rows[0..n) of x (row stride nf) with labels y (0..n_classes-1). A
 * missing value ranks below every present one (missingness can be the
 * signal). HL_ERR_NOMEM is the only failure. */
hl_status hl__kpi_signal(const float *x, size_t nf, const int32_t *y,
                         size_t n_classes, const size_t *rows, size_t n,
                         double *signal);

/* The KPIs to keep, ascending, into kept[] (nf entries of room): those
 * with signal >= threshold, topped up with the strongest others to
 * min(nf, HL__SCREEN_MIN_KEPT). Returns how many. */
size_t hl__screen_select(const double *signal, size_t nf, double threshold,
                         uint32_t *kept);

#endif
