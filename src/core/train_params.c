/* train_params.c - hl_train_params: the shared training options' table and
 * every parameter read, written and checked by name.
 *
 * The shared options are plain fields of hl_train_params; a learner's own
 * parameters live in its opaque block, described by the learner's table.
 * Both are handled by one set of functions driven by the specs, so that no
 * parameter has a second definition anywhere: the CLI, the web API, model
 * files and the summaries all go through here.
 */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "families.h"
#include "healer/normal.h"
#include "internal.h"
#include "learner.h"
#include "screen.h"

static const char *const CLASS_WEIGHTS[] = {"balanced", "none", NULL};

#define SHARED HL_PARAM_SHARED
#define ITERATIVE HL_PARAM_ITERATIVE
/* The training options every learner shares. Ranges, and why:
 * - cv_folds: 0 (off) or 2..20. More folds only multiply the training
 *   time (each fold is a full training) for a barely better estimate; at
 *   20 a fold already tests on 5 % of the rows.
 * - early_stopping_rounds: 0 (off) .. 100000, the most rounds a learner
 *   runs; patience beyond that is never reached.
 * - validation_fraction: [0.01, 0.5]. Under 1 % the hold-out of a small
 *   dataset is a handful of rows and its loss is noise; over a half the
 *   model learns from less than it is checked on.
 * - seed: 0..2^63-1, what JSON integers and the CLI carry losslessly.
 * - threads: 0 (all cores) .. 256, more than any machine we run on; it is
 *   a run-time setting of the command line (the server has its own
 *   --train-threads), so the web API does not offer it. */
static const hl_param_spec SHARED_PARAMS[] = {
    HL__P_INT("cv_folds", "cv", hl_train_params, cv_folds, 0, 2, 20,
              SHARED | HL_PARAM_ZERO_OFF,
              "also run stratified K-fold cross-validation (0 = off)"),
    HL__P_INT("early_stopping_rounds", "early-stopping-rounds", hl_train_params,
              early_stopping_rounds, 50, 0, 100000, SHARED | ITERATIVE,
              "stop after N rounds without improvement on a stratified "
              "hold-out (0 = off: all rounds, no hold-out)"),
    HL__P_REAL("validation_fraction", "validation-fraction", hl_train_params,
               validation_fraction, 0.1, 0.01, 0.5, SHARED | ITERATIVE,
               "fraction of the rows held out for early stopping"),
    HL__P_BOOL("refit", "no-refit", hl_train_params, refit, 1,
               SHARED | ITERATIVE,
               "after early stopping, refit on all rows for the rounds it "
               "chose (false keeps the early-stopping model)"),
    HL__P_CHOICE("class_weight", "class-weight", hl_train_params, class_weight,
                 HL_CLASS_WEIGHT_BALANCED, CLASS_WEIGHTS, SHARED,
                 "weigh classes by inverse frequency (balanced) or not (none)"),
    HL__P_BOOL("collapse_duplicates", "keep-duplicates", hl_train_params,
               collapse_duplicates, 1, SHARED,
               "train on one copy of exact duplicate rows (false keeps "
               "every copy)"),
    HL__P_REAL("screen_kpis", "screen-kpis", hl_train_params, screen_kpis,
               HL_SCREEN_DEFAULT, 1e-4, 0.5, SHARED | HL_PARAM_ZERO_OFF,
               "leave out KPIs whose class signal on the training rows "
               "(Kruskal-Wallis epsilon-squared) is below this: they cannot "
               "help and drift can only hurt (0 = keep every KPI)"),
    HL__P_REAL("families", "families", hl_train_params, families, 0.0,
               HL__FAMILIES_MIN_CORR, HL__FAMILIES_MAX_CORR,
               SHARED | HL_PARAM_ZERO_OFF,
               "add one input per family of kept KPIs whose class profiles "
               "correlate at least this much: the average of their scaled "
               "values, which one drifting member moves only in part "
               "(0 = off)"),
    HL__P_SEED("seed", "seed", hl_train_params, seed, 42, SHARED,
               "random seed: the same seed gives the same model"),
    HL__P_INT("threads", "threads", hl_train_params, threads, 0, 0, 256,
              SHARED | HL_PARAM_CLI_ONLY, "worker threads (0 = all cores)"),
};
#undef SHARED
#undef ITERATIVE

#define N_SHARED (sizeof SHARED_PARAMS / sizeof SHARED_PARAMS[0])

const hl_param_spec *hl_shared_params(size_t *n)
{
    *n = N_SHARED;
    return SHARED_PARAMS;
}

/* Where s's value is in hl_train_params: a shared option is a field, a
 * learner's parameter is at its offset in the block. */
static size_t offset_in_params(const hl_param_spec *s)
{
    return (s->flags & HL_PARAM_SHARED ? 0
                                       : offsetof(hl_train_params, learner)) +
           s->offset;
}

hl_param_value hl_train_params_value(const hl_train_params *p,
                                     const hl_param_spec *s)
{
    return hl__param_load(s, (const unsigned char *)p + offset_in_params(s));
}

void hl__train_params_store(hl_train_params *p, const hl_param_spec *s,
                            hl_param_value v)
{
    hl__param_store(s, (unsigned char *)p + offset_in_params(s), v);
}

/* ---- the learner and the parameters by name ---- */

/* p's learner; NULL when algo is not a (terminated) learner name. */
static const hl__learner *learner_of(const hl_train_params *p)
{
    if (!memchr(p->algo, '\0', sizeof p->algo))
        return NULL;
    return hl__learner_find(p->algo);
}

static void store_defaults(hl_train_params *p, const hl_param_spec *t, size_t n)
{
    for (size_t k = 0; k < n; k++)
        hl__train_params_store(p, &t[k], t[k].def);
}

