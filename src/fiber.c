/* Fibers: one scheduler per thread, made on first use; the thread's own
 * stack is its main fiber.  A fiber that parks with nothing else ready runs
 * the loop itself (the poller's wait on its own stack), so no loop fiber exists and
 * a ping-pong between two fibers costs one switch per hand-off. */
#include "fiber.h"
#include "tsan_fiber.h"
#include "poller.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#ifdef RSOCK_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define DEFAULT_STACK_SIZE (64 * 1024)
#define MIN_STACK_SIZE (16 * 1024)
#define MAX_STACK_SIZE ((size_t)1 << 30) /* a page count that cannot overflow */

/* initial-exec: the library is linked, not dlopen'ed, so its scheduler
 * pointer can sit in the static TLS block and be read without a call to
 * __tls_get_addr (which a shared library's default model makes on every
 * yield, park and wait). */
#define TLS_FAST __attribute__((tls_model("initial-exec")))
__thread struct rsock__sched *rsock__this_sched TLS_FAST;
static __thread int sched_errno TLS_FAST; /* why this thread's loop could not be made */
static pthread_key_t sched_key;
static pthread_once_t sched_key_once = PTHREAD_ONCE_INIT;

int64_t rsock_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t rsock_after(int64_t ms)
{
    if (ms < 0)
        return -1;
    int64_t now = rsock_now();
    return ms > INT64_MAX - now ? INT64_MAX : now + ms;
}

/* ---- ASan: tell it which stack we are on (no-ops otherwise) ---- */

static void *stack_lo(const struct rsock_fiber *f)
{
    return f->stack ? (char *)f->stack + rsock__page_size() : NULL;
}

/* Runs first in every resumed context: release a finished fiber's stack
 * (only now is nobody running on it). */
void rsock__reap(struct rsock__sched *S)
{
    struct rsock_fiber *dead = S->dead;
    if (dead) {
        S->dead = NULL;
        tsan_fiber_destroy(&dead->tsan_fiber);
        rsock__stack_put(S, dead->stack, dead->stack_size);
        dead->stack = NULL;
        if (dead->detached) {
            dead->state = FIBER_FREE;
            dead->next = S->free_fibers;
            S->free_fibers = dead;
        }
    }
}

void rsock__switch_to(struct rsock__sched *S, struct rsock_fiber *from, struct rsock_fiber *to)
{
    S->current = to;
    to->state = FIBER_RUNNING;
    tsan_fiber_switch(&from->tsan_fiber, &to->tsan_fiber);
#ifdef RSOCK_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(from->state == FIBER_DONE ? NULL : &fake,
                                   to == &S->main ? S->main_stack_lo : stack_lo(to),
                                   to == &S->main ? S->main_stack_size : to->stack_size);
    rsock__ctx_switch(&from->ctx, &to->ctx);
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#else
    rsock__ctx_switch(&from->ctx, &to->ctx);
#endif
    rsock__reap(S);
}

/* Switch to the next ready fiber, running the loop while none is ready. */
static void schedule(struct rsock__sched *S, struct rsock_fiber *self)
{
    for (;;) {
        if (rsock__remote_pending(S))
            rsock__remote_drain(S);
        struct rsock_fiber *next = rsock__runq_pop(S);
        if (next) {
            if (next != self)
                rsock__switch(S, self, next);
            else
                self->state = FIBER_RUNNING;
            return;
        }
        int64_t now = rsock_now();
        rsock__timer_fire(S, now);
        if (S->runq_head)
            continue;
        rsock__loop_wait(S, rsock__timer_next_timeout(&S->timers, now));
        rsock__timer_fire(S, rsock_now());
    }
}

int rsock__park_slow(struct rsock__sched *S)
{
    struct rsock_fiber *self = S->current;
    if (self->cancelled)
        return -ECANCELED;
    if (self->cancel_pending) {
        self->cancel_pending = false;
        return -ECANCELED;
    }
    self->park_seq = ++S->park_seq;
    self->state = FIBER_PARKED;
    schedule(S, self);
    return self->wake_result;
}

