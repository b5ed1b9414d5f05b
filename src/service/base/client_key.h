/* base/client_key.h - the key a client's address is counted under.
 *
 * Limits per client (login attempts in domain/throttle.c, open connections
 * in http/conn_guard.c) count a client by its address, and both must agree
 * on what "one client" is: an IPv4 address is itself, an IPv6 address
 * counts by its /64 (one site or device is given a /64 and chooses freely
 * within it, so counting /128s would give it 2^64 budgets), and an
 * IPv4-mapped IPv6 address (::ffff:192.0.2.7, from a dual-stack socket) is
 * the IPv4 address it maps. The key is 16 bytes, comparable with memcmp and
 * hashable, so the counters need no text.
 *
 * Deliberately absent: trusted proxies (X-Forwarded-For); behind a proxy
 * every client has the proxy's address (docs/security.md says what to set).
 */
#ifndef HEALER_HS_CLIENT_KEY_H
#define HEALER_HS_CLIENT_KEY_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

typedef struct hs_client_key {
    uint8_t bytes[16]; /* IPv4 as ::ffff:a.b.c.d; IPv6 /64 then zeros */
} hs_client_key;

/* An IPv4 or IPv6 address as text to its 16 bytes, an IPv4 address as
 * ::ffff:a.b.c.d (exact: no /64 here; trusted proxies are single
 * addresses); 0 on success, -1 when the text is not an address (NULL
 * included). */
int hs_ip_from_text(const char *text, uint8_t out[16]);

/* A peer's socket address (AF_INET or AF_INET6) as its exact 16 bytes,
 * as hs_ip_from_text gives them (IPv4 as ::ffff:a.b.c.d); 0 on success,
 * -1 for another family or NULL (then out is all zeros). */
int hs_ip_from_sockaddr(const struct sockaddr *sa, uint8_t out[16]);

/* The key of a peer's socket address (AF_INET or AF_INET6); 0 on success,
 * -1 for another family or NULL (then *out is all zeros). */
int hs_client_key_from_sockaddr(const struct sockaddr *sa, hs_client_key *out);

/* The key of an address as text ("192.0.2.7", "2001:db8::1"); -1 when the
 * text is not an address (then *out is all zeros). */
int hs_client_key_from_text(const char *addr, hs_client_key *out);

/* The key as text for logs and messages: "192.0.2.7" or
 * "2001:db8:1:2::/64" (cap >= 64 is always enough). */
void hs_client_key_format(const hs_client_key *k, char *out, size_t cap);

/* A 64-bit hash of the key (FNV-1a), for hash tables. */
uint64_t hs_client_key_hash(const hs_client_key *k);

/* 1 when `host` (a listen address's host part: an IP literal or
 * "localhost") is a loopback address - 127.0.0.0/8, ::1, an IPv4-mapped
 * 127.x address, localhost - so that plain HTTP (or SMTP) there never leaves
 * the machine; 0 for anything else, the wildcard addresses included. */
int hs_host_is_loopback(const char *host);

#endif
