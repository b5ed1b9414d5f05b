/* healer/rca.h - root-cause analysis: where an incident started and how it
 * spread along the topology.
 *
 * For each incident, every observed node is diagnosed from its own rows
 * (the classifier's class probabilities and the KPIs outside their normal
 * ranges, healer/normal.h), which gives the node an anomaly score, an
 * onset (its first abnormal sample) and a fault. Each candidate root is
 * then scored by three factors, all in [0, 1] (docs/rca.md gives the
 * method, its assumptions and its limits):
 *   evidence   how surely the node itself is abnormal;
 *   explained  the share of the incident's anomaly it explains: abnormal
 *              nodes it reaches against the edges (a fault at `to` makes
 *              `from` abnormal), through abnormal or unobserved nodes;
 *   timing     whether the nodes it explains became abnormal after it,
 *              within the clock skew, and within a delay per hop.
 * score = evidence x explained x timing; ranks are sorted by it.
 *
 * Threads: a result is immutable; the inputs are only read.
 */
#ifndef HEALER_RCA_H
#define HEALER_RCA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "healer/error.h"
#include "healer/incidents.h"
#include "healer/model.h"
#include "healer/normal.h"
#include "healer/topology.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Candidate roots listed per incident by default, and at most. */
#define HL_RCA_TOP_DEFAULT 5
#define HL_RCA_MAX_TOP 100
/* Clock skew plus sampling interval tolerated between two nodes' onsets,
 * in seconds, by default (node clocks drift by tens of seconds; samples
 * are 30-60 s apart). */
#define HL_RCA_SKEW_DEFAULT 90.0
/* The largest skew, in seconds (a day: beyond it onsets say nothing). */
#define HL_RCA_SKEW_MAX 86400.0
/* The longest a fault is expected to take to cross one edge, in seconds,
 * by default; a dependant that turns abnormal much later than that is
 * less likely its victim. */
#define HL_RCA_HOP_DELAY_DEFAULT 300.0
/* The range of the hop delay, in seconds (a millisecond to a day). */
#define HL_RCA_HOP_DELAY_MIN 0.001
#define HL_RCA_HOP_DELAY_MAX 86400.0
/* Abnormal KPIs kept per node (its most anomalous row's, farthest first). */
#define HL_RCA_MAX_KPIS 5

/* Called after each incident with (incidents done, total), and also
 * inside a long incident (every few best-path searches of its ranking)
 * with done unchanged: so it may be called more than once with the same
 * (done, total). Return non-zero to stop (hl_rca_run then returns
 * HL_ERR_CANCELLED, also from inside an incident). Calls are serialised
 * (never concurrent) but may come from a worker thread. */
typedef int (*hl_rca_progress_fn)(size_t done, size_t total, void *arg);

typedef struct hl_rca_options {
    const char *normal;   /* the normal class's label; NULL = "normal"
                             (HL_NORMAL_DEFAULT_CLASS) */
    size_t top;           /* candidates per incident, 1..HL_RCA_MAX_TOP */
    double skew;          /* seconds, 0..HL_RCA_SKEW_MAX */
    double hop_delay;     /* seconds, HL_RCA_HOP_DELAY_MIN..MAX */
    int threads;          /* as for prediction: 0 = all cores */
    hl_rca_progress_fn progress; /* may be NULL */
    void *progress_arg;
} hl_rca_options;

void hl_rca_options_init(hl_rca_options *opt);

/* HL_OK when top, skew and hop_delay are in their ranges above, else
 * HL_ERR_INVALID with err->field "top", "skew" or "hop_delay" and a
 * message giving the range. hl_rca_run checks the same; a caller that
 * validates a request before running it (the service) calls this so
 * that the ranges stay the engine's. Pure, thread-safe. */
hl_status hl_rca_options_check(const hl_rca_options *opt, hl_error *err);

/* One observed node of an incident, as its own rows diagnose it. */
typedef struct hl_rca_node {
    size_t node;        /* topology node index */
    size_t rows;        /* its samples in the incident */
    double anomaly;     /* [0, 1]: how abnormal it is, sustained over its
                           samples from its onset on (docs/rca.md) */
    int abnormal;       /* anomaly >= 0.5 */
    int32_t fault;      /* abnormal: the non-normal class most likely over
                           its samples the classifier calls abnormal
                           (p(normal) < 0.5); -1 = unknown when there is
                           none (abnormal by its KPIs alone). Not abnormal:
                           the normal class (hl_rca_result.normal_class) */
    double confidence;  /* the mean probability of `fault` over those
                           samples (all of them for a normal node); NAN
                           when fault is -1 */
    double onset;       /* time of its first abnormal sample (seconds, as
                           hl_incidents.time); NAN when none is abnormal */
    char *onset_text;   /* that timestamp as written; NULL when none */
    size_t n_abnormal_kpis;
    hl_abnormal_kpi abnormal_kpis[HL_RCA_MAX_KPIS];
} hl_rca_node;

