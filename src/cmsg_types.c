/* Typed control data: encoders on rsock_cmsg_add, decoders on the messages
 * rsock_cmsg_next finds.  Decoders copy data out with memcpy (it may be
 * unaligned) and check its size first: they run on what a peer sent. */
#include "cmsg_internal.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <unistd.h>

#ifndef SCM_MAX_FD
#define SCM_MAX_FD 253 /* the kernel's limit of descriptors per message */
#endif

/* ---- SCM_RIGHTS ---- */

int rsock_cmsg_add_fds(void *ctl, size_t cap, size_t *ctllen, const int *fds, size_t n)
{
    if (!fds || n == 0 || n > SCM_MAX_FD)
        return rsock__fail(EINVAL, "rsock_cmsg_add_fds: %s", !fds ? "NULL fds"
                                                             : "1 to 253 descriptors a message");
    return rsock_cmsg_add(ctl, cap, ctllen, SOL_SOCKET, SCM_RIGHTS, fds, n * sizeof *fds);
}

/* How many descriptors `c` carries, or -EINVAL. */
static int fd_count(const char *op, const rsock_cmsg *c)
{
    int rc = rsock__cmsg_expect(op, c, SOL_SOCKET, SCM_RIGHTS);
    if (rc < 0)
        return rc;
    if (c->len % sizeof(int) || c->len / sizeof(int) > SCM_MAX_FD)
        return rsock__fail(EINVAL, "%s: %zu bytes of data, not a whole number of descriptors",
                           op, c->len);
    return (int)(c->len / sizeof(int));
}

int rsock_cmsg_get_fds(const rsock_cmsg *c, int *fds, size_t max)
{
    int n = fd_count("rsock_cmsg_get_fds", c);
    if (n < 0)
        return n;
    if (!fds && max)
        return rsock__fail(EINVAL, "rsock_cmsg_get_fds: NULL fds with max %zu", max);
    for (size_t i = 0; i < (size_t)n; i++) {
        int fd;
        memcpy(&fd, (const char *)c->data + i * sizeof fd, sizeof fd);
        if (i < max)
            fds[i] = fd;
        else if (fd >= 0) /* no room: closed, never leaked */
            close(fd);
    }
    return n;
}

int rsock_cmsg_close_fds(const void *ctl, size_t ctllen)
{
    rsock_cmsg c;
    size_t pos = 0;
    int rc;
    while ((rc = rsock_cmsg_next(ctl, ctllen, &pos, &c)) == 1) /* the whole buffer first */
        if (c.level == SOL_SOCKET && c.type == SCM_RIGHTS &&
            (rc = fd_count("rsock_cmsg_close_fds", &c)) < 0)
            return rc;
    if (rc < 0)
        return rc;
    int closed = 0;
    for (pos = 0; rsock_cmsg_next(ctl, ctllen, &pos, &c) == 1;)
        if (c.level == SOL_SOCKET && c.type == SCM_RIGHTS)
            closed += rsock_cmsg_get_fds(&c, NULL, 0);
    return closed;
}

/* ---- SCM_CREDENTIALS ---- */

int rsock_cmsg_add_creds(void *ctl, size_t cap, size_t *ctllen, const struct ucred *cred)
{
    struct ucred own = {.pid = getpid(), .uid = getuid(), .gid = getgid()};
    return rsock_cmsg_add(ctl, cap, ctllen, SOL_SOCKET, SCM_CREDENTIALS, cred ? cred : &own,
                          sizeof own);
}

int rsock_cmsg_get_creds(const rsock_cmsg *c, struct ucred *out)
{
    const char *op = "rsock_cmsg_get_creds";
    int rc = rsock__cmsg_expect(op, c, SOL_SOCKET, SCM_CREDENTIALS);
    if (rc < 0 || (rc = rsock__cmsg_size(op, c, sizeof *out)) < 0)
        return rc;
    if (!out)
        return rsock__fail(EINVAL, "%s: NULL out", op);
    memcpy(out, c->data, sizeof *out);
    return 0;
}

/* ---- IP_PKTINFO / IPV6_PKTINFO ---- */

int rsock_cmsg_add_pktinfo(void *ctl, size_t cap, size_t *ctllen, const rsock_pktinfo *p)
{
    if (!p || p->ifindex > (unsigned)INT32_MAX)
        return rsock__fail(EINVAL, "rsock_cmsg_add_pktinfo: %s",
                           p ? "interface index out of range" : "NULL pktinfo");
    if (p->addr.sa.sa_family == AF_INET) {
        struct in_pktinfo pi = {.ipi_ifindex = (int)p->ifindex,
                                .ipi_spec_dst = p->addr.in.sin_addr};
        return rsock_cmsg_add(ctl, cap, ctllen, IPPROTO_IP, IP_PKTINFO, &pi, sizeof pi);
    }
    if (p->addr.sa.sa_family == AF_INET6) {
        struct in6_pktinfo pi = {.ipi6_addr = p->addr.in6.sin6_addr, .ipi6_ifindex = p->ifindex};
        return rsock_cmsg_add(ctl, cap, ctllen, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof pi);
    }
    return rsock__fail(EINVAL, "rsock_cmsg_add_pktinfo: address family %d is not AF_INET or "
                               "AF_INET6",
                       p->addr.sa.sa_family);
}

