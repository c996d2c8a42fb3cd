/* UDP GSO and GRO: one system call carries up to 64 datagrams of a segment
 * size (UDP_SEGMENT), and one receive may return several coalesced ones
 * (UDP_GRO) with their segment size.  Where the kernel refuses GSO, the
 * segments go out through sendmmsg instead: more calls, the same datagrams. */
#include "internal.h"
#include "ready.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>

#define MAX_SEGMENTS 64      /* UDP_MAX_SEGMENTS of every kernel since 4.18 */
#define MAX_GSO_BYTES 65000  /* one GSO send must fit an IP packet's 16-bit length */
#define MAX_UDP_PAYLOAD 65507

/* UDP-Lite counts: the kernel refuses it GSO (-EIO), and the fallback runs. */
static bool is_udp(const rsock_t *s)
{
    return (s->domain == AF_INET || s->domain == AF_INET6) && s->type == SOCK_DGRAM &&
           (s->protocol == 0 || s->protocol == IPPROTO_UDP || s->protocol == IPPROTO_UDPLITE);
}

/* The kernel said no to GSO itself (not to the arguments). */
static bool gso_refused(int err) { return err == EIO || err == EOPNOTSUPP || err == ENOPROTOOPT; }

/* One sendmsg of `len` bytes as segments of `seg`: bytes sent or -errno
 * (no message recorded: the caller decides what the error means). */
static ssize_t gso_once(rsock_t *s, const rsock_addr *to, const char *buf, size_t len,
                        uint16_t seg)
{
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.align.cmsg_level = SOL_UDP;
    ctl.align.cmsg_type = UDP_SEGMENT;
    ctl.align.cmsg_len = CMSG_LEN(sizeof seg);
    memcpy(CMSG_DATA(&ctl.align), &seg, sizeof seg);
    struct iovec iov = {(void *)buf, len};
    struct msghdr msg = {.msg_name = to ? (void *)&to->sa : NULL, .msg_namelen = to ? to->len : 0,
                         .msg_iov = &iov, .msg_iovlen = 1};
    if (len > seg) { /* a single datagram needs no GSO */
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
    }
    ssize_t n;
    do
        n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

/* The fallback: the segments as a batch of datagrams.  Bytes sent, or
 * -errno when none could be. */
static ssize_t segments(rsock_t *s, const rsock_addr *to, const char *buf, size_t len, size_t seg)
{
    rsock_mmsg m[MAX_SEGMENTS];
    struct iovec iov[MAX_SEGMENTS];
    size_t done = 0;
    while (done < len) {
        size_t n = 0;
        for (size_t at = done; at < len && n < MAX_SEGMENTS; at += seg, n++) {
            iov[n] = (struct iovec){(void *)(buf + at), len - at < seg ? len - at : seg};
            m[n] = (rsock_mmsg){.addr = (rsock_addr *)to, .iov = &iov[n], .iovcnt = 1};
        }
        int sent = rsock_sendmmsg(s, m, n, 0);
        if (sent < 0)
            return done ? (ssize_t)done : sent;
        for (int i = 0; i < sent; i++)
            done += m[i].len;
        if ((size_t)sent < n)
            break;
    }
    return (ssize_t)done;
}

static int check_gso(rsock_t *s, const rsock_addr *to, const void *buf, size_t len, size_t seg,
                     int flags)
{
    if (!s)
        return rsock__fail(EINVAL, "rsock_send_gso: NULL socket");
    if (!(s->open & RSOCK__OUT))
        return rsock__fail(EBADF, "rsock_send_gso fd %d: output is shut down or not open", s->fd);
    if (!buf && len)
        return rsock__fail(EINVAL, "rsock_send_gso fd %d: NULL buffer", s->fd);
    if (seg == 0 || seg > MAX_UDP_PAYLOAD)
        return rsock__fail(EINVAL, "rsock_send_gso fd %d: segment size %zu not in 1..%d", s->fd,
                           seg, MAX_UDP_PAYLOAD);
    if (flags & ~RSOCK_GSO_STRICT)
        return rsock__fail(EINVAL, "rsock_send_gso fd %d: unknown flags 0x%x", s->fd, flags);
    if (to && !rsock_addr_valid(to))
        return rsock__fail(EINVAL, "rsock_send_gso fd %d: invalid address", s->fd);
    return 0;
}

ssize_t rsock_send_gso(rsock_t *s, const rsock_addr *to, const void *buf, size_t len, size_t seg,
                       int flags)
{
    int rc = check_gso(s, to, buf, len, seg, flags);
    if (rc < 0)
        return rc;
    bool strict = flags & RSOCK_GSO_STRICT;
    if (!is_udp(s)) {
        if (strict)
            return rsock__fail(EOPNOTSUPP, "rsock_send_gso fd %d: GSO is for UDP sockets only",
                               s->fd);
        return segments(s, to, buf, len, seg);
    }
    size_t per = MAX_GSO_BYTES / seg;
    per = (per < 1 ? 1 : per > MAX_SEGMENTS ? MAX_SEGMENTS : per) * seg;
    size_t done = 0;
    while (done < len) {
        size_t chunk = len - done < per ? len - done : per;
        ssize_t n = gso_once(s, to, (const char *)buf + done, chunk, (uint16_t)seg);
        if (n >= 0) {
            done += (size_t)n;
            continue;
        }
        if (n == -EAGAIN) {
            rsock__ready_clear(s, RSOCK__OUT);
            return done ? (ssize_t)done : -EAGAIN;
        }
        if (gso_refused((int)-n) && !strict) {
            ssize_t more = segments(s, to, (const char *)buf + done, len - done, seg);
            return more < 0 ? (done ? (ssize_t)done : more) : (ssize_t)(done + (size_t)more);
        }
        if (done)
            return (ssize_t)done;
        if (n == -EINVAL || n == -EMSGSIZE) /* which one depends on the kernel */
            return rsock__fail((int)-n,
                               "rsock_send_gso fd %d: segment size %zu refused: over the path "
                               "MTU (or checksums off with SO_NO_CHECK)",
                               s->fd, seg);
        return rsock__fail_sys((int)-n, "rsock_send_gso fd %d: %zu bytes in segments of %zu%s",
                               s->fd, len, seg, gso_refused((int)-n) ? " (GSO refused)" : "");
    }
    return (ssize_t)done;
}

ssize_t rsock_recv_gro(rsock_t *s, void *buf, size_t len, size_t *seg, rsock_addr *from)
{
    if (!seg)
        return rsock__fail(EINVAL, "rsock_recv_gro: NULL seg");
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl;
    size_t ctllen = sizeof ctl.buf;
    struct iovec iov = {buf, len};
    ssize_t n = rsock_recvmsg(s, from, &iov, 1, ctl.buf, &ctllen, 0, NULL);
    if (n < 0)
        return n;
    *seg = (size_t)n;
    rsock_cmsg c;
    size_t pos = 0;
    int64_t v;
    while (rsock_cmsg_next(ctl.buf, ctllen, &pos, &c) == 1)
        if (c.level == SOL_UDP && c.type == UDP_GRO && rsock_cmsg_get_int(&c, &v) == 0 && v > 0)
            *seg = (size_t)v;
    return n;
}
