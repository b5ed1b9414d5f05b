/* test_results.c - the stored results of a diagnosis (domain/results.h)
 * and what the diagnoses service renders from them.
 *
 * The format is written once and read by page, so the tests check that
 * every page, at every offset, gives back exactly what was written (ids,
 * labels, probabilities bit for bit, the projection, the explanations),
 * that filters keep exactly the rows their conditions say, that exports are
 * the `healer predict` CSV and the API's JSON items, that results stored
 * by earlier versions (format version 1, without explanations, and one
 * JSON document before it) still read the same, and that a
 * damaged blob - truncated, or with any byte changed - is an error and
 * never a crash or a wild read.
 */
#include <jansson.h>
#include <math.h>

#include "testutil.h"

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/diagnoses.h"
#include "domain/results.h"
#include "server/datadir.h"
#include "store/store.h"

typedef struct fixture {
    char dir[64];
    hs_datadir *dd;
    hs_app app;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    hs_error err = {0};
    snprintf(f->dir, sizeof f->dir, "/tmp/healer-results-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(hs_datadir_open(f->dir, &f->dd, &err), HS_OK);
    f->app.store = f->dd->store;
    f->app.blobs = f->dd->blobs;
    f->app.clock = hs_clock_system();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    hs_datadir_close(f->dd);
    tu_rm_rf(f->dir);
    free(f);
    return 0;
}

/* n rows over 3 classes with ids "s<i>", labels i % 4 - 1 (so some -1) and
 * a projection; the arrays live in the returned struct's companions. */
#define N_KPIS 11 /* two bytes of abnormal bits per row */

typedef struct sample {
    hs_results_data d;
    char *names[3];
    char **ids;
    double *proba, *xy;
    int32_t *labels;
    char *kpis[N_KPIS];
    hs_row_explanation *ex;
    uint8_t *bits;
} sample;

/* Row i's explanation: KPIs and values that vary with i, some slots
 * empty, and the abnormal bits holding the listed KPIs and one more. */
static void explain_row(sample *s, size_t i)
{
    hs_row_explanation *e = &s->ex[i];
    uint8_t *bits = s->bits + i * hs_results_bits_bytes(N_KPIS);
    for (size_t t = 0; t < HS_RESULTS_TOP; t++) {
        int used = t < i % 6, away = t < i % 4;
        e->top_kpi[t] = used ? (uint32_t)((i + t) % N_KPIS) : HS_RESULTS_NO_KPI;
        e->contribution[t] = used ? 1.0 / (double)(t + 1) + (double)i : 0.0;
        e->abnormal_kpi[t] = away ? (uint32_t)((i * 3 + t) % N_KPIS)
                                  : HS_RESULTS_NO_KPI;
        e->z[t] = away ? (t % 2 ? -4.0 : 5.5) - (double)t : 0.0;
        if (away)
            bits[e->abnormal_kpi[t] / 8] |= (uint8_t)(1u << (e->abnormal_kpi[t] % 8));
    }
    if (i % 4 == 3)
        bits[10 / 8] |= 1u << (10 % 8); /* abnormal beyond the listed ones */
}

static sample *make_sample(size_t n, int with_ids, int with_labels,
                           int with_xy)
{
    sample *s = calloc(1, sizeof *s);
    static const char *const NAMES[3] = {"normal", "disk, full", "cpu\"hog"};
    for (int k = 0; k < 3; k++)
        s->names[k] = strdup(NAMES[k]);
    s->proba = malloc(3 * n * sizeof *s->proba + 1);
    s->labels = malloc(n * sizeof *s->labels + 1);
    s->xy = malloc(2 * n * sizeof *s->xy + 1);
    s->ids = calloc(n + 1, sizeof *s->ids);
    for (size_t i = 0; i < n; i++) {
        double a = (double)(i % 7) + 0.1, b = (double)(i % 5) + 0.2, c = 0.3;
        double sum = a + b + c;
        s->proba[3 * i] = a / sum;
        s->proba[3 * i + 1] = b / sum;
        s->proba[3 * i + 2] = c / sum;
        s->labels[i] = (int32_t)(i % 4) - 1;
        s->xy[2 * i] = (double)i * 0.5;
        s->xy[2 * i + 1] = -(double)i / 3.0;
        char id[32];
        snprintf(id, sizeof id, "s%zu", i);
        s->ids[i] = strdup(id);
    }
    s->d.n_rows = n;
    s->d.n_classes = 3;
    s->d.class_names = s->names;
    s->d.proba = s->proba;
    s->d.labels = with_labels ? s->labels : NULL;
    s->d.sample_ids = with_ids ? s->ids : NULL;
    s->d.xy = with_xy ? s->xy : NULL;
    s->d.explained[0] = 0.625;
    s->d.explained[1] = 0.125;
    return s;
}

/* make_sample with explanations of N_KPIS KPIs (flags: what they hold). */
static sample *make_explained(size_t n, unsigned flags)
{
    sample *s = make_sample(n, 1, 1, 1);
    s->ex = calloc(n + 1, sizeof *s->ex);
    s->bits = calloc(n * hs_results_bits_bytes(N_KPIS) + 1, 1);
    for (size_t j = 0; j < N_KPIS; j++) {
        char name[32];
        snprintf(name, sizeof name, j == 4 ? "kpi, %zu" : "kpi%zu", j);
        s->kpis[j] = strdup(name);
    }
    for (size_t i = 0; i < n; i++)
        explain_row(s, i);
    s->d.explain_flags = flags;
    s->d.n_kpis = N_KPIS;
    s->d.kpi_names = s->kpis;
    s->d.explain = s->ex;
    s->d.abnormal_bits = s->bits;
    return s;
}

static void free_sample(sample *s, size_t n)
{
    for (int k = 0; k < 3; k++)
        free(s->names[k]);
    for (size_t i = 0; i < n; i++)
        free(s->ids[i]);
    free(s->ids);
    free(s->proba);
    free(s->labels);
    free(s->xy);
    for (size_t j = 0; j < N_KPIS; j++)
        free(s->kpis[j]);
    free(s->ex);
    free(s->bits);
    free(s);
}

static int32_t argmax3(const double *p)
{
    return p[1] > p[0] ? (p[2] > p[1] ? 2 : 1) : (p[2] > p[0] ? 2 : 0);
}

/* Every page of every shape reads back exactly. */
static void pages_read_back_exactly(void **state)
{
    fixture *f = *state;
    const size_t n = 1003;
    for (int shape = 0; shape < 8; shape++) {
        sample *s = make_sample(n, shape & 1, shape & 2, shape & 4);
        char key[HS_BLOB_KEY_MAX];
        hs_error err = {0};
        assert_int_equal(hs_results_write(f->app.blobs, &s->d, key, &err), HS_OK);
        hs_results *r = NULL;
        assert_int_equal(hs_results_open(f->app.blobs, key, &r, &err), HS_OK);
        assert_int_equal(hs_results_rows(r), n);
        assert_int_equal(hs_results_classes(r), 3);
        assert_string_equal(hs_results_class_names(r)[1], "disk, full");
        assert_int_equal(hs_results_has_projection(r), (shape & 4) != 0);
        static const size_t FIRSTS[] = {0, 1, 99, 500, 1000, 1002, 1003, 5000};
        for (size_t t = 0; t < sizeof FIRSTS / sizeof FIRSTS[0]; t++) {
            hs_results_data c;
            assert_int_equal(hs_results_read(r, FIRSTS[t], 100, &c, &err), HS_OK);
            size_t want = FIRSTS[t] >= n ? 0 : (n - FIRSTS[t] < 100 ? n - FIRSTS[t] : 100);
            assert_int_equal(c.n_rows, want);
            for (size_t i = 0; i < c.n_rows; i++) {
                size_t row = c.first + i;
                assert_memory_equal(c.proba + 3 * i, s->proba + 3 * row,
                                    3 * sizeof(double));
                assert_int_equal(c.predicted[i], argmax3(s->proba + 3 * row));
                if (shape & 2)
                    assert_int_equal(c.labels[i], s->labels[row]);
                else
                    assert_null(c.labels);
                if (shape & 1)
                    assert_string_equal(c.sample_ids[i], s->ids[row]);
                else
                    assert_null(c.sample_ids);
                if (shape & 4) {
                    assert_true(c.xy[2 * i] == s->xy[2 * row]);
                    assert_true(c.xy[2 * i + 1] == s->xy[2 * row + 1]);
                    assert_true(c.explained[0] == 0.625);
                }
            }
            hs_results_chunk_free(&c);
        }
        hs_results_close(r);
        free_sample(s, n);
    }
}

static void empty_results(void **state)
{
    fixture *f = *state;
    sample *s = make_sample(0, 1, 1, 1);
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    assert_int_equal(hs_results_write(f->app.blobs, &s->d, key, &err), HS_OK);
    hs_results *r = NULL;
    hs_results_data c;
    assert_int_equal(hs_results_open(f->app.blobs, key, &r, &err), HS_OK);
    assert_int_equal(hs_results_read(r, 0, 100, &c, &err), HS_OK);
    assert_int_equal(c.n_rows, 0);
    hs_results_chunk_free(&c);
    hs_results_close(r);
    free_sample(s, 0);
}

/* Stores a diagnosis record over results written from s. */
static hs_diagnosis_rec store(fixture *f, sample *s)
{
    hs_error err = {0};
    hs_diagnosis_rec rec;
    memset(&rec, 0, sizeof rec);
    assert_int_equal(hs_results_write(f->app.blobs, &s->d, rec.blob_key, &err),
                     HS_OK);
    rec.id = 7;
    rec.rows = (int64_t)s->d.n_rows;
    return rec;
}

static char *export(fixture *f, const hs_diagnosis_rec *rec, const char *format)
{
    char *buf = NULL;
    size_t len = 0;
    hs_error err = {0};
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(hs_diagnoses_export(&f->app, rec, format, NULL, 0, out, &err), HS_OK);
    fclose(out);
    return buf;
}

/* The API's pages, scatter and exports come from the stored form. */
static void service_views(void **state)
{
    fixture *f = *state;
    const size_t n = 9000; /* more than one export chunk */
    sample *s = make_sample(n, 1, 1, 1);
    hs_diagnosis_rec rec = store(f, s);
    hs_error err = {0};
    json_t *items = NULL;
    size_t total = 0;
    int filtered = 1;
    assert_int_equal(hs_diagnoses_page(&f->app, &rec, NULL, 4500, 3, &items,
                                       &total, &filtered, &err),
                     HS_OK);
    assert_false(filtered);
    assert_int_equal(total, n);
    assert_int_equal(json_array_size(items), 3);
    json_t *it = json_array_get(items, 0);
    assert_int_equal(json_integer_value(json_object_get(it, "row")), 4501);
    assert_string_equal(json_string_value(json_object_get(it, "sample_id")), "s4500");
    assert_true(json_is_null(json_object_get(it, "label"))); /* 4500 % 4 - 1 */
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 1),
                                                          "label")),
                        "normal");
    assert_true(json_real_value(json_object_get(json_object_get(it, "probabilities"),
                                                "cpu\"hog")) ==
                s->proba[3 * 4500 + 2]);
    json_decref(items);

    json_t *proj = NULL;
    assert_int_equal(hs_diagnoses_projection(&f->app, &rec, 100, &proj, &err), HS_OK);
    assert_int_equal(json_integer_value(json_object_get(proj, "shown")), 100);
    assert_true(json_is_true(json_object_get(proj, "sampled")));
    json_t *p1 = json_array_get(json_object_get(proj, "points"), 1);
    assert_int_equal(json_integer_value(json_array_get(p1, 0)), 91); /* row 90 */
    assert_true(json_real_value(json_array_get(p1, 1)) == s->xy[180]);
    json_decref(proj);

    char *csv = export(f, &rec, "csv");
    assert_memory_equal(csv, "sample_id,label,confidence,prob_normal,"
                             "\"prob_disk, full\",\"prob_cpu\"\"hog\"\n",
                        strlen("sample_id,label,confidence,prob_normal,"
                               "\"prob_disk, full\",\"prob_cpu\"\"hog\"\n"));
    size_t lines = 0;
    for (const char *c = csv; *c; c++)
        lines += *c == '\n';
    assert_int_equal(lines, n + 1);
    assert_non_null(strstr(csv, "\ns8999,"));
    free(csv);

    char *js = export(f, &rec, "json");
    json_t *all = json_loads(js, 0, NULL);
    assert_non_null(all);
    assert_int_equal(json_array_size(all), n);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(all, n - 1),
                                                        "row")),
                     n);
    json_decref(all);
    free(js);
    free_sample(s, n);
}

