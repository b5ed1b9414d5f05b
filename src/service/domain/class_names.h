/* domain/class_names.h - a model's class names in requests and records.
 *
 * The API's class_names object ({"LABEL": {"name", "description",
 * "action"}, ...}: PUT /models/{id}/class-names, a training job's
 * params.class_names) read into the engine's table and held to the
 * engine's rules (healer/classnames.h: hl_class_names_add, the same as
 * `healer train --class-names`), each refusal naming its field; and the
 * JSON text a model record keeps (hs_model_rec.class_names_json).
 */
#ifndef HEALER_HS_CLASS_NAMES_H
#define HEALER_HS_CLASS_NAMES_H

#include <jansson.h>

#include "base/error.h"
#include "healer/healer.h"

/* Reads obj (the class_names object; `prefix` is its field name, e.g.
 * "class_names" or "params.class_names") into a new table *out, checking
 * every entry and, when classes is non-NULL, that each label is one of
 * classes[0..n_classes). Refusals: HS_ERR_MALFORMED for obj not an
 * object, an entry not an object, a "name" missing or not a string, a
 * "description" or "action" neither a string nor null, or another key
 * (field PREFIX.LABEL[.KEY]); HS_ERR_INVALID for a rule of the engine's
 * (PREFIX.LABEL.name, ...description, ...action, or PREFIX.LABEL for the
 * label itself: empty, too long, not a class). */
hs_status hs_class_names_from_json(const json_t *obj, const char *prefix,
                                   char *const *classes, size_t n_classes,
                                   hl_class_names **out, hs_error *err);

/* t as the record's compact JSON text (malloc'ed; "{}" for NULL or an
 * empty table), or NULL when out of memory. */
char *hs_class_names_text(const hl_class_names *t);

/* Gives m (held alone: just trained) the class names of a record's
 * class_names_json (NULL: none), keeping those whose label is one of m's
 * classes: a retrained model inherits its parent's names. */
hs_status hs_class_names_inherit(const char *class_names_json, hl_model *m,
                                 hs_error *err);

/* The labels of a model summary's JSON (its "classes" array) as a
 * malloc'ed array of borrowed strings (*n of them, 0 for a summary
 * without classes: then no label is one); NULL only when out of memory. */
const char **hs_class_names_labels(const json_t *summary, size_t *n);

#endif
