/* The device's ready bits: the one place that reads or changes s->ready.
 * They cache edge-triggered readiness, so a waiter whose bit is set returns
 * at once with no syscall: a direction's bit is cleared when an operation
 * finds nothing to do (-EAGAIN, or a short read that drained a stream) and
 * set again when the poller reports an edge (loop.c).  RSOCK__HUP says the
 * poller saw a hang-up or a pending error; only a new connect forgets it. */
#ifndef RSOCK_READY_H
#define RSOCK_READY_H

#include "internal.h"

#include <stdbool.h>
#include <sys/types.h>

/* Whether the last word on direction `dir` (RSOCK__IN or RSOCK__OUT) was
 * an edge rather than -EAGAIN: a wait returns at once. */
static inline bool rsock__ready_has(const struct rsock *s, unsigned dir)
{
    return s->ready & dir;
}

/* The poller reported a hang-up or an error (the next call will see it). */
static inline bool rsock__ready_hup(const struct rsock *s) { return s->ready & RSOCK__HUP; }

/* ... and more than the peer's end of stream: an error, or a hang-up both
 * ways (a connect that failed; a connected socket whose peer only sent its
 * FIN reports EPOLLRDHUP alone). */
static inline bool rsock__ready_err(const struct rsock *s) { return s->ready & RSOCK__ERR; }

/* An operation in `dir` found nothing to do: the next wait parks. */
static inline void rsock__ready_clear(struct rsock *s, unsigned dir) { s->ready &= ~dir; }

/* The poller reported `bits` (RSOCK__IN, RSOCK__OUT, RSOCK__HUP, RSOCK__ERR). */
static inline void rsock__ready_set(struct rsock *s, unsigned bits) { s->ready |= bits; }

/* A read in stream `s` asked for `asked` bytes and got `got`.  A short
 * read drained it: the next read waits for an edge.  Unless a hang-up is
 * pending: the end of the stream may have come with the last bytes and
 * brings no edge of its own, so the next read must be tried (it returns 0). */
static inline void rsock__ready_after_read(struct rsock *s, size_t asked, ssize_t got)
{
    if (got > 0 && (size_t)got < asked && s->type == SOCK_STREAM && !(s->ready & RSOCK__HUP))
        s->ready &= ~RSOCK__IN;
}

/* Just registered with a loop: output is assumed possible (a wrong guess
 * costs one -EAGAIN); input is not: a wait-first reader parks until the
 * poller reports data, which it does at registration if some is there. */
static inline void rsock__ready_registered(struct rsock *s) { s->ready = RSOCK__OUT; }

/* Moved to another loop: whatever the old one saw is lost, so guess ready
 * both ways (a wrong guess costs one -EAGAIN); a hang-up stays known. */
static inline void rsock__ready_moved(struct rsock *s)
{
    s->ready = (s->ready & (RSOCK__HUP | RSOCK__ERR)) | RSOCK__IN | RSOCK__OUT;
}

/* A connect is under way: forget what the poller said before it (an
 * unconnected socket polls as writable and hung up). */
static inline void rsock__ready_connecting(struct rsock *s)
{
    s->ready &= ~(RSOCK__OUT | RSOCK__HUP | RSOCK__ERR);
}

/* Closed: nothing is ready. */
static inline void rsock__ready_none(struct rsock *s) { s->ready = 0; }

#endif
