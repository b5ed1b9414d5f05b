/* train.c - hl_train(): from a labelled dataset to a model with a summary.
 *
 * Orchestration only, for any learner; the learning itself is behind the
 * learner interface (learner.h). This file decides which rows train
 * (labelled rows, exact duplicates collapsed so that a copied event
 * neither counts twice nor leaks between training and validation), weighs
 * the classes, runs the optional cross-validation, and - for learners that
 * train in rounds - holds out the early-stopping rows and refits on all
 * rows afterwards. It records everything a user needs to trust the model
 * in its summary, and what its training rows looked like for later drift
 * checks (drift_ref.h).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container.h"
#include "internal.h"
#include "train_inputs.h"

#define HL__MAX_CLASSES 64

/* ---- choosing the training rows ---- */

typedef struct row_key {
    uint32_t group;
    int32_t y;
    size_t row;
} row_key;

static int cmp_row_key(const void *a, const void *b)
{
    const row_key *x = a, *y = b;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    if (x->y != y->y)
        return x->y < y->y ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* Labelled rows to train on, ascending. With collapse, one row per distinct
 * (features, label): a duplicate with a different label is kept, since it
 * is real evidence that the KPIs do not decide the class alone. The kept
 * copy takes the largest weight of its copies (weight, per dataset row,
 * may be NULL): a row confirmed in deployment keeps its weight when the
 * training file has it too. */
static hl_status select_rows(const hl_dataset *ds, const hl_dup_info *dup,
                             int collapse, double *weight, size_t **rows_out,
                             size_t *n_out)
{
    size_t n = 0;
    row_key *keys = malloc((ds->n_rows + 1) * sizeof *keys);
    size_t *rows = malloc((ds->n_rows + 1) * sizeof *rows);
    if (!keys || !rows) {
        free(keys);
        free(rows);
        return HL_ERR_NOMEM;
    }
    for (size_t i = 0; i < ds->n_rows; i++)
        if (ds->y[i] >= 0)
            keys[n++] = (row_key){dup->group[i], ds->y[i], i};
    size_t kept = 0;
    if (collapse) {
        qsort(keys, n, sizeof *keys, cmp_row_key);
        for (size_t i = 0; i < n; i++) {
            if (i == 0 || keys[i].group != keys[i - 1].group ||
                keys[i].y != keys[i - 1].y)
                keys[kept++] = keys[i];
            else if (weight && weight[keys[i].row] > weight[keys[kept - 1].row])
                weight[keys[kept - 1].row] = weight[keys[i].row];
        }
    } else {
        kept = n;
    }
    for (size_t i = 0; i < kept; i++)
        rows[i] = keys[i].row;
    free(keys);
    /* Back to file order: deterministic and cache-friendly. */
    int sorted = 1;
    for (size_t i = 1; i < kept && sorted; i++)
        sorted = rows[i - 1] < rows[i];
    if (!sorted) {
        uint8_t *mark = calloc(ds->n_rows + 1, 1);
        if (!mark) {
            free(rows);
            return HL_ERR_NOMEM;
        }
        for (size_t i = 0; i < kept; i++)
            mark[rows[i]] = 1;
        kept = 0;
        for (size_t i = 0; i < ds->n_rows; i++)
            if (mark[i])
                rows[kept++] = i;
        free(mark);
    }
    *rows_out = rows;
    *n_out = kept;
    return HL_OK;
}

/* ---- the run ---- */

typedef struct train_run {
    const hl_dataset *ds;
    const hl_train_params *p;
    const hl__learner *learner;
    const hl_train_control *ctl;
    double started;
    hl_dup_info dup;
    double *weight;      /* per dataset row (a copy of ds->weight), or NULL */
    size_t *rows;        /* training rows (dataset indices) */
    size_t n_rows;
    int32_t *y_rows;     /* label of each training row */
    uint32_t *grp_rows;  /* duplicate group of each, as a position in rows */
    double class_weight[HL__MAX_CLASSES];
    uint64_t class_count[HL__MAX_CLASSES];
} train_run;

static hl_status prepare_groups(train_run *r)
{
    const size_t n = r->n_rows;
    r->y_rows = malloc((n + 1) * sizeof *r->y_rows);
    r->grp_rows = malloc((n + 1) * sizeof *r->grp_rows);
    if (!r->y_rows || !r->grp_rows)
        return HL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        r->y_rows[i] = r->ds->y[r->rows[i]];
    return hl__groups_by_position(r->dup.group, r->rows, n, r->grp_rows);
}

static hl_status weigh_classes(train_run *r, hl_error *err)
{
    const size_t K = r->ds->n_classes;
    size_t present = 0;
    for (size_t i = 0; i < r->n_rows; i++)
        r->class_count[r->y_rows[i]]++;
    for (size_t k = 0; k < K; k++)
        present += r->class_count[k] > 0;
    if (present < 2)
        return hl__fail_at(err, HL_ERR_DATA, r->ds->source, 0, "label", 0,
                           "training needs at least two classes; the data "
                           "has %zu",
                           present);
    /* Balanced on the rows' weights: a class known only from a few rows
     * labelled in deployment (weighted up) must not outweigh the others. */
    double mass[HL__MAX_CLASSES] = {0}, total = 0.0;
    for (size_t i = 0; i < r->n_rows; i++) {
        double w = r->weight ? r->weight[r->rows[i]] : 1.0;
        mass[r->y_rows[i]] += w;
        total += w;
    }
    for (size_t k = 0; k < K; k++)
        r->class_weight[k] =
            r->p->class_weight == HL_CLASS_WEIGHT_BALANCED && mass[k] > 0
                ? total / ((double)present * mass[k])
                : 1.0;
    return HL_OK;
}

/* Splits positions pos[0..n) of the training rows into fit / hold-out
 * dataset row lists: a hold-out only for an iterative learner with early
 * stopping on. */
static hl_status split_holdout(const train_run *r, const size_t *pos, size_t n,
                               uint64_t seed, size_t *fit, size_t *n_fit,
                               size_t *valid, size_t *n_valid, hl_error *err)
{
    *n_fit = *n_valid = 0;
    if (!r->learner->info.iterative || r->p->early_stopping_rounds == 0 ||
        n < 10) {
        for (size_t i = 0; i < n; i++)
            fit[(*n_fit)++] = r->rows[pos[i]];
        return HL_OK;
    }
    int32_t *y = malloc(n * sizeof *y);
    uint32_t *grp = malloc(n * sizeof *grp);
    uint8_t *is_valid = malloc(n);
    hl_status rc = HL_ERR_NOMEM;
    if (!y || !grp || !is_valid ||
        hl__groups_by_position(r->grp_rows, pos, n, grp) != HL_OK)
        goto done;
    for (size_t i = 0; i < n; i++)
        y[i] = r->y_rows[pos[i]];
    rc = hl_stratified_holdout(y, grp, n, r->ds->n_classes,
                               r->p->validation_fraction, seed, is_valid, err);
    if (rc != HL_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        if (is_valid[i])
            valid[(*n_valid)++] = r->rows[pos[i]];
        else
            fit[(*n_fit)++] = r->rows[pos[i]];
    }
done:
    free(y);
    free(grp);
    free(is_valid);
    if (rc == HL_ERR_NOMEM)
        return hl__fail(err, rc, "out of memory");
    return rc;
}

/* One fit of the learner on dataset rows fit_rows, watching valid_rows;
 * max_iterations caps an iterative learner (0 = its parameters' cap). */
typedef struct fit_plan {
    const size_t *fit_rows;
    size_t n_fit;
    const size_t *valid_rows;
    size_t n_valid;
    int early_stopping_rounds;
    size_t max_iterations;
    hl_train_stage stage;
    unsigned fold, folds;
} fit_plan;

static hl_status fit_once(train_run *r, const fit_plan *plan,
                          const hl__fit_inputs *in, hl_model **out,
                          hl__fit_result *res, hl_error *err)
{
    hl_model *m = hl__model_alloc();
    if (!m || hl__fit_inputs_into_model(in, r->ds->n_features, m) != HL_OK) {
        hl_model_free(m);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    m->summary.n_features = r->ds->n_features;
    m->summary.n_classes = r->ds->n_classes;
    hl__fit_job job = {
        .x = in->x ? in->x : r->ds->x,
        .n_features = in->width,
        .y = r->ds->y,
        .n_classes = r->ds->n_classes,
        .class_weight = r->class_weight,
        .train_rows = plan->fit_rows,
        .n_train = plan->n_fit,
        .valid_rows = plan->valid_rows,
        .n_valid = plan->n_valid,
        .params = r->p->learner,
        .seed = r->p->seed,
        .threads = r->p->threads,
        .early_stopping_rounds = plan->early_stopping_rounds,
        .max_iterations = plan->max_iterations,
        .progress = {r->ctl, plan->stage, plan->fold, plan->folds, r->started},
        .group = r->dup.group,
        .row_weight = r->weight,
        .validation_fraction = r->p->validation_fraction,
        .refit = r->p->refit,
        .find = hl__learner_find,
    };
    hl_status rc = r->learner->fit(&job, res, err);
    if (rc != HL_OK) {
        hl_model_free(m);
        return rc;
    }
    m->learner = r->learner;
    m->fitted = res->fitted;
    *out = m;
    return HL_OK;
}

static hl_status score_rows(const hl_model *m, const hl_dataset *ds,
                            const size_t *rows, size_t n, int threads,
                            hl_metrics *out, hl_error *err);

static void free_fit_result(hl__fit_result *res)
{
    free(res->train_loss);
    free(res->valid_loss);
    memset(res, 0, sizeof *res);
}

/* After an iterative learner chose its iterations on the hold-out: the
 * refit on all n rows for that many (scaled), replacing *m. The hold-out
 * costs a tenth of the data; measured on the reference data the refit
 * wins that back (docs/benchmarks.md). *res keeps the hold-out run's
 * curve and best iteration. */
static hl_status refit_all(train_run *r, const size_t *pos, size_t n,
                           size_t n_fit, size_t *rows, const hl__fit_inputs *in,
                           unsigned fold, unsigned folds, hl_model **m,
                           hl__fit_result *res, hl_error *err)
{
    for (size_t i = 0; i < n; i++)
        rows[i] = r->rows[pos[i]];
    fit_plan plan = {
        rows, n, NULL, 0, 0,
        hl__refit_iterations(res->best_iteration, n_fit, n,
                         r->learner->iteration_cap(r->p->learner)),
        HL_STAGE_REFIT, fold, folds}; /* a fold's refit keeps its fold */
    hl__fit_result refit_res;
    hl_model *full = NULL;
    hl_status rc = fit_once(r, &plan, in, &full, &refit_res, err);
    if (rc != HL_OK)
        return rc;
    res->fitted = refit_res.fitted; /* a view: *m owns it */
    res->iterations_done = refit_res.iterations_done;
    free(refit_res.train_loss);
    free(refit_res.valid_loss);
    hl_model_free(*m);
    *m = full;
    return HL_OK;
}

/* Fits the model for positions pos[0..n) of the training rows: with a
 * hold-out for an iterative learner (scored into *valid_metrics when
 * non-NULL), then, with refit, once more on all n rows. */
static hl_status fit(train_run *r, const size_t *pos, size_t n,
                     hl_train_stage stage, unsigned fold, unsigned folds,
                     hl_model **out, hl__fit_result *res,
                     hl_metrics *valid_metrics, size_t *n_valid_out,
                     size_t *n_fit_out, hl_error *err)
{
    size_t *fit_rows = malloc((n + 1) * sizeof *fit_rows);
    size_t *valid = malloc((n + 1) * sizeof *valid);
    size_t n_fit = 0, n_valid = 0;
    hl_model *m = NULL;
    hl__fit_inputs in = {0};
    hl_status rc;
    if (!fit_rows || !valid) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    rc = split_holdout(r, pos, n, hl__seed_mix(r->p->seed, 0xF01D + fold),
                       fit_rows, &n_fit, valid, &n_valid, err);
    /* The refit on all rows keeps these inputs: the rounds it runs were
     * chosen for them. */
    if (rc == HL_OK)
        rc = hl__fit_inputs_choose(r->ds, r->p, fit_rows, n_fit, &in, err);
    fit_plan plan = {fit_rows, n_fit, valid, n_valid,
                     r->p->early_stopping_rounds, 0, stage, fold, folds};
    if (rc != HL_OK || (rc = fit_once(r, &plan, &in, &m, res, err)) != HL_OK)
        goto done;
    if (valid_metrics && n_valid > 0 &&
        (rc = score_rows(m, r->ds, valid, n_valid, r->p->threads,
                         valid_metrics, err)) != HL_OK)
        goto done;
    if (r->p->refit && n_valid > 0 && res->best_iteration > 0) {
        rc = refit_all(r, pos, n, n_fit, fit_rows, &in, fold, folds, &m,
                       res, err);
        if (rc != HL_OK)
            goto done;
        n_fit = n;
    }
    *out = m;
    m = NULL;
    *n_fit_out = n_fit;
    *n_valid_out = n_valid;
done:
    if (rc != HL_OK && res->train_loss)
        free_fit_result(res);
    hl_model_free(m);
    hl__fit_inputs_free(&in);
    free(fit_rows);
    free(valid);
    return rc;
}

/* Probabilities of dataset rows[0..n) under m. */
static hl_status predict_rows(const hl_model *m, const hl_dataset *ds,
                              const size_t *rows, size_t n, int threads,
                              double *proba, hl_error *err)
{
    const size_t nf = ds->n_features;
    float *x = malloc((n * nf + 1) * sizeof *x);
    if (!x)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        memcpy(x + i * nf, ds->x + rows[i] * nf, nf * sizeof *x);
    hl_status rc = hl_model_predict_matrix(m, x, n, threads, proba, err);
    free(x);
    return rc;
}

/* Scores dataset rows[0..n) with m into *out. */
static hl_status score_rows(const hl_model *m, const hl_dataset *ds,
                            const size_t *rows, size_t n, int threads,
                            hl_metrics *out, hl_error *err)
{
    const size_t K = ds->n_classes;
    double *proba = malloc((n * K + 1) * sizeof *proba);
    int32_t *y = malloc((n + 1) * sizeof *y);
    int32_t *pred = malloc((n + 1) * sizeof *pred);
    hl_status rc = HL_ERR_NOMEM;
    if (!proba || !y || !pred) {
        rc = hl__fail(err, rc, "out of memory");
        goto done;
    }
    rc = predict_rows(m, ds, rows, n, threads, proba, err);
    if (rc != HL_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        y[i] = ds->y[rows[i]];
        pred[i] = hl_predict_argmax(proba + i * K, K);
    }
    rc = hl_metrics_compute(y, pred, proba, n, K, out, err);
done:
    free(proba);
    free(y);
    free(pred);
    return rc;
}

/* Out-of-fold metrics of k-fold CV over the training rows. */
static hl_status cross_validate(train_run *r, hl_metrics *out, hl_error *err)
{
    const size_t n = r->n_rows, K = r->ds->n_classes;
    const unsigned k = (unsigned)r->p->cv_folds;
    uint32_t *fold = malloc((n + 1) * sizeof *fold);
    size_t *pos = malloc((n + 1) * sizeof *pos);
    size_t *test_rows = malloc((n + 1) * sizeof *test_rows);
    double *oof = malloc((n * K + 1) * sizeof *oof);
    int32_t *pred = malloc((n + 1) * sizeof *pred);
    hl_status rc = HL_ERR_NOMEM;
    if (!fold || !pos || !test_rows || !oof || !pred) {
        rc = hl__fail(err, rc, "out of memory");
        goto done;
    }
    rc = hl_stratified_folds(r->y_rows, r->grp_rows, n, K, k,
                             hl__seed_mix(r->p->seed, 0xC5), fold, err);
    if (rc != HL_OK)
        goto done;
    for (unsigned f = 0; f < k; f++) {
        size_t n_fit = 0, n_test = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == f)
                test_rows[n_test++] = i;
            else
                pos[n_fit++] = i;
        }
        if (n_test == 0)
            continue;
        hl_model *m = NULL;
        hl__fit_result res = {0};
        size_t n_valid = 0, n_used = 0;
        rc = fit(r, pos, n_fit, HL_STAGE_CV, f + 1, k, &m, &res, NULL,
                 &n_valid, &n_used, err);
        if (rc != HL_OK)
            goto done;
        free_fit_result(&res);
        /* test_rows holds positions; turn them into dataset rows. */
        size_t *ds_rows = pos; /* reuse: fit() no longer needs pos */
        for (size_t i = 0; i < n_test; i++)
            ds_rows[i] = r->rows[test_rows[i]];
        double *proba = malloc((n_test * K + 1) * sizeof *proba);
        rc = proba ? predict_rows(m, r->ds, ds_rows, n_test, r->p->threads,
                                  proba, err)
                   : hl__fail(err, HL_ERR_NOMEM, "out of memory");
        hl_model_free(m);
        if (rc != HL_OK) {
            free(proba);
            goto done;
        }
        for (size_t i = 0; i < n_test; i++)
            memcpy(oof + test_rows[i] * K, proba + i * K, K * sizeof *oof);
        free(proba);
    }
    for (size_t i = 0; i < n; i++)
        pred[i] = fold[i] == UINT32_MAX ? 0 : hl_predict_argmax(oof + i * K, K);
    rc = hl_metrics_compute(r->y_rows, pred, oof, n, K, out, err);
done:
    free(fold);
    free(pos);
    free(test_rows);
    free(oof);
    free(pred);
    return rc;
}

