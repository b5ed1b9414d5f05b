/* sim_incidents.c - simulated incidents on a topology, with their truth.
 *
 * Root-cause analysis is judged on incidents whose root is known. Each
 * incident here is drawn in two steps (sim_incidents.h): a plan, then rows.
 *
 * The plan: a start time T0; a root node, uniform, with a fault class,
 * uniform among the non-normal classes; optionally a second simultaneous
 * root (onset within +-60 s). The fault spreads breadth-first against the
 * edges (t->spread: to the nodes that depend on the sick one): each hop
 * adds a delay of U(10, 60) s and multiplies the strength by U(0.5, 1.05),
 * capped at 1 (a victim may look as bad as its root), and the spread stops
 * below HL__SIM_SPREAD_MIN. A victim shows the root's class or, half the
 * time, the symptom class of the root's class (hl__sim_symptom_class: the
 * callers of a full disk see latency), at its own strength. Each node has
 * a clock skew U(-max_skew, max_skew), a sampling interval U(30, 60) s and
 * a window of rows_per_node samples starting U(0.5, 1.5) intervals before
 * T0, so onsets fall inside the windows but a late victim may show little.
 * A share of the nodes (never a root) is unobserved, and Poisson(
 * minor_anomalies) unrelated observed nodes get a weak fault (strength
 * 0.3-0.6) of a random class from a random time in their window.
 *
 * The rows: a node's samples before its onset are normal operation; from
 * its onset on they carry its class at its strength. Every row comes from
 * simulate.c's system through sim_system.h (same KPIs, load, heavy tails,
 * signatures and missing cells as a training file drawn with the same
 * options), from a generator seeded by (seed, incident, node, sample), so
 * the output does not depend on the order rows are written in. Rows are
 * written by incident, then by the timestamp a node's clock shows (node,
 * then sample, on ties), KPI values with 6 significant digits as a
 * monitoring export would.
 *
 * Not modelled: faults that end within the window, load shared between
 * nodes, KPIs that differ by node kind.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "healer/incidents.h"
#include "healer/simulate.h"
#include "internal.h"
#include "sim_incidents.h"
#include "sim_system.h"

/* Stream tags for hl__seed_mix (the system's own are simulate.c's). */
enum { STREAM_PLAN = 0x1c1d, STREAM_ROW = 0x1c1e };

void hl_sim_incident_options_init(hl_sim_incident_options *opt)
{
    memset(opt, 0, sizeof *opt);
    hl_sim_options_init(&opt->system);
    opt->system.string_labels = 1;
    opt->incidents = 100;
    opt->rows_per_node = 4;
    opt->unobserved = 0.1;
    opt->minor_anomalies = 1.0;
    opt->two_roots = 0.0;
    opt->max_skew = 30.0;
    opt->iso_time = 0;
    opt->seed = 42;
}

/* Written as "!(x >= lo && ...)" so that NaN is refused too. The system
 * options are checked by hl__sim_source_new. */
static hl_status check_options(const hl_sim_incident_options *o, hl_error *err)
{
    if (o->incidents < 1 || o->incidents > HL_SIM_MAX_INCIDENTS)
        return hl__sim_bad_option(err, "incidents",
                                  "in 1.." HL__STR(HL_SIM_MAX_INCIDENTS));
    if (o->rows_per_node < 1 || o->rows_per_node > HL_SIM_MAX_ROWS_PER_NODE)
        return hl__sim_bad_option(err, "rows_per_node",
                                  "in 1.." HL__STR(HL_SIM_MAX_ROWS_PER_NODE));
    if (!(o->unobserved >= 0.0 && o->unobserved <= HL_SIM_MAX_UNOBSERVED))
        return hl__sim_bad_option(err, "unobserved",
                                  "in [0, " HL__STR(HL_SIM_MAX_UNOBSERVED) "]");
    if (!(o->minor_anomalies >= 0.0 &&
          o->minor_anomalies <= HL_SIM_MAX_MINOR_ANOMALIES))
        return hl__sim_bad_option(err, "minor_anomalies",
                                  "in [0, " HL__STR(HL_SIM_MAX_MINOR_ANOMALIES) "]");
    if (!(o->two_roots >= 0.0 && o->two_roots <= 1.0))
        return hl__sim_bad_option(err, "two_roots", "in [0, 1]");
    if (!(o->max_skew >= 0.0 && o->max_skew <= HL_SIM_MAX_SKEW))
        return hl__sim_bad_option(err, "max_skew",
                                  "in [0, " HL__STR(HL_SIM_MAX_SKEW) "] seconds");
    return HL_OK;
}

