/* test_families.c - KPI families (families.h) and the inputs they add.
 *
 * Below the interface: KPIs that share a class profile are grouped, one
 * moving against the others with its sign flipped, while a constant KPI
 * and KPIs with profiles of their own stay out; a family's input averages
 * its present members and is missing only when all are; the section
 * round-trips and forged payloads are refused; of more joinable KPIs than
 * the cap, the ones with the most class signal are clustered. Through the public API: a
 * model trained with families reads them (format version 4, summary,
 * importance placed at the members), predicts the same after a file round
 * trip and whatever the threads, and a forged member is refused.
 */
#include <math.h>

#include "engineutil.h"

#include "families.h"
#include "healer/explain.h"

enum { ROWS = 600, KPIS = 7, CLASSES = 3 };

/* Rows of 7 KPIs over 3 classes: KPIs 1, 3 and 5 follow one profile
 * (5 against it, and at another scale), KPIs 0 and 4 another, KPI 2 is
 * constant and KPI 6 is noise. */
static void family_rows(float *x, int32_t *y, size_t *rows)
{
    uint64_t s = 12345;
    for (size_t i = 0; i < ROWS; i++) {
        int32_t k = (int32_t)(i % CLASSES);
        float noise[KPIS];
        for (size_t j = 0; j < KPIS; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            noise[j] = (float)((s >> 11) % 1000) / 1000.0f - 0.5f;
        }
        float a = (float)(k == 1) * 3.0f, b = (float)(k == 2) * 3.0f;
        float *r = x + i * KPIS;
        r[0] = b + noise[0];
        r[1] = a + noise[1];
        r[2] = 7.0f;
        r[3] = 10.0f * (a + noise[3]);
        r[4] = 2.0f * b + noise[4];
        r[5] = -1000.0f * (a + noise[5]);
        r[6] = noise[6];
        y[i] = k;
        rows[i] = i;
    }
}

static hl__families *find(double threshold)
{
    static float x[ROWS * KPIS];
    static int32_t y[ROWS];
    static size_t rows[ROWS];
    family_rows(x, y, rows);
    const uint32_t cand[KPIS] = {0, 1, 2, 3, 4, 5, 6};
    hl__families *fam = NULL;
    assert_int_equal(hl__families_find(x, KPIS, y, CLASSES, rows, ROWS, cand,
                                       KPIS, threshold, &fam),
                     HL_OK);
    return fam;
}

static void families_group_kpis_moving_together(void **state)
{
    (void)state;
    hl__families *fam = find(0.9);
    assert_non_null(fam);
    assert_int_equal(fam->n, 2);
    /* in the order of their first member */
    assert_int_equal(fam->first[1] - fam->first[0], 2);
    assert_int_equal(fam->kpi[0], 0);
    assert_int_equal(fam->kpi[1], 4);
    assert_int_equal(fam->first[2] - fam->first[1], 3);
    assert_int_equal(fam->kpi[2], 1);
    assert_int_equal(fam->kpi[3], 3);
    assert_int_equal(fam->kpi[4], 5);
    assert_true(fam->sign[2] == 1.0f && fam->sign[3] == 1.0f);
    assert_true(fam->sign[4] == -1.0f); /* KPI 5 moves against them */
    for (size_t i = 0; i < hl__families_members(fam); i++)
        assert_true(fam->scale[i] > 0.0f);
    hl__families_free(fam);
    /* Profiles of three classes correlate by chance only so much: at the
     * highest threshold the exact pairs still join, noise does not. */
    fam = find(HL__FAMILIES_MAX_CORR);
    for (size_t i = 0; fam && i < hl__families_members(fam); i++)
        assert_true(fam->kpi[i] != 2 && fam->kpi[i] != 6);
    hl__families_free(fam);
}

static void family_value_averages_present_members(void **state)
{
    (void)state;
    hl__families *fam = find(0.9);
    assert_non_null(fam);
    float row[KPIS] = {0, 3.0f, 7, 30.0f, 0, -3000.0f, 0};
    /* class 1's typical row: all three members agree */
    float all = hl__family_value(fam, 1, row);
    float one_gone[KPIS];
    memcpy(one_gone, row, sizeof row);
    one_gone[3] = NAN;
    float two = hl__family_value(fam, 1, one_gone);
    assert_true(all > 0.5f && two > 0.5f);
    /* it is the mean of the members it has */
    float members[3];
    for (size_t i = 0; i < 3; i++) {
        float only[KPIS] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
        only[fam->kpi[2 + i]] = row[fam->kpi[2 + i]];
        members[i] = hl__family_value(fam, 1, only);
    }
    assert_float_equal(all, (members[0] + members[1] + members[2]) / 3.0f,
                       1e-5);
    assert_float_equal(two, (members[0] + members[2]) / 2.0f, 1e-5);
    float none[KPIS] = {NAN, NAN, NAN, NAN, NAN, NAN, NAN};
    assert_true(isnan(hl__family_value(fam, 1, none)));
    hl__families_free(fam);
}

