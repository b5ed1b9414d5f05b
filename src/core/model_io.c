/* model_io.c - the model file format: write, read and validate.
 *
 * Layout (all integers little-endian, floats as IEEE-754 bit patterns):
 *
 *   "HLMODEL\x1a"  u32 format_version  u32 section_count  u64 body_length
 *   section*       u32 tag  u32 reserved(0)  u64 length  payload[length]
 *   u32 crc32      over every byte before it
 *
 * Sections are tagged so that a later version can add one and older
 * readers of the same major version skip what they do not know. Reading
 * never trusts a count: each one is checked against the bytes that remain
 * before anything is allocated, and trees are checked structurally (child
 * indices point forward, features exist), so a corrupted file cannot make
 * prediction loop or read out of bounds even if its checksum were forged.
 * Floats are stored bit for bit, which keeps predictions identical after
 * a save/load round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gbdt.h"
#include "internal.h"

static const char HL__MAGIC[8] = {'H', 'L', 'M', 'O', 'D', 'E', 'L', 0x1a};
#define HL__HEADER_BYTES 24
#define HL__MAX_MODEL_BYTES ((uint64_t)4 << 30)
#define HL__MAX_STRING 65536
/* Far above anything training produces (|value| <= lr * |G| / (H + lambda)),
 * far below what could overflow a sum of 2^26 trees. */
#define HL__MAX_LEAF_VALUE 1e10f

enum section_tag {
    SEC_META = 1,
    SEC_FEATURES = 2,
    SEC_CLASSES = 3,
    SEC_BINS = 4,
    SEC_TREES = 5,
    SEC_CURVE = 6,
    SEC_METRICS = 7,
    SEC_IMPORTANCE = 8,
};

/* ---- CRC-32 (IEEE 802.3), table built per call: no global state ---- */

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* ---- writer ---- */

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int failed;
} wbuf;

