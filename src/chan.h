/* Channels, internal: the channel, its lock, its ring and its parked
 * fibers, shared by chan.c (make, send, receive), chan_lock.c,
 * chan_ring.c, chan_wait.c (parking) and chan_choose.c.
 *
 * A buffered channel's messages sit in a lock-free ring (a stamp per slot,
 * as in Vyukov's bounded queue): a send with room or a receive with a
 * message takes no lock.  A fiber that must wait parks a waiter on the
 * channel's list (under the channel's lock) and sets a bit in the word its
 * peers move (receivers: `tail`, senders: `head`), so the peer whose
 * compare-and-swap sees the bit tells one parked fiber to try again.
 * A rendezvous channel (capacity 0) has no ring: a send and a receive meet
 * under the lock and the message is copied straight across. */
#ifndef RSOCK_CHAN_H
#define RSOCK_CHAN_H

#include "fiber.h"

#include <stdatomic.h>
#include <string.h>

#define CHAN_UNCLAIMED (-1)
#define CHAN_ABANDONED (-2)
#define CHAN_RETRY 1 /* a waiter's result: the ring changed, try again */

/* One park of a fiber, over one or several clauses: exactly one party
 * decides it, by setting `index` (a peer to the clause it completes or
 * wakes, the fiber itself to ABANDONED when it gives up). */
struct chan_choice {
    atomic_int index;           /* CHAN_UNCLAIMED, CHAN_ABANDONED, or a clause */
    int result;                 /* 0 (handed over), -EPIPE or CHAN_RETRY */
    bool queued;                /* the wake went through the loop's queue */
    bool single;                /* one clause: decided under its channel's lock */
    atomic_bool released;       /* the deciding peer will not touch this again */
    struct rsock__rwake wake;
};

struct chan_waiter {
    struct chan_waiter *prev, *next;
    struct chan_choice *choice;
    int index;
    void *elem;                 /* rendezvous: receive into / send from */
    bool linked;
};

struct chan_wlist {
    struct chan_waiter *head, *tail;
};

struct chan_slot {
    atomic_size_t stamp;        /* lap|index: free for that send; +1: full */
    unsigned char data[];
};

struct rsock_chan {
    /* Positions lap|index, each on its own cache line: senders move tail,
     * receivers head.  tail also holds `mark` (done) and `wait_bit`
     * (receivers parked); head holds `wait_bit` (senders parked). */
    _Alignas(64) atomic_size_t tail;
    _Alignas(64) atomic_size_t head;
    _Alignas(64) size_t elem_size, capacity;
    size_t stride;              /* bytes per slot */
    size_t mark, wait_bit, one_lap;
    unsigned char *slots;
    /* The lock guards the waiter lists (see chan_lock). */
    atomic_int lock;
    struct rsock__sched *owner; /* the thread it is biased to, or NULL */
    atomic_bool shared;         /* another thread has used it: always lock */
    atomic_int owner_busy;      /* the owner is inside, without the lock */
    struct chan_wlist senders, receivers;
};

/* ---- the lock (chan_lock.c) ----
 * Biased: a channel used by one thread only (fibers talking to fibers, the
 * common case) is entered with no atomic read-modify-write: its owner flags
 * `owner_busy` and checks `shared`.  True when entered by the bias (leave
 * with the same answer). */
void rsock__chan_lock_slow(rsock_chan *c, struct rsock__sched *S);
/* Whether channels may be biased (membarrier(2) works, no TSan). */
bool rsock__chan_bias_ok(void);
/* Spin a little, then give the CPU away: waiting for another thread a few
 * instructions from done (it may have been preempted). */
void rsock__chan_backoff(int *spins);

