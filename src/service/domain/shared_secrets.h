/* domain/shared_secrets.h - the secrets every process of one deployment
 * shares, kept in the store's settings (store.h, version 14) and sealed
 * under the data key (domain/sealed.h).
 *
 * Why the store: any number of `healer serve` instances behind a load
 * balancer must accept each other's CSRF tokens, and the store is the one
 * thing they all open; a file of each data directory (the server.key of
 * earlier versions) would give each instance its own key. Why sealed: a
 * reader of the database (a backup, a replica) must not be able to mint
 * tokens; every instance is given the same --data-key-file anyway. The
 * first instance to start puts the key (put_new: whichever is first, all
 * agree on it); an instance whose data key cannot open it refuses to
 * start, saying why, instead of rejecting every other instance's tokens.
 */
#ifndef HEALER_HS_SHARED_SECRETS_H
#define HEALER_HS_SHARED_SECRETS_H

#include <stdint.h>

#include "base/app.h"
#include "base/error.h"

/* The setting the CSRF key is kept under (64 hex digits, sealed). */
#define HS_SETTING_CSRF_KEY "csrf-key"

/* The deployment's CSRF key into key[HS_APP_KEY_BYTES]: the store's,
 * opened under app->keys. When the store has none yet, `initial` (the key
 * an existing data directory kept in its server.key, so that tokens issued
 * before stay valid; NULL = fresh random bytes) is sealed and put with
 * put_new, and the key is whichever instance's put came first. *took_initial
 * (may be NULL) is 1 when the key is `initial`'s, 0 otherwise.
 * Errors: HS_ERR_INVALID without app->keys; HS_ERR_CORRUPT when the stored
 * key does not open under this data key (named: every instance needs the
 * same data-key-file) or is not 64 hex digits; the store's errors. */
hs_status hs_shared_csrf_key(const hs_app *app, const uint8_t *initial,
                             uint8_t *key, int *took_initial, hs_error *err);

/* Checks that this process holds the deployment's data key: the shared
 * CSRF key opens under app->keys (hs_shared_csrf_key with no initial key,
 * the key itself wiped). `healer worker` calls it at start, as serve loads
 * the key: a worker with another data key would claim and fail every job.
 * When no process has put the key yet it is made here (put_new), so the
 * first process of any kind, web instance or worker, sets the deployment's
 * key and every later one is checked against it. Errors: those of
 * hs_shared_csrf_key (HS_ERR_CORRUPT naming data-key-file). */
hs_status hs_shared_secrets_check(const hs_app *app, hs_error *err);

/* Seals every shared secret again under app->keys->current (opened under
 * current or previous): `healer rekey`'s part for the settings. *rekeyed
 * (may be NULL) counts what was rewritten; a missing secret is not an
 * error (none was made yet). */
hs_status hs_shared_rekey(const hs_app *app, unsigned *rekeyed, hs_error *err);

#endif
