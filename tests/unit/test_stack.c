/* test_stack.c - the stacked ensemble, KPI screening and batch adaptation.
 *
 * Through the public API: a stack learns simulated faults, shows its
 * members and their shares, predicts the same whatever the threads and
 * after a file round trip; progress counts member fits and a cancel
 * stops it; forged files are refused. Screening leaves out the KPIs
 * without class signal, and then nothing those KPIs do changes a
 * prediction. Adaptation re-estimates a skewed batch's class mix, and
 * refuses small batches and uncalibrated models with the reason. Below
 * the interface: the meta-learner fits a separable problem and the
 * signal measure ranks KPIs as it should.
 */
#include <math.h>
#include <stdatomic.h>

#include "engineutil.h"

#include "learners/stack/stack.h"
#include "screen.h"

/* A small, quick stack: few rounds and trees, three folds. */
static void stack_params(hl_train_params *p, const char *combiner)
{
    hl_error err;
    hl_train_params_init(p);
    assert_int_equal(hl_train_params_set_algo(p, "stack", &err), HL_OK);
    tu_set(p, "stack_folds", 3);
    tu_set(p, "combiner",
           strcmp(combiner, "vote") == 0 ? HL__COMBINE_VOTE
                                         : HL__COMBINE_LOGISTIC);
    p->screen_kpis = 0;
}

/* Labels shuffled: nothing to learn. The stack's own estimate must say
 * so: each fold's rows are scored by a meta-learner fitted without them.
 * Scored on the rows it learnt from (as it once was), the meta-learner,
 * free of its pull to the vote, read 0.27-0.32 here against members at
 * 0.15-0.22. */
static void estimate_is_out_of_fold_for_the_meta_learner(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(300, 8, 6, 4);
    uint64_t r = 99;
    for (size_t i = ds->n_rows - 1; i > 0; i--) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (size_t)((r >> 33) % (i + 1));
        int32_t t = ds->y[i];
        ds->y[i] = ds->y[j];
        ds->y[j] = t;
    }
    hl_train_params p;
    stack_params(&p, "logistic");
    tu_set(&p, "meta_l2", 0);
    tu_set(&p, "member_trees", 20);
    tu_set(&p, "stack_folds", 5);
    hl_model *m = tu_train(ds, &p);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_true(s->has_oob);
    double best = 0.0;
    for (size_t i = 0; i < s->n_members; i++)
        best = fmax(best, s->members[i].oof_macro_f1);
    assert_true(s->oob_macro_f1 <= best + 0.03);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* Six classes: chance is about 0.17 macro-F1. */
