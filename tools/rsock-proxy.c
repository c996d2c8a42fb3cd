/* rsock-proxy: the reference tutorial's transparent proxy as a tool.
 *
 * N threads, each with its own loop and its own SO_REUSEPORT listener.  Per
 * connection two fibers, one per direction, each an rsock copy; they share
 * an idle clock, and a failure of either stops the other at once.  Signals
 * reach the loops through a socketpair per thread written by the handler (a
 * socket, so a fiber can wait on it); a second socketpair per thread wakes
 * its acceptor when a connection slot frees up on any thread. */
#include "fiber.h"
#include "io_internal.h"
#include "proxy_config.h"
#include "proxy_log.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/stat.h>

/* Pipes each thread's copies keep for reuse (KEEP_PIPES in src/io_pool.c):
 * two descriptors each, which the descriptor budget must leave room for. */
#define POOLED_PIPES 64

struct worker {
    int index;
    rsock_t *listener;
    rsock_t *spare;        /* an upstream socket made before each accept */
    int ctl[2];            /* signal bytes: the handler writes ctl[1] */
    int wake[2];           /* slot-free bytes: any thread writes wake[1] */
    bool wants_slot;       /* the acceptor is parked for a slot (atomic) */
    pthread_t thread;
    bool stopping;
    /* statistics, read by the summary from another thread; each worker's
     * on cache lines of its own (they change on every write) */
    int64_t conns, active, up, down, errors;
} __attribute__((aligned(64)));

struct conn {
    struct worker *w;
    rsock_t *client, *server;
    rsock_addr peer;
    rsock_fiber *up, *down; /* the fibers copying each way */
    int64_t last_active;
    int64_t down_rc;
    bool one_done; /* one direction has finished: the other closes, no shutdown */
    bool aborted;  /* a failure stopped both directions */
    char why[160]; /* the first failure, for the log */
};

static struct proxy_config cfg;
static rsock_addr remote_addr, local_addr;
static char local_text[RSOCK_ADDRSTRLEN]; /* LOCAL as bound (the real port) */
static struct stat local_bound;           /* a Unix LOCAL's file as we bound it */
static struct worker *workers;
static int nworkers;
static int64_t active_total; /* all threads, for --max-conns (sequentially consistent) */
static int slot_waiters;     /* acceptors parked for a slot, all threads */

#define STAT_ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Every line goes through proxy_log.h: escaped, and rate-limited but for
 * -v's (level 1), which were asked for one by one. */
static void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int level, const char *fmt, ...)
{
    if (cfg.verbose < level)
        return;
    va_list ap;
    va_start(ap, fmt);
    proxy_vlog(level < 1, fmt, ap);
    va_end(ap);
}

/* A line was held back: thread 0's control fiber prints the summary when
 * its window ends (it waits on its signal socket with that deadline). */
static void wake_log_flusher(void)
{
    char byte = 'L';
    if (write(workers[0].ctl[1], &byte, 1) < 0) {
        /* full: the control fiber has bytes to read already */
    }
}

static void print_summary(const char *when)
{
    int64_t sum[5] = {0};
    for (int i = 0; i < nworkers; i++) {
        struct worker *w = &workers[i];
        int64_t v[5] = {STAT_GET(w->conns), STAT_GET(w->active), STAT_GET(w->up),
                        STAT_GET(w->down), STAT_GET(w->errors)};
        for (int k = 0; k < 5; k++)
            sum[k] += v[k];
    }
    proxy_log_flush(true);
    if (cfg.verbose >= 0)
        fprintf(stderr,
                "rsock-proxy: %s: connections=%lld active=%lld bytes_up=%lld bytes_down=%lld "
                "errors=%lld\n",
                when, (long long)sum[0], (long long)sum[1], (long long)sum[2],
                (long long)sum[3], (long long)sum[4]);
}

/* ---- signals ---- */

