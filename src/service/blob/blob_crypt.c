/* blob_crypt.c - encryption at rest for the blob store: a backend that
 * wraps another (the directory backend) and encrypts every blob written
 * through it, decrypting on the fly behind the same reader interface.
 *
 * Format of a stored blob (docs/security.md, "Encryption at rest"):
 *     header  40 bytes: magic "HSCRYPT" + format version 1, log2 of the
 *             chunk size (16), 7 zero bytes, the data key's id (8 bytes),
 *             a random nonce prefix (16 bytes, new for every blob)
 *     chunks  the content cut into chunks of HS_BLOB_CRYPT_CHUNK bytes
 *             (the last one shorter, possibly empty), each sealed with
 *             XChaCha20-Poly1305 (crypto_aead_xchacha20poly1305_ietf) under
 *             the blobs' subkey of the data key: ciphertext + 16-byte tag.
 *             Nonce = prefix || chunk index (64-bit little-endian).
 *             Associated data = header || chunk index || final flag || the
 *             blob's key ("upload/3f2a...").
 *
 * Why independent chunks and not crypto_secretstream: the readers need
 * random access (a diagnosis page reads a few rows of its results, an
 * analysis reads one 48-byte index entry), and a secretstream can only be
 * decrypted from its start. Binding the index and the final flag into
 * each chunk keeps what secretstream guarantees: a chunk moved, dropped,
 * repeated or taken from another blob fails authentication, and so does
 * a blob cut at a chunk boundary (its new last chunk was not sealed as
 * final) or extended. Binding the header catches a changed key id or
 * nonce, binding the key catches a whole file swapped for another.
 *
 * Memory is bounded whatever the size: a writer holds one chunk of
 * plaintext and one of ciphertext, a reader one of ciphertext and the
 * last CACHE_SLOTS chunks it decrypted (sequential reads, and reads that
 * interleave a few regions, decrypt each chunk once).
 *
 * Deliberately not done: reading blobs stored without encryption (from
 * before it existed). Accepting them would let anyone who can write to
 * the disk substitute plaintext of their choosing, and a flipped magic
 * byte would turn ciphertext into "data". `healer rekey` encrypts them
 * only in the one-time migration of a directory not encrypted yet
 * (hs_keyring.migrating); in an encrypted one it refuses them.
 */
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "blob/blob.h"

#define MAGIC "HSCRYPT\1" /* 7 letters and the format version */
#define MAGIC_LEN 8
#define CHUNK_LOG2 16
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define PREFIX_LEN 16
#define HEADER_LEN (MAGIC_LEN + 8 + HS_DATAKEY_ID_BYTES + PREFIX_LEN)
#define ID_AT (MAGIC_LEN + 8)
#define PREFIX_AT (ID_AT + HS_DATAKEY_ID_BYTES)
#define STRIDE ((uint64_t)HS_BLOB_CRYPT_CHUNK + TAG_LEN)
#define AD_MAX (HEADER_LEN + 8 + 1 + HS_BLOB_KEY_MAX)
/* Decrypted chunks a reader keeps: readers interleave a few regions (a
 * diagnosis's scatter reads a point, then its row record, far apart), and
 * one slot per region keeps each chunk decrypted once. */
#define CACHE_SLOTS 4

_Static_assert(HS_BLOB_CRYPT_CHUNK == 1u << CHUNK_LOG2, "chunk size");
_Static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == PREFIX_LEN + 8,
               "nonce = prefix + index");

typedef struct crypt_store {
    hs_blob_store base; /* base.impl points back here */
    hs_blob_store *inner;
    hs_keyring keys;
    /* The blobs' subkeys of keys.current and keys.previous. */
    uint8_t current_sub[HS_DATAKEY_BYTES];
    uint8_t previous_sub[HS_DATAKEY_BYTES];
} crypt_store;

