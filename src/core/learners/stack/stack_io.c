/* stack_io.c - the stack's own sections of a model file.
 *
 *   STACK (64)   u32 combiner, u32 n_members, u32 n_weights, f64
 *                weights[n_weights] (0 for a vote; else n_classes x
 *                (n_members x n_classes + 1)), u64 oof_rows, f64
 *                oof_macro_f1, f64 oof_accuracy
 *   MEMBER (65)  once per member, in order: str algo, f64 oof_macro_f1,
 *                then that member's own sections, whole, as its learner
 *                writes them (tag, reserved, length, payload)
 *
 * A member's sections are nested inside MEMBER rather than placed beside
 * the stack's: every learner numbers its tags from 64, so side by side
 * they would collide. Reading trusts nothing: counts against the bytes
 * left, members only learners of this build (found through the io
 * context's registry), each member checked by its own reader, weights
 * finite, every member present.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

enum { SEC_STACK = 64, SEC_MEMBER = 65 };
#define SECTION_BIT(tag) (1u << ((tag)-64))
/* A weight beyond this was not fitted: the inputs are log-probabilities
 * of at least log(1e-4) and the penalty keeps weights near the vote's. */
#define MAX_WEIGHT 1e6

static hl_status nomem(const hl__io_ctx *io)
{
    return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
}

void hl__stack_write(const void *state, hl__wbuf *w)
{
    const hl__stack_model *m = state;
    const size_t n_weights = m->combiner == HL__COMBINE_LOGISTIC
                                 ? m->n_classes * hl__stack_row_width(m)
                                 : 0;
    size_t at = hl__w_section_begin(w, SEC_STACK);
    hl__w_u32(w, (uint32_t)m->combiner);
    hl__w_u32(w, (uint32_t)m->n_members);
    hl__w_u32(w, (uint32_t)n_weights);
    for (size_t i = 0; i < n_weights; i++)
        hl__w_f64(w, m->weights[i]);
    hl__w_u64(w, m->oof_rows);
    hl__w_f64(w, m->oof_macro_f1);
    hl__w_f64(w, m->oof_accuracy);
    hl__w_section_end(w, at);
    for (size_t i = 0; i < m->n_members; i++) {
        const hl__stack_member *mb = &m->member[i];
        at = hl__w_section_begin(w, SEC_MEMBER);
        hl__w_str(w, mb->learner->info.name);
        hl__w_f64(w, m->report[i].oof_macro_f1);
        mb->learner->write(mb->fitted.state, w);
        hl__w_section_end(w, at);
    }
}

static hl_status read_stack(hl__stack_model *m, hl__rbuf *r,
                            const hl__model_shape *shape, const hl__io_ctx *io)
{
    m->combiner = (int)hl__r_u32(r);
    uint32_t n_members = hl__r_u32(r);
    if (r->failed ||
        (m->combiner != HL__COMBINE_LOGISTIC &&
         m->combiner != HL__COMBINE_VOTE) ||
        n_members < 1 || n_members > HL__STACK_MAX_MEMBERS)
        return hl__io_corrupt(io, "stack header");
    m->n_members = n_members;
    m->n_features = shape->n_features;
    m->n_classes = shape->n_classes;
    const size_t want = m->combiner == HL__COMBINE_LOGISTIC
                            ? m->n_classes * hl__stack_row_width(m)
                            : 0;
    size_t n_weights = hl__r_count(r, 8, 1u << 20);
    if (r->failed || n_weights != want)
        return hl__io_corrupt(io, "stack weights");
    if (n_weights && !(m->weights = malloc(n_weights * sizeof *m->weights)))
        return nomem(io);
    for (size_t i = 0; i < n_weights; i++) {
        m->weights[i] = hl__r_f64(r);
        if (!(fabs(m->weights[i]) <= MAX_WEIGHT))
            return hl__io_corrupt(io, "stack weights");
    }
    m->oof_rows = hl__r_u64(r);
    m->oof_macro_f1 = hl__r_f64(r);
    m->oof_accuracy = hl__r_f64(r);
    if (r->failed || !(m->oof_macro_f1 >= 0 && m->oof_macro_f1 <= 1) ||
        !(m->oof_accuracy >= 0 && m->oof_accuracy <= 1))
        return hl__io_corrupt(io, "stack out-of-fold estimate");
    m->members_expected = n_members;
    m->n_members = 0; /* counted as they are read */
    return HL_OK;
}