static void w_bytes(wbuf *w, const void *src, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->failed = 1;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void w_u32(wbuf *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    w_bytes(w, b, 4);
}

static void w_u64(wbuf *w, uint64_t v)
{
    w_u32(w, (uint32_t)v);
    w_u32(w, (uint32_t)(v >> 32));
}

static void w_f32(wbuf *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    w_u32(w, u);
}

static void w_f64(wbuf *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    w_u64(w, u);
}

static void w_str(wbuf *w, const char *s)
{
    size_t n = strlen(s);
    w_u32(w, (uint32_t)n);
    w_bytes(w, s, n);
}

static void w_patch_u64(wbuf *w, size_t at, uint64_t v)
{
    if (w->failed)
        return;
    for (int i = 0; i < 8; i++)
        w->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Sections are written as begin (tag + placeholder length) ... end. */
static size_t w_section_begin(wbuf *w, uint32_t tag)
{
    w_u32(w, tag);
    w_u32(w, 0);
    size_t at = w->len;
    w_u64(w, 0);
    return at;
}

static void w_section_end(wbuf *w, size_t at)
{
    w_patch_u64(w, at, (uint64_t)(w->len - at - 8));
}

static void w_params(wbuf *w, const hl_train_params *p)
{
    w_bytes(w, p->algo, sizeof p->algo);
    w_u32(w, (uint32_t)p->rounds);
    w_f64(w, p->learning_rate);
    w_u32(w, (uint32_t)p->max_depth);
    w_u32(w, (uint32_t)p->max_leaves);
    w_f64(w, p->min_child_weight);
    w_f64(w, p->lambda_l2);
    w_f64(w, p->min_split_gain);
    w_f64(w, p->subsample);
    w_f64(w, p->colsample);
    w_u32(w, (uint32_t)p->max_bins);
    w_f64(w, p->validation_fraction);
    w_u32(w, (uint32_t)p->early_stopping_rounds);
    w_u32(w, (uint32_t)p->class_weight);
    w_u32(w, (uint32_t)p->collapse_duplicates);
    w_u32(w, (uint32_t)p->refit);
    w_u32(w, p->cv_folds);
    w_u64(w, p->seed);
    w_u32(w, (uint32_t)p->threads);
}

static void w_meta(wbuf *w, const hl_model_summary *s)
{
    size_t at = w_section_begin(w, SEC_META);
    w_bytes(w, s->algo, sizeof s->algo);
    w_bytes(w, s->healer_version, sizeof s->healer_version);
    w_u64(w, (uint64_t)s->created_unix);
    w_params(w, &s->params);
    w_u64(w, s->rows_read);
    w_u64(w, s->rows_skipped_no_label);
    w_u64(w, s->duplicate_rows);
    w_u64(w, s->conflicting_duplicates);
    w_u64(w, s->rows_train);
    w_u64(w, s->rows_validation);
    w_u64(w, s->rounds_done);
    w_u64(w, s->best_round);
    w_f64(w, s->train_seconds);
    w_section_end(w, at);
}

static void w_names(wbuf *w, uint32_t tag, char *const *names, size_t n,
                    const uint64_t *counts)
{
    size_t at = w_section_begin(w, tag);
    w_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++)
        w_str(w, names[i]);
    if (counts)
        for (size_t i = 0; i < n; i++)
            w_u64(w, counts[i]);
    w_section_end(w, at);
}

static void w_bins(wbuf *w, const hl__bins *b)
{
    size_t at = w_section_begin(w, SEC_BINS);
    w_u32(w, (uint32_t)b->n_features);
    for (size_t f = 0; f < b->n_features; f++) {
        w_u32(w, b->n_bins[f]);
        for (uint32_t i = 0; i + 1 < b->n_bins[f]; i++)
            w_f32(w, b->cuts[f][i]);
    }
    w_section_end(w, at);
}

static void w_trees(wbuf *w, const hl_model *m)
{
    size_t at = w_section_begin(w, SEC_TREES);
    w_u32(w, (uint32_t)m->n_outputs);
    for (size_t k = 0; k < m->n_outputs; k++)
        w_f64(w, m->base_score[k]);
    w_u32(w, (uint32_t)m->n_trees);
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__tree *tr = &m->trees[t];
        w_u32(w, tr->n_nodes);
        for (uint32_t i = 0; i < tr->n_nodes; i++) {
            w_u32(w, tr->nodes[i].feature);
            w_f32(w, tr->nodes[i].value);
            w_u32(w, tr->nodes[i].left);
            w_f32(w, tr->gain[i]);
            w_f32(w, tr->cover[i]);
        }
        w_bytes(w, tr->split_bin, tr->n_nodes);
    }
    w_section_end(w, at);
}

static void w_curve(wbuf *w, const hl_model_summary *s)
{
    size_t at = w_section_begin(w, SEC_CURVE);
    w_u64(w, s->curve_len);
    for (size_t i = 0; i < s->curve_len; i++)
        w_f64(w, s->curve_train_loss[i]);
    for (size_t i = 0; i < s->curve_len; i++)
        w_f64(w, s->curve_valid_loss[i]);
    w_section_end(w, at);
}

static void w_metrics_body(wbuf *w, const hl_metrics *m)
{
    w_u32(w, (uint32_t)m->n_classes);
    w_u64(w, m->n_samples);
    w_f64(w, m->accuracy);
    w_f64(w, m->macro_precision);
    w_f64(w, m->macro_recall);
    w_f64(w, m->macro_f1);
    w_f64(w, m->weighted_f1);
    w_f64(w, m->log_loss);
    for (size_t k = 0; k < m->n_classes; k++) {
        const hl_class_metrics *c = &m->per_class[k];
        w_f64(w, c->precision);
        w_f64(w, c->recall);
        w_f64(w, c->f1);
        w_u64(w, c->support);
        w_u64(w, c->predicted);
    }
    for (size_t i = 0; i < m->n_classes * m->n_classes; i++)
        w_u64(w, m->confusion[i]);
}

static void w_metrics(wbuf *w, const hl_model_summary *s)
{
    size_t at = w_section_begin(w, SEC_METRICS);
    w_u32(w, (uint32_t)s->has_validation);
    if (s->has_validation)
        w_metrics_body(w, &s->validation);
    w_u32(w, s->cv_folds);
    if (s->cv_folds > 1)
        w_metrics_body(w, &s->cv);
    w_section_end(w, at);
}

