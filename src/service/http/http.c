/* http.c - the HTTP layer on libmicrohttpd (see http.h for the contract).
 *
 * libmicrohttpd calls the access handler several times per request: once
 * with the headers, then once per chunk of body, then once more with no
 * data. This file keeps a req_ctx per request across those calls:
 *   1. headers: find the route, authenticate, check CSRF, Content-Type and
 *      Content-Length; an error is decided here but answered only after
 *      the body was drained (see http.h);
 *   2. body: JSON is appended to a buffer (bounded), multipart goes through
 *      MHD's post processor, whose file part streams into a blob writer;
 *   3. end: commit the blob, call the handler, send its response, then
 *      count the request (Prometheus) and write the access log line.
 * A handler that keeps an uploaded blob clears req->upload.blob_key;
 * otherwise it is deleted here, so a failed upload leaves nothing behind.
 *
 * Step 3 of a request that writes (hs_http_runs_on_write_threads: a
 * state-changing method) runs on the write threads (base/workpool.h), not
 * on the connection thread: its blob commit and its handler wait for the
 * disk (fsyncs), and a connection thread serves many connections, which
 * would all wait too. The connection is suspended
 * (MHD_suspend_connection: libmicrohttpd then neither reads it, nor times
 * it out, nor notices a disconnect), the request goes to the pool, and
 * when its write thread is done it resumes the connection; libmicrohttpd
 * then calls on_request again, on a connection thread, which sends the
 * answer built meanwhile and counts and logs the request as always (its
 * time includes the wait for a write thread). req_ctx.offload says who
 * owns the request at each moment (see run_offloaded). A full pool is
 * answered 503 at once; at shutdown the pool is drained, and its requests
 * answered, before libmicrohttpd stops (hs_http_stop), since stopping it
 * with a connection suspended is not allowed.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <sodium.h>

#include "base/app.h"
#include "base/client_key.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/workpool.h"
#include "domain/security_report.h"
#include "healer/clock.h"
#include "http/conn_guard.h"
#include "http/http.h"
#include "http/request_head.h"

/* Response statuses counted separately in /metrics; others go to "other". */
static const int COUNTED_STATUS[] = {200, 201, 202, 204, 304, 400, 401,
                                     403, 404, 405, 409, 413, 414, 415,
                                     422, 429, 431, 500, 501, 503};
#define N_STATUS ((int)(sizeof COUNTED_STATUS / sizeof COUNTED_STATUS[0]) + 1)

/* Latency histogram bucket bounds, seconds (Prometheus' usual set). */
static const double LATENCY_BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                         0.05,  0.1,    0.25,  0.5,  1,
                                         2.5,   5,      10};
#define N_BUCKETS ((int)(sizeof LATENCY_BUCKETS / sizeof LATENCY_BUCKETS[0]))

/* Pseudo-routes after the table's: static files and unmatched paths. */
enum { EXTRA_STATIC = 0, EXTRA_UNMATCHED = 1, N_EXTRA = 2 };

struct hs_http {
    struct MHD_Daemon *daemon;
    int tls;                /* HTTPS: HSTS on every answer */
    hs_http_proxies proxies; /* whose X-Forwarded-For names the client */
    MHD_socket quiesced_fd; /* the listening socket after quiesce */
    hs_app *app;
    hs_http_config cfg;
    char *web_dir;
    const hs_route *routes;
    size_t n_routes;
    atomic_uint_fast64_t next_request; /* request id counter */
    uint32_t id_prefix;                /* random per process */
    /* (n_routes + N_EXTRA) * N_STATUS counters; lock-free. */
    atomic_uint_fast64_t *counts;
    atomic_uint_fast64_t latency[N_BUCKETS + 1];
    atomic_uint_fast64_t latency_sum_us;
    hs_conn_guard *guard; /* per-address limit, request-head deadline */
    hs_workpool *writes;  /* the write threads; NULL = none (cfg) */
    /* Requests handed to the write threads and not yet freed: answered
     * or not, their connections are still libmicrohttpd's (hs_http_stop
     * waits for them before stopping it). */
    atomic_uint_fast64_t writes_open;
};

typedef enum body_mode { BODY_NONE, BODY_JSON, BODY_MULTIPART } body_mode;

typedef struct req_ctx {
    hs_http *h;
    hs_req req;
    hs_resp resp;          /* the decided error, or the handler's response */
    int route_index;       /* index in routes, or n_routes + EXTRA_* */
    int failed;            /* resp holds an error; drain the body */
    int csrf_refused;      /* resp is the CSRF check's 403 */
    body_mode mode;
    size_t body_cap;
    uint64_t body_bytes;   /* bytes of body received */
    struct MHD_PostProcessor *pp;
    hs_blob_writer *writer;
    uint64_t file_bytes;   /* bytes of the "file" part so far */
    int answered;          /* a response was queued */
    int must_close;        /* answer now and close (a refused head) */
    int ran;               /* step 3 ran: resp is the request's answer */
    double t_start;
    /* On the write threads (see run_offloaded): */
    hs_work work;          /* its item in h->writes */
    int offloaded;         /* it was handed over (counted in writes_open) */
    atomic_int offload;    /* an offload_state: who owns the request now */
} req_ctx;

/* Where a request that was handed to the write threads is. QUEUED: the
 * pool owns it (waiting or running) and its connection is suspended;
 * DONE: its answer is built and the connection resumed, a connection
 * thread owns it again; ABANDONED: libmicrohttpd ended the request while
 * the pool owned it, and the pool frees it. */
enum offload_state { OFFLOAD_NONE, OFFLOAD_QUEUED, OFFLOAD_DONE,
                     OFFLOAD_ABANDONED };

/* ---- small helpers --------------------------------------------------------- */

int hs_buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        size_t room = *cap - *len;
        va_start(ap, fmt);
        int n = *buf ? vsnprintf(*buf + *len, room, fmt, ap) : -2;
        va_end(ap);
        if (n >= 0 && (size_t)n < room) {
            *len += (size_t)n;
            return 0;
        }
        if (n == -1)
            return -1;
        size_t want = *cap ? *cap * 2 : 4096;
        while (n > 0 && want < *len + (size_t)n + 1)
            want *= 2;
        char *grown = realloc(*buf, want);
        if (!grown)
            return -1;
        *buf = grown;
        *cap = want;
    }
}

