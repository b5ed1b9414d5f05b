/* base/clock.h - the service's one wall clock, which tests can set.
 *
 * Every date the service records or compares (a session's expiry, a
 * lockout, when a dataset went to the trash, a job's lease) is read from an
 * hs_clock handed down from the app, never from time(2) directly: the
 * system clock in production, a manual one in tests, which then check a
 * 7-day rule by moving the clock 7 days instead of sleeping or skipping.
 * Durations (request latency, a job's run time) are measured with the
 * engine's monotonic clock, hl_clock_monotonic() (healer/clock.h).
 *
 * Thread-safety: every function may be called from any thread; a manual
 * clock may be moved while others read it.
 */
#ifndef HEALER_HS_CLOCK_H
#define HEALER_HS_CLOCK_H

#include <stdint.h>

typedef struct hs_clock hs_clock;

/* The system clock (CLOCK_REALTIME). Static: never freed. */
const hs_clock *hs_clock_system(void);

/* A manual clock that reads `start` until it is set or advanced. Returns
 * NULL when out of memory; free with hs_clock_free. */
hs_clock *hs_clock_manual(int64_t start);
void hs_clock_set(hs_clock *c, int64_t now);
void hs_clock_advance(hs_clock *c, int64_t seconds);
/* Frees a manual clock; the system clock and NULL are ignored. */
void hs_clock_free(hs_clock *c);

/* Unix seconds now, by clock c (NULL = the system clock). */
int64_t hs_clock_now(const hs_clock *c);

#endif