static void w_importance(wbuf *w, const hl_model_summary *s)
{
    size_t at = w_section_begin(w, SEC_IMPORTANCE);
    w_u32(w, (uint32_t)s->n_features);
    for (size_t f = 0; f < s->n_features; f++)
        w_f64(w, s->importance_gain[f]);
    for (size_t f = 0; f < s->n_features; f++)
        w_u32(w, s->importance_splits[f]);
    w_section_end(w, at);
}

hl_status hl_model_serialize(const hl_model *m, uint8_t **buf, size_t *len,
                             hl_error *err)
{
    const hl_model_summary *s = &m->summary;
    wbuf w = {0};
    w_bytes(&w, HL__MAGIC, sizeof HL__MAGIC);
    w_u32(&w, HL_MODEL_FORMAT_VERSION);
    w_u32(&w, 8);
    size_t body_len_at = w.len;
    w_u64(&w, 0);
    w_meta(&w, s);
    w_names(&w, SEC_FEATURES, s->feature_names, s->n_features, NULL);
    w_names(&w, SEC_CLASSES, s->class_names, s->n_classes, s->class_counts);
    w_bins(&w, &m->bins);
    w_trees(&w, m);
    w_curve(&w, s);
    w_metrics(&w, s);
    w_importance(&w, s);
    w_patch_u64(&w, body_len_at, (uint64_t)(w.len - HL__HEADER_BYTES));
    if (!w.failed)
        w_u32(&w, crc32_ieee(w.p, w.len));
    if (w.failed) {
        free(w.p);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory writing the model");
    }
    *buf = w.p;
    *len = w.len;
    return HL_OK;
}

/* ---- reader ---- */

typedef struct rbuf {
    const uint8_t *p;
    size_t len, pos;
    int failed; /* set once a read would pass the end */
} rbuf;

static int r_need(rbuf *r, size_t n)
{
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        return 0;
    }
    return 1;
}