/* Reads a payload; HL_ERR_FORMAT expected when bad is set. */
static hl_status read_back(const uint8_t *p, size_t len, hl__families **out)
{
    hl_error err;
    hl__io_ctx io = {"t.model", &err, NULL};
    hl__rbuf r = {p, len, 0, 0};
    return hl__families_read(&r, KPIS, &io, out);
}

static void families_section_round_trips_and_refuses_forgeries(void **state)
{
    (void)state;
    hl__families *fam = find(0.9), *back = NULL;
    hl__wbuf w = {0};
    hl__families_write(fam, &w);
    assert_int_equal(read_back(w.p, w.len, &back), HL_OK);
    assert_int_equal(back->n, fam->n);
    assert_memory_equal(back->kpi, fam->kpi, 5 * sizeof *fam->kpi);
    assert_memory_equal(back->scale, fam->scale, 5 * sizeof *fam->scale);
    hl__families_free(back);
    /* header u32 n, u32 members, u32 size[2]; then 16 bytes per member */
    const size_t member0 = 16, sign0 = member0 + 4;
    struct {
        size_t at;
        uint32_t value;
    } forged[] = {
        {0, 0},                   /* no family */
        {4, 9},                   /* more members than KPIs */
        {8, 1},                   /* a family of one */
        {member0, KPIS},          /* a KPI out of range */
        {member0 + 16, 0},        /* members out of order */
        {sign0, 0x3f000000u},     /* sign 0.5 */
        {sign0 + 8, 0},           /* scale 0 */
        {sign0 + 4, 0x7fc00000u}, /* centre NaN */
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        uint8_t *copy = malloc(w.len);
        memcpy(copy, w.p, w.len);
        memcpy(copy + forged[i].at, &forged[i].value, 4);
        back = NULL;
        assert_int_equal(read_back(copy, w.len, &back), HL_ERR_FORMAT);
        assert_null(back);
        free(copy);
    }
    assert_int_equal(read_back(w.p, w.len - 1, &back), HL_ERR_FORMAT);
    free(w.p);
    hl__families_free(fam);
}

/* Simulated faults move groups of KPIs together: families form, the
 * model reads them, and everything a model promises still holds. */
static void model_with_families(void **state)
{
    (void)state;
    hl_dataset *all = tu_simulate(2400, 24, 6, 5), *tr, *te;
    tu_split(all, 1600, &tr, &te);
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "families", 0.8);
    tu_set(&p, "rounds", 60);
    hl_model *m = tu_train(tr, &p);
    const hl_model_summary *s = hl_model_summary_get(m);
    assert_non_null(s->kpi_family);
    assert_true(s->n_families >= 1);
    size_t in_family = 0;
    double gain = 0.0;
    for (size_t j = 0; j < 24; j++) {
        assert_true(s->kpi_family[j] >= -1 &&
                    s->kpi_family[j] < (int32_t)s->n_families);
        if (s->kpi_family[j] >= 0) {
            in_family++;
            assert_true(s->kpi_kept[j]); /* families come from read KPIs */
        }
        gain += s->importance_gain[j];
    }
    assert_true(in_family >= 2 * s->n_families);
    assert_true(gain > 0.0);
    double *proba = tu_predict_all(m, te, 2);
    assert_true(tu_macro_f1_of(m, te, proba) > 0.85);
    /* Explained through the families (a family input's contribution
     * shared by its members): scores still give the probabilities. */
    const size_t B = 6 * 25;
    double *phi = malloc(te->n_rows * B * sizeof *phi);
    hl_error xerr;
    assert_int_equal(
        hl_model_contributions(m, te->x, te->n_rows, 2, phi, &xerr), HL_OK);
    for (size_t r = 0; r < te->n_rows; r++) {
        double z[6], mx = -INFINITY, sum = 0.0;
        for (size_t k = 0; k < 6; k++) {
            z[k] = 0.0;
            for (size_t j = 0; j <= 24; j++)
                z[k] += phi[r * B + k * 25 + j];
            mx = fmax(mx, z[k]);
        }
        for (size_t k = 0; k < 6; k++)
            sum += exp(z[k] - mx);
        for (size_t k = 0; k < 6; k++)
            assert_float_equal(exp(z[k] - mx) / sum, proba[r * 6 + k], 1e-6);
    }
    free(phi);
    double *one = tu_predict_all(m, te, 1);
    assert_memory_equal(proba, one, te->n_rows * 6 * sizeof *one);

    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    assert_int_equal(buf[8], 4); /* format version 4 */
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "f.model", &back, &err),
                     HL_OK);
    const hl_model_summary *bs = hl_model_summary_get(back);
    assert_int_equal(bs->n_families, s->n_families);
    assert_memory_equal(bs->kpi_family, s->kpi_family,
                        24 * sizeof *s->kpi_family);
    double *again = tu_predict_all(back, te, 2);
    assert_memory_equal(proba, again, te->n_rows * 6 * sizeof *again);
    hl_model_free(back);
    back = NULL;
    /* A KPI in two families: the second family's first member made the
     * first family's. */
    assert_true(s->n_families >= 2);
    size_t at = tu_find_section(buf, len, 14);
    assert_true(at > 0);
    uint32_t n_fam, size0;
    memcpy(&n_fam, buf + at + 16, 4);
    memcpy(&size0, buf + at + 16 + 8, 4);
    size_t member0 = at + 16 + 8 + 4 * n_fam;
    memcpy(buf + member0 + 16 * size0, buf + member0, 4);
    tu_fix_crc(buf, len);
    assert_int_equal(hl_model_deserialize(buf, len, "f.model", &back, &err),
                     HL_ERR_FORMAT);
    assert_non_null(strstr(err.message, "KPI families"));
    free(buf);
    free(again);
    free(one);
    free(proba);
    hl_model_free(m);
    hl_dataset_free(tr);
    hl_dataset_free(te);
    hl_dataset_free(all);
}

