/* explain.c - how long per-row contributions take: hl_model_contributions
 * over every row of a CSV, best of N runs, on T threads.
 *
 * Usage: build/bench/explain MODEL CSV THREADS REPEATS [ROWS]
 * Prints {"rows", "kpis", "classes", "trees", "threads", "seconds",
 * "first_seconds", "cpu_seconds"} on stdout: seconds is the best run
 * after the first, first_seconds the first one, which also builds the
 * explainer's tables (once per loaded model), cpu_seconds the processor
 * time of the best run (all threads: on a shared machine, what the work
 * costs whatever else runs). ROWS explains only the CSV's first ROWS
 * rows (for the forests, whose 2,000 rows take minutes).
 * bench/explain.py compares it with XGBoost's pred_contribs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "healer/healer.h"

/* Processor time of the whole process, every thread, user and system. */
static double cpu_seconds(void)
{
    struct rusage u;
    if (getrusage(RUSAGE_SELF, &u) != 0)
        return 0.0;
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec +
           (double)u.ru_stime.tv_sec + 1e-6 * (double)u.ru_stime.tv_usec;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: %s MODEL CSV THREADS REPEATS [ROWS]\n",
                argv[0]);
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
    size_t rows = ds->n_rows;
    if (argc == 6 && (size_t)atol(argv[5]) < rows)
        rows = (size_t)atol(argv[5]);
    double *phi = malloc((rows * K * (nf + 1) + 1) * sizeof *phi);
    const int threads = atoi(argv[3]), repeats = atoi(argv[4]);
    double first = 0.0, best = 1e300, best_cpu = 0.0;
    for (int i = 0; phi && i < repeats + 1; i++) {
        double t0 = hl_clock_monotonic(), c0 = cpu_seconds();
        if (hl_model_contributions(m, ds->x, rows, threads, phi, &err) !=
            HL_OK) {
            fprintf(stderr, "explain: %s\n", err.message);
            return 1;
        }
        double t = hl_clock_monotonic() - t0, c = cpu_seconds() - c0;
        if (i == 0) {
            first = t;
            best_cpu = c;
        } else if (t < best) {
            best = t;
            best_cpu = c;
        }
    }
    if (repeats < 1)
        best = first;
    printf("{\"rows\": %zu, \"kpis\": %zu, \"classes\": %zu, \"trees\": %zu, "
           "\"threads\": %d, \"seconds\": %.6f, \"first_seconds\": %.6f, "
           "\"cpu_seconds\": %.6f}\n",
           rows, nf, K, s->n_trees, threads, best, first, best_cpu);
    free(phi);
    hl_dataset_free(ds);
    hl_model_free(m);
    return 0;
}