static void on_signal(int sig)
{
    int saved = errno;
    char byte = sig == SIGUSR1 ? 'U' : 'T';
    for (int i = 0; i < (sig == SIGUSR1 ? 1 : nworkers); i++)
        if (write(workers[i].ctl[1], &byte, 1) < 0) {
            /* full: the loop has bytes to read already */
        }
    errno = saved;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- connections ---- */

static void apply_sockopts(rsock_t *s, int where)
{
    for (int i = 0; i < cfg.nsockopts; i++) {
        struct proxy_sockopt *o = &cfg.sockopts[i];
        if (o->where == where && rsock_setsockopt_int(s, o->level, o->opt, o->value) < 0)
            logf_(0, "--sockopt %s=%d: %s", o->name, o->value, rsock_error_message());
    }
}

static bool is_tcp(rsock_t *s)
{
    int d = rsock_domain(s);
    return d == AF_INET || d == AF_INET6;
}

static void set_nodelay(rsock_t *s)
{
    int one = 1;
    if (is_tcp(s))
        setsockopt(rsock_fd(s), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* --keepalive S: the first probe after S idle seconds, then one every
 * min(S, 10) seconds; 6 unanswered end the connection.  Accepted sockets
 * inherit the listener's settings. */
static void set_keepalive(rsock_t *s)
{
    if (cfg.keepalive_s <= 0 || !is_tcp(s))
        return;
    int fd = rsock_fd(s), on = 1, idle = (int)cfg.keepalive_s;
    int interval = idle < 10 ? idle : 10, count = 6;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count);
}

static int64_t deadline_after(double seconds)
{
    return seconds > 0 ? rsock_now() + (int64_t)(seconds * 1000) : -1;
}

/* The socket a connection to REMOTE will use, with its options. */
static int upstream_socket(rsock_t **out)
{
    int rc = rsock_socket(remote_addr.sa.sa_family, SOCK_STREAM, 0, out);
    if (rc < 0)
        return rc;
    set_nodelay(*out);
    set_keepalive(*out);
    apply_sockopts(*out, ON_SERVER);
    return 0;
}

/* c->server was made before the client was accepted (see take_spare). */
static int reach_remote(struct conn *c)
{
    int rc = rsock_connect_wait(c->server, &remote_addr, deadline_after(cfg.connect_timeout));
    if (rc < 0) {
        rsock_close(c->server);
        c->server = NULL;
    }
    return rc;
}

/* The fiber running this code (the runtime has no public call for it). */
static rsock_fiber *this_fiber(void) { return rsock__sched_get()->current; }

static void close_with_reset(rsock_t *s)
{
    struct linger abort_close = {1, 0};
    setsockopt(rsock_fd(s), SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
}

/* Writing `to` failed because its peer reset or left: the reverse copy,
 * reading `to`, learns it by itself, after delivering what that peer sent
 * before (an error response, say). */
static bool reverse_learns(int64_t rc, unsigned failed)
{
    return failed == RSOCK__OUT && (rc == -EPIPE || rc == -ECONNRESET);
}

/* Any other failure (a reset, a timeout, no memory) ends the connection at
 * once: both sides close with linger 0 (an RST: a peer must never take a
 * stream cut short for a clean end), and the other direction, parked on
 * either socket or about to park, is cancelled, so nothing waits on a side
 * whose partner failed. */
static void abort_connection(struct conn *c, rsock_fiber *other)
{
    c->aborted = true;
    close_with_reset(c->client);
    close_with_reset(c->server);
    rsock_cancel(other);
}

/* Keep the first failure's message: the cancelled direction's comes later. */
static void note_failure(struct conn *c)
{
    if (!c->why[0])
        snprintf(c->why, sizeof c->why, "%s", rsock_error_message());
}

/* One direction; `other` is the fiber of the reverse one. */
static int64_t relay(struct conn *c, rsock_t *from, rsock_t *to, int64_t *counter,
                     rsock_fiber *other)
{
    unsigned failed = 0;
    struct rsock__copy_opts o = {.deadline = -1,
                                 .idle_ms = (int64_t)(cfg.idle_timeout * 1000),
                                 .flags = cfg.copy_flags,
                                 .moved = counter,
                                 .last_active = &c->last_active,
                                 .sigpipe_ignored = true,
                                 .failed = &failed,
                                 .closing = &c->one_done};
    int64_t rc = rsock__copy(from, to, &o);
    bool other_running = !c->one_done;
    c->one_done = true;
    if (rc < 0)
        note_failure(c);
    if (rc < 0 && other_running && !c->aborted && !reverse_learns(rc, failed))
        abort_connection(c, other);
    return rc;
}

static void downstream(void *arg)
{
    struct conn *c = arg;
    c->down_rc = relay(c, c->server, c->client, &c->w->down, c->up);
}

static void log_connection(struct conn *c)
{
    char a[RSOCK_ADDRSTRLEN], b[RSOCK_ADDRSTRLEN], l[RSOCK_ADDRSTRLEN];
    rsock_addr mine;
    if (rsock_getsockname(c->server, &mine) < 0)
        rsock_addr_init(&mine, AF_UNIX);
    rsock_addr_format(&c->peer, a, sizeof a);
    rsock_addr_format(&mine, l, sizeof l);
    rsock_addr_format(&remote_addr, b, sizeof b);
    logf_(1, "%s -> %s: via %s -> %s", a[0] ? a : "unnamed", local_text, l[0] ? l : "unnamed",
          b);
}

/* Both directions: this fiber copies up, a second one down.  The join is
 * bounded: the down copy ends by itself (its stream ends, it fails, or the
 * idle timeout passes), or at once when the up copy failed and cancelled it. */
static void relay_both(struct conn *c)
{
    struct worker *w = c->w;
    c->last_active = rsock_now();
    c->up = this_fiber();
    int64_t up_rc = -1;
    if (rsock_spawn(downstream, c, &c->down) < 0) {
        note_failure(c);
    } else {
        up_rc = relay(c, c->client, c->server, &w->up, c->down);
        rsock_join(c->down, -1);
    }
    if (up_rc < 0 || c->down_rc < 0) {
        STAT_ADD(w->errors, 1);
        logf_(1, "connection ended: %s", c->why);
    }
}

static void release_slot(void);

static void connection(void *arg)
{
    struct conn *c = arg;
    struct worker *w = c->w;
    char peer[RSOCK_ADDRSTRLEN];
    if (reach_remote(c) < 0) {
        rsock_addr_format(&c->peer, peer, sizeof peer);
        logf_(0, "%s: cannot reach %s: %s", peer[0] ? peer : "client", cfg.remote,
              rsock_error_message());
        STAT_ADD(w->errors, 1);
    } else {
        if (cfg.verbose > 0)
            log_connection(c);
        relay_both(c);
        rsock_close(c->server);
    }
    rsock_close(c->client);
    free(c);
    STAT_ADD(w->active, -1);
    release_slot();
}

/* ---- connection slots (--max-conns) ----
 * An acceptor takes a slot only once a connection is pending, so an idle
 * acceptor holds none (with several threads, one would starve the others);
 * when none is free it parks on its worker's wake socket, and the end of a
 * connection on any thread writes to the wake socket of each parked one.
 * wants_slot/slot_waiters and active_total are sequentially consistent: a
 * slot freed between an acceptor's last try and its parking still wakes it. */

static bool take_slot(void)
{
    int64_t n = __atomic_fetch_add(&active_total, 1, __ATOMIC_SEQ_CST);
    if (cfg.max_conns <= 0 || n < cfg.max_conns)
        return true;
    __atomic_fetch_sub(&active_total, 1, __ATOMIC_SEQ_CST);
    return false;
}

static void wake_acceptor(struct worker *w)
{
    char byte = 's';
    if (write(w->wake[1], &byte, 1) < 0) {
        /* full: it has bytes to read already */
    }
}

static void release_slot(void)
{
    __atomic_fetch_sub(&active_total, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&slot_waiters, __ATOMIC_SEQ_CST) == 0)
        return;
    for (int i = 0; i < nworkers; i++)
        if (__atomic_load_n(&workers[i].wants_slot, __ATOMIC_SEQ_CST))
            wake_acceptor(&workers[i]);
}

static void set_wants_slot(struct worker *w, bool on)
{
    __atomic_store_n(&w->wants_slot, on, __ATOMIC_SEQ_CST);
    __atomic_fetch_add(&slot_waiters, on ? 1 : -1, __ATOMIC_SEQ_CST);
}

/* A slot, parking until one is free; false when the worker stops. */
static bool wait_for_slot(struct worker *w, rsock_t *wake)
{
    char bytes[64];
    while (!w->stopping) {
        if (take_slot())
            return true;
        set_wants_slot(w, true);
        bool got = take_slot();
        if (!got && !w->stopping)
            rsock_read(wake, bytes, sizeof bytes, -1); /* woken by release_slot */
        set_wants_slot(w, false);
        if (got)
            return true;
    }
    return false;
}

/* ---- accepting ---- */

static void start_connection(struct worker *w, rsock_t *client, const rsock_addr *peer,
                             rsock_t *server)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c) {
        c->w = w;
        c->client = client;
        c->server = server;
        c->peer = *peer;
    }
    if (!c || rsock_spawn(connection, c, NULL) < 0) {
        logf_(0, "no memory for a connection: closing it");
        free(c);
        rsock_close(client);
        rsock_close(server);
        STAT_ADD(w->errors, 1);
        release_slot();
        return;
    }
    apply_sockopts(client, ON_CLIENT); /* TCP_NODELAY and keepalive came from the listener */
    STAT_ADD(w->conns, 1);
    STAT_ADD(w->active, 1);
}