/* ---- the plan ---- */

hl_status hl__sim_plan_alloc(hl__sim_plan *p, size_t n, hl_error *err)
{
    memset(p, 0, sizeof *p);
    p->n_nodes = n;
    p->cls = malloc(n * sizeof *p->cls);
    p->strength = malloc(n * sizeof *p->strength);
    p->onset = malloc(n * sizeof *p->onset);
    p->parent = malloc(n * sizeof *p->parent);
    p->minor = malloc(n);
    p->observed = malloc(n);
    p->skew = malloc(n * sizeof *p->skew);
    p->interval = malloc(n * sizeof *p->interval);
    p->start = malloc(n * sizeof *p->start);
    p->scratch = malloc(n * sizeof *p->scratch);
    if (!p->cls || !p->strength || !p->onset || !p->parent || !p->minor ||
        !p->observed || !p->skew || !p->interval || !p->start || !p->scratch) {
        hl__sim_plan_free(p);
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    }
    return HL_OK;
}

void hl__sim_plan_free(hl__sim_plan *p)
{
    free(p->cls);
    free(p->strength);
    free(p->onset);
    free(p->parent);
    free(p->minor);
    free(p->observed);
    free(p->skew);
    free(p->interval);
    free(p->start);
    free(p->scratch);
    memset(p, 0, sizeof *p);
}

size_t hl__sim_symptom_class(size_t c, size_t classes)
{
    return classes > 2 ? c % (classes - 1) + 1 : c;
}

/* A non-normal class, uniform. */
static size_t fault_class(hl__rng *r, size_t classes)
{
    return 1 + (size_t)hl__rng_below(r, classes - 1);
}

/* Knuth's method: fine for the small means allowed (<= 100). */
static size_t poisson(hl__rng *r, double mean)
{
    const double limit = exp(-mean);
    double prod = hl__rng_uniform(r);
    size_t k = 0;
    while (prod > limit) {
        k++;
        prod *= hl__rng_uniform(r);
    }
    return k;
}

static void plan_reset(hl__sim_plan *p)
{
    for (size_t v = 0; v < p->n_nodes; v++) {
        p->cls[v] = 0;
        p->strength[v] = 0.0;
        p->onset[v] = 0.0;
        p->parent[v] = -1;
        p->minor[v] = 0;
        p->observed[v] = 1;
    }
}

static void plan_roots(const hl_sim_incident_options *o, hl__sim_plan *p,
                       hl__rng *r)
{
    const size_t n = p->n_nodes, classes = o->system.classes;
    p->n_roots = 1;
    p->root[0] = (size_t)hl__rng_below(r, n);
    p->root_class[0] = fault_class(r, classes);
    p->onset[p->root[0]] = p->t0;
    const double u = hl__rng_uniform(r);
    if (n >= 2 && u < o->two_roots) {
        const size_t other = (size_t)hl__rng_below(r, n - 1);
        p->root[1] = other >= p->root[0] ? other + 1 : other;
        p->root_class[1] = fault_class(r, classes);
        p->onset[p->root[1]] = p->t0 + hl__sim_uniform(r, -60.0, 60.0);
        p->n_roots = 2;
    }
    for (size_t k = 0; k < p->n_roots; k++) {
        p->cls[p->root[k]] = p->root_class[k];
        p->strength[p->root[k]] = 1.0;
    }
}

/* Breadth-first from the roots against the edges. A node reached too
 * weakly stays healthy and may still catch the fault through another
 * neighbour. scratch is the queue; origin of a victim = its root's slot,
 * found by following parents (bounded by the hops taken). */
