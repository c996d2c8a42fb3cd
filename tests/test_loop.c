/* The loop beyond one fiber: name resolution runs off the loop (a slow
 * lookup parks only its fiber), and several OS threads each run their own
 * loop side by side (two SO_REUSEPORT listeners on one port). */
#include "check.h"
#include "fiber.h"
#include "internal.h"
#include "sandbox.h"

#include <pthread.h>
#include <sys/wait.h>

enum { PINGS = 200 };

static int pongs_during_lookup;
static bool lookup_done;

/* A ping-pong over a socketpair that counts round trips while the other
 * fiber is resolving. */
static void pinger(void *arg)
{
    rsock_t **pair = arg;
    char c = 'x';
    for (int i = 0; i < PINGS && !lookup_done; i++) {
        REQUIRE(rsock_write_all(pair[0], &c, 1, rsock_now() + 5000) == 1);
        REQUIRE(rsock_read(pair[1], &c, 1, rsock_now() + 5000) == 1);
        pongs_during_lookup++;
        rsock_sleep(rsock_now() + 1);
    }
}

static void resolver(void *arg)
{
    rsock_addr *a = arg;
    CHECK_EQ(rsock_addr_parse(a, "rsock-test-v4:80"), 0);
    lookup_done = true;
}

static void slow_lookup_does_not_stop_other_fibers(void)
{
    int sv[2];
    rsock_t *pair[2];
    rsock_addr a;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &pair[0]) == 0 && rsock_fdopen(sv[1], &pair[1]) == 0);
    __atomic_store_n(&rsock__resolve_test_delay_ms, 600, __ATOMIC_RELAXED); /* the helper thread sleeps before getaddrinfo */
    int64_t start = rsock_now();
    rsock_fiber *r, *p;
    REQUIRE(rsock_spawn(resolver, &a, &r) == 0);
    REQUIRE(rsock_spawn(pinger, pair, &p) == 0);
    CHECK_EQ(rsock_join(r, rsock_now() + 10000), 0);
    CHECK_EQ(rsock_join(p, rsock_now() + 10000), 0);
    CHECK(rsock_now() - start >= 600);
    /* The ping-pong went on while the lookup was parked: blocking the thread
     * for 600 ms would have allowed none.  A few, not "one per ms": at load
     * average 60 on 2 cores each 1 ms sleep can take tens of ms (20 in
     * 300 ms failed in a CI-like run). */
    CHECK(pongs_during_lookup >= 5);
    char text[RSOCK_ADDRSTRLEN];
    rsock_addr_format(&a, text, sizeof text);
    CHECK_STR(text, "127.0.0.1:80");
    __atomic_store_n(&rsock__resolve_test_delay_ms, 0, __ATOMIC_RELAXED);
    rsock_close(pair[0]);
    rsock_close(pair[1]);
}

static void test_resolution_off_the_loop(void) { CHECK_SANDBOXED(slow_lookup_does_not_stop_other_fibers); }

/* ---- two threads, each its own loop and SO_REUSEPORT listener ---- */

enum { CLIENTS = 40 };
static int shared_port;
static pthread_barrier_t listening;

struct server { int served; rsock_t *listener; };

static void serve_one(void *arg)
{
    rsock_t *c = arg;
    char buf[8];
    ssize_t n = rsock_read(c, buf, sizeof buf, rsock_now() + 5000);
    if (n > 0)
        rsock_write_all(c, buf, (size_t)n, rsock_now() + 5000);
    rsock_close(c);
}

static void *server_thread(void *arg)
{
    struct server *sv = arg;
    char text[32];
    snprintf(text, sizeof text, "127.0.0.1:%d", shared_port);
    REQUIRE(rsock_listen_on_flags(text, 128, RSOCK_REUSEPORT, &sv->listener) == 0);
    pthread_barrier_wait(&listening);
    rsock_t *c;
    while (rsock_accept_wait(sv->listener, NULL, &c, rsock_now() + 1500) == 0) {
        sv->served++;
        REQUIRE(rsock_spawn(serve_one, c, NULL) == 0);
    }
    rsock_run();
    rsock_close(sv->listener);
    return NULL;
}

