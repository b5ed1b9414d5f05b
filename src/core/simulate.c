/* simulate.c - synthetic KPI samples from a small model of a faulty system.
 *
 * Used for demos, tests and benchmarks where the real data cannot be
 * shipped. The model is deliberately simple but has the features that make
 * real KPI data awkward to learn from:
 *   - a few latent load factors shared by many KPIs, so KPIs correlate;
 *   - per-KPI scales from 1e-3 to 1e6, counters (non-negative integers),
 *     ratios in [0, 1], signed gauges and constant-zero columns;
 *   - heavy-tailed KPIs (Pareto multiplicative noise);
 *   - cells missing at random;
 *   - fault classes whose signatures (2-5 KPIs moved up or down, with weaker
 *     knock-on effects on other KPIs) have a random per-sample severity, so
 *     mild faults overlap with normal operation and accuracy stays below 1.
 *
 * Every KPI lives in "model units" (log of value/scale for levels and
 * counters, logit for ratios, value/scale for signed gauges). Load, noise,
 * fault effects and drift simply add up there; one transform per cell turns
 * the sum into a value. Model values are clamped to +-60 so that even the
 * heaviest tail times the largest scale is a finite float.
 *
 * Determinism: the system (kinds, scales, loadings, tails, signatures,
 * which KPIs drift) comes from opt->seed through independent named streams,
 * so changing one option disturbs as little of the rest as possible. The
 * sample stream comes from (seed, variant); each row is drawn from its own
 * generator seeded with (stream, row), so the output does not depend on the
 * order rows are produced in.
 *
 * The incident simulator (sim_incidents.c) draws single rows of this
 * system, of a class at a strength, through sim_system.h.
 *
 * Not modelled here: time (samples are independent; sim_incidents.c adds
 * it), multiple simultaneous faults, and any meaning behind feature names
 * (they are feature0..N-1).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/simulate.h"
#include "internal.h"
#include "sim_system.h"

enum { SIM_LATENTS = 3, SIM_MAX_PRIMARY = 5, SIM_MAX_EFFECTS = 10 };

#define SIM_CLAMP 60.0
#define SIM_MAX_SAMPLES ((size_t)100000000)
#define SIM_MAX_FEATURES ((size_t)100000)
#define SIM_MAX_CLASSES ((size_t)64)

/* Stream tags for hl__seed_mix: one per independent decision. */
enum sim_stream {
    STREAM_ZEROS = 1,
    STREAM_KPI,
    STREAM_TAILS,
    STREAM_SIGNATURE,
    STREAM_LATENT_DRIFT,
    STREAM_LABELS,
    STREAM_ROWS
};

typedef enum sim_kind {
    KPI_LEVEL,   /* positive, log-normal around its scale (latency, bytes) */
    KPI_COUNTER, /* non-negative integer (errors, restarts, requests) */
    KPI_RATIO,   /* in [0, 1] (hit ratio, utilisation) */
    KPI_SIGNED,  /* may be negative (a delta, an offset) */
    KPI_ZERO     /* always 0: a dead metric, as the real exports have */
} sim_kind;

/* Raw draws are kept so that the kind can change (a heavy tail turns a
 * ratio or signed KPI into a level) without shifting any random numbers. */
typedef struct sim_kpi {
    sim_kind kind;
    double u_kind, u_scale, u_base;
    double scale;
    double base;                 /* model-unit offset */
    double loading[SIM_LATENTS]; /* response to the load factors */
    double sigma;                /* own noise sd at noise = 1 */
    double inv_alpha;            /* > 0: Pareto tail of index 1/inv_alpha */
    double drift;                /* offset at shift = 1, in spreads */
    double spread;               /* typical sd, sizes fault effects */
} sim_kpi;

typedef struct sim_effect {
    size_t kpi;
    double amount; /* model units at severity 1 */
    int primary;   /* of the class's signature (else a knock-on) */
} sim_effect;

typedef struct sim_system {
    size_t n_kpis;
    size_t n_classes;
    sim_kpi *kpi;
    size_t *live; /* indices of the non-zero KPIs */
    size_t n_live;
    size_t *heavy; /* indices of the heavy-tailed KPIs */
    size_t n_heavy;
    sim_effect *effect; /* SIM_MAX_EFFECTS slots per class */
    size_t *n_effects;  /* per class */
    double latent_drift[SIM_LATENTS];
} sim_system;

static const char *const fault_names[] = {"normal",
                                          "cpu_saturation",
                                          "disk_full",
                                          "network_delay",
                                          "memory_leak",
                                          "io_contention",
                                          "packet_loss",
                                          "dns_failure",
                                          "thread_deadlock",
                                          "gc_pressure",
                                          "connection_pool_exhausted",
                                          "clock_skew",
                                          "config_drift",
                                          "cache_stampede",
                                          "disk_latency",
                                          "process_crash"};

