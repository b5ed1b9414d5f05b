/* csv_file.c - hl_dataset_read_csv and hl_csv_read_table_file: get a CSV
 * file into memory for the parsers in csv.c.
 *
 * The whole file is read into one buffer rather than streamed: the parser
 * then works on plain pointers with no refill logic, and a 15 MB export
 * costs one read(). The size is checked against max_bytes before anything
 * is allocated, so an oversized upload fails fast and cheaply. Pipes and
 * other non-regular files work too (read in growing chunks, same limit).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "healer/dataset.h"
#include "internal.h"

/* Reads the whole file into a malloc'd buffer the caller frees (internal.h:
 * the topology and incident readers get their files the same way). */
hl_status hl__read_file(const char *path, size_t max_bytes, char **out,
                        size_t *out_len, hl_error *err)
{
    char *buf = NULL;
    size_t len = 0, cap;
    hl_status rc;
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hl__fail_io(err, path, "cannot open the file", errno);
    if (fstat(fd, &st) != 0) {
        rc = hl__fail_io(err, path, "cannot stat the file", errno);
        goto fail;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = hl__fail_io(err, path, "cannot read the file", EISDIR);
        goto fail;
    }
    if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max_bytes) {
        rc = hl__fail_at(err, HL_ERR_LIMIT, path, 0, NULL, 0,
                         "file too large: %jd bytes, the limit is %zu "
                         "(max_bytes)",
                         (intmax_t)st.st_size, max_bytes);
        goto fail;
    }
    cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 65536;
    buf = malloc(cap);
    hl__advise_huge(buf, cap);
    for (;;) {
        if (buf && len == cap) {
            if (len > max_bytes) {
                rc = hl__fail_at(err, HL_ERR_LIMIT, path, 0, NULL, 0,
                                 "file too large: more than %zu bytes "
                                 "(max_bytes)",
                                 max_bytes);
                goto fail;
            }
            cap = cap > max_bytes / 2 ? max_bytes + 1 : cap * 2;
            char *grown = realloc(buf, cap);
            if (!grown)
                free(buf);
            buf = grown;
        }
        if (!buf) {
            rc = hl__fail_at(err, HL_ERR_NOMEM, path, 0, NULL, 0,
                             "out of memory reading the file");
            goto fail;
        }
        ssize_t got = read(fd, buf + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = hl__fail_io(err, path, "cannot read the file", errno);
            goto fail;
        }
        if (got == 0)
            break;
        len += (size_t)got;
    }
    close(fd);
    *out = buf;
    *out_len = len;
    return HL_OK;
fail:
    close(fd);
    free(buf);
    return rc;
}

hl_status hl_dataset_read_csv(const char *path, const hl_csv_options *opt,
                              hl_dataset **out, hl_error *err)
{
    hl_error_clear(err);
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "read_csv: out is NULL");
    *out = NULL;
    if (!path)
        return hl__fail(err, HL_ERR_INVALID, "read_csv: path is NULL");
    hl_csv_options defaults;
    hl_csv_options_init(&defaults);
    size_t max_bytes =
        opt && opt->max_bytes ? opt->max_bytes : defaults.max_bytes;
    char *data = NULL;
    size_t len = 0;
    hl_status rc = hl__read_file(path, max_bytes, &data, &len, err);
    if (rc != HL_OK)
        return rc;
    rc = hl_dataset_parse_csv(data, len, path, opt, out, err);
    free(data);
    return rc;
}

hl_status hl_csv_read_table_file(const char *path, size_t max_bytes,
                                 const char *const *columns, size_t n_columns,
                                 size_t max_field_bytes,
                                 hl_csv_table_row_fn row, void *arg,
                                 hl_error *err)
{
    hl_error_clear(err);
    if (!path)
        return hl__fail(err, HL_ERR_INVALID, "read_table: path is NULL");
    char *buf = NULL;
    size_t len = 0;
    hl_status rc = hl__read_file(path, max_bytes ? max_bytes : (size_t)1 << 30,
                             &buf, &len, err);
    if (rc == HL_OK)
        rc = hl_csv_read_table(buf, len, path, columns, n_columns,
                               max_field_bytes, row, arg, err);
    free(buf);
    return rc;
}
