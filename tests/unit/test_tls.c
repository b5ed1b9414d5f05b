/* test_tls.c - the rules of HTTPS below the HTTP layer: which settings
 * go together (tls-cert and tls-key), which listen hosts count as
 * loopback for plain HTTP, which names `healer cert` takes, and what
 * hs_tls_load accepts (a pair from hs_selfsigned_write) and refuses (half
 * a pair, garbage, another certificate's key), with the file named, and
 * the trusted proxies' address lists behind it.
 *
 * tests/api/test_tls.py talks TLS to a real server; these pin down the
 * edge cases that are slow or awkward to reach through a process.
 */
#include <limits.h>
#include <sys/stat.h>

#include "testutil.h"

#include "base/client_key.h"
#include "http/http.h"
#include "server/config.h"
#include "server/selfsigned.h"
#include "server/tls.h"

static void config_needs_both_files(void **state)
{
    (void)state;
    /* Debian's libmicrohttpd12 links GnuTLS: HTTPS is available. */
    assert_true(hs_http_tls_supported());
    hs_server_config c;
    hs_error err = {0};
    hs_server_config_defaults(&c);
    assert_string_equal(c.tls_cert, "");
    assert_false(c.allow_plain_http);
    assert_int_equal(hs_server_config_check(&c, &err), HS_OK);
    assert_int_equal(hs_server_config_set(&c, "tls-cert", "/x/cert.pem", &err),
                     HS_OK);
    assert_int_equal(hs_server_config_check(&c, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "tls-key");
    assert_int_equal(hs_server_config_set(&c, "tls-key", "/x/key.pem", &err),
                     HS_OK);
    assert_int_equal(hs_server_config_check(&c, &err), HS_OK);
    assert_int_equal(hs_server_config_set(&c, "tls-cert", "", &err), HS_OK);
    assert_int_equal(hs_server_config_check(&c, &err), HS_ERR_INVALID);
    assert_string_equal(err.field, "tls-cert");
    assert_int_equal(hs_server_config_set(&c, "allow-plain-http", "yes", &err),
                     HS_OK);
    assert_true(c.allow_plain_http);
    assert_true(hs_server_config_is_bool("allow-plain-http"));
}

static void loopback_hosts(void **state)
{
    (void)state;
    static const char *const LOOPBACK[] = {"127.0.0.1", "127.8.9.10",
                                           "::1",       "localhost",
                                           "LocalHost", "::ffff:127.0.0.1"};
    static const char *const NETWORK[] = {
        "0.0.0.0",     "::",          "10.0.0.1",
        "192.168.1.2", "128.0.0.1",   "::ffff:10.0.0.1",
        "fe80::1",     "example.com", ""};
    hs_error err = {0};
    for (size_t i = 0; i < sizeof LOOPBACK / sizeof *LOOPBACK; i++) {
        assert_true(hs_host_is_loopback(LOOPBACK[i]));
        assert_int_equal(hs_tls_check_plain_http(LOOPBACK[i], 0, 0, &err),
                         HS_OK);
    }
    for (size_t i = 0; i < sizeof NETWORK / sizeof *NETWORK; i++) {
        assert_false(hs_host_is_loopback(NETWORK[i]));
        assert_int_equal(hs_tls_check_plain_http(NETWORK[i], 0, 0, &err),
                         HS_ERR_INVALID);
        assert_string_equal(err.field, "listen");
        assert_non_null(strstr(err.message, "--allow-plain-http"));
        assert_non_null(strstr(err.message, "--tls-cert"));
        assert_int_equal(hs_tls_check_plain_http(NETWORK[i], 1, 0, &err),
                         HS_OK); /* HTTPS */
        assert_int_equal(hs_tls_check_plain_http(NETWORK[i], 0, 1, &err),
                         HS_OK); /* a proxy in front */
    }
}

static void certificate_host_names(void **state)
{
    (void)state;
    static const char *const GOOD[] = {
        "localhost", "healer.example.com", "a", "x-1.y", "10.0.0.7",
        "::1",       "2001:db8::5"};
    static const char *const BAD[] = {
        "",   "bad_name", "-x.example", "x-.y",      "a..b",
        "a.", ".a",       "a b",        "é.example", "*.example.com"};
    char long_label[80], long_name[300];
    for (size_t i = 0; i < sizeof GOOD / sizeof *GOOD; i++)
        assert_true(hs_selfsigned_host_ok(GOOD[i]));
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++)
        assert_false(hs_selfsigned_host_ok(BAD[i]));
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    assert_false(hs_selfsigned_host_ok(long_label)); /* a label of 64 */
    long_label[63] = '\0';
    assert_true(hs_selfsigned_host_ok(long_label));
    for (size_t i = 0; i < 254; i++)
        long_name[i] = i % 2 ? '.' : 'a';
    long_name[253] = '\0'; /* "a.a....a": 253 characters */
    assert_true(hs_selfsigned_host_ok(long_name));
    long_name[253] = 'a';
    long_name[254] = '\0';
    assert_false(hs_selfsigned_host_ok(long_name));
}

