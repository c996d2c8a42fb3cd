/* Socket addresses: every address row of DESIGN.md and every refused input
 * of the address contract.  Names are resolved only inside the sandbox
 * (tests/sandbox.h) or for "localhost": no query ever leaves the machine. */
#include "check.h"
#include "addr_priv.h"
#include "sandbox.h"

#include <errno.h>
#include <net/if.h>
#include <stddef.h>
#include <sys/socket.h>

#define SUN_OFF offsetof(struct sockaddr_un, sun_path)

static char text_[RSOCK_ADDRSTRLEN];

/* The formatted address, or "ERR" when formatting fails. */
static const char *fmt(const rsock_addr *a)
{
    return rsock_addr_format(a, text_, sizeof text_) < 0 ? "ERR" : text_;
}

/* Parse (without resolving) and format: the text, or "ERR". */
static const char *pf(const char *text)
{
    rsock_addr a;
    return rsock__addr_parse_numeric(&a, text) < 0 ? "ERR" : fmt(&a);
}

static bool same(const rsock_addr *a, const rsock_addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* text parses, formats as want, and want parses back to the same bytes. */
#define ROUND(text, want)                                                                          \
    do {                                                                                           \
        rsock_addr ra_, rb_;                                                                         \
        CHECK_EQ(rsock__addr_parse_numeric(&ra_, text), 0);                                         \
        CHECK_STR(fmt(&ra_), want);                                                                 \
        CHECK_EQ(rsock__addr_parse_numeric(&rb_, want), 0);                                         \
        CHECK(same(&ra_, &rb_));                                                                     \
    } while (0)

/* The parser the REFUSE checks use: the numeric one, so that a refused
 * text that wrongly reached the resolver could not send a query; inside
 * the sandbox they run again through rsock_addr_parse itself. */
static int (*parse_fn)(rsock_addr *, const char *) = rsock__addr_parse_numeric;

/* The parser refuses text with err and a message naming the part. */
#define REFUSE(text, err, part)                                                                    \
    do {                                                                                           \
        rsock_addr fa_;                                                                            \
        CHECK_ERR(parse_fn(&fa_, text), err, part);                                                \
    } while (0)

/* ---- make-socket-address ---- */

static void test_init(void)
{
    static const struct { int family; socklen_t len; } rows[] = {
        {AF_INET, sizeof(struct sockaddr_in)},   {AF_INET6, sizeof(struct sockaddr_in6)},
        {AF_UNIX, sizeof(struct sockaddr_un)},   {AF_NETLINK, sizeof(struct sockaddr_nl)},
        {AF_PACKET, sizeof(struct sockaddr_ll)},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rsock_addr a;
        memset(&a, 0xab, sizeof a);
        CHECK_EQ(rsock_addr_init(&a, rows[i].family), 0);
        CHECK_EQ(a.len, rows[i].len);
        CHECK_EQ(rsock_addr_family(&a), rows[i].family);
        CHECK(rsock_addr_valid(&a));
        uint8_t zero[sizeof a.ss] = {0};
        CHECK(memcmp((uint8_t *)&a.ss + 2, zero, sizeof a.ss - 2) == 0);
    }
    rsock_addr a;
    CHECK_ERR(rsock_addr_init(&a, AF_APPLETALK), EAFNOSUPPORT, "unknown address family");
    CHECK_ERR(rsock_addr_init(&a, -1), EAFNOSUPPORT, "rsock_addr_init -1");
    CHECK_ERR(rsock_addr_init(NULL, AF_INET), EINVAL, "NULL address");
    CHECK_STR(fmt((rsock_addr[]){{.in = {.sin_family = AF_INET}, .len = 16}}), "0.0.0.0:0");
}

/* ---- socket-address-in ---- */

static void test_in(void)
{
    rsock_addr a;
    CHECK_EQ(rsock_addr_in(&a, "127.0.0.1", 8080), 0);
    CHECK_EQ(a.len, sizeof(struct sockaddr_in));
    CHECK_EQ(a.in.sin_family, AF_INET);
    CHECK_EQ(ntohs(a.in.sin_port), 8080);
    CHECK_EQ(ntohl(a.in.sin_addr.s_addr), 0x7f000001);
    CHECK_STR(fmt(&a), "127.0.0.1:8080");
    CHECK_EQ(rsock_addr_in(&a, "255.255.255.255", 65535), 0);
    CHECK_STR(fmt(&a), "255.255.255.255:65535");
    CHECK_EQ(rsock_addr_in(&a, "0.0.0.0", 0), 0);
    CHECK_STR(fmt(&a), "0.0.0.0:0");
}

static void test_in_refused(void)
{
    static const char *bad[] = {"1.2.3.999", "256.0.0.1", "127.1",      "2130706433",
                                "0x7f.0.0.1", "010.0.0.1", "1.2.3.4.5", "1.2.3",
                                "1.2.3.",     ".1.2.3",   "1..2.3",    "",
                                " 1.2.3.4",   "1.2.3.4 ", "1.2.3.-4",  "1.2.3.4:80",
                                "localhost",  "::1",      "1.2.3.0004", "+1.2.3.4"};
    rsock_addr a;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ERR(rsock_addr_in(&a, bad[i], 80), EINVAL, "bad IPv4 address");
    CHECK_ERR(rsock_addr_in(&a, "1.2.3.999", 80), EINVAL,
              "rsock_addr_in \"1.2.3.999\" 80: bad IPv4 address");
    CHECK_ERR(rsock_addr_in(&a, "1.2.3.4", -1), EINVAL, "bad port");
    CHECK_ERR(rsock_addr_in(&a, "1.2.3.4", 65536), EINVAL, "\"1.2.3.4\" 65536: bad port");
    CHECK_ERR(rsock_addr_in(NULL, "1.2.3.4", 80), EINVAL, "rsock_addr_in: NULL address");
    CHECK_ERR(rsock_addr_in(&a, NULL, 80), EINVAL, "rsock_addr_in: NULL host");
}

/* ---- socket-address-in6 ---- */

static void test_in6(void)
{
    rsock_addr a;
    CHECK_EQ(rsock_addr_in6(&a, "::1", 80), 0);
    CHECK_EQ(a.len, sizeof(struct sockaddr_in6));
    CHECK_EQ(a.in6.sin6_family, AF_INET6);
    CHECK(IN6_IS_ADDR_LOOPBACK(&a.in6.sin6_addr));
    CHECK_STR(fmt(&a), "[::1]:80");
    unsigned lo = if_nametoindex("lo");
    REQUIRE(lo > 0);
    CHECK_EQ(rsock_addr_in6(&a, "fe80::1%lo", 80), 0);
    CHECK_EQ(a.in6.sin6_scope_id, lo);
    CHECK_STR(fmt(&a), "[fe80::1%lo]:80");
    char by_number[32];
    snprintf(by_number, sizeof by_number, "fe80::1%%%u", lo);
    CHECK_EQ(rsock_addr_in6(&a, by_number, 80), 0);
    CHECK_EQ(a.in6.sin6_scope_id, lo);
    CHECK_STR(fmt(&a), "[fe80::1%lo]:80");
    /* An index no interface has is kept and written as a number. */
    CHECK_EQ(rsock_addr_in6(&a, "fe80::1%4000000000", 9), 0);
    CHECK_STR(fmt(&a), "[fe80::1%4000000000]:9");
    CHECK_EQ(rsock_addr_in6(&a, "::ffff:1.2.3.4", 80), 0);
    CHECK(IN6_IS_ADDR_V4MAPPED(&a.in6.sin6_addr));
    CHECK_STR(fmt(&a), "[::ffff:1.2.3.4]:80");
    CHECK_EQ(rsock_addr_in6(&a, "1:2:3:4:5:6:1.2.3.4", 1), 0);
    CHECK_STR(fmt(&a), "[1:2:3:4:5:6:102:304]:1");
    CHECK_EQ(rsock_addr_in6(&a, "::1.2.3.4", 1), 0);
    CHECK_STR(fmt(&a), "[::102:304]:1");
}

static void test_in6_refused(void)
{
    static const char *bad[] = {":::",
                                "1::2::3",
                                "::1::",
                                "1:2:3:4:5:6:7:8:9",
                                "1:2:3:4:5:6:7",
                                "1:2:3:4:5:6:7::8",
                                "12345::",
                                "g::1",
                                "::x",
                                "1:",
                                ":1",
                                "::1:",
                                ":1::",
                                "",
                                "[::1]",
                                "1.2.3.4",
                                "::ffff:1.2.3",
                                "::ffff:1.2.3.4.5",
                                "1:2:3:4:5:6:7:1.2.3.4",
                                "1.2.3.4::",
                                " ::1",
                                "::1 "};
    rsock_addr a;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ERR(rsock_addr_in6(&a, bad[i], 80), EINVAL, "bad IPv6 address");
    CHECK_ERR(rsock_addr_in6(&a, ":::", 80), EINVAL, "rsock_addr_in6 \":::\" 80: bad IPv6 address");
    CHECK_ERR(rsock_addr_in6(&a, "fe80::1%", 80), EINVAL, "bad scope");
    CHECK_ERR(rsock_addr_in6(&a, "fe80::1%a/b", 80), EINVAL, "bad scope");
    /* A scope that is not all digits is a name, even with a leading digit. */
    CHECK_ERR(rsock_addr_in6(&a, "fe80::1%1x", 80), ENODEV, "unknown scope interface");
    CHECK_ERR(rsock_addr_in6(&a, "fe80::1%99999999999", 80), EINVAL, "bad scope");
    CHECK_ERR(rsock_addr_in6(&a, "fe80::1%averyveryverylongname", 80), EINVAL, "bad scope");
    CHECK_ERR(rsock_addr_in6(&a, "fe80::1%nosuchif0", 80), ENODEV, "unknown scope interface");
    CHECK_ERR(rsock_addr_in6(&a, "::1", 65536), EINVAL, "bad port");
    CHECK_ERR(rsock_addr_in6(&a, "::1", -1), EINVAL, "bad port");
    CHECK_ERR(rsock_addr_in6(NULL, "::1", 80), EINVAL, "NULL address");
    CHECK_ERR(rsock_addr_in6(&a, NULL, 80), EINVAL, "NULL host");
}

/* RFC 5952: longest zero run (>= 2 groups, first on ties), lower case. */
static void test_rfc5952(void)
{
    static const char *rows[][2] = {
        {"2001:0db8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]:1"},
        {"2001:db8:0:0:1:0:0:1", "[2001:db8::1:0:0:1]:1"},
        {"2001:db8:0:0:0:1:0:0", "[2001:db8::1:0:0]:1"},
        {"1:0:0:2:0:0:0:3", "[1:0:0:2::3]:1"},
        {"2001:db8:0:1:1:1:1:1", "[2001:db8:0:1:1:1:1:1]:1"},
        {"2001:DB8::ABCD", "[2001:db8::abcd]:1"},
        {"0:0:0:0:0:0:0:0", "[::]:1"},
        {"0:0:0:0:0:0:0:1", "[::1]:1"},
        {"1:0:0:0:0:0:0:0", "[1::]:1"},
        {"0:1:0:0:0:0:0:0", "[0:1::]:1"},
        {"1:0:1:0:1:0:1:0", "[1:0:1:0:1:0:1:0]:1"},
        {"0:0:0:0:0:ffff:0:0", "[::ffff:0.0.0.0]:1"},
        {"::ffff:7f00:1", "[::ffff:127.0.0.1]:1"},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:1"},
        {"0001:0002::", "[1:2::]:1"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rsock_addr a;
        CHECK_EQ(rsock_addr_in6(&a, rows[i][0], 1), 0);
        CHECK_STR(fmt(&a), rows[i][1]);
    }
}

/* ---- socket-address-un ---- */

static void test_un(void)
{
    rsock_addr a;
    CHECK_EQ(rsock_addr_un(&a, "/tmp/x.sock"), 0);
    CHECK_EQ(a.un.sun_family, AF_UNIX);
    CHECK_EQ(a.len, SUN_OFF + strlen("/tmp/x.sock") + 1);
    CHECK_STR(rsock_addr_path(&a), "/tmp/x.sock");
    CHECK_STR(fmt(&a), "/tmp/x.sock");
    CHECK_EQ(rsock_addr_un(&a, "rel.sock"), 0);
    CHECK_STR(rsock_addr_path(&a), "rel.sock");
    CHECK_STR(fmt(&a), "unix:rel.sock");
    CHECK_EQ(rsock_addr_un(&a, "@abs"), 0);
    CHECK_EQ(a.len, SUN_OFF + 4); /* NUL + "abs", no padding */
    CHECK_EQ(a.un.sun_path[0], 0);
    CHECK(memcmp(a.un.sun_path + 1, "abs", 3) == 0);
    CHECK(rsock_addr_path(&a) == NULL);
    CHECK_STR(fmt(&a), "@abs");
}

static void test_un_limits(void)
{
    char path[UNIX_MAX_PATH + 2];
    rsock_addr a;
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[UNIX_MAX_PATH - 1] = '\0'; /* 107 bytes: fits with its NUL */
    CHECK_EQ(rsock_addr_un(&a, path), 0);
    CHECK_EQ(a.len, sizeof(struct sockaddr_un));
    CHECK_STR(rsock_addr_path(&a), path);
    CHECK_STR(fmt(&a), path);
    path[UNIX_MAX_PATH - 1] = 'p';
    path[UNIX_MAX_PATH] = '\0'; /* 108 bytes */
    CHECK_ERR(rsock_addr_un(&a, path), ENAMETOOLONG, "Unix path too long (108 bytes, at most 107)");
    path[UNIX_MAX_PATH] = 'p';
    path[UNIX_MAX_PATH + 1] = '\0';
    CHECK_ERR(rsock_addr_un(&a, path), ENAMETOOLONG, "Unix path too long");
    path[0] = '@'; /* "@" + 108 bytes */
    CHECK_ERR(rsock_addr_un(&a, path), ENAMETOOLONG, "abstract name too long");
    path[UNIX_MAX_PATH] = '\0'; /* "@" + 107 bytes: fits */
    CHECK_EQ(rsock_addr_un(&a, path), 0);
    CHECK_EQ(a.len, sizeof(struct sockaddr_un));
    CHECK_STR(fmt(&a), path);
    CHECK_ERR(rsock_addr_un(&a, ""), EINVAL, "rsock_addr_un \"\": empty Unix path");
    CHECK_ERR(rsock_addr_un(NULL, "/x"), EINVAL, "NULL address");
    CHECK_ERR(rsock_addr_un(&a, NULL), EINVAL, "NULL path");
}

/* ---- socket-address: the grammar ---- */

static void test_parse_rows(void)
{
    ROUND("1.2.3.4:80", "1.2.3.4:80");
    ROUND("[::1]:80", "[::1]:80");
    ROUND("::1:80", "[::1]:80");
    ROUND("[fe80::1%lo]:80", "[fe80::1%lo]:80");
    ROUND("fe80::1%lo:80", "[fe80::1%lo]:80");
    ROUND("[fe80::1%1]:443", "[fe80::1%lo]:443");
    ROUND(":80", "0.0.0.0:80");
    ROUND(":0", "0.0.0.0:0");
    ROUND("[::]:80", "[::]:80");
    ROUND(":::80", "[::]:80");
    ROUND("cafe::1:80", "[cafe::1]:80");
    ROUND("[::ffff:1.2.3.4]:80", "[::ffff:1.2.3.4]:80");
    ROUND("::ffff:1.2.3.4:80", "[::ffff:1.2.3.4]:80");
    ROUND("[2001:DB8:0:0:0:0:0:1]:65535", "[2001:db8::1]:65535");
    ROUND("1.2.3.4:00080", "1.2.3.4:80");
    ROUND("/tmp/a.sock", "/tmp/a.sock");
    ROUND("./a.sock", "unix:./a.sock");
    ROUND("dir/a.sock", "unix:dir/a.sock");
    ROUND("unix:rel.sock", "unix:rel.sock");
    ROUND("unix:/abs.sock", "/abs.sock");
    ROUND("unix:@not-abstract", "unix:@not-abstract");
    ROUND("unix:unix:x", "unix:unix:x");
    ROUND("@abstract", "@abstract");
    ROUND("@with/slash:and:colons", "@with/slash:and:colons");
    ROUND("@", "@");
    ROUND("unix:", "unix:");
    ROUND("1.2.3.4/24", "unix:1.2.3.4/24");
    ROUND("netlink:0:0", "netlink:0:0");
    ROUND("netlink:4294967295:4294967295", "netlink:4294967295:4294967295");
    ROUND("packet:1:0x0800", "packet:1:0x0800");
    ROUND("packet:2:2048", "packet:2:0x0800");
    ROUND("packet:0:0xFFFF", "packet:0:0xffff");
}

static void test_parse_forms(void)
{
    rsock_addr a;
    CHECK_EQ(rsock__addr_parse_numeric(&a, "unix:"), 0);
    CHECK_EQ(a.len, SUN_OFF); /* the unnamed address */
    CHECK(rsock_addr_path(&a) == NULL);
    CHECK_EQ(rsock__addr_parse_numeric(&a, "@x"), 0);
    CHECK_EQ(a.len, SUN_OFF + 2);
    CHECK_EQ(rsock__addr_parse_numeric(&a, "unix:@x"), 0);
    CHECK_STR(rsock_addr_path(&a), "@x");
    CHECK_EQ(rsock__addr_parse_numeric(&a, "netlink:12:5"), 0);
    CHECK_EQ(a.nl.nl_family, AF_NETLINK);
    CHECK_EQ(a.nl.nl_pid, 12);
    CHECK_EQ(a.nl.nl_groups, 5);
    CHECK_EQ(a.len, sizeof(struct sockaddr_nl));
    CHECK_EQ(rsock__addr_parse_numeric(&a, "packet:3:0x86dd"), 0);
    CHECK_EQ(a.ll.sll_family, AF_PACKET);
    CHECK_EQ(a.ll.sll_ifindex, 3);
    CHECK_EQ(ntohs(a.ll.sll_protocol), 0x86dd);
    CHECK_EQ(a.len, sizeof(struct sockaddr_ll));
    /* Parsing goes through the same grammar with or without resolution. */
    CHECK_EQ(rsock_addr_parse(&a, "[::1]:9"), 0);
    CHECK_STR(fmt(&a), "[::1]:9");
}

static void test_parse_localhost(void)
{
    rsock_addr a;
    CHECK_EQ(rsock_addr_parse(&a, "localhost:80"), 0);
    uint8_t ip[16];
    int port = 0, n = rsock_addr_ip(&a, ip, &port);
    CHECK(n == 4 || n == 16);
    CHECK_EQ(port, 80);
    CHECK(n == 4 ? ip[0] == 127 : IN6_IS_ADDR_LOOPBACK(&a.in6.sin6_addr));
    CHECK_ERR(rsock__addr_parse_numeric(&a, "localhost:80"), EINVAL, "name resolution disabled");
}

static void test_parse_refused_ip(void)
{
    CHECK_ERR(rsock__addr_parse_numeric(&(rsock_addr){0}, "1.2.3.999:80"), EINVAL,
              "rsock_addr_parse \"1.2.3.999:80\": bad IPv4 address");
    REFUSE("1.2.3.999:80", EINVAL, "bad IPv4 address");
    REFUSE("256.1.1.1:80", EINVAL, "bad IPv4 address");
    REFUSE("127.1:80", EINVAL, "bad IPv4 address");
    REFUSE("2130706433:80", EINVAL, "bad IPv4 address");
    REFUSE("0x7f.0.0.1:80", EINVAL, "bad IPv4 address");
    REFUSE("0x7f000001:80", EINVAL, "bad IPv4 address");
    REFUSE("010.0.0.1:80", EINVAL, "bad IPv4 address");
    REFUSE("1.2.3.4.5:80", EINVAL, "bad IPv4 address");
    REFUSE("1.2.3:80", EINVAL, "bad IPv4 address");
    REFUSE("1.2.3.4.:80", EINVAL, "bad IPv4 address");
    REFUSE("[:::]:80", EINVAL, "bad IPv6 address");
    REFUSE("[1::2::3]:80", EINVAL, "bad IPv6 address");
    REFUSE("[1:2:3:4:5:6:7:8:9]:80", EINVAL, "bad IPv6 address");
    REFUSE("[12345::1]:80", EINVAL, "bad IPv6 address");
    REFUSE("[g::1]:80", EINVAL, "bad IPv6 address");
    REFUSE("[1.2.3.4]:80", EINVAL, "bad IPv6 address");
    REFUSE("[localhost]:80", EINVAL, "bad IPv6 address");
    REFUSE("foo:bar:80", EINVAL, "bad IPv6 address");
    REFUSE("[fe80::1%]:80", EINVAL, "bad scope");
    REFUSE("fe80::1%:80", EINVAL, "bad scope");
    REFUSE("[fe80::1%nosuchif0]:80", ENODEV, "unknown scope interface");
    REFUSE("[::1", EINVAL, "missing ']'");
    REFUSE("[::1]x80", EINVAL, "junk after ']'");
    REFUSE("[::1]", EINVAL, "missing port");
    REFUSE("fe80::1", EINVAL, "missing port (write [IPv6]:port)");
    REFUSE("foo bar:80", EINVAL, "bad host name");
    REFUSE("foo%bar:80", EINVAL, "bad IPv6 address");
    REFUSE("h\xc3\xa9:80", EINVAL, "bad host name");
}

static void test_parse_refused_ports(void)
{
    REFUSE("1.2.3.4", EINVAL, "missing port");
    REFUSE("1.2.3.4:", EINVAL, "missing port");
    REFUSE(":::", EINVAL, "missing port");
    REFUSE("[::1]:", EINVAL, "missing port");
    static const char *bad[] = {"1.2.3.4:80x", "1.2.3.4:-1",  "1.2.3.4:65536", "1.2.3.4:+80",
                                "1.2.3.4: 80", "1.2.3.4:80 ", "[::1]:99999",   "[::1]:0x50",
                                ":123456",     "1.2.3.4:http"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        REFUSE(bad[i], EINVAL, "bad port");
}

static void test_parse_refused_other(void)
{
    char long_path[UNIX_MAX_PATH + 8];
    memset(long_path, 'x', sizeof long_path);
    long_path[0] = '/';
    long_path[UNIX_MAX_PATH + 1] = '\0'; /* 109 bytes (108 fill sun_path) */
    REFUSE(long_path, ENAMETOOLONG, "Unix path too long");
    memset(long_path, 'x', sizeof long_path);
    memcpy(long_path, "unix:", 5);
    long_path[UNIX_MAX_PATH + 6] = '\0'; /* "unix:" + 109 bytes */
    REFUSE(long_path, ENAMETOOLONG, "Unix path too long");
    memset(long_path, 'x', sizeof long_path);
    long_path[0] = '@';
    long_path[UNIX_MAX_PATH + 1] = '\0'; /* "@" + 108 bytes */
    REFUSE(long_path, ENAMETOOLONG, "abstract name too long");
    REFUSE("", EINVAL, "rsock_addr_parse \"\": empty text");
    REFUSE("netlink:1", EINVAL, "bad netlink address");
    REFUSE("netlink:1:x", EINVAL, "bad netlink address");
    REFUSE("netlink:-1:0", EINVAL, "bad netlink address");
    REFUSE("netlink:4294967296:0", EINVAL, "bad netlink address");
    REFUSE("packet:1", EINVAL, "bad packet address");
    REFUSE("packet:1:0x10000", EINVAL, "bad packet address");
    REFUSE("packet:1:65536", EINVAL, "bad packet address");
    REFUSE("packet:x:1", EINVAL, "bad packet address");
    REFUSE("packet:1:0x", EINVAL, "bad packet address");
    rsock_addr a;
    CHECK_ERR(rsock_addr_parse(NULL, "1.2.3.4:80"), EINVAL, "rsock_addr_parse: NULL address");
    CHECK_ERR(rsock_addr_parse(&a, NULL), EINVAL, "rsock_addr_parse: NULL text");
    CHECK_ERR(rsock__addr_parse_numeric(&a, NULL), EINVAL, "NULL text");
    /* A failed parse leaves the address as it was. */
    CHECK_EQ(rsock_addr_in(&a, "9.9.9.9", 9), 0);
    rsock_addr before = a;
    CHECK(rsock_addr_parse(&a, "1.2.3.999:80") < 0);
    CHECK(memcmp(&a, &before, sizeof a) == 0);
    /* Long junk is quoted cut short, and never overflows the record. */
    char junk[4096];
    memset(junk, 'z', sizeof junk - 1);
    junk[sizeof junk - 1] = '\0';
    CHECK_ERR(rsock_addr_parse(&a, junk), EINVAL, "missing port");
    CHECK(strlen(rsock_error_message()) < 512);
}

/* Host names that look like hex are names: without resolution they are
 * refused as names, not read as IPv6. */
static void test_hex_names_are_names(void)
{
    CHECK_ERR(rsock__addr_parse_numeric(&(rsock_addr){0}, "db:5432"), EINVAL,
              "name resolution disabled");
    CHECK_ERR(rsock__addr_parse_numeric(&(rsock_addr){0}, "cafe:80"), EINVAL,
              "name resolution disabled");
    CHECK_ERR(rsock__addr_parse_numeric(&(rsock_addr){0}, "deadbeef:80"), EINVAL,
              "name resolution disabled");
    CHECK_STR(pf("cafe::80"), "ERR"); /* host "cafe:" is neither */
}

/* ---- socket-address?, -family, ->address ---- */

static void test_valid_family(void)
{
    rsock_addr a;
    CHECK(!rsock_addr_valid(NULL));
    CHECK_ERR(rsock_addr_family(NULL), EINVAL, "rsock_addr_family: NULL address");
    CHECK_EQ(rsock_addr_in(&a, "1.2.3.4", 1), 0);
    CHECK(rsock_addr_valid(&a));
    CHECK_EQ(rsock_addr_family(&a), AF_INET);
    a.len = sizeof(struct sockaddr_in) - 1;
    CHECK(!rsock_addr_valid(&a));
    a.len = sizeof a.ss + 1;
    CHECK(!rsock_addr_valid(&a));
    CHECK_EQ(rsock_addr_in6(&a, "::1", 1), 0);
    CHECK_EQ(rsock_addr_family(&a), AF_INET6);
    a.len = 24; /* no room for the scope id */
    CHECK(!rsock_addr_valid(&a));
    CHECK_EQ(rsock_addr_un(&a, "/x"), 0);
    CHECK(rsock_addr_valid(&a));
    a.len = sizeof(struct sockaddr_un) + 1; /* the kernel's for a full sun_path */
    CHECK(rsock_addr_valid(&a));
    ((char *)&a.ss)[a.len - 1] = 'x'; /* that byte is the path's NUL, or invalid */
    CHECK(!rsock_addr_valid(&a));
    ((char *)&a.ss)[a.len - 1] = '\0';
    a.un.sun_path[0] = '\0'; /* no abstract name is that long */
    CHECK(!rsock_addr_valid(&a));
    a.len = sizeof(struct sockaddr_un) + 2;
    CHECK(!rsock_addr_valid(&a));
    a.len = SUN_OFF - 1;
    CHECK(!rsock_addr_valid(&a));
    CHECK_EQ(rsock_addr_init(&a, AF_INET), 0);
    a.sa.sa_family = AF_APPLETALK;
    CHECK(!rsock_addr_valid(&a));
    CHECK_EQ(rsock_addr_family(&a), AF_APPLETALK);
}

static void test_ip(void)
{
    rsock_addr a;
    uint8_t ip[16];
    int port = -1;
    CHECK_EQ(rsock_addr_in(&a, "10.1.2.3", 4321), 0);
    CHECK_EQ(rsock_addr_ip(&a, ip, &port), 4);
    CHECK(memcmp(ip, "\x0a\x01\x02\x03", 4) == 0);
    CHECK_EQ(port, 4321);
    CHECK_EQ(rsock_addr_in6(&a, "2001:db8::7", 65535), 0);
    CHECK_EQ(rsock_addr_ip(&a, ip, &port), 16);
    CHECK(memcmp(ip, a.in6.sin6_addr.s6_addr, 16) == 0);
    CHECK_EQ(port, 65535);
    CHECK_EQ(rsock_addr_ip(&a, NULL, NULL), 16);
    CHECK_EQ(rsock_addr_un(&a, "/x.sock"), 0);
    CHECK_ERR(rsock_addr_ip(&a, ip, &port), EAFNOSUPPORT, "rsock_addr_ip /x.sock: not an IP address");
    CHECK_EQ(rsock__addr_parse_numeric(&a, "netlink:1:2"), 0);
    CHECK_ERR(rsock_addr_ip(&a, ip, &port), EAFNOSUPPORT, "not an IP address");
    CHECK_ERR(rsock_addr_ip(NULL, ip, &port), EINVAL, "rsock_addr_ip: NULL address");
}

static void test_path(void)
{
    rsock_addr a;
    CHECK(rsock_addr_path(NULL) == NULL);
    CHECK_EQ(rsock_addr_in(&a, "1.2.3.4", 1), 0);
    CHECK(rsock_addr_path(&a) == NULL);
    CHECK_EQ(rsock_addr_un(&a, "@abs"), 0);
    CHECK(rsock_addr_path(&a) == NULL);
    CHECK_EQ(rsock__addr_parse_numeric(&a, "unix:"), 0);
    CHECK(rsock_addr_path(&a) == NULL);
    CHECK_EQ(rsock_addr_un(&a, "/p"), 0);
    CHECK(rsock_addr_path(&a) == a.un.sun_path);
    /* A kernel-style length without the NUL still reads back. */
    a.len--;
    CHECK_STR(rsock_addr_path(&a), "/p");
    CHECK_STR(fmt(&a), "/p");
}

/* ---- socket-address->string ---- */

static void check_short_buffers(const rsock_addr *a, const char *want)
{
    int n = (int)strlen(want);
    CHECK_EQ(rsock_addr_format(a, NULL, 0), n);
    for (size_t size = 0; size <= (size_t)n + 1; size++) {
        char buf[RSOCK_ADDRSTRLEN + 8];
        memset(buf, '#', sizeof buf);
        CHECK_EQ(rsock_addr_format(a, buf, size), n);
        CHECK_EQ(buf[size], '#'); /* the canary past the buffer */
        if (size == 0)
            continue;
        size_t kept = size - 1 < (size_t)n ? size - 1 : (size_t)n;
        CHECK_EQ(buf[kept], '\0');
        CHECK(memcmp(buf, want, kept) == 0);
    }
}

static void test_format_short(void)
{
    rsock_addr a;
    CHECK_EQ(rsock__addr_parse_numeric(&a, "[2001:db8::1%lo]:8080"), 0);
    check_short_buffers(&a, "[2001:db8::1%lo]:8080");
    CHECK_EQ(rsock_addr_in(&a, "1.2.3.4", 5), 0);
    check_short_buffers(&a, "1.2.3.4:5");
    CHECK_EQ(rsock_addr_un(&a, "@abs"), 0);
    check_short_buffers(&a, "@abs");
    CHECK_EQ(rsock_addr_un(&a, "rel"), 0);
    check_short_buffers(&a, "unix:rel");
    CHECK_EQ(rsock__addr_parse_numeric(&a, "packet:7:0x0800"), 0);
    check_short_buffers(&a, "packet:7:0x0800");
}

static void test_format_refused(void)
{
    rsock_addr a;
    char buf[8] = "xxxxxxx";
    CHECK_ERR(rsock_addr_format(NULL, buf, sizeof buf), EINVAL, "rsock_addr_format: NULL address");
    CHECK_EQ(buf[0], '\0');
    CHECK_EQ(rsock_addr_in(&a, "1.2.3.4", 5), 0);
    CHECK_ERR(rsock_addr_format(&a, NULL, 5), EINVAL, "NULL buffer");
    a.sa.sa_family = AF_APPLETALK;
    memcpy(buf, "xxxxxxx", 8);
    CHECK_ERR(rsock_addr_format(&a, buf, sizeof buf), EINVAL, "invalid address (family");
    CHECK_EQ(buf[0], '\0');
    CHECK_EQ(rsock_addr_in(&a, "1.2.3.4", 5), 0);
    a.len = 3;
    CHECK_ERR(rsock_addr_format(&a, buf, sizeof buf), EINVAL, "length 3");
    /* The longest texts fit RSOCK_ADDRSTRLEN. */
    CHECK_EQ(rsock__addr_parse_numeric(&a, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535"), 0);
    CHECK(rsock_addr_format(&a, NULL, 0) < RSOCK_ADDRSTRLEN);
    char rel[UNIX_MAX_PATH];
    memset(rel, 'r', sizeof rel);
    rel[UNIX_MAX_PATH - 1] = '\0';
    CHECK_EQ(rsock_addr_un(&a, rel), 0);
    CHECK_EQ(rsock_addr_format(&a, NULL, 0), 5 + UNIX_MAX_PATH - 1);
    CHECK(rsock_addr_format(&a, NULL, 0) < RSOCK_ADDRSTRLEN);
}

/* ---- parse(format(a)) == a for the addresses that once did not ---- */

/* a formats as want, and want parses back to the same address. */
static void check_round(const rsock_addr *a, const char *want)
{
    CHECK_STR(fmt(a), want);
    rsock_addr b;
    CHECK_EQ(rsock__addr_parse_numeric(&b, want), 0);
    CHECK(rsock__addr_same(a, &b));
}

static void set_un_bytes(rsock_addr *a, const char *bytes, size_t n)
{
    memset(a, 0, sizeof *a);
    a->un.sun_family = AF_UNIX;
    memcpy(a->un.sun_path, bytes, n);
    a->len = (socklen_t)(SUN_OFF + n);
}

/* A path filling sun_path without its NUL, as the kernel binds it. */
static void test_round_unix_full(void)
{
    char path[UNIX_MAX_PATH + 1], want[UNIX_MAX_PATH + 8];
    memset(path, 'p', sizeof path);
    path[0] = '/';
    path[UNIX_MAX_PATH] = '\0';
    rsock_addr a, b;
    set_un_bytes(&a, path, UNIX_MAX_PATH);
    check_round(&a, path);
    CHECK_EQ(rsock__addr_parse_numeric(&b, path), 0);
    CHECK_EQ(b.len, sizeof(struct sockaddr_un));
    CHECK_STR(rsock_addr_path(&b), path);
    path[0] = 'r';
    set_un_bytes(&a, path, UNIX_MAX_PATH);
    snprintf(want, sizeof want, "unix:%s", path);
    check_round(&a, want);
    /* The kernel's own name for such a socket reads back. */
    char dir[256];
    REQUIRE(check_tmpdir(dir));
    memset(path, 'k', sizeof path);
    memcpy(path, dir, strlen(dir));
    path[strlen(dir)] = '/';
    path[UNIX_MAX_PATH] = '\0';
    set_un_bytes(&a, path, UNIX_MAX_PATH);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    CHECK_EQ(bind(fd, &a.sa, a.len), 0);
    b.len = sizeof b.ss;
    CHECK_EQ(getsockname(fd, &b.sa, &b.len), 0);
    close(fd);
    CHECK_EQ(unlink(path), 0);
    rmdir(dir);
    check_round(&b, path);
}

/* Bytes that are not printable ASCII, and the backslash, are escaped:
 * an abstract name with NUL bytes reads back, and no name can forge a
 * line or a terminal escape where the text is logged. */
static void test_round_unix_escapes(void)
{
    rsock_addr a;
    set_un_bytes(&a, "\0a\0b\n\\", 6);
    check_round(&a, "@a\\x00b\\x0a\\\\");
    set_un_bytes(&a, "\0", 1);
    check_round(&a, "@");
    CHECK_EQ(rsock_addr_un(&a, "/tmp/a b\x1b[1m\xc3\xa9\\"), 0);
    check_round(&a, "/tmp/a\\x20b\\x1b[1m\\xc3\\xa9\\\\");
    CHECK_EQ(rsock_addr_un(&a, "rel\r\nFAKE LOG LINE"), 0);
    check_round(&a, "unix:rel\\x0d\\x0aFAKE\\x20LOG\\x20LINE");
    /* Raw bytes still read as themselves, and escapes in any case. */
    ROUND("/tmp/a b", "/tmp/a\\x20b");
    ROUND("@\\x2A\\x2a", "@**");
    ROUND("unix:\\\\", "unix:\\\\");
    /* Every byte of an abstract name may be escaped: 107 of them fit. */
    char text[4 * UNIX_MAX_PATH + 8] = "@";
    for (int i = 0; i < UNIX_MAX_PATH - 1; i++)
        strcat(text, "\\x00");
    ROUND(text, text);
    strcat(text, "\\x00");
    REFUSE(text, ENAMETOOLONG, "abstract name too long");
    REFUSE("/tmp/a\\q", EINVAL, "bad escape (write \\xHH, or \\\\ for a backslash)");
    REFUSE("/tmp/a\\x4", EINVAL, "bad escape");
    REFUSE("/tmp/a\\xg0", EINVAL, "bad escape");
    REFUSE("@\\", EINVAL, "bad escape");
    REFUSE("unix:a\\", EINVAL, "bad escape");
    REFUSE("/tmp/\\x00a", EINVAL, "NUL byte in Unix path");
    REFUSE("unix:\\x00", EINVAL, "NUL byte in Unix path");
}

/* sin6_flowinfo (flow label and traffic class) is written after the port. */
static void test_round_flowinfo(void)
{
    rsock_addr a;
    CHECK_EQ(rsock_addr_in6(&a, "2001:db8::1", 443), 0);
    a.in6.sin6_flowinfo = htonl(0x12345);
    check_round(&a, "[2001:db8::1]:443,flowinfo=0x12345");
    CHECK_EQ(rsock_addr_in6(&a, "fe80::1%4000000000", 1), 0);
    a.in6.sin6_flowinfo = htonl(0xffffffff);
    check_round(&a, "[fe80::1%4000000000]:1,flowinfo=0xffffffff");
    ROUND("[::1]:80,flowinfo=0xABC", "[::1]:80,flowinfo=0xabc");
    ROUND("[::1]:80,flowinfo=0x00000000", "[::1]:80");
    static const char *bad[] = {"[::1]:80,flowinfo=",       "[::1]:80,flowinfo=0x",
                                "[::1]:80,flowinfo=0x123456789", "[::1]:80,flowinfo=12",
                                "[::1]:80,",                "[::1]:80,x=1",
                                "[::1]:80,flowinfo=0x1,",   "[::1]:80,flowinfo=0x-1",
                                "[::1]:80,flowinfo=0x 1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        REFUSE(bad[i], EINVAL, "bad flowinfo (want [IPv6]:port,flowinfo=0xHEX)");
    REFUSE("::1:80,flowinfo=0x1", EINVAL, "bad port");
    REFUSE("[::1]:,flowinfo=0x1", EINVAL, "missing port");
}

/* An AF_PACKET address's other fields follow the protocol. */
static void test_round_packet(void)
{
    ROUND("packet:2:0x0800,hatype=1,pkttype=4,addr=00:11:22:aa:BB:cc",
          "packet:2:0x0800,hatype=1,pkttype=4,addr=00:11:22:aa:bb:cc");
    ROUND("packet:2:0x0800,addr=01", "packet:2:0x0800,addr=01");
    ROUND("packet:2:0x0800,pkttype=0", "packet:2:0x0800");
    ROUND("packet:2:0x0800,hatype=65535", "packet:2:0x0800,hatype=65535");
    /* A hardware address longer than sll_addr (InfiniBand's 20 bytes). */
    rsock_addr a;
    CHECK_EQ(rsock__addr_parse_numeric(&a, "packet:5:0x86dd,hatype=32"), 0);
    uint8_t *hw = (uint8_t *)&a.ss + offsetof(struct sockaddr_ll, sll_addr);
    for (int i = 0; i < 20; i++)
        hw[i] = (uint8_t)(0xa0 + i);
    a.ll.sll_halen = 20;
    a.len = offsetof(struct sockaddr_ll, sll_addr) + 20;
    check_round(&a, "packet:5:0x86dd,hatype=32,addr=a0:a1:a2:a3:a4:a5:a6:a7:a8:a9:aa:ab:ac:"
                    "ad:ae:af:b0:b1:b2:b3");
    /* A hardware address longer than the length holds is no address. */
    a.len--;
    CHECK(!rsock_addr_valid(&a));
    CHECK_ERR(rsock_addr_format(&a, text_, sizeof text_), EINVAL, "invalid address");
    static const char *bad[] = {"packet:2:0x0800,hatype=65536", "packet:2:0x0800,pkttype=256",
                                "packet:2:0x0800,addr=",        "packet:2:0x0800,addr=1",
                                "packet:2:0x0800,addr=001",     "packet:2:0x0800,addr=00:",
                                "packet:2:0x0800,addr=0g",      "packet:2:0x0800,pkttype=1,hatype=1",
                                "packet:2:0x0800,foo=1",        "packet:2:0x0800,",
                                "packet:2:0x0800,hatype=",      "packet:2:0x0800,addr=00-11"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        REFUSE(bad[i], EINVAL, "bad packet address");
    char text[512] = "packet:1:1,addr=00";
    for (size_t i = 1; i < RSOCK__LL_ADDR_MAX; i++)
        strcat(text, ":00");
    CHECK_EQ(rsock__addr_parse_numeric(&a, text), 0);
    CHECK_EQ(a.ll.sll_halen, RSOCK__LL_ADDR_MAX);
    CHECK_EQ(a.len, sizeof a.ss);
    strcat(text, ":00");
    REFUSE(text, EINVAL, "bad packet address");
}

/* Text that looks like a URL is refused, not taken as a Unix path. */
static void test_url_refused(void)
{
    static const char *urls[] = {"http://example.com:80", "https://[::1]:443/", "tcp://127.0.0.1:80",
                                 "svn+ssh://h/x",         "HTTP://X:1",         "file:///tmp/x.sock",
                                 "x://"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        REFUSE(urls[i], EINVAL,
               "a URL, not an address: rsock's address text is host:port, [IPv6]:port, /path or "
               "unix:path, @abstract, netlink:PID:GROUPS or packet:IFINDEX:PROTO");
    ROUND("unix:///tmp/x.sock", "///tmp/x.sock");
    ROUND("./http://x", "unix:./http://x");
    ROUND("@http://x", "@http://x");
    ROUND("1http://x", "unix:1http://x");
}

/* ---- what the kernel reports matches what we build ---- */

static void check_kernel_name(int family, const char *text)
{
    rsock_addr a, got;
    CHECK_EQ(rsock__addr_parse_numeric(&a, text), 0);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    CHECK_EQ(bind(fd, &a.sa, a.len), 0);
    got.len = sizeof got.ss;
    CHECK_EQ(getsockname(fd, &got.sa, &got.len), 0);
    close(fd);
    if (family == AF_UNIX && a.un.sun_path[0] != '\0')
        unlink(a.un.sun_path);
    CHECK(rsock_addr_valid(&got));
    if (family != AF_UNIX) /* the kernel chose the port */
        CHECK_EQ(rsock_addr_ip(&got, NULL, NULL), family == AF_INET ? 4 : 16);
    else
        CHECK(same(&a, &got));
    rsock_addr back;
    CHECK_EQ(rsock__addr_parse_numeric(&back, fmt(&got)), 0);
    CHECK(same(&back, &got));
}

static void test_kernel_names(void)
{
    char dir[256], text[400];
    REQUIRE(check_tmpdir(dir));
    snprintf(text, sizeof text, "%s/k.sock", dir);
    check_kernel_name(AF_UNIX, text);
    snprintf(text, sizeof text, "@rsock-test-%d-%ld", (int)getpid(), (long)random());
    check_kernel_name(AF_UNIX, text);
    check_kernel_name(AF_INET, "127.0.0.1:0");
    check_kernel_name(AF_INET6, "[::1]:0");
    rmdir(dir);
}

/* Interface names the parser once refused: lo renamed (down, in the
 * sandbox's own network namespace) to each, formatted, read back. */
static bool rename_if(const char *from, const char *to)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    snprintf(r.ifr_name, sizeof r.ifr_name, "%s", from);
    bool ok = fd >= 0 && ioctl(fd, SIOCGIFFLAGS, &r) == 0;
    r.ifr_flags &= ~IFF_UP;
    ok = ok && ioctl(fd, SIOCSIFFLAGS, &r) == 0;
    snprintf(r.ifr_newname, sizeof r.ifr_newname, "%s", to);
    ok = ok && ioctl(fd, SIOCSIFNAME, &r) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void scope_names(void)
{
    unsigned index = if_nametoindex("lo");
    REQUIRE(index > 0);
    char by_number[64];
    snprintf(by_number, sizeof by_number, "[fe80::1%%%u]:80", index);
    static const struct { const char *name; bool by_name; } rows[] = {
        {"0ab", true}, {"\xc3\xa9" "1", false}, {"a]b", false}, {"12", false}, {"a,b", false},
        {"eth-0.1_x", true},
    };
    const char *now = "lo";
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        REQUIRE(rename_if(now, rows[i].name));
        now = rows[i].name;
        rsock_addr a;
        CHECK_EQ(rsock_addr_in6(&a, "fe80::1", 80), 0);
        a.in6.sin6_scope_id = index;
        char want[64];
        snprintf(want, sizeof want, "[fe80::1%%%s]:80", now);
        check_round(&a, rows[i].by_name ? want : by_number);
    }
    /* A name with a leading digit or UTF-8 bytes parses as the name. */
    rsock_addr a;
    CHECK_EQ(rsock_addr_in6(&a, "fe80::1%eth-0.1_x", 80), 0);
    CHECK_EQ(a.in6.sin6_scope_id, index);
    REQUIRE(rename_if(now, "0ab"));
    CHECK_EQ(rsock_addr_in6(&a, "fe80::1%0ab", 80), 0);
    CHECK_EQ(a.in6.sin6_scope_id, index);
    REQUIRE(rename_if("0ab", "\xc3\xa9" "1"));
    CHECK_EQ(rsock__addr_parse_numeric(&a, "[fe80::1%\xc3\xa9" "1]:80"), 0);
    CHECK_EQ(a.in6.sin6_scope_id, index);
}

/* ---- resolution, inside the sandbox: no query leaves the machine ---- */

static void resolve_names(void)
{
    rsock_addr a;
    CHECK_EQ(rsock_addr_parse(&a, "rsock-test-v4:80"), 0);
    CHECK_STR(fmt(&a), "127.0.0.1:80");
    CHECK_EQ(rsock_addr_parse(&a, "rsock-test-v6:443"), 0);
    CHECK_STR(fmt(&a), "[::1]:443");
    CHECK_EQ(rsock_addr_parse(&a, "db:5432"), 0); /* a name, not IPv6 */
    CHECK_STR(fmt(&a), "127.0.0.2:5432");
    CHECK_EQ(rsock_addr_parse(&a, "cafe:80"), 0);
    CHECK_STR(fmt(&a), "127.0.0.3:80");
    CHECK_EQ(rsock_addr_parse(&a, "rsock-test-both:1"), 0); /* the first usable */
    CHECK(strcmp(fmt(&a), "127.0.0.1:1") == 0 || strcmp(fmt(&a), "[::1]:1") == 0);
    CHECK_EQ(rsock_addr_parse(&a, "RSOCK-TEST-V4:7"), 0); /* names ignore case */
    CHECK_STR(fmt(&a), "127.0.0.1:7");
    rsock_addr before = a;
    CHECK_ERR(rsock_addr_parse(&a, "rsock-no-such-name:80"), ENOENT,
              "rsock_addr_parse \"rsock-no-such-name:80\": ");
    CHECK(strstr(rsock_error_message(), gai_strerror(EAI_NONAME)) != NULL);
    CHECK(memcmp(&a, &before, sizeof a) == 0);
    /* Bad ports are refused before any lookup. */
    CHECK_ERR(rsock_addr_parse(&a, "rsock-test-v4:80x"), EINVAL, "bad port");
}

/* "Try again" from the resolver is -EHOSTUNREACH, never -EAGAIN: ask DNS
 * at 127.0.0.1 inside the sandbox, where nothing answers. */
static void resolve_try_again(void)
{
    if (sandbox_replace_file("/etc/nsswitch.conf", "hosts: dns\n") < 0 ||
        sandbox_replace_file("/etc/resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n") < 0) {
        check_failures++;
        return;
    }
    rsock_addr a;
    int rc = rsock_addr_parse(&a, "rsock-no-such-name.test:80");
    CHECK(rc != -EAGAIN);
    CHECK_ERR(rc, EHOSTUNREACH, gai_strerror(EAI_AGAIN));
}

/* Every refused text again, through the resolving parser. */
static void refuse_with_resolver(void)
{
    parse_fn = rsock_addr_parse;
    test_parse_refused_ip();
    test_parse_refused_ports();
    test_parse_refused_other();
}

int main(void)
{
    rsock_yield(); /* make this thread's loop (its epoll fd) before counting */
    int fds = check_fd_count();
    RUN(test_init);
    RUN(test_in);
    RUN(test_in_refused);
    RUN(test_in6);
    RUN(test_in6_refused);
    RUN(test_rfc5952);
    RUN(test_un);
    RUN(test_un_limits);
    RUN(test_parse_rows);
    RUN(test_parse_forms);
    RUN(test_parse_localhost);
    RUN(test_parse_refused_ip);
    RUN(test_parse_refused_ports);
    RUN(test_parse_refused_other);
    RUN(test_hex_names_are_names);
    RUN(test_valid_family);
    RUN(test_ip);
    RUN(test_path);
    RUN(test_format_short);
    RUN(test_format_refused);
    RUN(test_kernel_names);
    RUN(test_round_unix_full);
    RUN(test_round_unix_escapes);
    RUN(test_round_flowinfo);
    RUN(test_round_packet);
    RUN(test_url_refused);
    CHECK_SANDBOXED(scope_names);
    CHECK_SANDBOXED(resolve_names);
    CHECK_SANDBOXED(refuse_with_resolver);
    CHECK_SANDBOXED(resolve_try_again);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
