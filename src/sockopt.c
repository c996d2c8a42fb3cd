/* socket-getsockopt / socket-setsockopt over the option table: the row says
 * which member of rsock_optval carries the value in each direction. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/time.h>

/* The row for (level, opt) in direction `dir` (its type to *type), or an
 * error: -EINVAL for NULLs, -ENOPROTOOPT for an unknown option or a
 * direction the row lacks. */
static int find_row(const char *op, rsock_t *s, int level, int opt, bool get,
                    const rsock_sockopt **row)
{
    int rc = rsock__check_dev(op, s);
    if (rc < 0)
        return rc;
    const rsock_sockopt *r = rsock_sockopt_find(level, opt);
    if (!r)
        return rsock__fail(ENOPROTOOPT, "%s level %d option %d: not in the option table", op,
                           level, opt);
    if ((get ? r->get : r->set) == RSOCK_OPT_NONE)
        return rsock__fail(ENOPROTOOPT, "%s %s: the option cannot be %s", op, r->name,
                           get ? "read" : "set");
    *row = r;
    return 0;
}

static int kernel_get(const char *op, rsock_t *s, const rsock_sockopt *r, void *val,
                      socklen_t *len)
{
    if (getsockopt(s->fd, r->level, r->opt, val, len) < 0)
        return rsock__fail_sys(errno, "%s %s fd %d", op, r->name, s->fd);
    return 0;
}

static int kernel_set(const char *op, rsock_t *s, const rsock_sockopt *r, const void *val,
                      socklen_t len)
{
    if (setsockopt(s->fd, r->level, r->opt, val, len) < 0)
        return rsock__fail_sys(errno, "%s %s fd %d", op, r->name, s->fd);
    return 0;
}

/* An address option: the kernel writes a sockaddr of its family but leaves
 * the length as given (SO_ORIGINAL_DST), so the length is the family's. */
static int get_addr(const char *op, rsock_t *s, const rsock_sockopt *r, rsock_addr *out)
{
    if (!out)
        return rsock__fail(EINVAL, "%s %s: NULL address", op, r->name);
    rsock_addr a;
    memset(&a, 0, sizeof a);
    socklen_t len = sizeof a.ss;
    int rc = kernel_get(op, s, r, &a.ss, &len);
    if (rc < 0)
        return rc;
    a.len = a.sa.sa_family == AF_INET    ? (socklen_t)sizeof a.in
            : a.sa.sa_family == AF_INET6 ? (socklen_t)sizeof a.in6
                                         : len;
    *out = a;
    return 0;
}

static int get_value(rsock_t *s, const rsock_sockopt *r, rsock_optval *v)
{
    static const char op[] = "rsock_getsockopt";
    socklen_t len;
    int rc;
    switch (r->get) {
    case RSOCK_OPT_INT:
        len = sizeof v->i;
        return kernel_get(op, s, r, &v->i, &len);
    case RSOCK_OPT_BYTES:
        if (!v->bytes.buf && v->bytes.len)
            return rsock__fail(EINVAL, "%s %s: NULL buffer", op, r->name);
        len = v->bytes.len > INT_MAX ? INT_MAX : (socklen_t)v->bytes.len;
        rc = kernel_get(op, s, r, v->bytes.buf, &len);
        if (rc == 0)
            v->bytes.len = len;
        return rc;
    case RSOCK_OPT_LINGER: {
        struct linger l;
        len = sizeof l;
        if ((rc = kernel_get(op, s, r, &l, &len)) < 0)
            return rc;
        v->linger.on = l.l_onoff != 0;
        v->linger.seconds = l.l_linger;
        return rc;
    }
    case RSOCK_OPT_TIMEVAL: {
        struct timeval tv;
        len = sizeof tv;
        if ((rc = kernel_get(op, s, r, &tv, &len)) < 0)
            return rc;
        v->timeval = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
        return rc;
    }
    case RSOCK_OPT_MREQ: /* IP_MULTICAST_IF reads back the interface address */
        memset(&v->mreq, 0, sizeof v->mreq);
        len = sizeof v->mreq.iface;
        return kernel_get(op, s, r, &v->mreq.iface, &len);
    case RSOCK_OPT_UCRED:
        len = sizeof v->ucred;
        return kernel_get(op, s, r, &v->ucred, &len);
    case RSOCK_OPT_ADDR:
        return get_addr(op, s, r, v->addr);
    default:
        return rsock__fail(ENOPROTOOPT, "%s %s: cannot be read", op, r->name);
    }
}

