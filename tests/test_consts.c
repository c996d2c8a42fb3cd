/* The constants table: every name of the reference (its Constants list, the
 * levels and option names of its defsockopt table) is listed and looked up;
 * anything else is -ENOENT. */
#include "check.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

/* The reference's Constants list, in its order. */
static const char *const reference_list[] = {
    "AF_UNSPEC", "AF_INET", "AF_INET6", "AF_UNIX", "AF_LOCAL", "AF_NETLINK", "AF_PACKET",
    "AF_ALG", "SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_SEQPACKET", "SOCK_RDM",
    "SHUT_RD", "SHUT_WR", "SHUT_RDWR", "UNIX_MAX_PATH", "SOL_SOCKET", "SO_ACCEPTCONN",
    "SO_BINDTODEVICE", "SO_BROADCAST", "SO_DEBUG", "SO_DOMAIN", "SO_DONTROUTE", "SO_ERROR",
    "SO_KEEPALIVE", "SO_LINGER", "SO_OOBLINE", "SO_PASSCRED", "SO_PEERCRED", "SO_PEEK_OFF",
    "SO_PROTOCOL", "SO_RCVBUF", "SO_SNDBUF", "SO_RCVLOWAT", "SO_SNDLOWAT", "SO_RCVTIMEO",
    "SO_SNDTIMEO", "SO_REUSEADDR", "SO_REUSEPORT", "SO_TYPE", "SO_TIMESTAMP",
    "SO_USELOOPBACK", "IPPROTO_IPV6", "IPV6_ADDRFORM", "IPV6_ADD_MEMBERSHIP",
    "IPV6_DROP_MEMBERSHIP", "IPV6_MTU", "IPV6_MTU_DISCOVER", "IPV6_MULTICAST_HOPS",
    "IPV6_MULTICAST_IF", "IPV6_MULTICAST_LOOP", "IPV6_RECVPKTINFO", "IPV6_RTHDR",
    "IPV6_AUTHHDR", "IPV6_DSTOPTS", "IPV6_HOPOPTS", "IPV6_FLOWINFO", "IPV6_HOPLIMIT",
    "IPV6_ROUTER_ALERT", "IPV6_UNICAST_HOPS", "IPV6_V6ONLY", "IPPROTO_TCP",
    "TCP_CONGESTION", "TCP_CORK", "TCP_DEFER_ACCEPT", "TCP_KEEPCNT", "TCP_KEEPIDLE",
    "TCP_KEEPINTVL", "TCP_MAXSEG", "TCP_NODELAY", "TCP_SYNCNT", "IP_PMTUDISC_WANT",
    "IP_PMTUDISC_DONT", "IP_PMTUDISC_DO", "IP_PMTUDISC_PROBE", "IPTOS_LOWDELAY",
    "IPTOS_THROUGHPUT", "IPTOS_RELIABILITY", "IPTOS_MINCOST", "MSG_CONFIRM", "MSG_CTRUNC",
    "MSG_DONTROUTE", "MSG_DONTWAIT", "MSG_EOR", "MSG_ERRQUEUE", "MSG_MORE", "MSG_NOSIGNAL",
    "MSG_OOB", "MSG_PEEK", "MSG_TRUNC", "MSG_WAITALL",
};

/* Names of the defsockopt table that the Constants list lacks: the IPPROTO_IP
 * level and its IP_* options. */
static const char *const table_only[] = {
    "IPPROTO_IP", "IP_ADD_MEMBERSHIP", "IP_DROP_MEMBERSHIP", "IP_ADD_SOURCE_MEMBERSHIP",
    "IP_DROP_SOURCE_MEMBERSHIP", "IP_BLOCK_SOURCE", "IP_UNBLOCK_SOURCE", "IP_FREEBIND",
    "IP_HDRINCL", "IP_MTU", "IP_MTU_DISCOVER", "IP_MULTICAST_ALL", "IP_MULTICAST_IF",
    "IP_MULTICAST_LOOP", "IP_MULTICAST_TTL", "IP_NODEFRAG", "IP_OPTIONS", "IP_PKTINFO",
    "IP_RECVERR", "IP_RECVORIGDSTADDR", "IP_RECVOPTS", "IP_RECVTOS", "IP_RECVTTL",
    "IP_RETOPTS", "IP_ROUTER_ALERT", "IP_TOS", "IP_TTL",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void each_name_is_found(const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int v = -12345;
        int rc = rsock_const_lookup(names[i], &v);
        if (rc == -ENOTSUP)
            CHECK(strstr(rsock_error_message(), names[i]));
        else if (rc != 0)
            fprintf(stderr, "constant %s: %d\n", names[i], rc);
        CHECK(rc == 0 || rc == -ENOTSUP);
    }
}

