/* forest_io.c - a forest's own sections of a model file (both learners).
 *
 *   FOREST_TREES (tag 64, required)  u32 n_classes, u32 n_trees, per tree:
 *       u32 n_nodes, u32 n_leaves, per node (u32 feature, f32 value,
 *       u32 left, f32 gain), f32 proba[n_leaves * n_classes]
 *   FOREST_OOB   (tag 65, optional)  u64 rows, f64 macro_f1, f64 accuracy
 *   FOREST_COVER (tag 66, optional, after FOREST_TREES)  u32 n_trees, per
 *       tree: u32 n_nodes, f32 cover[n_nodes] - the training weight that
 *       reached each node, which explanations (TreeSHAP) integrate over
 *
 * FOREST_COVER came after the first forests were saved: a file without it
 * predicts as before and refuses only to explain (forest_explain.c); an
 * older reader skips it. Its counts must match the trees' and its covers
 * hl__covers_are_sound.
 *
 * No bin table: prediction compares raw values with the float cuts, so the
 * bins are training scratch. Reading never trusts a count (each is checked
 * against the bytes left before anything is allocated) and checks every
 * tree - the shared structural rule (trees/partition.c), every leaf's
 * probability index inside its tree, probabilities in [0, 1], finite
 * gains - so that a file with a forged checksum cannot make prediction
 * loop, read out of bounds or produce NaN. New learners number their
 * sections from 64 (docs/architecture.md); the GBDT keeps its historic 4
 * and 5.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forest.h"

enum { SEC_FOREST_TREES = 64, SEC_FOREST_OOB = 65, SEC_FOREST_COVER = 66 };

/* Bit of a forest section in hl__forest_model.sections_read. */
#define SECTION_BIT(tag) (1u << ((tag)-SEC_FOREST_TREES))

#define HL__MAX_FOREST_TREES (1u << 20)
#define HL__MAX_TREE_NODES (1u << 30)
#define NODE_BYTES 16

/* ---- writing ---- */

static void w_trees(hl__wbuf *w, const hl__forest_model *m)
{
    size_t at = hl__w_section_begin(w, SEC_FOREST_TREES);
    hl__w_u32(w, (uint32_t)m->n_classes);
    hl__w_u32(w, (uint32_t)m->n_trees);
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__ftree *tr = &m->trees[t];
        hl__w_u32(w, tr->n_nodes);
        hl__w_u32(w, tr->n_leaves);
        for (uint32_t i = 0; i < tr->n_nodes; i++) {
            hl__w_u32(w, tr->nodes[i].feature);
            hl__w_f32(w, tr->nodes[i].value);
            hl__w_u32(w, tr->nodes[i].left);
            hl__w_f32(w, tr->gain[i]);
        }
        for (size_t i = 0; i < (size_t)tr->n_leaves * m->n_classes; i++)
            hl__w_f32(w, tr->proba[i]);
    }
    hl__w_section_end(w, at);
}

static void w_oob(hl__wbuf *w, const hl__oob *oob)
{
    size_t at = hl__w_section_begin(w, SEC_FOREST_OOB);
    hl__w_u64(w, oob->rows);
    hl__w_f64(w, oob->macro_f1);
    hl__w_f64(w, oob->accuracy);
    hl__w_section_end(w, at);
}

static void w_cover(hl__wbuf *w, const hl__forest_model *m)
{
    size_t at = hl__w_section_begin(w, SEC_FOREST_COVER);
    hl__w_u32(w, (uint32_t)m->n_trees);
    for (size_t t = 0; t < m->n_trees; t++) {
        const hl__ftree *tr = &m->trees[t];
        hl__w_u32(w, tr->n_nodes);
        for (uint32_t i = 0; i < tr->n_nodes; i++)
            hl__w_f32(w, tr->cover[i]);
    }
    hl__w_section_end(w, at);
}

void hl__forest_write(const void *state, hl__wbuf *w)
{
    const hl__forest_model *m = state;
    w_trees(w, m);
    if (m->oob.has)
        w_oob(w, &m->oob);
    if (m->n_trees > 0 && m->trees[0].cover)
        w_cover(w, m);
}

/* ---- reading ---- */

static hl_status nomem(const hl__io_ctx *io)
{
    return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
}

/* Leaves point inside the tree's probabilities, which are probabilities;
 * gains are finite; the structure is the shared rule's. */
static int tree_is_sound(const hl__ftree *t, size_t K, size_t n_features)
{
    for (uint32_t i = 0; i < t->n_nodes; i++) {
        if (!isfinite(t->gain[i]))
            return 0;
        if (t->nodes[i].feature == HL__LEAF && t->nodes[i].left >= t->n_leaves)
            return 0;
    }
    for (size_t i = 0; i < (size_t)t->n_leaves * K; i++)
        if (!(t->proba[i] >= 0.0f && t->proba[i] <= 1.0f))
            return 0;
    return hl__nodes_are_sound(t->nodes, t->n_nodes, n_features);
}

