/* domain/diag_explain.h - what a diagnosis says about each row beyond its
 * verdict, and about its batch: the KPIs that pushed the row towards its
 * predicted class, the KPIs outside their normal ranges, and whether the
 * batch is the model's own training data.
 *
 * Computed once, when the diagnosis runs (the engine's contributions of
 * the predicted class only, a chunk of rows at a time), and stored with
 * the rows (results.h), so pages, filters and exports only read them.
 * Every row is explained: the predicted class's contributions cost about
 * 0.2 ms a row on one core for the default GBDT (docs/benchmarks.md), so
 * no cap is needed for the batches the service takes.
 */
#ifndef HEALER_HS_DIAG_EXPLAIN_H
#define HEALER_HS_DIAG_EXPLAIN_H

#include <jansson.h>

#include "base/error.h"
#include "domain/results.h"
#include "healer/healer.h"

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
    json_t *status;  /* {explained, explain_skipped, abnormal_checked,
                        abnormal_kpis, training_overlap}: the summary's
                        part */
} hs_diag_explained;

void hs_diag_explained_free(hs_diag_explained *e);

/* Explains every row of ds (columns matched to m's features by name)
 * whose predicted class (m's class index) is predicted[i]: the
 * HS_RESULTS_TOP KPIs with the largest positive contributions towards it
 * (hl_explain_top: none when the learner cannot explain, an MLP, which
 * status says with reason "cannot_explain"), the HS_RESULTS_TOP KPIs
 * farthest outside their normal ranges and the bit set of all of them
 * (none for a model without ranges: abnormal_checked false), and the
 * batch's training overlap (hl_model_training_overlap_dataset; null for a
 * model without a fingerprint). progress may be NULL. HS_ERR_NOMEM,
 * HS_ERR_CONFLICT "cancelled by the user" when progress asked to stop. */
hs_status hs_diag_explain(const hl_model *m, const hl_dataset *ds,
                          const int32_t *predicted,
                          const hs_diag_progress *progress,
                          hs_diag_explained *out, hs_error *err);

/* Adds "top" and "abnormal" to the API item of row i of d ([] when d
 * holds no such explanations). */
void hs_diag_explain_item(json_t *item, const hs_results_data *d, size_t i);

/* Fills in what a diagnosis stored before explanations lacks: explained
 * false with explain_skipped {reason "not_stored"}, abnormal_checked
 * false, abnormal_kpis [], training_overlap null. */
void hs_diag_explain_defaults(json_t *diagnosis);

#endif
