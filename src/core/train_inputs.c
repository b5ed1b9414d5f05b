/* train_inputs.c - the inputs of a fit and what a model keeps of them
 * (see train_inputs.h).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "screen.h"
#include "train_inputs.h"

void hl__fit_inputs_free(hl__fit_inputs *in)
{
    free(in->signal);
    free(in->kept);
    hl__families_free(in->families);
    free(in->x);
    memset(in, 0, sizeof *in);
}

static hl__inputs inputs_view(const hl__fit_inputs *in)
{
    return (hl__inputs){in->kept, in->n_kept, in->families};
}

static hl_status screen_kpis(const hl_dataset *ds, const hl_train_params *p,
                             const size_t *rows, size_t n, hl__fit_inputs *in)
{
    const size_t nf = ds->n_features;
    in->signal = malloc((nf + 1) * sizeof *in->signal);
    in->kept = malloc((nf + 1) * sizeof *in->kept);
    if (!in->signal || !in->kept)
        return HL_ERR_NOMEM;
    hl_status rc =
        hl__kpi_signal(ds->x, nf, ds->y, ds->n_classes, rows, n, in->signal);
    if (rc != HL_OK)
        return rc;
    in->n_kept = hl__screen_select(in->signal, nf, p->screen_kpis, in->kept);
    if (in->n_kept == nf) {
        free(in->kept);
        in->kept = NULL;
    }
    return HL_OK;
}

/* Families among the kept KPIs (all of them without screening). */
static hl_status find_families(const hl_dataset *ds, const hl_train_params *p,
                               const size_t *rows, size_t n, hl__fit_inputs *in)
{
    const size_t nf = ds->n_features;
    uint32_t *all = NULL;
    if (!in->kept) {
        if (!(all = malloc((nf + 1) * sizeof *all)))
            return HL_ERR_NOMEM;
        for (size_t j = 0; j < nf; j++)
            all[j] = (uint32_t)j;
    }
    hl_status rc = hl__families_find(
        ds->x, nf, ds->y, ds->n_classes, rows, n, all ? all : in->kept,
        all ? nf : in->n_kept, p->families, &in->families);
    free(all);
    return rc;
}

hl_status hl__fit_inputs_choose(const hl_dataset *ds, const hl_train_params *p,
                                const size_t *rows, size_t n,
                                hl__fit_inputs *in, hl_error *err)
{
    memset(in, 0, sizeof *in);
    in->width = ds->n_features;
    hl_status rc = HL_OK;
    if (p->screen_kpis > 0.0)
        rc = screen_kpis(ds, p, rows, n, in);
    if (rc == HL_OK && p->families > 0.0)
        rc = find_families(ds, p, rows, n, in);
    hl__inputs view = inputs_view(in);
    if (rc == HL_OK && !hl__inputs_identity(&view)) {
        in->width = hl__inputs_width(&view, ds->n_features);
        if ((in->x = malloc((ds->n_rows * in->width + 1) * sizeof *in->x)))
            hl__inputs_gather(&view, ds->x, ds->n_rows, ds->n_features, in->x);
        else
            rc = HL_ERR_NOMEM;
    }
    if (rc != HL_OK) {
        hl__fit_inputs_free(in);
        return hl__fail(err, rc, "out of memory");
    }
    return HL_OK;
}

hl_status hl__fit_inputs_into_model(const hl__fit_inputs *in, size_t nf,
                                    hl_model *m)
{
    hl_model_summary *s = &m->summary;
    s->n_kept = in->kept ? in->n_kept : nf;
    if (in->families) {
        if (!(m->families = hl__families_copy(in->families)) ||
            !(s->kpi_family = malloc(nf * sizeof *s->kpi_family)))
            return HL_ERR_NOMEM;
        hl__families_by_kpi(in->families, nf, s->kpi_family);
        s->n_families = in->families->n;
    }
    if (!in->signal)
        return HL_OK;
    s->kpi_signal = malloc(nf * sizeof *s->kpi_signal);
    s->kpi_kept = calloc(nf, 1);
    if (!s->kpi_signal || !s->kpi_kept)
        return HL_ERR_NOMEM;
    memcpy(s->kpi_signal, in->signal, nf * sizeof *s->kpi_signal);
    for (size_t j = 0; j < s->n_kept; j++)
        s->kpi_kept[in->kept ? in->kept[j] : j] = 1;
    if (in->kept) {
        if (!(m->kept = malloc(in->n_kept * sizeof *m->kept)))
            return HL_ERR_NOMEM;
        memcpy(m->kept, in->kept, in->n_kept * sizeof *m->kept);
        m->n_kept = in->n_kept;
    }
    return HL_OK;
}

hl_status hl__importance_at_kpis(const hl_model *m, hl_model_summary *s)
{
    hl__inputs in = hl__model_inputs(m);
    if (hl__inputs_identity(&in)) {
        m->learner->importance(m->fitted.state, s->n_features,
                               s->importance_gain, s->importance_splits);
        return HL_OK;
    }
    const size_t width = hl__inputs_width(&in, s->n_features);
    const size_t n_kpis = width - (in.families ? in.families->n : 0);
    double *gain = calloc(width + 1, sizeof *gain);
    uint32_t *splits = calloc(width + 1, sizeof *splits);
    if (!gain || !splits) {
        free(gain);
        free(splits);
        return HL_ERR_NOMEM;
    }
    m->learner->importance(m->fitted.state, width, gain, splits);
    for (size_t j = 0; j < n_kpis; j++) {
        size_t kpi = in.kept ? in.kept[j] : j;
        s->importance_gain[kpi] += gain[j];
        s->importance_splits[kpi] += splits[j];
    }
    for (size_t f = 0; in.families && f < in.families->n; f++) {
        const hl__families *fam = in.families;
        double share = gain[n_kpis + f] / (fam->first[f + 1] - fam->first[f]);
        for (uint32_t i = fam->first[f]; i < fam->first[f + 1]; i++) {
            s->importance_gain[fam->kpi[i]] += share;
            s->importance_splits[fam->kpi[i]] += splits[n_kpis + f];
        }
    }
    free(gain);
    free(splits);
    return HL_OK;
}
