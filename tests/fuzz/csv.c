/* csv.c - libFuzzer target: the one CSV tokenizer of the engine
 * (src/core/csv.c) through every public way in: a dataset parsed from
 * memory (hl_dataset_parse_csv), read from a file (hl_dataset_read_csv on a
 * temporary file), and a text table (hl_csv_read_table, the class names
 * files).
 *
 * The first byte chooses the way in and the reader's options (labels
 * required or kept when empty, a text column, tiny limits), so one corpus
 * reaches every rule of the reader; the rest is the file. What is checked
 * besides memory safety: a refusal says why (fuzz.h); a dataset's shape is
 * consistent (labels index the class table, which is sorted and unique);
 * and, with the default id and label columns, writing the dataset back and reading it
 * again gives the same dataset bit for bit, which hl_dataset_write_csv
 * promises ("round-trips exactly"); and the rows read on threads in
 * chunks of a few bytes (csv_parallel.c) give what the serial reader
 * gives: the same dataset, or the same error at the same place.
 */
#include <math.h>
#include <unistd.h>

#include "fuzz.h"
#include "healer/dataset.h"
#include "internal.h"

enum {
    OPT_REQUIRE_LABEL = 1 << 0,
    OPT_KEEP_UNLABELLED = 1 << 1,
    OPT_TEXT_COLUMN = 1 << 2,
    OPT_SMALL_LIMITS = 1 << 3,
    OPT_NO_ID_COLUMN = 1 << 4,
    /* bits 5..7: the way in */
    WAY_SHIFT = 5
};
enum { WAY_MEMORY, WAY_FILE, WAY_TABLE, WAY_ROUND_TRIP, WAY_PARALLEL };

static const char *const TEXT_COLUMNS[] = {"node"};

static void options_from(unsigned sel, hl_csv_options *opt)
{
    hl_csv_options_init(opt);
    opt->require_label = (sel & OPT_REQUIRE_LABEL) != 0;
    opt->keep_unlabelled = (sel & OPT_KEEP_UNLABELLED) != 0;
    if (sel & OPT_TEXT_COLUMN) {
        opt->text_columns = TEXT_COLUMNS;
        opt->n_text_columns = 1;
    }
    if (sel & OPT_SMALL_LIMITS) {
        opt->max_columns = 8;
        opt->max_rows = 64;
        opt->max_field_bytes = 16;
        opt->max_bytes = 4096;
    }
    if (sel & OPT_NO_ID_COLUMN)
        opt->id_column = "";
}

static int same_float(float a, float b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b);
    return memcmp(&a, &b, sizeof a) == 0;
}

static int same_strings(char *const *a, char *const *b, size_t n)
{
    if (!a || !b)
        return a == b;
    for (size_t i = 0; i < n; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return 1;
}

/* The shape a successful parse promises. */
static void check_dataset(const hl_dataset *ds, const hl_csv_options *opt)
{
    FUZZ_ASSERT(ds->n_rows > 0, "a parsed dataset has rows");
    FUZZ_ASSERT(ds->n_rows <= opt->max_rows, "rows within the limit");
    FUZZ_ASSERT(ds->n_features <= opt->max_columns, "columns within the limit");
    for (size_t f = 0; f < ds->n_features; f++)
        FUZZ_ASSERT(ds->feature_names[f] != NULL, "every feature has a name");
    if (!ds->has_labels) {
        FUZZ_ASSERT(ds->y == NULL && ds->n_classes == 0, "no labels, no classes");
        return;
    }
    for (size_t c = 0; c + 1 < ds->n_classes; c++)
        FUZZ_ASSERT(strcmp(ds->class_names[c], ds->class_names[c + 1]) != 0,
                    "class names are unique");
    for (size_t i = 0; i < ds->n_rows; i++) {
        FUZZ_ASSERT(ds->y[i] >= -1 && ds->y[i] < (int32_t)ds->n_classes,
                    "a label indexes the class table");
        FUZZ_ASSERT(ds->y[i] >= 0 || opt->keep_unlabelled,
                    "unlabelled rows only when kept");
    }
}

static void check_same(const hl_dataset *a, const hl_dataset *b)
{
    FUZZ_ASSERT(a->n_rows == b->n_rows && a->n_features == b->n_features,
                "round trip keeps the shape");
    FUZZ_ASSERT(same_strings(a->feature_names, b->feature_names, a->n_features),
                "round trip keeps the feature names");
    FUZZ_ASSERT(same_strings(a->sample_ids, b->sample_ids, a->n_rows),
                "round trip keeps the sample ids");
    FUZZ_ASSERT(a->has_labels == b->has_labels && a->n_classes == b->n_classes,
                "round trip keeps the labels");
    FUZZ_ASSERT(same_strings(a->class_names, b->class_names, a->n_classes),
                "round trip keeps the class names");
    for (size_t i = 0; a->y && i < a->n_rows; i++)
        FUZZ_ASSERT(a->y[i] == b->y[i], "round trip keeps each row's label");
    for (size_t i = 0; i < a->n_rows * a->n_features; i++)
        FUZZ_ASSERT(same_float(a->x[i], b->x[i]), "round trip keeps every value");
}

/* The file read serially and on 2 threads in chunks of 1..16 bytes (the
 * length picks it, and whether the text cells are in one block): the
 * same dataset, lines and text, or the same error. */
static void parallel(const fuzz_input *in, const hl_csv_options *opt)
{
    hl_csv_options two = *opt;
    two.threads = 2;
    hl_dataset *a = NULL, *b = NULL;
    size_t *la = NULL, *lb = NULL;
    char **text = NULL, *arena = NULL;
    int in_block = (in->len / 16) % 2;
    hl_error ea = {0}, eb = {0};
    hl_status ra = hl__dataset_parse_csv_chunked(
        in->data, in->len, "<fuzz>", opt, 0, &a, &la, NULL, NULL, NULL, &ea);
    hl_status rb = hl__dataset_parse_csv_chunked(
        in->data, in->len, "<fuzz>", &two, 1 + in->len % 16, &b, &lb, NULL,
        in_block ? &text : NULL, in_block ? &arena : NULL, &eb);
    FUZZ_ASSERT(ra == rb, "threads give the serial status");
    if (ra != HL_OK) {
        FUZZ_ASSERT(!strcmp(ea.message, eb.message) && ea.line == eb.line &&
                        !strcmp(ea.column, eb.column) &&
                        ea.column_index == eb.column_index,
                    "threads give the serial error");
    } else {
        check_same(a, b);
        FUZZ_ASSERT(a->rows_read == b->rows_read &&
                        a->missing_cells == b->missing_cells,
                    "threads give the serial counts");
        FUZZ_ASSERT(!memcmp(la, lb, a->n_rows * sizeof *la),
                    "threads give the serial lines");
        FUZZ_ASSERT(in_block ? b->n_text == 0 && b->text == NULL
                             : a->n_text == b->n_text,
                    "text cells where they were asked for");
        FUZZ_ASSERT(same_strings(a->text, in_block ? text : b->text,
                                 a->n_rows * a->n_text),
                    "threads give the serial text cells");
    }
    hl_dataset_free(a);
    hl_dataset_free(b);
    free(text);
    free(arena);
    free(la);
    free(lb);
}

/* Writes ds as CSV into memory and reads it back with the same options. */
static void round_trip(const hl_dataset *ds, const hl_csv_options *opt)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    FUZZ_ASSERT(f != NULL, "open_memstream");
    hl_error err = {0};
    hl_status rc = hl_dataset_write_csv_stream(ds, f, &err);
    fclose(f);
    if (rc != HL_OK)
        fprintf(stderr, "write refused: %s\n", err.message);
    FUZZ_ASSERT(rc == HL_OK, "a parsed dataset can be written");
    hl_csv_options again = *opt;
    again.max_bytes = 0; /* quoting may make the text longer */
    again.max_field_bytes = 0;
    hl_dataset *back = NULL;
    rc = hl_dataset_parse_csv(text, len, "<round trip>", &again, &back, &err);
    if (rc != HL_OK)
        fprintf(stderr, "round trip refused: %s\n--\n%.*s\n--\n", err.message,
                (int)(len < 2000 ? len : 2000), text);
    FUZZ_ASSERT(rc == HL_OK, "what was written reads back");
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "rows %zu/%zu features %zu/%zu\n--\n%.*s\n--\n",
                ds->n_rows, back->n_rows, ds->n_features, back->n_features,
                (int)(len < 2000 ? len : 2000), text);
    check_same(ds, back);
    hl_dataset_free(back);
    free(text);
}

