/* health.c - hl_model_check_health(): is a trained model usable at all?
 *
 * Not "is it good" - that is the metrics' job and the user's call - but
 * "is it broken": outputs that are not numbers, one class for everything,
 * or a score worse than guessing. Those are what a retry with another
 * learner or safer parameters can fix (repair.c), so this check decides
 * whether a training is retried although it returned HL_OK.
 *
 * It works from what any learner's model has: the summary (loss curve,
 * hold-out and cross-validation metrics) and predictions of a sample of
 * the training rows, so a new learner needs nothing here. The sample is
 * evenly spaced over the labelled rows (deterministic, no seed) and small
 * (HL_HEALTH_SAMPLE_ROWS), so the check costs a fraction of the training.
 *
 * Scores are macro-F1 over the classes present in the scored rows, and
 * the baseline is what guessing by their class mix expects, 1 / K (see
 * healer/repair.h): metrics.c averages over every class of the model,
 * which would count a class absent from a small hold-out as a failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "healer/repair.h"
#include "internal.h"

/* Mean F1 over the classes with rows in m; *present gets their count. */
static double present_macro_f1(const hl_metrics *m, size_t *present)
{
    double sum = 0;
    *present = 0;
    for (size_t k = 0; m->per_class && k < m->n_classes; k++)
        if (m->per_class[k].support > 0) {
            sum += m->per_class[k].f1;
            (*present)++;
        }
    return *present ? sum / (double)*present : NAN;
}

/* The one class m predicted for all its rows, or -1 when it predicted
 * several (or its rows have fewer than two classes: nothing to tell). */
static int32_t constant_class(const hl_metrics *m)
{
    size_t predicted = 0, present = 0;
    int32_t only = -1;
    for (size_t k = 0; m->per_class && k < m->n_classes; k++) {
        present += m->per_class[k].support > 0;
        if (m->per_class[k].predicted > 0) {
            predicted++;
            only = (int32_t)k;
        }
    }
    return predicted == 1 && present >= 2 ? only : -1;
}

/* Reason 3, for `rows` rows of `which` kind: one class for all of them. */
static void say_constant(hl_model_health *h, const char *class_name,
                         size_t rows, const char *which)
{
    char name[101]; /* a long label, cut between characters */
    hl__utf8_copy(name, sizeof name, class_name);
    h->degenerate = 1;
    snprintf(h->reason, sizeof h->reason,
             "constant predictor: class '%s' for all %zu %s", name, rows,
             which);
}

/* Reason 1: the training loss went NaN or infinite (a diverged learner
 * that still returned a model). */
static void loss_not_finite(const hl_model_summary *s, hl_model_health *h)
{
    for (size_t i = 0; s->curve_train_loss && i < s->curve_len; i++)
        if (!isfinite(s->curve_train_loss[i])) {
            h->degenerate = 1;
            snprintf(h->reason, sizeof h->reason,
                     "the training loss is not a finite number (NaN or "
                     "infinite from round %zu of %zu)",
                     i + 1, s->curve_len);
            return;
        }
}

/* The sample: up to HL_HEALTH_SAMPLE_ROWS labelled rows of ds, evenly
 * spaced, as model feature rows (*x) with their model classes (*y). */
static hl_status sample_rows(const hl_model *m, const hl_dataset *ds,
                             float **x_out, int32_t **y_out, size_t *n_out,
                             hl_error *err)
{
    const size_t nf = m->summary.n_features;
    size_t *src = malloc((nf + 1) * sizeof *src);
    int32_t *y_all = malloc((ds->n_rows + 1) * sizeof *y_all);
    size_t *labelled = malloc((ds->n_rows + 1) * sizeof *labelled);
    float *x = NULL;
    int32_t *y = NULL;
    size_t n_lab = 0, n = 0;
    hl_status rc = HL_ERR_NOMEM;
    if (!src || !y_all || !labelled)
        goto done;
    if ((rc = hl__model_map_features(m, ds, src, NULL, err)) != HL_OK ||
        (rc = hl_model_map_labels(m, ds, y_all, NULL, err)) != HL_OK)
        goto done;
    for (size_t i = 0; i < ds->n_rows; i++)
        if (y_all[i] >= 0)
            labelled[n_lab++] = i;
    if (n_lab == 0) {
        rc = hl__fail(err, HL_ERR_DATA,
                      "%s: no row has a label the model knows: nothing to "
                      "check the model on",
                      ds->source);
        goto done;
    }
    n = n_lab < HL_HEALTH_SAMPLE_ROWS ? n_lab : HL_HEALTH_SAMPLE_ROWS;
    x = malloc((n * nf + 1) * sizeof *x);
    y = malloc((n + 1) * sizeof *y);
    rc = HL_ERR_NOMEM;
    if (!x || !y)
        goto done;
    for (size_t i = 0; i < n; i++) {
        /* i * n_lab / n < n_lab for i < n; 64 bits hold the product. */
        size_t row = labelled[(uint64_t)i * n_lab / n];
        for (size_t j = 0; j < nf; j++)
            x[i * nf + j] = ds->x[row * ds->n_features + src[j]];
        y[i] = y_all[row];
    }
    *x_out = x;
    *y_out = y;
    *n_out = n;
    x = NULL;
    y = NULL;
    rc = HL_OK;
done:
    if (rc == HL_ERR_NOMEM)
        hl__fail(err, rc, "out of memory");
    free(src);
    free(y_all);
    free(labelled);
    free(x);
    free(y);
    return rc;
}

