/* One thread of the proxy: its own loop, its listener, and two groups:
 * `accepting` (the acceptor) and `conns` (one member per connection).  A
 * steward fiber waits for the stop and shuts the thread down in three
 * steps: no new connections, a grace period, then cancel the rest. */
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>

/* Stop accepting, let the connections finish for --grace seconds, then
 * cancel those left (each closes with a reset), and free both groups. */
void worker_stop(struct worker *w)
{
    rsock_group_close(w->accepting); /* cancels the acceptor, waits for it */
    w->accepting = NULL;
    rsock_close(w->listener); /* new clients are refused from now on */
    w->listener = NULL;
    rsock_group_wait(w->conns, rsock_after((int64_t)(cfg.grace * 1000)));
    rsock_group_close(w->conns);
    w->conns = NULL;
}

static void steward(void *worker)
{
    control_wait_stop(); /* the first SIGINT or SIGTERM */
    worker_stop(worker);
    control_drained();
}

int worker_start(struct worker *w)
{
    /* The relay path is shallow (no resolver, no big locals): small stacks
     * keep a thousand connections' fibers cheap. */
    rsock_set_stack_size(64 * 1024);
    rsock_set_busy_poll(cfg.busy_poll_us); /* 0..RSOCK_BUSY_POLL_MAX_US: checked when parsed */
    if (rsock_group_new(&w->accepting) < 0 || rsock_group_new(&w->conns) < 0 ||
        rsock_group_spawn(w->accepting, acceptor, w) < 0 || rsock_spawn(steward, w, NULL) < 0) {
        fprintf(stderr, "rsock-proxy: thread %d: %s\n", w->index, rsock_error_message());
        return -1;
    }
    return 0;
}

void *worker_thread(void *worker)
{
    struct worker *w = worker;
    if (open_listener(w, true) < 0 || worker_start(w) < 0)
        exit(1);
    rsock_run(); /* until the steward has drained this thread */
    return NULL;
}
