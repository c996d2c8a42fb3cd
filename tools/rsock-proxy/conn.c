/* One connection: a member of its worker's `conns` group.
 *
 * With --accept-proxy it first reads the PROXY header (the client's
 * address is then the header's).  It picks a backend by the listener's
 * balance and connects; a backend that refuses or does not answer counts
 * as a failed check and the next one is tried, before any byte has moved,
 * so a dead backend costs no client a failure.  With --send-proxy the
 * header goes first; then rsock_relay copies both ways (one shared idle
 * clock; the first failure of either direction stops the other).  A
 * connection that ends with an error is closed with a reset on both sides;
 * the steward's cancel at the end of the grace period ends it the same way. */
#include "proxy.h"
#include "ctl.h"
#include "metrics.h"
#include "proxy_proto.h"
#include "transparent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct conn {
    struct worker *w;
    struct listener *l; /* holds a reference to its generation */
    rsock_t *client, *server;
    rsock_addr peer, dst;   /* the client, and what it connected to */
    struct server *backend; /* picked and connected; NULL for one taken over */
    int64_t began;
    struct keepalive_wait keepalive; /* the socket to REMOTE's, armed late */
    rsock_relay_stats before; /* bytes relayed by the process we took it over from */
};

static const struct proxy_config *conf(const struct conn *c)
{
    return c->l->gen->config;
}

static int64_t deadline_after(double seconds)
{
    return seconds > 0 ? rsock_after((int64_t)(seconds * 1000)) : -1;
}

static const char *peer_text(const struct conn *c, char buf[RSOCK_ADDRSTRLEN])
{
    rsock_addr_format(&c->peer, buf, RSOCK_ADDRSTRLEN);
    return buf[0] ? buf : "unnamed";
}

/* The smoothed round-trip time of a TCP side, -1 for a Unix one. */
static long rtt_us(rsock_t *s)
{
    rsock_tcp_info ti;
    return s && rsock_get_tcp_info(s, &ti) == 0 ? (long)ti.rtt : -1;
}

/* The line (-v) when a connection closes; a refused one says why. */
static void log_closed(struct conn *c, const rsock_relay_stats *moved, enum end_kind how)
{
    char peer[RSOCK_ADDRSTRLEN];
    struct access_record r = {
        .listener = c->l->lc->name,
        .client = peer_text(c, peer),
        .backend = c->backend ? c->backend->text : "-",
        .ms = rsock_now() - c->began,
        .up = (moved ? moved->a_to_b : 0) + c->before.a_to_b,
        .down = (moved ? moved->b_to_a : 0) + c->before.b_to_a,
        .rtt_client_us = rtt_us(c->client),
        .rtt_server_us = c->backend ? rtt_us(c->server) : -1,
        .end = end_kind_name(how),
    };
    log_access(&r);
}

/* Refused before any byte moved: counted, said (`fmt` takes the client
 * and `detail`; NULL: said already), closed. */
static void refuse(struct conn *c, enum end_kind why, const char *fmt, const char *detail)
{
    char peer[RSOCK_ADDRSTRLEN];
    STAT_ADD(c->w->errors, 1);
    metrics_refused_at(c->l->traffic, why); /* no lock: a flood of refusals */
    if (fmt)
        log_line(0, fmt, peer_text(c, peer), detail);
    if (conf(c)->verbose > 0)
        log_closed(c, NULL, why);
}

/* --accept-proxy: the header, whose source is the client from now on. */
static int read_proxy_header(struct conn *c)
{
    struct pp_header h = {0};
    int rc = pp_read(c->client, deadline_after(c->l->lc->proxy_timeout), &h);
    if (rc < 0) {
        if (rc != -ECANCELED)
            refuse(c, END_PROXY_HEADER, "%s: bad PROXY header: %s",
                   h.reason ? h.reason : rsock_strerror(rc));
        return rc;
    }
    if (!h.local)
        c->peer = h.src, c->dst = h.dst;
    return 0;
}

static int send_proxy_header(struct conn *c)
{
    char header[PP_BUILD_MAX];
    if (c->dst.len == 0 && rsock_getsockname(c->client, &c->dst) < 0)
        rsock_addr_init(&c->dst, AF_UNIX);
    bool ip = rsock_addr_ip(&c->peer, NULL, NULL) > 0 && rsock_addr_ip(&c->dst, NULL, NULL) > 0;
    int n = pp_build(c->l->lc->send_proxy, &c->peer, &c->dst, !ip, header, sizeof header);
    return n < 0 ? n : (int)rsock_write_all(c->server, header, (size_t)n, rsock_after(10000));
}

