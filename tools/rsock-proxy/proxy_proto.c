/* The PROXY protocol, versions 1 and 2 (haproxy's doc/proxy-protocol.txt):
 * build a header, parse one (strictly: the spec says any sequence that does
 * not exactly match must abort the connection, as early as possible), and
 * read one off a stream without taking a byte of what follows it. */
#include "proxy_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the version 2 wire format ---- */

static const uint8_t v2_sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                   0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
enum { V2_LOCAL = 0, V2_PROXY = 1 };                            /* command: low nibble of byte 12 */
enum { V2_UNSPEC = 0, V2_INET = 1, V2_INET6 = 2, V2_UNIX = 3 }; /* family: high nibble of 13 */
enum { V2_STREAM = 1, V2_DGRAM = 2 };                           /* transport: low nibble of 13 */
#define V2_UNIX_PATH 108                                        /* each Unix address's bytes */

_Static_assert(sizeof(((struct sockaddr_un *)0)->sun_path) == V2_UNIX_PATH,
               "a v2 Unix address fills sun_path exactly");

/* The address block's size for a PROXY command of family `fam`. */
static size_t v2_addr_size(int fam)
{
    return fam == V2_INET    ? 2 * 4 + 2 * 2
           : fam == V2_INET6 ? 2 * 16 + 2 * 2
           : fam == V2_UNIX  ? 2 * V2_UNIX_PATH
                             : 0;
}

/* ---- building ---- */

static bool is_ip(const rsock_addr *a)
{
    int f = rsock_addr_family(a);
    return f == AF_INET || f == AF_INET6;
}

/* An IP address as 16 bytes (an IPv4 one v4-mapped) and its port. */
static void ip_as_v6(const rsock_addr *a, uint8_t ip[16], int *port)
{
    uint8_t raw[16];
    if (rsock_addr_ip(a, raw, port) == 4) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(ip, mapped, 12);
        memcpy(ip + 12, raw, 4);
    } else {
        memcpy(ip, raw, 16);
    }
}

/* The two addresses' IPs and ports: 4 bytes each when `v4`, else 16
 * (an IPv4 one v4-mapped). */
static void both_ips(const rsock_addr *src, const rsock_addr *dst, bool v4, uint8_t sip[16],
                     int *sport, uint8_t dip[16], int *dport)
{
    if (v4) {
        rsock_addr_ip(src, sip, sport);
        rsock_addr_ip(dst, dip, dport);
    } else {
        ip_as_v6(src, sip, sport);
        ip_as_v6(dst, dip, dport);
    }
}

/* "PROXY TCP4 a b p q\r\n", TCP6 unless both are IPv4. */
static int build_v1_tcp(const rsock_addr *src, const rsock_addr *dst, char *buf, size_t cap)
{
    bool v4 = rsock_addr_family(src) == AF_INET && rsock_addr_family(dst) == AF_INET;
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    uint8_t sip[16], dip[16];
    int sport, dport;
    both_ips(src, dst, v4, sip, &sport, dip, &dport);
    int af = v4 ? AF_INET : AF_INET6;
    inet_ntop(af, sip, s, sizeof s);
    inet_ntop(af, dip, d, sizeof d);
    char line[PP_BUILD_MAX + 1]; /* room for snprintf's NUL, which the header has not */
    int n = snprintf(line, sizeof line, "PROXY TCP%c %s %s %d %d\r\n", v4 ? '4' : '6', s, d, sport,
                     dport);
    if ((size_t)n > cap)
        return -ENOSPC;
    memcpy(buf, line, (size_t)n);
    return n;
}

