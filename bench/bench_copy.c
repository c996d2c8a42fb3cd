/* bench_copy: rsock_copy's methods (adaptive, splice through a pooled pipe, recv/send
 * through a pooled buffer) on loopback stream sockets, to choose the default.
 *
 *   sender thread --TCP/Unix--> [relay: rsock fibers, this thread] --> receiver thread
 *
 * Bulk: the sender writes 256 KiB blocks for D seconds; the receiver counts.
 * Ping-pong: a client sends 64 bytes and waits for them to come back from an
 * echo thread, through a relay copying both ways (two fibers).
 * Prints the median of R runs, min-max, and adaptive against the others.
 *
 * usage: bench_copy [-d SECONDS] [-r RUNS] [-b CHUNK] [-p PIPE] [-u] [-m bulk|pp|all] */
#include "io_internal.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double seconds = 2;
static int runs = 3;
static bool use_unix;
static char unix_dir[64];

struct side {
    char addr[RSOCK_ADDRSTRLEN];
    double secs;
    double result;
};

static int plain_connect(const char *text)
{
    rsock_addr a;
    if (rsock_addr_parse(&a, text) < 0)
        return -1;
    int fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, &a.sa, a.len) < 0) {
        perror("bench_copy: connect");
        exit(1);
    }
    int one = 1;
    if (a.sa.sa_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static double now_s(void) { return (double)rsock_now() / 1000.0; }

static void *bulk_sender(void *arg)
{
    struct side *s = arg;
    int fd = plain_connect(s->addr);
    static char buf[256 * 1024];
    memset(buf, 'x', sizeof buf);
    double end = now_s() + s->secs;
    while (now_s() < end)
        if (write(fd, buf, sizeof buf) < 0)
            break;
    close(fd);
    return NULL;
}

/* The receiver's listener is plain (blocking) too: it lives in its thread. */
static int plain_listener(char addr[RSOCK_ADDRSTRLEN], int i)
{
    rsock_addr a;
    if (use_unix) {
        char path[128];
        snprintf(path, sizeof path, "%s/r%d.sock", unix_dir, i);
        unlink(path);
        rsock_addr_un(&a, path);
    } else {
        rsock_addr_in(&a, "127.0.0.1", 0);
    }
    int fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = sizeof a.ss;
    if (fd < 0 || bind(fd, &a.sa, a.len) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, &a.sa, &len) < 0) {
        perror("bench_copy: listen");
        exit(1);
    }
    a.len = len;
    rsock_addr_format(&a, addr, RSOCK_ADDRSTRLEN);
    return fd;
}

struct receiver {
    int lfd;
    double gbit;
    bool echo;
};

static void *bulk_receiver(void *arg)
{
    struct receiver *r = arg;
    int fd = accept(r->lfd, NULL, NULL);
    static char buf[256 * 1024];
    long long total = 0;
    double t0 = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (!total)
            t0 = now_s();
        total += n;
    }
    r->gbit = (double)total * 8 / 1e9 / (now_s() - t0);
    close(fd);
    return NULL;
}

static void *echo_thread(void *arg)
{
    struct receiver *r = arg;
    int fd = accept(r->lfd, NULL, NULL);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    close(fd);
    return NULL;
}

struct pp_client {
    struct side side;
    double rts;
};

static void *pp_client(void *arg)
{
    struct pp_client *c = arg;
    int fd = plain_connect(c->side.addr);
    char buf[64] = {0};
    long long trips = 0;
    double t0 = now_s(), end = t0 + c->side.secs;
    while (now_s() < end) {
        if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
            break;
        size_t got = 0;
        while (got < sizeof buf) {
            ssize_t n = read(fd, buf + got, sizeof buf - got);
            if (n <= 0)
                goto out;
            got += (size_t)n;
        }
        trips++;
    }
out:
    c->rts = (double)trips / (now_s() - t0);
    close(fd);
    return NULL;
}

struct pair {
    rsock_t *from, *to;
    int flags;
};

static void copy_fiber(void *arg)
{
    struct pair *p = arg;
    if (rsock_copy_with(p->from, p->to, -1, 0, p->flags) < 0)
        fprintf(stderr, "bench_copy: %s\n", rsock_error_message());
}

/* One measurement: a relay on this thread between a client thread and a
 * server thread; returns the figure the measuring thread reports. */
