/* Fiber groups: every rule of DESIGN.md "Groups", and every refusal. */
#include "check.h"
#include "fiber.h"

#if defined(__SANITIZE_THREAD__)
#define RSOCK_TSAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define RSOCK_TSAN_BUILD 1
#endif
#endif

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>

static int finished;

static void quick(void *arg)
{
    (void)arg;
    finished++;
}

static void sleeper(void *arg)
{
    int *rc = arg;
    *rc = rsock_sleep(rsock_after(10000));
}

static void test_empty_and_normal_wait(void)
{
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    CHECK_EQ(rsock_group_count(g), 0);
    CHECK_EQ(rsock_group_wait(g, 0), 0); /* empty: at once, even with deadline 0 */
    finished = 0;
    for (int i = 0; i < 10; i++)
        CHECK_EQ(rsock_group_spawn(g, quick, NULL), 0);
    CHECK_EQ(rsock_group_count(g), 10);
    CHECK_EQ(rsock_group_wait(g, -1), 0);
    CHECK_EQ(finished, 10);
    CHECK_EQ(rsock_group_count(g), 0);
    CHECK_EQ(rsock_group_close(g), 0);
    CHECK_EQ(rsock_group_close(NULL), 0);
}

static void test_wait_deadline(void)
{
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    int rc = 1;
    REQUIRE(rsock_group_spawn(g, sleeper, &rc) == 0);
    CHECK_ERR(rsock_group_wait(g, 0), ETIMEDOUT, "1 members still running");
    CHECK_ERR(rsock_group_wait(g, rsock_after(20)), ETIMEDOUT, "still running");
    CHECK_EQ(rsock_group_count(g), 1);
    CHECK_EQ(rsock_group_close(g), 0); /* cancels the sleeper and waits for it */
    CHECK_EQ(rc, -ECANCELED);
}

/* A member that goes on waiting after the cancel: each wait fails at once. */
struct sticky {
    rsock_t *sock;
    rsock_chan *chan;
    int first, second, read_ready, chan_rc, join_rc, group_rc;
    int64_t took;
};

static void other(void *arg) { (void)arg; }

static void stubborn(void *arg)
{
    struct sticky *s = arg;
    s->first = rsock_sleep(-1);
    int64_t began = rsock_now();
    s->second = rsock_sleep(rsock_after(5000));
    char byte;
    s->read_ready = (int)rsock_read(s->sock, &byte, 1, -1); /* data is there: still refused */
    int v;
    s->chan_rc = rsock_chan_recv(s->chan, &v, -1);
    rsock_fiber *f;
    rsock_spawn(other, NULL, &f);
    s->join_rc = rsock_join(f, -1);
    rsock_group *mine;
    rsock_group_new(&mine);
    rsock_group_spawn(mine, other, NULL);
    s->group_rc = rsock_group_wait(mine, -1);
    s->took = rsock_now() - began;
    rsock_group_close(mine);
    rsock_join(f, -1); /* joins: `f` has finished by now, so no wait */
}

static void test_cancel_is_sticky(void)
{
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    struct sticky s = {0};
    REQUIRE(rsock_fdopen(sv[0], &s.sock) == 0);
    REQUIRE(write(sv[1], "x", 1) == 1);
    REQUIRE(rsock_chan_new(sizeof(int), 1, &s.chan) == 0);
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    REQUIRE(rsock_group_spawn(g, stubborn, &s) == 0);
    rsock_yield(); /* parked in its first sleep */
    CHECK_EQ(rsock_group_cancel(g), 0);
    CHECK_EQ(rsock_group_wait(g, rsock_after(5000)), 0);
    CHECK_EQ(s.first, -ECANCELED);
    CHECK_EQ(s.second, -ECANCELED);
    CHECK_EQ(s.read_ready, -ECANCELED);
    CHECK_EQ(s.chan_rc, -ECANCELED);
    CHECK_EQ(s.join_rc, -ECANCELED);
    CHECK_EQ(s.group_rc, -ECANCELED);
    CHECK(s.took < 1000); /* at once, not after the 5 s sleep */
    CHECK_EQ(rsock_group_close(g), 0);
    rsock_close(s.sock);
    close(sv[1]);
    rsock_chan_free(s.chan);
}

/* A cancel that lands while a member is ready to return from rsock_offload
 * (the helper's wake drained, the member not run yet) stays sticky: the
 * member's next wait is cancelled.  It was lost (await_done put back the
 * flag it had read before parking), and rsock-proxy's exit waited forever
 * for a re-resolution fiber sleeping on. */
struct offloader {
    struct rsock_fiber *self;
    atomic_bool go; /* the helper's call returns once the member is parked */
    int sleep_rc;
};

static void nothing(void *arg) { (void)arg; }

