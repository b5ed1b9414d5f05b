/* base/backends.h - what the tables of backends by URL scheme share: the
 * list of the URL forms a table accepts, for its messages ("this build
 * supports sqlite:PATH, postgresql://USER@HOST:PORT/DB").
 *
 * The record store (store/store_open.c) and the blob store
 * (blob/blob_open.c) each keep a table of {scheme, form, open} rows of
 * their own type; both say what they support the same way, from the rows,
 * so a new row is listed without touching a message. Header-only.
 */
#ifndef HEALER_HS_BACKENDS_H
#define HEALER_HS_BACKENDS_H

#include <stddef.h>
#include <stdio.h>

/* Writes "A, B, C" into buf[size] (cut short when it does not fit) from n
 * rows of a table `stride` bytes apart, `first_form` pointing at the first
 * row's `const char *form` member; returns buf. */
static inline const char *hs_backend_forms(char *buf, size_t size,
                                           const char *const *first_form,
                                           size_t n, size_t stride)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        const char *form =
            *(const char *const *)((const char *)first_form + i * stride);
        int w = snprintf(buf + used, size - used, "%s%s", i ? ", " : "", form);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    return buf;
}

#endif