static void r_bytes(rbuf *r, void *dst, size_t n)
{
    if (!r_need(r, n)) {
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
}

static uint32_t r_u32(rbuf *r)
{
    uint8_t b[4];
    r_bytes(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

static uint64_t r_u64(rbuf *r)
{
    uint64_t lo = r_u32(r);
    return lo | (uint64_t)r_u32(r) << 32;
}

static float r_f32(rbuf *r)
{
    uint32_t u = r_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static double r_f64(rbuf *r)
{
    uint64_t u = r_u64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

/* A count of items of at least item_bytes each that must fit in what is
 * left; 0 with r->failed set otherwise. */
static size_t r_count(rbuf *r, size_t item_bytes, size_t max)
{
    uint32_t n = r_u32(r);
    if (r->failed || n > max ||
        (item_bytes && (uint64_t)n * item_bytes > r->len - r->pos)) {
        r->failed = 1;
        return 0;
    }
    return n;
}

static char *r_str(rbuf *r)
{
    size_t n = r_count(r, 1, HL__MAX_STRING);
    if (r->failed || !r_need(r, n))
        return NULL;
    char *s = malloc(n + 1);
    if (!s) {
        r->failed = 1;
        return NULL;
    }
    memcpy(s, r->p + r->pos, n);
    s[n] = '\0';
    r->pos += n;
    if (strlen(s) != n) { /* embedded NUL: not a name we wrote */
        free(s);
        r->failed = 1;
        return NULL;
    }
    return s;
}

typedef struct loader {
    const char *name; /* for messages */
    hl_error *err;
    hl_model *m;
    unsigned seen;    /* bit per section tag */
} loader;

static hl_status corrupt(loader *ld, const char *what)
{
    return hl__fail(ld->err, HL_ERR_FORMAT,
                    "%s: corrupted model file (%s)", ld->name, what);
}

static void r_params(rbuf *r, hl_train_params *p)
{
    r_bytes(r, p->algo, sizeof p->algo);
    p->algo[sizeof p->algo - 1] = '\0';
    p->rounds = (int)r_u32(r);
    p->learning_rate = r_f64(r);
    p->max_depth = (int)r_u32(r);
    p->max_leaves = (int)r_u32(r);
    p->min_child_weight = r_f64(r);
    p->lambda_l2 = r_f64(r);
    p->min_split_gain = r_f64(r);
    p->subsample = r_f64(r);
    p->colsample = r_f64(r);
    p->max_bins = (int)r_u32(r);
    p->validation_fraction = r_f64(r);
    p->early_stopping_rounds = (int)r_u32(r);
    p->class_weight = (hl_class_weight)r_u32(r);
    p->collapse_duplicates = (int)r_u32(r);
    p->refit = (int)r_u32(r);
    p->cv_folds = r_u32(r);
    p->seed = r_u64(r);
    p->threads = (int)r_u32(r);
}

static hl_status read_meta(loader *ld, rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    r_bytes(r, s->algo, sizeof s->algo);
    s->algo[sizeof s->algo - 1] = '\0';
    r_bytes(r, s->healer_version, sizeof s->healer_version);
    s->healer_version[sizeof s->healer_version - 1] = '\0';
    s->created_unix = (int64_t)r_u64(r);
    r_params(r, &s->params);
    s->rows_read = r_u64(r);
    s->rows_skipped_no_label = r_u64(r);
    s->duplicate_rows = r_u64(r);
    s->conflicting_duplicates = r_u64(r);
    s->rows_train = r_u64(r);
    s->rows_validation = r_u64(r);
    s->rounds_done = r_u64(r);
    s->best_round = r_u64(r);
    s->train_seconds = r_f64(r);
    if (r->failed)
        return corrupt(ld, "metadata section too short");
    if (strcmp(s->algo, "gbdt") != 0)
        return hl__fail(ld->err, HL_ERR_FORMAT,
                        "%s: unknown algorithm '%s' in model file", ld->name,
                        s->algo);
    return HL_OK;
}

static hl_status read_names(loader *ld, rbuf *r, char ***names, size_t *n_out,
                            size_t max, const char *what)
{
    size_t n = r_count(r, 4, max);
    if (r->failed || n == 0)
        return corrupt(ld, what);
    char **v = calloc(n, sizeof *v);
    if (!v)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    *names = v;
    *n_out = n;
    for (size_t i = 0; i < n; i++)
        if (!(v[i] = r_str(r)))
            return corrupt(ld, what);
    return HL_OK;
}

static hl_status read_classes(loader *ld, rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    hl_status rc = read_names(ld, r, &s->class_names, &s->n_classes, 64,
                              "class table");
    if (rc != HL_OK)
        return rc;
    if (s->n_classes < 2)
        return corrupt(ld, "fewer than two classes");
    s->class_counts = calloc(s->n_classes, sizeof *s->class_counts);
    if (!s->class_counts)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < s->n_classes; k++)
        s->class_counts[k] = r_u64(r);
    return r->failed ? corrupt(ld, "class counts") : HL_OK;
}

static hl_status read_bins(loader *ld, rbuf *r)
{
    hl__bins *b = &ld->m->bins;
    size_t nf = r_count(r, 4, 10000000);
    if (r->failed || nf != ld->m->summary.n_features)
        return corrupt(ld, "bin table does not match the features");
    b->n_features = nf;
    b->n_bins = calloc(nf, sizeof *b->n_bins);
    b->offset = calloc(nf, sizeof *b->offset);
    b->cuts = calloc(nf, sizeof *b->cuts);
    if (!b->n_bins || !b->offset || !b->cuts)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    size_t total = 0;
    for (size_t f = 0; f < nf; f++) {
        uint32_t nb = r_u32(r);
        if (r->failed || nb < 1 || nb > 255 ||
            !r_need(r, (size_t)(nb - 1) * 4))
            return corrupt(ld, "bin table");
        b->n_bins[f] = nb;
        b->offset[f] = (uint32_t)total;
        total += nb + 1;
        b->cuts[f] = malloc(nb * sizeof(float));
        if (!b->cuts[f])
            return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
        for (uint32_t i = 0; i + 1 < nb; i++)
            b->cuts[f][i] = r_f32(r);
    }
    b->total = total;
    return HL_OK;
}

/* Children after their parent, inside the tree, features in range: then
 * every path ends at a leaf within n_nodes steps. */
static int tree_is_sound(const hl__tree *t, size_t n_features)
{
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        const hl__node *nd = &t->nodes[i];
        if (nd->feature == HL__LEAF) {
            /* Bounded leaves keep every score finite: softmax never NaN. */
            if (!(fabsf(nd->value) <= HL__MAX_LEAF_VALUE))
                return 0;
            continue;
        }
        if ((nd->feature & HL__FEATURE_MASK) >= n_features)
            return 0;
        if (nd->left <= i || nd->left >= t->n_nodes - 1 || isnan(nd->value))
            return 0;
    }
    return t->n_nodes > 0;
}

static hl_status read_tree(loader *ld, rbuf *r, hl__tree *t)
{
    const size_t node_bytes = 4 * 5 + 1;
    size_t n = r_count(r, node_bytes, 1u << 24);
    if (r->failed || n == 0)
        return corrupt(ld, "tree size");
    t->n_nodes = (uint32_t)n;
    t->nodes = malloc(n * sizeof *t->nodes);
    t->split_bin = malloc(n);
    t->gain = malloc(n * sizeof *t->gain);
    t->cover = malloc(n * sizeof *t->cover);
    if (!t->nodes || !t->split_bin || !t->gain || !t->cover)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        t->nodes[i].feature = r_u32(r);
        t->nodes[i].value = r_f32(r);
        t->nodes[i].left = r_u32(r);
        t->gain[i] = r_f32(r);
        t->cover[i] = r_f32(r);
    }
    r_bytes(r, t->split_bin, n);
    if (r->failed || !tree_is_sound(t, ld->m->summary.n_features))
        return corrupt(ld, "malformed tree");
    return HL_OK;
}

static hl_status read_trees(loader *ld, rbuf *r)
{
    hl_model *m = ld->m;
    size_t n_out = r_count(r, 8, 64);
    size_t expect = m->summary.n_classes == 2 ? 1 : m->summary.n_classes;
    if (r->failed || n_out != expect)
        return corrupt(ld, "output count does not match the classes");
    m->n_outputs = n_out;
    m->base_score = malloc(n_out * sizeof *m->base_score);
    if (!m->base_score)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n_out; k++)
        if (!(fabs(m->base_score[k] = r_f64(r)) <= HL__MAX_LEAF_VALUE))
            return corrupt(ld, "base score");
    size_t n_trees = r_count(r, 4 + 21, 1u << 26);
    if (r->failed || n_trees % n_out != 0)
        return corrupt(ld, "tree count");
    m->trees = calloc(n_trees ? n_trees : 1, sizeof *m->trees);
    if (!m->trees)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    for (size_t t = 0; t < n_trees; t++) {
        m->n_trees = t + 1; /* so that a failure frees what was read */
        hl_status rc = read_tree(ld, r, &m->trees[t]);
        if (rc != HL_OK)
            return rc;
    }
    m->n_trees = n_trees;
    return HL_OK;
}

static hl_status read_curve(loader *ld, rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    uint64_t n = r_u64(r);
    if (r->failed || n > (r->len - r->pos) / 16)
        return corrupt(ld, "training curve");
    s->curve_len = (size_t)n;
    s->curve_train_loss = malloc((n + 1) * sizeof(double));
    s->curve_valid_loss = malloc((n + 1) * sizeof(double));
    if (!s->curve_train_loss || !s->curve_valid_loss)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s->curve_train_loss[i] = r_f64(r);
    for (size_t i = 0; i < n; i++)
        s->curve_valid_loss[i] = r_f64(r);
    return r->failed ? corrupt(ld, "training curve") : HL_OK;
}

static hl_status read_metrics_body(loader *ld, rbuf *r, hl_metrics *m)
{
    size_t K = r_count(r, 0, 64);
    if (r->failed || K != ld->m->summary.n_classes ||
        !r_need(r, 8 + 6 * 8 + K * 40 + K * K * 8))
        return corrupt(ld, "metrics");
    m->n_classes = K;
    m->n_samples = r_u64(r);
    m->accuracy = r_f64(r);
    m->macro_precision = r_f64(r);
    m->macro_recall = r_f64(r);
    m->macro_f1 = r_f64(r);
    m->weighted_f1 = r_f64(r);
    m->log_loss = r_f64(r);
    m->per_class = calloc(K, sizeof *m->per_class);
    m->confusion = calloc(K * K, sizeof *m->confusion);
    if (!m->per_class || !m->confusion)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < K; k++) {
        hl_class_metrics *c = &m->per_class[k];
        c->precision = r_f64(r);
        c->recall = r_f64(r);
        c->f1 = r_f64(r);
        c->support = r_u64(r);
        c->predicted = r_u64(r);
    }
    for (size_t i = 0; i < K * K; i++)
        m->confusion[i] = r_u64(r);
    return r->failed ? corrupt(ld, "metrics") : HL_OK;
}