static void wait_for_go(void *arg)
{
    struct offloader *o = arg;
    struct timespec ms = {0, 1000000};
    for (int i = 0; i < 10000 && !atomic_load(&o->go); i++)
        nanosleep(&ms, NULL);
}

static void offload_then_sleep(void *arg)
{
    struct offloader *o = arg;
    o->self = rsock__sched_get()->current;
    rsock_offload(wait_for_go, o);
    o->sleep_rc = rsock_sleep(rsock_after(5000));
}

static void test_cancel_while_ready_after_offload(void)
{
    struct offloader o = {.sleep_rc = 1};
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    REQUIRE(rsock_group_spawn(g, offload_then_sleep, &o) == 0);
    rsock_yield(); /* it hands the call to a helper and parks */
    REQUIRE(o.self != NULL);
    CHECK_EQ(o.self->state, FIBER_PARKED);
    atomic_store(&o.go, true);
    /* Until the helper's wake is drained: the member is then ready, queued
     * behind us (a yield queues the yielder first), and has not run. */
    int64_t until = rsock_after(10000);
    while (o.self->state == FIBER_PARKED && rsock_now() < until)
        rsock_yield();
    CHECK_EQ(o.self->state, FIBER_READY);
    int64_t began = rsock_now();
    CHECK_EQ(rsock_group_close(g), 0);
    CHECK_EQ(o.sleep_rc, -ECANCELED);
    CHECK(rsock_now() - began < 2000); /* at once, not after the 5 s sleep */
}

/* The same for a fiber waiting on a group: its own group's cancel that
 * lands after the last member left (the waiter ready, not run yet) stays
 * sticky.  It was lost: await_empty put back the flag read before the
 * wait, and rsock-proxy's health loop (rsock_group_wait on a round of
 * checks, then a sleep) slept on at exit. */
struct waiter {
    struct rsock_fiber *self;
    bool closing; /* rsock_group_close instead of rsock_group_wait */
    int wait_rc, sleep_rc;
};

static void waits_on_a_group(void *arg)
{
    struct waiter *w = arg;
    w->self = rsock__sched_get()->current;
    rsock_group *inner;
    REQUIRE(rsock_group_new(&inner) == 0);
    REQUIRE(rsock_group_spawn(inner, nothing, NULL) == 0);
    w->wait_rc = w->closing ? rsock_group_close(inner) : rsock_group_wait(inner, -1);
    if (!w->closing)
        rsock_group_close(inner);
    w->sleep_rc = rsock_sleep(rsock_after(5000));
}

static void cancel_while_ready_after_wait(bool closing)
{
    struct waiter w = {.closing = closing, .wait_rc = 1, .sleep_rc = 1};
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    REQUIRE(rsock_group_spawn(g, waits_on_a_group, &w) == 0);
    rsock_yield(); /* it spawns its member and waits; the member is queued behind us */
    REQUIRE(w.self != NULL);
    CHECK_EQ(w.self->state, FIBER_PARKED);
    rsock_yield(); /* the member returns and wakes the waiter, queued behind us */
    CHECK_EQ(w.self->state, FIBER_READY);
    int64_t began = rsock_now();
    CHECK_EQ(rsock_group_close(g), 0);
    CHECK_EQ(w.wait_rc, 0);
    CHECK_EQ(w.sleep_rc, -ECANCELED);
    CHECK(rsock_now() - began < 2000); /* at once, not after the 5 s sleep */
}

static void test_cancel_while_ready_after_group_wait(void)
{
    cancel_while_ready_after_wait(false);
    cancel_while_ready_after_wait(true);
}

static void test_spawned_after_cancel_starts_cancelled(void)
{
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    CHECK_EQ(rsock_group_cancel(g), 0);
    int rc = 1;
    REQUIRE(rsock_group_spawn(g, sleeper, &rc) == 0);
    CHECK_EQ(rsock_group_wait(g, rsock_after(2000)), 0);
    CHECK_EQ(rc, -ECANCELED);
    CHECK_EQ(rsock_group_close(g), 0);
}

/* A member waiting on its own group would wait for itself. */
struct self_wait {
    rsock_group *g;
    int wait_rc, close_rc;
};

static void waits_on_own_group(void *arg)
{
    struct self_wait *w = arg;
    w->wait_rc = rsock_group_wait(w->g, -1);
    w->close_rc = rsock_group_close(w->g);
}

static void test_member_waiting_on_own_group(void)
{
    struct self_wait w = {0};
    REQUIRE(rsock_group_new(&w.g) == 0);
    REQUIRE(rsock_group_spawn(w.g, waits_on_own_group, &w) == 0);
    CHECK_EQ(rsock_group_wait(w.g, rsock_after(2000)), 0);
    CHECK_EQ(w.wait_rc, -EDEADLK);
    CHECK_EQ(w.close_rc, -EDEADLK);
    CHECK_EQ(rsock_group_close(w.g), 0);
}

