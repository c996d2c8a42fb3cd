/* Socket devices over real sockets: every stream family (TCP v4/v6, Unix
 * stream and seqpacket on a temp-dir path, socketpair), lifecycle, would-block
 * paths, pending connect, refusal, half-close, end of stream, peeking, flags
 * on made/adopted/accepted descriptors, no SIGPIPE, and bad input. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/un.h>

static char dir[256];

/* A listening server device for address text, bound and listening. */
static rsock_t *server_at(int family, int type, const char *text, rsock_addr *where)
{
    rsock_t *l;
    rsock_addr a;
    REQUIRE(rsock_addr_parse(&a, text) == 0);
    REQUIRE(rsock_server_socket(family, type, 0, &l) == 0);
    REQUIRE(rsock_bind(l, &a) == 0);
    REQUIRE(rsock_listen(l, -1) == 0);
    REQUIRE(rsock_getsockname(l, where) == 0);
    return l;
}

/* A connected pair through a listener: client c, accepted a. */
static void connected(int family, int type, const char *text, rsock_t **c, rsock_t **a)
{
    rsock_addr where, peer;
    rsock_t *l = server_at(family, type, text, &where);
    REQUIRE(rsock_socket(family, type, 0, c) == 0);
    int rc = rsock_connect(*c, &where);
    if (rc == -EINPROGRESS) { /* TCP: pending until the handshake ends */
        int err = -1;
        REQUIRE(rsock_wait_out(*c, rsock_now() + 5000) == 0);
        REQUIRE(rsock_getsockopt_int(*c, SOL_SOCKET, SO_ERROR, &err) == 0);
        rc = -err;
    }
    REQUIRE(rc == 0);
    while ((rc = rsock_accept(l, &peer, a)) == -EAGAIN)
        REQUIRE(rsock_wait_in(l, rsock_now() + 5000) == 0);
    REQUIRE(rc == 0);
    CHECK_EQ(rsock_addr_family(&peer), family);
    rsock_close(l);
}

static void recv_exactly(rsock_t *s, char *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        ssize_t n = rsock_recv(s, buf + got, len - got, 0);
        if (n == -EAGAIN) {
            REQUIRE(rsock_wait_in(s, rsock_now() + 5000) == 0);
            continue;
        }
        REQUIRE(n > 0);
        got += (size_t)n;
    }
}

