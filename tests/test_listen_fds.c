/* rsock_listen_fds with real sockets at descriptors 3 and 4, as systemd
 * passes them: each case runs in a child process of its own (the sockets
 * are dup2'd over 3 and 4 before the child's loop exists, and the
 * environment it changes is its own).  Adoption, close-on-exec, the
 * variables unset, max, another process's variables, and every bad value
 * refused with nothing changed; no descriptor leaks. */
#include "check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

/* A listening TCP socket on 127.0.0.1, port 0, blocking and inheritable
 * (as a service manager's). */
static int tcp_listener(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    REQUIRE(listen(fd, 8) == 0);
    return fd;
}

/* Make descriptor `at` free: one the test harness left there (ctest may
 * pass one) is moved up, not lost. */
static void free_fd(int at)
{
    if (fcntl(at, F_GETFD) >= 0) {
        REQUIRE(fcntl(at, F_DUPFD_CLOEXEC, 100) >= 100);
        close(at);
    }
}

/* Put `fd` at descriptor `at`, without close-on-exec. */
static void place(int fd, int at)
{
    free_fd(at);
    REQUIRE(dup2(fd, at) == at);
    close(fd);
}

/* The child's setup: a TCP listener at 3 and a UDP socket at 4. */
static void pass_two(void)
{
    int udp = socket(AF_INET, SOCK_DGRAM, 0);
    REQUIRE(udp >= 0);
    int tcp = tcp_listener();
    int high_tcp = fcntl(tcp, F_DUPFD, 20), high_udp = fcntl(udp, F_DUPFD, 20);
    REQUIRE(high_tcp >= 20 && high_udp >= 20);
    close(tcp);
    close(udp);
    place(high_tcp, 3);
    place(high_udp, 4);
}

static void set_env(const char *pid, const char *fds)
{
    char own[32];
    if (!pid) {
        snprintf(own, sizeof own, "%d", (int)getpid());
        pid = own;
    }
    REQUIRE(setenv("LISTEN_PID", pid, 1) == 0);
    if (fds)
        REQUIRE(setenv("LISTEN_FDS", fds, 1) == 0);
    else
        unsetenv("LISTEN_FDS");
    REQUIRE(setenv("LISTEN_FDNAMES", "web:dns", 1) == 0);
}

static bool cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC);
}

static bool env_cleared(void)
{
    return !getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES");
}

/* Run fn in a child with its own descriptors and environment; its failed
 * checks count here. */
static void in_child(void (*fn)(void))
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        fn();
        _exit(check_failures ? 1 : 0);
    }
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
}

/* The adopted listener serves: a client connects, it accepts. */
static void serves(rsock_t *lst)
{
    rsock_addr where;
    rsock_t *cli, *srv;
    REQUIRE(rsock_getsockname(lst, &where) == 0);
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &cli) == 0);
    CHECK_EQ(rsock_connect_wait(cli, &where, rsock_after(5000)), 0);
    CHECK_EQ(rsock_accept_wait(lst, NULL, &srv, rsock_after(5000)), 0);
    CHECK_EQ(rsock_write_all(cli, "hi", 2, rsock_after(5000)), 2);
    char buf[2];
    CHECK_EQ(rsock_read_full(srv, buf, 2, NULL, rsock_after(5000)), 2);
    rsock_close(cli);
    rsock_close(srv);
}

static void adopts_both(void)
{
    pass_two();
    rsock_t *warm; /* the loop exists before the count */
    REQUIRE(rsock_socket(AF_INET, SOCK_DGRAM, 0, &warm) == 0);
    rsock_close(warm);
    set_env(NULL, "2");
    int fds = check_fd_count();
    rsock_t *got[8] = {NULL};
    CHECK_EQ(rsock_listen_fds(got, 8), 2);
    REQUIRE(got[0] && got[1]);
    CHECK_EQ(rsock_fd(got[0]), 3);
    CHECK_EQ(rsock_fd(got[1]), 4);
    CHECK_EQ(rsock_type(got[0]), SOCK_STREAM);
    CHECK_EQ(rsock_type(got[1]), SOCK_DGRAM);
    CHECK(cloexec(3) && cloexec(4));
    CHECK(fcntl(3, F_GETFL) & O_NONBLOCK);
    CHECK(env_cleared());
    CHECK(!got[2]);
    serves(got[0]);
    CHECK_EQ(rsock_listen_fds(got, 8), 0); /* consumed */
    rsock_close(got[0]);
    rsock_close(got[1]);
    CHECK_EQ(check_fd_count(), fds - 2);
}
static void test_adopts_both(void) { in_child(adopts_both); }

static void max_leaves_the_rest(void)
{
    pass_two();
    set_env(NULL, "2");
    rsock_t *got[1];
    CHECK_EQ(rsock_listen_fds(got, 1), 1);
    CHECK_EQ(rsock_fd(got[0]), 3);
    CHECK(cloexec(3));
    CHECK(fcntl(4, F_GETFD) == 0); /* open, untouched: still inheritable */
    CHECK(!(fcntl(4, F_GETFL) & O_NONBLOCK));
    CHECK(env_cleared());
    rsock_close(got[0]);
    close(4);
}
static void test_max_leaves_the_rest(void) { in_child(max_leaves_the_rest); }

