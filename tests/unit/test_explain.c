/* test_explain.c - per-row contributions (healer/explain.h, trees/shap.h).
 *
 * TreeSHAP against its definition: on small trees, the Shapley values of
 * the game whose value for a set S of known features is the tree's
 * output with the others integrated out along the cover, computed by
 * brute force over every S - through the leaf tables, and through the
 * recursion a path testing more distinct features than a table allows
 * takes. Through the public API: for every row of a real-sized GBDT the
 * contributions and the expected value of each class add up to its raw
 * score (1e-6), the probabilities follow from them (two classes too), the
 * result does not depend on threads, and a KPI the model does not read
 * contributes nothing. One class per row (hl_model_contributions_class,
 * what diagnoses store) gives that class's block bit for bit, and the top
 * KPIs (hl_explain_top) are the largest, in order, among the KPIs read.
 * The forests: brute-force Shapley values of their
 * averaged probabilities on small trees, additivity to the probabilities
 * on every row, covers kept in the file, a file without them predicting
 * but refusing to explain, forged covers refused (GBDT too). The stack:
 * additive in its score for both combiners, a vote of forests exactly
 * the mean of its members' values, a member that cannot explain named.
 */
#include <math.h>

#include "engineutil.h"

#include "container.h"
#include "healer/explain.h"
#include "learners/forest/forest.h"
#include "learners/stack/stack.h"
#include "trees/shap.h"

/* ---- TreeSHAP against brute force, on hand-made trees ---- */

typedef struct toy {
    const hl__node *nodes;
    const float *cover;
    uint32_t n;
    size_t nf;
} toy;

static const hl__node *toy_nodes(const void *ctx, size_t t, uint32_t *n,
                                 const float **cover)
{
    (void)t;
    const toy *y = ctx;
    *n = y->n;
    *cover = y->cover;
    return y->nodes;
}

static const float *toy_leaf(const void *ctx, size_t t, uint32_t node)
{
    (void)t;
    return &((const toy *)ctx)->nodes[node].value;
}

static size_t toy_output(const void *ctx, size_t t)
{
    (void)ctx;
    (void)t;
    return 0;
}

/* The tree's expected output knowing the features in mask `known`. */
static double expect(const toy *y, uint32_t node, const float *row,
                     uint32_t known)
{
    const hl__node *n = &y->nodes[node];
    if (n->feature == HL__LEAF)
        return n->value;
    uint32_t f = n->feature & HL__FEATURE_MASK;
    if ((known >> f) & 1) {
        int left = isnan(row[f]) ? (n->feature & HL__DEFAULT_LEFT) != 0
                                 : row[f] <= n->value;
        return expect(y, n->left + (left ? 0 : 1), row, known);
    }
    double c = y->cover[node];
    return y->cover[n->left] / c * expect(y, n->left, row, known) +
           y->cover[n->left + 1] / c * expect(y, n->left + 1, row, known);
}

static double factorial(size_t k)
{
    double f = 1.0;
    for (size_t i = 2; i <= k; i++)
        f *= (double)i;
    return f;
}

/* The value of the game for the features in mask `known`. */
typedef double (*game_fn)(const void *ctx, const float *row, uint32_t known);

/* Shapley values by definition of the game v over M features into
 * phi[M + 1] (v(empty set) last). */
static void shapley_by_definition(size_t M, game_fn v, const void *ctx,
                                  const float *row, double *phi)
{
    for (size_t i = 0; i < M; i++) {
        phi[i] = 0.0;
        for (uint32_t S = 0; S < (1u << M); S++) {
            if ((S >> i) & 1)
                continue;
            size_t k = (size_t)__builtin_popcount(S);
            double w = factorial(k) * factorial(M - k - 1) / factorial(M);
            phi[i] += w * (v(ctx, row, S | 1u << i) - v(ctx, row, S));
        }
    }
    phi[M] = v(ctx, row, 0);
}

static double toy_game(const void *ctx, const float *row, uint32_t known)
{
    return expect(ctx, 0, row, known);
}

/* Shapley values by definition into phi[nf + 1] (expected value last). */
static void brute_force(const toy *y, const float *row, double *phi)
{
    shapley_by_definition(y->nf, toy_game, y, row, phi);
}

/* Through tables or the quadrature (cap 0: the default paths), or the
 * recursion (a cap below the tree's distinct features on a path). */
