/* healer/explain.h - why a model predicts what it does: for each row,
 * each KPI's contribution to each class's score.
 *
 * Contributions are Shapley values (exact path-dependent TreeSHAP for the
 * tree learners): a row's contributions to a class plus that class's
 * expected value (the model's average score over its training rows; for
 * a stack, its combiner at its members' expected values) add up to the
 * row's score for the class. Scores are what the learner adds
 * up before its link: log-odds as softmax logits for the GBDT (for two
 * classes the one log-odds is split evenly, -m/2 and +m/2, which softmax
 * turns into the same probabilities); probabilities for the forests
 * (their averaged leaf distributions) and a stack's vote; a stack's
 * logistic meta-learner's softmax logits, its members' contributions
 * carried through it - additive, exact for a vote of forests, a stated
 * linearisation of the member-to-meta step otherwise (docs/cli.md,
 * "Explanations"; learners/stack/stack.h). A KPI
 * the model does not read contributes 0; an input that averages a family
 * of KPIs (the `families` option) has its contribution shared evenly by
 * its members - the one place where a KPI's figure is an allotment, not
 * its own Shapley value.
 *
 * Threads: a model may be explained from several threads at once.
 */
#ifndef HEALER_EXPLAIN_H
#define HEALER_EXPLAIN_H

#include <stddef.h>
#include <stdio.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a model's scores are, for the reader of its contributions. */
typedef enum hl_score_scale {
    HL_SCORE_NONE = 0,     /* the model cannot be explained */
    HL_SCORE_LOGIT = 1,    /* softmax logits (log-odds) */
    HL_SCORE_PROBABILITY = 2
} hl_score_scale;

/* m's score scale; HL_SCORE_NONE when m cannot be explained: its learner
 * has no explanations, a stack member has none, or its file lacks what
 * they need (a forest saved before node covers). May make the model's
 * explainer, as the first explanation would (kept for the next ones). */
hl_score_scale hl_model_score_scale(const hl_model *m);

/* 1 when m explains one class of a row for about that class's share of
 * the model's work (hl_model_contributions_class: a GBDT walks only that
 * class's trees, about 0.2 ms a row on one core), cheap enough for every
 * row of a large batch; 0 when an explanation costs the whole model's
 * TreeSHAP (forests, extra-trees and stacks: tens of milliseconds a row,
 * docs/benchmarks.md "explain") or m cannot be explained at all. */
int hl_model_explains_rows_cheaply(const hl_model *m);

/* An estimate of the processor seconds (one core) a whole explanation of
 * one row of m costs - every class, as a forest, extra-trees or stack
 * pays even for one class - from the size of its trees alone, so that a
 * caller can decide before it starts how many rows it can afford, the
 * same for the same model on every run. TreeSHAP's quadrature costs
 * about depth^2 per leaf and row (trees/shap.h): the estimate is leaves x
 * log2(leaves per tree)^2 x HL_EXPLAIN_SECONDS_PER_LEAF_STEP, calibrated
 * on forests and extra-trees (docs/benchmarks.md, "Explanations of a
 * diagnosis"); a GBDT's tables make its rows several times cheaper than
 * this says (hl_model_explains_rows_cheaply). 0 for a model without
 * trees or that cannot be explained (hl_model_score_scale); HL_ERR_NOMEM.
 * Thread-safe. */
hl_status hl_model_explain_row_cost(const hl_model *m, double *seconds,
                                    hl_error *err);

/* The processor seconds of one leaf x depth^2 step of
 * hl_model_explain_row_cost, measured: 1.3 to 2.0 ns on the forests and
 * extra-trees of docs/benchmarks.md ("Explanations of a diagnosis");
 * a little above the largest, so that the estimate errs towards too
 * costly. */
#define HL_EXPLAIN_SECONDS_PER_LEAF_STEP 2.1e-9

/* Contributions of n_rows rows of x (row-major over m's features, in its
 * order; NAN = missing) into out: n_rows blocks of n_classes x
 * (n_features + 1) doubles, KPI j's contribution to class k at
 * [k * (n_features + 1) + j] and class k's expected value at
 * [k * (n_features + 1) + n_features]. threads as for prediction (0 = all
 * cores). The result does not depend on threads. HL_ERR_INVALID for a
 * model that cannot be explained (the message names the learner or the
 * stack member, or says to retrain a forest saved before node covers);
 * HL_ERR_NOMEM. */
