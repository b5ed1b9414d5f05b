/* test_model_io.c - model files: round trips and every way a file can be bad.
 *
 * A model file is user input too (uploaded, copied, half-downloaded), so
 * loading must refuse truncated, corrupted, foreign and newer files with a
 * clear error and never crash; and a file that loads must predict exactly
 * as the model that wrote it.
 */
#include <math.h>

#include "testutil.h"

static hl_model *small_model(hl_dataset **ds_out, unsigned cv)
{
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = 500;
    o.features = 8;
    o.classes = 3;
    o.seed = 5;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &ds, &err), HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_number(&p, "rounds", 15, &err), HL_OK);
    p.cv_folds = (int)cv;
    hl_model *m = NULL;
    assert_int_equal(hl_train(ds, &p, NULL, &m, &err), HL_OK);
    *ds_out = ds;
    return m;
}

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = crc & 1 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
    }
    return crc ^ 0xFFFFFFFFu;
}

static void fix_crc(uint8_t *buf, size_t len)
{
    uint32_t c = crc32_ref(buf, len - 4);
    for (int i = 0; i < 4; i++)
        buf[len - 4 + (size_t)i] = (uint8_t)(c >> (8 * i));
}

static void round_trip_is_bit_identical(void **state)
{
    (void)state;
    hl_dataset *ds;
    hl_model *m = small_model(&ds, 2);
    char path[] = "/tmp/healer-model-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    hl_error err;
    assert_int_equal(hl_model_save(m, path, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_load(path, &back, &err), HL_OK);
    unlink(path);

    size_t n = ds->n_rows * 3;
    double *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    assert_int_equal(hl_model_predict_dataset(m, ds, 1, a, NULL, &err), HL_OK);
    assert_int_equal(hl_model_predict_dataset(back, ds, 2, b, NULL, &err), HL_OK);
    assert_memory_equal(a, b, n * sizeof *a);

    /* The summary survives too, and re-serialising gives the same bytes. */
    const hl_model_summary *s1 = hl_model_summary_get(m), *s2 = hl_model_summary_get(back);
    assert_int_equal(s1->n_features, s2->n_features);
    assert_string_equal(s1->feature_names[7], s2->feature_names[7]);
    assert_string_equal(s1->class_names[2], s2->class_names[2]);
    assert_int_equal(s1->class_counts[1], s2->class_counts[1]);
    assert_int_equal(s1->curve_len, s2->curve_len);
    assert_int_equal(s1->cv_folds, 2);
    assert_true(s1->cv.macro_f1 == s2->cv.macro_f1);
    assert_true(s1->validation.confusion[4] == s2->validation.confusion[4]);
    hl_param_value lr1, lr2;
    assert_int_equal(hl_train_params_get(&s1->params, "learning_rate", &lr1, &err), HL_OK);
    assert_int_equal(hl_train_params_get(&s2->params, "learning_rate", &lr2, &err), HL_OK);
    assert_true(lr1.d == lr2.d);
    /* Every parameter of both tables survives by name. */
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    const hl_learner_info *li = hl_learner_find(s1->algo);
    assert_non_null(li);
    for (size_t k = 0; k < n_shared + li->n_params; k++) {
        const hl_param_spec *sp = k < n_shared ? &shared[k] : &li->params[k - n_shared];
        hl_param_value a1 = hl_train_params_value(&s1->params, sp);
        hl_param_value a2 = hl_train_params_value(&s2->params, sp);
        assert_memory_equal(&a1, &a2, sizeof a1);
    }
    uint8_t *buf1, *buf2;
    size_t len1, len2;
    assert_int_equal(hl_model_serialize(m, &buf1, &len1, &err), HL_OK);
    assert_int_equal(hl_model_serialize(back, &buf2, &len2, &err), HL_OK);
    assert_int_equal(len1, len2);
    assert_memory_equal(buf1, buf2, len1);
    free(buf1);
    free(buf2);
    free(a);
    free(b);
    hl_model_free(back);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void truncated_files_are_refused(void **state)
{
    (void)state;
    hl_dataset *ds;
    hl_model *m = small_model(&ds, 0);
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    size_t step = tu_quick() ? 97 : 7;
    for (size_t cut = 0; cut < len; cut += step) {
        hl_model *out = (hl_model *)0x1;
        hl_status rc = hl_model_deserialize(buf, cut, "cut.model", &out, &err);
        assert_int_equal(rc, HL_ERR_FORMAT);
        assert_null(out);
        assert_true(strlen(err.message) > 0);
    }
    assert_int_equal(hl_model_deserialize(buf, len - 1, "x", &(hl_model *){0}, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "truncated"));
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void corrupted_bytes_are_detected(void **state)
{
    (void)state;
    hl_dataset *ds;
    hl_model *m = small_model(&ds, 0);
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    for (size_t i = 8; i < len; i += tu_quick() ? 61 : 13) {
        buf[i] ^= 0x5A;
        hl_model *out = NULL;
        hl_status rc = hl_model_deserialize(buf, len, "flip.model", &out, &err);
        assert_true(rc == HL_ERR_FORMAT || rc == HL_ERR_VERSION);
        assert_null(out);
        buf[i] ^= 0x5A;
    }
    hl_model *out = NULL;
    buf[len / 2] ^= 1;
    assert_int_equal(hl_model_deserialize(buf, len, "flip.model", &out, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "checksum"));
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* Corruptions with a valid checksum: the structural checks must hold. */
static void forged_checksums_still_checked(void **state)
{
    (void)state;
    hl_dataset *ds;
    hl_model *m = small_model(&ds, 0);
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    uint8_t *copy = malloc(len);
    size_t refused = 0, tried = 0;
    for (size_t i = 24; i < len - 4; i += tu_quick() ? 41 : 3) {
        memcpy(copy, buf, len);
        copy[i] ^= 0xFF;
        fix_crc(copy, len);
        hl_model *out = NULL;
        hl_status rc = hl_model_deserialize(copy, len, "forged.model", &out, &err);
        tried++;
        if (rc != HL_OK) {
            refused++;
            assert_null(out);
            continue;
        }
        /* Accepted (e.g. a float changed): it must still predict safely. */
        double proba[3 * 4];
        assert_int_equal(hl_model_predict_matrix(out, ds->x, 4, 1, proba, &err), HL_OK);
        for (int k = 0; k < 12; k++)
            assert_true(proba[k] >= 0.0 && proba[k] <= 1.0); /* not NaN */
        hl_model_free(out);
    }
    print_message("forged single-byte corruptions: %zu of %zu refused\n", refused, tried);
    assert_true(refused > 0);
    free(copy);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void foreign_and_newer_files(void **state)
{
    (void)state;
    hl_error err;
    hl_model *out = NULL;
    const char *csv = "sample_id,feature0,label\n1,2,3\n";
    assert_int_equal(hl_model_deserialize((const uint8_t *)csv, strlen(csv),
                                          "data.csv", &out, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "not a SystemHealer model"));
    assert_int_equal(hl_model_deserialize((const uint8_t *)"", 0, "empty", &out, &err),
                     HL_ERR_FORMAT);

    hl_dataset *ds;
    hl_model *m = small_model(&ds, 0);
    uint8_t *buf;
    size_t len;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    buf[8] = 99; /* format version 99 */
    fix_crc(buf, len);
    assert_int_equal(hl_model_deserialize(buf, len, "new.model", &out, &err),
                     HL_ERR_VERSION);
    assert_non_null(strstr(err.message, "newer"));
    assert_null(out);

    assert_int_equal(hl_model_load("/nonexistent/healer.model", &out, &err), HL_ERR_IO);
    assert_non_null(strstr(err.message, "/nonexistent/healer.model"));
    assert_int_equal(hl_model_load("/tmp", &out, &err), HL_ERR_IO);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}


/* ---- sections: the container's and the learner's ---- */

static uint64_t get_le(const uint8_t *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A copy of the file buf without the section `drop` (0 = none) and with an
 * extra section `add` (0 = none) of 5 bytes before the last section; header
 * and checksum fixed. */
static uint8_t *rewrite_sections(const uint8_t *buf, size_t len, uint32_t drop,
                                 uint32_t add, size_t *out_len)
{
    uint8_t *out = malloc(len + 64);
    size_t at = 24, o = 24, count = 0;
    memcpy(out, buf, 24);
    while (at < len - 4) {
        uint32_t tag = (uint32_t)get_le(buf + at, 4);
        size_t n = 16 + (size_t)get_le(buf + at + 8, 8);
        if (add && at + n == len - 4) { /* before the last section */
            put_le(out + o, add, 4);
            put_le(out + o + 4, 0, 4);
            put_le(out + o + 8, 5, 8);
            memcpy(out + o + 16, "extra", 5);
            o += 21;
            count++;
        }
        if (tag != drop) {
            memcpy(out + o, buf + at, n);
            o += n;
            count++;
        }
        at += n;
    }
    put_le(out + 12, count, 4);
    put_le(out + 16, o - 24, 8);
    *out_len = o + 4;
    fix_crc(out, *out_len);
    return out;
}

static void learner_sections_are_required_and_unknown_ones_skipped(void **state)
{
    (void)state;
    hl_dataset *ds;
    hl_model *m = small_model(&ds, 0);
    uint8_t *buf, *mod;
    size_t len, mod_len;
    hl_error err;
    hl_model *out = NULL;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    /* The GBDT's trees (tag 5), and the container's PARAMS (9). */
    const uint32_t required[] = {5, 9};
    for (size_t i = 0; i < 2; i++) {
        mod = rewrite_sections(buf, len, required[i], 0, &mod_len);
        assert_true(mod_len < len);
        assert_int_equal(hl_model_deserialize(mod, mod_len, "cut.model", &out, &err),
                         HL_ERR_FORMAT);
        assert_non_null(strstr(err.message, "missing"));
        assert_null(out);
        free(mod);
    }
    /* A later revision's section, for the container (40) or the learner
     * (100): skipped, the model predicts as before. */
    const uint32_t extra[] = {40, 100};
    double a[3 * 8], b[3 * 8];
    assert_int_equal(hl_model_predict_matrix(m, ds->x, 8, 1, a, &err), HL_OK);
    for (size_t i = 0; i < 2; i++) {
        mod = rewrite_sections(buf, len, 0, extra[i], &mod_len);
        assert_int_equal(mod_len, len + 21);
        assert_int_equal(hl_model_deserialize(mod, mod_len, "new.model", &out, &err),
                         HL_OK);
        assert_int_equal(hl_model_predict_matrix(out, ds->x, 8, 1, b, &err), HL_OK);
        assert_memory_equal(a, b, sizeof a);
        hl_model_free(out);
        free(mod);
    }
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* A parameter outside today's range (as an older version allowed) does
 * not make a model unreadable; a value of the wrong kind does. */
static void stored_parameters_are_read_by_name(void **state)
{
    (void)state;
    hl_dataset *ds;
    hl_model *m = small_model(&ds, 0);
    uint8_t *buf;
    size_t len;
    hl_error err;
    hl_model *out = NULL;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    static const char NAME[] = "learning_rate";
    uint8_t *at = memmem(buf, len, NAME, sizeof NAME - 1);
    assert_non_null(at);
    uint8_t *value = at + sizeof NAME - 1 + 4; /* after the name and the type */
    assert_int_equal(get_le(value - 4, 4), HL_PARAM_REAL);
    double five = 5.0;
    uint64_t bits;
    memcpy(&bits, &five, 8);
    put_le(value, bits, 8);
    fix_crc(buf, len);
    assert_int_equal(hl_model_deserialize(buf, len, "old-range.model", &out, &err),
                     HL_OK);
    hl_param_value lr;
    assert_int_equal(hl_train_params_get(&hl_model_summary_get(out)->params,
                                         "learning_rate", &lr, &err),
                     HL_OK);
    assert_true(lr.d == 5.0);
    hl_model_free(out);
    put_le(value - 4, HL_PARAM_INT, 4); /* the type no longer matches */
    fix_crc(buf, len);
    assert_int_equal(hl_model_deserialize(buf, len, "bad-type.model", &out, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "parameters"));
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* ---- files written before the learner interface (tests/fixtures/model_v1) ---- */

#define FIXTURES "tests/fixtures/model_v1/"

/* The probabilities the old engine wrote: rows of %a doubles. */
static double *read_proba(const char *path, size_t n_values)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    double *v = malloc(n_values * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < n_values; i++)
        assert_int_equal(fscanf(f, "%la", &v[i]), 1);
    double extra;
    assert_int_equal(fscanf(f, "%la", &extra), EOF);
    fclose(f);
    return v;
}

static void assert_predicts_like_v1(const hl_model *m, const hl_dataset *ds,
                                    const char *proba_path)
{
    const size_t K = hl_model_n_classes(m), n = ds->n_rows * K;
    double *want = read_proba(proba_path, n);
    double *got = malloc(n * sizeof *got);
    hl_error err;
    for (int threads = 1; threads <= 2; threads++) {
        assert_int_equal(hl_model_predict_dataset(m, ds, threads, got, NULL, &err),
                         HL_OK);
        assert_memory_equal(want, got, n * sizeof *got);
    }
    free(want);
    free(got);
}

static void v1_model_files_predict_bit_identically(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t classes;
    } FILES[] = {{"v1_multiclass", 3}, {"v1_binary", 2}};
    for (size_t i = 0; i < sizeof FILES / sizeof FILES[0]; i++) {
        char path[128];
        hl_error err;
        hl_model *m = NULL;
        hl_dataset *ds = NULL;
        snprintf(path, sizeof path, FIXTURES "%s.model", FILES[i].name);
        assert_int_equal(hl_model_load(path, &m, &err), HL_OK);
        assert_int_equal(hl_model_n_classes(m), FILES[i].classes);
        assert_string_equal(hl_model_summary_get(m)->algo, "gbdt");
        assert_int_equal(hl_model_summary_get(m)->cv_folds, 2);
        snprintf(path, sizeof path, FIXTURES "%s.csv", FILES[i].name);
        assert_int_equal(hl_dataset_read_csv(path, NULL, &ds, &err), HL_OK);
        snprintf(path, sizeof path, FIXTURES "%s.proba", FILES[i].name);
        assert_predicts_like_v1(m, ds, path);
        hl_model_free(m);
        hl_dataset_free(ds);
    }
}

/* Training again with the parameters of the README gives the same model. */
static void training_reproduces_the_v1_models(void **state)
{
    (void)state;
    static const char *const NAMES[] = {"v1_multiclass", "v1_binary"};
    for (size_t i = 0; i < 2; i++) {
        char path[128];
        hl_error err;
        hl_dataset *ds = NULL;
        hl_model *m = NULL;
        snprintf(path, sizeof path, FIXTURES "%s.csv", NAMES[i]);
        assert_int_equal(hl_dataset_read_csv(path, NULL, &ds, &err), HL_OK);
        hl_train_params p;
        hl_train_params_init(&p);
        assert_int_equal(hl_train_params_set_number(&p, "rounds", 25, &err), HL_OK);
        assert_int_equal(hl_train_params_set_number(&p, "max_depth", 4, &err), HL_OK);
        p.cv_folds = 2;
        p.threads = 2; /* deterministic across thread counts */
        p.seed = 11;
        p.screen_kpis = 0; /* version 1 had no screening */
        assert_int_equal(hl_train(ds, &p, NULL, &m, &err), HL_OK);
        snprintf(path, sizeof path, FIXTURES "%s.proba", NAMES[i]);
        assert_predicts_like_v1(m, ds, path);
        hl_model_free(m);
        hl_dataset_free(ds);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_is_bit_identical),
        cmocka_unit_test(truncated_files_are_refused),
        cmocka_unit_test(corrupted_bytes_are_detected),
        cmocka_unit_test(forged_checksums_still_checked),
        cmocka_unit_test(foreign_and_newer_files),
        cmocka_unit_test(learner_sections_are_required_and_unknown_ones_skipped),
        cmocka_unit_test(stored_parameters_are_read_by_name),
        cmocka_unit_test(v1_model_files_predict_bit_identically),
        cmocka_unit_test(training_reproduces_the_v1_models),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
