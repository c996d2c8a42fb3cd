/* Issue 10's library defects and issue 13's traps, each a case that failed
 * before its fix: use after free under a close, cross-thread cancel,
 * overflowing numbers, SIGPIPE during splice, misleading errors at the
 * descriptor limit, thread exit, fdopen's promise, use after close, a
 * duration passed as a deadline, the listen helper's backlog. */
#include "check.h"
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>

static void pair(rsock_t **a, rsock_t **b)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    REQUIRE(rsock_fdopen(sv[0], a) == 0);
    REQUIRE(rsock_fdopen(sv[1], b) == 0);
}

/* ---- 1: a copy parked on a socket another fiber closes ---- */

struct copy_case {
    rsock_t *from, *to;
    int64_t rc;
    char message[256];
};

static void copier(void *arg)
{
    struct copy_case *c = arg;
    c->rc = rsock_copy(c->from, c->to, -1);
    snprintf(c->message, sizeof c->message, "%s", rsock_error_message());
}

static void test_copy_survives_close_of_its_source(void)
{
    struct copy_case c = {0};
    rsock_t *from_peer, *to_peer;
    pair(&c.from, &from_peer);
    pair(&c.to, &to_peer);
    int from_fd = rsock_fd(c.from);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(copier, &c, &f) == 0);
    rsock_yield(); /* the copy parks on `from` */
    rsock_close(c.from);
    REQUIRE(rsock_join(f, rsock_after(2000)) == 0);
    CHECK_EQ(c.rc, -ECANCELED);
    char want[64];
    snprintf(want, sizeof want, "rsock_copy fd %d -> fd", from_fd);
    CHECK(strstr(c.message, want) != NULL); /* not a number read from freed memory */
    rsock_close(c.to);
    rsock_close(from_peer);
    rsock_close(to_peer);
}

/* ---- 2: a wait whose timer fired, then its socket closed before it ran ---- */

struct timed_read {
    rsock_t *s;
    int64_t deadline;
    ssize_t rc;
    char message[256];
};

static void closer(void *arg)
{
    struct timed_read *t = arg;
    rsock_sleep(t->deadline); /* armed first: wakes first, runs first */
    rsock_close(t->s);
}

static void reader(void *arg)
{
    struct timed_read *t = arg;
    char byte;
    t->rc = rsock_read(t->s, &byte, 1, t->deadline);
    snprintf(t->message, sizeof t->message, "%s", rsock_error_message());
}

static void test_wait_timeout_then_close(void)
{
    rsock_t *peer;
    struct timed_read t = {.deadline = rsock_after(30)};
    pair(&t.s, &peer);
    int fd = rsock_fd(t.s);
    rsock_fiber *a, *b;
    REQUIRE(rsock_spawn(closer, &t, &a) == 0);
    REQUIRE(rsock_spawn(reader, &t, &b) == 0);
    REQUIRE(rsock_join(a, -1) == 0);
    REQUIRE(rsock_join(b, -1) == 0);
    CHECK_EQ(t.rc, -ETIMEDOUT);
    char want[64];
    snprintf(want, sizeof want, "rsock_read fd %d: timed out", fd);
    CHECK_STR(t.message, want);
    rsock_close(peer);
}

/* ---- 10: cancel and join refuse a fiber of another thread ---- */

static void parked_forever(void *arg) { rsock_sleep(*(int64_t *)arg); }

struct foreign {
    rsock_fiber *f;
    int cancel_rc, join_rc;
    char message[256];
};

static void *foreign_thread(void *arg)
{
    struct foreign *x = arg;
    x->cancel_rc = rsock_cancel(x->f);
    snprintf(x->message, sizeof x->message, "%s", rsock_error_message());
    x->join_rc = rsock_join(x->f, 0);
    return NULL;
}

static void test_cancel_from_another_thread(void)
{
    int64_t until = rsock_after(50);
    struct foreign x = {0};
    REQUIRE(rsock_spawn(parked_forever, &until, &x.f) == 0);
    rsock_yield();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, foreign_thread, &x) == 0);
    pthread_join(t, NULL);
    CHECK_EQ(x.cancel_rc, -EINVAL);
    CHECK(strstr(x.message, "another thread") != NULL);
    CHECK_EQ(x.join_rc, -EINVAL);
    CHECK_EQ(rsock_join(x.f, rsock_after(2000)), 0); /* it slept its time, here */
}

/* ---- 11, 12: numbers from the caller ---- */

