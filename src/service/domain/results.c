/* domain/results.c - the stored form of a diagnosis's rows (see results.h).
 *
 * Writing goes through a small buffer into a sink (a blob writer, or a
 * memory file when old JSON results are converted), so a million rows
 * never sit in memory twice. Reading trusts nothing in the file: every
 * offset and length is checked against the blob's real size before it is
 * used, so a damaged blob is an error, not a wild read.
 */
#include <endian.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blob/blob.h"
#include "domain/results.h"
#include "healer/model.h"

static const uint8_t MAGIC[8] = {'H', 'L', 'D', 'I', 'A', 'G', 0, 1};
#define VERSION 2u
#define HEADER_V1 80
#define HEADER_BYTES 104
#define MAX_CLASSES 4096
#define MAX_KPIS 1000000
#define MAX_NAME 65536
#define F_IDS 1u
#define F_LABELS 2u
#define F_PROJECTION 4u
#define F_EXPLAIN (HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL)
/* A row's explanation record before its bit set: two lists of (u32, f64). */
#define EXPLAIN_LISTS (2 * HS_RESULTS_TOP * 12)

/* ---- writing -------------------------------------------------------------- */

typedef hs_status (*sink_fn)(void *ctx, const void *buf, size_t len,
                             hs_error *err);

typedef struct wbuf {
    sink_fn sink;
    void *ctx;
    hs_error *err;
    hs_status st;
    size_t len;
    uint8_t buf[1 << 16];
} wbuf;

static void flush(wbuf *o)
{
    if (o->st == HS_OK && o->len)
        o->st = o->sink(o->ctx, o->buf, o->len, o->err);
    o->len = 0;
}

static void put(wbuf *o, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n && o->st == HS_OK) {
        size_t room = sizeof o->buf - o->len, k = n < room ? n : room;
        memcpy(o->buf + o->len, b, k);
        o->len += k;
        b += k;
        n -= k;
        if (o->len == sizeof o->buf)
            flush(o);
    }
}

static void put_u32(wbuf *o, uint32_t v)
{
    uint32_t le = htole32(v);
    put(o, &le, 4);
}

static void put_u64(wbuf *o, uint64_t v)
{
    uint64_t le = htole64(v);
    put(o, &le, 8);
}

static void put_f64(wbuf *o, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_u64(o, u);
}

static int32_t predicted_of(const hs_results_data *d, size_t i)
{
    return d->predicted ? d->predicted[i]
                        : hl_predict_argmax(d->proba + i * d->n_classes,
                                            d->n_classes);
}

static size_t explain_bytes(size_t n_kpis)
{
    return EXPLAIN_LISTS + hs_results_bits_bytes(n_kpis);
}

/* The KPI names are kept only with explanations. */
static size_t kpis_of(const hs_results_data *d)
{
    return d->explain ? d->n_kpis : 0;
}

/* Where each section starts, from the shape of d. */
typedef struct layout {
    uint64_t classes, kpis, rows, index, ids, projection, explain, size;
    uint32_t flags;
} layout;

static layout layout_of(const hs_results_data *d)
{
    layout l = {0};
    l.flags = (d->sample_ids ? F_IDS : 0) | (d->labels ? F_LABELS : 0) |
              (d->xy ? F_PROJECTION : 0) |
              (d->explain ? d->explain_flags & F_EXPLAIN : 0);
    l.classes = HEADER_BYTES;
    l.kpis = l.classes;
    for (size_t k = 0; k < d->n_classes; k++)
        l.kpis += 4 + strlen(d->class_names[k]);
    l.rows = l.kpis;
    for (size_t j = 0; j < kpis_of(d); j++)
        l.rows += 4 + strlen(d->kpi_names[j]);
    l.index = l.rows + (uint64_t)d->n_rows * (8 + 8 * (uint64_t)d->n_classes);
    l.ids = l.index + (d->sample_ids ? 12 * (uint64_t)d->n_rows : 0);
    l.projection = l.ids;
    for (size_t i = 0; d->sample_ids && i < d->n_rows; i++)
        l.projection += strlen(d->sample_ids[i]);
    l.explain = l.projection + (d->xy ? 16 + 16 * (uint64_t)d->n_rows : 0);
    l.size = l.explain + (l.flags & F_EXPLAIN ? (uint64_t)d->n_rows *
                                                    explain_bytes(d->n_kpis)
                                              : 0);
    return l;
}

