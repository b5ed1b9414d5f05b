/* healer/file.h - writing a whole file so that readers never see half of it.
 *
 * Every file the engine writes (models, CSVs) replaces its target the same
 * way: a temporary file beside it, fsync, rename. Callers that build their
 * own bytes (the CLI's JSON reports) use the same rule through this call
 * instead of fopen on the final name, so an interrupted run leaves either
 * the old file or the new one, never a truncated one.
 */
#ifndef HEALER_FILE_H
#define HEALER_FILE_H

#include <stddef.h>

#include "healer/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Replaces PATH with the LEN bytes at DATA: written to "PATH.tmp.PID",
 * flushed to disk, then renamed over PATH. On failure PATH is untouched,
 * the temporary file is removed and *err (HL_ERR_IO, errno's text, the
 * file named) says why. DATA may be NULL when LEN is 0. */
hl_status hl_file_write_atomic(const char *path, const void *data, size_t len,
                               hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
