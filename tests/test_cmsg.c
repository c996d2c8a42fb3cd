/* Control data: the walker and the builder on buffers that lie (each read
 * checked by ASan on exact-size heap buffers), and every typed message
 * round-tripped over a real socket: SCM_RIGHTS, SCM_CREDENTIALS,
 * IP_PKTINFO / IPV6_PKTINFO both ways, IP_TTL / IPV6_HOPLIMIT, IP_TOS /
 * IPV6_TCLASS, SO_TIMESTAMPNS, SO_TIMESTAMPING (receive, and transmit from
 * the error queue), SO_RXQ_OVFL, IP_RECVERR / IPV6_RECVERR. */
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <time.h>

typedef union {
    char buf[512];
    struct cmsghdr align;
} ctlbuf;

static rsock_t *bound(const char *text, rsock_addr *where)
{
    rsock_t *s;
    REQUIRE(rsock_dgram_bind(text, &s) == 0);
    REQUIRE(rsock_getsockname(s, where) == 0);
    return s;
}

/* Receive one datagram with its control data, waiting up to 5 s. */
static ssize_t recv_ctl(rsock_t *s, char *buf, size_t len, ctlbuf *ctl, size_t *ctllen,
                        rsock_addr *from)
{
    struct iovec iov = {buf, len};
    ssize_t n;
    for (;;) {
        *ctllen = sizeof ctl->buf;
        n = rsock_recvmsg(s, from, &iov, 1, ctl->buf, ctllen, 0, NULL);
        if (n != -EAGAIN)
            return n;
        REQUIRE(rsock_wait_in(s, rsock_now() + 5000) == 0);
    }
}

/* The first message of (level, type) in a control buffer. */
static bool find(const ctlbuf *ctl, size_t ctllen, int level, int type, rsock_cmsg *out)
{
    size_t pos = 0;
    while (rsock_cmsg_next(ctl->buf, ctllen, &pos, out) == 1)
        if (out->level == level && out->type == type)
            return true;
    return false;
}

/* ---- walker and builder ---- */

static void test_build_and_walk(void)
{
    ctlbuf ctl;
    size_t len = 0;
    int one = 1;
    CHECK_EQ(rsock_cmsg_add(ctl.buf, sizeof ctl.buf, &len, SOL_SOCKET, 77, &one, sizeof one), 0);
    CHECK_EQ(len, CMSG_SPACE(sizeof one));
    CHECK_EQ(rsock_cmsg_add(ctl.buf, sizeof ctl.buf, &len, IPPROTO_IP, 5, "abc", 3), 0);
    CHECK_EQ(rsock_cmsg_add(ctl.buf, sizeof ctl.buf, &len, IPPROTO_IPV6, 6, NULL, 0), 0);
    /* the system's own macros read what the builder wrote */
    struct msghdr msg = {.msg_control = ctl.buf, .msg_controllen = len};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    REQUIRE(c && c->cmsg_type == 77 && c->cmsg_len == CMSG_LEN(sizeof one));
    c = CMSG_NXTHDR(&msg, c);
    REQUIRE(c && c->cmsg_type == 5 && memcmp(CMSG_DATA(c), "abc", 3) == 0);
    rsock_cmsg m;
    size_t pos = 0;
    CHECK_EQ(rsock_cmsg_next(ctl.buf, len, &pos, &m), 1);
    CHECK_EQ(m.level, SOL_SOCKET);
    CHECK_EQ(m.len, sizeof one);
    CHECK_EQ(rsock_cmsg_next(ctl.buf, len, &pos, &m), 1);
    CHECK_EQ(m.len, 3);
    CHECK(memcmp(m.data, "abc", 3) == 0);
    CHECK_EQ(rsock_cmsg_next(ctl.buf, len, &pos, &m), 1);
    CHECK_EQ(m.level, IPPROTO_IPV6);
    CHECK_EQ(m.len, 0);
    CHECK_EQ(rsock_cmsg_next(ctl.buf, len, &pos, &m), 0);
    CHECK_EQ(pos, len);
    pos = 0;
    CHECK_EQ(rsock_cmsg_next(NULL, 0, &pos, &m), 0); /* an empty buffer */
    /* the last message's padding may be cut (the kernel's controllen) */
    len = 0;
    CHECK_EQ(rsock_cmsg_add(ctl.buf, sizeof ctl.buf, &len, 1, 2, "xyz", 3), 0);
    pos = 0;
    CHECK_EQ(rsock_cmsg_next(ctl.buf, CMSG_LEN(3), &pos, &m), 1);
    CHECK_EQ(pos, CMSG_LEN(3));
    CHECK_EQ(rsock_cmsg_next(ctl.buf, CMSG_LEN(3), &pos, &m), 0);
}

