/* rsock_copy: move bytes from one device to another until end of stream,
 * then shut down the writing side.  Two methods: splice(2) through a pooled
 * pipe, or recv/send through the thread's scratch buffer, and by default
 * both, each where it is cheaper (copy_loop).  Either holds a
 * pipe or a buffer only while bytes are in flight: a copy parked on an idle
 * connection holds nothing. */
#include "io_internal.h"
#include "ready.h"

#include <errno.h>
#include <fcntl.h> /* splice */
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* Above this many bytes held by blocked writers of a thread, reads shrink
 * to SMALL_READ, so that a leftover fits a small block: a thousand slow
 * readers then pin 16 MiB, not a large buffer each. */
#define HELD_BUDGET (8u * 1024u * 1024u)
#define SMALL_READ RSOCK__COPY_SMALL

struct copy {
    rsock_t *from, *to;
    int from_fd, to_fd; /* for messages: a close under a parked copy frees the devices */
    const struct rsock__copy_opts *o;
    int64_t total, last;
};

static int64_t last_progress(const struct copy *c)
{
    if (c->o->last_active) {
        int64_t shared = __atomic_load_n(c->o->last_active, __ATOMIC_RELAXED);
        return shared > c->last ? shared : c->last;
    }
    return c->last;
}

static void progress(struct copy *c, size_t n)
{
    c->total += (int64_t)n;
    if (c->o->moved)
        __atomic_fetch_add(c->o->moved, (int64_t)n, __ATOMIC_RELAXED);
    if (c->o->idle_ms > 0) {
        c->last = rsock_now();
        if (c->o->last_active)
            __atomic_store_n(c->o->last_active, c->last, __ATOMIC_RELAXED);
    }
}

/* Record the failure; `side` says which end failed (RSOCK__IN: reading
 * `from`, RSOCK__OUT: writing `to`, 0: neither, e.g. a timeout). */
static int64_t fail(struct copy *c, unsigned side, int err, const char *what)
{
    if (c->o->failed)
        *c->o->failed = side;
    return rsock__fail(err, "rsock_copy fd %d -> fd %d: %s: %s (after %lld bytes)", c->from_fd,
                       c->to_fd, what, rsock_strerror(err), (long long)c->total);
}

/* Park until `s` is ready in `dir`, the deadline, or the idle limit. */
static int copy_wait(struct copy *c, rsock_t *s, unsigned dir)
{
    for (;;) {
        int64_t until = c->o->deadline;
        if (c->o->idle_ms > 0) {
            int64_t last = last_progress(c);
            int64_t idle_end = c->o->idle_ms > INT64_MAX - last ? INT64_MAX : last + c->o->idle_ms;
            if (until < 0 || idle_end < until)
                until = idle_end;
        }
        int rc = dir == RSOCK__IN ? rsock_wait_in(s, until) : rsock_wait_out(s, until);
        if (rc != -ETIMEDOUT)
            return rc < 0 ? (int)fail(c, dir, -rc, dir == RSOCK__IN ? "waiting for input"
                                                                : "waiting for output")
                          : 0;
        int64_t now = rsock_now();
        if (c->o->deadline >= 0 && now >= c->o->deadline)
            return (int)fail(c, 0, ETIMEDOUT, "deadline passed");
        if (c->o->idle_ms > 0 && now - last_progress(c) >= c->o->idle_ms)
            return (int)fail(c, 0, ETIMEDOUT, "idle limit");
    }
}

static int64_t copy_finish(struct copy *c)
{
    if (c->o->closing && *c->o->closing)
        return c->total; /* the close that follows ends the stream */
    int rc = rsock_shutdown(c->to, SHUT_WR);
    if (rc < 0 && rc != -ENOTCONN)
        return fail(c, RSOCK__OUT, -rc, "shutdown");
    return c->total;
}

/* ---- through a buffer ---- */

/* Write bytes[0..n) from the scratch buffer; if `to` fills up, move what is
 * left into a block of our own before parking (the scratch is shared). */
static int write_out(struct copy *c, char *buf, size_t n)
{
    char *held = NULL;
    size_t held_size = 0, off = 0;
    int rc = 0;
    while (off < n) {
        if (!rsock__ready_has(c->to, RSOCK__OUT)) {
            if (!held) {
                size_t left = n - off;
                if (left > RSOCK__COPY_SMALL) {
                    held = rsock__scratch_take(&held_size);
                } else if ((held = rsock__buf_get(left, &held_size))) {
                    memcpy(held, buf + off, left);
                    buf = held, off = 0, n = left;
                }
                if (!held)
                    return (int)fail(c, 0, ENOMEM, "holding pending bytes");
            }
            if ((rc = copy_wait(c, c->to, RSOCK__OUT)) < 0)
                break;
        }
        ssize_t m = rsock_send(c->to, buf + off, n - off, 0);
        if (m == -EAGAIN) {
            rsock__ready_clear(c->to, RSOCK__OUT);
            continue;
        }
        if (m < 0) {
            rc = (int)fail(c, RSOCK__OUT, (int)-m, "send");
            break;
        }
        off += (size_t)m;
        progress(c, (size_t)m);
        if (off < n) /* a short stream send filled the socket buffer */
            rsock__ready_clear(c->to, RSOCK__OUT);
    }
    if (held)
        rsock__buf_put(held, held_size);
    return rc;
}

