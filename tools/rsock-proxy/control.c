/* Signals and stopping.  The signal handler only writes a byte to a socket
 * pair; a fiber of thread 0 reads it (a socket, so a fiber can wait on
 * it) and acts: SIGUSR1 prints the summary; SIGHUP reloads the config
 * (service.c); the first SIGINT or SIGTERM
 * marks the channel `stop` done, which wakes every thread's steward
 * through its own loop; a second one exits at once.  Each steward sends a
 * signal on `drained` when its thread's connections have ended; main
 * waits for one per thread. */
#include "proxy.h"
#include "notify.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static int sig_pair[2] = {-1, -1}; /* the handler writes [1], read_signals reads [0] */
static rsock_chan *stop;           /* done on the first SIGINT or SIGTERM */
static rsock_chan *drained;        /* a signal per thread whose connections ended */
static rsock_group *service;       /* thread 0: read_signals and log_flusher */
static bool stopping;              /* thread 0: the stop began */
static bool draining;              /* the stop has no grace limit (drain, takeover) */

static void on_signal(int sig)
{
    int saved = errno;
    char byte = sig == SIGUSR1 ? 'U' : sig == SIGHUP ? 'H' : 'T';
    if (write(sig_pair[1], &byte, 1) < 0) {
        /* full: the reader has bytes to read already */
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
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* lets the copies use splice(2) */
}

int control_init(void)
{
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sig_pair) < 0) {
        perror("rsock-proxy: socketpair");
        return -1;
    }
    if (rsock_chan_new(0, 0, &stop) < 0 || rsock_chan_new(0, (size_t)nworkers, &drained) < 0) {
        fprintf(stderr, "rsock-proxy: %s\n", rsock_error_message());
        return -1;
    }
    install_signals();
    return 0;
}

_Noreturn void exit_now(void)
{
    print_summary("exit");
    remove_local_paths();
    _exit(0);
}

void control_stop(bool drain)
{
    if (stopping)
        return;
    stopping = true;
    __atomic_store_n(&draining, drain, __ATOMIC_RELEASE);
    notify_stopping();
    rsock_chan_done(stop);
}

bool control_stopping(void)
{
    return stopping;
}

bool control_draining(void)
{
    return __atomic_load_n(&draining, __ATOMIC_ACQUIRE);
}

static void on_signal_byte(char byte)
{
    if (byte == 'U')
        print_summary("summary");
    else if (byte == 'H') {
        if (!stopping)
            service_reload();
    }
    else if (stopping)
        exit_now(); /* a second SIGINT or SIGTERM: no more grace (nor drain) */
    else
        control_stop(false);
}

static void read_signals(void *unused)
{
    (void)unused;
    rsock_t *s;
    if (rsock_fdopen(sig_pair[0], &s) < 0) {
        log_line(-1, "signal socket: %s", rsock_error_message());
        return;
    }
    sig_pair[0] = -1; /* the device's now */
    char bytes[16];
    ssize_t n;
    while ((n = rsock_read(s, bytes, sizeof bytes, -1)) > 0)
        for (ssize_t i = 0; i < n; i++)
            on_signal_byte(bytes[i]);
    rsock_close(s);
}

int control_start(void)
{
    if (rsock_group_new(&service) < 0 || rsock_group_spawn(service, read_signals, NULL) < 0 ||
        rsock_group_spawn(service, log_flusher, NULL) < 0 ||
        rsock_group_spawn(service, status_reporter, NULL) < 0) {
        fprintf(stderr, "rsock-proxy: %s\n", rsock_error_message());
        return -1;
    }
    return 0;
}

rsock_chan *control_stop_chan(void)
{
    return stop;
}

void control_drained(void)
{
    rsock_chan_send(drained, NULL, -1);
}

void control_wait_end(void)
{
    for (int i = 0; i < nworkers; i++)
        rsock_chan_recv(drained, NULL, -1);
}

/* Thread 0, once every thread has drained and ended. */
void control_end(void)
{
    rsock_group_close(service);
    close(sig_pair[1]);
    rsock_chan_free(stop);
    rsock_chan_free(drained);
}
