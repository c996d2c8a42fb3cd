/* One thread of the proxy: its own loop, an acceptor per listener (each a
 * group of one, with the thread's own SO_REUSEPORT socket, or its own
 * descriptor of an inherited one) and the `conns` group (one member per
 * connection).  A steward fiber waits for the stop or a new generation:
 * - a new generation (a reload): a listener whose LOCAL stays keeps its
 *   socket and acceptor, which take the new listener for their next
 *   accept; one that went is closed; a new one is opened;
 * - the stop: no new connections, a grace period, then cancel the rest. */
#include "proxy.h"
#include "ctl.h"
#include "notify.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A free slot (acceptors hold their slot's address: slots never move). */
static struct acceptor_slot *free_slot(struct worker *w)
{
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (!w->slots[i].l)
            return &w->slots[i];
    return NULL;
}

/* This thread's descriptor of an inherited socket (one socket for all,
 * which cannot be bound again), made for it by thread 0 (service.c) and
 * registered here with this thread's loop.  A new client wakes every
 * thread waiting on it; one accept wins, the others get nothing (EAGAIN)
 * and wait again.  1: taken; 0: none was made for us; -errno. */
static int inherited_copy(struct listener *l, int index, rsock_t **out)
{
    if (!l->copies || l->copies[index] < 0)
        return 0;
    int fd = l->copies[index];
    l->copies[index] = -1;
    int rc = rsock_fdopen(fd, out);
    if (rc < 0)
        close(fd);
    return rc < 0 ? rc : 1;
}

/* Socket `index` of l on this thread: thread 0's first is l->first; a
 * takeover's are the old process's; an inherited one's a duplicate; else
 * one of our own. */
static int open_slot(struct worker *w, struct listener *l, int index)
{
    struct acceptor_slot *slot = free_slot(w);
    if (!slot)
        return -ENOSPC;
    *slot = (struct acceptor_slot){.l = l, .w = w};
    int rc = 0;
    if (index == 0 && l->first) {
        slot->sock = l->first; /* bound by thread 0 when the generation was made */
        l->first = NULL;
    } else if ((rc = takeover_take(l->lc->local, index, &slot->sock)) != 0)
        rc = rc > 0 ? 0 : rc;
    else if (l->inherited && index == w->index && (rc = inherited_copy(l, index, &slot->sock)) != 0)
        rc = rc > 0 ? 0 : rc;
    else if (l->inherited || index != w->index ||
             (w->index != 0 && rsock_addr_family(&l->local) == AF_UNIX))
        return 0; /* one Unix path: thread 0 accepts on it */
    else
        rc = open_listener(l, &l->local, true, &slot->sock);
    if (rc == 0)
        rc = rsock_group_new(&slot->group);
    if (rc == 0)
        rc = rsock_group_spawn(slot->group, acceptor, slot);
    if (rc < 0) {
        rsock_group_close(slot->group);
        rsock_close(slot->sock);
        *slot = (struct acceptor_slot){0};
        return rc;
    }
    return 0;
}

/* l's sockets on this thread: its own, and after a takeover those of the
 * old process beyond our thread count (the kernel goes on queueing
 * connections on each, so each must be served). */
static int open_slots(struct worker *w, struct listener *l)
{
    int rc = open_slot(w, l, w->index);
    for (int i = w->index + nworkers; rc == 0 && i < takeover_count(l->lc->local); i += nworkers)
        rc = open_slot(w, l, i);
    return rc;
}

static void close_slot(struct acceptor_slot *slot)
{
    rsock_group_close(slot->group); /* cancels the acceptor, waits for it */
    rsock_close(slot->sock);        /* new clients are refused from now on */
    *slot = (struct acceptor_slot){0};
}

static bool has_slot(const struct worker *w, const struct listener *l)
{
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (w->slots[i].l == l)
            return true;
    return false;
}

/* Serve g from now on (this thread's part of a reload). */
static void adopt(struct worker *w, struct generation *g)
{
    for (int i = 0; i < MAX_LISTENERS; i++) {
        struct acceptor_slot *slot = &w->slots[i];
        if (!slot->l)
            continue;
        struct listener *next = generation_find(g, slot->l->lc);
        if (next)
            slot->l = next;
        else
            close_slot(slot);
    }
    for (int i = 0; i < g->nlisteners; i++)
        if (!has_slot(w, &g->listeners[i]) && open_slots(w, &g->listeners[i]) < 0)
            log_line(-1, "thread %d: cannot serve %s: %s", w->index, g->listeners[i].lc->name,
                     rsock_error_message());
    generation_put(w->gen);
    w->gen = g;
}

/* Stop accepting, let the connections finish for --grace seconds (with no
 * limit when draining), then cancel those left (each closes with a reset),
 * and free the groups. */
static void stop(struct worker *w)
{
    for (int i = 0; i < MAX_LISTENERS; i++)
        if (w->slots[i].l)
            close_slot(&w->slots[i]);
    int64_t grace_end = control_draining() ? -1 : rsock_after((int64_t)(cfg.grace * 1000));
    rsock_group_wait(w->conns, grace_end);
    rsock_group_close(w->conns);
    w->conns = NULL;
    keepalive_end(w); /* no connection is left to arm */
    generation_put(w->gen);
    w->gen = NULL;
}

static void steward(void *worker)
{
    struct worker *w = worker;
    struct generation *next;
    rsock_chan_clause wait[2] = {{control_stop_chan(), RSOCK_CHAN_RECV, NULL},
                                 {w->reloads, RSOCK_CHAN_RECV, &next}};
    while (rsock_chan_choose(wait, 2, -1) == 1) {
        adopt(w, next);
        if (next->adopted) /* room for every thread: never waits */
            rsock_chan_send(next->adopted, NULL, 0);
    }
    stop(w);
    control_drained();
}

void worker_publish(struct generation *g)
{
    for (int i = 0; i < nworkers; i++) {
        generation_get(g);
        rsock_chan_send(workers[i].reloads, &g, -1);
    }
}

int worker_start(struct worker *w)
{
    /* The relay path is shallow (no resolver, no big locals): small stacks
     * keep a thousand connections' fibers cheap. */
    rsock_set_stack_size(64 * 1024);
    rsock_set_busy_poll(cfg.busy_poll_us); /* 0..RSOCK_BUSY_POLL_MAX_US: checked when parsed */
    int rc = rsock_group_new(&w->conns);
    if (rc == 0)
        rc = keepalive_start(w);
    for (int i = 0; rc == 0 && i < w->gen->nlisteners; i++)
        rc = open_slots(w, &w->gen->listeners[i]);
    if (rc == 0)
        rc = rsock_spawn(steward, w, NULL);
    if (rc < 0) {
        fprintf(stderr, "rsock-proxy: thread %d: %s\n", w->index, rsock_error_message());
        return -1;
    }
    return 0;
}

void *worker_thread(void *worker)
{
    struct worker *w = worker;
    if (worker_start(w) < 0)
        exit(1);
    privs_thread_gate(); /* bound: wait for --user/--chroot/--keep-cap before serving */
    rsock_run(); /* until the steward has drained this thread */
    return NULL;
}
