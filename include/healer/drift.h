/* healer/drift.h - has the data being diagnosed drifted away from the
 * data the model was trained on?
 *
 * Training stores in every model (whatever its learner) a compact
 * reference of the training rows: per KPI a quantile sketch (values at
 * HL_DRIFT_QUANTILES + 1 evenly spaced probabilities, minimum and maximum
 * included), how many rows had it present, and the class mix of the
 * labels. A drift check compares a batch of rows with that reference, KPI
 * by KPI:
 *
 *   - psi: the population stability index over HL_DRIFT_PSI_BINS bins cut
 *     at the reference's deciles, plus one bin for missing values (so a
 *     KPI that became mostly missing drifts too); an empty bin counts as
 *     HL_DRIFT_PSI_EPSILON;
 *   - ks: the two-sample Kolmogorov-Smirnov statistic between the batch's
 *     present values and the reference's distribution function (the
 *     sketch, linear between its quantiles);
 *   - chi2: Pearson's chi-square statistic of homogeneity over the same
 *     bins (batch against reference), the test of PSI's shift: PSI itself
 *     is an effect size whose empty-bin epsilon makes it large for small
 *     batches whatever their distribution;
 *   - significant: the change is both beyond chance and large enough to
 *     matter. Beyond chance: ks above its critical value c(a) * sqrt((n +
 *     m) / (n m)), or chi2 above the chi-square quantile 1 - a at bins - 1
 *     degrees of freedom, where a = HL_DRIFT_ALPHA / (2 x number of KPIs)
 *     (Bonferroni: the chance that any unchanged KPI is flagged stays
 *     below HL_DRIFT_ALPHA; two tests per KPI), n the batch's and m the
 *     reference's rows; the chi-square test only from HL_DRIFT_MIN_ROWS
 *     rows on. So a small batch needs a large change to be flagged. Large
 *     enough: psi >= HL_DRIFT_PSI_MODERATE or ks >= HL_DRIFT_KS_MATERIAL,
 *     so a huge batch is not flagged for a difference nobody would act
 *     on.
 *   - level: none unless significant; severe when psi >=
 *     HL_DRIFT_PSI_SEVERE (the usual "act now" line of PSI), else
 *     moderate. The batch's verdict is its worst KPI's level.
 *
 * Calibration (bench/drift_check.py, docs/benchmarks.md): a model trained
 * on the whole reference file, checked against random halves of it, says
 * none with no significant KPI.
 *
 * Threads: a model is read-only here, so several checks may run at once;
 * a report is owned by the caller.
 */
#ifndef HEALER_DRIFT_H
#define HEALER_DRIFT_H

#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The reference a model stores: quantiles per KPI (their count; files
 * keep it, so a model written with another count still loads). */
#define HL_DRIFT_QUANTILES 100
/* PSI bins over the present values (cut at the reference's deciles). */
#define HL_DRIFT_PSI_BINS 10
/* The share an empty PSI bin counts as (log of zero otherwise). */
#define HL_DRIFT_PSI_EPSILON 1e-4
/* Family-wise false-alarm rate over all KPIs of a check: the report is
 * shown with every diagnosis, so at 5 % one batch in twenty of the
 * training distribution would show a drift; 1 % costs about 8 % on the
 * critical values. */
#define HL_DRIFT_ALPHA 0.01
/* A shift that matters: PSI 0.1 is the conventional "moderate" line, 0.25
 * the "severe" one. KS 0.125 is the distance of the same size of shift (a
 * normal KPI moved by a third of its spread has PSI 0.1 and KS 0.125), for
 * changes of shape that the decile bins of PSI miss. On simulated shifts
 * these lines find the KPIs moved on purpose and leave those only touched
 * by the changed class mix (docs/benchmarks.md). */
#define HL_DRIFT_PSI_MODERATE 0.1
#define HL_DRIFT_PSI_SEVERE 0.25
#define HL_DRIFT_KS_MATERIAL 0.125
/* The smallest batch whose chi-square test is trusted: its law holds from
 * about five rows expected per bin (Cochran's rule); below it only KS can
 * make a KPI significant. Random batches of this size drawn from the
 * training rows raise an alarm 1 to 2 % of the time at HL_DRIFT_ALPHA
 * (bench/drift_check.py). `healer predict` and the web API check batches
 * from this size on: smaller ones say too little to be worth a report. */
