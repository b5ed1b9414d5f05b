/* healer/dataset.h - CSV ingestion and the in-memory dataset.
 *
 * A dataset is a dense row-major float matrix (NaN = missing) plus optional
 * sample ids and labels. Labels are kept as strings in a sorted label table
 * (numerically sorted when every label is an integer) and each row refers to
 * its label by index, so string labels such as "disk_full" work as well as
 * the integers of the reference data.
 *
 * Ownership: every hl_dataset returned by this API is owned by the caller and
 * released with hl_dataset_free(). Datasets are immutable after loading and
 * may be read from several threads at once.
 */
#ifndef HEALER_DATASET_H
#define HEALER_DATASET_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "healer/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a CSV file is read. Initialise with hl_csv_options_init(). */
typedef struct hl_csv_options {
    const char *label_column; /* header of the label column, default "label" */
    const char *id_column;    /* header of the sample id column, default "sample_id" */
    int require_label;        /* non-zero: a missing label column is an error
                                 (training); rows with an empty label are
                                 skipped and counted in rows_skipped_no_label */
    int keep_unlabelled;      /* non-zero: rows with an empty label are kept
                                 with label index -1 (prediction, scoring) */
    size_t max_bytes;         /* file size limit, default 1 GiB */
    size_t max_columns;       /* default 10,000 */
    size_t max_rows;          /* default 50,000,000 */
    size_t max_field_bytes;   /* longest single cell, default 64 KiB */
    /* Columns kept as text rather than read as KPIs (an incident file's
     * incident_id, node and timestamp): each must be in the header, else
     * HL_ERR_DATA naming it. NULL / 0 for none. */
    const char *const *text_columns;
    size_t n_text_columns;
    /* Threads that parse the data rows: 0 or 1 (the default) = the
     * calling thread alone. More is used only when no data row holds a
     * quote or a CR and there is no label column; the dataset, or the
     * error (message, line, column), is the same as with one thread. */
    int threads;
} hl_csv_options;

void hl_csv_options_init(hl_csv_options *opt);

typedef struct hl_dataset {
    size_t n_rows;
    size_t n_features;
    char **feature_names;   /* n_features NUL-terminated names, in file order */
    float *x;               /* n_rows * n_features, row-major; NAN = missing */

    char **sample_ids;      /* n_rows strings, or NULL when the file had no id column */

    int has_labels;         /* the file had a label column */
    size_t n_classes;       /* size of the label table (0 without labels) */
    char **class_names;     /* sorted label table */
    int32_t *y;             /* n_rows class indices, -1 = no label; NULL when !has_labels */

    /* Ingestion summary. */
    char *source;                 /* file name or label the data came from */
    size_t rows_read;             /* data rows in the file */
    size_t rows_skipped_no_label; /* rows dropped because the label cell was empty */
    size_t missing_cells;         /* feature cells that were empty / NA / NaN / null */

    /* How much each row counts in training: n_rows weights > 0, or NULL
     * when every row counts once (a file read from CSV). Set by
     * hl_dataset_append for rows labelled in deployment. */
    double *weight;
    /* The cells of hl_csv_options.text_columns, in that order: n_text
     * strings per row, row-major (text[i * n_text + c]); NULL when none
     * was asked for. */
    size_t n_text;
    char **text;
} hl_dataset;

/* Reads a CSV file. On success stores a new dataset in *out and returns
 * HL_OK; on failure returns a status, leaves *out NULL and fills err (file,
 * line, column and the problem). opt may be NULL for defaults. */
hl_status hl_dataset_read_csv(const char *path, const hl_csv_options *opt,
                              hl_dataset **out, hl_error *err);

/* Same as hl_dataset_read_csv() for a CSV held in memory; `name` is used in
 * error messages in place of a file name. The buffer is not retained. */
hl_status hl_dataset_parse_csv(const char *data, size_t len, const char *name,
                               const hl_csv_options *opt, hl_dataset **out,
                               hl_error *err);

void hl_dataset_free(hl_dataset *ds);

/* ---- CSV text tables ----
 * A small CSV of text (a table of class names, say) read by the same
 * tokenizer as datasets: quoted fields may hold commas, quotes ("") and
 * line breaks; unquoted fields lose surrounding spaces; blank lines are
 * skipped; a UTF-8 BOM is allowed. The header is required and must name
 * each of `columns` exactly once and nothing else. Every field must be
 * valid UTF-8 without NUL bytes and at most max_field_bytes long (0 = 64
 * KiB). Each record must have as many fields as the header. */

/* Called once per record with its fields in the order of `columns`
 * (NUL-terminated, valid until it returns) and the physical line the
 * record starts on. A status other than HL_OK stops the reading and is
 * returned as is (fill err to say why). */
typedef hl_status (*hl_csv_table_row_fn)(void *arg, const char *const *fields,
                                         size_t line, hl_error *err);

/* Reads the table in data[0..len) ("name" in messages) and calls row for
 * each record. Errors: HL_ERR_PARSE with file, line and column for a
 * missing, unknown or repeated header name, a wrong field count, an
 * unterminated quote, invalid UTF-8 or a NUL byte; HL_ERR_LIMIT for a
 * field over max_field_bytes; whatever row returns. Thread-safe. */
