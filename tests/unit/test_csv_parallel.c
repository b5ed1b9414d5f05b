/* test_csv_parallel.c - the CSV rows read on several threads
 * (csv_parallel.c) against the serial reader, which is the reference:
 * the same dataset, or the same first error (code, message, line,
 * column), on files with errors at every row, hence on each side of chunk
 * boundaries cut every few bytes; with blank lines, missing cells, ISO
 * timestamps, a BOM and a last line without an LF. Then whole incident
 * files larger than the default chunk, through hl_incidents_parse.
 */
#include <math.h>

#include "testutil.h"

#include "healer/incidents.h"
#include "csv_parser.h"
#include "internal.h"

static const char *const TEXT_COLS[] = {"incident_id", "node", "timestamp"};

static hl_csv_options text_options(int threads)
{
    hl_csv_options o;
    hl_csv_options_init(&o);
    o.id_column = "";
    o.label_column = "";
    o.text_columns = TEXT_COLS;
    o.n_text_columns = 3;
    o.threads = threads;
    return o;
}

static void same_error(const hl_error *a, const hl_error *b)
{
    assert_int_equal(a->code, b->code);
    assert_string_equal(a->message, b->message);
    assert_int_equal(a->line, b->line);
    assert_string_equal(a->column, b->column);
    assert_int_equal(a->column_index, b->column_index);
}

/* b's text cells may be out of the dataset, in tb. */
static void same_dataset(const hl_dataset *a, const size_t *la,
                         const hl_dataset *b, const size_t *lb, char *const *tb)
{
    assert_int_equal(a->n_rows, b->n_rows);
    assert_int_equal(a->n_features, b->n_features);
    assert_int_equal(a->rows_read, b->rows_read);
    assert_int_equal(a->missing_cells, b->missing_cells);
    assert_int_equal(a->n_text, tb ? a->n_text : b->n_text);
    for (size_t j = 0; j < a->n_features; j++)
        assert_string_equal(a->feature_names[j], b->feature_names[j]);
    assert_memory_equal(a->x, b->x, a->n_rows * a->n_features * sizeof *a->x);
    for (size_t k = 0; k < a->n_rows * a->n_text; k++)
        assert_string_equal(a->text[k], tb ? tb[k] : b->text[k]);
    assert_memory_equal(la, lb, a->n_rows * sizeof *la);
}

/* Reads data serially and in chunks of chunk_bytes on `threads`, with
 * the text cells in the dataset or in one block (`in_block`), and checks
 * that it ends as the serial reader's reference does. */
static void differ_from(const char *data, size_t len, hl_status ra,
                        const hl_dataset *a, const size_t *la,
                        const hl_error *ea, int threads, size_t chunk_bytes,
                        int in_block)
{
    hl_csv_options o = text_options(threads);
    hl_dataset *b = NULL;
    size_t *lb = NULL;
    char **text = NULL, *arena = NULL;
    hl_error eb;
    hl_status rb = hl__dataset_parse_csv_chunked(
        data, len, "p.csv", &o, chunk_bytes, &b, &lb, NULL,
        in_block ? &text : NULL, in_block ? &arena : NULL, &eb);
    assert_int_equal(ra, rb);
    if (ra == HL_OK)
        same_dataset(a, la, b, lb, text);
    else
        same_error(ea, &eb);
    hl_dataset_free(b);
    free(lb);
    free(text);
    free(arena);
}

/* The serial reader's result against 3 threads in chunks of chunk_bytes,
 * the text cells in the dataset or in one block, and one thread with
 * them in one block; returns the serial status. */
static hl_status differ(const char *data, size_t len, size_t chunk_bytes)
{
    hl_csv_options serial = text_options(1);
    hl_dataset *a = NULL;
    size_t *la = NULL;
    hl_error ea;
    hl_status ra = hl__dataset_parse_csv_chunked(
        data, len, "p.csv", &serial, 0, &a, &la, NULL, NULL, NULL, &ea);
    differ_from(data, len, ra, a, la, &ea, 3, chunk_bytes, 0);
    differ_from(data, len, ra, a, la, &ea, 3, chunk_bytes, 1);
    differ_from(data, len, ra, a, la, &ea, 1, chunk_bytes, 1);
    hl_dataset_free(a);
    free(la);
    return ra;
}

static const size_t CHUNKS[] = {1, 2, 7, 16, 41, 100, 333};
#define N_CHUNKS (sizeof CHUNKS / sizeof *CHUNKS)

/* A BOM, blank lines (one of blanks only), missing cells of each
 * spelling, ISO and integer timestamps, no LF at the end. */