const char *hs_req_header(const hs_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *hs_req_query(const hs_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *hs_req_field(const hs_req *req, const char *name)
{
    for (size_t i = 0; i < req->n_fields; i++)
        if (!strcmp(req->fields[i].name, name))
            return req->fields[i].value;
    return NULL;
}

void hs_resp_header(hs_resp *resp, const char *name, const char *value)
{
    if (resp->n_headers >= HS_RESP_HEADERS_MAX)
        return;
    snprintf(resp->header_names[resp->n_headers], 32, "%s", name);
    snprintf(resp->header_values[resp->n_headers], 256, "%s", value);
    resp->n_headers++;
}

static void resp_reset(hs_resp *resp)
{
    free(resp->body);
    hs_blob_reader_close(resp->blob);
    if (resp->fd >= 0)
        close(resp->fd);
    memset(resp, 0, sizeof *resp);
    resp->fd = -1;
}

void hs_reply_bytes(hs_resp *resp, int status, const char *content_type,
                    const void *data, size_t len)
{
    free(resp->body);
    resp->body = malloc(len ? len : 1);
    if (!resp->body) {
        resp->status = 503;
        resp->body_len = 0;
        return;
    }
    memcpy(resp->body, data, len);
    resp->body_len = len;
    resp->status = status;
    resp->content_type = content_type;
}

void hs_reply_fd(hs_resp *resp, int status, const char *content_type, int fd,
                 uint64_t size)
{
    if (resp->fd >= 0)
        close(resp->fd);
    resp->fd = fd;
    resp->fd_size = size;
    resp->status = status;
    resp->content_type = content_type;
}

void hs_reply_blob(hs_resp *resp, int status, const char *content_type,
                   hs_blob_reader *blob)
{
    hs_blob_reader_close(resp->blob);
    resp->blob = blob;
    resp->status = status;
    resp->content_type = content_type;
}

/* MHD's content reader for hs_reply_blob. */
static ssize_t blob_chunk(void *cls, uint64_t pos, char *buf, size_t max)
{
    hs_blob_reader *r = cls;
    hs_error err = {0};
    if (pos >= r->size)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = r->size - pos < max ? (size_t)(r->size - pos) : max;
    hs_status st = hs_blob_read_at(r, buf, n, pos, &err);
    if (st == HS_OK)
        return (ssize_t)n;
    hs_log(HS_LOG_ERROR, "download stopped",
           json_pack("{s:s, s:s}", "status", hs_status_name(st), "error",
                     err.message));
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void blob_free(void *cls) { hs_blob_reader_close(cls); }

void hs_reply_json(hs_resp *resp, int status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(j);
    if (!text) {
        hs_reply_error(resp, 503, "busy", NULL,
                       "the server is out of memory; try again later");
        return;
    }
    free(resp->body);
    resp->body = text;
    resp->body_len = strlen(text);
    resp->status = status;
    resp->content_type = "application/json; charset=utf-8";
}

/* The request id lives in the response too; hs_reply_error finds it via
 * this thread's current request. */
static _Thread_local const char *current_request_id;

void hs_reply_error(hs_resp *resp, int status, const char *code,
                    json_t *details, const char *fmt, ...)
{
    char message[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    json_t *j = json_pack("{s:{s:s, s:s, s:o, s:s}}", "error", "code", code,
                          "message", message, "details",
                          details ? details : json_object(), "request_id",
                          current_request_id ? current_request_id : "");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    free(resp->body);
    if (resp->fd >= 0) {
        close(resp->fd);
        resp->fd = -1;
    }
    hs_blob_reader_close(resp->blob);
    resp->blob = NULL;
    resp->body = text;
    resp->body_len = text ? strlen(text) : 0;
    resp->status = text ? status : 503;
    resp->content_type = "application/json; charset=utf-8";
}

/* Service statuses that are the client's business, as HTTP errors. */
static const struct {
    hs_status st;
    int http;
    const char *code;
} STATUS_MAP[] = {
    {HS_ERR_NOTFOUND, 404, "not_found"},
    {HS_ERR_CONFLICT, 409, "conflict"},
    {HS_ERR_INVALID, 422, "invalid_data"},
    {HS_ERR_DENIED, 401, "unauthorized"},
    {HS_ERR_BUSY, 503, "busy"},
    {HS_ERR_DISABLED, 403, "account_disabled"},
    {HS_ERR_LIMITED, 429, "rate_limited"},
    {HS_ERR_MALFORMED, 400, "bad_request"},
    {HS_ERR_NO_INPUT, 409, "input_not_stored"},
    {HS_ERR_CORRUPT, 409, "stored_data_damaged"},
    {HS_ERR_QUOTA, 429, "too_many_jobs"},
    {HS_ERR_UNAVAILABLE, 503, "store_unavailable"},
};

void hs_reply_status(hs_resp *resp, hs_status st, const hs_error *err)
{
    const char *msg = err && err->message[0] ? err->message : hs_status_name(st);
    for (size_t i = 0; i < sizeof STATUS_MAP / sizeof STATUS_MAP[0]; i++)
        if (STATUS_MAP[i].st == st) {
            json_t *details = err && err->field[0]
                                  ? json_pack("{s:s}", "field", err->field)
                                  : NULL;
            hs_reply_error(resp, STATUS_MAP[i].http, STATUS_MAP[i].code,
                           details, "%s", msg);
            if (st == HS_ERR_BUSY || st == HS_ERR_UNAVAILABLE)
                hs_resp_header(resp, "Retry-After", "5");
            if (st == HS_ERR_LIMITED || st == HS_ERR_QUOTA)
                hs_resp_header(resp, "Retry-After", "60");
            return;
        }
    if (st == HS_ERR_NOMEM) {
        hs_reply_error(resp, 503, "busy", NULL,
                       "the server is out of memory; try again later");
        return;
    }
    /* Anything else is ours to fix: logged with the request id the
     * client is given. */
    hs_log(HS_LOG_ERROR, "internal error",
           json_pack("{s:s, s:s, s:s}", "request_id",
                     current_request_id ? current_request_id : "", "status",
                     hs_status_name(st), "error", msg));
    hs_reply_error(resp, 500, "internal", NULL,
                   "internal error (request id %s); it has been logged",
                   current_request_id ? current_request_id : "?");
}

/* The peer's address as text ("192.0.2.7", "2001:db8::1"), "" unknown. */
static void client_address(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                  (socklen_t)cap);
    else if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out,
                  (socklen_t)cap);
}

/* ---- the client behind a proxy ------------------------------------------------ */

/* An IPv4 or IPv6 literal as 16 bytes (IPv4 v4-mapped); 0 when not one. */
static int ip_bytes(const char *text, unsigned char out[16])
{
    return hs_ip_from_text(text, out) == 0;
}

/* Copies the n bytes at text, without surrounding spaces, to out (cap). */
static size_t trimmed(const char *text, size_t n, char *out, size_t cap)
{
    while (n && *text == ' ')
        text++, n--;
    while (n && text[n - 1] == ' ')
        n--;
    if (n >= cap)
        n = 0;
    memcpy(out, text, n);
    out[n] = '\0';
    return n;
}

static hs_status list_refused(const char *list, hs_error *err)
{
    return hs_fail(err, HS_ERR_INVALID,
                   "expected IP addresses or CIDR ranges separated by commas, "
                   "got '%.100s'",
                   list);
}

/* One item, "ADDR" or "ADDR/LEN", into addr and *bits (of the 128 of the
 * v4-mapped form: an IPv4 /LEN is 96 + LEN). A range with bits set past
 * its length (10.1.2.3/8) is refused: it is a typo or a misunderstanding,
 * and the network meant is named. */
static hs_status proxy_item(char *one, unsigned char addr[16], unsigned *bits,
                            hs_error *err)
{
    char *slash = strchr(one, '/');
    unsigned long len = 128;
    if (slash) {
        char *end = NULL;
        *slash = '\0';
        errno = 0;
        len = strtoul(slash + 1, &end, 10);
        if (slash[1] < '0' || slash[1] > '9' || *end || errno || len > 128)
            return hs_fail(err, HS_ERR_INVALID,
                           "'%s/%s': the prefix length is not a number of "
                           "bits (0..32 for IPv4, 0..128 for IPv6)",
                           one, slash + 1);
    }
    if (!ip_bytes(one, addr))
        return hs_fail(err, HS_ERR_INVALID, "'%s' is not an IP address", one);
    int v4 = !strchr(one, ':'); /* ::ffff:a.b.c.d counts in IPv6 bits */
    if (slash && v4 && len > 32)
        return hs_fail(err, HS_ERR_INVALID,
                       "'%s/%lu': an IPv4 prefix length is 0..32", one, len);
    *bits = (unsigned)(slash && v4 ? 96 + len : len);
    unsigned char net[16] = {0};
    memcpy(net, addr, *bits / 8);
    if (*bits % 8)
        net[*bits / 8] =
            addr[*bits / 8] & (unsigned char)(0xff00u >> (*bits % 8));
    if (memcmp(net, addr, 16)) {
        char text[INET6_ADDRSTRLEN];
        inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? net + 12 : net, text,
                  sizeof text);
        return hs_fail(err, HS_ERR_INVALID,
                       "'%s/%lu' has bits set past its prefix: the range is "
                       "%s/%lu",
                       one, len, text, len);
    }
    return HS_OK;
}

hs_status hs_http_proxies_parse(const char *list, hs_http_proxies *out,
                                hs_error *err)
{
    hs_http_proxies parsed = {0};
    const char *p = list ? list : "";
    while (*p) { /* one address or range and its comma; "" = no proxy */
        char one[INET6_ADDRSTRLEN + 4]; /* and "/128" */
        size_t len = strcspn(p, ",");
        if (!trimmed(p, len, one, sizeof one))
            return list_refused(list, err);
        if (parsed.n == HS_HTTP_PROXIES_MAX)
            return hs_fail(err, HS_ERR_INVALID,
                           "at most %d addresses or ranges",
                           HS_HTTP_PROXIES_MAX);
        hs_status st = proxy_item(one, parsed.addr[parsed.n],
                                  &parsed.bits[parsed.n], err);
        if (st != HS_OK)
            return st;
        parsed.n++;
        p += len;
        if (*p == ',' && !*++p) /* a trailing comma: an empty last item */
            return list_refused(list, err);
    }
    if (out)
        *out = parsed;
    return HS_OK;
}

/* Keeps the value of the last X-Forwarded-For line: a proxy that adds a
 * line of its own (HAProxy's option forwardfor) leaves the client's lines
 * before it. */
static enum MHD_Result last_xff_line(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *value)
{
    (void)kind;
    if (key && value && !strcasecmp(key, "X-Forwarded-For"))
        *(const char **)cls = value;
    return MHD_YES;
}

/* A request from a trusted proxy comes from the last address of its last
 * X-Forwarded-For line (the one the proxy appended: anything before it is
 * what the client claimed). A header that does not end in an IP address
 * leaves the proxy's own. */
static void forwarded_client(const hs_http *h, struct MHD_Connection *conn,
                             char *client, size_t cap)
{
    unsigned char peer[16], bin[16];
    if (!h->proxies.n || !ip_bytes(client, peer))
        return;
    const char *xff = NULL;
    if (hs_http_proxies_has(&h->proxies, peer))
        MHD_get_connection_values(conn, MHD_HEADER_KIND, last_xff_line, &xff);
    if (!xff)
        return;
    const char *last = strrchr(xff, ',');
    char one[INET6_ADDRSTRLEN];
    last = last ? last + 1 : xff;
    if (!trimmed(last, strlen(last), one, sizeof one) || !ip_bytes(one, bin))
        return;
    int v4 = !memcmp(bin, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
    inet_ntop(v4 ? AF_INET : AF_INET6, v4 ? bin + 12 : bin, client,
              (socklen_t)cap);
}

/* ---- routing ----------------------------------------------------------------- */

/* Matches path against pattern segment by segment; "{id}" takes 1..18
 * decimal digits (no sign, no leading zero) into ids[], "{ix}" the same
 * or a lone 0 (a 0-based index). */
static int match_pattern(const char *pattern, const char *path, hs_id ids[2])
{
    int n_ids = 0;
    while (*pattern && *path) {
        int index = !strncmp(pattern, "{ix}", 4);
        if (index || !strncmp(pattern, "{id}", 4)) {
            const char *p = path;
            hs_id v = 0;
            if (index && p[0] == '0' && (!p[1] || p[1] == '/'))
                p++;
            else if (*p < '1' || *p > '9')
                return 0;
            while (*p >= '0' && *p <= '9' && p - path < 18)
                v = v * 10 + (*p++ - '0');
            if (*p && *p != '/')
                return 0;
            if (n_ids < 2)
                ids[n_ids++] = v;
            pattern += 4;
            path = p;
            continue;
        }
        if (*pattern != *path)
            return 0;
        pattern++;
        path++;
    }
    return *pattern == '\0' && *path == '\0';
}

/* The route for method + path: its index, or -1 with *path_known set when
 * another method serves this path (then allow lists them). */
static int find_route(const hs_http *h, const char *method, const char *path,
                      hs_id ids[2], int *path_known, char *allow,
                      size_t allow_size)
{
    *path_known = 0;
    allow[0] = '\0';
    for (size_t i = 0; i < h->n_routes; i++) {
        hs_id tmp[2] = {0, 0};
        if (!match_pattern(h->routes[i].pattern, path, tmp))
            continue;
        /* HEAD is GET without the body (libmicrohttpd drops it). */
        if (!strcmp(h->routes[i].method, method) ||
            (!strcmp(method, "HEAD") && !strcmp(h->routes[i].method, "GET"))) {
            ids[0] = tmp[0];
            ids[1] = tmp[1];
            return (int)i;
        }
        *path_known = 1;
        size_t used = strlen(allow);
        snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "",
                 h->routes[i].method);
    }
    return -1;
}

static int is_state_changing(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") ||
           !strcmp(method, "PATCH") || !strcmp(method, "DELETE");
}

static int starts_with_ci(const char *s, const char *prefix)
{
    return s && !strncasecmp(s, prefix, strlen(prefix));
}

/* ---- authentication ------------------------------------------------------------ */

/* Resolves the session cookie; 0 and the error response decided when the
 * route needs a session that is not there or not allowed. */
static int authenticate(req_ctx *c, const hs_route *r)
{
    hs_app *app = c->h->app;
    const hs_http_auth *auth = &c->h->cfg.auth;
    const char *token = MHD_lookup_connection_value(
        (struct MHD_Connection *)c->req.conn, MHD_COOKIE_KIND,
        auth->session_cookie);
    hs_error err = {0};
    int needs = r->flags & (HS_ROUTE_AUTH | HS_ROUTE_ADMIN);
    hs_status st = token ? auth->authenticate(app, token, &c->req, &err)
                         : hs_fail(&err, HS_ERR_DENIED, "not logged in");
    if (st == HS_OK) {
        c->req.authed = 1;
    } else if (needs && st != HS_ERR_DENIED) {
        hs_reply_status(&c->resp, st, &err); /* the store, not the user */
        return 0;
    } else if (needs) {
        hs_reply_error(&c->resp, 401, "unauthorized", NULL, "%s",
                       err.message);
        return 0;
    }
    if ((r->flags & HS_ROUTE_ADMIN) && !c->req.user.is_admin) {
        hs_reply_error(&c->resp, 403, "forbidden", NULL,
                       "this needs an administrator");
        return 0;
    }
    if (c->req.authed && is_state_changing(c->req.method) &&
        !(r->flags & HS_ROUTE_NO_CSRF)) {
        const char *presented = hs_req_header(&c->req, "X-CSRF-Token");
        if (!auth->csrf_valid(app, &c->req, presented)) {
            c->csrf_refused = 1;
            hs_reply_error(&c->resp, 403, "csrf_failed", NULL,
                           "%s", presented ? "the X-CSRF-Token header is wrong"
                                           : "the X-CSRF-Token header is missing");
            return 0;
        }
    }
    return 1;
}

/* ---- bodies ------------------------------------------------------------------ */

static void fail_with_413(req_ctx *c, const char *what, size_t limit)
{
    hs_reply_error(&c->resp, 413, "payload_too_large",
                   json_pack("{s:I}", "limit_bytes", (json_int_t)limit),
                   "the %s is larger than the limit of %zu bytes", what, limit);
    c->failed = 1;
}

/* Keeps a multipart text field; silently ignores ones past the limit. */
static void keep_field(req_ctx *c, const char *key, const char *data,
                       uint64_t off, size_t size)
{
    hs_form_field *f = NULL;
    for (size_t i = 0; i < c->req.n_fields; i++)
        if (!strcmp(c->req.fields[i].name, key))
            f = &c->req.fields[i];
    if (!f) {
        if (c->req.n_fields >= HS_FORM_FIELDS_MAX || strlen(key) >= 64)
            return;
        f = &c->req.fields[c->req.n_fields++];
        snprintf(f->name, sizeof f->name, "%s", key);
        f->value[0] = '\0';
    }
    if (off + size >= HS_FORM_VALUE_MAX)
        return;
    memcpy(f->value + off, data, size);
    f->value[off + size] = '\0';
}

static void sanitise_filename(char *out, size_t cap, const char *name)
{
    size_t n = 0;
    const char *base = name ? strrchr(name, '/') : NULL;
    name = base ? base + 1 : (name ? name : "");
    for (; *name && n + 1 < cap; name++) {
        unsigned char ch = (unsigned char)*name;
        out[n++] = (ch < 0x20 || ch == '\\' || ch == '"' || ch == 0x7f) ? '_'
                                                                        : (char)ch;
    }
    out[n] = '\0';
}

static enum MHD_Result post_iterator(void *cls, enum MHD_ValueKind kind,
                                     const char *key, const char *filename,
                                     const char *content_type,
                                     const char *transfer_encoding,
                                     const char *data, uint64_t off,
                                     size_t size)
{
    req_ctx *c = cls;
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    if (c->failed)
        return MHD_YES;
    if (!key || strcmp(key, "file") != 0) {
        if (key)
            keep_field(c, key, data, off, size);
        return MHD_YES;
    }
    hs_error err = {0};
    /* A new part starts at offset 0: a second "file" part is refused
     * rather than appended to the first. */
    if (c->writer && off == 0 && size > 0 && c->file_bytes > 0) {
        hs_blob_abort(c->writer);
        c->writer = NULL;
        hs_reply_error(&c->resp, 400, "bad_request", NULL,
                       "the form has more than one 'file' part");
        c->failed = 1;
        return MHD_YES;
    }
    if (!c->writer) {
        if (c->req.upload.present) {
            hs_reply_error(&c->resp, 400, "bad_request", NULL,
                           "the form has more than one 'file' part");
            c->failed = 1;
            return MHD_YES;
        }
        c->req.upload.present = 1;
        sanitise_filename(c->req.upload.filename,
                          sizeof c->req.upload.filename, filename);
        if (hs_blob_writer_open(c->h->app->blobs, "upload",
                                c->h->cfg.max_upload_bytes, &c->writer,
                                &err) != HS_OK) {
            hs_reply_status(&c->resp, err.code, &err);
            c->failed = 1;
            return MHD_YES;
        }
    }
    c->file_bytes += size;
    if (size && hs_blob_write(c->writer, data, size, &err) != HS_OK) {
        hs_blob_abort(c->writer);
        c->writer = NULL;
        if (err.code == HS_ERR_INVALID)
            fail_with_413(c, "uploaded file", c->h->cfg.max_upload_bytes);
        else {
            hs_reply_status(&c->resp, err.code, &err);
            c->failed = 1;
        }
    }
    return MHD_YES;
}

/* Decides how the body will be read, or fails the request. */
static void choose_body_mode(req_ctx *c, const hs_route *r,
                             struct MHD_Connection *conn)
{
    const char *ct = hs_req_header(&c->req, "Content-Type");
    const char *cl = hs_req_header(&c->req, "Content-Length");
    const char *te = hs_req_header(&c->req, "Transfer-Encoding");
    unsigned long long length = cl ? strtoull(cl, NULL, 10) : 0;
    int has_body = length > 0 || (te && strcasecmp(te, "identity") != 0);

    if ((r->flags & HS_ROUTE_MULTIPART) && starts_with_ci(ct, "multipart/form-data")) {
        c->pp = MHD_create_post_processor(conn, 64 * 1024, post_iterator, c);
        if (!c->pp) {
            hs_reply_error(&c->resp, 400, "bad_request", NULL,
                           "malformed multipart/form-data header (no boundary?)");
            c->failed = 1;
            return;
        }
        c->mode = BODY_MULTIPART;
        c->req.is_multipart = 1;
        /* A whole request may carry a little more than the file. */
        if (length > c->h->cfg.max_upload_bytes + 65536)
            fail_with_413(c, "upload", c->h->cfg.max_upload_bytes);
        return;
    }
    if (r->flags & HS_ROUTE_JSON) {
        if (!has_body) {
            c->mode = BODY_JSON;
            return;
        }
        if (!starts_with_ci(ct, "application/json")) {
            hs_reply_error(&c->resp, 415, "unsupported_media_type", NULL,
                           "expected a body of type application/json%s, got %s",
                           (r->flags & HS_ROUTE_MULTIPART)
                               ? " or multipart/form-data"
                               : "",
                           ct ? ct : "no Content-Type");
            c->failed = 1;
            return;
        }
        c->mode = BODY_JSON;
        if (length > c->h->cfg.max_json_bytes)
            fail_with_413(c, "JSON body", c->h->cfg.max_json_bytes);
        return;
    }
    if ((r->flags & HS_ROUTE_MULTIPART) && has_body) {
        hs_reply_error(&c->resp, 415, "unsupported_media_type", NULL,
                       "expected multipart/form-data with a 'file' part, got %s",
                       ct ? ct : "no Content-Type");
        c->failed = 1;
        return;
    }
    c->mode = BODY_NONE; /* a stray body is read and ignored */
}

static void append_json(req_ctx *c, const char *data, size_t size)
{
    if (c->req.body_len + size > c->h->cfg.max_json_bytes) {
        fail_with_413(c, "JSON body", c->h->cfg.max_json_bytes);
        return;
    }
    if (c->req.body_len + size + 1 > c->body_cap) {
        size_t cap = c->body_cap ? c->body_cap : 4096;
        while (cap < c->req.body_len + size + 1)
            cap *= 2;
        char *grown = realloc(c->req.body, cap);
        if (!grown) {
            hs_reply_error(&c->resp, 503, "busy", NULL, "out of memory");
            c->failed = 1;
            return;
        }
        c->req.body = grown;
        c->body_cap = cap;
    }
    memcpy(c->req.body + c->req.body_len, data, size);
    c->req.body_len += size;
    c->req.body[c->req.body_len] = '\0';
}

/* ---- static files ------------------------------------------------------------- */

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".map", "application/json; charset=utf-8"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static int safe_static_path(const char *path)
{
    if (path[0] != '/' || strstr(path, "..") || strstr(path, "//"))
        return 0;
    for (const char *p = path; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '/' || *p == '.' ||
              *p == '-' || *p == '_'))
            return 0;
    return 1;
}