/* Results stored by earlier versions: one JSON document. */
static void old_json_results_still_read(void **state)
{
    fixture *f = *state;
    const char *old =
        "{\"classes\": [\"a\", \"b\"], \"rows\": ["
        "[\"x1\", 1, 0.75, [0.25, 0.75], 0],"
        "[\"x2\", 0, 0.6, [0.6, 0.4], -1]],"
        " \"projection\": {\"explained\": [0.5, 0.25],"
        " \"points\": [[1.5, 2.5], [-1, 0]]}}";
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    assert_int_equal(hs_blob_put(f->app.blobs, "result", old, strlen(old), key, &err),
                     HS_OK);
    hs_results *r = NULL;
    hs_results_data c;
    assert_int_equal(hs_results_open(f->app.blobs, key, &r, &err), HS_OK);
    assert_int_equal(hs_results_rows(r), 2);
    assert_int_equal(hs_results_read(r, 0, 10, &c, &err), HS_OK);
    assert_string_equal(c.sample_ids[1], "x2");
    assert_int_equal(c.predicted[0], 1);
    assert_int_equal(c.labels[0], 0);
    assert_int_equal(c.labels[1], -1);
    assert_true(c.proba[1] == 0.75);
    assert_true(c.xy[0] == 1.5 && c.explained[1] == 0.25);
    hs_results_chunk_free(&c);
    hs_results_close(r);

    const char *bad = "{\"classes\": [\"a\"], \"rows\": [[null, 3, 1, [1], -1]]}";
    assert_int_equal(hs_blob_put(f->app.blobs, "result", bad, strlen(bad), key, &err),
                     HS_OK);
    assert_int_equal(hs_results_open(f->app.blobs, key, &r, &err), HS_ERR_INTERNAL);
    assert_non_null(strstr(err.message, "damaged"));
}

