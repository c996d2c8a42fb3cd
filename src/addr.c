/* Socket addresses: build from parts, check, take apart.
 * Text is read in addr_parse.c (grammar) and addr_inet.c (IP text), and
 * written in addr_format.c. */
#include "addr_priv.h"

#include <errno.h>
#include <string.h>

#define SUN_PATH_OFFSET offsetof(struct sockaddr_un, sun_path)

void rsock__set_in(rsock_addr *a, const struct in_addr *ip, int port)
{
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons((uint16_t)port);
    a->in.sin_addr = *ip;
    a->len = sizeof a->in;
}

void rsock__set_in6(rsock_addr *a, const struct in6_addr *ip, int port, uint32_t scope)
{
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = htons((uint16_t)port);
    a->in6.sin6_addr = *ip;
    a->in6.sin6_scope_id = scope;
    a->len = sizeof a->in6;
}

/* A pathname's length counts its NUL, as the kernel's getsockname does;
 * an abstract name's length counts no padding. */
int rsock__set_un(rsock_addr *a, const char *path, bool abstract_ok, const char **why)
{
    bool abstract = abstract_ok && path[0] == '@';
    const char *name = abstract ? path + 1 : path;
    size_t n = strlen(name);
    if (n == 0 && !abstract) {
        *why = "empty Unix path";
        return -EINVAL;
    }
    if (n >= (size_t)UNIX_MAX_PATH) {
        *why = abstract ? "abstract name too long" : "Unix path too long";
        return -ENAMETOOLONG;
    }
    a->un.sun_family = AF_UNIX;
    memcpy(a->un.sun_path + abstract, name, n);
    a->len = (socklen_t)(SUN_PATH_OFFSET + n + 1);
    return 0;
}

int rsock_addr_init(rsock_addr *a, int family)
{
    if (!a)
        return rsock__fail(EINVAL, "rsock_addr_init: NULL address");
    socklen_t len;
    switch (family) {
    case AF_INET: len = sizeof a->in; break;
    case AF_INET6: len = sizeof a->in6; break;
    case AF_UNIX: len = sizeof a->un; break;
    case AF_NETLINK: len = sizeof a->nl; break;
    case AF_PACKET: len = sizeof a->ll; break;
    default: return rsock__fail(EAFNOSUPPORT, "rsock_addr_init %d: unknown address family", family);
    }
    memset(a, 0, sizeof *a);
    a->sa.sa_family = (sa_family_t)family;
    a->len = len;
    return 0;
}

static int port_check(const char *op, const char *host, int port)
{
    if (port < 0 || port > 65535)
        return rsock__fail(EINVAL, "%s \"%.*s\" %d: bad port", op, RSOCK__TEXT_SHOWN, host, port);
    return 0;
}

int rsock_addr_in(rsock_addr *a, const char *host, int port)
{
    if (!a || !host)
        return rsock__fail(EINVAL, "rsock_addr_in: NULL %s", a ? "host" : "address");
    struct in_addr ip;
    if (!rsock__ipv4_from_text(host, strlen(host), &ip))
        return rsock__fail(EINVAL, "rsock_addr_in \"%.*s\" %d: bad IPv4 address",
                           RSOCK__TEXT_SHOWN, host, port);
    int rc = port_check("rsock_addr_in", host, port);
    if (rc < 0)
        return rc;
    memset(a, 0, sizeof *a);
    rsock__set_in(a, &ip, port);
    return 0;
}

int rsock_addr_in6(rsock_addr *a, const char *host, int port)
{
    if (!a || !host)
        return rsock__fail(EINVAL, "rsock_addr_in6: NULL %s", a ? "host" : "address");
    int rc = port_check("rsock_addr_in6", host, port);
    if (rc < 0)
        return rc;
    rsock_addr tmp;
    memset(&tmp, 0, sizeof tmp);
    const char *why = "";
    rc = rsock__in6_from_text(&tmp, host, strlen(host), port, &why);
    if (rc < 0)
        return rsock__fail(-rc, "rsock_addr_in6 \"%.*s\" %d: %s", RSOCK__TEXT_SHOWN, host, port,
                           why);
    *a = tmp;
    return 0;
}

int rsock_addr_un(rsock_addr *a, const char *path)
{
    if (!a || !path)
        return rsock__fail(EINVAL, "rsock_addr_un: NULL %s", a ? "path" : "address");
    rsock_addr tmp;
    memset(&tmp, 0, sizeof tmp);
    const char *why = "";
    int rc = rsock__set_un(&tmp, path, true, &why);
    if (rc == -ENAMETOOLONG)
        return rsock__fail(ENAMETOOLONG, "rsock_addr_un \"%.*s\": %s (%zu bytes, at most %d)",
                           RSOCK__TEXT_SHOWN, path, why, strlen(path) - (path[0] == '@'),
                           UNIX_MAX_PATH - 1);
    if (rc < 0)
        return rsock__fail(-rc, "rsock_addr_un \"%.*s\": %s", RSOCK__TEXT_SHOWN, path, why);
    *a = tmp;
    return 0;
}

