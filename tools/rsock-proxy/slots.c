/* Connection slots (--max-conns) over all threads.  An acceptor takes a
 * slot only once a connection is pending, so an idle acceptor holds none
 * (with several threads, one would starve the others).  When none is free
 * it parks on the channel `freed`; the end of a connection on any thread
 * sends a signal there when an acceptor waits, which wakes the one parked
 * longest through its loop (no polling).  `active` and `waiters` are
 * sequentially consistent: a slot freed between an acceptor's last try
 * and its parking still leaves a signal in the channel for it. */
#include "proxy.h"

#include <errno.h>

static int64_t active; /* slots taken, all threads */
static int waiters;    /* acceptors about to park or parked for a slot */
static rsock_chan *freed;

int slots_init(void)
{
    /* A signal is sent only while an acceptor waits, and each acceptor
     * takes one per wake: room for one per thread and some to spare. */
    return rsock_chan_new(0, (size_t)nworkers + 16, &freed);
}

void slots_end(void)
{
    rsock_chan_free(freed);
    freed = NULL;
}

static bool take(void)
{
    int64_t n = __atomic_fetch_add(&active, 1, __ATOMIC_SEQ_CST);
    if (cfg.max_conns <= 0 || n < cfg.max_conns)
        return true;
    __atomic_fetch_sub(&active, 1, __ATOMIC_SEQ_CST);
    return false;
}

int slot_wait(void)
{
    for (;;) {
        if (take())
            return 0;
        __atomic_fetch_add(&waiters, 1, __ATOMIC_SEQ_CST);
        bool got = take();
        int rc = got ? 0 : rsock_chan_recv(freed, NULL, -1);
        __atomic_fetch_sub(&waiters, 1, __ATOMIC_SEQ_CST);
        if (got)
            return 0;
        if (rc < 0)
            return rc; /* cancelled: the proxy stops */
    }
}

void slot_release(void)
{
    __atomic_fetch_sub(&active, 1, __ATOMIC_SEQ_CST);
    /* Deadline 0: when the channel is full, enough wake-ups are queued. */
    if (__atomic_load_n(&waiters, __ATOMIC_SEQ_CST) > 0)
        rsock_chan_send(freed, NULL, 0);
}
