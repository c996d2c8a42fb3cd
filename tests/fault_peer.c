/* fault_peer: misbehaving peers and loads for the proxy's tests, written
 * with plain blocking POSIX sockets so they do not depend on rsock.
 *   fault_peer reset PORT         accept one connection, send 64 KiB, then RST
 *   fault_peer answer PORT        accept one, read to end of stream, answer
 *                                 "got N bytes" and close
 *   fault_peer flood PORT BYTES   accept one, send BYTES as fast as accepted
 *   fault_peer floods PORT BYTES  accept any number, a thread each sending
 *                                 BYTES, then closing
 *   fault_peer oneshot PORT BYTES accept any number, send each BYTES, close
 *   fault_peer hold PORT N SECS   connect N clients to PORT, hold them SECS
 *   fault_peer stall PORT N SECS  connect N clients with 4 KiB receive
 *                                 buffers that send nothing and read nothing
 *                                 until SIGUSR1, then read each to its end
 *                                 (end of stream or error) within SECS and
 *                                 print "ended E of N, B bytes" (exit 1 if
 *                                 one never ended)
 *   fault_peer unixname PATH NAME connect to Unix PATH from a socket bound
 *                                 to abstract NAME (C escapes \n \e \xNN
 *                                 allowed), send "hi", read to the end
 *   fault_peer churn PORT TOTAL CONC PID [FIRST]
 *                                 TOTAL short connections, CONC at a time:
 *                                 each connects, reads to the end, closes;
 *                                 prints PID's VmRSS after the FIRST
 *                                 (default: a tenth) and at the end, and
 *                                 the failures
 *   fault_peer freeze SECS TID... stop each thread TID of another process
 *                                 (ptrace: only that thread stops, not its
 *                                 process), print "frozen N", and let them
 *                                 go on after SECS or at SIGUSR1
 * Servers listen on 127.0.0.1:PORT (PORT 0: print the port chosen) and print
 * "listening PORT" when ready. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, SOMAXCONN) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        perror("fault_peer: listen"), exit(1);
    printf("listening %d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

static int accept_one(int port)
{
    int l = listen_on(port), c = accept(l, NULL, NULL);
    if (c < 0)
        perror("fault_peer: accept"), exit(1);
    close(l);
    return c;
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n <= 0)
            exit(0); /* the other side went away: that is the test's business */
        buf += n, len -= (size_t)n;
    }
}

static void reset(int port)
{
    static char chunk[65536];
    int c = accept_one(port);
    memset(chunk, 'r', sizeof chunk);
    send_all(c, chunk, sizeof chunk);
    struct linger l = {.l_onoff = 1, .l_linger = 0}; /* close with RST */
    setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(c);
}

static void answer(int port)
{
    char buf[4096], reply[64];
    long total = 0;
    int c = accept_one(port);
    for (ssize_t n; (n = read(c, buf, sizeof buf)) > 0;)
        total += n;
    int len = snprintf(reply, sizeof reply, "got %ld bytes\n", total);
    send_all(c, reply, (size_t)len);
    close(c);
}

static void flood(int port, long bytes)
{
    static char chunk[65536];
    int c = accept_one(port);
    memset(chunk, 'f', sizeof chunk);
    for (long sent = 0; sent < bytes; sent += (long)sizeof chunk)
        send_all(c, chunk, sizeof chunk);
    close(c);
}

static void hold(int port, int n, int secs)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int held = 0;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            held++;
    }
    printf("holding %d\n", held);
    fflush(stdout);
    sleep((unsigned)secs);
}

/* ---- many connections at once ---- */

struct flood_job {
    int fd;
    long bytes;
};

static void *flood_one(void *arg)
{
    static char chunk[65536];
    struct flood_job *j = arg;
    memset(chunk, 'f', sizeof chunk);
    for (long sent = 0; sent < j->bytes;) {
        size_t n = j->bytes - sent < (long)sizeof chunk ? (size_t)(j->bytes - sent) : sizeof chunk;
        ssize_t m = send(j->fd, chunk, n, MSG_NOSIGNAL);
        if (m <= 0)
            break; /* the proxy reset it: that is the test's business */
        sent += m;
    }
    close(j->fd);
    free(j);
    return NULL;
}

