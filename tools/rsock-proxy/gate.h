/* A gate: at most `limit` holders over all threads (a counting semaphore
 * made of an atomic count and a channel of wake-ups).  A fiber that finds
 * it full parks on the channel; a release on any thread sends a signal
 * there while someone waits, which wakes the one parked longest through
 * its loop (no polling).  `taken` and `waiters` are sequentially
 * consistent: a place freed between a waiter's last try and its parking
 * still leaves a signal in the channel for it.  slots.c (--max-conns) and
 * budget.c (--buffer-budget) are gates. */
#ifndef RSOCK_PROXY_GATE_H
#define RSOCK_PROXY_GATE_H

#include <rsock.h>
#include <stdbool.h>
#include <stdint.h>

struct gate {
    long limit;     /* <= 0: no limit */
    int64_t taken;  /* holders now, all threads */
    int waiters;    /* fibers about to park or parked */
    rsock_chan *freed;
};

/* `wakeups`: room for queued signals (a woken fiber that finds the gate
 * full parks again, so any size is correct; more saves wake-ups lost in a
 * burst of releases).  0, or -errno. */
int gate_init(struct gate *g, long limit, size_t wakeups);
void gate_end(struct gate *g);

/* A place if one is free now, without waiting. */
bool gate_try(struct gate *g);
/* A place, waiting for one: 0, or -ECANCELED (the proxy stops). */
int gate_take(struct gate *g);
/* Give a place back, waking a waiter. */
void gate_give(struct gate *g);

#endif
