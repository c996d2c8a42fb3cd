/* chat: a broadcast chat server on one thread.  Each client has
 *   - a session fiber, a member of the `sessions` group, reading its lines;
 *   - a channel of the lines to send it, drained by a writer fiber of its
 *     own group (a group per client: the session closes it on the way out);
 * and one broadcaster fiber takes every line said from the `said` channel
 * and queues it for every other client, never waiting: a client whose
 * queue is full misses the line instead of slowing everyone down.
 *
 * A client silent for IDLE_MS is told so and disconnected (rsock_read's
 * deadline, rsock_after(IDLE_MS)).  SIGINT or SIGTERM stops the server
 * gracefully: no new clients, a goodbye line to everyone, each writer sends
 * what is queued and ends its stream; clients that do not hang up within
 * the grace period are cancelled.
 *
 * usage: chat [ADDRESS [IDLE_MS]]   (try: chat 127.0.0.1:7000, then nc)
 *   Without arguments it serves on 127.0.0.1:0 with IDLE_MS 400, runs four
 *   clients of its own against itself, signals itself, and checks every
 *   line they received. */
#include <rsock.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT_MAX 400 /* longest line a client may say */
#define QUEUE 64     /* lines queued for a client before it misses some */
#define GRACE_MS 1000

_Noreturn static void die(const char *what)
{
    fprintf(stderr, "chat: %s: %s\n", what, rsock_error_message());
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

/* ---- the chat ---- */

struct line {
    int from;                 /* the user who said it; 0: the server */
    char text[TEXT_MAX + 32]; /* "<user7> ...\n" */
};

struct client {
    int id;
    rsock_t *conn;
    rsock_chan *out; /* struct line, QUEUE deep: what to send this client */
    struct client *prev, *next;
};

static struct {
    int64_t idle_ms;
    rsock_chan *said;       /* struct line: every line said, to the broadcaster */
    rsock_group *sessions;  /* one member per client */
    struct client *clients; /* who hears broadcasts */
    int users, missed;
} chat;

/* Every fiber of the chat runs on this thread, one at a time: the list
 * needs no lock, and nothing in between these steps waits. */
static void enter(struct client *c)
{
    c->prev = NULL;
    c->next = chat.clients;
    if (chat.clients)
        chat.clients->prev = c;
    chat.clients = c;
}

static void leave(struct client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        chat.clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* Queue a line for one client without waiting; a full queue drops it. */
static void tell(struct client *c, const struct line *l)
{
    if (rsock_chan_send(c->out, l, 0) == -ETIMEDOUT)
        chat.missed++;
}

static void tell_text(struct client *c, const char *text)
{
    struct line l = {.from = 0};
    snprintf(l.text, sizeof l.text, "%s", text);
    tell(c, &l);
}

static void broadcaster(void *unused)
{
    (void)unused;
    struct line l;
    while (rsock_chan_recv(chat.said, &l, -1) == 0)
        for (struct client *c = chat.clients; c; c = c->next)
            if (c->id != l.from)
                tell(c, &l);
    /* `said` is done: the server stops.  Each writer sends what is queued
     * (the goodbye last), then ends its client's stream. */
    for (struct client *c = chat.clients; c; c = c->next)
        rsock_chan_done(c->out);
}

/* Drain the client's queue onto its socket until the queue is done. */
static void writer(void *arg)
{
    struct client *c = arg;
    struct line l;
    while (rsock_chan_recv(c->out, &l, -1) == 0)
        if (rsock_write_all(c->conn, l.text, strlen(l.text), rsock_after(chat.idle_ms)) < 0)
            return; /* gone or not reading: the session's read ends too */
    rsock_shutdown(c->conn, SHUT_WR); /* all sent: the client sees the end */
}

/* Read the client's lines and hand them to the broadcaster. */
static int converse(struct client *c)
{
    char buf[TEXT_MAX + 1];
    rsock_reader r;
    rsock_reader_init(&r, c->conn, buf, sizeof buf); /* the caller's buffer: cannot fail */
    const char *text;
    ssize_t n;
    while ((n = rsock_reader_line(&r, &text, sizeof buf, rsock_after(chat.idle_ms))) > 0) {
        struct line l = {.from = c->id};
        snprintf(l.text, sizeof l.text, "<user%d> %.*s%s", c->id, (int)n, text,
                 text[n - 1] == '\n' ? "" : "\n");
        if (rsock_chan_send(chat.said, &l, -1) < 0)
            return (int)n; /* -EPIPE: the server is stopping */
    }
    return (int)n;
}

static void session(void *arg)
{
    struct client c = {.id = ++chat.users, .conn = arg};
    rsock_group *own; /* this client's writer */
    if (rsock_chan_new(sizeof(struct line), QUEUE, &c.out) < 0)
        goto out;
    if (rsock_group_new(&own) < 0)
        goto out_chan;
    if (rsock_group_spawn(own, writer, &c) < 0) {
        rsock_group_close(own);
        goto out_chan;
    }
    char hello[64];
    snprintf(hello, sizeof hello, "* welcome, you are user%d\n", c.id);
    tell_text(&c, hello);
    enter(&c);

    int rc = converse(&c);
    leave(&c);
    if (rc == -ETIMEDOUT) {
        char bye[64];
        snprintf(bye, sizeof bye, "* idle for %lld ms: bye\n", (long long)chat.idle_ms);
        tell_text(&c, bye);
    } else if (rc == -EMSGSIZE) {
        tell_text(&c, "* line too long: bye\n");
    }
    /* Let the writer send what is queued (unless we are cancelled: then
     * the wait fails at once), and end it either way. */
    rsock_chan_done(c.out);
    rsock_group_wait(own, rsock_after(1000));
    rsock_group_close(own);
out_chan:
    rsock_chan_free(c.out);
out:
    rsock_close(c.conn);
}

static void acceptor(void *listener)
{
    for (;;) {
        rsock_t *conn;
        int rc = rsock_accept_wait(listener, NULL, &conn, -1);
        if (rc == -ECANCELED)
            return;
        if (rc < 0) {
            fprintf(stderr, "chat: accept: %s\n", rsock_error_message());
            if (rsock_sleep(rsock_after(100)) < 0)
                return;
        } else if (rsock_group_spawn(chat.sessions, session, conn) < 0) {
            rsock_close(conn);
        }
    }
}

/* ---- the self-test: four clients on this thread ---- */

struct peer {
    rsock_t *s;
    rsock_reader r;
    char buf[512];
};

static int failures;

static void dial(struct peer *p, const char *address)
{
    if (rsock_dial(address, rsock_after(5000), &p->s) < 0 ||
        rsock_reader_init(&p->r, p->s, p->buf, sizeof p->buf) < 0)
        die("client dial");
}

/* The next line `p` receives is `want` (NULL: the end of the stream). */
static void expect(struct peer *p, const char *who, const char *want)
{
    const char *line;
    ssize_t n = rsock_reader_line(&p->r, &line, 0, rsock_after(5000));
    if (n < 0 || (want ? (size_t)n != strlen(want) || memcmp(line, want, (size_t)n) != 0 : n != 0)) {
        printf("%s: FAILED: wanted %s, got %.*s\n", who, want ? want : "the end",
               n < 0 ? (int)strlen(rsock_error_message()) : (int)n,
               n < 0 ? rsock_error_message() : line);
        failures++;
    } else {
        printf("%s got: %s%s", who, want ? want : "the end of the stream", want ? "" : "\n");
    }
}

static void say(struct peer *p, const char *text)
{
    if (rsock_write_all(p->s, text, strlen(text), rsock_after(5000)) < 0)
        die("client say");
}

static void self_test(void *address)
{
    struct peer a, b, c, d;
    dial(&a, address);
    expect(&a, "user1", "* welcome, you are user1\n");
    dial(&b, address);
    expect(&b, "user2", "* welcome, you are user2\n");
    dial(&c, address);
    expect(&c, "user3", "* welcome, you are user3\n");

    say(&a, "hello from user1\n"); /* everyone else hears it, in order */
    expect(&b, "user2", "<user1> hello from user1\n");
    expect(&c, "user3", "<user1> hello from user1\n");
    say(&b, "hi\n");
    expect(&a, "user1", "<user2> hi\n");
    expect(&c, "user3", "<user2> hi\n");

    /* Nobody says anything more: each is timed out, told so, and ended. */
    char bye[64];
    snprintf(bye, sizeof bye, "* idle for %lld ms: bye\n", (long long)chat.idle_ms);
    struct peer *all[] = {&a, &b, &c};
    for (int i = 0; i < 3; i++) {
        char who[8];
        snprintf(who, sizeof who, "user%d", i + 1);
        expect(all[i], who, bye);
        expect(all[i], who, NULL);
        rsock_close(all[i]->s);
    }

    /* A fourth, then the stop signal: a goodbye, then the end. */
    dial(&d, address);
    expect(&d, "user4", "* welcome, you are user4\n");
    kill(getpid(), SIGTERM);
    expect(&d, "user4", "* server shutting down: bye\n");
    expect(&d, "user4", NULL);
    rsock_close(d.s); /* hanging up ends its session within the grace period */
}

int main(int argc, char **argv)
{
    const char *address = argc > 1 ? argv[1] : "127.0.0.1:0";
    chat.idle_ms = argc > 2 ? atoll(argv[2]) : argc > 1 ? 300000 : 400;
    catch_stop_signals();

    rsock_t *listener;
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN];
    if (rsock_listen_on(address, -1, &listener) < 0 || rsock_getsockname(listener, &where) < 0)
        die("listen");
    rsock_addr_format(&where, text, sizeof text);
    rsock_group *accepting;
    rsock_fiber *bcast, *test = NULL;
    if (rsock_chan_new(sizeof(struct line), QUEUE, &chat.said) < 0 ||
        rsock_group_new(&chat.sessions) < 0 || rsock_group_new(&accepting) < 0 ||
        rsock_spawn(broadcaster, NULL, &bcast) < 0 ||
        rsock_group_spawn(accepting, acceptor, listener) < 0)
        die("start");
    printf("chat on %s, idle limit %lld ms\n", text, (long long)chat.idle_ms);
    fflush(stdout);
    if (argc <= 1 && rsock_spawn(self_test, text, &test) < 0)
        die("spawn self-test");

    rsock_chan_recv(stop, NULL, -1); /* until a stop signal */
    rsock_group_close(accepting);    /* no new clients */
    rsock_close(listener);
    struct line bye = {.from = 0, .text = "* server shutting down: bye\n"};
    rsock_chan_send(chat.said, &bye, rsock_after(1000));
    rsock_chan_done(chat.said); /* the broadcaster sends the rest, then ends */
    rsock_join(bcast, -1);
    if (rsock_group_wait(chat.sessions, rsock_after(GRACE_MS)) == -ETIMEDOUT)
        printf("grace period over, cancelling: %zu\n", rsock_group_count(chat.sessions));
    rsock_group_close(chat.sessions);
    rsock_chan_free(chat.said);
    pthread_join(stop_thread, NULL); /* no thread is inside a call on `stop` now */
    rsock_chan_free(stop);
    printf("stopped: %d clients served, %d lines missed by full queues\n", chat.users,
           chat.missed);
    if (!test)
        return 0;
    rsock_join(test, -1);
    printf("self-test: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
