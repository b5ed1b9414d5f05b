/* base/timed_wait.h - condition variables timed on the monotonic clock.
 *
 * A wait bounded in time must not stretch or shrink when the wall clock is
 * set (NTP, an operator), so every timed wait of the service (the job
 * runner's workers and keeper, the connection guard's timer, the health
 * checks' waiters, the alerts' sender) uses a condition variable made on
 * CLOCK_MONOTONIC and a deadline on the same clock; these helpers are the one
 * place that builds both.
 */
#ifndef HEALER_HS_TIMED_WAIT_H
#define HEALER_HS_TIMED_WAIT_H

#include <pthread.h>
#include <time.h>

/* Initialises cond on the monotonic clock (pthread_cond_init's result). */
int hs_cond_init_monotonic(pthread_cond_t *cond);

/* The monotonic time `seconds` (>= 0) from now, for pthread_cond_timedwait
 * on a condition made by hs_cond_init_monotonic. */
struct timespec hs_monotonic_deadline(double seconds);

/* Waits on cond (made by hs_cond_init_monotonic, mutex held) for at most
 * `seconds`; pthread_cond_timedwait's result (ETIMEDOUT when it ran out). */
int hs_cond_wait_for(pthread_cond_t *cond, pthread_mutex_t *mutex,
                     double seconds);

#endif
