/* test_conn_guard.c - the client key and the connection guard, without a
 * server.
 *
 * The client key must count an IPv6 client by its /64 and an IPv4-mapped
 * address as the IPv4 one, or per-client limits are either trivially
 * evaded or wrongly shared. The guard is driven with socketpairs standing
 * for accepted connections: a shut-down connection shows as EOF on the
 * peer end, which is exactly what a client of the server sees. The address
 * table is checked through many addresses opened and closed in an order
 * that exercises its deletion (backward shift), against a plain count.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

#include "base/client_key.h"
#include "http/conn_guard.h"
#include "http/http.h"

/* ---- client keys ------------------------------------------------------- */

static void same_key(const char *a, const char *b, int same)
{
    hs_client_key ka, kb;
    assert_int_equal(hs_client_key_from_text(a, &ka), 0);
    assert_int_equal(hs_client_key_from_text(b, &kb), 0);
    assert_int_equal(memcmp(&ka, &kb, sizeof ka) == 0, same);
    assert_int_equal(hs_client_key_hash(&ka) == hs_client_key_hash(&kb), same);
}

static void test_client_key_rules(void **state)
{
    (void)state;
    same_key("2001:db8:1:2::1", "2001:db8:1:2:ffff:eeee:dddd:cccc", 1);
    same_key("2001:db8:1:2::1", "2001:db8:1:3::1", 0);
    same_key("192.0.2.7", "::ffff:192.0.2.7", 1);
    same_key("192.0.2.7", "192.0.2.8", 0);
    same_key("127.0.0.1", "127.0.0.2", 0);

    hs_client_key k;
    char text[64];
    assert_int_equal(hs_client_key_from_text("2001:db8:1:2:3:4:5:6", &k), 0);
    hs_client_key_format(&k, text, sizeof text);
    assert_string_equal(text, "2001:db8:1:2::/64");
    assert_int_equal(hs_client_key_from_text("::ffff:10.1.2.3", &k), 0);
    hs_client_key_format(&k, text, sizeof text);
    assert_string_equal(text, "10.1.2.3");
    assert_int_equal(hs_client_key_from_text("not an address", &k), -1);
    assert_int_equal(hs_client_key_from_text(NULL, &k), -1);
    assert_int_equal(hs_client_key_from_sockaddr(NULL, &k), -1);

    /* Exact addresses (trusted proxies): no /64, IPv4 mapped. */
    uint8_t a[16], b[16];
    assert_int_equal(hs_ip_from_text("2001:db8:1:2::1", a), 0);
    assert_int_equal(hs_ip_from_text("2001:db8:1:2::2", b), 0);
    assert_memory_not_equal(a, b, 16);
    assert_int_equal(hs_ip_from_text("192.0.2.7", a), 0);
    assert_int_equal(hs_ip_from_text("::ffff:192.0.2.7", b), 0);
    assert_memory_equal(a, b, 16);
    assert_int_equal(hs_ip_from_text("192.0.2", a), -1);
    assert_int_equal(hs_ip_from_text(NULL, a), -1);
}

static void test_client_key_from_sockaddr(void **state)
{
    (void)state;
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    hs_client_key a, b;
    inet_pton(AF_INET6, "2001:db8:a:b:1:2:3:4", &v6.sin6_addr);
    assert_int_equal(hs_client_key_from_sockaddr((struct sockaddr *)&v6, &a),
                     0);
    assert_int_equal(hs_client_key_from_text("2001:db8:a:b::9", &b), 0);
    assert_memory_equal(&a, &b, sizeof a);
    inet_pton(AF_INET, "198.51.100.9", &v4.sin_addr);
    assert_int_equal(hs_client_key_from_sockaddr((struct sockaddr *)&v4, &a),
                     0);
    assert_int_equal(hs_client_key_from_text("198.51.100.9", &b), 0);
    assert_memory_equal(&a, &b, sizeof a);
}

/* ---- the guard --------------------------------------------------------- */

typedef struct conn {
    int server_end, client_end;
    hs_conn_entry *entry;
} conn;

static struct sockaddr_in v4_addr(unsigned last)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(0xC0000200u | (last & 0xff)); /* 192.0.2.x */
    return sa;
}

static void open_conn(hs_conn_guard *g, conn *c, const struct sockaddr_in *sa)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    c->server_end = sv[0];
    c->client_end = sv[1];
    c->entry = hs_conn_guard_opened(g, (const struct sockaddr *)sa, sv[0]);
    assert_non_null(c->entry);
}

static void close_conn(hs_conn_guard *g, conn *c)
{
    hs_conn_guard_closed(g, c->entry);
    close(c->server_end);
    close(c->client_end);
}

/* 1 when the server end was shut down: the client end reads EOF within
 * wait_ms. */