/* Make the upstream socket before accepting: a connection is accepted only
 * when the descriptor to serve it is in hand (never accepted, then dropped). */
static int take_spare(struct worker *w)
{
    return w->spare ? 0 : upstream_socket(&w->spare);
}

/* Out of descriptors or memory: say so once per kind, retry in 100 ms. */
static void accept_trouble(bool *told_fd_limit, int rc)
{
    bool fd_limit = rc == -EMFILE || rc == -ENFILE;
    if (!*told_fd_limit || !fd_limit)
        logf_(0, "accept: %s (retrying in 100 ms)", rsock_error_message());
    *told_fd_limit |= fd_limit;
    rsock_sleep(rsock_now() + 100); /* never spin on a limit */
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
    start_connection(w, client, &peer, w->spare);
    w->spare = NULL;
    if (++*batch % 64 == 0)
        rsock_yield(); /* let the new connections start */
    return 0;
}

static void accept_loop(struct worker *w, rsock_t *wake)
{
    bool told_fd_limit = false;
    for (int batch = 0;;) {
        int rc = rsock_wait_in(w->listener, -1); /* a pending connection, or the close */
        if (rc < 0 || w->stopping || !wait_for_slot(w, wake))
            return;
        rc = take_spare(w);
        if (rc == 0)
            rc = accept_pending(w, &batch);
        if (rc != 0)
            release_slot();
        if (rc <= 0 && w->stopping)
            return;
        if (rc < 0 && rc != -ECONNABORTED && rc != -EINTR)
            accept_trouble(&told_fd_limit, rc);
    }
}