/* One recv into the scratch buffer and the writes it needs: the bytes
 * moved, 0 at the end of stream, -EAGAIN if `from` had nothing (it is then
 * marked not ready), or the error, recorded. */
static int64_t buffer_step(struct copy *c)
{
    size_t size;
    char *buf = rsock__scratch(&size);
    if (!buf)
        return fail(c, 0, ENOMEM, "scratch buffer");
    if (rsock__held_bytes() > HELD_BUDGET && size > SMALL_READ)
        size = SMALL_READ;
    ssize_t n = rsock_recv(c->from, buf, size, 0);
    if (n == -EAGAIN) {
        rsock__ready_clear(c->from, RSOCK__IN);
        return -EAGAIN;
    }
    if (n <= 0)
        return n == 0 ? 0 : fail(c, RSOCK__IN, (int)-n, "recv");
    rsock__ready_after_read(c->from, size, n);
    int rc = write_out(c, buf, (size_t)n);
    return rc < 0 ? rc : n;
}

/* ---- through a pipe ---- */

static int copy_check_open(struct copy *c)
{
    if (!(c->from->open & RSOCK__IN))
        return (int)rsock__fail(EBADF, "rsock_copy fd %d: input is shut down", c->from_fd);
    if (!(c->to->open & RSOCK__OUT))
        return (int)rsock__fail(EBADF, "rsock_copy fd %d: output is shut down", c->to_fd);
    return 0;
}

static bool can_splice(const struct copy *c);

/* SIGPIPE stopped being ignored while bytes sat in the pipe: move them on
 * through the buffer (send never raises it).  0, or -errno (recorded). */
