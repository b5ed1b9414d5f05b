/* base/client_key.c - a client's counting key (see client_key.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/client_key.h"

static const uint8_t V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static void from_v4(const void *addr4, hs_client_key *out)
{
    memcpy(out->bytes, V4_MAPPED, sizeof V4_MAPPED);
    memcpy(out->bytes + 12, addr4, 4);
}

/* An IPv6 address by its /64, unless it maps an IPv4 one. */
static void from_v6(const uint8_t v6[16], hs_client_key *out)
{
    memcpy(out->bytes, v6, 16);
    if (memcmp(v6, V4_MAPPED, sizeof V4_MAPPED) != 0)
        memset(out->bytes + 8, 0, 8);
}

int hs_client_key_from_sockaddr(const struct sockaddr *sa, hs_client_key *out)
{
    memset(out, 0, sizeof *out);
    if (sa && sa->sa_family == AF_INET) {
        from_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, out);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const void *)sa;
        from_v6(v6->sin6_addr.s6_addr, out);
        return 0;
    }
    return -1;
}

int hs_ip_from_sockaddr(const struct sockaddr *sa, uint8_t out[16])
{
    memset(out, 0, 16);
    if (sa && sa->sa_family == AF_INET) {
        memcpy(out, V4_MAPPED, sizeof V4_MAPPED);
        memcpy(out + 12,
               &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
        return 0;
    }
    if (sa && sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const void *)sa;
        memcpy(out, v6->sin6_addr.s6_addr, 16);
        return 0;
    }
    return -1;
}

int hs_ip_from_text(const char *text, uint8_t out[16])
{
    uint8_t v4[4];
    if (!text)
        return -1;
    if (inet_pton(AF_INET6, text, out) == 1)
        return 0;
    if (inet_pton(AF_INET, text, v4) != 1)
        return -1;
    memcpy(out, V4_MAPPED, sizeof V4_MAPPED);
    memcpy(out + 12, v4, 4);
    return 0;
}

int hs_client_key_from_text(const char *addr, hs_client_key *out)
{
    uint8_t buf[16];
    memset(out, 0, sizeof *out);
    if (hs_ip_from_text(addr, buf) != 0)
        return -1;
    from_v6(buf, out); /* keeps a mapped IPv4 address whole */
    return 0;
}

void hs_client_key_format(const hs_client_key *k, char *out, size_t cap)
{
    char text[INET6_ADDRSTRLEN] = "?";
    if (!memcmp(k->bytes, V4_MAPPED, sizeof V4_MAPPED)) {
        inet_ntop(AF_INET, k->bytes + 12, text, sizeof text);
        snprintf(out, cap, "%s", text);
        return;
    }
    inet_ntop(AF_INET6, k->bytes, text, sizeof text);
    snprintf(out, cap, "%s/64", text);
}

uint64_t hs_client_key_hash(const hs_client_key *k)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof k->bytes; i++)
        h = (h ^ k->bytes[i]) * 1099511628211ull;
    return h;
}

int hs_host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!strcasecmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &v6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6) ||
               (IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127);
    return 0;
}