/* The member's own sections, nested in what is left of r. */
static hl_status read_member_sections(hl__stack_member *mb, hl__rbuf *r,
                                      const hl__model_shape *shape,
                                      const hl__io_ctx *io)
{
    while (r->pos < r->len) {
        uint32_t tag = hl__r_u32(r);
        (void)hl__r_u32(r);
        uint64_t n = hl__r_u64(r);
        if (r->failed || n > r->len - r->pos)
            return hl__io_corrupt(io, "stack member section length");
        hl__rbuf sec = {r->p + r->pos, (size_t)n, 0, 0};
        hl_status rc =
            mb->learner->read_section(&mb->fitted, tag, &sec, shape, io);
        if (rc != HL_OK)
            return rc;
        r->pos += (size_t)n;
    }
    return mb->learner->read_finish(&mb->fitted, shape, io);
}

static hl_status read_member(hl__stack_model *m, hl__rbuf *r,
                             const hl__model_shape *shape, const hl__io_ctx *io)
{
    char *algo = hl__r_str(r);
    double oof = hl__r_f64(r);
    const hl__learner *l = algo && io->find ? io->find(algo) : NULL;
    hl_status rc = HL_OK;
    if (r->failed || !algo || m->n_members >= m->members_expected ||
        !(oof >= 0 && oof <= 1))
        rc = hl__io_corrupt(io, "stack member");
    else if (!l || !l->fit || l->read_section == hl__stack_read_section)
        rc = hl__fail(io->err, HL_ERR_FORMAT,
                      "%s: stack member '%.32s' is not a learner a stack can "
                      "hold",
                      io->name, algo);
    if (rc == HL_OK) {
        size_t i = m->n_members++;
        m->member[i].learner = l;
        snprintf(m->report[i].algo, sizeof m->report[i].algo, "%s",
                 l->info.name);
        m->report[i].oof_macro_f1 = oof;
        rc = read_member_sections(&m->member[i], r, shape, io);
        if (rc == HL_OK && m->member[i].fitted.n_outputs == 0)
            rc = hl__io_corrupt(io, "stack member without outputs");
    }
    free(algo);
    return rc;
}

hl_status hl__stack_read_section(hl__fitted *f, uint32_t tag, hl__rbuf *r,
                                 const hl__model_shape *shape,
                                 const hl__io_ctx *io)
{
    if (tag != SEC_STACK && tag != SEC_MEMBER)
        return HL_OK; /* a section of a later revision: skipped */
    if (!f->state && !(f->state = calloc(1, sizeof(hl__stack_model))))
        return nomem(io);
    hl__stack_model *m = f->state;
    if (tag == SEC_STACK) {
        if (m->sections_read & SECTION_BIT(SEC_STACK))
            return hl__io_corrupt(io, "repeated section");
        m->sections_read |= SECTION_BIT(SEC_STACK);
        return read_stack(m, r, shape, io);
    }
    if (!(m->sections_read & SECTION_BIT(SEC_STACK)))
        return hl__io_corrupt(io, "stack member before the stack");
    return read_member(m, r, shape, io);
}

hl_status hl__stack_read_finish(hl__fitted *f, const hl__model_shape *shape,
                                const hl__io_ctx *io)
{
    hl__stack_model *m = f->state;
    (void)shape;
    if (!m || !(m->sections_read & SECTION_BIT(SEC_STACK)) ||
        m->n_members != m->members_expected)
        return hl__io_corrupt(io, "a stack member is missing");
    hl__stack_member_shares(m);
    hl__stack_fitted(m, f);
    return HL_OK;
}
