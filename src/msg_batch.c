/* Batched messages: sendmmsg(2) / recvmmsg(2) over rsock_mmsg arrays, and
 * their waiting forms.  The kernel's mmsghdr array is built on the stack, a
 * chunk at a time, so a batch costs no allocation. */
#include "internal.h"
#include "ready.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define CHUNK 64 /* messages per system call: 4 KiB of mmsghdr on the stack */

/* The checks every message of a batch must pass; the message names it. */
static int check_one(const char *op, const rsock_t *s, const rsock_mmsg *m, size_t i, bool send)
{
    if (m->iovcnt > IOV_MAX)
        return rsock__fail(EINVAL, "%s fd %d: message %zu has %zu buffers, more than IOV_MAX (%d)",
                           op, s->fd, i, m->iovcnt, IOV_MAX);
    if (!m->iov && m->iovcnt)
        return rsock__fail(EINVAL, "%s fd %d: message %zu: NULL iov with %zu buffers", op, s->fd,
                           i, m->iovcnt);
    if (!m->ctl && m->ctllen)
        return rsock__fail(EINVAL, "%s fd %d: message %zu: NULL control buffer of %zu bytes", op,
                           s->fd, i, m->ctllen);
    if (m->ctllen && m->ctllen < sizeof(struct cmsghdr))
        return rsock__fail(EINVAL,
                           "%s fd %d: message %zu: control buffer of %zu bytes, shorter than a "
                           "header",
                           op, s->fd, i, m->ctllen);
    if (send && m->addr && !rsock_addr_valid(m->addr))
        return rsock__fail(EINVAL, "%s fd %d: message %zu: invalid address", op, s->fd, i);
    return 0;
}

