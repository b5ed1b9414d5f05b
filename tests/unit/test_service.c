/* test_service.c - the service pieces below the HTTP layer that have rules
 * of their own: training parameters from JSON, JSON rows turned into a
 * dataset, diagnosis results (summary, pages, the predictions CSV), the
 * server's configuration (keys, ranges, config files with line numbers),
 * the persistent server key and the loaded-model cache.
 *
 * The HTTP layer and the handlers are tested end to end by tests/api/
 * against a real `healer serve`; these tests pin down the rules they rely
 * on, with exact messages and edge cases that are awkward to reach over
 * HTTP.
 */
#include <jansson.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "testutil.h"
#include "store_fixtures.h"

#include "base/clock.h"
#include "blob/blob.h"
#include "domain/accounts.h"
#include "domain/datasets.h"
#include "domain/dataset_upload.h"
#include "base/app.h"
#include "server/datadir.h"
#include "domain/diagnoses.h"
#include "domain/job_diagnose.h"
#include "domain/jobs.h"
#include "domain/job_types.h"
#include "domain/models.h"
#include "domain/shared_secrets.h"
#include "domain/auth.h"
#include "domain/topologies.h"
#include "domain/train_params.h"
#include "domain/engine_json.h"
#include "server/server.h"
#include "store/store.h"

static json_t *parse(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    assert_non_null(j);
    return j;
}

/* ---- training parameters ---------------------------------------------------- */

static hl_param_value get(const hl_train_params *p, const char *name)
{
    hl_param_value v;
    assert_int_equal(hl_train_params_get(p, name, &v, NULL), HL_OK);
    return v;
}

static void train_params_from_json(void **state)
{
    (void)state;
    hl_train_params p;
    hs_error err = {0};
    json_t *j = parse("{\"rounds\": 30, \"learning_rate\": 0.2, \"max_depth\": 4,"
                      " \"class_weight\": \"none\", \"cv_folds\": 3, \"seed\": 7,"
                      " \"refit\": false}");
    assert_int_equal(hs_train_params_from_json(j, "gbdt", &p, &err), HS_OK);
    assert_int_equal(get(&p, "rounds").i, 30);
    assert_true(fabs(get(&p, "learning_rate").d - 0.2) < 1e-12);
    assert_int_equal(get(&p, "max_depth").i, 4);
    assert_int_equal(p.class_weight, HL_CLASS_WEIGHT_NONE);
    assert_int_equal(p.cv_folds, 3);
    assert_int_equal(p.seed, 7);
    assert_int_equal(p.refit, 0);
    json_decref(j);

    /* Absent params are the engine's defaults, with the default learner. */
    hl_train_params d;
    hl_train_params_init(&d);
    assert_int_equal(hs_train_params_from_json(NULL, NULL, &p, &err), HS_OK);
    assert_string_equal(p.algo, d.algo);
    assert_int_equal(get(&p, "rounds").i, get(&d, "rounds").i);
}

static void train_params_errors_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field, *message_part;
    } cases[] = {
        {"{\"roundz\": 3}", "params.roundz", "unknown parameter"},
        {"{\"threads\": 2}", "params.threads", "unknown parameter"},
        {"{\"rounds\": 0}", "params.rounds", "1..100000"},
        {"{\"rounds\": 2.5}", "params.rounds", "whole number"},
        {"{\"rounds\": \"30\"}", "params.rounds", "whole number"},
        {"{\"learning_rate\": \"abc\"}", "params.learning_rate", "number"},
        {"{\"learning_rate\": -1}", "params.learning_rate", "[0.0001, 1]"},
        {"{\"learning_rate\": null}", "params.learning_rate", "number"},
        {"{\"class_weight\": \"x\"}", "params.class_weight", "balanced"},
        {"{\"class_weight\": 1}", "params.class_weight", "string"},
        {"{\"max_bins\": 300}", "params.max_bins", "2..255"},
        {"{\"cv_folds\": 1}", "params.cv_folds", "0 (off) or 2..20"},
        {"{\"cv_folds\": -2}", "params.cv_folds", "2..20"},
        {"{\"seed\": -1}", "params.seed", "0..9223372036854775807"},
        {"{\"refit\": 1}", "params.refit", "true or false"},
        {"{\"max_depth\": 0}", "params.max_depth", "max_leaves"},
        {"[1, 2]", "params", "object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hl_train_params p;
        hs_error err = {0};
        json_t *j = parse(cases[i].json);
        assert_int_equal(hs_train_params_from_json(j, "gbdt", &p, &err),
                         HS_ERR_INVALID);
        assert_string_equal(err.field, cases[i].field);
        if (!strstr(err.message, cases[i].message_part))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message,
                     cases[i].message_part);
        json_decref(j);
    }
    hl_train_params p;
    hs_error err = {0};
    assert_int_equal(hs_train_params_from_json(NULL, "xgboost", &p, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "algo");
    assert_non_null(strstr(err.message, "xgboost"));
}

/* A value of spec s as JSON (a choice by its name). */
static json_t *spec_json(const hl_param_spec *s, hl_param_value v)
{
    switch (s->type) {
    case HL_PARAM_REAL: return json_real(v.d);
    case HL_PARAM_BOOL: return json_boolean(v.i);
    case HL_PARAM_CHOICE: return json_string(s->choices[v.i]);
    default: return json_integer((json_int_t)v.i);
    }
}

/* {"NAME": value} through the conversion: accepted or refused naming it. */
static void expect_json_param(const char *algo, const hl_param_spec *s,
                              json_t *value, int accepted)
{
    json_t *params = json_object();
    hl_train_params p;
    /* gbdt's rule that depth 0 needs a leaf limit: every walk has one. */
    hl_train_params_init(&p);
    hl_train_params_set_algo(&p, algo, NULL);
    if (hl_train_params_spec(&p, "max_leaves"))
        json_object_set_new(params, "max_leaves", json_integer(64));
    json_object_set_new(params, s->name, value);
    hs_error err = {0};
    hs_status st = hs_train_params_from_json(params, algo, &p, &err);
    char *text = json_dumps(params, JSON_ENCODE_ANY);
    if (accepted && st != HS_OK)
        fail_msg("%s %s refused: %s", algo, text, err.message);
    if (!accepted) {
        char field[80];
        snprintf(field, sizeof field, "params.%s", s->name);
        if (st != HS_ERR_INVALID)
            fail_msg("%s %s accepted", algo, text);
        assert_string_equal(err.field, field);
    }
    free(text);
    json_decref(params);
}

/* Every parameter of every learner and every shared option the API offers:
 * min and max (or each choice) accepted, just outside refused with the
 * field named - the same walk as the CLI's (tests/cli/test_cli.sh), so
 * the two interfaces accept the same ranges, the tables' ranges. */
static void train_params_walk_the_tables(void **state)
{
    (void)state;
    size_t n_shared;
    const hl_param_spec *shared = hl_shared_params(&n_shared);
    for (size_t l = 0; l < hl_learner_count(); l++) {
        const hl_learner_info *li = hl_learner_at(l);
        for (size_t k = 0; k < li->n_params + n_shared; k++) {
            const hl_param_spec *s =
                k < li->n_params ? &li->params[k] : &shared[k - li->n_params];
            if (s->flags & HL_PARAM_CLI_ONLY) {
                expect_json_param(li->name, s, spec_json(s, s->def), 0);
                continue;
            }
            switch (s->type) {
            case HL_PARAM_INT:
            case HL_PARAM_SEED:
                expect_json_param(li->name, s, json_integer(s->min.i), 1);
                expect_json_param(li->name, s, json_integer(s->max.i), 1);
                expect_json_param(li->name, s, json_integer(s->min.i - 1), 0);
                if (s->max.i < INT64_MAX)
                    expect_json_param(li->name, s, json_integer(s->max.i + 1), 0);
                if (s->flags & HL_PARAM_ZERO_OFF)
                    expect_json_param(li->name, s, json_integer(0), 1);
                break;
            case HL_PARAM_REAL:
                expect_json_param(li->name, s, json_real(s->min.d), 1);
                expect_json_param(li->name, s, json_real(s->max.d), 1);
                expect_json_param(li->name, s,
                                  json_real(nextafter(s->min.d, -INFINITY)), 0);
                expect_json_param(li->name, s,
                                  json_real(nextafter(s->max.d, INFINITY)), 0);
                break;
            case HL_PARAM_BOOL:
                expect_json_param(li->name, s, json_true(), 1);
                expect_json_param(li->name, s, json_false(), 1);
                expect_json_param(li->name, s, json_integer(1), 0);
                break;
            case HL_PARAM_CHOICE:
                for (size_t c = 0; s->choices[c]; c++)
                    expect_json_param(li->name, s, json_string(s->choices[c]), 1);
                expect_json_param(li->name, s, json_string("no-such-choice"), 0);
                break;
            }
        }
    }
}

