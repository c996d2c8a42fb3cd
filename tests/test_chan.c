/* Channels between fibers of one thread: every rule of DESIGN.md
 * "Channels" and every refusal.  (Between threads: test_chan_threads.c.) */
#include "check.h"

#include <errno.h>
#include <sys/socket.h>

static void test_buffered_order_and_room(void)
{
    rsock_chan *c;
    REQUIRE(rsock_chan_new(sizeof(int), 3, &c) == 0);
    for (int i = 1; i <= 3; i++)
        CHECK_EQ(rsock_chan_send(c, &i, 0), 0); /* room: no wait even with deadline 0 */
    int four = 4;
    CHECK_ERR(rsock_chan_send(c, &four, 0), ETIMEDOUT, "rsock_chan_send");
    CHECK_ERR(rsock_chan_send(c, &four, rsock_after(10)), ETIMEDOUT, "timed out");
    for (int i = 1; i <= 3; i++) {
        int v = 0;
        CHECK_EQ(rsock_chan_recv(c, &v, 0), 0);
        CHECK_EQ(v, i); /* in the order sent; the timed-out 4 was not sent */
    }
    int v;
    CHECK_ERR(rsock_chan_recv(c, &v, 0), ETIMEDOUT, "rsock_chan_recv");
    CHECK_EQ(rsock_chan_free(c), 0);
}

struct rendezvous {
    rsock_chan *c;
    int sent_rc;
    bool received;
    bool sender_saw_receiver;
};

static void rv_sender(void *arg)
{
    struct rendezvous *r = arg;
    int v = 42;
    r->sent_rc = rsock_chan_send(r->c, &v, -1);
    r->sender_saw_receiver = r->received; /* a rendezvous returns once taken */
}

static void test_rendezvous(void)
{
    struct rendezvous r = {0};
    REQUIRE(rsock_chan_new(sizeof(int), 0, &r.c) == 0);
    int v = 1;
    CHECK_ERR(rsock_chan_send(r.c, &v, 0), ETIMEDOUT, "no room and no receiver"); /* nobody receives */
    rsock_fiber *f;
    REQUIRE(rsock_spawn(rv_sender, &r, &f) == 0);
    rsock_yield(); /* the sender parks */
    CHECK_EQ(rsock_chan_recv(r.c, &v, rsock_after(2000)), 0);
    r.received = true;
    CHECK_EQ(v, 42);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(r.sent_rc, 0);
    CHECK(r.sender_saw_receiver);
    CHECK_EQ(rsock_chan_free(r.c), 0);
}

static void signaller(void *arg) { rsock_chan_send(arg, NULL, -1); }

static void test_signals(void)
{
    rsock_chan *c;
    REQUIRE(rsock_chan_new(0, 0, &c) == 0);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(signaller, c, &f) == 0);
    CHECK_EQ(rsock_chan_recv(c, NULL, rsock_after(2000)), 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(rsock_chan_free(c), 0);
}

struct parked_op {
    rsock_chan *c;
    int rc;
};

static void parked_send(void *arg)
{
    struct parked_op *p = arg;
    int v = 7;
    p->rc = rsock_chan_send(p->c, &v, -1);
}

static void parked_recv(void *arg)
{
    struct parked_op *p = arg;
    int v;
    p->rc = rsock_chan_recv(p->c, &v, -1);
}

static void test_done(void)
{
    rsock_chan *c;
    REQUIRE(rsock_chan_new(sizeof(int), 1, &c) == 0);
    int v = 5;
    REQUIRE(rsock_chan_send(c, &v, 0) == 0);
    struct parked_op s = {.c = c, .rc = 1};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(parked_send, &s, &f) == 0);
    rsock_yield(); /* parked: the ring is full */
    CHECK_ERR(rsock_chan_free(c), EBUSY, "parked");
    CHECK_EQ(rsock_chan_done(c), 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(s.rc, -EPIPE); /* woken by done */
    CHECK_ERR(rsock_chan_send(c, &v, -1), EPIPE, "done");
    int got = 0;
    CHECK_EQ(rsock_chan_recv(c, &got, -1), 0); /* what was queued still arrives */
    CHECK_EQ(got, 5);
    CHECK_ERR(rsock_chan_recv(c, &got, -1), EPIPE, "done");
    CHECK_EQ(rsock_chan_free(c), 0);

    REQUIRE(rsock_chan_new(sizeof(int), 0, &c) == 0);
    struct parked_op r = {.c = c, .rc = 1};
    REQUIRE(rsock_spawn(parked_recv, &r, &f) == 0);
    rsock_yield();
    CHECK_EQ(rsock_chan_done(c), 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(r.rc, -EPIPE); /* a parked receiver learns it too */
    CHECK_EQ(rsock_chan_free(c), 0);
    CHECK_EQ(rsock_chan_free(NULL), 0);
}

static void test_choose(void)
{
    rsock_chan *a, *b, *d;
    REQUIRE(rsock_chan_new(sizeof(int), 1, &a) == 0);
    REQUIRE(rsock_chan_new(sizeof(int), 1, &b) == 0);
    REQUIRE(rsock_chan_new(sizeof(int), 1, &d) == 0);
    int x = 1, y = 2, ra = 0, rb = 0;
    REQUIRE(rsock_chan_send(a, &x, 0) == 0);
    REQUIRE(rsock_chan_send(b, &y, 0) == 0);
    rsock_chan_clause cl[] = {{b, RSOCK_CHAN_RECV, &rb}, {a, RSOCK_CHAN_RECV, &ra}};
    CHECK_EQ(rsock_chan_choose(cl, 2, 0), 0); /* both can: the lowest index */
    CHECK_EQ(rb, 2);
    CHECK_EQ(rsock_chan_choose(cl, 2, 0), 1);
    CHECK_EQ(ra, 1);
    CHECK_ERR(rsock_chan_choose(cl, 2, rsock_after(10)), ETIMEDOUT, "timed out");
    /* a send clause on a full channel and a receive that can proceed */
    REQUIRE(rsock_chan_send(d, &x, 0) == 0);
    REQUIRE(rsock_chan_send(a, &x, 0) == 0);
    rsock_chan_clause mix[] = {{d, RSOCK_CHAN_SEND, &y}, {a, RSOCK_CHAN_RECV, &ra}};
    CHECK_EQ(rsock_chan_choose(mix, 2, 0), 1);
    /* a parked choose completed by a peer fiber */
    struct parked_op s = {.c = b, .rc = 1};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(parked_send, &s, &f) == 0);
    CHECK_EQ(rsock_chan_choose(cl, 2, rsock_after(2000)), 0);
    CHECK_EQ(rb, 7);
    CHECK_EQ(rsock_join(f, -1), 0);
    /* a done channel's clause */
    rsock_chan_done(a);
    rsock_chan_clause on_done[] = {{a, RSOCK_CHAN_RECV, &ra}};
    CHECK_ERR(rsock_chan_choose(on_done, 1, -1), EPIPE, "clause 0");
    rsock_chan_free(a), rsock_chan_free(b), rsock_chan_free(d);
}

