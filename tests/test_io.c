/* Stream helpers: dial, listen_on, the waiting accept / connect / read /
 * write_all, and rsock_copy by both methods.  Real loopback sockets only. */
#include "check.h"
#include "io_internal.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define MiB (1024 * 1024)

static char tmpdir[256];

/* ---- small helpers ---- */

static void addr_text(rsock_t *s, char out[RSOCK_ADDRSTRLEN])
{
    rsock_addr a;
    REQUIRE(rsock_getsockname(s, &a) == 0);
    REQUIRE(rsock_addr_format(&a, out, RSOCK_ADDRSTRLEN) > 0);
}

/* A connected pair over a fresh listener on `where`: *c dialled, *a accepted. */
static void tcp_pair(const char *where, rsock_t **c, rsock_t **a)
{
    rsock_t *l;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on(where, -1, &l) == 0);
    addr_text(l, text);
    REQUIRE(rsock_dial(text, rsock_now() + 5000, c) == 0);
    REQUIRE(rsock_accept_wait(l, NULL, a, rsock_now() + 5000) == 0);
    rsock_close(l);
}

static void unix_pair(rsock_t **x, rsock_t **y)
{
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(rsock_fdopen(fds[0], x) == 0);
    REQUIRE(rsock_fdopen(fds[1], y) == 0);
}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 131 + (i >> 11)); }

struct stream {
    rsock_t *s;
    size_t bytes, done;
    uint64_t sum;
    int64_t rc;
    bool bad, reset_after; /* reader: close with RST after `bytes` */
};

static void writer(void *arg)
{
    struct stream *st = arg;
    static uint8_t buf[64 * 1024];
    while (st->done < st->bytes) {
        size_t n = st->bytes - st->done < sizeof buf ? st->bytes - st->done : sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = pattern(st->done + k);
        st->rc = rsock_write_all(st->s, buf, n, rsock_now() + 10000);
        if (st->rc < 0)
            return;
        st->done += n;
    }
    st->rc = rsock_shutdown(st->s, SHUT_WR);
}

/* A writer in phases: `count` writes of `chunk` bytes each (at most 64 KiB).
 * With `pause`, each write waits until `reader` has had all bytes so far, so
 * the copy sees every write alone, as a message; without, bulk. */
struct phase {
    size_t chunk;
    int count;
    bool pause;
};
struct phased {
    struct stream st;
    const struct phase *phases;
    int nphases;
    const struct stream *reader;
};

static void phased_writer(void *arg)
{
    struct phased *pw = arg;
    static uint8_t buf[64 * 1024];
    for (int i = 0; i < pw->nphases; i++) {
        const struct phase *ph = &pw->phases[i];
        for (int j = 0; j < ph->count; j++) {
            for (size_t k = 0; k < ph->chunk; k++)
                buf[k] = pattern(pw->st.done + k);
            if ((pw->st.rc = rsock_write_all(pw->st.s, buf, ph->chunk, rsock_now() + 10000)) < 0)
                return;
            pw->st.done += ph->chunk;
            while (ph->pause && pw->reader->done < pw->st.done && !pw->reader->rc)
                rsock_sleep(rsock_now() + 1);
        }
    }
    pw->st.rc = rsock_shutdown(pw->st.s, SHUT_WR);
}

static void reader(void *arg)
{
    struct stream *st = arg;
    static uint8_t buf[100 * 1000]; /* not a power of two: reads split oddly */
    for (;;) {
        ssize_t n = rsock_read(st->s, buf, sizeof buf, rsock_now() + 10000);
        if (n <= 0) {
            st->rc = n;
            return;
        }
        for (ssize_t k = 0; k < n; k++)
            st->bad |= buf[k] != pattern(st->done + (size_t)k);
        st->done += (size_t)n;
        if (st->reset_after && st->done >= st->bytes) {
            rsock_setsockopt_linger(st->s, true, 0);
            rsock_close(st->s); /* with linger 0: an RST to the writer */
            st->s = NULL;
            st->rc = 0;
            return;
        }
    }
}

/* ---- dial and listen ---- */

