/* rsock-echo: a small echo (or sink) server on rsock, for the demo and tests.
 * Each connection is one fiber; echo is rsock_copy from the socket to itself. */
#include "rsock.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rsock-echo [-s] [-q] ADDRESS\n"
    "Echo every byte received on ADDRESS back to its sender (-s: read and drop).\n"
    "Prints \"listening on ADDRESS\" (the real port when ADDRESS ends in :0).\n";

static bool sink, quiet;

static void serve(void *arg)
{
    rsock_t *c = arg;
    if (sink) {
        static char buf[256 * 1024]; /* shared: never held across a wait */
        while (rsock_read(c, buf, sizeof buf, -1) > 0) {
        }
    } else {
        int64_t rc = rsock_copy(c, c, -1);
        if (rc < 0 && !quiet)
            fprintf(stderr, "rsock-echo: %s\n", rsock_error_message());
    }
    rsock_close(c);
}

int main(int argc, char **argv)
{
    int opt;
    while ((opt = getopt(argc, argv, "sqh")) != -1) {
        if (opt == 's')
            sink = true;
        else if (opt == 'q')
            quiet = true;
        else {
            fputs(usage, opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 1) {
        fputs(usage, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    rsock_t *l;
    if (rsock_listen_on(argv[optind], 1024, &l) < 0) {
        fprintf(stderr, "rsock-echo: %s\n", rsock_error_message());
        return 1;
    }
    rsock_addr me;
    char text[RSOCK_ADDRSTRLEN];
    rsock_getsockname(l, &me);
    rsock_addr_format(&me, text, sizeof text);
    printf("listening on %s\n", text);
    fflush(stdout);
    for (;;) {
        rsock_t *c;
        int rc = rsock_accept_wait(l, NULL, &c, -1);
        if (rc == 0 && rsock_spawn(serve, c, NULL) < 0)
            rsock_close(c);
        else if (rc < 0 && rc != -ECONNABORTED) {
            fprintf(stderr, "rsock-echo: %s\n", rsock_error_message());
            rsock_sleep(rsock_now() + 100);
        }
    }
}