static void floods(int port, long bytes)
{
    int l = listen_on(port);
    for (;;) {
        struct flood_job *j = malloc(sizeof *j);
        pthread_t t;
        if (!j || (j->fd = accept(l, NULL, NULL)) < 0)
            perror("fault_peer: accept"), exit(1);
        j->bytes = bytes;
        if (pthread_create(&t, NULL, flood_one, j) != 0)
            perror("fault_peer: thread"), exit(1);
        pthread_detach(t);
    }
}

static void oneshot(int port, long bytes)
{
    static char reply[65536];
    int l = listen_on(port);
    memset(reply, 'o', sizeof reply);
    if (bytes > (long)sizeof reply)
        bytes = sizeof reply;
    for (;;) {
        int c = accept(l, NULL, NULL);
        if (c < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ECONNABORTED || errno == EINTR)
                continue;
            perror("fault_peer: accept"), exit(1);
        }
        if (send(c, reply, (size_t)bytes, MSG_NOSIGNAL) < 0) {
            /* the client left first: nothing to do */
        }
        close(c);
    }
}

static int connect_port(int port, int rcvbuf)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static volatile sig_atomic_t go;
static void on_usr1(int sig)
{
    (void)sig, go = 1;
}

/* Read every connection until it ends (0 or an error); -1 marks ended. */
static int read_to_ends(int *fds, int n, double until, long *bytes)
{
    static char buf[65536];
    struct pollfd *p = calloc((size_t)n, sizeof *p);
    int ended = 0;
    for (int i = 0; i < n; i++)
        p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    while (ended < n && now_s() < until) {
        if (poll(p, (nfds_t)n, 100) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < n; i++) {
            if (p[i].fd < 0 || !p[i].revents)
                continue;
            ssize_t m = recv(p[i].fd, buf, sizeof buf, 0);
            if (m > 0) {
                *bytes += m;
                continue;
            }
            if (m < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            close(p[i].fd);
            p[i].fd = -1, ended++;
        }
    }
    free(p);
    return ended;
}

static void stall(int port, int n, int secs)
{
    int *fds = calloc((size_t)n, sizeof *fds), held = 0;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old); /* delivered only inside sigsuspend */
    signal(SIGUSR1, on_usr1);
    for (int i = 0; i < n; i++)
        if ((fds[held] = connect_port(port, 4096)) >= 0)
            held++;
    printf("stalling %d\n", held);
    fflush(stdout);
    while (!go)
        sigsuspend(&old); /* the test signals once the proxy has run short */
    long bytes = 0;
    int ended = read_to_ends(fds, held, now_s() + secs, &bytes);
    printf("ended %d of %d, %ld bytes\n", ended, held, bytes);
    exit(ended == held && held == n ? 0 : 1);
}

/* "\n", "\e", "\xNN" and plain bytes; returns the length. */
static size_t unescape(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n < cap; in++) {
        if (*in != '\\' || !in[1]) {
            out[n++] = *in;
        } else if (in[1] == 'n' || in[1] == 'e') {
            out[n++] = in[1] == 'n' ? '\n' : 27, in++;
        } else if (in[1] == 'x' && in[2] && in[3]) {
            char hex[3] = {in[2], in[3], 0};
            out[n++] = (char)strtol(hex, NULL, 16), in += 3;
        } else {
            out[n++] = *in;
        }
    }
    return n;
}

static void unixname(const char *path, const char *name)
{
    struct sockaddr_un me = {.sun_family = AF_UNIX}, to = {.sun_family = AF_UNIX};
    size_t len = unescape(name, me.sun_path + 1, sizeof me.sun_path - 1);
    snprintf(to.sun_path, sizeof to.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t mylen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len);
    if (fd < 0 || bind(fd, (struct sockaddr *)&me, mylen) < 0 ||
        connect(fd, (struct sockaddr *)&to, sizeof to) < 0)
        perror("fault_peer: unixname"), exit(1);
    send_all(fd, "hi", 2);
    shutdown(fd, SHUT_WR);
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0) {
    }
    close(fd);
}

/* ---- churn: short connections, counted ---- */

static struct {
    int port;
    long total, next, done, failures;
    pthread_mutex_t lock;
} churn_state = {.lock = PTHREAD_MUTEX_INITIALIZER};

