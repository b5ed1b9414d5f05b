/* stack_fit.c - fitting a stack: every member's out-of-fold
 * probabilities, the meta-learner on them, every member on all rows.
 *
 * The folds are stratified and keep duplicate rows together (the job's
 * groups), as hl_train's cross-validation does: a copied event in two
 * folds would teach the meta-learner to trust members that memorise.
 * Each member is fitted the way hl_train fits it alone - an iterative
 * member holds out rows for early stopping, then refits on all of its
 * rows - so a member of a stack is the model that learner would be.
 * Members report no progress of their own (their rounds would read as
 * the stack's); the stack reports one step per member fit, and a cancel
 * reaches the members.
 */
#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include "stack.h"

typedef struct stack_run {
    const hl__fit_job *job;
    const hl__stack_params *p;
    size_t n_members, n_classes, n; /* n: the job's training rows */
    const hl__learner *learner[HL__STACK_MAX_MEMBERS];
    alignas(max_align_t) unsigned char params[HL__STACK_MAX_MEMBERS]
                                             [HL_LEARNER_PARAMS_BYTES];
    int32_t *y;             /* label per position in the job's rows */
    uint32_t *group;        /* duplicate group per position, as a position */
    uint32_t *fold;         /* out-of-fold fold per position */
    hl_train_control quiet; /* the job's cancel flag, no callback */
    int steps_done, steps;
} stack_run;

static hl_status nomem(hl_error *err)
{
    return hl__fail(err, HL_ERR_NOMEM, "out of memory");
}

static hl_status report_step(stack_run *s, hl_error *err)
{
    s->steps_done++;
    if (hl__progress_report(&s->job->progress, s->steps_done, s->steps, NAN,
                            NAN))
        return hl__fail(err, HL_ERR_CANCELLED, "training cancelled");
    return HL_OK;
}

/* Splits rows[0..n) into fit and hold-out rows for an iterative member,
 * stratified with duplicates together. */