/* Through the service, old results are converted once and stored again:
 * the record moves to a blob in the paged format, the old one is gone, and
 * the next read finds nothing to convert. */
static void old_json_results_are_converted_once(void **state)
{
    fixture *f = *state;
    hs_error err = {0};
    const char *old =
        "{\"classes\": [\"a\", \"b\"], \"rows\": ["
        "[\"x1\", 1, 0.75, [0.25, 0.75], 0], [\"x2\", 0, 0.6, [0.6, 0.4], -1]],"
        " \"projection\": null}";
    hs_user u = {0};
    snprintf(u.username, sizeof u.username, "owner");
    snprintf(u.password_hash, sizeof u.password_hash, "x");
    assert_int_equal(hs_store_user_create(f->app.store, &u, &err), HS_OK);
    hs_diagnosis_rec rec;
    memset(&rec, 0, sizeof rec);
    assert_int_equal(hs_blob_put(f->app.blobs, "result", old, strlen(old),
                                 rec.blob_key, &err),
                     HS_OK);
    char old_key[HS_BLOB_KEY_MAX];
    snprintf(old_key, sizeof old_key, "%s", rec.blob_key);
    rec.owner_id = u.id;
    snprintf(rec.name, sizeof rec.name, "before the paged format");
    rec.rows = 2;
    rec.summary_json = "{}";
    assert_int_equal(hs_store_diagnosis_create(f->app.store, &rec, &err), HS_OK);

    json_t *items = NULL;
    size_t total = 0;
    int filtered = 0;
    assert_int_equal(hs_diagnoses_page(&f->app, &rec, NULL, 1, 10, &items,
                                       &total, &filtered, &err),
                     HS_OK);
    assert_int_equal(total, 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0),
                                                          "sample_id")),
                        "x2");
    json_decref(items);
    hs_user viewer = {.id = u.id};
    hs_diagnosis_rec now;
    assert_int_equal(hs_diagnoses_get(&f->app, rec.id, &viewer, &now, &err), HS_OK);
    assert_string_not_equal(now.blob_key, old_key);
    int exists = 1;
    assert_int_equal(hs_blob_exists(f->app.blobs, old_key, &exists, &err), HS_OK);
    assert_false(exists);
    hs_results *r = NULL;
    assert_int_equal(hs_results_open(f->app.blobs, now.blob_key, &r, &err), HS_OK);
    assert_false(hs_results_converted(r));
    assert_int_equal(hs_results_rows(r), 2);
    hs_results_close(r);
    hs_diagnosis_rec_free(&now);
}