typedef struct crypt_writer {
    hs_blob_writer base; /* must be first */
    crypt_store *s;
    hs_blob_writer *inner;
    uint8_t header[HEADER_LEN];
    uint64_t index;   /* of the next chunk */
    size_t fill;      /* bytes in plain */
    size_t max_bytes; /* of content; 0 = unlimited */
    uint64_t written; /* content bytes accepted */
    int failed;
    uint8_t plain[HS_BLOB_CRYPT_CHUNK];
    uint8_t sealed[HS_BLOB_CRYPT_CHUNK + TAG_LEN];
} crypt_writer;

typedef struct crypt_reader {
    hs_blob_reader base; /* must be first; base.size = content size */
    hs_blob_reader *inner;
    const uint8_t *sub; /* the subkey of the blob's data key */
    uint8_t header[HEADER_LEN];
    char key[HS_BLOB_KEY_MAX];
    uint64_t chunks;
    uint64_t tick; /* for least-recently-used */
    struct {
        uint64_t index; /* the chunk held; UINT64_MAX = none */
        uint64_t used;  /* tick of the last use */
        size_t len;
        uint8_t plain[HS_BLOB_CRYPT_CHUNK];
    } slot[CACHE_SLOTS];
    uint8_t sealed[HS_BLOB_CRYPT_CHUNK + TAG_LEN];
} crypt_reader;

static const hs_blob_ops crypt_ops;
static const hs_blob_reader_ops crypt_reader_ops;

static void nonce_of(const uint8_t *header, uint64_t index, uint8_t *nonce)
{
    uint64_t le = htole64(index);
    memcpy(nonce, header + PREFIX_AT, PREFIX_LEN);
    memcpy(nonce + PREFIX_LEN, &le, 8);
}

static size_t ad_of(const uint8_t *header, uint64_t index, int final,
                    const char *key, uint8_t ad[AD_MAX])
{
    uint64_t le = htole64(index);
    size_t klen = strlen(key);
    memcpy(ad, header, HEADER_LEN);
    memcpy(ad + HEADER_LEN, &le, 8);
    ad[HEADER_LEN + 8] = (uint8_t)(final != 0);
    memcpy(ad + HEADER_LEN + 9, key, klen);
    return HEADER_LEN + 9 + klen;
}

/* ---- writing ------------------------------------------------------------- */

/* Seals plain[0..fill) as chunk `index` and hands it to the inner writer. */
static hs_status seal_chunk(crypt_writer *w, int final, hs_error *err)
{
    uint8_t nonce[PREFIX_LEN + 8], ad[AD_MAX];
    unsigned long long sealed_len = 0;
    size_t ad_len = ad_of(w->header, w->index, final, w->base.key, ad);

    nonce_of(w->header, w->index, nonce);
    crypto_aead_xchacha20poly1305_ietf_encrypt(w->sealed, &sealed_len, w->plain,
                                               w->fill, ad, ad_len, NULL, nonce,
                                               w->s->current_sub);
    w->index++;
    w->fill = 0;
    return hs_blob_write(w->inner, w->sealed, (size_t)sealed_len, err);
}

static hs_status crypt_writer_start(crypt_store *s, hs_blob_writer *inner,
                                    size_t max_bytes, hs_blob_writer **w_out,
                                    hs_error *err)
{
    crypt_writer *w = NULL;
    hs_status st = inner->key[0] ? HS_OK
                                 : hs_fail(err, HS_ERR_INTERNAL,
                                           "blob store: the %s backend does "
                                           "not name keys at open",
                                           s->inner->ops->name);
    if (st == HS_OK && !(w = calloc(1, sizeof *w)))
        st = hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    if (st != HS_OK) {
        hs_blob_abort(inner);
        return st;
    }
    w->base.ops = &crypt_ops;
    snprintf(w->base.key, sizeof w->base.key, "%s", inner->key);
    w->s = s;
    w->inner = inner;
    w->max_bytes = max_bytes;
    memcpy(w->header, MAGIC, MAGIC_LEN);
    w->header[MAGIC_LEN] = CHUNK_LOG2;
    memcpy(w->header + ID_AT, s->keys.current.id, HS_DATAKEY_ID_BYTES);
    randombytes_buf(w->header + PREFIX_AT, PREFIX_LEN);
    if ((st = hs_blob_write(inner, w->header, HEADER_LEN, err)) != HS_OK) {
        hs_blob_abort(inner);
        free(w);
        return st;
    }
    *w_out = &w->base;
    return HS_OK;
}

