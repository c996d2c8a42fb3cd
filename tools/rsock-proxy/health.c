/* Active health checks and re-resolution: fibers of thread 0, members of
 * the generation's `checks` group (a reload or the stop cancels them).
 *
 * Every --health-interval, each server of a pool of two or more gets a TCP connect
 * (one fiber per server, so a silent one does not delay the others); with
 * --send-proxy the check says it is one (v2's LOCAL command, v1's
 * UNKNOWN), so the backend does not log a client.  Every
 * --resolve-interval, each REMOTE given by name is resolved again and the
 * pool follows its addresses. */
#include "proxy.h"
#include "proxy_proto.h"

#include <errno.h>
#include <stdlib.h>

struct check {
    struct listener *l;
    struct server *s;
    int64_t deadline;
};

static int check_connect(struct check *k)
{
    rsock_t *s;
    int rc = rsock_socket(rsock_addr_family(&k->s->addr), SOCK_STREAM, 0, &s);
    if (rc < 0)
        return rc;
    rc = rsock_connect_wait(s, &k->s->addr, k->deadline);
    if (rc == 0 && k->l->lc->send_proxy) {
        char header[PP_BUILD_MAX];
        int n = pp_build(k->l->lc->send_proxy, NULL, NULL, true, header, sizeof header);
        rc = n < 0 ? n : rsock_write_all(s, header, (size_t)n, k->deadline);
    }
    rsock_close(s);
    return rc;
}

static void check_one(void *arg)
{
    struct check *k = arg;
    int rc = check_connect(k);
    if (rc != -ECANCELED)
        server_report(k->l->pool, k->s, rc >= 0);
    server_put(k->s);
    free(k);
}

/* One round: a check per server, all at once, each within the interval. */
static void check_round(struct listener *l, rsock_group *round)
{
    struct server **servers;
    int n = pool_servers(l->pool, &servers);
    if (n == 1) /* a lone server is never marked down: no check */
        server_put(servers[0]), n = 0;
    /* A check may take the interval, and at least 2 s (a loaded host is
     * not a dead backend), but never longer than a client's connect. */
    double connect_timeout = l->gen->config->connect_timeout;
    double limit = l->lc->health_interval > 2 ? l->lc->health_interval : 2;
    if (connect_timeout > 0 && connect_timeout < limit)
        limit = connect_timeout;
    for (int i = 0; i < n; i++) {
        struct check *k = malloc(sizeof *k);
        if (k)
            *k = (struct check){l, servers[i], rsock_after((int64_t)(limit * 1000))};
        if (!k || rsock_group_spawn(round, check_one, k) < 0) {
            server_put(servers[i]);
            free(k);
        }
    }
    free(servers);
}

static void health_loop(void *arg)
{
    struct listener *l = arg;
    int64_t period = (int64_t)(l->lc->health_interval * 1000);
    rsock_group *round;
    if (rsock_group_new(&round) < 0)
        return;
    for (int64_t next = rsock_now(); rsock_sleep(next) == 0; next += period) {
        check_round(l, round);
        if (rsock_group_wait(round, -1) < 0)
            break;
    }
    rsock_group_close(round);
}

/* A name's addresses again; the pool follows (an address or a path
 * stays what it is). */
static void resolve_loop(void *arg)
{
    struct listener *l = arg;
    rsock_addr addrs[MAX_REMOTES];
    while (rsock_sleep(rsock_after(cfg.resolve_interval_s * 1000)) == 0) {
        for (int i = 0; i < l->lc->nremotes; i++) {
            const char *remote = l->lc->remotes[i];
            if (!remote_is_name(remote))
                continue;
            int n = resolve_remote(remote, addrs, MAX_REMOTES);
            if (n > 0)
                pool_update(l->pool, remote, addrs, n);
            /* else: said by resolve_remote; the pool keeps its addresses */
        }
    }
}

int checks_start(struct generation *g)
{
    int rc = rsock_group_new(&g->checks);
    for (int i = 0; rc == 0 && i < g->nlisteners; i++) {
        struct listener *l = &g->listeners[i];
        if (l->lc->health_interval > 0 && l->lc->nremotes)
            rc = rsock_group_spawn(g->checks, health_loop, l);
        if (rc == 0 && cfg.resolve_interval_s > 0 && l->lc->nremotes)
            rc = rsock_group_spawn(g->checks, resolve_loop, l);
    }
    return rc;
}
