/* params.c - one parameter spec, as text and as a checked value.
 *
 * The CLI parses flag values and the web API checks JSON values through
 * these functions, so both accept exactly the ranges of the tables, say
 * them the same way ("1..100000", "[0.0001, 1]", "0 (off) or 2..20") and
 * name the parameter in err->field. Numbers are read and printed in the C
 * locale: a host program's locale must not turn "0.05" into an error.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "healer/params.h"
#include "internal.h"
#include "learner.h"

const char *hl_param_type_name(hl_param_type t)
{
    switch (t) {
    case HL_PARAM_INT:
    case HL_PARAM_SEED:
        return "int";
    case HL_PARAM_REAL:
        return "float";
    case HL_PARAM_BOOL:
        return "bool";
    case HL_PARAM_CHOICE:
        return "choice";
    }
    return "?";
}

static size_t n_choices(const hl_param_spec *s)
{
    size_t n = 0;
    while (s->choices && s->choices[n])
        n++;
    return n;
}

/* snprintf that keeps appending at *used, never past cap. */
static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
    HL__PRINTF(4, 5);

static void append(char *buf, size_t cap, size_t *used, const char *fmt, ...)
{
    if (*used >= cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, cap - *used, fmt, ap);
    va_end(ap);
    *used += n > 0 ? (size_t)n : 0;
}

static void range_text(const hl_param_spec *s, char *buf, size_t cap,
                       size_t *used)
{
    if (s->flags & HL_PARAM_ZERO_OFF)
        append(buf, cap, used, "0 (off) or ");
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_SEED:
        append(buf, cap, used, "%" PRId64 "..%" PRId64, s->min.i, s->max.i);
        return;
    case HL_PARAM_REAL:
        append(buf, cap, used, "[%g, %g]", s->min.d, s->max.d);
        return;
    case HL_PARAM_BOOL:
        append(buf, cap, used, "true or false");
        return;
    case HL_PARAM_CHOICE: {
        size_t n = n_choices(s);
        for (size_t k = 0; k < n; k++)
            append(buf, cap, used, "%s%s",
                   k == 0      ? ""
                   : k + 1 < n ? ", "
                               : " or ",
                   s->choices[k]);
        return;
    }
    }
}

int hl_param_range(const hl_param_spec *s, char *buf, size_t cap)
{
    size_t used = 0;
    if (cap)
        buf[0] = '\0';
    hl__locale_scope sc = hl__c_locale_enter();
    range_text(s, buf, cap, &used);
    hl__c_locale_leave(sc);
    return (int)used;
}

int hl_param_format(const hl_param_spec *s, hl_param_value v, char *buf,
                    size_t cap)
{
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_SEED:
        return snprintf(buf, cap, "%" PRId64, v.i);
    case HL_PARAM_BOOL:
        return snprintf(buf, cap, "%s", v.i ? "true" : "false");
    case HL_PARAM_CHOICE:
        return snprintf(buf, cap, "%s",
                        v.i >= 0 && (size_t)v.i < n_choices(s) ? s->choices[v.i]
                                                               : "?");
    case HL_PARAM_REAL: {
        hl__locale_scope sc = hl__c_locale_enter();
        int n = snprintf(buf, cap, "%g", v.d);
        hl__c_locale_leave(sc);
        return n;
    }
    }
    return snprintf(buf, cap, "?");
}

static int in_range(const hl_param_spec *s, hl_param_value v)
{
    const int zero_ok = (s->flags & HL_PARAM_ZERO_OFF) != 0;
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_SEED:
        return (v.i >= s->min.i && v.i <= s->max.i) || (zero_ok && v.i == 0);
    case HL_PARAM_REAL:
        return isfinite(v.d) &&
               ((v.d >= s->min.d && v.d <= s->max.d) || (zero_ok && v.d == 0));
    case HL_PARAM_BOOL:
        return v.i == 0 || v.i == 1;
    case HL_PARAM_CHOICE:
        return v.i >= 0 && (size_t)v.i < n_choices(s);
    }
    return 0;
}

/* "invalid parameter NAME: must be [in ]RANGE[, got 'TEXT']" */
static hl_status refuse(const hl_param_spec *s, const char *text, hl_error *err)
{
    char range[160];
    hl_param_range(s, range, sizeof range);
    const int bare = (s->flags & HL_PARAM_ZERO_OFF) ||
                     s->type == HL_PARAM_BOOL || s->type == HL_PARAM_CHOICE;
    return hl__fail_field(err, HL_ERR_INVALID, s->name,
                          "invalid parameter %s: must be %s%s%s%.64s%s",
                          s->name, bare ? "" : "in ", range,
                          text ? ", got '" : "", text ? text : "",
                          text ? "'" : "");
}

