/* Fibers and waiting: spawn/join/yield/sleep/run/cancel, timers in deadline
 * order, waits on real sockets, close waking waiters, bad input. */
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

static char trace[64];
static size_t trace_len;
static void mark(char c) { trace[trace_len++] = c; }

static void mark_a(void *arg) { (void)arg; mark('a'); rsock_yield(); mark('c'); }
static void mark_b(void *arg) { (void)arg; mark('b'); rsock_yield(); mark('d'); }

static void test_yield_order(void)
{
    trace_len = 0;
    rsock_fiber *a, *b;
    REQUIRE(rsock_spawn(mark_a, NULL, &a) == 0);
    REQUIRE(rsock_spawn(mark_b, NULL, &b) == 0);
    CHECK_EQ(rsock_join(a, -1), 0);
    CHECK_EQ(rsock_join(b, -1), 0);
    trace[trace_len] = 0;
    CHECK_STR(trace, "abcd");
}

static int64_t timers_start; /* one origin for every sleeper's deadline */

static void sleeper(void *arg)
{
    int64_t delay = (int64_t)(intptr_t)arg;
    CHECK_EQ(rsock_sleep(timers_start + delay), 0);
    mark((char)('0' + delay / 10));
}

static void test_timers_in_deadline_order(void)
{
    trace_len = 0;
    int delays[] = {30, 10, 20, 10};
    int64_t start = timers_start = rsock_now(); /* not each fiber's own now: under
                                                 * valgrind on a loaded machine they
                                                 * started up to 10 ms apart */
    for (size_t i = 0; i < 4; i++)
        REQUIRE(rsock_spawn(sleeper, (void *)(intptr_t)delays[i], NULL) == 0);
    CHECK_EQ(rsock_run(), 0);
    trace[trace_len] = 0;
    CHECK_STR(trace, "1123");
    CHECK(rsock_now() - start >= 30);
}

static void returns_at_once(void *arg) { *(int *)arg = 1; }

static void test_join_errors(void)
{
    int ran = 0;
    rsock_fiber *f;
    REQUIRE(rsock_spawn(returns_at_once, &ran, &f) == 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(ran, 1);
    CHECK_ERR(rsock_join(f, -1), EINVAL, "rsock_join");   /* already joined */
    CHECK_ERR(rsock_join(NULL, -1), EINVAL, "rsock_join");
    CHECK_ERR(rsock_spawn(NULL, NULL, NULL), EINVAL, "NULL function");
    CHECK_ERR(rsock_cancel(NULL), EINVAL, "rsock_cancel");
    CHECK_ERR(rsock_set_stack_size(1024), EINVAL, "rsock_set_stack_size");
}

static void sleeps_long(void *arg) { *(int *)arg = rsock_sleep(rsock_now() + 60000); }

static void test_join_timeout_and_cancel(void)
{
    int result = 1;
    rsock_fiber *f;
    REQUIRE(rsock_spawn(sleeps_long, &result, &f) == 0);
    CHECK_ERR(rsock_join(f, rsock_now() + 20), ETIMEDOUT, "timed out");
    CHECK_ERR(rsock_join(f, 0), ETIMEDOUT, "still running");
    CHECK_EQ(rsock_cancel(f), 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(result, -ECANCELED);
}

static rsock_t *pair[2];
static int waiter_result;

static void waits_in(void *arg)
{
    (void)arg;
    waiter_result = rsock_wait_in(pair[0], rsock_now() + 10000);
}

static void test_close_wakes_waiter(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &pair[0]) == 0 && rsock_fdopen(sv[1], &pair[1]) == 0);
    char c;
    CHECK_EQ(rsock_recv(pair[0], &c, 1, 0), -EAGAIN);
    CHECK_ERR(rsock_wait_in(pair[0], 0), ETIMEDOUT, "not ready");
    rsock_fiber *f;
    REQUIRE(rsock_spawn(waits_in, NULL, &f) == 0);
    rsock_yield(); /* let it park */
    rsock_close(pair[0]);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(waiter_result, -ECANCELED);
    rsock_close(pair[1]);
    CHECK_ERR(rsock_wait_in(NULL, -1), EINVAL, "NULL");
    CHECK_ERR(rsock_wait_out(NULL, -1), EINVAL, "NULL");
}

