/* http/request_head.h - the rules a request's head must pass before
 * anything else looks at it: size limits and an unambiguous body framing.
 *
 * Why here and not in libmicrohttpd: libmicrohttpd parses a request with
 * both Content-Length and Transfer-Encoding as chunked and serves what
 * follows the chunked body as a second request (request smuggling through
 * any proxy that framed it by Content-Length), and it waits for the end of
 * the connection on a Transfer-Encoding it does not know. Its own answers
 * to an oversized head are HTML pages outside the API's error format, the
 * metrics and the access log. These rules run on the first call of the
 * access handler, which libmicrohttpd makes once the whole head is in and
 * before it reads any of the body, so a refused request is answered with
 * the API's JSON error and the connection closed before a byte of its body
 * is interpreted. libmicrohttpd's own limit (its per-connection memory,
 * HS_HTTP_CONNECTION_MEMORY) stays above these, so it only answers heads
 * far past them (with the same statuses, in its own words).
 */
#ifndef HEALER_HS_REQUEST_HEAD_H
#define HEALER_HS_REQUEST_HEAD_H

#include <stddef.h>

struct MHD_Connection;

/* The request target (path and query as sent) at most, bytes: 414 past it. */
#define HS_HTTP_TARGET_MAX 8192
/* One header line (name, ": ", value) at most, bytes: 431 past it. */
#define HS_HTTP_HEADER_LINE_MAX 8192
/* The whole head (request line and headers) at most, bytes: 431 past it. */
#define HS_HTTP_HEAD_MAX 16384
/* Header lines at most: 431 past it. */
#define HS_HTTP_HEADERS_MAX 100
/* libmicrohttpd's memory per connection (its read buffer holds the head):
 * well above HS_HTTP_HEAD_MAX, so that heads up to about this size are
 * refused by the rules above in the API's words. */
#define HS_HTTP_CONNECTION_MEMORY (64u * 1024u)

/* A refused head: the status, the error code and a message for the
 * client. The connection is closed after the answer. */
typedef struct hs_head_refusal {
    int status;       /* 400, 414, 431 or 501 */
    const char *code; /* "bad_request", "uri_too_long", ... (static) */
    char message[256];
} hs_head_refusal;

/* Checks the head of the request being read on c, whose raw request
 * target was target_len bytes (0 = unknown: not checked). 0 when it may be
 * served; else 1 with *out filled:
 *  - 414 uri_too_long: target over HS_HTTP_TARGET_MAX;
 *  - 431 headers_too_large: a line over HS_HTTP_HEADER_LINE_MAX, more than
 *    HS_HTTP_HEADERS_MAX lines or a head over HS_HTTP_HEAD_MAX;
 *  - 400 bad_request: both Content-Length and Transfer-Encoding, or either
 *    of them more than once (the body's end would be ambiguous);
 *  - 501 not_implemented: a Transfer-Encoding other than "chunked". */
int hs_request_head_check(struct MHD_Connection *c, size_t target_len,
                          hs_head_refusal *out);

#endif
