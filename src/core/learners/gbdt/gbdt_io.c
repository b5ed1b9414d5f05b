/* gbdt_io.c - the GBDT's own sections of a model file.
 *
 *   BINS  (tag 4)  u32 n_features, per feature: u32 n_bins, f32 cuts[n_bins -
 * 1] TREES (tag 5)  u32 n_outputs, f64 base_score[n_outputs], u32 n_trees, per
 * tree: u32 n_nodes, per node (u32 feature, f32 value, u32 left, f32 gain, f32
 * cover), u8 split_bin[n_nodes]
 *
 * The tags and layouts are those of format version 1, when the GBDT was the
 * whole engine, so version 1 files load through the same code. Reading
 * never trusts a count (each is checked against the bytes left before any
 * allocation) and checks every tree structurally - children after their
 * parent, features that exist, finite bounded leaf values - so that even a
 * file with a forged checksum cannot make prediction loop, read out of
 * bounds or produce NaN - and its covers (hl__covers_are_sound), which
 * explanations read.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gbdt.h"
#include "internal.h"

enum { SEC_BINS = 4, SEC_TREES = 5 };

/* Far above anything training produces (|value| <= lr * |G| / (H + lambda)),
 * far below what could overflow a sum of 2^26 trees. */
#define HL__MAX_LEAF_VALUE 1e10f

/* ---- writing ---- */

static void w_bins(hl__wbuf *w, const hl__bins *b)
{
    size_t at = hl__w_section_begin(w, SEC_BINS);
    hl__w_u32(w, (uint32_t)b->n_features);
    for (size_t f = 0; f < b->n_features; f++) {
        hl__w_u32(w, b->n_bins[f]);
        for (uint32_t i = 0; i + 1 < b->n_bins[f]; i++)
            hl__w_f32(w, b->cuts[f][i]);
    }
    hl__w_section_end(w, at);
}

static void w_trees(hl__wbuf *w, const hl__gbdt_model *m)
{
    size_t at = hl__w_section_begin(w, SEC_TREES);
    hl__w_u32(w, (uint32_t)m->n_outputs);
    for (size_t k = 0; k < m->n_outputs; k++)
        hl__w_f64(w, m->base_score[k]);
    hl__w_u32(w, (uint32_t)m->n_trees);
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__tree *tr = &m->trees[t];
        hl__w_u32(w, tr->n_nodes);
        for (uint32_t i = 0; i < tr->n_nodes; i++) {
            hl__w_u32(w, tr->nodes[i].feature);
            hl__w_f32(w, tr->nodes[i].value);
            hl__w_u32(w, tr->nodes[i].left);
            hl__w_f32(w, tr->gain[i]);
            hl__w_f32(w, tr->cover[i]);
        }
        hl__w_bytes(w, tr->split_bin, tr->n_nodes);
    }
    hl__w_section_end(w, at);
}

void hl__gbdt_write(const void *state, hl__wbuf *w)
{
    const hl__gbdt_model *m = state;
    w_bins(w, &m->bins);
    w_trees(w, m);
}

/* ---- reading ---- */

static hl_status nomem(const hl__io_ctx *io)
{
    return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
}

static hl_status read_bins(hl__gbdt_model *m, hl__rbuf *r,
                           const hl__model_shape *shape, const hl__io_ctx *io)
{
    hl__bins *b = &m->bins;
    size_t nf = hl__r_count(r, 4, 10000000);
    if (r->failed || nf != shape->n_features)
        return hl__io_corrupt(io, "bin table does not match the features");
    b->n_features = nf;
    b->n_bins = calloc(nf, sizeof *b->n_bins);
    b->offset = calloc(nf, sizeof *b->offset);
    b->cuts = calloc(nf, sizeof *b->cuts);
    if (!b->n_bins || !b->offset || !b->cuts)
        return nomem(io);
    size_t total = 0;
    for (size_t f = 0; f < nf; f++) {
        uint32_t nb = hl__r_u32(r);
        if (r->failed || nb < 1 || nb > 255 ||
            !hl__r_need(r, (size_t)(nb - 1) * 4))
            return hl__io_corrupt(io, "bin table");
        b->n_bins[f] = nb;
        b->offset[f] = (uint32_t)total;
        total += nb + 1;
        b->cuts[f] = malloc(nb * sizeof(float));
        if (!b->cuts[f])
            return nomem(io);
        for (uint32_t i = 0; i + 1 < nb; i++)
            b->cuts[f][i] = hl__r_f32(r);
    }
    b->total = total;
    return HL_OK;
}

/* Bounded leaves keep every score finite (softmax never NaN); the
 * structure is checked by the rule every tree learner shares. */