static void max_zero_adopts_none(void)
{
    pass_two();
    set_env(NULL, "2");
    rsock_t *got[1] = {NULL};
    CHECK_EQ(rsock_listen_fds(got, 0), 0);
    CHECK(!got[0]);
    CHECK(fcntl(3, F_GETFD) == 0 && fcntl(4, F_GETFD) == 0);
    CHECK(env_cleared());
    close(3);
    close(4);
}
static void test_max_zero_adopts_none(void) { in_child(max_zero_adopts_none); }

/* The variables name the parent (inherited by a child that is not the
 * service): nothing adopted, nothing changed. */
static void another_process(void)
{
    pass_two();
    char parent[32];
    snprintf(parent, sizeof parent, "%d", (int)getppid());
    set_env(parent, "2");
    rsock_t *got[2] = {NULL, NULL};
    CHECK_EQ(rsock_listen_fds(got, 2), 0);
    CHECK(!got[0] && !got[1]);
    CHECK(fcntl(3, F_GETFD) == 0 && fcntl(4, F_GETFD) == 0);
    CHECK_STR(getenv("LISTEN_PID"), parent);
    CHECK_STR(getenv("LISTEN_FDS"), "2");
    close(3);
    close(4);
}
static void test_another_process(void) { in_child(another_process); }

static void none_passed(void)
{
    rsock_t *got[2];
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    CHECK_EQ(rsock_listen_fds(got, 2), 0);
    set_env(NULL, NULL); /* ours, without LISTEN_FDS */
    CHECK_EQ(rsock_listen_fds(got, 2), 0);
    CHECK(env_cleared());
    set_env(NULL, "0");
    CHECK_EQ(rsock_listen_fds(got, 2), 0);
    CHECK(env_cleared());
}
static void test_none_passed(void) { in_child(none_passed); }

/* A refused value: -EINVAL naming the variable, the variables kept, the
 * descriptors untouched. */
static void refused(const char *pid, const char *fds, const char *part)
{
    rsock_t *got[2] = {NULL, NULL};
    set_env(pid, fds);
    CHECK_ERR(rsock_listen_fds(got, 2), EINVAL, part);
    CHECK(!got[0] && !got[1]);
    CHECK(getenv("LISTEN_PID") && getenv("LISTEN_FDNAMES"));
    CHECK(fcntl(3, F_GETFD) == 0 && fcntl(4, F_GETFD) == 0);
}

static void bad_values(void)
{
    pass_two();
    const char *bad_pids[] = {"", "abc", "12x", "-5", "+5", " 5", "0", "0x10",
                              "99999999999999999999", "2147483648"};
    for (size_t i = 0; i < sizeof bad_pids / sizeof *bad_pids; i++)
        refused(bad_pids[i], "2", "is not a process id");
    const char *bad_counts[] = {"", "two", "-1", "+2", "2 ", "1e3", "2147483645", "9999999999"};
    for (size_t i = 0; i < sizeof bad_counts / sizeof *bad_counts; i++)
        refused(NULL, bad_counts[i], "is not a count of descriptors");
    CHECK_ERR(rsock_listen_fds(NULL, 2), EINVAL, "NULL out");
    close(3);
    close(4);
}
static void test_bad_values(void) { in_child(bad_values); }

/* A descriptor that is not a socket, or not open: its number said,
 * nothing adopted (the socket before it keeps its flags). */
static void not_a_socket(void)
{
    int tcp = tcp_listener(), high = fcntl(tcp, F_DUPFD, 20);
    close(tcp);
    int pipe_fds[2];
    REQUIRE(pipe(pipe_fds) == 0);
    int high_r = fcntl(pipe_fds[0], F_DUPFD, 20);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    place(high, 3);
    place(high_r, 4);
    rsock_t *got[3] = {NULL, NULL, NULL};
    set_env(NULL, "2");
    CHECK_ERR(rsock_listen_fds(got, 3), ENOTSOCK, "fd 4 (LISTEN_FDS=2) is not a socket");
    CHECK(!got[0] && !got[1]);
    CHECK(fcntl(3, F_GETFD) == 0); /* not adopted */
    CHECK(getenv("LISTEN_PID") != NULL);
    close(4);
    REQUIRE(dup2(3, 4) == 4);
    set_env(NULL, "3"); /* fd 5 is not open */
    free_fd(5);
    CHECK_ERR(rsock_listen_fds(got, 3), EBADF, "rsock_listen_fds: fd 5 (LISTEN_FDS=3)");
    CHECK(fcntl(3, F_GETFD) == 0 && fcntl(4, F_GETFD) == 0);
    CHECK_EQ(rsock_listen_fds(got, 2), 2); /* max 2: fd 5 is never looked at */
    rsock_close(got[0]);
    rsock_close(got[1]);
}
static void test_not_a_socket(void) { in_child(not_a_socket); }

int main(void)
{
    /* No rsock call here before the children: descriptors 3 and 4 must be
     * free in each of them (the loop is made in the child, after). */
    int fds = check_fd_count();
    RUN(test_adopts_both);
    RUN(test_max_leaves_the_rest);
    RUN(test_max_zero_adopts_none);
    RUN(test_another_process);
    RUN(test_none_passed);
    RUN(test_bad_values);
    RUN(test_not_a_socket);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
