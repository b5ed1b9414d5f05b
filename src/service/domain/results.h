/* domain/results.h - a diagnosis's per-row results as they are stored:
 * written once, read back by page without reading the rest.
 *
 * A diagnosis of a million rows is looked at a page of 100 rows at a time,
 * sampled for a scatter plot, or exported whole. The results blob is laid
 * out so that each of those reads only what it needs: a fixed header, the
 * class names, then fixed-size row records (predicted class, true label,
 * probabilities), an index of sample ids with their bytes, and the 2-D
 * projection - each section at an offset the header gives, so row i is
 * one pread away. Page 1 of a 1,000,000-row diagnosis costs the same as
 * page 1 of a 10-row one (docs/benchmarks.md has the figure).
 *
 * Layout (little-endian; floats are IEEE-754 doubles, bit for bit):
 *   header      "HLDIAG\0\1", u32 version, u32 n_classes, u64 n_rows,
 *               u32 flags (1 sample ids, 2 labels, 4 projection,
 *               8 contributions, 16 abnormal KPIs), u32 0,
 *               u64 offset of: classes, rows, id index, id bytes,
 *               projection; u64 file size; then (version 2) u64 offset
 *               of: KPI names, explanations; u32 n_kpis, u32 0
 *                                              (80 bytes, version 2: 104)
 *   classes     per class: u32 length, bytes
 *   KPI names   (version 2) per KPI of the model: u32 length, bytes
 *   rows        per row: i32 predicted, i32 label (-1 none),
 *               f64 probability[n_classes]
 *   id index    per row: u64 offset into the id bytes, u32 length
 *   id bytes    the sample ids, back to back
 *   projection  f64 explained[2], then per row f64 x, f64 y
 *   explanations (version 2, flags 8 or 16) per row: HS_RESULTS_TOP x
 *               (u32 KPI, f64 contribution), HS_RESULTS_TOP x (u32 KPI,
 *               f64 z) (HS_RESULTS_NO_KPI: an empty slot), then the bit
 *               set of every abnormal KPI of the row (ceil(n_kpis / 8)
 *               bytes, KPI j at bit j % 8 of byte j / 8): what the
 *               abnormal=KPI filter reads
 * Version 1 (no explanations) is still read, as is a diagnosis's results
 * stored before this format (one JSON document): that is converted in
 * memory when opened, and the diagnoses service stores the conversion
 * (hs_results_save) so it happens once.
 *
 * Thread-safety: a reader belongs to one thread at a time; any number of
 * readers may read one blob at once.
 */
#ifndef HEALER_HS_RESULTS_H
#define HEALER_HS_RESULTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

struct hs_blob_store;

/* The KPIs a row's explanation keeps, per list. */
#define HS_RESULTS_TOP 5
/* An empty slot of a list (fewer KPIs than HS_RESULTS_TOP). */
#define HS_RESULTS_NO_KPI UINT32_MAX
/* What the explanations of a result hold (hs_results_data.explain_flags). */
#define HS_RESULTS_CONTRIB 8u  /* top: contributions towards the prediction */
#define HS_RESULTS_ABNORMAL 16u /* abnormal: KPIs outside their normal range */

/* One row's explanation as stored. */
typedef struct hs_row_explanation {
    uint32_t top_kpi[HS_RESULTS_TOP]; /* largest contribution first */
    double contribution[HS_RESULTS_TOP];
    uint32_t abnormal_kpi[HS_RESULTS_TOP]; /* farthest from normal first */
    double z[HS_RESULTS_TOP];              /* signed robust units */
} hs_row_explanation;

/* Bytes of a row's abnormal bit set over n_kpis KPIs. */
static inline size_t hs_results_bits_bytes(size_t n_kpis)
{
    return (n_kpis + 7) / 8;
}

/* Rows of results in memory: a whole run's, or a chunk read back. Views
 * borrow their arrays; chunks from hs_results_read own them. */