static void test_dial_listen_tcp(void)
{
    rsock_t *c, *a;
    tcp_pair("127.0.0.1:0", &c, &a);
    CHECK_EQ(rsock_write_all(c, "ping", 4, rsock_now() + 1000), 4);
    char buf[8] = {0};
    CHECK_EQ(rsock_read(a, buf, sizeof buf, rsock_now() + 1000), 4);
    CHECK_STR(buf, "ping");
    rsock_close(c);
    rsock_close(a);
    tcp_pair("[::1]:0", &c, &a);
    CHECK_EQ(rsock_domain(c), AF_INET6);
    rsock_close(c);
    rsock_close(a);
}

static void test_dial_listen_unix(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/io.sock", tmpdir);
    rsock_t *l, *c, *a;
    REQUIRE(rsock_listen_on(path, 4, &l) == 0);
    CHECK_EQ(rsock_dial(path, rsock_now() + 1000, &c), 0);
    CHECK_EQ(rsock_accept_wait(l, NULL, &a, rsock_now() + 1000), 0);
    rsock_close(c);
    rsock_close(a);
    /* the file stays: a second listener on it is refused */
    rsock_t *l2;
    CHECK_ERR(rsock_listen_on(path, 4, &l2), EADDRINUSE, "Address already in use");
    rsock_close(l);
    unlink(path);
    char name[64];
    snprintf(name, sizeof name, "@rsock-test-io-%d", (int)getpid());
    REQUIRE(rsock_listen_on(name, 4, &l) == 0);
    CHECK_EQ(rsock_dial(name, rsock_now() + 1000, &c), 0);
    CHECK_EQ(rsock_accept_wait(l, NULL, &a, rsock_now() + 1000), 0);
    rsock_close(c);
    rsock_close(a);
    rsock_close(l);
}

static void test_listen_reuseport(void)
{
    rsock_t *l1, *l2;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on_flags("127.0.0.1:0", -1, RSOCK_REUSEPORT, &l1) == 0);
    addr_text(l1, text);
    CHECK_EQ(rsock_listen_on_flags(text, -1, RSOCK_REUSEPORT, &l2), 0);
    rsock_close(l2);
    CHECK_ERR(rsock_listen_on(text, -1, &l2), EADDRINUSE, "Address already in use");
    rsock_close(l1);
}

static void test_refusals(void)
{
    rsock_t *s = NULL;
    CHECK_ERR(rsock_dial(NULL, -1, &s), EINVAL, "rsock_dial: NULL text");
    CHECK_ERR(rsock_dial("127.0.0.1:1", -1, NULL), EINVAL, "rsock_dial: NULL out");
    CHECK_ERR(rsock_dial("1.2.3.999:80", -1, &s), EINVAL, "1.2.3.999");
    CHECK_ERR(rsock_listen_on(NULL, -1, &s), EINVAL, "rsock_listen_on: NULL text");
    CHECK_ERR(rsock_listen_on(":1", -1, NULL), EINVAL, "rsock_listen_on: NULL out");
    CHECK_ERR(rsock_listen_on("nonsense", -1, &s), EINVAL, "nonsense");
    CHECK_ERR(rsock_listen_on_flags("127.0.0.1:0", -1, 8, &s), EINVAL, "unknown flags");
    CHECK_ERR(rsock_accept_wait(NULL, NULL, &s, -1), EINVAL, "rsock_accept_wait: NULL");
    CHECK_ERR(rsock_connect_wait(NULL, NULL, -1), EINVAL, "rsock_connect_wait: NULL");
    CHECK_ERR(rsock_read(NULL, NULL, 1, -1), EINVAL, "rsock_read: NULL");
    CHECK_ERR(rsock_write_all(NULL, "x", 1, -1), EINVAL, "rsock_write_all: NULL");
    CHECK_ERR(rsock_copy(NULL, NULL, -1), EINVAL, "rsock_copy: NULL");
    CHECK(s == NULL);
}

static void test_dial_refused(void)
{
    rsock_t *l, *s = NULL;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    addr_text(l, text);
    rsock_close(l); /* nobody listens there now */
    CHECK_ERR(rsock_dial(text, rsock_now() + 1000, &s), ECONNREFUSED, "Connection refused");
    CHECK(strstr(rsock_error_message(), text) != NULL);
    char path[300];
    snprintf(path, sizeof path, "%s/nobody.sock", tmpdir);
    CHECK_ERR(rsock_dial(path, rsock_now() + 1000, &s), ENOENT, "No such file");
    CHECK(s == NULL);
}