static bool nonblocking_cloexec(rsock_t *s)
{
    int fd = rsock_fd(s);
    return (fcntl(fd, F_GETFL) & O_NONBLOCK) && (fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

/* The conversation every stream kind must carry: both ways, peek, EAGAIN on
 * empty, half-close, end of stream. */
static void converse(rsock_t *c, rsock_t *a, int type)
{
    char buf[64] = "";
    CHECK(nonblocking_cloexec(c) && nonblocking_cloexec(a));
    CHECK_EQ(rsock_recv(a, buf, sizeof buf, 0), -EAGAIN);
    CHECK_EQ(rsock_send(c, "hello", 5, 0), 5);
    CHECK_EQ(rsock_wait_in(a, rsock_now() + 5000), 0);
    CHECK_EQ(rsock_recv(a, buf, 5, MSG_PEEK), 5); /* still there afterwards */
    recv_exactly(a, buf, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(rsock_send(a, "back", 4, 0), 4);
    recv_exactly(c, buf, 4);
    CHECK(memcmp(buf, "back", 4) == 0);
    CHECK_EQ(rsock_shutdown(c, SHUT_WR), 0);
    CHECK_ERR(rsock_send(c, "x", 1, 0), EBADF, "output is shut down");
    ssize_t n;
    while ((n = rsock_recv(a, buf, sizeof buf, 0)) == -EAGAIN)
        REQUIRE(rsock_wait_in(a, rsock_now() + 5000) == 0);
    CHECK_EQ(n, 0); /* end of stream */
    CHECK_EQ(rsock_send(a, "after", 5, 0), 5); /* the other direction still works */
    recv_exactly(c, buf, 5);
    CHECK_EQ(rsock_type(c), type);
}

static void test_tcp_ipv4(void)
{
    rsock_t *c, *a;
    connected(AF_INET, SOCK_STREAM, "127.0.0.1:0", &c, &a);
    converse(c, a, SOCK_STREAM);
    rsock_addr p;
    CHECK_EQ(rsock_getpeername(a, &p), 0);
    CHECK_EQ(rsock_addr_family(&p), AF_INET);
    CHECK_EQ(rsock_domain(c), AF_INET);
    rsock_close(c);
    rsock_close(a);
}

static void test_tcp_ipv6(void)
{
    rsock_t *c, *a;
    connected(AF_INET6, SOCK_STREAM, "[::1]:0", &c, &a);
    converse(c, a, SOCK_STREAM);
    CHECK_EQ(rsock_domain(a), AF_INET6);
    rsock_close(c);
    rsock_close(a);
}

static void test_unix_stream_and_seqpacket(void)
{
    int types[] = {SOCK_STREAM, SOCK_SEQPACKET};
    for (int i = 0; i < 2; i++) {
        char path[300];
        rsock_t *c, *a;
        snprintf(path, sizeof path, "%s/s%d.sock", dir, i);
        connected(AF_UNIX, types[i], path, &c, &a);
        converse(c, a, types[i]);
        rsock_close(c);
        rsock_close(a);
        unlink(path);
    }
}

static void test_socketpair_adopted(void)
{
    int sv[2];
    rsock_t *c, *a;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0); /* blocking, inheritable */
    REQUIRE(rsock_fdopen(sv[0], &c) == 0 && rsock_fdopen(sv[1], &a) == 0);
    CHECK(rsock_is_socket(sv[0]));
    CHECK_EQ(rsock_domain(c), AF_UNIX);
    converse(c, a, SOCK_STREAM);
    rsock_close(c);
    rsock_close(a);
    CHECK(!rsock_is_socket(sv[0])); /* closed with its device */
}

static void test_accept_and_connect_paths(void)
{
    rsock_addr where;
    rsock_t *l = server_at(AF_INET, SOCK_STREAM, "127.0.0.1:0", &where), *x, *c;
    CHECK_EQ(rsock_accept(l, NULL, &x), -EAGAIN); /* none pending */
    CHECK_ERR(rsock_send(l, "x", 1, 0), EBADF, "output");  /* a server socket */
    /* Refused: a port bound but not listening. */
    rsock_t *quiet;
    rsock_addr qa, qwhere;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &quiet) == 0);
    rsock_addr_parse(&qa, "127.0.0.1:0");
    REQUIRE(rsock_bind(quiet, &qa) == 0 && rsock_getsockname(quiet, &qwhere) == 0);
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &c) == 0);
    int rc = rsock_connect(c, &qwhere), err = 0;
    if (rc == -EINPROGRESS) {
        CHECK_EQ(rsock_wait_out(c, rsock_now() + 5000), 0);
        CHECK_EQ(rsock_getsockopt_int(c, SOL_SOCKET, SO_ERROR, &err), 0);
        rc = -err;
    }
    CHECK_EQ(rc, -ECONNREFUSED);
    rsock_close(c);
    rsock_close(quiet);
    rsock_close(l);
}

static void test_send_into_full_buffer(void)
{
    rsock_t *c, *a;
    connected(AF_INET, SOCK_STREAM, "127.0.0.1:0", &c, &a);
    REQUIRE(rsock_setsockopt_int(c, SOL_SOCKET, SO_SNDBUF, 4096) == 0);
    static char chunk[65536];
    ssize_t n = 0;
    for (int i = 0; i < 10000 && (n = rsock_send(c, chunk, sizeof chunk, 0)) > 0; i++)
        ;
    CHECK_EQ(n, -EAGAIN); /* nobody reads a: the buffers fill */
    CHECK_ERR(rsock_wait_out(c, 0), ETIMEDOUT, "not ready");
    rsock_close(c);
    rsock_close(a);
}

