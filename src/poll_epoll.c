/* The readiness backend: epoll, edge-triggered, each device registered once
 * when it is made.  An edge sets the device's ready bits and wakes the
 * fibers parked on that direction; nothing here allocates. */
#include "fiber.h"

#include <errno.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENTS_PER_POLL 256

static int watch(int epfd, struct rsock *s)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ? -errno : 0;
}

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
    int rc = watch(S->epfd, s);
    if (rc < 0)
        return rc;
    /* Output is assumed possible (a wrong guess costs one -EAGAIN); input is
     * not: a wait-first reader parks until the kernel reports data, which
     * epoll does at registration when some is already there. */
    s->ready = RSOCK__OUT;
    link_device(S, s);
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
    if ((rc = watch(S->epfd, s)) < 0)
        return rsock__fail_sys(-rc, "rsock_attach fd %d: epoll_ctl", s->fd);
    struct rsock__sched *old = s->loop;
    if (old) {
        epoll_ctl(old->epfd, EPOLL_CTL_DEL, s->fd, NULL);
        unlink_device(old, s);
    }
    /* Whatever the old loop saw is lost: guess ready both ways (a wrong
     * guess costs one -EAGAIN) and let the new registration report. */
    s->ready = (s->ready & RSOCK__HUP) | RSOCK__IN | RSOCK__OUT;
    link_device(S, s);
    return 0;
}

void rsock__loop_after_fork(struct rsock__sched *S)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return; /* the old instance stays: better than none */
    close(S->epfd);
    S->epfd = epfd;
    for (struct rsock *s = S->devices; s; s = s->loop_next)
        watch(epfd, s); /* epoll reports what is ready already */
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

void rsock__loop_remove(struct rsock *s)
{
    struct rsock__sched *S = s->loop;
    if (!S)
        return;
    /* close(2) alone would not unregister a descriptor someone dup'ed, and
     * the stale registration would then report a freed device. */
    epoll_ctl(S->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    unlink_device(S, s);
    wake_all(S, &s->waiters[0], -ECANCELED);
    wake_all(S, &s->waiters[1], -ECANCELED);
}

static void dispatch(struct rsock__sched *S, const struct epoll_event *ev)
{
    struct rsock *s = ev->data.ptr;
    unsigned e = ev->events;
    if (s == S->remote_dev) { /* another thread queued wakes for this loop */
        s->ready |= RSOCK__IN;
        rsock__remote_drain(S);
        return;
    }
    if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        s->ready |= RSOCK__HUP;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        s->ready |= RSOCK__IN;
        wake_all(S, &s->waiters[0], 0);
    }
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        s->ready |= RSOCK__OUT;
        wake_all(S, &s->waiters[1], 0);
    }
}

void rsock__loop_poll(struct rsock__sched *S, int timeout_ms)
{
    struct epoll_event events[EVENTS_PER_POLL];
    int n = epoll_wait(S->epfd, events, EVENTS_PER_POLL, timeout_ms);
    for (int i = 0; i < n; i++)
        dispatch(S, &events[i]);
}
