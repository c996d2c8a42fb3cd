/* rsock-proxy's PROXY protocol (tools/rsock-proxy/proxy_proto.c): headers
 * built and parsed back (v1 and v2; IPv4, IPv6, Unix clients and health
 * checks), byte for byte against the spec's examples; a table of malformed
 * headers, each refused with a reason; every prefix of a valid header asks
 * for more; pp_read over real socket pairs and TCP loopback takes exactly
 * the header (the bytes after it stay for the application), meets its
 * deadline, and tells an early end and a reset apart. */
#include "check.h"
#include "proxy_proto.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#define LEN(s) (sizeof(s) - 1)

static rsock_addr addr(const char *text)
{
    rsock_addr a;
    REQUIRE(rsock_addr_parse(&a, text) == 0);
    return a;
}

/* Two addresses are the same IP and port. */
static void check_same(const rsock_addr *got, const char *want)
{
    char text[RSOCK_ADDRSTRLEN];
    CHECK(rsock_addr_format(got, text, sizeof text) > 0);
    CHECK_STR(text, want);
}

/* ---- building and parsing back ---- */

/* Build with `version`, compare with `want` (want_len bytes), parse back. */
static void round_trip(int version, const char *src, const char *dst, const char *want,
                       size_t want_len, const char *src_back, const char *dst_back)
{
    rsock_addr s = addr(src), d = addr(dst);
    char buf[PP_BUILD_MAX];
    int n = pp_build(version, &s, &d, false, buf, sizeof buf);
    CHECK_EQ(n, want_len);
    CHECK(n > 0 && memcmp(buf, want, want_len) == 0);
    struct pp_header h;
    CHECK_EQ(pp_parse(buf, (size_t)n, &h), n);
    CHECK_EQ(h.version, version);
    CHECK(!h.local);
    CHECK_EQ(h.transport, SOCK_STREAM);
    CHECK(h.reason == NULL);
    check_same(&h.src, src_back);
    check_same(&h.dst, dst_back);
}

static void test_v1_round_trips(void)
{
    static const char v4[] = "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n";
    round_trip(1, "192.168.0.1:56324", "192.168.0.11:443", v4, LEN(v4), "192.168.0.1:56324",
               "192.168.0.11:443");
    static const char v6[] = "PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n";
    round_trip(1, "[2001:db8::1]:0", "[2001:db8::2]:65535", v6, LEN(v6), "[2001:db8::1]:0",
               "[2001:db8::2]:65535");
    /* an IPv4 client on an IPv6 listener: both written as IPv6 */
    static const char mixed[] = "PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n";
    round_trip(1, "10.0.0.1:1", "[::1]:2", mixed, LEN(mixed), "[::ffff:10.0.0.1]:1", "[::1]:2");
}