/* ---- the scheduler's life ---- */

static void free_fiber_list(struct rsock__sched *S)
{
    for (struct rsock_fiber *f = S->all, *next; f; f = next) {
        next = f->all_next;
        tsan_fiber_destroy(&f->tsan_fiber);
        if (f->stack)
            rsock__stack_put(S, f->stack, f->stack_size);
        free(f);
    }
}

/* Fibers parked on what other threads can reach (channels) are taken off
 * it: their stacks are about to go. */
static void unpark_all(struct rsock__sched *S)
{
    for (struct rsock_fiber *f = S->all; f; f = f->all_next)
        if (f->state == FIBER_PARKED && f->unpark)
            f->unpark(f);
}

/* Devices outlive the thread that made them: they forget its loop, so a
 * later rsock_close only closes the descriptor. */
static void orphan_devices(struct rsock__sched *S)
{
    for (struct rsock *s = S->devices, *next; s; s = next) {
        next = s->loop_next;
        s->loop = NULL;
        s->loop_prev = s->loop_next = NULL;
        s->waiters[0] = s->waiters[1] = NULL;
    }
    S->devices = NULL;
}

static void sched_destroy(void *p)
{
    struct rsock__sched *S = p;
    if (!S)
        return;
    rsock__this_sched = S; /* pthread clears TLS keys, not __thread: be sure */
    unpark_all(S);
    rsock__resolver_free(S->resolver);
    rsock__remote_free(S);
    pthread_mutex_lock(&S->devices_lock);
    orphan_devices(S);
    pthread_mutex_unlock(&S->devices_lock);
    pthread_mutex_destroy(&S->devices_lock);
    rsock__overflow_guard_free(S);
    rsock__quarantine_free();
    free_fiber_list(S);
    rsock__stack_pool_free(S);
    rsock__timer_free(&S->timers);
    rsock__poll_term(S);
    free(S);
    rsock__this_sched = NULL;
}

/* fork() copies this thread's scheduler, but the poller's instance would be
 * shared with the parent (each would get the other's events) and the
 * resolver's thread is gone: give the child its own. */
static void after_fork_in_child(void)
{
    if (!rsock__this_sched)
        return;
    rsock__resolver_after_fork(rsock__this_sched);
    rsock__loop_after_fork(rsock__this_sched);
}

static void make_sched_key(void)
{
    pthread_key_create(&sched_key, sched_destroy);
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

/* ASan needs the main stack's bounds to switch back onto it. */
static void note_main_stack(struct rsock__sched *S)
{
#ifdef RSOCK_ASAN
    pthread_attr_t attr;
    void *lo = NULL;
    size_t size = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &lo, &size);
        pthread_attr_destroy(&attr);
    }
    S->main_stack_lo = lo;
    S->main_stack_size = size;
#else
    (void)S;
#endif
}

int rsock__sched_error(void) { return sched_errno ? -sched_errno : -ENOMEM; }

/* NULL when this thread's loop cannot be made; the reason is recorded
 * (callers that report must use rsock__sched_error, not invent one). */
struct rsock__sched *rsock__sched_make(void)
{
    pthread_once(&sched_key_once, make_sched_key);
    struct rsock__sched *S = calloc(1, sizeof *S);
    if (!S) {
        sched_errno = -rsock__fail(ENOMEM, "rsock: no memory for this thread's loop");
        return NULL;
    }
    int rc = rsock__poll_init(S);
    if (rc < 0) {
        sched_errno = -rc;
        free(S);
        return NULL;
    }
    pthread_mutex_init(&S->devices_lock, NULL);
    S->main.state = FIBER_RUNNING;
    S->main.sched = S;
    S->current = &S->main;
    S->stack_size = DEFAULT_STACK_SIZE;
    note_main_stack(S);
    rsock__overflow_guard_init(S); /* best effort: without it, a bare SIGSEGV */
    pthread_setspecific(sched_key, S);
    return rsock__this_sched = S;
}