/* A heap copy of exactly `len` bytes at an odd address: ASan sees any read
 * past it, and nothing may assume alignment. */
static char *exact(const void *src, size_t len, char **block)
{
    *block = malloc(len + 1);
    REQUIRE(*block);
    memcpy(*block + 1, src, len);
    return *block + 1;
}

static void test_lying_headers(void)
{
    struct cmsghdr h = {.cmsg_len = CMSG_LEN(4), .cmsg_level = 1, .cmsg_type = 2};
    char raw[CMSG_SPACE(4)] = {0}, *block;
    rsock_cmsg m;
    size_t pos;
    /* a length past the end */
    h.cmsg_len = CMSG_LEN(64);
    memcpy(raw, &h, sizeof h);
    char *p = exact(raw, sizeof raw, &block);
    pos = 0;
    CHECK_ERR(rsock_cmsg_next(p, sizeof raw, &pos, &m), EINVAL, "says");
    CHECK_EQ(pos, 0);
    free(block);
    /* a length under the header's size */
    h.cmsg_len = 3;
    memcpy(raw, &h, sizeof h);
    p = exact(raw, sizeof raw, &block);
    pos = 0;
    CHECK_ERR(rsock_cmsg_next(p, sizeof raw, &pos, &m), EINVAL, "at least");
    free(block);
    /* a huge length (would wrap a careless sum) */
    h.cmsg_len = (size_t)-8;
    memcpy(raw, &h, sizeof h);
    p = exact(raw, sizeof raw, &block);
    pos = 0;
    CHECK_ERR(rsock_cmsg_next(p, sizeof raw, &pos, &m), EINVAL, "says");
    free(block);
    /* a partial header at the end */
    h.cmsg_len = CMSG_LEN(4);
    memcpy(raw, &h, sizeof h);
    p = exact(raw, sizeof raw, &block);
    pos = 0;
    CHECK_EQ(rsock_cmsg_next(p, sizeof raw - 4, &pos, &m), 1); /* padding cut: fine */
    pos = 0;
    CHECK_ERR(rsock_cmsg_next(p, 7, &pos, &m), EINVAL, "partial header");
    pos = sizeof raw + 1;
    CHECK_ERR(rsock_cmsg_next(p, sizeof raw, &pos, &m), EINVAL, "past the buffer");
    free(block);
    pos = 0;
    CHECK_ERR(rsock_cmsg_next(NULL, 16, &pos, &m), EINVAL, "NULL buffer");
    CHECK_ERR(rsock_cmsg_next(raw, 16, NULL, &m), EINVAL, "NULL pos");
    CHECK_ERR(rsock_cmsg_next(raw, 16, &pos, NULL), EINVAL, "NULL out");
    /* a lying buffer closes nothing */
    h.cmsg_len = CMSG_LEN(64);
    h.cmsg_level = SOL_SOCKET;
    h.cmsg_type = SCM_RIGHTS;
    memcpy(raw, &h, sizeof h);
    CHECK_ERR(rsock_cmsg_close_fds(raw, sizeof raw), EINVAL, "says");
}

