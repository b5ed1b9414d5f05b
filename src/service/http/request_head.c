/* http/request_head.c - a request head's limits and framing (see
 * request_head.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "http/request_head.h"

typedef struct head_scan {
    size_t lines, bytes, longest;
    unsigned content_length, transfer_encoding;
    const char *te; /* the (last) Transfer-Encoding value */
} head_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind,
                                   const char *key, const char *value)
{
    head_scan *s = cls;
    (void)kind;
    size_t line = strlen(key) + 2 + (value ? strlen(value) : 0);
    s->lines++;
    s->bytes += line + 2;
    if (line > s->longest)
        s->longest = line;
    if (!strcasecmp(key, "Content-Length"))
        s->content_length++;
    if (!strcasecmp(key, "Transfer-Encoding")) {
        s->transfer_encoding++;
        s->te = value ? value : "";
    }
    return MHD_YES;
}

static int refuse(hs_head_refusal *out, int status, const char *code,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(hs_head_refusal *out, int status, const char *code,
                  const char *fmt, ...)
{
    va_list ap;
    out->status = status;
    out->code = code;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
    return 1;
}

/* "chunked", in any case, with optional spaces around it. */
static int is_chunked(const char *te)
{
    while (*te == ' ' || *te == '\t')
        te++;
    size_t n = strlen(te);
    while (n && (te[n - 1] == ' ' || te[n - 1] == '\t'))
        n--;
    return n == 7 && !strncasecmp(te, "chunked", 7);
}

/* The head's size as libmicrohttpd measured it, else the sum of its
 * parts. */
static size_t head_size(struct MHD_Connection *c, size_t target_len,
                        const head_scan *s)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (info && info->header_size)
        return info->header_size;
    return target_len + s->bytes;
}

int hs_request_head_check(struct MHD_Connection *c, size_t target_len,
                          hs_head_refusal *out)
{
    head_scan s = {0};
    if (target_len > HS_HTTP_TARGET_MAX)
        return refuse(out, 414, "uri_too_long",
                      "the request target (path and query) is longer than "
                      "%d bytes",
                      HS_HTTP_TARGET_MAX);
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &s);
    if (s.longest > HS_HTTP_HEADER_LINE_MAX || s.lines > HS_HTTP_HEADERS_MAX ||
        head_size(c, target_len, &s) > HS_HTTP_HEAD_MAX)
        return refuse(out, 431, "headers_too_large",
                      "the request's headers are too large (at most %d "
                      "bytes a line, %d lines, %d bytes in all)",
                      HS_HTTP_HEADER_LINE_MAX, HS_HTTP_HEADERS_MAX,
                      HS_HTTP_HEAD_MAX);
    if (s.content_length && s.transfer_encoding)
        return refuse(out, 400, "bad_request",
                      "the request has both Content-Length and "
                      "Transfer-Encoding: its body's end is ambiguous");
    if (s.content_length > 1 || s.transfer_encoding > 1)
        return refuse(
            out, 400, "bad_request", "the request has more than one %s header",
            s.content_length > 1 ? "Content-Length" : "Transfer-Encoding");
    if (s.transfer_encoding && !is_chunked(s.te))
        return refuse(out, 501, "not_implemented",
                      "Transfer-Encoding '%.64s' is not supported (only "
                      "chunked)",
                      s.te);
    return 0;
}
