/* group-server: structured concurrency with fiber groups.  An echo server
 * whose connections are the members of one group.  On SIGINT or SIGTERM it
 * stops accepting, gives the open connections a grace period to end by
 * themselves, then cancels the rest: every wait of a cancelled member
 * returns -ECANCELED, each closes its socket and returns, and
 * rsock_group_close returns once the last one has.
 *
 * A signal handler may call nothing of rsock; a thread blocked in
 * sigwait(3) may.  That thread calls rsock_chan_done on a channel the main
 * fiber waits on, which wakes it through its loop.
 *
 * usage: group-server [ADDRESS [GRACE_MS]]
 *   With ADDRESS (127.0.0.1:7000, /tmp/echo.sock, ...) it serves until a
 *   signal.  Without, it serves on 127.0.0.1:0, runs clients of its own,
 *   signals itself and checks that the shutdown went as described. */
#include <rsock.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDLE_MS 30000 /* a connection silent this long is closed */

_Noreturn static void die(const char *what)
{
    fprintf(stderr, "group-server: %s: %s\n", what, rsock_error_message());
    exit(1);
}

/* ---- the stop signal ---- */

static sigset_t stop_signals; /* SIGINT, SIGTERM: blocked in every thread */
static rsock_chan *stop;      /* done when one of them arrives */
static pthread_t stop_thread;

static void *signal_thread(void *unused)
{
    (void)unused;
    int sig;
    if (sigwait(&stop_signals, &sig) == 0)
        rsock_chan_done(stop); /* any thread may: the receiver's loop is woken */
    return NULL;
}

static void catch_stop_signals(void)
{
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    /* Before any thread starts: threads inherit the mask, so only
     * sigwait ever takes these signals. */
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    if (rsock_chan_new(0, 0, &stop) < 0) /* elem_size 0: a signal, no payload */
        die("stop channel");
    if (pthread_create(&stop_thread, NULL, signal_thread, NULL) != 0)
        die("signal thread");
}

/* ---- the server ---- */

static int ended_by_client, ended_by_cancel;

/* One connection: echo until the client ends its stream, goes silent for
 * IDLE_MS, or the group is cancelled. */
static void connection(void *arg)
{
    rsock_t *conn = arg;
    char buf[4096];
    ssize_t n;
    while ((n = rsock_read(conn, buf, sizeof buf, rsock_after(IDLE_MS))) > 0)
        if ((n = rsock_write_all(conn, buf, (size_t)n, rsock_after(IDLE_MS))) < 0)
            break;
    if (n == -ECANCELED)
        ended_by_cancel++;
    else
        ended_by_client++;
    rsock_close(conn); /* closing never waits: a cancelled member can clean up */
}

struct server {
    rsock_t *listener;
    rsock_group *conns; /* one member per open connection */
};

/* Accept until cancelled; each connection becomes a member of `conns`. */
static void acceptor(void *arg)
{
    struct server *srv = arg;
    for (;;) {
        rsock_t *conn;
        int rc = rsock_accept_wait(srv->listener, NULL, &conn, -1);
        if (rc == -ECANCELED)
            return; /* the server is stopping */
        if (rc < 0) { /* out of descriptors, ...: say so, do not spin */
            fprintf(stderr, "group-server: accept: %s\n", rsock_error_message());
            if (rsock_sleep(rsock_after(100)) == -ECANCELED)
                return;
            continue;
        }
        if (rsock_group_spawn(srv->conns, connection, conn) < 0) {
            fprintf(stderr, "group-server: %s\n", rsock_error_message());
            rsock_close(conn);
        }
    }
}

