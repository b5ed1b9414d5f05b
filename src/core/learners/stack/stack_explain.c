/* stack_explain.c - per-row contributions of a stack: its members'
 * contributions carried through the combiner (the contract is in
 * stack.h, above hl__stack_contrib).
 *
 * The combiner is linear in its inputs u - member i's probability of
 * class j for a vote, its floored log-probability for the logistic
 * meta-learner - so all the approximation there is lies in one step: a
 * member's contributions to its own outputs o, moved to u. That step
 * keeps every KPI's share of the member's move from its expected outputs
 * to the row's, and makes each u's shares add up to the row's u minus u
 * at the expected outputs, so the stack's contributions add up exactly.
 * Members are explained one after the other over the whole chunk of rows,
 * each into one buffer, so that a member's tables stay in cache.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

/* A move of a member output smaller than this takes the derivative
 * instead of the secant (which would divide by about 0). */
#define HL__STACK_MIN_MOVE 1e-12

/* The combiner's input of each class from one member's raw outputs o. */
static void meta_inputs(const hl__stack_model *m, hl__link link,
                        const double *o, double *u)
{
    hl__link_apply(link, o, m->n_classes, u);
    if (m->combiner == HL__COMBINE_VOTE)
        return;
    for (size_t j = 0; j < m->n_classes; j++)
        u[j] = log(u[j] > HL__STACK_PROBA_FLOOR ? u[j] : HL__STACK_PROBA_FLOOR);
}

/* du_j / do_l at raw outputs o, into jac (K x n_out, and K doubles of
 * scratch after them). */
static void jacobian(const hl__stack_model *m, hl__link link, size_t n_out,
                     const double *o, double *jac)
{
    const size_t K = m->n_classes;
    double *p = jac + K * n_out; /* K more of scratch */
    hl__link_apply(link, o, K, p);
    for (size_t j = 0; j < K; j++) {
        /* the log's factor: 1 / p, 0 where the floor holds u flat */
        double chain = 1.0;
        if (m->combiner != HL__COMBINE_VOTE)
            chain = p[j] > HL__STACK_PROBA_FLOOR ? 1.0 / p[j] : 0.0;
        for (size_t l = 0; l < n_out; l++) {
            double d;
            if (link == HL__LINK_PROBA)
                d = j == l;
            else if (link == HL__LINK_LOGISTIC) /* p1 = s(o), p0 = 1 - s */
                d = (j == 1 ? 1.0 : -1.0) * p[0] * p[1];
            else
                d = p[j] * ((j == l) - p[l]);
            jac[j * n_out + l] = chain * d;
        }
    }
}

typedef struct member_row {
    const hl__stack_model *m;
    hl__link link;
    size_t n_out, nf;
    const double *phi; /* the member's n_out x (nf + 1) for the row */
    double *scratch;   /* scratch_doubles(K, nf) */
} member_row;

/* A row's scratch: o, e, mid, u, ub (K each), the Jacobian and its
 * scratch (K x K + K) and the shares (nf). */
static size_t scratch_doubles(size_t K, size_t nf)
{
    return 6 * K + K * K + nf + 1;
}

/* The shares a[0..nf) of KPI f in the move of u_j, adding up to du. Where
 * u_j reads one member output (a forest's probability, a two-class GBDT's
 * log-odds), the secant du / do of that output: the member's own shares
 * rescaled. Where it reads several (softmax), the Jacobian at the
 * midpoint, and what that misses spread in proportion to |a_f|. */
static void shares(const member_row *c, size_t j, double du, const double *jac,
                   const double *o, const double *e, double *a)
{
    const size_t nf1 = c->nf + 1;
    if (c->link != HL__LINK_SOFTMAX) {
        const size_t l = c->n_out == 1 ? 0 : j;
        const double dout = o[l] - e[l];
        const double slope =
            fabs(dout) > HL__STACK_MIN_MOVE ? du / dout : jac[j * c->n_out + l];
        for (size_t f = 0; f < c->nf; f++)
            a[f] = slope * c->phi[l * nf1 + f];
        return;
    }
    double sum = 0.0, abs_sum = 0.0;
    for (size_t f = 0; f < c->nf; f++) {
        double v = 0.0;
        for (size_t l = 0; l < c->n_out; l++)
            v += jac[j * c->n_out + l] * c->phi[l * nf1 + f];
        a[f] = v;
        sum += v;
        abs_sum += fabs(v);
    }
    if (abs_sum > 0.0)
        for (size_t f = 0; f < c->nf; f++)
            a[f] += (du - sum) * fabs(a[f]) / abs_sum;
}

