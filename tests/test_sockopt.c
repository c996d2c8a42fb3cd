/* The option table against the real kernel: every row is read (where it can
 * be) on a fitting socket and gives a value of the row's type; every row that
 * can be set is set and read back; every refused combination is tried. */
#include "check.h"

#include <unistd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>

enum kind { TCP4, TCP6, UDP4, UDP6, UDP4C, UDP6C, RAW4, RAW6, UNIXP };

/* How a set value reads back. */
enum back { SAME, DOUBLED, AT_LEAST, NOT_READ };

/* One int row: the socket it fits, a value to set, how it reads back and
 * the kernel's errno for a get or set it refuses (0: accepted). */
typedef struct {
    const char *name;
    enum kind kind;
    int value;
    enum back back;
    int get_err, set_err; /* set_err < 0: this kernel may refuse it with -set_err */
    bool once;            /* a second set fails (or the first changes the socket) */
} spec;

static const spec specs[] = {
    {"SO_ACCEPTCONN", TCP4, 0, SAME, 0, 0, false},
    {"SO_BROADCAST", UDP4, 1, SAME, 0, 0, false},
    {"SO_DEBUG", TCP4, 1, SAME, 0, 0, false}, /* needs CAP_NET_ADMIN: CI runs as root */
    {"SO_DOMAIN", TCP6, 0, SAME, 0, 0, false},
    {"SO_DONTROUTE", UDP4, 1, SAME, 0, 0, false},
    {"SO_ERROR", TCP4, 0, SAME, 0, 0, false},
    {"SO_KEEPALIVE", TCP4, 1, SAME, 0, 0, false},
    {"SO_OOBINLINE", TCP4, 1, SAME, 0, 0, false},
    {"SO_PASSCRED", UNIXP, 1, SAME, 0, 0, false},
    {"SO_PEEK_OFF", UNIXP, 3, SAME, 0, 0, false},
    {"SO_PROTOCOL", TCP4, 0, SAME, 0, 0, false},
    /* the kernel doubles a buffer size for its bookkeeping (socket(7)) */
    {"SO_RCVBUF", TCP4, 65536, DOUBLED, 0, 0, false},
    {"SO_SNDBUF", TCP4, 65536, DOUBLED, 0, 0, false},
    {"SO_RCVLOWAT", TCP4, 2, SAME, 0, 0, false},
    {"SO_SNDLOWAT", TCP4, 0, SAME, 0, 0, false}, /* Linux: fixed at 1, get only */
    {"SO_REUSEADDR", TCP4, 1, SAME, 0, 0, false},
    {"SO_REUSEPORT", TCP4, 1, SAME, 0, 0, false},
    {"SO_TYPE", UDP4, 0, SAME, 0, 0, false},
    {"SO_TIMESTAMP", UDP4, 1, SAME, 0, 0, false},
    {"SO_TIMESTAMPNS", UDP4, 1, SAME, 0, 0, false},
    {"SO_TIMESTAMPING", UDP4, 0x18 /* RX_SOFTWARE | SOFTWARE */, SAME, 0, 0, false},
    {"SO_RXQ_OVFL", UDP4, 1, SAME, 0, 0, false},
    {"SO_USELOOPBACK", UDP4, 1, SAME, 0, 0, false},
    {"IP_FREEBIND", UDP4, 1, SAME, 0, 0, false},
    {"IP_HDRINCL", RAW4, 1, SAME, 0, 0, false},
    {"IP_MTU", UDP4C, 0, SAME, 0, 0, false}, /* a path MTU: only on a connected socket */
    {"IP_MTU_DISCOVER", UDP4, IP_PMTUDISC_DO, SAME, 0, 0, false},
    {"IP_MULTICAST_ALL", UDP4, 0, SAME, 0, 0, false},
    {"IP_MULTICAST_LOOP", UDP4, 0, SAME, 0, 0, false},
    {"IP_MULTICAST_TTL", UDP4, 9, SAME, 0, 0, false},
    {"IP_NODEFRAG", RAW4, 1, SAME, 0, 0, false},
    {"IP_PKTINFO", UDP4, 1, SAME, 0, 0, false},
    {"IP_RECVERR", UDP4, 1, SAME, 0, 0, false},
    {"IP_RECVORIGDSTADDR", UDP4, 1, SAME, 0, 0, false},
    {"IP_RECVOPTS", UDP4, 1, SAME, 0, 0, false},
    {"IP_RECVTOS", UDP4, 1, SAME, 0, 0, false},
    {"IP_RECVTTL", UDP4, 1, SAME, 0, 0, false},
    {"IP_RETOPTS", UDP4, 1, SAME, 0, 0, false},
    {"IP_ROUTER_ALERT", RAW4, 1, SAME, 0, 0, true}, /* again: EADDRINUSE */
    {"IP_TOS", UDP4, IPTOS_LOWDELAY, SAME, 0, 0, false},
    {"IP_TTL", UDP4, 33, SAME, 0, 0, false},
    /* read back via SO_DOMAIN below; Linux 6.18 retired it (ENOPROTOOPT) */
    {"IPV6_ADDRFORM", UDP6C, AF_INET, NOT_READ, 0, -ENOPROTOOPT, true},
    /* set: the fragment size; get: the route's path MTU, so not read back */
    {"IPV6_MTU", UDP6C, 1400, NOT_READ, 0, 0, false},
    {"IPV6_MTU_DISCOVER", UDP6, IP_PMTUDISC_DO, SAME, 0, 0, false},
    {"IPV6_MULTICAST_HOPS", UDP6, 5, SAME, 0, 0, false},
    {"IPV6_MULTICAST_IF", UDP6, -1 /* lo's index */, SAME, 0, 0, false},
    {"IPV6_MULTICAST_LOOP", UDP6, 0, SAME, 0, 0, false},
    {"IPV6_RECVPKTINFO", UDP6, 1, SAME, 0, 0, false},
    {"IPV6_AUTHHDR", UDP6, 1, SAME, ENOPROTOOPT, ENOPROTOOPT, false},
    {"IPV6_FLOWINFO", UDP6, 1, SAME, 0, 0, false},
    {"IPV6_HOPLIMIT", UDP6, 1, SAME, ENOPROTOOPT, ENOPROTOOPT, false},
    /* some kernels (this CI's) refuse it even on a raw socket */
    {"IPV6_ROUTER_ALERT", RAW6, 0, SAME, 0, -ENOPROTOOPT, false},
    {"IPV6_UNICAST_HOPS", UDP6, 7, SAME, 0, 0, false},
    {"IPV6_V6ONLY", UDP6, 1, SAME, 0, 0, false},
    {"IPV6_RECVERR", UDP6, 1, SAME, 0, 0, false},
    {"IPV6_RECVHOPLIMIT", UDP6, 1, SAME, 0, 0, false},
    {"IPV6_RECVTCLASS", UDP6, 1, SAME, 0, 0, false},
    {"IPV6_TCLASS", UDP6, 0x20, SAME, 0, 0, false},
    {"TCP_CORK", TCP4, 1, SAME, 0, 0, false},
    /* kept as a count of retransmissions: reads back rounded up */
    {"TCP_DEFER_ACCEPT", TCP4, 5, AT_LEAST, 0, 0, false},
    {"TCP_KEEPCNT", TCP4, 4, SAME, 0, 0, false},
    {"TCP_KEEPIDLE", TCP4, 77, SAME, 0, 0, false},
    {"TCP_KEEPINTVL", TCP4, 11, SAME, 0, 0, false},
    {"TCP_MAXSEG", TCP4, 1000, SAME, 0, 0, false}, /* the user's value until connected */
    {"TCP_NODELAY", TCP4, 1, SAME, 0, 0, false},
    {"TCP_SYNCNT", TCP4, 3, SAME, 0, 0, false},
    {"UDP_SEGMENT", UDP4, 1200, SAME, 0, 0, false},
    {"UDP_GRO", UDP4, 1, SAME, 0, 0, false},
    {"IP_TRANSPARENT", TCP4, 1, SAME, 0, 0, false}, /* needs CAP_NET_ADMIN: CI runs as root */
    {"IPV6_TRANSPARENT", TCP6, 1, SAME, 0, 0, false},
};

