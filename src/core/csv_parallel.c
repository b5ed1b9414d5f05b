/* csv_parallel.c - the data rows of a large CSV parsed on several threads
 * (hl_csv_options.threads), with the result of the serial reader.
 *
 * Reading a KPI export of hundreds of MB is one long pass of number
 * parsing; on a machine with a few cores it is the longest step of a
 * root-cause analysis. So the bytes after the header are cut into chunks
 * at line ends, and a copy of the one parser (csv.c, hl__csv_parse_row)
 * reads each chunk straight into its slice of the dataset's arrays.
 *
 * When that is safe: a record may only end at an LF, so that a cut just
 * after an LF is a record boundary and every chunk knows its first line
 * number from the LFs before it. That holds when no data byte is a quote
 * (a quoted field may hold line breaks) or a CR (a lone CR ends a record
 * too); a file with either is read serially, as is one with a label
 * column (the label table numbers classes in order of appearance across
 * the whole file) and one that might have more rows than max_rows (the
 * serial loop words that error). The first pass over the chunks checks
 * this and counts their LFs, in parallel too.
 *
 * Why the result is the serial one: each chunk starts on its true line,
 * rows land in file order, and each chunk stops at its first error like
 * the serial loop; the error of the first chunk (in file order) that
 * failed is the one returned, and that is the first error of the file,
 * since every chunk before it parsed clean. Counts are sums. A chunk's
 * slice holds as many rows as its lines; blank lines leave gaps, closed
 * up at the end. Text cells copied into one block (hl__csv_arena_bytes)
 * go into the chunk's own region of it, which cannot overflow: a cell
 * never takes more bytes than it had in the file.
 *
 * It deliberately does not parallelise the header, small files (under
 * two chunks), or anything after the rows (labels, ids' checks by
 * callers): those are cheap or inherently serial.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "csv_parser.h"
#include "internal.h"
#include "pool.h"

/* Large enough that a chunk's fixed costs vanish, small enough that a
 * file of a few hundred MB gives each thread many chunks, so that one
 * slow thread (a busy machine) does not hold the others up. */
#define DEFAULT_CHUNK_BYTES ((size_t)4 << 20)

typedef struct chunk {
    const char *begin, *end;
    /* first pass */
    size_t newlines;
    int unsafe; /* holds a quote or a CR */
    /* where it goes */
    size_t line; /* physical line of begin */
    size_t row0; /* its first row slot in the dataset's arrays */
    size_t cap;  /* its row slots: its lines */
    /* second pass */
    size_t n_rows, rows_read, missing;
    hl_status rc;
    hl_error err;
} chunk;

typedef struct job {
    csv_parser *ps;
    const char *body; /* the first chunk's first byte */
    chunk *chunks;
    size_t n_chunks;
    atomic_size_t first_failed; /* lowest failed chunk, n_chunks if none */
} job;

/* Cuts [begin, end) into chunks of about `size` bytes, each ending just
 * after an LF (the last one at end). Returns the count, or 0 when out of
 * memory. */
static size_t cut(const char *begin, const char *end, size_t size, chunk **out)
{
    size_t max = (size_t)(end - begin) / size + 1, n = 0;
    chunk *v = calloc(max, sizeof *v);
    if (!v)
        return 0;
    for (const char *p = begin; p < end && n < max; n++) {
        const char *stop = end;
        if ((size_t)(end - p) > size) {
            const char *lf =
                memchr(p + size - 1, '\n', (size_t)(end - (p + size - 1)));
            stop = lf ? lf + 1 : end;
        }
        if (n == max - 1)
            stop = end;
        v[n].begin = p;
        v[n].end = stop;
        p = stop;
    }
    *out = v;
    return n;
}

/* Task of the first pass: the chunk's LFs, and whether it is unsafe.
 * memchr, three times: it runs at memory speed, where a loop looking for
 * the three bytes at once was as slow as the parse itself. */
static void scan_chunk(void *arg, size_t k, int worker)
{
    (void)worker;
    chunk *ck = &((job *)arg)->chunks[k];
    const size_t n = (size_t)(ck->end - ck->begin);
    size_t newlines = 0;
    for (const char *p = ck->begin;
         (p = memchr(p, '\n', (size_t)(ck->end - p))) != NULL; p++)
        newlines++;
    ck->newlines = newlines;
    ck->unsafe = memchr(ck->begin, '"', n) || memchr(ck->begin, '\r', n);
}

/* Lines and row slots of each chunk; 0 when the chunks cannot be parsed
 * apart (see the opening comment), else 1 with *rows the slots in all. */
static int place(const csv_parser *ps, chunk *v, size_t n, size_t *rows)
{
    size_t line = ps->rd.line, row = 0;
    for (size_t k = 0; k < n; k++) {
        if (v[k].unsafe)
            return 0;
        v[k].line = line;
        v[k].row0 = row;
        v[k].cap = v[k].newlines + (v[k].end[-1] != '\n');
        line += v[k].newlines;
        row += v[k].cap;
    }
    *rows = row;
    return row <= ps->opt.max_rows;
}

static void note_failure(job *j, size_t k)
{
    size_t seen = atomic_load(&j->first_failed);
    while (k < seen &&
           !atomic_compare_exchange_weak(&j->first_failed, &seen, k))
        ;
}

/* Task of the second pass: the serial loop of csv.c over one chunk, by a
 * copy of the parser pointed at the chunk's bytes and row slots. A chunk
 * after one that failed is not read: its rows would be thrown away. */