static void test_every_reference_name(void)
{
    each_name_is_found(reference_list, COUNT(reference_list));
    each_name_is_found(table_only, COUNT(table_only));
}

static void test_table_count_and_membership(void)
{
    size_t n = 0;
    const rsock_const *t = rsock_const_table(&n);
    REQUIRE(t != NULL);
    CHECK_EQ(n, COUNT(reference_list) + COUNT(table_only));
    CHECK(rsock_const_table(NULL) == t);
    for (size_t i = 0; i < n; i++) { /* each row looks itself up */
        int v = -1;
        int rc = rsock_const_lookup(t[i].name, &v);
        CHECK_EQ(rc, t[i].available ? 0 : -ENOTSUP);
        if (t[i].available)
            CHECK_EQ(v, t[i].value);
        for (size_t j = 0; j < i; j++) /* no name twice */
            CHECK(strcmp(t[i].name, t[j].name) != 0);
    }
}

static void test_values_are_the_systems(void)
{
    int v = 0;
    CHECK_EQ(rsock_const_lookup("AF_INET6", &v), 0); CHECK_EQ(v, AF_INET6);
    CHECK_EQ(rsock_const_lookup("SOCK_SEQPACKET", &v), 0); CHECK_EQ(v, SOCK_SEQPACKET);
    CHECK_EQ(rsock_const_lookup("TCP_NODELAY", &v), 0); CHECK_EQ(v, TCP_NODELAY);
    CHECK_EQ(rsock_const_lookup("MSG_NOSIGNAL", &v), 0); CHECK_EQ(v, MSG_NOSIGNAL);
    CHECK_EQ(rsock_const_lookup("IPPROTO_IP", &v), 0); CHECK_EQ(v, IPPROTO_IP);
    CHECK_EQ(rsock_const_lookup("IP_PKTINFO", &v), 0); CHECK_EQ(v, IP_PKTINFO);
    /* the reference's SO_OOBLINE is the kernel's SO_OOBINLINE */
    CHECK_EQ(rsock_const_lookup("SO_OOBLINE", &v), 0); CHECK_EQ(v, SO_OOBINLINE);
    CHECK_EQ(rsock_const_lookup("UNIX_MAX_PATH", &v), 0); CHECK_EQ(v, 108);
    CHECK_EQ(v, sizeof(((struct sockaddr_un *)0)->sun_path));
}

static void test_platform_lacks(void)
{
    int v = 7;
#ifndef SO_USELOOPBACK
    CHECK_ERR(rsock_const_lookup("SO_USELOOPBACK", &v), ENOTSUP,
              "rsock_const_lookup \"SO_USELOOPBACK\"");
    CHECK_EQ(v, 7);
#endif
#ifndef IPV6_FLOWINFO
    CHECK_ERR(rsock_const_lookup("IPV6_FLOWINFO", &v), ENOTSUP, "\"IPV6_FLOWINFO\"");
#endif
    (void)v;
}

static void test_refused(void)
{
    int v = 0;
    CHECK_ERR(rsock_const_lookup("SO_FOO", &v), ENOENT,
              "rsock_const_lookup \"SO_FOO\": not a constant of the reference");
    /* a real macro that the reference does not name */
    CHECK_ERR(rsock_const_lookup("SO_OOBINLINE", &v), ENOENT, "\"SO_OOBINLINE\"");
    CHECK_ERR(rsock_const_lookup("af_inet", &v), ENOENT, "\"af_inet\"");
    CHECK_ERR(rsock_const_lookup("", &v), ENOENT, "not a constant of the reference");
    CHECK_ERR(rsock_const_lookup(NULL, &v), EINVAL, "rsock_const_lookup: NULL name");
    CHECK_ERR(rsock_const_lookup("AF_INET", NULL), EINVAL, "rsock_const_lookup: NULL value");
}

int main(void)
{
    int fds = check_fd_count();
    RUN(test_every_reference_name);
    RUN(test_table_count_and_membership);
    RUN(test_values_are_the_systems);
    RUN(test_platform_lacks);
    RUN(test_refused);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