static void put_header(wbuf *o, const hs_results_data *d, const layout *l)
{
    put(o, MAGIC, sizeof MAGIC);
    put_u32(o, VERSION);
    put_u32(o, (uint32_t)d->n_classes);
    put_u64(o, d->n_rows);
    put_u32(o, l->flags);
    put_u32(o, 0);
    put_u64(o, l->classes);
    put_u64(o, l->rows);
    put_u64(o, l->index);
    put_u64(o, l->ids);
    put_u64(o, l->projection);
    put_u64(o, l->size);
    put_u64(o, l->kpis);
    put_u64(o, l->explain);
    put_u32(o, (uint32_t)kpis_of(d));
    put_u32(o, 0);
}

static void put_names(wbuf *o, char *const *names, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        put_u32(o, (uint32_t)strlen(names[k]));
        put(o, names[k], strlen(names[k]));
    }
}

static void put_explanations(wbuf *o, const hs_results_data *d)
{
    const size_t nb = hs_results_bits_bytes(d->n_kpis);
    for (size_t i = 0; i < d->n_rows && o->st == HS_OK; i++) {
        const hs_row_explanation *e = &d->explain[i];
        for (size_t t = 0; t < HS_RESULTS_TOP; t++) {
            put_u32(o, e->top_kpi[t]);
            put_f64(o, e->contribution[t]);
        }
        for (size_t t = 0; t < HS_RESULTS_TOP; t++) {
            put_u32(o, e->abnormal_kpi[t]);
            put_f64(o, e->z[t]);
        }
        put(o, d->abnormal_bits + i * nb, nb);
    }
}

static void put_rows(wbuf *o, const hs_results_data *d)
{
    for (size_t i = 0; i < d->n_rows && o->st == HS_OK; i++) {
        put_u32(o, (uint32_t)predicted_of(d, i));
        put_u32(o, (uint32_t)(d->labels ? d->labels[i] : -1));
        for (size_t k = 0; k < d->n_classes; k++)
            put_f64(o, d->proba[i * d->n_classes + k]);
    }
}

static void put_ids(wbuf *o, const hs_results_data *d)
{
    uint64_t at = 0;
    for (size_t i = 0; i < d->n_rows; i++) {
        size_t n = strlen(d->sample_ids[i]);
        put_u64(o, at);
        put_u32(o, (uint32_t)n);
        at += n;
    }
    for (size_t i = 0; i < d->n_rows; i++)
        put(o, d->sample_ids[i], strlen(d->sample_ids[i]));
}

static hs_status write_all(sink_fn sink, void *ctx, const hs_results_data *d,
                           hs_error *err)
{
    wbuf *o = malloc(sizeof *o);
    if (!o)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    *o = (wbuf){sink, ctx, err, HS_OK, 0, {0}};
    layout l = layout_of(d);
    put_header(o, d, &l);
    put_names(o, d->class_names, d->n_classes);
    put_names(o, d->kpi_names, kpis_of(d));
    put_rows(o, d);
    if (d->sample_ids)
        put_ids(o, d);
    if (d->xy) {
        put_f64(o, d->explained[0]);
        put_f64(o, d->explained[1]);
        for (size_t i = 0; i < 2 * d->n_rows; i++)
            put_f64(o, d->xy[i]);
    }
    if (l.flags & F_EXPLAIN)
        put_explanations(o, d);
    flush(o);
    hs_status st = o->st;
    free(o);
    return st;
}

static hs_status check_writable(const hs_results_data *d, hs_error *err)
{
    if (d->first != 0 || d->n_classes == 0 || d->n_classes > MAX_CLASSES)
        return hs_fail(err, HS_ERR_INVALID, "results: bad shape");
    for (size_t k = 0; k < d->n_classes; k++)
        if (strlen(d->class_names[k]) > MAX_NAME)
            return hs_fail(err, HS_ERR_INVALID, "results: class name too long");
    for (size_t i = 0; d->sample_ids && i < d->n_rows; i++)
        if (strlen(d->sample_ids[i]) > MAX_NAME)
            return hs_fail(err, HS_ERR_INVALID, "results: sample id too long");
    if (d->explain && (d->n_kpis > MAX_KPIS || !d->abnormal_bits ||
                       (d->n_kpis && !d->kpi_names)))
        return hs_fail(err, HS_ERR_INVALID, "results: bad explanations");
    for (size_t j = 0; j < kpis_of(d); j++)
        if (strlen(d->kpi_names[j]) > MAX_NAME)
            return hs_fail(err, HS_ERR_INVALID, "results: KPI name too long");
    return HS_OK;
}