static int pipe_via_buffer(struct copy *c, int p[2], size_t n)
{
    while (n > 0) {
        size_t size;
        char *buf = rsock__scratch(&size);
        if (!buf)
            return (int)fail(c, 0, ENOMEM, "scratch buffer");
        ssize_t got = read(p[0], buf, n < size ? n : size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return (int)fail(c, 0, got < 0 ? errno : EIO, "reading the pipe");
        int rc = write_out(c, buf, (size_t)got);
        if (rc < 0)
            return rc;
        n -= (size_t)got;
    }
    return 0;
}

/* Empty the pipe's `n` bytes into `to`.  0, or -errno (the pipe is dropped). */
static int drain_pipe(struct copy *c, int p[2], int psize, size_t n)
{
    while (n > 0) {
        /* Checked before every move: splice has no MSG_NOSIGNAL. */
        if (!can_splice(c)) {
            int rc = pipe_via_buffer(c, p, n);
            rsock__pipe_drop(p);
            return rc;
        }
        if (!rsock__ready_has(c->to, RSOCK__OUT)) {
            int rc = copy_wait(c, c->to, RSOCK__OUT);
            if (rc < 0) {
                rsock__pipe_drop(p);
                return rc;
            }
        }
        ssize_t m = splice(p[0], NULL, c->to->fd, NULL, n, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (m < 0 && errno == EINTR)
            continue;
        if (m < 0 && errno == EAGAIN) {
            rsock__ready_clear(c->to, RSOCK__OUT);
            continue;
        }
        if (m <= 0) {
            int err = m < 0 ? errno : EPIPE;
            rsock__pipe_drop(p);
            return (int)fail(c, RSOCK__OUT, err, "splice to socket");
        }
        n -= (size_t)m;
        progress(c, (size_t)m);
    }
    rsock__pipe_put(p, psize); /* empty: back to the pool before we park on input */
    return 0;
}

/* splice(2) into a socket whose peer is gone raises SIGPIPE (it has no
 * MSG_NOSIGNAL); the library never does, so it splices only while the
 * process ignores SIGPIPE, as servers do, and sends from a buffer otherwise. */
static bool can_splice(const struct copy *c)
{
    struct sigaction sa;
    return c->o->sigpipe_ignored ||
           (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN);
}

/* One splice from `from` into a pooled pipe and on into `to`: as
 * buffer_step, plus -ENFILE when no pipe can be made (nothing moved). */
static int64_t splice_step(struct copy *c)
{
    for (;;) {
        int p[2], psize = rsock__pipe_get(p);
        if (psize < 0)
            return -ENFILE;
        ssize_t n = splice(c->from->fd, NULL, p[1], NULL, (size_t)psize,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        int err = n < 0 ? errno : 0;
        if (n <= 0)
            rsock__pipe_put(p, psize);
        if (n < 0 && err == EINTR)
            continue;
        if (n < 0 && err == EAGAIN) {
            rsock__ready_clear(c->from, RSOCK__IN);
            return -EAGAIN;
        }
        if (n <= 0)
            return n == 0 ? 0 : fail(c, RSOCK__IN, err, "splice from socket");
        int rc = drain_pipe(c, p, psize, (size_t)n);
        return rc < 0 ? rc : n;
    }
}

/* How bytes move between parks.  SPLICE and BUFFER are the flags' fixed
 * methods; ADAPTIVE starts with the buffer, whose short reads say "drained"
 * without an extra syscall (what small messages need: one read, one
 * write), and turns to splice once a read brings more than SMALL_READ (what
 * bulk needs: no copy through user space); a spell between two parks that
 * moves SMALL_READ or less turns it back. */
static bool stopping(const struct copy *c)
{
    return c->o->stop && *c->o->stop;
}

/* Asked to stop (o->stop) with nothing held: every byte read is written. */
static int64_t stopped(struct copy *c)
{
    if (c->o->failed)
        *c->o->failed = 0;
    return rsock__fail(EINTR, "rsock_copy fd %d -> fd %d: stopped (after %lld bytes)", c->from_fd,
                       c->to_fd, (long long)c->total);
}

/* Park for input; a cancel that comes with o->stop is the stop. */
static int wait_input(struct copy *c)
{
    if (c->o->waiting_in)
        *c->o->waiting_in = true;
    int rc = copy_wait(c, c->from, RSOCK__IN);
    if (c->o->waiting_in)
        *c->o->waiting_in = false;
    return rc == -ECANCELED && stopping(c) ? (int)stopped(c) : rc;
}

static int64_t copy_loop(struct copy *c, int method)
{
    bool bulk = method == RSOCK_COPY_SPLICE;
    int64_t spell = 0; /* bytes moved since the last park */
    for (;;) {
        if (stopping(c)) /* between steps: no byte is held here */
            return stopped(c);
        if (!rsock__ready_has(c->from, RSOCK__IN)) {
            if (method == RSOCK_COPY_ADAPTIVE && bulk && spell <= SMALL_READ)
                bulk = false;
            spell = 0;
            int rc = wait_input(c);
            if (rc < 0)
                return rc;
        }
        int64_t n = bulk ? splice_step(c) : buffer_step(c);
        if (n == -ENFILE && bulk) { /* out of descriptors for a pipe: the buffer needs none */
            method = RSOCK_COPY_BUFFER, bulk = false;
            continue;
        }
        if (n == 0)
            return copy_finish(c);
        if (n == -EAGAIN)
            continue;
        if (n < 0)
            return n;
        spell += n;
        /* Only bulk asks whether splice may run now: a connection of small
         * messages never pays the sigaction(2) it costs. */
        if (method == RSOCK_COPY_ADAPTIVE && n > SMALL_READ && !bulk)
            bulk = can_splice(c);
    }
}

int64_t rsock__copy(rsock_t *from, rsock_t *to, const struct rsock__copy_opts *o)
{
    if (!from || !to)
        return rsock__fail(EINVAL, "rsock_copy: NULL %s", from ? "to" : "from");
    if (o->flags & ~RSOCK_COPY_ADAPTIVE)
        return rsock__fail(EINVAL, "rsock_copy_with: bad flags 0x%x", o->flags);
    int rc = rsock__check_dev("rsock_copy", from);
    if (rc == 0)
        rc = rsock__check_dev("rsock_copy", to);
    if (rc == 0)
        rc = rsock__check_cancelled("rsock_copy");
    if (rc < 0)
        return rc;
    struct copy c = {.from = from, .to = to, .from_fd = from->fd, .to_fd = to->fd, .o = o};
    if (o->idle_ms > 0)
        c.last = rsock_now();
    int method = o->flags ? o->flags : RSOCK__COPY_DEFAULT;
    bool streams = from->type == SOCK_STREAM && to->type == SOCK_STREAM;
    if (!streams || (method == RSOCK_COPY_SPLICE && !can_splice(&c)))
        method = RSOCK_COPY_BUFFER; /* ADAPTIVE asks when it turns to bulk */
    rc = copy_check_open(&c);
    return rc < 0 ? rc : copy_loop(&c, method);
}

int64_t rsock_copy_with(rsock_t *from, rsock_t *to, int64_t deadline, int64_t idle_ms, int flags)
{
    struct rsock__copy_opts o = {.deadline = deadline, .idle_ms = idle_ms, .flags = flags};
    return rsock__copy(from, to, &o);
}

int64_t rsock_copy(rsock_t *from, rsock_t *to, int64_t deadline)
{
    return rsock_copy_with(from, to, deadline, 0, 0);
}
