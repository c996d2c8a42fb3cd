/* rsock_dial: one parse, one resolution, and the Happy Eyeballs race
 * (RFC 8305) through rsock__dial_addrs with address lists no resolver
 * would give.  A "blackhole" is a loopback listener whose accept queue is
 * full: the kernel drops SYNs to it, so a connect there stays pending.  A
 * "closed" address is a bound socket that does not listen: it refuses. */
#include "check.h"
#include "dial.h"
#include "fiber.h"
#include "sandbox.h"

#include <errno.h>
#include <unistd.h>

/* Loose bounds: timers fire late under load and ASan, never early. */
#define SOON 200  /* ms: "at once" */
#define LATE 2000 /* ms: well past any expected delay */

static void addr_text(const rsock_addr *a, char out[RSOCK_ADDRSTRLEN])
{
    REQUIRE(rsock_addr_format(a, out, RSOCK_ADDRSTRLEN) > 0);
}

static void addr_of(rsock_t *s, rsock_addr *a)
{
    REQUIRE(rsock_getsockname(s, a) == 0);
}

struct hole {
    rsock_t *l, *fill[4];
    int n;
    rsock_addr addr;
};

static void hole_open(struct hole *h, const char *where)
{
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on(where, 0, &h->l) == 0);
    addr_of(h->l, &h->addr);
    addr_text(&h->addr, text);
    int rc;
    h->n = 0;
    while (h->n < 4 && (rc = rsock_dial(text, rsock_now() + 100, &h->fill[h->n])) == 0)
        h->n++; /* the queue takes one or two */
    REQUIRE(rc == -ETIMEDOUT);
}

static void hole_close(struct hole *h)
{
    for (int i = 0; i < h->n; i++)
        rsock_close(h->fill[i]);
    rsock_close(h->l);
}

/* A bound socket that does not listen: connects to it are refused. */
static rsock_t *closed_at(const char *where, rsock_addr *a)
{
    rsock_t *s;
    REQUIRE(rsock_addr_parse(a, where) == 0);
    REQUIRE(rsock_socket(a->sa.sa_family, SOCK_STREAM, 0, &s) == 0);
    REQUIRE(rsock_bind(s, a) == 0);
    addr_of(s, a);
    return s;
}

static long live_fibers(void)
{
    return rsock__sched_get()->live;
}

/* ---- the one parse ---- */

static void test_split(void)
{
    rsock_addr a;
    struct rsock__host_port name = {.port = -1};
    CHECK_EQ(rsock__addr_parse_split(&a, "127.0.0.1:80", &name), 0);
    CHECK_EQ(rsock_addr_family(&a), AF_INET);
    CHECK_EQ(rsock__addr_parse_split(&a, "[::1]:80", &name), 0);
    CHECK_EQ(rsock_addr_family(&a), AF_INET6);
    CHECK_EQ(rsock__addr_parse_split(&a, "/tmp/x.sock", &name), 0);
    CHECK_EQ(rsock_addr_family(&a), AF_UNIX);
    CHECK_EQ(name.port, -1); /* untouched */
    CHECK_EQ(rsock__addr_parse_split(&a, "db:5432", &name), 1);
    CHECK_STR(name.host, "db");
    CHECK_EQ(name.port, 5432);
    CHECK_ERR(rsock__addr_parse_split(&a, "db", &name), EINVAL, "missing port");
    CHECK_ERR(rsock__addr_parse_split(&a, "db:99999", &name), EINVAL, "bad port");
    CHECK_ERR(rsock__addr_parse_split(&a, "1.2.3.999:80", &name), EINVAL, "bad IPv4");
    CHECK_ERR(rsock__addr_parse_split(&a, "db:1", NULL), EINVAL, "NULL name");
}

/* ---- the order ---- */

static void order_of(const char *const *in, size_t n, char *out, size_t size)
{
    rsock_addr a[8], b[8];
    for (size_t i = 0; i < n; i++)
        REQUIRE(rsock_addr_parse(&a[i], in[i]) == 0);
    rsock__dial_order(a, n, b);
    out[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char t[RSOCK_ADDRSTRLEN];
        addr_text(&b[i], t);
        snprintf(out + strlen(out), size - strlen(out), "%s%s", i ? " " : "", t);
    }
}

