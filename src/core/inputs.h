/* inputs.h - what a learner reads of a row of KPIs: the KPIs screening
 * kept (screen.h), then one input per KPI family (families.h).
 *
 * One map, so that training (over the fit it is making) and prediction
 * (over the model's, container.h) build a learner's rows the same way.
 */
#ifndef HEALER_INPUTS_H
#define HEALER_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "families.h"

typedef struct hl__inputs {
    const uint32_t *kept; /* ascending; NULL = every KPI */
    size_t n_kept;
    const hl__families *families; /* NULL = none */
} hl__inputs;

/* 1 when the learner reads the KPI rows as they are. */
static inline int hl__inputs_identity(const hl__inputs *in)
{
    return !in->kept && !in->families;
}

/* The learner's row width for rows of nf KPIs. */
static inline size_t hl__inputs_width(const hl__inputs *in, size_t nf)
{
    return (in->kept ? in->n_kept : nf) + (in->families ? in->families->n : 0);
}

/* The learner's rows (n_rows x hl__inputs_width) of n_rows rows of nf
 * KPIs x into out. */
void hl__inputs_gather(const hl__inputs *in, const float *x, size_t n_rows,
                       size_t nf, float *out);

#endif
