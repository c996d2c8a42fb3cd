/* The loop's devices: registration with the poller (poller.h), the list a
 * child re-registers after fork, moving a device to another thread's loop,
 * and what a reported edge does: set the device's ready bits (ready.h) and
 * wake the fibers parked on that direction. */
#include "fiber.h"
#include "poller.h"
#include "ready.h"

#include <errno.h>
#include <pthread.h>

/* The loop's list of devices may be changed by another thread (a device
 * closed or attached elsewhere), hence the lock. */
static void link_device(struct rsock__sched *S, struct rsock *s)
{
    pthread_mutex_lock(&S->devices_lock);
    s->loop = S;
    s->loop_prev = NULL;
    s->loop_next = S->devices;
    if (S->devices)
        S->devices->loop_prev = s;
    S->devices = s;
    pthread_mutex_unlock(&S->devices_lock);
}

static void unlink_device(struct rsock__sched *S, struct rsock *s)
{
    pthread_mutex_lock(&S->devices_lock);
    if (s->loop_prev)
        s->loop_prev->loop_next = s->loop_next;
    else
        S->devices = s->loop_next;
    if (s->loop_next)
        s->loop_next->loop_prev = s->loop_prev;
    s->loop_prev = s->loop_next = NULL;
    s->loop = NULL;
    pthread_mutex_unlock(&S->devices_lock);
}

int rsock__loop_add(struct rsock *s)
{
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return -ENOMEM;
    int rc = rsock__poll_add(S, s);
    if (rc < 0)
        return rc;
    rsock__ready_registered(s);
    link_device(S, s);
    return 0;
}

int rsock_detach(rsock_t *s)
{
    int rc = rsock__check_dev("rsock_detach", s);
    if (rc < 0)
        return rc;
    struct rsock__sched *S = rsock__sched_peek();
    if (!S || s->loop != S)
        return rsock__fail(EINVAL, "rsock_detach fd %d: not waited on by this thread's loop",
                           s->fd);
    if (s->waiters[0] || s->waiters[1])
        return rsock__fail(EBUSY, "rsock_detach fd %d: a fiber is parked on it", s->fd);
    /* Done by the loop's own thread, no event for `s` can be in flight. */
    rsock__poll_remove(S, s);
    unlink_device(S, s);
    return 0;
}

int rsock_attach(rsock_t *s)
{
    int rc = rsock__check_dev("rsock_attach", s);
    if (rc < 0)
        return rc;
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    if (s->loop == S)
        return 0;
    if (s->waiters[0] || s->waiters[1])
        return rsock__fail(EBUSY, "rsock_attach fd %d: a fiber of another thread is parked "
                           "on it", s->fd);
    if ((rc = rsock__poll_add(S, s)) < 0)
        return rsock__fail_sys(-rc, "rsock_attach fd %d: registering with this thread's loop",
                               s->fd);
    struct rsock__sched *old = s->loop;
    if (old) {
        rsock__poll_remove(old, s);
        unlink_device(old, s);
    }
    rsock__ready_moved(s); /* the new registration reports what it sees */
    link_device(S, s);
    return 0;
}

void rsock__loop_after_fork(struct rsock__sched *S)
{
    if (rsock__poll_after_fork(S) < 0)
        return; /* the old instance stays: better than none */
    for (struct rsock *s = S->devices; s; s = s->loop_next)
        rsock__poll_add(S, s); /* the poller reports what is ready already */
}

static void wake_all(struct rsock__sched *S, struct rsock__waiter **list, int result)
{
    while (*list) {
        struct rsock__waiter *w = *list;
        *list = w->next;
        if (w->next)
            w->next->prevp = list;
        w->prevp = NULL;
        rsock__wake(S, w->fiber, result);
    }
}

static void leave_loop(struct rsock *s, bool tell_poller)
{
    struct rsock__sched *S = s->loop;
    if (!S)
        return;
    if (tell_poller)
        rsock__poll_remove(S, s);
    unlink_device(S, s);
    wake_all(S, &s->waiters[0], -ECANCELED);
    wake_all(S, &s->waiters[1], -ECANCELED);
}

void rsock__loop_remove(struct rsock *s) { leave_loop(s, true); }

void rsock__loop_forget(struct rsock *s) { leave_loop(s, false); }

void rsock__loop_event(struct rsock__sched *S, struct rsock *s, unsigned events)
{
    /* A closed device: an edge harvested before its close, or one of a
     * descriptor a child held for a moment after the close (a
     * posix_spawn(3) child before its exec runs no fork handler; the
     * device's memory is quarantined meanwhile, socket.c). */
    if (__builtin_expect(s->magic != RSOCK__LIVE, 0))
        return;
    if (s == S->remote_dev) { /* another thread queued wakes for this loop */
        rsock__ready_set(s, RSOCK__IN);
        rsock__remote_drain(S);
        return;
    }
    rsock__ready_set(s, events);
    if (events & RSOCK__IN)
        wake_all(S, &s->waiters[0], 0);
    if (events & RSOCK__OUT)
        wake_all(S, &s->waiters[1], 0);
}
