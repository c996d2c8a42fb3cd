/* Admission: the limits a new connection meets before a backend is picked
 * (after --accept-proxy's header, so the header's client is the one
 * counted).  Both are per listener, found by the listener's name, so they
 * hold across a reload (a listener that keeps its name keeps its counts).
 *
 * --max-per-client N: open connections per client IP address.  A table of
 * counters shared by all threads: hashed by (listener, address), a chain
 * per bucket, a lock per stripe of buckets.  An entry lives while its
 * client has a connection open (removed at 0), so the table holds at most
 * one entry per open connection: it is bounded by --max-conns.  Unix
 * clients have no address and are not counted.
 *
 * --rate-limit R: new connections per second, a token bucket of R tokens
 * (at least 1) refilled at R per second, kept as GCRA's one number (the
 * "theoretical arrival time") in an atomic: a compare-and-swap per
 * connection, no lock.  So a burst after a quiet spell gets R through at
 * once, then one every 1/R s.
 *
 * A listener with neither limit pays one test per connection. */
#include "proxy.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STRIPES 64
#define BUCKETS 4096 /* chains stay short up to ~10^4 clients with connections open */
#define RATES 256    /* listener names with a rate limit, over all reloads */

struct client {
    struct client *next;
    uint64_t listener;
    uint8_t ip[16];
    int iplen;
    long open;
};

static struct stripe {
    pthread_mutex_t lock;
} __attribute__((aligned(64))) stripes[STRIPES];
static pthread_once_t stripes_once = PTHREAD_ONCE_INIT;
static struct client *buckets[BUCKETS];

static struct rate {
    uint64_t listener; /* 0: free */
    int64_t tat_ns;    /* when the bucket is full again */
} rates[RATES];

/* FNV-1a; never 0 (0 marks a free rate slot). */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t listener_key(const struct listener *l)
{
    uint64_t h = hash_bytes(0xcbf29ce484222325ull, l->lc->name, strlen(l->lc->name));
    return h ? h : 1;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- --rate-limit ---- */

/* The listener's slot (claimed on first use), NULL when all are taken. */
static struct rate *rate_of(uint64_t key)
{
    for (size_t i = 0, at = key % RATES; i < RATES; i++, at = (at + 1) % RATES) {
        uint64_t seen = __atomic_load_n(&rates[at].listener, __ATOMIC_ACQUIRE);
        if (seen == 0 && __atomic_compare_exchange_n(&rates[at].listener, &seen, key, false,
                                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
            return &rates[at];
        if (seen == key)
            return &rates[at];
    }
    return NULL;
}

static bool rate_take(uint64_t key, double per_second)
{
    struct rate *r = rate_of(key);
    if (!r) {
        log_line(0, "more than %d listeners with a rate limit: not limiting the others", RATES);
        return true;
    }
    int64_t interval = (int64_t)(1e9 / per_second);
    int64_t burst = per_second < 1 ? 1 : (int64_t)per_second;
    int64_t now = now_ns();
    int64_t tat = __atomic_load_n(&r->tat_ns, __ATOMIC_RELAXED);
    for (;;) {
        int64_t next = (tat > now ? tat : now) + interval;
        if (next - now > burst * interval)
            return false; /* the bucket is empty */
        if (__atomic_compare_exchange_n(&r->tat_ns, &tat, next, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            return true;
    }
}

/* ---- --max-per-client ---- */

static void init_stripes(void)
{
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&stripes[i].lock, NULL);
}

struct client_key {
    uint64_t listener;
    uint8_t ip[16];
    int iplen;
    size_t bucket;
};

/* false for a client without an IP address (Unix): not counted. */
static bool client_key(const struct listener *l, const rsock_addr *peer, struct client_key *k)
{
    k->iplen = rsock_addr_ip(peer, k->ip, NULL);
    if (k->iplen < 0)
        return false;
    k->listener = listener_key(l);
    k->bucket = hash_bytes(k->listener, k->ip, (size_t)k->iplen) % BUCKETS;
    return true;
}

static struct client **find(const struct client_key *k)
{
    struct client **p = &buckets[k->bucket];
    while (*p && ((*p)->listener != k->listener || (*p)->iplen != k->iplen ||
                  memcmp((*p)->ip, k->ip, (size_t)k->iplen) != 0))
        p = &(*p)->next;
    return p;
}

static pthread_mutex_t *lock_of(const struct client_key *k)
{
    pthread_once(&stripes_once, init_stripes);
    return &stripes[k->bucket % STRIPES].lock;
}

/* One more connection of the client, unless it has `max` open: true if
 * taken.  No memory for an entry: admitted (a limit never refuses for
 * want of bookkeeping; the count is then one short until it closes). */
static bool client_take(const struct client_key *k, long max)
{
    pthread_mutex_t *lock = lock_of(k);
    pthread_mutex_lock(lock);
    struct client **p = find(k), *c = *p;
    bool ok = !c || c->open < max;
    if (ok && c)
        c->open++;
    else if (ok && (c = malloc(sizeof *c))) {
        *c = (struct client){.listener = k->listener, .iplen = k->iplen, .open = 1};
        memcpy(c->ip, k->ip, (size_t)k->iplen);
        *p = c;
    }
    pthread_mutex_unlock(lock);
    return ok;
}

static void client_put(const struct client_key *k)
{
    pthread_mutex_t *lock = lock_of(k);
    pthread_mutex_lock(lock);
    struct client **p = find(k), *c = *p;
    if (c && --c->open == 0) {
        *p = c->next;
        free(c);
    }
    pthread_mutex_unlock(lock);
}

bool admit(struct listener *l, const rsock_addr *peer, const char **why)
{
    const struct listener_config *lc = l->lc;
    if (lc->max_per_client <= 0 && lc->rate_limit <= 0)
        return true;
    struct client_key k;
    bool counted = lc->max_per_client > 0 && client_key(l, peer, &k);
    if (counted && !client_take(&k, lc->max_per_client)) {
        *why = "over --max-per-client";
        return false;
    }
    if (lc->rate_limit > 0 && !rate_take(listener_key(l), lc->rate_limit)) {
        if (counted)
            client_put(&k);
        *why = "over --rate-limit";
        return false;
    }
    return true;
}

void admit_count(struct listener *l, const rsock_addr *peer)
{
    struct client_key k;
    if (l->lc->max_per_client > 0 && client_key(l, peer, &k))
        client_take(&k, LONG_MAX); /* counted, never refused */
}

void admit_done(struct listener *l, const rsock_addr *peer)
{
    struct client_key k;
    if (l->lc->max_per_client > 0 && client_key(l, peer, &k))
        client_put(&k);
}