/* Opens web_dir + rel as a regular file (no symlinks); -1 when absent. */
static int open_static(const hs_http *h, const char *rel, struct stat *st)
{
    char full[1024];
    if (snprintf(full, sizeof full, "%s%s", h->web_dir, rel) >= (int)sizeof full)
        return -1;
    int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Serves a file of the single-page UI: index.html for paths without an
 * extension (client-side routes), a precompressed .gz twin when the client
 * takes gzip, an ETag for revalidation. */
static void serve_static(req_ctx *c)
{
    hs_http *h = c->h;
    const char *path = c->req.path;
    char rel[512];
    if (!h->web_dir || !safe_static_path(path)) {
        hs_reply_error(&c->resp, 404, "not_found", NULL, "no such page");
        return;
    }
    const char *last = strrchr(path, '/');
    if (!strchr(last, '.'))
        snprintf(rel, sizeof rel, "/index.html");
    else
        snprintf(rel, sizeof rel, "%s", path);

    struct stat st;
    int fd = -1, gz = 0;
    const char *ae = hs_req_header(&c->req, "Accept-Encoding");
    if (ae && strstr(ae, "gzip")) {
        char gzrel[520];
        snprintf(gzrel, sizeof gzrel, "%s.gz", rel);
        fd = open_static(h, gzrel, &st);
        gz = fd >= 0;
    }
    if (fd < 0)
        fd = open_static(h, rel, &st);
    if (fd < 0) {
        hs_reply_error(&c->resp, 404, "not_found", NULL, "no such page");
        return;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx%s\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime, gz ? "-gz" : "");
    const char *inm = hs_req_header(&c->req, "If-None-Match");
    /* Revalidated on every use (a 304 when unchanged): the modules import
     * each other by plain names, so a stale cached one could run against
     * a newer one after an upgrade. */
    const char *cache = "no-cache";
    if (inm && !strcmp(inm, etag)) {
        close(fd);
        c->resp.status = 304;
    } else {
        hs_reply_fd(&c->resp, 200, mime_type(rel), fd, (uint64_t)st.st_size);
        if (gz)
            hs_resp_header(&c->resp, "Content-Encoding", "gzip");
    }
    hs_resp_header(&c->resp, "ETag", etag);
    hs_resp_header(&c->resp, "Cache-Control", cache);
    hs_resp_header(&c->resp, "Vary", "Accept-Encoding");
}

/* ---- counting and logging ------------------------------------------------------- */

static int status_slot(int status)
{
    for (int i = 0; i < N_STATUS - 1; i++)
        if (COUNTED_STATUS[i] == status)
            return i;
    return N_STATUS - 1;
}

/* The security report's one hook: a refused request (401, 403, 429) is
 * counted by route pattern and source, in memory (security_report.h). */
static void count_refusal(req_ctx *c, int status)
{
    hs_http *h = c->h;
    const char *kind = hs_refusal_kind(status,
                                       c->csrf_refused ? "csrf_failed" : NULL);
    if (!kind || !h->app->refusals)
        return;
    char route[HS_ROUTE_KEY_MAX];
    if ((size_t)c->route_index < h->n_routes)
        snprintf(route, sizeof route, "%s %s", h->routes[c->route_index].method,
                 h->routes[c->route_index].pattern);
    else
        snprintf(route, sizeof route, "%s", HS_REFUSALS_OTHER);
    hs_refusals_count(h->app->refusals, hs_clock_now(h->app->clock), route,
                      c->req.client, kind);
}

static void account(req_ctx *c, int status)
{
    hs_http *h = c->h;
    double seconds = hl_clock_monotonic() - c->t_start;
    count_refusal(c, status);
    atomic_fetch_add(&h->counts[(size_t)c->route_index * N_STATUS +
                                (size_t)status_slot(status)],
                     1);
    int b = 0;
    while (b < N_BUCKETS && seconds > LATENCY_BUCKETS[b])
        b++;
    atomic_fetch_add(&h->latency[b], 1);
    atomic_fetch_add(&h->latency_sum_us, (uint_fast64_t)(seconds * 1e6));

    hs_log_level level = status >= 500 ? HS_LOG_ERROR : HS_LOG_INFO;
    if (!hs_log_enabled(level))
        return;
    const char *route = (size_t)c->route_index < h->n_routes
                            ? h->routes[c->route_index].pattern
                            : (c->route_index == (int)h->n_routes ? "static"
                                                                   : "unmatched");
    json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:i, s:f, s:I}", "request_id",
                          c->req.request_id, "method", c->req.method, "path",
                          c->req.path, "route", route, "status", status, "ms",
                          round(seconds * 1e6) / 1e3, "bytes_in",
                          (json_int_t)c->body_bytes);
    if (f && c->req.authed)
        json_object_set_new(f, "user", json_string(c->req.user.username));
    if (f && !c->answered) /* handled, but no answer could be queued */
        json_object_set_new(f, "answer_sent", json_false());
    hs_log_access(level, "request", f);
}