static hl_status read_metrics(loader *ld, rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    hl_status rc;
    s->has_validation = r_u32(r) != 0;
    if (s->has_validation &&
        (rc = read_metrics_body(ld, r, &s->validation)) != HL_OK)
        return rc;
    s->cv_folds = r_u32(r);
    if (r->failed)
        return corrupt(ld, "metrics");
    if (s->cv_folds > 1 && (rc = read_metrics_body(ld, r, &s->cv)) != HL_OK)
        return rc;
    return HL_OK;
}

static hl_status read_importance(loader *ld, rbuf *r)
{
    hl_model_summary *s = &ld->m->summary;
    size_t nf = r_count(r, 12, 10000000);
    if (r->failed || nf != s->n_features)
        return corrupt(ld, "feature importance");
    s->importance_gain = calloc(nf, sizeof *s->importance_gain);
    s->importance_splits = calloc(nf, sizeof *s->importance_splits);
    if (!s->importance_gain || !s->importance_splits)
        return hl__fail(ld->err, HL_ERR_NOMEM, "out of memory");
    for (size_t f = 0; f < nf; f++)
        s->importance_gain[f] = r_f64(r);
    for (size_t f = 0; f < nf; f++)
        s->importance_splits[f] = r_u32(r);
    return r->failed ? corrupt(ld, "feature importance") : HL_OK;
}