static void trusted_proxy_lists(void **state)
{
    (void)state;
    hs_http_proxies p;
    hs_error err = {0};
    hs_server_config c;
    assert_int_equal(hs_http_proxies_parse("", &p, &err), HS_OK);
    assert_int_equal(p.n, 0);
    assert_int_equal(hs_http_proxies_parse(NULL, &p, &err), HS_OK);
    assert_int_equal(p.n, 0);
    assert_int_equal(
        hs_http_proxies_parse(" 127.0.0.1 ,::1,10.0.0.2", &p, &err), HS_OK);
    assert_int_equal(p.n, 3);
    /* IPv4 as v4-mapped IPv6, so a v4 peer matches it. */
    static const unsigned char mapped[16] = {0, 0, 0,    0,    0,   0, 0, 0,
                                             0, 0, 0xff, 0xff, 127, 0, 0, 1};
    assert_memory_equal(p.addr[0], mapped, 16);
    static const char *const BAD[] = {
        ",",     "10.0.0.1,", ",10.0.0.1",  "10.0.0.1,,10.0.0.2",
        "proxy", " ",         "10.0.0.256", "10.0.0.0/33",
        "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8x", "fd00::/129",
        "10.1.2.3/8", "fd00::1/8", "/8", "10.0.0.0/ 8"};
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++)
        assert_int_equal(hs_http_proxies_parse(BAD[i], NULL, &err),
                         HS_ERR_INVALID);
    /* Ranges: IPv4 (v4-mapped, so 96 more bits) and IPv6. */
    assert_int_equal(hs_http_proxies_parse("10.0.0.0/8, fd00::/8,"
                                           "192.0.2.7/32,0.0.0.0/0",
                                           &p, &err),
                     HS_OK);
    assert_int_equal(p.n, 4);
    assert_int_equal(p.bits[0], 104);
    assert_int_equal(p.bits[1], 8);
    unsigned char a[16];
    assert_int_equal(hs_http_proxies_parse("10.0.0.0/8,fd00::/8", &p, &err),
                     HS_OK);
    static const struct {
        const char *ip;
        int trusted;
    } IN[] = {{"10.0.0.0", 1},        {"10.255.255.255", 1},
              {"10.1.2.3", 1},        {"11.0.0.0", 0},
              {"9.255.255.255", 0},   {"fd12:3456::1", 1},
              {"fe00::1", 0},         {"::ffff:10.9.9.9", 1},
              {"::a00:1", 0}, /* 10.0.0.1's bits, not v4-mapped */};
    for (size_t i = 0; i < sizeof IN / sizeof *IN; i++) {
        assert_int_equal(hs_ip_from_text(IN[i].ip, a), 0);
        assert_int_equal(hs_http_proxies_has(&p, a), IN[i].trusted);
    }
    assert_int_equal(hs_http_proxies_parse("10.1.2.3/8", NULL, &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "the range is 10.0.0.0/8"));
    assert_int_equal(hs_http_proxies_parse("10.0.0.0/33", NULL, &err),
                     HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "0..32"));
    /* A lone address is itself only. */
    assert_int_equal(hs_http_proxies_parse("10.0.0.2", &p, &err), HS_OK);
    assert_int_equal(hs_ip_from_text("10.0.0.3", a), 0);
    assert_int_equal(hs_http_proxies_has(&p, a), 0);
    assert_int_equal(hs_ip_from_text("10.0.0.2", a), 0);
    assert_int_equal(hs_http_proxies_has(&p, a), 1);
    char many[512] = "";
    for (int i = 0; i <= HS_HTTP_PROXIES_MAX; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s10.0.0.%d",
                 i ? "," : "", i);
    assert_int_equal(hs_http_proxies_parse(many, NULL, &err), HS_ERR_INVALID);
    assert_non_null(strstr(err.message, "at most"));
    /* The setting is checked when it is set, naming the key. */
    hs_server_config_defaults(&c);
    assert_int_equal(hs_server_config_set(&c, "trusted-proxy", "a,b", &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "trusted-proxy");
    assert_non_null(strstr(err.message, "'a' is not an IP address"));
    assert_string_equal(c.trusted_proxy, "");
    assert_int_equal(hs_server_config_set(&c, "trusted-proxy", "::1", &err),
                     HS_OK);
}

/* A fresh private directory under /tmp. */
static void temp_dir(char *out, size_t cap)
{
    snprintf(out, cap, "/tmp/healer-tls-XXXXXX");
    assert_non_null(mkdtemp(out));
}