/* hl_dataset_read_csv on a temporary file holding the bytes. */
static hl_status read_via_file(const fuzz_input *in, const hl_csv_options *opt,
                               hl_dataset **ds, hl_error *err)
{
    char path[] = "/tmp/healer-fuzz-csv-XXXXXX";
    int fd = mkstemp(path);
    FUZZ_ASSERT(fd >= 0, "mkstemp");
    FUZZ_ASSERT(write(fd, in->data, in->len) == (ssize_t)in->len, "write");
    close(fd);
    hl_status rc = hl_dataset_read_csv(path, opt, ds, err);
    unlink(path);
    return rc;
}

static hl_status count_row(void *arg, const char *const *fields, size_t line,
                           hl_error *err)
{
    (void)err;
    FUZZ_ASSERT(line > 0, "a record has a line");
    FUZZ_ASSERT(fields[0] && fields[1], "a record has every column");
    ++*(size_t *)arg;
    return HL_OK;
}

static void table(const fuzz_input *in, size_t max_field)
{
    static const char *const columns[] = {"label", "name"};
    size_t rows = 0;
    hl_error err = {0};
    hl_status rc = hl_csv_read_table(in->data, in->len, "<table>", columns, 2,
                                     max_field, count_row, &rows, &err);
    if (rc != HL_OK)
        fuzz_check_error(rc, &err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_input in = fuzz_split(data, size);
    unsigned way = in.selector >> WAY_SHIFT;
    hl_csv_options opt;
    options_from(in.selector, &opt);
    if (way == WAY_TABLE) {
        table(&in, (in.selector & OPT_SMALL_LIMITS) ? 16 : 0);
        return 0;
    }
    if (way == WAY_PARALLEL) {
        parallel(&in, &opt);
        return 0;
    }
    hl_dataset *ds = NULL;
    hl_error err = {0};
    hl_status rc = way == WAY_FILE
                       ? read_via_file(&in, &opt, &ds, &err)
                       : hl_dataset_parse_csv(in.data, in.len, "<fuzz>", &opt,
                                              &ds, &err);
    if (rc != HL_OK) {
        FUZZ_ASSERT(ds == NULL, "no dataset on failure");
        fuzz_check_error(rc, &err);
        return 0;
    }
    check_dataset(ds, &opt);
    /* The writer uses the default id and label headers (and refuses a
     * feature named like them), so the round trip is for the defaults. */
    if (way == WAY_ROUND_TRIP && !opt.n_text_columns &&
        !(in.selector & OPT_NO_ID_COLUMN))
        round_trip(ds, &opt);
    hl_dataset_free(ds);
    return 0;
}
