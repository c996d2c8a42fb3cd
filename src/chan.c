/* Channels: fixed-size messages between fibers of any threads (chan.h says
 * how they are built).  Here: making and freeing one, done, and the send
 * and receive of one message, whose common cases take no lock (a buffered
 * channel with room or a message) or only the channel's biased lock (a
 * rendezvous with a parked peer of the same thread). */
#include "chan.h"

#include <errno.h>
#include <stdlib.h>

/* ---- make, done, free ---- */

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

/* The lowest power of two above n. */
static size_t pow2_above(size_t n)
{
    size_t p = 1;
    while (p <= n)
        p <<= 1;
    return p;
}

int rsock_chan_new(size_t elem_size, size_t capacity, rsock_chan **out)
{
    if (!out)
        return rsock__fail(EINVAL, "rsock_chan_new: NULL out");
    size_t stride = round_up(sizeof(struct chan_slot) + elem_size, sizeof(size_t));
    if (elem_size > (1u << 20) || capacity > (SIZE_MAX >> 8) / stride)
        return rsock__fail(EINVAL, "rsock_chan_new %zu x %zu: too large", elem_size, capacity);
    rsock_chan *c = aligned_alloc(64, round_up(sizeof *c, 64));
    unsigned char *slots = capacity ? aligned_alloc(64, round_up(capacity * stride, 64)) : NULL;
    if (!c || (capacity && !slots)) {
        free(c), free(slots);
        return rsock__fail(ENOMEM, "rsock_chan_new %zu x %zu: out of memory", elem_size,
                           capacity);
    }
    memset(c, 0, sizeof *c);
    c->elem_size = elem_size;
    c->capacity = capacity;
    c->stride = stride;
    c->slots = slots;
    c->mark = pow2_above(capacity);
    c->wait_bit = c->mark << 1;
    c->one_lap = c->mark << 2;
    rsock__ring_init(c);
    if (rsock__chan_bias_ok())
        c->owner = rsock__sched_get(); /* biased to its maker's thread */
    atomic_store(&c->shared, c->owner == NULL);
    *out = c;
    return 0;
}

int rsock_chan_done(rsock_chan *c)
{
    if (!c)
        return rsock__fail(EINVAL, "rsock_chan_done: NULL channel");
    struct rsock__sched *S = rsock__sched_peek();
    bool biased = chan_lock(c, S);
    atomic_fetch_or_explicit(&c->tail, c->mark, memory_order_seq_cst);
    /* Parked fibers learn it: a rendezvous's at once, a ring's by trying
     * again (receivers still get what is queued). */
    int result = c->capacity ? CHAN_RETRY : -EPIPE;
    for (struct chan_waiter *w; (w = chan_claim(c, RSOCK_CHAN_SEND));)
        chan_finish(S, w, result);
    for (struct chan_waiter *w; (w = chan_claim(c, RSOCK_CHAN_RECV));)
        chan_finish(S, w, result);
    chan_unlock(c, biased);
    return 0;
}

int rsock_chan_free(rsock_chan *c)
{
    if (!c)
        return 0;
    bool biased = chan_lock(c, rsock__sched_peek());
    bool busy = c->senders.head || c->receivers.head;
    chan_unlock(c, biased);
    if (busy)
        return rsock__fail(EBUSY, "rsock_chan_free %p: a fiber is parked on it", (void *)c);
    free(c->slots);
    free(c);
    return 0;
}

/* ---- send and receive ---- */

/* A rendezvous under c's lock: the message goes straight across to a
 * parked peer, who is then in *wake. */
static inline __attribute__((always_inline)) int meet(rsock_chan *c, int op, void *elem, struct chan_waiter **wake)
{
    if (op == RSOCK_CHAN_SEND && chan_done(c))
        return -EPIPE;
    if (chan_list(c, chan_other(op))->head) {
        struct chan_waiter *peer = chan_claim(c, chan_other(op));
        if (peer) {
            if (op == RSOCK_CHAN_SEND)
                chan_copy(c, peer->elem, elem);
            else
                chan_copy(c, elem, peer->elem);
            *wake = peer;
            return 1;
        }
    }
    return chan_done(c) ? -EPIPE : 0;
}

