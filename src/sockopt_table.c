/* The option table: one row per defsockopt line of the reference, with the
 * types its get and set take.  Deviations from the reference, each because
 * the kernel does otherwise (doc/sockopt-table.md lists them):
 *  - options the kernel only reports are get-only: SO_ACCEPTCONN, SO_DOMAIN,
 *    SO_ERROR, SO_PEERCRED, SO_PROTOCOL, SO_TYPE, IP_MTU, and SO_SNDLOWAT
 *    (fixed at 1 on Linux: setting it is ENOPROTOOPT);
 *  - SO_PEERCRED reads as a struct ucred, not bytes;
 *  - SO_OOBLINE is the kernel's SO_OOBINLINE (found under both names);
 *  - TCP_CONGESTION and IP_MULTICAST_IF can also be read;
 *  - IP_PKTINFO is an int flag on Linux (it asks for IP_PKTINFO control
 *    messages), not bytes;
 *  - IPV6_RTHDR, IPV6_DSTOPTS and IPV6_HOPOPTS take the extension header
 *    itself on Linux (RFC 3542 sticky options), so bytes, not int;
 *  - rows whose macro the platform lacks (SO_USELOOPBACK, IPV6_FLOWINFO on
 *    glibc) are compiled out.
 *  - beyond the reference, rows for the options rsock's typed control data
 *    asks for: SO_TIMESTAMPNS, SO_TIMESTAMPING, SO_RXQ_OVFL, IPV6_RECVERR,
 *    IPV6_RECVHOPLIMIT, IPV6_RECVTCLASS, IPV6_TCLASS, UDP_SEGMENT, UDP_GRO,
 *    and TCP_INFO (get-only bytes; decoded by rsock_get_tcp_info);
 *  - and for transparent proxies: IP_TRANSPARENT, IPV6_TRANSPARENT (int),
 *    SO_ORIGINAL_DST and IP6T_SO_ORIGINAL_DST (get-only addr: the kernel
 *    writes a sockaddr_in / sockaddr_in6 and leaves the length as given). */
#include "internal.h"

#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <string.h>

#define ROW(level, opt, get, set) {level, opt, #opt, RSOCK_OPT_##get, RSOCK_OPT_##set}

