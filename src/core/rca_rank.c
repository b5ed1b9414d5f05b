/* rca_rank.c - which node most likely started an incident, judged on the
 * topology from every node's diagnosis (docs/rca.md says why each rule).
 *
 * Candidates are the abnormal observed nodes, plus nodes without rows
 * that an abnormal node depends on directly (a silent dependency: with
 * two or more sick dependants, a common cause; with one, it ranks just
 * under that dependant, which explains as much with more evidence - the
 * hint that the cause may be a hop further, unseen); when no node is
 * abnormal, every observed node, by its own anomaly. From each candidate u a
 * best-path search follows the direction faults travel (hl_topology.spread): a
 * path's strength is the product of what the nodes it goes through pass on
 * (abnormal: all, without rows: HL__RCA_UNOBSERVED_PASS, normal: their small
 * anomaly), and paths weaker than HL__RCA_MIN_REACH are dropped, so a search
 * only walks the incident's anomaly region and its rim - what keeps a
 * region small. It is Dijkstra's search on -log(strength), ties broken by
 * fewer hops, then the lower node index: deterministic.
 *
 * A widespread incident has a large anomaly region and many candidates, and
 * candidates x (nodes + edges) is minutes for 10,000 abnormal nodes. So at
 * most HL__RCA_MAX_SEARCHES candidates are searched: when there are more,
 * those likeliest to be roots by a cheap key (fewest abnormal direct
 * dependencies that turned abnormal no later than them plus the skew, then
 * the highest anomaly, then the earliest onset, then the lower index); the
 * others are left unscored and unranked (docs/rca.md, limits). Every
 * HL__RCA_TICK_SEARCHES searches the caller's tick runs, which may stop the
 * incident (a cancel inside one big incident).
 *
 * Over the abnormal nodes v it reaches (itself included, reach 1), with
 * w(u, v) the timing weight of v's onset against u's:
 *   explained(u) = sum a_v reach(u, v) w(u, v) / sum over all abnormal a_v
 *   timing(u)    = sum a_v reach w / sum a_v reach   (1 when none)
 *   evidence(u)  = a logistic of u's anomaly; without rows
 *                  HL__RCA_UNOBSERVED_EVIDENCE x the share of its observed
 *                  direct dependants that are abnormal
 *   score        = evidence x explained x timing.
 * The top causes' searches run once more to keep their parents: the
 * propagation tree (abnormal nodes with reach x w >= HL__RCA_TREE_MIN and
 * the nodes between) and the path to the deepest of them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "rca_internal.h"

typedef struct heap_entry {
    double strength;
    size_t hops;
    size_t node;
} heap_entry;

struct hl__rca_scratch {
    size_t n;
    long *obs;        /* per node: its index in the incident's nodes, -1 */
    size_t *count;    /* per node: abnormal dependants (candidates) */
    double *strength; /* per node, valid when stamp == gen */
    size_t *hops;
    long *parent;
    unsigned *stamp; /* reached in search gen */
    unsigned *done;  /* settled in search gen */
    unsigned gen;
    heap_entry *heap;
    size_t heap_len, heap_cap;
    size_t *order; /* settled nodes of the last search, in order */
    size_t n_order;
    uint8_t *in_tree; /* per node, cleared after use */
    double *levels;   /* per observed node of the incident (the caller's) */
    size_t searches;  /* full searches run with this scratch, ever */
    hl__rca_tick_fn tick; /* of the incident being ranked; may be NULL */
    void *tick_arg;
};

size_t hl__rca_scratch_searches(const hl__rca_scratch *s)
{
    return s->searches;
}

double *hl__rca_scratch_levels(hl__rca_scratch *s)
{
    return s->levels;
}

hl__rca_scratch *hl__rca_scratch_new(size_t n)
{
    hl__rca_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->n = n;
    s->obs = malloc((n + 1) * sizeof *s->obs);
    s->count = calloc(n + 1, sizeof *s->count);
    s->strength = malloc((n + 1) * sizeof *s->strength);
    s->hops = malloc((n + 1) * sizeof *s->hops);
    s->parent = malloc((n + 1) * sizeof *s->parent);
    s->stamp = calloc(n + 1, sizeof *s->stamp);
    s->done = calloc(n + 1, sizeof *s->done);
    s->order = malloc((n + 1) * sizeof *s->order);
    s->in_tree = calloc(n + 1, 1);
    s->levels = malloc((n + 1) * sizeof *s->levels);
    if (!s->levels || !s->obs || !s->count || !s->strength || !s->hops ||
        !s->parent || !s->stamp || !s->done || !s->order || !s->in_tree) {
        hl__rca_scratch_free(s);
        return NULL;
    }
    for (size_t v = 0; v < n; v++)
        s->obs[v] = -1;
    return s;
}

