/* Channels: fixed-size messages between fibers of any threads.  A mutex
 * per channel guards a ring of `capacity` messages and two FIFO lists of
 * parked fibers (senders, receivers).  A parked operation is a waiter on
 * the fiber's stack; rsock_chan_choose parks one waiter per clause, all
 * sharing a `choice` that exactly one party claims, by compare-and-swap:
 * a peer that completes one of the clauses, or the fiber itself giving up
 * (deadline, cancel).  A peer of another thread wakes the fiber through
 * its loop's eventfd (remote.c). */
#include "fiber.h"

#include <errno.h>
#include <stdio.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define UNCLAIMED (-1)
#define ABANDONED (-2)
#define INLINE_CLAUSES 8

struct choice {
    atomic_int index;           /* UNCLAIMED, ABANDONED, or the clause done */
    int result;                 /* of the clause done: 0 or -EPIPE */
    bool queued;                /* the wake went through the loop's queue */
    bool single;                /* one clause: decided under its channel's lock */
    atomic_bool released;       /* the deciding peer will not touch this again */
    struct rsock__rwake wake;
};

struct waiter {
    struct waiter *prev, *next;
    struct choice *choice;
    int index;
    void *elem;                 /* receive into / send from */
    bool linked;
};

struct wlist {
    struct waiter *head, *tail;
};

struct rsock_chan {
    atomic_int lock;
    struct rsock__sched *owner; /* the thread it is biased to, or NULL */
    atomic_bool shared;         /* another thread has used it: always lock */
    atomic_int owner_busy;      /* the owner is inside, without the lock */
    size_t elem_size, capacity;
    char *ring;
    size_t head, count;
    bool done;
    struct wlist senders, receivers;
};

/* ---- waiter lists (under the channel's lock) ---- */

static void wl_push(struct wlist *l, struct waiter *w)
{
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
    w->linked = true;
}

static void wl_remove(struct wlist *l, struct waiter *w)
{
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
}

/* Win the waiter's choice for its clause.  A choice of one clause is only
 * ever decided under its channel's lock, which we hold: a load and a store
 * do (an atomic read-modify-write costs as much as a fiber switch).  A
 * choice across channels is raced for by compare-and-swap. */
static bool claim(struct waiter *w)
{
    struct choice *ch = w->choice;
    if (ch->single) {
        if (atomic_load_explicit(&ch->index, memory_order_relaxed) != UNCLAIMED)
            return false;
        atomic_store_explicit(&ch->index, w->index, memory_order_release);
        return true;
    }
    int expect = UNCLAIMED;
    return atomic_compare_exchange_strong(&ch->index, &expect, w->index);
}

/* The first waiter whose choice this party wins, taken off the list;
 * waiters whose choice is already decided are dropped on the way. */
