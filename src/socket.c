/* Socket devices: the reference's lifecycle operations (socket, bind,
 * listen, accept, connect, shutdown, close) and the device's accessors. */
#include "internal.h"
#include "ready.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- closing without EPOLL_CTL_DEL ----
 * close(2) deregisters a descriptor from epoll when it releases the file,
 * that is when no other descriptor holds it: then the poller's remove is a
 * syscall for nothing (one per connection end).  A file may have other
 * holders when the device adopted the descriptor (rsock_fdopen), handed it
 * out (rsock_fd: the caller may dup or pass it), or a fork(2) came after
 * the device was made (the child holds a copy): those are removed first,
 * as before.  A fork that runs while a close has decided not to remove but
 * has not closed yet would copy the descriptor after the decision, so the
 * fork handler waits for such closes to finish (a close is microseconds;
 * the wait is bounded for one that lingers, SO_LINGER). */
static unsigned long forks;       /* fork(2)s of the process so far */
static unsigned long closing_now; /* closes between that decision and close(2) */
static pthread_once_t fork_watch = PTHREAD_ONCE_INIT;

static void before_fork(void)
{
    __atomic_add_fetch(&forks, 1, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 100000 && __atomic_load_n(&closing_now, __ATOMIC_SEQ_CST); i++)
        sched_yield();
}

static void watch_forks(void) { pthread_atfork(before_fork, NULL, NULL); }

/* Wrap descriptor `fd` in a device registered with this thread's loop.
 * On failure the descriptor is closed when `owned`, else left alone. */
static int make_device(int fd, int domain, int type, int proto, unsigned open, bool owned,
                       rsock_t **out)
{
    rsock_t *s = calloc(1, sizeof *s);
    if (!s) {
        if (owned)
            close(fd);
        return rsock__fail(ENOMEM, "rsock_socket: out of memory");
    }
    pthread_once(&fork_watch, watch_forks);
    *s = (rsock_t){.magic = RSOCK__LIVE,
                   .fd = fd,
                   .domain = domain,
                   .type = type,
                   .protocol = proto,
                   .open = open,
                   .forks = __atomic_load_n(&forks, __ATOMIC_SEQ_CST),
                   .shared = !owned};
    int rc = rsock__loop_add(s);
    if (rc < 0) {
        if (owned)
            close(fd);
        free(s);
        return rsock__fail_sys(-rc, "rsock_socket fd %d: cannot join the loop", fd);
    }
    *out = s;
    return 0;
}

static int open_socket(const char *op, int domain, int type, int proto, unsigned open,
                       rsock_t **out)
{
    if (!out)
        return rsock__fail(EINVAL, "%s: NULL out", op);
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return rsock__fail_sys(errno, "%s domain %d type %d proto %d", op, domain, type, proto);
    return make_device(fd, domain, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), proto, open, true,
                       out);
}

int rsock_socket(int domain, int type, int proto, rsock_t **out)
{
    return open_socket("rsock_socket", domain, type, proto, RSOCK__IN | RSOCK__OUT, out);
}

int rsock_server_socket(int domain, int type, int proto, rsock_t **out)
{
    return open_socket("rsock_server_socket", domain, type, proto, RSOCK__IN, out);
}

bool rsock_is_socket(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static int sockopt_int(int fd, int opt)
{
    int v = 0;
    socklen_t len = sizeof v;
    return getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0 ? -errno : v;
}

static void restore_flags(int fd, int flags, int fdflags)
{
    fcntl(fd, F_SETFL, flags);
    fcntl(fd, F_SETFD, fdflags);
}

int rsock_fdopen(int fd, rsock_t **out)
{
    if (!out)
        return rsock__fail(EINVAL, "rsock_fdopen fd %d: NULL out", fd);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return rsock__fail_sys(EBADF, "rsock_fdopen fd %d", fd);
    if (!S_ISSOCK(st.st_mode))
        return rsock__fail_sys(ENOTSOCK, "rsock_fdopen fd %d", fd);
    int domain = sockopt_int(fd, SO_DOMAIN), type = sockopt_int(fd, SO_TYPE);
    int proto = sockopt_int(fd, SO_PROTOCOL);
    if (domain < 0 || type < 0 || proto < 0)
        return rsock__fail_sys(-(domain < 0 ? domain : type < 0 ? type : proto),
                               "rsock_fdopen fd %d", fd);
    int flags = fcntl(fd, F_GETFL), fdflags = fcntl(fd, F_GETFD);
    if (flags < 0 || fdflags < 0)
        return rsock__fail_sys(errno, "rsock_fdopen fd %d", fd);
    if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, fdflags | FD_CLOEXEC) < 0) {
        int err = errno;
        restore_flags(fd, flags, fdflags);
        return rsock__fail_sys(err, "rsock_fdopen fd %d", fd);
    }
    int rc = make_device(fd, domain, type, proto, RSOCK__IN | RSOCK__OUT, false, out);
    if (rc < 0) /* refused: the descriptor is the caller's, as it was */
        restore_flags(fd, flags, fdflags);
    return rc;
}

