/* mcast: join a multicast group on the loopback interface, send a datagram
 * to it and receive it, then leave the group: IPv4 with IP_ADD_MEMBERSHIP /
 * IP_DROP_MEMBERSHIP, then IPv6 with IPV6_ADD_MEMBERSHIP / _DROP_ on
 * interface IF6 (Linux delivers no IPv6 multicast over `lo`: give it an
 * interface with multicast, e.g. one end of a veth pair in a namespace).
 * usage: mcast [GROUP4 [GROUP6 [IF6]]]  (default 239.255.42.99, ff05::4299, lo) */
#include <rsock.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(what) (fprintf(stderr, "mcast: %s: %s\n", what, rsock_error_message()), exit(1))

/* Send `text` from `tx` to `group`, receive it on `rx`, print it. */
static void round_trip(rsock_t *tx, rsock_t *rx, const rsock_addr *group, const char *text)
{
    char buf[64] = "", from[RSOCK_ADDRSTRLEN], to[RSOCK_ADDRSTRLEN];
    if (rsock_sendto(tx, text, strlen(text), 0, group) < 0)
        DIE("sendto group");
    rsock_addr sender;
    ssize_t n;
    while ((n = rsock_recvfrom(rx, buf, sizeof buf - 1, 0, &sender)) == -EAGAIN)
        if (rsock_wait_in(rx, rsock_after(2000)) < 0)
            DIE("no datagram from the group");
    if (n < 0)
        DIE("recvfrom");
    rsock_addr_format(&sender, from, sizeof from);
    rsock_addr_format(group, to, sizeof to);
    printf("received \"%s\" sent to %s from %s\n", buf, to, from);
}

/* A receiving socket bound to the group's port, and a sender; same family. */
static void sockets(int family, const char *any, rsock_addr *group, rsock_t **rx, rsock_t **tx)
{
    rsock_addr bind_to, bound;
    if (rsock_socket(family, SOCK_DGRAM, 0, rx) < 0 || rsock_addr_parse(&bind_to, any) < 0 ||
        rsock_bind(*rx, &bind_to) < 0 || rsock_getsockname(*rx, &bound) < 0 ||
        rsock_socket(family, SOCK_DGRAM, 0, tx) < 0)
        DIE("sockets");
    int port;
    rsock_addr_ip(&bound, NULL, &port);
    if (family == AF_INET)
        group->in.sin_port = htons((uint16_t)port);
    else
        group->in6.sin6_port = htons((uint16_t)port);
}

static void ipv4(const char *group_text)
{
    rsock_t *rx, *tx;
    rsock_addr group;
    if (rsock_addr_in(&group, group_text, 0) < 0)
        DIE("group address");
    sockets(AF_INET, "0.0.0.0:0", &group, &rx, &tx);
    rsock_optval join = {.type = RSOCK_OPT_MREQ};
    join.mreq.group = group.in.sin_addr;
    inet_pton(AF_INET, "127.0.0.1", &join.mreq.iface); /* the loopback interface */
    if (rsock_setsockopt(rx, IPPROTO_IP, IP_ADD_MEMBERSHIP, &join) < 0)
        DIE("IP_ADD_MEMBERSHIP");
    rsock_optval out_if = {.type = RSOCK_OPT_MREQ, .mreq.iface = join.mreq.iface};
    if (rsock_setsockopt(tx, IPPROTO_IP, IP_MULTICAST_IF, &out_if) < 0 ||
        rsock_setsockopt_int(tx, IPPROTO_IP, IP_MULTICAST_LOOP, 1) < 0)
        DIE("IP_MULTICAST_IF");
    round_trip(tx, rx, &group, "hello, IPv4 group");
    if (rsock_setsockopt(rx, IPPROTO_IP, IP_DROP_MEMBERSHIP, &join) < 0)
        DIE("IP_DROP_MEMBERSHIP");
    printf("left %s\n", group_text);
    rsock_close(rx);
    rsock_close(tx);
}

static void ipv6(const char *group_text, const char *ifname)
{
    rsock_t *rx, *tx;
    rsock_addr group;
    unsigned lo = if_nametoindex(ifname);
    if (!lo)
        fprintf(stderr, "mcast: no interface %s\n", ifname), exit(1);
    if (rsock_addr_in6(&group, group_text, 0) < 0)
        DIE("group address");
    sockets(AF_INET6, "[::]:0", &group, &rx, &tx);
    rsock_optval join = {.type = RSOCK_OPT_MREQ6};
    join.mreq6.group = group.in6.sin6_addr;
    join.mreq6.ifindex = lo;
    if (rsock_setsockopt(rx, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &join) < 0)
        DIE("IPV6_ADD_MEMBERSHIP");
    if (rsock_setsockopt_int(tx, IPPROTO_IPV6, IPV6_MULTICAST_IF, (int)lo) < 0 ||
        rsock_setsockopt_int(tx, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1) < 0)
        DIE("IPV6_MULTICAST_IF");
    round_trip(tx, rx, &group, "hello, IPv6 group");
    if (rsock_setsockopt(rx, IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP, &join) < 0)
        DIE("IPV6_DROP_MEMBERSHIP");
    printf("left %s\n", group_text);
    rsock_close(rx);
    rsock_close(tx);
}

int main(int argc, char **argv)
{
    ipv4(argc > 1 ? argv[1] : "239.255.42.99");
    ipv6(argc > 2 ? argv[2] : "ff05::4299", argc > 3 ? argv[3] : "lo");
    return 0;
}