static hl_status read_section(loader *ld, uint32_t tag, rbuf *r)
{
    /* Order matters: names before the tables sized by them. */
    static const unsigned needs[] = {
        [SEC_META] = 0,
        [SEC_FEATURES] = 1u << SEC_META,
        [SEC_CLASSES] = 1u << SEC_META,
        [SEC_BINS] = 1u << SEC_FEATURES,
        [SEC_TREES] = 1u << SEC_FEATURES | 1u << SEC_CLASSES,
        [SEC_CURVE] = 1u << SEC_META,
        [SEC_METRICS] = 1u << SEC_CLASSES,
        [SEC_IMPORTANCE] = 1u << SEC_FEATURES,
    };
    if (tag >= sizeof needs / sizeof needs[0] || tag == 0)
        return HL_OK; /* a section from a later minor revision: skip it */
    if (ld->seen & (1u << tag))
        return corrupt(ld, "repeated section");
    if ((ld->seen & needs[tag]) != needs[tag])
        return corrupt(ld, "sections out of order");
    ld->seen |= 1u << tag;
    hl_model_summary *s = &ld->m->summary;
    switch (tag) {
    case SEC_META: return read_meta(ld, r);
    case SEC_FEATURES:
        return read_names(ld, r, &s->feature_names, &s->n_features, 10000000,
                          "feature names");
    case SEC_CLASSES: return read_classes(ld, r);
    case SEC_BINS: return read_bins(ld, r);
    case SEC_TREES: return read_trees(ld, r);
    case SEC_CURVE: return read_curve(ld, r);
    case SEC_METRICS: return read_metrics(ld, r);
    case SEC_IMPORTANCE: return read_importance(ld, r);
    }
    return HL_OK;
}

