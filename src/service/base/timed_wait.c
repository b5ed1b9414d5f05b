/* base/timed_wait.c - monotonic timed waits (see timed_wait.h). */
#include "base/timed_wait.h"

int hs_cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return rc;
}

struct timespec hs_monotonic_deadline(double seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)seconds;
    t.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

int hs_cond_wait_for(pthread_cond_t *cond, pthread_mutex_t *mutex,
                     double seconds)
{
    struct timespec until = hs_monotonic_deadline(seconds);
    return pthread_cond_timedwait(cond, mutex, &until);
}
