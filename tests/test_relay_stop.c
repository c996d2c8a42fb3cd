/* rsock_relay_stop: a relay stopped mid-stream by a channel, then a second
 * relay on the same sockets: every byte arrives once, in order (a counted
 * pattern checked at both ends), by each copy method, over Unix and TCP;
 * an idle relay stops at once; a stop before the start reads nothing; a
 * half-closed direction stays closed; relays that end first return 0; bad
 * input is refused; no descriptor leaks.
 *   client <-> a [relay] b <-> server                                   */
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define SOON 500 /* ms: "at once", loose for ASan */
#define TOTAL (8 << 20)
#define CHUNK 65536

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
    REQUIRE(rsock_dial(text, rsock_after(5000), x) == 0);
    REQUIRE(rsock_accept_wait(l, NULL, y, rsock_after(5000)) == 0);
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

static uint8_t pattern(int64_t at)
{
    return (uint8_t)(at % 251); /* a prime: a lost or repeated chunk shows */
}

/* One end: writes TOTAL pattern bytes then shuts down; reads and checks
 * TOTAL bytes then end of stream.  `progress` gets a signal once it has
 * read TOTAL / 4 (the moment to stop the first relay). */
struct end {
    rsock_t *s;
    rsock_chan *progress;
    uint8_t buf[CHUNK]; /* the writer's own */
    int64_t written, read;
    bool bad_byte, eof;
};

static void writer(void *arg)
{
    struct end *e = arg;
    while (e->written < TOTAL) {
        for (int i = 0; i < CHUNK; i++)
            e->buf[i] = pattern(e->written + i);
        if (rsock_write_all(e->s, e->buf, CHUNK, rsock_after(20000)) < 0)
            return;
        e->written += CHUNK;
    }
    rsock_shutdown(e->s, SHUT_WR);
}

static void reader(void *arg)
{
    struct end *e = arg;
    uint8_t buf[4096];
    bool told = false;
    for (;;) {
        ssize_t n = rsock_read(e->s, buf, sizeof buf, rsock_after(20000));
        if (n <= 0) {
            e->eof = n == 0;
            return;
        }
        for (ssize_t i = 0; i < n; i++)
            e->bad_byte |= buf[i] != pattern(e->read + i);
        e->read += n;
        if (!told && e->read >= TOTAL / 4 && e->progress) {
            rsock_chan_send(e->progress, NULL, -1);
            told = true;
        }
    }
}

struct relay_args {
    struct conn *c;
    int flags;
    rsock_chan *stop;
    int rc;
    rsock_relay_stats st;
    int64_t stopped_at;
};

static void relay_fiber(void *arg)
{
    struct relay_args *r = arg;
    r->rc = r->stop ? rsock_relay_stop(r->c->a, r->c->b, -1, 0, r->flags, r->stop, &r->st)
                    : rsock_relay(r->c->a, r->c->b, -1, 0, r->flags, &r->st);
    r->stopped_at = rsock_now();
}

/* Both ways at once: stop the first relay a quarter in, finish with a
 * second; each end must read exactly the other's TOTAL pattern bytes. */
static void stop_mid_stream(bool tcp, int flags)
{
    struct conn c;
    conn_open(&c, tcp);
    rsock_chan *progress, *stop;
    REQUIRE(rsock_chan_new(0, 2, &progress) == 0);
    REQUIRE(rsock_chan_new(0, 0, &stop) == 0);
    struct end *ends = calloc(2, sizeof *ends);
    REQUIRE(ends != NULL);
    struct end *cl = &ends[0], *sv = &ends[1];
    *cl = (struct end){.s = c.client, .progress = progress};
    *sv = (struct end){.s = c.server, .progress = progress};
    rsock_fiber *f[5];
    REQUIRE(rsock_spawn(writer, cl, &f[0]) == 0);
    REQUIRE(rsock_spawn(writer, sv, &f[1]) == 0);
    REQUIRE(rsock_spawn(reader, cl, &f[2]) == 0);
    REQUIRE(rsock_spawn(reader, sv, &f[3]) == 0);
    struct relay_args first = {.c = &c, .flags = flags, .stop = stop};
    REQUIRE(rsock_spawn(relay_fiber, &first, &f[4]) == 0);
    CHECK_EQ(rsock_chan_recv(progress, NULL, rsock_after(20000)), 0);
    rsock_chan_done(stop);
    CHECK_EQ(rsock_join(f[4], rsock_after(20000)), 0);
    CHECK_EQ(first.rc, -EINTR);
    CHECK(strstr(rsock_error_message(), "stopped") != NULL);
    CHECK(first.st.a_to_b + first.st.b_to_a >= TOTAL / 4);
    CHECK(first.st.a_to_b < TOTAL || first.st.b_to_a < TOTAL); /* really mid-stream */
    struct relay_args second = {.c = &c, .flags = flags};
    relay_fiber(&second);
    CHECK_EQ(second.rc, 0);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(rsock_join(f[i], rsock_after(20000)), 0);
    CHECK_EQ(first.st.a_to_b + second.st.a_to_b, TOTAL);
    CHECK_EQ(first.st.b_to_a + second.st.b_to_a, TOTAL);
    CHECK_EQ(sv->read, TOTAL);
    CHECK_EQ(cl->read, TOTAL);
    CHECK(!sv->bad_byte && !cl->bad_byte);
    CHECK(sv->eof && cl->eof);
    free(ends);
    rsock_chan_free(progress);
    rsock_chan_free(stop);
    conn_close(&c);
}