/* Stop: no new connections; a grace period; then cancel what is left. */
static void shut_down(struct server *srv, rsock_group *accepting, int64_t grace_ms)
{
    rsock_group_close(accepting); /* cancels the acceptor and waits for it */
    rsock_close(srv->listener);
    printf("stopping, open connections: %zu\n", rsock_group_count(srv->conns));
    if (rsock_group_wait(srv->conns, rsock_after(grace_ms)) == -ETIMEDOUT)
        printf("grace period over, cancelling: %zu\n",
               rsock_group_count(srv->conns));
    rsock_group_close(srv->conns); /* cancel, wait for every member, free */
    printf("stopped: %d connections ended by their client, %d cancelled\n", ended_by_client,
           ended_by_cancel);
}

/* ---- the self-test: clients on this thread, then a signal ---- */

static void echo_client(void *address)
{
    rsock_t *s;
    char line[] = "hello, group\n", reply[sizeof line] = "";
    size_t got = 0;
    if (rsock_dial(address, rsock_after(5000), &s) < 0 ||
        rsock_write_all(s, line, strlen(line), rsock_after(5000)) < 0 ||
        rsock_read_full(s, reply, strlen(line), &got, rsock_after(5000)) < 0)
        die("echo client");
    if (strcmp(reply, line) != 0)
        fprintf(stderr, "group-server: echoed %s, not %s", reply, line), exit(1);
    rsock_close(s); /* the server's member sees the end of stream and returns */
}

static bool idle_client_saw_end;

static void self_test(void *address)
{
    /* Three clients at once, a group of their own. */
    rsock_group *clients;
    if (rsock_group_new(&clients) < 0)
        die("client group");
    for (int i = 0; i < 3; i++)
        if (rsock_group_spawn(clients, echo_client, address) < 0)
            die("spawn client");
    if (rsock_group_wait(clients, rsock_after(5000)) < 0)
        die("clients");
    rsock_group_close(clients);
    printf("3 clients echoed and hung up\n");

    /* One more connects, is echoed once (so it was accepted), then stays silent. */
    rsock_t *idle;
    char buf[16];
    if (rsock_dial(address, rsock_after(5000), &idle) < 0 ||
        rsock_write_all(idle, "x", 1, rsock_after(5000)) < 0 ||
        rsock_read(idle, buf, sizeof buf, rsock_after(5000)) != 1)
        die("idle client");
    kill(getpid(), SIGTERM);
    /* The grace period passes; the server cancels its member, which closes. */
    if (rsock_read(idle, buf, sizeof buf, rsock_after(5000)) == 0)
        idle_client_saw_end = true;
    printf("idle client: %s\n", idle_client_saw_end ? "the server closed the connection"
                                                     : rsock_error_message());
    rsock_close(idle);
}

int main(int argc, char **argv)
{
    const char *address = argc > 1 ? argv[1] : "127.0.0.1:0";
    int64_t grace_ms = argc > 2 ? atoll(argv[2]) : 300;
    catch_stop_signals();

    struct server srv;
    rsock_group *accepting;
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN];
    if (rsock_listen_on(address, -1, &srv.listener) < 0 ||
        rsock_getsockname(srv.listener, &where) < 0)
        die("listen");
    rsock_addr_format(&where, text, sizeof text);
    if (rsock_group_new(&srv.conns) < 0 || rsock_group_new(&accepting) < 0)
        die("group");
    if (rsock_group_spawn(accepting, acceptor, &srv) < 0)
        die("spawn acceptor");
    printf("listening on %s\n", text);
    fflush(stdout);

    rsock_fiber *test = NULL;
    if (argc <= 1 && rsock_spawn(self_test, text, &test) < 0)
        die("spawn self-test");

    rsock_chan_recv(stop, NULL, -1); /* parks main (the loop runs) until done: -EPIPE */
    shut_down(&srv, accepting, grace_ms);
    /* Free the channel once no thread can be inside a call on it. */
    pthread_join(stop_thread, NULL);
    rsock_chan_free(stop);
    if (!test)
        return 0;
    rsock_join(test, -1);
    bool ok = ended_by_client == 3 && ended_by_cancel == 1 && idle_client_saw_end;
    printf("self-test: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