static int was_cut(const conn *c, int wait_ms)
{
    struct pollfd p = {.fd = c->client_end, .events = POLLIN};
    char b;
    if (poll(&p, 1, wait_ms) <= 0)
        return 0;
    return recv(c->client_end, &b, 1, MSG_DONTWAIT) == 0;
}

static void test_per_address_limit(void **state)
{
    (void)state;
    hs_conn_guard *g = NULL;
    hs_error err = {0};
    hs_conn_guard_stats st;
    assert_int_equal(hs_conn_guard_new(64, 3, NULL, 0, 60, &g, &err), HS_OK);
    struct sockaddr_in a = v4_addr(1), b = v4_addr(2);
    conn ca[4], cb;
    for (int i = 0; i < 3; i++) {
        assert_true(hs_conn_guard_admit(g, (struct sockaddr *)&a));
        open_conn(g, &ca[i], &a);
    }
    assert_false(hs_conn_guard_admit(g, (struct sockaddr *)&a));
    assert_true(hs_conn_guard_admit(g, (struct sockaddr *)&b));
    open_conn(g, &cb, &b);
    /* One that slipped past the accept check is cut at once. */
    open_conn(g, &ca[3], &a);
    assert_true(was_cut(&ca[3], 200));
    for (int i = 0; i < 3; i++)
        assert_false(was_cut(&ca[i], 0));
    hs_conn_guard_stats_get(g, &st);
    assert_int_equal(st.open, 5);
    assert_int_equal(st.refused_per_address, 2);
    close_conn(g, &ca[3]);
    close_conn(g, &ca[0]);
    assert_true(hs_conn_guard_admit(g, (struct sockaddr *)&a));
    close_conn(g, &ca[1]);
    close_conn(g, &ca[2]);
    close_conn(g, &cb);
    hs_conn_guard_stats_get(g, &st);
    assert_int_equal(st.open, 0);
    hs_conn_guard_free(g);
}

/* Many addresses in a small table, closed in an interleaved order: each
 * address's count stays its own (the table's deletion keeps probe runs
 * intact), and a 0 limit admits everything. */
static void test_address_table_stays_exact(void **state)
{
    (void)state;
    enum { ADDRS = 40, PER = 2 };
    hs_conn_guard *g = NULL;
    hs_error err = {0};
    assert_int_equal(hs_conn_guard_new(ADDRS * PER, PER, NULL, 0, 60, &g, &err), HS_OK);
    static conn cs[ADDRS][PER];
    struct sockaddr_in sa[ADDRS];
    for (int i = 0; i < ADDRS; i++) {
        sa[i] = v4_addr((unsigned)i + 10);
        for (int j = 0; j < PER; j++)
            open_conn(g, &cs[i][j], &sa[i]);
        assert_false(hs_conn_guard_admit(g, (struct sockaddr *)&sa[i]));
    }
    for (int i = 0; i < ADDRS; i += 3) /* every third address leaves */
        for (int j = 0; j < PER; j++)
            close_conn(g, &cs[i][j]);
    for (int i = 0; i < ADDRS; i++)
        assert_int_equal(hs_conn_guard_admit(g, (struct sockaddr *)&sa[i]),
                         i % 3 == 0);
    for (int i = 0; i < ADDRS; i++)
        if (i % 3)
            for (int j = 0; j < PER; j++)
                close_conn(g, &cs[i][j]);
    hs_conn_guard_free(g);

    assert_int_equal(hs_conn_guard_new(4, 0, NULL, 0, 60, &g, &err), HS_OK);
    conn c[6];
    for (int i = 0; i < 6; i++) {
        assert_true(hs_conn_guard_admit(g, (struct sockaddr *)&sa[0]));
        open_conn(g, &c[i], &sa[0]);
        assert_false(was_cut(&c[i], 0));
    }
    for (int i = 0; i < 6; i++)
        close_conn(g, &c[i]);
    hs_conn_guard_free(g);
}

/* A head not in by the deadline is cut whatever the connection does; a
 * completed head is not. On a kept-alive connection the next head's clock
 * starts at its request line, not at the end of the response: waiting
 * between requests is bounded by the idle limit plus the head deadline
 * (here 2 + 1 s) only, so a paused client keeps its connection. */