/* An edge of a propagation tree: the fault went from `parent` to `node`. */
typedef struct hl_rca_step {
    size_t node;
    long parent; /* topology node index; -1 for the root */
} hl_rca_step;

/* One candidate root of an incident. */
typedef struct hl_rca_cause {
    size_t node;        /* topology node index */
    int observed;       /* 0: no rows (a dependency of abnormal nodes
                           that reports nothing); fault -1, onset NAN */
    int32_t fault;      /* its hl_rca_node's fault (the normal class for a
                           node that is not abnormal, -1 when unknown) */
    double confidence;
    double score;       /* [0, 1] = evidence x explained x timing */
    double evidence, explained, timing;
    double onset;
    char *onset_text;
    size_t path_len;    /* >= 1: the root first, then the longest chain */
    size_t *path;       /* of nodes it explains, outwards */
    size_t tree_len;    /* the propagation tree: the root and every node */
    hl_rca_step *tree;  /* it explains (with the unobserved ones between),
                           parents before children */
} hl_rca_cause;

typedef struct hl_rca_incident {
    char *id;
    size_t n_nodes;       /* observed nodes */
    hl_rca_node *nodes;   /* ascending node index */
    size_t n_abnormal;
    size_t n_causes;      /* min(top, candidates); 0 only when no node
                             has rows */
    hl_rca_cause *causes; /* rank order: descending score (ties: earlier
                             onset, then lower node index) */
} hl_rca_incident;

typedef struct hl_rca_result {
    size_t n_incidents;
    hl_rca_incident *incidents; /* in the order of hl_incidents */
    int32_t normal_class;       /* the model's index of the normal class */
    size_t top;
} hl_rca_result;

/* The model's index of the normal class `normal` (NULL = "normal"), or
 * HL_ERR_INVALID whose message names the classes and says to pass
 * --normal LABEL. */
hl_status hl_rca_normal_class(const hl_model *m, const char *normal,
                              int32_t *out, hl_error *err);

/* Analyses every incident of inc (read against topology t) with model m
 * (its features matched to inc's KPI columns by name: a missing one is
 * HL_ERR_DATA naming it; extra columns are ignored with a warning into
 * warn, which may be NULL). HL_ERR_INVALID for options out of range
 * (hl_rca_options_check: err->field names the option) or no normal
 * class, HL_ERR_CANCELLED, HL_ERR_NOMEM. The result does not depend on
 * threads. */
hl_status hl_rca_run(const hl_model *m, const hl_topology *t,
                     const hl_incidents *inc, const hl_rca_options *opt,
                     hl_rca_result **out, hl_warnings *warn, hl_error *err);

void hl_rca_result_free(hl_rca_result *r);

/* The ranks as CSV, header incident_id,rank,node,fault,score,onset,path:
 * one line per cause; fault the model's label of the node's fault (the
 * normal class's for a node that is not abnormal; empty for an unobserved
 * cause or an unknown fault), score with 4 decimals, onset as written (empty when unknown),
 * path node ids joined by '>'. */
hl_status hl_rca_write_csv(FILE *f, const hl_rca_result *r,
                           const hl_topology *t, const hl_model *m,
                           hl_error *err);

/* One incident as a JSON object (docs/cli.md, "healer rca --json"): its
 * ranks with their paths, factors and propagation trees, and every
 * observed node with its diagnosis and abnormal KPIs. */
hl_status hl_rca_write_incident_json(FILE *f, const hl_rca_result *r,
                                     size_t incident, const hl_topology *t,
                                     const hl_model *m, hl_error *err);

/* The whole result as JSON: {"normal": LABEL, "top": K, "incidents":
 * [hl_rca_write_incident_json ...]}. */
hl_status hl_rca_write_json(FILE *f, const hl_rca_result *r,
                            const hl_topology *t, const hl_model *m,
                            hl_error *err);

/* Scores of ranks against the truth (`healer rca-eval`). */
typedef struct hl_rca_eval {
    size_t incidents;     /* incidents in the truth */
    size_t unranked;      /* ... of which the ranks say nothing */
    double top1, top3, top5; /* share of incidents with a root within the
                                first 1, 3, 5 ranks */
    size_t node_right;    /* incidents whose rank-1 node is a root */
    double fault_accuracy;/* share of those whose rank-1 fault is that
                             root's (NAN when node_right is 0) */
    double mean_rank;     /* the best rank of a root, averaged; a root not
                             ranked counts as the incident's ranks + 1 */
} hl_rca_eval;

/* Reads a ranks CSV (header incident_id,rank,node,fault,score,onset,path)
 * and a truth CSV (header incident_id,root_node,root_fault; an incident
 * with two roots has two lines) and scores them. HL_ERR_PARSE for a
 * malformed file (line, column), HL_ERR_DATA for an empty truth or a
 * rank that is not a positive integer, HL_ERR_IO. */
hl_status hl_rca_eval_files(const char *ranks_path, const char *truth_path,
                            hl_rca_eval *out, hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
