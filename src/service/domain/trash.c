/* trash.c - the trash rule shared by datasets, models and diagnoses (see
 * trash.h). */
#include "domain/trash.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "blob/blob.h"
#include "domain/audit.h"

/* The audit row of a move or restore by the viewer (owner or admin). */
static void audit_change(hs_app *app, const hs_trash_kind *kind, hs_id id,
                         const hs_user *viewer, const char *client,
                         const void *rec, const char *action)
{
    hs_actor by = hs_actor_user(viewer->id, viewer->username, client);
    hs_error err = {0};
    if (hs_audit_record_now(app, &by, action, kind->what, id,
                            (const char *)rec + kind->name_offset, NULL,
                            &err) != HS_OK)
        hs_log(HS_LOG_ERROR, "cannot write the audit log",
               json_pack("{s:s, s:s, s:I, s:s}", "action", action, "target",
                         kind->what, "id", (json_int_t)id, "error",
                         err.message));
}

/* Reads record `id` into *rec and when it went to the trash (0 = live). */
static hs_status read_record(hs_app *app, const hs_trash_kind *kind, hs_id id,
                             const hs_user *viewer, void *rec,
                             int64_t *deleted_at, hs_error *err)
{
    hs_status st = kind->get(app, id, viewer, rec, err);
    memcpy(deleted_at, (const char *)rec + kind->deleted_at_offset,
           sizeof *deleted_at);
    return st;
}

/* Sets deleted_at, then reads the record as it is after it into *rec. */
static hs_status write_record(hs_app *app, const hs_trash_kind *kind, hs_id id,
                              const hs_user *viewer, int64_t deleted_at,
                              void *rec, hs_error *err)
{
    kind->release(rec);
    hs_status st = kind->set_deleted(app->store, id, viewer->id,
                                     viewer->is_admin, deleted_at, err);
    return st != HS_OK ? st : kind->get(app, id, viewer, rec, err);
}

hs_status hs_trash_move(hs_app *app, const hs_trash_kind *kind, hs_id id,
                        const hs_user *viewer, const char *client, void *rec,
                        hs_error *err)
{
    int64_t already = 0;
    hs_status st = read_record(app, kind, id, viewer, rec, &already, err);
    if (st != HS_OK)
        return st;
    st = write_record(app, kind, id, viewer,
                      already ? already : hs_clock_now(app->clock), rec, err);
    if (st == HS_OK && !already)
        audit_change(app, kind, id, viewer, client, rec, HS_AUDIT_DATA_DELETED);
    return st;
}

hs_status hs_trash_restore(hs_app *app, const hs_trash_kind *kind, hs_id id,
                           const hs_user *viewer, const char *client, void *rec,
                           hs_error *err)
{
    int64_t deleted_at = 0;
    hs_status st = read_record(app, kind, id, viewer, rec, &deleted_at, err);
    if (st != HS_OK || !deleted_at)
        return st;
    if (hs_clock_now(app->clock) - deleted_at >= HS_TRASH_SECONDS) {
        kind->release(rec); /* an error leaves nothing to free */
        return hs_fail(err, HS_ERR_CONFLICT,
                       "%s %lld was deleted more than 7 days ago and can "
                       "no longer be restored",
                       kind->what, (long long)id);
    }
    st = write_record(app, kind, id, viewer, 0, rec, err);
    if (st == HS_OK)
        audit_change(app, kind, id, viewer, client, rec,
                     HS_AUDIT_DATA_RESTORED);
    return st;
}

hs_status hs_trash_purge(hs_app *app, const hs_trash_kind *kind, size_t *blobs,
                         hs_error *err)
{
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;
    hs_status st =
        kind->purge(app->store, hs_clock_now(app->clock) - HS_TRASH_SECONDS,
                    &keys, &n, err);
    if (st != HS_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        hs_blob_delete(app->blobs, keys[i], NULL); /* orphans are harmless */
    free(keys);
    if (blobs)
        *blobs = n;
    return HS_OK;
}
