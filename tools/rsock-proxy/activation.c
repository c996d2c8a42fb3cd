/* Inherited listening sockets: systemd's (LISTEN_FDS, with their names
 * from LISTEN_FDNAMES) and a descriptor named by number (fd:N). */
#include "activation.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PASSED 64

/* What the service manager passed: read once for the process (reading
 * unsets the variables), each socket taken by one LOCAL. */
static struct {
    bool read;
    int n;
    rsock_t *socks[MAX_PASSED];
    const char *names[MAX_PASSED]; /* LISTEN_FDNAMES's, "" when it says none */
    bool taken[MAX_PASSED];
    char *names_text; /* LISTEN_FDNAMES, copied: names point into it */
} passed;

/* Say why LOCAL cannot be served, on standard error: -err. */
static int refuse(const char *local, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(const char *local, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rsock-proxy: LOCAL %s: ", local);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return -err;
}

bool is_inherited_local(const char *local)
{
    return local && (!strcmp(local, "systemd") || !strncmp(local, "systemd:", 8) ||
                     !strncmp(local, "fd:", 3));
}

/* LISTEN_FDNAMES split at ':' over the passed sockets (before
 * rsock_listen_fds unsets it). */
static void split_names(const char *text)
{
    passed.names_text = text ? strdup(text) : NULL;
    char *rest = passed.names_text;
    for (int i = 0; i < MAX_PASSED; i++) {
        char *name = rest ? strsep(&rest, ":") : NULL;
        passed.names[i] = name ? name : "";
    }
}

static int read_passed(const char *local)
{
    if (passed.read)
        return 0;
    split_names(getenv("LISTEN_FDNAMES"));
    int n = rsock_listen_fds(passed.socks, MAX_PASSED);
    if (n < 0)
        return refuse(local, -n, "%s", rsock_error_message());
    passed.read = true;
    passed.n = n;
    return 0;
}

/* A socket the proxy can accept on: a stream socket, listening.  `fd` is
 * the descriptor to name (as inherited: s may hold a duplicate). */
static int check_listening(const char *local, rsock_t *s, int fd)
{
    int listening = 0;
    if (rsock_type(s) != SOCK_STREAM)
        return refuse(local, EINVAL, "descriptor %d is not a stream socket (type %d)", fd,
                      rsock_type(s));
    if (rsock_getsockopt_int(s, SOL_SOCKET, SO_ACCEPTCONN, &listening) < 0)
        return refuse(local, EINVAL, "%s", rsock_error_message());
    if (!listening)
        return refuse(local, EINVAL,
                      "descriptor %d is not listening (a socket unit needs Accept=no)", fd);
    return 0;
}

/* Passed socket i is for LOCAL `name` (NULL: "systemd", any name). */
static bool wanted(int i, const char *name)
{
    return !passed.taken[i] && (!name || !strcmp(passed.names[i], name));
}

/* Sockets LOCAL would take but had no room for: said, not served. */
static void note_left_over(const char *local, const char *name)
{
    int left = 0;
    for (int i = 0; i < passed.n; i++)
        left += wanted(i, name);
    if (left)
        fprintf(stderr,
                "rsock-proxy: LOCAL %s: %d more socket%s passed and not served (give each "
                "its own LOCAL systemd:NAME)\n",
                local, left, left == 1 ? " was" : "s were");
}

/* The sockets LOCAL (systemd or systemd:NAME) wants, checked all before
 * any is taken. */
static int from_systemd(const char *local, rsock_t **out, size_t max)
{
    const char *name = local[7] == ':' ? local + 8 : NULL;
    int rc = read_passed(local);
    if (rc < 0)
        return rc;
    if (passed.n == 0)
        return refuse(local, ENOENT, "no socket was passed (LISTEN_FDS unset, or LISTEN_PID "
                                     "another process's: start the proxy from a .socket unit)");
    size_t n = 0;
    for (int i = 0; i < passed.n && n < max; i++) {
        if (!wanted(i, name))
            continue;
        if ((rc = check_listening(local, passed.socks[i], rsock_fd(passed.socks[i]))) < 0)
            return rc;
        n++;
    }
    if (n == 0)
        return refuse(local, ENOENT, name ? "no socket of that name was passed (or it is taken)"
                                          : "every socket passed is taken by another LOCAL");
    n = 0;
    for (int i = 0; i < passed.n && n < max; i++)
        if (wanted(i, name)) {
            passed.taken[i] = true;
            out[n++] = passed.socks[i];
        }
    note_left_over(local, name);
    return (int)n;
}

/* "fd:N": N in plain decimal digits, else -1. */
static int fd_number(const char *text)
{
    long v = 0;
    if (!*text)
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > (INT_MAX - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return (int)v;
}

/* Descriptor N, adopted through a duplicate (so a refusal leaves N as it
 * was); once adopted, N itself is closed (0..2 are kept: a later file
 * must not land on standard error). */
static int from_fd(const char *local, rsock_t **out)
{
    int fd = fd_number(local + 3);
    if (fd < 0)
        return refuse(local, EINVAL, "fd:N takes a descriptor number");
    if (fcntl(fd, F_GETFD) < 0)
        return refuse(local, EBADF, "descriptor %d is not open (or another LOCAL took it)", fd);
    if (!rsock_is_socket(fd))
        return refuse(local, ENOTSOCK, "descriptor %d is not a socket", fd);
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0)
        return refuse(local, errno, "cannot duplicate descriptor %d: %s", fd, strerror(errno));
    rsock_t *s;
    int rc = rsock_fdopen(copy, &s);
    if (rc < 0) {
        close(copy);
        return refuse(local, -rc, "%s", rsock_error_message());
    }
    if ((rc = check_listening(local, s, fd)) < 0) {
        rsock_close(s);
        return rc;
    }
    if (fd > 2)
        close(fd);
    *out = s;
    return 1;
}

int inherited_listeners(const char *local, rsock_t **out, size_t max)
{
    if (!local || !out || max == 0)
        return refuse(local ? local : "(null)", EINVAL, "no room for a socket");
    if (!strncmp(local, "fd:", 3))
        return from_fd(local, out);
    if (!strcmp(local, "systemd") || !strncmp(local, "systemd:", 8))
        return from_systemd(local, out, max);
    return refuse(local, EINVAL, "not an inherited socket (systemd, systemd:NAME or fd:N)");
}
