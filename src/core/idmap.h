/* idmap.h - names to dense indices in order of first appearance (incident
 * ids, node ids of an incident file, the incidents of a ranks file).
 *
 * Keys are borrowed: the caller keeps each string alive as long as the
 * map. Open addressing with linear probing, load factor <= 1/2, FNV-1a:
 * O(1) on average, no allocation per lookup. Not thread-safe.
 */
#ifndef HEALER_IDMAP_H
#define HEALER_IDMAP_H

#include <stddef.h>

typedef struct hl__idmap {
    const char **key; /* n, in order of first appearance (borrowed) */
    size_t n, cap;
    size_t *slot;   /* index + 1; 0 = free */
    size_t n_slots; /* power of two */
} hl__idmap;

/* The index of s, which is added when new (*added = 1, else 0; added may
 * be NULL); -1 when out of memory. A zeroed hl__idmap is an empty map. */
long hl__idmap_get(hl__idmap *m, const char *s, int *added);

/* The index of s, or -1 when absent. */
long hl__idmap_find(const hl__idmap *m, const char *s);

void hl__idmap_free(hl__idmap *m);

#endif