static hs_status blob_sink(void *ctx, const void *buf, size_t len,
                           hs_error *err)
{
    return hs_blob_write(ctx, buf, len, err);
}

hs_status hs_results_write(struct hs_blob_store *blobs,
                           const hs_results_data *d, char *key_out,
                           hs_error *err)
{
    hs_blob_writer *w = NULL;
    hs_status st = check_writable(d, err);
    if (st == HS_OK)
        st = hs_blob_writer_open(blobs, "result", 0, &w, err);
    if (st != HS_OK)
        return st;
    if ((st = write_all(blob_sink, w, d, err)) != HS_OK) {
        hs_blob_abort(w);
        return st;
    }
    return hs_blob_commit(w, key_out, NULL, err);
}

/* ---- reading -------------------------------------------------------------- */

struct hs_results {
    hs_blob_reader *in; /* the blob, or the converted old results */
    int converted; /* read from the old JSON document */
    uint64_t size;
    size_t n_rows, n_classes, n_kpis;
    uint32_t flags;
    uint64_t header, kpis, rows, index, ids, projection, explain;
    char **class_names;
    char **kpi_names;
};

static uint32_t get_u32(const uint8_t *b)
{
    uint32_t le;
    memcpy(&le, b, 4);
    return le32toh(le);
}

static uint64_t get_u64(const uint8_t *b)
{
    uint64_t le;
    memcpy(&le, b, 8);
    return le64toh(le);
}

