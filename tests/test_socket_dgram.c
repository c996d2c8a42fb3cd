/* Datagram devices and the message calls: UDP (v4, v6) and Unix datagrams on
 * a temp-dir path, sendto/recvfrom with addresses, rsock_sendmsg/recvmsg with
 * scatter lists, MSG_TRUNC, control data (SCM_RIGHTS, MSG_CTRUNC), the raw
 * msghdr forms, and every bad input the message calls refuse. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>

static char dir[256];

static rsock_t *bound(int family, const char *text, rsock_addr *where)
{
    rsock_t *s;
    rsock_addr a;
    REQUIRE(rsock_addr_parse(&a, text) == 0);
    REQUIRE(rsock_socket(family, SOCK_DGRAM, 0, &s) == 0);
    REQUIRE(rsock_bind(s, &a) == 0);
    REQUIRE(rsock_getsockname(s, where) == 0);
    return s;
}

static ssize_t recv_wait(rsock_t *s, void *buf, size_t len, int flags, rsock_addr *from)
{
    ssize_t n;
    while ((n = rsock_recvfrom(s, buf, len, flags, from)) == -EAGAIN)
        REQUIRE(rsock_wait_in(s, rsock_now() + 5000) == 0);
    return n;
}

/* A datagram there and back between two bound sockets of one family. */
static void exchange(int family, const char *a_text, const char *b_text)
{
    rsock_addr wa, wb, from;
    rsock_t *a = bound(family, a_text, &wa), *b = bound(family, b_text, &wb);
    char buf[32] = "";
    CHECK_EQ(rsock_recvfrom(b, buf, sizeof buf, 0, &from), -EAGAIN); /* empty */
    CHECK_EQ(rsock_sendto(a, "ping", 4, 0, &wb), 4);
    CHECK_EQ(recv_wait(b, buf, sizeof buf, 0, &from), 4);
    CHECK(memcmp(buf, "ping", 4) == 0);
    CHECK_EQ(from.len, wa.len);
    CHECK(memcmp(&from.sa, &wa.sa, wa.len) == 0); /* the sender, exactly */
    CHECK_EQ(rsock_connect(b, &from), 0);         /* datagrams connect at once */
    CHECK_EQ(rsock_send(b, "pong", 4, 0), 4);
    CHECK_EQ(recv_wait(a, buf, sizeof buf, 0, NULL), 4);
    rsock_addr unspec;
    memset(&unspec, 0, sizeof unspec);
    unspec.len = sizeof unspec.sa;
    CHECK_EQ(rsock_connect(b, &unspec), 0); /* AF_UNSPEC dissolves it */
    CHECK_EQ(rsock_getpeername(b, &from), -ENOTCONN);
    rsock_close(a);
    rsock_close(b);
}

static void test_udp(void)
{
    exchange(AF_INET, "127.0.0.1:0", "127.0.0.1:0");
    exchange(AF_INET6, "[::1]:0", "[::1]:0");
}

static void test_unix_dgram(void)
{
    char pa[300], pb[300];
    snprintf(pa, sizeof pa, "%s/a.sock", dir);
    snprintf(pb, sizeof pb, "%s/b.sock", dir);
    exchange(AF_UNIX, pa, pb);
    unlink(pa);
    unlink(pb);
}

static void test_recvmsg_truncation_and_peek(void)
{
    rsock_addr wa, wb, from;
    rsock_t *a = bound(AF_INET, "127.0.0.1:0", &wa), *b = bound(AF_INET, "127.0.0.1:0", &wb);
    struct iovec out[2] = {{"0123456789", 10}, {"abcdefghij", 10}}; /* gathered */
    CHECK_EQ(rsock_sendmsg(a, &wb, out, 2, NULL, 0, 0), 20);
    char part[8];
    struct iovec in = {part, sizeof part};
    int rflags = 0;
    REQUIRE(rsock_wait_in(b, rsock_now() + 5000) == 0);
    CHECK_EQ(rsock_recvmsg(b, &from, &in, 1, NULL, NULL, MSG_PEEK, &rflags), 8);
    CHECK(rflags & MSG_TRUNC);
    CHECK_EQ(rsock_recvmsg(b, &from, &in, 1, NULL, NULL, MSG_TRUNC, &rflags), 20); /* full length */
    CHECK(rflags & MSG_TRUNC);
    CHECK(memcmp(part, "01234567", 8) == 0);
    CHECK_EQ(from.len, wa.len);
    CHECK(memcmp(&from.in, &wa.in, sizeof wa.in) == 0);
    rsock_close(a);
    rsock_close(b);
}

/* Send two descriptors with SCM_RIGHTS; receive with room for `room` bytes
 * of control data: all arrive, or MSG_CTRUNC says some did not. */