static void check_with_cap(const toy *y, const float *rows, size_t n_rows,
                           unsigned cap)
{
    hl__shap_source src = {1,         y->nf,    1,          1,  1.0, y,
                           toy_nodes, toy_leaf, toy_output, cap};
    hl__shap *s = NULL;
    hl_error err;
    assert_int_equal(hl__shap_build(&src, &s, &err), HL_OK);
    void *scratch = malloc(hl__shap_scratch_bytes(s));
    for (size_t r = 0; r < n_rows; r++) {
        double phi[32] = {0}, want[32];
        hl__shap_rows(s, rows + r * y->nf, 1, phi, scratch);
        brute_force(y, rows + r * y->nf, want);
        double sum = 0.0;
        for (size_t j = 0; j <= y->nf; j++) {
            assert_float_equal(phi[j], want[j], 1e-9);
            sum += phi[j];
        }
        assert_float_equal(sum, expect(y, 0, rows + r * y->nf, ~0u), 1e-9);
    }
    free(scratch);
    hl__shap_free(s);
}

static void check_against_brute_force(const toy *y, const float *rows,
                                      size_t n_rows)
{
    check_with_cap(y, rows, n_rows, 0);
    check_with_cap(y, rows, n_rows, 2);
}

/* A tree that tests feature 0 twice, feature 3 on one side only, and
 * sends missing values right at the root: merged tests, dummies, NaN. */
static void tables_match_brute_force(void **state)
{
    (void)state;
    static const hl__node nodes[] = {
        {0, 0.5f, 1},                    /* 0: x0 <= .5, NaN right */
        {1 | HL__DEFAULT_LEFT, 2.0f, 3}, /* 1: x1 <= 2 */
        {0, 0.9f, 5},                    /* 2: x0 <= .9 again */
        {HL__LEAF, 1.0f, 0},             /* 3 */
        {3, -1.0f, 7},                   /* 4: x3 <= -1 */
        {HL__LEAF, -2.0f, 0},            /* 5 */
        {2, 0.0f, 9},                    /* 6: x2 <= 0 */
        {HL__LEAF, 4.0f, 0},             /* 7 */
        {HL__LEAF, 0.5f, 0},             /* 8 */
        {HL__LEAF, 3.0f, 0},             /* 9 */
        {HL__LEAF, -1.5f, 0},            /* 10 */
    };
    static const float cover[] = {100, 60, 40, 25, 35, 10, 30, 20, 15, 12, 18};
    /* a leaf no training weight reached (a boosted tree's hessian sum is
     * 0 where every row was already certain) */
    static const float cover0[] = {90, 60, 30, 25, 35, 0, 30, 20, 15, 12, 18};
    toy y = {nodes, cover, 11, 5}, y0 = {nodes, cover0, 11, 5};
    const float rows[] = {
        0.2f, 1.0f, 5.0f, -3.0f, 9.0f, 0.7f, NAN,  -1.0f, 0.0f, 0.0f,
        2.0f, 3.0f, 1.0f, NAN,   0.0f, NAN,  2.5f, -2.0f, 5.0f, 1.0f,
    };
    check_against_brute_force(&y, rows, 4);
    check_against_brute_force(&y0, rows, 4);
}

/* A chain testing 13 distinct features: longer than a table allows, so
 * the quadrature explains it (and the recursion, capped). */
static void recursion_matches_brute_force(void **state)
{
    (void)state;
    enum { F = 13 };
    hl__node nodes[2 * F + 1];
    float cover[2 * F + 1];
    float c = 1000.0f;
    for (uint32_t k = 0; k < F; k++) {
        nodes[2 * k] = (hl__node){k, (float)k * 0.1f, 2 * k + 1};
        nodes[2 * k + 1] = (hl__node){HL__LEAF, (float)k - 3.0f, 0};
        cover[2 * k] = c;
        cover[2 * k + 1] = c * 0.3f;
        c *= 0.7f;
    }
    nodes[2 * F] = (hl__node){HL__LEAF, 10.0f, 0};
    cover[2 * F] = c;
    toy y = {nodes, cover, 2 * F + 1, F};
    float rows[3 * F];
    for (size_t k = 0; k < F; k++) {
        rows[k] = 1.0f;                       /* right everywhere */
        rows[F + k] = k == 9 ? 0.0f : 1.0f;   /* left at level 9 */
        rows[2 * F + k] = k % 2 ? NAN : 2.0f; /* NaN: right (no flag) */
    }
    check_against_brute_force(&y, rows, 3);
    cover[2 * F] = 0.0f; /* the last leaf: no training weight */
    cover[2 * F - 1] = cover[2 * F - 2];
    check_against_brute_force(&y, rows, 3);
}

/* ---- through the public API ---- */

