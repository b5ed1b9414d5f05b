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

/* A node is abnormal when its sustained anomaly (rca_node.c) is at least
 * this; its onset is the first row at least this abnormal from which the
 * sustained anomaly is too. */
#define HL__RCA_ABNORMAL 0.5
/* The KPI view (rca_node.c): a node is abnormal by its KPIs alone when
 * its sustained log(1 + units beyond the normal ranges) is this many
 * robust deviations above the median of the incident's observed nodes
 * (deviations of at least HL__RCA_KPI_MIN_UNIT: a factor e ~ 2.7 in
 * excess, when most nodes are exactly inside). */
#define HL__RCA_KPI_OUTLIER 4.0
#define HL__RCA_KPI_MIN_UNIT 1.0
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
/* The timing weight a victim loses when it turned abnormal a whole skew
 * before its supposed cause (linearly less for less; rca_rank.c). */
#define HL__RCA_EARLY_PENALTY 0.1
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
    const double *g;    /* per row: log(1 + robust units beyond the normal
                           ranges, summed over the KPIs) */
    const double *time; /* of the incidents' rows, from the batch's first */
    char *const *time_text;
    /* per KPI, its normal range (NULL when the model has none): a value
     * inside needs no distance (no logarithm) */
    const double *low, *high;
} hl__rca_rows;

/* e[i] (the classifier's 1 - p(normal)) and g[i] (the KPI view) for rows
 * [first, first + n) of r (r->e and r->g are where they go). */
void hl__rca_row_anomalies(const hl__rca_rows *r, size_t first, size_t n,
                           double *e, double *g);

/* The node's diagnosis by the classifier's view; *kpi_level = its
 * sustained KPI view, for hl__rca_kpi_centre. */
hl_status hl__rca_diagnose_node(const hl__rca_rows *r, size_t first, size_t n,
                                hl_rca_node *out, double *kpi_level);

/* The median and robust unit (at least HL__RCA_KPI_MIN_UNIT) of the
 * incident's nodes' KPI levels. HL_ERR_NOMEM only. */
hl_status hl__rca_kpi_centre(const double *level, size_t n, double *centre,
                             double *unit);

/* Makes a node the classifier calls normal abnormal when its KPIs are an
 * outlier of the incident (see rca_node.c). HL_ERR_NOMEM only. */
hl_status hl__rca_kpi_gate(const hl__rca_rows *r, size_t first, size_t n,
                           double centre, double unit, hl_rca_node *out);

/* Scratch memory of one worker for ranking the incidents of one topology. */
typedef struct hl__rca_scratch hl__rca_scratch;

hl__rca_scratch *hl__rca_scratch_new(size_t n_nodes);
void hl__rca_scratch_free(hl__rca_scratch *s);

/* Full best-path searches from candidates per incident, at most: with
 * more candidates only the likeliest roots by a cheap key are searched
 * and ranked (rca_rank.c; docs/rca.md). 256 searches of a 10,000-node,
 * 200,000-edge incident whose nodes are all abnormal take about a second. */
#define HL__RCA_MAX_SEARCHES 256
/* Searches between two calls of the ranking's tick. */
#define HL__RCA_TICK_SEARCHES 16

/* Called by the ranking every HL__RCA_TICK_SEARCHES searches; non-zero
 * stops it (HL_ERR_CANCELLED). */
typedef int (*hl__rca_tick_fn)(void *arg);

/* Ranks the candidates of incident `in` (its nodes diagnosed, ascending
 * node index) and fills in->n_abnormal, in->n_causes and in->causes.
 * tick (may be NULL) is called with tick_arg every HL__RCA_TICK_SEARCHES
 * searches. HL_ERR_NOMEM, HL_ERR_CANCELLED (the tick said stop; causes
 * filled so far are in in->causes, freed with the incident). */
hl_status hl__rca_rank(const hl_topology *t, const hl_rca_options *opt,
                       hl__rca_scratch *s, hl_rca_incident *in,
                       hl__rca_tick_fn tick, void *tick_arg);

/* The full searches run with s so far (for tests of the bound). */
size_t hl__rca_scratch_searches(const hl__rca_scratch *s);

/* Room for one value per observed node of an incident (the KPI levels). */
double *hl__rca_scratch_levels(hl__rca_scratch *s);

/* The evidence factor of an observed node of anomaly a. */
double hl__rca_evidence(double a);

/* Frees what one cause owns. */
void hl__rca_cause_clear(hl_rca_cause *c);

#endif