static const spec *find_spec(const char *name)
{
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        if (strcmp(specs[i].name, name) == 0)
            return &specs[i];
    return NULL;
}

static rsock_t *peer_of_pair; /* UNIXP's other end */
static rsock_t *udp_target;   /* a bound UDP4 socket that UDP4C/UDP6C connect to */

static int target_port(void)
{
    rsock_addr a;
    REQUIRE(rsock_getsockname(udp_target, &a) == 0);
    int port = 0;
    uint8_t ip[16];
    REQUIRE(rsock_addr_ip(&a, ip, &port) == 4);
    return port;
}

static rsock_t *open_kind(enum kind k)
{
    rsock_t *s = NULL;
    rsock_addr a;
    switch (k) {
    case TCP4: REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &s) == 0); break;
    case TCP6: REQUIRE(rsock_socket(AF_INET6, SOCK_STREAM, 0, &s) == 0); break;
    case UDP4: REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &s) == 0); break;
    case UDP6: REQUIRE(rsock_socket(AF_INET6, SOCK_DGRAM, 0, &s) == 0); break;
    case RAW4: REQUIRE(rsock_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP, &s) == 0); break;
    case RAW6: REQUIRE(rsock_socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, &s) == 0); break;
    case UDP4C:
        REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &s) == 0);
        REQUIRE(rsock_addr_in(&a, "127.0.0.1", target_port()) == 0);
        REQUIRE(rsock_connect(s, &a) == 0);
        break;
    case UDP6C: /* to the v4 target through a mapped address: IPV6_ADDRFORM needs it */
        REQUIRE(rsock_socket(AF_INET6, SOCK_DGRAM, 0, &s) == 0);
        REQUIRE(rsock_addr_in6(&a, "::ffff:127.0.0.1", target_port()) == 0);
        REQUIRE(rsock_connect(s, &a) == 0);
        break;
    case UNIXP: {
        int sv[2];
        REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
        REQUIRE(rsock_fdopen(sv[0], &s) == 0);
        REQUIRE(rsock_fdopen(sv[1], &peer_of_pair) == 0);
        break;
    }
    }
    return s;
}

