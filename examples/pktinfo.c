/* pktinfo: a UDP server bound to 0.0.0.0 learns each datagram's destination
 * address from IP_PKTINFO control data (rsock_recvmsg), and answers from
 * that same address with an IP_PKTINFO control message (rsock_sendmsg), as a
 * multi-homed server must.  The client sends to 127.0.0.1 and 127.0.0.2. */
#include <rsock.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(what) (fprintf(stderr, "pktinfo: %s: %s\n", what, rsock_error_message()), exit(1))

typedef union { char buf[CMSG_SPACE(sizeof(struct in_pktinfo))]; struct cmsghdr align; } pktinfo_ctl;

/* Receive one datagram; its sender to *from, its destination to *to. */
static ssize_t receive(rsock_t *s, char *buf, size_t len, rsock_addr *from, struct in_addr *to)
{
    pktinfo_ctl ctl;
    struct iovec iov = {buf, len};
    size_t ctllen = sizeof ctl.buf;
    ssize_t n;
    while ((n = rsock_recvmsg(s, from, &iov, 1, ctl.buf, &ctllen, 0, NULL)) == -EAGAIN)
        if (rsock_wait_in(s, rsock_after(5000)) < 0)
            DIE("wait");
    for (struct cmsghdr *c = ctllen ? &ctl.align : NULL; c; c = NULL)
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO)
            *to = ((struct in_pktinfo *)CMSG_DATA(c))->ipi_addr;
    return n;
}

static void server(void *arg)
{
    rsock_t *s = arg;
    for (int i = 0; i < 2; i++) {
        char buf[64] = "", from_text[RSOCK_ADDRSTRLEN], to_text[INET_ADDRSTRLEN];
        rsock_addr from;
        struct in_addr to = {0};
        if (receive(s, buf, sizeof buf - 1, &from, &to) < 0)
            DIE("recvmsg");
        rsock_addr_format(&from, from_text, sizeof from_text);
        inet_ntop(AF_INET, &to, to_text, sizeof to_text);
        printf("server: \"%s\" from %s to %s\n", buf, from_text, to_text);
        /* Answer from the address the client used: ipi_spec_dst picks the source. */
        pktinfo_ctl ctl;
        memset(&ctl, 0, sizeof ctl);
        ctl.align.cmsg_level = IPPROTO_IP;
        ctl.align.cmsg_type = IP_PKTINFO;
        ctl.align.cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
        ((struct in_pktinfo *)CMSG_DATA(&ctl.align))->ipi_spec_dst = to;
        struct iovec iov = {buf, strlen(buf)};
        if (rsock_sendmsg(s, &from, &iov, 1, ctl.buf, sizeof ctl.buf, 0) < 0)
            DIE("sendmsg");
    }
}

int main(void)
{
    rsock_t *srv, *cli;
    rsock_addr any, bound, dest;
    if (rsock_socket(AF_INET, SOCK_DGRAM, 0, &srv) < 0 || rsock_addr_parse(&any, ":0") < 0 ||
        rsock_bind(srv, &any) < 0 || rsock_getsockname(srv, &bound) < 0)
        DIE("server socket");
    if (rsock_setsockopt_int(srv, IPPROTO_IP, IP_PKTINFO, 1) < 0) /* ask for the control data */
        DIE("IP_PKTINFO");
    int port;
    rsock_addr_ip(&bound, NULL, &port);
    rsock_fiber *f;
    if (rsock_spawn(server, srv, &f) < 0 || rsock_socket(AF_INET, SOCK_DGRAM, 0, &cli) < 0)
        DIE("client");
    const char *targets[] = {"127.0.0.1", "127.0.0.2"};
    for (int i = 0; i < 2; i++) {
        char buf[64] = "", from_text[RSOCK_ADDRSTRLEN];
        rsock_addr from;
        rsock_addr_in(&dest, targets[i], port);
        if (rsock_sendto(cli, targets[i], strlen(targets[i]), 0, &dest) < 0)
            DIE("sendto");
        ssize_t n;
        while ((n = rsock_recvfrom(cli, buf, sizeof buf - 1, 0, &from)) == -EAGAIN)
            if (rsock_wait_in(cli, rsock_after(5000)) < 0)
                DIE("wait for answer");
        rsock_addr_format(&from, from_text, sizeof from_text);
        printf("client: answer \"%s\" came from %s\n", buf, from_text);
    }
    rsock_join(f, rsock_after(5000));
    rsock_close(cli);
    rsock_close(srv);
    return 0;
}