static long rss_kib(int pid)
{
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* One short connection: connect, read to the end, close; true if it ended cleanly. */
static bool churn_one(int port)
{
    char buf[4096];
    int fd = connect_port(port, 0);
    if (fd < 0)
        return false;
    ssize_t n, total = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        total += n;
    close(fd);
    return n == 0 && total > 0;
}

static void *churn_worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&churn_state.lock);
        bool more = churn_state.next < churn_state.total;
        churn_state.next += more;
        pthread_mutex_unlock(&churn_state.lock);
        if (!more)
            return NULL;
        bool ok = churn_one(churn_state.port);
        pthread_mutex_lock(&churn_state.lock);
        churn_state.done++;
        churn_state.failures += !ok;
        pthread_mutex_unlock(&churn_state.lock);
    }
}

static long churn_done(void)
{
    pthread_mutex_lock(&churn_state.lock);
    long d = churn_state.done;
    pthread_mutex_unlock(&churn_state.lock);
    return d;
}

static void churn(int port, long total, int conc, int pid, long first_count)
{
    pthread_t *t = calloc((size_t)conc, sizeof *t);
    churn_state.port = port, churn_state.total = total;
    double t0 = now_s();
    for (int i = 0; i < conc; i++)
        pthread_create(&t[i], NULL, churn_worker, NULL);
    long first = -1;
    while (churn_done() < total) {
        if (first < 0 && churn_done() >= first_count) {
            first = rss_kib(pid);
            printf("rss_kib_after_first %ld %ld\n", churn_done(), first);
            fflush(stdout);
        }
        usleep(10000);
    }
    for (int i = 0; i < conc; i++)
        pthread_join(t[i], NULL);
    free(t);
    double secs = now_s() - t0;
    printf("connections %ld failures %ld seconds %.1f conns_per_s %.0f rss_kib_end %ld\n",
           churn_state.done, churn_state.failures, secs, churn_state.done / secs, rss_kib(pid));
}

/* A seize and an interrupt stop the one thread (a SIGSTOP would stop its
 * whole process); the detach lets it go on where it was. */
static void freeze(int secs, char **tids, int n)
{
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    for (int i = 0; i < n; i++) {
        pid_t tid = (pid_t)atoi(tids[i]);
        int status;
        if (ptrace(PTRACE_SEIZE, tid, 0, 0) < 0 || ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 ||
            waitpid(tid, &status, __WALL) != tid)
            perror("fault_peer: freeze"), exit(1);
    }
    printf("frozen %d\n", n);
    fflush(stdout);
    struct timespec limit = {secs, 0};
    sigtimedwait(&usr1, NULL, &limit);
    for (int i = 0; i < n; i++)
        ptrace(PTRACE_DETACH, (pid_t)atoi(tids[i]), 0, 0);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "reset") == 0)
        reset(atoi(argv[2]));
    else if (argc >= 3 && strcmp(argv[1], "answer") == 0)
        answer(atoi(argv[2]));
    else if (argc >= 4 && strcmp(argv[1], "flood") == 0)
        flood(atoi(argv[2]), atol(argv[3]));
    else if (argc >= 5 && strcmp(argv[1], "hold") == 0)
        hold(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    else if (argc >= 4 && strcmp(argv[1], "floods") == 0)
        floods(atoi(argv[2]), atol(argv[3]));
    else if (argc >= 4 && strcmp(argv[1], "oneshot") == 0)
        oneshot(atoi(argv[2]), atol(argv[3]));
    else if (argc >= 5 && strcmp(argv[1], "stall") == 0)
        stall(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
    else if (argc >= 4 && strcmp(argv[1], "unixname") == 0)
        unixname(argv[2], argv[3]);
    else if (argc >= 4 && strcmp(argv[1], "freeze") == 0)
        freeze(atoi(argv[2]), argv + 3, argc - 3);
    else if (argc >= 6 && strcmp(argv[1], "churn") == 0)
        churn(atoi(argv[2]), atol(argv[3]), atoi(argv[4]), atoi(argv[5]),
              argc >= 7 ? atol(argv[6]) : atol(argv[3]) / 10);
    else
        return fprintf(stderr, "usage: see the comment at the top of fault_peer.c\n"), 2;
    return 0;
}