typedef struct hs_results_data {
    size_t first;            /* index of the first row (0-based) */
    size_t n_rows;
    size_t n_classes;
    char *const *class_names; /* n_classes */
    const double *proba;     /* n_rows * n_classes */
    const int32_t *predicted; /* n_rows; NULL = argmax of proba */
    const int32_t *labels;   /* n_rows model classes, -1 none; NULL = no labels */
    char *const *sample_ids; /* n_rows; NULL = none (row numbers stand in) */
    const double *xy;        /* 2 * n_rows; NULL = no projection */
    double explained[2];     /* variance share of the two components */
    /* Explanations: explain_flags says which halves of explain are
     * meaningful (0: none stored, explain and abnormal_bits NULL). */
    unsigned explain_flags;
    size_t n_kpis;                     /* the model's KPIs */
    char *const *kpi_names;            /* n_kpis */
    const hs_row_explanation *explain; /* n_rows */
    const uint8_t *abnormal_bits; /* n_rows * hs_results_bits_bytes(n_kpis) */
} hs_results_data;

/* Writes all of d (first must be 0) as a new blob of kind "result"; its
 * key goes to key_out. Streams: memory does not grow with the rows. */
hs_status hs_results_write(struct hs_blob_store *blobs,
                           const hs_results_data *d, char *key_out,
                           hs_error *err);

typedef struct hs_results hs_results;

/* Opens the stored results under `key` (checking the header against the
 * blob's size: a damaged blob is HS_ERR_INTERNAL, never a crash). */
hs_status hs_results_open(struct hs_blob_store *blobs, const char *key,
                          hs_results **out, hs_error *err);
void hs_results_close(hs_results *r);

/* 1 when r was converted from the old JSON document when it was opened. */
int hs_results_converted(const hs_results *r);

/* Writes r's bytes, in this format, as a new blob of kind "result"; its key
 * goes to key_out. */
hs_status hs_results_save(hs_results *r, struct hs_blob_store *blobs,
                          char *key_out, hs_error *err);

size_t hs_results_rows(const hs_results *r);
size_t hs_results_classes(const hs_results *r);
char *const *hs_results_class_names(const hs_results *r);
int hs_results_has_projection(const hs_results *r);
/* HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL as stored (0: results without
 * explanations, such as every version 1 blob). */
unsigned hs_results_explain_flags(const hs_results *r);
size_t hs_results_kpis(const hs_results *r);
char *const *hs_results_kpi_names(const hs_results *r);

/* Which rows a client asked for: every condition set must hold. */
typedef struct hs_results_filter {
    int32_t predicted;     /* the predicted class index; -1 any */
    double max_confidence; /* confidence <= this; NAN any */
    int32_t abnormal_kpi;  /* a KPI outside its normal range; -1 any */
} hs_results_filter;

/* The filter that keeps every row. */
hs_results_filter hs_results_filter_none(void);
/* 1 when f keeps only some rows. */
int hs_results_filter_active(const hs_results_filter *f);

/* match[i] = 1 when row first + i passes f, else 0, for rows [first,
 * first + count) (clipped to the end; the number scanned goes to
 * *scanned). Reads only the row records and, for abnormal_kpi, the
 * explanations. HS_ERR_INVALID for an abnormal_kpi filter on results
 * without abnormal KPIs, or an index out of range. */
hs_status hs_results_match(hs_results *r, const hs_results_filter *f,
                           size_t first, size_t count, uint8_t *match,
                           size_t *scanned, hs_error *err);

/* Reads rows [first, first + count) (clipped to the end) into *chunk,
 * which owns its arrays afterwards (hs_results_chunk_free); class_names
 * borrow from r. */
hs_status hs_results_read(hs_results *r, size_t first, size_t count,
                          hs_results_data *chunk, hs_error *err);
void hs_results_chunk_free(hs_results_data *chunk);

/* The projection of rows[0..n): xy (2 per row), predicted class and its
 * probability, plus the explained shares. HS_ERR_NOTFOUND without one. */
hs_status hs_results_points(hs_results *r, const size_t *rows, size_t n,
                            double *xy, int32_t *predicted, double *confidence,
                            double explained[2], hs_error *err);

#endif
