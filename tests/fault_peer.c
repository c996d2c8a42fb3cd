/* fault_peer: misbehaving peers for the proxy's fault tests, written with
 * plain blocking POSIX sockets so they do not depend on rsock.
 *   fault_peer reset PORT         accept one connection, send 64 KiB, then RST
 *   fault_peer answer PORT        accept one, read to end of stream, answer
 *                                 "got N bytes" and close
 *   fault_peer flood PORT BYTES   accept one, send BYTES as fast as accepted
 *   fault_peer hold PORT N SECS   connect N clients to PORT, hold them SECS
 * Servers listen on 127.0.0.1:PORT (PORT 0: print the port chosen) and print
 * "listening PORT" when ready. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 64) < 0 ||
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
    else
        return fprintf(stderr, "usage: see the comment at the top of fault_peer.c\n"), 2;
    return 0;
}
