/* train_inputs.h - the inputs of one fit: which KPIs the learner reads
 * (KPI screening, screen.h), which families it reads besides (families.h),
 * and the dataset's rows as it reads them; then what the model keeps of
 * them and where its learner's importances go.
 *
 * Chosen on the rows a fit learns from and nothing else - not a CV fold's
 * test rows, not the early-stopping hold-out - so that every score stays
 * honest; a refit after early stopping keeps the inputs its rounds were
 * chosen for. Used by train.c.
 */
#ifndef HEALER_TRAIN_INPUTS_H
#define HEALER_TRAIN_INPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "healer/dataset.h"
#include "healer/train.h"
#include "inputs.h"

typedef struct hl__fit_inputs {
    double *signal; /* n_features; NULL with screening off */
    uint32_t *kept; /* NULL: every KPI */
    size_t n_kept;
    hl__families *families; /* NULL: none */
    float *x;               /* ds->n_rows x width; NULL: ds->x as it is */
    size_t width;           /* the learner's row width */
} hl__fit_inputs;

/* The inputs of a fit of p on dataset rows rows[0..n) of ds, into *in
 * (release with hl__fit_inputs_free). HL_ERR_NOMEM is the only failure. */
hl_status hl__fit_inputs_choose(const hl_dataset *ds, const hl_train_params *p,
                                const size_t *rows, size_t n,
                                hl__fit_inputs *in, hl_error *err);

void hl__fit_inputs_free(hl__fit_inputs *in);

/* What model m (of nf KPIs) keeps of in: the kept KPIs and families and,
 * for its summary, every KPI's signal, whether it is an input and its
 * family. HL_ERR_NOMEM is the only failure. */
hl_status hl__fit_inputs_into_model(const hl__fit_inputs *in, size_t nf,
                                    hl_model *m);

/* m's learner's importance of its inputs, added at their KPIs in s
 * (importance_gain and importance_splits zeroed, n_features long): a
 * family's gain shared evenly by its members (it averages them with equal
 * weights), each of its splits counted for every member. */
hl_status hl__importance_at_kpis(const hl_model *m, hl_model_summary *s);

#endif