/* Raw scores of m for rows x through its learner (no screening). */
static double *raw_scores(const hl_model *m, const hl_dataset *ds)
{
    hl__model_shape shape = hl__model_shape_of(m);
    double *raw = malloc(ds->n_rows * m->fitted.n_outputs * sizeof *raw);
    assert_int_equal(m->learner->predict_raw(m->fitted.state, &shape, ds->x,
                                             ds->n_rows, raw),
                     HL_OK);
    return raw;
}

/* Each row's summed contributions are the model's raw scores (logits),
 * whose softmax are its probabilities, whatever the threads. */
static void check_adds_up_to_logits(const hl_model *m, const hl_dataset *ds)
{
    const size_t K = hl_model_n_classes(m), nf = ds->n_features;
    const size_t B = K * (nf + 1);
    assert_int_equal(hl_model_score_scale(m), HL_SCORE_LOGIT);
    double *phi = malloc(ds->n_rows * B * sizeof *phi);
    double *phi1 = malloc(ds->n_rows * B * sizeof *phi1);
    hl_error err;
    assert_int_equal(hl_model_contributions(m, ds->x, ds->n_rows, 2, phi, &err),
                     HL_OK);
    assert_int_equal(
        hl_model_contributions(m, ds->x, ds->n_rows, 1, phi1, &err), HL_OK);
    assert_memory_equal(phi, phi1, ds->n_rows * B * sizeof *phi);
    double *raw = raw_scores(m, ds);
    double *proba = tu_predict_all(m, ds, 2);
    for (size_t r = 0; r < ds->n_rows; r++) {
        double z[8], mx = -INFINITY, sum = 0.0;
        for (size_t k = 0; k < K; k++) {
            z[k] = 0.0;
            for (size_t j = 0; j <= nf; j++)
                z[k] += phi[r * B + k * (nf + 1) + j];
            assert_float_equal(z[k], raw[r * K + k], 1e-6);
            mx = fmax(mx, z[k]);
        }
        for (size_t k = 0; k < K; k++)
            sum += exp(z[k] - mx);
        for (size_t k = 0; k < K; k++)
            assert_float_equal(exp(z[k] - mx) / sum, proba[r * K + k], 1e-6);
    }
    free(raw);
    free(proba);
    free(phi);
    free(phi1);
}

