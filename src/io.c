/* Stream helpers: listen, and accept / connect / read / write that wait
 * with deadlines (dial is in dial.c).  The ready bits of a device
 * (ready.h) say whether the last operation in a direction hit -EAGAIN;
 * a helper whose bit is clear waits BEFORE the syscall instead of making
 * one that is sure to fail. */
#include "io_internal.h"
#include "ready.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static bool is_stream(const rsock_t *s) { return s->type == SOCK_STREAM; }

/* Wait for direction `dir` of `s`; name the helper in a timeout message. */
static int stream_wait(rsock_t *s, unsigned dir, int64_t deadline, const char *op)
{
    int fd = s->fd; /* a close while we wait frees `s` */
    int64_t began = deadline > 0 ? rsock_now() : 0;
    int rc = dir == RSOCK__IN ? rsock_wait_in(s, deadline) : rsock_wait_out(s, deadline);
    if (rc == -ETIMEDOUT)
        return rsock__timeout_msg(op, fd, deadline, began);
    return rc;
}

/* What every stream helper checks first: a live device, a fiber whose
 * group was not cancelled. */
static int check_helper(const char *op, rsock_t *s)
{
    int rc = rsock__check_dev(op, s);
    return rc < 0 ? rc : rsock__check_cancelled(op);
}

int rsock_accept_wait(rsock_t *s, rsock_addr *peer, rsock_t **out, int64_t deadline)
{
    int rc0 = check_helper("rsock_accept_wait", s);
    if (rc0 < 0)
        return rc0;
    if (!out)
        return rsock__fail(EINVAL, "rsock_accept_wait: NULL out");
    for (;;) {
        if (!rsock__ready_has(s, RSOCK__IN)) {
            int rc = stream_wait(s, RSOCK__IN, deadline, "rsock_accept_wait");
            if (rc < 0)
                return rc;
        }
        int rc = rsock_accept(s, peer, out);
        if (rc != -EAGAIN)
            return rc;
        rsock__ready_clear(s, RSOCK__IN);
    }
}

/* A pending connect finished (or failed): read SO_ERROR. */
static int connect_result(rsock_t *s, const rsock_addr *a)
{
    int err = 0;
    socklen_t len = sizeof err;
    char text[RSOCK_ADDRSTRLEN];
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err)
        return rsock__fail_sys(err, "rsock_connect %s", rsock__addr_str(a, text));
    return 0; /* a hang-up after connecting, e.g. a server that closed at once */
}

/* A Unix connect to a full backlog says -EAGAIN and must be tried again. */
static int connect_again(rsock_t *s, const rsock_addr *a, int64_t deadline)
{
    for (int pause = 1;; pause = pause < 32 ? pause * 2 : pause) {
        int64_t until = rsock_now() + pause;
        if (deadline >= 0 && until > deadline)
            until = deadline;
        if (deadline >= 0 && rsock_now() >= deadline)
            return rsock__fail(ETIMEDOUT, "rsock_connect_wait fd %d: timed out (backlog full)",
                               s->fd);
        int rc = rsock_sleep(until);
        if (rc < 0)
            return rc;
        rc = rsock_connect(s, a);
        if (rc != -EAGAIN)
            return rc;
    }
}

int rsock_connect_wait(rsock_t *s, const rsock_addr *a, int64_t deadline)
{
    int rc = check_helper("rsock_connect_wait", s);
    if (rc < 0)
        return rc;
    if (!a)
        return rsock__fail(EINVAL, "rsock_connect_wait: NULL address");
    rc = rsock_connect(s, a);
    if (rc == -EAGAIN && s->domain == AF_UNIX)
        rc = connect_again(s, a, deadline);
    if (rc != -EINPROGRESS)
        return rc;
    rsock__ready_connecting(s);
    rc = stream_wait(s, RSOCK__OUT, deadline, "rsock_connect_wait");
    if (rc < 0)
        return rc;
    /* epoll re-polls at delivery and a socket in SYN_SENT is not writable,
     * so output with no error or hang-up reported means connected; only
     * trouble needs SO_ERROR to say what it was.  The peer's end of stream
     * alone (EPOLLRDHUP: a server that spoke and closed at once) is no
     * trouble: a FIN comes only on a connection made. */
    return rsock__ready_err(s) ? connect_result(s, a) : 0;
}

