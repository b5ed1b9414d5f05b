/* sim_system.h - the simulated system of simulate.c, one row at a time.
 *
 * hl_simulate draws whole labelled datasets; the incident simulator
 * (sim_incidents.c) needs the same system (KPIs, load factors, heavy
 * tails, fault signatures) to draw single rows of a chosen class at a
 * chosen strength, in an order it decides (node by node, time step by
 * time step). This header is that narrow door into simulate.c, so the
 * system is defined once and a training file drawn by hl_simulate with
 * the same options matches the incidents' signatures.
 *
 * Internal to the engine (hl__ prefix): not part of the public API.
 */
#ifndef HEALER_SIM_SYSTEM_H
#define HEALER_SIM_SYSTEM_H

#include <stddef.h>

#include "healer/simulate.h"
#include "internal.h"

/* A built system with a sampler of the training distribution (variant 0). */
typedef struct hl__sim_source hl__sim_source;

/* Validates opt as hl_simulate does (HL_ERR_INVALID naming the option)
 * and builds its system. Caller frees *out with hl__sim_source_free.
 * One source draws one row at a time: not for concurrent use. */
hl_status hl__sim_source_new(const hl_sim_options *opt, hl__sim_source **out,
                             hl_error *err);

void hl__sim_source_free(hl__sim_source *src);

/* Draws one row of internal class cls (0 = normal, < opt->classes) into
 * out[0 .. opt->features), from the generator r: the load, noise and tails
 * of every row, plus the class's fault effects with their severity scaled
 * by strength (in [0, 1]; 1 = a training row of that class, 0 = normal
 * operation), and missing cells (NaN) at the system's rate. Returns the
 * number of missing cells. */
size_t hl__sim_source_row(hl__sim_source *src, size_t cls, double strength,
                          hl__rng *r, float *out);

/* The label of internal class c as the CSV writes it (string labels:
 * "normal", "disk_full", ...; else "0", "1", ...), malloc'ed; NULL when
 * out of memory. */
char *hl__sim_class_name(size_t c, int string_labels);

/* U(lo, hi) from r: every uniform draw of the simulators. */
double hl__sim_uniform(hl__rng *r, double lo, double hi);

/* HL_ERR_INVALID "simulate: option 'NAME' must be RANGE": the one way the
 * simulators refuse an option. */
hl_status hl__sim_bad_option(hl_error *err, const char *name,
                             const char *range);

#endif
