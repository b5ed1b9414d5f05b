/* codec.h - the byte-level pieces of model files, shared by the container
 * (model_io.c) and every learner's own sections.
 *
 * All integers little-endian, floats as IEEE-754 bit patterns, strings as
 * u32 length + bytes. Writers never fail midway: the first failed
 * allocation sets `failed` and later writes do nothing, so a writer checks
 * once at the end. Readers never trust a count: a read past the end sets
 * `failed` and yields zeros, and r_count checks a count against the bytes
 * that remain before anything is allocated for it.
 */
#ifndef HEALER_CODEC_H
#define HEALER_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "healer/error.h"

#define HL__MAX_STRING 65536

/* ---- writing ---- */

typedef struct hl__wbuf {
    uint8_t *p;
    size_t len, cap;
    uint32_t sections; /* sections written so far */
    int failed;
} hl__wbuf;

void hl__w_bytes(hl__wbuf *w, const void *src, size_t n);
void hl__w_u32(hl__wbuf *w, uint32_t v);
void hl__w_u64(hl__wbuf *w, uint64_t v);
void hl__w_f32(hl__wbuf *w, float f);
void hl__w_f64(hl__wbuf *w, double d);
void hl__w_str(hl__wbuf *w, const char *s);
void hl__w_patch_u64(hl__wbuf *w, size_t at, uint64_t v);

/* A section is `u32 tag, u32 reserved(0), u64 length, payload`: begin
 * writes the head with a placeholder length and returns where it is; end
 * patches it once the payload is written. */
size_t hl__w_section_begin(hl__wbuf *w, uint32_t tag);
void hl__w_section_end(hl__wbuf *w, size_t at);

/* ---- reading ---- */

typedef struct hl__rbuf {
    const uint8_t *p;
    size_t len, pos;
    int failed; /* set once a read would pass the end */
} hl__rbuf;

/* 1 when n more bytes are there; else sets failed and returns 0. */
int hl__r_need(hl__rbuf *r, size_t n);
void hl__r_bytes(hl__rbuf *r, void *dst, size_t n);
uint32_t hl__r_u32(hl__rbuf *r);
uint64_t hl__r_u64(hl__rbuf *r);
float hl__r_f32(hl__rbuf *r);
double hl__r_f64(hl__rbuf *r);
/* A u32 count of items of at least item_bytes each that must fit in what
 * is left and be <= max; 0 with r->failed set otherwise. */
size_t hl__r_count(hl__rbuf *r, size_t item_bytes, size_t max);
/* A string without embedded NUL, malloc'ed; NULL (failed set) otherwise. */
char *hl__r_str(hl__rbuf *r);

struct hl__learner;

/* What section readers need: the file's name for messages, and the
 * registry (model_io.c hands it in), for a learner whose sections hold
 * other learners' (the stack). */
typedef struct hl__io_ctx {
    const char *name;
    hl_error *err;
    const struct hl__learner *(*find)(const char *name);
} hl__io_ctx;

/* HL_ERR_FORMAT "NAME: corrupted model file (WHAT)". */
hl_status hl__io_corrupt(const hl__io_ctx *io, const char *what);

/* CRC-32 (IEEE 802.3) of n bytes. */
uint32_t hl__crc32(const uint8_t *p, size_t n);

#endif
