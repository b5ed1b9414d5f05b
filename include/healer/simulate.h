/* healer/simulate.h - synthetic KPI samples from a small faulty system.
 *
 * A seed fixes the "system": which KPIs exist, how they correlate through a
 * few latent load factors, which are heavy-tailed, and the signature of every
 * fault class (the KPIs it moves, in which direction, by how much). Samples
 * are then drawn from that system. `variant` 0 draws from the training
 * distribution; variant 1 draws from the same system after a distribution
 * shift of strength `shift` (some KPIs rescaled, the class mix changed), as
 * between a training file and a real deployment. Deterministic for a given
 * (options, variant).
 */
#ifndef HEALER_SIMULATE_H
#define HEALER_SIMULATE_H

#include <stddef.h>
#include <stdint.h>

#include "healer/dataset.h"
#include "healer/error.h"
#include "healer/topology.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_sim_options {
    size_t samples;             /* rows to generate, default 2000 */
    size_t features;            /* KPIs, default 32 (>= 4) */
    size_t classes;             /* fault classes incl. class 0 "normal", default 6 (2..64) */
    double imbalance;           /* frequency ratio most/least frequent class, default 8 (>= 1) */
    double missing_rate;        /* fraction of feature cells left empty, default 0.03 */
    double heavy_tail_fraction; /* fraction of KPIs with a heavy-tailed distribution, default 0.3 */
    double noise;               /* relative strength of per-sample noise, default 1.0 */
    double shift;               /* shift strength used by variant 1, default 0.5 */
    int string_labels;          /* non-zero: labels are names such as "disk_full" */
    uint64_t seed;              /* default 42 */
} hl_sim_options;

void hl_sim_options_init(hl_sim_options *opt);

/* Generates a labelled dataset with sample ids. Validates the options
 * (HL_ERR_INVALID naming the bad one). Caller frees *out. */
hl_status hl_simulate(const hl_sim_options *opt, int variant, hl_dataset **out,
                      hl_error *err);

/* The most KPIs a fault's signature moves. */
#define HL_SIM_MAX_SIGNATURE 5

/* What a simulated fault class does: its label as the CSV writes it, and
 * the KPIs its signature moves with their direction (+1 up, -1 down).
 * Normal operation (class 0) moves none. A signature KPI also drags
 * another KPI along now and then, weaker: those are not listed. */
typedef struct hl_sim_signature {
    char label[32];
    size_t n;
    size_t kpi[HL_SIM_MAX_SIGNATURE]; /* feature indices (featureJ) */
    int direction[HL_SIM_MAX_SIGNATURE];
} hl_sim_signature;

/* The signature of each of opt->classes classes into out[]: the truth an
 * explanation of the simulated data can be checked against. Validates
 * the options as hl_simulate. */
hl_status hl_sim_signatures(const hl_sim_options *opt,
                            hl_sim_signature *out, hl_error *err);

/* Which KPIs variant 1 moves on purpose: shifted[j] = 1 for the KPIs whose
 * level it rescales (or offsets), 0 for the others (n = opt->features
 * bytes). Variant 1 also changes the class mix and the load a little,
 * which moves the others' distributions far less - what a drift check
 * must tell apart. HL_ERR_INVALID for bad options, as hl_simulate. */
hl_status hl_sim_shifted_features(const hl_sim_options *opt, uint8_t *shifted,
                                  hl_error *err);


/* ---- Topologies and incidents (root-cause analysis) ---- */

typedef enum hl_topology_shape {
    HL_SHAPE_CHAIN = 0,        /* n0 -> n1 -> ... : each depends on the next */
    HL_SHAPE_TREE,             /* a caller tree: each node depends on its
                                  children, the leaves are the backends */
    HL_SHAPE_MESH,             /* a random graph with cycles and some
                                  bidirectional edges */
    HL_SHAPE_MICROSERVICES     /* gateways -> services -> shared databases,
                                  caches and queues, with kinds */
} hl_topology_shape;

/* "chain", "tree", "mesh", "microservices" -> *out; -1 for another name. */
int hl_topology_shape_parse(const char *name, hl_topology_shape *out);
const char *hl_topology_shape_name(hl_topology_shape s);

/* A topology of `nodes` nodes (2..HL_TOPOLOGY_MAX_NODES_DEFAULT) of the
 * given shape, deterministic by seed. Caller frees *out. */
hl_status hl_sim_topology(hl_topology_shape shape, size_t nodes, uint64_t seed,
                          hl_topology **out, hl_error *err);

/* The ranges of hl_sim_incident_options (hl_sim_incidents_write refuses
 * others; the CLI's flags take them from here): incidents 1..,
 * rows_per_node 1.., unobserved [0, .], minor_anomalies [0, .], max_skew
 * [0, .] seconds. Plain integers where they can be, so that they can be
 * stringified into messages. */
#define HL_SIM_MAX_INCIDENTS 1000000
#define HL_SIM_MAX_ROWS_PER_NODE 64
#define HL_SIM_MAX_UNOBSERVED 0.9
#define HL_SIM_MAX_MINOR_ANOMALIES 100
#define HL_SIM_MAX_SKEW 3600

typedef struct hl_sim_incident_options {
    hl_sim_options system; /* the system whose KPIs the nodes report (its
                              seed fixes the fault signatures: a training
                              file drawn with the same options matches);
                              labels are always names (normal, disk_full...) */
    size_t incidents;      /* default 100 */
    size_t rows_per_node;  /* samples per observed node, default 4
                              (1..HL_SIM_MAX_ROWS_PER_NODE) */
    double unobserved;     /* share of nodes without rows, default 0.1 */
    double minor_anomalies;/* mean unrelated weak anomalies per incident,
                              default 1 */
    double two_roots;      /* share of incidents with a second,
                              simultaneous root, default 0 */
    double max_skew;       /* node clock skew, +- seconds, default 30 */
    int iso_time;          /* timestamps in ISO 8601 instead of seconds */
    uint64_t seed;         /* incidents' own seed, default 42 */
} hl_sim_incident_options;

void hl_sim_incident_options_init(hl_sim_incident_options *opt);

/* Writes opt->incidents incidents on topology t to csv_path (header
 * incident_id,node,timestamp,feature0..) and their roots to truth_path
 * (header incident_id,root_node,root_fault; two lines for two roots),
 * both atomically. A fault of a non-normal class starts on one root node,
 * spreads against the edges to dependants with a delay and an
 * attenuation per hop, with noise, unobserved nodes and unrelated minor
 * anomalies. HL_ERR_INVALID naming a bad option. */
hl_status hl_sim_incidents_write(const hl_sim_incident_options *opt,
                                 const hl_topology *t, const char *csv_path,
                                 const char *truth_path, hl_error *err);

#ifdef __cplusplus
}
#endif
#endif
