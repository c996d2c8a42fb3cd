/* fd-io-in / fd-io-out: park the calling fiber on one direction of a device
 * until an edge, the deadline, or the device's close.  A direction whose
 * ready bit is still set returns at once, with no syscall. */
#include "fiber.h"
#include "ready.h"

#include <errno.h>

static void unlink_waiter(struct rsock__waiter *w)
{
    if (!w->prevp)
        return;
    *w->prevp = w->next;
    if (w->next)
        w->next->prevp = w->prevp;
    w->prevp = NULL;
}

/* A deadline that had passed long before the call began is most likely a
 * duration given where a deadline belongs: say so. */
#define PAST_BY_MS 1000

int rsock__timeout_msg(const char *op, int fd, int64_t deadline, int64_t began)
{
    if (deadline > 0 && deadline + PAST_BY_MS < began)
        return rsock__fail(ETIMEDOUT, "%s fd %d: deadline %lld is in the past (now %lld): a "
                           "duration? use rsock_after(%lld)", op, fd, (long long)deadline,
                           (long long)began, (long long)deadline);
    return rsock__fail(ETIMEDOUT, "%s fd %d: timed out", op, fd);
}

static int wait_ready(const char *op, rsock_t *s, unsigned dir, int64_t deadline)
{
    int rc = rsock__check_dev(op, s);
    if (rc == 0)
        rc = rsock__check_cancelled(op);
    if (rc < 0)
        return rc;
    if (rsock__ready_has(s, dir))
        return 0;
    struct rsock__sched *S = rsock__sched_get();
    if (!S || s->loop != S)
        return rsock__fail(EINVAL, "%s fd %d: not a device of this thread's loop (another "
                           "thread's must be handed over with rsock_attach)", op, s->fd);
    int fd = s->fd; /* after a close wakes us, `s` is not ours to read */
    int64_t began = deadline > 0 ? rsock_now() : 0;
    if (deadline == 0 || (deadline > 0 && deadline <= began))
        return deadline == 0 ? rsock__fail(ETIMEDOUT, "%s fd %d: not ready", op, fd)
                             : rsock__timeout_msg(op, fd, deadline, began);
    struct rsock_fiber *self = S->current;
    struct rsock__waiter w = {.fiber = self};
    struct rsock__waiter **list = &s->waiters[dir == RSOCK__IN ? 0 : 1];
    if (deadline > 0 && rsock__timer_arm(&S->timers, self, deadline, -ETIMEDOUT) < 0)
        return rsock__fail(ENOMEM, "%s fd %d: no memory for a timer", op, fd);
    w.next = *list;
    if (w.next)
        w.next->prevp = &w.next;
    w.prevp = list;
    *list = &w;
    S->io_parked++;
    rc = rsock__park(S);
    S->io_parked--;
    unlink_waiter(&w);
    rsock__timer_disarm(&S->timers, self);
    if (rc == -ETIMEDOUT)
        return rsock__fail(ETIMEDOUT, "%s fd %d: timed out", op, fd);
    if (rc == -ECANCELED)
        return rsock__fail(ECANCELED, "%s fd %d: cancelled (closed or rsock_cancel)", op, fd);
    return rc;
}

int rsock_wait_in(rsock_t *s, int64_t deadline)
{
    return wait_ready("rsock_wait_in", s, RSOCK__IN, deadline);
}

int rsock_wait_out(rsock_t *s, int64_t deadline)
{
    return wait_ready("rsock_wait_out", s, RSOCK__OUT, deadline);
}
