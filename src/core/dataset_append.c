/* dataset_append.c - a training set plus rows labelled in deployment.
 *
 * A model that meets a new environment does much better once it has seen
 * a few labelled rows of it (docs/benchmarks.md, "Learning from deployment
 * labels"). Those rows are few, so they are weighted up; they may also
 * name a fault the training file never had, which becomes a class. The
 * columns are matched by name because the deployment file comes from
 * another export than the training file. Text columns (hl_dataset.text)
 * are not carried over: a dataset does not keep their names, so the two
 * files' cannot be matched, and nothing trains on them.
 */
#include <stdlib.h>
#include <string.h>

#include "healer/dataset.h"
#include "internal.h"

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_int(const void *a, const void *b)
{
    return hl__label_cmp_int(*(const char *const *)a,
                             *(const char *const *)b);
}

/* The union of two label tables, in the order the CSV reader gives a
 * table (numeric when every label is an integer): pointers into them. */
static size_t union_labels(const hl_dataset *a, const hl_dataset *b,
                           const char **out)
{
    size_t n = 0;
    int all_int = 1;
    for (size_t k = 0; k < a->n_classes; k++)
        out[n++] = a->class_names[k];
    for (size_t k = 0; k < b->n_classes; k++) {
        int seen = 0;
        for (size_t q = 0; q < a->n_classes && !seen; q++)
            seen = strcmp(a->class_names[q], b->class_names[k]) == 0;
        if (!seen)
            out[n++] = b->class_names[k];
    }
    for (size_t k = 0; k < n; k++)
        all_int &= hl__label_is_int(out[k]);
    qsort(out, n, sizeof *out, all_int ? cmp_int : cmp_text);
    return n;
}

/* map[k]: the union's index of class k of ds (a table has at most a few
 * dozen classes: a linear search is the simplest exact one). */
static void map_labels(const hl_dataset *ds, const char **names, size_t n,
                       int32_t *map)
{
    for (size_t k = 0; k < ds->n_classes; k++)
        for (size_t q = 0; q < n; q++)
            if (strcmp(ds->class_names[k], names[q]) == 0)
                map[k] = (int32_t)q;
}

/* src[j]: extra's column for base's feature j. */
static hl_status match_columns(const hl_dataset *base, const hl_dataset *extra,
                               size_t *src, hl_error *err)
{
    for (size_t j = 0; j < base->n_features; j++) {
        long c = hl_dataset_feature_index(extra, base->feature_names[j]);
        if (c < 0)
            return hl__fail_at(err, HL_ERR_DATA, extra->source, 0,
                               base->feature_names[j], 0,
                               "feature '%s' of the training data is "
                               "missing from the labelled rows",
                               base->feature_names[j]);
        src[j] = (size_t)c;
    }
    for (size_t c = 0; c < extra->n_features; c++)
        if (hl_dataset_feature_index(base, extra->feature_names[c]) < 0)
            return hl__fail_at(err, HL_ERR_DATA, extra->source, 0,
                               extra->feature_names[c], 0,
                               "column '%s' of the labelled rows is not a "
                               "feature of the training data",
                               extra->feature_names[c]);
    return HL_OK;
}

static hl_status check_inputs(const hl_dataset *base, const hl_dataset *extra,
                              double weight, hl_error *err)
{
    if (!base || !extra)
        return hl__fail(err, HL_ERR_INVALID, "append: NULL dataset");
    if (!(weight > 0.0 && weight <= HL_FEEDBACK_WEIGHT_MAX))
        return hl__fail_field(err, HL_ERR_INVALID, "feedback_weight",
                              "the weight of labelled rows must be in (0, "
                              "%g], got %g",
                              HL_FEEDBACK_WEIGHT_MAX, weight);
    if (!base->has_labels)
        return hl__fail_at(err, HL_ERR_DATA, base->source, 0, "label", 0,
                           "the training data has no label column");
    if (!extra->has_labels)
        return hl__fail_at(err, HL_ERR_DATA, extra->source, 0, "label", 0,
                           "the labelled rows have no label column");
    return HL_OK;
}