static void test_v2_round_trips(void)
{
    static const char v4[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c"
                             "\xc0\xa8\x00\x01\xc0\xa8\x00\x0b\xdc\x04\x01\xbb";
    round_trip(2, "192.168.0.1:56324", "192.168.0.11:443", v4, LEN(v4), "192.168.0.1:56324",
               "192.168.0.11:443");
    static const char v6[] = "\r\n\r\n\0\r\nQUIT\n\x21\x21\0\x24"
                             "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01"
                             "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02"
                             "\0\0\xff\xff";
    round_trip(2, "[2001:db8::1]:0", "[2001:db8::2]:65535", v6, LEN(v6), "[2001:db8::1]:0",
               "[2001:db8::2]:65535");
}

/* A Unix client, a health check: v1 UNKNOWN, v2 LOCAL; parsed as local. */
static void test_local_round_trips(void)
{
    static const char unknown[] = "PROXY UNKNOWN\r\n";
    static const char local[] = "\r\n\r\n\0\r\nQUIT\n\x20\x00\0\0";
    rsock_addr u = addr("unix:/tmp/client.sock"), d = addr("127.0.0.1:80");
    rsock_addr ip = addr("127.0.0.1:5555");
    char buf[PP_BUILD_MAX];
    struct pp_header h;
    struct {
        int version;
        const rsock_addr *src;
        bool local;
        const char *want;
        size_t want_len;
    } cases[] = {
        {1, &u, false, unknown, LEN(unknown)}, {1, NULL, true, unknown, LEN(unknown)},
        {2, &u, false, local, LEN(local)},     {2, &ip, true, local, LEN(local)},
        {2, NULL, true, local, LEN(local)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const rsock_addr *dst = cases[i].src ? &d : NULL;
        int n = pp_build(cases[i].version, cases[i].src, dst, cases[i].local, buf, sizeof buf);
        CHECK_EQ(n, cases[i].want_len);
        CHECK(n > 0 && memcmp(buf, cases[i].want, cases[i].want_len) == 0);
        CHECK_EQ(pp_parse(buf, (size_t)n, &h), n);
        CHECK_EQ(h.version, cases[i].version);
        CHECK(h.local);
        CHECK_EQ(h.src.sa.sa_family, AF_UNSPEC);
        CHECK_EQ(h.dst.sa.sa_family, AF_UNSPEC);
    }
    /* v1 health check with the check connection's own addresses: a TCP line */
    static const char check[] = "PROXY TCP4 127.0.0.1 127.0.0.1 5555 80\r\n";
    CHECK_EQ(pp_build(1, &ip, &d, true, buf, sizeof buf), LEN(check));
    CHECK(memcmp(buf, check, LEN(check)) == 0);
}

static void test_build_refusals(void)
{
    rsock_addr s = addr("10.0.0.1:1"), d = addr("[::1]:2");
    char buf[PP_BUILD_MAX];
    CHECK_EQ(pp_build(0, &s, &d, false, buf, sizeof buf), -EINVAL);
    CHECK_EQ(pp_build(3, &s, &d, false, buf, sizeof buf), -EINVAL);
    CHECK_EQ(pp_build(1, &s, &d, false, NULL, sizeof buf), -EINVAL);
    CHECK_EQ(pp_build(2, NULL, &d, false, buf, sizeof buf), -EINVAL);
    CHECK_EQ(pp_build(1, &s, NULL, false, buf, sizeof buf), -EINVAL);
    /* every capacity short of the header's length is -ENOSPC */
    for (int version = 1; version <= 2; version++) {
        int need = pp_build(version, &s, &d, false, buf, sizeof buf);
        REQUIRE(need > 0);
        for (int cap = 0; cap < need; cap++)
            CHECK_EQ(pp_build(version, &s, &d, false, buf, (size_t)cap), -ENOSPC);
        CHECK_EQ(pp_build(version, &s, &d, false, buf, (size_t)need), need); /* no NUL */
    }
    CHECK_EQ(pp_build(1, NULL, NULL, true, buf, 14), -ENOSPC);
    CHECK_EQ(pp_build(2, NULL, NULL, true, buf, 15), -ENOSPC);
    CHECK_EQ(pp_parse(NULL, 1, &(struct pp_header){0}), -EINVAL);
    CHECK_EQ(pp_parse("P", 1, NULL), -EINVAL);
    CHECK_EQ(pp_parse(NULL, 0, &(struct pp_header){0}), 0);
}

/* ---- parsing what other senders write ---- */

/* Headers pp_build never writes but a receiver must take. */
static const struct valid {
    const char *name, *bytes;
    size_t len;
    bool local;
    const char *src, *dst; /* rsock_addr_format's text, when not local */
} valid[] = {
/* clang-format off */
#define V(name, text, local, src, dst) {name, text, LEN(text), local, src, dst}
    /* clang-format on */
    V("v1 UNKNOWN with addresses", "PROXY UNKNOWN ffff:f::f ffff:f::f 65535 65535\r\n", true, NULL,
      NULL),
    V("v1 TCP4 zeros", "PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n", false, "0.0.0.0:0",
      "255.255.255.255:0"),
    V("v1 TCP6 upper case", "PROXY TCP6 FE80::1 ::1 80 8080\r\n", false, "[fe80::1]:80",
      "[::1]:8080"),
    V("v1 longest line (107)",
      "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff"
      ":ffff 65535 65535\r\n",
      true, NULL, NULL),
    V("v2 LOCAL with addresses to skip",
      "\r\n\r\n\0\r\nQUIT\n\x20\x11\0\x0c"
      "\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02",
      true, NULL, NULL),
    V("v2 PROXY UNSPEC", "\r\n\r\n\0\r\nQUIT\n\x21\x00\0\x03xyz", true, NULL, NULL),
    V("v2 UDP4 with TLVs",
      "\r\n\r\n\0\r\nQUIT\n\x21\x12\0\x17"
      "\x0a\x00\x00\x01\x0a\x00\x00\x02\x30\x39\x00\x35"
      "\x04\x00\x00"
      "\x02\x00\x05hello",
      false, "10.0.0.1:12345", "10.0.0.2:53"),
    V("v2 TCP4 with an empty TLV last",
      "\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0f"
      "\x0a\x00\x00\x01\x0a\x00\x00\x02\x30\x39\x00\x35"
      "\x04\x00\x00",
      false, "10.0.0.1:12345", "10.0.0.2:53"),
#undef V
};

/* Unix families: a path, an abstract name (padding trimmed), unnamed. */
static size_t v2_unix(char *buf, const char *src, size_t src_len, const char *dst, size_t dst_len)
{
    static const char head[] = "\r\n\r\n\0\r\nQUIT\n\x21\x31\x00\xd8";
    memcpy(buf, head, LEN(head));
    memset(buf + 16, 0, 216);
    memcpy(buf + 16, src, src_len);
    memcpy(buf + 16 + 108, dst, dst_len);
    return 16 + 216;
}

static void test_valid_headers(void)
{
    struct pp_header h;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const struct valid *v = &valid[i];
        int n = pp_parse(v->bytes, v->len, &h);
        if (n != (int)v->len)
            fprintf(stderr, "%s: %s\n", v->name, h.reason ? h.reason : "(no reason)");
        CHECK_EQ(n, v->len);
        CHECK_EQ(h.local, v->local);
        if (v->src) {
            check_same(&h.src, v->src);
            check_same(&h.dst, v->dst);
        }
    }
    char buf[300];
    size_t n = v2_unix(buf, "/run/app.sock", 13, "\0abstract", 9);
    CHECK_EQ(pp_parse(buf, n, &h), n);
    CHECK_EQ(h.transport, SOCK_STREAM);
    check_same(&h.src, "/run/app.sock");
    check_same(&h.dst, "@abstract");
    n = v2_unix(buf, "", 0, "", 0);
    CHECK_EQ(pp_parse(buf, n, &h), n);
    check_same(&h.src, "unix:");
    char full[108];
    memset(full, 'p', sizeof full);
    n = v2_unix(buf, full, sizeof full, full, sizeof full);
    CHECK_EQ(pp_parse(buf, n, &h), n);
    CHECK(rsock_addr_valid(&h.src));
    CHECK_EQ(h.src.len, offsetof(struct sockaddr_un, sun_path) + 108);
}

/* The bytes after a header are not the parser's. */
static void test_data_after_header(void)
{
    static const char v1[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\n";
    struct pp_header h;
    CHECK_EQ(pp_parse(v1, LEN(v1), &h), LEN("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n"));
    char buf[PP_BUILD_MAX + 8];
    rsock_addr s = addr("10.0.0.1:1"), d = addr("10.0.0.2:2");
    int n = pp_build(2, &s, &d, false, buf, sizeof buf);
    REQUIRE(n > 0);
    memcpy(buf + n, "\r\n\r\nPROX", 8);
    CHECK_EQ(pp_parse(buf, (size_t)n + 8, &h), n);
}

/* ---- malformed headers ---- */

static const struct bad {
    const char *bytes;
    size_t len;
    const char *reason; /* a part of the reason given */
} bad[] = {
/* clang-format off */
#define B(text, reason) {text, LEN(text), reason}
    /* clang-format on */
    B("GET / HTTP/1.1\r\n", "not a PROXY protocol header"),
    B("\x16\x03\x01", "not a PROXY protocol header"),
    B("PROXZ TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "does not start with"),
    B("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "does not start with"),
    B("PROXY\r\n", "fields missing"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", "lone LF"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX", "lone CR"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", "lone CR"),
    B("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "exactly one space"),
    B("PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "exactly one space"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "more than six fields"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 \r\n", "exactly one space"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "more than six fields"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "fields missing"),
    B("PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "protocol neither"),
    B("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "protocol neither"),
    B("PROXY UNKNOWNX\r\n", "protocol neither"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n", "port not in 0..65535"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", "port not in 0..65535"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n", "port not in"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 00 2\r\n", "port not in"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", "port not in"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 0x10 2\r\n", "port not in"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8 1 123456\r\n", "port not in 0..65535"),
    B("PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n", "not IPv4"),
    B("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n", "not IPv4"),
    B("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", "not IPv4"),
    B("PROXY TCP4 1.2.3.4. 5.6.7.8 1 2\r\n", "not IPv4"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8.9 1 2\r\n", "not IPv4"),
    B("PROXY TCP4 1.2.3.4 5.6.7.8.9.10.11.12 1 2\r\n", "not IPv4"),
    B("PROXY TCP4 ::1 ::1 1 2\r\n", "not IPv4"),
    B("PROXY TCP4 1.2.3\0.4 5.6.7.8 1 2\r\n", "not IPv4"),
    B("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n", "not IPv6"),
    B("PROXY TCP6 ::1%lo ::1 1 2\r\n", "not IPv6"),
    B("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n", "not IPv6"),
    B("PROXY TCP6 1::2::3 ::1 1 2\r\n", "not IPv6"),
    B("PROXY TCP6 12345::1 ::1 1 2\r\n", "not IPv6"),
    B("PROXY TCP6 ::1 [::1] 1 2\r\n", "not IPv6"),
    /* v2 */
    B("\r\n\r\n\0\r\nQUIX\n\x21\x11\0\x0c", "bad signature"),
    B("\r\n\r\n\x01", "bad signature"),
    B("\r\r", "bad signature"),
    B("\r\n\r\n\0\r\nQUIT\n\x11\x11\0\x0c", "version is not 2"),
    B("\r\n\r\n\0\r\nQUIT\n\x31\x11\0\x0c", "version is not 2"),
    B("\r\n\r\n\0\r\nQUIT\n\x22\x11\0\x0c", "command neither LOCAL nor PROXY"),
    B("\r\n\r\n\0\r\nQUIT\n\x2f\x11\0\x0c", "command neither LOCAL nor PROXY"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x41\0\x0c", "address family"),
    B("\r\n\r\n\0\r\nQUIT\n\x20\xf0\0\x00", "address family"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x13\0\x0c", "transport"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x10\0\x0c", "family and transport disagree"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x01\0\x0c", "family and transport disagree"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0b", "shorter than the family's addresses"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x21\0\x0c", "shorter than the family's addresses"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x31\0\x24", "shorter than the family's addresses"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0e"
      "\x0a\x00\x00\x01\x0a\x00\x00\x02\x30\x39\x00\x35\x04\x00",
      "TLV runs past"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x13"
      "\x0a\x00\x00\x01\x0a\x00\x00\x02\x30\x39\x00\x35\x02\x00\x0a"
      "abcd",
      "TLV runs past"),
    B("\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x14"
      "\x0a\x00\x00\x01\x0a\x00\x00\x02\x30\x39\x00\x35\x04\x00\x00\x02\xff\xff"
      "ab",
      "TLV runs past"),
#undef B
};

static void test_malformed_refused(void)
{
    struct pp_header h;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const struct bad *b = &bad[i];
        int rc = pp_parse(b->bytes, b->len, &h);
        if (rc != -EPROTO || !h.reason || !strstr(h.reason, b->reason))
            fprintf(stderr, "bad[%zu] (%.*s): got %d \"%s\", want -EPROTO \"%s\"\n", i, (int)b->len,
                    b->bytes, rc, h.reason ? h.reason : "", b->reason);
        CHECK_EQ(rc, -EPROTO);
        CHECK(h.reason && strstr(h.reason, b->reason));
        /* no prefix of it is ever taken as a header */
        for (size_t k = 0; k < b->len; k++)
            CHECK(pp_parse(b->bytes, k, &h) <= 0);
    }
}

/* A v1 line must end within 107 bytes: at 108 with its CRLF it is refused,
 * and 107 bytes without one are refused before any more come. */
static void test_v1_too_long(void)
{
    char line[200];
    struct pp_header h;
    memcpy(line, "PROXY UNKNOWN ", 14);
    memset(line + 14, 'x', sizeof line - 14);
    memcpy(line + 106, "\r\n", 2);
    CHECK_EQ(pp_parse(line, 108, &h), -EPROTO);
    CHECK(h.reason && strstr(h.reason, "no CRLF in the first 107"));
    memcpy(line + 105, "\r\n", 2);
    CHECK_EQ(pp_parse(line, 107, &h), 107);
    CHECK(h.local);
    memset(line + 14, 'x', sizeof line - 14);
    CHECK_EQ(pp_parse(line, 106, &h), 0);
    CHECK_EQ(pp_parse(line, 107, &h), -EPROTO);
    CHECK_EQ(pp_parse(line, sizeof line, &h), -EPROTO);
    CHECK(h.reason && strstr(h.reason, "no CRLF in the first 107"));
}

/* ---- incomplete headers ---- */

static void check_every_prefix_wants_more(const char *bytes, size_t len)
{
    struct pp_header h;
    for (size_t k = 0; k < len; k++) {
        int rc = pp_parse(bytes, k, &h);
        if (rc != 0)
            fprintf(stderr, "prefix of %zu of %zu bytes: %d (%s)\n", k, len, rc,
                    h.reason ? h.reason : "");
        CHECK_EQ(rc, 0);
    }
    CHECK_EQ(pp_parse(bytes, len, &h), len);
}

static void test_prefixes_want_more(void)
{
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        check_every_prefix_wants_more(valid[i].bytes, valid[i].len);
    const char *pairs[][2] = {
        {"192.168.0.1:56324", "192.168.0.11:443"},
        {"[2001:db8::1]:0", "[2001:db8::2]:65535"},
        {"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535", "10.0.0.1:1"},
        {"[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535",
         "[fffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        rsock_addr s = addr(pairs[i][0]), d = addr(pairs[i][1]);
        for (int version = 1; version <= 2; version++) {
            char buf[PP_BUILD_MAX];
            int n = pp_build(version, &s, &d, false, buf, sizeof buf);
            REQUIRE(n > 0 && n <= (version == 1 ? 104 : 52));
            check_every_prefix_wants_more(buf, (size_t)n);
        }
    }
    char buf[300];
    check_every_prefix_wants_more(buf, v2_unix(buf, "/a", 2, "/b", 2));
}

/* ---- pp_read on real sockets ---- */

static void unix_pair(rsock_t **x, rsock_t **y)
{
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(rsock_fdopen(fds[0], x) == 0);
    REQUIRE(rsock_fdopen(fds[1], y) == 0);
}

static void put(rsock_t *s, const void *bytes, size_t len)
{
    REQUIRE(rsock_write_all(s, bytes, len, rsock_now() + 5000) == (ssize_t)len);
}

/* What follows the header is still there, whole. */
static void check_rest(rsock_t *s, const char *want)
{
    char buf[64] = {0};
    size_t n = strlen(want);
    CHECK_EQ(rsock_read_full(s, buf, n, NULL, rsock_now() + 5000), n);
    CHECK_STR(buf, want);
}

static void test_read_leaves_the_data(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    struct pp_header h;
    static const char v1[] = "PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nhello\r\n";
    put(x, v1, LEN(v1));
    CHECK_EQ(pp_read(y, rsock_now() + 5000, &h), LEN(v1) - 7);
    check_same(&h.src, "1.2.3.4:1");
    check_rest(y, "hello\r\n");
    /* a v2 header with a TLV, then data that looks like another header */
    static const char v2[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x11"
                             "\x0a\x00\x00\x01\x0a\x00\x00\x02\x30\x39\x00\x35"
                             "\x02\x00\x02hi"
                             "PROXY UNKNOWN\r\n";
    put(x, v2, LEN(v2));
    CHECK_EQ(pp_read(y, rsock_now() + 5000, &h), LEN(v2) - 15);
    check_same(&h.dst, "10.0.0.2:53");
    check_rest(y, "PROXY UNKNOWN\r\n");
    rsock_close(x);
    rsock_close(y);
}

/* Writes each piece after the reader has parked. */
struct pieces {
    rsock_t *s;
    const char *bytes;
    size_t len, step;
};

static void write_pieces(void *arg)
{
    struct pieces *p = arg;
    for (size_t at = 0; at < p->len; at += p->step) {
        rsock_yield();
        put(p->s, p->bytes + at, p->len - at < p->step ? p->len - at : p->step);
    }
}

/* A header that comes a byte (or three) at a time, data right behind. */
static void test_read_in_pieces(void)
{
    static const char v1[] = "PROXY TCP6 ::1 2001:db8::7 443 65535\r\nDATA";
    static const char v2[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c"
                             "\x7f\x00\x00\x01\x7f\x00\x00\x02\x00\x50\x01\xbb"
                             "DATA";
    const struct {
        const char *bytes;
        size_t len;
    } headers[] = {{v1, LEN(v1)}, {v2, LEN(v2)}};
    for (size_t i = 0; i < 2; i++)
        for (size_t step = 1; step <= 3; step += 2) {
            rsock_t *x, *y;
            unix_pair(&x, &y);
            struct pieces p = {x, headers[i].bytes, headers[i].len, step};
            rsock_fiber *f;
            REQUIRE(rsock_spawn(write_pieces, &p, &f) == 0);
            struct pp_header h;
            CHECK_EQ(pp_read(y, rsock_now() + 5000, &h), headers[i].len - 4);
            CHECK(!h.local);
            check_rest(y, "DATA");
            CHECK_EQ(rsock_join(f, -1), 0);
            rsock_close(x);
            rsock_close(y);
        }
}

/* A v2 header larger than pp_read's stack buffer (a 1000-byte TLV). */
static void test_read_big_v2(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    static char big[16 + 12 + 3 + 1000 + 4];
    static const char head[] = "\r\n\r\n\0\r\nQUIT\n\x21\x11\x03\xf7"
                               "\x0a\x00\x00\x01\x0a\x00\x00\x02\x30\x39\x00\x35"
                               "\x04\x03\xe8";
    memcpy(big, head, LEN(head));
    memset(big + LEN(head), 'n', 1000);
    memcpy(big + LEN(head) + 1000, "TAIL", 4);
    put(x, big, sizeof big);
    struct pp_header h;
    CHECK_EQ(pp_read(y, rsock_now() + 5000, &h), sizeof big - 4);
    check_same(&h.src, "10.0.0.1:12345");
    check_rest(y, "TAIL");
    rsock_close(x);
    rsock_close(y);
}

static void test_read_refusals(void)
{
    struct pp_header h;
    rsock_t *x, *y;
    unix_pair(&x, &y);
    CHECK_EQ(pp_read(NULL, -1, &h), -EINVAL);
    CHECK_EQ(pp_read(y, -1, NULL), -EINVAL);
    /* not a PROXY header: refused as soon as it cannot be one */
    put(x, "GET / HTTP/1.0\r\n\r\n", 18);
    CHECK_EQ(pp_read(y, rsock_now() + 5000, &h), -EPROTO);
    CHECK_STR(h.reason, "not a PROXY protocol header");
    rsock_close(x);
    rsock_close(y);
    unix_pair(&x, &y);
    put(x, "PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", 36);
    CHECK_EQ(pp_read(y, rsock_now() + 5000, &h), -EPROTO);
    CHECK(h.reason && strstr(h.reason, "port"));
    rsock_close(x);
    rsock_close(y);
}

static void test_read_deadline(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    put(x, "PROXY TCP4 1.2.3.4 ", 19);
    struct pp_header h;
    int64_t t0 = rsock_now();
    CHECK_EQ(pp_read(y, t0 + 100, &h), -ETIMEDOUT);
    CHECK(rsock_now() - t0 >= 99);
    CHECK(h.reason && strstr(h.reason, "time limit"));
    rsock_close(x);
    rsock_close(y);
    /* nothing at all */
    unix_pair(&x, &y);
    CHECK_EQ(pp_read(y, rsock_now() + 50, &h), -ETIMEDOUT);
    rsock_close(x);
    rsock_close(y);
}

/* The client ends its stream before the header does, or sends none. */
static void test_read_early_end(void)
{
    static const struct {
        const char *bytes;
        size_t len;
    } cut[] = {
        {"", 0},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r", 31},
        {"\r\n\r\n\0\r\nQUIT\n\x21\x11\0\x0c\x0a\x00", 18},
        {"\r\n\r\n\0\r\nQUIT\n\x21", 13},
    };
    for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++) {
        rsock_t *x, *y;
        unix_pair(&x, &y);
        put(x, cut[i].bytes, cut[i].len);
        REQUIRE(rsock_shutdown(x, SHUT_WR) == 0);
        struct pp_header h;
        CHECK_EQ(pp_read(y, rsock_now() + 5000, &h), -EPIPE);
        CHECK(h.reason && strstr(h.reason, "ended before"));
        rsock_close(x);
        rsock_close(y);
    }
}

/* TCP loopback: the header pp_build makes from the real addresses; then a
 * reset in the middle of a second header is -ECONNRESET. */
static void test_read_tcp(void)
{
    rsock_t *l, *c, *a;
    rsock_addr at, mine, peer;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    REQUIRE(rsock_getsockname(l, &at) == 0);
    REQUIRE(rsock_addr_format(&at, text, sizeof text) > 0);
    for (int version = 1; version <= 2; version++) {
        REQUIRE(rsock_dial(text, rsock_now() + 5000, &c) == 0);
        REQUIRE(rsock_accept_wait(l, &peer, &a, rsock_now() + 5000) == 0);
        REQUIRE(rsock_getsockname(c, &mine) == 0);
        char hdr[PP_BUILD_MAX + 5];
        int n = pp_build(version, &mine, &at, false, hdr, PP_BUILD_MAX);
        REQUIRE(n > 0);
        memcpy(hdr + n, "after", 5);
        put(c, hdr, (size_t)n + 5);
        struct pp_header h;
        CHECK_EQ(pp_read(a, rsock_now() + 5000, &h), n);
        char want[RSOCK_ADDRSTRLEN];
        REQUIRE(rsock_addr_format(&peer, want, sizeof want) > 0);
        check_same(&h.src, want);
        check_same(&h.dst, text);
        check_rest(a, "after");
        if (version == 2) {
            put(c, "PROXY TCP4 ", 11);
            REQUIRE(rsock_setsockopt_linger(c, true, 0) == 0);
            rsock_close(c);
            CHECK_EQ(pp_read(a, rsock_now() + 5000, &h), -ECONNRESET);
            CHECK(h.reason && strstr(h.reason, "failed"));
        } else {
            rsock_close(c);
        }
        rsock_close(a);
    }
    rsock_close(l);
}

int main(void)
{
    int fds = check_fd_count();
    RUN(test_v1_round_trips);
    RUN(test_v2_round_trips);
    RUN(test_local_round_trips);
    RUN(test_build_refusals);
    RUN(test_valid_headers);
    RUN(test_data_after_header);
    RUN(test_malformed_refused);
    RUN(test_v1_too_long);
    RUN(test_prefixes_want_more);
    RUN(test_read_leaves_the_data);
    RUN(test_read_in_pieces);
    RUN(test_read_big_v2);
    RUN(test_read_refusals);
    RUN(test_read_deadline);
    RUN(test_read_early_end);
    RUN(test_read_tcp);
    CHECK_EQ(check_fd_count(), fds + 1); /* + this thread's epoll */
    return check_done();
}