static double get_f64(const uint8_t *b)
{
    uint64_t u = get_u64(b);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static hs_status damaged(hs_error *err, const char *what)
{
    return hs_fail(err, HS_ERR_INTERNAL, "stored results are damaged (%s)",
                   what);
}

/* Reads len bytes at `at`, which the caller checked to lie in the blob. */
static hs_status read_at(const hs_results *r, uint64_t at, void *buf,
                         size_t len, hs_error *err)
{
    return hs_blob_read_at(r->in, buf, len, at, err);
}

static size_t row_bytes(const hs_results *r) { return 8 + 8 * r->n_classes; }

static size_t row_explain_bytes(const hs_results *r)
{
    return explain_bytes(r->n_kpis);
}

/* The header's sections must follow one another inside the blob. */
static int sections_fit(const hs_results *r, uint64_t classes)
{
    const uint64_t n = r->n_rows;
    if (classes != r->header || r->kpis < classes || r->rows < r->kpis ||
        r->rows > r->size ||
        n > (r->size - r->rows) / row_bytes(r) ||
        r->index != r->rows + n * row_bytes(r))
        return 0;
    uint64_t index_len = r->flags & F_IDS ? 12 * n : 0;
    if (index_len > r->size - r->index || r->ids != r->index + index_len ||
        r->projection < r->ids || r->projection > r->size)
        return 0;
    uint64_t proj_len = r->flags & F_PROJECTION ? 16 + 16 * n : 0;
    if (proj_len > r->size - r->projection ||
        r->explain != r->projection + proj_len)
        return 0;
    if (!(r->flags & F_EXPLAIN))
        return r->explain == r->size;
    return n <= (r->size - r->explain) / row_explain_bytes(r) &&
           n * row_explain_bytes(r) == r->size - r->explain;
}

static hs_status read_header(hs_results *r, hs_error *err)
{
    uint8_t h[HEADER_BYTES];
    if (r->size < HEADER_V1)
        return damaged(err, "too short");
    hs_status st = read_at(r, 0, h, HEADER_V1, err);
    if (st != HS_OK)
        return st;
    const uint32_t version = get_u32(h + 8);
    if (memcmp(h, MAGIC, sizeof MAGIC) != 0 || version < 1 || version > VERSION)
        return damaged(err, "unknown format");
    r->header = version == 1 ? HEADER_V1 : HEADER_BYTES;
    if (version > 1 && r->size < HEADER_BYTES)
        return damaged(err, "too short");
    if (version > 1 && (st = read_at(r, HEADER_V1, h + HEADER_V1,
                                     HEADER_BYTES - HEADER_V1, err)) != HS_OK)
        return st;
    uint64_t k = get_u32(h + 12);
    r->n_rows = (size_t)get_u64(h + 16);
    r->flags = get_u32(h + 24);
    r->rows = get_u64(h + 40);
    r->index = get_u64(h + 48);
    r->ids = get_u64(h + 56);
    r->projection = get_u64(h + 64);
    /* version 1: no KPI names, no explanations */
    r->kpis = version == 1 ? r->rows : get_u64(h + 80);
    r->explain = version == 1 ? r->size : get_u64(h + 88);
    r->n_kpis = version == 1 ? 0 : get_u32(h + 96);
    if (version == 1)
        r->flags &= ~F_EXPLAIN;
    if (k == 0 || k > MAX_CLASSES || get_u64(h + 72) != r->size ||
        r->n_kpis > MAX_KPIS)
        return damaged(err, "header");
    r->n_classes = (size_t)k;
    return sections_fit(r, get_u64(h + 32)) ? HS_OK : damaged(err, "sections");
}

/* count names stored back to back in [from, to) into *names. */
static hs_status read_names(hs_results *r, uint64_t from, uint64_t to,
                            size_t count, char ***names, const char *what,
                            hs_error *err)
{
    if (to - from > (uint64_t)count * (4 + MAX_NAME))
        return damaged(err, what);
    size_t len = (size_t)(to - from);
    uint8_t *buf = malloc(len ? len : 1);
    *names = calloc(count + 1, sizeof **names);
    hs_status st = buf && *names ? read_at(r, from, buf, len, err)
                                 : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    size_t at = 0;
    for (size_t k = 0; st == HS_OK && k < count; k++) {
        uint32_t n = at + 4 <= len ? get_u32(buf + at) : 0;
        if (at + 4 > len || n > len - at - 4)
            st = damaged(err, what);
        else if (!((*names)[k] = strndup((char *)buf + at + 4, n)))
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
        at += 4 + (size_t)n;
    }
    if (st == HS_OK && at != len)
        st = damaged(err, what);
    free(buf);
    return st;
}

static hs_status read_class_names(hs_results *r, hs_error *err)
{
    hs_status st = read_names(r, r->header, r->kpis, r->n_classes,
                              &r->class_names, "class names", err);
    return st == HS_OK ? read_names(r, r->kpis, r->rows, r->n_kpis,
                                    &r->kpi_names, "KPI names", err)
                       : st;
}

static hs_status convert_legacy(struct hs_blob_store *blobs, const char *key,
                                hs_blob_reader **out, hs_error *err);

hs_status hs_results_open(struct hs_blob_store *blobs, const char *key,
                          hs_results **out, hs_error *err)
{
    *out = NULL;
    hs_results *r = calloc(1, sizeof *r);
    if (!r)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status st = hs_blob_open_read(blobs, key, &r->in, err);
    char first = 0;
    if (st == HS_OK && (r->size = r->in->size) > 0 &&
        (st = read_at(r, 0, &first, 1, err)) == HS_OK && first == '{') {
        hs_blob_reader_close(r->in);
        r->in = NULL;
        st = convert_legacy(blobs, key, &r->in, err);
        r->size = r->in ? r->in->size : 0;
        r->converted = 1;
    }
    if (st == HS_OK && (st = read_header(r, err)) == HS_OK)
        st = read_class_names(r, err);
    if (st != HS_OK) {
        hs_results_close(r);
        return st;
    }
    *out = r;
    return HS_OK;
}

void hs_results_close(hs_results *r)
{
    if (!r)
        return;
    hs_blob_reader_close(r->in);
    for (size_t k = 0; r->class_names && k < r->n_classes; k++)
        free(r->class_names[k]);
    for (size_t j = 0; r->kpi_names && j < r->n_kpis; j++)
        free(r->kpi_names[j]);
    free(r->class_names);
    free(r->kpi_names);
    free(r);
}

int hs_results_converted(const hs_results *r) { return r->converted; }

hs_status hs_results_save(hs_results *r, struct hs_blob_store *blobs,
                          char *key_out, hs_error *err)
{
    uint8_t buf[1 << 16];
    hs_blob_writer *w = NULL;
    hs_status st = hs_blob_writer_open(blobs, "result", 0, &w, err);
    for (uint64_t at = 0; st == HS_OK && at < r->size;) {
        size_t n = r->size - at < sizeof buf ? (size_t)(r->size - at)
                                             : sizeof buf;
        if ((st = read_at(r, at, buf, n, err)) == HS_OK)
            st = hs_blob_write(w, buf, n, err);
        at += n;
    }
    if (st != HS_OK) {
        hs_blob_abort(w);
        return st;
    }
    return hs_blob_commit(w, key_out, NULL, err);
}

size_t hs_results_rows(const hs_results *r) { return r->n_rows; }
size_t hs_results_classes(const hs_results *r) { return r->n_classes; }
char *const *hs_results_class_names(const hs_results *r)
{
    return r->class_names;
}
int hs_results_has_projection(const hs_results *r)
{
    return (r->flags & F_PROJECTION) != 0;
}
unsigned hs_results_explain_flags(const hs_results *r)
{
    return r->flags & F_EXPLAIN;
}
size_t hs_results_kpis(const hs_results *r) { return r->n_kpis; }
char *const *hs_results_kpi_names(const hs_results *r) { return r->kpi_names; }

void hs_results_chunk_free(hs_results_data *c)
{
    if (!c)
        return;
    free((void *)c->proba);
    free((void *)c->predicted);
    free((void *)c->labels);
    for (size_t i = 0; c->sample_ids && i < c->n_rows; i++)
        free(c->sample_ids[i]);
    free((void *)c->sample_ids);
    free((void *)c->xy);
    free((void *)c->explain);
    free((void *)c->abnormal_bits);
    memset(c, 0, sizeof *c);
}

static hs_status read_row_records(hs_results *r, hs_results_data *c,
                                  double *proba, int32_t *pred, int32_t *labels,
                                  hs_error *err)
{
    const size_t rb = row_bytes(r), K = r->n_classes;
    uint8_t *buf = malloc(c->n_rows * rb + 1);
    if (!buf)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status st = read_at(r, r->rows + (uint64_t)c->first * rb, buf,
                           c->n_rows * rb, err);
    for (size_t i = 0; st == HS_OK && i < c->n_rows; i++) {
        const uint8_t *b = buf + i * rb;
        pred[i] = (int32_t)get_u32(b);
        labels[i] = (int32_t)get_u32(b + 4);
        if (pred[i] < 0 || (size_t)pred[i] >= K || labels[i] < -1 ||
            labels[i] >= (int32_t)K)
            st = damaged(err, "row");
        for (size_t k = 0; k < K; k++)
            proba[i * K + k] = get_f64(b + 8 + 8 * k);
    }
    free(buf);
    return st;
}

/* The ids of the chunk's rows: they are stored back to back in row
 * order, so the whole range is one read. */
static hs_status read_ids(hs_results *r, hs_results_data *c, char **ids,
                          hs_error *err)
{
    const uint64_t heap = r->projection - r->ids;
    uint8_t *index = malloc(12 * c->n_rows + 1), *bytes = NULL;
    hs_status st = index ? read_at(r, r->index + 12 * (uint64_t)c->first, index,
                                   12 * c->n_rows, err)
                         : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    uint64_t lo = 0, hi = 0;
    if (st == HS_OK && c->n_rows) {
        lo = get_u64(index);
        hi = get_u64(index + 12 * (c->n_rows - 1)) +
             get_u32(index + 12 * (c->n_rows - 1) + 8);
        if (lo > hi || hi > heap)
            st = damaged(err, "sample ids");
    }
    if (st == HS_OK && !(bytes = malloc((size_t)(hi - lo) + 1)))
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        st = read_at(r, r->ids + lo, bytes, (size_t)(hi - lo), err);
    for (size_t i = 0; st == HS_OK && i < c->n_rows; i++) {
        uint64_t at = get_u64(index + 12 * i), n = get_u32(index + 12 * i + 8);
        if (at < lo || at > hi || n > hi - at)
            st = damaged(err, "sample ids");
        else if (!(ids[i] = strndup((char *)bytes + (at - lo), (size_t)n)))
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    free(index);
    free(bytes);
    return st;
}

static hs_status read_xy(hs_results *r, hs_results_data *c, double *xy,
                         hs_error *err)
{
    uint8_t head[16];
    uint8_t *buf = malloc(16 * c->n_rows + 1);
    hs_status st = buf ? read_at(r, r->projection, head, sizeof head, err)
                       : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK)
        st = read_at(r, r->projection + 16 + 16 * (uint64_t)c->first, buf,
                     16 * c->n_rows, err);
    if (st == HS_OK) {
        c->explained[0] = get_f64(head);
        c->explained[1] = get_f64(head + 8);
    }
    for (size_t i = 0; st == HS_OK && i < 2 * c->n_rows; i++)
        xy[i] = get_f64(buf + 8 * i);
    free(buf);
    return st;
}

/* One explanation record: checked, since the KPI indices index names. */
static int explanation_of(const hs_results *r, const uint8_t *b,
                          hs_row_explanation *e)
{
    for (size_t t = 0; t < HS_RESULTS_TOP; t++) {
        e->top_kpi[t] = get_u32(b + 12 * t);
        e->contribution[t] = get_f64(b + 12 * t + 4);
        e->abnormal_kpi[t] = get_u32(b + 12 * (HS_RESULTS_TOP + t));
        e->z[t] = get_f64(b + 12 * (HS_RESULTS_TOP + t) + 4);
        if ((e->top_kpi[t] != HS_RESULTS_NO_KPI && e->top_kpi[t] >= r->n_kpis) ||
            (e->abnormal_kpi[t] != HS_RESULTS_NO_KPI &&
             e->abnormal_kpi[t] >= r->n_kpis))
            return 0;
    }
    return 1;
}

/* The raw explanation records of rows [first, first + n) into a new
 * buffer (*out, to free). */
static hs_status read_explain_records(hs_results *r, size_t first, size_t n,
                                      uint8_t **out, hs_error *err)
{
    const size_t eb = row_explain_bytes(r);
    *out = malloc(n * eb + 1);
    if (!*out)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    return read_at(r, r->explain + (uint64_t)first * eb, *out, n * eb, err);
}

static hs_status read_explanations(hs_results *r, hs_results_data *c,
                                   hs_error *err)
{
    const size_t eb = row_explain_bytes(r), nb = hs_results_bits_bytes(r->n_kpis);
    uint8_t *buf = NULL;
    hs_row_explanation *ex = malloc((c->n_rows + 1) * sizeof *ex);
    uint8_t *bits = malloc(c->n_rows * nb + 1);
    c->explain = ex;
    c->abnormal_bits = bits;
    hs_status st = ex && bits ? read_explain_records(r, c->first, c->n_rows,
                                                     &buf, err)
                              : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; st == HS_OK && i < c->n_rows; i++) {
        if (!explanation_of(r, buf + i * eb, &ex[i]))
            st = damaged(err, "explanations");
        memcpy(bits + i * nb, buf + i * eb + EXPLAIN_LISTS, nb);
    }
    free(buf);
    return st;
}

