/* output.c - writing files safely: atomic replacement, CSV text fields,
 * and I/O error messages.
 *
 * Everything the engine writes for a user to keep (model files,
 * predictions) goes to a temporary name in the same directory, is fsync'ed,
 * then renamed over the target, so a crash or a full disk never leaves a
 * half-written file where a good one was. CSV fields are quoted exactly
 * when the reader would otherwise split, unescape or trim them, so what is
 * written reads back unchanged.
 */
#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "healer/file.h"
#include "internal.h"

hl_status hl__fail_io(hl_error *err, const char *path, const char *what,
                      int errnum)
{
    /* strerror_r, not strerror: several jobs may do I/O at once. */
    char buf[128];
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *msg = strerror_r(errnum, buf, sizeof buf); /* GNU form */
#else
    const char *msg = buf;
    if (strerror_r(errnum, buf, sizeof buf) != 0)
        snprintf(buf, sizeof buf, "error %d", errnum);
#endif
    return hl__fail_at(err, HL_ERR_IO, path, 0, NULL, 0, "%s: %s", what, msg);
}

/* A field the reader would change unquoted: one with surrounding blanks
 * (trimmed), a separator, quote or line break, and one that starts with a
 * UTF-8 byte order mark (at the start of a file the reader takes it for
 * the file's BOM and drops it: a header name "\xEF\xBB\xBFsample_id"
 * would read back as the id column; found by tests/fuzz/csv). */
static int needs_quotes(const char *s)
{
    size_t n = strlen(s);
    if (n &&
        (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        return 1;
    if (!strncmp(s, "\xEF\xBB\xBF", 3))
        return 1;
    return strpbrk(s, ",\"\r\n") != NULL;
}

void hl__csv_put_text(FILE *f, const char *s)
{
    if (!s)
        return;
    if (!needs_quotes(s)) {
        fputs(s, f);
        return;
    }
    putc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            putc('"', f);
        putc(*s, f);
    }
    putc('"', f);
}

hl_status hl__atomic_open(hl__atomic_file *af, const char *path, hl_error *err)
{
    memset(af, 0, sizeof *af);
    size_t n = strlen(path) + 32;
    if (!(af->tmp = malloc(n)))
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    snprintf(af->tmp, n, "%s.tmp.%ld", path, (long)getpid());
    af->path = path;
    if (!(af->f = fopen(af->tmp, "wb"))) {
        hl_status rc = hl__fail_io(err, path, "cannot create the file", errno);
        free(af->tmp);
        af->tmp = NULL;
        return rc;
    }
    return HL_OK;
}

void hl__atomic_abort(hl__atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp)
        unlink(af->tmp);
    free(af->tmp);
    memset(af, 0, sizeof *af);
}

hl_status hl__atomic_commit(hl__atomic_file *af, hl_error *err)
{
    int failed = ferror(af->f) || fflush(af->f) != 0 || fsync(fileno(af->f)) != 0;
    int saved = errno;
    if (fclose(af->f) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    af->f = NULL;
    if (!failed && rename(af->tmp, af->path) != 0) {
        failed = 1;
        saved = errno;
    }
    hl_status rc = failed ? hl__fail_io(err, af->path, "cannot write the file",
                                        saved)
                          : HL_OK;
    if (failed)
        unlink(af->tmp);
    free(af->tmp);
    memset(af, 0, sizeof *af);
    return rc;
}

hl_status hl_file_write_atomic(const char *path, const void *data, size_t len,
                               hl_error *err)
{
    hl__atomic_file af;
    hl_status rc = hl__atomic_open(&af, path, err);
    if (rc != HL_OK)
        return rc;
    if (len && fwrite(data, 1, len, af.f) != len) {
        int saved = errno;
        hl__atomic_abort(&af);
        return hl__fail_io(err, path, "cannot write the file", saved);
    }
    return hl__atomic_commit(&af, err);
}

hl__locale_scope hl__c_locale_enter(void)
{
    hl__locale_scope sc = {newlocale(LC_NUMERIC_MASK, "C", (locale_t)0), 0};
    if (sc.c_locale)
        sc.previous = uselocale(sc.c_locale);
    return sc;
}

void hl__c_locale_leave(hl__locale_scope sc)
{
    if (!sc.c_locale)
        return;
    uselocale(sc.previous);
    freelocale(sc.c_locale);
}

int hl__is_special_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode);
}
