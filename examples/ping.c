/* ping: one ICMP echo to 127.0.0.1 over a SOCK_RAW socket, waiting for the
 * reply with a deadline.  Raw sockets need CAP_NET_RAW: without it, ping
 * says so and exits with 77 (the conventional "skipped" status). */
#include <rsock.h>

#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIE(what) (fprintf(stderr, "ping: %s: %s\n", what, rsock_error_message()), exit(1))

/* The Internet checksum (RFC 1071). */
static uint16_t checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint32_t sum = 0;
    for (; len > 1; p += 2, len -= 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len)
        sum += (uint32_t)(p[0] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

int main(int argc, char **argv)
{
    const char *host = argc > 1 ? argv[1] : "127.0.0.1";
    rsock_t *s;
    rsock_addr to, from;
    int rc = rsock_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP, &s);
    if (rc == -EPERM || rc == -EACCES) {
        fprintf(stderr, "ping: needs CAP_NET_RAW (run as root)\n");
        return 77;
    }
    if (rc < 0 || rsock_addr_in(&to, host, 0) < 0)
        DIE("socket");
    struct { struct icmphdr h; char payload[16]; } req = {0};
    req.h.type = ICMP_ECHO;
    req.h.un.echo.id = htons((uint16_t)getpid());
    req.h.un.echo.sequence = htons(1);
    memcpy(req.payload, "rsock ping data", 16);
    req.h.checksum = checksum(&req, sizeof req);

    int64_t start = rsock_now(), deadline = start + 2000;
    if (rsock_sendto(s, &req, sizeof req, 0, &to) < 0)
        DIE("sendto");
    for (;;) { /* a raw socket sees every ICMP packet: skip what is not our reply */
        uint8_t buf[512];
        ssize_t n = rsock_recvfrom(s, buf, sizeof buf, 0, &from);
        if (n == -EAGAIN) {
            if (rsock_wait_in(s, deadline) < 0)
                DIE("no reply");
            continue;
        }
        if (n < 0)
            DIE("recvfrom");
        size_t ihl = (size_t)(buf[0] & 0x0f) * 4; /* raw IPv4 sockets get the IP header */
        const struct icmphdr *h = (const struct icmphdr *)(buf + ihl);
        if ((size_t)n < ihl + sizeof *h || h->type != ICMP_ECHOREPLY || h->un.echo.id != req.h.un.echo.id)
            continue;
        char text[RSOCK_ADDRSTRLEN];
        rsock_addr_format(&from, text, sizeof text);
        printf("%zd bytes from %s: icmp_seq=%d ttl=%d time=%lld ms\n", n - (ssize_t)ihl, text,
               ntohs(h->un.echo.sequence), buf[8], (long long)(rsock_now() - start));
        break;
    }
    rsock_close(s);
    return 0;
}