void hl__rca_scratch_free(hl__rca_scratch *s)
{
    if (!s)
        return;
    free(s->obs);
    free(s->count);
    free(s->strength);
    free(s->hops);
    free(s->parent);
    free(s->stamp);
    free(s->done);
    free(s->heap);
    free(s->order);
    free(s->in_tree);
    free(s->levels);
    free(s);
}

double hl__rca_evidence(double a)
{
    return 1.0 / (1.0 + exp(-HL__RCA_EVIDENCE_SLOPE * (a - HL__RCA_ABNORMAL)));
}

void hl__rca_cause_clear(hl_rca_cause *c)
{
    free(c->onset_text);
    free(c->path);
    free(c->tree);
    c->onset_text = NULL;
    c->path = NULL;
    c->tree = NULL;
}

/* ---- the search -------------------------------------------------------- */

/* 1 when a comes out of the heap before b: stronger, fewer hops, lower
 * index. */
static int before(const heap_entry *a, const heap_entry *b)
{
    if (a->strength != b->strength)
        return a->strength > b->strength;
    if (a->hops != b->hops)
        return a->hops < b->hops;
    return a->node < b->node;
}

static int heap_push(hl__rca_scratch *s, heap_entry e)
{
    if (s->heap_len == s->heap_cap) {
        size_t cap = s->heap_cap ? 2 * s->heap_cap : 256;
        heap_entry *h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return -1;
        s->heap = h;
        s->heap_cap = cap;
    }
    size_t i = s->heap_len++;
    while (i > 0 && before(&e, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
    return 0;
}

static heap_entry heap_pop(hl__rca_scratch *s)
{
    heap_entry top = s->heap[0], last = s->heap[--s->heap_len];
    size_t i = 0, n = s->heap_len;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

/* What node v passes on to the nodes it spreads to. */
static double pass_factor(const hl__rca_scratch *s, const hl_rca_incident *in,
                          size_t v)
{
    if (s->obs[v] < 0)
        return HL__RCA_UNOBSERVED_PASS;
    const hl_rca_node *nd = &in->nodes[s->obs[v]];
    return nd->abnormal ? 1.0 : nd->anomaly;
}

/* Offers y a path of strength st and hops h from parent x. */
static int relax(hl__rca_scratch *s, size_t y, double st, size_t h, size_t x)
{
    if (s->done[y] == s->gen)
        return 0;
    if (s->stamp[y] == s->gen) {
        heap_entry cur = {s->strength[y], s->hops[y], y};
        heap_entry offer = {st, h, y};
        if (!before(&offer, &cur))
            return 0;
    }
    s->stamp[y] = s->gen;
    s->strength[y] = st;
    s->hops[y] = h;
    s->parent[y] = (long)x;
    return heap_push(s, (heap_entry){st, h, y});
}

/* Settles every node reachable from u with strength >= HL__RCA_MIN_REACH
 * into s->order (u first, parents before children). -1: out of memory. */
static int search(const hl_topology *t, const hl_rca_incident *in,
                  hl__rca_scratch *s, size_t u)
{
    if (++s->gen == 0) { /* the stamps wrapped: start them afresh */
        memset(s->stamp, 0, s->n * sizeof *s->stamp);
        memset(s->done, 0, s->n * sizeof *s->done);
        s->gen = 1;
    }
    s->heap_len = 0;
    s->n_order = 0;
    s->stamp[u] = s->gen;
    s->strength[u] = 1.0;
    s->hops[u] = 0;
    s->parent[u] = -1;
    if (heap_push(s, (heap_entry){1.0, 0, u}))
        return -1;
    while (s->heap_len) {
        heap_entry e = heap_pop(s);
        size_t x = e.node;
        if (s->done[x] == s->gen || e.strength != s->strength[x] ||
            e.hops != s->hops[x])
            continue; /* a stale entry */
        s->done[x] = s->gen;
        s->order[s->n_order++] = x;
        double out = x == u ? 1.0 : e.strength * pass_factor(s, in, x);
        if (out < HL__RCA_MIN_REACH)
            continue;
        for (size_t k = t->spread_start[x]; k < t->spread_start[x + 1]; k++)
            if (relax(s, t->spread[k], out, e.hops + 1, x))
                return -1;
    }
    return 0;
}

/* search(), counted, with the caller's tick every HL__RCA_TICK_SEARCHES:
 * 0, -1 out of memory, -2 stopped by the tick. */
static int counted_search(const hl_topology *t, const hl_rca_incident *in,
                          hl__rca_scratch *s, size_t u)
{
    if (search(t, in, s, u))
        return -1;
    if (++s->searches % HL__RCA_TICK_SEARCHES == 0 && s->tick &&
        s->tick(s->tick_arg))
        return -2;
    return 0;
}

/* ---- timing ------------------------------------------------------------ */

/* How plausible it is that v, `hops` away, is a victim of u given their
 * onsets: 1 when v started after u and within a delay per hop (plus the
 * skew); a little less when v started before u but within the skew (clocks
 * may say so, yet of two nodes that explain each other the earlier is the
 * likelier cause: HL__RCA_EARLY_PENALTY at a whole skew); decaying
 * exponentially the further v started before u beyond the skew, or after
 * u's allowance. */
static double timing_weight(double ou, double ov, size_t hops,
                            const hl_rca_options *opt)
{
    double early = ou - ov;
    if (early > 0 && early <= opt->skew)
        return 1.0 - HL__RCA_EARLY_PENALTY * early / opt->skew;
    if (early > 0)
        return opt->skew > 0 ? (1.0 - HL__RCA_EARLY_PENALTY) *
                                   exp(-(early - opt->skew) / opt->skew)
                             : 0.0;
    double late = ov - ou - opt->skew - (double)hops * opt->hop_delay;
    if (late > 0)
        return exp(-late / opt->hop_delay);
    return 1.0;
}

/* ---- scoring ----------------------------------------------------------- */

typedef struct candidate {
    size_t node;
    double evidence, explained, timing, score, onset;
    /* the cheap key of a root (choose_candidates) */
    size_t earlier_deps;
    double anomaly;
} candidate;

static const hl_rca_node *observed(const hl__rca_scratch *s,
                                   const hl_rca_incident *in, size_t v)
{
    return s->obs[v] < 0 ? NULL : &in->nodes[s->obs[v]];
}

/* u's onset: its own, or (without rows) the earliest of the abnormal
 * nodes its last search reached. */
static double cause_onset(const hl__rca_scratch *s, const hl_rca_incident *in,
                          size_t u)
{
    const hl_rca_node *nu = observed(s, in, u);
    if (nu)
        return nu->onset;
    double o = NAN;
    for (size_t i = 0; i < s->n_order; i++) {
        const hl_rca_node *nv = observed(s, in, s->order[i]);
        if (nv && nv->abnormal && !(nv->onset >= o))
            o = nv->onset;
    }
    return o;
}

/* The evidence of a node without rows: the prior, times the share of its
 * observed direct dependants that are abnormal (a faulty dependency makes
 * them all sick). */
static double unobserved_evidence(const hl_topology *t,
                                  const hl__rca_scratch *s,
                                  const hl_rca_incident *in, size_t u)
{
    size_t seen = 0, sick = 0;
    for (size_t k = t->spread_start[u]; k < t->spread_start[u + 1]; k++) {
        const hl_rca_node *nv = observed(s, in, t->spread[k]);
        seen += nv != NULL;
        sick += nv && nv->abnormal;
    }
    return seen ? HL__RCA_UNOBSERVED_EVIDENCE * (double)sick / (double)seen
                : 0.0;
}

static void score_candidate(const hl_topology *t, const hl__rca_scratch *s,
                            const hl_rca_incident *in,
                            const hl_rca_options *opt, double total,
                            candidate *c)
{
    const hl_rca_node *nu = observed(s, in, c->node);
    double ou = cause_onset(s, in, c->node);
    double sum_w = 0, sum_r = 0;
    for (size_t i = 0; i < s->n_order; i++) {
        size_t v = s->order[i];
        const hl_rca_node *nv = observed(s, in, v);
        if (!nv || !nv->abnormal)
            continue;
        double r = nv->anomaly * s->strength[v];
        double w = timing_weight(ou, nv->onset, s->hops[v], opt);
        sum_w += r * w;
        sum_r += r;
    }
    c->onset = nu ? nu->onset : NAN;
    c->evidence = nu ? hl__rca_evidence(nu->anomaly)
                     : unobserved_evidence(t, s, in, c->node);
    if (total > 0) {
        c->explained = sum_w / total;
        c->timing = sum_r > 0 ? sum_w / sum_r : 1.0;
    } else { /* nothing abnormal: a node stands for itself */
        c->explained = 1.0;
        c->timing = 1.0;
    }
    if (c->explained > 1)
        c->explained = 1;
    c->score = c->evidence * c->explained * c->timing;
}

/* The last tie-breaks of both orders: the earlier onset (an unknown one
 * last), then the lower node index. */
static int onset_then_node(const candidate *a, const candidate *b)
{
    int na = isnan(a->onset), nb = isnan(b->onset);
    if (na != nb)
        return na ? 1 : -1;
    if (!na && a->onset != b->onset)
        return a->onset < b->onset ? -1 : 1;
    return (a->node > b->node) - (a->node < b->node);
}

static int candidate_cmp(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    return onset_then_node(a, b);
}

/* ---- candidates -------------------------------------------------------- */

/* The candidates into *out (malloc'ed), their number into *n. */
static int list_candidates(const hl_topology *t, hl__rca_scratch *s,
                           const hl_rca_incident *in, candidate **out,
                           size_t *n)
{
    size_t cap = in->n_nodes + 1, k = 0;
    if (in->n_abnormal)
        for (size_t i = 0; i < in->n_nodes; i++) {
            if (!in->nodes[i].abnormal)
                continue;
            size_t v = in->nodes[i].node;
            for (size_t j = t->depends_start[v]; j < t->depends_start[v + 1];
                 j++)
                if (s->obs[t->depends[j]] < 0 && s->count[t->depends[j]]++ == 0)
                    cap++;
        }
    candidate *c = malloc(cap * sizeof *c);
    if (!c)
        return -1;
    for (size_t i = 0; i < in->n_nodes; i++)
        if (!in->n_abnormal || in->nodes[i].abnormal)
            c[k++] = (candidate){.node = in->nodes[i].node};
    for (size_t i = 0; in->n_abnormal && i < in->n_nodes; i++) {
        if (!in->nodes[i].abnormal)
            continue;
        size_t v = in->nodes[i].node;
        for (size_t j = t->depends_start[v]; j < t->depends_start[v + 1]; j++) {
            size_t u = t->depends[j];
            if (s->obs[u] < 0 && s->count[u] >= 1)
                c[k++] = (candidate){.node = u};
            s->count[u] = 0; /* listed once; scratch left clean */
        }
    }
    *out = c;
    *n = k;
    return 0;
}

/* The cheap key of candidate c: its abnormal direct dependencies that
 * turned abnormal no later than it plus the skew (all of them for a node
 * without rows, whose onset is unknown), its anomaly (-1 without rows), its
 * onset. */
static void cheap_key(const hl_topology *t, const hl__rca_scratch *s,
                      const hl_rca_incident *in, const hl_rca_options *opt,
                      candidate *c)
{
    const hl_rca_node *nu = observed(s, in, c->node);
    c->earlier_deps = 0;
    c->anomaly = nu ? nu->anomaly : -1.0;
    c->onset = nu ? nu->onset : NAN;
    for (size_t j = t->depends_start[c->node];
         j < t->depends_start[c->node + 1]; j++) {
        const hl_rca_node *nv = observed(s, in, t->depends[j]);
        if (nv && nv->abnormal &&
            (!nu || !nu->abnormal || !(nv->onset > nu->onset + opt->skew)))
            c->earlier_deps++;
    }
}

static int cheap_cmp(const void *pa, const void *pb)
{
    const candidate *a = pa, *b = pb;
    if (a->earlier_deps != b->earlier_deps)
        return a->earlier_deps < b->earlier_deps ? -1 : 1;
    if (a->anomaly != b->anomaly)
        return a->anomaly > b->anomaly ? -1 : 1;
    return onset_then_node(a, b);
}

/* Keeps the HL__RCA_MAX_SEARCHES likeliest roots of *n candidates by their
 * cheap key (all of them when no more). */
static void choose_candidates(const hl_topology *t, const hl__rca_scratch *s,
                              const hl_rca_incident *in,
                              const hl_rca_options *opt, candidate *c,
                              size_t *n)
{
    if (*n <= HL__RCA_MAX_SEARCHES)
        return;
    for (size_t i = 0; i < *n; i++)
        cheap_key(t, s, in, opt, &c[i]);
    qsort(c, *n, sizeof *c, cheap_cmp);
    *n = HL__RCA_MAX_SEARCHES;
}

/* ---- paths and trees --------------------------------------------------- */

/* The tree and the path of cause c from a fresh search of its node. */
static int build_tree(const hl_topology *t, hl__rca_scratch *s,
                      const hl_rca_incident *in, const hl_rca_options *opt,
                      hl_rca_cause *c)
{
    int rc = counted_search(t, in, s, c->node);
    if (rc)
        return rc;
    double ou = cause_onset(s, in, c->node);
    size_t tip = c->node, members = 0;
    double tip_r = 0;
    for (size_t i = 0; i < s->n_order; i++) {
        size_t v = s->order[i];
        const hl_rca_node *nv = observed(s, in, v);
        if (v == c->node || !nv || !nv->abnormal)
            continue;
        double r = s->strength[v];
        if (r * timing_weight(ou, nv->onset, s->hops[v], opt) <
            HL__RCA_TREE_MIN)
            continue;
        for (long x = (long)v; x >= 0 && !s->in_tree[x]; x = s->parent[x])
            s->in_tree[x] = 1;
        double tr = nv->anomaly * r;
        if (s->hops[v] > s->hops[tip] ||
            (s->hops[v] == s->hops[tip] && tr > tip_r)) {
            tip = v;
            tip_r = tr;
        }
    }
    s->in_tree[c->node] = 1;
    for (size_t i = 0; i < s->n_order; i++)
        members += s->in_tree[s->order[i]];
    c->tree = malloc(members * sizeof *c->tree);
    c->path_len = s->hops[tip] + 1;
    c->path = malloc(c->path_len * sizeof *c->path);
    if (c->tree)
        for (size_t i = 0; i < s->n_order; i++) {
            size_t v = s->order[i];
            if (!s->in_tree[v])
                continue;
            s->in_tree[v] = 0;
            c->tree[c->tree_len++] = (hl_rca_step){v, s->parent[v]};
        }
    for (size_t i = 0; i < s->n_order; i++)
        s->in_tree[s->order[i]] = 0;
    if (!c->tree || !c->path)
        return -1;
    size_t at = c->path_len;
    for (long x = (long)tip; x >= 0; x = s->parent[x])
        c->path[--at] = (size_t)x;
    return 0;
}

static int fill_cause(const hl_topology *t, hl__rca_scratch *s,
                      const hl_rca_incident *in, const hl_rca_options *opt,
                      const candidate *k, hl_rca_cause *c)
{
    const hl_rca_node *nu = observed(s, in, k->node);
    memset(c, 0, sizeof *c);
    c->node = k->node;
    c->observed = nu != NULL;
    c->fault = nu ? nu->fault : -1;
    c->confidence = nu ? nu->confidence : NAN;
    c->score = k->score;
    c->evidence = k->evidence;
    c->explained = k->explained;
    c->timing = k->timing;
    c->onset = k->onset;
    if (nu && nu->onset_text && !(c->onset_text = hl__strdup(nu->onset_text)))
        return -1;
    return build_tree(t, s, in, opt, c);
}

static hl_status status_of(int rc)
{
    return rc == -2 ? HL_ERR_CANCELLED : HL_ERR_NOMEM;
}

hl_status hl__rca_rank(const hl_topology *t, const hl_rca_options *opt,
                       hl__rca_scratch *s, hl_rca_incident *in,
                       hl__rca_tick_fn tick, void *tick_arg)
{
    int sr;
    double total = 0;
    candidate *cand = NULL;
    size_t n_cand = 0;
    hl_status rc = HL_ERR_NOMEM;
    in->n_abnormal = 0;
    for (size_t i = 0; i < in->n_nodes; i++) {
        s->obs[in->nodes[i].node] = (long)i;
        if (in->nodes[i].abnormal) {
            in->n_abnormal++;
            total += in->nodes[i].anomaly;
        }
    }
    s->tick = tick;
    s->tick_arg = tick_arg;
    if (list_candidates(t, s, in, &cand, &n_cand))
        goto done;
    choose_candidates(t, s, in, opt, cand, &n_cand);
    for (size_t i = 0; i < n_cand; i++) {
        if ((sr = counted_search(t, in, s, cand[i].node))) {
            rc = status_of(sr);
            goto done;
        }
        score_candidate(t, s, in, opt, total, &cand[i]);
    }
    qsort(cand, n_cand, sizeof *cand, candidate_cmp);
    size_t top = n_cand < opt->top ? n_cand : opt->top;
    in->causes = calloc(top + 1, sizeof *in->causes);
    if (!in->causes)
        goto done;
    for (; in->n_causes < top; in->n_causes++)
        if ((sr = fill_cause(t, s, in, opt, &cand[in->n_causes],
                             &in->causes[in->n_causes]))) {
            hl__rca_cause_clear(&in->causes[in->n_causes]);
            rc = status_of(sr);
            goto done;
        }
    rc = HL_OK;
done:
    s->tick = NULL;
    for (size_t i = 0; i < in->n_nodes; i++)
        s->obs[in->nodes[i].node] = -1;
    free(cand);
    return rc;
}
