/* notify/webhook.c - the webhook's JSON POST through libcurl (see
 * webhook.h); the only code that speaks HTTP to the outside. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "notify/transfer.h"
#include "notify/webhook.h"

struct hs_webhook {
    char url[2048];
};

static const char *const HTTP_SCHEMES[] = {"http://", "https://", NULL};

hs_status hs_webhook_new(const char *url, hs_webhook **out, hs_error *err)
{
    hs_webhook *w;
    hs_status st;
    *out = NULL;
    if (!url || strlen(url) >= sizeof w->url ||
        !hs_transfer_url_ok(url, HTTP_SCHEMES))
        return hs_fail_field(err, HS_ERR_INVALID, "webhook-url",
                             "webhook-url: expected http://HOST[:PORT]/PATH "
                             "or https://...");
    if ((st = hs_transfer_init(err)) != HS_OK)
        return st;
    w = calloc(1, sizeof *w);
    if (!w)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    snprintf(w->url, sizeof w->url, "%s", url);
    *out = w;
    return HS_OK;
}

void hs_webhook_free(hs_webhook *w)
{
    free(w);
}

char *hs_webhook_payload(const hs_webhook_event *e)
{
    char at[32];
    time_t when = (time_t)e->at;
    struct tm tm;
    if (!gmtime_r(&when, &tm))
        return NULL;
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s?, s:s}", "event", e->event, "subject",
                  e->subject, "body", e->body, "user", e->user, "at", at);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return text;
}

/* Answers are not kept: their size must not matter. */
static size_t discard_answer(char *data, size_t size, size_t nmemb, void *user)
{
    (void)data, (void)user;
    return size * nmemb;
}

hs_status hs_webhook_post(hs_webhook *w, const hs_webhook_event *e,
                          const atomic_int *abort_flag, hs_error *err)
{
    hs_transfer_opts opts = {"http,https", abort_flag};
    char *payload = hs_webhook_payload(e);
    struct curl_slist *headers = NULL;
    CURL *c = NULL;
    hs_status st = HS_OK;
    long code = 0;
    if (!payload)
        return hs_fail(err, HS_ERR_INVALID,
                       "webhook: the event is not valid UTF-8 text");
    c = curl_easy_init();
    headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!c || !headers)
        st = hs_fail(err, HS_ERR_NOMEM, "webhook: out of memory");
    else if (curl_easy_setopt(c, CURLOPT_URL, w->url) != CURLE_OK ||
             curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
             curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload) != CURLE_OK ||
             curl_easy_setopt(c, CURLOPT_USERAGENT, "SystemHealer") !=
                 CURLE_OK ||
             curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_answer) !=
                 CURLE_OK)
        st = hs_fail(err, HS_ERR_INTERNAL, "webhook: cannot configure libcurl");
    else
        st = hs_transfer_run(c, &opts, "webhook", err);
    if (st == HS_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
        if (code < 200 || code > 299)
            st = hs_fail(err, HS_ERR_IO, "webhook: HTTP %ld", code);
    }
    curl_slist_free_all(headers);
    if (c)
        curl_easy_cleanup(c);
    free(payload);
    return st;
}
