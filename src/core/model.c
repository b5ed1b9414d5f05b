/* model.c - lifetime and read-only accessors of hl_model.
 *
 * The model struct is defined in container.h because training, prediction
 * and model files need its insides; everything outside the engine sees it
 * only through these functions and the summary.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "internal.h"

hl_model *hl__model_alloc(void) { return calloc(1, sizeof(hl_model)); }

void hl__summary_free(hl_model_summary *s)
{
    hl__free_strings(s->feature_names, s->n_features);
    hl__free_strings(s->class_names, s->n_classes);
    free(s->class_counts);
    free(s->curve_train_loss);
    free(s->curve_valid_loss);
    free(s->importance_gain);
    free(s->importance_splits);
    free(s->kpi_signal);
    free(s->kpi_kept);
    free(s->kpi_family);
    free(s->normal_low);
    free(s->normal_high);
    free(s->normal_median);
    free(s->candidates);
    hl_metrics_free(&s->validation);
    hl_metrics_free(&s->cv);
    memset(s, 0, sizeof *s);
}

void hl_model_free(hl_model *m)
{
    if (!m)
        return;
    hl__summary_free(&m->summary);
    hl__drift_ref_free(m->drift);
    hl__fingerprint_free(m->fingerprint);
    free(m->kept);
    hl__families_free(m->families);
    hl__normal_free(m->normal);
    hl_class_names_free(m->class_info);
    if (m->learner)
        m->learner->free(m->fitted.state);
    free(m);
}

/* The learner named in a file, with every parameter at its default until
 * the file says otherwise. */
hl_status hl__model_set_learner(hl_model *m, const char *algo,
                                const hl__io_ctx *io)
{
    hl_model_summary *s = &m->summary;
    const hl__learner *l = hl__learner_find(algo);
    if (!l)
        return hl__fail(io->err, HL_ERR_FORMAT,
                        "%s: unknown algorithm '%.32s' in model file",
                        io->name, algo);
    /* A chooser (auto) names the learner it chose in the files it makes;
     * it cannot hold a model itself. */
    if (!l->read_section || !l->read_finish || !l->predict_raw || !l->free)
        return hl__fail(io->err, HL_ERR_FORMAT,
                        "%s: '%.32s' in the model file is not a learner a "
                        "model can hold",
                        io->name, algo);
    m->learner = l;
    hl_train_params_init(&s->params);
    hl_train_params_set_algo(&s->params, algo, NULL);
    /* A file whose parameters do not name screen_kpis predates KPI
     * screening: its model reads every KPI. */
    s->params.screen_kpis = 0.0;
    snprintf(s->algo, sizeof s->algo, "%s", algo);
    return HL_OK;
}

const char *hl_candidate_status_name(hl_candidate_status s)
{
    static const char *const NAMES[] = {"skipped", "tried", "chosen",
                                        "over_budget", "failed"};
    return (unsigned)s < sizeof NAMES / sizeof NAMES[0] ? NAMES[s] : "unknown";
}

const hl_model_summary *hl_model_summary_get(const hl_model *m)
{
    return &m->summary;
}

size_t hl_model_n_features(const hl_model *m) { return m->summary.n_features; }
size_t hl_model_n_classes(const hl_model *m) { return m->summary.n_classes; }

const char *hl_model_class_name(const hl_model *m, size_t k)
{
    return k < m->summary.n_classes ? m->summary.class_names[k] : NULL;
}

const char *hl_model_feature_name(const hl_model *m, size_t j)
{
    return j < m->summary.n_features ? m->summary.feature_names[j] : NULL;
}

hl_status hl_model_map_labels(const hl_model *m, const hl_dataset *ds,
                              int32_t *y_out, size_t *unknown, hl_error *err)
{
    size_t n_unknown = 0;
    if (!ds->has_labels)
        return hl__fail(err, HL_ERR_DATA, "%s: the data has no label column",
                        ds->source ? ds->source : "data");
    /* Dataset class index -> model class index, via the names. */
    int32_t *map = malloc((ds->n_classes + 1) * sizeof *map);
    if (!map)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    for (size_t c = 0; c < ds->n_classes; c++) {
        map[c] = -1;
        for (size_t k = 0; k < m->summary.n_classes; k++)
            if (strcmp(ds->class_names[c], m->summary.class_names[k]) == 0) {
                map[c] = (int32_t)k;
                break;
            }
    }
    for (size_t i = 0; i < ds->n_rows; i++) {
        int32_t c = ds->y[i];
        y_out[i] = c < 0 ? -1 : map[c];
        if (c >= 0 && map[c] < 0)
            n_unknown++;
    }
    free(map);
    if (unknown)
        *unknown = n_unknown;
    return HL_OK;
}