#define HL_DRIFT_MIN_ROWS (5 * HL_DRIFT_PSI_BINS)

typedef enum hl_drift_level {
    HL_DRIFT_NONE = 0,
    HL_DRIFT_MODERATE = 1,
    HL_DRIFT_SEVERE = 2
} hl_drift_level;

/* "none", "moderate" or "severe" (static strings). */
const char *hl_drift_level_name(hl_drift_level level);

/* One KPI of a check. */
typedef struct hl_drift_kpi {
    size_t feature;           /* the model's feature index */
    const char *name;         /* borrowed from the model */
    double psi;               /* >= 0, missing bin included */
    double ks;                /* in [0, 1]; 0 when either side has no
                                 present value */
    double chi2;              /* Pearson's statistic over the PSI bins */
    double chi2_critical;     /* chi2 beyond this is beyond chance */
    double ks_critical;       /* ks beyond this is beyond chance (1 when
                                 there is nothing to compare) */
    double missing_reference; /* share of rows missing it, in [0, 1] */
    double missing_batch;
    size_t present_reference; /* rows where it is present */
    size_t present_batch;
    int significant;      /* beyond chance and large enough */
    hl_drift_level level; /* HL_DRIFT_NONE unless significant */
    int read;             /* the model reads this KPI (KPI screening left
                             out the others: their drift cannot move a
                             prediction) */
} hl_drift_kpi;

/* A drift check. Release with hl_drift_report_free. */
typedef struct hl_drift_report {
    hl_drift_level verdict; /* the worst KPI's level */
    size_t rows;            /* batch rows */
    size_t reference_rows;  /* rows the reference was made from */
    size_t n_kpis;          /* the model's features */
    hl_drift_kpi *kpis;     /* n_kpis, in the model's feature order */
    size_t *order;          /* n_kpis indices into kpis, worst first:
                               level, then psi, then ks, descending */
    size_t n_significant;
    /* The same over the KPIs the model reads (all of them without KPI
     * screening): what the drift means for its predictions. */
    hl_drift_level verdict_read;
    size_t n_read, n_significant_read;
    size_t n_classes;
    char *const *class_names;    /* borrowed from the model */
    double *reference_class_mix; /* n_classes shares of the reference's
                                    labelled rows (sum 1) */
} hl_drift_report;

/* Non-zero when m carries a drift reference (models trained before it
 * existed do not; retraining adds it). */
int hl_model_has_drift_reference(const hl_model *m);

/* Checks n_rows rows already in the model's feature order (x is n_rows *
 * n_features floats, NAN = missing; infinities count as missing) against
 * m's reference. Fills *out (caller frees with hl_drift_report_free).
 * HL_ERR_DATA "the model has no drift reference; retrain it" for a model
 * without one; HL_ERR_DATA for zero rows. threads: 0 = all cores; the
 * report does not depend on it. */
hl_status hl_drift_check_matrix(const hl_model *m, const float *x,
                                size_t n_rows, int threads,
                                hl_drift_report *out, hl_error *err);

/* The same for a dataset whose columns are matched to the model's
 * features by name, as hl_model_predict_dataset does: a missing feature is
 * HL_ERR_DATA naming it (err->column); extra columns are ignored with a
 * warning added to *warn (may be NULL). */
hl_status hl_drift_check_dataset(const hl_model *m, const hl_dataset *ds,
                                 int threads, hl_drift_report *out,
                                 hl_warnings *warn, hl_error *err);

void hl_drift_report_free(hl_drift_report *r);

/* The KPIs of n_rows rows (model feature order, as for
 * hl_drift_check_matrix) whose drift is significant: *features receives a
 * malloc'ed array (caller frees, never NULL on success) of their model
 * feature indices, ascending, and *n_drifted their count - for callers
 * that adapt to a batch by leaving drifted KPIs out. Errors as
 * hl_drift_check_matrix. */
hl_status hl_drift_drifted_features(const hl_model *m, const float *x,
                                    size_t n_rows, int threads,
                                    size_t **features, size_t *n_drifted,
                                    hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