static const char CLEAN[] = "\xEF\xBB\xBF"
                            "incident_id,node,timestamp,cpu,mem,disk\n"
                            "inc-1,db,2026-12-07T04:34:18Z,0.5,1e3,-2\n"
                            "inc-1,db,2026-12-07T04:34:48Z,,NA,3.25\n"
                            "inc-1,api,2026-12-07 04:35:00+01:00,7,8,9\n"
                            "\n"
                            "inc-1,web,1700000000,null,n/a,NaN\n"
                            "inc-2, db ,1700000030,1.5,2.5,3.5\n"
                            "   \t \n"
                            "inc-2,api,1700000060,0.001,-0,12345678\n"
                            "inc-2,web,1700000090,4,5,6\n"
                            "\n"
                            "\n"
                            "inc-3,db,2026-12-08,1,2,3\n"
                            "inc-3,api,2026-12-08T00:00:30.250Z,1,2,3\n"
                            "inc-3,web,2026-12-08T00:01:00Z,1,2,3";

static void test_clean_file_any_chunks(void **state)
{
    (void)state;
    /* both threaded reads of a small chunk size took the parallel path
     * (the comparisons below would pass on the serial fallback too) */
    size_t before = hl__csv_parallel_reads();
    assert_int_equal(differ(CLEAN, sizeof CLEAN - 1, 7), HL_OK);
    assert_int_equal(hl__csv_parallel_reads(), before + 2);
    for (size_t c = 0; c < N_CHUNKS; c++)
        assert_int_equal(differ(CLEAN, sizeof CLEAN - 1, CHUNKS[c]), HL_OK);
    /* the same with an LF at the end */
    char *lf = malloc(sizeof CLEAN + 1);
    assert_non_null(lf);
    memcpy(lf, CLEAN, sizeof CLEAN - 1);
    lf[sizeof CLEAN - 1] = '\n';
    for (size_t c = 0; c < N_CHUNKS; c++)
        assert_int_equal(differ(lf, sizeof CLEAN, CHUNKS[c]), HL_OK);
    free(lf);
}

/* CLEAN with `bad` written over the bytes of the n-th occurrence of
 * `cell` (or at its start when insert), into out. */
static size_t corrupt(const char *cell, size_t n, const char *bad, int insert,
                      char *out)
{
    const char *p = CLEAN;
    for (size_t k = 0; k <= n; k++) {
        p = strstr(p, cell);
        if (!p)
            return 0;
        if (k < n)
            p++;
    }
    size_t at = (size_t)(p - CLEAN), keep = insert ? 0 : strlen(cell);
    memcpy(out, CLEAN, at);
    memcpy(out + at, bad, strlen(bad));
    size_t o = at + strlen(bad);
    memcpy(out + o, CLEAN + at + keep, sizeof CLEAN - 1 - at - keep);
    return o + sizeof CLEAN - 1 - at - keep;
}

/* Each kind of error the row parser reports, at each row that has the
 * cell, cut into chunks of each size: the serial error every time. */
static void test_errors_everywhere(void **state)
{
    (void)state;
    static const struct {
        const char *cell, *bad;
        int insert;
        hl_status code;
    } cases[] = {
        {",1,2,3", ",1,x2,3", 0, HL_ERR_PARSE},   /* not a number */
        {",1,2,3", ",1,2", 0, HL_ERR_PARSE},      /* too few fields */
        {",1,2,3", ",1,2,3,4", 0, HL_ERR_PARSE},  /* too many fields */
        {",1,2,3", ",1,inf,3", 0, HL_ERR_PARSE},  /* infinite */
        {",1,2,3", ",1,1e99,3", 0, HL_ERR_PARSE}, /* out of range */
        {"inc-", "\xff", 1, HL_ERR_PARSE},        /* text not UTF-8 */
        {"inc-", "a@b", 0, HL_ERR_PARSE},         /* NUL byte: '@' */
    };
    char buf[sizeof CLEAN + 64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t tested = 0;
        for (size_t n = 0;; n++) {
            size_t len =
                corrupt(cases[i].cell, n, cases[i].bad, cases[i].insert, buf);
            if (!len)
                break;
            char *at = memchr(buf, '@', len); /* CLEAN has none */
            if (at)
                *at = '\0';
            for (size_t c = 0; c < N_CHUNKS; c++)
                assert_int_equal(differ(buf, len, CHUNKS[c]), cases[i].code);
            tested++;
        }
        assert_true(tested >= 3);
    }
}

/* Two errors: the first in the file wins whatever chunk finishes first. */
static void test_first_error_wins(void **state)
{
    (void)state;
    char one[sizeof CLEAN + 64], two[sizeof CLEAN + 128];
    size_t len = corrupt("inc-3,web", 0, "inc-3,web,", 0, one);
    assert_true(len > 0);
    /* and an earlier bad number */
    const char *p = strstr(one, "0.001");
    assert_non_null(p);
    size_t at = (size_t)(p - one);
    memcpy(two, one, at);
    memcpy(two + at, "0.0x1", 5);
    memcpy(two + at + 5, one + at + 5, len - at - 5);
    for (size_t c = 0; c < N_CHUNKS; c++) {
        hl_csv_options o = text_options(2);
        hl_dataset *ds = NULL;
        hl_error err;
        assert_int_equal(differ(two, len, CHUNKS[c]), HL_ERR_PARSE);
        assert_int_equal(hl__dataset_parse_csv_chunked(two, len, "p.csv", &o,
                                                       CHUNKS[c], &ds, NULL,
                                                       NULL, NULL, NULL, &err),
                         HL_ERR_PARSE);
        assert_int_equal(err.line, 9);
        assert_string_equal(err.column, "cpu");
    }
}