/* Opens and reads everything; any failure must be a clean error. */
static hs_status read_everything(fixture *f, const char *key)
{
    hs_results *r = NULL;
    hs_error err = {0};
    hs_status st = hs_results_open(f->app.blobs, key, &r, &err);
    if (st != HS_OK)
        return st;
    hs_results_data c;
    st = hs_results_read(r, 0, 1000, &c, &err);
    if (st == HS_OK)
        hs_results_chunk_free(&c);
    size_t rows[2] = {0, hs_results_rows(r) ? hs_results_rows(r) - 1 : 0};
    double xy[4], conf[2], ex[2];
    int32_t pred[2];
    if (st == HS_OK && hs_results_has_projection(r) && hs_results_rows(r))
        st = hs_results_points(r, rows, 2, xy, pred, conf, ex, &err);
    hs_results_close(r);
    return st;
}

static void damaged_blobs_are_errors(void **state)
{
    fixture *f = *state;
    sample *s = make_explained(20, HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL);
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    assert_int_equal(hs_results_write(f->app.blobs, &s->d, key, &err), HS_OK);
    uint8_t *good = NULL;
    size_t len = 0;
    assert_int_equal(hs_blob_read_all(f->app.blobs, key, &good, &len, 1 << 20, &err),
                     HS_OK);
    uint8_t *copy = malloc(len);
    size_t refused = 0;
    for (size_t cut = 0; cut < len; cut += tu_quick() ? 37 : 5) {
        assert_int_equal(hs_blob_put(f->app.blobs, "result", good, cut, key, &err),
                         HS_OK);
        assert_int_not_equal(read_everything(f, key), HS_OK);
        hs_blob_delete(f->app.blobs, key, NULL);
    }
    for (size_t i = 0; i < len; i += tu_quick() ? 7 : 1) {
        memcpy(copy, good, len);
        copy[i] ^= 0xA5;
        assert_int_equal(hs_blob_put(f->app.blobs, "result", copy, len, key, &err),
                         HS_OK);
        refused += read_everything(f, key) != HS_OK;
        hs_blob_delete(f->app.blobs, key, NULL);
    }
    print_message("single-byte corruptions refused: %zu (the rest changed only values)\n",
                  refused);
    assert_true(refused > 0);
    free(copy);
    free(good);
    free_sample(s, 20);
}

