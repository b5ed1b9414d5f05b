/* progress.c - progress reports and cancel checks for every learner.
 *
 * hl_train's promise (healer/train.h) is the same whatever the learner:
 * the cancel flag is honoured before each round and the callback sees
 * every round with its stage, fold and losses. Learners call these two
 * helpers instead of each reading hl_train_control on its own.
 */
#include "internal.h"
#include "learner.h"

int hl__progress_cancelled(const hl__progress *p)
{
    return p->ctl && p->ctl->cancel && atomic_load(p->ctl->cancel);
}

int hl__progress_report(const hl__progress *p, int iteration, int planned,
                        double train_loss, double valid_loss)
{
    if (!p->ctl)
        return 0;
    if (hl__progress_cancelled(p))
        return 1;
    if (!p->ctl->progress)
        return 0;
    hl_train_progress pr = {
        p->stage, p->fold,    p->folds,   iteration,
        planned,  train_loss, valid_loss, hl_clock_monotonic() - p->started};
    return p->ctl->progress(&pr, p->ctl->user) != 0;
}