static void test_order_interleaves_ipv6_first(void)
{
    char got[512];
    const char *mixed[] = {"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "[::a]:1", "[::b]:1"};
    order_of(mixed, 5, got, sizeof got);
    CHECK_STR(got, "[::a]:1 10.0.0.1:1 [::b]:1 10.0.0.2:1 10.0.0.3:1");
    const char *more6[] = {"[::a]:1", "10.0.0.1:1", "[::b]:1", "[::c]:1"};
    order_of(more6, 4, got, sizeof got);
    CHECK_STR(got, "[::a]:1 10.0.0.1:1 [::b]:1 [::c]:1");
    const char *only4[] = {"10.0.0.2:1", "10.0.0.1:1"};
    order_of(only4, 2, got, sizeof got);
    CHECK_STR(got, "10.0.0.2:1 10.0.0.1:1");
}

/* ---- the race ---- */

/* The first refuses: the second starts at once, not after the delay. */
static void test_refused_then_next_at_once(void)
{
    int fds = check_fd_count();
    long fibers = live_fibers();
    rsock_addr addrs[2];
    rsock_t *closed = closed_at("[::1]:0", &addrs[0]);
    rsock_t *l, *c, *a;
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    addr_of(l, &addrs[1]);
    int64_t t0 = rsock_now();
    CHECK_EQ(rsock__dial_addrs("test", addrs, 2, t0 + 5000, &c), 0);
    CHECK(rsock_now() - t0 < SOON);
    CHECK_EQ(rsock_domain(c), AF_INET);
    CHECK_EQ(rsock_accept_wait(l, NULL, &a, rsock_now() + 1000), 0);
    CHECK_EQ(live_fibers(), fibers);
    rsock_close(a);
    rsock_close(c);
    rsock_close(l);
    rsock_close(closed);
    CHECK_EQ(check_fd_count(), fds);
}

/* The first hangs: the second starts RSOCK_DIAL_DELAY_MS later and wins;
 * the first is closed. */
static void test_hanging_then_next_after_delay(void)
{
    int fds = check_fd_count();
    long fibers = live_fibers();
    struct hole h;
    hole_open(&h, "[::1]:0");
    rsock_addr addrs[2] = {h.addr};
    rsock_t *l, *c;
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    addr_of(l, &addrs[1]);
    int64_t t0 = rsock_now();
    CHECK_EQ(rsock__dial_addrs("test", addrs, 2, t0 + 5000, &c), 0);
    int64_t took = rsock_now() - t0;
    CHECK(took >= RSOCK_DIAL_DELAY_MS - 1);
    CHECK(took < LATE);
    CHECK_EQ(rsock_domain(c), AF_INET);
    CHECK_EQ(live_fibers(), fibers);
    rsock_close(c);
    rsock_close(l);
    hole_close(&h);
    CHECK_EQ(check_fd_count(), fds); /* the pending IPv6 attempt was closed */
}

/* The first that connects wins even when it started last. */
static void test_third_wins_while_two_hang(void)
{
    int fds = check_fd_count();
    struct hole h6, h4;
    hole_open(&h6, "[::1]:0");
    hole_open(&h4, "127.0.0.1:0");
    rsock_addr addrs[3] = {h6.addr, h4.addr};
    rsock_t *l, *c;
    REQUIRE(rsock_listen_on("[::1]:0", -1, &l) == 0);
    addr_of(l, &addrs[2]);
    int64_t t0 = rsock_now();
    CHECK_EQ(rsock__dial_addrs("test", addrs, 3, t0 + 5000, &c), 0);
    int64_t took = rsock_now() - t0;
    CHECK(took >= 2 * RSOCK_DIAL_DELAY_MS - 1);
    CHECK(took < LATE);
    rsock_addr peer, want;
    addr_of(l, &want);
    CHECK_EQ(rsock_getpeername(c, &peer), 0);
    CHECK(memcmp(&peer.in6.sin6_port, &want.in6.sin6_port, 2) == 0);
    rsock_close(c);
    rsock_close(l);
    hole_close(&h4);
    hole_close(&h6);
    CHECK_EQ(check_fd_count(), fds);
}

/* Every attempt hangs: the deadline ends the whole dial. */
static void test_deadline_bounds_all(void)
{
    int fds = check_fd_count();
    long fibers = live_fibers();
    struct hole h6, h4;
    hole_open(&h6, "[::1]:0");
    hole_open(&h4, "127.0.0.1:0");
    rsock_addr addrs[2] = {h6.addr, h4.addr};
    rsock_t *c = NULL;
    int64_t t0 = rsock_now();
    CHECK_ERR(rsock__dial_addrs("holes", addrs, 2, t0 + 400, &c), ETIMEDOUT,
              "rsock_dial \"holes\": timed out");
    int64_t took = rsock_now() - t0;
    CHECK(took >= 399);
    CHECK(took < 400 + LATE);
    CHECK(c == NULL);
    CHECK_EQ(live_fibers(), fibers);
    hole_close(&h4);
    hole_close(&h6);
    CHECK_EQ(check_fd_count(), fds);
}

/* All refuse: the error is the first attempt's (its address in the text). */
static void test_all_fail_first_error(void)
{
    int fds = check_fd_count();
    rsock_addr addrs[2];
    rsock_t *c6 = closed_at("[::1]:0", &addrs[0]);
    rsock_t *c4 = closed_at("127.0.0.1:0", &addrs[1]);
    char first[RSOCK_ADDRSTRLEN], second[RSOCK_ADDRSTRLEN];
    addr_text(&addrs[0], first);
    addr_text(&addrs[1], second);
    rsock_t *c = NULL;
    int64_t t0 = rsock_now();
    CHECK_ERR(rsock__dial_addrs("both", addrs, 2, t0 + 5000, &c), ECONNREFUSED,
              "Connection refused");
    CHECK(rsock_now() - t0 < SOON); /* each failure started the next at once */
    CHECK(strstr(rsock_error_message(), first) != NULL);
    CHECK(strstr(rsock_error_message(), second) == NULL);
    rsock_addr swapped[2] = {addrs[1], addrs[0]};
    CHECK_ERR(rsock__dial_addrs("both", swapped, 2, rsock_now() + 5000, &c), ECONNREFUSED, second);
    CHECK(c == NULL);
    rsock_close(c6);
    rsock_close(c4);
    CHECK_EQ(check_fd_count(), fds);
}

/* Different errors: the first attempt's wins even though it came first
 * and the other came last.  No route in a sandbox: -ENETUNREACH at once. */
static void first_error_kind(void)
{
    rsock_addr addrs[2];
    REQUIRE(rsock_addr_parse(&addrs[0], "[2001:db8::1]:80") == 0);
    rsock_t *c4 = closed_at("127.0.0.1:0", &addrs[1]);
    rsock_t *c = NULL;
    CHECK_ERR(rsock__dial_addrs("x", addrs, 2, rsock_now() + 5000, &c), ENETUNREACH,
              "[2001:db8::1]:80");
    rsock_addr swapped[2] = {addrs[1], addrs[0]};
    CHECK_ERR(rsock__dial_addrs("x", swapped, 2, rsock_now() + 5000, &c), ECONNREFUSED,
              "Connection refused");
    rsock_close(c4);
}

static void test_first_error_kind(void)
{
    CHECK_SANDBOXED(first_error_kind);
}

struct dialer {
    rsock_addr addrs[2];
    int rc;
    rsock_t *c;
};

static void dial_in_fiber(void *arg)
{
    struct dialer *d = arg;
    d->rc = rsock__dial_addrs("cancelled", d->addrs, 2, rsock_now() + 5000, &d->c);
}

/* A cancel of the dialing fiber ends the dial at once, attempts closed. */
static void test_cancel(void)
{
    int fds = check_fd_count();
    long fibers = live_fibers();
    struct hole h6, h4;
    hole_open(&h6, "[::1]:0");
    hole_open(&h4, "127.0.0.1:0");
    struct dialer d = {.addrs = {h6.addr, h4.addr}, .rc = 1};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(dial_in_fiber, &d, &f) == 0);
    rsock_yield(); /* the dialer starts its first attempt and sleeps */
    rsock_yield(); /* the attempt connects and parks */
    int64_t t0 = rsock_now();
    CHECK_EQ(rsock_cancel(f), 0);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK(rsock_now() - t0 < SOON);
    CHECK_EQ(d.rc, -ECANCELED);
    CHECK(strstr(rsock_error_message(), "cancelled") != NULL);
    CHECK_EQ(live_fibers(), fibers);
    hole_close(&h4);
    hole_close(&h6);
    CHECK_EQ(check_fd_count(), fds);
}

