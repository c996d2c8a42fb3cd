/* Spawn + run + join of an empty fiber from the pool, beside
 * pthread_create + pthread_join of an empty thread, in this run.
 * Target: the fiber costs at most 1/100 of the thread. */
#include "bench.h"

#include <pthread.h>
#include <rsock.h>

static void empty_fiber(void *arg) { (void)arg; }
static void *empty_thread(void *arg) { return arg; }

static double fiber_ns(long n)
{
    long long t0 = bench_ns();
    for (long i = 0; i < n; i++) {
        rsock_fiber *f;
        if (rsock_spawn(empty_fiber, NULL, &f) < 0 || rsock_join(f, -1) < 0)
            exit(1);
    }
    return (double)(bench_ns() - t0) / (double)n;
}

static double thread_ns(long n)
{
    long long t0 = bench_ns();
    for (long i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, empty_thread, NULL) != 0)
            exit(1);
        pthread_join(t, NULL);
    }
    return (double)(bench_ns() - t0) / (double)n;
}

int main(void)
{
    fiber_ns(1000); /* fill the stack pool */
    double f = bench_median(fiber_ns, 1000000, 5);
    double t = bench_median(thread_ns, 5000, 5);
    bench_row("spawn+join: empty fiber (pooled)", f, "ns", "pthread_create+join", t, "<= 0.01x",
              f <= t / 100);
    return 0;
}