static size_t root_slot(const hl__sim_plan *p, size_t v)
{
    while (p->parent[v] >= 0)
        v = (size_t)p->parent[v];
    return v == p->root[0] ? 0 : 1;
}

static void plan_spread(const hl_sim_incident_options *o, const hl_topology *t,
                        hl__sim_plan *p, hl__rng *r)
{
    size_t head = 0, tail = 0;
    for (size_t k = 0; k < p->n_roots; k++)
        p->scratch[tail++] = p->root[k];
    while (head < tail) {
        const size_t v = p->scratch[head++];
        const size_t root_cls = p->root_class[root_slot(p, v)];
        for (size_t e = t->spread_start[v]; e < t->spread_start[v + 1]; e++) {
            const size_t u = t->spread[e];
            if (p->strength[u] > 0.0)
                continue;
            const double delay = hl__sim_uniform(r, 10.0, 60.0);
            double s = p->strength[v] * hl__sim_uniform(r, 0.5, 1.05);
            const int own = hl__rng_uniform(r) < 0.5;
            if (s > 1.0)
                s = 1.0;
            if (s < HL__SIM_SPREAD_MIN)
                continue;
            p->strength[u] = s;
            p->onset[u] = p->onset[v] + delay;
            p->parent[u] = (long)v;
            p->cls[u] =
                own ? root_cls
                    : hl__sim_symptom_class(root_cls, o->system.classes);
            p->scratch[tail++] = u;
        }
    }
}

static void plan_clocks(const hl_sim_incident_options *o, hl__sim_plan *p,
                        hl__rng *r)
{
    for (size_t v = 0; v < p->n_nodes; v++) {
        p->skew[v] = hl__sim_uniform(r, -o->max_skew, o->max_skew);
        p->interval[v] = hl__sim_uniform(r, 30.0, 60.0);
        p->start[v] = p->t0 - hl__sim_uniform(r, 0.5, 1.5) * p->interval[v];
    }
}

static int is_root(const hl__sim_plan *p, size_t v)
{
    return v == p->root[0] || (p->n_roots == 2 && v == p->root[1]);
}

/* Picks k of the candidates listed in scratch[0..m) (partial shuffle);
 * they end up in scratch[0..k). */
static void pick(hl__sim_plan *p, size_t m, size_t k, hl__rng *r)
{
    for (size_t i = 0; i < k && i < m; i++) {
        const size_t j = i + (size_t)hl__rng_below(r, m - i);
        const size_t tmp = p->scratch[i];
        p->scratch[i] = p->scratch[j];
        p->scratch[j] = tmp;
    }
}

/* round(unobserved * n) nodes, never a root, get no rows. */
static void plan_unobserved(const hl_sim_incident_options *o, hl__sim_plan *p,
                            hl__rng *r)
{
    size_t m = 0;
    for (size_t v = 0; v < p->n_nodes; v++)
        if (!is_root(p, v))
            p->scratch[m++] = v;
    size_t k = (size_t)(o->unobserved * (double)p->n_nodes + 0.5);
    if (k > m)
        k = m;
    pick(p, m, k, r);
    for (size_t i = 0; i < k; i++)
        p->observed[p->scratch[i]] = 0;
}

/* Weak unrelated faults on observed nodes the incident left healthy. */
static void plan_minor(const hl_sim_incident_options *o, hl__sim_plan *p,
                       hl__rng *r)
{
    size_t m = 0;
    for (size_t v = 0; v < p->n_nodes; v++)
        if (p->observed[v] && p->strength[v] == 0.0)
            p->scratch[m++] = v;
    size_t k = poisson(r, o->minor_anomalies);
    if (k > m)
        k = m;
    pick(p, m, k, r);
    for (size_t i = 0; i < k; i++) {
        const size_t v = p->scratch[i];
        const double window = (double)o->rows_per_node * p->interval[v];
        p->minor[v] = 1;
        p->cls[v] = fault_class(r, o->system.classes);
        p->strength[v] = hl__sim_uniform(r, 0.3, 0.6);
        p->onset[v] = p->start[v] + hl__sim_uniform(r, 0.0, window);
    }
}