/* The connection guard's gauges and counters. */
static int guard_metrics_text(hs_http *h, char **buf, size_t *len, size_t *cap)
{
    hs_conn_guard_stats st;
    hs_conn_guard_stats_get(h->guard, &st);
    return hs_buf_printf(
        buf, len, cap,
        "# HELP healer_http_connections_open Open HTTP connections.\n"
        "# TYPE healer_http_connections_open gauge\n"
        "healer_http_connections_open %llu\n"
        "# HELP healer_http_connections_refused_total Connections refused "
        "because their address had max-connections-per-address open.\n"
        "# TYPE healer_http_connections_refused_total counter\n"
        "healer_http_connections_refused_total{reason=\"per_address\"} "
        "%llu\n"
        "# HELP healer_http_request_head_timeouts_total Connections closed "
        "because a request's head was not in within request-head-timeout.\n"
        "# TYPE healer_http_request_head_timeouts_total counter\n"
        "healer_http_request_head_timeouts_total %llu\n",
        (unsigned long long)st.open,
        (unsigned long long)st.refused_per_address,
        (unsigned long long)st.heads_timed_out);
}

/* The write threads' gauges and counter (none without write threads). */
static int writes_metrics_text(hs_http *h, char **buf, size_t *len,
                               size_t *cap)
{
    hs_workpool_stats st;
    if (!h->writes)
        return 0;
    hs_workpool_stats_get(h->writes, &st);
    return hs_buf_printf(
        buf, len, cap,
        "# HELP healer_http_write_requests Requests that write, on the "
        "write threads: running, or waiting for one.\n"
        "# TYPE healer_http_write_requests gauge\n"
        "healer_http_write_requests{state=\"running\"} %llu\n"
        "healer_http_write_requests{state=\"waiting\"} %llu\n"
        "# HELP healer_http_write_refused_total Requests that write answered "
        "503 because write-threads + write-queue of them were in already.\n"
        "# TYPE healer_http_write_refused_total counter\n"
        "healer_http_write_refused_total %llu\n",
        (unsigned long long)st.running, (unsigned long long)st.waiting,
        (unsigned long long)st.refused);
}

