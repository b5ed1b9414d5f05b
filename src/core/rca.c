/* rca.c - hl_rca_run: root-cause analysis of every incident of a file
 * (healer/rca.h; the method is docs/rca.md).
 *
 * The orchestration, nothing of the method: options checked, the model's
 * features matched to the incidents' KPI columns by name (the one rule of
 * prediction, hl__model_map_features), then the incidents a batch at a
 * time - whole incidents, about HL__RCA_BATCH_ROWS rows - so that memory
 * stays bounded however long the file: the batch's rows gathered in the
 * model's order and predicted in one call (hl_model_predict_matrix, on
 * opt->threads), then each incident of the batch diagnosed (rca_node.c)
 * and ranked (rca_rank.c) as one task of a thread pool, with scratch
 * memory per worker. An incident's result depends on nothing but its own
 * rows, so not on threads or batches. Progress is reported per incident,
 * in order, between batches (where a cancel stops the run), and also from
 * inside the ranking of an incident every HL__RCA_TICK_SEARCHES searches
 * with the same (done, total), so that a cancel stops a long incident too;
 * the calls are serialised by a lock (the callback is never called
 * concurrently) but may come from a worker thread.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "internal.h"
#include "pool.h"
#include "rca_internal.h"

/* Rows predicted at once: large enough for the prediction's threads,
 * small enough that a batch's probabilities stay a few MiB. */
#define HL__RCA_BATCH_ROWS 16384

void hl_rca_options_init(hl_rca_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->top = HL_RCA_TOP_DEFAULT;
    opt->skew = HL_RCA_SKEW_DEFAULT;
    opt->hop_delay = HL_RCA_HOP_DELAY_DEFAULT;
}

hl_status hl_rca_normal_class(const hl_model *m, const char *normal,
                              int32_t *out, hl_error *err)
{
    if (!m || !out)
        return hl__fail(err, HL_ERR_INVALID, "rca: NULL argument");
    const char *want = normal ? normal : HL_NORMAL_DEFAULT_CLASS;
    size_t K = hl_model_n_classes(m);
    for (size_t k = 0; k < K; k++)
        if (!strcmp(hl_model_class_name(m, k), want)) {
            *out = (int32_t)k;
            return HL_OK;
        }
    char list[400];
    hl__join_names(list, sizeof list, hl_model_summary_get(m)->class_names, K);
    return hl__fail_field(err, HL_ERR_INVALID, "normal",
                          "the model has no class '%s' (its classes: %s): "
                          "pass --normal LABEL naming its normal class",
                          want, list);
}

hl_status hl_rca_options_check(const hl_rca_options *opt, hl_error *err)
{
    if (!opt)
        return hl__fail(err, HL_ERR_INVALID, "rca: NULL options");
    if (opt->top < 1 || opt->top > HL_RCA_MAX_TOP)
        return hl__fail_field(err, HL_ERR_INVALID, "top",
                              "top must be in 1..%d, got %zu", HL_RCA_MAX_TOP,
                              opt->top);
    if (!(opt->skew >= 0 && opt->skew <= HL_RCA_SKEW_MAX))
        return hl__fail_field(err, HL_ERR_INVALID, "skew",
                              "skew must be a number of seconds in 0..%g",
                              HL_RCA_SKEW_MAX);
    if (!(opt->hop_delay >= HL_RCA_HOP_DELAY_MIN &&
          opt->hop_delay <= HL_RCA_HOP_DELAY_MAX))
        return hl__fail_field(err, HL_ERR_INVALID, "hop_delay",
                              "hop_delay must be a number of seconds in "
                              "%g..%g",
                              HL_RCA_HOP_DELAY_MIN, HL_RCA_HOP_DELAY_MAX);
    return HL_OK;
}

static hl_status check_nodes(const hl_topology *t, const hl_incidents *inc,
                             hl_error *err)
{
    for (size_t i = 0; i < inc->n_incidents; i++)
        for (size_t k = 0; k < inc->incidents[i].n_nodes; k++)
            if (inc->incidents[i].nodes[k].node >= t->n_nodes)
                return hl__fail(err, HL_ERR_INVALID,
                                "incident '%s' names node %zu, and the "
                                "topology has %zu: the incidents were not "
                                "read against this topology",
                                inc->incidents[i].id,
                                inc->incidents[i].nodes[k].node, t->n_nodes);
    return HL_OK;
}

