/* stack_meta.c - the stack's meta-learner: a multinomial logistic
 * regression fitted by L-BFGS.
 *
 * Its inputs are few (members x classes log-probabilities) and its rows
 * are the training rows, so the whole objective fits in memory and a
 * quasi-Newton method converges in tens of passes; no step size to tune,
 * and deterministic (one thread, fixed order). The objective is the
 * weighted mean cross-entropy plus l2 / (2 W) times the squared distance
 * of the weights (biases excluded) from where they started, W the total row
 * weight: l2 counts in rows' worth, the same pull on any size of data. The
 * penalty pulls towards the starting weights - the members' equal (geometric)
 * vote - rather than towards 0: with little evidence the stack stays a vote,
 * where a pull to 0 would make it predict the uniform mix.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

#define LBFGS_HISTORY 8
#define LBFGS_MAX_ITER 300
#define LBFGS_GRAD_TOL 1e-7
#define LINE_SEARCH_STEPS 40

typedef struct meta_problem {
    const double *z;
    size_t n, d, K;
    const int32_t *y;
    const double *w;
    double l2, total_weight;
    double *logits;      /* K scratch */
    const double *start; /* the weights the penalty pulls towards */
} meta_problem;

/* Objective at theta (K x (d + 1)) and its gradient into g. */
static double objective(const meta_problem *p, const double *theta, double *g)
{
    const size_t K = p->K, width = p->d + 1;
    double loss = 0.0;
    memset(g, 0, K * width * sizeof *g);
    for (size_t r = 0; r < p->n; r++) {
        const double *zr = p->z + r * p->d;
        double top = -INFINITY;
        for (size_t k = 0; k < K; k++) {
            const double *t = theta + k * width;
            double s = t[p->d];
            for (size_t j = 0; j < p->d; j++)
                s += t[j] * zr[j];
            p->logits[k] = s;
            if (s > top)
                top = s;
        }
        double sum = 0.0;
        for (size_t k = 0; k < K; k++)
            sum += exp(p->logits[k] - top);
        const double lse = top + log(sum), wr = p->w[r] / p->total_weight;
        loss += wr * (lse - p->logits[p->y[r]]);
        for (size_t k = 0; k < K; k++) {
            double coef =
                wr * (exp(p->logits[k] - lse) - (k == (size_t)p->y[r]));
            double *gk = g + k * width;
            for (size_t j = 0; j < p->d; j++)
                gk[j] += coef * zr[j];
            gk[p->d] += coef;
        }
    }
    const double lambda = p->l2 / p->total_weight;
    for (size_t k = 0; k < K; k++)
        for (size_t j = 0; j < p->d; j++) {
            double t = theta[k * width + j] - p->start[k * width + j];
            loss += 0.5 * lambda * t * t;
            g[k * width + j] += lambda * t;
        }
    return loss;
}

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* The L-BFGS direction -H g into dir from the last `have` pairs (s, y),
 * newest at index (newest). */
static void direction(const double *g, size_t n, double *const *S,
                      double *const *Y, const double *rho, size_t have,
                      size_t newest, double *alpha, double *dir)
{
    for (size_t i = 0; i < n; i++)
        dir[i] = -g[i];
    for (size_t c = 0; c < have; c++) {
        size_t i = (newest + LBFGS_HISTORY - c) % LBFGS_HISTORY;
        alpha[i] = rho[i] * dot(S[i], dir, n);
        for (size_t j = 0; j < n; j++)
            dir[j] -= alpha[i] * Y[i][j];
    }
    if (have > 0) {
        double gamma =
            dot(S[newest], Y[newest], n) / dot(Y[newest], Y[newest], n);
        for (size_t j = 0; j < n; j++)
            dir[j] *= gamma;
    }
    for (size_t c = have; c-- > 0;) {
        size_t i = (newest + LBFGS_HISTORY - c) % LBFGS_HISTORY;
        double beta = rho[i] * dot(Y[i], dir, n);
        for (size_t j = 0; j < n; j++)
            dir[j] += S[i][j] * (alpha[i] - beta);
    }
}

hl_status hl__stack_meta_fit(const double *z, size_t n, size_t d,
                             const int32_t *y, const double *w,
                             size_t n_classes, double l2, double *weights)
{
    const size_t dim = n_classes * (d + 1);
    meta_problem p = {z, n, d, n_classes, y, w, l2, 0.0, NULL, NULL};
    for (size_t r = 0; r < n; r++)
        p.total_weight += w[r];
    if (n == 0 || !(p.total_weight > 0))
        return HL_OK; /* nothing to learn from: keep the starting vote */
    double *buf =
        malloc((dim * (5 + 2 * LBFGS_HISTORY) + n_classes) * sizeof *buf);
    if (!buf)
        return HL_ERR_NOMEM;
    double *g = buf, *g_new = g + dim, *dir = g_new + dim, *x_new = dir + dim;
    double alpha[LBFGS_HISTORY], rho[LBFGS_HISTORY];
    double *S[LBFGS_HISTORY], *Y[LBFGS_HISTORY];
    for (size_t i = 0; i < LBFGS_HISTORY; i++) {
        S[i] = x_new + dim + 2 * i * dim;
        Y[i] = S[i] + dim;
    }
    p.logits = x_new + dim + 2 * LBFGS_HISTORY * dim;
    double *start = p.logits + n_classes;
    memcpy(start, weights, dim * sizeof *start);
    p.start = start;
    double f = objective(&p, weights, g);
    size_t have = 0, newest = 0;
    for (int it = 0; it < LBFGS_MAX_ITER; it++) {
        if (sqrt(dot(g, g, dim)) < LBFGS_GRAD_TOL)
            break;
        direction(g, dim, S, Y, rho, have, newest, alpha, dir);
        double slope = dot(g, dir, dim);
        if (!(slope < 0)) { /* not a descent direction: restart */
            for (size_t j = 0; j < dim; j++)
                dir[j] = -g[j];
            slope = -dot(g, g, dim);
            have = 0;
        }
        double step = have == 0 ? 1.0 / sqrt(-slope) : 1.0, f_new = f;
        int accepted = 0;
        for (int ls = 0; ls < LINE_SEARCH_STEPS && !accepted; ls++) {
            for (size_t j = 0; j < dim; j++)
                x_new[j] = weights[j] + step * dir[j];
            f_new = objective(&p, x_new, g_new);
            accepted = isfinite(f_new) && f_new <= f + 1e-4 * step * slope;
            if (!accepted)
                step *= 0.5;
        }
        if (!accepted)
            break;
        /* Keep the pair (step, gradient change) only when it curves up:
         * the update then stays positive definite. */
        double sy = 0.0;
        for (size_t j = 0; j < dim; j++)
            sy += (x_new[j] - weights[j]) * (g_new[j] - g[j]);
        if (sy > 1e-12) {
            size_t slot = have == 0 ? newest : (newest + 1) % LBFGS_HISTORY;
            for (size_t j = 0; j < dim; j++) {
                S[slot][j] = x_new[j] - weights[j];
                Y[slot][j] = g_new[j] - g[j];
            }
            rho[slot] = 1.0 / sy;
            newest = slot;
            if (have < LBFGS_HISTORY)
                have++;
        }
        double gain = f - f_new;
        memcpy(weights, x_new, dim * sizeof *weights);
        memcpy(g, g_new, dim * sizeof *g);
        f = f_new;
        if (gain < 1e-12 * (1.0 + fabs(f)))
            break;
    }
    free(buf);
    return HL_OK;
}
