/* The readiness backend: epoll, edge-triggered, each device registered once
 * when it is made.  An edge sets the device's ready bits and wakes the
 * fibers parked on that direction; nothing here allocates. */
#include "fiber.h"

#include <errno.h>
#include <sys/epoll.h>

#define EVENTS_PER_POLL 256

int rsock__loop_add(struct rsock *s)
{
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return -ENOMEM;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
    if (epoll_ctl(S->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
        return -errno;
    s->loop = S;
    s->ready = RSOCK__IN | RSOCK__OUT;
    return 0;
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
    epoll_ctl(S->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    s->loop = NULL;
    wake_all(S, &s->waiters[0], -ECANCELED);
    wake_all(S, &s->waiters[1], -ECANCELED);
}

static void dispatch(struct rsock__sched *S, const struct epoll_event *ev)
{
    struct rsock *s = ev->data.ptr;
    unsigned e = ev->events;
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