/* ---- --algo auto: the search ---- */


typedef struct deadline_ctx {
    const hl_train_control *ctl; /* the caller's, may be NULL */
    double deadline;             /* hl_clock_monotonic() */
    int timed_out;
} deadline_ctx;

/* The caller's progress, and a stop once the deadline has passed. */
static int deadline_progress(const hl_train_progress *p, void *user)
{
    deadline_ctx *d = user;
    if (hl_clock_monotonic() > d->deadline) {
        d->timed_out = 1;
        return 1;
    }
    return d->ctl && d->ctl->progress ? d->ctl->progress(p, d->ctl->user) : 0;
}

/* Cross-validates candidate `name` into *cv; its status in *c. The first
 * candidate runs to the end whatever the budget, so that there always is
 * a model. HL_OK unless the caller cancelled or memory ran out. */
static hl_status try_candidate(train_run *r, const hl_train_params *asked,
                               const char *name, int folds, double deadline,
                               int first, hl_train_params *p, hl_metrics *cv,
                               hl_model_candidate *c, hl_error *err)
{
    const hl_train_control *user = r->ctl;
    const hl__learner *l = hl__learner_find(name);
    snprintf(c->algo, sizeof c->algo, "%s", name);
    c->macro_f1 = c->accuracy = NAN;
    c->status = HL_CANDIDATE_SKIPPED;
    if (!l || !l->fit || (!first && hl_clock_monotonic() >= deadline))
        return HL_OK;
    *p = *asked;
    hl_train_params_set_algo(p, name, NULL);
    p->cv_folds = folds;
    deadline_ctx dc = {user, first ? INFINITY : deadline, 0};
    hl_train_control wrapped = {deadline_progress, &dc,
                                user ? user->cancel : NULL};
    r->p = p;
    r->learner = l;
    r->ctl = &wrapped;
    double t0 = hl_clock_monotonic();
    hl_status rc = cross_validate(r, cv, err);
    c->seconds = hl_clock_monotonic() - t0;
    r->ctl = user;
    if (rc == HL_OK) {
        c->status = HL_CANDIDATE_TRIED;
        c->macro_f1 = cv->macro_f1;
        c->accuracy = cv->accuracy;
        return HL_OK;
    }
    hl_metrics_free(cv);
    if (rc == HL_ERR_NOMEM || (rc == HL_ERR_CANCELLED && !dc.timed_out))
        return rc;
    c->status = rc == HL_ERR_CANCELLED ? HL_CANDIDATE_OVER_BUDGET
                                       : HL_CANDIDATE_FAILED;
    hl_error_clear(err);
    return HL_OK;
}