static void gbdt_contributions_add_up(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(3000, 40, 6, 21);
    hl_train_params p;
    hl_train_params_init(&p);
    p.screen_kpis = 0; /* the learner reads the KPIs as they are */
    hl_model *m = tu_train(ds, &p);
    check_adds_up_to_logits(m, ds);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* The predicted class's contributions alone equal its block of every
 * class's, exactly (the same trees added in the same order), for six
 * classes and for two (one output: every tree); a class out of range is
 * refused. */
static void one_class_per_row(void **state)
{
    (void)state;
    for (size_t K = 2; K <= 6; K += 4) {
        hl_dataset *ds = tu_simulate(800, 16, K, 31);
        hl_train_params p;
        hl_train_params_init(&p);
        tu_set(&p, "rounds", 30);
        hl_model *m = tu_train(ds, &p);
        const size_t nf = 16, B = K * (nf + 1), n = ds->n_rows;
        double *all = malloc(n * B * sizeof *all);
        double *one = malloc(n * B * sizeof *one);
        double *proba = tu_predict_all(m, ds, 2);
        int32_t *cls = malloc(n * sizeof *cls);
        size_t *order = malloc(nf * sizeof *order);
        hl_error err;
        for (size_t r = 0; r < n; r++)
            cls[r] = r % 3 ? hl_predict_argmax(proba + r * K, K)
                           : (int32_t)(r % K);
        assert_int_equal(hl_model_contributions(m, ds->x, n, 2, all, &err), HL_OK);
        assert_int_equal(
            hl_model_contributions_class(m, ds->x, n, cls, 2, one, &err), HL_OK);
        for (size_t r = 0; r < n; r++) {
            const double *a = all + r * B + (size_t)cls[r] * (nf + 1);
            const double *o = one + r * B + (size_t)cls[r] * (nf + 1);
            assert_memory_equal(a, o, (nf + 1) * sizeof *a);
            const hl_model_summary *s = hl_model_summary_get(m);
            size_t n_read = 0;
            for (size_t j = 0; j < nf; j++)
                n_read += !s->kpi_kept || s->kpi_kept[j];
            size_t top = hl_explain_top(m, a, 5, order);
            assert_int_equal(top, n_read < 5 ? n_read : 5);
            for (size_t t = 0; t < top; t++) {
                assert_true(!s->kpi_kept || s->kpi_kept[order[t]]);
                if (t)
                    assert_true(a[order[t]] <= a[order[t - 1]]);
                for (size_t j = 0; j < nf; j++) /* nothing larger left out */
                    if ((!s->kpi_kept || s->kpi_kept[j]) && a[j] > a[order[t]]) {
                        size_t u = 0;
                        while (u < t && order[u] != j)
                            u++;
                        assert_true(u < t);
                    }
            }
        }
        cls[7] = (int32_t)K;
        assert_int_equal(hl_model_contributions_class(m, ds->x, n, cls, 1, one, &err),
                         HL_ERR_INVALID);
        free(order);
        free(cls);
        free(proba);
        free(one);
        free(all);
        hl_model_free(m);
        hl_dataset_free(ds);
    }
}

/* Two classes (one log-odds split evenly), screening on (families are
 * not found with two classes; test_families.c explains a model with
 * them): the probabilities still follow, the KPIs left out get nothing. */
static void screened_binary_model(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(1500, 24, 2, 8);
    hl_train_params p;
    hl_train_params_init(&p);
    p.screen_kpis = 0.007;
    tu_set(&p, "families", 0.8);
    tu_set(&p, "rounds", 60);
    hl_model *m = tu_train(ds, &p);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_true(s->n_kept < 24);
    const size_t nf = 24, B = 2 * (nf + 1);
    double *phi = malloc(ds->n_rows * B * sizeof *phi);
    hl_error err;
    assert_int_equal(hl_model_contributions(m, ds->x, ds->n_rows, 2, phi, &err),
                     HL_OK);
    double *proba = tu_predict_all(m, ds, 2);
    for (size_t r = 0; r < ds->n_rows; r++) {
        double z[2] = {0, 0};
        for (size_t k = 0; k < 2; k++)
            for (size_t j = 0; j <= nf; j++) {
                double v = phi[r * B + k * (nf + 1) + j];
                z[k] += v;
                if (j < nf && !s->kpi_kept[j])
                    assert_true(v == 0.0);
                if (j < nf) /* softmax-equivalent halves */
                    assert_float_equal(v, -phi[r * B + (1 - k) * (nf + 1) + j],
                                       1e-12);
            }
        assert_float_equal(1.0 / (1.0 + exp(z[0] - z[1])), proba[r * 2 + 1],
                           1e-6);
    }
    free(proba);
    free(phi);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* Normal ranges from the normal class's rows: few of its own values fall
 * outside; the faults' signature KPIs do; the ranges survive a file round
 * trip; a forged unit is refused; --normal naming no class takes every
 * row. */
static void normal_ranges(void **state)
{
    (void)state;
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = 2000;
    o.string_labels = 1;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, 0, &ds, &err), HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 10);
    hl_model *m = tu_train(ds, &p);
    assert_string_equal(hl_model_normal_class(m), "normal");
    const size_t nf = ds->n_features;
    size_t outside_normal = 0, cells_normal = 0, abnormal_rows = 0, faulty = 0;
    hl_abnormal_kpi ab[4];
    for (size_t i = 0; i < ds->n_rows; i++) {
        const float *row = ds->x + i * nf;
        size_t n = hl_model_abnormal_kpis(m, row, ab, 4);
        for (size_t k = 1; k < (n < 4 ? n : 4); k++)
            assert_true(fabs(ab[k - 1].z) >= fabs(ab[k].z));
        if (strcmp(ds->class_names[ds->y[i]], "normal") == 0) {
            outside_normal += n;
            cells_normal += nf;
        } else {
            faulty++;
            abnormal_rows += n > 0;
        }
    }
    assert_true(outside_normal < cells_normal / 50); /* under 2 % */
    assert_true(abnormal_rows > faulty * 8 / 10);
    hl_normal_range r;
    assert_int_equal(hl_model_normal_range(m, 0, &r, &err), HL_OK);
    assert_true(r.low <= r.median && r.median <= r.high && r.rows > 0);
    assert_int_equal(hl_model_normal_range(m, nf, &r, &err), HL_ERR_INVALID);

    uint8_t *buf;
    size_t len;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "n.model", &back, &err),
                     HL_OK);
    for (size_t j = 0; j < nf; j++)
        assert_true(hl_model_normal_z(back, j, ds->x[j]) ==
                        hl_model_normal_z(m, j, ds->x[j]) ||
                    isnan(ds->x[j]));
    hl_model_free(back);
    back = NULL;
    /* the first KPI's unit (after str label, str asked, u64 rows, u32 n,
     * f32 center) */
    size_t at = tu_find_section(buf, len, 15);
    assert_true(at > 0);
    size_t unit = at + 16 + 2 * (4 + strlen("normal")) + 8 + 4 + 4;
    const float tiny = 0.01f;
    memcpy(buf + unit, &tiny, 4);
    tu_fix_crc(buf, len);
    assert_int_equal(hl_model_deserialize(buf, len, "n.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "normal ranges"));
    free(buf);
    hl_model_free(m);

    assert_int_equal(hl_train_params_set_normal_class(&p, "calm", &err), HL_OK);
    m = tu_train(ds, &p);
    assert_null(hl_model_normal_class(m));
    assert_true(hl_model_has_normal_ranges(m));
    assert_int_equal(hl_model_summary_get(m)->normal_rows, ds->n_rows);
    /* the label asked for survives a file (a retraining reuses it) */
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    assert_int_equal(hl_model_deserialize(buf, len, "c.model", &back, &err),
                     HL_OK);
    assert_string_equal(hl_model_summary_get(back)->params.normal_class, "calm");
    hl_model_free(back);
    free(buf);
    assert_int_equal(hl_train_params_set_normal_class(&p, "", &err),
                     HL_ERR_INVALID);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* Forged trees: shared children or an orphan are not trees; a chain
 * deeper than the explainer goes is refused with the reason. */
static void unsound_and_deep_trees(void **state)
{
    (void)state;
    static const hl__node dag[] = {
        {0, 0.5f, 1}, {0, 0.2f, 3}, {0, 0.7f, 3}, {HL__LEAF, 1, 0},
        {HL__LEAF, 2, 0}};
    assert_false(hl__nodes_are_sound(dag, 5, 1));
    static const hl__node orphan[] = {
        {0, 0.5f, 1}, {HL__LEAF, 1, 0}, {HL__LEAF, 2, 0}, {HL__LEAF, 3, 0}};
    assert_false(hl__nodes_are_sound(orphan, 4, 1));
    assert_true(hl__nodes_are_sound(orphan, 3, 1));
    enum { DEPTH = HL__SHAP_MAX_DEPTH + 1 };
    hl__node *chain = malloc((2 * DEPTH + 1) * sizeof *chain);
    float *cover = malloc((2 * DEPTH + 1) * sizeof *cover);
    for (uint32_t k = 0; k < DEPTH; k++) {
        chain[2 * k] = (hl__node){0, 0.5f, 2 * k + 1};
        chain[2 * k + 1] = (hl__node){HL__LEAF, 1.0f, 0};
        cover[2 * k] = cover[2 * k + 1] = 1.0f;
    }
    chain[2 * DEPTH] = (hl__node){HL__LEAF, 2.0f, 0};
    cover[2 * DEPTH] = 1.0f;
    assert_true(hl__nodes_are_sound(chain, 2 * DEPTH + 1, 1));
    toy y = {chain, cover, 2 * DEPTH + 1, 1};
    hl__shap_source src = {1, 1, 1, 1, 1.0, &y, toy_nodes, toy_leaf,
                           toy_output, 0};
    hl__shap *s = NULL;
    hl_error err;
    assert_int_equal(hl__shap_build(&src, &s, &err), HL_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(err.message, "deeper than"));
    free(chain);
    free(cover);
}

/* ---- the forests ---- */

/* A forest's probability of one class as a game (its trees averaged,
 * each integrated along its covers). */
typedef struct forest_game {
    const hl__forest_model *fm;
    size_t k;
} forest_game;

static double ftree_expect(const hl__ftree *t, size_t K, size_t k,
                           uint32_t node, const float *row, uint32_t known)
{
    const hl__node *n = &t->nodes[node];
    if (n->feature == HL__LEAF)
        return t->proba[(size_t)n->left * K + k];
    uint32_t f = n->feature & HL__FEATURE_MASK;
    if ((known >> f) & 1) {
        int left = isnan(row[f]) ? (n->feature & HL__DEFAULT_LEFT) != 0
                                 : row[f] <= n->value;
        return ftree_expect(t, K, k, n->left + (left ? 0 : 1), row, known);
    }
    double c = t->cover[node];
    return t->cover[n->left] / c *
               ftree_expect(t, K, k, n->left, row, known) +
           t->cover[n->left + 1] / c *
               ftree_expect(t, K, k, n->left + 1, row, known);
}

static double forest_value(const void *ctx, const float *row, uint32_t known)
{
    const forest_game *g = ctx;
    double s = 0.0;
    for (size_t t = 0; t < g->fm->n_trees; t++)
        s += ftree_expect(&g->fm->trees[t], g->fm->n_classes, g->k, 0, row,
                          known);
    return s / (double)g->fm->n_trees;
}

static hl_model *train_forest(const hl_dataset *ds, const char *algo,
                              int trees, int max_depth)
{
    hl_train_params p;
    hl_error err;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, algo, &err), HL_OK);
    tu_set(&p, "trees", trees);
    tu_set(&p, "max_depth", max_depth);
    p.screen_kpis = 0; /* the learner reads the KPIs as they are */
    return tu_train(ds, &p);
}

