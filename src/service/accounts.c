/* accounts.c - user creation with the shared rules (see accounts.h). */
#include <string.h>

#include "accounts.h"

#define USERNAME_MAX 63

static int name_char_ok(char c, int first)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return !first && (c == '.' || c == '_' || c == '-');
}

hs_status hs_accounts_check_username(const char *username, hs_error *err)
{
    size_t n = username ? strlen(username) : 0;
    if (n == 0)
        return hs_fail(err, HS_ERR_INVALID, "the username is empty");
    if (n > USERNAME_MAX)
        return hs_fail(err, HS_ERR_INVALID,
                       "the username is %zu bytes long; at most %d are allowed",
                       n, USERNAME_MAX);
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok(username[i], i == 0))
            return hs_fail(err, HS_ERR_INVALID,
                           "the username may only contain letters, digits, "
                           "'.', '_' and '-' and must start with a letter or "
                           "digit (character %zu is not allowed)",
                           i + 1);
    return HS_OK;
}

hs_status hs_accounts_create_user(hs_store *store, const char *username,
                                  const char *password, int is_admin,
                                  int64_t now, const hs_auth_costs *costs,
                                  hs_id *id_out, hs_error *err)
{
    hs_status rc = hs_accounts_check_username(username, err);
    if (rc != HS_OK || (rc = hs_auth_check_password_policy(password, err)) != HS_OK)
        return rc;
    hs_user u;
    memset(&u, 0, sizeof u);
    snprintf(u.username, sizeof u.username, "%s", username);
    if ((rc = hs_auth_hash_password(password, costs, u.password_hash, err)) !=
        HS_OK)
        return rc;
    u.is_admin = is_admin != 0;
    u.created_at = now;
    rc = hs_store_user_create(store, &u, err);
    sodium_memzero(u.password_hash, sizeof u.password_hash);
    if (rc == HS_OK && id_out)
        *id_out = u.id;
    return rc;
}
