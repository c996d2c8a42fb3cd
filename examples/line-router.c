/* A routing proxy: each client's first line names where to go
 * ("CONNECT host:port"); the router reads it with a buffered reader, dials
 * the target (Happy Eyeballs for a name), forwards what the reader had
 * buffered past the line, then relays both ways until both ends are done.
 * One thread: an echo backend, the router and a client, each a fiber. */
#include <rsock.h>
#include <stdio.h>
#include <string.h>

#define WAIT rsock_after(5000)

static void fail(void)
{
    fprintf(stderr, "%s\n", rsock_error_message());
}

/* The backend: "echo: " before each line, until the end of the stream. */
static void echo_lines(void *conn)
{
    rsock_reader r;
    const char *line;
    ssize_t n;
    if (rsock_reader_init(&r, conn, NULL, 0) < 0)
        return fail();
    while ((n = rsock_reader_line(&r, &line, 0, WAIT)) > 0)
        if (rsock_write_all(conn, "echo: ", 6, WAIT) < 0 ||
            rsock_write_all(conn, line, (size_t)n, WAIT) < 0)
            break;
    rsock_reader_free(&r);
    rsock_close(conn);
}

/* Read "CONNECT target\n", dial it, hand over the buffered bytes, relay. */
static void route(rsock_t *client)
{
    rsock_reader r;
    const char *line, *rest;
    rsock_t *up = NULL;
    char target[128];
    if (rsock_reader_init(&r, client, NULL, 0) < 0)
        return fail();
    ssize_t n = rsock_reader_line(&r, &line, sizeof target, WAIT);
    if (n < 10 || strncmp(line, "CONNECT ", 8) != 0 || line[n - 1] != '\n') {
        rsock_reader_free(&r);
        return (void)fprintf(stderr, "bad header\n");
    }
    snprintf(target, sizeof target, "%.*s", (int)(n - 9), line + 8);
    ssize_t held = rsock_reader_peek(&r, (const void **)&rest, 0, 0);
    rsock_relay_stats st = {0, 0};
    if (rsock_dial(target, WAIT, &up) < 0 || rsock_write_all(up, rest, (size_t)held, WAIT) < 0 ||
        rsock_relay(client, up, -1, 10000, 0, &st) < 0)
        fail();
    else
        printf("routed to %s: %lld bytes up, %lld down\n", target, (long long)(held + st.a_to_b),
               (long long)st.b_to_a);
    rsock_reader_free(&r);
    rsock_close(up);
}

static void router(void *listener)
{
    rsock_t *client;
    if (rsock_accept_wait(listener, NULL, &client, WAIT) < 0)
        return fail();
    route(client);
    rsock_close(client);
}

static void backend(void *listener)
{
    rsock_t *conn;
    if (rsock_accept_wait(listener, NULL, &conn, WAIT) == 0)
        echo_lines(conn);
}

static int listen_here(rsock_t **l, char text[RSOCK_ADDRSTRLEN])
{
    rsock_addr a;
    if (rsock_listen_on("127.0.0.1:0", -1, l) < 0 || rsock_getsockname(*l, &a) < 0)
        return -1;
    return rsock_addr_format(&a, text, RSOCK_ADDRSTRLEN);
}

int main(void)
{
    rsock_t *back, *front, *client;
    char back_at[RSOCK_ADDRSTRLEN], front_at[RSOCK_ADDRSTRLEN], hello[256];
    if (listen_here(&back, back_at) < 0 || listen_here(&front, front_at) < 0)
        return fail(), 1;
    rsock_spawn(backend, back, NULL);
    rsock_spawn(router, front, NULL);
    int len = snprintf(hello, sizeof hello, "CONNECT %s\nhello\nworld\n", back_at);
    if (rsock_dial(front_at, WAIT, &client) < 0 ||
        rsock_write_all(client, hello, (size_t)len, WAIT) < 0 ||
        rsock_shutdown(client, SHUT_WR) < 0)
        return fail(), 1;
    rsock_reader r;
    const char *line;
    ssize_t n;
    rsock_reader_init(&r, client, NULL, 0);
    while ((n = rsock_reader_line(&r, &line, 0, WAIT)) > 0)
        printf("client got: %.*s", (int)n, line);
    rsock_reader_free(&r);
    rsock_close(client);
    rsock_run(); /* the router prints its counts as it ends */
    rsock_close(front);
    rsock_close(back);
    return n < 0 ? fail(), 1 : 0;
}
