/* train_params.c - JSON to hl_train_params through the parameter tables
 * (see train_params.h).
 *
 * One generic conversion per parameter type; the names, ranges and
 * messages all come from the engine, so a parameter added to a table is
 * accepted here with no change, and refused here exactly when the CLI
 * refuses it.
 */
#include <string.h>

#include "domain/train_params.h"

/* Converts one JSON value by the spec's type; 0 when the JSON type is
 * wrong (*why says what was expected). */
static int json_to_value(const hl_param_spec *s, const json_t *j,
                         hl_param_value *v, const char **why)
{
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_SEED:
        *why = "must be a whole number";
        v->i = json_is_integer(j) ? (int64_t)json_integer_value(j) : 0;
        return json_is_integer(j);
    case HL_PARAM_REAL:
        *why = "must be a number";
        v->d = json_is_number(j) ? json_number_value(j) : 0.0;
        return json_is_number(j);
    case HL_PARAM_BOOL:
        *why = "must be true or false";
        v->i = json_is_true(j);
        return json_is_boolean(j);
    case HL_PARAM_CHOICE:
        *why = "must be a string";
        return json_is_string(j); /* parsed by name below */
    }
    return 0;
}

/* The label of the normal class: a string, not a number of the tables. */
static hs_status set_normal_class(hl_train_params *out, const json_t *j,
                                  hs_error *err)
{
    hl_error herr;
    hl_error_clear(&herr);
    if (!json_is_string(j))
        return hs_fail_field(err, HS_ERR_INVALID, "params.normal_class",
                             "invalid parameter normal_class: must be a "
                             "string");
    if (hl_train_params_set_normal_class(out, json_string_value(j), &herr) !=
        HL_OK)
        return hs_fail_field(err, HS_ERR_INVALID, "params.normal_class", "%s",
                             herr.message);
    return HS_OK;
}

static hs_status set_param(hl_train_params *out, const char *key,
                           const json_t *j, hs_error *err)
{
    char field[HS_FIELD_MAX];
    if (strcmp(key, "normal_class") == 0)
        return set_normal_class(out, j, err);
    snprintf(field, sizeof field, "params.%.55s", key);
    const hl_param_spec *s = hl_train_params_spec(out, key);
    if (!s || (s->flags & HL_PARAM_CLI_ONLY))
        return hs_fail_field(err, HS_ERR_INVALID, field,
                             "invalid parameter %.64s: unknown parameter", key);
    hl_param_value v = {0, 0.0};
    const char *why = "";
    if (!json_to_value(s, j, &v, &why))
        return hs_fail_field(err, HS_ERR_INVALID, field,
                             "invalid parameter %s: %s", s->name, why);
    hl_error herr;
    hl_error_clear(&herr);
    hl_status rc = s->type == HL_PARAM_CHOICE
                       ? hl_param_parse(s, json_string_value(j), &v, &herr)
                       : HL_OK;
    if (rc == HL_OK)
        rc = hl_train_params_set(out, s->name, v, &herr);
    return rc == HL_OK
               ? HS_OK
               : hs_fail_field(err, HS_ERR_INVALID, field, "%s", herr.message);
}

hs_status hs_train_params_from_json(const json_t *params, const char *algo,
                                    hl_train_params *out, hs_error *err)
{
    hl_error herr;
    hl_error_clear(&herr);
    hl_train_params_init(out);
    if (algo && hl_train_params_set_algo(out, algo, &herr) != HL_OK)
        return hs_fail_field(err, HS_ERR_INVALID, "algo", "%s", herr.message);
    if (params && !json_is_object(params))
        return hs_fail_field(err, HS_ERR_INVALID, "params",
                             "'params' must be an object");
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)params, key, v)
    {
        hs_status st = set_param(out, key, v, err);
        if (st != HS_OK)
            return st;
    }
    /* The learner's rules between parameters. */
    if (hl_train_params_validate(out, &herr) != HL_OK) {
        char field[HS_FIELD_MAX];
        snprintf(field, sizeof field, "params.%.55s", herr.field);
        return hs_fail_field(err, HS_ERR_INVALID, field, "%s", herr.message);
    }
    return HS_OK;
}
