/* A buffered channel's lock-free ring between threads: several senders and
 * several receivers at once on a tiny ring (every slot reused many times,
 * fibers parked and woken to try again all the time), `done` racing with
 * receivers, a capacity of 1, and a choose over two rings fed by two
 * threads.  Nothing lost, nothing twice, each sender's messages in its
 * order, no receiver left parked.  Run under ThreadSanitizer in CI. */
#include "check.h"

#include <errno.h>
#include <pthread.h>

#if defined(RSOCK_TSAN) || defined(RSOCK_ASAN)
enum { COUNT = 2000 };
#else
enum { COUNT = 10000 };
#endif
enum { SENDERS = 3, RECEIVERS = 3 };

struct sender {
    rsock_chan *c;
    int id, rc;
};

static void *send_all(void *arg)
{
    struct sender *s = arg;
    for (int i = 0; i < COUNT && s->rc == 0; i++) {
        int v = s->id * COUNT + i;
        s->rc = rsock_chan_send(s->c, &v, rsock_after(20000));
    }
    return NULL;
}

struct receiver {
    rsock_chan *c;
    long long sum;
    int got, out_of_order, rc;
};

/* Until the channel is done and empty (-EPIPE). */
static void *receive_all(void *arg)
{
    struct receiver *r = arg;
    int last[SENDERS];
    for (int i = 0; i < SENDERS; i++)
        last[i] = -1;
    for (;;) {
        int v;
        int rc = rsock_chan_recv(r->c, &v, rsock_after(20000));
        if (rc < 0) {
            r->rc = rc;
            return NULL;
        }
        r->sum += v;
        r->got++;
        r->out_of_order += v <= last[v / COUNT];
        last[v / COUNT] = v;
    }
}

static void many_to_many(size_t capacity)
{
    rsock_chan *c;
    REQUIRE(rsock_chan_new(sizeof(int), capacity, &c) == 0);
    struct sender s[SENDERS];
    struct receiver r[RECEIVERS];
    pthread_t ts[SENDERS], tr[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++) {
        r[i] = (struct receiver){.c = c};
        REQUIRE(pthread_create(&tr[i], NULL, receive_all, &r[i]) == 0);
    }
    for (int i = 0; i < SENDERS; i++) {
        s[i] = (struct sender){.c = c, .id = i};
        REQUIRE(pthread_create(&ts[i], NULL, send_all, &s[i]) == 0);
    }
    for (int i = 0; i < SENDERS; i++) {
        pthread_join(ts[i], NULL);
        CHECK_EQ(s[i].rc, 0);
    }
    CHECK_EQ(rsock_chan_done(c), 0); /* receivers take what is queued, then -EPIPE */
    long long sum = 0;
    int got = 0, out_of_order = 0;
    for (int i = 0; i < RECEIVERS; i++) {
        pthread_join(tr[i], NULL);
        CHECK_EQ(r[i].rc, -EPIPE);
        sum += r[i].sum, got += r[i].got, out_of_order += r[i].out_of_order;
    }
    long long n = (long long)SENDERS * COUNT;
    CHECK_EQ(got, (int)n);
    CHECK_EQ(sum, n * (n - 1) / 2);
    CHECK_EQ(out_of_order, 0); /* a receiver sees each sender's messages in order */
    CHECK_EQ(rsock_chan_free(c), 0); /* nobody left parked */
}

static void test_many_to_many_cap_1(void) { many_to_many(1); }
static void test_many_to_many_cap_3(void) { many_to_many(3); }
static void test_many_to_many_cap_64(void) { many_to_many(64); }

/* A choose over two rings, each fed by its own thread. */
struct feeder {
    rsock_chan *c;
    int base;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    for (int i = 0; i < COUNT; i++) {
        int v = f->base + i;
        if (rsock_chan_send(f->c, &v, rsock_after(20000)) < 0)
            break;
    }
    rsock_chan_done(f->c);
    return NULL;
}

static void test_choose_over_two_rings(void)
{
    rsock_chan *a, *b;
    REQUIRE(rsock_chan_new(sizeof(int), 2, &a) == 0);
    REQUIRE(rsock_chan_new(sizeof(int), 5, &b) == 0);
    struct feeder fa = {a, 0}, fb = {b, COUNT};
    pthread_t ta, tb;
    REQUIRE(pthread_create(&ta, NULL, feed, &fa) == 0);
    REQUIRE(pthread_create(&tb, NULL, feed, &fb) == 0);
    int va, vb, next[2] = {0, COUNT}, in_order = 0, open = 2;
    rsock_chan_clause cl[] = {{a, RSOCK_CHAN_RECV, &va}, {b, RSOCK_CHAN_RECV, &vb}};
    while (open > 0) {
        int i = rsock_chan_choose(cl, (size_t)open, rsock_after(20000));
        if (i == -EPIPE && open == 2) { /* which one is done? a done channel stays done */
            int v, r = rsock_chan_recv(a, &v, 0);
            if (r == -EPIPE)
                cl[0] = cl[1]; /* a: keep b alone */
            else if (r == 0)
                in_order += v == next[0]++;
            open = 1;
            continue;
        }
        if (i < 0)
            break;
        int v = *(int *)cl[i].elem;
        int k = v >= COUNT;
        in_order += v == next[k];
        next[k] = v + 1;
    }
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_EQ(in_order, 2 * COUNT);
    rsock_chan_free(a), rsock_chan_free(b);
}

int main(void)
{
    rsock_chan *warm; /* this thread's loop, made on first use */
    REQUIRE(rsock_chan_new(0, 1, &warm) == 0);
    rsock_chan_free(warm);
    int fds = check_fd_count();
    RUN(test_many_to_many_cap_1);
    RUN(test_many_to_many_cap_3);
    RUN(test_many_to_many_cap_64);
    RUN(test_choose_over_two_rings);
#ifdef RSOCK_TSAN
    fds++; /* ThreadSanitizer opens /dev/null for itself along the way */
#endif
    CHECK(check_fd_count() <= fds + 1); /* this thread's wake-up eventfd; the others' went */
    return check_done();
}
