/* rsock_chan_choose: the first of several sends and receives that can
 * proceed, or a park on all of them until one can. */
#include "chan.h"

#include <errno.h>
#include <stdlib.h>

#define INLINE_CLAUSES 8

static int check_clauses(const rsock_chan_clause *cl, size_t n)
{
    if (!cl || n == 0)
        return rsock__fail(EINVAL, "rsock_chan_choose: %s", cl ? "no clauses" : "NULL clauses");
    for (size_t i = 0; i < n; i++) {
        if (!cl[i].chan)
            return rsock__fail(EINVAL, "rsock_chan_choose: clause %zu: NULL channel", i);
        if (cl[i].op != RSOCK_CHAN_SEND && cl[i].op != RSOCK_CHAN_RECV)
            return rsock__fail(EINVAL, "rsock_chan_choose: clause %zu: bad op %d", i, cl[i].op);
        if (!cl[i].elem && cl[i].chan->elem_size)
            return rsock__fail(EINVAL, "rsock_chan_choose: clause %zu: NULL elem", i);
    }
    return 0;
}

/* What a clause's outcome returns: its index, or -EPIPE recorded. */
static int outcome(size_t i, int rc)
{
    if (rc == -EPIPE)
        return rsock__fail(EPIPE, "rsock_chan_choose: clause %zu: the channel is done", i);
    return (int)i;
}

static int give_up(int rc)
{
    if (rc == -ETIMEDOUT)
        return rsock__fail(ETIMEDOUT, "rsock_chan_choose: timed out");
    if (rc == -ECANCELED)
        return rsock__fail(ECANCELED, "rsock_chan_choose: cancelled");
    return rsock__fail(ENOMEM, "rsock_chan_choose: no memory for a timer");
}

/* The wait's storage: inline for a few clauses, else on the heap. */
struct choose {
    struct chan_wait cw;
    struct chan_waiter w_inline[INLINE_CLAUSES];
    rsock_chan *locks_inline[INLINE_CLAUSES];
    bool biased_inline[INLINE_CLAUSES];
};

static int choose_init(struct choose *c, const rsock_chan_clause *cl, size_t n)
{
    struct chan_wait *cw = &c->cw;
    *cw = (struct chan_wait){.cl = cl, .n = n, .w = c->w_inline, .locks = c->locks_inline,
                             .biased = c->biased_inline};
    if (n > INLINE_CLAUSES) {
        cw->w = calloc(n, sizeof *cw->w);
        cw->locks = calloc(n, sizeof *cw->locks);
        cw->biased = calloc(n, sizeof *cw->biased);
        if (!cw->w || !cw->locks || !cw->biased) {
            free(cw->w), free(cw->locks), free(cw->biased);
            return rsock__fail(ENOMEM, "rsock_chan_choose: %zu clauses: out of memory", n);
        }
    }
    for (size_t i = 0; i < n; i++) { /* insertion sort, duplicates once */
        rsock_chan *ch = cl[i].chan;
        size_t j = cw->nlocks;
        while (j > 0 && cw->locks[j - 1] > ch)
            j--;
        if (j > 0 && cw->locks[j - 1] == ch)
            continue;
        memmove(&cw->locks[j + 1], &cw->locks[j], (cw->nlocks - j) * sizeof *cw->locks);
        cw->locks[j] = ch;
        cw->nlocks++;
    }
    return 0;
}

static void choose_free(struct choose *c)
{
    if (c->cw.w != c->w_inline) {
        free(c->cw.w);
        free(c->cw.locks);
        free(c->cw.biased);
    }
}

/* Under all the locks: the lowest clause that can proceed, done; its
 * index (outcome in *rc), or -1 when none can. */
static int try_in_order(struct chan_wait *cw, int *rc, struct chan_waiter **wake,
                        int *wake_result)
{
    for (size_t i = 0; i < cw->n; i++) {
        const rsock_chan_clause *cl = &cw->cl[i];
        int r = rsock__chan_try(cl->chan, cl->op, cl->elem, wake, wake_result);
        if (r != 0) {
            *rc = r < 0 ? r : 0;
            return (int)i;
        }
    }
    return -1;
}

static int choose_locked(struct rsock__sched *S, struct chan_wait *cw, int64_t deadline)
{
    for (;;) {
        int rc = 0, wake_result = 0;
        struct chan_waiter *wake = NULL;
        rsock__chan_lock_all(S, cw);
        int done = try_in_order(cw, &rc, &wake, &wake_result);
        if (done >= 0 || deadline == 0) {
            rsock__chan_unlock_all(cw);
            if (wake)
                chan_finish(S, wake, wake_result);
            return done >= 0 ? outcome((size_t)done, rc)
                             : rsock__fail(ETIMEDOUT, "rsock_chan_choose: no clause ready");
        }
        done = rsock__chan_park(S, cw, deadline, &rc);
        if (done < 0)
            return give_up(done);
        if (rc != CHAN_RETRY)
            return outcome((size_t)done, rc);
        const rsock_chan_clause *cl = &cw->cl[done]; /* a ring clause: try again */
        int r = rsock__ring_op(S, cl->chan, cl->op, cl->elem);
        if (r != 0)
            return outcome((size_t)done, r < 0 ? r : 0);
    }
}

int rsock_chan_choose(rsock_chan_clause *cl, size_t n, int64_t deadline)
{
    int rc = check_clauses(cl, n);
    if (rc < 0)
        return rc;
    struct rsock__sched *S = rsock__sched_get();
    if (!S)
        return rsock__sched_error();
    if ((rc = rsock__check_cancelled("rsock_chan_choose")) < 0)
        return rc;
    if (deadline != 0 && (rc = rsock__remote_enable(S, "rsock_chan_choose")) < 0)
        return rc;
    struct choose c;
    if ((rc = choose_init(&c, cl, n)) < 0)
        return rc;
    rc = choose_locked(S, &c.cw, deadline);
    choose_free(&c);
    return rc;
}
