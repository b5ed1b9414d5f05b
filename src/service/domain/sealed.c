/* domain/sealed.c - sealing and opening the database's KPI values (see
 * sealed.h for the rule and the envelope).
 *
 * Why here: the store sees opaque text and never learns about keys; the
 * domain decides which fields hold KPI values and seals them on their way
 * in and opens them on their way out, so handlers and the store are
 * unchanged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/datakey.h"
#include "domain/sealed.h"
#include "store/store.h"

#define VERSION_TAG "enc:v1:"
#define VERSION_LEN (sizeof VERSION_TAG - 1)
#define ID_HEX (2 * HS_DATAKEY_ID_BYTES)
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN crypto_aead_xchacha20poly1305_ietf_ABYTES
#define B64 sodium_base64_VARIANT_ORIGINAL

static const char *const FIELD_NAMES[HS_SEALED_FIELDS] = {
    [HS_SEALED_DATASET_PROFILE] = "datasets.profile_json",
    [HS_SEALED_MODEL_SUMMARY] = "models.summary_json",
    [HS_SEALED_MODEL_FEEDBACK] = "models.feedback_json",
    [HS_SEALED_DIAGNOSIS_SUMMARY] = "diagnoses.summary_json",
};

static const char *field_name(hs_sealed_field f)
{
    return (unsigned)f < HS_SEALED_FIELDS ? FIELD_NAMES[f] : "?";
}

static hs_status copy_of(const char *text, char **out, hs_error *err)
{
    *out = NULL;
    if (text && !(*out = strdup(text)))
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    return HS_OK;
}

/* Seals `plain` with `ad` (what the value is: a field's or a setting's
 * name) as associated data. */
static hs_status seal_as(const hs_keyring *keys, const char *ad,
                         const char *plain, char **out, hs_error *err)
{
    if (!keys || !plain)
        return copy_of(plain, out, err);
    size_t len = strlen(plain);
    size_t raw_len = NONCE_LEN + len + TAG_LEN;
    size_t b64_len = sodium_base64_ENCODED_LEN(raw_len, B64);
    uint8_t *raw = malloc(raw_len);
    char *text = malloc(VERSION_LEN + ID_HEX + 1 + b64_len);
    uint8_t sub[HS_DATAKEY_BYTES];
    *out = NULL;
    if (!raw || !text) {
        free(raw);
        free(text);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    hs_datakey_subkey(&keys->current, HS_DATAKEY_TEXT, sub);
    randombytes_buf(raw, NONCE_LEN);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        raw + NONCE_LEN, NULL, (const uint8_t *)plain, len, (const uint8_t *)ad,
        strlen(ad), NULL, raw, sub);
    sodium_memzero(sub, sizeof sub);
    int at = snprintf(text, VERSION_LEN + ID_HEX + 2, "%s%s:", VERSION_TAG,
                      keys->current.id_hex);
    sodium_bin2base64(text + at, b64_len, raw, raw_len, B64);
    free(raw);
    *out = text;
    return HS_OK;
}

hs_status hs_sealed_seal(const hs_keyring *keys, hs_sealed_field field,
                         const char *plain, char **out, hs_error *err)
{
    return seal_as(keys, field_name(field), plain, out, err);
}

static hs_status damaged(const char *ad, const char *why, hs_error *err)
{
    return hs_fail(err, HS_ERR_CORRUPT,
                   "a stored %s value is damaged: %s (it failed "
                   "authentication)",
                   ad, why);
}

/* The key an envelope names, or an error. */
static hs_status key_of(const hs_keyring *keys, const char *ad,
                        const char *text, const hs_datakey **key, hs_error *err)
{
    uint8_t id[HS_DATAKEY_ID_BYTES];
    size_t got = 0;
    if (strncmp(text, VERSION_TAG, VERSION_LEN) != 0)
        return damaged(ad, "unknown format version", err);
    if (strlen(text) < VERSION_LEN + ID_HEX + 1 ||
        text[VERSION_LEN + ID_HEX] != ':' ||
        sodium_hex2bin(id, sizeof id, text + VERSION_LEN, ID_HEX, NULL, &got,
                       NULL) != 0 ||
        got != sizeof id)
        return damaged(ad, "malformed envelope", err);
    if (!keys)
        return hs_fail(err, HS_ERR_CRYPTO,
                       "a stored %s value is encrypted and no data key is "
                       "loaded",
                       ad);
    if (!(*key = hs_keyring_find(keys, id)))
        return hs_fail(err, HS_ERR_CORRUPT,
                       "a stored %s value is damaged or foreign: it names "
                       "data key %.16s, not this server's key %s",
                       ad, text + VERSION_LEN,
                       keys->current.id_hex);
    return HS_OK;
}