/* Copies the rows of base, then the labelled rows of extra, into d. */
static void fill_rows(const hl_dataset *base, const hl_dataset *extra,
                      const size_t *src, const int32_t *map_base,
                      const int32_t *map_extra, double weight, hl_dataset *d)
{
    const size_t nf = base->n_features;
    size_t r = 0;
    for (size_t i = 0; i < base->n_rows; i++, r++) {
        memcpy(d->x + r * nf, base->x + i * nf, nf * sizeof *d->x);
        d->y[r] = base->y[i] < 0 ? -1 : map_base[base->y[i]];
        d->weight[r] = base->weight ? base->weight[i] : 1.0;
        if (d->sample_ids)
            d->sample_ids[r] = hl__strdup(base->sample_ids[i]);
    }
    for (size_t i = 0; i < extra->n_rows; i++) {
        if (extra->y[i] < 0)
            continue;
        for (size_t j = 0; j < nf; j++)
            d->x[r * nf + j] = extra->x[i * extra->n_features + src[j]];
        d->y[r] = map_extra[extra->y[i]];
        d->weight[r] = weight;
        if (d->sample_ids)
            d->sample_ids[r] = hl__strdup(extra->sample_ids[i]);
        r++;
    }
}

static int ids_complete(const hl_dataset *d)
{
    for (size_t i = 0; d->sample_ids && i < d->n_rows; i++)
        if (!d->sample_ids[i])
            return 0;
    return 1;
}

hl_status hl_dataset_append(const hl_dataset *base, const hl_dataset *extra,
                            double extra_weight, hl_dataset **out,
                            hl_error *err)
{
    *out = NULL;
    hl_status rc = check_inputs(base, extra, extra_weight, err);
    if (rc != HL_OK)
        return rc;
    size_t labelled = 0;
    for (size_t i = 0; i < extra->n_rows; i++)
        labelled += extra->y[i] >= 0;
    const size_t n = base->n_rows + labelled, nf = base->n_features;
    size_t *src = malloc((nf + 1) * sizeof *src);
    const char **names =
        malloc((base->n_classes + extra->n_classes + 1) * sizeof *names);
    int32_t *map_base = malloc((base->n_classes + 1) * sizeof *map_base);
    int32_t *map_extra = malloc((extra->n_classes + 1) * sizeof *map_extra);
    hl_dataset *d = calloc(1, sizeof *d);
    if (!src || !names || !map_base || !map_extra || !d) {
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((rc = match_columns(base, extra, src, err)) != HL_OK)
        goto done;
    d->n_rows = d->rows_read = n;
    d->n_features = nf;
    d->has_labels = 1;
    d->n_classes = union_labels(base, extra, names);
    map_labels(base, names, d->n_classes, map_base);
    map_labels(extra, names, d->n_classes, map_extra);
    d->feature_names = calloc(nf + 1, sizeof *d->feature_names);
    d->class_names = calloc(d->n_classes + 1, sizeof *d->class_names);
    d->x = malloc((n * nf + 1) * sizeof *d->x);
    d->y = malloc((n + 1) * sizeof *d->y);
    d->weight = malloc((n + 1) * sizeof *d->weight);
    d->source = hl__strdup(base->source ? base->source : "<training data>");
    if (base->sample_ids && extra->sample_ids)
        d->sample_ids = calloc(n + 1, sizeof *d->sample_ids);
    int ok = d->feature_names && d->class_names && d->x && d->y && d->weight &&
             d->source &&
             (d->sample_ids || !base->sample_ids || !extra->sample_ids);
    for (size_t j = 0; ok && j < nf; j++)
        ok = (d->feature_names[j] = hl__strdup(base->feature_names[j])) != NULL;
    for (size_t k = 0; ok && k < d->n_classes; k++)
        ok = (d->class_names[k] = hl__strdup(names[k])) != NULL;
    if (ok) {
        fill_rows(base, extra, src, map_base, map_extra, extra_weight, d);
        d->missing_cells = base->missing_cells + extra->missing_cells;
        d->rows_skipped_no_label =
            base->rows_skipped_no_label + extra->rows_skipped_no_label;
        ok = ids_complete(d);
    }
    if (!ok)
        rc = hl__fail(err, HL_ERR_NOMEM, "out of memory");
done:
    if (rc == HL_OK) {
        *out = d;
        d = NULL;
    }
    hl_dataset_free(d);
    free(src);
    free(names);
    free(map_base);
    free(map_extra);
    return rc;
}
