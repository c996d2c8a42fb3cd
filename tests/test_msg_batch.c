/* Batched messages: rsock_sendmmsg / rsock_recvmmsg and their waiting forms
 * over UDP v4 and v6, Unix datagrams (bound paths and socketpairs) and raw
 * ICMP, with addresses, truncation, control data per message, descriptors,
 * batches larger than one system call, and every bad input refused. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

static char dir[256];

static rsock_t *bound(const char *text, rsock_addr *where)
{
    rsock_t *s;
    REQUIRE(rsock_dgram_bind(text, &s) == 0);
    REQUIRE(rsock_getsockname(s, where) == 0);
    return s;
}

/* n messages "msg 0", "msg 1", ... from a to b, then all back in one batch. */
static void round_trip(const char *a_text, const char *b_text, int n)
{
    rsock_addr wa, wb;
    rsock_t *a = bound(a_text, &wa), *b = bound(b_text, &wb);
    char out[128][16], in[128][32];
    struct iovec oiov[128], iiov[128];
    rsock_mmsg om[128], im[128];
    rsock_addr from[128];
    REQUIRE(n <= 128);
    for (int i = 0; i < n; i++) {
        snprintf(out[i], sizeof out[i], "msg %d", i);
        oiov[i] = (struct iovec){out[i], strlen(out[i])};
        om[i] = (rsock_mmsg){.addr = &wb, .iov = &oiov[i], .iovcnt = 1};
        iiov[i] = (struct iovec){in[i], sizeof in[i]};
        im[i] = (rsock_mmsg){.addr = &from[i], .iov = &iiov[i], .iovcnt = 1};
    }
    CHECK_EQ(rsock_recvmmsg(b, im, (size_t)n, 0), -EAGAIN); /* nothing yet */
    CHECK_EQ(rsock_sendmmsg_wait(a, om, (size_t)n, 0, rsock_now() + 5000), n);
    for (int i = 0; i < n; i++)
        CHECK_EQ(om[i].len, strlen(out[i]));
    int got = 0;
    while (got < n) {
        int r = rsock_recvmmsg_wait(b, im + got, (size_t)(n - got), 0, rsock_now() + 5000);
        REQUIRE(r > 0);
        got += r;
    }
    for (int i = 0; i < n; i++) {
        CHECK_EQ(im[i].len, strlen(out[i]));
        CHECK(memcmp(in[i], out[i], im[i].len) == 0);
        CHECK_EQ(im[i].flags, 0);
        CHECK_EQ(from[i].len, wa.len); /* the sender, exactly */
        CHECK(memcmp(&from[i].sa, &wa.sa, wa.len) == 0);
    }
    rsock_close(a);
    rsock_close(b);
}

static void test_udp4(void) { round_trip("127.0.0.1:0", "127.0.0.1:0", 10); }
static void test_udp6(void) { round_trip("[::1]:0", "[::1]:0", 10); }

static void test_unix_paths(void)
{
    char pa[300], pb[300];
    snprintf(pa, sizeof pa, "%s/a.sock", dir);
    snprintf(pb, sizeof pb, "%s/b.sock", dir);
    round_trip(pa, pb, 10);
    unlink(pa);
    unlink(pb);
}

/* More messages than one system call takes (64): the batch goes on. */
static void test_more_than_a_chunk(void) { round_trip("127.0.0.1:0", "127.0.0.1:0", 100); }

static void test_socketpair_and_truncation(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    rsock_t *a, *b;
    REQUIRE(rsock_fdopen(sv[0], &a) == 0 && rsock_fdopen(sv[1], &b) == 0);
    struct iovec o[2] = {{"short", 5}, {"a longer message", 16}};
    rsock_mmsg om[2] = {{.iov = &o[0], .iovcnt = 1}, {.iov = &o[1], .iovcnt = 1}};
    CHECK_EQ(rsock_sendmmsg(a, om, 2, 0), 2);
    char x[8], y[8];
    struct iovec i[2] = {{x, sizeof x}, {y, sizeof y}};
    rsock_mmsg im[2] = {{.iov = &i[0], .iovcnt = 1}, {.iov = &i[1], .iovcnt = 1}};
    CHECK_EQ(rsock_recvmmsg(b, im, 2, 0), 2);
    CHECK_EQ(im[0].len, 5);
    CHECK_EQ(im[0].flags & MSG_TRUNC, 0);
    CHECK_EQ(im[1].len, 8);
    CHECK(im[1].flags & MSG_TRUNC); /* cut to the buffer, and said so */
    CHECK(memcmp(y, "a longer", 8) == 0);
    CHECK_EQ(rsock_sendmmsg(a, om, 0, 0), 0); /* nothing to do */
    rsock_close(a);
    rsock_close(b);
}

