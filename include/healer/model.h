/* healer/model.h - a trained model: prediction, summary, model files.
 *
 * An hl_model holds everything needed to predict: feature names, label
 * table, the fitted learner (for gbdt: bin boundaries and trees),
 * parameters and the training summary. It is immutable after training or
 * loading and safe to share between threads.
 *
 * Model files are little-endian binary with a magic, a format version, typed
 * sections and a CRC-32 over the whole content; loading validates all of them
 * and every count against the file size, so a truncated, corrupted, foreign
 * or newer file is refused with a clear error, never a crash.
 */
#ifndef HEALER_MODEL_H
#define HEALER_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/metrics.h"
#include "healer/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_model hl_model;

/* Files of versions 1 to 4 load. Version 4 is written for a model with
 * KPI families, 3 for one whose KPI screening left a KPI out (an older
 * healer would misread either), version 2 for every other. */
#define HL_MODEL_FORMAT_VERSION 4u

/* A member of an ensemble (learner "stack"): one learner whose
 * probabilities the ensemble combines. */
typedef struct hl_model_member {
    char algo[16];       /* the member's learner, at its defaults */
    double weight;       /* its share of the combination; the shares sum
                            to 1 (a vote: equal; the logistic meta-learner:
                            the share of its absolute weights) */
    double oof_macro_f1; /* its own out-of-fold macro-F1 in the stacking */
} hl_model_member;

/* A candidate of `--algo auto` and how it fared. */
typedef enum hl_candidate_status {
    HL_CANDIDATE_SKIPPED = 0,     /* not started: no time left */
    HL_CANDIDATE_TRIED = 1,       /* cross-validated, not the best */
    HL_CANDIDATE_CHOSEN = 2,      /* the best: the model is this learner */
    HL_CANDIDATE_OVER_BUDGET = 3, /* stopped when the time budget ran out */
    HL_CANDIDATE_FAILED = 4       /* its training failed */
} hl_candidate_status;

/* `--algo auto` tries at most this many candidates. */
#define HL_MAX_CANDIDATES 8

/* "skipped", "tried", "chosen", "over_budget", "failed" (static). */
const char *hl_candidate_status_name(hl_candidate_status s);

typedef struct hl_model_candidate {
    char algo[16];
    hl_candidate_status status;
    double macro_f1, accuracy; /* out-of-fold; NAN unless chosen or tried */
    double seconds;            /* its cross-validation */
} hl_model_candidate;

typedef struct hl_model_summary {
    char algo[16];                 /* the learner, as params.algo */
    char healer_version[32];
    int64_t created_unix;          /* seconds since the epoch */
    hl_train_params params;        /* every parameter it was trained with */

    size_t n_features;
    size_t n_classes;
    char **feature_names;          /* n_features */
    char **class_names;            /* n_classes, the label table */

    /* Data shape. */
    size_t rows_read;
    size_t rows_skipped_no_label;
    size_t duplicate_rows;
    size_t conflicting_duplicates;
    size_t rows_train;             /* rows the final model was fitted on */
    size_t rows_validation;        /* hold-out rows for early stopping */
    uint64_t *class_counts;        /* n_classes: labelled rows per class */

    /* Training. An iteration is a boosting round for gbdt; a learner
     * that does not train in rounds has 1 and no best iteration. */
    size_t iterations_done;        /* iterations kept in the model */
    size_t best_iteration;         /* 1-based best hold-out iteration (0 = n/a) */
    size_t n_trees;                /* trees in the model, 0 for a learner without */
    double train_seconds;
    size_t curve_len;
    double *curve_train_loss;      /* curve_len, one point per iteration */
    double *curve_valid_loss;      /* curve_len, NAN without hold-out */

    /* Quality estimates. */
    int has_validation;
    hl_metrics validation;
    unsigned cv_folds;             /* 0 = no CV */
    hl_metrics cv;                 /* out-of-fold metrics when cv_folds > 1 */
    /* The learner's own estimate on rows it did not learn from (a
     * forest with bootstrap: each row scored by the trees that did not
     * draw it); has_oob 0 when the learner has none. */
    int has_oob;
    uint64_t oob_rows;             /* rows scored */
    double oob_macro_f1;
    double oob_accuracy;

    double *importance_gain;       /* n_features, total split gain */
    uint32_t *importance_splits;   /* n_features, number of splits */

    /* KPI screening (shared option screen_kpis): the class signal of every
     * KPI on the training rows (Kruskal-Wallis epsilon-squared, 0..1) and
     * whether the model reads it. kpi_signal is NULL when screening was
     * off; n_kept is n_features then. */
    double *kpi_signal;            /* n_features or NULL */
    uint8_t *kpi_kept;             /* n_features or NULL: 1 = an input */
    size_t n_kept;

    /* KPI families (shared option families): the model's extra inputs,
     * each the average of KPIs that move together across the classes.
     * kpi_family[j] is the family KPI j belongs to (0..n_families-1) or
     * -1; NULL when the model has none. */
    int32_t *kpi_family;           /* n_features or NULL */
    size_t n_families;

    /* Normal ranges (healer/normal.h): whether the model has them, the
     * class they come from ("" = every training row) and its rows. */
    int has_normal;
    char normal_class[64];
    uint64_t normal_rows;
    /* Each KPI's normal range in its own units (NAN for a KPI never
     * present in those rows): n_features each, or NULL. Owned. */
    double *normal_low, *normal_high, *normal_median;

    /* Rows that counted more than once (labelled in deployment: see
     * hl_dataset_append), and the largest weight; 0 without. */
    size_t rows_weighted;
    double max_row_weight;

    /* `--algo auto`: every candidate, in the order tried; 0 / NULL when
     * the learner was named. Owned. */
    size_t n_candidates;
    hl_model_candidate *candidates;

    /* An ensemble's members (learner "stack"); 0 / NULL otherwise.
     * Borrowed from the model. */
    size_t n_members;
    const hl_model_member *members;
} hl_model_summary;

