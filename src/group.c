/* Fiber groups: structured concurrency.  A group knows its running
 * members; cancelling it is sticky (each member's `cancelled` flag makes
 * every wait fail at once, the one it is parked in and every later one),
 * and closing it cancels, waits for the last member, and frees it. */
#include "fiber.h"

#include <errno.h>
#include <stdlib.h>

struct rsock_group {
    struct rsock__sched *sched;
    struct rsock_fiber *members; /* through group_prev / group_next */
    size_t count;
    bool cancelled;
    struct rsock_fiber *waiter;  /* parked in rsock_group_wait / close */
};

/* This thread's group, not the caller's own: else -EINVAL / -EDEADLK. */
static int check_group(const char *op, struct rsock__sched *S, const rsock_group *g)
{
    if (!g)
        return rsock__fail(EINVAL, "%s: NULL group", op);
    if (g->sched != S) /* a thread without a loop yet is another thread too */
        return rsock__fail(EINVAL, "%s %p: a group of another thread", op, (const void *)g);
    if (S->current->group == g)
        return rsock__fail(EDEADLK, "%s %p: called by a member of the group (it would wait "
                           "for itself)", op, (const void *)g);
    return 0;
}

int rsock_group_new(rsock_group **out)
{
    if (!out)
        return rsock__fail(EINVAL, "rsock_group_new: NULL out");
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    rsock_group *g = calloc(1, sizeof *g);
    if (!g)
        return rsock__fail(ENOMEM, "rsock_group_new: out of memory");
    g->sched = S;
    *out = g;
    return 0;
}

int rsock_group_spawn(rsock_group *g, void (*fn)(void *), void *arg)
{
    if (!g)
        return rsock__fail(EINVAL, "rsock_group_spawn: NULL group");
    if (g->sched != rsock__sched_peek())
        return rsock__fail(EINVAL, "rsock_group_spawn %p: a group of another thread",
                           (void *)g);
    rsock_fiber *f = NULL;
    int rc = rsock__spawn(fn, arg, true, &f);
    if (rc < 0)
        return rc;
    f->group = g;
    f->cancelled = g->cancelled; /* spawned after the cancel: starts cancelled */
    f->group_prev = NULL;
    f->group_next = g->members;
    if (g->members)
        g->members->group_prev = f;
    g->members = f;
    g->count++;
    return 0;
}

void rsock__group_leave(struct rsock__sched *S, struct rsock_fiber *f)
{
    rsock_group *g = f->group;
    if (f->group_prev)
        f->group_prev->group_next = f->group_next;
    else
        g->members = f->group_next;
    if (f->group_next)
        f->group_next->group_prev = f->group_prev;
    f->group = NULL;
    f->group_prev = f->group_next = NULL;
    f->cancelled = false;
    if (--g->count == 0 && g->waiter)
        rsock__wake(S, g->waiter, 0);
}

int rsock_group_cancel(rsock_group *g)
{
    struct rsock__sched *S = rsock__sched_peek();
    if (!g)
        return rsock__fail(EINVAL, "rsock_group_cancel: NULL group");
    if (g->sched != S)
        return rsock__fail(EINVAL, "rsock_group_cancel %p: a group of another thread",
                           (void *)g);
    g->cancelled = true;
    for (struct rsock_fiber *f = g->members; f; f = f->group_next) {
        f->cancelled = true;
        if (f->state == FIBER_PARKED)
            rsock__wake(S, f, -ECANCELED);
    }
    return 0;
}

/* Park until the group is empty or the deadline; `honour_cancel` false
 * lets a cancelled closer still wait for the members it must outlive. */
static int await_empty(const char *op, struct rsock__sched *S, rsock_group *g,
                       int64_t deadline, bool honour_cancel)
{
    struct rsock_fiber *self = S->current;
    if (g->waiter)
        return rsock__fail(EBUSY, "%s %p: another fiber waits on it", op, (void *)g);
    bool was_cancelled = self->cancelled;
    if (!honour_cancel)
        self->cancelled = false;
    int rc = 0;
    if (deadline > 0 && rsock__timer_arm(&S->timers, self, deadline, -ETIMEDOUT) < 0)
        rc = rsock__fail(ENOMEM, "rsock_group_wait: no memory for a timer");
    bool cancelled_meanwhile = false;
    while (rc == 0 && g->count > 0) {
        g->waiter = self;
        rc = rsock__park(S);
        g->waiter = NULL;
        if (rc == -ECANCELED && !honour_cancel) {
            rc = 0; /* keep waiting for the members; a sticky cancel is kept below */
            cancelled_meanwhile |= self->cancelled;
            self->cancelled = false;
        }
    }
    rsock__timer_disarm(&S->timers, self);
    /* Never lose a group's cancel, nor one that came while we were ready
     * to run (woken by the last member, so no -ECANCELED from the park). */
    self->cancelled = was_cancelled || cancelled_meanwhile || self->cancelled;
    if (rc == -ETIMEDOUT)
        return rsock__fail(ETIMEDOUT, "%s %p: %zu members still running", op, (void *)g,
                           g->count);
    if (rc == -ECANCELED)
        return rsock__fail(ECANCELED, "%s %p: cancelled", op, (void *)g);
    return rc;
}

int rsock_group_wait(rsock_group *g, int64_t deadline)
{
    struct rsock__sched *S = rsock__sched_peek();
    int rc = check_group("rsock_group_wait", S, g);
    if (rc < 0)
        return rc;
    if (g->count == 0)
        return 0;
    if ((rc = rsock__check_cancelled("rsock_group_wait")) < 0)
        return rc;
    if (deadline == 0)
        return rsock__fail(ETIMEDOUT, "rsock_group_wait %p: %zu members still running",
                           (void *)g, g->count);
    return await_empty("rsock_group_wait", S, g, deadline, true);
}

int rsock_group_close(rsock_group *g)
{
    if (!g)
        return 0;
    struct rsock__sched *S = rsock__sched_peek();
    int rc = check_group("rsock_group_close", S, g);
    if (rc < 0)
        return rc;
    if (g->waiter) /* refused before anything changes */
        return rsock__fail(EBUSY, "rsock_group_close %p: another fiber waits on it", (void *)g);
    rsock_group_cancel(g);
    if (g->count > 0 && (rc = await_empty("rsock_group_close", S, g, -1, false)) < 0)
        return rc;
    free(g);
    return 0;
}

size_t rsock_group_count(const rsock_group *g) { return g ? g->count : 0; }
