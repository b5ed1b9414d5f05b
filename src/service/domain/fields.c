/* domain/fields.c - one field of a JSON request (see fields.h). */
#include <string.h>

#include "domain/auth.h"
#include "domain/fields.h"

hs_status hs_field_id(const json_t *request, const char *key, int required,
                      hs_id *out, hs_error *err)
{
    const json_t *v = json_object_get(request, key);
    *out = 0;
    if (!v || json_is_null(v))
        return required ? hs_fail_field(err, HS_ERR_MALFORMED, key,
                                        "'%s' is required", key)
                        : HS_OK;
    if (!json_is_integer(v) || json_integer_value(v) <= 0)
        return hs_fail_field(err, HS_ERR_MALFORMED, key,
                             "'%s' must be a positive integer id", key);
    *out = (hs_id)json_integer_value(v);
    return HS_OK;
}

hs_status hs_field_string(const json_t *request, const char *key,
                          int required, size_t max_bytes, const char **out,
                          hs_error *err)
{
    const json_t *v = json_object_get(request, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return required ? hs_fail_field(err, HS_ERR_MALFORMED, key,
                                        "'%s' is required", key)
                        : HS_OK;
    if (!json_is_string(v))
        return hs_fail_field(err, HS_ERR_MALFORMED, key,
                             "'%s' must be a string", key);
    if (strlen(json_string_value(v)) > max_bytes)
        return hs_fail_field(err, HS_ERR_INVALID, key,
                             "'%s' is longer than %zu bytes", key, max_bytes);
    *out = json_string_value(v);
    return HS_OK;
}

hs_status hs_field_name(const char *key, const char *name, size_t max_bytes,
                        hs_error *err)
{
    size_t n = name ? strlen(name) : 0;
    if (!n)
        return hs_fail_field(err, HS_ERR_INVALID, key, "'%s' is empty", key);
    if (n > max_bytes)
        return hs_fail_field(err, HS_ERR_INVALID, key,
                             "'%s' is %zu bytes long; at most %zu are allowed",
                             key, n, max_bytes);
    if (hs_auth_check_utf8(name, n) != HS_OK)
        return hs_fail_field(err, HS_ERR_INVALID, key,
                             "'%s' is not valid UTF-8", key);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c < ' ' || c == 0x7f)
            return hs_fail_field(err, HS_ERR_INVALID, key,
                                 "'%s' may not contain control characters "
                                 "(byte %zu)",
                                 key, i + 1);
    }
    return HS_OK;
}

hs_status hs_field_bool(const json_t *request, const char *key, int def,
                        int *out, hs_error *err)
{
    const json_t *v = json_object_get(request, key);
    *out = def;
    if (!v || json_is_null(v))
        return HS_OK;
    if (!json_is_boolean(v))
        return hs_fail_field(err, HS_ERR_MALFORMED, key,
                             "'%s' must be true or false", key);
    *out = json_is_true(v);
    return HS_OK;
}
