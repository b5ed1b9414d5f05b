/* api_auth.c - first-run setup, login, logout, "who am I", the user's own
 * password and e-mail, unlock links, and the session and CSRF hooks the
 * HTTP layer calls for every request.
 *
 * The session token travels only in an HttpOnly cookie; the CSRF token the
 * client must echo in X-CSRF-Token is derived from the session (auth.h), so
 * neither needs storage beyond the session's hash. The rules (back-off,
 * lockout, unlock links, the per-address login limit, the setup token) are
 * the accounts service's.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "domain/accounts.h"
#include "http/api.h"

#define SESSION_COOKIE "healer_session"

const char *const hs_api_session_cookie = SESSION_COOKIE;

hs_status hs_api_authenticate(hs_app *app, const char *cookie, hs_req *req,
                              hs_error *err)
{
    hs_status st = hs_accounts_session_check(app, cookie, &req->session,
                                             &req->user, err);
    if (st == HS_OK)
        hs_auth_csrf_token(app->csrf_key, req->session.token_hash,
                           req->csrf_token);
    return st;
}

int hs_api_csrf_valid(hs_app *app, const hs_req *req, const char *presented)
{
    return hs_auth_csrf_verify(app->csrf_key, req->session.token_hash,
                               presented);
}

/* The session cookie, set or cleared (value "", lifetime "; Max-Age=0"):
 * Secure whenever the server is behind TLS or speaks it (http.c forces
 * secure_cookies on with HTTPS), so it never travels in clear. */
static void set_session_cookie(const hs_req *req, hs_resp *resp,
                               const char *value, const char *lifetime)
{
    char cookie[256];
    snprintf(cookie, sizeof cookie,
             SESSION_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict%s%s", value,
             lifetime, req->secure_cookies ? "; Secure" : "");
    hs_resp_header(resp, "Set-Cookie", cookie);
}

/* Sets the session cookie and answers with the user and CSRF token. */
static void reply_session(hs_app *app, const hs_req *req, hs_resp *resp,
                          int status, const hs_login *login)
{
    char lifetime[48] = "", csrf[HS_CSRF_TOKEN_CHARS + 1];
    int64_t now = hs_clock_now(app->clock);
    if (login->session.remember)
        snprintf(lifetime, sizeof lifetime, "; Max-Age=%lld",
                 (long long)(login->session.expires_at - now));
    hs_auth_csrf_token(app->csrf_key, login->session.token_hash, csrf);
    set_session_cookie(req, resp, login->token, lifetime);
    hs_reply_json(resp, status,
                  json_pack("{s:o, s:s, s:I, s:b}", "user",
                            hs_api_user_json(&login->user, now), "csrf_token",
                            csrf, "expires_at",
                            (json_int_t)login->session.expires_at, "remember",
                            login->session.remember));
}

/* A refused login. Every refusal of the credentials - unknown name, wrong
 * password, back-off, locked account - is the same 401 invalid_credentials
 * with the same message and no details (domain/logins.h), so the answer
 * tells nothing about which names exist or which accounts are locked; the
 * rest is mapped as every service error is. */
static void reply_login_error(hs_resp *resp, hs_status st, const hs_error *err)
{
    if (st == HS_ERR_DENIED)
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
        hs_login login;
        hs_error err = {0};
        hs_status st = hs_accounts_login(app, req->client, username, password,
                                         remember, &login, &err);
        if (st == HS_OK)
            reply_session(app, req, resp, 200, &login);
        else
            reply_login_error(resp, st, &err);
        sodium_memzero(&login, sizeof login);
    }
    json_decref(body);
}

/* POST /auth/unlock {"token"}: an unlock link's token lifts the lock. */
void hs_api_unlock(hs_app *app, hs_req *req, hs_resp *resp)
{
    static const struct {
        int status;
        const char *code;
    } refused[] = {
        [HS_UNLOCK_UNKNOWN] = {400, "unlock_token_invalid"},
        [HS_UNLOCK_USED] = {410, "unlock_token_used"},
        [HS_UNLOCK_EXPIRED] = {410, "unlock_token_expired"},
    };
    json_t *body = hs_api_body(req, resp);
    const char *token = NULL;
    if (!body)
        return;
    if (hs_api_req_string(body, "token", &token, resp) == 0) {
        hs_user u;
        hs_unlock_refusal why = HS_UNLOCK_ACCEPTED;
        hs_error err = {0};
        hs_status st = hs_accounts_unlock_with_link(app, req->client, token,
                                                    &u, &why, &err);
        if (st == HS_OK)
            hs_reply_json(resp, 200,
                          json_pack("{s:b, s:s}", "ok", 1, "username",
                                    u.username));
        else if (st == HS_ERR_DENIED && why != HS_UNLOCK_ACCEPTED)
            hs_reply_error(resp, refused[why].status, refused[why].code, NULL,
                           "%s", err.message);
        else
            hs_reply_status(resp, st, &err);
    }
    json_decref(body);
}