static void test_builder_overflow(void)
{
    char buf[64];
    memset(buf, '#', sizeof buf);
    size_t len = 0;
    char data[40] = {0};
    CHECK_ERR(rsock_cmsg_add(buf, sizeof buf, &len, 1, 2, data, 49), ENOSPC, "do not fit");
    CHECK_EQ(len, 0);
    CHECK_EQ(rsock_cmsg_add(buf, sizeof buf, &len, 1, 2, data, 40), 0); /* 16 + 40 + 0 pad */
    CHECK_EQ(len, 56);
    char before[sizeof buf];
    memcpy(before, buf, sizeof buf);
    CHECK_ERR(rsock_cmsg_add(buf, sizeof buf, &len, 1, 2, NULL, 0), ENOSPC, "56 of 64");
    CHECK_ERR(rsock_cmsg_add(buf, sizeof buf, &len, 1, 2, data, (size_t)-1), ENOSPC, "fit");
    CHECK(memcmp(before, buf, sizeof buf) == 0); /* nothing written */
    CHECK_EQ(len, 56);
    CHECK_ERR(rsock_cmsg_add(buf, sizeof buf, &len, 1, 2, NULL, 4), EINVAL, "NULL data");
    CHECK_ERR(rsock_cmsg_add(NULL, 8, &len, 1, 2, data, 1), EINVAL, "NULL buffer");
    len = 65;
    CHECK_ERR(rsock_cmsg_add(buf, sizeof buf, &len, 1, 2, data, 1), EINVAL, "past the capacity");
    int fds[254] = {0};
    len = 0;
    CHECK_ERR(rsock_cmsg_add_fds(buf, sizeof buf, &len, fds, 254), EINVAL, "1 to 253");
    CHECK_ERR(rsock_cmsg_add_fds(buf, sizeof buf, &len, fds, 20), ENOSPC, "do not fit");
    CHECK_ERR(rsock_cmsg_add_int(buf, sizeof buf, &len, IPPROTO_IP, IP_TTL, 0), EINVAL,
              "out of range");
    CHECK_ERR(rsock_cmsg_add_int(buf, sizeof buf, &len, SOL_SOCKET, SO_RXQ_OVFL, 1), EINVAL,
              "received, never sent");
    CHECK_ERR(rsock_cmsg_add_int(buf, sizeof buf, &len, 99, 99, 1), EINVAL,
              "not an integer control message");
    rsock_pktinfo pi;
    memset(&pi, 0, sizeof pi);
    pi.addr.sa.sa_family = AF_UNIX;
    CHECK_ERR(rsock_cmsg_add_pktinfo(buf, sizeof buf, &len, &pi), EINVAL, "family 1");
    CHECK_EQ(len, 0);
}

