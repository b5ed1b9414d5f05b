/* idmap.c - names to dense indices in order of first appearance (see
 * idmap.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

static uint64_t id_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static int grow(hl__idmap *m)
{
    size_t n_slots = m->n_slots ? m->n_slots * 2 : 64;
    size_t *slot = calloc(n_slots, sizeof *slot);
    const char **key = realloc(m->key, n_slots / 2 * sizeof *key);
    if (key)
        m->key = key;
    if (!slot || !key) {
        free(slot);
        return -1;
    }
    m->cap = n_slots / 2;
    for (size_t i = 0; i < m->n; i++) {
        size_t h = (size_t)id_hash(key[i]) & (n_slots - 1);
        while (slot[h])
            h = (h + 1) & (n_slots - 1);
        slot[h] = i + 1;
    }
    free(m->slot);
    m->slot = slot;
    m->n_slots = n_slots;
    return 0;
}

/* The slot of s, or of the free slot where it would go. */
static size_t probe(const hl__idmap *m, const char *s)
{
    size_t h = (size_t)id_hash(s) & (m->n_slots - 1);
    while (m->slot[h] && strcmp(m->key[m->slot[h] - 1], s))
        h = (h + 1) & (m->n_slots - 1);
    return h;
}

long hl__idmap_get(hl__idmap *m, const char *s, int *added)
{
    if (added)
        *added = 0;
    if (m->n + 1 > m->cap && grow(m))
        return -1;
    size_t h = probe(m, s);
    if (m->slot[h])
        return (long)(m->slot[h] - 1);
    m->key[m->n] = s;
    m->slot[h] = ++m->n;
    if (added)
        *added = 1;
    return (long)(m->n - 1);
}

long hl__idmap_find(const hl__idmap *m, const char *s)
{
    if (!m->n_slots)
        return -1;
    size_t h = probe(m, s);
    return m->slot[h] ? (long)(m->slot[h] - 1) : -1;
}

void hl__idmap_free(hl__idmap *m)
{
    free(m->key);
    free(m->slot);
    m->key = NULL;
    m->slot = NULL;
    m->n = m->cap = m->n_slots = 0;
}
