/* healer/overlap.h - is a batch the data a model was trained on?
 *
 * Scoring a model on its own training rows flatters it: a diagnosis of
 * those rows should say so. Training keeps a bounded, consistent sample
 * of hashes of its rows' KPI values (at most 65,536 hashes: rows whose
 * hash has its low bits zero, as many low bits as keep the count within
 * that); a batch's rows are hashed the same way, and among the batch's
 * rows that the same rule samples, those whose hash the model kept are
 * training rows. A row matches only when every KPI value is the same,
 * bit for bit (missing values alike); other columns (ids, labels) do not
 * count. Models trained before it have no fingerprint.
 *
 * Threads: read-only on the model.
 */
#ifndef HEALER_OVERLAP_H
#define HEALER_OVERLAP_H

#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A batch is "training_data" when at least this share of its sampled
 * rows are training rows; "some" when fewer but at least one; "none"
 * otherwise. */
#define HL_OVERLAP_TRAINING_SHARE 0.9

typedef struct hl_training_overlap {
    uint64_t rows;             /* rows of the batch */
    uint64_t rows_checked;     /* of those, the ones the sampling rule took */
    uint64_t rows_in_training; /* of those, training rows */
} hl_training_overlap;

/* 1 when m keeps a fingerprint of its training rows. */
int hl_model_has_fingerprint(const hl_model *m);

/* The overlap of n_rows rows of x (model feature order) with m's
 * training rows. HL_ERR_INVALID for a model without a fingerprint (the
 * message says to retrain it). */
hl_status hl_model_training_overlap(const hl_model *m, const float *x,
                                    size_t n_rows, hl_training_overlap *out,
                                    hl_error *err);

/* The same for a dataset, columns matched to m's features by name (a
 * missing one is HL_ERR_DATA). */
hl_status hl_model_training_overlap_dataset(const hl_model *m,
                                            const hl_dataset *ds,
                                            hl_training_overlap *out,
                                            hl_error *err);

/* "none", "some" or "training_data" (HL_OVERLAP_TRAINING_SHARE). */
const char *hl_training_overlap_verdict(const hl_training_overlap *o);

#ifdef __cplusplus
}
#endif
#endif
