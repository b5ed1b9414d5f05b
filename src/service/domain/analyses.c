/* domain/analyses.c - stored root-cause analyses (see analyses.h for the
 * three blobs and the incidents blob's layout). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/analyses.h"
#include "domain/trash.h"
#include "store/store.h"

#define MAGIC "HSRCAIX2"
#define MAGIC_LEN 8
#define HEAD_LEN (MAGIC_LEN + 8)
#define ENTRY_LEN 48

/* Where one incident's parts lie in the incidents blob (analyses.h). */
typedef struct entry {
    uint64_t json_off, json_len; /* the engine's object */
    uint64_t item_off, item_len; /* its item of the list */
    uint64_t keys_off;           /* its id, then its rank-1 node */
    uint32_t id_len, node_len;
} entry;

/* ---- writing ------------------------------------------------------------ */

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* A rank as the list shows it: rank, node, observed, fault, score,
 * onset, path (observed tells an unobserved cause from an observed one
 * without a fault class). */
static json_t *rank_item(const json_t *rank)
{
    static const char *const keys[] = {"rank",  "node",  "observed", "fault",
                                       "score", "onset", "path"};
    json_t *item = json_object();
    for (size_t k = 0; item && k < sizeof keys / sizeof keys[0]; k++) {
        json_t *v = json_object_get(rank, keys[k]);
        json_object_set_new(item, keys[k], v ? json_incref(v) : json_null());
    }
    return item;
}

/* The list's item of an incident object (text[0..len)), as compact JSON
 * text (malloc'ed), without its index (added when read). */
static char *item_text(const char *text, size_t len)
{
    json_t *inc = json_loadb(text, len, 0, NULL);
    json_t *ranks = json_array();
    size_t k;
    json_t *rank;
    json_array_foreach(json_object_get(inc, "ranks"), k, rank)
        json_array_append_new(ranks, rank_item(rank));
    json_t *item =
        json_is_object(inc) && ranks
            ? json_pack("{s:O?, s:O?, s:O?, s:O}", "incident_id",
                        json_object_get(inc, "incident_id"), "observed",
                        json_object_get(inc, "observed"), "abnormal",
                        json_object_get(inc, "abnormal"), "ranks", ranks)
            : NULL;
    char *out =
        item ? json_dumps(item, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(item);
    json_decref(ranks);
    json_decref(inc);
    return out;
}

static void entry_put(unsigned char *p, const entry *e)
{
    put_u64(p, e->json_off);
    put_u64(p + 8, e->json_len);
    put_u64(p + 16, e->item_off);
    put_u64(p + 24, e->item_len);
    put_u64(p + 32, e->keys_off);
    put_u32(p + 40, e->id_len);
    put_u32(p + 44, e->node_len);
}

/* The rank-1 node of incident i ("" when nothing was ranked). */
static const char *first_node(const hl_rca_result *r, const hl_topology *t,
                              size_t i)
{
    const hl_rca_incident *inc = &r->incidents[i];
    return inc->n_causes ? t->nodes[inc->causes[0].node].id : "";
}

/* Appends len bytes to f; 0 on success. */
static int append(FILE *f, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, f) == len ? 0 : -1;
}