static void pair_loads_and_mismatch_refused(void **state)
{
    (void)state;
    char dir[64], other[64], sub[96];
    hs_selfsigned a, b;
    hs_tls_creds creds;
    hs_error err = {0};
    temp_dir(dir, sizeof dir);
    temp_dir(other, sizeof other);
    snprintf(sub, sizeof sub, "%s/x/y", dir);
    assert_int_equal(hs_selfsigned_write(sub, "localhost", 0, &a, &err), HS_OK);
    assert_int_equal(hs_selfsigned_write(other, "10.1.2.3", 0, &b, &err),
                     HS_OK);
    assert_int_equal(strlen(a.fingerprint), 32 * 3 - 1);
    assert_string_not_equal(a.fingerprint, b.fingerprint);

    assert_int_equal(hs_tls_load(a.cert_path, a.key_path, &creds, &err), HS_OK);
    assert_int_equal(creds.n_certs, 1);
    assert_int_equal(creds.not_after, a.not_after);
    assert_true(creds.not_before < creds.not_after);
    assert_non_null(strstr(creds.cert_pem, "BEGIN CERTIFICATE"));
    assert_non_null(strstr(creds.key_pem, "BEGIN PRIVATE KEY"));
    hs_tls_free(&creds);
    assert_null(creds.key_pem);

    /* A key of another certificate, named with both files. */
    assert_int_equal(hs_tls_load(a.cert_path, b.key_path, &creds, &err),
                     HS_ERR_INVALID);
    assert_string_equal(err.field, "tls-key");
    assert_non_null(strstr(err.message, b.key_path));
    assert_non_null(strstr(err.message, a.cert_path));
    assert_null(creds.cert_pem);

    /* Without --force the pair stays as it is; with it, it is replaced. */
    hs_selfsigned again;
    assert_int_equal(hs_selfsigned_write(sub, "localhost", 0, &again, &err),
                     HS_ERR_CONFLICT);
    assert_string_equal(err.field, "force");
    assert_int_equal(hs_selfsigned_write(sub, "localhost", 1, &again, &err),
                     HS_OK);
    assert_string_not_equal(again.fingerprint, a.fingerprint);
    struct stat st;
    assert_int_equal(stat(again.key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(hs_tls_load(again.cert_path, again.key_path, &creds, &err),
                     HS_OK);
    hs_tls_free(&creds);
    tu_rm_rf(dir);
    tu_rm_rf(other);
}

static void bad_files_named(void **state)
{
    (void)state;
    char dir[64];
    hs_selfsigned a;
    hs_tls_creds creds;
    hs_error err = {0};
    temp_dir(dir, sizeof dir);
    assert_int_equal(hs_selfsigned_write(dir, "localhost", 0, &a, &err), HS_OK);
    const char *garbage = tu_write_temp("-----BEGIN CERTIFICATE-----\nAAAA\n"
                                        "-----END CERTIFICATE-----\n",
                                        (size_t)-1);
    const char *empty = tu_write_temp("", 0);
    const char *encrypted =
        tu_write_temp("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n"
                      "-----END ENCRYPTED PRIVATE KEY-----\n",
                      (size_t)-1);
    struct {
        const char *cert, *key, *field, *words;
        hs_status code;
    } cases[] = {
        {"/nonexistent/cert.pem", a.key_path, "tls-cert", "cannot read",
         HS_ERR_IO},
        {a.cert_path, "/nonexistent/key.pem", "tls-key", "cannot read",
         HS_ERR_IO},
        {garbage, a.key_path, "tls-cert", "no PEM certificate", HS_ERR_INVALID},
        {empty, a.key_path, "tls-cert", "no PEM certificate", HS_ERR_INVALID},
        {dir, a.key_path, "tls-cert", "not a regular file", HS_ERR_INVALID},
        {a.cert_path, a.cert_path, "tls-key", "no unencrypted PEM private key",
         HS_ERR_INVALID},
        {a.cert_path, encrypted, "tls-key", "it is encrypted", HS_ERR_INVALID},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(hs_tls_load(cases[i].cert, cases[i].key, &creds, &err),
                         cases[i].code);
        assert_string_equal(err.field, cases[i].field);
        assert_non_null(strstr(err.message, cases[i].words));
        assert_non_null(strstr(err.message, !strcmp(cases[i].field, "tls-cert")
                                                ? cases[i].cert
                                                : cases[i].key));
        assert_null(creds.cert_pem);
        assert_null(creds.key_pem);
    }
    unlink(garbage);
    unlink(empty);
    unlink(encrypted);
    tu_rm_rf(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_needs_both_files),
        cmocka_unit_test(loopback_hosts),
        cmocka_unit_test(certificate_host_names),
        cmocka_unit_test(trusted_proxy_lists),
        cmocka_unit_test(pair_loads_and_mismatch_refused),
        cmocka_unit_test(bad_files_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