static void acceptor(void *arg)
{
    struct worker *w = arg;
    rsock_t *wake;
    if (rsock_fdopen(w->wake[0], &wake) < 0) {
        logf_(-1, "wake socket: %s", rsock_error_message());
        return;
    }
    accept_loop(w, wake);
    rsock_close(wake);
    rsock_close(w->spare);
    w->spare = NULL;
}

/* ---- control: signals, shutdown ---- */

static void stop_accepting(struct worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    rsock_close(w->listener); /* wakes the acceptor with -ECANCELED */
    w->listener = NULL;
    wake_acceptor(w);         /* in case it is parked for a slot */
}

/* A pathname Unix LOCAL is ours: remove it on the way out, but only while
 * it is still the socket we bound (device and inode): a replacement proxy
 * started during our grace period has bound a new one there. */
static void remove_local_path(void)
{
    const char *path = rsock_addr_path(&local_addr);
    struct stat now;
    if (path && lstat(path, &now) == 0 && S_ISSOCK(now.st_mode) &&
        now.st_dev == local_bound.st_dev && now.st_ino == local_bound.st_ino)
        unlink(path);
}

static void exit_now(void)
{
    print_summary("exit");
    remove_local_path();
    fflush(stderr);
    _exit(0);
}

/* Thread 0 after SIGINT/SIGTERM: exit when the last connection ends or the
 * grace period is over; a second signal exits at once. */
static void wait_for_end(rsock_t *ctl)
{
    int64_t end = rsock_now() + (int64_t)(cfg.grace * 1000);
    char bytes[16];
    while (STAT_GET(active_total) > 0 && rsock_now() < end) {
        int64_t until = rsock_now() + 20;
        proxy_log_flush(false);
        ssize_t n = rsock_read(ctl, bytes, sizeof bytes, until < end ? until : end);
        for (ssize_t i = 0; i < n; i++)
            if (bytes[i] == 'T')
                exit_now();
            else if (bytes[i] == 'U')
                print_summary("summary");
    }
    exit_now();
}

static void control(void *arg)
{
    struct worker *w = arg;
    rsock_t *ctl;
    if (rsock_fdopen(w->ctl[0], &ctl) < 0) {
        logf_(-1, "signal socket: %s", rsock_error_message());
        return;
    }
    char bytes[16];
    for (;;) {
        /* 'L' (a log line held back) comes to thread 0 only: summarize
         * repeats when their window ends */
        int64_t due = w->index == 0 ? proxy_log_flush(false) : -1;
        ssize_t n = rsock_read(ctl, bytes, sizeof bytes, due);
        if (n == -ETIMEDOUT)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (bytes[i] == 'U')
                print_summary("summary");
            else if (bytes[i] == 'T') {
                stop_accepting(w);
                if (w->index == 0)
                    wait_for_end(ctl); /* does not return */
                rsock_close(ctl);
                return;
            }
        }
    }
    rsock_close(ctl);
}

