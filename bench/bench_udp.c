/* bench_udp: UDP echo over loopback with 1200-byte datagrams, three ways in
 * one run: a plain epoll + recvfrom/sendto loop on both sides (the
 * baseline), rsock_recvmmsg/rsock_sendmmsg batches of 32, and GSO+GRO
 * (rsock_send_gso of 32 segments, rsock_recv_gro).  An echo server thread
 * and a client (the main thread) keep the same window of datagrams in
 * flight; each run lasts a fixed time, the modes interleave, and the median
 * of the repetitions counts.  Also CPU (user + system, both threads) per
 * datagram, and iperf3 -u at the same size as a peer figure when iperf3 is
 * installed.  Prints ratio_mmsg=X (datagrams/s against the baseline) and
 * ratio_gso=Y (bytes/s against the baseline).
 *
 * usage: bench_udp [-d SECONDS] [-r REPS] [-w WINDOW] */
#include <rsock.h>

#include "bench.h"

#include <errno.h>
#include <netinet/udp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

enum { SIZE = 1200, BATCH = 32, BIG = 65536 };
enum mode { PLAIN, MMSG, GSO, MODES };
static const char *const mode_names[] = {"plain epoll recvfrom/sendto", "recvmmsg/sendmmsg x32",
                                         "GSO+GRO x32"};

static int window = 128;
static double seconds = 1.0;
static long stalls; /* windows restarted after 20 ms of silence (losses) */

#define DIE(what) (fprintf(stderr, "bench_udp: %s: %s\n", what, rsock_error_message()), exit(1))

static void big_buffers(int fd)
{
    int size = 4 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

/* A quit datagram comes from a socket of its own: GRO never merges it. */
static bool is_quit(ssize_t n) { return n == 1; }

/* ---- the baseline: plain syscalls and epoll, both sides ---- */

static void plain_server(int fd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    char buf[2048];
    for (;;) {
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        if (n < 0) {
            epoll_wait(ep, &ev, 1, -1);
            continue;
        }
        if (is_quit(n))
            break;
        sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, flen);
    }
    close(ep);
}

/* Datagrams echoed in `seconds`, keeping `window` in flight. */
static long plain_client(int fd, const struct sockaddr *to, socklen_t tolen)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    static char buf[2048];
    long echoed = 0, inflight = 0;
    long long end = bench_ns() + (long long)(seconds * 1e9);
    while (bench_ns() < end) {
        while (inflight < window && sendto(fd, buf, SIZE, 0, to, tolen) == SIZE)
            inflight++;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            echoed++, inflight--;
        } else if (epoll_wait(ep, &ev, 1, 20) == 0) {
            inflight = 0, stalls++; /* lost: start the window again */
        }
    }
    close(ep);
    return echoed;
}

/* ---- batches: rsock_recvmmsg / rsock_sendmmsg ---- */

typedef struct {
    char buf[BATCH][2048];
    struct iovec iov[BATCH];
    rsock_addr from[BATCH];
    rsock_mmsg m[BATCH];
} batch;

static void batch_reset(batch *b, size_t len)
{
    for (int i = 0; i < BATCH; i++) {
        b->iov[i] = (struct iovec){b->buf[i], len};
        b->m[i] = (rsock_mmsg){.addr = &b->from[i], .iov = &b->iov[i], .iovcnt = 1};
    }
}

static void mmsg_server(rsock_t *s)
{
    static batch b;
    for (;;) {
        batch_reset(&b, sizeof b.buf[0]);
        int n = rsock_recvmmsg_wait(s, b.m, BATCH, 0, -1);
        if (n < 0)
            DIE("server recvmmsg");
        for (int i = 0; i < n; i++) {
            if (is_quit((ssize_t)b.m[i].len))
                return;
            b.iov[i].iov_len = b.m[i].len;
        }
        rsock_sendmmsg_wait(s, b.m, (size_t)n, 0, rsock_after(1000));
    }
}

static long mmsg_client(rsock_t *s, rsock_addr *to)
{
    static batch out, in;
    batch_reset(&out, SIZE);
    for (int i = 0; i < BATCH; i++)
        out.m[i].addr = to;
    long echoed = 0, inflight = 0;
    long long end = bench_ns() + (long long)(seconds * 1e9);
    while (bench_ns() < end) {
        while (inflight < window) {
            long k = window - inflight < BATCH ? window - inflight : BATCH;
            int sent = rsock_sendmmsg(s, out.m, (size_t)k, 0);
            if (sent <= 0)
                break;
            inflight += sent;
        }
        batch_reset(&in, sizeof in.buf[0]);
        int n = rsock_recvmmsg_wait(s, in.m, BATCH, 0, rsock_after(20));
        if (n > 0)
            echoed += n, inflight -= n;
        else if (n == -ETIMEDOUT)
            inflight = 0, stalls++;
    }
    return echoed;
}

