/* Name resolution off the loop: getaddrinfo has no non-blocking form, so a
 * fiber hands it to this thread's helper thread and parks on an eventfd
 * (wrapped as a device) until the answer is there; other fibers keep running.
 * One helper per scheduler serves requests in order. */
#include "fiber.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

int rsock__resolve_test_delay_ms; /* tests make the helper slow with this */

struct request {
    const char *node, *service;
    const struct addrinfo *hints;
    struct addrinfo *res;
    int rc;
    atomic_bool done;
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
    int ms = rsock__resolve_test_delay_ms;
    if (ms > 0)
        nanosleep(&(struct timespec){.tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L}, NULL);
}

static struct request *next_request(struct rsock__resolver *r)
{
    pthread_mutex_lock(&r->lock);
    while (!r->head && !r->stop)
        pthread_cond_wait(&r->more, &r->lock);
    struct request *q = r->head;
    if (q && !(r->head = q->next))
        r->tail = NULL;
    pthread_mutex_unlock(&r->lock);
    return q;
}

static void *helper_main(void *arg)
{
    struct rsock__resolver *r = arg;
    for (struct request *q; (q = next_request(r));) {
        pause_for_tests();
        q->rc = getaddrinfo(q->node, q->service, q->hints, &q->res);
        atomic_store(&q->done, true);
        uint64_t one = 1;
        while (write(r->done_dev->fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
    }
    return NULL;
}

static struct rsock__resolver *resolver_start(struct rsock__sched *S)
{
    struct rsock__resolver *r = calloc(1, sizeof *r);
    struct rsock *dev = calloc(1, sizeof *dev);
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!r || !dev || fd < 0)
        goto fail;
    *dev = (struct rsock){.fd = fd, .open = RSOCK__IN};
    if (rsock__loop_add(dev) < 0)
        goto fail;
    r->done_dev = dev;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->more, NULL);
    if (pthread_create(&r->thread, NULL, helper_main, r) != 0) {
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
    pthread_mutex_lock(&r->lock);
    r->stop = true;
    pthread_cond_signal(&r->more);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    rsock__loop_remove(r->done_dev);
    close(r->done_dev->fd);
    free(r->done_dev);
    free(r);
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

/* Park until the helper has answered `q`, draining the eventfd. */
static void await(struct rsock__resolver *r, struct request *q)
{
    while (!atomic_load(&q->done)) {
        uint64_t count;
        if (read(r->done_dev->fd, &count, sizeof count) < 0 && errno == EAGAIN) {
            rsock__not_ready(r->done_dev, RSOCK__IN);
            if (!atomic_load(&q->done))
                rsock_wait_in(r->done_dev, -1);
        }
    }
}

int rsock__getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    struct rsock__sched *S = rsock__sched_get();
    /* With no other fiber to keep running, blocking the thread costs nothing. */
    if (!S || (S->live == 0 && S->current == &S->main && !rsock__resolve_test_delay_ms))
        return getaddrinfo(node, service, hints, res);
    struct rsock__resolver *r = S->resolver ? S->resolver : resolver_start(S);
    if (!r)
        return getaddrinfo(node, service, hints, res);
    struct request q = {.node = node, .service = service, .hints = hints};
    pthread_mutex_lock(&r->lock);
    if (r->tail)
        r->tail->next = &q;
    else
        r->head = &q;
    r->tail = &q;
    pthread_cond_signal(&r->more);
    pthread_mutex_unlock(&r->lock);
    await(r, &q);
    *res = q.res;
    return q.rc;
}