hs_status hs_results_read(hs_results *r, size_t first, size_t count,
                          hs_results_data *c, hs_error *err)
{
    memset(c, 0, sizeof *c);
    if (first > r->n_rows)
        first = r->n_rows;
    if (count > r->n_rows - first)
        count = r->n_rows - first;
    c->first = first;
    c->n_rows = count;
    c->n_classes = r->n_classes;
    c->class_names = r->class_names;
    double *proba = malloc((count * r->n_classes + 1) * sizeof *proba);
    int32_t *pred = malloc((count + 1) * sizeof *pred);
    int32_t *labels = malloc((count + 1) * sizeof *labels);
    char **ids = r->flags & F_IDS ? calloc(count + 1, sizeof *ids) : NULL;
    double *xy = r->flags & F_PROJECTION ? malloc((2 * count + 1) * sizeof *xy)
                                         : NULL;
    c->proba = proba;
    c->predicted = pred;
    c->labels = labels;
    c->sample_ids = ids;
    c->xy = xy;
    hs_status st = !proba || !pred || !labels ||
                           (r->flags & F_IDS && !ids) ||
                           (r->flags & F_PROJECTION && !xy)
                       ? hs_fail(err, HS_ERR_NOMEM, "out of memory")
                       : read_row_records(r, c, proba, pred, labels, err);
    if (st == HS_OK && ids)
        st = read_ids(r, c, ids, err);
    if (st == HS_OK && xy)
        st = read_xy(r, c, xy, err);
    c->explain_flags = r->flags & F_EXPLAIN;
    c->n_kpis = r->n_kpis;
    c->kpi_names = r->kpi_names;
    if (st == HS_OK && c->explain_flags)
        st = read_explanations(r, c, err);
    if (st == HS_OK && !(r->flags & F_LABELS)) {
        free(labels);
        c->labels = NULL;
    }
    if (st != HS_OK)
        hs_results_chunk_free(c);
    return st;
}