static void parse_chunk(void *arg, size_t k, int worker)
{
    (void)worker;
    job *j = arg;
    chunk *ck = &j->chunks[k];
    const csv_parser *ps = j->ps;
    ck->rc = HL_OK;
    hl_error_clear(&ck->err);
    if (k > atomic_load(&j->first_failed))
        return;
    csv_parser c = *ps;
    c.rd = (csv_reader){ck->begin,        ck->end, ck->line, 0,
                        ps->rd.max_field, NULL,    0};
    c.err = &ck->err;
    c.x = ps->x + ck->row0 * ps->n_features;
    c.ids = ps->ids ? ps->ids + ck->row0 : NULL;
    c.text = ps->text ? ps->text + ck->row0 * ps->n_text : NULL;
    c.lines = ps->lines ? ps->lines + ck->row0 : NULL;
    c.y = NULL;      /* no label column on this path */
    if (ps->arena) { /* the chunk's own region: see hl__csv_arena_bytes */
        c.arena = ps->arena + (size_t)(ck->begin - j->body) + k;
        c.arena_used = 0;
    }
    c.n_rows = c.rows_read = c.missing = 0;
    c.cap = ck->cap;
    hl_status rc = HL_OK;
    while (rc == HL_OK && hl__csv_skip_blank_lines(&c.rd)) {
        if (c.n_rows == c.cap) { /* place() counted wrong: a bug */
            rc = hl__fail(&ck->err, HL_ERR_INTERNAL,
                          "csv: more records than lines in a chunk");
            break;
        }
        c.rows_read++;
        rc = hl__csv_parse_row(&c);
    }
    free(c.rd.scratch);
    ck->n_rows = c.n_rows;
    ck->rows_read = c.rows_read;
    ck->missing = c.missing;
    ck->rc = rc;
    if (rc != HL_OK)
        note_failure(j, k);
}

/* Frees the strings of rows [row0, row0 + n). */
static void free_rows(csv_parser *ps, size_t row0, size_t n)
{
    for (size_t i = row0; i < row0 + n; i++) {
        if (ps->ids)
            free(ps->ids[i]);
        for (size_t c = 0; ps->text && !ps->arena && c < ps->n_text; c++)
            free(ps->text[i * ps->n_text + c]);
    }
}

/* Moves n rows from slot `from` down to slot `to`. */
static void move_rows(csv_parser *ps, size_t to, size_t from, size_t n)
{
    const size_t nf = ps->n_features, nt = ps->n_text;
    memmove(ps->x + to * nf, ps->x + from * nf, n * nf * sizeof *ps->x);
    if (ps->ids)
        memmove(ps->ids + to, ps->ids + from, n * sizeof *ps->ids);
    if (ps->text)
        memmove(ps->text + to * nt, ps->text + from * nt,
                n * nt * sizeof *ps->text);
    if (ps->lines)
        memmove(ps->lines + to, ps->lines + from, n * sizeof *ps->lines);
}

/* The chunks' rows into ps, in order and without gaps; or the first
 * failed chunk's error, with every row freed. */
static hl_status merge(job *j)
{
    csv_parser *ps = j->ps;
    size_t failed = atomic_load(&j->first_failed);
    if (failed < j->n_chunks) {
        for (size_t k = 0; k < j->n_chunks; k++)
            free_rows(ps, j->chunks[k].row0, j->chunks[k].n_rows);
        ps->n_rows = 0;
        if (ps->err)
            *ps->err = j->chunks[failed].err;
        return j->chunks[failed].rc;
    }
    for (size_t k = 0; k < j->n_chunks; k++) {
        const chunk *ck = &j->chunks[k];
        if (ck->row0 != ps->n_rows && ck->n_rows)
            move_rows(ps, ps->n_rows, ck->row0, ck->n_rows);
        ps->n_rows += ck->n_rows;
        ps->rows_read += ck->rows_read;
        ps->missing += ck->missing;
    }
    ps->rd.p = ps->rd.end;
    return HL_OK;
}

static size_t chunk_size(const csv_parser *ps)
{
    return ps->chunk_bytes ? ps->chunk_bytes : DEFAULT_CHUNK_BYTES;
}

size_t hl__csv_arena_bytes(const csv_parser *ps)
{
    size_t body = (size_t)(ps->rd.end - ps->rd.p);
    return body + body / chunk_size(ps) + 2; /* cut() makes at most
                                                 body / size + 1 chunks */
}

static atomic_size_t parallel_reads;

size_t hl__csv_parallel_reads(void)
{
    return atomic_load(&parallel_reads);
}

int hl__csv_parse_rows_parallel(csv_parser *ps, hl_status *rc)
{
    size_t size = chunk_size(ps);
    if (ps->opt.threads <= 1 || ps->label_col >= 0 || ps->n_rows != 0 ||
        (size_t)(ps->rd.end - ps->rd.p) < 2 * size)
        return 0;
    job j = {.ps = ps, .body = ps->rd.p};
    j.n_chunks = cut(ps->rd.p, ps->rd.end, size, &j.chunks);
    if (j.n_chunks < 2) {
        free(j.chunks);
        return 0;
    }
    atomic_init(&j.first_failed, j.n_chunks);
    int threads = ps->opt.threads;
    if ((size_t)threads > j.n_chunks)
        threads = (int)j.n_chunks;
    hl__pool *pool = hl__pool_create(threads);
    size_t rows = 0;
    int used = 0;
    if (pool) {
        hl__pool_run(pool, j.n_chunks, scan_chunk, &j);
        used = place(ps, j.chunks, j.n_chunks, &rows);
    }
    if (used) {
        *rc = hl__csv_reserve_rows(ps, rows);
        if (*rc == HL_OK) {
            hl__pool_run(pool, j.n_chunks, parse_chunk, &j);
            *rc = merge(&j);
        }
    }
    hl__pool_destroy(pool);
    free(j.chunks);
    if (used)
        atomic_fetch_add(&parallel_reads, 1);
    return used;
}
