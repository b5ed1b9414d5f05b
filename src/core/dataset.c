/* dataset.c - what can be done with a loaded hl_dataset: free it, look up a
 * feature, find exact duplicate rows, take a subset of rows (text cells
 * included), write it back as CSV (features, ids and labels: text columns
 * have no names in a dataset). (Building one from CSV text is csv.c's
 * job.)
 *
 * Every string in a dataset is its own malloc'd block and every array is
 * owned by the dataset, so datasets built by hand (the simulator, tests)
 * and by the CSV reader are freed the same way.
 *
 * Duplicate detection hashes the bit patterns of each row's floats into an
 * open-addressing table: O(n) expected, no sorting, no per-row allocation.
 * All NaNs count as equal (a missing cell matches a missing cell), while
 * -0.0 and 0.0 are different bit patterns and so different rows; the CSV
 * reader only produces -0.0 from a literal "-0", which KPI exports do not
 * write, so this has not mattered in practice.
 *
 * The CSV writer prints floats with %.9g, which reads back to the same
 * float, writes NaN as an empty cell, and always uses the default column
 * names "sample_id" and "label" so the file reads back with default options.
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/dataset.h"
#include "internal.h"

void hl_dataset_free(hl_dataset *ds)
{
    if (!ds)
        return;
    hl__free_strings(ds->feature_names, ds->n_features);
    hl__free_strings(ds->sample_ids, ds->n_rows);
    hl__free_strings(ds->class_names, ds->n_classes);
    if (ds->text)
        hl__free_strings(ds->text, ds->n_rows * ds->n_text);
    free(ds->x);
    free(ds->y);
    free(ds->weight);
    free(ds->source);
    free(ds);
}

long hl_dataset_feature_index(const hl_dataset *ds, const char *name)
{
    if (!ds || !name || !ds->feature_names)
        return -1;
    for (size_t i = 0; i < ds->n_features; i++)
        if (ds->feature_names[i] && !strcmp(ds->feature_names[i], name))
            return (long)i;
    return -1;
}

/* ---- duplicates -------------------------------------------------------- */

/* The bits of a float with every NaN folded into one pattern. */
static inline uint32_t canonical_bits(float v)
{
    uint32_t b;
    memcpy(&b, &v, sizeof b);
    return (b & 0x7fffffffu) > 0x7f800000u ? 0x7fc00000u : b;
}

static uint64_t row_hash(const float *row, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (size_t j = 0; j < n; j++) {
        h = (h ^ canonical_bits(row[j])) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    h ^= h >> 33; /* murmur3 finaliser: spread into the low bits we index */
    h *= 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 33);
}

static int rows_equal(const float *a, const float *b, size_t n)
{
    for (size_t j = 0; j < n; j++)
        if (canonical_bits(a[j]) != canonical_bits(b[j]))
            return 0;
    return 1;
}

void hl_dup_info_free(hl_dup_info *info)
{
    if (!info)
        return;
    free(info->group);
    memset(info, 0, sizeof *info);
}

static void count_duplicates(const hl_dataset *ds, hl_dup_info *out)
{
    for (size_t i = 0; i < out->n_rows; i++) {
        size_t first = out->group[i];
        if (first == i)
            continue;
        out->duplicate_rows++;
        /* A row without a label cannot contradict anything. */
        if (ds->y && ds->y[i] >= 0 && ds->y[first] >= 0 &&
            ds->y[i] != ds->y[first])
            out->conflicting_rows++;
    }
}

hl_status hl_dataset_find_duplicates(const hl_dataset *ds, hl_dup_info *out,
                                     hl_error *err)
{
    hl_error_clear(err);
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "find_duplicates: out is NULL");
    memset(out, 0, sizeof *out);
    if (!ds)
        return hl__fail(err, HL_ERR_INVALID, "find_duplicates: ds is NULL");
    size_t n = ds->n_rows, nf = ds->n_features;
    if (n >= UINT32_MAX)
        return hl__fail(err, HL_ERR_LIMIT,
                        "find_duplicates: %zu rows do not fit 32-bit groups",
                        n);
    size_t n_slots = 16;
    while (n_slots < 2 * n)
        n_slots *= 2;
    uint32_t *group = malloc((n ? n : 1) * sizeof *group);
    uint32_t *slot = calloc(n_slots, sizeof *slot); /* row + 1; 0 = free */
    uint64_t *hash = malloc((n ? n : 1) * sizeof *hash);
    if (!group || !slot || !hash)
        goto nomem;
    for (size_t i = 0; i < n; i++) {
        const float *row = ds->x + i * nf;
        uint64_t h = hash[i] = row_hash(row, nf);
        size_t k = (size_t)h & (n_slots - 1);
        group[i] = (uint32_t)i;
        for (; slot[k]; k = (k + 1) & (n_slots - 1)) {
            size_t j = slot[k] - 1;
            if (hash[j] == h && rows_equal(ds->x + j * nf, row, nf)) {
                group[i] = (uint32_t)j;
                break;
            }
        }
        if (!slot[k])
            slot[k] = (uint32_t)i + 1;
    }
    free(slot);
    free(hash);
    out->n_rows = n;
    out->group = group;
    count_duplicates(ds, out);
    return HL_OK;
