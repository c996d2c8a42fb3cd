/* One connection: a member of its worker's `conns` group.  It reaches
 * REMOTE with the socket made before the accept, then rsock_relay copies
 * both ways (one shared idle clock; the first failure of either direction
 * stops the other at once).  A connection that ends with an error is
 * closed with a reset on both sides.  The steward's cancel at the end of
 * the grace period ends it the same way. */
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct conn {
    struct worker *w;
    rsock_t *client, *server;
    rsock_addr peer;
};

static int64_t deadline_after(double seconds)
{
    return seconds > 0 ? rsock_after((int64_t)(seconds * 1000)) : -1;
}

static void log_unreachable(struct conn *c)
{
    char peer[RSOCK_ADDRSTRLEN];
    rsock_addr_format(&c->peer, peer, sizeof peer);
    log_line(0, "%s: cannot reach %s: %s", peer[0] ? peer : "client", cfg.remote,
             rsock_error_message());
}

/* -v: the four addresses of the connection. */
static void log_connection(struct conn *c)
{
    char a[RSOCK_ADDRSTRLEN], b[RSOCK_ADDRSTRLEN], l[RSOCK_ADDRSTRLEN];
    rsock_addr mine;
    if (rsock_getsockname(c->server, &mine) < 0)
        rsock_addr_init(&mine, AF_UNIX);
    rsock_addr_format(&c->peer, a, sizeof a);
    rsock_addr_format(&mine, l, sizeof l);
    rsock_addr_format(&remote_addr, b, sizeof b);
    log_line(1, "%s -> %s: via %s -> %s", a[0] ? a : "unnamed", local_text, l[0] ? l : "unnamed",
             b);
}

/* The smoothed round-trip time of a TCP side, "-" for a Unix one. */
static const char *rtt_text(rsock_t *s, char buf[24])
{
    rsock_tcp_info ti;
    if (rsock_get_tcp_info(s, &ti) < 0)
        return "-";
    snprintf(buf, 24, "%u us", ti.rtt);
    return buf;
}

/* -v: one line when a connection closes: how long, bytes each way, each
 * side's rtt from TCP_INFO, and how it ended. */
static void log_closed(struct conn *c, int64_t began, const rsock_relay_stats *moved, int rc)
{
    char client_rtt[24], server_rtt[24], peer[RSOCK_ADDRSTRLEN];
    rsock_addr_format(&c->peer, peer, sizeof peer);
    int64_t ms = rsock_now() - began;
    log_line(1, "%s closed after %lld.%03lld s: %lld bytes up, %lld down, rtt client %s, "
             "server %s, ended by %s", peer[0] ? peer : "unnamed", (long long)(ms / 1000),
             (long long)(ms % 1000), (long long)moved->a_to_b, (long long)moved->b_to_a,
             rtt_text(c->client, client_rtt), rtt_text(c->server, server_rtt),
             rc == 0 ? "eof" : rc == -ETIMEDOUT ? "idle" : rc == -ECANCELED ? "shutdown"
                       : rsock_strerror(rc));
}

/* Both ways until both streams end; bytes are counted when it returns. */
static void relay(struct conn *c)
{
    struct worker *w = c->w;
    rsock_relay_stats moved;
    int64_t began = rsock_now();
    int rc = rsock_relay(c->client, c->server, -1, (int64_t)(cfg.idle_timeout * 1000),
                         cfg.copy_flags, &moved);
    STAT_ADD(w->up, moved.a_to_b);
    STAT_ADD(w->down, moved.b_to_a);
    if (rc < 0) {
        STAT_ADD(w->errors, 1);
        log_line(1, "connection ended: %s", rsock_error_message());
    }
    if (cfg.verbose > 0)
        log_closed(c, began, &moved, rc);
    if (rc < 0) {
        reset_on_close(c->client);
        reset_on_close(c->server);
    }
}

static void serve(void *arg)
{
    struct conn *c = arg;
    struct worker *w = c->w;
    if (rsock_connect_wait(c->server, &remote_addr, deadline_after(cfg.connect_timeout)) < 0) {
        log_unreachable(c);
        STAT_ADD(w->errors, 1);
    } else {
        if (cfg.verbose > 0)
            log_connection(c);
        relay(c);
    }
    rsock_close(c->server);
    rsock_close(c->client);
    free(c);
    STAT_ADD(w->active, -1);
    slot_release();
}

void conn_start(struct worker *w, rsock_t *client, const rsock_addr *peer, rsock_t *server)
{
    struct conn *c = malloc(sizeof *c);
    if (c)
        *c = (struct conn){.w = w, .client = client, .server = server, .peer = *peer};
    if (!c || rsock_group_spawn(w->conns, serve, c) < 0) {
        log_line(0, "no memory for a connection: closing it");
        free(c);
        rsock_close(client);
        rsock_close(server);
        STAT_ADD(w->errors, 1);
        slot_release();
        return;
    }
    apply_sockopts(client, ON_CLIENT); /* TCP_NODELAY and keepalive came from the listener */
    STAT_ADD(w->conns_total, 1);
    STAT_ADD(w->active, 1);
}
