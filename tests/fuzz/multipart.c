/* multipart.c - libFuzzer target: multipart/form-data uploads through the
 * HTTP layer (src/service/http/http.c: libmicrohttpd's post processor and
 * our part handling behind it - the "file" part streamed into the blob
 * store, text fields kept, the file name sanitised, a second file part,
 * the upload limit, a malformed body).
 *
 * The multipart parser is libmicrohttpd's MHD_PostProcessor, which can
 * only be made for a live connection, so this target starts the real HTTP
 * layer once (hs_http_start on 127.0.0.1, a free port, a blob store in a
 * temporary directory) with one route that takes multipart/form-data, and
 * sends each input as one request over loopback: the first line of the
 * input is what follows "multipart/form-data" in the Content-Type header
 * (the boundary and other parameters; CR and NUL removed so the header
 * stays one header), the rest is the body. The route's handler checks
 * what http.h promises a handler (below) and answers 200; it runs on the
 * write thread, its connection parked, as a server's uploads do.
 *
 * Checked besides memory safety (the server's threads run under the same
 * sanitizers): every request is answered within 25 s with 200, 400 or 413
 * (never a 5xx, never silence); a handler sees a committed blob of the
 * size announced when a file part came, a sanitised file name and
 * NUL-terminated fields within their limits; and once the request is
 * finished no blob and no temporary file is left behind (http.c deletes
 * an upload the handler did not keep, and aborts a writer that failed).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "base/app.h"
#include "base/clock.h"
#include "base/log.h"
#include "blob/blob.h"
#include "http/http.h"

#define MAX_UPLOAD 4096 /* small, so that the limit is reached */
#define ANSWER_MS 25000 /* generous: a loaded machine is slow, not hung */

static struct {
    hs_app app;
    hs_http *http;
    unsigned port;
} G;

static void handle_upload(hs_app *app, hs_req *req, hs_resp *resp)
{
    FUZZ_ASSERT(req->is_multipart, "a multipart route sees a multipart body");
    FUZZ_ASSERT(req->n_fields <= HS_FORM_FIELDS_MAX, "fields within the limit");
    for (size_t i = 0; i < req->n_fields; i++) {
        FUZZ_ASSERT(memchr(req->fields[i].name, 0, sizeof req->fields[i].name),
                    "a field name is terminated");
        FUZZ_ASSERT(memchr(req->fields[i].value, 0, sizeof req->fields[i].value),
                    "a field value is terminated");
    }
    const hs_upload *u = &req->upload;
    FUZZ_ASSERT(memchr(u->filename, 0, sizeof u->filename), "file name terminated");
    for (const char *p = u->filename; *p; p++)
        FUZZ_ASSERT((unsigned char)*p >= 0x20 && *p != 0x7f && *p != '/' &&
                        *p != '\\' && *p != '"',
                    "the file name is sanitised");
    if (u->present) {
        FUZZ_ASSERT(u->blob_key[0] != '\0', "a file part is stored");
        FUZZ_ASSERT(u->size <= MAX_UPLOAD, "a stored file is within the limit");
        hs_blob_reader *r = NULL;
        hs_error err = {0};
        FUZZ_ASSERT(hs_blob_open_read(app->blobs, u->blob_key, &r, &err) ==
                        HS_OK,
                    "the stored file exists");
        uint64_t size = r->size;
        hs_blob_reader_close(r);
        FUZZ_ASSERT(size == u->size, "the stored file has the announced size");
    }
    hs_reply_json(resp, 200,
                  json_pack("{s:b,s:I,s:i}", "file", u->present, "size",
                            (json_int_t)u->size, "fields", (int)req->n_fields));
}

static const hs_route ROUTES[] = {
    {"POST", "/api/upload", handle_upload, HS_ROUTE_PUBLIC | HS_ROUTE_MULTIPART},
};

static hs_status no_session(hs_app *app, const char *cookie, hs_req *req,
                            hs_error *err)
{
    (void)app;
    (void)cookie;
    (void)req;
    return hs_fail(err, HS_ERR_DENIED, "no sessions here");
}

static int any_csrf(hs_app *app, const hs_req *req, const char *presented)
{
    (void)app;
    (void)req;
    (void)presented;
    return 1;
}

/* ---- the server and its data ---- */

static void cleanup(void)
{
    hs_http_stop(G.http);
    G.http = NULL;
    hs_blob_store_close(G.app.blobs);
    G.app.blobs = NULL;
}

/* Files under the blob store's root (committed blobs and temporary files),
 * directories not counted. */
static int count_files(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw);
static size_t n_files;
static int count_files(const char *path, const struct stat *st, int flag,
                       struct FTW *ftw)
{
    (void)path;
    (void)st;
    (void)ftw;
    n_files += flag == FTW_F;
    return 0;
}

static size_t files_left(void)
{
    n_files = 0;
    nftw(fuzz_dir, count_files, 16, FTW_PHYS);
    return n_files;
}