static int tree_is_sound(const hl__tree *t, size_t n_features)
{
    for (uint32_t i = 0; i < t->n_nodes; i++)
        if (t->nodes[i].feature == HL__LEAF &&
            !(fabsf(t->nodes[i].value) <= HL__MAX_LEAF_VALUE))
            return 0;
    return hl__nodes_are_sound(t->nodes, t->n_nodes, n_features);
}

static hl_status read_tree(hl__rbuf *r, hl__tree *t, size_t n_features,
                           const hl__io_ctx *io)
{
    const size_t node_bytes = 4 * 5 + 1;
    size_t n = hl__r_count(r, node_bytes, 1u << 24);
    if (r->failed || n == 0)
        return hl__io_corrupt(io, "tree size");
    t->n_nodes = (uint32_t)n;
    t->nodes = malloc(n * sizeof *t->nodes);
    t->split_bin = malloc(n);
    t->gain = malloc(n * sizeof *t->gain);
    t->cover = malloc(n * sizeof *t->cover);
    if (!t->nodes || !t->split_bin || !t->gain || !t->cover)
        return nomem(io);
    for (size_t i = 0; i < n; i++) {
        t->nodes[i].feature = hl__r_u32(r);
        t->nodes[i].value = hl__r_f32(r);
        t->nodes[i].left = hl__r_u32(r);
        t->gain[i] = hl__r_f32(r);
        t->cover[i] = hl__r_f32(r);
    }
    hl__r_bytes(r, t->split_bin, n);
    if (r->failed || !tree_is_sound(t, n_features))
        return hl__io_corrupt(io, "malformed tree");
    /* Explanations weigh each branch by its cover: a forged one would
     * make them wrong without anything else failing. */
    if (!hl__covers_are_sound(t->nodes, t->cover, t->n_nodes))
        return hl__io_corrupt(io, "a tree's node covers (training weight per "
                                  "node) are not positive sums of their "
                                  "children's");
    return HL_OK;
}

static hl_status read_trees(hl__gbdt_model *m, hl__rbuf *r,
                            const hl__model_shape *shape, const hl__io_ctx *io)
{
    size_t n_out = hl__r_count(r, 8, 64);
    size_t expect = shape->n_classes == 2 ? 1 : shape->n_classes;
    if (r->failed || n_out != expect)
        return hl__io_corrupt(io, "output count does not match the classes");
    m->n_outputs = n_out;
    m->base_score = malloc(n_out * sizeof *m->base_score);
    if (!m->base_score)
        return nomem(io);
    for (size_t k = 0; k < n_out; k++)
        if (!(fabs(m->base_score[k] = hl__r_f64(r)) <= HL__MAX_LEAF_VALUE))
            return hl__io_corrupt(io, "base score");
    size_t n_trees = hl__r_count(r, 4 + 21, 1u << 26);
    if (r->failed || n_trees % n_out != 0)
        return hl__io_corrupt(io, "tree count");
    m->trees = calloc(n_trees ? n_trees : 1, sizeof *m->trees);
    if (!m->trees)
        return nomem(io);
    for (size_t t = 0; t < n_trees; t++) {
        m->n_trees = t + 1; /* so that a failure frees what was read */
        hl_status rc = read_tree(r, &m->trees[t], shape->n_features, io);
        if (rc != HL_OK)
            return rc;
    }
    m->n_trees = n_trees;
    return HL_OK;
}

hl_status hl__gbdt_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                                const hl__model_shape *shape,
                                const hl__io_ctx *io)
{
    if (tag != SEC_BINS && tag != SEC_TREES)
        return HL_OK; /* a section of a later revision: skipped */
    if (!f->state && !(f->state = calloc(1, sizeof(hl__gbdt_model))))
        return nomem(io);
    hl__gbdt_model *m = f->state;
    if (m->sections_read & (1u << tag))
        return hl__io_corrupt(io, "repeated section");
    m->sections_read |= 1u << tag;
    m->n_features = shape->n_features;
    return tag == SEC_BINS ? read_bins(m, r, shape, io)
                           : read_trees(m, r, shape, io);
}

hl_status hl__gbdt_read_finish(hl__fitted *f, const hl__model_shape *shape,
                               const hl__io_ctx *io)
{
    const unsigned required = 1u << SEC_BINS | 1u << SEC_TREES;
    hl__gbdt_model *m = f->state;
    (void)shape;
    if (!m || (m->sections_read & required) != required)
        return hl__io_corrupt(io, "a required section is missing");
    if (hl__gbdt_prepare(m) != HL_OK)
        return nomem(io);
    f->n_outputs = m->n_outputs;
    f->link = hl__gbdt_link(m->n_outputs);
    f->calibrated = 1;
    f->n_trees = m->n_trees;
    return HL_OK;
}