static void algorithms_json(void **state)
{
    (void)state;
    json_t *j = hs_json_algorithms();
    assert_non_null(j);
    json_t *items = json_object_get(j, "items");
    assert_int_equal(json_array_size(items), hl_learner_count());
    json_t *gbdt = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(gbdt, "name")), "gbdt");
    json_t *params = json_object_get(gbdt, "params");
    int saw_lr = 0, saw_cw = 0, saw_cv = 0;
    size_t i;
    json_t *p;
    json_array_foreach(params, i, p) {
        const char *name = json_string_value(json_object_get(p, "name"));
        assert_true(strcmp(name, "threads") != 0); /* CLI only */
        assert_non_null(json_object_get(p, "help"));
        if (!strcmp(name, "learning_rate")) {
            saw_lr = 1;
            assert_string_equal(json_string_value(json_object_get(p, "type")), "float");
            assert_true(json_real_value(json_object_get(p, "min")) == 0.0001);
            assert_true(json_real_value(json_object_get(p, "max")) == 1.0);
            assert_true(json_real_value(json_object_get(p, "default")) == 0.05);
        } else if (!strcmp(name, "class_weight")) {
            saw_cw = 1;
            assert_string_equal(json_string_value(json_object_get(p, "type")), "choice");
            assert_true(json_is_null(json_object_get(p, "min")));
            assert_int_equal(json_array_size(json_object_get(p, "choices")), 2);
            assert_string_equal(json_string_value(json_object_get(p, "default")),
                                "balanced");
        } else if (!strcmp(name, "cv_folds")) {
            saw_cv = 1;
            assert_int_equal(json_integer_value(json_object_get(p, "min")), 0);
            assert_int_equal(json_integer_value(json_object_get(p, "max")), 20);
        }
    }
    assert_true(saw_lr && saw_cw && saw_cv);
    json_decref(j);
}

/* ---- diagnoses ------------------------------------------------------------------ */

/* A small trained model over 4 KPIs and 3 classes. */
static hl_model *small_model(void)
{
    hl_sim_options so;
    hl_sim_options_init(&so);
    so.samples = 400;
    so.features = 4;
    so.classes = 3;
    so.seed = 5;
    hl_dataset *ds = NULL;
    hl_error e;
    assert_int_equal(hl_simulate(&so, 0, &ds, &e), HL_OK);
    hl_train_params p;
    hl_train_params_init(&p);
    assert_int_equal(hl_train_params_set_number(&p, "rounds", 10, &e), HL_OK);
    p.early_stopping_rounds = 0;
    p.threads = 1;
    hl_model *m = NULL;
    assert_int_equal(hl_train(ds, &p, NULL, &m, &e), HL_OK);
    hl_dataset_free(ds);
    return m;
}

static void rows_to_dataset_and_run(void **state)
{
    (void)state;
    hl_model *m = small_model();
    const char *f0 = hl_model_feature_name(m, 0);
    char text[1024];
    snprintf(text, sizeof text,
             "[{\"%s\": 1.5, \"%s\": null, \"%s\": 2, \"%s\": -3, \"sample_id\": "
             "\"a\", \"label\": \"%s\", \"extra\": 9},"
             " {\"%s\": 0.5, \"%s\": 1, \"%s\": 2, \"%s\": 3, \"label\": 77}]",
             f0, hl_model_feature_name(m, 1), hl_model_feature_name(m, 2),
             hl_model_feature_name(m, 3), hl_model_class_name(m, 1),
             hl_model_feature_name(m, 0), hl_model_feature_name(m, 1),
             hl_model_feature_name(m, 2), hl_model_feature_name(m, 3));
    json_t *rows = parse(text);
    hl_dataset *ds = NULL;
    json_t *details = NULL;
    hl_warnings warn = {0};
    hs_error err = {0};
    assert_int_equal(hs_diag_rows_to_dataset(m, rows, &ds, &details, &warn, &err),
                     HS_OK);
    assert_null(details);
    assert_int_equal(ds->n_rows, 2);
    assert_int_equal(ds->n_features, 4);
    assert_true(isnan(ds->x[1]));
    assert_true(ds->x[0] == 1.5f);
    assert_non_null(ds->sample_ids);
    assert_string_equal(ds->sample_ids[0], "a");
    assert_string_equal(ds->sample_ids[1], "2"); /* numbered when absent */
    assert_true(ds->has_labels);
    assert_int_equal(warn.count, 1);
    assert_non_null(strstr(warn.items[0], "'extra'"));

    hs_diag_result res;
    assert_int_equal(hs_diag_run(m, ds, 0, HS_DIAG_EXPLAIN_BUDGET_MS, NULL,
                                 &warn, &res, &err),
                     HS_OK);
    assert_int_equal(res.rows.n_rows, 2);
    assert_int_equal(json_integer_value(json_object_get(res.summary,
                                                        "unknown_labels")),
                     1); /* label 77 is no class of the model */
    assert_true(json_is_object(json_object_get(res.summary, "metrics")));
    assert_int_equal(json_array_size(json_object_get(res.summary, "warnings")), 1);

    json_t *items = hs_diag_items(&res.rows, 0, 10);
    assert_int_equal(json_array_size(items), 2);
    json_t *first = json_array_get(items, 0);
    assert_int_equal(json_integer_value(json_object_get(first, "row")), 1);
    assert_string_equal(json_string_value(json_object_get(first, "sample_id")),
                        "a");
    double sum = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(first, "probabilities"), k, v)
        sum += json_number_value(v);
    assert_true(fabs(sum - 1.0) < 1e-9);
    assert_string_equal(json_string_value(json_object_get(first, "label")),
                        hl_model_class_name(m, 1));
    assert_true(json_is_null(json_object_get(json_array_get(items, 1), "label")));
    json_decref(items);
    items = hs_diag_items(&res.rows, 1, 10); /* paging */
    assert_int_equal(json_array_size(items), 1);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(items, 0),
                                                        "row")),
                     2);
    json_decref(items);
    assert_true(json_is_null(json_object_get(res.summary, "adapt")));
    /* explained: the summary says so, the rows carry their lists */
    assert_true(json_is_true(json_object_get(res.summary, "explained")));
    assert_true(json_is_null(json_object_get(res.summary, "explain_skipped")));
    assert_true(json_is_object(json_object_get(res.summary, "training_overlap")));
    assert_int_equal(res.rows.n_kpis, 4);
    assert_non_null(res.rows.explain);
    items = hs_diag_items(&res.rows, 0, 1);
    assert_true(json_is_array(json_object_get(json_array_get(items, 0), "top")));
    assert_true(json_is_array(json_object_get(json_array_get(items, 0), "abnormal")));
    json_decref(items);
    hs_diag_result_free(&res);

    /* Asked to adapt two rows: left alone, and the report says why. */
    assert_int_equal(hs_diag_run(m, ds, 1, HS_DIAG_EXPLAIN_BUDGET_MS, NULL,
                                 &warn, &res, &err),
                     HS_OK);
    json_t *adapt = json_object_get(res.summary, "adapt");
    assert_true(json_is_false(json_object_get(adapt, "applied")));
    assert_string_equal(
        json_string_value(json_object_get(adapt, "reason_code")),
        "too_few_rows");
    assert_int_equal(json_integer_value(json_object_get(adapt, "min_rows")),
                     HL_ADAPT_MIN_ROWS);
    assert_int_equal(json_object_size(json_object_get(adapt, "class_mix")), 0);
    assert_int_equal(json_object_size(json_object_get(adapt, "training_mix")),
                     hl_model_n_classes(m));

    hs_diag_result_free(&res);
    hl_warnings_free(&warn);
    hl_dataset_free(ds);
    json_decref(rows);
    hl_model_free(m);
}

/* JSON text rows -> *ds through hs_diag_rows_to_dataset (no details). */
static hs_status rows_of(const hl_model *m, const char *text, hl_dataset **ds,
                         hl_warnings *warn)
{
    json_t *rows = parse(text);
    json_t *details = NULL;
    hs_error err = {0};
    hs_status st = hs_diag_rows_to_dataset(m, rows, ds, &details, warn, &err);
    assert_null(details);
    json_decref(rows);
    return st;
}

static void rows_errors(void **state)
{
    (void)state;
    hl_model *m = small_model();
    char not_number[512];
    snprintf(not_number, sizeof not_number,
             "[{\"%s\": 1, \"%s\": 1, \"%s\": 1, \"%s\": 1},"
             " {\"%s\": \"high\"}]",
             hl_model_feature_name(m, 0), hl_model_feature_name(m, 1),
             hl_model_feature_name(m, 2), hl_model_feature_name(m, 3),
             hl_model_feature_name(m, 2));
    static const char *const EMPTY = "[]";
    static const char *const NOT_OBJECT = "[[1, 2]]";
    const struct {
        const char *json, *message_part;
        json_int_t row;
    } cases[] = {
        {EMPTY, "non-empty", 0},
        {NOT_OBJECT, "object", 1},
        {"[{\"not_a_kpi\": 1}, {}]", "none of the model's", 0},
        {not_number, "expected a number", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *rows = parse(cases[i].json);
        hl_dataset *ds = NULL;
        json_t *details = NULL;
        hl_warnings warn = {0};
        hs_error err = {0};
        assert_int_equal(hs_diag_rows_to_dataset(m, rows, &ds, &details, &warn,
                                                 &err),
                         HS_ERR_INVALID);
        assert_null(ds);
        if (!strstr(err.message, cases[i].message_part))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.message,
                     cases[i].message_part);
        assert_non_null(details);
        if (cases[i].row)
            assert_int_equal(json_integer_value(json_object_get(details, "row")),
                             cases[i].row);
        json_decref(details);
        hl_warnings_free(&warn);
        json_decref(rows);
    }
    /* Rows may leave KPIs out: missing values, and one warning names them. */
    char one_kpi[256];
    snprintf(one_kpi, sizeof one_kpi, "[{\"%s\": 1}, {\"%s\": 2}]",
             hl_model_feature_name(m, 0), hl_model_feature_name(m, 0));
    hl_dataset *partial = NULL;
    hl_warnings omitted = {0};
    assert_int_equal(rows_of(m, one_kpi, &partial, &omitted), HS_OK);
    assert_int_equal(omitted.count, 1);
    for (size_t j = 1; j < hl_model_n_features(m); j++)
        assert_non_null(strstr(omitted.items[0], hl_model_feature_name(m, j)));
    assert_non_null(strstr(omitted.items[0], "not given in any row"));
    assert_true(isnan(partial->x[1]) && partial->x[0] == 1.0f);
    hl_dataset_free(partial);
    hl_warnings_free(&omitted);
    /* Not an array at all. */
    json_t *obj = parse("{\"a\": 1}");
    hl_dataset *ds = NULL;
    json_t *details = NULL;
    hl_warnings warn = {0};
    hs_error err = {0};
    assert_int_equal(hs_diag_rows_to_dataset(m, obj, &ds, &details, &warn, &err),
                     HS_ERR_INVALID);
    json_decref(details);
    json_decref(obj);
    hl_model_free(m);
}

