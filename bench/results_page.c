/* results_page.c - how long reading a stored diagnosis takes as it grows:
 * page 1, the last page, page 1 of a filtered view (?predicted=0&
 * max_confidence=0.9: every row record scanned), the scatter sample and
 * the whole CSV export of a
 * diagnosis of N rows, through the diagnoses service exactly as the API
 * calls it (blob store on disk, the paged results format), next to what
 * reading one page cost before (parsing the whole JSON document the
 * service used to store, written here for the same rows).
 *
 * Usage: build/bench/results_page [ROWS...]   (default 10000 100000 1000000)
 * Prints one JSON object per size on stdout (medians of repeated runs,
 * milliseconds); bench/results_page.sh turns them into docs/benchmarks.md's
 * table. The data directory is a private temporary one, removed at exit.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/diagnoses.h"
#include "healer/clock.h"
#include "server/datadir.h"

#define K 6
#define REPEATS 15

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static void die(const char *what, const hs_error *err)
{
    fprintf(stderr, "results_page: %s: %s\n", what, err ? err->message : "");
    exit(1);
}

/* n rows of plausible results: 6 classes, ids, labels, a projection. */
static hs_results_data make_rows(size_t n, char ***ids_out)
{
    static char *names[K] = {"0", "1", "2", "3", "4", "5"};
    double *proba = malloc(n * K * sizeof *proba);
    int32_t *labels = malloc(n * sizeof *labels);
    double *xy = malloc(2 * n * sizeof *xy);
    char **ids = malloc(n * sizeof *ids);
    if (!proba || !labels || !xy || !ids)
        die("out of memory", NULL);
    for (size_t i = 0; i < n; i++) {
        double sum = 0;
        for (int k = 0; k < K; k++)
            sum += proba[i * K + k] = 1.0 + (double)((i * 31 + (size_t)k * 7) % 97);
        for (int k = 0; k < K; k++)
            proba[i * K + k] /= sum;
        labels[i] = (int32_t)(i % K);
        xy[2 * i] = (double)(i % 1000) / 100.0;
        xy[2 * i + 1] = (double)(i % 777) / 50.0;
        char id[24];
        snprintf(id, sizeof id, "%zu", i);
        ids[i] = strdup(id);
    }
    *ids_out = ids;
    hs_results_data d = {.n_rows = n, .n_classes = K, .class_names = names,
                         .proba = proba, .labels = labels, .sample_ids = ids,
                         .xy = xy, .explained = {0.4, 0.2}};
    return d;
}

/* The document the service stored before the paged format, for the
 * "before" figure: reading page 1 meant loading and parsing all of it. */
static char *old_document(const hs_results_data *d)
{
    json_t *rows = json_array();
    for (size_t i = 0; i < d->n_rows; i++) {
        json_t *p = json_array();
        for (int k = 0; k < K; k++)
            json_array_append_new(p, json_real(d->proba[i * K + k]));
        json_array_append_new(rows, json_pack("[s, i, f, o, i]", d->sample_ids[i], 0,
                                              d->proba[i * K], p, d->labels[i]));
    }
    json_t *doc = json_pack("{s:[s,s,s,s,s,s], s:o, s:n}", "classes", "0", "1", "2",
                            "3", "4", "5", "rows", rows, "projection");
    char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(doc);
    return text;
}

static void bench_size(hs_app *app, size_t n)
{
    char **ids = NULL;
    hs_results_data d = make_rows(n, &ids);
    hs_diagnosis_rec rec;
    hs_error err = {0};
    memset(&rec, 0, sizeof rec);
    double t0 = hl_clock_monotonic();
    if (hs_results_write(app->blobs, &d, rec.blob_key, &err) != HS_OK)
        die("write", &err);
    double write_ms = (hl_clock_monotonic() - t0) * 1e3;
    double first[REPEATS], last[REPEATS], scatter[REPEATS], old_page[3];
    double filtered[REPEATS];
    const hs_diag_query q = {"0", "0.9", NULL};
    for (int r = 0; r < REPEATS; r++) {
        json_t *items = NULL, *proj = NULL;
        size_t total = 0;
        int is_filtered = 0;
        t0 = hl_clock_monotonic();
        if (hs_diagnoses_page(app, &rec, NULL, 0, 100, &items, &total,
                              &is_filtered, &err) != HS_OK)
            die("page 1", &err);
        first[r] = (hl_clock_monotonic() - t0) * 1e3;
        json_decref(items);
        t0 = hl_clock_monotonic();
        if (hs_diagnoses_page(app, &rec, NULL, n - 100, 100, &items, &total,
                              &is_filtered, &err) != HS_OK)
            die("last page", &err);
        last[r] = (hl_clock_monotonic() - t0) * 1e3;
        json_decref(items);
        t0 = hl_clock_monotonic();
        if (hs_diagnoses_page(app, &rec, &q, 0, 100, &items, &total,
                              &is_filtered, &err) != HS_OK)
            die("filtered page", &err);
        filtered[r] = (hl_clock_monotonic() - t0) * 1e3;
        json_decref(items);
        t0 = hl_clock_monotonic();
        if (hs_diagnoses_projection(app, &rec, 5000, &proj, &err) != HS_OK)
            die("scatter", &err);
        scatter[r] = (hl_clock_monotonic() - t0) * 1e3;
        json_decref(proj);
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    t0 = hl_clock_monotonic();
    if (hs_diagnoses_export(app, &rec, "csv", NULL, 0, f, &err) != HS_OK)
        die("export", &err);
    fclose(f);
    double export_ms = (hl_clock_monotonic() - t0) * 1e3;
    free(buf);

    char *old = old_document(&d);
    size_t old_len = strlen(old);
    for (int r = 0; r < 3; r++) {
        t0 = hl_clock_monotonic();
        json_t *doc = json_loadb(old, old_len, 0, NULL);
        json_t *page = json_array();
        for (size_t i = 0; i < 100 && i < n; i++)
            json_array_append(page, json_array_get(json_object_get(doc, "rows"), i));
        old_page[r] = (hl_clock_monotonic() - t0) * 1e3;
        json_decref(page);
        json_decref(doc);
    }
    free(old);
    printf("{\"rows\": %zu, \"write_ms\": %.1f, \"page1_ms\": %.3f, "
           "\"last_page_ms\": %.3f, \"scatter_5000_ms\": %.2f, "
           "\"export_csv_ms\": %.1f, \"old_page1_ms\": %.1f, "
           "\"filtered_page1_ms\": %.2f}\n",
           n, write_ms, median(first, REPEATS), median(last, REPEATS),
           median(scatter, REPEATS), export_ms, median(old_page, 3),
           median(filtered, REPEATS));
    fflush(stdout);
    hs_blob_delete(app->blobs, rec.blob_key, NULL);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free((void *)d.proba);
    free((void *)d.labels);
    free((void *)d.xy);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/healer-bench-results-XXXXXX";
    hs_error err = {0};
    hs_datadir *dd = NULL;
    if (!mkdtemp(dir) || hs_datadir_open(dir, &dd, &err) != HS_OK)
        die("data directory", &err);
    hs_app app = {.store = dd->store, .blobs = dd->blobs,
                  .clock = hs_clock_system()};
    static const size_t DEFAULT[] = {10000, 100000, 1000000};
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            bench_size(&app, (size_t)strtoull(argv[i], NULL, 10));
    else
        for (size_t i = 0; i < 3; i++)
            bench_size(&app, DEFAULT[i]);
    hs_datadir_close(dd);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
