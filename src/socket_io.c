/* Socket devices: sending and receiving.  These are the hot paths: one
 * syscall, no allocation, and no message for -EAGAIN (it is not a failure). */
#include "internal.h"
#include "ready.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

/* The direction is open on the device, or -EBADF with a message. */
static int check_dir_open(const char *op, rsock_t *s, unsigned dir)
{
    int rc = rsock__check_dev(op, s);
    if (rc < 0)
        return rc;
    if (!(s->open & dir))
        return rsock__fail(EBADF, "%s fd %d: %s", op, s->fd,
                           dir == RSOCK__OUT ? "output is shut down or not open"
                                             : "input is shut down");
    return 0;
}

/* Map a syscall result; -EAGAIN clears the direction's ready bit. */
static ssize_t io_result(const char *op, rsock_t *s, unsigned dir, ssize_t n)
{
    if (n >= 0)
        return n;
    if (errno == EAGAIN) {
        rsock__ready_clear(s, dir);
        return -EAGAIN;
    }
    return rsock__fail_sys(errno, "%s fd %d", op, s->fd);
}

ssize_t rsock_sendto(rsock_t *s, const void *buf, size_t len, int flags, const rsock_addr *to)
{
    int rc = check_dir_open("rsock_send", s, RSOCK__OUT);
    if (rc < 0)
        return rc;
    if (!buf && len)
        return rsock__fail(EINVAL, "rsock_send fd %d: NULL buffer", s->fd);
    if (to && !rsock_addr_valid(to))
        return rsock__fail(EINVAL, "rsock_sendto fd %d: invalid address", s->fd);
    ssize_t n;
    do
        n = sendto(s->fd, buf, len, flags | MSG_NOSIGNAL, to ? &to->sa : NULL, to ? to->len : 0);
    while (n < 0 && errno == EINTR);
    return io_result(to ? "rsock_sendto" : "rsock_send", s, RSOCK__OUT, n);
}

ssize_t rsock_send(rsock_t *s, const void *buf, size_t len, int flags)
{
    return rsock_sendto(s, buf, len, flags, NULL);
}

ssize_t rsock_recvfrom(rsock_t *s, void *buf, size_t len, int flags, rsock_addr *from)
{
    int rc = check_dir_open("rsock_recv", s, RSOCK__IN);
    if (rc < 0)
        return rc;
    if (!buf && len)
        return rsock__fail(EINVAL, "rsock_recv fd %d: NULL buffer", s->fd);
    socklen_t alen = from ? sizeof from->ss : 0;
    ssize_t n;
    do
        n = recvfrom(s->fd, buf, len, flags, from ? &from->sa : NULL, from ? &alen : NULL);
    while (n < 0 && errno == EINTR);
    if (from && n >= 0)
        from->len = alen;
    return io_result(from ? "rsock_recvfrom" : "rsock_recv", s, RSOCK__IN, n);
}

ssize_t rsock_recv(rsock_t *s, void *buf, size_t len, int flags)
{
    return rsock_recvfrom(s, buf, len, flags, NULL);
}

/* The checks rsock_sendmsg and rsock_recvmsg share. */
static int check_msg(const char *op, rsock_t *s, const struct iovec *iov, size_t iovcnt,
                     const void *ctl, size_t ctllen)
{
    if (iovcnt > IOV_MAX)
        return rsock__fail(EINVAL, "%s fd %d: %zu buffers, more than IOV_MAX (%d)", op, s->fd,
                           iovcnt, IOV_MAX);
    if (!iov && iovcnt)
        return rsock__fail(EINVAL, "%s fd %d: NULL iov with %zu buffers", op, s->fd, iovcnt);
    if (!ctl && ctllen)
        return rsock__fail(EINVAL, "%s fd %d: NULL control buffer of %zu bytes", op, s->fd,
                           ctllen);
    if (ctllen && ctllen < sizeof(struct cmsghdr))
        return rsock__fail(EINVAL, "%s fd %d: control buffer of %zu bytes, shorter than a header",
                           op, s->fd, ctllen);
    return 0;
}

/* Control data to send must hold whole headers whose lengths fit the
 * buffer: the kernel refuses the rest, but not before a sanitizer's
 * interceptor walks them (it hangs on a length of 0, reads past the end
 * for a huge one). */
static int check_ctl_chain(const char *op, const rsock_t *s, const void *ctl, size_t ctllen)
{
    rsock_cmsg m;
    size_t pos = 0;
    int rc;
    while ((rc = rsock_cmsg_next(ctl, ctllen, &pos, &m)) > 0)
        ;
    if (rc < 0 && ctllen - pos < sizeof(struct cmsghdr))
        rc = 0; /* a tail shorter than a header: the kernel ignores it too */
    if (rc < 0) {
        char inner[200];
        snprintf(inner, sizeof inner, "%s", rsock_error_message() + strlen("rsock_cmsg_next: "));
        return rsock__fail(EINVAL, "%s fd %d: control data: %s", op, s->fd, inner);
    }
    return 0;
}

