/* rsock_get_tcp_info on real TCP connections over loopback: a listener's
 * state, an established connection's rtt, cwnd and byte counts after an
 * exchange, and every refused input. */
#include "check.h"

#include <errno.h>
#include <netinet/tcp.h>

static void connected(const char *text, rsock_t **lst, rsock_t **cli, rsock_t **srv)
{
    rsock_addr where;
    REQUIRE(rsock_listen_on(text, -1, lst) == 0);
    REQUIRE(rsock_getsockname(*lst, &where) == 0);
    REQUIRE(rsock_socket(where.sa.sa_family, SOCK_STREAM, 0, cli) == 0);
    REQUIRE(rsock_connect_wait(*cli, &where, rsock_now() + 5000) == 0);
    REQUIRE(rsock_accept_wait(*lst, NULL, srv, rsock_now() + 5000) == 0);
}

static void exchange(const char *text)
{
    rsock_t *lst, *cli, *srv;
    connected(text, &lst, &cli, &srv);
    rsock_tcp_info ti;
    CHECK_EQ(rsock_get_tcp_info(lst, &ti), 0);
    CHECK_EQ(ti.state, TCP_LISTEN);
    static char data[100000], back[100000];
    CHECK_EQ(rsock_write_all(cli, data, sizeof data, rsock_now() + 5000), (ssize_t)sizeof data);
    size_t got = 0;
    while (got < sizeof data) {
        ssize_t n = rsock_read(srv, back, sizeof back, rsock_now() + 5000);
        REQUIRE(n > 0);
        got += (size_t)n;
    }
    CHECK_EQ(rsock_write_all(srv, "ok", 2, rsock_now() + 5000), 2);
    /* the answer carries the acknowledgement of every byte sent */
    CHECK_EQ(rsock_read(cli, back, 2, rsock_now() + 5000), 2);
    CHECK_EQ(rsock_get_tcp_info(cli, &ti), 0);
    CHECK_EQ(ti.state, TCP_ESTABLISHED);
    CHECK(ti.rtt > 0);
    CHECK(ti.snd_cwnd > 0);
    CHECK(ti.snd_mss > 0 && ti.rcv_mss > 0);
    /* the SYN counts as one byte acknowledged on the kernels that count it */
    CHECK(ti.bytes_acked == sizeof data || ti.bytes_acked == sizeof data + 1);
    CHECK_EQ(ti.bytes_received, 2);
    CHECK(ti.segs_out > 0 && ti.segs_in > 0);
    CHECK(ti.kernel_len >= 104); /* at least up to bytes_received (kernel 4.1) */
    CHECK_EQ(rsock_get_tcp_info(srv, &ti), 0);
    CHECK_EQ(ti.bytes_received, sizeof data);
    CHECK(ti.bytes_acked == 2 || ti.bytes_acked == 3);
    rsock_close(cli);
    rsock_close(srv);
    rsock_close(lst);
}

static void test_v4(void) { exchange("127.0.0.1:0"); }
static void test_v6(void) { exchange("[::1]:0"); }

static void test_bad_input(void)
{
    rsock_tcp_info ti;
    rsock_t *u, *t;
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &u) == 0);
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &t) == 0);
    CHECK_ERR(rsock_get_tcp_info(NULL, &ti), EINVAL, "NULL socket");
    CHECK_ERR(rsock_get_tcp_info(t, NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_get_tcp_info(u, &ti), EOPNOTSUPP, "not a TCP socket");
    CHECK_EQ(rsock_get_tcp_info(t, &ti), 0); /* a fresh socket: closed */
    CHECK_EQ(ti.state, TCP_CLOSE);
    rsock_close(u);
    rsock_close(t);
}

int main(void)
{
    rsock_t *warm = NULL; /* the thread's loop exists before the fd count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    int fds = check_fd_count();
    RUN(test_v4);
    RUN(test_v6);
    RUN(test_bad_input);
    CHECK_EQ(check_fd_count(), fds);
    rsock_close(warm);
    return check_done();
}