/* ---- configuration -------------------------------------------------------------- */

static void config_keys_and_ranges(void **state)
{
    (void)state;
    hs_server_config c;
    hs_error err = {0};
    hs_server_config_defaults(&c);
    assert_string_equal(c.listen, "127.0.0.1:8080");
    assert_string_equal(c.data_dir, "var");
    assert_int_equal(hs_server_config_set(&c, "workers", "3", &err), HS_OK);
    assert_int_equal(c.workers, 3);
    assert_int_equal(hs_server_config_set(&c, "secure-cookies", "true", &err),
                     HS_OK);
    assert_true(c.secure_cookies);
    assert_int_equal(hs_server_config_set(&c, "workers", "0", &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "1..64"));
    assert_int_equal(hs_server_config_set(&c, "workers", "2x", &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_server_config_set(&c, "max-upload-mb", "-1", &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_server_config_set(&c, "log-level", "loud", &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_server_config_set(&c, "no-such-key", "1", &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "no-such-key"));
    assert_int_equal(c.workers, 3); /* failures change nothing */
    /* A topology's nodes: the engine's default, one definition. */
    assert_int_equal(c.max_topology_nodes, HL_TOPOLOGY_MAX_NODES_DEFAULT);
    assert_int_equal(hs_server_config_set(&c, "max-topology-nodes", "0", &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_server_config_set(&c, "max-topology-nodes", "50", &err),
                     HS_OK);
    assert_int_equal(c.max_topology_nodes, 50);
}

static void config_file(void **state)
{
    (void)state;
    hs_server_config c;
    hs_error err = {0};
    hs_server_config_defaults(&c);
    const char *good = tu_write_temp("# SystemHealer\n\nlisten = 0.0.0.0:9000\n"
                                     "  workers=2  \r\ndata-dir = /srv/healer\n",
                                     (size_t)-1);
    assert_int_equal(hs_server_config_load(&c, good, &err), HS_OK);
    assert_string_equal(c.listen, "0.0.0.0:9000");
    assert_int_equal(c.workers, 2);
    assert_string_equal(c.data_dir, "/srv/healer");
    unlink(good);

    const char *bad = tu_write_temp("listen = 127.0.0.1:1\nworkers = many\n",
                                    (size_t)-1);
    assert_non_null(bad);
    assert_int_equal(hs_server_config_load(&c, bad, &err), HS_ERR_INVALID);
    char where[128];
    snprintf(where, sizeof where, "%s:2:", bad ? bad : "?");
    assert_non_null(strstr(err.message, where));
    unlink(bad);

    const char *noeq = tu_write_temp("listen 127.0.0.1:1\n", (size_t)-1);
    assert_int_equal(hs_server_config_load(&c, noeq, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, ":1: expected 'key = value'"));
    unlink(noeq);

    assert_int_equal(hs_server_config_load(&c, "/nonexistent/healer.conf", &err),
                     HS_ERR_IO);
}

/* ---- server key and model cache ----------------------------------------------- */

/* The CSRF key lives in the store, sealed: made once, the same for every
 * instance that opens the store with the same data key, refused (naming
 * the data key file) to an instance with another key; sealed, so the
 * database alone does not give it away; and re-sealed by a rekey. */
static void csrf_key_shared_through_the_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/healer-svc-XXXXXX", other_dir[300], url[320];
    assert_non_null(mkdtemp(dir));
    hs_error err = {0};
    hs_datadir *dd = NULL, *dd2 = NULL;
    uint8_t a[HS_APP_KEY_BYTES], b[HS_APP_KEY_BYTES];
    char *stored = NULL, hex[2 * HS_APP_KEY_BYTES + 1];
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_datadir_open(dir, &dd, &err), HS_OK);
    hs_app app = {.store = dd->store, .clock = hs_clock_system(),
                  .keys = &dd->keys};
    assert_int_equal(hs_shared_csrf_key(&app, NULL, a, NULL, &err), HS_OK);
    assert_int_equal(hs_shared_csrf_key(&app, NULL, b, NULL, &err), HS_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(hs_store_setting_get(dd->store, HS_SETTING_CSRF_KEY,
                                          &stored, &err),
                     HS_OK);
    sodium_bin2hex(hex, sizeof hex, a, sizeof a);
    assert_int_equal(strncmp(stored, "enc:v1:", 7), 0);
    assert_null(strstr(stored, hex));
    free(stored);

    /* Another instance: its own directory and key file, the same store. */
    snprintf(other_dir, sizeof other_dir, "%s/other", dir);
    snprintf(url, sizeof url, "sqlite:%s/healer.db", dir);
    char key_file[320];
    snprintf(key_file, sizeof key_file, "%s/data.key", dir);
    assert_int_equal(hs_datadir_open_store(other_dir, url, NULL, key_file, &dd2,
                                           &err),
                     HS_OK);
    hs_app app2 = {.store = dd2->store, .clock = hs_clock_system(),
                   .keys = &dd2->keys};
    memset(b, 0, sizeof b);
    assert_int_equal(hs_shared_csrf_key(&app2, NULL, b, NULL, &err), HS_OK);
    assert_memory_equal(a, b, sizeof a);
    hs_datadir_close(dd2);

    /* An instance with its own data key cannot open it, and says why. */
    snprintf(other_dir, sizeof other_dir, "%s/foreign", dir);
    assert_int_equal(hs_datadir_open_store(other_dir, url, NULL, NULL, &dd2, &err),
                     HS_OK);
    app2.store = dd2->store;
    app2.keys = &dd2->keys;
    assert_int_equal(hs_shared_csrf_key(&app2, NULL, b, NULL, &err),
                     HS_ERR_CORRUPT);
    assert_non_null(strstr(err.message, "data-key-file"));

    /* A rekey (new current, the old key previous) re-seals it: the new key
     * alone then opens it, to the same bytes. */
    hs_keyring ring = {.current = dd2->keys.current,
                       .previous = dd->keys.current,
                       .has_previous = 1};
    app.keys = &ring;
    unsigned rekeyed = 0;
    assert_int_equal(hs_shared_rekey(&app, &rekeyed, &err), HS_OK);
    assert_int_equal(rekeyed, 1);
    assert_int_equal(hs_shared_rekey(&app, &rekeyed, &err), HS_OK);
    assert_int_equal(rekeyed, 0); /* already under the current key */
    memset(b, 0, sizeof b);
    assert_int_equal(hs_shared_csrf_key(&app2, NULL, b, NULL, &err), HS_OK);
    assert_memory_equal(a, b, sizeof a);
    hs_datadir_close(dd2);
    hs_datadir_close(dd);
    tu_rm_rf(dir);
}

/* A data directory of an earlier version kept the key in server.key: it
 * becomes the store's key, so a CSRF token signed before stays valid; a
 * damaged file is an error naming it. */
static void old_server_key_moved_into_the_store(void **state)
{
    (void)state;
    char dir[] = "/tmp/healer-svc-XXXXXX", path[300];
    assert_non_null(mkdtemp(dir));
    hs_error err = {0};
    hs_datadir *dd = NULL;
    uint8_t old[HS_APP_KEY_BYTES], got[HS_APP_KEY_BYTES];
    int found = 0, took = 0;
    char hash[HS_TOKEN_HASH_HEX + 1], token[HS_CSRF_TOKEN_CHARS + 1];
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_datadir_open(dir, &dd, &err), HS_OK);
    assert_int_equal(hs_datadir_old_server_key(dd, old, sizeof old, &found,
                                               &err),
                     HS_OK);
    assert_int_equal(found, 0);
    randombytes_buf(old, sizeof old);
    snprintf(path, sizeof path, "%s/server.key", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(old, 1, sizeof old, f), sizeof old);
    fclose(f);
    memset(hash, 'a', HS_TOKEN_HASH_HEX);
    hash[HS_TOKEN_HASH_HEX] = '\0';
    assert_int_equal(hs_auth_csrf_token(old, hash, token), HS_OK);

    uint8_t read_back[HS_APP_KEY_BYTES];
    assert_int_equal(hs_datadir_old_server_key(dd, read_back, sizeof read_back,
                                               &found, &err),
                     HS_OK);
    assert_int_equal(found, 1);
    assert_memory_equal(read_back, old, sizeof old);
    hs_app app = {.store = dd->store, .clock = hs_clock_system(),
                  .keys = &dd->keys};
    assert_int_equal(hs_shared_csrf_key(&app, read_back, got, &took, &err),
                     HS_OK);
    assert_int_equal(took, 1);
    assert_true(hs_auth_csrf_verify(got, hash, token));
    /* Once the store has one, another directory's file does not win. */
    randombytes_buf(read_back, sizeof read_back);
    assert_int_equal(hs_shared_csrf_key(&app, read_back, got, &took, &err),
                     HS_OK);
    assert_int_equal(took, 0);
    assert_true(hs_auth_csrf_verify(got, hash, token));
    assert_int_equal(hs_datadir_old_server_key_remove(dd, &err), HS_OK);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(hs_datadir_old_server_key_remove(dd, &err), HS_OK);

    f = fopen(path, "w"); /* damaged: an error, never ignored */
    fputs("short", f);
    fclose(f);
    assert_int_equal(hs_datadir_old_server_key(dd, read_back, sizeof read_back,
                                               &found, &err),
                     HS_ERR_IO);
    assert_non_null(strstr(err.message, "server.key"));
    hs_datadir_close(dd);
    tu_rm_rf(dir);
}

static void model_cache_shares_and_survives_delete(void **state)
{
    (void)state;
    char dir[] = "/tmp/healer-svc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    hs_error err = {0};
    hs_app app;
    hs_datadir *dd = NULL;
    const hs_auth_costs cheap = HS_AUTH_COSTS_TEST;
    memset(&app, 0, sizeof app);
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_datadir_open(dir, &dd, &err), HS_OK);
    app.store = dd->store;
    app.blobs = dd->blobs;
    app.clock = hs_clock_system();
    app.costs = &cheap;
    assert_int_equal(hs_model_cache_new(1, &app.models, &err), HS_OK);
    hs_user owner = {0}, other = {0};
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "owner", "long enough 1", 0, NULL,
                                             &owner.id, &err),
                     HS_OK);
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "other", "long enough 2", 0, NULL,
                                             &other.id, &err),
                     HS_OK);
    hl_model *m = small_model();
    hs_model_rec rec, rec2;
    assert_int_equal(hs_models_save(&app, owner.id, "m1", 0, 0, m, NULL, &rec, &err),
                     HS_OK);
    assert_int_equal(hs_models_save(&app, owner.id, "m2", 0, 0, m, NULL, &rec2, &err),
                     HS_OK);
    assert_true(isfinite(rec.macro_f1) || isnan(rec.macro_f1));

    hs_model_ref *r1 = NULL, *r1b = NULL, *r2 = NULL;
    assert_int_equal(hs_models_acquire(&app, rec.id, &other, &r1, NULL, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_models_acquire(&app, rec.id, &owner, &r1, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_models_acquire(&app, rec.id, &owner, &r1b, NULL, &err),
                     HS_OK);
    assert_ptr_equal(r1, r1b); /* one loaded copy */
    /* Capacity 1: loading m2 evicts m1, which stays usable for its holders. */
    assert_int_equal(hs_models_acquire(&app, rec2.id, &owner, &r2, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_models_delete(&app, rec.id, &owner, &err), HS_OK);
    assert_int_equal(hl_model_n_classes(hs_model_ref_get(r1)), 3);
    double proba[3];
    float x[4] = {1, 2, 3, 4};
    hl_error herr;
    assert_int_equal(hl_model_predict_matrix(hs_model_ref_get(r1), x, 1, 1,
                                             proba, &herr),
                     HL_OK);
    hs_models_release(&app, r1);
    hs_models_release(&app, r1b);
    hs_models_release(&app, r2);
    assert_int_equal(hs_models_acquire(&app, rec.id, &owner, &r1, NULL, &err),
                     HS_ERR_NOTFOUND);
    hs_model_rec_free(&rec);
    hs_model_rec_free(&rec2);
    hl_model_free(m);
    hs_model_cache_free(app.models);
    hs_datadir_close(dd);
    tu_rm_rf(dir);
}

/* ---- the dataset trash, by the clock --------------------------------------------- */

/* A trashed dataset can be restored for 7 days; then housekeeping purges
 * it, its file included. The clock is moved, not waited for. */
static const hs_auth_costs CHEAP = HS_AUTH_COSTS_TEST;

/* An app on a new data directory in dir (a mkdtemp template) with the
 * clock given, and its user "owner" in *owner. */
static hs_app clocked_app(char *dir, hs_clock *clock, hs_datadir **dd,
                          hs_user *owner)
{
    hs_error err = {0};
    assert_non_null(mkdtemp(dir));
    assert_int_equal(hs_auth_init(&err), HS_OK);
    assert_int_equal(hs_datadir_open(dir, dd, &err), HS_OK);
    hs_app app = {.store = (*dd)->store, .blobs = (*dd)->blobs,
                  .clock = clock, .costs = &CHEAP};
    app.limits.max_upload_bytes = 1 << 20;
    memset(owner, 0, sizeof *owner);
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "owner", "long enough 1", 0, NULL,
                                             &owner->id, &err),
                     HS_OK);
    return app;
}

