/* Channels, rsock_offload and rsock_attach between threads: the wake-ups
 * cross through each loop's eventfd (never a busy wait), messages keep
 * their order, nothing is lost at thread exit.  Run under ThreadSanitizer
 * in CI (make tsan). */
#include "check.h"

#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>

enum { COUNT = 20000 };

struct producer {
    rsock_chan *c;
    int first, count;
    int rc;
};

static void *produce(void *arg)
{
    struct producer *p = arg;
    for (int i = 0; i < p->count && p->rc == 0; i++) {
        int v = p->first + i;
        p->rc = rsock_chan_send(p->c, &v, rsock_after(10000));
    }
    return NULL;
}

static void order_across_threads(size_t capacity)
{
    rsock_chan *c;
    REQUIRE(rsock_chan_new(sizeof(int), capacity, &c) == 0);
    struct producer p = {.c = c, .first = 0, .count = COUNT};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, produce, &p) == 0);
    int in_order = 0;
    for (int i = 0; i < COUNT; i++) {
        int v = -1;
        if (rsock_chan_recv(c, &v, rsock_after(10000)) < 0)
            break;
        in_order += v == i;
    }
    pthread_join(t, NULL);
    CHECK_EQ(p.rc, 0);
    CHECK_EQ(in_order, COUNT);
    CHECK_EQ(rsock_chan_free(c), 0);
}

static void test_buffered_between_threads(void) { order_across_threads(64); }
static void test_rendezvous_between_threads(void) { order_across_threads(0); }

static void test_many_producers(void)
{
    enum { THREADS = 4 };
    rsock_chan *c;
    REQUIRE(rsock_chan_new(sizeof(int), 16, &c) == 0);
    struct producer p[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        p[i] = (struct producer){.c = c, .first = i * COUNT, .count = COUNT};
        REQUIRE(pthread_create(&t[i], NULL, produce, &p[i]) == 0);
    }
    long long sum = 0;
    int last[THREADS];
    for (int i = 0; i < THREADS; i++)
        last[i] = i * COUNT - 1;
    int ordered = 0;
    for (int i = 0; i < THREADS * COUNT; i++) {
        int v;
        if (rsock_chan_recv(c, &v, rsock_after(10000)) < 0)
            break;
        sum += v;
        ordered += v > last[v / COUNT]; /* each producer's messages in its order */
        last[v / COUNT] = v;
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(p[i].rc, 0);
    }
    long long n = (long long)THREADS * COUNT;
    CHECK_EQ(sum, n * (n - 1) / 2);
    CHECK_EQ(ordered, THREADS * COUNT);
    CHECK_EQ(rsock_chan_free(c), 0);
}

/* A receiver parked on a channel that another thread sends to late costs
 * no CPU while it waits: it sleeps in epoll_wait, woken by the eventfd. */
struct late {
    rsock_chan *c;
    int64_t after_ms;
};

static void *send_late(void *arg)
{
    struct late *l = arg;
    struct timespec ts = {0, l->after_ms * 1000000};
    nanosleep(&ts, NULL);
    int v = 99;
    rsock_chan_send(l->c, &v, -1);
    return NULL;
}

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_THREAD, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void test_parked_receiver_sleeps(void)
{
    struct late l = {.after_ms = 300};
    REQUIRE(rsock_chan_new(sizeof(int), 0, &l.c) == 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, send_late, &l) == 0);
    double cpu = cpu_seconds();
    int64_t began = rsock_now();
    int v = 0;
    CHECK_EQ(rsock_chan_recv(l.c, &v, rsock_after(5000)), 0);
    int64_t waited = rsock_now() - began;
    cpu = cpu_seconds() - cpu;
    pthread_join(t, NULL);
    CHECK_EQ(v, 99);
    CHECK(waited >= 250);
    CHECK(cpu < 0.05); /* a busy or timed poll would burn most of 300 ms */
    CHECK_EQ(rsock_chan_free(l.c), 0);
}

/* A thread that exits while one of its fibers is parked on a channel:
 * the channel forgets that fiber (its stack is gone). */
static void parked_receiver(void *arg)
{
    int v;
    rsock_chan_recv(arg, &v, -1);
}

static void *leave_fiber_parked(void *arg)
{
    rsock_spawn(parked_receiver, arg, NULL);
    rsock_yield();
    return NULL; /* the fiber is still parked */
}

static void test_thread_exit_with_parked_fiber(void)
{
    rsock_chan *c;
    REQUIRE(rsock_chan_new(sizeof(int), 0, &c) == 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, leave_fiber_parked, c) == 0);
    pthread_join(t, NULL);
    int v = 1;
    CHECK_ERR(rsock_chan_send(c, &v, 0), ETIMEDOUT, "no receiver"); /* nobody to take it */
    CHECK_EQ(rsock_chan_free(c), 0);
}

