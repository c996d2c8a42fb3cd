/* udp-echo-batch: a UDP echo server that moves datagrams in batches: it
 * receives up to 16 at a time with rsock_recvmmsg, each maybe several
 * coalesced by the kernel (UDP_GRO), and sends them back with
 * rsock_sendmmsg, or with one rsock_send_gso per coalesced run.  A client
 * fiber in the same program sends 64 datagrams in one batch, then 32
 * segments in one GSO call, and checks that every byte came back.
 *
 * usage: udp-echo-batch            (server and client on 127.0.0.1)
 *        udp-echo-batch ADDR:PORT  (the server alone, until interrupted) */
#include <rsock.h>

#include <errno.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIE(what) (fprintf(stderr, "udp-echo-batch: %s: %s\n", what, rsock_error_message()), exit(1))

enum { BATCH = 16, BIG = 65536, SEG = 1200 };

typedef union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } gro_ctl;

/* The segment size the kernel coalesced a datagram with (its length if none). */
static size_t segment_of(const rsock_mmsg *m)
{
    rsock_cmsg c;
    size_t pos = 0;
    int64_t seg;
    while (rsock_cmsg_next(m->ctl, m->ctllen, &pos, &c) == 1)
        if (c.level == SOL_UDP && c.type == UDP_GRO && rsock_cmsg_get_int(&c, &seg) == 0)
            return (size_t)seg;
    return m->len;
}

/* Echo what one batch brought: single datagrams in one sendmmsg, each
 * coalesced run in one GSO send (the same segments it came in). */
static void echo(rsock_t *s, rsock_mmsg *m, struct iovec *iov, int n)
{
    rsock_mmsg out[BATCH];
    int singles = 0;
    for (int i = 0; i < n; i++) {
        size_t seg = segment_of(&m[i]);
        if (m[i].len > seg) {
            if (rsock_send_gso(s, m[i].addr, iov[i].iov_base, m[i].len, seg, 0) < 0)
                DIE("send_gso");
            continue;
        }
        out[singles] = m[i];
        out[singles].ctl = NULL, out[singles].ctllen = 0;
        iov[i].iov_len = m[i].len; /* send back what came */
        singles++;
    }
    if (singles && rsock_sendmmsg_wait(s, out, (size_t)singles, 0, rsock_after(1000)) < 0)
        DIE("sendmmsg");
}

static void server(void *arg)
{
    rsock_t *s = arg;
    static char bufs[BATCH][BIG];
    struct iovec iov[BATCH];
    rsock_addr from[BATCH];
    gro_ctl ctl[BATCH];
    rsock_mmsg m[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){bufs[i], BIG};
            m[i] = (rsock_mmsg){.addr = &from[i], .iov = &iov[i], .iovcnt = 1,
                                .ctl = ctl[i].buf, .ctllen = sizeof ctl[i].buf};
        }
        int n = rsock_recvmmsg_wait(s, m, BATCH, 0, -1);
        if (n == -ECANCELED)
            return; /* the socket was closed: done */
        if (n < 0)
            DIE("recvmmsg");
        echo(s, m, iov, n);
    }
}

/* Receive echoes until `total` bytes are back (GRO may coalesce them). */
static void collect(rsock_t *c, const char *sent, size_t total)
{
    static char in[BIG];
    size_t got = 0, seg;
    while (got < total) {
        ssize_t n = rsock_recv_gro(c, in, sizeof in, &seg, NULL);
        if (n == -EAGAIN) {
            if (rsock_wait_in(c, rsock_after(5000)) < 0)
                DIE("waiting for echoes");
            continue;
        }
        if (n < 0 || memcmp(in, sent + got, (size_t)n) != 0)
            DIE("echo differs");
        got += (size_t)n;
    }
}

static void client(rsock_t *c, const rsock_addr *to)
{
    static char data[64 * SEG];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 31 + 7);
    struct iovec iov[64];
    rsock_mmsg m[64];
    for (int i = 0; i < 64; i++) {
        iov[i] = (struct iovec){data + i * SEG, SEG};
        m[i] = (rsock_mmsg){.addr = (rsock_addr *)to, .iov = &iov[i], .iovcnt = 1};
    }
    if (rsock_sendmmsg_wait(c, m, 64, 0, rsock_after(5000)) != 64)
        DIE("sendmmsg");
    collect(c, data, sizeof data);
    printf("echoed 64 datagrams (%zu bytes) sent in one batch\n", sizeof data);
    if (rsock_send_gso(c, to, data, 32 * SEG, SEG, 0) != 32 * SEG)
        DIE("send_gso");
    collect(c, data, 32 * SEG);
    printf("echoed 32 segments (%d bytes) sent in one GSO call\n", 32 * SEG);
}

int main(int argc, char **argv)
{
    rsock_t *s, *c;
    if (rsock_dgram_bind(argc > 1 ? argv[1] : "127.0.0.1:0", &s) < 0)
        DIE("bind");
    /* coalesced receive; a kernel without UDP_GRO just delivers datagrams */
    rsock_setsockopt_int(s, IPPROTO_UDP, UDP_GRO, 1);
    if (argc > 1) {
        server(s);
        return 0;
    }
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN];
    rsock_getsockname(s, &where);
    rsock_addr_format(&where, text, sizeof text);
    printf("echo server on %s\n", text);
    rsock_fiber *f;
    if (rsock_spawn(server, s, &f) < 0 || rsock_dgram_bind("127.0.0.1:0", &c) < 0)
        DIE("client");
    rsock_setsockopt_int(c, IPPROTO_UDP, UDP_GRO, 1);
    client(c, &where);
    rsock_close(s); /* the server's wait ends with -ECANCELED */
    rsock_join(f, -1);
    rsock_close(c);
    return 0;
}