int rsock__chan_try(rsock_chan *c, int op, void *elem, struct chan_waiter **wake,
                    int *wake_result)
{
    if (!c->capacity) {
        *wake_result = 0;
        return meet(c, op, elem, wake);
    }
    bool notify = false;
    int r = rsock__ring_try(c, op, elem, &notify);
    if (notify) { /* the lock is ours: claim the peer here */
        *wake = chan_claim(c, chan_other(op));
        *wake_result = CHAN_RETRY;
    }
    return r;
}

int rsock__chan_report(rsock_chan *c, int op, int rc)
{
    const char *name = op == RSOCK_CHAN_SEND ? "rsock_chan_send" : "rsock_chan_recv";
    switch (rc) {
    case -EPIPE:
        return rsock__fail(EPIPE, "%s %p: the channel is done", name, (void *)c);
    case -EAGAIN:
        return rsock__fail(ETIMEDOUT, "%s %p: %s", name, (void *)c,
                           op == RSOCK_CHAN_SEND ? "no room and no receiver (deadline 0)"
                                                 : "nothing to receive (deadline 0)");
    case -ETIMEDOUT:
        return rsock__fail(ETIMEDOUT, "%s %p: timed out", name, (void *)c);
    case -ECANCELED:
        return rsock__fail(ECANCELED, "%s %p: cancelled", name, (void *)c);
    case -ENOMEM:
        return rsock__fail(ENOMEM, "%s %p: no memory for a timer", name, (void *)c);
    default:
        return rc; /* recorded where it happened */
    }
}

/* What the common path leaves out: the checks that refuse (recorded), this
 * thread's loop made, and its first park's wake-up from other threads
 * prepared.  0 when the operation may go on. */
static __attribute__((noinline)) int prepare(rsock_chan *c, int op, const void *elem,
                                             int64_t deadline)
{
    const char *name = op == RSOCK_CHAN_SEND ? "rsock_chan_send" : "rsock_chan_recv";
    if (!c)
        return rsock__fail(EINVAL, "%s: NULL channel", name);
    if (!elem && c->elem_size)
        return rsock__fail(EINVAL, "%s: NULL elem for %zu-byte messages", name, c->elem_size);
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    if (S->current->cancelled)
        return rsock__fail(ECANCELED, "%s %p: cancelled (the fiber's group was cancelled)", name,
                           (void *)c);
    if (deadline != 0 && !S->remote) /* a park may come: other threads must reach it */
        return rsock__remote_enable(S, name);
    return 0;
}

/* One send or receive: 0, or -errno recorded.  Inline in each, so that
 * `op` is a constant (a rendezvous, a ring that must wait). */
static inline __attribute__((always_inline)) int one(struct rsock__sched *S, rsock_chan *c,
                                                     int op, void *elem, int64_t deadline)
{
    if (!c || (!elem && c->elem_size) || !S || S->current->cancelled ||
        (deadline != 0 && !S->remote)) {
        int rc = prepare(c, op, elem, deadline);
        if (rc < 0)
            return rc;
        S = rsock__sched_peek();
    }
    int r;
    if (c->capacity) {
        r = op == RSOCK_CHAN_SEND ? rsock__ring_send(S, c, elem) : rsock__ring_recv(S, c, elem);
        if (r > 0)
            return 0;
        if (r == 0)
            r = deadline == 0 ? -EAGAIN
                              : rsock__chan_wait_one(S, c, op, elem, deadline, chan_lock(c, S));
    } else {
        bool biased = chan_lock(c, S);
        struct chan_waiter *peer = NULL;
        r = meet(c, op, elem, &peer);
        if (r > 0) {
            chan_unlock(c, biased);
            chan_finish(S, peer, 0);
            return 0;
        }
        if (r < 0 || deadline == 0) {
            chan_unlock(c, biased);
            r = r ? r : -EAGAIN;
        } else if (biased && deadline < 0) {
            return rsock__chan_park_local(S, c, op, elem); /* reports */
        } else {
            r = rsock__chan_wait_one(S, c, op, elem, deadline, biased);
        }
    }
    return r == 0 ? 0 : rsock__chan_report(c, op, r);
}

/* A buffered channel's common case first, with little to save or check:
 * the ring has room (a message), and nothing has to be refused. */