static void *cancel_from_thread(void *arg)
{
    int *rc = arg;
    extern rsock_group *shared_group;
    rc[0] = rsock_group_cancel(shared_group);
    rc[1] = rsock_group_spawn(shared_group, quick, NULL);
    rc[2] = rsock_group_wait(shared_group, 0);
    return NULL;
}

rsock_group *shared_group;

static void test_refusals(void)
{
    CHECK_ERR(rsock_group_new(NULL), EINVAL, "NULL out");
    CHECK_ERR(rsock_group_spawn(NULL, quick, NULL), EINVAL, "NULL group");
    CHECK_ERR(rsock_group_wait(NULL, 0), EINVAL, "NULL group");
    CHECK_ERR(rsock_group_cancel(NULL), EINVAL, "NULL group");
    CHECK_EQ(rsock_group_count(NULL), 0);
    REQUIRE(rsock_group_new(&shared_group) == 0);
    CHECK_ERR(rsock_group_spawn(shared_group, NULL, NULL), EINVAL, "NULL function");
    int rc[3];
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, cancel_from_thread, rc) == 0);
    pthread_join(t, NULL);
    CHECK_EQ(rc[0], -EINVAL);
    CHECK_EQ(rc[1], -EINVAL);
    CHECK_EQ(rc[2], -EINVAL);
    CHECK_EQ(rsock_group_close(shared_group), 0);
}

struct waiting {
    rsock_group *g;
    int rc;
};

static void waits_for_group(void *arg)
{
    struct waiting *w = arg;
    w->rc = rsock_group_wait(w->g, rsock_after(5000));
}

/* Closing a group another fiber waits on is refused, and changes nothing. */
static void test_close_while_waited_on(void)
{
    struct waiting w = {0};
    REQUIRE(rsock_group_new(&w.g) == 0);
    int rc = 1;
    REQUIRE(rsock_group_spawn(w.g, sleeper, &rc) == 0);
    rsock_fiber *f;
    REQUIRE(rsock_spawn(waits_for_group, &w, &f) == 0);
    rsock_yield(); /* the sleeper sleeps, the waiter waits */
    CHECK_ERR(rsock_group_close(w.g), EBUSY, "rsock_group_close");
    CHECK_EQ(rsock_group_count(w.g), 1);
    CHECK_EQ(rc, 1); /* not cancelled */
    CHECK_EQ(rsock_group_cancel(w.g), 0);
    CHECK_EQ(rsock_join(f, -1), 0);
    CHECK_EQ(w.rc, 0);
    CHECK_EQ(rc, -ECANCELED);
    CHECK_EQ(rsock_group_close(w.g), 0);
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* Members are freed as they return: memory stays flat over a million. */
static void test_millions_of_members(void)
{
#if defined(RSOCK_ASAN) || defined(RSOCK_TSAN_BUILD)
    const long total = 200000; /* the sanitizers' bookkeeping is slow */
#else
    const long total = 2000000;
#endif
    rsock_group *g;
    REQUIRE(rsock_group_new(&g) == 0);
    long rss_early = 0;
    finished = 0;
    for (long done = 0; done < total; done += 200) { /* within the stack pool */
        for (int i = 0; i < 200; i++)
            REQUIRE(rsock_group_spawn(g, quick, NULL) == 0);
        REQUIRE(rsock_group_wait(g, -1) == 0);
        if (done == total / 10)
            rss_early = rss_kib();
    }
    long rss_late = rss_kib();
    CHECK_EQ(finished, total);
#ifndef RSOCK_TSAN_BUILD /* TSan keeps memory per fiber it has seen */
    CHECK(rss_late <= rss_early + rss_early / 10);
#endif
    if (rss_late > rss_early + rss_early / 10)
        fprintf(stderr, "RSS %ld KiB after %ld members, %ld KiB at the end\n", rss_early,
                total / 10, rss_late);
    CHECK_EQ(rsock_group_close(g), 0);
}

int main(void)
{
    rsock_t *warm;
    REQUIRE(rsock_socket(AF_INET, SOCK_STREAM, 0, &warm) == 0);
    rsock_close(warm);
    REQUIRE(rsock_offload(nothing, NULL) == 0); /* the loop's cross-thread eventfd, kept */
    int fds = check_fd_count();
    RUN(test_empty_and_normal_wait);
    RUN(test_wait_deadline);
    RUN(test_cancel_is_sticky);
    RUN(test_cancel_while_ready_after_offload);
    RUN(test_cancel_while_ready_after_group_wait);
    RUN(test_spawned_after_cancel_starts_cancelled);
    RUN(test_member_waiting_on_own_group);
    RUN(test_refusals);
    RUN(test_close_while_waited_on);
    RUN(test_millions_of_members);
    CHECK_EQ(check_fd_count(), fds);
    return check_done();
}