/* Small trees (depth 4, 7 KPIs, both kinds of cut, missing values), and
 * unlimited ones whose deepest leaves pass the tables' budget (the
 * quadrature): every class's contributions are the Shapley values of the
 * forest's averaged probability, by definition. */
static void forest_matches_brute_force(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(600, 7, 3, 4);
    for (size_t i = 0; i < ds->n_rows; i += 7)
        ds->x[i * 7 + i % 7] = NAN;
    const char *algos[] = {"forest", "extratrees", "forest"};
    const int depth[] = {4, 4, 0};
    for (size_t a = 0; a < 3; a++) {
        hl_model *m = train_forest(ds, algos[a], 5, depth[a]);
        assert_int_equal(hl_model_score_scale(m), HL_SCORE_PROBABILITY);
        const hl__forest_model *fm = m->fitted.state;
        const size_t K = 3, nf = 7, B = K * (nf + 1), n = 25;
        double *phi = malloc(n * B * sizeof *phi);
        hl_error err;
        assert_int_equal(hl_model_contributions(m, ds->x, n, 1, phi, &err),
                         HL_OK);
        for (size_t r = 0; r < n; r++)
            for (size_t k = 0; k < K; k++) {
                forest_game g = {fm, k};
                double want[8];
                shapley_by_definition(nf, forest_value, &g, ds->x + r * nf,
                                      want);
                for (size_t j = 0; j <= nf; j++)
                    assert_float_equal(phi[r * B + k * (nf + 1) + j], want[j],
                                       1e-9);
            }
        free(phi);
        hl_model_free(m);
    }
    hl_dataset_free(ds);
}

