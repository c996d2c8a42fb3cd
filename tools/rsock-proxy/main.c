/* rsock-proxy: the reference tutorial's transparent proxy as a tool, on
 * rsock's public API alone.
 *
 * N threads, each with its own loop and its own SO_REUSEPORT listener
 * (worker.c); per connection one member of the thread's `conns` group,
 * which relays both ways with rsock_relay (conn.c).  Stopping is a done
 * channel every thread's steward waits on, then group cancels and waits
 * (control.c, worker.c); --max-conns slots are freed through a channel
 * (slots.c).  Nothing polls. */
#include "proxy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct proxy_config cfg;
rsock_addr remote_addr, local_addr;
char local_text[RSOCK_ADDRSTRLEN];
struct worker *workers;
int nworkers;

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)(n > 64 ? 64 : n) : 1;
}

static int parse_addresses(void)
{
    if (rsock_addr_parse(&remote_addr, cfg.remote) < 0) {
        fprintf(stderr, "rsock-proxy: REMOTE: %s\n", rsock_error_message());
        return -1;
    }
    if (rsock_addr_parse(&local_addr, cfg.local) < 0) {
        fprintf(stderr, "rsock-proxy: LOCAL: %s\n", rsock_error_message());
        return -1;
    }
    return 0;
}

static int make_workers(void)
{
    nworkers = cfg.threads ? cfg.threads : default_threads();
    if (rsock_addr_family(&local_addr) == AF_UNIX)
        nworkers = 1; /* a Unix path cannot be bound by several listeners */
    workers = aligned_alloc(64, (size_t)nworkers * sizeof *workers);
    if (!workers)
        return -1;
    memset(workers, 0, (size_t)nworkers * sizeof *workers);
    for (int i = 0; i < nworkers; i++)
        workers[i].index = i;
    return 0;
}

static int setup(void)
{
    log_set_verbosity(cfg.verbose);
    if (parse_addresses() < 0 || make_workers() < 0)
        return -1;
    fit_fd_limit();
    if (log_init() < 0 || slots_init() < 0) {
        fprintf(stderr, "rsock-proxy: %s\n", rsock_error_message());
        return -1;
    }
    return control_init();
}

/* Thread 0 is this one; its listener opens first so errors show early.
 * With port 0, the other threads' listeners share the port it got. */
static int start_threads(void)
{
    if (open_listener(&workers[0], nworkers > 1) < 0)
        return -1;
    rsock_getsockname(workers[0].listener, &local_addr);
    rsock_addr_format(&local_addr, local_text, sizeof local_text);
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

static void print_start_line(void)
{
    char idle[32], keepalive[32];
    log_line(0,
             "relaying %s -> %s (%d thread%s, %s, busy-poll %ld us, idle-timeout %s, "
             "keepalive %s)",
             local_text, cfg.remote, nworkers, nworkers > 1 ? "s" : "", method_name(),
             cfg.busy_poll_us, seconds_or_off(cfg.idle_timeout, idle, sizeof idle),
             seconds_or_off((double)cfg.keepalive_s, keepalive, sizeof keepalive));
}

/* After the stop: every thread drained its connections.  Join them, say
 * the summary, remove our Unix socket, free what is left. */
static void finish(void)
{
    for (int i = 1; i < nworkers; i++)
        pthread_join(workers[i].thread, NULL);
    print_summary("exit");
    remove_local_path();
    control_end();
    rsock_run(); /* thread 0's steward returns */
    slots_end();
    log_end();
    free(workers);
}

int main(int argc, char **argv)
{
    int rc = parse_config(&cfg, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (setup() < 0 || start_threads() < 0)
        return 1;
    print_start_line();
    if (worker_start(&workers[0]) < 0 || control_start() < 0)
        return 1;
    control_wait_end(); /* the loop serves thread 0's connections meanwhile */
    finish();
    return 0;
}
