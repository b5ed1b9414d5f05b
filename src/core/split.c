/* split.c - stratified k-fold and hold-out splits that keep groups whole.
 *
 * Both splits work on groups, not rows: rows that share a group id (exact
 * duplicates, in practice) must land on the same side, or a model would be
 * scored on rows it has memorised. A group is stratified by the class of its
 * first labelled row, so every class is spread evenly over folds.
 *
 * How the order is made random: each group gets a key hashed from (seed,
 * group id) and groups are sorted by it. That is a shuffle which does not
 * depend on the order rows were read in, only on the seed and the ids, and
 * it needs no RNG state threaded through the code.
 *
 * Folds are dealt greedily: each group goes to the fold that has the fewest
 * rows of its class so far (ties: fewest rows overall, then lowest index).
 * Big groups are dealt first. Two consequences worth knowing:
 *   - per class, fold sizes never differ by more than the largest group;
 *   - while some fold is empty, every group goes to an empty fold, so with at
 *     least k labelled groups no fold is empty.
 * A min-heap over folds keeps this O(log k) per group, so leave-one-out
 * style k (k close to the number of groups) stays fast.
 *
 * Unlabelled rows (y < 0) take part in neither split.
 */
#include <stdlib.h>
#include <string.h>

#include "healer/metrics.h"
#include "internal.h"

typedef struct split_group {
    uint64_t key; /* hashed from (seed, id): sorting by it shuffles */
    size_t id;    /* the caller's group id */
    size_t rows;  /* labelled rows in the group */
    int32_t cls;  /* class of the group's first labelled row */
} split_group;

/* Groups ordered by class; within a class in dealing order. */
typedef struct split_plan {
    size_t n_groups;
    split_group *groups;
    size_t *class_start; /* n_classes + 1 offsets into groups */
    size_t *slot;        /* n entries: group id -> index into groups */
} split_plan;

static void plan_free(split_plan *p)
{
    free(p->groups);
    free(p->class_start);
    free(p->slot);
    memset(p, 0, sizeof *p);
}

static size_t group_of(const uint32_t *group, size_t i)
{
    return group ? (size_t)group[i] : i;
}

static hl_status check_rows(const char *what, const int32_t *y,
                            const uint32_t *group, size_t n, size_t n_classes,
                            const void *out, hl_error *err)
{
    if (n_classes == 0 || n_classes > INT32_MAX)
        return hl__fail(err, HL_ERR_INVALID,
                        "%s: n_classes must be in 1..%d (got %zu)", what,
                        INT32_MAX, n_classes);
    if (n > 0 && (!y || !out))
        return hl__fail(err, HL_ERR_INVALID,
                        "%s: y and the output array are required", what);
    for (size_t i = 0; i < n; i++) {
        if (y[i] >= (int32_t)n_classes)
            return hl__fail(err, HL_ERR_INVALID,
                            "%s: row %zu: class %d is out of range 0..%zu",
                            what, i, (int)y[i], n_classes - 1);
        if (group && group[i] >= n)
            return hl__fail(
                err, HL_ERR_INVALID,
                "%s: row %zu: group id %u is not below the row count %zu", what,
                i, (unsigned)group[i], n);
    }
    return HL_OK;
}

/* Numbers groups in order of first appearance and fills their class/size. */
static hl_status collect_groups(split_plan *p, const int32_t *y,
                                const uint32_t *group, size_t n, uint64_t seed)
{
    p->slot = malloc((n ? n : 1) * sizeof *p->slot);
    if (!p->slot)
        return HL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        p->slot[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const size_t g = group_of(group, i);
        if (y[i] >= 0 && p->slot[g] == SIZE_MAX)
            p->slot[g] = p->n_groups++;
    }
    p->groups = calloc(p->n_groups ? p->n_groups : 1, sizeof *p->groups);
    if (!p->groups)
        return HL_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (y[i] < 0)
            continue;
        const size_t g = group_of(group, i);
        split_group *sg = &p->groups[p->slot[g]];
        if (sg->rows++ == 0) {
            sg->id = g;
            sg->cls = y[i];
            sg->key = hl__seed_mix(seed, (uint64_t)g);
        }
    }
    return HL_OK;
}

/* Class first; then (folds only) larger groups first so that the greedy
 * deal balances well; then the random key; the id breaks hash ties. */
