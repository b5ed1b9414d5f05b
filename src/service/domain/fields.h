/* domain/fields.h - reading the fields of a JSON request in the domain.
 *
 * Job types (and later other services) take a JSON request whose fields
 * depend on the type, so the HTTP handler cannot check them all; these
 * read one field each and refuse it the same way everywhere: a missing
 * required field or one of the wrong JSON type is HS_ERR_MALFORMED (the
 * API's 400 bad_request), an acceptable type with an unacceptable value is
 * the caller's HS_ERR_INVALID. err->field names the field.
 */
#ifndef HEALER_HS_FIELDS_H
#define HEALER_HS_FIELDS_H

#include <jansson.h>
#include <stddef.h>

#include "base/error.h"
#include "store/records.h"

/* A positive integer id at `key`: *out (0 when absent and not required). */
hs_status hs_field_id(const json_t *request, const char *key, int required,
                      hs_id *out, hs_error *err);

/* A string at `key` of at most max_bytes bytes (NULL when absent and not
 * required; borrowed from the request). Too long is HS_ERR_INVALID. */
hs_status hs_field_string(const json_t *request, const char *key,
                          int required, size_t max_bytes, const char **out,
                          hs_error *err);

/* The rule for a name a user gives (a dataset's): 1..max_bytes bytes of
 * valid UTF-8 without control characters. HS_ERR_INVALID naming `key`
 * and what is wrong, else HS_OK. */
hs_status hs_field_name(const char *key, const char *name, size_t max_bytes,
                        hs_error *err);

/* A boolean at `key`: *out (def when absent or null). */
hs_status hs_field_bool(const json_t *request, const char *key, int def,
                        int *out, hs_error *err);

#endif