hs_status hs_results_points(hs_results *r, const size_t *rows, size_t n,
                            double *xy, int32_t *predicted, double *confidence,
                            double explained[2], hs_error *err)
{
    if (!(r->flags & F_PROJECTION))
        return hs_fail(err, HS_ERR_NOTFOUND, "no projection was stored");
    const size_t rb = row_bytes(r);
    uint8_t head[16], *rec = malloc(rb);
    hs_status st = rec ? read_at(r, r->projection, head, sizeof head, err)
                       : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK) {
        explained[0] = get_f64(head);
        explained[1] = get_f64(head + 8);
    }
    for (size_t j = 0; st == HS_OK && j < n; j++) {
        uint8_t p[16];
        size_t i = rows[j];
        if (i >= r->n_rows) {
            st = hs_fail(err, HS_ERR_INVALID, "row %zu out of range", i);
            break;
        }
        st = read_at(r, r->projection + 16 + 16 * (uint64_t)i, p, 16, err);
        if (st == HS_OK)
            st = read_at(r, r->rows + (uint64_t)i * rb, rec, rb, err);
        if (st != HS_OK)
            break;
        xy[2 * j] = get_f64(p);
        xy[2 * j + 1] = get_f64(p + 8);
        predicted[j] = (int32_t)get_u32(rec);
        if (predicted[j] < 0 || (size_t)predicted[j] >= r->n_classes)
            st = damaged(err, "row");
        else
            confidence[j] = get_f64(rec + 8 + 8 * (size_t)predicted[j]);
    }
    free(rec);
    return st;
}