static void test_decoders_refuse(void)
{
    int64_t v;
    struct ucred cr;
    rsock_pktinfo pi;
    rsock_sockerr e;
    int fds[2];
    rsock_cmsg c = {.level = SOL_SOCKET, .type = SCM_RIGHTS, .data = "abcdef", .len = 6};
    CHECK_ERR(rsock_cmsg_get_fds(&c, fds, 2), EINVAL, "not a whole number");
    c.type = SCM_CREDENTIALS;
    CHECK_ERR(rsock_cmsg_get_creds(&c, &cr), EINVAL, "6 bytes of data, not 12");
    CHECK_ERR(rsock_cmsg_get_fds(&c, fds, 2), EINVAL, "is not level 1 type 1");
    CHECK_ERR(rsock_cmsg_get_int(&c, &v), EINVAL, "not an integer");
    CHECK_ERR(rsock_cmsg_get_timestamp(&c, &v), EINVAL, "not a timestamp");
    c = (rsock_cmsg){.level = IPPROTO_IP, .type = IP_TTL, .data = "ab", .len = 2};
    CHECK_ERR(rsock_cmsg_get_int(&c, &v), EINVAL, "IP_TTL with 2 bytes");
    c.len = 0; /* found by fuzz_cmsg: a type with one width took an empty payload */
    CHECK_ERR(rsock_cmsg_get_int(&c, &v), EINVAL, "IP_TTL with 0 bytes");
    c.type = IP_TOS; /* two widths, neither 0 */
    CHECK_ERR(rsock_cmsg_get_int(&c, &v), EINVAL, "IP_TOS with 0 bytes");
    CHECK_ERR(rsock_cmsg_get_pktinfo(&c, &pi), EINVAL, "is not level 0 type 8");
    CHECK_ERR(rsock_cmsg_get_sockerr(&c, &e), EINVAL, "is not level 0 type 11");
    c = (rsock_cmsg){.level = IPPROTO_IP, .type = IP_RECVERR, .data = "ab", .len = 2};
    CHECK_ERR(rsock_cmsg_get_sockerr(&c, &e), EINVAL, "shorter than sock_extended_err");
    struct { struct sock_extended_err ee; uint16_t family; } odd = {.family = AF_INET};
    c = (rsock_cmsg){.level = IPPROTO_IP, .type = IP_RECVERR, .data = &odd, .len = sizeof odd};
    CHECK_ERR(rsock_cmsg_get_sockerr(&c, &e), EINVAL, "offender of family 2");
    struct timespec ts[3] = {{0, 0}, {0, 0}, {0, 0}};
    c = (rsock_cmsg){.level = SOL_SOCKET, .type = SCM_TIMESTAMPING, .data = ts, .len = sizeof ts};
    CHECK_ERR(rsock_cmsg_get_timestamp(&c, &v), EINVAL, "no stamp set");
    ts[0].tv_nsec = 1000000000;
    CHECK_ERR(rsock_cmsg_get_timestamp(&c, &v), EINVAL, "out of range");
    CHECK_ERR(rsock_cmsg_get_int(NULL, &v), EINVAL, "NULL message");
}

/* ---- SCM_RIGHTS and SCM_CREDENTIALS over a Unix socket ---- */

static void pair(int type, rsock_t **a, rsock_t **b)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, type, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], a) == 0 && rsock_fdopen(sv[1], b) == 0);
}

static void test_rights(void)
{
    int fds_before = check_fd_count();
    rsock_t *a, *b;
    pair(SOCK_STREAM, &a, &b);
    int p[2];
    REQUIRE(pipe(p) == 0);
    REQUIRE(write(p[1], "through", 7) == 7);
    int three[3] = {p[0], p[1], p[0]};
    ctlbuf ctl;
    size_t len = 0;
    CHECK_EQ(rsock_cmsg_add_fds(ctl.buf, sizeof ctl.buf, &len, three, 3), 0);
    struct iovec iov = {"r", 1};
    CHECK_EQ(rsock_sendmsg(a, NULL, &iov, 1, ctl.buf, len, 0), 1);
    close(p[0]);
    close(p[1]);
    char buf[8];
    size_t got_len;
    CHECK_EQ(recv_ctl(b, buf, sizeof buf, &ctl, &got_len, NULL), 1);
    rsock_cmsg c;
    REQUIRE(find(&ctl, got_len, SOL_SOCKET, SCM_RIGHTS, &c));
    int mine[1] = {-1};
    CHECK_EQ(rsock_cmsg_get_fds(&c, mine, 1), 3); /* 3 carried, 2 closed */
    CHECK(fcntl(mine[0], F_GETFD) & FD_CLOEXEC);
    CHECK_EQ(read(mine[0], buf, sizeof buf), 7); /* the pipe itself */
    CHECK(memcmp(buf, "through", 7) == 0);
    close(mine[0]);
    /* a buffer never decoded: rsock_cmsg_close_fds */
    REQUIRE(pipe(p) == 0);
    len = 0;
    CHECK_EQ(rsock_cmsg_add_fds(ctl.buf, sizeof ctl.buf, &len, p, 2), 0);
    CHECK_EQ(rsock_sendmsg(a, NULL, &iov, 1, ctl.buf, len, 0), 1);
    close(p[0]);
    close(p[1]);
    CHECK_EQ(recv_ctl(b, buf, sizeof buf, &ctl, &got_len, NULL), 1);
    CHECK_EQ(rsock_cmsg_close_fds(ctl.buf, got_len), 2);
    rsock_close(a);
    rsock_close(b);
    CHECK_EQ(check_fd_count(), fds_before);
}