static void test_refusals(void)
{
    rsock_chan *c;
    int v = 0;
    CHECK_ERR(rsock_chan_new(4, 1, NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_chan_new(SIZE_MAX, 1, &c), EINVAL, "too large");
    CHECK_ERR(rsock_chan_new(4096, SIZE_MAX / 1024, &c), EINVAL, "too large");
    CHECK_ERR(rsock_chan_send(NULL, &v, 0), EINVAL, "NULL channel");
    CHECK_ERR(rsock_chan_recv(NULL, &v, 0), EINVAL, "NULL channel");
    CHECK_ERR(rsock_chan_done(NULL), EINVAL, "NULL channel");
    REQUIRE(rsock_chan_new(sizeof v, 1, &c) == 0);
    CHECK_ERR(rsock_chan_send(c, NULL, 0), EINVAL, "NULL elem");
    CHECK_ERR(rsock_chan_recv(c, NULL, 0), EINVAL, "NULL elem");
    CHECK_ERR(rsock_chan_choose(NULL, 1, 0), EINVAL, "NULL clauses");
    rsock_chan_clause cl[] = {{c, 3, &v}};
    CHECK_ERR(rsock_chan_choose(cl, 0, 0), EINVAL, "no clauses");
    CHECK_ERR(rsock_chan_choose(cl, 1, 0), EINVAL, "bad op 3");
    rsock_chan_clause none[] = {{NULL, RSOCK_CHAN_RECV, &v}};
    CHECK_ERR(rsock_chan_choose(none, 1, 0), EINVAL, "NULL channel");
    CHECK_EQ(rsock_chan_free(c), 0);
}

static void canceled_recv(void *arg)
{
    struct parked_op *p = arg;
    int v;
    p->rc = rsock_chan_recv(p->c, &v, -1);
}

static void test_cancel_while_parked(void)
{
    rsock_chan *c;
    REQUIRE(rsock_chan_new(sizeof(int), 0, &c) == 0);
    struct parked_op p = {.c = c, .rc = 1};
    rsock_fiber *f;
    REQUIRE(rsock_spawn(canceled_recv, &p, &f) == 0);
    rsock_yield();
    CHECK_EQ(rsock_cancel(f), 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(p.rc, -ECANCELED);
    int v = 1;
    CHECK_ERR(rsock_chan_send(c, &v, 0), ETIMEDOUT, "no receiver"); /* nobody parked now */
    CHECK_EQ(rsock_chan_free(c), 0); /* and it is not busy */
}

/* Ping-pong: two fibers each sending and receiving; a functional check
 * (the speed is measured in bench/bench_chan.c). */
struct pp {
    rsock_chan *ping, *pong;
    int rounds;
};

static void ponger(void *arg)
{
    struct pp *p = arg;
    for (int i = 0; i < p->rounds; i++) {
        int v;
        if (rsock_chan_recv(p->ping, &v, -1) < 0 || rsock_chan_send(p->pong, &v, -1) < 0)
            return;
    }
}

static void test_ping_pong(void)
{
    struct pp p = {.rounds = 10000};
    REQUIRE(rsock_chan_new(sizeof(int), 0, &p.ping) == 0);
    REQUIRE(rsock_chan_new(sizeof(int), 0, &p.pong) == 0);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(ponger, &p, &f) == 0);
    int ok = 0;
    for (int i = 0; i < p.rounds; i++) {
        int v = i, back = -1;
        if (rsock_chan_send(p.ping, &v, -1) == 0 && rsock_chan_recv(p.pong, &back, -1) == 0)
            ok += back == i;
    }
    CHECK_EQ(ok, p.rounds);
    CHECK_EQ(rsock_join(f, -1), 0);
    rsock_chan_free(p.ping), rsock_chan_free(p.pong);
}

int main(void)
{
    rsock_t *warm;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &warm) == 0); /* this thread's loop */
    rsock_close(warm);
    int fds = check_fd_count();
    RUN(test_buffered_order_and_room);
    RUN(test_rendezvous);
    RUN(test_signals);
    RUN(test_done);
    RUN(test_choose);
    RUN(test_refusals);
    RUN(test_cancel_while_parked);
    RUN(test_ping_pong);
    CHECK(check_fd_count() <= fds + 1); /* this thread's wake-up eventfd, made on first park */
    return check_done();
}
