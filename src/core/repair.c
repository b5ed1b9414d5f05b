/* repair.c - self-repair of a training: the plan of attempts, fault
 * injection and the driver hl_train_repair (see healer/repair.h).
 *
 * The rules live here once, for the CLI and the service alike: in which
 * order attempts run (with the stand-in each learner names in its
 * hl_learner_info.fallback), which errors are worth another attempt, and
 * what an attempt records.
 * Training itself is hl_train's and the verdict on a model is
 * hl_model_check_health's (health.c); this file only strings them
 * together, so train.c knows nothing of retries.
 *
 * Deliberately not here: retrying the same parameters (a training is
 * deterministic, so it would fail the same way) and waiting between
 * attempts (nothing here is transient enough to wait for).
 */
#include <stdio.h>
#include <string.h>

#include "healer/repair.h"
#include "internal.h"

/* ---- the fallback ------------------------------------------------------- */

/* Each learner names its stand-in in its description (hl_learner_info's
 * fallback), so that the registry stays the one place that knows
 * learners by name and a new learner brings its own. */
const char *hl_repair_fallback(const char *algo)
{
    const hl_learner_info *li = hl_learner_find(algo);
    return li ? li->fallback : NULL;
}

/* ---- names -------------------------------------------------------------- */

const char *hl_repair_step_name(hl_repair_step step)
{
    switch (step) {
    case HL_REPAIR_REQUESTED:
        return "requested";
    case HL_REPAIR_OTHER_LEARNER:
        return "other_learner";
    case HL_REPAIR_SAFER:
        return "safer_parameters";
    }
    return "?";
}

/* The step as the end of "retrying with ...", for messages. */
static const char *step_phrase(hl_repair_step step)
{
    switch (step) {
    case HL_REPAIR_REQUESTED:
        return "as asked";
    case HL_REPAIR_OTHER_LEARNER:
        return "another learner";
    case HL_REPAIR_SAFER:
        return "safer parameters";
    }
    return "?";
}

const char *hl_attempt_outcome_name(hl_attempt_outcome outcome)
{
    switch (outcome) {
    case HL_ATTEMPT_SUCCEEDED:
        return "succeeded";
    case HL_ATTEMPT_FAILED:
        return "failed";
    case HL_ATTEMPT_DEGENERATE:
        return "degenerate";
    case HL_ATTEMPT_CANCELLED:
        return "cancelled";
    }
    return "?";
}

/* ---- the plan ----------------------------------------------------------- */

static int same_value(const hl_param_spec *s, hl_param_value a,
                      hl_param_value b)
{
    return s->type == HL_PARAM_REAL ? a.d == b.d : a.i == b.i;
}

/* The same training: the same learner, every parameter equal by the
 * tables (the opaque block may hold padding, so no memcmp). */
static int same_params(const hl_train_params *a, const hl_train_params *b)
{
    if (strcmp(a->algo, b->algo) != 0)
        return 0;
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    for (size_t k = 0; k < n_shared; k++)
        if (!same_value(&shared[k], hl_train_params_value(a, &shared[k]),
                        hl_train_params_value(b, &shared[k])))
            return 0;
    const hl_learner_info *li = hl_learner_find(a->algo);
    for (size_t k = 0; li && k < li->n_params; k++)
        if (!same_value(&li->params[k],
                        hl_train_params_value(a, &li->params[k]),
                        hl_train_params_value(b, &li->params[k])))
            return 0;
    return 1;
}

static void plan_add(hl_repair_plan *plan, hl_repair_step step,
                     const hl_train_params *p)
{
    for (size_t i = 0; i < plan->count; i++)
        if (same_params(&plan->params[i], p))
            return;
    if (plan->count == HL_REPAIR_MAX_ATTEMPTS)
        return;
    plan->step[plan->count] = step;
    plan->params[plan->count] = *p;
    plan->count++;
}

void hl_repair_plan_make(const hl_train_params *first, hl_repair_plan *out)
{
    memset(out, 0, sizeof *out);
    out->step[0] = HL_REPAIR_REQUESTED;
    out->params[0] = *first;
    out->count = 1;
    hl_train_params p = *first;
    const char *stand_in = hl_repair_fallback(first->algo);
    if (stand_in && hl_learner_find(stand_in) &&
        hl_train_params_set_algo(&p, stand_in, NULL) == HL_OK)
        plan_add(out, HL_REPAIR_OTHER_LEARNER, &p);
    /* Back to the caller's learner: when both it and another one failed,
     * what is left to blame is the load, which safer parameters lower. */
    p = *first;
    hl_train_params_safer(&p);
    plan_add(out, HL_REPAIR_SAFER, &p);
}