static void test_credentials(void)
{
    rsock_t *a, *b;
    pair(SOCK_DGRAM, &a, &b);
    CHECK_EQ(rsock_setsockopt_int(b, SOL_SOCKET, SO_PASSCRED, 1), 0);
    ctlbuf ctl;
    size_t len = 0;
    CHECK_EQ(rsock_cmsg_add_creds(ctl.buf, sizeof ctl.buf, &len, NULL), 0);
    struct iovec iov = {"c", 1};
    CHECK_EQ(rsock_sendmsg(a, NULL, &iov, 1, ctl.buf, len, 0), 1);
    char buf[4];
    CHECK_EQ(recv_ctl(b, buf, sizeof buf, &ctl, &len, NULL), 1);
    rsock_cmsg c;
    struct ucred cr;
    REQUIRE(find(&ctl, len, SOL_SOCKET, SCM_CREDENTIALS, &c));
    CHECK_EQ(rsock_cmsg_get_creds(&c, &cr), 0);
    CHECK_EQ(cr.pid, getpid());
    CHECK_EQ(cr.uid, getuid());
    CHECK_EQ(cr.gid, getgid());
    /* claiming another pid is refused by the kernel (unless privileged) */
    rsock_close(a);
    rsock_close(b);
}

/* ---- IP_PKTINFO / IPV6_PKTINFO both ways ---- */

static void pktinfo_round_trip(const char *any, const char *client, const char *target,
                               int level, int opt)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound(any, &ws), *cli = bound(client, &wc);
    CHECK_EQ(rsock_setsockopt_int(srv, level, opt, 1), 0);
    int port;
    rsock_addr_ip(&ws, NULL, &port);
    rsock_addr to;
    char text[80];
    snprintf(text, sizeof text, level == IPPROTO_IP ? "%s:%d" : "[%s]:%d", target, port);
    REQUIRE(rsock_addr_parse(&to, text) == 0);
    CHECK_EQ(rsock_sendto(cli, "q", 1, 0, &to), 1);
    char buf[4];
    ctlbuf ctl;
    size_t len;
    rsock_addr from;
    CHECK_EQ(recv_ctl(srv, buf, sizeof buf, &ctl, &len, &from), 1);
    rsock_cmsg c;
    rsock_pktinfo pi;
    REQUIRE(find(&ctl, len, level, level == IPPROTO_IP ? IP_PKTINFO : IPV6_PKTINFO, &c));
    CHECK_EQ(rsock_cmsg_get_pktinfo(&c, &pi), 0);
    CHECK_EQ(pi.ifindex, if_nametoindex("lo"));
    rsock_addr_format(&pi.addr, text, sizeof text);
    CHECK_STR(text, level == IPPROTO_IP ? (strcmp(target, "127.0.0.2") ? "127.0.0.1:0"
                                                                       : "127.0.0.2:0")
                                        : "[::1]:0");
    /* answer from that same address: the client sees it as the source */
    size_t olen = 0;
    pi.ifindex = 0;
    CHECK_EQ(rsock_cmsg_add_pktinfo(ctl.buf, sizeof ctl.buf, &olen, &pi), 0);
    struct iovec iov = {"a", 1};
    CHECK_EQ(rsock_sendmsg(srv, &from, &iov, 1, ctl.buf, olen, 0), 1);
    rsock_addr back;
    CHECK_EQ(recv_ctl(cli, buf, sizeof buf, &ctl, &len, &back), 1);
    uint8_t ip[16], want[16];
    CHECK_EQ(rsock_addr_ip(&back, ip, NULL), rsock_addr_ip(&pi.addr, want, NULL));
    CHECK(memcmp(ip, want, level == IPPROTO_IP ? 4 : 16) == 0);
    rsock_close(srv);
    rsock_close(cli);
}

