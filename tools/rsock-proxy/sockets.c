/* Socket options of the proxy's sockets, all through rsock's option table. */
#include "proxy.h"

#include <netinet/tcp.h>

void apply_sockopts(const struct proxy_config *c, rsock_t *s, int where)
{
    for (int i = 0; i < c->nsockopts; i++) {
        const struct proxy_sockopt *o = &c->sockopts[i];
        if (o->where == where && rsock_setsockopt_int(s, o->level, o->opt, o->value) < 0)
            log_line(0, "--sockopt %s=%d: %s", o->name, o->value, rsock_error_message());
    }
}

static bool is_tcp(rsock_t *s)
{
    int d = rsock_domain(s);
    return d == AF_INET || d == AF_INET6;
}

/* --keepalive S: the first probe after S idle seconds, then one every
 * min(S, 10) seconds; 6 unanswered end the connection. */
static void set_keepalive(const struct proxy_config *c, rsock_t *s)
{
    int idle = (int)c->keepalive_s;
    rsock_setsockopt_int(s, SOL_SOCKET, SO_KEEPALIVE, 1);
    rsock_setsockopt_int(s, IPPROTO_TCP, TCP_KEEPIDLE, idle);
    rsock_setsockopt_int(s, IPPROTO_TCP, TCP_KEEPINTVL, idle < 10 ? idle : 10);
    rsock_setsockopt_int(s, IPPROTO_TCP, TCP_KEEPCNT, 6);
}

/* TCP_NODELAY (request/response latency) and keepalive.  Set on the
 * listeners, whose accepted connections inherit them (no call each), and
 * on each connection to REMOTE. */
void set_stream_options(const struct proxy_config *c, rsock_t *s)
{
    if (!is_tcp(s))
        return;
    rsock_setsockopt_int(s, IPPROTO_TCP, TCP_NODELAY, 1);
    if (c->keepalive_s > 0)
        set_keepalive(c, s);
}

int upstream_socket(const struct proxy_config *c, int family, rsock_t **out)
{
    int rc = rsock_socket(family, SOCK_STREAM, 0, out);
    if (rc < 0)
        return rc;
    set_stream_options(c, *out);
    apply_sockopts(c, *out, ON_SERVER);
    return 0;
}

/* A connection cut short must never look like a clean end of its stream
 * to either peer. */
void reset_on_close(rsock_t *s)
{
    rsock_setsockopt_linger(s, true, 0);
}