static unsigned free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    FUZZ_ASSERT(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
                    getsockname(s, (struct sockaddr *)&a, &n) == 0,
                "a free loopback port");
    close(s);
    return ntohs(a.sin_port);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hs_error err = {0};
    hs_log_set_level(HS_LOG_ERROR);
    int devnull = open("/dev/null", O_WRONLY);
    hs_log_set_access_fd(devnull);
    const char *dir = fuzz_temp_dir("multipart", cleanup);
    FUZZ_ASSERT(hs_blob_dir_open(dir, &G.app.blobs, &err) == HS_OK,
                "the blob store opens");
    G.app.clock = hs_clock_system();
    G.app.limits.max_upload_bytes = MAX_UPLOAD;
    G.app.limits.max_json_bytes = MAX_UPLOAD;
    hs_http_config cfg = {
        .host = "127.0.0.1",
        .threads = 1,
        .write_threads = 1, /* the upload's commit and handler run there */
        .write_queue = 4,
        .max_connections = 16,
        .connection_timeout = 5,
        .max_upload_bytes = MAX_UPLOAD,
        .max_json_bytes = MAX_UPLOAD,
        .auth = {"session", no_session, any_csrf},
    };
    for (int attempt = 0; attempt < 5 && !G.http; attempt++) {
        cfg.port = G.port = free_port();
        if (hs_http_start(&G.app, &cfg, ROUTES, 1, &G.http, &err) != HS_OK)
            fprintf(stderr, "multipart: %s\n", err.message);
    }
    FUZZ_ASSERT(G.http != NULL, "the HTTP layer starts");
    return 0;
}

/* ---- one request ---- */

/* Milliseconds left before `deadline` (CLOCK_MONOTONIC seconds). */
static int ms_left(double deadline)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double left = deadline - ((double)ts.tv_sec + ts.tv_nsec * 1e-9);
    return left > 0 ? (int)(left * 1000) + 1 : 0;
}

static double deadline_in(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9 + ms / 1000.0;
}

/* Waits for `events` on s until the deadline; 0 when it came. libFuzzer's
 * timer (-timeout) interrupts system calls with SIGALRM every second, so
 * every call here is retried on EINTR. */
static int wait_for(int s, short events, double deadline)
{
    for (;;) {
        struct pollfd pfd = {s, events, 0};
        int ready = poll(&pfd, 1, ms_left(deadline));
        if (ready > 0)
            return 0;
        if (ready == 0 || errno != EINTR)
            return -1;
    }
}

/* A connection to the server. Closed with a reset (SO_LINGER 0) once the
 * answer is read, so that thousands of requests a second leave no
 * TIME_WAIT behind to use up the loopback's ports. */
static int connect_server(double deadline)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)G.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct linger hard = {1, 0};
    FUZZ_ASSERT(s >= 0, "socket");
    setsockopt(s, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    int rc = connect(s, (struct sockaddr *)&a, sizeof a), e = rc ? errno : 0;
    if (rc != 0 && e == EINTR) { /* the connection goes on: wait for it */
        socklen_t n = sizeof e;
        if (wait_for(s, POLLOUT, deadline) != 0 ||
            getsockopt(s, SOL_SOCKET, SO_ERROR, &e, &n) != 0)
            e = ETIMEDOUT;
    }
    if (e != 0) {
        fprintf(stderr, "multipart: connect: %s\n", strerror(e));
        FUZZ_ASSERT(0, "connect to the HTTP layer");
    }
    return s;
}

static void send_all(int s, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(s, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the server answered early and closed: allowed */
        p += w;
        n -= (size_t)w;
    }
}

/* Reads the answer until the server closes; its status code. */
static int read_status(int s, double deadline)
{
    char buf[4096];
    size_t got = 0;
    for (;;) {
        if (wait_for(s, POLLIN, deadline) != 0) {
            /* what the server's connections were doing */
            char cmd[128];
            snprintf(cmd, sizeof cmd, "ss -tan 'sport = :%u' | head -20",
                     G.port);
            (void)!system(cmd);
            FUZZ_ASSERT(0, "the server answers within 25 s");
        }
        ssize_t r = recv(s, got < sizeof buf - 1 ? buf + got : buf,
                         got < sizeof buf - 1 ? sizeof buf - 1 - got
                                              : sizeof buf - 1,
                         0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        if (got < sizeof buf - 1)
            got += (size_t)r;
    }
    buf[got] = '\0';
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "answer:\n%s\n", buf);
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        fprintf(stderr, "no status line in: %.200s\n", buf);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nl = memchr(data, '\n', size);
    size_t params_len = nl ? (size_t)(nl - (const char *)data) : 0;
    const char *body = nl ? nl + 1 : (const char *)data;
    size_t body_len = size - (size_t)(body - (const char *)data);
    char params[512];
    size_t n = 0;
    for (size_t i = 0; i < params_len && n + 1 < sizeof params; i++)
        if (data[i] != '\r' && data[i] != '\0')
            params[n++] = (char)data[i];
    params[n] = '\0';
    char head[1024];
    int head_len = snprintf(head, sizeof head,
                            "POST /api/upload HTTP/1.1\r\nHost: fuzz\r\n"
                            "Content-Type: multipart/form-data%s\r\n"
                            "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                            params, body_len);
    double deadline = deadline_in(ANSWER_MS);
    int s = connect_server(deadline);
    send_all(s, head, (size_t)head_len);
    send_all(s, body, body_len);
    /* No shutdown(SHUT_WR): Content-Length ends the body, and the server
     * closes first (Connection: close). */
    int status = read_status(s, deadline);
    close(s);
    if (status != 200 && status != 400 && status != 413)
        fprintf(stderr, "multipart: answered %d\n", status);
    FUZZ_ASSERT(status == 200 || status == 400 || status == 413,
                "an upload is answered 200, 400 or 413");
    /* The request is finished once the server closed; its clean-up runs
     * just before, so allow it a moment. */
    size_t left = files_left();
    for (int i = 0; i < 200 && left; i++) {
        usleep(1000);
        left = files_left();
    }
    FUZZ_ASSERT(left == 0, "a finished upload leaves no file behind");
    return 0;
}
