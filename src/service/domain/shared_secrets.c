/* domain/shared_secrets.c - the deployment's shared secrets in the store's
 * settings (see shared_secrets.h for why).
 *
 * A secret is kept as the hex text of its bytes, sealed with the setting's
 * name as associated data; it is only ever created with put_new, so two
 * instances starting at once cannot end up with two keys.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/clock.h"
#include "base/datakey.h"
#include "domain/sealed.h"
#include "domain/shared_secrets.h"
#include "store/store.h"

#define HEX_LEN (2 * HS_APP_KEY_BYTES)

/* Opens a stored secret into key; names the setting and the likely cause
 * when it does not open. */
static hs_status open_secret(const hs_app *app, const char *name,
                             const char *stored, uint8_t *key, hs_error *err)
{
    char *hex = NULL;
    size_t got = 0;
    hs_error inner = {0};
    hs_status st =
        hs_sealed_open_setting(app->keys, name, stored, &hex, &inner);
    if (st == HS_ERR_CORRUPT)
        return hs_fail(err, HS_ERR_CORRUPT,
                       "the store's shared %s does not open under data key "
                       "%s (%s): every instance and worker of a deployment "
                       "needs the same data-key-file",
                       name, app->keys->current.id_hex, inner.message);
    if (st != HS_OK) {
        *err = inner;
        return st;
    }
    if (strlen(hex) != HEX_LEN ||
        sodium_hex2bin(key, HS_APP_KEY_BYTES, hex, HEX_LEN, NULL, &got, NULL) !=
            0 ||
        got != HS_APP_KEY_BYTES)
        st = hs_fail(err, HS_ERR_CORRUPT,
                     "the store's shared %s is not %d hex digits", name,
                     HEX_LEN);
    sodium_memzero(hex, strlen(hex));
    free(hex);
    return st;
}

hs_status hs_shared_csrf_key(const hs_app *app, const uint8_t *initial,
                             uint8_t *key, int *took_initial, hs_error *err)
{
    uint8_t mine[HS_APP_KEY_BYTES];
    char hex[HEX_LEN + 1];
    char *sealed = NULL, *stored = NULL;
    if (took_initial)
        *took_initial = 0;
    if (!app->keys)
        return hs_fail(err, HS_ERR_INVALID,
                       "the shared CSRF key needs the data key");
    hs_status st =
        hs_store_setting_get(app->store, HS_SETTING_CSRF_KEY, &stored, err);
    if (st == HS_ERR_NOTFOUND) {
        if (initial)
            memcpy(mine, initial, sizeof mine);
        else
            randombytes_buf(mine, sizeof mine);
        sodium_bin2hex(hex, sizeof hex, mine, sizeof mine);
        st = hs_sealed_seal_setting(app->keys, HS_SETTING_CSRF_KEY, hex,
                                    &sealed, err);
        if (st == HS_OK)
            st = hs_store_setting_put_new(app->store, HS_SETTING_CSRF_KEY,
                                          sealed, hs_clock_now(app->clock),
                                          &stored, err);
    }
    if (st == HS_OK)
        st = open_secret(app, HS_SETTING_CSRF_KEY, stored, key, err);
    if (st == HS_OK && took_initial && initial)
        *took_initial = sodium_memcmp(key, initial, HS_APP_KEY_BYTES) == 0;
    sodium_memzero(mine, sizeof mine);
    sodium_memzero(hex, sizeof hex);
    free(sealed);
    free(stored);
    return st;
}

hs_status hs_shared_secrets_check(const hs_app *app, hs_error *err)
{
    uint8_t key[HS_APP_KEY_BYTES];
    hs_status st = hs_shared_csrf_key(app, NULL, key, NULL, err);
    sodium_memzero(key, sizeof key);
    return st;
}

hs_status hs_shared_rekey(const hs_app *app, unsigned *rekeyed, hs_error *err)
{
    static const char *const SECRETS[] = {HS_SETTING_CSRF_KEY};
    hs_status st = HS_OK;
    if (rekeyed)
        *rekeyed = 0;
    if (!app->keys)
        return hs_fail(err, HS_ERR_INVALID, "rekey: no data key loaded");
    for (size_t i = 0; st == HS_OK && i < sizeof SECRETS / sizeof *SECRETS;
         i++) {
        char *stored = NULL, *plain = NULL, *sealed = NULL;
        st = hs_store_setting_get(app->store, SECRETS[i], &stored, err);
        if (st == HS_ERR_NOTFOUND) {
            st = HS_OK;
            continue;
        }
        if (st == HS_OK && hs_sealed_is_current(app->keys, stored)) {
            free(stored);
            continue;
        }
        if (st == HS_OK)
            st = hs_sealed_open_setting(app->keys, SECRETS[i], stored, &plain,
                                        err);
        if (st == HS_OK)
            st = hs_sealed_seal_setting(app->keys, SECRETS[i], plain, &sealed,
                                        err);
        if (st == HS_OK)
            st = hs_store_setting_set(app->store, SECRETS[i], sealed,
                                      hs_clock_now(app->clock), err);
        if (st == HS_OK && rekeyed)
            (*rekeyed)++;
        if (plain)
            sodium_memzero(plain, strlen(plain));
        free(plain);
        free(sealed);
        free(stored);
    }
    return st;
}
