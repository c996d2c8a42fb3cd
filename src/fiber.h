/* The per-thread scheduler: fibers, run queue, timers and the loop.
 * Internal; see DESIGN.md "Fibers and the loop". */
#ifndef RSOCK_FIBER_H
#define RSOCK_FIBER_H

#include "ctx.h"
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>

enum rsock__fiber_state { FIBER_FREE, FIBER_READY, FIBER_RUNNING, FIBER_PARKED, FIBER_DONE };

struct rsock_fiber {
    rsock__ctx ctx;
    void *tsan_fiber;                /* ThreadSanitizer's handle (tsan_fiber.h) */
    struct rsock_fiber *next;        /* run queue, or free list */
    struct rsock_fiber *all_next;    /* every fiber of the thread, for cleanup */
    void (*fn)(void *);
    void *arg;
    void *stack;                     /* the mapping: guard page, then the stack */
    size_t stack_size;               /* usable bytes above the guard */
    enum rsock__fiber_state state;
    bool detached;
    bool cancel_pending;
    int wake_result;                 /* what park() returns */
    int timer_result;                /* what the timer delivers when it fires */
    size_t timer_slot;               /* index + 1 in the timer heap; 0: none */
    int64_t deadline;
    uint64_t timer_seq;              /* FIFO tie-break among equal deadlines */
    struct rsock_fiber *joiner;
    struct rsock__sched *sched;      /* the thread it runs on (never changes) */
    struct rsock_group *group;       /* NULL: not a group member */
    struct rsock_fiber *group_prev, *group_next;
    bool cancelled;                  /* sticky: every wait fails with -ECANCELED */
    uint64_t park_seq;               /* names the current park (remote wakes) */
    /* While parked on something other threads can complete (a channel),
     * how to take the fiber off it if the thread exits first. */
    void (*unpark)(struct rsock_fiber *f);
    void *unpark_arg;
};

/* A fiber parked on one direction of a device (on the fiber's stack). */
struct rsock__waiter {
    struct rsock_fiber *fiber;
    struct rsock__waiter *next, **prevp;
};

struct rsock__timers {
    struct rsock_fiber **heap;
    size_t count, cap;
    uint64_t seq;
};

struct rsock__resolver; /* resolve.c */
struct rsock__remote;   /* remote.c */

struct rsock__sched {
    struct rsock_fiber main;         /* the thread's own stack */
    struct rsock_fiber *current;
    struct rsock_fiber *runq_head, *runq_tail;
    struct rsock_fiber *free_fibers; /* recycled structs (stacks may be pooled) */
    struct rsock_fiber *all;
    struct rsock_fiber *dead;        /* finished; its stack is released after we leave it */
    struct rsock_fiber *runner;      /* parked in rsock_run */
    void **stack_pool;               /* free stacks of stack_size */
    size_t stack_pool_count;
    size_t stack_size;
    long live;                       /* spawned fibers not yet finished */
    unsigned yields;
    long io_parked;                  /* fibers parked on a device (wait.c) */
    int64_t busy_poll_us;            /* rsock_set_busy_poll's limit; 0: off */
    int64_t busy_poll_budget;        /* the next spin, adapted (busy_poll.c) */
    int poll_fd;                     /* the poller's instance: poller.h's backend only */
    struct rsock *devices;           /* every registered device */
    pthread_mutex_t devices_lock;    /* guards `devices` (rsock_attach, foreign close) */
    struct rsock__timers timers;
    struct rsock__resolver *resolver;
    void *main_stack_lo;             /* the thread's own stack, for ASan */
    size_t main_stack_size;
    uint64_t park_seq;               /* the last park's number */
    struct rsock__remote *remote;    /* wakes from other threads, made on first use */
    const atomic_size_t *remote_queued; /* how many wait in it (read with no lock) */
    struct rsock *remote_dev;        /* its eventfd, registered with the loop */
    void *altstack;                  /* the signal stack that reports overflows */
};