/* --algo auto: every candidate the chooser names, cross-validated on the
 * run's rows within its budget; the best out-of-fold macro-F1 wins. On
 * success *chosen holds its parameters (cv_folds = the search's folds),
 * *cv its cross-validation and *board every candidate. */
static hl_status choose_learner(train_run *r, hl_train_params *chosen,
                                hl_metrics *cv, hl_model_candidate **board,
                                size_t *n_board, hl_error *err)
{
    const hl_train_params *asked = r->p;
    char names[HL_MAX_CANDIDATES][HL__LEARNER_NAME_CAP];
    double budget;
    int folds;
    size_t n = r->learner->choose(asked->learner, names, HL_MAX_CANDIDATES,
                                  &budget, &folds);
    hl_model_candidate *b = calloc(n + 1, sizeof *b);
    if (!b)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    const double deadline = r->started + budget;
    long best = -1;
    hl_status rc = HL_OK;
    for (size_t i = 0; rc == HL_OK && i < n; i++) {
        hl_train_params p;
        hl_metrics m = {0};
        rc = try_candidate(r, asked, names[i], folds, deadline, best < 0, &p,
                           &m, &b[i], err);
        if (rc != HL_OK || b[i].status != HL_CANDIDATE_TRIED)
            continue;
        if (best < 0 || b[i].macro_f1 > b[best].macro_f1) {
            best = (long)i;
            *chosen = p;
            hl_metrics_free(cv);
            *cv = m;
        } else {
            hl_metrics_free(&m);
        }
    }
    r->p = asked;
    if (rc == HL_OK && best < 0)
        rc = hl__fail(err, HL_ERR_DATA,
                      "auto: no candidate could be trained on this data");
    if (rc != HL_OK) {
        free(b);
        hl_metrics_free(cv);
        return rc;
    }
    b[best].status = HL_CANDIDATE_CHOSEN;
    r->p = chosen;
    r->learner = hl__learner_find(chosen->algo);
    *board = b;
    *n_board = n;
    return HL_OK;
}

