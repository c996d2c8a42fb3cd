/* Sockets handed over by a service manager: systemd's LISTEN_FDS protocol
 * (sd_listen_fds(3)), without libsystemd.  The manager passes descriptors
 * 3, 4, ... and says how many in LISTEN_FDS, for the process LISTEN_PID
 * names; LISTEN_FDNAMES may name them.  A child that inherited the
 * variables but not the right to the descriptors sees another pid. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define FIRST_FD 3 /* SD_LISTEN_FDS_START */

/* A decimal number of digits only (no sign, no space, no 0x) up to `max`,
 * else -1: environment text is not trusted to be what it claims. */
static long parse_count(const char *text, long max)
{
    long v = 0;
    if (!*text)
        return -1;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9' || v > (max - (*p - '0')) / 10)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/* LISTEN_PID and LISTEN_FDS read: the count of descriptors passed to us
 * (*ours set), 0 when the variables are absent or another process's, or
 * -EINVAL. */
static long listen_count(bool *ours)
{
    const char *pid_text = getenv("LISTEN_PID"), *fds_text = getenv("LISTEN_FDS");
    if (!pid_text)
        return 0;
    long pid = parse_count(pid_text, INT_MAX);
    if (pid <= 0)
        return rsock__fail(EINVAL, "rsock_listen_fds: LISTEN_PID=\"%.40s\" is not a process id",
                           pid_text);
    if (pid != (long)getpid())
        return 0;
    *ours = true;
    if (!fds_text)
        return 0;
    long n = parse_count(fds_text, INT_MAX - FIRST_FD);
    if (n < 0)
        return rsock__fail(EINVAL,
                           "rsock_listen_fds: LISTEN_FDS=\"%.40s\" is not a count of descriptors",
                           fds_text);
    return n;
}

/* Each of the first `n` passed descriptors is an open socket (checked
 * before any is touched, so a refusal changes nothing). */
static int check_passed(long n, long passed)
{
    struct stat st;
    for (int fd = FIRST_FD; fd < FIRST_FD + n; fd++) {
        if (fstat(fd, &st) < 0)
            return rsock__fail_sys(EBADF, "rsock_listen_fds: fd %d (LISTEN_FDS=%ld)", fd, passed);
        if (!S_ISSOCK(st.st_mode))
            return rsock__fail(ENOTSOCK, "rsock_listen_fds: fd %d (LISTEN_FDS=%ld) is not a socket",
                               fd, passed);
    }
    return 0;
}

/* Undo the adoptions made so far after a later one failed: the devices go,
 * their descriptors stay open (still the service manager's hand-over). */
static void forget(rsock_t **devs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rsock__loop_remove(devs[i]);
        free(devs[i]);
        devs[i] = NULL;
    }
}

static int adopt(rsock_t **out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = rsock_fdopen(FIRST_FD + (int)i, &out[i]);
        if (rc < 0) {
            forget(out, i);
            return rc;
        }
    }
    return 0;
}

int rsock_listen_fds(rsock_t **out, size_t max)
{
    if (!out)
        return rsock__fail(EINVAL, "rsock_listen_fds: NULL out");
    bool ours = false;
    long passed = listen_count(&ours);
    if (passed < 0 || !ours)
        return (int)passed;
    size_t take = (size_t)passed < max ? (size_t)passed : max;
    int rc = check_passed((long)take, passed);
    if (rc == 0)
        rc = adopt(out, take);
    if (rc < 0)
        return rc;
    /* Consumed: a child we start, or a second call, must not take them. */
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return (int)take;
}
