/* registry.c - the table of learners: the one place that lists them.
 *
 * Everything else finds a learner here by name once and then talks to its
 * ops (learner.h); no other file compares algorithm names. The first entry
 * is the default learner. To add a learner: its folder under learners/,
 * its extern below and a line in LEARNERS.
 */
#include <stdio.h>
#include <string.h>

#include "learner.h"

extern const hl__learner hl__gbdt_learner;
extern const hl__learner hl__forest_learner;
extern const hl__learner hl__extratrees_learner;
extern const hl__learner hl__mlp_learner;
extern const hl__learner hl__stack_learner;
extern const hl__learner hl__auto_learner;

static const hl__learner *const LEARNERS[] = {
    &hl__gbdt_learner,
    &hl__forest_learner,
    &hl__extratrees_learner,
    &hl__mlp_learner,
    &hl__stack_learner,
    &hl__auto_learner,
};

#define N_LEARNERS (sizeof LEARNERS / sizeof LEARNERS[0])

const hl__learner *hl__learner_at(size_t i)
{
    return i < N_LEARNERS ? LEARNERS[i] : NULL;
}

const hl__learner *hl__learner_find(const char *name)
{
    for (size_t i = 0; name && i < N_LEARNERS; i++)
        if (strcmp(LEARNERS[i]->info.name, name) == 0)
            return LEARNERS[i];
    return NULL;
}

void hl__learner_names(char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < N_LEARNERS && used < cap; i++) {
        int n = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "",
                         LEARNERS[i]->info.name);
        used += n > 0 ? (size_t)n : 0;
    }
}

/* ---- the public view (healer/params.h) ---- */

size_t hl_learner_count(void)
{
    return N_LEARNERS;
}

const hl_learner_info *hl_learner_at(size_t i)
{
    return i < N_LEARNERS ? &LEARNERS[i]->info : NULL;
}

const hl_learner_info *hl_learner_find(const char *name)
{
    const hl__learner *l = hl__learner_find(name);
    return l ? &l->info : NULL;
}
