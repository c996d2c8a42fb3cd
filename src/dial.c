/* rsock_dial: address text to a connected stream socket.  The text is
 * parsed once (rsock__addr_parse_split); a host name is resolved once, and
 * its addresses race as RFC 8305 ("Happy Eyeballs") says: IPv6 and IPv4
 * alternate, IPv6 first; each attempt is a fiber of the caller's thread,
 * the next one starting RSOCK_DIAL_DELAY_MS after the previous began or at
 * once when it failed; the first to connect wins.  The dial returns only
 * after every attempt has ended and closed its socket, whatever stopped it
 * (a winner, the deadline, a cancel), so nothing outlives the call. */
#include "dial.h"
#include "fiber.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_SIZE 256

struct race;

struct attempt {
    struct race *race;
    const rsock_addr *addr;
    rsock_fiber *fiber; /* set while it connects (to cancel it), else NULL */
    bool done;
    int rc;             /* when done: 0 won, or -errno */
    char msg[MSG_SIZE]; /* when it failed: its message */
};

struct race {
    struct rsock__sched *S;
    rsock_fiber *dialer;
    bool waiting; /* the dialer is parked for news from the attempts */
    bool over;    /* decided: attempts not yet connected give up */
    int64_t deadline;
    struct attempt *at; /* one per address, in the order they start */
    size_t started, running;
    rsock_t *winner;
};

/* One connect, waited for: 0 and *out, or -errno with the socket closed. */
static int connect_one(const rsock_addr *a, int64_t deadline, rsock_t **out)
{
    rsock_t *s;
    int rc = rsock_socket(a->sa.sa_family, SOCK_STREAM, 0, &s);
    if (rc == 0 && (rc = rsock_connect_wait(s, a, deadline)) < 0)
        rsock_close(s);
    if (rc == 0)
        *out = s;
    return rc;
}

static void attempt_ends(struct attempt *t, int rc)
{
    struct race *r = t->race;
    t->rc = rc;
    t->done = true;
    r->running--;
    if (r->waiting)
        rsock__wake(r->S, r->dialer, 0);
}

static void attempt_main(void *arg)
{
    struct attempt *t = arg;
    struct race *r = t->race;
    if (r->over) { /* decided before this fiber first ran */
        attempt_ends(t, -ECANCELED);
        return;
    }
    rsock_t *s = NULL;
    t->fiber = r->S->current;
    int rc = connect_one(t->addr, r->deadline, &s);
    t->fiber = NULL;
    if (rc < 0)
        snprintf(t->msg, sizeof t->msg, "%s", rsock_error_message());
    else if (r->over) /* another won while this one's success was queued */
        rsock_close(s), rc = -ECANCELED;
    else
        r->winner = s, r->over = true;
    attempt_ends(t, rc);
}

static void start_next(struct race *r)
{
    struct attempt *t = &r->at[r->started++];
    r->running++;
    int rc = rsock_spawn(attempt_main, t, NULL);
    if (rc < 0) {
        snprintf(t->msg, sizeof t->msg, "%s", rsock_error_message());
        attempt_ends(t, rc);
    }
}

/* Cancel the attempts still connecting and wait until each has ended.  A
 * cancelled attempt closes its socket on its first run, so a dialer that
 * cannot park (itself cancelled) lets them run by yielding. */
static void stop_all(struct race *r)
{
    r->over = true;
    for (size_t i = 0; i < r->started; i++)
        if (r->at[i].fiber)
            rsock_cancel(r->at[i].fiber);
    while (r->running > 0) {
        r->waiting = true;
        int rc = rsock__park(r->S);
        r->waiting = false;
        if (rc == -ECANCELED)
            rsock_yield();
    }
}

static bool deadline_passed(const struct race *r)
{
    return r->deadline >= 0 && rsock_now() >= r->deadline;
}

/* Start attempts as the rules say until one wins, all have failed, the
 * deadline passes or the dialer is cancelled (-ECANCELED). */
static int run(struct race *r, size_t n)
{
    int64_t next_at = rsock_now();
    for (;;) {
        if (r->winner)
            return 0;
        bool last_failed = r->started > 0 && r->at[r->started - 1].done;
        if (r->started < n && (last_failed || rsock_now() >= next_at)) {
            start_next(r);
            next_at = rsock_now() + RSOCK_DIAL_DELAY_MS;
            continue;
        }
        if ((r->started == n && r->running == 0) || deadline_passed(r))
            return 0;
        int64_t until = r->started < n ? next_at : -1;
        if (r->deadline >= 0 && (until < 0 || r->deadline < until))
            until = r->deadline;
        r->waiting = true;
        int rc = rsock_sleep(until);
        r->waiting = false;
        if (rc == -ECANCELED)
            return rc;
    }
}

/* The race is over and nobody won: say why. */
static int race_error(const char *text, const struct race *r, size_t n, int rc)
{
    if (rc == -ECANCELED)
        return rsock__fail(ECANCELED, "rsock_dial \"%s\": cancelled", text);
    const struct attempt *first = &r->at[0];
    bool all_failed = r->started == n;
    for (size_t i = 0; i < r->started; i++)
        all_failed = all_failed && r->at[i].rc != -ETIMEDOUT && r->at[i].rc != -ECANCELED;
    if (all_failed)
        return rsock__fail(-first->rc, "rsock_dial \"%s\": %s", text, first->msg);
    if (first->done && first->rc != -ETIMEDOUT && first->rc != -ECANCELED)
        return rsock__fail(ETIMEDOUT, "rsock_dial \"%s\": timed out (first attempt: %s)", text,
                           first->msg);
    return rsock__fail(ETIMEDOUT, "rsock_dial \"%s\": timed out", text);
}

