/* Datagram helpers: sockets from address text (UDP v4/v6, Unix paths and
 * abstract names), waiting receive and send with deadlines and the sender,
 * multicast join/leave by text (delivery checked in a network namespace of
 * its own, over a veth pair), and every bad input refused. */
#include "check.h"
#include "sandbox.h"

#include <errno.h>
#include <net/if.h>

static char dir[256];

static void echo_through(const char *srv_text, const char *cli_text)
{
    rsock_t *srv, *cli;
    REQUIRE(rsock_dgram_bind(srv_text, &srv) == 0);
    CHECK_EQ(rsock_type(srv), SOCK_DGRAM);
    rsock_addr where, mine, from;
    REQUIRE(rsock_getsockname(srv, &where) == 0);
    char text[RSOCK_ADDRSTRLEN];
    rsock_addr_format(&where, text, sizeof text);
    if (cli_text) { /* a Unix client must be named for the answer to come back */
        REQUIRE(rsock_dgram_bind(cli_text, &cli) == 0);
        REQUIRE(rsock_connect(cli, &where) == 0);
    } else {
        REQUIRE(rsock_dgram_dial(text, &cli) == 0);
    }
    REQUIRE(rsock_getsockname(cli, &mine) == 0);
    CHECK_EQ(rsock_sendto_wait(cli, "ping", 4, NULL, rsock_now() + 5000), 4);
    char buf[16];
    CHECK_EQ(rsock_recvfrom_wait(srv, buf, sizeof buf, &from, rsock_now() + 5000), 4);
    CHECK_EQ(from.len, mine.len); /* the sender, exactly */
    CHECK(memcmp(&from.sa, &mine.sa, mine.len) == 0);
    CHECK_EQ(rsock_sendto_wait(srv, "pong", 4, &from, rsock_now() + 5000), 4);
    CHECK_EQ(rsock_recvfrom_wait(cli, buf, sizeof buf, NULL, rsock_now() + 5000), 4);
    CHECK(memcmp(buf, "pong", 4) == 0);
    rsock_close(srv);
    rsock_close(cli);
}

static void test_udp(void)
{
    echo_through("127.0.0.1:0", NULL);
    echo_through("[::1]:0", NULL);
}

static void test_unix(void)
{
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/srv.sock", dir);
    snprintf(b, sizeof b, "%s/cli.sock", dir);
    echo_through(a, b);
    unlink(a);
    unlink(b);
    snprintf(a, sizeof a, "@rsock-test-dgram-%d", (int)getpid());
    snprintf(b, sizeof b, "@rsock-test-dgram-cli-%d", (int)getpid());
    echo_through(a, b);
}

static void test_refused_text(void)
{
    rsock_t *s, *t;
    CHECK_ERR(rsock_dgram_bind(NULL, &s), EINVAL, "NULL address text");
    CHECK_ERR(rsock_dgram_bind("127.0.0.1:0", NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_dgram_bind("127.1:80", &s), EINVAL, "rsock_addr_parse");
    CHECK_ERR(rsock_dgram_dial("nonsense", &s), EINVAL, "rsock_addr_parse");
    REQUIRE(rsock_dgram_bind("127.0.0.1:0", &s) == 0);
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_getsockname(s, &where) == 0);
    rsock_addr_format(&where, text, sizeof text);
    CHECK_ERR(rsock_dgram_bind(text, &t), EADDRINUSE, "rsock_bind");
    rsock_close(s);
}

/* ---- waiting ---- */

static rsock_t *late_from;
static rsock_addr late_to;

static void send_later(void *arg)
{
    (void)arg;
    rsock_sleep(rsock_now() + 20);
    CHECK_EQ(rsock_sendto(late_from, "late", 4, 0, &late_to), 4);
}

