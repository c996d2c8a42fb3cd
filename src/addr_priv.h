/* Shared by the address sources (addr.c, addr_inet.c, addr_parse.c,
 * addr_format.c); not installed.  Text arrives as (pointer, length) slices
 * so the grammar can cut host, port and scope out of one string without
 * copying. */
#ifndef RSOCK_ADDR_PRIV_H
#define RSOCK_ADDR_PRIV_H

#include "internal.h"

#include <stdbool.h>
#include <stddef.h>

/* At most this many bytes of caller text are quoted in an error message. */
#define RSOCK__TEXT_SHOWN 160

/* Longest IPv6 text without scope: "ffff:...:ffff" or "::ffff:1.2.3.4". */
#define RSOCK__IPV6_TEXT 46

/* Exactly four decimal parts 0..255 without leading zeros. */
bool rsock__ipv4_from_text(const char *s, size_t n, struct in_addr *out);
/* RFC 4291 text: 8 groups, one "::", an optional dotted-quad tail. */
bool rsock__ipv6_from_text(const char *s, size_t n, struct in6_addr *out);
/* A port: 1 to 5 decimal digits, 0..65535.  The port, or -1. */
int rsock__port_from_text(const char *s, size_t n);
/* An unsigned 32-bit decimal: 1 to 10 digits, no sign. */
bool rsock__u32_from_text(const char *s, size_t n, uint32_t *out);

/* Fill `a` (already zeroed) from numbers. */
void rsock__set_in(rsock_addr *a, const struct in_addr *ip, int port);
void rsock__set_in6(rsock_addr *a, const struct in6_addr *ip, int port, uint32_t scope);

/* IPv6 text with an optional "%scope" (interface name or number) and a
 * port.  0, or -EINVAL / -ENODEV with the reason in *why. */
int rsock__in6_from_text(rsock_addr *a, const char *s, size_t n, int port, const char **why);

/* A Unix address from a NUL-terminated path; with abstract_ok a leading
 * '@' names the abstract namespace.  0, or -EINVAL / -ENAMETOOLONG with
 * the reason in *why. */
int rsock__set_un(rsock_addr *a, const char *path, bool abstract_ok, const char **why);

/* A Unix name from its text (addr_unix.c): escapes \xHH and \\ decoded;
 * with abstract, the name after the '@' (at most UNIX_MAX_PATH - 1 bytes),
 * else a path of 1 to UNIX_MAX_PATH bytes without NUL.  0, or -EINVAL /
 * -ENAMETOOLONG with the reason in *why. */
int rsock__unix_from_text(rsock_addr *a, const char *text, bool abstract, const char **why);

/* Unix name bytes written as they are; any other is written \xHH. */
static inline bool rsock__unix_byte_plain(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '\\';
}

/* Where an AF_PACKET address's hardware address starts, and how many bytes
 * an rsock_addr holds there (sll_addr is declared 8 bytes; the kernel
 * reports longer ones, e.g. InfiniBand's 20, in the bytes after it). */
#define RSOCK__LL_ADDR_OFF offsetof(struct sockaddr_ll, sll_addr)
#define RSOCK__LL_ADDR_MAX (sizeof(struct sockaddr_storage) - RSOCK__LL_ADDR_OFF)

/* The same address as far as the kernel can tell: the fields each family's
 * text carries (addr.c).  Both must be valid. */
bool rsock__addr_same(const rsock_addr *a, const rsock_addr *b);

/* RFC 5952 text of an IPv6 address (no scope) into out; its length. */
size_t rsock__ipv6_to_text(const struct in6_addr *ip, char out[RSOCK__IPV6_TEXT]);

#endif
