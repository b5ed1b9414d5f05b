/* accounts.h - the accounts service: creating users with the rules every
 * entry point (the CLI's `healer user add`, first-run setup, the admin API)
 * must share.
 *
 * Services sit between the entry points and the store: they validate, hash
 * and decide, then call the store; they never speak SQL and never touch
 * HTTP. Thread-safety: as the store's (every call here is one store call).
 */
#ifndef HEALER_HS_ACCOUNTS_H
#define HEALER_HS_ACCOUNTS_H

#include <stdint.h>

#include "auth.h"
#include "hs_error.h"
#include "store.h"

/* Checks a username: 1..63 bytes of ASCII letters, digits, '.', '_', '-',
 * starting with a letter or digit. HS_ERR_INVALID says what is wrong. */
hs_status hs_accounts_check_username(const char *username, hs_error *err);

/* Creates a user after checking the name and the password policy and
 * hashing the password (costs NULL = interactive). *id_out (may be NULL)
 * receives the new id. HS_ERR_CONFLICT when the name is taken. */
hs_status hs_accounts_create_user(hs_store *store, const char *username,
                                  const char *password, int is_admin,
                                  int64_t now, const hs_auth_costs *costs,
                                  hs_id *id_out, hs_error *err);

#endif