static hl_status check_header(loader *ld, const uint8_t *buf, size_t len)
{
    if (len < HL__HEADER_BYTES || memcmp(buf, HL__MAGIC, sizeof HL__MAGIC) != 0)
        return hl__fail(ld->err, HL_ERR_FORMAT,
                        "%s: not a SystemHealer model file (bad magic)",
                        ld->name);
    rbuf h = {buf, len, 8, 0};
    uint32_t version = r_u32(&h);
    (void)r_u32(&h); /* section count: informational */
    uint64_t body = r_u64(&h);
    if (version == 0)
        return corrupt(ld, "format version 0");
    if (version > HL_MODEL_FORMAT_VERSION)
        return hl__fail(ld->err, HL_ERR_VERSION,
                        "%s: model file format version %u is newer than this "
                        "healer %s supports (version %u); upgrade healer",
                        ld->name, version, hl_version(),
                        HL_MODEL_FORMAT_VERSION);
    if (body != len - HL__HEADER_BYTES - 4 || len < HL__HEADER_BYTES + 4)
        return hl__fail(ld->err, HL_ERR_FORMAT,
                        "%s: model file is truncated or has trailing bytes "
                        "(%zu bytes, header says %llu)",
                        ld->name, len,
                        (unsigned long long)(body + HL__HEADER_BYTES + 4));
    rbuf t = {buf, len, len - 4, 0};
    uint32_t stored = r_u32(&t);
    if (crc32_ieee(buf, len - 4) != stored)
        return hl__fail(ld->err, HL_ERR_FORMAT,
                        "%s: model file checksum mismatch (the file is "
                        "corrupted)",
                        ld->name);
    return HL_OK;
}

hl_status hl_model_deserialize(const uint8_t *buf, size_t len, const char *name,
                               hl_model **out, hl_error *err)
{
    *out = NULL;
    loader ld = {name ? name : "<model>", err, NULL, 0};
    hl_status rc = check_header(&ld, buf, len);
    if (rc != HL_OK)
        return rc;
    if (!(ld.m = hl__model_alloc()))
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    rbuf r = {buf, len - 4, HL__HEADER_BYTES, 0};
    while (r.pos < r.len) {
        uint32_t tag = r_u32(&r);
        (void)r_u32(&r);
        uint64_t n = r_u64(&r);
        if (r.failed || n > r.len - r.pos) {
            rc = corrupt(&ld, "section length");
            goto fail;
        }
        rbuf sec = {buf + r.pos, (size_t)n, 0, 0};
        if ((rc = read_section(&ld, tag, &sec)) != HL_OK)
            goto fail;
        r.pos += (size_t)n;
    }
    const unsigned required = 1u << SEC_META | 1u << SEC_FEATURES |
                              1u << SEC_CLASSES | 1u << SEC_BINS |
                              1u << SEC_TREES | 1u << SEC_CURVE |
                              1u << SEC_METRICS | 1u << SEC_IMPORTANCE;
    if ((ld.seen & required) != required) {
        rc = corrupt(&ld, "a required section is missing");
        goto fail;
    }
    ld.m->summary.n_trees = ld.m->n_trees;
    if (hl__model_prepare(ld.m) != HL_OK) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto fail;
    }
    *out = ld.m;
    return HL_OK;
fail:
    hl_model_free(ld.m);
    return rc;
}

/* ---- files ---- */

hl_status hl_model_save(const hl_model *m, const char *path, hl_error *err)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    hl_status rc = hl_model_serialize(m, &buf, &len, err);
    if (rc != HL_OK)
        return rc;
    hl__atomic_file af;
    if ((rc = hl__atomic_open(&af, path, err)) == HL_OK) {
        if (fwrite(buf, 1, len, af.f) == len)
            rc = hl__atomic_commit(&af, err);
        else {
            rc = hl__fail_io(err, path, "cannot write the file", errno);
            hl__atomic_abort(&af);
        }
    }
    free(buf);
    return rc;
}

hl_status hl_model_load(const char *path, hl_model **out, hl_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return hl__fail_io(err, path, "cannot open the model file", errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return hl__fail(err, HL_ERR_IO, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > HL__MAX_MODEL_BYTES) {
        close(fd);
        return hl__fail(err, HL_ERR_LIMIT, "%s: model file larger than 4 GiB",
                        path);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < len) {
        ssize_t k = read(fd, buf + got, len - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    hl_status rc = got == len
                       ? hl_model_deserialize(buf, len, path, out, err)
                       : hl__fail(err, HL_ERR_IO, "%s: read failed", path);
    free(buf);
    return rc;
}