/* A fiber parked with no deadline on a rendezvous channel its own thread
 * made (the fiber-to-fiber fast path, the channel biased to the thread),
 * met by another thread: the channel loses its bias while the fiber is
 * parked, the peer's wake crosses the eventfd, and the message arrives. */
struct local_park {
    rsock_chan *c;
    int v, rc;
};

static void recv_no_deadline(void *arg)
{
    struct local_park *p = arg;
    p->rc = rsock_chan_recv(p->c, &p->v, -1);
}

static void send_no_deadline(void *arg)
{
    struct local_park *p = arg;
    p->rc = rsock_chan_send(p->c, &p->v, -1);
}

static void *recv_from_thread(void *arg)
{
    struct local_park *p = arg;
    p->rc = rsock_chan_recv(p->c, &p->v, -1);
    return NULL;
}

static void test_local_park_met_by_thread(void)
{
    struct local_park fiber = {.rc = 1}, thread = {.rc = 1};
    REQUIRE(rsock_chan_new(sizeof(int), 0, &fiber.c) == 0);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(recv_no_deadline, &fiber, &f) == 0);
    rsock_yield(); /* parked, the channel still this thread's alone */
    struct late l = {.c = fiber.c, .after_ms = 20};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, send_late, &l) == 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    pthread_join(t, NULL);
    CHECK_EQ(fiber.rc, 0);
    CHECK_EQ(fiber.v, 99);

    thread.c = fiber.c; /* and a parked sender, received by another thread */
    fiber.v = 7, fiber.rc = 1;
    REQUIRE(rsock_spawn(send_no_deadline, &fiber, &f) == 0);
    rsock_yield();
    REQUIRE(pthread_create(&t, NULL, recv_from_thread, &thread) == 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    pthread_join(t, NULL);
    CHECK_EQ(fiber.rc, 0);
    CHECK_EQ(thread.rc, 0);
    CHECK_EQ(thread.v, 7);
    CHECK_EQ(rsock_chan_free(fiber.c), 0);
}

/* The same park, and the thread exits under it: the waiter is taken off
 * the channel (nobody is there to receive afterwards). */
static void *park_on_own_channel(void *arg)
{
    rsock_chan **out = arg;
    static struct local_park p;
    if (rsock_chan_new(sizeof(int), 0, &p.c) < 0)
        return NULL;
    rsock_spawn(recv_no_deadline, &p, NULL);
    rsock_yield(); /* parked on a channel biased to this thread */
    *out = p.c;
    return NULL;
}

static void test_thread_exit_with_local_park(void)
{
    rsock_chan *c = NULL;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, park_on_own_channel, &c) == 0);
    pthread_join(t, NULL);
    REQUIRE(c != NULL);
    int v = 1;
    CHECK_ERR(rsock_chan_send(c, &v, 0), ETIMEDOUT, "no receiver");
    CHECK_EQ(rsock_chan_free(c), 0);
}

/* ---- rsock_offload ---- */

struct blocking {
    pthread_t ran_on;
    int64_t ms;
};

static void block_for(void *arg)
{
    struct blocking *b = arg;
    b->ran_on = pthread_self();
    struct timespec ts = {b->ms / 1000, b->ms % 1000 * 1000000};
    nanosleep(&ts, NULL);
}

static int ticks;
static void ticker(void *arg)
{
    int64_t end = *(int64_t *)arg;
    while (rsock_now() < end && rsock_sleep(rsock_after(5)) == 0)
        ticks++;
}

static void test_offload_runs_elsewhere(void)
{
    struct blocking b = {.ms = 200};
    int64_t end = rsock_after(150);
    ticks = 0;
    rsock_fiber *f;
    REQUIRE(rsock_spawn(ticker, &end, &f) == 0);
    CHECK_EQ(rsock_offload(block_for, &b), 0);
    CHECK(!pthread_equal(b.ran_on, pthread_self()));
    CHECK(ticks >= 10); /* the loop kept running while the call blocked */
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_ERR(rsock_offload(NULL, NULL), EINVAL, "NULL function");
}

static int running, most;
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_cond_t count_changed = PTHREAD_COND_INITIALIZER;

/* Each call waits (up to 2 s) for a second one to run beside it: the pool
 * must run calls side by side, whatever the machine's load. */
static void counted(void *arg)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&count_lock);
    if (++running > most)
        most = running;
    pthread_cond_broadcast(&count_changed);
    while (most < 2 && pthread_cond_timedwait(&count_changed, &count_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&count_lock);
    block_for(arg);
    pthread_mutex_lock(&count_lock);
    running--;
    pthread_mutex_unlock(&count_lock);
}