hl_status hl_csv_read_table(const char *data, size_t len, const char *name,
                            const char *const *columns, size_t n_columns,
                            size_t max_field_bytes, hl_csv_table_row_fn row,
                            void *arg, hl_error *err);

/* hl_csv_read_table over the file at path (at most max_bytes; 0 = 1 GiB);
 * HL_ERR_IO when it cannot be read, HL_ERR_LIMIT when too large. */
hl_status hl_csv_read_table_file(const char *path, size_t max_bytes,
                                 const char *const *columns, size_t n_columns,
                                 size_t max_field_bytes,
                                 hl_csv_table_row_fn row, void *arg,
                                 hl_error *err);


/* Returns the index of the feature called `name`, or -1. */
long hl_dataset_feature_index(const hl_dataset *ds, const char *name);

/* Exact-duplicate analysis of the feature rows (labels ignored for grouping).
 * group[i] is the index of the first row whose features are bit-identical to
 * row i (group[i] == i for first occurrences). */
typedef struct hl_dup_info {
    size_t n_rows;
    uint32_t *group;          /* n_rows entries, owned */
    size_t duplicate_rows;    /* rows that repeat an earlier row's features */
    size_t conflicting_rows;  /* duplicates whose label differs from the first occurrence */
} hl_dup_info;

hl_status hl_dataset_find_duplicates(const hl_dataset *ds, hl_dup_info *out,
                                     hl_error *err);
void hl_dup_info_free(hl_dup_info *info);

/* The weight hl_dataset_append gives rows labelled in deployment when the
 * caller has no better idea (`healer train --feedback-weight`): see
 * docs/benchmarks.md, "Learning from deployment labels". */
#define HL_FEEDBACK_WEIGHT_DEFAULT 10.0
#define HL_FEEDBACK_WEIGHT_MAX 1000.0

/* A new dataset: base's rows, then extra's labelled rows with weight
 * extra_weight each (base's rows keep theirs, 1 without). extra's columns
 * are matched to base's features by name, in any order; a feature of base
 * that extra lacks is HL_ERR_DATA naming it (err->column), and a column
 * of extra that base lacks is HL_ERR_DATA too (it would be silently
 * dropped). Both must have labels; the class table is the union of both,
 * sorted, so a fault first seen in deployment becomes a class. Sample ids
 * are kept when both have them. extra_weight in (0, HL_FEEDBACK_WEIGHT_MAX]
 * else HL_ERR_INVALID. */
hl_status hl_dataset_append(const hl_dataset *base, const hl_dataset *extra,
                            double extra_weight, hl_dataset **out,
                            hl_error *err);

/* New dataset holding rows `rows[0..n)` of ds (copies; any order, repeats
 * allowed). Class table, names, ids and weights are carried over. */
hl_status hl_dataset_subset(const hl_dataset *ds, const size_t *rows, size_t n,
                            hl_dataset **out, hl_error *err);

/* Summary statistics of one feature over the rows where it is present.
 * Quantiles are exact up to 100,000 present values and computed on a
 * deterministic sample beyond. All NAN when the feature is never present. */
typedef struct hl_feature_stats {
    size_t missing;       /* missing cells */
    double missing_rate;  /* missing / n_rows */
    double min, max, mean, std; /* std: population standard deviation */
    double p05, p50, p95; /* 5th, 50th (median) and 95th percentiles */
} hl_feature_stats;

/* What a user wants to know about a dataset before training on it. */
typedef struct hl_dataset_profile {
    size_t n_rows, n_features;
    size_t rows_read;             /* as ingested (see hl_dataset) */
    size_t rows_skipped_no_label;
    size_t unlabelled_rows;       /* kept rows with label index -1 */
    size_t duplicate_rows;        /* exact duplicates of an earlier row */
    size_t conflicting_rows;      /* ... whose label differs */
    size_t missing_cells;
    double missing_rate;          /* missing_cells / (n_rows * n_features) */
    size_t constant_features;     /* present values all equal (or none) */
    hl_feature_stats *features;   /* n_features, owned */
    size_t n_classes;
    uint64_t *class_counts;       /* n_classes rows per class, owned; NULL
                                     without labels */
} hl_dataset_profile;

/* Profiles ds into *out (caller frees with hl_dataset_profile_free). */
hl_status hl_dataset_profile_compute(const hl_dataset *ds,
                                     hl_dataset_profile *out, hl_error *err);
void hl_dataset_profile_free(hl_dataset_profile *p);

/* Writes ds back as CSV (sample_id column if present, features, label if
 * present). Round-trips exactly: floats are printed with %.9g. */
hl_status hl_dataset_write_csv(const hl_dataset *ds, const char *path,
                               hl_error *err);

/* The same CSV into an open stream (a temporary file, a pipe), for a
 * caller that keeps the bytes elsewhere than in a file of its own (the
 * service stores a diagnosis's input in its blob store). HL_ERR_IO when
 * the stream reports an error; the stream stays the caller's. */
hl_status hl_dataset_write_csv_stream(const hl_dataset *ds, FILE *f,
                                      hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
