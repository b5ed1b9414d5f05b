/* domain/diag_explain.h - what a diagnosis says about each row beyond its
 * verdict, and about its batch: the KPIs that pushed the row towards its
 * predicted class, the KPIs outside their normal ranges, and whether the
 * batch is the model's own training data.
 *
 * Computed once, when the diagnosis runs (the engine's contributions of
 * the predicted class only, a chunk of rows at a time), and stored with
 * the rows (results.h), so pages, filters and exports only read them.
 * A GBDT's every row is explained: the predicted class's contributions
 * cost about 0.2 ms a row on one core (docs/benchmarks.md). A forest's,
 * extra-trees' or stack's cost a whole TreeSHAP, tens of milliseconds a
 * row: the first rows that fit in a budget of processor time are
 * explained, which covers single samples and batches of a few hundred
 * rows; the summary says how many were and why the others were not.
 */
#ifndef HEALER_HS_DIAG_EXPLAIN_H
#define HEALER_HS_DIAG_EXPLAIN_H

#include <jansson.h>

#include "base/error.h"
#include "domain/results.h"
#include "healer/healer.h"

/* The processor time, in milliseconds of one core, that explaining the
 * rows of one diagnosis of a forest, extra-trees or stack model may take
 * by default (the explain-budget-ms setting): a default forest's first
 * 300 or so rows. */
#define HS_DIAG_EXPLAIN_BUDGET_MS 10000

/* The most of that budget a diagnosis answered at once (not a job) may
 * spend: its request holds a write thread, with no progress and no
 * cancel, so a batch of a costly model explains its first rows within
 * about a second there, and a job (sync-rows) has the whole budget. */
#define HS_DIAG_EXPLAIN_REQUEST_MS 1000

/* Called between chunks of rows with the share done (0..1); nonzero asks
 * to stop. */
typedef struct hs_diag_progress {
    int (*stop)(void *ctx, double done);
    void *ctx;
} hs_diag_progress;

/* A run's explanations (owned arrays; release with hs_diag_explained_free). */
typedef struct hs_diag_explained {
    unsigned flags;                /* HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL */
    size_t n_kpis;
    char **kpi_names;              /* n_kpis */
    hs_row_explanation *rows;      /* n_rows */
    uint8_t *abnormal_bits;        /* n_rows * hs_results_bits_bytes(n_kpis) */
    json_t *status; /* {explained, explained_rows, explain_skipped,
                       abnormal_checked, abnormal_kpis,
                       training_overlap}: the summary's part */
} hs_diag_explained;

void hs_diag_explained_free(hs_diag_explained *e);

/* Explains the rows of ds (columns matched to m's features by name)
 * whose predicted class (m's class index) is predicted[i]: the
 * HS_RESULTS_TOP KPIs with the largest positive contributions towards it
 * (hl_explain_top), the HS_RESULTS_TOP KPIs farthest outside their normal
 * ranges and the bit set of all of them (none for a model without
 * ranges: abnormal_checked false), and the batch's training overlap
 * (hl_model_training_overlap_dataset; null for a model without a
 * fingerprint).
 *
 * Which rows get contributions: every row for a model that explains rows
 * cheaply (hl_model_explains_rows_cheaply: a GBDT); none for a learner
 * that cannot explain (an MLP: explain_skipped.reason "cannot_explain");
 * else the first rows whose estimated cost (hl_model_explain_row_cost)
 * fits in budget_ms milliseconds of one core, the others with no top
 * KPIs (explain_skipped.reason "too_costly"). explained_rows counts the
 * rows explained, explain_skipped {reason, message, rows_explained,
 * rows_skipped, and for too_costly row_cost_ms and budget_ms} says why
 * the others were not (null when none was left out); every row gets its
 * abnormal KPIs either way.
 *
 * progress may be NULL; it is asked between chunks (a chunk of costly
 * rows takes about half a second). HS_ERR_NOMEM, HS_ERR_CONFLICT
 * "cancelled by the user" when progress asked to stop. */
hs_status hs_diag_explain(const hl_model *m, const hl_dataset *ds,
                          const int32_t *predicted, unsigned budget_ms,
                          const hs_diag_progress *progress,
                          hs_diag_explained *out, hs_error *err);

/* Adds "top" and "abnormal" to the API item of row i of d ([] when d
 * holds no such explanations). */
void hs_diag_explain_item(json_t *item, const hs_results_data *d, size_t i);

/* Fills in what a diagnosis stored before explanations lacks: explained
 * false with explain_skipped {reason "not_stored"}, abnormal_checked
 * false, abnormal_kpis [], training_overlap null; and what one stored
 * before budgets lacks: explained_rows (all or none), explain_skipped's
 * rows_explained 0 and rows_skipped. */
void hs_diag_explain_defaults(json_t *diagnosis);

#endif
