/* Takeover: a new rsock-proxy (--takeover PATH) takes the listening
 * sockets of the running one through its control socket, so no client is
 * refused across an upgrade, and then its open connections, live.
 *
 *   new -> old   "takeover\n"
 *   old -> new   "listener N LOCAL\n" with N descriptors (SCM_RIGHTS), one
 *                line per listener: every thread's socket of it (SO_REUSEPORT
 *                spreads connections over all of them, so each must go on
 *                being served; an inherited socket once: the threads hold
 *                copies of it); then "end\n"
 *   new -> old   "ready\n" once it accepts on them
 *   old -> new   "ok\n"; the old one stops accepting (its copies close; the
 *                sockets and their queues live on in the new process) and
 *                marks `handover` done: every relay (rsock_relay_stop)
 *                stops reading and writes out what it holds, and
 *   old -> new   "conn UP DOWN LOCAL\n" with the client's and the server's
 *                descriptors, per connection as its relay stops (thread 0
 *                sends what every thread's connections pass it; "conn
 *                from CLIENT UP DOWN LOCAL\n" when the client it counted
 *                in --max-per-client is not the socket's peer but its
 *                PROXY header's, an IP address), then,
 *                once every thread has drained, "end\n"; the old exits.
 *                The new one relays each on its thread 0.
 * Until "ready" both processes accept from the same queues; a new process
 * that fails before it leaves the old one serving ("takeover abandoned"). */
#include "ctl.h"
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define TAKEOVER_MS 60000 /* the new process's start, from the sockets to "ready" */
#define MAX_PASSED 253    /* descriptors in one SCM_RIGHTS message */
#define LINE_MAX_ 600
#define FROM_MAX 64      /* an IP address and port as text: "[v6%scope]:port" */

/* ---- the old process ---- */

static int send_with_fds(rsock_t *c, const char *text, const int *fds, int n);

/* A connection stopped for the handover, on its way to thread 0's sender. */
struct passed {
    int client, server; /* dups: the connection's devices close as usual */
    rsock_relay_stats moved;
    char from[FROM_MAX]; /* the client as counted, when not the socket's peer; or "" */
    char local[LINE_MAX_ - 64 - FROM_MAX];
};

static rsock_chan *handover; /* done at "ready": every relay stops */
static rsock_chan *passing;  /* struct passed, to the sender */
static rsock_chan *given;    /* the sender's signal: all sent */
static bool giving;          /* thread 0: a takeover is sending connections */

int takeover_init(void)
{
    if (rsock_chan_new(0, 0, &handover) < 0 || rsock_chan_new(sizeof(struct passed), 64, &passing) < 0 ||
        rsock_chan_new(0, 1, &given) < 0) {
        fprintf(stderr, "rsock-proxy: %s\n", rsock_error_message());
        return -1;
    }
    return 0;
}

/* Only a proxy with a control socket can be taken over: the others relay
 * with plain rsock_relay (no watcher fiber per connection). */
rsock_chan *takeover_handover_chan(void)
{
    return cfg.control ? handover : NULL;
}

/* The client as counted, when it is not the socket's peer (a PROXY
 * header's IP address): the new process counts it the same. */
static void note_from(rsock_t *client, const rsock_addr *peer, char from[FROM_MAX])
{
    rsock_addr own;
    from[0] = 0;
    if (rsock_addr_ip(peer, NULL, NULL) < 0 ||
        (rsock_getpeername(client, &own) == 0 && own.len == peer->len &&
         memcmp(&own.ss, &peer->ss, own.len) == 0))
        return;
    char text[RSOCK_ADDRSTRLEN];
    if (rsock_addr_format(peer, text, sizeof text) > 0 && strlen(text) < FROM_MAX)
        snprintf(from, FROM_MAX, "%s", text);
}

