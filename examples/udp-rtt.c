/* udp-rtt: round-trip times of UDP pings from the kernel's own timestamps.
 * Each ping's transmit stamp comes back on the socket's error queue
 * (SO_TIMESTAMPING with OPT_ID: one keyed report per datagram) and its
 * answer carries a receive stamp, so the round trip excludes the time the
 * program itself took to be scheduled; the same trip on user-space clocks
 * is printed beside it.  With no argument an echo server runs in a fiber
 * on 127.0.0.1; with HOST:PORT it pings a UDP echo server there.
 *
 * usage: udp-rtt [HOST:PORT] [COUNT] */
#include <rsock.h>

#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIE(what) (fprintf(stderr, "udp-rtt: %s: %s\n", what, rsock_error_message()), exit(1))

static int64_t realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void echo_server(void *arg)
{
    rsock_t *s = arg;
    char buf[2048];
    rsock_addr from;
    ssize_t n;
    while ((n = rsock_recvfrom_wait(s, buf, sizeof buf, &from, -1)) >= 0)
        rsock_sendto_wait(s, buf, (size_t)n, &from, rsock_after(1000));
}

/* The answer to ping `seq` and its receive stamp (ns; 0 when the kernel
 * had not turned receive stamping on yet: it does so from a work queue). */
static int64_t receive_answer(rsock_t *s, unsigned seq)
{
    for (;;) {
        char buf[64];
        union { char buf[256]; struct cmsghdr align; } ctl;
        size_t ctllen = sizeof ctl.buf;
        struct iovec iov = {buf, sizeof buf};
        ssize_t n = rsock_recvmsg(s, NULL, &iov, 1, ctl.buf, &ctllen, 0, NULL);
        if (n == -EAGAIN) {
            if (rsock_wait_in(s, rsock_after(2000)) < 0)
                DIE("no answer");
            continue;
        }
        if (n < 0)
            DIE("recvmsg");
        unsigned got;
        if (n != sizeof got || (memcpy(&got, buf, sizeof got), got != seq))
            continue; /* a late answer to an earlier ping */
        rsock_cmsg c;
        size_t pos = 0;
        int64_t ns = 0;
        while (rsock_cmsg_next(ctl.buf, ctllen, &pos, &c) == 1)
            if (c.level == SOL_SOCKET && c.type == SCM_TIMESTAMPING)
                rsock_cmsg_get_timestamp(&c, &ns);
        return ns;
    }
}

/* The transmit stamp of datagram `key` (ns), from the error queue. */
static int64_t transmit_stamp(rsock_t *s, unsigned key)
{
    for (;;) {
        rsock_sockerr e;
        int64_t ns;
        if (rsock_recv_err(s, NULL, 0, &e, &ns, rsock_after(2000)) < 0)
            DIE("no transmit stamp");
        if (e.origin == SO_EE_ORIGIN_TIMESTAMPING && e.info == SCM_TSTAMP_SND && e.data == key)
            return ns;
    }
}

int main(int argc, char **argv)
{
    int count = argc > 2 ? atoi(argv[2]) : 5;
    if (count < 1)
        count = 1;
    rsock_t *srv = NULL, *s;
    rsock_addr to;
    if (argc > 1) {
        if (rsock_addr_parse(&to, argv[1]) < 0)
            DIE(argv[1]);
    } else {
        if (rsock_dgram_bind("127.0.0.1:0", &srv) < 0 || rsock_getsockname(srv, &to) < 0 ||
            rsock_spawn(echo_server, srv, NULL) < 0)
            DIE("echo server");
    }
    if (rsock_socket(to.sa.sa_family, SOCK_DGRAM, 0, &s) < 0 || rsock_connect(s, &to) < 0)
        DIE("socket");
    int flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |
                SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
    if (rsock_setsockopt_int(s, SOL_SOCKET, SO_TIMESTAMPING, flags) < 0)
        DIE("SO_TIMESTAMPING");
    char text[RSOCK_ADDRSTRLEN];
    rsock_addr_format(&to, text, sizeof text);
    printf("pinging %s with kernel timestamps\n", text);
    double min = 1e18, max = 0, sum = 0;
    unsigned key = 0; /* the datagram's number: OPT_ID's key and the payload */
    int64_t stamping_by = rsock_after(5000); /* a loaded machine turns it on late */
    for (int seq = 1; seq <= count; seq++, key++) {
        int64_t user_sent = realtime_ns();
        if (rsock_send(s, &key, sizeof key, 0) < 0)
            DIE("send");
        int64_t received = receive_answer(s, key), user_received = realtime_ns();
        int64_t sent = transmit_stamp(s, key);
        if (received == 0) { /* receive stamping not on yet: again, a little later */
            if (rsock_now() >= stamping_by)
                DIE("no receive stamp within 5 s");
            rsock_sleep(rsock_after(1));
            seq--;
            continue;
        }
        double kernel_us = (double)(received - sent) / 1000.0;
        printf("seq=%d rtt=%.1f us (kernel stamps) %.1f us (user clocks)\n", seq, kernel_us,
               (double)(user_received - user_sent) / 1000.0);
        min = kernel_us < min ? kernel_us : min;
        max = kernel_us > max ? kernel_us : max;
        sum += kernel_us;
    }
    printf("%d pings: rtt min/avg/max %.1f/%.1f/%.1f us\n", count, min, sum / count, max);
    rsock_close(s);
    rsock_close(srv); /* ends the echo server's wait */
    return 0;
}