int rsock_getsockopt(rsock_t *s, int level, int opt, rsock_optval *v)
{
    const rsock_sockopt *r = NULL;
    if (!v)
        return rsock__fail(EINVAL, "rsock_getsockopt: NULL value");
    int rc = find_row("rsock_getsockopt", s, level, opt, true, &r);
    if (rc < 0)
        return rc;
    /* v.addr is the caller's pointer: only trusted when the caller said so */
    if (r->get == RSOCK_OPT_ADDR && v->type != RSOCK_OPT_ADDR)
        return rsock__fail(EINVAL, "rsock_getsockopt %s: %s takes addr, not %s (set v.addr)",
                           r->name, r->name, rsock_opttype_name(v->type));
    v->type = r->get;
    return get_value(s, r, v);
}

static int set_timeval(rsock_t *s, const rsock_sockopt *r, double seconds)
{
    if (!(seconds >= 0) || seconds > 1e9)
        return rsock__fail(EINVAL, "rsock_setsockopt %s: %g is not a time in seconds", r->name,
                           seconds);
    time_t whole = (time_t)seconds; /* truncation is floor for seconds >= 0 */
    struct timeval tv = {.tv_sec = whole,
                         .tv_usec = (suseconds_t)((seconds - (double)whole) * 1e6)};
    return kernel_set("rsock_setsockopt", s, r, &tv, sizeof tv);
}

static int set_value(rsock_t *s, const rsock_sockopt *r, const rsock_optval *v)
{
    static const char op[] = "rsock_setsockopt";
    switch (r->set) {
    case RSOCK_OPT_INT:
        return kernel_set(op, s, r, &v->i, sizeof v->i);
    case RSOCK_OPT_BYTES:
        if (!v->bytes.buf && v->bytes.len)
            return rsock__fail(EINVAL, "%s %s: NULL buffer", op, r->name);
        if (v->bytes.len > INT_MAX)
            return rsock__fail(EINVAL, "%s %s: %zu bytes is too long", op, r->name,
                               v->bytes.len);
        return kernel_set(op, s, r, v->bytes.buf, (socklen_t)v->bytes.len);
    case RSOCK_OPT_LINGER: {
        struct linger l = {.l_onoff = v->linger.on, .l_linger = v->linger.seconds};
        return kernel_set(op, s, r, &l, sizeof l);
    }
    case RSOCK_OPT_TIMEVAL:
        return set_timeval(s, r, v->timeval);
    case RSOCK_OPT_MREQ: {
        struct ip_mreqn m = {.imr_multiaddr = v->mreq.group, .imr_address = v->mreq.iface};
        return kernel_set(op, s, r, &m, sizeof m);
    }
    case RSOCK_OPT_MREQ_SRC: {
        struct ip_mreq_source m = {.imr_multiaddr = v->mreq_src.group,
                                   .imr_interface = v->mreq_src.iface,
                                   .imr_sourceaddr = v->mreq_src.source};
        return kernel_set(op, s, r, &m, sizeof m);
    }
    case RSOCK_OPT_MREQ6: {
        struct ipv6_mreq m = {.ipv6mr_multiaddr = v->mreq6.group,
                              .ipv6mr_interface = v->mreq6.ifindex};
        return kernel_set(op, s, r, &m, sizeof m);
    }
    default:
        return rsock__fail(ENOPROTOOPT, "%s %s: cannot be set", op, r->name);
    }
}

int rsock_setsockopt(rsock_t *s, int level, int opt, const rsock_optval *v)
{
    const rsock_sockopt *r = NULL;
    if (!v)
        return rsock__fail(EINVAL, "rsock_setsockopt: NULL value");
    int rc = find_row("rsock_setsockopt", s, level, opt, false, &r);
    if (rc < 0)
        return rc;
    if (v->type != r->set)
        return rsock__fail(EINVAL, "rsock_setsockopt %s: %s takes %s, not %s", r->name, r->name,
                           rsock_opttype_name(r->set), rsock_opttype_name(v->type));
    return set_value(s, r, v);
}

/* ---- typed shortcuts: the row must have the shortcut's type ---- */

static int typed_row(const char *op, rsock_t *s, int level, int opt, bool get,
                     rsock_opttype want, const rsock_sockopt **row)
{
    int rc = find_row(op, s, level, opt, get, row);
    if (rc < 0)
        return rc;
    rsock_opttype has = get ? (*row)->get : (*row)->set;
    if (has != want)
        return rsock__fail(EINVAL, "%s %s: %s takes %s, not %s", op, (*row)->name, (*row)->name,
                           rsock_opttype_name(has), rsock_opttype_name(want));
    return 0;
}