/* ---- fault injection ---------------------------------------------------- */

static int parse_fault(const char *what, size_t len, hl_fault *out)
{
    if (len == 4 && strncmp(what, "fail", 4) == 0)
        *out = HL_FAULT_FAIL;
    else if (len == 10 && strncmp(what, "degenerate", 10) == 0)
        *out = HL_FAULT_DEGENERATE;
    else if (len == 7 && strncmp(what, "diverge", 7) == 0)
        *out = HL_FAULT_DIVERGE;
    else
        return 0;
    return 1;
}

/* One item of a spec, item[0..len); 0 when it is not one. */
static int parse_item(const char *item, size_t len, hl_repair_faults *f)
{
    static const char LEGACY[] = "train_first_attempt";
    const char *eq = memchr(item, '=', len);
    hl_fault what;
    if (!eq) {
        if (len != sizeof LEGACY - 1 || strncmp(item, LEGACY, len) != 0)
            return 0;
        f->at[0] = HL_FAULT_FAIL;
        return 1;
    }
    size_t key = (size_t)(eq - item);
    if (!parse_fault(eq + 1, len - key - 1, &what))
        return 0;
    if (key == 8 && strncmp(item, "attempts", 8) == 0) {
        memset(f->at, what, sizeof f->at);
        return 1;
    }
    if (key == 8 && strncmp(item, "attempt", 7) == 0 && item[7] >= '1' &&
        item[7] < '1' + HL_REPAIR_MAX_ATTEMPTS) {
        f->at[item[7] - '1'] = (unsigned char)what;
        return 1;
    }
    return 0;
}

hl_status hl_repair_faults_parse(const char *spec, hl_repair_faults *out,
                                 hl_error *err)
{
    hl_repair_faults f;
    memset(&f, 0, sizeof f);
    const char *item = spec ? spec : "";
    while (*item) {
        size_t len = strcspn(item, ",");
        /* An empty item (",,", a comma at either end) is a typo too. */
        if (len == 0 || !parse_item(item, len, &f) ||
            (item[len] == ',' && !item[len + 1]))
            return hl__fail_field(
                err, HL_ERR_INVALID, "fault_inject",
                "fault injection: bad item '%.*s' in '%.64s' (expected "
                "attemptN=FAULT with N in 1..%d, attempts=FAULT or "
                "train_first_attempt, separated by commas; FAULT is fail, "
                "degenerate or diverge)",
                (int)(len > 64 ? 64 : len), item, spec, HL_REPAIR_MAX_ATTEMPTS);
        item += len + (item[len] == ',');
    }
    *out = f;
    return HL_OK;
}

/* ---- the driver --------------------------------------------------------- */

int hl_train_error_retryable(hl_status st)
{
    switch (st) {
    case HL_OK:
    case HL_ERR_PARSE:
    case HL_ERR_INVALID:
    case HL_ERR_LIMIT:
    case HL_ERR_DATA:
    case HL_ERR_FORMAT:
    case HL_ERR_VERSION:
    case HL_ERR_CANCELLED:
        return 0;
    case HL_ERR_NOMEM:
    case HL_ERR_IO:
    case HL_ERR_INTERNAL:
    /* A diverged learner (the MLP's loss went NaN): another learner has
     * no step to blow up, and the safer parameters take a smaller one. */
    case HL_ERR_DIVERGED:
        return 1;
    default:
        /* Codes added after this function: not known to be the user's
         * input, so worth a retry. */
        return 1;
    }
}

/* One attempt: train, then judge the model. Fills a's outcome, status
 * and reason; *out gets a healthy model. Returns the status the attempt
 * ends the training with (HL_ERR_DATA for a degenerate model). */