/* A listener whose accept queue is full drops SYNs: the connect stays
 * pending until the deadline. */
static void test_dial_timeout(void)
{
    rsock_t *l, *first, *s = NULL;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on("127.0.0.1:0", 0, &l) == 0);
    addr_text(l, text);
    rsock_t *extra[4] = {0};
    int n = 0;
    CHECK_EQ(rsock_dial(text, rsock_now() + 1000, &first), 0);
    int64_t t0 = rsock_now();
    int rc = 0;
    while (n < 4 && (rc = rsock_dial(text, rsock_now() + 200, &extra[n])) == 0)
        n++; /* the queue may take one or two more */
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK(strstr(rsock_error_message(), "timed out") != NULL);
    CHECK(rsock_now() - t0 >= 200);
    for (int i = 0; i < n; i++)
        rsock_close(extra[i]);
    rsock_close(first);
    rsock_close(l);
    (void)s;
}

/* A name with two addresses: the first refuses, the second answers.  The
 * waits are long: the lookup runs on a helper thread, and under valgrind on
 * a loaded host the first one (NSS loading) took more than 2 s. */
static void dial_each_address(void)
{
    rsock_t *l, *c = NULL, *a = NULL;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on("[::1]:0", -1, &l) == 0);
    addr_text(l, text);
    const char *port = strrchr(text, ':') + 1;
    char name[64];
    snprintf(name, sizeof name, "rsock-test-both:%s", port);
    CHECK_EQ(rsock_dial(name, rsock_now() + 15000, &c), 0);
    CHECK_EQ(rsock_accept_wait(l, NULL, &a, rsock_now() + 15000), 0);
    rsock_close(c);
    rsock_close(a);
    rsock_close(l);
    snprintf(name, sizeof name, "rsock-test-v4:%s", port);
    CHECK_ERR(rsock_dial(name, rsock_now() + 15000, &c), ECONNREFUSED, "rsock_dial");
}

static void test_dial_each_address(void) { CHECK_SANDBOXED(dial_each_address); }

/* ---- waiting ---- */

static void test_waits_time_out(void)
{
    rsock_t *l, *s, *x, *y;
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    int64_t t0 = rsock_now();
    CHECK_ERR(rsock_accept_wait(l, NULL, &s, t0 + 50), ETIMEDOUT, "rsock_accept_wait");
    CHECK(rsock_now() - t0 >= 50);
    CHECK_ERR(rsock_accept_wait(l, NULL, &s, 0), ETIMEDOUT, "timed out");
    rsock_close(l);
    unix_pair(&x, &y);
    char buf[16];
    CHECK_ERR(rsock_read(x, buf, sizeof buf, rsock_now() + 30), ETIMEDOUT, "rsock_read");
    CHECK_EQ(rsock_read(x, buf, 0, -1), 0);
    /* nobody reads y: write_all fills the buffers, then times out */
    static char big[4 * MiB];
    CHECK_ERR(rsock_write_all(x, big, sizeof big, rsock_now() + 100), ETIMEDOUT,
              "rsock_write_all");
    rsock_close(y);
    CHECK(rsock_write_all(x, "x", 1, rsock_now() + 100) < 0); /* peer gone: -EPIPE */
    rsock_close(x);
}

static void test_read_eof_and_write_all(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    struct stream w = {.s = x, .bytes = 3 * MiB + 17}, r = {.s = y};
    rsock_fiber *fw, *fr;
    REQUIRE(rsock_spawn(writer, &w, &fw) == 0);
    REQUIRE(rsock_spawn(reader, &r, &fr) == 0);
    rsock_join(fw, -1);
    rsock_join(fr, -1);
    CHECK_EQ(w.rc, 0);
    CHECK_EQ(r.rc, 0); /* end of stream */
    CHECK_EQ(r.done, w.bytes);
    CHECK(!r.bad);
    rsock_close(x);
    rsock_close(y);
}

