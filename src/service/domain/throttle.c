/* domain/throttle.c - per-client attempt counting (see throttle.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/client_key.h"
#include "domain/throttle.h"

#define SLOTS 1024

typedef struct slot {
    uint64_t key;   /* hash of the client key */
    int64_t minute; /* the window it counts */
    unsigned count;
} slot;

struct hs_throttle {
    unsigned per_minute;
    pthread_mutex_t lock; /* guards slots */
    slot slots[SLOTS];
};

hs_status hs_throttle_new(unsigned per_minute, hs_throttle **out,
                          hs_error *err)
{
    hs_throttle *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    t->per_minute = per_minute;
    pthread_mutex_init(&t->lock, NULL);
    *out = t;
    return HS_OK;
}

void hs_throttle_free(hs_throttle *t)
{
    if (!t)
        return;
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

void hs_throttle_client_key(const char *address, char out[HS_CLIENT_KEY_MAX])
{
    hs_client_key k;
    if (hs_client_key_from_text(address, &k) == 0)
        hs_client_key_format(&k, out, HS_CLIENT_KEY_MAX);
    else
        snprintf(out, HS_CLIENT_KEY_MAX, "%s", address);
}

static uint64_t key_hash(const char *key)
{
    char client[HS_CLIENT_KEY_MAX];
    hs_throttle_client_key(key, client);
    return fnv1a(client);
}

int hs_throttle_allow(hs_throttle *t, const char *key, int64_t now)
{
    if (!t || !key || !t->per_minute)
        return 1;
    uint64_t h = key_hash(key);
    int64_t minute = now / 60;
    pthread_mutex_lock(&t->lock);
    slot *s = &t->slots[h % SLOTS];
    /* A new minute starts the slot afresh; two keys sharing a slot in one
     * minute share its count, so alternating them gains nothing. */
    if (s->minute != minute) {
        s->key = h;
        s->minute = minute;
        s->count = 0;
    }
    int ok = ++s->count <= t->per_minute;
    pthread_mutex_unlock(&t->lock);
    return ok;
}
