/* domain/leaderboard.c - models scored side by side on one labelled
 * dataset (see leaderboard.h). One model at a time: acquire it from the
 * cache, predict the dataset read once, map its labels, score with the
 * engine's metrics, release; the rows' probabilities are the only
 * allocation the size of the data besides the dataset itself.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "domain/datasets.h"
#include "domain/engine_json.h"
#include "domain/leaderboard.h"
#include "domain/models.h"

/* The dataset: visible, live, labelled and small enough; read once. */
static hs_status load_dataset(hs_app *app, const hs_user *viewer, hs_id id,
                              hs_dataset_rec *rec, hl_dataset **ds,
                              hs_error *err)
{
    hs_status st = hs_datasets_get(app, id, viewer, rec, err);
    if (st != HS_OK)
        return st;
    if (rec->deleted_at)
        return hs_fail(err, HS_ERR_NOTFOUND, "dataset %lld is in the trash",
                       (long long)id);
    if ((st = hs_dataset_check_ready(rec, "dataset_id", err)) != HS_OK)
        return st; /* its row count is not known before it is ingested */
    if (rec->rows > HS_LEADERBOARD_MAX_ROWS)
        return hs_fail_field(
            err, HS_ERR_INVALID, "dataset_id",
            "dataset %lld has %lld rows; a leaderboard scores at most %d: "
            "upload a labelled sample of it",
            (long long)id, (long long)rec->rows, HS_LEADERBOARD_MAX_ROWS);
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.require_label = 1;
    hl_error csv_err;
    hl_error_clear(&csv_err);
    st = hs_datasets_load_blob(app, rec->blob_key, rec->name, &opt, ds,
                               &csv_err, err);
    if (st == HS_ERR_INVALID)
        return hs_fail_field(err, HS_ERR_INVALID, "dataset_id",
                             "dataset %lld cannot be scored: %s", (long long)id,
                             csv_err.message);
    return st;
}

/* The model's own estimate beside its score here. */
static json_t *estimate_json(const hl_model_summary *s)
{
    double f1, acc;
    const char *source = hs_models_estimate(s, &f1, &acc);
    return json_pack("{s:s?, s:o, s:o}", "source", source, "macro_f1",
                     hs_json_num(f1), "accuracy", hs_json_num(acc));
}

static json_t *not_applicable(json_t *row, const char *reason)
{
    json_object_set_new(row, "applicable", json_false());
    json_object_set_new(row, "reason", json_string(reason));
    return row;
}

/* The scores of one loaded model on ds (or why it has none). */
static json_t *score_model(const hl_model *m, const hl_dataset *ds, json_t *row)
{
    const hl_model_summary *s = hl_model_summary_get(m);
    const size_t n = ds->n_rows, K = s->n_classes;
    double *proba = malloc(n * K * sizeof *proba);
    int32_t *y = malloc(n * sizeof *y), *pred = malloc(n * sizeof *pred);
    hl_error herr;
    hl_error_clear(&herr);
    size_t unknown = 0;
    hl_metrics met;
    memset(&met, 0, sizeof met);
    json_t *out = row;
    if (!proba || !y || !pred) {
        out = not_applicable(row, "out of memory");
    } else if (hl_model_predict_dataset(m, ds, 1, proba, NULL, &herr) !=
                   HL_OK ||
               hl_model_map_labels(m, ds, y, &unknown, &herr) != HL_OK) {
        out = not_applicable(row, herr.message);
    } else {
        size_t scored = 0;
        for (size_t i = 0; i < n; i++) {
            pred[i] = hl_predict_argmax(proba + i * K, K);
            scored += y[i] >= 0;
        }
        if (!scored) {
            out = not_applicable(row, "none of the dataset's labels is a "
                                      "class of the model");
        } else if (hl_metrics_compute(y, pred, proba, n, K, &met, &herr) !=
                   HL_OK) {
            out = not_applicable(row, herr.message);
        } else {
            json_t *per_class = json_object();
            for (size_t k = 0; k < K; k++)
                if (met.per_class[k].support > 0)
                    json_object_set_new(per_class, s->class_names[k],
                                        hs_json_num(met.per_class[k].f1));
            json_object_set_new(row, "applicable", json_true());
            json_object_set_new(row, "rows_scored",
                                json_integer((json_int_t)scored));
            json_object_set_new(row, "unknown_labels",
                                json_integer((json_int_t)unknown));
            json_object_set_new(row, "accuracy", hs_json_num(met.accuracy));
            json_object_set_new(row, "macro_f1", hs_json_num(met.macro_f1));
            json_object_set_new(row, "per_class_f1", per_class);
        }
    }
    hl_metrics_free(&met);
    free(proba);
    free(y);
    free(pred);
    return out;
}