static void test_connect_wait(void)
{
    rsock_t *l, *s, *a;
    rsock_addr addr;
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    REQUIRE(rsock_getsockname(l, &addr) == 0);
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &s) == 0);
    CHECK_EQ(rsock_connect_wait(s, &addr, rsock_now() + 1000), 0);
    CHECK_EQ(rsock_accept_wait(l, NULL, &a, rsock_now() + 1000), 0);
    rsock_close(a);
    rsock_close(s);
    rsock_close(l);
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &s) == 0);
    CHECK_ERR(rsock_connect_wait(s, &addr, rsock_now() + 1000), ECONNREFUSED,
              "Connection refused");
    rsock_close(s);
}

/* A server that speaks and closes at once, before the connecting fiber
 * first hears of its socket: the one edge brings output, input and the
 * peer's end of stream (EPOLLRDHUP) together.  Connected (no error is
 * pending: SO_ERROR is asked only on EPOLLERR / EPOLLHUP), then its bytes
 * and its end of stream are read. */
static void *speak_and_close(void *arg)
{
    int l = *(int *)arg, c = accept(l, NULL, NULL);
    if (c >= 0) {
        (void)!write(c, "hi", 2);
        close(c);
    }
    return NULL;
}

struct connecting {
    rsock_t *s;
    rsock_addr *addr;
    int rc;
};

static void connect_fiber(void *arg)
{
    struct connecting *c = arg;
    c->rc = rsock_connect_wait(c->s, c->addr, rsock_now() + 5000);
}

static void test_connect_wait_server_closed_at_once(void)
{
    rsock_addr addr;
    rsock_addr_in(&addr, "127.0.0.1", 0);
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(l >= 0 && bind(l, &addr.sa, addr.len) == 0 && listen(l, 4) == 0);
    socklen_t len = sizeof addr.ss;
    REQUIRE(getsockname(l, &addr.sa, &len) == 0);
    addr.len = len;
    pthread_t server;
    REQUIRE(pthread_create(&server, NULL, speak_and_close, &l) == 0);
    struct connecting c = {.addr = &addr, .rc = 1};
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &c.s) == 0);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(connect_fiber, &c, &f) == 0);
    rsock_yield();  /* it connects and parks */
    usleep(100000); /* the loop does not poll meanwhile: the server is done */
    REQUIRE(pthread_join(server, NULL) == 0);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(c.rc, 0);
    char buf[8];
    CHECK_EQ(rsock_read_full(c.s, buf, 2, NULL, rsock_now() + 5000), 2);
    CHECK(memcmp(buf, "hi", 2) == 0);
    CHECK_EQ(rsock_read(c.s, buf, 1, rsock_now() + 5000), 0);
    rsock_close(c.s);
    close(l);
}

/* ---- copy ---- */

/* Copy a -> b while fibers write (`wfn`) into a's peer and read b's peer
 * into `r`; the copy's result, once both fibers are done. */
static int64_t copy_between(rsock_t *a, rsock_t *b, int flags, void (*wfn)(void *), void *warg,
                            struct stream *r)
{
    rsock_fiber *fw, *fr;
    REQUIRE(rsock_spawn(wfn, warg, &fw) == 0);
    REQUIRE(rsock_spawn(reader, r, &fr) == 0);
    int64_t moved = rsock_copy_with(a, b, rsock_now() + 20000, 0, flags);
    rsock_join(fw, -1);
    rsock_join(fr, -1);
    return moved;
}

/* src -> a ==copy==> b -> dst over TCP, `bytes` of pattern, checked. */
static void copy_case(int flags, size_t bytes, bool tcp)
{
    rsock_t *src, *a, *b, *dst;
    if (tcp) {
        tcp_pair("127.0.0.1:0", &src, &a);
        tcp_pair("127.0.0.1:0", &b, &dst);
    } else {
        unix_pair(&src, &a);
        unix_pair(&b, &dst);
    }
    struct stream w = {.s = src, .bytes = bytes}, r = {.s = dst};
    int64_t moved = copy_between(a, b, flags, writer, &w, &r);
    CHECK_EQ(moved, (int64_t)bytes);
    CHECK_EQ(r.done, bytes);
    CHECK_EQ(r.rc, 0); /* the copy shut down b's writing side: dst saw the end */
    CHECK(!r.bad);
    CHECK_ERR(rsock_send(b, "x", 1, 0), EBADF, ""); /* output of b is shut down */
    rsock_close(src);
    rsock_close(a);
    rsock_close(b);
    rsock_close(dst);
}