static hl_status copy_names(char ***dst, char *const *src, size_t n)
{
    *dst = calloc(n ? n : 1, sizeof **dst);
    if (!*dst)
        return HL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        if (!((*dst)[i] = hl__strdup(src[i])))
            return HL_ERR_NOMEM;
    return HL_OK;
}

static hl_status fill_summary(train_run *r, hl_model *m, hl__fit_result *res,
                              size_t n_fit, size_t n_valid)
{
    hl_model_summary *s = &m->summary;
    const hl_dataset *ds = r->ds;
    snprintf(s->algo, sizeof s->algo, "%s", r->p->algo);
    snprintf(s->healer_version, sizeof s->healer_version, "%s", hl_version());
    s->created_unix = (int64_t)time(NULL);
    s->params = *r->p;
    s->n_features = ds->n_features;
    s->n_classes = ds->n_classes;
    if (copy_names(&s->feature_names, ds->feature_names, ds->n_features) ||
        copy_names(&s->class_names, ds->class_names, ds->n_classes))
        return HL_ERR_NOMEM;
    s->rows_read = ds->rows_read;
    s->rows_skipped_no_label = ds->rows_skipped_no_label;
    s->duplicate_rows = r->dup.duplicate_rows;
    s->conflicting_duplicates = r->dup.conflicting_rows;
    s->rows_train = n_fit;
    s->rows_validation = n_valid;
    s->class_counts = calloc(ds->n_classes, sizeof *s->class_counts);
    s->importance_gain = calloc(ds->n_features + 1, sizeof *s->importance_gain);
    s->importance_splits =
        calloc(ds->n_features + 1, sizeof *s->importance_splits);
    if (!s->class_counts || !s->importance_gain || !s->importance_splits)
        return HL_ERR_NOMEM;
    for (size_t i = 0; i < ds->n_rows; i++)
        if (ds->y[i] >= 0)
            s->class_counts[ds->y[i]]++;
    s->iterations_done = res->iterations_done;
    s->best_iteration = res->best_iteration;
    s->n_trees = m->fitted.n_trees;
    s->has_oob = m->fitted.has_oob;
    s->oob_rows = m->fitted.oob_rows;
    s->oob_macro_f1 = m->fitted.oob_macro_f1;
    s->oob_accuracy = m->fitted.oob_accuracy;
    for (size_t i = 0; r->weight && i < r->n_rows; i++)
        if (r->weight[r->rows[i]] != 1.0) {
            s->rows_weighted++;
            if (r->weight[r->rows[i]] > s->max_row_weight)
                s->max_row_weight = r->weight[r->rows[i]];
        }
    s->n_members = m->fitted.n_members;
    s->members = m->fitted.members;
    s->curve_len = res->curve_len;
    s->curve_train_loss = res->train_loss;
    s->curve_valid_loss = res->valid_loss;
    res->train_loss = res->valid_loss = NULL;
    return hl__importance_at_kpis(m, s);
}

