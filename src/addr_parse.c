/* Address text in: rsock_addr_parse's grammar (see rsock.h), and name
 * resolution through rsock__getaddrinfo.  Which form a text is decided by
 * its shape alone, in this order: "unix:", "@", "scheme://" (refused), any
 * '/', "netlink:", "packet:", then host:port.  A typo never falls through
 * to a Unix path. */
#include "addr_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text; /* the caller's whole text, for messages */
    bool resolve;     /* false: a host name is refused, never looked up */
    struct rsock__host_port *name; /* not NULL: a host name is handed back here */
} parse_ctx;

static int bad(const parse_ctx *c, int err, const char *why)
{
    return rsock__fail(err, "rsock_addr_parse \"%.*s\": %s", RSOCK__TEXT_SHOWN, c->text, why);
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int parse_unix(const parse_ctx *c, rsock_addr *a, const char *path, bool abstract_ok)
{
    if (!abstract_ok && path[0] == '\0') { /* "unix:" is the unnamed address */
        a->un.sun_family = AF_UNIX;
        a->len = offsetof(struct sockaddr_un, sun_path);
        return 0;
    }
    bool abstract = abstract_ok && path[0] == '@';
    const char *why = "";
    int rc = rsock__unix_from_text(a, path + abstract, abstract, &why);
    return rc < 0 ? bad(c, -rc, why) : 0;
}

/* "A:B" after a prefix: two unsigned 32-bit decimals. */
static bool two_numbers(const char *s, uint32_t *x, uint32_t *y)
{
    const char *colon = strchr(s, ':');
    return colon && rsock__u32_from_text(s, (size_t)(colon - s), x) &&
           rsock__u32_from_text(colon + 1, strlen(colon + 1), y);
}

static int parse_netlink(const parse_ctx *c, rsock_addr *a, const char *s)
{
    uint32_t pid, groups;
    if (!two_numbers(s, &pid, &groups))
        return bad(c, EINVAL, "bad netlink address (want netlink:PID:GROUPS)");
    a->nl.nl_family = AF_NETLINK;
    a->nl.nl_pid = pid;
    a->nl.nl_groups = groups;
    a->len = sizeof a->nl;
    return 0;
}

/* An ethertype: decimal, or "0x" and 1..4 hex digits. */
static bool ethertype(const char *s, uint32_t *out)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return rsock__u32_from_text(s, strlen(s), out) && *out <= 0xffff;
    size_t n = strlen(s + 2);
    if (n == 0 || n > 4 || strspn(s + 2, "0123456789abcdefABCDEF") != n)
        return false;
    *out = (uint32_t)strtoul(s + 2, NULL, 16);
    return true;
}

/* ",key=" at *s: step over it. */
static bool take_key(const char **s, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(*s, key, n) != 0)
        return false;
    *s += n;
    return true;
}

/* A decimal up to the next ',' or the end, at most max. */
static bool take_number(const char **s, uint32_t max, uint32_t *out)
{
    size_t n = strcspn(*s, ",");
    if (!rsock__u32_from_text(*s, n, out) || *out > max)
        return false;
    *s += n;
    return true;
}

/* "HH:HH:..." to the end: the hardware address, its length in sll_halen. */
static bool take_hwaddr(const char *s, rsock_addr *a)
{
    uint8_t *hw = (uint8_t *)&a->ss + RSOCK__LL_ADDR_OFF;
    size_t n = 0;
    for (;; s += 3) {
        unsigned v;
        if (n == RSOCK__LL_ADDR_MAX || strspn(s, "0123456789abcdefABCDEF") < 2 ||
            sscanf(s, "%2x", &v) != 1)
            return false;
        hw[n++] = (uint8_t)v;
        if (s[2] == '\0')
            break;
        if (s[2] != ':')
            return false;
    }
    a->ll.sll_halen = (unsigned char)n;
    if (RSOCK__LL_ADDR_OFF + n > a->len)
        a->len = (socklen_t)(RSOCK__LL_ADDR_OFF + n);
    return true;
}

/* The fields after "IFINDEX:PROTO", each optional, in this order:
 * ",hatype=N,pkttype=N,addr=HH:HH:...". */
static bool packet_fields(const char *s, rsock_addr *a)
{
    uint32_t v;
    if (take_key(&s, ",hatype=")) {
        if (!take_number(&s, 0xffff, &v))
            return false;
        a->ll.sll_hatype = (unsigned short)v;
    }
    if (take_key(&s, ",pkttype=")) {
        if (!take_number(&s, 0xff, &v))
            return false;
        a->ll.sll_pkttype = (unsigned char)v;
    }
    if (take_key(&s, ",addr="))
        return take_hwaddr(s, a);
    return *s == '\0';
}