/* Contributions and expected values sum to the probabilities of every row,
 * whatever the threads, and a saved model explains the same. */
static void check_adds_up_to_proba(const hl_model *m, const hl_dataset *ds)
{
    const size_t K = hl_model_n_classes(m), nf = ds->n_features;
    const size_t B = K * (nf + 1);
    double *phi = malloc(ds->n_rows * B * sizeof *phi);
    double *phi1 = malloc(ds->n_rows * B * sizeof *phi1);
    hl_error err;
    assert_int_equal(hl_model_contributions(m, ds->x, ds->n_rows, 2, phi, &err),
                     HL_OK);
    assert_int_equal(
        hl_model_contributions(m, ds->x, ds->n_rows, 1, phi1, &err), HL_OK);
    assert_memory_equal(phi, phi1, ds->n_rows * B * sizeof *phi);
    double *proba = tu_predict_all(m, ds, 2);
    for (size_t r = 0; r < ds->n_rows; r++)
        for (size_t k = 0; k < K; k++) {
            double sum = 0.0;
            for (size_t j = 0; j <= nf; j++)
                sum += phi[r * B + k * (nf + 1) + j];
            assert_float_equal(sum, proba[r * K + k], 1e-6);
        }
    uint8_t *buf;
    size_t len;
    hl_model *back = NULL;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    assert_int_equal(hl_model_deserialize(buf, len, "f.model", &back, &err),
                     HL_OK);
    assert_int_equal(
        hl_model_contributions(back, ds->x, ds->n_rows, 2, phi1, &err), HL_OK);
    assert_memory_equal(phi, phi1, ds->n_rows * B * sizeof *phi);
    hl_model_free(back);
    free(buf);
    free(proba);
    free(phi);
    free(phi1);
}

/* Unlimited trees on 6 classes, bootstrap (forest) and not (extra-trees,
 * here with a bootstrap too: copies weigh in the covers). */
static void forest_contributions_add_up(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(1200, 30, 6, 5);
    hl_model *m = train_forest(ds, "forest", 20, 0);
    check_adds_up_to_proba(m, ds);
    hl_model_free(m);
    m = train_forest(ds, "extratrees", 20, 0);
    check_adds_up_to_proba(m, ds);
    hl_model_free(m);
    hl_train_params p;
    hl_error err;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, "extratrees", &err), HL_OK);
    tu_set(&p, "trees", 10);
    tu_set(&p, "bootstrap", 1);
    m = tu_train(ds, &p); /* screening on: KPIs left out get nothing */
    check_adds_up_to_proba(m, ds);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* A file written before forests kept their covers (none saved): it
 * predicts as before and refuses to explain, saying to retrain. */