/* ---- threads and listeners ---- */

/* What a path that is in the way is, for the message; NULL for a socket. */
static const char *non_socket_kind(const struct stat *st)
{
    return S_ISSOCK(st->st_mode)  ? NULL
           : S_ISREG(st->st_mode) ? "a regular file"
           : S_ISDIR(st->st_mode) ? "a directory"
           : S_ISLNK(st->st_mode) ? "a symbolic link"
                                  : "not a socket";
}

/* A Unix socket left by a proxy that died: lstat says it is a socket (a
 * file, a directory or a symlink is never removed: connect(2) says
 * "refused" for any of them) and nobody accepts on it any more. */
static bool stale_unix_socket(const rsock_addr *a)
{
    const char *path = rsock_addr_path(a);
    struct stat st;
    if (!path || lstat(path, &st) != 0 || !S_ISSOCK(st.st_mode))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool stale = fd >= 0 && connect(fd, &a->sa, a->len) < 0 && errno == ECONNREFUSED;
    if (fd >= 0)
        close(fd);
    return stale && unlink(path) == 0;
}

/* LOCAL's path exists and is no socket: refuse, naming what it is. */
static int path_in_the_way(const rsock_addr *a)
{
    const char *path = rsock_addr_path(a);
    struct stat st;
    const char *kind = path && lstat(path, &st) == 0 ? non_socket_kind(&st) : NULL;
    if (!kind)
        return -EADDRINUSE;
    return rsock__fail(EEXIST, "%s is %s, not a socket: not removed", path, kind);
}

/* Remember the socket file we bound, to remove only that one at exit. */
static void note_bound_path(void)
{
    const char *path = rsock_addr_path(&local_addr);
    if (path && lstat(path, &local_bound) != 0)
        memset(&local_bound, 0, sizeof local_bound);
}

static int bind_unix(rsock_t *s)
{
    int rc = rsock_bind(s, &local_addr);
    if (rc == -EADDRINUSE && stale_unix_socket(&local_addr))
        rc = rsock_bind(s, &local_addr);
    if (rc == -EADDRINUSE)
        rc = path_in_the_way(&local_addr);
    if (rc == 0)
        note_bound_path();
    return rc;
}

static int bind_listener(rsock_t *s, bool reuseport)
{
    int rc = 0;
    if (local_addr.sa.sa_family != AF_UNIX) {
        rc = rsock_setsockopt_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
        if (rc == 0 && reuseport)
            rc = rsock_setsockopt_int(s, SOL_SOCKET, SO_REUSEPORT, 1);
    }
    if (rc < 0)
        return rc;
    set_nodelay(s); /* accepted connections inherit it and keepalive: no setsockopt each */
    set_keepalive(s);
    apply_sockopts(s, ON_LISTEN);
    rc = local_addr.sa.sa_family == AF_UNIX ? bind_unix(s) : rsock_bind(s, &local_addr);
    return rc < 0 ? rc : rsock_listen(s, 4096);
}

static int open_listener(struct worker *w, bool reuseport)
{
    rsock_t *s = NULL;
    int rc = rsock_server_socket(local_addr.sa.sa_family, SOCK_STREAM, 0, &s);
    if (rc == 0)
        rc = bind_listener(s, reuseport);
    if (rc < 0) {
        fprintf(stderr, "rsock-proxy: cannot listen on %s: %s\n", cfg.local,
                rsock_error_message());
        rsock_close(s);
        return rc;
    }
    w->listener = s;
    return 0;
}

static void run_worker(struct worker *w)
{
    /* The relay path is shallow (no resolver, no big locals): small stacks
     * keep a thousand connections' fibers cheap. */
    rsock_set_stack_size(64 * 1024);
    rsock_set_busy_poll(cfg.busy_poll_us); /* 0..RSOCK_BUSY_POLL_MAX_US: checked when parsed */
    if (rsock_spawn(acceptor, w, NULL) < 0 || rsock_spawn(control, w, NULL) < 0) {
        fprintf(stderr, "rsock-proxy: %s\n", rsock_error_message());
        exit(1);
    }
    rsock_run();
}

