/* http.h - the HTTP layer: requests in, responses out, on libmicrohttpd.
 *
 * http.c owns everything that is HTTP and nothing that is SystemHealer:
 * it accepts connections (epoll, a thread pool), reads bodies (JSON into
 * memory up to a limit; multipart/form-data streamed part by part, a file
 * part straight into the blob store), finds the route, authenticates,
 * checks CSRF, calls the handler, sends its response, and counts and logs
 * every request. Handlers (api_*.c) see only hs_req and fill an hs_resp,
 * so they parse and validate, call a service, and render - nothing else.
 *
 * Where a handler runs: the handlers of state-changing requests (POST,
 * PUT, PATCH, DELETE: hs_http_runs_on_write_threads) run on the write
 * threads, a bounded pool, with the request's connection parked meanwhile,
 * because they write and a durable write waits for the disk; reads (GET,
 * HEAD) run on the connection threads, each of which serves many
 * connections, so a read handler must not wait for the disk's fsyncs. A
 * handler is called on one thread from start to end either way, with the
 * request's id for its errors (hs_reply_error, hs_reply_status).
 *
 * Why bodies are consumed before errors are answered: an HTTP/1.1 client
 * that is still sending when the server answers and closes may never read
 * the answer (it gets a reset), so a 401 or 413 for an upload is queued
 * after the body was read and thrown away, up to HS_HTTP_DRAIN_MAX bytes;
 * beyond that the connection is answered early and closed.
 */
#ifndef HEALER_HS_HTTP_H
#define HEALER_HS_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "base/error.h"
#include "blob/blob.h"
#include "store/records.h"

#define HS_HTTP_DRAIN_MAX (64u << 20)
#define HS_REQUEST_ID_MAX 24

struct hs_app;
struct hs_http;

/* A file part of a multipart upload, already committed to the blob store
 * when the handler runs (the handler owns the blob from then on: it keeps
 * it by referencing the key from a record, or deletes it). */
typedef struct hs_upload {
    int present;                    /* a part named "file" was sent */
    char blob_key[HS_BLOB_KEY_MAX]; /* "" when not stored */
    uint64_t size;
    char filename[256];             /* as sent by the client, sanitised */
} hs_upload;

#define HS_FORM_FIELDS_MAX 8
#define HS_FORM_VALUE_MAX 1024

typedef struct hs_form_field {
    char name[64];
    char value[HS_FORM_VALUE_MAX];
} hs_form_field;

typedef struct hs_req {
    const char *method;
    const char *path;               /* without the query string */
    char request_id[HS_REQUEST_ID_MAX];
    hs_id ids[2];                   /* {id} path parameters, in order */
    void *conn;                     /* struct MHD_Connection *, for headers */
    struct hs_http *http;           /* the server it came through */
    char client[64];                /* the client's address, "" if unknown */
    int secure_cookies;             /* cookies must carry Secure (TLS) */

    /* Body: JSON routes get the raw bytes here (NUL-terminated). */
    char *body;
    size_t body_len;
    int is_multipart;
    hs_upload upload;               /* multipart: the "file" part */
    hs_form_field fields[HS_FORM_FIELDS_MAX]; /* multipart: other parts */
    size_t n_fields;

    /* Set when the route needs a session and one was found. */
    int authed;
    hs_user user;                   /* password_hash cleared */
    hs_session session;
    char csrf_token[64];
} hs_req;

#define HS_RESP_HEADERS_MAX 6

typedef struct hs_resp {
    int status;
    const char *content_type;       /* static string */
    char *body;                     /* malloc'ed, or NULL */
    size_t body_len;
    int fd;                         /* >= 0: send this file instead of body */
    uint64_t fd_size;
    hs_blob_reader *blob;           /* non-NULL: send this blob instead */
    size_t n_headers;
    char header_names[HS_RESP_HEADERS_MAX][32];
    char header_values[HS_RESP_HEADERS_MAX][256];
} hs_resp;

/* ---- for handlers -------------------------------------------------------- */

/* A request header, or NULL. */
const char *hs_req_header(const hs_req *req, const char *name);
/* A query-string argument, or NULL. */
const char *hs_req_query(const hs_req *req, const char *name);
/* A multipart text field, or NULL. */
const char *hs_req_field(const hs_req *req, const char *name);

/* Adds a response header (copied; silently dropped past the limit). */
void hs_resp_header(hs_resp *resp, const char *name, const char *value);

/* Sets a JSON body and status; consumes j (NULL = out of memory -> 500). */
void hs_reply_json(hs_resp *resp, int status, json_t *j);

/* Sets the error body {"error": {code, message, details, request_id}};
 * details (may be NULL) is consumed. */