/* A device and an address of its family, or -EINVAL / -EAFNOSUPPORT. */
static int check_addr(const char *op, rsock_t *s, const rsock_addr *a, bool unspec_ok)
{
    char text[RSOCK_ADDRSTRLEN], fa[16], fs[16];
    int rc = rsock__check_dev(op, s);
    if (rc < 0)
        return rc;
    if (!a)
        return rsock__fail(EINVAL, "%s: NULL address", op);
    if (unspec_ok && a->sa.sa_family == AF_UNSPEC)
        return 0;
    if (!rsock_addr_valid(a))
        return rsock__fail(EINVAL, "%s fd %d: invalid address", op, s->fd);
    if (a->sa.sa_family != s->domain)
        return rsock__fail(EAFNOSUPPORT, "%s %s: address family %s, socket family %s", op,
                           rsock__addr_str(a, text), rsock__family_name(a->sa.sa_family, fa),
                           rsock__family_name(s->domain, fs));
    return 0;
}

int rsock_bind(rsock_t *s, const rsock_addr *a)
{
    char text[RSOCK_ADDRSTRLEN];
    int rc = check_addr("rsock_bind", s, a, false);
    if (rc < 0)
        return rc;
    if (bind(s->fd, &a->sa, a->len) < 0)
        return rsock__fail_sys(errno, "rsock_bind %s", rsock__addr_str(a, text));
    return 0;
}

int rsock_listen(rsock_t *s, int backlog)
{
    int rc = rsock__check_dev("rsock_listen", s);
    if (rc < 0)
        return rc;
    if (listen(s->fd, backlog < 0 ? RSOCK_BACKLOG : backlog) < 0)
        return rsock__fail_sys(errno, "rsock_listen fd %d backlog %d", s->fd, backlog);
    return 0;
}

int rsock_accept(rsock_t *s, rsock_addr *peer, rsock_t **out)
{
    int rc = rsock__check_dev("rsock_accept", s);
    if (rc < 0)
        return rc;
    if (!out)
        return rsock__fail(EINVAL, "rsock_accept: NULL out");
    rsock_addr from;
    socklen_t len = sizeof from.ss;
    int fd;
    /* Ask for the peer's address only when wanted: for sockets that have
     * none (AF_ALG), Linux fails the whole accept with ECONNABORTED. */
    do
        fd = accept4(s->fd, peer ? &from.sa : NULL, peer ? &len : NULL,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        if (errno == EAGAIN) {
            rsock__ready_clear(s, RSOCK__IN);
            return -EAGAIN;
        }
        return rsock__fail_sys(errno, "rsock_accept fd %d", s->fd);
    }
    if (peer) {
        from.len = len;
        *peer = from;
    }
    return make_device(fd, s->domain, s->type, s->protocol, RSOCK__IN | RSOCK__OUT, true, out);
}

int rsock_connect(rsock_t *s, const rsock_addr *a)
{
    char text[RSOCK_ADDRSTRLEN];
    int rc = check_addr("rsock_connect", s, a, true);
    if (rc < 0)
        return rc;
    if (connect(s->fd, &a->sa, a->len) == 0)
        return 0;
    if (errno == EINPROGRESS || errno == EINTR) { /* EINTR: it goes on in the background */
        rsock__ready_clear(s, RSOCK__OUT);
        return -EINPROGRESS;
    }
    if (errno == EAGAIN) /* a Unix listener's backlog is full: try again later */
        return -EAGAIN;
    return rsock__fail_sys(errno, "rsock_connect %s", rsock__addr_str(a, text));
}