static void test_recv_waits(void)
{
    rsock_t *a, *b;
    REQUIRE(rsock_dgram_bind("127.0.0.1:0", &a) == 0 && rsock_dgram_bind("127.0.0.1:0", &b) == 0);
    rsock_addr wa, wb, from;
    REQUIRE(rsock_getsockname(a, &wa) == 0 && rsock_getsockname(b, &wb) == 0);
    char buf[8];
    CHECK_ERR(rsock_recvfrom_wait(b, buf, sizeof buf, NULL, 0), ETIMEDOUT, "rsock_recvfrom_wait");
    CHECK_ERR(rsock_recvfrom_wait(b, buf, sizeof buf, NULL, rsock_now() + 20), ETIMEDOUT,
              "timed out");
    late_from = a;
    late_to = wb;
    rsock_fiber *f;
    REQUIRE(rsock_spawn(send_later, NULL, &f) == 0);
    CHECK_EQ(rsock_recvfrom_wait(b, buf, sizeof buf, &from, rsock_now() + 5000), 4);
    CHECK(memcmp(&from.sa, &wa.sa, wa.len) == 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_ERR(rsock_recvfrom_wait(NULL, buf, sizeof buf, NULL, 0), EINVAL, "NULL socket");
    rsock_close(a);
    rsock_close(b);
}

static rsock_t *drain_from;

static void drain_all(void *arg)
{
    (void)arg;
    char buf[64];
    while (rsock_recvfrom_wait(drain_from, buf, sizeof buf, NULL, rsock_now() + 50) > 0)
        ;
}

static void test_send_waits(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    rsock_t *a, *b;
    REQUIRE(rsock_fdopen(sv[0], &a) == 0 && rsock_fdopen(sv[1], &b) == 0);
    int sent = 0;
    while (rsock_send(a, "fill", 4, 0) == 4 && sent < 100000)
        sent++;
    CHECK(sent < 100000); /* it filled */
    CHECK_ERR(rsock_sendto_wait(a, "more", 4, NULL, 0), ETIMEDOUT, "rsock_sendto_wait");
    drain_from = b;
    rsock_fiber *f;
    REQUIRE(rsock_spawn(drain_all, NULL, &f) == 0);
    CHECK_EQ(rsock_sendto_wait(a, "more", 4, NULL, rsock_now() + 5000), 4);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    rsock_close(a);
    rsock_close(b);
}

/* ---- multicast ---- */

static void test_membership(void)
{
    rsock_t *s4, *s6;
    REQUIRE(rsock_dgram_bind("0.0.0.0:0", &s4) == 0 && rsock_dgram_bind("[::]:0", &s6) == 0);
    CHECK_EQ(rsock_mcast_join(s4, "239.255.42.1", "lo"), 0);
    CHECK_ERR(rsock_mcast_join(s4, "239.255.42.1", "lo"), EADDRINUSE, "\"239.255.42.1\" on \"lo\"");
    CHECK_EQ(rsock_mcast_leave(s4, "239.255.42.1", "lo"), 0);
    CHECK_ERR(rsock_mcast_leave(s4, "239.255.42.1", "lo"), EADDRNOTAVAIL, "rsock_mcast_leave");
    char index[16];
    snprintf(index, sizeof index, "%u", if_nametoindex("lo"));
    CHECK_EQ(rsock_mcast_join(s6, "ff05::4201", index), 0); /* an index as text */
    CHECK_EQ(rsock_mcast_leave(s6, "ff05::4201", "lo"), 0);
    CHECK_EQ(rsock_mcast_join(s6, "239.255.42.2", "lo"), 0); /* IPv4 on an IPv6 socket */
    CHECK_ERR(rsock_mcast_join(s4, "1.2.3.4", NULL), EINVAL, "not a multicast address");
    CHECK_ERR(rsock_mcast_join(s6, "2001:db8::1", NULL), EINVAL, "not a multicast address");
    CHECK_ERR(rsock_mcast_join(s4, "ff05::1", NULL), EINVAL, "an IPv6 group on a socket");
    CHECK_ERR(rsock_mcast_join(s4, "239.1.2.3:80", NULL), EINVAL, "not an IPv4 or IPv6");
    CHECK_ERR(rsock_mcast_join(s4, "239.1.2.3", "rsock-no-such0"), ENODEV, "no interface");
    CHECK_ERR(rsock_mcast_join(NULL, "239.1.2.3", NULL), EINVAL, "NULL socket");
    CHECK_ERR(rsock_mcast_leave(s4, NULL, NULL), EINVAL, "NULL group");
    rsock_close(s4);
    rsock_close(s6);
}

/* Delivery: a member of a group on rsv0 receives what is sent to the group
 * out of rsv0 (looped back), and nothing once it has left. */
static void delivered(const char *any, const char *group, int level, int opt, int port_text)
{
    rsock_t *m, *tx;
    REQUIRE(rsock_dgram_bind(any, &m) == 0);
    REQUIRE(rsock_dgram_bind(any, &tx) == 0);
    rsock_addr where, to;
    REQUIRE(rsock_getsockname(m, &where) == 0);
    int port;
    rsock_addr_ip(&where, NULL, &port);
    char text[80];
    snprintf(text, sizeof text, port_text == 4 ? "%s:%d" : "[%s]:%d", group, port);
    REQUIRE(rsock_addr_parse(&to, text) == 0);
    CHECK_EQ(rsock_mcast_join(m, group, "rsv0"), 0);
    int ifindex = (int)if_nametoindex("rsv0");
    if (level == IPPROTO_IP) {
        struct ip_mreqn out = {.imr_ifindex = ifindex};
        CHECK_EQ(setsockopt(rsock_fd(tx), level, opt, &out, sizeof out), 0);
    } else {
        CHECK_EQ(setsockopt(rsock_fd(tx), level, opt, &ifindex, sizeof ifindex), 0);
    }
    char buf[16];
    CHECK_EQ(rsock_sendto(tx, "group", 5, 0, &to), 5);
    CHECK_EQ(rsock_recvfrom_wait(m, buf, sizeof buf, NULL, rsock_now() + 5000), 5);
    CHECK_EQ(rsock_mcast_leave(m, group, "rsv0"), 0);
    CHECK_EQ(rsock_sendto(tx, "gone", 4, 0, &to), 4);
    CHECK_EQ(rsock_recvfrom_wait(m, buf, sizeof buf, NULL, rsock_now() + 100), -ETIMEDOUT);
    rsock_close(m);
    rsock_close(tx);
}

static void multicast_in_netns(void)
{
    if (system("ip link add rsv0 type veth peer name rsv1 && ip link set rsv0 up && "
               "ip link set rsv1 up && ip -6 addr add fd42::1/64 dev rsv0 nodad && "
               "ip addr add 10.98.0.1/24 dev rsv0") != 0) {
        CHECK(!"setting up the veth pair");
        return;
    }
    delivered("0.0.0.0:0", "239.255.42.99", IPPROTO_IP, IP_MULTICAST_IF, 4);
    delivered("[::]:0", "ff05::4299", IPPROTO_IPV6, IPV6_MULTICAST_IF, 6);
}

static void test_multicast_delivery(void)
{
    if (system("command -v ip >/dev/null") != 0) {
        if (getenv("CI"))
            CHECK(!"ip (iproute2) is needed");
        SKIP("needs ip (iproute2)");
    }
    CHECK_SANDBOXED(multicast_in_netns);
}

int main(void)
{
    REQUIRE(check_tmpdir(dir));
    rsock_t *warm = NULL; /* the thread's loop exists before the fd count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    int fds = check_fd_count();
    RUN(test_udp);
    RUN(test_unix);
    RUN(test_refused_text);
    RUN(test_recv_waits);
    RUN(test_send_waits);
    RUN(test_membership);
    RUN(test_multicast_delivery);
    CHECK_EQ(check_fd_count(), fds);
    rsock_close(warm);
    rmdir(dir);
    return check_done();
}
