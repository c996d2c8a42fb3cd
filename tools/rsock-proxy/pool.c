/* Backend pools: picking a server (round robin, fewest connections, or a
 * consistent hash of the client address), passive and active health, and
 * the list's changes when a name re-resolves.
 *
 * --balance hash is rendezvous hashing: each server scores hash(client,
 * server) and the highest score among those up wins.  A client keeps its
 * server while that server is up, and when one of N servers goes, only the
 * clients it had (1/N) move. */
#include "pool.h"
#include "log.h"
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const void *data, size_t len, uint64_t h)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* A 64-bit mix, so scores of neighbouring inputs do not correlate. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* The client's address without its port (a client keeps its server across
 * connections); a Unix client hashes as one. */
static uint64_t client_hash(const rsock_addr *peer)
{
    uint8_t ip[16];
    int n = peer ? rsock_addr_ip(peer, ip, NULL) : -1;
    return fnv1a(ip, n > 0 ? (size_t)n : 0, 0xcbf29ce484222325ULL);
}

static void server_get(struct server *s)
{
    __atomic_fetch_add(&s->refs, 1, __ATOMIC_RELAXED);
}

void server_put(struct server *s)
{
    if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0)
        free(s);
}

void server_release(struct server *s)
{
    __atomic_fetch_sub(&s->active, 1, __ATOMIC_RELAXED);
    server_put(s);
}

static struct server *server_new(const struct listener_config *lc, const char *from,
                                 const rsock_addr *addr)
{
    struct server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->addr = *addr;
    rsock_addr_format(addr, s->text, sizeof s->text);
    s->from = from;
    s->hash = mix(fnv1a(s->text, strlen(s->text), 0xcbf29ce484222325ULL));
    s->up = 1;
    s->refs = 1;
    s->traffic = metrics_for(lc->name, s->text);
    metrics_backend_up(lc->name, s->text, true);
    return s;
}

static bool tried_already(const struct server *s, struct server *const *tried, int ntried)
{
    for (int i = 0; i < ntried; i++)
        if (tried[i] == s)
            return true;
    return false;
}

static bool usable(const struct server *s, struct server *const *tried, int ntried)
{
    return __atomic_load_n(&s->up, __ATOMIC_RELAXED) && !tried_already(s, tried, ntried);
}

static struct server *pick_rr(struct pool *p, struct server *const *tried, int ntried)
{
    unsigned start = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < p->nservers; i++) {
        struct server *s = p->servers[(start + (unsigned)i) % (unsigned)p->nservers];
        if (usable(s, tried, ntried))
            return s;
    }
    return NULL;
}

/* Fewest open connections; ties go round robin (so a quiet pool spreads). */
static struct server *pick_leastconn(struct pool *p, struct server *const *tried, int ntried)
{
    unsigned start = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
    struct server *best = NULL;
    int64_t best_active = 0;
    for (int i = 0; i < p->nservers; i++) {
        struct server *s = p->servers[(start + (unsigned)i) % (unsigned)p->nservers];
        int64_t active = __atomic_load_n(&s->active, __ATOMIC_RELAXED);
        if (usable(s, tried, ntried) && (!best || active < best_active))
            best = s, best_active = active;
    }
    return best;
}

static struct server *pick_hash(struct pool *p, const rsock_addr *peer,
                                struct server *const *tried, int ntried)
{
    uint64_t client = client_hash(peer), best_score = 0;
    struct server *best = NULL;
    for (int i = 0; i < p->nservers; i++) {
        struct server *s = p->servers[i];
        uint64_t score = mix(client ^ s->hash);
        if (usable(s, tried, ntried) && (!best || score > best_score))
            best = s, best_score = score;
    }
    return best;
}

