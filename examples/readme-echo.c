/* The README's example: an echo server fiber and its client, one thread. */
#include <rsock.h>
#include <stdio.h>

static void serve(void *listener) /* a fiber: echo one message back */
{
    rsock_t *conn;
    char buf[64];
    if (rsock_accept_wait(listener, NULL, &conn, rsock_after(5000)) == 0) {
        ssize_t n = rsock_read(conn, buf, sizeof buf, rsock_after(5000));
        if (n > 0)
            rsock_write_all(conn, buf, (size_t)n, rsock_after(5000));
        rsock_close(conn);
    }
}

int main(void)
{
    rsock_t *listener, *client;
    rsock_addr where;
    char text[RSOCK_ADDRSTRLEN], reply[64] = "";
    if (rsock_listen_on("127.0.0.1:0", -1, &listener) < 0 || rsock_getsockname(listener, &where) < 0)
        return fprintf(stderr, "%s\n", rsock_error_message()), 1;
    rsock_addr_format(&where, text, sizeof text);
    rsock_spawn(serve, listener, NULL); /* runs whenever main waits */
    if (rsock_dial(text, rsock_after(5000), &client) < 0 ||
        rsock_write_all(client, "hello, rsock", 12, -1) < 0 ||
        rsock_read(client, reply, sizeof reply - 1, rsock_after(5000)) < 0)
        return fprintf(stderr, "%s\n", rsock_error_message()), 1;
    printf("echoed: %s\n", reply);
    rsock_close(client);
    rsock_run(); /* let the server fiber finish */
    rsock_close(listener);
    return 0;
}
