/* The addr rows of the option table, SO_ORIGINAL_DST and
 * IP6T_SO_ORIGINAL_DST, against netfilter: in a network namespace of its
 * own (tests/sandbox.h), an nftables rule redirects connections for one
 * loopback port (bound, never listening) to a listener on another; the
 * accepted socket reads the address the client asked for.  Then the
 * refusals: wrong types, NULLs, a set, a UDP socket, an untracked
 * connection.  Needs root and nft (CI installs it: .ci/transparent.sh). */
#include "check.h"
#include "sandbox.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

static bool have_nft(void)
{
    return system("nft --version >/dev/null 2>&1") == 0;
}

/* Load `rules` with nft -f -: 0, or the failure (nft's message on stderr). */
static int nft(const char *rules)
{
    FILE *p = popen("nft -f -", "w");
    if (!p)
        return -1;
    fputs(rules, p);
    return pclose(p) == 0 ? 0 : -1;
}

static const char *loopback(int family)
{
    return family == AF_INET ? "127.0.0.1" : "::1";
}

/* A stream socket bound to the loopback address at a port the kernel picks. */
static rsock_t *bound(int family, int *port)
{
    rsock_t *s = NULL;
    rsock_addr a;
    uint8_t ip[16];
    REQUIRE(rsock_socket(family, SOCK_STREAM, 0, &s) == 0);
    REQUIRE((family == AF_INET ? rsock_addr_in(&a, "127.0.0.1", 0)
                               : rsock_addr_in6(&a, "::1", 0)) == 0);
    REQUIRE(rsock_bind(s, &a) == 0);
    REQUIRE(rsock_getsockname(s, &a) == 0);
    REQUIRE(rsock_addr_ip(&a, ip, port) > 0);
    return s;
}

/* A plain blocking connect to loopback:port, then the listener's accept. */
static rsock_t *connect_and_accept(rsock_t *listener, int family, int port, int *client_fd)
{
    rsock_addr to;
    REQUIRE((family == AF_INET ? rsock_addr_in(&to, "127.0.0.1", port)
                               : rsock_addr_in6(&to, "::1", port)) == 0);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    REQUIRE(connect(fd, &to.sa, to.len) == 0);
    rsock_t *a = NULL;
    REQUIRE(rsock_accept(listener, NULL, &a) == 0);
    *client_fd = fd;
    return a;
}

static int level_of(int family)
{
    return family == AF_INET ? IPPROTO_IP : IPPROTO_IPV6;
}

static int opt_of(int family)
{
    return family == AF_INET ? SO_ORIGINAL_DST : IP6T_SO_ORIGINAL_DST;
}

/* orig is loopback:port of `family`, with the family's length. */
static void check_is(const rsock_addr *orig, int family, int port)
{
    char want[64], got[RSOCK_ADDRSTRLEN];
    snprintf(want, sizeof want, family == AF_INET ? "%s:%d" : "[%s]:%d", loopback(family), port);
    rsock_addr_format(orig, got, sizeof got);
    CHECK_STR(got, want);
    CHECK_EQ(rsock_addr_family(orig), family);
    CHECK_EQ(orig->len, family == AF_INET ? sizeof(struct sockaddr_in)
                                          : sizeof(struct sockaddr_in6));
}

/* Before any rule, nothing tracks this namespace's connections: the kernel
 * says so (-ENOENT; -ENOPROTOOPT when it has no conntrack at all), or, when
 * a module tracks every namespace, the connection's own destination. */
static void untracked(int family)
{
    int port, fd;
    rsock_t *l = bound(family, &port);
    REQUIRE(rsock_listen(l, 4) == 0);
    rsock_t *a = connect_and_accept(l, family, port, &fd);
    rsock_addr orig;
    int rc = rsock_getsockopt_addr(a, level_of(family), opt_of(family), &orig);
    if (rc == 0)
        check_is(&orig, family, port);
    else
        CHECK(rc == -ENOENT || rc == -ENOPROTOOPT);
    if (rc < 0)
        CHECK(strstr(rsock_error_message(), family == AF_INET ? "SO_ORIGINAL_DST"
                                                              : "IP6T_SO_ORIGINAL_DST"));
    close(fd);
    rsock_close(a);
    rsock_close(l);
}

/* A connection for port `asked` redirected to the listener at `port`: the
 * accepted socket is at `port`, its original destination at `asked`; one
 * straight to the listener has its own address as the original. */