/* Borrowed view; valid as long as the model is. */
const hl_model_summary *hl_model_summary_get(const hl_model *m);

size_t hl_model_n_features(const hl_model *m);
size_t hl_model_n_classes(const hl_model *m);
const char *hl_model_class_name(const hl_model *m, size_t k);
const char *hl_model_feature_name(const hl_model *m, size_t j);

/* Predicts class probabilities for rows already in model feature order
 * (x is n_rows * n_features, NAN = missing). proba receives n_rows *
 * n_classes doubles. threads: 0 = all cores. */
hl_status hl_model_predict_matrix(const hl_model *m, const float *x,
                                  size_t n_rows, int threads, double *proba,
                                  hl_error *err);

/* Predicts for a dataset whose columns are matched to the model's features
 * by name: a missing feature is an error naming it; extra columns are
 * ignored with a warning added to *warn (may be NULL). */
hl_status hl_model_predict_dataset(const hl_model *m, const hl_dataset *ds,
                                   int threads, double *proba,
                                   hl_warnings *warn, hl_error *err);

/* Index of the most probable class of one row of probabilities (the
 * lowest index wins ties, so results are deterministic). */
int32_t hl_predict_argmax(const double *proba_row, size_t n_classes);

/* Writes predictions as CSV with the header
 * sample_id,label,confidence,prob_<class>... : one line per row of ds, the
 * sample id from ds (or the 1-based row number when ds has none), label =
 * the most probable class, confidence = its probability. proba holds
 * ds->n_rows * n_classes values from hl_model_predict_dataset(). Written to
 * a temporary name, fsync'ed and renamed: never half-written. */
hl_status hl_predictions_write_csv(const hl_model *m, const hl_dataset *ds,
                                   const double *proba, const char *path,
                                   hl_error *err);

/* The same CSV to an open stream, a chunk at a time, from plain arrays,
 * for callers that keep results without the model or the dataset (the web
 * platform's stored diagnoses, exported in chunks): the header line, then
 * rows [first, first + n_rows) of the file - n_classes probabilities per
 * row, the class names, and their sample ids (NULL = 1-based row numbers,
 * counted from `first`). */
hl_status hl_predictions_write_header(FILE *f, size_t n_classes,
                                      char *const *class_names, hl_error *err);
hl_status hl_predictions_write_rows(FILE *f, size_t first, size_t n_rows,
                                    size_t n_classes, char *const *class_names,
                                    char *const *sample_ids,
                                    const double *proba, hl_error *err);

/* Maps the dataset's label names onto the model's label table: y_out[i] is
 * the model class index, or -1 for unlabelled rows and for labels the model
 * does not know (counted in *unknown, may be NULL). */
hl_status hl_model_map_labels(const hl_model *m, const hl_dataset *ds,
                              int32_t *y_out, size_t *unknown, hl_error *err);

/* Model files. Saving writes to a temporary name, fsyncs and renames. */
hl_status hl_model_save(const hl_model *m, const char *path, hl_error *err);
hl_status hl_model_load(const char *path, hl_model **out, hl_error *err);
/* In-memory forms of the same format (the service stores blobs). *buf is
 * malloc'ed; caller frees. */
hl_status hl_model_serialize(const hl_model *m, uint8_t **buf, size_t *len,
                             hl_error *err);
hl_status hl_model_deserialize(const uint8_t *buf, size_t len, const char *name,
                               hl_model **out, hl_error *err);

void hl_model_free(hl_model *m);

#ifdef __cplusplus
}
#endif
#endif
