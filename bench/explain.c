/* explain.c - how long per-row contributions take: hl_model_contributions
 * over every row of a CSV, best of N runs, on T threads.
 *
 * Usage: build/bench/explain MODEL CSV THREADS REPEATS
 * Prints {"rows", "kpis", "classes", "trees", "threads", "seconds",
 * "first_seconds"} on stdout: seconds is the best run after the first,
 * first_seconds the first one, which also builds the explainer's tables
 * (once per loaded model). bench/explain.py compares it with XGBoost's
 * pred_contribs.
 */
#include <stdio.h>
#include <stdlib.h>

#include "healer/healer.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s MODEL CSV THREADS REPEATS\n", argv[0]);
        return 2;
    }
    hl_error err;
    hl_model *m = NULL;
    hl_dataset *ds = NULL;
    hl_csv_options opt;
    hl_csv_options_init(&opt);
    opt.keep_unlabelled = 1;
    if (hl_model_load(argv[1], &m, &err) != HL_OK ||
        hl_dataset_read_csv(argv[2], &opt, &ds, &err) != HL_OK) {
        fprintf(stderr, "explain: %s\n", err.message);
        return 1;
    }
    const hl_model_summary *s = hl_model_summary_get(m);
    const size_t nf = s->n_features, K = s->n_classes;
    if (ds->n_features != nf) {
        fprintf(stderr, "explain: the CSV must have the model's KPIs in order\n");
        return 1;
    }
    double *phi = malloc(ds->n_rows * K * (nf + 1) * sizeof *phi);
    const int threads = atoi(argv[3]), repeats = atoi(argv[4]);
    double first = 0.0, best = 1e300;
    for (int i = 0; phi && i < repeats + 1; i++) {
        double t0 = hl_clock_monotonic();
        if (hl_model_contributions(m, ds->x, ds->n_rows, threads, phi, &err) !=
            HL_OK) {
            fprintf(stderr, "explain: %s\n", err.message);
            return 1;
        }
        double t = hl_clock_monotonic() - t0;
        if (i == 0)
            first = t;
        else if (t < best)
            best = t;
    }
    printf("{\"rows\": %zu, \"kpis\": %zu, \"classes\": %zu, \"trees\": %zu, "
           "\"threads\": %d, \"seconds\": %.6f, \"first_seconds\": %.6f}\n",
           ds->n_rows, nf, K, s->n_trees, threads, best, first);
    free(phi);
    hl_dataset_free(ds);
    hl_model_free(m);
    return 0;
}
