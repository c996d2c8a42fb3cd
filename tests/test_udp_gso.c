/* UDP GSO and GRO over real sockets: rsock_send_gso to a GRO receiver
 * (coalesced, with the segment size) and to a plain one (separate
 * datagrams), GSO per socket (UDP_SEGMENT) and per message (its control
 * message), buffers of more than one GSO call, the fallback on a socket that
 * is not UDP, and, in a network namespace of its own, the fallback where the
 * kernel refuses GSO: a veth with transmit checksums off (ethtool), whose
 * datagrams are counted off the wire with a packet socket. */
#include "check.h"
#include "sandbox.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>

static rsock_t *bound(const char *text, rsock_addr *where)
{
    rsock_t *s;
    REQUIRE(rsock_dgram_bind(text, &s) == 0);
    REQUIRE(rsock_getsockname(s, where) == 0);
    return s;
}

static void pattern(char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)(i * 7 + i / 1200);
}

static char out[300 * 1200], in[65536];

/* Receive `total` bytes with rsock_recv_gro; each read's segment size to
 * check against `seg`; returns the number of reads. */
static int gro_receive(rsock_t *s, size_t total, size_t seg, bool expect_coalesced)
{
    size_t got = 0;
    int reads = 0;
    while (got < total) {
        size_t sz = 0;
        ssize_t n;
        while ((n = rsock_recv_gro(s, in, sizeof in, &sz, NULL)) == -EAGAIN)
            REQUIRE(rsock_wait_in(s, rsock_now() + 5000) == 0);
        REQUIRE(n > 0);
        CHECK(memcmp(in, out + got, (size_t)n) == 0);
        if (expect_coalesced)
            CHECK_EQ(sz, (size_t)n > seg ? seg : (size_t)n);
        else
            CHECK_EQ(sz, (size_t)n);
        got += (size_t)n;
        reads++;
    }
    CHECK_EQ(got, total);
    return reads;
}

static void gso_to_gro(const char *text)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound(text, &ws), *cli = bound(text, &wc);
    CHECK_EQ(rsock_setsockopt_int(srv, IPPROTO_UDP, UDP_GRO, 1), 0);
    size_t len = 10 * 1200 + 500;
    pattern(out, len);
    CHECK_EQ(rsock_send_gso(cli, &ws, out, len, 1200, 0), (ssize_t)len);
    int reads = gro_receive(srv, len, 1200, true);
    CHECK(reads < 11); /* coalesced: fewer reads than datagrams */
    rsock_close(srv);
    rsock_close(cli);
}

static void test_gso_to_gro(void)
{
    gso_to_gro("127.0.0.1:0");
    gso_to_gro("[::1]:0");
}

/* A receiver without GRO gets every segment as a datagram of its own. */
static void test_gso_to_plain(void)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound("127.0.0.1:0", &ws), *cli = bound("127.0.0.1:0", &wc);
    size_t len = 5 * 1000 + 1;
    pattern(out, len);
    CHECK_EQ(rsock_send_gso(cli, &ws, out, len, 1000, RSOCK_GSO_STRICT), (ssize_t)len);
    for (int i = 0; i < 6; i++) {
        ssize_t n = rsock_recvfrom_wait(srv, in, sizeof in, NULL, rsock_now() + 5000);
        CHECK_EQ(n, i < 5 ? 1000 : 1);
        CHECK(memcmp(in, out + i * 1000, n > 0 ? (size_t)n : 0) == 0);
    }
    rsock_close(srv);
    rsock_close(cli);
}

/* More than one GSO call's worth (64 segments or 64 KiB each). */
static void test_large_buffer(void)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound("127.0.0.1:0", &ws), *cli = bound("127.0.0.1:0", &wc);
    CHECK_EQ(rsock_setsockopt_int(srv, IPPROTO_UDP, UDP_GRO, 1), 0);
    int big = 8 << 20; /* room for all 360 KB at once: past rmem_max, so root only */
    if (setsockopt(rsock_fd(srv), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0) {
        rsock_close(srv);
        rsock_close(cli);
        if (getenv("CI"))
            CHECK(!"SO_RCVBUFFORCE needs root: CI runs as root");
        SKIP("needs root for a receive buffer past rmem_max (SO_RCVBUFFORCE)");
    }
    size_t len = 300 * 1200;
    pattern(out, len);
    size_t sent = 0;
    while (sent < len) {
        ssize_t n = rsock_send_gso(cli, &ws, out + sent, len - sent, 1200, RSOCK_GSO_STRICT);
        if (n == -EAGAIN) {
            REQUIRE(rsock_wait_out(cli, rsock_now() + 5000) == 0);
            continue;
        }
        REQUIRE(n > 0);
        CHECK_EQ(n % 1200, 0);
        sent += (size_t)n;
    }
    gro_receive(srv, len, 1200, true);
    rsock_close(srv);
    rsock_close(cli);
}

