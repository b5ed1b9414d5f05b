/* internal.h - helpers shared by the engine's source files; not public API.
 *
 * Everything here has the hl__ prefix (double underscore) so that a reader
 * can tell at a glance it is not callable from outside the library.
 */
#ifndef HEALER_INTERNAL_H
#define HEALER_INTERNAL_H

#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "healer/clock.h"
#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/version.h"

/* A macro's value as a string literal, for limits quoted in messages
 * ("longer than " HL__STR(HL_TOPOLOGY_MAX_ID) " bytes"): the message
 * then cannot drift from the limit. */
#define HL__STR_(x) #x
#define HL__STR(x) HL__STR_(x)

#if defined(__GNUC__)
#define HL__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HL__PRINTF(fmt, args)
#endif

/* Fills err (if non-NULL) and returns code. Location-free form. */
hl_status hl__fail(hl_error *err, hl_status code, const char *fmt, ...)
    HL__PRINTF(3, 4);

/* hl__fail for an error about one input: err->field = field (a
 * parameter name such as "learning_rate"). */
hl_status hl__fail_field(hl_error *err, hl_status code, const char *field,
                         const char *fmt, ...) HL__PRINTF(4, 5);

/* Fills err with a location: "file:line: column 'name' (index): message".
 * file/column may be NULL or "", line/column_index 0 when unknown. */
hl_status hl__fail_at(hl_error *err, hl_status code, const char *file,
                      size_t line, const char *column, size_t column_index,
                      const char *fmt, ...) HL__PRINTF(7, 8);

/* Appends a formatted warning; returns HL_ERR_NOMEM on allocation failure.
 * w may be NULL (the warning is dropped). */
/* The library's own warnings go through the public adder. */
#define hl__warn hl_warnings_add

/* An HL_ERR_IO error "path: what: <errno text>" (thread-safe). */
hl_status hl__fail_io(hl_error *err, const char *path, const char *what,
                      int errnum);

/* A file written under a temporary name and renamed over `path` by
 * hl__atomic_commit (after fsync); hl__atomic_abort removes it. */
typedef struct hl__atomic_file {
    FILE *f;
    char *tmp;
    const char *path; /* borrowed */
} hl__atomic_file;

hl_status hl__atomic_open(hl__atomic_file *af, const char *path, hl_error *err);
hl_status hl__atomic_commit(hl__atomic_file *af, hl_error *err);
void hl__atomic_abort(hl__atomic_file *af);

/* (csv_file.c) Reads the whole file at path into a malloc'ed buffer the
 * caller frees (not NUL-terminated): HL_ERR_IO naming the file when it
 * cannot be read, HL_ERR_LIMIT past max_bytes (checked before reading a
 * regular file; pipes are read up to it), HL_ERR_NOMEM. */
hl_status hl__read_file(const char *path, size_t max_bytes, char **out,
                        size_t *out_len, hl_error *err);

/* Writes one CSV field, quoted only when a reader would otherwise split,
 * unescape or trim it (RFC 4180). NULL writes nothing. */
void hl__csv_put_text(FILE *f, const char *s);

/* (predictions.c) The predictions file's header and row i of a chunk
 * whose first row is row `first` of the file (sample_ids indexed from the
 * chunk; NULL = row numbers), without their line end: the one definition
 * of those columns, which explained files extend (explain_csv.c). */
void hl__predictions_put_header(FILE *f, size_t K, char *const *class_names);
void hl__predictions_put_row(FILE *f, size_t K, char *const *class_names,
                             char *const *sample_ids, size_t first, size_t i,
                             const double *p);

/* Numbers printed with %g follow LC_NUMERIC; a host program's locale must
 * never turn the decimal point into a comma, so writers print inside a
 * "C" locale scope on their own thread. */
typedef struct hl__locale_scope {
    locale_t c_locale; /* 0 when newlocale failed: the scope is a no-op */
    locale_t previous;
} hl__locale_scope;

hl__locale_scope hl__c_locale_enter(void);
void hl__c_locale_leave(hl__locale_scope scope);

/* True for an existing path that is neither a regular file nor a
 * directory (a terminal, a pipe, /dev/stdout): it cannot be replaced
 * atomically and is written in place. */
int hl__is_special_file(const char *path);

/* Number of online CPUs, at least 1. */
int hl__cpu_count(void);

/* Resolves a user thread count: 0 or negative means all cores. */
int hl__resolve_threads(int requested);

/* strdup that returns NULL on failure (kept here so the library builds as
 * strict C11). */
char *hl__strdup(const char *s);

/* (util.c) Asks the kernel to back [p, p + n) with huge pages where it
 * can: for buffers of hundreds of MB filled once end to end (a file read
 * whole, a parsed matrix), where a page fault per 4 KiB costs more than
 * the filling. Only advice: nothing changes where it is not taken. */
void hl__advise_huge(void *p, size_t n);

/* Copies UTF-8 text src into dst (cap >= 1 bytes with the NUL), as much
 * as fits, cut only between characters: a message or a name cut to a
 * buffer stays valid UTF-8 (JSON strings must be). */
void hl__utf8_copy(char *dst, size_t cap, const char *src);

