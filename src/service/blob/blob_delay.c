/* blob/blob_delay.c - a testing aid: a blob store over another whose
 * commits of chosen kinds take longer (HEALER_FAULT_COMMIT_DELAY).
 *
 * Why: what the server does while its disk's fsyncs stall (a shared disk
 * takes 100-170 ms now and then, docs/benchmarks.md) can only be tested
 * deterministically if a stall can be made on demand. The stall is a sleep
 * before the wrapped store's commit, so a commit stays exactly what it was
 * (durable, then visible), only later; everything else passes through.
 * Delays are per kind ("result", "input", "upload"; "*" for all) so a test
 * can slow the writes of one request type and leave the others (the
 * health check's own "health" blob) at the disk's speed.
 *
 * Deliberately not a setting of the config table: it is for tests, read
 * from the environment like HEALER_FAULT_INJECT, and absent unless set
 * (server/process.c wraps the store only then).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blob/blob.h"

typedef struct delay_store {
    hs_blob_store base; /* base.impl points back here */
    hs_blob_store *inner;
    hs_blob_delays delays; /* immutable after open */
} delay_store;

typedef struct delay_writer {
    hs_blob_writer base; /* must be first: blob.h dispatches through it */
    hs_blob_writer *inner;
    unsigned delay_ms; /* slept before the inner commit */
} delay_writer;

static const hs_blob_ops delay_ops;

hs_status hs_blob_delays_parse(const char *spec, hs_blob_delays *out,
                               hs_error *err)
{
    hs_blob_delays parsed;
    memset(&parsed, 0, sizeof parsed);
    const char *p = spec ? spec : "";
    while (*p) {
        size_t len = strcspn(p, ",");
        char item[HS_BLOB_KIND_MAX + 16];
        if (len == 0 || len >= sizeof item)
            return hs_fail(err, HS_ERR_INVALID,
                           "expected KIND=MS items separated by commas, got "
                           "'%.100s'",
                           spec);
        memcpy(item, p, len);
        item[len] = '\0';
        char *eq = strchr(item, '=');
        char *end = NULL;
        unsigned long ms = 0;
        if (eq) {
            *eq = '\0';
            errno = 0;
            ms = strtoul(eq + 1, &end, 10);
        }
        if (!eq || eq[1] < '0' || eq[1] > '9' || *end || errno ||
            ms > HS_BLOB_DELAY_MAX_MS)
            return hs_fail(err, HS_ERR_INVALID,
                           "'%.*s': expected KIND=MS, MS a whole number of "
                           "milliseconds up to %u",
                           (int)len, p, HS_BLOB_DELAY_MAX_MS);
        if (strcmp(item, "*") && !hs_blob_kind_valid(item))
            return hs_fail(err, HS_ERR_INVALID,
                           "'%s' is not a blob kind ([a-z0-9_]{1,32}) or *",
                           item);
        if (parsed.n == HS_BLOB_DELAYS_MAX)
            return hs_fail(err, HS_ERR_INVALID, "at most %d items",
                           HS_BLOB_DELAYS_MAX);
        memcpy(parsed.kind[parsed.n], item, strlen(item) + 1); /* <= 32 */
        parsed.ms[parsed.n++] = (unsigned)ms;
        p += len;
        if (*p == ',' && !*++p)
            return hs_fail(err, HS_ERR_INVALID,
                           "'%.100s' ends with a comma", spec);
    }
    *out = parsed;
    return HS_OK;
}

/* The delay of kind: its own item's, else "*"'s, else 0 (later items win). */
static unsigned delay_of(const hs_blob_delays *d, const char *kind)
{
    unsigned any = 0, own = 0;
    int has_own = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (!strcmp(d->kind[i], kind)) {
            own = d->ms[i];
            has_own = 1;
        } else if (!strcmp(d->kind[i], "*")) {
            any = d->ms[i];
        }
    }
    return has_own ? own : any;
}

static hs_status wrap_writer(hs_blob_writer *inner, unsigned delay_ms,
                             hs_blob_writer **w_out, hs_error *err)
{
    delay_writer *w = calloc(1, sizeof *w);
    if (!w) {
        hs_blob_abort(inner);
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    }
    w->base.ops = &delay_ops;
    memcpy(w->base.key, inner->key, sizeof w->base.key);
    w->inner = inner;
    w->delay_ms = delay_ms;
    *w_out = &w->base;
    return HS_OK;
}