static int build_v1(const rsock_addr *src, const rsock_addr *dst, char *buf, size_t cap)
{
    /* With IP addresses even a health check says them: the spec advises
     * the check connection's own pair, as some servers refuse UNKNOWN. */
    if (src && dst && is_ip(src) && is_ip(dst))
        return build_v1_tcp(src, dst, buf, cap);
    static const char unknown[] = "PROXY UNKNOWN\r\n";
    if (cap < sizeof unknown - 1)
        return -ENOSPC;
    memcpy(buf, unknown, sizeof unknown - 1);
    return (int)sizeof unknown - 1;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static int build_v2(const rsock_addr *src, const rsock_addr *dst, bool local, char *out, size_t cap)
{
    bool proxy = !local && is_ip(src) && is_ip(dst);
    bool v4 = proxy && rsock_addr_family(src) == AF_INET && rsock_addr_family(dst) == AF_INET;
    int fam = !proxy ? V2_UNSPEC : v4 ? V2_INET : V2_INET6;
    size_t body = v2_addr_size(fam);
    if (cap < PP_V2_FIXED + body)
        return -ENOSPC;
    uint8_t *p = (uint8_t *)out;
    memcpy(p, v2_sig, sizeof v2_sig);
    p[12] = (uint8_t)(0x20 | (proxy ? V2_PROXY : V2_LOCAL));
    p[13] = (uint8_t)(proxy ? fam << 4 | V2_STREAM : 0);
    put16(p + 14, (unsigned)body);
    if (proxy) {
        size_t alen = v4 ? 4 : 16;
        uint8_t sip[16], dip[16];
        int sport, dport;
        both_ips(src, dst, v4, sip, &sport, dip, &dport);
        memcpy(p + 16, sip, alen);
        memcpy(p + 16 + alen, dip, alen);
        put16(p + 16 + 2 * alen, (unsigned)sport);
        put16(p + 18 + 2 * alen, (unsigned)dport);
    }
    return (int)(PP_V2_FIXED + body);
}

int pp_build(int version, const rsock_addr *src, const rsock_addr *dst, bool local, char *buf,
             size_t cap)
{
    if ((version != 1 && version != 2) || !buf || (!local && (!src || !dst)))
        return -EINVAL;
    return version == 1 ? build_v1(src, dst, buf, cap) : build_v2(src, dst, local, buf, cap);
}

/* ---- parsing, version 1 ---- */

static int refuse(struct pp_header *out, const char *why)
{
    out->reason = why;
    return -EPROTO;
}

/* The fields of a v1 line, in order. */
enum { F_SIG, F_PROTO, F_SRC, F_DST, F_SPORT, F_DPORT, F_COUNT };
#define V1_IP4_MAX 15 /* "255.255.255.255" */
#define V1_IP6_MAX 45 /* INET6_ADDRSTRLEN - 1: eight groups, or six and a dotted quad */

static bool all_of(const char *t, size_t n, const char *allowed)
{
    for (size_t i = 0; i < n; i++)
        if (!t[i] || !strchr(allowed, t[i]))
            return false;
    return true;
}

static bool starts(const char *word, const char *t, size_t n)
{
    return n <= strlen(word) && memcmp(word, t, n) == 0;
}

static bool is(const char *word, const char *t, size_t n)
{
    return n == strlen(word) && memcmp(word, t, n) == 0;
}

/* A port's digits so far: no leading zero, at most 65535 when whole. */
static bool port_ok(const char *t, size_t n, bool whole, int *port)
{
    if ((whole && n == 0) || n > 5 || !all_of(t, n, "0123456789") || (n > 1 && t[0] == '0'))
        return false;
    long v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (t[i] - '0');
    if (port)
        *port = (int)v;
    return v <= 65535;
}

/* The characters an address of protocol `proto` ('4' or '6') may hold. */
static bool addr_chars_ok(char proto, const char *t, size_t n)
{
    return proto == '4' ? n <= V1_IP4_MAX && all_of(t, n, "0123456789.")
                        : n <= V1_IP6_MAX && all_of(t, n, "0123456789abcdefABCDEF:.");
}

/* A whole address of the protocol's family, by rsock's strict parsers (no
 * leading zeros in a dotted quad; RFC 4291 text; the characters checked
 * first, so no scope, no name). */
static bool addr_ok(char proto, const char *t, size_t n, rsock_addr *a)
{
    char text[V1_IP6_MAX + 1];
    if (n == 0 || !addr_chars_ok(proto, t, n))
        return false;
    memcpy(text, t, n);
    text[n] = '\0';
    return (proto == '4' ? rsock_addr_in(a, text, 0) : rsock_addr_in6(a, text, 0)) == 0;
}

static void set_port(rsock_addr *a, int port)
{
    if (a->sa.sa_family == AF_INET)
        a->in.sin_port = htons((uint16_t)port);
    else
        a->in6.sin6_port = htons((uint16_t)port);
}

/* One field, whole or (`whole` false: the line is cut short) the part
 * that came so far, which must be able to become valid.  *proto is set by
 * a whole F_PROTO ('4', '6' or 'U'). */
static int v1_field(int field, const char *t, size_t n, bool whole, char *proto,
                    struct pp_header *out)
{
    int port;
    switch (field) {
    case F_SIG:
        if (whole ? is("PROXY", t, n) : starts("PROXY", t, n))
            return 0;
        return refuse(out, "v1: the line does not start with \"PROXY \"");
    case F_PROTO:
        if (!whole && (starts("TCP4", t, n) || starts("TCP6", t, n) || starts("UNKNOWN", t, n)))
            return 0;
        if (whole && (is("TCP4", t, n) || is("TCP6", t, n) || is("UNKNOWN", t, n))) {
            *proto = t[0] == 'U' ? 'U' : t[3];
            return 0;
        }
        return refuse(out, "v1: protocol neither TCP4, TCP6 nor UNKNOWN");
    case F_SRC:
    case F_DST:
        if (whole ? addr_ok(*proto, t, n, field == F_SRC ? &out->src : &out->dst)
                  : addr_chars_ok(*proto, t, n))
            return 0;
        return refuse(out, *proto == '4' ? "v1: an address that is not IPv4 after TCP4"
                                         : "v1: an address that is not IPv6 after TCP6");
    default:
        if (!port_ok(t, n, whole, &port))
            return refuse(out, "v1: a port not in 0..65535 in decimal without leading zeros");
        if (whole)
            set_port(field == F_SPORT ? &out->src : &out->dst, port);
        return 0;
    }
}

/* The fields of line[0..n): 1 when they are a whole valid header, 0 when
 * they may yet become one (the line is cut short: !whole), -EPROTO. */
static int v1_fields(const char *line, size_t n, bool whole, struct pp_header *out)
{
    int field = F_SIG;
    char proto = 0;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && line[i] != ' ')
            continue;
        const char *t = line + start;
        size_t len = i - start;
        if (i == n && !whole)
            return v1_field(field, t, len, false, &proto, out);
        if (len == 0)
            return refuse(out, "v1: fields not separated by exactly one space");
        int rc = v1_field(field, t, len, true, &proto, out);
        if (rc < 0)
            return rc;
        if (proto == 'U') /* the rest of an UNKNOWN line is ignored */
            return whole;
        field++;
        start = i + 1;
        if (i < n && field == F_COUNT)
            return refuse(out, "v1: more than six fields");
    }
    return field == F_COUNT ? 1 : refuse(out, "v1: fields missing");
}

