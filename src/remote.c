/* Wakes from other threads: a fiber parked on a channel or an offloaded
 * call is made ready by whichever thread completes it.  That thread queues
 * the fiber's wake node on the fiber's loop under a mutex and writes the
 * loop's eventfd only when the loop sleeps (or is about to): a loop that is
 * busy finds the queue on its way to the next sleep, with no syscall. */
#include "fiber.h"
#include "ready.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct rsock__remote {
    pthread_mutex_t lock;
    struct rsock__rwake *head, *tail;
    atomic_size_t count;   /* nodes queued: read without the lock */
    atomic_int sleeping;   /* the loop is in (or entering) epoll_wait */
    atomic_int kicking;    /* wakers past the queue, before the eventfd: keep R */
    struct rsock dev;      /* the eventfd, registered with the loop */
};

int rsock__remote_enable(struct rsock__sched *S, const char *op)
{
    if (S->remote)
        return 0;
    struct rsock__remote *R = calloc(1, sizeof *R);
    if (!R)
        return rsock__fail(ENOMEM, "%s: no memory for a cross-thread wake-up", op);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        free(R);
        return rsock__fail_sys(err, "%s: eventfd for cross-thread wake-ups", op);
    }
    R->dev = (struct rsock){.magic = RSOCK__LIVE, .fd = fd, .open = RSOCK__IN};
    int rc = rsock__loop_add(&R->dev);
    if (rc < 0) {
        close(fd);
        free(R);
        return rsock__fail_sys(-rc, "%s: registering the wake-up eventfd", op);
    }
    pthread_mutex_init(&R->lock, NULL);
    S->remote_dev = &R->dev;
    S->remote = R;
    S->remote_queued = &R->count;
    return 0;
}

void rsock__rwake_init(struct rsock__rwake *n, struct rsock__sched *S)
{
    /* rsock__park numbers the park it starts: the next one is this. */
    *n = (struct rsock__rwake){.fiber = S->current, .seq = S->park_seq + 1};
}

static void push(struct rsock__remote *R, struct rsock__rwake *n)
{
    n->queued = true;
    n->next = NULL;
    n->prev = R->tail;
    if (R->tail)
        R->tail->next = n;
    else
        R->head = n;
    R->tail = n;
    atomic_fetch_add(&R->count, 1);
}

static void unlink_node(struct rsock__remote *R, struct rsock__rwake *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        R->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        R->tail = n->prev;
    n->queued = false;
    atomic_fetch_sub(&R->count, 1);
}

/* Write the loop's eventfd if it sleeps (or is about to). */
static void kick(struct rsock__remote *R)
{
    if (atomic_exchange(&R->sleeping, 0)) {
        uint64_t one = 1;
        while (write(R->dev.fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
}

bool rsock__remote_wake(struct rsock__rwake *n, int result)
{
    struct rsock_fiber *f = n->fiber;
    struct rsock__sched *S = f->sched;
    if (S == rsock__sched_peek()) {
        if (f->park_seq == n->seq)
            rsock__wake(S, f, result);
        return false;
    }
    struct rsock__remote *R = S->remote;
    n->result = result;
    pthread_mutex_lock(&R->lock);
    if (!n->queued)
        push(R, n);
    pthread_mutex_unlock(&R->lock);
    kick(R);
    return true;
}

void rsock__remote_wake_release(struct rsock__rwake *n, int result, atomic_bool *released)
{
    struct rsock__remote *R = n->fiber->sched->remote;
    n->result = result;
    pthread_mutex_lock(&R->lock);
    if (!n->queued)
        push(R, n);
    atomic_fetch_add_explicit(&R->kicking, 1, memory_order_relaxed); /* before the fiber can leave */
    pthread_mutex_unlock(&R->lock);
    /* The fiber may run now (its loop may be draining already): it need
     * not wait for the write, a syscall its thread would spin through. */
    atomic_store_explicit(released, true, memory_order_release);
    kick(R);
    atomic_fetch_sub_explicit(&R->kicking, 1, memory_order_release);
}

void rsock__remote_forget(struct rsock__sched *S, struct rsock__rwake *n)
{
    struct rsock__remote *R = S->remote;
    if (!R)
        return;
    pthread_mutex_lock(&R->lock);
    if (n->queued)
        unlink_node(R, n);
    pthread_mutex_unlock(&R->lock);
}

static __attribute__((noinline)) void drain(struct rsock__sched *S, struct rsock__remote *R)
{
    pthread_mutex_lock(&R->lock);
    while (R->head) {
        struct rsock__rwake *n = R->head;
        unlink_node(R, n);
        struct rsock_fiber *f = n->fiber;
        if (f->state == FIBER_PARKED && f->park_seq == n->seq)
            rsock__wake(S, f, n->result);
    }
    pthread_mutex_unlock(&R->lock);
}

/* Called before every switch: with nothing queued, a load and no call. */
void rsock__remote_drain(struct rsock__sched *S)
{
    struct rsock__remote *R = S->remote;
    if (R && atomic_load_explicit(&R->count, memory_order_relaxed))
        drain(S, R);
}

/* The eventfd said a remote wake came while the loop slept: forget it.
 * Its count is never read: the poller is edge-triggered, and an eventfd
 * reports an edge on every write whatever its count (the count would need
 * 2^64 wakes to fill), so a read per wake would be a syscall for nothing. */
static void clear_eventfd(struct rsock__remote *R)
{
    rsock__ready_clear(&R->dev, RSOCK__IN);
}

void rsock__loop_wait(struct rsock__sched *S, int timeout_ms)
{
    struct rsock__remote *R = S->remote;
    if (!R) {
        rsock__loop_idle(S, timeout_ms);
        return;
    }
    /* Announce the sleep, then look once more: a waker either sees the
     * flag (and writes the eventfd) or queued before we looked. */
    atomic_store(&R->sleeping, 1);
    if (atomic_load(&R->count) == 0)
        rsock__loop_idle(S, timeout_ms);
    atomic_store(&R->sleeping, 0);
    clear_eventfd(R);
    rsock__remote_drain(S);
}

void rsock__remote_free(struct rsock__sched *S)
{
    struct rsock__remote *R = S->remote;
    if (!R)
        return;
    /* A waker still on its way to the eventfd (it counted itself in under
     * the lock, before its fiber could leave): a few instructions. */
    pthread_mutex_lock(&R->lock);
    pthread_mutex_unlock(&R->lock);
    while (atomic_load_explicit(&R->kicking, memory_order_acquire))
        sched_yield();
    rsock__loop_remove(&R->dev);
    close(R->dev.fd);
    pthread_mutex_destroy(&R->lock);
    free(R);
    S->remote = NULL;
    S->remote_queued = NULL;
    S->remote_dev = NULL;
}