/* A data directory with its app and user "owner" on a manual clock at
 * 1,000,000 (clocked_app), and what closes it. */
typedef struct svc_env {
    char dir[32];
    hs_datadir *dd;
    hs_user owner;
    hs_clock *clock;
    hs_app app;
    hs_id ds_id; /* the dataset a stage callback acts on */
} svc_env;

static void env_open(svc_env *e)
{
    snprintf(e->dir, sizeof e->dir, "/tmp/healer-svc-XXXXXX");
    e->clock = hs_clock_manual(1000000);
    e->app = clocked_app(e->dir, e->clock, &e->dd, &e->owner);
}

static void env_close(svc_env *e)
{
    hs_datadir_close(e->dd);
    hs_clock_free(e->clock);
    tu_rm_rf(e->dir);
}

/* The CSV text stored as an upload and ingested as dataset `name`. */
static void ingest_csv(svc_env *e, const char *name, const char *csv,
                       hs_dataset_rec *out)
{
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    hl_error csv_err;
    assert_int_equal(hs_blob_put(e->app.blobs, "upload", csv, strlen(csv), key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_datasets_ingest(&e->app, e->owner.id, name, key,
                                        strlen(csv), out, &csv_err, &err),
                     HS_OK);
}

static void dataset_trash_lasts_seven_days(void **state)
{
    (void)state;
    svc_env env;
    env_open(&env);
    hs_app app = env.app;
    hs_user owner = env.owner;
    hs_clock *clock = env.clock;
    hs_error err = {0};
    const char csv[] = "f1,f2,label\n1,2,a\n3,4,b\n";
    hs_dataset_rec a, b, back;
    ingest_csv(&env, "a.csv", csv, &a);
    ingest_csv(&env, "b.csv", csv, &b);
    assert_int_equal(hs_datasets_trash(&app, a.id, &owner, NULL, &back, &err), HS_OK);
    assert_int_equal(back.deleted_at, 1000000);
    hs_dataset_rec_free(&back);
    hs_clock_advance(clock, 3600);
    assert_int_equal(hs_datasets_trash(&app, b.id, &owner, NULL, &back, &err), HS_OK);
    hs_dataset_rec_free(&back);

    /* Just under 7 days: both restorable, nothing purged. */
    size_t purged = 0;
    hs_clock_set(clock, 1000000 + 7 * 86400 - 1);
    assert_int_equal(hs_datasets_purge(&app, &purged, &err), HS_OK);
    assert_int_equal(purged, 0);
    assert_int_equal(hs_datasets_restore(&app, a.id, &owner, NULL, &back, &err), HS_OK);
    assert_int_equal(back.deleted_at, 0);
    hs_dataset_rec_free(&back);
    /* b, trashed an hour later, is past its 7 days an hour after that. */
    hs_clock_set(clock, 1000000 + 3600 + 7 * 86400);
    assert_int_equal(hs_datasets_restore(&app, b.id, &owner, NULL, &back, &err),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "7 days"));
    hs_clock_advance(clock, 1);
    assert_int_equal(hs_datasets_purge(&app, &purged, &err), HS_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(hs_datasets_get(&app, b.id, &owner, &back, &err),
                     HS_ERR_NOTFOUND);
    int exists = 1;
    assert_int_equal(hs_blob_exists(app.blobs, b.blob_key, &exists, &err), HS_OK);
    assert_false(exists);
    /* The restored one is untouched. */
    assert_int_equal(hs_datasets_get(&app, a.id, &owner, &back, &err), HS_OK);
    hs_dataset_rec_free(&back);
    hs_dataset_rec_free(&a);
    hs_dataset_rec_free(&b);
    env_close(&env);
}

/* An upload over ingest_async_bytes is recorded ingesting with its
 * ingest job, or not at all when the job cannot be queued (the
 * transaction); the run profiles it as an upload would, once (a second
 * run finds nothing to do); a file the engine refuses ends failed with
 * its line and its blob gone. */
static void large_upload_ingested_by_job(void **state)
{
    (void)state;
    svc_env env;
    env_open(&env);
    env.app.job_types = hs_job_types;
    env.app.limits.max_queued_jobs = 10;
    env.app.limits.ingest_async_bytes = 16;
    const char csv[] = "f1,f2,label\n1,2,a\n3,4,b\n5,6,a\n";
    const char bad[] = "f1,f2,label\n1,2,a\n3,x,b\n";
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    hl_error csv_err;
    hs_dataset_rec d, got, *list = NULL;
    size_t n = 0;
    int stopped = 1, exists = 1;

    /* The job cannot be queued (no ingest type in this table): no
     * dataset is left behind. */
    static const hs_job_type *const none[] = {NULL};
    env.app.job_types = none;
    assert_int_equal(hs_blob_put(env.app.blobs, "upload", csv, strlen(csv),
                                 key, &err),
                     HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "a.csv", key,
                                       strlen(csv), &d, &csv_err, &err),
                     HS_ERR_INTERNAL);
    assert_int_equal(hs_datasets_list(&env.app, &env.owner, 1, &list, &n, &err),
                     HS_OK);
    assert_int_equal(n, 0);
    hs_dataset_list_free(list, n);
    env.app.job_types = hs_job_types;

    /* A full queue does not refuse it: the ingestion is the system's
     * work, the upload bounded by max-upload-mb (the quotas are for the
     * user's own jobs). */
    env.app.limits.max_queued_jobs = 0;
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "a.csv", key,
                                       strlen(csv), &d, &csv_err, &err),
                     HS_OK);
    assert_string_equal(d.state, HS_DATASET_INGESTING);
    assert_null(d.profile_json);
    hs_job_rec *jobs = NULL;
    assert_int_equal(hs_store_job_list(env.app.store, env.owner.id, 0, &jobs,
                                       &n, &err),
                     HS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(jobs[0].type, HS_JOB_TYPE_INGEST);
    assert_int_equal(jobs[0].dataset_id, d.id);
    hs_job_list_free(jobs, n);
    assert_int_equal(hs_dataset_check_ready(&d, "dataset_id", &err),
                     HS_ERR_CONFLICT);

    assert_int_equal(hs_datasets_ingest_run(&env.app, d.id, NULL, NULL,
                                            &stopped, &err),
                     HS_OK);
    assert_int_equal(stopped, 0);
    assert_int_equal(hs_datasets_get(&env.app, d.id, &env.owner, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, HS_DATASET_READY);
    assert_int_equal(got.rows, 3);
    assert_int_equal(got.features, 2);
    assert_non_null(strstr(got.profile_json, "\"class_counts\""));
    hs_dataset_rec_free(&got);
    assert_int_equal(hs_datasets_ingest_run(&env.app, d.id, NULL, NULL,
                                            &stopped, &err),
                     HS_OK); /* ended already: nothing to do */
    hs_dataset_rec_free(&d);

    /* Small enough: at once, as before. */
    assert_int_equal(hs_blob_put(env.app.blobs, "upload", csv, 10, key, &err),
                     HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "s.csv", key, 10,
                                       &d, &csv_err, &err),
                     HS_ERR_INVALID); /* "f1,f2,labe": a header, no rows */
    hs_blob_delete(env.app.blobs, key, NULL);

    assert_int_equal(hs_blob_put(env.app.blobs, "upload", bad, strlen(bad),
                                 key, &err),
                     HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "bad.csv", key,
                                       strlen(bad), &d, &csv_err, &err),
                     HS_OK);
    assert_int_equal(hs_datasets_ingest_run(&env.app, d.id, NULL, NULL,
                                            &stopped, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_datasets_get(&env.app, d.id, &env.owner, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, HS_DATASET_FAILED);
    assert_non_null(strstr(got.ingest_error, "bad.csv:3"));
    assert_int_equal(hs_dataset_check_ready(&got, "dataset_id", &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "could not be ingested: bad.csv:3"));
    assert_int_equal(hs_blob_exists(env.app.blobs, key, &exists, &err), HS_OK);
    assert_int_equal(exists, 0);
    hs_dataset_rec_free(&got);
    hs_dataset_rec_free(&d);

    /* Its job lost twice (two crashes): the lease rules fail it, and the
     * recovery fails its dataset too, rather than leave it ingesting. The
     * jobs of the datasets above (run directly here) leave the queue. */
    assert_int_equal(hs_store_job_list(env.app.store, 0, 1, &jobs, &n, &err),
                     HS_OK);
    for (size_t i = 0; i < n; i++) {
        hs_job_state was;
        assert_int_equal(hs_store_job_cancel(env.app.store, jobs[i].id, 0, 1,
                                             1, &was, &err),
                         HS_OK);
    }
    hs_job_list_free(jobs, n);
    assert_int_equal(hs_blob_put(env.app.blobs, "upload", csv, strlen(csv),
                                 key, &err),
                     HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "lost.csv", key,
                                       strlen(csv), &d, &csv_err, &err),
                     HS_OK);
    int64_t requeued = 0, failed = 0;
    for (int crash = 0; crash < 2; crash++) {
        hs_job_rec j;
        assert_int_equal(hs_store_job_claim_next(
                             env.app.store, "host:1:1", NULL,
                             hs_clock_now(env.clock), 30, &j, &err),
                         HS_OK);
        hs_job_rec_free(&j);
        hs_clock_advance(env.clock, 60);
        assert_int_equal(hs_jobs_recover(&env.app, &requeued, &failed, &err),
                         HS_OK);
    }
    assert_int_equal(failed, 1);
    assert_int_equal(hs_datasets_get(&env.app, d.id, &env.owner, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, HS_DATASET_FAILED);
    assert_non_null(strstr(got.ingest_error, "the uploaded file is kept"));
    assert_int_equal(hs_blob_exists(env.app.blobs, got.blob_key, &exists, &err),
                     HS_OK);
    assert_int_equal(exists, 1); /* two crashes are not the file's fault */
    hs_dataset_rec_free(&got);
    hs_dataset_rec_free(&d);
    env_close(&env);
}

/* The stage callback of ingest_ended_meanwhile: another run ends the
 * dataset ready before this one reads the file. */
static int end_ready_meanwhile(void *ctx, double progress)
{
    svc_env *e = ctx;
    hs_error err = {0};
    if (progress < 0.1)
        assert_int_equal(hs_store_dataset_finish_ingest(
                             e->app.store, e->ds_id, HS_DATASET_READY, NULL,
                             1, &err),
                         HS_OK);
    return 0;
}

/* A run whose dataset another run ended meanwhile (a lease takeover) and
 * whose engine then refuses the file keeps the file: its finish_ingest
 * conflicted, the dataset is ready with it. */
static void ingest_ended_meanwhile_keeps_file(void **state)
{
    (void)state;
    svc_env env;
    env_open(&env);
    env.app.job_types = hs_job_types;
    env.app.limits.max_queued_jobs = 10;
    env.app.limits.ingest_async_bytes = 16;
    const char bad[] = "f1,f2,label\n1,2,a\n3,x,b\n";
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    hl_error csv_err;
    hs_dataset_rec d;
    int stopped = 0, exists = 0;
    assert_int_equal(hs_blob_put(env.app.blobs, "upload", bad, strlen(bad),
                                 key, &err),
                     HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "bad.csv", key,
                                       strlen(bad), &d, &csv_err, &err),
                     HS_OK);
    env.ds_id = d.id;
    assert_int_equal(hs_datasets_ingest_run(&env.app, d.id,
                                            end_ready_meanwhile, &env,
                                            &stopped, &err),
                     HS_ERR_INVALID);
    assert_int_equal(hs_blob_exists(env.app.blobs, key, &exists, &err), HS_OK);
    assert_int_equal(exists, 1);
    hs_dataset_rec_free(&d);
    env_close(&env);
}