static void close_kind(rsock_t *s)
{
    rsock_close(s);
    rsock_close(peer_of_pair);
    peer_of_pair = NULL;
}

static void check_int_row(const rsock_sockopt *r, const spec *sp)
{
    rsock_t *s = open_kind(sp->kind);
    int value = sp->value, got = -1;
    if (value == -1)
        value = (int)if_nametoindex("lo");
    if (r->get == RSOCK_OPT_INT) { /* a get returns an int */
        rsock_optval v = {.type = RSOCK_OPT_NONE};
        int rc = rsock_getsockopt(s, r->level, r->opt, &v);
        if (sp->get_err) {
            CHECK_ERR(rc, sp->get_err, r->name);
        } else {
            if (rc != 0)
                fprintf(stderr, "get %s: %d\n", r->name, rc);
            CHECK_EQ(rc, 0);
            CHECK_EQ(v.type, RSOCK_OPT_INT);
            CHECK_EQ(rsock_getsockopt_int(s, r->level, r->opt, &got), 0);
            CHECK_EQ(got, v.i);
        }
    }
    if (r->set == RSOCK_OPT_INT) {
        rsock_optval v = {.type = RSOCK_OPT_INT, .i = value};
        int rc = rsock_setsockopt(s, r->level, r->opt, &v);
        if (sp->set_err < 0 && rc == sp->set_err) {
            CHECK(strstr(rsock_error_message(), r->name));
        } else if (sp->set_err > 0) {
            CHECK_ERR(rc, sp->set_err, r->name);
        } else {
            if (rc != 0)
                fprintf(stderr, "set %s: %d\n", r->name, rc);
            CHECK_EQ(rc, 0);
            if (!sp->once)
                CHECK_EQ(rsock_setsockopt_int(s, r->level, r->opt, value), 0);
            if (r->get == RSOCK_OPT_INT && sp->back != NOT_READ && !sp->get_err) {
                CHECK_EQ(rsock_getsockopt_int(s, r->level, r->opt, &got), 0);
                if (got != (sp->back == DOUBLED ? 2 * value : value) &&
                    !(sp->back == AT_LEAST && got >= value))
                    fprintf(stderr, "%s: set %d, read %d\n", r->name, value, got);
                CHECK(got == (sp->back == DOUBLED ? 2 * value : value) ||
                      (sp->back == AT_LEAST && got >= value));
            }
        }
    }
    close_kind(s);
}

/* Every int row: the generic get / set / read back.  Other types below. */
static void test_every_int_row(void)
{
    if (geteuid() != 0 && !getenv("CI")) /* CI runs as root, where this never skips */
        SKIP("needs root: raw sockets (CAP_NET_RAW) and SO_DEBUG (CAP_NET_ADMIN)");
    size_t n = 0;
    const rsock_sockopt *t = rsock_sockopt_table(&n);
    REQUIRE(t && n > 0);
    for (size_t i = 0; i < n; i++) {
        if (t[i].get != RSOCK_OPT_INT && t[i].set != RSOCK_OPT_INT)
            continue;
        const spec *sp = find_spec(t[i].name);
        if (!sp)
            fprintf(stderr, "row %s has no test\n", t[i].name);
        CHECK(sp != NULL);
        if (sp)
            check_int_row(&t[i], sp);
    }
}

static void test_fixed_values(void)
{
    rsock_t *s = open_kind(TCP6);
    int v = -1;
    CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_DOMAIN, &v), 0); CHECK_EQ(v, AF_INET6);
    CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_TYPE, &v), 0); CHECK_EQ(v, SOCK_STREAM);
    CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_PROTOCOL, &v), 0);
    CHECK_EQ(v, IPPROTO_TCP);
    CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_ACCEPTCONN, &v), 0); CHECK_EQ(v, 0);
    CHECK_EQ(rsock_listen(s, 1), 0);
    CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_ACCEPTCONN, &v), 0); CHECK_EQ(v, 1);
    CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_ERROR, &v), 0); CHECK_EQ(v, 0);
    close_kind(s);
    s = open_kind(UDP4C);
    CHECK_EQ(rsock_getsockopt_int(s, IPPROTO_IP, IP_MTU, &v), 0);
    CHECK(v >= 576);
    close_kind(s);
}