struct server *pool_pick(struct pool *p, const rsock_addr *peer, struct server *const *tried,
                         int ntried)
{
    pthread_mutex_lock(&p->lock);
    struct server *s = p->lc->balance == BALANCE_LEASTCONN ? pick_leastconn(p, tried, ntried)
                       : p->lc->balance == BALANCE_HASH    ? pick_hash(p, peer, tried, ntried)
                                                           : pick_rr(p, tried, ntried);
    if (s) {
        server_get(s);
        __atomic_fetch_add(&s->active, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&p->lock);
    return s;
}

static void set_state(struct pool *p, struct server *s, int up, const char *why)
{
    if (__atomic_exchange_n(&s->up, up, __ATOMIC_RELAXED) == up)
        return;
    bool named = strcmp(s->text, s->from) != 0;
    log_event("backend", "%s: backend %s%s%s%s is %s: %s", p->lc->name, s->text,
              named ? " (" : "", named ? s->from : "", named ? ")" : "", up ? "up" : "down", why);
    metrics_backend_up(p->lc->name, s->text, up);
}

/* A pool of one server never marks it down: there is nowhere else to
 * send its clients, and each would rather try it than be refused. */
void server_report(struct pool *p, struct server *s, bool ok)
{
    if (__atomic_load_n(&p->nservers, __ATOMIC_RELAXED) <= 1)
        return;
    if (ok) {
        __atomic_store_n(&s->fails, 0, __ATOMIC_RELAXED);
        if (__atomic_add_fetch(&s->passes, 1, __ATOMIC_RELAXED) >= p->lc->rise)
            set_state(p, s, 1, "checks pass");
        return;
    }
    __atomic_store_n(&s->passes, 0, __ATOMIC_RELAXED);
    if (__atomic_add_fetch(&s->fails, 1, __ATOMIC_RELAXED) >= p->lc->fall)
        set_state(p, s, 0, rsock_error_message());
}

/* Append a server to the list (the lock held, or the pool still private). */
static int pool_append(struct pool *p, struct server *s)
{
    struct server **grown = realloc(p->servers, (size_t)(p->nservers + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    p->servers = grown;
    p->servers[p->nservers++] = s;
    return 0;
}

static int add_remote(struct pool *p, const char *remote)
{
    rsock_addr addrs[MAX_REMOTES];
    int n = resolve_remote(remote, addrs, MAX_REMOTES);
    for (int i = 0; i < n; i++) {
        struct server *s = server_new(p->lc, remote, &addrs[i]);
        if (!s || pool_append(p, s) < 0) {
            free(s);
            return -ENOMEM;
        }
    }
    return n < 0 ? n : 0;
}

int pool_new(const struct listener_config *lc, struct pool **out)
{
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    p->lc = lc;
    for (int i = 0; i < lc->nremotes; i++) {
        int rc = add_remote(p, lc->remotes[i]);
        if (rc < 0) {
            pool_free(p);
            return rc;
        }
    }
    *out = p;
    return 0;
}

void pool_free(struct pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nservers; i++)
        server_put(p->servers[i]);
    free(p->servers);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static bool among(const struct server *s, const rsock_addr *addrs, int n)
{
    char text[RSOCK_ADDRSTRLEN];
    for (int i = 0; i < n; i++)
        if (rsock_addr_format(&addrs[i], text, sizeof text) > 0 && !strcmp(text, s->text))
            return true;
    return false;
}

static bool has_server(struct pool *p, const char *from, const rsock_addr *a)
{
    for (int i = 0; i < p->nservers; i++)
        if (p->servers[i]->from == from && among(p->servers[i], a, 1))
            return true;
    return false;
}

void pool_update(struct pool *p, const char *from, const rsock_addr *addrs, int naddrs)
{
    pthread_mutex_lock(&p->lock);
    int kept = 0;
    for (int i = 0; i < p->nservers; i++) {
        struct server *s = p->servers[i];
        if (s->from != from || among(s, addrs, naddrs)) {
            p->servers[kept++] = s;
            continue;
        }
        log_event("backend", "%s: %s no longer gives %s: removed", p->lc->name, from, s->text);
        metrics_backend_gone(p->lc->name, s->text);
        server_put(s);
    }
    p->nservers = kept;
    for (int i = 0; i < naddrs; i++) {
        if (has_server(p, from, &addrs[i]))
            continue;
        struct server *s = server_new(p->lc, from, &addrs[i]);
        if (s && pool_append(p, s) == 0)
            log_event("backend", "%s: %s now gives %s: added", p->lc->name, from, s->text);
        else
            free(s);
    }
    pthread_mutex_unlock(&p->lock);
}

int pool_servers(struct pool *p, struct server ***out)
{
    pthread_mutex_lock(&p->lock);
    int n = p->nservers;
    *out = malloc((size_t)(n ? n : 1) * sizeof **out);
    for (int i = 0; *out && i < n; i++) {
        (*out)[i] = p->servers[i];
        server_get(p->servers[i]);
    }
    pthread_mutex_unlock(&p->lock);
    return *out ? n : -ENOMEM;
}

int pool_family(struct pool *p)
{
    pthread_mutex_lock(&p->lock);
    int family = p->nservers ? rsock_addr_family(&p->servers[0]->addr) : AF_INET;
    pthread_mutex_unlock(&p->lock);
    return family;
}