static hl_status run_attempt(const hl_dataset *ds, const hl_train_control *ctl,
                             hl_fault fault, hl_train_attempt *a,
                             hl_model **out, hl_error *err)
{
    hl_model *m = NULL;
    hl_status rc;
    if (fault == HL_FAULT_FAIL)
        rc = hl__fail(err, HL_ERR_INTERNAL,
                      "injected failure (attempt %u, fault injection)",
                      a->number);
    else if (fault == HL_FAULT_DIVERGE)
        rc = hl__fail_field(err, HL_ERR_DIVERGED, "learning_rate",
                            "injected divergence: the training loss stopped "
                            "being a finite number (attempt %u, fault "
                            "injection)",
                            a->number);
    else
        rc = hl_train(ds, &a->params, ctl, &m, err);
    a->status = rc;
    if (rc == HL_OK) {
        hl_model_health h;
        rc = hl_model_check_health(m, ds, a->params.threads, &h, err);
        if (rc == HL_OK && fault == HL_FAULT_DEGENERATE) {
            h.degenerate = 1;
            snprintf(h.reason, sizeof h.reason,
                     "injected degenerate model (attempt %u, fault injection)",
                     a->number);
        }
        if (rc == HL_OK && !h.degenerate) {
            a->outcome = HL_ATTEMPT_SUCCEEDED;
            *out = m;
            return HL_OK;
        }
        hl_model_free(m);
        if (rc == HL_OK) {
            a->outcome = HL_ATTEMPT_DEGENERATE;
            hl__utf8_copy(a->reason, sizeof a->reason, h.reason);
            return hl__fail(err, HL_ERR_DATA, "the model is degenerate: %s",
                            h.reason);
        }
        a->status = rc; /* the check itself failed */
    }
    a->outcome =
        rc == HL_ERR_CANCELLED ? HL_ATTEMPT_CANCELLED : HL_ATTEMPT_FAILED;
    hl__utf8_copy(a->reason, sizeof a->reason, err->message);
    return rc;
}

hl_status hl_train_repair(const hl_dataset *ds, const hl_train_params *params,
                          const hl_train_control *ctl,
                          const hl_repair_options *opt, hl_model **out,
                          hl_train_attempts *attempts, hl_error *err)
{
    static const hl_repair_options none = {0};
    hl_train_attempts own = {0};
    hl_train_attempts *done = attempts ? attempts : &own;
    hl_repair_plan made;
    hl_error last;
    *out = NULL;
    memset(done, 0, sizeof *done);
    hl_error_clear(&last);
    if (!opt)
        opt = &none;
    const hl_repair_plan *plan = opt->plan;
    if (!plan) {
        hl_repair_plan_make(params, &made);
        plan = &made;
    }
    size_t n = plan->count;
    if (n > HL_REPAIR_MAX_ATTEMPTS)
        n = HL_REPAIR_MAX_ATTEMPTS;
    if (opt->max_attempts && opt->max_attempts < n)
        n = opt->max_attempts;
    hl_status rc =
        hl__fail(&last, HL_ERR_INVALID, "the repair plan has no attempt");
    for (size_t i = 0; i < n; i++) {
        hl_train_attempt *a = &done->item[i];
        a->number = (unsigned)i + 1;
        a->step = plan->step[i];
        a->params = plan->params[i];
        if (opt->on_attempt)
            opt->on_attempt(a->number, a->step, &a->params,
                            i ? &done->item[i - 1] : NULL, opt->user);
        done->count = i + 1;
        double started = hl_clock_monotonic();
        hl_fault fault =
            opt->faults ? (hl_fault)opt->faults->at[i] : HL_FAULT_NONE;
        hl_error_clear(&last);
        rc = run_attempt(ds, ctl, fault, a, out, &last);
        a->seconds = hl_clock_monotonic() - started;
        if (opt->on_attempt_done)
            opt->on_attempt_done(a, opt->user);
        if (rc == HL_OK)
            return HL_OK;
        if (a->outcome != HL_ATTEMPT_DEGENERATE &&
            !hl_train_error_retryable(rc))
            break;
    }
    if (err) {
        *err = last;
        if (done->count > 1) {
            const hl_train_attempt *a = &done->item[done->count - 1];
            char message[sizeof err->message * 2];
            snprintf(message, sizeof message,
                     "training failed after %zu attempts; the last (%s, %s): "
                     "%s",
                     done->count, a->params.algo, step_phrase(a->step),
                     last.message);
            hl__utf8_copy(err->message, sizeof err->message, message);
        }
    }
    return rc;
}
