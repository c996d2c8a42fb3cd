/* rsock_relay: both directions at once, half-closes, byte counts, an
 * error on one side stopping the other at once, idle limit, deadline, bad
 * input, nothing leaked.  The relay sits between two real connections:
 *   client <-> a [relay] b <-> server                                   */
#include "check.h"
#include "fiber.h"
#include "io_internal.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOON 200  /* ms: "at once", loose for ASan */
#define LATE 2000 /* ms */

static void unix_pair(rsock_t **x, rsock_t **y)
{
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    REQUIRE(rsock_fdopen(fds[0], x) == 0);
    REQUIRE(rsock_fdopen(fds[1], y) == 0);
}

static void tcp_pair(rsock_t **x, rsock_t **y)
{
    rsock_t *l;
    rsock_addr a;
    char text[RSOCK_ADDRSTRLEN];
    REQUIRE(rsock_listen_on("127.0.0.1:0", -1, &l) == 0);
    REQUIRE(rsock_getsockname(l, &a) == 0);
    REQUIRE(rsock_addr_format(&a, text, sizeof text) > 0);
    REQUIRE(rsock_dial(text, rsock_now() + 5000, x) == 0);
    REQUIRE(rsock_accept_wait(l, NULL, y, rsock_now() + 5000) == 0);
    rsock_close(l);
}

struct conn {
    rsock_t *client, *a, *b, *server;
};

static void conn_open(struct conn *c, bool tcp)
{
    (tcp ? tcp_pair : unix_pair)(&c->client, &c->a);
    (tcp ? tcp_pair : unix_pair)(&c->b, &c->server);
}

static void conn_close(struct conn *c)
{
    rsock_close(c->client);
    rsock_close(c->a);
    rsock_close(c->b);
    rsock_close(c->server);
}

struct relay_run {
    struct conn *c;
    int64_t deadline, idle_ms;
    int flags;
    int rc;
    rsock_relay_stats st;
    int64_t took;
    int after; /* a sleep's result after the relay */
};

static void relay_fiber(void *arg)
{
    struct relay_run *r = arg;
    int64_t t0 = rsock_now();
    r->rc = rsock_relay(r->c->a, r->c->b, r->deadline, r->idle_ms, r->flags, &r->st);
    r->took = rsock_now() - t0;
    /* the relay's own cancels are spent: this fiber's next wait waits */
    r->after = rsock_sleep(rsock_now() + 1);
}

static rsock_fiber *relay_start(struct relay_run *r)
{
    rsock_fiber *f;
    REQUIRE(rsock_spawn(relay_fiber, r, &f) == 0);
    return f;
}

static void read_exact(rsock_t *s, const char *want)
{
    char buf[64] = {0};
    size_t n = strlen(want);
    CHECK_EQ(rsock_read_full(s, buf, n, NULL, rsock_now() + 5000), (ssize_t)n);
    CHECK_STR(buf, want);
}

static void read_eof(rsock_t *s)
{
    char c;
    CHECK_EQ(rsock_read(s, &c, 1, rsock_now() + 5000), 0);
}

static void write_text(rsock_t *s, const char *text)
{
    CHECK_EQ(rsock_write_all(s, text, strlen(text), rsock_now() + 5000), (ssize_t)strlen(text));
}

/* Echo through the relay; the client half-closes first, the server answers
 * after it saw the end, then closes. */
static void echo_client_first(bool tcp, int flags)
{
    int fds = check_fd_count();
    long fibers = rsock__sched_get()->live;
    struct conn c;
    conn_open(&c, tcp);
    struct relay_run r = {.c = &c, .deadline = rsock_now() + 10000, .flags = flags, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    write_text(c.client, "hello");
    read_exact(c.server, "hello");
    write_text(c.server, "HELLO");
    read_exact(c.client, "HELLO");
    CHECK_EQ(rsock_shutdown(c.client, SHUT_WR), 0);
    read_eof(c.server); /* the relay shut b down for writing */
    write_text(c.server, "bye");
    CHECK_EQ(rsock_shutdown(c.server, SHUT_WR), 0);
    read_exact(c.client, "bye");
    read_eof(c.client);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.st.a_to_b, 5);
    CHECK_EQ(r.st.b_to_a, 8);
    CHECK_EQ(rsock__sched_get()->live, fibers);
    conn_close(&c);
    rsock__io_pool_drain(); /* pooled pipes are kept for reuse */
    CHECK_EQ(check_fd_count(), fds);
}

static void test_echo_unix(void)
{
    echo_client_first(false, 0);
}
static void test_echo_tcp(void)
{
    echo_client_first(true, 0);
}
static void test_echo_buffer(void)
{
    echo_client_first(true, RSOCK_COPY_BUFFER);
}
static void test_echo_splice(void)
{
    echo_client_first(true, RSOCK_COPY_SPLICE);
}