/* ---- filters ------------------------------------------------------------- */

hs_results_filter hs_results_filter_none(void)
{
    return (hs_results_filter){-1, NAN, -1};
}

int hs_results_filter_active(const hs_results_filter *f)
{
    return f->predicted >= 0 || !isnan(f->max_confidence) ||
           f->abnormal_kpi >= 0;
}

hs_status hs_results_match(hs_results *r, const hs_results_filter *f,
                           size_t first, size_t count, uint8_t *match,
                           size_t *scanned, hs_error *err)
{
    *scanned = 0;
    if (first > r->n_rows)
        first = r->n_rows;
    if (count > r->n_rows - first)
        count = r->n_rows - first;
    if (f->predicted >= (int32_t)r->n_classes ||
        (f->abnormal_kpi >= 0 && (!(r->flags & HS_RESULTS_ABNORMAL) ||
                                  (size_t)f->abnormal_kpi >= r->n_kpis)))
        return hs_fail(err, HS_ERR_INVALID,
                       "these results cannot be filtered that way");
    const size_t rb = row_bytes(r), eb = row_explain_bytes(r);
    uint8_t *rows = malloc(count * rb + 1), *ex = NULL;
    hs_status st = rows ? read_at(r, r->rows + (uint64_t)first * rb, rows,
                                  count * rb, err)
                        : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (st == HS_OK && f->abnormal_kpi >= 0)
        st = read_explain_records(r, first, count, &ex, err);
    const size_t byte = EXPLAIN_LISTS + (size_t)(f->abnormal_kpi >= 0
                                                     ? f->abnormal_kpi / 8
                                                     : 0);
    const uint8_t bit = (uint8_t)(1u << (f->abnormal_kpi >= 0
                                             ? f->abnormal_kpi % 8
                                             : 0));
    for (size_t i = 0; st == HS_OK && i < count; i++) {
        const uint8_t *b = rows + i * rb;
        int32_t pred = (int32_t)get_u32(b);
        if (pred < 0 || (size_t)pred >= r->n_classes) {
            st = damaged(err, "row");
            break;
        }
        match[i] = (f->predicted < 0 || pred == f->predicted) &&
                   (isnan(f->max_confidence) ||
                    get_f64(b + 8 + 8 * (size_t)pred) <= f->max_confidence) &&
                   (f->abnormal_kpi < 0 || (ex[i * eb + byte] & bit));
    }
    free(rows);
    free(ex);
    if (st == HS_OK)
        *scanned = count;
    return st;
}

/* ---- results stored before this format ------------------------------------ */

/* The old JSON document: {"classes": [...], "rows": [[id|null, predicted,
 * confidence, [p...], label|-1], ...], "projection": {"explained": [a, b],
 * "points": [[x, y], ...]} | null}. Turned into the arrays of a
 * hs_results_data, then written in the new format to a memory file. */
typedef struct legacy {
    hs_results_data d;
    char **names, **ids;
    double *proba, *xy;
    int32_t *pred, *labels;
} legacy;

static void legacy_free(legacy *l)
{
    for (size_t k = 0; l->names && k < l->d.n_classes; k++)
        free(l->names[k]);
    for (size_t i = 0; l->ids && i < l->d.n_rows; i++)
        free(l->ids[i]);
    free(l->names);
    free(l->ids);
    free(l->proba);
    free(l->xy);
    free(l->pred);
    free(l->labels);
}