int takeover_pass(const char *local, rsock_t *client, rsock_t *server, const rsock_addr *peer,
                  const rsock_relay_stats *moved)
{
    struct passed p = {.client = fcntl(rsock_fd(client), F_DUPFD_CLOEXEC, 0),
                       .server = fcntl(rsock_fd(server), F_DUPFD_CLOEXEC, 0),
                       .moved = *moved};
    snprintf(p.local, sizeof p.local, "%s", local);
    note_from(client, peer, p.from);
    if (p.client >= 0 && p.server >= 0 && rsock_chan_send(passing, &p, -1) == 0)
        return 0;
    log_line(0, "takeover: a connection could not be handed over: closed");
    if (p.client >= 0)
        close(p.client);
    if (p.server >= 0)
        close(p.server);
    return -EPIPE;
}

/* Send one connection: "conn UP DOWN LOCAL" with its two descriptors. */
static int send_conn(rsock_t *c, struct passed *p)
{
    char line[LINE_MAX_];
    snprintf(line, sizeof line, "conn %s%s%s%lld %lld %s\n", p->from[0] ? "from " : "", p->from,
             p->from[0] ? " " : "", (long long)p->moved.a_to_b, (long long)p->moved.b_to_a,
             p->local);
    int fds[2] = {p->client, p->server};
    int rc = send_with_fds(c, line, fds, 2);
    close(p->client);
    close(p->server);
    return rc;
}

/* After "ready": stop every relay, send each stopped connection as it
 * comes, until main's takeover_end (every thread drained); then "end". */
static void give_connections(rsock_t *c)
{
    struct passed p;
    int sent = 0, lost = 0;
    giving = true;
    rsock_chan_done(handover);
    while (rsock_chan_recv(passing, &p, -1) == 0)
        if (send_conn(c, &p) == 0)
            sent++;
        else
            lost++;
    send_with_fds(c, "end\n", NULL, 0);
    log_event("takeover", "handed %d open connection%s over%s", sent, sent == 1 ? "" : "s",
              lost ? " (some could not be: closed)" : "");
    rsock_chan_send(given, NULL, -1);
}

/* Every thread's socket of a listener whose LOCAL text is `local`; of an
 * inherited one, one descriptor (the threads hold copies of one socket:
 * the new process makes its own). */
static int sockets_of(const char *local, int *fds, int max)
{
    int n = 0;
    for (int i = 0; i < nworkers; i++)
        for (int k = 0; k < MAX_LISTENERS && n < max; k++) {
            const struct acceptor_slot *slot = &workers[i].slots[k];
            if (slot->l && slot->sock && !strcmp(slot->l->lc->local, local)) {
                fds[n++] = rsock_fd(slot->sock);
                if (slot->l->inherited)
                    return n;
            }
        }
    return n;
}

/* One message: `text` with `n` descriptors (none: plain text). */
static int send_with_fds(rsock_t *c, const char *text, const int *fds, int n)
{
    char ctl[CMSG_SPACE(sizeof(int) * MAX_PASSED)];
    size_t ctllen = 0;
    if (n > 0 && rsock_cmsg_add_fds(ctl, sizeof ctl, &ctllen, fds, (size_t)n) < 0)
        return -EINVAL;
    struct iovec iov = {(void *)text, strlen(text)};
    int64_t deadline = rsock_after(TAKEOVER_MS);
    for (;;) {
        ssize_t rc = rsock_sendmsg(c, NULL, &iov, 1, n > 0 ? ctl : NULL, ctllen, 0);
        if (rc == (ssize_t)iov.iov_len)
            return 0;
        if (rc >= 0)
            return -EPROTO; /* a short stream send of a few bytes: not expected */
        if (rc != -EAGAIN)
            return (int)rc;
        if ((rc = rsock_wait_out(c, deadline)) < 0)
            return (int)rc;
    }
}

static int send_listeners(rsock_t *c)
{
    char line[LINE_MAX_];
    int fds[MAX_PASSED];
    for (int i = 0; i < current->nlisteners; i++) {
        const char *local = current->listeners[i].lc->local;
        int n = sockets_of(local, fds, MAX_PASSED);
        snprintf(line, sizeof line, "listener %d %s\n", n, local);
        int rc = n > 0 ? send_with_fds(c, line, fds, n) : 0;
        if (rc < 0)
            return rc;
    }
    return send_with_fds(c, "end\n", NULL, 0);
}