static int parse_packet(const parse_ctx *c, rsock_addr *a, const char *s)
{
    char head[32]; /* "IFINDEX:PROTO", cut at the first ',' */
    size_t n = strcspn(s, ",");
    const char *colon = memchr(s, ':', n);
    uint32_t ifindex, proto;
    bool ok = n < sizeof head && colon;
    if (ok) {
        memcpy(head, s, n);
        head[n] = '\0';
        ok = rsock__u32_from_text(s, (size_t)(colon - s), &ifindex) &&
             ethertype(head + (colon - s) + 1, &proto);
    }
    if (ok) {
        a->ll.sll_family = AF_PACKET;
        a->ll.sll_ifindex = (int)ifindex;
        a->ll.sll_protocol = htons((uint16_t)proto);
        a->len = sizeof a->ll;
        ok = packet_fields(s + n, a);
    }
    if (!ok)
        return bad(c, EINVAL, "bad packet address (want packet:IFINDEX:PROTO, then optional "
                              ",hatype=N,pkttype=N,addr=HH:HH:...)");
    return 0;
}

/* Text that inet_aton (and so getaddrinfo) would read as a number: its
 * last label is all digits or 0x-hex.  Such text is IPv4 or an error,
 * never a name ("127.1", "2130706433", "0x7f.0.0.1", "1.2.3.999"). */
static bool looks_numeric(const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '.')
        n--;
    size_t start = n;
    while (start > 0 && s[start - 1] != '.')
        start--;
    const char *label = s + start;
    size_t len = n - start;
    if (len >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X'))
        return strspn(label + 2, "0123456789abcdefABCDEF") >= len - 2;
    return len > 0 && strspn(label, "0123456789") >= len;
}

static bool host_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (!alnum && ch != '-' && ch != '.' && ch != '_')
            return false;
    }
    return true;
}

int rsock__gai_errno(int code)
{
    if (code == EAI_AGAIN)
        return EHOSTUNREACH; /* "try again" is not "would block" */
    if (code == EAI_MEMORY)
        return ENOMEM;
    if (code == EAI_SYSTEM)
        return errno == EAGAIN || errno == 0 ? EHOSTUNREACH : errno;
    return ENOENT;
}

static int parse_resolver_error(const parse_ctx *c, int code)
{
    int err = rsock__gai_errno(code); /* before anything else may change errno */
    return bad(c, err, gai_strerror(code));
}

/* The first IPv4 or IPv6 address the resolver gives for the name. */
static int resolve_first(const parse_ctx *c, rsock_addr *a, const char *host, size_t n, int port)
{
    char name[256];
    memcpy(name, host, n);
    name[n] = '\0';
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int code = rsock__getaddrinfo(name, NULL, &hints, &res);
    if (code != 0)
        return parse_resolver_error(c, code);
    const struct addrinfo *ai = res;
    for (; ai; ai = ai->ai_next)
        if ((ai->ai_family == AF_INET && ai->ai_addrlen == sizeof a->in) ||
            (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof a->in6))
            break;
    if (ai) {
        memcpy(&a->ss, ai->ai_addr, ai->ai_addrlen);
        a->len = ai->ai_addrlen;
        if (ai->ai_family == AF_INET)
            a->in.sin_port = htons((uint16_t)port);
        else
            a->in6.sin6_port = htons((uint16_t)port);
    }
    freeaddrinfo(res);
    return ai ? 0 : bad(c, ENOENT, "no IPv4 or IPv6 address for the name");
}

/* A host without brackets: wildcard, bare IPv6, IPv4 or a name. */
static int parse_host(const parse_ctx *c, rsock_addr *a, const char *host, size_t n, int port)
{
    if (n == 0) {
        struct in_addr any = {htonl(INADDR_ANY)};
        rsock__set_in(a, &any, port);
        return 0;
    }
    if (memchr(host, ':', n) || memchr(host, '%', n)) {
        const char *why = "";
        int rc = rsock__in6_from_text(a, host, n, port, &why);
        if (rc == -EINVAL && strcmp(why, "bad IPv6 address") == 0) {
            struct in6_addr whole;
            if (rsock__ipv6_from_text(c->text, strlen(c->text), &whole))
                why = "missing port (write [IPv6]:port)";
        }
        return rc < 0 ? bad(c, -rc, why) : 0;
    }
    if (looks_numeric(host, n)) {
        struct in_addr ip;
        if (!rsock__ipv4_from_text(host, n, &ip))
            return bad(c, EINVAL, "bad IPv4 address");
        rsock__set_in(a, &ip, port);
        return 0;
    }
    if (!host_name_ok(host, n))
        return bad(c, EINVAL, "bad host name");
    if (c->name) { /* the caller resolves it (rsock_dial tries every address) */
        memcpy(c->name->host, host, n);
        c->name->host[n] = '\0';
        c->name->port = port;
        return 1;
    }
    if (!c->resolve)
        return bad(c, EINVAL, "host name given, name resolution disabled");
    return resolve_first(c, a, host, n, port);
}