static inline void chan_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline bool chan_lock(rsock_chan *c, struct rsock__sched *S)
{
    if (c->owner == S && !atomic_load_explicit(&c->shared, memory_order_relaxed)) {
        atomic_store_explicit(&c->owner_busy, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        if (!atomic_load_explicit(&c->shared, memory_order_relaxed))
            return true;
        atomic_store_explicit(&c->owner_busy, 0, memory_order_release);
    }
    rsock__chan_lock_slow(c, S);
    return false;
}

/* chan_lock for the owner only: false (nothing held) when the channel is
 * shared or not this thread's. */
static inline bool chan_lock_owner(rsock_chan *c)
{
    if (atomic_load_explicit(&c->shared, memory_order_relaxed))
        return false;
    atomic_store_explicit(&c->owner_busy, 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst);
    if (!atomic_load_explicit(&c->shared, memory_order_relaxed))
        return true;
    atomic_store_explicit(&c->owner_busy, 0, memory_order_release);
    return false;
}

static inline void chan_unlock(rsock_chan *c, bool biased)
{
    if (biased)
        atomic_store_explicit(&c->owner_busy, 0, memory_order_release);
    else
        atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* ---- the ring's common case, inline (a leaf: no register to save) ----
 * One attempt at a send with room or a receive with a message, of a word
 * or less, with nobody parked on the other side: true when done; false
 * for anything else (full, empty, done, contention, a peer to tell),
 * which the whole way (chan_ring.c) then decides from the start. */
static inline __attribute__((always_inline)) struct chan_slot *chan_slot_at(const rsock_chan *c,
                                                                            size_t index)
{
    return (struct chan_slot *)(c->slots + index * c->stride);
}

/* The position after `pos`: the next index, or index 0 of the next lap. */
static inline __attribute__((always_inline)) size_t chan_next_pos(const rsock_chan *c, size_t pos)
{
    size_t index = pos & (c->mark - 1);
    return index + 1 < c->capacity ? pos + 1 : (pos & ~(c->one_lap - 1)) + c->one_lap;
}

static inline __attribute__((always_inline)) bool chan_word(const rsock_chan *c)
{
    return c->elem_size == 8 || c->elem_size == 4 || c->elem_size == 0;
}

static inline __attribute__((always_inline)) void chan_copy_word(const rsock_chan *c, void *to,
                                                                 const void *from)
{
    if (c->elem_size == 8)
        memcpy(to, from, 8);
    else if (c->elem_size == 4)
        memcpy(to, from, 4);
}

static inline __attribute__((always_inline)) bool chan_ring_try_word(rsock_chan *c, int op,
                                                                     void *elem)
{
    if (!chan_word(c) || (!elem && c->elem_size))
        return false;
    atomic_size_t *word = op == RSOCK_CHAN_SEND ? &c->tail : &c->head;
    size_t pos = atomic_load_explicit(word, memory_order_relaxed);
    if (pos & (c->mark | c->wait_bit)) /* done, or the other side parked */
        return false;
    struct chan_slot *s = chan_slot_at(c, pos & (c->mark - 1));
    size_t want = op == RSOCK_CHAN_SEND ? pos : pos + 1; /* free for this lap, or full */
    if (atomic_load_explicit(&s->stamp, memory_order_acquire) != want ||
        !atomic_compare_exchange_strong_explicit(word, &pos, chan_next_pos(c, pos),
                                                 memory_order_seq_cst, memory_order_relaxed))
        return false;
    if (op == RSOCK_CHAN_SEND) {
        chan_copy_word(c, s->data, elem);
        atomic_store_explicit(&s->stamp, pos + 1, memory_order_release);
    } else {
        chan_copy_word(c, elem, s->data);
        atomic_store_explicit(&s->stamp, pos + c->one_lap, memory_order_release);
    }
    return true;
}

/* ---- the ring (chan_ring.c): no lock ----
 * A send (op RSOCK_CHAN_SEND, from elem) or a receive (into elem): 1 done;
 * 0 full or empty; -EPIPE the channel is done (a receive: and empty).
 * *notify: fibers of the other side are parked, one must be told. */
int rsock__ring_try(rsock_chan *c, int op, void *elem, bool *notify);
/* The same, telling the parked fiber itself (S: this thread's scheduler). */
int rsock__ring_op(struct rsock__sched *S, rsock_chan *c, int op, void *elem);
int rsock__ring_send(struct rsock__sched *S, rsock_chan *c, const void *elem);
int rsock__ring_recv(struct rsock__sched *S, rsock_chan *c, void *elem);
void rsock__ring_init(rsock_chan *c);


static inline bool chan_done(const rsock_chan *c)
{
    return atomic_load_explicit(&c->tail, memory_order_acquire) & c->mark;
}

/* A message's bytes (most are a pointer or a number: no call to memcpy). */
static inline __attribute__((always_inline)) void chan_copy(const rsock_chan *c, void *to,
                                                          const void *from)
{
    if (chan_word(c))
        chan_copy_word(c, to, from);
    else
        memcpy(to, from, c->elem_size);
}

/* ---- parked fibers: the lists (under the channel's lock) ----
 * Inline: a rendezvous hand-off is a claim and a finish, no more. */

static inline int chan_other(int op)
{
    return op == RSOCK_CHAN_SEND ? RSOCK_CHAN_RECV : RSOCK_CHAN_SEND;
}

static inline struct chan_wlist *chan_list(rsock_chan *c, int op)
{
    return op == RSOCK_CHAN_SEND ? &c->senders : &c->receivers;
}

/* The word whose wait bit tells op's peers that op's fibers are parked. */
static inline atomic_size_t *chan_wait_word(rsock_chan *c, int op)
{
    return op == RSOCK_CHAN_SEND ? &c->head : &c->tail;
}

static inline void chan_link(rsock_chan *c, int op, struct chan_waiter *w)
{
    struct chan_wlist *l = chan_list(c, op);
    if (!l->head && c->capacity) /* ordered before the ring is tried again */
        atomic_fetch_or_explicit(chan_wait_word(c, op), c->wait_bit, memory_order_seq_cst);
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    w->linked = true;
}

/* Off the list (if on it); the last one off clears the wait bit. */
static inline void chan_unlink(rsock_chan *c, int op, struct chan_waiter *w)
{
    struct chan_wlist *l = chan_list(c, op);
    if (!w->linked)
        return;
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->linked = false;
    if (!l->head && c->capacity)
        atomic_fetch_and_explicit(chan_wait_word(c, op), ~c->wait_bit, memory_order_relaxed);
}

/* Win the waiter's choice for its clause.  A choice of one clause is only
 * ever decided under its channel's lock, which we hold: a load and a store
 * do (an atomic read-modify-write costs as much as a fiber switch).  A
 * choice across channels is raced for by compare-and-swap. */
static inline bool chan_claim_one(struct chan_waiter *w)
{
    struct chan_choice *ch = w->choice;
    if (ch->single) {
        if (atomic_load_explicit(&ch->index, memory_order_relaxed) != CHAN_UNCLAIMED)
            return false;
        atomic_store_explicit(&ch->index, w->index, memory_order_release);
        return true;
    }
    int expect = CHAN_UNCLAIMED;
    return atomic_compare_exchange_strong(&ch->index, &expect, w->index);
}

/* The first waiter of `op`'s list whose choice this party wins, taken off
 * (under c's lock); NULL when none.  Waiters decided already are dropped. */
static inline struct chan_waiter *chan_claim(rsock_chan *c, int op)
{
    for (struct chan_waiter *w; (w = chan_list(c, op)->head);) {
        chan_unlink(c, op, w);
        if (chan_claim_one(w))
            return w;
    }
    return NULL;
}

/* remote.c, for channels: rsock__remote_wake (fiber.h) of a node on the
 * fiber's stack, setting *released (the fiber may leave) as soon as the
 * node is queued, before the loop's eventfd is written. */
void rsock__remote_wake_release(struct rsock__rwake *n, int result, atomic_bool *released);

/* chan_finish for a waiter whose fiber is of this thread (S's): no call
 * made, so a caller that is a leaf stays one. */
static inline __attribute__((always_inline)) void chan_finish_local(struct rsock__sched *S,
                                                                  struct chan_waiter *w,
                                                                  int result)
{
    struct chan_choice *ch = w->choice;
    ch->result = result;
    ch->queued = false;
    if (ch->wake.fiber->park_seq == ch->wake.seq)
        rsock__wake(S, ch->wake.fiber, 0);
    /* The last touch: the fiber, which may see its choice decided at once
     * (another thread), leaves only after this (its stack holds `ch`). */
    atomic_store_explicit(&ch->released, true, memory_order_release);
}

/* Tell a claimed waiter its outcome (after unlocking: a wake of another
 * thread's fiber is a syscall).  S: this thread's scheduler, or NULL. */
static inline __attribute__((always_inline)) void chan_finish(struct rsock__sched *S,
                                                            struct chan_waiter *w, int result)
{
    struct chan_choice *ch = w->choice;
    struct rsock_fiber *f = ch->wake.fiber;
    if (f->sched != S) {
        ch->result = result;
        ch->queued = true;
        rsock__remote_wake_release(&ch->wake, 0, &ch->released);
        return;
    }
    chan_finish_local(S, w, result);
}

/* ---- parking (chan_wait.c) ---- */

/* Wake one of the fibers parked in `op` on c (to try the ring again). */
void rsock__chan_notify(struct rsock__sched *S, rsock_chan *c, int op);

/* One operation under its channel's lock (chan.c): 1 done, 0 must wait,
 * -EPIPE.  A peer to finish after unlocking goes to *wake / *wake_result. */
int rsock__chan_try(rsock_chan *c, int op, void *elem, struct chan_waiter **wake,
                    int *wake_result);

/* A wait in progress, over one clause (send, receive) or several
 * (choose): its waiters, and its distinct channels in the order they are
 * locked (by address, as Go's select does, so two waits never deadlock). */
struct chan_wait {
    const rsock_chan_clause *cl;
    size_t n;
    struct chan_waiter *w;
    rsock_chan **locks;
    bool *biased;               /* how each lock was taken */
    size_t nlocks;
    bool enqueued;
    struct chan_choice ch;
};

void rsock__chan_lock_all(struct rsock__sched *S, struct chan_wait *cw);
void rsock__chan_unlock_all(struct chan_wait *cw);
/* With every lock held and no clause able to proceed (this thread's
 * remote wakes enabled): park until a peer decides the wait or the fiber
 * gives up.  Returns with no lock held: the clause decided, its outcome in
 * *rc (0 done, -EPIPE, or CHAN_RETRY: a ring clause's state changed, try
 * it again), or the reason for giving up (-ETIMEDOUT, -ECANCELED, -ENOMEM). */
int rsock__chan_park(struct rsock__sched *S, struct chan_wait *cw, int64_t deadline, int *rc);
/* rsock__chan_park for one send or receive, holding c's lock (taken
 * `biased` or not), trying the ring again after each wake that says so:
 * 0 done, -EPIPE, or the reason for giving up. */
int rsock__chan_wait_one(struct rsock__sched *S, rsock_chan *c, int op, void *elem,
                         int64_t deadline, bool biased);
/* The same for a rendezvous channel biased to this thread, entered with
 * the bias held, and no deadline: the common fiber-to-fiber exchange,
 * which a peer of this thread ends.  0, or -errno recorded (-EPIPE, or the
 * reason for giving up). */
int rsock__chan_park_local(struct rsock__sched *S, rsock_chan *c, int op, void *elem);
/* An operation's failure (rc < 0) recorded, naming it: -errno. */
int rsock__chan_report(rsock_chan *c, int op, int rc);

#endif