/* The incident's object read back from f[off, off + len) (as written). */
static char *read_back(FILE *f, long off, size_t len)
{
    char *buf = malloc(len + 1);
    if (buf && (fseek(f, off, SEEK_SET) != 0 || fread(buf, 1, len, f) != len ||
                fseek(f, 0, SEEK_END) != 0)) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* One incident's object, its list item and its keys at the end of f; its
 * entry filled. The item is made from the object as written, so the
 * list shows what opening the incident shows. */
static hs_status write_incident(FILE *f, const hs_analysis_inputs *in,
                                const hl_rca_result *r, size_t i,
                                unsigned char *out, hs_error *err)
{
    hl_error herr;
    entry e = {0};
    hl_error_clear(&herr);
    long start = ftell(f);
    if (start < 0)
        return hs_fail(err, HS_ERR_IO, "cannot spool the incidents");
    if (hl_rca_write_incident_json(f, r, i, in->topology, in->model, &herr) !=
        HL_OK)
        return hs_fail(err, HS_ERR_IO, "writing incident %zu: %s", i,
                       herr.message);
    long end = ftell(f);
    char *text =
        end > start ? read_back(f, start, (size_t)(end - start)) : NULL;
    char *item = text ? item_text(text, (size_t)(end - start)) : NULL;
    free(text);
    if (!item)
        return hs_fail(err, HS_ERR_IO, "cannot spool incident %zu", i);
    const char *id = r->incidents[i].id;
    const char *node = first_node(r, in->topology, i);
    e.json_off = (uint64_t)start;
    e.json_len = (uint64_t)(end - start);
    e.item_off = (uint64_t)end;
    e.item_len = strlen(item);
    e.keys_off = e.item_off + e.item_len;
    e.id_len = (uint32_t)strlen(id);
    e.node_len = (uint32_t)strlen(node);
    int bad = append(f, item, e.item_len) || append(f, id, e.id_len) ||
              append(f, node, e.node_len);
    free(item);
    if (bad)
        return hs_fail(err, HS_ERR_IO, "cannot spool the incidents");
    entry_put(out, &e);
    return HS_OK;
}

/* The incidents blob: the data first (its offsets become known), then
 * the head and the index over the room left for them. */
static hs_status spool_incidents(FILE *f, const hs_analysis_inputs *in,
                                 const hl_rca_result *r, hs_error *err)
{
    size_t n = r->n_incidents;
    unsigned char *index = calloc(n ? n : 1, ENTRY_LEN);
    unsigned char head[HEAD_LEN];
    if (!index)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status st = fseek(f, (long)(HEAD_LEN + n * ENTRY_LEN), SEEK_SET) == 0
                       ? HS_OK
                       : hs_fail(err, HS_ERR_IO, "cannot spool the incidents");
    for (size_t i = 0; st == HS_OK && i < n; i++)
        st = write_incident(f, in, r, i, index + i * ENTRY_LEN, err);
    memcpy(head, MAGIC, MAGIC_LEN);
    put_u64(head + MAGIC_LEN, (uint64_t)n);
    if (st == HS_OK && (fseek(f, 0, SEEK_SET) != 0 ||
                        fwrite(head, 1, HEAD_LEN, f) != HEAD_LEN ||
                        fwrite(index, ENTRY_LEN, n, f) != n))
        st = hs_fail(err, HS_ERR_IO, "cannot spool the incidents");
    free(index);
    return st;
}

typedef enum blob_part { PART_CSV, PART_JSON, PART_INCIDENTS } blob_part;

/* One of the three blobs through a temporary file (a large result is not
 * held twice in memory). */
static hs_status write_part(hs_app *app, const hs_analysis_inputs *in,
                            const hl_rca_result *r, blob_part part, char *key,
                            hs_error *err)
{
    static const char *const kinds[] = {"rca_ranks", "rca_json",
                                        "rca_incidents"};
    hl_error herr;
    hl_error_clear(&herr);
    FILE *f = tmpfile();
    if (!f)
        return hs_fail(err, HS_ERR_IO, "cannot spool the analysis");
    hs_status st = HS_OK;
    hl_status hst = HL_OK;
    if (part == PART_CSV)
        hst = hl_rca_write_csv(f, r, in->topology, in->model, &herr);
    else if (part == PART_JSON)
        hst = hl_rca_write_json(f, r, in->topology, in->model, &herr);
    else
        st = spool_incidents(f, in, r, err);
    if (hst != HL_OK)
        st = hs_fail(err, HS_ERR_IO, "writing the analysis: %s", herr.message);
    if (st == HS_OK)
        st = hs_blob_put_file(app->blobs, kinds[part], f, key, err);
    fclose(f);
    return st;
}

/* ANALYSIS.summary: the rank-1 faults of the incidents with an abnormal
 * node ("" for an unobserved cause), how many incidents had none (their
 * rank-1 is the least healthy node, which has no fault whatever class the
 * engine names for it) and how many rank-1s are abnormal without a fault
 * class (by their KPIs alone), the mean of abnormal nodes per incident,
 * the mean rank-1 score (null when nothing was ranked). */
static char *summary_text(const hs_analysis_inputs *in, const hl_rca_result *r)
{
    const hl_model_summary *ms = hl_model_summary_get(in->model);
    json_t *faults = json_object();
    double abnormal = 0, score = 0;
    size_t ranked = 0, no_abnormal = 0, unknown = 0;
    for (size_t i = 0; faults && i < r->n_incidents; i++) {
        const hl_rca_incident *inc = &r->incidents[i];
        abnormal += (double)inc->n_abnormal;
        if (!inc->n_causes)
            continue;
        const hl_rca_cause *c = &inc->causes[0];
        score += c->score;
        ranked++;
        if (!inc->n_abnormal) {
            no_abnormal++;
            continue;
        }
        int named = c->fault >= 0 && (size_t)c->fault < ms->n_classes;
        if (c->observed && !named) {
            unknown++;
            continue;
        }
        const char *label = c->observed ? ms->class_names[c->fault] : "";
        json_int_t had = json_integer_value(json_object_get(faults, label));
        json_object_set_new(faults, label, json_integer(had + 1));
    }
    size_t n = r->n_incidents;
    json_t *j = json_pack(
        "{s:o, s:I, s:I, s:o, s:o}", "faults", faults ? faults : json_object(),
        "no_abnormal", (json_int_t)no_abnormal, "unknown_faults",
        (json_int_t)unknown, "mean_abnormal",
        n ? json_real(abnormal / (double)n) : json_null(), "mean_score",
        ranked ? json_real(score / (double)ranked) : json_null());
    char *text =
        j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    json_decref(j);
    return text;
}

static void delete_keys(hs_app *app, hs_analysis_rec *a)
{
    const char *keys[] = {a->csv_blob_key, a->json_blob_key,
                          a->incidents_blob_key};
    for (size_t i = 0; i < 3; i++)
        if (keys[i][0])
            hs_blob_delete(app->blobs, keys[i], NULL);
}

hs_status hs_analyses_store(hs_app *app, const hs_analysis_inputs *in,
                            const hl_rca_result *r, hs_analysis_rec *out,
                            hs_error *err)
{
    memset(out, 0, sizeof *out);
    out->summary_json = summary_text(in, r);
    hs_status st =
        out->summary_json ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    int unknown = 0;
    if (st == HS_OK)
        st = write_part(app, in, r, PART_CSV, out->csv_blob_key, err);
    if (st == HS_OK)
        st = write_part(app, in, r, PART_JSON, out->json_blob_key, err);
    if (st == HS_OK)
        st = write_part(app, in, r, PART_INCIDENTS, out->incidents_blob_key,
                        err);
    if (st == HS_OK) {
        out->owner_id = in->owner_id;
        out->job_id = in->job_id;
        out->model_id = in->model_id;
        out->topology_id = in->topology_id;
        out->dataset_id = in->dataset_id;
        snprintf(out->name, sizeof out->name, "%s", in->name);
        snprintf(out->normal, sizeof out->normal, "%s", in->normal);
        out->top = (int64_t)r->top;
        out->incidents = (int64_t)r->n_incidents;
        out->topology_nodes = (int64_t)in->topology->n_nodes;
        out->created_at = hs_clock_now(app->clock);
        st = hs_store_analysis_create(app->store, out, err);
        /* An outage may have committed it (answer lost): the orphan sweep
         * (orphans.h) removes the blobs only if no record has them. */
        unknown = st == HS_ERR_UNAVAILABLE;
    }
    if (st != HS_OK) {
        if (!unknown)
            delete_keys(app, out);
        hs_analysis_rec_free(out);
    }
    return st;
}

/* ---- reading ------------------------------------------------------------ */

/* The incidents blob opened: its head read and checked. The index is not
 * read whole (48 MB at a million incidents): one incident reads its entry
 * alone, a page or a search reads the index in chunks of INDEX_CHUNK
 * entries (on the stack, twice: the bytes and the entries). */
typedef struct incidents_blob {
    hs_blob_reader *in;
    uint64_t size;
    uint64_t n;
} incidents_blob;

#define INDEX_CHUNK 256 /* entries per read of the index: 12 KiB */

static void blob_close(incidents_blob *b)
{
    hs_blob_reader_close(b->in);
    b->in = NULL;
}

static hs_status read_at(const incidents_blob *b, void *buf, uint64_t len,
                         uint64_t off, hs_error *err)
{
    return hs_blob_read_at(b->in, buf, (size_t)len, off, err);
}

static hs_status corrupt(hs_error *err)
{
    return hs_fail(err, HS_ERR_INTERNAL,
                   "the analysis's incidents are "
                   "damaged");
}

/* 1 when [off, off + len) lies within the blob's data. */
static int within(const incidents_blob *b, uint64_t off, uint64_t len)
{
    uint64_t data = HEAD_LEN + b->n * ENTRY_LEN;
    return off >= data && len <= b->size && off <= b->size - len;
}

/* The entry encoded at p, each part checked to lie within the blob. */
static hs_status entry_decode(const incidents_blob *b, const unsigned char *p,
                              entry *e, hs_error *err)
{
    e->json_off = get_u64(p);
    e->json_len = get_u64(p + 8);
    e->item_off = get_u64(p + 16);
    e->item_len = get_u64(p + 24);
    e->keys_off = get_u64(p + 32);
    e->id_len = get_u32(p + 40);
    e->node_len = get_u32(p + 44);
    if (e->json_len < 2 || e->item_len < 2 || e->id_len > HL_INCIDENT_MAX_ID ||
        e->node_len > HL_TOPOLOGY_MAX_ID ||
        !within(b, e->json_off, e->json_len) ||
        !within(b, e->item_off, e->item_len) ||
        !within(b, e->keys_off, (uint64_t)e->id_len + e->node_len))
        return corrupt(err);
    return HS_OK;
}

/* Entry i (< b->n), read alone: one pread of 48 bytes. */
static hs_status entry_of(const incidents_blob *b, uint64_t i, entry *e,
                          hs_error *err)
{
    unsigned char p[ENTRY_LEN];
    hs_status st = read_at(b, p, ENTRY_LEN, HEAD_LEN + i * ENTRY_LEN, err);
    return st == HS_OK ? entry_decode(b, p, e, err) : st;
}

/* Entries [first, first + count) into e[], count <= INDEX_CHUNK: one
 * pread. */
static hs_status entries_of(const incidents_blob *b, uint64_t first,
                            size_t count, entry *e, hs_error *err)
{
    unsigned char buf[INDEX_CHUNK * ENTRY_LEN];
    hs_status st = read_at(b, buf, (uint64_t)count * ENTRY_LEN,
                           HEAD_LEN + first * ENTRY_LEN, err);
    for (size_t k = 0; st == HS_OK && k < count; k++)
        st = entry_decode(b, buf + k * ENTRY_LEN, &e[k], err);
    return st;
}

static hs_status blob_open(hs_app *app, const hs_analysis_rec *rec,
                           incidents_blob *b, hs_error *err)
{
    unsigned char head[HEAD_LEN];
    memset(b, 0, sizeof *b);
    hs_status st =
        hs_blob_open_read(app->blobs, rec->incidents_blob_key, &b->in, err);
    if (st == HS_OK)
        b->size = b->in->size;
    if (st == HS_OK && b->size < HEAD_LEN)
        st = corrupt(err);
    if (st == HS_OK)
        st = read_at(b, head, HEAD_LEN, 0, err);
    if (st == HS_OK) {
        b->n = get_u64(head + MAGIC_LEN);
        if (memcmp(head, MAGIC, MAGIC_LEN) ||
            b->n > (b->size - HEAD_LEN) / ENTRY_LEN)
            st = corrupt(err);
    }
    if (st != HS_OK)
        blob_close(b);
    return st;
}

/* Bytes [off, off + len) of the blob, NUL-terminated (malloc'ed). */
static hs_status read_text(const incidents_blob *b, uint64_t off, uint64_t len,
                           char **text, hs_error *err)
{
    if (!(*text = malloc((size_t)len + 1)))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    hs_status st = read_at(b, *text, len, off, err);
    if (st != HS_OK) {
        free(*text);
        *text = NULL;
        return st;
    }
    (*text)[len] = '\0';
    return HS_OK;
}

/* 1 when `needle` (lower case) occurs in s[0..len), ignoring case. */
static int contains(const char *s, size_t len, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= len && i <= len - k; i++)
        if (!strncasecmp(s + i, needle, k))
            return 1;
    return 0;
}