static int parse_v1(const char *p, size_t len, struct pp_header *out)
{
    out->version = 1;
    size_t scan = len < PP_V1_MAX ? len : PP_V1_MAX;
    size_t n = 0;
    while (n < scan && p[n] != '\r' && p[n] != '\n')
        n++;
    if (n == scan) /* no end of line yet */
        return len >= PP_V1_MAX ? refuse(out, "v1: no CRLF in the first 107 bytes")
                                : v1_fields(p, len, false, out);
    if (p[n] == '\n')
        return refuse(out, "v1: a lone LF ends the line");
    if (n + 2 > PP_V1_MAX)
        return refuse(out, "v1: no CRLF in the first 107 bytes");
    if (n + 1 < len && p[n + 1] != '\n')
        return refuse(out, "v1: a lone CR in the line");
    int rc = v1_fields(p, n, true, out);
    if (rc < 0)
        return rc;
    if (n + 1 == len) /* the LF is still to come */
        return 0;
    out->local = out->src.sa.sa_family == AF_UNSPEC;
    out->transport = out->local ? 0 : SOCK_STREAM;
    return (int)(n + 2);
}

/* ---- parsing, version 2 ---- */

/* A v2 Unix address: a pathname (NUL-terminated, or filling all 108
 * bytes), an abstract name (a leading NUL; trailing NULs are padding) or,
 * all NULs, an unnamed socket. */
