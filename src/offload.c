/* rsock_offload: blocking calls on a small pool of helper threads.  A job
 * lives on the calling fiber's stack; the fiber parks until a helper has
 * run it, and is woken through its loop (remote.c) under the pool's lock,
 * the lock that decides the wait.  Helpers are made on demand up to
 * RSOCK_OFFLOAD_THREADS, reused, end after a spell with no work, and are
 * stopped at exit. */
#include "fiber.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define IDLE_EXIT_MS 2000

struct job {
    void (*fn)(void *);
    void *arg;
    bool done;
    struct rsock__rwake wake;
    struct job *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work, gone;
    struct job *head, *tail;
    int threads, idle, queued;
    bool exiting;
    bool at_exit_set;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER,
          .work = PTHREAD_COND_INITIALIZER,
          .gone = PTHREAD_COND_INITIALIZER};

static struct job *next_job(void)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += IDLE_EXIT_MS / 1000;
    pool.idle++;
    int rc = 0;
    while (!pool.head && !pool.exiting && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&pool.work, &pool.lock, &until);
    pool.idle--;
    struct job *j = pool.head;
    if (j && !(pool.head = j->next))
        pool.tail = NULL;
    pool.queued -= j != NULL;
    return j;
}

static void *helper(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&pool.lock);
    for (struct job *j; (j = next_job());) {
        pthread_mutex_unlock(&pool.lock);
        j->fn(j->arg);
        pthread_mutex_lock(&pool.lock);
        j->done = true;
        rsock__remote_wake(&j->wake, 0);
    }
    pool.threads--;
    pthread_cond_broadcast(&pool.gone);
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

/* At exit, idle helpers are told to end and waited for (a helper still
 * inside a blocking call is left to the process's end). */
static void stop_helpers(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.exiting = true;
    pthread_cond_broadcast(&pool.work);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    while (pool.idle > 0 && pool.threads > 0)
        if (pthread_cond_timedwait(&pool.gone, &pool.lock, &until) == ETIMEDOUT)
            break;
    pthread_mutex_unlock(&pool.lock);
}

/* Under the lock: a helper for one more job, made unless an idle one is
 * free for it (idle helpers not yet awake may have jobs waiting already). */
static int ensure_helper(void)
{
    if (pool.idle > pool.queued || pool.threads >= RSOCK_OFFLOAD_THREADS)
        return 0;
    if (!pool.at_exit_set) {
        atexit(stop_helpers);
        pool.at_exit_set = true;
    }
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, helper, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        return pool.threads > 0 ? 0 : rsock__fail(rc, "rsock_offload: no helper thread: %s",
                                                  strerror(rc));
    pool.threads++;
    return 0;
}

static void enqueue(struct job *j)
{
    j->next = NULL;
    if (pool.tail)
        pool.tail->next = j;
    else
        pool.head = j;
    pool.tail = j;
    pool.queued++;
    pthread_cond_signal(&pool.work);
}

/* Park until the job is done; cancels are not honoured: the helper runs
 * with the caller's `arg`, which must outlive it. */
static void await_done(struct rsock__sched *S, struct job *j)
{
    bool cancel_pending = false;
    for (;;) {
        pthread_mutex_lock(&pool.lock);
        bool done = j->done;
        if (!done)
            j->wake.seq = S->park_seq + 1; /* the park below */
        pthread_mutex_unlock(&pool.lock);
        if (done)
            break;
        bool sticky = S->current->cancelled;
        S->current->cancelled = false;
        if (rsock__park(S) == -ECANCELED)
            cancel_pending = true;
        S->current->cancelled |= sticky; /* a group cancel meanwhile stays sticky */
    }
    rsock__remote_forget(S, &j->wake);
    S->current->cancel_pending |= cancel_pending; /* the next wait sees it */
}

int rsock_offload(void (*fn)(void *), void *arg)
{
    if (!fn)
        return rsock__fail(EINVAL, "rsock_offload: NULL function");
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    int rc = rsock__check_cancelled("rsock_offload");
    if (rc == 0)
        rc = rsock__remote_enable(S, "rsock_offload");
    if (rc < 0)
        return rc;
    struct job j = {.fn = fn, .arg = arg};
    rsock__rwake_init(&j.wake, S);
    pthread_mutex_lock(&pool.lock);
    rc = ensure_helper();
    if (rc == 0)
        enqueue(&j);
    pthread_mutex_unlock(&pool.lock);
    if (rc < 0)
        return rc;
    await_done(S, &j);
    return 0;
}
