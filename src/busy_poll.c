/* Adaptive busy-polling: before the loop sleeps, it may poll the kernel
 * without blocking for a few microseconds.  A relay whose next event is
 * that close saves the sleep and the wake-up (an IPI and a reschedule,
 * the larger part of a proxied round trip's cost); a loop whose events are
 * farther apart would only burn CPU, so the spin adapts, as KVM's halt
 * polling does: a spin that finds nothing halves the next one; an idle
 * spell (spin and sleep) that ends within the limit doubles it again. */
#include "fiber.h"
#include "poller.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* vDSO: no syscall */
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Poll without blocking until `end` (µs); true once a fiber is ready.
 * Between polls the thread yields its CPU, so the spin burns only time no
 * other runnable thread wants: on a busy machine the peers this loop waits
 * for (a client, a server) may need that very CPU to answer. */
static bool spin(struct rsock__sched *S, int64_t end)
{
    for (;;) {
        rsock__poll_wait(S, 0);
        if (S->runq_head)
            return true;
        if (now_us() >= end)
            return false;
        sched_yield();
    }
}

static int64_t grown(int64_t budget, int64_t limit)
{
    budget = budget < limit / 4 ? limit / 4 : budget * 2;
    return budget > limit ? limit : budget;
}

void rsock__loop_idle(struct rsock__sched *S, int timeout_ms)
{
    int64_t limit = S->busy_poll_us;
    if (limit == 0 || timeout_ms == 0) {
        rsock__poll_wait(S, timeout_ms);
        return;
    }
    int64_t budget = S->busy_poll_budget;
    if (timeout_ms > 0 && budget > (int64_t)timeout_ms * 1000)
        budget = (int64_t)timeout_ms * 1000; /* a timer is due first */
    int64_t idle_from = now_us();
    if (budget > 0) {
        if (spin(S, idle_from + budget)) {
            S->busy_poll_budget = limit;
            return;
        }
        S->busy_poll_budget /= 2;
        if (timeout_ms > 0) /* never below 0: the poller takes a negative as "forever" */
            timeout_ms = timeout_ms > budget / 1000 ? timeout_ms - (int)(budget / 1000) : 0;
    }
    rsock__poll_wait(S, timeout_ms);
    if (now_us() - idle_from < limit) /* a longer spin would have caught it */
        S->busy_poll_budget = grown(S->busy_poll_budget, limit);
}

int rsock_set_busy_poll(int64_t usec)
{
    if (usec < 0 || usec > RSOCK_BUSY_POLL_MAX_US)
        return rsock__fail(EINVAL, "rsock_set_busy_poll %lld: not 0..%d microseconds",
                           (long long)usec, RSOCK_BUSY_POLL_MAX_US);
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__fail(ENOMEM, "rsock_set_busy_poll: no scheduler");
    S->busy_poll_us = S->busy_poll_budget = usec;
    return 0;
}