static void unix_addr(const uint8_t raw[V2_UNIX_PATH], rsock_addr *a)
{
    rsock_addr_init(a, AF_UNIX);
    memcpy(a->un.sun_path, raw, V2_UNIX_PATH);
    size_t n = V2_UNIX_PATH, base = offsetof(struct sockaddr_un, sun_path);
    if (raw[0]) {
        n = strnlen((const char *)raw, V2_UNIX_PATH);
        a->len = (socklen_t)(base + n + (n < V2_UNIX_PATH));
        return;
    }
    while (n > 0 && raw[n - 1] == 0)
        n--;
    a->len = (socklen_t)(base + n);
}

static void ip_addr(int af, const uint8_t *ip, const uint8_t *port, rsock_addr *a)
{
    rsock_addr_init(a, af);
    if (af == AF_INET)
        memcpy(&a->in.sin_addr, ip, 4);
    else
        memcpy(&a->in6.sin6_addr, ip, 16);
    memcpy(af == AF_INET ? (void *)&a->in.sin_port : (void *)&a->in6.sin6_port, port, 2);
}

static void v2_addresses(int fam, const uint8_t *b, struct pp_header *out)
{
    if (fam == V2_UNIX) {
        unix_addr(b, &out->src);
        unix_addr(b + V2_UNIX_PATH, &out->dst);
        return;
    }
    int af = fam == V2_INET ? AF_INET : AF_INET6;
    size_t alen = fam == V2_INET ? 4 : 16;
    ip_addr(af, b, b + 2 * alen, &out->src);
    ip_addr(af, b + alen, b + 2 * alen + 2, &out->dst);
}

/* TLVs (a type byte, a 16-bit length, the value) fill `n` bytes exactly. */
static bool tlvs_fit(const uint8_t *t, size_t n)
{
    while (n > 0) {
        if (n < 3)
            return false;
        size_t vlen = (size_t)t[1] << 8 | t[2];
        if (vlen > n - 3)
            return false;
        t += 3 + vlen;
        n -= 3 + vlen;
    }
    return true;
}

/* Bytes 12..13: version, command, family, transport; 0 or -EPROTO. */
static int v2_check_kind(const uint8_t *p, size_t len, struct pp_header *out)
{
    if (len > 12 && p[12] >> 4 != 2)
        return refuse(out, "v2: version is not 2");
    if (len > 12 && (p[12] & 15) > V2_PROXY)
        return refuse(out, "v2: command neither LOCAL nor PROXY");
    if (len <= 13)
        return 0;
    int fam = p[13] >> 4, tr = p[13] & 15;
    if (fam > V2_UNIX)
        return refuse(out, "v2: an address family the spec does not name");
    if (tr > V2_DGRAM)
        return refuse(out, "v2: a transport the spec does not name");
    if ((p[12] & 15) == V2_PROXY && (fam == V2_UNSPEC) != (tr == 0))
        return refuse(out, "v2: family and transport disagree (one unspecified)");
    return 0;
}

static int parse_v2(const uint8_t *p, size_t len, struct pp_header *out)
{
    out->version = 2;
    if (memcmp(p, v2_sig, len < sizeof v2_sig ? len : sizeof v2_sig) != 0)
        return refuse(out, "v2: bad signature");
    int rc = v2_check_kind(p, len, out);
    if (rc < 0 || len < PP_V2_FIXED)
        return rc;
    bool proxy = (p[12] & 15) == V2_PROXY;
    int fam = p[13] >> 4;
    size_t body = (size_t)p[14] << 8 | p[15];
    size_t addrs = proxy ? v2_addr_size(fam) : 0;
    if (body < addrs)
        return refuse(out, "v2: length shorter than the family's addresses");
    if (len < PP_V2_FIXED + body)
        return 0;
    /* LOCAL, or PROXY of an unspecified family: the block is skipped
     * whole (the spec: its contents are to be ignored). */
    out->local = !proxy || fam == V2_UNSPEC;
    if (out->local)
        return (int)(PP_V2_FIXED + body);
    if (!tlvs_fit(p + PP_V2_FIXED + addrs, body - addrs))
        return refuse(out, "v2: a TLV runs past the header");
    v2_addresses(fam, p + PP_V2_FIXED, out);
    out->transport = (p[13] & 15) == V2_STREAM ? SOCK_STREAM : SOCK_DGRAM;
    return (int)(PP_V2_FIXED + body);
}