static int check_batch(const char *op, rsock_t *s, const rsock_mmsg *m, size_t n, bool send)
{
    if (!s)
        return rsock__fail(EINVAL, "%s: NULL socket", op);
    unsigned dir = send ? RSOCK__OUT : RSOCK__IN;
    if (!(s->open & dir))
        return rsock__fail(EBADF, "%s fd %d: %s", op, s->fd,
                           send ? "output is shut down or not open" : "input is shut down");
    if (!m && n)
        return rsock__fail(EINVAL, "%s fd %d: NULL messages with n %zu", op, s->fd, n);
    for (size_t i = 0; i < n; i++) {
        int rc = check_one(op, s, &m[i], i, send);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The kernel's header for one message. */
static void to_kernel(const rsock_mmsg *m, struct mmsghdr *h, bool send)
{
    memset(h, 0, sizeof *h);
    if (m->addr) {
        h->msg_hdr.msg_name = (void *)&m->addr->sa;
        h->msg_hdr.msg_namelen = send ? m->addr->len : sizeof m->addr->ss;
    }
    h->msg_hdr.msg_iov = (struct iovec *)m->iov;
    h->msg_hdr.msg_iovlen = m->iovcnt;
    h->msg_hdr.msg_control = m->ctllen ? m->ctl : NULL;
    h->msg_hdr.msg_controllen = m->ctllen;
}

/* What the kernel reported for one message done. */
static void from_kernel(rsock_mmsg *m, const struct mmsghdr *h, bool send)
{
    m->len = h->msg_len;
    if (send)
        return;
    if (m->addr)
        m->addr->len = h->msg_hdr.msg_namelen;
    m->ctllen = m->ctllen ? h->msg_hdr.msg_controllen : 0;
    m->flags = h->msg_hdr.msg_flags & ~MSG_CMSG_CLOEXEC; /* the kernel echoes it */
}

/* One system call for up to CHUNK messages: how many were done, or -errno. */
static int one_chunk(const char *op, rsock_t *s, rsock_mmsg *m, size_t n, int flags, bool send)
{
    struct mmsghdr h[CHUNK];
    for (size_t i = 0; i < n; i++)
        to_kernel(&m[i], &h[i], send);
    int got;
    do
        got = send ? sendmmsg(s->fd, h, (unsigned)n, flags | MSG_NOSIGNAL)
                   : recvmmsg(s->fd, h, (unsigned)n, flags | MSG_CMSG_CLOEXEC, NULL);
    while (got < 0 && errno == EINTR);
    if (got < 0) {
        if (errno == EAGAIN) {
            rsock__ready_clear(s, send ? RSOCK__OUT : RSOCK__IN);
            return -EAGAIN;
        }
        return rsock__fail_sys(errno, "%s fd %d", op, s->fd);
    }
    for (int i = 0; i < got; i++)
        from_kernel(&m[i], &h[i], send);
    return got;
}

/* Chunk after chunk while each is done whole; the first error stops it, and
 * is returned only when nothing was done (the kernel's own rule). */
static int batch(const char *op, rsock_t *s, rsock_mmsg *m, size_t n, int flags, bool send)
{
    int rc = check_batch(op, s, m, n, send);
    if (rc < 0)
        return rc;
    if (n > INT_MAX)
        n = INT_MAX;
    size_t done = 0;
    while (done < n) {
        size_t want = n - done < CHUNK ? n - done : CHUNK;
        int got = one_chunk(op, s, m + done, want, flags, send);
        if (got < 0)
            return done ? (int)done : got;
        done += (size_t)got;
        if ((size_t)got < want)
            break;
    }
    return (int)done;
}

int rsock_sendmmsg(rsock_t *s, rsock_mmsg *m, size_t n, int flags)
{
    return batch("rsock_sendmmsg", s, m, n, flags, true);
}

int rsock_recvmmsg(rsock_t *s, rsock_mmsg *m, size_t n, int flags)
{
    return batch("rsock_recvmmsg", s, m, n, flags, false);
}

/* Park on one direction; a timeout's message names the caller. */
static int batch_wait(rsock_t *s, unsigned dir, int64_t deadline, const char *op,
                      size_t done, size_t n)
{
    int rc = dir == RSOCK__IN ? rsock_wait_in(s, deadline) : rsock_wait_out(s, deadline);
    if (rc == -ETIMEDOUT)
        return dir == RSOCK__OUT
                   ? rsock__fail(ETIMEDOUT, "%s fd %d: timed out after %zu of %zu messages", op,
                                 s->fd, done, n)
                   : rsock__fail(ETIMEDOUT, "%s fd %d: timed out", op, s->fd);
    return rc;
}

int rsock_sendmmsg_wait(rsock_t *s, rsock_mmsg *m, size_t n, int flags, int64_t deadline)
{
    int rc = check_batch("rsock_sendmmsg_wait", s, m, n, true);
    if (rc < 0)
        return rc;
    if (n > INT_MAX)
        return rsock__fail(EINVAL, "rsock_sendmmsg_wait fd %d: %zu messages", s->fd, n);
    size_t done = 0;
    while (done < n) {
        int got = rsock_sendmmsg(s, m + done, n - done, flags);
        if (got == -EAGAIN) {
            rc = batch_wait(s, RSOCK__OUT, deadline, "rsock_sendmmsg_wait", done, n);
            if (rc < 0)
                return rc;
            continue;
        }
        if (got < 0)
            return got;
        done += (size_t)got;
    }
    return (int)n;
}

int rsock_recvmmsg_wait(rsock_t *s, rsock_mmsg *m, size_t n, int flags, int64_t deadline)
{
    int rc = check_batch("rsock_recvmmsg_wait", s, m, n, false);
    if (rc < 0 || n == 0)
        return rc;
    /* Always try first: a datagram socket's ready bit may have been cleared
     * by a read of the error queue while normal data was pending. */
    for (;;) {
        int got = rsock_recvmmsg(s, m, n, flags);
        if (got != -EAGAIN)
            return got;
        rc = batch_wait(s, RSOCK__IN, deadline, "rsock_recvmmsg_wait", 0, n);
        if (rc < 0)
            return rc;
    }
}