static void redirected(int family)
{
    int port, asked, fd;
    rsock_t *l = bound(family, &port);
    rsock_t *reserved = bound(family, &asked); /* no one else takes the port */
    REQUIRE(rsock_listen(l, 4) == 0);
    char rules[512];
    snprintf(rules, sizeof rules,
             "table inet rsock_test_%d {\n"
             "  chain out { type nat hook output priority -100; %s daddr %s tcp dport %d "
             "redirect to :%d; }\n}\n",
             family, family == AF_INET ? "ip" : "ip6", loopback(family), asked, port);
    REQUIRE(nft(rules) == 0);

    rsock_t *a = connect_and_accept(l, family, asked, &fd);
    rsock_addr orig, here;
    CHECK_EQ(rsock_getsockopt_addr(a, level_of(family), opt_of(family), &orig), 0);
    check_is(&orig, family, asked);
    CHECK_EQ(rsock_getsockname(a, &here), 0);
    check_is(&here, family, port); /* where the redirect took it */
    rsock_addr generic;
    rsock_optval v = {.type = RSOCK_OPT_ADDR, .addr = &generic};
    CHECK_EQ(rsock_getsockopt(a, level_of(family), opt_of(family), &v), 0);
    CHECK_EQ(v.type, RSOCK_OPT_ADDR);
    check_is(&generic, family, asked);
    close(fd);
    rsock_close(a);

    a = connect_and_accept(l, family, port, &fd); /* tracked, not redirected */
    CHECK_EQ(rsock_getsockopt_addr(a, level_of(family), opt_of(family), &orig), 0);
    check_is(&orig, family, port);
    close(fd);
    rsock_close(a);
    rsock_close(reserved);
    rsock_close(l);
}

static void refusals(void)
{
    rsock_t *t = NULL, *u = NULL;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &t) == 0);
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &u) == 0);
    rsock_addr a;
    int i;
    CHECK_ERR(rsock_getsockopt_addr(t, IPPROTO_IP, SO_ORIGINAL_DST, NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_getsockopt_addr(NULL, IPPROTO_IP, SO_ORIGINAL_DST, &a), EINVAL,
              "NULL socket");
    CHECK_ERR(rsock_getsockopt_addr(t, IPPROTO_TCP, TCP_NODELAY, &a), EINVAL,
              "TCP_NODELAY takes int, not addr");
    CHECK_ERR(rsock_getsockopt_int(t, IPPROTO_IP, SO_ORIGINAL_DST, &i), EINVAL,
              "SO_ORIGINAL_DST takes addr, not int");
    rsock_optval v = {.type = RSOCK_OPT_INT};
    CHECK_ERR(rsock_getsockopt(t, IPPROTO_IP, SO_ORIGINAL_DST, &v), EINVAL,
              "SO_ORIGINAL_DST takes addr, not int (set v.addr)");
    v = (rsock_optval){.type = RSOCK_OPT_ADDR, .addr = NULL};
    CHECK_ERR(rsock_getsockopt(t, IPPROTO_IPV6, IP6T_SO_ORIGINAL_DST, &v), EINVAL,
              "IP6T_SO_ORIGINAL_DST: NULL address");
    v.addr = &a;
    CHECK_ERR(rsock_setsockopt(t, IPPROTO_IP, SO_ORIGINAL_DST, &v), ENOPROTOOPT,
              "SO_ORIGINAL_DST: the option cannot be set");
    /* the kernel's: only TCP (and SCTP) connections have one */
    int rc = rsock_getsockopt_addr(u, IPPROTO_IP, SO_ORIGINAL_DST, &a);
    CHECK(rc == -ENOPROTOOPT || rc == -ENOENT);
    CHECK(strstr(rsock_error_message(), "rsock_getsockopt_addr SO_ORIGINAL_DST fd"));
    rsock_close(t);
    rsock_close(u);
}

static void table_rows(void)
{
    const rsock_sockopt *r = rsock_sockopt_by_name("SO_ORIGINAL_DST");
    REQUIRE(r != NULL);
    CHECK_EQ(r->level, IPPROTO_IP);
    CHECK_EQ(r->get, RSOCK_OPT_ADDR);
    CHECK_EQ(r->set, RSOCK_OPT_NONE);
    r = rsock_sockopt_by_name("IP6T_SO_ORIGINAL_DST");
    REQUIRE(r != NULL);
    CHECK_EQ(r->level, IPPROTO_IPV6);
    CHECK_EQ(r->get, RSOCK_OPT_ADDR);
    CHECK_STR(rsock_opttype_name(RSOCK_OPT_ADDR), "addr");
}

static void in_namespace(void)
{
    int fds = check_fd_count();
    untracked(AF_INET);
    untracked(AF_INET6);
    redirected(AF_INET);
    redirected(AF_INET6);
    CHECK_EQ(check_fd_count(), fds);
}

static void test_redirected(void)
{
    if (!have_nft()) {
        if (getenv("CI"))
            CHECK_FAIL_("%s", "nft is not installed (.ci/transparent.sh installs it)");
        SKIP("nft (nftables) is not installed");
    }
    CHECK_SANDBOXED(in_namespace);
}

int main(void)
{
    rsock_t *warm = NULL; /* the thread's loop exists before the fd count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    rsock_close(warm);
    int fds = check_fd_count();
    RUN(table_rows);
    RUN(refusals);
    RUN(test_redirected);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
