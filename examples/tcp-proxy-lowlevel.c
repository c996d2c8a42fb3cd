/* tcp-proxy-lowlevel: the reference tutorial's first transparent proxy,
 * written with raw socket devices.  A listener loop waits for input and
 * accepts; each connection gets a fiber that connects to the target (a
 * pending connect: wait for output, then read SO_ERROR) and then two fibers
 * that copy, one per direction, waiting whenever an operation would block
 * and shutting down the writing side at end of stream.
 * usage: tcp-proxy-lowlevel [-v] [--max-conns N] LISTEN TARGET
 *   e.g. tcp-proxy-lowlevel :9999 127.0.0.1:8080  (exits after N connections) */
#include <rsock.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool verbose;
static rsock_addr target;

/* One direction: recv what is there, send all of it, until end of stream. */
struct pipe_end { rsock_t *from, *to; };

static void copy(void *arg)
{
    struct pipe_end *p = arg;
    char buf[16384]; /* fits the default 64 KiB fiber stack with room to spare */
    for (;;) {
        ssize_t n = rsock_recv(p->from, buf, sizeof buf, 0);
        if (n == -EAGAIN) { /* nothing yet: park this fiber until input */
            if (rsock_wait_in(p->from, -1) < 0)
                break;
            continue;
        }
        if (n <= 0) /* end of stream, or an error: stop this direction */
            break;
        for (ssize_t sent = 0; sent < n;) {
            ssize_t m = rsock_send(p->to, buf + sent, (size_t)(n - sent), 0);
            if (m == -EAGAIN) {
                if (rsock_wait_out(p->to, -1) < 0)
                    return;
                continue;
            }
            if (m < 0)
                return;
            sent += m;
        }
    }
    rsock_shutdown(p->to, SHUT_WR); /* pass the end of stream on */
}

/* Connect to the target: 0, or a negative errno. */
static int connect_target(rsock_t **out)
{
    int rc = rsock_socket(rsock_addr_family(&target), SOCK_STREAM, 0, out);
    if (rc < 0)
        return rc;
    rc = rsock_connect(*out, &target);
    if (rc == -EINPROGRESS) { /* pending: wait for output, then ask how it went */
        int err = 0;
        rc = rsock_wait_out(*out, rsock_after(10000));
        if (rc == 0 && (rc = rsock_getsockopt_int(*out, SOL_SOCKET, SO_ERROR, &err)) == 0)
            rc = -err;
    }
    if (rc < 0)
        rsock_close(*out);
    return rc;
}

static void proxy(void *arg)
{
    rsock_t *client = arg, *server;
    if (connect_target(&server) < 0) {
        fprintf(stderr, "proxy: %s\n", rsock_error_message());
        rsock_close(client);
        return;
    }
    struct pipe_end up = {client, server}, down = {server, client};
    rsock_fiber *a, *b;
    if (rsock_spawn(copy, &up, &a) == 0) {
        if (rsock_spawn(copy, &down, &b) == 0)
            rsock_join(b, -1);
        rsock_join(a, -1);
    }
    rsock_close(server);
    rsock_close(client);
}

int main(int argc, char **argv)
{
    long max_conns = -1;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "-v") == 0)
            verbose = true;
        else if (strcmp(argv[i], "--max-conns") == 0 && i + 1 < argc)
            max_conns = strtol(argv[++i], NULL, 10);
        else
            break;
    }
    rsock_addr local;
    rsock_t *listener;
    if (argc - i != 2)
        return fprintf(stderr, "usage: tcp-proxy-lowlevel [-v] [--max-conns N] LISTEN TARGET\n"), 2;
    if (rsock_addr_parse(&local, argv[i]) < 0 || rsock_addr_parse(&target, argv[i + 1]) < 0 ||
        rsock_server_socket(rsock_addr_family(&local), SOCK_STREAM, 0, &listener) < 0 ||
        rsock_setsockopt_int(listener, SOL_SOCKET, SO_REUSEADDR, 1) < 0 ||
        rsock_bind(listener, &local) < 0 || rsock_listen(listener, 128) < 0)
        return fprintf(stderr, "tcp-proxy-lowlevel: %s\n", rsock_error_message()), 1;
    for (long served = 0; max_conns < 0 || served < max_conns;) {
        rsock_addr peer;
        rsock_t *client;
        int rc = rsock_accept(listener, &peer, &client);
        if (rc == -EAGAIN) { /* the listener loop: wait for input, then accept */
            rsock_wait_in(listener, -1);
            continue;
        }
        if (rc < 0) {
            fprintf(stderr, "accept: %s\n", rsock_error_message());
            rsock_sleep(rsock_after(100)); /* e.g. out of descriptors: do not spin */
            continue;
        }
        if (verbose) {
            char text[RSOCK_ADDRSTRLEN];
            rsock_addr_format(&peer, text, sizeof text);
            fprintf(stderr, "accepted connection from %s\n", text);
        }
        if (rsock_spawn(proxy, client, NULL) < 0)
            rsock_close(client);
        served++;
    }
    rsock_run(); /* let the last connections finish */
    rsock_close(listener);
    return 0;
}
