/* rsock_set_busy_poll: refused values; with polling on, waits still see
 * input from another thread, timers still fire on time (the spin never
 * outlasts the nearest deadline), and sparse events cost little CPU (the
 * spin shrinks after it finds nothing). */
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

enum { SPARSE_ROUNDS = 25, SPARSE_GAP_MS = 20 };

static double thread_cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static void refuses_bad_values(void)
{
    CHECK_ERR(rsock_set_busy_poll(-1), EINVAL, "rsock_set_busy_poll -1");
    CHECK_ERR(rsock_set_busy_poll(1000001), EINVAL, "not 0..1000000 microseconds");
    CHECK_EQ(rsock_set_busy_poll(1000000), 0);
    CHECK_EQ(rsock_set_busy_poll(0), 0);
}

/* With a 1 s spin allowed, a 30 ms sleep still ends after about 30 ms. */
static void timers_bound_the_spin(void)
{
    REQUIRE(rsock_set_busy_poll(1000000) == 0);
    for (int i = 0; i < 3; i++) {
        int64_t start = rsock_now();
        CHECK_EQ(rsock_sleep(start + 30), 0);
        int64_t took = rsock_now() - start;
        CHECK(took >= 30 && took < 500);
    }
    CHECK_EQ(rsock_set_busy_poll(0), 0);
}

struct writer {
    int fd, rounds, gap_ms;
};

/* Another OS thread: a byte every gap_ms, so every wait has to sleep. */
static void *write_slowly(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < w->rounds; i++) {
        struct timespec gap = {0, (long)w->gap_ms * 1000000L};
        nanosleep(&gap, NULL);
        if (write(w->fd, "x", 1) != 1)
            break;
    }
    return NULL;
}

/* Events 20 ms apart with a 2 ms limit: a fixed spin would burn 2 ms per
 * event (50 ms in all); the adaptive one gives up after a few misses. */
static void sparse_events_cost_little_cpu(void)
{
    int sv[2];
    rsock_t *in;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &in) == 0);
    REQUIRE(rsock_set_busy_poll(2000) == 0);
    struct writer w = {sv[1], SPARSE_ROUNDS, SPARSE_GAP_MS};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, write_slowly, &w) == 0);
    double cpu_before = thread_cpu_ms();
    char c;
    int got = 0;
    for (int i = 0; i < SPARSE_ROUNDS; i++)
        got += rsock_read(in, &c, 1, rsock_now() + 5000) == 1;
    double spent = thread_cpu_ms() - cpu_before;
    pthread_join(t, NULL);
    CHECK_EQ(got, SPARSE_ROUNDS);
    if (spent >= 20)
        fprintf(stderr, "busy-poll: %.1f ms of CPU for %d sparse events\n", spent, got);
    CHECK(spent < 20);
    CHECK_EQ(rsock_set_busy_poll(0), 0);
    rsock_close(in);
    close(sv[1]);
}

/* A reply from another thread within the spin is taken by the spin; the
 * bytes arrive whole and in order either way. */
static void *echo_back(void *arg)
{
    int fd = *(int *)arg;
    char buf[64];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n)
            break;
    return NULL;
}

static void dense_round_trips_arrive(void)
{
    int sv[2];
    rsock_t *s;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &s) == 0);
    REQUIRE(rsock_set_busy_poll(200) == 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, echo_back, &sv[1]) == 0);
    int ok = 0;
    for (int i = 0; i < 2000; i++) {
        char out[16], in[16] = "";
        int n = snprintf(out, sizeof out, "ping %d", i);
        if (rsock_write_all(s, out, (size_t)n, rsock_now() + 5000) != n)
            break;
        ssize_t got = 0;
        while (got < n) {
            ssize_t m = rsock_read(s, in + got, (size_t)(n - got), rsock_now() + 5000);
            if (m <= 0)
                break;
            got += m;
        }
        ok += got == n && memcmp(in, out, (size_t)n) == 0;
    }
    CHECK_EQ(ok, 2000);
    rsock_close(s); /* the echo thread reads the end and stops */
    pthread_join(t, NULL);
    close(sv[1]);
    CHECK_EQ(rsock_set_busy_poll(0), 0);
}

int main(void)
{
    rsock_now();
    rsock_yield(); /* make the thread's loop before counting descriptors */
    int fds = check_fd_count();
    RUN(refuses_bad_values);
    RUN(timers_bound_the_spin);
    RUN(sparse_events_cost_little_cpu);
    RUN(dense_round_trips_arrive);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
