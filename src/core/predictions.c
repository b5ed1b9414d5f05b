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

void hl__predictions_put_header(FILE *f, size_t K, char *const *class_names)
{
    fputs("sample_id,label,confidence", f);
    for (size_t k = 0; k < K; k++) {
        char name[512];
        snprintf(name, sizeof name, "prob_%s", class_names[k]);
        putc(',', f);
        hl__csv_put_text(f, name);
    }
}

void hl__predictions_put_row(FILE *f, size_t K, char *const *class_names,
                             char *const *sample_ids, size_t first, size_t i,
                             const double *p)
{
    const int32_t best = hl_predict_argmax(p, K);
    if (sample_ids)
        hl__csv_put_text(f, sample_ids[i]);
    else
        fprintf(f, "%zu", first + i + 1);
    putc(',', f);
    hl__csv_put_text(f, class_names[best]);
    fprintf(f, ",%.6g", p[best]);
    for (size_t k = 0; k < K; k++)
        fprintf(f, ",%.6g", p[k]);
}

hl_status hl_predictions_write_header(FILE *f, size_t n_classes,
                                      char *const *class_names, hl_error *err)
{
    if (!f || !class_names || !n_classes)
        return hl__fail(err, HL_ERR_INVALID, "write predictions: NULL argument");
    hl__locale_scope sc = hl__c_locale_enter();
    hl__predictions_put_header(f, n_classes, class_names);
    putc('\n', f);
    hl__c_locale_leave(sc);
    return ferror(f) ? hl__fail(err, HL_ERR_IO, "write predictions: stream error")
                     : HL_OK;
}

hl_status hl_predictions_write_rows(FILE *f, size_t first, size_t n_rows,
                                    size_t n_classes, char *const *class_names,
                                    char *const *sample_ids,
                                    const double *proba, hl_error *err)
{
    if (!f || !class_names || !n_classes || (!proba && n_rows))
        return hl__fail(err, HL_ERR_INVALID, "write predictions: NULL argument");
    hl__locale_scope sc = hl__c_locale_enter();
    for (size_t i = 0; i < n_rows && !ferror(f); i++) {
        hl__predictions_put_row(f, n_classes, class_names, sample_ids, first,
                                i, proba + i * n_classes);
        putc('\n', f);
    }
    hl__c_locale_leave(sc);
    return ferror(f) ? hl__fail(err, HL_ERR_IO, "write predictions: stream error")
                     : HL_OK;
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
    char *const *names = hl_model_summary_get(m)->class_names;
    rc = hl_predictions_write_header(af.f, hl_model_n_classes(m), names, err);
    if (rc == HL_OK)
        rc = hl_predictions_write_rows(af.f, 0, ds->n_rows,
                                       hl_model_n_classes(m), names,
                                       ds->sample_ids, proba, err);
    if (rc != HL_OK) {
        hl__atomic_abort(&af);
        return rc;
    }
    return hl__atomic_commit(&af, err);
}