/* ---- one run ----------------------------------------------------------- */

typedef struct run {
    const hl_model *m;
    const hl_topology *t;
    const hl_incidents *inc;
    const hl_rca_options *opt;
    hl_rca_result *res;
    const size_t *src; /* model feature j <- column src[j] of inc->data */
    size_t nf, K;
    int threads;
    /* the batch: incidents [first, last), rows [row0, row0 + n_rows) */
    size_t first, last, row0, n_rows;
    float *x; /* HL__RCA_BATCH_ROWS (or one incident's) * nf */
    double *proba;
    double *e;
    double *g;
    size_t cap;                /* rows x, proba and e hold */
    double *low, *high;        /* the model's normal ranges, or NULL */
    hl__rca_scratch **scratch; /* per worker */
    atomic_int failed;
    atomic_int cancelled;    /* the callback said stop */
    pthread_mutex_t call;    /* serialises calls of opt->progress */
} run;

static size_t incident_row0(const hl_incidents *inc, size_t i)
{
    return inc->incidents[i].nodes[0].first;
}

static size_t incident_rows(const hl_incidents *inc, size_t i)
{
    const hl_incident *in = &inc->incidents[i];
    const hl_incident_node *last = &in->nodes[in->n_nodes - 1];
    return last->first + last->n - in->nodes[0].first;
}

static int reserve(run *r, size_t rows)
{
    if (rows <= r->cap)
        return 0;
    float *x = realloc(r->x, (rows * r->nf + 1) * sizeof *x);
    if (x)
        r->x = x;
    double *p = realloc(r->proba, (rows * r->K + 1) * sizeof *p);
    if (p)
        r->proba = p;
    double *e = realloc(r->e, (rows + 1) * sizeof *e);
    if (e)
        r->e = e;
    double *ex = realloc(r->g, (rows + 1) * sizeof *ex);
    if (ex)
        r->g = ex;
    if (!x || !p || !e || !ex)
        return -1;
    r->cap = rows;
    return 0;
}

static void free_incident(hl_rca_incident *in)
{
    free(in->id);
    for (size_t k = 0; in->nodes && k < in->n_nodes; k++)
        free(in->nodes[k].onset_text);
    free(in->nodes);
    for (size_t c = 0; in->causes && c < in->n_causes; c++)
        hl__rca_cause_clear(&in->causes[c]);
    free(in->causes);
}

/* Every node of src by its own rows (rows indexed from the batch's
 * first), then the KPI view against the incident's nodes. */
static hl_status diagnose_nodes(const run *r, const hl__rca_rows *rows,
                                const hl_incident *src, hl_rca_incident *in,
                                double *level)
{
    double centre, unit;
    in->nodes = calloc(src->n_nodes, sizeof *in->nodes);
    if (!in->nodes)
        return HL_ERR_NOMEM;
    for (; in->n_nodes < src->n_nodes; in->n_nodes++) {
        const hl_incident_node *sn = &src->nodes[in->n_nodes];
        in->nodes[in->n_nodes].node = sn->node;
        if (hl__rca_diagnose_node(rows, sn->first - r->row0, sn->n,
                                  &in->nodes[in->n_nodes],
                                  &level[in->n_nodes]) != HL_OK)
            return HL_ERR_NOMEM;
    }
    if (hl__rca_kpi_centre(level, in->n_nodes, &centre, &unit) != HL_OK)
        return HL_ERR_NOMEM;
    for (size_t k = 0; k < in->n_nodes; k++)
        if (hl__rca_kpi_gate(rows, src->nodes[k].first - r->row0,
                             src->nodes[k].n, centre, unit,
                             &in->nodes[k]) != HL_OK)
            return HL_ERR_NOMEM;
    return HL_OK;
}