static void test_stop_unix_buffer(void) { stop_mid_stream(false, RSOCK_COPY_BUFFER); }
static void test_stop_tcp_buffer(void) { stop_mid_stream(true, RSOCK_COPY_BUFFER); }
static void test_stop_tcp_splice(void) { stop_mid_stream(true, RSOCK_COPY_SPLICE); }
static void test_stop_tcp_adaptive(void) { stop_mid_stream(true, 0); }

/* An idle relay stops at once (both directions parked for input), and the
 * next relay on the sockets still echoes. */
static void test_stop_idle(void)
{
    int fds = check_fd_count();
    struct conn c;
    conn_open(&c, true);
    rsock_chan *stop;
    REQUIRE(rsock_chan_new(0, 0, &stop) == 0);
    struct relay_args first = {.c = &c, .stop = stop};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(relay_fiber, &first, &f) == 0);
    REQUIRE(rsock_write_all(c.client, "ping", 4, rsock_after(5000)) == 4);
    char buf[8];
    CHECK_EQ(rsock_read_full(c.server, buf, 4, NULL, rsock_after(5000)), 4);
    int64_t t0 = rsock_now();
    rsock_chan_done(stop);
    CHECK_EQ(rsock_join(f, rsock_after(5000)), 0);
    CHECK_EQ(first.rc, -EINTR);
    CHECK(first.stopped_at - t0 < SOON);
    CHECK_EQ(first.st.a_to_b, 4);
    CHECK_EQ(first.st.b_to_a, 0);
    struct relay_args second = {.c = &c};
    REQUIRE(rsock_spawn(relay_fiber, &second, &f) == 0);
    REQUIRE(rsock_write_all(c.server, "pong", 4, rsock_after(5000)) == 4);
    CHECK_EQ(rsock_read_full(c.client, buf, 4, NULL, rsock_after(5000)), 4);
    CHECK(memcmp(buf, "pong", 4) == 0);
    rsock_shutdown(c.client, SHUT_WR);
    rsock_shutdown(c.server, SHUT_WR);
    CHECK_EQ(rsock_join(f, rsock_after(5000)), 0);
    CHECK_EQ(second.rc, 0);
    rsock_chan_free(stop);
    conn_close(&c);
    CHECK_EQ(check_fd_count(), fds);
}

/* A channel done before the relay: it returns -EINTR having read nothing;
 * what was sent waits for the next relay. */
static void test_stop_before_start(void)
{
    int fds = check_fd_count();
    struct conn c;
    conn_open(&c, false);
    rsock_chan *stop;
    REQUIRE(rsock_chan_new(0, 0, &stop) == 0);
    rsock_chan_done(stop);
    REQUIRE(rsock_write_all(c.client, "early", 5, rsock_after(5000)) == 5);
    struct relay_args first = {.c = &c, .stop = stop};
    relay_fiber(&first);
    CHECK_EQ(first.rc, -EINTR);
    CHECK_EQ(first.st.a_to_b + first.st.b_to_a, 0);
    rsock_shutdown(c.client, SHUT_WR);
    rsock_shutdown(c.server, SHUT_WR);
    struct relay_args second = {.c = &c};
    relay_fiber(&second);
    CHECK_EQ(second.rc, 0);
    CHECK_EQ(second.st.a_to_b, 5);
    char buf[8];
    CHECK_EQ(rsock_read_full(c.server, buf, 5, NULL, rsock_after(5000)), 5);
    CHECK(memcmp(buf, "early", 5) == 0);
    rsock_chan_free(stop);
    conn_close(&c);
    CHECK_EQ(check_fd_count(), fds);
}