/* IPV6_ADDRFORM (set only) turns a v6 socket connected to a mapped v4
 * address into an AF_INET socket: read back through SO_DOMAIN.  Kernels
 * from 6.18 on retired the option; there rsock must pass the kernel's
 * refusal through unchanged, so the kernel is asked first, directly. */
static bool kernel_has_addrform(void)
{
    rsock_t *probe = open_kind(UDP6C);
    int af = AF_INET;
    bool has = setsockopt(rsock_fd(probe), IPPROTO_IPV6, IPV6_ADDRFORM, &af, sizeof af) == 0;
    REQUIRE(has || errno == ENOPROTOOPT);
    close_kind(probe);
    return has;
}

static void test_addrform(void)
{
    bool has = kernel_has_addrform();
    rsock_t *s = open_kind(UDP6C);
    int v = 0;
    if (has) {
        CHECK_EQ(rsock_setsockopt_int(s, IPPROTO_IPV6, IPV6_ADDRFORM, AF_INET), 0);
        CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_DOMAIN, &v), 0);
        CHECK_EQ(v, AF_INET);
    } else {
        CHECK_ERR(rsock_setsockopt_int(s, IPPROTO_IPV6, IPV6_ADDRFORM, AF_INET), ENOPROTOOPT,
                  "IPV6_ADDRFORM fd");
        CHECK_EQ(rsock_getsockopt_int(s, SOL_SOCKET, SO_DOMAIN, &v), 0);
        CHECK_EQ(v, AF_INET6);
    }
    close_kind(s);
}

static void test_linger(void)
{
    rsock_t *s = open_kind(TCP4);
    bool on = true;
    int secs = -1;
    CHECK_EQ(rsock_getsockopt_linger(s, &on, &secs), 0);
    CHECK(!on);
    CHECK_EQ(rsock_setsockopt_linger(s, true, 5), 0);
    CHECK_EQ(rsock_getsockopt_linger(s, &on, &secs), 0);
    CHECK(on); CHECK_EQ(secs, 5);
    rsock_optval v = {.type = RSOCK_OPT_LINGER, .linger = {false, 0}};
    CHECK_EQ(rsock_setsockopt(s, SOL_SOCKET, SO_LINGER, &v), 0);
    v.linger.on = true;
    CHECK_EQ(rsock_getsockopt(s, SOL_SOCKET, SO_LINGER, &v), 0);
    CHECK_EQ(v.type, RSOCK_OPT_LINGER); CHECK(!v.linger.on);
    CHECK_ERR(rsock_setsockopt_linger(s, true, -1), EINVAL, "rsock_setsockopt_linger");
    close_kind(s);
}

static void test_timeval(void)
{
    rsock_t *s = open_kind(UDP4);
    int opts[] = {SO_RCVTIMEO, SO_SNDTIMEO};
    for (int i = 0; i < 2; i++) {
        double t = -1;
        CHECK_EQ(rsock_getsockopt_timeval(s, SOL_SOCKET, opts[i], &t), 0);
        CHECK(t == 0);
        CHECK_EQ(rsock_setsockopt_timeval(s, SOL_SOCKET, opts[i], 1.5), 0);
        CHECK_EQ(rsock_getsockopt_timeval(s, SOL_SOCKET, opts[i], &t), 0);
        CHECK(fabs(t - 1.5) < 0.01); /* kept in jiffies: exact to a tick */
        rsock_optval v = {.type = RSOCK_OPT_TIMEVAL, .timeval = 0.25};
        CHECK_EQ(rsock_setsockopt(s, SOL_SOCKET, opts[i], &v), 0);
        CHECK_EQ(rsock_getsockopt(s, SOL_SOCKET, opts[i], &v), 0);
        CHECK_EQ(v.type, RSOCK_OPT_TIMEVAL); CHECK(fabs(v.timeval - 0.25) < 0.01);
        CHECK_ERR(rsock_setsockopt_timeval(s, SOL_SOCKET, opts[i], -1), EINVAL,
                  "is not a time in seconds");
        CHECK_ERR(rsock_setsockopt_timeval(s, SOL_SOCKET, opts[i], NAN), EINVAL,
                  "is not a time in seconds");
    }
    close_kind(s);
}

