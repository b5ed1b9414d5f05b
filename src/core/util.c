/* util.c - errors, warnings, clock, threads and random numbers.
 *
 * The small services every other engine file needs. Errors are formatted
 * once, here, so that every message has the same "file:line: column" shape
 * that the CLI prints and the web service returns.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "healer/healer.h"
#include "internal.h"

const char *hl_version(void) { return HL_VERSION_STRING; }

hl_status hl__grow(void **v, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return HL_OK;
    size_t c = *cap ? *cap * 2 : 64;
    while (c < need)
        c *= 2;
    void *p = realloc(*v, c * size);
    if (!p)
        return HL_ERR_NOMEM;
    *v = p;
    *cap = c;
    return HL_OK;
}

const char *hl_status_name(hl_status code)
{
    switch (code) {
    case HL_OK: return "ok";
    case HL_ERR_NOMEM: return "nomem";
    case HL_ERR_IO: return "io";
    case HL_ERR_PARSE: return "parse";
    case HL_ERR_INVALID: return "invalid";
    case HL_ERR_LIMIT: return "limit";
    case HL_ERR_DATA: return "data";
    case HL_ERR_FORMAT: return "format";
    case HL_ERR_VERSION: return "version";
    case HL_ERR_CANCELLED: return "cancelled";
    case HL_ERR_INTERNAL: return "internal";
    case HL_ERR_DIVERGED: return "diverged";
    }
    return "unknown";
}

void hl_error_clear(hl_error *err)
{
    if (err)
        memset(err, 0, sizeof *err);
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    if (!src) {
        dst[0] = '\0';
        return;
    }
    snprintf(dst, cap, "%s", src);
}

static hl_status fail_v(hl_error *err, hl_status code, const char *field,
                        const char *file, size_t line, const char *column,
                        size_t column_index, const char *fmt, va_list ap)
{
    if (!err)
        return code;
    char what[sizeof err->message];
    vsnprintf(what, sizeof what, fmt, ap);
    err->code = code;
    copy_field(err->field, sizeof err->field, field);
    copy_field(err->file, sizeof err->file, file);
    copy_field(err->column, sizeof err->column, column);
    err->line = line;
    err->column_index = column_index;

    char where[sizeof err->file + sizeof err->column + 64];
    size_t used = 0;
    where[0] = '\0';
    if (file && *file)
        used += (size_t)snprintf(where + used, sizeof where - used, "%s", file);
    if (line && used < sizeof where)
        used += (size_t)snprintf(where + used, sizeof where - used, ":%zu", line);
    if (column && *column && column_index && used < sizeof where)
        used += (size_t)snprintf(where + used, sizeof where - used,
                                 "%scolumn '%s' (%zu)", used ? ": " : "",
                                 column, column_index);
    else if (column && *column && used < sizeof where)
        used += (size_t)snprintf(where + used, sizeof where - used,
                                 "%scolumn '%s'", used ? ": " : "", column);
    else if (column_index && used < sizeof where)
        used += (size_t)snprintf(where + used, sizeof where - used,
                                 "%scolumn %zu", used ? ": " : "", column_index);
    /* Location first, then as much of the text as fits. */
    size_t at = 0;
    if (used) {
        int n = snprintf(err->message, sizeof err->message, "%.500s: ", where);
        at = n > 0 ? (size_t)n : 0;
    }
    snprintf(err->message + at, sizeof err->message - at, "%.*s",
             (int)(sizeof err->message - at - 1), what);
    return code;
}

hl_status hl__fail(hl_error *err, hl_status code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hl_status rc = fail_v(err, code, NULL, NULL, 0, NULL, 0, fmt, ap);
    va_end(ap);
    return rc;
}

hl_status hl__fail_field(hl_error *err, hl_status code, const char *field,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hl_status rc = fail_v(err, code, field, NULL, 0, NULL, 0, fmt, ap);
    va_end(ap);
    return rc;
}

hl_status hl__fail_at(hl_error *err, hl_status code, const char *file,
                      size_t line, const char *column, size_t column_index,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hl_status rc =
        fail_v(err, code, NULL, file, line, column, column_index, fmt, ap);
    va_end(ap);
    return rc;
}

static hl_status warn_v(hl_warnings *w, const char *fmt, va_list ap)
{
    if (!w)
        return HL_OK;
    char buf[1024];
    vsnprintf(buf, sizeof buf, fmt, ap);
    char **items = realloc(w->items, (w->count + 1) * sizeof *items);
    if (!items)
        return HL_ERR_NOMEM;
    w->items = items;
    items[w->count] = hl__strdup(buf);
    if (!items[w->count])
        return HL_ERR_NOMEM;
    w->count++;
    return HL_OK;
}

hl_status hl_warnings_add(hl_warnings *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hl_status rc = warn_v(w, fmt, ap);
    va_end(ap);
    return rc;
}

void hl_warnings_free(hl_warnings *w)
{
    if (!w)
        return;
    hl__free_strings(w->items, w->count);
    w->items = NULL;
    w->count = 0;
}

int hl__cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 256 ? 256 : (int)n);
}

int hl__resolve_threads(int requested)
{
    return requested > 0 ? requested : hl__cpu_count();
}

double hl_clock_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

char *hl__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void hl__utf8_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
        /* Back to the start of the character the cut fell into (a
         * continuation byte is 10xxxxxx): it did not fit whole. */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

void hl__join_names(char *out, size_t cap, char *const *names, size_t n)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t j = 0; j < n && at + 8 < cap; j++) {
        int w = snprintf(out + at, cap - at, "%s%s", j ? ", " : "", names[j]);
        at = w < 0 ? at : at + (size_t)w;
    }
    if (at >= cap && cap >= 4)
        memcpy(out + cap - 4, "...", 4);
}

void hl__free_strings(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void hl__rng_seed(hl__rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t hl__rng_next(hl__rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double hl__rng_uniform(hl__rng *r)
{
    return (double)(hl__rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t hl__rng_below(hl__rng *r, uint64_t n)
{
    /* Lemire's multiply-shift with rejection: unbiased and branch-light. */
    uint64_t x = hl__rng_next(r);
    __uint128_t m = (__uint128_t)x * n;
    uint64_t low = (uint64_t)m;
    if (low < n) {
        uint64_t threshold = -n % n;
        while (low < threshold) {
            x = hl__rng_next(r);
            m = (__uint128_t)x * n;
            low = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

uint64_t hl__seed_mix(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ (b * 0x9E3779B97F4A7C15ull);
    return splitmix64(&x);
}

void hl__advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t begin = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(huge - 1);
    if (p && end > begin)
        (void)madvise((void *)begin, end - begin, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}
