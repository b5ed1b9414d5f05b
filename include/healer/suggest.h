/* healer/suggest.h - which rows of a batch a person should label first.
 *
 * A few labelled rows from a new environment help a model more than any
 * correction without labels (docs/benchmarks.md, "Learning from
 * deployment labels"); a person's time is what limits them. So for each
 * class the model predicts, the rows it is least sure of (the smallest
 * margin between its two most likely classes: uncertainty sampling), and
 * among those the ones least like each other (greedy farthest-first in a
 * scale-free space of the KPIs the model reads: diversity), so that
 * twenty labels are not spent on twenty copies of one event.
 *
 * Threads: no shared state.
 */
#ifndef HEALER_SUGGEST_H
#define HEALER_SUGGEST_H

#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The uncertain rows a class's picks come from: this many times the
 * number asked for, the most uncertain first. */
#define HL_SUGGEST_POOL_FACTOR 4
/* Beyond it a person is not labelling by hand, and farthest-first picking
 * (pool x picks distances) stops being instant. */
#define HL_SUGGEST_MAX_PER_CLASS 1000

typedef struct hl_suggestion {
    size_t row;        /* 0-based row of the dataset */
    int32_t predicted; /* the model's class */
    double confidence; /* its probability */
    double margin;     /* top-1 minus top-2 probability: small = unsure */
} hl_suggestion;

/* Picks up to per_class rows of ds per class m predicts (fewer when it
 * predicts that class for fewer distinct rows), given the probabilities
 * proba (ds->n_rows x classes of m, from hl_model_predict_dataset). Rows
 * are grouped by predicted class (model class order), the most uncertain
 * first within a class. Exact duplicates of a picked row are never
 * picked. *out (malloc'ed, free()) and *n_out receive them.
 * HL_ERR_INVALID for per_class outside 1..HL_SUGGEST_MAX_PER_CLASS;
 * HL_ERR_DATA when a feature of m is missing from ds. */
hl_status hl_suggest_rows(const hl_model *m, const hl_dataset *ds,
                          const double *proba, size_t per_class,
                          hl_suggestion **out, size_t *n_out, hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