/* Adds the shares a of member i's class-j input, and that input's value
 * ub at the member's expected outputs, to the stack's row out (K x (nf +
 * 1)) through the combiner. */
static void combine_shares(const hl__stack_model *m, size_t i, size_t j,
                           const double *a, double ub, size_t nf, double *out)
{
    const size_t K = m->n_classes, nf1 = nf + 1;
    if (m->combiner == HL__COMBINE_VOTE) {
        const double w = 1.0 / (double)m->n_members;
        for (size_t f = 0; f < nf; f++)
            out[j * nf1 + f] += w * a[f];
        out[j * nf1 + nf] += w * ub;
        return;
    }
    const size_t width = hl__stack_row_width(m);
    for (size_t k = 0; k < K; k++) {
        const double w = m->weights[k * width + i * K + j];
        for (size_t f = 0; f < nf; f++)
            out[k * nf1 + f] += w * a[f];
        out[k * nf1 + nf] += w * ub;
    }
}

/* Member i's contributions phi for one row into the stack's row out. */
static void add_member_row(const member_row *c, size_t i, double *out)
{
    const hl__stack_model *m = c->m;
    const size_t K = m->n_classes, nf1 = c->nf + 1, n_out = c->n_out;
    double *o = c->scratch, *e = o + K, *mid = e + K, *u = mid + K, *ub = u + K,
           *jac = ub + K, *a = jac + K * K + K;
    for (size_t l = 0; l < n_out; l++) {
        const double *p = c->phi + l * nf1;
        double s = 0.0;
        for (size_t f = 0; f <= c->nf; f++)
            s += p[f];
        o[l] = s;
        e[l] = p[c->nf];
        mid[l] = 0.5 * (o[l] + e[l]);
    }
    meta_inputs(m, c->link, o, u);
    meta_inputs(m, c->link, e, ub);
    jacobian(m, c->link, n_out, mid, jac);
    for (size_t j = 0; j < K; j++) {
        shares(c, j, u[j] - ub[j], jac, o, e, a);
        combine_shares(m, i, j, a, ub[j], c->nf, out);
    }
}

hl_status hl__stack_contrib(const void *state, const hl__model_shape *shape,
                            const float *x, size_t n_rows, double *out,
                            hl_error *err)
{
    const hl__stack_model *m = state;
    const size_t K = m->n_classes, nf = shape->n_features, nf1 = nf + 1;
    for (size_t i = 0; i < m->n_members; i++)
        if (!m->member[i].learner->contrib)
            return hl__fail(err, HL_ERR_INVALID,
                            "the stack's member %s cannot explain its "
                            "predictions, so neither can the stack",
                            m->member[i].learner->info.name);
    double *phi = malloc((n_rows * K * nf1 + 1) * sizeof *phi);
    double *scratch = malloc(scratch_doubles(K, nf) * sizeof *scratch);
    hl_status rc =
        phi && scratch ? HL_OK : hl__fail(err, HL_ERR_NOMEM, "out of memory");
    if (rc == HL_OK)
        memset(out, 0, n_rows * K * nf1 * sizeof *out);
    for (size_t i = 0; rc == HL_OK && i < m->n_members; i++) {
        const hl__stack_member *mb = &m->member[i];
        /* with no rows, this prepares each member's explainer */
        rc = mb->learner->contrib(mb->fitted.state, shape, x, n_rows, phi, err);
        member_row c = {m,   mb->fitted.link, mb->fitted.n_outputs, nf,
                        phi, scratch};
        for (size_t r = 0; rc == HL_OK && r < n_rows; r++) {
            c.phi = phi + r * c.n_out * nf1;
            add_member_row(&c, i, out + r * K * nf1);
        }
    }
    if (rc == HL_OK && m->combiner == HL__COMBINE_LOGISTIC) {
        const size_t width = hl__stack_row_width(m);
        for (size_t r = 0; r < n_rows; r++)
            for (size_t k = 0; k < K; k++)
                out[(r * K + k) * nf1 + nf] +=
                    m->weights[k * width + width - 1];
    }
    free(phi);
    free(scratch);
    return rc;
}