hl_status hl_param_check(const hl_param_spec *s, hl_param_value v,
                         hl_error *err)
{
    return in_range(s, v) ? HL_OK : refuse(s, NULL, err);
}

/* Whole text -> value by type; 0 when it is not one. */
static int parse_int(const char *text, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end != '\0')
        return 0;
    *out = (int64_t)v;
    return 1;
}

static int parse_seed(const char *text, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    /* strtoull skips blanks and wraps "-1": digits only. */
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || !isdigit((unsigned char)text[0]) || *end != '\0' ||
        v > (unsigned long long)INT64_MAX)
        return 0;
    *out = (int64_t)v;
    return 1;
}

static int parse_real(const char *text, double *out)
{
    char *end = NULL;
    errno = 0;
    hl__locale_scope sc = hl__c_locale_enter();
    double v = strtod(text, &end);
    hl__c_locale_leave(sc);
    if (errno || end == text || *end != '\0' || !isfinite(v))
        return 0;
    *out = v;
    return 1;
}

static int parse_name(const char *const *names, size_t n, const char *text,
                      int64_t *out)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(names[k], text) == 0) {
            *out = (int64_t)k;
            return 1;
        }
    return 0;
}

hl_status hl_param_parse(const hl_param_spec *s, const char *text,
                         hl_param_value *out, hl_error *err)
{
    static const char *const BOOLS[] = {"false", "true"};
    hl_param_value v = {0, 0.0};
    int ok = 0;
    switch (s->type) {
    case HL_PARAM_INT:
        ok = parse_int(text, &v.i);
        break;
    case HL_PARAM_SEED:
        ok = parse_seed(text, &v.i);
        break;
    case HL_PARAM_REAL:
        ok = parse_real(text, &v.d);
        break;
    case HL_PARAM_BOOL:
        ok = parse_name(BOOLS, 2, text, &v.i);
        break;
    case HL_PARAM_CHOICE:
        ok = parse_name(s->choices, n_choices(s), text, &v.i);
        break;
    }
    if (!ok || !in_range(s, v))
        return refuse(s, text, err);
    *out = v;
    return HL_OK;
}

/* ---- values in their structs (learner.h) ---- */

hl_param_value hl__param_load(const hl_param_spec *s, const void *at)
{
    hl_param_value v = {0, 0.0};
    int i;
    uint64_t u;
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_BOOL:
    case HL_PARAM_CHOICE:
        memcpy(&i, at, sizeof i);
        v.i = i;
        break;
    case HL_PARAM_SEED:
        memcpy(&u, at, sizeof u);
        v.i = (int64_t)u;
        break;
    case HL_PARAM_REAL:
        memcpy(&v.d, at, sizeof v.d);
        break;
    }
    return v;
}

void hl__param_store(const hl_param_spec *s, void *at, hl_param_value v)
{
    int i = (int)v.i;
    uint64_t u = (uint64_t)v.i;
    switch (s->type) {
    case HL_PARAM_INT:
    case HL_PARAM_BOOL:
    case HL_PARAM_CHOICE:
        memcpy(at, &i, sizeof i);
        break;
    case HL_PARAM_SEED:
        memcpy(at, &u, sizeof u);
        break;
    case HL_PARAM_REAL:
        memcpy(at, &v.d, sizeof v.d);
        break;
    }
}

/* A value read from a file for spec s: one its struct can hold. The
 * range is not checked: a model trained under the wider ranges of an
 * older version stays readable. */
int hl__param_value_fits(const hl_param_spec *s, hl_param_value v)
{
    switch (s->type) {
    case HL_PARAM_INT:
        return v.i >= INT_MIN && v.i <= INT_MAX;
    case HL_PARAM_SEED:
        return v.i >= 0;
    case HL_PARAM_REAL:
        return isfinite(v.d);
    case HL_PARAM_BOOL:
    case HL_PARAM_CHOICE:
        return hl_param_check(s, v, NULL) == HL_OK;
    }
    return 0;
}

/* The block holds nothing but what the learner's table describes, so the
 * table's defaults are the whole default block. */
void hl__learner_defaults(const hl__learner *l, void *block)
{
    memset(block, 0, HL_LEARNER_PARAMS_BYTES);
    for (size_t k = 0; k < l->info.n_params; k++)
        hl__param_store(&l->info.params[k],
                        (unsigned char *)block + l->info.params[k].offset,
                        l->info.params[k].def);
}