/* A socket of the server's family (the one made before the accept when it
 * fits). */
static int socket_for(struct conn *c, const struct server *s)
{
    int family = rsock_addr_family(&s->addr);
    if (c->server && rsock_domain(c->server) == family)
        return 0;
    rsock_close(c->server);
    c->server = NULL;
    return upstream_socket(conf(c), family, &c->server);
}

/* One backend: 0 connected (c->backend set), or the failure. */
static int try_backend(struct conn *c, struct server *s)
{
    int64_t start = rsock_now();
    int rc = socket_for(c, s);
    if (rc == 0 && c->l->lc->spoof_source)
        rc = spoof_source(c->server, &c->peer); /* the backend sees the client */
    if (rc == 0)
        rc = rsock_connect_wait(c->server, &s->addr, deadline_after(conf(c)->connect_timeout));
    if (rc == 0) {
        c->backend = s;
        metrics_opened(s->traffic);
        metrics_connected(s->traffic, (double)(rsock_now() - start) / 1000);
        return 0;
    }
    if (rc != -ECANCELED) {
        char peer[RSOCK_ADDRSTRLEN];
        log_line(0, "%s: cannot reach %s: %s", peer_text(c, peer), s->from,
                 rsock_error_message());
        server_report(c->l->pool, s, false);
    }
    rsock_close(c->server); /* a failed connect's socket is spent */
    c->server = NULL;
    return rc;
}

/* No pool: the client's original destination (transparent.c), one try. */
static int reach_original(struct conn *c)
{
    struct server *s = NULL;
    int rc = original_server(c->l, c->client, &c->peer, &s);
    if (rc < 0) {
        refuse(c, rc == -ELOOP ? END_ERROR : END_NO_BACKEND, NULL, NULL); /* said */
        return rc;
    }
    if (c->dst.len == 0)
        c->dst = s->addr; /* --send-proxy: where the client was going */
    rc = try_backend(c, s);
    if (rc < 0)
        server_release(s);
    if (rc < 0 && rc != -ECANCELED)
        refuse(c, end_kind_of_connect(rc), NULL, NULL); /* said */
    return rc;
}

/* Backends in balance order until one connects: 0, or the last failure. */
static int reach_backend(struct conn *c)
{
    if (!c->l->lc->nremotes)
        return reach_original(c);
    struct server *tried[MAX_REMOTES * 4];
    int ntried = 0, rc = -EHOSTUNREACH;
    while (ntried < (int)(sizeof tried / sizeof tried[0])) {
        struct server *s = pool_pick(c->l->pool, &c->peer, tried, ntried);
        if (!s)
            break;
        rc = try_backend(c, s);
        if (rc == 0 || rc == -ECANCELED) {
            if (rc < 0)
                server_release(s);
            break;
        }
        tried[ntried++] = s;
    }
    for (int i = 0; i < ntried; i++)
        server_release(tried[i]);
    if (rc < 0 && rc != -ECANCELED && ntried)
        refuse(c, end_kind_of_connect(rc), NULL, NULL); /* each failure was said */
    else if (rc < 0 && rc != -ECANCELED)
        refuse(c, END_NO_BACKEND, "%s: no backend of %s is up: closed", c->l->lc->name);
    return rc;
}

/* Both ways until both streams end, or until a takeover stops the relay
 * (every byte read written) and the connection goes to the new process;
 * bytes are counted when it returns.  Both sockets are closed right after
 * (RSOCK_RELAY_CLOSING: the close sends the last end of stream). */
static void relay(struct conn *c)
{
    struct worker *w = c->w;
    rsock_relay_stats moved;
    rsock_chan *handover = takeover_handover_chan(); /* NULL: no control socket */
    int64_t idle_ms = (int64_t)(conf(c)->idle_timeout * 1000);
    int flags = conf(c)->copy_flags | RSOCK_RELAY_CLOSING;
    keepalive_later(w, &c->keepalive, c->server, conf(c));
    int rc = handover
                 ? rsock_relay_stop(c->client, c->server, -1, idle_ms, flags, handover, &moved)
                 : rsock_relay(c->client, c->server, -1, idle_ms, flags, &moved);
    keepalive_drop(w, &c->keepalive);
    if (rc == -EINTR && takeover_pass(c->l->lc->local, c->client, c->server, &c->peer, &moved) == 0)
        rc = 0; /* handed over: the new process relays it from here */
    enum end_kind how = end_kind_of(rc);
    STAT_ADD(w->up, moved.a_to_b);
    STAT_ADD(w->down, moved.b_to_a);
    metrics_closed(c->backend ? c->backend->traffic : NULL,
                   (double)(rsock_now() - c->began) / 1000, moved.a_to_b, moved.b_to_a, how);
    if (rc < 0) {
        STAT_ADD(w->errors, 1);
        log_line(1, "connection ended: %s", rsock_error_message());
    }
    if (conf(c)->verbose > 0)
        log_closed(c, &moved, how);
    if (rc < 0) {
        reset_on_close(c->client);
        reset_on_close(c->server);
    }
}

