/* model.c - libFuzzer target: the model file reader
 * (hl_model_deserialize: src/core/model_io.c, model_io_v1.c and every
 * learner's sections), then prediction and explanation with what it read.
 *
 * A model file ends with a CRC-32 over everything before it and its header
 * holds the body's length, so almost every mutation would be refused by
 * the checksum before any section is parsed. This target therefore
 * recomputes both (fix_up below: a fuzz-only step, the reader itself is
 * unchanged) whenever the input starts with the magic, so mutations reach
 * the sections; an input whose magic is broken still tests that refusal.
 * The reader's own promise is that counts are checked against the bytes
 * and structures against each other even when the checksum is forged, so
 * predicting from an accepted model must never read out of bounds.
 *
 * Checked besides memory safety: a refusal says why; an accepted model
 * predicts and explains rows (zeros, missing values, large values) without
 * error, and saves to a file that reads back and saves to the same bytes.
 */
#include <math.h>

#include "fuzz.h"
#include "healer/explain.h"
#include "healer/model.h"

#define MAGIC "HLMODEL\x1a"
#define HEADER_BYTES 24 /* magic, u32 version, u32 sections, u64 body */

/* The CRC-32 (IEEE 802.3) model files end with; written here again rather
 * than taken from the engine's internals, so that a bug there is not
 * copied into the check. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc ^ 0xFFFFFFFFu;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Makes the header's body length and the trailing checksum match the
 * bytes, so that the sections are what the reader judges. */
static void fix_up(uint8_t *buf, size_t len)
{
    if (len < HEADER_BYTES + 4 || memcmp(buf, MAGIC, 8) != 0)
        return;
    put_le(buf + 16, len - HEADER_BYTES - 4, 8);
    put_le(buf + len - 4, crc32_ieee(buf, len - 4), 4);
}

/* Rows that take every branch kind: zeros, missing values, large and
 * negative values, and one row of the input's own bytes. */
static float *sample_rows(size_t n_features, size_t n_rows, const uint8_t *data,
                          size_t size)
{
    float *x = calloc(n_rows * n_features + 1, sizeof *x);
    FUZZ_ASSERT(x != NULL, "calloc");
    for (size_t j = 0; j < n_features; j++) {
        x[1 * n_features + j] = NAN;
        x[2 * n_features + j] = (j % 2) ? -3.0e38f : 3.0e38f;
        x[3 * n_features + j] = size ? (float)data[j % size] - 128.0f : 1.0f;
    }
    return x;
}

static void use_model(const hl_model *m, const uint8_t *data, size_t size)
{
    size_t nf = hl_model_n_features(m), nc = hl_model_n_classes(m);
    FUZZ_ASSERT(nc >= 1 && nf >= 1, "a loaded model has features and classes");
    const size_t rows = 4;
    float *x = sample_rows(nf, rows, data, size);
    double *proba = calloc(rows * nc, sizeof *proba);
    FUZZ_ASSERT(proba != NULL, "calloc");
    hl_error err = {0};
    hl_status rc = hl_model_predict_matrix(m, x, rows, 1, proba, &err);
    if (rc != HL_OK)
        fuzz_check_error(rc, &err);
    /* Contributions: one per KPI and a bias, per class, per row. */
    double *contrib = calloc(rows * nc * (nf + 1), sizeof *contrib);
    FUZZ_ASSERT(contrib != NULL, "calloc");
    rc = hl_model_contributions(m, x, rows, 1, contrib, &err);
    if (rc != HL_OK)
        fuzz_check_error(rc, &err);
    free(contrib);
    free(proba);
    free(x);
}

/* An accepted model saves, and what it saved reads back and saves to the
 * same bytes (the writer and the reader agree). */
static void save_again(const hl_model *m)
{
    uint8_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    hl_error err = {0};
    hl_model *back = NULL;
    FUZZ_ASSERT(hl_model_serialize(m, &a, &na, &err) == HL_OK,
                "an accepted model serializes");
    if (hl_model_deserialize(a, na, "<saved>", &back, &err) != HL_OK)
        fprintf(stderr, "saved model refused: %s\n", err.message);
    FUZZ_ASSERT(back != NULL, "a saved model reads back");
    FUZZ_ASSERT(hl_model_serialize(back, &b, &nb, &err) == HL_OK,
                "a model read back serializes");
    FUZZ_ASSERT(na == nb && memcmp(a, b, na) == 0,
                "a model saves to the same bytes after a round trip");
    hl_model_free(back);
    free(a);
    free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf = malloc(size ? size : 1);
    FUZZ_ASSERT(buf != NULL, "malloc");
    memcpy(buf, data, size);
    fix_up(buf, size);
    hl_model *m = NULL;
    hl_error err = {0};
    hl_status rc = hl_model_deserialize(buf, size, "<fuzz>", &m, &err);
    if (rc != HL_OK) {
        FUZZ_ASSERT(m == NULL, "no model on failure");
        fuzz_check_error(rc, &err);
    } else {
        use_model(m, data, size);
        save_again(m);
        hl_model_free(m);
    }
    free(buf);
    return 0;
}