_Static_assert(sizeof(((hl_train_params *)0)->algo) == HL__LEARNER_NAME_CAP,
               "a learner's name fits hl_train_params.algo");
_Static_assert(sizeof(((hl_model_member *)0)->algo) == HL__LEARNER_NAME_CAP &&
                   sizeof(((hl_model_candidate *)0)->algo) ==
                       HL__LEARNER_NAME_CAP,
               "the summary's learner names hold any learner's name");

static void reset_learner(hl_train_params *p, const hl__learner *l)
{
    snprintf(p->algo, sizeof p->algo, "%s", l->info.name);
    hl__learner_defaults(l, p->learner);
}

void hl_train_params_init(hl_train_params *p)
{
    memset(p, 0, sizeof *p);
    store_defaults(p, SHARED_PARAMS, N_SHARED);
    reset_learner(p, hl__learner_at(0));
    snprintf(p->normal_class, sizeof p->normal_class, "%s",
             HL_NORMAL_DEFAULT_CLASS);
}

hl_status hl_train_params_set_normal_class(hl_train_params *p,
                                           const char *label, hl_error *err)
{
    if (!label || !label[0] || strlen(label) >= sizeof p->normal_class)
        return hl__fail_field(err, HL_ERR_INVALID, "normal_class",
                              "the normal class must be a label of 1 to %zu "
                              "bytes",
                              sizeof p->normal_class - 1);
    snprintf(p->normal_class, sizeof p->normal_class, "%s", label);
    return HL_OK;
}

static hl_status unknown_algo(const char *algo, hl_error *err)
{
    char names[256];
    hl__learner_names(names, sizeof names);
    return hl__fail_field(err, HL_ERR_INVALID, "algo",
                          "invalid parameter algo: unknown algorithm '%.32s' "
                          "(available: %s)",
                          algo, names);
}

hl_status hl_train_params_set_algo(hl_train_params *p, const char *algo,
                                   hl_error *err)
{
    const hl__learner *l = hl__learner_find(algo);
    if (!l)
        return unknown_algo(algo ? algo : "", err);
    reset_learner(p, l);
    return HL_OK;
}

const hl_param_spec *hl_train_params_spec(const hl_train_params *p,
                                          const char *name)
{
    for (size_t k = 0; k < N_SHARED; k++)
        if (strcmp(SHARED_PARAMS[k].name, name) == 0)
            return &SHARED_PARAMS[k];
    const hl__learner *l = learner_of(p);
    for (size_t k = 0; l && k < l->info.n_params; k++)
        if (strcmp(l->info.params[k].name, name) == 0)
            return &l->info.params[k];
    return NULL;
}

static hl_status unknown_param(const char *name, hl_error *err)
{
    return hl__fail_field(err, HL_ERR_INVALID, name,
                          "invalid parameter %.64s: unknown parameter", name);
}

hl_status hl_train_params_get(const hl_train_params *p, const char *name,
                              hl_param_value *out, hl_error *err)
{
    const hl_param_spec *s = hl_train_params_spec(p, name);
    if (!s)
        return unknown_param(name, err);
    *out = hl_train_params_value(p, s);
    return HL_OK;
}

hl_status hl_train_params_set(hl_train_params *p, const char *name,
                              hl_param_value v, hl_error *err)
{
    const hl_param_spec *s = hl_train_params_spec(p, name);
    if (!s)
        return unknown_param(name, err);
    hl_status rc = hl_param_check(s, v, err);
    if (rc == HL_OK)
        hl__train_params_store(p, s, v);
    return rc;
}

hl_status hl_train_params_set_number(hl_train_params *p, const char *name,
                                     double x, hl_error *err)
{
    const hl_param_spec *s = hl_train_params_spec(p, name);
    if (!s)
        return unknown_param(name, err);
    hl_param_value v = {0, x};
    if (s->type == HL_PARAM_BOOL)
        v.i = x != 0.0;
    else if (s->type != HL_PARAM_REAL) {
        /* Beyond +-2^63 the conversion would be undefined. */
        if (!(x == floor(x) && fabs(x) < 9.2e18))
            return hl__fail_field(err, HL_ERR_INVALID, s->name,
                                  "invalid parameter %s: %g is not a whole "
                                  "number",
                                  s->name, x);
        v.i = (int64_t)x;
    }
    return hl_train_params_set(p, name, v, err);
}

static hl_status check_table(const hl_train_params *p, const hl_param_spec *t,
                             size_t n, hl_error *err)
{
    for (size_t k = 0; k < n; k++) {
        hl_status rc =
            hl_param_check(&t[k], hl_train_params_value(p, &t[k]), err);
        if (rc != HL_OK)
            return rc;
    }
    return HL_OK;
}

hl_status hl_train_params_validate(const hl_train_params *p, hl_error *err)
{
    const hl__learner *l = learner_of(p);
    if (!l)
        return unknown_algo(
            memchr(p->algo, '\0', sizeof p->algo) ? p->algo : "", err);
    hl_status rc = check_table(p, l->info.params, l->info.n_params, err);
    if (rc == HL_OK)
        rc = check_table(p, SHARED_PARAMS, N_SHARED, err);
    if (rc == HL_OK && l->check)
        rc = l->check(p->learner, err);
    return rc;
}

void hl_train_params_safer(hl_train_params *p)
{
    /* One thread and no cross-validation: the least memory and the
     * fewest moving parts, whatever the learner. */
    p->threads = 1;
    p->cv_folds = 0;
    const hl__learner *l = learner_of(p);
    if (l && l->safer)
        l->safer(p->learner);
}
