/* normal.h - the normal ranges a model carries (healer/normal.h is the
 * public side): per KPI the centre and unit on the signed-log scale,
 * learned by training (train.c) and stored as a container section
 * (model_io.c).
 */
#ifndef HEALER_NORMAL_INTERNAL_H
#define HEALER_NORMAL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "healer/error.h"
#include "healer/model.h"

/* Room for the normal class's label. */
#define HL__NORMAL_LABEL_CAP 64

typedef struct hl__normal {
    char label[HL__NORMAL_LABEL_CAP]; /* "" = every training row */
    char asked[HL__NORMAL_LABEL_CAP]; /* the label training was given */
    uint64_t rows;                    /* rows the ranges come from */
    size_t n_features;
    float *center;    /* n_features: median of the signed log */
    float *scale;     /* n_features: its unit, >= HL_NORMAL_MIN_SCALE */
    uint64_t *present; /* n_features: rows where the KPI was present */
} hl__normal;

/* The ranges of the rows rows[0..n) of x (row-major, nf columns) whose
 * label y is `normal_class` (>= 0), or of all of them (normal_class < 0,
 * label ""). HL_ERR_NOMEM is the only failure. */
hl_status hl__normal_build(const float *x, size_t nf, const size_t *rows,
                           size_t n, const int32_t *y, int32_t normal_class,
                           const char *label, hl__normal **out);

void hl__normal_free(hl__normal *nr);

/* What the summary says of nr (has_normal, normal_class, normal_rows,
 * every KPI's range). HL_ERR_NOMEM is the only failure. */
hl_status hl__normal_into_summary(const hl__normal *nr, hl_model_summary *s);

/* The section: str label, str asked, u64 rows, u32 n, per KPI f32
 * center, f32 scale, u64 present. */
void hl__normal_write(const hl__normal *nr, hl__wbuf *w);

/* Reads it for a model of nf KPIs; refuses (HL_ERR_FORMAT through io) a
 * count that disagrees, a centre that is not finite, a unit below
 * HL_NORMAL_MIN_SCALE or not finite, more present rows than rows. */
hl_status hl__normal_read(hl__rbuf *r, size_t nf, const hl__io_ctx *io,
                          hl__normal **out);

#endif