int rsock_cmsg_get_pktinfo(const rsock_cmsg *c, rsock_pktinfo *out)
{
    const char *op = "rsock_cmsg_get_pktinfo";
    bool v6 = c && c->level == IPPROTO_IPV6;
    int rc = v6 ? rsock__cmsg_expect(op, c, IPPROTO_IPV6, IPV6_PKTINFO)
                : rsock__cmsg_expect(op, c, IPPROTO_IP, IP_PKTINFO);
    if (rc < 0 ||
        (rc = rsock__cmsg_size(op, c, v6 ? sizeof(struct in6_pktinfo)
                                         : sizeof(struct in_pktinfo))) < 0)
        return rc;
    if (!out)
        return rsock__fail(EINVAL, "%s: NULL out", op);
    if (v6) {
        struct in6_pktinfo pi;
        memcpy(&pi, c->data, sizeof pi);
        rsock_addr_init(&out->addr, AF_INET6);
        out->addr.in6.sin6_addr = pi.ipi6_addr;
        if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&pi.ipi6_addr))
            out->addr.in6.sin6_scope_id = pi.ipi6_ifindex; /* meaningless without it */
        out->ifindex = pi.ipi6_ifindex;
    } else {
        struct in_pktinfo pi;
        memcpy(&pi, c->data, sizeof pi);
        rsock_addr_init(&out->addr, AF_INET);
        out->addr.in.sin_addr = pi.ipi_addr; /* the header's destination */
        out->ifindex = (unsigned)pi.ipi_ifindex;
    }
    return 0;
}

/* ---- integers ---- */

/* The integer messages: their level and type, their width as received, the
 * range an encoder accepts (min > max: received only). */
typedef struct {
    int level, type;
    const char *name;
    unsigned char width, alt_width; /* alt: another width the kernel uses */
    bool is_unsigned;
    int min, max;
} int_kind;

static const int_kind int_kinds[] = {
    {IPPROTO_IP, IP_TTL, "IP_TTL", 4, 0, false, 1, 255},
    {IPPROTO_IP, IP_TOS, "IP_TOS", 1, 4, false, 0, 255}, /* received as a byte */
    {IPPROTO_IPV6, IPV6_HOPLIMIT, "IPV6_HOPLIMIT", 4, 0, false, -1, 255},
    {IPPROTO_IPV6, IPV6_TCLASS, "IPV6_TCLASS", 4, 0, false, -1, 255},
    {SOL_SOCKET, SO_RXQ_OVFL, "SO_RXQ_OVFL", 4, 0, true, 1, 0},
    {SOL_UDP, UDP_SEGMENT, "UDP_SEGMENT", 2, 0, true, 0, 65535},
    {SOL_UDP, UDP_GRO, "UDP_GRO", 4, 0, false, 1, 0},
};

static const int_kind *find_int(const char *op, int level, int type)
{
    for (size_t i = 0; i < sizeof int_kinds / sizeof int_kinds[0]; i++)
        if (int_kinds[i].level == level && int_kinds[i].type == type)
            return &int_kinds[i];
    rsock__fail(EINVAL, "%s: level %d type %d is not an integer control message", op, level,
                type);
    return NULL;
}

int rsock_cmsg_add_int(void *ctl, size_t cap, size_t *ctllen, int level, int type, int value)
{
    const char *op = "rsock_cmsg_add_int";
    const int_kind *k = find_int(op, level, type);
    if (!k)
        return -EINVAL;
    if (k->min > k->max)
        return rsock__fail(EINVAL, "%s: %s is received, never sent", op, k->name);
    if (value < k->min || value > k->max)
        return rsock__fail(EINVAL, "%s: %s %d out of range %d..%d", op, k->name, value, k->min,
                           k->max);
    if (k->width == 2) {
        uint16_t v = (uint16_t)value;
        return rsock_cmsg_add(ctl, cap, ctllen, level, type, &v, sizeof v);
    }
    return rsock_cmsg_add(ctl, cap, ctllen, level, type, &value, sizeof value); /* int */
}

int rsock_cmsg_get_int(const rsock_cmsg *c, int64_t *out)
{
    const char *op = "rsock_cmsg_get_int";
    if (!c || !out)
        return rsock__fail(EINVAL, "%s: NULL %s", op, c ? "out" : "message");
    const int_kind *k = find_int(op, c->level, c->type);
    if (!k)
        return -EINVAL;
    if (!c->data || (c->len != k->width && (!k->alt_width || c->len != k->alt_width)))
        return rsock__fail(EINVAL, "%s: %s with %zu bytes of data, not %u", op, k->name, c->len,
                           k->width);
    if (c->len == 1) {
        *out = *(const uint8_t *)c->data;
    } else if (c->len == 2) {
        uint16_t v;
        memcpy(&v, c->data, sizeof v);
        *out = v;
    } else {
        uint32_t v;
        memcpy(&v, c->data, sizeof v);
        *out = k->is_unsigned ? (int64_t)v : (int64_t)(int32_t)v;
    }
    return 0;
}
