/* binning.c - quantile bins: turn float KPIs into one byte per cell.
 *
 * Trees only ever compare a value with a threshold, so tree learners work on
 * bin numbers instead of floats: a row is then n_features bytes, histograms
 * are small, and a split is "bin <= b". Boundaries are chosen so that each
 * bin holds about the same number of rows (values with many repeats get a
 * bin of their own), and they lie between two observed values so that the
 * float threshold stored in the model sends every training value exactly
 * where the binned split did. Bin 0 is reserved for missing values.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "trees/trees.h"

/* Above this many rows the boundaries come from a deterministic sample:
 * quantiles of 200k values are as good as of millions, and 10x cheaper. */
#define HL__BIN_SAMPLE_ROWS 200000

/* A boundary between two adjacent distinct values lo < hi such that
 * lo <= cut < hi even after rounding to float. */
static float boundary_between(float lo, float hi)
{
    float mid = (float)(((double)lo + (double)hi) * 0.5);
    if (mid < lo || mid >= hi)
        mid = lo;
    return mid;
}

/* Computes up to max_bins - 1 cuts from sorted finite values v[0..n). */
static size_t cuts_from_sorted(const float *v, size_t n, int max_bins,
                               float *cuts)
{
    size_t n_distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i] != v[i - 1])
            n_distinct++;
    size_t n_cuts = 0;
    if (n_distinct <= (size_t)max_bins) {
        for (size_t i = 1; i < n; i++)
            if (v[i] != v[i - 1])
                cuts[n_cuts++] = boundary_between(v[i - 1], v[i]);
        return n_cuts;
    }
    /* Greedy equal-frequency pass over runs of equal values; the target is
     * recomputed as bins fill so that heavy repeated values do not starve
     * the bins after them. */
    size_t bins_left = (size_t)max_bins, remaining = n, in_bin = 0;
    double target = (double)remaining / (double)bins_left;
    size_t i = 0;
    while (i < n && bins_left > 1) {
        size_t run_end = i + 1;
        while (run_end < n && v[run_end] == v[i])
            run_end++;
        size_t run = run_end - i;
        in_bin += run;
        if (run_end < n && (double)in_bin >= target) {
            cuts[n_cuts++] = boundary_between(v[run_end - 1], v[run_end]);
            remaining -= in_bin;
            in_bin = 0;
            bins_left--;
            target = (double)remaining / (double)bins_left;
        }
        i = run_end;
    }
    return n_cuts;
}

typedef struct build_ctx {
    const float *x;
    size_t n_features;
    const size_t *rows;
    size_t n;
    int max_bins;
    float **scratch; /* per worker: n floats */
    hl__bins *out;
    int failed; /* set by a task on allocation failure */
} build_ctx;

static void build_feature(void *p, size_t f, int worker)
{
    build_ctx *c = p;
    float *v = c->scratch[worker];
    size_t m = 0;
    for (size_t i = 0; i < c->n; i++) {
        size_t r = c->rows ? c->rows[i] : i;
        float val = c->x[r * c->n_features + f];
        if (!isnan(val))
            v[m++] = val;
    }
    hl__sort_floats(v, m);
    float *cuts = malloc(((size_t)c->max_bins) * sizeof *cuts);
    if (!cuts) {
        c->failed = 1;
        return;
    }
    size_t n_cuts = cuts_from_sorted(v, m, c->max_bins, cuts);
    c->out->cuts[f] = cuts;
    c->out->n_bins[f] = (uint32_t)(n_cuts + 1);
}

/* Picks at most HL__BIN_SAMPLE_ROWS of rows (or 0..n-1), in ascending order,
 * with a seeded selection sampling pass. */
static size_t *sample_rows(const size_t *rows, size_t n, uint64_t seed,
                           size_t *n_out)
{
    size_t want = n > HL__BIN_SAMPLE_ROWS ? HL__BIN_SAMPLE_ROWS : n;
    size_t *s = malloc((want ? want : 1) * sizeof *s);
    if (!s)
        return NULL;
    hl__rng rng;
    hl__rng_seed(&rng, hl__seed_mix(seed, 0xB1A5));
    size_t taken = 0;
    for (size_t i = 0; i < n && taken < want; i++) {
        /* Knuth's algorithm S: take row i with probability needed/left. */
        if (hl__rng_below(&rng, n - i) < want - taken)
            s[taken++] = rows ? rows[i] : i;
    }
    *n_out = taken;
    return s;
}