static void test_bytes(void)
{
    rsock_t *s = open_kind(UDP4);
    char buf[64] = "";
    CHECK_EQ(rsock_setsockopt_bytes(s, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0);
    CHECK_EQ(rsock_getsockopt_bytes(s, SOL_SOCKET, SO_BINDTODEVICE, buf, sizeof buf), 3);
    CHECK_STR(buf, "lo");
    /* IP_OPTIONS: four NOPs, read back as set */
    const unsigned char nops[4] = {1, 1, 1, 1};
    CHECK_EQ(rsock_setsockopt_bytes(s, IPPROTO_IP, IP_OPTIONS, nops, 4), 0);
    CHECK_EQ(rsock_getsockopt_bytes(s, IPPROTO_IP, IP_OPTIONS, buf, sizeof buf), 4);
    CHECK(memcmp(buf, nops, 4) == 0);
    CHECK_EQ(rsock_setsockopt_bytes(s, IPPROTO_IP, IP_OPTIONS, NULL, 0), 0);
    CHECK_EQ(rsock_getsockopt_bytes(s, IPPROTO_IP, IP_OPTIONS, buf, sizeof buf), 0);
    close_kind(s);

    s = open_kind(TCP4); /* TCP_CONGESTION: also readable (the reference: set only) */
    rsock_optval v = {.type = RSOCK_OPT_BYTES, .bytes = {buf, sizeof buf}};
    CHECK_EQ(rsock_getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, &v), 0);
    CHECK_EQ(v.type, RSOCK_OPT_BYTES); CHECK(v.bytes.len > 0 && buf[0]);
    CHECK_EQ(rsock_setsockopt_bytes(s, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), 0);
    memset(buf, 'x', sizeof buf);
    /* the kernel writes its 16-byte name field: the name, NUL-padded */
    CHECK_EQ(rsock_getsockopt_bytes(s, IPPROTO_TCP, TCP_CONGESTION, buf, sizeof buf), 16);
    CHECK_STR(buf, "reno");
    CHECK_ERR(rsock_setsockopt_bytes(s, IPPROTO_TCP, TCP_CONGESTION, buf, (size_t)INT_MAX + 1),
              EINVAL, "TCP_CONGESTION: 2147483648 bytes is too long");
    CHECK_ERR(rsock_setsockopt_bytes(s, IPPROTO_TCP, TCP_CONGESTION, "no-such-cc", 10),
              ENOENT, "TCP_CONGESTION");
    v.bytes.buf = NULL, v.bytes.len = 8;
    CHECK_ERR(rsock_getsockopt(s, IPPROTO_TCP, TCP_CONGESTION, &v), EINVAL, "NULL buffer");
    close_kind(s);
}

/* IPV6_RTHDR, IPV6_DSTOPTS, IPV6_HOPOPTS hold the extension header itself. */
static void test_ipv6_sticky_headers(void)
{
    if (geteuid() != 0 && !getenv("CI")) /* CI runs as root, where this never skips */
        SKIP("needs root: setting IPv6 extension headers needs CAP_NET_RAW");
    rsock_t *s = open_kind(UDP6);
    /* next header 0, length 0 (8 bytes), then PadN of 4 zero bytes */
    const unsigned char hdr[8] = {0, 0, 1, 4, 0, 0, 0, 0};
    unsigned char buf[64];
    CHECK_EQ(rsock_getsockopt_bytes(s, IPPROTO_IPV6, IPV6_RTHDR, buf, sizeof buf), 0);
    int opts[] = {IPV6_DSTOPTS, IPV6_HOPOPTS};
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(rsock_getsockopt_bytes(s, IPPROTO_IPV6, opts[i], buf, sizeof buf), 0);
        CHECK_EQ(rsock_setsockopt_bytes(s, IPPROTO_IPV6, opts[i], hdr, sizeof hdr), 0);
        memset(buf, 0xff, sizeof buf);
        CHECK_EQ(rsock_getsockopt_bytes(s, IPPROTO_IPV6, opts[i], buf, sizeof buf), 8);
        CHECK(memcmp(buf, hdr, 8) == 0);
    }
    close_kind(s);
}

static void test_peercred(void)
{
    rsock_t *s = open_kind(UNIXP);
    rsock_optval v = {.type = RSOCK_OPT_NONE};
    CHECK_EQ(rsock_getsockopt(s, SOL_SOCKET, SO_PEERCRED, &v), 0);
    CHECK_EQ(v.type, RSOCK_OPT_UCRED);
    CHECK_EQ(v.ucred.pid, getpid());
    CHECK_EQ(v.ucred.uid, getuid());
    CHECK_EQ(v.ucred.gid, getgid());
    CHECK_ERR(rsock_setsockopt(s, SOL_SOCKET, SO_PEERCRED, &v), ENOPROTOOPT, "SO_PEERCRED");
    close_kind(s);
}