static int cmp_common(const split_group *a, const split_group *b, int by_size)
{
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (by_size && a->rows != b->rows)
        return a->rows > b->rows ? -1 : 1;
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return a->id < b->id ? -1 : (a->id > b->id);
}

static int cmp_for_folds(const void *a, const void *b)
{
    return cmp_common(a, b, 1);
}

static int cmp_for_holdout(const void *a, const void *b)
{
    return cmp_common(a, b, 0);
}

/* Sorts the groups and indexes where each class starts. slot[] is rebuilt
 * afterwards because sorting moved the groups. */
static hl_status order_groups(split_plan *p, size_t n_classes, int by_size)
{
    if (p->n_groups > 1)
        qsort(p->groups, p->n_groups, sizeof *p->groups,
              by_size ? cmp_for_folds : cmp_for_holdout);
    p->class_start = calloc(n_classes + 1, sizeof *p->class_start);
    if (!p->class_start)
        return HL_ERR_NOMEM;
    for (size_t g = 0; g < p->n_groups; g++)
        p->class_start[(size_t)p->groups[g].cls + 1]++;
    for (size_t c = 0; c < n_classes; c++)
        p->class_start[c + 1] += p->class_start[c];
    for (size_t g = 0; g < p->n_groups; g++)
        p->slot[p->groups[g].id] = g;
    return HL_OK;
}

static hl_status build_plan(split_plan *p, const char *what, const int32_t *y,
                            const uint32_t *group, size_t n, size_t n_classes,
                            uint64_t seed, int by_size, hl_error *err)
{
    memset(p, 0, sizeof *p);
    if (collect_groups(p, y, group, n, seed) != HL_OK ||
        order_groups(p, n_classes, by_size) != HL_OK) {
        plan_free(p);
        return hl__fail(err, HL_ERR_NOMEM, "%s: out of memory", what);
    }
    return HL_OK;
}

/* Min-heap of fold indices ordered by (rows of the current class, rows in
 * total, index). Only the top fold ever grows, so one sift-down per deal. */
typedef struct fold_heap {
    uint32_t *fold;
    size_t *class_rows;
    size_t *total_rows;
    size_t k;
} fold_heap;

static int fold_before(const fold_heap *h, uint32_t a, uint32_t b)
{
    if (h->class_rows[a] != h->class_rows[b])
        return h->class_rows[a] < h->class_rows[b];
    if (h->total_rows[a] != h->total_rows[b])
        return h->total_rows[a] < h->total_rows[b];
    return a < b;
}

static void sift_down(fold_heap *h, size_t pos)
{
    for (;;) {
        size_t best = pos;
        const size_t l = 2 * pos + 1, r = l + 1;
        if (l < h->k && fold_before(h, h->fold[l], h->fold[best]))
            best = l;
        if (r < h->k && fold_before(h, h->fold[r], h->fold[best]))
            best = r;
        if (best == pos)
            return;
        const uint32_t t = h->fold[pos];
        h->fold[pos] = h->fold[best];
        h->fold[best] = t;
        pos = best;
    }
}

static void heap_start_class(fold_heap *h)
{
    for (size_t f = 0; f < h->k; f++) {
        h->class_rows[f] = 0;
        h->fold[f] = (uint32_t)f;
    }
    for (size_t i = h->k / 2; i-- > 0;)
        sift_down(h, i);
}

/* Deals one class's groups; writes each group's fold into gfold. */
static void deal_class(fold_heap *h, const split_plan *p, size_t cls,
                       uint32_t *gfold)
{
    const size_t begin = p->class_start[cls], end = p->class_start[cls + 1];
    if (begin == end)
        return;
    heap_start_class(h);
    for (size_t g = begin; g < end; g++) {
        const uint32_t f = h->fold[0];
        h->class_rows[f] += p->groups[g].rows;
        h->total_rows[f] += p->groups[g].rows;
        gfold[g] = f;
        sift_down(h, 0);
    }
}

/* A class with fewer groups than k simply leaves some folds without that
 * class; the folds as a whole are still non-empty (see the file comment). */
