/* notify/transfer.c - libcurl's set-up shared by the outbound adapters
 * (see transfer.h). */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "notify/transfer.h"

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static CURLcode init_result = CURLE_FAILED_INIT;

static void init_curl(void)
{
    init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

hs_status hs_transfer_init(hs_error *err)
{
    pthread_once(&init_once, init_curl);
    if (init_result != CURLE_OK)
        return hs_fail(err, HS_ERR_INTERNAL, "cannot start libcurl: %s",
                       curl_easy_strerror(init_result));
    return HS_OK;
}

/* Called by libcurl about once a second: non-zero aborts the transfer. */
static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    const atomic_int *abort_flag = user;
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return abort_flag && atomic_load(abort_flag) ? 1 : 0;
}

hs_status hs_transfer_run(void *curl, const hs_transfer_opts *opts,
                          const char *what, hs_error *err)
{
    char reason[CURL_ERROR_SIZE] = "";
    CURL *c = curl;
    CURLcode rc = curl_easy_setopt(c, CURLOPT_ERRORBUFFER, reason);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT,
                              (long)HS_TRANSFER_CONNECT_SECONDS);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_TIMEOUT,
                              (long)HS_TRANSFER_TOTAL_SECONDS);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, opts->protocols);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    if (rc == CURLE_OK)
        rc =
            curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)opts->abort_flag);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    if (rc != CURLE_OK)
        return hs_fail(err, HS_ERR_INTERNAL, "%s: cannot configure libcurl: %s",
                       what, curl_easy_strerror(rc));
    rc = curl_easy_perform(c);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK)
        return HS_OK;
    return hs_fail(err, HS_ERR_IO, "%s: %s", what,
                   reason[0] ? reason : curl_easy_strerror(rc));
}

int hs_transfer_url_ok(const char *url, const char *const *schemes)
{
    if (!url)
        return 0;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return 0;
    for (size_t i = 0; schemes[i]; i++) {
        size_t n = strlen(schemes[i]);
        if (!strncmp(url, schemes[i], n))
            return url[n] != '\0' && url[n] != '/' && url[n] != ':';
    }
    return 0;
}
