/* test_feedback.c - learning from deployment labels: appending labelled
 * rows to a training set, their weight in training, and the choice of
 * rows worth labelling.
 *
 * Appending matches columns by name and refuses what would be silently
 * lost; a label the training data never had becomes a class. A handful
 * of labelled rows from a shifted environment, weighted up, make the
 * model better there, and the model remembers how it was trained.
 * Suggestions are grouped by predicted class, most uncertain first,
 * never duplicates, and bad requests are refused with the field named.
 */
#include <math.h>

#include "engineutil.h"

static hl_dataset *parse(const char *csv, const char *name)
{
    hl_csv_options o;
    hl_csv_options_init(&o);
    o.keep_unlabelled = 1;
    hl_dataset *ds = NULL;
    hl_error err;
    if (hl_dataset_parse_csv(csv, strlen(csv), name, &o, &ds, &err) != HL_OK)
        fail_msg("parsing %s: %s", name, err.message);
    return ds;
}

static void append_matches_columns_and_labels(void **state)
{
    (void)state;
    hl_dataset *base = parse("sample_id,a,b,label\n"
                             "r1,1,2,disk\nr2,3,4,net\n",
                             "train.csv");
    hl_dataset *extra = parse("sample_id,b,a,label\n"
                              "d1,20,10,cpu\nd2,40,30,disk\nd3,50,60,\n",
                              "deploy.csv");
    hl_dataset *d = NULL;
    hl_error err;
    assert_int_equal(hl_dataset_append(base, extra, 5.0, &d, &err), HL_OK);
    assert_int_equal(d->n_rows, 4); /* the unlabelled row is not a label */
    assert_int_equal(d->n_classes, 3);
    assert_string_equal(d->class_names[0], "cpu");
    assert_string_equal(d->class_names[1], "disk");
    assert_string_equal(d->class_names[2], "net");
    assert_int_equal(d->y[0], 1);
    assert_int_equal(d->y[1], 2);
    assert_int_equal(d->y[2], 0);
    assert_int_equal(d->y[3], 1);
    /* Columns by name: extra's (b, a) lands as (a, b). */
    assert_true(d->x[2 * 2] == 10.0f && d->x[2 * 2 + 1] == 20.0f);
    assert_true(d->weight[0] == 1.0 && d->weight[1] == 1.0);
    assert_true(d->weight[2] == 5.0 && d->weight[3] == 5.0);
    assert_string_equal(d->sample_ids[2], "d1");
    hl_dataset_free(d);

    /* A weight out of range, a missing feature, an extra column. */
    assert_int_equal(hl_dataset_append(base, extra, 0.0, &d, &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "feedback_weight");
    assert_int_equal(hl_dataset_append(base, extra, 1e4, &d, &err),
                     HL_ERR_INVALID);
    hl_dataset *missing = parse("a,label\n1,disk\n", "m.csv");
    assert_int_equal(hl_dataset_append(base, missing, 2.0, &d, &err),
                     HL_ERR_DATA);
    assert_string_equal(err.column, "b");
    assert_null(d);
    hl_dataset *more = parse("a,b,c,label\n1,2,3,disk\n", "c.csv");
    assert_int_equal(hl_dataset_append(base, more, 2.0, &d, &err), HL_ERR_DATA);
    assert_string_equal(err.column, "c");
    assert_non_null(strstr(err.message, "not a feature of the training"));
    hl_dataset_free(missing);
    hl_dataset_free(more);
    hl_dataset_free(base);
    hl_dataset_free(extra);
}

/* Integer labels are ordered by value, as the CSV reader orders them: with
 * twelve classes "10" and "11" come after "9", a new "12" after them, and
 * no row is lost. */
static void append_orders_integer_labels_by_value(void **state)
{
    (void)state;
    char base_csv[4096] = "a,label\n", extra_csv[256] = "a,label\n";
    for (int k = 0; k < 12; k++)
        snprintf(base_csv + strlen(base_csv),
                 sizeof base_csv - strlen(base_csv), "%d,%d\n%d,%d\n", k, k,
                 k + 100, k);
    strcat(extra_csv, "5,12\n6,10\n7,03\n");
    hl_dataset *base = parse(base_csv, "b.csv"),
               *extra = parse(extra_csv, "e.csv");
    hl_dataset *d = NULL;
    hl_error err;
    assert_int_equal(hl_dataset_append(base, extra, 2.0, &d, &err), HL_OK);
    assert_int_equal(d->n_rows, 27);
    assert_int_equal(d->n_classes, 13);
    for (int k = 0; k < 13; k++) {
        char want[16];
        snprintf(want, sizeof want, "%d", k);
        assert_string_equal(d->class_names[k], want);
    }
    for (size_t i = 0; i < 24; i++) /* base rows keep their class */
        assert_string_equal(d->class_names[d->y[i]],
                            base->class_names[base->y[i]]);
    assert_int_equal(d->y[24], 12);
    assert_int_equal(d->y[25], 10);
    assert_int_equal(d->y[26], 3); /* "03" is read as 3 */
    hl_dataset_free(d);
    hl_dataset_free(base);
    hl_dataset_free(extra);
}

static hl_dataset *simulate(size_t samples, int variant, double shift,
                            uint64_t seed)
{
    hl_sim_options o;
    hl_sim_options_init(&o);
    o.samples = samples;
    o.features = 16;
    o.classes = 4;
    o.seed = seed;
    o.shift = shift;
    hl_dataset *ds = NULL;
    hl_error err;
    assert_int_equal(hl_simulate(&o, variant, &ds, &err), HL_OK);
    return ds;
}

/* Twenty labelled rows per class of a strongly shifted environment, each
 * counting 3 times, lift the model there; the model says so. */
static void feedback_rows_help_on_the_shifted_data(void **state)
{
    (void)state;
    hl_dataset *train = simulate(2000, 0, 2.0, 5);
    hl_dataset *shifted = simulate(1200, 1, 2.0, 5);
    size_t fb_rows[80], rest_rows[1200], n_fb = 0, n_rest = 0, seen[4] = {0};
    for (size_t i = 0; i < shifted->n_rows; i++) {
        int32_t c = shifted->y[i];
        if (n_fb < 80 && seen[c] < 20) {
            seen[c]++;
            fb_rows[n_fb++] = i;
        } else {
            rest_rows[n_rest++] = i;
        }
    }
    hl_dataset *fb = NULL, *rest = NULL, *both = NULL;
    hl_error err;
    assert_int_equal(hl_dataset_subset(shifted, fb_rows, n_fb, &fb, &err),
                     HL_OK);
    assert_int_equal(hl_dataset_subset(shifted, rest_rows, n_rest, &rest, &err),
                     HL_OK);
    assert_int_equal(hl_dataset_append(train, fb, 3.0, &both, &err), HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_number(&p, "rounds", 80, &err), HL_OK);
    hl_model *plain = NULL, *taught = NULL;
    assert_int_equal(hl_train(train, &p, NULL, &plain, &err), HL_OK);
    assert_int_equal(hl_train(both, &p, NULL, &taught, &err), HL_OK);
    double before = tu_macro_f1(plain, rest), after = tu_macro_f1(taught, rest);
    print_message("shifted data: macro-F1 %.4f without feedback, %.4f with\n",
                  before, after);
    assert_true(after > before + 0.02);
    const hl_model_summary *s = hl_model_summary_get(taught);
    assert_int_equal(s->rows_weighted, n_fb);
    assert_true(s->max_row_weight == 3.0);
    assert_int_equal(hl_model_summary_get(plain)->rows_weighted, 0);
    /* The file remembers it. */
    uint8_t *buf;
    size_t len;
    assert_int_equal(hl_model_serialize(taught, &buf, &len, &err), HL_OK);
    hl_model *back = NULL;
    assert_int_equal(hl_model_deserialize(buf, len, "t.model", &back, &err),
                     HL_OK);
    assert_int_equal(hl_model_summary_get(back)->rows_weighted, n_fb);
    assert_true(hl_model_summary_get(back)->max_row_weight == 3.0);
    free(buf);
    hl_model_free(back);
    hl_model_free(plain);
    hl_model_free(taught);
    hl_dataset_free(both);
    hl_dataset_free(fb);
    hl_dataset_free(rest);
    hl_dataset_free(train);
    hl_dataset_free(shifted);
}

static void suggestions_are_uncertain_and_diverse(void **state)
{
    (void)state;
    hl_dataset *train = simulate(1500, 0, 0.5, 8);
    hl_dataset *batch = simulate(600, 1, 1.5, 8);
    /* Duplicate every row of the batch: no suggestion may repeat one. */
    size_t rows[1200];
    for (size_t i = 0; i < 1200; i++)
        rows[i] = i % 600;
    hl_dataset *doubled = NULL;
    hl_error err;
    assert_int_equal(hl_dataset_subset(batch, rows, 1200, &doubled, &err),
                     HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_number(&p, "rounds", 40, &err), HL_OK);
    hl_model *m = NULL;
    assert_int_equal(hl_train(train, &p, NULL, &m, &err), HL_OK);
    const size_t K = hl_model_n_classes(m), n = doubled->n_rows;
    double *proba = malloc(n * K * sizeof *proba);
    assert_int_equal(hl_model_predict_dataset(m, doubled, 1, proba, NULL, &err),
                     HL_OK);
    hl_suggestion *s = NULL;
    size_t got = 0;
    assert_int_equal(hl_suggest_rows(m, doubled, proba, 5, &s, &got, &err),
                     HL_OK);
    assert_true(got >= 5 && got <= 5 * K);
    size_t per_class[64] = {0};
    for (size_t i = 0; i < got; i++) {
        per_class[s[i].predicted]++;
        assert_int_equal(hl_predict_argmax(proba + s[i].row * K, K),
                         s[i].predicted);
        assert_true(s[i].margin >= 0 && s[i].margin <= 1);
        if (i > 0) {
            assert_true(s[i].predicted >= s[i - 1].predicted);
            if (s[i].predicted == s[i - 1].predicted)
                assert_true(s[i].margin >= s[i - 1].margin);
        }
        for (size_t j = 0; j < i; j++) /* no row twice, no copy of one */
            assert_true(s[i].row % 600 != s[j].row % 600);
    }
    for (size_t k = 0; k < K; k++)
        assert_true(per_class[k] <= 5);
    /* The most uncertain row of a class is its first pick. */
    double least = INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (hl_predict_argmax(proba + i * K, K) != s[0].predicted)
            continue;
        double top = 0, second = 0;
        for (size_t c = 0; c < K; c++) {
            double q = proba[i * K + c];
            if (q > top) {
                second = top;
                top = q;
            } else if (q > second) {
                second = q;
            }
        }
        if (top - second < least)
            least = top - second;
    }
    assert_true(s[0].margin == least);
    free(s);
    s = NULL;
    assert_int_equal(hl_suggest_rows(m, doubled, proba, 0, &s, &got, &err),
                     HL_ERR_INVALID);
    assert_string_equal(err.field, "per_class");
    assert_null(s);
    free(proba);
    hl_model_free(m);
    hl_dataset_free(doubled);
    hl_dataset_free(batch);
    hl_dataset_free(train);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(append_matches_columns_and_labels),
        cmocka_unit_test(append_orders_integer_labels_by_value),
        cmocka_unit_test(feedback_rows_help_on_the_shifted_data),
        cmocka_unit_test(suggestions_are_uncertain_and_diverse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