int rsock_shutdown(rsock_t *s, int how)
{
    static const unsigned closes[] = {[SHUT_RD] = RSOCK__IN, [SHUT_WR] = RSOCK__OUT,
                                      [SHUT_RDWR] = RSOCK__IN | RSOCK__OUT};
    int rc = rsock__check_dev("rsock_shutdown", s);
    if (rc < 0)
        return rc;
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return rsock__fail(EINVAL, "rsock_shutdown fd %d: bad how %d", s->fd, how);
    if (shutdown(s->fd, how) < 0)
        return rsock__fail_sys(errno, "rsock_shutdown fd %d how %d", s->fd, how);
    s->open &= ~closes[how];
    return 0;
}

/* Closed devices are kept, marked dead, for this many later closes of the
 * thread before their memory is freed: a use after close within that
 * window is reported (-EBADF) instead of reading freed memory. */
#define QUARANTINE 1024
static __thread struct rsock *quarantine[QUARANTINE];
static __thread size_t quarantine_next;

static void retire(struct rsock *s)
{
    s->magic = RSOCK__DEAD;
    s->fd = -1;
    s->open = 0;
    rsock__ready_none(s);
    struct rsock *oldest = quarantine[quarantine_next];
    quarantine[quarantine_next] = s;
    quarantine_next = (quarantine_next + 1) % QUARANTINE;
    free(oldest);
}

void rsock__quarantine_free(void)
{
    for (size_t i = 0; i < QUARANTINE; i++) {
        free(quarantine[i]);
        quarantine[i] = NULL;
    }
}

int rsock_close(rsock_t *s)
{
    if (!s)
        return 0;
    if (s->magic != RSOCK__LIVE)
        return rsock__fail(EBADF, "rsock_close: socket already closed (closed twice)");
    int fd = s->fd;
    __atomic_add_fetch(&closing_now, 1, __ATOMIC_SEQ_CST);
    if (!s->shared && s->forks == __atomic_load_n(&forks, __ATOMIC_SEQ_CST))
        rsock__loop_forget(s); /* the close below deregisters it */
    else
        rsock__loop_remove(s);
    retire(s);
    /* Linux frees the descriptor even when close reports EINTR: never retry. */
    int rc = close(fd) < 0 && errno != EINTR ? errno : 0;
    __atomic_sub_fetch(&closing_now, 1, __ATOMIC_SEQ_CST);
    return rc ? rsock__fail_sys(rc, "rsock_close fd %d", fd) : 0;
}

static int name_of(const char *op, rsock_t *s, rsock_addr *out,
                   int (*get)(int, struct sockaddr *, socklen_t *))
{
    int rc = rsock__check_dev(op, s);
    if (rc < 0)
        return rc;
    if (!out)
        return rsock__fail(EINVAL, "%s: NULL out", op);
    socklen_t len = sizeof out->ss;
    if (get(s->fd, &out->sa, &len) < 0)
        return rsock__fail_sys(errno, "%s fd %d", op, s->fd);
    out->len = len;
    return 0;
}

int rsock_getpeername(rsock_t *s, rsock_addr *out)
{
    return name_of("rsock_getpeername", s, out, getpeername);
}

int rsock_getsockname(rsock_t *s, rsock_addr *out)
{
    return name_of("rsock_getsockname", s, out, getsockname);
}

int rsock_domain(const rsock_t *s)
{
    int rc = rsock__check_dev("rsock_domain", s);
    return rc < 0 ? rc : s->domain;
}

int rsock_type(const rsock_t *s)
{
    int rc = rsock__check_dev("rsock_type", s);
    return rc < 0 ? rc : s->type;
}

int rsock_fd(const rsock_t *s)
{
    int rc = rsock__check_dev("rsock_fd", s);
    if (rc < 0)
        return rc;
    /* The caller may dup or pass it: rsock_close removes it from the poller
     * first from now on.  (Devices are never const objects.) */
    __atomic_store_n(&((rsock_t *)s)->shared, true, __ATOMIC_RELAXED);
    return s->fd;
}

const char *rsock__family_name(int family, char buf[16])
{
    switch (family) {
    case AF_UNSPEC: return "AF_UNSPEC";
    case AF_INET: return "AF_INET";
    case AF_INET6: return "AF_INET6";
    case AF_UNIX: return "AF_UNIX";
    case AF_NETLINK: return "AF_NETLINK";
    case AF_PACKET: return "AF_PACKET";
    case AF_ALG: return "AF_ALG";
    default: snprintf(buf, 16, "family %d", family); return buf;
    }
}