static void offloader(void *arg)
{
    struct blocking b = {.ms = 20};
    int *ok = arg;
    *ok += rsock_offload(counted, &b) == 0;
}

static void test_offload_pool_is_bounded(void)
{
    int ok = 0;
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    for (int i = 0; i < 32; i++)
        REQUIRE(rsock_group_spawn(g, offloader, &ok) == 0);
    CHECK_EQ(rsock_group_wait(g, rsock_after(10000)), 0);
    CHECK_EQ(ok, 32);
    CHECK(most >= 2 && most <= RSOCK_OFFLOAD_THREADS);
    if (most < 2 || most > RSOCK_OFFLOAD_THREADS)
        fprintf(stderr, "at most %d offloaded calls ran at once\n", most);
    rsock_group_close(g);
}

static void cancelled_offload(void *arg)
{
    int *rc = arg;
    struct blocking b = {.ms = 1};
    rc[0] = rsock_offload(block_for, &b);
}

static void test_offload_refused_when_cancelled(void)
{
    int rc[1] = {1};
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    rsock_group_cancel(g);
    REQUIRE(rsock_group_spawn(g, cancelled_offload, rc) == 0);
    CHECK_EQ(rsock_group_close(g), 0);
    CHECK_EQ(rc[0], -ECANCELED);
}

/* ---- rsock_attach: a device handed to another thread ---- */

struct handover {
    rsock_chan *c;
    ssize_t got;
    int attach_rc;
    char buf[16];
};

static void *adopter(void *arg)
{
    struct handover *h = arg;
    rsock_t *s;
    if (rsock_chan_recv(h->c, &s, rsock_after(5000)) < 0)
        return NULL;
    h->attach_rc = rsock_attach(s);
    h->got = rsock_read(s, h->buf, sizeof h->buf, rsock_after(5000));
    rsock_close(s);
    return NULL;
}

static void test_attach_hands_a_device_over(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    rsock_t *s;
    REQUIRE(rsock_fdopen(sv[0], &s) == 0);
    struct handover h = {0};
    REQUIRE(rsock_chan_new(sizeof s, 0, &h.c) == 0);
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, adopter, &h) == 0);
    CHECK_EQ(rsock_detach(s), 0);
    char byte;
    CHECK_ERR(rsock_read(s, &byte, 1, 0), EINVAL, "not a device of this thread's loop");
    CHECK_EQ(rsock_chan_send(h.c, &s, rsock_after(5000)), 0);
    CHECK(write(sv[1], "moved", 5) == 5);
    pthread_join(t, NULL);
    CHECK_EQ(h.attach_rc, 0);
    CHECK_EQ(h.got, 5);
    CHECK(memcmp(h.buf, "moved", 5) == 0);
    close(sv[1]);
    rsock_chan_free(h.c);
}

static void waits_on(void *arg) { rsock_wait_in(arg, rsock_after(2000)); }

static void *attach_busy(void *arg)
{
    int *rc = arg;
    extern rsock_t *busy_device;
    rc[0] = rsock_attach(busy_device);
    return NULL;
}

rsock_t *busy_device;

static void test_attach_refusals(void)
{
    CHECK_ERR(rsock_attach(NULL), EINVAL, "NULL socket");
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &busy_device) == 0);
    CHECK_EQ(rsock_attach(busy_device), 0); /* already this thread's: nothing to do */
    rsock_fiber *f;
    REQUIRE(rsock_spawn(waits_on, busy_device, &f) == 0);
    rsock_yield(); /* parked on it */
    int rc[1] = {1};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, attach_busy, rc) == 0);
    pthread_join(t, NULL);
    CHECK_EQ(rc[0], -EBUSY);
    CHECK_ERR(rsock_detach(busy_device), EBUSY, "parked");
    rsock_cancel(f);
    rsock_join(f, -1);
    CHECK_ERR(rsock_detach(NULL), EINVAL, "NULL socket");
    rsock_close(busy_device);
    CHECK_ERR(rsock_attach(busy_device), EBADF, "closed");
    CHECK_ERR(rsock_detach(busy_device), EBADF, "closed");
    close(sv[1]);
}

int main(void)
{
    rsock_t *warm;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &warm) == 0);
    rsock_close(warm);
    RUN(test_buffered_between_threads);
    RUN(test_rendezvous_between_threads);
    RUN(test_many_producers);
    RUN(test_parked_receiver_sleeps);
    RUN(test_thread_exit_with_parked_fiber);
    RUN(test_local_park_met_by_thread);
    RUN(test_thread_exit_with_local_park);
    RUN(test_offload_runs_elsewhere);
    RUN(test_offload_pool_is_bounded);
    RUN(test_offload_refused_when_cancelled);
    RUN(test_attach_hands_a_device_over);
    RUN(test_attach_refusals);
    return check_done();
}