static hs_status crypt_writer_open(void *impl, const char *kind,
                                   size_t max_bytes, hs_blob_writer **w_out,
                                   hs_error *err)
{
    crypt_store *s = impl;
    hs_blob_writer *inner = NULL;
    hs_status st = hs_blob_writer_open(s->inner, kind, 0, &inner, err);
    return st == HS_OK ? crypt_writer_start(s, inner, max_bytes, w_out, err)
                       : st;
}

static hs_status crypt_writer_replace(void *impl, const char *key,
                                      hs_blob_writer **w_out, hs_error *err)
{
    crypt_store *s = impl;
    hs_blob_writer *inner = NULL;
    hs_status st = hs_blob_writer_replace(s->inner, key, &inner, err);
    return st == HS_OK ? crypt_writer_start(s, inner, 0, w_out, err) : st;
}

static hs_status crypt_write(hs_blob_writer *base, const void *buf, size_t len,
                             hs_error *err)
{
    crypt_writer *w = (crypt_writer *)base;
    const uint8_t *p = buf;
    hs_status st = HS_OK;

    hs_status admitted =
        hs_blob__write_admit(&w->failed, w->max_bytes, w->written, len, err);
    if (admitted != HS_OK)
        return admitted;
    while (st == HS_OK && len > 0) {
        /* A full chunk is sealed only when more content follows: the last
         * chunk, full or not, is sealed as final at commit. */
        if (w->fill == HS_BLOB_CRYPT_CHUNK)
            st = seal_chunk(w, 0, err);
        size_t take = HS_BLOB_CRYPT_CHUNK - w->fill;
        if (take > len)
            take = len;
        memcpy(w->plain + w->fill, p, take);
        w->fill += take;
        w->written += take;
        p += take;
        len -= take;
    }
    if (st != HS_OK)
        w->failed = 1;
    return st;
}

static void crypt_abort(hs_blob_writer *base)
{
    crypt_writer *w = (crypt_writer *)base;
    hs_blob_abort(w->inner);
    sodium_memzero(w->plain, sizeof w->plain);
    free(w);
}

static hs_status crypt_commit(hs_blob_writer *base,
                              char key_out[HS_BLOB_KEY_MAX], uint64_t *size_out,
                              hs_error *err)
{
    crypt_writer *w = (crypt_writer *)base;
    uint64_t written = w->written;
    hs_status st =
        w->failed ? hs_fail(err, HS_ERR_INVALID, "blob writer failed earlier")
                  : seal_chunk(w, 1, err);
    if (st != HS_OK) {
        crypt_abort(base);
        return st;
    }
    st = hs_blob_commit(w->inner, key_out, NULL, err); /* frees inner */
    sodium_memzero(w->plain, sizeof w->plain);
    free(w);
    if (st == HS_OK && size_out)
        *size_out = written;
    return st;
}

/* ---- reading ------------------------------------------------------------- */

static hs_status damaged(const crypt_reader *r, const char *why, hs_error *err)
{
    return hs_fail(err, HS_ERR_CORRUPT,
                   "stored file %s is damaged: %s (it failed authentication; "
                   "restore it from a backup)",
                   r->key, why);
}

/* Chunk i decrypted, in one of the reader's slots (the least recently
 * used one is reused): *slot_out is its index. */
