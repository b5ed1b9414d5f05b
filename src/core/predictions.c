/* predictions.c - the predictions file that `healer predict` writes and
 * the web platform offers for download.
 *
 * One writer for both so the format (sample_id,label,confidence,prob_*)
 * is defined once. Numbers are printed under the "C" locale: a host
 * program's locale must never turn the decimal point into a comma.
 */
#include <stdio.h>

#include "healer/model.h"
#include "internal.h"

static void put_header(FILE *f, const hl_model *m)
{
    fputs("sample_id,label,confidence", f);
    for (size_t k = 0; k < hl_model_n_classes(m); k++) {
        char name[512];
        snprintf(name, sizeof name, "prob_%s", hl_model_class_name(m, k));
        putc(',', f);
        hl__csv_put_text(f, name);
    }
    putc('\n', f);
}

static void put_row(FILE *f, const hl_model *m, const hl_dataset *ds,
                    size_t i, const double *p)
{
    const size_t K = hl_model_n_classes(m);
    const int32_t best = hl_predict_argmax(p, K);
    if (ds->sample_ids)
        hl__csv_put_text(f, ds->sample_ids[i]);
    else
        fprintf(f, "%zu", i + 1);
    putc(',', f);
    hl__csv_put_text(f, hl_model_class_name(m, (size_t)best));
    fprintf(f, ",%.6g", p[best]);
    for (size_t k = 0; k < K; k++)
        fprintf(f, ",%.6g", p[k]);
    putc('\n', f);
}

hl_status hl_predictions_write_csv(const hl_model *m, const hl_dataset *ds,
                                   const double *proba, const char *path,
                                   hl_error *err)
{
    if (!m || !ds || (!proba && ds->n_rows) || !path)
        return hl__fail(err, HL_ERR_INVALID, "write predictions: NULL argument");
    hl__atomic_file af;
    hl_status rc = hl__atomic_open(&af, path, err);
    if (rc != HL_OK)
        return rc;
    hl__locale_scope sc = hl__c_locale_enter();
    const size_t K = hl_model_n_classes(m);
    put_header(af.f, m);
    for (size_t i = 0; i < ds->n_rows && !ferror(af.f); i++)
        put_row(af.f, m, ds, i, proba + i * K);
    hl__c_locale_leave(sc);
    return hl__atomic_commit(&af, err);
}
