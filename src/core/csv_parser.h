/* csv_parser.h - the state and the steps of the one CSV reader (csv.c),
 * shared with csv_parallel.c, which runs copies of it over chunks of a
 * file, and csv_dataset.c, which runs the steps.
 *
 * Internal to the engine: nothing outside these three files should need
 * it; everyone else reads CSV through healer/dataset.h.
 */
#ifndef HEALER_CSV_PARSER_H
#define HEALER_CSV_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"

typedef struct csv_reader {
    const char *p;   /* next unread byte */
    const char *end; /* one past the last byte */
    size_t line;     /* physical line of p, 1-based */
    size_t err_line; /* line of the last tokenizer error */
    size_t max_field;
    char *scratch; /* unescaped text of the last quoted field with "" */
    size_t scratch_cap;
} csv_reader;

typedef struct label_entry {
    char *name;
    size_t len;
    uint64_t hash;
    uint32_t first; /* provisional class index, in order of appearance */
} label_entry;

/* Label text -> provisional class index while rows stream past; sorted and
 * renumbered once at the end. Open addressing, load factor <= 1/2. */
typedef struct label_table {
    label_entry *v;
    size_t n, cap;
    uint32_t *slot; /* entry index + 1; 0 = free */
    size_t n_slots; /* power of two */
    int all_int;    /* every label so far is an integer */
    char *key;      /* canonical form of the label being looked up */
    size_t key_cap;
} label_table;

typedef struct csv_parser {
    csv_reader rd;
    hl_csv_options opt; /* with defaults filled in */
    const char *name;   /* file name used in messages */
    hl_error *err;

    size_t n_cols;
    char **col_names; /* header, n_cols entries (moved out when done) */
    int32_t *role;    /* per column: feature index, ROLE_ID, ROLE_LABEL or
                         a text column (ROLE_TEXT_0 - its index) */
    size_t n_text;    /* opt.text_columns */
    size_t *text_col; /* n_text: the header position of each */
    long label_col;   /* -1 when absent */
    int has_ids;      /* there is an id column */
    size_t n_features;
    size_t header_line;

    float *x;      /* cap * n_features */
    int32_t *y;    /* cap, when there is a label column */
    char **ids;    /* cap, when there is an id column */
    char **text;   /* cap * n_text, when there are text columns */
    size_t *lines; /* cap: each row's first physical line, when asked for */
    int want_lines;
    size_t n_rows, cap;
    label_table labels;

    size_t rows_read, rows_skipped, missing;
    size_t chunk_bytes; /* rows parsed in parallel in chunks of about this
                           many bytes (csv_parallel.c); 0 = its default */
    /* When not NULL, text cells are copied here one after the other
     * rather than each into its own allocation (hl__csv_arena_bytes). */
    char *arena;
    size_t arena_used;
} csv_parser;

/* (csv.c) The steps of reading a dataset, in order (csv_dataset.c runs
 * them). start: *ps set up for data[0..len) and its header read and
 * checked (columns, roles); ps must then be freed whatever the status.
 * The rows are then read by hl__csv_parse_rows (the serial loop, the
 * reference) or hl__csv_parse_rows_parallel; finish moves what was read
 * into a new dataset (*lines and text_col as hl__dataset_parse_csv_located
 * documents them). Errors are filled into the err given to start. */
hl_status hl__csv_parser_start(csv_parser *ps, const char *data, size_t len,
                               const char *name, const hl_csv_options *opt,
                               hl_error *err);
hl_status hl__csv_parse_rows(csv_parser *ps);
hl_status hl__csv_parser_finish(csv_parser *ps, hl_dataset **out,
                                size_t **lines, size_t *text_col);
void hl__csv_parser_free(csv_parser *ps);

/* (csv.c) Skips empty and blank-only lines, counting them in rd->line;
 * returns 0 when the input is exhausted. */
int hl__csv_skip_blank_lines(csv_reader *rd);

/* (csv.c) Parses the record at ps->rd.p into row ps->n_rows (which must
 * be below ps->cap), counting it in n_rows when it is kept. HL_OK, or the
 * error of the record's first bad field, filled into ps->err. */
hl_status hl__csv_parse_row(csv_parser *ps);

/* (csv.c) Makes ps's row arrays hold at least need rows. HL_OK or
 * HL_ERR_NOMEM (with ps->err filled). */
hl_status hl__csv_reserve_rows(csv_parser *ps, size_t need);

/* (csv_parallel.c) The bytes a text arena of ps needs, whichever reader
 * reads the rows: a text cell and its NUL never take more than the field
 * and its delimiter (one more byte for the file's last field), and the
 * parallel reader gives each chunk its own region. Call after
 * hl__csv_parser_start. */
size_t hl__csv_arena_bytes(const csv_parser *ps);

/* (csv_parallel.c) Parses every data record of ps (ps->rd just past the
 * header) on up to ps->opt.threads threads, when the file allows it:
 * see csv_parallel.c for when, and for why the result is the serial
 * reader's. Returns 0 without touching ps when it does not (the caller
 * then reads the records itself), else 1 with the status in *rc: the
 * rows, rows_read and missing of ps set exactly as the serial loop sets
 * them, or the error the serial loop would have stopped at. */
int hl__csv_parse_rows_parallel(csv_parser *ps, hl_status *rc);

/* (csv_parallel.c) How many reads hl__csv_parse_rows_parallel took since
 * the process started: lets the tests that compare it with the serial
 * reader know that it ran, not the serial fallback twice. */
size_t hl__csv_parallel_reads(void);

#endif
