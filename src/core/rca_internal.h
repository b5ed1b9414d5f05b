/* rca_internal.h - what the files of root-cause analysis share (not public
 * API): the method's constants, defined once and explained in docs/rca.md,
 * and the steps hl_rca_run chains:
 *   rca_node.c   a row's anomaly, a node's diagnosis from its rows;
 *   rca_rank.c   candidates scored on the graph, their paths and trees;
 *   rca.c        options, prediction in batches, threads, progress.
 */
#ifndef HEALER_RCA_INTERNAL_H
#define HEALER_RCA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "healer/rca.h"

/* A row, and a node through its most anomalous row, is abnormal from this
 * anomaly on. */
#define HL__RCA_ABNORMAL 0.5
/* The KPI term of a row's anomaly: b = 1 - exp(-S / (HL__RCA_KPI_SCALE
 * x the model's KPIs)), S the robust units beyond the normal ranges summed
 * over the KPIs: on average one unit past its range per KPI gives b =
 * 0.63. Scaled by the KPI count because S of a normal row grows with it
 * (each KPI has its own small chance to stray, heavy-tailed ones more). */
#define HL__RCA_KPI_SCALE 1.0
/* evidence = 1 / (1 + exp(-HL__RCA_EVIDENCE_SLOPE (a - HL__RCA_ABNORMAL))):
 * 0.5 at the threshold, 0.92 at a = 0.7, 0.99 at 0.9. */
#define HL__RCA_EVIDENCE_SLOPE 12.0
/* The evidence of a node without rows all of whose observed direct
 * dependants are abnormal (scaled by the share that are). */
#define HL__RCA_UNOBSERVED_EVIDENCE 0.3
/* How much of a fault a node without rows passes on (we cannot see it
 * did); an observed normal node passes its own anomaly, an abnormal one
 * all of it. */
#define HL__RCA_UNOBSERVED_PASS 0.7
/* Paths weaker than this are not followed: the search stays inside the
 * incident's anomaly region. */
#define HL__RCA_MIN_REACH 0.05
/* A node is in a cause's propagation tree (and may end its path) when
 * reach x timing weight is at least this. */
#define HL__RCA_TREE_MIN 0.5

/* One node's diagnosis from its rows [first, first + n) of a batch:
 * e[] their anomalies, proba[] their K class probabilities, x[] their
 * KPIs in the model's order (nf per row); time/time_text of the
 * incidents, indexed from `row0`. Fills everything of *out but `node`.
 * HL_ERR_NOMEM only. */
typedef struct hl__rca_rows {
    const hl_model *m;
    int32_t normal; /* the normal class */
    size_t K, nf;
    const float *x; /* batch rows, model order */
    const double *proba;
    const double *e;
    const double *time; /* of the incidents' rows, from the batch's first */
    char *const *time_text;
    /* per KPI, its normal range (NULL when the model has none): a value
     * inside needs no distance (no logarithm) */
    const double *low, *high;
} hl__rca_rows;

/* e[i] for rows [0, n) of r (r->e is where they go). */
void hl__rca_row_anomalies(const hl__rca_rows *r, size_t first, size_t n,
                           double *e);

hl_status hl__rca_diagnose_node(const hl__rca_rows *r, size_t first, size_t n,
                                hl_rca_node *out);

/* Scratch memory of one worker for ranking the incidents of one topology. */
typedef struct hl__rca_scratch hl__rca_scratch;

hl__rca_scratch *hl__rca_scratch_new(size_t n_nodes);
void hl__rca_scratch_free(hl__rca_scratch *s);

/* Ranks the candidates of incident `in` (its nodes diagnosed, ascending
 * node index) and fills in->n_abnormal, in->n_causes and in->causes.
 * HL_ERR_NOMEM only. */
hl_status hl__rca_rank(const hl_topology *t, const hl_rca_options *opt,
                       hl__rca_scratch *s, hl_rca_incident *in);

/* The evidence factor of an observed node of anomaly a. */
double hl__rca_evidence(double a);

/* Frees what one cause owns. */
void hl__rca_cause_clear(hl_rca_cause *c);

#endif
