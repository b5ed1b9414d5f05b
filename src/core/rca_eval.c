/* rca_eval.c - scores a ranks file against the truth (`healer rca-eval`):
 * how often a true root is within the first 1, 3 and 5 ranks, whether the
 * rank-1 fault is the root's when the node is right, and the mean rank.
 *
 * Both files are read by the one CSV table reader (hl_csv_read_table), so
 * their header must be exactly theirs. The truth decides which incidents
 * count; rank lines of other incidents are ignored. An incident with two
 * roots (two truth lines) is found when either is ranked. A root that is
 * not ranked counts as the incident's number of ranks + 1; an incident the
 * ranks say nothing about (unranked) as the most ranks any incident has +
 * 1 (the file's K + 1), so that leaving incidents out never helps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "healer/rca.h"
#include "idmap.h"
#include "internal.h"

typedef struct root {
    char *node, *fault;
    long next; /* the incident's next root, -1 */
} root;

typedef struct truth_incident {
    char *id;
    long first_root;
    size_t n_ranks; /* rank lines seen */
    size_t best;    /* best rank of a root; 0: none yet */
    int rank1_seen;
    int node_right;  /* rank 1 is a root */
    int fault_right; /* ... and its fault is that root's */
} truth_incident;

typedef struct evaluation {
    hl__idmap ids; /* keys: incidents[].id */
    truth_incident *incidents;
    size_t cap;
    root *roots;
    size_t n_roots, roots_cap;
    const char *ranks_path;
} evaluation;

static hl_status nomem(hl_error *err)
{
    return hl__fail(err, HL_ERR_NOMEM, "out of memory reading the files");
}


/* incident_id, root_node, root_fault */
static hl_status truth_row(void *arg, const char *const *f, size_t line,
                           hl_error *err)
{
    (void)line;
    evaluation *ev = arg;
    size_t n = ev->ids.n;
    if (hl__grow((void **)&ev->incidents, &ev->cap, n + 1, sizeof *ev->incidents) ||
        hl__grow((void **)&ev->roots, &ev->roots_cap, ev->n_roots + 1,
             sizeof *ev->roots))
        return nomem(err);
    long k = hl__idmap_find(&ev->ids, f[0]);
    if (k < 0) {
        truth_incident *in = &ev->incidents[n];
        memset(in, 0, sizeof *in);
        in->first_root = -1;
        if (!(in->id = hl__strdup(f[0])))
            return nomem(err);
        if ((k = hl__idmap_get(&ev->ids, in->id, NULL)) < 0) {
            free(in->id);
            return nomem(err);
        }
    }
    root *r = &ev->roots[ev->n_roots];
    r->node = hl__strdup(f[1]);
    r->fault = hl__strdup(f[2]);
    r->next = ev->incidents[k].first_root;
    if (!r->node || !r->fault) {
        free(r->node);
        free(r->fault);
        return nomem(err);
    }
    ev->incidents[k].first_root = (long)ev->n_roots++;
    return HL_OK;
}

static const root *find_root(const evaluation *ev, const truth_incident *in,
                             const char *node)
{
    for (long r = in->first_root; r >= 0; r = ev->roots[r].next)
        if (!strcmp(ev->roots[r].node, node))
            return &ev->roots[r];
    return NULL;
}

static hl_status parse_rank(const evaluation *ev, const char *text, size_t line,
                            size_t *out, hl_error *err)
{
    char *end = NULL;
    unsigned long long v =
        text[0] >= '0' && text[0] <= '9' ? strtoull(text, &end, 10) : 0;
    if (!end || *end || v < 1 || v > 1000000)
        return hl__fail_at(err, HL_ERR_DATA, ev->ranks_path, line, "rank", 2,
                           "rank must be a whole number from 1, got \"%.40s\"",
                           text);
    *out = (size_t)v;
    return HL_OK;
}

