/* normal.c - learning the normal ranges, reading them back, and a
 * sample's distances from them (see healer/normal.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "healer/normal.h"
#include "internal.h"
#include "normal.h"
#include "robust.h"

/* 1.4826 x MAD estimates a standard deviation for normal data. */
#define HL__MAD_TO_SD 1.4826

void hl__normal_free(hl__normal *nr)
{
    if (!nr)
        return;
    free(nr->center);
    free(nr->scale);
    free(nr->present);
    free(nr);
}

static hl__normal *normal_alloc(size_t nf)
{
    hl__normal *nr = calloc(1, sizeof *nr);
    if (!nr)
        return NULL;
    nr->n_features = nf;
    nr->center = calloc(nf + 1, sizeof *nr->center);
    nr->scale = calloc(nf + 1, sizeof *nr->scale);
    nr->present = calloc(nf + 1, sizeof *nr->present);
    if (!nr->center || !nr->scale || !nr->present) {
        hl__normal_free(nr);
        return NULL;
    }
    return nr;
}

/* Centre and unit of the m sorted signed logs v (m > 0); dev is scratch. */
static void center_and_unit(const float *v, size_t m, float *dev,
                            float *center, float *scale)
{
    double c = hl__sorted_quantile(v, m, 0.5);
    for (size_t i = 0; i < m; i++)
        dev[i] = (float)fabs(v[i] - c);
    hl__sort_floats(dev, m);
    double s = HL__MAD_TO_SD * hl__sorted_quantile(dev, m, 0.5);
    *center = (float)c;
    *scale = (float)(s > HL_NORMAL_MIN_SCALE ? s : HL_NORMAL_MIN_SCALE);
}

hl_status hl__normal_build(const float *x, size_t nf, const size_t *rows,
                           size_t n, const int32_t *y, int32_t normal_class,
                           const char *label, hl__normal **out)
{
    *out = NULL;
    hl__normal *nr = normal_alloc(nf);
    float *v = malloc((n + 1) * sizeof *v), *dev = malloc((n + 1) * sizeof *dev);
    if (!nr || !v || !dev) {
        hl__normal_free(nr);
        free(v);
        free(dev);
        return HL_ERR_NOMEM;
    }
    snprintf(nr->label, sizeof nr->label, "%s", normal_class >= 0 ? label : "");
    snprintf(nr->asked, sizeof nr->asked, "%s", label);
    for (size_t i = 0; i < n; i++)
        nr->rows += normal_class < 0 || y[rows[i]] == normal_class;
    for (size_t j = 0; j < nf; j++) {
        size_t m = 0;
        for (size_t i = 0; i < n; i++) {
            float val = x[rows[i] * nf + j];
            if ((normal_class < 0 || y[rows[i]] == normal_class) &&
                isfinite(val))
                v[m++] = hl__signed_log(val);
        }
        nr->present[j] = m;
        nr->scale[j] = (float)HL_NORMAL_MIN_SCALE;
        if (m > 0) {
            hl__sort_floats(v, m);
            center_and_unit(v, m, dev, &nr->center[j], &nr->scale[j]);
        }
    }
    free(v);
    free(dev);
    *out = nr;
    return HL_OK;
}

static double signed_exp(double y)
{
    return copysign(expm1(fabs(y)), y);
}

/* The range of KPI j in its own units. */
static void range_of(const hl__normal *nr, size_t j, hl_normal_range *out);

hl_status hl__normal_into_summary(const hl__normal *nr, hl_model_summary *s)
{
    const size_t nf = nr->n_features;
    s->has_normal = 1;
    snprintf(s->normal_class, sizeof s->normal_class, "%s", nr->label);
    /* the parameter as given, for a retraining and for what inspect says */
    snprintf(s->params.normal_class, sizeof s->params.normal_class, "%s",
             nr->asked);
    s->normal_rows = nr->rows;
    s->normal_low = malloc((nf + 1) * sizeof *s->normal_low);
    s->normal_high = malloc((nf + 1) * sizeof *s->normal_high);
    s->normal_median = malloc((nf + 1) * sizeof *s->normal_median);
    if (!s->normal_low || !s->normal_high || !s->normal_median)
        return HL_ERR_NOMEM;
    for (size_t j = 0; j < nf; j++) {
        hl_normal_range r;
        range_of(nr, j, &r);
        s->normal_low[j] = r.low;
        s->normal_high[j] = r.high;
        s->normal_median[j] = r.median;
    }
    return HL_OK;
}