static hl_status read_tree(hl__rbuf *r, hl__ftree *t, size_t K,
                           size_t n_features, const hl__io_ctx *io)
{
    size_t n = hl__r_count(r, NODE_BYTES, HL__MAX_TREE_NODES);
    uint32_t n_leaves = hl__r_u32(r);
    if (r->failed || n == 0 || n_leaves == 0 || n_leaves > n ||
        !hl__r_need(r, n * NODE_BYTES + (size_t)n_leaves * K * 4))
        return hl__io_corrupt(io, "tree size");
    t->n_nodes = (uint32_t)n;
    t->n_leaves = n_leaves;
    t->nodes = malloc(n * sizeof *t->nodes);
    t->gain = malloc(n * sizeof *t->gain);
    t->proba = malloc((size_t)n_leaves * K * sizeof *t->proba);
    if (!t->nodes || !t->gain || !t->proba)
        return nomem(io);
    for (size_t i = 0; i < n; i++) {
        t->nodes[i].feature = hl__r_u32(r);
        t->nodes[i].value = hl__r_f32(r);
        t->nodes[i].left = hl__r_u32(r);
        t->gain[i] = hl__r_f32(r);
    }
    for (size_t i = 0; i < (size_t)n_leaves * K; i++)
        t->proba[i] = hl__r_f32(r);
    if (r->failed || !tree_is_sound(t, K, n_features))
        return hl__io_corrupt(io, "malformed tree");
    return HL_OK;
}

static hl_status read_trees(hl__forest_model *m, hl__rbuf *r,
                            const hl__model_shape *shape, const hl__io_ctx *io)
{
    const size_t K = hl__r_u32(r);
    if (r->failed || K != shape->n_classes || K < 1 ||
        K > HL__MAX_CLASSES_FOREST)
        return hl__io_corrupt(io, "class count does not match the classes");
    m->n_classes = K;
    /* A tree takes at least its two counts, one node and one leaf. */
    size_t n_trees =
        hl__r_count(r, 8 + NODE_BYTES + 4 * K, HL__MAX_FOREST_TREES);
    if (r->failed || n_trees == 0)
        return hl__io_corrupt(io, "tree count");
    m->trees = calloc(n_trees, sizeof *m->trees);
    if (!m->trees)
        return nomem(io);
    for (size_t t = 0; t < n_trees; t++) {
        m->n_trees = t + 1; /* so that a failure frees what was read */
        hl_status rc = read_tree(r, &m->trees[t], K, shape->n_features, io);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

static hl_status read_oob(hl__forest_model *m, hl__rbuf *r,
                          const hl__io_ctx *io)
{
    hl__oob o = {1, 0, 0.0, 0.0};
    o.rows = hl__r_u64(r); /* one field at a time: file order */
    o.macro_f1 = hl__r_f64(r);
    o.accuracy = hl__r_f64(r);
    if (r->failed || o.rows == 0 || !(o.macro_f1 >= 0.0 && o.macro_f1 <= 1.0) ||
        !(o.accuracy >= 0.0 && o.accuracy <= 1.0))
        return hl__io_corrupt(io, "out-of-bag estimate");
    m->oob = o;
    return HL_OK;
}

/* After FOREST_TREES: one cover per node of every tree read. */
static hl_status read_cover(hl__forest_model *m, hl__rbuf *r,
                            const hl__io_ctx *io)
{
    if (!(m->sections_read & SECTION_BIT(SEC_FOREST_TREES)))
        return hl__io_corrupt(io, "node covers with the trees' section "
                                  "missing before them");
    uint32_t n_trees = hl__r_u32(r);
    if (r->failed || n_trees != m->n_trees)
        return hl__io_corrupt(io, "node covers of another tree count");
    for (size_t t = 0; t < m->n_trees; t++) {
        hl__ftree *tr = &m->trees[t];
        uint32_t n = hl__r_u32(r);
        if (r->failed || n != tr->n_nodes || !hl__r_need(r, (size_t)n * 4))
            return hl__io_corrupt(io, "node covers of another tree size");
        if (!(tr->cover = malloc((size_t)n * sizeof *tr->cover)))
            return nomem(io);
        for (uint32_t i = 0; i < n; i++)
            tr->cover[i] = hl__r_f32(r);
        if (r->failed || !hl__covers_are_sound(tr->nodes, tr->cover, n))
            return hl__io_corrupt(io, "a tree's node covers (training weight "
                                      "per node) are not positive sums of "
                                      "their children's");
    }
    return HL_OK;
}

hl_status hl__forest_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                                  const hl__model_shape *shape,
                                  const hl__io_ctx *io)
{
    if (tag != SEC_FOREST_TREES && tag != SEC_FOREST_OOB &&
        tag != SEC_FOREST_COVER)
        return HL_OK; /* a section of a later revision: skipped */
    if (!f->state && !(f->state = calloc(1, sizeof(hl__forest_model))))
        return nomem(io);
    hl__forest_model *m = f->state;
    if (m->sections_read & SECTION_BIT(tag))
        return hl__io_corrupt(io, "repeated section");
    m->sections_read |= SECTION_BIT(tag);
    m->n_features = shape->n_features;
    if (tag == SEC_FOREST_COVER)
        return read_cover(m, r, io);
    return tag == SEC_FOREST_TREES ? read_trees(m, r, shape, io)
                                   : read_oob(m, r, io);
}

hl_status hl__forest_read_finish(hl__fitted *f, const hl__model_shape *shape,
                                 const hl__io_ctx *io)
{
    hl__forest_model *m = f->state;
    (void)shape;
    if (!m || !(m->sections_read & SECTION_BIT(SEC_FOREST_TREES)))
        return hl__io_corrupt(io, "a required section is missing");
    if (hl__forest_prepare(m) != HL_OK)
        return nomem(io);
    hl__forest_fitted(m, f);
    return HL_OK;
}
