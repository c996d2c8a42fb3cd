/* Typed control data from the kernel's reports: timestamps (SO_TIMESTAMP,
 * SO_TIMESTAMPNS, SO_TIMESTAMPING, in their old and 64-bit "new" forms) and
 * error-queue messages (IP_RECVERR / IPV6_RECVERR). */
#include "cmsg_internal.h"

#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <string.h>

#define NS_PER_SEC 1000000000LL

/* How a timestamp message lays out its stamps. */
typedef struct {
    int type;
    size_t field;   /* bytes of each of sec and the fraction */
    long long unit; /* nanoseconds per unit of the fraction */
    size_t count;   /* stamps in the message (SO_TIMESTAMPING: 3) */
} stamp_kind;

static const stamp_kind stamp_kinds[] = {
    {SO_TIMESTAMP_OLD, sizeof(long), 1000, 1}, /* struct timeval */
    {SO_TIMESTAMPNS_OLD, sizeof(long), 1, 1},  /* struct timespec */
    {SO_TIMESTAMPING_OLD, sizeof(long), 1, 3}, /* struct scm_timestamping */
#ifdef SO_TIMESTAMP_NEW
    {SO_TIMESTAMP_NEW, 8, 1000, 1}, /* __kernel_sock_timeval */
    {SO_TIMESTAMPNS_NEW, 8, 1, 1},  /* __kernel_timespec */
    {SO_TIMESTAMPING_NEW, 8, 1, 3}, /* scm_timestamping64 */
#endif
};

/* A signed field of 4 or 8 bytes at p. */
static long long field_at(const char *p, size_t size)
{
    if (size == 4) {
        int32_t v;
        memcpy(&v, p, sizeof v);
        return v;
    }
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Stamp i of the message in nanoseconds (0: not set), or -EINVAL when its
 * fraction is out of range (a stamp the kernel never writes). */
static int stamp_at(const rsock_cmsg *c, const stamp_kind *k, size_t i, int64_t *ns)
{
    const char *p = (const char *)c->data + i * 2 * k->field;
    long long sec = field_at(p, k->field), frac = field_at(p + k->field, k->field);
    if (frac < 0 || frac >= NS_PER_SEC / k->unit || sec < 0 || sec > INT64_MAX / NS_PER_SEC - 1)
        return rsock__fail(EINVAL, "rsock_cmsg_get_timestamp: stamp %lld s %lld out of range",
                           sec, frac);
    *ns = sec * NS_PER_SEC + frac * k->unit;
    return 0;
}

int rsock_cmsg_get_timestamp(const rsock_cmsg *c, int64_t *ns)
{
    const char *op = "rsock_cmsg_get_timestamp";
    if (!c || !ns)
        return rsock__fail(EINVAL, "%s: NULL %s", op, c ? "out" : "message");
    const stamp_kind *k = NULL;
    for (size_t i = 0; i < sizeof stamp_kinds / sizeof stamp_kinds[0]; i++)
        if (c->level == SOL_SOCKET && c->type == stamp_kinds[i].type)
            k = &stamp_kinds[i];
    if (!k)
        return rsock__fail(EINVAL, "%s: level %d type %d is not a timestamp", op, c->level,
                           c->type);
    int rc = rsock__cmsg_size(op, c, 2 * k->field * k->count);
    if (rc < 0 || !c->data)
        return rc < 0 ? rc : rsock__fail(EINVAL, "%s: NULL data", op);
    /* SO_TIMESTAMPING: [0] software, [1] legacy (unused), [2] hardware. */
    for (size_t i = 0; i < k->count; i += 2) {
        if ((rc = stamp_at(c, k, i, ns)) < 0)
            return rc;
        if (*ns || k->count == 1)
            return 0;
    }
    return rsock__fail(EINVAL, "%s: SO_TIMESTAMPING with no stamp set", op);
}

/* The offender's address after the extended error: `len` bytes at p. */
static int offender(const char *p, size_t len, rsock_addr *a)
{
    memset(a, 0, sizeof *a);
    sa_family_t family = AF_UNSPEC;
    if (len >= sizeof family)
        memcpy(&family, p, sizeof family);
    size_t need = family == AF_INET    ? sizeof a->in
                  : family == AF_INET6 ? sizeof a->in6
                                       : 0;
    if (family != AF_UNSPEC && (!need || len < need))
        return rsock__fail(EINVAL,
                           "rsock_cmsg_get_sockerr: offender of family %d in %zu bytes", family,
                           len);
    memcpy(&a->ss, p, need);
    a->len = (socklen_t)need;
    return 0;
}

int rsock_cmsg_get_sockerr(const rsock_cmsg *c, rsock_sockerr *out)
{
    const char *op = "rsock_cmsg_get_sockerr";
    bool v6 = c && c->level == IPPROTO_IPV6;
    int rc = v6 ? rsock__cmsg_expect(op, c, IPPROTO_IPV6, IPV6_RECVERR)
                : rsock__cmsg_expect(op, c, IPPROTO_IP, IP_RECVERR);
    if (rc < 0)
        return rc;
    struct sock_extended_err ee;
    if (!out || c->len < sizeof ee)
        return rsock__fail(EINVAL, "%s: %s", op, out ? "shorter than sock_extended_err"
                                                     : "NULL out");
    memcpy(&ee, c->data, sizeof ee);
    rsock_sockerr e = {.err = (int)ee.ee_errno, .origin = ee.ee_origin, .type = ee.ee_type,
                       .code = ee.ee_code, .info = ee.ee_info, .data = ee.ee_data};
    if ((rc = offender((const char *)c->data + sizeof ee, c->len - sizeof ee, &e.offender)) < 0)
        return rc;
    *out = e;
    return 0;
}