/* Families off, or none found (two classes: every profile is +-(1, -1),
 * so no correlation means anything): the model is what it was without
 * them. */
/* More joinable KPIs than HL__FAMILIES_MAX_CANDIDATES: those with the most
 * class signal are kept, wherever they sit among the columns. The last
 * STRONG columns share one clear profile; the WEAK ones before them carry
 * a faint one each. Every strong column ends up in one family, which a
 * cap that kept the first columns would have missed. */
static void many_candidates_keep_the_strongest(void **state)
{
    (void)state;
    enum { N = 300, WEAK = 1000, STRONG = 600, WIDE = WEAK + STRONG };
    _Static_assert(WIDE > HL__FAMILIES_MAX_CANDIDATES, "must exceed the cap");
    _Static_assert(STRONG < HL__FAMILIES_MAX_CANDIDATES, "strong ones fit");
    float *x = malloc((size_t)N * WIDE * sizeof *x);
    int32_t y[N];
    size_t rows[N];
    uint32_t *cand = malloc(WIDE * sizeof *cand);
    assert_non_null(x);
    assert_non_null(cand);
    uint64_t s = 99;
    for (size_t i = 0; i < N; i++) {
        y[i] = (int32_t)(i % 3);
        rows[i] = i;
        for (size_t j = 0; j < WIDE; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            float noise = (float)((s >> 11) % 1000) / 1000.0f - 0.5f;
            int32_t k = (int32_t)(j % 3); /* the weak ones' class */
            x[i * WIDE + j] = j < WEAK ? noise + 0.2f * (float)(y[i] == k)
                                       : 10.0f * (float)(y[i] == 1) +
                                             1e-3f * noise;
        }
    }
    for (uint32_t j = 0; j < WIDE; j++)
        cand[j] = j;
    hl__families *fam = NULL;
    assert_int_equal(hl__families_find(x, WIDE, y, 3, rows, N, cand, WIDE,
                                       0.9, &fam),
                     HL_OK);
    assert_non_null(fam);
    int32_t *family_of = malloc(WIDE * sizeof *family_of);
    assert_non_null(family_of);
    assert_true(hl__families_by_kpi(fam, WIDE, family_of));
    size_t members = 0;
    for (size_t j = 0; j < WIDE; j++)
        members += family_of[j] >= 0;
    assert_true(members <= HL__FAMILIES_MAX_CANDIDATES);
    for (size_t j = WEAK; j < WIDE; j++)
        assert_int_equal(family_of[j], family_of[WEAK]);
    assert_true(family_of[WEAK] >= 0);
    free(family_of);
    hl__families_free(fam);
    free(cand);
    free(x);
}

static void no_families_no_section(void **state)
{
    (void)state;
    hl_dataset *two = tu_simulate(600, 8, 2, 9);
    hl_train_params p2;
    hl_train_params_init(&p2);
    tu_set(&p2, "rounds", 20);
    tu_set(&p2, "families", 0.8);
    hl_model *m2 = tu_train(two, &p2);
    assert_null(hl_model_summary_get(m2)->kpi_family);
    hl_model_free(m2);
    hl_dataset_free(two);
    hl_dataset *ds = tu_simulate(600, 8, 3, 9);
    hl_train_params p;
    hl_train_params_init(&p);
    tu_set(&p, "rounds", 20);
    hl_model *m = tu_train(ds, &p);
    assert_null(hl_model_summary_get(m)->kpi_family);
    uint8_t *buf;
    size_t len;
    hl_error err;
    assert_int_equal(hl_model_serialize(m, &buf, &len, &err), HL_OK);
    assert_true(buf[8] <= 3);
    assert_int_equal(tu_find_section(buf, len, 14), 0);
    /* out of range values are refused with the bounds */
    assert_int_equal(hl_train_params_set_number(&p, "families", 0.5, &err),
                     HL_ERR_INVALID);
    assert_int_equal(hl_train_params_set_number(&p, "families", 1.0, &err),
                     HL_ERR_INVALID);
    free(buf);
    hl_model_free(m);
    hl_dataset_free(ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(families_group_kpis_moving_together),
        cmocka_unit_test(family_value_averages_present_members),
        cmocka_unit_test(families_section_round_trips_and_refuses_forgeries),
        cmocka_unit_test(model_with_families),
        cmocka_unit_test(many_candidates_keep_the_strongest),
        cmocka_unit_test(no_families_no_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
