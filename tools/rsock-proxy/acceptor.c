/* One thread's accept loop for one listener, the only member of its
 * slot's group: the steward stops it by closing that group, which makes
 * every wait here (for a connection, a slot, a retry) return -ECANCELED.
 * A reload that keeps the LOCAL changes slot->l between two accepts. */
#include "proxy.h"

#include <errno.h>

/* Make the upstream socket before accepting: a connection is accepted only
 * when the descriptor to serve it is in hand (never accepted, then dropped). */
static int take_spare(struct acceptor_slot *slot)
{
    struct listener *l = slot->l;
    return slot->spare ? 0
                       : upstream_socket(l->gen->config, pool_family(l->pool), &slot->spare);
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
static int accept_pending(struct acceptor_slot *slot, int *batch)
{
    rsock_addr peer;
    rsock_t *client;
    peer.len = 0;
    int rc = rsock_accept_wait(slot->sock, &peer, &client, 0);
    if (rc == -ETIMEDOUT)
        return 1;
    if (rc < 0)
        return rc;
    conn_start(slot->w, slot->l, client, &peer, slot->spare);
    slot->spare = NULL;
    if (++*batch % 64 == 0)
        rsock_yield(); /* let the new connections start */
    return 0;
}

/* Wait for a pending connection, then for a slot, then accept it. */
static void accept_loop(struct acceptor_slot *slot)
{
    bool told_fd_limit = false;
    for (int batch = 0;;) {
        if (rsock_wait_in(slot->sock, -1) < 0 || slot_wait() < 0)
            return;
        int rc = take_spare(slot);
        if (rc == 0)
            rc = accept_pending(slot, &batch);
        if (rc != 0)
            slot_release();
        if (rc == -ECANCELED)
            return;
        if (rc < 0 && rc != -ECONNABORTED && rc != -EINTR && accept_trouble(&told_fd_limit, rc) < 0)
            return;
    }
}

void acceptor(void *arg)
{
    struct acceptor_slot *slot = arg;
    accept_loop(slot);
    rsock_close(slot->spare);
    slot->spare = NULL;
}