void hl__sim_plan_draw(const hl_sim_incident_options *o, const hl_topology *t,
                       size_t index, hl__sim_plan *p)
{
    hl__rng r;
    hl__rng_seed(&r, hl__seed_mix(hl__seed_mix(o->seed, STREAM_PLAN), index));
    plan_reset(p);
    p->t0 = floor(HL__SIM_INCIDENT_EPOCH +
                  (double)index * HL__SIM_INCIDENT_SPACING +
                  hl__sim_uniform(&r, 0.0, HL__SIM_INCIDENT_JITTER));
    plan_roots(o, p, &r);
    plan_spread(o, t, p, &r);
    plan_clocks(o, p, &r);
    plan_unobserved(o, p, &r);
    plan_minor(o, p, &r);
}

/* ---- the rows ---- */

/* One sample of one node: when its clock says it was taken. */
typedef struct sim_row {
    long long stamp; /* seconds, as written */
    size_t node;
    size_t k; /* sample number within the node's window */
} sim_row;

static int cmp_row(const void *a, const void *b)
{
    const sim_row *x = a, *y = b;
    if (x->stamp != y->stamp)
        return x->stamp < y->stamp ? -1 : 1;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return x->k < y->k ? -1 : (x->k > y->k);
}

/* The rows of the observed nodes, sorted by time; returns how many. */
static size_t plan_rows(const hl_sim_incident_options *o, const hl__sim_plan *p,
                        sim_row *rows)
{
    size_t m = 0;
    for (size_t v = 0; v < p->n_nodes; v++) {
        if (!p->observed[v])
            continue;
        for (size_t k = 0; k < o->rows_per_node; k++) {
            const double when = p->start[v] + (double)k * p->interval[v];
            rows[m].stamp = llround(when + p->skew[v]);
            rows[m].node = v;
            rows[m++].k = k;
        }
    }
    qsort(rows, m, sizeof *rows, cmp_row);
    return m;
}

static void put_stamp(FILE *f, long long stamp, int iso)
{
    if (!iso) {
        fprintf(f, "%lld", stamp);
        return;
    }
    const time_t tt = (time_t)stamp;
    struct tm tm;
    char buf[32];
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(buf, f);
}

typedef struct sim_writer {
    const hl_sim_incident_options *o;
    const hl_topology *t;
    hl__sim_source *src;
    hl__sim_plan plan;
    sim_row *rows;
    float *x;
    char **labels; /* internal class -> label */
} sim_writer;

static void put_row(sim_writer *w, FILE *f, const char *incident,
                    const sim_row *row, uint64_t stream)
{
    const hl__sim_plan *p = &w->plan;
    const size_t v = row->node, features = w->o->system.features;
    const double when = p->start[v] + (double)row->k * p->interval[v];
    const int sick = p->strength[v] > 0.0 && when >= p->onset[v];
    hl__rng r;
    hl__rng_seed(&r, hl__seed_mix(hl__seed_mix(stream, v), row->k));
    hl__sim_source_row(w->src, sick ? p->cls[v] : 0,
                       sick ? p->strength[v] : 0.0, &r, w->x);
    fputs(incident, f);
    putc(',', f);
    hl__csv_put_text(f, w->t->nodes[v].id);
    putc(',', f);
    put_stamp(f, row->stamp, w->o->iso_time);
    for (size_t j = 0; j < features; j++) {
        putc(',', f);
        if (w->x[j] == w->x[j])
            fprintf(f, "%.6g", (double)w->x[j]);
    }
    putc('\n', f);
}

static void put_header(FILE *f, size_t features)
{
    fputs(HL_INCIDENT_ID_COLUMN "," HL_INCIDENT_NODE_COLUMN
                                "," HL_INCIDENT_TIME_COLUMN,
          f);
    for (size_t j = 0; j < features; j++)
        fprintf(f, ",feature%zu", j);
    putc('\n', f);
}