static hs_status load_chunk(crypt_reader *r, uint64_t i, size_t *slot_out,
                            hs_error *err)
{
    size_t victim = 0;
    for (size_t k = 0; k < CACHE_SLOTS; k++) {
        if (r->slot[k].index == i) {
            r->slot[k].used = ++r->tick;
            *slot_out = k;
            return HS_OK;
        }
        if (r->slot[k].used < r->slot[victim].used)
            victim = k;
    }
    int final = i + 1 == r->chunks;
    uint64_t sealed_len =
        final ? r->inner->size - HEADER_LEN - i * STRIDE : STRIDE;
    uint8_t nonce[PREFIX_LEN + 8], ad[AD_MAX];
    unsigned long long plain_len = 0;
    hs_status st = hs_blob_read_at(r->inner, r->sealed, (size_t)sealed_len,
                                   HEADER_LEN + i * STRIDE, err);
    if (st != HS_OK)
        return st;
    r->slot[victim].index = UINT64_MAX;
    nonce_of(r->header, i, nonce);
    size_t ad_len = ad_of(r->header, i, final, r->key, ad);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            r->slot[victim].plain, &plain_len, NULL, r->sealed, sealed_len, ad,
            ad_len, nonce, r->sub) != 0) {
        char why[64];
        snprintf(why, sizeof why, "chunk %llu of %llu",
                 (unsigned long long)i + 1, (unsigned long long)r->chunks);
        return damaged(r, why, err);
    }
    r->slot[victim].index = i;
    r->slot[victim].used = ++r->tick;
    r->slot[victim].len = (size_t)plain_len;
    *slot_out = victim;
    return HS_OK;
}

static hs_status crypt_read_at(hs_blob_reader *base, void *buf, size_t len,
                               uint64_t off, hs_error *err)
{
    crypt_reader *r = (crypt_reader *)base;
    uint8_t *out = buf;
    while (len > 0) {
        uint64_t i = off / HS_BLOB_CRYPT_CHUNK;
        size_t at = (size_t)(off % HS_BLOB_CRYPT_CHUNK), k = 0;
        hs_status st = load_chunk(r, i, &k, err);
        if (st != HS_OK)
            return st;
        if (at >= r->slot[k].len)
            return damaged(r, "a chunk shorter than its place", err);
        size_t take = r->slot[k].len - at;
        if (take > len)
            take = len;
        memcpy(out, r->slot[k].plain + at, take);
        out += take;
        off += take;
        len -= take;
    }
    return HS_OK;
}

static void crypt_reader_close(hs_blob_reader *base)
{
    crypt_reader *r = (crypt_reader *)base;
    hs_blob_reader_close(r->inner);
    sodium_memzero(r->slot, sizeof r->slot);
    free(r);
}

static const hs_blob_reader_ops crypt_reader_ops = {
    .read_at = crypt_read_at,
    .close = crypt_reader_close,
};

/* Reads and checks the header, finds the key, sizes the chunks. */
static hs_status read_header(crypt_store *s, crypt_reader *r, hs_error *err)
{
    uint64_t stored = r->inner->size;
    static const uint8_t zeros[7];
    size_t head = stored < HEADER_LEN ? (size_t)stored : HEADER_LEN;
    hs_status st = hs_blob_read_at(r->inner, r->header, head, 0, err);
    if (st != HS_OK)
        return st;
    if (head < MAGIC_LEN - 1 || memcmp(r->header, MAGIC, MAGIC_LEN - 1) != 0)
        return damaged(r,
                       "not an encrypted file (put there by something other "
                       "than this server, or damaged)",
                       err);
    if (head < HEADER_LEN)
        return damaged(r, "shorter than its header", err);
    if (r->header[MAGIC_LEN - 1] != MAGIC[MAGIC_LEN - 1] ||
        r->header[MAGIC_LEN] != CHUNK_LOG2 ||
        memcmp(r->header + MAGIC_LEN + 1, zeros, sizeof zeros) != 0)
        return damaged(r, "unknown format version", err);
    const hs_datakey *k = hs_keyring_find(&s->keys, r->header + ID_AT);
    if (!k) {
        char id[2 * HS_DATAKEY_ID_BYTES + 1];
        sodium_bin2hex(id, sizeof id, r->header + ID_AT, HS_DATAKEY_ID_BYTES);
        /* The server checked at start that its key is the directory's
         * (server/datadir.h: data.keyid), so this is damage or a file
         * restored from a backup under another key. */
        return hs_fail(err, HS_ERR_CORRUPT,
                       "stored file %s is damaged or foreign: it names data "
                       "key %s, not this server's key %s",
                       r->key, id, s->keys.current.id_hex);
    }
    r->sub = k == &s->keys.current ? s->current_sub : s->previous_sub;
    uint64_t body = stored - HEADER_LEN;
    r->chunks = (body + STRIDE - 1) / STRIDE;
    if (r->chunks == 0 || body - (r->chunks - 1) * STRIDE < TAG_LEN)
        return damaged(r, "truncated", err);
    r->base.size = body - r->chunks * TAG_LEN;
    /* The final chunk now: a cut or extended file is told at open, before
     * a download has sent its first byte. */
    size_t slot;
    return load_chunk(r, r->chunks - 1, &slot, err);
}

