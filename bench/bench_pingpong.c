/* TCP ping-pong, 64-byte messages, one connection on loopback: two fibers on
 * one loop, beside two plain blocking threads doing the same: left wherever
 * the kernel puts them (the "unpinned"), one pinned to each core,
 * and both pinned to one core, all in this run.  Also counts the syscalls per
 * round trip, with `strace -c -f` in bench/run.sh (`bench_pingpong fibers`
 * runs the fiber half alone): the floor is a send and a recv on each side
 * plus one epoll_wait when both fibers wait.
 * Targets: rsock >= 2x unpinned threads, >= 0.9x threads pinned to one core. */
#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <rsock.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#define MSG 64
#define SECONDS_PER_RUN 1


/* A connected TCP pair on 127.0.0.1 (TCP_NODELAY), as plain descriptors. */
static void tcp_pair(int fds[2])
{
    rsock_t *l, *c, *a;
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN];
    if (rsock_listen_on("127.0.0.1:0", 1, &l) < 0 || rsock_getsockname(l, &where) < 0)
        exit(fprintf(stderr, "%s\n", rsock_error_message()));
    rsock_addr_format(&where, text, sizeof text);
    if (rsock_dial(text, rsock_now() + 5000, &c) < 0 ||
        rsock_accept_wait(l, NULL, &a, rsock_now() + 5000) < 0)
        exit(fprintf(stderr, "%s\n", rsock_error_message()));
    fds[0] = dup(rsock_fd(c));
    fds[1] = dup(rsock_fd(a));
    rsock_close(c);
    rsock_close(a);
    rsock_close(l);
    int one = 1;
    for (int i = 0; i < 2; i++)
        setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* ---- fibers ---- */

struct side { rsock_t *s; long rounds; bool initiator; long long until; };

/* rsock_read with room for more than a message: a short read tells the
 * helper the socket is drained, so the next read waits first instead of
 * making a recv that is sure to find nothing. */
static void exchange(struct side *sd, char *buf)
{
    char room[4096];
    for (ssize_t got = 0, n; got < MSG; got += n) {
        n = rsock_read(sd->s, room, sizeof room, -1);
        if (n <= 0)
            exit(fprintf(stderr, "read: %s\n", rsock_error_message()));
        memcpy(buf, room, (size_t)n < MSG ? (size_t)n : MSG);
    }
}

static void fiber_side(void *arg)
{
    struct side *sd = arg;
    char buf[MSG] = {0};
    for (;;) {
        if (sd->initiator) {
            if (bench_ns() >= sd->until) {
                buf[0] = 'q';
            }
            rsock_send(sd->s, buf, MSG, 0);
            if (buf[0] == 'q')
                return;
            exchange(sd, buf);
            sd->rounds++;
        } else {
            exchange(sd, buf);
            rsock_send(sd->s, buf, MSG, 0);
            if (buf[0] == 'q')
                return;
        }
    }
}

static double fibers_rt(long unused)
{
    (void)unused;
    int fds[2];
    tcp_pair(fds);
    struct side a = {.initiator = true, .until = bench_ns() + SECONDS_PER_RUN * 1000000000LL};
    struct side b = {0};
    rsock_fdopen(fds[0], &a.s);
    rsock_fdopen(fds[1], &b.s);
    long long t0 = bench_ns();
    rsock_fiber *fa, *fb;
    rsock_spawn(fiber_side, &a, &fa);
    rsock_spawn(fiber_side, &b, &fb);
    rsock_join(fa, -1);
    rsock_join(fb, -1);
    double rate = (double)a.rounds / ((double)(bench_ns() - t0) / 1e9);
    rsock_close(a.s);
    rsock_close(b.s);
    return rate;
}

/* ---- blocking threads ---- */

/* -1: thread A on core 0, thread B on core 1 (the across-cores baseline,
 * which an unpinned pair gets on an idle machine, but only by luck on a
 * busy one); 0: both on core 0; NO_PIN: wherever the kernel puts them. */
#define NO_PIN (-2)
static int thread_pin = -1;
struct tside { int fd; bool initiator; long rounds; long long until; };

static void read_full(int fd, char *buf)
{
    for (ssize_t got = 0, n; got < MSG; got += n)
        if ((n = read(fd, buf + got, (size_t)(MSG - got))) <= 0)
            exit(fprintf(stderr, "read failed\n"));
}

static void *thread_side(void *arg)
{
    struct tside *t = arg;
    char buf[MSG] = {0};
    if (thread_pin != NO_PIN)
        bench_pin(thread_pin >= 0 ? thread_pin : t->initiator ? 0 : 1);
    for (;;) {
        if (t->initiator && bench_ns() >= t->until)
            buf[0] = 'q';
        if (t->initiator) {
            if (write(t->fd, buf, MSG) != MSG)
                exit(1);
            if (buf[0] == 'q')
                return NULL;
            read_full(t->fd, buf);
            t->rounds++;
        } else {
            read_full(t->fd, buf);
            if (write(t->fd, buf, MSG) != MSG)
                exit(1);
            if (buf[0] == 'q')
                return NULL;
        }
    }
}

static double threads_rt(long pin)
{
    int fds[2];
    tcp_pair(fds);
    for (int i = 0; i < 2; i++) { /* blocking, as plain threads use them */
        int fl = fcntl(fds[i], F_GETFL);
        fcntl(fds[i], F_SETFL, fl & ~O_NONBLOCK);
    }
    thread_pin = (int)pin;
    struct tside a = {fds[0], true, 0, bench_ns() + SECONDS_PER_RUN * 1000000000LL};
    struct tside b = {fds[1], false, 0, 0};
    long long t0 = bench_ns();
    pthread_t ta, tb;
    pthread_create(&ta, NULL, thread_side, &a);
    pthread_create(&tb, NULL, thread_side, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    close(fds[0]);
    close(fds[1]);
    return (double)a.rounds / ((double)(bench_ns() - t0) / 1e9);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "fibers") == 0) { /* for strace -c */
        printf("rsock fibers: %.0f rt/s\n", fibers_rt(0));
        return 0;
    }
    double rs = bench_median(fibers_rt, 0, 5);
    double unpinned = bench_median(threads_rt, -1, 5);
    double pinned = bench_median(threads_rt, 0, 5);
    double free_threads = bench_median(threads_rt, NO_PIN, 5);
    bench_row("ping-pong: rsock fibers, rt/s", rs, "rt/s", "blocking threads, no affinity",
              free_threads, ">= 2x", rs >= 2 * free_threads);
    bench_row("ping-pong: rsock fibers, rt/s", rs, "rt/s", "blocking threads, 2 cores", unpinned,
              ">= 2x", rs >= 2 * unpinned);
    bench_row("ping-pong: rsock fibers, rt/s", rs, "rt/s", "blocking threads, 1 core", pinned,
              ">= 0.9x", rs >= 0.9 * pinned);
    return 0;
}
