/* The PROXY protocol (haproxy's doc/proxy-protocol.txt), versions 1 and 2:
 * the header a load balancer writes at the start of a connection so the
 * server behind it learns the client's address.  pp_build and pp_parse are
 * pure functions on rsock_addr; pp_read takes exactly one header off a
 * client stream, never a byte of what follows. */
#ifndef RSOCK_PROXY_PROTO_H
#define RSOCK_PROXY_PROTO_H

#include <rsock.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest version 1 line, CRLF included (spec 2.1). */
#define PP_V1_MAX 107
/* Version 2: the fixed part, and the largest header (the length is 16 bits). */
#define PP_V2_FIXED 16
#define PP_V2_MAX (PP_V2_FIXED + 65535)
/* Room pp_build ever needs: a v1 TCP6 line is at most 104 bytes, a v2
 * header 52 (TCP6; Unix clients are sent as LOCAL, without addresses). */
#define PP_BUILD_MAX 108

/* A parsed header. */
struct pp_header {
    int version; /* 1 or 2 */
    /* No client address to use: v2 LOCAL (a health check), v1 UNKNOWN, or
     * v2 PROXY with an unspecified family.  The connection's own addresses
     * stand; src and dst are AF_UNSPEC (zeroed). */
    bool local;
    int transport;       /* SOCK_STREAM or SOCK_DGRAM (v2 may say UDP); 0 when local */
    rsock_addr src, dst; /* the client and the address it reached */
    const char *reason;  /* why it was refused (static text), else NULL */
};

/* Write a header for a connection from `src` to `dst` into buf (`cap`
 * bytes; PP_BUILD_MAX always suffices): version 1 or 2.  Both addresses IP
 * (an IPv4 one beside an IPv6 one is written v4-mapped): "PROXY TCP4|TCP6
 * ..." or v2 PROXY/STREAM.  Any other family (a Unix client): "PROXY
 * UNKNOWN\r\n", or v2 LOCAL with family UNSPEC.  `local` (a health check)
 * makes v2 LOCAL; v1 has no such command, so it writes the addresses given
 * (the spec advises the check connection's own pair) or, with src or dst
 * NULL, UNKNOWN.  Returns the header's length.  Errors:
 * -EINVAL (another version, NULL buf, NULL address when not local),
 * -ENOSPC (cap too small). */
int pp_build(int version, const rsock_addr *src, const rsock_addr *dst, bool local, char *buf,
             size_t cap);

/* Parse a header at the start of buf (`len` bytes; buf may hold data after
 * it), version detected from the signature.  Returns the header's length
 * (> 0), 0 when the bytes are a valid beginning of a header but not all of
 * it (read more), or -EPROTO when they cannot begin or be a header
 * (out->reason says why; -EINVAL for a NULL out or NULL buf with len > 0).
 * Refused: a v1 line without CRLF in PP_V1_MAX bytes, a lone CR or LF,
 * not exactly one space between fields, another protocol than TCP4, TCP6 or
 * UNKNOWN, an address not of the protocol's family (dotted quads without
 * leading zeros; IPv6 text), ports not 0..65535 in decimal without leading
 * zeros; v2: another signature, version or command, a family or transport
 * the spec does not name, a length shorter than the family's addresses, a
 * TLV that runs past the header.  TLVs are checked and skipped. */
int pp_parse(const void *buf, size_t len, struct pp_header *out);

/* In a fiber: read one header from `client`, exactly its bytes (what the
 * client sent after it stays unread, for the relay), by `deadline`.
 * Returns the header's length.  Errors (out->reason says which):
 * -EPROTO (a malformed header, or not a PROXY header at all), -ETIMEDOUT
 * (no complete header by the deadline), -EPIPE (the client closed first),
 * -ENOMEM (a v2 header with more TLVs than the stack buffer holds and no
 * memory), the kernel's (-ECONNRESET, ...), -ECANCELED, -EINVAL (a NULL). */
int pp_read(rsock_t *client, int64_t deadline, struct pp_header *out);

#endif