static void learns_simulated_faults(void **state)
{
    (void)state;
    hl_dataset *all = tu_simulate(2400, 20, 6, 7), *tr, *te;
    tu_split(all, 1600, &tr, &te);
    static const char *const COMBINERS[] = {"logistic", "vote"};
    for (size_t c = 0; c < 2; c++) {
        hl_train_params p;
        stack_params(&p, COMBINERS[c]);
        hl_model *m = tu_train(tr, &p);
        double f1 = tu_macro_f1(m, te);
        print_message("stack (%s): held-out macro-F1 %.4f\n", COMBINERS[c], f1);
        assert_true(f1 > 0.85);
        const hl_model_summary *s = hl_model_summary_get(m);
        assert_string_equal(s->algo, "stack");
        assert_int_equal(s->n_members, 3);
        assert_string_equal(s->members[0].algo, "gbdt");
        assert_string_equal(s->members[1].algo, "forest");
        assert_string_equal(s->members[2].algo, "extratrees");
        double shares = 0;
        for (size_t i = 0; i < 3; i++) {
            shares += s->members[i].weight;
            assert_true(s->members[i].weight > 0);
            assert_true(s->members[i].oof_macro_f1 > 0.7 &&
                        s->members[i].oof_macro_f1 <= 1.0);
        }
        assert_true(fabs(shares - 1.0) < 1e-9);
        if (c == 1) /* a vote weighs its members equally */
            assert_true(fabs(s->members[0].weight - 1.0 / 3) < 1e-9);
        /* The out-of-fold estimate of the whole stack. */
        assert_true(s->has_oob);
        assert_int_equal(s->oob_rows, s->rows_train);
        assert_true(s->oob_macro_f1 > 0.8);
        assert_true(s->n_trees > 0);
        tu_assert_rows_sum_to_one(m, te);
        hl_model_free(m);
    }
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

/* One seed: the same predictions with 1 and 2 threads (its members are
 * deterministic across thread counts), and after a file round trip,
 * whatever the chunking. */
static void deterministic_and_round_trips(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(900, 12, 4, 3);
    hl_train_params p;
    stack_params(&p, "logistic");
    p.threads = 1;
    hl_model *a = tu_train(ds, &p);
    p.threads = 2;
    hl_model *b = tu_train(ds, &p);
    double *pa = tu_predict_all(a, ds, 1), *pb = tu_predict_all(b, ds, 2);
    assert_memory_equal(pa, pb, ds->n_rows * 4 * sizeof *pa);

    char path[] = "/tmp/healer-stack-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    hl_error err;
    assert_int_equal(hl_model_save(a, path, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_load(path, &back, &err), HL_OK);
    unlink(path);
    const hl_model_summary *s = hl_model_summary_get(back);
    assert_string_equal(s->algo, "stack");
    assert_int_equal(s->n_members, 3);
    assert_true(s->has_oob);
    double *pc = tu_predict_all(back, ds, 3);
    assert_memory_equal(pa, pc, ds->n_rows * 4 * sizeof *pa);
    double one[4];
    for (size_t i = 0; i < ds->n_rows; i += 41) {
        assert_int_equal(
            hl_model_predict_matrix(back, ds->x + i * 12, 1, 1, one, &err),
            HL_OK);
        assert_memory_equal(one, pa + i * 4, sizeof one);
    }
    free(pa);
    free(pb);
    free(pc);
    hl_model_free(a);
    hl_model_free(b);
    hl_model_free(back);
    hl_dataset_free(ds);
}

typedef struct progress_log {
    int calls, last, planned, stop_at;
} progress_log;

static int on_progress(const hl_train_progress *pr, void *user)
{
    progress_log *log = user;
    log->calls++;
    log->last = pr->round;
    log->planned = pr->rounds;
    return log->stop_at && pr->round >= log->stop_at;
}

/* One step per member fit: (folds + 1) x members; a cancel stops it. */
static void progress_and_cancel(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(500, 8, 3, 5);
    hl_train_params p;
    stack_params(&p, "logistic");
    hl_error err;
    hl_model *m = NULL;
    progress_log log = {0};
    hl_train_control ctl = {on_progress, &log, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_OK);
    assert_int_equal(log.planned, (3 + 1) * 3);
    assert_int_equal(log.last, log.planned);
    assert_int_equal(log.calls, log.planned);
    hl_model_free(m);
    m = NULL;

    progress_log stop = {.stop_at = 2};
    ctl = (hl_train_control){on_progress, &stop, NULL};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_ERR_CANCELLED);
    assert_null(m);
    assert_int_equal(stop.last, 2);

    atomic_int cancel = 1; /* raised before anything: no member finishes */
    ctl = (hl_train_control){NULL, NULL, &cancel};
    assert_int_equal(hl_train(ds, &p, &ctl, &m, &err), HL_ERR_CANCELLED);
    assert_null(m);
    hl_dataset_free(ds);
}

/* A member naming a learner this healer lacks is refused by name; every
 * byte of the STACK section flipped (checksum fixed) is refused or still
 * predicts probabilities; a truncated member list is refused. */
static void forged_files_are_refused(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(300, 6, 3, 4);
    hl_train_params p;
    stack_params(&p, "logistic");
    tu_set(&p, "members", 4); /* forest+extratrees: small and quick */
    hl_model *m = tu_train(ds, &p);
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    size_t member = tu_find_section(buf, len, 65);
    assert_true(member > 0);
    /* The member's name: "forest" -> "fxrest". */
    uint8_t *forged = malloc(len);
    memcpy(forged, buf, len);
    assert_memory_equal(forged + member + 20, "forest", 6);
    forged[member + 21] = 'x';
    tu_fix_crc(forged, len);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(forged, len, "f.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "fxrest"));
    /* The original loads. */
    assert_int_equal(hl_model_deserialize(buf, len, "ok.model", &back, &err),
                     HL_OK);
    hl_model_free(back);
    back = NULL;
    /* Every byte of the STACK section. */
    size_t stack = tu_find_section(buf, len, 64);
    assert_true(stack > 0 && stack < member);
    for (size_t at = stack; at < member; at++) {
        memcpy(forged, buf, len);
        forged[at] ^= 0x5A;
        tu_fix_crc(forged, len);
        hl_status rc =
            hl_model_deserialize(forged, len, "f.model", &back, &err);
        if (rc == HL_OK) {
            double proba[3];
            assert_int_equal(
                hl_model_predict_matrix(back, ds->x, 1, 1, proba, &err), HL_OK);
            assert_true(fabs(proba[0] + proba[1] + proba[2] - 1.0) < 1e-6);
            hl_model_free(back);
            back = NULL;
        } else {
            assert_int_equal(rc, HL_ERR_FORMAT);
        }
    }
    free(forged);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* A file naming the chooser `auto` as its learner (META forged, checksum
 * fixed) is refused: a chooser holds no model. */
static void a_model_of_auto_is_refused(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(200, 6, 3, 4);
    hl_train_params p;
    hl_error err;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 5);
    hl_model *m = tu_train(ds, &p);
    uint8_t *buf;
    size_t len;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    size_t meta = tu_find_section(buf, len, 1);
    assert_memory_equal(buf + meta + 20, "gbdt", 4);
    memcpy(buf + meta + 20, "auto", 4);
    tu_fix_crc(buf, len);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "f.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_null(back);
    assert_non_null(strstr(err.message, "not a learner a model can hold"));
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void parameters_are_validated(void **state)
{
    (void)state;
    hl_train_params p;
    stack_params(&p, "logistic");
    hl_error err;
    hl_param_value v = {.i = 1};
    assert_int_equal(hl_train_params_set(&p, "stack_folds", v, &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "stack_folds");
    v.d = -1;
    assert_int_equal(hl_train_params_set(&p, "meta_l2", v, &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "meta_l2");
    assert_int_equal(
        hl_train_params_set(&p, "trees", (hl_param_value){.i = 5}, &err),
        HL_ERR_INVALID); /* a member's parameter is not the stack's */
    char names[HL__STACK_MAX_MEMBERS][HL__LEARNER_NAME_CAP];
    assert_int_equal(hl__stack_member_names(1, names), 4);
    assert_string_equal(names[3], "mlp");
}

/* Separable classes: the meta-learner puts them apart; an enormous
 * penalty keeps it where it started (the members' vote). */
static void meta_learner_fits(void **state)
{
    (void)state;
    enum { N = 300, D = 2, K = 3 };
    double z[N * D], w[N], theta[K * (D + 1)];
    int32_t y[N];
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % K);
        z[i * D] = y[i] == 0 ? -1.0 : y[i] == 1 ? 1.0 : 0.0;
        z[i * D + 1] = y[i] == 2 ? 1.0 : -1.0;
        z[i * D] += 0.01 * (double)(i % 7);
        w[i] = 1.0;
    }
    memset(theta, 0, sizeof theta);
    assert_int_equal(hl__stack_meta_fit(z, N, D, y, w, K, 0.01, theta), HL_OK);
    size_t right = 0;
    for (size_t i = 0; i < N; i++) {
        double best = -INFINITY;
        size_t arg = 0;
        for (size_t k = 0; k < K; k++) {
            double s = theta[k * (D + 1) + D] + theta[k * (D + 1)] * z[i * D] +
                       theta[k * (D + 1) + 1] * z[i * D + 1];
            if (s > best) {
                best = s;
                arg = k;
            }
        }
        right += arg == (size_t)y[i];
    }
    assert_int_equal(right, N);
    for (size_t j = 0; j < K * (D + 1); j++)
        theta[j] = j == 0 ? 0.5 : 0.0;
    assert_int_equal(hl__stack_meta_fit(z, N, D, y, w, K, 1e9, theta), HL_OK);
    assert_true(fabs(theta[0] - 0.5) < 1e-3);
}

/* A KPI that decides the class has epsilon-squared near 1, a constant
 * one 0, a shuffled one near 0; selection keeps the strongest few even
 * when none passes. */
static void kpi_signal_ranks_kpis(void **state)
{
    (void)state;
    enum { N = 600, F = 3 };
    float x[N * F];
    int32_t y[N];
    size_t rows[N];
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % 3);
        rows[i] = i;
        x[i * F] = (float)y[i] * 10.0f + (float)(i % 5);
        x[i * F + 1] = 7.0f;
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        x[i * F + 2] = i % 11 == 0 ? NAN : (float)(r % 1000);
    }
    double s[F];
    assert_int_equal(hl__kpi_signal(x, F, y, 3, rows, N, s), HL_OK);
    assert_true(s[0] > 0.8); /* three equal classes: at most 8/9 */
    assert_true(s[1] == 0.0);
    assert_true(s[2] < 0.02);
    uint32_t kept[F];
    assert_int_equal(hl__screen_select(s, F, 0.5, kept), F); /* floor: all 3 */
    double many[6] = {0.001, 0.2, 0.0, 0.05, 0.002, 0.3};
    uint32_t k6[6];
    assert_int_equal(hl__screen_select(many, 6, 0.01, k6), 4);
    assert_int_equal(k6[0], 1);
    assert_int_equal(k6[1], 3);
    assert_int_equal(k6[2], 4); /* topped up to four: the fourth strongest */
    assert_int_equal(k6[3], 5);
}

/* Screening leaves out the simulated KPIs that no fault touches; the
 * model then ignores them completely (rescaled by 1e6, the predictions
 * keep every bit), keeps working on held-out rows, survives a round trip
 * as format version 3, and a forged kept index is refused. */
static void screening_leaves_out_noise_kpis(void **state)
{
    (void)state;
    hl_dataset *all = tu_simulate(2400, 24, 6, 11), *tr, *te;
    tu_split(all, 1600, &tr, &te);
    hl_train_params p;
    hl_train_params_init(&p);
    p.screen_kpis = 0.007;
    p.cv_folds = 3;
    hl_model *m = tu_train(tr, &p);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_non_null(s->kpi_signal);
    assert_true(s->n_kept >= HL__SCREEN_MIN_KEPT && s->n_kept < 24);
    size_t kept = 0;
    for (size_t j = 0; j < 24; j++) {
        kept += s->kpi_kept[j];
        assert_true(s->kpi_kept[j] == (s->kpi_signal[j] >= 0.007));
        if (!s->kpi_kept[j]) /* nothing to learn from: no gain */
            assert_true(s->importance_gain[j] == 0.0);
    }
    assert_int_equal(kept, s->n_kept);
    assert_true(s->cv.macro_f1 > 0.85);
    double *before = tu_predict_all(m, te, 2);
    assert_true(tu_macro_f1_of(m, te, before) > 0.85);
    for (size_t i = 0; i < te->n_rows; i++)
        for (size_t j = 0; j < 24; j++)
            if (!s->kpi_kept[j])
                te->x[i * 24 + j] *= 1e6f;
    double *after = tu_predict_all(m, te, 1);
    assert_memory_equal(before, after, te->n_rows * 6 * sizeof *after);
    /* Their drift is reported, and does not count for the KPIs read. */
    hl_drift_report d;
    hl_error derr;
    assert_int_equal(hl_drift_check_dataset(m, te, 1, &d, NULL, &derr), HL_OK);
    assert_int_equal(d.verdict, HL_DRIFT_SEVERE);
    assert_int_equal(d.n_read, s->n_kept);
    assert_true(d.verdict_read != HL_DRIFT_SEVERE);
    for (size_t j = 0; j < 24; j++)
        assert_int_equal(d.kpis[j].read, s->kpi_kept[j]);
    hl_drift_report_free(&d);

    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    assert_int_equal(buf[8], 3); /* format version 3 */
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "s.model", &back, &err),
                     HL_OK);
    assert_int_equal(hl_model_summary_get(back)->n_kept, s->n_kept);
    double *again = tu_predict_all(back, te, 2);
    assert_memory_equal(before, again, te->n_rows * 6 * sizeof *again);
    hl_model_free(back);
    back = NULL;
    /* The first kept index made 24 (out of range). */
    size_t at = tu_find_section(buf, len, 11);
    assert_true(at > 0);
    size_t first_kept = at + 16 + 4 + 24 * 8 + 4;
    buf[first_kept] = 24;
    buf[first_kept + 1] = buf[first_kept + 2] = buf[first_kept + 3] = 0;
    tu_fix_crc(buf, len);
    assert_int_equal(hl_model_deserialize(buf, len, "f.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "KPI screening"));
    free(buf);
    /* When what it reads drifts, the read verdict says so. */
    for (size_t i = 0; i < te->n_rows; i++)
        for (size_t j = 0; j < 24; j++)
            if (s->kpi_kept[j])
                te->x[i * 24 + j] = te->x[i * 24 + j] * 1e3f + 1e6f;
    assert_int_equal(hl_drift_check_dataset(m, te, 1, &d, NULL, &derr), HL_OK);
    assert_int_equal(d.verdict_read, HL_DRIFT_SEVERE);
    assert_int_equal(d.n_significant_read, s->n_kept);
    hl_drift_report_free(&d);
    free(before);
    free(after);
    free(again);
    hl_model_free(m);
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

/* Rows of classes 0..2 chosen so that class 1 is most of the batch. */
static hl_dataset *skewed(const hl_dataset *ds, size_t want)
{
    size_t *rows = malloc(ds->n_rows * sizeof *rows), n = 0, others = 0;
    for (size_t i = 0; i < ds->n_rows && n < want; i++) {
        if (ds->y[i] == 1)
            rows[n++] = i;
        else if (others * 5 < n)
            rows[n++] = i, others++;
    }
    hl_dataset *out = NULL;
    hl_error err;
    assert_int_equal(hl_dataset_subset(ds, rows, n, &out, &err), HL_OK);
    free(rows);
    return out;
}

static void adapt_reestimates_the_class_mix(void **state)
{
    (void)state;
    hl_dataset *all = tu_simulate(3000, 16, 3, 21), *tr, *te;
    tu_split(all, 1500, &tr, &te);
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 60);
    hl_model *m = tu_train(tr, &p);
    hl_dataset *batch = skewed(te, 300);
    double *proba = tu_predict_all(m, batch, 1);
    hl_adapt_report r;
    hl_error err;
    assert_int_equal(hl_adapt_batch(m, proba, batch->n_rows, &r, &err), HL_OK);
    assert_true(r.applied);
    assert_true(r.converged);
    assert_true(fabs(r.train_mix[1] - 1.0 / 3) < 1e-12); /* balanced */
    double truth = 0;
    for (size_t i = 0; i < batch->n_rows; i++)
        truth += batch->y[i] == 1;
    truth /= (double)batch->n_rows;
    print_message("class 1: %.3f of the batch, estimated %.3f\n", truth,
                  r.batch_mix[1]);
    assert_true(fabs(r.batch_mix[1] - truth) < 0.06);
    for (size_t i = 0; i < batch->n_rows; i++) {
        double sum = proba[i * 3] + proba[i * 3 + 1] + proba[i * 3 + 2];
        assert_true(fabs(sum - 1.0) < 1e-9);
    }
    /* Too few rows: unchanged, with the reason. */
    double small[49 * 3], copy[49 * 3];
    memcpy(small, proba, sizeof small);
    memcpy(copy, proba, sizeof copy);
    assert_int_equal(hl_adapt_batch(m, small, 49, &r, &err), HL_OK);
    assert_false(r.applied);
    assert_non_null(strstr(r.reason, "too few"));
    assert_memory_equal(small, copy, sizeof small);
    free(proba);
    hl_model_free(m);

    /* A forest's votes are not calibrated: refused, unchanged. */
    assert_int_equal(hl_train_params_set_algo(&p, "forest", &err), HL_OK);
    tu_set(&p, "trees", 20);
    m = tu_train(tr, &p);
    proba = tu_predict_all(m, batch, 1);
    double *orig = malloc(batch->n_rows * 3 * sizeof *orig);
    memcpy(orig, proba, batch->n_rows * 3 * sizeof *orig);
    assert_int_equal(hl_adapt_batch(m, proba, batch->n_rows, &r, &err), HL_OK);
    assert_false(r.applied);
    assert_non_null(strstr(r.reason, "not calibrated"));
    assert_memory_equal(proba, orig, batch->n_rows * 3 * sizeof *orig);
    free(orig);
    free(proba);
    hl_model_free(m);
    hl_dataset_free(batch);
    hl_dataset_free(all);
    hl_dataset_free(tr);
    hl_dataset_free(te);
}

/* --algo auto: every candidate cross-validated, the best macro-F1 is the
 * model, the leaderboard survives a round trip; a budget of one second
 * still trains the first candidate and leaves out what does not fit. */
static void auto_chooses_the_best_candidate(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(700, 10, 4, 13);
    hl_train_params p;
    hl_error err;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, "auto", &err), HL_OK);
    tu_set(&p, "candidates", 2); /* gbdt+extratrees+forest */
    tu_set(&p, "auto_folds", 3);
    tu_set(&p, "time_budget", 3600);
    hl_model *m = tu_train(ds, &p);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_int_equal(s->n_candidates, 3);
    assert_string_equal(s->candidates[0].algo, "gbdt");
    assert_int_equal(s->cv_folds, 3);
    size_t chosen = 3;
    for (size_t i = 0; i < 3; i++) {
        const hl_model_candidate *c = &s->candidates[i];
        assert_true(c->status == HL_CANDIDATE_CHOSEN ||
                    c->status == HL_CANDIDATE_TRIED);
        assert_true(c->macro_f1 > 0.5 && c->macro_f1 <= 1.0);
        if (c->status == HL_CANDIDATE_CHOSEN)
            chosen = i;
    }
    assert_true(chosen < 3);
    for (size_t i = 0; i < 3; i++)
        assert_true(s->candidates[i].macro_f1 <=
                    s->candidates[chosen].macro_f1);
    assert_string_equal(s->algo, s->candidates[chosen].algo);
    assert_true(s->cv.macro_f1 == s->candidates[chosen].macro_f1);
    uint8_t *buf;
    size_t len;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "a.model", &back, &err),
                     HL_OK);
    const hl_model_summary *b = hl_model_summary_get(back);
    assert_int_equal(b->n_candidates, 3);
    assert_int_equal(b->candidates[chosen].status, HL_CANDIDATE_CHOSEN);
    assert_true(b->candidates[1].macro_f1 == s->candidates[1].macro_f1);
    hl_model_free(back);
    back = NULL;
    /* A forged leaderboard: the first candidate "skipped" with a score. */
    size_t at = tu_find_section(buf, len, 13);
    assert_true(at > 0);
    size_t status = at + 16 + 4 + 4 + strlen("gbdt");
    assert_true(buf[status] == HL_CANDIDATE_TRIED ||
                buf[status] == HL_CANDIDATE_CHOSEN);
    buf[status] = HL_CANDIDATE_SKIPPED;
    tu_fix_crc(buf, len);
    assert_int_equal(hl_model_deserialize(buf, len, "f.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "leaderboard"));
    free(buf);
    hl_model_free(back);
    hl_model_free(m);
    hl_dataset_free(ds);

    /* A retry of a failed search: the cheapest candidates, half the time. */
    hl_train_params safer = p;
    tu_set(&safer, "time_budget", 30);
    hl_train_params_safer(&safer);
    hl_param_value v;
    assert_int_equal(hl_train_params_get(&safer, "candidates", &v, &err), HL_OK);
    assert_int_equal(v.i, 2);
    assert_int_equal(hl_train_params_get(&safer, "time_budget", &v, &err),
                     HL_OK);
    assert_true(v.d == 15.0);

    ds = tu_simulate(3000, 24, 6, 14);
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, "auto", &err), HL_OK);
    tu_set(&p, "time_budget", 1);
    m = tu_train(ds, &p);
    s = hl_model_summary_get(m);
    assert_int_equal(s->n_candidates, 5);
    assert_true(s->candidates[0].status == HL_CANDIDATE_CHOSEN ||
                s->candidates[0].status == HL_CANDIDATE_TRIED);
    size_t left_out = 0;
    for (size_t i = 1; i < 5; i++)
        left_out += s->candidates[i].status == HL_CANDIDATE_SKIPPED ||
                    s->candidates[i].status == HL_CANDIDATE_OVER_BUDGET;
    assert_true(left_out >= 1);
    hl_model_free(m);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(learns_simulated_faults),
        cmocka_unit_test(deterministic_and_round_trips),
        cmocka_unit_test(progress_and_cancel),
        cmocka_unit_test(forged_files_are_refused),
        cmocka_unit_test(a_model_of_auto_is_refused),
        cmocka_unit_test(parameters_are_validated),
        cmocka_unit_test(meta_learner_fits),
        cmocka_unit_test(estimate_is_out_of_fold_for_the_meta_learner),
        cmocka_unit_test(kpi_signal_ranks_kpis),
        cmocka_unit_test(screening_leaves_out_noise_kpis),
        cmocka_unit_test(adapt_reestimates_the_class_mix),
        cmocka_unit_test(auto_chooses_the_best_candidate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