static void test_pktinfo(void)
{
    pktinfo_round_trip("0.0.0.0:0", "127.0.0.1:0", "127.0.0.2", IPPROTO_IP, IP_PKTINFO);
    pktinfo_round_trip("0.0.0.0:0", "127.0.0.1:0", "127.0.0.1", IPPROTO_IP, IP_PKTINFO);
    pktinfo_round_trip("[::]:0", "[::1]:0", "::1", IPPROTO_IPV6, IPV6_RECVPKTINFO);
}

/* ---- TTL / hop limit and TOS / traffic class, sent and received ---- */

static void int_round_trip(const char *text, int level, int recv_ttl, int recv_tos, int ttl_type,
                           int tos_type)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound(text, &ws), *cli = bound(text, &wc);
    CHECK_EQ(rsock_setsockopt_int(srv, level, recv_ttl, 1), 0);
    CHECK_EQ(rsock_setsockopt_int(srv, level, recv_tos, 1), 0);
    ctlbuf ctl;
    size_t len = 0;
    CHECK_EQ(rsock_cmsg_add_int(ctl.buf, sizeof ctl.buf, &len, level, ttl_type, 7), 0);
    CHECK_EQ(rsock_cmsg_add_int(ctl.buf, sizeof ctl.buf, &len, level, tos_type, 0x28), 0);
    struct iovec iov = {"t", 1};
    CHECK_EQ(rsock_sendmsg(cli, &ws, &iov, 1, ctl.buf, len, 0), 1);
    char buf[4];
    CHECK_EQ(recv_ctl(srv, buf, sizeof buf, &ctl, &len, NULL), 1);
    rsock_cmsg c;
    int64_t v = -1;
    REQUIRE(find(&ctl, len, level, ttl_type, &c));
    CHECK_EQ(rsock_cmsg_get_int(&c, &v), 0);
    CHECK_EQ(v, 7);
    REQUIRE(find(&ctl, len, level, tos_type, &c));
    CHECK_EQ(rsock_cmsg_get_int(&c, &v), 0);
    CHECK_EQ(v, 0x28);
    rsock_close(srv);
    rsock_close(cli);
}

static void test_ttl_and_tos(void)
{
    int_round_trip("127.0.0.1:0", IPPROTO_IP, IP_RECVTTL, IP_RECVTOS, IP_TTL, IP_TOS);
    int_round_trip("[::1]:0", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS, IPV6_HOPLIMIT,
                   IPV6_TCLASS);
}

/* ---- timestamps ---- */

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void stamp_received(int opt, int value, int type)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound("127.0.0.1:0", &ws), *cli = bound("127.0.0.1:0", &wc);
    CHECK_EQ(rsock_setsockopt_int(srv, SOL_SOCKET, opt, value), 0);
    /* The kernel turns receive stamping on from a work queue: a datagram
     * that arrives before that carries no SO_TIMESTAMPING stamp.  The
     * first stamped one within 5 s counts (a loaded machine runs that work
     * late: a count of tries alone passed in a millisecond). */
    bool stamped = false;
    for (int64_t end = rsock_after(5000); !stamped && rsock_now() < end;
         rsock_sleep(rsock_after(1))) {
        int64_t before = realtime_ns();
        CHECK_EQ(rsock_sendto(cli, "s", 1, 0, &ws), 1);
        char buf[4];
        ctlbuf ctl;
        size_t len;
        CHECK_EQ(recv_ctl(srv, buf, sizeof buf, &ctl, &len, NULL), 1);
        int64_t after = realtime_ns(), ns = 0;
        rsock_cmsg c;
        if (!find(&ctl, len, SOL_SOCKET, type, &c))
            continue;
        stamped = true;
        CHECK_EQ(rsock_cmsg_get_timestamp(&c, &ns), 0);
        CHECK(ns >= before && ns <= after);
    }
    CHECK(stamped);
    rsock_close(srv);
    rsock_close(cli);
}

