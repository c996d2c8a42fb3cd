/* IP address text: strict IPv4 and IPv6 readers, ports and scopes.
 * Written by hand rather than with inet_pton/inet_aton so that the grammar
 * is exactly the documented one on every libc (no octal, no "127.1"). */
#include "addr_priv.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool rsock__ipv4_from_text(const char *s, size_t n, struct in_addr *out)
{
    uint8_t b[4];
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0 && (i >= n || s[i++] != '.'))
            return false;
        size_t start = i;
        unsigned v = 0;
        while (i < n && i - start < 3 && is_digit(s[i]))
            v = v * 10 + (unsigned)(s[i++] - '0');
        size_t len = i - start;
        if (len == 0 || (len > 1 && s[start] == '0') || v > 255)
            return false;
        b[part] = (uint8_t)v;
    }
    if (i != n) /* a fifth part, a fourth digit or junk */
        return false;
    memcpy(out, b, 4);
    return true;
}

/* One hex group of 1..4 digits at s[*i]; -1 when there is none or more. */
static int hex_group(const char *s, size_t n, size_t *i)
{
    size_t start = *i;
    int v = 0;
    while (*i < n && *i - start < 4 && hex_value(s[*i]) >= 0)
        v = v * 16 + hex_value(s[(*i)++]);
    if (*i == start || (*i < n && hex_value(s[*i]) >= 0))
        return -1;
    return v;
}

/* Does the group starting at s[i] run into a '.' before the next ':'? */
static bool ipv4_tail_here(const char *s, size_t n, size_t i)
{
    for (; i < n && s[i] != ':'; i++)
        if (s[i] == '.')
            return true;
    return false;
}

/* The groups of s into g; *gap is where "::" stood (-1: none). */
static int ipv6_groups(const char *s, size_t n, uint16_t g[8], int *gap)
{
    int count = 0;
    size_t i = 0;
    *gap = -1;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        *gap = 0;
        if ((i = 2) == n)
            return 0;
    }
    for (;;) {
        if (count == 8)
            return -1;
        if (ipv4_tail_here(s, n, i)) {
            struct in_addr v4;
            if (count > 6 || !rsock__ipv4_from_text(s + i, n - i, &v4))
                return -1;
            const uint8_t *b = (const uint8_t *)&v4;
            g[count++] = (uint16_t)(b[0] << 8 | b[1]);
            g[count++] = (uint16_t)(b[2] << 8 | b[3]);
            return count;
        }
        int v = hex_group(s, n, &i);
        if (v < 0)
            return -1;
        g[count++] = (uint16_t)v;
        if (i == n)
            return count;
        if (s[i++] != ':' || i == n)
            return -1;
        if (s[i] == ':') {
            if (*gap >= 0)
                return -1; /* a second "::" */
            *gap = count;
            if (++i == n)
                return count;
        }
    }
}

bool rsock__ipv6_from_text(const char *s, size_t n, struct in6_addr *out)
{
    uint16_t g[8];
    int gap;
    int count = ipv6_groups(s, n, g, &gap);
    if (count < 0 || (gap < 0 ? count != 8 : count > 7))
        return false;
    uint16_t full[8] = {0};
    int tail = gap < 0 ? 0 : count - gap;
    for (int k = 0; k < count - tail; k++)
        full[k] = g[k];
    for (int k = 0; k < tail; k++)
        full[8 - tail + k] = g[gap + k];
    for (int k = 0; k < 8; k++) {
        out->s6_addr[2 * k] = (uint8_t)(full[k] >> 8);
        out->s6_addr[2 * k + 1] = (uint8_t)full[k];
    }
    return true;
}

bool rsock__u32_from_text(const char *s, size_t n, uint32_t *out)
{
    if (n == 0 || n > 10)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

int rsock__port_from_text(const char *s, size_t n)
{
    uint32_t v;
    if (n > 5 || !rsock__u32_from_text(s, n, &v) || v > 65535)
        return -1;
    return (int)v;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return false;
    return n > 0;
}

/* Bytes Linux allows in an interface name (dev_valid_name), UTF-8 too. */
static bool ifname_ok(const char *s, size_t n)
{
    if (n == 0 || n >= IF_NAMESIZE)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == '/' || c == ':' || c == '%' || c == 0x7f)
            return false;
    }
    return true;
}

/* A scope: an interface number (all digits), or a name this machine knows
 * ("0ab" is a name: Linux allows a leading digit). */
static int scope_from_text(const char *s, size_t n, uint32_t *scope, const char **why)
{
    if (all_digits(s, n)) {
        if (rsock__u32_from_text(s, n, scope))
            return 0;
        *why = "bad scope";
        return -EINVAL;
    }
    if (!ifname_ok(s, n)) {
        *why = "bad scope";
        return -EINVAL;
    }
    char name[IF_NAMESIZE];
    memcpy(name, s, n);
    name[n] = '\0';
    *scope = if_nametoindex(name);
    if (*scope == 0) {
        *why = "unknown scope interface";
        return -ENODEV;
    }
    return 0;
}

int rsock__in6_from_text(rsock_addr *a, const char *s, size_t n, int port, const char **why)
{
    const char *pct = memchr(s, '%', n);
    size_t addr_len = pct ? (size_t)(pct - s) : n;
    struct in6_addr ip;
    if (!rsock__ipv6_from_text(s, addr_len, &ip)) {
        *why = "bad IPv6 address";
        return -EINVAL;
    }
    uint32_t scope = 0;
    if (pct) {
        int rc = scope_from_text(pct + 1, n - addr_len - 1, &scope, why);
        if (rc < 0)
            return rc;
    }
    rsock__set_in6(a, &ip, port, scope);
    return 0;
}
