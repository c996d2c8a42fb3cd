/* Channels (issue 11, item 9), each figure beside a baseline measured in
 * the same run:
 *   - a hand-off by channel ping-pong between two fibers of one thread,
 *     against a yield between two fibers (target: at most 3x);
 *   - messages per second through a buffered channel from one thread to
 *     another, against a pthread mutex + condition variable queue of the
 *     same capacity (target: at least 2x).  Go's buffered channel between
 *     two goroutines (GOMAXPROCS=2) is measured by bench/runtime.sh, in
 *     runs alternated with this program's `once` (one cross-thread run).
 * Also the CPU seconds each cross-thread run used (both threads), so a
 * figure won by spinning shows. */
#include "bench.h"

#include <pthread.h>
#include <rsock.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>

#define HANDOFFS 2000000L /* one-thread figures count CPU time: bench_thread_ns */
#define MESSAGES 4000000L
#define CAPACITY 1024

/* ---- one thread: ping-pong (against bench_yield_ns) ---- */

struct pp {
    rsock_chan *ping, *pong;
    long rounds;
};

static void ponger(void *arg)
{
    struct pp *p = arg;
    long v;
    for (long i = 0; i < p->rounds; i++) {
        rsock_chan_recv(p->ping, &v, -1);
        rsock_chan_send(p->pong, &v, -1);
    }
}

/* ns per hand-off: a round trip is two. */
static double pingpong_ns(long handoffs)
{
    struct pp p = {.rounds = handoffs / 2};
    rsock_chan_new(sizeof(long), 0, &p.ping);
    rsock_chan_new(sizeof(long), 0, &p.pong);
    rsock_fiber *f;
    rsock_spawn(ponger, &p, &f);
    long long t0 = bench_thread_ns();
    for (long i = 0; i < p.rounds; i++) {
        long v = i;
        rsock_chan_send(p.ping, &v, -1);
        rsock_chan_recv(p.pong, &v, -1);
    }
    double ns = (double)(bench_thread_ns() - t0) / (double)handoffs;
    rsock_join(f, -1);
    rsock_chan_free(p.ping);
    rsock_chan_free(p.pong);
    return ns;
}

/* A yield between two fibers whose code differs, as a sender's and a
 * receiver's always does.  bench_yield_ns's two fibers run one loop, so
 * each switch returns to the very address the other fiber left from and
 * the CPU's return predictor is always right; here it is wrong once per
 * switch, as it is in every hand-off between fibers doing different work. */
static __attribute__((noinline)) void yielder_a(void *arg)
{
    for (long i = 0, n = (long)arg; i < n; i++)
        rsock_yield();
}

static __attribute__((noinline)) void yielder_b(void *arg)
{
    for (long i = 0, n = (long)arg; i < n; i++) {
        rsock_yield();
        __asm__ __volatile__("" ::: "memory"); /* another return address */
    }
}

static double yield_apart_ns(long n) { return bench_yield_pair_ns(yielder_a, yielder_b, n); }

/* ---- two threads: a channel against a mutex + condvar queue ---- */

static double cpu_now(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static double last_cpu; /* CPU seconds of the last run, both threads */

static void *chan_producer(void *arg)
{
    rsock_chan *c = arg;
    for (long i = 0; i < MESSAGES; i++)
        rsock_chan_send(c, &i, -1);
    return NULL;
}

static double chan_threads_rate(long n)
{
    (void)n;
    rsock_chan *c;
    rsock_chan_new(sizeof(long), CAPACITY, &c);
    pthread_t t;
    double cpu = cpu_now();
    long long t0 = bench_ns();
    pthread_create(&t, NULL, chan_producer, c);
    long v, sum = 0;
    for (long i = 0; i < MESSAGES; i++) {
        rsock_chan_recv(c, &v, -1);
        sum += v;
    }
    pthread_join(t, NULL);
    double secs = (double)(bench_ns() - t0) / 1e9;
    last_cpu = cpu_now() - cpu;
    rsock_chan_free(c);
    return sum == MESSAGES * (MESSAGES - 1) / 2 ? (double)MESSAGES / secs : 0;
}

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t not_empty, not_full;
    long ring[CAPACITY];
    size_t head, count;
};