/* RSOCK_RELAY_CLOSING: the client's half-close still travels (the first
 * direction to end shuts b down), but the direction that ends second does
 * not shut a down: the client sees its end of stream only when the caller
 * closes a, as it promised. */
static void closing_skips_last_shutdown(bool tcp, int copy_flags)
{
    int fds = check_fd_count();
    struct conn c;
    conn_open(&c, tcp);
    struct relay_run r = {.c = &c,
                          .deadline = rsock_now() + 10000,
                          .flags = copy_flags | RSOCK_RELAY_CLOSING,
                          .rc = 1};
    rsock_fiber *f = relay_start(&r);
    write_text(c.client, "hello");
    read_exact(c.server, "hello");
    CHECK_EQ(rsock_shutdown(c.client, SHUT_WR), 0);
    read_eof(c.server); /* the first end: shut down as ever */
    write_text(c.server, "bye");
    CHECK_EQ(rsock_shutdown(c.server, SHUT_WR), 0);
    read_exact(c.client, "bye");
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.st.a_to_b, 5);
    CHECK_EQ(r.st.b_to_a, 3);
    char ch;
    CHECK_ERR(rsock_read(c.client, &ch, 1, rsock_now() + 100), ETIMEDOUT, "");
    rsock_close(c.a); /* the caller's close ends the stream */
    c.a = NULL;
    read_eof(c.client);
    rsock_close(c.client);
    rsock_close(c.b);
    rsock_close(c.server);
    rsock__io_pool_drain();
    CHECK_EQ(check_fd_count(), fds);
}

static void test_closing_tcp(void)
{
    closing_skips_last_shutdown(true, 0);
}
static void test_closing_unix_buffer(void)
{
    closing_skips_last_shutdown(false, RSOCK_COPY_BUFFER);
}

/* RSOCK_RELAY_CLOSING when the server ends first: the client's side (the
 * second end) is the one left to the close. */
static void test_closing_server_first(void)
{
    struct conn c;
    conn_open(&c, true);
    struct relay_run r = {
        .c = &c, .deadline = rsock_now() + 10000, .flags = RSOCK_RELAY_CLOSING, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    write_text(c.server, "banner");
    CHECK_EQ(rsock_shutdown(c.server, SHUT_WR), 0);
    read_exact(c.client, "banner");
    read_eof(c.client); /* the first end: shut down as ever */
    write_text(c.client, "late");
    read_exact(c.server, "late");
    CHECK_EQ(rsock_shutdown(c.client, SHUT_WR), 0);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, 0);
    char ch;
    CHECK_ERR(rsock_read(c.server, &ch, 1, rsock_now() + 100), ETIMEDOUT, "");
    rsock_close(c.b);
    c.b = NULL;
    read_eof(c.server);
    rsock_close(c.client);
    rsock_close(c.a);
    rsock_close(c.server);
}

/* The server half-closes first: the client still talks, and is heard. */
static void test_server_half_closes_first(void)
{
    struct conn c;
    conn_open(&c, true);
    struct relay_run r = {.c = &c, .deadline = rsock_now() + 10000, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    write_text(c.server, "banner");
    CHECK_EQ(rsock_shutdown(c.server, SHUT_WR), 0);
    read_exact(c.client, "banner");
    read_eof(c.client);
    write_text(c.client, "late words");
    read_exact(c.server, "late words");
    CHECK_EQ(rsock_shutdown(c.client, SHUT_WR), 0);
    read_eof(c.server);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.st.a_to_b, 10);
    CHECK_EQ(r.st.b_to_a, 6);
    conn_close(&c);
}

/* Close with a reset (SO_LINGER 0). */
static void reset(rsock_t *s)
{
    REQUIRE(rsock_setsockopt_linger(s, true, 0) == 0);
    rsock_close(s);
}

/* The server resets while the client is silent: the relay's b -> a side
 * fails and the silent a -> b side is stopped at once. */