static hl_status split_holdout(const stack_run *s, const size_t *rows, size_t n,
                               uint64_t seed, size_t *fit, size_t *n_fit,
                               size_t *valid, size_t *n_valid, hl_error *err)
{
    int32_t *y = malloc((n + 1) * sizeof *y);
    uint32_t *grp = malloc((n + 1) * sizeof *grp);
    uint8_t *is_valid = malloc(n + 1);
    hl_status rc = HL_ERR_NOMEM;
    if (!y || !grp || !is_valid ||
        hl__groups_by_position(s->job->group, rows, n, grp) != HL_OK) {
        rc = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = s->job->y[rows[i]];
    rc =
        hl_stratified_holdout(y, grp, n, s->n_classes,
                              s->job->validation_fraction, seed, is_valid, err);
    *n_fit = *n_valid = 0;
    for (size_t i = 0; rc == HL_OK && i < n; i++) {
        if (is_valid[i])
            valid[(*n_valid)++] = rows[i];
        else
            fit[(*n_fit)++] = rows[i];
    }
done:
    free(y);
    free(grp);
    free(is_valid);
    return rc;
}

static void free_curves(hl__fit_result *res)
{
    free(res->train_loss);
    free(res->valid_loss);
    res->train_loss = res->valid_loss = NULL;
}

/* Member i fitted on dataset rows[0..n) as hl_train would fit it alone:
 * an iterative member with early stopping holds out rows, then (with
 * refit) fits all n rows for the rounds the hold-out chose. */
static hl_status fit_member(stack_run *s, size_t i, const size_t *rows,
                            size_t n, hl__fitted *out, hl_error *err)
{
    const hl__learner *l = s->learner[i];
    hl__fit_job mj = *s->job;
    mj.params = s->params[i];
    mj.train_rows = rows;
    mj.n_train = n;
    mj.valid_rows = NULL;
    mj.n_valid = 0;
    mj.max_iterations = 0;
    mj.progress.ctl = &s->quiet;
    size_t *fit = NULL, *valid = NULL, n_fit = n, n_valid = 0;
    hl_status rc = HL_OK;
    if (l->info.iterative && s->job->early_stopping_rounds > 0 && n >= 10) {
        fit = malloc((n + 1) * sizeof *fit);
        valid = malloc((n + 1) * sizeof *valid);
        rc = fit && valid
                 ? split_holdout(s, rows, n,
                                 hl__seed_mix(s->job->seed, 0x57AC + i), fit,
                                 &n_fit, valid, &n_valid, err)
                 : nomem(err);
        mj.train_rows = fit;
        mj.n_train = n_fit;
        mj.valid_rows = valid;
        mj.n_valid = n_valid;
    } else {
        mj.early_stopping_rounds = 0;
    }
    hl__fit_result res = {0};
    if (rc == HL_OK && (rc = l->fit(&mj, &res, err)) == HL_OK) {
        free_curves(&res);
        if (n_valid > 0 && s->job->refit && res.best_iteration > 0) {
            mj.train_rows = rows;
            mj.n_train = n;
            mj.valid_rows = NULL;
            mj.n_valid = 0;
            mj.early_stopping_rounds = 0;
            mj.max_iterations = hl__refit_iterations(
                res.best_iteration, n_fit, n, l->iteration_cap(mj.params));
            l->free(res.fitted.state);
            memset(&res, 0, sizeof res);
            if ((rc = l->fit(&mj, &res, err)) == HL_OK)
                free_curves(&res);
        }
    }
    if (rc == HL_OK)
        *out = res.fitted;
    free(fit);
    free(valid);
    return rc;
}

/* Probabilities of member fitted f (learner l) for dataset rows[0..n). */
static hl_status member_proba(const stack_run *s, const hl__learner *l,
                              const hl__fitted *f, const size_t *rows, size_t n,
                              double *proba, hl_error *err)
{
    const size_t nf = s->job->n_features, K = s->n_classes;
    float *x = malloc((n * nf + 1) * sizeof *x);
    double *raw = malloc((n * f->n_outputs + 1) * sizeof *raw);
    hl_status rc = x && raw ? HL_OK : nomem(err);
    for (size_t i = 0; rc == HL_OK && i < n; i++)
        memcpy(x + i * nf, s->job->x + rows[i] * nf, nf * sizeof *x);
    hl__model_shape shape = {nf, K};
    if (rc == HL_OK && l->predict_raw(f->state, &shape, x, n, raw) != HL_OK)
        rc = nomem(err);
    for (size_t i = 0; rc == HL_OK && i < n; i++)
        hl__link_apply(f->link, raw + i * f->n_outputs, K, proba + i * K);
    free(x);
    free(raw);
    return rc;
}

/* oof: n_members blocks of n * n_classes, position order. */
static hl_status out_of_fold(stack_run *s, double *oof, hl_error *err)
{
    const size_t n = s->n, K = s->n_classes;
    const size_t *rows = s->job->train_rows;
    uint32_t *fold = s->fold = malloc((n + 1) * sizeof *fold);
    size_t *fit_rows = malloc((n + 1) * sizeof *fit_rows);
    size_t *test_rows = malloc((n + 1) * sizeof *test_rows);
    size_t *test_pos = malloc((n + 1) * sizeof *test_pos);
    double *proba = malloc((n * K + 1) * sizeof *proba);
    hl_status rc =
        fold && fit_rows && test_rows && test_pos && proba ? HL_OK : nomem(err);
    if (rc == HL_OK)
        rc =
            hl_stratified_folds(s->y, s->group, n, K, (unsigned)s->p->folds,
                                hl__seed_mix(s->job->seed, 0x57AC5), fold, err);
    for (unsigned f = 0; rc == HL_OK && f < (unsigned)s->p->folds; f++) {
        size_t n_fit = 0, n_test = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == f) {
                test_pos[n_test] = i;
                test_rows[n_test++] = rows[i];
            } else {
                fit_rows[n_fit++] = rows[i];
            }
        }
        for (size_t m = 0; rc == HL_OK && m < s->n_members; m++) {
            hl__fitted fitted = {0};
            if (n_test == 0 || n_fit == 0) {
                rc = report_step(s, err);
                continue;
            }
            rc = fit_member(s, m, fit_rows, n_fit, &fitted, err);
            if (rc == HL_OK)
                rc = member_proba(s, s->learner[m], &fitted, test_rows, n_test,
                                  proba, err);
            if (fitted.state)
                s->learner[m]->free(fitted.state);
            for (size_t i = 0; rc == HL_OK && i < n_test; i++)
                memcpy(oof + (m * n + test_pos[i]) * K, proba + i * K,
                       K * sizeof *oof);
            if (rc == HL_OK)
                rc = report_step(s, err);
        }
    }
    free(fit_rows);
    free(test_rows);
    free(test_pos);
    free(proba);
    return rc;
}

/* Macro-F1 and accuracy of probabilities proba (n x K) against s->y. */
static hl_status score(const stack_run *s, const double *proba,
                       double *macro_f1, double *accuracy, hl_error *err)
{
    int32_t *pred = malloc((s->n + 1) * sizeof *pred);
    if (!pred)
        return nomem(err);
    for (size_t i = 0; i < s->n; i++)
        pred[i] = hl_predict_argmax(proba + i * s->n_classes, s->n_classes);
    hl_metrics met = {0};
    hl_status rc =
        hl_metrics_compute(s->y, pred, NULL, s->n, s->n_classes, &met, err);
    if (rc == HL_OK) {
        *macro_f1 = met.macro_f1;
        *accuracy = met.accuracy;
    }
    hl_metrics_free(&met);
    free(pred);
    return rc;
}

