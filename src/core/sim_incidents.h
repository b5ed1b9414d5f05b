/* sim_incidents.h - the plan of one simulated incident (internal).
 *
 * hl_sim_incidents_write draws each incident in two steps: a plan (roots,
 * who catches the fault from whom, when and how strongly, which nodes are
 * unobserved, each node's clock and sampling) and then the rows that plan
 * implies. The plan is exposed here, to the engine and its unit tests
 * only, so the tests can check the simulator's promises (roots observed,
 * onsets ordered along the spread, truth consistent) on the truth itself
 * rather than guess it back from noisy rows.
 */
#ifndef HEALER_SIM_INCIDENTS_H
#define HEALER_SIM_INCIDENTS_H

#include <stddef.h>
#include <stdint.h>

#include "healer/simulate.h"

/* Where every incident's clock starts, and the spacing between the
 * incidents' start times (plus up to HL__SIM_INCIDENT_JITTER seconds). */
#define HL__SIM_INCIDENT_EPOCH 1700000000.0
#define HL__SIM_INCIDENT_SPACING 3600.0
#define HL__SIM_INCIDENT_JITTER 600.0
/* A fault stops spreading once its strength falls below this. */
#define HL__SIM_SPREAD_MIN 0.25

typedef struct hl__sim_plan {
    size_t n_nodes;
    double t0;            /* the (first) root's onset, true time */
    size_t n_roots;       /* 1 or 2 */
    size_t root[2];       /* node indices */
    size_t root_class[2]; /* internal classes (>= 1) */
    /* Per node (n_nodes each): */
    size_t *cls;      /* class shown from onset on; 0 = never abnormal */
    double *strength; /* in (0, 1]; 0 = never abnormal */
    double *onset;    /* true time the fault reaches it (when strength > 0) */
    long *parent;     /* the node it caught the fault from; -1 for a root,
                         a minor anomaly or an untouched node */
    uint8_t *minor;   /* 1: an unrelated weak anomaly */
    uint8_t *observed;
    double *skew;     /* its clock minus the true time, seconds */
    double *interval; /* seconds between its samples */
    double *start;    /* true time of its first sample */
    size_t *scratch;  /* queue and permutation, n_nodes */
} hl__sim_plan;

/* Allocates a plan for n nodes (HL_ERR_NOMEM). Free with
 * hl__sim_plan_free (which accepts a zeroed plan). */
hl_status hl__sim_plan_alloc(hl__sim_plan *p, size_t n, hl_error *err);
void hl__sim_plan_free(hl__sim_plan *p);

/* Draws incident number `index` (0-based) of options o (already checked)
 * on topology t (p allocated for t->n_nodes). Deterministic by
 * (o->seed, index). */
void hl__sim_plan_draw(const hl_sim_incident_options *o, const hl_topology *t,
                       size_t index, hl__sim_plan *p);

/* The class a victim of a fault of class c shows when it does not show
 * c itself (the callers of a full disk see latency): the next non-normal
 * class, cyclically, among `classes` classes. */
size_t hl__sim_symptom_class(size_t c, size_t classes);

#endif
