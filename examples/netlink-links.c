/* netlink-links: list the network interfaces with an AF_NETLINK route dump
 * (RTM_GETLINK), the way `ip link` asks the kernel: one "INDEX: NAME" line
 * per interface. */
#include <rsock.h>

#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(what) (fprintf(stderr, "netlink-links: %s: %s\n", what, rsock_error_message()), exit(1))

/* Print one RTM_NEWLINK message's index and IFLA_IFNAME. */
static void print_link(struct nlmsghdr *h)
{
    struct ifinfomsg *ifi = NLMSG_DATA(h);
    int len = (int)h->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
    for (struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == IFLA_IFNAME)
            printf("%d: %s\n", ifi->ifi_index, (char *)RTA_DATA(a));
}

/* Handle one datagram of the dump; 1 when the dump is done. */
static int handle(char *buf, ssize_t n)
{
    for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE)
            return 1;
        if (h->nlmsg_type == NLMSG_ERROR)
            fprintf(stderr, "netlink-links: the kernel refused the dump\n"), exit(1);
        if (h->nlmsg_type == RTM_NEWLINK)
            print_link(h);
    }
    return 0;
}

int main(void)
{
    rsock_t *s;
    rsock_addr kernel;
    if (rsock_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, &s) < 0)
        DIE("socket");
    rsock_addr_init(&kernel, AF_NETLINK); /* pid 0: the kernel */
    struct { struct nlmsghdr h; struct ifinfomsg ifi; } req = {
        .h = {.nlmsg_len = sizeof req, .nlmsg_type = RTM_GETLINK,
              .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = 1},
        .ifi = {.ifi_family = AF_UNSPEC},
    };
    if (rsock_sendto(s, &req, sizeof req, 0, &kernel) < 0)
        DIE("sendto");
    static char buf[32768] __attribute__((aligned(4)));
    for (int done = 0; !done;) {
        ssize_t n = rsock_recv(s, buf, sizeof buf, 0);
        if (n == -EAGAIN) {
            if (rsock_wait_in(s, rsock_after(5000)) < 0)
                DIE("wait");
            continue;
        }
        if (n <= 0)
            DIE("recv");
        done = handle(buf, n);
    }
    rsock_close(s);
    return 0;
}