static void put_incident(sim_writer *w, size_t index, FILE *csv, FILE *truth)
{
    char incident[32];
    snprintf(incident, sizeof incident, "inc-%04zu", index + 1);
    hl__sim_plan_draw(w->o, w->t, index, &w->plan);
    const size_t m = plan_rows(w->o, &w->plan, w->rows);
    const uint64_t stream =
        hl__seed_mix(hl__seed_mix(w->o->seed, STREAM_ROW), index);
    for (size_t i = 0; i < m; i++)
        put_row(w, csv, incident, &w->rows[i], stream);
    for (size_t k = 0; k < w->plan.n_roots; k++) {
        fprintf(truth, "%s,", incident);
        hl__csv_put_text(truth, w->t->nodes[w->plan.root[k]].id);
        fprintf(truth, ",%s\n", w->labels[w->plan.root_class[k]]);
    }
}

static void writer_free(sim_writer *w)
{
    hl__sim_source_free(w->src);
    hl__sim_plan_free(&w->plan);
    free(w->rows);
    free(w->x);
    if (w->labels)
        hl__free_strings(w->labels, w->o->system.classes);
}

static hl_status writer_init(sim_writer *w, const hl_sim_incident_options *o,
                             const hl_topology *t, hl_error *err)
{
    memset(w, 0, sizeof *w);
    w->o = o;
    w->t = t;
    hl_sim_options sys = o->system;
    sys.string_labels = 1;
    hl_status rc = hl__sim_source_new(&sys, &w->src, err);
    if (rc != HL_OK)
        return rc;
    if ((rc = hl__sim_plan_alloc(&w->plan, t->n_nodes, err)) != HL_OK)
        return rc;
    w->rows = malloc(t->n_nodes * o->rows_per_node * sizeof *w->rows);
    w->x = malloc(sys.features * sizeof *w->x);
    w->labels = calloc(sys.classes, sizeof *w->labels);
    for (size_t c = 0; w->labels && c < sys.classes; c++)
        if (!(w->labels[c] = hl__sim_class_name(c, 1)))
            break;
    if (!w->rows || !w->x || !w->labels || !w->labels[sys.classes - 1])
        return hl__fail(err, HL_ERR_NOMEM, "simulate: out of memory");
    return HL_OK;
}

/* Both files are written under temporary names and renamed only when both
 * are complete. */
static hl_status write_files(sim_writer *w, const char *csv_path,
                             const char *truth_path, hl_error *err)
{
    hl__atomic_file csv, truth;
    hl_status rc = hl__atomic_open(&csv, csv_path, err);
    if (rc != HL_OK)
        return rc;
    if ((rc = hl__atomic_open(&truth, truth_path, err)) != HL_OK) {
        hl__atomic_abort(&csv);
        return rc;
    }
    hl__locale_scope sc = hl__c_locale_enter();
    put_header(csv.f, w->o->system.features);
    fputs("incident_id,root_node,root_fault\n", truth.f);
    for (size_t i = 0; i < w->o->incidents; i++)
        put_incident(w, i, csv.f, truth.f);
    hl__c_locale_leave(sc);
    if ((rc = hl__atomic_commit(&csv, err)) != HL_OK) {
        hl__atomic_abort(&truth);
        return rc;
    }
    return hl__atomic_commit(&truth, err);
}

hl_status hl_sim_incidents_write(const hl_sim_incident_options *opt,
                                 const hl_topology *t, const char *csv_path,
                                 const char *truth_path, hl_error *err)
{
    if (!opt || !t || !csv_path || !truth_path)
        return hl__fail(err, HL_ERR_INVALID, "simulate: NULL argument");
    if (!strcmp(csv_path, truth_path))
        return hl__fail(err, HL_ERR_INVALID,
                        "simulate: the incidents and the truth cannot both "
                        "go to '%s'",
                        csv_path);
    hl_status rc = check_options(opt, err);
    if (rc != HL_OK)
        return rc;
    sim_writer w;
    rc = writer_init(&w, opt, t, err);
    if (rc == HL_OK)
        rc = write_files(&w, csv_path, truth_path, err);
    writer_free(&w);
    return rc;
}