static inline __attribute__((always_inline)) bool ring_ready(rsock_chan *c, const void *elem,
                                                             struct rsock__sched *S)
{
    return (elem || !c->elem_size) && S && !S->current->cancelled;
}

static __attribute__((noinline)) int send_rest(rsock_chan *c, const void *elem, int64_t deadline)
{
    return one(rsock__sched_peek(), c, RSOCK_CHAN_SEND, (void *)elem, deadline);
}

static __attribute__((noinline)) int recv_rest(rsock_chan *c, void *elem, int64_t deadline)
{
    return one(rsock__sched_peek(), c, RSOCK_CHAN_RECV, elem, deadline);
}

/* The ring's common case (room, or a message), else all of one(). */
static __attribute__((noinline)) int send_ring_rest(rsock_chan *c, const void *elem,
                                                     int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_peek();
    if (ring_ready(c, elem, S) && rsock__ring_send(S, c, elem) > 0)
        return 0;
    return send_rest(c, elem, deadline);
}

static __attribute__((noinline)) int recv_ring_rest(rsock_chan *c, void *elem, int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_peek();
    if (ring_ready(c, elem, S) && rsock__ring_recv(S, c, elem) > 0)
        return 0;
    return recv_rest(c, elem, deadline);
}

/* First the leaf (chan_ring_try_word), then the whole way. */
static __attribute__((noinline)) int send_ring(rsock_chan *c, const void *elem, int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_peek();
    if (S && !S->current->cancelled && chan_ring_try_word(c, RSOCK_CHAN_SEND, (void *)elem))
        return 0;
    return send_ring_rest(c, elem, deadline);
}

static __attribute__((noinline)) int recv_ring(rsock_chan *c, void *elem, int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_peek();
    if (S && !S->current->cancelled && chan_ring_try_word(c, RSOCK_CHAN_RECV, elem))
        return 0;
    return recv_ring_rest(c, elem, deadline);
}

/* ---- a rendezvous between two fibers of one thread ----
 * Every fiber-to-fiber exchange over an unbuffered channel: the channel
 * biased to this thread, no deadline, nothing to refuse, a message of a
 * word or less.  Either a peer is parked (one that waits for this
 * operation alone): the message crosses and the peer is made ready; or
 * this fiber parks.  Written to save no register and to leave by a jump
 * (a hand-off costs a few times a fiber switch, and each push counts);
 * anything else goes the general way, which decides the same from the
 * start. */

static inline __attribute__((always_inline)) int rdv_local(rsock_chan *c, int op, void *elem,
                                                           int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_peek();
    if (!S || c->owner != S || deadline >= 0 || !chan_word(c) || (!elem && c->elem_size) ||
        S->current->cancelled || !chan_lock_owner(c))
        goto general;
    if (chan_done(c))
        goto unlock;
    struct chan_waiter *peer = chan_claim(c, chan_other(op));
    if (!peer) {
        if (!S->remote) /* a park: other threads must be able to reach it */
            goto unlock;
        return rsock__chan_park_local(S, c, op, elem);
    }
    if (op == RSOCK_CHAN_SEND) /* a word: no call to memcpy, so no register to save */
        chan_copy_word(c, peer->elem, elem);
    else
        chan_copy_word(c, elem, peer->elem);
    chan_unlock(c, true);
    /* The peer is a fiber of this thread: a waiter is linked under the
     * lock, and any other thread's first lock ends the bias. */
    chan_finish_local(S, peer, 0);
    return 0;
unlock:
    chan_unlock(c, true);
general:
    return op == RSOCK_CHAN_SEND ? send_rest(c, elem, deadline) : recv_rest(c, elem, deadline);
}

/* Entries that only choose a path: no registers to save on the way. */
int rsock_chan_send(rsock_chan *c, const void *elem, int64_t deadline)
{
    if (c && !c->capacity)
        return rdv_local(c, RSOCK_CHAN_SEND, (void *)elem, deadline);
    return c ? send_ring(c, elem, deadline) : send_rest(c, elem, deadline);
}

int rsock_chan_recv(rsock_chan *c, void *elem, int64_t deadline)
{
    if (c && !c->capacity)
        return rdv_local(c, RSOCK_CHAN_RECV, elem, deadline);
    return c ? recv_ring(c, elem, deadline) : recv_rest(c, elem, deadline);
}