static void nothing(void *arg) { (void)arg; }

static void test_caller_numbers(void)
{
    CHECK_ERR(rsock_set_stack_size(SIZE_MAX), EINVAL, "rsock_set_stack_size");
    CHECK_ERR(rsock_set_stack_size(((size_t)1 << 30) + 1), EINVAL, "bytes");
    rsock_fiber *f;
    CHECK_EQ(rsock_spawn(nothing, NULL, &f), 0); /* the size in force is still good */
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK(rsock_strerror(INT_MIN) != NULL);
    CHECK(rsock_strerror(INT_MAX) != NULL);
    CHECK_EQ(rsock_after(-5), -1);
    CHECK_EQ(rsock_after(INT64_MAX), INT64_MAX);
    int64_t now = rsock_now();
    CHECK(rsock_after(0) >= now && rsock_after(0) <= now + 1000);
}

static void writer_then_eof(void *arg)
{
    rsock_t *s = arg;
    rsock_write_all(s, "hello", 5, -1);
    rsock_shutdown(s, SHUT_WR);
}

static void test_copy_idle_near_int64_max(void)
{
    rsock_t *a, *a_peer, *b, *b_peer;
    pair(&a, &a_peer);
    pair(&b, &b_peer);
    REQUIRE(rsock_spawn(writer_then_eof, a_peer, NULL) == 0);
    CHECK_EQ(rsock_copy_with(a, b, -1, INT64_MAX, 0), 5);
    CHECK_EQ(rsock_copy_with(a, b, INT64_MAX, INT64_MAX - 1, 0), -EBADF); /* b shut down */
    char buf[8];
    CHECK_EQ(rsock_read(b_peer, buf, sizeof buf, rsock_after(2000)), 5);
    rsock_close(a), rsock_close(a_peer), rsock_close(b), rsock_close(b_peer);
}

/* ---- 14: SIGPIPE's default restored while a splice copy runs ---- */

struct splice_case {
    rsock_t *from, *to, *to_peer;
    int64_t rc;
};

static void splice_copier(void *arg)
{
    struct splice_case *c = arg;
    c->rc = rsock_copy_with(c->from, c->to, rsock_after(5000), 0, RSOCK_COPY_SPLICE);
}

static void sigpipe_child(void)
{
    signal(SIGPIPE, SIG_IGN);
    struct splice_case c;
    rsock_t *from_peer;
    pair(&c.from, &from_peer);
    pair(&c.to, &c.to_peer);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(splice_copier, &c, &f) == 0);
    static char chunk[65536];
    rsock_write_all(from_peer, chunk, sizeof chunk, -1);
    rsock_yield();
    signal(SIGPIPE, SIG_DFL); /* the program changes its mind mid-copy */
    rsock_close(c.to_peer);   /* the next move meets a closed reader */
    for (int i = 0; i < 16 && rsock_write_all(from_peer, chunk, sizeof chunk, rsock_after(500)) > 0; i++)
        rsock_yield();
    rsock_join(f, rsock_after(5000));
    _exit(c.rc == -EPIPE || c.rc == -ECONNRESET ? 0 : 3);
}

static void test_splice_never_raises_sigpipe(void)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0)
        sigpipe_child();
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(!WIFSIGNALED(status)); /* was: killed by SIGPIPE (exit 141 in a shell) */
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- 15: errors at the descriptor limit say what they are ---- */

struct at_limit {
    int spawn_rc, parse_rc;
    char spawn_msg[256], parse_msg[256];
};

static void *new_thread_at_limit(void *arg)
{
    struct at_limit *x = arg;
    x->spawn_rc = rsock_spawn(nothing, NULL, NULL);
    snprintf(x->spawn_msg, sizeof x->spawn_msg, "%s", rsock_error_message());
    rsock_addr a;
    x->parse_rc = rsock_addr_parse(&a, "localhost:80");
    snprintf(x->parse_msg, sizeof x->parse_msg, "%s", rsock_error_message());
    return NULL;
}

static void limit_child(void)
{
    pthread_t t;
    struct at_limit x;
    while (dup(0) >= 0) /* every descriptor taken */
        ;
    if (pthread_create(&t, NULL, new_thread_at_limit, &x) != 0)
        _exit(4);
    pthread_join(t, NULL);
    int bad = 0;
    bad |= x.spawn_rc != -EMFILE || !strstr(x.spawn_msg, "epoll_create1");
    bad |= (x.parse_rc != -EMFILE) << 1;
    if (bad)
        fprintf(stderr, "spawn %d \"%s\"; parse %d \"%s\"\n", x.spawn_rc, x.spawn_msg,
                x.parse_rc, x.parse_msg);
    _exit(bad);
}