static hs_status crypt_open_read(void *impl, const char *key,
                                 hs_blob_reader **r_out, hs_error *err)
{
    crypt_store *s = impl;
    crypt_reader *r = calloc(1, sizeof *r);
    if (!r)
        return hs_fail(err, HS_ERR_NOMEM, "blob store: out of memory");
    r->base.ops = &crypt_reader_ops;
    for (size_t k = 0; k < CACHE_SLOTS; k++)
        r->slot[k].index = UINT64_MAX;
    snprintf(r->key, sizeof r->key, "%s", key);
    hs_status st = hs_blob_open_read(s->inner, key, &r->inner, err);
    if (st == HS_OK)
        st = read_header(s, r, err);
    if (st != HS_OK) {
        crypt_reader_close(&r->base);
        return st;
    }
    *r_out = &r->base;
    return HS_OK;
}

/* ---- the rest passes through --------------------------------------------- */

static hs_status crypt_remove(void *impl, const char *key, hs_error *err)
{
    crypt_store *s = impl;
    return hs_blob_delete(s->inner, key, err);
}

static hs_status crypt_exists(void *impl, const char *key, int *exists_out,
                              hs_error *err)
{
    crypt_store *s = impl;
    return hs_blob_exists(s->inner, key, exists_out, err);
}

static hs_status crypt_each(void *impl, hs_blob_each_fn fn, void *ctx,
                            hs_error *err)
{
    crypt_store *s = impl;
    return hs_blob_each(s->inner, fn, ctx, err);
}

/* Writers' temporary files are the inner store's. */
static hs_status crypt_sweep_temps(void *impl, int64_t before_ns,
                                   size_t *count, uint64_t *bytes,
                                   hs_error *err)
{
    crypt_store *s = impl;
    return hs_blob_sweep_temps(s->inner, before_ns, count, bytes, err);
}

static void crypt_close(hs_blob_store *store)
{
    crypt_store *s = store->impl;
    hs_blob_store_close(s->inner);
    sodium_memzero(s, sizeof *s);
    free(s);
}

static const hs_blob_ops crypt_ops = {
    .name = "crypt",
    .writer_open = crypt_writer_open,
    .write = crypt_write,
    .commit = crypt_commit,
    .abort = crypt_abort,
    .open_read = crypt_open_read,
    .remove = crypt_remove,
    .exists = crypt_exists,
    .close = crypt_close,
    .each = crypt_each,
    .writer_replace = crypt_writer_replace,
    .sweep_temps = crypt_sweep_temps,
};

hs_status hs_blob_crypt_open(hs_blob_store *inner, const hs_keyring *keys,
                             hs_blob_store **out, hs_error *err)
{
    crypt_store *s;

    *out = NULL;
    if (sodium_init() < 0 || !(s = calloc(1, sizeof *s))) {
        hs_blob_store_close(inner);
        return hs_fail(err, HS_ERR_NOMEM,
                       "blob store: cannot set up "
                       "encryption");
    }
    s->base.ops = &crypt_ops;
    s->base.impl = s;
    s->inner = inner;
    s->keys = *keys;
    hs_datakey_subkey(&keys->current, HS_DATAKEY_BLOBS, s->current_sub);
    if (keys->has_previous)
        hs_datakey_subkey(&keys->previous, HS_DATAKEY_BLOBS, s->previous_sub);
    *out = &s->base;
    return HS_OK;
}

/* ---- rotation ------------------------------------------------------------ */

/* What blob `key` is stored as: 1 and its key id when encrypted, 0 when
 * plain (no magic). */