int hs_http_metrics_text(hs_http *h, char **buf, size_t *len, size_t *cap)
{
    int rc = guard_metrics_text(h, buf, len, cap);
    if (rc == 0)
        rc = writes_metrics_text(h, buf, len, cap);
    if (rc == 0)
        rc = hs_buf_printf(buf, len, cap,
                           "# HELP healer_http_requests_total HTTP requests by "
                           "route, method and status.\n"
                           "# TYPE healer_http_requests_total counter\n");
    for (size_t r = 0; rc == 0 && r < h->n_routes + N_EXTRA; r++) {
        const char *route = r < h->n_routes ? h->routes[r].pattern
                            : r == h->n_routes ? "static" : "unmatched";
        const char *method = r < h->n_routes ? h->routes[r].method : "any";
        for (int s = 0; rc == 0 && s < N_STATUS; s++) {
            uint64_t v = atomic_load(&h->counts[r * N_STATUS + (size_t)s]);
            if (!v)
                continue;
            char status[8];
            if (s < N_STATUS - 1)
                snprintf(status, sizeof status, "%d", COUNTED_STATUS[s]);
            else
                snprintf(status, sizeof status, "other");
            rc = hs_buf_printf(buf, len, cap,
                               "healer_http_requests_total{route=\"%s\","
                               "method=\"%s\",status=\"%s\"} %llu\n",
                               route, method, status, (unsigned long long)v);
        }
    }
    if (rc == 0)
        rc = hs_buf_printf(buf, len, cap,
                           "# HELP healer_http_request_duration_seconds Time "
                           "from the request's headers to its response.\n"
                           "# TYPE healer_http_request_duration_seconds "
                           "histogram\n");
    uint64_t cumulative = 0;
    for (int b = 0; rc == 0 && b <= N_BUCKETS; b++) {
        cumulative += atomic_load(&h->latency[b]);
        if (b < N_BUCKETS)
            rc = hs_buf_printf(buf, len, cap,
                               "healer_http_request_duration_seconds_bucket{le="
                               "\"%g\"} %llu\n",
                               LATENCY_BUCKETS[b], (unsigned long long)cumulative);
        else
            rc = hs_buf_printf(buf, len, cap,
                               "healer_http_request_duration_seconds_bucket{le="
                               "\"+Inf\"} %llu\n"
                               "healer_http_request_duration_seconds_sum %.6f\n"
                               "healer_http_request_duration_seconds_count "
                               "%llu\n",
                               (unsigned long long)cumulative,
                               (double)atomic_load(&h->latency_sum_us) / 1e6,
                               (unsigned long long)cumulative);
    }
    return rc;
}