int pp_parse(const void *buf, size_t len, struct pp_header *out)
{
    if (!out || (!buf && len))
        return -EINVAL;
    memset(out, 0, sizeof *out);
    const uint8_t *p = buf;
    if (len == 0)
        return 0;
    if (p[0] == 'P')
        return parse_v1(buf, len, out);
    if (p[0] == v2_sig[0])
        return parse_v2(p, len, out);
    return refuse(out, "not a PROXY protocol header");
}

/* ---- reading off a stream ---- */

#define PP_READ_STACK 512 /* any v1 line, a v2 header with a few TLVs */

/* Take up to `want` bytes, waiting for input; with `to_lf`, only through
 * the first LF (a v1 line must not be read past its end: peek, then take
 * what belongs to it).  Bytes taken, or -EPIPE at the end of the stream. */
static ssize_t take(rsock_t *s, char *dst, size_t want, bool to_lf, int64_t deadline)
{
    for (;;) {
        ssize_t n = rsock_recv(s, dst, want, to_lf ? MSG_PEEK : 0);
        if (n == -EAGAIN) {
            int rc = rsock_wait_in(s, deadline);
            if (rc < 0)
                return rc;
            continue;
        }
        if (n <= 0)
            return n == 0 ? -EPIPE : n;
        if (!to_lf)
            return n;
        const char *lf = memchr(dst, '\n', (size_t)n);
        return rsock_recv(s, dst, lf ? (size_t)(lf - dst + 1) : (size_t)n, 0);
    }
}

/* Make room for a v2 header of `total` bytes: 0 or -ENOMEM. */
static int grow(char **buf, size_t *cap, char *stack, size_t have, size_t total)
{
    if (total <= *cap)
        return 0;
    char *bigger = malloc(total);
    if (!bigger)
        return -ENOMEM;
    memcpy(bigger, *buf, have);
    if (*buf != stack)
        free(*buf);
    *buf = bigger;
    *cap = total;
    return 0;
}

/* The next bytes of the header: a v2 header's exact length is known from
 * its fixed part; a v1 line (or a first byte not yet seen) ends at a LF. */
static ssize_t read_more(rsock_t *s, char **buf, size_t *cap, char *stack, size_t have,
                         int64_t deadline)
{
    if (have == 0 || (*buf)[0] != (char)v2_sig[0])
        return take(s, *buf + have, PP_V1_MAX - have, true, deadline);
    size_t total = PP_V2_FIXED;
    if (have >= PP_V2_FIXED)
        total += (size_t)(uint8_t)(*buf)[14] << 8 | (uint8_t)(*buf)[15];
    if (grow(buf, cap, stack, have, total) < 0)
        return -ENOMEM;
    return take(s, *buf + have, total - have, false, deadline);
}

static const char *read_failure(int rc)
{
    return rc == -ETIMEDOUT ? "no complete PROXY header before the time limit"
           : rc == -EPIPE   ? "the connection ended before the PROXY header did"
           : rc == -ENOMEM  ? "no memory for the PROXY header"
                            : "reading the PROXY header failed";
}

int pp_read(rsock_t *client, int64_t deadline, struct pp_header *out)
{
    if (!client || !out)
        return -EINVAL;
    char stack[PP_READ_STACK];
    char *buf = stack;
    size_t cap = sizeof stack, have = 0;
    int rc;
    while ((rc = pp_parse(buf, have, out)) == 0) {
        ssize_t n = read_more(client, &buf, &cap, stack, have, deadline);
        if (n < 0) {
            rc = (int)n;
            out->reason = read_failure(rc);
            break;
        }
        have += (size_t)n;
    }
    if (buf != stack)
        free(buf);
    return rc;
}
