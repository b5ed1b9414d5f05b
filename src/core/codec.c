/* codec.c - little-endian writers and bounds-checked readers for model
 * files (see codec.h).
 *
 * Kept apart from model_io.c so that each learner can write and read its
 * own sections with exactly the container's rules, without the container
 * knowing what is inside them.
 */
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "internal.h"

/* ---- CRC-32 (IEEE 802.3), table built per call: no global state ---- */

uint32_t hl__crc32(const uint8_t *p, size_t n)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++)
        crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

/* ---- writer ---- */

void hl__w_bytes(hl__wbuf *w, const void *src, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *p = realloc(w->p, cap);
        if (!p) {
            w->failed = 1;
            return;
        }
        w->p = p;
        w->cap = cap;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

void hl__w_u32(hl__wbuf *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                    (uint8_t)(v >> 24)};
    hl__w_bytes(w, b, 4);
}

void hl__w_u64(hl__wbuf *w, uint64_t v)
{
    hl__w_u32(w, (uint32_t)v);
    hl__w_u32(w, (uint32_t)(v >> 32));
}

void hl__w_f32(hl__wbuf *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    hl__w_u32(w, u);
}

void hl__w_f64(hl__wbuf *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    hl__w_u64(w, u);
}

void hl__w_str(hl__wbuf *w, const char *s)
{
    size_t n = strlen(s);
    hl__w_u32(w, (uint32_t)n);
    hl__w_bytes(w, s, n);
}

void hl__w_patch_u64(hl__wbuf *w, size_t at, uint64_t v)
{
    if (w->failed)
        return;
    for (int i = 0; i < 8; i++)
        w->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

size_t hl__w_section_begin(hl__wbuf *w, uint32_t tag)
{
    hl__w_u32(w, tag);
    hl__w_u32(w, 0);
    size_t at = w->len;
    hl__w_u64(w, 0);
    w->sections++;
    return at;
}

void hl__w_section_end(hl__wbuf *w, size_t at)
{
    hl__w_patch_u64(w, at, (uint64_t)(w->len - at - 8));
}

/* ---- reader ---- */

int hl__r_need(hl__rbuf *r, size_t n)
{
    if (r->failed || n > r->len - r->pos) {
        r->failed = 1;
        return 0;
    }
    return 1;
}

void hl__r_bytes(hl__rbuf *r, void *dst, size_t n)
{
    if (!hl__r_need(r, n)) {
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, r->p + r->pos, n);
    r->pos += n;
}

uint32_t hl__r_u32(hl__rbuf *r)
{
    uint8_t b[4];
    hl__r_bytes(r, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

uint64_t hl__r_u64(hl__rbuf *r)
{
    uint64_t lo = hl__r_u32(r);
    return lo | (uint64_t)hl__r_u32(r) << 32;
}

float hl__r_f32(hl__rbuf *r)
{
    uint32_t u = hl__r_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

double hl__r_f64(hl__rbuf *r)
{
    uint64_t u = hl__r_u64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}

size_t hl__r_count(hl__rbuf *r, size_t item_bytes, size_t max)
{
    uint32_t n = hl__r_u32(r);
    if (r->failed || n > max ||
        (item_bytes && (uint64_t)n * item_bytes > r->len - r->pos)) {
        r->failed = 1;
        return 0;
    }
    return n;
}

char *hl__r_str(hl__rbuf *r)
{
    size_t n = hl__r_count(r, 1, HL__MAX_STRING);
    if (r->failed || !hl__r_need(r, n))
        return NULL;
    char *s = malloc(n + 1);
    if (!s) {
        r->failed = 1;
        return NULL;
    }
    memcpy(s, r->p + r->pos, n);
    s[n] = '\0';
    r->pos += n;
    if (strlen(s) != n) { /* embedded NUL: not a name we wrote */
        free(s);
        r->failed = 1;
        return NULL;
    }
    return s;
}

hl_status hl__io_corrupt(const hl__io_ctx *io, const char *what)
{
    return hl__fail(io->err, HL_ERR_FORMAT, "%s: corrupted model file (%s)",
                    io->name, what);
}