static void forest_file_without_covers(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(400, 8, 3, 6);
    hl_model *m = train_forest(ds, "forest", 6, 0);
    double *proba = tu_predict_all(m, ds, 1);
    hl__forest_model *fm = m->fitted.state;
    for (size_t t = 0; t < fm->n_trees; t++) {
        free(fm->trees[t].cover);
        fm->trees[t].cover = NULL;
    }
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    assert_int_equal(tu_find_section(buf, len, 66), 0);
    hl_model *old = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "old.model", &old, &err),
                     HL_OK);
    double *again = tu_predict_all(old, ds, 1);
    assert_memory_equal(proba, again, ds->n_rows * 3 * sizeof *proba);
    double phi[3 * 9];
    assert_int_equal(hl_model_score_scale(old), HL_SCORE_NONE);
    assert_int_equal(hl_model_score_scale(m), HL_SCORE_NONE);
    assert_int_equal(hl_model_contributions(old, ds->x, 1, 1, phi, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "retrain the model to explain it"));
    hl_sample_explanation e;
    assert_int_equal(hl_model_explain_row(old, ds, 0, &e, &err),
                     HL_ERR_INVALID);
    free(again);
    free(proba);
    free(buf);
    hl_model_free(old);
    hl_model_free(m);
    hl_dataset_free(ds);
}

static void u32_at(uint8_t *buf, size_t at, uint32_t v)
{
    memcpy(buf + at, &v, 4);
}

static void f32_at(uint8_t *buf, size_t at, float v)
{
    memcpy(buf + at, &v, 4);
}

/* Reads buf after one forged float at `at` (checksum fixed): refused as
 * corrupt with the covers named. */
static void refused_with_covers(const uint8_t *buf, size_t len, size_t at,
                                float v)
{
    uint8_t *copy = malloc(len);
    memcpy(copy, buf, len);
    f32_at(copy, at, v);
    tu_fix_crc(copy, len);
    hl_model *back = NULL;
    hl_error err;
    assert_int_equal(hl_model_deserialize(copy, len, "x.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_null(back);
    assert_non_null(strstr(err.message, "corrupted model file"));
    assert_non_null(strstr(err.message, "node covers"));
    free(copy);
}

/* Forged covers - a root's doubled (its children no longer add up to it),
 * negative, zero at the root, NaN - are refused by both tree readers; a
 * forest's covers of another tree count too. */
static void forged_covers_refused(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(400, 8, 3, 7);
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 5);
    hl_model *g = tu_train(ds, &p);
    hl_model *f = train_forest(ds, "forest", 4, 0);
    uint8_t *buf;
    size_t len;
    hl_error err;
    /* GBDT (section 5): u32 outputs, f64 base[3], u32 trees, u32 nodes,
     * then the root: feature, value, left, gain, cover */
    assert_int_equal(hl_model_serialize(g, &buf, &len, &err), HL_OK);
    size_t at = tu_find_section(buf, len, 5);
    assert_true(at > 0);
    const size_t root_cover = at + 16 + 4 + 3 * 8 + 4 + 4 + 16;
    float cover;
    memcpy(&cover, buf + root_cover, 4);
    assert_true(cover > 0.0f);
    refused_with_covers(buf, len, root_cover, 2.0f * cover);
    refused_with_covers(buf, len, root_cover, 0.0f);
    refused_with_covers(buf, len, root_cover + 20, -1.0f); /* a child */
    refused_with_covers(buf, len, root_cover, NAN);
    free(buf);
    /* forest (section 66): u32 trees, u32 nodes, f32 cover[nodes] */
    assert_int_equal(hl_model_serialize(f, &buf, &len, &err), HL_OK);
    at = tu_find_section(buf, len, 66);
    assert_true(at > 0);
    memcpy(&cover, buf + at + 16 + 8, 4);
    assert_true(cover > 0.0f);
    refused_with_covers(buf, len, at + 16 + 8, 2.0f * cover);
    refused_with_covers(buf, len, at + 16 + 8 + 4, -1.0f);
    refused_with_covers(buf, len, at + 16 + 8, 0.0f);
    u32_at(buf, at + 16, 3); /* 3 trees' covers for 4 trees */
    tu_fix_crc(buf, len);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "x.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "node covers of another tree count"));
    free(buf);
    hl_model_free(g);
    hl_model_free(f);
    hl_dataset_free(ds);
}

/* ---- the stack ---- */

static hl_model *train_stack(const hl_dataset *ds, int members, int combiner)
{
    hl_train_params p;
    hl_error err;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_algo(&p, "stack", &err), HL_OK);
    tu_set(&p, "members", members);
    tu_set(&p, "combiner", combiner);
    tu_set(&p, "stack_folds", 2);
    tu_set(&p, "member_trees", 8);
    p.screen_kpis = 0;
    return tu_train(ds, &p);
}

