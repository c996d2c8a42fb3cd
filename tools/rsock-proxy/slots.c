/* Connection slots (--max-conns) over all threads: a gate (gate.h).  An
 * acceptor takes a slot only once a connection is pending, so an idle
 * acceptor holds none (with several threads, one would starve the others). */
#include "gate.h"
#include "proxy.h"

static struct gate slots;

int slots_init(void)
{
    /* Room for a wake-up per thread and some to spare. */
    return gate_init(&slots, cfg.max_conns, (size_t)nworkers + 16);
}

void slots_end(void)
{
    gate_end(&slots);
}

int slot_wait(void)
{
    return gate_take(&slots);
}

void slot_release(void)
{
    gate_give(&slots);
}