/* This thread's scheduler, or NULL before its first use.  initial-exec:
 * the library is linked, not dlopen'ed, so the pointer sits in the static
 * TLS block and every park, wake and channel operation reads it with one
 * load (the default model calls __tls_get_addr). */
extern __thread struct rsock__sched *rsock__this_sched
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
/* rsock__sched_get's first call on a thread (fiber.c). */
struct rsock__sched *rsock__sched_make(void);

/* This thread's scheduler, made on first use; NULL when out of memory. */
static inline struct rsock__sched *rsock__sched_get(void)
{
    return rsock__this_sched ? rsock__this_sched : rsock__sched_make();
}

/* rsock__park's every case (fiber.c): cancels, running the loop while no
 * fiber is ready, sanitizer builds. */
int rsock__park_slow(struct rsock__sched *S);
/* The switch itself, with what every resumed context does first (fiber.c). */
void rsock__switch_to(struct rsock__sched *S, struct rsock_fiber *from, struct rsock_fiber *to);
/* After a switch: a finished fiber's stack to release (fiber.c). */
void rsock__reap(struct rsock__sched *S);

/* Whether the sanitizers must hear of each switch (rsock__switch_to does). */
#if defined(RSOCK_ASAN) || defined(RSOCK_TSAN) || defined(__SANITIZE_THREAD__) || \
    defined(__SANITIZE_ADDRESS__)
#define RSOCK__SWITCH_TOLD 1
#endif

/* The next ready fiber, off the run queue; NULL when none. */
static inline struct rsock_fiber *rsock__runq_pop(struct rsock__sched *S)
{
    struct rsock_fiber *f = S->runq_head;
    if (f && !(S->runq_head = f->next))
        S->runq_tail = NULL;
    return f;
}

/* Whether other threads have queued wakes for this loop (one load: a busy
 * loop checks it at every switch so as not to starve them). */
static inline bool rsock__remote_pending(const struct rsock__sched *S)
{
    return S->remote_queued && atomic_load_explicit(S->remote_queued, memory_order_relaxed);
}

/* Run `to` in place of `from`: inline unless the sanitizers must hear of
 * the switch (rsock__switch_to). */
static inline void rsock__switch(struct rsock__sched *S, struct rsock_fiber *from,
                                 struct rsock_fiber *to)
{
#ifdef RSOCK__SWITCH_TOLD
    rsock__switch_to(S, from, to);
#else
    S->current = to;
    to->state = FIBER_RUNNING;
    rsock__ctx_switch(&from->ctx, &to->ctx);
    if (S->dead)
        rsock__reap(S);
#endif
}

/* Park the current fiber until rsock__wake; returns the wake result.
 * Inline for the common case, another fiber ready and nothing to look at
 * first: every wait ends in a park, and a hand-off between two fibers is
 * little more than one. */
static inline int rsock__park(struct rsock__sched *S)
{
    struct rsock_fiber *self = S->current;
    if (!S->runq_head || self->cancelled || self->cancel_pending || rsock__remote_pending(S))
        return rsock__park_slow(S);
    self->park_seq = ++S->park_seq;
    self->state = FIBER_PARKED;
    rsock__switch(S, self, rsock__runq_pop(S));
    return self->wake_result;
}

/* At the run queue's end (inline: every hand-off between fibers is one). */
static inline void rsock__runq_push(struct rsock__sched *S, struct rsock_fiber *f)
{
    f->next = NULL;
    if (S->runq_tail)
        S->runq_tail->next = f;
    else
        S->runq_head = f;
    S->runq_tail = f;
}

/* Make a parked fiber ready with `result` (ignored if it is not parked). */
static inline void rsock__wake(struct rsock__sched *S, struct rsock_fiber *f, int result)
{
    if (f->state != FIBER_PARKED)
        return;
    f->state = FIBER_READY;
    f->wake_result = result;
    rsock__runq_push(S, f);
}
/* After rsock__sched_get returned NULL: the -errno it recorded. */
int rsock__sched_error(void);
/* rsock_spawn with the fiber always returned (detached or not). */
int rsock__spawn(void (*fn)(void *), void *arg, bool detached, rsock_fiber **out);
/* This thread's scheduler if it exists already, else NULL (never makes one). */
static inline struct rsock__sched *rsock__sched_peek(void) { return rsock__this_sched; }

