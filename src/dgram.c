/* Datagram helpers, as io.c's are for streams: sockets from address text,
 * multicast membership by text, and receive / send / error-queue reads that
 * park the fiber until the deadline. */
#include "cmsg_internal.h"
#include "ready.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

/* A datagram socket of the family of address text `text`, and the address. */
static int open_for(const char *op, const char *text, rsock_addr *a, rsock_t **out,
                    rsock_t **caller_out)
{
    if (!text || !caller_out)
        return rsock__fail(EINVAL, "%s: NULL %s", op, text ? "out" : "address text");
    int rc = rsock_addr_parse(a, text);
    if (rc < 0)
        return rc;
    return rsock_socket(a->sa.sa_family, SOCK_DGRAM, 0, out);
}

int rsock_dgram_bind(const char *text, rsock_t **out)
{
    rsock_addr a;
    rsock_t *s;
    int rc = open_for("rsock_dgram_bind", text, &a, &s, out);
    if (rc < 0)
        return rc;
    if ((rc = rsock_bind(s, &a)) < 0) {
        rsock_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int rsock_dgram_dial(const char *text, rsock_t **out)
{
    rsock_addr a;
    rsock_t *s;
    int rc = open_for("rsock_dgram_dial", text, &a, &s, out);
    if (rc < 0)
        return rc;
    if ((rc = rsock_connect(s, &a)) < 0) { /* a datagram connect never waits */
        rsock_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* ---- multicast ---- */

/* The interface index named by `iface`: 0 for NULL or "", a number as is. */
static int iface_index(const char *op, const char *iface, unsigned *index)
{
    *index = 0;
    if (!iface || !*iface)
        return 0;
    char *end;
    unsigned long n = strtoul(iface, &end, 10);
    if (*end == 0 && iface[0] >= '0' && iface[0] <= '9' && n <= 0x7fffffffUL) {
        *index = (unsigned)n;
        return 0;
    }
    if ((*index = if_nametoindex(iface)) == 0)
        return rsock__fail(ENODEV, "%s: no interface \"%s\"", op, iface);
    return 0;
}

static int membership(const char *op, rsock_t *s, const char *group, const char *iface, bool join)
{
    if (!s || !group)
        return rsock__fail(EINVAL, "%s: NULL %s", op, s ? "group" : "socket");
    unsigned index;
    int rc = iface_index(op, iface, &index);
    if (rc < 0)
        return rc;
    struct ip_mreqn m4;
    struct ipv6_mreq m6;
    memset(&m4, 0, sizeof m4);
    memset(&m6, 0, sizeof m6);
    if (inet_pton(AF_INET, group, &m4.imr_multiaddr) == 1) {
        if (!IN_MULTICAST(ntohl(m4.imr_multiaddr.s_addr)))
            return rsock__fail(EINVAL, "%s \"%s\": not a multicast address", op, group);
        m4.imr_ifindex = (int)index;
        rc = setsockopt(s->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m4,
                        sizeof m4);
    } else if (inet_pton(AF_INET6, group, &m6.ipv6mr_multiaddr) == 1) {
        if (!IN6_IS_ADDR_MULTICAST(&m6.ipv6mr_multiaddr))
            return rsock__fail(EINVAL, "%s \"%s\": not a multicast address", op, group);
        if (s->domain != AF_INET6)
            return rsock__fail(EINVAL, "%s \"%s\": an IPv6 group on a socket of family %d", op,
                               group, s->domain);
        m6.ipv6mr_interface = index;
        rc = setsockopt(s->fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP,
                        &m6, sizeof m6);
    } else {
        return rsock__fail(EINVAL, "%s \"%s\": not an IPv4 or IPv6 address", op, group);
    }
    if (rc < 0)
        return rsock__fail_sys(errno, "%s fd %d \"%s\" on \"%s\"", op, s->fd, group,
                               iface && *iface ? iface : "(any)");
    return 0;
}

int rsock_mcast_join(rsock_t *s, const char *group, const char *iface)
{
    return membership("rsock_mcast_join", s, group, iface, true);
}

int rsock_mcast_leave(rsock_t *s, const char *group, const char *iface)
{
    return membership("rsock_mcast_leave", s, group, iface, false);
}

/* ---- waiting forms ---- */

/* Park for `dir`, naming the helper in a timeout. */
static int dgram_wait(rsock_t *s, unsigned dir, int64_t deadline, const char *op)
{
    int rc = dir == RSOCK__IN ? rsock_wait_in(s, deadline) : rsock_wait_out(s, deadline);
    if (rc == -ETIMEDOUT)
        return rsock__fail(ETIMEDOUT, "%s fd %d: timed out", op, s->fd);
    return rc;
}

/* Each form tries its call before it parks: a datagram socket's input bit
 * may have been cleared by an error-queue read while data was pending. */
ssize_t rsock_recvfrom_wait(rsock_t *s, void *buf, size_t len, rsock_addr *from,
                            int64_t deadline)
{
    for (;;) {
        ssize_t n = rsock_recvfrom(s, buf, len, 0, from);
        if (n != -EAGAIN)
            return n;
        int rc = dgram_wait(s, RSOCK__IN, deadline, "rsock_recvfrom_wait");
        if (rc < 0)
            return rc;
    }
}

ssize_t rsock_sendto_wait(rsock_t *s, const void *buf, size_t len, const rsock_addr *to,
                          int64_t deadline)
{
    for (;;) {
        ssize_t n = rsock_sendto(s, buf, len, 0, to);
        if (n != -EAGAIN)
            return n;
        int rc = dgram_wait(s, RSOCK__OUT, deadline, "rsock_sendto_wait");
        if (rc < 0)
            return rc;
    }
}

/* ---- the error queue ---- */

/* The report and the stamp of one error-queue message's control data. */
static void decode_err(const void *ctl, size_t ctllen, rsock_sockerr *e, int64_t *stamp_ns)
{
    rsock_cmsg c;
    size_t pos = 0;
    while (rsock_cmsg_next(ctl, ctllen, &pos, &c) == 1) {
        if (e && ((c.level == IPPROTO_IP && c.type == IP_RECVERR) ||
                  (c.level == IPPROTO_IPV6 && c.type == IPV6_RECVERR)))
            rsock_cmsg_get_sockerr(&c, e);
        else if (stamp_ns && c.level == SOL_SOCKET)
            rsock_cmsg_get_timestamp(&c, stamp_ns); /* other SOL_SOCKET types refused */
    }
}

ssize_t rsock_recv_err(rsock_t *s, void *buf, size_t len, rsock_sockerr *e, int64_t *stamp_ns,
                       int64_t deadline)
{
    if (!s || (!buf && len))
        return rsock__fail(EINVAL, "rsock_recv_err: NULL %s", s ? "buffer" : "socket");
    /* normal data may be pending: keep its bit */
    unsigned had_input = rsock__ready_has(s, RSOCK__IN) ? RSOCK__IN : 0;
    for (;;) {
        union {
            char buf[512];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {buf, len};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                             .msg_controllen = sizeof ctl.buf};
        ssize_t n = recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_CMSG_CLOEXEC);
        if (n >= 0) {
            if (e)
                memset(e, 0, sizeof *e);
            if (stamp_ns)
                *stamp_ns = 0;
            decode_err(ctl.buf, msg.msg_controllen, e, stamp_ns);
            rsock__ready_set(s, had_input);
            return n;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            rsock__ready_set(s, had_input);
            return rsock__fail_sys(errno, "rsock_recv_err fd %d", s->fd);
        }
        rsock__ready_clear(s, RSOCK__IN); /* an error report brings an edge of its own */
        int rc = dgram_wait(s, RSOCK__IN, deadline, "rsock_recv_err");
        if (rc == -ECANCELED) /* the device may be gone: touch nothing */
            return rc;
        if (rc < 0) {
            rsock__ready_set(s, had_input);
            return rc;
        }
    }
}