hl_status hl_stratified_folds(const int32_t *y, const uint32_t *group, size_t n,
                              size_t n_classes, unsigned k, uint64_t seed,
                              uint32_t *fold_out, hl_error *err)
{
    static const char what[] = "stratified folds";
    if (k < 2 || k == UINT32_MAX)
        return hl__fail(err, HL_ERR_INVALID, "%s: k must be >= 2 (got %u)",
                        what, k);
    hl_status rc = check_rows(what, y, group, n, n_classes, fold_out, err);
    if (rc != HL_OK)
        return rc;

    split_plan p;
    rc = build_plan(&p, what, y, group, n, n_classes, seed, 1, err);
    if (rc != HL_OK)
        return rc;

    fold_heap h = {.k = k};
    uint32_t *gfold = NULL;
    if (p.n_groups < k) {
        rc = hl__fail(err, HL_ERR_DATA,
                      "%s: %zu labelled row group(s) cannot fill %u folds",
                      what, p.n_groups, k);
        goto done;
    }
    h.fold = malloc(k * sizeof *h.fold);
    h.class_rows = malloc(k * sizeof *h.class_rows);
    h.total_rows = calloc(k, sizeof *h.total_rows);
    gfold = malloc(p.n_groups * sizeof *gfold);
    if (!h.fold || !h.class_rows || !h.total_rows || !gfold) {
        rc = hl__fail(err, HL_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t c = 0; c < n_classes; c++)
        deal_class(&h, &p, c, gfold);
    for (size_t i = 0; i < n; i++)
        fold_out[i] = y[i] < 0 ? UINT32_MAX : gfold[p.slot[group_of(group, i)]];

done:
    free(gfold);
    free(h.fold);
    free(h.class_rows);
    free(h.total_rows);
    plan_free(&p);
    return rc;
}

/* Validation share of a class with `groups` groups: rounded to the nearest
 * group, always leaving one for training (so a class with a single group
 * stays in training entirely, and a small class may get no validation
 * group at all when fraction * groups < 0.5). */
static size_t valid_groups(size_t groups, double fraction)
{
    if (groups < 2)
        return 0;
    size_t v = (size_t)(fraction * (double)groups + 0.5);
    return v > groups - 1 ? groups - 1 : v;
}

hl_status hl_stratified_holdout(const int32_t *y, const uint32_t *group,
                                size_t n, size_t n_classes, double fraction,
                                uint64_t seed, uint8_t *is_valid, hl_error *err)
{
    static const char what[] = "stratified holdout";
    if (!(fraction > 0.0 && fraction < 1.0))
        return hl__fail(err, HL_ERR_INVALID,
                        "%s: fraction must be in (0, 1) (got %g)", what,
                        fraction);
    hl_status rc = check_rows(what, y, group, n, n_classes, is_valid, err);
    if (rc != HL_OK)
        return rc;

    split_plan p;
    rc = build_plan(&p, what, y, group, n, n_classes, seed, 0, err);
    if (rc != HL_OK)
        return rc;

    uint8_t *gvalid = calloc(p.n_groups ? p.n_groups : 1, 1);
    if (!gvalid) {
        rc = hl__fail(err, HL_ERR_NOMEM, "%s: out of memory", what);
        goto done;
    }
    for (size_t c = 0; c < n_classes; c++) {
        const size_t begin = p.class_start[c];
        const size_t v = valid_groups(p.class_start[c + 1] - begin, fraction);
        memset(gvalid + begin, 1, v);
    }
    for (size_t i = 0; i < n; i++)
        is_valid[i] = y[i] < 0 ? 0 : gvalid[p.slot[group_of(group, i)]];

done:
    free(gvalid);
    plan_free(&p);
    return rc;
}

/* One pass with a table as large as the largest group id: hl_train, its
 * hold-out and the stack's folds all renumber groups this way. */
hl_status hl__groups_by_position(const uint32_t *ds_group, const size_t *rows,
                                 size_t n, uint32_t *out)
{
    if (!ds_group) {
        for (size_t i = 0; i < n; i++)
            out[i] = (uint32_t)i;
        return HL_OK;
    }
    size_t top = 0;
    for (size_t i = 0; i < n; i++)
        if (ds_group[rows[i]] >= top)
            top = (size_t)ds_group[rows[i]] + 1;
    uint32_t *first = malloc((top + 1) * sizeof *first);
    if (!first)
        return HL_ERR_NOMEM;
    for (size_t g = 0; g < top; g++)
        first[g] = UINT32_MAX;
    for (size_t i = 0; i < n; i++) {
        uint32_t g = ds_group[rows[i]];
        if (first[g] == UINT32_MAX)
            first[g] = (uint32_t)i;
        out[i] = first[g];
    }
    free(first);
    return HL_OK;
}
