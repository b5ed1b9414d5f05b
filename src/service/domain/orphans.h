/* domain/orphans.h - the orphan sweep: stored files no record refers to.
 *
 * An upload (or a job's result) is committed to the blob store before the
 * record that refers to it is written, so that a record never names a
 * missing blob. A process killed in between leaves a blob that nothing
 * refers to, and a writer killed mid-stream leaves a temporary file; both
 * would leak disk for good. The sweep removes them - only those last
 * written before a cutoff, since a blob written just now may be about to
 * be recorded by this or another process sharing the store.
 *
 * It runs in the background after start-up (server.c), never on a
 * request: on a big directory it reads every blob's metadata once, and
 * the store's list of referenced keys (hs_store_blob_refs_list) once.
 */
#ifndef HEALER_HS_ORPHANS_H
#define HEALER_HS_ORPHANS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "base/app.h"
#include "base/error.h"

/* What a sweep did. */
typedef struct hs_orphan_report {
    size_t blobs;          /* unreferenced blobs removed */
    uint64_t blob_bytes;   /* their size on disk (encrypted) */
    size_t temps;          /* writers' temporary files removed */
    uint64_t temp_bytes;
    size_t kept_recent;    /* blobs written at or after the cutoff: left
                              alone, referenced or not */
} hs_orphan_report;

/* Removes from app->blobs every blob that no record of app->store refers
 * to and that was last written before before_ns (ns since the epoch, the
 * system clock's: file times), then every writer's temporary file older
 * than that. The blobs are listed before the references are read, so a
 * blob recorded meanwhile is never removed. *out gets what was done (also
 * when it fails midway). Stops early, with HS_OK, when *stop becomes
 * non-zero (stop may be NULL). Errors: those of the listing, of the store
 * (a backend that cannot list its references: nothing is removed), and
 * HS_ERR_IO for a blob that cannot be removed (the sweep goes on past it
 * and reports the first such error). */
hs_status hs_orphans_sweep(hs_app *app, int64_t before_ns,
                           const atomic_int *stop, hs_orphan_report *out,
                           hs_error *err);

#endif