/* How many ingest jobs dataset `id` has (every user's), checking that
 * each is owner_id's. */
static size_t ingest_jobs_of(svc_env *e, hs_id id, hs_id owner_id)
{
    hs_error err = {0};
    hs_job_rec *jobs = NULL;
    size_t n = 0, count = 0;
    assert_int_equal(hs_store_job_list(e->app.store, 0, 1, &jobs, &n, &err),
                     HS_OK);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(jobs[i].type, HS_JOB_TYPE_INGEST) &&
            jobs[i].dataset_id == id) {
            assert_int_equal(jobs[i].owner_id, owner_id);
            count++;
        }
    hs_job_list_free(jobs, n);
    return count;
}

/* A failed ingestion whose file was kept (its job failed half way by the
 * store's outage) is tried again in place: ingesting, with a new ingest
 * job of its owner's - also when an admin retries - whose progress, not
 * the failed run's, is the dataset's; it then ends ready. Another user
 * does not see it; a ready dataset, one ingesting, one in the trash and
 * one whose file the engine refused are refused, saying why. */
static void retried_ingestion_in_place(void **state)
{
    (void)state;
    svc_env env;
    env_open(&env);
    env.app.job_types = hs_job_types;
    env.app.limits.max_queued_jobs = 10;
    env.app.limits.ingest_async_bytes = 16;
    const char csv[] = "f1,f2,label\n1,2,a\n3,4,b\n5,6,a\n";
    const char bad[] = "f1,f2,label\n1,2,a\n3,x,b\n";
    char key[HS_BLOB_KEY_MAX];
    hs_error err = {0};
    hl_error csv_err;
    hs_dataset_rec d, got;
    hs_job_rec j;
    int stopped = 0;
    double progress = -1;
    hs_user admin = env.owner, other = env.owner;
    admin.id = add_user(env.app.store, "root", 1);
    admin.is_admin = 1;
    other.id = add_user(env.app.store, "mallory", 0);

    assert_int_equal(
        hs_blob_put(env.app.blobs, "upload", csv, strlen(csv), key, &err),
        HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "big.csv", key,
                                       strlen(csv), &d, &csv_err, &err),
                     HS_OK);
    /* Its run read the file (0.6), then the store went away. */
    int64_t now = hs_clock_now(env.clock);
    assert_int_equal(hs_store_job_claim_next(env.app.store, "host:1:1", NULL,
                                             now, 30, &j, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_progress(env.app.store, j.id, "host:1:1", now,
                                           30, 0.6, 0, 0, NULL, NULL, &err),
                     HS_OK);
    assert_int_equal(hs_store_job_finish(env.app.store, j.id, "host:1:1",
                                         HS_JOB_FAILED, "store away", NULL, 0,
                                         NULL, now, &err),
                     HS_OK);
    hs_job_rec_free(&j);
    assert_int_equal(
        hs_dataset_retry_ingest(&env.app, &env.owner, d.id, &got, &err),
        HS_ERR_CONFLICT); /* not failed yet: still ingesting */
    assert_non_null(strstr(err.message, "already being ingested"));
    assert_int_equal(hs_datasets_ingest_fail_lost(&env.app, &err), HS_OK);

    got.profile_json = (char *)csv; /* what the caller frees: cleared */
    assert_int_equal(
        hs_dataset_retry_ingest(&env.app, &other, d.id, &got, &err),
        HS_ERR_NOTFOUND);
    assert_null(got.profile_json);
    assert_int_equal(
        hs_dataset_retry_ingest(&env.app, &admin, d.id, &got, &err), HS_OK);
    assert_string_equal(got.state, HS_DATASET_INGESTING);
    assert_string_equal(got.ingest_error, "");
    assert_int_equal(hs_datasets_ingest_progress(&env.app, &env.owner, &got, 1,
                                                 &progress, &err),
                     HS_OK);
    assert_true(progress == 0); /* the new job's, not the failed run's 0.6 */
    hs_dataset_rec_free(&got);
    assert_int_equal(ingest_jobs_of(&env, d.id, env.owner.id), 2);

    assert_int_equal(
        hs_datasets_ingest_run(&env.app, d.id, NULL, NULL, &stopped, &err),
        HS_OK);
    assert_int_equal(
        hs_dataset_retry_ingest(&env.app, &env.owner, d.id, &got, &err),
        HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "is ready"));
    hs_dataset_rec_free(&d);

    /* The engine's refusal deletes the file: a corrected one is needed. */
    assert_int_equal(
        hs_blob_put(env.app.blobs, "upload", bad, strlen(bad), key, &err),
        HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "bad.csv", key,
                                       strlen(bad), &d, &csv_err, &err),
                     HS_OK);
    assert_int_equal(
        hs_datasets_ingest_run(&env.app, d.id, NULL, NULL, &stopped, &err),
        HS_ERR_INVALID);
    assert_int_equal(
        hs_dataset_retry_ingest(&env.app, &env.owner, d.id, &got, &err),
        HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "upload a corrected file"));
    assert_non_null(strstr(err.message, "bad.csv:3"));
    hs_dataset_rec_free(&d);

    /* In the trash: not found, as for the other uses of a dataset. */
    assert_int_equal(
        hs_blob_put(env.app.blobs, "upload", csv, strlen(csv), key, &err),
        HS_OK);
    assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "t.csv", key,
                                       strlen(csv), &d, &csv_err, &err),
                     HS_OK);
    assert_int_equal(
        hs_datasets_ingest_abandon(&env.app, d.id, "cancelled", &err), HS_OK);
    assert_int_equal(
        hs_datasets_trash(&env.app, d.id, &env.owner, "test", &got, &err),
        HS_OK);
    hs_dataset_rec_free(&got);
    assert_int_equal(
        hs_dataset_retry_ingest(&env.app, &env.owner, d.id, &got, &err),
        HS_ERR_NOTFOUND);
    assert_non_null(strstr(err.message, "in the trash"));
    hs_dataset_rec_free(&d);
    env_close(&env);
}