/* s written and opened again. */
static hs_results *written(fixture *f, const sample *s)
{
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    hs_results *r = NULL;
    assert_int_equal(hs_results_write(f->app.blobs, &s->d, key, &err), HS_OK);
    assert_int_equal(hs_results_open(f->app.blobs, key, &r, &err), HS_OK);
    return r;
}

/* Explanations read back exactly, by page. */
static void explanations_read_back(void **state)
{
    fixture *f = *state;
    const size_t n = 1003, nb = hs_results_bits_bytes(N_KPIS);
    sample *s = make_explained(n, HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL);
    hs_error err = {0};
    hs_results *r = written(f, s);
    assert_int_equal(hs_results_explain_flags(r),
                     HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL);
    assert_int_equal(hs_results_kpis(r), N_KPIS);
    assert_string_equal(hs_results_kpi_names(r)[4], "kpi, 4");
    static const size_t FIRSTS[] = {0, 1, 500, 1002};
    for (size_t t = 0; t < sizeof FIRSTS / sizeof FIRSTS[0]; t++) {
        hs_results_data c;
        assert_int_equal(hs_results_read(r, FIRSTS[t], 300, &c, &err), HS_OK);
        assert_int_equal(c.n_kpis, N_KPIS);
        for (size_t i = 0; i < c.n_rows; i++) {
            const size_t row = c.first + i;
            for (size_t u = 0; u < HS_RESULTS_TOP; u++) {
                assert_int_equal(c.explain[i].top_kpi[u], s->ex[row].top_kpi[u]);
                assert_true(c.explain[i].contribution[u] ==
                            s->ex[row].contribution[u]);
                assert_int_equal(c.explain[i].abnormal_kpi[u],
                                 s->ex[row].abnormal_kpi[u]);
                assert_true(c.explain[i].z[u] == s->ex[row].z[u]);
            }
            assert_memory_equal(c.abnormal_bits + i * nb, s->bits + row * nb, nb);
        }
        /* the API item: the lists without their empty slots */
        json_t *items = hs_diag_items(&c, 0, 1);
        json_t *top = json_object_get(json_array_get(items, 0), "top");
        json_t *away = json_object_get(json_array_get(items, 0), "abnormal");
        assert_int_equal(json_array_size(top), c.first % 6 < 5 ? c.first % 6 : 5);
        assert_int_equal(json_array_size(away), c.first % 4);
        if (json_array_size(top))
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(top, 0), "kpi")),
                s->kpis[c.first % N_KPIS]);
        json_decref(items);
        hs_results_chunk_free(&c);
    }
    hs_results_close(r);
    free_sample(s, n);
}