/* The client half-closed before the stop: that direction stays ended (the
 * server saw its end of stream once, and b's device is shut for output);
 * the next relay, on new devices of the same descriptors as another
 * process would make them (rsock_fdopen), carries the other direction on. */
static void test_stop_half_closed(void)
{
    int fds = check_fd_count();
    struct conn c;
    conn_open(&c, true);
    rsock_chan *stop;
    REQUIRE(rsock_chan_new(0, 0, &stop) == 0);
    struct relay_args first = {.c = &c, .stop = stop};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(relay_fiber, &first, &f) == 0);
    REQUIRE(rsock_write_all(c.client, "bye", 3, rsock_after(5000)) == 3);
    rsock_shutdown(c.client, SHUT_WR);
    char buf[8];
    size_t got = 0;
    CHECK_EQ(rsock_read_full(c.server, buf, sizeof buf, &got, rsock_after(5000)), -EPIPE);
    CHECK_EQ(got, 3);
    rsock_chan_done(stop);
    CHECK_EQ(rsock_join(f, rsock_after(5000)), 0);
    CHECK_EQ(first.rc, -EINTR);
    struct conn moved = c;
    REQUIRE(rsock_fdopen(dup(rsock_fd(c.a)), &moved.a) == 0);
    REQUIRE(rsock_fdopen(dup(rsock_fd(c.b)), &moved.b) == 0);
    rsock_close(c.a);
    rsock_close(c.b);
    c.a = moved.a, c.b = moved.b;
    struct relay_args second = {.c = &c};
    REQUIRE(rsock_spawn(relay_fiber, &second, &f) == 0);
    REQUIRE(rsock_write_all(c.server, "late", 4, rsock_after(5000)) == 4);
    rsock_shutdown(c.server, SHUT_WR);
    CHECK_EQ(rsock_read_full(c.client, buf, sizeof buf, &got, rsock_after(5000)), -EPIPE);
    CHECK_EQ(got, 4);
    CHECK_EQ(rsock_join(f, rsock_after(5000)), 0);
    CHECK_EQ(second.rc, 0);
    CHECK_EQ(second.st.a_to_b, 0);
    CHECK_EQ(second.st.b_to_a, 4);
    rsock_chan_free(stop);
    conn_close(&c);
    CHECK_EQ(check_fd_count(), fds);
}

/* Both directions end before any stop: 0, as rsock_relay; the channel is
 * left as it was (its watcher ended with the relay). */
static void test_ends_before_stop(void)
{
    int fds = check_fd_count();
    struct conn c;
    conn_open(&c, false);
    rsock_chan *stop;
    REQUIRE(rsock_chan_new(0, 0, &stop) == 0);
    REQUIRE(rsock_write_all(c.client, "abc", 3, rsock_after(5000)) == 3);
    rsock_shutdown(c.client, SHUT_WR);
    rsock_shutdown(c.server, SHUT_WR);
    struct relay_args r = {.c = &c, .stop = stop};
    relay_fiber(&r);
    CHECK_EQ(r.rc, 0);
    CHECK_EQ(r.st.a_to_b, 3);
    CHECK_EQ(rsock_chan_free(stop), 0); /* nobody parked on it any more */
    conn_close(&c);
    CHECK_EQ(check_fd_count(), fds);
}

static void test_refusals(void)
{
    struct conn c;
    conn_open(&c, false);
    rsock_chan *stop;
    rsock_relay_stats st = {7, 7};
    REQUIRE(rsock_chan_new(0, 0, &stop) == 0);
    CHECK_ERR(rsock_relay_stop(c.a, c.b, -1, 0, 0, NULL, &st), EINVAL, "NULL stop");
    CHECK(st.a_to_b == 0 && st.b_to_a == 0);
    CHECK_ERR(rsock_relay_stop(c.a, c.a, -1, 0, 0, stop, NULL), EINVAL, "one socket");
    CHECK_ERR(rsock_relay_stop(NULL, c.b, -1, 0, 0, stop, NULL), EINVAL, "NULL");
    CHECK_ERR(rsock_relay_stop(c.a, c.b, -1, 0, 0x100, stop, NULL), EINVAL, "bad flags");
    rsock_chan_free(stop);
    conn_close(&c);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* lets the copies splice */
    RUN(test_stop_unix_buffer);
    RUN(test_stop_tcp_buffer);
    RUN(test_stop_tcp_splice);
    RUN(test_stop_tcp_adaptive);
    RUN(test_stop_idle);
    RUN(test_stop_before_start);
    RUN(test_stop_half_closed);
    RUN(test_ends_before_stop);
    RUN(test_refusals);
    return check_done();
}