/* The sweep ends a dataset whose ingest job ended without ending it (here
 * cancelled in the store, as recover does to a cancel-requested job whose
 * worker died), keeping its file, and leaves alone one whose job is still
 * queued; running it again changes nothing. */
static void ingest_sweep_ends_orphans(void **state)
{
    (void)state;
    svc_env env;
    env_open(&env);
    env.app.job_types = hs_job_types;
    env.app.limits.max_queued_jobs = 10;
    env.app.limits.ingest_async_bytes = 16;
    const char csv[] = "f1,f2,label\n1,2,a\n3,4,b\n5,6,a\n";
    char key[2][HS_BLOB_KEY_MAX];
    hs_error err = {0};
    hl_error csv_err;
    hs_dataset_rec d[2], got;
    hs_job_rec *jobs = NULL;
    size_t n = 0;
    int exists = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(hs_blob_put(env.app.blobs, "upload", csv, strlen(csv),
                                     key[i], &err),
                         HS_OK);
        assert_int_equal(hs_dataset_upload(&env.app, &env.owner, "o.csv",
                                           key[i], strlen(csv), &d[i],
                                           &csv_err, &err),
                         HS_OK);
    }
    assert_int_equal(hs_store_job_list(env.app.store, 0, 1, &jobs, &n, &err),
                     HS_OK);
    for (size_t i = 0; i < n; i++)
        if (jobs[i].dataset_id == d[0].id) {
            hs_job_state was;
            assert_int_equal(hs_store_job_cancel(env.app.store, jobs[i].id, 0,
                                                 1, 1, &was, &err),
                             HS_OK);
        }
    hs_job_list_free(jobs, n);
    for (int pass = 0; pass < 2; pass++)
        assert_int_equal(hs_datasets_ingest_fail_lost(&env.app, &err), HS_OK);
    assert_int_equal(hs_datasets_get(&env.app, d[0].id, &env.owner, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, HS_DATASET_FAILED);
    assert_non_null(strstr(got.ingest_error, "cancelled"));
    hs_dataset_rec_free(&got);
    assert_int_equal(hs_blob_exists(env.app.blobs, key[0], &exists, &err),
                     HS_OK);
    assert_int_equal(exists, 1);
    assert_int_equal(hs_datasets_get(&env.app, d[1].id, &env.owner, &got, &err),
                     HS_OK);
    assert_string_equal(got.state, HS_DATASET_INGESTING);
    hs_dataset_rec_free(&got);
    hs_dataset_rec_free(&d[0]);
    hs_dataset_rec_free(&d[1]);
    env_close(&env);
}

/* ---- jobs and the store's outage -------------------------------------------- */

/* A store that cannot be reached for some operations: the reads of a
 * job's inputs (datasets, models, topologies) or the writes of its result
 * (models, diagnoses, analyses), the rest passing to the real store. */
typedef struct down_store {
    hs_store_dataset_ops datasets;
    hs_store_model_ops models;
    hs_store_topology_ops topologies;
    hs_store_diagnosis_ops diagnoses;
    hs_store_analysis_ops analyses;
    hs_store_ops ops;
    hs_store store;
} down_store;

static hs_status store_down(hs_error *err)
{
    return hs_fail(err, HS_ERR_UNAVAILABLE,
                   "the store cannot be reached (a test's outage)");
}

static hs_status down_dataset_get(void *impl, hs_id id, hs_id viewer_id,
                                  int viewer_is_admin, hs_dataset_rec *out,
                                  hs_error *err)
{
    (void)impl, (void)id, (void)viewer_id, (void)viewer_is_admin;
    memset(out, 0, sizeof *out);
    return store_down(err);
}

static hs_status down_model_get(void *impl, hs_id id, hs_id viewer_id,
                                int viewer_is_admin, hs_model_rec *out,
                                hs_error *err)
{
    (void)impl, (void)id, (void)viewer_id, (void)viewer_is_admin;
    memset(out, 0, sizeof *out);
    return store_down(err);
}

static hs_status down_topology_get(void *impl, hs_id id, hs_id viewer_id,
                                   int viewer_is_admin, hs_topology_rec *out,
                                   hs_error *err)
{
    (void)impl, (void)id, (void)viewer_id, (void)viewer_is_admin;
    memset(out, 0, sizeof *out);
    return store_down(err);
}

static hs_status down_model_create(void *impl, hs_model_rec *m, hs_error *err)
{
    (void)impl, (void)m;
    return store_down(err);
}

static hs_status down_diagnosis_create(void *impl, hs_diagnosis_rec *d,
                                       hs_error *err)
{
    (void)impl, (void)d;
    return store_down(err);
}

static hs_status down_analysis_create(void *impl, hs_analysis_rec *a,
                                      hs_error *err)
{
    (void)impl, (void)a;
    return store_down(err);
}

enum { DOWN_INPUTS, DOWN_RESULTS };

static void store_goes_down(svc_env *e, down_store *d, int what)
{
    const hs_store *real = e->dd->store;
    d->datasets = *real->ops->datasets;
    d->models = *real->ops->models;
    d->topologies = *real->ops->topologies;
    d->diagnoses = *real->ops->diagnoses;
    d->analyses = *real->ops->analyses;
    if (what == DOWN_INPUTS) {
        d->datasets.get = down_dataset_get;
        d->models.get = down_model_get;
        d->topologies.get = down_topology_get;
    } else {
        d->models.create = down_model_create;
        d->diagnoses.create = down_diagnosis_create;
        d->analyses.create = down_analysis_create;
    }
    d->ops = *real->ops;
    d->ops.datasets = &d->datasets;
    d->ops.models = &d->models;
    d->ops.topologies = &d->topologies;
    d->ops.diagnoses = &d->diagnoses;
    d->ops.analyses = &d->analyses;
    d->store = (hs_store){&d->ops, real->impl};
    e->app.store = &d->store;
}

static int never_stop(hs_job_run *run, double progress, int64_t round,
                      int64_t rounds, char *(*render)(void *render_ctx),
                      void *render_ctx, int force)
{
    (void)run, (void)progress, (void)round, (void)rounds, (void)render,
        (void)render_ctx, (void)force;
    return 0;
}

static int attempt_kept(hs_job_run *run, hs_job_attempt *a)
{
    (void)run, (void)a;
    return 0;
}

/* Runs a job of type `type` on e's records and returns how it ended. */
static hs_job_outcome run_type(svc_env *e, const hs_job_type *type,
                               hs_id dataset_id, hs_id model_id,
                               const char *params)
{
    static const atomic_int no_stop = 0;
    hs_job_rec job;
    memset(&job, 0, sizeof job);
    job.id = 999;
    job.owner_id = e->owner.id;
    snprintf(job.type, sizeof job.type, "%s", type->name);
    snprintf(job.name, sizeof job.name, "outage");
    job.dataset_id = dataset_id;
    job.model_id = model_id;
    job.topology_id = 1;
    job.params_json = (char *)params;
    hs_job_run run = {&e->app, &job,         &no_stop, 1,
                      NULL,    never_stop,   attempt_kept, NULL};
    hs_job_outcome o;
    memset(&o, 0, sizeof o);
    type->run(&run, &o);
    return o;
}