void hs_reply_error(hs_resp *resp, int status, const char *code,
                    json_t *details, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Maps a service status to the matching HTTP error (NOTFOUND 404,
 * CONFLICT 409, INVALID 422 invalid_data, MALFORMED 400 bad_request,
 * DENIED 401, DISABLED 403,
 * LOCKED 429, LIMITED 429 with Retry-After, BUSY and NOMEM 503, anything
 * else 500, logged) with err's message and, when err names one, its field
 * in details.field. */
void hs_reply_status(hs_resp *resp, hs_status st, const hs_error *err);

/* Raw bytes (copied) with a content type (static string). */
void hs_reply_bytes(hs_resp *resp, int status, const char *content_type,
                    const void *data, size_t len);

/* Streams a blob (the response takes the reader over and closes it). A
 * blob found damaged half-way (blob/blob.h: HS_ERR_CORRUPT) ends the
 * transfer short of its Content-Length, so a client never takes it for
 * whole; the error is logged. */
void hs_reply_blob(hs_resp *resp, int status, const char *content_type,
                   hs_blob_reader *blob);

/* Streams an open file descriptor (the response takes it over). */
void hs_reply_fd(hs_resp *resp, int status, const char *content_type, int fd,
                 uint64_t size);

/* ---- routes --------------------------------------------------------------- */

enum {
    HS_ROUTE_PUBLIC = 0,
    HS_ROUTE_AUTH = 1 << 0,      /* needs a session */
    HS_ROUTE_ADMIN = 1 << 1,     /* needs an admin session */
    HS_ROUTE_NO_CSRF = 1 << 2,   /* state-changing but exempt (login, setup) */
    HS_ROUTE_JSON = 1 << 3,      /* takes a JSON body */
    HS_ROUTE_MULTIPART = 1 << 4, /* takes multipart/form-data */
    HS_ROUTE_OPT_AUTH = 1 << 5,  /* resolve a session when there is one */
    /* Acts on the path's first {id}, a record owned by a user: to anyone
     * but its owner and the admins it does not exist (404, as an unknown
     * id). Declared so that the rule is data the authorization matrix
     * test reads (`healer routes`); the check itself is the store's. */
    HS_ROUTE_OWNED = 1 << 6
};

typedef void (*hs_handler)(struct hs_app *app, hs_req *req, hs_resp *resp);

typedef struct hs_route {
    const char *method;  /* "GET", "POST", "DELETE", ... */
    const char *pattern; /* "/api/v1/datasets/{id}/restore" */
    hs_handler handler;
    int flags;
} hs_route;

/* 1 when r's requests run on the write threads (hs_http_config's
 * write_threads): those of a state-changing method, POST, PUT, PATCH or
 * DELETE - uploads, stored diagnoses, every record made, changed or
 * trashed, logins (a session row) - since they write, and a durable write
 * waits for the disk. The rule is the method's, so a new route needs no
 * flag; reads (GET, HEAD: health, lists, downloads) stay on the
 * connection threads. A request refused before its handler (401, 404,
 * 413, ...) is answered on its connection thread whatever its route. */
int hs_http_runs_on_write_threads(const hs_route *r);

/* ---- the server ------------------------------------------------------------ */

/* How the server learns who sent a request; the HTTP layer knows the
 * hooks, not the accounts behind them. `authenticate` gets the session
 * cookie's value (NULL when there is none) and, when it holds, fills
 * req->user, req->session and req->csrf_token and returns HS_OK; else
 * an error whose message is shown: HS_ERR_DENIED answers 401 on a route
 * that needs a session, any other error (the store cannot be reached)
 * answers as that error (hs_reply_status: 503 store_unavailable), never
 * 401; a public route runs without the session either way. `csrf_valid` says whether `presented`
 * (the X-CSRF-Token header, NULL when absent) is the request's token. */
typedef struct hs_http_auth {
    const char *session_cookie; /* cookie name */
    hs_status (*authenticate)(struct hs_app *app, const char *cookie,
                              hs_req *req, hs_error *err);
    int (*csrf_valid)(struct hs_app *app, const hs_req *req,
                      const char *presented);
} hs_http_auth;

typedef struct hs_http_config {
    const char *host;          /* "127.0.0.1", "0.0.0.0", "::1", ... */
    unsigned port;
    unsigned threads;          /* connection threads (thread pool) */
    unsigned max_connections;
    unsigned connection_timeout; /* seconds of inactivity */
    unsigned max_connections_per_address; /* per client key; 0 = no limit */
    unsigned request_head_timeout; /* seconds for a whole head; 0 = none */
    unsigned listen_backlog;       /* listen(2)'s backlog; 0 = 4096 */
    /* Threads that run the requests that write, with their connections
     * parked (0 = none: every request on its connection thread), and how
     * many such requests may wait for one beyond those running; past that
     * a request that writes is answered 503 busy with Retry-After. */
    unsigned write_threads;
    unsigned write_queue;
    size_t max_upload_bytes;   /* multipart file parts */
    size_t max_json_bytes;     /* JSON bodies */
    const char *web_dir;       /* static files; NULL = none */
    int secure_cookies;        /* behind TLS: Secure cookies */
    /* HTTPS: both PEM texts (server/tls.h read and checked them), or both
     * NULL for plain HTTP. With them the daemon speaks TLS 1.2 and 1.3
     * with AEAD ciphers only (HS_HTTP_TLS_PRIORITIES), every answer
     * carries Strict-Transport-Security (HS_HTTP_HSTS) and cookies are
     * Secure whatever secure_cookies says. The texts must live until
     * hs_http_start returns. */
    const char *tls_cert_pem;
    const char *tls_key_pem;
    /* Proxies (hs_http_proxies_parse's list, "" or NULL = none) whose
     * X-Forwarded-For names the client: a request from one of them gets
     * the header's last address as req->client (what the proxy saw). */
    const char *trusted_proxy;
    hs_http_auth auth;         /* sessions and CSRF (required) */
} hs_http_config;

#define HS_HTTP_PROXIES_MAX 16

/* Trusted proxies: addresses and ranges (IPv4 as v4-mapped IPv6, its
 * prefix length plus 96; a lone address is a /128). Compare with
 * hs_http_proxies_has, never addr alone. */
typedef struct hs_http_proxies {
    size_t n;
    unsigned char addr[HS_HTTP_PROXIES_MAX][16];
    unsigned bits[HS_HTTP_PROXIES_MAX];
} hs_http_proxies;

/* Whether addr's first `bits` bits (0..128) are those of net. */
static inline int hs_http__prefix_equal(const unsigned char *net,
                                        const unsigned char *addr,
                                        unsigned bits)
{
    unsigned whole = bits / 8, rest = bits % 8;
    if (memcmp(net, addr, whole))
        return 0;
    unsigned char mask = (unsigned char)(0xff00u >> rest);
    return !rest || ((net[whole] ^ addr[whole]) & mask) == 0;
}

/* 1 when addr (16 bytes, IPv4 v4-mapped) is one of the list's addresses or
 * in one of its ranges (NULL = none). Inline: http/conn_guard.c, below
 * http.c, uses it too. */
static inline int hs_http_proxies_has(const hs_http_proxies *list,
                                      const unsigned char addr[16])
{
    for (size_t i = 0; list && i < list->n; i++)
        if (hs_http__prefix_equal(list->addr[i], addr, list->bits[i]))
            return 1;
    return 0;
}

/* Parses "ITEM[,ITEM...]" into *out (may be NULL to only check): each
 * item an IPv4 or IPv6 address or a CIDR range of them (10.0.0.0/8,
 * fd00::/8 - a Kubernetes cluster's pod range, where ingress controllers
 * change address), spaces around commas allowed, at most
 * HS_HTTP_PROXIES_MAX; "" = none. HS_ERR_INVALID names the bad item (not
 * an address, a prefix length out of range, bits set past the prefix). */
hs_status hs_http_proxies_parse(const char *list, hs_http_proxies *out,
                                hs_error *err);


/* The GnuTLS priority string of HTTPS: TLS 1.3 and 1.2 only, AES-GCM and
 * ChaCha20-Poly1305 (AEAD) only, forward-secret (EC)DHE key exchange only,
 * the server's order first - no CBC, RC4, 3DES, SHA-1 MACs or static RSA
 * key exchange. */
#define HS_HTTP_TLS_PRIORITIES                                               \
    "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:"             \
    "+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:"   \
    "+ECDHE-ECDSA:+ECDHE-RSA:+DHE-RSA:%SERVER_PRECEDENCE"

/* The HSTS header's value on HTTPS answers: browsers keep to HTTPS for a
 * year. No includeSubDomains: healer does not own its parent domain. */
#define HS_HTTP_HSTS "max-age=31536000"

/* 1 when this libmicrohttpd was built with TLS (GnuTLS) support. */
int hs_http_tls_supported(void);

typedef struct hs_http hs_http;

/* Starts listening (the daemon runs its own threads). Routes are matched
 * in table order; a path that matches a pattern with another method is
 * 405. Paths outside /api/ and /metrics are static files from web_dir. */
hs_status hs_http_start(struct hs_app *app, const hs_http_config *cfg,
                        const hs_route *routes, size_t n_routes,
                        hs_http **out, hs_error *err);

/* Stops accepting new connections (in-flight requests go on). */
void hs_http_quiesce(hs_http *h);

/* The longest hs_http_stop waits for the answers of the requests its
 * write threads finished to go out. */
#define HS_HTTP_STOP_ANSWER_SECONDS 5.0

/* Runs every request the write threads accepted (those that come after
 * run on their connection threads), waits for their answers to be sent
 * (HS_HTTP_STOP_ANSWER_SECONDS at most), stops the connection threads -
 * a request in a handler finishes, idle and kept-alive connections are
 * closed - then frees everything. */
void hs_http_stop(hs_http *h);

/* Appends the HTTP metrics in Prometheus text format to *buf (growing
 * string, malloc'ed); returns 0 or -1 when out of memory. */
int hs_http_metrics_text(hs_http *h, char **buf, size_t *len, size_t *cap);

/* Appends printf-style text to a growing buffer (shared by metric writers). */
int hs_buf_printf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
