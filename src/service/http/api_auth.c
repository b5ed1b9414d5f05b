/* api_auth.c - first-run setup, login, logout, "who am I".
 *
 * The session token travels only in an HttpOnly cookie; the CSRF token the
 * client must echo in X-CSRF-Token is derived from the session (auth.h), so
 * neither needs storage beyond the session's hash. Logins are also limited
 * per client address (a fixed one-minute window in a small hashed table),
 * on top of the per-account lockout, so that spraying many accounts from
 * one address is slowed too.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "domain/accounts.h"
#include "http/api.h"

struct hs_rate_slot {
    uint64_t key;   /* hash of the client address */
    int64_t minute; /* the window it counts */
    unsigned count;
};

#define RATE_SLOTS 1024

static uint64_t client_key(const hs_req *req)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
        (struct MHD_Connection *)req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    if (!ci || !ci->client_addr)
        return h;
    const struct sockaddr *sa = ci->client_addr;
    const unsigned char *p;
    size_t n;
    if (sa->sa_family == AF_INET6) {
        p = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        n = 16;
    } else {
        p = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        n = 4;
    }
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* 1 when this client may try another login now. */
static int rate_allows(hs_app *app, const hs_req *req)
{
    if (!app->limits.login_per_minute)
        return 1;
    uint64_t key = client_key(req);
    int64_t minute = hs_now() / 60;
    int ok = 1;
    pthread_mutex_lock(&app->rate_lock);
    if (!app->rate_slots) {
        app->rate_slots = calloc(RATE_SLOTS, sizeof *app->rate_slots);
        app->n_rate_slots = app->rate_slots ? RATE_SLOTS : 0;
    }
    if (app->n_rate_slots) {
        struct hs_rate_slot *s = &app->rate_slots[key % app->n_rate_slots];
        if (s->key != key || s->minute != minute) {
            s->key = key;
            s->minute = minute;
            s->count = 0;
        }
        ok = ++s->count <= app->limits.login_per_minute;
    }
    pthread_mutex_unlock(&app->rate_lock);
    return ok;
}

/* Sets the session cookie and answers with the user and CSRF token. */
static void reply_session(hs_app *app, hs_resp *resp, int status,
                          const hs_login *login)
{
    char cookie[256], csrf[HS_CSRF_TOKEN_CHARS + 1];
    int n = snprintf(cookie, sizeof cookie,
                     "healer_session=%s; Path=/; HttpOnly; SameSite=Strict%s",
                     login->token, app->secure_cookies ? "; Secure" : "");
    if (login->session.remember && n > 0 && (size_t)n < sizeof cookie)
        snprintf(cookie + n, sizeof cookie - (size_t)n, "; Max-Age=%lld",
                 (long long)(login->session.expires_at - hs_now()));
    hs_auth_csrf_token(app->csrf_key, login->session.token_hash, csrf);
    hs_resp_header(resp, "Set-Cookie", cookie);
    hs_reply_json(resp, status,
                  json_pack("{s:o, s:s, s:I, s:b}", "user",
                            hs_api_user_json(&login->user, hs_now()),
                            "csrf_token", csrf, "expires_at",
                            (json_int_t)login->session.expires_at, "remember",
                            login->session.remember));
}

static void reply_login_error(hs_resp *resp, hs_status st, const hs_error *err)
{
    if (st == HS_ERR_DENIED && !strcmp(err->message, "account disabled"))
        hs_reply_error(resp, 403, "account_disabled", NULL,
                       "this account is disabled; ask an administrator");
    else if (st == HS_ERR_DENIED)
        hs_reply_error(resp, 401, "invalid_credentials", NULL, "%s",
                       err->message);
    else
        hs_reply_status(resp, st, err);
}

