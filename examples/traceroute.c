/* traceroute: the routers on the way to a host, found with UDP probes of
 * growing TTL (set per datagram with an IP_TTL control message) and the
 * ICMP errors the kernel queues for the socket (IP_RECVERR): "time
 * exceeded" from each router, "port unreachable" from the host itself,
 * each decoded with its offender's address by rsock_recv_err.
 *
 * usage: traceroute            as root: builds a path of its own, four
 *                              network namespaces in a line (this host,
 *                              two routers, the target) and traces it;
 *                              otherwise traces 127.0.0.1
 *        traceroute IPV4-ADDR  traces that address from here */
#include <rsock.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DIE(what) (fprintf(stderr, "traceroute: %s: %s\n", what, rsock_error_message()), exit(1))

enum { MAX_HOPS = 16, BASE_PORT = 33434 };

static char ns_prefix[32]; /* set once the namespaces exist: removed at exit */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

static void remove_path(void)
{
    if (ns_prefix[0])
        sh("for n in a r1 r2 b; do ip netns del %s$n 2>/dev/null; done", ns_prefix);
}

/* host a - 10.77.1.0/24 - r1 - 10.77.2.0/24 - r2 - 10.77.3.0/24 - b, each
 * router forwarding; then this process moves into a.  0, or -1. */
static int build_path(void)
{
    const char *p = ns_prefix;
    snprintf(ns_prefix, sizeof ns_prefix, "rstr%d", (int)getpid());
    atexit(remove_path);
    int rc = sh("set -e; for n in a r1 r2 b; do ip netns add %s$n; "
                "ip -n %s$n link set lo up; done", p, p);
    for (int i = 1; rc == 0 && i <= 3; i++) { /* link i joins hop i-1 and hop i */
        const char *left = i == 1 ? "a" : i == 2 ? "r1" : "r2";
        const char *right = i == 1 ? "r1" : i == 2 ? "r2" : "b";
        rc = sh("set -e; ip link add %sl%d netns %s%s type veth peer name %sr%d netns %s%s; "
                "ip -n %s%s addr add 10.77.%d.1/24 dev %sl%d; ip -n %s%s link set %sl%d up; "
                "ip -n %s%s addr add 10.77.%d.2/24 dev %sr%d; ip -n %s%s link set %sr%d up",
                p, i, p, left, p, i, p, right, p, left, i, p, i, p, left, p, i, p, right, i, p,
                i, p, right, p, i);
    }
    if (rc == 0)
        rc = sh("set -e; for r in r1 r2; do ip netns exec %s$r sysctl -qw net.ipv4.ip_forward=1; "
                "done; ip -n %sa route add default via 10.77.1.2; "
                "ip -n %sr1 route add 10.77.3.0/24 via 10.77.2.2; "
                "ip -n %sr2 route add default via 10.77.2.1; "
                "ip -n %sb route add default via 10.77.3.1",
                p, p, p, p, p);
    char path[128];
    snprintf(path, sizeof path, "/var/run/netns/%sa", p);
    int fd = rc == 0 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
        fprintf(stderr, "traceroute: could not build the namespaces (rc %d)\n", rc);
        return -1;
    }
    close(fd);
    return 0;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* One probe with `ttl`: 1 when the target answered, 0 for a router, -1 for
 * silence (printed as "*"). */
static int probe(rsock_t *s, const rsock_addr *target, int ttl)
{
    union { char buf[64]; struct cmsghdr align; } ctl;
    size_t len = 0;
    if (rsock_cmsg_add_int(ctl.buf, sizeof ctl.buf, &len, IPPROTO_IP, IP_TTL, ttl) < 0)
        DIE("IP_TTL");
    rsock_addr to = *target;
    to.in.sin_port = htons((uint16_t)(BASE_PORT + ttl)); /* the port names the probe */
    char payload[32];
    snprintf(payload, sizeof payload, "rsock traceroute %d", ttl);
    struct iovec iov = {payload, strlen(payload)};
    double start = now_ms();
    if (rsock_sendmsg(s, &to, &iov, 1, ctl.buf, len, 0) < 0)
        DIE("sendmsg");
    for (;;) {
        rsock_sockerr e;
        char about[64];
        ssize_t n = rsock_recv_err(s, about, sizeof about, &e, NULL, rsock_after(1000));
        if (n == -ETIMEDOUT) {
            printf("%2d  *\n", ttl);
            return -1;
        }
        if (n < 0)
            DIE("recv_err");
        if (e.origin != SO_EE_ORIGIN_ICMP || (size_t)n != iov.iov_len ||
            memcmp(about, payload, iov.iov_len) != 0)
            continue; /* about an earlier probe */
        char who[RSOCK_ADDRSTRLEN];
        rsock_addr_format(&e.offender, who, sizeof who);
        *strrchr(who, ':') = 0; /* ICMP has no port */
        printf("%2d  %s  %.3f ms%s\n", ttl, who, now_ms() - start,
               e.type == 11 ? "" : e.type == 3 && e.code == 3 ? "  (port unreachable)" : "  (!)");
        return e.type == 11 ? 0 : 1;
    }
}

int main(int argc, char **argv)
{
    const char *target_text = argc > 1 ? argv[1] : "127.0.0.1";
    if (argc < 2 && geteuid() == 0) {
        if (build_path() < 0)
            return 1;
        target_text = "10.77.3.2";
    }
    rsock_addr target;
    if (rsock_addr_in(&target, target_text, BASE_PORT) < 0)
        DIE(target_text);
    rsock_t *s;
    if (rsock_dgram_bind("0.0.0.0:0", &s) < 0 ||
        rsock_setsockopt_int(s, IPPROTO_IP, IP_RECVERR, 1) < 0)
        DIE("socket");
    printf("traceroute to %s, %d hops max\n", target_text, MAX_HOPS);
    for (int ttl = 1; ttl <= MAX_HOPS; ttl++) {
        int rc = probe(s, &target, ttl);
        if (rc < 0)
            rc = probe(s, &target, ttl); /* one more try: ICMP may be rate-limited */
        if (rc == 1) {
            printf("reached %s in %d hop%s\n", target_text, ttl, ttl == 1 ? "" : "s");
            rsock_close(s);
            return 0;
        }
    }
    printf("%s not reached in %d hops\n", target_text, MAX_HOPS);
    rsock_close(s);
    return 2;
}