/* The store's outage is never a job's failure: whichever job type could
 * not read its inputs, or store its result, because the store could not be
 * reached says so (store_unavailable), and the runner gives the job back
 * to the queue (test_runner.c) instead of failing it. Only the training
 * said so at first; a diagnosis, an analysis, a pipeline, a retraining or
 * an ingestion caught by an outage ended failed for good. */
static void every_job_type_gives_an_outage_back(void **state)
{
    (void)state;
    svc_env env;
    env_open(&env);
    env.app.job_types = hs_job_types;
    env.app.limits.max_queued_jobs = 10;
    hs_error err = {0};
    assert_int_equal(hs_model_cache_new(2, &env.app.models, &err), HS_OK);
    hl_model *m = small_model();
    hs_model_rec mrec;
    assert_int_equal(hs_models_save(&env.app, env.owner.id, "m", 0, 0, m, NULL,
                                    &mrec, &err),
                     HS_OK);
    char csv[4096];
    int at = snprintf(csv, sizeof csv, "%s,%s,%s,%s\n",
                      hl_model_feature_name(m, 0), hl_model_feature_name(m, 1),
                      hl_model_feature_name(m, 2), hl_model_feature_name(m, 3));
    for (int i = 0; i < 20; i++)
        at += snprintf(csv + at, sizeof csv - (size_t)at, "%d,%d,%d,%d\n", i,
                       i % 3, 2 * i, i % 5);
    hs_dataset_rec ds;
    ingest_csv(&env, "rows.csv", csv, &ds);

    down_store down;
    store_goes_down(&env, &down, DOWN_INPUTS);
    for (size_t i = 0; hs_job_types[i]; i++) {
        hs_job_outcome o = run_type(&env, hs_job_types[i], ds.id, mrec.id,
                                    "{\"rounds\": 5, \"incidents_dataset_id\": 1}");
        if (o.state != HS_JOB_FAILED || !o.store_unavailable)
            fail_msg("a %s job whose inputs the store could not read ended "
                     "%s, store_unavailable %d: %s",
                     hs_job_types[i]->name, hs_job_state_name(o.state),
                     o.store_unavailable, o.error);
    }

    /* The result's write: a diagnosis made, the store gone when it is kept. */
    store_goes_down(&env, &down, DOWN_RESULTS);
    hs_job_rec job;
    memset(&job, 0, sizeof job);
    job.id = 998;
    job.owner_id = env.owner.id;
    static const atomic_int no_stop = 0;
    hs_job_run run = {&env.app, &job,       &no_stop,     1,
                      NULL,     never_stop, attempt_kept, NULL};
    hs_diagnose_input in = {mrec.id, ds.blob_key, 0, "rows.csv", 0};
    hs_job_outcome o;
    memset(&o, 0, sizeof o);
    hs_diagnose_step(&run, &in, &o);
    assert_int_equal(o.state, HS_JOB_FAILED);
    assert_true(o.store_unavailable);
    assert_non_null(strstr(o.error, "cannot be reached"));

    env.app.store = env.dd->store;
    hs_dataset_rec_free(&ds);
    hs_model_rec_free(&mrec);
    hl_model_free(m);
    hs_model_cache_free(env.app.models);
    env.app.models = NULL;
    env_close(&env);
}

/* A pipeline submitted without "params" is queued with an empty object
 * for them, and the request it keeps is freed whole: the empty object was
 * packed with "O" and leaked (found by tests/fuzz/json_body; its input is
 * tests/fuzz/corpus/json_body/regress-pipeline-without-params). The leak
 * fails this test in the sanitizer build (LeakSanitizer at exit). */
static void pipeline_without_params(void **state)
{
    (void)state;
    svc_env env;
    env_open(&env);
    env.app.job_types = hs_job_types;
    env.app.limits.max_queued_jobs = 10;
    hs_dataset_rec ds;
    ingest_csv(&env, "a.csv", "f1,f2,label\n1,2,a\n3,4,b\n5,6,a\n7,8,b\n", &ds);
    json_t *req = json_pack("{s:s, s:I, s:I}", "type", "pipeline", "dataset_id",
                            (json_int_t)ds.id, "diagnose_dataset_id",
                            (json_int_t)ds.id);
    hs_job_rec job;
    hs_error err = {0};
    hs_status st = hs_jobs_submit(&env.app, &env.owner, req, &job, &err);
    if (st != HS_OK)
        print_error("%s\n", err.message);
    assert_int_equal(st, HS_OK);
    json_t *kept = json_loads(job.params_json, 0, NULL);
    const json_t *params = json_object_get(kept, "params");
    assert_true(json_is_object(params) && json_object_size(params) == 0);
    json_decref(kept);
    json_decref(req);
    hs_job_rec_free(&job);
    hs_dataset_rec_free(&ds);
    env_close(&env);
}

/* A topology is what the engine read, under the server's limit on nodes;
 * it has the datasets' trash. */