/* One model's row: who it is, its own estimate, its scores here. */
static hs_status model_row(hs_app *app, const hs_user *viewer, hs_id id,
                           hs_id dataset_id, const hl_dataset *ds, json_t **row,
                           hs_error *err)
{
    hs_model_ref *ref = NULL;
    hs_model_rec rec;
    hs_status st = hs_models_acquire(app, id, viewer, &ref, &rec, err);
    if (st != HS_OK)
        return st;
    const hl_model *m = hs_model_ref_get(ref);
    *row = json_pack("{s:I, s:s, s:s, s:I, s:b, s:o, s:n, s:n, s:n, s:n, s:n}",
                     "model_id", (json_int_t)rec.id, "name", rec.name, "algo",
                     rec.algo, "created_at", (json_int_t)rec.created_at,
                     "in_sample", rec.dataset_id == dataset_id, "estimate",
                     estimate_json(hl_model_summary_get(m)), "reason",
                     "rows_scored", "accuracy", "macro_f1", "per_class_f1");
    if (*row)
        *row = score_model(m, ds, *row);
    hs_models_release(app, ref);
    hs_model_rec_free(&rec);
    return *row ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
}

/* Applicable models first, best macro-F1 first; then the others. */
static int cmp_rows(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int ax = json_is_true(json_object_get(x, "applicable"));
    int ay = json_is_true(json_object_get(y, "applicable"));
    if (ax != ay)
        return ay - ax;
    double fx = json_number_value(json_object_get(x, "macro_f1"));
    double fy = json_number_value(json_object_get(y, "macro_f1"));
    return (fx < fy) - (fx > fy);
}

/* The ids to score: those asked for, or the viewer's own models, newest
 * first, at most HS_LEADERBOARD_MAX_MODELS (*cut says more were left). */
static hs_status pick_models(hs_app *app, const hs_user *viewer,
                             const hs_id *ids, size_t n_ids, hs_id *out,
                             size_t *n_out, int *cut, hs_error *err)
{
    *n_out = 0;
    *cut = 0;
    if (n_ids) {
        if (n_ids > HS_LEADERBOARD_MAX_MODELS)
            return hs_fail_field(err, HS_ERR_INVALID, "model_ids",
                                 "%zu models asked for; a leaderboard scores "
                                 "at most %d",
                                 n_ids, HS_LEADERBOARD_MAX_MODELS);
        memcpy(out, ids, n_ids * sizeof *ids);
        *n_out = n_ids;
        return HS_OK;
    }
    hs_model_rec *items = NULL;
    size_t n = 0;
    hs_status st = hs_models_list(app, viewer, 0, &items, &n, err);
    for (size_t i = 0; st == HS_OK && i < n; i++) {
        if (items[i].owner_id != viewer->id)
            continue;
        if (*n_out == HS_LEADERBOARD_MAX_MODELS) {
            *cut = 1;
            break;
        }
        out[(*n_out)++] = items[i].id;
    }
    hs_model_list_free(items, n);
    return st;
}

hs_status hs_leaderboard(hs_app *app, const hs_user *viewer, hs_id dataset_id,
                         const hs_id *model_ids, size_t n_ids, json_t **out,
                         hs_error *err)
{
    *out = NULL;
    hs_id ids[HS_LEADERBOARD_MAX_MODELS];
    size_t n = 0;
    int cut = 0;
    hs_dataset_rec rec;
    memset(&rec, 0, sizeof rec);
    hl_dataset *ds = NULL;
    hs_status st =
        pick_models(app, viewer, model_ids, n_ids, ids, &n, &cut, err);
    if (st == HS_OK)
        st = load_dataset(app, viewer, dataset_id, &rec, &ds, err);
    json_t *rows[HS_LEADERBOARD_MAX_MODELS];
    size_t made = 0;
    for (size_t i = 0; st == HS_OK && i < n; i++)
        if ((st = model_row(app, viewer, ids[i], dataset_id, ds, &rows[made],
                            err)) == HS_OK)
            made++;
    if (st == HS_OK) {
        qsort(rows, made, sizeof *rows, cmp_rows);
        json_t *models = json_array();
        for (size_t i = 0; i < made; i++)
            json_array_append_new(models, rows[i]);
        made = 0;
        *out = json_pack("{s:{s:I, s:s, s:I}, s:o, s:o, s:b, s:{s:i, s:i}}",
                         "dataset", "id", (json_int_t)rec.id, "name", rec.name,
                         "rows", (json_int_t)ds->n_rows, "labels",
                         hs_json_strings(ds->class_names, ds->n_classes),
                         "models", models, "truncated", cut, "limits",
                         "max_models", HS_LEADERBOARD_MAX_MODELS, "max_rows",
                         HS_LEADERBOARD_MAX_ROWS);
        if (!*out)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < made; i++)
        json_decref(rows[i]);
    hl_dataset_free(ds);
    hs_dataset_rec_free(&rec);
    return st;
}