/* ---- spawn, join, and friends ---- */

static void fiber_finish(struct rsock__sched *S, struct rsock_fiber *self)
{
    if (self->group)
        rsock__group_leave(S, self);
    self->state = FIBER_DONE;
    S->live--;
    if (self->joiner)
        rsock__wake(S, self->joiner, 0);
    if (S->runner && S->live == (S->runner == &S->main ? 0 : 1))
        rsock__wake(S, S->runner, 0);
    S->dead = self;
    schedule(S, self); /* never comes back: nobody switches to a DONE fiber */
    abort();
}

static void fiber_entry(void)
{
    struct rsock__sched *S = rsock__this_sched;
#ifdef RSOCK_ASAN
    __sanitizer_finish_switch_fiber(NULL, NULL, NULL);
#endif
    rsock__reap(S);
    struct rsock_fiber *self = S->current;
    self->fn(self->arg);
    fiber_finish(S, self);
}

static struct rsock_fiber *new_fiber(struct rsock__sched *S)
{
    struct rsock_fiber *f = S->free_fibers;
    if (f) {
        S->free_fibers = f->next;
        return f;
    }
    f = calloc(1, sizeof *f);
    if (f) {
        f->all_next = S->all;
        S->all = f;
    }
    return f;
}

int rsock__spawn(void (*fn)(void *), void *arg, bool detached, rsock_fiber **out)
{
    if (!fn)
        return rsock__fail(EINVAL, "rsock_spawn: NULL function");
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    struct rsock_fiber *f = new_fiber(S);
    void *stack = f ? rsock__stack_get(S, S->stack_size) : NULL;
    if (!stack) {
        if (f) {
            f->state = FIBER_FREE;
            f->next = S->free_fibers;
            S->free_fibers = f;
        }
        return rsock__fail(ENOMEM, "rsock_spawn: no memory for a %zu-byte stack",
                           S->stack_size);
    }
    struct rsock_fiber *all_next = f->all_next;
    *f = (struct rsock_fiber){.all_next = all_next, .fn = fn, .arg = arg, .stack = stack,
                              .stack_size = S->stack_size, .detached = detached, .sched = S};
    rsock__ctx_make(&f->ctx, stack_lo(f), f->stack_size, fiber_entry);
    f->state = FIBER_PARKED;
    rsock__wake(S, f, 0);
    S->live++;
    *out = f;
    return 0;
}

int rsock_spawn(void (*fn)(void *), void *arg, rsock_fiber **out)
{
    rsock_fiber *f = NULL;
    int rc = rsock__spawn(fn, arg, !out, &f);
    if (rc == 0 && out)
        *out = f;
    return rc;
}

static void recycle(struct rsock__sched *S, struct rsock_fiber *f)
{
    f->state = FIBER_FREE;
    f->joiner = NULL;
    f->next = S->free_fibers;
    S->free_fibers = f;
}

/* -EINVAL (recorded) unless `f` is a live fiber of this thread; fibers
 * are resumed only by their own thread's loop. */
static int check_own(const char *op, struct rsock__sched *S, const rsock_fiber *f)
{
    if (!f || !S || f->state == FIBER_FREE)
        return rsock__fail(EINVAL, "%s %p: not a live fiber", op, (const void *)f);
    if (f->sched != S)
        return rsock__fail(EINVAL, "%s %p: a fiber of another thread (only its own thread "
                           "may cancel or join it)", op, (const void *)f);
    return 0;
}

