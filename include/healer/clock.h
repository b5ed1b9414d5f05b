/* healer/clock.h - the monotonic clock every timing in SystemHealer reads.
 *
 * Training reports elapsed seconds, the CLI prints how long parsing and
 * prediction took, the web service times requests and jobs: one clock for
 * all of them, so their figures agree and a change of clock source is made
 * in one place. Monotonic (CLOCK_MONOTONIC): it never jumps when the wall
 * clock is set, so it measures durations only, never dates.
 */
#ifndef HEALER_CLOCK_H
#define HEALER_CLOCK_H

#ifdef __cplusplus
extern "C" {
#endif

/* Seconds since an arbitrary fixed point; thread-safe. */
double hl_clock_monotonic(void);

#ifdef __cplusplus
}
#endif
#endif
