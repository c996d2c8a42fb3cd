/* A listener's backends: a pool of servers, each one address, with its
 * health and its open connections.  Servers are shared by every thread
 * (their counters are atomics); the pool's list changes only when a name
 * re-resolves to other addresses, under the pool's lock. */
#ifndef RSOCK_PROXY_POOL_H
#define RSOCK_PROXY_POOL_H

#include "config.h"

#include <pthread.h>
#include <rsock.h>
#include <stdint.h>

struct traffic; /* metrics.h */

struct server {
    rsock_addr addr;
    char text[RSOCK_ADDRSTRLEN]; /* addr, formatted */
    const char *from;            /* the REMOTE text it came from (the config's) */
    uint64_t hash;               /* of `text`: its place for --balance hash */
    int64_t active;              /* open connections (atomic) */
    int up;                      /* 1 or 0 (atomic) */
    int fails, passes;           /* consecutive check results (atomic) */
    int refs;                    /* the pool's and each connection's (atomic) */
    struct traffic *traffic;     /* its metrics */
};

struct pool {
    pthread_mutex_t lock;
    struct server **servers; /* the current list */
    int nservers;
    unsigned next;           /* round robin (atomic) */
    const struct listener_config *lc;
};

/* A pool for lc's remotes, each resolved (a name to all its addresses):
 * 0, or -errno (said, naming the REMOTE). */
int pool_new(const struct listener_config *lc, struct pool **out);
void pool_free(struct pool *p);

/* A server that is up for a client at `peer`, by lc->balance, skipping
 * the `ntried` in `tried`; a reference the caller gives back with
 * server_put.  NULL: none is up (or every one up was tried). */
struct server *pool_pick(struct pool *p, const rsock_addr *peer, struct server *const *tried,
                         int ntried);
void server_put(struct server *s);
/* A picked server's connection has ended: one fewer open, and its reference. */
void server_release(struct server *s);

/* A check's or a connect's result: a server goes down after lc->fall
 * failures in a row, up after lc->rise successes; the change is logged.
 * The only server of a pool is never marked down. */
void server_report(struct pool *p, struct server *s, bool ok);

/* Replace the addresses REMOTE `from` gave with `addrs` (a re-resolution):
 * servers that stay keep their state. */
void pool_update(struct pool *p, const char *from, const rsock_addr *addrs, int naddrs);

/* The family most of its servers have (the first's): for the socket an
 * acceptor makes before it accepts.  AF_INET for an empty pool. */
int pool_family(struct pool *p);

/* Every server of the pool, referenced: for checks.  *out is malloc'd;
 * give each back with server_put and free the array.  -ENOMEM. */
int pool_servers(struct pool *p, struct server ***out);

/* resolve.c: the addresses `remote` stands for (a name: all of them, by
 * getaddrinfo on a helper thread; else the one rsock_addr_parse reads):
 * how many (<= max), or -errno (said). */
int resolve_remote(const char *remote, rsock_addr *out, int max);
/* Whether `remote` is a host name (resolve_remote asks getaddrinfo). */
bool remote_is_name(const char *remote);

#endif