/* ---- TLS ------------------------------------------------------------------------ */

int hs_http_tls_supported(void)
{
    return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

/* HTTPS answers tell browsers to come back over HTTPS only. */
static void add_tls_headers(const hs_http *h, struct MHD_Response *mr)
{
    if (h->tls)
        MHD_add_response_header(mr, "Strict-Transport-Security", HS_HTTP_HSTS);
}

/* The daemon's TLS options (terminated by MHD_OPTION_END) and flag, or an
 * empty list and 0 for plain HTTP. A TLS server's cookies are Secure. */
static unsigned tls_options(hs_http *h, struct MHD_OptionItem opts[4])
{
    const hs_http_config *cfg = &h->cfg;
    size_t n = 0;
    if (cfg->tls_cert_pem && cfg->tls_key_pem) {
        h->tls = 1;
        h->cfg.secure_cookies = 1;
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
                                            (void *)cfg->tls_cert_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                            (void *)cfg->tls_key_pem};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                            (void *)HS_HTTP_TLS_PRIORITIES};
    }
    opts[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return h->tls ? MHD_USE_TLS : 0;
}

/* ---- the MHD callbacks ----------------------------------------------------------- */

static enum MHD_Result send_response(req_ctx *c, struct MHD_Connection *conn)
{
    hs_resp *r = &c->resp;
    struct MHD_Response *mr;
    if (r->blob) {
        mr = MHD_create_response_from_callback(r->blob->size,
                                               HS_BLOB_CRYPT_CHUNK, blob_chunk,
                                               r->blob, blob_free);
        if (mr)
            r->blob = NULL; /* MHD closes it */
    } else if (r->fd >= 0) {
        mr = MHD_create_response_from_fd64(r->fd_size, r->fd);
        if (mr)
            r->fd = -1; /* MHD closes it */
    } else {
        mr = MHD_create_response_from_buffer(r->body_len, r->body,
                                             MHD_RESPMEM_MUST_FREE);
        if (mr)
            r->body = NULL; /* MHD frees it */
    }
    if (!mr)
        return MHD_NO;
    c->answered = 1;
    if (r->content_type && r->status != 304)
        MHD_add_response_header(mr, "Content-Type", r->content_type);
    MHD_add_response_header(mr, "X-Request-Id", c->req.request_id);
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(mr, "X-Frame-Options", "DENY");
    MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
    /* The UI loads nothing from elsewhere and runs no inline script, so
     * an injected one would not run either. Inline styles stay allowed:
     * the chart library sets them. */
    MHD_add_response_header(mr, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; "
                            "style-src 'self' 'unsafe-inline'; "
                            "img-src 'self' data: blob:; font-src 'self' data:; "
                            "connect-src 'self'; object-src 'none'; "
                            "base-uri 'none'; form-action 'self'; "
                            "frame-ancestors 'none'");
    add_tls_headers(c->h, mr);
    int is_api = c->route_index != (int)(c->h->n_routes + EXTRA_STATIC);
    if (is_api)
        MHD_add_response_header(mr, "Cache-Control", "no-store");
    for (size_t i = 0; i < r->n_headers; i++)
        MHD_add_response_header(mr, r->header_names[i], r->header_values[i]);
    if (c->must_close)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    int status = r->status ? r->status : 500;
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, mr);
    MHD_destroy_response(mr);
    account(c, status);
    return ok;
}

/* The body is all in: the multipart parser's last part is flushed. */
static void end_body(req_ctx *c)
{
    if (!c->pp)
        return;
    /* MHD_NO: the body ended before the closing boundary. */
    if (MHD_destroy_post_processor(c->pp) != MHD_YES && !c->failed) {
        hs_reply_error(&c->resp, 400, "bad_request", NULL,
                       "the multipart/form-data body is incomplete (no "
                       "closing boundary)");
        c->failed = 1;
    }
    c->pp = NULL;
}

/* Step 3 up to the answer: commits the upload, calls the handler (or
 * serves a static file) unless an error was decided, and deletes an
 * upload the handler did not keep. On a connection thread or a write
 * thread; it touches only the request and thread-safe parts of the app. */
static void run_request(req_ctx *c)
{
    hs_http *h = c->h;
    hs_error err = {0};
    if (c->writer) {
        hs_blob_writer *w = c->writer;
        c->writer = NULL;
        if (!c->failed &&
            hs_blob_commit(w, c->req.upload.blob_key, &c->req.upload.size,
                           &err) != HS_OK) {
            hs_reply_status(&c->resp, err.code, &err);
            c->failed = 1;
        } else if (c->failed) {
            hs_blob_abort(w);
        }
    }
    if (!c->failed) {
        if ((size_t)c->route_index < h->n_routes)
            h->routes[c->route_index].handler(h->app, &c->req, &c->resp);
        else
            serve_static(c);
    }
    if (c->req.upload.blob_key[0]) /* the handler did not keep it */
        hs_blob_delete(h->app->blobs, c->req.upload.blob_key, NULL);
    c->req.upload.blob_key[0] = '\0';
    c->ran = 1;
}

/* Frees a request and what it still holds. */
static void free_request(req_ctx *c)
{
    hs_http *h = c->h;
    if (c->pp)
        MHD_destroy_post_processor(c->pp);
    hs_blob_abort(c->writer);
    if (c->req.upload.blob_key[0])
        hs_blob_delete(h->app->blobs, c->req.upload.blob_key, NULL);
    free(c->req.body);
    resp_reset(&c->resp);
    if (c->offloaded)
        atomic_fetch_sub(&h->writes_open, 1);
    free(c);
}

int hs_http_runs_on_write_threads(const hs_route *r)
{
    return is_state_changing(r->method);
}

/* A write thread's item: runs step 3 with the request's id for its
 * errors and logs, then gives the request back to a connection thread by
 * resuming its connection (libmicrohttpd calls on_request again, which
 * sends the answer). After the resume the request is no longer the
 * pool's to touch: it may be answered and freed at once. */