/* ---- wakes from other threads (remote.c) ----
 * A fiber parked on something another thread completes (a channel, an
 * offloaded call) owns a wake node, on its stack, naming itself and its
 * park.  The completing thread queues the node on the fiber's loop and
 * writes that loop's eventfd if it sleeps.  The node must be queued while
 * holding the lock that decides the wait (so the fiber, taking that lock
 * after a timeout, knows whether a wake is on its way), and the fiber
 * calls rsock__remote_forget before its node goes out of scope. */
struct rsock__rwake {
    struct rsock_fiber *fiber;
    uint64_t seq;                 /* the park it ends */
    int result;
    bool queued;
    struct rsock__rwake *prev, *next;
};
/* Prepare this thread's loop to be woken by other threads (an eventfd
 * registered with the loop).  0, or -errno (recorded, naming `op`). */
int rsock__remote_enable(struct rsock__sched *S, const char *op);
/* A node for the current fiber's next park (call just before parking). */
void rsock__rwake_init(struct rsock__rwake *n, struct rsock__sched *S);
/* From any thread: make n->fiber ready with `result` if it is still in
 * the park n->seq; on the fiber's own thread this is rsock__wake.  True
 * when the node was queued (the fiber must rsock__remote_forget it). */
bool rsock__remote_wake(struct rsock__rwake *n, int result);
/* On the fiber's thread: take `n` off the queue if it is still there. */
void rsock__remote_forget(struct rsock__sched *S, struct rsock__rwake *n);
/* In the loop: deliver the wakes other threads queued. */
void rsock__remote_drain(struct rsock__sched *S);
/* Wait for events as rsock__loop_idle does, but sleep only while no
 * remote wake is queued, and deliver them after. */
void rsock__loop_wait(struct rsock__sched *S, int timeout_ms);
void rsock__remote_free(struct rsock__sched *S);

/* ---- groups (group.c) ---- */
/* A member finished: count it out and wake the group's waiter. */
void rsock__group_leave(struct rsock__sched *S, struct rsock_fiber *f);

/* ---- stack overflow report (overflow.c) ---- */
int rsock__overflow_guard_init(struct rsock__sched *S);
void rsock__overflow_guard_free(struct rsock__sched *S);

/* Timers (timer.c): arm the current fiber's deadline, disarm it, and wake
 * the fibers whose deadlines have passed; next_timeout is the poller's timeout. */
int rsock__timer_arm(struct rsock__timers *T, struct rsock_fiber *f, int64_t deadline, int result);
void rsock__timer_disarm(struct rsock__timers *T, struct rsock_fiber *f);
void rsock__timer_fire(struct rsock__sched *S, int64_t now);
int rsock__timer_next_timeout(struct rsock__timers *T, int64_t now);
void rsock__timer_free(struct rsock__timers *T);

/* What the loop does when no fiber is ready: busy-poll (if enabled), then
 * wait for events up to timeout_ms (busy_poll.c). */
void rsock__loop_idle(struct rsock__sched *S, int timeout_ms);
/* In a child after fork: a new poller instance with the inherited devices
 * (loop.c). */
void rsock__loop_after_fork(struct rsock__sched *S);

/* Stacks (stack.c). */
void *rsock__stack_get(struct rsock__sched *S, size_t size);
void rsock__stack_put(struct rsock__sched *S, void *stack, size_t size);
void rsock__stack_pool_free(struct rsock__sched *S);
size_t rsock__page_size(void);

/* The resolver's helper thread (resolve.c), stopped at thread exit. */
void rsock__resolver_free(struct rsock__resolver *r);
/* In a child after fork: forget the helper thread (it did not survive). */
void rsock__resolver_after_fork(struct rsock__sched *S);

#endif
