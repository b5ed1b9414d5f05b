/* csv_dataset.c - hl_dataset_parse_csv and its internal variants: the
 * steps of reading a CSV held in memory into an hl_dataset, in order.
 *
 * The header and the finishing touches are csv.c's; the data rows are
 * read by csv_parallel.c when the caller asked for threads and the file
 * allows it, else by csv.c's serial loop, which stays the reference (see
 * csv_parallel.c for why both give the same dataset and the same error).
 * A file of its own so that the parallel reader, built on csv.c's row
 * parser, is called from above csv.c rather than from inside it.
 */
#include <stdlib.h>

#include "csv_parser.h"
#include "healer/dataset.h"
#include "internal.h"

hl_status hl__dataset_parse_csv_chunked(
    const char *data, size_t len, const char *name, const hl_csv_options *opt,
    size_t chunk_bytes, hl_dataset **out, size_t **lines, size_t *text_col,
    char ***text, char **arena, hl_error *err)
{
    hl_error_clear(err);
    if (!out || (!text != !arena))
        return hl__fail(err, HL_ERR_INVALID, "parse_csv: bad argument");
    *out = NULL;
    if (lines)
        *lines = NULL;
    if (text) {
        *text = NULL;
        *arena = NULL;
    }
    if (!data && len)
        return hl__fail(err, HL_ERR_INVALID, "parse_csv: data is NULL");
    csv_parser ps;
    hl_status rc =
        hl__csv_parser_start(&ps, data ? data : "", len, name, opt, err);
    ps.want_lines = lines != NULL;
    ps.chunk_bytes = chunk_bytes;
    if (rc == HL_OK && text && ps.n_text &&
        !(ps.arena = malloc(hl__csv_arena_bytes(&ps))))
        rc = hl__fail_at(err, HL_ERR_NOMEM, ps.name, 0, NULL, 0,
                         "out of memory while reading the CSV");
    if (rc == HL_OK && !hl__csv_parse_rows_parallel(&ps, &rc))
        rc = hl__csv_parse_rows(&ps);
    if (rc == HL_OK)
        rc = hl__csv_parser_finish(&ps, out, lines, text_col);
    if (rc == HL_OK && ps.arena) {
        *text = ps.text;
        *arena = ps.arena;
        ps.text = NULL;
        ps.arena = NULL;
    }
    hl__csv_parser_free(&ps);
    return rc;
}

hl_status hl__dataset_parse_csv_located(const char *data, size_t len,
                                        const char *name,
                                        const hl_csv_options *opt,
                                        hl_dataset **out, size_t **lines,
                                        size_t *text_col, hl_error *err)
{
    return hl__dataset_parse_csv_chunked(data, len, name, opt, 0, out, lines,
                                         text_col, NULL, NULL, err);
}

hl_status hl_dataset_parse_csv(const char *data, size_t len, const char *name,
                               const hl_csv_options *opt, hl_dataset **out,
                               hl_error *err)
{
    return hl__dataset_parse_csv_chunked(data, len, name, opt, 0, out, NULL,
                                         NULL, NULL, NULL, err);
}
