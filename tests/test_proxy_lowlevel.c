/* examples/tcp-proxy-lowlevel: 64 MiB each way through it, checked.  The
 * proxy runs as a child process; the echo server and the client are fibers
 * of this process. */
#include "check.h"

#include <signal.h>
#include <sys/wait.h>

#define TOTAL (64L << 20)

static uint64_t mix(uint64_t h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL; /* FNV-1a */
    return h;
}

static unsigned char pattern(long i) { return (unsigned char)(i * 7 + (i >> 13)); }

static void echo_conn(void *arg)
{
    rsock_t *c = arg;
    static __thread char buf[65536];
    ssize_t n;
    while ((n = rsock_read(c, buf, sizeof buf, rsock_now() + 30000)) > 0)
        if (rsock_write_all(c, buf, (size_t)n, rsock_now() + 30000) < 0)
            break;
    rsock_shutdown(c, SHUT_WR);
    rsock_close(c);
}

static void echo_server(void *arg)
{
    rsock_t *l = arg, *c;
    if (rsock_accept_wait(l, NULL, &c, rsock_now() + 30000) == 0)
        echo_conn(c);
}

struct flow { rsock_t *s; uint64_t sum; long bytes; };

static void writer(void *arg)
{
    struct flow *f = arg;
    static char chunk[65536];
    for (long sent = 0; sent < TOTAL;) {
        size_t n = sizeof chunk;
        for (size_t i = 0; i < n; i++)
            chunk[i] = (char)pattern(sent + (long)i);
        if (rsock_write_all(f->s, chunk, n, rsock_now() + 30000) < 0)
            return;
        f->sum = mix(f->sum, (unsigned char *)chunk, n);
        sent += (long)n;
        f->bytes = sent;
    }
    rsock_shutdown(f->s, SHUT_WR);
}

static void reader(void *arg)
{
    struct flow *f = arg;
    static char buf[65536];
    ssize_t n;
    while ((n = rsock_read(f->s, buf, sizeof buf, rsock_now() + 30000)) > 0) {
        f->sum = mix(f->sum, (unsigned char *)buf, (size_t)n);
        f->bytes += n;
    }
}

static int free_port(void)
{
    rsock_t *s;
    rsock_addr a;
    int port = -1;
    if (rsock_listen_on("127.0.0.1:0", 1, &s) == 0 && rsock_getsockname(s, &a) == 0)
        rsock_addr_ip(&a, NULL, &port);
    rsock_close(s);
    return port;
}

static void test_64_mib_each_way(void)
{
    rsock_t *l, *client = NULL;
    rsock_addr where;
    char target[64], listen_at[64];
    REQUIRE(rsock_listen_on("127.0.0.1:0", 8, &l) == 0 && rsock_getsockname(l, &where) == 0);
    rsock_addr_format(&where, target, sizeof target);
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%d", free_port());
    char prog[512];
    snprintf(prog, sizeof prog, "%s/examples/tcp-proxy-lowlevel", getenv("RSOCK_BUILD") ? getenv("RSOCK_BUILD") : "build");
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        execl(prog, prog, "--max-conns", "1", listen_at, target, (char *)NULL);
        _exit(127);
    }
    REQUIRE(rsock_spawn(echo_server, l, NULL) == 0);
    for (int i = 0; i < 100 && rsock_dial(listen_at, rsock_now() + 1000, &client) < 0; i++)
        rsock_sleep(rsock_now() + 20); /* the child is starting up */
    REQUIRE(client != NULL);
    struct flow up = {client, 0xcbf29ce484222325ULL, 0}, down = {client, 0xcbf29ce484222325ULL, 0};
    rsock_fiber *w, *r;
    REQUIRE(rsock_spawn(writer, &up, &w) == 0 && rsock_spawn(reader, &down, &r) == 0);
    CHECK_EQ(rsock_join(w, rsock_now() + 60000), 0);
    CHECK_EQ(rsock_join(r, rsock_now() + 60000), 0);
    CHECK_EQ(up.bytes, TOTAL);
    CHECK_EQ(down.bytes, TOTAL);
    CHECK(up.sum == down.sum);
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid); /* --max-conns 1: it exits by itself */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rsock_run();
    rsock_close(client);
    rsock_close(l);
}

int main(void)
{
    rsock_yield();
    int fds = check_fd_count();
    RUN(test_64_mib_each_way);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