void hl_sim_options_init(hl_sim_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->samples = 2000;
    opt->features = 32;
    opt->classes = 6;
    opt->imbalance = 8.0;
    opt->missing_rate = 0.03;
    opt->heavy_tail_fraction = 0.3;
    opt->noise = 1.0;
    opt->shift = 0.5;
    opt->string_labels = 0;
    opt->seed = 42;
}

hl_status hl__sim_bad_option(hl_error *err, const char *name,
                             const char *range)
{
    return hl__fail(err, HL_ERR_INVALID, "simulate: option '%s' must be %s",
                    name, range);
}

/* Written as "!(x >= lo)" so that NaN is refused too. */
static hl_status check_options(const hl_sim_options *o, int variant,
                               hl_error *err)
{
    if (o->samples < 1 || o->samples > SIM_MAX_SAMPLES)
        return hl__sim_bad_option(err, "samples", "in 1..100000000");
    if (o->features < 4 || o->features > SIM_MAX_FEATURES)
        return hl__sim_bad_option(err, "features", "in 4..100000");
    if (o->classes < 2 || o->classes > SIM_MAX_CLASSES)
        return hl__sim_bad_option(err, "classes", "in 2..64");
    if (!(o->imbalance >= 1.0) || !isfinite(o->imbalance))
        return hl__sim_bad_option(err, "imbalance", "finite and >= 1");
    if (!(o->missing_rate >= 0.0 && o->missing_rate <= 0.9))
        return hl__sim_bad_option(err, "missing_rate", "in [0, 0.9]");
    if (!(o->heavy_tail_fraction >= 0.0 && o->heavy_tail_fraction <= 1.0))
        return hl__sim_bad_option(err, "heavy_tail_fraction", "in [0, 1]");
    if (!(o->noise >= 0.0) || !isfinite(o->noise))
        return hl__sim_bad_option(err, "noise", "finite and >= 0");
    if (!(o->shift >= 0.0) || !isfinite(o->shift))
        return hl__sim_bad_option(err, "shift", "finite and >= 0");
    if (variant != 0 && variant != 1)
        return hl__fail(err, HL_ERR_INVALID,
                        "simulate: variant must be 0 or 1 (got %d)", variant);
    return HL_OK;
}

double hl__sim_uniform(hl__rng *r, double lo, double hi)
{
    return lo + (hi - lo) * hl__rng_uniform(r);
}

/* Marsaglia's polar method: two normals for one log and one sqrt, no trig;
 * the sampler's hot loop spends most of its time here. */