/* The rows a filter keeps are exactly those its conditions hold for. */
static void filters_keep_what_they_say(void **state)
{
    fixture *f = *state;
    const size_t n = 777, nb = hs_results_bits_bytes(N_KPIS);
    sample *s = make_explained(n, HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL);
    hs_error err = {0};
    hs_results *r = written(f, s);
    hs_results_filter none = hs_results_filter_none();
    assert_false(hs_results_filter_active(&none));
    const hs_results_filter cases[] = {
        {1, NAN, -1}, {-1, 0.5, -1}, {-1, NAN, 10}, {-1, NAN, 3},
        {2, 0.8, 3},  {0, 0.6, 10}, {-1, 0.0, -1}, {-1, 1.0, -1}};
    uint8_t *match = malloc(n);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const hs_results_filter *fl = &cases[t];
        assert_true(hs_results_filter_active(fl));
        size_t scanned = 0, kept = 0;
        assert_int_equal(hs_results_match(r, fl, 0, n + 50, match, &scanned, &err),
                         HS_OK);
        assert_int_equal(scanned, n);
        for (size_t i = 0; i < n; i++) {
            const int32_t pred = argmax3(s->proba + 3 * i);
            const uint8_t *bits = s->bits + i * nb;
            int want = (fl->predicted < 0 || pred == fl->predicted) &&
                       (isnan(fl->max_confidence) ||
                        s->proba[3 * i + pred] <= fl->max_confidence) &&
                       (fl->abnormal_kpi < 0 ||
                        (bits[fl->abnormal_kpi / 8] >> (fl->abnormal_kpi % 8)) & 1);
            assert_int_equal(match[i], want);
            kept += want;
        }
        print_message("filter %zu keeps %zu rows\n", t, kept);
        assert_true(kept > 0 || fl->max_confidence == 0.0);
        /* a window of the rows, clipped at the end */
        assert_int_equal(hs_results_match(r, fl, n - 5, 100, match, &scanned, &err),
                         HS_OK);
        assert_int_equal(scanned, 5);
    }
    /* out of range: refused, never read */
    hs_results_filter bad = {3, NAN, -1};
    size_t scanned = 0;
    assert_int_equal(hs_results_match(r, &bad, 0, n, match, &scanned, &err),
                     HS_ERR_INVALID);
    bad = (hs_results_filter){-1, NAN, N_KPIS};
    assert_int_equal(hs_results_match(r, &bad, 0, n, match, &scanned, &err),
                     HS_ERR_INVALID);
    free(match);
    hs_results_close(r);
    free_sample(s, n);
}