static void test_rx_timestamps(void)
{
    stamp_received(SO_TIMESTAMPNS, 1, SCM_TIMESTAMPNS);
    stamp_received(SO_TIMESTAMP, 1, SCM_TIMESTAMP);
    stamp_received(SO_TIMESTAMPING, SOF_TIMESTAMPING_RX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE,
                   SCM_TIMESTAMPING);
}

/* Transmit stamps come back on the error queue: one per datagram, keyed. */
static void tx_stamps(const char *text)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound(text, &ws), *cli = bound(text, &wc);
    int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
    CHECK_EQ(rsock_setsockopt_int(cli, SOL_SOCKET, SO_TIMESTAMPING, flags), 0);
    int64_t before = realtime_ns();
    CHECK_EQ(rsock_sendto(cli, "one", 3, 0, &ws), 3);
    CHECK_EQ(rsock_sendto(cli, "two", 3, 0, &ws), 3);
    for (uint32_t key = 0; key < 2; key++) {
        rsock_sockerr e;
        int64_t ns = 0;
        char buf[8];
        CHECK_EQ(rsock_recv_err(cli, buf, sizeof buf, &e, &ns, rsock_now() + 5000), 0);
        CHECK_EQ(e.err, ENOMSG);
        CHECK_EQ(e.origin, SO_EE_ORIGIN_TIMESTAMPING);
        CHECK_EQ(e.info, SCM_TSTAMP_SND);
        CHECK_EQ(e.data, key); /* OPT_ID: the datagram's number */
        CHECK_EQ(e.offender.len, 0);
        CHECK(ns >= before && ns <= realtime_ns());
    }
    CHECK_ERR(rsock_recv_err(cli, NULL, 0, NULL, NULL, 0), ETIMEDOUT, "rsock_recv_err");
    char buf[8];
    CHECK_EQ(rsock_recvfrom_wait(srv, buf, sizeof buf, NULL, rsock_now() + 5000), 3);
    rsock_close(srv);
    rsock_close(cli);
}

static void test_tx_timestamps(void)
{
    tx_stamps("127.0.0.1:0");
    tx_stamps("[::1]:0");
}

/* ---- SO_RXQ_OVFL: the drop count rides on the datagrams after a drop ---- */

static void test_rxq_ovfl(void)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound("127.0.0.1:0", &ws), *cli = bound("127.0.0.1:0", &wc);
    CHECK_EQ(rsock_setsockopt_int(srv, SOL_SOCKET, SO_RXQ_OVFL, 1), 0);
    CHECK_EQ(rsock_setsockopt_int(srv, SOL_SOCKET, SO_RCVBUF, 4096), 0);
    static char big[1000];
    for (int i = 0; i < 64; i++) /* far more than 8 KiB of receive buffer holds */
        CHECK_EQ(rsock_sendto(cli, big, sizeof big, 0, &ws), (ssize_t)sizeof big);
    char buf[1024];
    while (rsock_recvfrom(srv, buf, sizeof buf, 0, NULL) > 0)
        ; /* drain what fit */
    CHECK_EQ(rsock_sendto(cli, "after", 5, 0, &ws), 5);
    ctlbuf ctl;
    size_t len;
    CHECK_EQ(recv_ctl(srv, buf, sizeof buf, &ctl, &len, NULL), 5);
    rsock_cmsg c;
    int64_t drops = 0;
    REQUIRE(find(&ctl, len, SOL_SOCKET, SO_RXQ_OVFL, &c));
    CHECK_EQ(rsock_cmsg_get_int(&c, &drops), 0);
    CHECK(drops > 0 && drops < 64);
    rsock_close(srv);
    rsock_close(cli);
}

