/* rsock_relay: both directions of a connection at once.  The caller's
 * fiber copies a -> b, a helper fiber b -> a, both through rsock__copy with
 * one shared idle clock.  The first direction to fail stops the other with
 * rsock_cancel (same thread), so a relay never waits on a silent side
 * after its partner failed; the relay returns only after the helper has
 * ended.
 *
 * rsock_relay_stop adds a watcher fiber parked on the caller's `stop`
 * channel: when it is done, the watcher sets `stopping` and cancels each
 * direction that is parked for input (it holds nothing there); a direction
 * busy writing sees the flag before its next read.  So each direction ends
 * with every byte it read written, and the relay returns -EINTR.
 *
 * With RSOCK_RELAY_CLOSING the direction that reaches its end of stream
 * second skips its shutdown (the copy's `closing`): both streams have
 * ended, the relay returns 0 and the caller's close sends the FIN, one
 * syscall fewer per connection.  The first still shuts down (a half-close
 * travels), and a stopped relay never gets there (one direction stopped). */
#include "fiber.h"
#include "io_internal.h"

#include <errno.h>
#include <stdio.h>

struct relay {
    rsock_t *a, *b;
    int64_t deadline, idle_ms, last_active;
    int flags;      /* the copies' (RSOCK_COPY_*) */
    bool closing;   /* RSOCK_RELAY_CLOSING: the caller closes both sockets */
    bool one_ended; /* a direction reached its end of stream (and shut down) */
    rsock_relay_stats moved;
    struct rsock__sched *S;
    rsock_fiber *caller;
    rsock_fiber *helper; /* while the helper copies (to cancel it), else NULL */
    bool helper_done, caller_waiting, cancelled_caller;
    rsock_chan *stop;                /* rsock_relay_stop's, else NULL */
    bool stopping, stopped;          /* asked to stop; a direction did */
    bool a_waiting_in, b_waiting_in; /* a -> b / b -> a parked for input */
    rsock_fiber *watcher;            /* while it waits on `stop` */
    bool watcher_done, ended;
    int err;       /* the first error, or 0 */
    char msg[256]; /* its message */
};

static int64_t copy(struct relay *r, rsock_t *from, rsock_t *to, int64_t *moved, bool *waiting_in)
{
    struct rsock__copy_opts o = {.deadline = r->deadline,
                                 .idle_ms = r->idle_ms,
                                 .flags = r->flags,
                                 .moved = moved,
                                 .last_active = &r->last_active,
                                 .stop = r->stop ? &r->stopping : NULL,
                                 .waiting_in = waiting_in,
                                 .closing = r->closing ? &r->one_ended : NULL};
    int64_t rc = rsock__copy(from, to, &o);
    if (rc >= 0)
        r->one_ended = true; /* the other's end of stream is the relay's end */
    return rc;
}

/* A direction ended with `rc`; the first error is the relay's (a stop is
 * none: the other direction goes on to its own stop). */
static bool first_failure(struct relay *r, int64_t rc)
{
    if (rc == -EINTR && r->stopping) {
        r->stopped = true;
        return false;
    }
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
        int64_t rc = r->stopping ? (r->stopped = true, 0)
                                 : copy(r, r->b, r->a, &r->moved.b_to_a, &r->b_waiting_in);
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

/* rsock_relay_stop's watcher: the stop channel done (or a signal on it)
 * stops both directions where they hold nothing; a cancel (the relay
 * ended) just returns. */
static void watch_stop(void *arg)
{
    struct relay *r = arg;
    int rc = -ECANCELED;
    if (!r->ended) { /* else the relay ended before this fiber first ran */
        r->watcher = r->S->current;
        rc = rsock_chan_recv(r->stop, NULL, -1);
        r->watcher = NULL;
    }
    if (rc != -ECANCELED) {
        r->stopping = true;
        if (r->a_waiting_in)
            rsock_cancel(r->caller);
        if (r->b_waiting_in && r->helper)
            rsock_cancel(r->helper);
    }
    r->watcher_done = true;
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

/* The relay is over: end the watcher (cancel it where it waits) and wait
 * for it, as await_helper waits for the helper. */
static void await_watcher(struct relay *r)
{
    r->ended = true;
    if (r->watcher)
        rsock_cancel(r->watcher);
    while (!r->watcher_done) {
        r->caller_waiting = true;
        int rc = rsock__park(r->S);
        r->caller_waiting = false;
        if (rc == -ECANCELED && !r->watcher_done)
            rsock_yield();
    }
}

static int check_args(rsock_t *a, rsock_t *b, int flags)
{
    if (!a || !b)
        return rsock__fail(EINVAL, "rsock_relay: NULL %s", a ? "b" : "a");
    if (a == b)
        return rsock__fail(EINVAL, "rsock_relay fd %d: a and b are one socket", a->fd);
    if (flags & ~(RSOCK_COPY_ADAPTIVE | RSOCK_RELAY_CLOSING))
        return rsock__fail(EINVAL, "rsock_relay fd %d <-> fd %d: bad flags 0x%x", a->fd, b->fd,
                           flags);
    return 0;
}

static int relay_run(rsock_t *a, rsock_t *b, int64_t deadline, int64_t idle_ms, int flags,
                     rsock_chan *stop, rsock_relay_stats *st)
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
                      .flags = flags & RSOCK_COPY_ADAPTIVE,
                      .closing = flags & RSOCK_RELAY_CLOSING,
                      .S = S,
                      .caller = S->current,
                      .stop = stop,
                      .watcher_done = !stop};
    if (stop && (rc = rsock_spawn(watch_stop, &r, NULL)) < 0)
        return rc;
    if ((rc = rsock_spawn(reverse_main, &r, NULL)) < 0) {
        await_watcher(&r);
        return rc;
    }
    if (first_failure(&r, copy(&r, a, b, &r.moved.a_to_b, &r.a_waiting_in)) && r.helper)
        rsock_cancel(r.helper);
    await_helper(&r);
    await_watcher(&r);
    /* A cancel the helper sent while this fiber was running, not parked,
     * may still be pending: it was the relay's, not the caller's. */
    if (r.cancelled_caller)
        S->current->cancel_pending = false;
    if (st)
        *st = r.moved;
    if (r.err)
        return rsock__fail(-r.err, "rsock_relay fd %d <-> fd %d: %s", a->fd, b->fd, r.msg);
    if (r.stopped)
        return rsock__fail(EINTR,
                           "rsock_relay fd %d <-> fd %d: stopped (after %lld and %lld bytes)",
                           a->fd, b->fd, (long long)r.moved.a_to_b, (long long)r.moved.b_to_a);
    return 0;
}

int rsock_relay(rsock_t *a, rsock_t *b, int64_t deadline, int64_t idle_ms, int flags,
                rsock_relay_stats *st)
{
    return relay_run(a, b, deadline, idle_ms, flags, NULL, st);
}

int rsock_relay_stop(rsock_t *a, rsock_t *b, int64_t deadline, int64_t idle_ms, int flags,
                     rsock_chan *stop, rsock_relay_stats *st)
{
    if (!stop) {
        if (st)
            *st = (rsock_relay_stats){0, 0};
        return rsock__fail(EINVAL, "rsock_relay_stop: NULL stop channel");
    }
    return relay_run(a, b, deadline, idle_ms, flags, stop, st);
}