static struct waiter *wl_claim(struct wlist *l)
{
    while (l->head) {
        struct waiter *w = l->head;
        wl_remove(l, w);
        if (claim(w))
            return w;
    }
    return NULL;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* One step of waiting for another thread a few instructions from done:
 * spin a little, then give the CPU away (it may be that thread's, which
 * was preempted). */
static void backoff(int *spins)
{
    if (++*spins < 100) {
        cpu_relax();
    } else {
        sched_yield();
        *spins = 0;
    }
}

/* Tell a claimed waiter its clause is done (under the channel's lock, so
 * that its fiber, taking the lock after a timeout, sees the wake queued). */
static void finish(struct waiter *w, int result)
{
    struct choice *ch = w->choice;
    ch->result = result;
    ch->queued = ch->wake.fiber->sched != rsock__sched_peek();
    rsock__remote_wake(&ch->wake, 0);
    /* The last touch: the fiber, which may see its choice decided at once
     * (another thread), leaves only after this (its stack holds `ch`). */
    atomic_store_explicit(&ch->released, true, memory_order_release);
}

/* A peer decided the choice: wait until it is done with it (a few
 * instructions; only a peer on another thread can still be there). */
static int decided(struct choice *ch, int index)
{
    for (int spins = 0; !atomic_load_explicit(&ch->released, memory_order_acquire);)
        backoff(&spins);
    return index;
}

/* ---- the lock ----
 * A channel's critical sections are a few loads and stores and one
 * message copy: a spin lock costs less than a mutex's calls into libc, and
 * yields the CPU after a short spin so that a preempted holder runs. */

/* Biased locking: a channel used by one thread only (fibers talking to
 * fibers, the common case) needs no atomic read-modify-write at all.  Its
 * owner enters by flagging `owner_busy` and checking `shared`; the first
 * other thread to use it sets `shared`, makes every thread of the process
 * pass a full barrier (membarrier(2), once per channel), and waits for the
 * owner to leave, after which everyone takes the spin lock.  The barrier
 * makes the owner's plain store and load safe (an asymmetric Dekker).
 * Without membarrier, or under ThreadSanitizer (which cannot see it),
 * channels start shared. */
#if defined(__SANITIZE_THREAD__)
#define CHAN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHAN_TSAN 1
#endif
#endif

static pthread_once_t membarrier_once = PTHREAD_ONCE_INIT;
static bool membarrier_ok;

static void membarrier_register(void)
{
#ifndef CHAN_TSAN
    membarrier_ok = syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
#endif
}

static void unbias(rsock_chan *c)
{
    atomic_store_explicit(&c->shared, true, memory_order_seq_cst);
    syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    for (int spins = 0; atomic_load_explicit(&c->owner_busy, memory_order_acquire);)
        backoff(&spins);
}

/* True when entered by the owner's bias (leave with the same answer). */
static bool chan_lock(rsock_chan *c)
{
    if (c->owner == rsock__sched_peek()) {
        if (!atomic_load_explicit(&c->shared, memory_order_relaxed)) {
            atomic_store_explicit(&c->owner_busy, 1, memory_order_relaxed);
            atomic_signal_fence(memory_order_seq_cst);
            if (!atomic_load_explicit(&c->shared, memory_order_relaxed))
                return true;
            atomic_store_explicit(&c->owner_busy, 0, memory_order_release);
        }
    } else if (!atomic_load_explicit(&c->shared, memory_order_acquire)) {
        unbias(c);
    }
    while (atomic_exchange_explicit(&c->lock, 1, memory_order_acquire))
        for (int spins = 0; atomic_load_explicit(&c->lock, memory_order_relaxed);)
            backoff(&spins);
    return false;
}

static void chan_unlock(rsock_chan *c, bool biased)
{
    if (biased)
        atomic_store_explicit(&c->owner_busy, 0, memory_order_release);
    else
        atomic_store_explicit(&c->lock, 0, memory_order_release);
}

/* ---- the ring ---- */

static void *slot(rsock_chan *c, size_t i) { return c->ring + (i % c->capacity) * c->elem_size; }

static void ring_put(rsock_chan *c, const void *elem)
{
    if (c->elem_size)
        memcpy(slot(c, c->head + c->count), elem, c->elem_size);
    c->count++;
}

static void ring_take(rsock_chan *c, void *elem)
{
    if (c->elem_size)
        memcpy(elem, slot(c, c->head), c->elem_size);
    c->head = (c->head + 1) % c->capacity;
    c->count--;
}

static void copy_elem(const rsock_chan *c, void *to, const void *from)
{
    if (c->elem_size)
        memcpy(to, from, c->elem_size);
}

/* ---- one attempt at an operation (under the lock) ----
 * 1: done, 0: must wait, -EPIPE: the channel is done. */

/* A peer completed here is told in *wake, for the caller to finish after
 * unlocking (a wake of another thread's fiber is a syscall: not under the
 * lock that every user of the channel spins on). */
static int try_send(rsock_chan *c, const void *elem, struct waiter **wake)
{
    if (c->done)
        return -EPIPE;
    struct waiter *r = wl_claim(&c->receivers);
    if (r) { /* a parked receiver means an empty ring: hand over directly */
        copy_elem(c, r->elem, elem);
        *wake = r;
        return 1;
    }
    if (c->count < c->capacity) {
        ring_put(c, elem);
        return 1;
    }
    return 0;
}

static int try_recv(rsock_chan *c, void *elem, struct waiter **wake)
{
    if (c->count > 0) {
        ring_take(c, elem);
        struct waiter *s = wl_claim(&c->senders); /* room now: let one in */
        if (s) {
            ring_put(c, s->elem);
            *wake = s;
        }
        return 1;
    }
    struct waiter *s = wl_claim(&c->senders);
    if (s) { /* rendezvous */
        copy_elem(c, elem, s->elem);
        *wake = s;
        return 1;
    }
    return c->done ? -EPIPE : 0;
}

static struct wlist *list_of(const rsock_chan_clause *cl)
{
    return cl->op == RSOCK_CHAN_SEND ? &cl->chan->senders : &cl->chan->receivers;
}

static int try_clause(const rsock_chan_clause *cl, struct waiter **wake)
{
    return cl->op == RSOCK_CHAN_SEND ? try_send(cl->chan, cl->elem, wake)
                                     : try_recv(cl->chan, cl->elem, wake);
}

/* ---- public: make, done, free ---- */

int rsock_chan_new(size_t elem_size, size_t capacity, rsock_chan **out)
{
    if (!out)
        return rsock__fail(EINVAL, "rsock_chan_new: NULL out");
    if (elem_size > (1u << 20) || (capacity && elem_size && capacity > SIZE_MAX / 2 / elem_size))
        return rsock__fail(EINVAL, "rsock_chan_new %zu x %zu: too large", elem_size, capacity);
    rsock_chan *c = calloc(1, sizeof *c);
    size_t ring = (capacity ? capacity : 1) * (elem_size ? elem_size : 1);
    if (!c || !(c->ring = malloc(ring))) {
        free(c);
        return rsock__fail(ENOMEM, "rsock_chan_new %zu x %zu: out of memory", elem_size,
                           capacity);
    }
    c->elem_size = elem_size;
    c->capacity = capacity;
    pthread_once(&membarrier_once, membarrier_register);
    if (membarrier_ok)
        c->owner = rsock__sched_get(); /* biased to its maker's thread */
    atomic_store(&c->shared, c->owner == NULL);
    *out = c;
    return 0;
}

int rsock_chan_done(rsock_chan *c)
{
    if (!c)
        return rsock__fail(EINVAL, "rsock_chan_done: NULL channel");
    bool biased = chan_lock(c);
    c->done = true;
    for (struct waiter *w; (w = wl_claim(&c->senders));)
        finish(w, -EPIPE);
    for (struct waiter *w; (w = wl_claim(&c->receivers));)
        finish(w, -EPIPE); /* parked receivers mean an empty ring */
    chan_unlock(c, biased);
    return 0;
}

int rsock_chan_free(rsock_chan *c)
{
    if (!c)
        return 0;
    bool biased = chan_lock(c);
    bool busy = c->senders.head || c->receivers.head;
    chan_unlock(c, biased);
    if (busy)
        return rsock__fail(EBUSY, "rsock_chan_free %p: a fiber is parked on it", (void *)c);
    free(c->ring);
    free(c);
    return 0;
}

/* ---- choose: the general operation ---- */

static int check_clauses(const rsock_chan_clause *cl, size_t n)
{
    if (!cl || n == 0)
        return rsock__fail(EINVAL, "rsock_chan_choose: %s", cl ? "no clauses" : "NULL clauses");
    for (size_t i = 0; i < n; i++) {
        if (!cl[i].chan)
            return rsock__fail(EINVAL, "rsock_chan_choose: clause %zu: NULL channel", i);
        if (cl[i].op != RSOCK_CHAN_SEND && cl[i].op != RSOCK_CHAN_RECV)
            return rsock__fail(EINVAL, "rsock_chan_choose: clause %zu: bad op %d", i, cl[i].op);
        if (!cl[i].elem && cl[i].chan->elem_size)
            return rsock__fail(EINVAL, "rsock_chan_choose: clause %zu: NULL elem", i);
    }
    return 0;
}

/* What a clause's outcome returns: its index, or -EPIPE recorded. */
static int outcome(size_t i, int rc)
{
    if (rc == -EPIPE)
        return rsock__fail(EPIPE, "rsock_chan_choose: clause %zu: the channel is done", i);
    return (int)i;
}

/* One choose in progress: its clauses, their waiters, and the distinct
 * channels sorted by address (the order every chooser locks them in, as
 * Go's select does, so two choosers never deadlock). */
struct choose {
    const rsock_chan_clause *cl;
    size_t n;
    struct waiter *w;
    rsock_chan **locks;
    bool *biased;               /* how each lock was taken */
    size_t nlocks;
    bool enqueued;
    struct waiter w_inline[INLINE_CLAUSES];
    rsock_chan *locks_inline[INLINE_CLAUSES];
    bool biased_inline[INLINE_CLAUSES];
};

static int choose_init(struct choose *c, const rsock_chan_clause *cl, size_t n)
{
    c->cl = cl, c->n = n, c->nlocks = 0, c->enqueued = false;
    c->w = c->w_inline, c->locks = c->locks_inline, c->biased = c->biased_inline;
    if (n > INLINE_CLAUSES) {
        c->w = calloc(n, sizeof *c->w);
        c->locks = calloc(n, sizeof *c->locks);
        c->biased = calloc(n, sizeof *c->biased);
        if (!c->w || !c->locks || !c->biased) {
            free(c->w), free(c->locks), free(c->biased);
            return rsock__fail(ENOMEM, "rsock_chan_choose: %zu clauses: out of memory", n);
        }
    }
    for (size_t i = 0; i < n; i++) { /* insertion sort, duplicates once */
        rsock_chan *ch = cl[i].chan;
        size_t j = c->nlocks;
        while (j > 0 && c->locks[j - 1] > ch)
            j--;
        if (j > 0 && c->locks[j - 1] == ch)
            continue;
        memmove(&c->locks[j + 1], &c->locks[j], (c->nlocks - j) * sizeof *c->locks);
        c->locks[j] = ch;
        c->nlocks++;
    }
    return 0;
}

static void choose_free(struct choose *c)
{
    if (c->w != c->w_inline)
        free(c->w);
    if (c->locks != c->locks_inline)
        free(c->locks);
    if (c->biased != c->biased_inline)
        free(c->biased);
}

static void lock_all(struct choose *c)
{
    for (size_t i = 0; i < c->nlocks; i++)
        c->biased[i] = chan_lock(c->locks[i]);
}

static void unlock_all(struct choose *c)
{
    for (size_t i = c->nlocks; i-- > 0;)
        chan_unlock(c->locks[i], c->biased[i]);
}

/* Under all the locks: the lowest clause that can proceed, done; its
 * index (rc in *rc), or -1 when none can. */
static int try_in_order(struct choose *c, int *rc, struct waiter **wake)
{
    for (size_t i = 0; i < c->n; i++) {
        int r = try_clause(&c->cl[i], wake);
        if (r != 0) {
            *rc = r < 0 ? r : 0;
            return (int)i;
        }
    }
    return -1;
}

static void enqueue_all(struct choose *c, struct choice *ch)
{
    for (size_t i = 0; i < c->n; i++) {
        c->w[i] = (struct waiter){.choice = ch, .index = (int)i, .elem = c->cl[i].elem};
        wl_push(list_of(&c->cl[i]), &c->w[i]);
    }
    c->enqueued = true;
}

static void dequeue_all(struct choose *c)
{
    if (!c->enqueued)
        return;
    lock_all(c);
    for (size_t i = 0; i < c->n; i++)
        wl_remove(list_of(&c->cl[i]), &c->w[i]);
    unlock_all(c);
    c->enqueued = false;
}

static void unpark_choice(struct rsock_fiber *f) { dequeue_all(f->unpark_arg); }

/* The fiber stops waiting (deadline, cancel): abandon the choice unless a
 * peer decides it first.  The clause done, or `reason`. */
static int give_up_choice(struct choose *c, struct choice *ch, int reason)
{
    int expect = UNCLAIMED;
    if (ch->single) {
        lock_all(c);
        expect = atomic_load_explicit(&ch->index, memory_order_relaxed);
        if (expect == UNCLAIMED)
            atomic_store_explicit(&ch->index, ABANDONED, memory_order_relaxed);
        unlock_all(c);
        return expect == UNCLAIMED ? reason : decided(ch, expect);
    }
    if (atomic_compare_exchange_strong(&ch->index, &expect, ABANDONED))
        return reason;
    return decided(ch, expect);
}

/* Park until a peer decides the choice or the fiber gives up: the clause
 * index done, or the reason for giving up (-ETIMEDOUT, -ECANCELED). */
static int park_choice(struct rsock__sched *S, struct choose *c, struct choice *ch,
                       int64_t deadline)
{
    struct rsock_fiber *self = S->current;
    int rc = 0;
    if (deadline > 0 && rsock__timer_arm(&S->timers, self, deadline, -ETIMEDOUT) < 0)
        rc = -ENOMEM;
    self->unpark = unpark_choice, self->unpark_arg = c;
    for (bool first = true;
         rc == 0 && atomic_load_explicit(&ch->index, memory_order_acquire) == UNCLAIMED;
         first = false) {
        if (!first) { /* woken for nothing: renumber the node for the next park */
            lock_all(c);
            ch->wake.seq = S->park_seq + 1;
            unlock_all(c);
        }
        rc = rsock__park(S);
    }
    self->unpark = NULL, self->unpark_arg = NULL;
    rsock__timer_disarm(&S->timers, self);
    int index = atomic_load_explicit(&ch->index, memory_order_acquire);
    if (index >= 0) /* a peer was first: the clause is done whatever woke us */
        return decided(ch, index);
    return give_up_choice(c, ch, rc ? rc : -ETIMEDOUT);
}

static int give_up(int rc)
{
    if (rc == -ETIMEDOUT)
        return rsock__fail(ETIMEDOUT, "rsock_chan_choose: timed out");
    if (rc == -ECANCELED)
        return rsock__fail(ECANCELED, "rsock_chan_choose: cancelled");
    return rsock__fail(ENOMEM, "rsock_chan_choose: no memory for a timer");
}

static int choose_locked(struct rsock__sched *S, struct choose *c, int64_t deadline)
{
    int rc = 0;
    struct waiter *wake = NULL;
    lock_all(c);
    int done = try_in_order(c, &rc, &wake);
    if (done >= 0 || deadline == 0) {
        unlock_all(c);
        if (wake)
            finish(wake, 0);
        return done >= 0 ? outcome((size_t)done, rc)
                         : rsock__fail(ETIMEDOUT, "rsock_chan_choose: no clause ready");
    }
    if ((rc = rsock__remote_enable(S, "rsock_chan_choose")) < 0) {
        unlock_all(c);
        return rc;
    }
    struct choice ch = {.index = UNCLAIMED, .single = c->n == 1};
    rsock__rwake_init(&ch.wake, S);
    enqueue_all(c, &ch);
    unlock_all(c);
    done = park_choice(S, c, &ch, deadline);
    /* A peer that won took its own waiter off; the others, or all of them
     * when the fiber gave up, are ours to take off.  After that no peer
     * can reach `ch` but through the loop's queue. */
    if (done < 0 || c->n > 1)
        dequeue_all(c);
    if (ch.queued)
        rsock__remote_forget(S, &ch.wake);
    return done >= 0 ? outcome((size_t)done, ch.result) : give_up(done);
}

int rsock_chan_choose(rsock_chan_clause *cl, size_t n, int64_t deadline)
{
    int rc = check_clauses(cl, n);
    if (rc < 0)
        return rc;
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    if ((rc = rsock__check_cancelled("rsock_chan_choose")) < 0)
        return rc;
    struct choose c;
    if ((rc = choose_init(&c, cl, n)) < 0)
        return rc;
    rc = choose_locked(S, &c, deadline);
    choose_free(&c);
    return rc;
}

/* ---- send and receive: one clause, without a choose's machinery ---- */

struct one_wait {
    rsock_chan *c;
    struct wlist *list;
    struct waiter w;
};

static void unpark_one(struct rsock_fiber *f)
{
    struct one_wait *o = f->unpark_arg;
    bool biased = chan_lock(o->c);
    wl_remove(o->list, &o->w);
    chan_unlock(o->c, biased);
}

static int try_op(rsock_chan *c, int op, void *elem, struct waiter **wake)
{
    return op == RSOCK_CHAN_SEND ? try_send(c, elem, wake) : try_recv(c, elem, wake);
}

/* Parked with waiter o->w until a peer decides or the fiber gives up:
 * 0 or the peer's result (-EPIPE), else -ETIMEDOUT, -ECANCELED, -ENOMEM. */
static int park_one(struct rsock__sched *S, struct one_wait *o, struct choice *ch,
                    int64_t deadline)
{
    struct rsock_fiber *self = S->current;
    int rc = 0;
    if (deadline > 0 && rsock__timer_arm(&S->timers, self, deadline, -ETIMEDOUT) < 0)
        rc = -ENOMEM;
    self->unpark = unpark_one, self->unpark_arg = o;
    for (bool first = true;
         rc == 0 && atomic_load_explicit(&ch->index, memory_order_acquire) == UNCLAIMED;
         first = false) {
        if (!first) { /* woken for nothing: renumber the node for the next park */
            bool biased = chan_lock(o->c);
            ch->wake.seq = S->park_seq + 1;
            chan_unlock(o->c, biased);
        }
        rc = rsock__park(S);
    }
    self->unpark = NULL, self->unpark_arg = NULL;
    if (deadline > 0)
        rsock__timer_disarm(&S->timers, self);
    int index = atomic_load_explicit(&ch->index, memory_order_acquire);
    if (index < 0) { /* giving up, unless a peer decides first */
        bool biased = chan_lock(o->c);
        index = atomic_load_explicit(&ch->index, memory_order_relaxed);
        if (index == UNCLAIMED) {
            atomic_store_explicit(&ch->index, ABANDONED, memory_order_relaxed);
            wl_remove(o->list, &o->w);
        }
        chan_unlock(o->c, biased);
        if (index < 0)
            return rc ? rc : -ETIMEDOUT;
    }
    decided(ch, index);
    if (ch->queued)
        rsock__remote_forget(S, &ch->wake);
    return ch->result;
}

static int op_one(struct rsock__sched *S, rsock_chan *c, int op, void *elem, int64_t deadline)
{
    struct waiter *wake = NULL;
    bool biased = chan_lock(c);
    int r = try_op(c, op, elem, &wake);
    if (r != 0 || deadline == 0) {
        chan_unlock(c, biased);
        if (wake)
            finish(wake, 0);
        return r > 0 ? 0 : r < 0 ? -EPIPE : -EAGAIN;
    }
    if (!S->remote) { /* first park of this thread on a channel */
        chan_unlock(c, biased);
        int rc = rsock__remote_enable(S, op == RSOCK_CHAN_SEND ? "rsock_chan_send"
                                                               : "rsock_chan_recv");
        return rc < 0 ? rc : op_one(S, c, op, elem, deadline);
    }
    struct one_wait o = {.c = c, .list = op == RSOCK_CHAN_SEND ? &c->senders : &c->receivers};
    struct choice ch = {.index = UNCLAIMED, .single = true};
    rsock__rwake_init(&ch.wake, S);
    o.w = (struct waiter){.choice = &ch, .index = 0, .elem = elem};
    wl_push(o.list, &o.w);
    chan_unlock(c, biased);
    return park_one(S, &o, &ch, deadline);
}

static int one(rsock_chan *c, int op, void *elem, int64_t deadline, const char *name)
{
    if (!c)
        return rsock__fail(EINVAL, "%s: NULL channel", name);
    if (!elem && c->elem_size)
        return rsock__fail(EINVAL, "%s: NULL elem for %zu-byte messages", name, c->elem_size);
    struct rsock__sched *S = rsock__sched_peek();
    if (!S && !(S = rsock__sched_get()))
        return rsock__sched_error();
    if (S->current->cancelled)
        return rsock__fail(ECANCELED, "%s %p: cancelled (the fiber's group was cancelled)", name,
                           (void *)c);
    int rc = op_one(S, c, op, elem, deadline);
    switch (rc) {
    case 0:
        return 0;
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

int rsock_chan_send(rsock_chan *c, const void *elem, int64_t deadline)
{
    return one(c, RSOCK_CHAN_SEND, (void *)elem, deadline, "rsock_chan_send");
}

int rsock_chan_recv(rsock_chan *c, void *elem, int64_t deadline)
{
    return one(c, RSOCK_CHAN_RECV, elem, deadline, "rsock_chan_recv");
}