/* Splicing leaves its (empty) pipe in the thread's pool; a buffer copy
 * leaves no descriptor behind. */
static void test_copy_8mib_splice(void)
{
    rsock__io_pool_drain();
    int before = check_fd_count();
    copy_case(RSOCK_COPY_SPLICE, 8 * MiB, true);
    CHECK_EQ(check_fd_count(), before + 2);
    rsock__io_pool_drain();
    CHECK_EQ(check_fd_count(), before);
}

static void test_copy_8mib_buffer(void)
{
    int before = check_fd_count();
    copy_case(RSOCK_COPY_BUFFER, 8 * MiB, true);
    CHECK_EQ(check_fd_count(), before);
}
static void test_copy_default(void) { copy_case(0, 8 * MiB + 5, true); }

/* Adaptive: messages through the buffer, bulk through splice, back and
 * forth; every byte arrives in order.  Whether a pipe was taken shows
 * which method ran: the pool keeps the pipe a splice used. */
static size_t phased_copy(const struct phase *phases, int nphases)
{
    rsock_t *src, *a, *b, *dst;
    tcp_pair("127.0.0.1:0", &src, &a);
    tcp_pair("127.0.0.1:0", &b, &dst);
    struct stream r = {.s = dst};
    struct phased w = {.st = {.s = src}, .phases = phases, .nphases = nphases, .reader = &r};
    int64_t moved = copy_between(a, b, RSOCK_COPY_ADAPTIVE, phased_writer, &w, &r);
    CHECK_EQ(w.st.rc, 0);
    CHECK_EQ(moved, (int64_t)w.st.done);
    CHECK_EQ(r.done, w.st.done);
    CHECK_EQ(r.rc, 0);
    CHECK(!r.bad);
    rsock_close(src);
    rsock_close(a);
    rsock_close(b);
    rsock_close(dst);
    return r.done;
}

static void test_copy_adaptive(void)
{
    rsock__io_pool_drain();
    int before = check_fd_count();
    const struct phase messages[] = {{100, 60, true}, {16 * 1024, 5, true}};
    CHECK_EQ(phased_copy(messages, 2), 6000u + 80u * 1024u);
    CHECK_EQ(check_fd_count(), before); /* messages of up to 16 KiB: no pipe */

    const struct phase mixed[] = {{64, 20, true}, {64 * 1024, 64, false}, {64, 20, true},
                                  {64 * 1024, 64, false}, {7, 3, true}};
    CHECK_EQ(phased_copy(mixed, 5), 40u * 64u + 8u * MiB + 21u);
    CHECK_EQ(check_fd_count(), before + 2); /* bulk went through a pipe */
    rsock__io_pool_drain();
    CHECK_EQ(check_fd_count(), before);
}
static void test_copy_unix(void)
{
    copy_case(RSOCK_COPY_SPLICE, 2 * MiB + 1, false);
    copy_case(RSOCK_COPY_BUFFER, 2 * MiB + 1, false);
}
static void test_copy_empty(void) { copy_case(0, 0, true); }

/* The receiver resets after 1 MiB: the copy moved bytes, then failed, and
 * says so (an error, not a byte count). */
static void copy_reset_case(int flags)
{
    rsock_t *src, *a, *b, *dst;
    tcp_pair("127.0.0.1:0", &src, &a);
    tcp_pair("127.0.0.1:0", &b, &dst);
    struct stream w = {.s = src, .bytes = 64 * MiB}, r = {.s = dst, .bytes = MiB,
                                                           .reset_after = true};
    rsock_fiber *fw, *fr;
    REQUIRE(rsock_spawn(writer, &w, &fw) == 0);
    REQUIRE(rsock_spawn(reader, &r, &fr) == 0);
    int64_t moved = rsock_copy_with(a, b, rsock_now() + 20000, 0, flags);
    CHECK(moved == -ECONNRESET || moved == -EPIPE);
    CHECK(strstr(rsock_error_message(), "rsock_copy") != NULL);
    CHECK(strstr(rsock_error_message(), "after") != NULL);
    CHECK(r.done >= MiB);
    rsock_close(a); /* the writer's sends now fail: it stops */
    rsock_join(fr, -1);
    rsock_join(fw, -1);
    CHECK(w.rc < 0);
    rsock_close(src);
    rsock_close(b);
    rsock_close(r.s);
}

