/* rsock-proxy: the reference tutorial's transparent proxy as a tool.
 *
 * N threads, each with its own loop and its own SO_REUSEPORT listener.  Per
 * connection two fibers, one per direction, each an rsock copy; they share
 * an idle clock.  Signals reach the loops through a socketpair per thread
 * written by the handler (a socket, so a fiber can wait on it). */
#include "io_internal.h"
#include "proxy_config.h"

#include <fcntl.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/resource.h>

struct worker {
    int index;
    rsock_t *listener;
    int ctl[2];            /* signal bytes: the handler writes ctl[1] */
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
    int64_t last_active;
    int64_t down_rc;
    bool one_done; /* one direction has finished: the other closes, no shutdown */
};

static struct proxy_config cfg;
static rsock_addr remote_addr, local_addr;
static char local_text[RSOCK_ADDRSTRLEN]; /* LOCAL as bound (the real port) */
static struct worker *workers;
static int nworkers;
static int64_t active_total; /* all threads, for --max-conns */

#define STAT_ADD(field, n) __atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

static void logf_(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(int level, const char *fmt, ...)
{
    if (cfg.verbose < level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "rsock-proxy: %s\n", line);
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

static void set_nodelay(rsock_t *s)
{
    int d = rsock_domain(s);
    if (d == AF_INET || d == AF_INET6) {
        int one = 1;
        setsockopt(rsock_fd(s), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

static int64_t deadline_after(double seconds)
{
    return seconds > 0 ? rsock_now() + (int64_t)(seconds * 1000) : -1;
}

static int reach_remote(struct conn *c)
{
    int rc = rsock_socket(remote_addr.sa.sa_family, SOCK_STREAM, 0, &c->server);
    if (rc < 0)
        return rc;
    set_nodelay(c->server);
    apply_sockopts(c->server, ON_SERVER);
    rc = rsock_connect_wait(c->server, &remote_addr, deadline_after(cfg.connect_timeout));
    if (rc < 0) {
        rsock_close(c->server);
        c->server = NULL;
    }
    return rc;
}

/* One direction.  When reading `from` fails (its peer reset), the peer of
 * `to` must learn it as a reset too, not as a clean end: `to` will close
 * with linger 0 (an RST), and a reverse copy waiting to read `to` is woken
 * (SHUT_RD sends nothing).  When writing `to` fails, the reverse direction
 * finds out by itself, and may still deliver what `to`'s peer sent before. */
static int64_t relay(struct conn *c, rsock_t *from, rsock_t *to, int64_t *counter)
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
    c->one_done = true;
    if (rc < 0 && failed == RSOCK__IN) {
        struct linger abort_close = {1, 0};
        setsockopt(rsock_fd(to), SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
        shutdown(rsock_fd(to), SHUT_RD);
    }
    return rc;
}

static void downstream(void *arg)
{
    struct conn *c = arg;
    c->down_rc = relay(c, c->server, c->client, &c->w->down);
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
        rsock_fiber *down = NULL;
        c->last_active = rsock_now();
        int64_t up_rc = -1;
        if (rsock_spawn(downstream, c, &down) == 0) {
            up_rc = relay(c, c->client, c->server, &w->up);
            rsock_join(down, -1);
        }
        if (up_rc < 0 || c->down_rc < 0) {
            STAT_ADD(w->errors, 1);
            if (cfg.verbose > 0)
                logf_(1, "connection ended: %s", rsock_error_message());
        }
        rsock_close(c->server);
    }
    rsock_close(c->client);
    free(c);
    STAT_ADD(w->active, -1);
    STAT_ADD(active_total, -1);
}

/* ---- accepting ---- */

/* Reserve a slot under --max-conns; park a little while none is free. */
static bool reserve_slot(struct worker *w)
{
    for (;;) {
        if (w->stopping)
            return false;
        int64_t n = STAT_ADD(active_total, 1);
        if (cfg.max_conns <= 0 || n < cfg.max_conns)
            return true;
        STAT_ADD(active_total, -1);
        rsock_sleep(rsock_now() + 20); /* connections wait in the backlog */
    }
}

static void start_connection(struct worker *w, rsock_t *client, const rsock_addr *peer)
{
    struct conn *c = calloc(1, sizeof *c);
    if (c) {
        c->w = w;
        c->client = client;
        c->peer = *peer;
    }
    if (!c || rsock_spawn(connection, c, NULL) < 0) {
        logf_(0, "no memory for a connection: closing it");
        free(c);
        rsock_close(client);
        STAT_ADD(w->errors, 1);
        STAT_ADD(active_total, -1);
        return;
    }
    apply_sockopts(client, ON_CLIENT); /* TCP_NODELAY came from the listener */
    STAT_ADD(w->conns, 1);
    STAT_ADD(w->active, 1);
}

static void acceptor(void *arg)
{
    struct worker *w = arg;
    bool told_fd_limit = false;
    for (int batch = 0; reserve_slot(w);) {
        rsock_addr peer;
        rsock_t *client;
        peer.len = 0;
        int rc = rsock_accept_wait(w->listener, &peer, &client, -1);
        if (rc == 0) {
            start_connection(w, client, &peer);
            if (++batch % 64 == 0)
                rsock_yield(); /* let the new connections start */
            continue;
        }
        STAT_ADD(active_total, -1);
        if (w->stopping || rc == -ECANCELED)
            return;
        if (rc == -ECONNABORTED || rc == -EINTR)
            continue;
        if (!told_fd_limit || (rc != -EMFILE && rc != -ENFILE))
            logf_(0, "accept: %s (retrying in 100 ms)", rsock_error_message());
        told_fd_limit |= rc == -EMFILE || rc == -ENFILE;
        rsock_sleep(rsock_now() + 100); /* never spin on a limit */
    }
}

/* ---- control: signals, shutdown ---- */

static void stop_accepting(struct worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    rsock_close(w->listener); /* wakes the acceptor with -ECANCELED */
    w->listener = NULL;
}

/* A pathname Unix LOCAL is ours: remove it on the way out. */
static void remove_local_path(void)
{
    const char *path = rsock_addr_path(&local_addr);
    if (path)
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
        ssize_t n = rsock_read(ctl, bytes, sizeof bytes, -1);
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

/* A Unix path left by a proxy that died: nobody accepts on it any more. */
static bool stale_unix_path(const rsock_addr *a)
{
    const char *path = rsock_addr_path(a);
    if (!path)
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool stale = fd >= 0 && connect(fd, &a->sa, a->len) < 0 && errno == ECONNREFUSED;
    if (fd >= 0)
        close(fd);
    return stale && unlink(path) == 0;
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
    set_nodelay(s); /* accepted connections inherit it: no setsockopt each */
    apply_sockopts(s, ON_LISTEN);
    rc = rsock_bind(s, &local_addr);
    if (rc == -EADDRINUSE && stale_unix_path(&local_addr))
        rc = rsock_bind(s, &local_addr);
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

/* Take the whole descriptor allowance, and never accept more connections
 * than it can hold (two descriptors each, a few kept for listeners, signal
 * sockets and pipes): beyond that, connections wait in the backlog instead
 * of being accepted and then closed for want of an upstream socket. */
static void fit_fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0)
        return;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0)
            getrlimit(RLIMIT_NOFILE, &r);
    }
    long long spare = 16 + 4LL * nworkers;
    long long cap = r.rlim_cur == RLIM_INFINITY ? LONG_MAX : ((long long)r.rlim_cur - spare) / 2;
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
                       workers[i].ctl) < 0) {
            perror("rsock-proxy: socketpair");
            return -1;
        }
    }
    fit_fd_limit();
    return 0;
}

int main(int argc, char **argv)
{
    int rc = parse_config(&cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (setup() < 0)
        return 1;
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
    logf_(0, "relaying %s -> %s (%d thread%s, %s, busy-poll %ld us)", local_text, cfg.remote,
          nworkers, nworkers > 1 ? "s" : "",
          method == RSOCK_COPY_ADAPTIVE ? "adaptive"
          : method == RSOCK_COPY_SPLICE ? "splice"
                                        : "buffer",
          cfg.busy_poll_us);
    run_worker(&workers[0]);
    return 0;
}