/* A member of a cancelled group cannot park: the dial still ends every
 * attempt (closing its socket) before it returns. */
static void test_group_cancel(void)
{
    int fds = check_fd_count();
    long fibers = live_fibers();
    struct hole h6, h4;
    hole_open(&h6, "[::1]:0");
    hole_open(&h4, "127.0.0.1:0");
    struct dialer d = {.addrs = {h6.addr, h4.addr}, .rc = 1};
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    REQUIRE(rsock_group_spawn(g, dial_in_fiber, &d) == 0);
    rsock_yield(); /* the dialer starts its first attempt and sleeps */
    rsock_yield(); /* the attempt connects and parks */
    int64_t t0 = rsock_now();
    CHECK_EQ(rsock_group_cancel(g), 0);
    CHECK_EQ(rsock_group_wait(g, t0 + 5000), 0);
    CHECK(rsock_now() - t0 < SOON);
    CHECK_EQ(d.rc, -ECANCELED);
    CHECK_EQ(rsock_group_close(g), 0);
    CHECK_EQ(live_fibers(), fibers);
    hole_close(&h4);
    hole_close(&h6);
    CHECK_EQ(check_fd_count(), fds);
}

static void test_refusals(void)
{
    rsock_addr a;
    rsock_t *c = NULL;
    REQUIRE(rsock_addr_parse(&a, "127.0.0.1:1") == 0);
    CHECK_ERR(rsock__dial_addrs("x", &a, 0, -1, &c), EINVAL, "no addresses");
    CHECK_ERR(rsock__dial_addrs("x", NULL, 1, -1, &c), EINVAL, "no addresses");
    CHECK_ERR(rsock__dial_addrs("x", &a, 1, -1, NULL), EINVAL, "no addresses");
    CHECK_ERR(rsock_dial("db", -1, &c), EINVAL, "missing port");
    CHECK(c == NULL);
}

