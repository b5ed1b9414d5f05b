/* api_admin.c - user administration and the admins' notifications.
 *
 * Every route here is HS_ROUTE_ADMIN (http.c answers 403 to anyone else).
 * The rules - username and password policy, what a reset or a disable also
 * does to sessions - are the accounts service's; this file only maps the
 * requests onto it, plus one guard of its own: the last enabled admin
 * cannot be disabled, so the platform never loses its administrators.
 */
#include <string.h>

#include "domain/accounts.h"
#include "http/api.h"

static json_t *user_item(const void *u)
{
    return hs_api_user_json(u, hs_now());
}

void hs_api_users_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_user *users = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_store_user_list(app->store, &users, &n, &err);
    hs_api_reply_records(req, resp, st, &err, users, n, sizeof *users,
                         user_item);
    free(users);
}

/* Answers with user `id` as it is now. */
static void reply_user(hs_app *app, hs_resp *resp, int status, hs_id id)
{
    hs_user u;
    hs_error err = {0};
    hs_status st = hs_store_user_get(app->store, id, &u, &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    hs_reply_json(resp, status, hs_api_user_json(&u, hs_now()));
}

void hs_api_users_create(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *username = NULL, *password = NULL, *role = "user";
    if (!body)
        return;
    if (hs_api_req_string(body, "username", &username, resp) != 0 ||
        hs_api_req_string(body, "password", &password, resp) != 0 ||
        hs_api_opt_string(body, "role", &role, resp) != 0) {
        json_decref(body);
        return;
    }
    if (strcmp(role, "admin") && strcmp(role, "user")) {
        hs_reply_error(resp, 422, "invalid_data",
                       json_pack("{s:s}", "field", "role"),
                       "role must be \"admin\" or \"user\"");
        json_decref(body);
        return;
    }
    hs_error err = {0};
    hs_id id = 0;
    hs_status st = hs_accounts_create_user(app->store, username, password,
                                           !strcmp(role, "admin"), hs_now(),
                                           app->costs, &id, &err);
    if (st == HS_OK)
        reply_user(app, resp, 201, id);
    else if (st == HS_ERR_INVALID)
        hs_reply_error(resp, 422, "invalid_data",
                       json_pack("{s:s}", "field",
                                 strstr(err.message, "username") ? "username"
                                                                 : "password"),
                       "%s", err.message);
    else
        hs_reply_status(resp, st, &err);
    json_decref(body);
}

/* 1 when disabling `id` would leave no enabled admin. */
static int last_admin(hs_app *app, hs_id id)
{
    hs_user u;
    int64_t admins = 0;
    if (hs_store_user_get(app->store, id, &u, NULL) != HS_OK || !u.is_admin ||
        u.disabled)
        return 0;
    return hs_store_user_count_admins(app->store, &admins, NULL) == HS_OK &&
           admins <= 1;
}

static void set_disabled(hs_app *app, hs_req *req, hs_resp *resp, int disabled)
{
    hs_error err = {0};
    if (disabled && last_admin(app, req->ids[0])) {
        hs_reply_error(resp, 409, "conflict", NULL,
                       "this is the last enabled administrator; make another "
                       "one first");
        return;
    }
    hs_status st = hs_accounts_set_disabled(app->store, req->ids[0], disabled,
                                            hs_now(), &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        reply_user(app, resp, 200, req->ids[0]);
}

void hs_api_user_disable(hs_app *app, hs_req *req, hs_resp *resp)
{
    set_disabled(app, req, resp, 1);
}

void hs_api_user_enable(hs_app *app, hs_req *req, hs_resp *resp)
{
    set_disabled(app, req, resp, 0);
}

void hs_api_user_unlock(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_error err = {0};
    hs_status st = hs_accounts_unlock(app->store, req->ids[0], hs_now(), &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        reply_user(app, resp, 200, req->ids[0]);
}

void hs_api_user_password(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *password = NULL;
    if (!body)
        return;
    if (hs_api_req_string(body, "password", &password, resp) == 0) {
        hs_error err = {0};
        hs_status st = hs_accounts_reset_password(app->store, req->ids[0],
                                                  password, hs_now(),
                                                  app->costs, &err);
        if (st == HS_ERR_INVALID)
            hs_reply_error(resp, 422, "invalid_data",
                           json_pack("{s:s}", "field", "password"), "%s",
                           err.message);
        else if (st != HS_OK)
            hs_reply_status(resp, st, &err);
        else
            reply_user(app, resp, 200, req->ids[0]);
    }
    json_decref(body);
}

static json_t *notification_json(const void *rec)
{
    const hs_notification *m = rec;
    return json_pack("{s:I, s:s, s:s, s:o, s:I, s:b}", "id", (json_int_t)m->id,
                     "kind", m->kind, "message", m->message, "user_id",
                     m->user_id ? json_integer((json_int_t)m->user_id)
                                : json_null(),
                     "created_at", (json_int_t)m->created_at, "read", m->read);
}

void hs_api_notifications_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    const char *unread = hs_req_query(req, "unread");
    hs_notification *items = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_store_notification_list(
        app->store, unread && strcmp(unread, "0") != 0, &items, &n, &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         notification_json);
    free(items);
}

void hs_api_notification_read(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_error err = {0};
    hs_status st = hs_store_notification_mark_read(app->store, req->ids[0], &err);
    if (st != HS_OK) {
        hs_reply_status(resp, st, &err);
        return;
    }
    hs_notification *items = NULL;
    size_t n = 0;
    st = hs_store_notification_list(app->store, 0, &items, &n, &err);
    for (size_t i = 0; st == HS_OK && i < n; i++)
        if (items[i].id == req->ids[0]) {
            hs_reply_json(resp, 200, notification_json(&items[i]));
            free(items);
            return;
        }
    free(items);
    hs_reply_status(resp, st == HS_OK ? HS_ERR_NOTFOUND : st, &err);
}
