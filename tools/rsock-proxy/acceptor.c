/* One thread's accept loop, the only member of its worker's `accepting`
 * group: the steward stops it by cancelling that group, which makes every
 * wait here (for a connection, a slot, a retry) return -ECANCELED. */
#include "proxy.h"

#include <errno.h>

/* Make the upstream socket before accepting: a connection is accepted only
 * when the descriptor to serve it is in hand (never accepted, then dropped). */
static int take_spare(struct worker *w)
{
    return w->spare ? 0 : upstream_socket(&w->spare);
}

/* Out of descriptors or memory: say so once per kind, retry in 100 ms
 * (never spin on a limit).  -ECANCELED when the proxy stops meanwhile. */
static int accept_trouble(bool *told_fd_limit, int rc)
{
    bool fd_limit = rc == -EMFILE || rc == -ENFILE;
    if (!*told_fd_limit || !fd_limit)
        log_line(0, "accept: %s (retrying in 100 ms)", rsock_error_message());
    *told_fd_limit |= fd_limit;
    return rsock_sleep(rsock_after(100));
}

/* Accept one pending connection (a slot and the spare are held): 0, 1 when
 * none is pending after all, or the error. */
static int accept_pending(struct worker *w, int *batch)
{
    rsock_addr peer;
    rsock_t *client;
    peer.len = 0;
    int rc = rsock_accept_wait(w->listener, &peer, &client, 0);
    if (rc == -ETIMEDOUT)
        return 1;
    if (rc < 0)
        return rc;
    conn_start(w, client, &peer, w->spare);
    w->spare = NULL;
    if (++*batch % 64 == 0)
        rsock_yield(); /* let the new connections start */
    return 0;
}

/* Wait for a pending connection, then for a slot, then accept it. */
static void accept_loop(struct worker *w)
{
    bool told_fd_limit = false;
    for (int batch = 0;;) {
        if (rsock_wait_in(w->listener, -1) < 0 || slot_wait() < 0)
            return;
        int rc = take_spare(w);
        if (rc == 0)
            rc = accept_pending(w, &batch);
        if (rc != 0)
            slot_release();
        if (rc == -ECANCELED)
            return;
        if (rc < 0 && rc != -ECONNABORTED && rc != -EINTR && accept_trouble(&told_fd_limit, rc) < 0)
            return;
    }
}

void acceptor(void *worker)
{
    struct worker *w = worker;
    accept_loop(w);
    rsock_close(w->spare);
    w->spare = NULL;
}