/* The meta-learner's inputs: each row's members' log-probabilities
 * (n x M*K into *z) and the row's weight (*w). */
static hl_status meta_inputs(const stack_run *s, const double *oof, double **z,
                             double **w, hl_error *err)
{
    const size_t n = s->n, K = s->n_classes, d = s->n_members * K;
    *z = malloc((n * d + 1) * sizeof **z);
    *w = malloc((n + 1) * sizeof **w);
    if (!*z || !*w)
        return nomem(err);
    for (size_t r = 0; r < n; r++) {
        for (size_t i = 0; i < s->n_members; i++)
            for (size_t j = 0; j < K; j++) {
                double q = oof[(i * n + r) * K + j];
                (*z)[r * d + i * K + j] =
                    log(q > HL__STACK_PROBA_FLOOR ? q : HL__STACK_PROBA_FLOOR);
            }
        (*w)[r] = hl__row_weight(s->job, s->job->train_rows[r]);
    }
    return HL_OK;
}

/* The meta-learner's weights (K x width) fitted on the rows whose weight
 * in w is not 0, from the geometric vote (every member's log-probability
 * of class k weighs 1/M for class k), which its penalty pulls towards. */
static hl_status fit_meta(const stack_run *s, const double *z, const double *w,
                          size_t width, double *weights, hl_error *err)
{
    const size_t K = s->n_classes, M = s->n_members;
    memset(weights, 0, K * width * sizeof *weights);
    for (size_t k = 0; k < K; k++)
        for (size_t i = 0; i < M; i++)
            weights[k * width + i * K + k] = 1.0 / (double)M;
    if (hl__stack_meta_fit(z, s->n, width - 1, s->y, w, K, s->p->meta_l2,
                           weights) != HL_OK)
        return nomem(err);
    return HL_OK;
}

/* Probabilities (n x K) of the stack m from its members' oof. */
static hl_status stack_proba(const hl__stack_model *m, const double *oof,
                             size_t n, double *proba, hl_error *err)
{
    const size_t K = m->n_classes;
    hl__stack_combine(m, oof, n, proba);
    if (m->combiner != HL__COMBINE_LOGISTIC)
        return HL_OK;
    double *p = malloc((K + 1) * sizeof *p);
    if (!p)
        return nomem(err);
    for (size_t r = 0; r < n; r++) {
        hl__link_apply(HL__LINK_SOFTMAX, proba + r * K, K, p);
        memcpy(proba + r * K, p, K * sizeof *p);
    }
    free(p);
    return HL_OK;
}

/* The out-of-fold probabilities of a logistic stack: each fold's rows
 * scored by a meta-learner fitted without them (cross-fitting), since
 * one scored on the rows it learnt from flatters itself. The members'
 * probabilities are out-of-fold already. */
static hl_status cross_fit(const stack_run *s, const hl__stack_model *m,
                           const double *oof, const double *z,
                           const double *w, double *proba, hl_error *err)
{
    const size_t n = s->n, K = s->n_classes, width = hl__stack_row_width(m);
    hl__stack_model fold_model = *m;
    double *wf = malloc((n + 1) * sizeof *wf);
    double *pf = malloc((n * K + 1) * sizeof *pf);
    fold_model.weights = malloc((K * width + 1) * sizeof *fold_model.weights);
    hl_status rc = wf && pf && fold_model.weights ? HL_OK : nomem(err);
    for (unsigned f = 0; rc == HL_OK && f < (unsigned)s->p->folds; f++) {
        for (size_t r = 0; r < n; r++)
            wf[r] = s->fold[r] == f ? 0.0 : w[r];
        rc = fit_meta(s, z, wf, width, fold_model.weights, err);
        if (rc == HL_OK)
            rc = stack_proba(&fold_model, oof, n, pf, err);
        for (size_t r = 0; rc == HL_OK && r < n; r++)
            if (s->fold[r] == f)
                memcpy(proba + r * K, pf + r * K, K * sizeof *pf);
    }
    free(fold_model.weights);
    free(wf);
    free(pf);
    return rc;
}

/* The combiner on the out-of-fold probabilities: each member's own
 * estimate, the meta-learner's fit on every row (logistic), then the
 * whole stack's out-of-fold estimate. */