void hs_api_login(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *username = NULL, *password = NULL;
    int remember = 0;
    if (!body)
        return;
    if (hs_api_req_string(body, "username", &username, resp) == 0 &&
        hs_api_req_string(body, "password", &password, resp) == 0 &&
        hs_api_opt_bool(body, "remember", &remember, resp) == 0) {
        if (!rate_allows(app, req)) {
            hs_reply_error(resp, 429, "rate_limited", NULL,
                           "too many login attempts from this address; wait "
                           "a minute");
            hs_resp_header(resp, "Retry-After", "60");
        } else {
            hs_login login;
            hs_error err = {0};
            hs_status st = hs_accounts_login(app->store, username, password,
                                             remember, hs_now(), NULL, NULL,
                                             app->costs, &login, &err);
            if (st == HS_OK)
                reply_session(app, resp, 200, &login);
            else
                reply_login_error(resp, st, &err);
            sodium_memzero(&login, sizeof login);
        }
    }
    json_decref(body);
}

void hs_api_logout(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_store_session_delete(app->store, req->session.id, NULL);
    hs_resp_header(resp, "Set-Cookie",
                   "healer_session=; Path=/; HttpOnly; SameSite=Strict; "
                   "Max-Age=0");
    hs_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

void hs_api_me(hs_app *app, hs_req *req, hs_resp *resp)
{
    (void)app;
    hs_reply_json(resp, 200,
                  json_pack("{s:o, s:s, s:I, s:b}", "user",
                            hs_api_user_json(&req->user, hs_now()),
                            "csrf_token", req->csrf_token, "expires_at",
                            (json_int_t)req->session.expires_at, "remember",
                            req->session.remember));
}

/* ---- first-run setup ----------------------------------------------------------- */

void hs_api_setup_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    int64_t users = 0;
    hs_error err = {0};
    (void)req;
    hs_status st = hs_store_user_count(app->store, &users, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    hs_reply_json(resp, 200, json_pack("{s:b}", "setup_required", users == 0));
}

void hs_api_setup_post(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *token = NULL, *username = NULL, *password = NULL;
    if (!body)
        return;
    if (hs_api_req_string(body, "token", &token, resp) != 0 ||
        hs_api_req_string(body, "username", &username, resp) != 0 ||
        hs_api_req_string(body, "password", &password, resp) != 0) {
        json_decref(body);
        return;
    }
    hs_error err = {0};
    int64_t users = 0;
    hs_status st;
    /* One setup at a time: the token is spent by the first that works. */
    pthread_mutex_lock(&app->setup_lock);
    if ((st = hs_store_user_count(app->store, &users, &err)) != HS_OK)
        hs_reply_status(resp, st, &err);
    else if (users > 0 || !app->setup_token[0])
        hs_reply_error(resp, 409, "conflict", NULL,
                       "setup is already done; log in instead");
    else if (!rate_allows(app, req)) {
        hs_reply_error(resp, 429, "rate_limited", NULL,
                       "too many attempts from this address; wait a minute");
        hs_resp_header(resp, "Retry-After", "60");
    }
    else if (!hs_auth_setup_token_matches(app->setup_token, token))
        hs_reply_error(resp, 403, "setup_token_invalid", NULL,
                       "the setup token is wrong (it was printed on the "
                       "server's console at start)");
    else if ((st = hs_accounts_create_user(app->store, username, password, 1,
                                           hs_now(), app->costs, NULL,
                                           &err)) != HS_OK)
        hs_reply_error(resp, st == HS_ERR_INVALID ? 422 : 500,
                       st == HS_ERR_INVALID ? "invalid_data" : "internal",
                       json_pack("{s:s}", "field",
                                 strstr(err.message, "username") ? "username"
                                                                 : "password"),
                       "%s", err.message);
    else {
        hs_login login;
        app->setup_token[0] = '\0';
        st = hs_accounts_login(app->store, username, password, 0, hs_now(),
                               NULL, NULL, app->costs, &login, &err);
        if (st == HS_OK)
            reply_session(app, resp, 201, &login);
        else
            hs_reply_status(resp, st, &err);
        sodium_memzero(&login, sizeof login);
    }
    pthread_mutex_unlock(&app->setup_lock);
    json_decref(body);
}

/* ---- preferences ------------------------------------------------------------- */

#define PREFS_MAX_BYTES 8192

/* The known keys must have their documented types; others are kept as they
 * are (the UI may add some), within PREFS_MAX_BYTES. */
static int check_prefs(const json_t *prefs, hs_resp *resp)
{
    static const struct {
        const char *key;
        const char *const choices[4];
    } ENUMS[] = {
        {"language", {"en", "zh-CN"}},
        {"theme", {"light", "dark", "auto"}},
        {"density", {"compact", "comfortable"}},
    };
    for (size_t i = 0; i < sizeof ENUMS / sizeof ENUMS[0]; i++) {
        const json_t *v = json_object_get(prefs, ENUMS[i].key);
        if (!v)
            continue;
        int ok = 0;
        for (size_t c = 0; c < 4 && ENUMS[i].choices[c]; c++)
            ok |= json_is_string(v) &&
                  !strcmp(json_string_value(v), ENUMS[i].choices[c]);
        if (!ok) {
            hs_reply_error(resp, 422, "invalid_data",
                           json_pack("{s:s}", "field", ENUMS[i].key),
                           "'%s' has an unknown value", ENUMS[i].key);
            return -1;
        }
    }
    static const char *const IDS[] = {"last_dataset_id", "last_model_id",
                                      "last_diagnosis_id"};
    for (size_t i = 0; i < sizeof IDS / sizeof IDS[0]; i++) {
        const json_t *v = json_object_get(prefs, IDS[i]);
        if (v && !json_is_null(v) &&
            !(json_is_integer(v) && json_integer_value(v) > 0)) {
            hs_reply_error(resp, 422, "invalid_data",
                           json_pack("{s:s}", "field", IDS[i]),
                           "'%s' must be an id or null", IDS[i]);
            return -1;
        }
    }
    const json_t *palette = json_object_get(prefs, "palette");
    if (palette && !(json_is_string(palette) &&
                     strlen(json_string_value(palette)) <= 32)) {
        hs_reply_error(resp, 422, "invalid_data",
                       json_pack("{s:s}", "field", "palette"),
                       "'palette' must be a name of at most 32 characters");
        return -1;
    }
    return 0;
}

void hs_api_prefs_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    char *text = NULL;
    hs_error err = {0};
    hs_status st = hs_store_user_prefs_get(app->store, req->user.id, &text, &err);
    if (st != HS_OK && st != HS_ERR_NOTFOUND) {
        hs_reply_status(resp, st, &err);
        return;
    }
    json_t *prefs = hs_api_stored_json(text);
    free(text);
    if (!json_is_object(prefs)) {
        json_decref(prefs);
        prefs = json_object();
    }
    hs_reply_json(resp, 200, json_pack("{s:o}", "preferences", prefs));
}

void hs_api_prefs_put(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    if (!body)
        return;
    json_t *prefs = json_object_get(body, "preferences");
    if (!json_is_object(prefs)) {
        hs_reply_error(resp, 400, "bad_request",
                       json_pack("{s:s}", "field", "preferences"),
                       "send {\"preferences\": {...}}");
        json_decref(body);
        return;
    }
    char *text = check_prefs(prefs, resp) == 0
                     ? json_dumps(prefs, JSON_COMPACT | JSON_SORT_KEYS)
                     : NULL;
    if (text && strlen(text) > PREFS_MAX_BYTES) {
        hs_reply_error(resp, 413, "payload_too_large", NULL,
                       "preferences are limited to %d bytes", PREFS_MAX_BYTES);
    } else if (text) {
        hs_error err = {0};
        hs_status st = hs_store_user_prefs_set(app->store, req->user.id, text,
                                               hs_now(), &err);
        if (st != HS_OK)
            hs_reply_status(resp, st, &err);
        else
            hs_reply_json(resp, 200,
                          json_pack("{s:O}", "preferences", prefs));
    }
    free(text);
    json_decref(body);
}
