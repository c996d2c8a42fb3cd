/* A gate: a counting semaphore over threads (gate.h). */
#include "gate.h"

int gate_init(struct gate *g, long limit, size_t wakeups)
{
    *g = (struct gate){.limit = limit};
    return rsock_chan_new(0, wakeups, &g->freed);
}

void gate_end(struct gate *g)
{
    rsock_chan_free(g->freed);
    g->freed = NULL;
}

bool gate_try(struct gate *g)
{
    int64_t n = __atomic_fetch_add(&g->taken, 1, __ATOMIC_SEQ_CST);
    if (g->limit <= 0 || n < g->limit)
        return true;
    __atomic_fetch_sub(&g->taken, 1, __ATOMIC_SEQ_CST);
    return false;
}

int gate_take(struct gate *g)
{
    for (;;) {
        if (gate_try(g))
            return 0;
        __atomic_fetch_add(&g->waiters, 1, __ATOMIC_SEQ_CST);
        bool got = gate_try(g);
        int rc = got ? 0 : rsock_chan_recv(g->freed, NULL, -1);
        __atomic_fetch_sub(&g->waiters, 1, __ATOMIC_SEQ_CST);
        if (got)
            return 0;
        if (rc < 0)
            return rc; /* cancelled: the proxy stops */
    }
}

void gate_give(struct gate *g)
{
    __atomic_fetch_sub(&g->taken, 1, __ATOMIC_SEQ_CST);
    /* Deadline 0: when the channel is full, enough wake-ups are queued. */
    if (__atomic_load_n(&g->waiters, __ATOMIC_SEQ_CST) > 0)
        rsock_chan_send(g->freed, NULL, 0);
}
