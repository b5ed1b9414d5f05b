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

#ifdef __cplusplus
}
#endif
#endif