hl_status hl__bins_build(const float *x, size_t n_features, const size_t *rows,
                         size_t n, int max_bins, uint64_t seed, hl__pool *pool,
                         hl__bins *out, hl_error *err)
{
    memset(out, 0, sizeof *out);
    if (max_bins < 2 || max_bins > 255)
        return hl__fail(err, HL_ERR_INVALID, "max_bins must be in 2..255");
    size_t *sample = NULL;
    size_t n_sample = n;
    if (n > HL__BIN_SAMPLE_ROWS) {
        sample = sample_rows(rows, n, seed, &n_sample);
        if (!sample)
            return hl__fail(err, HL_ERR_NOMEM, "out of memory while binning");
    }
    int workers = hl__pool_size(pool);
    build_ctx c = {x,        n_features, sample ? sample : rows,
                   n_sample, max_bins,   NULL,
                   out,      0};
    out->n_features = n_features;
    out->n_bins = calloc(n_features ? n_features : 1, sizeof *out->n_bins);
    out->offset = calloc(n_features ? n_features : 1, sizeof *out->offset);
    out->cuts = calloc(n_features ? n_features : 1, sizeof *out->cuts);
    c.scratch = calloc((size_t)workers, sizeof *c.scratch);
    if (!out->n_bins || !out->offset || !out->cuts || !c.scratch)
        goto nomem;
    for (int w = 0; w < workers; w++)
        if (!(c.scratch[w] = malloc((n_sample ? n_sample : 1) * sizeof(float))))
            goto nomem;
    hl__pool_run(pool, n_features, build_feature, &c);
    if (c.failed)
        goto nomem;
    size_t total = 0;
    for (size_t f = 0; f < n_features; f++) {
        out->offset[f] = (uint32_t)total;
        total += out->n_bins[f] + 1;
    }
    out->total = total;
    for (int w = 0; w < workers; w++)
        free(c.scratch[w]);
    free(c.scratch);
    free(sample);
    return HL_OK;
nomem:
    if (c.scratch)
        for (int w = 0; w < workers; w++)
            free(c.scratch[w]);
    free(c.scratch);
    free(sample);
    hl__bins_free(out);
    return hl__fail(err, HL_ERR_NOMEM, "out of memory while binning");
}

void hl__bins_free(hl__bins *b)
{
    if (!b)
        return;
    if (b->cuts)
        for (size_t f = 0; f < b->n_features; f++)
            free(b->cuts[f]);
    free(b->cuts);
    free(b->n_bins);
    free(b->offset);
    memset(b, 0, sizeof *b);
}

uint8_t hl__bin_value(const hl__bins *b, size_t f, float v)
{
    if (isnan(v))
        return 0;
    /* Count of cuts strictly below v, by halving a window whose first
     * element is the last cut known below v (or the start). The step is a
     * conditional move, not a branch: which half a value falls in is a
     * coin toss, and binning every cell of the training data paid a
     * misprediction at most steps. */
    const float *base = b->cuts[f];
    size_t n = b->n_bins[f] - 1; /* number of cuts */
    if (n == 0)
        return 1;
    while (n > 1) {
        const size_t half = n / 2;
        /* A mask, not "?:": the compiler turned that back into a branch. */
        base += half & -(size_t)(base[half - 1] < v);
        n -= half;
    }
    return (uint8_t)((size_t)(base - b->cuts[f]) + (base[0] < v) + 1);
}

typedef struct apply_ctx {
    const hl__bins *b;
    const float *x;
    const size_t *rows;
    size_t n;
    uint8_t *out;
} apply_ctx;

/* Rows per task: small enough that the reference data's ~5,000 rows make
 * several tasks per thread (4096 made two tasks, one five times the
 * other's size), large enough that a task is many microseconds. */
#define HL__APPLY_CHUNK 512
/* Rows binned KPI by KPI within a task: their floats and bytes stay in L1
 * (32 rows of 107 KPIs: 14 KB and 3 KB). */
#define HL__APPLY_ROWS 32

static void apply_chunk(void *p, size_t task, int worker)
{
    (void)worker;
    const apply_ctx *c = p;
    size_t nf = c->b->n_features;
    size_t begin = task * HL__APPLY_CHUNK;
    size_t end =
        begin + HL__APPLY_CHUNK < c->n ? begin + HL__APPLY_CHUNK : c->n;
    /* A few rows at a time, one KPI after the other: a KPI's cuts (up to
     * 1 KB) then stay in L1 through the rows' searches, which are
     * independent and overlap. Row by row, every step of a search read
     * the cuts of another KPI (100 KB of them for 107 KPIs) from L2. */
    for (size_t i0 = begin; i0 < end; i0 += HL__APPLY_ROWS) {
        const size_t i1 = i0 + HL__APPLY_ROWS < end ? i0 + HL__APPLY_ROWS : end;
        for (size_t f = 0; f < nf; f++) {
            for (size_t i = i0; i < i1; i++) {
                const size_t r = c->rows ? c->rows[i] : i;
                c->out[i * nf + f] = hl__bin_value(c->b, f, c->x[r * nf + f]);
            }
        }
    }
}

void hl__bins_apply(const hl__bins *b, const float *x, const size_t *rows,
                    size_t n, hl__pool *pool, uint8_t *out)
{
    apply_ctx c = {b, x, rows, n, out};
    hl__pool_run(pool, (n + HL__APPLY_CHUNK - 1) / HL__APPLY_CHUNK, apply_chunk,
                 &c);
}