static int parse_port(const parse_ctx *c, const char *s, size_t n)
{
    if (n == 0)
        return bad(c, EINVAL, "missing port");
    int port = rsock__port_from_text(s, n);
    return port < 0 ? bad(c, EINVAL, "bad port (want 0..65535)") : port;
}

/* ",flowinfo=0xHEX" after an IPv6 port: sin6_flowinfo (flow label and
 * traffic class), 1 to 8 hex digits.  An empty s is 0. */
static int parse_flowinfo(const parse_ctx *c, const char *s, uint32_t *out)
{
    *out = 0;
    if (*s == '\0')
        return 0;
    size_t n = strlen(s);
    if (!take_key(&s, ",flowinfo=0x") || n - 12 < 1 || n - 12 > 8 ||
        strspn(s, "0123456789abcdefABCDEF") != n - 12)
        return bad(c, EINVAL, "bad flowinfo (want [IPv6]:port,flowinfo=0xHEX)");
    *out = (uint32_t)strtoul(s, NULL, 16);
    return 0;
}

/* "[v6%scope]:port", then an optional ",flowinfo=0xHEX" */
static int parse_bracketed(const parse_ctx *c, rsock_addr *a, const char *t)
{
    const char *close = strchr(t, ']');
    if (!close)
        return bad(c, EINVAL, "missing ']'");
    if (close[1] != ':')
        return bad(c, EINVAL, close[1] ? "junk after ']'" : "missing port");
    const char *port_text = close + 2;
    size_t port_len = strcspn(port_text, ",");
    int port = parse_port(c, port_text, port_len);
    if (port < 0)
        return port;
    uint32_t flowinfo;
    int rc = parse_flowinfo(c, port_text + port_len, &flowinfo);
    if (rc < 0)
        return rc;
    const char *why = "";
    rc = rsock__in6_from_text(a, t + 1, (size_t)(close - t - 1), port, &why);
    if (rc < 0)
        return bad(c, -rc, why);
    a->in6.sin6_flowinfo = htonl(flowinfo);
    return 0;
}

static int parse_inet(const parse_ctx *c, rsock_addr *a, const char *t)
{
    if (t[0] == '[')
        return parse_bracketed(c, a, t);
    const char *colon = strrchr(t, ':');
    if (!colon)
        return bad(c, EINVAL, "missing port");
    int port = parse_port(c, colon + 1, strlen(colon + 1));
    if (port < 0)
        return port;
    return parse_host(c, a, t, (size_t)(colon - t), port);
}

/* "scheme://..." (RFC 3986: a letter, then letters, digits, '+', '-', '.'):
 * a URL, which would otherwise be taken for a Unix path by its '/'. */
static bool looks_like_url(const char *t)
{
    static const char scheme_chars[] = "abcdefghijklmnopqrstuvwxyz"
                                       "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.";
    if (!((t[0] >= 'a' && t[0] <= 'z') || (t[0] >= 'A' && t[0] <= 'Z')))
        return false;
    size_t n = strspn(t, scheme_chars);
    return strncmp(t + n, "://", 3) == 0;
}

static int parse_any(const parse_ctx *c, rsock_addr *a)
{
    const char *t = c->text;
    if (t[0] == '\0')
        return bad(c, EINVAL, "empty text");
    if (starts_with(t, "unix:"))
        return parse_unix(c, a, t + 5, false);
    if (t[0] == '@')
        return parse_unix(c, a, t, true);
    if (looks_like_url(t))
        return bad(c, EINVAL, "a URL, not an address: rsock's address text is host:port, "
                              "[IPv6]:port, /path or unix:path, @abstract, "
                              "netlink:PID:GROUPS or packet:IFINDEX:PROTO");
    if (strchr(t, '/'))
        return parse_unix(c, a, t, false);
    if (starts_with(t, "netlink:"))
        return parse_netlink(c, a, t + 8);
    if (starts_with(t, "packet:"))
        return parse_packet(c, a, t + 7);
    return parse_inet(c, a, t);
}

/* `a` is written only on success. */
static int parse_text(rsock_addr *out, const char *text, bool resolve,
                      struct rsock__host_port *name)
{
    if (!out || !text)
        return rsock__fail(EINVAL, "rsock_addr_parse: NULL %s", out ? "text" : "address");
    parse_ctx c = {text, resolve, name};
    rsock_addr a;
    memset(&a, 0, sizeof a);
    int rc = parse_any(&c, &a);
    if (rc == 0)
        *out = a;
    return rc;
}

int rsock_addr_parse(rsock_addr *a, const char *text) { return parse_text(a, text, true, NULL); }

int rsock__addr_parse_numeric(rsock_addr *a, const char *text)
{
    return parse_text(a, text, false, NULL);
}

int rsock__addr_parse_split(rsock_addr *a, const char *text, struct rsock__host_port *name)
{
    if (!name)
        return rsock__fail(EINVAL, "rsock_addr_parse: NULL name");
    return parse_text(a, text, false, name);
}
