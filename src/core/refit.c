/* refit.c - how many iterations a refit on all rows runs.
 *
 * An iterative learner (boosting, an MLP's epochs) first trains with a
 * hold-out that decides when to stop, then - with the shared option
 * refit - once more on every row. hl_train (train.c) and the stack's
 * members (learners/stack) both refit; this is their one rule.
 */
#include <math.h>

#include "learner.h"

/* The hold-out costs a tenth of the data; measured on the reference data
 * the refit wins that back (docs/benchmarks.md). */
size_t hl__refit_iterations(size_t best, size_t n_fit, size_t n_all, size_t cap)
{
    double r = ceil((double)best * (double)n_all / (double)n_fit);
    return r < 1.0 ? 1 : r > (double)cap ? cap : (size_t)r;
}
