/* The constants of the reference: its Constants list, then every level and
 * option name of its defsockopt table, in the reference's order.  A name
 * whose macro this platform lacks stays listed, marked unavailable: the
 * reference's #f.  Generated from shared/seed/raw-socket-devices.md; the
 * reference's SO_OOBLINE is the kernel's SO_OOBINLINE. */
#include "internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>

static const rsock_const constants[] = {
#ifdef AF_UNSPEC
    {"AF_UNSPEC", AF_UNSPEC, true},
#else
    {"AF_UNSPEC", 0, false},
#endif
#ifdef AF_INET
    {"AF_INET", AF_INET, true},
#else
    {"AF_INET", 0, false},
#endif
#ifdef AF_INET6
    {"AF_INET6", AF_INET6, true},
#else
    {"AF_INET6", 0, false},
#endif
#ifdef AF_UNIX
    {"AF_UNIX", AF_UNIX, true},
#else
    {"AF_UNIX", 0, false},
#endif
#ifdef AF_LOCAL
    {"AF_LOCAL", AF_LOCAL, true},
#else
    {"AF_LOCAL", 0, false},
#endif
#ifdef AF_NETLINK
    {"AF_NETLINK", AF_NETLINK, true},
#else
    {"AF_NETLINK", 0, false},
#endif
#ifdef AF_PACKET
    {"AF_PACKET", AF_PACKET, true},
#else
    {"AF_PACKET", 0, false},
#endif
#ifdef AF_ALG
    {"AF_ALG", AF_ALG, true},
#else
    {"AF_ALG", 0, false},
#endif
#ifdef SOCK_STREAM
    {"SOCK_STREAM", SOCK_STREAM, true},
#else
    {"SOCK_STREAM", 0, false},
#endif
#ifdef SOCK_DGRAM
    {"SOCK_DGRAM", SOCK_DGRAM, true},
#else
    {"SOCK_DGRAM", 0, false},
#endif
#ifdef SOCK_RAW
    {"SOCK_RAW", SOCK_RAW, true},
#else
    {"SOCK_RAW", 0, false},
#endif
#ifdef SOCK_SEQPACKET
    {"SOCK_SEQPACKET", SOCK_SEQPACKET, true},
#else
    {"SOCK_SEQPACKET", 0, false},
#endif
#ifdef SOCK_RDM
    {"SOCK_RDM", SOCK_RDM, true},
#else
    {"SOCK_RDM", 0, false},
#endif
#ifdef SHUT_RD
    {"SHUT_RD", SHUT_RD, true},
#else
    {"SHUT_RD", 0, false},
#endif
#ifdef SHUT_WR
    {"SHUT_WR", SHUT_WR, true},
#else
    {"SHUT_WR", 0, false},
#endif
#ifdef SHUT_RDWR
    {"SHUT_RDWR", SHUT_RDWR, true},
#else
    {"SHUT_RDWR", 0, false},
#endif
#ifdef UNIX_MAX_PATH
    {"UNIX_MAX_PATH", UNIX_MAX_PATH, true},
#else
    {"UNIX_MAX_PATH", 0, false},
#endif
#ifdef SOL_SOCKET
    {"SOL_SOCKET", SOL_SOCKET, true},
#else
    {"SOL_SOCKET", 0, false},
#endif
#ifdef SO_ACCEPTCONN
    {"SO_ACCEPTCONN", SO_ACCEPTCONN, true},
#else
    {"SO_ACCEPTCONN", 0, false},
#endif
#ifdef SO_BINDTODEVICE
    {"SO_BINDTODEVICE", SO_BINDTODEVICE, true},
#else
    {"SO_BINDTODEVICE", 0, false},
#endif
#ifdef SO_BROADCAST
    {"SO_BROADCAST", SO_BROADCAST, true},
#else
    {"SO_BROADCAST", 0, false},
#endif
#ifdef SO_DEBUG
    {"SO_DEBUG", SO_DEBUG, true},
#else
    {"SO_DEBUG", 0, false},
#endif
#ifdef SO_DOMAIN
    {"SO_DOMAIN", SO_DOMAIN, true},
#else
    {"SO_DOMAIN", 0, false},
#endif
#ifdef SO_DONTROUTE
    {"SO_DONTROUTE", SO_DONTROUTE, true},
#else
    {"SO_DONTROUTE", 0, false},
#endif
#ifdef SO_ERROR
    {"SO_ERROR", SO_ERROR, true},
#else
    {"SO_ERROR", 0, false},
#endif
#ifdef SO_KEEPALIVE
    {"SO_KEEPALIVE", SO_KEEPALIVE, true},
#else
    {"SO_KEEPALIVE", 0, false},
#endif
#ifdef SO_LINGER
    {"SO_LINGER", SO_LINGER, true},
#else
    {"SO_LINGER", 0, false},
#endif
#ifdef SO_OOBINLINE
    {"SO_OOBLINE", SO_OOBINLINE, true},
#else
    {"SO_OOBLINE", 0, false},
#endif
#ifdef SO_PASSCRED
    {"SO_PASSCRED", SO_PASSCRED, true},
#else
    {"SO_PASSCRED", 0, false},
#endif
#ifdef SO_PEERCRED
    {"SO_PEERCRED", SO_PEERCRED, true},
#else
    {"SO_PEERCRED", 0, false},
#endif
#ifdef SO_PEEK_OFF
    {"SO_PEEK_OFF", SO_PEEK_OFF, true},
#else
    {"SO_PEEK_OFF", 0, false},
#endif
#ifdef SO_PROTOCOL
    {"SO_PROTOCOL", SO_PROTOCOL, true},
#else
    {"SO_PROTOCOL", 0, false},
#endif
#ifdef SO_RCVBUF
    {"SO_RCVBUF", SO_RCVBUF, true},
#else
    {"SO_RCVBUF", 0, false},
#endif
#ifdef SO_SNDBUF
    {"SO_SNDBUF", SO_SNDBUF, true},
#else
    {"SO_SNDBUF", 0, false},
#endif
#ifdef SO_RCVLOWAT
    {"SO_RCVLOWAT", SO_RCVLOWAT, true},
#else
    {"SO_RCVLOWAT", 0, false},
#endif
#ifdef SO_SNDLOWAT
    {"SO_SNDLOWAT", SO_SNDLOWAT, true},
#else
    {"SO_SNDLOWAT", 0, false},
#endif
#ifdef SO_RCVTIMEO
    {"SO_RCVTIMEO", SO_RCVTIMEO, true},
#else
    {"SO_RCVTIMEO", 0, false},
#endif
#ifdef SO_SNDTIMEO
    {"SO_SNDTIMEO", SO_SNDTIMEO, true},
#else
    {"SO_SNDTIMEO", 0, false},
#endif
#ifdef SO_REUSEADDR
    {"SO_REUSEADDR", SO_REUSEADDR, true},
#else
    {"SO_REUSEADDR", 0, false},
#endif
#ifdef SO_REUSEPORT
    {"SO_REUSEPORT", SO_REUSEPORT, true},
#else
    {"SO_REUSEPORT", 0, false},
#endif
#ifdef SO_TYPE
    {"SO_TYPE", SO_TYPE, true},
#else
    {"SO_TYPE", 0, false},
#endif
#ifdef SO_TIMESTAMP
    {"SO_TIMESTAMP", SO_TIMESTAMP, true},
#else
    {"SO_TIMESTAMP", 0, false},
#endif
#ifdef SO_USELOOPBACK
    {"SO_USELOOPBACK", SO_USELOOPBACK, true},
#else
    {"SO_USELOOPBACK", 0, false},
#endif
#ifdef IPPROTO_IPV6
    {"IPPROTO_IPV6", IPPROTO_IPV6, true},
#else
    {"IPPROTO_IPV6", 0, false},
#endif
#ifdef IPV6_ADDRFORM
    {"IPV6_ADDRFORM", IPV6_ADDRFORM, true},
#else
    {"IPV6_ADDRFORM", 0, false},
#endif
#ifdef IPV6_ADD_MEMBERSHIP
    {"IPV6_ADD_MEMBERSHIP", IPV6_ADD_MEMBERSHIP, true},
#else
    {"IPV6_ADD_MEMBERSHIP", 0, false},
#endif
#ifdef IPV6_DROP_MEMBERSHIP
    {"IPV6_DROP_MEMBERSHIP", IPV6_DROP_MEMBERSHIP, true},
#else
    {"IPV6_DROP_MEMBERSHIP", 0, false},
#endif
#ifdef IPV6_MTU
    {"IPV6_MTU", IPV6_MTU, true},
#else
    {"IPV6_MTU", 0, false},
#endif
#ifdef IPV6_MTU_DISCOVER
    {"IPV6_MTU_DISCOVER", IPV6_MTU_DISCOVER, true},
#else
    {"IPV6_MTU_DISCOVER", 0, false},
#endif
#ifdef IPV6_MULTICAST_HOPS
    {"IPV6_MULTICAST_HOPS", IPV6_MULTICAST_HOPS, true},
#else
    {"IPV6_MULTICAST_HOPS", 0, false},
#endif
#ifdef IPV6_MULTICAST_IF
    {"IPV6_MULTICAST_IF", IPV6_MULTICAST_IF, true},
#else
    {"IPV6_MULTICAST_IF", 0, false},
#endif
#ifdef IPV6_MULTICAST_LOOP
    {"IPV6_MULTICAST_LOOP", IPV6_MULTICAST_LOOP, true},
#else
    {"IPV6_MULTICAST_LOOP", 0, false},
#endif
#ifdef IPV6_RECVPKTINFO
    {"IPV6_RECVPKTINFO", IPV6_RECVPKTINFO, true},
#else
    {"IPV6_RECVPKTINFO", 0, false},
#endif
#ifdef IPV6_RTHDR
    {"IPV6_RTHDR", IPV6_RTHDR, true},
#else
    {"IPV6_RTHDR", 0, false},
#endif
#ifdef IPV6_AUTHHDR
    {"IPV6_AUTHHDR", IPV6_AUTHHDR, true},
#else
    {"IPV6_AUTHHDR", 0, false},
#endif
#ifdef IPV6_DSTOPTS
    {"IPV6_DSTOPTS", IPV6_DSTOPTS, true},
#else
    {"IPV6_DSTOPTS", 0, false},
#endif
#ifdef IPV6_HOPOPTS
    {"IPV6_HOPOPTS", IPV6_HOPOPTS, true},
#else
    {"IPV6_HOPOPTS", 0, false},
#endif
#ifdef IPV6_FLOWINFO
    {"IPV6_FLOWINFO", IPV6_FLOWINFO, true},
#else
    {"IPV6_FLOWINFO", 0, false},
#endif
#ifdef IPV6_HOPLIMIT
    {"IPV6_HOPLIMIT", IPV6_HOPLIMIT, true},
#else
    {"IPV6_HOPLIMIT", 0, false},
#endif
#ifdef IPV6_ROUTER_ALERT
    {"IPV6_ROUTER_ALERT", IPV6_ROUTER_ALERT, true},
#else
    {"IPV6_ROUTER_ALERT", 0, false},
#endif
#ifdef IPV6_UNICAST_HOPS
    {"IPV6_UNICAST_HOPS", IPV6_UNICAST_HOPS, true},
#else
    {"IPV6_UNICAST_HOPS", 0, false},
#endif
#ifdef IPV6_V6ONLY
    {"IPV6_V6ONLY", IPV6_V6ONLY, true},
#else
    {"IPV6_V6ONLY", 0, false},
#endif
#ifdef IPPROTO_TCP
    {"IPPROTO_TCP", IPPROTO_TCP, true},
#else
    {"IPPROTO_TCP", 0, false},
#endif
#ifdef TCP_CONGESTION
    {"TCP_CONGESTION", TCP_CONGESTION, true},
#else
    {"TCP_CONGESTION", 0, false},
#endif
#ifdef TCP_CORK
    {"TCP_CORK", TCP_CORK, true},
#else
    {"TCP_CORK", 0, false},
#endif
#ifdef TCP_DEFER_ACCEPT
    {"TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT, true},
#else
    {"TCP_DEFER_ACCEPT", 0, false},
#endif
#ifdef TCP_KEEPCNT
    {"TCP_KEEPCNT", TCP_KEEPCNT, true},
#else
    {"TCP_KEEPCNT", 0, false},
#endif
#ifdef TCP_KEEPIDLE
    {"TCP_KEEPIDLE", TCP_KEEPIDLE, true},
#else
    {"TCP_KEEPIDLE", 0, false},
#endif
#ifdef TCP_KEEPINTVL
    {"TCP_KEEPINTVL", TCP_KEEPINTVL, true},
#else
    {"TCP_KEEPINTVL", 0, false},
#endif
#ifdef TCP_MAXSEG
    {"TCP_MAXSEG", TCP_MAXSEG, true},
#else
    {"TCP_MAXSEG", 0, false},
#endif
#ifdef TCP_NODELAY
    {"TCP_NODELAY", TCP_NODELAY, true},
#else
    {"TCP_NODELAY", 0, false},
#endif
#ifdef TCP_SYNCNT
    {"TCP_SYNCNT", TCP_SYNCNT, true},
#else
    {"TCP_SYNCNT", 0, false},
#endif
#ifdef IP_PMTUDISC_WANT
    {"IP_PMTUDISC_WANT", IP_PMTUDISC_WANT, true},
#else
    {"IP_PMTUDISC_WANT", 0, false},
#endif
#ifdef IP_PMTUDISC_DONT
    {"IP_PMTUDISC_DONT", IP_PMTUDISC_DONT, true},
#else
    {"IP_PMTUDISC_DONT", 0, false},
#endif
#ifdef IP_PMTUDISC_DO
    {"IP_PMTUDISC_DO", IP_PMTUDISC_DO, true},
#else
    {"IP_PMTUDISC_DO", 0, false},
#endif
#ifdef IP_PMTUDISC_PROBE
    {"IP_PMTUDISC_PROBE", IP_PMTUDISC_PROBE, true},
#else
    {"IP_PMTUDISC_PROBE", 0, false},
#endif
#ifdef IPTOS_LOWDELAY
    {"IPTOS_LOWDELAY", IPTOS_LOWDELAY, true},
#else
    {"IPTOS_LOWDELAY", 0, false},
#endif
#ifdef IPTOS_THROUGHPUT
    {"IPTOS_THROUGHPUT", IPTOS_THROUGHPUT, true},
#else
    {"IPTOS_THROUGHPUT", 0, false},
#endif
#ifdef IPTOS_RELIABILITY
    {"IPTOS_RELIABILITY", IPTOS_RELIABILITY, true},
#else
    {"IPTOS_RELIABILITY", 0, false},
#endif
#ifdef IPTOS_MINCOST
    {"IPTOS_MINCOST", IPTOS_MINCOST, true},
#else
    {"IPTOS_MINCOST", 0, false},
#endif
#ifdef MSG_CONFIRM
    {"MSG_CONFIRM", MSG_CONFIRM, true},
#else
    {"MSG_CONFIRM", 0, false},
#endif
#ifdef MSG_CTRUNC
    {"MSG_CTRUNC", MSG_CTRUNC, true},
#else
    {"MSG_CTRUNC", 0, false},
#endif
#ifdef MSG_DONTROUTE
    {"MSG_DONTROUTE", MSG_DONTROUTE, true},
#else
    {"MSG_DONTROUTE", 0, false},
#endif
#ifdef MSG_DONTWAIT
    {"MSG_DONTWAIT", MSG_DONTWAIT, true},
#else
    {"MSG_DONTWAIT", 0, false},
#endif
#ifdef MSG_EOR
    {"MSG_EOR", MSG_EOR, true},
#else
    {"MSG_EOR", 0, false},
#endif
#ifdef MSG_ERRQUEUE
    {"MSG_ERRQUEUE", MSG_ERRQUEUE, true},
#else
    {"MSG_ERRQUEUE", 0, false},
#endif
#ifdef MSG_MORE
    {"MSG_MORE", MSG_MORE, true},
#else
    {"MSG_MORE", 0, false},
#endif
#ifdef MSG_NOSIGNAL
    {"MSG_NOSIGNAL", MSG_NOSIGNAL, true},
#else
    {"MSG_NOSIGNAL", 0, false},
#endif
#ifdef MSG_OOB
    {"MSG_OOB", MSG_OOB, true},
#else
    {"MSG_OOB", 0, false},
#endif
#ifdef MSG_PEEK
    {"MSG_PEEK", MSG_PEEK, true},
#else
    {"MSG_PEEK", 0, false},
#endif
#ifdef MSG_TRUNC
    {"MSG_TRUNC", MSG_TRUNC, true},
#else
    {"MSG_TRUNC", 0, false},
#endif
#ifdef MSG_WAITALL
    {"MSG_WAITALL", MSG_WAITALL, true},
#else
    {"MSG_WAITALL", 0, false},
#endif
#ifdef IPPROTO_IP
    {"IPPROTO_IP", IPPROTO_IP, true},
#else
    {"IPPROTO_IP", 0, false},
#endif
#ifdef IP_ADD_MEMBERSHIP
    {"IP_ADD_MEMBERSHIP", IP_ADD_MEMBERSHIP, true},
#else
    {"IP_ADD_MEMBERSHIP", 0, false},
#endif
#ifdef IP_DROP_MEMBERSHIP
    {"IP_DROP_MEMBERSHIP", IP_DROP_MEMBERSHIP, true},
#else
    {"IP_DROP_MEMBERSHIP", 0, false},
#endif
#ifdef IP_ADD_SOURCE_MEMBERSHIP
    {"IP_ADD_SOURCE_MEMBERSHIP", IP_ADD_SOURCE_MEMBERSHIP, true},
#else
    {"IP_ADD_SOURCE_MEMBERSHIP", 0, false},
#endif
#ifdef IP_DROP_SOURCE_MEMBERSHIP
    {"IP_DROP_SOURCE_MEMBERSHIP", IP_DROP_SOURCE_MEMBERSHIP, true},
#else
    {"IP_DROP_SOURCE_MEMBERSHIP", 0, false},
#endif
#ifdef IP_BLOCK_SOURCE
    {"IP_BLOCK_SOURCE", IP_BLOCK_SOURCE, true},
#else
    {"IP_BLOCK_SOURCE", 0, false},
#endif
#ifdef IP_UNBLOCK_SOURCE
    {"IP_UNBLOCK_SOURCE", IP_UNBLOCK_SOURCE, true},
#else
    {"IP_UNBLOCK_SOURCE", 0, false},
#endif
#ifdef IP_FREEBIND
    {"IP_FREEBIND", IP_FREEBIND, true},
#else
    {"IP_FREEBIND", 0, false},
#endif
#ifdef IP_HDRINCL
    {"IP_HDRINCL", IP_HDRINCL, true},
#else
    {"IP_HDRINCL", 0, false},
#endif
#ifdef IP_MTU
    {"IP_MTU", IP_MTU, true},
#else
    {"IP_MTU", 0, false},
#endif
#ifdef IP_MTU_DISCOVER
    {"IP_MTU_DISCOVER", IP_MTU_DISCOVER, true},
#else
    {"IP_MTU_DISCOVER", 0, false},
#endif
#ifdef IP_MULTICAST_ALL
    {"IP_MULTICAST_ALL", IP_MULTICAST_ALL, true},
#else
    {"IP_MULTICAST_ALL", 0, false},
#endif
#ifdef IP_MULTICAST_IF
    {"IP_MULTICAST_IF", IP_MULTICAST_IF, true},
#else
    {"IP_MULTICAST_IF", 0, false},
#endif
#ifdef IP_MULTICAST_LOOP
    {"IP_MULTICAST_LOOP", IP_MULTICAST_LOOP, true},
#else
    {"IP_MULTICAST_LOOP", 0, false},
#endif
#ifdef IP_MULTICAST_TTL
    {"IP_MULTICAST_TTL", IP_MULTICAST_TTL, true},
#else
    {"IP_MULTICAST_TTL", 0, false},
#endif
#ifdef IP_NODEFRAG
    {"IP_NODEFRAG", IP_NODEFRAG, true},
#else
    {"IP_NODEFRAG", 0, false},
#endif
#ifdef IP_OPTIONS
    {"IP_OPTIONS", IP_OPTIONS, true},
#else
    {"IP_OPTIONS", 0, false},
#endif
#ifdef IP_PKTINFO
    {"IP_PKTINFO", IP_PKTINFO, true},
#else
    {"IP_PKTINFO", 0, false},
#endif
#ifdef IP_RECVERR
    {"IP_RECVERR", IP_RECVERR, true},
#else
    {"IP_RECVERR", 0, false},
#endif
#ifdef IP_RECVORIGDSTADDR
    {"IP_RECVORIGDSTADDR", IP_RECVORIGDSTADDR, true},
#else
    {"IP_RECVORIGDSTADDR", 0, false},
#endif
#ifdef IP_RECVOPTS
    {"IP_RECVOPTS", IP_RECVOPTS, true},
#else
    {"IP_RECVOPTS", 0, false},
#endif
#ifdef IP_RECVTOS
    {"IP_RECVTOS", IP_RECVTOS, true},
#else
    {"IP_RECVTOS", 0, false},
#endif
#ifdef IP_RECVTTL
    {"IP_RECVTTL", IP_RECVTTL, true},
#else
    {"IP_RECVTTL", 0, false},
#endif
#ifdef IP_RETOPTS
    {"IP_RETOPTS", IP_RETOPTS, true},
#else
    {"IP_RETOPTS", 0, false},
#endif
#ifdef IP_ROUTER_ALERT
    {"IP_ROUTER_ALERT", IP_ROUTER_ALERT, true},
#else
    {"IP_ROUTER_ALERT", 0, false},
#endif
#ifdef IP_TOS
    {"IP_TOS", IP_TOS, true},
#else
    {"IP_TOS", 0, false},
#endif
#ifdef IP_TTL
    {"IP_TTL", IP_TTL, true},
#else
    {"IP_TTL", 0, false},
#endif
};

const rsock_const *rsock_const_table(size_t *count)
{
    if (count)
        *count = sizeof constants / sizeof constants[0];
    return constants;
}

int rsock_const_lookup(const char *name, int *value)
{
    if (!name || !value)
        return rsock__fail(EINVAL, "rsock_const_lookup: NULL %s", name ? "value" : "name");
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++) {
        if (strcmp(constants[i].name, name) != 0)
            continue;
        if (!constants[i].available)
            return rsock__fail(ENOTSUP, "rsock_const_lookup \"%s\": not on this platform", name);
        *value = constants[i].value;
        return 0;
    }
    return rsock__fail(ENOENT, "rsock_const_lookup \"%s\": not a constant of the reference", name);
}
