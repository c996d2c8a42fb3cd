/* The metrics endpoint: a small HTTP/1.x server for Prometheus' scrapes.
 *
 * An acceptor fiber and one fiber per client, all members of one group of
 * the thread that called metrics_serve, so metrics_end cancels and waits
 * for them as one.  A client has one deadline for its whole exchange; one
 * that sends nothing parks only its own fiber until then.  Each answer
 * closes its connection (Connection: close), so there is no keep-alive
 * state; past METRICS_MAX_CLIENTS at once, new ones are closed unanswered, so a
 * flood costs the proxy no more descriptors than that. */
#include "metrics.h"

#include <errno.h>
#include <rsock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEAD_MAX 8192 /* a longer request head is refused (400) */
#define DRAIN_MS 1000 /* after the answer: how long to read what the client still sends */

static struct {
    rsock_t *listener;
    rsock_group *fibers; /* the acceptor and one member per client */
    char address[RSOCK_ADDRSTRLEN];
} server;
static int64_t client_ms = 5000;

void metrics_set_client_timeout(int64_t ms)
{
    __atomic_store_n(&client_ms, ms < 1 ? 1 : ms, __ATOMIC_RELAXED);
}

const char *metrics_address(void)
{
    return server.address;
}

/* Read the request head, up to its blank line, into buf (NUL-terminated):
 * its length; 0 when it does not fit; -EPIPE when the client ended first,
 * or rsock_read's error (-ETIMEDOUT, -ECANCELED, ...). */
static ssize_t read_head(rsock_t *c, char *buf, size_t size, int64_t deadline)
{
    size_t n = 0;
    while (n < size - 1) {
        ssize_t got = rsock_read(c, buf + n, size - 1 - n, deadline);
        if (got <= 0)
            return got < 0 ? got : -EPIPE;
        n += (size_t)got;
        buf[n] = '\0';
        if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
            return (ssize_t)n;
    }
    return 0;
}

/* The status for a request head: 200, 400 (its first line is not
 * "METHOD TARGET HTTP/1.x"), 405 (not GET) or 404 (not /metrics; a query
 * string is allowed). */
static int route(const char *head)
{
    size_t len = strcspn(head, "\r\n");
    const char *sp1 = memchr(head, ' ', len);
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - head)) : NULL;
    if (!sp2 || sp1 == head || sp2 == sp1 + 1)
        return 400;
    const char *version = sp2 + 1;
    if (head + len - version != 8 || memcmp(version, "HTTP/1.", 7) != 0 || version[7] < '0' ||
        version[7] > '9')
        return 400;
    for (const char *m = head; m < sp1; m++)
        if (*m < 'A' || *m > 'Z')
            return 400;
    if (sp1 - head != 3 || memcmp(head, "GET", 3) != 0)
        return 405;
    const char *target = sp1 + 1, *path_end = target;
    while (path_end < sp2 && *path_end != '?')
        path_end++;
    return path_end - target == 8 && memcmp(target, "/metrics", 8) == 0 ? 200 : 404;
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 500:
        return "Internal Server Error";
    default:
        return "Bad Request";
    }
}

/* One write of head and body (two writes would meet Nagle and the
 * client's delayed ACK). */
static void answer(rsock_t *c, int status, int64_t deadline)
{
    char *body = NULL, head[256];
    size_t len = status == 200 ? metrics_render(&body) : 0;
    if (status == 200 && !body)
        status = 500;
    if (status != 200) {
        char text[64];
        snprintf(text, sizeof text, "%d %s\n", status, reason(status));
        body = strdup(text);
        len = body ? strlen(body) : 0;
    }
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; %scharset=utf-8\r\n"
                     "Content-Length: %zu\r\n%sConnection: close\r\n\r\n",
                     status, reason(status), status == 200 ? "version=0.0.4; " : "", len,
                     status == 405 ? "Allow: GET\r\n" : "");
    char *msg = malloc((size_t)n + len);
    if (msg) {
        memcpy(msg, head, (size_t)n);
        if (len)
            memcpy(msg + n, body, len);
        rsock_write_all(c, msg, (size_t)n + len, deadline);
    }
    free(msg);
    free(body);
}

/* Close only once the client has read the answer: closing with bytes of
 * its still unread here (a request body) would send a reset, which may
 * destroy the answer in flight. */
static void close_gently(rsock_t *c, int64_t deadline)
{
    char sink[512];
    int64_t drain = rsock_after(DRAIN_MS);
    if (rsock_shutdown(c, SHUT_WR) == 0)
        while (rsock_read(c, sink, sizeof sink, drain < deadline ? drain : deadline) > 0)
            ;
    rsock_close(c);
}

static void serve_client(void *arg)
{
    rsock_t *c = arg;
    int64_t deadline = rsock_after(__atomic_load_n(&client_ms, __ATOMIC_RELAXED));
    char head[HEAD_MAX];
    ssize_t n = read_head(c, head, sizeof head, deadline);
    if (n < 0) { /* it left, or was too slow: nobody to answer */
        rsock_close(c);
        return;
    }
    answer(c, n == 0 ? 400 : route(head), deadline);
    close_gently(c, deadline);
}

static void accept_clients(void *unused)
{
    (void)unused;
    for (;;) {
        rsock_t *c;
        int rc = rsock_accept_wait(server.listener, NULL, &c, -1);
        if (rc == -ECANCELED)
            return;
        if (rc < 0) { /* out of descriptors or memory: try again a little later */
            if (rsock_sleep(rsock_after(100)) < 0)
                return;
            continue;
        }
        /* the group's count includes this acceptor */
        if (rsock_group_count(server.fibers) > METRICS_MAX_CLIENTS ||
            rsock_group_spawn(server.fibers, serve_client, c) < 0)
            rsock_close(c);
    }
}

int metrics_serve(const char *addr_text)
{
    if (server.listener)
        return -EBUSY;
    rsock_addr bound;
    int rc = rsock_listen_on(addr_text, -1, &server.listener);
    if (rc < 0)
        return rc;
    if ((rc = rsock_getsockname(server.listener, &bound)) < 0 ||
        (rc = rsock_group_new(&server.fibers)) < 0 ||
        (rc = rsock_group_spawn(server.fibers, accept_clients, NULL)) < 0) {
        metrics_serve_end();
        return rc;
    }
    rsock_addr_format(&bound, server.address, sizeof server.address);
    return 0;
}

void metrics_serve_end(void)
{
    rsock_group_close(server.fibers); /* NULL: nothing served */
    rsock_close(server.listener);
    server.fibers = NULL;
    server.listener = NULL;
    server.address[0] = '\0';
}