static hs_status legacy_row(legacy *l, size_t i, const json_t *row,
                            hs_error *err)
{
    const size_t K = l->d.n_classes;
    const json_t *probs = json_array_get(row, 3);
    json_int_t pred = json_integer_value(json_array_get(row, 1));
    json_int_t label = json_integer_value(json_array_get(row, 4));
    if (json_array_size(probs) != K || pred < 0 || (size_t)pred >= K ||
        label < -1 || label >= (json_int_t)K)
        return damaged(err, "old JSON results");
    l->pred[i] = (int32_t)pred;
    l->labels[i] = (int32_t)label;
    for (size_t k = 0; k < K; k++)
        l->proba[i * K + k] = json_number_value(json_array_get(probs, k));
    const char *id = json_string_value(json_array_get(row, 0));
    if (id && !(l->ids[i] = strdup(id)))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (!id && !(l->ids[i] = strdup("")))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    return HS_OK;
}

static hs_status legacy_parse(legacy *l, const json_t *doc, hs_error *err)
{
    const json_t *classes = json_object_get(doc, "classes");
    const json_t *rows = json_object_get(doc, "rows");
    const json_t *points =
        json_object_get(json_object_get(doc, "projection"), "points");
    const size_t K = json_array_size(classes), n = json_array_size(rows);
    if (!json_is_array(rows) || K == 0 || K > MAX_CLASSES)
        return damaged(err, "old JSON results");
    l->d.n_classes = K;
    l->d.n_rows = n;
    l->names = calloc(K, sizeof *l->names);
    l->ids = calloc(n + 1, sizeof *l->ids);
    l->proba = malloc((n * K + 1) * sizeof *l->proba);
    l->pred = malloc((n + 1) * sizeof *l->pred);
    l->labels = malloc((n + 1) * sizeof *l->labels);
    if (!l->names || !l->ids || !l->proba || !l->pred || !l->labels)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < K; k++) {
        const char *name = json_string_value(json_array_get(classes, k));
        if (!name || !(l->names[k] = strdup(name)))
            return damaged(err, "old JSON results");
    }
    int any_id = 0, any_label = 0;
    for (size_t i = 0; i < n; i++) {
        hs_status st = legacy_row(l, i, json_array_get(rows, i), err);
        if (st != HS_OK)
            return st;
        any_id |= json_is_string(json_array_get(json_array_get(rows, i), 0));
        any_label |= l->labels[i] >= 0;
    }
    if (json_array_size(points) == n && n > 0) {
        const json_t *ex = json_object_get(json_object_get(doc, "projection"),
                                           "explained");
        if (!(l->xy = malloc(2 * n * sizeof *l->xy)))
            return hs_fail(err, HS_ERR_NOMEM, "out of memory");
        for (size_t i = 0; i < 2 * n; i++)
            l->xy[i] = json_number_value(
                json_array_get(json_array_get(points, i / 2), i % 2));
        l->d.explained[0] = json_number_value(json_array_get(ex, 0));
        l->d.explained[1] = json_number_value(json_array_get(ex, 1));
    }
    l->d.class_names = l->names;
    l->d.proba = l->proba;
    l->d.predicted = l->pred;
    l->d.labels = any_label ? l->labels : NULL;
    l->d.sample_ids = any_id ? l->ids : NULL;
    l->d.xy = l->xy;
    return HS_OK;
}

static hs_status fd_sink(void *ctx, const void *buf, size_t len, hs_error *err)
{
    int fd = *(int *)ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const uint8_t *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return hs_fail(err, HS_ERR_IO, "converting old results: %s",
                           strerror(errno));
        done += (size_t)n;
    }
    return HS_OK;
}

static hs_status convert_legacy(struct hs_blob_store *blobs, const char *key,
                                hs_blob_reader **out, hs_error *err)
{
    uint8_t *text = NULL;
    size_t len = 0;
    legacy l;
    memset(&l, 0, sizeof l);
    hs_status st = hs_blob_read_all(blobs, key, &text, &len, (size_t)1 << 31,
                                    err);
    if (st != HS_OK)
        return st;
    json_t *doc = json_loadb((const char *)text, len, 0, NULL);
    free(text);
    st = doc ? legacy_parse(&l, doc, err) : damaged(err, "old JSON results");
    json_decref(doc);
    int fd = st == HS_OK ? memfd_create("healer-results", MFD_CLOEXEC) : -1;
    if (st == HS_OK && fd < 0)
        st = hs_fail(err, HS_ERR_IO, "converting old results: %s",
                     strerror(errno));
    if (st == HS_OK)
        st = write_all(fd_sink, &fd, &l.d, err);
    legacy_free(&l);
    if (st != HS_OK) {
        if (fd >= 0)
            close(fd);
        return st;
    }
    return hs_blob_reader_from_fd(fd, (uint64_t)lseek(fd, 0, SEEK_END),
                                  "converted results", out, err);
}
