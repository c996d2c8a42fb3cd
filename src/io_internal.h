/* Internal interface of the stream helpers (io.c, io_copy.c, io_pool.c),
 * also used by the tools (rsock-proxy counts bytes and shares an idle clock
 * between the two directions of a connection). */
#ifndef RSOCK_IO_INTERNAL_H
#define RSOCK_IO_INTERNAL_H

#include "internal.h"

/* Options of one copy. */
struct rsock__copy_opts {
    int64_t deadline;     /* absolute, -1: none */
    int64_t idle_ms;      /* > 0: stop with -ETIMEDOUT after this long without progress */
    int flags;            /* RSOCK_COPY_SPLICE, RSOCK_COPY_BUFFER, 0: default */
    int64_t *moved;       /* if not NULL: bytes added as they move (atomic, relaxed) */
    int64_t *last_active; /* if not NULL: an idle clock shared with another copy
                           * (e.g. the other direction); progress of either keeps
                           * both alive.  Read and written atomically. */
    bool sigpipe_ignored; /* the caller promises SIGPIPE is ignored: splice
                           * without checking (saves a syscall per copy) */
    unsigned *failed;     /* if not NULL, on failure: RSOCK__IN (reading
                           * `from` failed), RSOCK__OUT (writing `to`), or 0 */
    const bool *closing;  /* if not NULL and true at the end of the stream,
                           * the caller closes `to` next: skip the shutdown */
    const bool *stop;     /* if not NULL and true: read no more; return -EINTR
                           * once what was read is written (rsock_relay_stop) */
    bool *waiting_in;     /* if not NULL: true while parked for input (holding
                           * nothing), where a cancel may stop the copy */
};

/* The copy behind rsock_copy / rsock_copy_with. */
int64_t rsock__copy(rsock_t *from, rsock_t *to, const struct rsock__copy_opts *o);

/* The method of flags 0 (doc/rsock_copy.md NOTES). */
#define RSOCK__COPY_DEFAULT RSOCK_COPY_ADAPTIVE

/* ---- per-thread pools (io_pool.c) ----
 * Buffers and pipes are borrowed only while data is in flight and returned
 * as soon as they are empty; a few are kept for reuse, the rest freed. */
#define RSOCK__COPY_SMALL (16u * 1024u) /* block for a small leftover */

/* The thread's scratch buffer (never held across a park) and its size. */
char *rsock__scratch(size_t *size);
/* Hand the current scratch buffer to the caller (it holds pending bytes) and
 * put a fresh one in its place; give it back with rsock__buf_put. */
char *rsock__scratch_take(size_t *size);
/* A block of at least `size` bytes (size <= the scratch size); NULL: -ENOMEM. */
char *rsock__buf_get(size_t size, size_t *got);
void rsock__buf_put(char *buf, size_t size);
/* Bytes held by copies of this thread that are parked with pending data. */
size_t rsock__held_bytes(void);

/* A pipe from the pool (sized for splice): its capacity in bytes, or -errno. */
int rsock__pipe_get(int fds[2]);
/* Return an EMPTY pipe of capacity `size` to the pool (closed when full). */
void rsock__pipe_put(int fds[2], int size);
/* Close a pipe that may hold data. */
void rsock__pipe_drop(int fds[2]);

/* Free this thread's pooled buffers and pipes now (tests compare fd
 * counts; the pools are also freed when the thread exits). */
void rsock__io_pool_drain(void);

/* Tuning for the benchmark: scratch size and pipe size in bytes (0: keep). */
void rsock__copy_tune(size_t chunk, size_t pipe_size);

#endif
