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

/* TCP_NODELAY (request/response latency) and keepalive, on the listeners:
 * their accepted connections inherit both (no call each). */
void set_stream_options(const struct proxy_config *c, rsock_t *s)
{
    if (!is_tcp(s))
        return;
    rsock_setsockopt_int(s, IPPROTO_TCP, TCP_NODELAY, 1);
    if (c->keepalive_s > 0)
        set_keepalive(c, s);
}

/* A --sockopt server: of its own for keepalive: set ours first, as ever,
 * so that the user's wins. */
static bool server_keepalive_told(const struct proxy_config *c)
{
    for (int i = 0; i < c->nsockopts; i++) {
        const struct proxy_sockopt *o = &c->sockopts[i];
        if (o->where == ON_SERVER && ((o->level == SOL_SOCKET && o->opt == SO_KEEPALIVE) ||
                                      (o->level == IPPROTO_TCP && (o->opt == TCP_KEEPIDLE ||
                                                                   o->opt == TCP_KEEPINTVL ||
                                                                   o->opt == TCP_KEEPCNT))))
            return true;
    }
    return false;
}

/* A socket to REMOTE: TCP_NODELAY now; keepalive once connected, by
 * keepalive_later (unless a --sockopt needs it set first). */
int upstream_socket(const struct proxy_config *c, int family, rsock_t **out)
{
    int rc = rsock_socket(family, SOCK_STREAM, 0, out);
    if (rc < 0)
        return rc;
    if (is_tcp(*out)) {
        rsock_setsockopt_int(*out, IPPROTO_TCP, TCP_NODELAY, 1);
        if (c->keepalive_s > 0 && server_keepalive_told(c))
            set_keepalive(c, *out);
    }
    apply_sockopts(c, *out, ON_SERVER);
    return 0;
}

/* ---- keepalive on the sockets to REMOTE, armed late ----
 * Four setsockopt(2) per connection are a tenth of a short connection's
 * syscalls, and keepalive only matters to a connection that lives: each
 * worker's arming fiber sets it on the connections listed for at least one
 * tick (KEEPALIVE_ARM_MS); one that closes before never pays.  Nothing is
 * lost by the wait: SO_KEEPALIVE and then TCP_KEEPIDLE re-arm the kernel's
 * timer for S seconds after the last packet RECEIVED (tcp(7), the kernel's
 * keepalive_time_elapsed), so the first probe comes S idle seconds after
 * the last packet, as if set at the connect, for any S >= 1 s > the tick. */

void keepalive_later(struct worker *w, struct keepalive_wait *k, rsock_t *s,
                     const struct proxy_config *c)
{
    k->listed = false;
    if (c->keepalive_s <= 0 || !is_tcp(s) || server_keepalive_told(c))
        return; /* off, or set when the socket was made */
    *k = (struct keepalive_wait){.next = w->unarmed, .sock = s, .config = c, .listed = true};
    if (w->unarmed)
        w->unarmed->prev = k;
    w->unarmed = k;
    if (w->arming_idle) {
        w->arming_idle = false;
        rsock_cancel(w->arming); /* wake it: one is listed */
    }
}

void keepalive_drop(struct worker *w, struct keepalive_wait *k)
{
    if (!k->listed)
        return;
    if (k->prev)
        k->prev->next = k->next;
    else
        w->unarmed = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->listed = false;
}

/* Arm every connection listed (each for up to a tick): the list empties. */
static void arm_listed(struct worker *w)
{
    while (w->unarmed) {
        struct keepalive_wait *k = w->unarmed;
        keepalive_drop(w, k);
        set_keepalive(k->config, k->sock);
    }
}

static void arming(void *worker)
{
    struct worker *w = worker;
    while (!w->arming_stop) {
        if (!w->unarmed) {
            w->arming_idle = true; /* keepalive_later cancels this sleep */
            rsock_sleep(-1);
            w->arming_idle = false;
            continue;
        }
        rsock_sleep(rsock_after(KEEPALIVE_ARM_MS));
        if (!w->arming_stop)
            arm_listed(w);
    }
}

int keepalive_start(struct worker *w)
{
    return rsock_spawn(arming, w, &w->arming);
}

void keepalive_end(struct worker *w)
{
    if (!w->arming)
        return;
    w->arming_stop = true;
    rsock_cancel(w->arming);
    rsock_join(w->arming, -1);
    w->arming = NULL;
}

/* A connection cut short must never look like a clean end of its stream
 * to either peer. */
void reset_on_close(rsock_t *s)
{
    rsock_setsockopt_linger(s, true, 0);
}