/* The class whose label is the normal class's, or -1. */
static int32_t normal_class_of(const hl_dataset *ds, const hl_train_params *p)
{
    for (size_t k = 0; k < ds->n_classes; k++)
        if (strcmp(ds->class_names[k], p->normal_class) == 0)
            return (int32_t)k;
    return -1;
}

static hl_status check_dataset(const hl_dataset *ds, hl_error *err)
{
    if (!ds->has_labels)
        return hl__fail_at(err, HL_ERR_DATA, ds->source, 0, "label", 0,
                           "training needs a label column");
    if (ds->n_classes > HL__MAX_CLASSES)
        return hl__fail_at(err, HL_ERR_LIMIT, ds->source, 0, "label", 0,
                           "%zu classes; at most %d are supported",
                           ds->n_classes, HL__MAX_CLASSES);
    if (ds->n_features == 0)
        return hl__fail(err, HL_ERR_DATA, "%s: no feature columns", ds->source);
    if (ds->n_rows > UINT32_MAX - 1)
        return hl__fail(err, HL_ERR_LIMIT, "%s: too many rows", ds->source);
    return HL_OK;
}

hl_status hl_train(const hl_dataset *ds, const hl_train_params *params,
                   const hl_train_control *ctl, hl_model **out, hl_error *err)
{
    *out = NULL;
    hl_status rc = hl_train_params_validate(params, err);
    if (rc != HL_OK || (rc = check_dataset(ds, err)) != HL_OK)
        return rc;
    train_run r;
    memset(&r, 0, sizeof r);
    r.ds = ds;
    r.p = params;
    r.learner = hl__learner_find(params->algo); /* validated: found */
    r.ctl = ctl;
    r.started = hl_clock_monotonic();
    hl_model *m = NULL;
    hl__fit_result res = {0};
    size_t *pos = NULL, n_valid = 0, n_fit = 0;
    hl_metrics cv = {0}, validation = {0};
    hl_train_params chosen;         /* auto: the winner's parameters */
    hl_model_candidate *board = NULL; /* auto: every candidate */
    size_t n_board = 0;

    if ((rc = hl_dataset_find_duplicates(ds, &r.dup, err)) != HL_OK)
        goto done;
    if ((ds->weight && !(r.weight = malloc(ds->n_rows * sizeof *r.weight))) ||
        (r.weight && !memcpy(r.weight, ds->weight,
                             ds->n_rows * sizeof *r.weight)) ||
        select_rows(ds, &r.dup, params->collapse_duplicates, r.weight, &r.rows,
                    &r.n_rows) != HL_OK ||
        prepare_groups(&r) != HL_OK) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = weigh_classes(&r, err)) != HL_OK)
        goto done;
    if (r.learner->choose)
        rc = choose_learner(&r, &chosen, &cv, &board, &n_board, err);
    else if (params->cv_folds > 1)
        rc = cross_validate(&r, &cv, err);
    if (rc != HL_OK)
        goto done;
    if (!(pos = malloc((r.n_rows + 1) * sizeof *pos))) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < r.n_rows; i++)
        pos[i] = i;
    rc = fit(&r, pos, r.n_rows, HL_STAGE_FINAL, 0, 0, &m, &res, &validation,
             &n_valid, &n_fit, err);
    if (rc != HL_OK)
        goto done;
    /* The drift reference and the normal ranges describe every row the
     * model learnt from (hold-out included), one copy of each when
     * duplicates collapse. */
    if (fill_summary(&r, m, &res, n_fit, n_valid) != HL_OK ||
        hl__drift_ref_build(ds->x, ds->n_features, r.rows, r.n_rows, ds->y,
                            ds->n_classes, &m->drift) != HL_OK ||
        hl__normal_build(ds->x, ds->n_features, r.rows, r.n_rows, ds->y,
                         normal_class_of(ds, params), params->normal_class,
                         &m->normal) != HL_OK ||
        hl__fingerprint_build(ds->x, ds->n_features, r.rows, r.n_rows,
                              &m->fingerprint) != HL_OK) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (hl__normal_into_summary(m->normal, &m->summary) != HL_OK) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (n_valid > 0) {
        m->summary.validation = validation;
        memset(&validation, 0, sizeof validation);
        m->summary.has_validation = 1;
    }
    if (r.p->cv_folds > 1) {
        m->summary.cv = cv;
        m->summary.cv_folds = (unsigned)r.p->cv_folds;
        memset(&cv, 0, sizeof cv);
    }
    m->summary.candidates = board;
    m->summary.n_candidates = n_board;
    board = NULL;
    m->summary.train_seconds = hl_clock_monotonic() - r.started;
    *out = m;
    m = NULL;
done:
    hl_model_free(m);
    hl_metrics_free(&cv);
    hl_metrics_free(&validation);
    free_fit_result(&res);
    free(pos);
    free(r.rows);
    free(r.y_rows);
    free(r.grp_rows);
    free(r.weight);
    free(board);
    hl_dup_info_free(&r.dup);
    return rc;
}