/* The system calls themselves, once the arguments are checked. */
static ssize_t sendmsg_now(rsock_t *s, const struct msghdr *msg, int flags)
{
    ssize_t n;
    do
        n = sendmsg(s->fd, msg, flags | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return io_result("rsock_sendmsg", s, RSOCK__OUT, n);
}

static ssize_t recvmsg_now(rsock_t *s, struct msghdr *msg, int flags)
{
    ssize_t n;
    do /* received descriptors must not leak into exec'd programs */
        n = recvmsg(s->fd, msg, flags | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    return io_result("rsock_recvmsg", s, RSOCK__IN, n);
}

/* The checks of the raw forms: the caller owns the whole msghdr. */
static int check_raw(const char *op, rsock_t *s, unsigned dir, const struct msghdr *msg)
{
    int rc = check_dir_open(op, s, dir);
    if (rc < 0)
        return rc;
    if (!msg)
        return rsock__fail(EINVAL, "%s fd %d: NULL msghdr", op, s->fd);
    if (msg->msg_iovlen > IOV_MAX)
        return rsock__fail(EINVAL, "%s fd %d: more than IOV_MAX buffers", op, s->fd);
    return 0;
}

ssize_t rsock_sendmsg(rsock_t *s, const rsock_addr *to, const struct iovec *iov, size_t iovcnt,
                      const void *ctl, size_t ctllen, int flags)
{
    int rc = check_dir_open("rsock_sendmsg", s, RSOCK__OUT);
    if (rc < 0 || (rc = check_msg("rsock_sendmsg", s, iov, iovcnt, ctl, ctllen)) < 0 ||
        (rc = check_ctl_chain("rsock_sendmsg", s, ctl, ctllen)) < 0)
        return rc;
    if (to && !rsock_addr_valid(to))
        return rsock__fail(EINVAL, "rsock_sendmsg fd %d: invalid address", s->fd);
    struct msghdr msg = {
        .msg_name = to ? (void *)&to->sa : NULL, .msg_namelen = to ? to->len : 0,
        .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt,
        .msg_control = (void *)ctl, .msg_controllen = ctllen,
    };
    return sendmsg_now(s, &msg, flags);
}

ssize_t rsock_sendmsg_raw(rsock_t *s, const struct msghdr *msg, int flags)
{
    int rc = check_raw("rsock_sendmsg_raw", s, RSOCK__OUT, msg);
    if (rc == 0 && msg->msg_controllen && !msg->msg_control)
        rc = rsock__fail(EINVAL, "rsock_sendmsg_raw fd %d: NULL control buffer of %zu bytes",
                         s->fd, (size_t)msg->msg_controllen);
    if (rc == 0)
        rc = check_ctl_chain("rsock_sendmsg_raw", s, msg->msg_control, msg->msg_controllen);
    return rc < 0 ? rc : sendmsg_now(s, msg, flags);
}

ssize_t rsock_recvmsg(rsock_t *s, rsock_addr *from, const struct iovec *iov, size_t iovcnt,
                      void *ctl, size_t *ctllen, int flags, int *rflags)
{
    int rc = check_dir_open("rsock_recvmsg", s, RSOCK__IN);
    size_t room = ctl && ctllen ? *ctllen : 0;
    if (rc < 0 || (rc = check_msg("rsock_recvmsg", s, iov, iovcnt, ctl, room)) < 0)
        return rc;
    struct msghdr msg = {
        .msg_name = from ? &from->sa : NULL, .msg_namelen = from ? sizeof from->ss : 0,
        .msg_iov = (struct iovec *)iov, .msg_iovlen = iovcnt,
        .msg_control = room ? ctl : NULL, .msg_controllen = room,
    };
    ssize_t n = recvmsg_now(s, &msg, flags);
    if (n < 0)
        return n;
    if (from)
        from->len = msg.msg_namelen;
    if (ctllen)
        *ctllen = room ? msg.msg_controllen : 0;
    if (rflags) /* the kernel echoes MSG_CMSG_CLOEXEC, which is ours, not news */
        *rflags = msg.msg_flags & ~MSG_CMSG_CLOEXEC;
    return n;
}

ssize_t rsock_recvmsg_raw(rsock_t *s, struct msghdr *msg, int flags)
{
    int rc = check_raw("rsock_recvmsg_raw", s, RSOCK__IN, msg);
    return rc < 0 ? rc : recvmsg_now(s, msg, flags);
}