/* Whether the incident of entry e matches q: its id or its rank-1 node. */
static hs_status matches(const incidents_blob *b, const entry *e,
                         const char *q, int *yes, hs_error *err)
{
    char buf[HL_INCIDENT_MAX_ID + HL_TOPOLOGY_MAX_ID + 2];
    hs_status st =
        read_at(b, buf, (uint64_t)e->id_len + e->node_len, e->keys_off, err);
    if (st == HS_OK)
        *yes = contains(buf, e->id_len, q) ||
               contains(buf + e->id_len, e->node_len, q);
    return st;
}

/* Incident i (entry e) as an item of the list: its stored item with its
 * index. */
static hs_status list_item(const incidents_blob *b, uint64_t i,
                           const entry *e, json_t **out, hs_error *err)
{
    char *text = NULL;
    hs_status st = read_text(b, e->item_off, e->item_len, &text, err);
    if (st != HS_OK)
        return st;
    json_t *item = json_loadb(text, (size_t)e->item_len, 0, NULL);
    free(text);
    if (!json_is_object(item)) {
        json_decref(item);
        return corrupt(err);
    }
    *out = json_pack("{s:I}", "index", (json_int_t)i); /* first */
    if (*out && json_object_update(*out, item) != 0) {
        json_decref(*out);
        *out = NULL;
    }
    json_decref(item);
    return *out ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

/* Appends to items the incidents [from, to) (to <= b->n), reading the
 * index a chunk at a time. */
static hs_status page_of(const incidents_blob *b, uint64_t from, uint64_t to,
                         json_t *items, hs_error *err)
{
    entry e[INDEX_CHUNK];
    hs_status st = HS_OK;
    for (uint64_t first = from; st == HS_OK && first < to;
         first += INDEX_CHUNK) {
        size_t count =
            (size_t)(to - first < INDEX_CHUNK ? to - first : INDEX_CHUNK);
        st = entries_of(b, first, count, e, err);
        for (size_t k = 0; st == HS_OK && k < count; k++) {
            json_t *item = NULL;
            st = list_item(b, first + k, &e[k], &item, err);
            if (st == HS_OK)
                json_array_append_new(items, item);
        }
    }
    return st;
}

/* Appends to items the page [offset, offset + limit) of the incidents
 * matching q, counting them all into *total; the index read a chunk at a
 * time. */
static hs_status search_of(const incidents_blob *b, const char *q,
                           size_t offset, size_t limit, json_t *items,
                           size_t *total, hs_error *err)
{
    entry e[INDEX_CHUNK];
    hs_status st = HS_OK;
    *total = 0;
    for (uint64_t first = 0; st == HS_OK && first < b->n;
         first += INDEX_CHUNK) {
        size_t count = (size_t)(b->n - first < INDEX_CHUNK ? b->n - first
                                                           : INDEX_CHUNK);
        st = entries_of(b, first, count, e, err);
        for (size_t k = 0; st == HS_OK && k < count; k++) {
            int yes = 0;
            st = matches(b, &e[k], q, &yes, err);
            if (st != HS_OK || !yes)
                continue;
            if (*total >= offset && *total - offset < limit) {
                json_t *item = NULL;
                st = list_item(b, first + k, &e[k], &item, err);
                if (st == HS_OK)
                    json_array_append_new(items, item);
            }
            (*total)++;
        }
    }
    return st;
}

hs_status hs_analyses_incidents(hs_app *app, const hs_analysis_rec *rec,
                                const char *q, size_t offset, size_t limit,
                                json_t **out, hs_error *err)
{
    incidents_blob b;
    *out = NULL;
    hs_status st = blob_open(app, rec, &b, err);
    if (st != HS_OK)
        return st;
    json_t *items = json_array();
    size_t total = (size_t)b.n;
    if (!items)
        st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    else if (q && q[0])
        st = search_of(&b, q, offset, limit, items, &total, err);
    else if (offset < b.n)
        st = page_of(&b, offset,
                     limit < b.n - offset ? offset + limit : b.n, items, err);
    blob_close(&b);
    if (st != HS_OK) {
        json_decref(items);
        return st;
    }
    *out = json_pack("{s:I, s:I, s:I, s:o}", "total", (json_int_t)total,
                     "offset", (json_int_t)offset, "limit", (json_int_t)limit,
                     "items", items);
    return *out ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

hs_status hs_analyses_incident(hs_app *app, const hs_analysis_rec *rec,
                               size_t index, char **text, size_t *len,
                               hs_error *err)
{
    incidents_blob b;
    char *body = NULL;
    size_t n = 0;
    *text = NULL;
    *len = 0;
    hs_status st = blob_open(app, rec, &b, err);
    if (st != HS_OK)
        return st;
    if (index >= b.n)
        st = hs_fail(err, HS_ERR_NOTFOUND,
                     "analysis %lld has %llu incidents: there is no incident "
                     "%zu (they are counted from 0)",
                     (long long)rec->id, (unsigned long long)b.n, index);
    entry e;
    if (st == HS_OK)
        st = entry_of(&b, index, &e, err);
    if (st == HS_OK)
        st = read_text(&b, e.json_off, e.json_len, &body, err);
    n = st == HS_OK ? (size_t)e.json_len : 0;
    uint64_t total = b.n;
    blob_close(&b);
    if (st != HS_OK)
        return st;
    /* The engine's text kept as written (its numbers' decimals), with the
     * two members put in front of its first one. */
    char *open = memchr(body, '{', n);
    if (!open) {
        free(body);
        return corrupt(err);
    }
    char head[64];
    int h = snprintf(head, sizeof head, "{\"index\": %zu, \"total\": %llu",
                     index, (unsigned long long)total);
    const char *rest = open + 1;
    size_t rest_len = n - (size_t)(rest - body);
    const char *p = rest;
    while (p < body + n &&
           (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++;
    int empty = p < body + n && *p == '}';
    *len = (size_t)h + (empty ? 0 : 2) + rest_len;
    if (!(*text = malloc(*len + 1))) {
        free(body);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    memcpy(*text, head, (size_t)h);
    memcpy(*text + h, empty ? "" : ", ", empty ? 0 : 2);
    memcpy(*text + h + (empty ? 0 : 2), rest, rest_len);
    (*text)[*len] = '\0';
    free(body);
    return HS_OK;
}

/* ---- records and the trash ---------------------------------------------- */

hs_status hs_analyses_get(hs_app *app, hs_id id, const hs_user *viewer,
                          hs_analysis_rec *out, hs_error *err)
{
    return hs_store_analysis_get(app->store, id, viewer->id, viewer->is_admin,
                                 out, err);
}

hs_status hs_analyses_list(hs_app *app, const hs_user *viewer,
                           int include_deleted, hs_analysis_rec **items,
                           size_t *n, hs_error *err)
{
    return hs_store_analysis_list(app->store, viewer->id, viewer->is_admin,
                                  include_deleted, items, n, err);
}

static hs_status get_rec(hs_app *app, hs_id id, const hs_user *viewer,
                         void *rec, hs_error *err)
{
    return hs_analyses_get(app, id, viewer, rec, err);
}

static void release_rec(void *rec)
{
    hs_analysis_rec_free(rec);
}

static const hs_trash_kind ANALYSES = {
    .what = "analysis",
    .get = get_rec,
    .release = release_rec,
    .deleted_at_offset = offsetof(hs_analysis_rec, deleted_at),
    .name_offset = offsetof(hs_analysis_rec, name),
    .set_deleted = hs_store_analysis_set_deleted,
    .purge = hs_store_analysis_purge,
};

hs_status hs_analyses_trash(hs_app *app, hs_id id, const hs_user *viewer,
                            const char *client, hs_analysis_rec *out,
                            hs_error *err)
{
    return hs_trash_move(app, &ANALYSES, id, viewer, client, out, err);
}

hs_status hs_analyses_restore(hs_app *app, hs_id id, const hs_user *viewer,
                              const char *client, hs_analysis_rec *out,
                              hs_error *err)
{
    return hs_trash_restore(app, &ANALYSES, id, viewer, client, out, err);
}

hs_status hs_analyses_delete(hs_app *app, hs_id id, const hs_user *viewer,
                             hs_error *err)
{
    char(*keys)[HS_STORE_BLOB_KEY_MAX] = NULL;
    size_t n = 0;
    hs_status st = hs_store_analysis_delete(app->store, id, viewer->id,
                                            viewer->is_admin, &keys, &n, err);
    for (size_t i = 0; st == HS_OK && i < n; i++)
        hs_blob_delete(app->blobs, keys[i], NULL);
    free(keys);
    return st;
}

hs_status hs_analyses_purge(hs_app *app, size_t *purged, hs_error *err)
{
    return hs_trash_purge(app, &ANALYSES, purged, err);
}
