/* bench_relay: rsock_relay against its baseline, two rsock_copy fibers (the
 * tutorial's proxy), moving bulk one way on one thread:
 *
 *   sender fiber -> client ==> a [relay] b ==> server -> receiver fiber
 *
 * over socketpairs (-u) or TCP loopback.  Runs alternate between the two so
 * that both see the same machine; prints the median Gbit/s of each, min-max,
 * and relay / copies (1.0: the relay costs nothing over two copies).
 *
 * usage: bench_relay [-m MIB] [-r RUNS] [-u] */
#include <rsock.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int64_t total = 256LL << 20;
static bool use_unix;

struct run {
    rsock_t *client, *a, *b, *server;
    int64_t got;
};

static void die(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, rsock_error_message());
    exit(1);
}

static void pair(rsock_t **x, rsock_t **y)
{
    if (use_unix) {
        int fds[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0 || rsock_fdopen(fds[0], x) < 0 ||
            rsock_fdopen(fds[1], y) < 0)
            die("socketpair");
        return;
    }
    rsock_t *l;
    rsock_addr at;
    char text[RSOCK_ADDRSTRLEN];
    if (rsock_listen_on("127.0.0.1:0", -1, &l) < 0 || rsock_getsockname(l, &at) < 0 ||
        rsock_addr_format(&at, text, sizeof text) < 0 ||
        rsock_dial(text, rsock_after(5000), x) < 0 ||
        rsock_accept_wait(l, NULL, y, rsock_after(5000)) < 0)
        die("tcp pair");
    rsock_close(l);
}

static void sender(void *arg)
{
    struct run *r = arg;
    static char block[256 * 1024];
    for (int64_t done = 0; done < total; done += (int64_t)sizeof block)
        if (rsock_write_all(r->client, block, sizeof block, -1) < 0)
            die("send");
    rsock_shutdown(r->client, SHUT_WR);
}

static void receiver(void *arg)
{
    struct run *r = arg;
    static char buf[256 * 1024];
    ssize_t n;
    while ((n = rsock_read(r->server, buf, sizeof buf, -1)) > 0)
        r->got += n;
    if (n < 0)
        die("receive");
    rsock_shutdown(r->server, SHUT_WR); /* the other direction ends too */
}

struct copy_dir {
    rsock_t *from, *to;
};

static void copier(void *arg)
{
    struct copy_dir *d = arg;
    if (rsock_copy(d->from, d->to, -1) < 0)
        die("rsock_copy");
}

/* One run: Gbit/s through a relay (relay true) or two copies. */
static double one_run(bool relay)
{
    struct run r = {0};
    pair(&r.client, &r.a);
    pair(&r.b, &r.server);
    rsock_fiber *s, *v;
    rsock_spawn(sender, &r, &s);
    rsock_spawn(receiver, &r, &v);
    int64_t t0 = rsock_now();
    if (relay) {
        if (rsock_relay(r.a, r.b, -1, 0, 0, NULL) < 0)
            die("rsock_relay");
    } else {
        struct copy_dir up = {r.a, r.b}, down = {r.b, r.a};
        rsock_fiber *f;
        rsock_spawn(copier, &down, &f);
        copier(&up);
        rsock_join(f, -1);
    }
    rsock_join(s, -1);
    rsock_join(v, -1);
    double secs = (double)(rsock_now() - t0) / 1000.0;
    if (r.got != total)
        die("short count");
    rsock_close(r.client), rsock_close(r.a), rsock_close(r.b), rsock_close(r.server);
    return secs > 0 ? (double)r.got * 8 / secs / 1e9 : 0;
}

static int cmp(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

int main(int argc, char **argv)
{
    int runs = 5, opt;
    while ((opt = getopt(argc, argv, "m:r:u")) != -1) {
        if (opt == 'm')
            total = atoll(optarg) << 20;
        else if (opt == 'r')
            runs = atoi(optarg);
        else if (opt == 'u')
            use_unix = true;
        else
            return fprintf(stderr, "usage: bench_relay [-m MIB] [-r RUNS] [-u]\n"), 2;
    }
    if (runs < 1 || runs > 100 || total <= 0)
        return fprintf(stderr, "bench_relay: -r 1..100, -m > 0\n"), 2;
    signal(SIGPIPE, SIG_IGN); /* lets the copies splice, as servers do */
    double relay[100], copies[100];
    for (int i = 0; i < runs; i++) {
        copies[i] = one_run(false);
        relay[i] = one_run(true);
    }
    qsort(relay, (size_t)runs, sizeof *relay, cmp);
    qsort(copies, (size_t)runs, sizeof *copies, cmp);
    double mr = relay[runs / 2], mc = copies[runs / 2];
    printf("bulk %s, %lld MiB, median of %d\n", use_unix ? "Unix" : "TCP", (long long)(total >> 20),
           runs);
    printf("two rsock_copy fibers: %.2f Gbit/s (%.2f-%.2f)\n", mc, copies[0], copies[runs - 1]);
    printf("rsock_relay:           %.2f Gbit/s (%.2f-%.2f)\n", mr, relay[0], relay[runs - 1]);
    printf("relay / copies: %.2f\n", mc > 0 ? mr / mc : 0);
    return 0;
}