/* --max-per-client and --rate-limit (admit.c): refused over either. */
static bool admitted(struct conn *c)
{
    const char *why = "";
    if (admit(c->l, &c->peer, &why))
        return true;
    refuse(c, END_LIMIT, "%s: refused: %s", why);
    return false;
}

static void serve(void *arg)
{
    struct conn *c = arg;
    struct worker *w = c->w;
    c->began = rsock_now();
    bool in = (!c->l->lc->accept_proxy || read_proxy_header(c) == 0) && admitted(c);
    bool funded = in && budget_take() == 0; /* --buffer-budget: may wait here */
    if (funded && reach_backend(c) == 0) {
        if (!c->l->lc->send_proxy || send_proxy_header(c) >= 0)
            relay(c);
        else
            metrics_closed(c->backend->traffic, 0, 0, 0, END_ERROR);
        server_release(c->backend);
    }
    if (funded)
        budget_release();
    if (in)
        admit_done(c->l, &c->peer);
    rsock_close(c->server);
    rsock_close(c->client);
    generation_put(c->l->gen);
    free(c);
    STAT_ADD(w->active, -1);
    slot_release();
}

/* A connection taken over from the old process: relay from where it
 * stopped (its backend connected already).  It holds what an accepted one
 * holds while it relays, released at its end: a --max-conns slot, its
 * client's place in --max-per-client (counted, never refused: it is
 * mid-stream) and a --buffer-budget share (waited for, as a new one). */
static void resume(void *arg)
{
    struct conn *c = arg;
    struct worker *w = c->w;
    c->began = rsock_now();
    admit_count(c->l, &c->peer);
    if (slot_wait() == 0) {
        if (budget_take() == 0) {
            relay(c);
            budget_release();
        }
        slot_release();
    }
    admit_done(c->l, &c->peer);
    rsock_close(c->server);
    rsock_close(c->client);
    generation_put(c->l->gen);
    free(c);
    STAT_ADD(w->active, -1);
}

int conn_resume(struct worker *w, struct listener *l, rsock_t *client, rsock_t *server,
                const rsock_addr *peer, const rsock_relay_stats *before)
{
    struct conn *c = malloc(sizeof *c);
    if (!c)
        return -ENOMEM;
    *c = (struct conn){.w = w, .l = l, .client = client, .server = server, .before = *before};
    if (peer)
        c->peer = *peer;
    else if (rsock_getpeername(client, &c->peer) < 0)
        rsock_addr_init(&c->peer, AF_UNIX);
    generation_get(l->gen);
    int rc = rsock_group_spawn(w->conns, resume, c);
    if (rc < 0) {
        generation_put(l->gen);
        free(c);
        return rc;
    }
    STAT_ADD(w->conns_total, 1);
    STAT_ADD(w->active, 1);
    return 0;
}

void conn_start(struct worker *w, struct listener *l, rsock_t *client, const rsock_addr *peer,
                rsock_t *server)
{
    struct conn *c = malloc(sizeof *c);
    if (c) {
        *c = (struct conn){.w = w, .l = l, .client = client, .server = server, .peer = *peer};
        generation_get(l->gen);
    }
    if (!c || rsock_group_spawn(w->conns, serve, c) < 0) {
        log_line(0, "no memory for a connection: closing it");
        if (c)
            generation_put(l->gen);
        free(c);
        rsock_close(client);
        rsock_close(server);
        STAT_ADD(w->errors, 1);
        slot_release();
        return;
    }
    apply_sockopts(l->gen->config, client, ON_CLIENT); /* NODELAY, keepalive: from the listener */
    STAT_ADD(w->conns_total, 1);
    STAT_ADD(w->active, 1);
}
