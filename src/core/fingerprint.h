/* fingerprint.h - which rows a model was trained on, kept small: a
 * bounded, consistent sample of 64-bit hashes of the training rows' KPI
 * values, so that a later batch can tell how many of its rows are
 * training rows (healer/overlap.h is the public side).
 *
 * Consistent sampling: a row belongs to the sample when the low `shift`
 * bits of its hash are 0, the smallest shift that keeps at most
 * HL__FINGERPRINT_MAX distinct hashes. A batch samples its own rows by
 * the same rule, so a training row of the batch is in the sample exactly
 * when its copy at training was: the share of sampled batch rows found
 * estimates the share of the whole batch, without keeping every row. At
 * most 512 KiB in a model file whatever the training set's size.
 *
 * Built by training (train.c) over the rows the model learnt from;
 * written and read by model_io.c as the container section FINGERPRINT.
 */
#ifndef HEALER_FINGERPRINT_H
#define HEALER_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "healer/error.h"

/* The most hashes a model keeps. */
#define HL__FINGERPRINT_MAX 65536u

typedef struct hl__fingerprint {
    uint32_t shift; /* a row is sampled when hash & ((1 << shift) - 1) is 0 */
    uint64_t rows;  /* training rows hashed */
    size_t n;       /* hashes kept */
    uint64_t *hash; /* n, ascending, distinct */
} hl__fingerprint;

/* The hash of one row of n_features values (NAN = missing; every NaN and
 * both zeros hash alike, so a value read back from a CSV matches). */
uint64_t hl__row_hash(const float *row, size_t n_features);

/* 1 when a row with hash h belongs to f's sample. */
static inline int hl__fingerprint_samples(const hl__fingerprint *f,
                                          uint64_t h)
{
    return f->shift >= 64 ? h == 0 : (h & ((1ull << f->shift) - 1)) == 0;
}

/* 1 when hash h is among f's. */
int hl__fingerprint_has(const hl__fingerprint *f, uint64_t h);

/* The fingerprint of rows rows[0..n_rows) of x (row-major, n_features
 * columns). *out is NULL on failure (HL_ERR_NOMEM). */
hl_status hl__fingerprint_build(const float *x, size_t n_features,
                                const size_t *rows, size_t n_rows,
                                hl__fingerprint **out);

void hl__fingerprint_free(hl__fingerprint *f);

/* The section's body: u32 shift, u64 rows, u32 n, u64 hash[n]. */
void hl__fingerprint_write(const hl__fingerprint *f, hl__wbuf *w);

/* Reads what hl__fingerprint_write wrote, checking it: n within
 * HL__FINGERPRINT_MAX and the bytes left, hashes ascending and sampled by
 * the shift. HL_ERR_FORMAT (corrupted) or HL_ERR_NOMEM. */
hl_status hl__fingerprint_read(hl__rbuf *r, const hl__io_ctx *io,
                               hl__fingerprint **out);

#endif
