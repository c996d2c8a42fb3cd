/* Name resolution off the loop: getaddrinfo has no non-blocking form, so a
 * fiber hands it to this thread's helper thread and parks on an eventfd
 * (wrapped as a device) until the answer is there; other fibers keep running.
 * One helper per scheduler serves requests in order.
 *
 * A lookup can take a whole DNS timeout, and the thread that asked may exit
 * meanwhile (its fibers' stacks then vanish): so a request is on the heap
 * with copies of its arguments and two owners (the asking fiber, the
 * helper), and at thread exit the helper is not waited for: it is told to
 * stop and frees the resolver, eventfd included, when it ends. */
#include "fiber.h"
#include "ready.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int rsock__resolve_test_delay_ms; /* tests make the helper slow with this */

struct request {
    char *node, *service;
    struct addrinfo hints;
    bool has_hints;
    struct addrinfo *res;
    int rc;
    int sys_errno;         /* errno of the helper after EAI_SYSTEM */
    atomic_bool done;
    int owners;            /* under the resolver's lock: 2, then 1, then freed */
    struct request *next;
};

struct rsock__resolver {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t more;
    struct request *head, *tail;
    bool stop;
    struct rsock *done_dev; /* the eventfd, registered with the loop */
};

static void pause_for_tests(void)
{
    int ms = __atomic_load_n(&rsock__resolve_test_delay_ms, __ATOMIC_RELAXED);
    if (ms > 0)
        nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L}, NULL);
}

static void request_free(struct request *q)
{
    if (q->res)
        freeaddrinfo(q->res);
    free(q->node);
    free(q->service);
    free(q);
}

/* Under the lock: one owner is done with `q`. */
static void request_drop(struct request *q)
{
    if (--q->owners == 0)
        request_free(q);
}

/* getaddrinfo, except that a lookup that failed because the process is
 * out of descriptors says so: glibc then answers "Name or service not
 * known" (every file and socket it tried failed with EMFILE), which would
 * read as -ENOENT. */
static int lookup(const char *node, const char *service, const struct addrinfo *hints,
                  struct addrinfo **res)
{
    errno = 0;
    int rc = getaddrinfo(node, service, hints, res);
    if (rc != 0 && rc != EAI_SYSTEM && (errno == EMFILE || errno == ENFILE))
        rc = EAI_SYSTEM;
    return rc;
}

static struct request *next_request(struct rsock__resolver *r)
{
    while (!r->head && !r->stop)
        pthread_cond_wait(&r->more, &r->lock);
    struct request *q = r->stop ? NULL : r->head;
    if (q && !(r->head = q->next))
        r->tail = NULL;
    return q;
}

/* The owner thread is gone: free what it left to us. */
static void helper_cleanup(struct rsock__resolver *r)
{
    for (struct request *q = r->head, *next; q; q = next) {
        next = q->next;
        request_drop(q);
    }
    pthread_mutex_unlock(&r->lock);
    close(r->done_dev->fd);
    free(r->done_dev);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->more);
    free(r);
}

static void *helper_main(void *arg)
{
    struct rsock__resolver *r = arg;
    pthread_mutex_lock(&r->lock);
    for (struct request *q; (q = next_request(r));) {
        pthread_mutex_unlock(&r->lock);
        pause_for_tests();
        q->rc = lookup(q->node, q->service, q->has_hints ? &q->hints : NULL, &q->res);
        q->sys_errno = errno; /* errno is per thread: carry it to the asker */
        pthread_mutex_lock(&r->lock);
        atomic_store(&q->done, true);
        request_drop(q);
        if (!r->stop) {
            uint64_t one = 1;
            while (write(r->done_dev->fd, &one, sizeof one) < 0 && errno == EINTR)
                ;
        }
    }
    helper_cleanup(r); /* stop: the owner has left; unlocks */
    return NULL;
}