/* The ranking's tick: the progress callback with the incidents done
 * before this batch; non-zero (and from then on for every worker): stop. */
static int tick(void *p)
{
    run *r = p;
    if (atomic_load(&r->cancelled))
        return 1;
    pthread_mutex_lock(&r->call);
    int stop = r->opt->progress(r->first, r->inc->n_incidents,
                                r->opt->progress_arg);
    pthread_mutex_unlock(&r->call);
    if (stop)
        atomic_store(&r->cancelled, 1);
    return stop;
}

/* Task: incident first + task, diagnosed and ranked. */
static void analyse(void *p, size_t task, int worker)
{
    run *r = p;
    size_t i = r->first + task;
    if (atomic_load(&r->cancelled))
        return;
    const hl_incident *src = &r->inc->incidents[i];
    hl_rca_incident *in = &r->res->incidents[i];
    hl__rca_rows rows = {.m = r->m,
                         .normal = r->res->normal_class,
                         .K = r->K,
                         .nf = r->nf,
                         .x = r->x,
                         .proba = r->proba,
                         .e = r->e,
                         .g = r->g,
                         .time = r->inc->time + r->row0,
                         .time_text = r->inc->time_text + r->row0,
                         .low = r->low,
                         .high = r->high};
    hl_status rc = HL_OK;
    hl__rca_row_anomalies(&rows, incident_row0(r->inc, i) - r->row0,
                          incident_rows(r->inc, i), r->e, r->g);
    in->id = hl__strdup(src->id);
    if (!in->id ||
        diagnose_nodes(r, &rows, src, in,
                       hl__rca_scratch_levels(r->scratch[worker])) != HL_OK ||
        (rc = hl__rca_rank(r->t, r->opt, r->scratch[worker], in,
                           r->opt->progress ? tick : NULL, r)) != HL_OK)
        atomic_store(rc == HL_ERR_CANCELLED ? &r->cancelled : &r->failed, 1);
}

/* The KPIs of rows [row0, row0 + n) in the model's order. */
static void gather(run *r)
{
    const hl_dataset *ds = r->inc->data;
    for (size_t i = 0; i < r->n_rows; i++) {
        const float *row = ds->x + (r->row0 + i) * ds->n_features;
        for (size_t j = 0; j < r->nf; j++)
            r->x[i * r->nf + j] = row[r->src[j]];
    }
}

/* The next batch: whole incidents from r->last on. */
static void next_batch(run *r)
{
    r->first = r->last;
    r->row0 = incident_row0(r->inc, r->first);
    r->n_rows = 0;
    while (r->last < r->inc->n_incidents &&
           (r->n_rows == 0 ||
            r->n_rows + incident_rows(r->inc, r->last) <= HL__RCA_BATCH_ROWS))
        r->n_rows += incident_rows(r->inc, r->last++);
}

static hl_status run_batches(run *r, hl__pool *pool, hl_error *err)
{
    const hl_rca_options *opt = r->opt;
    size_t total = r->inc->n_incidents;
    while (r->last < total) {
        next_batch(r);
        if (reserve(r, r->n_rows))
            return hl__fail(err, HL_ERR_NOMEM, "out of memory for %zu rows",
                            r->n_rows);
        gather(r);
        hl_status rc = hl_model_predict_matrix(r->m, r->x, r->n_rows,
                                               r->threads, r->proba, err);
        if (rc != HL_OK)
            return rc;
        hl__pool_run(pool, r->last - r->first, analyse, r);
        if (atomic_load(&r->cancelled))
            return hl__fail(err, HL_ERR_CANCELLED,
                            "root-cause analysis cancelled after %zu of "
                            "%zu incidents",
                            r->first, total);
        if (atomic_load(&r->failed))
            return hl__fail(err, HL_ERR_NOMEM,
                            "out of memory analysing the incidents");
        for (size_t i = r->first; i < r->last; i++)
            if (opt->progress && opt->progress(i + 1, total, opt->progress_arg))
                return hl__fail(err, HL_ERR_CANCELLED,
                                "root-cause analysis cancelled after %zu of "
                                "%zu incidents",
                                i + 1, total);
    }
    return HL_OK;
}

