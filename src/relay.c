/* rsock_relay: both directions of a connection at once.  The caller's
 * fiber copies a -> b, a helper fiber b -> a, both through rsock__copy with
 * one shared idle clock.  The first direction to fail stops the other with
 * rsock_cancel (same thread), so a relay never waits on a silent side
 * after its partner failed; the relay returns only after the helper has
 * ended. */
#include "fiber.h"
#include "io_internal.h"

#include <errno.h>
#include <stdio.h>

struct relay {
    rsock_t *a, *b;
    int64_t deadline, idle_ms, last_active;
    int flags;
    rsock_relay_stats moved;
    struct rsock__sched *S;
    rsock_fiber *caller;
    rsock_fiber *helper; /* while the helper copies (to cancel it), else NULL */
    bool helper_done, caller_waiting, cancelled_caller;
    int err;       /* the first error, or 0 */
    char msg[256]; /* its message */
};

static int64_t copy(struct relay *r, rsock_t *from, rsock_t *to, int64_t *moved)
{
    struct rsock__copy_opts o = {.deadline = r->deadline,
                                 .idle_ms = r->idle_ms,
                                 .flags = r->flags,
                                 .moved = moved,
                                 .last_active = &r->last_active};
    return rsock__copy(from, to, &o);
}

/* A direction ended with `rc`; the first error is the relay's. */
static bool first_failure(struct relay *r, int64_t rc)
{
    if (rc >= 0 || r->err)
        return false;
    r->err = (int)rc;
    snprintf(r->msg, sizeof r->msg, "%s", rsock_error_message());
    return true;
}

static void reverse_main(void *arg)
{
    struct relay *r = arg;
    if (!r->err) { /* else a -> b failed before this fiber first ran */
        r->helper = r->S->current;
        int64_t rc = copy(r, r->b, r->a, &r->moved.b_to_a);
        r->helper = NULL;
        if (first_failure(r, rc)) {
            r->cancelled_caller = true;
            rsock_cancel(r->caller);
        }
    }
    r->helper_done = true;
    if (r->caller_waiting)
        rsock__wake(r->S, r->caller, 0);
}

/* Wait for the helper to end; a cancel while waiting stops it too.  A
 * caller that cannot park (itself cancelled) lets it run by yielding. */
static void await_helper(struct relay *r)
{
    while (!r->helper_done) {
        r->caller_waiting = true;
        int rc = rsock__park(r->S);
        r->caller_waiting = false;
        if (rc == -ECANCELED && !r->helper_done) {
            if (!r->err) {
                r->err = -ECANCELED;
                snprintf(r->msg, sizeof r->msg, "cancelled");
            }
            if (r->helper)
                rsock_cancel(r->helper);
            rsock_yield();
        }
    }
}

static int check_args(rsock_t *a, rsock_t *b, int flags)
{
    if (!a || !b)
        return rsock__fail(EINVAL, "rsock_relay: NULL %s", a ? "b" : "a");
    if (a == b)
        return rsock__fail(EINVAL, "rsock_relay fd %d: a and b are one socket", a->fd);
    if (flags & ~RSOCK_COPY_ADAPTIVE)
        return rsock__fail(EINVAL, "rsock_relay fd %d <-> fd %d: bad flags 0x%x", a->fd, b->fd,
                           flags);
    return 0;
}

int rsock_relay(rsock_t *a, rsock_t *b, int64_t deadline, int64_t idle_ms, int flags,
                rsock_relay_stats *st)
{
    if (st)
        *st = (rsock_relay_stats){0, 0};
    int rc = check_args(a, b, flags);
    struct rsock__sched *S = rc == 0 ? rsock__sched_get() : NULL;
    if (rc < 0)
        return rc;
    if (!S)
        return rsock__fail(ENOMEM, "rsock_relay: no scheduler");
    struct relay r = {.a = a,
                      .b = b,
                      .deadline = deadline,
                      .idle_ms = idle_ms,
                      .last_active = rsock_now(),
                      .flags = flags,
                      .S = S,
                      .caller = S->current};
    if ((rc = rsock_spawn(reverse_main, &r, NULL)) < 0)
        return rc;
    if (first_failure(&r, copy(&r, a, b, &r.moved.a_to_b)) && r.helper)
        rsock_cancel(r.helper);
    await_helper(&r);
    /* A cancel the helper sent while this fiber was running, not parked,
     * may still be pending: it was the relay's, not the caller's. */
    if (r.cancelled_caller)
        S->current->cancel_pending = false;
    if (st)
        *st = r.moved;
    if (r.err)
        return rsock__fail(-r.err, "rsock_relay fd %d <-> fd %d: %s", a->fd, b->fd, r.msg);
    return 0;
}