/* Quotes and CRs make the file serial-only: still the same result. */
static void test_quotes_and_crs(void **state)
{
    (void)state;
    static const char quoted[] = "incident_id,node,timestamp,k\n"
                                 "\"inc\n1\",db,1,2\n"
                                 "inc-2,db,2,3\n"
                                 "inc-3,db,3,x\n";
    static const char crlf[] = "incident_id,node,timestamp,k\r\n"
                               "inc-1,db,1,2\r\n"
                               "inc-2,db,2,3\r"
                               "inc-3,db,3,4\r\n"
                               "inc-4,db,4,y\n";
    for (size_t c = 0; c < N_CHUNKS; c++) {
        assert_int_equal(differ(quoted, sizeof quoted - 1, CHUNKS[c]),
                         HL_ERR_PARSE);
        assert_int_equal(differ(crlf, sizeof crlf - 1, CHUNKS[c]),
                         HL_ERR_PARSE);
    }
}

/* ---- whole incident files past the default chunk size ----------------- */

/* About 10 MB of incidents: three chunks of the default size or more. */
static char *big_incidents(size_t *len)
{
    size_t cap = 12u << 20, o = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    o += (size_t)snprintf(s, cap, "incident_id,node,timestamp,a,b,c,d\n");
    for (size_t i = 0; o < (10u << 20); i++) {
        int iso = i % 7 == 0;
        o += (size_t)snprintf(
            s + o, cap - o,
            iso ? "inc-%zu,n%zu,2026-12-07T04:%02zu:%02zuZ,%zu.5,,%zu,NA\n"
                : "inc-%zu,n%zu,%zu%04zu,%zu.5,,%zu,NA\n",
            i / 1000, i % 5, (i / 60) % 60, i % 60, i, i % 13);
    }
    *len = o;
    return s;
}

static void same_incidents(const char *data, size_t len)
{
    hl_csv_options one, two;
    hl_csv_options_init(&one);
    hl_csv_options_init(&two);
    two.threads = 2;
    hl_incidents *a = NULL, *b = NULL;
    hl_error ea, eb;
    hl_status ra =
        hl_incidents_parse(data, len, "big.csv", NULL, &one, &a, &ea);
    hl_status rb =
        hl_incidents_parse(data, len, "big.csv", NULL, &two, &b, &eb);
    assert_int_equal(ra, rb);
    if (ra != HL_OK) {
        same_error(&ea, &eb);
        return;
    }
    const size_t n = a->data->n_rows;
    assert_int_equal(n, b->data->n_rows);
    assert_int_equal(a->n_incidents, b->n_incidents);
    assert_int_equal(a->n_node_ids, b->n_node_ids);
    assert_memory_equal(a->data->x, b->data->x,
                        n * a->data->n_features * sizeof *a->data->x);
    assert_memory_equal(a->time, b->time, n * sizeof *a->time);
    assert_memory_equal(a->line, b->line, n * sizeof *a->line);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(a->time_text[i], b->time_text[i]);
    for (size_t k = 0; k < a->n_incidents; k++)
        assert_string_equal(a->incidents[k].id, b->incidents[k].id);
    hl_incidents_free(a);
    hl_incidents_free(b);
}

static void test_big_incident_file(void **state)
{
    (void)state;
    size_t len;
    char *s = big_incidents(&len);
    same_incidents(s, len);
    /* a bad cell at the start, in the last row of the first default
     * chunk (it ends at the first LF from 4 MiB - 1 on), in the first row
     * of the second, further on and near the end: the line of the serial
     * reader every time */
    const char *cut =
        memchr(s + ((size_t)4 << 20) - 1, '\n', len - ((size_t)4 << 20) + 1);
    assert_non_null(cut);
    const size_t at[] = {100, ((size_t)4 << 20) - 3, (size_t)(cut - s) + 1,
                         ((size_t)8 << 20) + 1, len - 20};
    for (size_t k = 0; k < sizeof at / sizeof *at; k++) {
        char *bad = malloc(len);
        assert_non_null(bad);
        memcpy(bad, s, len);
        char *line = memchr(bad + at[k], '\n', len - at[k]);
        assert_non_null(line);
        line[-1] = 'x'; /* the last cell, NA, becomes NX */
        same_incidents(bad, len);
        free(bad);
    }
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_file_any_chunks),
        cmocka_unit_test(test_errors_everywhere),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_quotes_and_crs),
        cmocka_unit_test(test_big_incident_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
