/* fuzz.h - what the libFuzzer targets in tests/fuzz share.
 *
 * Each target is one file (tests/fuzz/<target>.c, built into
 * build/fuzz/<target> by the Makefile) that hands the fuzzer's bytes to a
 * parser and checks what every parser of the project promises beyond not
 * crashing: a refusal always carries a message (the error record is what
 * the CLI prints and the API returns), and a success hands back an object
 * that its free function releases (LeakSanitizer checks that). A broken
 * promise is a crash (abort), so libFuzzer saves the input.
 *
 * Header-only: the targets are single files with no other objects.
 */
#ifndef HEALER_FUZZ_H
#define HEALER_FUZZ_H

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "healer/error.h"

/* libFuzzer's entry points (declared by the targets' definitions). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with a message: a broken promise found by a target. */
#define FUZZ_ASSERT(cond, what)                                                \
    do {                                                                       \
        if (!(cond)) {                                                         \
            fprintf(stderr, "fuzz: %s:%d: %s (%s)\n", __FILE__, __LINE__,      \
                    what, #cond);                                              \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* A failed call must say why: its status is not OK, the record has the
 * same status, and the message is a non-empty NUL-terminated text. */
static inline void fuzz_check_error(hl_status rc, const hl_error *err)
{
    FUZZ_ASSERT(rc != HL_OK, "checked an error of a call that succeeded");
    FUZZ_ASSERT(err->code == rc, "error record's code differs from status");
    FUZZ_ASSERT(memchr(err->message, '\0', sizeof err->message) != NULL,
                "error message not terminated");
    FUZZ_ASSERT(err->message[0] != '\0', "error without a message");
}

/* The fuzzer's bytes split into a selector byte (which variant of the
 * call to make) and the rest; an empty input selects 0 with no data. */
typedef struct fuzz_input {
    unsigned selector;
    const char *data;
    size_t len;
} fuzz_input;

static inline fuzz_input fuzz_split(const uint8_t *data, size_t size)
{
    fuzz_input in = {0, (const char *)data, size};
    if (size > 0) {
        in.selector = data[0];
        in.data = (const char *)data + 1;
        in.len = size - 1;
    }
    return in;
}

/* ---- a temporary data directory (the service's targets) ---- */

/* Its path, set once by fuzz_temp_dir and removed at exit. A crash
 * leaves it (libFuzzer ends the process at once); tests/fuzz/run.sh runs
 * the targets with TMPDIR set to a directory of its own that it removes. */
static char fuzz_dir[64];

static inline int fuzz__rm_entry(const char *path, const struct stat *st,
                                 int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void fuzz_remove_dir(void)
{
    if (fuzz_dir[0])
        nftw(fuzz_dir, fuzz__rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    fuzz_dir[0] = '\0';
}

/* Makes fuzz_dir: under $TMPDIR when set, else /dev/shm when writable
 * (the store and the blob store fsync: memory keeps the executions
 * fast), else /tmp. `at_exit` runs before the directory goes (stop what
 * uses it); it may be NULL. */
static inline const char *fuzz_temp_dir(const char *prefix,
                                        void (*at_exit)(void))
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) >= 32)
        tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/healer-fuzz-%s-XXXXXX", tmp, prefix);
    FUZZ_ASSERT(mkdtemp(fuzz_dir) != NULL, "mkdtemp");
    atexit(fuzz_remove_dir);
    if (at_exit)
        atexit(at_exit); /* runs first: atexit is last in, first out */
    return fuzz_dir;
}

#endif