/* A refused re-authentication (a wrong current password) is 403
 * wrong_password naming the field; one during back-off is 429 backed_off
 * with the wait (Retry-After); the rest as every service error. */
static void reply_reauth(hs_app *app, hs_req *req, hs_resp *resp,
                         hs_status st, const hs_error *err)
{
    hs_user u;
    hs_error ignored = {0};
    char wait[24];
    if (st == HS_ERR_DENIED)
        hs_reply_error(resp, 403, "wrong_password",
                       json_pack("{s:s}", "field", err->field), "%s",
                       err->message);
    else if (st == HS_ERR_LIMITED && err->retry_after > 0) {
        hs_reply_error(resp, 429, "backed_off",
                       json_pack("{s:s, s:I}", "field", err->field,
                                 "retry_after", (json_int_t)err->retry_after),
                       "%s", err->message);
        snprintf(wait, sizeof wait, "%lld", (long long)err->retry_after);
        hs_resp_header(resp, "Retry-After", wait);
    } else if (st != HS_OK)
        hs_reply_status(resp, st, err);
    else if ((st = hs_accounts_get(app, req->user.id, &u, &ignored)) != HS_OK)
        hs_reply_status(resp, st, &ignored);
    else
        hs_reply_json(resp, 200,
                      json_pack("{s:o}", "user",
                                hs_api_user_json(&u, hs_clock_now(app->clock))));
}

void hs_api_me_password(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *current = NULL, *fresh = NULL;
    if (!body)
        return;
    if (hs_api_req_string(body, "current", &current, resp) == 0 &&
        hs_api_req_string(body, "new", &fresh, resp) == 0) {
        hs_error err = {0};
        hs_status st = hs_accounts_change_password(
            app, req->client, req->user.id, req->session.id, current, fresh,
            &err);
        reply_reauth(app, req, resp, st, &err);
    }
    json_decref(body);
}

void hs_api_me_email(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *email = NULL, *password = NULL;
    if (!body)
        return;
    if (hs_api_req_email(body, &email, resp) == 0 &&
        hs_api_req_string(body, "password", &password, resp) == 0) {
        hs_error err = {0};
        hs_status st = hs_accounts_change_email(app, req->client, req->user.id,
                                                password, email, &err);
        reply_reauth(app, req, resp, st, &err);
    }
    json_decref(body);
}

void hs_api_logout(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_error err = {0};
    hs_status st = hs_accounts_logout(app, req->session.id, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    set_session_cookie(req, resp, "", "; Max-Age=0");
    hs_reply_json(resp, 200, json_pack("{s:b}", "ok", 1));
}

void hs_api_me(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_reply_json(resp, 200,
                  json_pack("{s:o, s:s, s:I, s:b}", "user",
                            hs_api_user_json(&req->user,
                                             hs_clock_now(app->clock)),
                            "csrf_token", req->csrf_token, "expires_at",
                            (json_int_t)req->session.expires_at, "remember",
                            req->session.remember));
}

/* ---- first-run setup ----------------------------------------------------------- */

/* The lockout rule, for the login page to state: a refused login never
 * says how many attempts are left (every refusal answers alike), so the
 * rule itself is public, from the policy the server runs with. */
static json_t *lockout_json(const hs_app *app)
{
    const hs_lockout_policy p = hs_logins_policy(app).lockout;
    return json_pack("{s:i, s:I, s:I}", "max_failures", p.max_failures,
                     "window_seconds", (json_int_t)p.window_seconds,
                     "lock_seconds", (json_int_t)p.lock_seconds);
}

void hs_api_setup_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    int required = 0;
    hs_error err = {0};
    (void)req;
    hs_status st = hs_setup_required(app, &required, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200,
                      json_pack("{s:b, s:o}", "setup_required", required,
                                "lockout", lockout_json(app)));
}