/* ---- GSO + GRO ---- */

static void gso_server(rsock_t *s)
{
    static char buf[BIG];
    rsock_addr from;
    for (;;) {
        size_t seg;
        ssize_t n;
        while ((n = rsock_recv_gro(s, buf, sizeof buf, &seg, &from)) == -EAGAIN)
            rsock_wait_in(s, -1);
        if (n < 0)
            DIE("server recv_gro");
        if (is_quit(n))
            return;
        while (rsock_send_gso(s, &from, buf, (size_t)n, seg, 0) == -EAGAIN)
            rsock_wait_out(s, rsock_after(1000));
    }
}

static long gso_client(rsock_t *s, rsock_addr *to)
{
    static char out[BATCH * SIZE], in[BIG];
    long echoed = 0, inflight = 0;
    long long end = bench_ns() + (long long)(seconds * 1e9);
    while (bench_ns() < end) {
        while (inflight < window) {
            long k = window - inflight < BATCH ? window - inflight : BATCH;
            ssize_t sent = rsock_send_gso(s, to, out, (size_t)k * SIZE, SIZE, 0);
            if (sent <= 0)
                break;
            inflight += sent / SIZE;
        }
        size_t seg;
        ssize_t n = rsock_recv_gro(s, in, sizeof in, &seg, NULL);
        if (n > 0) {
            long d = (long)(((size_t)n + seg - 1) / seg);
            echoed += d, inflight -= d;
        } else if (rsock_wait_in(s, rsock_after(20)) == -ETIMEDOUT) {
            inflight = 0, stalls++;
        }
    }
    return echoed;
}

/* ---- one run of one mode ---- */

typedef struct {
    enum mode mode;
    rsock_addr where; /* out: the server's address */
    pthread_barrier_t ready;
} server_arg;

static void *server_main(void *p)
{
    server_arg *a = p;
    rsock_t *s;
    if (rsock_dgram_bind("127.0.0.1:0", &s) < 0 || rsock_getsockname(s, &a->where) < 0)
        DIE("server socket");
    big_buffers(rsock_fd(s));
    if (a->mode == GSO && rsock_setsockopt_int(s, IPPROTO_UDP, UDP_GRO, 1) < 0)
        DIE("UDP_GRO");
    pthread_barrier_wait(&a->ready);
    if (a->mode == PLAIN)
        plain_server(rsock_fd(s));
    else if (a->mode == MMSG)
        mmsg_server(s);
    else
        gso_server(s);
    rsock_close(s);
    return NULL;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

typedef struct { double rate, cpu_us; long stalls; } result;

static result run(enum mode mode)
{
    server_arg a = {.mode = mode};
    pthread_barrier_init(&a.ready, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, server_main, &a);
    pthread_barrier_wait(&a.ready);
    rsock_t *c, *quit;
    if (rsock_dgram_bind("127.0.0.1:0", &c) < 0 || rsock_dgram_bind("127.0.0.1:0", &quit) < 0)
        DIE("client socket");
    big_buffers(rsock_fd(c));
    if (mode == GSO && rsock_setsockopt_int(c, IPPROTO_UDP, UDP_GRO, 1) < 0)
        DIE("UDP_GRO");
    double cpu0 = cpu_seconds();
    stalls = 0;
    long long t0 = bench_ns();
    long echoed = mode == PLAIN ? plain_client(rsock_fd(c), &a.where.sa, a.where.len)
                  : mode == MMSG ? mmsg_client(c, &a.where)
                                 : gso_client(c, &a.where);
    double elapsed = (double)(bench_ns() - t0) / 1e9, cpu = cpu_seconds() - cpu0;
    rsock_sendto(quit, "q", 1, 0, &a.where);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&a.ready);
    rsock_close(c);
    rsock_close(quit);
    return (result){echoed / elapsed, echoed ? cpu * 1e6 / (double)echoed : 0, stalls};
}

/* ---- iperf3 -u as a peer figure ---- */