static void run_offloaded(hs_work *w)
{
    req_ctx *c = (req_ctx *)(void *)((char *)w - offsetof(req_ctx, work));
    struct MHD_Connection *conn = c->req.conn;
    current_request_id = c->req.request_id;
    run_request(c);
    current_request_id = NULL;
    int expected = OFFLOAD_QUEUED;
    if (atomic_compare_exchange_strong(&c->offload, &expected, OFFLOAD_DONE))
        MHD_resume_connection(conn);
    else /* ABANDONED: libmicrohttpd has ended the request already */
        free_request(c);
}

/* Hands the request to the write threads: 1 when it went (the connection
 * is suspended until its answer is ready), 0 when it runs here - the pool
 * is draining at shutdown, or full, and then the answer is a 503 busy. */
static int offload(req_ctx *c, struct MHD_Connection *conn)
{
    hs_http *h = c->h;
    hs_error err = {0};
    if (!h->writes)
        return 0;
    hs_status st = hs_workpool_reserve(h->writes, &err);
    if (st == HS_ERR_BUSY) {
        hs_reply_error(&c->resp, 503, "busy", NULL,
                       "too many requests that write are waiting (%s); "
                       "try again shortly",
                       err.message);
        hs_resp_header(&c->resp, "Retry-After", "1");
        c->failed = 1; /* run_request only discards the upload */
        return 0;
    }
    if (st != HS_OK)
        return 0;
    c->offloaded = 1;
    atomic_fetch_add(&h->writes_open, 1);
    atomic_store(&c->offload, OFFLOAD_QUEUED);
    c->work.run = run_offloaded;
    /* Suspended before it is queued: its write thread's resume must never
     * come first. From the submit on, c is the pool's. */
    MHD_suspend_connection(conn);
    hs_workpool_submit(h->writes, &c->work);
    return 1;
}

/* Runs once all of the body is in. */
static enum MHD_Result finish_request(req_ctx *c, struct MHD_Connection *conn)
{
    end_body(c);
    if (!c->failed && (size_t)c->route_index < c->h->n_routes &&
        hs_http_runs_on_write_threads(&c->h->routes[c->route_index]) &&
        offload(c, conn))
        return MHD_YES;
    run_request(c);
    return send_response(c, conn);
}

/* A connection's guard entry (its socket context), or NULL. */
static hs_conn_entry *guard_entry(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? (hs_conn_entry *)info->socket_context : NULL;
}

/* The whole head is in: its deadline stops, and the head rules
 * (request_head.h) may refuse it; then the answer goes out at once and the
 * connection closes, so none of its body is read as anything. */
static int head_refused(req_ctx *c, struct MHD_Connection *conn, int is_api)
{
    hs_conn_entry *e = guard_entry(conn);
    hs_head_refusal refusal;
    hs_conn_guard_head_done(c->h->guard, e);
    if (!hs_request_head_check(conn, hs_conn_entry_target_len(e), &refusal))
        return 0;
    c->route_index = (int)(c->h->n_routes + (is_api ? EXTRA_UNMATCHED
                                                   : EXTRA_STATIC));
    hs_reply_error(&c->resp, refusal.status, refusal.code, NULL, "%s",
                   refusal.message);
    c->failed = 1;
    c->must_close = 1;
    return 1;
}

/* Sets up the request from its headers; may decide an error already. */
static req_ctx *begin_request(hs_http *h, struct MHD_Connection *conn,
                              const char *url, const char *method)
{
    req_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->h = h;
    c->t_start = hl_clock_monotonic();
    c->resp.fd = -1;
    c->req.conn = conn;
    c->req.http = h;
    c->req.method = method;
    c->req.path = url;
    c->req.secure_cookies = h->cfg.secure_cookies;
    client_address(conn, c->req.client, sizeof c->req.client);
    forwarded_client(h, conn, c->req.client, sizeof c->req.client);
    snprintf(c->req.request_id, sizeof c->req.request_id, "%08x-%llu",
             h->id_prefix,
             (unsigned long long)atomic_fetch_add(&h->next_request, 1) + 1);
    current_request_id = c->req.request_id;

    int is_api = !strncmp(url, "/api/", 5) || !strcmp(url, "/api") ||
                 !strcmp(url, "/metrics");
    if (head_refused(c, conn, is_api))
        return c;
    if (!is_api) {
        c->route_index = (int)(h->n_routes + EXTRA_STATIC);
        if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
            hs_reply_error(&c->resp, 405, "method_not_allowed", NULL,
                           "%s is not allowed here", method);
            hs_resp_header(&c->resp, "Allow", "GET, HEAD");
            c->failed = 1;
        }
        return c;
    }
    int path_known;
    char allow[128];
    int idx = find_route(h, method, url, c->req.ids, &path_known, allow,
                         sizeof allow);
    if (idx < 0) {
        c->route_index = (int)(h->n_routes + EXTRA_UNMATCHED);
        if (path_known) {
            hs_reply_error(&c->resp, 405, "method_not_allowed", NULL,
                           "%s is not allowed on %s (allowed: %s)", method,
                           url, allow);
            hs_resp_header(&c->resp, "Allow", allow);
        } else {
            hs_reply_error(&c->resp, 404, "not_found", NULL,
                           "no such endpoint: %s %s", method, url);
        }
        c->failed = 1;
        return c;
    }
    c->route_index = idx;
    const hs_route *r = &h->routes[idx];
    if ((r->flags & (HS_ROUTE_AUTH | HS_ROUTE_ADMIN | HS_ROUTE_OPT_AUTH)) &&
        !authenticate(c, r)) {
        c->failed = 1;
        return c;
    }
    choose_body_mode(c, r, conn);
    return c;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    hs_http *h = cls;
    req_ctx *c = *con_cls;
    (void)version;
    if (!c) {
        c = begin_request(h, conn, url, method);
        if (!c)
            return MHD_NO;
        *con_cls = c;
        const char *cl = hs_req_header(&c->req, "Content-Length");
        /* Too much to drain: answer now; MHD then closes the connection. */
        if (c->must_close ||
            (c->failed && cl && strtoull(cl, NULL, 10) > HS_HTTP_DRAIN_MAX))
            return send_response(c, conn);
        return MHD_YES;
    }
    current_request_id = c->req.request_id;
    if (*upload_data_size) {
        size_t size = *upload_data_size;
        *upload_data_size = 0;
        c->body_bytes += size;
        if (c->failed)
            return MHD_YES;
        if (c->mode == BODY_JSON)
            append_json(c, upload_data, size);
        else if (c->mode == BODY_MULTIPART &&
                 MHD_post_process(c->pp, upload_data, size) != MHD_YES &&
                 !c->failed) {
            hs_reply_error(&c->resp, 400, "bad_request", NULL,
                           "malformed multipart/form-data body");
            c->failed = 1;
        }
        if (c->failed && c->writer) {
            hs_blob_abort(c->writer);
            c->writer = NULL;
        }
        if (c->failed && !c->answered && c->body_bytes > HS_HTTP_DRAIN_MAX)
            return send_response(c, conn);
        return MHD_YES;
    }
    if (c->answered) /* answered early, before the body */
        return MHD_YES;
    int where = atomic_load(&c->offload);
    if (where == OFFLOAD_DONE) /* back from a write thread */
        return send_response(c, conn);
    if (where == OFFLOAD_QUEUED) /* never while suspended; the pool's */
        return MHD_YES;
    return finish_request(c, conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_ctx *c = *con_cls;
    hs_http *h = cls;
    /* A kept-alive connection now waits for its next head. */
    hs_conn_guard_await_head(h->guard, guard_entry(conn));
    if (!c)
        return;
    *con_cls = NULL;
    /* libmicrohttpd neither times out nor closes a suspended connection
     * (and hs_http_stop drains the pool before it stops libmicrohttpd),
     * so a request should never end while the pool has it; if one did,
     * the pool frees it once its write ran, rather than this thread now. */
    int queued = OFFLOAD_QUEUED;
    if (atomic_compare_exchange_strong(&c->offload, &queued,
                                       OFFLOAD_ABANDONED)) {
        hs_log(HS_LOG_ERROR, "request ended while a write thread has it",
               json_pack("{s:s, s:i}", "request_id", c->req.request_id,
                         "reason", (int)toe));
        return;
    }
    /* Handled, but no answer was queued (its client left before the
     * connection was resumed, or the answer could not be made): counted
     * and logged too. */
    if (c->ran && !c->answered)
        account(c, c->resp.status ? c->resp.status : 500);
    free_request(c);
}