nomem:
    free(group);
    free(slot);
    free(hash);
    return hl__fail(err, HL_ERR_NOMEM, "find_duplicates: out of memory");
}

/* ---- subset ------------------------------------------------------------ */

/* malloc for n items of `size` bytes that never asks for 0 bytes (so that a
 * 0-row dataset still has non-NULL arrays) and never overflows. */
static void *alloc_array(size_t n, size_t size)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX / size)
        return NULL;
    return malloc(n * size);
}

/* Copies n strings (NULL entries stay NULL); returns NULL on failure. */
static char **copy_strings(char *const *src, size_t n)
{
    char **v = alloc_array(n, sizeof *v);
    if (!v)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        v[i] = src[i] ? hl__strdup(src[i]) : NULL;
        if (src[i] && !v[i]) {
            hl__free_strings(v, i);
            return NULL;
        }
    }
    return v;
}

static int copy_rows(const hl_dataset *ds, const size_t *rows, size_t n,
                     hl_dataset *d)
{
    size_t nf = ds->n_features;
    if (nf && n > SIZE_MAX / nf)
        return -1;
    d->x = alloc_array(n * nf, sizeof *d->x);
    if (!d->x)
        return -1;
    for (size_t k = 0; k < n; k++) {
        const float *src = ds->x + rows[k] * nf;
        memcpy(d->x + k * nf, src, nf * sizeof *src);
        for (size_t j = 0; j < nf; j++)
            d->missing_cells += src[j] != src[j];
    }
    if (ds->y) {
        d->y = alloc_array(n, sizeof *d->y);
        if (!d->y)
            return -1;
        for (size_t k = 0; k < n; k++)
            d->y[k] = ds->y[rows[k]];
    }
    if (ds->weight) {
        d->weight = alloc_array(n, sizeof *d->weight);
        if (!d->weight)
            return -1;
        for (size_t k = 0; k < n; k++)
            d->weight[k] = ds->weight[rows[k]];
    }
    if (ds->text && ds->n_text) {
        if (n > SIZE_MAX / sizeof(char *) / ds->n_text)
            return -1;
        d->text = calloc(n * ds->n_text + 1, sizeof *d->text);
        if (!d->text)
            return -1;
        d->n_text = ds->n_text;
        for (size_t k = 0; k < n * ds->n_text; k++) {
            const char *t = ds->text[rows[k / ds->n_text] * ds->n_text +
                                     k % ds->n_text];
            if (t && !(d->text[k] = hl__strdup(t)))
                return -1;
        }
    }
    if (ds->sample_ids) {
        d->sample_ids = calloc(n ? n : 1, sizeof *d->sample_ids);
        if (!d->sample_ids)
            return -1;
        for (size_t k = 0; k < n; k++) {
            const char *id = ds->sample_ids[rows[k]];
            if (id && !(d->sample_ids[k] = hl__strdup(id)))
                return -1;
        }
    }
    return 0;
}

hl_status hl_dataset_subset(const hl_dataset *ds, const size_t *rows, size_t n,
                            hl_dataset **out, hl_error *err)
{
    hl_error_clear(err);
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "subset: out is NULL");
    *out = NULL;
    if (!ds || (n && !rows))
        return hl__fail(err, HL_ERR_INVALID, "subset: ds or rows is NULL");
    for (size_t k = 0; k < n; k++)
        if (rows[k] >= ds->n_rows)
            return hl__fail(err, HL_ERR_INVALID,
                            "subset: row index %zu out of range (the "
                            "dataset has %zu rows)",
                            rows[k], ds->n_rows);
    hl_dataset *d = calloc(1, sizeof *d);
    if (!d)
        return hl__fail(err, HL_ERR_NOMEM, "subset: out of memory");
    /* Counts first, so hl_dataset_free() is right at every failure point. */
    d->n_rows = n;
    d->n_features = ds->n_features;
    d->n_classes = ds->n_classes;
    d->has_labels = ds->has_labels;
    d->rows_read = n;
    d->source = hl__strdup(ds->source ? ds->source : "<subset>");
    d->feature_names = copy_strings(ds->feature_names, ds->n_features);
    if (!d->source || !d->feature_names)
        goto nomem;
    if (ds->class_names &&
        !(d->class_names = copy_strings(ds->class_names, ds->n_classes)))
        goto nomem;
    if (copy_rows(ds, rows, n, d) != 0)
        goto nomem;
    *out = d;
    return HL_OK;