/* (csv.c) 1 when s[0..n) is valid UTF-8 (no overlong forms, no
 * surrogates, nothing past U+10FFFF), else 0: the one check of the
 * engine's text inputs. */
int hl__utf8_valid(const char *s, size_t n);

/* (csv.c) Why s[0..n) cannot be the text of an identifier shown to a
 * person (a node id, an incident id): "is not valid UTF-8" or "holds a
 * control character" (U+0000-U+001F, U+007F); NULL when it can. The one
 * rule both ids share (a node id also may not hold '>', topology.c). */
const char *hl__id_text_problem(const char *s, size_t n);

/* (csv.c) s as an error message may show it: hl__utf8_copy into out (cap
 * >= 1 bytes), control characters replaced by '?', so that a bad id is
 * never printed raw to a terminal. */
void hl__id_excerpt(char *out, size_t cap, const char *s);

/* (util.c) Makes *v, an array of *cap elements of `size` bytes, hold at
 * least need: doubling from 64, realloc'ed; *v and *cap unchanged on
 * failure. HL_OK or HL_ERR_NOMEM. */
hl_status hl__grow(void **v, size_t *cap, size_t need, size_t size);

/* (csv.c) hl_dataset_parse_csv that also says where things were: when
 * lines is not NULL, *lines gets each row's first physical line (n_rows
 * entries, malloc'ed, the caller frees it; NULL on error); when text_col
 * is not NULL, text_col[c] gets the 0-based header position of
 * opt->text_columns[c] (n_text_columns entries). For readers built on
 * datasets that point at a row's line in their own messages (incidents). */
hl_status hl__dataset_parse_csv_located(const char *data, size_t len,
                                        const char *name,
                                        const hl_csv_options *opt,
                                        hl_dataset **out, size_t **lines,
                                        size_t *text_col, hl_error *err);

/* (csv_dataset.c) hl__dataset_parse_csv_located with two more choices.
 * chunk_bytes: the rows are cut into chunks of about that many bytes (0 =
 * the default, csv_parallel.c) when they are parsed on several threads
 * (opt->threads > 1): how the tests put chunk boundaries where they want
 * them in small files. text and arena (both NULL, or both not): the text
 * cells are not in the dataset (its text NULL) but handed out, *text
 * getting n_rows * n_text pointers (row-major, like hl_dataset.text) into
 * *arena, one block holding them all, instead of one allocation per cell
 * (millions in an incident file); the caller frees both with free(). */
hl_status hl__dataset_parse_csv_chunked(
    const char *data, size_t len, const char *name, const hl_csv_options *opt,
    size_t chunk_bytes, hl_dataset **out, size_t **lines, size_t *text_col,
    char ***text, char **arena, hl_error *err);

/* (csv.c) 1 when the first record of the CSV in data[0..len) (after a BOM
 * and blank lines, read by the one tokenizer) holds each of names[0..n)
 * (n <= 64) among its fields, else 0. Never fails loudly: a malformed
 * header is simply not a match. */
int hl__csv_header_names(const char *data, size_t len,
                         const char *const *names, size_t n_names);

/* (util.c) names[0..n) joined by ", " into out (cap bytes), ending in
 * "..." when they do not all fit: a list of classes in a message. */
void hl__join_names(char *out, size_t cap, char *const *names, size_t n);

/* Frees an array of n strings and the array itself. NULL-safe. */
void hl__free_strings(char **v, size_t n);

/* (csv.c) The order of a label table: when every label is an integer
 * (hl__label_is_int; the reader stores them canonically, "007" as "7")
 * by value with hl__label_cmp_int, else by strcmp. The one rule for
 * every table a dataset gets (read, or merged by hl_dataset_append). */
int hl__label_is_int(const char *s);
int hl__label_cmp_int(const char *x, const char *y);

/* Deterministic pseudo-random numbers: splitmix64 to seed, xoshiro256** to
 * draw. Small, fast, and identical on every platform. */
typedef struct hl__rng {
    uint64_t s[4];
} hl__rng;

void hl__rng_seed(hl__rng *r, uint64_t seed);
uint64_t hl__rng_next(hl__rng *r);
/* Uniform double in [0, 1). */
double hl__rng_uniform(hl__rng *r);
/* Uniform integer in [0, n), n > 0. */
uint64_t hl__rng_below(hl__rng *r, uint64_t n);
/* Mixes several values into one seed (for per-round / per-class streams). */
uint64_t hl__seed_mix(uint64_t a, uint64_t b);

/* (sort.c) Sorts v[0..n) ascending, NaN-free, in the order qsort with a
 * float comparison gives (stable; -0 and +0 in input order), in linear
 * time. Uses n floats of scratch memory, or qsort when it cannot get
 * them: it never fails. */
void hl__sort_floats(float *v, size_t n);

/* (split.c) The duplicate groups of rows[0..n) as positions, the ids
 * hl_stratified_folds and hl_stratified_holdout expect: out[i] is the
 * first position whose row has the same ds_group[] value (ds_group
 * indexed by row; NULL: every row its own group). HL_ERR_NOMEM is the
 * only failure. */
hl_status hl__groups_by_position(const uint32_t *ds_group, const size_t *rows,
                                 size_t n, uint32_t *out);

#endif
