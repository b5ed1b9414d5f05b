/* learner_sets.c - "gbdt+forest+extratrees": a set of learners by name.
 *
 * The learners made of others name their members or candidates this way
 * in a choice parameter (the stack's `members`, auto's `candidates`). The
 * parsing lives apart from the registry, which lists those learners: they
 * depend on this file, the registry on them, and nothing comes back.
 */
#include <stdio.h>
#include <string.h>

#include "learner.h"

size_t hl__learner_set_names(const char *set,
                             char names[][HL__LEARNER_NAME_CAP], size_t cap)
{
    size_t n = 0;
    while (*set && n < cap) {
        size_t len = strcspn(set, "+");
        snprintf(names[n++], HL__LEARNER_NAME_CAP, "%.*s", (int)len, set);
        set += len + (set[len] == '+');
    }
    return n;
}