static void test_reset_on_b_stops_a(void)
{
    int fds = check_fd_count();
    long fibers = rsock__sched_get()->live;
    struct conn c;
    conn_open(&c, true);
    struct relay_run r = {.c = &c, .deadline = rsock_now() + 10000, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    write_text(c.client, "ping");
    read_exact(c.server, "ping");
    int64_t t0 = rsock_now();
    reset(c.server);
    c.server = NULL;
    CHECK_EQ(rsock_join(f, t0 + 5000), 0);
    CHECK(rsock_now() - t0 < SOON);
    CHECK_EQ(r.rc, -ECONNRESET);
    CHECK_EQ(r.after, 0);
    CHECK(strstr(rsock_error_message(), "rsock_relay") != NULL);
    CHECK_EQ(r.st.a_to_b, 4);
    CHECK_EQ(rsock__sched_get()->live, fibers);
    conn_close(&c);
    rsock__io_pool_drain(); /* pooled pipes are kept for reuse */
    CHECK_EQ(check_fd_count(), fds);
}

/* The client resets while the server is silent: the caller's a -> b side
 * fails and the helper's silent b -> a side is stopped at once. */
static void test_reset_on_a_stops_b(void)
{
    struct conn c;
    conn_open(&c, true);
    struct relay_run r = {.c = &c, .deadline = rsock_now() + 10000, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    write_text(c.server, "pong");
    read_exact(c.client, "pong");
    int64_t t0 = rsock_now();
    reset(c.client);
    c.client = NULL;
    CHECK_EQ(rsock_join(f, t0 + 5000), 0);
    CHECK(rsock_now() - t0 < SOON);
    CHECK_EQ(r.rc, -ECONNRESET);
    CHECK_EQ(r.after, 0);
    CHECK_EQ(r.st.b_to_a, 4);
    conn_close(&c);
}

/* The helper fails while the caller is ready to run (bytes came to `a` in
 * the same poll as the reset on `b`): the cancel that stops the caller must
 * not outlive the relay and fail the caller's next wait. */
static void test_failure_while_caller_ready(void)
{
    struct conn c;
    unix_pair(&c.client, &c.a);
    tcp_pair(&c.b, &c.server);
    struct relay_run r = {.c = &c, .deadline = rsock_now() + 10000, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    rsock_yield(); /* the relay starts, both directions park */
    rsock_yield();
    reset(c.server); /* b -> a fails first: its event comes first */
    c.server = NULL;
    write_text(c.client, "late");
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, -ECONNRESET);
    CHECK_EQ(r.after, 0);
    conn_close(&c);
}

/* No byte either way for idle_ms: -ETIMEDOUT. */
static void test_idle_limit(void)
{
    struct conn c;
    conn_open(&c, false);
    struct relay_run r = {.c = &c, .deadline = -1, .idle_ms = 150, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, -ETIMEDOUT);
    CHECK(strstr(rsock_error_message(), "idle") != NULL);
    CHECK(r.took >= 149);
    CHECK(r.took < LATE);
    conn_close(&c);
}

struct trickle {
    rsock_t *s;
    int count;
    int64_t gap;
};

static void trickler(void *arg)
{
    struct trickle *t = arg;
    for (int i = 0; i < t->count; i++) {
        rsock_sleep(rsock_now() + t->gap); /* the gap is what is tested */
        write_text(t->s, "x");
    }
}

/* Bytes one way keep both directions alive: the idle clock is shared. */
static void test_idle_clock_shared(void)
{
    struct conn c;
    conn_open(&c, false);
    struct relay_run r = {.c = &c, .deadline = -1, .idle_ms = 200, .rc = 1};
    struct trickle t = {.s = c.client, .count = 6, .gap = 60};
    rsock_fiber *f = relay_start(&r), *w;
    REQUIRE(rsock_spawn(trickler, &t, &w) == 0);
    CHECK_EQ(rsock_join(w, rsock_now() + 5000), 0);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, -ETIMEDOUT);
    CHECK(r.took >= 6 * 60 + 199); /* alive while the bytes came, then idle */
    CHECK_EQ(r.st.a_to_b, 6);
    conn_close(&c);
}

static void test_deadline(void)
{
    struct conn c;
    conn_open(&c, false);
    struct relay_run r = {.c = &c, .deadline = rsock_now() + 200, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, -ETIMEDOUT);
    CHECK(strstr(rsock_error_message(), "deadline") != NULL);
    CHECK(r.took >= 199);
    CHECK(r.took < LATE);
    conn_close(&c);
}

/* Cancelling the relaying fiber stops both directions. */
static void test_cancel(void)
{
    long fibers = rsock__sched_get()->live;
    struct conn c;
    conn_open(&c, false);
    struct relay_run r = {.c = &c, .deadline = -1, .rc = 1};
    rsock_fiber *f = relay_start(&r);
    rsock_yield(); /* the relay starts, both directions park */
    rsock_yield();
    CHECK_EQ(rsock_cancel(f), 0);
    CHECK_EQ(rsock_join(f, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, -ECANCELED);
    CHECK(r.took < SOON);
    CHECK_EQ(r.after, 0);
    CHECK_EQ(rsock__sched_get()->live, fibers);
    conn_close(&c);
}

/* A member of a cancelled group cannot park: the relay still ends its
 * helper before it returns. */
static void test_group_cancel(void)
{
    long fibers = rsock__sched_get()->live;
    struct conn c;
    conn_open(&c, false);
    struct relay_run r = {.c = &c, .deadline = -1, .rc = 1};
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    REQUIRE(rsock_group_spawn(g, relay_fiber, &r) == 0);
    rsock_yield(); /* the relay starts, both directions park */
    rsock_yield();
    CHECK_EQ(rsock_group_cancel(g), 0);
    CHECK_EQ(rsock_group_wait(g, rsock_now() + 5000), 0);
    CHECK_EQ(r.rc, -ECANCELED);
    CHECK(r.took < SOON);
    CHECK_EQ(rsock_group_close(g), 0);
    CHECK_EQ(rsock__sched_get()->live, fibers);
    conn_close(&c);
}

/* Bulk both ways at once: every byte counted. */
struct bulk {
    rsock_t *s;
    size_t bytes;
    size_t got;
};

static void bulk_writer(void *arg)
{
    struct bulk *b = arg;
    static char chunk[32768];
    for (size_t done = 0; done < b->bytes; done += sizeof chunk)
        REQUIRE(rsock_write_all(b->s, chunk, sizeof chunk, rsock_now() + 10000) > 0);
    REQUIRE(rsock_shutdown(b->s, SHUT_WR) == 0);
}

static void bulk_reader(void *arg)
{
    struct bulk *b = arg;
    static char buf[65536]; /* shared: only counted */
    ssize_t n;
    while ((n = rsock_read(b->s, buf, sizeof buf, rsock_now() + 10000)) > 0)
        b->got += (size_t)n;
}

static void test_bulk_both_ways(void)
{
    struct conn c;
    conn_open(&c, true);
    size_t up = 4u << 20, down = 3u << 20;
    struct bulk w1 = {c.client, up, 0}, w2 = {c.server, down, 0};
    struct bulk r1 = {c.server, 0, 0}, r2 = {c.client, 0, 0};
    rsock_fiber *f[4];
    REQUIRE(rsock_spawn(bulk_writer, &w1, &f[0]) == 0);
    REQUIRE(rsock_spawn(bulk_writer, &w2, &f[1]) == 0);
    REQUIRE(rsock_spawn(bulk_reader, &r1, &f[2]) == 0);
    REQUIRE(rsock_spawn(bulk_reader, &r2, &f[3]) == 0);
    rsock_relay_stats st;
    CHECK_EQ(rsock_relay(c.a, c.b, rsock_now() + 20000, 0, 0, &st), 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(rsock_join(f[i], rsock_now() + 5000), 0);
    CHECK_EQ(st.a_to_b, (int64_t)up);
    CHECK_EQ(st.b_to_a, (int64_t)down);
    CHECK_EQ(r1.got, up);
    CHECK_EQ(r2.got, down);
    conn_close(&c);
}

static void test_refusals(void)
{
    rsock_t *x, *y;
    unix_pair(&x, &y);
    rsock_relay_stats st = {7, 7};
    CHECK_ERR(rsock_relay(NULL, y, -1, 0, 0, &st), EINVAL, "rsock_relay: NULL a");
    CHECK_EQ(st.a_to_b, 0);
    CHECK_EQ(st.b_to_a, 0);
    CHECK_ERR(rsock_relay(x, NULL, -1, 0, 0, NULL), EINVAL, "rsock_relay: NULL b");
    CHECK_ERR(rsock_relay(x, x, -1, 0, 0, NULL), EINVAL, "one socket");
    CHECK_ERR(rsock_relay(x, y, -1, 0, 8, NULL), EINVAL, "bad flags");
    CHECK_ERR(rsock_relay(x, y, -1, 0, 8 | RSOCK_RELAY_CLOSING, NULL), EINVAL, "bad flags");
    /* a direction that cannot start (a shut for reading) is the relay's error */
    REQUIRE(rsock_shutdown(x, SHUT_RD) == 0);
    CHECK_ERR(rsock_relay(x, y, rsock_now() + 1000, 0, 0, NULL), EBADF, "shut down");
    rsock_close(x);
    rsock_close(y);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);            /* lets the copies splice */
    REQUIRE(rsock__sched_get() != NULL); /* its epoll descriptor stays: count from here */
    RUN(test_echo_unix);
    RUN(test_echo_tcp);
    RUN(test_echo_buffer);
    RUN(test_echo_splice);
    RUN(test_closing_tcp);
    RUN(test_closing_unix_buffer);
    RUN(test_closing_server_first);
    RUN(test_server_half_closes_first);
    RUN(test_reset_on_b_stops_a);
    RUN(test_reset_on_a_stops_b);
    RUN(test_failure_while_caller_ready);
    RUN(test_idle_limit);
    RUN(test_idle_clock_shared);
    RUN(test_deadline);
    RUN(test_cancel);
    RUN(test_group_cancel);
    RUN(test_bulk_both_ways);
    RUN(test_refusals);
    return check_done();
}