/* gbdt + forest + extratrees through the logistic combiner, with 5
 * classes (a softmax GBDT member) and 2 (a one-log-odds GBDT member):
 * additive in the meta-learner's logits; through the vote: additive in
 * its probabilities. */
static void stack_adds_up(void **state)
{
    (void)state;
    const size_t rows[] = {900, 600, 700}, kpis[] = {16, 12, 12},
                 classes[] = {5, 2, 4};
    const int combiner[] = {HL__COMBINE_LOGISTIC, HL__COMBINE_LOGISTIC,
                            HL__COMBINE_VOTE};
    for (size_t c = 0; c < 3; c++) {
        hl_dataset *ds = tu_simulate(rows[c], kpis[c], classes[c], 9 + c);
        hl_model *m = train_stack(ds, 0, combiner[c]);
        if (combiner[c] == HL__COMBINE_VOTE)
            check_adds_up_to_proba(m, ds);
        else
            check_adds_up_to_logits(m, ds);
        hl_model_free(m);
        hl_dataset_free(ds);
    }
}

/* A vote of forest and extra-trees: its contributions are the mean of
 * its members' (the Shapley values of the vote) and add up to its
 * probabilities. */
static void stack_vote_is_members_mean(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(700, 12, 4, 11);
    hl_model *m = train_stack(ds, 4, HL__COMBINE_VOTE);
    assert_int_equal(hl_model_score_scale(m), HL_SCORE_PROBABILITY);
    check_adds_up_to_proba(m, ds);
    const hl__stack_model *sm = m->fitted.state;
    const hl__model_shape shape = hl__model_shape_of(m);
    const size_t K = 4, nf = 12, B = K * (nf + 1), n = 100;
    double *phi = malloc(n * B * sizeof *phi);
    double *mine = calloc(n * B, sizeof *mine);
    double *one = malloc(n * B * sizeof *one);
    hl_error err;
    assert_int_equal(hl_model_contributions(m, ds->x, n, 1, phi, &err), HL_OK);
    for (size_t i = 0; i < sm->n_members; i++) {
        const hl__stack_member *mb = &sm->member[i];
        assert_int_equal(mb->learner->contrib(mb->fitted.state, &shape, ds->x,
                                              n, one, &err),
                         HL_OK);
        for (size_t c = 0; c < n * B; c++)
            mine[c] += one[c] / (double)sm->n_members;
    }
    for (size_t c = 0; c < n * B; c++)
        assert_float_equal(phi[c], mine[c], 1e-12);
    free(phi);
    free(mine);
    free(one);
    hl_model_free(m);
    hl_dataset_free(ds);
}

/* A member that cannot explain (the MLP) is named. The stack's second
 * member is made to be an MLP for the call (training a real one inside a
 * stack takes most of a minute on a loaded machine; what is tested is the
 * stack's refusal, which reads only the member's learner). */
static void stack_with_mlp_refuses(void **state)
{
    (void)state;
    hl_dataset *ds = tu_simulate(300, 6, 3, 12);
    hl_model *m = train_stack(ds, 4, HL__COMBINE_VOTE);
    hl__stack_model *sm = m->fitted.state;
    const hl__learner *forest = sm->member[1].learner;
    sm->member[1].learner = hl__learner_find("mlp");
    assert_non_null(sm->member[1].learner);
    assert_int_equal(hl_model_score_scale(m), HL_SCORE_NONE);
    double phi[3 * 7];
    hl_error err;
    assert_int_equal(hl_model_contributions(m, ds->x, 1, 1, phi, &err),
                     HL_ERR_INVALID);
    assert_non_null(strstr(err.message, "member mlp cannot explain"));
    sm->member[1].learner = forest;
    assert_int_equal(hl_model_score_scale(m), HL_SCORE_PROBABILITY);
    hl_model_free(m);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tables_match_brute_force),
        cmocka_unit_test(recursion_matches_brute_force),
        cmocka_unit_test(gbdt_contributions_add_up),
        cmocka_unit_test(one_class_per_row),
        cmocka_unit_test(screened_binary_model),
        cmocka_unit_test(normal_ranges),
        cmocka_unit_test(unsound_and_deep_trees),
        cmocka_unit_test(forest_matches_brute_force),
        cmocka_unit_test(forest_contributions_add_up),
        cmocka_unit_test(forest_file_without_covers),
        cmocka_unit_test(forged_covers_refused),
        cmocka_unit_test(stack_adds_up),
        cmocka_unit_test(stack_vote_is_members_mean),
        cmocka_unit_test(stack_with_mlp_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