void takeover_give(rsock_t *c, rsock_reader *r)
{
    if (control_stopping()) {
        rsock_write_all(c, "error: the proxy is stopping\n", 29, rsock_after(TAKEOVER_MS));
        return;
    }
    log_event("takeover", "takeover: passing the listening sockets to a new process");
    int rc = send_listeners(c);
    const char *line = NULL;
    ssize_t n = rc < 0 ? rc : rsock_reader_line(r, &line, 0, rsock_after(TAKEOVER_MS));
    if (n != 6 || memcmp(line, "ready\n", 6) != 0) {
        log_event("takeover", "takeover abandoned (%s): still serving",
                  n < 0 ? rsock_strerror((int)n) : "the new process did not say ready");
        return;
    }
    forget_local_paths(); /* the new process serves them now */
    log_event("takeover", "taken over: no new connections here; handing the open ones over");
    control_stop(true);
    if (send_with_fds(c, "ok\n", NULL, 0) == 0)
        give_connections(c);
}

/* ---- the new process ---- */

static struct taken {
    char local[LINE_MAX_];
    int fds[MAX_PASSED];
    int n;
} taken[MAX_LISTENERS];
static int ntaken;
static bool finished; /* after "ready": nothing more to take (read by every thread) */
static rsock_t *old;         /* the old process's control socket, until "ready" */
static rsock_chan *adopted;  /* a signal per socket a thread took (or failed to) */
static rsock_group *receiving; /* receive_conns */

/* A "listener N LOCAL" line with the descriptors that came with it. */
static int note_listener(const char *line, const int *fds, int nfds)
{
    int n, at = 0;
    if (sscanf(line, "listener %d %n", &n, &at) != 1 || !at || n != nfds || ntaken == MAX_LISTENERS)
        return -EPROTO;
    struct taken *t = &taken[ntaken++];
    snprintf(t->local, sizeof t->local, "%s", line + at);
    memcpy(t->fds, fds, sizeof(int) * (size_t)n);
    t->n = n;
    return 0;
}

/* Descriptors in a received control buffer (closed beyond `max`). */
static int fds_in(const void *ctl, size_t ctllen, int *fds, int max)
{
    size_t pos = 0;
    rsock_cmsg m;
    int n = 0;
    while (rsock_cmsg_next(ctl, ctllen, &pos, &m) == 1)
        if (m.level == SOL_SOCKET && m.type == SCM_RIGHTS) {
            int got = rsock_cmsg_get_fds(&m, fds + n, (size_t)(max - n));
            n += got > max - n ? max - n : got > 0 ? got : 0;
        }
    return n;
}

/* Handle the complete lines of buf[0..*len): the descriptors of this
 * receive belong to its last line (the kernel ends a receive after a
 * message that carries descriptors).  1 at "end", 0 for more, -EPROTO. */
typedef int line_fn(const char *line, const int *fds, int nfds);

static int listener_line(const char *line, const int *fds, int nfds)
{
    if (!strcmp(line, "end"))
        return 1;
    if (!strncmp(line, "listener ", 9))
        return note_listener(line, fds, nfds);
    return -EPROTO; /* e.g. "error: the proxy is stopping" */
}