hl_status hl_model_contributions(const hl_model *m, const float *x,
                                 size_t n_rows, int threads, double *out,
                                 hl_error *err);

/* As hl_model_contributions, for one class per row: row r's block of
 * class classes[r] (its predicted class, say) is exact as there; the
 * other classes' blocks may be anything. A learner whose parts each feed
 * one class (the GBDT: a tree per class and round) then walks only that
 * class's trees - about 1 / n_classes of the work; the others compute
 * every class. HL_ERR_INVALID for a class out of range, else as
 * hl_model_contributions. */
hl_status hl_model_contributions_class(const hl_model *m, const float *x,
                                       size_t n_rows, const int32_t *classes,
                                       int threads, double *out,
                                       hl_error *err);

/* One sample's whole picture: what `healer explain` prints and the web
 * platform shows when a sample is opened. Owned arrays; release with
 * hl_sample_explanation_free. */
typedef struct hl_sample_explanation {
    size_t n_classes, n_features; /* the model's */
    float *values;    /* n_features: the sample's KPIs in model order */
    double *proba;    /* n_classes */
    int32_t predicted;
    double *contrib;  /* n_classes x (n_features + 1), as
                         hl_model_contributions */
    double *z;        /* n_features: hl_model_normal_z (NAN: none) */
    hl_score_scale scale;
} hl_sample_explanation;

/* Explains row `row` of ds (columns matched to m's features by name: a
 * missing one is HL_ERR_DATA). HL_ERR_INVALID for a row out of range or
 * a learner without explanations; HL_ERR_NOMEM. */
hl_status hl_model_explain_row(const hl_model *m, const hl_dataset *ds,
                               size_t row, hl_sample_explanation *out,
                               hl_error *err);

void hl_sample_explanation_free(hl_sample_explanation *e);

/* The n_top KPIs with the largest contributions in c - one class's block
 * of hl_model_contributions (n_features + 1 doubles) - among the KPIs m
 * reads, largest first (ties: the lower KPI), into order[0..returned):
 * n_top, or fewer when m reads fewer KPIs. order is scratch of
 * n_features slots. The one rule for "the top KPIs" of `healer predict
 * --explain` and of the web platform's diagnoses. Thread-safe. */
size_t hl_explain_top(const hl_model *m, const double *c, size_t n_top,
                      size_t *order);

/* The most KPIs `healer predict --explain N` lists per row. */
#define HL_EXPLAIN_MAX_TOP 100

/* The predictions file of hl_predictions_write_csv, each row followed by
 * kpi_1..kpi_N and contrib_1..contrib_N - the n_top KPIs with the largest
 * contributions towards the predicted class, largest first (cells left
 * empty past the KPIs the model reads) - and `abnormal`: the row's KPIs
 * outside their normal ranges as KPI:+z or KPI:-z separated by ';', the
 * farthest first (empty for none, or for a model without ranges). ds's
 * columns are matched to m's features by name (a missing one is
 * HL_ERR_DATA); proba as for hl_predictions_write_csv. Contributions are
 * computed a chunk of rows at a time (threads as for prediction).
 * HL_ERR_INVALID for n_top outside 1..HL_EXPLAIN_MAX_TOP or a learner
 * without explanations. Written atomically. */
hl_status hl_predictions_write_explained_csv(const hl_model *m,
                                             const hl_dataset *ds,
                                             const double *proba, size_t n_top,
                                             int threads, const char *path,
                                             hl_error *err);

/* The rows of hl_predictions_write_explained_csv for chosen rows of ds,
 * to an open stream (not atomic), with its header first when header is
 * set: row i written is ds's row rows[i] (rows NULL: row i) with the
 * probabilities proba[i * n_classes ..] (the n_rows written rows', not
 * ds's), numbered rows[i] + 1 when ds has no sample ids - so a subset of
 * rows reads exactly as those lines of the whole file. HL_ERR_INVALID for
 * a row out of range, n_top outside 1..HL_EXPLAIN_MAX_TOP or a learner
 * without explanations; HL_ERR_DATA for a KPI of m missing from ds. */
hl_status hl_predictions_write_explained_rows(FILE *f, const hl_model *m,
                                              const hl_dataset *ds,
                                              const size_t *rows, size_t n_rows,
                                              const double *proba, size_t n_top,
                                              int header, int threads,
                                              hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