/* ---- the connection guard's hooks (conn_guard.h) ------------------------ */

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
                                 socklen_t addrlen)
{
    hs_http *h = cls;
    (void)addrlen;
    return hs_conn_guard_admit(h->guard, addr) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    hs_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        *socket_context = hs_conn_guard_opened(
            h->guard, addr ? addr->client_addr : NULL,
            fd ? (int)fd->connect_fd : -1);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        hs_conn_guard_closed(h->guard, *socket_context);
        *socket_context = NULL;
    }
}

/* Sees the raw request target before it is parsed: its length is kept
 * for the head rules (the parsed URL has lost the query), and on a
 * kept-alive connection the head deadline starts. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    hs_http *h = cls;
    hs_conn_entry *e = guard_entry(conn);
    hs_conn_entry_set_target_len(e, strlen(uri));
    hs_conn_guard_request_line(h->guard, e);
    return NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    hs_log(HS_LOG_WARN, "http", json_pack("{s:s}", "detail", msg));
}

/* ---- start / stop ----------------------------------------------------------------- */

static hs_status bind_address(const hs_http_config *cfg,
                              struct sockaddr_storage *ss, int *is_v6,
                              hs_error *err)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    const char *host = cfg->host && *cfg->host ? cfg->host : "127.0.0.1";
    if (!strcmp(host, "localhost"))
        host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)cfg->port);
        *is_v6 = 0;
        return HS_OK;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)cfg->port);
        *is_v6 = 1;
        return HS_OK;
    }
    return hs_fail(err, HS_ERR_INVALID,
                   "cannot listen on '%s': not an IPv4 or IPv6 address", host);
}

hs_status hs_http_start(hs_app *app, const hs_http_config *cfg,
                        const hs_route *routes, size_t n_routes, hs_http **out,
                        hs_error *err)
{
    *out = NULL;
    struct sockaddr_storage ss;
    int is_v6 = 0;
    hs_status st = bind_address(cfg, &ss, &is_v6, err);
    hs_http_proxies proxies;
    if (st != HS_OK ||
        (st = hs_http_proxies_parse(cfg->trusted_proxy, &proxies, err)) !=
            HS_OK)
        return st;
    hs_http *h = calloc(1, sizeof *h);
    if (!h)
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    h->app = app;
    h->cfg = *cfg;
    h->proxies = proxies;
    h->quiesced_fd = MHD_INVALID_SOCKET;
    h->routes = routes;
    h->n_routes = n_routes;
    h->counts = calloc((n_routes + N_EXTRA) * N_STATUS, sizeof *h->counts);
    h->id_prefix = randombytes_random();
    if (cfg->web_dir) {
        struct stat sb;
        if (stat(cfg->web_dir, &sb) == 0 && S_ISDIR(sb.st_mode))
            h->web_dir = strdup(cfg->web_dir);
        else
            hs_log(HS_LOG_WARN, "no web UI directory; serving the API only",
                   json_pack("{s:s}", "web_dir", cfg->web_dir));
    }
    if (!h->counts) {
        free(h->web_dir);
        free(h);
        return hs_fail(err, HS_ERR_NOMEM, "out of memory");
    }
    unsigned max_connections =
        cfg->max_connections ? cfg->max_connections : 1024;
    unsigned idle_timeout =
        cfg->connection_timeout ? cfg->connection_timeout : 60;
    st = hs_conn_guard_new(max_connections, cfg->max_connections_per_address,
                           &h->proxies, cfg->request_head_timeout, idle_timeout,
                           &h->guard, err);
    if (st == HS_OK && cfg->write_threads)
        st = hs_workpool_new(cfg->write_threads, cfg->write_queue,
                             "healer-write", &h->writes, err);
    if (st != HS_OK) {
        hs_conn_guard_free(h->guard);
        free(h->counts);
        free(h->web_dir);
        free(h);
        return st;
    }
    struct MHD_OptionItem tls_opts[4];
    /* ALLOW_SUSPEND_RESUME: the requests of the write threads. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_USE_ERROR_LOG | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME |
                     (is_v6 ? MHD_USE_IPv6 : 0) | tls_options(h, tls_opts);
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, on_accept, h, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL, /* first: see MHD docs */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 4),
        MHD_OPTION_CONNECTION_LIMIT, max_connections,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HS_HTTP_CONNECTION_MEMORY,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, h,
        MHD_OPTION_CONNECTION_TIMEOUT, idle_timeout,
        MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)(cfg->listen_backlog ? cfg->listen_backlog : 4096),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_ARRAY,
        tls_opts, MHD_OPTION_END);
    if (!h->daemon) {
        int e = errno;
        hs_workpool_free(h->writes);
        hs_conn_guard_free(h->guard);
        free(h->counts);
        free(h->web_dir);
        free(h);
        return hs_fail(err, HS_ERR_IO, "cannot listen on %s:%u: %s",
                       cfg->host ? cfg->host : "127.0.0.1", cfg->port,
                       e ? strerror(e) : "libmicrohttpd refused the options");
    }
    *out = h;
    return HS_OK;
}

void hs_http_quiesce(hs_http *h)
{
    /* The listening socket becomes ours, but MHD's threads may still be
     * taking it out of their epoll sets: it is closed after
     * MHD_stop_daemon (closing it here made MHD abort now and then). */
    if (h && h->daemon && h->quiesced_fd == MHD_INVALID_SOCKET)
        h->quiesced_fd = MHD_quiesce_daemon(h->daemon);
}

/* Waits, HS_HTTP_STOP_ANSWER_SECONDS at most, until every request the
 * write threads had is answered (its connection threads send the answers
 * meanwhile): a client then has its 201, not a reset, for a write done. */
static void wait_writes_answered(hs_http *h)
{
    double until = hl_clock_monotonic() + HS_HTTP_STOP_ANSWER_SECONDS;
    while (atomic_load(&h->writes_open) > 0 && hl_clock_monotonic() < until) {
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    uint64_t left = atomic_load(&h->writes_open);
    if (left)
        hs_log(HS_LOG_WARN, "stopping with answers of writes not sent",
               json_pack("{s:I}", "requests", (json_int_t)left));
}

void hs_http_stop(hs_http *h)
{
    if (!h)
        return;
    /* libmicrohttpd must not stop with a connection suspended: first
     * every write accepted runs (later ones run on their connection
     * thread) and its connection is resumed and answered. */
    hs_workpool_drain(h->writes);
    if (h->writes)
        wait_writes_answered(h);
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    hs_workpool_free(h->writes); /* idle: drained, and no daemon to submit */
    if (h->quiesced_fd != MHD_INVALID_SOCKET)
        close(h->quiesced_fd);
    hs_conn_guard_free(h->guard); /* after the daemon: no connection left */
    free(h->counts);
    free(h->web_dir);
    free(h);
}