static void pass_fds(size_t room, bool expect_all)
{
    int sv[2], fds[2] = {open("/dev/null", O_RDONLY | O_CLOEXEC), open("/dev/zero", O_RDONLY | O_CLOEXEC)};
    rsock_t *x, *y;
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &x) == 0 && rsock_fdopen(sv[1], &y) == 0);
    union { char buf[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } ctl;
    memset(&ctl, 0, sizeof ctl);
    ctl.align.cmsg_level = SOL_SOCKET;
    ctl.align.cmsg_type = SCM_RIGHTS;
    ctl.align.cmsg_len = CMSG_LEN(2 * sizeof(int));
    memcpy(CMSG_DATA(&ctl.align), fds, sizeof fds);
    struct iovec iov = {"f", 1};
    CHECK_EQ(rsock_sendmsg(x, NULL, &iov, 1, ctl.buf, sizeof ctl.buf, 0), 1);
    close(fds[0]);
    close(fds[1]);
    union { char buf[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } got;
    char byte;
    struct iovec in = {&byte, 1};
    size_t ctllen = room;
    int rflags = 0;
    REQUIRE(rsock_wait_in(y, rsock_now() + 5000) == 0);
    CHECK_EQ(rsock_recvmsg(y, NULL, &in, 1, got.buf, &ctllen, 0, &rflags), 1);
    CHECK_EQ(!!(rflags & MSG_CTRUNC), !expect_all);
    size_t n = ctllen >= CMSG_LEN(0) ? (got.align.cmsg_len - CMSG_LEN(0)) / sizeof(int) : 0;
    CHECK_EQ(n, expect_all ? 2 : 1);
    for (size_t i = 0; i < n; i++) { /* they are ours now: close-on-exec, and to close */
        int fd;
        memcpy(&fd, CMSG_DATA(&got.align) + i * sizeof fd, sizeof fd);
        CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
        close(fd);
    }
    rsock_close(x);
    rsock_close(y);
}

static void test_scm_rights(void) { pass_fds(CMSG_SPACE(2 * sizeof(int)), true); }
/* Room for one descriptor exactly: CMSG_SPACE(sizeof(int)) would be padded
 * to hold two on x86-64. */
static void test_ctrunc_on_short_control_buffer(void) { pass_fds(CMSG_LEN(sizeof(int)), false); }

static void test_raw_msghdr(void)
{
    int sv[2];
    rsock_t *x, *y;
    REQUIRE(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &x) == 0 && rsock_fdopen(sv[1], &y) == 0);
    struct iovec out = {"record", 6};
    struct msghdr m = {.msg_iov = &out, .msg_iovlen = 1};
    CHECK_EQ(rsock_sendmsg_raw(x, &m, 0), 6);
    char buf[16];
    struct iovec in = {buf, sizeof buf};
    struct msghdr r = {.msg_iov = &in, .msg_iovlen = 1};
    REQUIRE(rsock_wait_in(y, rsock_now() + 5000) == 0);
    CHECK_EQ(rsock_recvmsg_raw(y, &r, 0), 6);
    CHECK_EQ(r.msg_flags & MSG_TRUNC, 0);
    rsock_close(x);
    rsock_close(y);
}

static void test_message_bad_input(void)
{
    int sv[2];
    rsock_t *x, *y;
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &x) == 0 && rsock_fdopen(sv[1], &y) == 0);
    struct iovec one = {"x", 1};
    char ctl[4] = {0}; /* shorter than a cmsghdr */
    size_t ctllen = sizeof ctl;
    CHECK_ERR(rsock_sendmsg(x, NULL, &one, (size_t)IOV_MAX + 1, NULL, 0, 0), EINVAL, "IOV_MAX");
    CHECK_ERR(rsock_recvmsg(y, NULL, &one, (size_t)IOV_MAX + 1, NULL, NULL, 0, NULL), EINVAL, "IOV_MAX");
    CHECK_ERR(rsock_sendmsg(x, NULL, NULL, 1, NULL, 0, 0), EINVAL, "NULL iov");
    CHECK_ERR(rsock_sendmsg(x, NULL, &one, 1, ctl, sizeof ctl, 0), EINVAL, "shorter than a header");
    CHECK_ERR(rsock_recvmsg(y, NULL, &one, 1, ctl, &ctllen, 0, NULL), EINVAL, "shorter than a header");
    CHECK_ERR(rsock_sendmsg(x, NULL, &one, 1, NULL, 16, 0), EINVAL, "NULL control");
    CHECK_ERR(rsock_sendmsg(NULL, NULL, &one, 1, NULL, 0, 0), EINVAL, "NULL");
    CHECK_ERR(rsock_sendmsg_raw(x, NULL, 0), EINVAL, "NULL msghdr");
    CHECK_ERR(rsock_recvmsg_raw(y, NULL, 0), EINVAL, "NULL msghdr");
    rsock_addr v4;
    rsock_addr_parse(&v4, "127.0.0.1:9");
    CHECK_ERR(rsock_sendto(x, "x", 1, 0, &v4), EINVAL, "rsock_sendto"); /* Unix socket, IPv4 address */
    rsock_close(x);
    rsock_close(y);
}

int main(void)
{
    rsock_yield();
    REQUIRE(check_tmpdir(dir));
    int fds = check_fd_count();
    RUN(test_udp);
    RUN(test_unix_dgram);
    RUN(test_recvmsg_truncation_and_peek);
    RUN(test_scm_rights);
    RUN(test_ctrunc_on_short_control_buffer);
    RUN(test_raw_msghdr);
    RUN(test_message_bad_input);
    CHECK_EQ(check_fd_count(), fds);
    rmdir(dir);
    return check_done();
}