static void topology_upload_limit_and_trash(void **state)
{
    (void)state;
    char dir[] = "/tmp/healer-svc-XXXXXX";
    hs_error err = {0};
    hs_datadir *dd = NULL;
    hs_user owner;
    hs_clock *clock = hs_clock_manual(1000000);
    hs_app app = clocked_app(dir, clock, &dd, &owner);
    const char four[] = "{\"nodes\": [{\"id\": \"a\", \"kind\": \"db\"}, "
                        "{\"id\": \"b\", \"kind\": \"db\"}, {\"id\": \"c\"}, "
                        "{\"id\": \"d\", \"kind\": \"web\"}], \"edges\": "
                        "[{\"from\": \"d\", \"to\": \"c\"}, {\"from\": \"c\", "
                        "\"to\": \"a\", \"bidirectional\": true}, "
                        "{\"from\": \"c\", \"to\": \"b\"}]}";
    const char edges[] = "from,to\nx,y\ny,z\n";
    char key[HS_BLOB_KEY_MAX];
    hs_topology_rec t, back;
    hl_error topo_err;
    app.limits.max_topology_nodes = 3;
    assert_int_equal(hs_blob_put(app.blobs, "upload", four, strlen(four), key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_topologies_upload(&app, owner.id, "four.json", key,
                                          strlen(four), &t, &topo_err, &err),
                     HS_ERR_INVALID);
    assert_int_equal(topo_err.code, HL_ERR_LIMIT);
    assert_non_null(strstr(err.message, "3"));
    app.limits.max_topology_nodes = 4;
    assert_int_equal(hs_topologies_upload(&app, owner.id, "four.json", key,
                                          strlen(four), &t, &topo_err, &err),
                     HS_OK);
    assert_string_equal(t.format, "json");
    assert_int_equal(t.nodes, 4);
    assert_int_equal(t.edges, 3);
    assert_int_equal(t.bidirectional_edges, 1);
    assert_string_equal(t.kinds_json, "{\"db\":2,\"web\":1}");
    hs_topology_rec_free(&t);
    assert_int_equal(hs_blob_put(app.blobs, "upload", edges, strlen(edges), key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_topologies_upload(&app, owner.id, "e.csv", key,
                                          strlen(edges), &t, &topo_err, &err),
                     HS_OK);
    assert_string_equal(t.format, "csv");
    assert_string_equal(t.kinds_json, "{}");

    /* The graph read back, normalised. */
    hl_topology *g = NULL;
    assert_int_equal(hs_topologies_load(&app, &t, &g, &err), HS_OK);
    json_t *graph = hs_topology_graph_json(g);
    char *text = json_dumps(graph, JSON_COMPACT);
    assert_string_equal(text, "{\"nodes\":[{\"id\":\"x\",\"kind\":null},"
                              "{\"id\":\"y\",\"kind\":null},{\"id\":\"z\","
                              "\"kind\":null}],\"edges\":[{\"from\":\"x\",\"to\":"
                              "\"y\",\"bidirectional\":false},{\"from\":\"y\","
                              "\"to\":\"z\",\"bidirectional\":false}]}");
    free(text);
    json_decref(graph);
    hl_topology_free(g);

    /* The trash: 7 days, then the purge takes the file too. */
    assert_int_equal(hs_topologies_trash(&app, t.id, &owner, NULL, &back, &err),
                     HS_OK);
    assert_int_equal(back.deleted_at, 1000000);
    hs_topology_rec_free(&back);
    hs_clock_set(clock, 1000000 + 7 * 86400 + 1);
    assert_int_equal(hs_topologies_restore(&app, t.id, &owner, NULL, &back, &err),
                     HS_ERR_CONFLICT);
    size_t purged = 0;
    assert_int_equal(hs_topologies_purge(&app, &purged, &err), HS_OK);
    assert_int_equal(purged, 1);
    int exists = 1;
    assert_int_equal(hs_blob_exists(app.blobs, t.blob_key, &exists, &err),
                     HS_OK);
    assert_false(exists);
    hs_topology_rec_free(&t);
    hs_datadir_close(dd);
    hs_clock_free(clock);
    tu_rm_rf(dir);
}

/* An incident file is told apart at upload, counted, and refused where
 * samples are needed; samples the other way round. */
static void incident_datasets_have_their_kind(void **state)
{
    (void)state;
    char dir[] = "/tmp/healer-svc-XXXXXX";
    hs_error err = {0};
    hs_datadir *dd = NULL;
    hs_user owner;
    hs_clock *clock = hs_clock_manual(1000000);
    hs_app app = clocked_app(dir, clock, &dd, &owner);
    const char inc[] = "incident_id,node,timestamp,cpu,mem\n"
                       "i1,db,1700000000,0.5,1\ni1,db,1700000030,0.9,1\n"
                       "i1,web,2023-11-14T22:13:50Z,0.2,2\ni2,db,1700000600,0.1,1\n";
    const char plain[] = "cpu,mem,label\n1,2,a\n3,4,b\n";
    char key[HS_BLOB_KEY_MAX];
    hs_dataset_rec d, p;
    hl_error csv_err;
    hs_incident_counts counts;
    assert_int_equal(hs_blob_put(app.blobs, "upload", inc, strlen(inc), key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_datasets_ingest(&app, owner.id, "inc.csv", key,
                                        strlen(inc), &d, &csv_err, &err),
                     HS_OK);
    assert_int_equal(hs_dataset_kind_of(d.profile_json, &counts),
                     HS_DATASET_INCIDENTS);
    assert_int_equal(counts.incidents, 2);
    assert_int_equal(counts.nodes, 2);
    assert_int_equal(counts.rows, 4);
    assert_int_equal(d.rows, 4);
    assert_int_equal(d.features, 2);
    assert_int_equal(hs_blob_put(app.blobs, "upload", plain, strlen(plain), key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_datasets_ingest(&app, owner.id, "plain.csv", key,
                                        strlen(plain), &p, &csv_err, &err),
                     HS_OK);
    assert_int_equal(hs_dataset_kind_of(p.profile_json, &counts),
                     HS_DATASET_SAMPLES);
    assert_int_equal(counts.incidents, 0);
    assert_int_equal(hs_dataset_check_kind(&p, HS_DATASET_SAMPLES, "x", &err),
                     HS_OK);
    assert_int_equal(hs_dataset_check_kind(&d, HS_DATASET_SAMPLES, "dataset_id",
                                           &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "dataset_id");
    assert_non_null(strstr(err.message, "is an incident file"));
    assert_int_equal(hs_dataset_check_kind(&p, HS_DATASET_INCIDENTS,
                                           "dataset_id", &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "is not an incident file"));

    hs_dataset_rec_free(&d);
    /* A bad incident file is refused at upload, with its line. */
    const char bad[] = "incident_id,node,timestamp,cpu\ni1,db,noon,1\n";
    assert_int_equal(hs_blob_put(app.blobs, "upload", bad, strlen(bad), key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_datasets_ingest(&app, owner.id, "bad.csv", key,
                                        strlen(bad), &d, &csv_err, &err),
                     HS_ERR_INVALID);
    assert_int_equal(csv_err.line, 2);
    hs_dataset_rec_free(&p);
    hs_datadir_close(dd);
    hs_clock_free(clock);
    tu_rm_rf(dir);
}

/* Models and diagnoses share the datasets' trash rule (trash.h): a model
 * in the trash is never served by the cache; both restore for 7 days,
 * then the purge deletes them with their blobs. */
static void model_and_diagnosis_trash_last_seven_days(void **state)
{
    (void)state;
    char dir[] = "/tmp/healer-svc-XXXXXX";
    hs_error err = {0};
    hs_datadir *dd = NULL;
    hs_user owner, other = {0};
    hs_clock *clock = hs_clock_manual(2000000);
    hs_app app = clocked_app(dir, clock, &dd, &owner);
    assert_int_equal(hs_model_cache_new(2, &app.models, &err), HS_OK);
    assert_int_equal(hs_accounts_create_user(&app, hs_actor_cli(), "other", "long enough 2", 0, NULL,
                                             &other.id, &err),
                     HS_OK);
    hl_model *m = small_model();
    hs_model_rec rec, back;
    hs_model_ref *ref = NULL;
    assert_int_equal(hs_models_save(&app, owner.id, "m", 0, 0, m, NULL, &rec,
                                    &err),
                     HS_OK);
    hl_model_free(m);
    assert_int_equal(hs_models_acquire(&app, rec.id, &owner, &ref, NULL, &err),
                     HS_OK); /* cached now */
    hs_models_release(&app, ref);

    /* Someone else cannot trash it; its owner can, and then nothing can use
     * it, though it can still be read. */
    assert_int_equal(hs_models_trash(&app, rec.id, &other, NULL, &back, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_models_trash(&app, rec.id, &owner, NULL, &back, &err), HS_OK);
    assert_int_equal(back.deleted_at, 2000000);
    hs_model_rec_free(&back);
    assert_int_equal(hs_models_acquire(&app, rec.id, &owner, &ref, NULL, &err),
                     HS_ERR_NOTFOUND);
    assert_non_null(strstr(err.message, "in the trash"));
    /* Deleting again keeps the first time: the 7 days do not restart. */
    hs_clock_advance(clock, 86400);
    assert_int_equal(hs_models_trash(&app, rec.id, &owner, NULL, &back, &err), HS_OK);
    assert_int_equal(back.deleted_at, 2000000);
    hs_model_rec_free(&back);
    assert_int_equal(hs_models_restore(&app, rec.id, &owner, NULL, &back, &err),
                     HS_OK);
    assert_int_equal(back.deleted_at, 0);
    hs_model_rec_free(&back);
    assert_int_equal(hs_models_acquire(&app, rec.id, &owner, &ref, NULL, &err),
                     HS_OK);
    hs_models_release(&app, ref);

    /* A diagnosis made with it, with its results and input blobs. */
    hs_diagnosis_rec d = {0}, dback;
    d.owner_id = owner.id;
    d.model_id = rec.id;
    snprintf(d.name, sizeof d.name, "d");
    d.rows = 1;
    d.summary_json = "{}";
    d.created_at = hs_clock_now(clock);
    assert_int_equal(hs_blob_put(app.blobs, "results", "x", 1, d.blob_key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_blob_put(app.blobs, "input", "y", 1, d.input_blob_key,
                                 &err),
                     HS_OK);
    assert_int_equal(hs_store_diagnosis_create(app.store, &d, &err), HS_OK);
    assert_int_equal(hs_diagnoses_trash(&app, d.id, &owner, NULL, &dback, &err),
                     HS_OK);
    assert_int_equal(dback.deleted_at, hs_clock_now(clock));
    assert_int_equal(hs_diagnoses_check_live(&dback, "x", &err),
                     HS_ERR_NOTFOUND);
    hs_diagnosis_rec_free(&dback);
    assert_int_equal(hs_models_trash(&app, rec.id, &owner, NULL, &back, &err), HS_OK);
    hs_model_rec_free(&back);

    /* 7 days later: too late to restore either; then the purge. */
    size_t purged = 0;
    hs_clock_advance(clock, 7 * 86400 - 1);
    assert_int_equal(hs_models_purge(&app, &purged, &err), HS_OK);
    assert_int_equal(purged, 0);
    hs_clock_advance(clock, 1);
    assert_int_equal(hs_models_restore(&app, rec.id, &owner, NULL, &back, &err),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "model"));
    assert_non_null(strstr(err.message, "7 days"));
    assert_int_equal(hs_diagnoses_restore(&app, d.id, &owner, NULL, &dback, &err),
                     HS_ERR_CONFLICT);
    assert_non_null(strstr(err.message, "diagnosis"));
    hs_clock_advance(clock, 1);
    assert_int_equal(hs_diagnoses_purge(&app, &purged, &err), HS_OK);
    assert_int_equal(purged, 2); /* results and input */
    assert_int_equal(hs_models_purge(&app, &purged, &err), HS_OK);
    assert_int_equal(purged, 1);
    assert_int_equal(hs_models_restore(&app, rec.id, &owner, NULL, &back, &err),
                     HS_ERR_NOTFOUND);
    assert_int_equal(hs_diagnoses_get(&app, d.id, &owner, &dback, &err),
                     HS_ERR_NOTFOUND);
    int exists = 1;
    assert_int_equal(hs_blob_exists(app.blobs, rec.blob_key, &exists, &err),
                     HS_OK);
    assert_false(exists);
    assert_int_equal(hs_blob_exists(app.blobs, d.input_blob_key, &exists,
                                    &err),
                     HS_OK);
    assert_false(exists);
    hs_model_rec_free(&rec);
    hs_model_cache_free(app.models);
    hs_datadir_close(dd);
    hs_clock_free(clock);
    tu_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(train_params_from_json),
        cmocka_unit_test(train_params_errors_name_the_field),
        cmocka_unit_test(train_params_walk_the_tables),
        cmocka_unit_test(algorithms_json),
        cmocka_unit_test(rows_to_dataset_and_run),
        cmocka_unit_test(rows_errors),
        cmocka_unit_test(config_keys_and_ranges),
        cmocka_unit_test(config_file),
        cmocka_unit_test(csrf_key_shared_through_the_store),
        cmocka_unit_test(old_server_key_moved_into_the_store),
        cmocka_unit_test(model_cache_shares_and_survives_delete),
        cmocka_unit_test(dataset_trash_lasts_seven_days),
        cmocka_unit_test(pipeline_without_params),
        cmocka_unit_test(large_upload_ingested_by_job),
        cmocka_unit_test(ingest_ended_meanwhile_keeps_file),
        cmocka_unit_test(ingest_sweep_ends_orphans),
        cmocka_unit_test(retried_ingestion_in_place),
        cmocka_unit_test(every_job_type_gives_an_outage_back),
        cmocka_unit_test(model_and_diagnosis_trash_last_seven_days),
        cmocka_unit_test(topology_upload_limit_and_trash),
        cmocka_unit_test(incident_datasets_have_their_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
