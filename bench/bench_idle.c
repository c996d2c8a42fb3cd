/* 10,000 concurrent idle TCP connections on loopback, each held by a server
 * fiber parked in rsock_wait_in with the default stack size: RSS per
 * connection (VmRSS growth / connections) of the serving process.  The
 * clients live in a child process, so the figure is the server side alone.
 * Target: under 12 KiB.  Baseline in the same run: the same connections held
 * as plain devices with no fibers, i.e. what the devices alone cost. */
#include "bench.h"

#include <errno.h>
#include <rsock.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONNS 10000

static rsock_t *servers[CONNS];
static int parked;

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

static int raise_fd_limit(rlim_t need)
{
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_max < need)
        return fprintf(stderr, "bench_idle: needs %lu descriptors per process, hard limit %lu\n",
                       (unsigned long)need, (unsigned long)lim.rlim_max), -1;
    lim.rlim_cur = need;
    return setrlimit(RLIMIT_NOFILE, &lim);
}

/* The child: CONNS connections, then hold them until the parent says so. */
static void clients(const char *text, int ready_fd, int done_fd)
{
    static rsock_t *c[CONNS];
    for (int i = 0; i < CONNS; i++)
        if (rsock_dial(text, rsock_now() + 10000, &c[i]) < 0)
            _exit(fprintf(stderr, "dial %d: %s\n", i, rsock_error_message()));
    char b = 1;
    if (write(ready_fd, &b, 1) != 1 || read(done_fd, &b, 1) < 0)
        _exit(1);
    _exit(0); /* the kernel closes them all */
}

static void idle_server(void *arg)
{
    rsock_t *s = arg;
    parked++;
    rsock_wait_in(s, -1); /* until the client goes */
    parked--;
    rsock_close(s);
}

static double per_conn_kib(rsock_t *l, const char *text, bool with_fibers)
{
    int ready[2], done[2];
    if (pipe(ready) < 0 || pipe(done) < 0)
        exit(1);
    pid_t pid = fork();
    if (pid == 0)
        clients(text, ready[1], done[0]);
    long before = rss_kib();
    for (int i = 0; i < CONNS; i++) {
        if (rsock_accept_wait(l, NULL, &servers[i], rsock_now() + 20000) < 0)
            exit(fprintf(stderr, "accept %d: %s\n", i, rsock_error_message()));
        if (with_fibers && rsock_spawn(idle_server, servers[i], NULL) < 0)
            exit(fprintf(stderr, "spawn: %s\n", rsock_error_message()));
    }
    rsock_yield(); /* every fiber parks */
    char b;
    if (read(ready[0], &b, 1) != 1)
        exit(1);
    long after = rss_kib();
    if (with_fibers && parked != CONNS)
        fprintf(stderr, "only %d of %d fibers parked\n", parked, CONNS);
    if (write(done[1], &b, 1) != 1)
        exit(1);
    waitpid(pid, NULL, 0);
    if (with_fibers)
        rsock_run();
    else
        for (int i = 0; i < CONNS; i++)
            rsock_close(servers[i]);
    close(ready[0]), close(ready[1]), close(done[0]), close(done[1]);
    return (double)(after - before) / CONNS;
}

int main(void)
{
    if (raise_fd_limit(CONNS + 64) < 0)
        return 2;
    rsock_t *l;
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN];
    if (rsock_listen_on("127.0.0.1:0", 4096, &l) < 0 || rsock_getsockname(l, &where) < 0)
        return fprintf(stderr, "%s\n", rsock_error_message()), 1;
    rsock_addr_format(&where, text, sizeof text);
    double base = per_conn_kib(l, text, false);
    double fibers = per_conn_kib(l, text, true);
    bench_row("idle conns: RSS per conn, fibers", fibers, "KiB", "devices, no fibers", base,
              "< 12 KiB", fibers < 12.0);
    rsock_close(l);
    return 0;
}