static void q_push(struct queue *q, long v)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == CAPACITY)
        pthread_cond_wait(&q->not_full, &q->lock);
    q->ring[(q->head + q->count++) % CAPACITY] = v;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->lock);
}

static long q_pop(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    while (q->count == 0)
        pthread_cond_wait(&q->not_empty, &q->lock);
    long v = q->ring[q->head];
    q->head = (q->head + 1) % CAPACITY;
    q->count--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->lock);
    return v;
}

static void *queue_producer(void *arg)
{
    for (long i = 0; i < MESSAGES; i++)
        q_push(arg, i);
    return NULL;
}

static double queue_threads_rate(long n)
{
    (void)n;
    static struct queue q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                             PTHREAD_COND_INITIALIZER, {0}, 0, 0};
    pthread_t t;
    double cpu = cpu_now();
    long long t0 = bench_ns();
    pthread_create(&t, NULL, queue_producer, &q);
    long sum = 0;
    for (long i = 0; i < MESSAGES; i++)
        sum += q_pop(&q);
    pthread_join(t, NULL);
    double secs = (double)(bench_ns() - t0) / 1e9;
    last_cpu = cpu_now() - cpu;
    return sum == MESSAGES * (MESSAGES - 1) / 2 ? (double)MESSAGES / secs : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "once") == 0) { /* one run, for runs alternated with Go's */
        printf("chan-threads-msgs-per-s %.0f\n", chan_threads_rate(0));
        return 0;
    }
    /* One core for the one-thread figures: switches, not migrations. */
    cpu_set_t all;
    sched_getaffinity(0, sizeof all, &all);
    bench_pin(0);
    double y = bench_median(bench_yield_ns, HANDOFFS, 7);
    double p = bench_median(pingpong_ns, HANDOFFS, 7);
    double ya = bench_median(yield_apart_ns, HANDOFFS, 7);
    bench_row("chan: ping-pong hand-off", p, "ns", "rsock_yield", y, "<= 3x", p <= 3 * y);
    printf("%-34s %10.1f %-6s | %-28s %10.1f %-6s | ratio %6.3f | (the switch a hand-off makes)\n",
           "chan: ping-pong hand-off", p, "ns", "yield, fibers' code differs", ya, "ns", p / ya);
    sched_setaffinity(0, sizeof all, &all);

    /* Pairs alternated, channel then queue, so that a change of load on
     * this shared host lands on both; the ratio is the median of the pairs'. */
    enum { PAIRS = 7 };
    double cr[PAIRS], qr[PAIRS], ratio[PAIRS], ccpu[PAIRS], qcpu[PAIRS];
    for (int i = 0; i < PAIRS; i++) {
        cr[i] = chan_threads_rate(0), ccpu[i] = last_cpu;
        qr[i] = queue_threads_rate(0), qcpu[i] = last_cpu;
        ratio[i] = cr[i] / qr[i];
    }
    double rmin = ratio[0], rmax = ratio[0];
    for (int i = 1; i < PAIRS; i++)
        rmin = ratio[i] < rmin ? ratio[i] : rmin, rmax = ratio[i] > rmax ? ratio[i] : rmax;
    double r = bench_middle(ratio, PAIRS), c = bench_middle(cr, PAIRS), q = bench_middle(qr, PAIRS);
    printf("%-34s %10.2f %-6s | %-28s %10.2f %-6s | ratio %6.3f | target >= 2x: %s\n",
           "chan: 2 threads, cap 1024", c / 1e6, "M/s", "mutex+condvar queue", q / 1e6, "M/s", r,
           r >= 2 ? "PASS" : "MISS");
    printf("  %d pairs alternated: ratios %.2f-%.2f; cpu per message (both threads): chan %.0f ns, "
           "queue %.0f ns\n",
           PAIRS, rmin, rmax, bench_middle(ccpu, PAIRS) * 1e9 / MESSAGES,
           bench_middle(qcpu, PAIRS) * 1e9 / MESSAGES);
    return 0;
}