ssize_t rsock_read(rsock_t *s, void *buf, size_t len, int64_t deadline)
{
    int rc0 = check_helper("rsock_read", s);
    if (rc0 < 0)
        return rc0;
    if (!buf && len)
        return rsock__fail(EINVAL, "rsock_read: NULL buffer");
    if (len == 0)
        return 0;
    for (;;) {
        if (!rsock__ready_has(s, RSOCK__IN)) {
            int rc = stream_wait(s, RSOCK__IN, deadline, "rsock_read");
            if (rc < 0)
                return rc;
        }
        ssize_t n = rsock_recv(s, buf, len, 0);
        if (n == -EAGAIN) {
            rsock__ready_clear(s, RSOCK__IN);
            continue;
        }
        rsock__ready_after_read(s, len, n);
        return n;
    }
}

ssize_t rsock_write_all(rsock_t *s, const void *buf, size_t len, int64_t deadline)
{
    int rc0 = check_helper("rsock_write_all", s);
    if (rc0 < 0)
        return rc0;
    if (!buf && len)
        return rsock__fail(EINVAL, "rsock_write_all: NULL buffer");
    size_t done = 0;
    while (done < len) {
        if (!rsock__ready_has(s, RSOCK__OUT)) {
            int rc = stream_wait(s, RSOCK__OUT, deadline, "rsock_write_all");
            if (rc < 0)
                return rc;
        }
        ssize_t n = rsock_send(s, (const char *)buf + done, len - done, 0);
        if (n == -EAGAIN) {
            rsock__ready_clear(s, RSOCK__OUT);
            continue;
        }
        if (n < 0)
            return n;
        done += (size_t)n;
        if (done < len && is_stream(s)) /* a short stream send filled the buffer */
            rsock__ready_clear(s, RSOCK__OUT);
    }
    return (ssize_t)len;
}

/* ---- listen ---- */

static int set_flag(rsock_t *s, int opt, const char *name, const char *text)
{
    int one = 1;
    if (setsockopt(s->fd, SOL_SOCKET, opt, &one, sizeof one) < 0)
        return rsock__fail_sys(errno, "rsock_listen_on \"%s\": %s", text, name);
    return 0;
}

static int listen_setup(rsock_t *s, const rsock_addr *a, int backlog, int flags, const char *text)
{
    int rc = 0;
    if (a->sa.sa_family != AF_UNIX) { /* a Unix path cannot be shared this way */
        rc = set_flag(s, SO_REUSEADDR, "SO_REUSEADDR", text);
        if (rc == 0 && (flags & RSOCK_REUSEPORT))
            rc = set_flag(s, SO_REUSEPORT, "SO_REUSEPORT", text);
    }
    if (rc == 0)
        rc = rsock_bind(s, a);
    if (rc == 0)
        rc = rsock_listen(s, backlog < 0 ? SOMAXCONN : backlog); /* a server's default */
    return rc;
}

int rsock_listen_on_flags(const char *text, int backlog, int flags, rsock_t **out)
{
    if (!text || !out)
        return rsock__fail(EINVAL, "rsock_listen_on: NULL %s", text ? "out" : "text");
    if (flags & ~RSOCK_REUSEPORT)
        return rsock__fail(EINVAL, "rsock_listen_on \"%s\": unknown flags 0x%x", text, flags);
    rsock_addr a;
    int rc = rsock_addr_parse(&a, text);
    if (rc < 0)
        return rc;
    rsock_t *s;
    rc = rsock_server_socket(a.sa.sa_family, SOCK_STREAM, 0, &s);
    if (rc < 0)
        return rc;
    rc = listen_setup(s, &a, backlog, flags, text);
    if (rc < 0) {
        rsock_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int rsock_listen_on(const char *text, int backlog, rsock_t **out)
{
    return rsock_listen_on_flags(text, backlog, 0, out);
}
