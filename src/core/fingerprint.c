/* fingerprint.c - the training rows' fingerprint and the training
 * overlap of a batch (see fingerprint.h and healer/overlap.h).
 *
 * The hash reads a row's values as their float bits (what the model
 * reads, bit for bit) through a multiply-rotate step per value and a
 * final avalanche (splitmix64's), so that the low bits the sampling
 * tests depend on every value.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "fingerprint.h"
#include "healer/overlap.h"
#include "internal.h"

uint64_t hl__row_hash(const float *row, size_t n_features)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n_features;
    for (size_t j = 0; j < n_features; j++) {
        float v = row[j];
        uint32_t bits;
        if (isnan(v))
            bits = 0x7fc00000u;
        else if (v == 0.0f)
            bits = 0; /* -0 and +0 */
        else
            memcpy(&bits, &v, sizeof bits);
        h ^= bits;
        h *= 0xff51afd7ed558ccdull;
        h = h << 29 | h >> 35;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h;
}

int hl__fingerprint_has(const hl__fingerprint *f, uint64_t h)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->hash[mid] < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < f->n && f->hash[lo] == h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Trailing zero bits of h (64 for 0). */
static unsigned low_zeros(uint64_t h)
{
    return h ? (unsigned)__builtin_ctzll(h) : 64u;
}

hl_status hl__fingerprint_build(const float *x, size_t n_features,
                                const size_t *rows, size_t n_rows,
                                hl__fingerprint **out)
{
    *out = NULL;
    hl__fingerprint *f = calloc(1, sizeof *f);
    uint64_t *h = malloc((n_rows + 1) * sizeof *h);
    if (!f || !h) {
        free(f);
        free(h);
        return HL_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_rows; i++)
        h[i] = hl__row_hash(x + rows[i] * n_features, n_features);
    qsort(h, n_rows, sizeof *h, cmp_u64);
    size_t n = 0;
    for (size_t i = 0; i < n_rows; i++)
        if (!n || h[i] != h[n - 1])
            h[n++] = h[i];
    /* at_least[s]: distinct hashes with s or more low zero bits */
    size_t at_least[66] = {0};
    for (size_t i = 0; i < n; i++)
        at_least[low_zeros(h[i])]++;
    for (int s = 63; s >= 0; s--)
        at_least[s] += at_least[s + 1];
    uint32_t shift = 0;
    while (at_least[shift] > HL__FINGERPRINT_MAX)
        shift++;
    f->shift = shift;
    f->rows = n_rows;
    for (size_t i = 0; i < n; i++)
        if (hl__fingerprint_samples(f, h[i]))
            h[f->n++] = h[i];
    f->hash = h;
    *out = f;
    return HL_OK;
}

void hl__fingerprint_free(hl__fingerprint *f)
{
    if (!f)
        return;
    free(f->hash);
    free(f);
}

void hl__fingerprint_write(const hl__fingerprint *f, hl__wbuf *w)
{
    hl__w_u32(w, f->shift);
    hl__w_u64(w, f->rows);
    hl__w_u32(w, (uint32_t)f->n);
    for (size_t i = 0; i < f->n; i++)
        hl__w_u64(w, f->hash[i]);
}

hl_status hl__fingerprint_read(hl__rbuf *r, const hl__io_ctx *io,
                               hl__fingerprint **out)
{
    *out = NULL;
    uint32_t shift = hl__r_u32(r);
    uint64_t rows = hl__r_u64(r);
    size_t n = hl__r_count(r, 8, HL__FINGERPRINT_MAX);
    if (r->failed || shift > 64 || n > rows)
        return hl__io_corrupt(io, "training fingerprint");
    hl__fingerprint *f = calloc(1, sizeof *f);
    uint64_t *h = malloc((n + 1) * sizeof *h);
    if (!f || !h) {
        free(f);
        free(h);
        return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
    }
    *f = (hl__fingerprint){shift, rows, n, h};
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        h[i] = hl__r_u64(r);
        ok = hl__fingerprint_samples(f, h[i]) && (i == 0 || h[i] > h[i - 1]);
    }
    if (!ok || r->failed) {
        hl__fingerprint_free(f);
        return hl__io_corrupt(io, "training fingerprint");
    }
    *out = f;
    return HL_OK;
}

/* ---- the public side ---- */

int hl_model_has_fingerprint(const hl_model *m)
{
    return m && m->fingerprint != NULL;
}

/* Counts one row into o. */
static void count_row(const hl__fingerprint *f, const float *row, size_t nf,
                      hl_training_overlap *o)
{
    uint64_t h = hl__row_hash(row, nf);
    if (!hl__fingerprint_samples(f, h))
        return;
    o->rows_checked++;
    o->rows_in_training += (uint64_t)hl__fingerprint_has(f, h);
}

hl_status hl_model_training_overlap(const hl_model *m, const float *x,
                                    size_t n_rows, hl_training_overlap *out,
                                    hl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m || (!x && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "overlap: NULL argument");
    if (!m->fingerprint)
        return hl__fail(err, HL_ERR_INVALID,
                        "the model keeps no fingerprint of its training rows "
                        "(it was trained before models kept one); retrain it");
    out->rows = n_rows;
    const size_t nf = m->summary.n_features;
    for (size_t i = 0; i < n_rows; i++)
        count_row(m->fingerprint, x + i * nf, nf, out);
    return HL_OK;
}

hl_status hl_model_training_overlap_dataset(const hl_model *m,
                                            const hl_dataset *ds,
                                            hl_training_overlap *out,
                                            hl_error *err)
{
    memset(out, 0, sizeof *out);
    if (!m || !ds)
        return hl__fail(err, HL_ERR_INVALID, "overlap: NULL argument");
    if (!m->fingerprint)
        return hl_model_training_overlap(m, NULL, 0, out, err);
    const size_t nf = m->summary.n_features;
    size_t *src = malloc((nf + 1) * sizeof *src);
    float *row = malloc((nf + 1) * sizeof *row);
    hl_status rc = src && row ? hl__model_map_features(m, ds, src, NULL, err)
                              : hl__fail(err, HL_ERR_NOMEM, "out of memory");
    if (rc == HL_OK)
        out->rows = ds->n_rows;
    for (size_t i = 0; rc == HL_OK && i < ds->n_rows; i++) {
        for (size_t j = 0; j < nf; j++)
            row[j] = ds->x[i * ds->n_features + src[j]];
        count_row(m->fingerprint, row, nf, out);
    }
    free(src);
    free(row);
    return rc;
}

const char *hl_training_overlap_verdict(const hl_training_overlap *o)
{
    if (o->rows_in_training == 0)
        return "none";
    return (double)o->rows_in_training >=
                   HL_OVERLAP_TRAINING_SHARE * (double)o->rows_checked
               ? "training_data"
               : "some";
}
