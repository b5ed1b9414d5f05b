/* api_admin.c - user administration and the admins' notifications.
 *
 * Every route here is HS_ROUTE_ADMIN (http.c answers 403 to anyone else).
 * The rules - username, password and e-mail policy, what a reset or a disable also
 * does to sessions, that the last enabled administrator cannot be
 * disabled - are the accounts service's; this file maps requests onto it.
 */
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "domain/accounts.h"
#include "domain/notifications.h"
#include "http/api.h"

static json_t *user_item(const void *rec, int64_t now)
{
    return hs_api_user_json(rec, now);
}

void hs_api_users_list(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_user *users = NULL;
    size_t n = 0;
    hs_error err = {0};
    hs_status st = hs_accounts_list(app, &users, &n, &err);
    hs_api_reply_records(req, resp, st, &err, users, n, sizeof *users,
                         user_item, hs_clock_now(app->clock));
    free(users);
}

/* Answers with user `id` as it is now. */
static void reply_user(hs_app *app, hs_resp *resp, int status, hs_id id)
{
    hs_user u;
    hs_error err = {0};
    hs_status st = hs_accounts_get(app, id, &u, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, status,
                      hs_api_user_json(&u, hs_clock_now(app->clock)));
}

/* After an admin action on the path's user: the user, or the error. */
static void reply_action(hs_app *app, hs_req *req, hs_resp *resp,
                         hs_status st, const hs_error *err)
{
    if (st != HS_OK)
        hs_reply_status(resp, st, err);
    else
        reply_user(app, resp, 200, req->ids[0]);
}

void hs_api_users_create(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *username = NULL, *password = NULL, *role = "user";
    const char *email = NULL;
    if (!body)
        return;
    if (hs_api_req_string(body, "username", &username, resp) != 0 ||
        hs_api_req_string(body, "password", &password, resp) != 0 ||
        hs_api_opt_string(body, "role", &role, resp) != 0 ||
        hs_api_opt_email(body, &email, resp) != 0) {
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
    hs_actor by = hs_api_actor(req);
    hs_status st = hs_accounts_create_user(app, &by, username, password,
                                           !strcmp(role, "admin"), email, &id,
                                           &err);
    if (st == HS_OK)
        reply_user(app, resp, 201, id);
    else
        hs_reply_status(resp, st, &err);
    json_decref(body);
}

void hs_api_user_disable(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_error err = {0};
    hs_actor by = hs_api_actor(req);
    hs_status st = hs_accounts_set_disabled(app, &by, req->ids[0], 1, &err);
    reply_action(app, req, resp, st, &err);
}

void hs_api_user_enable(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_error err = {0};
    hs_actor by = hs_api_actor(req);
    hs_status st = hs_accounts_set_disabled(app, &by, req->ids[0], 0, &err);
    reply_action(app, req, resp, st, &err);
}

void hs_api_user_unlock(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_error err = {0};
    hs_actor by = hs_api_actor(req);
    hs_status st = hs_accounts_unlock(app, &by, req->ids[0], &err);
    reply_action(app, req, resp, st, &err);
}

void hs_api_user_email(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *email = NULL;
    if (!body)
        return;
    if (hs_api_req_email(body, &email, resp) == 0) {
        hs_error err = {0};
        hs_actor by = hs_api_actor(req);
        hs_status st =
            hs_accounts_set_email(app, &by, req->ids[0], email, &err);
        reply_action(app, req, resp, st, &err);
    }
    json_decref(body);
}

void hs_api_user_password(hs_app *app, hs_req *req, hs_resp *resp)
{
    json_t *body = hs_api_body(req, resp);
    const char *password = NULL;
    if (!body)
        return;
    if (hs_api_req_string(body, "password", &password, resp) == 0) {
        hs_error err = {0};
        hs_actor by = hs_api_actor(req);
        hs_status st = hs_accounts_reset_password(app, &by, req->ids[0],
                                                  password, &err);
        reply_action(app, req, resp, st, &err);
    }
    json_decref(body);
}

static json_t *notification_json(const void *rec, int64_t now)
{
    const hs_notification *m = rec;
    (void)now;
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
    hs_status st = hs_notifications_list(app, unread && strcmp(unread, "0") != 0,
                                         &items, &n, &err);
    hs_api_reply_records(req, resp, st, &err, items, n, sizeof *items,
                         notification_json,
                         hs_clock_now(app->clock));
    free(items);
}

void hs_api_notification_read(hs_app *app, hs_req *req, hs_resp *resp)
{
    hs_notification note;
    hs_error err = {0};
    hs_status st = hs_notifications_mark_read(app, req->ids[0], &note, &err);
    if (st != HS_OK)
        hs_reply_status(resp, st, &err);
    else
        hs_reply_json(resp, 200, notification_json(&note, 0));
}
