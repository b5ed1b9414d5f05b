/* base/clock.c - the system clock and manual clocks (see clock.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "base/clock.h"

struct hs_clock {
    int manual;          /* 0: read the system clock */
    _Atomic int64_t now; /* a manual clock's time */
};

static hs_clock system_clock = {0, 0};

const hs_clock *hs_clock_system(void) { return &system_clock; }

hs_clock *hs_clock_manual(int64_t start)
{
    hs_clock *c = malloc(sizeof *c);
    if (c) {
        c->manual = 1;
        atomic_init(&c->now, start);
    }
    return c;
}

void hs_clock_set(hs_clock *c, int64_t now)
{
    if (c && c->manual)
        atomic_store(&c->now, now);
}

void hs_clock_advance(hs_clock *c, int64_t seconds)
{
    if (c && c->manual)
        atomic_fetch_add(&c->now, seconds);
}

void hs_clock_free(hs_clock *c)
{
    if (c && c->manual)
        free(c);
}

int64_t hs_clock_now(const hs_clock *c)
{
    if (c && c->manual)
        return atomic_load(&c->now);
    return (int64_t)time(NULL);
}
