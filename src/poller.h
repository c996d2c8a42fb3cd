/* The poller contract: what the loop (loop.c) needs from the kernel's
 * readiness interface.  One backend implements it (poll_epoll.c today); a
 * second one (io_uring, kqueue) is one new file chosen by CMake.  Only the
 * backend touches S->poll_fd, and the backend touches nothing of a device
 * but its descriptor: ready bits and waiters belong to loop.c and ready.h.
 * Every call runs on the loop's own thread, except rsock__poll_add and
 * rsock__poll_remove from rsock_attach (the device moves between loops). */
#ifndef RSOCK_POLLER_H
#define RSOCK_POLLER_H

struct rsock;
struct rsock__sched;

/* Make the loop's instance in S->poll_fd, closed on exec.  0, or -errno
 * recorded as "rsock: cannot make this thread's loop: <call>: <error>". */
int rsock__poll_init(struct rsock__sched *S);

/* Release the instance.  Devices still registered are forgotten, not
 * closed. */
void rsock__poll_term(struct rsock__sched *S);

/* Watch s->fd for input, output and hang-up, edge-triggered: a later
 * rsock__poll_wait reports each change once, and reports what is ready
 * already at registration.  `s` must outlive its registration.  0 or
 * -errno (not recorded: the caller names the operation). */
int rsock__poll_add(struct rsock__sched *S, struct rsock *s);

/* Stop watching `s`: no later wait reports it, even when its descriptor
 * was duplicated (close(2) alone would leave it registered).  Never fails;
 * call it before closing the descriptor. */
void rsock__poll_remove(struct rsock__sched *S, struct rsock *s);

/* Wait up to timeout_ms (0: do not block; negative: no limit) and hand
 * each report to rsock__loop_event.  May return early with no report (a
 * signal).  Allocates nothing. */
void rsock__poll_wait(struct rsock__sched *S, int timeout_ms);

/* In a child after fork: replace the instance (shared with the parent,
 * which would get the child's events and the other way round) by a new
 * one watching nothing; the loop then adds its devices again.  0, or
 * -errno with the old instance kept (better than none). */
int rsock__poll_after_fork(struct rsock__sched *S);

/* Implemented by the loop (loop.c), called by the backend: the kernel
 * reported `events` for `s`, a set of RSOCK__IN, RSOCK__OUT, RSOCK__HUP, RSOCK__ERR
 * (an error or a hang-up also reports both directions: a waiter must wake
 * to see it). */
void rsock__loop_event(struct rsock__sched *S, struct rsock *s, unsigned events);

#endif
