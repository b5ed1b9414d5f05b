/* healer/classnames.h - what a fault class is called, what it means and
 * what to do first: per label of a model, a display name, a one-line
 * description and the recommended first action (a runbook line or link).
 *
 * A table of them is read from a CSV (`label,name,description,action`,
 * header required, read by csv.c's text-table reader), checked against a
 * model's classes, and carried by the model (its CLASS_NAMES file section;
 * older files have none). The limits are defined here once and every
 * entry point (CLI, API, UI) checks them through hl_class_names_add.
 * Labels not listed simply have no name.
 */
#ifndef HEALER_CLASSNAMES_H
#define HEALER_CLASSNAMES_H

#include <stddef.h>

#include "healer/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hl_model hl_model;

/* Longest field, in bytes of UTF-8. A name is a label on a chart and a
 * verdict card; a description one line of a card; an action a runbook line
 * or a link (URLs run long). */
#define HL_CLASS_NAME_MAX_BYTES 80
#define HL_CLASS_DESCRIPTION_MAX_BYTES 300
#define HL_CLASS_ACTION_MAX_BYTES 500
/* A table holds at most this many entries (a model's classes are fewer),
 * and its CSV file is at most this large. */
#define HL_CLASS_NAMES_MAX_ENTRIES 4096
#define HL_CLASS_NAMES_MAX_FILE_BYTES ((size_t)4 << 20)

/* One class's entry. Strings are owned by the table; description and
 * action may be "" (never NULL); name is never empty. */
typedef struct hl_class_info {
    char *label;
    char *name;
    char *description;
    char *action;
} hl_class_info;

/* Entries in the order added, labels unique. */
typedef struct hl_class_names {
    size_t n;
    hl_class_info *v;
    size_t cap;
} hl_class_names;

/* The CSV's columns, in their usual order (static). */
extern const char *const hl_class_names_columns[4];

/* An empty table, or NULL when out of memory. Free with
 * hl_class_names_free (NULL is fine). */
hl_class_names *hl_class_names_new(void);
void hl_class_names_free(hl_class_names *t);

/* Checks one entry and appends a copy. Refusals, each naming the field in
 * err->field ("label", "name", "description", "action"): HL_ERR_INVALID
 * for an empty label or name, a duplicate label, text that is not valid
 * UTF-8 or holds a control character other than tab (a name, description
 * or action is one line); HL_ERR_LIMIT for a field over its
 * HL_CLASS_*_MAX_BYTES or a table already holding
 * HL_CLASS_NAMES_MAX_ENTRIES. description and action may be NULL for "".
 * The table is unchanged on error. */
hl_status hl_class_names_add(hl_class_names *t, const char *label,
                             const char *name, const char *description,
                             const char *action, hl_error *err);

/* Reads a class-names CSV held in memory (`name` in messages) or a file.
 * Errors are the reader's (healer/dataset.h: missing file, missing or
 * unknown column, invalid UTF-8, ...) and hl_class_names_add's, located at
 * the file's line and column. On success *out is a new table (possibly
 * empty: a header alone names nothing). */
hl_status hl_class_names_parse_csv(const char *data, size_t len,
                                   const char *name, hl_class_names **out,
                                   hl_error *err);
hl_status hl_class_names_load(const char *path, hl_class_names **out,
                              hl_error *err);

/* HL_ERR_DATA (err->field "label") when an entry's label is not one of
 * classes[0..n_classes): the message names it and lists the classes;
 * *bad (may be NULL) is then that entry's index. */
hl_status hl_class_names_check(const hl_class_names *t, char *const *classes,
                               size_t n_classes, size_t *bad, hl_error *err);

/* The entry of label, or NULL. */
const hl_class_info *hl_class_names_find(const hl_class_names *t,
                                         const char *label);

/* The model's class names, or NULL when it carries none (borrowed). */
const hl_class_names *hl_model_class_names(const hl_model *m);

/* Replaces the model's class names with a copy of t (NULL or empty: none),
 * after hl_class_names_check against its classes. Not thread-safe: only
 * for a model the caller holds alone (just trained or loaded, before it is
 * shared). The model is unchanged on error. */
hl_status hl_model_set_class_names(hl_model *m, const hl_class_names *t,
                                   hl_error *err);

#ifdef __cplusplus
}
#endif

#endif
