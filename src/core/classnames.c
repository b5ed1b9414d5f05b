/* classnames.c - tables of class names (healer/classnames.h): the one
 * check of an entry, reading them from CSV through csv.c's text-table
 * reader, checking them against a model's classes, and the model's
 * CLASS_NAMES file section.
 *
 * Every entry point goes through hl_class_names_add, so the CLI's file,
 * the API's JSON and a model file are held to the same rules and limits.
 * The table is small (at most a model's classes), so lookups are linear.
 */
#include <stdlib.h>
#include <string.h>

#include "container.h"
#include "healer/classnames.h"
#include "healer/dataset.h"
#include "internal.h"

const char *const hl_class_names_columns[4] = {"label", "name", "description",
                                               "action"};

hl_class_names *hl_class_names_new(void)
{
    return calloc(1, sizeof(hl_class_names));
}

static void info_free(hl_class_info *e)
{
    free(e->label);
    free(e->name);
    free(e->description);
    free(e->action);
}

void hl_class_names_free(hl_class_names *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        info_free(&t->v[i]);
    free(t->v);
    free(t);
}

const hl_class_info *hl_class_names_find(const hl_class_names *t,
                                         const char *label)
{
    if (!t || !label)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].label, label))
            return &t->v[i];
    return NULL;
}

/* One field's text: valid UTF-8, one line, at most max bytes, non-empty
 * when required. */
static hl_status check_text(const char *field, const char *s, size_t max,
                            int required, hl_error *err)
{
    size_t n = strlen(s);
    if (required && n == 0)
        return hl__fail_field(err, HL_ERR_INVALID, field,
                              "the %s is empty: a class's %s is required",
                              field, field);
    if (n > max)
        return hl__fail_field(err, HL_ERR_LIMIT, field,
                              "the %s is %zu bytes long; at most %zu are "
                              "allowed",
                              field, n, max);
    if (!hl__utf8_valid(s, n))
        return hl__fail_field(err, HL_ERR_INVALID, field,
                              "the %s is not valid UTF-8", field);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return hl__fail_field(err, HL_ERR_INVALID, field,
                                  "the %s holds a line break or another "
                                  "control character (byte %zu): it must "
                                  "be one line",
                                  field, i + 1);
    }
    return HL_OK;
}

hl_status hl_class_names_add(hl_class_names *t, const char *label,
                             const char *name, const char *description,
                             const char *action, hl_error *err)
{
    if (!t || !label || !name)
        return hl__fail(err, HL_ERR_INVALID, "class_names_add: bad argument");
    description = description ? description : "";
    action = action ? action : "";
    hl_status rc = check_text("label", label, HL_CLASS_NAME_MAX_BYTES, 1, err);
    if (rc == HL_OK)
        rc = check_text("name", name, HL_CLASS_NAME_MAX_BYTES, 1, err);
    if (rc == HL_OK)
        rc = check_text("description", description,
                        HL_CLASS_DESCRIPTION_MAX_BYTES, 0, err);
    if (rc == HL_OK)
        rc = check_text("action", action, HL_CLASS_ACTION_MAX_BYTES, 0, err);
    if (rc != HL_OK)
        return rc;
    if (hl_class_names_find(t, label))
        return hl__fail_field(err, HL_ERR_INVALID, "label",
                              "class '%s' is named twice: each label may "
                              "appear once",
                              label);
    if (t->n >= HL_CLASS_NAMES_MAX_ENTRIES)
        return hl__fail_field(err, HL_ERR_LIMIT, "label",
                              "more than %d classes named",
                              HL_CLASS_NAMES_MAX_ENTRIES);
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        hl_class_info *v = realloc(t->v, cap * sizeof *v);
        if (!v)
            return hl__fail(err, HL_ERR_NOMEM, "out of memory");
        t->v = v;
        t->cap = cap;
    }
    hl_class_info e = {hl__strdup(label), hl__strdup(name),
                       hl__strdup(description), hl__strdup(action)};
    if (!e.label || !e.name || !e.description || !e.action) {
        info_free(&e);
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    }
    t->v[t->n++] = e;
    return HL_OK;
}

/* ---- CSV ---- */

typedef struct csv_ctx {
    hl_class_names *t;
    const char *file;
} csv_ctx;

/* Adds a record, giving a refusal the file's line and column. */
static hl_status csv_row(void *arg, const char *const *f, size_t line,
                         hl_error *err)
{
    csv_ctx *c = arg;
    hl_error e;
    hl_error_clear(&e);
    hl_status rc = hl_class_names_add(c->t, f[0], f[1], f[2], f[3], &e);
    if (rc == HL_OK || !err)
        return rc;
    char field[sizeof e.field];
    memcpy(field, e.field, sizeof field);
    rc = hl__fail_at(err, rc, c->file, line, field, 0, "%s", e.message);
    memcpy(err->field, field, sizeof field);
    return rc;
}