static void test_ipv4_membership(void)
{
    rsock_t *s = open_kind(UDP4);
    rsock_optval v = {.type = RSOCK_OPT_MREQ};
    inet_pton(AF_INET, "224.0.0.199", &v.mreq.group);
    inet_pton(AF_INET, "127.0.0.1", &v.mreq.iface);
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &v), 0);
    CHECK_ERR(rsock_setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &v), EADDRINUSE,
              "IP_ADD_MEMBERSHIP");
    rsock_optval src = {.type = RSOCK_OPT_MREQ_SRC};
    src.mreq_src.group = v.mreq.group, src.mreq_src.iface = v.mreq.iface;
    inet_pton(AF_INET, "127.0.0.2", &src.mreq_src.source);
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IP, IP_BLOCK_SOURCE, &src), 0);
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IP, IP_UNBLOCK_SOURCE, &src), 0);
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IP, IP_DROP_MEMBERSHIP, &v), 0);
    CHECK_ERR(rsock_setsockopt(s, IPPROTO_IP, IP_DROP_MEMBERSHIP, &v), EADDRNOTAVAIL,
              "IP_DROP_MEMBERSHIP");
    /* source-specific: join one source, leave it */
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, &src), 0);
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, &src), 0);
    /* IP_MULTICAST_IF: set with an interface address, read back (the
     * reference cannot read it) */
    rsock_optval m = {.type = RSOCK_OPT_MREQ};
    m.mreq.iface = v.mreq.iface;
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &m), 0);
    memset(&m, 0, sizeof m);
    CHECK_EQ(rsock_getsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &m), 0);
    CHECK_EQ(m.type, RSOCK_OPT_MREQ);
    CHECK_EQ(m.mreq.iface.s_addr, v.mreq.iface.s_addr);
    CHECK_EQ(m.mreq.group.s_addr, 0);
    close_kind(s);
}

static void test_ipv6_membership(void)
{
    rsock_t *s = open_kind(UDP6);
    rsock_optval v = {.type = RSOCK_OPT_MREQ6};
    inet_pton(AF_INET6, "ff02::1:199", &v.mreq6.group);
    v.mreq6.ifindex = if_nametoindex("lo");
    REQUIRE(v.mreq6.ifindex > 0);
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &v), 0);
    CHECK_ERR(rsock_setsockopt(s, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &v), EADDRINUSE,
              "IPV6_ADD_MEMBERSHIP");
    CHECK_EQ(rsock_setsockopt(s, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &v), 0);
    CHECK_ERR(rsock_setsockopt(s, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &v), EADDRNOTAVAIL,
              "IPV6_DROP_MEMBERSHIP");
    close_kind(s);
}

/* Every row whose get or set type is not int gets a get (type checked). */
static void test_every_row_reads_its_type(void)
{
    if (geteuid() != 0 && !getenv("CI")) /* CI runs as root, where this never skips */
        SKIP("needs root: raw sockets (CAP_NET_RAW) and SO_DEBUG (CAP_NET_ADMIN)");
    size_t n = 0;
    const rsock_sockopt *t = rsock_sockopt_table(&n);
    for (size_t i = 0; i < n; i++) {
        /* addr rows need a redirected connection: test_original_dst */
        if (t[i].get == RSOCK_OPT_NONE || t[i].get == RSOCK_OPT_INT || t[i].get == RSOCK_OPT_ADDR)
            continue;
        enum kind k = t[i].level == IPPROTO_IPV6 ? UDP6
                      : t[i].level == IPPROTO_TCP ? TCP4
                      : t[i].get == RSOCK_OPT_UCRED ? UNIXP
                                                    : UDP4;
        rsock_t *s = open_kind(k);
        char buf[256];
        rsock_optval v = {.type = RSOCK_OPT_NONE, .bytes = {buf, sizeof buf}};
        if (t[i].get != RSOCK_OPT_BYTES)
            memset(&v, 0, sizeof v);
        int rc = rsock_getsockopt(s, t[i].level, t[i].opt, &v);
        if (rc != 0)
            fprintf(stderr, "get %s: %d\n", t[i].name, rc);
        CHECK_EQ(rc, 0);
        CHECK_EQ(v.type, t[i].get);
        close_kind(s);
    }
}

static void test_table_lookup(void)
{
    size_t n = 0;
    const rsock_sockopt *t = rsock_sockopt_table(&n);
    CHECK(rsock_sockopt_table(NULL) == t);
    for (size_t i = 0; i < n; i++) {
        CHECK(rsock_sockopt_find(t[i].level, t[i].opt) == &t[i]);
        CHECK(rsock_sockopt_by_name(t[i].name) == &t[i]);
        CHECK(t[i].get != RSOCK_OPT_NONE || t[i].set != RSOCK_OPT_NONE);
    }
    const rsock_sockopt *oob = rsock_sockopt_by_name("SO_OOBLINE");
    REQUIRE(oob != NULL);
    CHECK(oob == rsock_sockopt_by_name("SO_OOBINLINE"));
    CHECK_EQ(oob->opt, SO_OOBINLINE);
    CHECK(rsock_sockopt_by_name("SO_FOO") == NULL);
    CHECK(rsock_sockopt_by_name(NULL) == NULL);
    CHECK(rsock_sockopt_find(SOL_SOCKET, 99999) == NULL);
    CHECK(rsock_sockopt_find(12345, SO_TYPE) == NULL);
    /* the row types the deviations promise */
    CHECK_EQ(rsock_sockopt_by_name("SO_PEERCRED")->get, RSOCK_OPT_UCRED);
    CHECK_EQ(rsock_sockopt_by_name("SO_TYPE")->set, RSOCK_OPT_NONE);
    CHECK_EQ(rsock_sockopt_by_name("TCP_CONGESTION")->get, RSOCK_OPT_BYTES);
    CHECK_EQ(rsock_sockopt_by_name("IP_MULTICAST_IF")->get, RSOCK_OPT_MREQ);
    CHECK_EQ(rsock_sockopt_by_name("IP_PKTINFO")->set, RSOCK_OPT_INT);
    CHECK_EQ(rsock_sockopt_by_name("IPV6_ADDRFORM")->get, RSOCK_OPT_NONE);
#ifndef SO_USELOOPBACK
    CHECK(rsock_sockopt_by_name("SO_USELOOPBACK") == NULL);
#endif
#ifndef IPV6_FLOWINFO
    CHECK(rsock_sockopt_by_name("IPV6_FLOWINFO") == NULL);
#endif
    CHECK_STR(rsock_opttype_name(RSOCK_OPT_INT), "int");
    CHECK_STR(rsock_opttype_name(RSOCK_OPT_MREQ_SRC), "mreq-src");
    CHECK_STR(rsock_opttype_name((rsock_opttype)99), "unknown");
}