static int take_lines(char *buf, size_t *len, const int *fds, int nfds, line_fn *on_line)
{
    char *start = buf, *nl;
    int rc = 0;
    while (rc == 0 && (nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
        *nl = 0;
        bool last = !memchr(nl + 1, '\n', *len - (size_t)(nl + 1 - buf));
        rc = on_line(start, last ? fds : NULL, last ? nfds : 0);
        if (rc < 0)
            fprintf(stderr, "rsock-proxy: --takeover: the old proxy said \"%s\"\n", start);
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    return rc;
}

/* Lines (each with the descriptors that came with it) to `on_line` until
 * it says 1 ("end"): 0, or -errno. */
static int receive_lines(rsock_t *s, int64_t deadline, line_fn *on_line)
{
    char buf[LINE_MAX_ * 2];
    size_t len = 0;
    for (;;) {
        char ctl[CMSG_SPACE(sizeof(int) * MAX_PASSED)];
        size_t ctllen = sizeof ctl;
        struct iovec iov = {buf + len, sizeof buf - 1 - len};
        ssize_t n = rsock_recvmsg(s, NULL, &iov, 1, ctl, &ctllen, 0, NULL);
        if (n == -EAGAIN && (n = rsock_wait_in(s, deadline)) == 0)
            continue;
        if (n <= 0)
            return n < 0 ? (int)n : -EPIPE;
        int fds[MAX_PASSED];
        int nfds = fds_in(ctl, ctllen, fds, MAX_PASSED);
        len += (size_t)n;
        int rc = take_lines(buf, &len, fds, nfds, on_line);
        if (rc != 0)
            return rc < 0 ? rc : 0;
        if (len == sizeof buf - 1)
            return -EPROTO;
    }
}

int takeover_fetch(const char *path)
{
    char text[sizeof "unix:" + 4096];
    rsock_addr a;
    snprintf(text, sizeof text, "unix:%s", path);
    int rc = rsock_addr_parse(&a, text);
    if (rc == 0)
        rc = rsock_chan_new(0, (size_t)MAX_LISTENERS * MAX_PASSED, &adopted);
    if (rc == 0)
        rc = rsock_socket(AF_UNIX, SOCK_STREAM, 0, &old);
    if (rc == 0)
        rc = rsock_connect_wait(old, &a, rsock_after(10000));
    if (rc == 0)
        rc = (int)rsock_write_all(old, "takeover\n", 9, rsock_after(10000));
    if (rc >= 0)
        rc = receive_lines(old, rsock_after(TAKEOVER_MS), listener_line);
    if (rc < 0) {
        fprintf(stderr, "rsock-proxy: --takeover %s: %s\n", path,
                rc == -EPROTO ? "not understood" : rsock_error_message());
        return -1;
    }
    return 0;
}

static struct taken *taken_for(const char *local)
{
    if (__atomic_load_n(&finished, __ATOMIC_ACQUIRE))
        return NULL; /* a thread still starting has adopted its sockets already */
    for (int i = 0; i < ntaken; i++)
        if (!strcmp(taken[i].local, local))
            return &taken[i];
    return NULL;
}

int takeover_count(const char *local)
{
    struct taken *t = taken_for(local);
    return t ? t->n : 0;
}

int takeover_take(const char *local, int index, rsock_t **out)
{
    struct taken *t = taken_for(local);
    if (!t || index >= t->n || t->fds[index] < 0)
        return 0;
    int fd = t->fds[index];
    t->fds[index] = -1;
    int rc = rsock_fdopen(fd, out); /* on the thread that will accept on it */
    if (rc < 0)
        close(fd);
    rsock_chan_send(adopted, NULL, -1); /* after the -1: takeover_ready reads it */
    if (rc < 0)
        return rc;
    rsock_addr at;
    if (rsock_getsockname(*out, &at) == 0 && rsock_addr_family(&at) == AF_UNIX)
        keep_local_path(&at); /* ours to remove at exit now */
    return 1;
}

/* Every thread has adopted its sockets of the listeners we serve (the
 * others go on starting meanwhile): only then may the old one stop. */
static void wait_adopted(void)
{
    int want = 0;
    for (int i = 0; i < current->nlisteners; i++)
        want += takeover_count(current->listeners[i].lc->local);
    int64_t deadline = rsock_after(10000);
    for (int i = 0; i < want; i++)
        if (rsock_chan_recv(adopted, NULL, deadline) < 0) {
            log_line(0, "takeover: %d of %d sockets adopted in 10 s", i, want);
            break;
        }
}

/* "conn [from CLIENT] UP DOWN LOCAL": the counts, where LOCAL starts
 * (*at) and the client as counted (*from; len 0: the socket's peer).
 * false when the line says something else. */
static bool parse_conn(const char *line, long long *up, long long *down, int *at, rsock_addr *from)
{
    char text[FROM_MAX];
    *at = 0;
    from->len = 0;
    if (sscanf(line, "conn from %63s %lld %lld %n", text, up, down, at) == 3 && *at)
        return rsock_addr_parse(from, text) == 0 && rsock_addr_ip(from, NULL, NULL) > 0;
    return sscanf(line, "conn %lld %lld %n", up, down, at) == 2 && *at;
}

/* One line after "ready": "ok" (the old one stopped accepting), a
 * connection ("conn [from CLIENT] UP DOWN LOCAL" with the client's and the
 * server's descriptors), or "end". */
static int conn_line(const char *line, const int *fds, int nfds)
{
    static int taken_conns;
    if (!strcmp(line, "ok")) {
        log_event("takeover", "took over the listening sockets");
        return 0;
    }
    if (!strcmp(line, "end")) {
        log_event("takeover", "took over %d open connection%s", taken_conns,
                  taken_conns == 1 ? "" : "s");
        return 1;
    }
    long long up, down;
    int at;
    rsock_addr from;
    rsock_t *client = NULL, *server = NULL;
    if (!parse_conn(line, &up, &down, &at, &from) || nfds != 2) {
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        return -EPROTO;
    }
    struct listener *l = NULL;
    for (int i = 0; i < current->nlisteners && !l; i++)
        if (!strcmp(current->listeners[i].lc->local, line + at))
            l = &current->listeners[i];
    rsock_relay_stats before = {up, down};
    if (rsock_fdopen(fds[0], &client) < 0)
        close(fds[0]);
    if (rsock_fdopen(fds[1], &server) < 0)
        close(fds[1]);
    if (!l || !client || !server ||
        conn_resume(&workers[0], l, client, server, from.len ? &from : NULL, &before) < 0) {
        log_line(0, "takeover: a connection of %s could not be taken: closed", line + at);
        rsock_close(client);
        rsock_close(server);
        return 0;
    }
    taken_conns++;
    return 0;
}

/* Thread 0's fiber: the old process's connections as it stops them. */
static void receive_conns(void *unused)
{
    (void)unused;
    int rc = receive_lines(old, -1, conn_line);
    if (rc < 0 && rc != -ECANCELED)
        log_line(0, "takeover: the old proxy's connections: %s", rsock_strerror(rc));
    rsock_close(old);
    old = NULL;
}

void takeover_ready(void)
{
    wait_adopted();
    for (int i = 0; i < ntaken; i++) /* LOCALs the new config dropped */
        for (int k = 0; k < taken[i].n; k++)
            if (taken[i].fds[k] >= 0)
                close(taken[i].fds[k]);
    __atomic_store_n(&finished, true, __ATOMIC_RELEASE);
    rsock_chan_free(adopted);
    adopted = NULL;
    if (rsock_write_all(old, "ready\n", 6, rsock_after(10000)) < 0 ||
        rsock_group_new(&receiving) < 0 || rsock_group_spawn(receiving, receive_conns, NULL) < 0) {
        log_line(0, "takeover: %s", rsock_error_message());
        rsock_close(old);
        old = NULL;
    }
}

void takeover_end(void)
{
    rsock_chan_done(passing); /* every thread has drained: nothing more comes */
    if (giving && rsock_chan_recv(given, NULL, rsock_after(TAKEOVER_MS)) < 0)
        log_line(0, "takeover: the connections were not all sent");
    rsock_group_close(receiving); /* the new process: stop reading the old one */
    receiving = NULL;
    rsock_close(old);
    old = NULL;
    rsock_chan_free(handover);
    rsock_chan_free(passing);
    rsock_chan_free(given);
}