static struct rsock__resolver *resolver_start(struct rsock__sched *S)
{
    struct rsock__resolver *r = calloc(1, sizeof *r);
    struct rsock *dev = calloc(1, sizeof *dev);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!r || !dev || fd < 0)
        goto fail;
    *dev = (struct rsock){.magic = RSOCK__LIVE, .fd = fd, .open = RSOCK__IN};
    if (rsock__loop_add(dev) < 0)
        goto fail;
    r->done_dev = dev;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->more, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&r->thread, &attr, helper_main, r);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        rsock__loop_remove(dev);
        goto fail;
    }
    return S->resolver = r;
fail:
    if (fd >= 0)
        close(fd);
    free(dev);
    free(r);
    return NULL;
}

void rsock__resolver_free(struct rsock__resolver *r)
{
    if (!r)
        return;
    rsock__loop_remove(r->done_dev); /* the helper closes it: it may still write */
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->more);
    pthread_mutex_unlock(&r->lock); /* from here on `r` is the helper's */
}

void rsock__resolver_after_fork(struct rsock__sched *S)
{
    struct rsock__resolver *r = S->resolver;
    if (!r)
        return;
    S->resolver = NULL; /* its thread did not survive; its lock may be held */
    rsock__loop_remove(r->done_dev);
    close(r->done_dev->fd);
    free(r->done_dev);
    free(r);
}

/* The asking fiber will never run again (its thread exits): let go. */
static void abandon(struct rsock_fiber *f)
{
    struct request *q = f->unpark_arg;
    struct rsock__resolver *r = f->sched->resolver;
    pthread_mutex_lock(&r->lock);
    request_drop(q);
    pthread_mutex_unlock(&r->lock);
}

/* Park until the helper has answered `q`, draining the eventfd. */
static void await(struct rsock__resolver *r, struct request *q)
{
    struct rsock_fiber *self = rsock__sched_peek()->current;
    self->unpark = abandon, self->unpark_arg = q;
    while (!atomic_load(&q->done)) {
        uint64_t count;
        if (read(r->done_dev->fd, &count, sizeof count) < 0 && errno == EAGAIN) {
            rsock__ready_clear(r->done_dev, RSOCK__IN);
            if (!atomic_load(&q->done))
                rsock_wait_in(r->done_dev, -1);
        }
    }
    self->unpark = NULL, self->unpark_arg = NULL;
}

static struct request *request_new(const char *node, const char *service,
                                   const struct addrinfo *hints)
{
    struct request *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->node = node ? strdup(node) : NULL;
    q->service = service ? strdup(service) : NULL;
    if ((node && !q->node) || (service && !q->service)) {
        request_free(q);
        return NULL;
    }
    if (hints) {
        q->hints = (struct addrinfo){.ai_flags = hints->ai_flags, .ai_family = hints->ai_family,
                                     .ai_socktype = hints->ai_socktype,
                                     .ai_protocol = hints->ai_protocol};
        q->has_hints = true;
    }
    q->owners = 2;
    return q;
}

int rsock__getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    struct rsock__sched *S = rsock__sched_get();
    /* With no other fiber to keep running, blocking the thread costs nothing. */
    if (!S || (S->live == 0 && S->current == &S->main &&
              !__atomic_load_n(&rsock__resolve_test_delay_ms, __ATOMIC_RELAXED)))
        return lookup(node, service, hints, res);
    struct rsock__resolver *r = S->resolver ? S->resolver : resolver_start(S);
    struct request *q = r ? request_new(node, service, hints) : NULL;
    if (!q)
        return lookup(node, service, hints, res);
    pthread_mutex_lock(&r->lock);
    if (r->tail)
        r->tail->next = q;
    else
        r->head = q;
    r->tail = q;
    pthread_cond_signal(&r->more);
    pthread_mutex_unlock(&r->lock);
    await(r, q);
    int rc = q->rc;
    if (rc == EAI_SYSTEM)
        errno = q->sys_errno;
    *res = q->res;
    q->res = NULL; /* the caller's now */
    pthread_mutex_lock(&r->lock);
    request_drop(q);
    pthread_mutex_unlock(&r->lock);
    return rc;
}
