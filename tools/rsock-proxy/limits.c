/* The descriptor budget: take the whole allowance, and never accept more
 * connections than it can hold; beyond that, connections wait in the
 * backlog.  (Even past the budget none is dropped: the upstream socket is
 * made before the accept, and a copy that finds no pipe moves bytes
 * through a buffer.) */
#include "proxy.h"

#include <limits.h>
#include <sys/resource.h>

/* Empty pipes each thread's copies keep for reuse (rsock_copy(3), NOTES):
 * two descriptors each, which the budget must leave room for. */
#define POOLED_PIPES RSOCK_COPY_POOLED_PIPES

/* The descriptor allowance, raised to the hard limit. */
static long long fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return -1;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0)
            getrlimit(RLIMIT_NOFILE, &r);
    }
    return r.rlim_cur == RLIM_INFINITY ? LLONG_MAX / 2 : (long long)r.rlim_cur;
}

/* Connections the allowance holds: two descriptors each, after a few for
 * stdio and the signal socket pair, a few per thread (epoll, its channel
 * wake-up, listener, spare upstream socket) and the pipes the copies pool
 * per thread.  When the pool would leave room for fewer than 64
 * connections, copying goes through the buffer only (no pipes at all),
 * unless --splice was asked. */
static long long fit_connections(long long limit)
{
    long long fixed = 16 + 8LL * nworkers, pipes = 2LL * POOLED_PIPES * nworkers;
    long long with_pipes = (limit - fixed - pipes) / 2;
    if (with_pipes < 64 && cfg.copy_flags != RSOCK_COPY_SPLICE) {
        cfg.copy_flags = RSOCK_COPY_BUFFER;
        log_line(0,
                 "descriptor limit %lld: copying through a buffer (splice would pool %lld "
                 "descriptors for pipes)",
                 limit, pipes);
        return (limit - fixed) / 2;
    }
    return with_pipes;
}

void fit_fd_limit(void)
{
    long long limit = fd_limit();
    if (limit < 0)
        return;
    long long cap = fit_connections(limit);
    if (cap > LONG_MAX)
        cap = LONG_MAX;
    if (cap < 1)
        cap = 1;
    if (cfg.max_conns == 0 || cfg.max_conns > cap) {
        if (cfg.max_conns)
            log_line(0, "--max-conns %ld: the descriptor limit allows %lld", cfg.max_conns, cap);
        cfg.max_conns = cap;
    }
}