int rsock_getsockopt_int(rsock_t *s, int level, int opt, int *out)
{
    const rsock_sockopt *r = NULL;
    if (!out)
        return rsock__fail(EINVAL, "rsock_getsockopt_int: NULL out");
    int rc = typed_row("rsock_getsockopt_int", s, level, opt, true, RSOCK_OPT_INT, &r);
    socklen_t len = sizeof *out;
    return rc < 0 ? rc : kernel_get("rsock_getsockopt_int", s, r, out, &len);
}

int rsock_setsockopt_int(rsock_t *s, int level, int opt, int value)
{
    const rsock_sockopt *r = NULL;
    int rc = typed_row("rsock_setsockopt_int", s, level, opt, false, RSOCK_OPT_INT, &r);
    return rc < 0 ? rc : kernel_set("rsock_setsockopt_int", s, r, &value, sizeof value);
}

int rsock_getsockopt_timeval(rsock_t *s, int level, int opt, double *seconds)
{
    const rsock_sockopt *r = NULL;
    if (!seconds)
        return rsock__fail(EINVAL, "rsock_getsockopt_timeval: NULL out");
    int rc = typed_row("rsock_getsockopt_timeval", s, level, opt, true, RSOCK_OPT_TIMEVAL, &r);
    rsock_optval v;
    if (rc < 0 || (rc = get_value(s, r, &v)) < 0)
        return rc;
    *seconds = v.timeval;
    return 0;
}

int rsock_setsockopt_timeval(rsock_t *s, int level, int opt, double seconds)
{
    const rsock_sockopt *r = NULL;
    int rc = typed_row("rsock_setsockopt_timeval", s, level, opt, false, RSOCK_OPT_TIMEVAL, &r);
    return rc < 0 ? rc : set_timeval(s, r, seconds);
}

int rsock_getsockopt_linger(rsock_t *s, bool *on, int *seconds)
{
    const rsock_sockopt *r = NULL;
    if (!on || !seconds)
        return rsock__fail(EINVAL, "rsock_getsockopt_linger: NULL out");
    int rc = typed_row("rsock_getsockopt_linger", s, SOL_SOCKET, SO_LINGER, true,
                       RSOCK_OPT_LINGER, &r);
    rsock_optval v;
    if (rc < 0 || (rc = get_value(s, r, &v)) < 0)
        return rc;
    *on = v.linger.on;
    *seconds = v.linger.seconds;
    return 0;
}

int rsock_setsockopt_linger(rsock_t *s, bool on, int seconds)
{
    const rsock_sockopt *r = NULL;
    if (seconds < 0)
        return rsock__fail(EINVAL, "rsock_setsockopt_linger: %d seconds", seconds);
    int rc = typed_row("rsock_setsockopt_linger", s, SOL_SOCKET, SO_LINGER, false,
                       RSOCK_OPT_LINGER, &r);
    rsock_optval v = {.type = RSOCK_OPT_LINGER, .linger = {on, seconds}};
    return rc < 0 ? rc : set_value(s, r, &v);
}

ssize_t rsock_getsockopt_bytes(rsock_t *s, int level, int opt, void *buf, size_t len)
{
    const rsock_sockopt *r = NULL;
    int rc = typed_row("rsock_getsockopt_bytes", s, level, opt, true, RSOCK_OPT_BYTES, &r);
    rsock_optval v = {.type = RSOCK_OPT_BYTES, .bytes = {buf, len}};
    if (rc < 0 || (rc = get_value(s, r, &v)) < 0)
        return rc;
    return (ssize_t)v.bytes.len;
}

int rsock_setsockopt_bytes(rsock_t *s, int level, int opt, const void *buf, size_t len)
{
    const rsock_sockopt *r = NULL;
    int rc = typed_row("rsock_setsockopt_bytes", s, level, opt, false, RSOCK_OPT_BYTES, &r);
    rsock_optval v = {.type = RSOCK_OPT_BYTES, .bytes = {(void *)buf, len}};
    return rc < 0 ? rc : set_value(s, r, &v);
}

int rsock_getsockopt_addr(rsock_t *s, int level, int opt, rsock_addr *out)
{
    const rsock_sockopt *r = NULL;
    if (!out)
        return rsock__fail(EINVAL, "rsock_getsockopt_addr: NULL out");
    int rc = typed_row("rsock_getsockopt_addr", s, level, opt, true, RSOCK_OPT_ADDR, &r);
    return rc < 0 ? rc : get_addr("rsock_getsockopt_addr", s, r, out);
}