static void test_threads_side_by_side(void)
{
    rsock_t *probe;
    rsock_addr where;
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &probe) == 0);
    REQUIRE(rsock_getsockname(probe, &where) == 0);
    rsock_addr_ip(&where, NULL, &shared_port);
    rsock_close(probe);
    pthread_barrier_init(&listening, NULL, 3);
    struct server servers[2] = {{0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        REQUIRE(pthread_create(&t[i], NULL, server_thread, &servers[i]) == 0);
    pthread_barrier_wait(&listening);
    char text[32], buf[8];
    snprintf(text, sizeof text, "127.0.0.1:%d", shared_port);
    int echoed = 0;
    for (int i = 0; i < CLIENTS; i++) { /* new source ports spread over both listeners */
        rsock_t *c;
        if (rsock_dial(text, rsock_now() + 5000, &c) < 0)
            continue;
        if (rsock_write_all(c, "ping", 4, rsock_now() + 5000) == 4 &&
            rsock_read(c, buf, sizeof buf, rsock_now() + 5000) == 4)
            echoed++;
        rsock_close(c);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&listening);
    CHECK_EQ(echoed, CLIENTS);
    CHECK_EQ(servers[0].served + servers[1].served, CLIENTS);
    CHECK(servers[0].served > 0 && servers[1].served > 0); /* both loops served */
}

/* ---- fork: the child gets its own loop ---- */

/* The child makes and uses devices of its own, and waits on one it
 * inherited; the parent's loop must see none of the child's devices (they
 * would arrive as foreign pointers) and keep working. */
static void test_fork_gives_the_child_its_own_loop(void)
{
    int sv[2];
    rsock_t *inherited, *peer;
    char c;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &inherited) == 0 && rsock_fdopen(sv[1], &peer) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* Devices of the child's own, left busy (readable) while the parent polls. */
        rsock_t *pairs[50][2];
        int ok = 1;
        for (int i = 0; i < 50 && ok; i++) {
            int p2[2];
            ok = socketpair(AF_UNIX, SOCK_STREAM, 0, p2) == 0 &&
                 rsock_fdopen(p2[0], &pairs[i][0]) == 0 && rsock_fdopen(p2[1], &pairs[i][1]) == 0 &&
                 rsock_send(pairs[i][0], "c", 1, 0) == 1 &&
                 rsock_wait_in(pairs[i][1], rsock_now() + 5000) == 0;
        }
        /* Tell the parent, then wait on the inherited device for its answer. */
        ok = ok && rsock_send(inherited, ok ? "k" : "f", 1, 0) == 1 &&
             rsock_wait_in(inherited, rsock_now() + 5000) == 0 && rsock_recv(inherited, &c, 1, 0) == 1;
        _exit(ok ? 0 : 1);
    }
    /* The parent's loop runs while the child's devices are registered and ready. */
    CHECK_EQ(rsock_wait_in(peer, rsock_now() + 5000), 0);
    CHECK_EQ(rsock_recv(peer, &c, 1, 0), 1);
    CHECK_EQ(c, 'k');
    CHECK_EQ(rsock_sleep(rsock_now() + 20), 0); /* poll a while longer */
    CHECK_EQ(rsock_send(peer, "x", 1, 0), 1);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    rsock_close(inherited);
    rsock_close(peer);
}

/* ---- close: the poller forgets every closed descriptor ----
 * rsock_close leaves the deregistering to close(2) when no one else holds
 * the file, and removes the descriptor itself when someone may: a dup of
 * rsock_fd's descriptor, a child forked after the device was made.  Either
 * way, this thread's epoll instance lists it no more (its fdinfo). */

/* Is fd registered with this thread's epoll instance? */
static bool registered(int fd)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", rsock__sched_get()->poll_fd);
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    bool found = false;
    int tfd;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "tfd: %d", &tfd) == 1 && tfd == fd)
            found = true;
    fclose(f);
    return found;
}

static void test_close_alone(void)
{
    rsock_t *s;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &s) == 0);
    int fd = s->fd;
    CHECK(registered(fd));
    CHECK_EQ(rsock_close(s), 0);
    CHECK(!registered(fd));
}

static void test_close_after_rsock_fd_dup(void)
{
    rsock_t *s;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &s) == 0);
    int fd = rsock_fd(s), copy = dup(fd); /* the file outlives the close */
    REQUIRE(copy >= 0);
    CHECK_EQ(rsock_close(s), 0);
    CHECK(!registered(fd));
    close(copy);
}

static void test_close_after_fork(void)
{
    rsock_t *before, *after;
    int go[2];
    REQUIRE(pipe(go) == 0);
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &before) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) { /* holds `before`'s file until the parent says */
        char c;
        close(go[1]);
        _exit(read(go[0], &c, 1) == 0 ? 0 : 1);
    }
    close(go[0]);
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &after) == 0); /* made after: its own */
    int fd_before = before->fd, fd_after = after->fd;
    CHECK_EQ(rsock_close(before), 0);
    CHECK(!registered(fd_before));
    CHECK_EQ(rsock_close(after), 0);
    CHECK(!registered(fd_after));
    close(go[1]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    rsock_yield();
    int fds = check_fd_count();
    RUN(test_resolution_off_the_loop);
    RUN(test_threads_side_by_side);
    RUN(test_fork_gives_the_child_its_own_loop);
    RUN(test_close_alone);
    RUN(test_close_after_rsock_fd_dup);
    RUN(test_close_after_fork);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