static void test_no_sigpipe(void)
{
    signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill this test */
    rsock_t *c, *a;
    connected(AF_INET, SOCK_STREAM, "127.0.0.1:0", &c, &a);
    rsock_close(a);
    ssize_t n = 0;
    for (int i = 0; i < 100 && (n = rsock_send(c, "x", 1, 0)) >= 0; i++)
        rsock_sleep(rsock_now() + 1);
    CHECK(n == -EPIPE || n == -ECONNRESET);
    rsock_close(c);
}

static void test_bad_input(void)
{
    rsock_t *s, *u;
    rsock_addr v6, bad = {0};
    char buf[8];
    CHECK_ERR(rsock_socket(AF_INET, SOCK_STREAM, 0, NULL), EINVAL, "NULL");
    CHECK_ERR(rsock_socket(12345, SOCK_STREAM, 0, &s), EAFNOSUPPORT, "rsock_socket");
    CHECK_ERR(rsock_bind(NULL, &v6), EINVAL, "NULL");
    CHECK_ERR(rsock_listen(NULL, 1), EINVAL, "NULL");
    CHECK_ERR(rsock_accept(NULL, NULL, &s), EINVAL, "NULL");
    CHECK_ERR(rsock_connect(NULL, &v6), EINVAL, "NULL");
    CHECK_ERR(rsock_shutdown(NULL, SHUT_WR), EINVAL, "NULL");
    CHECK_ERR(rsock_send(NULL, "x", 1, 0), EINVAL, "NULL");
    CHECK_ERR(rsock_recv(NULL, buf, 1, 0), EINVAL, "NULL");
    CHECK_ERR(rsock_getpeername(NULL, &v6), EINVAL, "NULL");
    CHECK_ERR(rsock_domain(NULL), EINVAL, "NULL");
    CHECK_ERR(rsock_fd(NULL), EINVAL, "NULL");
    CHECK_EQ(rsock_close(NULL), 0);
    int file = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK_ERR(rsock_fdopen(file, &s), ENOTSOCK, "rsock_fdopen");
    CHECK(fcntl(file, F_GETFD) >= 0); /* left open and untouched */
    close(file);
    CHECK_ERR(rsock_fdopen(file, &s), EBADF, "rsock_fdopen");
    CHECK_ERR(rsock_fdopen(0, NULL), EINVAL, "NULL out");

    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &s) == 0);
    rsock_addr_parse(&v6, "[::1]:1");
    CHECK_ERR(rsock_bind(s, &v6), EAFNOSUPPORT, "family");    /* wrong family */
    bad.sa.sa_family = 12345; /* no family rsock knows */
    bad.len = sizeof bad.in;
    CHECK_ERR(rsock_connect(s, &bad), EINVAL, "invalid address");
    CHECK_ERR(rsock_bind(s, &bad), EINVAL, "invalid address");
    CHECK_ERR(rsock_shutdown(s, 42), EINVAL, "bad how");
    CHECK_ERR(rsock_send(s, NULL, 1, 0), EINVAL, "NULL buffer");
    CHECK_ERR(rsock_getpeername(s, &v6), ENOTCONN, "rsock_getpeername");
    /* A descriptor closed behind the device's back. */
    REQUIRE(rsock_socket(AF_UNIX, SOCK_DGRAM, 0, &u) == 0);
    close(rsock_fd(u));
    CHECK_ERR(rsock_send(u, "x", 1, 0), EBADF, "rsock_send");
    CHECK_ERR(rsock_recv(u, buf, 1, 0), EBADF, "rsock_recv");
    rsock_close(u); /* reports close's EBADF, frees the device */
    rsock_close(s);
}

int main(void)
{
    rsock_yield(); /* make the thread's loop before counting descriptors */
    REQUIRE(check_tmpdir(dir));
    int fds = check_fd_count();
    RUN(test_tcp_ipv4);
    RUN(test_tcp_ipv6);
    RUN(test_unix_stream_and_seqpacket);
    RUN(test_socketpair_adopted);
    RUN(test_accept_and_connect_paths);
    RUN(test_send_into_full_buffer);
    RUN(test_no_sigpipe);
    RUN(test_bad_input);
    CHECK_EQ(check_fd_count(), fds);
    rmdir(dir);
    return check_done();
}
