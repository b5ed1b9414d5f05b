/* domain/class_names.c - class names from the API's JSON into the
 * engine's table (see class_names.h). The rules are the engine's, applied
 * by hl_class_names_add; this file only maps JSON types and names fields.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/class_names.h"
#include "domain/engine_json.h"

/* "PREFIX.LABEL" or "PREFIX.LABEL.KEY", cut to the field's size. */
static void field_name(char *out, const char *prefix, const char *label,
                       const char *key)
{
    char whole[HS_FIELD_MAX * 4];
    snprintf(whole, sizeof whole, "%s.%s%s%s", prefix, label, key ? "." : "",
             key ? key : "");
    hs_copy_message(out, HS_FIELD_MAX, whole); /* a long label is cut */
}

/* An optional text of an entry: a string, null or absent ("" then). */
static hs_status optional_text(const json_t *entry, const char *key,
                               const char *prefix, const char *label,
                               const char **out, hs_error *err)
{
    const json_t *v = json_object_get(entry, key);
    char field[HS_FIELD_MAX];
    *out = "";
    if (!v || json_is_null(v))
        return HS_OK;
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return HS_OK;
    }
    field_name(field, prefix, label, key);
    return hs_fail_field(err, HS_ERR_MALFORMED, field, "'%s' must be a string",
                         field);
}

static hs_status entry_shape(const json_t *entry, const char *prefix,
                             const char *label, hs_error *err)
{
    char field[HS_FIELD_MAX];
    field_name(field, prefix, label, NULL);
    if (!json_is_object(entry))
        return hs_fail_field(err, HS_ERR_MALFORMED, field,
                             "'%s' must be an object {\"name\", "
                             "\"description\", \"action\"}",
                             field);
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)entry, key, v)
    {
        if (strcmp(key, "name") && strcmp(key, "description") &&
            strcmp(key, "action")) {
            field_name(field, prefix, label, key);
            return hs_fail_field(err, HS_ERR_MALFORMED, field,
                                 "unknown field '%s': a class has only name, "
                                 "description and action",
                                 field);
        }
    }
    if (!json_is_string(json_object_get(entry, "name"))) {
        field_name(field, prefix, label, "name");
        return hs_fail_field(err, HS_ERR_MALFORMED, field,
                             "'%s' is required and must be a string", field);
    }
    return HS_OK;
}

static hs_status add_entry(hl_class_names *t, const json_t *entry,
                           const char *prefix, const char *label, hs_error *err)
{
    const char *description = "", *action = "";
    char field[HS_FIELD_MAX];
    hs_status st = entry_shape(entry, prefix, label, err);
    if (st == HS_OK)
        st = optional_text(entry, "description", prefix, label, &description,
                           err);
    if (st == HS_OK)
        st = optional_text(entry, "action", prefix, label, &action, err);
    if (st != HS_OK)
        return st;
    hl_error herr;
    hl_error_clear(&herr);
    hl_status hst = hl_class_names_add(
        t, label, json_string_value(json_object_get(entry, "name")),
        description, action, &herr);
    if (hst == HL_OK)
        return HS_OK;
    if (hst == HL_ERR_NOMEM)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    field_name(field, prefix, label,
               strcmp(herr.field, "label") ? herr.field : NULL);
    return hs_fail_field(err, HS_ERR_INVALID, field, "%s: %s", field,
                         herr.message);
}

hs_status hs_class_names_from_json(const json_t *obj, const char *prefix,
                                   char *const *classes, size_t n_classes,
                                   hl_class_names **out, hs_error *err)
{
    *out = NULL;
    if (!json_is_object(obj))
        return hs_fail_field(err, HS_ERR_MALFORMED, prefix,
                             "'%s' must be an object {\"LABEL\": {\"name\", "
                             "\"description\", \"action\"}, ...}",
                             prefix);
    hl_class_names *t = hl_class_names_new();
    if (!t)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    const char *label;
    const json_t *entry;
    hs_status st = HS_OK;
    json_object_foreach((json_t *)obj, label, entry)
    {
        if ((st = add_entry(t, entry, prefix, label, err)) != HS_OK)
            break;
    }
    size_t bad = 0;
    hl_error herr;
    if (st == HS_OK && classes &&
        hl_class_names_check(t, classes, n_classes, &bad, &herr) != HL_OK) {
        char field[HS_FIELD_MAX];
        field_name(field, prefix, t->v[bad].label, NULL);
        st = hs_fail_field(err, HS_ERR_INVALID, field, "%s: %s", field,
                           herr.message);
    }
    if (st != HS_OK) {
        hl_class_names_free(t);
        return st;
    }
    *out = t;
    return HS_OK;
}

char *hs_class_names_text(const hl_class_names *t)
{
    json_t *j = hs_json_class_names(t);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

const char **hs_class_names_labels(const json_t *summary, size_t *n)
{
    const json_t *classes = json_object_get(summary, "classes");
    size_t count = json_array_size(classes);
    const char **v = calloc(count + 1, sizeof *v); /* NULL: out of memory */
    *n = 0;
    if (!v)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        const char *s = json_string_value(json_array_get(classes, i));
        if (s)
            v[(*n)++] = s;
    }
    return v;
}

hs_status hs_class_names_inherit(const char *class_names_json, hl_model *m,
                                 hs_error *err)
{
    if (!class_names_json)
        return HS_OK;
    json_t *j = json_loads(class_names_json, 0, NULL);
    hl_class_names *stored = NULL, *kept = hl_class_names_new();
    hs_status st =
        kept ? hs_class_names_from_json(j, "class_names", NULL, 0, &stored, err)
             : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    const hl_model_summary *s = hl_model_summary_get(m);
    hl_error herr;
    for (size_t i = 0; st == HS_OK && i < stored->n; i++) {
        const hl_class_info *e = &stored->v[i];
        if (hl_class_names_check(&(hl_class_names){1, (hl_class_info *)e, 1},
                                 s->class_names, s->n_classes, NULL,
                                 NULL) != HL_OK)
            continue; /* a class the new model lacks */
        if (hl_class_names_add(kept, e->label, e->name, e->description,
                               e->action, &herr) != HL_OK)
            st = hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    if (st == HS_OK && hl_model_set_class_names(m, kept, &herr) != HL_OK)
        st = hs_fail(err, HS_ERR_INTERNAL, "class names: %s", herr.message);
    hl_class_names_free(stored);
    hl_class_names_free(kept);
    json_decref(j);
    return st;
}