static hl_status read_csv(const char *data, size_t len, const char *path,
                          const char *name, hl_class_names **out, hl_error *err)
{
    *out = NULL;
    csv_ctx c = {hl_class_names_new(), path ? path : name};
    if (!c.t)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    /* the longest field the rules allow, and a little: a longer one is
     * reported by the rules, which name the limit */
    size_t max_field = HL_CLASS_ACTION_MAX_BYTES * 4;
    hl_status rc =
        path ? hl_csv_read_table_file(path, HL_CLASS_NAMES_MAX_FILE_BYTES,
                                      hl_class_names_columns, 4, max_field,
                                      csv_row, &c, err)
             : hl_csv_read_table(data, len, name, hl_class_names_columns, 4,
                                 max_field, csv_row, &c, err);
    if (rc != HL_OK) {
        hl_class_names_free(c.t);
        return rc;
    }
    *out = c.t;
    return HL_OK;
}

hl_status hl_class_names_parse_csv(const char *data, size_t len,
                                   const char *name, hl_class_names **out,
                                   hl_error *err)
{
    if (!out)
        return hl__fail(err, HL_ERR_INVALID, "class_names: out is NULL");
    return read_csv(data, len, NULL, name ? name : "<memory>", out, err);
}

hl_status hl_class_names_load(const char *path, hl_class_names **out,
                              hl_error *err)
{
    if (!out || !path)
        return hl__fail(err, HL_ERR_INVALID, "class_names: bad argument");
    return read_csv(NULL, 0, path, path, out, err);
}

/* ---- against a model's classes ---- */

hl_status hl_class_names_check(const hl_class_names *t, char *const *classes,
                               size_t n_classes, size_t *bad, hl_error *err)
{
    for (size_t i = 0; t && i < t->n; i++) {
        size_t k = 0;
        while (k < n_classes && strcmp(classes[k], t->v[i].label))
            k++;
        if (k < n_classes)
            continue;
        if (bad)
            *bad = i;
        char list[512];
        hl__join_names(list, sizeof list, classes, n_classes);
        return hl__fail_field(err, HL_ERR_DATA, "label",
                              "'%s' is not a class of the training data; its "
                              "classes are: %s",
                              t->v[i].label, list);
    }
    return HL_OK;
}

const hl_class_names *hl_model_class_names(const hl_model *m)
{
    return m && m->class_info && m->class_info->n ? m->class_info : NULL;
}

static hl_status copy_table(const hl_class_names *t, hl_class_names **out,
                            hl_error *err)
{
    *out = NULL;
    if (!t || !t->n)
        return HL_OK;
    hl_class_names *c = hl_class_names_new();
    if (!c)
        return hl__fail(err, HL_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < t->n; i++) {
        const hl_class_info *e = &t->v[i];
        hl_status rc = hl_class_names_add(c, e->label, e->name, e->description,
                                          e->action, err);
        if (rc != HL_OK) {
            hl_class_names_free(c);
            return rc;
        }
    }
    *out = c;
    return HL_OK;
}

hl_status hl_model_set_class_names(hl_model *m, const hl_class_names *t,
                                   hl_error *err)
{
    if (!m)
        return hl__fail(err, HL_ERR_INVALID, "set_class_names: model is NULL");
    hl_status rc = hl_class_names_check(t, m->summary.class_names,
                                        m->summary.n_classes, NULL, err);
    hl_class_names *c = NULL;
    if (rc == HL_OK)
        rc = copy_table(t, &c, err);
    if (rc != HL_OK)
        return rc;
    hl_class_names_free(m->class_info);
    m->class_info = c;
    return HL_OK;
}

/* ---- the model file's CLASS_NAMES section ---- */

void hl__class_names_write(const hl_class_names *t, hl__wbuf *w)
{
    hl__w_u32(w, (uint32_t)t->n);
    for (size_t i = 0; i < t->n; i++) {
        hl__w_str(w, t->v[i].label);
        hl__w_str(w, t->v[i].name);
        hl__w_str(w, t->v[i].description);
        hl__w_str(w, t->v[i].action);
    }
}

hl_status hl__class_names_read(hl__rbuf *r, const hl_model_summary *s,
                               const hl__io_ctx *io, hl_class_names **out)
{
    /* an entry is at least four empty strings' lengths */
    size_t n = hl__r_count(r, 16, HL_CLASS_NAMES_MAX_ENTRIES);
    hl_class_names *t = hl_class_names_new();
    if (!t)
        return hl__fail(io->err, HL_ERR_NOMEM, "out of memory");
    hl_status rc = r->failed ? hl__io_corrupt(io, "class names") : HL_OK;
    for (size_t i = 0; rc == HL_OK && i < n; i++) {
        char *f[4];
        for (size_t k = 0; k < 4; k++)
            f[k] = hl__r_str(r);
        hl_error e;
        if (r->failed || !f[0] || !f[1] || !f[2] || !f[3] ||
            hl_class_names_add(t, f[0], f[1], f[2], f[3], &e) != HL_OK)
            rc = hl__io_corrupt(io, "class names");
        for (size_t k = 0; k < 4; k++)
            free(f[k]);
    }
    if (rc == HL_OK &&
        hl_class_names_check(t, s->class_names, s->n_classes, NULL, NULL))
        rc = hl__io_corrupt(io, "class names");
    if (rc != HL_OK) {
        hl_class_names_free(t);
        return rc;
    }
    *out = t;
    return HL_OK;
}