/* With SIGPIPE at its default action, a splice copy into a reset peer must
 * not raise it (splice has no MSG_NOSIGNAL: the copy sends from a buffer). */
static void test_copy_no_sigpipe(void)
{
    signal(SIGPIPE, SIG_DFL);
    copy_reset_case(RSOCK_COPY_SPLICE);
    signal(SIGPIPE, SIG_IGN);
}

static void test_copy_error_after_progress(void)
{
    copy_reset_case(RSOCK_COPY_SPLICE);
    copy_reset_case(RSOCK_COPY_BUFFER);
}

static void test_copy_idle_and_deadline(void)
{
    int methods[2] = {RSOCK_COPY_SPLICE, RSOCK_COPY_BUFFER};
    for (int m = 0; m < 2; m++) {
        rsock_t *src, *a, *b, *dst;
        tcp_pair("127.0.0.1:0", &src, &a);
        tcp_pair("127.0.0.1:0", &b, &dst);
        int64_t t0 = rsock_now();
        CHECK_ERR(rsock_copy_with(a, b, -1, 60, methods[m]), ETIMEDOUT, "idle limit");
        CHECK(rsock_now() - t0 >= 60);
        t0 = rsock_now();
        CHECK_ERR(rsock_copy_with(a, b, t0 + 40, 0, methods[m]), ETIMEDOUT, "deadline");
        CHECK(rsock_now() - t0 >= 40);
        rsock_close(src);
        rsock_close(a);
        rsock_close(b);
        rsock_close(dst);
    }
    rsock_t *x, *y;
    unix_pair(&x, &y);
    CHECK_ERR(rsock_copy_with(x, y, -1, 0, 4), EINVAL, "bad flags");
    CHECK_ERR(rsock_copy_with(x, y, -1, 0, 16), EINVAL, "bad flags");
    rsock_close(x);
    rsock_close(y);
}

/* The idle clock shared by two copies (the proxy's two directions). */
static void test_copy_shared_idle_clock(void)
{
    rsock_t *src, *a, *b, *dst;
    unix_pair(&src, &a);
    unix_pair(&b, &dst);
    int64_t shared = rsock_now() + 150; /* "the other direction moved lately" */
    struct rsock__copy_opts o = {.deadline = -1, .idle_ms = 50, .last_active = &shared};
    int64_t t0 = rsock_now();
    CHECK_ERR(rsock__copy(a, b, &o), ETIMEDOUT, "idle limit");
    CHECK(rsock_now() - t0 >= 190);
    rsock_close(src);
    rsock_close(a);
    rsock_close(b);
    rsock_close(dst);
}

int main(void)
{
    rsock_t *warm;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &warm) == 0); /* this thread's loop */
    rsock_close(warm);
    REQUIRE(check_tmpdir(tmpdir));
    signal(SIGPIPE, SIG_IGN); /* as servers do: lets rsock_copy splice */
    int fds = check_fd_count();
    RUN(test_dial_listen_tcp);
    RUN(test_dial_listen_unix);
    RUN(test_listen_reuseport);
    RUN(test_refusals);
    RUN(test_dial_refused);
    RUN(test_dial_timeout);
    RUN(test_dial_each_address);
    RUN(test_waits_time_out);
    RUN(test_read_eof_and_write_all);
    RUN(test_connect_wait);
    RUN(test_connect_wait_server_closed_at_once);
    RUN(test_copy_8mib_splice);
    RUN(test_copy_8mib_buffer);
    RUN(test_copy_default);
    RUN(test_copy_adaptive);
    RUN(test_copy_unix);
    RUN(test_copy_empty);
    RUN(test_copy_no_sigpipe);
    RUN(test_copy_error_after_progress);
    RUN(test_copy_idle_and_deadline);
    RUN(test_copy_shared_idle_clock);
    rsock__io_pool_drain(); /* pooled pipes are descriptors too */
    CHECK_EQ(check_fd_count(), fds);
    rmdir(tmpdir);
    return check_done();
}