/* The domain's filter from a query: names to indices, refusals name
 * their field. */
static void query_filters_name_their_field(void **state)
{
    fixture *f = *state;
    sample *s = make_explained(40, HS_RESULTS_CONTRIB | HS_RESULTS_ABNORMAL);
    hs_error err = {0};
    hs_results *r = written(f, s);
    hs_results_filter fl;
    hs_diag_query q = {"disk, full", "0.25", "kpi, 4"};
    assert_int_equal(hs_diagnoses_filter(r, &q, &fl, &err), HS_OK);
    assert_int_equal(fl.predicted, 1);
    assert_true(fl.max_confidence == 0.25);
    assert_int_equal(fl.abnormal_kpi, 4);
    q = (hs_diag_query){"", "", NULL};
    assert_int_equal(hs_diagnoses_filter(r, &q, &fl, &err), HS_OK);
    assert_false(hs_results_filter_active(&fl));
    static const struct {
        hs_diag_query q;
        const char *field;
    } BAD[] = {{{"disk", NULL, NULL}, "predicted"},
               {{NULL, "1.01", NULL}, "max_confidence"},
               {{NULL, "-0", NULL}, NULL}, /* -0 is 0: accepted */
               {{NULL, "0.5x", NULL}, "max_confidence"},
               {{NULL, "nan", NULL}, "max_confidence"},
               {{NULL, "inf", NULL}, "max_confidence"},
               {{NULL, NULL, "kpi4"}, "abnormal"}};
    for (size_t t = 0; t < sizeof BAD / sizeof BAD[0]; t++) {
        hs_error e = {0};
        hs_status st = hs_diagnoses_filter(r, &BAD[t].q, &fl, &e);
        if (!BAD[t].field) {
            assert_int_equal(st, HS_OK);
            continue;
        }
        assert_int_equal(st, HS_ERR_INVALID);
        assert_string_equal(e.field, BAD[t].field);
    }
    hs_results_close(r);
    free_sample(s, 40);
    /* results with contributions but no normal-range check */
    s = make_explained(40, HS_RESULTS_CONTRIB);
    r = written(f, s);
    q = (hs_diag_query){NULL, NULL, "kpi3"};
    assert_int_equal(hs_diagnoses_filter(r, &q, &fl, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "abnormal");
    hs_results_data c;
    assert_int_equal(hs_results_read(r, 0, 5, &c, &err), HS_OK);
    json_t *items = hs_diag_items(&c, 4, 1);
    assert_int_equal(json_array_size(json_object_get(json_array_get(items, 0), "top")), 4);
    assert_int_equal(json_array_size(json_object_get(json_array_get(items, 0), "abnormal")), 0);
    json_decref(items);
    hs_results_chunk_free(&c);
    hs_results_close(r);
    free_sample(s, 40);
}

/* A version 1 blob (no KPI names, no explanations): made from a version
 * 2 one without explanations by taking out the 24 header bytes version 2
 * added and moving every offset back. */
static void version1_results_still_read(void **state)
{
    fixture *f = *state;
    const size_t n = 300;
    sample *s = make_sample(n, 1, 1, 1);
    char key[HS_BLOB_KEY_MAX], old[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    assert_int_equal(hs_results_write(f->app.blobs, &s->d, key, &err), HS_OK);
    uint8_t *v2 = NULL;
    size_t len = 0;
    assert_int_equal(hs_blob_read_all(f->app.blobs, key, &v2, &len, 1 << 24, &err),
                     HS_OK);
    uint8_t *v1 = malloc(len);
    memcpy(v1, v2, 80);
    memcpy(v1 + 80, v2 + 104, len - 104);
    v1[8] = 1; /* version */
    for (size_t at = 32; at <= 72; at += 8) {
        uint64_t o;
        memcpy(&o, v1 + at, 8);
        o -= 24; /* little-endian on this machine, as the format */
        memcpy(v1 + at, &o, 8);
    }
    assert_int_equal(hs_blob_put(f->app.blobs, "result", v1, len - 24, old, &err),
                     HS_OK);
    hs_results *r = NULL;
    assert_int_equal(hs_results_open(f->app.blobs, old, &r, &err), HS_OK);
    assert_int_equal(hs_results_rows(r), n);
    assert_int_equal(hs_results_explain_flags(r), 0);
    assert_int_equal(hs_results_kpis(r), 0);
    hs_results_data c;
    assert_int_equal(hs_results_read(r, 120, 50, &c, &err), HS_OK);
    for (size_t i = 0; i < c.n_rows; i++) {
        assert_memory_equal(c.proba + 3 * i, s->proba + 3 * (120 + i), 24);
        assert_string_equal(c.sample_ids[i], s->ids[120 + i]);
        assert_int_equal(c.labels[i], s->labels[120 + i]);
        assert_true(c.xy[2 * i] == s->xy[2 * (120 + i)]);
    }
    assert_null(c.explain);
    json_t *items = hs_diag_items(&c, 0, 1);
    json_t *it = json_array_get(items, 0);
    assert_int_equal(json_array_size(json_object_get(it, "top")), 0);
    assert_int_equal(json_array_size(json_object_get(it, "abnormal")), 0);
    json_decref(items);
    hs_results_chunk_free(&c);
    /* filters: by class and confidence yes, by abnormal KPI no */
    hs_results_filter fl = {1, NAN, -1};
    uint8_t *match = malloc(n);
    size_t scanned = 0;
    assert_int_equal(hs_results_match(r, &fl, 0, n, match, &scanned, &err), HS_OK);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(match[i], argmax3(s->proba + 3 * i) == 1);
    fl = (hs_results_filter){-1, NAN, 0};
    assert_int_equal(hs_results_match(r, &fl, 0, n, match, &scanned, &err),
                     HS_ERR_INVALID);
    hs_diag_query q = {NULL, NULL, "kpi0"};
    assert_int_equal(hs_diagnoses_filter(r, &q, &fl, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "abnormal");
    free(match);
    hs_results_close(r);
    free(v1);
    free(v2);
    free_sample(s, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pages_read_back_exactly, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_results, setup, teardown),
        cmocka_unit_test_setup_teardown(service_views, setup, teardown),
        cmocka_unit_test_setup_teardown(old_json_results_still_read, setup, teardown),
        cmocka_unit_test_setup_teardown(old_json_results_are_converted_once, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(damaged_blobs_are_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(explanations_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(filters_keep_what_they_say, setup, teardown),
        cmocka_unit_test_setup_teardown(query_filters_name_their_field, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(version1_results_still_read, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
