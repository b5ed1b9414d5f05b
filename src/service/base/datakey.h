/* base/datakey.h - the data key: the secret every stored file and every
 * KPI value kept in the database is encrypted under (docs/security.md,
 * "Encryption at rest").
 *
 * A data key is 32 random bytes in a file of its own (mode 0600, readable
 * by its owner only), by default DATA_DIR/data.key, created at first
 * start, or wherever `--data-key-file` says, so that the key can live
 * apart from the data (another disk, a secrets mount) and several
 * processes can share it. Nothing is derived from a password.
 *
 * The key itself never encrypts anything: each use gets its own subkey
 * (crypto_kdf, one context per use), so the blob format and the database
 * envelope can never be made to collide. A key is known by its id, eight
 * bytes hashed from the key: every encrypted blob and value names the key
 * id it was made under, so a rotation (`healer rekey`) can be interrupted
 * and resumed, and a wrong key file is told apart from damaged data.
 */
#ifndef HEALER_HS_DATAKEY_H
#define HEALER_HS_DATAKEY_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define HS_DATAKEY_BYTES 32
#define HS_DATAKEY_ID_BYTES 8
/* The file name of the data directory's own key. */
#define HS_DATAKEY_FILE "data.key"
#define HS_DATAKEY_PATH_MAX 512

/* The uses of a data key, each with its own subkey. */
typedef enum hs_datakey_use {
    HS_DATAKEY_BLOBS = 1, /* stored files (blob/blob_crypt.c) */
    HS_DATAKEY_TEXT = 2   /* KPI values in the database (domain/sealed.c) */
} hs_datakey_use;

typedef struct hs_datakey {
    uint8_t key[HS_DATAKEY_BYTES];
    uint8_t id[HS_DATAKEY_ID_BYTES];
    char id_hex[2 * HS_DATAKEY_ID_BYTES + 1];
    char path[HS_DATAKEY_PATH_MAX]; /* where it was read, for messages */
} hs_datakey;

/* The keys a process may decrypt with: the current one, which encrypts
 * everything new, and during a rotation the previous one too. */
typedef struct hs_keyring {
    hs_datakey current;
    hs_datakey previous;
    int has_previous;
    /* 1 only while `healer rekey` encrypts a data directory from before
     * encryption at rest (no data.keyid yet): stored files and sealed
     * values in plain are then read as plain, to be encrypted. Otherwise
     * (0) plain ones are damage or planted, HS_ERR_CORRUPT. */
    int migrating;
} hs_keyring;

/* Reads the key file at `path` into *out. A symbolic link is followed (a
 * secrets mount links each key to its current version), and the checks
 * are on the file it leads to. Refused, with a message naming the file: a
 * file that is not a regular file, is readable or writable by group or
 * others (HS_ERR_DENIED: "chmod 600 FILE"), or is not exactly
 * HS_DATAKEY_BYTES long (HS_ERR_INVALID). Missing: HS_ERR_NOTFOUND. */
hs_status hs_datakey_load(const char *path, hs_datakey *out, hs_error *err);

/* Writes a new random key to `path` (created mode 0600 whatever the
 * umask, fsynced; an existing file is never replaced: HS_ERR_CONFLICT)
 * and returns it in *out (may be NULL). */
hs_status hs_datakey_create(const char *path, hs_datakey *out, hs_error *err);

/* Replaces the file at `path` with `key` (mode 0600), atomically: a
 * crash leaves the old key or the new one. For `healer rekey`, which
 * rotates the data directory's own key once everything is under the new
 * one. */
hs_status hs_datakey_install(const hs_datakey *key, const char *path,
                             hs_error *err);

/* hs_datakey_load, and hs_datakey_create when the file does not exist
 * yet (the data directory's own key at first start). */
hs_status hs_datakey_load_or_create(const char *path, hs_datakey *out,
                                    hs_error *err);

/* The subkey of `key` for one use (crypto_kdf_derive_from_key). */
void hs_datakey_subkey(const hs_datakey *key, hs_datakey_use use,
                       uint8_t out[HS_DATAKEY_BYTES]);

/* The key of the ring with this id, or NULL. */
const hs_datakey *hs_keyring_find(const hs_keyring *ring,
                                  const uint8_t id[HS_DATAKEY_ID_BYTES]);

/* Wipes a key (or a ring) from memory. */
void hs_datakey_wipe(void *key, size_t len);

#endif
