/* rsock-proxy: the reference tutorial's transparent proxy as a tool, on
 * rsock's public API alone.
 *
 * N threads, each with its own loop and an SO_REUSEPORT socket per
 * listener (worker.c); per connection one member of the thread's `conns`
 * group, which picks a backend of the listener's pool and relays both ways
 * with rsock_relay (conn.c).  A config makes a generation of listeners and
 * pools (service.c); a reload makes a new one and hands it to every
 * thread.  Stopping is a done channel every thread's steward waits on,
 * then group cancels and waits (control.c, worker.c); --max-conns slots
 * are freed through a channel (slots.c).  Nothing polls. */
#include "proxy.h"
#include "ctl.h"
#include "metrics.h"
#include "notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proxy_config cfg;
struct worker *workers;
int nworkers;
long max_conns_asked;
int saved_argc;
char **saved_argv;

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 64 ? 64 : n) : 1;
}

/* A Unix LOCAL cannot be bound by several listeners: thread 0 alone serves
 * it; when every LOCAL is one, more threads would have nothing to do. */
static bool all_unix_locals(void)
{
    for (int i = 0; i < current->nlisteners; i++)
        if (rsock_addr_family(&current->listeners[i].local) != AF_UNIX)
            return false;
    return true;
}

static int make_workers(void)
{
    nworkers = cfg.threads ? cfg.threads : all_unix_locals() ? 1 : default_threads();
    workers = aligned_alloc(64, (size_t)nworkers * sizeof *workers);
    if (!workers)
        return -1;
    memset(workers, 0, (size_t)nworkers * sizeof *workers);
    for (int i = 0; i < nworkers; i++) {
        workers[i].index = i;
        workers[i].gen = current;
        generation_get(current);
        if (rsock_chan_new(sizeof(struct generation *), 4, &workers[i].reloads) < 0)
            return -1;
    }
    return generation_share(current) < 0 ? -1 : 0; /* a descriptor per thread */
}

static int setup(void)
{
    log_set_verbosity(cfg.verbose);
    log_set_json(cfg.log_format == LOG_JSON);
    if (log_init() < 0 || generation_new(&cfg, false, NULL, &current) < 0)
        return -1;
    if (make_workers() < 0)
        return -1;
    max_conns_asked = cfg.max_conns; /* before the descriptor limit caps it */
    fit_fd_limit();
    if (slots_init() < 0 || budget_init() < 0) {
        fprintf(stderr, "rsock-proxy: %s\n", rsock_error_message());
        return -1;
    }
    if (cfg.metrics && metrics_serve(cfg.metrics) < 0) {
        fprintf(stderr, "rsock-proxy: --metrics %s: %s\n", cfg.metrics, rsock_error_message());
        return -1;
    }
    if (takeover_init() < 0 || (cfg.control && ctl_start(cfg.control) < 0))
        return -1;
    return control_init();
}

static int start_threads(void)
{
    for (int i = 1; i < nworkers; i++)
        if (pthread_create(&workers[i].thread, NULL, worker_thread, &workers[i]) != 0) {
            fprintf(stderr, "rsock-proxy: cannot start thread %d\n", i);
            return -1;
        }
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

static const char *method_name(void)
{
    switch (cfg.copy_flags) {
    case RSOCK_COPY_SPLICE:
        return "splice";
    case RSOCK_COPY_BUFFER:
        return "buffer";
    default:
        return "adaptive"; /* rsock_copy's default */
    }
}

/* "REMOTE" or "REMOTE1, REMOTE2 (leastconn)": a listener's pool. */
static void pool_text(const struct listener_config *lc, char *out, size_t size)
{
    static const char *const balances[] = {"rr", "leastconn", "hash"};
    size_t n = 0;
    out[0] = 0;
    for (int i = 0; i < lc->nremotes && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%s", i ? ", " : "", lc->remotes[i]);
    if (lc->nremotes > 1 && n < size)
        snprintf(out + n, size - n, " (%s)", balances[lc->balance]);
    if (!lc->nremotes)
        snprintf(out, size, "the original destination");
}

static void print_start_lines(void)
{
    char idle[32], keepalive[32], pool[1024];
    for (int i = 0; i < current->nlisteners; i++) {
        const struct listener *l = &current->listeners[i];
        pool_text(l->lc, pool, sizeof pool);
        log_line(0, "relaying %s -> %s (%d thread%s, %s, busy-poll %ld us, idle-timeout %s, "
                 "keepalive %s)",
                 l->local_text, pool, nworkers, nworkers > 1 ? "s" : "", method_name(),
                 cfg.busy_poll_us, seconds_or_off(cfg.idle_timeout, idle, sizeof idle),
                 seconds_or_off((double)cfg.keepalive_s, keepalive, sizeof keepalive));
    }
    if (cfg.metrics)
        log_line(0, "metrics at http://%s/metrics", metrics_address());
}

/* After the stop: every thread drained its connections.  Join them, say
 * the summary, remove our Unix sockets, free what is left. */
static void finish(void)
{
    for (int i = 1; i < nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    print_summary("exit");
    remove_local_paths();
    rsock_group_close(current->checks);
    current->checks = NULL;
    generation_put(current);
    metrics_end();
    takeover_end(); /* hands over the last stopped connections */
    ctl_end();
    control_end();
    rsock_run(); /* thread 0's steward returns */
    for (int i = 0; i < nworkers; i++)
        rsock_chan_free(workers[i].reloads);
    slots_end();
    log_end();
    config_free(&cfg);
    free(workers);
}

int main(int argc, char **argv)
{
    saved_argc = argc, saved_argv = argv;
    int rc = parse_config(&cfg, argc, argv);
    if (rc != 0 || cfg.check_only) {
        config_free(&cfg);
        return rc > 0 || (rc == 0 && cfg.check_only) ? 0 : 2;
    }
    if (cfg.takeover && takeover_fetch(cfg.takeover) < 0)
        return 1; /* before the listeners are made: they adopt its sockets */
    if (setup() < 0 || start_threads() < 0 || privs_drop() < 0)
        return 1; /* privs_drop: once every thread has bound, before any serves */
    print_start_lines();
    if (worker_start(&workers[0]) < 0 || control_start() < 0)
        return 1;
    notify_ready();
    notify_status("relaying %d listener%s on %d thread%s", current->nlisteners,
                  current->nlisteners == 1 ? "" : "s", nworkers, nworkers == 1 ? "" : "s");
    if (cfg.takeover)
        takeover_ready(); /* the old proxy stops accepting, hands its connections over */
    control_wait_end(); /* the loop serves thread 0's connections meanwhile */
    finish();
    return 0;
}