static int free_port(void)
{
    rsock_t *s;
    rsock_addr a;
    int port = 0;
    if (rsock_dgram_bind("127.0.0.1:0", &s) == 0 && rsock_getsockname(s, &a) == 0)
        rsock_addr_ip(&a, NULL, &port);
    rsock_close(s);
    return port;
}

static void iperf3_peer(void)
{
    if (system("command -v iperf3 >/dev/null 2>&1") != 0) {
        printf("iperf3 -u: not installed (no peer figure)\n");
        return;
    }
    int port = free_port();
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "iperf3 -s -1 -B 127.0.0.1 -p %d >/dev/null 2>&1 & sleep 0.3; "
             "iperf3 -c 127.0.0.1 -p %d -u -l %d -b 0 -t %.0f 2>&1 | grep receiver; wait",
             port, port, SIZE, seconds < 1 ? 1 : seconds * 2);
    FILE *p = popen(cmd, "r");
    char line[512] = "";
    if (!p || !fgets(line, sizeof line, p)) {
        printf("iperf3 -u: no result\n");
        if (p)
            pclose(p);
        return;
    }
    pclose(p);
    double secs = 0, rate = 0;
    long lost = 0, total = 0;
    char unit[16] = "";
    const char *at = strstr(line, "-");
    if (at && sscanf(at + 1, "%lf", &secs) == 1) {
        const char *bits = strstr(line, "Bytes");
        if (bits)
            sscanf(bits + 5, "%lf %15s", &rate, unit);
        const char *ms = strstr(line, " ms "); /* the jitter, then Lost/Total */
        if (ms)
            sscanf(ms + 4, "%ld/%ld", &lost, &total);
    }
    printf("iperf3 -u -l %d -b 0 (one way, peer figure): %.2f %s, %.0f datagrams/s received\n",
           SIZE, rate, unit, secs > 0 ? (double)(total - lost) / secs : 0);
}

int main(int argc, char **argv)
{
    int reps = 3;
    for (int opt; (opt = getopt(argc, argv, "d:r:w:")) != -1;) {
        if (opt == 'd')
            seconds = atof(optarg);
        else if (opt == 'r')
            reps = atoi(optarg);
        else if (opt == 'w')
            window = atoi(optarg);
        else
            return fprintf(stderr, "usage: bench_udp [-d SECONDS] [-r REPS] [-w WINDOW]\n"), 2;
    }
    if (reps < 1 || reps > 16 || seconds <= 0 || window < 1)
        return fprintf(stderr, "bench_udp: bad arguments\n"), 2;
    double rate[MODES][16], cpu[MODES][16];
    long lost_windows[MODES] = {0};
    for (int r = 0; r < reps; r++) /* interleaved: drift hits every mode alike */
        for (int m = 0; m < MODES; m++) {
            result x = run((enum mode)m);
            rate[m][r] = x.rate, cpu[m][r] = x.cpu_us, lost_windows[m] += x.stalls;
        }
    double med[MODES], med_cpu[MODES];
    for (int m = 0; m < MODES; m++) {
        qsort(rate[m], (size_t)reps, sizeof(double), bench_cmp);
        qsort(cpu[m], (size_t)reps, sizeof(double), bench_cmp);
        med[m] = rate[m][reps / 2], med_cpu[m] = cpu[m][reps / 2];
    }
    printf("UDP echo over loopback, %d-byte datagrams, window %d, %.1f s x %d runs (median)\n",
           SIZE, window, seconds, reps);
    for (int m = 0; m < MODES; m++)
        printf("%-30s %10.0f datagrams/s %8.3f Gbit/s %7.3f us CPU/datagram (%.0f-%.0f/s, "
               "%ld windows lost)\n",
               mode_names[m], med[m], med[m] * SIZE * 8 / 1e9, med_cpu[m], rate[m][0],
               rate[m][reps - 1], lost_windows[m]);
    bench_row("recvmmsg/sendmmsg x32, datagrams/s", med[MMSG], "dg/s", "plain recvfrom/sendto",
              med[PLAIN], ">= 2x", med[MMSG] >= 2 * med[PLAIN]);
    bench_row("GSO+GRO x32, bytes/s", med[GSO] * SIZE / 1e6, "MB/s", "plain recvfrom/sendto",
              med[PLAIN] * SIZE / 1e6, ">= 4x", med[GSO] >= 4 * med[PLAIN]);
    iperf3_peer();
    printf("ratio_mmsg=%.2f\n", med[MMSG] / med[PLAIN]);
    printf("ratio_gso=%.2f\n", med[GSO] / med[PLAIN]);
    return 0;
}
