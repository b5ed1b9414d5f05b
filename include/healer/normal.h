/* healer/normal.h - what a KPI looks like when nothing is wrong, and how
 * far a sample's value is from it.
 *
 * Training learns a range per KPI from the rows of the normal class (the
 * label training names as normal: "normal" unless told otherwise) or,
 * when the data has no such class, from every training row. The choice,
 * written down: values are taken on the signed-log scale (the KPIs span
 * 1e-4..1e17 and are often negative), where the centre is the median and
 * the unit is the median absolute deviation times 1.4826 (a standard
 * deviation for normal data), at least HL_NORMAL_MIN_SCALE so that a KPI
 * constant in normal operation still gives finite distances. A value's
 * distance z is (slog(x) - centre) / unit; the normal range is the values
 * within HL_NORMAL_Z units of the centre, mapped back to the KPI's own
 * units. Medians and MADs: one outlier row moves neither.
 *
 * Threads: read-only on the model.
 */
#ifndef HEALER_NORMAL_H
#define HEALER_NORMAL_H

#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"
#include "healer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A value more than this many robust units from the centre is outside
 * the normal range (about 1 normal row in 370). */
#define HL_NORMAL_Z 3.0
/* The smallest unit, on the signed-log scale: a tenth, about 10 % of a
 * large value. */
#define HL_NORMAL_MIN_SCALE 0.1
/* The label training takes as the normal class by default. */
#define HL_NORMAL_DEFAULT_CLASS "normal"

typedef struct hl_normal_range {
    double low, high; /* the normal range in the KPI's units */
    double median;    /* its centre in the KPI's units */
    uint64_t rows;    /* rows in which the KPI was present */
} hl_normal_range;

/* The class the model's ranges come from: its label, or NULL when they
 * come from every training row (no class had the normal label) or the
 * model has no ranges (older than them: hl_model_has_normal_ranges). */
const char *hl_model_normal_class(const hl_model *m);

/* 1 when the model has normal ranges (models trained before them do
 * not). */
int hl_model_has_normal_ranges(const hl_model *m);

/* KPI kpi's range; HL_ERR_INVALID for a KPI out of range or a model
 * without ranges. A KPI never present in the rows gets an empty range
 * (low = high = NAN, rows 0). */
hl_status hl_model_normal_range(const hl_model *m, size_t kpi,
                                hl_normal_range *out, hl_error *err);

/* The distance of value x of KPI kpi from its centre in robust units
 * (negative below); NAN for a missing value, a KPI never present in
 * training, or a model without ranges. */
double hl_model_normal_z(const hl_model *m, size_t kpi, double x);

/* One KPI of a row outside its normal range. */
typedef struct hl_abnormal_kpi {
    size_t kpi; /* the model's feature index */
    double z;   /* its distance: |z| > HL_NORMAL_Z */
} hl_abnormal_kpi;

/* The KPIs of one row (the model's features in its order) outside their
 * normal ranges, the farthest first, at most cap of them into out;
 * returns how many there are in all (which may exceed cap). 0 for a
 * model without ranges. */
size_t hl_model_abnormal_kpis(const hl_model *m, const float *row,
                              hl_abnormal_kpi *out, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
