/* workers: one accepting thread, N worker threads.  The main thread
 * accepts connections, detaches each from its loop (rsock_detach) and
 * sends it over a channel; whichever worker receives it calls rsock_attach
 * (its own loop now waits on the socket)
 * and serves it, an echo, in a fiber of its group.  Each worker thread runs
 * its own loop: fibers of one worker never run in parallel with each
 * other, workers do.
 *
 * The channel is a rendezvous (capacity 0): the acceptor's send returns
 * when a worker has the connection, so nothing waits in a queue while a
 * worker is free.  SIGINT or SIGTERM stops the acceptor and marks the
 * channel done; each worker lets its connections finish (a grace period,
 * then a cancel) and returns.
 *
 * usage: workers [ADDRESS [THREADS]]
 *   Without arguments: 127.0.0.1:0 and 4 threads, 16 clients of its own
 *   on the main thread, then a signal to itself; it checks every echo. */
#include <rsock.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_WORKERS 64
#define IDLE_MS 30000
#define GRACE_MS 1000
#define CLIENTS 16
#define ROUNDS 8

_Noreturn static void die(const char *what)
{
    fprintf(stderr, "workers: %s: %s\n", what, rsock_error_message());
    exit(1);
}

/* ---- the stop signal: a thread in sigwait(3) marks a channel done ---- */

static sigset_t stop_signals;
static rsock_chan *stop;
static pthread_t stop_thread;

static void *signal_thread(void *unused)
{
    (void)unused;
    int sig;
    if (sigwait(&stop_signals, &sig) == 0)
        rsock_chan_done(stop);
    return NULL;
}

static void catch_stop_signals(void)
{
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL); /* inherited by every thread */
    if (rsock_chan_new(0, 0, &stop) < 0 ||
        pthread_create(&stop_thread, NULL, signal_thread, NULL) != 0)
        die("stop signal");
}

/* ---- the workers ---- */

static rsock_chan *handoff; /* rsock_t *: accepted connections, to any worker */

struct worker {
    pthread_t thread;
    int served;
};

static void echo(void *arg)
{
    rsock_t *conn = arg;
    char buf[16384];
    ssize_t n;
    while ((n = rsock_read(conn, buf, sizeof buf, rsock_after(IDLE_MS))) > 0)
        if (rsock_write_all(conn, buf, (size_t)n, rsock_after(IDLE_MS)) < 0)
            break;
    rsock_close(conn);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    rsock_group *conns;
    if (rsock_group_new(&conns) < 0)
        die("worker group");
    rsock_t *conn;
    /* The main context parks here; the loop runs the echo fibers meanwhile. */
    while (rsock_chan_recv(handoff, &conn, -1) == 0) {
        /* The acceptor no longer touches `conn`: this thread takes it over. */
        if (rsock_attach(conn) < 0 || rsock_group_spawn(conns, echo, conn) < 0) {
            fprintf(stderr, "workers: %s\n", rsock_error_message());
            rsock_close(conn);
            continue;
        }
        w->served++;
    }
    /* The channel is done: the server stops. */
    rsock_group_wait(conns, rsock_after(GRACE_MS));
    rsock_group_close(conns); /* cancels the connections still open */
    return NULL;
}

/* On the main thread: accept, and hand each connection to a worker. */
static void acceptor(void *listener)
{
    for (;;) {
        rsock_t *conn;
        int rc = rsock_accept_wait(listener, NULL, &conn, -1);
        if (rc == -ECANCELED)
            return;
        if (rc < 0) {
            fprintf(stderr, "workers: accept: %s\n", rsock_error_message());
            if (rsock_sleep(rsock_after(100)) < 0)
                return;
            continue;
        }
        /* From here on this thread does not use `conn`: its new owner does.
         * rsock_detach first, so that no event of it is left in this loop. */
        if (rsock_detach(conn) < 0 || rsock_chan_send(handoff, &conn, -1) < 0) {
            rsock_close(conn); /* cancelled while waiting for a worker: not taken */
            return;
        }
    }
}

/* ---- the self-test: clients on the main thread ---- */

static int echoed;

static void client(void *address)
{
    rsock_t *s;
    char out[1000], in[sizeof out];
    if (rsock_dial(address, rsock_after(5000), &s) < 0)
        die("client dial");
    for (int round = 0; round < ROUNDS; round++) {
        memset(out, 'a' + round, sizeof out);
        if (rsock_write_all(s, out, sizeof out, rsock_after(5000)) < 0 ||
            rsock_read_full(s, in, sizeof in, NULL, rsock_after(5000)) < 0)
            die("client echo");
        if (memcmp(in, out, sizeof in) == 0)
            echoed++;
    }
    rsock_close(s);
}

static void self_test(void *address)
{
    rsock_group *clients;
    if (rsock_group_new(&clients) < 0)
        die("client group");
    for (int i = 0; i < CLIENTS; i++)
        if (rsock_group_spawn(clients, client, address) < 0)
            die("spawn client");
    if (rsock_group_wait(clients, rsock_after(10000)) < 0)
        die("clients");
    rsock_group_close(clients);
    printf("%d clients: %d of %d echoes right\n", CLIENTS, echoed, CLIENTS * ROUNDS);
    kill(getpid(), SIGTERM);
}

int main(int argc, char **argv)
{
    const char *address = argc > 1 ? argv[1] : "127.0.0.1:0";
    int nworkers = argc > 2 ? atoi(argv[2]) : 4;
    if (nworkers < 1 || nworkers > MAX_WORKERS)
        return fprintf(stderr, "workers: THREADS is 1 to %d\n", MAX_WORKERS), 2;
    catch_stop_signals();

    rsock_t *listener;
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN];
    if (rsock_listen_on(address, -1, &listener) < 0 || rsock_getsockname(listener, &where) < 0)
        die("listen");
    rsock_addr_format(&where, text, sizeof text);
    if (rsock_chan_new(sizeof(rsock_t *), 0, &handoff) < 0)
        die("channel");
    static struct worker workers[MAX_WORKERS];
    for (int i = 0; i < nworkers; i++)
        if (pthread_create(&workers[i].thread, NULL, worker_main, &workers[i]) != 0)
            die("worker thread");
    rsock_group *accepting;
    if (rsock_group_new(&accepting) < 0 || rsock_group_spawn(accepting, acceptor, listener) < 0)
        die("acceptor");
    printf("listening on %s with %d worker threads\n", text, nworkers);
    fflush(stdout);
    rsock_fiber *test = NULL;
    if (argc <= 1 && rsock_spawn(self_test, text, &test) < 0)
        die("spawn self-test");

    rsock_chan_recv(stop, NULL, -1); /* until a stop signal */
    rsock_group_close(accepting);
    rsock_close(listener);
    rsock_chan_done(handoff); /* each worker's receive: -EPIPE */
    int served = 0;
    printf("served per worker:");
    for (int i = 0; i < nworkers; i++) {
        pthread_join(workers[i].thread, NULL);
        printf(" %d", workers[i].served);
        served += workers[i].served;
    }
    printf("\nstopped: %d connections served\n", served);
    rsock_chan_free(handoff); /* every thread that used it has ended */
    pthread_join(stop_thread, NULL);
    rsock_chan_free(stop);
    if (!test)
        return 0;
    rsock_join(test, -1);
    bool ok = served == CLIENTS && echoed == CLIENTS * ROUNDS;
    printf("self-test: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