/* GSO per socket: UDP_SEGMENT set once, every send is segmented. */
static void test_per_socket(void)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound("127.0.0.1:0", &ws), *cli = bound("127.0.0.1:0", &wc);
    CHECK_EQ(rsock_setsockopt_int(cli, IPPROTO_UDP, UDP_SEGMENT, 1000), 0);
    int seg = 0;
    CHECK_EQ(rsock_getsockopt_int(cli, IPPROTO_UDP, UDP_SEGMENT, &seg), 0);
    CHECK_EQ(seg, 1000);
    pattern(out, 3000);
    CHECK_EQ(rsock_sendto(cli, out, 3000, 0, &ws), 3000);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(rsock_recvfrom_wait(srv, in, sizeof in, NULL, rsock_now() + 5000), 1000);
        CHECK(memcmp(in, out + i * 1000, 1000) == 0);
    }
    rsock_close(srv);
    rsock_close(cli);
}

/* GSO per message: a UDP_SEGMENT control message; the GRO receiver's
 * UDP_GRO control message gives the segment size back. */
static void test_per_message_cmsgs(void)
{
    rsock_addr ws, wc;
    rsock_t *srv = bound("[::1]:0", &ws), *cli = bound("[::1]:0", &wc);
    CHECK_EQ(rsock_setsockopt_int(srv, IPPROTO_UDP, UDP_GRO, 1), 0);
    union { char buf[64]; struct cmsghdr align; } ctl;
    size_t len = 0;
    CHECK_EQ(rsock_cmsg_add_int(ctl.buf, sizeof ctl.buf, &len, SOL_UDP, UDP_SEGMENT, 700), 0);
    pattern(out, 2100);
    struct iovec iov = {out, 2100};
    CHECK_EQ(rsock_sendmsg(cli, &ws, &iov, 1, ctl.buf, len, 0), 2100);
    struct iovec r = {in, sizeof in};
    ssize_t n;
    size_t ctllen;
    while ((ctllen = sizeof ctl.buf,
            n = rsock_recvmsg(srv, NULL, &r, 1, ctl.buf, &ctllen, 0, NULL)) == -EAGAIN)
        REQUIRE(rsock_wait_in(srv, rsock_now() + 5000) == 0);
    CHECK_EQ(n, 2100); /* GSO on loopback reaches a GRO socket whole */
    rsock_cmsg c;
    size_t pos = 0;
    int64_t seg = 0;
    REQUIRE(rsock_cmsg_next(ctl.buf, ctllen, &pos, &c) == 1);
    CHECK_EQ(c.type, UDP_GRO);
    CHECK_EQ(rsock_cmsg_get_int(&c, &seg), 0);
    CHECK_EQ(seg, 700);
    rsock_close(srv);
    rsock_close(cli);
}

/* Not UDP: the fallback sends the segments as datagrams (strict: refused). */
static void test_fallback_unix(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    rsock_t *a, *b;
    REQUIRE(rsock_fdopen(sv[0], &a) == 0 && rsock_fdopen(sv[1], &b) == 0);
    pattern(out, 2500);
    CHECK_ERR(rsock_send_gso(a, NULL, out, 2500, 1000, RSOCK_GSO_STRICT), EOPNOTSUPP,
              "GSO is for UDP sockets only");
    CHECK_EQ(rsock_send_gso(a, NULL, out, 2500, 1000, 0), 2500);
    for (int i = 0; i < 3; i++) {
        ssize_t n = rsock_recvfrom_wait(b, in, sizeof in, NULL, rsock_now() + 5000);
        CHECK_EQ(n, i < 2 ? 1000 : 500);
        CHECK(memcmp(in, out + i * 1000, n > 0 ? (size_t)n : 0) == 0);
    }
    rsock_close(a);
    rsock_close(b);
}

/* UDP-Lite: the kernel refuses it GSO on every version, so the fallback
 * runs for real; strict, the refusal comes back. */
static void test_fallback_udplite(void)
{
    rsock_t *a, *b;
    if (rsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, &a) < 0)
        SKIP("this kernel has no UDP-Lite");
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, &b) == 0);
    rsock_addr any, wb;
    REQUIRE(rsock_addr_parse(&any, "127.0.0.1:0") == 0);
    REQUIRE(rsock_bind(b, &any) == 0 && rsock_getsockname(b, &wb) == 0);
    pattern(out, 2500);
    CHECK_ERR(rsock_send_gso(a, &wb, out, 2500, 1000, RSOCK_GSO_STRICT), EIO, "(GSO refused)");
    CHECK_EQ(rsock_send_gso(a, &wb, out, 2500, 1000, 0), 2500);
    for (int i = 0; i < 3; i++) {
        ssize_t n = rsock_recvfrom_wait(b, in, sizeof in, NULL, rsock_now() + 5000);
        CHECK_EQ(n, i < 2 ? 1000 : 500);
        CHECK(memcmp(in, out + i * 1000, n > 0 ? (size_t)n : 0) == 0);
    }
    rsock_close(a);
    rsock_close(b);
}