/* Each received message gets its own control data: IP_PKTINFO here. */
static void test_control_per_message(void)
{
    rsock_addr wa, wb;
    rsock_t *a = bound("127.0.0.1:0", &wa), *b = bound("127.0.0.1:0", &wb);
    CHECK_EQ(rsock_setsockopt_int(b, IPPROTO_IP, IP_PKTINFO, 1), 0);
    struct iovec o = {"x", 1};
    rsock_mmsg om[3];
    for (int i = 0; i < 3; i++)
        om[i] = (rsock_mmsg){.addr = &wb, .iov = &o, .iovcnt = 1};
    CHECK_EQ(rsock_sendmmsg(a, om, 3, 0), 3);
    union { char buf[3][64]; struct cmsghdr align; } ctl;
    char data[3][4];
    struct iovec iov[3];
    rsock_mmsg im[3];
    for (int i = 0; i < 3; i++) {
        iov[i] = (struct iovec){data[i], sizeof data[i]};
        im[i] = (rsock_mmsg){.iov = &iov[i], .iovcnt = 1, .ctl = ctl.buf[i], .ctllen = 64};
    }
    CHECK_EQ(rsock_recvmmsg_wait(b, im, 3, 0, rsock_now() + 5000), 3);
    for (int i = 0; i < 3; i++) {
        rsock_cmsg c;
        size_t pos = 0;
        rsock_pktinfo pi;
        CHECK(im[i].ctllen > 0 && im[i].ctllen < 64);
        CHECK_EQ(rsock_cmsg_next(im[i].ctl, im[i].ctllen, &pos, &c), 1);
        CHECK_EQ(rsock_cmsg_get_pktinfo(&c, &pi), 0);
        CHECK_EQ(pi.addr.in.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
        CHECK_EQ(rsock_cmsg_next(im[i].ctl, im[i].ctllen, &pos, &c), 0);
    }
    rsock_close(a);
    rsock_close(b);
}

/* Descriptors in a batch arrive close-on-exec; those the control buffer
 * cannot hold are closed by the kernel and MSG_CTRUNC says so. */
static void test_descriptors(void)
{
    int sv[2], fds_before = check_fd_count();
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    rsock_t *a, *b;
    REQUIRE(rsock_fdopen(sv[0], &a) == 0 && rsock_fdopen(sv[1], &b) == 0);
    int three[3] = {0, 1, 2};
    union { char buf[128]; struct cmsghdr align; } octl, ictl[2];
    size_t olen = 0;
    CHECK_EQ(rsock_cmsg_add_fds(octl.buf, sizeof octl.buf, &olen, three, 3), 0);
    struct iovec o = {"fds", 3};
    rsock_mmsg om[2] = {{.iov = &o, .iovcnt = 1, .ctl = octl.buf, .ctllen = olen},
                        {.iov = &o, .iovcnt = 1, .ctl = octl.buf, .ctllen = olen}};
    CHECK_EQ(rsock_sendmmsg(a, om, 2, 0), 2);
    char d[2][4];
    struct iovec iv[2] = {{d[0], 4}, {d[1], 4}};
    rsock_mmsg im[2] = {
        {.iov = &iv[0], .iovcnt = 1, .ctl = ictl[0].buf, .ctllen = sizeof ictl[0].buf},
        {.iov = &iv[1], .iovcnt = 1, .ctl = ictl[1].buf, .ctllen = CMSG_LEN(sizeof(int))}};
    CHECK_EQ(rsock_recvmmsg(b, im, 2, 0), 2);
    CHECK_EQ(im[0].flags & MSG_CTRUNC, 0);
    CHECK(im[1].flags & MSG_CTRUNC);
    for (int i = 0; i < 2; i++) {
        rsock_cmsg c;
        size_t pos = 0;
        int got[3] = {-1, -1, -1};
        REQUIRE(rsock_cmsg_next(im[i].ctl, im[i].ctllen, &pos, &c) == 1);
        int n = rsock_cmsg_get_fds(&c, got, 3);
        CHECK_EQ(n, i == 0 ? 3 : 1);
        for (int k = 0; k < n && k < 3; k++) {
            CHECK(fcntl(got[k], F_GETFD) & FD_CLOEXEC);
            close(got[k]);
        }
    }
    rsock_close(a);
    rsock_close(b);
    CHECK_EQ(check_fd_count(), fds_before); /* nothing leaked, truncated or not */
}

/* Raw sockets too: three ICMP echo requests in one batch, the replies in
 * batches (a raw ICMP socket also sees the requests themselves on lo). */
static uint16_t icmp_sum(const void *p, size_t len)
{
    uint32_t sum = 0;
    const uint8_t *b = p;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (len & 1)
        sum += (uint32_t)b[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

static void test_raw_icmp(void)
{
    rsock_t *s;
    if (rsock_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP, &s) < 0) {
        if (getenv("CI"))
            CHECK(!"a raw socket needs root (CAP_NET_RAW): CI runs as root");
        SKIP("needs CAP_NET_RAW for a raw ICMP socket");
    }
    rsock_addr lo;
    REQUIRE(rsock_addr_in(&lo, "127.0.0.1", 0) == 0);
    uint8_t req[3][8];
    struct iovec iov[3];
    rsock_mmsg m[3];
    uint16_t id = (uint16_t)getpid();
    for (int i = 0; i < 3; i++) {
        uint8_t h[8] = {8, 0, 0, 0, (uint8_t)(id >> 8), (uint8_t)id, 0, (uint8_t)i};
        uint16_t sum = icmp_sum(h, sizeof h);
        memcpy(h + 2, &sum, 2);
        memcpy(req[i], h, sizeof h);
        iov[i] = (struct iovec){req[i], sizeof req[i]};
        m[i] = (rsock_mmsg){.addr = &lo, .iov = &iov[i], .iovcnt = 1};
    }
    CHECK_EQ(rsock_sendmmsg(s, m, 3, 0), 3);
    int replies = 0;
    for (int rounds = 0; replies < 3 && rounds < 20; rounds++) {
        uint8_t in[8][128];
        struct iovec iiov[8];
        rsock_mmsg im[8];
        for (int i = 0; i < 8; i++) {
            iiov[i] = (struct iovec){in[i], sizeof in[i]};
            im[i] = (rsock_mmsg){.iov = &iiov[i], .iovcnt = 1};
        }
        int n = rsock_recvmmsg_wait(s, im, 8, 0, rsock_now() + 5000);
        REQUIRE(n > 0);
        for (int i = 0; i < n; i++) {
            size_t ihl = (size_t)(in[i][0] & 15) * 4; /* raw IPv4: the IP header first */
            if (im[i].len >= ihl + 8 && in[i][ihl] == 0 && in[i][ihl + 4] == (uint8_t)(id >> 8) &&
                in[i][ihl + 5] == (uint8_t)id)
                replies++;
        }
    }
    CHECK_EQ(replies, 3);
    rsock_close(s);
}

/* ---- the waiting forms ---- */

static rsock_t *late_target;
static rsock_addr late_to;

static void send_later(void *arg)
{
    (void)arg;
    rsock_sleep(rsock_now() + 20);
    CHECK_EQ(rsock_sendto(late_target, "late", 4, 0, &late_to), 4);
}

static void test_recv_waits(void)
{
    rsock_addr wa, wb;
    rsock_t *a = bound("127.0.0.1:0", &wa), *b = bound("127.0.0.1:0", &wb);
    char buf[8];
    struct iovec iov = {buf, sizeof buf};
    rsock_mmsg m = {.iov = &iov, .iovcnt = 1};
    CHECK_ERR(rsock_recvmmsg_wait(b, &m, 1, 0, 0), ETIMEDOUT, "rsock_recvmmsg_wait");
    CHECK_ERR(rsock_recvmmsg_wait(b, &m, 1, 0, rsock_now() + 20), ETIMEDOUT, "timed out");
    late_target = a;
    late_to = wb;
    rsock_fiber *f;
    REQUIRE(rsock_spawn(send_later, NULL, &f) == 0);
    CHECK_EQ(rsock_recvmmsg_wait(b, &m, 1, 0, rsock_now() + 5000), 1);
    CHECK_EQ(m.len, 4);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_close(a);
    rsock_close(b);
}

/* A Unix datagram peer whose queue is full makes the sender wait. */
static rsock_t *drain_from;
static int drained;

static void drain(void *arg)
{
    int want = *(int *)arg;
    char buf[64];
    while (drained < want) {
        ssize_t n = rsock_recvfrom_wait(drain_from, buf, sizeof buf, NULL, rsock_now() + 5000);
        if (n < 0)
            break;
        drained++;
    }
}

static void test_send_waits_for_room(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    rsock_t *a, *b;
    REQUIRE(rsock_fdopen(sv[0], &a) == 0 && rsock_fdopen(sv[1], &b) == 0);
    struct iovec o = {"0123456789abcdef", 16};
    enum { N = 600 }; /* more than the default queue of a Unix datagram pair */
    static rsock_mmsg m[N];
    for (int i = 0; i < N; i++)
        m[i] = (rsock_mmsg){.iov = &o, .iovcnt = 1};
    int first = rsock_sendmmsg(a, m, N, 0);
    CHECK(first > 0 && first < N); /* it filled */
    CHECK_EQ(rsock_sendmmsg(a, m, N, 0), -EAGAIN);
    CHECK_ERR(rsock_sendmmsg_wait(a, m, N, 0, 0), ETIMEDOUT, "after 0 of 600 messages");
    drain_from = b;
    drained = 0;
    int want = first + N;
    rsock_fiber *f;
    REQUIRE(rsock_spawn(drain, &want, &f) == 0);
    CHECK_EQ(rsock_sendmmsg_wait(a, m, N, 0, rsock_now() + 5000), N);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(drained, want);
    rsock_close(a);
    rsock_close(b);
}

/* ---- bad input ---- */

static void test_bad_input(void)
{
    rsock_addr wb;
    rsock_t *b = bound("127.0.0.1:0", &wb);
    char buf[4];
    struct iovec iov = {buf, sizeof buf};
    rsock_addr bad;
    memset(&bad, 0, sizeof bad);
    rsock_mmsg ok = {.iov = &iov, .iovcnt = 1};
    CHECK_ERR(rsock_sendmmsg(NULL, &ok, 1, 0), EINVAL, "NULL socket");
    CHECK_ERR(rsock_recvmmsg(NULL, &ok, 1, 0), EINVAL, "NULL socket");
    CHECK_ERR(rsock_sendmmsg(b, NULL, 1, 0), EINVAL, "NULL messages");
    CHECK_ERR(rsock_recvmmsg_wait(b, NULL, 2, 0, -1), EINVAL, "NULL messages");
    rsock_mmsg m[2] = {ok, ok};
    m[1].iovcnt = (size_t)IOV_MAX + 1;
    CHECK_ERR(rsock_sendmmsg(b, m, 2, 0), EINVAL, "message 1 has");
    m[1] = (rsock_mmsg){.iov = NULL, .iovcnt = 1};
    CHECK_ERR(rsock_recvmmsg(b, m, 2, 0), EINVAL, "message 1: NULL iov");
    m[1] = (rsock_mmsg){.iov = &iov, .iovcnt = 1, .ctl = NULL, .ctllen = 8};
    CHECK_ERR(rsock_recvmmsg(b, m, 2, 0), EINVAL, "NULL control buffer");
    m[1] = (rsock_mmsg){.iov = &iov, .iovcnt = 1, .ctl = buf, .ctllen = 4};
    CHECK_ERR(rsock_sendmmsg(b, m, 2, 0), EINVAL, "shorter than a header");
    m[1] = (rsock_mmsg){.iov = &iov, .iovcnt = 1, .addr = &bad};
    CHECK_ERR(rsock_sendmmsg_wait(b, m, 2, 0, -1), EINVAL, "message 1: invalid address");
    CHECK_EQ(rsock_connect(b, &wb), 0); /* shutdown needs a peer */
    CHECK_EQ(rsock_shutdown(b, SHUT_RD), 0);
    CHECK_ERR(rsock_recvmmsg(b, &ok, 1, 0), EBADF, "input is shut down");
    rsock_close(b);
    rsock_t *srv;
    REQUIRE(rsock_server_socket(AF_INET, SOCK_DGRAM, 0, &srv) == 0);
    CHECK_ERR(rsock_sendmmsg(srv, &ok, 1, 0), EBADF, "output is shut down or not open");
    rsock_close(srv);
}

int main(void)
{
    REQUIRE(check_tmpdir(dir));
    rsock_t *warm = NULL; /* the thread's loop exists before the fd count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    int fds = check_fd_count();
    RUN(test_udp4);
    RUN(test_udp6);
    RUN(test_unix_paths);
    RUN(test_more_than_a_chunk);
    RUN(test_socketpair_and_truncation);
    RUN(test_control_per_message);
    RUN(test_descriptors);
    RUN(test_raw_icmp);
    RUN(test_recv_waits);
    RUN(test_send_waits_for_room);
    RUN(test_bad_input);
    CHECK_EQ(check_fd_count(), fds);
    rsock_close(warm);
    rmdir(dir);
    return check_done();
}
