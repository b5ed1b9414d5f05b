/* engineutil.h - helpers the engine's unit tests share: simulated data,
 * parameters by name, training, prediction and scoring, and the bytes of
 * a model file (checksums, sections) for the tests that forge files.
 *
 * Each helper fails the test (cmocka) on an engine error, so a test reads
 * as what it checks. Include after testutil.h.
 */
#ifndef HEALER_ENGINEUTIL_H
#define HEALER_ENGINEUTIL_H

#include <math.h>

#include "testutil.h"

/* Sets parameter `name` of p (hl_train_params_set_number) or fails. */
static inline void tu_set(hl_train_params *p, const char *name, double x)
{
    hl_error err;
    if (hl_train_params_set_number(p, name, x, &err) != HL_OK)
        fail_msg("setting %s: %s", name, err.message);
}

/* `samples` simulated rows (variant 0) of `features` KPIs, `classes`
 * classes. */
static inline hl_dataset *tu_simulate(size_t samples, size_t features,
                                      size_t classes, uint64_t seed)
{
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = samples;
    o.features = features;
    o.classes = classes;
    o.seed = seed;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &ds, &err), HL_OK);
    return ds;
}

/* The first n_train rows of ds and the rest. */
static inline void tu_split(const hl_dataset *ds, size_t n_train,
                            hl_dataset **train_out, hl_dataset **test_out)
{
    size_t *rows = malloc(ds->n_rows * sizeof *rows);
    for (size_t i = 0; i < ds->n_rows; i++)
        rows[i] = i;
    hl_error err;
    assert_int_equal(hl_dataset_subset(ds, rows, n_train, train_out, &err),
                     HL_OK);
    assert_int_equal(hl_dataset_subset(ds, rows + n_train, ds->n_rows - n_train,
                                       test_out, &err),
                     HL_OK);
    free(rows);
}

static inline hl_model *tu_train(const hl_dataset *ds, const hl_train_params *p)
{
    hl_model *m = NULL;
    hl_error err;
    if (hl_train(ds, p, NULL, &m, &err) != HL_OK)
        fail_msg("training failed: %s", err.message);
    return m;
}

/* Probabilities of every row of ds (malloc'ed). */
static inline double *tu_predict_all(const hl_model *m, const hl_dataset *ds,
                                     int threads)
{
    double *proba = malloc(ds->n_rows * hl_model_n_classes(m) * sizeof *proba);
    hl_error err;
    assert_int_equal(
        hl_model_predict_dataset(m, ds, threads, proba, NULL, &err), HL_OK);
    return proba;
}

/* Every row of m's probabilities for ds sums to 1. */
static inline void tu_assert_rows_sum_to_one(const hl_model *m,
                                             const hl_dataset *ds)
{
    const size_t K = hl_model_n_classes(m);
    double *proba = tu_predict_all(m, ds, 1);
    for (size_t i = 0; i < ds->n_rows; i++) {
        double sum = 0;
        for (size_t k = 0; k < K; k++)
            sum += proba[i * K + k];
        assert_true(fabs(sum - 1.0) < 1e-6);
    }
    free(proba);
}

/* Macro-F1 of probabilities proba of ds's rows against its labels. */
static inline double tu_macro_f1_of(const hl_model *m, const hl_dataset *ds,
                                    const double *proba)
{
    size_t n = ds->n_rows, K = hl_model_n_classes(m);
    int32_t *y = malloc(n * sizeof *y), *pred = malloc(n * sizeof *pred);
    hl_error err;
    assert_int_equal(hl_model_map_labels(m, ds, y, NULL, &err), HL_OK);
    for (size_t i = 0; i < n; i++)
        pred[i] = hl_predict_argmax(proba + i * K, K);
    hl_metrics met;
    assert_int_equal(hl_metrics_compute(y, pred, proba, n, K, &met, &err),
                     HL_OK);
    double f1 = met.macro_f1;
    hl_metrics_free(&met);
    free(y);
    free(pred);
    return f1;
}

static inline double tu_macro_f1(const hl_model *m, const hl_dataset *ds)
{
    double *proba = tu_predict_all(m, ds, 0);
    double f1 = tu_macro_f1_of(m, ds, proba);
    free(proba);
    return f1;
}

/* A model file's checksum recomputed after a test changed its bytes. */
static inline void tu_fix_crc(uint8_t *buf, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len - 4; i++) {
        crc ^= buf[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    crc ^= 0xFFFFFFFFu;
    for (int i = 0; i < 4; i++)
        buf[len - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
}

/* Where top-level section `tag` starts in a serialized model (0: none). */
static inline size_t tu_find_section(const uint8_t *buf, size_t len,
                                     uint32_t tag)
{
    size_t at = 24;
    while (at + 16 <= len - 4) {
        uint32_t t = (uint32_t)buf[at] | (uint32_t)buf[at + 1] << 8 |
                     (uint32_t)buf[at + 2] << 16 | (uint32_t)buf[at + 3] << 24;
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--)
            n = n << 8 | buf[at + 8 + (size_t)i];
        if (t == tag)
            return at;
        at += 16 + (size_t)n;
    }
    return 0;
}

#endif
