/* Takeover: a new rsock-proxy (--takeover PATH) takes the listening
 * sockets of the running one through its control socket, so no client is
 * refused across an upgrade.
 *
 *   new -> old   "takeover\n"
 *   old -> new   "listener N LOCAL\n" with N descriptors (SCM_RIGHTS), one
 *                line per listener: every thread's socket of it (SO_REUSEPORT
 *                spreads connections over all of them, so each must go on
 *                being served); then "end\n"
 *   new -> old   "ready\n" once it accepts on them
 *   old -> new   "ok\n"; the old one stops accepting (its copies close; the
 *                sockets and their queues live on in the new process) and
 *                drains its open connections, then exits.
 * Until "ready" both processes accept from the same queues; a new process
 * that fails before it leaves the old one serving ("takeover abandoned"). */
#include "ctl.h"
#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TAKEOVER_MS 60000 /* the new process's start, from the sockets to "ready" */
#define MAX_PASSED 253    /* descriptors in one SCM_RIGHTS message */
#define LINE_MAX_ 600

/* ---- the old process ---- */

/* Every thread's socket of a listener whose LOCAL text is `local`. */
static int sockets_of(const char *local, int *fds, int max)
{
    int n = 0;
    for (int i = 0; i < nworkers; i++)
        for (int k = 0; k < MAX_LISTENERS && n < max; k++) {
            const struct acceptor_slot *slot = &workers[i].slots[k];
            if (slot->l && slot->sock && !strcmp(slot->l->lc->local, local))
                fds[n++] = rsock_fd(slot->sock);
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
    log_event("takeover", "taken over: no new connections here; exit when the open ones end");
    control_stop(true);
    rsock_write_all(c, "ok\n", 3, rsock_after(TAKEOVER_MS));
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
static int take_lines(char *buf, size_t *len, const int *fds, int nfds)
{
    char *start = buf, *nl;
    int rc = 0;
    while (rc == 0 && (nl = memchr(start, '\n', *len - (size_t)(start - buf)))) {
        *nl = 0;
        bool last = !memchr(nl + 1, '\n', *len - (size_t)(nl + 1 - buf));
        if (!strcmp(start, "end"))
            rc = 1;
        else if (!strncmp(start, "listener ", 9))
            rc = note_listener(start, last ? fds : NULL, last ? nfds : 0);
        else
            rc = -EPROTO; /* e.g. "error: the proxy is stopping" */
        if (rc < 0)
            fprintf(stderr, "rsock-proxy: --takeover: the old proxy said \"%s\"\n", start);
        start = nl + 1;
    }
    *len -= (size_t)(start - buf);
    memmove(buf, start, *len);
    return rc;
}

static int receive_listeners(rsock_t *s)
{
    char buf[LINE_MAX_ * 2];
    size_t len = 0;
    int64_t deadline = rsock_after(TAKEOVER_MS);
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
        int rc = take_lines(buf, &len, fds, nfds);
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
        rc = receive_listeners(old);
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

void takeover_ready(void)
{
    wait_adopted();
    for (int i = 0; i < ntaken; i++) /* LOCALs the new config dropped */
        for (int k = 0; k < taken[i].n; k++)
            if (taken[i].fds[k] >= 0)
                close(taken[i].fds[k]);
    __atomic_store_n(&finished, true, __ATOMIC_RELEASE);
    const char *line;
    rsock_reader r;
    ssize_t rc = rsock_write_all(old, "ready\n", 6, rsock_after(10000));
    if (rc >= 0 && (rc = rsock_reader_init(&r, old, NULL, 0)) == 0) {
        rc = rsock_reader_line(&r, &line, 0, rsock_after(10000));
        rsock_reader_free(&r);
    }
    if (rc <= 0)
        log_line(0, "takeover: the old proxy did not confirm: %s",
                 rc < 0 ? rsock_error_message() : "it closed the connection");
    else
        log_event("takeover", "took over the listening sockets");
    rsock_close(old);
    old = NULL;
    rsock_chan_free(adopted);
    adopted = NULL;
}
