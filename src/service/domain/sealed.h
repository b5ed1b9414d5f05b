/* domain/sealed.h - KPI values kept in the database, encrypted: the
 * "sealed" text fields (store/records.h: hs_sealed_field).
 *
 * The rule (docs/security.md, "Encryption at rest"): every text the
 * database keeps that holds KPI values, or figures computed from them, is
 * sealed: a dataset's profile (its preview rows, per-KPI statistics, node
 * ids), a model's summary (per-KPI normal ranges and medians, importance,
 * curves), a model's feedback (the diagnosed rows it learnt from) and a
 * diagnosis's summary (per-KPI drift statistics of the diagnosed rows).
 * What stays in plain is what lists, joins and access rules need: ids,
 * owners, names, dates, sizes, counts, metrics, states.
 *
 * A sealed value is text, so the store keeps it like any other:
 *     "enc:v1:" KEY-ID (16 hex digits) ":" base64(nonce | ciphertext)
 * XChaCha20-Poly1305 under the text subkey of the data key, a random
 * 24-byte nonce per value, the field's name as associated data (a value
 * moved into another field fails). Text without the "enc:" prefix is a
 * value written before encryption existed: it reads as it is only while
 * `healer rekey` encrypts a directory from before encryption
 * (hs_keyring.migrating) and is sealed by it; anywhere else it is refused
 * as damage (a database writer must not be able to put plain text in).
 */
#ifndef HEALER_HS_SEALED_H
#define HEALER_HS_SEALED_H

#include "base/app.h"
#include "base/error.h"
#include "store/records.h"

struct hs_keyring;

#define HS_SEALED_PREFIX "enc:"

/* The sealed form of `plain` into *out (malloc'ed, caller frees): under
 * keys->current; plain NULL gives NULL; keys NULL gives a copy. */
hs_status hs_sealed_seal(const struct hs_keyring *keys, hs_sealed_field field,
                         const char *plain, char **out, hs_error *err);

/* The plain text of `text` into *out (malloc'ed; NULL for NULL): opened
 * under the key its envelope names (keys->current or keys->previous);
 * text without the prefix is copied when keys is NULL or migrating, and
 * is HS_ERR_CORRUPT otherwise. A value that fails authentication, or
 * names a key not in the ring, is HS_ERR_CORRUPT; a sealed value without
 * keys HS_ERR_CRYPTO. */
hs_status hs_sealed_open(const struct hs_keyring *keys, hs_sealed_field field,
                         const char *text, char **out, hs_error *err);

/* A shared setting's value (the store's settings: the CSRF key), sealed
 * and opened like a field's, with "settings.NAME" as associated data so
 * that a value copied to another setting or field fails. keys must be set
 * (HS_ERR_INVALID to seal, HS_ERR_CRYPTO to open without); a setting is
 * never read in plain (HS_ERR_CORRUPT), even while migrating. */
hs_status hs_sealed_seal_setting(const struct hs_keyring *keys,
                                 const char *name, const char *plain,
                                 char **out, hs_error *err);
hs_status hs_sealed_open_setting(const struct hs_keyring *keys,
                                 const char *name, const char *text,
                                 char **out, hs_error *err);

/* hs_sealed_seal / hs_sealed_open on *text in place (the old text freed). */
hs_status hs_sealed_seal_in_place(const hs_app *app, hs_sealed_field field,
                                  char **text, hs_error *err);
hs_status hs_sealed_open_in_place(const hs_app *app, hs_sealed_field field,
                                  char **text, hs_error *err);

/* For storing a record whose member *slot is sealed: moves the plain
 * text to *plain and puts its sealed form in *slot (on failure *slot is
 * left as it was); hs_sealed_unstash frees the sealed form and puts the
 * plain text back once the store has it. */
hs_status hs_sealed_stash(const hs_app *app, hs_sealed_field field, char **slot,
                          char **plain, hs_error *err);
void hs_sealed_unstash(char **slot, char *plain);

/* hs_sealed_open_in_place on the char * member at byte `offset` of each
 * of the n records of `items` (elem_size bytes each): a list of records
 * from the store. On error the texts opened so far stay opened. */
hs_status hs_sealed_open_each(const hs_app *app, hs_sealed_field field,
                              void *items, size_t n, size_t elem_size,
                              size_t offset, hs_error *err);

/* Whether `text` is sealed under keys->current already (a resumed rekey
 * skips it). */
int hs_sealed_is_current(const struct hs_keyring *keys, const char *text);

/* What hs_sealed_rekey did. */
typedef struct hs_sealed_rekey_counts {
    uint64_t rekeyed; /* from the previous key */
    uint64_t sealed;  /* were plain (from before encryption) */
    uint64_t already; /* already under the current key */
} hs_sealed_rekey_counts;

/* Rewrites every sealed field's value of the store under keys->current,
 * one value at a time (each rewrite is a compare-and-swap, so a value is
 * never lost); interrupted, it is simply run again. For `healer rekey`. */
hs_status hs_sealed_rekey(const hs_app *app, hs_sealed_rekey_counts *counts,
                          hs_error *err);

#endif