void hl__normal_write(const hl__normal *nr, hl__wbuf *w)
{
    hl__w_str(w, nr->label);
    hl__w_str(w, nr->asked);
    hl__w_u64(w, nr->rows);
    hl__w_u32(w, (uint32_t)nr->n_features);
    for (size_t j = 0; j < nr->n_features; j++) {
        hl__w_f32(w, nr->center[j]);
        hl__w_f32(w, nr->scale[j]);
        hl__w_u64(w, nr->present[j]);
    }
}

hl_status hl__normal_read(hl__rbuf *r, size_t nf, const hl__io_ctx *io,
                          hl__normal **out)
{
    *out = NULL;
    char *label = hl__r_str(r), *asked = hl__r_str(r);
    uint64_t rows = hl__r_u64(r);
    int ok = label && strlen(label) < HL__NORMAL_LABEL_CAP && asked &&
             asked[0] && strlen(asked) < HL__NORMAL_LABEL_CAP &&
             (!label[0] || strcmp(label, asked) == 0) &&
             hl__r_u32(r) == nf && !r->failed && hl__r_need(r, nf * 16);
    hl__normal *nr = ok ? normal_alloc(nf) : NULL;
    if (ok && !nr) {
        free(label);
        free(asked);
        return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
    }
    for (size_t j = 0; ok && j < nf; j++) {
        nr->center[j] = hl__r_f32(r);
        nr->scale[j] = hl__r_f32(r);
        nr->present[j] = hl__r_u64(r);
        ok = isfinite(nr->center[j]) && isfinite(nr->scale[j]) &&
             nr->scale[j] >= (float)HL_NORMAL_MIN_SCALE &&
             nr->present[j] <= rows;
    }
    if (!ok || r->failed) {
        free(label);
        free(asked);
        hl__normal_free(nr);
        return hl__io_corrupt(io, "normal ranges");
    }
    snprintf(nr->label, sizeof nr->label, "%s", label);
    snprintf(nr->asked, sizeof nr->asked, "%s", asked);
    nr->rows = rows;
    free(label);
    free(asked);
    *out = nr;
    return HL_OK;
}

/* ---- the public side ---- */

const char *hl_model_normal_class(const hl_model *m)
{
    return m && m->normal && m->normal->label[0] ? m->normal->label : NULL;
}

int hl_model_has_normal_ranges(const hl_model *m)
{
    return m && m->normal;
}

hl_status hl_model_normal_range(const hl_model *m, size_t kpi,
                                hl_normal_range *out, hl_error *err)
{
    if (!m || !m->normal)
        return hl__fail(err, HL_ERR_INVALID,
                        "the model has no normal ranges (trained before "
                        "them: train it again)");
    if (kpi >= m->normal->n_features)
        return hl__fail(err, HL_ERR_INVALID, "KPI %zu out of range", kpi);
    range_of(m->normal, kpi, out);
    return HL_OK;
}

static void range_of(const hl__normal *nr, size_t j, hl_normal_range *out)
{
    out->rows = nr->present[j];
    if (!out->rows) {
        out->low = out->high = out->median = NAN;
        return;
    }
    const double c = nr->center[j], s = nr->scale[j];
    out->median = signed_exp(c);
    out->low = signed_exp(c - HL_NORMAL_Z * s);
    out->high = signed_exp(c + HL_NORMAL_Z * s);
}

double hl_model_normal_z(const hl_model *m, size_t kpi, double x)
{
    if (!m || !m->normal || kpi >= m->normal->n_features ||
        !m->normal->present[kpi] || !isfinite(x))
        return NAN;
    return (hl__signed_log((float)x) - m->normal->center[kpi]) /
           m->normal->scale[kpi];
}

/* 1 when a is farther from normal than b (ties: the lower KPI first). */
static int farther(const hl_abnormal_kpi *a, const hl_abnormal_kpi *b)
{
    double x = fabs(a->z), y = fabs(b->z);
    return x != y ? x > y : a->kpi < b->kpi;
}

/* Keeps out[0..cap) the farthest first by insertion: cap is a handful. */
size_t hl_model_abnormal_kpis(const hl_model *m, const float *row,
                              hl_abnormal_kpi *out, size_t cap)
{
    if (!m || !m->normal)
        return 0;
    size_t n = 0;
    for (size_t j = 0; j < m->normal->n_features; j++) {
        hl_abnormal_kpi k = {j, hl_model_normal_z(m, j, row[j])};
        if (!(fabs(k.z) > HL_NORMAL_Z))
            continue;
        size_t at = n < cap ? n : cap;
        while (at > 0 && farther(&k, &out[at - 1])) {
            if (at < cap)
                out[at] = out[at - 1];
            at--;
        }
        if (at < cap)
            out[at] = k;
        n++;
    }
    return n;
}