static hs_status stored_as(crypt_store *s, const char *key, int *encrypted,
                           uint8_t id[HS_DATAKEY_ID_BYTES], hs_error *err)
{
    hs_blob_reader *r = NULL;
    uint8_t head[HEADER_LEN];
    hs_status st = hs_blob_open_read(s->inner, key, &r, err);
    *encrypted = 0;
    if (st == HS_OK && r->size >= HEADER_LEN &&
        (st = hs_blob_read_at(r, head, HEADER_LEN, 0, err)) == HS_OK &&
        !memcmp(head, MAGIC, MAGIC_LEN - 1)) {
        *encrypted = 1;
        memcpy(id, head + ID_AT, HS_DATAKEY_ID_BYTES);
    }
    hs_blob_reader_close(r);
    return st;
}

/* Copies everything `r` reads into `w` (a chunk at a time). */
static hs_status copy_into(hs_blob_reader *r, hs_blob_writer *w, hs_error *err)
{
    uint8_t *buf = malloc(HS_BLOB_CRYPT_CHUNK);
    hs_status st = buf ? HS_OK : hs_fail(err, HS_ERR_NOMEM, "out of memory");
    for (uint64_t off = 0; st == HS_OK && off < r->size;) {
        size_t n = r->size - off < HS_BLOB_CRYPT_CHUNK ? (size_t)(r->size - off)
                                                       : HS_BLOB_CRYPT_CHUNK;
        if ((st = hs_blob_read_at(r, buf, n, off, err)) == HS_OK)
            st = hs_blob_write(w, buf, n, err);
        off += n;
    }
    if (buf)
        sodium_memzero(buf, HS_BLOB_CRYPT_CHUNK);
    free(buf);
    return st;
}

typedef struct rekey_walk {
    crypt_store *s;
    hs_blob_rekey_counts *counts;
} rekey_walk;

static hs_status rekey_one(void *ctx, const char *key, uint64_t stored_size,
                           int64_t mtime_ns, hs_error *err)
{
    (void)stored_size;
    (void)mtime_ns;
    rekey_walk *walk = ctx;
    crypt_store *s = walk->s;
    uint8_t id[HS_DATAKEY_ID_BYTES];
    int encrypted = 0;
    hs_blob_reader *r = NULL;
    hs_blob_writer *w = NULL;
    hs_status st = stored_as(s, key, &encrypted, id, err);
    if (st != HS_OK)
        return st;
    if (encrypted && !sodium_memcmp(id, s->keys.current.id, sizeof id)) {
        walk->counts->already++;
        return HS_OK;
    }
    /* Encrypting a plain file in an encrypted directory would turn a
     * planted file into authenticated data. */
    if (!encrypted && !s->keys.migrating)
        return hs_fail(err, HS_ERR_CORRUPT,
                       "stored file %s is not encrypted, but the data "
                       "directory is: it was put there by something other "
                       "than the server, or is damaged; restore it from a "
                       "backup or delete it, then run `healer rekey` again",
                       key);
    /* Plain blobs are read raw, encrypted ones through this layer (under
     * the previous key, or refused when under neither). */
    st = encrypted ? crypt_open_read(s, key, &r, err)
                   : hs_blob_open_read(s->inner, key, &r, err);
    if (st == HS_OK)
        st = crypt_writer_replace(s, key, &w, err);
    if (st == HS_OK)
        st = copy_into(r, w, err);
    if (st == HS_OK) {
        st = hs_blob_commit(w, NULL, NULL, err);
        w = NULL;
    }
    hs_blob_abort(w);
    hs_blob_reader_close(r);
    if (st == HS_OK)
        (encrypted ? &walk->counts->rekeyed : &walk->counts->encrypted)[0]++;
    return st;
}

hs_status hs_blob_crypt_rekey(hs_blob_store *store,
                              hs_blob_rekey_counts *counts, hs_error *err)
{
    memset(counts, 0, sizeof *counts);
    if (store->ops != &crypt_ops)
        return hs_fail(err, HS_ERR_INVALID, "blob store: not encrypted");
    rekey_walk walk = {store->impl, counts};
    return hs_blob_each(walk.s->inner, rekey_one, &walk, err);
}
