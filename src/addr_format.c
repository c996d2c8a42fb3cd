/* Address text out: rsock_addr_format, snprintf-style, and the RFC 5952
 * IPv6 writer (not inet_ntop: its output differs between libcs). */
#include "addr_priv.h"

#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

/* An snprintf-style sink: counts everything, stores what fits. */
typedef struct {
    char *buf;
    size_t size, len;
} sink;

static void put(sink *o, const char *s, size_t n)
{
    if (o->size > 0 && o->len < o->size - 1) {
        size_t room = o->size - 1 - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void puts_(sink *o, const char *s) { put(o, s, strlen(s)); }

static void putf(sink *o, const char *fmt, unsigned long a, unsigned long b)
{
    char tmp[48];
    int n = snprintf(tmp, sizeof tmp, fmt, a, b);
    put(o, tmp, (size_t)n);
}

/* The longest run of two or more zero groups; the first on a tie. */
static void longest_zero_run(const uint16_t g[8], int *start, int *len)
{
    *start = -1;
    *len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > *len && j - i >= 2) {
            *start = i;
            *len = j - i;
        }
        i = j > i ? j : i + 1;
    }
}

size_t rsock__ipv6_to_text(const struct in6_addr *ip, char out[RSOCK__IPV6_TEXT])
{
    const uint8_t *b = ip->s6_addr;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(b, mapped, sizeof mapped) == 0)
        return (size_t)snprintf(out, RSOCK__IPV6_TEXT, "::ffff:%u.%u.%u.%u", b[12], b[13],
                                b[14], b[15]);
    uint16_t g[8];
    for (int k = 0; k < 8; k++)
        g[k] = (uint16_t)(b[2 * k] << 8 | b[2 * k + 1]);
    int run, run_len;
    longest_zero_run(g, &run, &run_len);
    size_t n = 0;
    for (int i = 0; i < 8;) {
        if (i == run) {
            out[n++] = ':';
            out[n++] = ':';
            i += run_len;
            continue;
        }
        if (i > 0 && i != run + run_len)
            out[n++] = ':';
        n += (size_t)snprintf(out + n, RSOCK__IPV6_TEXT - n, "%x", g[i]);
        i++;
    }
    out[n] = '\0';
    return n;
}

/* A name the parser reads back to its interface: printable ASCII without
 * the grammar's own characters, and not all digits (that reads back as a
 * number).  Others ("0", "é1", "a]b") are written as the index. */
static bool scope_name_writable(const char *name)
{
    bool digits_only = true;
    for (const char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c <= ' ' || c >= 0x7f || strchr("%[]/:\\,", c))
            return false;
        digits_only = digits_only && c >= '0' && c <= '9';
    }
    return name[0] != '\0' && !digits_only;
}

/* "%name" when this machine names the interface writably, else "%number". */
static void put_scope(sink *o, uint32_t scope)
{
    char name[IF_NAMESIZE];
    if (if_indextoname(scope, name) && scope_name_writable(name)) {
        put(o, "%", 1);
        puts_(o, name);
    } else {
        putf(o, "%%%lu", scope, 0);
    }
}

static void put_in(sink *o, const struct sockaddr_in *in)
{
    const uint8_t *b = (const uint8_t *)&in->sin_addr;
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%u.%u.%u.%u:%u", b[0], b[1], b[2], b[3],
                     ntohs(in->sin_port));
    put(o, tmp, (size_t)n);
}

static void put_in6(sink *o, const struct sockaddr_in6 *in6)
{
    char text[RSOCK__IPV6_TEXT];
    put(o, "[", 1);
    put(o, text, rsock__ipv6_to_text(&in6->sin6_addr, text));
    if (in6->sin6_scope_id)
        put_scope(o, in6->sin6_scope_id);
    putf(o, "]:%lu", ntohs(in6->sin6_port), 0);
    if (in6->sin6_flowinfo)
        putf(o, ",flowinfo=0x%lx", ntohl(in6->sin6_flowinfo), 0);
}

/* Printable ASCII as it is, any other byte (and '\\') as \xHH. */
static void put_escaped(sink *o, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (rsock__unix_byte_plain(c))
            put(o, p + i, 1);
        else if (c == '\\')
            put(o, "\\\\", 2);
        else
            putf(o, "\\x%02lx", c, 0);
    }
}

/* Unnamed "unix:", abstract "@name", absolute "/path", else "unix:path",
 * the name escaped: each reads back as the same address. */
static void put_un(sink *o, const rsock_addr *a)
{
    size_t room = a->len - offsetof(struct sockaddr_un, sun_path);
    const char *p = a->un.sun_path;
    if (room == 0) {
        puts_(o, "unix:");
    } else if (p[0] == '\0') {
        put(o, "@", 1);
        put_escaped(o, p + 1, room - 1);
    } else {
        if (p[0] != '/')
            puts_(o, "unix:");
        put_escaped(o, p, strnlen(p, room));
    }
}

/* "packet:IFINDEX:0xPROTO", then the fields that are not zero:
 * ",hatype=N,pkttype=N,addr=HH:HH:..." */
static void put_ll(sink *o, const rsock_addr *a)
{
    const struct sockaddr_ll *ll = &a->ll;
    putf(o, "packet:%lu:0x%04lx", (unsigned long)(unsigned)ll->sll_ifindex,
         ntohs(ll->sll_protocol));
    if (ll->sll_hatype)
        putf(o, ",hatype=%lu", ll->sll_hatype, 0);
    if (ll->sll_pkttype)
        putf(o, ",pkttype=%lu", ll->sll_pkttype, 0);
    const uint8_t *hw = (const uint8_t *)&a->ss + RSOCK__LL_ADDR_OFF;
    for (size_t i = 0; i < ll->sll_halen; i++)
        putf(o, i == 0 ? ",addr=%02lx" : ":%02lx", hw[i], 0);
}

static void put_any(sink *o, const rsock_addr *a)
{
    switch (a->sa.sa_family) {
    case AF_INET: put_in(o, &a->in); break;
    case AF_INET6: put_in6(o, &a->in6); break;
    case AF_UNIX: put_un(o, a); break;
    case AF_NETLINK: putf(o, "netlink:%lu:%lu", a->nl.nl_pid, a->nl.nl_groups); break;
    case AF_PACKET: put_ll(o, a); break;
    }
}

int rsock_addr_format(const rsock_addr *a, char *buf, size_t size)
{
    if (buf && size > 0)
        buf[0] = '\0';
    if (!a)
        return rsock__fail(EINVAL, "rsock_addr_format: NULL address");
    if (!buf && size > 0)
        return rsock__fail(EINVAL, "rsock_addr_format: NULL buffer of size %zu", size);
    if (!rsock_addr_valid(a))
        return rsock__fail(EINVAL, "rsock_addr_format: invalid address (family %d, length %u)",
                           a->sa.sa_family, (unsigned)a->len);
    sink o = {buf, size, 0};
    put_any(&o, a);
    if (size > 0)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

const char *rsock__addr_str(const rsock_addr *a, char buf[RSOCK_ADDRSTRLEN])
{
    if (!a)
        return "(null)";
    if (rsock_addr_format(a, buf, RSOCK_ADDRSTRLEN) < 0)
        return "(invalid)";
    return buf;
}
