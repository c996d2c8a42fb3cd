/* echo-unix: a stream echo over a Unix path.  A server fiber echoes each
 * line back; the client (main) sends three lines and prints the replies.
 * Both run on one thread: whenever one waits, the other runs.
 * usage: echo-unix [PATH]   (default: a fresh path in a temp directory) */
#include <rsock.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIE(what) (fprintf(stderr, "echo-unix: %s: %s\n", what, rsock_error_message()), exit(1))

/* The server: accept one client, echo until it closes its side. */
static void server(void *arg)
{
    rsock_t *listener = arg, *conn;
    char buf[256];
    if (rsock_accept_wait(listener, NULL, &conn, rsock_after(5000)) < 0)
        DIE("accept");
    ssize_t n;
    while ((n = rsock_read(conn, buf, sizeof buf, rsock_after(5000))) > 0)
        if (rsock_write_all(conn, buf, (size_t)n, rsock_after(5000)) < 0)
            DIE("echo");
    if (n < 0)
        DIE("read");
    rsock_close(conn);
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/echo-unix-XXXXXX", path[200];
    if (argc > 1)
        snprintf(path, sizeof path, "%s", argv[1]);
    else if (mkdtemp(dir))
        snprintf(path, sizeof path, "%s/echo.sock", dir);
    else
        return perror("mkdtemp"), 1;

    rsock_t *listener, *client;
    rsock_fiber *srv;
    if (rsock_listen_on(path, -1, &listener) < 0) /* text with a '/' is a Unix path */
        DIE("listen");
    if (rsock_spawn(server, listener, &srv) < 0)
        DIE("spawn");
    if (rsock_dial(path, rsock_after(5000), &client) < 0)
        DIE("dial");

    const char *lines[] = {"hello\n", "raw socket devices\n", "bye\n"};
    for (size_t i = 0; i < 3; i++) {
        char reply[256] = "";
        size_t len = strlen(lines[i]), got = 0;
        if (rsock_write_all(client, lines[i], len, rsock_after(5000)) < 0)
            DIE("write");
        while (got < len) { /* a stream may deliver the echo in pieces */
            ssize_t n = rsock_read(client, reply + got, sizeof reply - 1 - got, rsock_after(5000));
            if (n <= 0)
                DIE("read reply");
            got += (size_t)n;
        }
        printf("echo: %s", reply);
    }
    rsock_shutdown(client, SHUT_WR); /* end of stream: the server's loop ends */
    rsock_join(srv, rsock_after(5000));
    rsock_close(client);
    rsock_close(listener);
    unlink(path); /* a Unix socket's file stays until removed */
    if (argc <= 1)
        rmdir(dir);
    return 0;
}
