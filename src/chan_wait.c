/* Parking on channels.  A parked operation is a waiter on the fiber's
 * stack, linked on its channel's list of senders or receivers (chan.h); a
 * wait over several clauses (rsock_chan_choose) parks one waiter per
 * clause, all sharing a choice that exactly one party claims: a peer that
 * completes or wakes one of the clauses, or the fiber itself giving up
 * (deadline, cancel).  A peer of another thread wakes the fiber through
 * its loop's eventfd (remote.c). */
#include "chan.h"

#include <errno.h>

void rsock__chan_notify(struct rsock__sched *S, rsock_chan *c, int op)
{
    bool biased = chan_lock(c, S);
    struct chan_waiter *w = chan_claim(c, op);
    chan_unlock(c, biased);
    if (w)
        chan_finish(S, w, CHAN_RETRY);
}

/* A peer decided the choice: wait until it is done with it (a few
 * instructions; only a peer on another thread can still be there). */
static void decided(struct chan_choice *ch)
{
    for (int spins = 0; !atomic_load_explicit(&ch->released, memory_order_acquire);)
        rsock__chan_backoff(&spins);
}

/* ---- the wait's locks and waiters ---- */

void rsock__chan_lock_all(struct rsock__sched *S, struct chan_wait *cw)
{
    for (size_t i = 0; i < cw->nlocks; i++)
        cw->biased[i] = chan_lock(cw->locks[i], S);
}

void rsock__chan_unlock_all(struct chan_wait *cw)
{
    for (size_t i = cw->nlocks; i-- > 0;)
        chan_unlock(cw->locks[i], cw->biased[i]);
}

static void choice_init(struct rsock__sched *S, struct chan_choice *ch, bool single)
{
    atomic_init(&ch->index, CHAN_UNCLAIMED); /* field by field: a park is a hot path */
    atomic_init(&ch->released, false);
    ch->single = single;
    ch->queued = false;
    ch->wake.fiber = S->current;
    ch->wake.seq = S->park_seq + 1; /* rsock__park numbers the park it starts */
    ch->wake.queued = false;
}

/* The wait of one clause, over `cl`, `w` and the lock taken `*biased`. */
static void wait_of_one(struct chan_wait *cw, rsock_chan_clause *cl, struct chan_waiter *w,
                        bool *biased)
{
    cw->cl = cl, cw->n = 1, cw->w = w, cw->locks = &cl->chan, cw->biased = biased;
    cw->nlocks = 1;
}

/* Woken for nothing: the wake node renumbered for the next park. */
static void renumber(struct rsock__sched *S, struct chan_wait *cw)
{
    rsock__chan_lock_all(S, cw);
    cw->ch.wake.seq = S->park_seq + 1;
    rsock__chan_unlock_all(cw);
}

static void enqueue_all(struct chan_wait *cw)
{
    for (size_t i = 0; i < cw->n; i++) {
        const rsock_chan_clause *cl = &cw->cl[i];
        cw->w[i].choice = &cw->ch;
        cw->w[i].index = (int)i;
        cw->w[i].elem = cl->elem;
        chan_link(cl->chan, cl->op, &cw->w[i]);
    }
    cw->enqueued = true;
}

static void dequeue_locked(struct chan_wait *cw)
{
    for (size_t i = 0; i < cw->n; i++)
        chan_unlink(cw->cl[i].chan, cw->cl[i].op, &cw->w[i]);
    cw->enqueued = false;
}

static void dequeue_all(struct rsock__sched *S, struct chan_wait *cw)
{
    if (!cw->enqueued)
        return;
    rsock__chan_lock_all(S, cw);
    dequeue_locked(cw);
    rsock__chan_unlock_all(cw);
}

/* The thread exits while the fiber is parked: off every list, and past
 * any peer still finishing (the stack is about to go). */
static void unpark_wait(struct rsock_fiber *f)
{
    struct chan_wait *cw = f->unpark_arg;
    dequeue_all(f->sched, cw);
    if (atomic_load_explicit(&cw->ch.index, memory_order_acquire) >= 0)
        decided(&cw->ch);
}

/* With the waiters linked (and the wait bits set): the ring clauses tried
 * once more, in order, so that none misses a peer that came meanwhile.
 * A clause done (outcome in *rc, whose peers must be told if *notify), or -1. */
