/* The poller (poller.h) on epoll, edge-triggered: each device is registered
 * once, for input, output and hang-up, and an edge is handed to the loop
 * as RSOCK__ bits.  Nothing here allocates. */
#include "fiber.h"
#include "poller.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EVENTS_PER_POLL 256

int rsock__poll_init(struct rsock__sched *S)
{
    S->poll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (S->poll_fd < 0)
        return rsock__fail_sys(errno, "rsock: cannot make this thread's loop: epoll_create1");
    return 0;
}

void rsock__poll_term(struct rsock__sched *S) { close(S->poll_fd); }

int rsock__poll_add(struct rsock__sched *S, struct rsock *s)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = s};
    return epoll_ctl(S->poll_fd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ? -errno : 0;
}

void rsock__poll_remove(struct rsock__sched *S, struct rsock *s)
{
    epoll_ctl(S->poll_fd, EPOLL_CTL_DEL, s->fd, NULL);
}

int rsock__poll_after_fork(struct rsock__sched *S)
{
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return -errno;
    close(S->poll_fd);
    S->poll_fd = epfd;
    return 0;
}

/* epoll's events as the loop's bits: an error or a hang-up wakes both
 * directions (the waiter's next call sees it). */
static unsigned to_bits(unsigned e)
{
    unsigned bits = 0;
    if (e & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        bits |= RSOCK__HUP;
    if (e & (EPOLLHUP | EPOLLERR))
        bits |= RSOCK__ERR;
    if (e & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        bits |= RSOCK__IN;
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        bits |= RSOCK__OUT;
    return bits;
}

void rsock__poll_wait(struct rsock__sched *S, int timeout_ms)
{
    struct epoll_event events[EVENTS_PER_POLL];
    int n = epoll_wait(S->poll_fd, events, EVENTS_PER_POLL, timeout_ms);
    for (int i = 0; i < n; i++)
        rsock__loop_event(S, events[i].data.ptr, to_bits(events[i].events));
}
