/* Deadlines: a binary min-heap of parked fibers ordered by (deadline, seq);
 * seq breaks ties first-in first-out.  Each fiber has at most one deadline
 * armed (it is parked on one thing at a time) and knows its heap slot. */
#include "fiber.h"

#include <errno.h>
#include <stdlib.h>

static bool before(const struct rsock_fiber *a, const struct rsock_fiber *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->timer_seq < b->timer_seq);
}

static void place(struct rsock__timers *T, size_t i, struct rsock_fiber *f)
{
    T->heap[i] = f;
    f->timer_slot = i + 1;
}

static void sift_up(struct rsock__timers *T, size_t i)
{
    struct rsock_fiber *f = T->heap[i];
    while (i > 0 && before(f, T->heap[(i - 1) / 2])) {
        place(T, i, T->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    place(T, i, f);
}

static void sift_down(struct rsock__timers *T, size_t i)
{
    struct rsock_fiber *f = T->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= T->count)
            break;
        if (c + 1 < T->count && before(T->heap[c + 1], T->heap[c]))
            c++;
        if (!before(T->heap[c], f))
            break;
        place(T, i, T->heap[c]);
        i = c;
    }
    place(T, i, f);
}

int rsock__timer_arm(struct rsock__timers *T, struct rsock_fiber *f, int64_t deadline, int result)
{
    if (T->count == T->cap) {
        size_t cap = T->cap ? 2 * T->cap : 64;
        struct rsock_fiber **heap = realloc(T->heap, cap * sizeof *heap);
        if (!heap)
            return -ENOMEM;
        T->heap = heap;
        T->cap = cap;
    }
    f->deadline = deadline;
    f->timer_seq = T->seq++;
    f->timer_result = result;
    T->heap[T->count++] = f;
    sift_up(T, T->count - 1);
    return 0;
}

void rsock__timer_disarm(struct rsock__timers *T, struct rsock_fiber *f)
{
    if (!f->timer_slot)
        return;
    size_t i = f->timer_slot - 1;
    f->timer_slot = 0;
    struct rsock_fiber *last = T->heap[--T->count];
    if (i == T->count)
        return;
    place(T, i, last);
    sift_up(T, i);
    sift_down(T, last->timer_slot - 1);
}

void rsock__timer_fire(struct rsock__sched *S, int64_t now)
{
    struct rsock__timers *T = &S->timers;
    while (T->count && T->heap[0]->deadline <= now) {
        struct rsock_fiber *f = T->heap[0];
        rsock__timer_disarm(T, f);
        rsock__wake(S, f, f->timer_result);
    }
}

int rsock__timer_next_timeout(struct rsock__timers *T, int64_t now)
{
    if (!T->count)
        return -1;
    int64_t wait = T->heap[0]->deadline - now;
    return wait <= 0 ? 0 : wait > 1000000 ? 1000000 : (int)wait;
}

void rsock__timer_free(struct rsock__timers *T)
{
    free(T->heap);
    *T = (struct rsock__timers){0};
}
