/* test_overlap.c - whether a batch is a model's training data
 * (healer/overlap.h, fingerprint.h).
 *
 * A model's own training rows are found (verdict training_data), another
 * simulated batch is not (none), a half-and-half batch is "some"; the
 * sample stays within HL__FINGERPRINT_MAX hashes on a large set and is
 * consistent (every sampled training row is found); the fingerprint
 * survives a file round trip, a model file without it still loads (and
 * says so), and a forged one is refused.
 */
#include <math.h>

#include "engineutil.h"

#include "container.h"
#include "fingerprint.h"
#include "healer/overlap.h"

static hl_model *trained(const hl_dataset *ds)
{
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 10);
    return tu_train(ds, &p);
}

static void training_rows_are_found(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(800, 12, 3, 5);
    hl_dataset *other = tu_simulate(300, 12, 3, 6);
    hl_model *m = trained(ds);
    hl_training_overlap o;
    hl_error err;
    assert_true(hl_model_has_fingerprint(m));
    assert_int_equal(hl_model_training_overlap_dataset(m, ds, &o, &err), HL_OK);
    assert_int_equal(o.rows, 800);
    assert_int_equal(o.rows_checked, 800); /* fewer rows than the cap */
    assert_int_equal(o.rows_in_training, 800);
    assert_string_equal(hl_training_overlap_verdict(&o), "training_data");
    assert_int_equal(hl_model_training_overlap_dataset(m, other, &o, &err), HL_OK);
    assert_int_equal(o.rows_checked, 300);
    assert_int_equal(o.rows_in_training, 0);
    assert_string_equal(hl_training_overlap_verdict(&o), "none");
    /* half of each, in model order: some */
    const size_t nf = 12;
    float *x = malloc(200 * nf * sizeof *x);
    memcpy(x, ds->x, 100 * nf * sizeof *x);
    memcpy(x + 100 * nf, other->x, 100 * nf * sizeof *x);
    assert_int_equal(hl_model_training_overlap(m, x, 200, &o, &err), HL_OK);
    assert_int_equal(o.rows_in_training, 100);
    assert_string_equal(hl_training_overlap_verdict(&o), "some");
    /* one KPI changed in its last bit: another row */
    x[3] = nextafterf(x[3], INFINITY);
    assert_int_equal(hl_model_training_overlap(m, x, 1, &o, &err), HL_OK);
    assert_int_equal(o.rows_in_training, 0);
    free(x);
    hl_model_free(m);
    hl_dataset_free(ds);
    hl_dataset_free(other);
}

/* A large set: at most HL__FINGERPRINT_MAX hashes, the smallest shift
 * that keeps within them, and every sampled row found. */
static void the_sample_is_bounded_and_consistent(void **state)
{
    (void)state;
    const size_t n = 200000, nf = 3;
    float *x = malloc(n * nf * sizeof *x);
    size_t *rows = malloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++) {
        x[i * nf] = (float)i;
        x[i * nf + 1] = i % 3 ? (float)i * 0.5f : NAN;
        x[i * nf + 2] = -0.0f;
        rows[i] = i;
    }
    hl__fingerprint *f = NULL;
    assert_int_equal(hl__fingerprint_build(x, nf, rows, n, &f), HL_OK);
    assert_true(f->n <= HL__FINGERPRINT_MAX && f->n > HL__FINGERPRINT_MAX / 4);
    assert_int_equal(f->shift, 2); /* 200,000 / 4 = 50,000 <= 65,536 */
    size_t sampled = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = hl__row_hash(x + i * nf, nf);
        if (hl__fingerprint_samples(f, h)) {
            sampled++;
            assert_true(hl__fingerprint_has(f, h));
        }
    }
    assert_int_equal(sampled, f->n);
    /* NaNs alike, zeros alike */
    float a[3] = {1.0f, NAN, 0.0f}, b[3] = {1.0f, -NAN, -0.0f};
    assert_true(hl__row_hash(a, 3) == hl__row_hash(b, 3));
    assert_true(hl__row_hash(a, 2) != hl__row_hash(a, 3));
    hl__fingerprint_free(f);
    free(x);
    free(rows);
}

/* The FINGERPRINT section's tag (model_io.c). */
#define FINGERPRINT_TAG 17

/* Removes top-level section `tag` from a serialized model (count, body
 * length and CRC fixed); the new length. */
static size_t strip_section(uint8_t *buf, size_t len, uint32_t tag)
{
    size_t at = tu_find_section(buf, len, tag);
    assert_true(at > 0);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | buf[at + 8 + (size_t)i];
    size_t cut = 16 + (size_t)n;
    memmove(buf + at, buf + at + cut, len - at - cut);
    len -= cut;
    uint32_t count;
    memcpy(&count, buf + 12, 4);
    count--;
    memcpy(buf + 12, &count, 4);
    uint64_t body = len - 24 - 4;
    memcpy(buf + 16, &body, 8);
    tu_fix_crc(buf, len);
    return len;
}

static void files_keep_it(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(500, 8, 3, 9);
    hl_model *m = trained(ds);
    uint8_t *buf = NULL;
    size_t len = 0;
    hl_error err;
    hl_training_overlap o;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "f.model", &back, &err),
                     HL_OK);
    assert_int_equal(hl_model_training_overlap_dataset(back, ds, &o, &err),
                     HL_OK);
    assert_int_equal(o.rows_in_training, 500);
    hl_model_free(back);
    back = NULL;
    /* forged: hashes out of order */
    size_t at = tu_find_section(buf, len, FINGERPRINT_TAG);
    assert_true(at > 0);
    uint8_t *forged = malloc(len);
    memcpy(forged, buf, len);
    size_t first = at + 16 + 4 + 8 + 4;
    for (int i = 0; i < 8; i++) { /* swap the first two hashes */
        uint8_t t = forged[first + (size_t)i];
        forged[first + (size_t)i] = forged[first + 8 + (size_t)i];
        forged[first + 8 + (size_t)i] = t;
    }
    tu_fix_crc(forged, len);
    assert_int_equal(hl_model_deserialize(forged, len, "f.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "training fingerprint"));
    /* a model file from before: loads, and says it has none */
    len = strip_section(buf, len, FINGERPRINT_TAG);
    assert_int_equal(hl_model_deserialize(buf, len, "old.model", &back, &err),
                     HL_OK);
    assert_false(hl_model_has_fingerprint(back));
    assert_int_equal(hl_model_training_overlap_dataset(back, ds, &o, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "retrain"));
    hl_model_free(back);
    free(forged);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(training_rows_are_found),
        cmocka_unit_test(the_sample_is_bounded_and_consistent),
        cmocka_unit_test(files_keep_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