static void test_bad_input(void)
{
    rsock_addr ws, bad;
    rsock_t *s = bound("127.0.0.1:0", &ws);
    memset(&bad, 0, sizeof bad);
    size_t seg;
    CHECK_ERR(rsock_send_gso(NULL, &ws, out, 10, 5, 0), EINVAL, "NULL socket");
    CHECK_ERR(rsock_send_gso(s, &ws, NULL, 10, 5, 0), EINVAL, "NULL buffer");
    CHECK_ERR(rsock_send_gso(s, &ws, out, 10, 0, 0), EINVAL, "segment size 0 not in 1..65507");
    CHECK_ERR(rsock_send_gso(s, &ws, out, 10, 65508, 0), EINVAL, "not in 1..65507");
    CHECK_ERR(rsock_send_gso(s, &ws, out, 10, 5, 2), EINVAL, "unknown flags 0x2");
    CHECK_ERR(rsock_send_gso(s, &bad, out, 10, 5, 0), EINVAL, "invalid address");
    CHECK_EQ(rsock_send_gso(s, &ws, out, 0, 5, 0), 0); /* nothing to send */
    CHECK_ERR(rsock_recv_gro(s, in, sizeof in, NULL, NULL), EINVAL, "NULL seg");
    CHECK_EQ(rsock_recv_gro(s, in, sizeof in, &seg, NULL), -EAGAIN);
    rsock_close(s);
}

/* ---- the kernel refuses GSO: a device without checksum offload ---- */

static int sh(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

/* UDP datagrams of `payload` bytes seen leaving on rsv1 (a packet socket). */
static int count_on_wire(int pkt, size_t payload)
{
    int n = 0;
    char frame[2048];
    for (;;) {
        ssize_t r = recv(pkt, frame, sizeof frame, MSG_DONTWAIT);
        if (r < 0)
            return n;
        struct iphdr ip;
        struct udphdr udp;
        if ((size_t)r < sizeof ip + sizeof udp)
            continue;
        memcpy(&ip, frame, sizeof ip);
        memcpy(&udp, frame + ip.ihl * 4, sizeof udp);
        n += ip.protocol == IPPROTO_UDP && ntohs(udp.len) == payload + sizeof udp;
    }
}

static void refused_in_netns(void)
{
    if (sh("ip link add rsv0 type veth peer name rsv1 && ip link set rsv0 up && "
           "ip link set rsv1 up && ip addr add 10.99.0.1/24 dev rsv0 && "
           "ethtool -K rsv0 tx off >/dev/null && "
           "ip neigh add 10.99.0.2 dev rsv0 lladdr "
           "$(ip -o link show rsv1 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)") != 0) {
        CHECK(!"setting up the veth pair");
        return;
    }
    int pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
    REQUIRE(pkt >= 0);
    struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                             .sll_ifindex = (int)if_nametoindex("rsv1")};
    REQUIRE(bind(pkt, (struct sockaddr *)&ll, sizeof ll) == 0);
    rsock_addr wc, to;
    rsock_t *cli = bound("10.99.0.1:0", &wc);
    REQUIRE(rsock_addr_parse(&to, "10.99.0.2:9") == 0);
    pattern(out, 5000);
    /* Older kernels refuse GSO here (-EIO); newer ones checksum in software. */
    ssize_t strict = rsock_send_gso(cli, &to, out, 5000, 1000, RSOCK_GSO_STRICT);
    CHECK(strict == 5000 || strict == -EIO);
    if (strict == -EIO)
        CHECK(strstr(rsock_error_message(), "GSO refused"));
    CHECK_EQ(count_on_wire(pkt, 1000), strict == 5000 ? 5 : 0);
    CHECK_EQ(rsock_send_gso(cli, &to, out, 5000, 1000, 0), 5000); /* GSO, or the fallback */
    CHECK_EQ(count_on_wire(pkt, 1000), 5);                       /* five datagrams left */
    ssize_t over = rsock_send_gso(cli, &to, out, 5000, 2000, 0);
    CHECK(over == -EMSGSIZE || over == -EINVAL);
    CHECK(strstr(rsock_error_message(), "over the path MTU"));
    rsock_close(cli);
    close(pkt);
}

static void test_refused_fallback(void)
{
    if (system("command -v ethtool >/dev/null && command -v ip >/dev/null") != 0) {
        if (getenv("CI"))
            CHECK(!"ethtool and ip are needed (.ci/messages.sh installs ethtool)");
        SKIP("needs ethtool and ip (iproute2)");
    }
    CHECK_SANDBOXED(refused_in_netns);
}

int main(void)
{
    rsock_t *warm = NULL; /* the thread's loop exists before the fd count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    int fds = check_fd_count();
    RUN(test_gso_to_gro);
    RUN(test_gso_to_plain);
    RUN(test_large_buffer);
    RUN(test_per_socket);
    RUN(test_per_message_cmsgs);
    RUN(test_fallback_unix);
    RUN(test_fallback_udplite);
    RUN(test_bad_input);
    RUN(test_refused_fallback);
    CHECK_EQ(check_fd_count(), fds);
    rsock_close(warm);
    return check_done();
}