/* Reasons 2 and 3 on the sample; *sample_metrics gets its scores. */
static hl_status check_sample(const hl_model *m, const hl_dataset *ds,
                              int threads, hl_model_health *h,
                              hl_metrics *sample_metrics, hl_error *err)
{
    const size_t K = m->summary.n_classes;
    float *x = NULL;
    int32_t *y = NULL, *pred = NULL;
    double *proba = NULL;
    size_t n = 0;
    hl_status rc = sample_rows(m, ds, &x, &y, &n, err);
    if (rc != HL_OK)
        return rc;
    proba = malloc((n * K + 1) * sizeof *proba);
    pred = malloc((n + 1) * sizeof *pred);
    if (!proba || !pred) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = hl_model_predict_matrix(m, x, n, threads, proba, err)) != HL_OK)
        goto done;
    h->rows_checked = n;
    for (size_t i = 0; i < n; i++) {
        int finite = 1;
        for (size_t k = 0; k < K; k++)
            finite &= isfinite(proba[i * K + k]) != 0;
        h->nonfinite_rows += !finite;
        pred[i] = hl_predict_argmax(proba + i * K, K);
    }
    /* No probabilities: a NaN one would make the metrics refuse the rows
     * rather than score them. */
    if ((rc = hl_metrics_compute(y, pred, NULL, n, K, sample_metrics, err)) !=
        HL_OK)
        goto done;
    for (size_t k = 0; k < K; k++)
        h->predicted_classes += sample_metrics->per_class[k].predicted > 0;
    int32_t only = constant_class(sample_metrics);
    if (h->degenerate) {
        /* the loss already said why */
    } else if (h->nonfinite_rows > 0) {
        h->degenerate = 1;
        snprintf(h->reason, sizeof h->reason,
                 "its predictions contain NaN or infinite values (%zu of %zu "
                 "sampled training rows)",
                 h->nonfinite_rows, n);
    } else if (only >= 0) {
        say_constant(h, m->summary.class_names[only], n,
                     "sampled training rows");
    }
done:
    free(x);
    free(y);
    free(pred);
    free(proba);
    return rc;
}

/* Reason 4: the score of the first source the model has, against 1 / K. */
static void check_score(const hl_model_summary *s, const hl_metrics *sample,
                        hl_model_health *h)
{
    size_t present;
    if (s->has_validation && s->validation.n_samples >= HL_HEALTH_MIN_ROWS) {
        h->score_source = "hold-out";
        h->score_rows = s->validation.n_samples;
        h->macro_f1 = present_macro_f1(&s->validation, &present);
    } else if (s->cv_folds > 1 && s->cv.n_samples >= HL_HEALTH_MIN_ROWS) {
        h->score_source = "cross-validation";
        h->score_rows = s->cv.n_samples;
        h->macro_f1 = present_macro_f1(&s->cv, &present);
    } else if (s->has_oob && s->oob_rows >= HL_HEALTH_MIN_ROWS) {
        /* A forest's estimate on the rows each tree did not see: unseen
         * rows, like a hold-out, where the training rows would flatter a
         * forest that memorised them. It is one macro-F1 over the
         * model's classes; the out-of-bag rows are nearly all training
         * rows, so the classes present are the sample's. */
        h->score_source = "out-of-bag rows";
        h->score_rows = (size_t)s->oob_rows;
        h->macro_f1 = s->oob_macro_f1;
        (void)present_macro_f1(sample, &present);
    } else {
        h->score_source = "training rows";
        h->score_rows = sample->n_samples;
        h->macro_f1 = present_macro_f1(sample, &present);
    }
    h->baseline = present >= 2 ? 1.0 / (double)present : NAN;
    if (h->degenerate || present < 2)
        return;
    if (h->macro_f1 < HL_HEALTH_BASELINE_FACTOR * h->baseline) {
        h->degenerate = 1;
        snprintf(h->reason, sizeof h->reason,
                 "macro-F1 %.3f on the %s (%zu rows) is far below the "
                 "class-prior baseline %.3f (1 / %zu classes; degenerate "
                 "under %g x baseline)",
                 h->macro_f1, h->score_source, h->score_rows, h->baseline,
                 present, HL_HEALTH_BASELINE_FACTOR);
    }
}

hl_status hl_model_check_health(const hl_model *m, const hl_dataset *ds,
                                int threads, hl_model_health *out,
                                hl_error *err)
{
    memset(out, 0, sizeof *out);
    out->score_source = "";
    out->macro_f1 = NAN;
    out->baseline = NAN;
    if (!m || !ds)
        return hl__fail(err, HL_ERR_INVALID,
                        "health check: a model and its data are required");
    const hl_model_summary *s = &m->summary;
    hl_metrics sample = {0};
    /* The loss comes first: a diverged training explains everything the
     * predictions then show. */
    loss_not_finite(s, out);
    hl_status rc = check_sample(m, ds, threads, out, &sample, err);
    if (rc == HL_OK) {
        if (!out->degenerate && s->has_validation &&
            s->validation.n_samples >= HL_HEALTH_MIN_ROWS) {
            int32_t only = constant_class(&s->validation);
            if (only >= 0) {
                say_constant(out, s->class_names[only],
                             s->validation.n_samples, "hold-out rows");
            }
        }
        check_score(s, &sample, out);
    }
    hl_metrics_free(&sample);
    return rc;
}
