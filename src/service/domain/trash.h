/* trash.h - the one trash rule of datasets, models and diagnoses: a
 * delete moves a record to the trash, from where its owner (or an admin)
 * restores it for HS_TRASH_SECONDS, after which the purge deletes it for
 * good, with its blobs. Time is the app's clock, so the 7 days are tested
 * by moving a manual clock.
 *
 * Each resource describes its records to the rule once (an hs_trash_kind:
 * its name for messages and its store operations) and calls these
 * functions; the rule itself - the 7 days, keeping the first deleted_at,
 * the conflict after them, the purge's cutoff and blob deletion - lives
 * only here. This file knows no resource, so nothing loops back to it.
 */
#ifndef HEALER_HS_TRASH_H
#define HEALER_HS_TRASH_H

#include <stddef.h>
#include <stdint.h>

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"
#include "store/store.h"

/* How long a trashed record can be restored: 7 days. */
#define HS_TRASH_SECONDS (7 * 24 * 3600)

/* A resource with a trash, as the rule sees it: how to read one of its
 * records (and where in it deleted_at is) and the store's set_deleted and
 * purge for it (store.h). */
typedef struct hs_trash_kind {
    const char *what; /* "dataset", "model", "diagnosis": in messages */
    /* Reads record `id` into *rec under the access rule (HS_ERR_NOTFOUND
     * when absent or not the viewer's); *rec is always safe to release. */
    hs_status (*get)(hs_app *app, hs_id id, const hs_user *viewer, void *rec,
                     hs_error *err);
    void (*release)(void *rec);
    size_t deleted_at_offset; /* offsetof(record, deleted_at): an int64_t */
    size_t name_offset;       /* offsetof(record, name): its display name */
    hs_status (*set_deleted)(hs_store *store, hs_id id, hs_id viewer_id,
                             int viewer_is_admin, int64_t deleted_at,
                             hs_error *err);
    hs_status (*purge)(hs_store *store, int64_t deleted_before,
                       char (**keys)[HS_STORE_BLOB_KEY_MAX], size_t *n,
                       hs_error *err);
} hs_trash_kind;

/* Moves record `id` to the trash now (by app->clock) under the access
 * rule; one already there keeps its first deleted_at, so the 7 days are
 * not extended by deleting again. A move (and a restore below) that
 * changed the record is written to the audit log ("data_deleted",
 * "data_restored") as done by the viewer from address `client` (NULL =
 * unknown), right after the store's one atomic write: a failure to audit
 * is logged, the record stays moved. *rec gets the record after the change
 * (release it with the kind's release, on error too). */
hs_status hs_trash_move(hs_app *app, const hs_trash_kind *kind, hs_id id,
                        const hs_user *viewer, const char *client, void *rec,
                        hs_error *err);

/* Takes record `id` out of the trash under the access rule (a live one is
 * left as it is), *rec as for hs_trash_move. HS_ERR_CONFLICT "<what> N
 * was deleted more than 7 days ago and can no longer be restored" once
 * HS_TRASH_SECONDS have passed; HS_ERR_NOTFOUND after the purge. */
hs_status hs_trash_restore(hs_app *app, const hs_trash_kind *kind, hs_id id,
                           const hs_user *viewer, const char *client, void *rec,
                           hs_error *err);

/* Deletes for good the records trashed more than HS_TRASH_SECONDS ago
 * (rows first, then their blobs: a crash between leaves orphan blobs,
 * never rows without theirs). *blobs (may be NULL) gets how many blobs
 * went. */
hs_status hs_trash_purge(hs_app *app, const hs_trash_kind *kind, size_t *blobs,
                         hs_error *err);

#endif
