/* testutil.h - helpers shared by the cmocka unit tests.
 *
 * Tests write their tiny fixtures to a private temporary directory so that
 * they never depend on files outside the repository.
 */
#ifndef HEALER_TESTUTIL_H
#define HEALER_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "healer/healer.h"

/* Writes `text` (len bytes, or strlen when len == (size_t)-1) to a fresh
 * temporary file and returns its path (static buffer, rotated 8 deep). */
static inline const char *tu_write_temp(const char *text, size_t len)
{
    static char paths[8][64];
    static int next;
    char *p = paths[next++ & 7];
    snprintf(p, 64, "/tmp/healer-test-XXXXXX");
    int fd = mkstemp(p);
    if (fd < 0)
        return NULL;
    if (len == (size_t)-1)
        len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len) {
        close(fd);
        return NULL;
    }
    close(fd);
    return p;
}

/* Removes a file or a directory tree (tests' private temp dirs). */
static inline void tu_rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        assert_non_null(d);
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            size_t n = strlen(path) + strlen(e->d_name) + 2;
            char *child = malloc(n);
            assert_non_null(child);
            memcpy(child, path, strlen(path));
            child[strlen(path)] = '/';
            memcpy(child + strlen(path) + 1, e->d_name, strlen(e->d_name) + 1);
            tu_rm_rf(child);
            free(child);
        }
        closedir(d);
        assert_int_equal(rmdir(path), 0);
    } else {
        assert_int_equal(unlink(path), 0);
    }
}

/* True when the sanitizer build asks for lighter workloads. */
static inline int tu_quick(void)
{
    const char *q = getenv("HEALER_TEST_QUICK");
    return q && *q == '1';
}

#endif