/* A shortcut of every type on a row of another type. */
static void test_wrong_types(void)
{
    rsock_t *s = open_kind(TCP4);
    int i = 0;
    double d = 0;
    char buf[8];
    CHECK_ERR(rsock_setsockopt_int(s, SOL_SOCKET, SO_LINGER, 1), EINVAL,
              "SO_LINGER takes linger, not int");
    CHECK_ERR(rsock_getsockopt_int(s, SOL_SOCKET, SO_LINGER, &i), EINVAL,
              "SO_LINGER takes linger, not int");
    CHECK_ERR(rsock_getsockopt_int(s, SOL_SOCKET, SO_RCVTIMEO, &i), EINVAL,
              "SO_RCVTIMEO takes timeval, not int");
    CHECK_ERR(rsock_setsockopt_timeval(s, IPPROTO_TCP, TCP_NODELAY, 1), EINVAL,
              "TCP_NODELAY takes int, not timeval");
    CHECK_ERR(rsock_getsockopt_timeval(s, IPPROTO_TCP, TCP_NODELAY, &d), EINVAL,
              "TCP_NODELAY takes int, not timeval");
    CHECK_ERR(rsock_getsockopt_bytes(s, IPPROTO_TCP, TCP_NODELAY, buf, sizeof buf), EINVAL,
              "TCP_NODELAY takes int, not bytes");
    CHECK_ERR(rsock_setsockopt_bytes(s, IPPROTO_TCP, TCP_NODELAY, buf, 4), EINVAL,
              "TCP_NODELAY takes int, not bytes");
    CHECK_ERR(rsock_setsockopt_int(s, IPPROTO_TCP, TCP_CONGESTION, 1), EINVAL,
              "TCP_CONGESTION takes bytes, not int");
    CHECK_ERR(rsock_setsockopt_int(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, 1), EINVAL,
              "IP_ADD_MEMBERSHIP takes mreq, not int");
    CHECK_ERR(rsock_getsockopt_bytes(s, SOL_SOCKET, SO_PEERCRED, buf, sizeof buf), EINVAL,
              "SO_PEERCRED takes ucred, not bytes");
    rsock_optval v = {.type = RSOCK_OPT_INT, .i = 1};
    CHECK_ERR(rsock_setsockopt(s, SOL_SOCKET, SO_LINGER, &v), EINVAL,
              "SO_LINGER takes linger, not int");
    v.type = RSOCK_OPT_MREQ6;
    CHECK_ERR(rsock_setsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &v), EINVAL,
              "IP_ADD_MEMBERSHIP takes mreq, not mreq6");
    close_kind(s);
}