void hs_api_setup_post(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *token = NULL, *username = NULL, *password = NULL;
    int remember = 0;
    if (!body)
        return;
    if (hs_api_req_string(body, "token", &token, resp) == 0 &&
        hs_api_req_string(body, "username", &username, resp) == 0 &&
        hs_api_req_string(body, "password", &password, resp) == 0 &&
        hs_api_opt_bool(body, "remember", &remember, resp) == 0) {
        hs_login login;
        hs_error err = {0};
        hs_status st = hs_setup_complete(app, req->client, token, username,
                                         password, remember, &login, &err);
        if (st == HS_OK)
            reply_session(app, req, resp, 201, &login);
        else if (st == HS_ERR_DENIED)
            hs_reply_error(resp, 403, "setup_token_invalid", NULL, "%s",
                           err.message);
        else
            hs_reply_status(resp, st, &err);
        sodium_memzero(&login, sizeof login);
    }
    json_decref(body);
}

/* ---- preferences ------------------------------------------------------------- */

#define PREFS_MAX_BYTES 8192

/* The "layout" preference: the panels each page shows, in the user's order
 * (web/src/views/panels.js): {PAGE: {"order": [ID, ...], "hidden": [ID,
 * ...]}}, names of 1..32 of [a-z0-9_-], at most LAYOUT_PAGES pages and
 * LAYOUT_PANELS ids a list, none twice. The bounds keep it far below
 * PREFS_MAX_BYTES' share of the other keys. */
#define LAYOUT_PAGES 32
#define LAYOUT_PANELS 48
#define LAYOUT_NAME_MAX 32

static int layout_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > LAYOUT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '-' || s[i] == '_'))
            return 0;
    return 1;
}

/* 422 naming `field` ("layout.model.order[2]"); returns -1. */
static int layout_refused(hs_resp *resp, const char *field, const char *why)
{
    hs_reply_error(resp, 422, "invalid_data", json_pack("{s:s}", "field", field),
                   "'%s' %s", field, why);
    return -1;
}

static int check_layout_ids(const json_t *ids, const char *field,
                            hs_resp *resp)
{
    char item[160];
    size_t i;
    const json_t *v;
    if (!json_is_array(ids))
        return layout_refused(resp, field, "must be a list of panel ids");
    if (json_array_size(ids) > LAYOUT_PANELS)
        return layout_refused(resp, field, "has more than 48 panels");
    json_array_foreach(ids, i, v) {
        snprintf(item, sizeof item, "%s[%zu]", field, i);
        if (!json_is_string(v) || !layout_name_ok(json_string_value(v)))
            return layout_refused(resp, item,
                                  "must be a panel id of 1 to 32 of a-z, 0-9, "
                                  "'-' and '_'");
        for (size_t j = 0; j < i; j++)
            if (json_equal(v, json_array_get(ids, j)))
                return layout_refused(resp, item, "names a panel twice");
    }
    return 0;
}

static int check_layout(const json_t *layout, hs_resp *resp)
{
    char field[128];
    const char *page, *key;
    const json_t *entry, *v;
    if (!layout || json_is_null(layout))
        return 0;
    if (!json_is_object(layout))
        return layout_refused(resp, "layout",
                              "must be an object of pages");
    if (json_object_size(layout) > LAYOUT_PAGES)
        return layout_refused(resp, "layout", "has more than 32 pages");
    json_object_foreach((json_t *)layout, page, entry) {
        if (!layout_name_ok(page))
            return layout_refused(resp, "layout",
                                  "has a page name that is not 1 to 32 of "
                                  "a-z, 0-9, '-' and '_'");
        snprintf(field, sizeof field, "layout.%s", page);
        if (!json_is_object(entry))
            return layout_refused(resp, field,
                                  "must be {\"order\": [...], \"hidden\": [...]}");
        json_object_foreach((json_t *)entry, key, v) {
            if (strcmp(key, "order") && strcmp(key, "hidden")) {
                snprintf(field, sizeof field, "layout.%s.%.32s", page, key);
                return layout_refused(resp, field,
                                      "is unknown: a page has \"order\" and "
                                      "\"hidden\"");
            }
            snprintf(field, sizeof field, "layout.%s.%s", page, key);
            if (check_layout_ids(v, field, resp) != 0)
                return -1;
        }
    }
    return 0;
}

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
    return check_layout(json_object_get(prefs, "layout"), resp);
}

void hs_api_prefs_get(hs_app *app, hs_req *req, hs_resp *resp)
{
    char *text = NULL;
    hs_error err = {0};
    hs_status st = hs_accounts_prefs_get(app, req->user.id, &text, &err);
    if (st != HS_OK) {
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
        hs_status st = hs_accounts_prefs_set(app, req->user.id, text, &err);
        if (st != HS_OK)
            hs_reply_status(resp, st, &err);
        else
            hs_reply_json(resp, 200,
                          json_pack("{s:O}", "preferences", prefs));
    }
    free(text);
    json_decref(body);
}