/* ---- IP_RECVERR / IPV6_RECVERR: an ICMP port unreachable, decoded ---- */

static void recverr(const char *text, int level, int opt, int origin, int type, int code)
{
    rsock_addr wc, gone;
    rsock_t *cli = bound(text, &wc), *tmp = bound(text, &gone);
    rsock_close(tmp); /* a port nobody listens on now */
    CHECK_EQ(rsock_setsockopt_int(cli, level, opt, 1), 0);
    CHECK_EQ(rsock_sendto(cli, "probe", 5, 0, &gone), 5);
    rsock_sockerr e;
    char buf[16];
    int64_t ns = -1;
    CHECK_EQ(rsock_recv_err(cli, buf, sizeof buf, &e, &ns, rsock_now() + 5000), 5);
    CHECK(memcmp(buf, "probe", 5) == 0); /* the datagram it is about */
    CHECK_EQ(e.err, ECONNREFUSED);
    CHECK_EQ(e.origin, origin);
    CHECK_EQ(e.type, type);
    CHECK_EQ(e.code, code);
    CHECK_EQ(ns, 0); /* no stamp asked for */
    uint8_t ip[16], want[16];
    CHECK_EQ(rsock_addr_ip(&e.offender, ip, NULL), rsock_addr_ip(&gone, want, NULL));
    CHECK(memcmp(ip, want, level == IPPROTO_IP ? 4 : 16) == 0);
    rsock_close(cli);
}

static void test_recverr(void)
{
    recverr("127.0.0.1:0", IPPROTO_IP, IP_RECVERR, SO_EE_ORIGIN_ICMP, 3, 3);
    recverr("[::1]:0", IPPROTO_IPV6, IPV6_RECVERR, SO_EE_ORIGIN_ICMP6, 1, 4);
}

/* An error-queue read leaves pending data readable by the waiting forms. */
static void test_recv_err_keeps_data(void)
{
    rsock_addr ws, wc, gone;
    rsock_t *srv = bound("127.0.0.1:0", &ws), *cli = bound("127.0.0.1:0", &wc);
    rsock_t *tmp = bound("127.0.0.1:0", &gone);
    rsock_close(tmp);
    CHECK_EQ(rsock_setsockopt_int(cli, IPPROTO_IP, IP_RECVERR, 1), 0);
    CHECK_EQ(rsock_sendto(srv, "data", 4, 0, &wc), 4);
    char buf[8];
    CHECK_ERR(rsock_recv_err(cli, buf, sizeof buf, NULL, NULL, rsock_now() + 20), ETIMEDOUT,
              "timed out");
    CHECK_EQ(rsock_recvfrom_wait(cli, buf, sizeof buf, NULL, rsock_now() + 5000), 4);
    rsock_close(srv);
    rsock_close(cli);
}

int main(void)
{
    rsock_t *warm = NULL; /* the thread's loop exists before the fd count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    int fds = check_fd_count();
    RUN(test_build_and_walk);
    RUN(test_lying_headers);
    RUN(test_builder_overflow);
    RUN(test_decoders_refuse);
    RUN(test_rights);
    RUN(test_credentials);
    RUN(test_pktinfo);
    RUN(test_ttl_and_tos);
    RUN(test_rx_timestamps);
    RUN(test_tx_timestamps);
    RUN(test_rxq_ovfl);
    RUN(test_recverr);
    RUN(test_recv_err_keeps_data);
    CHECK_EQ(check_fd_count(), fds);
    rsock_close(warm);
    return check_done();
}