static void normal_pair(hl__rng *r, double *a, double *b)
{
    double u, v, s;
    do {
        u = 2.0 * hl__rng_uniform(r) - 1.0;
        v = 2.0 * hl__rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    const double f = sqrt(-2.0 * log(s) / s);
    *a = u * f;
    *b = v * f;
}

static double clamp_model(double m)
{
    return m < -SIM_CLAMP ? -SIM_CLAMP : (m > SIM_CLAMP ? SIM_CLAMP : m);
}

/* ---- the system ---------------------------------------------------- */

/* Draws everything about KPI j from its own stream, so that its scale,
 * loadings and noise do not depend on how many features there are. */
static void kpi_draw(sim_kpi *k, uint64_t seed, size_t j)
{
    hl__rng r;
    hl__rng_seed(&r, hl__seed_mix(hl__seed_mix(seed, STREAM_KPI), j));
    k->u_kind = hl__rng_uniform(&r);
    k->u_scale = hl__rng_uniform(&r);
    k->u_base = hl__rng_uniform(&r);
    const size_t primary = (size_t)hl__rng_below(&r, SIM_LATENTS);
    for (size_t l = 0; l < SIM_LATENTS; l++)
        k->loading[l] = hl__sim_uniform(&r, -0.15, 0.15);
    /* Most KPIs rise with load; a few (hit ratios, idle time) fall. */
    const double sign = hl__rng_uniform(&r) < 0.2 ? -1.0 : 1.0;
    k->loading[primary] = sign * hl__sim_uniform(&r, 0.3, 0.8);
    k->sigma = hl__sim_uniform(&r, 0.15, 0.4);
    const double u_drift = hl__rng_uniform(&r);
    const double drift = hl__sim_uniform(&r, 1.0, 2.0);
    const double drift_sign = hl__rng_uniform(&r) < 0.5 ? -1.0 : 1.0;
    k->drift = u_drift < 0.35 ? drift_sign * drift : 0.0;
    k->inv_alpha = 1.0 / hl__sim_uniform(&r, 1.1, 2.2);
    k->kind = k->u_kind < 0.50   ? KPI_LEVEL
              : k->u_kind < 0.72 ? KPI_COUNTER
              : k->u_kind < 0.87 ? KPI_RATIO
                                 : KPI_SIGNED;
}

/* Scale, base and spread once the kind is final. inv_alpha stays drawn for
 * every KPI but only counts for the heavy ones (kept > 0 only there). */
static void kpi_finish(sim_kpi *k, int heavy)
{
    switch (k->kind) {
    case KPI_LEVEL:
        k->scale = pow(10.0, -3.0 + 9.0 * k->u_scale);
        k->base = 0.0;
        break;
    case KPI_COUNTER:
        k->scale = pow(10.0, -0.3 + 5.3 * k->u_scale);
        k->base = 0.0;
        break;
    case KPI_RATIO:
        k->scale = 1.0;
        k->base = -1.5 + 4.5 * k->u_base;
        break;
    case KPI_SIGNED:
        k->scale = pow(10.0, -2.0 + 5.0 * k->u_scale);
        k->base = -1.0 + 2.0 * k->u_base;
        break;
    case KPI_ZERO:
        k->scale = 0.0;
        k->base = 0.0;
        break;
    }
    if (!heavy)
        k->inv_alpha = 0.0;
    double var = k->sigma * k->sigma + k->inv_alpha * k->inv_alpha;
    for (size_t l = 0; l < SIM_LATENTS; l++)
        var += k->loading[l] * k->loading[l];
    k->spread = sqrt(var);
}

/* Picks which KPIs are dead (1-2 of them when there are >= 16, like the
 * real exports) and lists the live ones. */
static void choose_zeros(sim_system *s, uint64_t seed)
{
    hl__rng r;
    hl__rng_seed(&r, hl__seed_mix(seed, STREAM_ZEROS));
    size_t zeros = s->n_kpis >= 16 ? 1 + (size_t)hl__rng_below(&r, 2) : 0;
    while (zeros > 0) {
        const size_t j = (size_t)hl__rng_below(&r, s->n_kpis);
        if (s->kpi[j].kind != KPI_ZERO) {
            s->kpi[j].kind = KPI_ZERO;
            zeros--;
        }
    }
    s->n_live = 0;
    for (size_t j = 0; j < s->n_kpis; j++)
        if (s->kpi[j].kind != KPI_ZERO)
            s->live[s->n_live++] = j;
}

/* The first round(fraction * live) KPIs of a seeded permutation are heavy,
 * so raising the fraction only adds heavy KPIs. A heavy ratio or signed KPI
 * becomes a level: multiplicative Pareto noise needs a positive KPI. */
static hl_status choose_tails(sim_system *s, uint64_t seed, double fraction)
{
    size_t *perm = malloc(s->n_live * sizeof *perm);
    uint8_t *is_heavy = calloc(s->n_kpis, 1);
    if (!perm || !is_heavy) {
        free(perm);
        free(is_heavy);
        return HL_ERR_NOMEM;
    }
    hl__rng r;
    hl__rng_seed(&r, hl__seed_mix(seed, STREAM_TAILS));
    memcpy(perm, s->live, s->n_live * sizeof *perm);
    for (size_t i = s->n_live; i > 1; i--) {
        const size_t j = (size_t)hl__rng_below(&r, i);
        const size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    s->n_heavy = (size_t)(fraction * (double)s->n_live + 0.5);
    for (size_t i = 0; i < s->n_heavy; i++) {
        is_heavy[perm[i]] = 1;
        if (s->kpi[perm[i]].kind != KPI_COUNTER)
            s->kpi[perm[i]].kind = KPI_LEVEL;
    }
    /* Listed in column order so the row loop walks memory forwards. */
    size_t h = 0;
    for (size_t j = 0; j < s->n_kpis; j++) {
        kpi_finish(&s->kpi[j], is_heavy[j]);
        if (is_heavy[j])
            s->heavy[h++] = j;
    }
    free(perm);
    free(is_heavy);
    return HL_OK;
}

/* A signature is a set of (KPI, direction) pairs; kept sorted by KPI so
 * that two signatures compare with memcmp-like loops. */
typedef struct sim_signature {
    size_t m;
    size_t kpi[SIM_MAX_PRIMARY];
    int sign[SIM_MAX_PRIMARY];
} sim_signature;

static void draw_signature(hl__rng *r, const sim_system *s, sim_signature *sig)
{
    const size_t want = 2 + (size_t)hl__rng_below(r, SIM_MAX_PRIMARY - 1);
    sig->m = want < s->n_live ? want : s->n_live;
    for (size_t i = 0; i < sig->m; i++) {
        size_t j, pos;
        do { /* distinct KPIs; m <= 5 so rejection is cheap */
            j = s->live[hl__rng_below(r, s->n_live)];
            for (pos = 0; pos < i && sig->kpi[pos] != j; pos++)
                ;
        } while (pos < i);
        /* insertion keeps kpi[] sorted */
        for (pos = i; pos > 0 && sig->kpi[pos - 1] > j; pos--) {
            sig->kpi[pos] = sig->kpi[pos - 1];
            sig->sign[pos] = sig->sign[pos - 1];
        }
        sig->kpi[pos] = j;
        sig->sign[pos] = hl__rng_uniform(r) < 0.5 ? -1 : 1;
    }
}

static int same_signature(const sim_signature *a, const sim_signature *b)
{
    if (a->m != b->m)
        return 0;
    for (size_t i = 0; i < a->m; i++)
        if (a->kpi[i] != b->kpi[i] || a->sign[i] != b->sign[i])
            return 0;
    return 1;
}

/* Effects of class c: its primary KPIs move by 2.5-4 typical sds; about
 * half of them drag another KPI along by 30-60% as much (a CPU fault also
 * slows requests down a little). */
static void build_effects(sim_system *s, size_t c, const sim_signature *sig,
                          hl__rng *r)
{
    sim_effect *e = s->effect + c * SIM_MAX_EFFECTS;
    size_t n = 0;
    for (size_t i = 0; i < sig->m; i++) {
        const sim_kpi *k = &s->kpi[sig->kpi[i]];
        const double strength = hl__sim_uniform(r, 2.5, 4.0);
        e[n].kpi = sig->kpi[i];
        e[n].primary = 1;
        e[n++].amount = sig->sign[i] * strength * k->spread;
        const double u = hl__rng_uniform(r);
        const size_t other = s->live[hl__rng_below(r, s->n_live)];
        const double knock_on = hl__sim_uniform(r, 0.3, 0.6);
        if (u < 0.5 && other != sig->kpi[i]) {
            e[n].kpi = other;
            e[n++].amount =
                sig->sign[i] * strength * knock_on * s->kpi[other].spread;
        }
    }
    s->n_effects[c] = n;
}

/* Class 0 is normal operation and moves nothing. Signatures are redrawn
 * (bounded) until no two classes share one; with very few KPIs that may be
 * impossible, and then a repeat is accepted. */
static hl_status choose_signatures(sim_system *s, uint64_t seed)
{
    sim_signature *sig = calloc(s->n_classes, sizeof *sig);
    if (!sig)
        return HL_ERR_NOMEM;
    s->n_effects[0] = 0;
    for (size_t c = 1; c < s->n_classes; c++) {
        hl__rng r;
        hl__rng_seed(&r, hl__seed_mix(hl__seed_mix(seed, STREAM_SIGNATURE), c));
        for (int attempt = 0; attempt < 64; attempt++) {
            draw_signature(&r, s, &sig[c]);
            size_t prev = 1;
            while (prev < c && !same_signature(&sig[prev], &sig[c]))
                prev++;
            if (prev == c)
                break;
        }
        build_effects(s, c, &sig[c], &r);
    }
    free(sig);
    return HL_OK;
}

static void system_free(sim_system *s)
{
    free(s->kpi);
    free(s->live);
    free(s->heavy);
    free(s->effect);
    free(s->n_effects);
    memset(s, 0, sizeof *s);
}

static hl_status system_build(sim_system *s, const hl_sim_options *opt)
{
    memset(s, 0, sizeof *s);
    s->n_kpis = opt->features;
    s->n_classes = opt->classes;
    s->kpi = calloc(s->n_kpis, sizeof *s->kpi);
    s->live = malloc(s->n_kpis * sizeof *s->live);
    s->heavy = malloc(s->n_kpis * sizeof *s->heavy);
    s->effect = calloc(s->n_classes * SIM_MAX_EFFECTS, sizeof *s->effect);
    s->n_effects = calloc(s->n_classes, sizeof *s->n_effects);
    if (!s->kpi || !s->live || !s->heavy || !s->effect || !s->n_effects)
        goto fail;

    for (size_t j = 0; j < s->n_kpis; j++)
        kpi_draw(&s->kpi[j], opt->seed, j);
    choose_zeros(s, opt->seed);
    if (choose_tails(s, opt->seed, opt->heavy_tail_fraction) != HL_OK ||
        choose_signatures(s, opt->seed) != HL_OK)
        goto fail;

    hl__rng r;
    hl__rng_seed(&r, hl__seed_mix(opt->seed, STREAM_LATENT_DRIFT));
    for (size_t l = 0; l < SIM_LATENTS; l++)
        s->latent_drift[l] = hl__sim_uniform(&r, -0.5, 0.5);
    return HL_OK;

fail:
    system_free(s);
    return HL_ERR_NOMEM;
}

/* ---- labels -------------------------------------------------------- */

/* Rows per class: weights fall geometrically from 1 to 1/imbalance, counts
 * by largest remainder so they add up exactly, and every class gets at
 * least one row when there are enough rows (taken from the largest). */
static void class_counts(size_t n, size_t n_classes, double imbalance,
                         size_t *count)
{
    double weight[SIM_MAX_CLASSES], frac[SIM_MAX_CLASSES], total = 0;
    for (size_t c = 0; c < n_classes; c++) {
        weight[c] = pow(imbalance, -(double)c / (double)(n_classes - 1));
        total += weight[c];
    }
    size_t used = 0;
    for (size_t c = 0; c < n_classes; c++) {
        const double ideal = (double)n * weight[c] / total;
        count[c] = (size_t)ideal;
        frac[c] = ideal - (double)count[c];
        used += count[c];
    }
    while (used < n) { /* at most n_classes rounds */
        size_t best = 0;
        for (size_t c = 1; c < n_classes; c++)
            if (frac[c] > frac[best])
                best = c;
        count[best]++;
        frac[best] = -1.0;
        used++;
    }
    for (size_t c = 0; c < n_classes && n >= n_classes; c++) {
        if (count[c] > 0)
            continue;
        size_t big = 0;
        for (size_t d = 1; d < n_classes; d++)
            if (count[d] > count[big])
                big = d;
        count[big]--;
        count[c]++;
    }
}

/* Internal class ids (0 = normal) in random row order. */
static void draw_labels(int32_t *y, size_t n, const size_t *count,
                        size_t n_classes, uint64_t seed, int variant)
{
    size_t i = 0;
    for (size_t c = 0; c < n_classes; c++)
        for (size_t k = 0; k < count[c]; k++)
            y[i++] = (int32_t)c;
    hl__rng r;
    hl__rng_seed(
        &r, hl__seed_mix(hl__seed_mix(seed, STREAM_LABELS), (uint64_t)variant));
    for (i = n; i > 1; i--) {
        const size_t j = (size_t)hl__rng_below(&r, i);
        const int32_t t = y[i - 1];
        y[i - 1] = y[j];
        y[j] = t;
    }
}

char *hl__sim_class_name(size_t c, int string_labels)
{
    char buf[32];
    const size_t known = sizeof fault_names / sizeof *fault_names;
    if (!string_labels)
        snprintf(buf, sizeof buf, "%zu", c);
    else if (c < known)
        return hl__strdup(fault_names[c]);
    else
        snprintf(buf, sizeof buf, "fault_%zu", c);
    return hl__strdup(buf);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills the sorted label table and rank[internal id] = table index. With
 * numeric names the internal order already is the (numeric) table order. */
static hl_status make_class_table(hl_dataset *ds, int string_labels,
                                  int32_t *rank)
{
    const size_t nc = ds->n_classes;
    char *internal[SIM_MAX_CLASSES];
    for (size_t c = 0; c < nc; c++) {
        ds->class_names[c] = hl__sim_class_name(c, string_labels);
        if (!ds->class_names[c])
            return HL_ERR_NOMEM;
        internal[c] = ds->class_names[c];
    }
    if (string_labels)
        qsort(ds->class_names, nc, sizeof *ds->class_names, cmp_name);
    for (size_t c = 0; c < nc; c++)
        for (size_t t = 0; t < nc; t++)
            if (ds->class_names[t] == internal[c])
                rank[c] = (int32_t)t;
    return HL_OK;
}

/* ---- samples ------------------------------------------------------- */

/* Everything the row loop needs, precomputed once per call. */
typedef struct sim_sampler {
    const sim_system *sys;
    double *offset;   /* base + shift * drift * spread (variant 1) */
    double *noise_sd; /* sigma * noise */
    double *tail_sd;  /* inv_alpha * noise */
    double *model;    /* scratch row in model units (so: one per thread) */
    double latent_mean[SIM_LATENTS];
    double jitter;          /* relative per-sample noise of a fault effect */
    uint64_t missing_below; /* a cell is missing when next() < this */
    uint64_t stream;
} sim_sampler;

static void sampler_free(sim_sampler *sm)
{
    free(sm->offset);
    free(sm->noise_sd);
    free(sm->tail_sd);
    free(sm->model);
}

static hl_status sampler_init(sim_sampler *sm, const sim_system *sys,
                              const hl_sim_options *opt, int variant)
{
    const size_t f = sys->n_kpis;
    memset(sm, 0, sizeof *sm);
    sm->sys = sys;
    sm->offset = malloc(f * sizeof *sm->offset);
    sm->noise_sd = malloc(f * sizeof *sm->noise_sd);
    sm->tail_sd = malloc(f * sizeof *sm->tail_sd);
    sm->model = malloc((f + 1) * sizeof *sm->model); /* +1: pairs of normals */
    if (!sm->offset || !sm->noise_sd || !sm->tail_sd || !sm->model) {
        sampler_free(sm);
        return HL_ERR_NOMEM;
    }
    const double shift = variant ? opt->shift : 0.0;
    for (size_t j = 0; j < f; j++) {
        const sim_kpi *k = &sys->kpi[j];
        sm->offset[j] = k->base + shift * k->drift * k->spread;
        sm->noise_sd[j] = k->sigma * opt->noise;
        sm->tail_sd[j] = k->inv_alpha * opt->noise;
    }
    for (size_t l = 0; l < SIM_LATENTS; l++)
        sm->latent_mean[l] = shift * sys->latent_drift[l];
    sm->jitter = 0.25 * opt->noise;
    sm->missing_below = (uint64_t)(opt->missing_rate * 18446744073709551616.0);
    sm->stream =
        hl__seed_mix(hl__seed_mix(opt->seed, STREAM_ROWS), (uint64_t)variant);
    return HL_OK;
}

/* Load, own noise and heavy tails of one row, in model units. */
static void row_background(const sim_sampler *sm, hl__rng *r)
{
    const sim_system *sys = sm->sys;
    const size_t f = sys->n_kpis;
    double z[SIM_LATENTS + 1];
    normal_pair(r, &z[0], &z[1]);
    normal_pair(r, &z[2], &z[3]);
    for (size_t l = 0; l < SIM_LATENTS; l++)
        z[l] += sm->latent_mean[l];

    double *m = sm->model;
    for (size_t j = 0; j < f; j += 2)
        normal_pair(r, &m[j], &m[j + 1]);
    for (size_t j = 0; j < f; j++) {
        const double *a = sys->kpi[j].loading;
        m[j] = sm->offset[j] + a[0] * z[0] + a[1] * z[1] + a[2] * z[2] +
               sm->noise_sd[j] * m[j];
    }
    /* Exponential in log space = Pareto multiplier on the value. */
    for (size_t h = 0; h < sys->n_heavy; h++) {
        const size_t j = sys->heavy[h];
        m[j] -= sm->tail_sd[j] * log(1.0 - hl__rng_uniform(r));
    }
}

/* One fault occurrence: a severity shared by the whole signature (a bad
 * fault is bad everywhere) times a little per-KPI jitter. strength scales
 * the severity (1 for a training row; an incident's victims are weaker). */
static void row_fault(const sim_sampler *sm, size_t cls, double strength,
                      hl__rng *r)
{
    const size_t n = sm->sys->n_effects[cls];
    if (n == 0)
        return;
    const sim_effect *e = sm->sys->effect + cls * SIM_MAX_EFFECTS;
    const double severity = strength * hl__sim_uniform(r, 0.6, 1.3);
    for (size_t i = 0; i < n; i += 2) {
        double g0, g1;
        normal_pair(r, &g0, &g1);
        sm->model[e[i].kpi] += e[i].amount * severity * (1.0 + sm->jitter * g0);
        if (i + 1 < n)
            sm->model[e[i + 1].kpi] +=
                e[i + 1].amount * severity * (1.0 + sm->jitter * g1);
    }
}

/* Model units to values; returns the number of cells left missing. */
static size_t row_emit(const sim_sampler *sm, hl__rng *r, float *out)
{
    const sim_system *sys = sm->sys;
    size_t missing = 0;
    for (size_t j = 0; j < sys->n_kpis; j++) {
        const sim_kpi *k = &sys->kpi[j];
        const double m = clamp_model(sm->model[j]);
        double v;
        switch (k->kind) {
        case KPI_LEVEL:
            v = k->scale * exp(m);
            break;
        case KPI_COUNTER:
            v = floor(k->scale * exp(m) + hl__rng_uniform(r));
            break;
        case KPI_RATIO:
            v = 1.0 / (1.0 + exp(-m));
            break;
        case KPI_SIGNED:
            v = k->scale * m;
            break;
        default:
            v = 0.0;
            break;
        }
        out[j] = (float)v;
        if (hl__rng_next(r) < sm->missing_below) {
            out[j] = NAN;
            missing++;
        }
    }
    return missing;
}

/* y holds internal class ids on entry. */
static size_t draw_rows(const sim_sampler *sm, const int32_t *y, size_t n,
                        float *x)
{
    const size_t f = sm->sys->n_kpis;
    size_t missing = 0;
    for (size_t i = 0; i < n; i++) {
        hl__rng r;
        hl__rng_seed(&r, hl__seed_mix(sm->stream, (uint64_t)i));
        row_background(sm, &r);
        row_fault(sm, (size_t)y[i], 1.0, &r);
        missing += row_emit(sm, &r, x + i * f);
    }
    return missing;
}

/* ---- the dataset --------------------------------------------------- */

static char *number_string(const char *prefix, size_t v)
{
    char buf[48];
    snprintf(buf, sizeof buf, "%s%zu", prefix, v);
    return hl__strdup(buf);
}

/* Row ids "0", "1", ...: snprintf is slow enough to show at 1e8 rows, so
 * digits are written by hand. */
static char *row_id(size_t v)
{
    char buf[24];
    size_t len = 0;
    do {
        buf[len++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < len; i++)
        s[i] = buf[len - 1 - i];
    s[len] = '\0';
    return s;
}

/* Allocates every array of ds (strings NULL until filled) so that
 * hl_dataset_free() can release a half-built dataset. */
static hl_status dataset_alloc(hl_dataset *ds, const hl_sim_options *opt)
{
    const size_t n = opt->samples, f = opt->features;
    if (n > SIZE_MAX / f / sizeof(float))
        return HL_ERR_LIMIT;
    ds->n_rows = n;
    ds->n_features = f;
    ds->has_labels = 1;
    ds->n_classes = opt->classes;
    ds->rows_read = n;
    ds->feature_names = calloc(f, sizeof *ds->feature_names);
    ds->x = malloc(n * f * sizeof *ds->x);
    ds->sample_ids = calloc(n, sizeof *ds->sample_ids);
    ds->class_names = calloc(opt->classes, sizeof *ds->class_names);
    ds->y = calloc(n, sizeof *ds->y);
    if (!ds->feature_names || !ds->x || !ds->sample_ids || !ds->class_names ||
        !ds->y)
        return HL_ERR_NOMEM;
    return HL_OK;
}

static hl_status dataset_names(hl_dataset *ds, const hl_sim_options *opt,
                               int variant)
{
    for (size_t j = 0; j < ds->n_features; j++)
        if (!(ds->feature_names[j] = number_string("feature", j)))
            return HL_ERR_NOMEM;
    for (size_t i = 0; i < ds->n_rows; i++)
        if (!(ds->sample_ids[i] = row_id(i)))
            return HL_ERR_NOMEM;
    char buf[96];
    if (variant)
        snprintf(buf, sizeof buf, "simulate(seed=%" PRIu64 ",variant=1)",
                 opt->seed);
    else
        snprintf(buf, sizeof buf, "simulate(seed=%" PRIu64 ")", opt->seed);
    ds->source = hl__strdup(buf);
    return ds->source ? HL_OK : HL_ERR_NOMEM;
}

/* Variant 1 flattens the class mix: the imbalance is raised to
 * 1 / (1 + shift), e.g. 8 becomes 4 at shift 0.5. */
static hl_status fill_samples(hl_dataset *ds, const sim_system *sys,
                              const hl_sim_options *opt, int variant)
{
    size_t count[SIM_MAX_CLASSES];
    int32_t rank[SIM_MAX_CLASSES];
    const double imbalance = variant
                                 ? pow(opt->imbalance, 1.0 / (1.0 + opt->shift))
                                 : opt->imbalance;
    class_counts(ds->n_rows, ds->n_classes, imbalance, count);

    sim_sampler sm;
    if (sampler_init(&sm, sys, opt, variant) != HL_OK)
        return HL_ERR_NOMEM;
    draw_labels(ds->y, ds->n_rows, count, ds->n_classes, opt->seed, variant);
    ds->missing_cells = draw_rows(&sm, ds->y, ds->n_rows, ds->x);
    sampler_free(&sm);

    if (make_class_table(ds, opt->string_labels, rank) != HL_OK)
        return HL_ERR_NOMEM;
    for (size_t i = 0; i < ds->n_rows; i++)
        ds->y[i] = rank[ds->y[i]];
    return HL_OK;
}

/* opt == NULL means the defaults of hl_sim_options_init(). */
hl_status hl_simulate(const hl_sim_options *opt, int variant, hl_dataset **out,
                      hl_error *err)
{
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "simulate: out is NULL");
    *out = NULL;
    hl_sim_options defaults;
    if (!opt) {
        hl_sim_options_init(&defaults);
        opt = &defaults;
    }
    hl_status rc = check_options(opt, variant, err);
    if (rc != HL_OK)
        return rc;

    sim_system sys;
    hl_dataset *ds = calloc(1, sizeof *ds);
    if (!ds || system_build(&sys, opt) != HL_OK) {
        free(ds);
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    }
    rc = dataset_alloc(ds, opt);
    if (rc == HL_OK)
        rc = fill_samples(ds, &sys, opt, variant);
    if (rc == HL_OK)
        rc = dataset_names(ds, opt, variant);
    system_free(&sys);
    if (rc != HL_OK)
        goto fail;
    *out = ds;
    return HL_OK;

fail:
    hl_dataset_free(ds);
    if (rc == HL_ERR_LIMIT)
        return hl__fail(err, rc, "simulate: %zu x %zu cells overflow memory",
                        opt->samples, opt->features);
    return hl__fail(err, rc, "simulate: out of memory for %zu x %zu cells",
                    opt->samples, opt->features);
}

hl_status hl_sim_signatures(const hl_sim_options *opt,
                            hl_sim_signature *out, hl_error *err)
{
    if (!opt || !out)
        return hl__fail(err, HL_ERR_INVALID, "simulate: NULL argument");
    hl_status rc = check_options(opt, 0, err);
    if (rc != HL_OK)
        return rc;
    sim_system sys;
    if (system_build(&sys, opt) != HL_OK)
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    for (size_t c = 0; c < sys.n_classes; c++) {
        hl_sim_signature *sg = &out[c];
        char *name = hl__sim_class_name(c, opt->string_labels);
        snprintf(sg->label, sizeof sg->label, "%s", name ? name : "?");
        free(name);
        sg->n = 0;
        const sim_effect *e = sys.effect + c * SIM_MAX_EFFECTS;
        for (size_t i = 0; i < sys.n_effects[c]; i++)
            if (e[i].primary && sg->n < HL_SIM_MAX_SIGNATURE) {
                sg->kpi[sg->n] = e[i].kpi;
                sg->direction[sg->n++] = e[i].amount < 0 ? -1 : 1;
            }
    }
    system_free(&sys);
    return HL_OK;
}

hl_status hl_sim_shifted_features(const hl_sim_options *opt, uint8_t *shifted,
                                  hl_error *err)
{
    hl_sim_options defaults;
    if (!opt) {
        hl_sim_options_init(&defaults);
        opt = &defaults;
    }
    if (!shifted)
        return hl__fail(err, HL_ERR_INVALID, "simulate: shifted is NULL");
    hl_status rc = check_options(opt, 1, err);
    if (rc != HL_OK)
        return rc;
    sim_system sys;
    if (system_build(&sys, opt) != HL_OK)
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    /* A dead KPI stays 0 whatever its offset. */
    for (size_t j = 0; j < sys.n_kpis; j++)
        shifted[j] = opt->shift > 0 && sys.kpi[j].drift != 0.0 &&
                     sys.kpi[j].kind != KPI_ZERO;
    system_free(&sys);
    return HL_OK;
}

/* ---- one row at a time (sim_system.h) ------------------------------ */

struct hl__sim_source {
    sim_system sys;
    sim_sampler sm; /* variant 0; its scratch row makes a source one-thread */
};

hl_status hl__sim_source_new(const hl_sim_options *opt, hl__sim_source **out,
                             hl_error *err)
{
    *out = NULL;
    hl_status rc = check_options(opt, 0, err);
    if (rc != HL_OK)
        return rc;
    hl__sim_source *src = calloc(1, sizeof *src);
    if (!src || system_build(&src->sys, opt) != HL_OK) {
        free(src);
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    }
    if (sampler_init(&src->sm, &src->sys, opt, 0) != HL_OK) {
        system_free(&src->sys);
        free(src);
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    }
    *out = src;
    return HL_OK;
}

void hl__sim_source_free(hl__sim_source *src)
{
    if (!src)
        return;
    sampler_free(&src->sm);
    system_free(&src->sys);
    free(src);
}

size_t hl__sim_source_row(hl__sim_source *src, size_t cls, double strength,
                          hl__rng *r, float *out)
{
    row_background(&src->sm, r);
    if (cls < src->sys.n_classes && strength > 0.0)
        row_fault(&src->sm, cls, strength, r);
    return row_emit(&src->sm, r, out);
}
