/* Transparent mode: the original destination of a connection (REDIRECT and
 * TPROXY), the loop it must never make, and --spoof-source.  Every socket
 * option goes through rsock's option table (IP_TRANSPARENT,
 * IPV6_TRANSPARENT, SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST). */
#include "transparent.h"
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The transparent option of a socket's family. */
static int set_transparent(rsock_t *s)
{
    bool v6 = rsock_domain(s) == AF_INET6;
    return rsock_setsockopt_int(s, v6 ? IPPROTO_IPV6 : IPPROTO_IP,
                                v6 ? IPV6_TRANSPARENT : IP_TRANSPARENT, 1);
}

int transparent_listener(rsock_t *s)
{
    return set_transparent(s);
}

/* An IPv4 address an IPv6 socket shows as ::ffff:a.b.c.d, as AF_INET: the
 * upstream socket is then of the family the address really is. */
static rsock_addr unmapped(const rsock_addr *a)
{
    uint8_t ip[16];
    int port;
    if (rsock_addr_ip(a, ip, &port) != 16 || !IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
        return *a;
    rsock_addr v4;
    rsock_addr_init(&v4, AF_INET);
    memcpy(&v4.in.sin_addr, ip + 12, 4);
    v4.in.sin_port = a->in6.sin6_port;
    return v4;
}

/* Where the client was going: a redirect's SO_ORIGINAL_DST (IPv4's for an
 * IPv4 client, also on an IPv6 listener), or a tproxy'd connection's own
 * local address (the kernel gave the socket the destination's). */
static int original_destination(const struct listener *l, rsock_t *client,
                                const rsock_addr *peer, rsock_addr *out)
{
    if (l->lc->transparent)
        return rsock_getsockname(client, out);
    rsock_addr client_addr = unmapped(peer);
    bool v4 = rsock_addr_family(&client_addr) != AF_INET6;
    return rsock_getsockopt_addr(client, v4 ? IPPROTO_IP : IPPROTO_IPV6,
                                 v4 ? SO_ORIGINAL_DST : IP6T_SO_ORIGINAL_DST, out);
}

static bool is_wildcard(const uint8_t *ip, int n)
{
    for (int i = 0; i < n; i++)
        if (ip[i])
            return false;
    return true;
}

/* An address of this host: a plain socket may bind to it. */
static bool is_local(const rsock_addr *a)
{
    rsock_t *probe;
    if (rsock_socket(rsock_addr_family(a), SOCK_STREAM, 0, &probe) < 0)
        return false;
    rsock_addr at = *a;
    if (at.sa.sa_family == AF_INET)
        at.in.sin_port = 0;
    else
        at.in6.sin6_port = 0;
    bool local = rsock_bind(probe, &at) == 0;
    rsock_close(probe);
    return local;
}

/* `dst` is the listener itself: its port, and its address (or, for a
 * wildcard listener, an address of this host).  Only a destination with
 * the listener's port pays for the probe. */
static bool is_own_listener(const struct listener *l, const rsock_addr *dst)
{
    rsock_addr here = unmapped(&l->local);
    uint8_t ip[16], own[16];
    int port, own_port;
    int n = rsock_addr_ip(dst, ip, &port), own_n = rsock_addr_ip(&here, own, &own_port);
    if (n < 0 || own_n < 0 || port != own_port)
        return false;
    if (own_n == n && !memcmp(ip, own, (size_t)n))
        return true;
    return is_wildcard(own, own_n) && is_local(dst);
}

static struct server *server_for(const struct listener *l, const rsock_addr *dst)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->addr = *dst;
    rsock_addr_format(dst, s->text, sizeof s->text);
    s->from = s->text;
    s->up = 1;
    s->refs = 1;
    s->active = 1; /* server_release's */
    /* one series per listener: destinations are as many as clients want */
    s->traffic = metrics_for(l->lc->name, "original");
    return s;
}

int original_server(const struct listener *l, rsock_t *client, const rsock_addr *peer,
                    struct server **out)
{
    char who[RSOCK_ADDRSTRLEN], to[RSOCK_ADDRSTRLEN];
    rsock_addr_format(peer, who, sizeof who);
    rsock_addr dst;
    int rc = original_destination(l, client, peer, &dst);
    if (rc < 0) {
        log_line(0, "%s: no original destination (is an nftables redirect in front?): %s: closed",
                 who, rsock_error_message());
        return rc;
    }
    dst = unmapped(&dst);
    if (is_own_listener(l, &dst)) {
        rsock_addr_format(&dst, to, sizeof to);
        log_line(0, "%s: original destination %s is listener %s itself (a loop: it came "
                    "straight here, not through a redirect or tproxy rule): closed",
                 who, to, l->lc->name);
        return -ELOOP;
    }
    if (!(*out = server_for(l, &dst))) {
        log_line(0, "%s: no memory for its original destination: closed", who);
        return -ENOMEM;
    }
    return 0;
}

int spoof_source(rsock_t *s, const rsock_addr *peer)
{
    rsock_addr from = unmapped(peer);
    if (rsock_addr_family(&from) != rsock_domain(s)) {
        char who[RSOCK_ADDRSTRLEN];
        rsock_addr_format(peer, who, sizeof who);
        log_line(0, "%s: --spoof-source: its address is not of the destination's family", who);
        return -EAFNOSUPPORT;
    }
    if (from.sa.sa_family == AF_INET)
        from.in.sin_port = 0;
    else
        from.in6.sin6_port = 0;
    int rc = set_transparent(s);
    return rc < 0 ? rc : rsock_bind(s, &from); /* a failure is said by the caller */
}