static void test_descriptor_limit_errors(void)
{
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        struct rlimit r = {64, 64};
        setrlimit(RLIMIT_NOFILE, &r);
        limit_child();
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- 17: a thread that exits before its sockets, or mid-lookup ---- */

static void *make_socket_and_exit(void *arg)
{
    rsock_socket(AF_INET, SOCK_STREAM, 0, arg);
    return NULL;
}

static void test_socket_outlives_its_thread(void)
{
    rsock_t *s = NULL;
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, make_socket_and_exit, &s) == 0);
    pthread_join(t, NULL);
    REQUIRE(s != NULL);
    CHECK_EQ(rsock_close(s), 0); /* was: its loop's memory, freed at thread exit */
}

static void slow_lookup(void *arg)
{
    (void)arg;
    rsock_addr a;
    rsock_addr_parse(&a, "localhost:80");
}

static void *exit_during_lookup(void *arg)
{
    (void)arg;
    rsock_spawn(slow_lookup, NULL, NULL);
    rsock_sleep(rsock_after(50)); /* the lookup is under way, then this thread ends */
    return NULL;
}

static void test_thread_exit_does_not_wait_for_lookup(void)
{
    __atomic_store_n(&rsock__resolve_test_delay_ms, 5000, __ATOMIC_RELAXED);
    int fds = check_fd_count();
    int64_t began = rsock_now();
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, exit_during_lookup, NULL) == 0);
    pthread_join(t, NULL);
    /* was: the whole lookup (5 s); the margin is for a loaded host (under
     * 1 s failed at load average 60 with a 1.5 s lookup) */
    CHECK(rsock_now() - began < 3000);
    /* The helper ends on its own and closes its eventfd: nothing leaks. */
    for (int64_t end = rsock_after(10000); check_fd_count() != fds && rsock_now() < end;)
        rsock_sleep(rsock_after(20));
    CHECK_EQ(check_fd_count(), fds);
    __atomic_store_n(&rsock__resolve_test_delay_ms, 0, __ATOMIC_RELAXED);
}

static void test_fdopen_refused_leaves_fd_untouched(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    rsock_t *s;
    REQUIRE(rsock_fdopen(fd, &s) == 0);
    fcntl(fd, F_SETFL, 0);
    fcntl(fd, F_SETFD, 0);
    rsock_t *again;
    CHECK(rsock_fdopen(fd, &again) < 0); /* already in this loop */
    CHECK_EQ(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    CHECK_EQ(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    rsock_close(s);
}

/* ---- issue 13's traps ---- */

static void test_duration_as_deadline(void)
{
    rsock_t *a, *b;
    pair(&a, &b);
    char buf[8];
    REQUIRE(rsock_now() > 6000); /* a monotonic clock past its first seconds */
    CHECK_ERR(rsock_read(a, buf, sizeof buf, 5000), ETIMEDOUT,
              "deadline 5000 is in the past (now ");
    CHECK(strstr(rsock_error_message(), "a duration? use rsock_after(5000)") != NULL);
    CHECK_ERR(rsock_wait_in(a, 5000), ETIMEDOUT, "use rsock_after(5000)");
    CHECK_ERR(rsock_read(a, buf, sizeof buf, rsock_after(10)), ETIMEDOUT, "timed out");
    CHECK(strstr(rsock_error_message(), "duration") == NULL);
    rsock_close(a), rsock_close(b);
}

static void test_listen_on_default_backlog(void)
{
    rsock_t *l;
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    rsock_addr at;
    REQUIRE(rsock_getsockname(l, &at) == 0);
    enum { CLIENTS = 200 };
    static rsock_t *c[CLIENTS];
    int connected = 0;
    for (int i = 0; i < CLIENTS; i++) /* none accepted: all wait in the backlog */
        if (rsock_socket(AF_INET, SOCK_STREAM, 0, &c[i]) == 0 &&
            rsock_connect_wait(c[i], &at, rsock_after(1000)) == 0)
            connected++;
    CHECK_EQ(connected, CLIENTS); /* was: 11 with the reference's backlog of 10 */
    for (int i = 0; i < CLIENTS; i++)
        rsock_close(c[i]);
    rsock_close(l);
}

static void test_use_after_close(void)
{
    rsock_t *a, *b;
    pair(&a, &b);
    CHECK_EQ(rsock_close(a), 0);
    char buf[4];
    CHECK_ERR(rsock_read(a, buf, sizeof buf, -1), EBADF, "use of a closed socket");
    CHECK_ERR(rsock_recv(a, buf, sizeof buf, 0), EBADF, "use of a closed socket");
    CHECK_ERR(rsock_send(a, "x", 1, 0), EBADF, "rsock_send");
    CHECK_ERR(rsock_wait_in(a, 0), EBADF, "rsock_wait_in");
    CHECK_ERR(rsock_fd(a), EBADF, "rsock_fd");
    CHECK_ERR(rsock_close(a), EBADF, "closed twice");
    rsock_close(b);
}

static void test_family_names_in_messages(void)
{
    rsock_t *s;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &s) == 0);
    rsock_addr a;
    REQUIRE(rsock_addr_parse(&a, "[::1]:0") == 0);
    CHECK_ERR(rsock_bind(s, &a), EAFNOSUPPORT, "address family AF_INET6, socket family AF_INET");
    rsock_close(s);
}