static double measure(int flags, bool pingpong, int run)
{
    rsock_t *front;
    const char *front_text = use_unix ? NULL : "127.0.0.1:0";
    char path[128];
    if (use_unix) {
        snprintf(path, sizeof path, "%s/f%d.sock", unix_dir, run);
        unlink(path);
        front_text = path;
    }
    if (rsock_listen_on(front_text, 8, &front) < 0) {
        fprintf(stderr, "bench_copy: %s\n", rsock_error_message());
        exit(1);
    }
    struct receiver r = {0};
    char back_addr[RSOCK_ADDRSTRLEN];
    r.lfd = plain_listener(back_addr, run);
    struct pp_client client = {0};
    rsock_addr fa;
    rsock_getsockname(front, &fa);
    rsock_addr_format(&fa, client.side.addr, sizeof client.side.addr);
    client.side.secs = seconds;
    pthread_t tc, ts;
    pthread_create(&ts, NULL, pingpong ? echo_thread : bulk_receiver, &r);
    pthread_create(&tc, NULL, pingpong ? pp_client : bulk_sender, &client);
    rsock_t *in, *out;
    if (rsock_accept_wait(front, NULL, &in, -1) < 0 || rsock_dial(back_addr, -1, &out) < 0) {
        fprintf(stderr, "bench_copy: %s\n", rsock_error_message());
        exit(1);
    }
    if (!use_unix) {
        rsock_setsockopt_int(in, IPPROTO_TCP, TCP_NODELAY, 1);
        rsock_setsockopt_int(out, IPPROTO_TCP, TCP_NODELAY, 1);
    }
    struct pair up = {in, out, flags}, down = {out, in, flags};
    rsock_fiber *f1, *f2;
    rsock_spawn(copy_fiber, &up, &f1);
    rsock_spawn(copy_fiber, &down, &f2);
    rsock_join(f1, -1);
    rsock_join(f2, -1);
    pthread_join(tc, NULL);
    pthread_join(ts, NULL);
    rsock_close(in);
    rsock_close(out);
    rsock_close(front);
    close(r.lfd);
    return pingpong ? client.rts : r.gbit;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define NMETHODS 3
static const int methods[NMETHODS] = {RSOCK_COPY_ADAPTIVE, RSOCK_COPY_SPLICE, RSOCK_COPY_BUFFER};
static const char *const method_names[NMETHODS] = {"adaptive", "splice", "buffer"};

/* The methods' runs interleave (A B C A B C ...), so drift hits all alike. */
static void report(const char *what, const char *unit, bool pingpong)
{
    double v[NMETHODS][32];
    for (int i = 0; i < runs; i++)
        for (int m = 0; m < NMETHODS; m++)
            v[m][i] = measure(methods[m], pingpong, i);
    double med[NMETHODS];
    printf("%-10s %-5s", what, use_unix ? "unix" : "tcp");
    for (int m = 0; m < NMETHODS; m++) {
        qsort(v[m], (size_t)runs, sizeof v[m][0], cmp);
        med[m] = v[m][runs / 2];
        printf("  %s %.2f (%.2f-%.2f)", method_names[m], med[m], v[m][0], v[m][runs - 1]);
    }
    printf(" %s  adaptive/splice %.2f  adaptive/buffer %.2f\n", unit, med[0] / med[1],
           med[0] / med[2]);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int opt;
    const char *mode = "all";
    size_t chunk = 0, pipe_size = 0;
    /* rsock_copy splices only while SIGPIPE is ignored (splice has no
     * MSG_NOSIGNAL); without this the splice row silently measured the buffer. */
    signal(SIGPIPE, SIG_IGN);
    while ((opt = getopt(argc, argv, "d:r:b:p:um:h")) != -1) {
        switch (opt) {
        case 'd': seconds = atof(optarg); break;
        case 'r': runs = atoi(optarg); break;
        case 'b': chunk = (size_t)atol(optarg); break;
        case 'p': pipe_size = (size_t)atol(optarg); break;
        case 'u': use_unix = true; break;
        case 'm': mode = optarg; break;
        default:
            fprintf(stderr, "usage: bench_copy [-d SECONDS] [-r RUNS] [-b CHUNK] [-p PIPE] [-u] "
                            "[-m bulk|pp|all]\n");
            return opt == 'h' ? 0 : 2;
        }
    }
    if (seconds <= 0 || seconds > 60 || runs < 1 || runs > 31)
        return 2;
    rsock__copy_tune(chunk, pipe_size);
    snprintf(unix_dir, sizeof unix_dir, "/tmp/bench_copy.XXXXXX");
    if (use_unix && !mkdtemp(unix_dir))
        return 1;
    if (strcmp(mode, "pp"))
        report("bulk", "Gbit/s", false);
    if (strcmp(mode, "bulk"))
        report("ping-pong", "rt/s", true);
    if (use_unix) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf %s", unix_dir);
        if (system(cmd) != 0)
            return 1;
    }
    return 0;
}