/* The shortest length each family's address can have. */
static bool len_fits(int family, socklen_t len)
{
    switch (family) {
    case AF_INET: return len >= sizeof(struct sockaddr_in);
    case AF_INET6: return len >= sizeof(struct sockaddr_in6);
    /* The kernel names a path that fills sun_path with one byte more: the
     * NUL it adds after it. */
    case AF_UNIX: return len >= SUN_PATH_OFFSET && len <= sizeof(struct sockaddr_un) + 1;
    case AF_NETLINK: return len >= sizeof(struct sockaddr_nl);
    case AF_PACKET: return len >= offsetof(struct sockaddr_ll, sll_addr);
    default: return false;
    }
}

/* What the length alone cannot say: an AF_PACKET hardware address no
 * longer than the bytes the length leaves for it; the kernel's one byte
 * past sun_path only as the NUL after a path that fills it. */
static bool fields_fit(const rsock_addr *a)
{
    if (a->sa.sa_family == AF_PACKET)
        return a->ll.sll_halen <= a->len - RSOCK__LL_ADDR_OFF;
    if (a->sa.sa_family == AF_UNIX && a->len > sizeof(struct sockaddr_un))
        return a->un.sun_path[0] != '\0' && ((const char *)&a->ss)[a->len - 1] == '\0';
    return true;
}

bool rsock_addr_valid(const rsock_addr *a)
{
    return a && a->len <= sizeof a->ss && len_fits(a->sa.sa_family, a->len) && fields_fit(a);
}

/* A pathname ends at its first NUL or at the length; an abstract name is
 * every byte of the length; the unnamed address has none. */
static bool same_un(const rsock_addr *a, const rsock_addr *b)
{
    size_t na = a->len - SUN_PATH_OFFSET, nb = b->len - SUN_PATH_OFFSET;
    const char *pa = a->un.sun_path, *pb = b->un.sun_path;
    if (na == 0 || nb == 0 || pa[0] == '\0' || pb[0] == '\0')
        return na == nb && memcmp(pa, pb, na) == 0;
    na = strnlen(pa, na);
    return na == strnlen(pb, nb) && memcmp(pa, pb, na) == 0;
}

static bool same_ll(const rsock_addr *a, const rsock_addr *b)
{
    const struct sockaddr_ll *x = &a->ll, *y = &b->ll;
    return x->sll_protocol == y->sll_protocol && x->sll_ifindex == y->sll_ifindex &&
           x->sll_hatype == y->sll_hatype && x->sll_pkttype == y->sll_pkttype &&
           x->sll_halen == y->sll_halen &&
           memcmp((const char *)&a->ss + RSOCK__LL_ADDR_OFF,
                  (const char *)&b->ss + RSOCK__LL_ADDR_OFF, x->sll_halen) == 0;
}

bool rsock__addr_same(const rsock_addr *a, const rsock_addr *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return false;
    switch (a->sa.sa_family) {
    case AF_INET:
        return a->in.sin_port == b->in.sin_port && a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    case AF_INET6:
        return a->in6.sin6_port == b->in6.sin6_port &&
               a->in6.sin6_flowinfo == b->in6.sin6_flowinfo &&
               a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
               memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof a->in6.sin6_addr) == 0;
    case AF_UNIX: return same_un(a, b);
    case AF_NETLINK:
        return a->nl.nl_pid == b->nl.nl_pid && a->nl.nl_groups == b->nl.nl_groups;
    case AF_PACKET: return same_ll(a, b);
    default: return false;
    }
}

int rsock_addr_family(const rsock_addr *a)
{
    if (!a)
        return rsock__fail(EINVAL, "rsock_addr_family: NULL address");
    return a->sa.sa_family;
}

int rsock_addr_ip(const rsock_addr *a, uint8_t ip[16], int *port)
{
    if (!a)
        return rsock__fail(EINVAL, "rsock_addr_ip: NULL address");
    int family = a->sa.sa_family;
    if ((family != AF_INET && family != AF_INET6) || !rsock_addr_valid(a)) {
        char text[RSOCK_ADDRSTRLEN];
        return rsock__fail(EAFNOSUPPORT, "rsock_addr_ip %s: not an IP address (family %d)",
                           rsock__addr_str(a, text), family);
    }
    bool v4 = family == AF_INET;
    if (ip)
        memcpy(ip, v4 ? (const void *)&a->in.sin_addr : (const void *)&a->in6.sin6_addr,
               v4 ? 4 : 16);
    if (port)
        *port = ntohs(v4 ? a->in.sin_port : a->in6.sin6_port);
    return v4 ? 4 : 16;
}

const char *rsock_addr_path(const rsock_addr *a)
{
    if (!a || a->sa.sa_family != AF_UNIX || !rsock_addr_valid(a))
        return NULL;
    size_t room = a->len - SUN_PATH_OFFSET;
    if (room == 0 || a->un.sun_path[0] == '\0')
        return NULL; /* unnamed or abstract */
    size_t n = strnlen(a->un.sun_path, room);
    /* Terminated within the length, or just after it: a path that fills
     * sun_path ends inside the storage the union gives it. */
    if (n < room || ((const char *)&a->ss)[SUN_PATH_OFFSET + n] == '\0')
        return a->un.sun_path;
    return NULL;
}
