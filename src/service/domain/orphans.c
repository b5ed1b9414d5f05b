/* domain/orphans.c - the orphan sweep (see orphans.h).
 *
 * Two lists, each read once: the candidates (blobs older than the cutoff,
 * from the blob store) and the references (every key a record names,
 * sorted, from the store); a candidate not found in the references by
 * binary search is removed. Candidates first: a blob that gets recorded
 * while the sweep runs is then in the references read after it.
 */
#include <stdlib.h>
#include <string.h>

#include "blob/blob.h"
#include "domain/orphans.h"
#include "store/store.h"

typedef struct candidate {
    char key[HS_BLOB_KEY_MAX];
    uint64_t size;
} candidate;

typedef struct candidates {
    candidate *items;
    size_t n, cap;
    int64_t before_ns;
    size_t recent; /* blobs at or after the cutoff */
    const atomic_int *stop;
    int stopped; /* collect ended the walk because stop was set */
} candidates;

static int stopped(const atomic_int *stop)
{
    return stop && atomic_load(stop);
}

/* Keeps the blobs older than the cutoff. When asked to stop it ends the
 * walk with a status hs_orphans_sweep ignores (it sees c->stopped). */
static hs_status collect(void *arg, const char *key, uint64_t size,
                         int64_t mtime_ns, hs_error *err)
{
    candidates *c = arg;
    if (stopped(c->stop)) {
        c->stopped = 1;
        return HS_ERR_INVALID; /* ends the walk; not reported */
    }
    if (mtime_ns >= c->before_ns) {
        c->recent++;
        return HS_OK;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 256;
        candidate *grown = realloc(c->items, cap * sizeof *grown);
        if (!grown)
            return hs_fail(err, HS_ERR_NOMEM, "out of memory listing the blobs");
        c->items = grown;
        c->cap = cap;
    }
    snprintf(c->items[c->n].key, sizeof c->items[c->n].key, "%s", key);
    c->items[c->n++].size = size;
    return HS_OK;
}

static int compare_key(const void *key, const void *item)
{
    return strcmp(key, item);
}

/* Removes the candidates no reference names; *first_err keeps the first
 * failure while the others are still tried. */
static hs_status remove_unreferenced(hs_app *app, const candidates *c,
                                     char (*refs)[HS_STORE_BLOB_KEY_MAX],
                                     size_t n_refs, const atomic_int *stop,
                                     hs_orphan_report *out, hs_error *err)
{
    hs_status first = HS_OK;
    for (size_t i = 0; i < c->n && !stopped(stop); i++) {
        if (bsearch(c->items[i].key, refs, n_refs, sizeof *refs, compare_key))
            continue;
        hs_error one = {0};
        hs_status st = hs_blob_delete(app->blobs, c->items[i].key, &one);
        if (st == HS_OK) {
            out->blobs++;
            out->blob_bytes += c->items[i].size;
        } else if (st != HS_ERR_NOTFOUND && first == HS_OK) {
            first = st; /* gone meanwhile is fine: someone else removed it */
            if (err)
                *err = one;
        }
    }
    return first;
}

hs_status hs_orphans_sweep(hs_app *app, int64_t before_ns,
                           const atomic_int *stop, hs_orphan_report *out,
                           hs_error *err)
{
    _Static_assert(HS_STORE_BLOB_KEY_MAX == HS_BLOB_KEY_MAX,
                   "the store keeps blob keys whole");
    memset(out, 0, sizeof *out);
    candidates c = {.before_ns = before_ns, .stop = stop};
    char (*refs)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n_refs = 0;
    hs_status st = hs_blob_each(app->blobs, collect, &c, err);
    if (c.stopped)
        st = HS_OK; /* stopping is not a failure */
    out->kept_recent = c.recent;
    if (st == HS_OK && !stopped(stop))
        st = hs_store_blob_refs_list(app->store, &refs, &n_refs, err);
    if (st == HS_OK && !stopped(stop))
        st = remove_unreferenced(app, &c, refs, n_refs, stop, out, err);
    free(c.items);
    free(refs);
    if (st != HS_OK || stopped(stop))
        return st;
    return hs_blob_sweep_temps(app->blobs, before_ns, &out->temps,
                               &out->temp_bytes, err);
}