static hl_status combine(stack_run *s, hl__stack_model *m, const double *oof,
                         hl_error *err)
{
    const size_t n = s->n, K = s->n_classes, M = s->n_members;
    for (size_t i = 0; i < M; i++) {
        hl_status rc = score(s, oof + i * n * K, &m->report[i].oof_macro_f1,
                             &(double){0}, err);
        if (rc != HL_OK)
            return rc;
    }
    double *z = NULL, *w = NULL;
    double *proba = malloc((n * K + 1) * sizeof *proba);
    hl_status rc = proba ? HL_OK : nomem(err);
    if (rc == HL_OK && m->combiner == HL__COMBINE_LOGISTIC) {
        const size_t width = hl__stack_row_width(m);
        rc = meta_inputs(s, oof, &z, &w, err);
        if (rc == HL_OK &&
            !(m->weights = malloc(K * width * sizeof *m->weights)))
            rc = nomem(err);
        if (rc == HL_OK)
            rc = fit_meta(s, z, w, width, m->weights, err);
        if (rc == HL_OK)
            rc = cross_fit(s, m, oof, z, w, proba, err);
    } else if (rc == HL_OK) {
        rc = stack_proba(m, oof, n, proba, err);
    }
    hl__stack_member_shares(m);
    if (rc == HL_OK) {
        m->oof_rows = n;
        rc = score(s, proba, &m->oof_macro_f1, &m->oof_accuracy, err);
    }
    free(z);
    free(w);
    free(proba);
    return rc;
}

/* A member with a `trees` parameter (a forest) gets the stack's count;
 * by the parameter's name, so that the stack knows no learner. */
static void set_member_trees(const hl__learner *l, int trees, void *block)
{
    for (size_t k = 0; k < l->info.n_params; k++) {
        const hl_param_spec *spec = &l->info.params[k];
        if (strcmp(spec->name, "trees") == 0 && spec->type == HL_PARAM_INT)
            hl__param_store(spec, (unsigned char *)block + spec->offset,
                            (hl_param_value){.i = trees});
    }
}

static hl_status prepare(stack_run *s, hl_error *err)
{
    const hl__fit_job *job = s->job;
    char names[HL__STACK_MAX_MEMBERS][HL__LEARNER_NAME_CAP];
    s->n_members = hl__stack_member_names(s->p->members, names);
    for (size_t i = 0; i < s->n_members; i++) {
        s->learner[i] = job->find ? job->find(names[i]) : NULL;
        if (!s->learner[i] || !s->learner[i]->fit)
            return hl__fail_field(err, HL_ERR_INVALID, "members",
                                  "stack member '%s' is not a learner of "
                                  "this build",
                                  names[i]);
        hl__learner_defaults(s->learner[i], s->params[i]);
        set_member_trees(s->learner[i], s->p->member_trees, s->params[i]);
    }
    s->y = malloc((s->n + 1) * sizeof *s->y);
    s->group = malloc((s->n + 1) * sizeof *s->group);
    if (!s->y || !s->group ||
        hl__groups_by_position(job->group, job->train_rows, s->n, s->group) !=
            HL_OK)
        return nomem(err);
    for (size_t i = 0; i < s->n; i++)
        s->y[i] = job->y[job->train_rows[i]];
    s->quiet = (hl_train_control){
        NULL, NULL, job->progress.ctl ? job->progress.ctl->cancel : NULL};
    s->steps = (int)((size_t)(s->p->folds + 1) * s->n_members);
    return HL_OK;
}

hl_status hl__stack_fit(const hl__fit_job *job, hl__fit_result *res,
                        hl_error *err)
{
    stack_run s = {.job = job,
                   .p = job->params,
                   .n_classes = job->n_classes,
                   .n = job->n_train};
    hl__stack_model *m = calloc(1, sizeof *m);
    double *oof = NULL;
    hl_status rc = m ? prepare(&s, err) : nomem(err);
    if (rc == HL_OK) {
        m->n_features = job->n_features;
        m->n_classes = job->n_classes;
        m->combiner = s.p->combiner;
        oof = malloc((s.n_members * s.n * s.n_classes + 1) * sizeof *oof);
        rc = oof ? out_of_fold(&s, oof, err) : nomem(err);
    }
    for (size_t i = 0; rc == HL_OK && i < s.n_members; i++) {
        m->member[i].learner = s.learner[i];
        snprintf(m->report[i].algo, sizeof m->report[i].algo, "%s",
                 s.learner[i]->info.name);
        m->n_members = i + 1;
        rc = fit_member(&s, i, job->train_rows, s.n, &m->member[i].fitted, err);
        if (rc == HL_OK)
            rc = report_step(&s, err);
    }
    if (rc == HL_OK)
        rc = combine(&s, m, oof, err);
    free(oof);
    free(s.y);
    free(s.group);
    free(s.fold);
    if (rc != HL_OK) {
        hl__stack_model_free(m);
        return rc;
    }
    hl__stack_fitted(m, &res->fitted);
    res->iterations_done = 1;
    res->best_iteration = 0;
    return HL_OK;
}