/* ---- by name, in a sandbox whose /etc/hosts gives rsock-test-both ::1
 * and 127.0.0.1 ---- */

static void name_races(void)
{
    int fds = check_fd_count();
    struct hole h;
    hole_open(&h, "[::1]:0");
    char v4[64], name[64];
    int port = ntohs(h.addr.in6.sin6_port);
    snprintf(v4, sizeof v4, "127.0.0.1:%d", port);
    snprintf(name, sizeof name, "rsock-test-both:%d", port);
    rsock_t *l, *c;
    REQUIRE(rsock_listen_on(v4, -1, &l) == 0);
    int64_t t0 = rsock_now();
    CHECK_EQ(rsock_dial(name, t0 + 5000, &c), 0); /* IPv6 first: it hangs, IPv4 wins */
    CHECK(rsock_now() - t0 >= RSOCK_DIAL_DELAY_MS - 1);
    CHECK_EQ(rsock_domain(c), AF_INET);
    rsock_close(c);
    rsock_close(l);
    hole_close(&h);
    /* both refuse: the error is IPv6's, tried first */
    CHECK_ERR(rsock_dial(name, rsock_now() + 5000, &c), ECONNREFUSED, "[::1]");
    CHECK(strstr(rsock_error_message(), name) != NULL);
    CHECK_EQ(check_fd_count(), fds);
}

static void test_name_races(void)
{
    CHECK_SANDBOXED(name_races);
}

struct lookup {
    const char *text;
    int rc;
    int64_t took;
};

static void dial_timed(void *arg)
{
    struct lookup *l = arg;
    rsock_t *c = NULL;
    int64_t t0 = rsock_now();
    l->rc = rsock_dial(l->text, t0 + 5000, &c);
    l->took = rsock_now() - t0;
    rsock_close(c);
}

/* One resolution, even when it fails (a name that does not resolve was
 * looked up a second time by the parser before). */
static void name_resolved_once(void)
{
    __atomic_store_n(&rsock__resolve_test_delay_ms, 500, __ATOMIC_RELAXED); /* each lookup takes 500 ms more */
    struct lookup l = {.text = "rsock-test-nowhere:80"};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(dial_timed, &l, &f) == 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(l.rc, -ENOENT);
    CHECK(l.took >= 500);
    CHECK(l.took < 1000); /* two lookups would take 1000 */
    rsock_t *x;
    CHECK_ERR(rsock_dial("rsock-test-nowhere:80", -1, &x), ENOENT, "rsock-test-nowhere");
    __atomic_store_n(&rsock__resolve_test_delay_ms, 0, __ATOMIC_RELAXED);
}

static void test_name_resolved_once(void)
{
    CHECK_SANDBOXED(name_resolved_once);
}

int main(void)
{
    REQUIRE(rsock__sched_get() != NULL); /* its epoll descriptor stays: count from here */
    RUN(test_split);
    RUN(test_order_interleaves_ipv6_first);
    RUN(test_refused_then_next_at_once);
    RUN(test_hanging_then_next_after_delay);
    RUN(test_third_wins_while_two_hang);
    RUN(test_deadline_bounds_all);
    RUN(test_all_fail_first_error);
    RUN(test_first_error_kind);
    RUN(test_cancel);
    RUN(test_group_cancel);
    RUN(test_refusals);
    RUN(test_name_races);
    RUN(test_name_resolved_once);
    return check_done();
}