static int retry_rings(struct chan_wait *cw, int *rc, bool *notify)
{
    for (size_t i = 0; i < cw->n; i++) {
        const rsock_chan_clause *cl = &cw->cl[i];
        if (!cl->chan->capacity)
            continue;
        int r = rsock__ring_try(cl->chan, cl->op, cl->elem, notify);
        if (r != 0) {
            *rc = r < 0 ? r : 0;
            return (int)i;
        }
    }
    return -1;
}

/* The park loop: until the choice is decided or the fiber gives up (0, or
 * the reason), with the waiters linked and no lock held. */
static inline __attribute__((always_inline)) int sleep_on(struct rsock__sched *S,
                                                         struct chan_wait *cw, int64_t deadline)
{
    struct rsock_fiber *self = S->current;
    struct chan_choice *ch = &cw->ch;
    int rc = 0;
    if (deadline > 0 && rsock__timer_arm(&S->timers, self, deadline, -ETIMEDOUT) < 0)
        rc = -ENOMEM;
    self->unpark = unpark_wait, self->unpark_arg = cw;
    for (bool first = true;
         rc == 0 && atomic_load_explicit(&ch->index, memory_order_acquire) == CHAN_UNCLAIMED;
         first = false) {
        if (!first)
            renumber(S, cw);
        rc = rsock__park(S);
    }
    self->unpark = NULL, self->unpark_arg = NULL;
    if (deadline > 0)
        rsock__timer_disarm(&S->timers, self);
    return rc;
}

/* After sleep_on: the clause decided (by a peer, perhaps while the fiber
 * was giving up), or -1 when the fiber abandoned the choice.  Every waiter
 * is off its list after, and no peer can reach the choice but through the
 * loop's queue. */
static inline __attribute__((always_inline)) int settle(struct rsock__sched *S,
                                                       struct chan_wait *cw)
{
    struct chan_choice *ch = &cw->ch;
    int index = atomic_load_explicit(&ch->index, memory_order_acquire);
    if (index < 0) { /* giving up, unless a peer decides first */
        int expect = CHAN_UNCLAIMED;
        if (ch->single) { /* decided under the lock only */
            rsock__chan_lock_all(S, cw);
            index = atomic_load_explicit(&ch->index, memory_order_relaxed);
            if (index == CHAN_UNCLAIMED)
                atomic_store_explicit(&ch->index, CHAN_ABANDONED, memory_order_relaxed);
            rsock__chan_unlock_all(cw);
        } else if (!atomic_compare_exchange_strong(&ch->index, &expect, CHAN_ABANDONED)) {
            index = expect;
        }
    }
    /* A peer that won took its own waiter off; the others, or all of them
     * when the fiber gave up, are ours to take off. */
    if (index < 0 || cw->n > 1)
        dequeue_all(S, cw);
    if (index >= 0)
        decided(ch);
    if (ch->queued)
        rsock__remote_forget(S, &ch->wake);
    return index < 0 ? -1 : index;
}

int rsock__chan_park(struct rsock__sched *S, struct chan_wait *cw, int64_t deadline, int *rc)
{
    choice_init(S, &cw->ch, cw->n == 1);
    enqueue_all(cw);
    bool notify = false;
    int done = retry_rings(cw, rc, &notify);
    if (done >= 0) { /* our waiters off first: the peer told is not one of ours */
        dequeue_locked(cw);
        const rsock_chan_clause *cl = &cw->cl[done];
        struct chan_waiter *peer = notify ? chan_claim(cl->chan, chan_other(cl->op)) : NULL;
        rsock__chan_unlock_all(cw);
        if (peer)
            chan_finish(S, peer, CHAN_RETRY);
        return done;
    }
    rsock__chan_unlock_all(cw);
    int reason = sleep_on(S, cw, deadline);
    int index = settle(S, cw);
    if (index < 0)
        return reason ? reason : -ETIMEDOUT;
    *rc = cw->ch.result;
    if (reason && *rc == CHAN_RETRY) { /* giving up: pass the wake on */
        rsock__chan_notify(S, cw->cl[index].chan, cw->cl[index].op);
        return reason;
    }
    return index;
}

/* ---- one rendezvous between two fibers of this thread ---- */

/* rsock__chan_park_local's frame: the general wait's, whose fields beyond
 * the choice are filled only when the park takes the general way. */