static int race(const char *text, const rsock_addr *addrs, size_t n, int64_t deadline,
                rsock_t **out)
{
    struct rsock__sched *S = rsock__sched_get();
    struct attempt *at = calloc(n, sizeof *at);
    if (!S || !at) {
        free(at);
        return rsock__fail(ENOMEM, "rsock_dial \"%s\": no memory for %zu attempts", text, n);
    }
    struct race r = {.S = S, .dialer = S->current, .deadline = deadline, .at = at};
    for (size_t i = 0; i < n; i++)
        at[i] = (struct attempt){.race = &r, .addr = &addrs[i]};
    int rc = run(&r, n);
    stop_all(&r);
    if (r.winner)
        *out = r.winner;
    else
        rc = race_error(text, &r, n, rc);
    free(at);
    return r.winner ? 0 : rc;
}

/* One address needs no race: connect in the caller. */
static int dial_one(const char *text, const rsock_addr *a, int64_t deadline, rsock_t **out)
{
    int rc = connect_one(a, deadline, out);
    if (rc < 0) {
        char inner[MSG_SIZE];
        snprintf(inner, sizeof inner, "%s", rsock_error_message());
        return rsock__fail(-rc, "rsock_dial \"%s\": %s", text, inner);
    }
    return 0;
}

int rsock__dial_addrs(const char *text, const rsock_addr *addrs, size_t n, int64_t deadline,
                      rsock_t **out)
{
    if (!text || !addrs || !n || !out)
        return rsock__fail(EINVAL, "rsock_dial: no addresses");
    return n == 1 ? dial_one(text, addrs, deadline, out) : race(text, addrs, n, deadline, out);
}

/* ---- a name: resolve once, order, race ---- */

void rsock__dial_order(const rsock_addr *in, size_t n, rsock_addr *out)
{
    size_t n6 = 0, n4 = 0;
    for (size_t i = 0; i < n; i++)
        in[i].sa.sa_family == AF_INET6 ? n6++ : n4++;
    size_t i6 = 0, i4 = 0; /* the place of the k-th of a family: 2k while both last */
    for (size_t i = 0; i < n; i++) {
        if (in[i].sa.sa_family == AF_INET6)
            out[i6 < n4 ? 2 * i6 : n4 + i6] = in[i], i6++;
        else
            out[i4 < n6 ? 2 * i4 + 1 : n6 + i4] = in[i], i4++;
    }
}

/* The resolver's failure, recorded naming the dial. */
static int dial_resolver_error(const char *text, int code)
{
    int err = rsock__gai_errno(code); /* before anything else may change errno */
    return rsock__fail(err, "rsock_dial \"%s\": %s", text, gai_strerror(code));
}

static bool usable(const struct addrinfo *ai)
{
    return (ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(struct sockaddr_in)) ||
           (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(struct sockaddr_in6));
}

/* The name's IPv4 and IPv6 addresses with the port set, in the resolver's
 * order, into a new array: its length, or -errno (recorded). */
static int resolve_all(const char *text, const struct rsock__host_port *name, rsock_addr **list)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int code = rsock__getaddrinfo(name->host, NULL, &hints, &res);
    if (code != 0)
        return dial_resolver_error(text, code);
    int n = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n += usable(ai);
    rsock_addr *a = n ? calloc((size_t)n, sizeof *a) : NULL;
    int i = 0;
    for (const struct addrinfo *ai = res; a && ai; ai = ai->ai_next) {
        if (!usable(ai))
            continue;
        memcpy(&a[i].ss, ai->ai_addr, ai->ai_addrlen);
        a[i].len = ai->ai_addrlen;
        if (ai->ai_family == AF_INET)
            a[i].in.sin_port = htons((uint16_t)name->port);
        else
            a[i].in6.sin6_port = htons((uint16_t)name->port);
        i++;
    }
    freeaddrinfo(res);
    if (!n)
        return rsock__fail(ENOENT, "rsock_dial \"%s\": no IPv4 or IPv6 address for the name", text);
    if (!a)
        return rsock__fail(ENOMEM, "rsock_dial \"%s\": no memory for %d addresses", text, n);
    *list = a;
    return n;
}

static int dial_name(const char *text, const struct rsock__host_port *name, int64_t deadline,
                     rsock_t **out)
{
    rsock_addr *found = NULL;
    int n = resolve_all(text, name, &found);
    if (n < 0)
        return n;
    rsock_addr *ordered = malloc((size_t)n * sizeof *ordered);
    int rc = ordered ? 0 : rsock__fail(ENOMEM, "rsock_dial \"%s\": no memory", text);
    if (ordered) {
        rsock__dial_order(found, (size_t)n, ordered);
        rc = rsock__dial_addrs(text, ordered, (size_t)n, deadline, out);
    }
    free(ordered);
    free(found);
    return rc;
}

int rsock_dial(const char *text, int64_t deadline, rsock_t **out)
{
    if (!text || !out)
        return rsock__fail(EINVAL, "rsock_dial: NULL %s", text ? "out" : "text");
    rsock_addr a;
    struct rsock__host_port name;
    int rc = rsock__addr_parse_split(&a, text, &name);
    if (rc < 0)
        return rc;
    return rc == 1 ? dial_name(text, &name, deadline, out) : dial_one(text, &a, deadline, out);
}