static void *worker_thread(void *arg)
{
    struct worker *w = arg;
    if (open_listener(w, true) < 0)
        exit(1);
    run_worker(w);
    return NULL;
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 64 ? 64 : n) : 1;
}

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
 * stdio and per thread (epoll, listener, signal and wake socket pairs, the
 * spare upstream socket) and the pipes the copies pool per thread.  When
 * the pool would leave room for fewer than 64 connections, copying goes
 * through the buffer only (no pipes at all), unless --splice was asked. */
static long long fit_connections(long long limit)
{
    long long fixed = 16 + 8LL * nworkers, pipes = 2LL * POOLED_PIPES * nworkers;
    long long with_pipes = (limit - fixed - pipes) / 2;
    if (with_pipes < 64 && cfg.copy_flags != RSOCK_COPY_SPLICE) {
        cfg.copy_flags = RSOCK_COPY_BUFFER;
        logf_(0, "descriptor limit %lld: copying through a buffer (splice would pool %lld "
                 "descriptors for pipes)", limit, pipes);
        return (limit - fixed) / 2;
    }
    return with_pipes;
}

/* Take the whole descriptor allowance, and never accept more connections
 * than it can hold: beyond that, connections wait in the backlog.  (Even
 * past the budget none is dropped: the upstream socket is made before the
 * accept, and a copy that finds no pipe moves bytes through a buffer.) */
static void fit_fd_limit(void)
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
            logf_(0, "--max-conns %ld: the descriptor limit allows %lld", cfg.max_conns, cap);
        cfg.max_conns = cap;
    }
}

static int setup(void)
{
    if (rsock_addr_parse(&remote_addr, cfg.remote) < 0) {
        fprintf(stderr, "rsock-proxy: REMOTE: %s\n", rsock_error_message());
        return -1;
    }
    if (rsock_addr_parse(&local_addr, cfg.local) < 0) {
        fprintf(stderr, "rsock-proxy: LOCAL: %s\n", rsock_error_message());
        return -1;
    }
    nworkers = cfg.threads ? cfg.threads : default_threads();
    if (local_addr.sa.sa_family == AF_UNIX)
        nworkers = 1; /* a Unix path cannot be bound by several listeners */
    workers = aligned_alloc(64, (size_t)nworkers * sizeof *workers);
    if (!workers)
        return -1;
    memset(workers, 0, (size_t)nworkers * sizeof *workers);
    for (int i = 0; i < nworkers; i++) {
        workers[i].index = i;
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                       workers[i].ctl) < 0 ||
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
                       workers[i].wake) < 0) {
            perror("rsock-proxy: socketpair");
            return -1;
        }
    }
    fit_fd_limit();
    return 0;
}

/* "300 s", or "off" for 0: the start line's timeouts. */
static const char *seconds_or_off(double seconds, char *buf, size_t size)
{
    if (seconds <= 0)
        return "off";
    snprintf(buf, size, "%g s", seconds);
    return buf;
}

int main(int argc, char **argv)
{
    int rc = parse_config(&cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (setup() < 0)
        return 1;
    proxy_logs.on_hold = wake_log_flusher;
    /* Thread 0 is this one; its listener opens first so errors show early. */
    if (open_listener(&workers[0], nworkers > 1) < 0)
        return 1;
    /* Port 0: the other threads' listeners share the port the kernel chose. */
    rsock_getsockname(workers[0].listener, &local_addr);
    rsock_addr_format(&local_addr, local_text, sizeof local_text);
    install_signals();
    for (int i = 1; i < nworkers; i++)
        if (pthread_create(&workers[i].thread, NULL, worker_thread, &workers[i]) != 0) {
            fprintf(stderr, "rsock-proxy: cannot start thread %d\n", i);
            return 1;
        }
    int method = cfg.copy_flags ? cfg.copy_flags : RSOCK__COPY_DEFAULT;
    char idle[32], keepalive[32];
    logf_(0, "relaying %s -> %s (%d thread%s, %s, busy-poll %ld us, idle-timeout %s, keepalive %s)",
          local_text, cfg.remote, nworkers, nworkers > 1 ? "s" : "",
          method == RSOCK_COPY_ADAPTIVE ? "adaptive"
          : method == RSOCK_COPY_SPLICE ? "splice"
                                        : "buffer",
          cfg.busy_poll_us, seconds_or_off(cfg.idle_timeout, idle, sizeof idle),
          seconds_or_off((double)cfg.keepalive_s, keepalive, sizeof keepalive));
    run_worker(&workers[0]);
    return 0;
}