nomem:
    hl_dataset_free(d);
    return hl__fail(err, HL_ERR_NOMEM, "subset: out of memory");
}

/* ---- CSV output -------------------------------------------------------- */

static void put_header(const hl_dataset *ds, FILE *f)
{
    const char *sep = "";
    if (ds->sample_ids) {
        fputs("sample_id", f);
        sep = ",";
    }
    for (size_t j = 0; j < ds->n_features; j++) {
        fputs(sep, f);
        hl__csv_put_text(f, ds->feature_names[j]);
        sep = ",";
    }
    if (ds->has_labels)
        fputs(",label", f);
    putc('\n', f);
}

static void put_row(const hl_dataset *ds, size_t i, FILE *f)
{
    const float *row = ds->x + i * ds->n_features;
    /* A lone empty cell would be a blank line, which the reader skips. */
    int lone = !ds->sample_ids && !ds->has_labels && ds->n_features == 1;
    const char *sep = "";
    if (ds->sample_ids) {
        hl__csv_put_text(f, ds->sample_ids[i]);
        sep = ",";
    }
    for (size_t j = 0; j < ds->n_features; j++) {
        fputs(sep, f);
        sep = ",";
        if (row[j] == row[j])
            fprintf(f, "%.9g", (double)row[j]);
        else if (lone)
            fputs("\"\"", f);
    }
    if (ds->has_labels) {
        putc(',', f);
        int32_t y = ds->y ? ds->y[i] : -1;
        if (y >= 0 && (size_t)y < ds->n_classes)
            hl__csv_put_text(f, ds->class_names[y]);
    }
    putc('\n', f);
}

static hl_status check_writable(const hl_dataset *ds, hl_error *err)
{
    if (!ds || (ds->n_rows && !ds->x) || (ds->n_features && !ds->feature_names))
        return hl__fail(err, HL_ERR_INVALID, "write_csv: incomplete dataset");
    if (ds->has_labels && ds->n_classes && !ds->class_names)
        return hl__fail(err, HL_ERR_INVALID, "write_csv: no class names");
    for (size_t j = 0; j < ds->n_features; j++) {
        const char *name = ds->feature_names[j];
        if (!name || !*name || !strcmp(name, "sample_id") ||
            !strcmp(name, "label"))
            return hl__fail(err, HL_ERR_INVALID,
                            "write_csv: feature %zu is named '%s', which "
                            "would not read back as a feature",
                            j + 1, name ? name : "");
    }
    return HL_OK;
}

static void put_all(const hl_dataset *ds, FILE *f)
{
    hl__locale_scope sc = hl__c_locale_enter();
    put_header(ds, f);
    for (size_t i = 0; i < ds->n_rows && !ferror(f); i++)
        put_row(ds, i, f);
    hl__c_locale_leave(sc);
}

/* Terminals and pipes (e.g. /dev/stdout) cannot be renamed over. */
static hl_status write_in_place(const hl_dataset *ds, const char *path,
                                hl_error *err)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return hl__fail_io(err, path, "cannot open the file", errno);
    put_all(ds, f);
    int failed = ferror(f);
    int saved = errno;
    if (fclose(f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    return failed ? hl__fail_io(err, path, "cannot write the file", saved)
                  : HL_OK;
}

hl_status hl_dataset_write_csv_stream(const hl_dataset *ds, FILE *f,
                                      hl_error *err)
{
    hl_error_clear(err);
    hl_status rc = check_writable(ds, err);
    if (rc != HL_OK)
        return rc;
    if (!f)
        return hl__fail(err, HL_ERR_INVALID, "write_csv: no stream");
    put_all(ds, f);
    if (ferror(f))
        return hl__fail(err, HL_ERR_IO, "write_csv: cannot write the stream");
    return HL_OK;
}

/* Regular files are replaced atomically (temporary name, fsync, rename):
 * an interrupted run never leaves half a CSV where a good one was. */
hl_status hl_dataset_write_csv(const hl_dataset *ds, const char *path,
                               hl_error *err)
{
    hl_error_clear(err);
    hl_status rc = check_writable(ds, err);
    if (rc != HL_OK)
        return rc;
    if (!path)
        return hl__fail(err, HL_ERR_INVALID, "write_csv: path is NULL");
    if (hl__is_special_file(path))
        return write_in_place(ds, path, err);
    hl__atomic_file af;
    if ((rc = hl__atomic_open(&af, path, err)) != HL_OK)
        return rc;
    put_all(ds, af.f);
    return hl__atomic_commit(&af, err);
}