/* Control data whose headers lie is refused before the kernel (or a
 * sanitizer's interceptor, which hung on a length of 0) reads it. */
static void test_lying_control_headers(void)
{
    rsock_t *a, *b;
    pair(&a, &b);
    union { char buf[64]; struct cmsghdr h; } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec iov = {"x", 1};
    ctl.h.cmsg_len = 0;
    CHECK_ERR(rsock_sendmsg(a, NULL, &iov, 1, ctl.buf, sizeof ctl.buf, 0), EINVAL,
              "rsock_sendmsg fd");
    CHECK(strstr(rsock_error_message(), "control data") != NULL);
    ctl.h.cmsg_len = SIZE_MAX / 2;
    CHECK_ERR(rsock_sendmsg(a, NULL, &iov, 1, ctl.buf, sizeof ctl.buf, 0), EINVAL, "says");
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf,
                       .msg_controllen = sizeof ctl.buf};
    CHECK_ERR(rsock_sendmsg_raw(a, &m, 0), EINVAL, "rsock_sendmsg_raw fd");
    /* SCM_RIGHTS with a 4-byte tail past its padded header: accepted, as
     * the kernel accepts it */
    int fd = dup(0);
    ctl.h = (struct cmsghdr){.cmsg_len = CMSG_LEN(sizeof fd), .cmsg_level = SOL_SOCKET,
                             .cmsg_type = SCM_RIGHTS};
    memcpy(CMSG_DATA(&ctl.h), &fd, sizeof fd);
    CHECK_EQ(rsock_sendmsg(a, NULL, &iov, 1, ctl.buf, CMSG_SPACE(sizeof fd) + 4, 0), 1);
    close(fd);
    char got[4];
    union { char buf[64]; struct cmsghdr h; } in;
    size_t inlen = sizeof in.buf;
    struct iovec riov = {got, sizeof got};
    CHECK_EQ(rsock_recvmsg(b, NULL, &riov, 1, in.buf, &inlen, 0, NULL), 1);
    int passed = -1;
    if (inlen >= CMSG_LEN(sizeof passed))
        memcpy(&passed, CMSG_DATA(&in.h), sizeof passed);
    CHECK(passed >= 0);
    if (passed >= 0)
        close(passed);
    rsock_close(a), rsock_close(b);
}

int main(void)
{
    rsock_t *warm;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &warm) == 0); /* this thread's loop */
    rsock_close(warm);
    int fds = check_fd_count();
    RUN(test_copy_survives_close_of_its_source);
    RUN(test_wait_timeout_then_close);
    RUN(test_cancel_from_another_thread);
    RUN(test_caller_numbers);
    RUN(test_copy_idle_near_int64_max);
    RUN(test_splice_never_raises_sigpipe);
    RUN(test_descriptor_limit_errors);
    RUN(test_socket_outlives_its_thread);
    RUN(test_thread_exit_does_not_wait_for_lookup);
    RUN(test_fdopen_refused_leaves_fd_untouched);
    RUN(test_duration_as_deadline);
    RUN(test_listen_on_default_backlog);
    RUN(test_use_after_close);
    RUN(test_family_names_in_messages);
    RUN(test_lying_control_headers);
    rsock__io_pool_drain();
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