static hl_status check_args(const hl_model *m, const hl_topology *t,
                            const hl_incidents *inc, const hl_rca_options *opt,
                            hl_rca_result **out, hl_error *err)
{
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "rca: out is NULL");
    *out = NULL;
    if (!m || !t || !inc || !inc->data)
        return hl__fail(err, HL_ERR_INVALID, "rca: NULL argument");
    hl_status rc = opt ? hl_rca_options_check(opt, err) : HL_OK;
    return rc == HL_OK ? check_nodes(t, inc, err) : rc;
}

/* The normal range of each KPI in its own units (none: NULL arrays). */
static int load_ranges(run *r)
{
    if (!hl_model_has_normal_ranges(r->m))
        return 0;
    r->low = malloc((r->nf + 1) * sizeof *r->low);
    r->high = malloc((r->nf + 1) * sizeof *r->high);
    if (!r->low || !r->high)
        return -1;
    for (size_t j = 0; j < r->nf; j++) {
        hl_normal_range nr;
        if (hl_model_normal_range(r->m, j, &nr, NULL) != HL_OK)
            return -1;
        r->low[j] = nr.low;
        r->high[j] = nr.high;
    }
    return 0;
}

static int make_scratch(run *r, int workers, size_t n_nodes)
{
    r->scratch = calloc((size_t)workers, sizeof *r->scratch);
    for (int w = 0; r->scratch && w < workers; w++)
        if (!(r->scratch[w] = hl__rca_scratch_new(n_nodes)))
            return -1;
    return r->scratch ? 0 : -1;
}

hl_status hl_rca_run(const hl_model *m, const hl_topology *t,
                     const hl_incidents *inc, const hl_rca_options *opt,
                     hl_rca_result **out, hl_warnings *warn, hl_error *err)
{
    hl_error_clear(err);
    hl_rca_options defaults;
    hl_rca_options_init(&defaults);
    hl_status rc = check_args(m, t, inc, opt, out, err);
    if (rc != HL_OK)
        return rc;
    if (!opt)
        opt = &defaults;
    run r = {.m = m, .t = t, .inc = inc, .opt = opt};
    pthread_mutex_init(&r.call, NULL);
    r.nf = hl_model_n_features(m);
    r.K = hl_model_n_classes(m);
    r.threads = opt->threads;
    int workers = hl__resolve_threads(opt->threads);
    if ((size_t)workers > inc->n_incidents)
        workers = inc->n_incidents ? (int)inc->n_incidents : 1;
    size_t *src = malloc((r.nf + 1) * sizeof *src);
    r.res = calloc(1, sizeof *r.res);
    hl__pool *pool = workers > 1 ? hl__pool_create(workers) : NULL;
    if (!src || !r.res || (workers > 1 && !pool) ||
        make_scratch(&r, workers, t->n_nodes) || load_ranges(&r) ||
        !(r.res->incidents =
              calloc(inc->n_incidents + 1, sizeof *r.res->incidents))) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    r.src = src;
    r.res->n_incidents = inc->n_incidents;
    r.res->top = opt->top;
    rc = hl_rca_normal_class(m, opt->normal, &r.res->normal_class, err);
    if (rc == HL_OK)
        rc = hl__model_map_features(m, inc->data, src, warn, err);
    if (rc == HL_OK)
        rc = run_batches(&r, pool, err);
done:
    if (rc == HL_OK) {
        *out = r.res;
        r.res = NULL;
    }
    hl_rca_result_free(r.res);
    for (int w = 0; r.scratch && w < workers; w++)
        hl__rca_scratch_free(r.scratch[w]);
    free(r.scratch);
    hl__pool_destroy(pool);
    free(src);
    free(r.x);
    free(r.proba);
    free(r.e);
    free(r.g);
    free(r.low);
    free(r.high);
    pthread_mutex_destroy(&r.call);
    return rc;
}

void hl_rca_result_free(hl_rca_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->incidents && i < r->n_incidents; i++)
        free_incident(&r->incidents[i]);
    free(r->incidents);
    free(r);
}