static hs_status delay_writer_open(void *impl, const char *kind,
                                   size_t max_bytes, hs_blob_writer **w_out,
                                   hs_error *err)
{
    delay_store *s = impl;
    hs_blob_writer *inner = NULL;
    hs_status st = hs_blob_writer_open(s->inner, kind, max_bytes, &inner, err);
    return st == HS_OK ? wrap_writer(inner, delay_of(&s->delays, kind), w_out,
                                     err)
                       : st;
}

static hs_status delay_write(hs_blob_writer *base, const void *buf, size_t len,
                             hs_error *err)
{
    return hs_blob_write(((delay_writer *)base)->inner, buf, len, err);
}

static hs_status delay_commit(hs_blob_writer *base,
                              char key_out[HS_BLOB_KEY_MAX], uint64_t *size_out,
                              hs_error *err)
{
    delay_writer *w = (delay_writer *)base;
    hs_blob_writer *inner = w->inner;
    struct timespec left = {w->delay_ms / 1000,
                            (long)(w->delay_ms % 1000) * 1000000L};
    free(w);
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    return hs_blob_commit(inner, key_out, size_out, err);
}

static void delay_abort(hs_blob_writer *base)
{
    delay_writer *w = (delay_writer *)base;
    hs_blob_abort(w->inner);
    free(w);
}

static hs_status delay_open_read(void *impl, const char *key,
                                 hs_blob_reader **r_out, hs_error *err)
{
    return hs_blob_open_read(((delay_store *)impl)->inner, key, r_out, err);
}

static hs_status delay_remove(void *impl, const char *key, hs_error *err)
{
    return hs_blob_delete(((delay_store *)impl)->inner, key, err);
}

static hs_status delay_exists(void *impl, const char *key, int *exists_out,
                              hs_error *err)
{
    return hs_blob_exists(((delay_store *)impl)->inner, key, exists_out, err);
}

static void delay_close(hs_blob_store *store)
{
    delay_store *s = store->impl;
    hs_blob_store_close(s->inner);
    free(s);
}

static hs_status delay_each(void *impl, hs_blob_each_fn fn, void *ctx,
                            hs_error *err)
{
    return hs_blob_each(((delay_store *)impl)->inner, fn, ctx, err);
}

static hs_status delay_writer_replace(void *impl, const char *key,
                                      hs_blob_writer **w_out, hs_error *err)
{
    delay_store *s = impl;
    hs_blob_writer *inner = NULL;
    char kind[HS_BLOB_KIND_MAX + 1];
    hs_status st = hs_blob_writer_replace(s->inner, key, &inner, err);
    if (st != HS_OK)
        return st;
    snprintf(kind, sizeof kind, "%.*s", (int)strcspn(key, "/"), key);
    return wrap_writer(inner, delay_of(&s->delays, kind), w_out, err);
}

static hs_status delay_sweep_temps(void *impl, int64_t before_ns,
                                   size_t *count, uint64_t *bytes,
                                   hs_error *err)
{
    return hs_blob_sweep_temps(((delay_store *)impl)->inner, before_ns, count,
                               bytes, err);
}

static const hs_blob_ops delay_ops = {
    .name = "delay",
    .writer_open = delay_writer_open,
    .write = delay_write,
    .commit = delay_commit,
    .abort = delay_abort,
    .open_read = delay_open_read,
    .remove = delay_remove,
    .exists = delay_exists,
    .close = delay_close,
    .each = delay_each,
    .writer_replace = delay_writer_replace,
    .sweep_temps = delay_sweep_temps,
};

hs_status hs_blob_delay_open(hs_blob_store *inner, const hs_blob_delays *delays,
                             hs_blob_store **out, hs_error *err)
{
    *out = NULL;
    delay_store *s = inner && delays ? calloc(1, sizeof *s) : NULL;
    if (!s) {
        hs_blob_store_close(inner);
        return hs_fail(err, inner && delays ? HS_ERR_NOMEM : HS_ERR_INVALID,
                       "blob delay: %s",
                       inner && delays ? "out of memory" : "missing argument");
    }
    s->base.ops = &delay_ops;
    s->base.impl = s;
    s->inner = inner;
    s->delays = *delays;
    *out = &s->base;
    return HS_OK;
}
