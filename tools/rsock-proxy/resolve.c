/* A REMOTE's addresses.  rsock_addr_parse reads one address (a name: its
 * first); a pool wants every address a name has, so names go to
 * getaddrinfo, on one of rsock's helper threads (rsock_offload) so the
 * loop keeps serving meanwhile. */
#include "log.h"
#include "pool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>

struct lookup {
    char host[256], port[8];
    struct addrinfo *res;
    int code;
};

static void run_lookup(void *arg)
{
    struct lookup *q = arg;
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    q->code = getaddrinfo(q->host, q->port, &hints, &q->res);
}

/* "name:port" where name is a host name (not an address, a path, or
 * anything else address text allows): host and port split; else false. */
static bool split_name(const char *text, struct lookup *q)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text || strchr(text, '/') || text[0] == '@' || text[0] == '[')
        return false;
    size_t hlen = (size_t)(colon - text);
    if (hlen >= sizeof q->host || strlen(colon + 1) >= sizeof q->port)
        return false;
    memcpy(q->host, text, hlen);
    q->host[hlen] = 0;
    snprintf(q->port, sizeof q->port, "%s", colon + 1);
    struct in_addr v4;
    bool letters = strspn(q->host, "0123456789.") != hlen; /* "127.1" is not a name */
    return letters && strchr(q->host, ':') == NULL && inet_pton(AF_INET, q->host, &v4) != 1;
}

bool remote_is_name(const char *remote)
{
    struct lookup q;
    return split_name(remote, &q);
}

static int collect(struct addrinfo *res, rsock_addr *out, int max)
{
    int n = 0;
    for (struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        rsock_addr a;
        rsock_addr_init(&a, ai->ai_family);
        memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
        a.len = ai->ai_addrlen;
        bool seen = false;
        for (int i = 0; i < n && !seen; i++)
            seen = out[i].len == a.len && !memcmp(&out[i].ss, &a.ss, a.len);
        if (!seen)
            out[n++] = a;
    }
    return n;
}

int resolve_remote(const char *remote, rsock_addr *out, int max)
{
    struct lookup q = {0};
    if (!split_name(remote, &q) || max < 1) {
        int rc = rsock_addr_parse(&out[0], remote);
        if (rc < 0)
            log_line(-1, "REMOTE %s: %s", remote, rsock_error_message());
        return rc < 0 ? rc : 1;
    }
    /* The port's grammar is rsock's: parse a stand-in address with it. */
    rsock_addr probe;
    char probe_text[32];
    snprintf(probe_text, sizeof probe_text, "0.0.0.0:%s", q.port);
    if (rsock_addr_parse(&probe, probe_text) < 0) {
        log_line(-1, "REMOTE %s: bad port \"%s\"", remote, q.port);
        return -EINVAL;
    }
    int rc = rsock_offload(run_lookup, &q);
    if (rc == 0 && q.code != 0) {
        log_line(-1, "REMOTE %s: %s", remote, gai_strerror(q.code));
        rc = -ENOENT;
    }
    int n = rc == 0 ? collect(q.res, out, max) : rc;
    if (q.res)
        freeaddrinfo(q.res);
    if (n == 0) {
        log_line(-1, "REMOTE %s: no IPv4 or IPv6 address", remote);
        n = -ENOENT;
    }
    return n;
}