struct local_park {
    struct chan_wait cw;
    struct chan_waiter w;
    rsock_chan_clause cl;
    bool biased;
};

/* The thread exits while the fiber is parked in rsock__chan_park_local. */
static void unpark_local(struct rsock_fiber *f)
{
    struct local_park *p = f->unpark_arg;
    bool biased = chan_lock(p->cl.chan, f->sched);
    chan_unlink(p->cl.chan, p->cl.op, &p->w);
    chan_unlock(p->cl.chan, biased);
    if (atomic_load_explicit(&p->cw.ch.index, memory_order_acquire) >= 0)
        decided(&p->cw.ch);
}

/* The park did not end with a peer of this thread deciding it (a wake for
 * nothing, a cancel, or a peer of another thread, which may come once the
 * channel has lost its bias): on as rsock__chan_wait_one goes. */
static __attribute__((noinline)) int park_local_rest(struct rsock__sched *S,
                                                     struct local_park *p, int reason)
{
    struct chan_wait *cw = &p->cw;
    wait_of_one(cw, &p->cl, &p->w, &p->biased);
    cw->enqueued = true;
    if (reason == 0 &&
        atomic_load_explicit(&cw->ch.index, memory_order_acquire) == CHAN_UNCLAIMED) {
        renumber(S, cw);
        reason = sleep_on(S, cw, -1);
    }
    if (settle(S, cw) < 0)
        return reason ? reason : -ETIMEDOUT;
    return cw->ch.result;
}

int rsock__chan_park_local(struct rsock__sched *S, rsock_chan *c, int op, void *elem)
{
    struct local_park p;
    struct chan_choice *ch = &p.cw.ch;
    choice_init(S, ch, true);
    p.cl.chan = c, p.cl.op = op, p.cl.elem = elem;
    p.w.choice = ch, p.w.index = 0, p.w.elem = elem;
    chan_link(c, op, &p.w);
    chan_unlock(c, true);
    struct rsock_fiber *self = S->current;
    self->unpark = unpark_local, self->unpark_arg = &p;
    int reason = rsock__park(S);
    self->unpark = NULL, self->unpark_arg = NULL;
    /* What settle() finds when a peer of this thread decided: it took our
     * waiter off, is done with the choice, and woke us with no queue. */
    int rc;
    if (reason == 0 && atomic_load_explicit(&ch->index, memory_order_acquire) >= 0 &&
        atomic_load_explicit(&ch->released, memory_order_acquire) && !ch->queued)
        rc = ch->result;
    else
        rc = park_local_rest(S, &p, reason);
    return rc == 0 ? 0 : rsock__chan_report(p.cl.chan, p.cl.op, rc);
}

int rsock__chan_wait_one(struct rsock__sched *S, rsock_chan *c, int op, void *elem,
                         int64_t deadline, bool biased)
{
    rsock_chan_clause cl = {.chan = c, .op = op, .elem = elem};
    struct chan_waiter w;
    struct chan_wait cw;
    wait_of_one(&cw, &cl, &w, &biased);
    for (;;) { /* park's steps for one clause, without its loops */
        choice_init(S, &cw.ch, true);
        w.choice = &cw.ch, w.index = 0, w.elem = elem;
        chan_link(c, op, &w);
        cw.enqueued = true;
        if (c->capacity) { /* linked, and the wait bit set: try once more */
            bool notify = false;
            int r = rsock__ring_try(c, op, elem, &notify);
            if (r != 0) {
                chan_unlink(c, op, &w);
                struct chan_waiter *peer = notify ? chan_claim(c, chan_other(op)) : NULL;
                chan_unlock(c, biased);
                if (peer)
                    chan_finish(S, peer, CHAN_RETRY);
                return r > 0 ? 0 : r;
            }
        }
        chan_unlock(c, biased);
        int reason = sleep_on(S, &cw, deadline);
        if (settle(S, &cw) < 0)
            return reason ? reason : -ETIMEDOUT;
        if (cw.ch.result != CHAN_RETRY)
            return cw.ch.result;
        if (reason) { /* giving up: pass the wake on */
            rsock__chan_notify(S, c, op);
            return reason;
        }
        int r = rsock__ring_op(S, c, op, elem); /* woken to try the ring again */
        if (r != 0)
            return r > 0 ? 0 : r;
        biased = chan_lock(c, S);
    }
}