static void test_head_deadline(void **state)
{
    (void)state;
    hs_conn_guard *g = NULL;
    hs_error err = {0};
    hs_conn_guard_stats st;
    assert_int_equal(hs_conn_guard_new(16, 0, NULL, 1, 2, &g, &err), HS_OK);
    struct sockaddr_in a = v4_addr(1);
    conn slow, done, again, trickle;
    open_conn(g, &slow, &a);
    open_conn(g, &done, &a);
    open_conn(g, &again, &a);
    open_conn(g, &trickle, &a);
    hs_conn_guard_head_done(g, done.entry);
    hs_conn_guard_head_done(g, again.entry);
    hs_conn_guard_head_done(g, trickle.entry);
    usleep(600 * 1000);
    hs_conn_guard_await_head(g, again.entry); /* a response went out */
    hs_conn_guard_await_head(g, trickle.entry);
    assert_false(was_cut(&slow, 0));
    assert_true(was_cut(&slow, 1000)); /* 1 s + a tick after opening */
    assert_false(was_cut(&again, 1200)); /* waiting 1.6 s > 1 s: kept */
    hs_conn_guard_request_line(g, again.entry);
    assert_false(was_cut(&again, 0));
    assert_true(was_cut(&again, 1400)); /* 1 s + a tick after its line */
    /* No request line for 3 s after the response: cut (about 3 s after
     * it, 2.6 s of them gone by now). */
    assert_false(was_cut(&trickle, 0));
    assert_true(was_cut(&trickle, 1000));
    assert_false(was_cut(&done, 0));
    hs_conn_guard_stats_get(g, &st);
    assert_int_equal(st.heads_timed_out, 3);
    close_conn(g, &slow);
    close_conn(g, &done);
    close_conn(g, &again);
    close_conn(g, &trickle);
    hs_conn_guard_free(g);
}

/* A head whose bytes wait unread in the socket when the deadline passes
 * is the server's lateness, not the client's: not cut; once the server
 * has read them and nothing more comes, it is. */
static void test_unread_head_not_cut(void **state)
{
    (void)state;
    hs_conn_guard *g = NULL;
    hs_error err = {0};
    assert_int_equal(hs_conn_guard_new(16, 0, NULL, 1, 60, &g, &err), HS_OK);
    struct sockaddr_in a = v4_addr(1);
    conn sent;
    char buf[64];
    open_conn(g, &sent, &a);
    assert_int_equal(write(sent.client_end, "GET / HTTP/1.1\r\n", 16), 16);
    assert_false(was_cut(&sent, 1600)); /* past 1 s + a tick, unread */
    assert_int_equal(read(sent.server_end, buf, sizeof buf), 16);
    assert_true(was_cut(&sent, 600));
    close_conn(g, &sent);
    hs_conn_guard_free(g);
}

/* A trusted proxy's address has no per-address limit (it carries every
 * client's connections); any other address still has its limit. */
static void test_trusted_proxy_exempt(void **state)
{
    (void)state;
    hs_conn_guard *g = NULL;
    hs_error err = {0};
    hs_http_proxies proxies;
    assert_int_equal(hs_http_proxies_parse("192.0.2.9, 2001:db8::1",
                                           &proxies, &err),
                     HS_OK);
    assert_int_equal(hs_conn_guard_new(64, 2, &proxies, 0, 60, &g, &err),
                     HS_OK);
    struct sockaddr_in proxy = v4_addr(9), other = v4_addr(8);
    conn cp[5], co[3];
    for (int i = 0; i < 5; i++) {
        assert_true(hs_conn_guard_admit(g, (struct sockaddr *)&proxy));
        open_conn(g, &cp[i], &proxy);
    }
    for (int i = 0; i < 5; i++)
        assert_false(was_cut(&cp[i], 0));
    for (int i = 0; i < 2; i++) {
        assert_true(hs_conn_guard_admit(g, (struct sockaddr *)&other));
        open_conn(g, &co[i], &other);
    }
    assert_false(hs_conn_guard_admit(g, (struct sockaddr *)&other));
    open_conn(g, &co[2], &other); /* past the accept check: cut */
    assert_true(was_cut(&co[2], 200));
    for (int i = 0; i < 5; i++)
        close_conn(g, &cp[i]);
    for (int i = 0; i < 3; i++)
        close_conn(g, &co[i]);
    hs_conn_guard_free(g);
}

/* Three quarters of the cap open: heads are due within a second instead
 * of the configured 30 s; below that, the configured deadline holds. */
static void test_crowded_deadline(void **state)
{
    (void)state;
    hs_conn_guard *g = NULL;
    hs_error err = {0};
    assert_int_equal(hs_conn_guard_new(8, 0, NULL, 30, 60, &g, &err), HS_OK);
    struct sockaddr_in a = v4_addr(1);
    conn c[6];
    for (int i = 0; i < 5; i++)
        open_conn(g, &c[i], &a);
    assert_false(was_cut(&c[0], 1500)); /* 5 of 8: not crowded */
    open_conn(g, &c[5], &a);            /* 6 of 8: crowded */
    for (int i = 0; i < 6; i++)
        assert_true(was_cut(&c[i], 2000));
    for (int i = 0; i < 6; i++)
        close_conn(g, &c[i]);
    hs_conn_guard_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_key_rules),
        cmocka_unit_test(test_client_key_from_sockaddr),
        cmocka_unit_test(test_per_address_limit),
        cmocka_unit_test(test_address_table_stays_exact),
        cmocka_unit_test(test_head_deadline),
        cmocka_unit_test(test_trusted_proxy_exempt),
        cmocka_unit_test(test_unread_head_not_cut),
        cmocka_unit_test(test_crowded_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