int rsock_join(rsock_fiber *f, int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_get();
    int rc0 = check_own("rsock_join", S, f);
    if (rc0 < 0)
        return rc0;
    if (f->detached || f == S->current || (f->joiner && f->joiner != S->current))
        return rsock__fail(EINVAL, "rsock_join %p: not a fiber this one can join", (void *)f);
    if (f->state != FIBER_DONE) {
        if ((rc0 = rsock__check_cancelled("rsock_join")) < 0)
            return rc0;
        if (deadline == 0)
            return rsock__fail(ETIMEDOUT, "rsock_join %p: still running", (void *)f);
        struct rsock_fiber *self = S->current;
        if (deadline > 0 && rsock__timer_arm(&S->timers, self, deadline, -ETIMEDOUT) < 0)
            return rsock__fail(ENOMEM, "rsock_join: no memory for a timer");
        f->joiner = self;
        int rc = rsock__park(S);
        rsock__timer_disarm(&S->timers, self);
        if (f->state != FIBER_DONE) {
            f->joiner = NULL;
            return rc == -ECANCELED ? rsock__fail(ECANCELED, "rsock_join: cancelled")
                                    : rsock__fail(ETIMEDOUT, "rsock_join %p: timed out", (void *)f);
        }
    }
    recycle(S, f);
    return 0;
}

int rsock_yield(void)
{
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return 0;
    /* Now and then look at the kernel too, so yielding fibers cannot starve
 * the ones parked on I/O (with none parked there is nothing to look for). */
    if ((++S->yields & 255) == 0 && S->io_parked)
        rsock__poll_wait(S, 0);
    struct rsock_fiber *self = S->current;
    self->state = FIBER_PARKED;
    rsock__wake(S, self, 0);
    schedule(S, self);
    return 0;
}

int rsock_sleep(int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    int rc0 = rsock__check_cancelled("rsock_sleep");
    if (rc0 < 0)
        return rc0;
    struct rsock_fiber *self = S->current;
    if (deadline >= 0 && rsock__timer_arm(&S->timers, self, deadline, 0) < 0)
        return rsock__fail(ENOMEM, "rsock_sleep: no memory for a timer");
    int rc = rsock__park(S);
    rsock__timer_disarm(&S->timers, self);
    return rc == -ECANCELED ? rsock__fail(ECANCELED, "rsock_sleep: cancelled") : 0;
}

int rsock_run(void)
{
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return 0;
    struct rsock_fiber *self = S->current;
    while (S->live > (self == &S->main ? 0 : 1)) {
        S->runner = self;
        int rc = rsock__park(S);
        S->runner = NULL;
        if (rc == -ECANCELED && self->cancelled) /* sticky: parking again would spin */
            return rsock__fail(ECANCELED, "rsock_run: cancelled (group)");
    }
    return 0;
}

int rsock__check_cancelled(const char *op)
{
    struct rsock__sched *S = rsock__this_sched;
    if (S && S->current->cancelled)
        return rsock__fail(ECANCELED, "%s: cancelled (the fiber's group was cancelled)", op);
    return 0;
}

int rsock_cancel(rsock_fiber *f)
{
    struct rsock__sched *S = rsock__sched_get();
    int rc = check_own("rsock_cancel", S, f);
    if (rc < 0)
        return rc;
    if (f->state == FIBER_DONE)
        return rsock__fail(EINVAL, "rsock_cancel %p: already finished", (void *)f);
    if (f->state == FIBER_PARKED)
        rsock__wake(S, f, -ECANCELED);
    else
        f->cancel_pending = true;
    return 0;
}

int rsock_set_stack_size(size_t bytes)
{
    if (bytes < MIN_STACK_SIZE || bytes > MAX_STACK_SIZE)
        return rsock__fail(EINVAL, "rsock_set_stack_size %zu: not %d..%zu bytes", bytes,
                           MIN_STACK_SIZE, MAX_STACK_SIZE);
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    size_t page = rsock__page_size();
    size_t size = (bytes + page - 1) / page * page;
    if (size != S->stack_size) {
        rsock__stack_pool_free(S);
        S->stack_size = size;
    }
    return 0;
}