/* incident_id, rank, node, fault, score, onset, path */
static hl_status rank_row(void *arg, const char *const *f, size_t line,
                          hl_error *err)
{
    evaluation *ev = arg;
    size_t rank = 0;
    hl_status rc = parse_rank(ev, f[1], line, &rank, err);
    long k = hl__idmap_find(&ev->ids, f[0]);
    if (rc != HL_OK || k < 0)
        return rc;
    truth_incident *in = &ev->incidents[k];
    const root *r = find_root(ev, in, f[2]);
    in->n_ranks++;
    if (r && (!in->best || rank < in->best))
        in->best = rank;
    if (rank != 1)
        return HL_OK;
    if (in->rank1_seen)
        return hl__fail_at(err, HL_ERR_DATA, ev->ranks_path, line, "rank", 2,
                           "incident '%s' has a second rank 1", in->id);
    in->rank1_seen = 1;
    in->node_right = r != NULL;
    in->fault_right = r && !strcmp(r->fault, f[3]);
    return HL_OK;
}

static void score(const evaluation *ev, hl_rca_eval *out)
{
    size_t most = 0, top[3] = {0, 0, 0}, fault_right = 0;
    const size_t cut[3] = {1, 3, 5};
    double rank_sum = 0;
    for (size_t k = 0; k < ev->ids.n; k++)
        if (ev->incidents[k].n_ranks > most)
            most = ev->incidents[k].n_ranks;
    memset(out, 0, sizeof *out);
    out->incidents = ev->ids.n;
    for (size_t k = 0; k < ev->ids.n; k++) {
        const truth_incident *in = &ev->incidents[k];
        out->unranked += in->n_ranks == 0;
        out->node_right += (size_t)in->node_right;
        fault_right += (size_t)in->fault_right;
        for (int c = 0; c < 3; c++)
            top[c] += in->best && in->best <= cut[c];
        rank_sum += in->best      ? (double)in->best
                    : in->n_ranks ? (double)in->n_ranks + 1
                                  : (double)most + 1;
    }
    double n = (double)out->incidents;
    out->top1 = top[0] / n;
    out->top3 = top[1] / n;
    out->top5 = top[2] / n;
    out->fault_accuracy =
        out->node_right ? (double)fault_right / (double)out->node_right : NAN;
    out->mean_rank = rank_sum / n;
}

static void evaluation_free(evaluation *ev)
{
    for (size_t k = 0; k < ev->ids.n; k++)
        free(ev->incidents[k].id);
    for (size_t r = 0; r < ev->n_roots; r++) {
        free(ev->roots[r].node);
        free(ev->roots[r].fault);
    }
    free(ev->incidents);
    free(ev->roots);
    hl__idmap_free(&ev->ids);
}

hl_status hl_rca_eval_files(const char *ranks_path, const char *truth_path,
                            hl_rca_eval *out, hl_error *err)
{
    static const char *const truth_cols[] = {"incident_id", "root_node",
                                             "root_fault"};
    static const char *const rank_cols[] = {
        "incident_id", "rank", "node", "fault", "score", "onset", "path"};
    hl_error_clear(err);
    if (!ranks_path || !truth_path || !out)
        return hl__fail(err, HL_ERR_INVALID, "rca-eval: NULL argument");
    evaluation ev = {.ranks_path = ranks_path};
    hl_status rc = hl_csv_read_table_file(truth_path, 0, truth_cols, 3, 0,
                                          truth_row, &ev, err);
    if (rc == HL_OK && ev.ids.n == 0)
        rc = hl__fail_at(err, HL_ERR_DATA, truth_path, 0, NULL, 0,
                         "the truth has no incident");
    if (rc == HL_OK)
        rc = hl_csv_read_table_file(ranks_path, 0, rank_cols, 7, 0, rank_row,
                                    &ev, err);
    if (rc == HL_OK)
        score(&ev, out);
    evaluation_free(&ev);
    return rc;
}