/* A direction the row lacks, an unknown level or option, NULLs. */
static void test_refused(void)
{
    rsock_t *s = open_kind(TCP4);
    int i = 0;
    bool on;
    double d;
    rsock_optval v = {.type = RSOCK_OPT_INT, .i = 1};
    CHECK_ERR(rsock_setsockopt_int(s, SOL_SOCKET, SO_TYPE, 1), ENOPROTOOPT,
              "SO_TYPE: the option cannot be set");
    CHECK_ERR(rsock_setsockopt(s, SOL_SOCKET, SO_ERROR, &v), ENOPROTOOPT, "SO_ERROR");
    CHECK_ERR(rsock_setsockopt_int(s, SOL_SOCKET, SO_ACCEPTCONN, 1), ENOPROTOOPT,
              "SO_ACCEPTCONN");
    CHECK_ERR(rsock_setsockopt_int(s, SOL_SOCKET, SO_DOMAIN, 1), ENOPROTOOPT, "SO_DOMAIN");
    CHECK_ERR(rsock_setsockopt_int(s, SOL_SOCKET, SO_PROTOCOL, 1), ENOPROTOOPT, "SO_PROTOCOL");
    CHECK_ERR(rsock_setsockopt_int(s, IPPROTO_IP, IP_MTU, 1), ENOPROTOOPT, "IP_MTU");
    CHECK_ERR(rsock_getsockopt_int(s, IPPROTO_IPV6, IPV6_ADDRFORM, &i), ENOPROTOOPT,
              "IPV6_ADDRFORM: the option cannot be read");
    CHECK_ERR(rsock_getsockopt(s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &v), ENOPROTOOPT,
              "IP_ADD_MEMBERSHIP: the option cannot be read");
    CHECK_ERR(rsock_getsockopt(s, IPPROTO_IP, IP_BLOCK_SOURCE, &v), ENOPROTOOPT,
              "IP_BLOCK_SOURCE");
    CHECK_ERR(rsock_getsockopt(s, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &v), ENOPROTOOPT,
              "IPV6_DROP_MEMBERSHIP");
    CHECK_ERR(rsock_getsockopt_int(s, 12345, SO_TYPE, &i), ENOPROTOOPT,
              "level 12345 option 3: not in the option table");
    CHECK_ERR(rsock_setsockopt_int(s, SOL_SOCKET, 99999, 1), ENOPROTOOPT,
              "option 99999: not in the option table");
    CHECK_ERR(rsock_getsockopt(s, IPPROTO_UDP, 1, &v), ENOPROTOOPT, "not in the option table");
    /* NULLs */
    CHECK_ERR(rsock_getsockopt(NULL, SOL_SOCKET, SO_TYPE, &v), EINVAL, "NULL socket");
    CHECK_ERR(rsock_setsockopt(NULL, SOL_SOCKET, SO_REUSEADDR, &v), EINVAL, "NULL socket");
    CHECK_ERR(rsock_getsockopt(s, SOL_SOCKET, SO_TYPE, NULL), EINVAL, "NULL value");
    CHECK_ERR(rsock_setsockopt(s, SOL_SOCKET, SO_TYPE, NULL), EINVAL, "NULL value");
    CHECK_ERR(rsock_getsockopt_int(NULL, SOL_SOCKET, SO_TYPE, &i), EINVAL, "NULL socket");
    CHECK_ERR(rsock_getsockopt_int(s, SOL_SOCKET, SO_TYPE, NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_setsockopt_int(NULL, SOL_SOCKET, SO_REUSEADDR, 1), EINVAL, "NULL socket");
    CHECK_ERR(rsock_getsockopt_timeval(s, SOL_SOCKET, SO_RCVTIMEO, NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_getsockopt_timeval(NULL, SOL_SOCKET, SO_RCVTIMEO, &d), EINVAL,
              "NULL socket");
    CHECK_ERR(rsock_setsockopt_timeval(NULL, SOL_SOCKET, SO_RCVTIMEO, 1), EINVAL,
              "NULL socket");
    CHECK_ERR(rsock_getsockopt_linger(s, NULL, &i), EINVAL, "NULL out");
    CHECK_ERR(rsock_getsockopt_linger(s, &on, NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_getsockopt_linger(NULL, &on, &i), EINVAL, "NULL socket");
    CHECK_ERR(rsock_setsockopt_linger(NULL, true, 1), EINVAL, "NULL socket");
    CHECK_ERR(rsock_getsockopt_bytes(NULL, IPPROTO_TCP, TCP_CONGESTION, &i, 4), EINVAL,
              "NULL socket");
    CHECK_ERR(rsock_getsockopt_bytes(s, IPPROTO_TCP, TCP_CONGESTION, NULL, 4), EINVAL,
              "NULL buffer");
    CHECK_ERR(rsock_setsockopt_bytes(NULL, IPPROTO_TCP, TCP_CONGESTION, "reno", 4), EINVAL,
              "NULL socket");
    CHECK_ERR(rsock_setsockopt_bytes(s, IPPROTO_TCP, TCP_CONGESTION, NULL, 4), EINVAL,
              "NULL buffer");
    close_kind(s);
}

int main(void)
{
    rsock_t *warm = NULL; /* the thread's loop exists before the fd count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    rsock_close(warm);
    int fds = check_fd_count();
    rsock_addr a;
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &udp_target) == 0);
    REQUIRE(rsock_addr_in(&a, "127.0.0.1", 0) == 0 && rsock_bind(udp_target, &a) == 0);
    RUN(test_table_lookup);
    RUN(test_every_int_row);
    RUN(test_every_row_reads_its_type);
    RUN(test_fixed_values);
    RUN(test_addrform);
    RUN(test_linger);
    RUN(test_timeval);
    RUN(test_bytes);
    RUN(test_ipv6_sticky_headers);
    RUN(test_peercred);
    RUN(test_ipv4_membership);
    RUN(test_ipv6_membership);
    RUN(test_wrong_types);
    RUN(test_refused);
    rsock_close(udp_target);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