enum { ROUNDS = 2000 };

static void ponger(void *arg)
{
    rsock_t *s = arg;
    char buf[64];
    for (int i = 0; i < ROUNDS; i++) {
        ssize_t n;
        while ((n = rsock_recv(s, buf, sizeof buf, 0)) == -EAGAIN)
            REQUIRE(rsock_wait_in(s, rsock_now() + 5000) == 0);
        REQUIRE(n == 64);
        REQUIRE(rsock_send(s, buf, 64, 0) == 64);
    }
}

static void test_ping_pong_between_fibers(void)
{
    int sv[2];
    rsock_t *a, *b;
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], &a) == 0 && rsock_fdopen(sv[1], &b) == 0);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(ponger, b, &f) == 0);
    char buf[64] = "ping";
    int done = 0;
    for (; done < ROUNDS; done++) {
        REQUIRE(rsock_send(a, buf, 64, 0) == 64);
        ssize_t n;
        while ((n = rsock_recv(a, buf, sizeof buf, 0)) == -EAGAIN)
            REQUIRE(rsock_wait_in(a, rsock_now() + 5000) == 0);
        if (n != 64)
            break;
    }
    CHECK_EQ(done, ROUNDS);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_close(a);
    rsock_close(b);
}

static int counter;
static void count_up(void *arg) { (void)arg; counter++; rsock_yield(); counter++; }

static void test_ten_thousand_fibers(void)
{
    counter = 0;
    for (int i = 0; i < 10000; i++)
        REQUIRE(rsock_spawn(count_up, NULL, NULL) == 0);
    CHECK_EQ(rsock_run(), 0);
    CHECK_EQ(counter, 20000);
}

static int recurse(int depth)
{
    volatile char pad[1024];
    pad[0] = (char)depth;
    return depth > 1000000 ? pad[0] : recurse(depth + 1) + pad[0];
}
static void overflow(void *arg) { (void)arg; recurse(0); }

/* Issue 13, trap 10: an overflow was a bare "Segmentation fault". */
static void test_stack_overflow_hits_guard(void)
{
    int err[2];
    REQUIRE(pipe(err) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(err[1], 2);
        rsock_spawn(overflow, NULL, NULL);
        rsock_run();
        _exit(0);
    }
    close(err[1]);
    char text[4096] = "";
    size_t used = 0;
    for (ssize_t n; used < sizeof text - 1 && (n = read(err[0], text + used, sizeof text - 1 - used)) > 0;)
        used += (size_t)n;
    close(err[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(strstr(text, "rsock: fiber stack overflow (64 KiB stack; see rsock_set_stack_size)"));
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

static void test_spawn_without_memory(void)
{
    if (getenv("RSOCK_UNDER_QEMU_USER")) /* CI's AArch64 run; the case runs natively too */
        SKIP("under qemu-user, RLIMIT_AS limits the emulator's own memory");
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rlimit lim = {64 << 20, 64 << 20};
        setrlimit(RLIMIT_AS, &lim);
        rsock_set_stack_size(1 << 20);
        for (int i = 0; i < 1000; i++) {
            int rc = rsock_spawn(count_up, NULL, NULL);
            if (rc == -ENOMEM && strstr(rsock_error_message(), "stack"))
                _exit(0);
        }
        _exit(1);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    rsock_yield(); /* make this thread's loop before counting descriptors */
    int fds = check_fd_count();
    RUN(test_yield_order);
    RUN(test_timers_in_deadline_order);
    RUN(test_join_errors);
    RUN(test_join_timeout_and_cancel);
    RUN(test_close_wakes_waiter);
    RUN(test_ping_pong_between_fibers);
    RUN(test_ten_thousand_fibers);
    RUN(test_stack_overflow_hits_guard);
    RUN(test_spawn_without_memory);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
