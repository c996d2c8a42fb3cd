/* A buffered channel's ring, lock-free: a bounded queue with a stamp per
 * slot (Dmitry Vyukov's design, with a lap count beside the index so that
 * any capacity works without a division, as crossbeam's array channel).
 * A position is lap|index; slot i's stamp says what it waits for: equal to
 * the send position that may fill it, or that position + 1 once full (the
 * receive at that position may empty it, which sets the next lap's send
 * position).  A send or receive claims its position by compare-and-swap,
 * copies, then publishes the slot's new stamp.
 *
 * Flag bits above the index: tail's `mark` says the channel is done (no
 * send claims a position after it is set, so a receiver that finds the
 * ring empty and marked knows nothing more comes), and each position's
 * `wait_bit` says fibers are parked (receivers on tail, senders on head).
 * The compare-and-swap that claims a position reads the bit in the same
 * step, so a fiber that sets it and then tries once more cannot miss a
 * message (or a room) made by a peer that did not see it. */
#include "chan.h"

#include <errno.h>

void rsock__ring_init(rsock_chan *c)
{
    for (size_t i = 0; i < c->capacity; i++)
        atomic_init(&chan_slot_at(c, i)->stamp, i);
}

/* The cores, inline in each caller: -EPIPE, 0, 1 done, or NOTIFY (done,
 * and the other side's fibers are parked). */
#define NOTIFY 2

static inline __attribute__((always_inline)) int ring_send(rsock_chan *c, const void *elem)
{
    size_t flags = c->mark | c->wait_bit;
    size_t tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
    for (int spins = 0;;) {
        if (tail & c->mark)
            return -EPIPE;
        size_t pos = tail & ~flags;
        struct chan_slot *s = chan_slot_at(c, pos & (c->mark - 1));
        size_t stamp = atomic_load_explicit(&s->stamp, memory_order_acquire);
        if (stamp == pos) { /* free for this lap: claim it */
            size_t next = chan_next_pos(c, pos) | (tail & c->wait_bit);
            if (atomic_compare_exchange_weak_explicit(&c->tail, &tail, next, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                chan_copy(c, s->data, elem);
                atomic_store_explicit(&s->stamp, pos + 1, memory_order_release);
                return tail & c->wait_bit ? NOTIFY : 1;
            }
            continue; /* tail reloaded by the failed exchange */
        }
        if (stamp + c->one_lap == pos + 1) { /* still full from the last lap */
            atomic_thread_fence(memory_order_seq_cst);
            size_t head = atomic_load_explicit(&c->head, memory_order_relaxed) & ~c->wait_bit;
            if (head + c->one_lap == pos)
                return 0; /* full: a receive has not even claimed it */
        }
        /* a peer between its claim and its stamp, or tail moved: again */
        rsock__chan_backoff(&spins);
        tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
    }
}

static inline __attribute__((always_inline)) int ring_recv(rsock_chan *c, void *elem)
{
    size_t flags = c->mark | c->wait_bit;
    size_t head = atomic_load_explicit(&c->head, memory_order_relaxed);
    for (int spins = 0;;) {
        size_t pos = head & ~c->wait_bit;
        struct chan_slot *s = chan_slot_at(c, pos & (c->mark - 1));
        size_t stamp = atomic_load_explicit(&s->stamp, memory_order_acquire);
        if (stamp == pos + 1) { /* full for this lap: claim it */
            size_t next = chan_next_pos(c, pos) | (head & c->wait_bit);
            if (atomic_compare_exchange_weak_explicit(&c->head, &head, next, memory_order_seq_cst,
                                                      memory_order_relaxed)) {
                chan_copy(c, elem, s->data);
                atomic_store_explicit(&s->stamp, pos + c->one_lap, memory_order_release);
                return head & c->wait_bit ? NOTIFY : 1;
            }
            continue;
        }
        if (stamp == pos) { /* not filled: empty, unless a send claimed it */
            atomic_thread_fence(memory_order_seq_cst);
            size_t tail = atomic_load_explicit(&c->tail, memory_order_relaxed);
            if ((tail & ~flags) == pos)
                return tail & c->mark ? -EPIPE : 0;
        }
        rsock__chan_backoff(&spins);
        head = atomic_load_explicit(&c->head, memory_order_relaxed);
    }
}

int rsock__ring_try(rsock_chan *c, int op, void *elem, bool *notify)
{
    int r = op == RSOCK_CHAN_SEND ? ring_send(c, elem) : ring_recv(c, elem);
    *notify = r == NOTIFY;
    return r == NOTIFY ? 1 : r;
}

int rsock__ring_send(struct rsock__sched *S, rsock_chan *c, const void *elem)
{
    int r = ring_send(c, elem);
    if (r != NOTIFY)
        return r;
    rsock__chan_notify(S, c, RSOCK_CHAN_RECV);
    return 1;
}

int rsock__ring_recv(struct rsock__sched *S, rsock_chan *c, void *elem)
{
    int r = ring_recv(c, elem);
    if (r != NOTIFY)
        return r;
    rsock__chan_notify(S, c, RSOCK_CHAN_SEND);
    return 1;
}

int rsock__ring_op(struct rsock__sched *S, rsock_chan *c, int op, void *elem)
{
    return op == RSOCK_CHAN_SEND ? rsock__ring_send(S, c, elem) : rsock__ring_recv(S, c, elem);
}