static const rsock_sockopt rows[] = {
    ROW(SOL_SOCKET, SO_ACCEPTCONN, INT, NONE),
    ROW(SOL_SOCKET, SO_BINDTODEVICE, BYTES, BYTES),
    ROW(SOL_SOCKET, SO_BROADCAST, INT, INT),
    ROW(SOL_SOCKET, SO_DEBUG, INT, INT),
    ROW(SOL_SOCKET, SO_DOMAIN, INT, NONE),
    ROW(SOL_SOCKET, SO_DONTROUTE, INT, INT),
    ROW(SOL_SOCKET, SO_ERROR, INT, NONE),
    ROW(SOL_SOCKET, SO_KEEPALIVE, INT, INT),
    ROW(SOL_SOCKET, SO_LINGER, LINGER, LINGER),
    ROW(SOL_SOCKET, SO_OOBINLINE, INT, INT),
    ROW(SOL_SOCKET, SO_PASSCRED, INT, INT),
    ROW(SOL_SOCKET, SO_PEERCRED, UCRED, NONE),
    ROW(SOL_SOCKET, SO_PEEK_OFF, INT, INT),
    ROW(SOL_SOCKET, SO_PROTOCOL, INT, NONE),
    ROW(SOL_SOCKET, SO_RCVBUF, INT, INT),
    ROW(SOL_SOCKET, SO_SNDBUF, INT, INT),
    ROW(SOL_SOCKET, SO_RCVLOWAT, INT, INT),
    ROW(SOL_SOCKET, SO_SNDLOWAT, INT, NONE),
    ROW(SOL_SOCKET, SO_RCVTIMEO, TIMEVAL, TIMEVAL),
    ROW(SOL_SOCKET, SO_SNDTIMEO, TIMEVAL, TIMEVAL),
    ROW(SOL_SOCKET, SO_REUSEADDR, INT, INT),
    ROW(SOL_SOCKET, SO_REUSEPORT, INT, INT),
    ROW(SOL_SOCKET, SO_TYPE, INT, NONE),
    ROW(SOL_SOCKET, SO_TIMESTAMP, INT, INT),
    /* beyond the reference: the options of rsock's typed control data */
    ROW(SOL_SOCKET, SO_TIMESTAMPNS, INT, INT),
    ROW(SOL_SOCKET, SO_TIMESTAMPING, INT, INT),
    ROW(SOL_SOCKET, SO_RXQ_OVFL, INT, INT),
#ifdef SO_USELOOPBACK
    ROW(SOL_SOCKET, SO_USELOOPBACK, INT, INT),
#endif
    ROW(IPPROTO_IP, IP_ADD_MEMBERSHIP, NONE, MREQ),
    ROW(IPPROTO_IP, IP_DROP_MEMBERSHIP, NONE, MREQ),
    ROW(IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP, NONE, MREQ_SRC),
    ROW(IPPROTO_IP, IP_DROP_SOURCE_MEMBERSHIP, NONE, MREQ_SRC),
    ROW(IPPROTO_IP, IP_BLOCK_SOURCE, NONE, MREQ_SRC),
    ROW(IPPROTO_IP, IP_UNBLOCK_SOURCE, NONE, MREQ_SRC),
    ROW(IPPROTO_IP, IP_FREEBIND, INT, INT),
    ROW(IPPROTO_IP, IP_HDRINCL, INT, INT),
    ROW(IPPROTO_IP, IP_MTU, INT, NONE),
    ROW(IPPROTO_IP, IP_MTU_DISCOVER, INT, INT),
    ROW(IPPROTO_IP, IP_MULTICAST_ALL, INT, INT),
    ROW(IPPROTO_IP, IP_MULTICAST_IF, MREQ, MREQ),
    ROW(IPPROTO_IP, IP_MULTICAST_LOOP, INT, INT),
    ROW(IPPROTO_IP, IP_MULTICAST_TTL, INT, INT),
    ROW(IPPROTO_IP, IP_NODEFRAG, INT, INT),
    ROW(IPPROTO_IP, IP_OPTIONS, BYTES, BYTES),
    ROW(IPPROTO_IP, IP_PKTINFO, INT, INT),
    ROW(IPPROTO_IP, IP_RECVERR, INT, INT),
    ROW(IPPROTO_IP, IP_RECVORIGDSTADDR, INT, INT),
    ROW(IPPROTO_IP, IP_RECVOPTS, INT, INT),
    ROW(IPPROTO_IP, IP_RECVTOS, INT, INT),
    ROW(IPPROTO_IP, IP_RECVTTL, INT, INT),
    ROW(IPPROTO_IP, IP_RETOPTS, INT, INT),
    ROW(IPPROTO_IP, IP_ROUTER_ALERT, INT, INT),
    ROW(IPPROTO_IP, IP_TOS, INT, INT),
    ROW(IPPROTO_IP, IP_TTL, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_ADDRFORM, NONE, INT),
    ROW(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, NONE, MREQ6),
    ROW(IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, NONE, MREQ6),
    ROW(IPPROTO_IPV6, IPV6_MTU, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_MTU_DISCOVER, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_MULTICAST_IF, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_RECVPKTINFO, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_RTHDR, BYTES, BYTES),
    ROW(IPPROTO_IPV6, IPV6_AUTHHDR, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_DSTOPTS, BYTES, BYTES),
    ROW(IPPROTO_IPV6, IPV6_HOPOPTS, BYTES, BYTES),
#ifdef IPV6_FLOWINFO
    ROW(IPPROTO_IPV6, IPV6_FLOWINFO, INT, INT),
#endif
    ROW(IPPROTO_IPV6, IPV6_HOPLIMIT, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_ROUTER_ALERT, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_UNICAST_HOPS, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_V6ONLY, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_RECVERR, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_RECVTCLASS, INT, INT),
    ROW(IPPROTO_IPV6, IPV6_TCLASS, INT, INT),
    ROW(IPPROTO_TCP, TCP_CONGESTION, BYTES, BYTES),
    ROW(IPPROTO_TCP, TCP_CORK, INT, INT),
    ROW(IPPROTO_TCP, TCP_DEFER_ACCEPT, INT, INT),
    ROW(IPPROTO_TCP, TCP_KEEPCNT, INT, INT),
    ROW(IPPROTO_TCP, TCP_KEEPIDLE, INT, INT),
    ROW(IPPROTO_TCP, TCP_KEEPINTVL, INT, INT),
    ROW(IPPROTO_TCP, TCP_MAXSEG, INT, INT),
    ROW(IPPROTO_TCP, TCP_NODELAY, INT, INT),
    ROW(IPPROTO_TCP, TCP_SYNCNT, INT, INT),
    ROW(IPPROTO_TCP, TCP_INFO, BYTES, NONE), /* decoded: rsock_get_tcp_info */
    ROW(IPPROTO_UDP, UDP_SEGMENT, INT, INT), /* GSO segment size: rsock_send_gso */
    ROW(IPPROTO_UDP, UDP_GRO, INT, INT),
    ROW(IPPROTO_IP, IP_TRANSPARENT, INT, INT),       /* TPROXY: CAP_NET_ADMIN */
    ROW(IPPROTO_IPV6, IPV6_TRANSPARENT, INT, INT),
    ROW(IPPROTO_IP, SO_ORIGINAL_DST, ADDR, NONE),    /* netfilter's, before NAT */
    ROW(IPPROTO_IPV6, IP6T_SO_ORIGINAL_DST, ADDR, NONE),
};

#define ROW_COUNT (sizeof rows / sizeof rows[0])

const rsock_sockopt *rsock_sockopt_table(size_t *count)
{
    if (count)
        *count = ROW_COUNT;
    return rows;
}

const rsock_sockopt *rsock_sockopt_find(int level, int opt)
{
    for (size_t i = 0; i < ROW_COUNT; i++)
        if (rows[i].level == level && rows[i].opt == opt)
            return &rows[i];
    return NULL;
}

const rsock_sockopt *rsock_sockopt_by_name(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "SO_OOBLINE") == 0) /* the reference's spelling */
        name = "SO_OOBINLINE";
    for (size_t i = 0; i < ROW_COUNT; i++)
        if (strcmp(rows[i].name, name) == 0)
            return &rows[i];
    return NULL;
}

const char *rsock_opttype_name(rsock_opttype t)
{
    static const char *const names[] = {"none",   "int",      "bytes", "linger", "timeval",
                                        "mreq",   "mreq-src", "mreq6", "ucred",  "addr"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}
