/* rsock-proxy's command line: what it says, parsed. */
#ifndef RSOCK_PROXY_CONFIG_H
#define RSOCK_PROXY_CONFIG_H

#include <rsock.h>

enum { ON_LISTEN, ON_CLIENT, ON_SERVER }; /* where a --sockopt applies */
#define MAX_SOCKOPTS 32

struct proxy_sockopt {
    int where, level, opt, value;
    const char *name;
};

struct proxy_config {
    const char *local, *remote;
    int verbose;                                 /* -v: 1, -q: -1 */
    int threads;                                 /* 0: one per core */
    long max_conns;                              /* 0: no limit */
    double connect_timeout, idle_timeout, grace; /* seconds; 0: none */
    long keepalive_s;                            /* TCP keepalive idle time; 0: off */
    int copy_flags;                              /* RSOCK_COPY_SPLICE / _BUFFER / 0 */
    long busy_poll_us;                           /* rsock_set_busy_poll per loop; 0: off */
    int nsockopts;
    struct proxy_sockopt sockopts[MAX_SOCKOPTS];
};

/* Fill `c` from the command line: 0 to run; 1 to exit 0 (--help and
 * --version printed); -EINVAL to exit 2 (the message printed). */
int parse_config(struct proxy_config *c, int argc, char **argv);

#endif