/* Opens `text` sealed with `ad` as associated data (seal_as). */
static hs_status open_as(const hs_keyring *keys, const char *ad,
                         const char *text, char **out, hs_error *err)
{
    const hs_datakey *key = NULL;
    *out = NULL;
    if (!text)
        return HS_OK;
    if (strncmp(text, HS_SEALED_PREFIX, strlen(HS_SEALED_PREFIX)) != 0)
        return !keys || keys->migrating /* from before encryption */
                   ? copy_of(text, out, err)
                   : damaged(ad, "not encrypted", err);
    hs_status st = key_of(keys, ad, text, &key, err);
    if (st != HS_OK)
        return st;
    const char *b64 = text + VERSION_LEN + ID_HEX + 1;
    size_t b64_len = strlen(b64), raw_len = 0;
    uint8_t *raw = malloc(b64_len / 4 * 3 + 3);
    char *plain = NULL;
    uint8_t sub[HS_DATAKEY_BYTES];
    unsigned long long plain_len = 0;
    if (!raw)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    if (sodium_base642bin(raw, b64_len / 4 * 3 + 3, b64, b64_len, NULL,
                          &raw_len, NULL, B64) != 0 ||
        raw_len < NONCE_LEN + TAG_LEN) {
        free(raw);
        return damaged(ad, "malformed envelope", err);
    }
    if (!(plain = malloc(raw_len - NONCE_LEN - TAG_LEN + 1))) {
        free(raw);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    hs_datakey_subkey(key, HS_DATAKEY_TEXT, sub);
    int bad = crypto_aead_xchacha20poly1305_ietf_decrypt(
        (uint8_t *)plain, &plain_len, NULL, raw + NONCE_LEN,
        raw_len - NONCE_LEN, (const uint8_t *)ad, strlen(ad), raw, sub);
    sodium_memzero(sub, sizeof sub);
    free(raw);
    if (bad || memchr(plain, '\0', (size_t)plain_len)) {
        free(plain);
        return damaged(ad, "authentication failed", err);
    }
    plain[plain_len] = '\0';
    *out = plain;
    return HS_OK;
}

hs_status hs_sealed_open(const hs_keyring *keys, hs_sealed_field field,
                         const char *text, char **out, hs_error *err)
{
    return open_as(keys, field_name(field), text, out, err);
}

/* A setting's associated data: "settings." and its name, so that a value
 * moved to another setting (or field) fails. */
static const char *setting_ad(const char *name, char *buf, size_t cap)
{
    snprintf(buf, cap, "settings.%s", name);
    return buf;
}

hs_status hs_sealed_seal_setting(const hs_keyring *keys, const char *name,
                                 const char *plain, char **out, hs_error *err)
{
    char ad[HS_SETTING_KEY_MAX + 16];
    *out = NULL;
    if (!keys)
        return hs_fail(err, HS_ERR_INVALID, "setting %s: no data key", name);
    return seal_as(keys, setting_ad(name, ad, sizeof ad), plain, out, err);
}

hs_status hs_sealed_open_setting(const hs_keyring *keys, const char *name,
                                 const char *text, char **out, hs_error *err)
{
    char ad[HS_SETTING_KEY_MAX + 16];
    *out = NULL;
    if (!keys)
        return hs_fail(err, HS_ERR_CRYPTO,
                       "setting %s is encrypted and no data key is loaded",
                       name);
    if (strncmp(text, HS_SEALED_PREFIX, strlen(HS_SEALED_PREFIX)) != 0)
        return damaged(setting_ad(name, ad, sizeof ad), "not encrypted", err);
    return open_as(keys, setting_ad(name, ad, sizeof ad), text, out, err);
}

static hs_status in_place(const hs_keyring *keys, hs_sealed_field field,
                          char **text, int seal, hs_error *err)
{
    char *out = NULL;
    hs_status st = seal ? hs_sealed_seal(keys, field, *text, &out, err)
                        : hs_sealed_open(keys, field, *text, &out, err);
    if (st != HS_OK)
        return st;
    free(*text);
    *text = out;
    return HS_OK;
}

hs_status hs_sealed_seal_in_place(const hs_app *app, hs_sealed_field field,
                                  char **text, hs_error *err)
{
    return in_place(app->keys, field, text, 1, err);
}

hs_status hs_sealed_open_in_place(const hs_app *app, hs_sealed_field field,
                                  char **text, hs_error *err)
{
    return in_place(app->keys, field, text, 0, err);
}

hs_status hs_sealed_stash(const hs_app *app, hs_sealed_field field, char **slot,
                          char **plain, hs_error *err)
{
    *plain = *slot;
    *slot = NULL;
    hs_status st = hs_sealed_seal(app->keys, field, *plain, slot, err);
    if (st != HS_OK)
        hs_sealed_unstash(slot, *plain);
    return st;
}

void hs_sealed_unstash(char **slot, char *plain)
{
    free(*slot);
    *slot = plain;
}

hs_status hs_sealed_open_each(const hs_app *app, hs_sealed_field field,
                              void *items, size_t n, size_t elem_size,
                              size_t offset, hs_error *err)
{
    hs_status st = HS_OK;
    for (size_t i = 0; st == HS_OK && i < n; i++)
        st = hs_sealed_open_in_place(
            app, field, (char **)((char *)items + i * elem_size + offset), err);
    return st;
}

int hs_sealed_is_current(const hs_keyring *keys, const char *text)
{
    return keys && text && !strncmp(text, VERSION_TAG, VERSION_LEN) &&
           strlen(text) > VERSION_LEN + ID_HEX &&
           !strncmp(text + VERSION_LEN, keys->current.id_hex, ID_HEX);
}

/* Rewrites record id's value of `field` under the current key. */
static hs_status rekey_value(const hs_app *app, hs_sealed_field field, hs_id id,
                             hs_sealed_rekey_counts *counts, hs_error *err)
{
    char *old = NULL, *plain = NULL, *sealed = NULL;
    hs_status st = hs_store_sealed_get(app->store, field, id, &old, err);
    if (st == HS_ERR_NOTFOUND || (st == HS_OK && !old)) {
        free(old);
        return HS_OK; /* deleted or emptied meanwhile */
    }
    if (st == HS_OK && hs_sealed_is_current(app->keys, old)) {
        counts->already++;
        free(old);
        return HS_OK;
    }
    int was_plain = st == HS_OK && strncmp(old, HS_SEALED_PREFIX,
                                           strlen(HS_SEALED_PREFIX)) != 0;
    if (st == HS_OK)
        st = hs_sealed_open(app->keys, field, old, &plain, err);
    if (st == HS_ERR_CORRUPT) { /* name the record: it is to be restored */
        char why[sizeof err->message];
        snprintf(why, sizeof why, "%s", err->message);
        st = hs_fail(err, HS_ERR_CORRUPT,
                     "record %lld: %s; restore it from a "
                     "backup, then run `healer rekey` again",
                     (long long)id, why);
    }
    if (st == HS_OK)
        st = hs_sealed_seal(app->keys, field, plain, &sealed, err);
    if (st == HS_OK)
        st = hs_store_sealed_put(app->store, field, id, old, sealed, err);
    if (st == HS_OK)
        (was_plain ? &counts->sealed : &counts->rekeyed)[0]++;
    if (plain)
        sodium_memzero(plain, strlen(plain));
    free(plain);
    free(sealed);
    free(old);
    return st;
}

hs_status hs_sealed_rekey(const hs_app *app, hs_sealed_rekey_counts *counts,
                          hs_error *err)
{
    hs_status st = HS_OK;
    memset(counts, 0, sizeof *counts);
    if (!app->keys)
        return hs_fail(err, HS_ERR_INVALID, "rekey: no data key loaded");
    for (int f = 0; st == HS_OK && f < HS_SEALED_FIELDS; f++) {
        hs_id *ids = NULL;
        size_t n = 0;
        st = hs_store_sealed_ids(app->store, (hs_sealed_field)f, &ids, &n, err);
        for (size_t i = 0; st == HS_OK && i < n; i++)
            st = rekey_value(app, (hs_sealed_field)f, ids[i], counts, err);
        free(ids);
    }
    return st;
}
