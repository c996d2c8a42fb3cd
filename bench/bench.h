/* Shared by the benchmarks: a nanosecond clock, medians of repeated runs,
 * and one output line per figure:
 *   NAME  VALUE UNIT  | BASELINE-NAME VALUE UNIT | ratio R | target T: PASS/MISS */
#ifndef RSOCK_BENCH_H
#define RSOCK_BENCH_H

#define _GNU_SOURCE 1
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rsock.h>

static inline long long bench_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int bench_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* This thread's CPU time: for figures of work that never sleeps, so that a
 * preemption on a shared machine lands in neither figure of a pair. */
static inline long long bench_thread_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The median of `reps` runs of fn(arg); the machine is shared and noisy. */
/* The median of n figures (sorts them). */
static inline double bench_middle(double *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], bench_cmp);
    return v[n / 2];
}

static inline double bench_median(double (*fn)(long), long arg, int reps)
{
    double v[16];
    if (reps > 16)
        reps = 16;
    for (int i = 0; i < reps; i++)
        v[i] = fn(arg);
    qsort(v, (size_t)reps, sizeof v[0], bench_cmp);
    return v[reps / 2];
}

static inline void bench_pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* ns per rsock_yield between two fibers (each yield one switch), in this
 * thread's CPU time: the figure of bench_switch and the baseline of
 * bench_chan, measured the same way in both. */
static inline void bench_yielder(void *arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++)
        rsock_yield();
}

/* ns per switch between a fiber running `one` and a fiber running `two`
 * (each given n / 2 yields). */
static inline double bench_yield_pair_ns(void (*one)(void *), void (*two)(void *), long n)
{
    rsock_fiber *a, *b;
    long long t0 = bench_thread_ns();
    rsock_spawn(one, (void *)(n / 2), &a);
    rsock_spawn(two, (void *)(n / 2), &b);
    rsock_join(a, -1);
    rsock_join(b, -1);
    return (double)(bench_thread_ns() - t0) / (double)n;
}

static inline double bench_yield_ns(long n)
{
    return bench_yield_pair_ns(bench_yielder, bench_yielder, n);
}

/* ok: whether the target is met. */
static inline void bench_row(const char *name, double value, const char *unit,
                             const char *base_name, double base, const char *target, int ok)
{
    printf("%-34s %10.1f %-6s | %-28s %10.1f %-6s | ratio %6.3f | target %s: %s\n", name, value,
           unit, base_name, base, unit, value / base, target, ok ? "PASS" : "MISS");
}

#endif
